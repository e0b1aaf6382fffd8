"""Measurement invariance and the ML CFA engine against lavaan (tests/r/invariance.R)."""

import json

import numpy as np
import pandas as pd
import pytest

import servqual as sq
from servqual.invariance import DELTA_CFI, DELTA_RMSEA, describe_tests
from servqual.sem import fit_ml, parse_model

from .conftest import ROOT

GOLD = json.loads((ROOT / "tests" / "golden" / "invariance.json").read_text())
HS = pd.read_csv(ROOT / "tests" / "data" / "holzinger-swineford.csv")
FIT_KEYS = {"npar": "npar", "chisq": "chisq", "df": "df", "p": "pvalue", "cfi": "cfi", "tli": "tli", "rmsea": "rmsea",
            "rmsea_ci_low": "rmsea.ci.lower", "rmsea_ci_high": "rmsea.ci.upper", "srmr": "srmr", "aic": "aic",
            "bic": "bic", "n": "ntotal"}
LEVEL_EQUAL = {"configural": (), "metric": ("loadings",), "scalar": ("loadings", "intercepts"),
               "strict": ("loadings", "intercepts", "residuals")}


def check_fit(ours: dict, theirs: dict, where: str) -> None:
    for key, r_key in FIT_KEYS.items():
        if key in ("npar", "df", "n"):
            assert ours[key] == theirs[r_key], (where, key)
        elif key in ("chisq", "aic", "bic", "cfi", "tli", "rmsea"):  # at lavaan's optimum: 1e-6 relative
            assert ours[key] == pytest.approx(theirs[r_key], rel=1e-6), (where, key)
        else:  # SRMR and the interval bounds move with lavaan's own stopping point: 1e-5
            assert ours[key] == pytest.approx(theirs[r_key], rel=1e-5, abs=1e-9), (where, key)


def test_single_group_cfa_reaches_lavaans_optimum():
    gold = GOLD["hs_single"]
    fitted = fit_ml([HS], GOLD["model"]["hs"])
    check_fit(fitted.fit_measures(), gold["fit"], "HS")
    # our minimum is lavaan's or lower (lavaan stops a hair early): never above it
    assert fitted.fit_measures()["chisq"] <= gold["fit"]["chisq"] * (1 + 1e-12)
    theirs = pd.DataFrame(gold["loadings"])
    ours = fitted.standardized_loadings()
    np.testing.assert_allclose(ours["estimate"], theirs["estimate"], atol=1e-5)
    np.testing.assert_allclose(ours["std_all"], theirs["std_all"], atol=1e-5)
    result = sq.cfa(HS, GOLD["model"]["hs"])
    assert result.fit["chisq"] == pytest.approx(gold["fit"]["chisq"], rel=1e-9)


@pytest.mark.parametrize("case", ["hs_school", "hs_school_partial"])
def test_holzinger_swineford_by_school(case):
    gold = GOLD[case]
    partial = {"intercepts": ["x3", "x7"]} if case == "hs_school_partial" else None
    result = sq.invariance(HS, GOLD["model"]["hs"], group="school", partial=partial)
    assert list(result.groups["group"]) == gold["groups"] and list(result.groups["n"]) == gold["n"]
    for level in LEVEL_EQUAL:
        check_fit(result.fits.loc[level].to_dict(), gold["levels"][level]["fit"], f"{case} {level}")
        # each group's share of χ² moves with lavaan's stopping point more than the total does
        np.testing.assert_allclose(result.groups[f"chisq_{level}"], gold["levels"][level]["chisq_group"], rtol=1e-5)
    lrt = pd.DataFrame(gold["lrt"]).iloc[1:]
    np.testing.assert_allclose(result.tests["delta_chisq"], lrt["chisq_diff"], rtol=1e-6)
    np.testing.assert_allclose(result.tests["delta_df"], lrt["df_diff"])
    np.testing.assert_allclose(result.tests["p"], lrt["p"], rtol=1e-5)
    # loadings, intercepts and latent means per group, at every level
    terms = ["x3 ~ 1", "x7 ~ 1"] if partial else []
    frames = [HS[HS["school"] == g] for g in gold["groups"]]
    for level, equal in LEVEL_EQUAL.items():
        fitted = fit_ml(frames, GOLD["model"]["hs"], groups=gold["groups"], equal=equal, partial=terms)
        theirs = pd.DataFrame(gold["levels"][level]["loadings"])
        ours = fitted.standardized_loadings()
        np.testing.assert_allclose(ours["std_all"], theirs["std_all"], atol=1e-4)
        intercepts = pd.DataFrame(gold["levels"][level]["intercepts"])
        nu = np.concatenate([fitted.group_matrices(g)["nu"].ravel() for g in range(2)])
        np.testing.assert_allclose(nu, intercepts["estimate"], atol=1e-4)
        means = pd.DataFrame(gold["levels"][level]["latent_means"])
        kappa = np.concatenate([fitted.group_matrices(g)["kappa"].ravel() for g in range(2)])
        np.testing.assert_allclose(kappa, means["estimate"], atol=1e-4)


def test_equal_latent_means_are_held_at_group_ones_zero():
    gold = GOLD["hs_school_means"]
    frames = [HS[HS["school"] == g] for g in GOLD["hs_school"]["groups"]]
    fitted = fit_ml(frames, GOLD["model"]["hs"], groups=GOLD["hs_school"]["groups"],
                    equal=("loadings", "intercepts", "means"))
    check_fit(fitted.fit_measures(), gold["fit"], "means")
    assert all((fitted.group_matrices(g)["kappa"] == 0).all() for g in range(2))


def test_sample_cycles_by_segment_and_by_year():
    survey = sq.read_cycle(ROOT / "params" / "2005.yaml")
    by_segment = sq.invariance(survey, group="segment")
    gold = GOLD["servqual_segment"]
    assert list(by_segment.groups["group"]) == gold["groups"] and list(by_segment.groups["n"]) == gold["n"]
    for level in LEVEL_EQUAL:
        check_fit(by_segment.fits.loc[level].to_dict(), gold["levels"][level]["fit"], f"segment {level}")
    cycles = [sq.read_cycle(ROOT / "params" / f"{y}.yaml") for y in (2005, 2006, 2007)]
    by_year = sq.invariance(cycles, group="year")
    gold = GOLD["servqual_year"]
    assert list(by_year.groups["group"]) == gold["groups"]
    for level in LEVEL_EQUAL:
        check_fit(by_year.fits.loc[level].to_dict(), gold["levels"][level]["fit"], f"year {level}")
    # the synthetic cycles are generated from one model: every step holds
    assert by_year.supported == "strict" and "compare like with like" in by_year.meaning
    # groups named in the order they first occur in the data, as lavaan orders them
    assert by_segment.sentence().startswith(f"Across segment groups ({', '.join(by_segment.groups['group'])})")


def test_decisions_follow_the_stated_cut_offs():
    result = sq.invariance(HS, GOLD["model"]["hs"], group="school")
    tests = result.tests
    # metric holds (ΔCFI −.002); scalar does not (ΔCFI −.038): the school example's textbook result
    assert tests.loc["metric", "decision"] == "holds" and tests.loc["scalar", "decision"] == "does not hold"
    assert result.supported == "metric" and "mean differences" in result.meaning
    expected = (tests["delta_cfi"] >= -DELTA_CFI) & (tests["delta_rmsea"] <= DELTA_RMSEA)
    assert list(tests["decision"] == "holds") == list(expected) and DELTA_CFI == 0.01 and DELTA_RMSEA == 0.015
    assert "ΔCFI = −0.038" in "\n".join(describe_tests(result))


def test_bad_input_is_named():
    survey = sq.read_cycle(ROOT / "params" / "2005.yaml")
    with pytest.raises(ValueError, match="group 'segmnt' is not a column"):
        sq.invariance(survey, group="segmnt")
    with pytest.raises(ValueError, match="give the model in lavaan syntax"):
        sq.invariance(HS, group="school")
    with pytest.raises(ValueError, match="unknown level 'weak'"):
        sq.invariance(HS, GOLD["model"]["hs"], group="school", levels=("configural", "weak"))
    with pytest.raises(ValueError, match="missing must be 'listwise' or 'fiml'"):
        sq.invariance(HS, GOLD["model"]["hs"], group="school", missing="pairwise")
    with pytest.raises(ValueError, match="at least two groups"):
        sq.invariance(HS.assign(school="one"), GOLD["model"]["hs"], group="school")
    with pytest.raises(ValueError, match="not an item of the model"):
        sq.invariance(HS, GOLD["model"]["hs"], group="school", partial={"loadings": ["x10"]})
    with pytest.raises(ValueError, match="neither a measurement"):
        parse_model("visual =~ x1 + x2\nx1 ~ x2")
