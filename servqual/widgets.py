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


def _as_surveys(surveys) -> tuple[dict[str, object], dict[str, object]]:
    """Label → Survey from a survey, a list of surveys or params files, or a mapping; and
    label → its params (``None`` for surveys given as objects)."""
    from .params import load_params, read_cycle
    from .survey import Survey

    if isinstance(surveys, (Survey, str, Path)):
        surveys = [surveys]
    items = list(surveys.items()) if isinstance(surveys, Mapping) else [(None, s) for s in surveys]
    if not items:
        raise ValueError("the explorer needs at least one survey")
    out, params_of = {}, {}
    for k, (label, survey) in enumerate(items):
        params = None
        if not isinstance(survey, Survey):
            params = load_params(survey)
            survey = read_cycle(params)
        if label is None:
            label = str(survey.year) if survey.year is not None else f"cycle {k + 1}"
        out[str(label)] = survey
        params_of[str(label)] = params
    return out, params_of


#: Show-menu entry for the radar's default picture: every measure, the gap or zone shaded.
ALL_MEASURES = "all measures"
#: Show-menu entry of the comments view: every theme's share (else one theme's comments).
ALL_THEMES = "all themes"

_CSS = """<style>
.servqual-explorer { max-width: 100%; box-sizing: border-box; }
.servqual-explorer .widget-dropdown, .servqual-explorer .widget-select-multiple, .servqual-explorer .widget-slider,
.servqual-explorer .widget-toggle-buttons { max-width: 100%; }
.servqual-explorer .explorer-figure img { max-width: 100%; height: auto; display: block; }
.servqual-explorer .gap-table, .servqual-explorer .gap-figure, .servqual-explorer .explorer-message {
  min-width: 0; max-width: 100%; width: 100%; }
.servqual-explorer .widget-html-content { min-width: 0; max-width: 100%; }
.servqual-explorer .table-scroll { overflow-x: auto; max-width: 100%; width: 100%; }
.servqual-explorer .explorer-message p { white-space: normal; line-height: 1.35; }
.servqual-explorer table.gap-table-values { border-collapse: collapse; font-size: 13px; }
.servqual-explorer table.gap-table-values th, .servqual-explorer table.gap-table-values td {
  padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left; white-space: nowrap; }
.servqual-explorer table.gap-table-values td.text { white-space: normal; min-width: 12em; }
.servqual-explorer table.gap-table-values td.num { text-align: right; font-variant-numeric: tabular-nums; }
</style>"""


def _html_table(head: Sequence[str], rows: Sequence[str]) -> str:
    """The explorer's table: escaped headers, rows of ready <td> cells, scrolling inside itself."""
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(f"<tr>{row}</tr>" for row in rows)
    return (f'<div class="table-scroll"><table class="gap-table-values"><thead><tr>{header}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _suppressed_row(labels: Sequence[str], reason: str, width: int) -> str:
    """A row whose numbers are withheld: its labels, then the reason across the other cells."""
    cells = "".join(f"<td>{html.escape(str(label))}</td>" for label in labels)
    return f'{cells}<td colspan="{width - len(labels)}">{html.escape(str(reason))}</td>'


class Explorer:
    """The explorer's state and widgets; ``.widget`` is what a notebook displays.

    Every control changes the figure or is disabled when it does not apply to the chosen
    figure: the *Show* menu offers what the figure can draw (gap bars: the gaps; radar:
    every measure together, one measure, or a gap radar; trend: gaps and measures; zone of
    tolerance and the importance–performance grid draw fixed measures, so it is disabled),
    the level is disabled for the trend (dimensions) and the cycle for the trend (all
    cycles).  Several groups are drawn on one shared axis (gap bars, radar) or as small
    multiples (zone, grid, trend).
    """

    def __init__(self, surveys, *, segment: str | None = None, min_group_n: int = MIN_GROUP_N,
                 consortium: Mapping | None = None):
        w = _require_ipywidgets()
        self.surveys, params_of = _as_surveys(surveys)
        self.consortia = {label: (dict(consortium) if consortium is not None else p.consortium if p else None)
                          for label, p in params_of.items()}
        self.codebooks = {label: p.codebook if p else None for label, p in params_of.items()}
        self.quotes_allowed = {label: p.quotes if p else True for label, p in params_of.items()}
        first = next(iter(self.surveys.values()))
        self.instrument = first.instrument
        self.segment = segment or (first.segments[0] if first.segments else None)
        labels = list(self.surveys)
        segment_values = sorted({str(v) for s in self.surveys.values() if self.segment
                                 for v in s.respondents[self.segment].dropna().unique()})
        figures = [k for k in FIGURES if self._figure_available(k)]
        wide = w.Layout(width="auto", max_width="100%")
        self.cycle = w.Dropdown(options=labels, value=labels[-1], description="Cycle", layout=wide)
        self.groups = w.SelectMultiple(options=[ALL, *segment_values], value=(ALL,), rows=min(6, len(segment_values) + 1),
                                       description=self.segment.capitalize() if self.segment else "Group",
                                       layout=wide)
        self.figure_choice = w.Dropdown(options=[(FIGURES[k], k) for k in figures], value=figures[0],
                                        description="Figure", layout=wide)
        self.quantity = w.Dropdown(options=self._quantities(figures[0]), description="Show", layout=wide)
        self.level = w.ToggleButtons(options=["dimension", "item"], value="dimension", description="Level",
                                     style={"button_width": "90px"})
        largest = max(len(s.respondents) for s in self.surveys.values())
        self.min_n = w.IntSlider(value=min_group_n, min=1, max=max(largest, min_group_n), step=1,
                                 description="Min group n",
                                 continuous_update=False, layout=w.Layout(width="340px", max_width="100%"))
        self.image = w.HTML()
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
        self.image.add_class("explorer-figure")
        row = w.Layout(display="flex", flex_flow="row wrap", align_items="flex-start", width="100%")
        controls = w.Box([self.cycle, self.figure_choice, self.quantity, self.groups, self.level, self.min_n],
                         layout=row)
        self.widget = w.VBox([w.HTML(_CSS), controls, self.message, self.image, self.download, self.table,
                              self.status], layout=w.Layout(width="100%", max_width="1000px"))
        self.widget.add_class("servqual-explorer")
        self._updating = False
        for control in (self.cycle, self.groups, self.quantity, self.level, self.figure_choice, self.min_n):
            control.observe(self._on_change, names="value")
        self.current_table = pd.DataFrame()
        self._coded_cache: dict = {}  # cycle → its coded comments
        self._position_cache: dict = {}  # (cycle, grouping, level, quantity, min n) → position table
        #: Views already drawn, by the state of every control: going back to one (undoing a
        #: change, comparing two groups back and forth) shows it at once.  The data do not
        #: change while the explorer runs; ``cache_views = 0`` turns the cache off.
        self.cache_views = 64
        self._views: dict = {}
        self.update()

    # ---- state -----------------------------------------------------------------------
    @property
    def survey(self):
        return self.surveys[self.cycle.value]

    def _figure_available(self, key: str) -> bool:
        """A figure is on the menu when its registry section applies to these surveys (the
        peers: when a cycle names a consortium)."""
        surveys = list(self.surveys.values())
        consortium = next((c for c in self.consortia.values() if c), None)
        context = Context(surveys[-1], by=self.segment, cycles=surveys if len(surveys) > 1 else None,
                          consortium=consortium)
        return any(s.explorer and s.explorer[0] == key and s.applies_to(context) for s in REGISTRY)

    def _quantities(self, key: str) -> list:
        """What the Show menu offers for a figure (label, value)."""
        inst = self.instrument
        gaps = [(g.name, g.name) for g in inst.gaps]
        measures = [(inst.measure_label(m).lower(), m) for m in inst.measures]
        if key == "gaps":
            return gaps
        if key == "radar":
            return [(ALL_MEASURES, ALL_MEASURES), *gaps, *measures]
        if key == "trend":
            return [*gaps, *measures]
        if key == "comments":  # every theme's share, or one theme's comments
            from .comments import load_codebook

            book = load_codebook(self.codebooks.get(self.cycle.value))
            return [(ALL_THEMES, ALL_THEMES), *[(t.label, t.id) for t in book.themes]]
        if key == "peers":  # the performance rating first: what peers are usually compared on
            first = [m for m in measures if m[1] == inst.performance]
            return [*first, *[m for m in measures if m[1] != inst.performance], *gaps]
        return [("(fixed by the figure)", "")]

    def _sync_controls(self) -> None:
        """Offer what the chosen figure can use; disable what it ignores."""
        key = self.figure_choice.value
        options = self._quantities(key)
        if list(self.quantity.options) != options:
            current = self.quantity.value
            self.quantity.options = options
            values = [v for _, v in options]
            self.quantity.value = current if current in values else values[0]
        self.quantity.disabled = key in ("zone", "ipa")
        self.level.disabled = key in ("trend", "comments")
        self.cycle.disabled = key == "trend"

    def selected_groups(self) -> list[str]:
        return list(self.groups.value) or [ALL]

    # ---- computing -------------------------------------------------------------------
    def table_for(self) -> pd.DataFrame:
        """The table shown: gap_table rows of the chosen groups, small groups suppressed
        (for the peers figure: the library's position among its peers per group)."""
        from .scoring import gap_table, suppress_small_groups

        if self.figure_choice.value == "peers":
            return self._peer_table()
        if self.figure_choice.value == "comments":
            return self._comment_table()
        survey, level, min_n = self.survey, self._level(), self.min_n.value
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

    def _level(self) -> str:
        return "dimension" if self.figure_choice.value == "trend" else self.level.value

    def figure_for(self, table: pd.DataFrame):
        """The figure the controls ask for (Axes or Figure), or ``None`` and the reason.

        The notebook's matplotlib backend is left alone: each figure is rendered to PNG and
        closed before the cell ends, so it never shows twice and the user's own plots keep
        their backend."""
        from . import plots

        inst, key, quantity = self.instrument, self.figure_choice.value, self.quantity.value
        if key == "peers":
            return self._peer_figure(table)
        if key == "comments":
            return self._comment_figure(table)
        shown = table[~table["suppressed"]]
        groups = list(pd.unique(shown["group"]))
        several = len(groups) > 1
        year = f" {self.cycle.value}"
        by = self.segment or "group"  # legends and alt texts name the segment column
        named = shown.rename(columns={"group": by})
        if key != "trend" and shown.empty:
            return None, f"Every selected group has fewer than {self.min_n.value} respondents; nothing is shown."
        if key == "radar":
            one = shown[shown["group"] == groups[0]]
            if quantity == ALL_MEASURES:
                target = (plots.plot_radar(shown, instrument=inst, col="group", col_wrap=2, title=f"Radar chart{year}")
                          if several else plots.plot_radar(one, instrument=inst, title=f"{groups[0]}{year}"))
            else:
                target = plots.plot_radar(named if several else one, instrument=inst, value=quantity,
                                          hue=by if several else None,
                                          title=f"{self._by_title(quantity)}{year}" if several
                                          else f"{groups[0]}{year}")
        elif key == "gaps":
            target = (plots.plot_gaps(named, instrument=inst, gap=quantity, hue=by,
                                      title=f"{self._by_title(quantity)}{year}")
                      if several else plots.plot_gaps(shown, instrument=inst, gap=quantity,
                                                      title=f"{groups[0]}{year}"))
        elif key == "zone":
            target = (plots.plot_zone_of_tolerance(shown, instrument=inst, col="group", col_wrap=2,
                                                   title=f"Zone of tolerance{year}") if several else
                      plots.plot_zone_of_tolerance(shown, instrument=inst, title=f"{groups[0]}{year}"))
        elif key == "ipa":
            grid = self._ipa_grid(groups)
            if grid.empty:
                return None, f"The selected groups have fewer than {self.min_n.value} respondents; nothing is shown."
            target = (plots.plot_ipa(grid, instrument=inst, col="group", col_wrap=2,
                                     title=f"Importance and performance{year}") if grid["group"].nunique() > 1 else
                      plots.plot_ipa(grid.drop(columns="group"), instrument=inst, title=f"{groups[0]}{year}"))
        else:
            trend = self._trend_table()
            if trend.empty:
                return None, f"The selected groups have fewer than {self.min_n.value} respondents; nothing is shown."
            target = (plots.plot_trend(trend, instrument=inst, value=quantity, col="group",
                                       title=f"{quantity} across cycles") if trend["group"].nunique() > 1 else
                      plots.plot_trend(trend.drop(columns="group"), instrument=inst, value=quantity,
                                       title=f"{trend['group'].iloc[0]}: {quantity} across cycles"))
        return target, plots.alt_text(target)

    def _draw(self, table: pd.DataFrame):
        import matplotlib.pyplot as plt

        from . import plots

        target, text = self.figure_for(table)
        if target is None:
            return None, text
        fig = target if hasattr(target, "savefig") else target.figure
        buffer = io.BytesIO()
        with plots.font_context():
            fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
        plt.close(fig)
        return buffer.getvalue(), text

    def _by_title(self, quantity: str) -> str:
        inst = self.instrument
        name = inst.measure_label(quantity) if quantity in inst.measures else quantity.capitalize()
        return f"{name} by {self.segment or 'group'}"

    def _ipa_grid(self, groups: list[str]) -> pd.DataFrame:
        from .ipa import importance_performance

        parts = []
        for group in groups:
            by = None if group == ALL else self.segment
            grid = importance_performance(self.survey, self.level.value, by=by, min_group_n=self.min_n.value)
            if by:
                grid = grid[grid[by].astype(str) == group].drop(columns=[by])
            if not grid["suppressed"].all():
                parts.append(grid.assign(group=group))
        if not parts:
            return pd.DataFrame()
        return pd.concat(parts, ignore_index=True)  # keeps the tables' attrs (how the crosshairs were set)

    # ---- peers -----------------------------------------------------------------------
    def _peer_table(self) -> pd.DataFrame:
        """:func:`servqual.position` per chosen group, in the cycle's own consortium: "All
        respondents" against the peers' all-user means, a group against the same user group
        of the peers.  A group under the minimum size (here or at too few peers) is a
        suppressed row with the reason; the peers' means ride along in ``attrs``."""
        from .norms import position

        consortium = self.consortia.get(self.cycle.value)
        columns = ["group", self._level(), "n", "mean", "peers", "peer_median", "percentile_rank",
                   "suppressed", "suppressed_reason"]
        if not consortium:
            table = pd.DataFrame(columns=columns)
            table.attrs["problem"] = (f"The {self.cycle.value} cycle names no consortium dataset "
                                      "(consortium: {dataset, institution} in its params).")
            return table
        survey, level, min_n = self.survey, self._level(), self.min_n.value
        first = survey.segments[0] if survey.segments else None
        common = {"institution": consortium.get("institution"), "peers": consortium.get("peers"),
                  "min_group_n": min_n, "level": level, "quantity": self.quantity.value or None}
        parts, peer_means = [], {}
        cache = self._position_cache

        def placed(by):  # one query per grouping and choice of controls, however many groups are shown
            key = (self.cycle.value, by, level, common["quantity"], min_n)
            if key not in cache:
                cache[key] = position(survey, consortium["dataset"], by=by, **common)
            return cache[key]

        try:
            for group in self.selected_groups():
                if group == ALL:
                    part = placed(None).copy()
                elif self.segment != first:
                    part = pd.DataFrame({"suppressed_reason": [
                        f"peers are compared by user group ({first}), not by {self.segment}"]})
                else:
                    part = placed("user_group")
                    means = part.attrs["peer_means"]
                    part = part[part["user_group"].astype(str) == group].drop(columns="user_group")
                    part.attrs["peer_means"] = means[means["user_group"].astype(str) == group]
                ranked = "percentile_rank" in part and part["percentile_rank"].notna().any()
                if ranked:
                    peer_means[group] = part.attrs["peer_means"]
                    part = part.assign(suppressed=False, suppressed_reason="")
                else:
                    reason = (part["suppressed_reason"].iloc[0] if "suppressed_reason" in part else
                              f"fewer than {min_n} respondents here, or no peer library with {min_n} in this group")
                    part = pd.DataFrame({"suppressed": [True], "suppressed_reason": [reason]})
                part = part.assign(group=group)
                part.attrs = {}  # the peers' means are kept per group, not concatenated
                parts.append(part)
        except ValueError as exc:  # the dataset has no such form, or is not a dataset
            table = pd.DataFrame(columns=columns)
            table.attrs["problem"] = f"Not compared with peers: {exc}."
            return table
        table = pd.concat(parts, ignore_index=True).reindex(columns=columns)
        table["suppressed"] = table["suppressed"].astype(bool)
        table.attrs["peer_means"] = peer_means
        return table

    def _peer_figure(self, table: pd.DataFrame):
        import matplotlib.pyplot as plt

        from . import plots

        if "problem" in table.attrs:
            return None, table.attrs["problem"]
        shown = table[~table["suppressed"]]
        if shown.empty:
            reasons = "; ".join(dict.fromkeys(table["suppressed_reason"].astype(str)))
            return None, f"Nothing to compare: {reasons}."
        inst, level, quantity = self.instrument, self._level(), self.quantity.value
        groups = list(pd.unique(shown["group"]))
        units = shown[level].nunique()
        fig, axes = plt.subplots(len(groups), 1, figsize=(7.5, len(groups) * (0.55 * units + 1.6)), squeeze=False)
        label = inst.measure_label(quantity) if quantity in inst.measures else quantity
        for ax, group in zip(axes[:, 0], groups):
            own = shown[shown["group"] == group]
            plots.plot_peers(table.attrs["peer_means"][group], own, instrument=inst, level=level, ax=ax,
                             title=f"{group}: {label.lower()} among the peers {self.cycle.value}",
                             xlabel="mean gap" if quantity not in inst.measures else "mean rating")
        plots.tight_layout(fig)
        return fig, " ".join(plots.alt_text(ax) for ax in axes[:, 0])

    def _peer_table_html(self, table: pd.DataFrame) -> str:
        from .display import number

        inst, level = self.instrument, self._level()
        head = ["Group", "Item" if level == "item" else "Dimension", "n", "Library mean", "Peers", "Peer median",
                "Percentile rank"]
        rows = []
        for _, r in table.iterrows():
            if r["suppressed"]:
                rows.append(_suppressed_row([r["group"]], r["suppressed_reason"], len(head)))
                continue
            unit = r[level]
            name = inst.dimension_label(unit) if level == "dimension" else f"{unit} {inst.items[unit].text}"
            cells = [html.escape(str(r["group"])), html.escape(name)]
            rows.append("".join(f"<td>{c}</td>" for c in cells) + "".join(
                f'<td class="num">{v}</td>' for v in (number(r["n"], 0), number(r["mean"]), number(r["peers"], 0),
                                                      number(r["peer_median"]), number(r["percentile_rank"], 0))))
        return _html_table(head, rows)

    # ---- comments --------------------------------------------------------------------
    def _coded(self):
        from .comments import code_comments

        cache = self._coded_cache
        label = self.cycle.value
        if label not in cache:
            cache[label] = code_comments(self.survey, self.codebooks.get(label))
        return cache[label]

    def _comment_table(self) -> pd.DataFrame:
        """Theme frequencies per chosen group (:func:`servqual.comments.theme_frequencies`)."""
        from .comments import theme_frequencies

        if not self.survey.comments:
            table = pd.DataFrame(columns=["group", "theme", "label", "suppressed"])
            table.attrs["problem"] = f"The {self.cycle.value} cycle has no comments column (comments: in its params)."
            return table
        coded, min_n = self._coded(), self.min_n.value
        parts = []
        for group in self.selected_groups():
            if group == ALL or not self.segment:
                part = theme_frequencies(self.survey, coded, min_group_n=min_n)
            else:
                part = theme_frequencies(self.survey, coded, by=self.segment, min_group_n=min_n)
                part = part[part[self.segment].astype(str) == group].drop(columns=[self.segment])
            parts.append(part.assign(group=group))
        table = pd.concat(parts, ignore_index=True)
        return table[["group", *[c for c in table.columns if c != "group"]]]

    def _comment_figure(self, table: pd.DataFrame):
        import matplotlib.pyplot as plt

        from . import plots

        if "problem" in table.attrs:
            return None, table.attrs["problem"]
        shown = table[~table["suppressed"]]
        if shown.empty:
            return None, f"Every selected group has fewer than {self.min_n.value} comments; nothing is shown."
        groups = list(pd.unique(shown["group"]))
        themes = shown["theme"].nunique()
        fig, axes = plt.subplots(len(groups), 1, figsize=(7.0, len(groups) * (0.42 * themes + 1.4)), squeeze=False)
        for ax, group in zip(axes[:, 0], groups):
            plots.plot_themes(shown[shown["group"] == group], ax=ax, highlight=self.quantity.value,
                              title=f"{group}: what clients wrote about {self.cycle.value}")
        plots.tight_layout(fig)
        return fig, " ".join(plots.alt_text(ax) for ax in axes[:, 0])

    def _comment_table_html(self, table: pd.DataFrame) -> str:
        """All themes: the frequencies.  One theme: its comments' sentences, with the rules of
        the report's quotes (only where the theme has at least the minimum number of writers
        in the group; masked; no segment named when it is small)."""
        from .comments import quotes
        from .display import interval, number, percent

        theme = self.quantity.value
        if "problem" in table.attrs:
            return ""
        if theme in ("", ALL_THEMES):
            head = ["Group", "Theme", "Mentions", "Comments", "Share", "95% CI"]
            rows = []
            for _, r in table.iterrows():
                if r["suppressed"]:
                    rows.append(_suppressed_row([r["group"], r["label"]], r["suppressed_reason"], len(head)))
                    continue
                cells = [html.escape(str(r["group"])), html.escape(str(r["label"]))]
                nums = [number(r["mentions"], 0), number(r["commenters"], 0), percent(r["share"]),
                        interval(100 * r["ci_low"], 100 * r["ci_high"], 0) + "%"]
                rows.append("".join(f"<td>{c}</td>" for c in cells) + "".join(f'<td class="num">{v}</td>' for v in nums))
        else:
            head = ["Group", "What clients wrote"]
            rows = []
            if not self.quotes_allowed.get(self.cycle.value, True):
                rows.append('<td colspan="2">Quotes are switched off for this cycle (quotes: false).</td>')
            coded = self._coded()
            for group in (self.selected_groups() if self.quotes_allowed.get(self.cycle.value, True) else []):
                part = coded
                if group != ALL and self.segment:
                    members = self.survey.respondents.index[
                        self.survey.respondents[self.segment].astype(str) == group].astype(str)
                    part = coded[coded["id"].astype(str).isin(members)]
                picked = quotes(self.survey, part, theme, k=30, min_group_n=self.min_n.value)
                if picked.empty:
                    rows.append(f'<td>{html.escape(group)}</td><td class="text">fewer than {self.min_n.value} comments '
                                "on this theme here; none is shown</td>")
                for q in picked.itertuples():
                    rows.append(f'<td>{html.escape(group)}</td><td class="text">{html.escape(q.quote)}</td>')
        return _html_table(head, rows)

    def _trend_table(self) -> pd.DataFrame:
        from .compare import trend_table

        surveys = list(self.surveys.values())
        parts = []
        for group in self.selected_groups():
            if group == ALL or not self.segment:
                part = trend_table(surveys, by=None, level="dimension", min_group_n=self.min_n.value)
            else:
                part = trend_table(surveys, by=self.segment, level="dimension", min_group_n=self.min_n.value)
                part = part[part[self.segment].astype(str) == group].drop(columns=[self.segment])
            part = part[~part["suppressed"]]
            if len(part):
                parts.append(part.assign(group=group))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    # ---- events ----------------------------------------------------------------------
    def _on_change(self, change) -> None:
        if self._updating:
            return
        self.update()

    def update(self) -> None:
        """Recompute the table and redraw the figure in place."""
        start = time.perf_counter()
        self._updating = True
        try:
            self._sync_controls()
        finally:
            self._updating = False
        state = tuple((c.value, c.disabled) for c in (self.cycle, self.groups, self.quantity, self.level,
                                                       self.figure_choice, self.min_n))
        view = (self._views.pop(state, None) if self.cache_views else None) or self._view()
        if self.cache_views:
            self._views[state] = view  # most recent last
            while len(self._views) > self.cache_views:
                del self._views[next(iter(self._views))]
        self.current_table, self.image_png, self.image.value, self.message.value, self.table.value, \
            self.download.value = view
        self.seconds = time.perf_counter() - start
        self.status.value = f"<small>updated in {self.seconds:.2f} s</small>"

    def _view(self) -> tuple:
        """Everything shown for the current controls: (table, PNG, figure, message, table,
        download link)."""
        table = self.table_for()
        image, text = self._draw(table)
        figure = "" if image is None else (f'<img alt="{html.escape(text)}" '
                                           f'src="data:image/png;base64,{base64.b64encode(image).decode()}">')
        shown = (self._peer_table_html(table) if self.figure_choice.value == "peers"
                 else self._comment_table_html(table) if self.figure_choice.value == "comments"
                 else self._table_html(table))
        csv = table.to_csv(index=False).encode()
        name = f"servqual-{self.cycle.value}-{self._level()}.csv"
        download = (
            f'<a class="download-link" download="{html.escape(name)}" '
            f'href="data:text/csv;base64,{base64.b64encode(csv).decode()}" '
            'style="display:inline-block;padding:4px 12px;border:1px solid #888;border-radius:3px;'
            'text-decoration:none">Download table (CSV)</a>'
        )
        weighted = ("<em>Weighted to the population: the means and intervals stand for the library's clients, not "
                    "only for those who answered.</em> " if self.survey.weighted else "")
        return table, image or b"", figure, f"<p>{weighted}{html.escape(text)}</p>", shown, download

    def _table_html(self, table: pd.DataFrame) -> str:
        """The numbers behind the figure, labelled with item text and dimension names."""
        from .display import number

        inst = self.instrument
        key, quantity = self.figure_choice.value, self.quantity.value
        unit = "item" if self._level() == "item" else "dimension"
        if key == "zone":
            values = [m for m in (inst.minimum, inst.desired, inst.performance) if m]
        elif key == "ipa" or quantity in ("", ALL_MEASURES):
            values = list(inst.quantities)
        else:
            values = [quantity]
        head = ["Group", "Item" if unit == "item" else "Dimension"] + (["Text"] if unit == "item" else []) + ["n"]
        for v in values:
            head.append(inst.measure_label(v) if v in inst.measures else v)
            if f"{v}_ci_low" in table.columns and len(values) == 1:
                head.append("95% CI")
        rows = []
        for _, r in table.iterrows():
            if unit == "item":
                labels = [r["group"], r["item"], inst.items[r["item"]].text]
            else:
                name = r["dimension"]
                labels = [r["group"], inst.dimension_label(name) if name in inst.dimensions else name]
            if r["suppressed"]:
                rows.append(_suppressed_row(labels, r["suppressed_reason"], len(head)))
                continue
            cells = [f"<td>{html.escape(str(c))}</td>" for c in labels] + [f'<td class="num">{number(r["n"], 0)}</td>']
            for v in values:
                cells.append(f'<td class="num">{number(r[v])}</td>')
                if f"{v}_ci_low" in table.columns and len(values) == 1:
                    cells.append(f'<td class="num">{number(r[f"{v}_ci_low"])} to {number(r[f"{v}_ci_high"])}</td>')
            rows.append("".join(cells))
        return _html_table(head, rows)

    def _ipython_display_(self):  # pragma: no cover - notebook display
        from IPython.display import display

        display(self.widget)


def explorer(surveys, *, segment: str | None = None, min_group_n: int = MIN_GROUP_N,
             consortium: Mapping | None = None) -> Explorer:
    """Build the interactive gap explorer for one cycle or several.

    Parameters
    ----------
    surveys
        A survey, a list of surveys (or of params files), or a mapping label → survey.
    segment
        The segment column (default the first segment of the first survey).
    min_group_n
        Initial minimum group size (a slider changes it).
    consortium
        ``{dataset, institution, peers}`` for the *Among the peer libraries* figure, for
        every cycle; by default each params file's own ``consortium:`` key.

    Returns
    -------
    Explorer
        Display it in JupyterLab, or serve the notebook with Voilà (``make explore``).
    """
    return Explorer(surveys, segment=segment, min_group_n=min_group_n, consortium=consortium)


def jupyter_data_dir() -> Path:
    """The Jupyter data folder shipped inside the package: the ``servqual`` Voilà template
    (Voilà's lab template without its CDN links) and the JupyterLab settings of ``servqual lab``."""
    from importlib import resources

    return Path(str(resources.files("servqual") / "jupyter"))


def voila_command(notebook: str | Path, *, port: int) -> tuple[list[str], dict[str, str]]:
    """The command and environment that serve ``notebook`` with Voilà on 127.0.0.1 only,
    with the package's template, so the page loads nothing from outside the machine."""
    import os
    import sys

    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(jupyter_data_dir()), env.get("JUPYTER_PATH", "")) if p)
    command = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
               "--Voila.ip=127.0.0.1", "--ServerApp.allow_root=True", "--template=servqual"]
    return command, env


def serve(params_files: Sequence[str | Path], *, port: int = 8866, build_dir: str | Path = "build") -> int:
    """Serve the explorer notebook with Voilà on 127.0.0.1 (``servqual explore``)."""
    import subprocess

    notebook = build_notebook(params_files, build_dir)
    url = f"http://127.0.0.1:{port}/"
    print(f"Serving the gap explorer at {url} (Ctrl-C stops it)", flush=True)
    command, env = voila_command(notebook, port=port)
    try:
        return subprocess.call(command, env=env)
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
