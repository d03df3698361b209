"""Every script against every bad input (data/bad/*.json, a missing file, a directory)
and every unwritable output: exit status 2, exactly one line on stderr naming the
file, no traceback, and no output file written (whole or not at all).

The scripts run through their `if __name__ == "__main__"` entry (runpy, in this
process, which keeps the whole matrix fast on a busy machine); a second matrix runs
each script as its own process (/usr/bin/python3 scripts/X.py), exactly as a user does.
"""

import os
import runpy
import shutil
import subprocess
import sys
from dataclasses import dataclass

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.dirname(TESTS)
DATA = os.path.join(TESTS, "data")
BAD = os.path.join(DATA, "bad")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
sys.path.insert(0, SCRIPTS)

import benchjson  # noqa: E402


def good(name):
    return os.path.join(DATA, name)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_process(*args, timeout=120):
    """Runs scripts/args[0] as its own process, as a user does."""
    done = subprocess.run([PYTHON, os.path.join(SCRIPTS, args[0]), *args[1:]], capture_output=True,
                          text=True, errors="replace", timeout=timeout, check=False)
    return Result(done.returncode, done.stdout, done.stderr)


def run(*args):
    """Runs scripts/args[0] as __main__ in this process; its exit status and output.
    An exception escaping the script (what would print a traceback) fails the test."""
    import io
    from contextlib import redirect_stderr, redirect_stdout
    out, err = io.StringIO(), io.StringIO()
    saved = sys.argv
    sys.argv = [os.path.join(SCRIPTS, args[0]), *args[1:]]
    try:
        with redirect_stdout(out), redirect_stderr(err):
            runpy.run_path(sys.argv[0], run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved
    return Result(code, out.getvalue(), err.getvalue())


def assert_refused(result, named):
    """Exit 2, one line on stderr that names `named`, no traceback anywhere."""
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0], (named, lines[0])


def bad_inputs():
    files = sorted(f for f in os.listdir(BAD) if f.endswith(".json"))
    return [os.path.join(BAD, f) for f in files] + ["MISSING", "DIRECTORY"]


def materialize(bad, tmp_path):
    """The path to pass for a corpus entry (a missing file and a directory are made here)."""
    if bad == "MISSING":
        return str(tmp_path / "no_such_run.json")
    if bad == "DIRECTORY":
        directory = tmp_path / "a_directory.json"
        directory.mkdir()
        return str(directory)
    return bad


# Each way a script reads benchmark JSON: (id, argv given the bad path and a scratch
# directory, the outputs that must not appear). summary.py is not here: the end-of-run
# summary reports an unreadable suite in its own section and carries on.
def _make_results(which):
    def argv(bad, tmp):
        results = os.path.join(tmp, "results")
        os.makedirs(results, exist_ok=True)
        target = os.path.join(results, which)
        if os.path.isdir(bad):
            os.makedirs(target, exist_ok=True)
        elif os.path.exists(bad):
            shutil.copyfile(bad, target)
        else:
            return None  # a missing suite file is simply a suite that did not run
        return ["make_results.py", "--mode", "quick", results]
    return argv


READERS = [
    ("compare_engines", lambda bad, tmp: ["compare.py", "engines", bad], []),
    ("compare_runs_before", lambda bad, tmp: ["compare.py", "runs", bad, good("after.json")], []),
    ("compare_runs_after", lambda bad, tmp: ["compare.py", "runs", good("before.json"), bad], []),
    ("plot", lambda bad, tmp: ["plot.py", bad, "--out", os.path.join(tmp, "plots")], ["plots"]),
    ("stores_report", lambda bad, tmp: ["stores_report.py", bad], []),
    ("races_table", lambda bad, tmp: ["races_table.py", bad], []),
    ("races_table_extra", lambda bad, tmp: ["races_table.py", good("races_run.json"), bad], []),
    ("rows_table", lambda bad, tmp: ["rows_table.py", "--rows-json", bad, "--markdown",
                                     os.path.join(tmp, "rows.md"), "--plot",
                                     os.path.join(tmp, "rows.png")], ["rows.md", "rows.png"]),
    ("rows_table_pickle", lambda bad, tmp: ["rows_table.py", "--rows-json", good("rows_run.json"),
                                            "--pickle-json", bad, "--markdown",
                                            os.path.join(tmp, "rows.md")], ["rows.md"]),
    ("redis_tables_herd", lambda bad, tmp: ["redis_tables.py", "herd", bad], []),
    ("redis_tables_stores", lambda bad, tmp: ["redis_tables.py", "stores", bad], []),
    ("redis_tables_rows", lambda bad, tmp: ["redis_tables.py", "rows", "--rows-json", bad,
                                            "--pickle-redis-json", bad], []),
    ("make_results_stores", _make_results("stores.json"), ["results/README.md"]),
    ("make_results_rows", _make_results("rows.json"), ["results/README.md"]),
]


def check_reader(reader, bad, tmp_path, runner):
    _, make_argv, outputs = reader
    path = materialize(bad, tmp_path)
    argv = make_argv(path, str(tmp_path))
    if argv is None:
        pytest.skip("not an input for this script")
    # make_results.py reads the suite files of its directory: the copy is what it names.
    named = os.path.join(argv[-1], reader[0].rsplit("_", 1)[1] + ".json") \
        if argv[0] == "make_results.py" else path
    assert_refused(runner(*argv), named)
    for output in outputs:
        assert not os.path.exists(os.path.join(tmp_path, output)), output


@pytest.mark.parametrize("bad", bad_inputs(), ids=os.path.basename)
@pytest.mark.parametrize("reader", READERS, ids=lambda r: r[0])
def test_every_script_refuses_every_bad_input(reader, bad, tmp_path):
    check_reader(reader, bad, tmp_path, run)


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r[0])
def test_every_script_as_a_process_refuses_bad_input(reader, tmp_path):
    # One input per script suffices here: the matrix above covers every shape, and a
    # process costs a Python start-up (seconds on a loaded CI machine).
    check_reader(reader, os.path.join(BAD, "not_utf8.json"), tmp_path, run_process)


def test_the_corpus_covers_the_shapes_the_issue_lists():
    names = set(os.listdir(BAD))
    for required in ("benchmarks_number.json", "null.json", "list_of_number.json",
                     "list_of_object.json", "time_not_number.json", "counter_not_number.json",
                     "context_list.json", "not_utf8.json"):
        assert required in names


def test_the_good_files_pass_the_reader():
    for name in os.listdir(DATA):
        if name.endswith(".json"):
            benchjson.load(good(name))
    results = os.path.join(os.path.dirname(SCRIPTS), "results")
    for name in sorted(os.listdir(results)) if os.path.isdir(results) else []:
        if name.endswith(".json"):
            benchjson.load(os.path.join(results, name))  # real Google Benchmark output passes


# ------------------------------------------------------------------------------ outputs

def a_file(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    return str(blocker)


def test_plot_refuses_an_output_directory_it_cannot_make(tmp_path):
    target = os.path.join(a_file(tmp_path), "plots")
    assert_refused(run("plot.py", good("stores_run.json"), "--out", target), target)


def test_plot_refuses_an_output_that_is_a_file(tmp_path):
    target = a_file(tmp_path)
    assert_refused(run("plot.py", good("stores_run.json"), "--out", target), target)


def test_rows_table_refuses_an_unwritable_markdown(tmp_path):
    target = os.path.join(a_file(tmp_path), "rows.md")
    assert_refused(run("rows_table.py", "--rows-json", good("rows_run.json"), "--markdown", target),
                   target)


def test_rows_table_writes_no_markdown_when_the_plot_fails(tmp_path):
    markdown = tmp_path / "rows.md"
    plot = os.path.join(a_file(tmp_path), "rows.png")
    assert_refused(run("rows_table.py", "--rows-json", good("rows_run.json"), "--markdown",
                       str(markdown), "--plot", plot), plot)
    assert not markdown.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["a_file"]  # no temporaries left either


def test_rows_table_plot_that_is_a_directory(tmp_path):
    markdown = tmp_path / "rows.md"
    plot = tmp_path / "rows.png"
    plot.mkdir()
    assert_refused(run("rows_table.py", "--rows-json", good("rows_run.json"), "--markdown",
                       str(markdown), "--plot", str(plot)), str(plot))
    assert not markdown.exists()


def test_make_results_refuses_an_unwritable_readme(tmp_path):
    (tmp_path / "README.md").mkdir()
    shutil.copyfile(good("stores_run.json"), tmp_path / "stores.json")
    assert_refused(run("make_results.py", "--mode", "quick", str(tmp_path)),
                   str(tmp_path / "README.md"))


def test_make_results_refuses_a_markdown_page_that_is_not_utf8(tmp_path):
    (tmp_path / "races.md").write_bytes(b"# races\n\xff\xfe\n")
    assert_refused(run("make_results.py", "--mode", "quick", str(tmp_path)),
                   str(tmp_path / "races.md"))
    assert not (tmp_path / "README.md").exists()


def test_make_results_refuses_a_missing_directory(tmp_path):
    target = str(tmp_path / "nope")
    assert_refused(run("make_results.py", "--mode", "quick", target), target)


def test_pickle_baseline_refuses_an_unwritable_output_before_measuring(tmp_path):
    target = os.path.join(a_file(tmp_path), "pickle.json")
    result = run("pickle_baseline.py", "--rows", "1k", "--repetitions", "1", "--out", target)
    assert_refused(result, os.path.dirname(target))
    assert "repetition" not in result.stderr  # refused before measuring anything


def test_pickle_baseline_refuses_an_output_that_is_a_directory(tmp_path):
    assert_refused(run("pickle_baseline.py", "--rows", "1k", "--repetitions", "1", "--out",
                       str(tmp_path)), str(tmp_path))


# -------------------------------------------------------------------------- compare.py

@pytest.mark.parametrize("alpha", ["5", "nan", "0", "1", "-0.1", "inf", "five"])
def test_compare_runs_refuses_an_alpha_outside_0_1(alpha):
    result = run("compare.py", "runs", good("before.json"), good("after.json"), "--alpha", alpha)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--alpha" in result.stderr and alpha in result.stderr


def test_compare_runs_names_the_metrics_it_knows():
    result = run("compare.py", "runs", good("before.json"), good("after.json"), "--metric", "speed")
    assert_refused(result, "unknown metric 'speed'")
    assert "real_time" in result.stderr and "cpu_time" in result.stderr


def test_compare_engines_names_the_metrics_it_knows():
    result = run("compare.py", "engines", good("stores_run.json"), "--metric", "speed")
    assert_refused(result, good("stores_run.json"))
    assert "unknown metric 'speed'" in result.stderr and "ops" in result.stderr


def test_compare_runs_prints_units():
    result = run("compare.py", "runs", good("before.json"), good("after.json"))
    assert result.returncode == 0, result.stderr
    assert "µs" in result.stdout or " ns" in result.stdout


def test_compare_runs_says_inconclusive_with_too_few_repetitions():
    # 3 against 3 repetitions: no two-sided U test can reach p < 0.05 (the smallest p is
    # 0.1), so "no significant change" says nothing; it used to print "same".
    result = run("compare.py", "runs", good("three_reps.json"), good("three_reps.json"))
    assert result.returncode == 0, result.stderr
    line = next(l for l in result.stdout.splitlines() if l.startswith("BM_copy/1024"))
    assert "inconclusive" in line and " same " not in line
    # 3 against 9 can reach it: a real verdict.
    result = run("compare.py", "runs", good("three_reps.json"), good("before.json"))
    line = next(l for l in result.stdout.splitlines() if l.startswith("BM_copy/1024"))
    assert "better" in line
    result = run("compare.py", "runs", good("aggregates_only.json"), good("before.json"))
    line = next(l for l in result.stdout.splitlines() if l.startswith("BM_copy/1024"))
    assert "inconclusive" in line
