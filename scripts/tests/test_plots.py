"""What the figures show: one colour per engine whatever else ran, a mark where the
threads exceed the machine's hardware threads, the races plot, and footnotes without
absolute paths or notes about engines a figure does not show."""

import copy
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
sys.path.insert(0, SCRIPTS)

import benchjson  # noqa: E402
import plot  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def stores():
    return benchjson.load(os.path.join(DATA, "stores_run.json"))


def races():
    return benchjson.load(os.path.join(DATA, "races_run.json"))


def without(data, engine):
    """The run as if `engine` had been skipped."""
    trimmed = copy.deepcopy(data)
    trimmed["benchmarks"] = [b for b in trimmed["benchmarks"] if f"/{engine}/" not in b["name"]]
    return trimmed


def line_colours(figure):
    """{legend label: colour} of every line and error-bar series in the figure."""
    colours = {}
    for axes in figure.axes:
        for line in axes.get_lines():
            if not line.get_label().startswith("_"):
                colours[line.get_label()] = matplotlib.colors.to_hex(line.get_color())
        for container in axes.containers:  # errorbar(): the label is on the container
            if container.get_label() and not container.get_label().startswith("_"):
                colours[container.get_label()] = matplotlib.colors.to_hex(container.lines[0].get_color())
    return colours


def footnotes(figure):
    return " ".join(text.get_text() for text in figure.texts)


def test_a_skipped_engine_shifts_no_colour():
    full = plot.throughput_figure(plt, stores(), "read_heavy_zipf")
    skipped = plot.throughput_figure(plt, without(stores(), "mutex_map"), "read_heavy_zipf")
    before, after = line_colours(full), line_colours(skipped)
    assert "mutex_map" in before and "mutex_map" not in after
    for engine, colour in after.items():
        assert before[engine] == colour, engine
    plt.close("all")


def test_an_engine_has_the_same_colour_in_every_plot():
    seen = {}
    figures = [plot.throughput_figure(plt, stores(), w) for w in ("read_heavy_zipf", "eviction_zipf")]
    figures += [plot.hit_ratio_figure(plt, stores()), plot.races_figure(plt, races())]
    for figure in figures:
        for engine, colour in line_colours(figure).items():
            assert seen.setdefault(engine, colour) == colour, engine
    assert seen["mutex_map"] == benchjson.engine_colour("mutex_map")
    # An engine no table lists still gets a colour, the same one every time.
    assert benchjson.engine_colour("some_new_engine") == benchjson.engine_colour("some_new_engine")
    plt.close("all")


def test_threads_beyond_the_hardware_threads_are_marked():
    data = stores()
    data["context"]["hardware_threads"] = "1"  # the golden run has 1 and 2 threads
    figure = plot.throughput_figure(plt, data, "read_heavy_zipf")
    assert "> 1 hardware threads" in " ".join(t.get_text() for t in figure.axes[0].texts)
    data["context"]["hardware_threads"] = "2"
    figure = plot.throughput_figure(plt, data, "read_heavy_zipf")
    assert not figure.axes[0].texts  # nothing exceeds 2: nothing marked
    plt.close("all")


def test_the_races_suite_has_a_plot(tmp_path):
    written = plot.plot_all(races(), str(tmp_path), os.path.join(DATA, "races_run.json"))
    assert [os.path.basename(p) for p in written] == ["races.png"]
    with open(written[0], "rb") as handle:
        assert handle.read(8) == PNG_MAGIC
    figure = plot.races_figure(plt, races())
    colours = line_colours(figure)
    assert set(colours) == {"mutex_map", "tbb_map"}
    assert "> 2 hardware threads" in " ".join(t.get_text() for a in figure.axes for t in a.texts)
    plt.close("all")


def test_footnotes_hold_no_absolute_path_and_only_notes_that_apply():
    source = os.path.join(DATA, "stores_run.json")  # absolute
    with_rocksdb = plot.throughput_figure(plt, stores(), "read_heavy_zipf", source)
    without_rocksdb = plot.throughput_figure(plt, stores(), "resource_read_heavy_zipf", source)
    assert plot.ROCKSDB_NOTE in footnotes(with_rocksdb)
    assert plot.ROCKSDB_NOTE not in footnotes(without_rocksdb)  # no RocksDB line in it
    for figure in (with_rocksdb, without_rocksdb):
        assert "/" + "work" not in footnotes(figure) and DATA not in footnotes(figure)
        assert "stores_run.json" in footnotes(figure)
    plt.close("all")


def test_rows_plot_footnote_shows_no_absolute_path():
    import rows_table
    table = rows_table.load_table(os.path.join(DATA, "rows_run.json"), os.path.join(DATA, "pickle_run.json"))
    figure = rows_table.make_plot(table, f"scripts/run_rows --full --out {DATA}")
    assert DATA not in footnotes(figure)
    assert "scripts/tests/data" in footnotes(figure)  # shown relative to the repository
    plt.close("all")


def test_display_command_relativizes_paths():
    root = os.path.dirname(SCRIPTS)
    assert benchjson.display_command(f"X={root}/build/bin run --out {root}/results") == \
        "X=build/bin run --out results"
    assert benchjson.display_command("run --out /elsewhere/results") == "run --out results"
