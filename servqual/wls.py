"""CFA of ordered items: lavaan's WLSMV (DWLS estimates, mean-and-variance adjusted test).

Ratings on a 1–7 scale are ordered categories of a continuous response y* ~ N(0, 1) cut at
thresholds τ.  The estimator works in three stages, as lavaan does (Muthén 1984; Muthén,
du Toit & Spisic 1997):

1. each item's thresholds from its own margins, τ_k = Φ⁻¹(share of answers ≤ k);
2. each pair's polychoric correlation, the ρ that maximises the likelihood of the pair's
   two-way table with the thresholds held fixed;
3. Γ, the asymptotic covariance matrix of the thresholds and correlations, the sandwich
   B⁻¹ (Σ_i s_i s_i') B⁻ᵀ of the respondents' score vectors s_i of the stage-1 and stage-2
   likelihoods, B the block-triangular matrix of the derivatives of the stacked estimating
   equations (A11 of the thresholds, A21 of the correlation scores by the thresholds, A22
   the correlations' information).

The model Σ* = ΛΦΛ' (diagonal 1: the "delta" parameterisation, residual variances
1 − diag(ΛΦΛ')) is then fitted by diagonally weighted least squares,
F = ½ Σ w_k (s_k − σ_k(θ))² with w = 1/diag(Γ), and the test statistic T = 2N·F is
adjusted to a χ² with the model's df by its first two moments ("scaled.shifted"):
T* = a·T + b, a = √(df / tr((UΓ)²)), b = df − a·tr(UΓ), U = W − WΔ(Δ'WΔ)⁻¹Δ'W.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from .polychoric import bivariate_normal_cdf, pair_rho
from .sem import MeasurementModel, incremental_fit, parse_model

__all__ = ["OrdinalStats", "WLSFit", "fit_wlsmv", "ordinal_stats"]


@dataclass
class OrdinalStats:
    """Thresholds, polychoric correlations and their asymptotic covariance (stages 1–3)."""

    items: list[str]
    thresholds: list[np.ndarray]  # per item
    rho: np.ndarray  # p × p polychoric correlations
    gamma: np.ndarray  # N·acov of (thresholds…, correlations below the diagonal, column by column)
    n: int

    @property
    def vector(self) -> np.ndarray:
        """(all thresholds, then ρ_ij for i > j in lavaan's order: column by column)."""
        p = len(self.items)
        lower = [self.rho[i, j] for j in range(p) for i in range(j + 1, p)]
        return np.concatenate([*self.thresholds, lower])


def _categories(x: pd.Series, item: str) -> tuple[np.ndarray, int]:
    values = x.to_numpy(dtype=float)
    levels = np.unique(values)
    if len(levels) < 2:
        raise ValueError(f"item {item} has a single answer category; an ordered item needs two or more")
    return np.searchsorted(levels, values), len(levels)


def _phi2(h: np.ndarray, k: np.ndarray, rho: float) -> np.ndarray:
    """The bivariate normal density, 0 where either limit is infinite."""
    out = np.zeros(np.broadcast(h, k).shape)
    ok = np.isfinite(h) & np.isfinite(k)
    hh, kk = np.broadcast_to(h, out.shape)[ok], np.broadcast_to(k, out.shape)[ok]
    s = 1 - rho * rho
    out[ok] = np.exp(-(hh * hh - 2 * rho * hh * kk + kk * kk) / (2 * s)) / (2 * math.pi * math.sqrt(s))
    return out


def ordinal_stats(frame: pd.DataFrame) -> OrdinalStats:
    """Stages 1–3 for complete ordered data: thresholds, polychoric correlations and Γ.

    Scores: d log P(category)/dτ = ±φ(τ)/P for the thresholds; for a pair,
    d log P_ab/dρ = [φ₂ at the cell's four corners, signed]/P_ab and
    d log P_ab/dτ = ±φ(τ)[Φ((τ'_b − ρτ)/√(1 − ρ²)) − Φ((τ'_{b−1} − ρτ)/√(1 − ρ²))]/P_ab.
    R: ``lavInspect(cfa(model, data, ordered = TRUE), "sampstat")`` and ``"gamma"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from servqual.wls import ordinal_stats
    >>> hs3 = pd.read_csv("tests/data/holzinger-swineford-3.csv")
    >>> st = ordinal_stats(hs3[["x1", "x2", "x3"]])
    >>> [round(float(v), 4) for v in st.thresholds[0]]  # lavaan: -0.3885, 0.5369
    [-0.3885, 0.5369]
    >>> st.gamma.shape  # 3 × 2 thresholds and 3 correlations
    (9, 9)
    """
    items = [str(c) for c in frame.columns]
    n, p = len(frame), len(items)
    cats, taus, cuts = [], [], []
    for item in items:
        c, k = _categories(frame[item], item)
        share = np.bincount(c, minlength=k).cumsum()[:-1] / n
        tau = special.ndtri(share)
        cats.append(c)
        taus.append(tau)
        cuts.append(np.r_[-np.inf, tau, np.inf])
    nth = [len(t) for t in taus]
    th_start = np.r_[0, np.cumsum(nth)[:-1]].astype(int)
    total_th = int(sum(nth))
    # stage 1 scores: d log P(category) / d τ
    sc_th = np.zeros((n, total_th))
    for i in range(p):
        c, cut = cats[i], cuts[i]
        prob = special.ndtr(cut[c + 1]) - special.ndtr(cut[c])
        upper, lower = c < nth[i], c > 0
        rows = np.arange(n)
        sc_th[rows[upper], th_start[i] + c[upper]] = stats.norm.pdf(cut[c + 1][upper]) / prob[upper]
        sc_th[rows[lower], th_start[i] + c[lower] - 1] = -stats.norm.pdf(cut[c][lower]) / prob[lower]
    pairs = [(i, j) for j in range(p) for i in range(j + 1, p)]
    rho = np.eye(p)
    sc_cor = np.zeros((n, len(pairs)))
    a21 = np.zeros((len(pairs), total_th))
    for k, (i, j) in enumerate(pairs):
        ci, cj = cats[i], cats[j]
        table = np.zeros((nth[i] + 1, nth[j] + 1))
        np.add.at(table, (ci, cj), 1)
        r, _ = pair_rho(table, taus[i], taus[j])
        rho[i, j] = rho[j, i] = r
        hi, hj = cuts[i], cuts[j]
        grid = bivariate_normal_cdf(hi[:, None], hj[None, :], r)
        cell = grid[1:, 1:] - grid[:-1, 1:] - grid[1:, :-1] + grid[:-1, :-1]
        dens = _phi2(hi[:, None], hj[None, :], r)
        d_rho = dens[1:, 1:] - dens[:-1, 1:] - dens[1:, :-1] + dens[:-1, :-1]
        s = math.sqrt(1 - r * r)
        # ∂Φ₂(h, k)/∂h = φ(h)·Φ((k − ρh)/s): per cut of item i and cut of item j
        with np.errstate(invalid="ignore"):
            g_i = stats.norm.pdf(hi)[:, None] * special.ndtr((hj[None, :] - r * hi[:, None]) / s)
            g_j = stats.norm.pdf(hj)[None, :] * special.ndtr((hi[:, None] - r * hj[None, :]) / s)
        g_i = np.nan_to_num(g_i)
        g_j = np.nan_to_num(g_j)
        prob = cell[ci, cj]
        sc_cor[:, k] = d_rho[ci, cj] / prob
        # scores of the pair's likelihood by item i's thresholds: the cell's upper cut raises
        # P by g_i(upper)[row band], the lower cut lowers it
        di = np.zeros((n, nth[i]))
        band_i = g_i[:, cj + 1] - g_i[:, cj]  # (cuts of i) × n
        rows = np.arange(n)
        up, lo = ci < nth[i], ci > 0
        di[rows[up], ci[up]] = band_i[ci[up] + 1, rows[up]] / prob[up]
        di[rows[lo], ci[lo] - 1] = -band_i[ci[lo], rows[lo]] / prob[lo]
        dj = np.zeros((n, nth[j]))
        band_j = g_j[ci + 1, :] - g_j[ci, :]  # n × (cuts of j)
        up, lo = cj < nth[j], cj > 0
        dj[rows[up], cj[up]] = band_j[rows[up], cj[up] + 1] / prob[up]
        dj[rows[lo], cj[lo] - 1] = -band_j[rows[lo], cj[lo]] / prob[lo]
        a21[k, th_start[i]:th_start[i] + nth[i]] = sc_cor[:, k] @ di
        a21[k, th_start[j]:th_start[j] + nth[j]] = sc_cor[:, k] @ dj
    scores = np.hstack([sc_th, sc_cor])
    inner = scores.T @ scores
    a11 = np.zeros((total_th, total_th))
    for i in range(p):
        block = slice(th_start[i], th_start[i] + nth[i])
        a11[block, block] = inner[block, block]
    a22 = np.diag((sc_cor ** 2).sum(axis=0))
    a11_inv = np.linalg.inv(a11)
    a22_inv = np.diag(1 / np.diag(a22))
    b_inv = np.block([[a11_inv, np.zeros((total_th, len(pairs)))], [-a22_inv @ a21 @ a11_inv, a22_inv]])
    gamma = n * b_inv @ inner @ b_inv.T
    return OrdinalStats(items, taus, rho, gamma, n)


@dataclass
class WLSFit:
    """A DWLS fit of ordered items: estimates, the scaled test and fit measures."""

    spec: MeasurementModel
    stats: OrdinalStats
    lam: np.ndarray
    phi: np.ndarray
    fit: dict

    def standardized_loadings(self) -> pd.DataFrame:
        rows = []
        names = list(self.spec.factors)
        pos = {v: k for k, v in enumerate(self.spec.indicators)}
        for k, f in enumerate(names):
            for item in self.spec.factors[f]:
                est = self.lam[pos[item], k]
                rows.append({"factor": f, "item": item, "estimate": est, "std_all": est * math.sqrt(self.phi[k, k])})
        return pd.DataFrame(rows)


def _scaled(t: float, df: float, u_gamma: np.ndarray) -> tuple[float, float, float]:
    """lavaan's "scaled.shifted" T* = a·T + b from tr(UΓ) and tr((UΓ)²)."""
    tr1 = np.trace(u_gamma)
    tr2 = np.trace(u_gamma @ u_gamma)
    a = math.sqrt(df / tr2)
    b = df - a * tr1
    return a * t + b, a, b


def fit_wlsmv(frame: pd.DataFrame, model: str | MeasurementModel) -> WLSFit:
    """Fit a CFA of ordered items by DWLS with lavaan's WLSMV test (complete respondents).

    Minimises F = ½ Σ_{i>j} w_ij (ρ_ij − (ΛΦΛ')_ij)² (the thresholds are just identified)
    by Levenberg–Marquardt with the analytic Jacobian; T = 2(N − 1)F and the
    scaled-and-shifted T* (module docstring).  ``fit`` holds chisq, df, p,
    chisq_scaled, p_scaled, scaling_factor (1/a), shift (b), cfi, tli, cfi_scaled,
    tli_scaled, rmsea, rmsea_scaled, srmr, the baseline χ² (plain and scaled), npar, n.
    R: ``lavaan::cfa(model, data, ordered = TRUE, estimator = "WLSMV")``.

    Examples
    --------
    >>> import pandas as pd
    >>> from servqual.wls import fit_wlsmv
    >>> hs3 = pd.read_csv("tests/data/holzinger-swineford-3.csv")
    >>> fit = fit_wlsmv(hs3, "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9")
    >>> round(float(fit.fit["chisq_scaled"]), 3)  # lavaan: 62.839
    62.839
    """
    spec = parse_model(model) if isinstance(model, str) else model
    items = spec.indicators
    data = frame[items].dropna()
    st = ordinal_stats(data)
    p, names = len(items), list(spec.factors)
    m = len(names)
    pos = {v: k for k, v in enumerate(items)}
    free_lam = [(pos[i], names.index(f)) for (f, i), v in spec.loading_values.items() if v is None]
    fixed_lam = [(pos[i], names.index(f), v) for (f, i), v in spec.loading_values.items() if v is not None]
    free_phi = [(a, b) for a in range(m) for b in range(a + 1)]
    pairs = [(i, j) for j in range(p) for i in range(j + 1, p)]
    rows_i = np.array([i for i, _ in pairs])
    rows_j = np.array([j for _, j in pairs])
    r = st.rho[rows_i, rows_j]
    nth = sum(len(t) for t in st.thresholds)
    w_all = 1 / np.diag(st.gamma)
    w = w_all[nth:]

    def unpack(theta):
        lam = np.zeros((p, m))
        for i, k, v in fixed_lam:
            lam[i, k] = v
        for (i, k), v in zip(free_lam, theta[:len(free_lam)]):
            lam[i, k] = v
        phi = np.zeros((m, m))
        for (a, b), v in zip(free_phi, theta[len(free_lam):]):
            phi[a, b] = phi[b, a] = v
        return lam, phi

    def jac_sigma(theta):
        lam, phi = unpack(theta)
        lp = lam @ phi
        cols = []
        for i, k in free_lam:
            d = np.zeros((p, p))
            d[i, :] += lp[:, k]
            d[:, i] += lp[:, k]
            cols.append(d[rows_i, rows_j])
        for a, b in free_phi:
            d = np.outer(lam[:, a], lam[:, b])
            d = d if a == b else d + d.T
            cols.append(d[rows_i, rows_j])
        return np.column_stack(cols)

    def resid(theta):
        lam, phi = unpack(theta)
        sigma = lam @ phi @ lam.T
        return np.sqrt(w) * (r - sigma[rows_i, rows_j])

    start = np.concatenate([np.full(len(free_lam), 0.7), [0.5 if a == b else 0.2 for a, b in free_phi]])
    res = optimize.least_squares(resid, start, jac=lambda t: -np.sqrt(w)[:, None] * jac_sigma(t), method="lm",
                                 xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=10_000)
    theta = res.x
    lam, phi = unpack(theta)
    n = st.n
    # T = 2(N − 1)·F with F = ½ Σ w (s − σ)²: lavaan's categorical statistics count N − 1
    t = (n - 1) * float(res.fun @ res.fun)
    npar = len(theta) + nth
    df = nth + len(pairs) - npar
    # the adjustment: Δ over (thresholds, correlations), W = diag(1/diag(Γ))
    delta = np.zeros((nth + len(pairs), nth + len(theta)))
    delta[:nth, :nth] = np.eye(nth)
    delta[nth:, nth:] = jac_sigma(theta)
    big_w = np.diag(w_all)
    wd = big_w @ delta
    u = big_w - wd @ np.linalg.solve(delta.T @ wd, wd.T)
    t_scaled, a, b = _scaled(t, df, u @ st.gamma)
    # baseline: correlations 0, thresholds free
    t_base = (n - 1) * float((w * r * r).sum())
    df_base = len(pairs)
    u_base = big_w.copy()
    u_base[:nth, :nth] = 0
    t_base_scaled, _, _ = _scaled(t_base, df_base, u_base @ st.gamma)

    plain = incremental_fit(t, df, t_base, df_base)
    scaled = incremental_fit(t_scaled, df, t_base_scaled, df_base)
    sigma = lam @ phi @ lam.T
    srmr = math.sqrt(((r - sigma[rows_i, rows_j]) ** 2).sum() / (p * (p + 1) / 2))
    fit = {
        "npar": float(npar), "chisq": t, "df": float(df), "p": float(stats.chi2.sf(t, df)),
        "chisq_scaled": t_scaled, "p_scaled": float(stats.chi2.sf(t_scaled, df)), "scaling_factor": 1 / a,
        "shift": b, "cfi": plain[0], "tli": plain[1], "cfi_scaled": scaled[0], "tli_scaled": scaled[1],
        "rmsea": math.sqrt(max(t - df, 0.0) / (df * (n - 1))),
        "rmsea_scaled": math.sqrt(max(t_scaled - df, 0.0) / (df * (n - 1))),
        "srmr": srmr, "baseline_chisq": t_base, "baseline_chisq_scaled": t_base_scaled, "n": float(n),
    }
    return WLSFit(spec, st, lam, phi, fit)
