"""Confirmatory factor analysis by maximum likelihood, one group or several, written here.

lavaan's ML estimator (``likelihood = "normal"``: sample covariances with divisor n) for
measurement models in lavaan syntax, with lavaan's default parameterisation: the first
indicator of each factor has its loading fixed at 1 (``NA*x`` frees it), factor
variances and covariances and residual variances are free, residual covariances only
where the model says so (``a ~~ b``), and ``a ~~ 0*b`` fixes one.  Several groups get a
mean structure (intercepts; latent means fixed at 0, free in groups 2… once intercepts are
equal) and the equality constraints of ``lavaan::cfa(group.equal=, group.partial=)``.

The fit minimises F = Σ_g (n_g/N) [log|Σ_g| + tr(S_g Σ_g⁻¹) − log|S_g| − p + (ȳ_g − μ_g)'Σ_g⁻¹(ȳ_g − μ_g)]
with its analytic gradient (BFGS, then Fisher-scoring steps to the optimum), so χ² = N·F
agrees with lavaan's to 1e-6 relative.  This module is the engine behind
:func:`servqual.cfa` and :func:`servqual.invariance`.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = ["MLFit", "MeasurementModel", "em_moments", "fit_ml", "incremental_fit", "parse_model", "rmsea_interval",
           "saturated_moments", "singular_reason"]

_TERM = re.compile(r"^\s*(?:(?P<mod>[-+\w.]+)\s*\*\s*)?(?P<name>[A-Za-z_.][\w.]*)\s*$")
_EQUAL = ("loadings", "intercepts", "residuals", "residual.covariances", "lv.variances", "lv.covariances", "means")


@dataclass
class MeasurementModel:
    """A parsed lavaan measurement model."""

    factors: dict[str, list[str]]
    indicators: list[str]
    loading_values: dict[tuple[str, str], float | None]  # (factor, item) → fixed value, None = free
    covariances: dict[tuple[str, str], float | None] = field(default_factory=dict)  # extra ~~ lines


def _term(text: str, where: str) -> tuple[str | None, str]:
    match = _TERM.match(text)
    if not match:
        raise ValueError(f"cannot read {text.strip()!r} in model line {where!r}; write 'name', '0*name' or 'NA*name'")
    return match.group("mod"), match.group("name")


def parse_model(model: str) -> MeasurementModel:
    """Read lavaan syntax: ``f =~ a + b + c`` (``NA*a`` frees, ``0.5*a`` fixes a loading),
    ``a ~~ b`` (a free covariance) and ``a ~~ 0*b`` (a fixed one); ``#`` comments and ``;``.

    Examples
    --------
    >>> from servqual.sem import parse_model
    >>> m = parse_model("visual =~ x1 + x2 + x3; textual =~ x4 + x5")
    >>> m.indicators, m.loading_values[("visual", "x1")], m.loading_values[("visual", "x2")]
    (['x1', 'x2', 'x3', 'x4', 'x5'], 1.0, None)
    """
    factors: dict[str, list[str]] = {}
    loadings: dict[tuple[str, str], float | None] = {}
    covariances: dict[tuple[str, str], float | None] = {}
    for raw in model.replace(";", "\n").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=~" in line:
            factor, _, rhs = line.partition("=~")
            factor = factor.strip()
            items = factors.setdefault(factor, [])
            for text in rhs.split("+"):
                if not text.strip():
                    continue
                mod, name = _term(text, line)
                first = not items
                items.append(name)
                if mod is None:
                    loadings[(factor, name)] = 1.0 if first else None
                elif mod.upper() == "NA":
                    loadings[(factor, name)] = None
                else:
                    loadings[(factor, name)] = float(mod)
        elif "~~" in line:
            left, _, right = line.partition("~~")
            mod, name = _term(right, line)
            a = left.strip()
            key = (a, name)
            covariances[key] = None if mod is None or mod.upper() == "NA" else float(mod)
        else:
            raise ValueError(f"model line {line!r} is neither a measurement (=~) nor a covariance (~~) line")
    if not factors:
        raise ValueError("the model defines no factor; write lines such as 'reliability =~ RL1 + RL2 + RL3'")
    indicators = list(dict.fromkeys(i for items in factors.values() for i in items if i not in factors))
    return MeasurementModel(factors, indicators, loadings, covariances)


# ----------------------------------------------------------------------------------- parameters
@dataclass
class _Slot:
    group: int
    kind: str  # lambda, phi, theta, nu, kappa
    row: int
    col: int
    index: int  # position in the free-parameter vector, -1 when fixed
    value: float  # the fixed value (or the start)
    key: tuple  # the equality key across groups


def _slots(spec: MeasurementModel, n_groups: int, means: bool, equal: Sequence[str],
           partial: set[tuple[str, str]]) -> list[_Slot]:
    items, names = spec.indicators, list(spec.factors)
    p_ix = {v: k for k, v in enumerate(items)}
    f_ix = {v: k for k, v in enumerate(names)}
    slots: list[_Slot] = []

    def add(g, kind, r, c, fixed, key, shared):
        slots.append(_Slot(g, kind, r, c, -1 if fixed is not None else 0, fixed if fixed is not None else np.nan,
                           key if shared else (g, *key)))

    fixed_cov = {tuple(sorted(k)): v for k, v in spec.covariances.items()}
    for g in range(n_groups):
        for (f, i), value in spec.loading_values.items():
            shared = "loadings" in equal and ("=~", f, i) not in partial
            add(g, "lambda", p_ix[i], f_ix[f], value, ("lambda", i, f), shared)
        for a in range(len(names)):
            for b in range(a + 1):
                key = tuple(sorted((names[a], names[b])))
                value = fixed_cov.get(key)
                shared = ("lv.variances" if a == b else "lv.covariances") in equal
                add(g, "phi", a, b, value, ("phi", names[a], names[b]), shared)
        for j, i in enumerate(items):
            value = fixed_cov.get((i, i))
            shared = "residuals" in equal and ("~~", i, i) not in partial
            add(g, "theta", j, j, value, ("theta", i, i), shared)
        for key, value in fixed_cov.items():
            a, b = key
            if a in p_ix and b in p_ix and a != b:
                shared = "residual.covariances" in equal
                r, c = sorted((p_ix[a], p_ix[b]), reverse=True)
                add(g, "theta", r, c, value, ("theta", a, b), shared)
        if means:
            for j, i in enumerate(items):
                shared = "intercepts" in equal and ("~1", i, "") not in partial
                add(g, "nu", j, 0, None, ("nu", i), shared)
            # latent means: 0 in group 1; free in the others once intercepts are equal, unless
            # "means" holds them equal too (to group 1's zero, as lavaan does)
            free_means = "intercepts" in equal and "means" not in equal and g > 0
            for k, f in enumerate(names):
                add(g, "kappa", k, 0, None if free_means else 0.0, ("kappa", f), False)
    index: dict[tuple, int] = {}
    for s in slots:
        if s.index == -1:
            continue
        s.index = index.setdefault(s.key, len(index))
    return slots


@dataclass
class _Batch:
    """Missing-data patterns that answered the same number k of items, stacked: the items
    answered (``obs``, K × k) and not (``mis``), respondents per pattern, their means and
    covariances (divisor n) on the answered items."""

    obs: np.ndarray
    mis: np.ndarray
    n: np.ndarray
    mean: np.ndarray
    cov: np.ndarray


def _scatter(p: int, rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Σ of values into a p × p matrix at (rows, cols), repeated positions added."""
    return np.bincount((rows * p + cols).ravel(), weights=values.ravel(), minlength=p * p).reshape(p, p)


@dataclass
class _Patterns:
    """A group's respondents by pattern of answered items (rows with no answer left out)."""

    p: int
    batches: list[_Batch]

    @property
    def n(self) -> int:
        return int(sum(b.n.sum() for b in self.batches))

    @property
    def answered(self) -> int:
        """Σ over respondents of the number of items answered."""
        return int(sum(b.n.sum() * b.obs.shape[1] for b in self.batches))

    def terms(self, sigma: np.ndarray, mu: np.ndarray, gradient: bool = True):
        """Σ_k n_k[log|Σ_oo| + tr(Σ_oo⁻¹W_k)]/n over patterns (W_k = S_k + d_k d_k',
        d_k = ȳ_k − μ_o) with its derivatives by Σ and μ; None when some Σ_oo is not
        positive definite."""
        p, n = self.p, self.n
        f = 0.0
        big, dmu = np.zeros((p, p)), np.zeros(p)
        for b in self.batches:
            o = b.obs
            s_oo = sigma[o[:, :, None], o[:, None, :]]
            try:
                chol = np.linalg.cholesky(s_oo)
            except np.linalg.LinAlgError:
                return None
            inv = np.linalg.inv(s_oo)
            d = b.mean - mu[o]
            w = b.cov + d[:, :, None] * d[:, None, :]
            logdet = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
            f += float(b.n @ (logdet + np.einsum("kij,kji->k", inv, w)))
            if gradient:
                g = b.n[:, None, None] * (inv - inv @ w @ inv)
                big += _scatter(p, np.broadcast_to(o[:, :, None], g.shape), np.broadcast_to(o[:, None, :], g.shape),
                                g)
                v = -2 * b.n[:, None] * np.einsum("kij,kj->ki", inv, d)
                dmu += np.bincount(o.ravel(), weights=v.ravel(), minlength=p)
        return (f / n, big / n, dmu / n) if gradient else (f / n, None, None)

    def em_step(self, mu: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One EM step: the completed data's means and covariances (divisor n)."""
        p = self.p
        t1, t2 = np.zeros(p), np.zeros((p, p))
        for b in self.batches:
            o, m = b.obs, b.mis
            sums = b.n[:, None] * b.mean
            cross = b.n[:, None, None] * (b.cov + b.mean[:, :, None] * b.mean[:, None, :])
            t1 += np.bincount(o.ravel(), weights=sums.ravel(), minlength=p)
            t2 += _scatter(p, np.broadcast_to(o[:, :, None], cross.shape), np.broadcast_to(o[:, None, :], cross.shape),
                           cross)
            if not m.shape[1]:
                continue
            s_oo = sigma[o[:, :, None], o[:, None, :]]
            s_om = sigma[o[:, :, None], m[:, None, :]]
            bt = np.linalg.solve(s_oo, s_om)  # (Σ_mo Σ_oo⁻¹)' : K × k × q
            beta = np.transpose(bt, (0, 2, 1))
            a = mu[m] - np.einsum("kqj,kj->kq", beta, mu[o])
            b_sums = np.einsum("kqj,kj->kq", beta, sums)
            t1 += np.bincount(m.ravel(), weights=(b.n[:, None] * a + b_sums).ravel(), minlength=p)
            om = sums[:, :, None] * a[:, None, :] + cross @ bt  # Σ y_o ŷ_m'
            rows, cols = np.broadcast_to(o[:, :, None], om.shape), np.broadcast_to(m[:, None, :], om.shape)
            t2 += _scatter(p, rows, cols, om) + _scatter(p, cols, rows, om)
            cond = sigma[m[:, :, None], m[:, None, :]] - beta @ s_om
            mm = (b.n[:, None, None] * (a[:, :, None] * a[:, None, :] + cond) + a[:, :, None] * b_sums[:, None, :]
                  + b_sums[:, :, None] * a[:, None, :] + beta @ cross @ bt)
            t2 += _scatter(p, np.broadcast_to(m[:, :, None], mm.shape), np.broadcast_to(m[:, None, :], mm.shape), mm)
        n = self.n
        new_mu = t1 / n
        new_sigma = t2 / n - np.outer(new_mu, new_mu)
        return new_mu, (new_sigma + new_sigma.T) / 2

    def start(self) -> tuple[np.ndarray, np.ndarray]:
        """Each item's mean and variance over those who answered it (EM's start, and the
        independence model's estimates)."""
        p = self.p
        count, total, square = np.zeros(p), np.zeros(p), np.zeros(p)
        for b in self.batches:
            count += np.bincount(b.obs.ravel(), weights=np.repeat(b.n, b.obs.shape[1]), minlength=p)
            total += np.bincount(b.obs.ravel(), weights=(b.n[:, None] * b.mean).ravel(), minlength=p)
            second = b.n[:, None] * (np.diagonal(b.cov, axis1=1, axis2=2) + b.mean ** 2)
            square += np.bincount(b.obs.ravel(), weights=second.ravel(), minlength=p)
        mu = total / np.maximum(count, 1)
        return mu, square / np.maximum(count, 1) - mu ** 2


def _patterns(values: np.ndarray) -> _Patterns:
    p = values.shape[1]
    observed = ~np.isnan(values)
    keep = observed.any(axis=1)
    values, observed = values[keep], observed[keep]
    keys, inverse = np.unique(observed, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(keys) + 1))
    by_size: dict[int, list] = {}
    for k, key in enumerate(keys):
        rows = values[order[bounds[k]:bounds[k + 1]]][:, key]
        centred = rows - rows.mean(axis=0)
        by_size.setdefault(int(key.sum()), []).append(
            (np.flatnonzero(key), np.flatnonzero(~key), len(rows), rows.mean(axis=0), centred.T @ centred / len(rows)))
    batches = []
    for parts in by_size.values():
        obs, mis, n, mean, cov = zip(*parts)
        batches.append(_Batch(np.array(obs), np.array(mis, dtype=int).reshape(len(parts), -1), np.array(n, dtype=float),
                              np.array(mean), np.array(cov)))
    return _Patterns(p, batches)


def em_moments(values: np.ndarray, *, tol: float = 1e-9, max_iter: int = 150) -> tuple[np.ndarray, np.ndarray]:
    """Means and covariances (divisor n) of normal data with missing values, by EM: the
    saturated model of full-information ML (lavaan's ``sampstat.h1`` with ``missing = "ml"``).

    Each E-step fills a respondent's unanswered items by their regression on the answered
    ones, ŷ_m = μ_m + Σ_mo Σ_oo⁻¹(y_o − μ_o), and adds the conditional covariance
    Σ_mm − Σ_mo Σ_oo⁻¹ Σ_om; the M-step takes means and covariances of the completed data.
    Rows with no answer are left out.  The steps are accelerated by SQUAREM (Varadhan &
    Roland 2008) and stop when no estimate moves by more than ``tol`` (lavaan's plain EM
    stops at 1e-5; this goes to the optimum, typically in 10–70 accelerated steps).  An
    error when the estimates drift towards a singular matrix instead (too few respondents
    answered the items together, so the likelihood rises towards the edge of the positive
    definite matrices, where EM only creeps) or ``max_iter``
    accelerated steps do not converge.
    R: ``lavInspect(cfa(model, data, missing = "ml"), "sampstat.h1")``.

    Examples
    --------
    >>> import numpy as np
    >>> from servqual.sem import em_moments
    >>> y = np.array([[1, 2.0], [2, np.nan], [3, 5.0], [4, 7.0], [5, np.nan]])
    >>> mu, sigma = em_moments(y)
    >>> [round(float(v), 4) for v in mu]  # y2's mean: 4.667 + (5.75/3.5)(3 − 2.667), its regression on y1
    [3.0, 5.2143]
    """
    return _em(_patterns(np.asarray(values, dtype=float)), tol=tol, max_iter=max_iter)[:2]


def _em(patterns: _Patterns, *, tol: float = 1e-9, max_iter: int = 150, strict: bool = True):
    """SQUAREM-accelerated EM; returns (μ, Σ, converged).  Not converged: the estimates
    diverged, drifted towards a singular matrix (the saturated likelihood rises towards the
    edge of the positive definite matrices,
    as happens in small groups of a sampled design), or ran out of iterations; with
    ``strict`` that is an error."""
    p = patterns.p
    mu, var = patterns.start()
    var[~(var > 0)] = 1.0
    tri = np.tril_indices(p)

    def pack(m, s):
        return np.concatenate([m, s[tri]])

    def unpack(x):
        s = np.zeros((p, p))
        s[tri] = x[p:]
        return x[:p], s + np.tril(s, -1).T

    def step(x):
        return pack(*patterns.em_step(*unpack(x)))

    def loglik(x):
        m, s = unpack(x)
        terms = patterns.terms(s, m, gradient=False)
        return np.inf if terms is None else terms[0]

    x = pack(mu, np.diag(var))
    for iteration in range(max_iter):
        # SQUAREM (S3): two EM steps, an extrapolation (backtracked towards the plain
        # steps until it stays positive definite), one EM step from there; kept only when
        # it does not lower the likelihood below the plain steps'
        x1 = step(x)
        x2 = step(x1)
        if not np.isfinite(x2).all() or not np.isfinite(loglik(x2)):
            return _em_failed(strict, *unpack(x))
        if np.abs(x2 - x1).max() < tol:
            return (*unpack(x2), True)
        r, v = x1 - x, x2 - 2 * x1 + x
        f_2 = loglik(x2)
        new = x2
        if v @ v > 0:
            alpha = min(-math.sqrt((r @ r) / (v @ v)), -1.0)
            for _ in range(8):
                extrapolated = x - 2 * alpha * r + alpha ** 2 * v
                if np.isfinite(loglik(extrapolated)):
                    candidate = step(extrapolated)
                    f_c = loglik(candidate) if np.isfinite(candidate).all() else np.inf
                    if np.isfinite(f_c) and f_c <= f_2:
                        new = candidate
                    break
                alpha = (alpha - 1) / 2
        change = np.abs(new - x).max()
        x = new
        if change < tol:
            return (*unpack(x), True)
        m, s = unpack(x)
        d = np.sqrt(np.diag(s))
        smallest = np.linalg.eigvalsh(s / np.outer(d, d))[0]
        if smallest < 1e-6 or (iteration >= 50 and smallest < 1e-3):  # converging cases settle well above
            return _em_failed(strict, m, s)
    return _em_failed(strict, *unpack(x))


def _em_failed(strict: bool, mu: np.ndarray, sigma: np.ndarray):
    if strict:
        raise ValueError("the EM estimates of the items' means and covariances did not converge (they drift "
                         "towards a singular matrix: too few respondents answered the items together)")
    return mu, sigma, False


@dataclass
class _Group:
    n: int
    mean: np.ndarray  # with missing values: the EM (saturated-model) estimates
    cov: np.ndarray  # divisor n
    patterns: _Patterns | None = None  # None: complete data
    h1_f: float = 0.0  # with missing values: Σ n_k[log|S_oo| + tr(S_oo⁻¹W_k)]/n at the saturated optimum
    baseline_logl: float = np.nan  # with missing values: the independence model's log-likelihood
    coverage: np.ndarray | None = None  # share of respondents answering each pair of items
    h1: bool = True  # False: the saturated maximum lies on the edge, EM cannot reach it (no χ²-based measure)


_MISSING_CACHE: dict[bytes, _Group] = {}


def saturated_moments(values: np.ndarray, items: Sequence[str], where: str = "") -> _Group:
    """One group's data with missing values, prepared for full-information ML: its patterns
    of answered items, the saturated model's EM moments (``.mean``, ``.cov``; ``.h1`` False
    when they have no estimate), the saturated and independence log-likelihood terms and
    the pairwise coverage.  Errors name the item pairs nobody answered together (prefixed
    by ``where``).  Remembered for the last 32 data sets (invariance fits the same groups
    at four levels).  R: ``lavInspect(fit, "sampstat.h1")``, ``lavInspect(fit, "coverage")``.

    Examples
    --------
    >>> import numpy as np
    >>> from servqual.sem import saturated_moments
    >>> y = np.random.default_rng(1).multivariate_normal([0, 0, 0], np.eye(3) + 0.5, size=200)
    >>> y[:40, 1] = np.nan  # 40 respondents skipped item b
    >>> group = saturated_moments(y, ["a", "b", "c"])
    >>> group.n, group.h1, round(float(group.coverage[1, 0]), 2)
    (200, True, 0.8)
    """
    key = hashlib.sha1(np.ascontiguousarray(values).tobytes() + repr((values.shape, list(items))).encode()).digest()
    if key not in _MISSING_CACHE:
        if len(_MISSING_CACHE) >= 32:
            _MISSING_CACHE.pop(next(iter(_MISSING_CACHE)))
        _MISSING_CACHE[key] = _missing_group_uncached(values, items, where)
    return _MISSING_CACHE[key]


def _missing_group_uncached(values: np.ndarray, items: Sequence[str], where: str) -> _Group:
    patterns = _patterns(values)
    n = patterns.n
    p = values.shape[1]
    answered = ~np.isnan(values[~np.isnan(values).all(axis=1)])
    both = answered.T.astype(float) @ answered.astype(float)
    coverage = both / max(n, 1)
    never = [(items[a], items[b]) for a in range(p) for b in range(a) if both[a, b] == 0]
    if never:
        pairs = ", ".join(f"{a} & {b}" for b, a in never[:4]) + (" …" if len(never) > 4 else "")
        raise ValueError(f"{where}no respondent answered both items of {len(never)} pair(s) ({pairs}), so their "
                         "covariance cannot be estimated; full-information ML needs every pair answered together "
                         "by someone (show sampled items in random subsets, not one fixed item per dimension)")
    mu, sigma, converged = _em(patterns, strict=False)
    h1 = patterns.terms(sigma, mu, gradient=False) if converged else None
    if h1 is None:  # start values from the pairwise covariances; no saturated log-likelihood
        frame = pd.DataFrame(values)
        mu, sigma = frame.mean().to_numpy(), frame.cov(ddof=0).to_numpy()
        converged = False
    # independence model: each item's own mean and variance (divisor n) from those who answered it
    baseline = 0.0
    for j in range(p):
        column = values[:, j][~np.isnan(values[:, j])]
        baseline += -len(column) / 2 * (math.log(2 * math.pi) + math.log(column.var()) + 1)
    return _Group(n, mu, sigma, patterns=patterns, h1_f=h1[0] if converged else np.nan, baseline_logl=baseline,
                  coverage=coverage, h1=converged)


class _Problem:
    def __init__(self, spec: MeasurementModel, groups: list[_Group], means: bool, slots: list[_Slot]):
        self.spec, self.groups, self.means, self.slots = spec, groups, means, slots
        self.p, self.m = len(spec.indicators), len(spec.factors)
        self.npar = 1 + max((s.index for s in slots), default=-1)
        self.n_total = sum(g.n for g in groups)
        self.weights = np.array([g.n / self.n_total for g in groups])
        by_group: list[dict[str, list[_Slot]]] = [{} for _ in groups]
        for s in slots:
            by_group[s.group].setdefault(s.kind, []).append(s)
        self.by_group = by_group
        self.logdet_s = [np.linalg.slogdet(g.cov)[1] for g in groups]

    def matrices(self, theta: np.ndarray, g: int):
        p, m = self.p, self.m
        mats = {"lambda": np.zeros((p, m)), "phi": np.zeros((m, m)), "theta": np.zeros((p, p)),
                "nu": np.zeros((p, 1)), "kappa": np.zeros((m, 1))}
        for kind, slots in self.by_group[g].items():
            target = mats[kind]
            for s in slots:
                v = s.value if s.index < 0 else theta[s.index]
                target[s.row, s.col] = v
                if kind in ("phi", "theta"):
                    target[s.col, s.row] = v
        return mats

    def implied(self, theta: np.ndarray, g: int):
        x = self.matrices(theta, g)
        lam = x["lambda"]
        sigma = lam @ x["phi"] @ lam.T + x["theta"]
        mu = (x["nu"] + lam @ x["kappa"]).ravel() if self.means else self.groups[g].mean
        return sigma, mu, x

    def objective(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros(self.npar)
        for g in range(len(self.groups)):
            sigma, mu, x = self.implied(theta, g)
            terms = self.discrepancy(g, sigma, mu)
            if terms is None:  # outside the admissible region: the line searches step back
                return np.inf, np.zeros(self.npar)
            f, big, dmu = terms
            w = self.weights[g]
            total += w * f
            lam, phi, kappa = x["lambda"], x["phi"], x["kappa"]
            g_lam = 2 * big @ lam @ phi
            if self.means:
                g_lam += np.outer(dmu, kappa.ravel())
            g_phi = lam.T @ big @ lam
            for kind, slots in self.by_group[g].items():
                for s_ in slots:
                    if s_.index < 0:
                        continue
                    if kind == "lambda":
                        value = g_lam[s_.row, s_.col]
                    elif kind == "phi":
                        value = g_phi[s_.row, s_.col] * (1 if s_.row == s_.col else 2)
                    elif kind == "theta":
                        value = big[s_.row, s_.col] * (1 if s_.row == s_.col else 2)
                    elif kind == "nu":
                        value = dmu[s_.row]
                    else:
                        value = (lam.T @ dmu)[s_.row]
                    grad[s_.index] += w * value
        return total, grad

    def discrepancy(self, g: int, sigma: np.ndarray, mu: np.ndarray, gradient: bool = True):
        """Group g's F_g (0 at the saturated model) and its derivatives dF/dΣ, dF/dμ; None
        outside the admissible region.  Complete data: log|Σ| + tr(SΣ⁻¹) − log|S| − p +
        d'Σ⁻¹d; missing values: the pattern-wise −2 log-likelihood over n minus its value at
        the saturated (EM) estimates."""
        data = self.groups[g]
        if data.patterns is not None:
            terms = data.patterns.terms(sigma, mu, gradient)
            if terms is None:
                return None
            return terms[0] - (data.h1_f if data.h1 else 0.0), terms[1], terms[2]
        sign, logdet = np.linalg.slogdet(sigma)
        if sign <= 0:
            return None
        inv = np.linalg.inv(sigma)
        d = data.mean - mu
        s = data.cov
        f = logdet + np.trace(s @ inv) - self.logdet_s[g] - self.p
        big = dmu = None
        if self.means:
            f += d @ inv @ d
        if gradient:
            big = inv - inv @ s @ inv
            dmu = np.zeros(self.p)
            if self.means:
                v = inv @ d
                big -= np.outer(v, v)
                dmu = -2 * v
        return f, big, dmu

    def jacobian(self, theta: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
        """∂Σ_g/∂θ (npar × p × p) and ∂μ_g/∂θ (npar × p), analytically: Σ = ΛΦΛ' + Θ, μ = ν + Λκ."""
        x = self.matrices(theta, g)
        lam, phi, kappa = x["lambda"], x["phi"], x["kappa"].ravel()
        lam_phi = lam @ phi
        d_sigma = np.zeros((self.npar, self.p, self.p))
        d_mu = np.zeros((self.npar, self.p))
        for kind, slots in self.by_group[g].items():
            for s_ in slots:
                k = s_.index
                if k < 0:
                    continue
                r, c = s_.row, s_.col
                if kind == "lambda":
                    d_sigma[k, r, :] += lam_phi[:, c]
                    d_sigma[k, :, r] += lam_phi[:, c]
                    if self.means:
                        d_mu[k, r] += kappa[c]
                elif kind == "phi":
                    outer = np.outer(lam[:, r], lam[:, c])
                    d_sigma[k] += outer if r == c else outer + outer.T
                elif kind == "theta":
                    d_sigma[k, r, c] += 1.0
                    if r != c:
                        d_sigma[k, c, r] += 1.0
                elif kind == "nu":
                    d_mu[k, r] += 1.0
                else:
                    d_mu[k] += lam[:, r]
        return d_sigma, d_mu

    def information(self, theta: np.ndarray) -> np.ndarray:
        """Expected information of F (Fisher scoring): Σ_g w_g [tr(Σ⁻¹ ∂Σ_a Σ⁻¹ ∂Σ_b) + 2 ∂μ_a'Σ⁻¹∂μ_b]."""
        info = np.zeros((self.npar, self.npar))
        for g in range(len(self.groups)):
            sigma, _, _ = self.implied(theta, g)
            d_sigma, d_mu = self.jacobian(theta, g)
            w = self.weights[g]
            # with missing values this is the complete-data information: a preconditioner
            # that keeps the steps well scaled (the optimum is the likelihood's, not its)
            inv = np.linalg.inv(sigma)
            a = np.matmul(inv, d_sigma)  # Σ⁻¹ ∂Σ_k
            info += w * np.einsum("kij,lji->kl", a, a, optimize=True)
            if self.means:
                info += w * 2 * d_mu @ inv @ d_mu.T
        return info


def _starts(problem: _Problem) -> np.ndarray:
    spec = problem.spec
    items, names = spec.indicators, list(spec.factors)
    p_ix = {v: k for k, v in enumerate(items)}
    theta = np.zeros(problem.npar)
    counts = np.zeros(problem.npar)
    for g, data in enumerate(problem.groups):
        s = data.cov
        markers = {}
        for f in names:
            first = next((i for i in spec.factors[f] if spec.loading_values[(f, i)] is not None), spec.factors[f][0])
            markers[f] = p_ix[first]
        phi_start = {f: max(0.5 * s[markers[f], markers[f]], 0.05) for f in names}
        for slot in problem.by_group[g].get("lambda", []):
            if slot.index < 0:
                continue
            f = names[slot.col]
            marker = markers[f]
            value = s[slot.row, marker] / phi_start[f] if slot.row != marker else 1.0
            theta[slot.index] += value
            counts[slot.index] += 1
        for slot in problem.by_group[g].get("phi", []):
            if slot.index < 0:
                continue
            a, b = names[slot.row], names[slot.col]
            value = phi_start[a] if a == b else 0.5 * s[markers[a], markers[b]]
            theta[slot.index] += value
            counts[slot.index] += 1
        for slot in problem.by_group[g].get("theta", []):
            if slot.index < 0:
                continue
            theta[slot.index] += 0.5 * s[slot.row, slot.col] if slot.row == slot.col else 0.0
            counts[slot.index] += 1
        for slot in problem.by_group[g].get("nu", []):
            if slot.index >= 0:
                theta[slot.index] += data.mean[slot.row]
                counts[slot.index] += 1
        for slot in problem.by_group[g].get("kappa", []):
            if slot.index >= 0:
                counts[slot.index] += 1
    return theta / np.maximum(counts, 1)


@dataclass
class MLFit:
    """The optimum of one ML fit: parameters, implied moments per group, fit measures."""

    spec: MeasurementModel
    problem: _Problem
    theta: np.ndarray
    fmin: float
    groups: list[str]

    def group_matrices(self, g: int) -> dict[str, np.ndarray]:
        sigma, mu, mats = self.problem.implied(self.theta, g)
        return {**mats, "sigma": sigma, "mu": mu}

    @property
    def chisq_groups(self) -> np.ndarray:
        out = []
        pr = self.problem
        for g, data in enumerate(pr.groups):
            sigma, mu, _ = pr.implied(self.theta, g)
            f = pr.discrepancy(g, sigma, mu, gradient=False)[0]
            out.append(max(data.n * f, 0.0) if data.h1 else np.nan)
        return np.array(out)

    def fit_measures(self) -> dict[str, float]:
        """lavaan's ``fitMeasures``: chisq, df, pvalue, cfi, tli, rmsea (90% CI), srmr
        (Bentler, with the means when there is a mean structure, weighted by n_g/N), aic,
        bic, logl, npar, n.  With missing values where the saturated model cannot be
        estimated (EM drifts to a singular matrix) the measures built on it — chisq, p, cfi,
        tli, rmsea, srmr — are NaN; logl, aic and bic remain."""
        pr = self.problem
        n_groups = len(pr.groups)
        p = pr.p
        chisq = float(self.chisq_groups.sum())
        moments = p * (p + 1) / 2 + (p if pr.means else 0)
        df = n_groups * moments - pr.npar
        chisq_b = sum(2 * (_h1_logl(d) - d.baseline_logl) if d.patterns is not None
                      else d.n * (np.log(np.diag(d.cov)).sum() - pr.logdet_s[g]) for g, d in enumerate(pr.groups))
        df_b = n_groups * p * (p - 1) / 2
        pvalue = float(stats.chi2.sf(chisq, df)) if df > 0 else np.nan
        cfi, tli = incremental_fit(chisq, df, chisq_b, df_b)
        n = pr.n_total
        root_g = math.sqrt(n_groups)
        rmsea = math.sqrt(max(chisq - df, 0.0) / (df * n)) * root_g if df > 0 else np.nan
        lo, hi = rmsea_interval(chisq, df, n)
        if not np.isfinite(chisq):  # a saturated model without estimate: no χ²-based measure
            pvalue = cfi = tli = rmsea = np.nan
        srmr = 0.0
        logl = 0.0
        for g, data in enumerate(pr.groups):
            sigma, mu, _ = pr.implied(self.theta, g)
            sd = np.sqrt(np.diag(data.cov))
            resid = (data.cov - sigma) / np.outer(sd, sd)
            low = resid[np.tril_indices(p)]
            if pr.means:
                mean_resid = (data.mean - mu) / sd
                value = math.sqrt(((low ** 2).sum() + (mean_resid ** 2).sum()) / moments)
            else:
                value = math.sqrt((low ** 2).mean())
            srmr += pr.weights[g] * value if data.h1 else np.nan
            if data.patterns is not None:
                f = data.patterns.terms(sigma, mu, gradient=False)[0]
                logl += -0.5 * (data.patterns.answered * math.log(2 * math.pi) + data.n * f)
                continue
            inv = np.linalg.inv(sigma)
            d = data.mean - mu
            logl += -data.n / 2 * (p * math.log(2 * math.pi) + np.linalg.slogdet(sigma)[1]
                                   + np.trace(data.cov @ inv) + d @ inv @ d)
        return {
            "npar": float(pr.npar), "chisq": chisq, "df": float(df), "p": pvalue, "cfi": cfi, "tli": tli,
            "rmsea": rmsea, "rmsea_ci_low": lo * root_g, "rmsea_ci_high": hi * root_g, "srmr": srmr,
            "aic": -2 * logl + 2 * pr.npar, "bic": -2 * logl + pr.npar * math.log(n), "logl": logl,
            "n": float(n),
        }

    def standardized_loadings(self) -> pd.DataFrame:
        """Per group, each loading and its ``std.all`` (λ·√φ / √σ_jj), lavaan's order."""
        rows = []
        spec = self.spec
        names = list(spec.factors)
        p_ix = {v: k for k, v in enumerate(spec.indicators)}
        for g, label in enumerate(self.groups):
            x = self.group_matrices(g)
            for f in names:
                k = names.index(f)
                for i in spec.factors[f]:
                    j = p_ix[i]
                    est = x["lambda"][j, k]
                    rows.append({"group": label, "factor": f, "item": i, "estimate": est,
                                 "std_all": est * math.sqrt(x["phi"][k, k]) / math.sqrt(x["sigma"][j, j])})
        return pd.DataFrame(rows)


def incremental_fit(chisq: float, df: float, chisq_b: float, df_b: float) -> tuple[float, float]:
    """CFI and TLI of a model against its baseline, as lavaan defines them:
    CFI = 1 − max(χ² − df, 0) / max(χ²_b − df_b, χ² − df, 0) (1 when both are 0) and
    TLI = (χ²_b/df_b − χ²/df) / (χ²_b/df_b − 1).  Used with the plain and with the scaled
    statistics alike.  R: ``fitMeasures(fit, c("cfi", "tli"))``.

    Examples
    --------
    >>> from servqual.sem import incremental_fit
    >>> [round(v, 4) for v in incremental_fit(85.3055, 24, 918.8516, 36)]  # lavaan: 0.9306, 0.8958
    [0.9306, 0.8958]
    """
    denom = max(chisq - df, chisq_b - df_b, 0.0)
    cfi = 1 - max(chisq - df, 0.0) / denom if denom > 0 else 1.0
    tli = ((chisq_b / df_b) - (chisq / df)) / ((chisq_b / df_b) - 1) if df > 0 else np.nan
    return cfi, tli


def _h1_logl(data: _Group) -> float:
    """The saturated model's log-likelihood of a group with missing values."""
    return -0.5 * (data.patterns.answered * math.log(2 * math.pi) + data.n * data.h1_f)


def singular_reason(cov: np.ndarray, items: Sequence[str]) -> str | None:
    """Why a sample covariance matrix cannot be fitted (None when it can)."""
    flat = [str(i) for i, v in zip(items, np.diag(cov)) if v <= 1e-12]
    if flat:
        return f"item(s) {', '.join(flat)} have the same answer from everyone"
    eig = np.linalg.eigvalsh(cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov))))
    if eig.min() <= 1e-10:
        return "the items' covariance matrix is singular (too few respondents, or items that are exact combinations)"
    return None


def _scoring(problem: _Problem, theta: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Fisher scoring with step halving: θ ← θ − I(θ)⁻¹ ∇F(θ), the way lavaan's
    starting iterations and most SEM programs move; quadratic near the optimum."""
    f, grad = problem.objective(theta)
    for _ in range(iterations):
        if np.abs(grad).max() < 1e-12:
            break
        try:
            step = np.linalg.solve(problem.information(theta), grad)
        except np.linalg.LinAlgError:
            break
        shrink, trial = 1.0, theta - step
        f_trial, g_trial = problem.objective(trial)
        while (not np.isfinite(f_trial) or f_trial > f + 1e-15) and shrink > 1e-6:
            shrink /= 2
            trial = theta - shrink * step
            f_trial, g_trial = problem.objective(trial)
        if not np.isfinite(f_trial) or f_trial > f + 1e-15:
            break
        improvement = f - f_trial
        theta, f, grad = trial, f_trial, g_trial
        if improvement <= 1e-15 * max(1.0, abs(f)) or np.abs(grad).max() < 1e-11:
            break  # at the optimum to machine precision
    return theta


def rmsea_interval(chisq: float, df: float, n: int, level: float = 0.90) -> tuple[float, float]:
    """RMSEA interval from the noncentral χ² (lavaan: λ with P(χ² ≤ X²; df, λ) = 0.95 / 0.05),
    for one group (multiply by √G for G groups, as lavaan does): √(λ/(n·df)).
    R: ``fitMeasures(fit, c("rmsea.ci.lower", "rmsea.ci.upper"))``.

    Examples
    --------
    >>> from servqual.sem import rmsea_interval
    >>> [round(v, 4) for v in rmsea_interval(85.3055, 24, 301)]  # lavaan: 0.0714, 0.1137
    [0.0714, 0.1137]
    """
    if df <= 0 or not np.isfinite(chisq):
        return np.nan, np.nan
    upper_p, lower_p = (1 + level) / 2, (1 - level) / 2

    def ncp_for(prob: float) -> float:
        f = lambda lam: stats.ncx2.cdf(chisq, df, lam) - prob if lam > 0 else stats.chi2.cdf(chisq, df) - prob  # noqa: E731
        if f(0) < 0:
            return 0.0
        hi = max(chisq, 1.0)
        while f(hi) > 0:
            hi *= 2
            if hi > 1e9 + 4 * chisq:  # the noncentral χ² cannot place it (numerically): no interval
                return np.nan
        return optimize.brentq(f, 0, hi, xtol=1e-12)

    lam_lo, lam_hi = ncp_for(upper_p), ncp_for(lower_p)
    return math.sqrt(lam_lo / (n * df)), math.sqrt(lam_hi / (n * df))


def fit_ml(
    frames: Sequence[pd.DataFrame],
    model: str | MeasurementModel,
    *,
    groups: Sequence[str] | None = None,
    means: bool | None = None,
    equal: Sequence[str] = (),
    partial: Sequence[str] = (),
    missing: str = "listwise",
) -> MLFit:
    """Fit one model to one or several groups' data by ML (full-information ML with missing values).

    Parameters
    ----------
    frames
        One DataFrame per group with (at least) the model's indicators.
    missing
        ``"listwise"``: respondents who answered every indicator (lavaan's default);
        ``"fiml"``: every respondent who answered at least one, by full-information ML
        (lavaan's ``missing = "ml"``; a mean structure is always fitted).
    groups
        The groups' labels (default 1, 2, …).
    means
        Fit a mean structure (default: with several groups, as lavaan does).
    equal
        lavaan's ``group.equal``: any of ``"loadings"``, ``"intercepts"``, ``"residuals"``,
        ``"residual.covariances"``, ``"lv.variances"``, ``"lv.covariances"``, ``"means"``.
    partial
        lavaan's ``group.partial``: ``"f =~ x"``, ``"x ~ 1"``, ``"x ~~ x"`` freed.

    Returns
    -------
    MLFit
        ``fit_measures()`` (lavaan's ``fitMeasures``), ``standardized_loadings()``
        (``standardizedSolution``), ``group_matrices(g)`` (Λ, Φ, Θ, ν, κ, Σ, μ) and
        ``chisq_groups`` (each group's share of χ²).

    Notes
    -----
    Minimises F = Σ_g (n_g/N)[log|Σ_g| + tr(S_gΣ_g⁻¹) − log|S_g| − p + (ȳ_g − μ_g)'Σ_g⁻¹(ȳ_g − μ_g)]
    with Σ = ΛΦΛ' + Θ and μ = ν + Λκ by Fisher scoring (expected information
    Σ_g w_g[tr(Σ⁻¹∂Σ_aΣ⁻¹∂Σ_b) + 2∂μ_a'Σ⁻¹∂μ_b] from the analytic Jacobian); χ² = N·F.
    R: ``lavaan::cfa(model, data, group = , group.equal = , group.partial = )``.

    Examples
    --------
    >>> import pandas as pd
    >>> from servqual.sem import fit_ml
    >>> hs = pd.read_csv("tests/data/holzinger-swineford.csv")
    >>> fit = fit_ml([hs], "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9")
    >>> round(fit.fit_measures()["chisq"], 3)  # lavaan: 85.306
    85.306
    """
    spec = parse_model(model) if isinstance(model, str) else model
    unknown = [e for e in equal if e not in _EQUAL]
    if unknown:
        raise ValueError(f"unknown group.equal {unknown[0]!r}; choose from {', '.join(_EQUAL)}")
    freed = set()
    for text in partial:
        t = text.replace(" ", "")
        if "=~" in t:
            f, i = t.split("=~")
            freed.add(("=~", f, i))
        elif t.endswith("~1"):
            freed.add(("~1", t[:-2], ""))
        elif "~~" in t:
            a, b = t.split("~~")
            freed.add(("~~", a, b))
        else:
            raise ValueError(f"cannot read partial {text!r}; write 'f =~ x', 'x ~ 1' or 'x ~~ x'")
    if missing not in ("listwise", "fiml"):
        raise ValueError(f"missing must be 'listwise' or 'fiml', got {missing!r}")
    if means is None:
        means = len(frames) > 1 or missing == "fiml"
    if missing == "fiml" and not means:
        raise ValueError("full-information ML fits a mean structure; leave means=None or set it True")
    data = []
    labels = [str(g) for g in groups] if groups is not None else [str(k + 1) for k in range(len(frames))]
    for label, frame in zip(labels, frames):
        values = frame[spec.indicators].to_numpy(dtype=float)
        where = f"group {label!r}: " if len(frames) > 1 else ""
        if missing == "fiml" and np.isnan(values).any():
            group = saturated_moments(values, spec.indicators, where)
            reason = singular_reason(group.cov if group.h1 else np.diag(np.diag(group.cov)), spec.indicators)
            if reason is not None:
                raise ValueError(f"{where}{reason}; the model cannot be fitted (lavaan stops here too)")
            data.append(group)
            continue
        values = values[~np.isnan(values).any(axis=1)]
        cov = np.cov(values, rowvar=False, ddof=0)
        if singular_reason(cov, spec.indicators) is not None:
            raise ValueError(f"{where}{singular_reason(cov, spec.indicators)}; the model cannot be fitted "
                             "(lavaan stops here too)")
        data.append(_Group(len(values), values.mean(axis=0), cov))
    slots = _slots(spec, len(frames), means, tuple(equal), freed)
    problem = _Problem(spec, data, means, slots)
    theta = _scoring(problem, _starts(problem))
    fmin, grad = problem.objective(theta)
    if not np.isfinite(fmin) or np.abs(grad).max() > 1e-7:  # scoring stalled: quasi-Newton, then scoring again
        result = optimize.minimize(problem.objective, theta, jac=True, method="BFGS",
                                   options={"gtol": 1e-10, "maxiter": 2_000})
        theta = _scoring(problem, result.x)
        fmin, grad = problem.objective(theta)
    if not np.isfinite(fmin) or np.abs(grad).max() > 1e-6:
        raise ValueError(f"the model did not converge (largest gradient {np.abs(grad).max():.1e}); "
                         "is it identified, and does every factor have at least two items?")
    return MLFit(spec, problem, theta, fmin, labels)
