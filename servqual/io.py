"""Reading a survey cycle's raw export into a validated, screened :class:`Survey`.

Supported: CSV/TSV (encoding given or detected; a file whose encoding is ambiguous is
refused, never guessed), Excel (``.xlsx``), SPSS (``.sav``; value labels honoured, user
missing values respected) and Parquet.  The raw file is opened read-only and never
written.  Every problem is a :class:`SurveyError` naming the file, the row as the user
sees it (CSV line, spreadsheet row, SPSS case), the column, the value and what was
expected.  Columns that look like personal data are dropped on read with a warning.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Mapping, Sequence
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
        r"^(location)?(latitude|longitude)$",
        r"^(dateofbirth|dob|birthdate|birthday)$",
        r"^(ssn|tfn|taxfilenumber|socialsecuritynumber|passport(number|no)?)$",
    )
)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


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

    def __init__(self, path: str | Path, message: str, problems: Sequence[Mapping] = ()):
        self.path = str(path)
        self.problems = list(problems)
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


def _decode(path: Path, data: bytes, encoding: str | None) -> tuple[str, str]:
    """Decode CSV bytes: the given encoding strictly, else UTF-8, else an unambiguous guess."""
    if encoding is not None:
        try:
            return data.decode(encoding), encoding
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
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
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


def read_table(
    path: str | Path,
    *,
    encoding: str | None = None,
    sheet: str | int | None = None,
    text_columns: Sequence[str] = (),
) -> RawTable:
    """Read a file's table as it is (no validation): CSV/TSV, Excel, SPSS or Parquet."""
    path = Path(path)
    if not path.exists():
        raise SurveyError(path, "file not found")
    if path.is_dir():
        raise SurveyError(path, "is a folder, not a survey file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        data = path.read_bytes()
        if not data.strip():
            raise SurveyError(path, "the file is empty (no header, no respondents)")
        text, used = _decode(path, data, encoding)
        first_line = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
        sep = "\t" if suffix == ".tsv" else max(",;\t", key=first_line.count)
        header = next(csv.reader(io.StringIO(first_line), delimiter=sep))
        dtypes = {c: "str" for c in text_columns}
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=dtypes or None, keep_default_na=False,
            na_values=list(MISSING_MARKERS), skip_blank_lines=True, low_memory=False,
        )
        return RawTable(frame, header, "line", 0, text=text, sep=sep, encoding=used)
    if suffix in (".xlsx", ".xlsm", ".xls"):
        try:
            frame = pd.read_excel(
                path, sheet_name=0 if sheet is None else sheet, keep_default_na=False,
                na_values=list(MISSING_MARKERS), dtype={c: "str" for c in text_columns} or None,
            )
            header = [str(c) for c in pd.read_excel(path, sheet_name=0 if sheet is None else sheet, header=None, nrows=1).iloc[0]] if len(frame.columns) else []
        except ValueError as exc:
            raise SurveyError(path, f"cannot read the spreadsheet: {exc}") from None
        if not len(frame.columns):
            raise SurveyError(path, "the sheet is empty (no header, no respondents)")
        return RawTable(frame, header, "row", 2)
    if suffix in (".sav", ".zsav"):
        import pyreadstat

        try:
            frame, meta = pyreadstat.read_sav(str(path), user_missing=True, encoding=encoding)
        except pyreadstat.ReadstatError as exc:
            raise SurveyError(path, f"cannot read the SPSS file: {exc}") from None
        missing = {}
        for col, ranges in (meta.missing_ranges or {}).items():
            missing[col] = [(r["lo"], r["hi"]) for r in ranges]
        return RawTable(
            frame, list(frame.columns), "case", 1,
            value_labels=meta.variable_value_labels or {}, user_missing=missing,
        )
    if suffix in (".parquet", ".pq"):
        # Arrow-backed columns: no conversion on read; each rating column is turned into
        # floats once, straight into the survey's arrays
        frame = pd.read_parquet(path, dtype_backend="pyarrow")
        return RawTable(frame, [str(c) for c in frame.columns], "row", 1)
    raise SurveyError(
        path, f"unsupported file type {suffix or '(none)'!r}: use .csv, .tsv, .xlsx, .sav or .parquet"
    )


# --------------------------------------------------------------------------- column mapping
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
            mapping = {item: str(rule[item]) for item in instrument.items}
        else:
            raise TypeError(f"columns[{measure!r}] must be a template string or an item → column mapping")
        resolved[measure] = mapping
    used: dict[str, str] = {}
    for measure, mapping in resolved.items():
        for item, column in mapping.items():
            if column in used:
                raise ValueError(
                    f"columns: column {column!r} is mapped twice ({used[column]} and {measure} {item}); "
                    "check the templates"
                )
            used[column] = f"{measure} {item}"
    return resolved


def _is_personal(column: str) -> bool:
    key = re.sub(r"[^a-z0-9]", "", str(column).lower())
    return any(p.match(key) for p in PERSONAL_DATA_PATTERNS)


def _list_problems(raw: RawTable, problems: list[dict], noun: str, expected: str) -> str:
    shown = [
        f"  {p['row']}, column {p['column']!r}: {p['value']!r} {p['why']}" for p in problems[:MAX_LISTED]
    ]
    more = f"\n  … and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    return f"{len(problems)} {noun}:\n" + "\n".join(shown) + more + f"\nexpected: {expected}"


def _expected_rating(instrument: Instrument, scale=None) -> str:
    scale = scale or instrument.scale
    parts = [f"a whole number from {scale.min} to {scale.max}" if scale else "a number", "a blank cell for missing"]
    if instrument.not_applicable:
        parts.append("or N/A code " + ", ".join(map(repr, instrument.not_applicable)))
    return ", ".join(parts)


def _convert(
    raw: RawTable,
    path: Path,
    column: str,
    series: pd.Series,
    instrument: Instrument,
    scale,
    problems: list[dict],
) -> tuple[np.ndarray, np.ndarray]:
    """One rating column → (float values with NaN for blank/N/A, bool N/A mask)."""
    num_codes = [c for c in instrument.not_applicable if isinstance(c, (int, float))]
    text_codes = {str(c).strip().lower() for c in instrument.not_applicable}
    labels = (raw.value_labels or {}).get(column, {})
    user_missing = (raw.user_missing or {}).get(column, [])
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        # copies: pandas hands out read-only views under copy-on-write
        values = np.array(series.to_numpy(dtype=float, na_value=np.nan))
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
        values = np.where(na, np.nan, values)
    else:
        text = series.astype("string").str.strip()
        blank = text.isna() | text.isin(MISSING_MARKERS)
        na = np.array((~blank & text.str.lower().isin(text_codes)).to_numpy(dtype=bool))
        numbers = pd.to_numeric(text.where(~blank & ~pd.Series(na, index=text.index)), errors="coerce")
        values = np.array(numbers.to_numpy(dtype=float, na_value=np.nan))
        if num_codes:
            na |= np.isin(values, num_codes)
        values = np.where(na, np.nan, values)
        bad = np.flatnonzero(~blank.to_numpy() & ~na & np.isnan(values))
        for pos in bad:
            problems.append(
                {"pos": pos, "row": raw.label(pos), "column": column, "value": series.iloc[pos], "why": "is not a number"}
            )
    if scale is not None:
        with np.errstate(invalid="ignore"):
            out = ~np.isnan(values) & ((values < scale.min) | (values > scale.max) | (values != np.round(values)))
        for pos in np.flatnonzero(out):
            v = values[pos]
            why = (
                f"is outside the scale {scale.min}–{scale.max}"
                if v < scale.min or v > scale.max
                else "is not a whole number"
            )
            problems.append({"pos": pos, "row": raw.label(pos), "column": column, "value": _plain(v), "why": why})
    return values, na


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
        Client-segment columns (``["segment", "branch"]``).
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
    if isinstance(segments, str):
        segments = [segments]
    segments = list(segments or [])
    try:
        mapping = resolve_columns(inst, columns)
    except (ValueError, TypeError) as exc:
        raise SurveyError(path, str(exc)) from None
    rules = _resolve_rules(path, inst, screening)

    raw = read_table(path, encoding=encoding, sheet=sheet, text_columns=[c for c in [id, *segments] if c])
    if len(raw.frame) == 0 or len(raw.frame.columns) == 0:
        raise SurveyError(path, "has a header but no respondents (no data rows)")
    rating_columns = [c for m in mapping.values() for c in m.values()]
    _check_duplicated_header(path, raw, set(rating_columns) | {c for c in [id, *segments] if c})

    # skip extra header rows when asked (they are detected below when not)
    if skip_rows:
        if skip_rows >= len(raw.frame):
            raise SurveyError(path, f"skip_rows={skip_rows} leaves no respondents ({len(raw.frame)} rows)")
        raw.take(np.arange(skip_rows, len(raw.frame)))
    # rows with nothing in them at all are not respondents
    empty_rows = raw.frame.isna().all(axis=1).to_numpy()
    if empty_rows.any():
        warnings.warn(f"{path}: skipped {int(empty_rows.sum())} completely empty row(s)", UserWarning, stacklevel=2)
        raw.take(np.flatnonzero(~empty_rows))
    frame = raw.frame
    if len(frame) == 0:
        raise SurveyError(path, "has a header but no respondents (no data rows)")

    _require_columns(path, frame, mapping, id, segments)
    _detect_header_rows(path, raw, frame, rating_columns, inst)
    values, na_masks = _read_ratings(path, raw, inst, mapping)
    index = _read_ids(path, raw, id)
    weights_frame, weight_columns = _read_weights(path, raw, frame, inst, weights, index)
    overall_values, overall_column = _read_overall(path, raw, frame, inst, overall, index)
    used = set(rating_columns) | {c for c in [id, *segments] if c} | set(weight_columns) | set(overall_column)
    respondents, dropped = _respondents(path, raw, index, segments, year, used)
    items = list(inst.items)

    value_frames = {m: pd.DataFrame(v, index=index, columns=items, copy=False) for m, v in values.items()}
    na_frames = {m: pd.DataFrame(v, index=index, columns=items, copy=False) for m, v in na_masks.items()}
    kept, log = apply_rules(inst, rules, index, value_frames, na_frames)
    return Survey(
        instrument=inst,
        source=str(path),
        year=int(year) if year is not None else None,
        segments=tuple(segments),
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
    )


def _check_duplicated_header(path: Path, raw: RawTable, wanted: set[str]) -> None:
    """Refuse a used column that appears twice (pandas would silently rename the copy)."""
    seen: dict[str, int] = {}
    duplicated: dict[str, list[int]] = {}
    for position, name in enumerate(raw.header, start=1):
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


def _require_columns(path: Path, frame: pd.DataFrame, mapping, id, segments) -> None:  # noqa: A002
    """Every segment, id and rating column must exist; suggest near names when not."""
    available = list(frame.columns)
    lower = {str(c).lower(): c for c in available}
    listing = f"{', '.join(map(str, available[:12]))}{', …' if len(available) > 12 else ''}"

    def suggest(column: str) -> str:
        if column.lower() in lower:
            return f"; did you mean {lower[column.lower()]!r}?"
        return did_you_mean(column, available)

    for column, role in [(c, "segment") for c in segments] + ([(id, "id")] if id is not None else []):
        if column not in frame.columns:
            raise SurveyError(path, f"{role} column {column!r} is not in the file{suggest(column)} (columns: {listing})")
    if id is not None and _is_personal(id):
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
            "Pass columns= with the file's names (a template such as 'E{index:02d}' or a mapping).",
            [{"column": c, "measure": m, "item": item} for m, item, c in missing],
        )


def _read_ratings(path: Path, raw: RawTable, inst: Instrument, mapping) -> tuple[dict, dict]:
    """Measure → (respondents × items float array, N/A mask); all bad cells reported at once."""
    frame = raw.frame
    items = list(inst.items)
    problems: list[dict] = []
    values: dict[str, np.ndarray] = {}
    na_masks: dict[str, np.ndarray] = {}
    for measure, cols in mapping.items():
        # column-major: each column is written contiguously, and pandas keeps it as one block
        vals = np.empty((len(frame), len(items)), order="F")
        nas = np.zeros((len(frame), len(items)), dtype=bool, order="F")
        for j, item in enumerate(items):
            vals[:, j], nas[:, j] = _convert(raw, path, cols[item], frame[cols[item]], inst, inst.scale, problems)
            if not problems:
                # the column now lives in the survey's array: let its file copy go
                del frame[cols[item]]
        values[measure], na_masks[measure] = vals, nas
    _release_arrow_memory()
    if problems:
        order = {c: k for k, c in enumerate(c for cols in mapping.values() for c in cols.values())}
        problems.sort(key=lambda p: (p["pos"], order[p["column"]]))
        raise SurveyError(path, _list_problems(raw, problems, "invalid ratings", _expected_rating(inst)), problems)
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
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        groups: dict[Any, list[str]] = {}
        for p in np.flatnonzero(dup):
            groups.setdefault(ids.iloc[p], []).append(raw.label(p))
        shown = "; ".join(f"{k!r} on {', '.join(v)}" for k, v in list(groups.items())[:MAX_LISTED])
        raise SurveyError(
            path,
            f"{len(groups)} respondent id(s) in column {id!r} appear more than once: {shown}"
            + (f"; … and {len(groups) - MAX_LISTED} more" if len(groups) > MAX_LISTED else "")
            + ". Each respondent must have a unique id.",
            [{"row": r, "column": id, "value": k, "expected": "a unique id"} for k, v in groups.items() for r in v],
        )
    return pd.Index(ids.to_numpy(), name="id")


def _respondents(path: Path, raw: RawTable, index: pd.Index, segments, year, used: set) -> tuple[pd.DataFrame, list]:
    """Segments, year and extra columns per respondent; personal-data columns dropped."""
    frame = raw.frame
    dropped = [c for c in frame.columns if c not in used and _is_personal(c)]
    extras = [c for c in frame.columns if c not in used and c not in dropped and c != "year"]
    for column in list(extras):
        series = frame[column]
        if not pd.api.types.is_numeric_dtype(series.dtype):
            text = pd.Series(pd.unique(series.dropna())).astype("string")  # each distinct value once
            if len(text) and text.str.contains(_EMAIL_RE, regex=True).any():
                dropped.append(column)
                extras.remove(column)
    if dropped:
        warnings.warn(
            f"{path}: dropped column(s) that look like personal data: {', '.join(map(repr, dropped))}. "
            "They are not kept and never reach any output.",
            UserWarning,
            stacklevel=3,
        )
    labels = raw.value_labels or {}
    respondents = pd.DataFrame(index=index)
    for column in segments:
        series = frame[column]
        respondents[column] = (
            _apply_value_labels(series, labels[column]) if labels.get(column) else _segment_values(series)
        )
    if year is not None:
        respondents["year"] = int(year)
    elif "year" in frame.columns:
        respondents["year"] = frame["year"].to_numpy()
    else:
        respondents["year"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    for column in extras:
        series = frame[column]
        respondents[column] = _apply_value_labels(series, labels[column]) if labels.get(column) else series.to_numpy()
    return respondents, dropped


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


def _detect_header_rows(path: Path, raw: RawTable, frame: pd.DataFrame, rating_columns: list[str], inst) -> None:
    """Refuse exports whose first data rows are more header (question text, ImportId)."""
    head = frame[rating_columns].head(3)
    textual = []
    codes = {str(c).strip().lower() for c in inst.not_applicable}
    for position in range(len(head)):
        row = head.iloc[position]
        text = row.dropna().astype("string").str.strip()
        text = text[~text.isin(MISSING_MARKERS) & ~text.str.lower().isin(codes)]
        if len(text) and pd.to_numeric(text, errors="coerce").isna().mean() > 0.5:
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
            f"pass skip_rows={k} to read past {'them' if k > 1 else 'it'}.",
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
        cols = {d: weights.format(dimension=d) for d in inst.dimensions}
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
        numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
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
    block[given] = np.nan_to_num(block[given])  # a blank beside given weights is 0 points
    return pd.DataFrame(block, index=index, columns=list(cols)), list(cols.values())


def _read_overall(path, raw, frame, inst: Instrument, overall, index) -> tuple[pd.Series | None, list[str]]:
    """The overall-satisfaction ratings, and the column used."""
    if overall is False or inst.overall is None:
        if overall not in (None, False):
            raise SurveyError(path, f"overall= given but instrument {inst.id!r} has no overall item")
        return None, []
    column = overall if isinstance(overall, str) else inst.overall.id
    if column not in frame.columns:
        if isinstance(overall, str):
            raise SurveyError(path, f"overall column {column!r} is not in the file{did_you_mean(column, list(frame.columns))}")
        return None, []
    problems: list[dict] = []
    values, _ = _convert(raw, path, column, frame[column], inst, inst.overall_scale, problems)
    if problems:
        raise SurveyError(
            path, _list_problems(raw, problems, "invalid overall ratings", _expected_rating(inst, inst.overall_scale)), problems
        )
    return pd.Series(values, index=index, name=inst.overall.id), [column]
