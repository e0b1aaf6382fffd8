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
:func:`plot_gap_radar`     ``gap_table`` with several groups                    gaps around a zero ring
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
import textwrap
from collections.abc import Sequence

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import Bbox

from .display import number
from .instrument import Instrument, load_instrument
from .scoring import HIDDEN_WITH_SMALLER

__all__ = [
    "COLORS",
    "MEASURE_COLORS",
    "STATUS_COLORS",
    "alt_text",
    "contrast_ratio",
    "plot_gap_heatmap",
    "plot_gap_radar",
    "plot_gaps",
    "plot_ipa",
    "plot_likert",
    "plot_linkage",
    "plot_peers",
    "plot_themes",
    "plot_profile",
    "plot_radar",
    "plot_trend",
    "plot_zone_of_tolerance",
    "tight_layout",
    "wrap_label",
]

#: Okabe–Ito colours (Okabe & Ito 2008), distinguishable with every common colour-vision
#: deficiency.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]

#: One colour per meaning, in every chart.  A status colour is never the only carrier of
#: its meaning: the shape, the position against the standard, a ▼/▲ mark or the label says it too.
STATUS_COLORS = {
    "shortfall": "#D55E00",  # vermillion: performance below the standard (below minimum, below expectations)
    "meets": "#56B4E9",  # sky blue: at the standard — inside the zone, or a gap whose CI includes zero
    "to_desired": "#F0E442",  # yellow: the room left between perceived and desired, inside the zone
    "exceeds": "#009E73",  # bluish green: better than the standard (above expectations, above desired)
}
#: One colour per measure, by its role in the instrument (line style separates the two standards).
MEASURE_COLORS = {"performance": "#000000", "standard": "#555555", "minimum": "#555555"}
MEASURE_STYLES = {"performance": "-", "standard": "--", "minimum": ":"}
#: Colours for categories (segments, years, dimensions): the Okabe–Ito colours that carry no
#: status, always paired with a marker shape.
SERIES_COLORS = ["#0072B2", "#E69F00", "#CC79A7", "#000000", "#8C8C8C", "#5E3C99"]
SERIES_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
#: The importance–performance quadrants: their colour and marker shape.
QUADRANT_COLORS = {"concentrate here": STATUS_COLORS["shortfall"], "keep up the good work": STATUS_COLORS["exceeds"],
                   "low priority": "#8C8C8C", "possible overkill": "#CC79A7"}
QUADRANT_MARKERS = {"concentrate here": "v", "keep up the good work": "^", "low priority": "o",
                    "possible overkill": "s"}
#: Diverging colours for gaps: vermillion (shortfall) through white (zero) to green (exceeds);
#: lightness carries the size, so it reads in grey too.
GAP_CMAP = LinearSegmentedColormap.from_list(
    "servqual_gap", ["#7A2E00", STATUS_COLORS["shortfall"], "#F7F7F7", STATUS_COLORS["exceeds"], "#00533C"])
COLORS = {
    **STATUS_COLORS,
    # the same colours under the LibQUAL names (and the names older code used)
    "surplus": STATUS_COLORS["exceeds"],
    "above_minimum": STATUS_COLORS["meets"],
    "below_minimum": STATUS_COLORS["shortfall"],
    "below_desired": STATUS_COLORS["to_desired"],
    "above_desired": STATUS_COLORS["exceeds"],
    "standard": MEASURE_COLORS["standard"],
    "performance": MEASURE_COLORS["performance"],
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


def tight_layout(fig: Figure, *, rect=(0, 0, 1, 1)) -> Figure:
    """Lay ``fig`` out once as :meth:`matplotlib.figure.Figure.tight_layout` does, without
    leaving a layout engine on it.

    ``Figure.tight_layout()`` leaves a placeholder layout engine behind, and a figure that
    has one is drawn twice by every ``savefig`` (once to lay it out, once to render): a
    report writes each figure as PNG and SVG, so that was two needless draws per figure.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from servqual.plots import tight_layout
    >>> fig, ax = plt.subplots()
    >>> _ = ax.set_ylabel("gap = perception − expectation")
    >>> fig.get_layout_engine() is None, tight_layout(fig).get_layout_engine() is None
    (True, True)
    >>> bool(fig.subplotpars.right > 0.9)  # laid out: the default right edge is 0.9
    True
    >>> plt.close(fig)
    """
    import warnings

    from matplotlib.layout_engine import TightLayoutEngine

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "not compatible with tight_layout" (polar insets)
        TightLayoutEngine(rect=rect).execute(fig)
    return fig


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
    'Bar chart of the gap for 5 dimensions: 5 fall short, the largest shortfall is Responsiveness (−1.55).'
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
        return wrap_label(f"{name} {inst.items[name].text.rstrip('.')}", width, 1)  # shortened after a whole word
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


def wrap_label(text: str, width: int = 36, max_lines: int = 2) -> str:
    """Wrap ``text`` at word boundaries into at most ``max_lines`` lines of about ``width``
    characters; a longer text ends after a whole word with "…".  Never cuts a word.

    Examples
    --------
    >>> from servqual.plots import wrap_label
    >>> print(wrap_label("Staff are never too busy to respond to clients' requests", 24))
    Staff are never too busy
    to respond to clients'…
    """
    flat = re.sub(r"[ \t\r\n]+", " ", str(text)).strip()  # no-break spaces stay: they join what must not part
    lines = textwrap.wrap(flat, width, break_long_words=False, break_on_hyphens=False)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(",;:–-") + "…"
    return "\n".join(lines)


def contrast_ratio(foreground, background) -> float:
    """WCAG 2 contrast ratio of two colours, from 1 (none) to 21 (black on white); text
    needs at least 4.5.

    Examples
    --------
    >>> from servqual.plots import contrast_ratio
    >>> round(contrast_ratio("black", "white"), 1)
    21.0
    """
    def luminance(color) -> float:
        rgb = np.array(mcolors.to_rgb(color))
        linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        return float(linear @ [0.2126, 0.7152, 0.0722])

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_color_on(background) -> str:
    """Black or white, whichever contrasts more with ``background`` (always at least 4.5:1)."""
    return "black" if contrast_ratio("black", background) >= contrast_ratio("white", background) else "white"


def _series_style(j: int) -> dict:
    return {"color": SERIES_COLORS[j % len(SERIES_COLORS)], "marker": SERIES_MARKERS[j % len(SERIES_MARKERS)]}


def _measure_style(inst: Instrument, measure: str) -> dict:
    """The colour and line style of a measure, by its role."""
    if measure == inst.performance:
        role = "performance"
    elif inst.has_zone_of_tolerance and measure == inst.minimum:
        role = "minimum"
    else:
        role = "standard"
    return {"color": MEASURE_COLORS[role], "linestyle": MEASURE_STYLES[role]}


def _max_n(data: pd.DataFrame) -> int | None:
    if "n" not in data.columns or not data["n"].notna().any():
        return None
    return int(data["n"].max())


def _with_n(title: str | None, data: pd.DataFrame) -> str | None:
    """A panel title with its group size: "postgraduate (n = 258)"."""
    n = _max_n(data)
    if not title or n is None or "n =" in title:
        return title
    return f"{title} (n = {n:,})"


def _facets(draw, data: pd.DataFrame, col: str, *, col_wrap: int | None, panel: tuple[float, float],
            polar: bool = False, sharex: bool = False, title: str | None = None, with_n: bool = True,
            **kwargs) -> Figure:
    """One panel per level of ``col``: ``draw(part, ax=…, title=…, **kwargs)`` on each."""
    _require(data, [col], draw.__name__)
    levels = list(pd.unique(data[col].dropna()))
    per_row = max(1, min(len(levels), col_wrap or len(levels)))
    rows = -(-len(levels) // per_row)
    # laid out once, by _one_legend (tight_layout; constrained layout would redo it on every draw, which costs
    # the explorer a tenth of a second, and misjudges the text polar panels carry outside their circle)
    fig = plt.figure(figsize=(panel[0] * per_row, panel[1] * rows))
    if polar:
        fig.subplots_adjust(left=0.1, right=0.9, top=0.86, bottom=0.1, wspace=0.6, hspace=0.55)
    axes = []
    for k, level in enumerate(levels):
        share = axes[0] if (sharex and axes) else None
        ax = fig.add_subplot(rows, per_row, k + 1, projection="polar" if polar else None, sharex=share)
        part = data[data[col] == level]
        draw(part, ax=ax, title=_with_n(str(level), part) if with_n else str(level), **kwargs)
        axes.append(ax)
    if title:
        fig.suptitle(title)
    return fig


class _LabelPlacer(Artist):
    """Places point labels at draw time, so they stay apart at any figure size.

    Greedy, in display space, measuring each label with the renderer: a label tries
    positions around its point at growing distances until its box overlaps no other
    label, no point and no obstacle (quadrant names); a thin leader line joins a label
    placed away from its point.  Drawn before everything else on the Axes.
    """

    def __init__(self, ax: Axes, xs, ys, labels: list, leaders: list, obstacles: list, marker_pt: float,
                 lines: Sequence = ()):
        super().__init__()
        self.ax, self.xs, self.ys, self.labels, self.leaders = ax, list(xs), list(ys), labels, leaders
        self.obstacles, self.marker_pt, self.lines = obstacles, marker_pt, list(lines)
        self.set_zorder(-100)

    def draw(self, renderer):
        ax = self.ax
        scale = renderer.points_to_pixels(1.0)
        radius = self.marker_pt / 2 * scale
        points = ax.transData.transform(np.column_stack([self.xs, self.ys]))
        taken = [Bbox.from_extents(px - radius, py - radius, px + radius, py + radius) for px, py in points]
        taken += [o.get_window_extent(renderer) for o in self.obstacles if o.get_visible()]
        for line in self.lines:  # a line to keep labels off: its path, sampled finely
            xy = ax.transData.transform(line.get_xydata())
            dense = np.vstack([np.linspace(a, b, 12) for a, b in zip(xy[:-1], xy[1:])]) if len(xy) > 1 else xy
            taken += [Bbox.from_extents(x - 1, y - 1, x + 1, y + 1) for x, y in dense[::2]]
        frame = ax.get_window_extent(renderer)
        to_data = ax.transData.inverted().transform
        order = np.lexsort((points[:, 0], -points[:, 1]))
        angles = [0, 180, 45, -45, 135, -135, 90, -90, 22, -22, 158, -158, 68, -68, 112, -112]
        frame_box = (frame.x0, frame.y0, frame.x1, frame.y1)
        for k in order:
            label, leader, (px, py) = self.labels[k], self.leaders[k], points[k]
            # measured once; each candidate's box is then arithmetic (the renderer is the slow part)
            label.set_position(to_data((px, py)))
            size = label.get_window_extent(renderer)
            w, h = size.width * 1.04, size.height * 1.08
            best = None
            for distance in (radius + 3 * scale, radius + 9 * scale, radius + 16 * scale, radius + 24 * scale,
                             radius + 34 * scale, radius + 46 * scale, radius + 60 * scale):
                for angle in angles:
                    dx, dy = distance * np.cos(np.radians(angle)), distance * np.sin(np.radians(angle))
                    ha = "left" if dx > 1e-6 else ("right" if dx < -1e-6 else "center")
                    va = "bottom" if dy > distance * 0.5 else ("top" if dy < -distance * 0.5 else "center")
                    x0 = px + dx - {"left": 0, "right": w, "center": w / 2}[ha]
                    y0 = py + dy - {"bottom": 0, "top": h, "center": h / 2}[va]
                    box = Bbox.from_extents(x0, y0, x0 + w, y0 + h)
                    inside = (x0 >= frame_box[0] and x0 + w <= frame_box[2] and y0 >= frame_box[1]
                              and y0 + h <= frame_box[3])
                    if inside and not any(box.overlaps(t) for t in taken):
                        best = (box, distance, dx, dy, ha, va)
                        break
                if best:
                    break
            if best is None:  # nowhere free: keep the last try (counted by the tests, never seen on the samples)
                best = (box, distance, dx, dy, ha, va)
            box, distance, dx, dy, ha, va = best
            label.set_horizontalalignment(ha)
            label.set_verticalalignment(va)
            label.set_position(to_data((px + dx, py + dy)))
            taken.append(box)
            if distance > radius + 10 * scale:
                end = to_data((px + dx * radius / distance, py + dy * radius / distance))
                leader.set_data([end[0], label.get_position()[0]], [end[1], label.get_position()[1]])
                leader.set_visible(True)
            else:
                leader.set_visible(False)


# --------------------------------------------------------------------------- radar
def _chords(theta: np.ndarray, radii: np.ndarray, fine: np.ndarray) -> np.ndarray:
    """A radar polygon's radius at the angles ``fine``: the polygon's sides are straight
    chords between spokes, r(t) = r1 r2 sin(t2 - t1) / (r1 sin(t - t1) + r2 sin(t2 - t))."""
    k = len(theta)
    step = 2 * np.pi / k
    index = np.minimum((fine // step).astype(int), k - 1)
    t1 = theta[index]
    r1, r2 = radii[index], radii[(index + 1) % k]
    t = fine - t1
    denominator = r1 * np.sin(t) + r2 * np.sin(step - t)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = r1 * r2 * np.sin(step) / denominator
    linear = r1 + (r2 - r1) * t / step  # the same where a radius is zero or missing
    return np.where(np.isfinite(out) & (denominator > 1e-12), out, linear)


def _radar_grid(theta: np.ndarray, curves: list[np.ndarray], per_side: int = 48) -> tuple[np.ndarray, list]:
    """Every curve on a fine closed angular grid (the spokes included), with the angles
    where two curves cross added, so bands between them meet exactly."""
    k = len(theta)
    fine = np.linspace(0, 2 * np.pi, k * per_side + 1)
    values = [_chords(theta, c, fine % (2 * np.pi)) for c in curves]
    crossings = []
    for a in range(len(values)):
        for b in range(a + 1, len(values)):
            d = values[a] - values[b]
            flips = np.nonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)[0]
            crossings += [fine[i] + (fine[i + 1] - fine[i]) * d[i] / (d[i] - d[i + 1]) for i in flips]
    if crossings:
        fine = np.unique(np.r_[fine, crossings])
        values = [_chords(theta, c, fine % (2 * np.pi)) for c in curves]
    return fine, values


class _RadarLayout(Artist):
    """Lays out a radar's outer text at draw time: dimension names pushed out until they
    clear the item labels, the title above all of them, the legend below."""

    def __init__(self, ax: Axes, item_labels: list, dimension_labels: list, legend, title):
        super().__init__()
        self.ax, self.item_labels, self.dimension_labels = ax, item_labels, dimension_labels
        self.legend, self.title = legend, title
        self.set_zorder(-100)

    def draw(self, renderer):
        ax = self.ax
        boxes = []
        for text in self.item_labels:  # a label that would touch its neighbour moves outwards
            boxes.append(_push_out(text, ax, renderer, 4, 150, 3, boxes, pad=(1.02, 1.04)))
        for text in self.dimension_labels:
            boxes.append(_push_out(text, ax, renderer, 14, 200, 3, boxes, pad=(1.04, 1.1)))
        boxes.append(ax.get_window_extent(renderer))
        inverse = ax.transAxes.inverted()
        top = max(inverse.transform((0, b.y1))[1] for b in boxes)
        bottom = min(inverse.transform((0, b.y0))[1] for b in boxes)
        if self.title is not None:
            self.title.set_y(top + 6 * renderer.points_to_pixels(1) / max(ax.get_window_extent(renderer).height, 1))
        if self.legend is not None:
            self.legend.set_bbox_to_anchor((0.5, bottom - 0.02), transform=ax.transAxes)


def _push_out(text, ax: Axes, renderer, start: float, stop: float, step: float, taken: list, pad) -> Bbox:
    """Move ``text`` outwards from the rim, ``step`` points at a time, until its box is clear
    of ``taken``; returns the box.  Measured once: moving along the ray shifts the box."""
    angle = text._servqual_angle
    _place_on_rim(text, ax, angle, start)
    first = text.get_window_extent(renderer).expanded(*pad)
    direction = angle * ax.get_theta_direction() + ax.get_theta_offset()
    ux, uy = np.cos(direction), np.sin(direction)
    pixels = renderer.points_to_pixels(1.0)
    distance = start
    box = first
    while distance < stop:
        shift = (distance - start) * pixels
        box = first.translated(ux * shift, uy * shift)
        if not any(box.overlaps(b) for b in taken):
            break
        distance += step
    _place_on_rim(text, ax, angle, distance)
    return box


def _place_on_rim(text, ax: Axes, angle: float, distance: float) -> None:
    """Put ``text`` ``distance`` points outside the rim at ``angle``, aligned away from it."""
    from matplotlib.transforms import offset_copy

    direction = angle * ax.get_theta_direction() + ax.get_theta_offset()
    dx, dy = np.cos(direction), np.sin(direction)
    text.set_position((angle, ax.get_rmax()))
    text.set_transform(offset_copy(ax.transData, fig=ax.figure, x=dx * distance, y=dy * distance, units="points"))
    text.set_horizontalalignment("left" if dx > 0.05 else "right" if dx < -0.05 else "center")
    text.set_verticalalignment("bottom" if dy > 0.2 else "top" if dy < -0.2 else "center")


def _radar_frame(ax: Axes, inst: Instrument, unit: str, units: list[str], theta: np.ndarray, *, labels: str,
                 title: str | None, legend_entries: list | None) -> None:
    """Spokes, item (or dimension) labels, dimension names, title and legend of a radar."""
    k = len(units)
    ax.set_xticks(theta)
    ax.set_xticklabels([])
    small = labels == "code" or k > 16
    item_texts = []
    for angle, u in zip(theta, units):
        if labels == "text" and unit == "item" and inst.items[u].text:
            label = f"{u}\n" + wrap_label(inst.items[u].text.rstrip("."), 16 if k > 12 else 22, 2)
        else:
            label = _unit_label(inst, unit, u)
        text = ax.text(angle, 0, label, fontsize=7 if small else 8.5, gid=f"label:{u}", linespacing=1.05)
        text._servqual_angle = angle
        _place_on_rim(text, ax, angle, 4)
        item_texts.append(text)
    dimension_texts = []
    if unit == "item":
        for dim, items in inst.dimensions.items():
            angles = [theta[units.index(i)] for i in items if i in units]
            if angles:
                mid = float(np.angle(np.mean(np.exp(1j * np.array(angles))))) % (2 * np.pi)
                text = ax.text(mid, 0, inst.dimension_label(dim), fontsize=8 if small else 9.5,
                               fontweight="bold", gid=f"dimension:{dim}")
                text._servqual_angle = mid
                _place_on_rim(text, ax, mid, 30)
                dimension_texts.append(text)
    legend = None
    if legend_entries:
        legend = ax.legend(handles=legend_entries, loc="upper center", bbox_to_anchor=(0.5, -0.1),
                           ncol=min(3, len(legend_entries)), fontsize=7.5 if small else 8, frameon=False)
    title_artist = None
    if title:
        ax.set_title(title, y=1.1, fontsize=10 if small else 12)
        title_artist = ax.title
    ax.add_artist(_RadarLayout(ax, item_texts, dimension_texts, legend, title_artist))


@_with_fonts
def plot_radar(
    data: pd.DataFrame,
    *,
    instrument,
    hue: str | None = None,
    value: str | None = None,
    col: str | None = None,
    col_wrap: int | None = None,
    labels: str = "text",
    ax: Axes | None = None,
    title: str | None = None,
    aligned: bool = False,
):
    """The radar chart: items (or dimensions) around the circle, grouped by dimension.

    Parameters
    ----------
    data
        A :func:`servqual.gap_table` at item or dimension level, filtered to one group
        (or with several groups in ``hue`` or ``col``).
    instrument
        The instrument (labels, scale, measures).
    hue
        A column whose levels each get a line of ``value`` (segments, years).
    value
        The column drawn: a measure (its line on the rating scale), or a gap (a gap radar
        around a zero ring, :func:`plot_gap_radar`).  Default: every measure, with the
        gap or the zone of tolerance shaded.
    col, col_wrap
        Small multiples: one radar per level of ``col`` on one figure (returns the Figure),
        at most ``col_wrap`` per row, one legend.
    labels
        ``"text"`` (default): item code and its text, wrapped at word boundaries;
        ``"code"``: codes only (small multiples use it).
    title
        The title; the largest n in ``data`` is added to it.
    aligned
        Also draw the aligned alternative (:func:`plot_profile`) beside it; returns the
        Figure.

    Notes
    -----
    Three-column instruments show the LibQUAL bands on each spoke: sky blue from minimum
    to perceived, yellow from perceived up to desired (the two make the zone of
    tolerance), vermillion where perceived falls below the minimum, green where it rises
    above desired.  The bands are computed between the drawn polygons on a fine angular
    grid, crossings included, so they fill exactly the space between the curves.
    Expectation/perception instruments show both lines with the gap shaded (vermillion
    where perception falls short, green where it exceeds).

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
    if labels not in ("text", "code"):
        raise ValueError(f"labels must be 'text' or 'code', got {labels!r}")
    gaps = [g.name for g in inst.gaps]
    if col is not None:
        fig = _facets(plot_radar, data, col, col_wrap=col_wrap, panel=(4.3, 4.9), polar=True, title=title,
                      instrument=inst, hue=hue, value=value, labels="code")
        _one_legend(fig)
        levels = list(pd.unique(data[col].dropna()))
        _describe(fig, f"Radar charts, one per {col} ({', '.join(map(str, levels))}): "
                       + " ".join(alt_text(a).split(". ", 1)[-1] for a in fig.axes[:1]))
        return fig
    if value is not None and value in gaps:
        return plot_gap_radar(data, instrument=inst, hue=hue, gap=value, ax=ax, title=title, labels=labels)
    if aligned:
        fig = plt.figure(figsize=(13, 6.5))
        polar = fig.add_subplot(1, 2, 1, projection="polar")
        flat = fig.add_subplot(1, 2, 2)
        plot_radar(data, instrument=inst, hue=hue, value=value, ax=polar, title=title, labels=labels)
        plot_profile(data, instrument=inst, hue=hue, value=value, ax=flat)
        _describe(fig, alt_text(polar) + " Beside it, the same values on aligned scales.")
        return fig
    _single(data, unit, "plot_radar", hue)
    ax = _new_ax(ax, polar=True, figsize=(7.5, 8))
    units = _ordered(data, inst, unit)
    k = len(units)
    theta = np.linspace(0, 2 * np.pi, k, endpoint=False)
    lo, hi = (inst.scale.min, inst.scale.max) if inst.scale else (None, None)
    perf = _performance(inst)

    def spokes(column: str, frame: pd.DataFrame = data) -> np.ndarray:
        return frame.set_index(unit).reindex(units)[column].to_numpy(dtype=float)

    entries: list = []
    description: str
    if hue is not None:
        _require(data, [hue], "plot_radar")
        value = value or perf
        _require(data, [value], "plot_radar")
        levels = list(pd.unique(data[hue].dropna()))
        for j, level in enumerate(levels):
            r = spokes(value, data[data[hue] == level])
            style = _series_style(j)
            ax.plot(np.r_[theta, theta[:1]], np.r_[r, r[:1]], linewidth=2, markersize=4, label=str(level),
                    gid=f"series:{level}", **style)
        entries = list(ax.get_lines())
        description = (f"Radar chart of {inst.measure_label(value) if value in inst.measures else value} by {hue} "
                       f"({', '.join(map(str, levels))}) for {k} {unit}s.")
    elif value is not None:
        _require(data, [value], "plot_radar")
        if value not in inst.measures:
            raise ValueError(f"plot_radar: value must be a measure ({', '.join(inst.measures)}) or a gap "
                             f"({', '.join(gaps) or 'none'}), got {value!r}")
        r = spokes(value)
        ax.plot(np.r_[theta, theta[:1]], np.r_[r, r[:1]], linewidth=2, marker="o", markersize=3,
                label=inst.measure_label(value), gid=value, **_measure_style(inst, value))
        entries = list(ax.get_lines())
        description = (f"Radar chart of {inst.measure_label(value)} for {k} {unit}s, from "
                       f"{np.nanmin(r):.2f} to {np.nanmax(r):.2f}.")
    elif inst.has_zone_of_tolerance:
        mn, ds = inst.minimum, inst.desired
        _require(data, [mn, ds, perf], "plot_radar")
        s_min, s_des, s_per = spokes(mn), spokes(ds), spokes(perf)
        fine, (r_min, r_des, r_per) = _radar_grid(theta, [s_min, s_des, s_per])
        pl, ml, dl = inst.measure_label(perf), inst.measure_label(mn), inst.measure_label(ds)
        meets_top = np.maximum(r_min, np.minimum(r_per, r_des))
        layers = [  # each band a continuous function of the three curves: together they tile the space exactly
            ("shortfall", np.minimum(r_per, r_min), r_min, f"{pl} below {ml}"),
            ("meets", r_min, meets_top, f"{pl} at or above {ml}"),
            ("to_desired", meets_top, np.maximum(r_des, meets_top), f"{pl} below {dl}"),
            ("exceeds", np.maximum(r_des, meets_top), np.maximum(r_per, np.maximum(r_des, meets_top)),
             f"{pl} above {dl}"),
        ]
        for key, inner, outer, label in layers:
            color = STATUS_COLORS[key]
            ax.fill_between(fine, inner, outer, color=color, edgecolor=color, linewidth=0.3, label=label, gid=key)
            if np.nanmax(outer - inner) > 1e-9:
                entries.append(Patch(facecolor=color, label=label))
        for measure, r, label in ((mn, r_min, ml), (ds, r_des, dl), (perf, r_per, pl)):
            style = _measure_style(inst, measure)
            line, = ax.plot(fine, r, linewidth=1.6 if measure == perf else 1.0, label=label, gid=measure, **style)
            entries.append(line)
        below = [u for u, p, m in zip(units, s_per, s_min) if p < m]
        description = (
            f"Radar chart of the zone of tolerance for {k} {unit}s: "
            + (f"{pl} service falls below the {ml} on {len(below)} ({', '.join(below[:5])})."
               if below else f"{pl} service is at or above the {ml} everywhere.")
        )
    elif inst.gaps:
        gap = inst.gaps[0]
        _require(data, [gap.minuend, gap.subtrahend], "plot_radar")
        s_p, s_s = spokes(gap.minuend), spokes(gap.subtrahend)
        fine, (r_p, r_s) = _radar_grid(theta, [s_p, s_s])
        for key, inner, outer in (("shortfall", r_p, np.maximum(r_p, r_s)), ("exceeds", r_s, np.maximum(r_p, r_s))):
            label = {"shortfall": f"shortfall ({gap.minuend} below {gap.subtrahend})",
                     "exceeds": f"exceeds ({gap.minuend} above {gap.subtrahend})"}[key]
            ax.fill_between(fine, inner, outer, color=STATUS_COLORS[key], alpha=0.45, linewidth=0, label=label, gid=key)
            if np.nanmax(outer - inner) > 1e-9:
                entries.append(Patch(facecolor=STATUS_COLORS[key], alpha=0.45, label=label))
        for measure, r in ((gap.subtrahend, r_s), (gap.minuend, r_p)):
            line, = ax.plot(fine, r, linewidth=2 if measure == gap.minuend else 1.4,
                            label=inst.measure_label(measure), gid=measure, **_measure_style(inst, measure))
            entries.append(line)
        diff = s_p - s_s
        short = int((diff < 0).sum())
        worst = units[int(np.nanargmin(diff))]
        description = (f"Radar chart of {gap.subtrahend} and {gap.minuend} for {k} {unit}s; "
                       f"{gap.minuend} falls short on {short} of them, most on "
                       f"{_unit_label(inst, unit, worst)} ({diff.min():+.2f}).")
    else:
        _require(data, [perf], "plot_radar")
        r = spokes(perf)
        ax.plot(np.r_[theta, theta[:1]], np.r_[r, r[:1]], linewidth=2, label=inst.measure_label(perf), gid=perf,
                **_measure_style(inst, perf))
        entries = list(ax.get_lines())
        description = f"Radar chart of {perf} for {k} {unit}s."
    if lo is not None:
        ax.set_ylim(lo, hi)
        ax.set_yticks(range(lo, hi + 1))
        ax.tick_params(axis="y", labelsize=7)
        ax.set_rlabel_position(360 / k / 2)
    ax.set_axisbelow(True)
    _radar_frame(ax, inst, unit, units, theta, labels=labels, title=_with_n(title, data) if hue is None else title,
                 legend_entries=entries)
    _describe(ax, description)
    return ax


def _one_legend(fig: Figure, *, margins: dict | None = None) -> None:
    """Small multiples, last step: the panels' legends become one, below the figure, and the
    panels are laid out: rectilinear ones with tight_layout, or with fixed ``margins`` (inches:
    left, right, top, bottom, wspace, hspace) where the labels' size is known, which is faster."""
    legends = [a.get_legend() for a in fig.axes if a.get_legend() is not None]
    handles, labels, seen = [], [], set()
    for legend in legends:
        for handle, text in zip(legend.legend_handles, legend.get_texts()):
            if text.get_text() not in seen:
                seen.add(text.get_text())
                handles.append(handle)
                labels.append(text.get_text())
        legend.remove()
    for a in fig.axes:
        for artist in a.artists:
            if isinstance(artist, _RadarLayout):
                artist.legend = None
    width, height = fig.get_size_inches()
    if margins is not None:
        rows, cols = fig.axes[0].get_subplotspec().get_gridspec().get_geometry() if fig.axes else (1, 1)
        panel_w = (width - margins["left"] - margins["right"] - margins["wspace"] * (cols - 1)) / cols
        panel_h = (height - margins["top"] - margins["bottom"] - margins["hspace"] * (rows - 1)) / rows
        fig.subplots_adjust(left=margins["left"] / width, right=1 - margins["right"] / width,
                            top=1 - margins["top"] / height, bottom=margins["bottom"] / height,
                            wspace=margins["wspace"] / max(panel_w, 0.1), hspace=margins["hspace"] / max(panel_h, 0.1))
    elif not any(a.name == "polar" for a in fig.axes):
        top = 1 - 0.45 / height if fig.get_suptitle() else 1  # room for the figure's title
        tight_layout(fig, rect=(0, 0, 1, top))
    if handles:
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(6, len(labels)),
                   fontsize=8, frameon=False)


@_with_fonts
def plot_gap_radar(
    data: pd.DataFrame,
    *,
    instrument,
    hue: str | None = None,
    gap: str | None = None,
    labels: str = "text",
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Gaps around a zero ring: one line per group, shortfalls inside the ring.

    Parameters
    ----------
    data
        A :func:`servqual.gap_table` (item or dimension level), one group or several in
        ``hue``.
    gap
        Which gap (default the instrument's first).

    Notes
    -----
    The radial axis runs from the largest shortfall to the largest surplus, not over the
    rating scale; the bold ring is zero (performance equal to the standard) and the
    shaded inner disc is the shortfall side.  Instruments whose reports print
    standard − performance are shown that way (shortfalls outside the ring).

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.plots import plot_gap_radar
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> ax = plot_gap_radar(sq.gap_table(survey, 'dimension', by='segment'), instrument=survey.instrument,
    ...                     hue='segment')
    >>> len([line for line in ax.lines if (line.get_gid() or '').startswith('series:')])
    4
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    inst = _instrument(instrument)
    if not inst.gaps:
        raise ValueError(f"instrument {inst.id!r} has no gaps to draw")
    gap = gap or inst.gaps[0].name
    inst.gap(gap)
    unit = _unit(data)
    _require(data, [unit, gap], "plot_gap_radar")
    _single(data, unit, "plot_gap_radar", hue)
    ax = _new_ax(ax, polar=True, figsize=(7.5, 8))
    units = _ordered(data, inst, unit)
    k = len(units)
    theta = np.linspace(0, 2 * np.pi, k, endpoint=False)
    sign = _gap_sign(inst)
    groups = [(str(level), data[data[hue] == level]) for level in pd.unique(data[hue].dropna())] if hue else [
        (inst.measure_label(inst.gap(gap).minuend), data)]
    series = [(name, sign * part.set_index(unit).reindex(units)[gap].to_numpy(dtype=float)) for name, part in groups]
    values = np.concatenate([v for _, v in series])
    low, high = min(np.nanmin(values), 0.0), max(np.nanmax(values), 0.0)
    pad = 0.15 * (high - low or 1.0)
    low, high = low - pad, high + pad
    ring = np.linspace(0, 2 * np.pi, 361)
    short_side = (low, 0.0) if sign > 0 else (0.0, high)
    ax.fill_between(ring, *short_side, color=STATUS_COLORS["shortfall"], alpha=0.10, linewidth=0, gid="shortfall")
    ax.plot(ring, np.zeros_like(ring), color="black", linewidth=1.3, gid="zero")
    entries = [Patch(facecolor=STATUS_COLORS["shortfall"], alpha=0.25,
                     label="shortfall side of the zero ring")]
    for j, (name, r) in enumerate(series):
        line, = ax.plot(np.r_[theta, theta[:1]], np.r_[r, r[:1]], linewidth=2, markersize=4, label=name,
                        gid=f"series:{name}", **_series_style(j))
        entries.append(line)
    ax.set_ylim(low, high)
    ticks = [t for t in np.arange(np.floor(low * 2) / 2, high + 1e-9, 0.5) if low <= t <= high]
    ax.set_yticks(ticks)
    ax.set_yticklabels([number(t, signed=True, digits=1) for t in ticks], fontsize=7)
    ax.set_rlabel_position(360 / k / 2)
    ax.set_axisbelow(True)
    _radar_frame(ax, inst, unit, units, theta, labels=labels, title=title if hue else _with_n(title, data),
                 legend_entries=entries)
    worst_name, worst_r = min(series, key=lambda s: np.nanmin(s[1]) if sign > 0 else -np.nanmax(s[1]))
    worst_index = int(np.nanargmin(worst_r) if sign > 0 else np.nanargmax(worst_r))
    _describe(ax, (
        f"Gap radar of the {gap} for {k} {unit}s" + (f" by {hue} ({', '.join(n for n, _ in series)})" if hue else "")
        + f"; the largest shortfall is {worst_name} on {_unit_label(inst, unit, units[worst_index])} "
        f"({sign * worst_r[worst_index]:+.2f})."
    ))
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
            ax.scatter(part[value], y, label=str(level), zorder=3, **_series_style(j))
        description = f"Dot chart of {value} by {hue} for {len(units)} {unit}s."
    else:
        standard = inst.principal_standard
        frame = data.set_index(unit).reindex(units)
        p = frame[perf].to_numpy(dtype=float)
        if standard:
            s = frame[standard].to_numpy(dtype=float)
            for yy, a, b in zip(y, s, p):
                key = "shortfall" if b < a else "exceeds"
                ax.plot([a, b], [yy, yy], color=STATUS_COLORS[key], linewidth=2.5, zorder=1, gid=f"status:{key}")
            ax.scatter(s, y, color=MEASURE_COLORS["standard"], label=inst.measure_label(standard), zorder=3,
                       marker="|", s=140, linewidths=2)
        ax.scatter(p, y, color=MEASURE_COLORS["performance"], label=inst.measure_label(perf), zorder=3)
        description = f"Dot chart of {perf}" + (f" against {standard}" if standard else "") + f" for {len(units)} {unit}s."
    ax.set_yticks(y)
    ax.set_yticklabels([wrap_label(_unit_label(inst, unit, u, long=True, width=200), 40, 2) for u in units],
                       fontsize=8)
    if inst.scale:
        ax.set_xlim(inst.scale.min - 0.2, inst.scale.max + 0.2)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4, fontsize=8, frameon=False)
    if title:
        ax.set_title(title)
    _describe(ax, description)
    return ax


# --------------------------------------------------------------------------- gap bars
def _n_note(ns: pd.Series, unit: str) -> tuple[str, float]:
    """The subtitle's n ("n = 1,143–1,166 per item") and the threshold under which a bar
    states its own n (it differs by more than a tenth from the largest)."""
    ns = ns.dropna()
    if ns.empty:
        return "", np.inf
    top = float(ns.max())
    common = ns[ns >= 0.9 * top]
    low, high = int(common.min()), int(common.max())
    text = f"n = {low:,}" if low == high else f"n = {low:,}–{high:,} per {unit}"
    return text, 0.9 * top


def _ci_caption(data: pd.DataFrame) -> str:
    level = data.attrs.get("ci", 0.95)
    return f"Bars: mean gap. Whiskers: {level:.0%} confidence interval of the mean."


def _status(low: np.ndarray, high: np.ndarray, shortfall_below: bool) -> list[str]:
    """Shortfall or exceeds where the whole interval is on one side of zero, else meets."""
    out = []
    for lo_, hi_ in zip(low, high):
        if (hi_ < 0) if shortfall_below else (lo_ > 0):
            out.append("shortfall")
        elif (lo_ > 0) if shortfall_below else (hi_ < 0):
            out.append("exceeds")
        else:
            out.append("meets")
    return out


@_with_fonts
def plot_gaps(
    data: pd.DataFrame,
    *,
    instrument,
    gap: str | None = None,
    hue: str | None = None,
    col: str | None = None,
    col_wrap: int | None = None,
    ax: Axes | None = None,
    sort: bool = True,
    group: bool = True,
    title: str | None = None,
):
    """The overall gap analysis: horizontal bars of the mean gap with CI whiskers.

    Parameters
    ----------
    data
        A :func:`servqual.gap_table` (item or dimension level).
    gap
        Which gap (default the instrument's first).
    hue
        Several groups on one axis (e.g. ``"segment"``): a dot and its whisker per group
        on each row, one shared scale (returns the Axes).
    col, col_wrap
        One panel per level of ``col`` instead (returns a Figure), at most ``col_wrap``
        per row, with one shared gap axis.
    sort
        Largest shortfall at the top (default); ``False`` keeps questionnaire order.
    group
        Item level: items grouped under their dimension (default), sorted within it.

    Notes
    -----
    A bar is vermillion (shortfall) when its whole confidence interval lies on the
    shortfall side of zero, green (exceeds) when it lies on the other side, and sky blue
    (meets) when the interval includes zero.  Item text is wrapped at word boundaries.
    The n common to most bars is stated once in the subtitle; a bar whose n differs by
    more than a tenth states its own.  Instruments whose reports print standard −
    performance (``gap_sign``) are shown that way, with the axis saying which
    direction is bad.

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
        n_units = data[unit].nunique()
        fig = _facets(plot_gaps, data, col, col_wrap=col_wrap, sharex=True,
                      panel=(4.6 if unit == "dimension" else 6.2, 0.34 * n_units + 1.6), title=title,
                      with_n=False, instrument=inst, gap=gap, sort=sort, group=group)
        for a in fig.axes:  # the axis says it once, for the figure
            a.set_xlabel("")
        fig.supxlabel(_gap_axis_label(inst, gap) + "\n" + _ci_caption(data), fontsize=9)
        _one_legend(fig)
        levels = list(pd.unique(data[col].dropna()))
        _describe(fig, f"Gap analysis by {col}: one panel per {col} ({', '.join(map(str, levels))}).")
        return fig
    if hue is not None:
        return _gap_dots(data, inst, gap, unit, hue, ax=ax, sort=sort, title=title)
    _single(data, unit, "plot_gaps", None)
    frame = data.set_index(unit).reindex(_ordered(data, inst, unit))
    frame = frame[frame[gap].notna()]
    if frame.empty:
        raise ValueError("plot_gaps: every gap in data is missing (suppressed groups?)")
    sign = _gap_sign(inst)
    frame = frame.assign(_shown=sign * frame[gap], _low=sign * frame[f"{gap}_ci_low"],
                         _high=sign * frame[f"{gap}_ci_high"])
    frame["_low"], frame["_high"] = np.minimum(frame["_low"], frame["_high"]), np.maximum(frame["_low"], frame["_high"])
    # rows top to bottom: (dimension header, its items worst first) …, or one sorted list
    badness = -sign * frame["_shown"]  # larger = worse
    if unit == "item" and group and len(inst.dimensions) > 1:
        blocks = [(dim, frame[frame.index.isin(items)]) for dim, items in inst.dimensions.items()]
        blocks = [(d, b) for d, b in blocks if len(b)]
        if sort:
            blocks.sort(key=lambda db: -float(badness[db[1].index].mean()))
        rows: list[tuple[str, str | None]] = []
        for dim, block in blocks:
            rows.append(("header", dim))
            names = list(block.index)
            if sort:
                names = sorted(names, key=lambda u: -float(badness[u]))
            rows += [("bar", u) for u in names]
    else:
        names = list(frame.index)
        if sort:
            names = sorted(names, key=lambda u: -float(badness[u]))
        rows = [("bar", u) for u in names]
    slots = np.arange(len(rows))[::-1].astype(float)
    ax = _new_ax(ax, figsize=(8, max(3.2, (0.3 if unit == "item" else 0.36) * len(rows) + 1.5)))
    note, own_n_below = _n_note(frame["n"] if "n" in frame.columns else pd.Series(dtype=float), unit)
    bar_units = [u for kind, u in rows if kind == "bar"]
    bar_y = np.array([y for y, (kind, _) in zip(slots, rows) if kind == "bar"])
    part = frame.loc[bar_units]
    status = _status(part["_low"].to_numpy(), part["_high"].to_numpy(), shortfall_below=sign > 0)
    ax.barh(bar_y, part["_shown"], height=0.72, color=[STATUS_COLORS[s] for s in status],
            xerr=[part["_shown"] - part["_low"], part["_high"] - part["_shown"]],
            error_kw={"ecolor": "#333333", "capsize": 3, "linewidth": 1})
    for patch, s in zip(ax.patches, status):
        patch.set_gid(f"status:{s}")
    labels, weights = [], []
    for kind, u in rows:
        if kind == "header":
            labels.append(inst.dimension_label(u))
            weights.append("bold")
            continue
        text = f"{u} {inst.items[u].text.rstrip('.')}" if unit == "item" and inst.items[u].text else \
            _unit_label(inst, unit, u)
        n = frame.loc[u, "n"] if "n" in frame.columns else np.nan
        if pd.notna(n) and n < own_n_below:
            text += f" (n\u00a0=\u00a0{int(n):,})"
        labels.append(wrap_label(text, 44 if unit == "item" else 30, 2))
        weights.append("normal")
    ax.set_yticks(slots)
    ax.set_yticklabels(labels, fontsize=8)
    for tick, weight in zip(ax.get_yticklabels(), weights):
        tick.set_fontweight(weight)
        if weight == "bold":
            tick.set_fontsize(9)
    for y, (kind, _) in zip(slots, rows):
        if kind == "header" and y < slots[0]:
            ax.axhline(y + 0.5, color="#BBBBBB", linewidth=0.6)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(_gap_axis_label(inst, gap) + "\n" + _ci_caption(data), fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(handles=[Patch(facecolor=STATUS_COLORS[k], label=label) for k, label in (
        ("shortfall", "shortfall (whole interval short)"), ("meets", "interval includes zero"),
        ("exceeds", "exceeds (whole interval above)")) if k in status],
        loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, fontsize=7.5, frameon=False, borderaxespad=0.2)
    _titled(ax, title, note, legend_above=True)
    worst = max(bar_units, key=lambda u: float(badness[u]))
    _describe(ax, (
        f"Bar chart of the {gap} for {len(bar_units)} {unit}s: {status.count('shortfall')} fall short, "
        f"the largest shortfall is {_unit_label(inst, unit, worst, long=True, width=80)} "
        f"({frame.loc[worst, gap]:+.2f})."
    ))
    return ax


def _titled(ax: Axes, title: str | None, subtitle: str, *, legend_above: bool = False) -> None:
    """A title with a smaller subtitle line under it (n, the year …); with ``legend_above``
    both sit above a one-row legend placed on top of the axes."""
    above = 16 if legend_above else 0
    if subtitle:
        ax.annotate(subtitle, (0.5, 1.0), xycoords="axes fraction", xytext=(0, above + 2), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8.5, color="#333333", gid="subtitle")
    if title:
        ax.set_title(title, pad=above + (15 if subtitle else 4))


def _gap_dots(data, inst, gap, unit, hue, *, ax, sort, title):
    """Several groups on one axis: per row a dot and its whisker for each group."""
    _require(data, [hue], "plot_gaps")
    _single(data, unit, "plot_gaps", hue)
    shown = data[data[gap].notna()]
    if shown.empty:
        raise ValueError("plot_gaps: every gap in data is missing (suppressed groups?)")
    sign = _gap_sign(inst)
    levels = list(pd.unique(shown[hue].dropna()))
    units = _ordered(shown, inst, unit)
    if sort:
        mean = shown.groupby(unit)[gap].mean() * sign
        units = sorted(units, key=lambda u: float(mean[u]) * (1 if sign > 0 else -1))
    ax = _new_ax(ax, figsize=(8, max(3.2, 0.22 * len(units) * len(levels) + 1.8)))
    y0 = np.arange(len(units))[::-1].astype(float)
    spread = 0.7 / max(len(levels), 1)
    for j, level in enumerate(levels):
        part = shown[shown[hue] == level].set_index(unit).reindex(units)
        values = sign * part[gap].to_numpy(float)
        low = sign * part[f"{gap}_ci_low"].to_numpy(float)
        high = sign * part[f"{gap}_ci_high"].to_numpy(float)
        low, high = np.minimum(low, high), np.maximum(low, high)
        y = y0 + 0.35 - spread / 2 - j * spread
        style = _series_style(j)
        n = _max_n(part.reset_index())
        ax.errorbar(values, y, xerr=[values - low, high - values], fmt=style["marker"], color=style["color"],
                    markersize=5, capsize=2, linewidth=1, label=f"{level} (n = {n:,})" if n else str(level),
                    gid=f"series:{level}")
    ax.set_yticks(y0)
    ax.set_yticklabels([wrap_label(_unit_label(inst, unit, u, long=True, width=200), 40, 2) for u in units], fontsize=8)
    for y in y0[1:]:
        ax.axhline(y + 0.5, color="#E5E5E5", linewidth=0.6, zorder=0)
    left = ax.get_xlim()
    span = left[1] - left[0]
    left = (min(left[0], -0.05 * span), max(left[1], 0.05 * span))  # zero always in view
    shortfall_side = (min(left[0], 0), 0) if sign > 0 else (0, max(left[1], 0))
    ax.axvspan(*shortfall_side, color=STATUS_COLORS["shortfall"], alpha=0.08, zorder=0, gid="shortfall")
    ax.set_xlim(left)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(_gap_axis_label(inst, gap) + "\n" + _ci_caption(data).replace("Bars", "Dots"), fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, title=hue, title_fontsize=8)
    if title:
        ax.set_title(title)
    worst = shown.loc[(sign * shown[gap]).idxmin() if sign > 0 else (sign * shown[gap]).idxmax()]
    _describe(ax, (
        f"Dot chart of the {gap} by {hue} ({', '.join(map(str, levels))}) for {len(units)} {unit}s on one scale; "
        f"the largest shortfall is {worst[hue]} on {_unit_label(inst, unit, worst[unit], long=True, width=80)} "
        f"({worst[gap]:+.2f})."
    ))
    return ax


# --------------------------------------------------------------------------- zone of tolerance
@_with_fonts
def plot_zone_of_tolerance(data: pd.DataFrame, *, instrument, col: str | None = None, col_wrap: int | None = None,
                           ax: Axes | None = None, title: str | None = None):
    """Per item the minimum–desired band (the zone of tolerance) with the perceived marker.

    Markers are sky blue inside the zone, vermillion below the minimum (also marked ▼ and
    drawn as a down triangle) and green above desired (▲, an up triangle).  The rating
    axis is fitted to the data (never wider than the scale).  Needs a three-column
    instrument.  With ``col``: one panel per group, items aligned across panels.

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
    if col is not None:
        n_units = data[unit].nunique()
        fig = _facets(plot_zone_of_tolerance, data, col, col_wrap=col_wrap, sharex=True,
                      panel=(5.2, 0.3 * n_units + 1.6), title=title, instrument=inst)
        per_row = len(fig.axes) if not col_wrap else min(col_wrap, len(fig.axes))
        for k, a in enumerate(fig.axes):
            if k % per_row:  # items are in the same order in every panel: label them once per row
                a.tick_params(axis="y", labelleft=False)
        _one_legend(fig)
        _describe(fig, f"Zone of tolerance, one panel per {col}: " + alt_text(fig.axes[0]).split(". ", 1)[-1])
        return fig
    _single(data, unit, "plot_zone_of_tolerance", None)
    units = _ordered(data, inst, unit)
    frame = data.set_index(unit).reindex(units)
    ax = _new_ax(ax, figsize=(8.5, max(3, 0.36 * len(units) + 1.4)))
    y = np.arange(len(units))[::-1]
    lo, de, pe = (frame[c].to_numpy(dtype=float) for c in (mn, ds, perf))
    ax.barh(y, de - lo, left=lo, height=0.55, color=STATUS_COLORS["to_desired"], alpha=0.55,
            edgecolor="#8A7F00", linewidth=0.6, label=f"zone of tolerance ({ml} to {dl})", gid="zone")
    status = np.where(pe < lo, "shortfall", np.where(pe > de, "exceeds", "meets"))
    markers = {"shortfall": "v", "meets": "o", "exceeds": "^"}
    for key in ("meets", "shortfall", "exceeds"):
        hit = status == key
        ax.scatter(pe[hit], y[hit], color=STATUS_COLORS[key], marker=markers[key], zorder=3, s=42,
                   edgecolors="black", linewidths=0.5, gid=f"status:{key}")
    labels = []
    for u, s_ in zip(units, status):
        mark = " ▼" if s_ == "shortfall" else (" ▲" if s_ == "exceeds" else "")
        text = f"{u} {inst.items[u].text.rstrip('.')}" if unit == "item" and inst.items[u].text else _unit_label(
            inst, unit, u)
        labels.append(wrap_label(text, 50, 2) + mark)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    values = np.r_[lo, de, pe]
    low, high = np.nanmin(values), np.nanmax(values)
    pad = max(0.25, 0.08 * (high - low))
    if inst.scale:
        low, high = max(inst.scale.min - 0.1, low - pad), min(inst.scale.max + 0.1, high + pad)
    else:
        low, high = low - pad, high + pad
    ax.set_xlim(np.floor(low * 2) / 2, np.ceil(high * 2) / 2)
    ax.set_xlabel(f"rating (scale {inst.scale}; axis fitted to the data)" if inst.scale else "rating")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    handles = [Patch(facecolor=STATUS_COLORS["to_desired"], alpha=0.55, edgecolor="#8A7F00",
                     label=f"zone of tolerance ({ml} to {dl})"),
               Line2D([], [], linestyle="", marker="o", color=STATUS_COLORS["meets"], markeredgecolor="black",
                      label=f"{pl}: inside the zone")]
    handles += [Line2D([], [], linestyle="", marker=markers[k], color=STATUS_COLORS[k], markeredgecolor="black",
                       label=label) for k, label in (("shortfall", f"{pl} below {ml} ▼"),
                                                     ("exceeds", f"{pl} above {dl} ▲")) if (status == k).any()]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=8, frameon=False)
    if title:
        ax.set_title(title)
    below = [u for u, s_ in zip(units, status) if s_ == "shortfall"]
    _describe(ax, (
        f"Zone of tolerance for {len(units)} {unit}s: {pl} service is below the {ml} on "
        f"{len(below)}" + (f" ({', '.join(below[:5])})" if below else "") + f" and above {dl} on "
        f"{int((status == 'exceeds').sum())}."
    ))
    return ax


# --------------------------------------------------------------------------- IPA
@_with_fonts
def plot_ipa(
    data: pd.DataFrame,
    *,
    instrument=None,
    x: str = "performance",
    y: str = "importance",
    col: str | None = None,
    col_wrap: int | None = None,
    ax: Axes | None = None,
    labels: bool = True,
    title: str | None = "Importance and performance",
):
    """The importance–performance grid: points, crosshairs, quadrant names, item labels.

    Parameters
    ----------
    data
        A :func:`servqual.importance_performance` table for one group (its ``x_cross``
        and ``y_cross`` place the crosshairs), or several in ``col``.
    y
        ``"importance"`` (the kind chosen when the table was made), or
        ``"importance_stated"`` / ``"importance_derived"``.
    col, col_wrap
        One grid per level of ``col`` (returns a Figure).
    labels
        Label every point with its code; labels are placed when the figure is drawn, so
        they never overlap one another, a point or a quadrant name at any figure size.

    Notes
    -----
    Each quadrant has its colour and marker shape (concentrate here: vermillion ▼; keep
    up the good work: green ▲; low priority: grey ●; possible overkill: purple ■).  The
    dashed crosshairs are the table's ``x_cross`` and ``y_cross`` (by default the mean
    performance and mean importance of the points), as the legend says.

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
    if col is not None:
        fig = _facets(plot_ipa, data, col, col_wrap=col_wrap, panel=(6.5, 5.6), title=title, instrument=instrument,
                      x=x, y=y, labels=labels)
        # the grid's labels are short numbers and names: fixed margins, no tight_layout pass
        _one_legend(fig, margins={"left": 0.8, "right": 0.2, "top": 1.0 if title else 0.6, "bottom": 0.6,
                                  "wspace": 0.9, "hspace": 1.1})
        _describe(fig, f"Importance–performance grids, one per {col}: " + alt_text(fig.axes[0]).split(". ", 1)[-1])
        return fig
    _single(data, unit, "plot_ipa", None)
    inst = load_instrument(instrument) if instrument is not None else None
    frame = data[data[x].notna() & data[y].notna()]
    if frame.empty:
        raise ValueError("plot_ipa: no point has both performance and importance (suppressed group?)")
    ax = _new_ax(ax, figsize=(8, 6.5))
    x_cross, y_cross = float(frame["x_cross"].iloc[0]), float(frame["y_cross"].iloc[0])
    if y != "importance":
        y_cross = float(frame[y].mean())
    quadrants = list(frame["quadrant"]) if "quadrant" in frame.columns else [""] * len(frame)
    for name in QUADRANT_COLORS:
        hit = np.array([q == name for q in quadrants])
        if hit.any():
            ax.scatter(frame[x][hit], frame[y][hit], color=QUADRANT_COLORS[name], marker=QUADRANT_MARKERS[name], s=40,
                       zorder=3, edgecolors="black", linewidths=0.4, gid=f"quadrant-points:{name}")
    other = np.array([q not in QUADRANT_COLORS for q in quadrants])
    if other.any():
        ax.scatter(frame[x][other], frame[y][other], color="#333333", s=36, zorder=3)
    source = str(frame["importance_source"].iloc[0]) if "importance_source" in frame.columns else ""
    derived = y == "importance_derived" or (
        y == "importance" and "importance_derived" in frame.columns and frame[y].equals(frame["importance_derived"]))
    how = data.attrs.get("crosshair")
    crosshairs = (f"crosshairs: {how} performance {number(x_cross)}, {how} importance {number(y_cross)}"
                  if how in ("mean", "median") else
                  f"crosshairs: the scale midpoint (performance {number(x_cross)}, importance {number(y_cross)})"
                  if how == "midpoint" else f"crosshairs: performance {number(x_cross)}, importance {number(y_cross)}")
    ax.axvline(x_cross, color="#444444", linewidth=1, linestyle="--", gid="x_cross")
    ax.axhline(y_cross, color="#444444", linewidth=1, linestyle="--", gid="y_cross")
    xmin, xmax = frame[x].min(), frame[x].max()
    ymin, ymax = frame[y].min(), frame[y].max()
    pad_x, pad_y = (xmax - xmin) * 0.18 + 0.05, (ymax - ymin) * 0.2 + 0.02
    ax.set_xlim(min(xmin, x_cross) - pad_x, max(xmax, x_cross) + pad_x)
    ax.set_ylim(min(ymin, y_cross) - pad_y, max(ymax, y_cross) + pad_y)
    corners = {"concentrate here": (0.01, 0.99, "left", "top"), "keep up the good work": (0.99, 0.99, "right", "top"),
               "low priority": (0.01, 0.01, "left", "bottom"), "possible overkill": (0.99, 0.01, "right", "bottom")}
    names = []
    for name, (cx, cy, ha, va) in corners.items():
        color = QUADRANT_COLORS[name]
        names.append(ax.text(cx, cy, name.capitalize(), transform=ax.transAxes, ha=ha, va=va, fontsize=9.5,
                             fontweight="bold", color=color if contrast_ratio(color, "white") >= 3 else "#555555",
                             gid=f"quadrant:{name}"))
    if labels:
        texts, leaders = [], []
        for u, xv, yv in zip(frame[unit], frame[x], frame[y]):
            texts.append(ax.text(xv, yv, str(u), fontsize=7.5, va="center", ha="left", gid=f"label:{u}", zorder=4))
            leader, = ax.plot([], [], color="#999999", linewidth=0.5, zorder=2, gid=f"leader:{u}")
            leaders.append(leader)
        placer = _LabelPlacer(ax, frame[x].to_numpy(float), frame[y].to_numpy(float), texts, leaders, names,
                              marker_pt=np.sqrt(40) + 1)
        placer.set_in_layout(False)
        ax.add_artist(placer)
    ax.set_xlabel(f"performance ({_performance(inst)})" if inst else "performance")
    ax.set_ylabel("derived importance (r with overall satisfaction)" if derived
                  else f"stated importance ({source})" if source else y.replace("_", " "))
    _titled(ax, _with_n(title, frame), f"dashed {crosshairs}")
    focus = [str(u) for u, q in zip(frame[unit], quadrants) if q == "concentrate here"]
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
    is_gap = value in [g.name for g in inst.gaps]
    if is_gap:  # centred at zero; shortfalls vermillion whichever way gaps print
        norm = TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound)
        cmap = GAP_CMAP if sign > 0 else GAP_CMAP.reversed()
    else:  # a rating: a sequential scale over the scale's range (cividis reads with any colour vision)
        low, high = (inst.scale.min, inst.scale.max) if inst.scale else (np.nanmin(finite), np.nanmax(finite))
        norm = mcolors.Normalize(vmin=low, vmax=high)
        cmap = plt.get_cmap("cividis")
    image = ax.imshow(np.ma.masked_invalid(finite), cmap=cmap, norm=norm, aspect="auto")
    for (r, c), v in np.ndenumerate(finite):
        if suppressed.iat[r, c] or np.isnan(v):
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=COLORS["suppressed"], hatch="///",
                                       edgecolor="white", gid="suppressed"))
            ax.text(c, r, ("hidden" if hidden.iat[r, c] else "n < min") if suppressed.iat[r, c] else "–",
                    ha="center", va="center", fontsize=8, color="#555555")
        else:
            ax.text(c, r, number(v, signed=is_gap), ha="center", va="center", fontsize=9,
                    color=text_color_on(cmap(norm(v))), gid="value")
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
    col_wrap: int | None = None,
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
        fig = _facets(plot_trend, data, col, col_wrap=col_wrap, panel=(4.2, 3.6), sharex=True, title=title,
                      with_n=False, instrument=inst, value=value, x=x, hue=hue)
        low = min(a.get_ylim()[0] for a in fig.axes)
        high = max(a.get_ylim()[1] for a in fig.axes)
        for a in fig.axes:  # one scale for every panel, said once
            a.set_ylim(low, high)
            a.set_ylabel("")
        fig.supylabel(_trend_label(inst, value), fontsize=9)
        _one_legend(fig)
        _describe(fig, f"{value.capitalize()} across {x}s, one panel per {col} "
                       f"({', '.join(map(str, pd.unique(data[col].dropna())))}).")
        return fig
    if data.duplicated([x, hue]).any():
        raise ValueError(f"plot_trend: several rows per {x} and {hue}; filter to one group or pass col=")
    ax = _new_ax(ax, figsize=(7.5, 4.5))
    sign = _gap_sign(inst) if value in [g.name for g in inst.gaps] else 1
    levels = _ordered(data, inst, hue) if hue in ("item", "dimension") else list(pd.unique(data[hue]))
    years = sorted(int(v) for v in pd.unique(data[x].dropna()))
    dodge = 0.04 * (years[-1] - years[0] if len(years) > 1 else 1)
    for j, level in enumerate(levels):
        part = data[data[hue] == level].sort_values(x)
        xv = part[x].to_numpy(dtype=float) + dodge * (j - (len(levels) - 1) / 2)  # intervals side by side
        yv = sign * part[value].to_numpy(dtype=float)
        kwargs = {**_series_style(j), "linewidth": 1.8, "markersize": 5}
        label = _unit_label(inst, hue, level) if hue in ("item", "dimension") else str(level)
        if f"{value}_ci_low" in part.columns:
            lo_ = sign * part[f"{value}_ci_low"].to_numpy(dtype=float)
            hi_ = sign * part[f"{value}_ci_high"].to_numpy(dtype=float)
            ax.errorbar(xv, yv, yerr=[yv - np.minimum(lo_, hi_), np.maximum(lo_, hi_) - yv], label=label, capsize=3,
                        gid=f"series:{level}", **kwargs)
        else:
            ax.plot(xv, yv, label=label, gid=f"series:{level}", **kwargs)
    if value in [g.name for g in inst.gaps]:
        ax.axhline(0, color="black", linewidth=0.8, gid="zero")
    ax.set_ylabel(_trend_label(inst, value), fontsize=9)
    ax.set_xticks(years)
    # room for the dodged points and their caps, however far apart the cycles are
    pad = dodge * (len(levels) - 1) / 2 + 0.05 * max(1, years[-1] - years[0]) + 0.15
    ax.set_xlim(years[0] - pad, years[-1] + pad)
    ax.set_xlabel(x)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0), title=hue, title_fontsize=8)
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


def _trend_label(inst: Instrument, value: str) -> str:
    if value in [g.name for g in inst.gaps]:
        return _gap_axis_label(inst, value)
    return inst.measure_label(value) if value in inst.measures else value


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
    >>> len(ax.collections[-1].get_offsets())  # one point per branch
    4
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    from scipy import stats

    unit = unit or str(data.columns[0])
    _require(data, [unit, x, y], "plot_linkage")
    if len(data) < 2:
        raise ValueError("plot_linkage needs at least two units")
    ax = _new_ax(ax, figsize=(6.5, 5))
    xs, ys = data[x].to_numpy(float), data[y].to_numpy(float)
    n = len(xs)
    sizes = 30 + 120 * (data["client_n"] / data["client_n"].max()) if "client_n" in data.columns else 60
    slope, intercept = np.polyfit(xs, ys, 1)
    grid = np.linspace(xs.min(), xs.max(), 60)
    fitted = intercept + slope * grid
    if n > 2:  # the 95% confidence band of the fitted line (the mean of y at each x)
        resid = ys - (intercept + slope * xs)
        s_e = np.sqrt(resid @ resid / (n - 2))
        half = stats.t.ppf(0.975, n - 2) * s_e * np.sqrt(1 / n + (grid - xs.mean()) ** 2 / ((xs - xs.mean()) ** 2).sum())
        ax.fill_between(grid, fitted - half, fitted + half, color=MEASURE_COLORS["standard"], alpha=0.15, linewidth=0,
                        gid="fit_ci", label="95% confidence band of the line")
    ax.plot(grid, fitted, color=MEASURE_COLORS["standard"], linestyle="--", linewidth=1, gid="fit",
            label="least-squares line across units")
    ax.scatter(xs, ys, s=sizes, color=SERIES_COLORS[0], edgecolors="black", linewidths=0.5, zorder=3, gid="units")
    texts, leaders = [], []
    for xv, yv, name in zip(xs, ys, data[unit]):
        texts.append(ax.text(xv, yv, str(name), fontsize=9, gid=f"label:{name}", zorder=4))
        leader, = ax.plot([], [], color="#999999", linewidth=0.5)
        leaders.append(leader)
    placer = _LabelPlacer(ax, xs, ys, texts, leaders, [], marker_pt=float(np.sqrt(np.max(sizes))) + 1,
                          lines=[by for by in ax.lines if by.get_gid() == "fit"])
    placer.set_in_layout(False)
    ax.add_artist(placer)
    if y.endswith("gap"):
        ax.axhline(0, color="black", linewidth=0.6)
    r = float(np.corrcoef(xs, ys)[0, 1])
    if n > 3 and abs(r) < 1:
        z, half_z = np.arctanh(r), stats.norm.ppf(0.975) / np.sqrt(n - 3)
        r_text = f"r = {number(r)} (95% CI {number(np.tanh(z - half_z))} to {number(np.tanh(z + half_z))}), {n} units"
    else:
        r_text = f"r = {number(r)}, {n} units (too few for an interval)"
    ax.set_xlabel("staff climate (HPWS, mean of the characteristics)")
    ax.set_ylabel({"client_gap": "clients' overall gap (negative = shortfall)",
                   "client_perception": "clients' overall perception"}.get(y, y))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)
    _titled(ax, title, r_text)  # the r in the subtitle: never struck through by the line
    _describe(ax, (f"Scatter of {n} units by staff climate and clients' {y.replace('client_', '')}; "
                   f"{r_text.replace(number(r), f'{r:.2f}', 1)}."))
    return ax


def plot_peers(
    peers: pd.DataFrame,
    own: pd.DataFrame,
    *,
    instrument: Instrument | None = None,
    level: str = "dimension",
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = "mean rating",
) -> Axes:
    """The library among its peers: per dimension (or item) every peer institution's mean
    as a grey dot, the peers' middle half as a bar, their median as a line, and the library
    as a large blue diamond labelled with its percentile rank ("above 78% of peers").

    Parameters
    ----------
    peers
        Peer institutions' means (:func:`servqual.norms.institution_means`; columns
        ``unit`` and ``mean``, one user group).
    own
        The library's position (:func:`servqual.position`, ``by=None``): ``dimension``
        (or ``item``), ``mean``, ``percentile_rank``, ``peers``.
    xlabel
        The x axis label (what the means are: a rating, or a gap).

    Examples
    --------
    >>> import pandas as pd
    >>> from servqual.plots import plot_peers
    >>> peers = pd.DataFrame({"unit": ["a"] * 5 + ["b"] * 5, "mean": [5, 5.5, 6, 6.2, 7, 4, 4.5, 5, 5.2, 6]})
    >>> own = pd.DataFrame({"dimension": ["a", "b"], "mean": [6.5, 4.2], "percentile_rank": [80.0, 20.0],
    ...                     "peers": [5, 5]})
    >>> ax = plot_peers(peers, own)
    >>> len(ax.collections[0].get_offsets())  # every peer's dot
    10
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    units = list(own[level])
    labels = [instrument.dimension_label(u) if instrument is not None and level == "dimension" else str(u)
              for u in units]
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.55 * len(units) + 1.6))
    rows = {u: k for k, u in enumerate(units)}
    part = peers[peers["unit"].isin(rows)]
    y = part["unit"].map(rows).to_numpy(dtype=float)
    jitter = (np.arange(len(y)) % 7 - 3) * 0.035
    ax.scatter(part["mean"], y + jitter, s=14, color="#8C8C8C", alpha=0.8, linewidths=0, label="peer libraries",
               gid="peers", zorder=2)
    for unit, k in rows.items():
        values = part.loc[part["unit"] == unit, "mean"].to_numpy(dtype=float)
        if len(values):
            q1, med, q3 = np.percentile(values, [25, 50, 75])
            ax.add_patch(plt.Rectangle((q1, k - 0.28), q3 - q1, 0.56, facecolor="#E6E6E6", edgecolor="none",
                                       zorder=1, gid="middle_half"))
            ax.plot([med, med], [k - 0.3, k + 0.3], color="#555555", lw=1.5, zorder=3, gid="median")
    ax.scatter(own["mean"], np.arange(len(units)), s=90, marker="D", color=SERIES_COLORS[0], edgecolors="white",
               linewidths=1.0, zorder=4, label="this library", gid="library")
    for k, row in enumerate(own.itertuples(index=False)):
        rank = getattr(row, "percentile_rank", np.nan)
        if np.isfinite(rank):
            words = ("above all peers" if rank >= 100 else "below all peers" if rank <= 0
                     else f"above {rank:.0f}% of peers")
            ax.annotate(words, (row.mean, k), xytext=(0, 9), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8, color="#000000", gid="rank",
                        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
    ax.set_yticks(range(len(units)), [wrap_label(t, 24) for t in labels])
    ax.set_ylim(len(units) - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    ax.margins(x=0.1)  # room for the labels at the ends
    ax.grid(axis="x", color="#DDDDDD", lw=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8, frameon=False)
    n_peers = int(own["peers"].max()) if "peers" in own and len(own) else 0
    _titled(ax, title or "Where the library stands among its peers", f"{n_peers} peer libraries; grey bar: their "
            "middle half, line: their median", legend_above=True)
    best = own.loc[own["percentile_rank"].idxmax()] if "percentile_rank" in own and own["percentile_rank"].notna().any() \
        else None
    text = f"Strip chart of {len(units)} {level}s against {n_peers} peer libraries"
    if best is not None:
        label = labels[units.index(best[level])]
        text += f"; the library stands highest on {label} (above {best['percentile_rank']:.0f}% of its peers)"
    _describe(ax, text + ".")
    return ax


def plot_themes(
    data: pd.DataFrame,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    top: int | None = None,
    highlight: str | None = None,
) -> Axes:
    """What clients wrote about: the share of commenters who mention each theme, with its
    95% Wilson interval, most frequent at the top.

    Parameters
    ----------
    data
        :func:`servqual.comments.theme_frequencies` (one group): ``label``, ``share``,
        ``ci_low``, ``ci_high``, ``mentions``, ``commenters``.
    top
        Show only the most frequent themes.
    highlight
        A theme id whose bar is drawn in the second series colour (the explorer's chosen theme).

    Examples
    --------
    >>> import pandas as pd
    >>> from servqual.plots import plot_themes
    >>> data = pd.DataFrame({"label": ["Noise", "Seats"], "share": [0.1, 0.3], "ci_low": [0.05, 0.22],
    ...                      "ci_high": [0.17, 0.38], "mentions": [10, 30], "commenters": [100, 100]})
    >>> ax = plot_themes(data)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['Seats', 'Noise']
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    shown = data[~data["suppressed"]] if "suppressed" in data else data
    shown = shown.sort_values("share", ascending=False, kind="stable")
    if top:
        shown = shown.head(top)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 0.42 * len(shown) + 1.4))
    y = np.arange(len(shown))
    share = shown["share"].to_numpy(dtype=float) * 100
    low = shown["ci_low"].to_numpy(dtype=float) * 100
    high = shown["ci_high"].to_numpy(dtype=float) * 100
    colors = [SERIES_COLORS[1] if highlight is not None and t == highlight else SERIES_COLORS[0]
              for t in (shown["theme"] if "theme" in shown else [None] * len(shown))]
    ax.barh(y, share, color=colors, height=0.6, gid="themes")
    ax.errorbar(share, y, xerr=[share - low, high - share], fmt="none", ecolor="#333333", elinewidth=1, capsize=2,
                gid="intervals")
    for k, (value, count) in enumerate(zip(share, shown["mentions"])):
        ax.annotate(f"{value:.0f}% ({int(count)})", (high[k], k), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8, color="#000000", gid="value")
    ax.set_yticks(y, [wrap_label(str(t), 30) for t in shown["label"]])
    ax.set_ylim(len(shown) - 0.5, -0.5)
    ax.set_xlim(0, max(10.0, float(np.nanmax(high)) * 1.25 if len(high) else 10.0))
    ax.set_xlabel("% of comments that mention the theme")
    ax.grid(axis="x", color="#DDDDDD", lw=0.6)
    ax.set_axisbelow(True)
    commenters = int(shown["commenters"].max()) if len(shown) else 0
    _titled(ax, title or "What clients wrote about", f"{commenters:,} comments; bars: 95% Wilson intervals; a comment "
            "can mention several themes")
    if len(shown):
        first = shown.iloc[0]
        _describe(ax, f"Bar chart of {len(shown)} comment themes; the most frequent is {first['label']} "
                      f"({first['share'] * 100:.0f}% of {commenters:,} comments).")
    else:
        _describe(ax, "Bar chart of comment themes: no theme to show.")
    return ax
