"""What to improve first: "three things we can do on Monday".

For each client segment, the items (or dimensions) whose shortfall is significant after
adjustment for multiplicity, ranked by shortfall × relative importance, each with its
evidence and one sentence a library manager can act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from .compare import gap_tests
from .display import interval, number
from .ipa import QUADRANTS, importance_basis, importance_performance
from .survey import MIN_GROUP_N

__all__ = ["ActionPlan", "action_plan", "priorities", "standard_phrase"]

_ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
def standard_phrase(instrument, measure: str) -> str:
    """How a sentence names the standard a gap is measured against, from the measure's role
    (and its place in the zone of tolerance), never from its name.

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.priorities import standard_phrase
    >>> standard_phrase(sq.load_instrument("library-core-22"), "minimum")
    'the minimum acceptable level'
    >>> standard_phrase(sq.load_instrument("servqual-22"), "expectation")
    'expectations'
    """
    if measure == instrument.minimum:
        return "the minimum acceptable level"
    if measure == instrument.desired:
        return "the desired level"
    if instrument.role(measure) == "importance":
        return "its importance rating"
    label = instrument.measure_label(measure)
    return "expectations" if label == "expectation" else f"the {label} rating"


def _ordinal(k: int) -> str:
    if k <= len(_ORDINALS):
        return _ORDINALS[k - 1]
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _quote(text: str) -> str:
    """An item text as a quotation inside a sentence: lower-case start unless an acronym."""
    text = text.strip().rstrip(".")
    first = text.split(" ", 1)[0]
    if not (len(first) > 1 and first.isupper()):
        text = text[:1].lower() + text[1:]
    return f'"{text}"'


_QUADRANT_CLAUSE = {
    "concentrate here": "performs below average: “concentrate here” in the importance–performance grid",
    "keep up the good work": "performs above average, yet still falls short: “keep up the good work” in the "
                             "importance–performance grid",
    "low priority": "performs below average, but clients rate it less important: “low priority” in the "
                    "importance–performance grid",
    "possible overkill": "performs above average, and clients rate it less important: “possible overkill” in the "
                         "importance–performance grid",
}


def _reason(inst, basis, level: str, name: str, rank: int, count: int, quadrant: str, dense_rank: int) -> str:
    """Why an item ranks where it does: how important it is, in the words of the importance
    the report uses, and where that puts it in the importance–performance grid."""
    if basis is None:
        return ""
    where = _QUADRANT_CLAUSE.get(quadrant)
    if basis.source == "weights" and level == "item":
        dimension = inst.dimension_label(inst.dimension_of(name))
        share = "the largest" if dense_rank == 1 else f"the {_ordinal(dense_rank)}-largest"
        text = f"its dimension, {dimension}, gets {share} share of clients' 100 points (of {len(inst.dimensions)})"
        return f"{text}, and it {where}" if where else text
    kind = {"weights": "the 100-point allocation", "overall": "its link with overall satisfaction"}.get(
        basis.source, "importance" if basis.source == inst.importance else
        f"{standard_phrase(inst, basis.source)} clients stated")
    text = f"it ranks {_ordinal(rank)} of {count} in {kind}"
    return f"{text} and {where}" if where else text


def priorities(
    survey,
    by: str | Sequence[str] | None = None,
    top: int = 3,
    *,
    level: str = "item",
    gap: str | None = None,
    alpha: float = 0.05,
    adjust: str = "holm",
    ci: float = 0.95,
    min_group_n: int = MIN_GROUP_N,
) -> pd.DataFrame:
    """The ``top`` things to improve first, per group.

    Parameters
    ----------
    survey
        A survey whose instrument has gaps.
    by
        Respondent column(s): one list per group (``None``: one list for everyone).
    top
        How many priorities per group.
    level
        ``"item"`` (default) or ``"dimension"``.
    gap
        Gap to rank by (default the instrument's first: ``gap``, ``adequacy`` …).
    alpha, adjust
        A shortfall qualifies when its paired t-test stays significant at ``alpha`` after
        adjustment (``"holm"`` by default) within its group.
    ci
        Level of the interval quoted.
    min_group_n
        Groups smaller than this get no list (one row saying so).

    Returns
    -------
    pandas.DataFrame
        Per group up to ``top`` rows: the ``by`` columns, ``rank``, ``item``/``dimension``,
        ``label`` (item text or dimension name), ``shortfall`` (−mean gap), ``ci_low``,
        ``ci_high`` (of the shortfall), ``n``, ``p_adj``, ``importance``,
        ``importance_rank`` (1 = most important in the group), ``quadrant`` (in the group's
        importance–performance grid), ``score``, ``reason`` (why it ranks there) and
        ``sentence``.  A group without a qualifying shortfall, or too small, gets one row
        with an explaining ``sentence`` and no rank.

    Notes
    -----
    One importance per survey (:func:`servqual.ipa.importance_basis`: the importance
    rating, else the 100-point allocation, else the desired level or expectations, else
    the correlation with overall satisfaction) places each item in the
    importance–performance grid of its group, the same grid
    :func:`servqual.importance_performance` draws.  Among the shortfalls that stay
    significant, items rank first by quadrant — "concentrate here" (more important,
    performing below the group's mean), then "keep up the good work" (more important),
    then "low priority" and "possible overkill" (less important) — and within a quadrant
    by score = shortfall × importance / mean importance of the group's items.  So a large
    shortfall on an item clients rate less important never outranks a shortfall on an
    item they rate more important; its sentence says it is less important.  There is no
    R function for this ranking; its parts are ``t.test(paired = TRUE)`` with
    ``p.adjust(method = "holm")`` and the grid's group means.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> top = sq.priorities(survey, top=1)
    >>> print(top.loc[0, 'sentence'])  # doctest: +NORMALIZE_WHITESPACE
    All respondents: "the library delivers its services when it says it will" falls 1.3 points short of
    expectations (95% CI 1.2 to 1.4, n = 1157); its dimension, Reliability, gets the largest share of clients'
    100 points (of 5), and it performs above average, yet still falls short: “keep up the good work” in the
    importance–performance grid.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a whole number ≥ 1, got {top!r}")
    inst = survey.instrument
    if not inst.gaps:
        raise ValueError(f"instrument {inst.id!r} has no gaps; priorities rank shortfalls against a standard")
    g = inst.gap(gap) if gap else inst.gaps[0]
    # computed once per survey and choice: a report's sections and its action plan share it
    key = ("priorities", tuple([by] if isinstance(by, str) else by or ()), top, level, g.name, alpha, adjust, ci,
           min_group_n)
    return survey.cached(key, lambda: _priorities(survey, by, top, level, g, alpha, adjust, ci, min_group_n))


def _priorities(survey, by, top: int, level: str, g, alpha: float, adjust: str, ci: float,
                min_group_n: int) -> pd.DataFrame:
    inst = survey.instrument
    tests = gap_tests(survey, level, by, gaps=[g.name], ci=ci, adjust=adjust, family="group", min_group_n=1)
    basis = importance_basis(survey)
    unit = "item" if level == "item" else "dimension"
    keys = [c for c in tests.columns if c not in (unit, "dimension") and c in survey.respondents.columns]
    if basis is not None:
        grid = importance_performance(survey, level, by, importance=basis.kind, min_group_n=1)
        merged = tests.merge(grid[[*keys, unit, "importance", "quadrant"]], on=[*keys, unit], how="left")
    else:
        merged = tests.assign(importance=1.0, quadrant="")
    tier = {q: k for k, q in enumerate(QUADRANTS)}  # concentrate here, keep up, low priority, overkill
    rows = []
    group_iter = merged.groupby(keys, sort=False, dropna=False, observed=True) if keys else [((), merged)]
    for key, part in group_iter:
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(str(k) for k in key) if key else "All respondents"
        head = dict(zip(keys, key))
        group_n = int(part["n"].max()) if len(part) else 0
        if group_n < min_group_n:
            rows.append({**head, "sentence": f"{label.capitalize()}: fewer than {min_group_n} respondents; not shown."})
            continue
        part = part.copy()
        part["importance_rank"] = part["importance"].rank(ascending=False, method="min")
        part["dense_rank"] = part["importance"].rank(ascending=False, method="dense")
        mean_importance = part["importance"].mean()
        part["shortfall"] = -part["mean_gap"]
        part["score"] = part["shortfall"] * part["importance"] / mean_importance
        part["tier"] = part["quadrant"].map(tier).fillna(len(tier))
        eligible = part[(part["mean_gap"] < 0) & (part["p_adj"] < alpha) & (part["n"] >= min_group_n)]
        eligible = eligible.sort_values(["tier", "score"], ascending=[True, False], kind="stable").head(top)
        if eligible.empty:
            flat = part[(part["mean_gap"] < 0) & (part["sd"] == 0)]
            if len(flat) and part["p"].isna().all():
                # everyone answered alike: a test cannot tell a real shortfall from chance
                rows.append({**head, "sentence": (
                    f"{label.capitalize()}: every respondent gave the same ratings, so there is no variance to test; "
                    f"{len(flat)} {unit}(s) fall short of {standard_phrase(inst, g.subtrahend)} by the same amount "
                    "for everyone. Check the data before acting on it."
                )})
                continue
            rows.append({**head, "sentence": (
                f"{label.capitalize()}: no {unit} falls significantly short of {standard_phrase(inst, g.subtrahend)} "
                f"({adjust}-adjusted p < {alpha})."
            )})
            continue
        for rank, row in enumerate(eligible.itertuples(index=False), start=1):
            name = getattr(row, unit)
            text = inst.items[name].text if level == "item" and inst.items[name].text else (
                inst.dimension_label(name) if level == "dimension" else name)
            low, high = -row.ci_high, -row.ci_low
            reason = _reason(inst, basis, level, name, int(row.importance_rank), len(part), row.quadrant,
                             int(row.dense_rank))
            sentence = (
                f"{label.capitalize()}: {_quote(text)} falls {row.shortfall:.1f} points short of "
                f"{standard_phrase(inst, g.subtrahend)} ({ci:.0%} CI {interval(low, high, 1)}, n = {int(row.n)})"
                + (f"; {reason}." if reason else ".")
            )
            rows.append({
                **head, "rank": rank, unit: name, "label": text, "shortfall": row.shortfall, "ci_low": low,
                "ci_high": high, "n": int(row.n), "p_adj": row.p_adj, "importance": row.importance,
                "importance_rank": int(row.importance_rank), "quadrant": row.quadrant, "score": row.score,
                "reason": reason, "sentence": sentence,
            })
    columns = [*keys, "rank", unit, "label", "shortfall", "ci_low", "ci_high", "n", "p_adj", "importance",
               "importance_rank", "quadrant", "score", "reason", "sentence"]
    out = pd.DataFrame(rows).reindex(columns=columns)
    out["rank"] = out["rank"].astype("Int64")
    out["n"] = out["n"].astype("Int64")
    out["importance_rank"] = out["importance_rank"].astype("Int64")
    return out.reset_index(drop=True)


@dataclass
class ActionPlan:
    """What the library does first: at most ``top`` actions for everyone, then at most one
    exception per segment group whose own first priority is not among them.

    ``actions`` has one row per action: ``rank``, ``item`` (or ``dimension``), ``label``,
    ``shortfall``, ``ci_low``, ``ci_high``, ``n``, ``p_adj``, ``importance_rank``,
    ``quadrant``, ``reason`` (why it was chosen), ``most_affected`` and
    ``most_affected_column`` (the shown group that falls furthest short on it, and its
    segment column), ``most_affected_shortfall`` and ``sentence``.  ``exceptions`` has
    ``column``, ``group``, the same item columns and ``sentence``.  ``basis`` is the
    importance used (:func:`servqual.ipa.importance_basis`); ``notes`` says when there is
    nothing to act on; ``standard`` names what the shortfalls fall short of.
    """

    actions: pd.DataFrame
    exceptions: pd.DataFrame
    basis: object
    notes: list = field(default_factory=list)
    standard: str = "the standard"
    ci: float = 0.95

    def action_lines(self, *, markdown: bool = False) -> list[str]:
        """One line per action: the item, its shortfall with the interval, who is most
        affected and why it was chosen (Markdown emphasis with ``markdown=True``)."""
        bold, why = ("**", "*Why first:*") if markdown else ("", "Why first:")
        lines = []
        for row in self.actions.itertuples(index=False):
            label = row.label.strip().rstrip(".")
            text = (f"{bold}{label[:1].upper()}{label[1:]}{bold} — {number(row.shortfall, 1)} points short of "
                    f"{self.standard} ({self.ci:.0%} CI {interval(row.ci_low, row.ci_high, 1)}, n = {int(row.n):,}).")
            if row.most_affected:
                text += (f" Most affected: {bold}{row.most_affected}{bold} ({row.most_affected_column}), "
                         f"{number(row.most_affected_shortfall, 1)} points short.")
            if row.reason:
                text += f" {why} {row.reason}."
            lines.append(text)
        return lines

    @property
    def sentences(self) -> list[str]:
        return [*self.actions["sentence"], *self.exceptions["sentence"], *self.notes]

    def __str__(self) -> str:
        return "\n".join(self.sentences)

    def to_frame(self) -> pd.DataFrame:
        """The result as one table: the actions, then the exceptions (``kind`` says which)."""
        return pd.concat([self.actions.assign(kind="action"), self.exceptions.assign(kind="exception")],
                         ignore_index=True)


def action_plan(
    survey,
    segments: str | Sequence[str] | None = None,
    top: int = 3,
    *,
    level: str = "item",
    gap: str | None = None,
    alpha: float = 0.05,
    adjust: str = "holm",
    ci: float = 0.95,
    min_group_n: int = MIN_GROUP_N,
) -> ActionPlan:
    """Three actions for the whole library, who each affects most, and where a segment's own
    first priority differs.

    Parameters
    ----------
    survey
        A survey whose instrument has gaps.
    segments
        Segment columns to look at for "most affected" and exceptions (default all the
        survey's segments).
    top
        How many library-wide actions (default 3).
    level, gap, alpha, adjust, ci, min_group_n
        As in :func:`priorities`.

    Returns
    -------
    ActionPlan

    Notes
    -----
    The actions are :func:`priorities` for all respondents (significant shortfalls,
    "concentrate here" first, then by shortfall × relative importance).  "Most affected"
    is the group, over every segment column, with the largest mean shortfall on that item
    (:func:`servqual.gap_table` by that column) among the groups of at least
    ``min_group_n``.  A group's exception is its own rank-1 priority (:func:`priorities`
    with ``by`` = its column) when that item is not one of the library-wide actions; at
    most one per group.  No single R function does this; its parts are the paired
    ``t.test`` with ``p.adjust(method = "holm")`` and ``aggregate(gap ~ group, mean)``.

    Examples
    --------
    >>> import servqual as sq
    >>> plan = sq.action_plan(sq.read_cycle("params/2005.yaml"))
    >>> len(plan.actions), plan.actions.loc[0, "item"]
    (3, 'RL4')
    >>> plan.actions.loc[0, "most_affected"], plan.actions.loc[0, "most_affected_column"]
    ('postgraduate', 'segment')
    """
    from .scoring import gap_table

    inst = survey.instrument
    columns = list(survey.segments if segments is None else ([segments] if isinstance(segments, str) else segments))
    unit = "item" if level == "item" else "dimension"
    options = {"level": level, "gap": gap, "alpha": alpha, "adjust": adjust, "ci": ci, "min_group_n": min_group_n}
    library = priorities(survey, None, top, **options)
    g = inst.gap(gap) if gap else inst.gaps[0]
    actions = library[library["rank"].notna()].reset_index(drop=True)
    # who is most affected: the shown group furthest short on the item, over every segment column
    means = pd.concat([gap_table(survey, level, by=column, min_group_n=min_group_n)
                       .query("~suppressed").rename(columns={column: "group"}).assign(column=column)
                       [["column", "group", unit, g.name]] for column in columns], ignore_index=True) \
        if columns else pd.DataFrame(columns=["column", "group", unit, g.name])
    worst = means.loc[means.groupby(unit)[g.name].idxmin()].set_index(unit) if len(means) else means.set_index(unit)
    found = actions[unit].isin(worst.index)
    actions["most_affected"] = actions[unit].map(worst["group"].astype(str)).where(found, "")
    actions["most_affected_column"] = actions[unit].map(worst["column"]).where(found, "")
    actions["most_affected_shortfall"] = -actions[unit].map(worst[g.name]).astype(float)
    plan = ActionPlan(actions, pd.DataFrame(), importance_basis(survey),
                      list(library.loc[library["rank"].isna(), "sentence"]),
                      standard_phrase(inst, g.subtrahend), ci)
    actions["sentence"] = plan.action_lines()
    exceptions = []
    for column in columns:
        # the same call as the report's per-group priorities, so it is computed once
        own = priorities(survey, column, top, **options)
        for row in own[own["rank"] == 1].itertuples(index=False):
            if getattr(row, unit) in set(actions[unit]):
                continue
            group = str(getattr(row, column))
            body = row.sentence.removeprefix(f"{group.capitalize()}: ")
            exceptions.append({"column": column, "group": group, unit: getattr(row, unit), "label": row.label,
                               "shortfall": row.shortfall, "ci_low": row.ci_low, "ci_high": row.ci_high, "n": row.n,
                               "sentence": f"{group.capitalize()} ({column}): {body}"})
    plan.exceptions = pd.DataFrame(exceptions, columns=["column", "group", unit, "label", "shortfall", "ci_low",
                                                        "ci_high", "n", "sentence"])
    return plan
