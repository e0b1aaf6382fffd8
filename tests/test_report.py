"""The cycle and trends reports, executed with papermill on the sample data."""

import json
import re

import numpy as np
import pandas as pd
import pytest

import servqual as sq
from servqual.params import ParamsError, load_params, read_cycle
from servqual.report import ReportError, default_template, run_report, run_trends

from .conftest import ROOT


@pytest.fixture(scope="module")
def report_2005(tmp_path_factory):
    folder = run_report(ROOT / "params" / "2005.yaml", reports_dir=tmp_path_factory.mktemp("reports"),
                        progress=False, out=open("/dev/null", "w"))
    return folder


@pytest.fixture(scope="module")
def survey_2005():
    return read_cycle(ROOT / "params" / "2005.yaml")


def read(folder, name):
    return pd.read_csv(folder / "tables" / f"{name}.csv")


def test_report_folder_layout(report_2005):
    assert report_2005.name == "2005"
    for name in ("report.html", "survey_cycle.ipynb", "summary.json", "figures/figures.json"):
        assert (report_2005 / name).exists(), name
    for stem in ("radar-postgraduate", "gaps-overall", "heatmap", "ipa"):
        assert (report_2005 / "figures" / f"{stem}.png").exists() and (report_2005 / "figures" / f"{stem}.svg").exists()
    for table in ("gap_table_dimension_by_segment", "reliability", "gap_tests_item", "priorities", "drivers",
                  "screening_summary", "segment_tests"):
        assert (report_2005 / "tables" / f"{table}.csv").exists(), table


def test_tables_equal_the_package_results(report_2005, survey_2005):
    expected = sq.gap_table(survey_2005, "dimension", by=["segment"], min_group_n=10)
    got = read(report_2005, "gap_table_dimension_by_segment")
    numeric = ["n", "expectation", "perception", "gap", "gap_sd", "gap_ci_low", "gap_ci_high"]
    np.testing.assert_allclose(got[numeric].astype(float), expected[numeric].astype(float), rtol=1e-12)
    assert list(got["dimension"]) == list(expected["dimension"])
    rel = read(report_2005, "reliability")
    perception = rel[rel["measure"] == "perception"].reset_index(drop=True)
    np.testing.assert_allclose(perception["raw_alpha"], sq.reliability(survey_2005, "perception")["raw_alpha"])
    prio = read(report_2005, "priorities")
    assert list(prio["sentence"]) == list(sq.priorities(survey_2005, by="segment", min_group_n=10)["sentence"])
    summary = json.loads((report_2005 / "summary.json").read_text())
    assert summary["respondents_kept"] == survey_2005.n == 1180
    overall = sq.gap_table(survey_2005, "overall").set_index("dimension").loc["overall"]
    assert summary["overall_gap"]["mean"] == pytest.approx(overall["gap"], rel=1e-9)
    assert set(summary["top_priority"]) == {"academic staff", "library staff", "postgraduate", "undergraduate"}


def test_html_hides_code_and_embeds_figures(report_2005):
    html = (report_2005 / "report.html").read_text()
    for code in ("import servqual", "CycleReport(", "report.header()", "read_survey("):
        assert code not in html
    assert html.count("data:image/png;base64,") >= 8
    assert not re.search(r'<script[^>]*src="https?://', html)  # readable offline
    alt = json.loads((report_2005 / "figures" / "figures.json").read_text())
    assert alt["gaps-overall"] in html  # alt text and caption
    for heading in ("The overall gap analysis", "Three things to do on Monday", "Methods"):
        assert heading in html


def test_shared_outputs_hold_no_respondent_rows(report_2005, survey_2005):
    ids = set(survey_2005.respondents.index.astype(str))
    texts = [p.read_text() for p in (report_2005 / "tables").glob("*.csv")] + [
        (report_2005 / "report.html").read_text(), (report_2005 / "summary.json").read_text()]
    for text in texts:
        assert not ids & set(re.findall(r"R\d{7}", text))
    reasons = read(report_2005, "screening_reasons")
    assert list(reasons.columns) == ["rule", "action", "detail", "respondents"]


def test_rerun_gives_identical_tables(report_2005, tmp_path):
    again = run_report(ROOT / "params" / "2005.yaml", reports_dir=tmp_path, progress=False,
                       out=open("/dev/null", "w"))
    for path in sorted((report_2005 / "tables").glob("*.csv")):
        assert (again / "tables" / path.name).read_bytes() == path.read_bytes(), path.name
    assert (again / "summary.json").read_bytes() == (report_2005 / "summary.json").read_bytes()


def test_bad_params_fail_before_a_kernel_starts(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"year: 2005\ninstrument: servqual-22\nresponses: {ROOT}/data/raw/library-2005.csv\n"
                   "columns: {expectation: 'E{index:02d}', perception: 'P{index:02d}'}\nsegments: [segmnt]\n")
    with pytest.raises(ParamsError, match=rf"^{re.escape(str(bad))}: segments: segment column 'segmnt' is not in "
                                          r"library-2005.csv; did you mean 'segment'\? \(columns: "):
        run_report(bad, reports_dir=tmp_path, progress=False)
    bad.write_text("year: 2005\ninstrument: servqual-22\nresponse: data/raw/library-2005.csv\n")
    with pytest.raises(ParamsError, match="unknown key 'response'; did you mean 'responses'"):
        run_report(bad, reports_dir=tmp_path, progress=False)
    assert not (tmp_path / "bad").exists()  # nothing was started


def test_failing_notebook_cell_is_named_and_partial_notebook_kept(tmp_path):
    template = tmp_path / "broken.py"
    source = default_template().read_text().replace(
        'report.show("appendix")', 'raise RuntimeError("the appendix step broke")')
    template.write_text(source)
    with pytest.raises(ReportError) as info:
        run_report(ROOT / "params" / "2005.yaml", reports_dir=tmp_path, template=template, progress=False)
    message = str(info.value)
    assert "section 'Technical appendix' failed: RuntimeError: the appendix step broke" in message
    assert (tmp_path / "2005" / "survey_cycle.ipynb").exists()


def test_a_section_failing_on_odd_data_is_one_line_and_the_report_goes_on(tmp_path, monkeypatch, survey_2005,
                                                                        capsys):
    from dataclasses import replace

    from servqual import sections
    from servqual.report import CycleReport

    def boom(context, sink):
        raise np.linalg.LinAlgError("singular matrix\nwith a traceback-like second line")

    monkeypatch.setattr(sections, "REGISTRY", tuple(replace(s, produce=boom) if s.key == "drivers" else s
                                                    for s in sections.REGISTRY))
    report = CycleReport(survey_2005, tmp_path, min_group_n=10)
    report.show("results")
    shown = report.shown
    assert "drivers" in shown and "priorities" in shown and shown.index("segment_comparisons") < shown.index("drivers")
    assert report.out.summary["failed_sections"] == {"drivers": "singular matrix"}
    assert (tmp_path / "tables" / "segment_tests.csv").exists()  # the sections around it still ran
    plt_close_all()


def plt_close_all():
    import matplotlib.pyplot as plt

    plt.close("all")


def test_sections_that_do_not_apply_never_appear(tmp_path):
    from servqual.report import CycleReport

    core = read_cycle(ROOT / "params" / "library-core-2007.yaml")
    report = CycleReport(core, tmp_path / "core")
    report.show("results")
    shown = report.shown
    assert "zone_of_tolerance" in shown
    servperf = sq.read_survey(ROOT / "data" / "raw" / "library-2005.csv", "servperf-22",
                              columns={"perception": "P{index:02d}"}, id="respondent_id", segments=["segment"])
    report = CycleReport(servperf, tmp_path / "perf")
    report.show("results")
    shown = report.shown
    assert not {"zone_of_tolerance", "priorities", "segments"} & set(shown)
    plan = sq.plan(servperf).set_index("section")
    assert plan.loc["priorities", "reason"] == "instrument 'servperf-22' has no gaps (it rates performance only)"
    plt_close_all()


def test_trends_report(tmp_path):
    files = [ROOT / "params" / f"{y}.yaml" for y in (2005, 2006, 2007)]
    folder = run_trends(files, reports_dir=tmp_path, progress=False, out=open("/dev/null", "w"))
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["years"] == [2005, 2006, 2007]
    changes = read(folder, "year_changes")
    expected = sq.year_changes([read_cycle(load_params(f)) for f in files], by="segment", level="dimension")
    np.testing.assert_allclose(changes["change"].astype(float), expected["change"].astype(float), rtol=1e-12,
                               equal_nan=True)
    assert (folder / "figures" / "trend.png").exists()
    assert "Dimension gaps across cycles" in (folder / "report.html").read_text()
    with pytest.raises(ParamsError, match="trends need cycles of one instrument"):
        run_trends([files[0], ROOT / "params" / "library-core-2007.yaml"], reports_dir=tmp_path, progress=False)


def test_report_text_has_no_python_values_in_methods_or_at_the_end(report_2005):
    html = (report_2005 / "report.html").read_text()
    text = re.sub(r"<[^>]+>", " ", html)
    assert "PosixPath" not in text
    assert not re.search(r"\['\w+', '", text)  # no Python list printed by a cell
    assert "<NA>" not in html and "&lt;NA&gt;" not in html  # suppressed counts show a dash
    methods = text[text.index("Screening rules applied"):text.index("Statistics")]
    assert not re.search(r"\b(None|True|False)\b", methods)
    assert "straight-lining (the same answer to every item) is flagged" in methods
