import json

import numpy as np
import pandas as pd
import pytest

import servqual as sq
from servqual.dimensionality import _max_factors, _model_items

from .conftest import DATA, GOLDEN

GOLD = json.loads((GOLDEN / "dimensionality.json").read_text())
FIT_KEYS = {"chisq": "chisq", "df": "df", "pvalue": "p", "cfi": "cfi", "tli": "tli", "rmsea": "rmsea",
            "rmsea.ci.lower": "rmsea_ci_low", "rmsea.ci.upper": "rmsea_ci_high", "srmr": "srmr",
            "aic": "aic", "bic": "bic", "npar": "npar", "ntotal": "n"}


@pytest.fixture(scope="module")
def psy():
    return sq.read_survey(DATA / "fixture-psychometrics.csv", "servqual-22-1988", id="respondent_id",
                          segments=["segment"])


@pytest.fixture(scope="module")
def perception(psy):
    return psy.ratings("perception")


def test_sampling_adequacy_matches_psych(perception, fixture_survey):
    for frame, key in ((perception, "adequacy_psychometrics"), (fixture_survey.ratings("perception"), "adequacy_servqual")):
        gold = GOLD[key]
        result = sq.sampling_adequacy(frame)
        assert result.n == gold["n"]
        assert result.kmo == pytest.approx(gold["kmo"], rel=1e-6)
        np.testing.assert_allclose(result.kmo_items.to_numpy(), list(gold["kmo_items"].values()), rtol=1e-6)
        assert list(result.kmo_items.index) == list(gold["kmo_items"])
        assert result.bartlett["chisq"] == pytest.approx(gold["chisq"], rel=1e-6)
        assert result.bartlett["df"] == gold["df"]
        assert result.bartlett["p"] == pytest.approx(gold["p_value"], rel=1e-6, abs=1e-300)
    assert sq.kmo(perception)[0] == pytest.approx(GOLD["adequacy_psychometrics"]["kmo"], rel=1e-6)
    assert "KMO = " in str(sq.sampling_adequacy(perception))


def _match(ours: np.ndarray, theirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column permutation and signs that align our factors with R's (Tucker congruence)."""
    congruence = np.abs(theirs.T @ ours) / np.outer(np.linalg.norm(theirs, axis=0), np.linalg.norm(ours, axis=0))
    perm = congruence.argmax(axis=1)
    assert len(set(perm)) == len(perm), "factors could not be matched one to one"
    signs = np.sign((theirs * ours[:, perm]).sum(axis=0))
    return perm, signs


@pytest.mark.parametrize("case", list(GOLD["efa"]))
def test_efa_matches_psych_fa(case, perception, fixture_survey):
    gold = GOLD["efa"][case]
    frame = fixture_survey.ratings("perception") if case.startswith("servqual") else perception
    result = sq.efa(frame, gold["nfactors"], method=gold["fm"], rotation=gold["rotate"])
    theirs = np.array(gold["loadings"]).T
    assert list(result.loadings.index) == gold["items"]
    perm, signs = _match(result.loadings.to_numpy(), theirs)
    np.testing.assert_allclose(result.loadings.to_numpy()[:, perm] * signs, theirs, atol=1e-3)
    np.testing.assert_allclose(result.communalities.to_numpy(), gold["communality"], atol=1e-3)
    np.testing.assert_allclose(result.variance["ss_loadings"].to_numpy()[perm], gold["ss_loadings"], rtol=1e-3)
    if result.phi is None:  # orthogonal: psych reports no Phi, or an identity
        assert not gold["phi"]  # jsonlite writes NULL as {}
    else:
        phi = result.phi.to_numpy()[np.ix_(perm, perm)] * np.outer(signs, signs)
        np.testing.assert_allclose(phi, np.array(gold["phi"]).T, atol=1e-3)
    # psych's conventions: factors sorted by variance explained, loadings summing positive
    assert (np.diff(result.variance["ss_loadings"].to_numpy()) <= 1e-12).all()
    assert (result.loadings.sum() > 0).all()


def test_efa_recovers_the_five_servqual_dimensions(perception, psy):
    result = sq.efa(perception, 5)
    primary = result.loadings.abs().idxmax(axis=1)
    for dim, items in psy.instrument.dimensions.items():
        assert primary[list(items)].nunique() == 1, dim
    assert primary.nunique() == 5
    assert "h2" in str(result) and "Factor correlations" in str(result)


def test_efa_errors(perception):
    assert _max_factors(22) == 15 and _max_factors(4) == 1
    with pytest.raises(ValueError, match="n_factors=16 is too many for 22 items.*at most 15 factors"):
        sq.efa(perception, 16)
    with pytest.raises(ValueError, match="n_factors must be a whole number"):
        sq.efa(perception, 0)
    with pytest.raises(ValueError, match="rotation must be one of"):
        sq.efa(perception, 2, rotation="quartimax")
    with pytest.raises(ValueError, match="method must be one of"):
        sq.efa(perception, 2, method="pa")


def test_parallel_analysis_is_seeded_and_finds_the_structure(perception):
    a = sq.parallel_analysis(perception, n_iter=40, seed=3)
    b = sq.parallel_analysis(perception, n_iter=40, seed=3)
    pd.testing.assert_frame_equal(a.eigenvalues, b.eigenvalues)
    # factors: the five dimensions; components under-extract correlated factors (a known
    # property of PCA-based parallel analysis), so only a bound is asserted for them
    assert a.n_factors == 5 and 1 <= a.n_components <= a.n_factors
    obs = a.eigenvalues["observed_pc"]
    assert obs.sum() == pytest.approx(22)  # eigenvalues of a correlation matrix sum to p
    assert "suggests 5 factors" in str(a)


@pytest.mark.parametrize("name", ["dimensions", "one_factor", "bifactor"])
def test_cfa_matches_lavaan(name, perception, psy):
    gold = GOLD["cfa"][name]
    model = sq.instrument_models(psy.instrument)[name]
    result = sq.cfa(perception, model, name=name)
    for r_key, key in FIT_KEYS.items():
        expected = gold["fit"][r_key]
        if r_key in ("rmsea", "rmsea.ci.lower") and expected == 0:
            assert result.fit[key] == pytest.approx(0, abs=1e-6)
        elif key in ("chisq", "aic", "bic", "cfi", "tli"):  # lavaan's optimum, to 1e-6 (issue 16)
            assert result.fit[key] == pytest.approx(expected, rel=1e-6), (name, key)
        else:
            assert result.fit[key] == pytest.approx(expected, rel=1e-5, abs=1e-7), (name, key)
    theirs = pd.DataFrame(gold["loadings"]).rename(columns={"lhs": "factor", "rhs": "item"})
    merged = result.loadings.merge(theirs, on=["factor", "item"], validate="one_to_one")
    assert len(merged) == len(theirs)
    np.testing.assert_allclose(merged["std_all"], merged["est.std"], atol=1e-5)


def test_compare_models_one_table(perception, psy):
    table = sq.compare_models(perception, sq.instrument_models(psy.instrument))
    assert list(table.index) == ["dimensions", "one_factor", "bifactor"]
    assert {"chisq", "df", "p", "cfi", "tli", "rmsea", "rmsea_ci_low", "rmsea_ci_high", "srmr", "aic",
            "bic"} <= set(table.columns)
    assert table.loc["dimensions", "cfi"] > table.loc["one_factor", "cfi"]
    assert table.loc["dimensions", "bic"] < table.loc["one_factor", "bic"]
    assert table["n"].nunique() == 1


def test_user_models_in_lavaan_syntax(perception):
    model = """# responsiveness and assurance merged, as the 1991 study suggested
    tangibles =~ T1 + T2 + T3 + T4
    reliability =~ RL1 + RL2 + RL3 + RL4 + RL5
    resp_assurance =~ RS1 + RS2 + RS3 + RS4 + A1 + A2 + A3 + A4
    empathy =~ E1 + E2 + E3 + E4 + E5"""
    factors, items = _model_items(model)
    assert list(factors) == ["tangibles", "reliability", "resp_assurance", "empathy"] and len(items) == 22
    result = sq.cfa(perception, model, name="merged")
    assert result.fit["df"] == 203
    assert result.factor_correlations.shape == (4, 4)
    with pytest.raises(ValueError, match="names unknown item\\(s\\) 'T5'"):
        sq.cfa(perception, "tangibles =~ T1 + T2 + T5")
    with pytest.raises(ValueError, match="defines no factor"):
        sq.cfa(perception, "T1 ~ T2")
    with pytest.raises(ValueError, match="too few respondents for model .*: 20 answered all 4 items"):
        sq.cfa(perception.dropna(subset=["T1", "T2", "T3", "T4"]).head(20), "tangibles =~ T1 + T2 + T3 + T4")


def test_bartlett_from_a_correlation_matrix_with_explicit_n(perception):
    complete = perception.dropna()
    from_data = sq.bartlett_sphericity(complete)
    from_matrix = sq.bartlett_sphericity(complete.corr(), n=len(complete))  # psych::cortest.bartlett(R, n)
    for key in ("chisq", "df", "p", "n"):
        assert from_matrix[key] == pytest.approx(from_data[key], rel=1e-12), key
    with pytest.raises(ValueError, match="takes a correlation matrix"):
        sq.bartlett_sphericity(complete, n=len(complete))
    with pytest.raises(ValueError, match="larger than the 22 items"):
        sq.bartlett_sphericity(complete.corr(), n=10)
