"""Instruments: the questionnaire definition every other module reads.

An instrument is data, not code: its items, the dimension each item belongs to, the
rating scale, the measures asked per item (expectation, perception, minimum, …), the
gaps computed from them, reverse-keyed items and the default screening rules all come
from a YAML file (DESIGN.md §4).  :func:`load_instrument` validates that file and
returns a frozen :class:`Instrument`; every problem is reported with the file name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

__all__ = [
    "Gap",
    "Instrument",
    "InstrumentError",
    "Item",
    "Scale",
    "ScreeningRules",
    "list_instruments",
    "load_instrument",
]

STRAIGHT_LINING_ACTIONS = ("flag", "exclude", "ignore")
_GAP_RE = re.compile(r"^\s*([A-Za-z_]\w*)\s*-\s*([A-Za-z_]\w*)\s*$")
_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


class InstrumentError(ValueError):
    """An instrument definition is invalid; the message names the file and the problem."""


# --------------------------------------------------------------------------- YAML loading
class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first defined on line {seen[key]})",
                key_node.start_mark,
            )
        seen[key] = line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def read_yaml(path: Path, error: type[ValueError] = ValueError) -> Any:
    """Read a YAML file strictly (duplicate keys are errors), naming the file on failure."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise error(f"{path}: invalid YAML: {exc}") from None


def did_you_mean(value: str, choices) -> str:
    """'; did you mean 'x'?' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_keys(
    mapping: Mapping, allowed: tuple[str, ...], where: str, error: type[ValueError]
) -> None:
    """Reject unknown keys (typos), suggesting the closest allowed one."""
    for key in mapping:
        if key not in allowed:
            raise error(
                f"{where}: unknown key {key!r}{did_you_mean(key, allowed)} "
                f"(allowed: {', '.join(allowed)})"
            )


# --------------------------------------------------------------------------- value objects
@dataclass(frozen=True)
class Scale:
    """A rating scale: whole numbers from ``min`` to ``max`` with optional anchor labels."""

    min: int
    max: int
    labels: Mapping[int, str] = field(default_factory=dict)

    @property
    def midpoint(self) -> float:
        return (self.min + self.max) / 2

    def reverse(self, value):
        """Reverse-key a rating: x → min + max − x (works on scalars and arrays)."""
        return self.min + self.max - value

    def __str__(self) -> str:
        return f"{self.min}–{self.max}"


@dataclass(frozen=True)
class Item:
    """One questionnaire item."""

    id: str
    text: str
    dimension: str
    index: int  # 1-based questionnaire position
    reverse: bool = False


@dataclass(frozen=True)
class Gap:
    """A gap ``name = minuend - subtrahend`` (performance minus a standard)."""

    name: str
    minuend: str
    subtrahend: str

    @property
    def expression(self) -> str:
        return f"{self.minuend} - {self.subtrahend}"


@dataclass(frozen=True)
class ScreeningRules:
    """Which respondents screening excludes or flags (DESIGN.md §2).

    Parameters
    ----------
    require_complete
        Exclude respondents with any blank rating (an N/A answer counts as answered).
    max_not_applicable
        Exclude respondents with *more than* this many items answered N/A.
    max_inversions
        Exclude respondents with *more than* this many items rated minimum > desired.
    straight_lining
        ``"flag"`` (default), ``"exclude"`` or ``"ignore"`` respondents who gave the
        same answer to every item of a measure.
    """

    require_complete: bool = False
    max_not_applicable: int | None = None
    max_inversions: int | None = None
    straight_lining: str = "flag"

    FIELDS = ("require_complete", "max_not_applicable", "max_inversions", "straight_lining")

    def __post_init__(self) -> None:
        if not isinstance(self.require_complete, bool):
            raise InstrumentError(
                f"screening.require_complete must be true or false, got {self.require_complete!r}"
            )
        for name in ("max_not_applicable", "max_inversions"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise InstrumentError(
                    f"screening.{name} must be a whole number ≥ 0 or null, got {value!r}"
                )
        if self.straight_lining not in STRAIGHT_LINING_ACTIONS:
            raise InstrumentError(
                f"screening.straight_lining must be one of {', '.join(STRAIGHT_LINING_ACTIONS)}, "
                f"got {self.straight_lining!r}"
            )

    def replace(self, **overrides: Any) -> ScreeningRules:
        """Return a copy with some rules overridden (unknown names are errors)."""
        check_keys(overrides, self.FIELDS, "screening overrides", InstrumentError)
        values = {name: getattr(self, name) for name in self.FIELDS}
        values.update(overrides)
        return ScreeningRules(**values)


@dataclass(frozen=True)
class Instrument:
    """A validated, immutable questionnaire definition.

    Attributes
    ----------
    id, title
        Identifier (``servqual-22``) and human-readable title.
    scale
        The rating :class:`Scale`, or ``None`` for unscaled numeric answers.
    not_applicable
        Codes read as "not applicable": counted by screening, then missing.
    measures
        Ratings asked per item, in questionnaire order (``expectation``, ``perception``).
    gaps
        :class:`Gap` objects, each ``measure - measure``; a negative gap is a shortfall.
    dimensions
        Dimension id → tuple of item ids, in questionnaire order.
    items
        Item id → :class:`Item`, in questionnaire order.
    screening
        Default :class:`ScreeningRules`.
    weights
        ``True`` when respondents allocate 100 points of importance over the dimensions.
    overall
        Optional overall-satisfaction item (an :class:`Item` whose dimension is ``None``).
    gap_sign
        Presentation flag only: ``"performance-minus-standard"`` (the code's convention)
        or ``"standard-minus-performance"`` for instruments whose published reports
        printed the opposite sign.  Computation never changes.
    layout
        Questionnaire order: ``"blocks"`` (one section per measure, as SERVQUAL asks all
        expectations before all perceptions) or ``"side_by_side"`` (each item's ratings
        in one row, as the three-column form).  Defaults to blocks for
        expectation/perception instruments.
    """

    id: str
    title: str
    scale: Scale | None
    measures: tuple[str, ...]
    gaps: tuple[Gap, ...]
    dimensions: Mapping[str, tuple[str, ...]]
    items: Mapping[str, Item]
    not_applicable: tuple[Any, ...] = ()
    screening: ScreeningRules = field(default_factory=ScreeningRules)
    weights: bool = False
    weights_total: float = 100.0
    overall: Item | None = None
    overall_scale: Scale | None = None
    dimension_labels: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    gap_sign: str = "performance-minus-standard"
    layout: str = "side_by_side"
    source: str = ""

    # ---- convenience -------------------------------------------------------------
    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(self.items)

    @property
    def reverse_items(self) -> tuple[str, ...]:
        return tuple(i for i, item in self.items.items() if item.reverse)

    def dimension_label(self, dimension: str) -> str:
        return self.dimension_labels.get(dimension, dimension.replace("_", " ").capitalize())

    def dimension_of(self, item: str) -> str:
        return self.items[item].dimension

    def gap(self, name: str) -> Gap:
        for gap in self.gaps:
            if gap.name == name:
                return gap
        raise KeyError(
            f"gap {name!r} is not defined by instrument {self.id!r} "
            f"(gaps: {', '.join(g.name for g in self.gaps) or 'none'})"
        )

    @property
    def quantities(self) -> tuple[str, ...]:
        """Measures then gaps: every per-item quantity that can be scored."""
        return self.measures + tuple(g.name for g in self.gaps)

    def __str__(self) -> str:
        dims = ", ".join(f"{self.dimension_label(d)} ({len(i)})" for d, i in self.dimensions.items())
        gaps = "; ".join(f"{g.name} = {g.expression}" for g in self.gaps) or "none"
        return (
            f"{self.title} [{self.id}]\n"
            f"  {len(self.items)} items, scale {self.scale or 'unscaled'}; "
            f"measures: {', '.join(self.measures)}; gaps: {gaps}\n"
            f"  dimensions: {dims}\n"
            f"  reverse-keyed: {', '.join(self.reverse_items) or 'none'}"
        )


# --------------------------------------------------------------------------- parsing
_TOP_KEYS = (
    "id", "title", "description", "scale", "not_applicable", "measures", "gaps",
    "dimensions", "items", "screening", "weights", "overall", "gap_sign", "layout",
)
_ITEM_KEYS = ("text", "reverse")
_SCALE_KEYS = ("min", "max", "labels")
_DIMENSION_KEYS = ("label", "items")
_WEIGHTS_KEYS = ("total",)
_OVERALL_KEYS = ("id", "text", "scale")
_GAP_SIGNS = ("performance-minus-standard", "standard-minus-performance")
_LAYOUTS = ("blocks", "side_by_side")


def _parse_scale(raw: Any, where: str, source: str, fail) -> Scale | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        fail(f"{where} must be a mapping with min and max, got {raw!r}")
    check_keys(raw, _SCALE_KEYS, f"{source}: {where}", InstrumentError)
    lo, hi = raw.get("min"), raw.get("max")
    for name, value in (("min", lo), ("max", hi)):
        if isinstance(value, bool) or not isinstance(value, int):
            fail(f"{where}.{name} must be a whole number, got {value!r}")
    if lo >= hi:
        fail(f"{where}: min ({lo}) must be less than max ({hi})")
    labels = raw.get("labels") or {}
    if not isinstance(labels, Mapping):
        fail(f"{where}.labels must map scale points to text")
    for point in labels:
        if not isinstance(point, int) or not lo <= point <= hi:
            fail(f"{where}.labels: {point!r} is not a point of the scale {lo}–{hi}")
    return Scale(lo, hi, MappingProxyType({int(k): str(v) for k, v in labels.items()}))


def _parse(raw: Any, source: str) -> Instrument:
    def fail(message: str):
        raise InstrumentError(f"{source}: {message}")

    if not isinstance(raw, Mapping):
        fail("an instrument file must be a YAML mapping (id, title, measures, dimensions, items, …)")
    check_keys(raw, _TOP_KEYS, source, InstrumentError)
    for key in ("id", "measures", "dimensions", "items"):
        if key not in raw:
            fail(f"missing required key {key!r}")

    inst_id = raw["id"]
    if not isinstance(inst_id, str) or not inst_id.strip():
        fail(f"id must be a non-empty string, got {inst_id!r}")
    title = str(raw.get("title") or inst_id)
    scale = _parse_scale(raw.get("scale"), "scale", source, fail)

    # measures
    measures = raw["measures"]
    if isinstance(measures, str):
        measures = [measures]
    if not isinstance(measures, list) or not measures:
        fail(f"measures must be a non-empty list, got {measures!r}")
    for m in measures:
        if not isinstance(m, str) or not _ID_RE.match(m):
            fail(f"measure names must be identifiers, got {m!r}")
    dup = [m for m in measures if measures.count(m) > 1]
    if dup:
        fail(f"measure {dup[0]!r} is listed twice")

    # gaps
    gaps_raw = raw.get("gaps") or {}
    if not isinstance(gaps_raw, Mapping):
        fail("gaps must map a gap name to an expression such as 'perception - expectation'")
    gaps = []
    for name, expr in gaps_raw.items():
        if not isinstance(name, str) or not _ID_RE.match(name):
            fail(f"gap name {name!r} is not an identifier")
        if name in measures:
            fail(f"gap {name!r} has the same name as a measure")
        match = _GAP_RE.match(str(expr))
        if not match:
            fail(f"gap {name!r}: expression {expr!r} must read '<measure> - <measure>'")
        for part in match.groups():
            if part not in measures:
                fail(
                    f"gap {name!r}: {expr!r} names unknown measure {part!r}"
                    f"{did_you_mean(part, measures)} (measures: {', '.join(measures)})"
                )
        if match.group(1) == match.group(2):
            fail(f"gap {name!r}: {expr!r} subtracts a measure from itself")
        gaps.append(Gap(name, match.group(1), match.group(2)))

    # items
    items_raw = raw["items"]
    if not isinstance(items_raw, Mapping) or not items_raw:
        fail("items must be a non-empty mapping of item id → {text, reverse}")
    item_specs: dict[str, tuple[str, bool]] = {}
    for item_id, spec in items_raw.items():
        if not isinstance(item_id, str) or not _ID_RE.match(item_id):
            fail(f"item id {item_id!r} must start with a letter and use letters, digits, _ or .")
        if spec is None:
            spec = {}
        if isinstance(spec, str):
            spec = {"text": spec}
        if not isinstance(spec, Mapping):
            fail(f"item {item_id}: expected a mapping with text and reverse, got {spec!r}")
        check_keys(spec, _ITEM_KEYS, f"{source}: item {item_id}", InstrumentError)
        reverse = spec.get("reverse", False)
        if not isinstance(reverse, bool):
            fail(f"item {item_id}: reverse must be true or false, got {reverse!r}")
        if reverse and scale is None:
            fail(
                f"item {item_id} is reverse-keyed but the instrument has no scale; "
                "reverse keying (x → min + max − x) needs scale min and max"
            )
        item_specs[item_id] = (str(spec.get("text", "")), reverse)

    # dimensions
    dims_raw = raw["dimensions"]
    if not isinstance(dims_raw, Mapping) or not dims_raw:
        fail("dimensions must be a non-empty mapping of dimension id → list of item ids")
    dimensions: dict[str, tuple[str, ...]] = {}
    labels: dict[str, str] = {}
    owner: dict[str, str] = {}
    for dim, spec in dims_raw.items():
        if not isinstance(dim, str) or not _ID_RE.match(dim):
            fail(f"dimension id {dim!r} must be an identifier")
        if isinstance(spec, Mapping):
            check_keys(spec, _DIMENSION_KEYS, f"{source}: dimension {dim}", InstrumentError)
            if "label" in spec:
                labels[dim] = str(spec["label"])
            spec = spec.get("items")
        if spec is None or (isinstance(spec, list) and not spec):
            fail(f"dimension {dim!r} is empty: list at least one item")
        if not isinstance(spec, list):
            fail(f"dimension {dim!r}: expected a list of item ids, got {spec!r}")
        for item_id in spec:
            if item_id not in item_specs:
                fail(
                    f"dimension {dim!r} lists unknown item {item_id!r}"
                    f"{did_you_mean(item_id, item_specs)}"
                )
            if item_id in owner:
                where = "twice" if owner[item_id] == dim else f"in both {owner[item_id]!r} and {dim!r}"
                fail(f"item {item_id!r} is listed {where}; an item belongs to exactly one dimension")
            owner[item_id] = dim
        dimensions[dim] = tuple(spec)
    orphans = [i for i in item_specs if i not in owner]
    if orphans:
        fail(
            f"item{'s' if len(orphans) > 1 else ''} {', '.join(map(repr, orphans))} "
            "belong to no dimension; list each item under one dimension"
        )

    items = {
        item_id: Item(item_id, text, owner[item_id], index, reverse)
        for index, (item_id, (text, reverse)) in enumerate(item_specs.items(), start=1)
    }

    # not applicable codes
    na_raw = raw.get("not_applicable") or []
    if not isinstance(na_raw, list):
        na_raw = [na_raw]
    for code in na_raw:
        if isinstance(code, bool) or not isinstance(code, (int, float, str)):
            fail(f"not_applicable codes must be numbers or text, got {code!r}")
        if scale is not None and isinstance(code, (int, float)) and scale.min <= code <= scale.max:
            fail(
                f"not_applicable code {code!r} lies inside the rating scale {scale}; "
                "an N/A code must be distinguishable from a rating"
            )

    # screening
    screening_raw = raw.get("screening") or {}
    if not isinstance(screening_raw, Mapping):
        fail("screening must be a mapping of rules")
    check_keys(screening_raw, ScreeningRules.FIELDS, f"{source}: screening", InstrumentError)
    try:
        screening = ScreeningRules(**screening_raw)
    except InstrumentError as exc:
        fail(str(exc))
    if screening.max_inversions is not None and not {"minimum", "desired"} <= set(measures):
        fail("screening.max_inversions needs the measures 'minimum' and 'desired'")
    if screening.max_not_applicable is not None and not na_raw:
        fail("screening.max_not_applicable is set but the instrument has no not_applicable codes")

    # weights
    weights_raw = raw.get("weights")
    weights, weights_total = False, 100.0
    if weights_raw is not None and weights_raw is not False:
        if weights_raw is True:
            weights_raw = {}
        if not isinstance(weights_raw, Mapping):
            fail("weights must be true or a mapping such as {total: 100}")
        check_keys(weights_raw, _WEIGHTS_KEYS, f"{source}: weights", InstrumentError)
        weights = True
        weights_total = float(weights_raw.get("total", 100))
        if weights_total <= 0:
            fail(f"weights.total must be positive, got {weights_total}")
        if len(dimensions) < 2:
            fail("weights (importance allocation over dimensions) need at least two dimensions")

    # overall satisfaction item
    overall_raw = raw.get("overall")
    overall = overall_scale = None
    if overall_raw is not None:
        if not isinstance(overall_raw, Mapping):
            fail("overall must be a mapping with id, text and optionally scale")
        check_keys(overall_raw, _OVERALL_KEYS, f"{source}: overall", InstrumentError)
        overall_id = str(overall_raw.get("id", "overall"))
        if overall_id in items:
            fail(f"overall item id {overall_id!r} is also a regular item id")
        overall = Item(overall_id, str(overall_raw.get("text", "")), "", 0, False)
        overall_scale = _parse_scale(overall_raw.get("scale"), "overall.scale", source, fail) or scale

    gap_sign = raw.get("gap_sign", _GAP_SIGNS[0])
    if gap_sign not in _GAP_SIGNS:
        fail(f"gap_sign must be one of {', '.join(_GAP_SIGNS)}, got {gap_sign!r}")
    default_layout = "blocks" if {"expectation", "perception"} <= set(measures) else "side_by_side"
    layout = raw.get("layout", default_layout)
    if layout not in _LAYOUTS:
        fail(f"layout must be one of {', '.join(_LAYOUTS)}, got {layout!r}")

    return Instrument(
        id=inst_id.strip(),
        title=title,
        scale=scale,
        measures=tuple(measures),
        gaps=tuple(gaps),
        dimensions=MappingProxyType(dimensions),
        items=MappingProxyType(items),
        not_applicable=tuple(na_raw),
        screening=screening,
        weights=weights,
        weights_total=weights_total,
        overall=overall,
        overall_scale=overall_scale,
        dimension_labels=MappingProxyType(labels),
        description=str(raw.get("description") or "").strip(),
        gap_sign=gap_sign,
        layout=layout,
        source=source,
    )


# --------------------------------------------------------------------------- public API
def _builtin_dir():
    return resources.files("servqual") / "instruments"


def list_instruments() -> pd.DataFrame:  # noqa: F821 - pandas imported lazily
    """The built-in instruments: id, title, items, dimensions, measures, gaps, scale.

    Returns
    -------
    pandas.DataFrame
        One row per built-in instrument.
    """
    import pandas as pd

    rows = []
    for path in sorted(_builtin_dir().iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".yaml"):
            continue
        inst = load_instrument(path.name[: -len(".yaml")])
        rows.append(
            {
                "id": inst.id,
                "title": inst.title,
                "items": len(inst.items),
                "dimensions": len(inst.dimensions),
                "measures": ", ".join(inst.measures),
                "gaps": ", ".join(f"{g.name} = {g.expression}" for g in inst.gaps),
                "scale": str(inst.scale) if inst.scale else "",
            }
        )
    return pd.DataFrame(rows)


def load_instrument(id_or_path: str | Path | Instrument) -> Instrument:
    """Load a built-in instrument by id, or an instrument YAML file by path.

    Parameters
    ----------
    id_or_path
        A built-in id (see :func:`list_instruments`), a path to a ``.yaml`` file, or an
        :class:`Instrument` (returned unchanged).

    Raises
    ------
    InstrumentError
        The file is missing or invalid; the message names the file and the problem.
    """
    if isinstance(id_or_path, Instrument):
        return id_or_path
    text = str(id_or_path)
    builtin = _builtin_dir() / f"{text}.yaml"
    if "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml")):
        if not builtin.is_file():
            known = sorted(p.name[:-5] for p in _builtin_dir().iterdir() if p.name.endswith(".yaml"))
            raise InstrumentError(
                f"unknown instrument {text!r}{did_you_mean(text, known)} "
                f"(built-in: {', '.join(known)}; or give a path to a .yaml file)"
            )
        with resources.as_file(builtin) as path:
            return _parse(read_yaml(path, InstrumentError), f"{text}.yaml (built-in)")
    path = Path(text)
    if not path.is_file():
        raise InstrumentError(f"{path}: instrument file not found")
    return _parse(read_yaml(path, InstrumentError), str(path))


def instrument_from_dict(raw: Mapping, source: str = "<dict>") -> Instrument:
    """Build an instrument from an already-parsed mapping (same validation as a file)."""
    return _parse(raw, source)
