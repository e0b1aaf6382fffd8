import json

import numpy as np
import pytest

import servqual as sq

from .conftest import GOLDEN, write

CORE3 = """\
id: core3
scale: {min: 1, max: 9}
not_applicable: [0]
measures: [minimum, desired, perceived]
gaps: {adequacy: perceived - minimum, superiority: perceived - desired}
screening: {require_complete: true, max_not_applicable: 1, max_inversions: 1, straight_lining: flag}
dimensions:
  one: [a, b, c]
  two: [d]
items: {a: A, b: B, c: C, d: D}
"""
HEAD = "rid,seg," + ",".join(f"{m}_{i}" for m in ("minimum", "desired", "perceived") for i in "abcd")


@pytest.fixture
def core3(tmp_path):
    rows = [
        "ok,x,5,5,5,5,7,7,7,7,6,6,7,5",        # kept
        "blank,x,5,,5,5,7,7,7,7,6,6,7,5",      # one blank rating: incomplete
        "na2,x,0,0,5,5,0,0,7,7,0,0,7,5",       # two items N/A (> 1)
        "na1,x,0,5,5,5,0,7,7,7,0,6,7,5",       # one item N/A: kept
        "inv2,x,8,8,5,5,7,7,7,7,6,6,7,5",      # two items minimum > desired (> 1)
        "inv1,x,8,5,5,5,7,7,7,7,6,6,7,5",      # one inversion: kept
        "flat,x,5,5,5,5,7,7,7,7,4,4,4,4",      # perceived all 4 (and minimum all 5, desired all 7)
        "empty,x,,,,,,,,,,,,",                  # nothing answered
    ]
    path = write(tmp_path, "c.csv", HEAD + "\n" + "\n".join(rows) + "\n")
    inst_path = tmp_path / "core3.yaml"
    inst_path.write_text(CORE3)
    return path, sq.load_instrument(inst_path)


def log_of(survey):
    log = {}
    for r in survey.screening.itertuples():
        log.setdefault((r.id, r.rule), []).append((r.action, r.detail))
    return log


def test_each_rule_with_its_reason(core3):
    path, inst = core3
    survey = sq.read_survey(path, inst, id="rid", segments=["seg"])
    log = log_of(survey)
    assert log[("blank", "incomplete")] == [("excluded", "1 of 12 ratings blank (minimum b)")]
    assert log[("na2", "not_applicable")] == [("excluded", "2 of 4 items N/A (more than 1 allowed)")]
    assert log[("inv2", "inversions")] == [
        ("excluded", "2 of 4 items rated minimum above desired (more than 1 allowed)")]
    assert log[("flat", "straight_lining")] == [
        ("flagged", "all 4 minimum ratings are 5"), ("flagged", "all 4 desired ratings are 7"),
        ("flagged", "all 4 perceived ratings are 4")]
    assert log[("empty", "no_ratings")] == [("flagged", "no rating given for any item")]
    assert log[("empty", "incomplete")] == [("excluded", "all 12 ratings blank")]
    assert not any(k[0] in ("na1", "inv1") and k[1] != "straight_lining" for k in log)
    assert sorted(survey.respondents.index) == ["flat", "inv1", "na1", "ok"]


def test_nobody_dropped_silently(core_survey):
    survey = core_survey
    excluded = set(survey.frame.index[~survey.kept])
    logged = set(survey.screening.loc[survey.screening["action"] == "excluded", "id"])
    assert excluded == logged
    assert survey.n + survey.n_excluded == survey.n_read
    summary = survey.screening_summary().set_index("rule")["respondents"]
    assert summary["read"] == survey.n_read and summary["kept"] == survey.n
    assert summary["excluded (any rule)"] == len(excluded)


def test_overrides_and_rescreening(core3):
    path, inst = core3
    survey = sq.read_survey(path, inst, id="rid", segments=["seg"])
    strict = sq.screen(survey, straight_lining="exclude")
    assert "flat" not in strict.respondents.index and "ok" not in strict.respondents.index
    assert survey.n == 4  # the original is unchanged
    lenient = sq.screen(survey, require_complete=False, max_not_applicable=None, max_inversions=None)
    assert set(lenient.respondents.index) == {"ok", "blank", "na2", "na1", "inv2", "inv1", "flat", "empty"}
    assert set(lenient.screening["rule"]) == {"straight_lining", "no_ratings"}
    via_read = sq.read_survey(path, inst, id="rid", segments=["seg"], screening={"max_inversions": 5})
    assert "inv2" in via_read.respondents.index
    with pytest.raises(ValueError, match="did you mean 'straight_lining'"):
        sq.screen(survey, straight_line="exclude")


def test_servqual_family_excludes_nobody_by_default(sample_2005):
    assert sample_2005.n == sample_2005.n_read
    assert set(sample_2005.screening["action"]) == {"flagged"}


def test_straight_lining_needs_enough_answers(tmp_path):
    inst_path = tmp_path / "i.yaml"
    inst_path.write_text(CORE3.replace("require_complete: true, max_not_applicable: 1", "require_complete: false, max_not_applicable: 4"))
    path = write(tmp_path, "s.csv", HEAD + "\nr1,x,5,,,,7,6,5,4,0,0,0,3\n")
    survey = sq.read_survey(path, sq.load_instrument(inst_path), id="rid")
    # a single minimum answer or a single perceived answer proves nothing
    assert "straight_lining" not in set(survey.screening["rule"])


def test_screening_matches_r(core_survey):
    """Exclusions agree one by one with tests/r/gap_table.R's independent screening."""
    golden = json.loads((GOLDEN / "screening_core.json").read_text())
    r_excluded = {row["id"] for row in golden if row["excluded"]}
    py_excluded = set(core_survey.frame.index[~core_survey.kept])
    assert py_excluded == r_excluded and len(r_excluded) > 20
    by_id = {row["id"]: row for row in golden}
    log = core_survey.screening
    for rule, key in (("not_applicable", "not_applicable"), ("inversions", "inversions")):
        ids = set(log.loc[log["rule"] == rule, "id"])
        assert ids == {i for i, row in by_id.items() if row[key] > {"not_applicable": 11, "inversions": 9}[key]}
        for r in log.loc[log["rule"] == rule].itertuples():
            assert r.detail.startswith(f"{by_id[r.id][key]} of 22 items")
    incomplete = set(log.loc[log["rule"] == "incomplete", "id"])
    assert incomplete == {i for i, row in by_id.items() if row["blank"] > 0}


def test_not_applicable_counted_then_missing(core_survey):
    na = np.logical_or.reduce([core_survey.not_applicable(m).to_numpy() for m in ("minimum", "desired", "perceived")])
    assert na.any()
    for m in ("minimum", "desired", "perceived"):
        assert core_survey.ratings(m).to_numpy()[core_survey.not_applicable(m).to_numpy()].size > 0
        assert np.isnan(core_survey.ratings(m).to_numpy()[core_survey.not_applicable(m).to_numpy()]).all()
