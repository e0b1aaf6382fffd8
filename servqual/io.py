"""Reading a survey cycle's raw export into a validated, screened :class:`Survey`.

Supported: CSV/TSV (encoding given or detected; a file whose encoding is ambiguous is
refused, never guessed), Excel (``.xlsx``), SPSS (``.sav``; value labels honoured, user
missing values respected) and Parquet.  The raw file is opened read-only and never
written.  Every problem is a :class:`SurveyError` naming the file, the row as the user
sees it (CSV line, spreadsheet row, SPSS case), the column, the value and what was
expected.  Columns that look like personal data are dropped on read with a warning.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import time
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .instrument import Instrument, ScreeningRules, did_you_mean, load_instrument
from .screening import apply_rules, check_applicable
from .survey import Survey

__all__ = ["SurveyError", "read_survey", "read_table", "resolve_columns", "PERSONAL_DATA_PATTERNS"]

#: Cell contents read as "missing" (a blank answer), besides an empty cell.
MISSING_MARKERS = ("", "NA", "NaN", "nan", "null", "NULL", "None", "#N/A", ".", "-")
DEFAULT_TEMPLATE = "{measure}_{item}"
DEFAULT_WEIGHTS_TEMPLATE = "weight_{dimension}"
MAX_LISTED = 5  # problems shown in one message; the rest are counted

#: Column names (lower-cased, letters and digits only) that hold personal data.
PERSONAL_DATA_PATTERNS = tuple(
    re.compile(p)
    for p in (
        r"^(recipient|respondent|student|staff|client|user|contact)?(first|last|given|family|full|sur|middle|nick)?name$",
        r"^(recipient|respondent|contact|student|staff)?e?mail(address)?$",
        r"^(recipient|respondent|contact)?(phone|mobile|telephone|tel|cell|fax)(number|no)?$",
        r"^(home|postal|street|mailing|ip|residential)?address$",
        r"^(student|staff|employee|matric|matriculation|personnel|payroll|badge|library(card)?)(number|no|num|id)$",
        r"^(location)?(latitude|longitude|lat|lng|lon|long)$",
        r"^nameof(the)?(respondent|recipient|student|client|contact|person|participant)$",
        r"^(respondent|recipient|student|staff|client|contact|participant)?(cell|mobile|home|work)?phone(number|no)?$",
        r"^(post|postal|zip)(code|no)?$|^postcode$|^plz$",
        r"^(ip|ipaddress|ipv4|ipv6)$",
        r"^(이름|성명|성함|전화번호|휴대폰|휴대전화|연락처|이메일|주소|학번|사번|姓名|名前|氏名|電話|电话|手机|邮箱|メール|住所)$",
        r"^(dateofbirth|dob|birthdate|birthday)$",
        r"^(ssn|tfn|taxfilenumber|socialsecuritynumber|passport(number|no)?)$",
    )
)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
#: A phone number inside text: an optional +, then at least 8 digits with spaces, dots,
#: dashes or brackets between them.
_PHONE_RE = re.compile(r"(?<![\w])\+?\(?\d[\d\s().-]{6,}\d(?![\w])")
_LONG_NUMBER_RE = re.compile(r"(?<![\w.])\d{7,}(?!\w|\.\d)")  # student/staff numbers
_ID_NUMBER_RE = re.compile(r"(?<![\w.])[A-Za-z]{1,2}\d{6,}(?![\w.])")  # s1234567, u6543210
#: Answers to a comment question that say "no comment" (case, spaces and dots ignored).
NO_COMMENT = frozenset({"", "-", "--", "---", ".", "..", "...", "n/a", "na", "n.a", "none", "nil", "no",
                        "nothing", "no comment", "no comments", "nope", "x", "/", "?", "null"})
_DATE_RE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}")  # dates are not phones
_IP_RE = re.compile(r"^\s*\d{1,3}(?:\.\d{1,3}){3}\s*$")


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def mask_personal(text: str) -> str:
    """Free text with e-mail addresses, phone numbers and student/staff numbers masked.

    Examples
    --------
    >>> from servqual.io import mask_personal
    >>> mask_personal("Call me on +44 20 7946 0958 or mail jo@uni.ac.uk (student 20231234)")
    'Call me on [phone] or mail [e-mail] (student [number])'
    >>> mask_personal("Started 2024-05-01 10:22")
    'Started 2024-05-01 10:22'
    >>> mask_personal("my id is s1234567")
    'my id is [number]'
    """
    text = _EMAIL_RE.sub("[e-mail]", text)
    text = _ID_NUMBER_RE.sub("[number]", text)
    text = _LONG_NUMBER_RE.sub("[number]", text)  # one run of digits: a student or staff number
    return _PHONE_RE.sub(lambda m: "[phone]" if _digits(m.group()) >= 8 and not _DATE_RE.search(m.group())
                         else m.group(), text)


def personal_content(values: pd.Series) -> str | None:
    """What personal data a text column's values hold (e-mails, phones, IPs, long numbers)."""
    text = pd.Series(pd.unique(values.dropna())).astype("string").str.strip()
    text = text[text != ""]
    if not len(text):
        return None
    if text.str.contains(_EMAIL_RE, regex=True).any():
        return "e-mail addresses"
    if text.str.fullmatch(_IP_RE).mean() > 0.5:
        return "IP addresses"
    phoneish = text.str.fullmatch(r"\+?[\d\s().-]{8,}") & (text.map(_digits) >= 8)
    if phoneish.mean() > 0.5:
        return "phone or student/staff numbers"
    return None


class SurveyError(ValueError):
    """A survey file cannot be read as the instrument requires.

    Attributes
    ----------
    path
        The file.
    problems
        The individual problems (dicts with ``row``, ``column``, ``value``, ``expected``
        where they apply), all of them, even when the message lists only the first few.
    """

    def __init__(self, path: str | Path, message: str, problems: Sequence[Mapping] = (), *, key: str | None = None):
        self.path = str(path)
        self.problems = list(problems)
        self.detail = message
        self.key = key  # the read_survey argument (params key) the problem is about, when one is
        super().__init__(f"{path}: {message}")


# --------------------------------------------------------------------------- raw tables
@dataclass
class RawTable:
    """A file's table as read, before any validation, and how to name its rows."""

    frame: pd.DataFrame  # header-mangled column names (pandas appends .1 to duplicates)
    header: list[str]  # column names exactly as in the file
    row_kind: str  # "line", "row" or "case"
    first_row: int  # user-visible number of the first data row (simple layouts)
    text: str | None = None  # CSV text, to locate rows exactly when needed
    sep: str = ","
    encoding: str | None = None
    value_labels: Mapping[str, Mapping[Any, str]] | None = None
    user_missing: Mapping[str, list] | None = None
    sheets: tuple[str, ...] = ()  # a workbook's sheet names
    sheet: str | None = None  # the sheet read
    _numbers: np.ndarray | None = None

    def label(self, position: int) -> str:
        """The row as the user sees it: 'line 7' (CSV), 'row 7' (Excel, Parquet), 'case 7'."""
        return f"{self.row_kind} {self.numbers()[position]}"

    def numbers(self) -> np.ndarray:
        """User-visible number of every row of ``frame`` (computed only when needed)."""
        if self._numbers is None:
            if self.text is None:
                self._numbers = self.first_row + np.arange(len(self.frame))
            else:
                # exact line numbers, even with quoted line breaks inside a cell
                starts, line = [], 1
                reader = csv.reader(io.StringIO(self.text), delimiter=self.sep)
                for record in reader:
                    if record:  # pandas skips blank lines too
                        starts.append(line)
                    line = reader.line_num + 1
                self._numbers = np.asarray(starts[1:], dtype=int)  # without the header
        return self._numbers

    def take(self, positions: np.ndarray) -> None:
        """Keep only some rows (skipped header rows, empty rows), numbering unchanged."""
        self._numbers = self.numbers()[positions]
        self.frame = self.frame.iloc[positions].reset_index(drop=True)


#: Two-character sequences that UTF-8 text turns into when it is decoded as Latin-1 or
#: cp1252 ("é" → "Ã©"): their presence means the encoding given is wrong.
_MOJIBAKE = re.compile("[\u00c2\u00c3][\u0080-\u00bf\u2018-\u201e\u2020-\u2026\u02c6\u2030\u0160\u2039\u0152"
                       "\u017d\u02dc\u2122\u0161\u203a\u0153\u017e\u0178]")


def _decode(path: Path, data: bytes, encoding: str | None) -> tuple[str, str]:
    """Decode CSV bytes: the given encoding strictly, else UTF-8, else an unambiguous guess.
    A file that is UTF-8 but for a few lines, or UTF-8 read with a legacy encoding, is
    refused with the line to look at, never read as a third encoding."""
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except LookupError:
            raise SurveyError(path, f"unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise SurveyError(
                path,
                f"line {line}: byte {data[exc.start:exc.start + 1]!r} cannot be decoded as {encoding} "
                f"({exc.reason}); the file is in another encoding: pass the right encoding=",
                [{"row": f"line {line}", "value": data[exc.start : exc.start + 1], "expected": encoding}],
            ) from None
        if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig", "ascii") and not data.isascii():
            if not _is_utf8(data):
                return text, encoding
            found = _MOJIBAKE.search(text)
            if found:
                line = text[: found.start()].count("\n") + 1
                start = text.rfind("\n", 0, found.start()) + 1
                column = found.start() - start
                snippet = text[start:].split("\n", 1)[0][max(0, column - 15): column + 15]
                raise SurveyError(
                    path,
                    f"line {line}: the file is UTF-8 but encoding={encoding!r} was given, which garbles its text "
                    f"({snippet!r}). Remove encoding= (UTF-8 is read by default) or pass encoding='utf-8'",
                )
        return text, encoding
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    # UTF-8 except for a few lines: a file pasted together from two sources
    lines = data.split(b"\n")
    bad = [k for k, line in enumerate(lines, start=1) if not _is_utf8(line)]
    multibyte = sum(1 for line in lines if not line.isascii() and _is_utf8(line))
    if multibyte and len(bad) <= max(3, len(lines) // 50):
        shown = ", ".join(str(k) for k in bad[:MAX_LISTED])
        raise SurveyError(
            path,
            f"mixes encodings: line(s) {shown} are not UTF-8 while {multibyte} other lines are UTF-8 text. "
            "Reading it as one legacy encoding would garble the UTF-8 lines; fix those lines (or save the whole "
            "file again as UTF-8)",
            [{"row": f"line {k}", "expected": "UTF-8 text"} for k in bad],
        )
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise SurveyError(path, "is not UTF-8 and its encoding could not be recognised; pass encoding=")
    best = min(m.chaos for m in matches)
    candidates: dict[str, str] = {}
    for match in matches:
        if match.chaos > best + 0.01:
            continue
        for name in [match.encoding, *match.could_be_from_charset]:
            try:
                candidates.setdefault(data.decode(name), name)
            except (UnicodeDecodeError, LookupError):
                continue
    if len(candidates) == 1:
        text, name = next(iter(candidates.items()))
        warnings.warn(
            f"{path}: not UTF-8; read as {name} (detected). Pass encoding= to be explicit.",
            UserWarning,
            stacklevel=3,
        )
        return text, name
    # ambiguous: show where the readings differ and refuse to guess
    readings = list(candidates.items())[:3]
    lines = [t.splitlines() for t, _ in readings]
    where = ""
    for number, variants in enumerate(zip(*lines), start=1):
        if len(set(variants)) > 1:
            shown = "; ".join(f"{name}: {v[:60]!r}" for v, (_, name) in zip(variants, readings))
            where = f" Line {number} reads differently — {shown}."
            break
    names = ", ".join(name for _, name in readings)
    raise SurveyError(
        path,
        f"is not UTF-8 and its encoding is ambiguous ({names} all fit).{where} "
        f"Pass encoding= with the encoding the file was saved in (e.g. encoding={readings[0][1]!r}).",
    )


#: The first bytes of each binary format, to read a file by what it is, not its name.
_MAGIC = (
    (b"PK\x03\x04", "xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
    (b"PAR1", "parquet"),
    (b"$FL2", "sav"),
    (b"$FL3", "sav"),
)
_FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls",
            ".sav": "sav", ".zsav": "sav", ".parquet": "parquet", ".pq": "parquet"}


def _sniff_format(path: Path, head: bytes) -> str:
    """The file's real format from its first bytes (an .xlsx saved as .csv is still read right)."""
    by_name = _FORMATS.get(path.suffix.lower())
    by_bytes = next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)
    if by_bytes is None:
        probe = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if probe.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml")):
            by_bytes = "html"
        elif by_name == "csv" or (by_name is not None and b"\x00" not in head[:4096] and head.strip()):
            by_bytes = "csv"  # text: a CSV, also when saved under a spreadsheet's name
    if by_bytes == "html":
        raise SurveyError(
            path,
            "is an HTML page, not a data file (some survey tools export 'Excel' files that are web pages). "
            "Open it in a spreadsheet program and save it as .xlsx or .csv",
        )
    if by_name is None and by_bytes is None:
        raise SurveyError(
            path, f"unsupported file type {path.suffix or '(none)'!r}: use .csv, .tsv, .xlsx, .xls, .sav or .parquet"
        )
    if by_bytes is not None and by_name is not None and by_bytes != by_name:
        warnings.warn(
            f"{path}: the file is {by_bytes.upper()} although its name ends in {path.suffix}; read as {by_bytes.upper()}",
            UserWarning, stacklevel=4,
        )
    return by_bytes or by_name


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_table(
    path: str | Path,
    *,
    encoding: str | None = None,
    sheet: str | int | None = None,
    text_columns: Sequence[str] = (),
    header_rows: int | Sequence[int] | None = None,
    number_columns: Sequence[str] = (),
) -> RawTable:
    """Read a file's table as it is (no validation): CSV/TSV, Excel, SPSS or Parquet.

    The format is read from the file's bytes, not only its name.  ``header_rows`` says
    which rows (1-based) hold the column names when they are not just the first: ``2`` or
    ``[2]`` for a title row above them, ``[1, 2]`` for a two-row header (the rows' texts
    are joined with a space; a merged cell's text carries over to the cells it spans).
    ``number_columns`` (a CSV's rating columns) are parsed straight to numbers when every
    value in them is one; otherwise they are read as any other column.
    """
    path = Path(path)
    if not path.exists():
        raise SurveyError(path, "file not found")
    if path.is_dir():
        raise SurveyError(path, "is a folder, not a survey file")
    rows = _header_rows(path, header_rows)
    with open(path, "rb") as handle:
        head = handle.read(8192)
    kind = _sniff_format(path, head)
    if kind == "csv":
        return _read_csv(path, path.read_bytes(), encoding, text_columns, rows, number_columns)
    if kind in ("xlsx", "xls"):
        return _read_excel(path, kind, sheet, text_columns, rows)
    if rows != [1]:
        raise SurveyError(path, f"header_rows applies to CSV and Excel files, not to {kind} files")
    if kind == "sav":
        import pyreadstat

        try:
            frame, meta = pyreadstat.read_sav(str(path), user_missing=True, encoding=encoding)
        except Exception as exc:  # noqa: BLE001 - pyreadstat raises several unrelated types
            raise SurveyError(path, f"cannot read the SPSS file (damaged or not a .sav file): {exc}") from None
        missing = {}
        for col, ranges in (meta.missing_ranges or {}).items():
            missing[col] = [(r["lo"], r["hi"]) for r in ranges]
        return RawTable(
            frame, list(frame.columns), "case", 1,
            value_labels=meta.variable_value_labels or {}, user_missing=missing,
        )
    # Parquet: Arrow-backed columns, no conversion on read; each rating column is turned
    # into floats once, straight into the survey's arrays
    try:
        frame = pd.read_parquet(path, dtype_backend="pyarrow")
    except Exception as exc:  # noqa: BLE001 - pyarrow's errors (ArrowInvalid, OSError) name no file
        raise SurveyError(path, f"cannot read the Parquet file (damaged or truncated?): {exc}") from None
    _release_arrow_memory()  # the reader's decoding buffers
    return RawTable(frame, [str(c) for c in frame.columns], "row", 1)


def _header_rows(path: Path, header_rows) -> list[int]:
    if header_rows is None:
        return [1]
    rows = [header_rows] if isinstance(header_rows, int) and not isinstance(header_rows, bool) else header_rows
    ok = isinstance(rows, (list, tuple)) and rows and all(
        isinstance(r, int) and not isinstance(r, bool) and r >= 1 for r in rows)
    if not ok or list(rows) != list(range(rows[0], rows[0] + len(rows))):
        raise SurveyError(path, f"header_rows must be a row number ≥ 1 or consecutive row numbers such as [1, 2], "
                                f"got {header_rows!r}")
    return list(rows)


def _merge_header(rows: list[list[str]]) -> list[str]:
    """Column names from one or more header rows; a merged cell's text fills the cells it spans."""
    width = max(len(r) for r in rows)
    filled = []
    for k, row in enumerate(rows):
        row = [str(c).strip() if c is not None and str(c).strip().lower() not in ("nan", "none") else ""
               for c in row] + [""] * (width - len(row))
        if k < len(rows) - 1:  # spanning header cells above the last row carry to the right
            last = ""
            for j, cell in enumerate(row):
                last = cell or last
                row[j] = last
        filled.append(row)
    return [" ".join(part for part in col if part) for col in zip(*filled)]


def _read_csv(path: Path, data: bytes, encoding: str | None, text_columns, header_rows: list[int],
              number_columns=()) -> RawTable:
    if not data or data.isspace():
        raise SurveyError(path, "the file is empty (no header, no respondents)")
    text, used = _decode(path, data, encoding)
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise SurveyError(path, f"line {line}: the file holds a NUL byte (\\x00); it is damaged or not a text file. "
                                "Open it in a spreadsheet program and save it again as CSV")
    if "\r" in text:  # Windows (CRLF) and classic Mac (CR only) line endings
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    offset = 0
    first = _first_line(text)
    hint = re.fullmatch(r'\s*"?sep=(.)"?\s*', first)
    if hint:  # Excel's "sep=;" line names the delimiter
        sep = hint.group(1)
        text = text.split("\n", 1)[1] if "\n" in text else ""
        offset = 1
    else:
        sep = "\t" if path.suffix.lower() == ".tsv" else max(",;\t", key=first.count)
    if header_rows != [1]:
        skipped = header_rows[0] - 1
        lines = text.split("\n")
        parsed = list(csv.reader(lines[skipped: skipped + len(header_rows)], delimiter=sep))
        names = _merge_header(parsed)
        text = "\n".join([_csv_line(names, sep)] + lines[skipped + len(header_rows):])
        offset += skipped + len(header_rows) - 1
    if not text.strip():
        raise SurveyError(path, "has no header line")
    header = next(csv.reader(io.StringIO(_first_line(text)), delimiter=sep))
    frame = _arrow_csv(text, sep, header, text_columns, number_columns)
    if frame is None:  # a file Arrow cannot split: pandas' reader, and every problem named
        frame = _pandas_csv(path, text, sep, header, text_columns, offset)
    if offset:
        text = "\n" * offset + text  # line numbers as the user sees them in the file
    return RawTable(frame, header, "line", 0, text=text, sep=sep, encoding=used)


def _pandas_csv(path: Path, text: str, sep: str, header: list[str], text_columns, offset: int) -> pd.DataFrame:
    options = dict(sep=sep, dtype={c: "str" for c in text_columns} or None, keep_default_na=False,
                   na_values=list(MISSING_MARKERS), skip_blank_lines=True, low_memory=False)
    try:
        frame = pd.read_csv(io.StringIO(text), **options)
    except pd.errors.ParserError as exc:
        # rows with more fields than the header, or a quote that never closes: name them all
        _check_fields(path, text, sep, len(header), offset)
        raise SurveyError(path, f"cannot be read as a table: {exc}".replace("C error: ", "")) from None
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas makes the first column the index when every row has one field too many:
        # accept that only when the extra field is an empty trailing one (said in a warning)
        _check_fields(path, text, sep, len(header), offset)
        frame = pd.read_csv(io.StringIO(text), index_col=False, **options)
    return frame


_LONG_INTEGER = r"^\s*[+-]?[0-9]{16,}\s*$"


def _arrow_csv(text: str, sep: str, header: list[str], text_columns, number_columns=()) -> pd.DataFrame | None:
    """The common case, read at Arrow's speed: every field as text in one multi-threaded
    pass (``number_columns`` straight as decimals when they all are), then each other
    column as whole numbers, else decimals, else text — the types pandas' reader gives,
    without its guesses at dates.  ``None`` (the caller then reads with pandas, which names
    the problem) for a header with blank or repeated names, rows with too few or too many
    fields, or anything else Arrow cannot split."""
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    if len(set(header)) != len(header) or any(not name.strip() for name in header):
        return None
    numbers = set(number_columns) - set(text_columns)
    data = pa.py_buffer(text.encode("utf-8"))

    def parse(as_numbers):
        types = {name: pa.float64() if name in as_numbers else pa.string() for name in header}
        return pa_csv.read_csv(
            data, read_options=pa_csv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pa_csv.ParseOptions(delimiter=sep, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(column_types=types, null_values=list(MISSING_MARKERS),
                                                  strings_can_be_null=True, quoted_strings_can_be_null=True),
        )

    try:
        try:
            table = parse(numbers)
        except pa.ArrowInvalid:
            if not numbers:
                raise
            table = parse(set())  # a rating column holds text (a label, a second header row): typed below
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    keep_text = set(text_columns)

    def typed(name_column):
        name, column = name_column
        if name not in keep_text and pa.types.is_string(column.type):
            column = _arrow_typed(column)
        return column.combine_chunks()  # one buffer per column, not one per 1 MB block

    # Arrow's kernels let go of the GIL: the columns are typed on every core
    with ThreadPoolExecutor(max_workers=min(len(header), pa.cpu_count())) as pool:
        columns = list(pool.map(typed, zip(header, table.columns)))
    return pa.table(columns, names=header).to_pandas(types_mapper=pd.ArrowDtype)


def _arrow_typed(column):
    """A text column as pandas' reader would type it: whole numbers, else decimals, else
    text (an all-blank column as decimals); a code longer than a float holds exactly stays
    text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.null_count == len(column):
        return pc.cast(column, pa.float64())
    for kind in (pa.int64(), pa.float64()):
        try:
            cast = pc.cast(column, kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        if kind == pa.float64() and pc.any(pc.match_substring_regex(column, _LONG_INTEGER)).as_py():
            return column
        return cast
    return column


def _first_line(text: str) -> str:
    """The text up to its first line break (without copying the rest, as split would)."""
    end = text.find("\n")
    return text if end < 0 else text[:end]


def _csv_line(values: list[str], sep: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sep, lineterminator="").writerow(values)
    return buffer.getvalue()


def _check_fields(path: Path, text: str, sep: str, width: int, offset: int) -> None:
    """Run only when pandas saw a problem: every data row must have as many fields as the
    header.  Returns (with a warning) when every row only ends in one delimiter too many
    (an empty trailing field); raises naming every row with more fields, or the line where
    a quote opens and never closes."""
    over, ends_empty, rows = [], True, 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    start = 1
    try:
        for k, record in enumerate(reader):
            line = start + offset
            start = reader.line_num + 1
            if k == 0 or not record:
                continue
            rows += 1
            if len(record) > width:
                over.append((line, len(record), record))
                ends_empty &= len(record) == width + 1 and record[-1].strip() == ""
            elif len(record) == width:
                ends_empty = False
    except csv.Error as exc:
        raise SurveyError(path, f"line {start + offset}: cannot be read ({exc})") from None
    if text.count('"') % 2:
        # the unbalanced quote swallows the rest of the file into one field: find its line
        opened = _unclosed_quote_line(text, sep)
        if opened is not None:
            raise SurveyError(
                path,
                f"line {opened + offset}: a quote mark (\") opens a field that never closes, so the rest of the file "
                "would be read as one cell. Remove the stray quote or close it, then save the file again",
            )
    if not over:
        return
    if ends_empty and len(over) == rows:
        warnings.warn(
            f"{path}: every data row ends in a delimiter that the header lacks; the empty last field was ignored "
            "(the columns are read as the header names them)",
            UserWarning, stacklevel=5,
        )
        return
    shown = "; ".join(f"line {line} has {n} fields" for line, n, _ in over[:MAX_LISTED])
    more = f"; … and {len(over) - MAX_LISTED} more" if len(over) > MAX_LISTED else ""
    raise SurveyError(
        path,
        f"{len(over)} row(s) have more fields than the header's {width}: {shown}{more}. A delimiter ({sep!r}) "
        "inside an answer must be quoted; fix these rows or export the file again",
        [{"row": f"line {line}", "value": n, "expected": f"{width} fields"} for line, n, _ in over],
    )


def _unclosed_quote_line(text: str, sep: str) -> int | None:
    """The line on which a quoted field opens and never closes (None when none does)."""
    inside, opened, line, at_field_start = False, None, 1, True
    for ch in text:
        if ch == "\n":
            line += 1
            if not inside:
                at_field_start = True
            continue
        if ch == '"':
            if inside:
                inside = False
            elif at_field_start:
                inside, opened = True, line
            at_field_start = False
            continue
        at_field_start = (ch == sep) and not inside
    return opened if inside else None


def _read_excel(path: Path, kind: str, sheet, text_columns, header_rows: list[int]) -> RawTable:
    # calamine (Rust) reads .xlsx several times faster than openpyxl, and old binary .xls too
    try:
        import python_calamine  # noqa: F401
    except ImportError:  # pragma: no cover - a dependency
        raise SurveyError(path, "spreadsheets need the python-calamine package: pip install python-calamine") \
            from None
    try:
        book = pd.ExcelFile(path, engine="calamine")
    except Exception as exc:  # noqa: BLE001 - zipfile and calamine errors
        raise SurveyError(path, f"cannot open the spreadsheet (damaged, password-protected or not {kind}): "
                                f"{exc}") from None
    names = book.sheet_names
    chosen = 0 if sheet is None else sheet
    if isinstance(chosen, str) and chosen not in names:
        raise SurveyError(path, f"sheet {chosen!r} is not in the workbook{did_you_mean(chosen, names)} "
                                f"(sheets: {', '.join(map(repr, names))})")
    if isinstance(chosen, int) and not isinstance(chosen, bool) and not 0 <= chosen < len(names):
        raise SurveyError(path, f"sheet {chosen} does not exist: the workbook has {len(names)} sheet(s): "
                                f"{', '.join(map(repr, names))} (sheet: takes a name or a 0-based number)")
    grid = pd.read_excel(book, sheet_name=chosen, header=None, dtype=object, keep_default_na=False,
                         na_values=list(MISSING_MARKERS))
    if grid.empty:
        others = [n for n in names if n != (names[chosen] if isinstance(chosen, int) else chosen)]
        raise SurveyError(path, "the sheet is empty (no header, no respondents)"
                          + (f"; the workbook also has {', '.join(map(repr, others))}: set sheet:" if others else ""))
    top = header_rows[0] - 1
    header = _merge_header([list(grid.iloc[r]) for r in range(top, top + len(header_rows))])
    body = grid.iloc[top + len(header_rows):].reset_index(drop=True)
    body.columns = _dedupe(header)
    body = body.loc[:, [bool(h) or body[c].notna().any() for h, c in zip(header, body.columns)]]
    frame = _typed(body, text_columns)
    return RawTable(frame, header, "row", top + len(header_rows) + 1, sheets=tuple(names),
                    sheet=names[chosen] if isinstance(chosen, int) else chosen)


def _dedupe(names: list[str]) -> list[str]:
    """pandas' convention for repeated names (a, a.1, a.2) so the duplicate check can name them."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        name = name or "Unnamed"
        if name in seen:
            seen[name] += 1
            out.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


def _typed(frame: pd.DataFrame, text_columns) -> pd.DataFrame:
    """Spreadsheet cells as pandas would type them: numbers as numbers, text as text
    (an id typed as 12.0 by the spreadsheet becomes '12')."""
    out = {}
    for column in frame.columns:
        series = frame[column]
        kind = pd.api.types.infer_dtype(series, skipna=True)  # one C pass per column
        if column not in text_columns and kind in ("integer", "floating", "mixed-integer-float", "empty"):
            out[column] = pd.to_numeric(series, errors="coerce")
        elif kind == "boolean" and column not in text_columns:
            out[column] = series.astype("object")
        else:
            if kind in ("integer", "floating", "mixed-integer-float"):
                numbers = pd.to_numeric(series, errors="coerce")
                whole = numbers.notna() & (numbers % 1 == 0)
                series = series.astype("object").where(~whole, numbers.astype("Int64").astype("string"))
            out[column] = series.astype("string").astype("object").where(series.notna(), None)
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- column mapping
@dataclass(frozen=True)
class _RegexRule:
    """A measure's columns found in the header by a pattern with a (?P<number>…) group."""

    pattern: re.Pattern


def resolve_columns(
    instrument: Instrument, columns: str | Mapping[str, Any] | None
) -> dict[str, dict[str, str]]:
    """Measure → {item id → column name} from templates or explicit mappings.

    A template may use ``{measure}``, ``{item}``, ``{index}`` (1-based questionnaire
    position, e.g. ``E{index:02d}``) and ``{dimension}``.  The default is
    ``{measure}_{item}``.
    """
    if columns is None or isinstance(columns, str):
        spec: dict[str, Any] = dict.fromkeys(instrument.measures, columns or DEFAULT_TEMPLATE)
    elif isinstance(columns, Mapping):
        unknown = [k for k in columns if k not in instrument.measures]
        if unknown:
            raise ValueError(
                f"columns: {unknown[0]!r} is not a measure of instrument {instrument.id!r}"
                f"{did_you_mean(unknown[0], instrument.measures)} (measures: {', '.join(instrument.measures)})"
            )
        spec = {m: columns.get(m, DEFAULT_TEMPLATE) for m in instrument.measures}
    else:
        raise TypeError(f"columns must be a template string or a mapping, got {type(columns).__name__}")
    resolved: dict[str, dict[str, str]] = {}
    for measure, rule in spec.items():
        if isinstance(rule, str):
            mapping = {}
            for item in instrument.items.values():
                try:
                    mapping[item.id] = rule.format(
                        measure=measure, item=item.id, index=item.index, dimension=item.dimension
                    )
                except (KeyError, IndexError, ValueError) as exc:
                    raise ValueError(
                        f"columns[{measure!r}]: template {rule!r} is invalid ({exc}); use "
                        "{measure}, {item}, {index} or {dimension}"
                    ) from None
        elif isinstance(rule, Mapping) and set(rule) == {"regex"}:
            try:
                pattern = re.compile(str(rule["regex"]))
            except re.error as exc:
                raise ValueError(f"columns[{measure!r}]: regex {rule['regex']!r} is invalid ({exc})") from None
            if "number" not in pattern.groupindex:
                raise ValueError(f"columns[{measure!r}]: regex {rule['regex']!r} needs a named group (?P<number>…) "
                                 "holding the question number")
            mapping = {item: _RegexRule(pattern) for item in instrument.items}  # resolved against the header
        elif isinstance(rule, Mapping):
            unknown = [k for k in rule if k not in instrument.items]
            if unknown:
                raise ValueError(
                    f"columns[{measure!r}]: {unknown[0]!r} is not an item of {instrument.id!r}"
                    f"{did_you_mean(unknown[0], instrument.items)}"
                )
            missing = [i for i in instrument.items if i not in rule]
            if missing:
                raise ValueError(
                    f"columns[{measure!r}] maps no column for item(s) {', '.join(missing[:5])}"
                    + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
                )
            mapping = {item: (list(map(str, rule[item])) if isinstance(rule[item], (list, tuple)) else str(rule[item]))
                       for item in instrument.items}
        else:
            raise TypeError(f"columns[{measure!r}] must be a template string or an item → column mapping")
        resolved[measure] = mapping
    used: dict[str, str] = {}
    for measure, mapping in resolved.items():
        for item, columns_ in mapping.items():
            if isinstance(columns_, _RegexRule):
                continue
            for column in (columns_ if isinstance(columns_, list) else [columns_]):
                if column in used:
                    raise ValueError(
                        f"columns: column {column!r} is mapped twice ({used[column]} and {measure} {item}); "
                        "check the templates"
                    )
                used[column] = f"{measure} {item}"
    return resolved


def is_personal_column(column: str) -> bool:
    key = re.sub(r"[^a-z0-9]", "", str(column).lower())
    return any(p.match(key) for p in PERSONAL_DATA_PATTERNS)


def _list_problems(raw: RawTable, problems: list[dict], noun: str, expected: str) -> str:
    shown = [
        f"  {p['row']}, column {p['column']!r}: {p['value']!r} {p['why']}" for p in problems[:MAX_LISTED]
    ]
    more = f"\n  … and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    return f"{len(problems)} {noun}:\n" + "\n".join(shown) + more + f"\nexpected: {expected}"


def _expected_rating(instrument: Instrument, scale=None, labels: Mapping | None = None) -> str:
    scale = scale or instrument.scale
    step = getattr(scale, "step", 1) if scale else 1
    kind = "a whole number" if step == 1 else f"a number in steps of {_plain(step)}"
    parts = [f"{kind} from {scale.min} to {scale.max}" if scale else "a number", "a blank cell for missing"]
    if labels:
        shown = ", ".join(f"{k!r}" for k in list(labels)[:4])
        parts.append(f"a label ({shown}{', …' if len(labels) > 4 else ''}; others via value_labels:)")
    if instrument.not_applicable:
        parts.append("or N/A code " + ", ".join(map(repr, instrument.not_applicable)))
    return ", ".join(parts)


_LEADING_NUMBER = re.compile(r"^\s*([+-]?\d+(?:[.,]\d+)?)\s*(?:[-–—=:.)]\s*\S|\(\s*\S|\s+[^\d\s.,]).*$", re.S)


def _label_key(text: str) -> str:
    return re.sub(r"\s+", " ", str(text).strip().lower())


def rating_labels(instrument: Instrument, value_labels: Mapping | None = None, scale=None) -> dict[str, float]:
    """Label text (lower-cased) → rating: the scale's own anchor labels, then ``value_labels``
    (a params mapping such as ``{"Strongly agree": 7}``), which wins on a clash."""
    scale = scale or instrument.scale
    out = {_label_key(v): float(k) for k, v in (scale.labels.items() if scale else ())}
    for label, code in (value_labels or {}).items():
        if isinstance(code, Mapping):
            continue  # a per-column mapping is looked up by column
        out[_label_key(label)] = float(code)
    return out


def _text_to_numbers(text: pd.Series, labels: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Text cells → numbers: plain numbers, labels ('Strongly agree'), or a number with its
    label ('6 - agree', '6 = agree', '6 (agree)').  Returns the numbers and a mask of the
    cells read through a label."""
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    unresolved = np.flatnonzero(np.isnan(numbers) & text.notna().to_numpy())
    via_label = np.zeros(len(text), dtype=bool)
    if len(unresolved):
        # each distinct text once: a labelled column of a million answers has a handful of words
        codes, cells = pd.factorize(text.iloc[unresolved])
        looked_up = np.array([_label_value(cell, labels) for cell in cells], dtype=float)
        numbers[unresolved] = looked_up[codes]
        via_label[unresolved] = ~np.isnan(looked_up[codes])
    return numbers, via_label


def _label_value(cell: str, labels: Mapping[str, float]) -> float:
    """A label's rating, or the number in front of a label ('6 - agree'), else NaN."""
    value = labels.get(_label_key(cell), np.nan)
    if np.isnan(value):
        lead = _LEADING_NUMBER.match(cell)
        value = float(lead.group(1).replace(",", ".")) if lead else np.nan
    return value


def _float_values(series: pd.Series, out: np.ndarray | None = None) -> np.ndarray:
    """A column as a fresh, writable float array with NaN for blanks and for text that is
    not a number (written into ``out`` when given).  Arrow-backed numbers (Parquet, CSV)
    are read from Arrow's buffers in place: pandas' own conversion of a column with
    blanks is ten times slower."""
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        series = pd.to_numeric(series, errors="coerce")  # text that is not a number: NaN
    elif isinstance(series.dtype, pd.ArrowDtype):
        import pyarrow as pa
        import pyarrow.compute as pc

        out = np.empty(len(series)) if out is None else out
        start = 0
        for chunk in series.array.__arrow_array__().chunks:  # the Arrow protocol: no copy
            n = len(chunk)
            kind = chunk.type
            if pa.types.is_integer(kind) or pa.types.is_floating(kind):
                # read the values buffer in place (no Arrow copy); blanks from the validity bits
                values = np.frombuffer(chunk.buffers()[1], dtype=kind.to_pandas_dtype(),
                                       count=chunk.offset + n)[chunk.offset:]
                out[start: start + n] = values
                if chunk.null_count:
                    bits = np.frombuffer(chunk.buffers()[0], dtype=np.uint8)
                    valid = np.unpackbits(bits, count=chunk.offset + n, bitorder="little")[chunk.offset:]
                    out[start: start + n][valid == 0] = np.nan
            else:
                chunk = pc.cast(chunk, pa.float64())
                if chunk.null_count:
                    chunk = pc.fill_null(chunk, np.nan)
                out[start: start + n] = chunk.to_numpy(zero_copy_only=False)
            start += n
        return out
    # a copy: pandas hands out read-only views under copy-on-write
    values = series.to_numpy(dtype=float, na_value=np.nan)
    if out is None:
        return np.array(values)
    out[:] = values
    return out


def _convert(
    raw: RawTable,
    path: Path,
    column: str,
    series: pd.Series,
    instrument: Instrument,
    scale,
    problems: list[dict],
    value_labels: Mapping | None = None,
    decisions: list | None = None,
    item: str | None = None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One rating column → (float values with NaN for blank/N/A, bool N/A mask); a numeric
    column's values are written straight into ``out`` when it is given."""
    decisions = decisions if decisions is not None else []
    labels_text = rating_labels(instrument, value_labels, scale)
    codes = instrument.not_applicable_of(item) if item else instrument.not_applicable
    num_codes = [c for c in codes if isinstance(c, (int, float))]
    text_codes = {str(c).strip().lower() for c in codes}
    labels = (raw.value_labels or {}).get(column, {})
    user_missing = (raw.user_missing or {}).get(column, [])
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = _float_values(series, out)
        na = np.isin(values, num_codes) if num_codes else np.zeros(len(values), dtype=bool)
        # SPSS: a user-missing code is blank unless its label says "not applicable";
        # a labelled code outside the scale whose label says so is N/A as well
        for lo, hi in user_missing:
            hit = (values >= lo) & (values <= hi)
            for code in np.unique(values[hit]):
                if _looks_not_applicable(_label_for(labels, code)):
                    na |= values == code
            values[hit] = np.nan
        for code, label in labels.items():
            if _looks_not_applicable(str(label)) and not (scale and scale.min <= code <= scale.max):
                na |= values == code
        if na.any():
            values[na] = np.nan
    else:
        text = series.astype("string").str.strip()
        blank = text.isna() | text.isin(MISSING_MARKERS)
        na = np.array((~blank & text.str.lower().isin(text_codes)).to_numpy(dtype=bool))
        column_labels = dict(labels_text)
        column_labels.update({_label_key(k): float(v) for k, v in ((value_labels or {}).get(column) or {}).items()}
                             if isinstance((value_labels or {}).get(column), Mapping) else {})
        values, via_label = _text_to_numbers(text.where(~blank & ~pd.Series(na, index=text.index)), column_labels)
        if via_label.any():
            decisions.append((column, text[via_label].iloc[0], values[np.flatnonzero(via_label)[0]]))
        if num_codes:
            na |= np.isin(values, num_codes)
        values = np.where(na, np.nan, values)
        bad = np.flatnonzero(~blank.to_numpy() & ~na & np.isnan(values))
        for pos in bad:
            value = series.iloc[pos]
            why = ("is a yes/no (TRUE/FALSE) answer, not a rating: is this a checkbox column?"
                   if isinstance(value, (bool, np.bool_)) or str(value).strip().lower() in ("true", "false")
                   else "is not a number")
            problems.append({"pos": pos, "row": raw.label(pos), "column": column,
                             "value": str(value).upper() if isinstance(value, (bool, np.bool_)) else value, "why": why})
    if scale is not None and not _within_scale(values, scale):
        step = getattr(scale, "step", 1)
        with np.errstate(invalid="ignore"):
            steps = (values - scale.min) / step
            out = ~np.isnan(values) & ((values < scale.min) | (values > scale.max) | (np.abs(steps - np.round(steps)) > 1e-9))
        for pos in np.flatnonzero(out):
            v = values[pos]
            why = (
                f"is outside the scale {scale.min}–{scale.max}"
                if v < scale.min or v > scale.max
                else ("is not a whole number (if the survey allows half points, set step: 0.5 in the instrument's "
                      "scale)" if step == 1 else f"is not a multiple of the scale's step {_plain(step)}")
            )
            problems.append({"pos": pos, "row": raw.label(pos), "column": column, "value": _plain(v), "why": why})
    return values, na


def _within_scale(values: np.ndarray, scale) -> bool:
    """Quick pass for the common case: every rating inside the scale and whole (when the
    step is 1), checked by reductions without a temporary array; ``False`` sends the column
    through the full check, which names each bad cell."""
    lo, hi = np.fmin.reduce(values), np.fmax.reduce(values)  # blanks skipped; NaN when all blank
    if np.isnan(lo):
        return True
    if lo < scale.min or hi > scale.max or getattr(scale, "step", 1) != 1 or not float(scale.min).is_integer():
        return False
    return np.array_equal(values, np.floor(values), equal_nan=True)


def _plain(value: float) -> int | float:
    """A number as a person writes it: 8, not 8.0 or np.float64(8.0)."""
    return int(value) if float(value).is_integer() else float(value)


def _looks_not_applicable(label: str) -> bool:
    key = re.sub(r"[^a-z]", "", label.lower())
    return key in {"na", "notapplicable", "doesnotapply", "dontknow", "notrelevant"}


def _segment_values(series: pd.Series) -> pd.Categorical:
    """Segment answers as a categorical of their trimmed text, categories sorted.

    Factorising first means each distinct answer is trimmed once (a million respondents
    in a handful of segments cost a handful of string operations).
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    trimmed = [str(u).strip() for u in uniques]
    categories = sorted(set(trimmed))
    remap = np.array([categories.index(t) for t in trimmed] + [-1], dtype=np.int64)
    return pd.Categorical.from_codes(remap[codes], categories=categories)


def _recode_segment(path: Path, column: str, values: pd.Categorical, recode: Mapping) -> pd.Categorical:
    """Merge spellings as ``recode`` says; warn about spellings that differ only in case,
    spaces or hyphens (they would split a group into small ones that then vanish)."""
    if recode:
        unknown = [k for k in recode if k not in values.categories]
        if unknown:
            raise SurveyError(path, f"recode: {column}: {unknown[0]!r} is not a value of the column"
                                    f"{did_you_mean(unknown[0], list(values.categories))} "
                                    f"(values: {', '.join(map(repr, values.categories))})")
        text = pd.Series(values).astype("string").replace({str(k): str(v) for k, v in recode.items()})
        values = pd.Categorical(text, categories=sorted(set(text.dropna())))
    groups: dict[str, list[str]] = {}
    for category in values.categories:
        groups.setdefault(re.sub(r"[\s_\-]+", "", str(category).casefold()), []).append(str(category))
    clashes = [names for names in groups.values() if len(names) > 1]
    if clashes:
        first = clashes[0]
        merge = ", ".join(f"{name!r}: {first[0]!r}" for name in first[1:])
        warnings.warn(
            f"{path}: segment {column!r}: "
            + "; ".join(" and ".join(map(repr, names)) for names in clashes)
            + f" differ only in case, spaces or hyphens and are kept apart; to merge them set "
            f"recode: {{{column}: {{{merge}}}}}",
            UserWarning, stacklevel=4,
        )
    return values


def _label_for(labels: Mapping, code) -> str:
    """The value label of a code (pyreadstat keys labels by float or int)."""
    for key in (code, float(code), int(code) if float(code).is_integer() else None):
        if key is not None and key in labels:
            return str(labels[key])
    return ""


def _apply_value_labels(series: pd.Series, labels: Mapping) -> pd.Categorical:
    """SPSS codes → their labels, as a categorical in code order (unlabelled codes kept)."""
    order = [str(labels[k]) for k in sorted(labels)]
    mapped = [(_label_for(labels, v) or str(_plain(v))) if pd.notna(v) else None for v in series]
    categories = list(dict.fromkeys(order + [v for v in mapped if v is not None and v not in order]))
    return pd.Categorical(mapped, categories=categories)


# --------------------------------------------------------------------------- main entry
def read_survey(
    path: str | Path,
    instrument: str | Path | Instrument,
    *,
    columns: str | Mapping[str, Any] | None = None,
    id: str | None = None,  # noqa: A002 - the contract's name
    segments: Sequence[str] | str | None = None,
    year: int | None = None,
    encoding: str | None = None,
    weights: str | Mapping[str, str] | bool | None = None,
    overall: str | bool | None = None,
    screening: Mapping[str, Any] | ScreeningRules | None = None,
    sheet: str | int | None = None,
    skip_rows: int = 0,
    header_rows: int | Sequence[int] | None = None,
    value_labels: Mapping[str, Any] | None = None,
    recode: Mapping[str, Mapping[str, str]] | None = None,
    comments: str | None = None,
    layout: str = "wide",
    long_columns: Mapping[str, str] | None = None,
) -> Survey:
    """Read a cycle's raw export against an instrument, validate it and screen it.

    Parameters
    ----------
    path
        CSV/TSV, Excel (``.xlsx``), SPSS (``.sav``) or Parquet file.  Read, never written.
    instrument
        Built-in instrument id, path to an instrument YAML, or an :class:`Instrument`.
    columns
        Where each measure's ratings are: a template for every measure, or a mapping
        measure → template (``"E{index:02d}"``) or measure → {item id → column}.
        Templates use ``{measure}``, ``{item}``, ``{index}``, ``{dimension}``; the
        default is ``{measure}_{item}``.
    id
        Column with respondent ids (unique); respondents are numbered 1…n when omitted.
    segments
        Client-segment columns (``["segment", "branch"]``), or a mapping file column →
        name to use (``{"unit": "site"}``) for a column whose name is also an output
        column's (``unit``, ``n``, ``gap``, ``dimension``, a measure …), which is refused.
    year
        The survey cycle, stored in ``survey.year`` and the ``year`` column.
    encoding
        Text encoding of a CSV; detected when omitted (UTF-8 first).  A file whose
        encoding cannot be told apart from another is refused rather than misread.
    weights
        Where each respondent's 100-point importance allocation over the dimensions is:
        a template using ``{dimension}`` or a mapping dimension → column.  By default
        ``weight_{dimension}`` is used when those columns exist; ``False`` ignores them.
    overall
        Column of the overall-satisfaction item (default: the instrument's overall item
        id, when the file has that column); ``False`` ignores it.
    screening
        Overrides of the instrument's screening rules, e.g. ``{"straight_lining": "exclude"}``.
    sheet
        Excel sheet name or index (default: the first).
    skip_rows
        Rows to skip below the header (exports with extra header rows, e.g. ``2`` for
        Qualtrics' question-text and ImportId rows).
    header_rows
        Where the column names are when not on the first row: ``2`` (a title row above
        them) or ``[1, 2]`` (a two-row header, joined with a space).
    value_labels
        Ratings written as words: label → rating (``{"Strongly agree": 7}``), or per
        column ``{"Q1": {"Very satisfied": 5}}``.  The scale's own labels and "6 - agree"
        style cells are read without it; every cell read through a label is reported once.
    recode
        Segment spellings to merge, per segment column: ``{"segment": {"post-graduate":
        "postgraduate"}}``.  Spellings that differ only in case, spaces or hyphens are
        warned about.
    comments
        A free-text column to keep (for comment analysis); e-mail addresses and phone
        numbers in it are masked on read.
    layout
        ``"wide"`` (one row per respondent, default) or ``"long"`` (one row per
        respondent × question; ``long_columns`` names the ``respondent``, ``question``
        and ``answer`` columns, and the question values are the rating column names).

    Returns
    -------
    Survey
        Kept respondents, ratings per measure, the screening log.

    Raises
    ------
    SurveyError
        Naming the file, the row, the column, the value and what was expected.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_survey('data/raw/library-2005.csv', 'servqual-22', columns={'expectation': 'E{index:02d}', 'perception': 'P{index:02d}'}, id='respondent_id', segments=['segment'], year=2005)
    >>> survey.n, survey.ratings('perception').shape
    (1180, (1180, 22))
    """
    inst = load_instrument(instrument)
    path = Path(path)
    seg_map = _segment_sources(path, inst, segments)
    segments = list(seg_map)  # the columns in the file
    try:
        mapping = resolve_columns(inst, columns)
    except (ValueError, TypeError) as exc:
        raise SurveyError(path, str(exc)) from None
    rules = _resolve_rules(path, inst, screening)
    if layout not in ("wide", "long"):
        raise SurveyError(path, f"layout must be 'wide' or 'long', got {layout!r}")

    text_columns = [c for c in [id, *segments, comments] if c]
    stage = _Stages(path)
    if layout == "long":
        raw, id = _read_long(path, encoding, sheet, long_columns, segments, header_rows)
    else:
        raw = read_table(path, encoding=encoding, sheet=sheet, text_columns=text_columns, header_rows=header_rows,
                         number_columns=[c for cols in mapping.values() for c in cols.values() if isinstance(c, str)])
    if len(raw.frame) == 0 or len(raw.frame.columns) == 0:
        raise SurveyError(path, "has a header but no respondents (no data rows)" + _elsewhere_hint(raw, []))
    stage.done(f"read {len(raw.frame):,} rows × {len(raw.frame.columns)} columns", rows=len(raw.frame))
    _resolve_regex(path, raw, inst, mapping)
    _combine_versions(path, raw, mapping)
    rating_columns = [c for m in mapping.values() for c in m.values()]
    _check_duplicated_header(path, raw, set(rating_columns) | {c for c in [id, *segments] if c})

    # skip extra header rows when asked (they are detected below when not)
    if skip_rows:
        if skip_rows >= len(raw.frame):
            raise SurveyError(path, f"skip_rows={skip_rows} leaves no respondents ({len(raw.frame)} rows)")
        raw.take(np.arange(skip_rows, len(raw.frame)))
    # rows with nothing in them at all are not respondents
    empty_rows = _empty_rows(raw.frame)
    if empty_rows.any():
        warnings.warn(f"{path}: skipped {int(empty_rows.sum())} completely empty row(s)", UserWarning, stacklevel=2)
        raw.take(np.flatnonzero(~empty_rows))
    frame = raw.frame
    if len(frame) == 0:
        raise SurveyError(path, "has a header but no respondents (no data rows)" + _elsewhere_hint(raw, []))

    _require_columns(path, raw, mapping, id, segments, comments)
    _detect_header_rows(path, raw, frame, rating_columns, inst, value_labels)
    values, na_masks = _read_ratings(path, raw, inst, mapping, value_labels)
    stage.done(f"checked {len(rating_columns)} rating columns")
    index = _read_ids(path, raw, id)
    _release_arrow_memory()
    weights_frame, weight_columns = _read_weights(path, raw, frame, inst, weights, index)
    overall_values, overall_column = _read_overall(path, raw, frame, inst, overall, index)
    used = (set(rating_columns) | {c for c in [id, *segments, comments] if c} | set(weight_columns)
            | set(overall_column))
    respondents, dropped = _respondents(path, raw, index, segments, year, used, comments, recode)
    respondents = respondents.rename(columns={k: v for k, v in seg_map.items() if k != v})
    items = list(inst.items)
    _warn_blank_dimensions(path, inst, values)
    # everything is in the survey now: the file's copy (and a CSV's text) goes before screening
    del frame
    raw.frame, raw.text = raw.frame.iloc[:0, :0], None
    _release_arrow_memory()

    value_frames = {m: pd.DataFrame(v, index=index, columns=items, copy=False) for m, v in values.items()}
    na_frames = {m: pd.DataFrame(v, index=index, columns=items, copy=False) for m, v in na_masks.items()}
    stage.done("ids, segments and weights")
    kept, log = apply_rules(inst, rules, index, value_frames, na_frames)
    stage.done(f"screened: {int(kept.sum()):,} of {len(kept):,} respondents kept")
    return Survey(
        instrument=inst,
        source=str(path),
        year=int(year) if year is not None else None,
        segments=tuple(seg_map.values()),
        frame=respondents,
        values=value_frames,
        not_applicable_mask=na_frames,
        kept=kept,
        screening=log,
        rules=rules,
        weights_frame=weights_frame,
        overall_values=overall_values,
        encoding=raw.encoding,
        dropped_columns=tuple(dropped),
        comments=comments or None,
    )


def _empty_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows with nothing in any column, column by column: the check stops at the first
    column that leaves no candidate (usually the id), instead of a cell-by-cell frame."""
    empty = np.ones(len(frame), dtype=bool)
    for column in frame.columns:
        empty &= frame[column].isna().to_numpy()
        if not empty.any():
            break
    return empty


#: Progress of long reads: each stage of a large file (100,000 rows or more) is logged at
#: INFO on the "servqual" logger (the command line shows it unless --quiet), smaller ones at DEBUG.
LOG = logging.getLogger("servqual")
LARGE_READ = 100_000


class _Stages:
    """Logs each stage of one read with its time."""

    def __init__(self, path: Path) -> None:
        self.path, self.rows, self.last = path, 0, time.perf_counter()

    def done(self, what: str, rows: int | None = None) -> None:
        """Log a finished stage; ``rows`` (given once the file is read) sets how loud."""
        self.rows = self.rows if rows is None else rows
        now = time.perf_counter()
        LOG.log(logging.INFO if self.rows >= LARGE_READ else logging.DEBUG, "%s: %s (%.1f s)",
                self.path.name, what, now - self.last)
        self.last = now


def _read_long(path: Path, encoding, sheet, long_columns, segments, header_rows) -> tuple[RawTable, str]:
    """A long export (one row per respondent × question) pivoted to one row per respondent."""
    need = ("respondent", "question", "answer")
    if not isinstance(long_columns, Mapping) or set(long_columns) != set(need):
        raise SurveyError(path, "layout: long needs long_columns naming the respondent, question and answer "
                                "columns, e.g. long_columns: {respondent: ResponseId, question: Item, answer: Value}")
    resp, question, answer = (str(long_columns[k]) for k in need)
    raw = read_table(path, encoding=encoding, sheet=sheet, text_columns=[resp, question, *segments],
                     header_rows=header_rows)
    frame = raw.frame
    for column in (resp, question, answer, *segments):
        if column not in frame.columns:
            raise SurveyError(path, f"long_columns/segments: column {column!r} is not in the file"
                                    f"{did_you_mean(column, list(frame.columns))}")
    frame = frame[frame[resp].notna() & frame[question].notna()]
    questions = frame[question].astype("string").str.strip()
    frame = frame.assign(**{question: questions})
    clash = frame.groupby([resp, question], sort=False)[answer].nunique(dropna=False)
    clash = clash[clash > 1]
    if len(clash):
        who, what = clash.index[0]
        raise SurveyError(path, f"respondent {who!r} answered question {what!r} more than once with different "
                                f"answers ({len(clash)} such pairs); a long file holds one answer per respondent "
                                "and question")
    frame = frame.drop_duplicates([resp, question])
    wide = frame.pivot(index=resp, columns=question, values=answer)
    wide.columns = [str(c) for c in wide.columns]
    for column in segments:
        varying = frame.groupby(resp, sort=False)[column].nunique()
        if (varying > 1).any():
            who = varying[varying > 1].index[0]
            raise SurveyError(path, f"segment {column!r} changes between the rows of respondent {who!r}; "
                                    "it must be the same on every row of a respondent")
        wide[column] = frame.groupby(resp, sort=False)[column].first().reindex(wide.index)
    wide = wide.reset_index()
    ids = wide[resp].astype("string").to_numpy(dtype=object)
    table = RawTable(wide, list(wide.columns), "respondent", 1, encoding=raw.encoding, _numbers=ids)
    return table, resp


#: Names the workbench's tables use for their own columns: a segment may not take one.
OUTPUT_COLUMNS = ("item", "dimension", "unit", "n", "quantity", "group", "score", "statistic", "df", "p", "p_adj",
                  "ci_low", "ci_high", "suppressed", "suppressed_reason", "small_group", "rank", "label", "sentence",
                  "importance", "performance", "quadrant", "id")


def _resolve_regex(path: Path, raw: RawTable, inst: Instrument, mapping: dict) -> None:
    """Columns found by a regular expression whose ``number`` group is the question number
    (an item's ``number:``, else its position).  Changes ``mapping`` in place."""
    for measure, items in mapping.items():
        rules = {item: rule for item, rule in items.items() if isinstance(rule, _RegexRule)}
        if not rules:
            continue
        pattern = next(iter(rules.values())).pattern
        by_number = {str(i.number if i.number is not None else i.index): i.id for i in inst.items.values()}
        found: dict[str, str] = {}
        for column in raw.frame.columns:
            match = pattern.search(str(column))
            if match:
                number = str(int(match.group("number"))) if match.group("number").isdigit() else match.group("number")
                item = by_number.get(number)
                if item is None:
                    continue
                if item in found:
                    raise SurveyError(path, f"columns[{measure!r}]: regex {pattern.pattern!r} finds question {number} "
                                            f"twice ({found[item]!r} and {column!r})", key="columns")
                found[item] = str(column)
        missing = [i for i in rules if i not in found]
        if missing:
            raise SurveyError(path, f"columns[{measure!r}]: regex {pattern.pattern!r} finds no column for item(s) "
                                    f"{', '.join(missing[:MAX_LISTED])} (question numbers "
                                    f"{', '.join(k for k, v in by_number.items() if v in missing[:MAX_LISTED])})",
                              key="columns")
        items.update(found)


def _combine_versions(path: Path, raw: RawTable, mapping: dict) -> None:
    """Items that several form versions name differently (``P1: [Q1_v1, Q1_v2]``): one
    column holding whichever version each respondent answered; a respondent with answers
    in two versions of the same item is an error.  Changes ``mapping`` in place."""
    frame = raw.frame
    for measure, items in mapping.items():
        for item, columns in list(items.items()):
            if not isinstance(columns, list):
                continue
            present = [c for c in columns if c in frame.columns]
            if not present:
                items[item] = columns[0]  # reported as missing, with the others named
                continue
            blank = [frame[c].isna() | frame[c].astype("string").str.strip().isin(MISSING_MARKERS) for c in present]
            answered = np.column_stack([~b.to_numpy(dtype=bool) for b in blank])
            both = np.flatnonzero(answered.sum(axis=1) > 1)
            if len(both):
                pos = both[0]
                shown = ", ".join(f"{c!r}: {frame[c].iloc[pos]!r}" for c, a in zip(present, answered[pos]) if a)
                raise SurveyError(path, f"{raw.label(pos)}: {measure} {item} is answered in more than one form version "
                                        f"({shown}); a respondent answers one version ({len(both)} such rows)")
            combined = frame[present[0]].astype("object").copy()
            for column, mask in zip(present[1:], answered.T[1:]):
                combined[mask] = frame.loc[mask, column].astype("object")
            name = f"{measure} {item} (versions)"
            frame[name] = combined
            items[item] = name


def _segment_sources(path: Path, inst: Instrument, segments) -> dict[str, str]:
    """File column → the name the segment takes; refuses names that are output columns."""
    if segments is None:
        return {}
    if isinstance(segments, str):
        segments = [segments]
    if isinstance(segments, Mapping):
        pairs = {str(k): str(v) for k, v in segments.items()}
    else:
        pairs = {str(c): str(c) for c in segments}
    reserved = set(OUTPUT_COLUMNS) | set(inst.quantities)
    for quantity in inst.quantities:
        reserved |= {f"{quantity}_{suffix}" for suffix in ("sd", "ci_low", "ci_high", "n", "se")}
    for column, name in pairs.items():
        if name in reserved:
            raise SurveyError(
                path,
                f"segment column {name!r} has the name of a column the workbench's tables use for their own results "
                f"(tables would show {name!r} twice and the groups could not be told apart). Give it another name: "
                f"segments: {{{column}: {column}_group}} (file column → name)",
            )
    return pairs


def _warn_blank_dimensions(path: Path, inst: Instrument, values: dict[str, np.ndarray]) -> None:
    for measure, array in values.items():
        # a column is empty when its largest rating is NaN (fmax skips blanks; no copy)
        empty = {item: bool(np.isnan(np.fmax.reduce(array[:, j]))) for j, item in enumerate(inst.items)}
        blank = [d for d, items in inst.dimensions.items() if all(empty[i] for i in items)]
        if blank and len(blank) < len(inst.dimensions):
            rest = len(inst.dimensions) - len(blank)
            warnings.warn(
                f"{path}: nobody rated dimension(s) {', '.join(map(repr, blank))} on {measure!r}; their scores are "
                f"missing and the overall score averages the other {rest} dimension(s)",
                UserWarning, stacklevel=3,
            )


def _check_duplicated_header(path: Path, raw: RawTable, wanted: set[str]) -> None:
    """Refuse a used column that appears twice (pandas would silently rename the copy)."""
    seen: dict[str, int] = {}
    duplicated: dict[str, list[int]] = {}
    for position, name in enumerate(raw.header, start=1):
        if not str(name).strip():
            continue  # unnamed columns (a title row, empty spacer columns) are not duplicates
        if name in seen:
            duplicated.setdefault(name, [seen[name]]).append(position)
        else:
            seen[name] = position
    if not duplicated:
        return
    clash = [n for n in duplicated if n in wanted]
    described = "; ".join(
        f"{n!r} at columns {', '.join(map(str, duplicated[n]))}" for n in (clash or list(duplicated))[:MAX_LISTED]
    )
    if clash:
        raise SurveyError(
            path,
            f"duplicated column names: {described}. Each rating column must appear once; "
            "rename or remove the copies",
        )
    warnings.warn(f"{path}: duplicated column names (not used): {described}", UserWarning, stacklevel=3)


def _elsewhere_hint(raw: RawTable, wanted: list[str]) -> str:
    """Where the wanted columns are when not in the header: another sheet, a lower row."""
    if raw.sheets and len(raw.sheets) > 1:
        return (f" The workbook has sheets {', '.join(map(repr, raw.sheets))} and sheet {raw.sheet!r} was read: "
                "set sheet: to the one with the responses.")
    if raw.text is not None:
        for number, line in enumerate(raw.text.split("\n", 8)[1:8], start=2):
            cells = {c.strip().strip('"') for c in line.split(raw.sep)}
            if sum(w in cells for w in wanted) >= max(1, len(wanted) // 2):
                return (f" The column names are on line {number}: set header_rows: {number} (or [1, {number}] "
                        "when the names span two rows).")
    frame = raw.frame
    for position in range(min(6, len(frame))):
        cells = {str(v).strip() for v in frame.iloc[position].tolist()}
        if sum(w in cells for w in wanted) >= max(1, len(wanted) // 2):
            row = raw.first_row + position
            return f" The column names are on row {row}: set header_rows: {row}."
    return ""


def _require_columns(path: Path, raw: RawTable, mapping, id, segments, comments=None) -> None:  # noqa: A002
    """Every segment, id and rating column must exist; suggest near names when not."""
    frame = raw.frame
    available = list(frame.columns)
    lower = {str(c).lower(): c for c in available}
    listing = f"{', '.join(map(str, available[:12]))}{', …' if len(available) > 12 else ''}"

    def suggest(column: str) -> str:
        if column.lower() in lower:
            return f"; did you mean {lower[column.lower()]!r}?"
        return did_you_mean(column, available)

    roles = [(c, "segment") for c in segments] + ([(id, "id")] if id is not None else [])
    roles += [(comments, "comments")] if comments else []
    for column, role in roles:
        if column not in frame.columns:
            raise SurveyError(path, f"{role} column {column!r} is not in the file{suggest(column)} (columns: {listing})"
                              + _elsewhere_hint(raw, [column]), key={"segment": "segments"}.get(role, role))
    if id is not None and is_personal_column(id):
        raise SurveyError(
            path,
            f"id column {id!r} looks like personal data (a name, e-mail or student/staff number) "
            "and cannot be used as the respondent id; use a survey-assigned id, or omit id= "
            "to number respondents 1…n",
        )
    missing = [(m, item, c) for m, items in mapping.items() for item, c in items.items() if c not in frame.columns]
    if missing:
        shown = "; ".join(f"{c!r} ({m} {item}){suggest(c)}" for m, item, c in missing[:MAX_LISTED])
        more = f"; … and {len(missing) - MAX_LISTED} more" if len(missing) > MAX_LISTED else ""
        raise SurveyError(
            path,
            f"{len(missing)} rating column(s) required by the column mapping are missing: {shown}{more}. "
            f"The file's columns begin: {listing}. "
            "Pass columns= with the file's names (a template such as 'E{index:02d}' or a mapping)."
            + _elsewhere_hint(raw, [c for _, _, c in missing]),
            [{"column": c, "measure": m, "item": item} for m, item, c in missing],
        )


def _read_ratings(path: Path, raw: RawTable, inst: Instrument, mapping, value_labels=None) -> tuple[dict, dict]:
    """Measure → (respondents × items float array, N/A mask); all bad cells reported at once."""
    frame = raw.frame
    items = list(inst.items)
    problems: list[dict] = []
    decisions: list = []
    values: dict[str, np.ndarray] = {}
    na_masks: dict[str, np.ndarray] = {}
    for measure, cols in mapping.items():
        # column-major: each column is written contiguously, and pandas keeps it as one block
        vals = np.empty((len(frame), len(items)), order="F")
        nas = np.zeros((len(frame), len(items)), dtype=bool, order="F")
        for j, item in enumerate(items):
            target = vals[:, j]
            column, nas[:, j] = _convert(raw, path, cols[item], frame[cols[item]], inst, inst.scale_of(item),
                                         problems, value_labels, decisions, item, out=target)
            if column is not target:  # a text column comes back as a new array
                target[:] = column
            if not problems:
                # the column now lives in the survey's array: let its file copy go, and hand
                # Arrow's freed memory back every few columns (the peak stays near one copy)
                del frame[cols[item]]
                if j % 4 == 3:
                    _release_arrow_memory()
        values[measure], na_masks[measure] = vals, nas
    _release_arrow_memory()
    if problems:
        order = {c: k for k, c in enumerate(c for cols in mapping.values() for c in cols.values())}
        problems.sort(key=lambda p: (p["pos"], order[p["column"]]))
        raise SurveyError(path, _list_problems(raw, problems, "invalid ratings",
                                               _expected_rating(inst, labels=rating_labels(inst, value_labels))),
                          problems)
    if decisions:
        column, text, value = decisions[0]
        warnings.warn(
            f"{path}: ratings written as text were read through their labels in {len(decisions)} column(s) "
            f"(e.g. column {column!r}: {text!r} → {_plain(value)}); check the mapping with value_labels: if needed",
            UserWarning, stacklevel=3,
        )
    for measure, cols in mapping.items():
        if np.isnan(values[measure]).all() and not na_masks[measure].any():
            first, last = cols[items[0]], cols[items[-1]]
            raise SurveyError(
                path,
                f"measure {measure!r} has no ratings at all: columns {first!r} … {last!r} are empty in every "
                "row. Check the column mapping (columns=) or the export.",
            )
    return values, na_masks


def _release_arrow_memory() -> None:
    """Hand memory freed by Arrow-backed columns back to the system (large Parquet files)."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return
    pa.default_memory_pool().release_unused()


def _read_ids(path: Path, raw: RawTable, id: str | None) -> pd.Index:  # noqa: A002
    """Unique, non-blank respondent ids (1…n when no id column is given)."""
    if id is None:
        return pd.RangeIndex(1, len(raw.frame) + 1, name="id")
    ids = raw.frame[id]
    blank = ids.isna() | (ids.astype("string").str.strip() == "")
    if blank.any():
        rows = [raw.label(p) for p in np.flatnonzero(blank.to_numpy())]
        raise SurveyError(
            path,
            f"{len(rows)} respondent(s) have no id in column {id!r}: {', '.join(rows[:MAX_LISTED])}"
            + (" …" if len(rows) > MAX_LISTED else ""),
            [{"row": r, "column": id, "value": None, "expected": "a unique id"} for r in rows],
        )
    if pd.api.types.is_float_dtype(ids.dtype) and (ids % 1 == 0).all():
        ids = ids.astype("int64")  # SPSS and Excel store whole-number ids as floats
    elif not pd.api.types.is_integer_dtype(ids.dtype):
        ids = ids.astype("string").str.strip()  # CSV ids are text: leading zeros survive
    if _repeats(ids):
        groups: dict[Any, list[str]] = {}
        for p in np.flatnonzero(ids.duplicated(keep=False).to_numpy()):
            groups.setdefault(ids.iloc[p], []).append(raw.label(p))
        shown = "; ".join(f"{k!r} on {', '.join(v)}" for k, v in list(groups.items())[:MAX_LISTED])
        raise SurveyError(
            path,
            f"{len(groups)} respondent id(s) in column {id!r} appear more than once: {shown}"
            + (f"; … and {len(groups) - MAX_LISTED} more" if len(groups) > MAX_LISTED else "")
            + ". Each respondent must have a unique id.",
            [{"row": r, "column": id, "value": k, "expected": "a unique id"} for k, v in groups.items() for r in v],
        )
    if pd.api.types.is_integer_dtype(ids.dtype):
        return pd.Index(ids.to_numpy(), name="id")
    return pd.Index(ids.astype("str"), name="id")  # Arrow text throughout: no Python string per id


def _repeats(ids: pd.Series) -> bool:
    """Whether any id repeats: Arrow's unique values for Arrow-backed ids (measured at 1M
    text ids: 0.12 s, no extra memory; pandas' duplicated() 0.16 s and 40-70 MB), a hash
    check otherwise."""
    if hasattr(ids.array, "__arrow_array__"):
        import pyarrow.compute as pc

        return len(pc.unique(ids.array.__arrow_array__())) < len(ids)
    return not pd.Index(ids.to_numpy()).is_unique


def _respondents(path: Path, raw: RawTable, index: pd.Index, segments, year, used: set, comments=None,
                 recode=None) -> tuple[pd.DataFrame, list]:
    """Segments, year and extra columns per respondent; personal-data columns dropped."""
    frame = raw.frame
    dropped = [c for c in frame.columns if c not in used and is_personal_column(c)]
    extras = [c for c in frame.columns if c not in used and c not in dropped and c != "year"]
    for column in list(extras):
        series = frame[column]
        if not pd.api.types.is_numeric_dtype(series.dtype) and personal_content(series):
            dropped.append(column)
            extras.remove(column)
    for column in segments:
        what = personal_content(frame[column].astype("string"))
        if is_personal_column(column) or what:
            raise SurveyError(path, f"segment column {column!r} holds personal data"
                                    f"{f' ({what})' if what else ''}; a segment must be a client group")
    if dropped:
        warnings.warn(
            f"{path}: dropped column(s) that look like personal data: {', '.join(map(repr, dropped))}. "
            "They are not kept and never reach any output.",
            UserWarning,
            stacklevel=3,
        )
    labels = raw.value_labels or {}
    respondents = pd.DataFrame(index=index)
    recode = recode or {}
    for column in recode:
        if column not in segments:
            raise SurveyError(path, f"recode: {column!r} is not a segment column (segments: {', '.join(segments)})")
    for column in segments:
        series = frame[column]
        values = _apply_value_labels(series, labels[column]) if labels.get(column) else _segment_values(series)
        respondents[column] = _recode_segment(path, column, values, recode.get(column) or {})
    if comments:
        respondents[comments] = _comment_text(frame[comments])
    if year is not None:
        respondents["year"] = int(year)
    elif "year" in frame.columns:
        respondents["year"] = frame["year"].to_numpy()
    else:
        respondents["year"] = pd.arrays.IntegerArray(np.zeros(len(frame), dtype=np.int64),
                                                     np.ones(len(frame), dtype=bool))
    for column in extras:
        series = frame[column]
        if labels.get(column):
            respondents[column] = _apply_value_labels(series, labels[column])
        elif pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
            respondents[column] = series.to_numpy()
        else:  # any text kept is masked: a phone number inside an answer never leaves the reader
            respondents[column] = _masked_text(series)
    return respondents, dropped


def _comment_text(series: pd.Series) -> np.ndarray:
    """A comment column: masked, and empty, whitespace-only and "n/a"/"none"/"-" answers
    (:data:`NO_COMMENT`) as no comment (missing).  Any language is kept as written."""
    text = _masked_text(series)
    key = pd.Series(text, dtype=object).map(
        lambda t: None if t is None else re.sub(r"\s+", " ", str(t)).strip().strip(".").strip().lower())
    empty = key.isna() | key.isin(NO_COMMENT) | (key == "nan")
    text = text.copy()
    text[empty.to_numpy()] = None
    return np.array([None if t is None else str(t).strip() for t in text], dtype=object)


def _masked_text(series: pd.Series) -> np.ndarray:
    """Text with personal data masked (:func:`mask_personal`), each distinct answer once."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    masked = np.array([mask_personal(str(u)) for u in uniques] + [None], dtype=object)
    return masked[codes]


def _resolve_rules(path: Path, inst: Instrument, screening) -> ScreeningRules:
    if screening is None:
        return inst.screening
    if isinstance(screening, ScreeningRules):
        rules = screening
    elif isinstance(screening, Mapping):
        try:
            rules = inst.screening.replace(**screening)
        except ValueError as exc:
            raise SurveyError(path, str(exc)) from None
    else:
        raise TypeError("screening must be a mapping of rule overrides or a ScreeningRules")
    try:
        check_applicable(inst, rules)
    except ValueError as exc:
        raise SurveyError(path, str(exc)) from None
    return rules


def _detect_header_rows(path: Path, raw: RawTable, frame: pd.DataFrame, rating_columns: list[str], inst,
                        value_labels=None) -> None:
    """Refuse exports whose first data rows are more header (question text, ImportId)."""
    head = frame[rating_columns].head(3)
    textual = []
    codes = {str(c).strip().lower() for c in inst.not_applicable}
    for position in range(len(head)):
        row = head.iloc[position]
        text = row.dropna().astype("string").str.strip()
        text = text[~text.isin(MISSING_MARKERS) & ~text.str.lower().isin(codes)]
        if len(text) and np.isnan(_text_to_numbers(text, rating_labels(inst, value_labels))[0]).mean() > 0.5:
            textual.append(position)
        else:
            break
    if textual:
        k = len(textual)
        example_col = rating_columns[0]
        example = frame[example_col].iloc[textual[0]]
        # Qualtrics puts question texts and an ImportId row below the column names
        kind = "a Qualtrics-style export" if k >= 2 else "an export"
        raise SurveyError(
            path,
            f"{', '.join(raw.label(p) for p in textual)}: the rating columns hold text, not ratings "
            f"(e.g. column {example_col!r}: {str(example)[:60]!r}). This looks like {kind} with "
            f"{k} extra header row{'s' if k > 1 else ''} below the column names; "
            f"pass skip_rows={k} to read past {'them' if k > 1 else 'it'}. If these are ratings written as words, "
            f"map the words to ratings with value_labels: {{{str(example)[:30]!r}: …}}.",
        )


def _read_weights(path, raw, frame, inst: Instrument, weights, index) -> tuple[pd.DataFrame | None, list[str]]:
    """Each respondent's importance allocation over the dimensions, and the columns used."""
    if weights is False:
        return None, []
    if not inst.weights:
        if weights not in (None, False):
            raise SurveyError(path, f"weights= given but instrument {inst.id!r} has no importance weights")
        return None, []
    explicit = weights is not None
    if weights is None or weights is True:
        weights = DEFAULT_WEIGHTS_TEMPLATE
    if isinstance(weights, str):
        try:
            cols = {d: weights.format(dimension=d) for d in inst.dimensions}
        except (KeyError, IndexError, ValueError) as exc:
            raise SurveyError(path, f"weights: template {weights!r} is invalid ({exc!s}); a weights template uses "
                                    "{dimension} only, e.g. 'W_{dimension}'") from None
    elif isinstance(weights, Mapping):
        unknown = [d for d in weights if d not in inst.dimensions]
        if unknown:
            raise SurveyError(path, f"weights: {unknown[0]!r} is not a dimension{did_you_mean(unknown[0], inst.dimensions)}")
        cols = {d: weights.get(d) for d in inst.dimensions}
        if any(c is None for c in cols.values()):
            raise SurveyError(path, "weights: give a column for every dimension")
    else:
        raise SurveyError(path, "weights must be a template such as 'W_{dimension}' or a mapping")
    present = [c for c in cols.values() if c in frame.columns]
    if not present and not explicit:
        return None, []
    absent = [c for c in cols.values() if c not in frame.columns]
    if absent:
        raise SurveyError(
            path,
            f"weight column(s) missing: {', '.join(map(repr, absent))}"
            f"{did_you_mean(absent[0], list(frame.columns))} (weights need one column per dimension)",
        )
    problems: list[dict] = []
    block = np.empty((len(frame), len(cols)))
    for j, c in enumerate(cols.values()):
        series = frame[c]
        numbers = _float_values(series)
        bad = np.flatnonzero(series.notna().to_numpy() & np.isnan(numbers))
        problems += [{"pos": p, "row": raw.label(p), "column": c, "value": series.iloc[p], "why": "is not a number"} for p in bad]
        neg = np.flatnonzero(numbers < 0)
        problems += [{"pos": p, "row": raw.label(p), "column": c, "value": _plain(numbers[p]), "why": "is negative"} for p in neg]
        block[:, j] = numbers
    if problems:
        raise SurveyError(path, _list_problems(raw, problems, "invalid weights", "a number of points ≥ 0"), problems)
    given = ~np.isnan(block).all(axis=1)
    sums = np.nansum(block, axis=1)
    wrong = np.flatnonzero(given & ~np.isclose(sums, inst.weights_total, rtol=0, atol=1e-6))
    if len(wrong):
        names = list(cols.values())
        problems = [
            {
                "row": raw.label(p),
                "column": ", ".join(names),
                "value": _plain(sums[p]),
                "why": "is the sum of the weights (" + ", ".join(f"{k}={_plain(v)}" for k, v in zip(names, block[p]) if not np.isnan(v)) + ")",
            }
            for p in wrong
        ]
        raise SurveyError(
            path,
            _list_problems(raw, problems, "respondents' importance weights do not sum to "
                           f"{_plain(inst.weights_total)}",
                           f"points allocated over the {len(cols)} dimensions summing to {_plain(inst.weights_total)} "
                           "(or all blank)"),
            problems,
        )
    block[np.isnan(block) & given[:, None]] = 0.0  # a blank beside given weights is 0 points
    return pd.DataFrame(block, index=index, columns=list(cols)), list(cols.values())


def _read_overall(path, raw, frame, inst: Instrument, overall, index) -> tuple[pd.Series | None, list[str]]:
    """The overall-satisfaction ratings, and the column used."""
    if overall is False or inst.overall is None:
        if overall not in (None, False):
            raise SurveyError(path, f"overall= given but instrument {inst.id!r} has no overall item")
        return None, []
    if overall is not None and not isinstance(overall, (str, bool)):
        raise SurveyError(path, f"overall must be a column name, true or false, got {overall!r}")
    column = overall if isinstance(overall, str) else inst.overall.id
    if column not in frame.columns:
        if isinstance(overall, str) or overall is True:
            raise SurveyError(path, f"overall column {column!r} is not in the file{did_you_mean(column, list(frame.columns))}")
        return None, []
    problems: list[dict] = []
    values, _ = _convert(raw, path, column, frame[column], inst, inst.overall_scale, problems)
    if problems:
        raise SurveyError(
            path, _list_problems(raw, problems, "invalid overall ratings", _expected_rating(inst, inst.overall_scale)), problems
        )
    return pd.Series(values, index=index, name=inst.overall.id), [column]
