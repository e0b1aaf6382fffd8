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

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = ["MLFit", "MeasurementModel", "fit_ml", "parse_model", "rmsea_interval", "singular_reason"]

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
class _Group:
    n: int
    mean: np.ndarray
    cov: np.ndarray  # divisor n


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
        for g, data in enumerate(self.groups):
            sigma, mu, x = self.implied(theta, g)
            sign, logdet = np.linalg.slogdet(sigma)
            if sign <= 0:  # outside the admissible region: the line searches step back
                return np.inf, np.zeros(self.npar)
            inv = np.linalg.inv(sigma)
            d = data.mean - mu
            s = data.cov
            f = logdet + np.trace(s @ inv) - self.logdet_s[g] - self.p
            if self.means:
                f += d @ inv @ d
            w = self.weights[g]
            total += w * f
            # dF/dΣ, then the chain rule to each matrix
            big = inv - inv @ s @ inv
            if self.means:
                v = inv @ d
                big -= np.outer(v, v)
                dmu = -2 * v
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
            inv = np.linalg.inv(sigma)
            d_sigma, d_mu = self.jacobian(theta, g)
            a = np.matmul(inv, d_sigma)  # Σ⁻¹ ∂Σ_k
            w = self.weights[g]
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
            inv = np.linalg.inv(sigma)
            f = np.linalg.slogdet(sigma)[1] + np.trace(data.cov @ inv) - pr.logdet_s[g] - pr.p
            if pr.means:
                d = data.mean - mu
                f += d @ inv @ d
            out.append(max(data.n * f, 0.0))
        return np.array(out)

    def fit_measures(self) -> dict[str, float]:
        """lavaan's ``fitMeasures``: chisq, df, pvalue, cfi, tli, rmsea (90% CI), srmr
        (Bentler, with the means when there is a mean structure, weighted by n_g/N), aic,
        bic, logl, npar, n."""
        pr = self.problem
        n_groups = len(pr.groups)
        p = pr.p
        chisq = float(self.chisq_groups.sum())
        moments = p * (p + 1) / 2 + (p if pr.means else 0)
        df = n_groups * moments - pr.npar
        chisq_b = sum(d.n * (np.log(np.diag(d.cov)).sum() - pr.logdet_s[g]) for g, d in enumerate(pr.groups))
        df_b = n_groups * p * (p - 1) / 2
        pvalue = float(stats.chi2.sf(chisq, df)) if df > 0 else np.nan
        denom = max(chisq - df, chisq_b - df_b, 0.0)
        cfi = 1 - max(chisq - df, 0.0) / denom if denom > 0 else 1.0
        tli = ((chisq_b / df_b) - (chisq / df)) / ((chisq_b / df_b) - 1) if df > 0 else np.nan
        n = pr.n_total
        root_g = math.sqrt(n_groups)
        rmsea = math.sqrt(max(chisq - df, 0.0) / (df * n)) * root_g if df > 0 else np.nan
        lo, hi = rmsea_interval(chisq, df, n)
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
            srmr += pr.weights[g] * value
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
) -> MLFit:
    """Fit one model to one or several groups' complete data by ML.

    Parameters
    ----------
    frames
        One DataFrame per group with (at least) the model's indicators, no missing values.
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
    if means is None:
        means = len(frames) > 1
    data = []
    labels = [str(g) for g in groups] if groups is not None else [str(k + 1) for k in range(len(frames))]
    for label, frame in zip(labels, frames):
        values = frame[spec.indicators].to_numpy(dtype=float)
        cov = np.cov(values, rowvar=False, ddof=0)
        if singular_reason(cov, spec.indicators) is not None:
            where = f"group {label!r}: " if len(frames) > 1 else ""
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
