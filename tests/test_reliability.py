import json

import numpy as np
import pandas as pd
import pytest

import servqual as sq
from servqual._matrix import pairwise_cov
from servqual.reliability import _bootstrap_alpha, feldt_ci, gap_reliability, omega

from .conftest import DATA, GOLDEN

RTOL = 1e-6
GOLD = json.loads((GOLDEN / "reliability.json").read_text())
TOTAL = {"raw_alpha": "raw_alpha", "std.alpha": "std_alpha", "G6(smc)": "g6_smc", "average_r": "average_r",
         "S/N": "s_n", "ase": "ase", "mean": "mean", "sd": "sd", "median_r": "median_r"}
DROP = {"raw_alpha": "raw_alpha", "std.alpha": "std_alpha", "G6(smc)": "g6_smc", "average_r": "average_r",
        "S/N": "s_n", "alpha se": "alpha_se", "var.r": "var_r", "med.r": "med_r"}
ITEMS = {"n": "n", "raw.r": "raw_r", "std.r": "std_r", "r.cor": "r_cor", "r.drop": "r_drop", "mean": "mean", "sd": "sd"}


@pytest.fixture(scope="module")
def frames(fixture_survey, core_survey):
    import servqual as sq  # noqa: F811

    lenient = sq.screen(core_survey, require_complete=False, max_not_applicable=None, max_inversions=None)
    p = fixture_survey.ratings("perception")
    return {
        "perception_keyed_pairwise": (p, "pairwise"),
        "perception_keyed_listwise": (p, "listwise"),
        "perception_unkeyed_pairwise": (fixture_survey.ratings("perception", keyed=False), "pairwise"),
        "expectation_beta_pairwise": (fixture_survey.ratings("expectation")[["b1", "b2", "b3", "b4"]], "pairwise"),
        "perception_two_items": (p[["a1", "a2"]], "pairwise"),
        "core_perceived_pairwise": (lenient.ratings("perceived"), "pairwise"),
        "core_perceived_listwise": (lenient.ratings("perceived"), "listwise"),
    }


def close(ours, theirs, what):
    if theirs is None:
        assert np.isnan(ours), what
    else:
        assert ours == pytest.approx(theirs, rel=RTOL, abs=1e-12), what


@pytest.mark.parametrize("case", sorted(GOLD.keys() - {"gap_reliability", "gap_reliability_listwise", "omega_pairwise",
                                                       "omega_listwise"}))
def test_alpha_report_matches_psych(frames, case):
    frame, policy = frames[case]
    gold = GOLD[case]
    rep = sq.alpha_report(frame, nan_policy=policy)
    assert rep.n_obs == gold["n_obs"]
    for r_name, name in TOTAL.items():
        close(rep.total[name], gold["total"][r_name], (case, name))
    drop = {row["item"]: row for row in gold["alpha_drop"]}
    assert set(rep.if_dropped.index) == set(drop)
    for item, row in drop.items():
        for r_name, name in DROP.items():
            close(rep.if_dropped.loc[item, name], row.get(r_name), (case, item, name))
    stats = {row["item"]: row for row in gold["item_stats"]}
    for item, row in stats.items():
        for r_name, name in ITEMS.items():
            close(rep.items.loc[item, name], row[r_name], (case, item, name))
    for row in gold["response_freq"]:
        for value, share in row.items():
            if value not in ("item", "_row"):
                key = "miss" if value == "miss" else int(value)
                close(rep.response_freq.loc[row["item"], key], share, (case, row["item"], value))
    close(rep.feldt["lower"], gold["feldt95"][0], "feldt lower")
    close(rep.feldt["upper"], gold["feldt95"][1], "feldt upper")
    lo90, hi90 = feldt_ci(rep.alpha, rep.n_obs, len(rep.items), 0.90)
    close(lo90, gold["feldt90"][0], "feldt90")
    close(hi90, gold["feldt90"][1], "feldt90")


def test_negatively_correlated_items_are_named_not_reversed(frames):
    frame, _ = frames["perception_unkeyed_pairwise"]
    rep = sq.alpha_report(frame)
    negative = set(rep.items.index[rep.items["r_drop"] < 0])
    assert negative == {"b2", "c3"}  # the two negatively worded items, left as answered
    assert any("b2, c3 correlate negatively" in n and "nothing was reversed" in n for n in rep.notes)
    assert rep.items.loc["b2", "mean"] == pytest.approx(np.nanmean(frame["b2"]))


def test_pairwise_covariance_equals_r_semantics():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(50, 4))
    x[rng.random(x.shape) < 0.2] = np.nan
    c = pairwise_cov(x)
    for j in range(4):
        for k in range(4):
            both = ~np.isnan(x[:, j]) & ~np.isnan(x[:, k])
            assert c[j, k] == pytest.approx(np.cov(x[both, j], x[both, k])[0, 1], rel=1e-12)


@pytest.mark.parametrize("missing", [0.0, 0.05])
def test_bootstrap_equals_explicit_resampling(missing):
    """The vectorised bootstrap gives exactly the alpha of each explicit resample."""
    rng = np.random.default_rng(9)
    x = np.clip(np.rint(rng.normal(4, 1.2, size=(120, 1)) + rng.normal(0, 1, size=(120, 5))), 1, 7)
    x[rng.random(x.shape) < missing] = np.nan
    alphas = _bootstrap_alpha(x, 40, seed=5)
    draws = np.random.default_rng(5).integers(0, 120, size=(40, 120))
    for b in range(40):
        c = pairwise_cov(x[draws[b]])
        expected = 5 / 4 * (1 - np.trace(c) / c.sum())
        assert alphas[b] == pytest.approx(expected, rel=1e-10)


def test_bootstrap_interval_is_seeded_and_sensible(fixture_survey):
    p = fixture_survey.ratings("perception")
    a = sq.alpha_report(p, n_boot=1000, seed=1)
    b = sq.alpha_report(p, n_boot=1000, seed=1)
    pd.testing.assert_series_equal(a.bootstrap, b.bootstrap)
    assert a.bootstrap["lower"] < a.alpha < a.bootstrap["upper"]
    # percentile and Feldt intervals agree roughly on well-behaved data
    assert abs(a.bootstrap["lower"] - a.feldt["lower"]) < 0.03
    assert "bootstrap" in str(a)
    with pytest.raises(ValueError, match="n_boot must be 0"):
        sq.alpha_report(p, n_boot=10)


def test_readable_output(fixture_survey):
    rep = sq.alpha_report(fixture_survey.ratings("perception"))
    text = str(rep)
    assert "raw_alpha" in text and "Reliability if an item is dropped" in text and "r_drop" in text
    assert "<table" in rep._repr_html_()


def test_argument_errors(fixture_survey):
    p = fixture_survey.ratings("perception")
    with pytest.raises(ValueError, match="nan_policy must be one of 'pairwise', 'listwise'"):
        sq.alpha_report(p, nan_policy="pairwse")
    with pytest.raises(ValueError, match="at least two items"):
        sq.alpha_report(p[["a1"]])
    flat = p.assign(a2=3.0)
    rep = sq.alpha_report(flat)
    assert "a2" not in rep.items.index and any("a2 had no variance" in n for n in rep.notes)


def test_gap_reliability_matches_r(fixture_survey):
    table = gap_reliability(fixture_survey).set_index("dimension")
    for row in GOLD["gap_reliability"]:
        ours = table.loc[row["dimension"]]
        for key, value in row.items():
            if key != "dimension":
                assert ours[key] == pytest.approx(value, rel=RTOL), (row["dimension"], key)
    # the difference is less reliable than the more reliable of its parts
    assert (table["r_difference"] < table[["alpha_expectation", "alpha_perception"]].max(axis=1)).all()


def test_gap_reliability_listwise_matches_r(fixture_survey):
    """nan_policy='listwise': the alphas, sds and r of the same respondents per dimension."""
    table = gap_reliability(fixture_survey, nan_policy="listwise").set_index("dimension")
    pairwise = gap_reliability(fixture_survey).set_index("dimension")
    for row in GOLD["gap_reliability_listwise"]:
        ours = table.loc[row["dimension"]]
        for key, value in row.items():
            if key != "dimension":
                assert ours[key] == pytest.approx(value, rel=RTOL), (row["dimension"], key)
    assert (table["n"] < pairwise["n"]).all()
    with pytest.raises(ValueError, match="nan_policy must be 'pairwise' or 'listwise'"):
        gap_reliability(fixture_survey, nan_policy="complete")


def test_omega_follows_the_nan_policy_of_alpha(fixture_survey):
    """reliability(nan_policy='listwise') no longer reports pairwise omega beside listwise alpha."""
    perception = fixture_survey.ratings("perception")
    dims = fixture_survey.instrument.dimensions
    for policy in ("pairwise", "listwise"):
        table = sq.reliability(fixture_survey, "perception", nan_policy=policy).set_index("dimension")
        for dim, gold in GOLD[f"omega_{policy}"].items():
            block = perception[list(dims[dim])]
            assert sq.omega_total_one_factor(block, nan_policy=policy) == pytest.approx(gold, rel=1e-5), (policy, dim)
            assert table.loc[dim, "omega_total"] == pytest.approx(gold, rel=1e-5), (policy, dim)
    assert GOLD["omega_listwise"]["beta"] != pytest.approx(GOLD["omega_pairwise"]["beta"], rel=1e-3)


def test_reliability_table(fixture_survey):
    table = sq.reliability(fixture_survey, by="segment")
    assert list(table.columns) == ["segment", "dimension", "n_items", "n", "raw_alpha", "alpha_ci_low",
                                   "alpha_ci_high", "std_alpha", "omega_total", "average_r", "flags",
                                   "suppressed", "suppressed_reason", "small_group"]
    assert list(table["dimension"].unique()) == ["alpha", "beta", "gamma", "all_items"]
    undergrad = table[table["segment"] == "undergraduate"].set_index("dimension")
    mask = (fixture_survey.respondents["segment"] == "undergraduate").to_numpy()
    beta = fixture_survey.ratings("perception").loc[mask, ["b1", "b2", "b3", "b4"]]
    rep = sq.alpha_report(beta)
    assert undergrad.loc["beta", "raw_alpha"] == pytest.approx(rep.alpha, rel=1e-12)
    assert undergrad.loc["beta", "alpha_ci_low"] == pytest.approx(rep.feldt["lower"], rel=1e-12)
    assert (table["alpha_ci_low"] < table["raw_alpha"]).all()
    # alpha of the item gaps is available as a "measure"
    gaps = sq.reliability(fixture_survey, "gap").set_index("dimension")
    assert gaps.loc["alpha", "raw_alpha"] == pytest.approx(gap_reliability(fixture_survey).iloc[0]["alpha_item_gaps"])
    with pytest.raises(KeyError, match="gap 'gapp' is not defined"):
        sq.reliability(fixture_survey, "gapp")


def test_reliability_flags_reverse_keying_problems(tmp_path):
    """An instrument that forgot to reverse-key its negatively worded items is flagged in words."""
    text = sq.load_instrument("servqual-22-1988").source
    assert "built-in" in text
    import yaml

    from servqual.instrument import instrument_from_dict

    raw = yaml.safe_load((sq.instrument._builtin_dir() / "servqual-22-1988.yaml").read_text())
    for item in ("E1", "E3"):
        raw["items"][item]["reverse"] = False
    forgot = instrument_from_dict(raw, "forgot.yaml")
    survey = sq.read_survey(DATA / "fixture-psychometrics.csv", forgot, id="respondent_id")
    flags = sq.reliability(survey).set_index("dimension")["flags"]
    assert "E1 correlates negatively with the rest" in flags["empathy"]
    assert "E3 correlates negatively" in flags["empathy"] and "reverse-keyed" in flags["empathy"]
    assert flags["tangibles"] == ""


def test_omega_matches_lavaan_bifactor():
    gold = json.loads((GOLDEN / "dimensionality.json").read_text())["omega"]
    survey = sq.read_survey(DATA / "fixture-psychometrics.csv", "servqual-22-1988", id="respondent_id")
    result = omega(survey.ratings("perception"), dict(survey.instrument.dimensions))
    assert result.hierarchical == pytest.approx(gold["hierarchical"], rel=1e-3)
    assert result.total == pytest.approx(gold["total"], rel=1e-3)
    for dim, value in gold["dimensions"].items():
        assert result.dimensions[dim] == pytest.approx(value, rel=1e-3), dim
    assert result.hierarchical < result.total <= 1
    assert "omega hierarchical" in str(result)


@pytest.mark.parametrize("chunk", [7, 1000])  # 7: many blocks, summed on every core
def test_one_pass_moments_equal_the_pairwise_definitions(chunk):
    """The one-pass sums (complete-data products less the blanks' share, blocks over threads)
    equal their definitions computed directly: pairwise counts, sums and cross-products,
    and the total score's sums, with blank cells, whole blank rows and a blank column."""
    from servqual._matrix import moments

    rng = np.random.default_rng(5)
    x = rng.integers(1, 8, size=(300, 6)).astype(float)
    x[rng.random(x.shape) < 0.15] = np.nan
    x[10] = np.nan
    x[40:60, 2] = np.nan
    got = moments(x, total=True, chunk=chunk)
    m = ~np.isnan(x)
    z = np.where(m, x - got.shift, 0.0)
    mf = m.astype(float)
    np.testing.assert_array_equal(got.nn, mf.T @ mf)
    np.testing.assert_allclose(got.sx, z.T @ mf, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.sxx, (z * z).T @ mf, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.sxy, z.T @ z, rtol=1e-12, atol=1e-9)
    with np.errstate(invalid="ignore"):
        total = np.nanmean(x, axis=1) - got.total[1]
    ok = ~np.isnan(total)
    t = np.where(ok, total, 0.0)
    np.testing.assert_allclose(got.st_m, mf.T @ t, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.stt_m, mf.T @ (t * t), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.szt, z.T @ t, rtol=1e-12, atol=1e-9)
    assert got.total[0] == ok.sum() == 299
    np.testing.assert_allclose(got.total[2:], [t.sum(), (t * t).sum()], rtol=1e-12, atol=1e-9)
    # pandas' pairwise covariance is the reference definition
    np.testing.assert_allclose(got.cov(), pd.DataFrame(x).cov().to_numpy(), rtol=1e-10)
