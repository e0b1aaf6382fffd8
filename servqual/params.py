"""Survey-cycle parameters: one ``params/<cycle>.yaml`` per cycle (docs/methods.md, "Instruments and params").

The keys equal the papermill template's ``parameters`` cell names, so the same file
drives the command line, the report notebook and the tests.  Every key is checked
before any work starts; a problem is one line naming the params file and the key.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .instrument import InstrumentError, load_instrument, read_yaml
from .project import project_root, resolve_path
from .survey import MIN_GROUP_N

__all__ = ["CycleParams", "ParamsError", "load_params", "read_cycle"]


class ParamsError(ValueError):
    """A params file is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class CycleParams:
    """One survey cycle's parameters (all keys of a params YAML)."""

    instrument: str
    responses: str
    year: int | None = None
    columns: Any = None
    id: str | None = None
    segments: Any = field(default_factory=list)
    min_group_n: int = MIN_GROUP_N
    title: str | None = None
    encoding: str | None = None
    weights: Any = None
    overall: Any = None
    screening: dict[str, Any] = field(default_factory=dict)
    sheet: Any = None
    skip_rows: int = 0
    header_rows: Any = None
    value_labels: Any = None
    recode: Any = None
    comments: str | None = None
    layout: str = "wide"
    long_columns: Any = None
    consortium: Any = None  # {dataset: folder, institution: id, peers: […] or {attribute: value}}
    codebook: str | None = None  # the comments' codebook: built-in id or YAML file (default "library")
    quotes: bool = True  # false: no comment is quoted in any output
    population: Any = None  # {column: {category: count}}: weight the respondents to these margins
    weighting: Any = None  # {method: rake | poststratify, trim: 5 or [0.2, 5]}
    source: str = ""  # the params file (not a YAML key)

    def as_dict(self) -> dict[str, Any]:
        """The YAML keys and values (for papermill's ``parameters``)."""
        data = asdict(self)
        data.pop("source")
        return data

    def read_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`servqual.read_survey` for this cycle."""
        return {
            "columns": self.columns,
            "id": self.id,
            "segments": self.segments,
            "year": self.year,
            "encoding": self.encoding,
            "weights": self.weights,
            "overall": self.overall,
            "screening": self.screening or None,
            "sheet": self.sheet,
            "skip_rows": self.skip_rows,
            "header_rows": self.header_rows,
            "value_labels": self.value_labels,
            "recode": self.recode,
            "comments": self.comments,
            "layout": self.layout,
            "long_columns": self.long_columns,
        }


_KEYS = tuple(k for k in CycleParams.__dataclass_fields__ if k != "source")
_REQUIRED = ("instrument", "responses")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _text_map(value) -> bool:
    return isinstance(value, Mapping) and all(_is_text(str(k)) for k in value)


#: What each key accepts: a check and the words of the error.
_CHECKS: dict[str, tuple[Any, str]] = {
    "year": (lambda v: v is None or (_is_int(v) and 1900 <= v <= 2200),
             "a year such as 2007 (a survey cycle; leave it out for a one-off study). YAML reads 2007_08 as the "
             "number 200708: write year: 2007 and put '2007/08' in the title"),
    "instrument": (_is_text, "a built-in instrument id or a path to an instrument YAML file"),
    "responses": (_is_text, "the path of the raw export"),
    "columns": (lambda v: v is None or _is_text(v) or isinstance(v, Mapping),
                "a column template such as 'E{index:02d}' or a mapping measure → template or item → column"),
    "id": (lambda v: v is None or _is_text(v), "the name of the respondent id column, as text (id: '1' for a "
                                               "column named 1)"),
    "segments": (lambda v: v is None or _is_text(v) or (isinstance(v, list) and all(_is_text(c) for c in v))
                 or (isinstance(v, Mapping) and all(_is_text(str(k)) and _is_text(str(c)) for k, c in v.items())),
                 "a list of column names (or a mapping file column → name)"),
    "min_group_n": (lambda v: _is_int(v) and v >= 1, "a whole number ≥ 1"),
    "title": (lambda v: v is None or isinstance(v, (str, int)), "text"),
    "encoding": (lambda v: v is None or _is_text(v), "an encoding name as text, such as 'cp1252' or 'utf-8' "
                                                     "(quote numbers: encoding: '1252' is not valid, 'cp1252' is)"),
    "weights": (lambda v: v is None or isinstance(v, (bool, Mapping)) or _is_text(v),
                "a template such as 'W_{dimension}', a mapping dimension → column, or false"),
    "overall": (lambda v: v is None or isinstance(v, bool) or _is_text(v),
                "the overall-satisfaction column's name as text, or false"),
    "screening": (lambda v: v is None or isinstance(v, Mapping), "a mapping of rule overrides"),
    "sheet": (lambda v: v is None or _is_text(v) or (_is_int(v) and v >= 0), "a sheet name or a 0-based number"),
    "skip_rows": (lambda v: _is_int(v) and v >= 0, "a whole number ≥ 0 of rows to skip below the header "
                                                   "(e.g. 2 for Qualtrics), not quoted"),
    "header_rows": (lambda v: v is None or (_is_int(v) and v >= 1)
                    or (isinstance(v, list) and v and all(_is_int(r) and r >= 1 for r in v)
                        and v == list(range(v[0], v[0] + len(v)))),
                    "the row number of the column names (2), or consecutive rows of a two-row header ([1, 2])"),
    "value_labels": (lambda v: v is None or _text_map(v), "a mapping label → rating, e.g. {Strongly agree: 7}"),
    "recode": (lambda v: v is None or (isinstance(v, Mapping) and all(isinstance(m, Mapping) for m in v.values())),
               "a mapping segment column → {spelling: value}, e.g. {segment: {post-graduate: postgraduate}}"),
    "comments": (lambda v: v is None or _is_text(v), "the free-text column's name"),
    "layout": (lambda v: v in ("wide", "long"), "'wide' (one row per respondent) or 'long'"),
    "long_columns": (lambda v: v is None or isinstance(v, Mapping),
                     "a mapping {respondent: …, question: …, answer: …}"),
    "consortium": (lambda v: v is None or (isinstance(v, Mapping) and _is_text(v.get("dataset"))
                                           and _is_text(v.get("institution"))
                                           and set(v) <= {"dataset", "institution", "peers"}),
                   "a mapping {dataset: <consortium folder>, institution: <this library's id>, peers: …}"),
    "codebook": (lambda v: v is None or _is_text(v), "a built-in codebook id (library) or a codebook YAML file"),
    "quotes": (lambda v: isinstance(v, bool), "true or false (false: no comment is quoted)"),
    "population": (lambda v: True, "checked by servqual.weighting.check_population"),
    "weighting": (lambda v: v is None or (isinstance(v, Mapping) and set(v) <= {"method", "trim"}),
                  "a mapping {method: rake or poststratify, trim: the largest weight as a multiple of the mean}"),
}


def _resolve(path: str, params_file: Path) -> Path:
    """A path in a params file: relative to the params file's folder, then its project
    root (never the working directory, so a command runs the same from anywhere)."""
    return resolve_path(path, params_file)


def load_params(path: str | Path) -> CycleParams:
    """Load and validate a cycle's params YAML.

    Raises
    ------
    ParamsError
        Unknown keys (with the closest valid key), missing required keys, wrong types,
        an unknown instrument, a missing responses file.

    Examples
    --------
    >>> import servqual as sq
    >>> params = sq.load_params('params/2005.yaml')
    >>> params.instrument, params.segments, params.min_group_n
    ('servqual-22', ['segment', 'branch'], 10)
    """
    path = Path(path)
    raw = read_yaml(path, ParamsError)
    return params_from_mapping(raw, path)


def params_from_mapping(raw: Any, path: str | Path) -> CycleParams:
    """Validate params given as a mapping (a params file's content, or the command line's
    options); ``path`` names them in errors and anchors relative paths (a params file, or
    the working directory for the command line)."""
    path = Path(path)
    if not isinstance(raw, Mapping):
        raise ParamsError(f"{path}: a params file must be a YAML mapping of keys ({', '.join(_KEYS)})")
    for key in raw:
        if key not in _KEYS:
            close = difflib.get_close_matches(str(key), _KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ParamsError(f"{path}: unknown key {key!r}{hint} (keys: {', '.join(_KEYS)})")
    for key in _REQUIRED:
        if key not in raw:
            raise ParamsError(f"{path}: missing required key {key!r}")
    values = dict(raw)
    for key, value in values.items():
        check, expected = _CHECKS[key]
        if not check(value):
            raise ParamsError(f"{path}: {key}: expected {expected}; got {value!r}")
    if isinstance(values.get("segments"), str):
        values["segments"] = [values["segments"]]
    if values.get("segments") is None:
        values["segments"] = []
    if values.get("layout") == "long" and not values.get("long_columns"):
        raise ParamsError(f"{path}: layout: long needs long_columns: {{respondent: …, question: …, answer: …}}")
    if values.get("encoding") is not None:
        import codecs

        try:
            codecs.lookup(values["encoding"])
        except LookupError:
            raise ParamsError(f"{path}: encoding: {values['encoding']!r} is not an encoding Python knows "
                              "(e.g. 'utf-8', 'cp1252', 'latin-1', 'cp949', 'shift_jis', 'gb18030')") from None
    if isinstance(values.get("weights"), str):
        import string

        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(values["weights"]) if f is not None}
        except ValueError as exc:
            raise ParamsError(f"{path}: weights: template {values['weights']!r} is invalid ({exc})") from None
        if fields - {"dimension"}:
            raise ParamsError(f"{path}: weights: template {values['weights']!r} uses {{{sorted(fields - {'dimension'})[0]}}}"
                              "; a weights template may use only {dimension}, e.g. 'W_{dimension}'")
    values["screening"] = dict(values.get("screening") or {})
    try:
        load_instrument(_instrument_ref(values["instrument"], path))
    except InstrumentError as exc:
        raise ParamsError(f"{path}: instrument: {exc}") from None
    responses = _resolve(str(values["responses"]), path)
    if not responses.exists():
        raise ParamsError(
            f"{path}: responses: file {values['responses']!r} not found (looked beside the params file, in "
            f"{path.absolute().parent}, and in the project folder {project_root(path)})"
        )
    values["responses"] = str(responses)
    values["instrument"] = _instrument_ref(values["instrument"], path)
    if values.get("consortium"):
        consortium = dict(values["consortium"])
        folder = _resolve(str(consortium["dataset"]), path)
        if not folder.is_dir():
            raise ParamsError(f"{path}: consortium: dataset folder {consortium['dataset']!r} not found (looked beside "
                              f"the params file and in the project folder {project_root(path)})")
        consortium["dataset"] = str(folder)
        values["consortium"] = consortium
    if values.get("codebook"):
        from .comments import CodebookError, builtin_codebooks, load_codebook

        text = str(values["codebook"])
        book = text if text in builtin_codebooks() else str(_resolve(text, path))
        try:
            load_codebook(book)
        except CodebookError as exc:
            raise ParamsError(f"{path}: codebook: {exc}") from None
        values["codebook"] = book
    if values.get("population") is not None or values.get("weighting"):
        _check_weighting(values, path)
    return CycleParams(**values, source=str(path))


def _check_weighting(values: dict, path: Path) -> None:
    """The population margins' shape and the weighting options (the data are matched when
    the cycle is read)."""
    from .weighting import WeightingError, check_options, check_population

    if values.get("population") is None:
        raise ParamsError(f"{path}: weighting: needs population: {{column: {{category: count}}}} to weight to")
    try:
        values["population"] = check_population(values["population"], where=f"{path}: population")
        check_options(values.get("weighting"), f"{path}: weighting")
    except WeightingError as exc:
        raise ParamsError(str(exc)) from None


def _instrument_ref(value: Any, params_file: Path) -> str:
    text = str(value)
    if text.endswith((".yaml", ".yml")):
        return str(_resolve(text, params_file))
    return text


def read_cycle(params: CycleParams | str | Path):
    """Read and screen a cycle's responses as its params describe.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> survey.n, survey.segments
    (1180, ('segment', 'branch'))
    """
    from .io import SurveyError, read_survey

    if not isinstance(params, CycleParams):
        params = load_params(params)
    try:
        survey = read_survey(params.responses, params.instrument, **params.read_kwargs())
    except SurveyError as exc:
        if exc.key is None:
            raise
        # a params key names something the file does not have: say so as the params file's error
        raise ParamsError(f"{params.source}: {exc.key}: {exc.detail.replace('the file', Path(params.responses).name)}"
                          ) from None
    if params.population is None:
        return survey
    from .weighting import WeightingError, check_options, weight

    try:
        return weight(survey, params.population, **check_options(params.weighting), where=f"{params.source}: population")
    except WeightingError as exc:
        raise ParamsError(str(exc)) from None
