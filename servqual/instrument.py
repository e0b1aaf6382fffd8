"""Instruments: the questionnaire definition every other module reads.

An instrument is data, not code: its items, the dimension each item belongs to, the
rating scale, the measures asked per item (expectation, perception, minimum, …), the
gaps computed from them, reverse-keyed items and the default screening rules all come
from a YAML file (docs/methods.md, "Instruments and params").  :func:`load_instrument` validates that file and
returns a frozen :class:`Instrument`; every problem is reported with the file name.
"""

from __future__ import annotations

import difflib
import math
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
#: What a measure is: the rating of the service as it is (``performance``), a level it is
#: held against (``standard``: expectation, minimum, desired), how much an item matters
#: (``importance``), or agreement with a statement (``agreement``, staff climate).
ROLES = ("performance", "standard", "importance", "agreement")
#: The two standards that bound the zone of tolerance.
ZONES = ("minimum", "desired")
#: Roles of the built-in measure names, so ``measures: [expectation, perception]`` needs no
#: more; any other name must declare its role.
DEFAULT_ROLES = MappingProxyType({
    "expectation": ("standard", None),
    "perception": ("performance", None),
    "perceived": ("performance", None),
    "performance": ("performance", None),
    "current": ("performance", None),
    "minimum": ("standard", "minimum"),
    "desired": ("standard", "desired"),
    "importance": ("importance", None),
    "agreement": ("agreement", None),
})
_GAP_RE = re.compile(r"^\s*([A-Za-z_]\w*)\s*-\s*([A-Za-z_]\w*)\s*$")
_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


class InstrumentError(ValueError):
    """An instrument definition is invalid; the message names the file and the problem."""


# --------------------------------------------------------------------------- YAML loading
MAX_ALIASES = 20  # params and instrument files need few anchors; a "billion laughs" file needs many


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last) and
    files with more aliases than any real params or instrument file uses (a "billion
    laughs" bomb expands each alias again wherever the result is walked)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases = getattr(self, "_aliases", 0) + 1
            if self._aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"more than {MAX_ALIASES} aliases (*name): refused as a possible YAML bomb; "
                    "write the values out", mark)
        return super().compose_node(parent, index)


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
    except yaml.constructor.ConstructorError as exc:
        where = f"line {exc.problem_mark.line + 1}: " if exc.problem_mark else ""
        if exc.problem and "constructor for the tag" in exc.problem:
            tag = exc.problem.split("tag", 1)[1].strip(" '")
            raise error(f"{path}: {where}the tag {tag!r} is not allowed: params and instrument files hold data, "
                        "never code or Python objects") from None
        raise error(f"{path}: {where}{exc.problem or exc}") from None
    except yaml.MarkedYAMLError as exc:
        where = f"line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}: " if exc.problem_mark else ""
        raise error(f"{path}: invalid YAML: {where}{exc.problem or exc.context}") from None
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
    step: float = 1  # 0.5 for web sliders with half points

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
    number: int | str | None = None  # the study's own question number, when it differs from index
    scale: Scale | None = None  # this item's own scale, when it differs from the instrument's
    not_applicable: tuple[Any, ...] = ()  # this item's own "don't know" codes, besides the instrument's
    sampled: bool = False  # shown to a random subset of respondents (LibQUAL-Lite); else a core item


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
    """Which respondents screening excludes or flags (docs/methods.md).

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

    def __str__(self) -> str:
        def show(value):
            return "none" if value is None else ("yes" if value is True else "no" if value is False else str(value))

        return ", ".join(f"{name}: {show(getattr(self, name))}" for name in self.FIELDS)

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
    roles
        Measure → role (``performance``, ``standard``, ``importance`` or ``agreement``):
        what each measure is, so no analysis guesses from names.  Ask through
        :attr:`performance`, :attr:`standards`, :attr:`importance` and
        :attr:`has_zone_of_tolerance`.
    zone
        Measure → ``"minimum"`` or ``"desired"`` for the two standards bounding the zone
        of tolerance (empty for instruments without one).
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
    roles: Mapping[str, str] = field(default_factory=dict)
    zone: Mapping[str, str] = field(default_factory=dict)
    measure_labels: Mapping[str, str] = field(default_factory=dict)

    # ---- measure roles -------------------------------------------------------------
    def role(self, measure: str) -> str:
        """The role of a measure: ``performance``, ``standard``, ``importance`` or ``agreement``."""
        try:
            return self.roles[measure]
        except KeyError:
            raise KeyError(
                f"measure {measure!r} is not asked by instrument {self.id!r} "
                f"(measures: {', '.join(self.measures)})"
            ) from None

    def _with_role(self, *roles: str) -> tuple[str, ...]:
        return tuple(m for m in self.measures if self.roles.get(m) in roles)

    @property
    def performance(self) -> str:
        """The measure that rates the service as it is (``perception``, ``perceived``,
        ``performance``; the ``agreement`` rating of a climate survey).  Every instrument
        has one."""
        return (self._with_role("performance") or self._with_role("agreement"))[0]

    @property
    def standards(self) -> tuple[str, ...]:
        """Measures the performance is held against (expectation; minimum and desired), in
        questionnaire order."""
        return self._with_role("standard")

    @property
    def importance(self) -> str | None:
        """The stated-importance measure, or ``None``."""
        found = self._with_role("importance")
        return found[0] if found else None

    @property
    def has_zone_of_tolerance(self) -> bool:
        """True when the instrument asks a minimum and a desired level (three-column form)."""
        return set(self.zone.values()) == set(ZONES)

    @property
    def minimum(self) -> str | None:
        """The zone of tolerance's lower standard (the minimum acceptable level), or ``None``."""
        return next((m for m, z in self.zone.items() if z == "minimum"), None)

    @property
    def desired(self) -> str | None:
        """The zone of tolerance's upper standard (the desired level), or ``None``."""
        return next((m for m, z in self.zone.items() if z == "desired"), None)

    @property
    def principal_standard(self) -> str | None:
        """The one standard a single-standard figure shows: the desired level of a zone of
        tolerance, else the first standard, else the importance rating."""
        return self.desired or (self.standards[0] if self.standards else None) or self.importance

    @property
    def stated_importance(self) -> str | None:
        """The measure that states how much each item matters: the importance rating,
        else the principal standard (expectations and desired levels are what clients
        say they need), else ``None`` (see :attr:`weights` for a 100-point allocation)."""
        return self.importance or self.principal_standard

    @property
    def primary(self) -> str:
        """The quantity a one-number summary reports: the first gap (its headline), else the
        performance rating, else the only measure."""
        return self.gaps[0].name if self.gaps else self.performance

    def measure_label(self, measure: str) -> str:
        """How a reader sees a measure's name (its ``label:``, else the name in words)."""
        return self.measure_labels.get(measure, measure.replace("_", " "))

    # ---- convenience -------------------------------------------------------------
    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(self.items)

    @property
    def reverse_items(self) -> tuple[str, ...]:
        return tuple(i for i, item in self.items.items() if item.reverse)

    @property
    def sampled_items(self) -> tuple[str, ...]:
        """Items shown to a random subset of respondents (``sampled: true``); a blank
        answer to all their measures means "not shown", not "skipped"."""
        return tuple(i for i, item in self.items.items() if item.sampled)

    @property
    def core_items(self) -> tuple[str, ...]:
        """Items every respondent is shown."""
        return tuple(i for i, item in self.items.items() if not item.sampled)

    def scale_of(self, item: str) -> Scale | None:
        """The scale an item is rated on: its own (mixed-scale forms), else the instrument's."""
        own = self.items[item].scale if item in self.items else None
        return own or self.scale

    def not_applicable_of(self, item: str) -> tuple[Any, ...]:
        """The codes read as "not applicable" / "don't know" for one item."""
        own = self.items[item].not_applicable if item in self.items else ()
        return tuple(self.not_applicable) + tuple(c for c in own if c not in self.not_applicable)

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
            + (f"\n  sampled (shown to a random subset): {', '.join(self.sampled_items)}" if self.sampled_items else "")
        )


# --------------------------------------------------------------------------- parsing
_TOP_KEYS = (
    "id", "title", "description", "scale", "not_applicable", "measures", "gaps",
    "dimensions", "items", "screening", "weights", "overall", "gap_sign", "layout",
)
_ITEM_KEYS = ("text", "reverse", "number", "scale", "not_applicable", "sampled")
_MEASURE_KEYS = ("role", "zone", "label")
_SCALE_KEYS = ("min", "max", "labels", "step")
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
    step = raw.get("step", 1)
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0 or step != step:
        fail(f"{where}.step must be a positive number such as 1 or 0.5, got {step!r}")
    if abs((hi - lo) / step - round((hi - lo) / step)) > 1e-9:
        fail(f"{where}.step {step!r} does not divide the scale {lo}–{hi} into whole steps")
    return Scale(lo, hi, MappingProxyType({int(k): str(v) for k, v in labels.items()}), step)


def _entry(spec: Any, shorthand: str, keys: tuple[str, ...], where: str, example: str, fail) -> Mapping:
    """A measure's or item's YAML entry as a mapping: empty, a bare string (its ``shorthand``
    key), or a mapping of known keys."""
    if spec is None:
        return {}
    if isinstance(spec, str):
        return {shorthand: spec}
    if not isinstance(spec, Mapping):
        fail(f"{where}: expected a mapping such as {example}, got {spec!r}")
    unknown = [k for k in spec if k not in keys]
    if unknown:
        fail(f"{where}: unknown key {unknown[0]!r}{did_you_mean(unknown[0], keys)} (allowed: {', '.join(keys)})")
    return spec


def _parse_measures(raw: Any, fail) -> tuple[list[str], dict[str, str], dict[str, str], dict[str, str]]:
    """``measures:`` as a list of built-in names, or a mapping name → {role, zone, label}."""
    if isinstance(raw, str):
        raw = [raw]
    if isinstance(raw, Mapping):
        specs = dict(raw)
    elif isinstance(raw, list) and raw:
        for m in raw:
            if not isinstance(m, str):
                fail(f"measure names must be identifiers, got {m!r}")
        dup = [m for m in raw if raw.count(m) > 1]
        if dup:
            fail(f"measure {dup[0]!r} is listed twice")
        specs = {m: None for m in raw}
    else:
        fail(f"measures must be a non-empty list or mapping, got {raw!r}")
    if not specs:
        fail("measures must list at least one measure")
    measures, roles, zone, labels = [], {}, {}, {}
    for name, spec in specs.items():
        if not isinstance(name, str) or not _ID_RE.match(name):
            fail(f"measure names must be identifiers, got {name!r}")
        default_role, default_zone = DEFAULT_ROLES.get(name, (None, None))
        spec = _entry(spec, "role", _MEASURE_KEYS, f"measure {name!r}", "{role: standard}", fail)
        role = spec.get("role", default_role)
        if role is None:
            fail(
                f"measure {name!r} has no role; say what it is, e.g. measures: {{{name}: {{role: performance}}}} "
                f"(roles: {', '.join(ROLES)}; built-in names with a known role: {', '.join(DEFAULT_ROLES)})"
            )
        if role not in ROLES:
            fail(f"measure {name!r}: role {role!r} is not one of {', '.join(ROLES)}{did_you_mean(role, ROLES)}")
        z = spec.get("zone", default_zone if "role" not in spec or spec.get("role") == default_role else None)
        if z is not None:
            if z not in ZONES:
                fail(f"measure {name!r}: zone {z!r} is not one of {', '.join(ZONES)}")
            if role != "standard":
                fail(f"measure {name!r}: only a standard bounds the zone of tolerance, but its role is {role!r}")
            if z in zone.values():
                fail(f"measure {name!r}: two measures are marked zone: {z}")
            zone[name] = z
        if "label" in spec:
            labels[name] = str(spec["label"])
        measures.append(name)
        roles[name] = role
    performance = [m for m in measures if roles[m] == "performance"]
    if len(performance) > 1:
        fail(f"measures {', '.join(map(repr, performance))} are all performance ratings; an instrument rates "
             "the service as it is once per item")
    if not performance and "agreement" not in roles.values():
        fail("no measure rates the service itself: give one measure role: performance (or role: agreement "
             f"for a climate survey); roles now: {', '.join(f'{m}: {r}' for m, r in roles.items())}")
    if len(zone) == 1:
        only = next(iter(zone))
        fail(f"measure {only!r} bounds a zone of tolerance alone; mark one standard zone: minimum and one zone: desired")
    return measures, roles, zone, labels


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

    # measures, each with its role
    measures, roles, zone, measure_labels = _parse_measures(raw["measures"], fail)

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
        minuend, subtrahend = match.groups()
        if roles[minuend] != "performance" or roles[subtrahend] not in ("standard", "importance"):
            fail(
                f"gap {name!r}: {expr!r} must read '<performance> - <standard>' (a negative gap is a "
                f"shortfall); {minuend!r} is a {roles[minuend]} measure and {subtrahend!r} a "
                f"{roles[subtrahend]} measure. Set each measure's role under measures:, e.g. "
                "measures: {ervaring: {role: performance}, verwachting: {role: standard}}"
            )
        gaps.append(Gap(name, match.group(1), match.group(2)))

    # items
    items_raw = raw["items"]
    if not isinstance(items_raw, Mapping) or not items_raw:
        fail("items must be a non-empty mapping of item id → {text, reverse}")
    item_specs: dict[str, tuple] = {}
    for item_id, spec in items_raw.items():
        if not isinstance(item_id, str) or not _ID_RE.match(item_id):
            fail(f"item id {item_id!r} must start with a letter and use letters, digits, _ or .")
        spec = _entry(spec, "text", _ITEM_KEYS, f"item {item_id}", "{text: …, reverse: false}", fail)
        reverse = spec.get("reverse", False)
        if not isinstance(reverse, bool):
            fail(f"item {item_id}: reverse must be true or false, got {reverse!r}")
        if reverse and scale is None and not isinstance(spec.get("scale"), Mapping):
            fail(
                f"item {item_id} is reverse-keyed but the instrument has no scale; "
                "reverse keying (x → min + max − x) needs scale min and max"
            )
        number = spec.get("number")
        if number is not None and (isinstance(number, bool) or not isinstance(number, (int, str))):
            fail(f"item {item_id}: number must be the study's question number (e.g. 8 or '8b'), got {number!r}")
        own_scale = _parse_scale(spec.get("scale"), f"item {item_id}.scale", source, fail)
        own_na = spec.get("not_applicable") or []
        own_na = own_na if isinstance(own_na, list) else [own_na]
        for code in own_na:
            if isinstance(code, bool) or not isinstance(code, (int, float, str)):
                fail(f"item {item_id}: not_applicable codes must be numbers or text, got {code!r}")
            item_scale = own_scale or scale
            if item_scale is not None and isinstance(code, (int, float)) and item_scale.min <= code <= item_scale.max:
                fail(f"item {item_id}: not_applicable code {code!r} lies inside its scale {item_scale}")
        sampled = spec.get("sampled", False)
        if not isinstance(sampled, bool):
            fail(f"item {item_id}: sampled must be true (shown to a random subset of respondents) or false, "
                 f"got {sampled!r}")
        item_specs[item_id] = (str(spec.get("text", "")), reverse, number, own_scale, tuple(own_na), sampled)

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
        item_id: Item(item_id, text, owner[item_id], index, reverse, number, own_scale, own_na, sampled)
        for index, (item_id, (text, reverse, number, own_scale, own_na, sampled)) in enumerate(item_specs.items(),
                                                                                            start=1)
    }
    if items and all(item.sampled for item in items.values()):
        fail("every item is marked sampled: true; keep the core items (shown to everyone) unmarked, so "
             "screening can tell an unanswered questionnaire from one that showed other items")
    numbers = [item.number for item in items.values() if item.number is not None]
    repeated = sorted({str(n) for n in numbers if numbers.count(n) > 1})
    if repeated:
        fail(f"item number {repeated[0]} is given to more than one item; each number names one question")

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
    if screening.max_inversions is not None and set(zone.values()) != set(ZONES):
        fail(
            "screening.max_inversions needs the measures 'minimum' and 'desired' (or two standards "
            "marked zone: minimum and zone: desired)"
        )
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
        total = weights_raw.get("total", 100)
        if isinstance(total, bool) or not isinstance(total, (int, float)) or not math.isfinite(total) or total <= 0:
            fail(f"weights.total must be a positive number of points such as 100, got {total!r}")
        weights_total = float(total)
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
    # SERVQUAL asks every expectation before every perception; other forms ask side by side
    default_layout = "blocks" if len(measures) == 2 and not zone and "importance" not in roles.values() \
        and any(r == "standard" for r in roles.values()) else "side_by_side"
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
        roles=MappingProxyType(roles),
        zone=MappingProxyType(zone),
        measure_labels=MappingProxyType(measure_labels),
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

    Examples
    --------
    >>> import servqual as sq
    >>> sq.list_instruments()['id'].tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['hpws-staff', 'importance-performance', 'library-core-22', 'library-lite-22', 'library-revised-25',
     'servperf-22', 'servqual-22-1988', 'servqual-22']
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

    Examples
    --------
    >>> import servqual as sq
    >>> inst = sq.load_instrument('library-core-22')
    >>> inst.performance, inst.standards, inst.has_zone_of_tolerance
    ('perceived', ('minimum', 'desired'), True)
    >>> [g.expression for g in inst.gaps]
    ['perceived - minimum', 'perceived - desired']
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
