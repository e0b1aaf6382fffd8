"""Importance–performance analysis (Martilla & James 1977).

Each item (or dimension) is placed by performance (x) and importance (y); crosshairs
split the grid into four quadrants:

=====================  ===================  =====================
                       low performance      high performance
=====================  ===================  =====================
high importance        concentrate here     keep up the good work
low importance         low priority         possible overkill
=====================  ===================  =====================

Stated importance clusters high (everything matters), so derived importance — the
correlation of each item's performance with overall satisfaction — is offered as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .scoring import apply_min_group_n, group_keys, group_rows, scores
from .survey import MIN_GROUP_N

__all__ = ["QUADRANTS", "ImportanceBasis", "importance_basis", "importance_performance", "quadrant",
           "stated_importance_source"]

QUADRANTS = ("concentrate here", "keep up the good work", "low priority", "possible overkill")
CROSSHAIRS = ("mean", "median", "midpoint")


def quadrant(performance: float, importance: float, x_cross: float, y_cross: float) -> str:
    """The quadrant of one point; a point on a crosshair counts as high."""
    high_i = importance >= y_cross
    high_p = performance >= x_cross
    if high_i:
        return QUADRANTS[1] if high_p else QUADRANTS[0]
    return QUADRANTS[3] if high_p else QUADRANTS[2]


def stated_importance_source(instrument, survey=None) -> str | None:
    """Which stated importance an instrument offers, best first: its importance measure,
    else ``"weights"`` (the 100-point allocation across dimensions; with a ``survey``, only
    when its file holds the allocation), else its principal standard (the desired level,
    expectations), else ``None`` — read from the measures' roles, never from their names."""
    weights = instrument.weights and (survey is None or survey.weights is not None)
    return instrument.importance or ("weights" if weights else None) or instrument.principal_standard


@dataclass(frozen=True)
class ImportanceBasis:
    """The one importance a report uses for both its grid and its priorities.

    ``kind`` is ``"stated"`` or ``"derived"``; ``source`` the measure, ``"weights"`` or
    ``"overall"``; ``description`` says it in plain words."""

    kind: str
    source: str
    description: str

    def __str__(self) -> str:
        return self.description


def importance_basis(survey) -> ImportanceBasis | None:
    """The best importance a survey has, chosen once for a whole report: the importance
    rating clients gave each item, else the 100 points they allocated across the
    dimensions, else the desired level (or expectations) they stated, else importance
    derived from overall satisfaction (each item's correlation with it); ``None`` when
    the survey has none of these.

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.ipa import importance_basis
    >>> importance_basis(sq.read_cycle("params/2005.yaml")).description
    'the 100 points clients allocated across the five dimensions'
    >>> importance_basis(sq.read_cycle("params/library-core-2007.yaml")).source
    'desired'
    """
    inst = survey.instrument
    source = stated_importance_source(inst, survey)
    if source == "weights":
        k = len(inst.dimensions)
        count = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"][k] if k <= 10 \
            else str(k)
        return ImportanceBasis("stated", source, f"the 100 points clients allocated across the {count} dimensions")
    if source is not None:
        words = ("the importance clients gave each item" if source == inst.importance
                 else "the desired level clients stated for each item" if source == inst.desired
                 else f"the {inst.measure_label(source)} clients stated for each item")
        return ImportanceBasis("stated", source, words)
    if survey.overall is not None:
        return ImportanceBasis("derived", "overall", "each item's correlation with overall satisfaction "
                               "(derived importance)")
    return None


def _mean(x: np.ndarray, w: np.ndarray | None) -> float:
    """Mean of the answered values, weighted by the survey weights when there are any."""
    ok = ~np.isnan(x)
    if not ok.any():
        return np.nan
    return float(x[ok].mean()) if w is None else float(np.average(x[ok], weights=w[ok]))


def _correlation(x: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> float:
    """Pearson's r, weighted (R: ``cov.wt(cbind(x, y), w, cor = TRUE)``) when there are weights."""
    if w is None:
        return float(np.corrcoef(x, y)[0, 1])
    c = np.cov(np.vstack([x, y]), aweights=w)
    return float(c[0, 1] / np.sqrt(c[0, 0] * c[1, 1]))


def importance_performance(
    survey,
    level: str = "item",
    by: str | Sequence[str] | None = None,
    *,
    importance: str = "auto",
    crosshair: str = "mean",
    min_group_n: int | None = MIN_GROUP_N,
) -> pd.DataFrame:
    """The importance–performance grid as a table.

    Parameters
    ----------
    survey
        A survey (importance from the instrument's importance or expectation ratings or
        its 100-point weights; derived importance needs the overall-satisfaction item).
    level
        ``"item"`` (default) or ``"dimension"``.
    by
        Respondent column(s) to group by; each group gets its own crosshairs.
    importance
        Which importance places the points and sets the quadrant: ``"auto"`` (default:
        :func:`importance_basis`, the one a report uses for its priorities too),
        ``"stated"`` (the best stated one: importance rating, 100-point weights, desired
        level or expectations), ``"derived"``, or a named stated source — a measure
        (``"expectation"``) or ``"weights"``.
    crosshair
        ``"mean"`` of the plotted points (default), ``"median"``, or the scale
        ``"midpoint"`` (stated importance only; for weights the equal share).
    min_group_n
        Groups smaller than this are suppressed.

    Returns
    -------
    pandas.DataFrame
        Per (group,) unit in questionnaire order: the ``by`` columns, ``item`` and
        ``dimension`` (or ``dimension``), ``n``, ``performance``, ``importance_stated``,
        ``importance_source``, ``importance_derived`` (Pearson r with overall
        satisfaction), ``importance`` (the one used), ``x_cross``, ``y_cross``,
        ``quadrant``, and the suppression columns.  A survey weighted to its population
        (:func:`servqual.weight`) gives weighted means and weighted correlations.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> grid = sq.importance_performance(survey)
    >>> grid['quadrant'].value_counts().sort_index().to_dict()
    {'keep up the good work': 5, 'low priority': 8, 'possible overkill': 9}
    >>> grid['importance_source'].iloc[0]  # the allocation: Reliability's items matter most
    'weights'
    """
    if level not in ("item", "dimension"):
        raise ValueError(f"level must be 'item' or 'dimension', got {level!r}")
    inst = survey.instrument
    named = None
    if importance not in ("auto", "stated", "derived"):
        if importance not in (*inst.measures, "weights"):
            raise ValueError(f"importance must be 'auto', 'stated', 'derived', 'weights' or a measure "
                             f"({', '.join(inst.measures)}), got {importance!r}")
        if importance == "weights" and survey.weights is None:
            raise ValueError("importance='weights' needs the 100-point allocation, which this survey lacks")
        named, importance = importance, "stated"
    if importance == "auto":
        basis = importance_basis(survey)
        if basis is None:
            raise ValueError(f"instrument {inst.id!r} asks no importance and the survey has no overall-satisfaction "
                             "item, so there is no importance to plot")
        importance = basis.kind
    if crosshair not in CROSSHAIRS:
        raise ValueError(f"crosshair must be one of {', '.join(map(repr, CROSSHAIRS))}, got {crosshair!r}")
    source = named or stated_importance_source(inst, survey)
    if importance == "stated" and source is None:
        raise ValueError(
            f"instrument {inst.id!r} asks no importance (no importance or expectation ratings, no weights); "
            "use importance='derived'"
        )
    if importance == "derived" and survey.overall is None:
        raise ValueError("derived importance needs the overall-satisfaction item, which this survey lacks")
    if importance == "derived" and crosshair == "midpoint":
        raise ValueError("a midpoint crosshair needs stated importance on the rating scale; use 'mean' or 'median'")
    perf_measure = inst.performance
    table = scores(survey, level, paired=False)
    perf = table[perf_measure]
    if source in inst.measures:
        stated = table[source]
    elif source == "weights" and survey.weights is not None:
        weights = survey.weights
        stated = weights if level == "dimension" else pd.DataFrame(
            {i: weights[inst.dimension_of(i)] for i in inst.items}, index=weights.index)
    else:
        stated = None
    keys = group_keys(survey, by)
    overall = survey.overall
    weights = survey.weight_array()  # survey weights (None: every respondent counts once)
    rows = []
    for key, index in group_rows(survey, keys).items():
        part = []
        w = None if weights is None else weights[index]
        for unit in perf.columns:
            p = perf[unit].to_numpy()[index]
            row = dict(zip(keys, key))
            row.update({"unit": unit, "n": int((~np.isnan(p)).sum()), "performance": _mean(p, w)})
            if stated is not None:
                row["importance_stated"] = _mean(stated[unit].to_numpy()[index], w)
            row["importance_source"] = source or ""
            if overall is not None:
                y = overall.to_numpy()[index]
                ok = ~np.isnan(p) & ~np.isnan(y)
                row["importance_derived"] = _correlation(p[ok], y[ok], None if w is None else w[ok]) \
                    if ok.sum() > 2 else np.nan
            part.append(row)
        frame = pd.DataFrame(part)
        frame["importance"] = frame["importance_stated" if importance == "stated" else "importance_derived"]
        if crosshair == "mean":
            x_cross, y_cross = frame["performance"].mean(), frame["importance"].mean()
        elif crosshair == "median":
            x_cross, y_cross = frame["performance"].median(), frame["importance"].median()
        else:
            scale = inst.scale
            x_cross = scale.midpoint
            y_cross = inst.weights_total / len(inst.dimensions) if source == "weights" else scale.midpoint
        frame["x_cross"], frame["y_cross"] = x_cross, y_cross
        frame["quadrant"] = [
            quadrant(p, i, x_cross, y_cross) if not (np.isnan(p) or np.isnan(i)) else ""
            for p, i in zip(frame["performance"], frame["importance"])
        ]
        rows.append(frame)
    out = pd.concat(rows, ignore_index=True)
    columns = [*keys, "unit", "n", "performance", "importance_stated", "importance_source", "importance_derived",
               "importance", "x_cross", "y_cross", "quadrant"]
    out = out.reindex(columns=columns)
    out = out.rename(columns={"unit": "item" if level == "item" else "dimension"})
    if level == "item":
        out.insert(len(keys) + 1, "dimension", out["item"].map(inst.dimension_of))
    masked = apply_min_group_n(out, min_group_n, "importance_performance", groups=keys)
    masked.attrs["crosshair"] = crosshair  # how x_cross and y_cross were set, for the figure's legend
    if "suppressed" in masked.columns:
        masked.loc[masked["suppressed"], "quadrant"] = ""
    return masked
