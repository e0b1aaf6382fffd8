"""Sampled items (LibQUAL-Lite): instruments mark them, screening and scoring count only
the items a respondent was shown, and reports say how many saw each item."""

import numpy as np
import pandas as pd
import pytest

import servqual as sq
from servqual import synthetic

from .conftest import ROOT, write

LITE3 = """\
id: lite3
scale: {min: 1, max: 9}
not_applicable: [0]
measures: [minimum, desired, perceived]
gaps: {adequacy: perceived - minimum}
screening: {require_complete: true, max_not_applicable: 1, max_inversions: 1, straight_lining: flag}
dimensions:
  one: [a, b, c, d]
  two: [e, f]
items:
  a: {text: A}
  b: {text: B, sampled: true}
  c: {text: C, sampled: true}
  d: {text: D, sampled: true}
  e: {text: E}
  f: {text: F, sampled: true}
"""
HEAD = "rid,seg," + ",".join(f"{m}_{i}" for m in ("minimum", "desired", "perceived") for i in "abcdef")


def row(rid, cells):
    """cells: item → (min, des, perc) or None (not shown)."""
    values = []
    for k in range(3):
        for item in "abcdef":
            v = cells.get(item)
            values.append("" if v is None or v[k] is None else str(v[k]))
    return f"{rid},x," + ",".join(values)


@pytest.fixture
def lite3(tmp_path):
    inst_path = tmp_path / "lite3.yaml"
    inst_path.write_text(LITE3)
    rows = [
        row("shown_b", {"a": (5, 7, 6), "b": (5, 7, 7), "e": (4, 6, 6)}),                   # kept: c, d, f not shown
        row("shown_cf", {"a": (5, 7, 6), "c": (5, 7, 3), "e": (4, 6, 6), "f": (3, 5, 4)}),  # kept
        row("blank_core", {"b": (5, 7, 6), "e": (4, 6, 6)}),                               # core item a blank
        row("half_shown", {"a": (5, 7, 6), "b": (5, None, 6), "e": (4, 6, 6)}),            # b shown, one blank
        row("na_shown", {"a": (0, 0, 0), "c": (0, 0, 0), "e": (4, 6, 6)}),                 # 2 of 3 shown N/A
        row("flat", {"a": (5, 7, 6), "b": (5, 7, 6), "e": (5, 7, 6)}),                     # 3 of 3 shown alike
        row("only_core", {"a": (5, 7, 8), "e": (4, 6, 6)}),                                # no sampled item shown
    ]
    path = write(tmp_path, "lite.csv", HEAD + "\n" + "\n".join(rows) + "\n")
    return sq.read_survey(path, sq.load_instrument(inst_path), id="rid", segments=["seg"])


def test_instrument_marks_sampled_items(tmp_path):
    inst = sq.load_instrument("library-lite-22")
    assert len(inst.sampled_items) == 14 and len(inst.core_items) == 8
    assert set(inst.core_items) == {"AS1", "AS4", "AS8", "IC1", "IC2", "IC4", "LP1", "LP3"}
    assert "sampled (shown to a random subset)" in str(inst)
    assert not sq.load_instrument("library-core-22").sampled_items
    bad = tmp_path / "bad.yaml"
    bad.write_text(LITE3.replace("b: {text: B, sampled: true}", "b: {text: B, sampled: yes please}"))
    with pytest.raises(sq.InstrumentError, match="item b: sampled must be true"):
        sq.load_instrument(bad)
    bad.write_text(LITE3.replace("a: {text: A}", "a: {text: A, sampled: true}")
                   .replace("e: {text: E}", "e: {text: E, sampled: true}"))
    with pytest.raises(sq.InstrumentError, match="every item is marked sampled"):
        sq.load_instrument(bad)


def test_screening_counts_only_the_items_shown(lite3):
    log = {(r.id, r.rule): r.detail for r in lite3.screening.itertuples()}
    kept = set(lite3.respondents.index)
    assert {"shown_b", "shown_cf"} <= kept  # unshown sampled items are not blanks
    assert log[("blank_core", "incomplete")] == "3 of 9 shown ratings blank (minimum a, desired a, perceived a)"
    assert log[("half_shown", "incomplete")] == "1 of 9 shown ratings blank (desired b)"
    assert log[("na_shown", "not_applicable")] == "2 of 3 items shown N/A (more than 1 allowed)"
    # three answers, all of the three shown: straight-lining (needs half the shown items)
    assert log[("flat", "straight_lining")] == "all 3 perceived ratings are 6"
    assert not any(k[0] in ("shown_b", "shown_cf") for k in log)


def test_half_rule_counts_the_items_shown(lite3):
    dims = sq.scores(lite3, "dimension")["perceived"]
    # shown_b saw a and b of dimension one's four items and rated both: a score (2 of 2 shown)
    assert dims.loc["shown_b", "one"] == pytest.approx(6.5)
    assert dims.loc["shown_cf", "one"] == pytest.approx(4.5)
    assert dims.loc["shown_cf", "two"] == pytest.approx(5.0)
    # one of dimension one's four items shown and rated: its score (the full-form rule,
    # two of four, would leave it missing)
    assert dims.loc["only_core", "one"] == pytest.approx(8.0)


def test_item_coverage_says_how_many_saw_each_item(lite3):
    cov = lite3.item_coverage()
    kept = lite3.n
    assert cov.loc["a", "shown"] == kept and not cov.loc["a", "sampled"]
    shown_b = lite3.respondents.index.isin(["shown_b", "flat", "half_shown"]).sum()
    assert cov.loc["b", "shown"] == shown_b and cov.loc["b", "sampled"]
    assert cov.loc["d", "shown"] == 0 and cov.loc["d", "share_shown"] == 0
    assert cov.loc["c", "n_perceived"] == 1


def test_the_lite_sample_cycle():
    survey = sq.read_cycle(ROOT / "params" / "library-lite-2008.yaml")
    coverage = survey.item_coverage()
    core = coverage[~coverage["sampled"]]
    sampled = coverage[coverage["sampled"]]
    assert (core["shown"] == survey.n).all()
    # 5 of 14 sampled items shown to each respondent
    assert sampled["share_shown"].between(0.28, 0.44).all()
    shown = survey.shown_array()
    assert (shown[:, [list(survey.instrument.items).index(i) for i in survey.instrument.sampled_items]].sum(axis=1)
            <= 5).all()
    # screening excluded under 10%, and nobody for unshown items
    assert survey.n / survey.n_read > 0.9
    details = survey.screening["detail"]
    assert not details.str.contains("of 66 ratings").any()
    # dimension scores for nearly everyone kept, from the items each respondent saw
    dims = sq.scores(survey, "dimension")["perceived"]
    assert dims.notna().mean().min() > 0.98
    perceived = survey.ratings("perceived")
    items = list(survey.instrument.dimensions["service_affect"])
    manual = perceived[items].mean(axis=1)
    np.testing.assert_allclose(dims["service_affect"].dropna(), manual[dims["service_affect"].notna()])


def test_sampled_shown_is_checked():
    with pytest.raises(ValueError, match="sampled_shown must be between 1 and 14"):
        synthetic.simulate_responses("library-lite-22", n=20, sampled_shown=15)
    frame = synthetic.simulate_responses("library-lite-22", n=50, sampled_shown=2,
                                            defects=synthetic.Defects(missing_cell=0, abandoned=0))
    perceived = frame[[c for c in frame.columns if c.startswith("perceived_")]]
    assert isinstance(perceived, pd.DataFrame)
    assert (perceived.notna().sum(axis=1) == 10).all()  # 8 core + 2 sampled


def test_the_lite_report_appendix_uses_every_respondent(tmp_path):
    """The data section states each item's n; CFA and invariance run by full-information ML
    (listwise deletion would leave nobody) and say how each level was judged."""
    import matplotlib.pyplot as plt

    from servqual.report import CycleReport

    survey = sq.read_cycle(ROOT / "params" / "library-lite-2008.yaml")
    report = CycleReport(survey, tmp_path)
    report.show("appendix")
    plt.close("all")
    assert not report.out.summary.get("failed_sections"), report.out.summary.get("failed_sections")
    coverage = pd.read_csv(tmp_path / "tables" / "item_coverage.csv").set_index("item")
    assert (coverage.loc[list(survey.instrument.core_items), "shown"] == survey.n).all()
    assert set(coverage["sampled"]) == {"core", "sampled"}
    models = pd.read_csv(tmp_path / "tables" / "cfa_models.csv").set_index("model")
    assert (models["n"] == survey.n).all() and models.loc["dimensions", "cfi"] > 0.95
    inv = pd.read_csv(tmp_path / "tables" / "invariance.csv").set_index("level")
    assert inv["n"].iloc[0] > 0.95 * survey.n
    assert set(inv["criterion"].dropna()) <= {"BIC", "ΔCFI, ΔRMSEA"}
