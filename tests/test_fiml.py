"""Full-information ML (missing = "ml") against lavaan (tests/r/fiml.R)."""

import json

import numpy as np
import pandas as pd
import pytest

import servqual as sq
from servqual.sem import em_moments, fit_ml

from .conftest import ROOT
from .test_invariance import LEVEL_EQUAL, check_fit

GOLD = json.loads((ROOT / "tests" / "golden" / "fiml.json").read_text())
HS = pd.read_csv(ROOT / "tests" / "data" / "holzinger-swineford-missing.csv")
MODEL = GOLD["model"]["hs"]
ITEMS = [f"x{k}" for k in range(1, 10)]


def test_the_file_has_the_missing_values_the_golden_values_assume():
    assert HS[ITEMS].isna().to_numpy().mean() > 0.08
    assert HS[ITEMS].isna().all(axis=1).sum() == 1  # one empty case, which lavaan drops
    assert GOLD["hs_single"]["fit"]["ntotal"] == len(HS) - 1


def test_single_group_fiml_matches_lavaan_missing_ml():
    gold = GOLD["hs_single"]
    fitted = fit_ml([HS], MODEL, missing="fiml")
    fm = fitted.fit_measures()
    check_fit(fm, gold["fit"], "HS FIML")
    assert fm["logl"] == pytest.approx(gold["fit"]["logl"], rel=1e-9)
    # the saturated model: EM moments, its log-likelihood, and the baseline χ²
    data = fitted.problem.groups[0]
    np.testing.assert_allclose(data.mean, gold["h1_mean"][0], atol=1e-7)
    np.testing.assert_allclose(data.cov, gold["h1_cov"][0], atol=1e-7)
    assert fm["chisq"] == pytest.approx(2 * (gold["fit"]["unrestricted.logl"] - gold["fit"]["logl"]), rel=1e-6)
    theirs = pd.DataFrame(gold["loadings"])
    ours = fitted.standardized_loadings()
    np.testing.assert_allclose(ours["estimate"], theirs["estimate"], atol=1e-5)
    np.testing.assert_allclose(ours["std_all"], theirs["std_all"], atol=1e-5)
    nu = fitted.group_matrices(0)["nu"].ravel()
    np.testing.assert_allclose(nu, pd.DataFrame(gold["intercepts"])["estimate"], atol=1e-5)


def test_cfa_with_fiml_uses_every_respondent_who_answered():
    result = sq.cfa(HS, MODEL, missing="fiml")
    listwise = sq.cfa(HS, MODEL)
    assert result.fit["n"] == len(HS) - 1 > listwise.fit["n"]
    assert result.fit["chisq"] == pytest.approx(GOLD["hs_single"]["fit"]["chisq"], rel=1e-6)
    assert result.fit["cfi"] == pytest.approx(GOLD["hs_single"]["fit"]["cfi"], rel=1e-6)
    assert result.item_n["x3"] == HS["x3"].notna().sum() and result.item_n["x3"] < result.fit["n"]
    assert "full-information ML" in str(result)
    with pytest.raises(ValueError, match="missing must be 'listwise' or 'fiml'"):
        sq.cfa(HS, MODEL, missing="pairwise")


def test_fiml_on_complete_data_is_ml_with_a_mean_structure():
    complete = HS.dropna(subset=ITEMS)
    a = fit_ml([complete], MODEL, missing="fiml").fit_measures()
    b = fit_ml([complete], MODEL, means=True).fit_measures()
    for key in ("chisq", "df", "cfi", "rmsea", "srmr", "logl"):
        assert a[key] == pytest.approx(b[key], rel=1e-9), key


def test_invariance_with_fiml_matches_lavaan():
    gold = GOLD["hs_school"]
    result = sq.invariance(HS, MODEL, group="school", missing="fiml")
    assert list(result.groups["group"]) == gold["groups"] and list(result.groups["n"]) == gold["n"]
    for level in LEVEL_EQUAL:
        check_fit(result.fits.loc[level].to_dict(), gold["levels"][level]["fit"], f"FIML {level}")
    lrt = pd.DataFrame(gold["lrt"]).iloc[1:]
    np.testing.assert_allclose(result.tests["delta_chisq"], lrt["chisq_diff"], rtol=1e-6)
    np.testing.assert_allclose(result.tests["p"], lrt["p"], rtol=1e-5)
    frames = [HS[HS["school"] == g] for g in gold["groups"]]
    for level, equal in LEVEL_EQUAL.items():
        fitted = fit_ml(frames, MODEL, groups=gold["groups"], equal=equal, missing="fiml")
        theirs = pd.DataFrame(gold["levels"][level]["loadings"])
        np.testing.assert_allclose(fitted.standardized_loadings()["std_all"], theirs["std_all"], atol=1e-5)


def test_em_moments_reach_the_saturated_optimum():
    rng = np.random.default_rng(7)
    cov = np.array([[1.0, 0.6, 0.3], [0.6, 1.0, 0.5], [0.3, 0.5, 1.0]])
    y = rng.multivariate_normal([1, 2, 3], cov, size=400)
    y[rng.random(y.shape) < 0.25] = np.nan
    mu, sigma = em_moments(y)
    # at the optimum the observed-data log-likelihood's gradient vanishes: perturbing any
    # moment lowers it
    from servqual.sem import _patterns

    f0, big, dmu = _patterns(y).terms(sigma, mu)
    assert np.abs(big).max() < 1e-8 and np.abs(dmu).max() < 1e-8
    # complete data: EM gives the sample moments in one step
    full = rng.normal(size=(50, 3))
    mu, sigma = em_moments(full)
    np.testing.assert_allclose(mu, full.mean(axis=0))
    np.testing.assert_allclose(sigma, np.cov(full, rowvar=False, ddof=0))


def test_pairs_nobody_answered_together_are_named():
    frame = HS[ITEMS].copy()
    frame.loc[frame["x3"].notna(), "x6"] = np.nan  # x3 and x6 never answered together
    with pytest.raises(ValueError, match=r"no respondent answered both items of 1 pair\(s\) \(x3 & x6\)"):
        sq.cfa(frame, MODEL, missing="fiml")


# ---------------------------------------------------------------- the LibQUAL-Lite sample
LITE_GOLD = json.loads((ROOT / "tests" / "golden" / "fiml_lite.json").read_text())
LITE_ITEMS = [f"AS{k}" for k in range(1, 10)] + [f"IC{k}" for k in range(1, 9)] + [f"LP{k}" for k in range(1, 6)]


def lite_frame() -> pd.DataFrame:
    """Perceived ratings as R reads them: N/A (0) missing, everyone who rated an item."""
    raw = pd.read_csv(ROOT / "data" / "raw" / "library-lite-2008.csv")
    frame = raw[[f"perceived_{i}" for i in LITE_ITEMS]].set_axis(LITE_ITEMS, axis=1).astype(float)
    frame = frame.where(frame != 0)
    frame["segment"] = raw["segment"]
    return frame[frame[LITE_ITEMS].notna().any(axis=1)].reset_index(drop=True)


def test_lite_sample_nobody_answered_everything_and_fiml_matches_lavaan():
    frame = lite_frame()
    assert frame[LITE_ITEMS].notna().all(axis=1).sum() == 0  # listwise deletion would leave no one
    with pytest.raises(ValueError, match="too few respondents"):
        sq.cfa(frame[LITE_ITEMS], LITE_GOLD["model"])
    gold = LITE_GOLD["single"]
    result = sq.cfa(frame[LITE_ITEMS], LITE_GOLD["model"], missing="fiml")
    check_fit(result.fit.to_dict(), gold["fit"], "Lite FIML")
    assert result.fit["logl"] == pytest.approx(gold["fit"]["logl"], rel=1e-9)
    theirs = pd.DataFrame(gold["loadings"])
    np.testing.assert_allclose(result.loadings["std_all"], theirs["std_all"], atol=1e-5)
    # every respondent counts where they answered: each core item is shown to everyone (answered
    # unless N/A), each sampled item to about 5/14 of the respondents
    assert result.item_n.to_dict() == frame[LITE_ITEMS].notna().sum().to_dict()
    assert result.item_n["AS1"] > 0.85 * len(frame) and 0.3 < result.item_n["AS2"] / len(frame) < 0.42


def test_lite_by_segment_likelihoods_match_lavaan_where_the_saturated_model_has_no_estimate():
    frame = lite_frame()
    gold = LITE_GOLD["segment"]
    groups = gold["configural"]["groups"]
    frames = [frame[frame["segment"] == g] for g in groups]
    for level, equal in (("configural", ()), ("metric", ("loadings",))):
        fitted = fit_ml(frames, LITE_GOLD["model"], groups=groups, equal=equal, missing="fiml")
        fm = fitted.fit_measures()
        assert fm["logl"] == pytest.approx(gold[level]["logl"], rel=1e-8)
        assert fm["bic"] == pytest.approx(gold[level]["bic"], rel=1e-8)
        assert fm["npar"] == gold[level]["npar"]
        np.testing.assert_allclose(fitted.standardized_loadings()["std_all"], gold[level]["std_all"], atol=1e-4)
        # the smaller segments have no saturated estimate: no χ²-based measure is invented
        assert not all(group.h1 for group in fitted.problem.groups)
        assert np.isnan(fm["chisq"]) and np.isnan(fm["cfi"]) and np.isnan(fm["rmsea"]) and np.isnan(fm["srmr"])
    result = sq.invariance(frame, LITE_GOLD["model"], group="segment", missing="fiml",
                           levels=("configural", "metric"))
    test = result.tests.loc["metric"]
    assert test["criterion"] == "BIC"
    assert test["delta_chisq"] == pytest.approx(2 * (gold["configural"]["logl"] - gold["metric"]["logl"]), rel=1e-6)
    assert test["decision"] == ("holds" if gold["metric"]["bic"] <= gold["configural"]["bic"] else "does not hold")
    assert "decided by the BIC" in str(result)
