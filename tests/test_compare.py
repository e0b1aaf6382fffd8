import json

import numpy as np
import pandas as pd
import pytest

import servqual as sq
from servqual.compare import adjust_pvalues, lmg, wilcoxon_signed_rank

from .conftest import DATA, FIXTURE_COLUMNS, GOLDEN

GOLD = json.loads((GOLDEN / "compare.json").read_text())
RTOL = 1e-6


@pytest.fixture(scope="module")
def psy():
    return sq.read_survey(DATA / "fixture-psychometrics.csv", "servqual-22-1988", id="respondent_id",
                          segments=["segment"], year=2005)


@pytest.fixture(scope="module")
def cycle_2006():
    return sq.read_survey(DATA / "fixture-servqual-2006.csv", DATA / "fixture-servqual.yaml", columns=FIXTURE_COLUMNS,
                          id="respondent_id", segments=["segment"], year=2006)


def assert_columns(ours: pd.DataFrame, theirs: pd.DataFrame, columns, rtol=RTOL):
    theirs = theirs.reindex(ours.index)
    assert not theirs.isna().all(axis=1).any(), "rows missing from the R table"
    for ours_col, their_col in columns:
        np.testing.assert_allclose(ours[ours_col].astype(float), theirs[their_col].astype(float), rtol=rtol,
                                   err_msg=ours_col)


@pytest.mark.parametrize("level", ["item", "dimension"])
def test_gap_tests_match_r(fixture_survey, level):
    gold = pd.DataFrame(GOLD["gap_tests"][level]).set_index(["group", "unit"])
    ours = sq.gap_tests(fixture_survey, level, by="segment", min_group_n=None)
    assert len(ours) == len(gold)
    ours = ours.set_index(["segment", "item" if level == "item" else "dimension"])
    same = ["n", "performance", "standard", "mean_gap", "sd", "ci_low", "ci_high", "df", "d_z", "hedges_g"]
    renamed = [("statistic", "t"), ("p", "p_t"), ("wilcoxon_statistic", "w"), ("wilcoxon_p", "p_wilcoxon"),
               ("p_adj", "p_t_holm"), ("wilcoxon_p_adj", "p_wilcoxon_holm")]
    assert_columns(ours, gold, [(c, c) for c in same] + renamed)
    bh = sq.gap_tests(fixture_survey, level, by="segment", adjust="bh", min_group_n=None)
    bh = bh.set_index(["segment", "item" if level == "item" else "dimension"])
    assert_columns(bh, gold, [("p_adj", "p_t_bh")])


def test_gap_tests_layout_and_family(fixture_survey):
    table = sq.gap_tests(fixture_survey, "item", by="segment")
    assert list(table.columns[:5]) == ["segment", "item", "dimension", "gap", "n"]
    assert list(table["item"][:10]) == list(fixture_survey.instrument.items)
    assert {"suppressed", "suppressed_reason", "small_group"} <= set(table.columns)
    per_group = sq.gap_tests(fixture_survey, "item", by="segment", family="group")
    for _, part in per_group.groupby("segment"):
        np.testing.assert_allclose(part["p_adj"], adjust_pvalues(part["p"], "holm"))
    overall = sq.gap_tests(fixture_survey, "overall")
    assert list(overall["dimension"]) == ["overall", "overall_weighted"]
    with pytest.raises(ValueError, match="family must be"):
        sq.gap_tests(fixture_survey, family="segment")
    with pytest.raises(ValueError, match="adjust must be one of"):
        sq.gap_tests(fixture_survey, adjust="sidak")


def test_small_groups_suppressed(fixture_survey):
    table = sq.gap_tests(fixture_survey, "dimension", by="segment", min_group_n=60)
    small = table["suppressed"]
    assert small.any() and (~small).any()
    assert table.loc[small, ["mean_gap", "p", "p_adj", "statistic"]].isna().all().all()
    assert table.loc[small, "n"].isna().all()
    reasons = set(table.loc[small, "suppressed_reason"])
    assert "fewer than 60 respondents" in reasons
    assert reasons <= {"fewer than 60 respondents",
                       "suppressed with a smaller group, so that its count cannot be recovered from the total"}
    # complementary suppression: per dimension, the hidden groups hold at least 60 together,
    # so total − shown never reveals one small group
    full = sq.gap_tests(fixture_survey, "dimension", by="segment", min_group_n=1)
    hidden = full.loc[small.to_numpy()].groupby("dimension")["n"].sum()
    assert (hidden >= 60).all(), hidden
    shown = table.loc[~small]
    assert shown["small_group"].tolist() == (shown["n"] < 100).tolist()
    flagged = sq.gap_tests(fixture_survey, "dimension", by="segment", min_group_n=10)
    assert flagged["small_group"].any() and not flagged["small_group"].all()


def test_wilcoxon_exact_and_approximate():
    # no ties, n < 50: exact distribution, as wilcox.test
    v, p = wilcoxon_signed_rank(np.array([1.5, -0.2, 2.3, 0.7, 1.1, -0.9, 3.2, 0.4]))
    assert v == 31 and p == pytest.approx(0.078125, rel=1e-12)  # R: V = 31, p-value = 0.078125
    assert wilcoxon_signed_rank(np.zeros(5)) != wilcoxon_signed_rank(np.ones(5))
    assert np.isnan(wilcoxon_signed_rank(np.zeros(5))[1])


def test_segment_tests_match_r(psy):
    gold = pd.DataFrame(GOLD["segments"]).set_index("dimension")
    ours = sq.segment_tests(psy, level="dimension").set_index("dimension")
    assert list(ours.index) == list(psy.instrument.dimensions)
    assert_columns(ours, gold, [("n", "n"), ("statistic", "welch_f"), ("df1", "df1"), ("df2", "df2"),
                                ("p", "p_welch"), ("kruskal_statistic", "kruskal_h"), ("kruskal_df", "kruskal_df"),
                                ("kruskal_p", "p_kruskal")])
    assert ((ours["omega_sq"] >= 0) & (ours["omega_sq"] < 1)).all()


def test_games_howell_matches_r(psy):
    gold = pd.DataFrame(GOLD["games_howell"]).set_index(["dimension", "a", "b"])
    ours = sq.games_howell(psy, level="dimension").set_index(["dimension", "a", "b"])
    assert len(ours) == len(gold) == 5 * 6
    assert_columns(ours, gold, [("diff", "diff"), ("se", "se"), ("statistic", "t"), ("df", "df")])
    # R's ptukey and scipy's studentized_range integrate numerically: agree to 1e-5 where p
    # is above ptukey's absolute accuracy; below 1e-6 ptukey's upper tail is 1 − (an integral
    # near 1), good to about 1e-9 absolute (tangibles, library staff vs postgraduate: ptukey
    # 2.8e-10, scipy 4.9e-13, a 40-digit mpmath integration 5.0e-13), so there the two agree
    # to 1e-9 and both call the difference far beyond any threshold.
    gold = gold.reindex(ours.index)
    tail = gold["p"] < 1e-6
    assert tail.sum() < len(gold)  # most rows are compared relatively
    assert_columns(ours[~tail], gold[~tail], [("p", "p")], rtol=1e-5)
    np.testing.assert_allclose(ours.loc[tail, "p"], gold.loc[tail, "p"], rtol=0, atol=1e-9)
    assert (ours.loc[tail, "p"] < 1e-6).all()


def test_segments_below_min_group_n_are_left_out(fixture_survey):
    table = sq.segment_tests(fixture_survey, level="dimension", min_group_n=40)  # academic staff: 26-33 per dimension
    assert table["excluded"].str.contains("academic staff").all()
    assert (table["groups"] == 2).all()
    pairs = sq.games_howell(fixture_survey, level="dimension", min_group_n=40)
    assert "academic staff" not in set(pairs["a"]) | set(pairs["b"])


def test_year_changes_match_r(fixture_survey, cycle_2006):
    gold = pd.DataFrame(GOLD["year_changes"]).set_index(["segment", "dimension"])
    ours = sq.year_changes([cycle_2006, fixture_survey], by="segment", level="dimension").set_index(["segment", "dimension"])
    assert (ours["year_from"] == 2005).all() and (ours["year_to"] == 2006).all()
    assert_columns(ours, gold, [(c, c) for c in ["n_from", "n_to", "change", "ci_low", "ci_high", "df", "p",
                                                  "hedges_g", "p_adj"]] + [("statistic", "t")])
    trend = sq.trend_table({2005: fixture_survey, 2006: cycle_2006}, by="segment", level="dimension")
    assert list(trend["year"].unique()) == [2005, 2006]
    assert {"year", "segment", "dimension", "n", "gap", "gap_ci_low"} <= set(trend.columns)


def test_year_changes_errors(fixture_survey, psy):
    with pytest.raises(ValueError, match="at least two cycles"):
        sq.year_changes([fixture_survey])
    with pytest.raises(ValueError, match="different instruments"):
        sq.year_changes([fixture_survey, psy])


def test_drivers_match_r(psy):
    gold = GOLD["drivers"]
    result = sq.drivers(psy)
    assert result.n == gold["n"]
    assert result.r2 == pytest.approx(gold["r2"], rel=RTOL)
    assert result.adj_r2 == pytest.approx(gold["adj_r2"], rel=RTOL)
    co = result.coefficients
    for column, gold_column in (("coef", "coef"), ("se_hc3", "se_hc3"), ("statistic", "t"), ("p", "p"),
                                ("ci_low", "ci_low"), ("ci_high", "ci_high")):
        for name, value in gold[gold_column].items():
            row = "intercept" if name == "(Intercept)" else name
            assert co.loc[row, column] == pytest.approx(value, rel=RTOL), (row, column)
    for name, value in gold["beta"].items():
        assert co.loc[name, "beta"] == pytest.approx(value, rel=RTOL)
    for name, value in gold["lmg"].items():
        assert co.loc[name, "lmg"] == pytest.approx(value, rel=RTOL)
    assert co["lmg"].sum() == pytest.approx(result.r2, rel=1e-12)
    assert "accounts for the largest share" in str(result)


def test_lmg_with_uncorrelated_predictors_equals_squared_correlations():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    x -= x.mean(axis=0)
    q, _ = np.linalg.qr(x)  # exactly orthogonal, centred predictors
    y = q @ np.array([3.0, 1.0, 0.5]) + rng.normal(size=400) * 0.5
    shares = lmg(y, q)
    r = np.array([np.corrcoef(q[:, j], y)[0, 1] for j in range(3)])
    np.testing.assert_allclose(shares, r**2, rtol=1e-9)


def test_drivers_need_overall(fixture_survey):
    with pytest.raises(ValueError, match="need the overall-satisfaction item"):
        sq.drivers(fixture_survey)


@pytest.mark.parametrize("level", ["item", "dimension"])
def test_unpaired_gap_tests_match_r(fixture_survey, level):
    """paired=False: Welch t.test(p, e), wilcox.test(p, e) and pooled Hedges' g."""
    gold = pd.DataFrame(GOLD["gap_tests"][f"{level}_unpaired"]).set_index(["group", "unit"])
    ours = sq.gap_tests(fixture_survey, level, by="segment", min_group_n=None, paired=False)
    ours = ours.set_index(["segment", "item" if level == "item" else "dimension"])
    assert len(ours) == len(gold)
    same = ["n_performance", "n_standard", "performance", "standard", "mean_gap", "ci_low", "ci_high", "df",
            "hedges_g"]
    assert_columns(ours, gold, [(c, c) for c in same] + [("statistic", "t"), ("p", "p_t"),
                                                          ("wilcoxon_statistic", "w"), ("wilcoxon_p", "p_wilcoxon")])
    assert ours["d_z"].isna().all() and ours["sd"].isna().all()
    # more answers than the paired test uses wherever a respondent rated only one column
    paired = sq.gap_tests(fixture_survey, level, by="segment", min_group_n=None)
    assert (ours["n_performance"].to_numpy() >= paired["n"].to_numpy()).all()
