#!/usr/bin/python3
"""Markdown tables from memo_races JSON (Google Benchmark output).

    /usr/bin/python3 scripts/races_table.py [--command CMD] races.json [races_gap.json ...] > races.md

Sections: the headline figures (lost updates per 1,000 increments of the unsafe
resource, computations under the thundering herd per engine, calls per second of
cache_data against cache_resource), then one table per scenario with every counter.
Further JSON files (the race rerun with a wider --gap) add one lost-updates table each.
With repetitions the medians are shown. Exit status 1 if any benchmark reported an
error (a broken invariant): the errors are listed in the output too.
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchjson  # noqa: E402  (the shared reader: checks every file once)

NAME = re.compile(r"^races/(?P<scenario>\w+)/(?P<strategy>\w+)/(?P<store>\w+)/sessions:(?P<sessions>\d+)(?:/real_time)?$")
SCENARIOS = ["list", "column", "race", "bank", "herd", "herd_keys", "session"]
STORE_ORDER = []  # engines in the order the binary ran them (memo::store_names())
STRATEGIES = ["cache_data", "cache_data_cow", "cache_resource", "cache_resource_locked"]

# Per scenario: (counter, column header, format).
COLUMNS = {
    "list": [("wrong_values", "wrong values/run", "{:.0f}"), ("computations", "computations/run", "{:.0f}")],
    "column": [("failed_runs", "failed runs/run (KeyError)", "{:.0f}"), ("wrong_values", "wrong values/run", "{:.0f}"),
               ("computations", "computations/run", "{:.0f}")],
    "race": [("increments", "increments/run", "{:.0f}"), ("lost_updates", "lost updates/run", "{:.1f}"),
             ("lost_per_1000", "lost per 1,000", "{:.2f}"), ("wrong_values", "wrong values/run", "{:.1f}"),
             ("computations", "computations/run", "{:.0f}")],
    "bank": [("money_drift", "money drift/run", "{:+.1f}"), ("misbooked", "misbooked/run", "{:.1f}"),
             ("wrong_values", "wrong values/run", "{:.0f}"), ("computations", "computations/run", "{:.0f}")],
    "herd": [("keys", "keys", "{:.0f}"), ("computations", "computations/run", "{:.2f}"), ("coalesced", "coalesced/run", "{:.1f}"),
             ("p50_us", "p50 µs", "{:.0f}"), ("p99_us", "p99 µs", "{:.0f}"), ("wrong_values", "wrong values/run", "{:.0f}")],
    "session": [("computations", "session resources/run", "{:.0f}"), ("releases", "releases/run", "{:.0f}"),
                ("wrong_values", "wrong values/run", "{:.0f}")],
}
COLUMNS["herd_keys"] = COLUMNS["herd"]


def rows_of(data):
    """Rows keyed by (scenario, strategy, store, sessions), the errors reported, and
    whether the rows are medians, from checked JSON (benchjson.load)."""
    benchmarks = data["benchmarks"]
    medians = any(b.get("aggregate_name") == "median" for b in benchmarks)
    rows, errors = {}, []
    STORE_ORDER.clear()
    for b in benchmarks:
        base = benchjson.run_name(b)
        if b.get("error_occurred"):
            errors.append((base, b.get("error_message", "")))
            continue
        wanted = (b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median") if medians \
            else b.get("run_type", "iteration") == "iteration"
        match = NAME.match(base)
        if not wanted or not match:
            continue
        key = (match["scenario"], match["strategy"], match["store"], int(match["sessions"]))
        rows[key] = b
        if match["store"] not in STORE_ORDER:
            STORE_ORDER.append(match["store"])
    return rows, errors, medians


def load(path):
    """(context, rows, errors, medians) of one memo_races JSON file."""
    data = benchjson.load(path)
    rows, errors, medians = rows_of(data)
    return benchjson.context(data), rows, errors, medians


def rate(value):
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.2f} {unit}/s"
    return f"{value:.0f} /s"


def ms_per_run(row):
    factor = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[row.get("time_unit", "ns")]
    return row["real_time"] * factor


def ordered(values, order):
    return sorted(values, key=lambda v: (order.index(v) if v in order else len(order), v))


def table(header, lines):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return out


def safe_cell(cell, row):
    """cell(row), or "–" where the row is missing or lacks a counter the cell shows."""
    if row is None:
        return "–"
    try:
        return cell(row)
    except KeyError:
        return "–"


def pivot(rows, scenario, strategies, cell):
    """Rows: strategy x store; columns: sessions."""
    keys = [k for k in rows if k[0] == scenario and k[1] in strategies]
    sessions = sorted({k[3] for k in keys})
    stores = ordered({k[2] for k in keys}, STORE_ORDER)
    lines = []
    for strategy in ordered({k[1] for k in keys}, STRATEGIES):
        for store in stores:
            cells = [safe_cell(cell, rows.get((scenario, strategy, store, s))) for s in sessions]
            if any(c != "–" for c in cells):
                lines.append([strategy, store] + cells)
    return table(["strategy", "store"] + [f"S={s}" for s in sessions], lines) if lines else []


def copy_overhead(rows):
    """cache_data against cache_resource calls per second, in the race and list scenarios.

    Not column: there every run loads the table afresh, which dwarfs the copies."""
    lines = []
    for scenario in ("race", "list"):
        keys = sorted({(k[2], k[3]) for k in rows if k[0] == scenario},
                      key=lambda k: (STORE_ORDER.index(k[0]) if k[0] in STORE_ORDER else 99, k[1]))
        for store, sessions in keys:
            data = rows.get((scenario, "cache_data", store, sessions))
            shared = rows.get((scenario, "cache_resource", store, sessions))
            if not data or not shared:
                continue
            d, r = data.get("ops"), shared.get("ops")
            if d is None or r is None:
                continue
            lines.append([scenario, store, str(sessions), rate(d), rate(r),
                          f"{r / d:.2f}×" if d else "–", f"{(1 / d - 1 / r) * 1e9:.0f}" if d and r else "–"])
    header = ["scenario", "store", "sessions", "cache_data", "cache_resource",
              "resource / data", "copy ns per call (1/data − 1/resource)"]
    return table(header, lines) if lines else []


def scenario_table(rows, scenario):
    keys = [k for k in rows if k[0] == scenario]
    columns = COLUMNS[scenario]
    lines = []
    for strategy in ordered({k[1] for k in keys}, STRATEGIES):
        for store in ordered({k[2] for k in keys}, STORE_ORDER):
            for sessions in sorted({k[3] for k in keys}):
                row = rows.get((scenario, strategy, store, sessions))
                if row is None:
                    continue
                cells = [strategy, store, str(sessions), f"{ms_per_run(row):.3f}", rate(row.get("ops", 0))]
                cells += [fmt.format(row[c]) if c in row else "–" for c, _, fmt in columns]
                lines.append(cells)
    header = ["strategy", "store", "sessions", "ms/run", "ops"] + [h for _, h, _ in columns]
    return table(header, lines)


def gap_section(context, rows):
    """The race's lost updates from a run with a wider window between read and write."""
    gap = context.get("race_gap", "?")
    lines = pivot(rows, "race", ["cache_resource", "cache_resource_locked"],
                  lambda r: f"{r['lost_per_1000']:.2f} ({r['lost_updates']:.1f}/{r['increments']:.0f})"
                  if "lost_per_1000" in r else "–")
    if not lines:
        return []
    return [f"## Lost updates per 1,000 increments with --gap={gap} (race)", "",
            f"The same race with {gap} spin iterations between the read of l[0] and the write (the "
            "script's work between them), which widens the window; the locked resource must still lose nothing.",
            ""] + lines + [""]


def render(context, rows, errors, medians, command, source, gap_sections=()):
    command = benchjson.display_command(command)
    source = benchjson.display_command(source)
    out = [f"<!-- Generated by `{command}` (scripts/races_table.py {source}); do not edit. -->", "",
           "# memo_races: mutation and concurrency, measured", ""]
    shown = {"date": "date", "host_name": "host", "num_cpus": "cpus", "memo_build": "memo build",
             "library_build_type": "libbenchmark build", "transparent_hugepage": "THP",
             "race_reruns": "reruns per session"}
    env = ", ".join(f"{label}={context[k]}" for k, label in shown.items() if k in context)
    build = benchjson.build_line(context)
    out += [f"Environment: {env}." if env else "Environment: not recorded.",
            f"Built from {build}." if build else "Build: not recorded (an older binary).",
            f"Figures are {'medians over repetitions' if medians else 'single runs'}; counters marked /run "
            "are per scenario run (one benchmark iteration = one run on a fresh cache). "
            "Names: `races/<scenario>/<strategy>/<store>/sessions:<S>`.", ""]
    if errors:
        out += ["## Errors (broken invariants)", ""] + [f"- `{n}`: {m}" for n, m in errors] + [""]
    sections = [
        ("Lost updates per 1,000 increments, unsafe cache_resource (race)",
         "Each session reruns `l = create_list(); l[0] = l[0] + 1` as an atomic load then store; "
         "lost = increments − (final − initial), shown with lost/increments per run. The locked "
         "resource and the copies must show 0 (checked; their rows are in the `race` table).",
         pivot(rows, "race", ["cache_resource"],
               lambda r: f"{r['lost_per_1000']:.2f} ({r['lost_updates']:.1f}/{r['increments']:.0f})"
               if "lost_per_1000" in r else "–")),
        ("Money drift per run, bank", "Final total − opening total of the cached accounts (negative: money lost).",
         pivot(rows, "bank", STRATEGIES, lambda r: f"{r['money_drift']:+.1f}" if "money_drift" in r else "–")),
        ("Computations per run under the thundering herd (one key)",
         "All sessions miss one key at the same moment; single-flight must run the function exactly once.",
         pivot(rows, "herd", STRATEGIES, lambda r: f"{r['computations']:.2f} (p50 {r.get('p50_us', 0):.0f} / "
               f"p99 {r.get('p99_us', 0):.0f} µs)")),
        ("Computations per run with several keys (herd_keys)", "Every session calls every key; exactly one computation per key.",
         pivot(rows, "herd_keys", STRATEGIES, lambda r: f"{r['computations']:.2f} of {r.get('keys', 0):.0f}")),
        ("Copy overhead: calls per second, cache_data vs cache_resource",
         "Same scenario, engine and sessions. `list` runs the visits one after another on one thread, so "
         "the difference is what decoding a private copy costs per call. `race` runs every session at once: "
         "there the shared object can be the slower one (negative ns), because every call of every session "
         "writes the same cache line (l[0]) and bumps the same shared_ptr count, while copies are private.",
         copy_overhead(rows)),
    ]
    for index, (title, note, lines) in enumerate(sections):
        if lines:
            out += [f"## {title}", "", note, ""] + lines + [""]
        if index == 0:
            for extra in gap_sections:
                out += list(extra)
    for scenario in SCENARIOS:
        if any(k[0] == scenario for k in rows):
            out += [f"## Scenario `{scenario}`", ""] + scenario_table(rows, scenario) + [""]
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="memo_races --benchmark_out file")
    parser.add_argument("extra", nargs="*", help="further memo_races JSON (race with a wider --gap)")
    parser.add_argument("--command", default="scripts/run_races", help="the command that produced the JSON")
    args = parser.parse_args(argv)
    loaded = []
    for path in [args.json] + args.extra:
        try:
            loaded.append(load(path))
        except benchjson.BenchJsonError as error:
            print(f"races_table.py: {error}", file=sys.stderr)
            return 2
        if not loaded[-1][1] and not loaded[-1][2]:
            print(f"races_table.py: {path} holds no races/ benchmarks", file=sys.stderr)
            return 2
    context, rows, _, medians = loaded[0]
    errors = [error for _, _, file_errors, _ in loaded for error in file_errors]
    gap_sections = [gap_section(extra_context, extra_rows) for extra_context, extra_rows, _, _ in loaded[1:]]
    print(render(context, rows, errors, medians, args.command, " ".join([args.json] + args.extra), gap_sections))
    for name, message in errors:
        print(f"races_table.py: {name}: {message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    benchjson.main_guard(main, "races_table.py")
