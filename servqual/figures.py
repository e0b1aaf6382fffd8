"""Every figure of a survey cycle at once, ready to share (small groups suppressed).

:func:`cycle_figures` draws the set a cycle report shows; :func:`save_figures` writes
them as PNG and SVG with a ``figures.json`` index of file names and alt texts.
``make figures`` (``servqual figures``) writes the 2005 sample's set to ``docs/img``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from . import plots
from .compare import trend_table
from .ipa import importance_performance, stated_importance_source
from .scoring import gap_table, rating_distribution
from .survey import MIN_GROUP_N

__all__ = ["cycle_figures", "save_figures", "slug"]


def slug(text: str) -> str:
    """A file-name-safe version of a label: 'academic staff' → 'academic-staff'."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "all"


def _figure(target) -> Figure:
    return target if isinstance(target, Figure) else target.figure


def cycle_figures(
    survey,
    *,
    by: str | None = None,
    cycles: Sequence | None = None,
    min_group_n: int = MIN_GROUP_N,
) -> dict[str, Figure]:
    """Draw the figures of one survey cycle.

    Parameters
    ----------
    survey
        The cycle.
    by
        Segment column (default the survey's first segment).
    cycles
        All cycles of the same instrument, for the trend figure (optional).
    min_group_n
        Groups smaller than this are left out of per-group figures and shown as
        suppressed cells in the heatmap.

    Returns
    -------
    dict
        Figure name → matplotlib Figure; names are stable file stems
        (``radar-postgraduate``, ``gaps-overall``, ``heatmap``, …).  Each figure's
        one-sentence description is available with :func:`servqual.plots.alt_text`.
    """
    inst = survey.instrument
    by = by or (survey.segments[0] if survey.segments else None)
    year = f" {survey.year}" if survey.year is not None else ""
    figures: dict[str, Figure] = {}
    items_all = gap_table(survey, "item")
    if by:
        items = gap_table(survey, "item", by=by, min_group_n=min_group_n)
        for group, part in items.groupby(by, sort=True, observed=True):
            if part["suppressed"].all():  # too small to show
                continue
            name = str(group)
            ax = plots.plot_radar(part, instrument=inst, title=f"{name.capitalize()} radar chart{year}")
            figures[f"radar-{slug(name)}"] = _figure(ax)
    ax = plots.plot_radar(items_all, instrument=inst, title=f"All respondents radar chart{year}")
    figures["radar-all"] = _figure(ax)
    figures["profile-all"] = _figure(plots.plot_profile(gap_table(survey, "dimension"), instrument=inst))
    if inst.gaps:
        ax = plots.plot_gaps(items_all, instrument=inst, title=f"Overall gap analysis{year}")
        figures["gaps-overall"] = _figure(ax)
        if by:
            dims = gap_table(survey, "dimension", by=by, min_group_n=min_group_n)
            shown = dims[~dims["suppressed"]]
            if len(shown):
                figures["gaps-by-segment"] = _figure(plots.plot_gaps(shown, instrument=inst, col=by))
            figures["heatmap"] = _figure(plots.plot_gap_heatmap(dims, instrument=inst, index=by))
    if {"minimum", "desired"} <= set(inst.measures):
        figures["zone-of-tolerance"] = _figure(plots.plot_zone_of_tolerance(items_all, instrument=inst))
    if stated_importance_source(inst) is not None or survey.overall is not None:
        kind = "stated" if stated_importance_source(inst) is not None else "derived"
        grid = importance_performance(survey, importance=kind, min_group_n=min_group_n)
        figures["ipa"] = _figure(plots.plot_ipa(grid, instrument=inst, title=f"Importance–performance{year}"))
    if inst.scale is not None:
        figures["likert"] = _figure(plots.plot_likert(rating_distribution(survey), instrument=inst))
    if cycles and len(cycles) > 1:
        trend = trend_table(cycles, by=by, level="dimension", min_group_n=min_group_n)
        trend = trend[~trend["suppressed"]]
        figures["trend"] = _figure(plots.plot_trend(trend, instrument=inst, col=by) if by
                                   else plots.plot_trend(trend, instrument=inst))
    return figures


def save_figures(
    figures: dict[str, Figure],
    folder: str | Path,
    *,
    formats: Sequence[str] = ("png", "svg"),
    dpi: int = 110,
    close: bool = True,
    write_index: bool = True,
) -> list[Path]:
    """Write each figure in every format, plus ``figures.json`` (file stem → alt text)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written, index = [], {}
    for name, fig in figures.items():
        for fmt in formats:
            path = folder / f"{name}.{fmt}"
            # no date and a fixed id salt keep the files identical from run to run
            metadata = {"Date": None} if fmt == "svg" else {"Software": "servqual"}
            with plt.rc_context({"svg.hashsalt": "servqual"}):
                fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata=metadata)
            written.append(path)
        index[name] = plots.alt_text(fig if hasattr(fig, "_servqual_alt_text") else fig.axes[0])
        if close:
            plt.close(fig)
    if write_index:
        (folder / "figures.json").write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n")
        written.append(folder / "figures.json")
    return written
