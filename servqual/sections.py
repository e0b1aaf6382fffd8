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
* ``chapter``: ``"results"`` or ``"appendix"`` (technical material a manager can skip);
* ``figures``: the names of the figures it draws (``radar-all``, ``zone-of-tolerance`` …),
  and ``explorer``: the explorer's menu entry (key and label) when it has one.

A section that fails on odd data is reported by the face in one line naming the section
and the reason; the others still run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from .survey import MIN_GROUP_N, RULES

__all__ = ["REGISTRY", "Context", "Section", "Sink", "applicable", "plan", "section", "slug"]

CHAPTERS = ("results", "appendix")


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
              digits: int = 2) -> Any: ...

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

    def __post_init__(self) -> None:
        if self.by is None and self.survey.segments:
            self.by = self.survey.segments[0]
        self._tables: dict = {}

    def gap_table(self, level: str, by: str | None = None):
        """:func:`servqual.gap_table` at this context's ``min_group_n``, computed once per
        level and grouping however many sections show it (a copy each time)."""
        from .scoring import gap_table

        key = (level, by)
        if key not in self._tables:
            self._tables[key] = gap_table(self.survey, level, by=by, min_group_n=self.min_group_n)
        return self._tables[key].copy()

    @property
    def inst(self):
        return self.survey.instrument

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
    from .ipa import stated_importance_source

    if stated_importance_source(c.inst) is not None or c.survey.overall is not None:
        return None
    return "the survey has neither stated importance nor an overall-satisfaction item"


def _has_overall(c: Context) -> str | None:
    return None if c.survey.overall is not None else "the survey has no overall-satisfaction item"


def _has_scale(c: Context) -> str | None:
    return None if c.inst.scale is not None else f"instrument {c.inst.id!r} has no rating scale"


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
    out.summary["screening"] = {f"{r.rule} ({r.action})": int(r.respondents)
                                for r in s.screening_summary().itertuples() if r.rule in RULES}


def _respondents(c: Context, out: Sink) -> None:
    from .scoring import suppress_small_groups

    counts = c.survey.respondents[c.by].value_counts(dropna=False).rename_axis(c.by)
    table = counts.rename("n").reset_index().sort_values(c.by, kind="stable")
    table["share"] = table["n"] / table["n"].sum()
    table = suppress_small_groups(table, c.min_group_n)
    out.table("respondents_by_segment", table, caption=f"Respondents by {c.by}")
    out.summary["respondents_by_segment"] = {str(r[c.by]): (None if pd.isna(r["n"]) else int(r["n"]))
                                             for _, r in table.iterrows()}


def _gap_analysis(c: Context, out: Sink) -> None:
    from .compare import gap_tests
    from .plots import plot_gaps

    inst, survey, n = c.inst, c.survey, c.min_group_n
    if not inst.gaps:
        out.note("This instrument has no gaps; the scores below are the ratings themselves.")
    by = [c.by] if c.by else None
    for level in ("dimension", "overall", "item"):
        out.table(f"gap_table_{level}", c.gap_table(level), show=level != "item",
                  caption=f"All respondents, {level} level")
        if by:
            out.table(f"gap_table_{level}_by_segment", c.gap_table(level, c.by),
                      show=level == "dimension", caption=f"By {c.by}, {level} level")
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
    if c.by:
        items = c.gap_table("item", c.by)
        used = {"all"}
        for group, part in items.groupby(c.by, sort=True, observed=True):
            if part["suppressed"].all():  # too small to show
                continue
            out.figure(f"radar-{unique_slug(group, used)}", plot_radar(part, instrument=inst,
                                                          title=f"{str(group).capitalize()} radar chart{c.year}"))
    out.figure("radar-all", plot_radar(c.gap_table("item"), instrument=inst,
                                       title=f"All respondents radar chart{c.year}"))
    out.figure("profile-all", plot_profile(c.gap_table("dimension"),
                                           instrument=inst))


def _gaps_by_segment(c: Context, out: Sink) -> None:
    from .plots import plot_gap_heatmap, plot_gaps

    dims = c.gap_table("dimension", c.by)
    shown = dims[~dims["suppressed"]]
    if len(shown):
        out.figure("gaps-by-segment", plot_gaps(shown, instrument=c.inst, col=c.by))
    out.figure("heatmap", plot_gap_heatmap(dims, instrument=c.inst, index=c.by))


def _zone(c: Context, out: Sink) -> None:
    from .plots import plot_zone_of_tolerance

    out.figure("zone-of-tolerance", plot_zone_of_tolerance(c.gap_table("item"),
                                                           instrument=c.inst, title=f"Zone of tolerance{c.year}"))


def _ipa(c: Context, out: Sink) -> None:
    from .ipa import importance_performance, stated_importance_source
    from .plots import plot_ipa

    stated = stated_importance_source(c.inst) is not None
    grid = importance_performance(c.survey, importance="stated" if stated else "derived", min_group_n=c.min_group_n)
    out.table("importance_performance", grid, show=False)
    out.figure("ipa", plot_ipa(grid, instrument=c.inst, title=f"Importance–performance{c.year}"))
    out.summary["concentrate_here"] = grid.loc[grid["quadrant"] == "concentrate here", "item"].tolist()


def _segment_comparisons(c: Context, out: Sink) -> None:
    from .compare import games_howell, segment_tests

    tests = segment_tests(c.survey, by=c.by, level="dimension", min_group_n=c.min_group_n)
    out.table("segment_tests", tests, caption=f"Do the {c.by}s differ? Welch ANOVA and Kruskal–Wallis per dimension",
              digits=3)
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

    table = priorities(c.survey, by=c.by, top=3, min_group_n=c.min_group_n)
    out.table("priorities", table, show=False)
    out.note("\n".join(f"- {s}" for s in table["sentence"]))
    top = table[table["rank"] == 1] if len(table) else table
    out.summary["top_priority"] = {(str(r[c.by]) if c.by else "all"): r["sentence"] for _, r in top.iterrows()}


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
    try:
        models = compare_models(frame, instrument_models(c.inst)).reset_index(names="model")
    except (ValueError, np.linalg.LinAlgError) as exc:
        out.note(f"The confirmatory models could not be fitted: {exc}")
        return
    out.table("cfa_models", models, caption="Confirmatory factor models compared (ML, complete respondents)",
              digits=3)
    out.summary["dimensionality"] = {"kmo": adequacy.kmo, "parallel_analysis_factors": pa.n_factors,
                                     "cfi": dict(zip(models["model"], models["cfi"]))}


def _likert(c: Context, out: Sink) -> None:
    from .plots import plot_likert
    from .scoring import rating_distribution

    out.figure("likert", plot_likert(rating_distribution(c.survey), instrument=c.inst))


def _trend(c: Context, out: Sink) -> None:
    from .compare import trend_table
    from .plots import plot_trend

    trend = trend_table(c.cycles, by=c.by, level="dimension", min_group_n=c.min_group_n)
    trend = trend[~trend["suppressed"]]
    out.figure("trend", plot_trend(trend, instrument=c.inst, col=c.by) if c.by
               else plot_trend(trend, instrument=c.inst))


# --------------------------------------------------------------------------- the registry
REGISTRY: tuple[Section, ...] = (
    Section("respondents", "Respondents by segment",
            "Groups under the minimum size are suppressed to protect respondents; groups under 100 are flagged "
            "because their item means are unstable.", _has_segments, _respondents, terminal=False),
    Section("gap_analysis", "The overall gap analysis",
            "Mean gaps with 95% confidence intervals; the largest shortfalls are at the top of the chart.",
            _always, _gap_analysis, figures=("gaps-overall",), explorer=("gaps", "Gap bars"), terminal=True),
    Section("radar", "Radar chart per segment",
            "Each segment's ratings around the circle, items grouped by dimension.",
            _always, _radar, figures=("radar-<segment>", "radar-all", "profile-all"), explorer=("radar", "Radar chart")),
    Section("segments", "Gaps by segment", "Each segment's dimension gaps side by side.",
            lambda c: _has_segments(c) or _has_gaps(c), _gaps_by_segment, figures=("gaps-by-segment", "heatmap")),
    Section("zone_of_tolerance", "Zone of tolerance",
            "Where perceived service sits between the minimum acceptable and the desired level.",
            _has_zone, _zone, figures=("zone-of-tolerance",), explorer=("zone", "Zone of tolerance")),
    Section("importance_performance", "Importance and performance",
            "Items in \"concentrate here\" matter most and perform worst.",
            _has_importance, _ipa, figures=("ipa",), explorer=("ipa", "Importance–performance")),
    Section("trend", "Trend across cycles", "Dimension gaps per cycle.", _has_cycles, _trend, figures=("trend",),
            explorer=("trend", "Trend across cycles")),
    Section("priorities", "Three things to do on Monday",
            "Per segment, the shortfalls that remain significant after adjustment, weighted by importance.",
            _has_gaps, _priorities, terminal=True),
    Section("segment_comparisons", "Segment comparisons", "Do the client segments see the service differently?",
            _has_comparable_segments, _segment_comparisons),
    Section("drivers", "What drives overall satisfaction",
            "How much each dimension accounts for clients' overall satisfaction.", _has_overall, _drivers),
    Section("screening", "The data and screening",
            "Who answered, who was excluded and why. Screening never drops anyone silently.",
            _always, _screening, chapter="appendix", terminal=True),
    Section("reliability", "Reliability",
            "Are the dimensions internally consistent (alpha, omega), and how reliable are the gap scores?",
            _always, _reliability, chapter="appendix", terminal=True),
    Section("dimensionality", "Dimensionality",
            "Does this year's data support the instrument's dimensions?", _always, _dimensionality,
            chapter="appendix"),
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
