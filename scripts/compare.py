#!/usr/bin/python3
"""Compare Google Benchmark results, in the manner of google/benchmark's tools/compare.py.

  compare.py engines FILE.json [--baseline mutex_map] [--metric ops]
      Within one run of memo_stores: every engine's median as a ratio to the baseline
      engine's, per workload and thread count (engines are compared as ratios
      inside one run: absolute figures move between runs on shared machines).

  compare.py runs A B [--metric auto] [-- ARGS FOR BINARIES]
      Before/after: A and B are each a JSON file or a benchmark binary (run with
      --benchmark_format=json plus ARGS). For each benchmark in both: medians, change,
      and a Mann-Whitney U test over the repetitions (needs at least 2 per side;
      9 or more are recommended, as in google/benchmark).

Both print a text table, or markdown with --format markdown; figures carry their units
(times in ns/µs/ms/s, rates per second). The verdict of `runs` is better, worse, same
(the U test found no difference at --alpha) or inconclusive (too few repetitions for
the U test to reach --alpha, or none kept). Exit status 2 on bad input (an unreadable
or malformed file, an unknown baseline or metric, an --alpha outside (0, 1), nothing to
compare), with one line saying which.
"""

import argparse
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchjson  # noqa: E402

UTEST_MIN_REPETITIONS = 2
UTEST_OPTIMAL_REPETITIONS = 9
DEFAULT_ALPHA = 0.05


class CompareError(Exception):
    pass


def render(header, rows, fmt):
    """A table as aligned text or as markdown."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    if fmt == "markdown":
        lines = ["| " + " | ".join(cells[0]) + " |",
                 "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_value(value, metric):
    """A value of `metric` with its unit."""
    unit = benchjson.metric_unit(metric)
    if unit == "ns":
        return benchjson.format_duration_ns(value)
    if unit in ("/s", "B/s"):
        return benchjson.format_rate(value) + unit
    if metric == "hit_ratio":
        return f"{value:.4f}"
    return f"{value:.4g}" + (f" {unit}" if unit else "")


def check_metric(metric, *runs):
    """Raises CompareError naming the metrics the runs report unless they report `metric`."""
    known = benchjson.ordered_unique(m for data in runs for m in benchjson.metrics(data))
    if metric not in known:
        raise CompareError(f"unknown metric '{metric}'; known here: {', '.join(known) or 'none'}")


def alpha_value(text):
    """--alpha: a significance level strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0.0 < value < 1.0:  # also refuses nan, whose comparisons are all false
        raise argparse.ArgumentTypeError(f"'{text}' is not a significance level in (0, 1), e.g. 0.05")
    return value


# ----------------------------------------------------------------------------- engines

def engine_ratios(data, baseline, metric="ops"):
    """[(workload, threads, engine, Series, ratio-or-None)] in the run's order.

    ratio = engine median / baseline median; None where the baseline has no value for
    that workload and thread count (or the engine's run failed).
    """
    check_metric(metric, data)
    values = benchjson.stores_series(data, metric)
    if not values:
        raise CompareError(f"no stores/ benchmarks report '{metric}'")
    workloads, engines, threads = benchjson.stores_layout(data)
    if baseline not in engines:
        raise CompareError(f"baseline '{baseline}' is not in this run; engines: {', '.join(engines)}")
    rows = []
    for workload in workloads:
        for count in threads:
            base = values.get(benchjson.StoresKey(workload, baseline, count))
            for engine in engines:
                mine = values.get(benchjson.StoresKey(workload, engine, count))
                if mine is None:
                    continue
                ratio = None
                if base is not None and base.values and mine.values and base.median != 0:
                    ratio = mine.median / base.median
                rows.append((workload, count, engine, mine, ratio))
    return rows


def engines_table(data, baseline, metric, fmt):
    rows = []
    for workload, threads, engine, values, ratio in engine_ratios(data, baseline, metric):
        if values.error:
            rows.append((workload, threads, engine, "-", "-", "-", "error: " + values.error))
            continue
        low, high = values.spread
        spread = f"{format_value(low, metric)} .. {format_value(high, metric)}"
        rows.append((workload, threads, engine, format_value(values.median, metric), spread,
                     "-" if ratio is None else f"{ratio:.2f}", ""))
    better = "higher" if metric in benchjson.HIGHER_IS_BETTER else "lower"
    header = ("workload", "threads", "engine", f"{metric} median", "min .. max",
              f"ratio to {baseline} ({better} is better)", "note")
    return render(header, rows, fmt)


# -------------------------------------------------------------------------------- runs

def load_side(path, extra_args):
    """Benchmark JSON from a file, or from running a benchmark binary."""
    if not os.path.exists(path):
        raise CompareError(f"{path}: no such file")
    if os.access(path, os.X_OK) and os.path.isfile(path) and not _looks_like_json(path):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out.json")
            command = [os.path.abspath(path), f"--benchmark_out={out}",
                       "--benchmark_out_format=json", *extra_args]
            print("running: " + " ".join(command), file=sys.stderr)
            # Its console table goes to our stderr (fd 2), keeping stdout for the comparison.
            try:
                result = subprocess.run(command, stdout=2, check=False)
            except OSError as exc:
                raise CompareError(f"{path}: cannot run ({exc.strerror or exc})") from None
            if result.returncode != 0:
                raise CompareError(f"{path} exited with status {result.returncode}")
            return benchjson.load(out)
    try:
        return benchjson.load(path)
    except benchjson.BenchJsonError as exc:
        raise CompareError(str(exc)) from exc


def _looks_like_json(path):
    try:
        with open(path, "rb") as handle:
            return handle.read(64).lstrip()[:1] in (b"{", b"[", b"n", b"\"")
    except OSError:
        return True  # benchjson.load names the problem


def smallest_two_sided_p(n, m):
    """The smallest p an exact two-sided U test can give with n and m samples."""
    return min(1.0, 2.0 / math.comb(n + m, n))


def utest(before, after, alpha):
    """(p-value or None, note) for two lists of repetitions."""
    n, m = len(before), len(after)
    if n < UTEST_MIN_REPETITIONS or m < UTEST_MIN_REPETITIONS:
        return None, f"U test skipped: needs {UTEST_MIN_REPETITIONS}+ repetitions per side, has {n} and {m}"
    from scipy.stats import mannwhitneyu  # Debian python3-scipy
    p_value = float(mannwhitneyu(before, after, alternative="two-sided").pvalue)
    note = ""
    floor = smallest_two_sided_p(n, m)
    if floor >= alpha:
        note = f"cannot reach alpha={alpha} with {n} and {m} repetitions (smallest p {floor:.3f})"
    elif min(n, m) < UTEST_OPTIMAL_REPETITIONS:
        note = f"few repetitions ({n}/{m}); {UTEST_OPTIMAL_REPETITIONS}+ recommended"
    return p_value, note


def pick_metric(metric, before_data, after_data):
    if metric != "auto":
        check_metric(metric, before_data, after_data)
        return {metric: (benchjson.series(before_data, metric), benchjson.series(after_data, metric))}
    # Throughput where the benchmark reports it (memo_stores), wall time otherwise.
    chosen = {}
    for candidate in ("ops", "real_time"):
        chosen[candidate] = (benchjson.series(before_data, candidate),
                             benchjson.series(after_data, candidate))
    return chosen


def compare_runs(before_data, after_data, metric="auto", alpha=DEFAULT_ALPHA):
    """[dict] per benchmark present in both runs, in the order of the first run."""
    by_metric = pick_metric(metric, before_data, after_data)
    order = benchjson.ordered_unique(benchjson.run_name(e) for e in before_data["benchmarks"])
    rows = []
    for name in order:
        for candidate, (before_all, after_all) in by_metric.items():
            before, after = before_all.get(name), after_all.get(name)
            if before is None or after is None:
                continue
            row = {"name": name, "metric": candidate, "before": before, "after": after,
                   "change": None, "p_value": None, "note": ""}
            if before.error or after.error:
                row["note"] = "error: " + (before.error or after.error)
            elif before.median_only or after.median_only:
                row["note"] = "U test skipped: only medians kept (--benchmark_report_aggregates_only)"
            else:
                row["p_value"], row["note"] = utest(before.values, after.values, alpha)
            if before.values and after.values and before.median != 0:
                row["change"] = after.median / before.median - 1.0
            rows.append(row)
            break  # one metric per benchmark: the first candidate both runs report
    if not rows:
        raise CompareError("the two runs have no benchmark in common")
    return rows


def verdict(row, alpha):
    """better / worse / same, or inconclusive where the U test could not decide: no
    test (too few repetitions, medians only) or too few repetitions to reach alpha."""
    if row["change"] is None:
        return ""
    if row["p_value"] is None:
        return "inconclusive"
    n, m = len(row["before"].values), len(row["after"].values)
    if smallest_two_sided_p(n, m) >= alpha:
        return "inconclusive"
    if row["p_value"] >= alpha:
        return "same"
    higher_better = row["metric"] in benchjson.HIGHER_IS_BETTER
    return "better" if (row["change"] > 0) == higher_better else "worse"


def runs_table(rows, alpha, fmt):
    table = []
    ratios = []
    for row in rows:
        change = "-" if row["change"] is None else f"{row['change'] * 100:+.1f}%"
        if row["change"] is not None:
            ratios.append(1.0 + row["change"])
        p_value = "-" if row["p_value"] is None else f"{row['p_value']:.4f}"
        table.append((row["name"], row["metric"], format_value(row["before"].median, row["metric"]),
                      format_value(row["after"].median, row["metric"]), change, p_value,
                      verdict(row, alpha), row["note"]))
    text = render(("benchmark", "metric", "before (median)", "after (median)", "change",
                   "U-test p", "verdict", "note"), table, fmt)
    positive = [r for r in ratios if r > 0]
    if positive:
        geomean = math.exp(sum(math.log(r) for r in positive) / len(positive))
        text += f"\n\ngeometric mean of after/before: {geomean:.4f} over {len(positive)} benchmarks"
    return text


# -------------------------------------------------------------------------------- main

def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--format", choices=("text", "markdown"), default="text")
    sub = parser.add_subparsers(dest="command", required=True)
    engines = sub.add_parser("engines", parents=[common],
                             help="engine ratios within one memo_stores run")
    engines.add_argument("file")
    engines.add_argument("--baseline", default="mutex_map")
    engines.add_argument("--metric", default="ops")
    runs = sub.add_parser("runs", parents=[common], help="before/after comparison with a U test")
    runs.add_argument("before")
    runs.add_argument("after")
    runs.add_argument("--metric", default="auto",
                      help="auto (ops where reported, else real_time) or any metric the runs report")
    runs.add_argument("--alpha", type=alpha_value, default=DEFAULT_ALPHA,
                      help="significance level of the U test, in (0, 1) (default 0.05)")
    args = parser.parse_args(argv)
    try:
        if args.command == "engines":
            data = load_side(args.file, extra)
            try:
                table = engines_table(data, args.baseline, args.metric, args.format)
            except CompareError as exc:
                raise CompareError(f"{args.file}: {exc}") from None
        else:
            before, after = load_side(args.before, extra), load_side(args.after, extra)
            try:
                rows = compare_runs(before, after, args.metric, args.alpha)
            except CompareError as exc:
                raise CompareError(f"{args.before} against {args.after}: {exc}") from None
            table = runs_table(rows, args.alpha, args.format)
    except (CompareError, benchjson.BenchJsonError) as exc:
        print(f"compare.py: {exc}", file=sys.stderr)
        return 2
    print(table)
    return 0


if __name__ == "__main__":
    benchjson.main_guard(main, "compare.py")
