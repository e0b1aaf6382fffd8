"""Dimensionality: sampling adequacy, parallel analysis, EFA and CFA (docs/methods.md).

SERVQUAL's five dimensions are contested (the 1991 study found tangibles splitting and
responsiveness/assurance merging), so the workbench tests the structure instead of
assuming it:

* :func:`sampling_adequacy` — KMO overall and per item, Bartlett's test of sphericity
  (``psych::KMO``, ``psych::cortest.bartlett``);
* :func:`parallel_analysis` — how many factors the data support (seeded);
* :func:`efa` — minres or maximum-likelihood factoring with oblimin, promax or varimax
  rotation (``psych::fa``);
* :func:`cfa` / :func:`compare_models` — the instrument's own dimension model, a one-factor
  model, a bifactor model and any model written in lavaan syntax, with chisq, df, p,
  CFI, TLI, RMSEA and its 90% CI, SRMR, AIC and BIC as ``lavaan::fitMeasures`` reports them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ._matrix import cov2cor, extract_factors, pairwise_cor, smc
from .display import p_statement

__all__ = [
    "CFAResult",
    "EFAResult",
    "ParallelAnalysis",
    "SamplingAdequacy",
    "bartlett_sphericity",
    "cfa",
    "compare_models",
    "correlation_matrix",
    "efa",
    "instrument_models",
    "kmo",
    "parallel_analysis",
    "sampling_adequacy",
]

METHODS = ("minres", "ml")
ROTATIONS = ("oblimin", "promax", "varimax", "none")


# --------------------------------------------------------------------------- correlations

def _items(frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    x = frame.to_numpy(dtype=float, na_value=np.nan)
    return x[~np.isnan(x).all(axis=1)], [str(c) for c in frame.columns]


def correlation_matrix(frame: pd.DataFrame, nan_policy: str = "pairwise") -> tuple[pd.DataFrame, int]:
    """Item correlations (pairwise-complete by default) and the number of respondents.

    Respondents who answered none of the items are not counted; with ``"listwise"``
    only complete respondents are used.
    """
    x, cols = _items(frame)
    if nan_policy == "listwise":
        x = x[~np.isnan(x).any(axis=1)]
    elif nan_policy != "pairwise":
        raise ValueError(f"nan_policy must be 'pairwise' or 'listwise', got {nan_policy!r}")
    if len(x) < 3:
        raise ValueError(f"too few respondents with answers ({len(x)}) to correlate the items")
    sd = np.nanstd(x, axis=0, ddof=1)
    if not (sd > 0).all():
        flat = [c for c, s in zip(cols, sd) if not s > 0]
        raise ValueError(f"item(s) {', '.join(flat)} have no variance; leave them out")
    r = pairwise_cor(x)
    if np.isnan(r).any():
        raise ValueError("some pairs of items were never answered together")
    return pd.DataFrame(r, index=cols, columns=cols), len(x)


def kmo(frame: pd.DataFrame) -> tuple[float, pd.Series]:
    """Kaiser–Meyer–Olkin sampling adequacy, overall and per item (``psych::KMO``).

    MSA = Σr² / (Σr² + Σq²) over off-diagonal elements, q the partial correlations
    (the anti-image correlations from R⁻¹).

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> overall, per_item = sq.kmo(survey.ratings('perception'))
    >>> round(overall, 2), len(per_item)
    (0.96, 22)
    """
    r, _ = correlation_matrix(frame)
    return _kmo(r.to_numpy(), list(r.columns))


def _kmo(r: np.ndarray, cols: list[str]) -> tuple[float, pd.Series]:
    q = cov2cor(np.linalg.inv(r))
    np.fill_diagonal(q, 0)
    r0 = r.copy()
    np.fill_diagonal(r0, 0)
    r2, q2 = (r0**2), (q**2)
    overall = r2.sum() / (r2.sum() + q2.sum())
    per_item = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
    return float(overall), pd.Series(per_item, index=cols, name="msa")


def bartlett_sphericity(frame: pd.DataFrame, *, n: int | None = None) -> dict[str, float]:
    """Bartlett's test that the correlation matrix is an identity (``psych::cortest.bartlett``).

    χ² = −ln|R|·(n − 1 − (2p + 5)/6), df = p(p − 1)/2.

    Parameters
    ----------
    frame
        Respondents × items (R from pairwise correlations, n the respondents with any
        answer), or, with ``n``, a correlation matrix itself (items × items).
    n
        The number of respondents behind a correlation matrix given as ``frame``
        (``psych::cortest.bartlett(R, n = …)``).

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> test = sq.bartlett_sphericity(survey.ratings('perception'))
    >>> sorted(test)
    ['chisq', 'df', 'n', 'p']
    >>> test['p'] < 0.001
    True
    >>> r = survey.ratings('perception').corr()
    >>> round(sq.bartlett_sphericity(r, n=1180)['df'])
    231
    """
    if n is None:
        r, n = correlation_matrix(frame)
        return _bartlett(r.to_numpy(), n)
    r = np.asarray(frame, dtype=float)
    if r.ndim != 2 or r.shape[0] != r.shape[1] or not np.allclose(np.diag(r), 1) or not np.allclose(r, r.T):
        raise ValueError("with n=, bartlett_sphericity takes a correlation matrix (square, symmetric, ones on the "
                         "diagonal); give the ratings themselves without n")
    if int(n) != n or n <= r.shape[0]:
        raise ValueError(f"n must be a whole number of respondents larger than the {r.shape[0]} items, got {n!r}")
    return _bartlett(r, int(n))


def _bartlett(r: np.ndarray, n: int) -> dict[str, float]:
    p = r.shape[0]
    sign, logdet = np.linalg.slogdet(r)
    chisq = -logdet * (n - 1 - (2 * p + 5) / 6)
    df = p * (p - 1) / 2
    return {"chisq": float(chisq), "df": df, "p": float(stats.chi2.sf(chisq, df)), "n": n}


@dataclass(frozen=True)
class SamplingAdequacy:
    """KMO and Bartlett's test for one set of items."""

    kmo: float
    kmo_items: pd.Series
    bartlett: dict
    n: int

    @property
    def verdict(self) -> str:
        """Kaiser's labels for the overall MSA."""
        bands = [(0.9, "marvelous"), (0.8, "meritorious"), (0.7, "middling"), (0.6, "mediocre"), (0.5, "miserable")]
        return next((label for cut, label in bands if self.kmo >= cut), "unacceptable")

    def __str__(self) -> str:
        b = self.bartlett
        low = self.kmo_items[self.kmo_items < 0.6]
        text = (
            f"KMO = {self.kmo:.3f} ({self.verdict}); Bartlett χ²({b['df']:.0f}) = {b['chisq']:.1f}, "
            f"{p_statement(b['p'])}, n = {self.n}"
        )
        if len(low):
            text += f"\nItems with MSA below 0.6: {', '.join(f'{i} ({v:.2f})' for i, v in low.items())}"
        return text

    def _repr_html_(self) -> str:
        return f"<p>{str(self).replace(chr(10), '<br>')}</p>" + self.kmo_items.to_frame().T.to_html(
            float_format=lambda v: f"{v:.3f}")

    def to_frame(self) -> pd.DataFrame:
        """The result as one table: KMO per item."""
        return self.kmo_items.rename("kmo").to_frame()


def sampling_adequacy(frame: pd.DataFrame) -> SamplingAdequacy:
    """KMO (overall and per item) and Bartlett's test of sphericity in one result.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> result = sq.sampling_adequacy(survey.ratings('perception'))
    >>> result.verdict
    'marvelous'
    """
    r, n = correlation_matrix(frame)
    overall, items = _kmo(r.to_numpy(), list(r.columns))
    return SamplingAdequacy(overall, items, _bartlett(r.to_numpy(), n), n)


# --------------------------------------------------------------------------- factor extraction
def _max_factors(p: int) -> int:
    """The most factors with non-negative degrees of freedom: ((p − m)² − (p + m))/2 ≥ 0."""
    m = 0
    while ((p - (m + 1)) ** 2 - (p + m + 1)) >= 0:
        m += 1
    return m


def _check_n_factors(n_factors: int, p: int) -> None:
    if isinstance(n_factors, bool) or not isinstance(n_factors, int) or n_factors < 1:
        raise ValueError(f"n_factors must be a whole number ≥ 1, got {n_factors!r}")
    most = _max_factors(p)
    if n_factors > most:
        raise ValueError(
            f"n_factors={n_factors} is too many for {p} items: the model would have negative degrees of "
            f"freedom; at most {most} factor{'s' if most != 1 else ''} can be extracted"
        )


# --------------------------------------------------------------------------- rotations
def _varimax(x: np.ndarray, normalize: bool = True, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """stats::varimax (Kaiser normalisation, the same stopping rule)."""
    nc = x.shape[1]
    if normalize:
        sc = np.sqrt((x**2).sum(axis=1))
        x = x / sc[:, None]
    p = x.shape[0]
    tt = np.eye(nc)
    d = 0.0
    for _ in range(1000):
        z = x @ tt
        b = x.T @ (z**3 - z @ np.diag((z**2).sum(axis=0)) / p)
        u, s, vt = np.linalg.svd(b)
        tt = u @ vt
        d_past, d = d, s.sum()
        if d < d_past * (1 + eps):
            break
    z = x @ tt
    if normalize:
        z = z * sc[:, None]
    return z, tt


def _promax(x: np.ndarray, m: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """psych's ``promax``: Kaiser-normalised psych::Promax (varimax, then power 4 target)."""
    h = np.sqrt((x**2).sum(axis=1))
    w = x / h[:, None]
    v, rot = _varimax(w)
    q = v * np.abs(v) ** (m - 1)
    u = np.linalg.lstsq(v, q, rcond=None)[0]
    d = np.diag(np.linalg.inv(u.T @ u))
    u = u @ np.diag(np.sqrt(d))
    z = v @ u
    u = rot @ u
    ui = np.linalg.inv(u)
    phi = ui @ ui.T
    return z * h[:, None], phi


def _oblimin(a: np.ndarray, gamma: float = 0.0, eps: float = 1e-8, maxit: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """Direct oblimin by gradient projection (GPArotation::GPFoblq with vgQ.oblimin)."""
    k = a.shape[1]
    p = a.shape[0]
    n_mat = np.ones((k, k)) - np.eye(k)

    def vgq(loadings):
        l2 = loadings**2
        x = (l2 - gamma / p * l2.sum(axis=0, keepdims=True)) @ n_mat if gamma else l2 @ n_mat
        return (l2 * x).sum() / 4, loadings * x

    t = np.eye(k)
    al = 1.0
    loadings = a @ np.linalg.inv(t).T
    f, gq = vgq(loadings)
    g = -(loadings.T @ gq @ np.linalg.inv(t)).T
    for _ in range(maxit):
        gp = g - t @ np.diag((t * g).sum(axis=0))
        s = math.sqrt((gp**2).sum())
        if s < eps:
            break
        al *= 2
        for _ in range(11):
            x = t - al * gp
            tt = x / np.sqrt((x**2).sum(axis=0))
            loadings = a @ np.linalg.inv(tt).T
            ft, gqt = vgq(loadings)
            if f - ft > 0.5 * s**2 * al:
                break
            al /= 2
        t, f = tt, ft
        g = -(loadings.T @ gqt @ np.linalg.inv(tt)).T
    return a @ np.linalg.inv(t).T, t.T @ t


@dataclass(frozen=True)
class EFAResult:
    """An exploratory factor analysis (``psych::fa`` layout).

    Attributes
    ----------
    loadings
        Items (questionnaire order) × factors, rotated, sorted by variance explained,
        each factor's sign chosen so its loadings sum positive.
    communalities, uniquenesses
        Per item: h² and u² = 1 − h².
    variance
        Per factor: ss_loadings, proportion_var, cumulative_var, proportion_explained.
    phi
        Factor correlations (oblique rotations), else ``None``.
    """

    loadings: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    variance: pd.DataFrame
    phi: pd.DataFrame | None
    method: str
    rotation: str
    n: int
    fit: dict = field(default_factory=dict)

    def __str__(self) -> str:
        table = self.loadings.copy()
        table["h2"] = self.communalities
        table["u2"] = self.uniquenesses
        text = [
            f"Exploratory factor analysis: {self.method}, {self.rotation} rotation, "
            f"{self.loadings.shape[1]} factors, n = {self.n}",
            table.to_string(float_format=lambda v: f"{v:.2f}"),
            "",
            self.variance.T.to_string(float_format=lambda v: f"{v:.2f}"),
        ]
        if self.phi is not None:
            text += ["", "Factor correlations:", self.phi.to_string(float_format=lambda v: f"{v:.2f}")]
        return "\n".join(text)

    def _repr_html_(self) -> str:
        table = self.loadings.copy()
        table["h2"] = self.communalities
        styled = table.to_html(float_format=lambda v: f"{v:.2f}")
        return f"<h4>EFA: {self.method}, {self.rotation}, n = {self.n}</h4>{styled}" + self.variance.T.to_html(
            float_format=lambda v: f"{v:.2f}")

    def to_frame(self) -> pd.DataFrame:
        """The result as one table: the rotated loadings (items × factors) with communalities."""
        return self.loadings.assign(communality=self.communalities)


def efa(
    frame: pd.DataFrame,
    n_factors: int,
    *,
    method: str = "minres",
    rotation: str = "oblimin",
    nan_policy: str = "pairwise",
    correlation: str = "pearson",
) -> EFAResult:
    """Exploratory factor analysis, as ``psych::fa(x, nfactors, fm=, rotate=, cor=)``.

    Parameters
    ----------
    frame
        Respondents × items.
    n_factors
        Factors to extract; at most what leaves non-negative degrees of freedom.
    method
        ``"minres"`` (least squares on the off-diagonal correlations, psych's default)
        or ``"ml"`` (maximum likelihood, as ``factanal``).
    rotation
        ``"oblimin"`` (direct quartimin, GPArotation), ``"promax"`` (psych's Kaiser-
        normalised promax, power 4), ``"varimax"`` or ``"none"``.
    nan_policy
        Correlations from pairwise-complete (default) or complete respondents.
    correlation
        ``"pearson"`` (default) or ``"polychoric"`` for ordinal ratings
        (:func:`servqual.polychoric`, as ``psych::fa(cor = "poly")``).

    Returns
    -------
    EFAResult

    Notes
    -----
    Both methods minimise over the uniquenesses Ψ with L-BFGS-B in [0.005, 1] from
    1 − smc, exactly as psych does; loadings come from the leading eigenvectors of
    R − Ψ (minres) or Ψ^−½RΨ^−½ (ML).  Factor order and signs follow psych.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> result = sq.efa(survey.ratings('perception'), 5, rotation='oblimin')
    >>> result.loadings.shape
    (22, 5)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    if rotation not in ROTATIONS:
        raise ValueError(f"rotation must be one of {', '.join(map(repr, ROTATIONS))}, got {rotation!r}")
    if correlation not in ("pearson", "polychoric"):
        raise ValueError(f"correlation must be 'pearson' or 'polychoric', got {correlation!r}")
    r_frame, n = correlation_matrix(frame, nan_policy)
    if correlation == "polychoric":
        from .polychoric import polychoric

        used = frame.dropna() if nan_policy == "listwise" else frame.dropna(how="all")
        r_frame = polychoric(used).rho
    r = r_frame.to_numpy()
    cols = list(r_frame.columns)
    _check_n_factors(n_factors, len(cols))
    load, fit = extract_factors(r, n_factors, method)
    communalities = (load**2).sum(axis=1)
    phi = None
    if n_factors > 1 and rotation != "none":
        load = load.copy()
        load[load == 0] = 1e-15
        if rotation == "varimax":
            load, _ = _varimax(load)
        elif rotation == "promax":
            load, phi = _promax(load)
        else:
            load, phi = _oblimin(load)
    signs = np.sign(load.sum(axis=0))
    signs[signs == 0] = 1
    load = load * signs
    if phi is not None:
        phi = phi * np.outer(signs, signs)
    if n_factors > 1:
        ev = np.diag(phi @ load.T @ load) if phi is not None else (load**2).sum(axis=0)
        order = np.argsort(-ev, kind="stable")
        load = load[:, order]
        if phi is not None:
            phi = phi[np.ix_(order, order)]
    prefix = "MR" if method == "minres" else "ML"
    names = [f"{prefix}{j + 1}" for j in range(n_factors)]
    ss = np.diag(phi @ load.T @ load) if phi is not None else (load**2).sum(axis=0)
    variance = pd.DataFrame(
        {
            "ss_loadings": ss,
            "proportion_var": ss / len(cols),
            "cumulative_var": np.cumsum(ss) / len(cols),
            "proportion_explained": ss / ss.sum(),
        },
        index=names,
    )
    fit["df"] = ((len(cols) - n_factors) ** 2 - (len(cols) + n_factors)) / 2
    return EFAResult(
        loadings=pd.DataFrame(load, index=cols, columns=names),
        communalities=pd.Series(communalities, index=cols, name="h2"),
        uniquenesses=pd.Series(1 - communalities, index=cols, name="u2"),
        variance=variance,
        phi=None if phi is None else pd.DataFrame(phi, index=names, columns=names),
        method=method,
        rotation=rotation,
        n=n,
        fit=fit,
    )


# --------------------------------------------------------------------------- parallel analysis
@dataclass(frozen=True)
class ParallelAnalysis:
    """Observed eigenvalues against those of random data of the same size.

    ``eigenvalues`` has one row per position with the observed and simulated
    (mean and ``quantile``) eigenvalues of the correlation matrix (components) and of
    the reduced matrix with squared multiple correlations on its diagonal (factors).
    """

    eigenvalues: pd.DataFrame
    n_factors: int
    n_components: int
    n_iter: int
    quantile: float

    def __str__(self) -> str:
        return (
            f"Parallel analysis ({self.n_iter} random data sets, {self.quantile:.0%} quantile) suggests "
            f"{self.n_factors} factor{'s' if self.n_factors != 1 else ''} and "
            f"{self.n_components} component{'s' if self.n_components != 1 else ''}.\n"
            + self.eigenvalues.head(max(self.n_factors, self.n_components) + 2).to_string(
                float_format=lambda v: f"{v:.3f}")
        )

    def _repr_html_(self) -> str:
        head, _, _ = str(self).partition("\n")
        return f"<p>{head}</p>" + self.eigenvalues.to_html(float_format=lambda v: f"{v:.3f}")

    def to_frame(self) -> pd.DataFrame:
        """The result as one table: the observed and simulated eigenvalues."""
        return self.eigenvalues.copy()


def parallel_analysis(
    frame: pd.DataFrame, *, n_iter: int = 100, seed: int | None = 0, quantile: float = 0.95,
    keep_missing: bool | None = None,
) -> ParallelAnalysis:
    """Horn's parallel analysis (with Glorfeld's quantile criterion), seeded.

    The observed eigenvalues are compared, position by position, with the ``quantile``
    of eigenvalues from ``n_iter`` normal random data sets with as many respondents and
    items; the suggestion counts the leading observed eigenvalues above that line.
    Factors use the reduced correlation matrix (smc on the diagonal), as
    ``psych::fa.parallel(fa="both")`` does for its "FA" line.

    ``keep_missing``: give the random data sets the data's own blanks before
    correlating them pairwise, so that the reference eigenvalues carry the same sampling
    noise as the observed ones.  Default: when more than a fifth of the answers are
    missing (sampled designs such as LibQUAL-Lite, where each pair of items is answered
    together by a fraction of the respondents and complete random data would suggest
    far too many factors); psych always uses complete random data.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> pa = sq.parallel_analysis(survey.ratings('perception'), n_iter=20, seed=1)
    >>> pa.n_factors
    5
    """
    r_frame, n = correlation_matrix(frame)
    r = r_frame.to_numpy()
    p = r.shape[0]
    rng = np.random.default_rng(seed)

    def reduced(m: np.ndarray) -> np.ndarray:
        m = m.copy()
        np.fill_diagonal(m, smc(m))
        return np.sort(np.linalg.eigvalsh(m))[::-1]

    obs_pc = np.sort(np.linalg.eigvalsh(r))[::-1]
    obs_fa = reduced(r)
    sim_pc = np.empty((n_iter, p))
    sim_fa = np.empty((n_iter, p))
    blank = np.isnan(_items(frame)[0])
    if keep_missing is None:
        keep_missing = bool(blank.mean() > 0.2)
    for i in range(n_iter):
        if keep_missing:
            z = rng.standard_normal(blank.shape)
            z[blank] = np.nan
            rr = pairwise_cor(z)
        else:
            rr = np.corrcoef(rng.standard_normal((n, p)), rowvar=False)
        sim_pc[i] = np.sort(np.linalg.eigvalsh(rr))[::-1]
        sim_fa[i] = reduced(rr)
    table = pd.DataFrame(
        {
            "observed_pc": obs_pc,
            "random_pc_mean": sim_pc.mean(axis=0),
            "random_pc_quantile": np.quantile(sim_pc, quantile, axis=0),
            "observed_fa": obs_fa,
            "random_fa_mean": sim_fa.mean(axis=0),
            "random_fa_quantile": np.quantile(sim_fa, quantile, axis=0),
        },
        index=pd.RangeIndex(1, p + 1, name="position"),
    )

    def leading(above: np.ndarray) -> int:
        return int(np.argmin(above)) if not above.all() else len(above)

    return ParallelAnalysis(
        eigenvalues=table,
        n_factors=leading(obs_fa > table["random_fa_quantile"].to_numpy()),
        n_components=leading(obs_pc > table["random_pc_quantile"].to_numpy()),
        n_iter=n_iter,
        quantile=quantile,
    )


# --------------------------------------------------------------------------- CFA
_MEASURE_RE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*=~\s*(.+)$")


def instrument_models(instrument, items: list[str] | None = None) -> dict[str, str]:
    """lavaan-syntax models from an instrument's dimension structure.

    Returns ``{"dimensions": …, "one_factor": …, "bifactor": …}``: correlated dimension
    factors, a single general factor, and a general factor plus orthogonal dimension
    factors (the model omega hierarchical is computed from).

    Examples
    --------
    >>> import servqual as sq
    >>> models = sq.instrument_models(sq.load_instrument('servqual-22'))
    >>> sorted(models)
    ['bifactor', 'dimensions', 'one_factor']
    """
    items = list(items or instrument.items)
    lines, groups = [], {}
    for dim, dim_items in instrument.dimensions.items():
        chosen = [i for i in dim_items if i in items]
        if chosen:
            groups[dim] = chosen
            lines.append(f"{dim} =~ {' + '.join(chosen)}")
    one = f"general =~ {' + '.join(items)}"
    bif = [one] + lines
    names = ["general", *groups]
    bif += [f"{a} ~~ 0*{b}" for k, a in enumerate(names) for b in names[k + 1 :]]
    return {"dimensions": "\n".join(lines), "one_factor": one, "bifactor": "\n".join(bif)}


def _model_items(model: str) -> tuple[dict[str, list[str]], list[str]]:
    """Factors and their indicators from lavaan syntax (measurement lines only)."""
    factors: dict[str, list[str]] = {}
    for raw in model.replace(";", "\n").splitlines():
        line = raw.split("#", 1)[0].strip()
        match = _MEASURE_RE.match(line)
        if match:
            terms = [t.strip() for t in match.group(2).split("+")]
            factors.setdefault(match.group(1), []).extend(t.split("*")[-1].strip() for t in terms if t)
    if not factors:
        raise ValueError("the model defines no factor; write lines such as 'reliability =~ RL1 + RL2 + RL3'")
    indicators = list(dict.fromkeys(i for items in factors.values() for i in items if i not in factors))
    return factors, indicators


@dataclass(frozen=True)
class CFAResult:
    """A confirmatory factor analysis fit (lavaan's ML estimator, listwise data)."""

    name: str
    model: str
    fit: pd.Series  # chisq, df, p, cfi, tli, rmsea, rmsea_ci_low, rmsea_ci_high, srmr, aic, bic, npar, n
    loadings: pd.DataFrame  # factor, item, estimate, std_all
    factor_correlations: pd.DataFrame | None
    implied: pd.DataFrame  # model-implied covariance matrix (ML, divisor n)
    factor_variances: pd.Series  # on the scale of ``implied``
    missing: str = "listwise"  # or "fiml"
    item_n: pd.Series | None = None  # respondents who answered each item (of those analysed)
    estimator: str = "ML"  # or "WLSMV" (ordered items)

    def __str__(self) -> str:
        f = self.fit
        if self.estimator == "WLSMV":
            return (
                f"CFA '{self.name}' (ordered items, WLSMV): scaled χ²({f['df']:.0f}) = {f['chisq_scaled']:.2f}, "
                f"{p_statement(f['p_scaled'])}; CFI = {f['cfi_scaled']:.3f}, TLI = {f['tli_scaled']:.3f}, "
                f"RMSEA = {f['rmsea_scaled']:.3f}, SRMR = {f['srmr']:.3f} (scaled and shifted); n = {int(f['n'])}\n"
                + self.loadings.to_string(index=False, float_format=lambda v: f"{v:.3f}")
            )
        return (
            f"CFA '{self.name}': χ²({f['df']:.0f}) = {f['chisq']:.2f}, {p_statement(f['p'])}; CFI = {f['cfi']:.3f}, "
            f"TLI = {f['tli']:.3f}, RMSEA = {f['rmsea']:.3f} [{f['rmsea_ci_low']:.3f}, {f['rmsea_ci_high']:.3f}], "
            f"SRMR = {f['srmr']:.3f}; n = {int(f['n'])}"
            + (" (full-information ML: every respondent who answered an item)" if self.missing == "fiml" else "")
            + "\n"
            + self.loadings.to_string(index=False, float_format=lambda v: f"{v:.3f}")
        )

    def _repr_html_(self) -> str:
        head, _, _ = str(self).partition("\n")
        return f"<p>{head}</p>" + self.loadings.to_html(index=False, float_format=lambda v: f"{v:.3f}")

    def to_frame(self) -> pd.DataFrame:
        """The result as one table: the fit measures as one row named by the model."""
        return self.fit.to_frame(self.name).T


def cfa(frame: pd.DataFrame, model: str, *, name: str = "model", missing: str = "listwise",
        ordered: bool = False) -> CFAResult:
    """Fit a CFA written in lavaan syntax by maximum likelihood (or, for ordered items, WLSMV).

    Parameters
    ----------
    frame
        Respondents × items.
    missing
        ``"listwise"`` (lavaan's default): respondents with any missing indicator are
        left out.  ``"fiml"``: full-information ML (lavaan's ``missing = "ml"``): every
        respondent who answered at least one indicator counts, each with the items they
        answered — for sampled designs (LibQUAL-Lite) where nobody answers everything.
    model
        lavaan syntax: ``factor =~ item + item``; ``a ~~ 0*b`` fixes a covariance,
        ``a ~~ b`` frees one; ``NA*item`` frees a marker loading.
    name
        Label used in comparison tables.
    ordered
        Treat every indicator as ordered categories (lavaan's ``ordered = TRUE,
        estimator = "WLSMV"``): thresholds and polychoric correlations, DWLS estimates
        (delta parameterisation: Σ* = ΛΦΛ' with unit diagonal) and the mean-and-variance
        adjusted test, in :mod:`servqual.wls`.  Complete respondents only.

    Returns
    -------
    CFAResult
        Fit measures as ``lavaan::fitMeasures`` (chisq, df, p, cfi, tli, rmsea with
        its 90% CI, srmr, aic, bic), loadings with their standardised values
        (``std.all``) and factor correlations.  With ``ordered=True``: chisq, df, p,
        cfi, tli, rmsea (unscaled), ``chisq_scaled``, ``p_scaled``, ``scaling_factor``,
        ``shift``, ``cfi_scaled``, ``tli_scaled``, ``rmsea_scaled`` (lavaan's
        ``*.scaled``), srmr, npar, n; no AIC or BIC (there is no likelihood).

    Notes
    -----
    lavaan's ML estimator and parameterisation (first loading of each factor fixed at 1),
    fitted by :mod:`servqual.sem`: F_ML = log|Σ| + tr(SΣ⁻¹) − log|S| − p with S the sample
    covariance (divisor n), minimised with its analytic gradient and Fisher scoring to
    machine precision.  χ² = n·F_ML, CFI and TLI against the independence model,
    RMSEA = √(max(χ² − df, 0)/(df·n)) with its noncentral-χ² 90% interval, SRMR
    (Bentler) on correlation residuals, AIC/BIC from the normal log-likelihood.  Checked
    against ``lavaan::cfa`` (tests/r/invariance.R, tests/r/dimensionality.R): χ² within
    1e-9 relative, standardised loadings within 1e-5.  R: ``lavaan::cfa(model, data)``.

    With ``missing="fiml"`` the likelihood is summed over the patterns of answered items,
    −2 log L = Σ_k n_k[p_k log 2π + log|Σ_oo| + tr(Σ_oo⁻¹(S_k + d_k d_k'))], a mean
    structure is fitted, χ² = 2(log L_saturated − log L_model) with the saturated moments
    from EM, the baseline has each item's own mean and variance, and SRMR compares with the
    EM moments — lavaan's definitions (tests/r/fiml.R: χ² within 1e-9 relative).
    R: ``lavaan::cfa(model, data, missing = "ml")``.

    With ``ordered=True`` (WLSMV): thresholds τ = Φ⁻¹(cumulative shares), polychoric ρ
    by ML with the thresholds fixed, Γ = N·B⁻¹(Σ s_i s_i')B⁻ᵀ from the respondents'
    scores; F = ½Σ w_k(s_k − σ_k)² with w = 1/diag(Γ); T = 2(N − 1)F and the
    scaled-and-shifted T* = aT + b, a = √(df/tr((UΓ)²)), b = df − a·tr(UΓ),
    U = W − WΔ(Δ'WΔ)⁻¹Δ'W; RMSEA with N − 1.  Checked against lavaan 0.6-14
    (tests/r/wlsmv.R): thresholds, polychorics and Γ within 2e-7, loadings within 1e-5,
    χ², scaled χ², CFI, TLI, RMSEA (scaled) within 1e-5 relative.
    R: ``lavaan::cfa(model, data, ordered = TRUE, estimator = "WLSMV")``.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> frame = survey.ratings('perception')
    >>> model = sq.instrument_models(survey.instrument)['dimensions']
    >>> fit = sq.cfa(frame, model).fit
    >>> int(fit['df']), round(float(fit['cfi']), 2) > 0.9
    (199, True)
    """
    from .sem import fit_ml, parse_model

    factors, indicators = _model_items(model)
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    unknown = [i for i in indicators if i not in frame.columns]
    if unknown:
        from .instrument import did_you_mean

        raise ValueError(
            f"model {name!r} names unknown item(s) {', '.join(map(repr, unknown))}{did_you_mean(unknown[0], frame.columns)} "
            f"(items: {', '.join(map(str, frame.columns))})"
        )
    if missing not in ("listwise", "fiml"):
        raise ValueError(f"missing must be 'listwise' or 'fiml', got {missing!r}")
    if ordered:
        return _cfa_ordered(frame, model, indicators, factors, name, missing)
    data = frame[indicators].astype(float)
    data = data.dropna() if missing == "listwise" else data[data.notna().any(axis=1)]
    n, p = len(data), len(indicators)
    if n <= p + 1 or n < 30:
        who = f"answered all {p} items" if missing == "listwise" else f"answered any of the {p} items"
        raise ValueError(
            f"too few respondents for model {name!r}: {n} {who} (at least {max(p + 2, 30)} needed)"
        )
    spec = parse_model(model)
    fitted = fit_ml([data], spec, missing=missing)
    fit = fitted.fit_measures()
    matrices = fitted.group_matrices(0)
    names = list(spec.factors)
    loadings = fitted.standardized_loadings().drop(columns="group")
    rank = {f: k for k, f in enumerate(factors)}
    position = {i: k for k, i in enumerate(indicators)}
    loadings = loadings.sort_values(["factor", "item"], key=lambda c: c.map(rank if c.name == "factor" else position))
    phi = matrices["phi"]
    corr = None
    if len(names) > 1:
        sd = np.sqrt(np.diag(phi))
        corr = pd.DataFrame(phi / np.outer(sd, sd), index=names, columns=names)
    sigma = matrices["sigma"]
    fit = {k: fit[k] for k in ("chisq", "df", "p", "cfi", "tli", "rmsea", "rmsea_ci_low", "rmsea_ci_high", "srmr",
                               "aic", "bic", "npar", "n", "logl")}
    return CFAResult(
        name=name,
        model=model,
        fit=pd.Series(fit),
        loadings=loadings.reset_index(drop=True),
        factor_correlations=corr,
        implied=pd.DataFrame(sigma, index=indicators, columns=indicators),
        factor_variances=pd.Series(np.diag(phi), index=names).reindex(list(factors)),
        missing=missing,
        item_n=data.notna().sum().astype(int),
    )


def _cfa_ordered(frame: pd.DataFrame, model: str, indicators: list[str], factors, name: str,
                 missing: str) -> CFAResult:
    from .wls import fit_wlsmv

    if missing != "listwise":
        raise ValueError("ordered=True fits complete respondents (missing='listwise'); full-information ML is for "
                         "ratings treated as continuous")
    data = frame[indicators].astype(float).dropna()
    n, p = len(data), len(indicators)
    if n < max(p + 2, 30):
        raise ValueError(f"too few respondents for model {name!r}: {n} answered all {p} items "
                         f"(at least {max(p + 2, 30)} needed)")
    fitted = fit_wlsmv(data, model)
    names = list(fitted.spec.factors)
    loadings = fitted.standardized_loadings()
    rank = {f: k for k, f in enumerate(factors)}
    position = {i: k for k, i in enumerate(indicators)}
    loadings = loadings.sort_values(["factor", "item"], key=lambda c: c.map(rank if c.name == "factor" else position))
    phi = fitted.phi
    corr = None
    if len(names) > 1:
        sd = np.sqrt(np.diag(phi))
        corr = pd.DataFrame(phi / np.outer(sd, sd), index=names, columns=names)
    sigma = fitted.lam @ phi @ fitted.lam.T
    np.fill_diagonal(sigma, 1.0)
    return CFAResult(
        name=name, model=model, fit=pd.Series(fitted.fit), loadings=loadings.reset_index(drop=True),
        factor_correlations=corr, implied=pd.DataFrame(sigma, index=fitted.spec.indicators,
                                                       columns=fitted.spec.indicators),
        factor_variances=pd.Series(np.diag(phi), index=names).reindex(list(factors)),
        item_n=data.notna().sum().astype(int), estimator="WLSMV",
    )


def compare_models(frame: pd.DataFrame, models: Mapping[str, str], *, missing: str = "listwise") -> pd.DataFrame:
    """Fit several CFA models to the same respondents and compare them in one table.

    Respondents missing any item used by any model are left out of all of them, so
    the models are compared on identical data; with ``missing="fiml"`` everyone who
    answered any of those items is kept and every model is fitted by full-information
    ML (:func:`cfa`), for sampled designs where nobody answers every item.

    Returns
    -------
    pandas.DataFrame
        One row per model: chisq, df, p, cfi, tli, rmsea, rmsea_ci_low,
        rmsea_ci_high, srmr, aic, bic, npar, n.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> table = sq.compare_models(survey.ratings('perception'), sq.instrument_models(survey.instrument))
    >>> list(table.index)
    ['dimensions', 'one_factor', 'bifactor']
    """
    used = list(dict.fromkeys(i for m in models.values() for i in _model_items(m)[1]))
    unknown = [i for i in used if i not in frame.columns]
    if unknown:
        raise ValueError(f"models name unknown item(s): {', '.join(map(repr, unknown))}")
    common = frame[used].dropna() if missing == "listwise" else frame[used][frame[used].notna().any(axis=1)]
    rows = {}
    for name, model in models.items():
        rows[name] = cfa(common, model, name=name, missing=missing).fit
    table = pd.DataFrame(rows).T
    return table.drop(columns=["logl"])
