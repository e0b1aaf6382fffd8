import json

import numpy as np
import pandas as pd
import pytest

import servqual as sq
from servqual.ipa import QUADRANTS, quadrant, stated_importance_source

from .conftest import DATA, GOLDEN, ROOT, SAMPLE


@pytest.fixture(scope="module")
def psy():
    return sq.read_survey(DATA / "fixture-psychometrics.csv", "servqual-22-1988", id="respondent_id",
                          segments=["segment"])


def test_quadrant_rules():
    assert quadrant(3, 7, 4, 6) == "concentrate here"
    assert quadrant(5, 7, 4, 6) == "keep up the good work"
    assert quadrant(3, 5, 4, 6) == "low priority"
    assert quadrant(5, 5, 4, 6) == "possible overkill"
    assert quadrant(4, 6, 4, 6) == "keep up the good work"  # on the crosshairs counts as high
    assert set(QUADRANTS) == {"concentrate here", "keep up the good work", "low priority", "possible overkill"}


def test_stated_importance_sources():
    assert stated_importance_source(sq.load_instrument("importance-performance")) == "importance"
    # the 100-point allocation states importance; expectations are a standard (used when no weights)
    assert stated_importance_source(sq.load_instrument("servqual-22")) == "weights"
    assert stated_importance_source(sq.load_instrument("library-core-22")) == "desired"
    assert stated_importance_source(sq.load_instrument("servperf-22")) == "weights"
    assert stated_importance_source(sq.load_instrument("hpws-staff")) is None


def test_one_importance_basis_best_first(psy):
    from servqual.ipa import importance_basis

    sample = sq.read_cycle(ROOT / "params" / "2005.yaml")
    assert importance_basis(sample).source == "weights"  # the allocation beats expectations
    ipa = sq.read_cycle(ROOT / "params" / "ipa-2007.yaml")
    assert importance_basis(ipa).source == "importance"  # an importance rating beats everything
    core = sq.read_cycle(ROOT / "params" / "library-core-2007.yaml")  # no allocation: the desired level
    assert importance_basis(core).source == "desired"
    staff = sq.read_survey(SAMPLE / "staff-hpws-2007.csv", "hpws-staff", id="respondent_id")
    assert importance_basis(staff) is None
    # the grid's default is that basis, the one the priorities use
    grid = sq.importance_performance(sample)
    assert set(grid["importance_source"]) == {"weights"}
    with pytest.raises(ValueError, match="importance must be 'auto', 'stated', 'derived', 'weights' or a measure"):
        sq.importance_performance(sample, importance="perceptions")


def test_grid_matches_r_and_quadrants_follow_crosshairs(psy):
    gold = pd.DataFrame(json.loads((GOLDEN / "compare.json").read_text())["ipa"]).set_index("item")
    grid = sq.importance_performance(psy, importance="expectation").set_index("item")
    assert list(grid.index) == list(psy.instrument.items)
    for col in ("performance", "importance_stated", "importance_derived"):
        np.testing.assert_allclose(grid[col], gold.loc[grid.index, col], rtol=1e-6, err_msg=col)
    assert grid["x_cross"].iloc[0] == pytest.approx(grid["performance"].mean())
    assert grid["y_cross"].iloc[0] == pytest.approx(grid["importance_stated"].mean())
    for item, row in grid.iterrows():
        high_i = row["importance"] >= row["y_cross"]
        high_p = row["performance"] >= row["x_cross"]
        expected = {(True, False): "concentrate here", (True, True): "keep up the good work",
                    (False, False): "low priority", (False, True): "possible overkill"}[(high_i, high_p)]
        assert row["quadrant"] == expected, item
    assert grid["quadrant"].nunique() >= 3


def test_crosshair_options_and_derived_importance(psy):
    median = sq.importance_performance(psy, importance="expectation", crosshair="median")
    assert median["x_cross"].iloc[0] == pytest.approx(median["performance"].median())
    mid = sq.importance_performance(psy, importance="expectation", crosshair="midpoint")
    assert (mid["x_cross"] == 4).all() and (mid["y_cross"] == 4).all()
    # every item performs above the scale midpoint and matters more than it: one quadrant
    assert set(mid["quadrant"]) == {"keep up the good work"}
    derived = sq.importance_performance(psy, importance="derived")
    assert (derived["importance"] == derived["importance_derived"]).all()
    assert derived["importance"].between(0, 1).all()
    with pytest.raises(ValueError, match="midpoint crosshair needs stated importance"):
        sq.importance_performance(psy, importance="derived", crosshair="midpoint")
    with pytest.raises(ValueError, match="crosshair must be one of"):
        sq.importance_performance(psy, crosshair="centre")


def test_weights_as_stated_importance_at_dimension_level():
    perf = sq.read_survey(SAMPLE / "library-2005.csv", "servperf-22", columns={"perception": "P{index:02d}"},
                          id="respondent_id")
    grid = sq.importance_performance(perf, "dimension", crosshair="midpoint")
    assert set(grid["importance_source"]) == {"weights"}
    np.testing.assert_allclose(grid["importance_stated"].to_numpy(), perf.weights.mean().to_numpy())
    assert (grid["y_cross"] == 20).all()  # 100 points over five dimensions
    assert grid["importance_stated"].sum() == pytest.approx(100)


def test_ipa_instrument_by_segment_with_suppression():
    survey = sq.read_survey(SAMPLE / "client-ipa-2007.csv", "importance-performance", id="respondent_id",
                            segments=["segment"])
    grid = sq.importance_performance(survey, by="segment", min_group_n=100)
    small = grid["suppressed"]
    assert small.any()
    assert (grid.loc[small, "quadrant"] == "").all() and grid.loc[small, "performance"].isna().all()
    with pytest.raises(ValueError, match="asks no importance"):
        staff = sq.read_survey(SAMPLE / "staff-hpws-2007.csv", "hpws-staff", id="respondent_id")
        sq.importance_performance(staff)
