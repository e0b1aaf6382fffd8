"""Scores and gaps per respondent, and the gap table by group (DESIGN.md §2, §4).

Sign convention everywhere: a gap is performance minus a standard, so a negative gap is
a shortfall.  Scoring rules:

* item ratings are reverse-keyed first (x → min + max − x); N/A answers are missing;
* an item gap is the instrument's gap expression per respondent and item
  (``perception - expectation``; ``perceived - minimum`` …);
* a respondent's dimension score is the mean of the items they answered in that
  dimension, provided they answered at least half of them (rounded up), else missing;
* the overall score is the mean of the dimension scores, under the same at-least-half
  rule over dimensions;
* the weighted overall score uses each respondent's own importance allocation over the
  dimensions: Σ w_d·s_d / Σ w_d over the dimensions the respondent has a score for;
* group statistics average respondents: mean, standard deviation (n − 1) and a t-based
  confidence interval mean ± t(1 − α/2, n − 1)·sd/√n.

By default scores are *paired*: an item counts for a respondent only when it was rated
on every measure of the instrument, so perception, expectation and gap are computed on
the same answers and the gap table's columns add up (mean gap = mean perception − mean
expectation, exactly).  ``paired=False`` uses every available answer for each measure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .survey import Survey

__all__ = ["LEVELS", "OVERALL", "WEIGHTED", "gap_table", "rating_distribution", "scores", "suppress_small_groups"]

LEVELS = ("item", "dimension", "overall")
OVERALL = "overall"
WEIGHTED = "overall_weighted"


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(map(repr, LEVELS))}, got {level!r}")


def _min_count(k: int, min_answered: float) -> int:
    return max(1, math.ceil(k * min_answered - 1e-12))


def _dimension_means(survey: Survey, frame: pd.DataFrame, min_answered: float) -> pd.DataFrame:
    inst = survey.instrument
    x = frame.to_numpy(dtype=float)
    out = np.full((len(frame), len(inst.dimensions)), np.nan)
    position = {c: j for j, c in enumerate(frame.columns)}
    for d, items in enumerate(inst.dimensions.values()):
        block = x[:, [position[i] for i in items]]
        count = (~np.isnan(block)).sum(axis=1)
        total = np.nansum(block, axis=1)
        ok = count >= _min_count(len(items), min_answered)
        out[ok, d] = total[ok] / count[ok]
    return pd.DataFrame(out, index=frame.index, columns=list(inst.dimensions))


def _overall(dims: pd.DataFrame, weights: pd.DataFrame | None, min_answered: float) -> pd.DataFrame:
    x = dims.to_numpy(dtype=float)
    have = ~np.isnan(x)
    count = have.sum(axis=1)
    ok = count >= _min_count(x.shape[1], min_answered)
    result = {OVERALL: np.where(ok, np.nansum(x, axis=1) / np.maximum(count, 1), np.nan)}
    if weights is not None:
        w = weights.reindex(columns=dims.columns).to_numpy(dtype=float)
        w_avail = np.where(have, w, 0.0)
        denom = w_avail.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            weighted = np.nansum(np.where(have, x, 0.0) * w_avail, axis=1) / denom
        result[WEIGHTED] = np.where(ok & (denom > 0) & ~np.isnan(w).all(axis=1), weighted, np.nan)
    return pd.DataFrame(result, index=dims.index)


def scores(
    survey: Survey,
    level: str = "dimension",
    *,
    paired: bool = True,
    min_answered: float = 0.5,
) -> pd.DataFrame:
    """Scores per kept respondent: every measure and gap at one level.

    Parameters
    ----------
    survey
        A survey from :func:`servqual.read_survey`.
    level
        ``"item"``, ``"dimension"`` or ``"overall"``.
    paired
        Count an item only where it was rated on every measure (default), so that the
        gap score equals the difference of the measure scores for every respondent.
    min_answered
        Share of a dimension's items (and, for the overall score, of the dimensions) a
        respondent must have answered for a score; rounded up.  Default one half.

    Returns
    -------
    pandas.DataFrame
        Indexed by respondent id, with two-level columns ``(quantity, unit)``: quantity is
        a measure or gap name, unit an item id, dimension id, or ``overall`` /
        ``overall_weighted`` (the latter when the survey has importance weights).
    """
    _check_level(level)
    if not 0 < min_answered <= 1:
        raise ValueError(f"min_answered must be in (0, 1], got {min_answered!r}")
    key = ("scores", level, paired, min_answered)
    if key in survey._cache:
        return survey._cache[key].copy()
    inst = survey.instrument
    ratings = {m: survey.ratings(m) for m in inst.measures}
    if paired and len(inst.measures) > 1:
        complete = np.logical_and.reduce([r.notna().to_numpy() for r in ratings.values()])
        ratings = {m: r.where(complete) for m, r in ratings.items()}
    items = dict(ratings)
    for gap in inst.gaps:
        items[gap.name] = ratings[gap.minuend] - ratings[gap.subtrahend]
    if level == "item":
        result = items
    else:
        dims = {q: _dimension_means(survey, f, min_answered) for q, f in items.items()}
        if level == "dimension":
            result = dims
        else:
            weights = survey.weights
            result = {q: _overall(d, weights, min_answered) for q, d in dims.items()}
    frame = pd.concat(result, axis=1, names=["quantity", level if level != "overall" else "score"])
    survey._cache[key] = frame
    return frame.copy()


def _group_keys(survey: Survey, by) -> list[str]:
    if by is None:
        return []
    keys = [by] if isinstance(by, str) else list(by)
    resp = survey.respondents
    for k in keys:
        if k not in resp.columns:
            from .instrument import did_you_mean

            raise KeyError(
                f"by: {k!r} is not a respondent column{did_you_mean(k, resp.columns)} "
                f"(columns: {', '.join(map(str, resp.columns))})"
            )
    return keys


def _describe(values: pd.DataFrame, groups: pd.DataFrame, keys: list[str], ci: float) -> pd.DataFrame:
    """Long table (keys…, unit, n, mean, sd, ci_low, ci_high) for every column of ``values``."""
    units = list(values.columns)
    frame = values.copy()
    frame.columns = [f"u{j}" for j in range(len(units))]
    if keys:
        grouped = frame.groupby([groups[k] for k in keys], sort=True, dropna=False, observed=True)
        n = grouped.count()
        mean = grouped.mean()
        sd = grouped.std(ddof=1)
    else:
        n = frame.count().to_frame().T
        mean = frame.mean().to_frame().T
        sd = frame.std(ddof=1).to_frame().T
    long = []
    for name, table in (("n", n), ("mean", mean), ("sd", sd)):
        table = table.copy()
        table.columns = units
        long.append(table.stack(future_stack=True).rename(name))
    out = pd.concat(long, axis=1)
    out["n"] = out["n"].astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        tcrit = stats.t.ppf((1 + ci) / 2, out["n"] - 1)
        half = tcrit * out["sd"] / np.sqrt(out["n"])
    out["sd"] = out["sd"].where(out["n"] > 1)
    out["ci_low"] = (out["mean"] - half).where(out["n"] > 1)
    out["ci_high"] = (out["mean"] + half).where(out["n"] > 1)
    out.index = out.index.set_names([*keys, "unit"] if keys else ["_", "unit"])
    out = out.reset_index()
    if not keys:
        out = out.drop(columns="_")
    return out


def gap_table(
    survey: Survey,
    level: str = "dimension",
    by: str | Sequence[str] | None = None,
    ci: float = 0.95,
    *,
    paired: bool = True,
    min_answered: float = 0.5,
    min_group_n: int | None = None,
) -> pd.DataFrame:
    """Mean scores and gaps per group at item, dimension or overall level.

    Parameters
    ----------
    survey
        A survey from :func:`servqual.read_survey` (only kept respondents count).
    level
        ``"item"``, ``"dimension"`` (default) or ``"overall"``.
    by
        Respondent column(s) to group by (``"segment"``, ``["year", "segment"]``), or
        ``None`` for all respondents together.
    ci
        Confidence level of the t-based intervals (default 0.95).
    paired
        Compute every column on the same answers (items rated on all measures), so that
        each gap mean equals the difference of its measures' means.  Default ``True``.
    min_answered
        Share of items (of dimensions, for the overall score) a respondent must have
        answered to get a score; default one half, rounded up.
    min_group_n
        When given, rows with fewer respondents are suppressed for sharing (see
        :func:`suppress_small_groups`); by default every row is shown.

    Returns
    -------
    pandas.DataFrame
        One row per group and item/dimension, in questionnaire order:

        * the ``by`` columns;
        * ``item`` and ``dimension`` (item level) or ``dimension`` (dimension level; at
          overall level ``overall`` and, with importance weights, ``overall_weighted``);
        * ``n`` — respondents with a score on that row;
        * per measure: its mean (``expectation``, ``perception`` …) and ``<measure>_sd``;
        * per gap: ``<gap>`` (mean), ``<gap>_sd``, ``<gap>_ci_low``, ``<gap>_ci_high``;
        * for instruments without gaps (SERVPERF, staff climate), the measures carry the
          confidence interval columns instead;
        * with ``paired=False``, ``<quantity>_n`` for each measure and gap, since their
          counts may differ.

    Notes
    -----
    Reproduces, in R: ``aggregate(score ~ segment, FUN = mean)`` with
    ``sd``, ``length`` and ``mean ± qt((1 + ci) / 2, n - 1) * sd / sqrt(n)`` on the
    respondent scores described in the module docstring (``tests/r/gap_table.R``).
    """
    _check_level(level)
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, got {ci!r}")
    keys = _group_keys(survey, by)
    inst = survey.instrument
    table = scores(survey, level, paired=paired, min_answered=min_answered)
    groups = survey.respondents[keys] if keys else None
    gap_names = [g.name for g in inst.gaps]
    with_ci = gap_names or list(inst.measures)
    parts = {}
    for quantity in inst.quantities:
        parts[quantity] = _describe(table[quantity], groups, keys, ci)
    base = parts[with_ci[0]]
    out = base[keys + ["unit"]].copy()
    out["n"] = base["n"]
    for quantity in inst.quantities:
        part = parts[quantity]
        out[quantity] = part["mean"].to_numpy()
        out[f"{quantity}_sd"] = part["sd"].to_numpy()
        if quantity in with_ci:
            out[f"{quantity}_ci_low"] = part["ci_low"].to_numpy()
            out[f"{quantity}_ci_high"] = part["ci_high"].to_numpy()
        if not paired:
            out[f"{quantity}_n"] = part["n"].to_numpy()
    if level == "item":
        out = out.rename(columns={"unit": "item"})
        out.insert(len(keys) + 1, "dimension", out["item"].map(inst.dimension_of))
    else:
        out = out.rename(columns={"unit": "dimension"})
    out = out.reset_index(drop=True)
    return suppress_small_groups(out, min_group_n) if min_group_n is not None else out


def suppress_small_groups(table: pd.DataFrame, min_group_n: int = 10) -> pd.DataFrame:
    """Blank every statistic of rows with fewer than ``min_group_n`` respondents.

    Shared reports never show a group smaller than ``min_group_n`` (anonymity), and
    practitioners treat groups under 100 as unstable.

    Parameters
    ----------
    table
        A table with an ``n`` column, such as :func:`gap_table`'s.
    min_group_n
        Smallest group shown (default 10).

    Returns
    -------
    pandas.DataFrame
        A copy in which small rows have every numeric column (``n`` included) missing,
        with three columns added: ``suppressed`` (bool), ``suppressed_reason`` (plain
        words, empty when shown) and ``small_group`` (shown, but fewer than 100).
    """
    if "n" not in table.columns:
        raise KeyError("suppress_small_groups needs a table with an 'n' column (e.g. from gap_table)")
    if isinstance(min_group_n, bool) or not isinstance(min_group_n, int) or min_group_n < 1:
        raise ValueError(f"min_group_n must be a whole number ≥ 1, got {min_group_n!r}")
    out = table.copy()
    n = pd.to_numeric(table["n"])
    small = (n < min_group_n).to_numpy()
    numeric = [c for c in out.columns if pd.api.types.is_numeric_dtype(out[c])
               and not pd.api.types.is_bool_dtype(out[c]) and c not in ("year", "year_from", "year_to")]
    for column in numeric:
        # counts stay whole numbers (nullable); everything else becomes float with NaN
        counts = column == "n" or pd.api.types.is_integer_dtype(out[column])
        out[column] = out[column].astype("Int64" if counts else float)
        out.loc[small, column] = pd.NA if counts else np.nan
    out["suppressed"] = small
    out["suppressed_reason"] = np.where(small, f"fewer than {min_group_n} respondents", "")
    out["small_group"] = ~small & (n < 100).to_numpy()
    return out


def rating_distribution(
    survey: Survey,
    measure: str | None = None,
    by: str | Sequence[str] | None = None,
    *,
    keyed: bool = False,
) -> pd.DataFrame:
    """How often each rating was given, per item (and group): the data of a Likert chart.

    Parameters
    ----------
    measure
        Measure to count (default the instrument's last, the performance rating).
    keyed
        Count reverse-keyed items after keying (default: as answered).

    Returns
    -------
    pandas.DataFrame
        One row per (group,) item and scale point in questionnaire order: the ``by``
        columns, ``item``, ``dimension``, ``rating``, ``count``, ``share`` (of the
        item's ratings, N/A excluded), plus ``n`` (ratings given), ``not_applicable``
        (N/A answers) and ``na_share`` (N/A among ratings and N/A answers).
    """
    inst = survey.instrument
    measure = measure or inst.measures[-1]
    if inst.scale is None:
        raise ValueError(f"instrument {inst.id!r} has no rating scale to count")
    values = survey.ratings(measure, keyed=keyed)
    na = survey.not_applicable(measure)
    keys = _group_keys(survey, by)
    resp = survey.respondents
    groups = resp.groupby(keys, sort=True, dropna=False, observed=True).indices if keys else {(): np.arange(len(resp))}
    points = list(range(inst.scale.min, inst.scale.max + 1))
    rows = []
    for key, index in groups.items():
        key = key if isinstance(key, tuple) else (key,)
        block = values.to_numpy()[index]
        na_block = na.to_numpy()[index]
        for j, item in enumerate(values.columns):
            column = block[:, j]
            n = int((~np.isnan(column)).sum())
            n_na = int(na_block[:, j].sum())
            for point in points:
                count = int((column == point).sum())
                rows.append({**dict(zip(keys, key)), "item": item, "dimension": inst.dimension_of(item),
                             "rating": point, "count": count, "share": count / n if n else np.nan, "n": n,
                             "not_applicable": n_na, "na_share": n_na / (n + n_na) if n + n_na else np.nan})
    return pd.DataFrame(rows)
