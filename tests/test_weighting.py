"""Weighting respondents to their population, against R's survey package (tests/r/weighting.R)."""

import json
import os
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as scipy_t

import servqual as sq
from servqual.params import ParamsError
from servqual.weighting import WeightingError, domain_stats, effective_n

from .conftest import DATA, FIXTURE_COLUMNS, GOLDEN, SAMPLE, write

GOLD = json.loads((GOLDEN / "weighting.json").read_text())
POPULATION = GOLD["population"]
DESIGNS = {
    "poststratify": ({"segment": POPULATION["segment"]}, {"method": "poststratify"}),
    "rake": (POPULATION, {}),
    "trim": (POPULATION, {"trim": GOLD["trim_upper_ratio"]}),
}


@pytest.fixture(scope="module")
def fixture_two_margins():
    return sq.read_survey(DATA / "fixture-servqual.csv", DATA / "fixture-servqual.yaml", columns=FIXTURE_COLUMNS,
                          id="respondent_id", segments=["segment", "branch"], year=2005)


@pytest.fixture(scope="module")
def weighted(fixture_two_margins):
    return {name: sq.weight(fixture_two_margins, population, **options)
            for name, (population, options) in DESIGNS.items()}


@pytest.mark.parametrize("design", list(DESIGNS))
def test_weights_match_r(weighted, design):
    expected = pd.DataFrame(GOLD["weights"]).set_index("id")[design]
    got = weighted[design].respondent_weights
    assert list(got.index) == list(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-8)
    margins = weighted[design].weighting.response_rates
    for row in margins.itertuples():  # the weighted counts are the population's
        assert row.weighted_share * got.sum() == pytest.approx(row.population, rel=1e-9)


def test_trimming_matches_r_rounds_and_respects_the_cap(weighted):
    info = weighted["trim"].weighting.diagnostics.iloc[0]
    assert info.trim_rounds == GOLD["trim_rounds"] > 0
    assert bool(info.trim_met)
    mean = weighted["trim"].respondent_weights.mean()
    assert weighted["trim"].respondent_weights.max() <= GOLD["trim_upper_ratio"] * mean * (1 + 1e-3)
    assert weighted["rake"].respondent_weights.max() > GOLD["trim_upper_ratio"] * mean  # trimming had work to do


@pytest.mark.parametrize("design", list(DESIGNS))
def test_weighted_gap_tables_match_svyby(weighted, design):
    gold = pd.DataFrame(GOLD["estimates"])
    gold = gold[gold["design"] == design]
    survey = weighted[design]
    compared = 0
    for (level, grouped), part in gold.groupby(["level", gold["group"] == "ALL"]):
        by = None if grouped else "segment"
        table = sq.gap_table(survey, level, by=by, min_group_n=None)
        assert table.attrs["weighted"]
        unit = "item" if level == "item" else "dimension"
        table = (table.assign(segment="ALL") if by is None else table).set_index(["segment", unit])
        for row in part.itertuples():
            got = table.loc[(row.group, row.unit)]
            q = row.quantity
            assert got["n"] == row.n
            np.testing.assert_allclose(got[q], row.mean, rtol=1e-8)
            np.testing.assert_allclose(got[f"{q}_se"], row.se, rtol=1e-6)
            np.testing.assert_allclose(got[f"{q}_sd"], row.sd, rtol=1e-8)
            if q == "gap":
                np.testing.assert_allclose(got["n_effective"], row.n_effective, rtol=1e-8)
                t = scipy_t.ppf(0.975, row.n - 1)
                np.testing.assert_allclose(got["gap_ci_low"], row.mean - t * row.se, rtol=1e-6)
            compared += 1
    assert compared == len(gold) == 168


def test_the_calibration_residuals_matter(weighted):
    """Without the raking's calibration the standard errors would be R's for fixed weights, not
    for a raked design: the golden values tell them apart."""
    gold = pd.DataFrame(GOLD["estimates"])
    row = gold[(gold["design"] == "rake") & (gold["level"] == "overall") & (gold["group"] == "ALL")
               & (gold["quantity"] == "perception")].iloc[0]
    survey = weighted["rake"]
    y = sq.scores(survey, "overall")["perception"]["overall"].to_numpy()
    with_cells = domain_stats(y, np.ones(len(y), bool), survey.weight_array(), survey.calibration_cells())
    fixed = domain_stats(y, np.ones(len(y), bool), survey.weight_array())
    assert with_cells["se"][0] == pytest.approx(row.se, rel=1e-6)
    assert abs(fixed["se"][0] / row.se - 1) > 1e-2


def test_unweighted_survey_gives_the_plain_table(fixture_two_margins):
    table = sq.gap_table(fixture_two_margins, "dimension", by="segment")
    assert not table.attrs["weighted"]
    assert "n_effective" not in table.columns and "gap_se" not in table.columns


def test_equal_weights_give_the_classical_standard_error():
    rng = np.random.default_rng(3)
    y = rng.normal(size=(50, 2))
    y[::7, 1] = np.nan
    stats = domain_stats(y, np.ones(50, bool), np.full(50, 3.0))
    for j in range(2):
        v = y[:, j][~np.isnan(y[:, j])]
        assert stats["mean"][j] == pytest.approx(v.mean())
        assert stats["sd"][j] == pytest.approx(v.std(ddof=1))
        assert stats["n_effective"][j] == pytest.approx(len(v))
    v = y[:, 0]
    assert stats["se"][0] == pytest.approx(v.std(ddof=1) / np.sqrt(50))
    assert effective_n([2, 2]) == 2.0


def test_weighted_survey_says_so_and_survives_rescreening(weighted):
    survey = weighted["rake"]
    assert "weighted to the population" in repr(survey)
    assert "raked on segment and branch" in survey.weighting.describe()
    strict = sq.screen(survey, straight_lining="exclude")
    assert strict.weighted and strict.n <= survey.n
    assert strict.respondent_weights.sum() == pytest.approx(sum(POPULATION["segment"].values()))


# ---------------------------------------------------------------- bad margins
@pytest.mark.parametrize("population, message", [
    ({"segment": {"academic staff": 10, "postgraduate": 10, "undergraduate": 10, "visitors": 5}},
     "population.segment: category 'visitors' matches no respondent"),
    ({"segment": {"academic staff": 10, "postgraduate": 10}},
     "population.segment: 152 respondent(s) fall in no category (e.g. id 'R0500001': 'undergraduate'"),
    ({"segment": POPULATION["segment"], "branch": {"Central": 1, "Health": 1, "Law": 1, "Science": 1}},
     "population: the margins give different totals (segment 30,000, branch 4)"),
    ({"segment": {"academic staff": -3, "postgraduate": 10, "undergraduate": 10}},
     "population.segment.academic staff: expected a positive population count (a number); got -3"),
    ({"faculty": {"arts": 10}}, "population.faculty: 'faculty' is not a respondent column"),
    ({"segment": ["academic staff"]}, "population.segment: expected a mapping of categories"),
])
def test_bad_margins_say_what_is_wrong(fixture_two_margins, population, message):
    with pytest.raises(WeightingError) as info:
        sq.weight(fixture_two_margins, population)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_options(fixture_two_margins):
    with pytest.raises(WeightingError, match="'poststratify' takes one margin"):
        sq.weight(fixture_two_margins, POPULATION, method="poststratify")
    with pytest.raises(WeightingError, match="trim: expected the largest allowed weight"):
        sq.weight(fixture_two_margins, POPULATION, trim=0.5)
    with pytest.raises(WeightingError, match="method must be"):
        sq.weight(fixture_two_margins, POPULATION, method="ipf")


def test_an_impossible_cap_warns_and_keeps_the_margins(fixture_two_margins):
    with pytest.warns(RuntimeWarning, match="cannot be met with every weight within 1.1×"):
        survey = sq.weight(fixture_two_margins, POPULATION, trim=1.1)
    assert not survey.weighting.diagnostics.loc[0, "trim_met"]
    rates = survey.weighting.response_rates
    np.testing.assert_allclose(rates["weighted_share"], rates["population_share"], rtol=1e-9)


# ---------------------------------------------------------------- params
def _params(tmp_path, population_yaml: str, extra: str = "") -> str:
    text = (f"instrument: servqual-22\nresponses: {SAMPLE / 'library-2005.csv'}\nyear: 2005\n"
            "id: respondent_id\ncolumns: {expectation: 'E{index:02d}', perception: 'P{index:02d}'}\n"
            f"segments: [segment, branch]\n{population_yaml}{extra}")
    return str(write(tmp_path, "cycle.yaml", text))


SAMPLE_POPULATION = ("population:\n  segment: {academic staff: 1200, postgraduate: 4000, undergraduate: 14500, "
                     "library staff: 300}\n")


def test_params_population_weights_the_cycle(tmp_path):
    survey = sq.read_cycle(_params(tmp_path, SAMPLE_POPULATION))
    assert survey.weighted
    assert survey.respondent_weights.sum() == pytest.approx(20000)
    table = sq.gap_table(survey, "dimension")
    assert {"gap_se", "n_effective"} <= set(table.columns)


@pytest.mark.parametrize("yaml, message", [
    ("population: [segment]\n", "population: expected a mapping of respondent columns"),
    ("population:\n  segment: {academic staff: 1200, postgraduate: 4000, undergraduate: 14500}\n",
     "population.segment: 111 respondent(s) fall in no category"),
    ("population:\n  segment: {academic staff: 1200, postgraduate: 4000, undergraduate: lots, library staff: 3}\n",
     "population.segment.undergraduate: expected a positive population count"),
    (SAMPLE_POPULATION + "weighting: {trim: 0}\n", "weighting: trim: expected"),
    (SAMPLE_POPULATION + "weighting: {method: ipf}\n", "weighting: method must be"),
    ("weighting: {trim: 5}\n", "weighting: needs population"),
])
def test_bad_population_params_name_the_file_and_key(tmp_path, yaml, message):
    path = _params(tmp_path, yaml)
    with pytest.raises(ParamsError) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sq.read_cycle(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_weighted_gap_tests_match_svyttest(weighted):
    tests = sq.gap_tests(weighted["rake"], "dimension", by="segment", min_group_n=None).set_index(
        ["segment", "dimension"])
    gold = pd.DataFrame(GOLD["ttests"])
    assert len(gold) == 9
    for row in gold.itertuples():
        got = tests.loc[(row.group, row.unit)]
        assert got["statistic"] == pytest.approx(row.statistic, rel=1e-6)
        assert got["df"] == row.df + 1  # the group's n − 1; svyttest takes one fewer
        assert np.isnan(got["wilcoxon_p"])
    table = sq.gap_table(weighted["rake"], "dimension", by="segment", min_group_n=None).set_index(
        ["segment", "dimension"])
    np.testing.assert_allclose(tests["mean_gap"], table.loc[tests.index, "gap"], rtol=1e-12)
    np.testing.assert_allclose(tests["ci_low"], table.loc[tests.index, "gap_ci_low"], rtol=1e-12)


def test_weighted_segment_tests_match_regtermtest(weighted):
    tests = sq.segment_tests(weighted["rake"], "gap", by="segment", level="dimension").set_index("dimension")
    for row in GOLD["wald"]:
        got = tests.loc[row["unit"]]
        assert got["statistic"] == pytest.approx(row["statistic"], rel=1e-6)
        assert (got["df1"], got["df2"]) == (row["df1"], row["df2"])
        assert got["p"] == pytest.approx(row["p"], rel=1e-6)
        assert np.isnan(got["kruskal_p"])


# ---------------------------------------------------------------- the report
class _Collect:
    def __init__(self):
        self.summary, self.tables, self.notes = {}, {}, []

    def table(self, name, frame, **_):
        self.tables[name] = frame

    def figure(self, name, target):
        pass

    def note(self, text):
        self.notes.append(text)


def test_weighting_section_shows_rates_and_what_changed_and_hides_small_categories():
    from servqual.sections import Context, section

    survey = sq.read_cycle(SAMPLE.parent.parent / "params" / "2007-weighted.yaml")
    smallest = int(survey.weighting.response_rates["respondents"].min())
    out = _Collect()
    section("weighting").produce(Context(survey, min_group_n=smallest + 1), out)
    rates = out.tables["response_rates"]
    hidden = rates[rates["suppressed"]]
    assert len(hidden) >= 2 and hidden["n"].isna().all()  # the small category and one more in its margin
    assert rates.loc[~rates["suppressed"], "n"].min() > smallest
    effect = out.tables["weighted_vs_unweighted"]
    assert list(effect["dimension"]) == list(survey.instrument.dimensions)
    np.testing.assert_allclose(effect["weighted"], sq.gap_table(survey, "dimension")["gap"])
    np.testing.assert_allclose(effect["unweighted"], sq.gap_table(survey.with_weights(None), "dimension")["gap"])
    sentence = out.summary["weighting"]["sentence"]
    assert sentence.startswith("Weighting changed ") and "things to do first" in sentence
    assert sentence in out.notes


def test_a_changed_conclusion_is_named(tmp_path):
    """A segment that rates the service above expectations, weighted far up, turns a gap
    that is about level into one that exceeds the standard; the sentence names it."""
    from servqual.compare import weighting_effect

    rng = np.random.default_rng(11)
    items = ["a1", "b1", "a2", "b2", "c1", "a3", "b3", "c2", "b4", "c3"]
    reverse = {"b2", "c3"}
    lines = ["respondent_id,segment," + ",".join([f"E_{i}" for i in items] + [f"P_{i}" for i in items])]
    for k in range(60):
        segment, delta = ("pleased", 1) if k < 40 else ("unhappy", -2)
        e = rng.integers(3, 6, size=len(items))
        p = [int(v + (-delta if i in reverse else delta)) for v, i in zip(e, items)]
        lines.append(f"R{k:03d},{segment}," + ",".join(map(str, [*e, *p])))
    survey = sq.read_survey(write(tmp_path, "two.csv", "\n".join(lines) + "\n"), DATA / "fixture-servqual.yaml",
                            columns=FIXTURE_COLUMNS, id="respondent_id", segments=["segment"])
    effect = weighting_effect(sq.weight(survey, {"segment": {"pleased": 1000, "unhappy": 10}}), min_group_n=1)
    assert set(effect["conclusion_unweighted"]) == {"about level"}
    assert set(effect["conclusion_weighted"]) == {"exceeds the standard"}
    assert effect["changed"].all()
    assert effect.attrs["sentence"].startswith("Weighting changed 3 conclusions: alpha now exceeds the standard "
                                               "(unweighted: about level)")


def test_weighted_cycle_report(tmp_path):
    from servqual.report import run_report

    with open(os.devnull, "w") as sink:
        folder = run_report(SAMPLE.parent.parent / "params" / "2007-weighted.yaml", reports_dir=tmp_path,
                            progress=False, out=sink)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["weighting"]["margins"] == ["segment", "branch"]
    assert summary["weighting"]["population"] == 20650
    page = (folder / "report.html").read_text()
    assert "Weighted to the population" in page and "stand for its clients" in page
    for name in ("response_rates", "weighted_vs_unweighted"):
        assert (folder / "tables" / f"{name}.csv").exists()
    gaps = pd.read_csv(folder / "tables" / "gap_table_dimension.csv")
    assert {"gap_se", "n_effective"} <= set(gaps.columns)
    survey = sq.read_cycle(SAMPLE.parent.parent / "params" / "2007-weighted.yaml")
    np.testing.assert_allclose(gaps["gap"], sq.gap_table(survey, "dimension")["gap"], rtol=1e-9)


def test_the_explorer_says_a_cycle_is_weighted():
    import matplotlib.pyplot as plt

    params = SAMPLE.parent.parent / "params"
    explorer = sq.explorer([str(params / "2007-weighted.yaml")])
    assert "Weighted to the population" in explorer.message.value
    assert {"gap_se", "n_effective"} <= set(explorer.current_table.columns)
    plain = sq.explorer([str(params / "2007.yaml")])
    assert "Weighted to the population" not in plain.message.value
    plt.close("all")
