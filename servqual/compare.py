"""Which gaps are real, which segments differ, what changed, what drives satisfaction.

* :func:`gap_tests` — the paired test of performance against its standard for every
  item/dimension/overall score and group: paired t and Wilcoxon signed-rank, mean gap
  with CI, d_z and Hedges' g, p-values adjusted across the family (Holm by default).
* :func:`segment_tests` and :func:`games_howell` — segments compared per dimension:
  Welch ANOVA, Kruskal–Wallis, Games–Howell pairs.
* :func:`year_changes` and :func:`trend_table` — cycle-to-cycle changes (Welch t) and
  the long trend table.
* :func:`drivers` — OLS of overall satisfaction on the dimension scores with HC3
  standard errors, standardised coefficients and the exact LMG decomposition of R².

Every table carries ``n``; groups under ``min_group_n`` are suppressed (statistics
missing, ``suppressed`` with the reason) and groups under 100 flagged ``small_group``.
Each function's Notes name the R function it reproduces (tests/r/compare.R).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .display import number
from .scoring import apply_min_group_n, gap_table, group_keys, group_rows, scores
from .survey import MIN_GROUP_N
from .weighting import domain_covariance, domain_stats

__all__ = [
    "DriversResult",
    "adjust_pvalues",
    "drivers",
    "games_howell",
    "gap_tests",
    "segment_tests",
    "trend_table",
    "weighting_effect",
    "wilcoxon_signed_rank",
    "year_changes",
]

ADJUST = {"holm": "holm", "bh": "fdr_bh", "fdr_bh": "fdr_bh", "bonferroni": "bonferroni", "none": None}


# --------------------------------------------------------------------------- building blocks
def _num(value) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def adjust_pvalues(p: Sequence[float], method: str = "holm") -> np.ndarray:
    """Multiplicity-adjusted p-values (``p.adjust``): ``"holm"``, ``"bh"``, ``"bonferroni"``,
    ``"none"``; missing p-values stay missing and are not counted.

    Notes
    -----
    R's ``p.adjust`` formulas, for the m non-missing p sorted ascending, p₍₁₎ ≤ … ≤ p₍ₘ₎:
    Bonferroni min(1, m p); Holm min(1, maxⱼ≤ᵢ (m − j + 1) p₍ⱼ₎); Benjamini–Hochberg
    min(1, minⱼ≥ᵢ m p₍ⱼ₎ / j).  Golden values: ``tests/r/compare.R``.

    Examples
    --------
    >>> import servqual as sq
    >>> sq.adjust_pvalues([0.01, 0.04, 0.03], 'holm').round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    if method not in ADJUST:
        raise ValueError(f"adjust must be one of {', '.join(map(repr, ADJUST))}, got {method!r}")
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    x = p[ok]
    m = len(x)
    if ADJUST[method] is None or m == 0:
        out[ok] = x
        return out
    if ADJUST[method] == "bonferroni":
        out[ok] = np.minimum(1.0, m * x)
        return out
    order = np.argsort(x, kind="stable")
    ranked = x[order]
    i = np.arange(1, m + 1)
    if ADJUST[method] == "holm":
        adjusted = np.maximum.accumulate((m - i + 1) * ranked)
    else:  # Benjamini–Hochberg: cumulative minimum from the largest p down
        adjusted = np.minimum.accumulate((m / i * ranked)[::-1])[::-1]
    back = np.empty(m)
    back[order] = np.minimum(1.0, adjusted)
    out[ok] = back
    return out


def _signrank_exact_cdf(n: int) -> np.ndarray:
    """P(V ≤ v) for the signed-rank statistic with n untied, non-zero differences."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    return np.cumsum(counts) / 2**n


def wilcoxon_signed_rank(d: np.ndarray) -> tuple[float, float]:
    """Wilcoxon signed-rank test of differences against 0, exactly as R ``wilcox.test(d)``.

    Zeros are dropped; with fewer than 50 differences and no ties the exact
    distribution is used, otherwise the normal approximation with tie and continuity
    corrections.  Returns (V, p) with V the sum of the positive ranks.

    V = Σ_{d_i > 0} rank(|d_i|); normal approximation z = (V − n(n+1)/4 ∓ ½) / σ with
    σ² = n(n+1)(2n+1)/24 − Σ(t³ − t)/48 over tie groups t.  R: ``wilcox.test(d)``
    (``wilcox.test(p, e, paired = TRUE)``); :func:`servqual.gap_tests` uses it.

    Examples
    --------
    >>> from servqual import wilcoxon_signed_rank
    >>> wilcoxon_signed_rank([1.5, -0.5, 2.0, 3.0, -1.0, 2.5])  # R: V = 18, p-value = 0.1563
    (18.0, 0.15625)
    """
    # scores are means of whole-number ratings: round away floating-point noise so that
    # equal differences tie and zero differences are dropped, as the exact values would
    d = np.round(np.asarray(d, dtype=float), 10)
    d = d[~np.isnan(d) & (d != 0)]
    n = len(d)
    if n == 0:
        return np.nan, np.nan
    ranks = stats.rankdata(np.abs(d))
    v = float(ranks[d > 0].sum())
    _, ties = np.unique(ranks, return_counts=True)
    if n < 50 and (ties == 1).all():
        cdf = _signrank_exact_cdf(n)
        vi = int(round(v))
        p = (1 - cdf[vi - 1]) if v > n * (n + 1) / 4 else cdf[vi]
        return v, float(min(1.0, 2 * p))
    z = v - n * (n + 1) / 4
    sigma = math.sqrt(n * (n + 1) * (2 * n + 1) / 24 - (ties**3 - ties).sum() / 48)
    z = (z - np.sign(z) * 0.5) / sigma
    return v, float(2 * min(stats.norm.cdf(z), stats.norm.sf(z)))


def _hedges_correction(n_total: int) -> float:
    return 1 - 3 / (4 * n_total - 9)


def welch(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Welch's two-sample statistics of x − y, with Hedges' g (pooled sd, corrected).

    se = √(s²ₓ/nₓ + s²ᵧ/nᵧ), t = (x̄ − ȳ)/se, Welch–Satterthwaite df
    = (s²ₓ/nₓ + s²ᵧ/nᵧ)² / ((s²ₓ/nₓ)²/(nₓ − 1) + (s²ᵧ/nᵧ)²/(nᵧ − 1)).
    R: ``t.test(x, y, var.equal = FALSE)`` (statistic, parameter, stderr).

    Examples
    --------
    >>> from servqual.compare import welch
    >>> w = welch(np.array([5.0, 6, 7, 6]), np.array([4.0, 5, 4, 3, 4]))
    >>> round(float(w["diff"]), 2), round(float(w["t"]), 3), round(float(w["df"]), 2)
    (2.0, 3.873, 6.05)
    """
    nx, ny = len(x), len(y)
    vx, vy = x.var(ddof=1), y.var(ddof=1)
    sx, sy = vx / nx, vy / ny
    diff = x.mean() - y.mean()
    se = math.sqrt(sx + sy)
    pooled = math.sqrt(((nx - 1) * vx + (ny - 1) * vy) / (nx + ny - 2))
    if se == 0:
        return {"diff": diff, "se": 0.0, "t": np.nan, "df": np.nan, "hedges_g": np.nan}
    return {"diff": diff, "se": se, "t": diff / se, "df": (sx + sy) ** 2 / (sx**2 / (nx - 1) + sy**2 / (ny - 1)),
            "hedges_g": diff / pooled * _hedges_correction(nx + ny)}


def _finish(table: pd.DataFrame, min_group_n: int | None, what: str, groups: Sequence[str] = ()) -> pd.DataFrame:
    return apply_min_group_n(table, min_group_n, what, groups=groups).reset_index(drop=True)


# --------------------------------------------------------------------------- paired gap tests
def gap_tests(
    survey,
    level: str = "item",
    by: str | Sequence[str] | None = None,
    *,
    gaps: Sequence[str] | None = None,
    ci: float = 0.95,
    adjust: str = "holm",
    family: str = "table",
    min_group_n: int | None = MIN_GROUP_N,
    paired: bool = True,
) -> pd.DataFrame:
    """Tests of performance against its standard for every gap, unit and group (paired by default).

    Parameters
    ----------
    survey
        A survey whose instrument has gaps (perception − expectation, …).
    level
        ``"item"`` (default), ``"dimension"`` or ``"overall"``.
    by
        Respondent column(s) to group by, or ``None``.
    gaps
        Gap names to test (default all the instrument's gaps).
    ci
        Level of the interval of the mean gap.
    adjust
        ``"holm"`` (default), ``"bh"`` (Benjamini–Hochberg), ``"bonferroni"`` or ``"none"``.
    family
        ``"table"``: adjust across every test in the table; ``"group"``: within each group.
    min_group_n
        Groups smaller than this are suppressed (``None`` keeps every group).
    paired
        ``True``: each respondent's own gap (the same answers as the gap table).
        ``False``: the two means as independent samples, each from everyone who rated
        that measure — for cycles where expectations and perceptions came from different
        respondents (two questionnaires, or a sampled design that showed some people only
        one column); Welch's t, the Wilcoxon rank-sum (Mann–Whitney) test and Hedges' g
        with the pooled sd.  ``n`` then counts respondents who rated either measure, and
        ``n_performance`` / ``n_standard`` each.

    Returns
    -------
    pandas.DataFrame
        One row per group × unit × gap, in questionnaire order: the ``by`` columns,
        ``item``/``dimension``, ``gap``, ``n``, ``performance`` and ``standard`` (means),
        ``mean_gap``, ``sd``, ``ci_low``, ``ci_high``, ``statistic`` (paired t), ``df``,
        ``p``, ``wilcoxon_statistic`` (the signed-rank statistic V), ``wilcoxon_p``,
        ``d_z``, ``hedges_g``, ``p_adj``, ``wilcoxon_p_adj``, and ``suppressed``,
        ``suppressed_reason``, ``small_group``.

    Notes
    -----
    Uses the paired scores of :func:`servqual.scores` (the same answers as the gap
    table).  t and CI: ``t.test(performance, standard, paired = TRUE)``; Wilcoxon:
    ``wilcox.test(performance - standard)``; d_z = mean gap / sd of the gaps; Hedges' g
    = (mean_P − mean_E)/√((s_P² + s_E²)/2) · (1 − 3/(8n − 9)) (pingouin's paired
    convention); adjustment: ``p.adjust``.  Unpaired: ``t.test(performance, standard)``
    (Welch: df = (s_P²/n_P + s_E²/n_E)² / ((s_P²/n_P)²/(n_P − 1) + (s_E²/n_E)²/(n_E − 1))),
    ``wilcox.test(performance, standard)`` (W, normal approximation with continuity and
    tie corrections), g = (mean_P − mean_E)/s_pooled · (1 − 3/(4(n_P + n_E) − 9)); d_z and
    sd (of the gaps) are left empty.

    A survey weighted to its population (:func:`servqual.weight`), paired: weighted means
    and sds, the mean gap's design-based standard error (as in :func:`servqual.gap_table`),
    t = mean / se — R's ``svyttest(gap ~ 0, subset(design, segment == g))`` statistic —
    on the group's n − 1 degrees of freedom (``svyttest`` takes one fewer), the interval
    mean ± t·se; no design-based signed-rank test exists, so the Wilcoxon columns are
    empty and the adjustment uses t's p.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> tests = sq.gap_tests(survey, level='dimension')
    >>> tests[['dimension', 'n', 'statistic', 'p_adj']].round(1).head(2)
         dimension     n  statistic  p_adj
    0    tangibles  1180      -34.8    0.0
    1  reliability  1180      -45.5    0.0
    """
    from .scoring import check_level

    check_level(level)
    inst = survey.instrument
    if not inst.gaps:
        raise ValueError(f"instrument {inst.id!r} has no gaps to test; use segment_tests or reliability")
    chosen = [inst.gap(g) for g in gaps] if gaps else list(inst.gaps)
    if family not in ("table", "group"):
        raise ValueError(f"family must be 'table' or 'group', got {family!r}")
    keys = group_keys(survey, by)
    table = scores(survey, level, paired=paired)
    tcrit_level = (1 + ci) / 2
    rows = []
    weighted = survey.weighted and paired
    if weighted:
        w, cells = survey.weight_array(), survey.calibration_cells()
    for key, index in group_rows(survey, keys).items():
        if weighted:
            member = np.zeros(survey.n, dtype=bool)
            member[index] = True
        for unit in table[chosen[0].minuend].columns:
            for gap in chosen:
                if weighted:
                    rows.append({**dict(zip(keys, key)), "unit": unit, "gap": gap.name,
                                 **_weighted_test(table[gap.minuend][unit].to_numpy(),
                                                  table[gap.subtrahend][unit].to_numpy(), member, w, cells,
                                                  tcrit_level)})
                    continue
                p = table[gap.minuend][unit].to_numpy()[index]
                e = table[gap.subtrahend][unit].to_numpy()[index]
                if not paired:
                    rows.append({**dict(zip(keys, key)), "unit": unit, "gap": gap.name,
                                 **_unpaired(p, e, tcrit_level)})
                    continue
                ok = ~np.isnan(p) & ~np.isnan(e)
                p, e = p[ok], e[ok]
                d = p - e
                n = len(d)
                row = dict(zip(keys, key))
                row.update({"unit": unit, "gap": gap.name, "n": n})
                if n >= 2:
                    mean, sd = d.mean(), d.std(ddof=1)
                    if np.ptp(d) == 0:
                        sd = 0.0  # identical differences: no variance (not rounding noise of ~1e-16)
                    se = sd / math.sqrt(n)
                    t = mean / se if se > 0 else np.nan
                    half = stats.t.ppf(tcrit_level, n - 1) * se
                    w, p_w = wilcoxon_signed_rank(d)
                    pooled = math.sqrt((p.var(ddof=1) + e.var(ddof=1)) / 2)
                    d_av = (p.mean() - e.mean()) / pooled if pooled > 0 else np.nan
                    row.update({
                        "performance": p.mean(), "standard": e.mean(), "mean_gap": mean, "sd": sd,
                        "ci_low": mean - half, "ci_high": mean + half, "statistic": t, "df": n - 1,
                        "p": 2 * stats.t.sf(abs(t), n - 1) if not np.isnan(t) else np.nan,
                        "wilcoxon_statistic": w, "wilcoxon_p": p_w, "d_z": mean / sd if sd > 0 else np.nan,
                        "hedges_g": d_av * _hedges_correction(2 * n),
                    })
                rows.append(row)
    out = pd.DataFrame(rows)
    stat_cols = ["performance", "standard", "mean_gap", "sd", "ci_low", "ci_high", "statistic", "df", "p",
                 "wilcoxon_statistic", "wilcoxon_p", "d_z", "hedges_g"]
    if not paired:
        stat_cols = ["n_performance", "n_standard", *stat_cols]
    out = out.reindex(columns=[*keys, "unit", "gap", "n", *stat_cols])
    testable = out["n"] >= (min_group_n or 0)
    for col in ("p", "wilcoxon_p"):
        values = out[col].where(testable)
        if family == "group" and keys:
            adj = np.full(len(out), np.nan)
            codes = out.groupby(keys, sort=False, dropna=False, observed=True).ngroup().to_numpy()
            for code in np.unique(codes):
                adj[codes == code] = adjust_pvalues(values.to_numpy()[codes == code], adjust)
            out[f"{col}_adj"] = adj
        else:
            out[f"{col}_adj"] = adjust_pvalues(values.to_numpy(), adjust)
    out = out.rename(columns={"unit": "item" if level == "item" else "dimension"})
    if level == "item":
        out.insert(len(keys) + 1, "dimension", out["item"].map(inst.dimension_of))
    return _finish(out, min_group_n, "gap_tests", groups=keys)


def _weighted_test(p: np.ndarray, e: np.ndarray, member: np.ndarray, w: np.ndarray, cells,
                   tcrit_level: float) -> dict:
    """The paired test of a weighted survey: weighted means, the gap's linearised standard
    error, t = mean / se on the group's n − 1 degrees of freedom (no design-based rank test:
    the Wilcoxon columns stay empty)."""
    ok = ~np.isnan(p) & ~np.isnan(e)
    d = np.where(ok, p - e, np.nan)
    both = np.column_stack([np.where(ok, p, np.nan), np.where(ok, e, np.nan), d])
    stats_ = domain_stats(both, member, w, cells)
    n = int(stats_["n"][2])
    row: dict = {"n": n}
    if n < 2:
        return row
    mean, se, sd = stats_["mean"][2], stats_["se"][2], stats_["sd"][2]
    t = mean / se if se > 0 else np.nan
    half = stats.t.ppf(tcrit_level, n - 1) * se
    sd_p, sd_e = stats_["sd"][0], stats_["sd"][1]
    pooled = math.sqrt((sd_p**2 + sd_e**2) / 2)
    d_av = (stats_["mean"][0] - stats_["mean"][1]) / pooled if pooled > 0 else np.nan
    row.update({
        "performance": stats_["mean"][0], "standard": stats_["mean"][1], "mean_gap": mean, "sd": sd,
        "ci_low": mean - half, "ci_high": mean + half, "statistic": t, "df": n - 1,
        "p": 2 * stats.t.sf(abs(t), n - 1) if not np.isnan(t) else np.nan,
        "wilcoxon_statistic": np.nan, "wilcoxon_p": np.nan, "d_z": mean / sd if sd > 0 else np.nan,
        "hedges_g": d_av * _hedges_correction(2 * n),
    })
    return row


def _unpaired(p: np.ndarray, e: np.ndarray, tcrit_level: float) -> dict:
    """Welch t, rank-sum test and Hedges' g of two independent samples of ratings."""
    p, e = p[~np.isnan(p)], e[~np.isnan(e)]
    n_p, n_e = len(p), len(e)
    row = {"n": int(max(n_p, n_e)), "n_performance": n_p, "n_standard": n_e}
    if n_p < 2 or n_e < 2:
        return row
    w = welch(p, e)
    mean, se, df = w["diff"], w["se"], w["df"]
    t = mean / se if se > 0 else np.nan
    half = stats.t.ppf(tcrit_level, df) * se if se > 0 else np.nan
    rank = stats.mannwhitneyu(p, e, alternative="two-sided", use_continuity=True, method="asymptotic")
    row.update({
        "performance": p.mean(), "standard": e.mean(), "mean_gap": mean, "sd": np.nan,
        "ci_low": mean - half, "ci_high": mean + half, "statistic": t, "df": df,
        "p": 2 * stats.t.sf(abs(t), df) if not np.isnan(t) else np.nan,
        "wilcoxon_statistic": float(rank.statistic), "wilcoxon_p": float(rank.pvalue), "d_z": np.nan,
        "hedges_g": w["hedges_g"] if np.isfinite(w["hedges_g"]) else np.nan,
    })
    return row


# --------------------------------------------------------------------------- segments
def _welch_anova(groups: list[np.ndarray]) -> tuple[float, float, float, float]:
    """oneway.test(var.equal = FALSE): F, df1, df2, p."""
    k = len(groups)
    n = np.array([len(g) for g in groups], dtype=float)
    m = np.array([g.mean() for g in groups])
    v = np.array([g.var(ddof=1) for g in groups])
    w = n / v
    sw = w.sum()
    grand = (w * m).sum() / sw
    tmp = ((1 - w / sw) ** 2 / (n - 1)).sum() / (k**2 - 1)
    f = ((w * (m - grand) ** 2).sum() / (k - 1)) / (1 + 2 * (k - 2) * tmp)
    df2 = 1 / (3 * tmp)
    return float(f), float(k - 1), float(df2), float(stats.f.sf(f, k - 1, df2))


def _segment_values(survey, quantity: str, level: str, by) -> tuple[pd.DataFrame, list[str]]:
    if by is None:
        if not survey.segments:
            raise ValueError("segment comparisons need a segment column: pass by=<column>; this survey has none")
        by = survey.segments[0]
    keys = group_keys(survey, by)
    if len(keys) != 1:
        raise ValueError("segment comparisons take one grouping column, e.g. by='segment'")
    table = scores(survey, level, paired=True)
    if quantity not in table.columns.get_level_values(0):
        raise KeyError(
            f"quantity {quantity!r} is not a measure or gap of {survey.instrument.id!r} "
            f"(choose from {', '.join(survey.instrument.quantities)})"
        )
    values = table[quantity].copy()
    values.insert(0, keys[0], survey.respondents[keys[0]].to_numpy())
    return values, keys


def _weighted_wald(segment: pd.Series, y: pd.Series, shown: list, survey) -> tuple[float, float, float, float]:
    """The design-based Wald F test that the shown groups' weighted means are equal (R:
    ``regTermTest(svyglm(y ~ segment, design), ~segment)``: F = W/(k − 1) on k − 1 and
    n − k degrees of freedom)."""
    lookup = {g: j for j, g in enumerate(shown)}
    codes = segment.map(lookup)
    values = np.where(codes.notna(), y.to_numpy(dtype=float), np.nan)
    mean, cov, counts = domain_covariance(values, codes.fillna(0).to_numpy(dtype=np.int64),
                                          survey.weight_array(), survey.calibration_cells())
    k = len(shown)
    contrast = np.hstack([-np.ones((k - 1, 1)), np.eye(k - 1)])
    d = contrast @ mean
    wald = float(d @ np.linalg.solve(contrast @ cov @ contrast.T, d))
    df1, df2 = k - 1, int(counts.sum()) - k
    f = wald / df1
    return f, float(df1), float(df2), float(stats.f.sf(f, df1, df2))


def segment_tests(
    survey,
    quantity: str | None = None,
    by: str | None = None,
    *,
    level: str = "item",
    min_group_n: int = MIN_GROUP_N,
    adjust: str = "holm",
) -> pd.DataFrame:
    """Do the segments differ? Welch ANOVA and Kruskal–Wallis per dimension.

    Parameters
    ----------
    quantity
        A gap or measure (default the instrument's first gap, else its last measure).
    by
        The segment column (default the survey's first segment column).
    level
        ``"item"`` (default), ``"dimension"`` or ``"overall"``.
    min_group_n
        Segments smaller than this are left out of the tests (named in ``excluded``).

    Returns
    -------
    pandas.DataFrame
        Per unit: ``n``, ``groups``, ``statistic`` (Welch's F), ``df1``, ``df2``, ``p``,
        ``omega_sq`` (ω² from the Welch F), ``kruskal_statistic`` (H), ``kruskal_df``, ``kruskal_p``,
        ``epsilon_sq`` (H/(n − 1)), adjusted p-values and ``excluded``.

    Notes
    -----
    ``oneway.test(y ~ g, var.equal = FALSE)`` and ``kruskal.test(y ~ g)`` (scores rounded
    to 10 decimals before ranking, so that equal means tie exactly).
    ω² = (F − 1)(k − 1) / ((F − 1)(k − 1) + n) (Carroll & Nordholm), 0 when F < 1.
    A survey weighted to its population (:func:`servqual.weight`): the design-based Wald
    F test of equal weighted means, ``regTermTest(svyglm(y ~ segment, design), ~segment)``
    (linearised covariance of the groups' means, calibration included; df2 = n − k); the
    Kruskal–Wallis columns are empty, as no design-based rank test is computed.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> tests = sq.segment_tests(survey, by='segment', level='dimension')
    >>> tests[['dimension', 'groups', 'p_adj']].round(3).head(2)
         dimension  groups  p_adj
    0    tangibles       4    0.0
    1  reliability       4    0.0
    """
    quantity = quantity or survey.instrument.primary
    values, keys = _segment_values(survey, quantity, level, by)
    seg = keys[0]
    rows = []
    for unit in values.columns[1:]:
        data = values[[seg, unit]].dropna()
        sizes = data.groupby(seg, observed=True)[unit].size()
        small = sizes[sizes < min_group_n]
        data = data[~data[seg].isin(small.index)]
        groups = [g[unit].to_numpy() for _, g in data.groupby(seg, sort=True, observed=True)]
        # ranks need exact ties: round floating-point noise off the mean scores
        ranked = [np.round(g, 10) for g in groups]
        row = {"unit": unit, "n": len(data), "groups": len(groups),
               "excluded": ", ".join(f"{s} (n < {min_group_n})" for s in small.index)}
        constant = len(groups) >= 2 and any(np.ptp(g) == 0 for g in groups)
        if constant:  # Welch's weights divide by each group's variance; say why there is no test
            row["excluded"] = "; ".join(filter(None, [row["excluded"], "no variance within a group: not tested"]))
        if len(groups) >= 2 and not constant and survey.weighted:
            f, df1, df2, p = _weighted_wald(values[seg], values[unit], sorted(set(data[seg])), survey)
            n, k = len(data), len(groups)
            omega = max((f - 1) * (k - 1), 0) / ((f - 1) * (k - 1) + n) if f > 1 else 0.0
            row.update({"statistic": f, "df1": df1, "df2": df2, "p": p, "omega_sq": omega})
        elif len(groups) >= 2 and not constant:
            f, df1, df2, p = _welch_anova(groups)
            h, p_k = stats.kruskal(*ranked)
            n, k = len(data), len(groups)
            omega = max((f - 1) * (k - 1), 0) / ((f - 1) * (k - 1) + n) if f > 1 else 0.0
            row.update({"statistic": f, "df1": df1, "df2": df2, "p": p, "omega_sq": omega,
                        "kruskal_statistic": float(h), "kruskal_df": k - 1, "kruskal_p": float(p_k),
                        "epsilon_sq": float(h) / (n - 1)})
        rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=[
        "unit", "n", "groups", "statistic", "df1", "df2", "p", "omega_sq", "kruskal_statistic", "kruskal_df",
        "kruskal_p", "epsilon_sq", "excluded"])
    out["p_adj"] = adjust_pvalues(out["p"], adjust)
    out["kruskal_p_adj"] = adjust_pvalues(out["kruskal_p"], adjust)
    out.insert(1, "quantity", quantity)
    return out.rename(columns={"unit": "item" if level == "item" else "dimension"})


def games_howell(
    survey,
    quantity: str | None = None,
    by: str | None = None,
    *,
    level: str = "item",
    min_group_n: int = MIN_GROUP_N,
) -> pd.DataFrame:
    """Games–Howell pairwise comparisons of segments, per dimension.

    Returns
    -------
    pandas.DataFrame
        Per unit and pair: ``a``, ``b``, ``n_a``, ``n_b``, ``mean_a``, ``mean_b``,
        ``diff`` (a − b), ``se``, ``statistic`` (Welch t), ``df`` (Welch), ``p`` (studentized range) and
        ``hedges_g``.  Segments under ``min_group_n`` are left out.

    Notes
    -----
    se = √(s_a²/n_a + s_b²/n_b); p = ``ptukey(√2·|t|, k, df, lower.tail = FALSE)`` with k
    the number of segments compared (as pingouin.pairwise_gameshowell).

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> pairs = sq.games_howell(survey, by='segment', level='dimension')
    >>> len(pairs), list(pairs.columns[:4])
    (30, ['dimension', 'quantity', 'a', 'b'])
    """
    quantity = quantity or survey.instrument.primary
    values, keys = _segment_values(survey, quantity, level, by)
    seg = keys[0]
    rows = []
    for unit in values.columns[1:]:
        data = values[[seg, unit]].dropna()
        groups = {name: g[unit].to_numpy() for name, g in data.groupby(seg, sort=True, observed=True)
                  if len(g) >= min_group_n}
        k = len(groups)
        for a, b in itertools.combinations(groups, 2):
            x, y = groups[a], groups[b]
            w = welch(x, y)
            p = float(np.clip(stats.studentized_range.sf(math.sqrt(2) * abs(w["t"]), k, w["df"]), 0, 1))
            rows.append({"unit": unit, "a": a, "b": b, "n_a": len(x), "n_b": len(y), "mean_a": x.mean(),
                         "mean_b": y.mean(), "diff": w["diff"], "se": w["se"], "statistic": w["t"], "df": w["df"], "p": p,
                         "hedges_g": w["hedges_g"]})
    out = pd.DataFrame(rows, columns=["unit", "a", "b", "n_a", "n_b", "mean_a", "mean_b", "diff", "se", "statistic",
                                      "df", "p", "hedges_g"])
    out.insert(1, "quantity", quantity)
    return out.rename(columns={"unit": "item" if level == "item" else "dimension"})


# --------------------------------------------------------------------------- cycles
def order_cycles(surveys) -> list[tuple[int, object]]:
    if isinstance(surveys, Mapping):
        items = list(surveys.items())
    else:
        items = [(s.year, s) for s in surveys]
    if any(y is None for y, _ in items):
        raise ValueError("every survey needs a year (read_survey(..., year=2005)) to compare cycles")
    ids = {s.instrument.id for _, s in items}
    if len(ids) > 1:
        raise ValueError(f"cycles use different instruments ({', '.join(sorted(ids))}); compare like with like")
    return sorted(items, key=lambda kv: kv[0])


def trend_table(
    surveys,
    by: str | Sequence[str] | None = None,
    *,
    level: str = "item",
    ci: float = 0.95,
    min_group_n: int | None = MIN_GROUP_N,
) -> pd.DataFrame:
    """The gap table of every cycle in one long table: ``year`` first, then as gap_table.

    Examples
    --------
    >>> import servqual as sq
    >>> cycles = [sq.read_cycle(f'params/{y}.yaml') for y in (2005, 2006)]
    >>> trend = sq.trend_table(cycles, level='overall')
    >>> trend[['year', 'dimension', 'n']].head(2)
       year         dimension     n
    0  2005           overall  1178
    1  2005  overall_weighted  1118
    """

    parts = []
    for year, survey in order_cycles(surveys):
        table = gap_table(survey, level, by=by, ci=ci, min_group_n=min_group_n)
        table.insert(0, "year", year)
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


def linked_trend(
    surveys,
    by: str | Sequence[str] | None = None,
    *,
    level: str = "dimension",
    ci: float = 0.95,
    min_group_n: int | None = MIN_GROUP_N,
) -> pd.DataFrame:
    """The performance rating across cycles that changed form (three-column → two-question).

    Only what both forms ask is compared: each cycle's performance measure (perceived,
    current service), on the items with the same id in every form, and on the dimensions
    whose items are the same in every form (named as the latest form names them).  The
    standards are never put on one line: desired is not importance, and the minimum has no
    counterpart.  ``.attrs["note"]`` says in one sentence what was linked and what left out.

    Returns
    -------
    pandas.DataFrame
        Per cycle, group and unit: ``year``, ``form``, ``measure`` (its name in that
        form), the ``by`` columns, ``item``/``dimension``, ``n``, ``mean``, ``sd``,
        ``ci_low``, ``ci_high`` (t interval), and the suppression columns.

    Notes
    -----
    mean ± t(1 − α/2, n − 1)·sd/√n of the respondents' scores (dimension scores by the
    at-least-half rule), as :func:`servqual.gap_table`; R: ``t.test(x)$conf.int``.

    Examples
    --------
    >>> import servqual as sq
    >>> core = sq.read_cycle("params/library-core-2007.yaml")
    >>> revised = sq.synthetic.consortium_member("library-revised-25", 0, n=200, year=2025)
    >>> trend = sq.linked_trend([core, revised])
    >>> sorted(set(trend["measure"])), list(dict.fromkeys(trend["dimension"]))
    (['current', 'perceived'], ['service_quality', 'information_control', 'library_spaces'])
    """
    from .scoring import check_level

    check_level(level)
    if level == "overall":
        raise ValueError("linked_trend compares items or dimensions; the overall score mixes dimensions the forms "
                         "do not share")
    items = sorted(((s.year, s) for s in surveys), key=lambda kv: kv[0])
    if any(y is None for y, _ in items):
        raise ValueError("every survey needs a year to compare cycles")
    forms = [s.instrument for _, s in items]
    latest = forms[-1]
    if level == "item":
        shared = [i for i in latest.items if all(i in f.items for f in forms)]
        names = [{i: i for i in shared} for _ in forms]
    else:
        shared, names = [], [dict() for _ in forms]
        for dim, dim_items in latest.dimensions.items():
            matches = [next((d for d, its in f.dimensions.items() if set(its) == set(dim_items)), None) for f in forms]
            if all(m is not None for m in matches):
                shared.append(dim)
                for k, m in enumerate(matches):
                    names[k][m] = dim
    if not shared:
        raise ValueError(f"the forms ({', '.join(dict.fromkeys(f.id for f in forms))}) share no {level} "
                         "(the same item ids), so nothing can be compared across them")
    keys = group_keys(items[0][1], by)
    rows = []
    for (year, survey), inst, rename in zip(items, forms, names):
        perf = inst.performance
        table = scores(survey, level, paired=False)[perf].rename(columns=rename)[shared]
        for key, index in group_rows(survey, keys).items():
            for unit in shared:
                x = table[unit].to_numpy()[index]
                x = x[~np.isnan(x)]
                n = len(x)
                row = {"year": year, "form": inst.id, "measure": perf, **dict(zip(keys, key)), "unit": unit, "n": n}
                if n >= 2:
                    mean, sd = x.mean(), x.std(ddof=1)
                    half = stats.t.ppf((1 + ci) / 2, n - 1) * sd / math.sqrt(n)
                    row.update({"mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half})
                elif n == 1:
                    row.update({"mean": x[0]})
                rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=["year", "form", "measure", *keys, "unit", "n", "mean", "sd", "ci_low",
                                              "ci_high"])
    out = _finish(out, min_group_n, "linked_trend", groups=["year", *keys])
    out = out.rename(columns={"unit": level})
    left_out = [d for d in (latest.items if level == "item" else latest.dimensions) if d not in shared]
    measures = " ↔ ".join(dict.fromkeys(f"{f.performance} ({f.id})" for f in forms))
    out.attrs["note"] = (f"Compared across the change of form: {measures}, on the {len(shared)} {level}s asked in "
                         "every form" + (f" ({', '.join(left_out)} left out)" if left_out else "")
                         + "; the standards (desired, minimum, importance) are different questions and are not "
                         "compared.")
    return out


def year_changes(
    surveys,
    by: str | Sequence[str] | None = None,
    *,
    quantity: str | None = None,
    level: str = "item",
    ci: float = 0.95,
    adjust: str = "holm",
    min_group_n: int | None = MIN_GROUP_N,
) -> pd.DataFrame:
    """Change from each cycle to the next, per group and dimension (Welch t).

    Parameters
    ----------
    surveys
        Surveys of the same instrument, as a list (each with its ``year``) or a mapping
        year → survey.
    quantity
        Gap or measure compared (default the first gap, else the last measure).

    Returns
    -------
    pandas.DataFrame
        Per consecutive pair of cycles, group and unit: ``year_from``, ``year_to``, the
        ``by`` columns, ``dimension``/``item``, ``n_from``, ``n_to``, ``mean_from``,
        ``mean_to``, ``change`` (to − from), ``ci_low``, ``ci_high``, ``statistic`` (Welch t), ``df``, ``p``,
        ``hedges_g``, ``p_adj``; ``n`` is the smaller of the two groups (for suppression).

    Notes
    -----
    ``t.test(to, from)`` (Welch); Hedges' g with the pooled sd and the small-sample
    correction 1 − 3/(4(n₁ + n₂) − 9).

    Examples
    --------
    >>> import servqual as sq
    >>> cycles = [sq.read_cycle(f'params/{y}.yaml') for y in (2005, 2006)]
    >>> changes = sq.year_changes(cycles, level='dimension')
    >>> list(changes.columns[:5])
    ['year_from', 'year_to', 'dimension', 'quantity', 'n_from']
    """
    cycles = order_cycles(surveys)
    if len(cycles) < 2:
        raise ValueError("year_changes needs at least two cycles")
    inst = cycles[0][1].instrument
    quantity = quantity or inst.primary
    if quantity not in inst.quantities:
        raise KeyError(f"quantity {quantity!r} is not one of {', '.join(inst.quantities)}")
    rows = []
    for (y0, s0), (y1, s1) in zip(cycles, cycles[1:]):
        keys = group_keys(s0, by)
        group_keys(s1, by)
        v0 = scores(s0, level)[quantity]
        v1 = scores(s1, level)[quantity]
        g0, g1 = group_rows(s0, keys), group_rows(s1, keys)
        empty = np.array([], dtype=np.int64)
        for key in sorted(set(g0) | set(g1), key=str):
            for unit in v0.columns:
                a = v0[unit].to_numpy()[g0.get(key, empty)]
                b = v1[unit].to_numpy()[g1.get(key, empty)]
                a, b = a[~np.isnan(a)], b[~np.isnan(b)]
                row = dict(zip(keys, key))
                row.update({"year_from": y0, "year_to": y1, "unit": unit, "n_from": len(a), "n_to": len(b),
                            "n": min(len(a), len(b))})  # the smaller group decides suppression
                if len(a) >= 2 and len(b) >= 2:
                    w = welch(b, a)  # the change: later cycle minus earlier
                    half = stats.t.ppf((1 + ci) / 2, w["df"]) * w["se"]
                    row.update({"mean_from": a.mean(), "mean_to": b.mean(), "change": w["diff"],
                                "ci_low": w["diff"] - half, "ci_high": w["diff"] + half, "statistic": w["t"], "df": w["df"],
                                "p": 2 * stats.t.sf(abs(w["t"]), w["df"]), "hedges_g": w["hedges_g"]})
                rows.append(row)
    out = pd.DataFrame(rows)
    keys = group_keys(cycles[0][1], by)
    cols = ["year_from", "year_to", *keys, "unit", "n_from", "n_to", "n", "mean_from", "mean_to", "change",
            "ci_low", "ci_high", "statistic", "df", "p", "hedges_g"]
    out = out.reindex(columns=cols)
    out["p_adj"] = adjust_pvalues(out["p"].where(out["n"] >= (min_group_n or 0)), adjust)
    out.insert(len(keys) + 3, "quantity", quantity)
    out = out.rename(columns={"unit": "item" if level == "item" else "dimension"})
    return _finish(out, min_group_n, "year_changes")


# --------------------------------------------------------------------------- drivers
@dataclass(frozen=True)
class DriversResult:
    """What drives overall satisfaction: OLS with HC3 errors and LMG relative importance.

    ``coefficients`` has one row per dimension: ``coef``, ``se_hc3``, ``t``, ``p``,
    ``ci_low``, ``ci_high``, ``beta`` (standardised), ``lmg`` (share of R² attributed,
    summing to R²) and ``lmg_share`` (lmg / R²), plus an ``intercept`` row.
    """

    coefficients: pd.DataFrame
    r2: float
    adj_r2: float
    n: int
    outcome: str

    def __str__(self) -> str:
        ranked = self.coefficients.drop(index="intercept").sort_values("lmg", ascending=False)
        lines = [f"Drivers of {self.outcome}: R² = {self.r2:.3f} (adjusted {self.adj_r2:.3f}), n = {self.n}"]
        lines.append(self.coefficients.to_string(float_format=lambda v: f"{v:.3f}"))
        top = ranked.index[0]
        lines.append(f"{top} accounts for the largest share of explained variance ({ranked.loc[top, 'lmg_share']:.0%}).")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = str(self).split("\n")[0]
        return f"<p>{head}</p>" + self.coefficients.to_html(float_format=lambda v: f"{v:.3f}")

    def to_frame(self) -> pd.DataFrame:
        """The result as one table: the coefficients table."""
        return self.coefficients.copy()


def _r2(y: np.ndarray, x: np.ndarray) -> float:
    if x.shape[1] == 0:
        return 0.0
    design = np.column_stack([np.ones(len(y)), x])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    return 1 - (resid @ resid) / ((y - y.mean()) @ (y - y.mean()))


def lmg(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Exact LMG (Shapley) decomposition of R² over all subsets of the predictors."""
    p = x.shape[1]
    if p > 12:
        raise ValueError(f"exact LMG needs 2^p regressions; {p} predictors is too many (at most 12)")
    r2 = {}
    for size in range(p + 1):
        for subset in itertools.combinations(range(p), size):
            r2[subset] = _r2(y, x[:, list(subset)])
    out = np.zeros(p)
    for j in range(p):
        others = [k for k in range(p) if k != j]
        for size in range(p):
            weight = math.factorial(size) * math.factorial(p - size - 1) / math.factorial(p)
            for subset in itertools.combinations(others, size):
                with_j = tuple(sorted((*subset, j)))
                out[j] += weight * (r2[with_j] - r2[subset])
    return out


def drivers(survey, *, measure: str | None = None, ci: float = 0.95) -> DriversResult:
    """Regress overall satisfaction on the dimension scores of the performance measure.

    Parameters
    ----------
    survey
        A survey with the instrument's overall-satisfaction item.
    measure
        Measure whose dimension scores predict (default the last measure: perception,
        perceived or performance).

    Notes
    -----
    ``lm(overall ~ dimensions)`` on complete respondents, standard errors from
    ``sandwich::vcovHC(fit, type = "HC3")`` with t-based p-values and CIs, standardised
    β = b·s_x/s_y, and LMG: each dimension's R² gain averaged over all orders of entry.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> result = sq.drivers(survey)
    >>> result.n, round(result.r2, 2)
    (1152, 0.49)
    >>> list(result.coefficients.columns[:4])
    ['coef', 'se_hc3', 'statistic', 'p']
    """
    import statsmodels.api as sm

    inst = survey.instrument
    if survey.overall is None:
        raise ValueError(
            f"drivers need the overall-satisfaction item; instrument {inst.id!r} "
            + ("defines none" if inst.overall is None else f"defines {inst.overall.id!r} but the file has no such column")
        )
    measure = measure or inst.performance
    if measure not in inst.measures:
        raise KeyError(f"measure {measure!r} is not one of {', '.join(inst.measures)}")
    dims = scores(survey, "dimension", paired=False)[measure]
    data = pd.concat([survey.overall.rename("__y"), dims], axis=1).dropna()
    if len(data) <= len(dims.columns) + 2:
        raise ValueError(f"too few complete respondents ({len(data)}) for {len(dims.columns)} predictors")
    y = data.pop("__y").to_numpy()
    x = data.to_numpy()
    if np.ptp(y) == 0:
        raise ValueError(f"every respondent gave the same overall satisfaction ({_num(y[0])}): with no variance "
                         "there is nothing for the dimensions to explain")
    flat = [d for d, col in zip(data.columns, x.T) if np.ptp(col) == 0]
    if flat:
        raise ValueError(f"dimension score(s) {', '.join(map(repr, flat))} do not vary between respondents: "
                         "a constant cannot drive satisfaction; leave them out with a narrower survey")
    if np.linalg.matrix_rank(np.column_stack([np.ones(len(x)), x])) <= x.shape[1]:
        raise ValueError("the dimension scores are collinear (one is a combination of the others), so their "
                         "separate effects cannot be estimated")
    model = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HC3", use_t=True)
    conf = model.conf_int(alpha=1 - ci)
    names = ["intercept", *dims.columns]
    sd_y = y.std(ddof=1)
    beta = np.r_[np.nan, model.params[1:] * x.std(axis=0, ddof=1) / sd_y]
    shares = lmg(y, x)
    coefficients = pd.DataFrame(
        {"coef": model.params, "se_hc3": model.bse, "statistic": model.tvalues, "p": model.pvalues,
         "ci_low": conf[:, 0], "ci_high": conf[:, 1], "beta": beta,
         "lmg": np.r_[np.nan, shares], "lmg_share": np.r_[np.nan, shares / model.rsquared]},
        index=names,
    )
    return DriversResult(coefficients, float(model.rsquared), float(model.rsquared_adj), len(y),
                         inst.overall.id if inst.overall else "overall")


_VERDICTS = {"short": "falls short", "above": "exceeds the standard", "level": "about level"}


def _verdict(low: float, high: float) -> str:
    if np.isnan(low) or np.isnan(high):
        return ""
    return "short" if high < 0 else "above" if low > 0 else "level"


def weighting_effect(survey, level: str = "dimension", *, ci: float = 0.95, min_group_n: int | None = None
                     ) -> pd.DataFrame:
    """How far weighting moves each score: the unweighted and the weighted mean of the
    instrument's first gap (or, without gaps, its performance rating), side by side.

    Parameters
    ----------
    survey
        A survey weighted with :func:`weight`.
    level
        ``"dimension"`` (default), ``"overall"`` or ``"item"``.
    ci
        Level of both intervals.
    min_group_n
        Rows with fewer respondents are suppressed (default the survey's privacy minimum).

    Returns
    -------
    pandas.DataFrame
        Per unit (``item``/``dimension``): ``n``, ``n_effective``, ``quantity``,
        ``unweighted``, ``unweighted_ci_low``, ``unweighted_ci_high``, ``weighted``,
        ``weighted_ci_low``, ``weighted_ci_high``, ``difference`` (weighted −
        unweighted), ``conclusion_unweighted`` and ``conclusion_weighted`` (``falls
        short``, ``exceeds the standard`` or ``about level``: the interval below, above or
        across zero; empty without gaps), ``changed``, and the suppression columns of
        :func:`servqual.gap_table`.  ``attrs["sentence"]`` says in
        one sentence whether weighting changed any conclusion.

    Notes
    -----
    Both columns come from :func:`servqual.gap_table` (the unweighted one on the same
    respondents with the weights removed): R ``svymean`` on the weighted design against
    ``mean``/``t.test``.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> counts = {"segment": {"academic staff": 1200, "postgraduate": 4000, "undergraduate": 14650,
    ...                       "library staff": 150}}
    >>> effect = sq.weighting_effect(sq.weight(survey, counts))
    >>> effect[["dimension", "conclusion_unweighted", "conclusion_weighted", "changed"]].head(2)
         dimension conclusion_unweighted conclusion_weighted  changed
    0    tangibles           falls short         falls short    False
    1  reliability           falls short         falls short    False
    """
    if not survey.weighted:
        raise ValueError("weighting_effect needs a survey weighted with sq.weight(survey, population)")
    min_group_n = MIN_GROUP_N if min_group_n is None else min_group_n
    inst = survey.instrument
    quantity = inst.gaps[0].name if inst.gaps else inst.performance
    weighted = gap_table(survey, level, ci=ci, min_group_n=min_group_n)
    plain = gap_table(survey.with_weights(None), level, ci=ci, min_group_n=min_group_n)
    unit = "item" if level == "item" else "dimension"
    out = pd.DataFrame({unit: weighted[unit], "n": weighted["n"], "n_effective": weighted["n_effective"],
                        "quantity": quantity})
    for name, table in (("unweighted", plain), ("weighted", weighted)):
        out[name] = table[quantity].to_numpy(dtype=float)
        out[f"{name}_ci_low"] = table[f"{quantity}_ci_low"].to_numpy(dtype=float)
        out[f"{name}_ci_high"] = table[f"{quantity}_ci_high"].to_numpy(dtype=float)
    out["difference"] = out["weighted"] - out["unweighted"]
    for name in ("unweighted", "weighted"):
        out[f"conclusion_{name}"] = ([_VERDICTS.get(_verdict(lo, hi), "") for lo, hi in
                                      zip(out[f"{name}_ci_low"], out[f"{name}_ci_high"])] if inst.gaps
                                     else "")
    out["changed"] = out["conclusion_unweighted"] != out["conclusion_weighted"]
    for column in ("suppressed", "suppressed_reason", "small_group"):
        out[column] = weighted[column].to_numpy()
    changed = out[out["changed"] & ~out["suppressed"]]
    label = (lambda u: inst.dimension_label(u).lower()) if level != "item" else (lambda u: u)
    largest = out.loc[out["difference"].abs().idxmax()] if out["difference"].notna().any() else None
    move = (f"; the largest move is {label(largest[unit])}'s, {number(largest['difference'], signed=True)} points"
            if largest is not None else "")
    if not inst.gaps:
        sentence = (f"Weighting moves the {level} means by at most {number(out['difference'].abs().max())} points"
                    f"{move}.")
    elif changed.empty:
        sentence = (f"Weighting changed no conclusion: every {level}'s gap keeps its direction and significance"
                    f"{move}.")
    else:
        parts = [f"{label(r[unit])} now {r.conclusion_weighted} (unweighted: {r.conclusion_unweighted})"
                 for _, r in changed.iterrows()]
        sentence = (f"Weighting changed {len(parts)} conclusion{'s' if len(parts) > 1 else ''}: "
                    + "; ".join(parts) + ".")
    out.attrs["sentence"] = sentence
    return out
