"""pingouin as a second implementation: alpha and the paired gap test agree with it."""

import warnings

import numpy as np
import pytest

import servqual as sq

from .conftest import ROOT

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pingouin's own import-time deprecation notices
    import pingouin as pg


@pytest.fixture(scope="module")
def survey():
    return sq.read_cycle(ROOT / "params" / "2005.yaml")


def test_alpha_equals_pingouin(survey):
    frame = survey.ratings("perception")
    for dimension, items in survey.instrument.dimensions.items():
        block = frame[list(items)]
        theirs, _ = pg.cronbach_alpha(block, nan_policy="pairwise")
        assert sq.alpha_report(block).alpha == pytest.approx(theirs, rel=1e-9), dimension


def test_paired_gap_test_equals_pingouin(survey):
    table = sq.gap_tests(survey, level="dimension")
    per_respondent = sq.scores(survey, "dimension")
    for row in table.itertuples():
        p = per_respondent[("perception", row.dimension)].to_numpy()
        e = per_respondent[("expectation", row.dimension)].to_numpy()
        ok = ~np.isnan(p) & ~np.isnan(e)
        theirs = pg.ttest(p[ok], e[ok], paired=True)
        assert row.statistic == pytest.approx(float(theirs["T"].iloc[0]), rel=1e-9)
        p_column = "p_val" if "p_val" in theirs.columns else "p-val"  # pingouin < 0.6 spelled it p-val
        assert row.p == pytest.approx(float(theirs[p_column].iloc[0]), rel=1e-6, abs=1e-300)
