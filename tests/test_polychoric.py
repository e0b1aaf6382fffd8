"""Polychoric correlations against psych::polychoric and polycor::polychor (tests/r/polychoric.R)."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import servqual as sq
from servqual.polychoric import (
    _cell_probabilities,
    bivariate_normal_cdf,
    polychoric_pair,
    smooth_correlation,
)

from .conftest import ROOT

GOLD = json.loads((ROOT / "tests" / "golden" / "polychoric.json").read_text())
ITEMS = GOLD["sample_2005"]["items"]


@pytest.fixture(scope="module")
def sample():
    raw = pd.read_csv(ROOT / "data" / "raw" / "library-2005.csv")
    frame = raw[[f"P{k:02d}" for k in range(1, 23)]]
    frame.columns = ITEMS
    return frame


def finite(a):
    a = np.array(a, dtype=float)
    return np.where(np.isinf(a), np.sign(a) * 99, a)


def pair_table(sample, a, b) -> np.ndarray:
    both = sample[[a, b]].dropna().astype(int) - 1
    table = np.zeros((7, 7))
    np.add.at(table, (both[a], both[b]), 1)
    return table


def two_step_loglik(r, table, tau_a, tau_b) -> float:
    p = _cell_probabilities(r, tau_a, tau_b)
    ok = p > 0
    return float((table[ok] * np.log(p[ok])).sum())


def profile_loglik(r, table, start_a, start_b) -> float:
    """The log-likelihood at ρ = r with both items' thresholds at their best for that r."""
    ka = table.shape[0] - 1

    def f(v):
        ta = np.r_[v[0], v[0] + np.cumsum(np.exp(v[1:ka]))]
        tb = np.r_[v[ka], v[ka] + np.cumsum(np.exp(v[ka + 1:]))]
        return -(table * np.log(np.maximum(_cell_probabilities(r, ta, tb), 1e-300))).sum()

    start = np.r_[start_a[0], np.log(np.diff(start_a)), start_b[0], np.log(np.diff(start_b))]
    return -optimize.minimize(f, start, method="BFGS", options={"gtol": 1e-9}).fun


def test_bivariate_normal_cdf_is_exact():
    h = np.array([0.3, -1.2, 1.5, -2.5, 0.0])
    k = np.array([-0.4, 0.7, 1.9, -2.2, np.inf])
    for rho in (-0.95, -0.3, 0.0, 0.45, 0.85, 0.99):
        theirs = [stats.multivariate_normal(cov=[[1, rho], [rho, 1]]).cdf([a, b]) if np.isfinite(b)
                  else stats.norm.cdf(a) for a, b in zip(h, k)]
        np.testing.assert_allclose(bivariate_normal_cdf(h, k, rho), theirs, atol=1e-7)
    assert float(bivariate_normal_cdf(0.0, 0.0, 0.5)[0]) == pytest.approx(1 / 3, abs=1e-15)


@pytest.mark.parametrize("case", ["sample_2005", "psychometrics"])
def test_matches_psych_polychoric(case, sample):
    if case == "sample_2005":
        frame = sample
    else:
        frame = sq.read_survey(ROOT / "tests" / "data" / "fixture-psychometrics.csv", "servqual-22-1988",
                               id="respondent_id").ratings("perception")
    assert list(frame.columns) == ITEMS
    result = sq.polychoric(frame)
    gold = GOLD[case]
    # psych's optimize() stops at a tolerance of about 1e-4; the thresholds are closed-form
    np.testing.assert_allclose(result.rho.to_numpy(), np.array(gold["rho"]), atol=1e-4)
    np.testing.assert_allclose(finite(result.tau.to_numpy()), finite(gold["tau"]), atol=1e-12)
    assert (np.diag(result.rho) == 1).all() and np.allclose(result.rho, result.rho.T)
    assert result.n.loc["T1", "T1"] == frame["T1"].notna().sum()


def test_each_rho_is_the_likelihood_maximum(sample):
    """Our ρ is the exact two-step optimum: the likelihood is lower a little either side."""
    result = sq.polychoric(sample[["T1", "RS1", "E3"]], smooth=False)
    tau = result.tau
    for a, b in (("T1", "RS1"), ("RS1", "E3")):
        table = pair_table(sample, a, b)
        ta, tb = tau.loc[a].to_numpy(), tau.loc[b].to_numpy()
        rho = result.rho.loc[a, b]
        best = two_step_loglik(rho, table, ta, tb)
        assert best >= two_step_loglik(rho + 1e-5, table, ta, tb) and best >= two_step_loglik(rho - 1e-5, table, ta, tb)


def test_pairs_by_full_ml_match_polycor(sample):
    for pair in GOLD["polychor_ml"]:
        ours = polychoric_pair(sample[pair["x"]], sample[pair["y"]], ml=True)
        # polycor's probabilities come from mvtnorm::pmvnorm (randomised, abseps = 1e-3), so it
        # stops near, not at, the maximum: within 3e-3, and never with a higher likelihood than ours
        assert ours["rho"] == pytest.approx(pair["rho"], abs=3e-3)
        table = pair_table(sample, pair["x"], pair["y"])
        table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
        assert ours["loglik"] >= profile_loglik(pair["rho"], table, ours["tau_x"], ours["tau_y"]) - 1e-6


def test_smoothing_and_bad_input():
    bad = np.array([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]])
    fixed = smooth_correlation(bad)
    assert np.linalg.eigvalsh(fixed).min() > 0 and np.allclose(np.diag(fixed), 1)
    good = np.eye(3)
    assert smooth_correlation(good) is good
    with pytest.raises(ValueError, match="whole-number ratings; found 2.5"):
        sq.polychoric(pd.DataFrame({"a": [1, 2.5, 3], "b": [1, 2, 3]}))
    with pytest.raises(ValueError, match="item 'b' has no variance"):
        sq.polychoric(pd.DataFrame({"a": [1, 2, 3], "b": [2, 2, 2]}))
    with pytest.raises(ValueError, match="more than 8"):
        sq.polychoric(pd.DataFrame({"a": [1, 10, 3], "b": [1, 2, 3]}))
    with pytest.raises(TypeError, match="takes a DataFrame"):
        sq.polychoric([[1, 2], [2, 1]])


def test_efa_on_polychorics_matches_psych_fa_cor_poly(sample):
    gold = GOLD["efa_poly"]
    result = sq.efa(sample, 5, correlation="polychoric")
    assert list(result.loadings.index) == gold["items"]
    ours, theirs = result.loadings.to_numpy(), np.array(gold["loadings"])
    # factors are matched by content (psych orders them by variance after rotation, as we do; signs may flip)
    perm = [int(np.argmax([abs(np.corrcoef(ours[:, i], theirs[:, j])[0, 1]) for i in range(5)])) for j in range(5)]
    assert sorted(perm) == list(range(5))
    signs = np.sign([np.corrcoef(ours[:, perm[j]], theirs[:, j])[0, 1] for j in range(5)])
    np.testing.assert_allclose(ours[:, perm] * signs, theirs, atol=1e-3)
    np.testing.assert_allclose(result.communalities.to_numpy(), gold["communality"], atol=1e-3)
    with pytest.raises(ValueError, match="correlation must be 'pearson' or 'polychoric'"):
        sq.efa(sample, 5, correlation="spearman")


def test_ordinal_alpha_matches_psych_alpha_on_polychorics(sample):
    gold = GOLD["ordinal_alpha"]
    block = sample[["RL1", "RL2", "RL3", "RL4", "RL5"]]
    report = sq.alpha_report(block, correlation="polychoric")
    total = report.total
    # psych::alpha(polychoric(x)$rho, n.obs = n): the polychorics agree to ~2e-5, so alpha to 1e-5
    for ours, theirs in (("raw_alpha", "raw_alpha"), ("std_alpha", "std.alpha"), ("g6_smc", "G6(smc)"),
                         ("average_r", "average_r"), ("s_n", "S/N"), ("ase", "ase")):
        assert total[ours] == pytest.approx(gold["total"][theirs], rel=1e-4, abs=1e-5), ours
    assert total["raw_alpha"] == total["std_alpha"] and report.n_obs == gold["n_obs"]
    np.testing.assert_allclose(report.if_dropped["raw_alpha"], gold["drop_raw_alpha"], atol=1e-5)
    np.testing.assert_allclose(report.items["r_cor"], gold["r_cor"], atol=5e-5)  # smc of psych's ρ (±2e-5)
    np.testing.assert_allclose(report.items["r_drop"], gold["r_drop"], atol=5e-5)
    assert report.alpha > sq.alpha_report(block).alpha  # ordinal alpha is not attenuated by the coarse scale
    with pytest.raises(ValueError, match="bootstrap is not offered for ordinal alpha"):
        sq.alpha_report(block, correlation="polychoric", n_boot=200)


def test_reliability_ordinal():
    survey = sq.read_cycle(ROOT / "params" / "2005.yaml")
    ordinal = sq.reliability(survey, "perception", ordinal=True)
    plain = sq.reliability(survey, "perception")
    assert (ordinal["raw_alpha"] > plain["raw_alpha"]).all()
    dims = ordinal[ordinal["dimension"] != "all_items"]
    assert (dims["omega_total"] > 0.7).all() and (dims["omega_total"] < 1).all()
    with pytest.raises(ValueError, match="is a gap, whose item differences are not ordinal"):
        sq.reliability(survey, "gap", ordinal=True)
