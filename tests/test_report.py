"""The cycle and trends reports, executed with papermill on the sample data."""

import json
import os
import re
from pathlib import Path

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
                        progress=False, out=open("/dev/null", "w"), pdf=True)
    return folder


def html_text(folder) -> str:
    import html

    page = (folder / "report.html").read_text()
    return " ".join(html.unescape(re.sub(r"<style.*?</style>|<[^>]+>", " ", page, flags=re.S)).split())


@pytest.fixture(scope="module")
def survey_2005():
    return read_cycle(ROOT / "params" / "2005.yaml")


def read(folder, name):
    return pd.read_csv(folder / "tables" / f"{name}.csv")


def test_report_folder_layout(report_2005):
    assert report_2005.name == "2005"
    for name in ("report.html", "survey_cycle.ipynb", "summary.json", "figures/figures.json"):
        assert (report_2005 / name).exists(), name
    for stem in ("radar-by-segment", "gaps-overall", "heatmap", "ipa"):
        assert (report_2005 / "figures" / f"{stem}.png").exists() and (report_2005 / "figures" / f"{stem}.svg").exists()
    for table in ("gap_table_dimension_by_segment", "reliability", "gap_tests_item", "priorities", "drivers",
                  "screening_summary", "segment_tests", "invariance"):
        assert (report_2005 / "tables" / f"{table}.csv").exists(), table
    # the appendix says whether segment comparisons rest on scalar invariance, and what that means
    text = re.sub(r"<[^>]+>", "", (report_2005 / "report.html").read_text())
    assert re.search(r"Comparisons of dimension means between segment groups rest on scalar invariance, which "
                     r"holds here \(the highest level that holds: strict\)", text)
    invariance = pd.read_csv(report_2005 / "tables" / "invariance.csv")
    assert list(invariance["level"]) == ["configural", "metric", "scalar", "strict"]
    assert json.loads((report_2005 / "summary.json").read_text())["invariance"]["supported"] == "strict"


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
    for heading in ("Summary: what to do first", "The overall gap analysis", "Priorities for each group", "Methods"):
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
    # the chapters before the broken one are left out: only the failing cell's naming matters here
    source = default_template().read_text().replace(
        'report.show("appendix")', 'raise RuntimeError("the appendix step broke")').replace(
        'report.show("summary")', 'None').replace('report.show("results")', 'None')
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
    report.show("appendix")
    shown = report.shown
    assert "drivers" in shown and "screening" in shown and shown.index("segment_comparisons") < shown.index("drivers")
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


def test_summary_comes_first_with_at_most_three_library_wide_actions(report_2005):
    summary = json.loads((report_2005 / "summary.json").read_text())
    assert summary["sections"][0] == "summary"
    text = html_text(report_2005)
    page = (report_2005 / "report.html").read_text()
    headings = [re.sub(r"<[^>]+>|¶", "", h).strip() for _, h in re.findall(r"<h([123])[^>]*>(.*?)</h\1>", page, re.S)]
    order = ["Library client survey 2005", "Summary: what to do first", "Three things to do first (for the whole library)",
             "The overall gap analysis", "Priorities for each group", "Technical appendix", "Respondents by segment",
             "Reliability", "Dimensionality", "Methods"]
    positions = [headings.index(h) for h in order]
    assert positions == sorted(positions), headings
    assert headings[0] == "Library client survey 2005" and headings[1] == "Summary: what to do first"
    assert 1 <= len(summary["actions"]) <= 3
    page = (report_2005 / "report.html").read_text()
    summary_html = page[page.index("Summary: what to do first"):page.index("The overall gap analysis")]
    first_list = summary_html[summary_html.index("<ol"):summary_html.index("</ol>")]
    assert first_list.count("<li") == len(summary["actions"])
    # each action names its item text, shortfall with CI, and who is most affected
    plan = read(report_2005, "action_plan")
    for row in plan[plan["kind"] == "action"].itertuples():
        assert row.label.rstrip(".") in summary_html
        assert "Most affected:" in summary_html and "95% CI" in summary_html
    # the overall gap, in words, with its interval and a real minus sign
    assert re.search(r"Overall, service falls [\d.]+ points short of expectations \(mean gap −[\d.]+, 95% CI "
                     r"−[\d.]+ to −[\d.]+\)", text)
    assert "heatmap" in summary["figures"] and summary_html.count("<img") >= 1
    # the exceptions: at most one per group, only where its first priority differs
    exceptions = plan[plan["kind"] == "exception"]
    assert not exceptions.duplicated(["column", "group"]).any()
    assert not set(exceptions["item"]) & set(plan.loc[plan["kind"] == "action", "item"])


def test_priorities_and_the_grid_agree_in_the_report(report_2005):
    grid = read(report_2005, "importance_performance").set_index("item")
    plan = read(report_2005, "action_plan")
    actions = plan[plan["kind"] == "action"]
    tiers = {"concentrate here": 0, "keep up the good work": 1, "low priority": 2, "possible overkill": 3}
    assert (actions["quadrant"] == grid.loc[actions["item"], "quadrant"].to_numpy()).all()
    ranks = [tiers[q] for q in actions["quadrant"]]
    assert ranks == sorted(ranks)
    # nothing more important with a significant shortfall was passed over for a less important item
    tests = read(report_2005, "gap_tests_item").set_index("item")
    significant = tests[(tests["mean_gap"] < 0) & (tests["p_adj"] < 0.05)].index
    best_tier = min(tiers[grid.loc[i, "quadrant"]] for i in significant)
    assert ranks[0] == best_tier
    assert set(grid["importance_source"]) == {"weights"}  # one importance, named in the report
    assert "Importance used here and in the importance–performance grid: the 100 points clients allocated" in \
        html_text(report_2005)


def test_html_text_has_no_python_reprs_or_raw_identifiers(report_2005):
    text = html_text(report_2005)
    assert not re.search(r"\b(None|nan|NaN|True|False|PosixPath|Int64|dtype)\b", text)
    assert "<NA>" not in text
    for identifier in ("raw_alpha", "std_alpha", "gap_ci_low", "p_adj", "omega_total", "all_items", "one_factor",
                       "straight_lining"):
        assert identifier not in text, identifier
    assert not re.search(r"\b\d{2,}\.000\b", text)  # whole numbers as whole numbers (no "199.000")
    assert not re.search(r"p = 0\b", text)
    assert not re.search(r"(?<![\w\-–])-\d", text)  # real minus signs
    assert re.search(r"\d+%", text)  # shares as percentages
    page = (report_2005 / "report.html").read_text()
    assert 'class="num"' in page and 'class="text"' in page  # numbers right, text left
    # alt texts: the title (group and year) first, item text, real minus signs
    alt = json.loads((report_2005 / "figures" / "figures.json").read_text())
    assert alt["radar-by-segment"].startswith("Radar chart per segment 2005")
    assert "2005" in alt["gaps-overall"] and "−" in alt["gaps-overall"]
    assert [name for name, text in alt.items() if "2005" not in text] == []  # every figure's title carries the year
    assert "Staff give clients personal attention" in alt["gaps-overall"] or "personal attention" in \
        alt["gaps-overall"]


def test_pdf_is_a4_with_title_page_numbers_and_every_section(report_2005):
    import shutil
    import subprocess

    pdf = report_2005 / "report.pdf"
    assert pdf.exists() and pdf.stat().st_size > 50_000
    if not shutil.which("pdftotext"):
        if os.environ.get("CI"):
            pytest.fail("pdftotext is missing on CI: `make test` installs poppler-utils (make pdf-tools)")
        pytest.skip("poppler-utils is not installed (make test installs it)")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages >= 8
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert abs(width - 595.3) < 1 and abs(height - 841.9) < 1  # A4 portrait
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    text = " ".join(text.split())
    summary = json.loads((report_2005 / "summary.json").read_text())
    headline = re.sub(r"[*]", "", summary["headline"])
    assert headline in text
    from servqual.sections import section

    for key in summary["sections"]:
        assert section(key).title in text, key
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout
    assert "Library client survey 2005" in first and "Survey cycle 2005" in first and "Page" not in first
    assert f"Page 2 of {pages}" in text
    # nothing is cut at the margin: every word lies inside the page (and its 14 mm side margins)
    boxes = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    right = [float(x) for x in re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)"', boxes)]
    left = [float(x) for x in re.findall(r'<word xMin="([\d.]+)"', boxes)]
    margin = 14 / 25.4 * 72
    assert len(right) > 1000 and max(right) <= width - margin + 1 and min(left) >= margin - 1
    # the title page rendered: not blank
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "40", "-gray", str(pdf), str(report_2005 / "page")],
                   check=True)
    from PIL import Image

    pixels = np.asarray(Image.open(next(report_2005.glob("page*.pgm"))))
    assert pixels.shape[0] > pixels.shape[1]  # portrait
    assert (pixels < 128).mean() > 0.002  # dark text on the page, not a blank sheet


def test_figures_print_at_8_points_or_more():
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    from servqual.figures import cycle_figures
    from servqual.report import MIN_PRINT_PT, PRINT_WIDTH_IN, fit_for_print

    survey = read_cycle(ROOT / "params" / "library-core-2007.yaml")
    for name, fig in cycle_figures(survey).items():
        fit_for_print(fig)
        assert fig.get_figwidth() <= PRINT_WIDTH_IN + 1e-9, name
        sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert min(sizes) >= MIN_PRINT_PT, name
        plt.close(fig)


def test_change_since_the_previous_cycle(tmp_path):
    from servqual.report import CycleReport, previous_cycle

    assert previous_cycle(ROOT / "params" / "2006.yaml") == (ROOT / "params" / "2005.yaml").resolve()
    assert previous_cycle(ROOT / "params" / "2005.yaml") is None
    assert previous_cycle(ROOT / "params" / "library-core-2007.yaml") is None  # another instrument
    this, before = (read_cycle(ROOT / "params" / f"{y}.yaml") for y in (2006, 2005))
    report = CycleReport(this, tmp_path, previous=ROOT / "params" / "2005.yaml")
    report.show("summary")
    change = report.out.summary["change_since_previous"]
    expected = sq.year_changes([before, this], level="overall").set_index("dimension").loc["overall"]
    assert change["year_from"] == 2005
    assert change["change"] == pytest.approx(expected["change"], rel=1e-9)
    assert change["ci_low"] == pytest.approx(expected["ci_low"], rel=1e-9)
    plt_close_all()


def _recoverable(tables: dict, min_group_n: int, columns) -> list[str]:
    """Every way a suppressed or hidden count could be worked out: a shown group under
    min_group_n, or a total minus the shown groups leaving 1..min_group_n-1."""
    problems = []
    totals = {}
    for name, frame in tables.items():
        # totals of the same count (respondents with a paired score): the all-respondents gap tables
        if not name.startswith(("gap_table_", "respondents")) or "n" not in frame.columns \
                or any(c in frame.columns for c in columns):
            continue
        unit = next((u for u in ("item", "dimension") if u in frame.columns), None)
        for _, row in frame.iterrows():
            if pd.notna(row["n"]):
                totals[(unit, row[unit] if unit else None)] = max(totals.get((unit, row[unit] if unit else None), 0),
                                                                  int(row["n"]))
    for name, frame in tables.items():
        for column in columns:
            if column not in frame.columns or "n" not in frame.columns:
                continue
            shown = frame[pd.to_numeric(frame["n"], errors="coerce").notna()]
            small = shown[pd.to_numeric(shown["n"]) < min_group_n]
            if len(small):
                problems.append(f"{name}: {column} group(s) under {min_group_n} shown")
            unit = next((u for u in ("item", "dimension") if u in frame.columns), None)
            if unit is None:
                total = sum(v for (u, _), v in totals.items() if u is None) or None
                sums = {None: pd.to_numeric(shown["n"]).sum()}
            else:
                sums = pd.to_numeric(shown["n"]).groupby(shown[unit]).sum().to_dict()
            for key, got in sums.items():
                total = totals.get((unit, key)) if unit else max((v for (u, _), v in totals.items() if u is None),
                                                                  default=None)
                if total is not None and 0 < total - got < min_group_n:
                    problems.append(f"{name}: {column} {key}: total {total} − shown {got} = {total - got}")
    return problems


def test_suppressed_groups_cannot_be_recovered_from_any_output(tmp_path):
    from servqual.report import CycleReport

    frame = pd.read_csv(ROOT / "data" / "raw" / "library-2005.csv")
    rng = np.random.default_rng(5)
    frame.loc[rng.choice(len(frame), 6, replace=False), "segment"] = "visitor"  # tiny: 6
    frame.loc[rng.choice(len(frame), 4, replace=False), "branch"] = "Mobile"  # tiny: 4
    frame.loc[rng.choice(len(frame), 3, replace=False), "segment"] = np.nan  # segment left blank
    raw = tmp_path / "small.csv"
    frame.to_csv(raw, index=False)
    survey = sq.read_survey(raw, "servqual-22", columns={"expectation": "E{index:02d}", "perception": "P{index:02d}"},
                            id="respondent_id", segments=["segment", "branch"], year=2005)
    folder = tmp_path / "report"
    report = CycleReport(survey, folder, min_group_n=10)
    for chapter in ("summary", "results", "appendix"):
        report.show(chapter)
    report.finish()
    tables = {p.stem: pd.read_csv(p) for p in (folder / "tables").glob("*.csv")}
    respondents = tables["respondents_by_segment"].set_index("segment")["n"]
    assert "visitor" not in respondents.index and "Other" in respondents.index
    assert respondents["Other"] >= 10 and respondents.sum() == survey.n
    assert (respondents >= 10).all()
    problems = _recoverable(tables, 10, ["segment", "branch"])
    assert not problems, problems[:5]
    summary = json.loads((folder / "summary.json").read_text())
    assert all(v is None or v >= 10 for v in summary["respondents_by_segment"].values())
    assert all(v is None or v >= 10 for v in summary["respondents_by_branch"].values())
    # the check can fail: suppressing only the small rows (no fold, no complementary
    # suppression) leaves the visitors' count recoverable by subtraction
    with pytest.warns(sq.SmallGroupWarning):
        everyone = sq.gap_table(survey, "dimension", by="segment", min_group_n=None)
    plain = {"gap_table_dimension": sq.gap_table(survey, "dimension"),
             "by_segment": sq.suppress_small_groups(everyone, 10)}
    assert _recoverable(plain, 10, ["segment"])
    # complementary suppression alone (without the fold) already closes that gap
    plain["by_segment"] = sq.suppress_small_groups(everyone, 10, groups=["segment"])
    assert not _recoverable(plain, 10, ["segment"])
    plt_close_all()


def test_report_tables_fit_a_desktop_screen_and_the_page_a_phone(report_2005):
    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{chromium} is missing on CI: `make test` installs it (make browser)")
        pytest.skip(f"{chromium} is not installed (make browser)")
    from playwright.sync_api import sync_playwright

    requests = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        try:
            for width in (1280, 390):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.on("request", lambda r: requests.append(r.url))
                page.goto((report_2005 / "report.html").as_uri())
                tables = page.evaluate("""() => [...document.querySelectorAll('table')].map(t =>
                    [t.scrollWidth, t.parentElement.clientWidth, t.querySelector('th').innerText])""")
                assert len(tables) >= 8
                if width == 1280:  # nothing is cut or scrolls on a desktop screen
                    assert [t for t in tables if t[0] > t[1] + 1] == []
                # on a phone the page never scrolls sideways: wide tables scroll inside their box
                assert page.evaluate("() => document.documentElement.scrollWidth") <= width
                page.close()
        finally:
            browser.close()
    assert all(u.startswith(("file:", "data:")) for u in requests), [u for u in requests if not
                                                                   u.startswith(("file:", "data:"))]
