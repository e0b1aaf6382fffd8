"""The pictures people expect from a service-quality survey.

Every function takes one of the package's tidy tables (``data=``), draws on ``ax`` (a
new figure when ``None``), labels everything from the instrument, returns the Axes (or
a Figure for several panels) and never shows, saves or sets a global theme.  Colours
come from the Okabe–Ito palette, safe for colour-blind readers.  :func:`alt_text` gives
the one-sentence description of any figure drawn here, for a report's alt text.

=========================  ==================================================  ==========================
function                   data                                                draws
=========================  ==================================================  ==========================
:func:`plot_radar`         ``gap_table`` (item or dimension level)             the segment radar chart
:func:`plot_profile`       ``gap_table``                                       aligned alternative to it
:func:`plot_gaps`          ``gap_table``                                       overall gap analysis
:func:`plot_zone_of_tolerance`  ``gap_table`` of a three-column instrument     thermometers
:func:`plot_ipa`           ``importance_performance``                          the IPA grid
:func:`plot_gap_heatmap`   ``gap_table`` by segment (or year)                  segment × dimension
:func:`plot_trend`         ``trend_table``                                     gaps across cycles
:func:`plot_likert`        ``rating_distribution``                             diverging stacked bars
=========================  ==================================================  ==========================
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .display import number
from .instrument import Instrument, load_instrument
from .scoring import HIDDEN_WITH_SMALLER

__all__ = [
    "COLORS",
    "alt_text",
    "plot_gap_heatmap",
    "plot_gaps",
    "plot_ipa",
    "plot_likert",
    "plot_linkage",
    "plot_profile",
    "plot_radar",
    "plot_trend",
    "plot_zone_of_tolerance",
]

#: Okabe–Ito colours, and the roles they play.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
COLORS = {
    "shortfall": "#D55E00",  # vermillion: performance below the standard
    "surplus": "#0072B2",  # blue
    "above_minimum": "#0072B2",  # LibQUAL blue: perceived at or above minimum
    "below_minimum": "#D55E00",  # LibQUAL red
    "below_desired": "#F0E442",  # LibQUAL yellow
    "above_desired": "#009E73",  # LibQUAL green
    "standard": "#555555",
    "suppressed": "#DDDDDD",
}
_DESCRIPTION = "_servqual_alt_text"


# --------------------------------------------------------------------------- helpers
#: Fonts tried after the default for letters it lacks (Korean, Chinese, Japanese, Arabic,
#: Cyrillic …); those not installed are skipped.  ``make setup`` installs Noto CJK.
FALLBACK_FONTS = ("Noto Sans CJK JP", "Noto Sans CJK KR", "Noto Sans CJK SC", "Noto Sans Arabic", "Noto Sans",
                  "Noto Sans Thai", "Noto Sans Hebrew")


@functools.lru_cache(maxsize=1)
def _font_family() -> tuple[str, ...]:
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    if not installed & set(FALLBACK_FONTS):
        # a font cache made before the fonts were installed: add them directly
        for path in font_manager.findSystemFonts():
            if "Noto" in path and ("CJK" in path or "Arabic" in path):
                with contextlib.suppress(Exception):
                    font_manager.fontManager.addfont(path)
        installed = {f.name for f in font_manager.fontManager.ttflist}
    return ("DejaVu Sans", *[name for name in FALLBACK_FONTS if name in installed])


@contextlib.contextmanager
def font_context():
    """Text drawn inside uses the default font with fallbacks for other scripts, so labels in
    Korean, Chinese, Japanese or Arabic render instead of empty boxes.  The plotting
    functions use it; wrap ``savefig`` in it too (tick labels are laid out at draw time).

    Examples
    --------
    >>> from servqual.plots import font_context
    >>> import matplotlib.pyplot as plt
    >>> with font_context():
    ...     family = plt.rcParams["font.family"]
    >>> family[0]
    'DejaVu Sans'
    """
    with plt.rc_context({"font.family": list(_font_family())}):
        yield


def _with_fonts(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with font_context():
            return func(*args, **kwargs)

    return wrapper


def alt_text(target: Axes | Figure) -> str:
    """The one-sentence description of a figure drawn by this module (for alt text).

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.plots import alt_text, plot_gaps
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> ax = plot_gaps(sq.gap_table(survey, level='dimension'), instrument=survey.instrument)
    >>> alt_text(ax).split(';')[0]
    'Bar chart of the gap for 5 dimensions: 5 fall short, the largest shortfall is Responsiveness (−1.58).'
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    text = getattr(target, _DESCRIPTION, None)
    if text is None and isinstance(target, Axes):
        text = getattr(target.figure, _DESCRIPTION, None)
    if text is None:
        raise ValueError("this figure was not drawn by servqual.plots; no description is stored")
    return text


def _describe(target, text: str) -> None:
    """Store a figure's alt text: its title first (which names the group and the year),
    then the description, with real minus signs."""
    figure = target if isinstance(target, Figure) else target.figure
    title = " ".join(((target.get_title() if isinstance(target, Axes) else "") or figure.get_suptitle()).split())
    if title and not text.startswith(title):
        text = f"{title}. {text}"
    setattr(target, _DESCRIPTION, re.sub(r"(?<![\w.])-(?=\d)", "\u2212", text))


def _instrument(instrument) -> Instrument:
    if instrument is None:
        raise ValueError("instrument= is needed to label the figure (an Instrument or a built-in id)")
    return load_instrument(instrument)


def _require(data: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{what} takes a pandas DataFrame as data=, got {type(data).__name__}")
    if data.empty:
        raise ValueError(f"{what}: data is empty")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ValueError(
            f"{what}: data lacks column(s) {', '.join(map(repr, missing))} "
            f"(it has {', '.join(map(str, data.columns))})"
        )


def _unit(data: pd.DataFrame) -> str:
    return "item" if "item" in data.columns else "dimension"


def _performance(inst: Instrument) -> str:
    """The measure a single-measure chart shows: the instrument's performance rating (by
    its role, never its name)."""
    return inst.performance


def _unit_label(inst: Instrument, unit: str, name: str, *, long: bool = False, width: int = 48) -> str:
    if unit == "dimension":
        return inst.dimension_label(name) if name in inst.dimensions else str(name).replace("_", " ").capitalize()
    if long and inst.items[name].text:
        text = inst.items[name].text.rstrip(".")
        return f"{name} {text if len(text) <= width else text[: width - 1] + '…'}"
    return name


def _gap_sign(inst: Instrument) -> int:
    """Presentation only: −1 for instruments whose reports print standard − performance."""
    return -1 if inst.gap_sign == "standard-minus-performance" else 1


def _gap_axis_label(inst: Instrument, gap_name: str) -> str:
    gap = inst.gap(gap_name)
    if _gap_sign(inst) < 0:
        return f"{gap.subtrahend} − {gap.minuend} (positive = shortfall)"
    return f"{gap.name} = {gap.minuend} − {gap.subtrahend} (negative = shortfall)"


def _ordered(data: pd.DataFrame, inst: Instrument, unit: str) -> list[str]:
    """Units in instrument order (items grouped by dimension, as a radar needs)."""
    present = set(data[unit])
    if unit == "item":
        order = [i for items in inst.dimensions.values() for i in items]
    else:
        order = list(inst.dimensions) + ["overall", "overall_weighted"]
    units = [u for u in order if u in present]
    unknown = present - set(units)
    if unknown:
        raise ValueError(f"data names {unit}(s) not in instrument {inst.id!r}: {', '.join(sorted(map(str, unknown)))}")
    return units


def _single(data: pd.DataFrame, unit: str, what: str, hue: str | None) -> None:
    if hue is not None:
        _require(data, [hue], what)
    keys = [unit] + ([hue] if hue else [])
    if data.duplicated(keys).any():
        raise ValueError(
            f"{what}: data has several rows per {unit}" + (f" and {hue}" if hue else "")
            + "; filter it to one group (e.g. data[data.segment == 'postgraduate']) or pass hue="
        )


def _new_ax(ax: Axes | None, *, polar: bool = False, figsize=(7, 5)) -> Axes:
    if ax is None:
        fig = plt.figure(figsize=figsize)
        return fig.add_subplot(projection="polar" if polar else None)
    if polar and ax.name != "polar":
        raise ValueError("plot_radar needs a polar Axes: plt.subplot(projection='polar')")
    return ax


# --------------------------------------------------------------------------- radar
@_with_fonts
def plot_radar(
    data: pd.DataFrame,
    *,
    instrument,
    hue: str | None = None,
    value: str | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    aligned: bool = False,
):
    """The radar chart: items (or dimensions) around the circle, grouped by dimension.

    Parameters
    ----------
    data
        A :func:`servqual.gap_table` at item or dimension level, filtered to one group
        (or with several groups in ``hue``).
    instrument
        The instrument (labels, scale, measures).
    hue
        A column whose levels each get a line of ``value`` (segments, years).
    value
        With ``hue``: the column drawn (default the performance measure).
    aligned
        Also draw the aligned alternative (:func:`plot_profile`) beside it; returns the
        Figure.

    Notes
    -----
    Three-column instruments show the LibQUAL colours on each spoke: blue from minimum to
    perceived, yellow from perceived up to desired, red where perceived falls below the
    minimum, green where it rises above desired — so the blue-and-yellow band is the zone
    of tolerance.  Expectation/perception instruments show both lines with the gap shaded
    (vermillion where perception falls short).

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.plots import alt_text, plot_radar
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> ax = plot_radar(sq.gap_table(survey), instrument=survey.instrument)
    >>> sorted({line.get_gid() for line in ax.lines if line.get_gid()})
    ['expectation', 'perception']
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    inst = _instrument(instrument)
    unit = _unit(data)
    _require(data, [unit], "plot_radar")
    if aligned:
        fig = plt.figure(figsize=(13, 6))
        polar = fig.add_subplot(1, 2, 1, projection="polar")
        flat = fig.add_subplot(1, 2, 2)
        plot_radar(data, instrument=inst, hue=hue, value=value, ax=polar, title=title)
        plot_profile(data, instrument=inst, hue=hue, value=value, ax=flat)
        _describe(fig, alt_text(polar) + " Beside it, the same values on aligned scales.")
        return fig
    _single(data, unit, "plot_radar", hue)
    ax = _new_ax(ax, polar=True, figsize=(7, 7))
    units = _ordered(data, inst, unit)
    k = len(units)
    theta = np.linspace(0, 2 * np.pi, k, endpoint=False)
    closed = np.r_[theta, theta[:1]]
    lo, hi = (inst.scale.min, inst.scale.max) if inst.scale else (None, None)
    perf = _performance(inst)

    def series(column: str, frame: pd.DataFrame = data) -> np.ndarray:
        values = frame.set_index(unit).reindex(units)[column].to_numpy(dtype=float)
        return np.r_[values, values[:1]]

    description: str
    if hue is not None:
        _require(data, [hue], "plot_radar")
        value = value or perf
        _require(data, [value], "plot_radar")
        levels = list(pd.unique(data[hue].dropna()))
        for j, level in enumerate(levels):
            ax.plot(closed, series(value, data[data[hue] == level]), color=OKABE_ITO[j % len(OKABE_ITO)],
                    linewidth=2, label=str(level), marker="o", markersize=3)
        description = f"Radar chart of {value} by {hue} ({', '.join(map(str, levels))}) for {k} {unit}s."
    elif inst.has_zone_of_tolerance:
        mn, ds = inst.minimum, inst.desired
        _require(data, [mn, ds, perf], "plot_radar")
        r_min, r_des, r_per = series(mn), series(ds), series(perf)
        pl, ml, dl = inst.measure_label(perf), inst.measure_label(mn), inst.measure_label(ds)
        layers = [
            ("above_minimum", r_min, np.minimum(r_per, r_des), r_per >= r_min, f"{pl} at or above {ml}"),
            ("below_desired", np.maximum(r_per, r_min), r_des, r_per < r_des, f"{pl} below {dl}"),
            ("below_minimum", r_per, r_min, r_per < r_min, f"{pl} below {ml}"),
            ("above_desired", r_des, r_per, r_per > r_des, f"{pl} above {dl}"),
        ]
        for key, inner, outer, where, label in layers:
            ax.fill_between(closed, inner, outer, where=where, color=COLORS[key], alpha=0.85, label=label,
                            interpolate=True, linewidth=0, gid=key)
        ax.plot(closed, r_min, color=COLORS["standard"], linewidth=0.8, linestyle="--", label=ml, gid="minimum")
        ax.plot(closed, r_des, color=COLORS["standard"], linewidth=0.8, linestyle=":", label=dl, gid="desired")
        ax.plot(closed, r_per, color="black", linewidth=1.5, label=pl, gid=perf)
        below = [u for u, p, m in zip(units, r_per, r_min) if p < m]
        description = (
            f"Radar chart of the zone of tolerance for {k} {unit}s: "
            + (f"{pl} service falls below the {ml} on {len(below)} ({', '.join(below[:5])})."
               if below else f"{pl} service is at or above the {ml} everywhere.")
        )
    elif inst.gaps:
        gap = inst.gaps[0]
        _require(data, [gap.minuend, gap.subtrahend], "plot_radar")
        r_p, r_s = series(gap.minuend), series(gap.subtrahend)
        ax.fill_between(closed, r_p, r_s, where=r_p < r_s, color=COLORS["shortfall"], alpha=0.35,
                        interpolate=True, linewidth=0, label="shortfall", gid="shortfall")
        ax.fill_between(closed, r_s, r_p, where=r_p >= r_s, color=COLORS["above_desired"], alpha=0.35,
                        interpolate=True, linewidth=0, label="exceeds", gid="exceeds")
        ax.plot(closed, r_s, color=COLORS["standard"], linewidth=1.5, linestyle="--", label=gap.subtrahend,
                gid=gap.subtrahend)
        ax.plot(closed, r_p, color=COLORS["surplus"], linewidth=2, label=gap.minuend, gid=gap.minuend)
        diff = r_p[:-1] - r_s[:-1]
        short = int((diff < 0).sum())
        worst = units[int(np.nanargmin(diff))]
        description = (f"Radar chart of {gap.subtrahend} and {gap.minuend} for {k} {unit}s; "
                       f"{gap.minuend} falls short on {short} of them, most on "
                       f"{_unit_label(inst, unit, worst)} ({diff.min():+.2f}).")
    else:
        _require(data, [perf], "plot_radar")
        ax.plot(closed, series(perf), color=COLORS["surplus"], linewidth=2, label=perf, gid=perf)
        description = f"Radar chart of {perf} for {k} {unit}s."
    ax.set_xticks(theta)
    ax.set_xticklabels([_unit_label(inst, unit, u) for u in units], fontsize=8 if k > 12 else 10)
    if lo is not None:
        ax.set_ylim(lo, hi)
        ax.set_yticks(range(lo, hi + 1))
        ax.tick_params(axis="y", labelsize=7)
    if unit == "item":
        # dimension names around the outside, at the middle of their items
        for dim, items in inst.dimensions.items():
            angles = [theta[units.index(i)] for i in items if i in units]
            if angles:
                mid = float(np.angle(np.mean(np.exp(1j * np.array(angles)))))
                ax.text(mid, (hi if hi is not None else ax.get_ylim()[1]) * 1.22, inst.dimension_label(dim),
                        ha="center", va="center", fontsize=9, fontweight="bold", gid=f"dimension:{dim}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.08, 1.05), fontsize=8, frameon=False)
    if title:
        ax.set_title(title, pad=55)
    _describe(ax, description)
    return ax


@_with_fonts
def plot_profile(
    data: pd.DataFrame,
    *,
    instrument,
    hue: str | None = None,
    value: str | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """The radar's values on aligned horizontal scales (a dumbbell chart), easier to compare.

    Each item or dimension is a row: the standard and the performance as dots joined by
    a line (vermillion where performance falls short), or one dot per ``hue`` level.

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.plots import plot_profile
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> ax = plot_profile(sq.gap_table(survey, level='dimension'), instrument=survey.instrument)
    >>> len(ax.get_yticklabels())
    5
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    inst = _instrument(instrument)
    unit = _unit(data)
    _require(data, [unit], "plot_profile")
    _single(data, unit, "plot_profile", hue)
    units = _ordered(data, inst, unit)
    ax = _new_ax(ax, figsize=(7, max(3, 0.32 * len(units) + 1)))
    y = np.arange(len(units))[::-1]
    perf = _performance(inst)
    if hue is not None:
        value = value or perf
        _require(data, [hue, value], "plot_profile")
        for j, level in enumerate(pd.unique(data[hue].dropna())):
            part = data[data[hue] == level].set_index(unit).reindex(units)
            ax.scatter(part[value], y, color=OKABE_ITO[j % len(OKABE_ITO)], label=str(level), zorder=3)
        description = f"Dot chart of {value} by {hue} for {len(units)} {unit}s."
    else:
        standard = inst.principal_standard
        frame = data.set_index(unit).reindex(units)
        p = frame[perf].to_numpy(dtype=float)
        if standard:
            s = frame[standard].to_numpy(dtype=float)
            for yy, a, b in zip(y, s, p):
                ax.plot([a, b], [yy, yy], color=COLORS["shortfall"] if b < a else COLORS["above_desired"],
                        linewidth=2, zorder=1)
            ax.scatter(s, y, color=COLORS["standard"], label=standard, zorder=3, marker="|", s=120)
        ax.scatter(p, y, color=COLORS["surplus"], label=perf, zorder=3)
        description = f"Dot chart of {perf}" + (f" against {standard}" if standard else "") + f" for {len(units)} {unit}s."
    ax.set_yticks(y)
    ax.set_yticklabels([_unit_label(inst, unit, u, long=True, width=40) for u in units], fontsize=8)
    if inst.scale:
        ax.set_xlim(inst.scale.min - 0.2, inst.scale.max + 0.2)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    if title:
        ax.set_title(title)
    _describe(ax, description)
    return ax


# --------------------------------------------------------------------------- gap bars
@_with_fonts
def plot_gaps(
    data: pd.DataFrame,
    *,
    instrument,
    gap: str | None = None,
    col: str | None = None,
    ax: Axes | None = None,
    sort: bool = True,
    title: str | None = None,
    col_wrap: int | None = None,
):
    """The overall gap analysis: horizontal bars sorted by gap, with CI whiskers.

    Parameters
    ----------
    data
        A :func:`servqual.gap_table` (item or dimension level).
    gap
        Which gap (default the instrument's first).
    col
        Facet column (e.g. ``"segment"``): one panel per level, returns a Figure.
    col_wrap
        With ``col``: at most this many panels per row (as seaborn's ``col_wrap``).
    sort
        Largest shortfall at the top (default); ``False`` keeps questionnaire order.

    Notes
    -----
    Shortfalls are drawn in vermillion, the rest in blue; labels carry n.  Instruments
    whose reports print standard − performance (``gap_sign``) are shown that way, with
    the axis saying which direction is bad.

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.plots import plot_gaps
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> ax = plot_gaps(sq.gap_table(survey), instrument=survey.instrument)
    >>> len(ax.patches)
    22
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    inst = _instrument(instrument)
    if not inst.gaps:
        raise ValueError(f"instrument {inst.id!r} has no gaps to draw")
    gap = gap or inst.gaps[0].name
    inst.gap(gap)
    unit = _unit(data)
    _require(data, [unit, gap, f"{gap}_ci_low", f"{gap}_ci_high"], "plot_gaps")
    if col is not None:
        _require(data, [col], "plot_gaps")
        levels = list(pd.unique(data[col].dropna()))
        n_units = data[unit].nunique()
        per_row = min(len(levels), col_wrap or len(levels))
        rows = -(-len(levels) // per_row)
        width = 3.55 if unit == "dimension" else 4.2
        fig, axes = plt.subplots(rows, per_row, figsize=(width * per_row, rows * (0.3 * n_units + 1.8)),
                                 sharex=True, squeeze=False)
        flat = list(axes.ravel())
        for a, level in zip(flat, levels):
            plot_gaps(data[data[col] == level], instrument=inst, gap=gap, ax=a, sort=sort, title=str(level))
        for a in flat[len(levels):]:
            a.set_visible(False)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        _describe(fig, f"Gap analysis by {col}: one panel per {col} ({', '.join(map(str, levels))}).")
        return fig
    _single(data, unit, "plot_gaps", None)
    frame = data.set_index(unit).reindex(_ordered(data, inst, unit))
    frame = frame[frame[gap].notna()]
    if frame.empty:
        raise ValueError("plot_gaps: every gap in data is missing (suppressed groups?)")
    sign = _gap_sign(inst)
    values = sign * frame[gap].to_numpy(dtype=float)
    low = sign * frame[f"{gap}_ci_low"].to_numpy(dtype=float)
    high = sign * frame[f"{gap}_ci_high"].to_numpy(dtype=float)
    low, high = np.minimum(low, high), np.maximum(low, high)
    order = np.argsort(sign * values, kind="stable")[::-1] if sort else np.arange(len(values))[::-1]
    shortfall = (values < 0) if sign > 0 else (values > 0)
    ax = _new_ax(ax, figsize=(8, max(3, 0.34 * len(values) + 1.2)))
    y = np.arange(len(values))
    names = list(frame.index)
    ns = frame["n"] if "n" in frame.columns else pd.Series(np.nan, index=frame.index)
    colors = [COLORS["shortfall"] if shortfall[i] else COLORS["surplus"] for i in order]
    ax.barh(y, values[order], color=colors,
            xerr=[values[order] - low[order], high[order] - values[order]],
            error_kw={"ecolor": "#333333", "capsize": 3, "linewidth": 1})
    labels = [
        f"{_unit_label(inst, unit, names[i], long=True, width=38)} (n = {int(ns.iloc[i])})" if pd.notna(ns.iloc[i])
        else _unit_label(inst, unit, names[i], long=True, width=38)
        for i in order
    ]
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(_gap_axis_label(inst, gap))
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title)
    worst = names[order[-1]] if sort else names[int(np.argmin(sign * values))]
    _describe(ax, (
        f"Bar chart of the {gap} for {len(values)} {unit}s: {int(shortfall.sum())} fall short, "
        f"the largest shortfall is {_unit_label(inst, unit, worst, long=True, width=80)} "
        f"({frame.loc[worst, gap]:+.2f})."
    ))
    return ax


# --------------------------------------------------------------------------- zone of tolerance
@_with_fonts
def plot_zone_of_tolerance(data: pd.DataFrame, *, instrument, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Per item the minimum–desired band (thermometer) with the perceived marker.

    Markers are blue inside the zone, vermillion below the minimum (also marked ▼) and
    green above desired (▲).  Needs a three-column instrument.

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.plots import plot_zone_of_tolerance
    >>> core = sq.read_cycle('params/library-core-2007.yaml')
    >>> ax = plot_zone_of_tolerance(sq.gap_table(core), instrument=core.instrument)
    >>> len(ax.get_yticklabels())
    22
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    inst = _instrument(instrument)
    if not inst.has_zone_of_tolerance:
        raise ValueError(f"instrument {inst.id!r} asks no minimum and desired levels: no zone of tolerance to draw")
    unit = _unit(data)
    perf = _performance(inst)
    mn, ds = inst.minimum, inst.desired
    pl, ml, dl = inst.measure_label(perf), inst.measure_label(mn), inst.measure_label(ds)
    _require(data, [unit, mn, ds, perf], "plot_zone_of_tolerance")
    _single(data, unit, "plot_zone_of_tolerance", None)
    units = _ordered(data, inst, unit)
    frame = data.set_index(unit).reindex(units)
    ax = _new_ax(ax, figsize=(8, max(3, 0.32 * len(units) + 1.2)))
    y = np.arange(len(units))[::-1]
    lo, de, pe = (frame[c].to_numpy(dtype=float) for c in (mn, ds, perf))
    ax.barh(y, de - lo, left=lo, height=0.55, color=COLORS["above_minimum"], alpha=0.3,
            edgecolor=COLORS["above_minimum"], label=f"zone of tolerance ({ml} to {dl})")
    status = np.where(pe < lo, "below_minimum", np.where(pe > de, "above_desired", "above_minimum"))
    ax.scatter(pe, y, c=[COLORS[s] for s in status], zorder=3, s=40, edgecolors="black", linewidths=0.5,
               label=pl)
    labels = []
    for u, s in zip(units, status):
        mark = " ▼" if s == "below_minimum" else (" ▲" if s == "above_desired" else "")
        labels.append(_unit_label(inst, unit, u, long=True, width=40) + mark)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    if inst.scale:
        ax.set_xlim(inst.scale.min - 0.2, inst.scale.max + 0.2)
    ax.set_xlabel(f"rating ({inst.scale})" if inst.scale else "rating")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(handles=[
        Patch(color=COLORS["above_minimum"], alpha=0.3, label="zone of tolerance"),
        Patch(color=COLORS["below_minimum"], label=f"{pl} below {ml} ▼"),
        Patch(color=COLORS["above_desired"], label=f"{pl} above {dl} ▲"),
    ], loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3, fontsize=8, frameon=False)
    if title:
        ax.set_title(title)
    below = [u for u, s in zip(units, status) if s == "below_minimum"]
    _describe(ax, (
        f"Zone of tolerance for {len(units)} {unit}s: {pl} service is below the {ml} on "
        f"{len(below)}" + (f" ({', '.join(below[:5])})" if below else "") + f" and above {dl} on "
        f"{int((status == 'above_desired').sum())}."
    ))
    return ax


# --------------------------------------------------------------------------- IPA
def _spread_labels(ax: Axes, xs, ys, texts, fontsize: float = 7) -> list:
    """Place labels beside their points without overlapping one another.

    Greedy, in display space, measuring each label with the renderer: a label tries
    the right of its point, then steps up and down (and then the left side) until its
    box is free; a thin leader line joins displaced labels to their points.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    to_data = ax.transData.inverted().transform
    placed = []
    artists = []
    step = fontsize * fig.dpi / 72 * 1.1
    offsets = [(dx, dy * step) for dx in (6, -6) for k in range(0, 40) for dy in ((k + 1) // 2 * (1 if k % 2 else -1),)]
    for x, y, text in sorted(zip(xs, ys, texts), key=lambda t: (-t[1], t[0])):
        px, py = ax.transData.transform((x, y))
        label = ax.text(x, y, text, fontsize=fontsize, va="center", ha="left")
        for dx, dy in offsets:
            lx, ly = to_data((px + dx, py + dy))
            label.set_position((lx, ly))
            label.set_horizontalalignment("left" if dx > 0 else "right")
            box = label.get_window_extent(renderer).expanded(1.05, 1.1)
            if not any(box.overlaps(other) for other in placed):
                break
        placed.append(box)
        if abs(ly - y) > 1e-12:
            ax.plot([x, lx], [y, ly], color="#999999", linewidth=0.5, zorder=2)
        artists.append(label)
    return artists


@_with_fonts
def plot_ipa(
    data: pd.DataFrame,
    *,
    instrument=None,
    x: str = "performance",
    y: str = "importance",
    ax: Axes | None = None,
    labels: bool = True,
    title: str | None = None,
) -> Axes:
    """The importance–performance grid: points, crosshairs, quadrant names, item labels.

    Parameters
    ----------
    data
        A :func:`servqual.importance_performance` table for one group (its ``x_cross``
        and ``y_cross`` place the crosshairs).
    y
        ``"importance"`` (the kind chosen when the table was made), or
        ``"importance_stated"`` / ``"importance_derived"``.

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.plots import plot_ipa
    >>> ipa = sq.read_cycle('params/ipa-2007.yaml')
    >>> ax = plot_ipa(sq.importance_performance(ipa), instrument=ipa.instrument)
    >>> ax.get_xlabel()
    'performance (performance)'
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    unit = _unit(data)
    _require(data, [unit, x, y, "x_cross", "y_cross"], "plot_ipa")
    _single(data, unit, "plot_ipa", None)
    inst = load_instrument(instrument) if instrument is not None else None
    frame = data[data[x].notna() & data[y].notna()]
    if frame.empty:
        raise ValueError("plot_ipa: no point has both performance and importance (suppressed group?)")
    ax = _new_ax(ax, figsize=(8, 6.5))
    x_cross, y_cross = float(frame["x_cross"].iloc[0]), float(frame["y_cross"].iloc[0])
    if y != "importance":
        y_cross = float(frame[y].mean())
    quadrant_colors = {"concentrate here": COLORS["shortfall"], "keep up the good work": COLORS["above_desired"],
                       "low priority": "#999999", "possible overkill": COLORS["above_minimum"]}
    colors = [quadrant_colors.get(q, "#333333") for q in frame.get("quadrant", [""] * len(frame))]
    ax.scatter(frame[x], frame[y], c=colors, s=36, zorder=3, edgecolors="black", linewidths=0.4)
    ax.axvline(x_cross, color="#444444", linewidth=1, linestyle="--", gid="x_cross")
    ax.axhline(y_cross, color="#444444", linewidth=1, linestyle="--", gid="y_cross")
    xmin, xmax = frame[x].min(), frame[x].max()
    ymin, ymax = frame[y].min(), frame[y].max()
    pad_x, pad_y = (xmax - xmin) * 0.15 + 0.05, (ymax - ymin) * 0.15 + 0.02
    ax.set_xlim(min(xmin, x_cross) - pad_x, max(xmax, x_cross) + pad_x * 2.2)
    ax.set_ylim(min(ymin, y_cross) - pad_y, max(ymax, y_cross) + pad_y)
    corners = {"concentrate here": (0.02, 0.98, "left", "top"), "keep up the good work": (0.98, 0.98, "right", "top"),
               "low priority": (0.02, 0.02, "left", "bottom"), "possible overkill": (0.98, 0.02, "right", "bottom")}
    for name, (cx, cy, ha, va) in corners.items():
        ax.text(cx, cy, name.capitalize(), transform=ax.transAxes, ha=ha, va=va, fontsize=10, fontweight="bold",
                color=quadrant_colors[name], gid=f"quadrant:{name}")
    if labels:
        names = [str(u) for u in frame[unit]]
        _spread_labels(ax, frame[x].to_numpy(float), frame[y].to_numpy(float), names)
    ax.set_xlabel(f"performance ({_performance(inst)})" if inst else "performance")
    derived = y == "importance_derived" or (
        y == "importance" and "importance_derived" in frame.columns and frame[y].equals(frame["importance_derived"]))
    source = str(frame["importance_source"].iloc[0]) if "importance_source" in frame.columns else ""
    ax.set_ylabel("derived importance (r with overall satisfaction)" if derived
                  else f"stated importance ({source})" if source else y.replace("_", " "))
    if title:
        ax.set_title(title)
    focus = [str(u) for u, q in zip(frame[unit], frame.get("quadrant", [])) if q == "concentrate here"]
    _describe(ax, (
        f"Importance–performance grid of {len(frame)} {unit}s; {len(focus)} fall in 'concentrate here'"
        + (f" ({', '.join(focus[:6])})." if focus else ".")
    ))
    return ax


# --------------------------------------------------------------------------- heatmap
@_with_fonts
def plot_gap_heatmap(
    data: pd.DataFrame,
    *,
    instrument,
    index: str = "segment",
    columns: str | None = None,
    value: str | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Segment (or year) × dimension heatmap of gaps, centred at zero, annotated.

    Rows suppressed for being too small (``suppressed`` in the table, or a missing
    value) are drawn grey, hatched and marked "n < min" (or "hidden": suppressed with a
    smaller group so that it cannot be recovered from the total).

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.plots import plot_gap_heatmap
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> table = sq.gap_table(survey, level='dimension', by='segment')
    >>> ax = plot_gap_heatmap(table, instrument=survey.instrument, index='segment')
    >>> len(ax.texts) >= 20
    True
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    inst = _instrument(instrument)
    columns = columns or _unit(data)
    value = value or inst.primary
    _require(data, [index, columns, value], "plot_gap_heatmap")
    sign = _gap_sign(inst) if inst.gaps and value in [g.name for g in inst.gaps] else 1
    table = data.pivot_table(index=index, columns=columns, values=value, aggfunc="first", dropna=False,
                             observed=True)
    order = _ordered(data, inst, columns) if columns in ("item", "dimension") else list(table.columns)
    table = table.reindex(columns=order) * sign
    suppressed = pd.DataFrame(False, index=table.index, columns=table.columns)
    if "suppressed" in data.columns:
        flags = data.pivot_table(index=index, columns=columns, values="suppressed", aggfunc="first", observed=True)
        suppressed = flags.reindex(index=table.index, columns=table.columns).fillna(False).astype(bool)
    hidden = pd.DataFrame(False, index=table.index, columns=table.columns)  # hidden alongside a smaller group
    if "suppressed_reason" in data.columns:
        flags = data.assign(_hidden=data["suppressed_reason"] == HIDDEN_WITH_SMALLER).pivot_table(
            index=index, columns=columns, values="_hidden", aggfunc="first", observed=True)
        hidden = flags.reindex(index=table.index, columns=table.columns).fillna(False).astype(bool)
    ax = _new_ax(ax, figsize=(1.3 * len(order) + 2.5, 0.55 * len(table) + 1.8))
    finite = table.to_numpy(dtype=float)
    bound = np.nanmax(np.abs(finite)) if np.isfinite(finite).any() else 1.0
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound)
    cmap = plt.get_cmap("PuOr_r" if sign < 0 else "PuOr")
    image = ax.imshow(np.ma.masked_invalid(finite), cmap=cmap, norm=norm, aspect="auto")
    for (r, c), v in np.ndenumerate(finite):
        if suppressed.iat[r, c] or np.isnan(v):
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=COLORS["suppressed"], hatch="///",
                                       edgecolor="white", gid="suppressed"))
            ax.text(c, r, ("hidden" if hidden.iat[r, c] else "n < min") if suppressed.iat[r, c] else "–",
                    ha="center", va="center", fontsize=8, color="#555555")
        else:
            ax.text(c, r, number(v, signed=True), ha="center", va="center", fontsize=9,
                    color="white" if abs(v) > 0.6 * bound else "black")
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels([_unit_label(inst, columns, u) if columns in ("item", "dimension") else str(u) for u in order],
                       rotation=30, ha="right")
    ax.set_yticks(range(len(table.index)))
    ax.set_yticklabels([str(i) for i in table.index])
    bar = ax.figure.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label(_gap_axis_label(inst, value) if sign and value in [g.name for g in inst.gaps] else value)
    if title:
        ax.set_title(title)
    worst = np.unravel_index(np.nanargmin(finite * sign), finite.shape) if np.isfinite(finite).any() else None
    _describe(ax, (
        f"Heatmap of {value} by {index} and {columns}"
        + (f"; the largest shortfall is {table.index[worst[0]]} on "
           f"{_unit_label(inst, columns, order[worst[1]]) if columns in ('item', 'dimension') else order[worst[1]]}."
           if worst is not None else ".")
    ))
    return ax


# --------------------------------------------------------------------------- trend
@_with_fonts
def plot_trend(
    data: pd.DataFrame,
    *,
    instrument,
    value: str | None = None,
    x: str = "year",
    hue: str = "dimension",
    col: str | None = None,
    ax: Axes | None = None,
    title: str | None = None,
):
    """Gaps (or any score) across survey cycles with confidence intervals.

    Parameters
    ----------
    data
        A :func:`servqual.trend_table` (or any table with ``year``, ``hue`` and the
        value with its ``_ci_low``/``_ci_high``).
    col
        Facet column (e.g. ``"segment"``): one panel per level, returns a Figure.
    col_wrap
        With ``col``: at most this many panels per row (as seaborn's ``col_wrap``).

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.plots import plot_trend
    >>> cycles = [sq.read_cycle(f'params/{y}.yaml') for y in (2005, 2006, 2007)]
    >>> ax = plot_trend(sq.trend_table(cycles, level='dimension'), instrument=cycles[0].instrument)
    >>> len(ax.lines) >= 5
    True
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    inst = _instrument(instrument)
    value = value or inst.primary
    _require(data, [x, hue, value], "plot_trend")
    if col is not None:
        _require(data, [col], "plot_trend")
        levels = list(pd.unique(data[col].dropna()))
        fig, axes = plt.subplots(1, len(levels), figsize=(4.5 * len(levels), 4), sharey=True, squeeze=False)
        for a, level in zip(axes[0], levels):
            plot_trend(data[data[col] == level], instrument=inst, value=value, x=x, hue=hue, ax=a, title=str(level))
        fig.tight_layout()
        _describe(fig, f"{value} across {x}s, one panel per {col}.")
        return fig
    if data.duplicated([x, hue]).any():
        raise ValueError(f"plot_trend: several rows per {x} and {hue}; filter to one group or pass col=")
    ax = _new_ax(ax, figsize=(7, 4.5))
    sign = _gap_sign(inst) if value in [g.name for g in inst.gaps] else 1
    levels = _ordered(data, inst, hue) if hue in ("item", "dimension") else list(pd.unique(data[hue]))
    for j, level in enumerate(levels):
        part = data[data[hue] == level].sort_values(x)
        xv = part[x].to_numpy(dtype=float)
        yv = sign * part[value].to_numpy(dtype=float)
        kwargs = {"color": OKABE_ITO[j % len(OKABE_ITO)], "marker": "o", "linewidth": 1.8, "capsize": 3}
        label = _unit_label(inst, hue, level) if hue in ("item", "dimension") else str(level)
        if f"{value}_ci_low" in part.columns:
            lo_ = sign * part[f"{value}_ci_low"].to_numpy(dtype=float)
            hi_ = sign * part[f"{value}_ci_high"].to_numpy(dtype=float)
            ax.errorbar(xv, yv, yerr=[yv - np.minimum(lo_, hi_), np.maximum(lo_, hi_) - yv], label=label, **kwargs)
        else:
            kwargs.pop("capsize")
            ax.plot(xv, yv, label=label, **kwargs)
    if value in [g.name for g in inst.gaps]:
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylabel(_gap_axis_label(inst, value))
    else:
        ax.set_ylabel(value)
    years = sorted(int(v) for v in pd.unique(data[x].dropna()))
    ax.set_xticks(years)
    ax.set_xlabel(x)
    ax.legend(fontsize=8, frameon=False, loc="best")
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    first, last = years[0], years[-1]
    mean_first = data.loc[data[x] == first, value].mean()
    mean_last = data.loc[data[x] == last, value].mean()
    _describe(ax, (
        f"{value.capitalize()} of {len(levels)} {hue}s from {first} to {last}; on average it moved from "
        f"{mean_first:+.2f} to {mean_last:+.2f}."
    ))
    return ax


# --------------------------------------------------------------------------- Likert
@_with_fonts
def plot_likert(data: pd.DataFrame, *, instrument, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Diverging stacked bars of the rating distribution per item, N/A shown apart.

    Parameters
    ----------
    data
        A :func:`servqual.scoring.rating_distribution` table for one group.

    Notes
    -----
    Ratings below the scale midpoint extend left of zero, those above extend right; a
    middle rating (odd scales) is split across zero.  The N/A share is a separate grey
    bar to the right of the 100% line.

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.plots import plot_likert
    >>> from servqual.scoring import rating_distribution
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> ax = plot_likert(rating_distribution(survey), instrument=survey.instrument)
    >>> len(ax.get_yticklabels())
    22
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    inst = _instrument(instrument)
    _require(data, ["item", "rating", "share", "na_share"], "plot_likert")
    if data.duplicated(["item", "rating"]).any():
        raise ValueError("plot_likert: several rows per item and rating; filter the table to one group")
    items = _ordered(data, inst, "item")
    points = sorted(pd.unique(data["rating"]))
    share = data.pivot(index="item", columns="rating", values="share").reindex(index=items, columns=points).fillna(0)
    na_share = data.groupby("item")["na_share"].first().reindex(items).fillna(0)
    mid = (min(points) + max(points)) / 2
    cmap = plt.get_cmap("BrBG")
    colors = {p: cmap((p - min(points)) / (max(points) - min(points))) for p in points}
    ax = _new_ax(ax, figsize=(9, max(3, 0.3 * len(items) + 1.5)))
    y = np.arange(len(items))[::-1]
    left_edge = -(share[[p for p in points if p < mid]].sum(axis=1) + (share[mid] / 2 if mid in points else 0))
    start = left_edge.to_numpy()
    for p in points:
        width = share[p].to_numpy()
        ax.barh(y, width, left=start, color=colors[p], edgecolor="white", linewidth=0.3,
                label=str(inst.scale.labels.get(p, p)) if inst.scale else str(p), gid=f"rating:{p}")
        start = start + width
    ax.barh(y, na_share.to_numpy(), left=1.08, color="#BBBBBB", label="N/A", gid="not_applicable")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.axvline(1.04, color="#999999", linewidth=0.5, linestyle=":")
    ax.set_yticks(y)
    ax.set_yticklabels([_unit_label(inst, "item", i, long=True, width=40) for i in items], fontsize=8)
    ax.set_xlim(-1.02, 1.08 + max(0.12, float(na_share.max()) + 0.02))
    ticks = [-1, -0.5, 0, 0.5, 1]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{abs(t):.0%}" for t in ticks])
    ax.set_xlabel("share of ratings (left: below the midpoint, right: above); N/A share apart")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=min(len(points) + 1, 10), fontsize=7,
              frameon=False)
    if title:
        ax.set_title(title)
    positive = share[[p for p in points if p > mid]].sum(axis=1)
    best = positive.idxmax()
    _describe(ax, (
        f"Diverging bars of the rating distribution of {len(items)} items; "
        f"{_unit_label(inst, 'item', best, long=True, width=80)} has the most ratings above the midpoint "
        f"({positive[best]:.0%})."
    ))
    return ax


# --------------------------------------------------------------------------- linkage
@_with_fonts
def plot_linkage(
    data: pd.DataFrame,
    *,
    x: str = "climate",
    y: str = "client_gap",
    unit: str | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Units placed by staff climate (x) and their clients' gap (y), with the line across units.

    Parameters
    ----------
    data
        ``LinkageResult.units``: one row per unit.
    unit
        The unit column (default the first column).

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.linkage import link
    >>> from servqual.plots import plot_linkage
    >>> result = link(sq.read_cycle('params/staff-hpws-2007.yaml'), sq.read_cycle('params/2007.yaml'))
    >>> ax = plot_linkage(result.units, unit='branch')
    >>> len(ax.collections[0].get_offsets())
    4
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    unit = unit or str(data.columns[0])
    _require(data, [unit, x, y], "plot_linkage")
    if len(data) < 2:
        raise ValueError("plot_linkage needs at least two units")
    ax = _new_ax(ax, figsize=(6.5, 5))
    xs, ys = data[x].to_numpy(float), data[y].to_numpy(float)
    sizes = 30 + 120 * (data["client_n"] / data["client_n"].max()) if "client_n" in data.columns else 60
    ax.scatter(xs, ys, s=sizes, color=COLORS["surplus"], edgecolors="black", linewidths=0.5, zorder=3)
    slope, intercept = np.polyfit(xs, ys, 1)
    grid = np.linspace(xs.min(), xs.max(), 50)
    ax.plot(grid, intercept + slope * grid, color=COLORS["standard"], linestyle="--", linewidth=1, gid="fit")
    for xv, yv, name in zip(xs, ys, data[unit]):
        ax.annotate(str(name), (xv, yv), xytext=(6, 4), textcoords="offset points", fontsize=9)
    if y.endswith("gap"):
        ax.axhline(0, color="black", linewidth=0.6)
    r = float(np.corrcoef(xs, ys)[0, 1])
    ax.set_xlabel("staff climate (HPWS, mean of the characteristics)")
    ax.set_ylabel({"client_gap": "clients' overall gap (negative = shortfall)",
                   "client_perception": "clients' overall perception"}.get(y, y))
    ax.text(0.02, 0.98, f"r = {number(r)} across {len(data)} units", transform=ax.transAxes, va="top", fontsize=9)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    _describe(ax, (f"Scatter of {len(data)} units by staff climate and clients' {y.replace('client_', '')}; "
                   f"r = {r:.2f}."))
    return ax
