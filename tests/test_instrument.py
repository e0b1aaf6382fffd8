import dataclasses
import textwrap

import pytest

import servqual as sq
from servqual.instrument import InstrumentError, instrument_from_dict

SERVQUAL_BLOCKS = {"tangibles": 4, "reliability": 5, "responsiveness": 4, "assurance": 4, "empathy": 5}


def test_builtin_ids_listed_and_loadable():
    table = sq.list_instruments()
    assert set(table["id"]) == {
        "servqual-22", "servqual-22-1988", "servperf-22", "library-core-22", "library-lite-22", "library-revised-25",
        "importance-performance", "hpws-staff",
    }
    for inst_id in table["id"]:
        inst = sq.load_instrument(inst_id)
        assert inst.id == inst_id
        assert [it.index for it in inst.items.values()] == list(range(1, len(inst.items) + 1))
        # every item in exactly one dimension, every dimension non-empty
        listed = [i for items in inst.dimensions.values() for i in items]
        assert sorted(listed) == sorted(inst.items) and len(listed) == len(set(listed))
        assert all(inst.items[i].text for i in inst.items), "item texts are written out"


@pytest.mark.parametrize("inst_id", ["servqual-22", "servqual-22-1988", "servperf-22"])
def test_servqual_blocks(inst_id):
    inst = sq.load_instrument(inst_id)
    assert {d: len(i) for d, i in inst.dimensions.items()} == SERVQUAL_BLOCKS
    # 1988 blocks: tangibles 1-4, reliability 5-9, responsiveness 10-13, assurance 14-17, empathy 18-22
    positions = {d: [inst.items[i].index for i in items] for d, items in inst.dimensions.items()}
    assert positions == {
        "tangibles": [1, 2, 3, 4], "reliability": [5, 6, 7, 8, 9], "responsiveness": [10, 11, 12, 13],
        "assurance": [14, 15, 16, 17], "empathy": [18, 19, 20, 21, 22],
    }


def test_reverse_keying_per_wording():
    assert sq.load_instrument("servqual-22").reverse_items == ()
    old = sq.load_instrument("servqual-22-1988")
    assert set(old.reverse_items) == set(old.dimensions["responsiveness"]) | set(old.dimensions["empathy"])
    assert len(old.reverse_items) == 9
    assert sq.load_instrument("servperf-22").measures == ("perception",)
    assert sq.load_instrument("servperf-22").gaps == ()


def test_library_core_definition():
    inst = sq.load_instrument("library-core-22")
    assert {d: len(i) for d, i in inst.dimensions.items()} == {
        "service_affect": 9, "information_control": 8, "library_as_place": 5}
    assert inst.measures == ("minimum", "desired", "perceived")
    assert {g.name: (g.minuend, g.subtrahend) for g in inst.gaps} == {
        "adequacy": ("perceived", "minimum"), "superiority": ("perceived", "desired")}
    assert (inst.scale.min, inst.scale.max) == (1, 9)
    assert inst.screening == sq.ScreeningRules(require_complete=True, max_not_applicable=11,
                                               max_inversions=9, straight_lining="flag")
    assert inst.dimension_label("library_as_place") == "Library as place"


def test_importance_performance_and_staff():
    ipa = sq.load_instrument("importance-performance")
    assert ipa.measures == ("importance", "performance")
    assert ipa.gap("gap").expression == "performance - importance"
    assert ipa.gap_sign == "standard-minus-performance"  # presentation only
    assert [ipa.dimension_label(d) for d in ipa.dimensions] == [
        "Communication", "Facilities and equipment", "Staff", "Service delivery", "Service quality"]
    staff = sq.load_instrument("hpws-staff")
    assert list(staff.dimensions) == ["involvement", "empowerment", "trust", "goal_alignment",
                                      "training", "teamwork", "communications", "rewards"]
    assert staff.gaps == () and (staff.scale.min, staff.scale.max) == (1, 5)


def test_instrument_is_frozen():
    inst = sq.load_instrument("servqual-22")
    with pytest.raises(dataclasses.FrozenInstanceError):
        inst.id = "other"
    with pytest.raises(TypeError):
        inst.dimensions["tangibles"] = ("T1",)
    with pytest.raises(TypeError):
        inst.items["T1"] = None


VALID = """\
id: tiny
title: Tiny
scale: {min: 1, max: 7}
measures: [expectation, perception]
gaps: {gap: perception - expectation}
dimensions:
  one: [a, b]
  two: [c]
items:
  a: {text: A}
  b: {text: B, reverse: true}
  c: {text: C}
"""


def test_valid_minimal_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(VALID)
    inst = sq.load_instrument(path)
    assert inst.item_ids == ("a", "b", "c") and inst.reverse_items == ("b",)
    assert inst.source == str(path)
    assert inst.scale.reverse(2) == 6


@pytest.mark.parametrize(
    "change, expected",
    [
        # duplicate item ids (YAML keeps the last silently unless refused)
        (lambda s: s.replace("  c: {text: C}", "  c: {text: C}\n  a: {text: again}"), "duplicate key 'a'"),
        (lambda s: s.replace("two: [c]", "two: [c, a]"), "item 'a' is listed in both 'one' and 'two'"),
        (lambda s: s.replace("two: [c]", "two: [c]\n  three: []"), "dimension 'three' is empty"),
        (lambda s: s.replace("  c: {text: C}", "  c: {text: C}\n  d: {text: D}"), "'d' belong to no dimension"),
        (lambda s: s.replace("perception - expectation", "perception - expectaton"),
         "names unknown measure 'expectaton'; did you mean 'expectation'?"),
        (lambda s: s.replace("{min: 1, max: 7}", "{min: 7, max: 7}"), "min (7) must be less than max (7)"),
        (lambda s: s.replace("scale: {min: 1, max: 7}\n", ""), "item b is reverse-keyed but the instrument has no scale"),
        (lambda s: s.replace("dimensions:", "dimensons:"), "unknown key 'dimensons'; did you mean 'dimensions'?"),
        (lambda s: s.replace("{text: A}", "{txt: A}"), "item a: unknown key 'txt'; did you mean 'text'?"),
        (lambda s: s.replace("one: [a, b]", "one: [a, b, z]"), "dimension 'one' lists unknown item 'z'"),
        (lambda s: s + "not_applicable: [4]\n", "not_applicable code 4 lies inside the rating scale 1–7"),
        (lambda s: s + "screening: {max_inversions: 3}\n", "max_inversions needs the measures 'minimum' and 'desired'"),
        (lambda s: s + "screening: {straight_lineing: flag}\n", "did you mean 'straight_lining'?"),
        (lambda s: s + "screening: {straight_lining: drop}\n", "straight_lining must be one of flag, exclude, ignore"),
        (lambda s: s.replace("gaps: {gap: perception - expectation}", "gaps: {gap: perception + expectation}"),
         "must read '<measure> - <measure>'"),
        (lambda s: s.replace("id: tiny\n", ""), "missing required key 'id'"),
        (lambda s: s.replace("{text: B, reverse: true}", "{text: B, reverse: yes please}"), "reverse must be true or false"),
    ],
)
def test_invalid_definitions_name_file_and_problem(tmp_path, change, expected):
    path = tmp_path / "broken.yaml"
    path.write_text(change(VALID))
    with pytest.raises(InstrumentError) as info:
        sq.load_instrument(path)
    message = str(info.value)
    assert str(path) in message
    assert expected in message


def test_unknown_builtin_suggests():
    with pytest.raises(InstrumentError, match="unknown instrument 'servqual22'; did you mean 'servqual-22'"):
        sq.load_instrument("servqual22")
    with pytest.raises(InstrumentError, match="instrument file not found"):
        sq.load_instrument("no/such/file.yaml")


def test_invalid_yaml_syntax(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nitems: [unclosed\n")
    with pytest.raises(InstrumentError, match=f"{path}: invalid YAML"):
        sq.load_instrument(path)


def test_screening_rule_overrides():
    rules = sq.load_instrument("library-core-22").screening
    assert rules.replace(max_inversions=None).max_inversions is None
    with pytest.raises(InstrumentError, match="did you mean 'max_inversions'"):
        rules.replace(max_inversion=3)
    with pytest.raises(InstrumentError, match="whole number ≥ 0"):
        rules.replace(max_not_applicable=-1)


def test_dimension_mapping_form_and_weights_overall():
    inst = instrument_from_dict(
        {
            "id": "x", "scale": {"min": 1, "max": 5}, "measures": ["perception"],
            "dimensions": {"d1": {"label": "First", "items": ["i1"]}, "d2": ["i2"]},
            "items": {"i1": "text one", "i2": {"text": "text two"}},
            "weights": {"total": 100},
            "overall": {"id": "sat", "text": "Overall?", "scale": {"min": 1, "max": 10}},
        }
    )
    assert inst.dimension_label("d1") == "First" and inst.dimension_label("d2") == "D2"
    assert inst.weights and inst.weights_total == 100
    assert inst.overall.id == "sat" and (inst.overall_scale.min, inst.overall_scale.max) == (1, 10)
    assert "x" in str(inst) and "d1" not in textwrap.dedent(str(inst))  # labels shown, not ids
