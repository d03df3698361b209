"""Tests of scripts/compare.py on small golden Google Benchmark JSON files (data/)."""

import json
import os
import stat
import sys

import pytest

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
sys.path.insert(0, SCRIPTS)

import benchjson  # noqa: E402
import compare  # noqa: E402


def data(name):
    return os.path.join(DATA, name)


def ratios(rows):
    return {(w, t, e): r for w, t, e, _, r in rows}


def test_store_names_parse_with_either_timing_segment_or_none():
    match = benchjson.STORES_NAME.match("stores/read_heavy_zipf/mutex_map/manual_time/threads:16")
    assert (match["workload"], match["engine"], match["threads"]) == ("read_heavy_zipf", "mutex_map", "16")
    assert benchjson.STORES_NAME.match("stores/mixed_zipf/cds_map/real_time/threads:4")["threads"] == "4"
    assert benchjson.STORES_NAME.match("stores/hot_key/tbb_map/threads:2")["engine"] == "tbb_map"
    assert benchjson.STORES_NAME.match("rows/memcpy/fresh/rows:10") is None


def test_engine_ratios_are_medians_over_the_baselines_median():
    rows = compare.engine_ratios(benchjson.load(data("stores_run.json")), "mutex_map")
    by_key = ratios(rows)
    assert by_key[("read_heavy_zipf", 1, "mutex_map")] == pytest.approx(1.0)
    assert by_key[("read_heavy_zipf", 1, "sharded_lru")] == pytest.approx(22 / 11)
    assert by_key[("read_heavy_zipf", 1, "libcuckoo")] == pytest.approx(3.0)
    assert by_key[("read_heavy_zipf", 2, "libcuckoo")] == pytest.approx(0.5)
    assert by_key[("read_heavy_zipf", 1, "cds_map")] is None  # its run failed


def test_engine_ratios_with_another_baseline_and_metric():
    rows = compare.engine_ratios(benchjson.load(data("stores_run.json")), "rocksdb_lru", "hit_ratio")
    assert ratios(rows)[("eviction_zipf", 1, "mutex_map")] == pytest.approx(0.78 / 0.76)


def test_engines_table_lists_failures_and_spread(capsys):
    assert compare.main(["engines", data("stores_run.json"), "--baseline", "mutex_map"]) == 0
    out = capsys.readouterr().out
    assert "ratio to mutex_map (higher is better)" in out
    assert "error: 3 gets returned the entry of another key (1 of 1 repetitions failed)" in out
    assert "20.00M/s .. 24.00M/s" in out


def test_a_partly_failed_benchmark_reports_no_figure():
    found = benchjson.stores_series(benchjson.load(data("stores_run.json")), "ops")
    partly = found[benchjson.StoresKey("resource_read_heavy_zipf", "sharded_lru", 1)]
    assert partly.values == []
    assert partly.error == ("engine holds 999999 entries after the run, expected 1000000 "
                            "(1 of 3 repetitions failed)")


def test_engines_markdown_format(capsys):
    assert compare.main(["engines", data("stores_run.json"), "--format", "markdown"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("|---|")


def test_unknown_baseline_is_an_error(capsys):
    assert compare.main(["engines", data("stores_run.json"), "--baseline", "nosuch"]) == 2
    assert "baseline 'nosuch' is not in this run" in capsys.readouterr().err


def test_not_benchmark_json_is_an_error(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2, 3]")
    assert compare.main(["engines", str(bad)]) == 2
    assert "expected a JSON object with a 'benchmarks' list, found a list" in capsys.readouterr().err
    assert compare.main(["engines", str(tmp_path / "missing.json")]) == 2


def test_runs_finds_a_real_change_and_no_change():
    rows = compare.compare_runs(benchjson.load(data("before.json")), benchjson.load(data("after.json")))
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == {"BM_copy/1024", "BM_same/8"}
    copy = by_name["BM_copy/1024"]
    assert copy["metric"] == "real_time"
    assert copy["change"] == pytest.approx(154 / 104 - 1)  # microseconds converted to ns
    assert copy["p_value"] < 0.001
    assert compare.verdict(copy, 0.05) == "worse"
    same = by_name["BM_same/8"]
    assert same["p_value"] > 0.5
    assert compare.verdict(same, 0.05) == "same"


def test_runs_says_when_the_u_test_cannot_run(capsys):
    assert compare.main(["runs", data("aggregates_only.json"), data("before.json")]) == 0
    assert "U test skipped: only medians kept" in capsys.readouterr().out


def test_runs_says_when_repetitions_cannot_reach_alpha():
    rows = compare.compare_runs(benchjson.load(data("three_reps.json")),
                                benchjson.load(data("before.json")))
    assert rows[0]["p_value"] is not None
    assert "few repetitions" in rows[0]["note"]
    assert compare.smallest_two_sided_p(3, 3) == pytest.approx(0.1)
    _, note = compare.utest([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], 0.05)
    assert "cannot reach alpha=0.05" in note
    assert compare.utest([1.0], [2.0, 3.0], 0.05)[0] is None


def test_runs_with_nothing_in_common_is_an_error(capsys):
    assert compare.main(["runs", data("stores_run.json"), data("before.json")]) == 2
    assert "no benchmark in common" in capsys.readouterr().err


def test_runs_accepts_a_benchmark_binary(tmp_path, capsys):
    # A stand-in binary: writes the golden "after" run where --benchmark_out says.
    fake = tmp_path / "fake_bench"
    fake.write_text(
        "#!/usr/bin/python3\n"
        "import shutil, sys\n"
        "out = [a.split('=', 1)[1] for a in sys.argv if a.startswith('--benchmark_out=')][0]\n"
        "assert '--extra=1' in sys.argv\n"
        f"shutil.copy({data('after.json')!r}, out)\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    assert compare.main(["runs", data("before.json"), str(fake), "--", "--extra=1"]) == 0
    out = capsys.readouterr().out
    assert "BM_copy/1024" in out and "+48.1%" in out


def test_failing_binary_is_an_error(tmp_path, capsys):
    fake = tmp_path / "broken_bench"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    assert compare.main(["runs", str(fake), data("after.json")]) == 2
    assert "exited with status 3" in capsys.readouterr().err


def test_golden_files_are_google_benchmark_json():
    for name in os.listdir(DATA):
        if not name.endswith(".json"):
            continue  # data/bad/ holds the bad-input corpus (test_bad_inputs.py)
        with open(data(name), encoding="utf-8") as handle:
            parsed = json.load(handle)
        assert "context" in parsed and parsed["benchmarks"], name
