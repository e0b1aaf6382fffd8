"""Measure roles: every module asks the instrument what a measure is, never its name."""

import numpy as np
import pytest

import servqual as sq
from servqual.instrument import InstrumentError, instrument_from_dict

DUTCH = {
    "id": "nl-servqual",
    "title": "Dienstkwaliteit (verwachting en ervaring)",
    "scale": {"min": 1, "max": 7},
    "measures": {"verwachting": {"role": "standard", "label": "verwachting"},
                 "ervaring": {"role": "performance", "label": "ervaring"}},
    "gaps": {"kloof": "ervaring - verwachting"},
    "dimensions": {"tastbaar": ["T1", "T2", "T3"], "betrouwbaar": ["B1", "B2", "B3"]},
    "items": {"T1": "Moderne apparatuur", "T2": "Aantrekkelijke ruimte", "T3": "Verzorgd personeel",
              "B1": "Doet wat beloofd is", "B2": "Foutloze dienst", "B3": "Op tijd"},
}


def test_builtins_declare_their_roles():
    core = sq.load_instrument("library-core-22")
    assert core.performance == "perceived"
    assert core.standards == ("minimum", "desired")
    assert core.has_zone_of_tolerance and (core.minimum, core.desired) == ("minimum", "desired")
    ipa = sq.load_instrument("importance-performance")
    assert ipa.importance == "importance" and ipa.performance == "performance" and ipa.standards == ()
    assert not ipa.has_zone_of_tolerance
    assert sq.load_instrument("hpws-staff").performance == "agreement"
    sv = sq.load_instrument("servqual-22")
    assert sv.standards == ("expectation",) and sv.stated_importance == "expectation"
    assert sv.layout == "blocks"


def test_unusual_names_declare_roles():
    inst = instrument_from_dict(DUTCH)
    assert inst.performance == "ervaring" and inst.standards == ("verwachting",)
    assert inst.principal_standard == "verwachting" and inst.primary == "kloof"
    assert inst.layout == "blocks"


def test_zone_of_tolerance_by_role():
    raw = {**DUTCH, "measures": {"min": {"role": "standard", "zone": "minimum"},
                                 "gewenst": {"role": "standard", "zone": "desired"},
                                 "ervaring": {"role": "performance"}},
           "gaps": {"toereikend": "ervaring - min", "superieur": "ervaring - gewenst"},
           "screening": {"max_inversions": 2}}
    inst = instrument_from_dict(raw)
    assert inst.has_zone_of_tolerance and inst.minimum == "min" and inst.desired == "gewenst"


@pytest.mark.parametrize("measures, gaps, message", [
    (["verwachting", "ervaring"], {}, "measure 'verwachting' has no role"),
    ({"verwachting": {"role": "standaard"}, "ervaring": {"role": "performance"}}, {}, "role 'standaard' is not one of"),
    ({"verwachting": {"role": "standard"}, "ervaring": {"role": "performance"}}, {"kloof": "verwachting - ervaring"},
     "must read '<performance> - <standard>'"),
    ({"verwachting": {"role": "standard"}, "ervaring": {"role": "standard"}}, {}, "no measure rates the service"),
    ({"a": {"role": "performance"}, "b": {"role": "performance"}}, {}, "are all performance ratings"),
    ({"lo": {"role": "standard", "zone": "minimum"}, "p": {"role": "performance"}}, {}, "bounds a zone of tolerance alone"),
    ({"lo": {"role": "importance", "zone": "minimum"}, "p": {"role": "performance"}}, {}, "only a standard bounds"),
])
def test_role_errors_are_one_line_and_name_the_measure(measures, gaps, message):
    with pytest.raises(InstrumentError, match=message):
        instrument_from_dict({**DUTCH, "measures": measures, "gaps": gaps})


def test_item_numbers_are_unique():
    items = {**DUTCH["items"], "T1": {"text": "Moderne apparatuur", "number": 9},
             "T2": {"text": "Aantrekkelijke ruimte", "number": 9}}
    with pytest.raises(InstrumentError, match="item number 9 is given to more than one item"):
        instrument_from_dict({**DUTCH, "items": items})


@pytest.fixture(scope="module")
def dutch_survey(tmp_path_factory):
    from servqual.synthetic import simulate_responses

    inst = instrument_from_dict(DUTCH, "nl.yaml")
    frame = simulate_responses(inst, n=300, year=2024, seed=3)
    path = tmp_path_factory.mktemp("nl") / "nl.csv"
    frame.to_csv(path, index=False)
    return sq.read_survey(path, inst, id="respondent_id", segments=["segment"], year=2024)


def test_unusual_names_work_everywhere(dutch_survey):
    from servqual import plots

    s = dutch_survey
    table = sq.gap_table(s, level="dimension")
    np.testing.assert_allclose(table["kloof"], table["ervaring"] - table["verwachting"])
    grid = sq.importance_performance(s)
    assert set(grid["importance_source"]) == {"verwachting"}
    assert (grid["performance"].to_numpy() == sq.gap_table(s, level="item", paired=False)["ervaring"].to_numpy()).all()
    prio = sq.priorities(s)
    assert prio["sentence"].str.contains("the verwachting rating").any()
    ax = plots.plot_radar(sq.gap_table(s, level="item"), instrument=s.instrument)
    assert {line.get_gid() for line in ax.lines} >= {"ervaring", "verwachting"}
    prof = plots.plot_profile(table, instrument=s.instrument)
    assert [t.get_text() for t in prof.get_legend().get_texts()] == ["verwachting", "ervaring"]
    assert sq.reliability(s)["n"].gt(0).all()


def test_unusual_names_in_the_report_questionnaire_and_explorer(dutch_survey, tmp_path):
    import matplotlib.pyplot as plt

    from servqual.questionnaire import questionnaire_html
    from servqual.report import CycleReport

    report = CycleReport(dutch_survey, tmp_path, min_group_n=10)
    report.show("results")
    report.show("appendix")
    shown = report.shown
    assert {"gap_analysis", "radar", "importance_performance", "priorities", "reliability"} <= set(shown)
    assert "failed_sections" not in report.out.summary
    assert not {"zone_of_tolerance", "drivers"} & set(shown)  # no zone, no overall item: never shown
    assert report.out.summary["overall_gap"]["gap"] == "kloof"
    html = questionnaire_html(dutch_survey.instrument)
    assert "Verwachting" in html and "Ervaring" in html
    explorer = sq.explorer({"2024": dutch_survey})
    assert [v for _, v in explorer.figure_choice.options] == ["gaps", "ipa", "radar"]
    assert [v for _, v in explorer.quantity.options] == ["kloof"]  # gap bars: the gaps
    explorer.figure_choice.value = "radar"
    assert [v for _, v in explorer.quantity.options] == ["all measures", "kloof", "verwachting", "ervaring"]
    assert [label for label, _ in explorer.quantity.options][2:] == ["verwachting", "ervaring"]
    plt.close("all")
