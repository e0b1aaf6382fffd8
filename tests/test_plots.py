"""Figures are tested on what they draw (artists and their data), never on pixels."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import servqual as sq  # noqa: E402
from servqual import plots  # noqa: E402
from servqual.plots import COLORS  # noqa: E402
from servqual.scoring import rating_distribution  # noqa: E402

from .conftest import SAMPLE, SQ_COLUMNS  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def core():
    return sq.read_survey(SAMPLE / "library-core-2007.csv", "library-core-22", id="respondent_id",
                          segments=["segment"], year=2007, comments="comment")


@pytest.fixture(scope="module")
def cycles():
    return [sq.read_survey(SAMPLE / f"library-{y}.csv", "servqual-22", columns=SQ_COLUMNS, id="respondent_id",
                           segments=["segment", "branch"], year=y, comments="comment" if y == 2007 else None)
            for y in (2005, 2006, 2007)]


def same_color(a, b) -> bool:
    return np.allclose(mcolors.to_rgba(a)[:3], mcolors.to_rgba(b)[:3])


def by_gid(ax, gid):
    found = [a for a in ax.get_children() if a.get_gid() == gid]
    assert found, f"nothing drawn with gid {gid!r}"
    return found[0]


def drawn(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def boxes_overlap(boxes) -> list:
    return [(i, j) for i, a in enumerate(boxes) for j, b in enumerate(boxes) if i < j and a.overlaps(b)]


def at_spokes(line, theta) -> np.ndarray:
    """A radar line's radius at each spoke angle (the line may be drawn on a finer grid)."""
    xy = line.get_xydata()
    return np.array([xy[np.isclose(xy[:, 0] % (2 * np.pi), t, atol=1e-9)][0, 1] for t in theta])


def band_edges(collection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The angles, inner and outer radii of a fill_between band (one polygon)."""
    (path,) = collection.get_paths()
    v = path.vertices
    n = (len(v) - 2) // 2
    forward, backward = v[1 : n + 1], v[n + 2 : 2 * n + 2][::-1]
    assert np.allclose(forward[:, 0], backward[:, 0])
    return forward[:, 0], forward[:, 1], backward[:, 1]


def words_kept(label: str, text: str) -> bool:
    """A wrapped label keeps whole words of ``text``, in order, lines split at spaces."""
    words = label.replace("…", "").split()
    return text.split()[: len(words)] == words or " ".join(text.split()).startswith(" ".join(words))


# ----------------------------------------------------------------------------- radar
def test_radar_three_column_bands_tile_between_the_curves(core):
    table = sq.gap_table(core, "item")
    ax = plots.plot_radar(table, instrument=core.instrument, title="All respondents 2007")
    assert ax.name == "polar"
    inst = core.instrument
    units = [i for items in inst.dimensions.values() for i in items]  # grouped by dimension
    labels = [t for t in ax.texts if (t.get_gid() or "").startswith("label:")]
    assert [t.get_gid()[6:] for t in labels] == units
    for t, u in zip(labels, units):  # code, then the item text wrapped at word boundaries
        code, _, rest = t.get_text().partition("\n")
        assert code == u and words_kept(rest, inst.items[u].text)
    theta = np.linspace(0, 2 * np.pi, len(units), endpoint=False)
    frame = table.set_index("item").loc[units]
    lines = {m: by_gid(ax, m) for m in ("minimum", "desired", "perceived")}
    for m, line in lines.items():
        np.testing.assert_allclose(at_spokes(line, theta), frame[m])
        assert same_color(line.get_color(), plots.MEASURE_COLORS["performance" if m == "perceived" else
                                                                  "minimum" if m == "minimum" else "standard"])
    layers = {key: by_gid(ax, key) for key in ("shortfall", "meets", "to_desired", "exceeds")}
    for key, coll in layers.items():
        assert same_color(coll.get_facecolor()[0], plots.STATUS_COLORS[key]), key
    # every band lies between the drawn curves, and together they fill the envelope without gaps
    angles, _, _ = band_edges(layers["meets"])
    curve = {m: np.interp(angles, line.get_xdata(), line.get_ydata()) for m, line in lines.items()}
    low = np.minimum(curve["perceived"], curve["minimum"])
    high = np.maximum(curve["perceived"], curve["desired"])
    total = np.zeros_like(angles)
    for key, coll in layers.items():
        a, inner, outer = band_edges(coll)
        np.testing.assert_allclose(a, angles)
        assert (inner >= low - 1e-9).all() and (outer <= high + 1e-9).all() and (outer >= inner - 1e-12).all(), key
        total += outer - inner
    np.testing.assert_allclose(total, high - low, atol=1e-9)
    # the shortfall band is exactly where perceived is under the minimum
    _, inner, outer = band_edges(layers["shortfall"])
    np.testing.assert_allclose(outer - inner, np.clip(curve["minimum"] - curve["perceived"], 0, None), atol=1e-9)
    # a crossing is a vertex: the band closes exactly where the curves meet
    d = curve["perceived"] - curve["minimum"]
    assert (np.abs(d[np.nonzero(np.sign(d[:-1]) != np.sign(d[1:]))[0]]).min() < 1e-3)
    # legend: no empty entry (nothing exceeds desired here)
    assert not (frame["perceived"] > frame["desired"]).any()
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert not any("above desired" in t for t in texts) and any("below minimum" in t for t in texts)
    assert "zone of tolerance" in plots.alt_text(ax)
    # n in the title; title, item labels and dimension names clear of one another
    assert ax.get_title() == f"All respondents 2007 (n = {int(table['n'].max()):,})"
    renderer = drawn(ax.figure)
    dims = [t for t in ax.texts if (t.get_gid() or "").startswith("dimension:")]
    assert {t.get_text() for t in dims} == {"Service affect", "Information control", "Library as place"}
    outer_text = labels + dims
    boxes = [t.get_window_extent(renderer) for t in outer_text]
    assert boxes_overlap(boxes) == []
    title = ax.title.get_window_extent(renderer)
    assert not any(title.overlaps(b) for b in boxes)
    assert not any(ax.get_legend().get_window_extent(renderer).overlaps(b) for b in boxes)


def test_radar_expectation_perception_and_hue(cycles):
    survey = cycles[0]
    table = sq.gap_table(survey, "item", by="segment")
    pg = table[table["segment"] == "postgraduate"]
    ax = plots.plot_radar(pg, instrument=survey.instrument, title="Postgraduates radar chart 2005")
    units = [i for its in survey.instrument.dimensions.values() for i in its]
    theta = np.linspace(0, 2 * np.pi, len(units), endpoint=False)
    frame = pg.set_index("item").loc[units]
    np.testing.assert_allclose(at_spokes(by_gid(ax, "expectation"), theta), frame["expectation"])
    np.testing.assert_allclose(at_spokes(by_gid(ax, "perception"), theta), frame["perception"])
    assert same_color(by_gid(ax, "shortfall").get_facecolor()[0], COLORS["shortfall"])
    assert ax.get_title() == f"Postgraduates radar chart 2005 (n = {int(pg['n'].max())})"
    assert ax.get_ylim() == (1, 7)
    # every legend entry names something drawn: nothing exceeds expectations, so no "exceeds" entry
    entries = [t.get_text() for t in ax.get_legend().get_texts()]
    assert entries[0] == "shortfall (perception below expectation)" and len(entries) == 3
    assert not any("exceeds" in t for t in entries)
    fig = plots.plot_radar(pg, instrument=survey.instrument, aligned=True)
    assert len(fig.axes) == 2 and fig.axes[0].name == "polar" and fig.axes[1].name == "rectilinear"
    assert "aligned" in plots.alt_text(fig)
    # one measure: that measure's line, on the rating scale
    ax3 = plots.plot_radar(pg, instrument=survey.instrument, value="perception")
    np.testing.assert_allclose(at_spokes(by_gid(ax3, "perception"), theta), frame["perception"])
    assert not [c for c in ax3.collections if c.get_gid() == "shortfall"]


def test_radar_segments_as_small_multiples_with_one_legend(cycles):
    survey = cycles[0]
    table = sq.gap_table(survey, "item", by="segment")
    fig = plots.plot_radar(table, instrument=survey.instrument, col="segment", col_wrap=2, title="Radar 2005")
    assert len(fig.axes) == 4 and all(a.name == "polar" for a in fig.axes)
    assert all(a.get_legend() is None for a in fig.axes) and len(fig.legends) == 1
    titles = [a.get_title() for a in fig.axes]
    for level, t in zip(pd.unique(table["segment"]), titles):
        assert t == f"{level} (n = {int(table.loc[table.segment == level, 'n'].max()):,})"
    renderer = drawn(fig)
    for a in fig.axes:  # codes only in small multiples, still clear of each other and of the title
        texts = [t for t in a.texts if (t.get_gid() or "").split(":")[0] in ("label", "dimension")]
        boxes = [t.get_window_extent(renderer) for t in texts]
        assert boxes_overlap(boxes) == []
        assert not any(a.title.get_window_extent(renderer).overlaps(b) for b in boxes)


def test_gap_radar_draws_gaps_around_a_zero_ring(cycles):
    survey = cycles[0]
    dims = sq.gap_table(survey, "dimension", by="segment")
    ax = plots.plot_radar(dims, instrument=survey.instrument, hue="segment", value="gap")
    zero = by_gid(ax, "zero")
    assert np.allclose(zero.get_ydata(), 0)
    low, high = ax.get_ylim()
    assert low < dims["gap"].min() and high > 0  # not the 1–7 rating scale
    series = [line for line in ax.lines if (line.get_gid() or "").startswith("series:")]
    assert [line.get_label() for line in series] == list(pd.unique(dims["segment"]))
    units = list(survey.instrument.dimensions)
    for line in series:
        part = dims[dims["segment"] == line.get_label()].set_index("dimension").loc[units]
        np.testing.assert_allclose(line.get_ydata()[:-1], part["gap"])
    assert len({line.get_color() for line in series}) == 4
    assert not any(same_color(line.get_color(), c) for line in series for c in plots.STATUS_COLORS.values())


def test_profile_is_the_aligned_alternative(cycles):
    survey = cycles[0]
    table = sq.gap_table(survey, "dimension")
    ax = plots.plot_profile(table, instrument=survey.instrument)
    perception = [c for c in ax.collections if c.get_label() == "perception"][0]
    np.testing.assert_allclose(perception.get_offsets()[:, 0], table["perception"])
    # shortfall segments are vermillion
    assert all(same_color(line.get_color(), COLORS["shortfall"]) for line in ax.get_lines())


# ----------------------------------------------------------------------------- gaps
def test_gap_bars_coloured_by_interval_with_n_once(cycles):
    survey = cycles[0]
    table = sq.gap_table(survey, "dimension")
    ax = plots.plot_gaps(table, instrument=survey.instrument, title="Gaps 2005")
    bars = ax.patches
    assert len(bars) == 5
    widths = np.array([b.get_width() for b in sorted(bars, key=lambda b: -b.get_y())])
    assert sorted(widths) == sorted(table["gap"])
    assert (np.diff(widths) > 0).all()  # largest shortfall at the top
    for bar in bars:
        row = table[np.isclose(table["gap"], bar.get_width())].iloc[0]
        key = ("shortfall" if row["gap_ci_high"] < 0 else "exceeds" if row["gap_ci_low"] > 0 else "meets")
        assert same_color(bar.get_facecolor(), plots.STATUS_COLORS[key]) and bar.get_gid() == f"status:{key}"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(labels) == sorted(survey.instrument.dimension_label(d) for d in table["dimension"])  # no n per bar
    subtitle = by_gid(ax, "subtitle").get_text()
    assert subtitle == f"n = {table['n'].min():,}–{table['n'].max():,} per dimension" or subtitle == \
        f"n = {table['n'].min():,}"
    # whiskers span each dimension's confidence interval, at its bar, and the caption says so
    segments = [c for c in ax.collections if len(c.get_segments()) == 5][0].get_segments()
    whiskers = {round(s[0][1]): (min(s[:, 0]), max(s[:, 0])) for s in segments}
    for bar in bars:
        row = table[np.isclose(table["gap"], bar.get_width())].iloc[0]
        y = round(bar.get_y() + bar.get_height() / 2)
        np.testing.assert_allclose(whiskers[y], (row["gap_ci_low"], row["gap_ci_high"]))
    assert "negative = shortfall" in ax.get_xlabel()
    assert "Whiskers: 95% confidence interval" in ax.get_xlabel()
    renderer = drawn(ax.figure)
    assert not ax.title.get_window_extent(renderer).overlaps(by_gid(ax, "subtitle").get_window_extent(renderer))


def test_item_bars_grouped_by_dimension_with_whole_words(cycles):
    survey = cycles[0]
    inst = survey.instrument
    table = sq.gap_table(survey, "item")
    table.loc[table["item"] == "E3", "n"] = 500  # one item answered by far fewer: it states its own n
    ax = plots.plot_gaps(table, instrument=inst)
    ticks = ax.get_yticklabels()
    headers = [t.get_text() for t in ticks if t.get_fontweight() == "bold"]
    assert sorted(headers) == sorted(inst.dimension_label(d) for d in inst.dimensions)
    # reading top to bottom: each header, then only its own items, worst first
    order = [t.get_text().replace("\u00a0", " ") for t in sorted(ticks, key=lambda t: -t.get_position()[1])]
    current, seen = None, []
    gaps = table.set_index("item")["gap"]
    for text in order:
        if text in headers:
            current = next(d for d in inst.dimensions if inst.dimension_label(d) == text)
            seen = []
            continue
        code = text.split()[0]
        assert inst.dimension_of(code) == current
        seen.append(gaps[code])
        assert seen == sorted(seen)
        body = text.replace("\n", " ").split(" (n = ")[0]
        assert "\n" not in text or all(line.strip() for line in text.split("\n"))
        assert words_kept(body, f"{code} {inst.items[code].text.rstrip('.')}"), text  # never cut mid-word
        assert len(text.split("\n")) <= 2
        if code == "E3":
            assert text.endswith("(n = 500)")
        else:
            assert "(n =" not in text
    assert by_gid(ax, "subtitle").get_text().startswith("n = 1,1")


def test_gap_dots_for_several_groups_share_one_axis(cycles):
    survey = cycles[0]
    dims = sq.gap_table(survey, "dimension", by="segment")
    ax = plots.plot_gaps(dims, instrument=survey.instrument, hue="segment")
    assert len(ax.figure.axes) == 1
    series = [c for c in ax.containers]
    assert len(series) == 4
    for container, level in zip(series, pd.unique(dims["segment"])):
        part = dims[dims["segment"] == level]
        np.testing.assert_allclose(sorted(container.lines[0].get_xdata()), sorted(part["gap"]))
    assert [t.get_text().split(" (n")[0] for t in ax.get_legend().get_texts()] == list(pd.unique(dims["segment"]))
    assert ax.get_xlim()[0] < 0 < ax.get_xlim()[1]


def test_gap_bars_facets_and_presentation_sign():
    survey = sq.read_survey(SAMPLE / "client-ipa-2007.csv", "importance-performance", id="respondent_id",
                            segments=["segment"])
    table = sq.gap_table(survey, "dimension", by="segment")
    fig = plots.plot_gaps(table, instrument=survey.instrument, col="segment")
    assert len(fig.axes) == 4
    ax = fig.axes[0]
    part = table[table["segment"] == ax.get_title()]
    # Rodski/Insync reports print importance − performance: shortfalls are positive bars
    np.testing.assert_allclose(sorted(b.get_width() for b in ax.patches), sorted(-part["gap"]))
    assert all(b.get_width() > 0 for b in ax.patches)
    assert all(same_color(b.get_facecolor(), COLORS["shortfall"]) for b in ax.patches)
    assert all(a.get_xlabel() == "" for a in fig.axes)  # the axis is named once, for the figure
    assert "positive = shortfall" in fig.get_supxlabel()
    assert len(fig.legends) == 1 and all(a.get_legend() is None for a in fig.axes)


# ----------------------------------------------------------------------------- zone of tolerance
def test_zone_of_tolerance(core):
    table = sq.gap_table(core, "item")
    ax = plots.plot_zone_of_tolerance(table, instrument=core.instrument)
    frame = table.set_index("item").loc[[i for its in core.instrument.dimensions.values() for i in its]]
    bars = ax.patches[: len(frame)]
    np.testing.assert_allclose([b.get_x() for b in bars], frame["minimum"])
    np.testing.assert_allclose([b.get_width() for b in bars], frame["desired"] - frame["minimum"])
    below = (frame["perceived"] < frame["minimum"]).to_numpy()
    assert below.any()
    points = {c.get_gid(): c for c in ax.collections if (c.get_gid() or "").startswith("status:")}
    short = points["status:shortfall"]
    np.testing.assert_allclose(sorted(short.get_offsets()[:, 0]), sorted(frame["perceived"][below]))
    assert same_color(short.get_facecolor()[0], plots.STATUS_COLORS["shortfall"])
    assert same_color(points["status:meets"].get_facecolor()[0], plots.STATUS_COLORS["meets"])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert [label.endswith("▼") for label in labels] == list(below)
    # the axis is fitted to the data, not the whole 1–9 scale
    low, high = ax.get_xlim()
    values = frame[["minimum", "desired", "perceived"]].to_numpy()
    assert low <= values.min() and high >= values.max()
    assert low > 1 + 2 and high - low < 5
    with pytest.raises(ValueError, match="asks no minimum and desired levels"):
        plots.plot_zone_of_tolerance(table, instrument="servqual-22")
    fig = plots.plot_zone_of_tolerance(sq.gap_table(core, "item", by="segment"), instrument=core.instrument,
                                       col="segment")
    assert len(fig.axes) == core.respondents["segment"].nunique() and len(fig.legends) == 1


# ----------------------------------------------------------------------------- IPA
@pytest.mark.parametrize("params", ["2005", "ipa-2007", "library-core-2007"])
@pytest.mark.parametrize("size", [(8, 6.5), (5, 4)])
def test_ipa_labels_never_overlap(params, size):
    survey = sq.read_cycle(f"params/{params}.yaml")
    grid = sq.importance_performance(survey)
    ax = plots.plot_ipa(grid, instrument=survey.instrument)
    ax.figure.set_size_inches(*size)  # as a report shrinks it to the page
    renderer = drawn(ax.figure)
    labels = [t for t in ax.texts if (t.get_gid() or "").startswith("label:")]
    assert len(labels) == len(grid)
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert boxes_overlap(boxes) == []
    names = [t.get_window_extent(renderer) for t in ax.texts if (t.get_gid() or "").startswith("quadrant:")]
    assert not any(b.overlaps(n) for b in boxes for n in names)
    # nor does a label cover a point (its own or another)
    points = ax.transData.transform(grid[["performance", "importance"]].to_numpy(float))
    radius = renderer.points_to_pixels(np.sqrt(40) / 2)
    for b in boxes:
        assert not any(b.x0 < px + radius and b.x1 > px - radius and b.y0 < py + radius and b.y1 > py - radius
                       for px, py in points)
    frame = ax.get_window_extent(renderer)
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1 for b in boxes)


def test_ipa_grid(cycles):
    grid = sq.importance_performance(cycles[0])
    ax = plots.plot_ipa(grid, instrument=cycles[0].instrument)
    points = np.vstack([c.get_offsets() for c in ax.collections if (c.get_gid() or "").startswith("quadrant-points:")])
    expected = grid[["performance", "importance"]].to_numpy()
    np.testing.assert_allclose(sorted(map(tuple, points)), sorted(map(tuple, expected)))
    for c in ax.collections:
        if (c.get_gid() or "").startswith("quadrant-points:"):
            name = c.get_gid().split(":", 1)[1]
            assert same_color(c.get_facecolor()[0], plots.QUADRANT_COLORS[name])
    assert by_gid(ax, "x_cross").get_xdata()[0] == pytest.approx(grid["x_cross"].iloc[0])
    assert by_gid(ax, "y_cross").get_ydata()[0] == pytest.approx(grid["y_cross"].iloc[0])
    names = {t.get_text() for t in ax.texts}
    assert {"Concentrate here", "Keep up the good work", "Low priority", "Possible overkill"} <= names
    assert ax.get_title().startswith("Importance and performance (n = ")
    crosshairs = by_gid(ax, "subtitle").get_text()  # the crosshairs explained
    assert crosshairs.startswith("dashed crosshairs: mean performance") and \
        f"{grid['x_cross'].iloc[0]:.2f}" in crosshairs
    assert "stated importance (weights)" == ax.get_ylabel()  # the 100-point allocation: the best stated one
    # possible overkill is not blue: blue means "meets" elsewhere
    assert not same_color(plots.QUADRANT_COLORS["possible overkill"], plots.STATUS_COLORS["meets"])


# ----------------------------------------------------------------------------- heatmap
def test_heatmap_centred_annotated_and_suppressed(cycles):
    survey = cycles[0]
    table = sq.gap_table(survey, "dimension", by="segment", min_group_n=120)
    ax = plots.plot_gap_heatmap(table, instrument=survey.instrument)
    image = ax.get_images()[0]
    assert image.norm.vcenter == 0
    expected = table.pivot(index="segment", columns="dimension", values="gap")[list(survey.instrument.dimensions)]
    np.testing.assert_allclose(np.ma.filled(image.get_array(), np.nan), expected.to_numpy(), equal_nan=True)
    suppressed = [p for p in ax.patches if p.get_gid() == "suppressed"]
    # 5 cells under 120, and 5 more suppressed with them so that none is recoverable from the total
    assert len(suppressed) == int(table["suppressed"].sum()) == 10
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("n < min") == 5 and texts.count("hidden") == 5
    shown = table[~table["suppressed"]]
    assert all(f"{v:+.2f}".replace("-", "\u2212") in texts for v in shown["gap"])  # real minus signs
    # shortfalls are vermillion: the most negative end of the scale is the shortfall colour's hue
    low = image.cmap(image.norm(-1e-3 - image.norm.vmax * 0.5))
    assert low[0] > low[1] > low[2]


@pytest.mark.parametrize("min_n", [10, 120])
def test_heatmap_text_contrast_is_at_least_4_5(cycles, min_n):
    survey = cycles[0]
    for by in ("segment", "branch"):
        ax = plots.plot_gap_heatmap(sq.gap_table(survey, "dimension", by=by, min_group_n=min_n),
                                    instrument=survey.instrument, index=by)
        image = ax.get_images()[0]
        values = np.ma.filled(image.get_array(), np.nan)
        checked = 0
        for text in ax.texts:
            c, r = (round(v) for v in text.get_position())
            if text.get_gid() == "value":
                cell = image.cmap(image.norm(values[r, c]))
            else:
                cell = plots.COLORS["suppressed"]
            assert plots.contrast_ratio(text.get_color(), cell) >= 4.5, (text.get_text(), text.get_color(), cell)
            checked += 1
        assert checked == values.size
    # the check itself can fail: white on mid orange is below 4.5
    assert plots.contrast_ratio("white", "#E69F00") < 4.5


# ----------------------------------------------------------------------------- trend
def test_trend_lines_with_intervals_and_one_legend(cycles):
    trend = sq.trend_table(cycles, by="segment", level="dimension")
    fig = plots.plot_trend(trend, instrument=cycles[0].instrument, col="segment")
    assert len(fig.axes) == 4
    ax = fig.axes[0]
    part = trend[trend["segment"] == ax.get_title()]
    assert len(ax.containers) == 5
    for container, dim in zip(ax.containers, cycles[0].instrument.dimensions):
        line = container.lines[0]
        rows = part[part["dimension"] == dim].sort_values("year")
        np.testing.assert_allclose(np.round(line.get_xdata()), [2005, 2006, 2007])
        assert np.ptp(line.get_xdata() - [2005, 2006, 2007]) < 1e-9  # dodged by a constant
        np.testing.assert_allclose(line.get_ydata(), rows["gap"])
    assert len(fig.legends) == 1 and all(a.get_legend() is None for a in fig.axes)
    assert len({a.get_ylim() for a in fig.axes}) == 1 and all(a.get_ylabel() == "" for a in fig.axes)
    assert "negative = shortfall" in fig.get_supylabel()
    renderer = drawn(fig)
    legend = fig.legends[0].get_window_extent(renderer)
    assert not any(legend.overlaps(a.get_window_extent(renderer)) for a in fig.axes)
    # one panel: the legend sits outside the data area, clear of the zero line
    single = plots.plot_trend(sq.trend_table(cycles, level="dimension"), instrument=cycles[0].instrument)
    renderer = drawn(single.figure)
    assert not single.get_legend().get_window_extent(renderer).overlaps(single.get_window_extent(renderer))
    texts = [single.xaxis.label, single.yaxis.label, *single.get_xticklabels(), *single.get_legend().get_texts()]
    figure_box = single.figure.get_tightbbox(renderer)
    assert all(figure_box.x0 - 1 <= t.get_window_extent(renderer).x0 for t in texts)


# ----------------------------------------------------------------------------- linkage
def test_linkage_shows_the_interval_and_an_unstruck_r():
    from servqual.linkage import link

    result = link(sq.read_cycle("params/staff-hpws-2007.yaml"), sq.read_cycle("params/2007.yaml"))
    ax = plots.plot_linkage(result.units, unit="branch", title="Climate and gaps 2007")
    band = by_gid(ax, "fit_ci")
    fit = by_gid(ax, "fit")
    x, y = fit.get_xdata(), fit.get_ydata()
    (path,) = band.get_paths()
    v = path.vertices
    inside = [(lo_ <= np.interp(xx, x, y) <= hi_) for xx, lo_, hi_ in zip(
        x, np.interp(x, v[1:61, 0], v[1:61, 1]), np.interp(x, v[62:122, 0][::-1], v[62:122, 1][::-1]))]
    assert all(inside)  # the line runs inside its confidence band
    r_text = by_gid(ax, "subtitle")
    assert "95% CI" in r_text.get_text() and r_text.get_text().startswith("r = ")
    renderer = drawn(ax.figure)
    box = r_text.get_window_extent(renderer)
    line_box = fit.get_window_extent(renderer)
    assert not box.overlaps(line_box) and box.y0 >= ax.get_window_extent(renderer).y1 - 1
    labels = [t.get_window_extent(renderer) for t in ax.texts if (t.get_gid() or "").startswith("label:")]
    assert len(labels) == len(result.units) and boxes_overlap(labels) == []


# ----------------------------------------------------------------------------- one colour meaning
def test_one_colour_per_meaning_across_charts(cycles, core):
    survey = cycles[0]
    inst = survey.instrument
    found: dict[str, set] = {}

    def collect(ax):
        for artist in ax.get_children():
            gid = artist.get_gid() or ""
            if gid.startswith("status:") or gid in ("shortfall", "meets", "to_desired", "exceeds"):
                key = gid.split(":")[-1]
                color = artist.get_facecolor() if hasattr(artist, "get_facecolor") else artist.get_color()
                color = np.atleast_2d(color)[0] if not isinstance(color, str) else color
                if isinstance(artist, plt.Line2D):
                    color = artist.get_color()
                found.setdefault(key, set()).add(mcolors.to_hex(color))

    items = sq.gap_table(survey, "item")
    collect(plots.plot_gaps(items, instrument=inst))
    collect(plots.plot_profile(sq.gap_table(survey, "dimension"), instrument=inst))
    collect(plots.plot_radar(items, instrument=inst))
    collect(plots.plot_radar(sq.gap_table(core, "item"), instrument=core.instrument))
    collect(plots.plot_zone_of_tolerance(sq.gap_table(core, "item"), instrument=core.instrument))
    collect(plots.plot_gap_radar(sq.gap_table(survey, "dimension", by="segment"), instrument=inst, hue="segment"))
    assert set(found) >= {"shortfall", "meets", "to_desired"}
    for key, colors in found.items():
        assert colors == {plots.STATUS_COLORS[key].lower()}, (key, colors)
    # categories never borrow a status colour
    assert not set(map(str.lower, plots.SERIES_COLORS)) & set(map(str.lower, plots.STATUS_COLORS.values()))
    assert len(set(plots.STATUS_COLORS.values())) == len(plots.STATUS_COLORS)


# ----------------------------------------------------------------------------- Likert
def test_likert_diverging_bars(core):
    data = rating_distribution(core)
    ax = plots.plot_likert(data, instrument=core.instrument)
    items = [i for items in core.instrument.dimensions.values() for i in items]
    ratings = [p for p in ax.patches if (p.get_gid() or "").startswith("rating:")]
    assert len(ratings) == 9 * len(items)
    share = data.pivot(index="item", columns="rating", values="share").loc[items]
    # per item, the bars add up to all ratings and start where the lower half ends
    widths = np.array([p.get_width() for p in ratings]).reshape(9, len(items))
    np.testing.assert_allclose(widths.sum(axis=0), 1.0)
    np.testing.assert_allclose(widths.T, share.to_numpy())
    lefts = np.array([p.get_x() for p in ratings]).reshape(9, len(items))[0]
    np.testing.assert_allclose(lefts, -(share[[1, 2, 3, 4]].sum(axis=1) + share[5] / 2))
    na = [p for p in ax.patches if p.get_gid() == "not_applicable"]
    np.testing.assert_allclose([p.get_width() for p in na], data.groupby("item")["na_share"].first().loc[items])
    assert all(p.get_x() > 1 for p in na)


# ----------------------------------------------------------------------------- every instrument, bad input
@pytest.mark.parametrize("name, instrument, columns", [
    ("library-2005.csv", "servqual-22", SQ_COLUMNS),
    ("library-core-2007.csv", "library-core-22", None),
    ("client-ipa-2007.csv", "importance-performance", None),
    ("staff-hpws-2007.csv", "hpws-staff", None),
])
def test_every_figure_renders_for_every_instrument(name, instrument, columns):
    survey = sq.read_survey(SAMPLE / name, instrument, columns=columns, id="respondent_id",
                            segments=["branch"], year=2007, comments="comment" if "core" in name else None)
    inst = survey.instrument
    drawn = []
    items = sq.gap_table(survey, "item")
    dims = sq.gap_table(survey, "dimension", by="branch", min_group_n=10)
    drawn.append(plots.plot_radar(items, instrument=inst))
    drawn.append(plots.plot_profile(items, instrument=inst))
    drawn.append(plots.plot_likert(rating_distribution(survey), instrument=inst))
    drawn.append(plots.plot_gap_heatmap(dims, instrument=inst, index="branch"))
    if inst.gaps:
        drawn.append(plots.plot_gaps(items, instrument=inst))
    else:
        with pytest.raises(ValueError, match="has no gaps to draw"):
            plots.plot_gaps(items, instrument=inst)
    if {"minimum", "desired"} <= set(inst.measures):
        drawn.append(plots.plot_zone_of_tolerance(items, instrument=inst))
    if sq.ipa.stated_importance_source(inst) is not None:
        drawn.append(plots.plot_ipa(sq.importance_performance(survey), instrument=inst))
    for ax in drawn:
        assert isinstance(plots.alt_text(ax), str) and len(plots.alt_text(ax)) > 20
        ax.figure.canvas.draw()  # renders without error


def test_bad_input_gets_clear_errors(cycles):
    survey = cycles[0]
    table = sq.gap_table(survey, "dimension", by="segment")
    inst = survey.instrument
    with pytest.raises(ValueError, match="several rows per dimension"):
        plots.plot_radar(table, instrument=inst)
    with pytest.raises(ValueError, match="lacks column\\(s\\) 'segmnt'"):
        plots.plot_radar(table, instrument=inst, hue="segmnt")
    with pytest.raises(ValueError, match="data is empty"):
        plots.plot_gaps(table.iloc[:0], instrument=inst)
    with pytest.raises(ValueError, match="lacks column\\(s\\) 'gap_ci_low'"):
        plots.plot_gaps(table.drop(columns="gap_ci_low"), instrument=inst, col="segment")
    with pytest.raises(ValueError, match="needs a polar Axes"):
        _, ax = plt.subplots()
        plots.plot_radar(table[table["segment"] == "postgraduate"], instrument=inst, ax=ax)
    with pytest.raises(ValueError, match="instrument= is needed"):
        plots.plot_gaps(table, instrument=None)
    with pytest.raises(TypeError, match="takes a pandas DataFrame"):
        plots.plot_likert([1, 2], instrument=inst)
    with pytest.raises(ValueError, match="not drawn by servqual.plots"):
        _, ax = plt.subplots()
        plots.alt_text(ax)


def test_functions_draw_on_given_axes_and_return_them(cycles):
    fig, ax = plt.subplots()
    table = sq.gap_table(cycles[0], "dimension")
    assert plots.plot_gaps(table, instrument=cycles[0].instrument, ax=ax) is ax
    assert plt.get_fignums() == [fig.number]
