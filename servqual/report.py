"""Survey-cycle reports: the sections a report notebook calls, and running it.

The papermill templates in ``notebooks/`` stay thin: a ``parameters`` cell, Markdown
narrative and one call per section of :class:`CycleReport` (or :class:`TrendsReport`).
Each section shows its tables and figures in the notebook and writes them to the report
folder — tables as CSV, figures as PNG and SVG — and adds its headline numbers to
``summary.json``.  Everything shared respects privacy: groups under ``min_group_n`` are
suppressed, no respondent-level rows and no personal data are written.

:func:`run_report` validates a params file, executes the template with papermill (a
progress bar per notebook) and renders HTML with the code hidden and the images
embedded: ``servqual report params/2005.yaml`` → ``reports/2005/``.
"""

from __future__ import annotations

import base64
import html
import json
import os
import platform
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .instrument import load_instrument
from .params import CycleParams, ParamsError, load_params, read_cycle
from .project import project_root, template_path
from .sections import Context
from .survey import MIN_GROUP_N

__all__ = ["CycleReport", "LinkageReport", "ReportError", "TrendsReport", "default_template", "render_pdf", "run_linkage",
           "run_report", "run_trends"]

SECTIONS_FAILED = "section {section!r} failed"


class ReportError(RuntimeError):
    """A report could not be produced; the message says which section and why."""


def default_template(name: str = "survey_cycle") -> Path:
    """The notebook template shipped inside the package (``servqual/templates/<name>.py``)."""
    return template_path(name)


# --------------------------------------------------------------------------- display helpers
def _display(obj) -> None:
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython is a dependency
        print(obj)
        return
    display(obj)


def _html(text: str):
    from IPython.display import HTML

    return HTML(text)


def _markdown(text: str):
    from IPython.display import Markdown

    return Markdown(text)


def _fmt_table(frame: pd.DataFrame, digits: int = 2, instrument=None, columns=None) -> str:
    """A table as a reader sees it (:func:`servqual.display.format_table`)."""
    from .display import format_table

    return format_table(frame, instrument, digits=digits, columns=columns)


def _jsonable(value):
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else round(float(value), 10)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is pd.NA:
        return None
    return value


def software_versions() -> dict[str, str]:
    """Versions of Python and the packages a report's numbers depend on."""
    out = {"python": platform.python_version()}
    for name in ("servqual", "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "seaborn", "papermill"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


PRINT_WIDTH_IN = 7.1  # A4 less the margins: a figure this wide prints at its own size
MIN_PRINT_PT = 8.0


def fit_for_print(fig, width: float = PRINT_WIDTH_IN, min_pt: float = MIN_PRINT_PT) -> None:
    """Make a figure print legibly at its own size on A4: no text under ``min_pt`` points,
    no wider than ``width`` inches (the layout is recomputed).  Text sizes are in points,
    so a figure that is not scaled down keeps them on paper."""
    from matplotlib.text import Text

    for ax in fig.axes:  # tick labels are remade at each draw: set them on the axis
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            labels = [t for t in axis.get_ticklabels(which="both") if t.get_text().strip()]
            if labels and min(t.get_fontsize() for t in labels) < min_pt:
                ax.tick_params(axis=name, which="both", labelsize=min_pt)
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip() and text.get_fontsize() < min_pt:
            text.set_fontsize(min_pt)
    w, h = fig.get_size_inches()
    if w > width:
        fig.set_size_inches(width, h)
    if fig.get_layout_engine() is None:
        from .plots import tight_layout

        try:
            tight_layout(fig)
        except (ValueError, RuntimeError):  # pragma: no cover - an axes that cannot be laid out
            pass


@dataclass
class _Output:
    """Writes tables and figures of a report folder and keeps the summary."""

    folder: Path
    instrument: Any = None

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        (self.folder / "tables").mkdir(parents=True, exist_ok=True)
        (self.folder / "figures").mkdir(parents=True, exist_ok=True)
        self.summary: dict[str, Any] = {}
        self.figure_index: dict[str, str] = {}

    def table(self, name: str, frame: pd.DataFrame, *, caption: str | None = None, show: bool = True,
              digits: int = 2, columns=None) -> pd.DataFrame:
        frame.to_csv(self.folder / "tables" / f"{name}.csv", index=False, lineterminator="\n")
        if show:
            head = f'<p class="caption">{html.escape(caption)}</p>' if caption else ""
            _display(_html(head + _fmt_table(frame, digits, self.instrument, columns)))
        return frame

    def figure(self, name: str, target) -> None:
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        from .figures import save_figures
        from .plots import alt_text

        fig = target if isinstance(target, Figure) else target.figure
        text = alt_text(target)
        fit_for_print(fig)
        # render each format once; the report shows the PNG file just written
        save_figures({name: fig}, self.folder / "figures", close=False, write_index=False)
        self.figure_index[name] = text
        encoded = base64.b64encode((self.folder / "figures" / f"{name}.png").read_bytes()).decode("ascii")
        width = fig.get_figwidth()  # inches (≤ 7.1): the PDF prints the figure at its own size, text ≥ 8 pt
        _display(_html(f'<figure class="chart"><img src="data:image/png;base64,{encoded}" alt="{html.escape(text)}" '
                       f'style="width:{width:.2f}in;max-width:100%"><figcaption>{html.escape(text)}</figcaption>'
                       "</figure>"))
        plt.close(fig)

    def note(self, text: str) -> None:
        _display(_markdown(text))

    def write_summary(self) -> Path:
        self.summary["figures"] = self.figure_index
        (self.folder / "figures" / "figures.json").write_text(
            json.dumps(self.figure_index, indent=2, ensure_ascii=False) + "\n")
        path = self.folder / "summary.json"
        path.write_text(json.dumps(_jsonable(self.summary), indent=2, ensure_ascii=False, sort_keys=False) + "\n")
        return path


def _rules_sentence(rules) -> str:
    """The screening rules in plain words (no Python values such as None or False)."""
    parts = ["respondents with a blank rating are excluded" if rules.require_complete
             else "blank ratings are allowed (a respondent's scores use the items answered)"]
    if rules.max_not_applicable is not None:
        parts.append(f"respondents with more than {rules.max_not_applicable} items answered N/A are excluded")
    if rules.max_inversions is not None:
        parts.append(f"respondents who rate the minimum above the desired level on more than {rules.max_inversions} "
                     "items are excluded")
    parts.append({"flag": "straight-lining (the same answer to every item) is flagged, not excluded",
                  "exclude": "straight-lining (the same answer to every item) is excluded",
                  "ignore": "straight-lining is not checked"}[rules.straight_lining])
    return "; ".join(parts) + "."


# --------------------------------------------------------------------------- cycle report
class CycleReport:
    """The sections of one cycle's report, called one per notebook cell.

    Parameters
    ----------
    survey
        The screened survey.
    output_dir
        The report folder (``reports/<cycle>``).
    min_group_n
        Smallest group shown anywhere.
    by
        Segment column (default the survey's first segment).
    title
        Report title.
    seed
        Seed of every random step (bootstrap, parallel analysis), for identical reruns.
    population, weighting
        Population margins ``{column: {category: count}}`` and the weighting options
        (``{method, trim}``) of :func:`servqual.weight`: the report's numbers are then
        weighted, and a section shows the response rates and what weighting changed.
    """

    def __init__(self, survey, output_dir, *, min_group_n: int = MIN_GROUP_N, by: str | None = None,
                 title: str | None = None, seed: int = 2005, previous=None, consortium=None, codebook=None,
                 quotes: bool = True, population=None, weighting=None):
        from .scoring import combine_small_groups

        if population is not None and not survey.weighted:
            from .weighting import check_options, weight

            survey = weight(survey, population, **check_options(weighting))

        # every shared number comes from groups of at least min_group_n: small segment groups
        # are combined into "Other" (stated in the report), so nothing is recoverable by subtraction
        self.survey = combine_small_groups(survey, min_group_n)
        self.inst = survey.instrument
        self.out = _Output(Path(output_dir), self.inst)
        self.min_group_n = min_group_n
        self.by = by or (survey.segments[0] if survey.segments else None)
        self.title = title or f"{self.inst.title} {survey.year or ''}".strip()
        self.seed = seed
        if previous is not None and not hasattr(previous, "instrument"):
            previous = read_cycle(previous)
        self.previous = previous
        # one context for every chapter: a table several sections show is computed once
        self.context = Context(self.survey, by=self.by, min_group_n=min_group_n, seed=seed, previous=previous,
                               consortium=consortium, codebook=codebook, quotes=quotes)
        self.shown: list[str] = []  # keys of the sections shown so far, in order
        self.out.summary.update({
            "title": self.title, "year": survey.year, "instrument": self.inst.id,
            "respondents_read": survey.n_read, "respondents_kept": survey.n,
            "respondents_excluded": survey.n_excluded, "min_group_n": min_group_n, "segment_column": self.by,
        })

    @classmethod
    def from_params(cls, params: CycleParams | str | Path, output_dir, **kwargs) -> CycleReport:
        params = params if isinstance(params, CycleParams) else load_params(params)
        kwargs.setdefault("consortium", params.consortium)
        kwargs.setdefault("codebook", params.codebook)
        kwargs.setdefault("quotes", params.quotes)
        return cls(read_cycle(params), output_dir, min_group_n=params.min_group_n, title=params.title, **kwargs)

    # ---- sections -------------------------------------------------------------------
    def header(self) -> None:
        """The title block (its own page in the PDF): the cycle, the date, the instrument."""
        import datetime

        today = datetime.date.today()
        s = self.survey
        cycle = f"Survey cycle {s.year}" if s.year is not None else "Survey cycle"
        facts = (f"{s.n:,} of {s.n_read:,} respondents kept after screening · instrument: {self.inst.title}, "
                 f"{len(self.inst.items)} items in {len(self.inst.dimensions)} dimensions")
        note = (("A gap is performance minus its standard: a negative gap is a shortfall. " if self.inst.gaps else "")
                + f"Groups with fewer than {self.min_group_n} respondents are never shown.")
        _display(_html(
            f'<header class="title-block"><h1>{html.escape(self.title)}</h1>'
            f'<p class="cycle">{html.escape(cycle)}</p>'
            f'<p class="date">Report produced {today.day} {today:%B %Y}</p>'
            f'<p class="facts">{html.escape(facts)}</p><p class="facts">{html.escape(note)}</p></header>'))

    def show(self, chapter: str = "results") -> None:
        """Every registered section of ``chapter`` that applies to this survey, in registry
        order (:mod:`servqual.sections`), each under its own heading.  A section that fails on
        odd data is named with its reason in one line, and the others still run.  The keys of
        the sections shown are added to :attr:`shown` (nothing is returned, so a notebook
        cell shows only the sections)."""
        from .sections import CHAPTERS, applicable

        if chapter not in CHAPTERS:
            raise ValueError(f"chapter must be one of {', '.join(CHAPTERS)}, got {chapter!r}")
        context = self.context
        level = "###" if chapter == "appendix" else "##"
        shown = []
        for sec in applicable(context, chapter=chapter):
            self.out.note(f"{level} {sec.title}\n\n{sec.intro}")
            try:
                sec.produce(context, self.out)
            except Exception as exc:  # noqa: BLE001 - one odd section must not stop the report
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.out.note(f"*This section could not be produced on this data: {reason}*")
                self.out.summary.setdefault("failed_sections", {})[sec.key] = reason
            shown.append(sec.key)
        self.shown.extend(shown)
        self.out.summary["sections"] = list(self.shown)

    def methods(self) -> None:
        rules = self.survey.rules
        gaps = "; ".join(f"`{g.name} = {g.expression}`" for g in self.inst.gaps) or "none"
        versions = ", ".join(f"{k} {v}" for k, v in software_versions().items())
        self.out.note(
            "## Methods\n\n"
            f"- **Instrument**: {self.inst.title} (`{self.inst.id}`), scale {self.inst.scale}; gaps: {gaps}. "
            "A gap is performance minus its standard, so a negative gap is a shortfall.\n"
            "- **Scores**: reverse-keyed items are scored x → min + max − x; N/A answers count as missing after "
            "screening. A respondent's dimension score is the mean of the items answered (at least half of them); "
            "the overall score is the mean of the dimension scores. Gap tables pair each item's ratings (an item "
            "counts where every measure was rated), so gap means equal the difference of the measure means.\n"
            f"- **Screening rules applied**: {_rules_sentence(rules)}\n"
            f"- **Priorities**: {self._priorities_sentence()}\n"
            "- **Statistics**: t-based 95% confidence intervals; paired t and Wilcoxon signed-rank tests with Holm "
            "adjustment; Welch ANOVA, Kruskal–Wallis and Games–Howell between segments; alpha as psych::alpha "
            "with Feldt intervals; omega from one-factor ML; drivers by OLS with HC3 errors and LMG shares.\n"
            f"- **Privacy**: in each segment column, groups under {self.min_group_n} respondents are combined into "
            f"“Other” (with the next-smallest group while “Other” is still under {self.min_group_n}); item cells "
            f"under {self.min_group_n} are suppressed together with the next-smallest cell, so that no suppressed "
            "number can be worked out from a total. No respondent-level rows or personal-data columns are "
            "written.\n"
            f"- **Software**: {versions}."
        )

    def _priorities_sentence(self) -> str:
        from .ipa import importance_basis

        basis = importance_basis(self.survey)
        if not self.inst.gaps:
            return "this instrument has no gaps, so no priorities are ranked."
        used = (f"importance is {basis.description}, the best this survey has (an importance rating, else the "
                "100-point allocation, else the desired level or expectations, else the correlation with overall "
                "satisfaction), and the same importance places the items in the importance–performance grid"
                if basis else "the survey states no importance, so shortfalls rank by size")
        return (f"a shortfall qualifies when its paired t-test stays significant after Holm adjustment; {used}. "
                "Items in “concentrate here” rank first, then the other items clients rate more important, then the "
                "less important ones; within each, by shortfall × importance / mean importance.")

    def finish(self) -> None:
        """Write summary.json (headline numbers) and the figure index (``out.folder``)."""
        self.out.write_summary()


# --------------------------------------------------------------------------- trends report
class TrendsReport:
    """The sections of the cross-cycle trends report."""

    def __init__(self, surveys: Sequence, output_dir, *, min_group_n: int = MIN_GROUP_N, by: str | None = None,
                 title: str | None = None):
        from .compare import linked_trend, order_cycles

        surveys = list(surveys)
        self.linked = len({s.instrument.id for s in surveys}) > 1
        if self.linked:  # a change of form: only what both forms ask is compared (linked_trend)
            if any(s.year is None for s in surveys):
                raise ValueError("every survey needs a year to compare cycles")
            self.cycles = sorted(((s.year, s) for s in surveys), key=lambda kv: kv[0])
            linked_trend([s for _, s in self.cycles], level="dimension", min_group_n=None)  # names what cannot link
        else:
            self.cycles = order_cycles(surveys)
        self.surveys = [s for _, s in self.cycles]
        self.inst = self.surveys[-1].instrument if self.linked else self.surveys[0].instrument
        self.by = by or (self.surveys[0].segments[0] if self.surveys[0].segments else None)
        self.min_group_n = min_group_n
        self.out = _Output(Path(output_dir), self.inst)
        years = [y for y, _ in self.cycles]
        self.title = title or f"Trends {years[0]}–{years[-1]}: {self.inst.title}"
        self.out.summary.update({"title": self.title, "years": years, "instrument": self.inst.id,
                                 "respondents_kept": {str(y): s.n for y, s in self.cycles}})

    @classmethod
    def from_params(cls, params_files: Sequence, output_dir, **kwargs) -> TrendsReport:
        params = [p if isinstance(p, CycleParams) else load_params(p) for p in params_files]
        kwargs.setdefault("min_group_n", max(p.min_group_n for p in params))
        return cls([read_cycle(p) for p in params], output_dir, **kwargs)

    def header(self) -> None:
        years = ", ".join(str(y) for y, _ in self.cycles)
        self.out.note(f"# {self.title}\n\nCycles: {years}. A negative gap is a shortfall; groups with fewer than "
                      f"{self.min_group_n} respondents are not shown.")

    def trends(self) -> None:
        from .compare import linked_trend, trend_table
        from .plots import plot_trend

        by = [self.by] if self.by else None
        if self.linked:
            table = linked_trend(self.surveys, by=by, level="dimension", min_group_n=self.min_group_n)
            overall = linked_trend(self.surveys, level="dimension", min_group_n=self.min_group_n)
            self.out.note(overall.attrs["note"])
            self.out.table("trend_table", table, show=False)
            self.out.table("trend_table_all", overall, caption="All respondents: the performance rating of the "
                           "dimensions both forms ask, every cycle")
            plotted = {t: d.rename(columns={"mean": "performance", "ci_low": "performance_ci_low",
                                            "ci_high": "performance_ci_high"}) for t, d in
                       (("by", table[~table["suppressed"]]), ("all", overall))}
            # one panel: all respondents (the groups are in the table); two distant cycles make narrow facets
            self.out.figure("trend", plot_trend(plotted["all"], instrument=self.inst, value="performance",
                                                title="Performance across the change of form"))
            return
        table = trend_table(self.surveys, by=by, level="dimension", min_group_n=self.min_group_n)
        self.out.table("trend_table", table, show=False)
        overall = trend_table(self.surveys, by=None, level="dimension", min_group_n=self.min_group_n)
        self.out.table("trend_table_all", overall, caption="All respondents, dimension level, every cycle")
        shown = table[~table["suppressed"]]
        drawn = plot_trend(shown, instrument=self.inst, col=self.by) if self.by else plot_trend(overall, instrument=self.inst)
        self.out.figure("trend", drawn)

    def changes(self) -> None:
        from .compare import year_changes

        if self.linked:
            self.out.note("The forms changed between these cycles, so cycle-to-cycle tests are not run: a change in "
                          "the rating can be a change in the question. The levels above compare the performance "
                          "rating only, on the dimensions both forms ask.")
            self.out.summary["significant_changes"] = 0
            return

        changes = year_changes(self.surveys, by=self.by, level="dimension", min_group_n=self.min_group_n)
        self.out.table("year_changes", changes, show=False)
        significant = changes[(changes["p_adj"] < 0.05) & ~changes["suppressed"]]
        cols = [c for c in ["year_from", "year_to", self.by, "dimension", "n", "change", "ci_low", "ci_high",
                            "p_adj", "hedges_g"] if c]
        self.out.table("significant_changes", significant[cols],
                       caption="Changes from one cycle to the next that remain significant after Holm adjustment")
        self.out.summary["significant_changes"] = len(significant)

    def instrument_changes(self) -> None:
        rows = []
        for (y0, s0), (y1, s1) in zip(self.cycles, self.cycles[1:]):
            before, after = set(s0.instrument.items), set(s1.instrument.items)
            rows += [{"year_from": y0, "year_to": y1, "item": i, "change": "added"} for i in sorted(after - before)]
            rows += [{"year_from": y0, "year_to": y1, "item": i, "change": "dropped"} for i in sorted(before - after)]
        table = pd.DataFrame(rows, columns=["year_from", "year_to", "item", "change"])
        self.out.table("items_added_or_dropped", table, show=False)
        self.out.note("No items were added or dropped between cycles." if table.empty else
                      f"{len(table)} items were added or dropped between cycles:\n\n" + _fmt_table(table))

    def finish(self) -> None:
        """Write summary.json and the figure index."""
        self.out.write_summary()


# --------------------------------------------------------------------------- linkage report
class LinkageReport:
    """The sections of the staff-climate ↔ client-gap report."""

    def __init__(self, staff_survey, client_survey, output_dir, *, unit: str = "branch", min_group_n: int = MIN_GROUP_N,
                 title: str | None = None):
        self.staff, self.clients, self.unit = staff_survey, client_survey, unit
        self.min_group_n = min_group_n
        self.out = _Output(Path(output_dir))
        self.title = title or (f"Staff climate and client service by {unit}"
                               + (f", {client_survey.year}" if client_survey.year else ""))
        self.out.summary.update({"title": self.title, "unit": unit, "staff_respondents": staff_survey.n,
                                 "client_respondents": client_survey.n})

    @classmethod
    def from_params(cls, staff_params, client_params, output_dir, **kwargs) -> LinkageReport:
        staff, clients = load_params(staff_params), load_params(client_params)
        kwargs.setdefault("min_group_n", max(staff.min_group_n, clients.min_group_n))
        return cls(read_cycle(staff), read_cycle(clients), output_dir, **kwargs)

    def header(self) -> None:
        self.out.note(f"# {self.title}\n\nStaff rated their work climate (high performance work system "
                      f"characteristics); clients rated the service. Units are {self.unit}es; units with fewer than "
                      f"{self.min_group_n} respondents in either survey are left out.")

    def staff_reliability(self) -> None:
        from .reliability import reliability

        table = reliability(self.staff)
        self.out.table("staff_reliability", table, caption="Reliability of the staff climate scales", digits=3)

    def aggregation(self) -> None:
        from .linkage import aggregation

        result = aggregation(self.staff, self.unit)
        self.out.table("staff_agreement", result.agreement, show=False, digits=3)
        self.out.table("staff_icc", result.icc, caption="Do units differ in climate? ICC(1) and ICC(2) per "
                       "characteristic", digits=3)
        self.out.note("\n".join(f"- {w}" for w in result.warnings) or "Agreement supports aggregation to units.")
        self.out.summary["aggregation_warnings"] = list(result.warnings)

    def link(self) -> None:
        from .linkage import link
        from .plots import plot_linkage

        result = link(self.staff, self.clients, self.unit, min_group_n=self.min_group_n)
        self.out.table("units", result.units, caption=f"Staff climate and client scores per {self.unit}")
        self.out.table("unit_correlations", result.correlations, caption="Correlation across units (95% CI)",
                       digits=3)
        self.out.table("mixed_model", result.mixed_model, caption="Mixed model: client overall gap ~ unit climate "
                       "+ (1 | unit), REML", digits=4)
        self.out.figure("linkage", plot_linkage(result.units, unit=self.unit))
        self.out.note("\n".join(f"- {n}" for n in result.notes))
        gap_row = result.correlations.set_index("outcome").loc["client_gap"]
        self.out.summary["correlation_climate_gap"] = {"r": gap_row["r"], "ci_low": gap_row["ci_low"],
                                                       "ci_high": gap_row["ci_high"], "n_units": result.n_units}

    def finish(self) -> None:
        """Write summary.json and the figure index."""
        self.out.write_summary()


# --------------------------------------------------------------------------- running
def _local_kernel_manager():
    """A kernel manager talking to its kernel over local (IPC) sockets: the kernel stays on
    this machine, and it does not warn about unencrypted TCP on every report."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class LocalKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self):
            return "ipc"

        @default("ip")
        def _default_ip(self):
            # the sockets' path prefix: a private temporary folder per kernel, never the
            # project folder, so concurrent reports cannot collide
            import tempfile

            return os.path.join(tempfile.mkdtemp(prefix="servqual-kernel-"), "kernel")

    return LocalKernelManager


def _failed_section(notebook) -> tuple[str, str]:
    """The Markdown heading above the cell that failed, and the error it raised."""
    section = "start"
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    section = line.lstrip("#").strip()
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    return section, f"{output.get('ename')}: {output.get('evalue')}"
    return section, "unknown error"


def _execute(template: Path, output: Path, parameters: dict, *, progress: bool, label: str, cwd: Path) -> None:
    import jupytext
    import papermill as pm

    notebook = jupytext.read(template)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    try:
        pm.execute_notebook(notebook, str(output), parameters=parameters, kernel_name="python3",
                            progress_bar={"desc": label} if progress else False, cwd=str(cwd),
                            log_output=False, report_mode=False, kernel_manager_class=_local_kernel_manager())
    except pm.PapermillExecutionError:
        import nbformat

        section, error = _failed_section(nbformat.read(output, as_version=4))
        raise ReportError(
            f"{label}: {SECTIONS_FAILED.format(section=section)}: {error}. "
            f"The partial notebook is at {output}"
        ) from None


REPORT_CSS = """
:root { --ink: #1f2328; --muted: #57606a; --rule: #d0d7de; --accent: #0b5cad; }
html { font-size: 16px; }
body { font-family: "Noto Sans", "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink);
       line-height: 1.5; margin: 0; background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 2rem; margin: 0 0 .25rem; }
h2 { font-size: 1.45rem; margin: 2.2rem 0 .6rem; padding-top: .6rem; border-top: 2px solid var(--rule); }
h3 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; }
p, li { max-width: 75ch; }
li { margin: .35rem 0; }
.title-block { padding: 8px 0 12px; }
.title-block .cycle { font-size: 1.25rem; margin: 0; }
.title-block .date, .title-block .facts { color: var(--muted); margin: .2rem 0; }
.caption { font-style: italic; color: var(--muted); margin: 1rem 0 .3rem; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table.servqual-table { border-collapse: collapse; margin: .3rem 0 1.2rem; font-size: .9rem; }
table.servqual-table th, table.servqual-table td { padding: .3rem .6rem; border-bottom: 1px solid var(--rule);
       vertical-align: top; }
table.servqual-table th { border-bottom: 2px solid var(--ink); font-weight: 600; }
table.servqual-table .num { text-align: right; font-variant-numeric: tabular-nums; }
table.servqual-table td.num { white-space: nowrap; }
table.servqual-table th { white-space: normal; min-width: 3em; }
table.servqual-table .text { text-align: left; max-width: 32em; }
figure.chart { margin: 1rem 0 1.6rem; }
figure.chart img { display: block; height: auto; }
figcaption { color: var(--muted); font-size: .85rem; max-width: 75ch; margin-top: .3rem; }
.jp-OutputArea-output pre, pre { white-space: pre-wrap; }
a.anchor-link { display: none; }
@page { size: A4 portrait; margin: 16mm 14mm 18mm 14mm;
        @bottom-center { content: "Page " counter(page) " of " counter(pages); font-size: 8.5pt; color: #57606a;
                         font-family: "Noto Sans", "DejaVu Sans", Arial, sans-serif; }
        @bottom-left { content: string(report-title); font-size: 8.5pt; color: #57606a;
                       font-family: "Noto Sans", "DejaVu Sans", Arial, sans-serif; } }
@page :first { @bottom-center { content: none; } @bottom-left { content: none; } }
@media print {
  html { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  .title-block { page-break-after: always; padding-top: 70mm; }
  .title-block h1 { font-size: 26pt; string-set: report-title content(); }
  h2 { page-break-after: avoid; break-after: avoid; }
  h3 { page-break-after: avoid; break-after: avoid; }
  .table-wrap { overflow: visible; }
  table.servqual-table { font-size: 8.5pt; width: 100%; table-layout: auto; }
  table.servqual-table th, table.servqual-table td { padding: 2pt 4pt; }
  table.servqual-table td.ci { white-space: normal; }
  table.servqual-table .text { max-width: none; }
  tr, figure.chart { page-break-inside: avoid; break-inside: avoid; }
  figure.chart img { max-width: 100%; }
}
"""


def _render_html(notebook_path: Path, html_path: Path, title: str) -> None:
    """The executed notebook as one self-contained page: no code, no prompts, our own
    readable style for screen and print (the PDF is rendered from this page)."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    notebook = nbformat.read(notebook_path, as_version=4)
    body, _ = exporter.from_notebook_node(notebook)
    # self-contained and static: styles inline, images as data URIs, no script at all
    body = re.sub(r"<script\b[^>]*>.*?</script>", "", body, flags=re.S)
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{REPORT_CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")
    html_path.write_text(page, encoding="utf-8")


def render_pdf(html_path: str | Path, pdf_path: str | Path | None = None) -> Path:
    """A report page as an A4 PDF (WeasyPrint): a title page, page numbers, tables that
    wrap rather than run off the margin, figures at their own size (chart text ≥ 8 pt).

    Needs WeasyPrint and Debian's ``libpango-1.0-0`` (``make setup`` installs both)."""
    html_path = Path(html_path)
    pdf_path = Path(pdf_path) if pdf_path else html_path.with_suffix(".pdf")
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the Pango library is missing
        raise ReportError(f"{pdf_path}: the PDF needs WeasyPrint and the Pango library (Debian package "
                          f"libpango-1.0-0; `make setup` installs both): {exc}") from None
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    weasyprint.HTML(filename=str(html_path), base_url=str(html_path.parent)).write_pdf(str(pdf_path))
    return pdf_path


def _validate(params: Sequence[CycleParams]) -> None:
    """Every params file's columns and data, checked before any kernel starts."""
    for p in params:
        read_cycle(p).require_respondents()  # every params and data problem, as `servqual validate` reports it


def _produce(name: str, kind: str, template: str | Path | None, parameters: dict, *, reports_dir, project: Path,
             title: str, progress: bool, label: str, pdf: bool = False) -> tuple[Path, dict]:
    """Execute a template (default the package's ``templates/<kind>.py``) into
    ``<project>/reports/<name>/<kind>.ipynb`` (or ``reports_dir/<name>``), with the kernel
    in the project folder; render its HTML, return the summary."""
    template = Path(template) if template else default_template(kind)
    folder = (Path(reports_dir) if reports_dir is not None else project / "reports").absolute() / name
    folder.mkdir(parents=True, exist_ok=True)
    notebook = folder / f"{kind}.ipynb"
    _execute(template, notebook, {**parameters, "output_dir": str(folder)}, progress=progress, label=label,
             cwd=project)
    _render_html(notebook, folder / "report.html", title)
    if pdf:
        render_pdf(folder / "report.html", folder / "report.pdf")
    return folder, json.loads((folder / "summary.json").read_text())


def previous_cycle(params_path: str | Path, params: CycleParams | None = None) -> Path | None:
    """The params file of the cycle before this one: in the same folder, the same
    instrument, the latest year before this cycle's (``None`` when there is none)."""
    params = params or load_params(params_path)
    if params.year is None:
        return None
    best = None
    for other in sorted(Path(params_path).resolve().parent.glob("*.yaml")):
        if other.resolve() == Path(params_path).resolve():
            continue
        try:
            candidate = load_params(other)
        except (ParamsError, OSError, ValueError):
            continue
        if candidate.instrument == params.instrument and candidate.year is not None and candidate.year < params.year:
            if best is None or candidate.year > best[0]:
                best = (candidate.year, other.resolve())
    return best[1] if best else None


def run_report(
    params_path: str | Path,
    *,
    reports_dir: str | Path | None = None,
    template: str | Path | None = None,
    progress: bool = True,
    out=None,
    pdf: bool = False,
    previous: str | Path | None | bool = True,
) -> Path:
    """Produce one cycle's report folder: ``<project>/reports/<cycle>/`` (cycle = params
    file stem, project = the folder holding ``params/``), wherever the command runs;
    ``reports_dir`` puts it elsewhere.

    Validates the params (keys, files, instrument, segment columns, the data itself)
    before any kernel starts, executes the template with papermill, renders
    ``report.html`` with the code hidden and images embedded (and ``report.pdf``, A4,
    with ``pdf=True``), and prints a short summary.  ``previous`` is the params file of the
    cycle before, for the summary's "change since last cycle": ``True`` (default) finds it
    beside this one (:func:`previous_cycle`), ``False``/``None`` leaves it out.
    Returns the report folder.
    """
    out = out or sys.stdout
    params = load_params(params_path)
    if previous is True:
        previous = previous_cycle(params_path, params)
    elif previous is False:
        previous = None
    _validate([params] + ([load_params(previous)] if previous else []))
    parameters = {**params.as_dict(), "responses": str(Path(params.responses).resolve()),
                  "previous": str(Path(previous).resolve()) if previous else None}
    folder, summary = _produce(Path(params_path).stem, "survey_cycle", template, parameters, reports_dir=reports_dir,
                               project=project_root(params_path), title=params.title or Path(params_path).stem,
                               progress=progress, label=str(params_path), pdf=pdf)
    print(f"Report: {folder / 'report.html'}" + (f" and {folder / 'report.pdf'}" if pdf else ""), file=out)
    print(f"  {summary['respondents_kept']} of {summary['respondents_read']} respondents kept", file=out)
    if summary.get("headline"):
        print(f"  {re.sub(r'[*]', '', summary['headline'])}", file=out)
    for k, sentence in enumerate(summary.get("actions") or [], start=1):
        print(f"  {k}. {sentence}", file=out)
    return folder


def run_linkage(
    staff_params: str | Path,
    client_params: str | Path,
    *,
    unit: str = "branch",
    reports_dir: str | Path | None = None,
    template: str | Path | None = None,
    progress: bool = True,
    out=None,
) -> Path:
    """Produce the linkage report ``reports/linkage/`` from the staff and a client cycle."""
    out = out or sys.stdout
    params = [load_params(staff_params), load_params(client_params)]
    for p in params:
        if unit not in p.segments:
            raise ParamsError(f"{p.source}: segments: the unit column {unit!r} must be listed as a segment")
    _validate(params)
    parameters = {"staff": str(Path(staff_params).resolve()), "clients": str(Path(client_params).resolve()),
                  "unit": unit, "min_group_n": max(p.min_group_n for p in params)}
    folder, summary = _produce("linkage", "linkage", template, parameters, reports_dir=reports_dir,
                               project=project_root(client_params),
                               title="Staff climate and client service", progress=progress, label="linkage")
    c = summary["correlation_climate_gap"]
    print(f"Linkage report: {folder / 'report.html'}; r = {c['r']:.2f} across {c['n_units']} units "
          f"(95% CI {c['ci_low']:.2f} to {c['ci_high']:.2f})", file=out)
    return folder


def run_trends(
    params_files: Sequence[str | Path],
    *,
    reports_dir: str | Path | None = None,
    template: str | Path | None = None,
    progress: bool = True,
    out=None,
) -> Path:
    """Produce the trends report ``reports/trends/`` from several cycles' params files."""
    out = out or sys.stdout
    params = [load_params(p) for p in params_files]
    ids = {p.instrument for p in params}
    if len(ids) > 1:  # a change of form links only through dimensions with the same items
        linked = [load_instrument(i) for i in sorted(ids)]
        shared = [d for d, its in linked[-1].dimensions.items()
                  if all(any(set(o) == set(its) for o in f.dimensions.values()) for f in linked)]
        if not shared:
            raise ParamsError(f"trends need cycles of one instrument, or of forms that share dimensions (the same "
                              f"items); got {', '.join(sorted(ids))}")
    _validate(params)
    parameters = {"cycles": [str(Path(p).resolve()) for p in params_files],
                  "min_group_n": max(p.min_group_n for p in params)}
    folder, summary = _produce("trends", "trends", template, parameters, reports_dir=reports_dir,
                               project=project_root(params_files[0]), title="Trends",
                               progress=progress, label="trends")
    print(f"Trends report: {folder / 'report.html'} ({', '.join(map(str, summary['years']))}); "
          f"{summary.get('significant_changes', 0)} significant changes", file=out)
    return folder
