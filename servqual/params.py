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

    year: int
    instrument: str
    responses: str
    columns: Any = None
    id: str | None = None
    segments: list[str] = field(default_factory=list)
    min_group_n: int = MIN_GROUP_N
    title: str | None = None
    encoding: str | None = None
    weights: Any = None
    overall: Any = None
    screening: dict[str, Any] = field(default_factory=dict)
    sheet: Any = None
    skip_rows: int = 0
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
        }


_KEYS = tuple(k for k in CycleParams.__dataclass_fields__ if k != "source")
_REQUIRED = ("year", "instrument", "responses")


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
    if isinstance(values["year"], bool) or not isinstance(values["year"], int):
        raise ParamsError(f"{path}: year must be a whole number such as 2005, got {values['year']!r}")
    if isinstance(values.get("segments"), str):
        values["segments"] = [values["segments"]]
    if not isinstance(values.get("segments", []), list):
        raise ParamsError(f"{path}: segments must be a list of column names")
    n = values.get("min_group_n", MIN_GROUP_N)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ParamsError(f"{path}: min_group_n must be a whole number ≥ 1, got {n!r}")
    if not isinstance(values.get("screening") or {}, Mapping):
        raise ParamsError(f"{path}: screening must be a mapping of rule overrides")
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
    return CycleParams(**values, source=str(path))


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
    from .io import read_survey

    if not isinstance(params, CycleParams):
        params = load_params(params)
    return read_survey(params.responses, params.instrument, **params.read_kwargs())
