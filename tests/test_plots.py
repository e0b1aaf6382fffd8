"""Figures are tested on what they draw (artists and their data), never on pixels."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

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
                          segments=["segment"], year=2007)


@pytest.fixture(scope="module")
def cycles():
    return [sq.read_survey(SAMPLE / f"library-{y}.csv", "servqual-22", columns=SQ_COLUMNS, id="respondent_id",
                           segments=["segment", "branch"], year=y) for y in (2005, 2006, 2007)]


def same_color(a, b) -> bool:
    return np.allclose(mcolors.to_rgba(a)[:3], mcolors.to_rgba(b)[:3])


def by_gid(ax, gid):
    found = [a for a in ax.get_children() if a.get_gid() == gid]
    assert found, f"nothing drawn with gid {gid!r}"
    return found[0]


def radial_values_at(collection: PolyCollection, angle: float) -> set:
    values = set()
    for path in collection.get_paths():
        v = path.vertices
        hit = np.isclose(v[:, 0], angle, atol=1e-9)
        values |= {round(float(r), 9) for r in v[hit, 1]}
    return values


# ----------------------------------------------------------------------------- radar
def test_radar_three_column_band_spans_minimum_to_desired(core):
    table = sq.gap_table(core, "item")
    ax = plots.plot_radar(table, instrument=core.instrument)
    assert ax.name == "polar"
    units = [i for items in core.instrument.dimensions.values() for i in items]  # grouped by dimension
    assert [t.get_text() for t in ax.get_xticklabels()] == units
    frame = table.set_index("item").loc[units]
    np.testing.assert_allclose(by_gid(ax, "minimum").get_ydata()[:-1], frame["minimum"])
    np.testing.assert_allclose(by_gid(ax, "desired").get_ydata()[:-1], frame["desired"])
    np.testing.assert_allclose(by_gid(ax, "perceived").get_ydata()[:-1], frame["perceived"])
    layers = {key: by_gid(ax, key) for key in ("above_minimum", "below_desired", "below_minimum", "above_desired")}
    for key, coll in layers.items():
        assert same_color(coll.get_facecolor()[0], COLORS[key]), key
    theta = np.linspace(0, 2 * np.pi, len(units), endpoint=False)
    checked = 0
    for angle, (_, row) in zip(theta, frame.iterrows()):
        mn, de, pe = (round(float(row[c]), 9) for c in ("minimum", "desired", "perceived"))
        if mn <= pe <= de:
            # blue from minimum to perceived, yellow from perceived to desired: the whole zone
            assert radial_values_at(layers["above_minimum"], angle) >= {mn, pe}
            assert radial_values_at(layers["below_desired"], angle) >= {pe, de}
            checked += 1
        elif pe < mn:
            assert radial_values_at(layers["below_minimum"], angle) >= {pe, mn}
            assert radial_values_at(layers["below_desired"], angle) >= {mn, de}
            checked += 1
    assert checked == len(units)
    assert "zone of tolerance" in plots.alt_text(ax)
    labels = {t.get_text() for t in ax.texts}
    assert {"Service affect", "Information control", "Library as place"} <= labels


def test_radar_expectation_perception_and_hue(cycles):
    survey = cycles[0]
    table = sq.gap_table(survey, "item", by="segment")
    pg = table[table["segment"] == "postgraduate"]
    ax = plots.plot_radar(pg, instrument=survey.instrument, title="Postgraduates radar chart 2005")
    frame = pg.set_index("item").loc[[i for its in survey.instrument.dimensions.values() for i in its]]
    np.testing.assert_allclose(by_gid(ax, "expectation").get_ydata()[:-1], frame["expectation"])
    np.testing.assert_allclose(by_gid(ax, "perception").get_ydata()[:-1], frame["perception"])
    assert same_color(by_gid(ax, "shortfall").get_facecolor()[0], COLORS["shortfall"])
    assert ax.get_title() == "Postgraduates radar chart 2005"
    assert ax.get_ylim() == (1, 7)
    dims = sq.gap_table(survey, "dimension", by="segment")
    ax2 = plots.plot_radar(dims, instrument=survey.instrument, hue="segment", value="gap")
    assert len(ax2.get_lines()) == 4
    assert [t.get_text() for t in ax2.get_legend().get_texts()] == list(pd.unique(dims["segment"]))
    fig = plots.plot_radar(pg, instrument=survey.instrument, aligned=True)
    assert len(fig.axes) == 2 and fig.axes[0].name == "polar" and fig.axes[1].name == "rectilinear"
    assert "aligned" in plots.alt_text(fig)


def test_profile_is_the_aligned_alternative(cycles):
    survey = cycles[0]
    table = sq.gap_table(survey, "dimension")
    ax = plots.plot_profile(table, instrument=survey.instrument)
    perception = [c for c in ax.collections if c.get_label() == "perception"][0]
    np.testing.assert_allclose(perception.get_offsets()[:, 0], table["perception"])
    # shortfall segments are vermillion
    assert all(same_color(line.get_color(), COLORS["shortfall"]) for line in ax.get_lines())


# ----------------------------------------------------------------------------- gaps
def test_gap_bars_sorted_coloured_with_ci_and_n(cycles):
    survey = cycles[0]
    table = sq.gap_table(survey, "dimension")
    ax = plots.plot_gaps(table, instrument=survey.instrument)
    bars = ax.patches
    assert len(bars) == 5
    widths = np.array([b.get_width() for b in bars])
    assert sorted(widths) == sorted(table["gap"])
    assert (np.diff(widths) < 0).all()  # largest shortfall at the top (highest y drawn last)
    for bar in bars:
        assert same_color(bar.get_facecolor(), COLORS["shortfall"] if bar.get_width() < 0 else COLORS["surplus"])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    for _, row in table.iterrows():
        label = survey.instrument.dimension_label(row["dimension"])
        assert any(text.startswith(label) and f"(n = {row['n']})" in text for text in labels)
    # whiskers span each dimension's confidence interval, at its bar
    segments = [c for c in ax.collections if len(c.get_segments()) == 5][0].get_segments()
    whiskers = {round(s[0][1]): (min(s[:, 0]), max(s[:, 0])) for s in segments}
    for bar in bars:
        row = table[np.isclose(table["gap"], bar.get_width())].iloc[0]
        y = round(bar.get_y() + bar.get_height() / 2)
        np.testing.assert_allclose(whiskers[y], (row["gap_ci_low"], row["gap_ci_high"]))
    assert "negative = shortfall" in ax.get_xlabel()


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
    assert "positive = shortfall" in ax.get_xlabel()


# ----------------------------------------------------------------------------- zone of tolerance
def test_zone_of_tolerance(core):
    table = sq.gap_table(core, "item")
    ax = plots.plot_zone_of_tolerance(table, instrument=core.instrument)
    frame = table.set_index("item").loc[[i for its in core.instrument.dimensions.values() for i in its]]
    bars = ax.patches[: len(frame)]
    np.testing.assert_allclose([b.get_x() for b in bars], frame["minimum"])
    np.testing.assert_allclose([b.get_width() for b in bars], frame["desired"] - frame["minimum"])
    markers = ax.collections[0]
    np.testing.assert_allclose(markers.get_offsets()[:, 0], frame["perceived"])
    below = (frame["perceived"] < frame["minimum"]).to_numpy()
    assert below.any()
    for color, is_below in zip(markers.get_facecolors(), below):
        assert same_color(color, COLORS["below_minimum"]) == is_below
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert [label.endswith("▼") for label in labels] == list(below)
    with pytest.raises(ValueError, match="asks no minimum and desired levels"):
        plots.plot_zone_of_tolerance(table, instrument="servqual-22")


# ----------------------------------------------------------------------------- IPA
def test_ipa_grid(cycles):
    grid = sq.importance_performance(cycles[0])
    ax = plots.plot_ipa(grid, instrument=cycles[0].instrument)
    points = ax.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 0], grid["performance"])
    np.testing.assert_allclose(points[:, 1], grid["importance"])
    assert by_gid(ax, "x_cross").get_xdata()[0] == pytest.approx(grid["x_cross"].iloc[0])
    assert by_gid(ax, "y_cross").get_ydata()[0] == pytest.approx(grid["y_cross"].iloc[0])
    names = {t.get_text() for t in ax.texts}
    assert {"Concentrate here", "Keep up the good work", "Low priority", "Possible overkill"} <= names
    labels = [t for t in ax.texts if t.get_text() in set(grid["item"])]
    assert len(labels) == len(grid)
    ax.figure.canvas.draw()
    boxes = [t.get_window_extent() for t in labels]
    overlaps = sum(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    assert overlaps == 0
    assert "stated importance (weights)" == ax.get_ylabel()  # the 100-point allocation: the best stated one


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


# ----------------------------------------------------------------------------- trend
def test_trend_lines_with_intervals(cycles):
    trend = sq.trend_table(cycles, by="segment", level="dimension")
    fig = plots.plot_trend(trend, instrument=cycles[0].instrument, col="segment")
    assert len(fig.axes) == 4
    ax = fig.axes[0]
    part = trend[trend["segment"] == ax.get_title()]
    assert len(ax.containers) == 5
    for container, dim in zip(ax.containers, cycles[0].instrument.dimensions):
        line = container.lines[0]
        rows = part[part["dimension"] == dim].sort_values("year")
        np.testing.assert_allclose(line.get_xdata(), [2005, 2006, 2007])
        np.testing.assert_allclose(line.get_ydata(), rows["gap"])


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
                            segments=["branch"], year=2007)
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
