"""Private numeric helpers shared below the analyses: one-pass moments, pairwise
covariances and correlations, squared multiple correlations and factor extraction.

Reliability, dimensionality and the CFA code all build on these; nothing here knows
about surveys or instruments, and nothing here imports another servqual module.
"""

from __future__ import annotations

import math
import os
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


def _block_sums(block: np.ndarray, shift: np.ndarray, total: bool, t_shift: float) -> list:
    """One block's share of :func:`moments`.  Blanks are few in survey data, so the sums
    over present pairs are the complete-data sums less the blanks' share, taken over the
    rows with a blank only: one BLAS product over the whole block (zᵀz) instead of four."""
    n, k = block.shape
    blank = np.isnan(block)
    z = block - shift
    z[blank] = 0.0
    zz = z * z
    sum_z, sum_zz = z.sum(axis=0), zz.sum(axis=0)
    sxy = z.T @ z
    rows = np.flatnonzero(blank.any(axis=1))
    q = blank[rows].astype(float)
    q_count = q.sum(axis=0)
    nn = n - q_count[:, None] - q_count[None, :] + q.T @ q
    sx = sum_z[:, None] - z[rows].T @ q
    sxx = sum_zz[:, None] - zz[rows].T @ q
    if not total:
        return [nn, sx, sxx, sxy]
    count = np.full(n, float(k))
    count[rows] -= q.sum(axis=1)
    answered_shift = np.full(n, shift.sum())
    answered_shift[rows] -= q @ shift
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (z.sum(axis=1) + answered_shift) / count - t_shift
    ok = count > 0
    t[~ok] = 0.0
    tt = t * t
    st_m = t.sum() - q.T @ t[rows]
    stt_m = tt.sum() - q.T @ tt[rows]
    return [nn, sx, sxx, sxy, st_m, stt_m, z.T @ t, np.array([ok.sum(), t.sum(), tt.sum()])]


def moments(x: np.ndarray, *, total: bool = False, chunk: int = 16_384) -> Moments:
    """One chunked pass over the rows: every pairwise sum the reliability statistics need.

    Chunking keeps the temporaries small (a few MB whatever the number of respondents)
    and in cache; shifting each item by its mean keeps the one-pass sums accurate.  Large
    inputs are split over the cores (numpy and BLAS let go of the GIL), each thread
    summing its own blocks.
    """
    k = x.shape[1]
    # any value near the mean keeps the sums accurate: the first chunk's mean will do
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an item empty in the first chunk
        shift = np.nan_to_num(np.nanmean(x[:131_072], axis=0)) if len(x) else np.zeros(k)
    t_shift = float(np.nanmean(shift)) if k else 0.0
    starts = list(range(0, len(x), chunk))

    def run(part: list[int]) -> list:
        acc = None
        for start in part:
            sums = _block_sums(np.asarray(x[start: start + chunk], dtype=float), shift, total, t_shift)
            acc = sums if acc is None else [a + b for a, b in zip(acc, sums)]
        return acc

    workers = min(len(starts), os.cpu_count() or 1) if len(x) >= 8 * chunk else 1
    if workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        from threadpoolctl import threadpool_limits

        # one BLAS thread per worker: the cores are already busy with the blocks
        with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(max_workers=workers) as pool:
            parts = [p for p in pool.map(run, [starts[w::workers] for w in range(workers)]) if p is not None]
        sums = [sum(a) for a in zip(*parts)]
    else:
        sums = run(starts)
    if sums is None:  # no rows
        sums = [np.zeros((k, k)) for _ in range(4)] + ([np.zeros(k)] * 3 + [np.zeros(3)] if total else [])
    nn, sx, sxx, sxy = sums[:4]
    if not total:
        return Moments(shift, nn, sx, sxx, sxy)
    st_m, stt_m, szt, (t_count, t_sum, t_sq) = sums[4:]
    return Moments(shift, nn, sx, sxx, sxy, st_m, stt_m, szt, (float(t_count), t_shift, float(t_sum), float(t_sq)))


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
