"""THE registry of a cycle's sections: what applies to which survey, and what it produces.

Every face reads this one list — the cycle report (:class:`servqual.report.CycleReport`),
the figures gallery (:func:`servqual.figures.cycle_figures`), the explorer's figure menu
and ``servqual score`` — so adding a figure or a section is one entry here.

A :class:`Section` says

* ``applies(context)``: ``None`` when the section applies to this survey, else the reason
  it does not (a section that does not apply never appears; the reason is for
  :func:`plan`, which tells a user why something is missing);
* ``produce(context, sink)``: its tables, figures, notes and headline numbers, written to a
  sink (the report's output folder, a figure collector, or the terminal);
* ``chapter``: ``"summary"`` (the first screen: the answer), ``"results"`` or
  ``"appendix"`` (technical material a manager can skip);
* ``figures``: the names of the figures it draws (``radar-all``, ``zone-of-tolerance`` …),
  and ``explorer``: the explorer's menu entry (key and label) when it has one.

A section that fails on odd data is reported by the face in one line naming the section
and the reason; the others still run.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from .survey import MIN_GROUP_N, RULES

__all__ = ["REGISTRY", "Context", "Section", "Sink", "applicable", "plan", "section", "slug"]

CHAPTERS = ("summary", "results", "appendix")


def slug(text: str) -> str:
    """A file-name-safe version of a label that keeps its letters in any script:
    'Academic staff' → 'academic-staff', '20대' → '20대', '남' → '남'.

    Examples
    --------
    >>> from servqual.sections import slug
    >>> slug("Academic staff"), slug("50대 이상"), slug("Étudiant·e/s")
    ('academic-staff', '50대-이상', 'étudiant-e-s')
    """
    return re.sub(r"[^\w]+", "-", str(text).casefold()).strip("-_") or "group"


def unique_slug(text: str, used: set[str]) -> str:
    """:func:`slug`, made unique among ``used`` (which it extends): two labels never share a
    file name."""
    base = slug(text)
    name, k = base, 2
    while name in used:
        name, k = f"{base}-{k}", k + 1
    used.add(name)
    return name


class Sink(Protocol):
    """Where a section's output goes (a report folder, a figure collector, a terminal)."""

    summary: dict

    def table(self, name: str, frame: pd.DataFrame, *, caption: str | None = None, show: bool = True,
              digits: int = 2, columns: Sequence[str] | None = None) -> Any: ...

    def figure(self, name: str, target) -> None: ...

    def note(self, text: str) -> None: ...


@dataclass
class Context:
    """What a section may look at: the screened survey and the report's choices."""

    survey: Any
    by: str | None = None
    min_group_n: int = MIN_GROUP_N
    cycles: Sequence | None = None
    seed: int = 2005
    previous: Any = None  # the survey of the cycle before, for "change since last time"
    consortium: Any = None  # {dataset, institution, peers}: where the library stands among its peers
    codebook: Any = None  # the comments' codebook (default the built-in "library")
    quotes: bool = True  # false: no comment is quoted

    def __post_init__(self) -> None:
        if self.by is None and self.survey.segments:
            self.by = self.survey.segments[0]
        self._tables: dict = {}
        self.peer_problem: str | None = None

    def _once(self, key, make):
        """The table under ``key``, made by ``make()`` the first time it is asked for."""
        if key not in self._tables:
            self._tables[key] = make()
        return self._tables[key]

    def gap_table(self, level: str, by: str | None = None):
        """:func:`servqual.gap_table` at this context's ``min_group_n``, computed once per
        level and grouping however many sections show it (a copy each time)."""
        from .scoring import gap_table

        return self._once((level, by), lambda: gap_table(self.survey, level, by=by,
                                                         min_group_n=self.min_group_n)).copy()

    def action_plan(self, *, unweighted: bool = False):
        """:func:`servqual.action_plan` (top 3) at this context's ``min_group_n``, computed
        once; ``unweighted=True``: the same survey without its population weights."""
        from .priorities import action_plan

        survey = self.survey.with_weights(None) if unweighted else self.survey
        return self._once(("action_plan", unweighted),
                          lambda: action_plan(survey, top=3, min_group_n=self.min_group_n))

    def peer_position(self, by: str | None = None):
        """:func:`servqual.position` of this cycle in :attr:`consortium` (``by`` None or
        ``"user_group"``), computed once; ``None`` when no peer library has this cycle's year
        and form, or the dataset cannot be read (the reason in :attr:`peer_problem`)."""
        return self._once(("peers", by), lambda: self._position(by))

    def _position(self, by: str | None):
        from .norms import position

        cons = self.consortium
        try:
            table = position(self.survey, cons["dataset"], institution=cons["institution"], by=by,
                             peers=cons.get("peers"), min_group_n=self.min_group_n)
        except ValueError as exc:  # no such form in the dataset, or not a dataset at all
            self.peer_problem = str(exc)
            return None
        if table.empty or "percentile_rank" not in table or table["percentile_rank"].isna().all():
            self.peer_problem = (f"no peer library in {cons['dataset']} has {self.survey.year} cycles on the "
                                 f"{self.inst.id} form with at least {self.min_group_n} respondents")
            return None
        return table

    def comment_table(self):
        """:func:`servqual.comments.comment_table` of this cycle, read once."""
        from .comments import comment_table

        return self._once("comment_table", lambda: comment_table(self.survey))

    def coded(self):
        """:func:`servqual.code_comments` of this cycle, computed once."""
        from .comments import code_comments

        return self._once("coded", lambda: code_comments(self.survey, self.codebook))

    def theme_frequencies(self, by: str | None = None):
        """:func:`servqual.theme_frequencies` of the coded comments, computed once per grouping."""
        from .comments import theme_frequencies

        return self._once(("themes", by), lambda: theme_frequencies(self.survey, self.coded(), by=by,
                                                                    min_group_n=self.min_group_n))

    @property
    def inst(self):
        return self.survey.instrument

    @property
    def columns(self) -> list[str]:
        """Every segment column, the report's main one (:attr:`by`) first."""
        rest = [c for c in self.survey.segments if c != self.by]
        return ([self.by] if self.by else []) + rest

    @property
    def year(self) -> str:
        return f" {self.survey.year}" if self.survey.year is not None else ""


@dataclass(frozen=True)
class Section:
    """One entry of the registry (see the module docstring)."""

    key: str
    title: str
    intro: str
    applies: Callable[[Context], str | None]
    produce: Callable[[Context, Sink], None]
    chapter: str = "results"
    figures: tuple[str, ...] = ()
    explorer: tuple[str, str] | None = None  # (menu key, label)
    terminal: bool = False  # printed by ``servqual score``

    def applies_to(self, context: Context) -> bool:
        return self.applies(context) is None


# --------------------------------------------------------------------------- conditions
def _always(_: Context) -> str | None:
    return None


def _has_segments(c: Context) -> str | None:
    return None if c.by else "the survey has no segment column"


def _has_comparable_segments(c: Context) -> str | None:
    if not c.by:
        return "the survey has no segment column"
    sizes = c.survey.respondents[c.by].value_counts()
    large = int((sizes >= c.min_group_n).sum())
    if large < 2:
        return (f"only {large} {c.by} group has at least {c.min_group_n} respondents; groups are compared when two or "
                "more are large enough")
    return None


def _has_gaps(c: Context) -> str | None:
    return None if c.inst.gaps else f"instrument {c.inst.id!r} has no gaps (it rates performance only)"


def _has_zone(c: Context) -> str | None:
    return None if c.inst.has_zone_of_tolerance else f"instrument {c.inst.id!r} asks no minimum and desired levels"


def _has_importance(c: Context) -> str | None:
    from .ipa import importance_basis

    if importance_basis(c.survey) is not None:
        return None
    return "the survey has neither stated importance nor an overall-satisfaction item"


def _has_comments(c: Context) -> str | None:
    if not c.survey.comments:
        return "the params name no comments column (comments: <the free-text column>)"
    n = len(c.comment_table())
    return None if n >= c.min_group_n else f"only {n} respondents left a comment (fewer than {c.min_group_n})"


def _has_weights(c: Context) -> str | None:
    return None if c.survey.weighted else ("the params give no population margins (population: {column: {category: "
                                           "count}}), so the results are the respondents' own, unweighted")


def _has_overall(c: Context) -> str | None:
    return None if c.survey.overall is not None else "the survey has no overall-satisfaction item"


def _has_scale(c: Context) -> str | None:
    return None if c.inst.scale is not None else f"instrument {c.inst.id!r} has no rating scale"


def _has_consortium(c: Context) -> str | None:
    return None if c.consortium else "the params name no consortium dataset (consortium: {dataset, institution})"


def _has_cycles(c: Context) -> str | None:
    return None if c.cycles and len(c.cycles) > 1 else "only one cycle is given"


def _figure(target):
    from matplotlib.figure import Figure

    return target if isinstance(target, Figure) else target.figure


# --------------------------------------------------------------------------- producers
def _screening(c: Context, out: Sink) -> None:
    s = c.survey
    out.table("screening_summary", s.screening_summary(), caption="Respondents read, excluded or flagged, "
              "and kept, by screening rule")
    log = s.screening
    reasons = (log.groupby(["rule", "action", "detail"], sort=True).size().rename("respondents").reset_index()
               if len(log) else pd.DataFrame(columns=["rule", "action", "detail", "respondents"]))
    out.table("screening_reasons", reasons, caption="Screening reasons (counts only, no respondent rows)", show=False)
    if c.inst.sampled_items:
        coverage = s.item_coverage().reset_index()
        sampled = coverage[coverage["sampled"]]
        coverage["sampled"] = coverage["sampled"].map({True: "sampled", False: "core"})
        out.note(f"Each respondent was shown the {len(coverage) - len(sampled)} core items and a random subset of the "
                 f"other {len(sampled)}; each of those was seen by {sampled['shown'].min():,}–"
                 f"{sampled['shown'].max():,} of the {s.n:,} respondents kept, so their means rest on fewer "
                 "answers (the item tables give each item's n). Screening and dimension scores count only the "
                 "items a respondent was shown.")
        out.table("item_coverage", coverage, caption="How many respondents were shown and rated each item",
                  digits=2, columns=["item", "dimension", "sampled", "shown", "share_shown",
                                     *[f"n_{m}" for m in c.inst.measures]])
    out.summary["screening"] = {f"{r.rule} ({r.action})": int(r.respondents)
                                for r in s.screening_summary().itertuples() if r.rule in RULES}


def _respondents(c: Context, out: Sink) -> None:
    from .scoring import suppress_small_groups

    out.summary["respondents_by_segment"] = {}
    for column in c.columns:
        counts = c.survey.respondents[column].value_counts(dropna=False).rename_axis(column)
        table = counts.rename("n").reset_index().sort_values(column, kind="stable")
        table["share"] = table["n"] / table["n"].sum()
        table = suppress_small_groups(table, c.min_group_n, groups=[column])
        name = _per_column(c, column, "respondents_by_segment", "respondents")
        out.table(name, table, caption=f"Respondents by {column}")
        out.summary[name] = {str(r[column]): (None if pd.isna(r["n"]) else int(r["n"])) for _, r in table.iterrows()}
    for column, groups in c.survey.combined_groups.items():
        out.note(f"*{column.capitalize()}: {_and(groups)} {'is' if len(groups) == 1 else 'are'} shown together as "
                 f"“Other”, so that no group under {c.min_group_n} respondents is shown and none can be worked "
                 "out from the totals.*")


def _per_column(c: Context, column: str | None, main: str, stem: str) -> str:
    """A per-column output's name: ``main`` for the main segment column (the names the
    report has always used), ``<stem>_by_<column>`` for the others."""
    return main if column == c.by or column is None else f"{stem}_by_{slug(column).replace('-', '_')}"


def _and(words) -> str:
    words = [str(w) for w in words]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _gap_analysis(c: Context, out: Sink) -> None:
    from .compare import gap_tests
    from .plots import plot_gaps

    inst, survey, n = c.inst, c.survey, c.min_group_n
    if not inst.gaps:
        out.note("This instrument has no gaps; the scores below are the ratings themselves.")
    by = [c.by] if c.by else None
    for level in ("dimension", "overall", "item"):
        out.table(f"gap_table_{level}", c.gap_table(level), show=level != "item",
                  caption=f"All respondents, {level} level",
                  columns=["dimension", "n", *inst.quantities] if level != "item" else None)
        if by and level != "dimension":  # the dimension level by segment is the "Gaps by segment" section's
            out.table(f"gap_table_{level}_by_segment", c.gap_table(level, c.by), show=False)
    if not inst.gaps:
        return
    out.table("gap_tests_dimension", gap_tests(survey, "dimension", by=by, min_group_n=n), show=False)
    out.table("gap_tests_item", gap_tests(survey, "item", by=by, min_group_n=n), show=False)
    out.figure("gaps-overall", plot_gaps(c.gap_table("item"), instrument=inst,
                                         title=f"Overall gap analysis{c.year}"))
    overall = c.gap_table("overall").set_index("dimension").loc["overall"]
    gap = inst.gaps[0].name
    if not overall["suppressed"]:
        out.summary["overall_gap"] = {"gap": gap, "mean": overall[gap], "ci_low": overall[f"{gap}_ci_low"],
                                      "ci_high": overall[f"{gap}_ci_high"], "n": int(overall["n"])}
    dims = c.gap_table("dimension").set_index("dimension")
    out.summary["dimension_gaps"] = dims[gap].to_dict()


def _radar(c: Context, out: Sink) -> None:
    from .plots import plot_profile, plot_radar

    inst = c.inst
    out.figure("radar-all", plot_radar(c.gap_table("item"), instrument=inst,
                                       title=f"All respondents radar chart{c.year}"))
    if c.by:
        items = c.gap_table("item", c.by)
        shown = items[~items["suppressed"]]  # groups too small to show are left out
        if shown[c.by].nunique() > 1:
            out.figure("radar-by-segment", plot_radar(shown, instrument=inst, col=c.by, col_wrap=2,
                                                      title=f"Radar chart per {c.by}{c.year}"))
    out.figure("profile-all", plot_profile(c.gap_table("dimension"), instrument=inst,
                                           title=f"All respondents by dimension{c.year}"))


def _gaps_by_segment(c: Context, out: Sink) -> None:
    from .plots import plot_gap_heatmap, plot_gaps

    for column in c.columns:
        dims = c.gap_table("dimension", column)
        main = column == c.by
        suffix = "" if main else f"-{slug(column)}"
        out.table(_per_column(c, column, "gap_table_dimension_by_segment", "gap_table_dimension"), dims,
                  caption=f"Dimension gaps by {column}", columns=[column, "dimension", "n", *c.inst.quantities])
        shown = dims[~dims["suppressed"]]
        if len(shown) and c.inst.gaps:
            out.figure(f"gaps-by-segment{suffix}", plot_gaps(shown, instrument=c.inst, hue=column,
                                                             title=f"Dimension gaps by {column}{c.year}"))
        if not main:
            out.figure(f"heatmap{suffix}", plot_gap_heatmap(dims, instrument=c.inst, index=column,
                                                            title=f"Dimension gaps by {column}{c.year}"))


def _zone(c: Context, out: Sink) -> None:
    from .plots import plot_zone_of_tolerance

    out.figure("zone-of-tolerance", plot_zone_of_tolerance(c.gap_table("item"),
                                                           instrument=c.inst, title=f"Zone of tolerance{c.year}"))


def _ipa(c: Context, out: Sink) -> None:
    from .ipa import importance_performance
    from .plots import plot_ipa

    # the report's one importance (importance="auto"): the priorities rank by the same
    grid = importance_performance(c.survey, min_group_n=c.min_group_n)
    out.table("importance_performance", grid, show=False)
    out.figure("ipa", plot_ipa(grid, instrument=c.inst, title=f"Importance–performance{c.year}"))
    out.summary["concentrate_here"] = grid.loc[grid["quadrant"] == "concentrate here", "item"].tolist()


def _segment_comparisons(c: Context, out: Sink) -> None:
    from .compare import games_howell, segment_tests

    tests = segment_tests(c.survey, by=c.by, level="dimension", min_group_n=c.min_group_n)
    how = ("the design-based Wald F test of the weighted means" if c.survey.weighted
           else "Welch ANOVA and Kruskal–Wallis")
    out.table("segment_tests", tests, caption=f"Do the {c.by} groups differ? {how[0].upper() + how[1:]} per "
              "dimension", digits=3, columns=["dimension", "quantity", "n", "groups", "statistic", "df1", "df2",
                                              "p_adj", "omega_sq", "kruskal_statistic", "kruskal_p_adj"])
    out.table("games_howell", games_howell(c.survey, by=c.by, level="dimension", min_group_n=c.min_group_n),
              show=False, digits=3)


def _drivers(c: Context, out: Sink) -> None:
    from .compare import drivers

    result = drivers(c.survey)
    out.table("drivers", result.coefficients.reset_index(names="term"),
              caption=f"What drives overall satisfaction: OLS with HC3 standard errors, R² = {result.r2:.2f} "
              f"(n = {result.n}); lmg = share of R² each dimension accounts for", digits=3)
    out.summary["drivers"] = {"r2": result.r2, "n": result.n,
                              "lmg": result.coefficients["lmg"].drop("intercept").to_dict()}


def _priorities(c: Context, out: Sink) -> None:
    from .priorities import priorities

    for column in c.columns or [None]:
        table = priorities(c.survey, by=column, top=3, min_group_n=c.min_group_n)
        group = column or "the library's"
        out.table(_per_column(c, column, "priorities", "priorities"), table,
                  caption=f"The three largest significant shortfalls for each {group} group, important items first",
                  columns=[column, "rank", "item", "shortfall", "n", "quadrant"])
        if column == c.by:
            top = table[table["rank"] == 1]
            out.summary["top_priority"] = {(str(r[column]) if column else "all"): r["sentence"]
                                           for _, r in top.iterrows()}
        quiet = table[table["rank"].isna()]
        if len(quiet):
            out.note("\n".join(f"- {s}" for s in quiet["sentence"]))


def _summary(c: Context, out: Sink) -> None:
    from .compare import year_changes
    from .display import interval, number, percent
    from .priorities import standard_phrase

    s, inst = c.survey, c.inst
    year = f" in {s.year}" if s.year is not None else ""
    lines = [f"**{s.n:,} respondents**{year}."]
    if c.by:
        counts = s.respondents[c.by].value_counts().sort_values(ascending=False, kind="stable")
        lines[0] = lines[0][:-1] + ": " + "; ".join(f"{g} {n:,} ({percent(n / s.n)})" for g, n in counts.items()) + "."
    headline = lines[0]
    if s.weighted:
        d = s.weighting.diagnostics.iloc[0]
        lines.append(f"*The results are weighted to the library's population of {d.population:,.0f} "
                     f"({' and '.join(s.weighting.margins)}; a response rate of {percent(d.response_rate)}), so they "
                     "stand for its clients rather than for whoever answered (see “Weighted to the population”).*")
    if inst.gaps:
        gap = inst.gaps[0]
        standard = standard_phrase(inst, gap.subtrahend)
        overall = c.gap_table("overall").set_index("dimension").loc["overall"]
        if not overall["suppressed"]:
            mean, low, high = (float(overall[k]) for k in (gap.name, f"{gap.name}_ci_low", f"{gap.name}_ci_high"))
            verdict = (f"falls **{number(-mean)} points short of {standard}**" if high < 0 else
                       f"**exceeds {standard} by {number(mean)} points**" if low > 0 else
                       f"is **about level with {standard}**")
            headline = f"Overall, service {verdict} (mean gap {number(mean)}, 95% CI {interval(low, high)})."
            lines.append(headline)
        if c.previous is not None and c.previous.year is not None:
            try:
                row = year_changes([c.previous, s], level="overall", min_group_n=c.min_group_n) \
                    .set_index("dimension").loc["overall"]
                d, lo, hi, before = (float(row[k]) for k in ("change", "ci_low", "ci_high", "mean_from"))
                if lo > 0 or hi < 0:
                    trend = "narrowed" if (d > 0) == (before < 0) else "widened"
                    lines.append(f"Since {c.previous.year} the gap has **{trend}** by {number(abs(d))} points "
                                 f"(from {number(before)} to {number(float(row['mean_to']))}; change 95% CI "
                                 f"{interval(lo, hi)}).")
                else:
                    lines.append(f"That is about the same as in {c.previous.year} ({number(before)}; change "
                                 f"{number(d, signed=True)}, 95% CI {interval(lo, hi)}).")
                if s.weighted or c.previous.weighted:
                    lines[-1] += " *(The change compares the two cycles unweighted, as the respondents answered.)*"
                out.summary["change_since_previous"] = {"year_from": int(c.previous.year), "change": d,
                                                        "ci_low": lo, "ci_high": hi}
            except (ValueError, KeyError) as exc:
                lines.append(f"*The change since {c.previous.year} could not be computed: {exc}*")
    out.note("\n\n".join(lines))
    out.summary["headline"] = headline
    if not inst.gaps:
        _peer_note(c, out)
        _comments_note(c, out)
        return
    plan = c.action_plan()
    out.table("action_plan", plan.to_frame(), show=False)
    items = [f"{k}. {line}" for k, line in enumerate(plan.action_lines(markdown=True), start=1)]
    heading = ["Nothing to fix first", "The one thing to do first", "Two things to do first",
               "Three things to do first"][len(items)]
    body = "\n".join(items) if items else "\n".join(f"- {n}" for n in plan.notes)
    basis = f"\n\n*Importance used here and in the importance–performance grid: {plan.basis}.*" if plan.basis else ""
    out.note(f"### {heading} (for the whole library)\n\n{body}{basis}")
    if len(plan.exceptions):
        out.note("### Where a group's own priority differs\n\n" + "\n".join(
            f"- {text}" for text in plan.exceptions["sentence"]))
    _peer_note(c, out)
    _comments_note(c, out)
    out.summary["actions"] = list(plan.actions["sentence"])
    out.summary["action_items"] = list(plan.actions["item"])
    out.summary["exceptions"] = list(plan.exceptions["sentence"])


def _peer_note(c: Context, out: Sink) -> None:
    """The first screen's line on the peers: the library's strongest and weakest dimension
    among them, by percentile rank (the peers section has the whole picture)."""
    table = c.peer_position() if c.consortium else None
    if table is None:
        return
    table = table.dropna(subset=["percentile_rank"])
    n = int(table["peers"].max())
    best, worst = table.loc[table["percentile_rank"].idxmax()], table.loc[table["percentile_rank"].idxmin()]

    def name(row):
        return c.inst.dimension_label(row["dimension"]).lower()

    def share(rank, only=""):
        return ("higher than at all of them" if rank >= 100 else "lower than at all of them" if rank <= 0
                else f"higher than at {only}{rank:.0f}% of them")

    head = f"Compared with {n} peer librar{'y' if n == 1 else 'ies'} of the consortium ({c.survey.year}, same form), "
    rating = c.inst.measure_label(c.inst.performance).lower()
    if best["percentile_rank"] - worst["percentile_rank"] < 1e-9:
        text = head + f"the library is rated alike in every dimension: {share(best['percentile_rank'])} ({rating})."
    else:
        text = head + (f"the library's **{name(best)}** is rated {share(best['percentile_rank'])} and its "
                       f"**{name(worst)}** {share(worst['percentile_rank'], 'only ')} ({rating} ratings). The "
                       "section *Among the peer libraries* shows every dimension.")
    out.note(f"### Among the peer libraries\n\n{text}")
    out.summary["peer_headline"] = text


def _weighting(c: Context, out: Sink) -> None:
    from .compare import weighting_effect
    from .scoring import suppress_small_groups

    s = c.survey
    info = s.weighting
    d = info.diagnostics.iloc[0]
    out.note(info.describe() + " The gaps, their intervals and tests, the segment comparisons' F tests, the "
             "priorities and the importance–performance grid are weighted. The pairwise Games–Howell table, the "
             "drivers of satisfaction, the change since the last cycle, reliability, dimensionality and invariance "
             "describe how the respondents answered and stay unweighted.")
    rates = suppress_small_groups(info.response_rates.rename(columns={"respondents": "n"}), c.min_group_n,
                                  groups=["category"])
    out.table("response_rates", rates, digits=3,
              caption=f"Response rates: {int(d.n):,} respondents of a population of {d.population:,.0f} "
                      f"({d.response_rate:.1%}); the sample's and the population's shares, and each category's "
                      "mean weight",
              columns=["margin", "category", "population", "n", "response_rate", "population_share",
                       "sample_share", "mean_weight"])
    effect = weighting_effect(s, "dimension", min_group_n=c.min_group_n)
    out.table("weighted_vs_unweighted", effect, digits=2,
              caption="Each dimension's gap, unweighted and weighted to the population",
              columns=["dimension", "n_effective", "unweighted", "unweighted_ci_low", "unweighted_ci_high",
                       "weighted", "weighted_ci_low", "weighted_ci_high", "difference", "conclusion_weighted"])
    sentence = effect.attrs["sentence"]
    if c.inst.gaps:
        unweighted, weighted = c.action_plan(unweighted=True).actions, c.action_plan().actions
        unit = "item" if "item" in weighted.columns else "dimension"
        before, after = list(unweighted[unit]), list(weighted[unit])
        sentence += (" The three things to do first are the same, in the same order." if before == after else
                     " The things to do first are the same, in another order." if set(before) == set(after) else
                     f" The things to do first change: weighted {', '.join(after) or 'none'}; unweighted "
                     f"{', '.join(before) or 'none'}.")
    out.note(sentence)
    out.summary["weighting"] = {"method": info.method, "margins": list(info.margins), "population": d.population,
                                "response_rate": d.response_rate, "n_effective": d.n_effective,
                                "deff_weighting": d.deff_weighting, "conclusions_changed": int(effect["changed"].sum()),
                                "sentence": sentence}


def _at_a_glance(c: Context, out: Sink) -> None:
    from .plots import plot_gap_heatmap

    out.figure("heatmap", plot_gap_heatmap(c.gap_table("dimension", c.by), instrument=c.inst, index=c.by,
                                           title=f"Dimension gaps by {c.by}{c.year}"))


def _reliability(c: Context, out: Sink) -> None:
    from .reliability import gap_reliability, reliability

    parts = []
    for measure in c.inst.measures:
        table = reliability(c.survey, measure, n_boot=0)
        table.insert(0, "measure", measure)
        parts.append(table)
    table = pd.concat(parts, ignore_index=True)
    out.table("reliability", table, caption="Reliability per dimension: alpha with its Feldt 95% CI, omega total, "
              "and flags on items that behave oddly", digits=3)
    out.summary["reliability"] = {f"{r.measure}:{r.dimension}": r.raw_alpha for r in table.itertuples()}
    if c.inst.gaps:
        out.table("gap_reliability", gap_reliability(c.survey), caption="How reliable the gap scores are, beside "
                  "their parts (Lord/Johns difference-score reliability)", digits=3)


def _dimensionality(c: Context, out: Sink) -> None:
    import numpy as np

    from .dimensionality import (
        compare_models,
        instrument_models,
        parallel_analysis,
        sampling_adequacy,
    )

    frame = c.survey.ratings(c.inst.performance)
    adequacy = sampling_adequacy(frame)
    out.note(f"Sampling adequacy: {adequacy}")
    pa = parallel_analysis(frame, n_iter=50, seed=c.seed)
    out.note(f"Parallel analysis suggests **{pa.n_factors}** factors "
             f"(the instrument defines {len(c.inst.dimensions)} dimensions).")
    out.table("parallel_analysis", pa.eigenvalues.reset_index(), show=False, digits=3)
    missing = "fiml" if c.inst.sampled_items else "listwise"
    try:
        models = compare_models(frame, instrument_models(c.inst), missing=missing).reset_index(names="model")
    except (ValueError, np.linalg.LinAlgError) as exc:
        out.note(f"The confirmatory models could not be fitted: {exc}")
        return
    who = ("full-information ML: every respondent, with the items each was shown" if missing == "fiml"
           else "ML, complete respondents")
    out.table("cfa_models", models, caption=f"Confirmatory factor models compared ({who}; the "
              "CSV adds AIC, BIC and the number of parameters)", digits=3,
              columns=["model", "chisq", "df", "p", "cfi", "tli", "rmsea", "srmr", "n"])
    out.summary["dimensionality"] = {"kmo": adequacy.kmo, "parallel_analysis_factors": pa.n_factors,
                                     "cfi": dict(zip(models["model"], models["cfi"]))}


def _invariance(c: Context, out: Sink) -> None:
    import numpy as np

    from .invariance import invariance

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a group too small for its own CFA is named below
            result = invariance(c.survey, group=c.by, missing="fiml" if c.inst.sampled_items else "listwise")
    except (ValueError, np.linalg.LinAlgError) as exc:
        out.note(f"Measurement invariance could not be tested across {c.by} groups: {exc}")
        return
    level = result.supported
    scalar = level in ("scalar", "strict")
    by_bic = bool((result.tests.get("criterion") == "BIC").any())
    out.note(
        f"Comparisons of dimension means between {c.by} groups rest on **scalar invariance**, which "
        + ("holds" if scalar else "does not hold") + f" here (the highest level that holds: **{level or 'none'}**): "
        + result.meaning + "."
        + (f" Left out for too few complete respondents: {', '.join(result.excluded)}." if result.excluded else "")
        + (" In some groups too few respondents answered the items together for the unrestricted model to be "
           "fitted, so χ², CFI and RMSEA cannot be computed; each level is judged by the BIC (it holds when the BIC does not rise) and the "
           "likelihood-ratio test is shown beside it." if by_bic else "")
    )
    table = result.to_frame().reset_index().rename(columns={"index": "level"})
    who = ("full-information ML, every respondent with the items each was shown" if c.inst.sampled_items
           else "ML, complete respondents")
    if by_bic:  # no saturated model: only the likelihood-ratio test and the BIC are defined
        rule, columns = "a level holds when the BIC does not rise (the CSV adds AIC)", [
            "level", "npar", "df", "bic", "delta_chisq", "delta_df", "delta_p", "delta_bic", "decision"]
    else:
        rule, columns = ("a level holds when CFI drops by at most .01 and RMSEA rises by at most .015 (the CSV adds "
                         "SRMR, TLI, AIC and BIC)"), [
            "level", "chisq", "df", "cfi", "rmsea", "delta_chisq", "delta_df", "delta_p", "delta_cfi", "delta_rmsea",
            "decision"]
    out.table("invariance", table, caption=f"Multi-group CFA of the {result.measure} ratings by {c.by} "
              f"({who}): each level against the one before; {rule}", digits=3, columns=columns)
    out.summary["invariance"] = {"group": c.by, "measure": result.measure, "supported": level,
                                 "groups": [str(g) for g in result.groups["group"]]}


def _likert(c: Context, out: Sink) -> None:
    from .plots import plot_likert
    from .scoring import rating_distribution

    out.figure("likert", plot_likert(rating_distribution(c.survey), instrument=c.inst,
                                     title=f"How clients answered{c.year}"))


def _peers(c: Context, out: Sink) -> None:
    from .norms import peer_table
    from .plots import plot_peers

    cons = c.consortium
    common = {"institution": cons["institution"], "peers": cons.get("peers"), "min_group_n": c.min_group_n}
    overall = c.peer_position()
    if overall is None:
        out.note(f"Not compared with peers: {c.peer_problem}.")
        return
    lines = [f"- {s}." for s in overall["sentence"].dropna()]
    out.note(f"Compared with the peer libraries of the consortium ({int(overall['peers'].max())} with enough "
             f"respondents in {c.survey.year}, same form; a library is named only where the consortium marks it "
             "shareable):\n\n" + "\n".join(lines))
    out.figure("peers", plot_peers(overall.attrs["peer_means"], overall, instrument=c.inst,
                                   title=f"Where the library stands among its peers{c.year}"))
    out.table("peers", overall.drop(columns="sentence"), caption="The library's dimension means among its peers: "
              "percentile rank = share of peer libraries below (ties count half)", digits=2)
    named = peer_table(cons["dataset"], year=c.survey.year, form=c.inst.id, means=overall.attrs["peer_means"],
                       **common)
    if (named["peer"] != "a peer library").any():  # only libraries the consortium marks shareable are named
        out.table("peers_named", named.rename(columns={u: c.inst.dimension_label(u) for u in named.columns[1:]}),
                  caption="Peer libraries' dimension means (named where the consortium marks them shareable)",
                  digits=2)
    by_group = c.peer_position("user_group")
    if by_group is not None:
        out.table("peers_by_user_group", by_group.drop(columns="sentence"), show=False)
    out.summary["peers"] = {"peers": int(overall["peers"].max()),
                            "percentile_rank": dict(zip(overall["dimension"], overall["percentile_rank"]))}


def _comments_note(c: Context, out: Sink) -> None:
    """The first screen's line on the comments: how many wrote, and the three most frequent themes."""
    from .display import percent

    if _has_comments(c) is not None:
        return
    n = len(c.comment_table())
    freq = c.theme_frequencies()
    freq = freq[~freq["suppressed"] & (freq["mentions"] > 0)].sort_values("share", ascending=False, kind="stable")
    top = [f"{r.label.lower()} ({percent(r.share)})" for r in freq.head(3).itertuples()]
    text = f"{n:,} of {c.survey.n:,} respondents ({percent(n / c.survey.n)}) wrote a comment"
    text += (f"; the most frequent themes (share of the comments): {_and(top)}." if top else ".")
    out.note(f"### What clients wrote\n\n{text} The section *What clients wrote* has the themes by group, "
             "their link to the gaps and quotes.")
    out.summary["comments"] = {"commenters": n, "top_themes": [r.theme for r in freq.head(3).itertuples()]}


def _comments(c: Context, out: Sink) -> None:
    from .comments import comment_sentiment, comment_themes, quotes, theme_gaps
    from .display import percent
    from .plots import plot_themes
    from .scoring import suppress_small_groups

    table = c.comment_table()
    coded = c.coded()
    n, coded_n = len(table), coded["id"].nunique()
    out.note(f"{n:,} of {c.survey.n:,} respondents ({percent(n / c.survey.n)}) wrote a comment; the codebook "
             f"*{coded.attrs['codebook']}* finds at least one of its {len(coded.attrs['themes'])} themes in "
             f"{coded_n:,} of them ({percent(coded_n / n)}). A comment can carry several themes. E-mail addresses, "
             "phone and student numbers were masked when the file was read.")
    freq = c.theme_frequencies()
    out.figure("comment-themes", plot_themes(freq, title=f"What clients wrote about{c.year}"))
    out.table("comment_themes", freq.sort_values("share", ascending=False, kind="stable").rename(
                  columns={"label": "theme_label", "ci_low": "share_ci_low", "ci_high": "share_ci_high"}),
              caption="Comment themes: share of the comments that mention each (95% Wilson interval)", digits=2,
              columns=["theme_label", "mentions", "commenters", "share"])
    if c.by:
        by_group = c.theme_frequencies(c.by)
        wide = by_group[~by_group["suppressed"]].pivot_table(index="label", columns=c.by, values="share",
                                                             sort=False)
        out.table(f"comment_themes_by_{c.by}", by_group.drop(columns=["small_group"], errors="ignore"), show=False)
        if not wide.empty:
            out.table(f"comment_themes_by_{c.by}_wide", (100 * wide).round(0).reset_index().rename(
                columns={"label": "theme"}), caption=f"Per cent of each group's comments that mention the theme, by "
                      f"{c.by} (groups with fewer than {c.min_group_n} comments are not shown)", digits=0)
    if c.inst.gaps:
        links = theme_gaps(c.survey, coded, min_group_n=c.min_group_n)
        if len(links):
            out.table("comment_theme_gaps", links.drop(columns="sentence"), show=False)
            clear = links[links["p"] < 0.05].sort_values("difference", kind="stable")
            if len(clear):
                out.note("Those who wrote about a theme against everyone else, on the theme's dimension (Welch "
                         "intervals):\n\n" + "\n".join(f"- {s}." for s in clear["sentence"].head(5)))
            else:
                out.note("No theme's writers differ clearly from everyone else on the theme's dimension.")
    sentiment = comment_sentiment(table["comment"])
    scored = sentiment[sentiment["english"]]
    if len(scored):
        counts = scored["sentiment"].value_counts()
        out.note(f"Tone (VADER's lexicon; rough, English only — {len(sentiment) - len(scored)} comments in other "
                 f"languages are not scored): {percent(counts.get('negative', 0) / len(scored))} negative, "
                 f"{percent(counts.get('neutral', 0) / len(scored))} neutral, "
                 f"{percent(counts.get('positive', 0) / len(scored))} positive.")
        if c.by:
            tone = sentiment.assign(group=table[c.by].to_numpy())[sentiment["english"].to_numpy()]
            rows = []
            for group, part in tone.groupby("group", sort=True, observed=True):
                shares = part["sentiment"].value_counts(normalize=True)
                rows.append({c.by: group, "n": len(part), "negative": shares.get("negative", 0.0),
                             "neutral": shares.get("neutral", 0.0), "positive": shares.get("positive", 0.0),
                             "mean_compound": part["compound"].mean()})
            tone_table = suppress_small_groups(pd.DataFrame(rows), c.min_group_n, groups=[c.by])
            out.table(f"comment_tone_by_{c.by}", tone_table.drop(columns=["small_group"]).rename(
                columns={"n": "comments"}), caption=f"Tone of the English comments by {c.by} (shares; VADER "
                      "compound mean, −1 to 1)", digits=2)
    if c.quotes:
        freq_shown = freq[~freq["suppressed"]].sort_values("share", ascending=False, kind="stable")
        lines = []
        for row in freq_shown.head(5).itertuples():
            picked = quotes(c.survey, coded, row.theme, k=2, by=c.by, min_group_n=c.min_group_n)
            for q in picked.itertuples():
                who = f" — {getattr(q, c.by)}" if c.by and getattr(q, c.by) else ""
                lines.append(f"- **{row.label}**: “{q.quote}”{who}")
        if lines:
            out.note("In their words (a sentence each, from themes at least "
                     f"{c.min_group_n} clients wrote about):\n\n" + "\n".join(lines))
    else:
        out.note("Quotes are switched off for this report (quotes: false).")
    try:
        model = comment_themes(c.survey, codebook=c.codebook, seed=c.seed, min_group_n=c.min_group_n)
    except ValueError as exc:
        out.note(f"*No further themes were looked for: {exc}.*")
        return
    found = model.themes.assign(quotes=model.themes["quotes"].map(lambda q: " / ".join(q) if c.quotes else ""),
                                theme=model.themes["theme"].map(lambda k: f"new {k}")).rename(
        columns={"top_terms": "words"})
    out.table("comment_new_themes", found, caption=f"What the codebook misses: {model.n_themes} themes in the "
              f"{model.comments} comments' sentences it does not code (TF-IDF and NMF; number of themes by "
              "stability)", digits=2, columns=["theme", "words", "size", *(["quotes"] if c.quotes else [])])


def _trend(c: Context, out: Sink) -> None:
    from .compare import trend_table
    from .plots import plot_trend

    trend = trend_table(c.cycles, by=c.by, level="dimension", min_group_n=c.min_group_n)
    trend = trend[~trend["suppressed"]]
    out.figure("trend", plot_trend(trend, instrument=c.inst, col=c.by) if c.by
               else plot_trend(trend, instrument=c.inst))


# --------------------------------------------------------------------------- the registry
REGISTRY: tuple[Section, ...] = (
    Section("summary", "Summary: what to do first",
            "Who answered, the overall gap, and the three actions for the whole library.",
            _always, _summary, chapter="summary", terminal=True),
    Section("at_a_glance", "Gaps at a glance", "Each group's gap in each dimension; darker is a larger shortfall.",
            lambda c: _has_segments(c) or _has_gaps(c), _at_a_glance, chapter="summary", figures=("heatmap",)),
    Section("gap_analysis", "The overall gap analysis",
            "Mean gaps with 95% confidence intervals; the largest shortfalls are at the top of the chart.",
            _always, _gap_analysis, figures=("gaps-overall",), explorer=("gaps", "Gap bars"), terminal=True),
    Section("weighting", "Weighted to the population",
            "Who answered against who the library serves, and how far weighting moves each dimension's gap.",
            _has_weights, _weighting, terminal=True),
    Section("segments", "Gaps by segment", "Each group's dimension gaps side by side, for every segment column.",
            lambda c: _has_segments(c) or _has_gaps(c), _gaps_by_segment,
            figures=("gaps-by-segment", "gaps-by-segment-<column>", "heatmap-<column>"), terminal=True),
    Section("priorities", "Priorities for each group",
            "Per group, the shortfalls that remain significant after adjustment: items clients rate more important "
            "first (the same importance as the grid below), then by size.", _has_gaps, _priorities, terminal=True),
    Section("importance_performance", "Importance and performance",
            "Items in \"concentrate here\" matter most and perform worst.",
            _has_importance, _ipa, figures=("ipa",), explorer=("ipa", "Importance–performance")),
    Section("zone_of_tolerance", "Zone of tolerance",
            "Where perceived service sits between the minimum acceptable and the desired level.",
            _has_zone, _zone, figures=("zone-of-tolerance",), explorer=("zone", "Zone of tolerance")),
    Section("radar", "Radar chart per segment",
            "All respondents' ratings around the circle, items grouped by dimension; then each segment's as small "
            "multiples on one figure.",
            _always, _radar, figures=("radar-all", "radar-by-segment", "profile-all"), explorer=("radar", "Radar chart")),
    Section("peers", "Among the peer libraries", "Where the library stands in its consortium: each dimension "
            "against the other libraries' means.", _has_consortium, _peers, figures=("peers",),
            explorer=("peers", "Among the peer libraries")),
    Section("comments", "What clients wrote", "The comments, grouped into themes a library can act on, tied to the "
            "gaps.", _has_comments, _comments, figures=("comment-themes",), explorer=("comments", "What clients wrote")),
    Section("trend", "Trend across cycles", "Dimension gaps per cycle.", _has_cycles, _trend, figures=("trend",),
            explorer=("trend", "Trend across cycles")),
    Section("respondents", "Respondents by segment",
            "Groups under the minimum size are combined or suppressed to protect respondents; groups under 100 are "
            "flagged because their item means are unstable.", _has_segments, _respondents, chapter="appendix"),
    Section("segment_comparisons", "Segment comparisons", "Do the client segments see the service differently?",
            _has_comparable_segments, _segment_comparisons, chapter="appendix"),
    Section("drivers", "What drives overall satisfaction",
            "How much each dimension accounts for clients' overall satisfaction.", _has_overall, _drivers,
            chapter="appendix"),
    Section("screening", "The data and screening",
            "Who answered, who was excluded and why. Screening never drops anyone silently.",
            _always, _screening, chapter="appendix", terminal=True),
    Section("reliability", "Reliability",
            "Are the dimensions internally consistent (alpha, omega), and how reliable are the gap scores?",
            _always, _reliability, chapter="appendix", terminal=True),
    Section("dimensionality", "Dimensionality",
            "Does this year's data support the instrument's dimensions?", _always, _dimensionality,
            chapter="appendix"),
    Section("invariance", "Do the groups read the questions the same way?",
            "Measurement invariance: whether the dimensions mean the same in every group, so that their scores can "
            "be compared.", _has_segments, _invariance, chapter="appendix"),
    Section("rating_distribution", "How clients answered", "The share of each rating per item.",
            _has_scale, _likert, chapter="appendix", figures=("likert",)),
)

for _s in REGISTRY:
    if _s.chapter not in CHAPTERS:  # pragma: no cover - a registry typo
        raise ValueError(f"section {_s.key!r}: chapter must be one of {CHAPTERS}")


def section(key: str) -> Section:
    """The registry entry ``key``.

    Examples
    --------
    >>> from servqual.sections import section
    >>> section("zone_of_tolerance").title
    'Zone of tolerance'
    """
    for s in REGISTRY:
        if s.key == key:
            return s
    raise KeyError(f"no section {key!r} (sections: {', '.join(s.key for s in REGISTRY)})")


def applicable(context: Context, *, chapter: str | None = None) -> list[Section]:
    """The sections that apply to this survey (in registry order), optionally of one chapter."""
    return [s for s in REGISTRY if s.applies_to(context) and (chapter is None or s.chapter == chapter)]


def plan(survey, **kwargs) -> pd.DataFrame:
    """Which sections apply to a survey and, for the others, why not.

    Returns
    -------
    pandas.DataFrame
        One row per registered section: ``section``, ``title``, ``chapter``, ``applies``
        and ``reason`` (empty when it applies).

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> table = sq.plan(survey)
    >>> table.set_index("section").loc["zone_of_tolerance", "reason"]
    "instrument 'servqual-22' asks no minimum and desired levels"
    >>> bool(table.set_index("section").loc["priorities", "applies"])
    True
    """
    context = Context(survey, **kwargs)
    rows = []
    for s in REGISTRY:
        reason = s.applies(context)
        rows.append({"section": s.key, "title": s.title, "chapter": s.chapter, "applies": reason is None,
                     "reason": reason or ""})
    return pd.DataFrame(rows)


@dataclass
class FigureCollector:
    """A sink that keeps only the figures (the gallery and the explorer draw from it)."""

    figures: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)

    def table(self, name, frame, **_) -> None:
        return None

    def figure(self, name: str, target) -> None:
        self.figures[name] = _figure(target)

    def note(self, text: str) -> None:
        return None
