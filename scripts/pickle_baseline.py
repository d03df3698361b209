#!/usr/bin/python3
"""Python's pickle on the caching guide's table: the baseline memo_rows is compared with.

Streamlit's st.cache_data pickles a result on a miss and unpickles it on every hit, so
pickle.dumps and pickle.loads of a 4-column float64 pandas DataFrame are what the
guide's "first" and "subsequent" figures are made of. This measures them at the same
sizes as memo_rows and writes JSON in Google Benchmark's shape (one entry per
repetition plus median/mean/stddev aggregates), named

    pickle/dumps/rows:<N>    pickle/loads/rows:<N>

so scripts/rows_table.py reads both files alike.

    /usr/bin/python3 scripts/pickle_baseline.py --rows 10M,50M --repetitions 3 --out pickle.json

Each size first checks MemAvailable against what it holds at its peak (the frame, the
pickled bytes and the loaded copy: 3 frames, plus 1 GiB headroom) and is skipped with a
message otherwise (an entry with error_occurred, as Google Benchmark writes a skip).
Every loaded copy is compared with the original, column by column, outside the timing.
"""

import argparse
import datetime
import gc
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchjson  # noqa: E402  (writes the output whole or not at all)

try:
    import numpy as np
    import pandas as pd
except ImportError as missing:  # reported by main(), without a traceback
    np = pd = None
    MISSING = missing

COLUMNS = 4
HEADROOM = 1 << 30
SUFFIXES = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9}


def parse_count(text):
    """'10M' -> 10000000, as memo_bench::parse_count does."""
    text = text.strip()
    digits = text.rstrip("kKMG")
    suffix = text[len(digits):]
    if not digits.isdigit() or suffix not in SUFFIXES:
        raise argparse.ArgumentTypeError(f"'{text}' is not a count like 10M or 200000000")
    value = int(digits) * SUFFIXES[suffix]
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}': a table needs at least one row")
    return value


def parse_rows(text):
    sizes = [parse_count(part) for part in text.split(",") if part.strip()]
    if not sizes:
        raise argparse.ArgumentTypeError("--rows lists no size")
    return sizes


def positive(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be at least 1")
    return value


def available_memory():
    """MemAvailable in bytes, or None when /proc/meminfo says nothing."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def gib(n):
    return f"{n / (1 << 30):.1f} GiB"


class Progress:
    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self, message):
        print(f"[{time.perf_counter() - self.start:7.1f} s] {message}", file=sys.stderr, flush=True)


def make_frame(rows, seed):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({f"col{c}": rng.random(rows) for c in range(COLUMNS)})


def same_values(a, b):
    return list(a.columns) == list(b.columns) and all(
        np.array_equal(a[c].to_numpy(), b[c].to_numpy()) for c in a.columns)


def entry(name, rows, seconds, cpu_seconds, index, repetitions):
    return {"name": name, "run_name": name, "run_type": "iteration",
            "repetitions": repetitions, "repetition_index": index, "threads": 1,
            "iterations": 1, "real_time": seconds * 1e3, "cpu_time": cpu_seconds * 1e3,
            "time_unit": "ms", "rows": rows,
            "bytes_per_second": rows * COLUMNS * 8 / seconds if seconds > 0 else 0.0}


def aggregates(name, rows, samples, repetitions):
    out = []
    stats = {"mean": statistics.mean, "median": statistics.median,
             "stddev": lambda v: statistics.stdev(v) if len(v) > 1 else 0.0}
    for kind, fn in stats.items():
        out.append({"name": f"{name}_{kind}", "run_name": name, "run_type": "aggregate",
                    "repetitions": repetitions, "threads": 1, "aggregate_name": kind,
                    "aggregate_unit": "time", "iterations": len(samples),
                    "real_time": fn([s[0] for s in samples]) * 1e3,
                    "cpu_time": fn([s[1] for s in samples]) * 1e3, "time_unit": "ms",
                    "rows": rows})
    return out


def skipped(name, rows, message):
    return {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 1,
            "repetition_index": 0, "threads": 1, "iterations": 0, "real_time": 0.0,
            "cpu_time": 0.0, "time_unit": "ms", "rows": rows, "error_occurred": True,
            "error_message": message}


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def measure_size(rows, args, progress):
    """Benchmark entries for one size: repetitions then aggregates, or two skips."""
    dumps_name, loads_name = f"pickle/dumps/rows:{rows}", f"pickle/loads/rows:{rows}"
    frame_bytes = rows * COLUMNS * 8
    needed = 3 * frame_bytes + HEADROOM
    available = available_memory()
    if available is not None and available < needed:
        message = (f"skipped: rows:{rows} needs {gib(needed)} (frame + pickled bytes + "
                   f"loaded copy + 1 GiB headroom) but {gib(available)} is available")
        progress(f"pickle rows:{rows}: {message}")
        return [skipped(dumps_name, rows, message), skipped(loads_name, rows, message)]
    progress(f"pickle rows:{rows}: building the frame (needs {gib(needed)}, "
             f"{gib(available or 0)} available)")
    frame = make_frame(rows, args.seed)
    dumps, loads, out = [], [], []
    for index in range(args.repetitions):
        data, seconds, cpu = timed(lambda: pickle.dumps(frame, protocol=args.protocol))
        dumps.append((seconds, cpu))
        out.append(entry(dumps_name, rows, seconds, cpu, index, args.repetitions))
        loaded, seconds, cpu = timed(lambda: pickle.loads(data))
        loads.append((seconds, cpu))
        out.append(entry(loads_name, rows, seconds, cpu, index, args.repetitions))
        if not same_values(frame, loaded):
            raise SystemExit(f"pickle_baseline: rows:{rows}: the loaded frame differs from the original")
        del data, loaded
        gc.collect()
        progress(f"pickle rows:{rows}: repetition {index + 1}/{args.repetitions}: "
                 f"dumps {dumps[-1][0]:.3f} s, loads {loads[-1][0]:.3f} s")
    out += aggregates(dumps_name, rows, dumps, args.repetitions)
    out += aggregates(loads_name, rows, loads, args.repetitions)
    return out


def git_commit():
    """The commit these scripts are at (with ' (modified)' when tracked files differ)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=False, timeout=10)
        if head.returncode != 0 or not head.stdout.strip():
            return "unknown (not a git checkout)"
        changes = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                                 capture_output=True, text=True, check=False, timeout=10)
        return head.stdout.strip() + (" (modified)" if changes.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown (git not available)"


def arguments(description, default_rows):
    """The options every pickle baseline takes (scripts/pickle_redis_baseline.py adds its own)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=parse_rows, default=parse_rows(default_rows),
                        help=f"comma-separated sizes, k/M/G suffixes (default {default_rows})")
    parser.add_argument("--repetitions", type=positive, default=3,
                        help="measurements per size; aggregates give their median (default 3)")
    parser.add_argument("--seed", type=int, default=20240611, help="numpy generator seed")
    parser.add_argument("--protocol", type=int, default=pickle.DEFAULT_PROTOCOL,
                        choices=range(2, pickle.HIGHEST_PROTOCOL + 1),
                        help=f"pickle protocol (default {pickle.DEFAULT_PROTOCOL}: pickle.dumps' default)")
    parser.add_argument("--out", required=True, help="JSON file to write")
    return parser


def check_arguments(args):
    """Refuses, before measuring for minutes, what would fail at the end."""
    if pd is None:
        raise benchjson.BenchJsonError(f"numpy and pandas are needed ({MISSING}); install "
                                       "python3-pandas (scripts/setup)")
    benchjson.writable_directory(os.path.dirname(os.path.abspath(args.out)))
    if os.path.isdir(args.out):
        raise benchjson.BenchJsonError(f"{args.out}: cannot write (it is a directory)")


def run(label, args, measure, extra_context=None):
    """Measures every size with measure(rows, args, progress) and writes args.out."""
    progress = Progress()
    progress(f"{label}: rows {','.join(map(str, args.rows))}, "
             f"{args.repetitions} repetitions, protocol {args.protocol}")
    benchmarks = []
    for rows in args.rows:
        benchmarks += measure(rows, args, progress)
        gc.collect()
    result = {
        "context": {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "host_name": platform.node(),
            "executable": sys.executable,
            "num_cpus": os.cpu_count(),
            "python": platform.python_version(),
            "git_commit": git_commit(),
            "pandas": pd.__version__,
            "numpy": np.__version__,
            "pickle_protocol": args.protocol,
            "seed": args.seed,
            "command": " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]),
            **(extra_context or {}),
        },
        "benchmarks": benchmarks,
    }
    with benchjson.Outputs() as out:
        out.text(args.out, json.dumps(result, indent=1))
    progress(f"{label}: wrote {args.out}")
    return 0


def main(argv=None):
    args = arguments(__doc__.split("\n\n")[0], "10M,50M,100M,200M").parse_args(argv)
    check_arguments(args)
    return run("pickle baseline", args, measure_size)


if __name__ == "__main__":
    benchjson.main_guard(main, "pickle_baseline.py")
