import hashlib
import os
import warnings

import numpy as np
import pandas as pd
import pytest

import servqual as sq
from servqual.io import SurveyError, resolve_columns

from .conftest import DATA, FIXTURE_COLUMNS, SAMPLE, SQ_COLUMNS, write

TINY = """\
id: tiny
scale: {min: 1, max: 7}
not_applicable: [0, "N/A"]
measures: [expectation, perception]
gaps: {gap: perception - expectation}
weights: {total: 100}
dimensions:
  one: [a, b]
  two: [c, d]
items:
  a: {text: A}
  b: {text: B}
  c: {text: C}
  d: {text: D, reverse: true}
"""
HEADER = "rid,segment,E1,E2,E3,E4,P1,P2,P3,P4"
COLS = {"expectation": "E{index}", "perception": "P{index}"}


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return sq.load_instrument(path)


def read(path, inst, **kw):
    kw.setdefault("columns", COLS)
    kw.setdefault("id", "rid")
    kw.setdefault("segments", ["segment"])
    return sq.read_survey(path, inst, **kw)


# ----------------------------------------------------------------------------- happy paths
def test_sample_cycle_reads_exactly_what_the_file_holds(sample_2005):
    raw = pd.read_csv(SAMPLE / "library-2005.csv")
    survey = sample_2005
    assert survey.n_read == len(raw) and survey.year == 2005
    assert list(survey.respondents.index[:3]) == list(raw["respondent_id"][:3])
    inst = survey.instrument
    got = survey.ratings("perception", keyed=False, include_excluded=True)
    expected = raw[[f"P{inst.items[i].index:02d}" for i in inst.items]].to_numpy(dtype=float)
    np.testing.assert_array_equal(got.to_numpy(), expected)
    assert list(got.columns) == list(inst.items)
    assert {"segment", "branch", "year"} <= set(survey.respondents.columns)
    w = survey.weights.dropna()
    np.testing.assert_allclose(w.sum(axis=1), 100)
    assert survey.overall.notna().mean() > 0.9


def test_reverse_keying_and_not_applicable(tmp_path, tiny):
    path = write(tmp_path, "s.csv", f"{HEADER}\nr1,ug,7,6,N/A,2,5,4,0,6\nr2,pg,5,,3,1,3,2,2,7\n")
    survey = read(path, tiny)
    e = survey.ratings("expectation")
    # d is reverse-keyed on 1-7: 2 -> 6, 1 -> 7; N/A text and code 0 become missing
    assert e.loc["r1"].tolist()[:2] == [7, 6] and np.isnan(e.loc["r1", "c"]) and e.loc["r1", "d"] == 6
    assert e.loc["r2", "d"] == 7 and np.isnan(e.loc["r2", "b"])
    assert survey.ratings("expectation", keyed=False).loc["r1", "d"] == 2
    na = survey.not_applicable("expectation")
    assert na.loc["r1", "c"] and not na.loc["r2", "b"]  # N/A vs blank kept apart
    assert survey.not_applicable("perception").loc["r1", "c"]


def test_column_templates_and_explicit_mapping(tiny):
    cols = resolve_columns(tiny, {"expectation": "exp_{dimension}_{item}", "perception": {"a": "x1", "b": "x2", "c": "x3", "d": "x4"}})
    assert cols["expectation"] == {"a": "exp_one_a", "b": "exp_one_b", "c": "exp_two_c", "d": "exp_two_d"}
    assert cols["perception"]["d"] == "x4"
    assert resolve_columns(tiny, None)["perception"]["a"] == "perception_a"
    with pytest.raises(ValueError, match="'percepton' is not a measure.*did you mean 'perception'"):
        resolve_columns(tiny, {"percepton": "P{index}"})
    with pytest.raises(ValueError, match="maps no column for item"):
        resolve_columns(tiny, {"perception": {"a": "x1"}})
    with pytest.raises(ValueError, match="template 'P{number}' is invalid"):
        resolve_columns(tiny, {"perception": "P{number}"})
    with pytest.raises(ValueError, match="column 'same' is mapped twice"):
        resolve_columns(tiny, "same")


def test_formats_agree(tmp_path, fixture_survey):
    """CSV, Excel, SPSS and Parquet copies of a file give the same survey."""
    raw = pd.read_csv(DATA / "fixture-servqual.csv")
    inst = DATA / "fixture-servqual.yaml"
    kw = dict(columns=FIXTURE_COLUMNS, id="respondent_id", segments=["segment"], year=2005)
    raw.to_excel(tmp_path / "f.xlsx", index=False)
    raw.to_parquet(tmp_path / "f.parquet", index=False)
    import pyreadstat

    pyreadstat.write_sav(raw, str(tmp_path / "f.sav"))
    expected = sq.gap_table(fixture_survey, "item", by="segment")
    for name in ("f.xlsx", "f.parquet", "f.sav"):
        survey = sq.read_survey(tmp_path / name, inst, **kw)
        for m in ("expectation", "perception"):
            pd.testing.assert_frame_equal(survey.ratings(m), fixture_survey.ratings(m), check_index_type=False,
                                          check_names=False)
        got = sq.gap_table(survey, "item", by="segment")
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_spss_value_labels_and_user_missing(tmp_path, tiny):
    import pyreadstat

    frame = pd.DataFrame({
        "rid": [1.0, 2.0, 3.0], "segment": [1.0, 2.0, 1.0],
        "E1": [7.0, 8.0, 6.0], "E2": [6.0, 5.0, 99.0], "E3": [5.0, 4.0, 3.0], "E4": [2.0, 3.0, 4.0],
        "P1": [5.0, 4.0, 3.0], "P2": [4.0, 4.0, 4.0], "P3": [3.0, 8.0, 2.0], "P4": [6.0, 5.0, 4.0],
    })
    labels = {"segment": {1.0: "Undergraduate", 2.0: "Postgraduate"}}
    for col in ["E1", "E2", "E3", "E4", "P1", "P2", "P3", "P4"]:
        labels[col] = {1.0: "Strongly disagree", 7.0: "Strongly agree", 8.0: "Not applicable", 99.0: "No answer"}
    missing = {c: [8.0, 99.0] for c in labels if c != "segment"}
    pyreadstat.write_sav(frame, str(tmp_path / "s.sav"), variable_value_labels=labels, missing_ranges=missing)
    survey = read(tmp_path / "s.sav", tiny)
    assert list(survey.respondents["segment"]) == ["Undergraduate", "Postgraduate", "Undergraduate"]
    assert list(survey.respondents["segment"].cat.categories) == ["Undergraduate", "Postgraduate"]
    e = survey.ratings("expectation", keyed=False)
    # 8 is labelled "Not applicable": N/A; 99 "No answer": blank; both missing as ratings
    assert np.isnan(e.loc[2, "a"]) and survey.not_applicable("expectation").loc[2, "a"]
    assert np.isnan(e.loc[3, "b"]) and not survey.not_applicable("expectation").loc[3, "b"]
    assert survey.not_applicable("perception").loc[2, "c"]


# ----------------------------------------------------------------------------- encodings
WESTERN = "rid,segment,E1,E2,E3,E4,P1,P2,P3,P4\nr1,Étudiant,7,6,5,2,5,4,3,6\nr2,Bibliothèque,5,4,3,1,3,2,2,7\n"
KOREAN_SEGMENTS = ["학부생", "대학원생", "교수", "도서관 직원"]
KOREAN = "rid,segment,branch,E1,E2,E3,E4,P1,P2,P3,P4\n" + "".join(
    f"r{i},{KOREAN_SEGMENTS[i % 4]},{['중앙도서관', '의학도서관', '법학도서관'][i % 3]},7,6,5,2,5,4,3,6\n" for i in range(40)
)


def test_utf8_with_bom(tmp_path, tiny):
    survey = read(write(tmp_path, "s.csv", "\ufeff" + WESTERN), tiny)
    assert list(survey.respondents["segment"]) == ["Étudiant", "Bibliothèque"]
    assert survey.encoding == "utf-8"


def test_ambiguous_legacy_encoding_is_refused_not_guessed(tmp_path, tiny):
    path = write(tmp_path, "s.csv", WESTERN, "cp1252")
    with pytest.raises(SurveyError) as info:
        read(path, tiny)
    message = str(info.value)
    assert str(path) in message and "encoding is ambiguous" in message and "cp1252" in message
    assert "Line 3 reads differently" in message and "cp1252: 'r2,Bibliothèque" in message
    survey = read(path, tiny, encoding="cp1252")
    assert list(survey.respondents["segment"]) == ["Étudiant", "Bibliothèque"]


def test_unambiguous_legacy_encoding_detected_with_warning(tmp_path, tiny):
    path = write(tmp_path, "k.csv", KOREAN, "cp949")
    with pytest.warns(UserWarning, match="read as cp949"):
        survey = read(path, tiny)
    assert list(survey.respondents["segment"][:4]) == KOREAN_SEGMENTS
    assert survey.respondents["branch"].iloc[1] == "의학도서관"


def test_wrong_explicit_encoding_names_line(tmp_path, tiny):
    path = write(tmp_path, "s.csv", WESTERN, "cp1252")
    with pytest.raises(SurveyError, match=r"line 2: byte b'\\xc9' cannot be decoded as utf-8"):
        read(path, tiny, encoding="utf-8")


# ----------------------------------------------------------------------------- bad input
def test_missing_columns_with_suggestions(tmp_path, tiny):
    path = write(tmp_path, "s.csv", "rid,segment,e1,E2,E3,E4,P1,P2,P3,Perc4\nr1,ug,7,6,5,2,5,4,3,6\n")
    with pytest.raises(SurveyError) as info:
        read(path, tiny)
    message = str(info.value)
    assert message.startswith(f"{path}: 2 rating column(s)")
    assert "'E1' (expectation a); did you mean 'e1'?" in message
    assert "'P4' (perception d)" in message
    assert {p["column"] for p in info.value.problems} == {"E1", "P4"}


def test_duplicate_ids_name_both_lines(tmp_path, tiny):
    path = write(tmp_path, "s.csv", f"{HEADER}\nr1,ug,7,6,5,2,5,4,3,6\nr2,ug,7,6,5,2,5,4,3,6\nr1,pg,1,1,1,1,1,1,1,1\n")
    with pytest.raises(SurveyError, match=r"id\(s\) in column 'rid' appear more than once: 'r1' on line 2, line 4"):
        read(path, tiny)


def test_missing_ids(tmp_path, tiny):
    path = write(tmp_path, "s.csv", f"{HEADER}\nr1,ug,7,6,5,2,5,4,3,6\n,ug,7,6,5,2,5,4,3,6\n")
    with pytest.raises(SurveyError, match=r"1 respondent\(s\) have no id in column 'rid': line 3"):
        read(path, tiny)


def test_non_numeric_and_out_of_range(tmp_path, tiny):
    path = write(tmp_path, "s.csv", f"{HEADER}\nr1,ug,7,six,5,2,5,4,3,6\nr2,ug,8,6,5,2,5,4.5,3,-1\n")
    with pytest.raises(SurveyError) as info:
        read(path, tiny)
    message = str(info.value)
    assert "4 invalid ratings" in message
    assert "line 2, column 'E2': 'six' is not a number" in message
    assert "line 3, column 'E1': 8 is outside the scale 1–7" in message
    assert "line 3, column 'P2': 4.5 is not a whole number" in message
    assert "line 3, column 'P4': -1 is outside the scale 1–7" in message
    assert "expected: a whole number from 1 to 7, a blank cell for missing, or N/A code 0, 'N/A'" in message
    assert [(p["row"], p["column"]) for p in info.value.problems] == [
        ("line 2", "E2"), ("line 3", "E1"), ("line 3", "P2"), ("line 3", "P4")]


def test_many_bad_cells_are_counted(tmp_path, tiny):
    rows = "\n".join(f"r{i},ug,9,9,9,9,5,4,3,6" for i in range(5))
    with pytest.raises(SurveyError) as info:
        read(write(tmp_path, "s.csv", f"{HEADER}\n{rows}\n"), tiny)
    assert "20 invalid ratings" in str(info.value) and "… and 15 more" in str(info.value)
    assert len(info.value.problems) == 20


def test_whole_measure_empty(tmp_path, tiny):
    path = write(tmp_path, "s.csv", f"{HEADER}\nr1,ug,7,6,5,2,,,,\nr2,ug,7,6,5,2,,,,\n")
    with pytest.raises(SurveyError, match="measure 'perception' has no ratings at all: columns 'P1' … 'P4' are empty"):
        read(path, tiny)


def test_empty_and_header_only_files(tmp_path, tiny):
    with pytest.raises(SurveyError, match="the file is empty"):
        read(write(tmp_path, "e.csv", ""), tiny)
    with pytest.raises(SurveyError, match="has a header but no respondents"):
        read(write(tmp_path, "h.csv", HEADER + "\n"), tiny)
    with pytest.raises(SurveyError, match="file not found"):
        read(tmp_path / "none.csv", tiny)
    with pytest.raises(SurveyError, match="unsupported file type '.json'"):
        read(write(tmp_path, "x.json", "{}"), tiny)


def test_qualtrics_extra_header_rows(tmp_path, tiny):
    text = (
        f"{HEADER}\n"
        "Response ID,Segment,How important is A?,How important is B?,How important is C?,How important is D?,"
        "How well do we do A?,How well do we do B?,How well do we do C?,How well do we do D?\n"
        + ",".join(f'"{{""ImportId"":""QID{i}""}}"' for i in range(10)) + "\n"
        "r1,ug,7,6,5,2,5,4,3,6\nr2,pg,5,4,3,1,3,9,2,7\n"
    )
    path = write(tmp_path, "q.csv", text)
    with pytest.raises(SurveyError) as info:
        read(path, tiny)
    message = str(info.value)
    assert "line 2, line 3: the rating columns hold text" in message
    assert "Qualtrics-style export with 2 extra header rows" in message and "skip_rows=2" in message
    # with skip_rows the remaining problems still name the right line of the file
    with pytest.raises(SurveyError, match="line 5, column 'P2': 9 is outside the scale"):
        read(path, tiny, skip_rows=2)
    fixed = write(tmp_path, "q2.csv", text.replace("3,9,2,7", "3,2,2,7"))
    assert read(fixed, tiny, skip_rows=2).n == 2


def test_duplicated_column_names(tmp_path, tiny):
    path = write(tmp_path, "s.csv", "rid,segment,E1,E2,E3,E4,P1,P2,P3,P4,P2\nr1,ug,7,6,5,2,5,4,3,6,1\n")
    with pytest.raises(SurveyError, match="duplicated column names: 'P2' at columns 8, 11"):
        read(path, tiny)
    unused = write(tmp_path, "u.csv", "rid,segment,E1,E2,E3,E4,P1,P2,P3,P4,note,note\nr1,ug,7,6,5,2,5,4,3,6,x,y\n")
    with pytest.warns(UserWarning, match="duplicated column names \\(not used\\): 'note'"):
        read(unused, tiny)


def test_unknown_segment_and_id_columns(tmp_path, tiny):
    path = write(tmp_path, "s.csv", f"{HEADER}\nr1,ug,7,6,5,2,5,4,3,6\n")
    with pytest.raises(SurveyError, match="segment column 'segmnt' is not in the file; did you mean 'segment'"):
        read(path, tiny, segments=["segmnt"])
    with pytest.raises(SurveyError, match="id column 'RID' is not in the file; did you mean 'rid'"):
        read(path, tiny, id="RID")


def test_weights_must_sum_to_100(tmp_path, tiny):
    head = f"{HEADER},weight_one,weight_two\n"
    ok = write(tmp_path, "ok.csv", head + "r1,ug,7,6,5,2,5,4,3,6,60,40\nr2,ug,7,6,5,2,5,4,3,6,,\nr3,ug,7,6,5,2,5,4,3,6,100,\n")
    survey = read(ok, tiny)
    assert survey.weights.loc["r1"].tolist() == [60, 40]
    assert survey.weights.loc["r2"].isna().all()  # no allocation given
    assert survey.weights.loc["r3"].tolist() == [100, 0]  # blank beside a given weight is 0
    bad = write(tmp_path, "bad.csv", head + "r1,ug,7,6,5,2,5,4,3,6,60,30\n")
    with pytest.raises(SurveyError) as info:
        read(bad, tiny)
    message = str(info.value)
    assert "1 respondents' importance weights do not sum to 100" in message
    assert "line 2, column 'weight_one, weight_two': 90 is the sum of the weights (weight_one=60, weight_two=30)" in message
    with pytest.raises(SurveyError, match="weight column\\(s\\) missing: 'W_one', 'W_two'"):
        read(ok, tiny, weights="W_{dimension}")
    with pytest.raises(SurveyError, match="'minus' is not a number"):
        read(write(tmp_path, "n.csv", head + "r1,ug,7,6,5,2,5,4,3,6,minus,40\n"), tiny)


def test_bad_screening_override(tmp_path, tiny):
    path = write(tmp_path, "s.csv", f"{HEADER}\nr1,ug,7,6,5,2,5,4,3,6\n")
    with pytest.raises(SurveyError, match="did you mean 'max_not_applicable'"):
        read(path, tiny, screening={"max_not_aplicable": 3})
    with pytest.raises(SurveyError, match="max_inversions needs the measures 'minimum' and 'desired'"):
        read(path, tiny, screening={"max_inversions": 3})


def test_quoted_line_breaks_keep_line_numbers(tmp_path, tiny):
    text = f"{HEADER},comment\nr1,ug,7,6,5,2,5,4,3,6,\"two\nlines\"\nr2,ug,7,6,5,2,5,4,3,0,ok\nr3,ug,7,6,5,2,5,12,3,6,ok\n"
    with pytest.raises(SurveyError, match="line 5, column 'P2': 12 is outside"):
        read(write(tmp_path, "s.csv", text), tiny)


def test_empty_rows_skipped_with_warning(tmp_path, tiny):
    text = f"{HEADER}\nr1,ug,7,6,5,2,5,4,3,6\n,,,,,,,,,\nr2,ug,7,6,5,2,5,4,3,99\n"
    with pytest.warns(UserWarning, match="skipped 1 completely empty row"):
        with pytest.raises(SurveyError, match="line 4, column 'P4': 99 is outside"):
            read(write(tmp_path, "s.csv", text), tiny)


def test_excel_rows_named_as_in_the_spreadsheet(tmp_path, tiny):
    frame = pd.DataFrame([["r1", "ug", 7, 6, 5, 2, 5, 4, 3, 6], ["r2", "ug", 7, 6, 5, 2, 5, 4, 3, 10]],
                         columns=HEADER.split(","))
    frame.to_excel(tmp_path / "s.xlsx", index=False)
    with pytest.raises(SurveyError, match="row 3, column 'P4': 10 is outside"):
        read(tmp_path / "s.xlsx", tiny)


# ----------------------------------------------------------------------------- privacy, immutability
def test_personal_data_columns_dropped(tmp_path, tiny):
    text = (f"{HEADER},First Name,E-mail,phone_number,Student No,branch,comment\n"
            "r1,ug,7,6,5,2,5,4,3,6,Ann,ann@uni.edu,0412345678,s123,Central,great\n"
            "r2,pg,7,6,5,2,5,4,3,6,Bo,bo@uni.edu,0498765432,s456,Law,mail me at bo@uni.edu\n")
    with pytest.warns(UserWarning, match="look like personal data") as record:
        survey = read(write(tmp_path, "s.csv", text), tiny)
    dropped = {"First Name", "E-mail", "phone_number", "Student No", "comment"}
    assert set(survey.dropped_columns) == dropped
    assert not dropped & set(survey.respondents.columns)
    assert "branch" in survey.respondents.columns
    assert "ann@uni.edu" not in survey.respondents.to_csv() + survey.screening.to_csv()
    assert any("'comment'" in str(w.message) for w in record)


def test_personal_id_column_refused(tmp_path, tiny):
    path = write(tmp_path, "s.csv", "student_number,segment,E1,E2,E3,E4,P1,P2,P3,P4\ns1,ug,7,6,5,2,5,4,3,6\n")
    with pytest.raises(SurveyError, match="id column 'student_number' looks like personal data"):
        read(path, tiny, id="student_number")
    with pytest.warns(UserWarning, match="'student_number'"):
        survey = read(path, tiny, id=None)
    assert list(survey.respondents.index) == [1] and "student_number" in survey.dropped_columns


def test_raw_file_is_never_written(tmp_path):
    paths = [SAMPLE / "library-2005.csv", DATA / "fixture-core.csv"]
    before = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mtime_ns) for p in paths}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = sq.read_survey(paths[0], "servqual-22", columns=SQ_COLUMNS, id="respondent_id", segments=["segment"])
        c = sq.read_survey(paths[1], "library-core-22", id="respondent_id", segments=["segment"])
        sq.gap_table(s, "item", by="segment")
        sq.screen(c, straight_lining="exclude")
    after = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mtime_ns) for p in paths}
    assert before == after


def test_csv_columns_typed_as_pandas_reads_them(tmp_path):
    """The fast (Arrow) CSV reader gives every column the values pandas' reader gives:
    whole numbers, decimals, blanks and missing markers, text with separators, quotes and
    line breaks, dates kept as written, and codes too long for a float kept exactly."""
    from servqual.io import read_table

    text = ('id,ward,score,share,when,code,empty,note\n'
            '1,"North, east",7,0.5,2024-03-01,12345678901234567890,,plain\n'
            '2,South,NA,1.25,2024-03-02,12345678901234567891,,"with ""quotes"""\n'
            '3,West,5,,2024-03-03 10:15,00000000000000000007,,"two\nlines"\n'
            '4,#N/A,-,2,2024/03/04,1,,.\n')
    path = write(tmp_path, "mixed.csv", text)
    ours = read_table(path).frame
    theirs = pd.read_csv(path, keep_default_na=False, na_values=list(sq.io.MISSING_MARKERS),
                         dtype={"code": str}).astype(object)
    assert list(ours.columns) == list(theirs.columns)
    for column in theirs.columns:
        got = [None if pd.isna(v) else v for v in ours[column].astype(object)]
        want = [None if pd.isna(v) else v for v in theirs[column]]
        assert got == want, column
    assert pd.api.types.is_integer_dtype(ours["id"].dtype)
    assert pd.api.types.is_float_dtype(ours["share"].dtype) and pd.api.types.is_float_dtype(ours["empty"].dtype)
    assert ours["when"].tolist()[1:3] == ["2024-03-02", "2024-03-03 10:15"]
    assert ours["code"].tolist()[0] == "12345678901234567890"  # not 1.2345678901234567e19


def test_csv_rating_text_far_down_the_file_is_named(tmp_path, tiny):
    """A text answer thousands of rows down a numeric column is reported, not a type error
    from the reader's first block."""
    rows = [f"r{k},ug,7,6,5,2,5,4,3,6" for k in range(60_000)]
    rows[-2] = "rX,ug,7,6,5,2,5,four,3,6"
    path = write(tmp_path, "long.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(SurveyError, match=r"line 60000, column 'P2': 'four' is not a number"):
        read(path, tiny)


def test_rating_columns_read_as_numbers_or_as_text_alike(tmp_path, tiny):
    """Rating columns that are all numbers are parsed straight to numbers; one text label
    in them sends the file through the text path, and both give the same ratings."""
    numbers = f"{HEADER}\nr1,ug,7,6,5,2,5,4,3,6\nr2,pg,1,2,3,4,7,7,7,7\nr3,ug,,6,5,2,5,4,NA,6\n"
    labelled = numbers.replace("r2,pg,1,", "r2,pg,1 - strongly disagree,")
    a = read(write(tmp_path, "a.csv", numbers), tiny)
    with pytest.warns(UserWarning, match="read through their labels"):
        b = read(write(tmp_path, "b.csv", labelled), tiny)
    for measure in a.values:
        pd.testing.assert_frame_equal(a.values[measure], b.values[measure])
    assert list(a.respondents.index) == ["r1", "r2", "r3"] and a.respondents.index.dtype == b.respondents.index.dtype
