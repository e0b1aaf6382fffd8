"""Private numeric helpers shared below the analyses: one-pass moments, pairwise
covariances and correlations, squared multiple correlations and factor extraction.

Reliability, dimensionality and the CFA code all build on these; nothing here knows
about surveys or instruments, and nothing here imports another servqual module.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize

__all__ = ["Moments", "cov2cor", "extract_factors", "minres_objective", "ml_objective", "moments",
           "pairwise_cor", "pairwise_cov", "smc"]


@dataclass(frozen=True)
class Moments:
    """Pairwise-complete sums of a respondents × items matrix, gathered in one pass.

    With z = x − shift where present (0 where missing) and m the presence mask:
    ``nn = mᵀm`` (pairwise counts), ``sx = zᵀm`` (sx[j, l]: Σ z_j over rows where j and l
    are both present), ``sxx = (z²)ᵀm`` and ``sxy = zᵀz``; with a total score t (each
    respondent's mean over answered items, shifted): ``st_m = mᵀt``, ``stt_m = mᵀt²``,
    ``szt = zᵀt``, and the total's own count, sum and sum of squares.
    """

    shift: np.ndarray
    nn: np.ndarray
    sx: np.ndarray
    sxx: np.ndarray
    sxy: np.ndarray
    st_m: np.ndarray | None = None
    stt_m: np.ndarray | None = None
    szt: np.ndarray | None = None
    total: tuple[float, float, float, float] | None = None  # count, shift, sum, sum of squares

    @property
    def n(self) -> np.ndarray:
        return np.diag(self.nn)

    def cov(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.sxy - self.sx * self.sx.T / self.nn) / (self.nn - 1)

    def cor(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = self.sxy - self.sx * self.sx.T / self.nn
            var = self.sxx - self.sx**2 / self.nn
            r = cov / np.sqrt(var * var.T)
        np.fill_diagonal(r, 1.0)
        return r

    def means(self) -> np.ndarray:
        return self.shift + np.diag(self.sx) / self.n

    def sds(self) -> np.ndarray:
        n = self.n
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sqrt((np.diag(self.sxy) - np.diag(self.sx) ** 2 / n) / (n - 1))


def moments(x: np.ndarray, *, total: bool = False, chunk: int = 131_072) -> Moments:
    """One chunked pass over the rows: every pairwise sum the reliability statistics need.

    Chunking keeps the temporaries small (a few MB whatever the number of respondents);
    shifting each item by its mean keeps the one-pass sums accurate.
    """
    k = x.shape[1]
    # any value near the mean keeps the sums accurate: the first chunk's mean will do
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an item empty in the first chunk
        shift = np.nan_to_num(np.nanmean(x[:chunk], axis=0)) if len(x) else np.zeros(k)
    nn, sx, sxx, sxy = (np.zeros((k, k)) for _ in range(4))
    st_m, stt_m, szt = (np.zeros(k) for _ in range(3))
    t_count = t_sum = t_sq = 0.0
    t_shift = float(np.nanmean(shift)) if k else 0.0
    for start in range(0, len(x), chunk):
        block = np.asarray(x[start : start + chunk], dtype=float)
        present = ~np.isnan(block)
        m = present.astype(float)
        z = np.where(present, block - shift, 0.0)
        nn += m.T @ m
        sx += z.T @ m
        sxx += (z * z).T @ m
        sxy += z.T @ z
        if total:
            count = present.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                t = (z.sum(axis=1) + (present * shift).sum(axis=1)) / count - t_shift
            ok = count > 0
            t = np.where(ok, t, 0.0)
            st_m += m.T @ t
            stt_m += m.T @ (t * t)
            szt += z.T @ t
            t_count += ok.sum()
            t_sum += t.sum()
            t_sq += (t * t).sum()
    if not total:
        return Moments(shift, nn, sx, sxx, sxy)
    return Moments(shift, nn, sx, sxx, sxy, st_m, stt_m, szt, (t_count, t_shift, t_sum, t_sq))


def pairwise_cov(x: np.ndarray) -> np.ndarray:
    """Covariances from pairwise-complete observations, as R ``cov(x, use="pairwise")``."""
    return moments(x).cov()


def pairwise_cor(x: np.ndarray) -> np.ndarray:
    """Pearson correlations from pairwise-complete observations, as R ``cor(x, use="pairwise")``:
    each pair's means and standard deviations come from the rows where both are present
    (unlike ``cov2cor`` of the pairwise covariances, which psych::alpha uses)."""
    return moments(x).cor()


def cov2cor(c: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diag(c))
    return c / np.outer(d, d)


def smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations, 1 − 1/diag(R⁻¹), as ``psych::smc`` (pseudo-inverse,
    clipped to [0, 1])."""
    inv = np.linalg.pinv(r, rcond=math.sqrt(np.finfo(float).eps))
    return np.clip(1 - 1 / np.diag(inv), 0, 1)



def minres_objective(psi: np.ndarray, r: np.ndarray, nf: int) -> tuple[float, np.ndarray]:
    """Off-diagonal residual sum of squares and its gradient (psych's fit.residuals/FAgr.minres)."""
    s = r.copy()
    np.fill_diagonal(s, 1 - psi)
    values, vectors = np.linalg.eigh(s)
    order = np.argsort(values)[::-1][:nf]
    lam = np.maximum(values[order], 100 * np.finfo(float).eps)
    load = vectors[:, order] * np.sqrt(lam)
    resid = r - load @ load.T
    np.fill_diagonal(resid, 0)
    f = float((resid**2).sum())
    # psych's gradient: diag(L Lᵀ + Ψ − R) with L from R − Ψ
    s2 = r - np.diag(psi)
    v2, w2 = np.linalg.eigh(s2)
    o2 = np.argsort(v2)[::-1][:nf]
    l2 = w2[:, o2] * np.sqrt(np.maximum(v2[o2], 0))
    g = np.diag(l2 @ l2.T) + psi - np.diag(r)
    return f, g


def ml_objective(psi: np.ndarray, r: np.ndarray, nf: int) -> tuple[float, np.ndarray]:
    """Maximum-likelihood discrepancy in Ψ and its gradient (psych's FAfn/FAgr, as factanal)."""
    sc = 1 / np.sqrt(psi)
    star = r * np.outer(sc, sc)
    values, vectors = np.linalg.eigh(star)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    e = values[nf:]
    f = -(np.sum(np.log(e) - e) - nf + r.shape[0])
    load = vectors[:, :nf] * np.sqrt(np.maximum(values[:nf] - 1, 0))
    load = np.sqrt(psi)[:, None] * load
    g = np.diag(load @ load.T) + psi - np.diag(r)
    return float(f), g / psi**2


def extract_factors(r: np.ndarray, nf: int, method: str) -> tuple[np.ndarray, dict]:
    """Unrotated loadings by minres or ML (L-BFGS-B over uniquenesses in [0.005, 1])."""
    start = 1 - smc(r)
    objective = minres_objective if method == "minres" else ml_objective
    # psych scales the parameters by 0.01 (parscale); the same conditioning here
    res = optimize.minimize(
        lambda z: tuple(v * w for v, w in zip(objective(z * 0.01, r, nf), (1.0, 0.01))),
        start / 0.01,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.005 / 0.01, 1 / 0.01)] * len(start),
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-10},
    )
    psi = res.x * 0.01
    if method == "minres":
        values, vectors = np.linalg.eigh(r - np.diag(psi))
        order = np.argsort(values)[::-1][:nf]
        load = vectors[:, order] * np.sqrt(np.maximum(values[order], 0))
    else:
        sc = 1 / np.sqrt(psi)
        values, vectors = np.linalg.eigh(r * np.outer(sc, sc))
        order = np.argsort(values)[::-1][:nf]
        load = np.sqrt(psi)[:, None] * vectors[:, order] * np.sqrt(np.maximum(values[order] - 1, 0))
    return load, {"objective": float(res.fun), "converged": bool(res.success), "iterations": int(res.nit)}
