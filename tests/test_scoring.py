import json
import math

import numpy as np
import pandas as pd
import pytest

import servqual as sq
from servqual.scoring import suppress_small_groups

from .conftest import GOLDEN, SAMPLE, write

RTOL = 1e-9


def golden(name):
    return pd.DataFrame(json.loads((GOLDEN / name).read_text()))


def compare_with_r(survey, gold: pd.DataFrame, *, paired: bool, ci: float) -> int:
    """Every value of every golden row against gap_table; returns the values compared."""
    inst = survey.instrument
    gold = gold[(gold["paired"] == paired) & np.isclose(gold["ci_level"], ci)]
    compared = 0
    for (level, grouping), part in gold.groupby(["level", "grouping"]):
        by = "segment" if grouping == "segment" else None
        table = sq.gap_table(survey, level, by=by, ci=ci, paired=paired, min_group_n=None)
        unit_col = "item" if level == "item" else "dimension"
        if by is None:
            table = table.assign(segment="ALL")
        table = table.set_index(["segment", unit_col])
        expected_rows = set(zip(part["group"], part["unit"]))
        assert set(table.index) == expected_rows, (level, grouping)
        for row in part.itertuples():
            got = table.loc[(row.group, row.unit)]
            q = row.quantity
            n_col = "n" if paired else f"{q}_n"
            assert got[n_col] == row.n, (level, grouping, row.group, row.unit, q)
            pairs = [(q, row.mean), (f"{q}_sd", row.sd)]
            if f"{q}_ci_low" in table.columns:
                pairs += [(f"{q}_ci_low", row.ci_low), (f"{q}_ci_high", row.ci_high)]
            for column, value in pairs:
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    assert np.isnan(got[column]), (column, row)
                else:
                    assert got[column] == pytest.approx(value, rel=RTOL, abs=1e-12), (column, row)
                compared += 1
    assert set(gold["quantity"]) == set(inst.quantities)
    return compared


@pytest.mark.parametrize("paired", [True, False])
def test_gap_tables_match_r_servqual_fixture(fixture_survey, paired):
    """Missing values, reverse-keyed items, N/A codes, weights: every level, by segment and overall."""
    # 180 rows per setting: 120 measure rows × (mean, sd) + 60 gap rows × (mean, sd, ci_low, ci_high)
    assert compare_with_r(fixture_survey, golden("gap_table_servqual.json"), paired=paired, ci=0.95) == 480


def test_gap_table_ci_level_matches_r(fixture_survey):
    assert compare_with_r(fixture_survey, golden("gap_table_servqual.json"), paired=True, ci=0.90) == 480


def test_gap_tables_match_r_three_column(core_survey):
    """Three measures, two gaps, text and numeric N/A codes, after screening."""
    # 130 rows per quantity: 3 measures × (mean, sd) + 2 gaps × (mean, sd, ci_low, ci_high)
    assert compare_with_r(core_survey, golden("gap_table_core.json"), paired=True, ci=0.95) == 130 * 14


def test_hand_computed_scores(tmp_path):
    """Half-the-items rule, reverse keying and the weighted score, worked by hand."""
    inst_path = tmp_path / "i.yaml"
    inst_path.write_text(
        "id: hand\nscale: {min: 1, max: 7}\nmeasures: [expectation, perception]\n"
        "gaps: {gap: perception - expectation}\nweights: {total: 100}\n"
        "dimensions: {one: [a, b, c], two: [d, e]}\n"
        "items: {a: A, b: B, c: {text: C, reverse: true}, d: D, e: E}\n"
    )
    head = "id,E1,E2,E3,E4,E5,P1,P2,P3,P4,P5,w1,w2\n"
    rows = (
        "1,7,6,1,5,5,4,4,3,6,2,60,40\n"   # c reverse: E 1->7, P 3->5
        "2,7,,,5,5,6,5,,6,4,,\n"          # dim one: only a paired -> 1 of 3 < 2: missing
        "3,6,6,6,,,5,5,5,,,50,50\n"        # dim two unanswered
    )
    survey = sq.read_survey(write(tmp_path, "h.csv", head + rows), sq.load_instrument(inst_path),
                            columns={"expectation": "E{index}", "perception": "P{index}"}, id="id",
                            weights={"one": "w1", "two": "w2"})
    dims = sq.scores(survey, "dimension")
    # respondent 1: E one = (7+6+7)/3, P one = (4+4+5)/3; E two = 5, P two = (6+2)/2 = 4
    assert dims.loc["1", ("expectation", "one")] == pytest.approx(20 / 3)
    assert dims.loc["1", ("gap", "one")] == pytest.approx(13 / 3 - 20 / 3)
    assert dims.loc["1", ("gap", "two")] == pytest.approx(-1)
    assert np.isnan(dims.loc["2", ("gap", "one")])  # 1 of 3 items paired: below half
    assert dims.loc["2", ("gap", "two")] == pytest.approx(0)
    # respondent 3: gaps a -1, b -1, c (reversed: 3 - 2) +1; dimension 'two' missing;
    # overall over 1 of 2 dimensions (half, rounded up = 1)
    assert np.isnan(dims.loc["3", ("gap", "two")]) and dims.loc["3", ("gap", "one")] == pytest.approx(-1 / 3)
    overall = sq.scores(survey, "overall")
    assert overall.loc["1", ("gap", "overall")] == pytest.approx((-7 / 3 - 1) / 2)
    assert overall.loc["1", ("gap", "overall_weighted")] == pytest.approx(0.6 * (-7 / 3) + 0.4 * (-1))
    assert np.isnan(overall.loc["2", ("gap", "overall_weighted")])  # no weights given
    assert overall.loc["3", ("gap", "overall_weighted")] == pytest.approx(-1 / 3)  # renormalised over 'one'
    unpaired = sq.scores(survey, "dimension", paired=False)
    assert unpaired.loc["2", ("perception", "one")] == pytest.approx(5.5)  # a, b answered: 2 of 3
    with pytest.warns(sq.SmallGroupWarning, match="min_group_n=None shows 2 rows with fewer than 10"):
        table = sq.gap_table(survey, "overall", min_group_n=None)
    row = table.set_index("dimension").loc["overall"]
    assert row["n"] == 3
    hidden = sq.gap_table(survey, "overall")  # privacy by default: 3 respondents are not shown
    assert hidden["suppressed"].all() and hidden["gap"].isna().all()
    assert row["gap"] == pytest.approx(np.mean([(-7 / 3 - 1) / 2, 0, -1 / 3]))
    sd = np.std([(-7 / 3 - 1) / 2, 0, -1 / 3], ddof=1)
    half = 4.3026527297494619 * sd / np.sqrt(3)  # qt(0.975, 2) in R
    assert row["gap_ci_low"] == pytest.approx(row["gap"] - half, rel=1e-12)


@pytest.mark.parametrize("level", ["item", "dimension", "overall"])
def test_paired_columns_add_up(core_survey, sample_2005, level):
    for survey in (core_survey, sample_2005):
        table = sq.gap_table(survey, level, by="segment")
        for gap in survey.instrument.gaps:
            np.testing.assert_allclose(table[gap.name], table[gap.minuend] - table[gap.subtrahend], rtol=0, atol=1e-12)


def test_layout_and_order(sample_2005):
    inst = sample_2005.instrument
    items = sq.gap_table(sample_2005, "item", by="segment")
    assert list(items.columns[:4]) == ["segment", "item", "dimension", "n"]
    assert list(items.columns[4:]) == [
        "expectation", "expectation_sd", "perception", "perception_sd",
        "gap", "gap_sd", "gap_ci_low", "gap_ci_high", "suppressed", "suppressed_reason", "small_group"]
    first = items[items["segment"] == items["segment"].iloc[0]]
    assert list(first["item"]) == list(inst.items)
    dims = sq.gap_table(sample_2005, "dimension", by=["branch", "segment"])
    assert list(dims.columns[:4]) == ["branch", "segment", "dimension", "n"]
    assert list(dims["dimension"][:5]) == list(inst.dimensions)
    overall = sq.gap_table(sample_2005, "overall")
    assert list(overall["dimension"]) == ["overall", "overall_weighted"]
    assert (overall["gap_ci_low"] < overall["gap"]).all() and (overall["gap"] < overall["gap_ci_high"]).all()


def test_perception_only_instrument_gets_intervals(sample_2005):
    perf = sq.read_survey(SAMPLE / "library-2005.csv", "servperf-22", columns={"perception": "P{index:02d}"},
                          id="respondent_id", segments=["segment"])
    table = sq.gap_table(perf, "dimension", by="segment")
    assert {"perception", "perception_sd", "perception_ci_low", "perception_ci_high"} <= set(table.columns)
    # unpaired SERVQUAL perception means equal SERVPERF's (same answers)
    sq_table = sq.gap_table(sample_2005, "dimension", by="segment", paired=False)
    np.testing.assert_allclose(table["perception"], sq_table["perception"], rtol=1e-12)


def test_weighted_equals_unweighted_under_equal_weights(sample_2005):
    frame = sq.scores(sample_2005, "dimension")
    equal = np.full(frame["gap"].shape, 20.0)
    from servqual.scoring import _overall_array

    result = _overall_array(frame["gap"].to_numpy(), equal, 0.5)
    np.testing.assert_allclose(result[:, 1], result[:, 0], rtol=1e-12)


def test_argument_errors(sample_2005):
    with pytest.raises(ValueError, match="level must be one of 'item', 'dimension', 'overall', got 'items'"):
        sq.gap_table(sample_2005, "items")
    with pytest.raises(KeyError, match="'segmnt' is not a respondent column; did you mean 'segment'"):
        sq.gap_table(sample_2005, by="segmnt")
    with pytest.raises(ValueError, match="ci must be between 0 and 1"):
        sq.gap_table(sample_2005, ci=95)
    with pytest.raises(KeyError, match="measure 'importance' is not in this survey"):
        sample_2005.ratings("importance")


def test_suppress_small_groups(sample_2005):
    table = sq.gap_table(sample_2005, "dimension", by=["branch", "segment"])
    masked = suppress_small_groups(table, 60)
    small = table["n"] < 60
    assert small.any() and (~small).any()
    assert masked.loc[small, ["gap", "perception", "gap_ci_low"]].isna().all().all()
    assert masked.loc[small, "n"].isna().all() and masked["suppressed"].tolist() == small.tolist()
    pd.testing.assert_series_equal(masked.loc[~small, "gap"], table.loc[~small, "gap"])
    assert masked["small_group"].tolist() == ((table["n"] >= 60) & (table["n"] < 100)).tolist()
    assert set(masked.loc[small, "suppressed_reason"]) == {"fewer than 60 respondents"}
    assert set(masked.loc[~small, "suppressed_reason"]) == {""}
    with pytest.raises(ValueError, match="min_group_n must be a whole number"):
        suppress_small_groups(table, 0)
