#!/usr/bin/python3
"""The Redis tables of the benchmark suites, one subcommand each:

    redis_tables.py rows --rows-json rows.json --pickle-redis-json pickle_redis.json
        memo's cache_data on the redis store (memo_rows) against what a Python user does
        today, pickle + redis-py (scripts/pickle_redis_baseline.py), from one run against
        one server: first against pickle.dumps + SET, subsequent against GET +
        pickle.loads, with the ratio and the target (memo at most a third of Python).
    redis_tables.py stores stores_redis.json
        memo_stores' redis engine in a table of its own (round trips, not cache lines):
        median ops/s, hit ratio and sampled latency per workload and thread count.
    redis_tables.py herd races_processes.json
        memo_races' multi-process herd: computations per herd (target exactly 1.00) and
        the waiters' latency, per process count.

Each takes --command TEXT (the command that made the files, shown) and prints markdown.
Exits 1 when a benchmark reported an error (a failed check, not a skip for memory or for
Redis's string limit) or a target is missed by a correctness figure (computations), 2
when the files cannot be read.
"""

import argparse
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchjson  # noqa: E402
import rows_table  # noqa: E402  (Measurements and the formats: one definition)

# ---- rows -----------------------------------------------------------------------------

PICKLE_REDIS_NAME = re.compile(r"^pickle_redis/(?P<phase>set|get)/rows:(?P<rows>\d+)$")
TARGET = 1 / 3
PAIRS = (("first", "set", "pickle.dumps + SET"), ("subsequent", "get", "GET + pickle.loads"))


def pickle_redis_key(name):
    match = PICKLE_REDIS_NAME.match(name)
    return ("pickle_redis", match["phase"], "", int(match["rows"])) if match else None


def redis_rows_key(name):
    key = rows_table.rows_key(name)
    return key if key is not None and key[0] == "cache_data" and key[2] == "redis" else None


def rows_table_lines(data):
    sizes = sorted({k[3] for k in list(data.samples) + list(data.medians) + list(data.errors)})
    lines = ["| rows | memo call | memo (redis store) | Python | Python time | memo / Python | "
             f"target ≤ {TARGET:.2f} |", "|---|---|---:|---|---:|---:|---|"]
    failures = []
    for rows in sizes:
        for phase, python_phase, python_label in PAIRS:
            memo_key = ("cache_data", phase, "redis", rows)
            python_key = ("pickle_redis", python_phase, "", rows)
            memo, python = data.get(memo_key), data.get(python_key)
            memo_text = rows_table.fmt_time(memo) if memo is not None else data.errors.get(memo_key, "–")
            python_text = (rows_table.fmt_time(python) if python is not None
                           else data.errors.get(python_key, "–"))
            ratio = rows_table.ratio(memo, python)
            verdict = "–" if ratio is None else ("✓" if ratio <= TARGET else "✗")
            lines.append(f"| {rows_table.fmt_rows(rows)} | {phase} | {memo_text} | {python_label} | "
                         f"{python_text} | {rows_table.fmt_ratio(ratio)} | {verdict} |")
            for key in (memo_key, python_key):
                error = data.errors.get(key, "")
                if error and not error.startswith("skipped"):
                    failures.append(f"{key}: {error}")
    return lines, failures


def rows_command(args):
    data = rows_table.Measurements()
    data.add_file(args.rows_json, redis_rows_key)
    data.add_file(args.pickle_redis_json, pickle_redis_key)
    if not (data.samples or data.medians or data.errors):
        raise benchjson.BenchJsonError(f"{args.rows_json}: no rows/cache_data/*/redis rows (was a "
                                       "Redis server given to memo_rows?)")
    lines, failures = rows_table_lines(data)
    text = "\n".join(
        ["## The row table on Redis: memo's cache_data against pickle + redis-py", "",
         f"{data.repetitions_text()}, memo and Python against the same Redis server in one run"
         + (f" (`{args.command}`)" if args.command else "") + ". memo's first is a miss "
         "(serialize, write the chunks, publish under the lease); subsequent is a hit (read "
         "every chunk back from Redis, check, decode). Python's are one SET / GET of the "
         "pickled frame.", ""] + lines + [""])
    print(text)
    for failure in failures:
        print(f"redis_tables.py rows: failed benchmark {failure}", file=sys.stderr)
    return 1 if failures else 0



# ---- stores ---------------------------------------------------------------------------

ENGINE = "redis"


def cell(found, fmt):
    if found is None or not found.values:
        return "–"
    value = found.median
    return "–" if math.isnan(value) else fmt(value)


def stores_command(args):
    data = benchjson.load(args.json)
    workloads, engines, threads = benchjson.stores_layout(data)
    if ENGINE not in engines:
        raise benchjson.BenchJsonError(f"{args.json}: no stores/*/{ENGINE}/ benchmark (was a Redis "
                                       "server given to memo_stores?)")
    metrics = {m: benchjson.stores_series(data, m) for m in ("ops", "hit_ratio", "p50_ns", "p99_ns")}
    lines = ["## memo_stores: the redis engine (a server shared by processes)", "",
             f"Keys: {benchjson.context(data).get('stores_keys', '?')}; medians over the "
             "repetitions. Every operation is one or more round trips to the server (a get: "
             "one; an insert: three), so compare these among themselves and with the network, "
             "not with the in-process engines' cache-line costs." +
             (f" `{args.command}`" if args.command else ""), "",
             "| workload | threads | ops/s | hit ratio | p50 | p99 |", "|---|---:|---:|---:|---:|---:|"]
    errors = []
    for workload in workloads:
        for count in threads:
            key = benchjson.StoresKey(workload, ENGINE, count)
            ops = metrics["ops"].get(key)
            if ops is None:
                continue
            if ops.error:
                errors.append(f"{workload}, {count} threads: {ops.error}")
                lines.append(f"| {workload} | {count} | failed: {ops.error} | | | |")
                continue
            lines.append(
                f"| {workload} | {count} | {cell(ops, benchjson.format_rate)} | "
                f"{cell(metrics['hit_ratio'].get(key), lambda v: f'{v:.3f}')} | "
                f"{cell(metrics['p50_ns'].get(key), benchjson.format_duration_ns)} | "
                f"{cell(metrics['p99_ns'].get(key), benchjson.format_duration_ns)} |")
    print("\n".join(lines + [""]))
    for error in errors:
        print(f"redis_tables.py stores: {error}", file=sys.stderr)
    return 1 if errors else 0



# ---- herd -----------------------------------------------------------------------------

HERD_NAME = re.compile(r"^races/process_herd/cache_data/redis/processes:(?P<p>\d+)")


def herd_command(args):
    data = benchjson.load(args.json)
    rows, errors = [], []
    for entry in data["benchmarks"]:
        match = HERD_NAME.match(entry.get("run_name") or entry.get("name", ""))
        if not match or entry.get("run_type") == "aggregate":
            continue
        processes = int(match["p"])
        if entry.get("error_occurred"):
            errors.append(f"P={processes}: {entry.get('error_message', 'error')}")
            rows.append(f"| {processes} | – | error | | | | | | |")
            continue
        computations = float(entry.get("computations", 0))
        verdict = "✓" if abs(computations - 1.0) < 1e-9 else "✗"
        rows.append(
            f"| {processes} | {int(entry.get('iterations', 0))} | {computations:.2f} {verdict} | "
            f"{float(entry.get('wrong_values', 0)):.2f} | {float(entry.get('compute_ms', 0)):.0f} ms | "
            f"{float(entry.get('computer_ms', 0)):.1f} ms | {float(entry.get('waiters_p50_ms', 0)):.1f} ms | "
            f"{float(entry.get('waiters_p99_ms', 0)):.1f} ms | {float(entry.get('waiters_max_ms', 0)):.1f} ms |")
    if not rows:
        raise benchjson.BenchJsonError(f"{args.json}: no races/process_herd benchmark (was a Redis "
                                       "server given to memo_races?)")
    lines = ["## Multi-process herd on the redis store", "",
             "P processes miss one key of one cache_data cache at the same instant (each a "
             "separate memo_races process; start-up outside the timing); every herd uses a "
             "fresh cache." + (f" `{args.command}`" if args.command else ""), "",
             "| P | herds | computations / herd (target 1.00) | wrong values / herd | function | "
             "computing call | waiters p50 | waiters p99 | waiters max |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"] + rows + [""]
    print("\n".join(lines))
    for error in errors:
        print(f"redis_tables.py herd: {error}", file=sys.stderr)
    failed = errors or any("✗" in row for row in rows)
    return 1 if failed else 0



def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="table", required=True)
    rows = commands.add_parser("rows", help="memo_rows' redis rows against pickle + redis-py")
    rows.add_argument("--rows-json", required=True, help="memo_rows output with the redis rows")
    rows.add_argument("--pickle-redis-json", required=True, help="pickle_redis_baseline.py output")
    rows.set_defaults(run=rows_command)
    stores = commands.add_parser("stores", help="memo_stores' redis engine")
    stores.add_argument("json", help="memo_stores output of a run with --engines=redis")
    stores.set_defaults(run=stores_command)
    herd = commands.add_parser("herd", help="memo_races' multi-process herd")
    herd.add_argument("json", help="memo_races output with races/process_herd benchmarks")
    herd.set_defaults(run=herd_command)
    for command in (rows, stores, herd):
        command.add_argument("--command", default="", help="the command that made the files (shown)")
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    benchjson.main_guard(main, "redis_tables.py")
