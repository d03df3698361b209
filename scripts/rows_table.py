#!/usr/bin/python3
"""The caching guide's row table from memo_rows and pickle_baseline.py JSON.

    /usr/bin/python3 scripts/rows_table.py --rows-json DIR/rows.json \\
        --pickle-json DIR/pickle.json --markdown DIR/rows.md --plot DIR/rows.png \\
        --command "scripts/run_rows --full --out DIR"

Writes a markdown table (the guide's published figures, the pickle baseline, memo's
strategies side by side at each size, ratios against pickle and against a warm
memcpy, the targets with a verdict each, and the engines at the smallest size) and a
bar chart. Times are medians over the repetitions. Both outputs say they are generated
and by which command, and are written together or not at all. Exit status 1 when a
benchmark reported an error other than a memory skip, so a smoke run fails on a wrong
checksum; 2, with one line naming the file, on a bad input or output.
"""

import argparse
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchjson  # noqa: E402  (the shared reader of Google Benchmark JSON)

ROWS_NAME = re.compile(
    r"^rows/(?P<strategy>[^/]+)/(?P<phase>[^/]+)/(?:(?P<store>[^/]+)/)?rows:(?P<rows>\d+)"
    r"(?:/iterations:\d+)?(?:/real_time)?$")
PICKLE_NAME = re.compile(r"^pickle/(?P<phase>dumps|loads)/rows:(?P<rows>\d+)$")
UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}

# The guide's published figures (st.cache_data / st.cache_resource, 4-column DataFrame).
GUIDE = {
    ("cache_data", "first"): {10**7: 0.4, 5 * 10**7: 3, 10**8: 14, 2 * 10**8: 28},
    ("cache_data", "subsequent"): {10**7: 0.2, 5 * 10**7: 1, 10**8: 2, 2 * 10**8: 7},
    ("cache_resource", "first"): {10**7: 0.01, 5 * 10**7: 0.1, 10**8: 0.2, 2 * 10**8: 1},
    ("cache_resource", "subsequent"): {10**7: 0, 5 * 10**7: 0, 10**8: 0, 2 * 10**8: 0},
}
STRATEGIES = ["cache_data", "cache_data_cow", "cache_resource"]
PHASES = ["first", "subsequent", "subsequent_scan"]
MAIN_STORE = "mutex_map"
POOL_OFF = " (block pool off)"


class Measurements:
    """Median seconds per benchmark key, plus errors, from Google-Benchmark-shaped JSON."""

    def __init__(self):
        self.samples = {}   # key -> [seconds]
        self.medians = {}   # key -> seconds (from aggregates, used when no samples)
        self.errors = {}    # key -> message
        self.contexts = []

    def add_file(self, path, parse_name):
        data = benchjson.load(path)  # BenchJsonError (one line naming the file): exit 2
        self.contexts.append(data.get("context", {}))
        for entry in data["benchmarks"]:
            key = parse_name(entry.get("run_name") or entry.get("name", ""))
            if key is None:
                continue
            if entry.get("error_occurred"):
                self.errors.setdefault(key, entry.get("error_message", "error"))
                continue
            seconds = float(entry["real_time"]) * UNIT_SECONDS[entry.get("time_unit", "ns")]
            if entry.get("run_type") == "aggregate":
                if entry.get("aggregate_name") == "median":
                    self.medians[key] = seconds
            else:
                self.samples.setdefault(key, []).append(seconds)

    def get(self, key):
        if key in self.samples:
            return statistics.median(self.samples[key])
        return self.medians.get(key)

    def repetitions(self):
        counts = [len(v) for v in self.samples.values()]
        return (min(counts), max(counts)) if counts else (0, 0)

    def repetitions_text(self):
        """'Medians of 3 repetitions', 'Medians of 2 to 3 repetitions', 'Single runs', or
        'Medians' (the files kept only the median aggregates)."""
        low, high = self.repetitions()
        if high == 0:
            return "Medians"
        if high == 1:
            return "Single runs"
        if low == high:
            return f"Medians of {low} repetitions"
        return f"Medians of {low} to {high} repetitions"


def rows_key(name):
    match = ROWS_NAME.match(name)
    if not match:
        return None
    return (match["strategy"], match["phase"], match["store"] or "", int(match["rows"]))


def pool_off_key(name):
    key = rows_key(name)
    return None if key is None or key[0] == "memcpy" else (key[0] + POOL_OFF, *key[1:])


def pickle_key(name):
    match = PICKLE_NAME.match(name)
    return ("pickle", match["phase"], "", int(match["rows"])) if match else None


def fmt_time(seconds):
    if seconds is None:
        return "–"
    if seconds == 0:
        return "0 s"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_rows(rows):
    for suffix, scale in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if rows >= scale and rows % scale == 0:
            return f"{rows // scale}{suffix}"
    return str(rows)


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_ratio(value):
    if value is None:
        return "–"
    return f"{value:.2f}×" if value >= 0.01 else f"{value:.1e}×"


class Table:
    def __init__(self, data, sizes):
        self.data, self.sizes = data, sizes

    def time(self, strategy, phase, rows, store=MAIN_STORE):
        store = "" if strategy in ("memcpy", "pickle") else store
        return self.data.get((strategy, phase, store, rows))

    def cell(self, strategy, phase, rows, store=MAIN_STORE):
        store = "" if strategy in ("memcpy", "pickle") else store
        key = (strategy, phase, store, rows)
        if key in self.data.errors and self.data.get(key) is None:
            message = self.data.errors[key]
            return "skipped" if message.startswith("skipped") else "ERROR"
        return fmt_time(self.data.get(key))

    def main_table(self):
        header = "| | | " + " | ".join(fmt_rows(r) for r in self.sizes) + " |"
        lines = [header, "|---|---|" + "---:|" * len(self.sizes)]

        def row(label, phase, cells):
            lines.append(f"| {label} | {phase} | " + " | ".join(cells) + " |")

        for (strategy, phase), figures in GUIDE.items():
            row(f"guide st.{strategy}", phase,
                [fmt_time(figures[r]) if r in figures else "–" for r in self.sizes])
        row("pickle.dumps (Python)", "", [self.cell("pickle", "dumps", r) for r in self.sizes])
        row("pickle.loads (Python)", "", [self.cell("pickle", "loads", r) for r in self.sizes])
        row("memcpy", "fresh memory", [self.cell("memcpy", "fresh", r) for r in self.sizes])
        row("memcpy", "warm memory", [self.cell("memcpy", "warm", r) for r in self.sizes])
        for strategy in STRATEGIES + [s + POOL_OFF for s in STRATEGIES]:
            for phase in PHASES:
                if all(self.time(strategy, phase, r) is None and
                       (strategy, phase, MAIN_STORE, r) not in self.data.errors for r in self.sizes):
                    continue
                cells = []
                for r in self.sizes:
                    text = self.cell(strategy, phase, r)
                    base = self.time("pickle", "dumps" if phase == "first" else "loads", r)
                    warm = self.time("memcpy", "warm", r)
                    got = self.time(strategy, phase, r)
                    extras = []
                    if got is not None and base:
                        extras.append(f"{fmt_ratio(ratio(got, base))} pickle")
                    if got is not None and warm and not strategy.startswith("cache_resource"):
                        extras.append(f"{fmt_ratio(ratio(got, warm))} memcpy")
                    cells.append(text + (" (" + ", ".join(extras) + ")" if extras else ""))
                row(f"memo {strategy}", phase, cells)
        return lines

    def target_checks(self):
        """[(description, [(value text, met: True, False or None when not measured)] per size)]"""
        checks = []

        def per_size(fn):
            return [fn(r) for r in self.sizes]

        def bound(got, limit, describe):
            if got is None or limit is None:
                return ("–", None)
            return (describe(got), got <= limit)

        def vs(strategy, phase, base_strategy, base_phase, factor):
            return lambda r: bound(ratio(self.time(strategy, phase, r),
                                         self.time(base_strategy, base_phase, r)),
                                   factor, fmt_ratio)

        def absolute(strategy, phase, limit):
            return lambda r: bound(self.time(strategy, phase, r), limit, fmt_time)

        checks.append(("cache_data first ≤ 1/3 of pickle.dumps",
                       per_size(vs("cache_data", "first", "pickle", "dumps", 1 / 3))))
        checks.append(("cache_data subsequent ≤ 1/3 of pickle.loads",
                       per_size(vs("cache_data", "subsequent", "pickle", "loads", 1 / 3))))
        checks.append(("cache_data first ≤ 3× memcpy warm",
                       per_size(vs("cache_data", "first", "memcpy", "warm", 3))))
        checks.append(("cache_data subsequent ≤ 3× memcpy warm",
                       per_size(vs("cache_data", "subsequent", "memcpy", "warm", 3))))
        checks.append(("cache_data_cow subsequent ≤ 1 ms",
                       per_size(absolute("cache_data_cow", "subsequent", 1e-3))))
        for strategy in ("cache_data", "cache_data_cow"):
            checks.append((f"{strategy} subsequent_scan ≤ 1/3 of pickle.loads",
                           per_size(vs(strategy, "subsequent_scan", "pickle", "loads", 1 / 3))))
        checks.append(("cache_resource first ≤ 100 µs",
                       per_size(absolute("cache_resource", "first", 100e-6))))
        checks.append(("cache_resource subsequent ≤ 1 µs",
                       per_size(absolute("cache_resource", "subsequent", 1e-6))))
        ran = lambda r: (("yes", True) if all(
            self.time(s, p, r) is not None for s in STRATEGIES for p in PHASES[:2]) else ("no", False))
        checks.append(("every strategy ran at this size (none skipped)", per_size(ran)))
        return checks

    def targets(self):
        lines = ["| target | " + " | ".join(fmt_rows(r) for r in self.sizes) + " |",
                 "|---|" + "---:|" * len(self.sizes)]
        for description, results in self.target_checks():
            cells = [text + ("" if ok is None else (" ✓" if ok else " ✗")) for text, ok in results]
            lines.append(f"| {description} | " + " | ".join(cells) + " |")
        return lines

    def engines(self, rows):
        stores = sorted({k[2] for k in self.data.samples if k[3] == rows and k[2]} |
                        {k[2] for k in self.data.medians if k[3] == rows and k[2]} |
                        {k[2] for k in self.data.errors if k[3] == rows and k[2]})
        if len(stores) < 2:
            return []
        lines = [f"| rows:{fmt_rows(rows)} | " + " | ".join(stores) + " |",
                 "|---|" + "---:|" * len(stores)]
        for strategy in STRATEGIES:
            for phase in PHASES:
                cells = [self.cell(strategy, phase, rows, store) for store in stores]
                if all(c == "–" for c in cells):
                    continue
                lines.append(f"| {strategy} {phase} | " + " | ".join(cells) + " |")
        return lines


def load_table(rows_json, pickle_json=None, pool_off_json=None):
    """The Table over a run's files; BenchJsonError (one line naming the file) when they
    cannot be read or hold no rows/ benchmark."""
    data = Measurements()
    data.add_file(rows_json, rows_key)
    if pickle_json:
        data.add_file(pickle_json, pickle_key)
    if pool_off_json:
        data.add_file(pool_off_json, pool_off_key)
    keys = set(data.samples) | set(data.medians) | set(data.errors)
    sizes = sorted({k[3] for k in keys if k[0] not in ("pickle",)})
    if not sizes:
        raise benchjson.BenchJsonError(f"{rows_json}: holds no rows/... benchmark")
    return Table(data, sizes)


def context_lines(data):
    lines = []
    for context in data.contexts:
        if "memo_build" in context:
            lines.append(
                f"memo_rows: {context.get('host_name', '?')}, {context.get('num_cpus', '?')} cpus, "
                f"build {context.get('memo_build', '?')}, THP `{context.get('transparent_hugepage', '?')}`, "
                f"block pool {context.get('rows_block_pool', '?')}, seed {context.get('rows_seed', '?')}, "
                f"{context.get('memory_available_at_start', '?')} available at start, {context.get('date', '?')}; "
                f"built from {benchjson.build_line(context) or 'an unrecorded build (older binary)'}.")
        elif "pickle_protocol" in context:
            lines.append(
                f"pickle: Python {context.get('python', '?')}, pandas {context.get('pandas', '?')}, "
                f"numpy {context.get('numpy', '?')}, protocol {context.get('pickle_protocol', '?')}, "
                f"seed {context.get('seed', '?')}, {context.get('date', '?')}"
                + (f"; scripts at {benchjson.build_line(context)}." if benchjson.build_line(context) else "."))
    return lines


def make_plot(table, command):
    """The bar chart as a matplotlib figure (the caller writes and closes it)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise benchjson.BenchJsonError(f"matplotlib is missing ({exc}); install python3-matplotlib "
                                       "(scripts/setup)") from None

    panels = [
        ("first call (a miss)", [("guide", "first", "guide st.cache_data"),
                                 ("pickle", "dumps", "pickle.dumps"), ("memcpy", "fresh", "memcpy fresh"),
                                 ("memcpy", "warm", "memcpy warm"), ("cache_data", "first", "cache_data"),
                                 ("cache_data_cow", "first", "cache_data_cow"),
                                 ("cache_resource", "first", "cache_resource")]),
        ("subsequent call (a hit)", [("guide", "subsequent", "guide st.cache_data"),
                                     ("pickle", "loads", "pickle.loads"), ("memcpy", "warm", "memcpy warm"),
                                     ("cache_data", "subsequent", "cache_data"),
                                     ("cache_data", "subsequent_scan", "cache_data + scan"),
                                     ("cache_data_cow", "subsequent", "cache_data_cow"),
                                     ("cache_data_cow", "subsequent_scan", "cache_data_cow + scan"),
                                     ("cache_resource", "subsequent", "cache_resource")]),
    ]
    labels = [label for _, series in panels for _, _, label in series]
    palette = plt.get_cmap("tab10").colors
    colours = {label: palette[i % len(palette)] for i, label in enumerate(dict.fromkeys(labels))}
    figure, axes = plt.subplots(1, 2, figsize=(14, 6.5))
    for axis, (title, series) in zip(axes, panels):
        width = 0.8 / len(series)
        for i, (strategy, phase, label) in enumerate(series):
            if strategy == "guide":  # published figures: hatched, they are not ours
                values = [GUIDE[("cache_data", phase)].get(r) for r in table.sizes]
            else:
                values = [table.time(strategy, phase, r) for r in table.sizes]
            xs = [k + (i - len(series) / 2 + 0.5) * width for k in range(len(table.sizes))]
            guide = strategy == "guide"
            axis.bar([x for x, v in zip(xs, values) if v], [v for v in values if v], width,
                     label=label, hatch="//" if guide else None, fill=not guide,
                     color=None if guide else colours[label])
        axis.set_yscale("log")
        axis.set_xticks(range(len(table.sizes)))
        axis.set_xticklabels([f"{fmt_rows(r)} rows" for r in table.sizes])
        axis.set_ylabel("seconds (median, log scale)")
        axis.set_title(title)
        axis.grid(axis="y", which="major", alpha=0.3)
        axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3)
    figure.suptitle("The caching guide's row table: memo (mutex_map) against pickle and memcpy")
    figure.text(0.01, 0.01, f"generated by scripts/rows_table.py; command: "
                f"{benchjson.display_command(command)}", fontsize=7)
    figure.tight_layout(rect=(0, 0.03, 1, 0.95))
    return figure


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows-json", required=True, help="memo_rows --benchmark_out JSON")
    parser.add_argument("--pickle-json", help="scripts/pickle_baseline.py JSON")
    parser.add_argument("--pool-off-json",
                        help="memo_rows --block_pool=off JSON: the same calls, every copy into fresh memory")
    parser.add_argument("--markdown", required=True, help="markdown file to write")
    parser.add_argument("--plot", help="PNG file to write")
    parser.add_argument("--command", default="scripts/rows_table.py",
                        help="the command that produced the inputs, for the 'generated' line")
    args = parser.parse_args(argv)

    table = load_table(args.rows_json, args.pickle_json, args.pool_off_json)
    data, sizes = table.data, table.sizes
    inputs = ", ".join(benchjson.display_path(p)
                       for p in (args.rows_json, args.pool_off_json, args.pickle_json) if p)
    command = benchjson.display_command(args.command)
    out = [f"<!-- generated by scripts/rows_table.py from {inputs}; command: {command} -->",
           "# The caching guide's row table, measured", "",
           f"Generated by `{command}`. {data.repetitions_text()}, wall-clock time; "
           "4 float64 columns. The guide's rows are its published figures (another machine, "
           "Python); everything else was measured in this run. memo rows use the "
           f"`{MAIN_STORE}` engine; ratios are against pickle (dumps for first, loads for the "
           "hits) and against copying the same bytes into warm memory. Rows marked *block pool "
           "off* repeat the calls with memo's large-block pool disabled, so every copy lands in "
           "fresh memory (page faults included): the cold-process figure.", ""]
    out += [f"- {line}" for line in context_lines(data)] + [""]
    out += table.main_table() + [""]
    out += ["## Targets", ""] + table.targets() + [""]
    engines = table.engines(sizes[0])
    if engines:
        out += ["## Engines at the smallest size", ""] + engines + [""]
    problems = {k: m for k, m in data.errors.items() if not m.startswith("skipped")}
    skips = {k: m for k, m in data.errors.items() if m.startswith("skipped")}
    if skips:
        out += ["## Skipped", ""] + [f"- `{'/'.join(str(p) for p in k if p != '')}`: {m}"
                                     for k, m in sorted(skips.items())] + [""]
    if problems:
        out += ["## Errors", ""] + [f"- `{'/'.join(str(p) for p in k if p != '')}`: {m}"
                                    for k, m in sorted(problems.items())] + [""]
    out += ["Phases: *first* is one call on a miss whose function only hands over a pre-built "
            "frame by move, so its time is the decorator's overhead; *subsequent* is one call on a hit "
            "after the previous copy was dropped (a rerun); *subsequent_scan* adds reading "
            "every value once, which shows copy-on-write's deferred page faults. See "
            "benchmarks/rows.cpp.", ""]
    # Both files or neither: a plot that fails leaves no markdown behind either.
    figure = make_plot(table, args.command) if args.plot else None
    try:
        with benchjson.Outputs() as files:
            files.text(args.markdown, "\n".join(out))
            if figure is not None:
                files.figure(args.plot, figure, dpi=110)
    finally:
        if figure is not None:
            import matplotlib.pyplot as plt
            plt.close(figure)
    if problems:
        print(f"rows_table: {len(problems)} benchmark(s) reported errors", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    benchjson.main_guard(main, "rows_table.py")
