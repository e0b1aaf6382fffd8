"""Polychoric correlations: the correlation of the normal variables behind ordinal ratings.

Ratings on a 1–7 or 1–9 scale are ordinal; Pearson correlations of them are attenuated
and depend on how the categories are used.  The polychoric correlation assumes each item
cuts a standard normal variable at thresholds τ, estimated from the item's own marginal
proportions (τ_k = Φ⁻¹ of the cumulative share up to category k), and finds for each pair
the ρ of the bivariate normal that makes the observed two-way table most likely — the
two-step estimator of ``psych::polychoric`` (Olsson 1979).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

__all__ = ["PolychoricResult", "bivariate_normal_cdf", "pair_rho", "polychoric", "polychoric_pair",
           "smooth_correlation"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(40)


def bivariate_normal_cdf(h: np.ndarray, k: np.ndarray, rho: float) -> np.ndarray:
    """Φ₂(h, k; ρ) for arrays h, k (infinite limits allowed), to about 1e-14.

    Φ₂ = Φ(h)Φ(k) + (1/2π) ∫₀^{asin ρ} exp(−(h² − 2hk·sin θ + k²) / (2cos²θ)) dθ,
    integrated by 40-point Gauss–Legendre (the integrand is smooth in θ).

    Examples
    --------
    >>> from servqual.polychoric import bivariate_normal_cdf
    >>> round(float(bivariate_normal_cdf(0.0, 0.0, 0.5)[0]), 15)  # 1/4 + asin(0.5)/(2π) = 1/3
    0.333333333333333
    """
    h, k = np.broadcast_arrays(np.atleast_1d(np.asarray(h, dtype=float)), np.atleast_1d(np.asarray(k, dtype=float)))
    out = np.asarray(special.ndtr(h) * special.ndtr(k), dtype=float).copy()
    if rho == 0:
        return out
    finite = np.isfinite(h) & np.isfinite(k)
    if finite.any():
        hf, kf = h[finite][:, None], k[finite][:, None]
        top = np.arcsin(rho)
        theta = (_NODES + 1) * top / 2
        s, c2 = np.sin(theta), np.cos(theta) ** 2
        integrand = np.exp(-(hf ** 2 - 2 * hf * kf * s + kf ** 2) / (2 * c2))
        out[finite] += (integrand @ _WEIGHTS) * top / 2 / (2 * np.pi)
    return np.clip(out, 0.0, 1.0)


def _cell_probabilities(rho: float, tau_x: np.ndarray, tau_y: np.ndarray) -> np.ndarray:
    cuts_x = np.r_[-np.inf, tau_x, np.inf]
    cuts_y = np.r_[-np.inf, tau_y, np.inf]
    grid = bivariate_normal_cdf(cuts_x[:, None], cuts_y[None, :], rho)
    return grid[1:, 1:] - grid[:-1, 1:] - grid[1:, :-1] + grid[:-1, :-1]


def pair_rho(table: np.ndarray, tau_x: np.ndarray, tau_y: np.ndarray) -> tuple[float, float]:
    """The two-step polychoric ρ of one two-way table with the thresholds held fixed, and
    the minimised −Σ p_ab log P_ab(ρ) (p the table's shares; cells with P ≤ 0 skipped, as
    psych does), P_ab the bivariate-normal probability of the cell between the thresholds.
    R: ``polycor::polychor(x, y, ML = FALSE)`` given the same table.

    Examples
    --------
    >>> import numpy as np
    >>> from servqual.polychoric import pair_rho
    >>> rho, _ = pair_rho(np.array([[40, 10], [10, 40]]), np.array([0.0]), np.array([0.0]))
    >>> round(rho, 4)  # a symmetric 2 × 2 table cut at 0: cos(π·10/50) = 0.809
    0.809
    """
    share = table / table.sum()

    def loss(rho: float) -> float:
        p = _cell_probabilities(rho, tau_x, tau_y)
        ok = p > 0
        return -float((share[ok] * np.log(p[ok])).sum())

    res = optimize.minimize_scalar(loss, bounds=(-0.99999, 0.99999), method="bounded",
                                   options={"xatol": 1e-10})
    return float(res.x), float(res.fun)


def smooth_correlation(r: np.ndarray, eig_tol: float = 1e-12) -> np.ndarray:
    """``psych::cor.smooth``: when a correlation matrix is not positive definite, raise its
    eigenvalues below ``eig_tol`` to 100·eig_tol, rescale them to sum to p and return the
    matrix as a correlation matrix again; otherwise return it unchanged."""
    values, vectors = np.linalg.eigh(r)
    if values.min() >= np.finfo(float).eps:
        return r
    values = np.where(values < eig_tol, 100 * eig_tol, values)
    values = values * len(values) / values.sum()
    x = (vectors * values) @ vectors.T
    d = np.sqrt(np.diag(x))
    return x / np.outer(d, d)


@dataclass(frozen=True)
class PolychoricResult:
    """Polychoric correlations with the thresholds they rest on."""

    rho: pd.DataFrame  # items × items
    tau: pd.DataFrame  # items × thresholds (τ₁ … τ_{K−1})
    n: pd.DataFrame  # pairwise complete respondents
    smoothed: bool

    def __str__(self) -> str:
        return ("Polychoric correlations" + (" (smoothed to be positive definite)" if self.smoothed else "") + "\n"
                + self.rho.to_string(float_format=lambda v: f"{v:.3f}"))

    def _repr_html_(self) -> str:
        return "<p>Polychoric correlations</p>" + self.rho.to_html(float_format=lambda v: f"{v:.3f}")


def polychoric(frame: pd.DataFrame, *, smooth: bool = True) -> PolychoricResult:
    """Polychoric correlations of ordinal ratings (two-step ML, as ``psych::polychoric``).

    Parameters
    ----------
    frame
        Respondents × items, whole-number ratings; missing answers are left out pair by
        pair.
    smooth
        Make the matrix positive definite when it is not (``psych::cor.smooth``).

    Returns
    -------
    PolychoricResult
        ``.rho`` (items × items), ``.tau`` (each item's thresholds on the normal scale,
        one column per boundary between categories), ``.n`` (pairwise n).

    Notes
    -----
    Categories run from the lowest to the highest rating in the whole frame, so every item
    has the same K − 1 thresholds, τ_ik = Φ⁻¹(share of item i's answers ≤ k) (an empty top
    category gives τ = ∞).  For each pair, ρ maximises Σ_ab p_ab log P_ab(ρ), where p_ab is
    the share of the pair's respondents in cell (a, b) and P_ab(ρ) the bivariate-normal
    probability of the rectangle between the thresholds.  This is psych's default
    (``global = TRUE``, thresholds from all answers to each item); psych's own optimiser
    stops at a tolerance of about 1e-4, so the two agree to that.  R:
    ``psych::polychoric(x)$rho`` and ``$tau``.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> result = sq.polychoric(survey.ratings("perception").iloc[:, :4])
    >>> result.rho.shape, result.tau.shape
    ((4, 4), (4, 6))
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"polychoric takes a DataFrame of ratings, got {type(frame).__name__}")
    values = frame.to_numpy(dtype=float)
    seen = values[~np.isnan(values)]
    if seen.size == 0:
        raise ValueError("polychoric: the frame has no ratings")
    if not np.allclose(seen, np.round(seen)):
        bad = seen[~np.isclose(seen, np.round(seen))][0]
        raise ValueError(f"polychoric needs whole-number ratings; found {bad}")
    low, high = int(seen.min()), int(seen.max())
    k = high - low + 1
    if k < 2:
        raise ValueError("polychoric: every answer is the same rating")
    if k > 8:
        raise ValueError(f"polychoric: {k} categories; with more than 8 a Pearson correlation serves (psych's max.cat)")
    codes = np.where(np.isnan(values), -1, values - low).astype(int)
    items = list(frame.columns)
    p = len(items)
    tau = np.empty((p, k - 1))
    for i in range(p):
        answered = codes[:, i][codes[:, i] >= 0]
        if answered.size == 0 or np.ptp(answered) == 0:
            raise ValueError(f"polychoric: item {items[i]!r} has no variance")
        counts = np.bincount(answered, minlength=k)
        tau[i] = stats.norm.ppf(np.cumsum(counts)[:-1] / answered.size)
    rho = np.eye(p)
    n = np.zeros((p, p), dtype=int)
    for i in range(p):
        for j in range(i):
            both = (codes[:, i] >= 0) & (codes[:, j] >= 0)
            table = np.zeros((k, k))
            np.add.at(table, (codes[both, i], codes[both, j]), 1)
            n[i, j] = n[j, i] = int(both.sum())
            if n[i, j] == 0:
                rho[i, j] = rho[j, i] = np.nan
                continue
            rho[i, j] = rho[j, i] = pair_rho(table, tau[i], tau[j])[0]
        n[i, i] = int((codes[:, i] >= 0).sum())
    smoothed = False
    if smooth and not np.isnan(rho).any():
        fixed = smooth_correlation(rho)
        smoothed = fixed is not rho
        rho = fixed
    return PolychoricResult(
        rho=pd.DataFrame(rho, index=items, columns=items),
        tau=pd.DataFrame(tau, index=items, columns=[f"tau{k + 1}" for k in range(k - 1)]),
        n=pd.DataFrame(n, index=items, columns=items),
        smoothed=smoothed,
    )


def polychoric_pair(x, y, *, ml: bool = True) -> dict:
    """The polychoric correlation of two ordinal variables, with their thresholds.

    Parameters
    ----------
    x, y
        Ratings (whole numbers); pairs with a missing value are left out.
    ml
        ``True`` (default): thresholds and ρ estimated together by maximum likelihood,
        as ``polycor::polychor(x, y, ML = TRUE)``; ``False``: the two-step estimate
        (thresholds from the margins first), as ``polycor::polychor(x, y)``.

    Returns
    -------
    dict
        ``rho``, ``tau_x``, ``tau_y`` (only the categories present), ``n``, ``loglik``.

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.polychoric import polychoric_pair
    >>> p = sq.read_cycle("params/2005.yaml").ratings("perception")
    >>> round(polychoric_pair(p["T1"], p["T2"])["rho"], 2)
    0.6
    """
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    both = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[both], b[both]
    if a.size < 2:
        raise ValueError("polychoric_pair needs at least two respondents who answered both")
    levels_a, ia = np.unique(a, return_inverse=True)
    levels_b, ib = np.unique(b, return_inverse=True)
    if len(levels_a) < 2 or len(levels_b) < 2:
        raise ValueError("polychoric_pair: each variable needs at least two different answers")
    table = np.zeros((len(levels_a), len(levels_b)))
    np.add.at(table, (ia, ib), 1)
    n = table.sum()
    tau_a = stats.norm.ppf(np.cumsum(table.sum(axis=1))[:-1] / n)
    tau_b = stats.norm.ppf(np.cumsum(table.sum(axis=0))[:-1] / n)
    rho, _ = pair_rho(table, tau_a, tau_b)
    if ml:
        ka = len(tau_a)

        def unpack(v):
            ta = np.r_[v[0], v[0] + np.cumsum(np.exp(v[1:ka]))]
            tb = np.r_[v[ka], v[ka] + np.cumsum(np.exp(v[ka + 1:-1]))]
            return np.tanh(v[-1]), ta, tb

        def negloglik(v):
            r, ta, tb = unpack(v)
            prob = _cell_probabilities(r, ta, tb)
            return -float((table * np.log(np.maximum(prob, 1e-300))).sum())

        start = np.r_[tau_a[0], np.log(np.diff(tau_a)), tau_b[0], np.log(np.diff(tau_b)), np.arctanh(rho)]
        res = optimize.minimize(negloglik, start, method="BFGS", options={"gtol": 1e-9})
        rho, tau_a, tau_b = unpack(res.x)
        loglik = -res.fun
    else:
        loglik = float((table * np.log(np.maximum(_cell_probabilities(rho, tau_a, tau_b), 1e-300))).sum())
    return {"rho": float(rho), "tau_x": tau_a, "tau_y": tau_b, "n": int(n), "loglik": float(loglik)}
