"""The interactive gap explorer: ipywidgets in JupyterLab, and a Voilà web app.

``sq.explorer(surveys)`` builds controls from the instrument and the data — cycle,
segment(s), measure or gap, level, figure, minimum group size — with the figure and the
table below it updating together, and a link that downloads the current table as CSV.
The figure is redrawn in place (one Image widget), small groups are suppressed as in
reports, and ipywidgets is imported only when an explorer is built.
"""

from __future__ import annotations

import base64
import html
import io
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from .sections import REGISTRY, Context
from .survey import MIN_GROUP_N

__all__ = ["Explorer", "explorer"]

ALL = "All respondents"
#: The explorer's figure menu: the registry's sections that have an explorer entry.
FIGURES = {s.explorer[0]: s.explorer[1] for s in REGISTRY if s.explorer}


def _require_ipywidgets():
    try:
        import ipywidgets
    except ImportError:  # pragma: no cover - ipywidgets is a dependency
        raise ImportError(
            "the explorer needs ipywidgets: pip install ipywidgets (and voila to serve it as a web app)"
        ) from None
    return ipywidgets


def _as_surveys(surveys) -> dict[str, object]:
    """Label → Survey from a survey, a list of surveys or params files, or a mapping."""
    from .params import read_cycle
    from .survey import Survey

    if isinstance(surveys, (Survey, str, Path)):
        surveys = [surveys]
    if isinstance(surveys, Mapping):
        items = list(surveys.items())
    else:
        loaded = [s if isinstance(s, Survey) else read_cycle(s) for s in surveys]
        items = [(str(s.year) if s.year is not None else f"cycle {k + 1}", s) for k, s in enumerate(loaded)]
    if not items:
        raise ValueError("the explorer needs at least one survey")
    out = {}
    for label, survey in items:
        if not isinstance(survey, Survey):
            survey = read_cycle(survey)
        out[str(label)] = survey
    return out


class Explorer:
    """The explorer's state and widgets; ``.widget`` is what a notebook displays."""

    def __init__(self, surveys, *, segment: str | None = None, min_group_n: int = MIN_GROUP_N):
        w = _require_ipywidgets()
        self.surveys = _as_surveys(surveys)
        first = next(iter(self.surveys.values()))
        self.instrument = first.instrument
        self.segment = segment or (first.segments[0] if first.segments else None)
        labels = list(self.surveys)
        segment_values = sorted({str(v) for s in self.surveys.values() if self.segment
                                 for v in s.respondents[self.segment].dropna().unique()})
        quantities = [g.name for g in self.instrument.gaps] + list(self.instrument.measures)
        figures = [k for k in FIGURES if self._figure_available(k)]
        self.cycle = w.Dropdown(options=labels, value=labels[-1], description="Cycle")
        self.groups = w.SelectMultiple(options=[ALL, *segment_values], value=(ALL,), rows=min(6, len(segment_values) + 1),
                                       description=self.segment.capitalize() if self.segment else "Group")
        self.quantity = w.Dropdown(options=quantities, value=quantities[0], description="Show")
        self.level = w.ToggleButtons(options=["dimension", "item"], value="dimension", description="Level")
        self.figure_choice = w.Dropdown(options=[(FIGURES[k], k) for k in figures], value=figures[0],
                                        description="Figure")
        self.min_n = w.IntSlider(value=min_group_n, min=1, max=200, step=1, description="Min group n",
                                 continuous_update=False)
        self.image = w.Image(format="png", layout=w.Layout(max_width="900px"))
        self.message = w.HTML()
        self.table = w.HTML()
        self.download = w.HTML()
        self.status = w.HTML()
        for widget, css in ((self.cycle, "cycle-select"), (self.groups, "segment-select"),
                            (self.quantity, "quantity-select"), (self.level, "level-select"),
                            (self.figure_choice, "figure-select"), (self.min_n, "min-n-slider"),
                            (self.image, "gap-figure"), (self.table, "gap-table"), (self.download, "download-csv"),
                            (self.message, "explorer-message"), (self.status, "explorer-status")):
            widget.add_class(css)
        controls = w.VBox([
            w.HBox([self.cycle, self.quantity, self.figure_choice]),
            w.HBox([self.groups, w.VBox([self.level, self.min_n])]),
        ])
        self.widget = w.VBox([controls, self.message, self.image, self.download, self.table, self.status])
        self.widget.add_class("servqual-explorer")
        for control in (self.cycle, self.groups, self.quantity, self.level, self.figure_choice, self.min_n):
            control.observe(self._on_change, names="value")
        self.current_table = pd.DataFrame()
        self.update()

    # ---- state -----------------------------------------------------------------------
    @property
    def survey(self):
        return self.surveys[self.cycle.value]

    def _figure_available(self, key: str) -> bool:
        """A figure is on the menu when its registry section applies to these surveys."""
        surveys = list(self.surveys.values())
        context = Context(surveys[-1], by=self.segment, cycles=surveys if len(surveys) > 1 else None)
        return any(s.explorer and s.explorer[0] == key and s.applies_to(context) for s in REGISTRY)

    def selected_groups(self) -> list[str]:
        chosen = list(self.groups.value) or [ALL]
        return chosen

    # ---- computing -------------------------------------------------------------------
    def table_for(self) -> pd.DataFrame:
        """The table shown: gap_table rows of the chosen groups, small groups suppressed."""
        from .scoring import gap_table, suppress_small_groups

        survey, level, min_n = self.survey, self.level.value, self.min_n.value
        parts = []
        for group in self.selected_groups():
            if group == ALL or not self.segment:
                table = gap_table(survey, level)
                table.insert(0, "group", ALL)
            else:
                table = gap_table(survey, level, by=self.segment)
                table = table[table[self.segment].astype(str) == group].drop(columns=[self.segment])
                table.insert(0, "group", group)
            parts.append(table)
        table = pd.concat(parts, ignore_index=True)
        return suppress_small_groups(table, min_n)

    def _draw(self, table: pd.DataFrame):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from . import plots
        from .compare import trend_table
        from .ipa import importance_performance

        inst, key, quantity = self.instrument, self.figure_choice.value, self.quantity.value
        shown = table[~table["suppressed"]]
        groups = list(pd.unique(shown["group"]))
        if key != "trend" and shown.empty:
            return None, f"Every selected group has fewer than {self.min_n.value} respondents; nothing is shown."
        if key == "radar":
            if len(groups) > 1:
                target = plots.plot_radar(shown, instrument=inst, hue="group", value=quantity)
            else:
                target = plots.plot_radar(shown, instrument=inst, title=groups[0])
        elif key == "gaps":
            gap = quantity if quantity in [g.name for g in inst.gaps] else inst.gaps[0].name
            target = (plots.plot_gaps(shown, instrument=inst, gap=gap, col="group") if len(groups) > 1
                      else plots.plot_gaps(shown, instrument=inst, gap=gap, title=groups[0]))
        elif key == "zone":
            target = plots.plot_zone_of_tolerance(shown[shown["group"] == groups[0]], instrument=inst, title=groups[0])
        elif key == "ipa":
            group = groups[0]
            by = None if group == ALL else self.segment
            grid = importance_performance(self.survey, self.level.value, by=by, min_group_n=self.min_n.value)
            if by:
                grid = grid[grid[by].astype(str) == group].drop(columns=[by])
            if grid["suppressed"].all():
                return None, f"{group} has fewer than {self.min_n.value} respondents; nothing is shown."
            target = plots.plot_ipa(grid, instrument=inst, title=group)
        else:
            surveys = list(self.surveys.values())
            trend = trend_table(surveys, by=self.segment, level="dimension", min_group_n=self.min_n.value)
            trend = trend[~trend["suppressed"]]
            chosen = [g for g in self.selected_groups() if g != ALL]
            if chosen and self.segment:
                trend = trend[trend[self.segment].astype(str).isin(chosen)]
                target = plots.plot_trend(trend, instrument=inst, value=quantity, col=self.segment)
            else:
                target = plots.plot_trend(trend_table(surveys, by=None, level="dimension", min_group_n=self.min_n.value),
                                          instrument=inst, value=quantity)
        fig = target if hasattr(target, "savefig") else target.figure
        buffer = io.BytesIO()
        with plots.font_context():
            fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        return buffer.getvalue(), plots.alt_text(target)

    # ---- events ----------------------------------------------------------------------
    def _on_change(self, _change) -> None:
        self.update()

    def update(self) -> None:
        """Recompute the table and redraw the figure in place."""
        start = time.perf_counter()
        table = self.table_for()
        self.current_table = table
        image, text = self._draw(table)
        if image is None:
            self.image.value = b""
            self.image.layout.display = "none"
        else:
            self.image.value = image
            self.image.layout.display = None
        self.message.value = f"<p>{html.escape(text)}</p>"
        self.table.value = self._table_html(table)
        csv = table.to_csv(index=False).encode()
        name = f"servqual-{self.cycle.value}-{self.level.value}.csv"
        self.download.value = (
            f'<a class="download-link" download="{html.escape(name)}" '
            f'href="data:text/csv;base64,{base64.b64encode(csv).decode()}" '
            'style="display:inline-block;padding:4px 12px;border:1px solid #888;border-radius:3px;'
            'text-decoration:none">Download table (CSV)</a>'
        )
        self.status.value = f"<small>updated in {time.perf_counter() - start:.2f} s</small>"

    def _table_html(self, table: pd.DataFrame) -> str:
        quantity = self.quantity.value
        unit = "item" if self.level.value == "item" else "dimension"
        columns = ["group", unit, "n", quantity]
        for suffix in ("_ci_low", "_ci_high"):
            if f"{quantity}{suffix}" in table.columns:
                columns.append(f"{quantity}{suffix}")
        shown = table[columns + ["suppressed_reason"]].rename(columns={"suppressed_reason": "note"})
        return shown.to_html(index=False, na_rep="—", float_format=lambda v: f"{v:.2f}", border=0,
                             classes="gap-table-values")

    def _ipython_display_(self):  # pragma: no cover - notebook display
        from IPython.display import display

        display(self.widget)


def explorer(surveys, *, segment: str | None = None, min_group_n: int = MIN_GROUP_N) -> Explorer:
    """Build the interactive gap explorer for one cycle or several.

    Parameters
    ----------
    surveys
        A survey, a list of surveys (or of params files), or a mapping label → survey.
    segment
        The segment column (default the first segment of the first survey).
    min_group_n
        Initial minimum group size (a slider changes it).

    Returns
    -------
    Explorer
        Display it in JupyterLab, or serve the notebook with Voilà (``make explore``).
    """
    return Explorer(surveys, segment=segment, min_group_n=min_group_n)


def serve(params_files: Sequence[str | Path], *, port: int = 8866, build_dir: str | Path = "build") -> int:
    """Serve the explorer notebook with Voilà on 127.0.0.1 (``servqual explore``)."""
    import subprocess
    import sys

    notebook = build_notebook(params_files, build_dir)
    url = f"http://127.0.0.1:{port}/"
    print(f"Serving the gap explorer at {url} (Ctrl-C stops it)", flush=True)
    command = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
               "--Voila.ip=127.0.0.1", "--ServerApp.allow_root=True"]
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


def build_notebook(params_files: Sequence[str | Path], build_dir: str | Path = "build") -> Path:
    """Write ``build/explore.ipynb`` from ``notebooks/explore.py`` with absolute params paths."""
    import jupytext

    from .project import template_path

    notebook = jupytext.read(template_path("explore"))
    cycles = [str(Path(p).resolve()) for p in params_files]
    for cell in notebook.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = f"cycles = {cycles!r}\nmin_group_n = {MIN_GROUP_N}"
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out = Path(build_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "explore.ipynb"
    jupytext.write(notebook, path)
    return path
