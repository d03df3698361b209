"""Every results page says what the figures were built from (git commit, compiler,
flags) beside the machine, and says how many repetitions its medians are over in
words that read right."""

import json
import os
import shutil
import sys

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
sys.path.insert(0, SCRIPTS)

import benchjson  # noqa: E402
import make_results  # noqa: E402
import races_table  # noqa: E402
import rows_table  # noqa: E402
import stores_report  # noqa: E402

COMMIT = "0123456789abcdef0123456789abcdef01234567"
BUILD = {"memo_git_commit": COMMIT, "memo_compiler": "GNU 12.2.0",
         "memo_compile_flags": "-O3 -DNDEBUG -Wall -Wextra -std=c++20 [Release]"}  # as races_run.json


def with_build(name, tmp_path):
    """A golden file with the build recorded in its context, written under tmp_path."""
    data = benchjson.load(os.path.join(DATA, name))
    data["context"].update(BUILD)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_build_line_names_commit_compiler_and_flags():
    line = benchjson.build_line(BUILD)
    assert COMMIT in line and "GNU 12.2.0" in line and "-std=c++20" in line
    assert benchjson.build_line({}) == ""


def test_stores_page_records_the_build(tmp_path):
    text = stores_report.markdown(benchjson.load(with_build("stores_run.json", tmp_path)))
    assert f"built from: commit `{COMMIT}`" in text


def test_races_page_records_the_build(capsys):
    assert races_table.main([os.path.join(DATA, "races_run.json")]) == 0
    assert f"Built from commit `{COMMIT}`; compiler `GNU 12.2.0`" in capsys.readouterr().out


def test_rows_page_records_the_build_and_says_repetitions_plainly(tmp_path):
    out = tmp_path / "rows.md"
    assert rows_table.main(["--rows-json", with_build("rows_run.json", tmp_path), "--pickle-json",
                            os.path.join(DATA, "pickle_run.json"), "--markdown", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert f"built from commit `{COMMIT}`" in text
    assert "Medians of 3 repetitions" in text and "3–3" not in text


def test_repetitions_in_words():
    found = rows_table.Measurements()
    assert found.repetitions_text() == "Medians"
    found.samples = {"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0]}
    assert found.repetitions_text() == "Medians of 2 to 3 repetitions"
    found.samples = {"a": [1.0]}
    assert found.repetitions_text() == "Single runs"


def test_results_page_records_each_build(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    shutil.copyfile(with_build("stores_run.json", tmp_path), results / "stores.json")
    shutil.copyfile(os.path.join(DATA, "races_run.json"), results / "races.json")
    text = make_results.readme(str(results), "quick", "scripts/run --quick")
    assert f"- built from (races.json, stores.json): commit `{COMMIT}`" in text
