"""What to improve first: "three things we can do on Monday".

For each client segment, the items (or dimensions) whose shortfall is significant after
adjustment for multiplicity, ranked by shortfall × relative importance, each with its
evidence and one sentence a library manager can act on.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .compare import gap_tests
from .ipa import importance_performance, stated_importance_source
from .survey import MIN_GROUP_N

__all__ = ["priorities", "standard_phrase"]

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
        ``importance_rank`` (1 = most important in the group), ``score`` and
        ``sentence``.  A group without a qualifying shortfall, or too small, gets one row
        with an explaining ``sentence`` and no rank.

    Notes
    -----
    score = shortfall × importance / mean importance of the group's items, with stated
    importance (importance ratings, expectations, or the 100-point weights) where the
    instrument has it, otherwise derived importance (correlation with overall
    satisfaction).

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> top = sq.priorities(survey, top=1)
    >>> print(top.loc[0, 'sentence'])
    All respondents: "staff give clients personal attention" falls 2.0 points short of expectations (95% CI 2.0–2.1, n = 1151) and ranks 13th of 22 in importance.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a whole number ≥ 1, got {top!r}")
    inst = survey.instrument
    if not inst.gaps:
        raise ValueError(f"instrument {inst.id!r} has no gaps; priorities rank shortfalls against a standard")
    g = inst.gap(gap) if gap else inst.gaps[0]
    tests = gap_tests(survey, level, by, gaps=[g.name], ci=ci, adjust=adjust, family="group", min_group_n=1)
    use_stated = stated_importance_source(inst) is not None
    if not use_stated and survey.overall is None:
        importance = None
    else:
        importance = importance_performance(
            survey, level, by, importance="stated" if use_stated else "derived", min_group_n=1
        )
    unit = "item" if level == "item" else "dimension"
    keys = [c for c in tests.columns if c not in (unit, "dimension") and c in survey.respondents.columns]
    merged = tests
    if importance is not None:
        merged = tests.merge(importance[[*keys, unit, "importance"]], on=[*keys, unit], how="left")
    else:
        merged = tests.assign(importance=1.0)
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
        mean_importance = part["importance"].mean()
        part["shortfall"] = -part["mean_gap"]
        part["score"] = part["shortfall"] * part["importance"] / mean_importance
        eligible = part[(part["mean_gap"] < 0) & (part["p_adj"] < alpha) & (part["n"] >= min_group_n)]
        eligible = eligible.sort_values("score", ascending=False).head(top)
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
            sentence = (
                f"{label.capitalize()}: {_quote(text)} falls {row.shortfall:.1f} points short of "
                f"{standard_phrase(inst, g.subtrahend)} ({ci:.0%} CI {low:.1f}–{high:.1f}, n = {int(row.n)})"
            )
            if importance is not None:
                kind = "importance" if use_stated else "its link with overall satisfaction"
                sentence += f" and ranks {_ordinal(int(row.importance_rank))} of {len(part)} in {kind}."
            else:
                sentence += "."
            rows.append({
                **head, "rank": rank, unit: name, "label": text, "shortfall": row.shortfall, "ci_low": low,
                "ci_high": high, "n": int(row.n), "p_adj": row.p_adj, "importance": row.importance,
                "importance_rank": int(row.importance_rank), "score": row.score, "sentence": sentence,
            })
    columns = [*keys, "rank", unit, "label", "shortfall", "ci_low", "ci_high", "n", "p_adj", "importance",
               "importance_rank", "score", "sentence"]
    out = pd.DataFrame(rows).reindex(columns=columns)
    out["rank"] = out["rank"].astype("Int64")
    out["n"] = out["n"].astype("Int64")
    out["importance_rank"] = out["importance_rank"].astype("Int64")
    return out.reset_index(drop=True)
