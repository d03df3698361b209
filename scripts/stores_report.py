#!/usr/bin/python3
"""Markdown tables from a memo_stores JSON run (used by run_stores and make_results.py).

  stores_report.py stores.json [--plots DIR] > stores.md

Tables: memo engines against the best peer (each engine-level workload), throughput per
workload (median ops/s and the ratio to mutex_map), hit ratios of the eviction
workloads, sampled latencies of the read-heavy workloads, memory per entry, and what
cache_resource adds over the raw engine. Every figure is a median over the run's
repetitions.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchjson  # noqa: E402
from compare import render  # noqa: E402

BASELINE = "mutex_map"


class Run:
    """One memo_stores JSON, indexed for the tables."""

    def __init__(self, data):
        self.data = data
        self.context = data.get("context", {})
        self.workloads, self.engines, self.threads = benchjson.stores_layout(data)
        self.peers = [e for e in self.engines if e in benchjson.peers(data)]
        self.memo = [e for e in self.engines if e not in self.peers]
        self._metrics = {}

    def get(self, metric, workload, engine, threads):
        if metric not in self._metrics:
            self._metrics[metric] = benchjson.stores_series(self.data, metric)
        found = self._metrics[metric].get(benchjson.StoresKey(workload, engine, threads))
        return found if found is not None and found.values else None

    def errors(self):
        rows = []
        for key, values in sorted(benchjson.stores_series(self.data, "ops").items(),
                                  key=lambda item: (item[0].workload, item[0].engine,
                                                    item[0].threads)):
            if values.error:
                rows.append((key.workload, key.engine, key.threads, values.error))
        return rows

    def repetitions(self):
        counts = {len(s.values) for s in benchjson.stores_series(self.data, "ops").values()
                  if s.values and not s.median_only}
        return max(counts) if counts else 1


def rate(series):
    return "-" if series is None else benchjson.format_rate(series.median)


def best_peer_table(run, workload="read_heavy_zipf"):
    rows = []
    for threads in run.threads:
        peers = [(run.get("ops", workload, p, threads), p) for p in run.peers]
        peers = [(s, p) for s, p in peers if s is not None]
        if not peers:
            continue
        best, best_name = max(peers, key=lambda item: item[0].median)
        for engine in run.memo:
            mine = run.get("ops", workload, engine, threads)
            if mine is None:
                continue
            rows.append((threads, engine, rate(mine), f"{best_name} {rate(best)}",
                         f"{mine.median / best.median:.2f}"))
    if not rows:
        return ""
    return (f"### memo engines against the best peer: {workload}\n\n"
            "ratio = memo engine's median ops/s / the fastest peer's at the same thread count "
            "(above 1: memo is faster).\n\n" +
            render(("threads", "memo engine", "ops/s", "best peer ops/s", "ratio"), rows,
                   "markdown"))


def best_peer_tables(run):
    """best_peer_table for every engine-level workload of the run (resource_* have no peers)."""
    tables = [best_peer_table(run, w) for w in run.workloads if not w.startswith("resource_")]
    return "\n\n".join(t for t in tables if t)


def memory_table(run):
    """Resident bytes per key the prefilled engine added (memo_stores' bytes_per_entry)."""
    rows = []
    for engine in run.engines:
        for workload in run.workloads:
            found = [run.get("bytes_per_entry", workload, engine, t) for t in run.threads]
            found = [f for f in found if f is not None]
            if found:
                rows.append((engine, f"{found[0].median:.0f}", workload))
                break
    if not rows:
        return ""
    return (f"### Memory per entry at {run.context.get('stores_keys', '?')} keys\n\n"
            "bytes = resident memory the engine, prefilled with every key, adds to a fresh "
            "process (memo_stores --memory_probe, one process per engine), per key: table, "
            "index nodes and payloads (memo's entries carry Entry's 24-byte "
            "header, the peers' payloads do not).\n\n"
            + render(("engine", "bytes per entry", "measured in"), rows, "markdown"))


def throughput_tables(run):
    parts = []
    for workload in run.workloads:
        rows = []
        for engine in run.engines:
            cells = []
            for threads in run.threads:
                mine = run.get("ops", workload, engine, threads)
                base = run.get("ops", workload, BASELINE, threads)
                if mine is None:
                    cells.append("-")
                elif base is None or engine == BASELINE:
                    cells.append(rate(mine))
                else:
                    cells.append(f"{rate(mine)} ({mine.median / base.median:.2f})")
            if any(c != "-" for c in cells):
                rows.append([engine] + cells)
        header = ["engine"] + [f"threads {t}" for t in run.threads]
        parts.append(f"#### {workload}\n\n" + render(header, rows, "markdown"))
    return ("### Throughput (median ops/s; in parentheses the ratio to mutex_map)\n\n" +
            "\n\n".join(parts))


def hit_ratio_table(run):
    rows = []
    for workload in [w for w in run.workloads if w.startswith("eviction")]:
        for engine in run.engines:
            cells = [run.get("hit_ratio", workload, engine, t) for t in run.threads]
            if any(c is not None for c in cells):
                rows.append([workload, engine] +
                            ["-" if c is None else f"{c.median:.4f}" for c in cells])
    if not rows:
        return ""
    return ("### Hit ratio, eviction workloads (capacity 10% of the keys)\n\n" +
            render(["workload", "engine"] + [f"threads {t}" for t in run.threads], rows,
                   "markdown"))


def latency_table(run):
    rows = []
    with_max = False
    for workload in [w for w in run.workloads if "read_heavy" in w]:
        for engine in run.engines:
            for threads in run.threads:
                cells = [run.get(m, workload, engine, threads) for m in ("p50_ns", "p99_ns", "p999_ns")]
                if all(c is not None for c in cells):
                    largest = run.get("max_ns", workload, engine, threads)
                    with_max = with_max or largest is not None
                    rows.append([workload, engine, threads] + [f"{c.median:.0f}" for c in cells] +
                                ["-" if largest is None else f"{largest.median:.0f}"])
    if not rows:
        return ""
    header = ["workload", "engine", "threads", "p50", "p99", "p99.9"]
    if with_max:
        header.append("max")
    else:
        rows = [row[:-1] for row in rows]
    every = run.context.get("stores_latency_every", "?")
    return (f"### Sampled latency (ns; one operation in {every} timed, median over repetitions)\n\n"
            + render(header, rows, "markdown"))


def decorator_table(run):
    rows = []
    for raw, through in (("read_heavy_zipf", "resource_read_heavy_zipf"),
                         ("read_heavy_uniform", "resource_read_heavy_uniform"),
                         ("hot_key", "resource_hot_key")):
        for engine in run.memo:
            for threads in run.threads:
                a, b = run.get("ops", raw, engine, threads), run.get("ops", through, engine, threads)
                if a is not None and b is not None:
                    rows.append((through, engine, threads, rate(a), rate(b),
                                 f"{b.median / a.median:.2f}"))
    if not rows:
        return ""
    return ("### What cache_resource adds (argument hashing + single-flight lookup + pin)\n\n"
            "ratio = ops/s through cache_resource / ops/s of the raw engine, same operations.\n\n"
            + render(("workload", "engine", "threads", "raw ops/s", "cache_resource ops/s",
                      "ratio"), rows, "markdown"))


def run_facts(run):
    c = run.context
    averages = c.get("load_avg")
    load = (", ".join(f"{x:.1f}" for x in averages)
            if isinstance(averages, list) and all(isinstance(x, (int, float)) for x in averages)
            else "") or "?"
    lines = [f"- date: {c.get('date', '?')}; host: {c.get('host_name', '?')}, "
             f"{c.get('num_cpus', '?')} CPUs at {c.get('mhz_per_cpu', '?')} MHz; "
             f"load average at start {load} (a shared machine: other work runs beside it)",
             f"- keys: {c.get('stores_keys', '?')}, Zipf exponent {c.get('stores_zipf_exponent', '?')}, "
             f"seed {c.get('stores_seed', '?')}; {run.repetitions()} repetitions per benchmark",
             f"- engines: {', '.join(run.memo)}; peers: {', '.join(run.peers) or 'none'}",
             f"- memo build: {c.get('memo_build', '?')}; Google Benchmark library: "
             f"{c.get('library_build_type', '?')}; THP: {c.get('transparent_hugepage', '?')}",
             f"- built from: {benchjson.build_line(c) or 'not recorded (an older binary)'}"]
    notes = c.get("stores_engine_notes")
    if notes:
        lines.append(f"- engine notes: {notes}")
    if any(p.startswith("rocksdb") for p in run.peers):
        lines.append("- **RocksDB figures come from Debian's librocksdb 7.8.3, which is built "
                     "with assertions enabled**: they include RocksDB's debug checks.")
    return "\n".join(lines)


def markdown(data, plots=()):
    run = Run(data)
    sections = ["<!-- Generated by scripts/stores_report.py from stores.json; do not edit. -->",
                "## Store engines (memo_stores)", run_facts(run),
                best_peer_tables(run), throughput_tables(run), hit_ratio_table(run),
                latency_table(run), memory_table(run), decorator_table(run)]
    errors = run.errors()
    if errors:
        sections.append("### Runs that failed their checks\n\n" +
                        render(("workload", "engine", "threads", "error"), errors, "markdown"))
    if plots:
        sections.append("### Plots\n\n" + "\n".join(f"![{os.path.splitext(p)[0]}]({p})"
                                                    for p in plots))
    return "\n\n".join(s for s in sections if s) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--plots", help="directory whose stores_*.png files to link")
    args = parser.parse_args(argv)
    try:
        data = benchjson.load(args.file)
        plots = []
        if args.plots:
            try:
                plots = sorted(f for f in os.listdir(args.plots)
                               if f.startswith("stores_") and f.endswith(".png"))
            except OSError as exc:
                raise benchjson.BenchJsonError(f"{args.plots}: cannot list the plots "
                                               f"({exc.strerror or exc})") from None
    except benchjson.BenchJsonError as exc:
        print(f"stores_report.py: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(markdown(data, plots))
    return 0


if __name__ == "__main__":
    benchjson.main_guard(main, "stores_report.py")
