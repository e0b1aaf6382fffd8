"""What clients wrote: reading, coding, themes, sentiment, agreement, and the link to the gaps."""

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

import servqual as sq
from servqual.comments import (
    CodebookError,
    code_comments,
    coded_matrix,
    coder_agreement,
    coding_sheet,
    cohen_kappa,
    comment_sentiment,
    comment_table,
    comment_themes,
    krippendorff_alpha,
    load_codebook,
    quotes,
    read_coding_sheet,
    theme_frequencies,
    theme_gaps,
    wilson_interval,
)

from .conftest import ROOT, write


@pytest.fixture(scope="module")
def survey():
    return sq.read_cycle(ROOT / "params" / "2007.yaml")


@pytest.fixture(scope="module")
def coded(survey):
    return code_comments(survey)


def test_comments_are_read_masked_and_no_comment_is_missing(tmp_path):
    rows = ["respondent_id,segment,P01,E01,note",
            "r1,a,5,6,Please open longer. Mail me at jo@uni.edu or call +44 20 7946 0958",
            "r2,a,5,6,n/a", "r3,a,5,6,  -  ", "r4,b,5,6,None", "r5,b,5,6,", "r6,b,5,6,   ",
            "r7,b,5,6,Die Öffnungszeiten sind zu kurz.", "r8,b,5,6,My id is s1234567 and 20231234.",
            "r9,b,5,6,No comment."]
    path = write(tmp_path, "c.csv", "\n".join(rows) + "\n")
    inst = tmp_path / "one.yaml"
    inst.write_text("id: one\ntitle: One\nmeasures: {expectation: {role: standard}, perception: {role: performance}}\n"
                    "gaps: {gap: perception - expectation}\nscale: {min: 1, max: 7}\n"
                    "dimensions: {d: {items: [X]}}\nitems: {X: {text: x, number: 1}}\n")
    s = sq.read_survey(path, inst, columns={"expectation": "E{index:02d}", "perception": "P{index:02d}"},
                       id="respondent_id", segments=["segment"], comments="note")
    table = comment_table(s)
    assert list(table["id"]) == ["r1", "r7", "r8"]
    assert table["comment"].iloc[0] == "Please open longer. Mail me at [e-mail] or call [phone]"
    assert table["comment"].iloc[1] == "Die Öffnungszeiten sind zu kurz."  # any language kept as written
    assert table["comment"].iloc[2] == "My id is [number] and [number]."
    assert comment_table(sq.read_cycle(ROOT / "params" / "2005.yaml")).empty  # no comments column


def test_codebook_matching_rules():
    book = load_codebook()
    assert len(book.themes) == 12 and book.theme("noise").dimension_for(sq.load_instrument("library-core-22")) \
        == "library_as_place"
    found = book.match("Far too noisy upstairs! The printers are broken. I want to book a room for my group.")
    assert [t for t, _, _ in found] == ["noise", "study_space", "computers_printing"]
    assert "collections" not in [t for t, _, _ in found]  # "book a room" is excluded from books
    assert [t for t, _, _ in book.match("Two books I needed were on loan.")] == ["collections"]
    assert [t for t, _, _ in book.match("My ILL request took weeks.")] == ["interlibrary_loan"]
    assert book.match("I was ill during exams") == []  # the pattern is case-sensitive: ILL, not ill
    assert [m for _, m, _ in book.match("Printing costs too much")] == ["Printing"]  # print* takes any ending
    assert book.match("La biblioteca es muy ruidosa.") == []


def test_bad_codebooks_are_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("themes:\n  noise: {label: Noise}\n")
    with pytest.raises(CodebookError, match=r"bad.yaml: theme 'noise': no keywords or patterns"):
        load_codebook(bad)
    bad.write_text("themes:\n  noise: {label: Noise, keywords: [noise], patterns: ['(unclosed']}\n")
    with pytest.raises(CodebookError, match=r"theme 'noise': patterns: '\(unclosed' is not a valid regular expression"):
        load_codebook(bad)
    bad.write_text("themes:\n  noise: {label: Noise, keyword: [noise]}\n")
    with pytest.raises(CodebookError, match=r"unknown key\(s\) 'keyword'"):
        load_codebook(bad)
    with pytest.raises(CodebookError, match="no such file, and not a built-in codebook"):
        load_codebook("nowhere")
    from servqual.params import ParamsError, load_params

    params = tmp_path / "p.yaml"
    params.write_text(f"instrument: servqual-22\nresponses: {ROOT / 'data/raw/library-2005.csv'}\ncodebook: bad.yaml\n")
    with pytest.raises(ParamsError, match=r"p.yaml: codebook: .*bad.yaml: theme 'noise'"):
        load_params(params)


def test_code_comments_finds_themes_in_their_sentences(survey, coded):
    table = comment_table(survey).set_index("id")
    assert set(coded["theme"]) == set(load_codebook().ids)
    assert coded.attrs["comments"] == len(table)
    for row in coded.sample(60, random_state=1).itertuples():
        text = table.loc[row.id, "comment"]
        assert row.excerpt in text and row.matched.lower() in row.excerpt.lower()
    assert coded["dimension"].isin(list(survey.instrument.dimensions)).all()
    other = table["comment"].str.contains("biblioteca|Öffnungszeiten|도서관|图书馆|horaires")
    assert not coded["id"].isin(table.index[other]).any()  # other languages: kept, not coded by an English codebook


def test_themes_follow_the_gaps(survey, coded):
    """The generator makes unhappy clients write about their worst dimension: the link is found."""
    links = theme_gaps(survey, coded)
    assert len(links) == len(load_codebook().themes)
    clear = links[links["ci_high"] < 0]
    assert len(clear) >= 8 and (links["difference"] < 0).all()
    row = links.set_index("theme").loc["opening_hours"]
    assert row["dimension"] == "empathy" and "rate empathy" in row["sentence"] and "further below" in row["sentence"]
    # by hand: Welch on the dimension gap of mentioners against everyone else
    from scipy import stats

    dims = sq.scores(survey, "dimension")["gap"]["empathy"].dropna()
    dims.index = dims.index.astype(str)
    mention = dims.index.isin(set(coded.loc[coded["theme"] == "opening_hours", "id"]))
    test = stats.ttest_ind(dims[mention], dims[~mention], equal_var=False)
    assert row["t"] == pytest.approx(test.statistic, rel=1e-10) and row["p"] == pytest.approx(test.pvalue, rel=1e-8)


def test_frequencies_have_wilson_intervals_and_hide_small_groups(survey, coded):
    overall = theme_frequencies(survey, coded)
    row = overall.set_index("theme").loc["noise"]
    assert row["mentions"] == coded.loc[coded["theme"] == "noise", "id"].nunique()
    assert row["commenters"] == len(comment_table(survey))
    low, high = wilson_interval(row["mentions"], row["commenters"])
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    unmentioned = coded[coded["theme"] != "wifi"]
    unmentioned.attrs = dict(coded.attrs)
    row = theme_frequencies(survey, unmentioned).set_index("theme").loc["wifi"]
    assert row["label"] == "Wi-fi and connection" and row["mentions"] == 0  # a theme nobody wrote about stays listed
    by = theme_frequencies(survey, coded, by="segment", min_group_n=120)
    sizes = comment_table(survey)["segment"].value_counts()
    hidden = set(by.loc[by["suppressed"], "segment"])
    assert set(sizes[sizes < 120].index) <= hidden
    assert sizes[list(hidden)].sum() >= 120  # what is hidden cannot be had from the total


def test_quotes_keep_people_unrecognisable(survey, coded):
    q = quotes(survey, coded, "noise", k=3, by="segment")
    assert len(q) == 3 and (q["quote"].str.len() <= 161).all()
    assert set(q["quote"]) <= set(coded.loc[coded["theme"] == "noise", "excerpt"])
    assert quotes(survey, coded, "noise", min_group_n=1000).empty  # too few wrote about it
    segment_sizes = survey.respondents["segment"].value_counts()
    small = quotes(survey, coded, "noise", k=3, by="segment", segment_of_at_least=int(segment_sizes.max()) + 1)
    assert (small["segment"] == "").all()  # no segment named when it is small
    again = quotes(survey, coded, "noise", k=3, by="segment")
    pd.testing.assert_frame_equal(q, again)


def test_inductive_themes_find_what_the_codebook_misses(survey):
    model = comment_themes(survey, seed=3)
    again = comment_themes(survey, seed=3)
    pd.testing.assert_frame_equal(model.themes, again.themes)
    pd.testing.assert_frame_equal(model.stability, again.stability)
    words = " ".join(model.themes["top_terms"])
    assert "parking" in words or "car park" in words
    assert "coffee" in words or "cafe" in words
    assert model.n_themes == int(model.stability.loc[model.stability["stability"].idxmax(), "n_themes"]) or \
        model.stability.set_index("n_themes").loc[model.n_themes, "stability"] >= model.stability["stability"].max() - 0.01
    assert model.themes["size"].sum() <= model.comments
    fixed = comment_themes(survey, n_themes=2, seed=3)
    assert fixed.n_themes == 2 and fixed.stability["stability"].isna().all()
    with pytest.raises(ValueError, match="at least 10 are needed"):
        comment_themes(pd.Series(["too few"] * 3))


def test_sentiment_is_lexicon_based_and_english_only():
    out = comment_sentiment(["The staff are wonderful and so helpful!", "The wifi is terrible and the desk staff "
                             "were rude.", "The library opens at nine.", "Die Öffnungszeiten sind zu kurz.",
                             "图书馆的无线网络太慢了。"])
    assert list(out["sentiment"]) == ["positive", "negative", "neutral", "not scored", "not scored"]
    assert out["compound"].iloc[0] > 0.5 and out["compound"].iloc[1] < -0.5 and out["compound"].iloc[3:].isna().all()


def test_agreement_statistics_match_worked_examples_and_a_second_implementation():
    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4, abs=1e-12)
    nan = np.nan
    data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan], [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
            [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan], [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    assert krippendorff_alpha(data) == pytest.approx(0.743, abs=5e-4)  # Krippendorff (2011)
    assert krippendorff_alpha(data) == pytest.approx(krippendorff.alpha(reliability_data=data,
                                                                        level_of_measurement="nominal"), rel=1e-12)
    rng = np.random.default_rng(5)
    for _ in range(5):
        x = rng.integers(0, 3, 80)
        y = np.where(rng.random(80) < 0.7, x, rng.integers(0, 3, 80))
        assert cohen_kappa(x, y) == pytest.approx(cohen_kappa_score(x, y), rel=1e-12)
        assert krippendorff_alpha([x, y]) == pytest.approx(
            krippendorff.alpha(reliability_data=[x, y], level_of_measurement="nominal"), rel=1e-12)
    assert np.isnan(cohen_kappa([1, 1, 1], [1, 1, 1]))  # no variation: undefined, not 1


def test_coding_sheets_round_trip_and_two_coders_agree(survey, coded, tmp_path):
    book = load_codebook()
    for suffix in ("csv", "xlsx"):
        path = coding_sheet(survey, tmp_path / f"sheet.{suffix}", proposals=True)
        sheet = pd.read_excel(path, dtype=str, engine="calamine") if suffix == "xlsx" else pd.read_csv(path, dtype=str)
        assert list(sheet.columns[:3]) == ["comment_id", "comment", "proposed"] and len(sheet) == coded.attrs["comments"]
        assert not sheet["comment"].str.contains("@").any()
    # coder A marks what the codebook found; coder B the same, but differs on 15 comments' noise
    sheet = pd.read_csv(tmp_path / "sheet.csv", dtype=str, keep_default_na=False)
    machine = coded_matrix(coded, sheet["comment_id"], book.ids)
    a, b = sheet.copy(), sheet.copy()
    for theme in book.ids:
        a[theme] = np.where(machine[theme].to_numpy(), "x", "")
        b[theme] = np.where(machine[theme].to_numpy(), "1", "0")
    flip = b.index[:15]
    b.loc[flip, "noise"] = np.where(b.loc[flip, "noise"] == "1", "0", "1")
    a.to_csv(tmp_path / "a.csv", index=False)
    b.to_csv(tmp_path / "b.csv", index=False)
    result = coder_agreement(read_coding_sheet(tmp_path / "a.csv"), read_coding_sheet(tmp_path / "b.csv"),
                             texts=sheet.set_index("comment_id")["comment"])
    table = result.table.set_index("theme")
    assert table.loc["wifi", "kappa"] == 1 and table.loc["wifi", "alpha"] == 1
    assert table.loc["noise", "agreement"] == pytest.approx(1 - 15 / len(sheet))
    assert table.loc["noise", "kappa"] < 1 and len(result.disagreements) == 15
    assert set(result.disagreements["theme"]) == {"noise"} and result.disagreements["comment"].notna().all()
    # bad sheets are named: file, row, column, value
    b.loc[3, "wifi"] = "maybe"
    b.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match=r"bad.csv: row 5, column 'wifi': 'maybe' is not a mark"):
        read_coding_sheet(tmp_path / "bad.csv")
    b.drop(columns="noise").to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(ValueError, match=r"short.csv: missing column\(s\) 'noise'"):
        read_coding_sheet(tmp_path / "short.csv")
    pd.concat([a, a.head(1)]).to_csv(tmp_path / "twice.csv", index=False)
    with pytest.raises(ValueError, match=rf"twice.csv: row {len(a) + 2}, column 'comment_id'"):
        read_coding_sheet(tmp_path / "twice.csv")


def test_numbers_equal_r(survey, coded, tmp_path):
    """R: prop.test (Wilson), t.test (Welch), psych::cohen.kappa."""
    if shutil.which("Rscript") is None:
        pytest.skip("R is not installed (make r-oracle)")
    freq = theme_frequencies(survey, coded)
    links = theme_gaps(survey, coded)
    dims = sq.scores(survey, "dimension")["gap"]
    dims.index = dims.index.astype(str)
    rng = np.random.default_rng(2)
    x = rng.integers(0, 2, 60)
    y = np.where(rng.random(60) < 0.8, x, 1 - x)
    frame = pd.DataFrame({"x": x, "y": y})
    frame.to_csv(tmp_path / "kappa.csv", index=False)
    gaps = dims.copy()
    for theme in links["theme"]:
        gaps[f"m_{theme}"] = gaps.index.isin(set(coded.loc[coded["theme"] == theme, "id"])).astype(int)
    gaps.to_csv(tmp_path / "gaps.csv", index=False)
    freq[["mentions", "commenters"]].to_csv(tmp_path / "freq.csv", index=False)
    links[["theme", "dimension"]].to_csv(tmp_path / "links.csv", index=False)
    subprocess.run(["Rscript", str(ROOT / "tests" / "r" / "comments.R"), str(tmp_path)], check=True,
                   capture_output=True)
    theirs = json.loads((tmp_path / "out.json").read_text())
    np.testing.assert_allclose(freq["ci_low"], theirs["wilson_low"], rtol=1e-10)
    np.testing.assert_allclose(freq["ci_high"], theirs["wilson_high"], rtol=1e-10)
    np.testing.assert_allclose(links["difference"], theirs["difference"], rtol=1e-10)
    np.testing.assert_allclose(links["ci_low"], theirs["ci_low"], rtol=1e-8)
    np.testing.assert_allclose(links["df"], theirs["df"], rtol=1e-10)
    np.testing.assert_allclose(links["p"], theirs["p"], rtol=1e-6)
    assert cohen_kappa(x, y) == pytest.approx(theirs["kappa"][0], rel=1e-10)


def test_the_report_says_what_clients_wrote(survey, tmp_path):
    import matplotlib.pyplot as plt

    from servqual.plots import plot_themes
    from servqual.report import CycleReport

    report = CycleReport(survey, tmp_path / "r")
    report.show("summary")
    report.show("results")
    plt.close("all")
    summary = report.out.summary
    assert "comments" in report.shown and not summary.get("failed_sections")
    freq = pd.read_csv(tmp_path / "r" / "tables" / "comment_themes.csv").rename(
        columns={"theme_label": "label", "share_ci_low": "ci_low", "share_ci_high": "ci_high"})
    assert summary["comments"]["top_themes"] == list(freq.sort_values("share", ascending=False, kind="stable")
                                                     ["theme"].head(3))
    # the figure draws the shares it says
    ax = plot_themes(freq)
    bars = sorted((p.get_width() for p in ax.patches), reverse=True)
    np.testing.assert_allclose(bars, np.sort(freq["share"].to_numpy() * 100)[::-1])
    plt.close("all")
    # no comment in full and no id in any shared file; quotes are excerpts
    texts = comment_table(survey)
    long = [t for t in texts["comment"] if len(t) > 120]
    for path in (tmp_path / "r").rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".json", ".md", ".svg"):
            content = path.read_text(errors="replace")
            assert "@" not in content and not any(t in content for t in long[:50]), path
            assert not any(i in content for i in texts["id"].head(50)), path
    # quotes: false removes them everywhere
    off = CycleReport(survey, tmp_path / "off", quotes=False)
    off.show("results")
    plt.close("all")
    excerpts = set(code_comments(survey)["excerpt"])
    for path in (tmp_path / "off").rglob("*.csv"):
        content = path.read_text()
        assert not any(e in content for e in excerpts if len(e) > 30), path


def test_the_explorer_reads_the_comments_by_theme_and_segment():
    e = sq.explorer([ROOT / "params" / "2007.yaml"])
    e.figure_choice.value = "comments"
    assert e.level.disabled and e.quantity.value == "all themes"
    survey = e.survey
    coded = code_comments(survey)
    expected = theme_frequencies(survey, coded)
    np.testing.assert_allclose(e.current_table["share"], expected["share"])
    e.groups.value = ("postgraduate",)
    e.quantity.value = "noise"
    rows = [r for r in e.table.value.split("<tr>")[2:]]
    post = set(survey.respondents.index[survey.respondents["segment"] == "postgraduate"].astype(str))
    theirs = set(coded.loc[(coded["theme"] == "noise") & coded["id"].isin(post), "excerpt"])
    assert rows and all(any(t in r for t in theirs) for r in rows)
    e.min_n.value = 200
    assert "none is shown" in e.table.value


def test_the_coding_round_trip_on_the_command_line(tmp_path, capsys):
    from servqual.cli import main

    params = str(ROOT / "params" / "2007.yaml")
    assert main(["comments", "sheet", params, "--to", str(tmp_path / "a.xlsx")]) == 0
    assert "one column per theme" in capsys.readouterr().out
    sheet = pd.read_excel(tmp_path / "a.xlsx", dtype=str, engine="calamine").fillna("")
    sheet.loc[:9, "noise"] = "1"
    sheet.to_csv(tmp_path / "a.csv", index=False)
    other = sheet.copy()
    other.loc[:4, "noise"] = ""
    other.to_csv(tmp_path / "b.csv", index=False)
    assert main(["comments", "agree", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"),
                 "--disagreements", str(tmp_path / "d.csv")]) == 0
    out = capsys.readouterr().out
    assert "5 comment × theme disagreements to resolve" in out and "kappa" in out
    assert len(pd.read_csv(tmp_path / "d.csv")) == 5
    other.loc[2, "wifi"] = "perhaps"
    other.to_csv(tmp_path / "b.csv", index=False)
    assert main(["comments", "agree", str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]) == 1
    assert "row 4, column 'wifi': 'perhaps' is not a mark" in capsys.readouterr().err
