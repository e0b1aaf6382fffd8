"""CFA of ordered items (WLSMV) against lavaan (tests/r/wlsmv.R)."""

import json

import numpy as np
import pandas as pd
import pytest

import servqual as sq
from servqual.wls import fit_wlsmv, ordinal_stats

from .conftest import ROOT

GOLD = json.loads((ROOT / "tests" / "golden" / "wlsmv.json").read_text())
ITEMS = [f"T{k}" for k in range(1, 5)] + [f"RL{k}" for k in range(1, 6)] + [f"RS{k}" for k in range(1, 5)]
KEYS = {"chisq": "chisq", "df": "df", "chisq_scaled": "chisq.scaled", "p_scaled": "pvalue.scaled",
        "scaling_factor": "chisq.scaling.factor", "cfi": "cfi", "tli": "tli", "cfi_scaled": "cfi.scaled",
        "tli_scaled": "tli.scaled", "rmsea": "rmsea", "rmsea_scaled": "rmsea.scaled", "srmr": "srmr",
        "baseline_chisq": "baseline.chisq", "baseline_chisq_scaled": "baseline.chisq.scaled", "npar": "npar",
        "n": "ntotal"}


def data(case):
    if case == "hs3":
        return pd.read_csv(ROOT / "tests" / "data" / "holzinger-swineford-3.csv"), GOLD["model"]["hs"]
    raw = pd.read_csv(ROOT / "data" / "raw" / "library-2005.csv")
    frame = raw[[f"P{k:02d}" for k in range(1, 14)]].set_axis(ITEMS, axis=1).dropna()
    return frame, GOLD["model"]["servqual"]


@pytest.mark.parametrize("case", ["servqual", "hs3"])
def test_thresholds_polychorics_and_gamma_match_lavaan(case):
    frame, model = data(case)
    gold = GOLD[case]
    items = [c for c in frame.columns]
    st = ordinal_stats(frame[items])
    np.testing.assert_allclose(np.concatenate(st.thresholds), gold["thresholds"], atol=1e-12)
    np.testing.assert_allclose(st.rho, gold["polychoric"], atol=1e-6)
    np.testing.assert_allclose(np.diag(st.gamma), gold["gamma_diag"], rtol=1e-5)


@pytest.mark.parametrize("case", ["servqual", "hs3"])
def test_wlsmv_estimates_and_scaled_test_match_lavaan(case):
    frame, model = data(case)
    gold = GOLD[case]
    result = sq.cfa(frame, model, ordered=True)
    assert result.estimator == "WLSMV"
    for key, r_key in KEYS.items():
        # RMSEA near 0 magnifies the last digits of χ² − df: absolute 1e-6 there
        assert result.fit[key] == pytest.approx(gold["fit"][r_key], rel=1e-5, abs=1e-6 if "rmsea" in key else 1e-9), key
    theirs = pd.DataFrame(gold["loadings"])
    ours = result.loadings.set_index(["factor", "item"]).loc[list(zip(theirs["factor"], theirs["item"]))]
    np.testing.assert_allclose(ours["estimate"], theirs["estimate"], atol=1e-5)
    np.testing.assert_allclose(ours["std_all"], theirs["std_all"], atol=1e-5)
    cov = pd.DataFrame(gold["factor_cov"])
    variances = cov[cov["lhs"] == cov["rhs"]]
    np.testing.assert_allclose(result.factor_variances.loc[variances["lhs"]], variances["estimate"], atol=1e-5)
    assert "WLSMV" in str(result) and "scaled χ²" in str(result)
    assert np.allclose(np.diag(result.implied), 1.0)


def test_ordered_needs_complete_respondents_and_ordered_categories():
    frame, model = data("hs3")
    with pytest.raises(ValueError, match="ordered=True fits complete respondents"):
        sq.cfa(frame, model, ordered=True, missing="fiml")
    flat = frame.assign(x1=1)
    with pytest.raises(ValueError, match="item x1 has a single answer category"):
        fit_wlsmv(flat, model)
