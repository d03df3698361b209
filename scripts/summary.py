#!/usr/bin/python3
"""The one screen scripts/run ends on: targets met or missed, failed checks, the fastest
engine per workload and thread count, what each step took, and where the files are.

    summary.py DIR [--command "scripts/run --quick"] [--time STEP=SECONDS ...] [--failed STEP ...]

Reads DIR/rows.json, rows_pool_off.json and pickle.json (the targets, as
scripts/rows_table.py judges them), DIR/races.json (broken invariants) and DIR/stores.json
(failed checks, fastest engines) through scripts/benchjson.py. A suite whose files are
missing or unreadable gets one line saying so; the others are still summarized. Exit
status 0, or 2 when DIR itself is unusable.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchjson  # noqa: E402
import rows_table  # noqa: E402

MARK = {True: "✓", False: "✗", None: "–"}


def clock(seconds):
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def unreadable(suite, reason):
    return [f"{suite}: no summary ({reason})"]


def rows_section(directory):
    """The targets of the rows suite, one line each, with a verdict per size."""
    rows_json = os.path.join(directory, "rows.json")
    if not os.path.exists(rows_json):
        return unreadable("rows", "no rows.json; the suite did not finish")
    optional = [os.path.join(directory, name) for name in ("pickle.json", "rows_pool_off.json")]
    try:
        table = rows_table.load_table(rows_json, *(p if os.path.exists(p) else None
                                                   for p in optional))
    except benchjson.BenchJsonError as exc:  # unreadable or empty input, one line naming the file
        return unreadable("rows", str(exc))
    checks = table.target_checks()
    sizes = [rows_table.fmt_rows(r) for r in table.sizes]
    width = max(len(description) for description, _ in checks)
    cell = max([len(text) for _, results in checks for text, _ in results] + [len(s) for s in sizes])
    lines = [f"Targets (rows suite; {', '.join(sizes)} rows):",
             f"    {'':{width}}  " + "  ".join(f"{s:>{cell + 2}}" for s in sizes)]
    met = missed = unmeasured = 0
    for description, results in checks:
        verdicts = [ok for _, ok in results]
        overall = False if False in verdicts else (None if None in verdicts else True)
        met += overall is True
        missed += overall is False
        unmeasured += overall is None
        cells = "  ".join(f"{text:>{cell}} {'' if ok is None else MARK[ok]:1}" for text, ok in results)
        lines.append(f"  {MARK[overall]} {description:{width}}  {cells}".rstrip())
    verdict = f"{met} of {len(checks)} targets met at every size"
    if missed:
        verdict += f", {missed} missed"
    if unmeasured:
        verdict += f", {unmeasured} not measured at some size"
    problems = {k: m for k, m in table.data.errors.items() if not m.startswith("skipped")}
    skips = len(table.data.errors) - len(problems)
    lines.append(f"  {verdict}; {len(problems)} benchmark(s) failed a check"
                 + (f", {skips} skipped (rows.md lists why)" if skips else ""))
    return lines


def suite_files(directory, suite):
    """The suite's JSON files: <suite>.json first, then its other runs (<suite>_*.json)."""
    names = sorted(n for n in os.listdir(directory)
                   if n.startswith(suite + "_") and n.endswith(".json"))
    return [os.path.join(directory, n) for n in [suite + ".json"] + names]


def failed_checks(paths):
    """(benchmarks, benchmarks that reported an error) over the files, by run name."""
    total, broken = set(), set()
    for path in paths:
        for entry in benchjson.load(path)["benchmarks"]:
            total.add(benchjson.run_name(entry))
            if entry.get("error_occurred"):
                broken.add(benchjson.run_name(entry))
    return total, broken


def checks_line(title, total, broken, what):
    if not broken:
        return f"{title}: {len(total)} benchmarks, no {what}"
    shown = ", ".join(sorted(broken)[:3]) + (" ..." if len(broken) > 3 else "")
    return f"{title}: {len(broken)} of {len(total)} benchmarks {what} ✗ ({shown})"


def races_section(directory):
    paths = suite_files(directory, "races")
    if not os.path.exists(paths[0]):
        return unreadable("races", "no races.json; the suite did not finish")
    try:
        total, broken = failed_checks(paths)
    except benchjson.BenchJsonError as exc:
        return unreadable("races", str(exc))
    return [checks_line("Races", total, broken,
                        "broke an invariant" if broken else "broken invariant")]


def stores_section(directory):
    paths = suite_files(directory, "stores")
    if not os.path.exists(paths[0]):
        return unreadable("stores", "no stores.json; the suite did not finish")
    try:
        total, broken = failed_checks(paths)
        data = benchjson.load(paths[0])
    except benchjson.BenchJsonError as exc:
        return unreadable("stores", str(exc))
    lines = [checks_line("Stores", total, broken, "failed a check" if broken else "failed check")]
    ops = benchjson.stores_series(data, "ops")
    workloads, _, threads = benchjson.stores_layout(data)
    if not workloads or not threads:
        return lines
    hardware = benchjson.hardware_threads(data)
    peers = benchjson.peers(data)
    with_rates = len(threads) <= 3
    header = ["workload"] + [f"{t} thr" + ("*" if hardware and t > hardware else "") for t in threads]
    table = []
    for workload in workloads:
        row = [workload]
        for t in threads:
            measured = [(s.median, k.engine) for k, s in ops.items()
                        if k.workload == workload and k.threads == t and s.values]
            if not measured:
                row.append("-")
                continue
            rate, engine = max(measured)
            name = engine + ("ᵖ" if engine in peers else "")
            row.append(f"{name} {benchjson.format_rate(rate)}" if with_rates else name)
        table.append(row)
    widths = [max(len(r[i]) for r in [header] + table) for i in range(len(header))]
    notes = ["ᵖ a peer, not memo"] if any("ᵖ" in c for r in table for c in r) else []
    if hardware and any(t > hardware for t in threads):
        notes.append(f"* more threads than the machine's {hardware}")
    lines.append("Fastest engine by median ops/s" + (" (" + "; ".join(notes) + ")" if notes else "")
                 + ":")
    for row in [header] + table:
        lines.append("  " + "  ".join(f"{c:<{w}}" for c, w in zip(row, widths)).rstrip())
    return lines


def files_section(directory):
    present = set(os.listdir(directory))
    tables = sorted(n for n in present if n.endswith(".md") and n != "README.md")
    plots = sorted(n for n in present if n.endswith(".png"))
    jsons = sorted(n for n in present if n.endswith(".json"))
    lines = [f"Files in {directory}/:"]
    if "README.md" in present:
        lines.append("  README.md  every table on one page, with the machine and the commands")
    if tables:
        lines.append(f"  tables     {', '.join(tables)}")
    if plots:
        lines.append(f"  plots      {', '.join(plots[:3])}" + (f" and {len(plots) - 3} more" if len(plots) > 3 else ""))
    if jsons:
        lines.append(f"  raw JSON   {len(jsons)} files (Google Benchmark's format)")
    if "logs" in present:
        lines.append("  logs/      the whole output of every step")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", help="the run's output directory (results/ or build/results-quick/)")
    parser.add_argument("--command", default="scripts/run", help="the command that made the run")
    parser.add_argument("--time", action="append", default=[], metavar="STEP=SECONDS",
                        help="how long a step took (repeatable, in order)")
    parser.add_argument("--failed", action="append", default=[], metavar="STEP",
                        help="a step that failed (repeatable)")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.directory):
        print(f"summary.py: {args.directory}: no such directory", file=sys.stderr)
        return 2

    steps = []
    for item in args.time:
        step, _, seconds = item.partition("=")
        try:
            steps.append((step, float(seconds)))
        except ValueError:
            parser.error(f"--time takes STEP=SECONDS, not '{item}'")
    total = sum(seconds for _, seconds in steps)
    verdict = "FAILED: " + ", ".join(args.failed) if args.failed else "done"
    out = [f"=== {args.command}: {verdict}" + (f" in {clock(total)}" if steps else "")]
    if steps:
        out.append("    " + ", ".join(f"{step} {clock(seconds)}" for step, seconds in steps))
    out.append("")
    sections = [rows_section, races_section, stores_section]
    for section in sections:
        try:
            out += section(args.directory)
        except Exception as exc:  # noqa: BLE001 -- one broken section must not hide the rest
            out.append(f"{section.__name__.split('_')[0]}: no summary ({type(exc).__name__}: {exc})")
        out.append("")
    out += files_section(args.directory)
    out.append("The benchmarks' \"Library was built as DEBUG\" warning is about Debian's "
               "libbenchmark, not memo (README.md, Requirements).")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    benchjson.main_guard(main, "summary.py")
