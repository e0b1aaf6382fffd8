"""Every figure of a survey cycle at once, ready to share (small groups suppressed).

:func:`cycle_figures` draws the set a cycle report shows; :func:`save_figures` writes
them as PNG and SVG with a ``figures.json`` index of file names and alt texts.
``make figures`` (``servqual figures``) writes the 2005 sample's set to ``docs/img``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from . import plots
from .sections import Context, FigureCollector, applicable, slug
from .survey import MIN_GROUP_N

__all__ = ["cycle_figures", "save_figures", "slug"]  # slug re-exported for old imports


def cycle_figures(
    survey,
    *,
    by: str | None = None,
    cycles: Sequence | None = None,
    min_group_n: int = MIN_GROUP_N,
) -> dict[str, Figure]:
    """Draw the figures of one survey cycle: those of every registered section that applies
    (:mod:`servqual.sections`), the same set the cycle report shows.

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
        (``radar-by-segment``, ``gaps-overall``, ``heatmap``, …).  Each figure's
        one-sentence description is available with :func:`servqual.plots.alt_text`.
        A section that fails on this data is skipped with a warning naming it.

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.figures import cycle_figures
    >>> figures = cycle_figures(sq.read_cycle("params/library-core-2007.yaml"))
    >>> "zone-of-tolerance" in figures, "radar-by-segment" in figures
    (True, True)
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    context = Context(survey, by=by, min_group_n=min_group_n, cycles=cycles)
    sink = FigureCollector()
    for sec in applicable(context):
        if not sec.figures:
            continue
        try:
            sec.produce(context, sink)
        except Exception as exc:  # noqa: BLE001 - one odd figure must not lose the others
            warnings.warn(f"figures of section {sec.key!r} skipped: {exc}", stacklevel=2)
    return sink.figures


def save_figures(
    figures: dict[str, Figure],
    folder: str | Path,
    *,
    formats: Sequence[str] = ("png", "svg"),
    dpi: int = 110,
    close: bool = True,
    write_index: bool = True,
) -> list[Path]:
    """Write each figure in every format, plus ``figures.json`` (file stem → alt text).

    Examples
    --------
    >>> import servqual as sq, tempfile
    >>> from servqual.figures import cycle_figures, save_figures
    >>> figures = cycle_figures(sq.read_cycle('params/ipa-2007.yaml'))
    >>> paths = save_figures({'ipa': figures['ipa']}, tempfile.mkdtemp(), formats=('png',))
    >>> [p.name for p in paths]
    ['ipa.png', 'figures.json']
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written, index = [], {}
    for name, fig in figures.items():
        with plots.font_context(), plt.rc_context({"svg.hashsalt": "servqual"}):
            # the tight crop is laid out once and shared by every format (savefig would lay
            # the figure out again for each: a third of the time of writing two formats)
            shown_dpi = fig.dpi
            fig.set_dpi(dpi)  # laid out at the saving resolution, as savefig's own crop is
            fig.draw_without_rendering()
            crop = fig.get_tightbbox(fig.canvas.get_renderer())
            fig.set_dpi(shown_dpi)
            pad = plt.rcParams["savefig.pad_inches"]
            crop = crop.padded(pad if isinstance(pad, (int, float)) else 0.1)
            for fmt in formats:
                path = folder / f"{name}.{fmt}"
                # no date and a fixed id salt keep the files identical from run to run
                metadata = {"Date": None} if fmt == "svg" else {"Software": "servqual"}
                fig.savefig(path, dpi=dpi, bbox_inches=crop, metadata=metadata)
                written.append(path)
        index[name] = plots.alt_text(fig if hasattr(fig, "_servqual_alt_text") else fig.axes[0])
        if close:
            plt.close(fig)
    if write_index:
        (folder / "figures.json").write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n")
        written.append(folder / "figures.json")
    return written
