"""Scores and gaps per respondent, and the gap table by group (docs/methods.md, "Scoring").

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

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .survey import MIN_GROUP_N, STABLE_GROUP_N, Survey

__all__ = ["LEVELS", "OVERALL", "SmallGroupWarning", "WEIGHTED", "apply_min_group_n", "combine_small_groups", "gap_table",
           "rating_distribution", "scores", "suppress_small_groups"]

LEVELS = ("item", "dimension", "overall")
OVERALL = "overall"
WEIGHTED = "overall_weighted"


class SmallGroupWarning(UserWarning):
    """A table shows groups smaller than the privacy minimum because ``min_group_n=None``."""


def apply_min_group_n(table: pd.DataFrame, min_group_n: int | None, what: str = "this table",
                      groups: Sequence[str] = ()) -> pd.DataFrame:
    """Suppress rows under ``min_group_n`` respondents (the default everywhere; with
    complementary suppression across ``groups``), or — only when a caller asks with
    ``min_group_n=None`` — show every group, warning when any of them is smaller than
    :data:`~servqual.survey.MIN_GROUP_N`."""
    if min_group_n is not None:
        return suppress_small_groups(table, min_group_n, groups=groups)
    if "n" in table.columns:
        n = pd.to_numeric(table["n"], errors="coerce")
        tiny = int((n < MIN_GROUP_N).sum())
        if tiny:
            import warnings

            warnings.warn(
                f"{what}: min_group_n=None shows {tiny} row{'s' if tiny != 1 else ''} with fewer than "
                f"{MIN_GROUP_N} respondents; never share them (their means identify people and are unstable)",
                SmallGroupWarning, stacklevel=3,
            )
    return table


def check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(map(repr, LEVELS))}, got {level!r}")


def answers_needed(k, min_answered: float = 0.5):
    """Answers needed for a score out of k items: ⌈k · min_answered⌉, at least 1 (the
    workbench's at-least-half rule; k a number or an array of per-respondent counts).
    R: ``pmax(1, ceiling(k * min_answered))``.

    Examples
    --------
    >>> from servqual.scoring import answers_needed
    >>> answers_needed(5), answers_needed(4), answers_needed(1)
    (np.float64(3.0), np.float64(2.0), np.float64(1.0))
    """
    return np.maximum(1, np.ceil(np.asarray(k) * min_answered - 1e-12))


def _dimension_matrix(inst) -> np.ndarray:
    """Items × dimensions indicator (1 where the item belongs to the dimension)."""
    position = {item: j for j, item in enumerate(inst.items)}
    matrix = np.zeros((len(inst.items), len(inst.dimensions)))
    for d, items in enumerate(inst.dimensions.values()):
        matrix[[position[i] for i in items], d] = 1.0
    return matrix


def _dimension_array(inst, x: np.ndarray, min_answered: float, shown: np.ndarray | None = None) -> np.ndarray:
    """Respondent dimension scores from an items array in instrument order (half rule).
    With ``shown`` (sampled items), the rule counts the items each respondent was shown.
    Counts and sums are two products with the items × dimensions indicator (one pass
    over the ratings each, by BLAS)."""
    member = _dimension_matrix(inst)
    present = ~np.isnan(x)
    count = present.astype(float) @ member
    total = np.where(present, x, 0.0) @ member
    if shown is None:
        ok = count >= answers_needed(member.sum(axis=0), min_answered)
    else:
        k = shown.astype(float) @ member
        ok = (k > 0) & (count >= answers_needed(k, min_answered))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, total / count, np.nan)


def dimension_means(survey: Survey, frame: pd.DataFrame, min_answered: float) -> pd.DataFrame:
    inst = survey.instrument
    x = frame.reindex(columns=list(inst.items)).to_numpy(dtype=float)
    return pd.DataFrame(_dimension_array(inst, x, min_answered), index=frame.index, columns=list(inst.dimensions))


def _overall_array(d: np.ndarray, w: np.ndarray | None, min_answered: float) -> np.ndarray:
    """Overall (and, with weights, weighted overall) scores from dimension scores."""
    have = ~np.isnan(d)
    count = have.sum(axis=1)
    ok = count >= answers_needed(d.shape[1], min_answered)
    filled = np.where(have, d, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        overall = np.where(ok, filled.sum(axis=1) / np.maximum(count, 1), np.nan)
    if w is None:
        return overall[:, None]
    w_avail = np.where(have, w, 0.0)
    denom = w_avail.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = (filled * w_avail).sum(axis=1) / denom
    weighted = np.where(ok & (denom > 0) & ~np.isnan(w).all(axis=1), weighted, np.nan)
    return np.column_stack([overall, weighted])


def _units(survey: Survey, level: str) -> list[str]:
    inst = survey.instrument
    if level == "item":
        return list(inst.items)
    if level == "dimension":
        return list(inst.dimensions)
    return [OVERALL] if survey.weights_frame is None else [OVERALL, WEIGHTED]


def _score_block(survey: Survey, rows: slice, level: str, paired: bool, min_answered: float) -> dict[str, np.ndarray]:
    """Every quantity's scores for a block of kept respondents (arrays, units in order)."""
    inst = survey.instrument
    arrays = {m: survey.rating_array(m)[rows] for m in inst.measures}
    if paired and len(inst.measures) > 1:
        complete = np.logical_and.reduce([~np.isnan(a) for a in arrays.values()])
        arrays = {m: np.where(complete, a, np.nan) for m, a in arrays.items()}
    items = dict(arrays)
    for gap in inst.gaps:
        items[gap.name] = arrays[gap.minuend] - arrays[gap.subtrahend]
    if level == "item":
        return items
    shown = survey.shown_array()[rows] if inst.sampled_items else None
    dims = {q: _dimension_array(inst, a, min_answered, shown) for q, a in items.items()}
    if level == "dimension":
        return dims
    weights = survey.weights
    w = None
    if weights is not None:
        w = weights.reindex(columns=list(inst.dimensions)).to_numpy(dtype=float)[rows]
    return {q: _overall_array(d, w, min_answered) for q, d in dims.items()}


def scores(
    survey: Survey,
    level: str = "item",
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
        ``"item"`` (default), ``"dimension"`` or ``"overall"``.
    paired
        Count an item only where it was rated on every measure (default), so that the
        gap score equals the difference of the measure scores for every respondent.
    min_answered
        Share of a dimension's items (and, for the overall score, of the dimensions) a
        respondent must have answered for a score; rounded up.  Default one half.  With
        sampled items (``sampled: true``) the share is of the items the respondent was
        shown.

    Returns
    -------
    pandas.DataFrame
        Indexed by respondent id, with two-level columns ``(quantity, unit)``: quantity is
        a measure or gap name, unit an item id, dimension id, or ``overall`` /
        ``overall_weighted`` (the latter when the survey has importance weights).

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> per_respondent = sq.scores(survey, 'dimension')
    >>> per_respondent.shape
    (1180, 15)
    >>> per_respondent.columns[0]
    ('expectation', 'tangibles')
    """
    check_level(level)
    if not 0 < min_answered <= 1:
        raise ValueError(f"min_answered must be in (0, 1], got {min_answered!r}")
    survey.require_respondents()

    def compute() -> pd.DataFrame:
        block = _score_block(survey, slice(None), level, paired, min_answered)
        units = _units(survey, level)
        index = survey.respondents.index
        parts = {q: pd.DataFrame(a, index=index, columns=units) for q, a in block.items()}
        return pd.concat(parts, axis=1, names=["quantity", level if level != "overall" else "score"])

    # copy-on-write: the caller may change its copy without touching the cache
    return survey.cached(("scores", level, paired, min_answered), compute)


def group_keys(survey: Survey, by) -> list[str]:
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


def group_rows(survey: Survey, keys: Sequence[str]) -> dict[tuple, np.ndarray]:
    """Kept respondents' row positions per group, keyed by tuples of the ``keys`` values in
    sorted order (one group ``()`` holding everyone when there are no keys)."""
    resp = survey.respondents
    if not keys:
        return {(): np.arange(len(resp))}
    groups = resp.groupby(list(keys), sort=True, dropna=False, observed=True).indices
    return {(k if isinstance(k, tuple) else (k,)): v for k, v in groups.items()}


def _group_codes(survey: Survey, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Each kept respondent's group number, and the groups' key values in sorted order."""
    resp = survey.respondents
    if not keys:
        return np.zeros(len(resp), dtype=np.int64), pd.DataFrame(index=[0])
    grouper = resp.groupby(keys, sort=True, dropna=False, observed=True)
    codes = grouper.ngroup().to_numpy()
    labels = grouper.size().index.to_frame(index=False)
    return codes, labels


def group_moments(
    survey: Survey, level: str, keys: list[str], *, paired: bool = True, min_answered: float = 0.5,
    chunk: int = 16_384,
) -> tuple[pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Per group and unit: count, mean and sd of every quantity, in one chunked pass.

    Sums go through a one-hot group matrix (a BLAS product per block), shifted by each
    unit's first-block mean so the one-pass variance stays accurate; memory stays at a
    block's worth whatever the number of respondents.
    """
    survey.require_respondents()
    codes, labels = _group_codes(survey, keys)
    g = len(labels)
    n_resp = len(codes)
    acc: dict[str, list[np.ndarray]] = {}
    shifts: dict[str, np.ndarray] = {}
    # paired scores share one answered-mask across quantities: count it once per block
    shared_mask = paired and len(survey.instrument.measures) > 1
    for start in range(0, max(n_resp, 1), chunk):
        rows = slice(start, start + chunk)
        block = _score_block(survey, rows, level, paired, min_answered)
        block_codes = codes[rows]
        onehot = np.zeros((g, len(block_codes)))
        onehot[block_codes, np.arange(len(block_codes))] = 1.0
        counted = None
        for q, a in block.items():
            missing = np.isnan(a)
            if q not in shifts:
                with np.errstate(invalid="ignore"):
                    counts = len(a) - missing.sum(axis=0)
                    shifts[q] = np.where(counts > 0, np.nansum(a, axis=0) / np.maximum(counts, 1), 0.0)
                acc[q] = [np.zeros((g, a.shape[1])) for _ in range(3)]
            z = a - shifts[q]
            z[missing] = 0.0
            if counted is None or not shared_mask:
                counted = onehot @ (~missing).astype(float)
            acc[q][0] += counted
            acc[q][1] += onehot @ z
            acc[q][2] += onehot @ (z * z)
    out = {}
    for q, (n, s1, s2) in acc.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, shifts[q] + s1 / n, np.nan)
            var = (s2 - s1**2 / n) / (n - 1)
        out[q] = (n.astype(np.int64), mean, np.sqrt(np.maximum(var, 0.0)))
    return labels, out


def weighted_moments(
    survey: Survey, level: str, keys: list[str], *, paired: bool = True, min_answered: float = 0.5,
) -> tuple[pd.DataFrame, dict[str, dict[str, np.ndarray]]]:
    """Per group and unit of a weighted survey: ``n``, weighted ``mean``, ``sd``, the
    linearised ``se`` (calibration included) and Kish's ``n_effective`` of every quantity
    (each a groups × units array; see :func:`servqual.weighting.domain_stats`)."""
    from .weighting import domain_stats

    survey.require_respondents()
    codes, labels = _group_codes(survey, keys)
    w = survey.weight_array()
    cells = survey.calibration_cells()
    block = _score_block(survey, slice(None), level, paired, min_answered)
    out: dict[str, dict[str, np.ndarray]] = {}
    for q, a in block.items():
        per_group = [domain_stats(a, codes == g, w, cells) for g in range(len(labels))]
        out[q] = {key: np.vstack([p[key] for p in per_group]) for key in per_group[0]}
    return labels, out


def gap_table(
    survey: Survey,
    level: str = "item",
    by: str | Sequence[str] | None = None,
    ci: float = 0.95,
    *,
    paired: bool = True,
    min_answered: float = 0.5,
    min_group_n: int | None = MIN_GROUP_N,
) -> pd.DataFrame:
    """Mean scores and gaps per group at item, dimension or overall level.

    Parameters
    ----------
    survey
        A survey from :func:`servqual.read_survey` (only kept respondents count).
    level
        ``"item"`` (default), ``"dimension"`` or ``"overall"``.
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
        Rows with fewer respondents are suppressed (default 10; see
        :func:`suppress_small_groups`).  ``None`` shows every row, with a
        :class:`SmallGroupWarning` when any has fewer than 10 respondents.

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
          counts may differ;
        * for a survey weighted to its population (:func:`servqual.weight`): weighted
          means and sds, ``n_effective`` (Kish's (Σw)²/Σw² of the first interval column)
          after ``n``, and ``<quantity>_se``, the design-based standard error, from
          which the intervals are built (mean ± t(n − 1)·se).  ``attrs["weighted"]`` says which.

    Notes
    -----
    Reproduces, in R: ``aggregate(score ~ segment, FUN = mean)`` with
    ``sd``, ``length`` and ``mean ± qt((1 + ci) / 2, n - 1) * sd / sqrt(n)`` on the
    respondent scores described in the module docstring (``tests/r/gap_table.R``).
    Weighted: ``svyby(~score, ~segment, design, svymean, na.rm = TRUE)`` on the raked or
    post-stratified design, its ``SE`` (Taylor linearisation with the calibration's
    residuals, with-replacement single-stage design) and ``confint(…, df = degf(…))``
    of the group's respondents with a score;
    ``sqrt(svyvar)`` over the respondents with a score (``tests/r/weighting.R``).

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> table = sq.gap_table(survey, level='dimension', by='segment')
    >>> list(table.columns[:5])
    ['segment', 'dimension', 'n', 'expectation', 'expectation_sd']
    >>> table.loc[0, ['segment', 'dimension', 'n']].tolist()
    ['academic staff', 'tangibles', np.int64(192)]
    >>> round(float(table.loc[0, 'gap']), 2)
    -1.01
    """
    check_level(level)
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, got {ci!r}")
    keys = group_keys(survey, by)
    inst = survey.instrument
    units = _units(survey, level)
    gap_names = [g.name for g in inst.gaps]
    with_ci = gap_names or list(inst.measures)
    tq = (1 + ci) / 2
    if survey.weighted:
        labels, weighted = weighted_moments(survey, level, keys, paired=paired, min_answered=min_answered)
        stats_by_q = {q: (v["n"], v["mean"], v["sd"]) for q, v in weighted.items()}
    else:
        labels, stats_by_q = group_moments(survey, level, keys, paired=paired, min_answered=min_answered)
    g, u = len(labels), len(units)
    out = labels.loc[labels.index.repeat(u)].reset_index(drop=True) if keys else pd.DataFrame(index=range(u))
    out["unit"] = units * g
    first = stats_by_q[with_ci[0]][0].ravel()
    out["n"] = first
    if survey.weighted:
        out["n_effective"] = weighted[with_ci[0]]["n_effective"].ravel()
    for quantity in inst.quantities:
        n, mean, sd = (v.ravel() for v in stats_by_q[quantity])
        ok = n > 1
        out[quantity] = mean
        out[f"{quantity}_sd"] = np.where(ok, sd, np.nan)
        if survey.weighted:
            se = weighted[quantity]["se"].ravel()
            out[f"{quantity}_se"] = np.where(ok, se, np.nan)
            with np.errstate(invalid="ignore"):  # t on the group's degrees of freedom, as confint(…, df = degf)
                half = stats.t.ppf(tq, np.where(ok, n - 1, 1)) * se
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                half = stats.t.ppf(tq, np.where(ok, n - 1, 1)) * sd / np.sqrt(np.where(ok, n, 1))
        if quantity in with_ci:
            out[f"{quantity}_ci_low"] = np.where(ok, mean - half, np.nan)
            out[f"{quantity}_ci_high"] = np.where(ok, mean + half, np.nan)
        if not paired:
            out[f"{quantity}_n"] = n
    if level == "item":
        out = out.rename(columns={"unit": "item"})
        out.insert(len(keys) + 1, "dimension", out["item"].map(inst.dimension_of))
    else:
        out = out.rename(columns={"unit": "dimension"})
    out = out.reset_index(drop=True)
    out = apply_min_group_n(out, min_group_n, "gap_table", groups=keys)
    out.attrs["ci"] = ci  # the interval level, for captions
    out.attrs["weighted"] = survey.weighted
    return out


#: ``suppressed_reason`` of a row hidden only so that a smaller group's count cannot be
#: recovered from the total (complementary suppression; see :func:`suppress_small_groups`).
HIDDEN_WITH_SMALLER = "suppressed with a smaller group, so that its count cannot be recovered from the total"


def suppress_small_groups(table: pd.DataFrame, min_group_n: int = MIN_GROUP_N, *,
                          groups: Sequence[str] = ()) -> pd.DataFrame:
    """Blank every statistic of rows with fewer than ``min_group_n`` respondents, and — across
    the ``groups`` columns — enough other rows that no blanked count can be recovered by
    subtraction from a total.

    Shared reports never show a group smaller than ``min_group_n`` (anonymity), and
    practitioners treat groups under 100 as unstable.

    Parameters
    ----------
    table
        A table with an ``n`` column, such as :func:`gap_table`'s.
    min_group_n
        Smallest group shown (default 10).
    groups
        The columns that split respondents into groups (``["segment"]``).  Rows that
        share every other label (the same item or dimension) add up to the all-respondents
        row shown elsewhere, so when the blanked rows of such a set hold fewer than
        ``min_group_n`` respondents together, the smallest shown rows are blanked too
        (complementary suppression) until they hold at least ``min_group_n``.

    Returns
    -------
    pandas.DataFrame
        A copy in which small rows have every numeric column (``n`` included) missing,
        with three columns added: ``suppressed`` (bool), ``suppressed_reason`` (plain
        words, empty when shown) and ``small_group`` (shown, but fewer than 100).

    Notes
    -----
    Primary suppression is ``n < min_group_n``.  The complementary (secondary) rule is the
    simplest one of statistical disclosure control for a one-way table: within each set of
    rows that sum to a published total, the smallest shown rows join the suppressed ones
    until these hold at least ``min_group_n`` respondents together.  R's ``sdcTable``
    (``protectTable``) does secondary suppression for general tables; for a one-way table
    this greedy rule is enough.

    Examples
    --------
    >>> import servqual as sq
    >>> import pandas as pd
    >>> table = pd.DataFrame({'group': ['a', 'b'], 'n': [250, 4], 'gap': [-0.5, -2.0]})
    >>> sq.suppress_small_groups(table, 10)[['group', 'n', 'gap', 'suppressed']]
      group     n  gap  suppressed
    0     a   250 -0.5       False
    1     b  <NA>  NaN        True
    >>> table = pd.DataFrame({'group': ['a', 'b', 'c'], 'n': [250, 40, 4], 'gap': [-0.5, -1.0, -2.0]})
    >>> shown = sq.suppress_small_groups(table, 10, groups=['group'])
    >>> shown['suppressed'].tolist(), shown['suppressed_reason'].tolist()[1]
    ([False, True, True], 'suppressed with a smaller group, so that its count cannot be recovered from the total')
    """
    if "n" not in table.columns:
        raise KeyError("suppress_small_groups needs a table with an 'n' column (e.g. from gap_table)")
    if isinstance(min_group_n, bool) or not isinstance(min_group_n, int) or min_group_n < 1:
        raise ValueError(f"min_group_n must be a whole number ≥ 1, got {min_group_n!r}")
    out = table.copy()
    n = pd.to_numeric(table["n"])
    small = (n < min_group_n).to_numpy().copy()
    reason = np.where(small, f"fewer than {min_group_n} respondents", "").astype(object)
    groups = [g for g in ([groups] if isinstance(groups, str) else list(groups)) if g in table.columns]
    if groups and small.any():
        labels = [c for c in table.columns if c not in groups and c != "n"
                  and not (pd.api.types.is_numeric_dtype(table[c]) or pd.api.types.is_bool_dtype(table[c]))]
        sets = (table.groupby(labels, sort=False, dropna=False, observed=True).indices if labels
                else {(): np.arange(len(table))})
        values = n.fillna(0).to_numpy()
        for rows in sets.values():
            rows = np.asarray(rows)
            while True:
                hidden = rows[small[rows]]
                shown = rows[~small[rows] & (values[rows] > 0)]
                if len(hidden) == 0 or values[hidden].sum() >= min_group_n or len(shown) == 0:
                    break
                extra = shown[np.argmin(values[shown])]
                small[extra] = True
                reason[extra] = HIDDEN_WITH_SMALLER
    numeric = [c for c in out.columns if pd.api.types.is_numeric_dtype(out[c])
               and not pd.api.types.is_bool_dtype(out[c]) and c not in ("year", "year_from", "year_to")]
    for column in numeric:
        # counts stay whole numbers (nullable); everything else becomes float with NaN
        counts = column == "n" or pd.api.types.is_integer_dtype(out[column])
        out[column] = out[column].astype("Int64" if counts else float)
        out.loc[small, column] = pd.NA if counts else np.nan
    out["suppressed"] = small
    out["suppressed_reason"] = reason.astype(str)
    out["small_group"] = ~small & (n < STABLE_GROUP_N).to_numpy()
    return out


def combine_small_groups(survey: Survey, min_group_n: int = MIN_GROUP_N, columns: Sequence[str] | None = None, *,
                         other: str = "Other", not_stated: str = "Not stated") -> Survey:
    """The survey with each segment column's small groups combined into one ``other`` group,
    so that a shared report shows every respondent in a group of at least ``min_group_n``
    and no group's numbers can be recovered by subtraction from a total.

    Parameters
    ----------
    survey
        A survey.
    min_group_n
        Smallest group shown (default 10).
    columns
        Segment columns to treat (default all of ``survey.segments``).
    other, not_stated
        Labels of the combined group and of respondents who left the segment blank.

    Returns
    -------
    Survey
        The same respondents and ratings with relabelled segment columns; its
        ``combined_groups`` maps each column to the labels folded into ``other``.

    Notes
    -----
    Rule, per column, on the kept respondents: a blank segment becomes ``not_stated``;
    every group with fewer than ``min_group_n`` respondents joins ``other``; while
    ``other`` holds fewer than ``min_group_n`` respondents, the smallest remaining group
    joins it too.  If all respondents together are fewer than ``min_group_n`` nothing is
    shown anyway.  R equivalent: ``forcats::fct_lump_min(x, min = min_group_n,
    other_level = "Other")`` followed by the "smallest group joins other" step.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> survey.respondents["branch"].value_counts().sort_index().to_dict()
    {'Central': 519, 'Health': 202, 'Law': 144, 'Science': 315}

    Law alone is under 150, so the smallest other branch joins it:

    >>> combined = sq.combine_small_groups(survey, 150, ["branch"])
    >>> combined.respondents["branch"].value_counts().sort_index().to_dict()
    {'Central': 519, 'Other': 346, 'Science': 315}
    >>> combined.combined_groups
    {'branch': ('Law', 'Health')}
    """
    from dataclasses import replace

    columns = list(survey.segments if columns is None else columns)
    frame = survey.frame.copy()
    kept = survey.kept
    combined = dict(survey.combined_groups)
    for column in columns:
        if column not in frame.columns:
            raise KeyError(f"combine_small_groups: {column!r} is not a segment column (segments: "
                           f"{', '.join(survey.segments)})")
        values = frame[column].astype(object).where(frame[column].notna(), not_stated).astype(str)
        # a group already called "Other" is the same thing: small groups join it
        counts = values[kept].value_counts().sort_index(kind="stable").sort_values(kind="stable")
        folded = [g for g in counts.index if counts[g] < min_group_n and g != other]
        total = int(counts[folded].sum()) + int(counts.get(other, 0))
        if folded:
            for g in counts.index:
                if total >= min_group_n:
                    break
                if g not in folded and g != other:
                    folded.append(g)
                    total += int(counts[g])
            values = values.where(~values.isin(folded), other)
            combined[column] = tuple(folded)
        frame[column] = values
    return replace(survey, frame=frame, _cache={}, combined_groups=combined)


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

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.scoring import rating_distribution
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> counts = rating_distribution(survey, 'perception')
    >>> list(counts.columns[:5])
    ['item', 'dimension', 'rating', 'count', 'share']
    """
    inst = survey.instrument
    measure = measure or inst.performance
    if inst.scale is None:
        raise ValueError(f"instrument {inst.id!r} has no rating scale to count")
    values = survey.ratings(measure, keyed=keyed)
    na = survey.not_applicable(measure)
    keys = group_keys(survey, by)
    points = list(range(inst.scale.min, inst.scale.max + 1))
    rows = []
    for key, index in group_rows(survey, keys).items():
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
