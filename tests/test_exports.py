"""Real exports: every awkward file ends in a precise error, a logged decision, or a correct result."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import servqual as sq
from servqual.io import SurveyError
from servqual.params import ParamsError

from .conftest import write

EXPORTS = Path(__file__).resolve().parent / "data" / "exports"
MINI = EXPORTS / "mini.yaml"
COLS = {"expectation": "E_{item}", "perception": "P_{item}"}
REFERENCE = EXPORTS / "trailing-delimiter.csv"  # the same 40 respondents in every shape


def read(path, **kwargs):
    kwargs.setdefault("columns", COLS)
    kwargs.setdefault("id", "respondent_id")
    kwargs.setdefault("segments", ["segment"])
    return sq.read_survey(path, MINI, **kwargs)


@pytest.fixture(scope="module")
def reference():
    text = REFERENCE.read_text().replace(",\n", "\n")  # the same rows without the trailing delimiter
    frame = pd.read_csv(pd.io.common.StringIO(text))
    return frame.set_index("respondent_id")


def same_ratings(survey, reference):
    for measure, prefix in (("expectation", "E_"), ("perception", "P_")):
        got = survey.ratings(measure, keyed=False)
        want = reference[[f"{prefix}{i}" for i in got.columns]].to_numpy(dtype=float)
        np.testing.assert_array_equal(got.loc[reference.index].to_numpy(), want)


# --------------------------------------------------------------------------- shapes that now read right
def test_classic_mac_line_endings(reference):
    survey = read(EXPORTS / "mac-classic-cr.csv")
    assert survey.n == 40
    same_ratings(survey, reference)


def test_trailing_delimiter_is_a_logged_decision_not_a_shift(reference):
    with pytest.warns(UserWarning, match="every data row ends in a delimiter that the header lacks"):
        survey = read(REFERENCE)
    same_ratings(survey, reference)
    assert list(survey.respondents["segment"].cat.categories) == ["postgraduate", "undergraduate"]


def test_excel_sep_hint_line(reference):
    survey = read(EXPORTS / "excel-sep-hint.csv")
    same_ratings(survey, reference)


def test_ratings_written_as_labels_are_read_through_the_scale(reference):
    with pytest.warns(UserWarning, match=r"read through their labels .*'Strongly agree' → 7|read through their labels"):
        survey = read(EXPORTS / "ratings-as-labels.csv")
    same_ratings(survey, reference)


def test_labels_unknown_to_the_scale_need_value_labels(tmp_path):
    text = "respondent_id,segment," + ",".join(f"E_{i}" for i in "P1 P2 P3 S1 S2 S3".split()) + "," + \
        ",".join(f"P_{i}" for i in "P1 P2 P3 S1 S2 S3".split()) + "\n"
    text += "R1,ug," + ",".join(["Very satisfied"] * 12) + "\n" + "R2,ug," + ",".join(["5"] * 12) + "\n"
    path = write(tmp_path, "sat.csv", text)
    with pytest.raises(SurveyError, match=r"line 2: the rating columns hold text.*If these are ratings written as "
                                          r"words, map the words to ratings with value_labels"):
        read(path)
    with pytest.warns(UserWarning, match="read through their labels"):
        survey = read(path, value_labels={"Very satisfied": 7})
    assert survey.ratings("perception").loc["R1"].eq(7).all()


def test_long_format_is_pivoted(reference):
    survey = read(EXPORTS / "long-format.csv", id=None, layout="long",
                  long_columns={"respondent": "ResponseId", "question": "Question", "answer": "Answer"})
    assert survey.n == 40
    same_ratings(survey, reference)


def test_workbook_saved_under_a_csv_name_and_data_on_another_sheet(reference):
    with pytest.warns(UserWarning, match=r"the file is XLSX although its name ends in \.csv"):
        with pytest.raises(SurveyError, match=r"The workbook has sheets 'Readme', 'Responses' and sheet 'Readme' "
                                              r"was read: set sheet:"):
            read(EXPORTS / "workbook-named-csv.csv")
    with pytest.warns(UserWarning, match="XLSX"):
        survey = read(EXPORTS / "workbook-named-csv.csv", sheet="Responses")
    same_ratings(survey, reference)
    with pytest.warns(UserWarning, match="XLSX"), pytest.raises(SurveyError, match="sheet 'Respones' is not in the "
                                                                                   "workbook; did you mean 'Responses'"):
        read(EXPORTS / "workbook-named-csv.csv", sheet="Respones")


def test_html_saved_as_excel_is_named():
    with pytest.raises(SurveyError, match="is an HTML page, not a data file"):
        read(EXPORTS / "web-page.xls")


def test_title_row_and_two_row_merged_header(reference):
    with pytest.raises(SurveyError, match=r"The column names are on row"):
        read(EXPORTS / "title-and-two-row-header.xlsx")
    survey = read(EXPORTS / "title-and-two-row-header.xlsx", header_rows=[2, 3],
                  columns={"expectation": "Expectation {item}", "perception": "Perception {item}"})
    same_ratings(survey, reference.rename(columns=lambda c: c))


def test_old_binary_xls_with_legacy_text(reference):
    survey = read(EXPORTS / "legacy-binary.xls")
    assert set(survey.respondents["segment"].cat.categories) == {"postgraduate", "étudiant"}
    same_ratings(survey, reference)


# --------------------------------------------------------------------------- precise errors
def test_row_with_one_field_too_many(tmp_path):
    lines = REFERENCE.read_text().replace(",\n", "\n").splitlines()
    lines[5] += ",7"
    path = write(tmp_path, "extra.csv", "\n".join(lines) + "\n")
    with pytest.raises(SurveyError, match=r"1 row\(s\) have more fields than the header's 14: line 6 has 15 fields"):
        read(path)


def test_unbalanced_quote(tmp_path):
    lines = REFERENCE.read_text().replace(",\n", "\n").splitlines()
    lines[3] = lines[3].replace(",postgraduate,", ',"postgraduate,').replace(",undergraduate,", ',"undergraduate,')
    path = write(tmp_path, "quote.csv", "\n".join(lines) + "\n")
    with pytest.raises(SurveyError, match=r"line 4: a quote mark \(\"\) opens a field that never closes"):
        read(path)


def test_truncated_parquet_and_corrupt_sav(tmp_path):
    frame = pd.read_csv(EXPORTS / "mac-classic-cr.csv")
    good = tmp_path / "good.parquet"
    frame.to_parquet(good)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(SurveyError, match=r"cut.parquet: cannot read the Parquet file \(damaged or truncated\?\)"):
        read(cut)
    bad = tmp_path / "bad.sav"
    bad.write_bytes(b"$FL2" + b"\x00" * 100)
    with pytest.raises(SurveyError, match=r"bad.sav: cannot read the SPSS file \(damaged or not a .sav file\)"):
        read(bad)


def test_nul_bytes(tmp_path):
    text = REFERENCE.read_text().replace(",\n", "\n").replace("R003", "R0\x0003")
    path = write(tmp_path, "nul.csv", text)
    with pytest.raises(SurveyError, match=r"line 4: the file holds a NUL byte"):
        read(path)


def test_utf8_file_with_one_legacy_line_is_refused(tmp_path):
    text = REFERENCE.read_text().replace(",\n", "\n").replace("postgraduate", "postgraduée")
    data = text.encode("utf-8")
    lines = data.split(b"\n")
    lines[6] = lines[6].replace("postgraduée".encode(), "postgraduée".encode("cp1252"))
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(SurveyError, match=r"mixes encodings: line\(s\) 7 are not UTF-8"):
        read(path)


def test_explicit_latin1_on_utf8_is_mojibake(tmp_path):
    text = REFERENCE.read_text().replace(",\n", "\n").replace("postgraduate", "postgraduée")
    path = write(tmp_path, "utf8.csv", text)
    with pytest.raises(SurveyError, match=r"line \d+: the file is UTF-8 but encoding='latin-1' was given.*Ã©"):
        read(path, encoding="latin-1")


def test_segment_spellings_warned_and_recoded(tmp_path):
    text = REFERENCE.read_text().replace(",\n", "\n")
    text = text.replace("R002,postgraduate", "R002,Post-graduate").replace("R004,postgraduate", "R004,post graduate")
    path = write(tmp_path, "spell.csv", text)
    with pytest.warns(UserWarning, match=r"'Post-graduate' and 'post graduate' and 'postgraduate' differ only in case"):
        read(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        survey = read(path, recode={"segment": {"Post-graduate": "postgraduate", "post graduate": "postgraduate"}})
    assert survey.respondents["segment"].value_counts()["postgraduate"] == 20


def test_segment_named_like_an_output_column(tmp_path):
    text = REFERENCE.read_text().replace(",\n", "\n").replace("segment", "unit", 1)
    path = write(tmp_path, "unit.csv", text)
    with pytest.raises(SurveyError, match=r"segment column 'unit' has the name of a column the workbench's tables use"):
        read(path, segments=["unit"])
    survey = read(path, segments={"unit": "site"})
    table = sq.gap_table(survey, level="dimension", by="site")
    assert set(table["site"]) == {"postgraduate", "undergraduate"}


def test_dimension_left_blank_by_everyone(tmp_path):
    frame = pd.read_csv(pd.io.common.StringIO(REFERENCE.read_text().replace(",\n", "\n")))
    for col in ("E_S1", "E_S2", "E_S3"):
        frame[col] = ""
    path = tmp_path / "blank.csv"
    frame.to_csv(path, index=False)
    with pytest.warns(UserWarning, match=r"nobody rated dimension\(s\) 'staff' on 'expectation'.*averages the other 1"):
        read(path)


def test_weights_template_with_unknown_placeholder(tmp_path):
    with pytest.raises(SurveyError, match=r"weights: template 'W_\{dim\}' is invalid"):
        sq.read_survey("data/raw/library-2005.csv", "servqual-22", weights="W_{dim}",
                       columns={"expectation": "E{index:02d}", "perception": "P{index:02d}"})


# --------------------------------------------------------------------------- personal data
def test_personal_data_by_header_and_by_content(tmp_path):
    frame = pd.read_csv(pd.io.common.StringIO(REFERENCE.read_text().replace(",\n", "\n")))
    n = len(frame)
    frame["Name of respondent"] = "Jo Bloggs"
    frame["RecipientFirstName"] = "Jo"
    frame["Postcode"] = "AB1 2CD"
    frame["LocationLatitude"] = 51.5
    frame["IPAddress"] = "10.0.0.1"
    frame["contact"] = [f"+44 20 7946 {k:04d}" for k in range(n)]  # phones under an innocent name
    frame["note"] = ["see jo@uni.ac.uk"] * n
    frame["remarks"] = ["Please phone me on 0161 496 0000 or mail jo@uni.ac.uk"] * n
    path = tmp_path / "pd.csv"
    frame.to_csv(path, index=False)
    with pytest.warns(UserWarning, match="dropped column\\(s\\) that look like personal data") as caught:
        survey = read(path, comments="remarks")
    message = str(caught[0].message)
    for column in ("Name of respondent", "RecipientFirstName", "Postcode", "LocationLatitude", "IPAddress",
                   "contact", "note"):
        assert repr(column) in message
        assert column not in survey.frame.columns
    assert survey.respondents["remarks"].iloc[0] == "Please phone me on [phone] or mail [e-mail]"
    frame["other"] = "ring 0161 496 0000 after six"  # free text nobody declared: kept, but masked
    frame.to_csv(path, index=False)
    with pytest.warns(UserWarning, match="personal data"):
        survey = read(path, comments="remarks")
    assert survey.respondents["other"].iloc[0] == "ring [phone] after six"


# --------------------------------------------------------------------------- params of the wrong type
@pytest.mark.parametrize("line, message", [
    ("skip_rows: '2'", "skip_rows: expected a whole number ≥ 0"),
    ("skip_rows: 1.5", "skip_rows: expected a whole number ≥ 0"),
    ("skip_rows: -1", "skip_rows: expected a whole number ≥ 0"),
    ("skip_rows: true", "skip_rows: expected a whole number ≥ 0"),
    ("encoding: 1252", "encoding: expected an encoding name as text"),
    ("encoding: klingon", "encoding: 'klingon' is not an encoding Python knows"),
    ("id: 1", "id: expected the name of the respondent id column, as text"),
    ("year: 2007_08", "year: expected a year such as 2007.*YAML reads 2007_08 as the number 200708"),
    ("weights: 'W_{dim}'", r"weights: template 'W_\{dim\}' uses \{dim\}"),
    ("overall: 30", "overall: expected the overall-satisfaction column's name as text"),
    ("header_rows: [2, 4]", "header_rows: expected the row number"),
])
def test_params_of_the_wrong_type_name_the_file_and_key(tmp_path, line, message):
    params = tmp_path / "cycle.yaml"
    params.write_text(f"instrument: servqual-22\nresponses: {Path('data/raw/library-2005.csv').absolute()}\n{line}\n")
    with pytest.raises(ParamsError, match=rf"^{params}: {message}"):
        sq.load_params(params)


def test_yaml_bombs_and_python_tags_are_refused(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for k, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[k]
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    bomb.write_text("\n".join(levels) + "\n")
    with pytest.raises(ParamsError, match="refused as a possible YAML bomb"):
        sq.load_params(bomb)
    tag = tmp_path / "tag.yaml"
    tag.write_text('instrument: !!python/object/apply:os.system ["echo hi"]\nresponses: x.csv\n')
    with pytest.raises(ParamsError, match="is not allowed: params and instrument files hold data, never code"):
        sq.load_params(tag)


def test_instrument_weights_total_must_be_a_number(tmp_path):
    text = MINI.read_text() + "weights: {total: .nan}\n"
    path = write(tmp_path, "w.yaml", text)
    with pytest.raises(sq.InstrumentError, match="weights.total must be a positive number of points"):
        sq.load_instrument(path)


def test_half_points_need_a_step(tmp_path):
    text = REFERENCE.read_text().replace(",\n", "\n").replace("R001,undergraduate,", "R001,undergraduate,5.5", 1)
    text = text.replace("R001,undergraduate,5.5", "R001,undergraduate,5.5,", 1) if False else text
    lines = text.splitlines()
    cells = lines[1].split(",")
    cells[2] = "5.5"
    lines[1] = ",".join(cells)
    path = write(tmp_path, "half.csv", "\n".join(lines) + "\n")
    with pytest.raises(SurveyError, match=r"'E_P1': 5.5 is not a whole number \(if the survey allows half points, "
                                          r"set step: 0.5"):
        read(path)
    half = write(tmp_path, "half.yaml", MINI.read_text().replace("scale: {min: 1, max: 7,", "scale: {min: 1, max: 7, step: 0.5,"))
    survey = sq.read_survey(path, half, columns=COLS, id="respondent_id", segments=["segment"])
    assert survey.ratings("expectation", keyed=False).loc[cells[0], "P1"] == 5.5


def test_screening_that_keeps_nobody_says_who_and_why(tmp_path, capsys):
    from servqual.cli import main

    text = REFERENCE.read_text().replace(",\n", "\n")
    lines = text.splitlines()
    # every respondent gives the same answer to every perception item: excluded as straight-liners
    rows = [",".join(line.split(",")[:8] + ["4"] * 6) for line in lines[1:]]
    path = write(tmp_path, "flat.csv", lines[0] + "\n" + "\n".join(rows) + "\n")
    survey = read(path, screening={"straight_lining": "exclude"})
    assert survey.n == 0
    with pytest.raises(sq.EmptySurveyError, match=r"screening excluded all 40 respondents \(straight_lining: 40; "
                                                  r"e\.g\. .*straight_lining: exclude"):
        sq.gap_table(survey)
    params = tmp_path / "flat.yaml"
    params.write_text(f"instrument: {MINI}\nresponses: {path}\ncolumns: {{expectation: 'E_{{item}}', perception: "
                      "'P_{item}'}\nid: respondent_id\nsegments: [segment]\nscreening: {straight_lining: exclude}\n")
    assert main(["score", str(params)]) == 1
    assert main(["validate", str(params)]) == 1
    err = capsys.readouterr().err
    assert "screening excluded all 40 respondents" in err and "Traceback" not in err


def test_identical_respondents_mean_no_variance_not_no_shortfall(tmp_path):
    lines = REFERENCE.read_text().replace(",\n", "\n").splitlines()
    rows = [",".join(line.split(",")[:2] + ["6"] * 6 + ["5", "4", "5", "4", "5", "4"]) for line in lines[1:]]
    path = write(tmp_path, "same.csv", lines[0] + "\n" + "\n".join(rows) + "\n")
    survey = read(path)
    tests = sq.gap_tests(survey, level="dimension")
    assert (tests["mean_gap"] < 0).all() and tests["p"].isna().all()
    sentence = sq.priorities(survey)["sentence"].iloc[0]
    assert "no variance to test" in sentence and "significantly" not in sentence
    table = sq.segment_tests(survey, by="segment", level="dimension")
    assert table["excluded"].str.contains("no variance within a group").all()


def test_drivers_say_why_without_variance(tmp_path):
    frame = pd.read_csv("data/raw/client-ipa-2007.csv")
    frame["overall"] = 5
    path = tmp_path / "constant-overall.csv"
    frame.to_csv(path, index=False)
    survey = sq.read_survey(path, "importance-performance", id="respondent_id", segments=["segment"])
    with pytest.raises(ValueError, match=r"every respondent gave the same overall satisfaction \(5\)"):
        sq.drivers(survey)


# --------------------------------------------------------------------------- a guided first mapping
def test_draft_maps_by_study_numbers_even_when_questions_are_swapped(tmp_path):
    # the study asked item S2 as question 4 and S1 as question 5 (swapped against our order)
    text = MINI.read_text().replace("number: 4}", "number: 5}", 1).replace(
        'S2: {text: "Staff know what they are talking about.", number: 5}',
        'S2: {text: "Staff know what they are talking about.", number: 4}')
    inst = write(tmp_path, "study.yaml", text)
    frame = pd.read_csv(pd.io.common.StringIO(REFERENCE.read_text().replace(",\n", "\n")))
    frame.columns = ["respondent_id", "segment"] + [f"Q{k} expectation" for k in range(1, 7)] + \
        [f"Q{k} perception" for k in range(1, 7)]
    frame["Email"] = "someone@uni.ac.uk"
    path = tmp_path / "study.csv"
    frame.to_csv(path, index=False)
    draft = sq.draft_params(path, inst)
    rated = draft.proposals.set_index("column")
    assert rated.loc["Q4 expectation", "item"] == "S2" and rated.loc["Q5 expectation", "item"] == "S1"
    assert rated.loc["Q4 perception", "measure"] == "perception"
    assert rated.loc["Email", "role"] == "personal"
    assert draft.params["id"] == "respondent_id" and draft.params["segments"] == ["segment"]
    params = draft.write(tmp_path / "study-params.yaml")
    survey = sq.read_cycle(params)
    np.testing.assert_array_equal(survey.ratings("expectation", keyed=False)["S2"].to_numpy(),
                                  frame["Q4 expectation"].to_numpy(dtype=float))


def test_draft_leaves_ambiguous_columns_as_commented_choices(tmp_path):
    frame = pd.read_csv(pd.io.common.StringIO(REFERENCE.read_text().replace(",\n", "\n")))
    # headers carrying only item text: no number, no measure word
    texts = ["quiet places to study", "the building is comfortable", "computers and printers work",
             "staff answer questions promptly", "staff know their subject", "staff are courteous"]
    frame.columns = ["respondent_id", "segment"] + [f"Before: {t}" for t in texts] + [f"After: {t}" for t in texts]
    path = tmp_path / "texts.csv"
    frame.to_csv(path, index=False)
    draft = sq.draft_params(path, MINI)
    text = draft.yaml()
    assert "CONFIRM" in text  # uncertain matches are never written as keys
    assert draft.unmapped  # and are reported as still to map


def test_init_from_a_korean_export_to_a_report(tmp_path):
    import json

    from servqual.cli import main
    from servqual.report import run_report

    assert main(["init", str(tmp_path / "k"), "--from", str(EXPORTS / "korean-cp949.csv"),
                 "--instrument", str(MINI)]) == 0
    project = tmp_path / "k"
    raw = project / "data" / "raw" / "korean-cp949.csv"
    assert raw.read_bytes() == (EXPORTS / "korean-cp949.csv").read_bytes()  # copied unchanged
    params = project / "params" / "korean-cp949.yaml"
    with open("/dev/null", "w") as sink:
        folder = run_report(params, progress=False, out=sink)
    summary = json.loads((folder / "summary.json").read_text())
    counts = summary["respondents_by_segment"]
    # the tiny age groups are combined into "Other" (so none is recoverable from the total)
    assert counts["20대"] == 104 and "50대 이상" not in counts and counts["Other"] >= 10
    assert all(n >= 10 for n in counts.values())
    assert (folder / "figures" / "radar-by-segment.png").exists()
    alt = json.loads((folder / "figures" / "figures.json").read_text())
    assert "20대" in alt["radar-by-segment"]  # the Korean group names reach the figure
    assert "50대 이상" in (folder / "report.html").read_text(encoding="utf-8")  # the note names what was combined
    notebook = (folder / "survey_cycle.ipynb").read_text()
    assert "Glyph" not in notebook and "Traceback" not in notebook
    assert "&lt;NA&gt;" not in (folder / "report.html").read_text()  # suppressed counts show a dash
    assert "failed_sections" not in summary


def test_command_line_options_accept_every_params_key(tmp_path, capsys):
    from servqual.cli import main

    code = main(["validate", str(EXPORTS / "title-and-two-row-header.xlsx"), "--instrument", str(MINI),
                 "--id", "respondent_id", "--segment", "segment",
                 "--column", "expectation=Expectation {item}", "--column", "perception=Perception {item}",
                 "--set", "header_rows=[2, 3]"])
    assert code == 0, capsys.readouterr().err
    assert "40 respondents read, 40 kept" in capsys.readouterr().out
    assert main(["validate", str(REFERENCE), "--instrument", str(MINI), "--set", "skip_rows='2'"]) == 1
    assert "command line: skip_rows: expected a whole number" in capsys.readouterr().err


# --------------------------------------------------------------------------- more shapes
def _reference_frame():
    return pd.read_csv(pd.io.common.StringIO(REFERENCE.read_text().replace(",\n", "\n")))


def test_true_false_cells_are_named_as_checkbox_answers(tmp_path):
    frame = _reference_frame().astype({"E_P1": object})
    frame.loc[2, "E_P1"] = "TRUE"
    path = tmp_path / "tf.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(SurveyError, match=r"line 4, column 'E_P1': 'TRUE' is a yes/no \(TRUE/FALSE\) answer, not a rating"):
        read(path)


def test_mixed_scales_and_item_dont_know_codes(tmp_path):
    text = MINI.read_text().replace(
        'S3: {text: "Staff treat clients with courtesy.", number: 6}',
        'S3: {text: "Staff treat clients with courtesy.", number: 6, scale: {min: 1, max: 10}, not_applicable: [99]}')
    inst = write(tmp_path, "mixed.yaml", text)
    frame = _reference_frame()
    frame.loc[0, "P_S3"] = 10
    frame.loc[1, "P_S3"] = 99
    frame.loc[2, "P_P1"] = 99
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(SurveyError, match=r"line 4, column 'P_P1': 99 is outside the scale 1–7"):
        sq.read_survey(path, inst, columns=COLS, id="respondent_id")
    frame.loc[2, "P_P1"] = 5
    frame.to_csv(path, index=False)
    survey = sq.read_survey(path, inst, columns=COLS, id="respondent_id")
    perception = survey.ratings("perception", keyed=False)
    assert perception.loc["R001", "S3"] == 10 and np.isnan(perception.loc["R002", "S3"])
    assert survey.not_applicable("perception").loc["R002", "S3"]


def test_form_versions_naming_one_item_differently(tmp_path):
    frame = _reference_frame()
    frame["P_P1_v2"] = np.nan
    frame.loc[20:, "P_P1_v2"] = frame.loc[20:, "P_P1"]
    frame.loc[20:, "P_P1"] = np.nan
    path = tmp_path / "versions.csv"
    frame.to_csv(path, index=False)
    mapping = {"expectation": {i: f"E_{i}" for i in ["P1", "P2", "P3", "S1", "S2", "S3"]},
               "perception": {i: f"P_{i}" for i in ["P1", "P2", "P3", "S1", "S2", "S3"]}}
    mapping["perception"]["P1"] = ["P_P1", "P_P1_v2"]
    survey = read(path, columns=mapping)
    np.testing.assert_array_equal(survey.ratings("perception", keyed=False)["P1"].to_numpy(),
                                  _reference_frame()["P_P1"].to_numpy(dtype=float))
    frame.loc[3, "P_P1_v2"] = 4
    frame.to_csv(path, index=False)
    with pytest.raises(SurveyError, match=r"line 5: perception P1 is answered in more than one form version"):
        read(path, columns=mapping)


def test_text_answers_in_korean_through_value_labels(tmp_path):
    words = {7: "매우 그렇다", 6: "그렇다", 5: "약간 그렇다", 4: "보통", 3: "약간 아니다", 2: "아니다", 1: "전혀 아니다"}
    frame = _reference_frame()
    for column in [c for c in frame.columns if c.startswith("P_")]:
        frame[column] = frame[column].map(words)
    path = tmp_path / "ko-text.csv"
    frame.to_csv(path, index=False, encoding="utf-8")
    with pytest.raises(SurveyError, match=r"(?s)240 invalid ratings:.*'매우 그렇다' is not a number.*others via "
                                          r"value_labels"):
        read(path)
    with pytest.warns(UserWarning, match="read through their labels"):
        survey = read(path, value_labels={v: k for k, v in words.items()})
    assert survey.ratings("perception", keyed=False).notna().all().all()


def test_columns_by_a_regular_expression_with_the_question_number(tmp_path):
    text = MINI.read_text().replace("number: 4}", "number: 9}", 1)  # S1 is the study's question 9
    inst = write(tmp_path, "q.yaml", text)
    frame = _reference_frame()
    numbers = {"P1": 1, "P2": 2, "P3": 3, "S1": 9, "S2": 5, "S3": 6}
    frame = frame.rename(columns={f"{m}_{i}": f"Q{n}_{'exp' if m == 'E' else 'perc'}"
                                  for m in "EP" for i, n in numbers.items()})
    path = tmp_path / "q.csv"
    frame.to_csv(path, index=False)
    columns = {"expectation": {"regex": r"^Q(?P<number>\d+)_exp$"}, "perception": {"regex": r"^Q(?P<number>\d+)_perc$"}}
    survey = sq.read_survey(path, inst, columns=columns, id="respondent_id")
    np.testing.assert_array_equal(survey.ratings("expectation", keyed=False)["S1"].to_numpy(),
                                  _reference_frame()["E_S1"].to_numpy(dtype=float))
    with pytest.raises(SurveyError, match=r"needs a named group \(\?P<number>…\)"):
        sq.read_survey(path, inst, columns={"expectation": {"regex": r"^Q\d+_exp$"}})
