"""Reliability: psych-identical alpha reports, confidence intervals, omega, gap reliability.

:func:`alpha_report` reproduces R ``psych::alpha`` table by table (column names in
snake_case) so that researchers can compare line by line; :func:`reliability` applies it
to every dimension of a survey; :func:`gap_reliability` shows how reliable difference
scores are beside their parts (Peter, Churchill & Brown 1993); :func:`omega` gives
McDonald's omega for a dimension (one factor) and omega hierarchical / total for the
whole instrument (bifactor model of its dimension structure).
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ._matrix import cov2cor, extract_factors, moments, pairwise_cor, smc
from .scoring import apply_min_group_n, dimension_means, group_keys, group_rows
from .survey import MIN_GROUP_N

__all__ = [
    "AlphaReport",
    "alpha_report",
    "feldt_ci",
    "gap_reliability",
    "omega",
    "reliability",
]

NAN_POLICIES = ("pairwise", "listwise")


# --------------------------------------------------------------------------- building blocks
def _alpha1(c: np.ndarray, r: np.ndarray) -> dict[str, float]:
    """psych:::alpha.1 — every whole-scale statistic from a covariance and correlation."""
    n = c.shape[0]
    sum_c, tr_c = c.sum(), np.trace(c)
    sum_r = r.sum()
    lower = r[np.tril_indices(n, -1)]
    av_r = (sum_r - n) / (n * (n - 1))
    q = (2 * n**2 / ((n - 1) ** 2 * sum_c**3)) * (
        sum_c * (np.trace(c @ c) + tr_c**2) - 2 * (tr_c * (c @ c).sum())
    )
    return {
        "raw_alpha": (1 - tr_c / sum_c) * (n / (n - 1)),
        "std_alpha": (1 - n / sum_r) * (n / (n - 1)),
        "g6_smc": 1 - (n - smc(r).sum()) / sum_r,
        "average_r": av_r,
        "s_n": n * av_r / (1 - av_r),
        "q": q,
        "var_r": float(np.var(lower, ddof=1)) if lower.size > 1 else np.nan,
        "med_r": float(np.median(lower)),
    }


def feldt_ci(alpha: float, n_obs: int, n_items: int, ci: float = 0.95) -> tuple[float, float]:
    """Feldt's confidence interval for coefficient alpha, as ``psych::alpha.ci``.

    lower = 1 − (1 − α)·F(1 − p/2; n − 1, (n − 1)(k − 1)),
    upper = 1 − (1 − α)·F(p/2; n − 1, (n − 1)(k − 1)), with p = 1 − ci.
    """
    p = 1 - ci
    df1, df2 = n_obs - 1, (n_obs - 1) * (n_items - 1)
    return (
        1 - (1 - alpha) * stats.f.ppf(1 - p / 2, df1, df2),
        1 - (1 - alpha) * stats.f.ppf(p / 2, df1, df2),
    )


def _bootstrap_alpha(x: np.ndarray, n_boot: int, seed, chunk: int = 250) -> np.ndarray:
    """Raw alpha of ``n_boot`` row resamples (pairwise covariances), vectorised.

    Each resample is a vector of row counts; every covariance sum the statistic needs
    is then one matrix product with those counts, so thousands of resamples cost a few
    BLAS calls instead of thousands of covariance matrices.
    """
    rng = np.random.default_rng(seed)
    n, k = x.shape
    present = ~np.isnan(x)
    centred = np.where(present, x - np.nanmean(x, axis=0), 0.0)
    out = np.empty(n_boot)
    if present.all():
        total = centred.sum(axis=1)
        z = np.column_stack([centred, centred**2, total, total**2])
        for start in range(0, n_boot, chunk):
            b = min(chunk, n_boot - start)
            w = _counts(rng, b, n)
            s = w @ z
            var_items = (s[:, k : 2 * k] - s[:, :k] ** 2 / n) / (n - 1)
            var_total = (s[:, 2 * k + 1] - s[:, 2 * k] ** 2 / n) / (n - 1)
            out[start : start + b] = k / (k - 1) * (1 - var_items.sum(axis=1) / var_total)
        return out
    m = present.astype(float)
    iu, ju = np.triu_indices(k)
    weight = np.where(iu == ju, 1.0, 2.0)  # off-diagonal pairs count twice in sum(C)
    diag = iu == ju
    z = np.concatenate(
        [m[:, iu] * m[:, ju], centred[:, iu] * m[:, ju], m[:, iu] * centred[:, ju], centred[:, iu] * centred[:, ju]],
        axis=1,
    )
    p = len(iu)
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        s = _counts(rng, b, n) @ z
        cnt, sx, sy, sxy = s[:, :p], s[:, p : 2 * p], s[:, 2 * p : 3 * p], s[:, 3 * p :]
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = (sxy - sx * sy / cnt) / (cnt - 1)
        sum_c = (cov * weight).sum(axis=1)
        tr_c = cov[:, diag].sum(axis=1)
        out[start : start + b] = k / (k - 1) * (1 - tr_c / sum_c)
    return out


def _counts(rng: np.random.Generator, b: int, n: int) -> np.ndarray:
    """How often each of n rows is drawn in each of b resamples of size n."""
    draws = rng.integers(0, n, size=(b, n))
    offsets = (np.arange(b) * n)[:, None]
    return np.bincount((draws + offsets).ravel(), minlength=b * n).reshape(b, n).astype(float)


def _column_counts(v: np.ndarray, max_categories: int) -> tuple[int, np.ndarray, int] | None:
    """(lowest value, count of each value from it, answered) for one item; ``None`` when
    its answers are not whole numbers within ``max_categories`` values."""
    blank = np.isnan(v)
    answered = v.size - int(blank.sum())
    if answered == 0:
        return None
    lo, hi = np.fmin.reduce(v), np.fmax.reduce(v)  # NaN skipped, no copy
    if hi - lo > max_categories:
        return None
    codes = v - lo
    codes[blank] = hi - lo + 1  # blanks in a bin of their own, dropped below
    whole = codes.astype(np.int64)
    if not np.array_equal(whole, codes):
        return None
    return int(lo), np.bincount(whole)[:-1] if blank.any() else np.bincount(whole), answered


def _response_freq(x: np.ndarray, columns: list[str], max_categories: int) -> pd.DataFrame | None:
    """psych::response.frequencies: share of each response per item, and the share missing.

    Counted column by column with bincount (no sort of the whole matrix), the columns of a
    large matrix on every core; ``None`` when the items are not whole numbers or span more
    than ``max_categories`` values.
    """
    n, k = x.shape

    def count(j: int):
        return _column_counts(x[:, j], max_categories)

    if n >= 100_000 and (os.cpu_count() or 1) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
            per_column = list(pool.map(count, range(k)))
    else:
        per_column = [count(j) for j in range(k)]
    if any(c is None for c in per_column):
        return None
    values = sorted({lo + i for lo, counts, _ in per_column for i in np.flatnonzero(counts)})
    if len(values) > max_categories:
        return None
    table = np.zeros((len(columns), len(values)))
    position = {v: i for i, v in enumerate(values)}
    for j, (lo, counts, answered) in enumerate(per_column):
        for i in np.flatnonzero(counts):
            table[j, position[lo + i]] = counts[i] / answered
    freq = pd.DataFrame(table, index=columns, columns=values)
    freq["miss"] = [1 - answered / n for _, _, answered in per_column]
    return freq


def _as_float_array(frame: pd.DataFrame, what: str) -> np.ndarray:
    """The frame's values as float64 with NaN, without a copy when they already are."""
    if all(dtype == np.float64 for dtype in frame.dtypes):
        return np.asarray(frame.to_numpy(copy=False))
    try:
        return frame.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise TypeError(f"{what} needs numeric item columns") from None


# --------------------------------------------------------------------------- alpha report
@dataclass(frozen=True)
class AlphaReport:
    """The tables of ``psych::alpha`` for one set of items.

    Attributes
    ----------
    total
        raw_alpha, std_alpha, g6_smc, average_r, s_n, ase, mean, sd, median_r.
    if_dropped
        Per item, the scale without it: raw_alpha, std_alpha, g6_smc, average_r, s_n,
        alpha_se, var_r, med_r.
    items
        Per item: n, raw_r, std_r, r_cor, r_drop, mean, sd.
    response_freq
        Per item, the share of each response value and ``miss`` (``None`` when there
        are more than ``max_categories`` distinct values).
    feldt
        Feldt confidence interval: lower, alpha, upper.
    bootstrap
        Percentile bootstrap interval (lower, median, upper) or ``None``.
    """

    total: pd.Series
    if_dropped: pd.DataFrame
    items: pd.DataFrame
    response_freq: pd.DataFrame | None
    feldt: pd.Series
    bootstrap: pd.Series | None
    n_obs: int
    ci: float
    nan_policy: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def alpha(self) -> float:
        return float(self.total["raw_alpha"])

    def __str__(self) -> str:
        level = f"{self.ci:.0%}"
        lines = [
            f"Reliability analysis (psych::alpha layout), {len(self.items)} items, n = {self.n_obs}, "
            f"{self.nan_policy} missing-data handling",
            self.total.to_frame().T.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
            f"\n{level} confidence interval of raw_alpha: Feldt [{self.feldt['lower']:.3f}, {self.feldt['upper']:.3f}]"
            + (
                f"; bootstrap [{self.bootstrap['lower']:.3f}, {self.bootstrap['upper']:.3f}]"
                f" ({int(self.bootstrap['n_boot'])} resamples)"
                if self.bootstrap is not None
                else ""
            ),
            "\nReliability if an item is dropped:",
            self.if_dropped.to_string(float_format=lambda v: f"{v:.3f}"),
            "\nItem statistics:",
            self.items.to_string(float_format=lambda v: f"{v:.3f}"),
        ]
        if self.response_freq is not None:
            lines += ["\nResponse frequencies (share of answers; miss = share missing):",
                      self.response_freq.to_string(float_format=lambda v: f"{v:.2f}")]
        lines += [f"\nNote: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        fmt = {"float_format": lambda v: f"{v:.3f}"}
        parts = [
            f"<h4>Reliability analysis: {len(self.items)} items, n = {self.n_obs} ({self.nan_policy})</h4>",
            self.total.to_frame().T.to_html(index=False, **fmt),
            f"<p>{self.ci:.0%} CI of raw_alpha: Feldt [{self.feldt['lower']:.3f}, {self.feldt['upper']:.3f}]"
            + (
                f"; bootstrap [{self.bootstrap['lower']:.3f}, {self.bootstrap['upper']:.3f}]"
                if self.bootstrap is not None
                else ""
            )
            + "</p>",
            "<h5>If an item is dropped</h5>", self.if_dropped.to_html(**fmt),
            "<h5>Item statistics</h5>", self.items.to_html(**fmt),
        ]
        parts += [f"<p><em>Note: {html.escape(n)}</em></p>" for n in self.notes]
        return "\n".join(parts)

    def to_frame(self) -> pd.DataFrame:
        """The result as one table: the whole-scale statistics (one row: raw_alpha, std_alpha, …)."""
        return self.total.to_frame().T


def alpha_report(
    frame: pd.DataFrame,
    *,
    nan_policy: str = "pairwise",
    ci: float = 0.95,
    n_boot: int = 0,
    seed: int | None = None,
    max_categories: int = 10,
    correlation: str = "pearson",
) -> AlphaReport:
    """Coefficient alpha with the full ``psych::alpha`` output.

    Parameters
    ----------
    frame
        Respondents × items (numeric; NaN for missing).  Reverse-keyed items must
        already be keyed (``survey.ratings(measure)`` does that); nothing is reversed
        here — items that correlate negatively with the scale are reported in ``notes``.
    nan_policy
        ``"pairwise"`` (default, as psych and pingouin): covariances from pairwise-
        complete observations, item statistics from all answers.  ``"listwise"``:
        respondents with any missing item are dropped first (``psych::alpha(na.omit(x))``).
    ci
        Level of the Feldt and bootstrap intervals.
    n_boot, seed
        Bootstrap resamples (0: none) and the random seed for a percentile interval.
    max_categories
        Response frequencies are tabulated when there are at most this many distinct
        values (psych's ``max``).
    correlation
        ``"pearson"`` (default): alpha from the item covariances.  ``"polychoric"``: the
        ordinal alpha of Zumbo, Gadermann & Zeisser (2007), alpha computed from the
        polychoric correlation matrix (:func:`servqual.polychoric`), as
        ``psych::alpha(polychoric(x)$rho, n.obs = n)``; raw and standardised alpha are then
        the same, and ``raw_r`` equals ``std_r``.

    Returns
    -------
    AlphaReport
        ``total``, ``if_dropped``, ``items``, ``response_freq``, ``feldt``, ``bootstrap``.

    Notes
    -----
    With C the item covariance matrix, R the correlation matrix and k items:
    raw_alpha = k/(k−1)·(1 − tr C / ΣC); std_alpha = k/(k−1)·(1 − k / ΣR);
    g6_smc = 1 − (k − Σ smc)/ΣR; average_r = (ΣR − k)/(k(k−1)); s_n = k·r̄/(1 − r̄);
    ase = √(Q/n) with Duhachek & Iacobucci's Q; ``mean``/``sd`` describe each respondent's
    mean over the items they answered.  Item columns: raw_r = cor(item, total),
    std_r = ΣR_j/√ΣR, r_cor the same with smc on the diagonal, r_drop = cor(item, sum of
    the other items).  Respondents who answered none of the items are not counted.
    Reproduces ``psych::alpha(x, use = "pairwise")`` and ``psych::alpha.ci``
    (tests/r/reliability.R).

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> report = sq.alpha_report(survey.ratings('perception')[['RL1', 'RL2', 'RL3', 'RL4', 'RL5']])
    >>> round(report.alpha, 3)
    0.859
    >>> list(report.items.columns)
    ['n', 'raw_r', 'std_r', 'r_cor', 'r_drop', 'mean', 'sd']
    """
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"nan_policy must be one of {', '.join(map(repr, NAN_POLICIES))}, got {nan_policy!r}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, got {ci!r}")
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    columns = [str(c) for c in frame.columns]
    x = _as_float_array(frame, "alpha_report")
    notes: list[str] = []
    missing = np.isnan(x)
    empty = missing.all(axis=1)
    if empty.any():  # respondents who answered none of the items are not counted
        x, missing = x[~empty], missing[~empty]
    if nan_policy == "listwise":
        complete = ~missing.any(axis=1)
        if (~complete).any():
            notes.append(f"{int((~complete).sum())} respondents with missing items were dropped (listwise).")
            x = x[complete]
    sums = moments(x, total=True)
    sd = sums.sds() if len(x) > 1 else np.full(x.shape[1], np.nan)
    bad = ~(sd > 0)
    if bad.any():
        dropped = [c for c, b in zip(columns, bad) if b]
        notes.append(f"item(s) {', '.join(dropped)} had no variance and were left out")
        x = x[:, ~bad]
        columns = [c for c, b in zip(columns, bad) if not b]
        x = x[~np.isnan(x).all(axis=1)]
        sums = moments(x, total=True)
    n_obs, k = x.shape
    if k < 2:
        raise ValueError(f"alpha needs at least two items with variance, got {k} ({', '.join(columns) or 'none'})")
    if n_obs < 3:
        raise ValueError(f"alpha needs at least three respondents, got {n_obs}")

    if correlation not in ("pearson", "polychoric"):
        raise ValueError(f"correlation must be 'pearson' or 'polychoric', got {correlation!r}")
    c = sums.cov()
    if np.isnan(c).any():
        raise ValueError("some pairs of items were never answered together; alpha cannot be computed pairwise")
    r = cov2cor(c)
    if correlation == "polychoric":
        if n_boot:
            raise ValueError("n_boot: the bootstrap is not offered for ordinal alpha (each resample would need "
                             "its own polychoric matrix); use the Feldt interval")
        from .polychoric import polychoric

        r = polychoric(pd.DataFrame(x, columns=columns)).rho.to_numpy()
        c = r.copy()  # psych::alpha on a correlation matrix: covariance and correlation are the same
        notes.append("Ordinal alpha: computed from the polychoric correlations of the items.")
    whole = _alpha1(c, r)

    # alpha if an item is dropped
    rows = []
    for i in range(k):
        keep = np.arange(k) != i
        if k > 2:
            d = _alpha1(c[np.ix_(keep, keep)], r[np.ix_(keep, keep)])
        else:  # psych's two-item special case
            j = 1 - i
            d = {"raw_alpha": c[0, 1] / c[j, j], "std_alpha": r[0, 1], "g6_smc": smc(r)[0],
                 "average_r": r[0, 1], "s_n": r[0, 1] / (1 - r[0, 1]), "q": np.nan, "var_r": 0.0,
                 "med_r": r[0, 1]}
        rows.append(d)
    if_dropped = pd.DataFrame(rows, index=columns)
    if_dropped["alpha_se"] = np.sqrt(if_dropped.pop("q") / n_obs)
    if_dropped = if_dropped[["raw_alpha", "std_alpha", "g6_smc", "average_r", "s_n", "alpha_se", "var_r", "med_r"]]

    # item statistics; raw_r = cor(item, respondent's mean score) over the item's answers
    n_item = sums.n
    with np.errstate(invalid="ignore", divide="ignore"):
        sz = np.diag(sums.sx)
        cov_tx = sums.szt - sz * sums.st_m / n_item
        var_t = sums.stt_m - sums.st_m**2 / n_item
        var_x = np.diag(sums.sxy) - sz**2 / n_item
        raw_r = cov_tx / np.sqrt(var_t * var_x)
    std_r = r.sum(axis=0) / math.sqrt(r.sum())
    rc = r.copy()
    np.fill_diagonal(rc, smc(r))
    r_cor = rc.sum(axis=0) / math.sqrt(rc.sum())
    sum_c = c.sum()
    r_drop = np.array(
        [(c[:, i].sum() - c[i, i]) / math.sqrt(c[i, i] * (sum_c - 2 * c[:, i].sum() + c[i, i])) for i in range(k)]
    )
    if correlation == "polychoric":
        raw_r = std_r
    items = pd.DataFrame(
        {
            "n": n_item.astype(int),
            "raw_r": raw_r,
            "std_r": std_r,
            "r_cor": r_cor,
            "r_drop": r_drop,
            "mean": sums.means(),
            "sd": sums.sds(),
        },
        index=columns,
    )
    negative = [col for col, v in zip(columns, r_drop) if v < 0]
    if negative:
        notes.append(
            f"item(s) {', '.join(negative)} correlate negatively with the rest of the scale: "
            "check the wording and whether the item should be reverse-keyed (nothing was reversed)"
        )

    t_count, t_shift, t_sum, t_sq = sums.total
    total = pd.Series(
        {
            "raw_alpha": whole["raw_alpha"],
            "std_alpha": whole["std_alpha"],
            "g6_smc": whole["g6_smc"],
            "average_r": whole["average_r"],
            "s_n": whole["s_n"],
            "ase": math.sqrt(whole["q"] / n_obs),
            "mean": t_shift + t_sum / t_count,
            "sd": math.sqrt((t_sq - t_sum**2 / t_count) / (t_count - 1)),
            "median_r": whole["med_r"],
        }
    )
    low, high = feldt_ci(whole["raw_alpha"], n_obs, k, ci)
    feldt = pd.Series({"lower": low, "alpha": whole["raw_alpha"], "upper": high})
    boot = None
    if n_boot:
        if n_boot < 100:
            raise ValueError(f"n_boot must be 0 (no bootstrap) or at least 100, got {n_boot}")
        sample = _bootstrap_alpha(x, int(n_boot), seed)
        sample = sample[np.isfinite(sample)]
        p = (1 - ci) / 2
        boot = pd.Series(
            {"lower": np.quantile(sample, p), "median": np.quantile(sample, 0.5), "upper": np.quantile(sample, 1 - p),
             "n_boot": float(n_boot)}
        )
    return AlphaReport(
        total=total,
        if_dropped=if_dropped,
        items=items,
        response_freq=_response_freq(x, columns, max_categories),
        feldt=feldt,
        bootstrap=boot,
        n_obs=n_obs,
        ci=ci,
        nan_policy=nan_policy,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- omega
def omega_total_one_factor(frame: pd.DataFrame, *, correlation: str = "pearson", nan_policy: str = "pairwise") -> float:
    """McDonald's omega total of one scale from a one-factor maximum-likelihood model.

    ω = (Σ λᵢsᵢ)² / ((Σ λᵢsᵢ)² + Σ ψᵢsᵢ²), with standardised loadings λ and
    uniquenesses ψ from ``psych::fa(x, 1, fm = "ml")`` on the pairwise correlations and
    sᵢ the item standard deviations: the reliability of the raw item mean.
    Needs three items or more (NaN otherwise).  ``nan_policy="listwise"`` uses only
    respondents who rated every item (as :func:`alpha_report` does with it), so alpha and
    omega describe the same people.  R: ``psych::fa(x, 1, fm = "ml")`` (``na.omit(x)``
    for listwise) and the formula above (``psych::omega`` with one factor reports the
    same ω_t).

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> omega = sq.omega_total_one_factor(survey.ratings("perception")[["RL1", "RL2", "RL3", "RL4", "RL5"]])
    >>> 0.8 < omega < 0.9
    True
    """

    if correlation not in ("pearson", "polychoric"):
        raise ValueError(f"correlation must be 'pearson' or 'polychoric', got {correlation!r}")
    if nan_policy not in ("pairwise", "listwise"):
        raise ValueError(f"nan_policy must be 'pairwise' or 'listwise', got {nan_policy!r}")
    x = frame.to_numpy(dtype=float, na_value=np.nan)
    x = x[~np.isnan(x).any(axis=1)] if nan_policy == "listwise" else x[~np.isnan(x).all(axis=1)]
    if x.shape[1] < 3 or len(x) < 3:
        return float("nan")
    if correlation == "polychoric":  # ordinal omega: on the latent scale, every item has unit variance
        from .polychoric import polychoric

        r = polychoric(pd.DataFrame(x)).rho.to_numpy()
    else:
        r = pairwise_cor(x)
    if np.isnan(r).any():
        return float("nan")
    load, _ = extract_factors(r, 1, "ml")
    lam = load[:, 0] * np.sign(load[:, 0].sum())
    s = np.ones(x.shape[1]) if correlation == "polychoric" else np.nanstd(x, axis=0, ddof=1)
    common = (lam * s).sum() ** 2
    return float(common / (common + ((1 - lam**2) * s**2).sum()))


@dataclass(frozen=True)
class OmegaResult:
    """Omega for an instrument: per dimension (one factor) and for the whole (bifactor).

    ``hierarchical`` is the share of the total-score variance due to the general factor,
    ``total`` the share due to all common factors; ``dimensions`` holds omega total of
    each dimension's own items.  ``model`` is the bifactor CFA they come from.
    """

    hierarchical: float
    total: float
    dimensions: pd.Series
    n_complete: int
    model: object = None

    def __str__(self) -> str:
        dims = ", ".join(f"{d} {v:.3f}" for d, v in self.dimensions.items())
        return (
            f"omega hierarchical = {self.hierarchical:.3f}, omega total = {self.total:.3f} "
            f"(bifactor model, n = {self.n_complete} complete respondents)\nomega total by dimension: {dims}"
        )

    def _repr_html_(self) -> str:
        return (f"<p>Omega from {self.n_complete} complete respondents</p>"
                + self.to_frame().to_html(float_format=lambda v: f"{v:.3f}"))

    def to_frame(self) -> pd.DataFrame:
        """The result as one table: omega total per dimension, then omega hierarchical and total of the whole."""
        return pd.concat([self.dimensions.rename("omega"), pd.Series({"omega_hierarchical": self.hierarchical, "omega_total": self.total}, name="omega")]).to_frame()


def omega(frame: pd.DataFrame, dimensions: dict[str, Sequence[str]]) -> OmegaResult:
    """Omega hierarchical and total from the dimension structure, and omega per dimension.

    Parameters
    ----------
    frame
        Respondents × items (keyed).
    dimensions
        Dimension → its items (``instrument.dimensions``); at least two dimensions.

    Notes
    -----
    The bifactor model (a general factor on every item plus one orthogonal factor per
    dimension) is fitted by maximum likelihood to complete respondents; with loadings λ,
    factor variances φ and the implied covariance Σ̂:
    ω_h = φ_g(Σλ_g)² / 1ᵀΣ̂1 and ω_t = [φ_g(Σλ_g)² + Σ_k φ_k(Σλ_k)²] / 1ᵀΣ̂1
    (Rodriguez, Reise & Haviland 2016), as computed from ``lavaan::cfa`` in
    tests/r/dimensionality.R.  Per dimension: :func:`omega_total_one_factor`.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> inst = survey.instrument
    >>> result = sq.omega(survey.ratings('perception'), inst.dimensions)
    >>> round(result.total, 2) > 0.8
    True
    """
    from .dimensionality import cfa

    dims = {d: [i for i in items if i in frame.columns] for d, items in dimensions.items()}
    dims = {d: items for d, items in dims.items() if items}
    if len(dims) < 2:
        raise ValueError("omega hierarchical needs at least two dimensions")
    per_dim = pd.Series({d: omega_total_one_factor(frame[items]) for d, items in dims.items()}, name="omega_total")
    items = [i for its in dims.values() for i in its]
    names = ["general", *dims]
    model = "\n".join(
        [f"general =~ {' + '.join(items)}"]
        + [f"{d} =~ {' + '.join(its)}" for d, its in dims.items()]
        + [f"{a} ~~ 0*{b}" for k, a in enumerate(names) for b in names[k + 1 :]]
    )
    fit = cfa(frame[items], model, name="bifactor")
    load = fit.loadings.pivot_table(index="item", columns="factor", values="estimate", aggfunc="first").fillna(0.0)
    part = {f: fit.factor_variances[f] * load[f].sum() ** 2 for f in names}
    total_var = fit.implied.to_numpy().sum()
    return OmegaResult(
        hierarchical=float(part["general"] / total_var),
        total=float(sum(part.values()) / total_var),
        dimensions=per_dim,
        n_complete=int(fit.fit["n"]),
        model=fit,
    )


# --------------------------------------------------------------------------- surveys
def _paired_ratings(survey, measures: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Keyed ratings masked to items rated on every measure (the gap table's pairing)."""
    ratings = {m: survey.ratings(m) for m in measures}
    complete = np.logical_and.reduce([r.notna().to_numpy() for r in ratings.values()])
    return {m: r.where(complete) for m, r in ratings.items()}


def _measure_items(survey, measure: str) -> pd.DataFrame:
    inst = survey.instrument
    if measure in inst.measures:
        return survey.ratings(measure)
    gap = inst.gap(measure)  # KeyError naming the valid gaps
    paired = _paired_ratings(survey, inst.measures)
    return paired[gap.minuend] - paired[gap.subtrahend]


def reliability(
    survey,
    measure: str | None = None,
    by: str | Sequence[str] | None = None,
    *,
    ci: float = 0.95,
    nan_policy: str = "pairwise",
    n_boot: int = 0,
    seed: int | None = None,
    flag_gain: float = 0.01,
    min_group_n: int | None = MIN_GROUP_N,
    ordinal: bool = False,
) -> pd.DataFrame:
    """Reliability of every dimension of a survey (and of all items together), per group.

    Parameters
    ----------
    survey
        A survey from :func:`servqual.read_survey` (keyed items, kept respondents).
    measure
        A measure (``"perception"``) or gap (``"gap"``: alpha of the item gaps); default
        the instrument's last measure (the performance rating).
    by
        Respondent column(s) to group by, or ``None``.
    min_group_n
        With ``by``, groups smaller than this are suppressed (default 10; ``None`` shows
        them with a warning).
    ci, nan_policy, n_boot, seed
        As :func:`alpha_report`; with ``n_boot`` the CI is the percentile bootstrap,
        otherwise Feldt's.
    flag_gain
        Name an item when dropping it would raise alpha by more than this.
    ordinal
        Ordinal alpha and omega from polychoric correlations (ratings only, not gaps):
        ``alpha_report(correlation="polychoric")`` and
        ``omega_total_one_factor(correlation="polychoric")``.

    Returns
    -------
    pandas.DataFrame
        One row per (group,) dimension: the ``by`` columns, ``dimension`` (``all_items``
        for the whole scale), ``n_items``, ``n``, ``raw_alpha``, ``alpha_ci_low``,
        ``alpha_ci_high``, ``std_alpha``, ``omega_total``, ``average_r`` and ``flags``:
        plain-words notes on items whose r_drop is negative or whose removal raises
        alpha (likely wording or reverse-keying problems — nothing is reversed here).

    Notes
    -----
    A survey weighted to its population (:func:`servqual.weight`) is analysed unweighted
    here, as ``psych::alpha`` does: reliability describes how the items hang together
    among the people who answered; weights change whom the means stand for, not that.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> table = sq.reliability(survey, 'perception')
    >>> table[['dimension', 'n', 'raw_alpha']].round(2).head(2)
         dimension     n  raw_alpha
    0    tangibles  1180       0.84
    1  reliability  1180       0.86
    """
    inst = survey.instrument
    measure = measure or inst.performance
    if ordinal and measure not in inst.measures:
        raise ValueError(f"ordinal=True needs a rating measure ({', '.join(inst.measures)}); {measure!r} is a gap, "
                         "whose item differences are not ordinal categories")
    items = _measure_items(survey, measure)
    keys = group_keys(survey, by)
    scales = dict(inst.dimensions)
    scales["all_items"] = tuple(inst.items)
    rows = []
    for key, rows_ in group_rows(survey, keys).items():
        for dim, dim_items in scales.items():
            block = items.iloc[rows_][list(dim_items)]
            row = dict(zip(keys, key))
            row.update({"dimension": dim, "n_items": len(dim_items)})
            try:
                rep = alpha_report(block, nan_policy=nan_policy, ci=ci, n_boot=n_boot, seed=seed,
                                   correlation="polychoric" if ordinal else "pearson")
            except ValueError as exc:
                row.update({"n": int(block.notna().any(axis=1).sum()), "flags": f"not computed: {exc}"})
                rows.append(row)
                continue
            low, high = (
                (rep.bootstrap["lower"], rep.bootstrap["upper"]) if rep.bootstrap is not None
                else (rep.feldt["lower"], rep.feldt["upper"])
            )
            row.update(
                {
                    "n": rep.n_obs,
                    "raw_alpha": rep.alpha,
                    "alpha_ci_low": low,
                    "alpha_ci_high": high,
                    "std_alpha": rep.total["std_alpha"],
                    "omega_total": omega_total_one_factor(block, correlation="polychoric" if ordinal else "pearson",
                                                          nan_policy=nan_policy)
                    if dim != "all_items" else np.nan,
                    "average_r": rep.total["average_r"],
                    "flags": _flags(rep, flag_gain),
                }
            )
            rows.append(row)
    columns = [*keys, "dimension", "n_items", "n", "raw_alpha", "alpha_ci_low", "alpha_ci_high",
               "std_alpha", "omega_total", "average_r", "flags"]
    out = pd.DataFrame(rows).reindex(columns=columns)
    # per group, small groups are suppressed like every other shared table
    return apply_min_group_n(out, min_group_n, "reliability") if keys else out


def _flags(rep: AlphaReport, gain: float) -> str:
    notes = []
    for item, r_drop in rep.items["r_drop"].items():
        if r_drop < 0:
            notes.append(
                f"{item} correlates negatively with the rest (r_drop = {r_drop:.2f}): check its wording "
                "and whether it should be reverse-keyed"
            )
    for item, value in rep.if_dropped["raw_alpha"].items():
        if value > rep.alpha + gain and rep.items.loc[item, "r_drop"] >= 0:
            notes.append(f"dropping {item} would raise alpha from {rep.alpha:.2f} to {value:.2f}")
    return "; ".join(notes)


def gap_reliability(survey, gap: str | None = None, by: str | Sequence[str] | None = None, *,
                    nan_policy: str = "pairwise") -> pd.DataFrame:
    """How reliable each dimension's gap score is, beside the reliability of its parts.

    Parameters
    ----------
    survey
        A survey whose instrument has gaps.
    gap
        Gap name (default the first, e.g. ``gap`` or ``adequacy``).
    by
        Respondent column(s) to group by, or ``None``.
    nan_policy
        ``"pairwise"`` (default): each alpha from every answer (psych's default) and the
        dimension scores under the at-least-half rule.  ``"listwise"``: per dimension only
        respondents who rated all its items on both measures, for the alphas and the
        scores alike, so every piece of the formula describes the same people.

    Returns
    -------
    pandas.DataFrame
        Per (group,) dimension: ``n``, ``alpha_<standard>``, ``alpha_<performance>``,
        ``alpha_item_gaps`` (alpha of the item gaps), ``sd_<standard>``,
        ``sd_<performance>``, ``r_<performance>_<standard>`` and ``r_difference``, the
        Lord/Johns reliability of the difference score:

        r_DD = (s_P² r_PP + s_E² r_EE − 2 r_PE s_P s_E) / (s_P² + s_E² − 2 r_PE s_P s_E)

    Notes
    -----
    All pieces use the same answers as the gap table (items rated on every measure);
    s and r_PE describe respondents' dimension scores (mean of answered items, at least
    half of them).  R: ``psych::alpha`` for each alpha (on ``na.omit`` rows with
    listwise), ``sd`` and ``cor`` (tests/r/reliability.R).  Peter, Churchill & Brown (1993): a difference of two correlated,
    reliable scales can be much less reliable than either.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> table = sq.gap_reliability(survey)
    >>> list(table['dimension'])
    ['tangibles', 'reliability', 'responsiveness', 'assurance', 'empathy']
    """
    inst = survey.instrument
    if not inst.gaps:
        raise ValueError(f"instrument {inst.id!r} has no gaps; use reliability() for its measures")
    g = inst.gap(gap) if gap else inst.gaps[0]
    perf, std = g.minuend, g.subtrahend
    if nan_policy not in ("pairwise", "listwise"):
        raise ValueError(f"nan_policy must be 'pairwise' or 'listwise', got {nan_policy!r}")
    paired = _paired_ratings(survey, inst.measures)
    item_gaps = paired[perf] - paired[std]
    dim_p = dimension_means(survey, paired[perf], 0.5)
    dim_e = dimension_means(survey, paired[std], 0.5)
    keys = group_keys(survey, by)
    rows = []
    for key, rows_ in group_rows(survey, keys).items():
        for dim, dim_items in inst.dimensions.items():
            cols = list(dim_items)
            row = dict(zip(keys, key))
            row["dimension"] = dim
            take = rows_
            if nan_policy == "listwise":  # the same respondents for every piece
                take = rows_[paired[perf].iloc[rows_][cols].notna().all(axis=1).to_numpy()]
            try:
                a_p = alpha_report(paired[perf].iloc[take][cols]).alpha
                a_e = alpha_report(paired[std].iloc[take][cols]).alpha
                a_g = alpha_report(item_gaps.iloc[take][cols]).alpha
            except ValueError:
                a_p = a_e = a_g = np.nan
            both = pd.concat([dim_p[dim].iloc[take], dim_e[dim].iloc[take]], axis=1).dropna().to_numpy()
            s_p, s_e = both.std(axis=0, ddof=1) if len(both) > 1 else (np.nan, np.nan)
            r_pe = np.corrcoef(both, rowvar=False)[0, 1] if len(both) > 2 else np.nan
            num = s_p**2 * a_p + s_e**2 * a_e - 2 * r_pe * s_p * s_e
            den = s_p**2 + s_e**2 - 2 * r_pe * s_p * s_e
            row.update({
                "n": len(both),
                f"alpha_{std}": a_e,
                f"alpha_{perf}": a_p,
                "alpha_item_gaps": a_g,
                f"sd_{std}": s_e,
                f"sd_{perf}": s_p,
                f"r_{perf}_{std}": r_pe,
                "r_difference": num / den if den > 0 else np.nan,
            })
            rows.append(row)
    return pd.DataFrame(rows)
