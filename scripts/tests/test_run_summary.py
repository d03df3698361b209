"""Tests of scripts/summary.py (the screen scripts/run ends on) and scripts/progress.py
(the progress line of every step), on golden JSON (data/) and a fake benchmark binary."""

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
PYTHON = "/usr/bin/python3"


def run_dir(tmp_path, files):
    """A run's output directory holding the golden files under their run names."""
    for target, source in files.items():
        shutil.copy(os.path.join(DATA, source), tmp_path / target)
    return tmp_path


def summary(directory, *extra):
    return subprocess.run([PYTHON, os.path.join(SCRIPTS, "summary.py"), str(directory), *extra],
                          capture_output=True, text=True, check=False)


def test_summary_judges_the_targets_and_names_the_fastest_engine(tmp_path):
    directory = run_dir(tmp_path, {"rows.json": "rows_run.json", "pickle.json": "pickle_run.json",
                                   "races.json": "races_run.json",
                                   "stores.json": "stores_run.json"})
    done = summary(directory, "--command", "scripts/run --quick", "--time", "build=95",
                   "--time", "rows=100")
    assert done.returncode == 0, done.stderr
    screen = done.stdout
    assert screen.startswith("=== scripts/run --quick: done in 3:15")
    assert "build 1:35, rows 1:40" in screen
    assert "cache_data first ≤ 1/3 of pickle.dumps" in screen
    assert "targets met at every size" in screen
    assert "Races:" in screen and "Stores:" in screen
    assert "Fastest engine by median ops/s" in screen
    assert f"Files in {directory}/:" in screen
    # One screen: it must fit a terminal without scrolling.
    assert len(screen.splitlines()) <= 50


def test_summary_counts_failed_checks(tmp_path):
    directory = run_dir(tmp_path, {"stores.json": "stores_run.json"})
    with open(directory / "stores.json", encoding="utf-8") as handle:
        data = json.load(handle)
    broken = data["benchmarks"][0]
    broken.update({"error_occurred": True, "error_message": "checksum mismatch"})
    with open(directory / "stores.json", "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    screen = summary(directory, "--failed", "stores").stdout
    assert "FAILED: stores" in screen
    assert "failed a check ✗" in screen


def test_summary_reports_missing_and_broken_files_without_a_traceback(tmp_path):
    (tmp_path / "stores.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "races.json").write_text('{"benchmarks": 3}', encoding="utf-8")
    (tmp_path / "rows.json").write_bytes(b"\xff\xfe")
    done = summary(tmp_path)
    assert done.returncode == 0
    assert "Traceback" not in done.stdout + done.stderr
    assert "rows: no summary" in done.stdout
    assert "races: no summary" in done.stdout and "not a list" in done.stdout
    assert "stores: no summary" in done.stdout and "not valid JSON" in done.stdout


def test_summary_of_an_empty_directory_says_each_suite_did_not_finish(tmp_path):
    done = summary(tmp_path)
    assert done.returncode == 0
    assert done.stdout.count("did not finish") == 3


def test_summary_refuses_a_missing_directory_and_a_bad_time(tmp_path):
    done = summary(tmp_path / "nowhere")
    assert done.returncode == 2 and "no such directory" in done.stderr
    done = summary(tmp_path, "--time", "build=soon")
    assert done.returncode == 2 and "STEP=SECONDS" in done.stderr
    assert "Traceback" not in done.stderr


FAKE_BENCHMARK = textwrap.dedent("""\
    #!/bin/sh
    # Lists three benchmarks, or runs them as memo's binaries print them.
    for arg in "$@"; do
      if [ "$arg" = "--benchmark_list_tests=true" ]; then
        printf 'fake/a/real_time\\nfake/b/real_time\\nfake/c/real_time\\n'; exit 0
      fi
    done
    echo "[    0.0 s] fake/a"
    echo "fake/a/real_time_median   1 ms   1 ms   3"
    echo "[    0.1 s] fake/b"
    echo "fake/b/real_time   ERROR OCCURRED: 'wrong checksum'"
    echo "[    0.2 s] fake/c"
    echo "fake/c/real_time   1 ms   1 ms   3"
    exit "${FAKE_STATUS:-0}"
    """)


def fake_binary(tmp_path):
    path = tmp_path / "fake_bench"
    path.write_text(FAKE_BENCHMARK, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def progress(tmp_path, *command, env=None):
    return subprocess.run([PYTHON, os.path.join(SCRIPTS, "progress.py"), "--label", "fake",
                           "--log", str(tmp_path / "logs" / "fake.log"), *command],
                          capture_output=True, text=True, check=False,
                          env=dict(os.environ, **(env or {})))


def test_progress_counts_benchmarks_logs_everything_and_shows_errors(tmp_path):
    done = progress(tmp_path, "--benchmarks", "--", fake_binary(tmp_path))
    assert done.returncode == 0
    assert done.stdout == ""
    assert "fake: done, 3 benchmarks" in done.stderr
    assert "ERROR OCCURRED: 'wrong checksum'" in done.stderr  # shown as it happened
    log = (tmp_path / "logs" / "fake.log").read_text(encoding="utf-8")
    assert "fake/c/real_time   1 ms" in log and "# exit status 0" in log


def test_progress_passes_the_exit_status_and_shows_the_last_lines(tmp_path):
    done = progress(tmp_path, "--benchmarks", "--", fake_binary(tmp_path), env={"FAKE_STATUS": "3"})
    assert done.returncode == 3
    assert "FAILED (exit status 3)" in done.stderr
    assert "fake/c/real_time" in done.stderr
    assert "whole output:" in done.stderr


def test_progress_reads_ninja_steps_and_refuses_a_missing_command(tmp_path):
    script = "echo '[1/4] Building a'; echo '[4/4] Linking b'"
    done = progress(tmp_path, "--ninja", "--", "sh", "-c", script)
    assert done.returncode == 0 and "fake: done, 4 steps" in done.stderr
    done = progress(tmp_path, "--", str(tmp_path / "no_such_program"))
    assert done.returncode == 127 and "cannot run" in done.stderr
    done = progress(tmp_path)
    assert done.returncode == 2 and "no COMMAND" in done.stderr
    assert "Traceback" not in done.stderr
