"""Reading Google Benchmark JSON as memo's scripts need it (compare, plot, results), and
the rules every script follows for its inputs and outputs.

Inputs: `load` is the one place a benchmark JSON file is checked. It reads the file as
UTF-8 JSON and checks its shape (an object with a "benchmarks" list of objects, each
with a string "name", numbers where Google Benchmark writes numbers, an optional
"context" object), so the scripts after it never meet a surprise. Anything else raises
BenchJsonError with one line naming the file.

Outputs: `Outputs` writes files whole or not at all (a temporary file in the same
directory, renamed into place once every output of the command is ready).

`main_guard` runs a script's main(): a bad input or output is one line on stderr naming
the file and exit status 2; no traceback reaches the user.

A run's JSON holds one entry per repetition ("run_type": "iteration") and, when
repetitions were asked for, aggregates ("run_type": "aggregate": mean, median,
stddev, cv). Everything here works from the repetitions when they are present and
falls back to the median aggregate when the run kept aggregates only.

Store benchmark names are stores/<workload>/<engine>, plus what Google Benchmark inserts
for a run that reports its own wall time: stores/<workload>/<engine>/manual_time/threads:<T>
(older files: real_time).
"""

import json
import math
import os
import re
import statistics
import sys
import tempfile
import zlib
from dataclasses import dataclass, field

STORES_NAME = re.compile(
    r"^stores/(?P<workload>[^/]+)/(?P<engine>[^/]+)(?:/(?:manual|real)_time)?"
    r"/threads:(?P<threads>\d+)(?:/(?:manual|real)_time)?$")

# Metrics where a larger number is better; every other one (times, latencies) is a cost.
HIGHER_IS_BETTER = {"ops", "hit_ratio", "items_per_second", "bytes_per_second"}

TIME_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

# Fields of a benchmark entry that hold text (Google Benchmark's, and pickle_baseline's);
# every other field is a number (a time, a count or a user counter).
TEXT_FIELDS = {"name", "run_name", "run_type", "aggregate_name", "aggregate_unit",
               "time_unit", "error_message", "label", "big_o", "rms"}
FLAG_FIELDS = {"error_occurred"}
# Fields that describe a run rather than measure it (not metrics for compare.py).
BOOKKEEPING_FIELDS = {"family_index", "per_family_instance_index", "repetitions",
                      "repetition_index", "threads", "iterations"}


class BenchJsonError(Exception):
    """A file that is not the Google Benchmark JSON these scripts expect (or cannot be
    read or written); the message is one line and names the file."""


# ------------------------------------------------------------------------------ reading

def _shape(value):
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def read_text(path, what="file"):
    """The UTF-8 text of `path`; BenchJsonError naming it otherwise."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except IsADirectoryError:
        raise BenchJsonError(f"{path}: is a directory, not a {what}") from None
    except FileNotFoundError:
        raise BenchJsonError(f"{path}: no such file") from None
    except OSError as exc:
        raise BenchJsonError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BenchJsonError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                             f"{exc.start})") from None


def check(data, path):
    """Raises BenchJsonError unless `data` has the shape of Google Benchmark JSON."""
    if not isinstance(data, dict):
        raise BenchJsonError(f"{path}: expected a JSON object with a 'benchmarks' list, found "
                             f"{_shape(data)}; is it --benchmark_format=json output?")
    if "benchmarks" not in data:
        raise BenchJsonError(f"{path}: no 'benchmarks' list; is it --benchmark_format=json output?")
    benchmarks = data["benchmarks"]
    if not isinstance(benchmarks, list):
        raise BenchJsonError(f"{path}: 'benchmarks' is {_shape(benchmarks)}, not a list")
    context = data.get("context", {})
    if not isinstance(context, dict):
        raise BenchJsonError(f"{path}: 'context' is {_shape(context)}, not an object")
    for index, entry in enumerate(benchmarks):
        where = f"{path}: benchmarks[{index}]"
        if not isinstance(entry, dict):
            raise BenchJsonError(f"{where} is {_shape(entry)}, not an object")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise BenchJsonError(f"{where} has no 'name' string")
        where = f"{path}: benchmark '{name}'"
        for key, value in entry.items():
            if key in TEXT_FIELDS:
                if not isinstance(value, str):
                    raise BenchJsonError(f"{where}: '{key}' is {_shape(value)}, not a string")
            elif key in FLAG_FIELDS:
                if not isinstance(value, bool):
                    raise BenchJsonError(f"{where}: '{key}' is {_shape(value)}, not true or false")
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise BenchJsonError(f"{where}: '{key}' is {_shape(value)}, not a number")
            elif not math.isfinite(value) and entry.get("run_type") != "aggregate":
                # Google Benchmark writes NaN where an aggregate divides by zero (the cv of
                # a constant counter); a measurement itself must be a finite number.
                raise BenchJsonError(f"{where}: '{key}' is {value}, not a finite number")
        if entry.get("time_unit", "ns") not in TIME_UNIT_NS:
            raise BenchJsonError(f"{where}: unknown time_unit '{entry['time_unit']}' "
                                 f"(known: {', '.join(TIME_UNIT_NS)})")
        if entry.get("run_type", "iteration") not in ("iteration", "aggregate"):
            raise BenchJsonError(f"{where}: unknown run_type '{entry['run_type']}'")
        if not entry.get("error_occurred") and "real_time" not in entry:
            raise BenchJsonError(f"{where} has no 'real_time'")
    return data


def load(path):
    """The checked JSON of a benchmark run; BenchJsonError (one line) otherwise."""
    text = read_text(path, "benchmark JSON file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BenchJsonError(f"{path}: not valid JSON (line {exc.lineno} column {exc.colno}: "
                             f"{exc.msg})") from None
    except RecursionError:
        raise BenchJsonError(f"{path}: not valid JSON (nested too deeply)") from None
    return check(data, path)


def context(data):
    return data.get("context", {})


def run_name(entry):
    return entry.get("run_name") or entry["name"]


def metric_value(entry, metric):
    """The metric of one entry; real_time and cpu_time in nanoseconds."""
    value = entry.get(metric)
    if value is None or isinstance(value, (str, bool)):
        return None
    if metric in ("real_time", "cpu_time"):
        return float(value) * TIME_UNIT_NS.get(entry.get("time_unit", "ns"), 1.0)
    return float(value)


def metrics(data):
    """Every numeric field some benchmark in `data` reports (the metrics it can compare)."""
    found = []
    for entry in data["benchmarks"]:
        for key, value in entry.items():
            if (key not in TEXT_FIELDS and key not in FLAG_FIELDS and key not in BOOKKEEPING_FIELDS
                    and key not in found):
                found.append(key)
    return found


def metric_unit(metric):
    """The unit a metric's values are in (after metric_value), for headers: '' if none."""
    if metric in ("real_time", "cpu_time") or metric.endswith("_ns"):
        return "ns"
    if metric.endswith("_us"):
        return "µs"
    if metric.endswith("_ms"):
        return "ms"
    if metric == "bytes_per_second":
        return "B/s"
    if metric in ("ops", "items_per_second") or metric.endswith("_per_second"):
        return "/s"
    return ""


# ------------------------------------------------------------------------------ series

@dataclass
class Series:
    """Every measurement of one benchmark (one run_name) for one metric."""
    name: str
    values: list = field(default_factory=list)  # one per repetition
    median_only: bool = False                   # the file kept aggregates only
    error: str = ""

    @property
    def median(self):
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def spread(self):
        """(min, max) over the repetitions; equal to the median when there is one."""
        if not self.values:
            return (float("nan"), float("nan"))
        return (min(self.values), max(self.values))


def series(data, metric):
    """{run_name: Series} for every benchmark that reports `metric`.

    A benchmark with any repetition that failed its checks comes back with no values
    and the failure as `error`: a figure from a run that failed a check is not reported.
    """
    repetitions, medians, errors, failed = {}, {}, {}, {}
    for entry in data["benchmarks"]:
        name = run_name(entry)
        if entry.get("error_occurred"):
            errors.setdefault(name, entry.get("error_message", "error"))
            failed[name] = failed.get(name, 0) + 1
            continue
        value = metric_value(entry, metric)
        if value is None:
            continue
        kind = entry.get("run_type", "iteration")
        if kind == "iteration":
            repetitions.setdefault(name, []).append(value)
        elif kind == "aggregate" and entry.get("aggregate_name") == "median":
            medians[name] = value
    result = {}
    for name in set(repetitions) | set(medians) | set(errors):
        if name in errors:
            total = failed[name] + len(repetitions.get(name, []))
            result[name] = Series(name, [], error=f"{errors[name]} ({failed[name]} of {total} "
                                                  "repetitions failed)")
        elif name in repetitions:
            result[name] = Series(name, repetitions[name])
        else:
            result[name] = Series(name, [medians[name]], median_only=True)
    return result


@dataclass(frozen=True)
class StoresKey:
    workload: str
    engine: str
    threads: int


def stores_series(data, metric):
    """{StoresKey: Series} for the stores/ benchmarks in `data`."""
    result = {}
    for name, values in series(data, metric).items():
        match = STORES_NAME.match(name)
        if match:
            key = StoresKey(match["workload"], match["engine"], int(match["threads"]))
            result[key] = values
    return result


def ordered_unique(items):
    seen, ordered = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            ordered.append(item)
    return ordered


def stores_layout(data):
    """Workloads, engines and thread counts in the order the run made them."""
    keys = []
    for entry in data["benchmarks"]:
        match = STORES_NAME.match(run_name(entry))
        if match:
            keys.append(StoresKey(match["workload"], match["engine"], int(match["threads"])))
    workloads = ordered_unique(k.workload for k in keys)
    engines = ordered_unique(k.engine for k in keys)
    threads = sorted(set(k.threads for k in keys))
    return workloads, engines, threads


DEFAULT_PEERS = ("libcuckoo", "rocksdb_lru", "rocksdb_hcc")


def peers(data):
    """Engines the run marked as peers in its context (older files: the three peers of the first runs)."""
    listed = context(data).get("stores_peers")
    if not isinstance(listed, str):
        return set(DEFAULT_PEERS)
    return {name for name in listed.split(",") if name}


def hardware_threads(data):
    """The hardware threads of the machine that ran `data`, or None if not recorded."""
    found = context(data)
    for key in ("hardware_threads", "num_cpus"):
        try:
            value = int(found.get(key))
        except (TypeError, ValueError):
            continue
        if value > 0:
            return value
    return None


def format_rate(value):
    if value != value:  # NaN
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.2f}{suffix}"
    return f"{value:.0f}"


def format_duration_ns(value):
    """Nanoseconds as a readable duration: 950 ns, 1.23 µs, 4.5 ms, 2.01 s."""
    if value != value:
        return "-"
    for scale, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} ns"


# ------------------------------------------------------------------------------ build

def build_line(found):
    """'commit `X`; compiler `Y`; flags `Z`' from a run's context ('' if it recorded none).

    memo's binaries record memo_git_commit, memo_compiler and memo_compile_flags;
    pickle_baseline.py records git_commit (its interpreter is in 'python')."""
    parts = []
    for keys, label in ((("memo_git_commit", "git_commit"), "commit"),
                        (("memo_compiler",), "compiler"), (("memo_compile_flags",), "flags")):
        value = next((found[k] for k in keys if found.get(k) not in (None, "")), None)
        if value is not None:
            parts.append(f"{label} `{value}`")
    return "; ".join(parts)


# ------------------------------------------------------------------------------ styles

# One colour per engine in every plot, so a skipped engine never shifts the others.
# Engines not listed get a colour derived from their name (stable across runs).
ENGINE_COLOURS = {
    "mutex_map": "#1f77b4", "tbb_map": "#ff7f0e", "cds_map": "#2ca02c",
    "sharded_lru": "#d62728", "flat_table": "#9467bd", "redis": "#8c564b",
    "libcuckoo": "#e377c2", "rocksdb_lru": "#7f7f7f", "rocksdb_hcc": "#bcbd22",
}
_FALLBACK_COLOURS = ("#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
                     "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363", "#a55194")


def engine_colour(engine):
    if engine in ENGINE_COLOURS:
        return ENGINE_COLOURS[engine]
    return _FALLBACK_COLOURS[zlib.crc32(engine.encode("utf-8")) % len(_FALLBACK_COLOURS)]


def mark_oversubscribed(axes, threads, hardware, log2=True):
    """Shades the thread counts above the machine's hardware threads on a threads axis."""
    if hardware is None or not threads or max(threads) <= hardware:
        return
    right = max(threads) * (1.5 if log2 else 1.1)
    axes.axvspan(hardware, right, color="0.92", zorder=0)
    axes.axvline(hardware, color="0.5", linestyle=":", linewidth=1, zorder=1)
    axes.text(hardware, 1.0, f" > {hardware} hardware threads", transform=axes.get_xaxis_transform(),
              fontsize=7, color="0.35", va="top", ha="left")
    axes.set_xlim(right=right)


def display_path(path):
    """A path as a figure or page may show it: relative to the repository when inside
    it, else only its file name (absolute paths say nothing on another machine)."""
    if not os.path.isabs(path):
        return path
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        relative = os.path.relpath(path, root)
    except ValueError:
        relative = ".."
    return relative if not relative.startswith("..") else os.path.basename(path.rstrip("/")) or path


def display_command(command):
    """A command line with every absolute path in it (a word, or the value of a
    --flag=PATH or NAME=PATH word) shown as display_path shows it."""
    def shown(word):
        name, equals, value = word.partition("=")
        if equals and value.startswith("/"):
            return name + "=" + display_path(value)
        return display_path(word) if word.startswith("/") else word
    return " ".join(shown(word) for word in command.split(" "))


# ------------------------------------------------------------------------------ writing

class Outputs:
    """Writes a command's output files whole or not at all.

        with benchjson.Outputs() as out:
            out.text("a.md", text)
            out.figure("a.png", figure)    # matplotlib
        # both renamed into place here, or neither on an exception

    Each file is written to a temporary in its own directory first; the renames
    happen only when every file was written.
    """

    def __init__(self):
        self._pending = []  # (temporary, final)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, trace):
        if kind is not None:
            self.discard()
            return False
        self.commit()
        return False

    def _temporary(self, path):
        directory = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise BenchJsonError(f"{path}: cannot write (it is a directory)")
        try:
            handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                                                 suffix=".tmp", dir=directory)
        except OSError as exc:
            raise BenchJsonError(f"{path}: cannot write ({exc.strerror or exc})") from None
        os.close(handle)
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; outputs are for reading
        self._pending.append((temporary, path))
        return temporary

    def text(self, path, text):
        temporary = self._temporary(path)
        try:
            with open(temporary, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise BenchJsonError(f"{path}: cannot write ({exc.strerror or exc})") from None

    def figure(self, path, figure, **savefig):
        temporary = self._temporary(path)
        try:
            figure.savefig(temporary, format=os.path.splitext(path)[1][1:] or "png", **savefig)
        except OSError as exc:
            raise BenchJsonError(f"{path}: cannot write ({exc.strerror or exc})") from None

    def commit(self):
        try:
            for temporary, final in self._pending:
                os.replace(temporary, final)
        except OSError as exc:
            self.discard()
            raise BenchJsonError(f"{final}: cannot write ({exc.strerror or exc})") from None
        self._pending = []

    def discard(self):
        for temporary, _ in self._pending:
            try:
                os.unlink(temporary)
            except OSError:
                pass
        self._pending = []


def writable_directory(path, create=False):
    """Raises BenchJsonError unless `path` is (or, with create, can be made) a directory."""
    if create:
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise BenchJsonError(f"{path}: cannot create the output directory "
                                 f"({exc.strerror or exc})") from None
    if not os.path.isdir(path):
        raise BenchJsonError(f"{path}: not a directory")
    if not os.access(path, os.W_OK):
        raise BenchJsonError(f"{path}: cannot write here (permission denied)")


# ------------------------------------------------------------------------------ running

def main_guard(main, script):
    """Runs main() and exits with its status. A bad input or output (BenchJsonError)
    is one line on stderr and status 2; so is anything unexpected, without a
    traceback (the line says what failed)."""
    try:
        status = main()
    except BenchJsonError as exc:
        print(f"{script}: {exc}", file=sys.stderr)
        status = 2
    except KeyboardInterrupt:
        print(f"{script}: interrupted", file=sys.stderr)
        status = 130
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `| head`): nothing left to tell.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        status = 2
    except MemoryError:
        print(f"{script}: out of memory", file=sys.stderr)
        status = 2
    except Exception as exc:  # noqa: BLE001 -- no traceback reaches the user
        print(f"{script}: unexpected {type(exc).__name__}: {exc} (a bug; please report it)",
              file=sys.stderr)
        status = 2
    sys.exit(status)
