"""Weighting respondents to the population they came from.

A library knows how many undergraduates, postgraduates and staff it serves (per campus,
per faculty); its survey reaches a few percent of them, and not evenly.  :func:`weight`
gives every kept respondent a weight so that the weighted counts match the population:

* **post-stratification** for one margin: ``w_i = N_c / n_c`` for respondent ``i`` in
  category ``c`` (population count ``N_c``, respondents ``n_c``);
* **raking** (iterative proportional fitting) for several margins: starting from
  ``w = 1``, each margin in turn multiplies the weights of category ``c`` by
  ``N_c / Σ_{i∈c} w_i``, until every margin's weighted counts are within ``tolerance``
  (relative) of the population;
* **trimming** (``trim=c``, or ``[low, c]``): weights above ``c·w̄`` (``w̄ = N/n``, the
  mean weight; below ``low·w̄``) are set to the bound and the amount cut is shared equally among the other
  weights (R's ``trimWeights(strict = TRUE)``), and the weights are raked again; this
  repeats until no raked weight is more than 0.1 % beyond the bounds (or 100 rounds), so the margins
  always hold.

Design-based standard errors (:func:`linearised_se`) treat the respondents as a
with-replacement single-stage sample (``svydesign(ids = ~1)``) calibrated to the
margins: the influence values of a weighted mean are replaced by their residuals from
the calibration, exactly as ``survey:::svyrecvar`` does for a raked or post-stratified
design (ten sweeps over the margins), and the variance is ``n/(n−1) Σ (z_i − z̄)²`` over
every respondent of the design (a domain's non-members count, with ``z = 0`` before
calibration), as ``svyby``/``svymean(na.rm = TRUE)`` give.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Weighting", "WeightingError", "check_options", "check_population", "check_trim", "domain_covariance", "domain_stats",
           "effective_n", "linearised_se", "weight"]

#: Sweeps over the margins when the influence values are calibrated (survey:::svyrecvar's ``1:10``).
CALIBRATION_SWEEPS = 10
#: Rounds of trimming and raking at most, and how far (relative) a raked weight may end
#: beyond the cap: alternating the two converges linearly (about 0.7 a round), so an exact
#: cap takes many rounds; 0.1 % over it is immaterial and is reached in a few dozen.
TRIM_ROUNDS = 100
TRIM_TOLERANCE = 1e-3


class WeightingError(ValueError):
    """Population margins that cannot weight this survey; the message names the key and the values."""


@dataclass(frozen=True)
class Weighting:
    """How a survey was weighted (:func:`weight`), kept on the survey as ``survey.weighting``.

    Attributes
    ----------
    population
        ``{column: {category: count}}`` as given (categories as text).
    method
        ``"poststratify"`` (one margin) or ``"rake"``.
    trim
        The (lowest, highest) allowed ratio of a weight to the mean weight, or ``None``.
    tolerance
        The relative tolerance the margins were raked to.
    cells
        Kept and excluded respondents (the survey's frame index) × margin columns: each
        respondent's category number in that margin (``-1`` for those screening
        excluded); the standard errors calibrate on these.
    diagnostics
        One row: ``method``, ``margins``, ``iterations``, ``converged``,
        ``max_margin_error`` (relative), ``trim``, ``trim_rounds``, ``trimmed`` (weights
        at a bound after the last trimming), ``trim_met`` (the raked weights respect the cap), ``n``, ``population``, ``weight_min``,
        ``weight_max``, ``weight_ratio`` (max/min), ``n_effective`` (Kish),
        ``deff_weighting`` (1 + CV²) and ``response_rate``.
    response_rates
        Per margin and category: ``margin``, ``category``, ``population``,
        ``respondents``, ``response_rate``, ``population_share``, ``sample_share``,
        ``weighted_share`` and ``mean_weight``.
    """

    population: dict
    method: str
    trim: float | None
    tolerance: float
    cells: pd.DataFrame
    diagnostics: pd.DataFrame
    response_rates: pd.DataFrame

    @property
    def margins(self) -> tuple[str, ...]:
        return tuple(self.population)

    def describe(self) -> str:
        """One sentence: how the survey was weighted, and what it cost in precision."""
        d = self.diagnostics.iloc[0]
        margins = " and ".join(self.margins)
        how = "post-stratified" if self.method == "poststratify" else "raked"
        trim = ""
        if self.trim:
            cap = f"{_trim_text(self.trim)} the mean"
            trim = (f"; no weight needed trimming at {cap}" if not d.trim_rounds
                    else f"; weights trimmed to {cap}" if d.trim_met
                    else f"; a cap of {cap} could not hold together with the margins")
        return (f"Weighted to the population ({how} on {margins}{trim}): weights from {d.weight_min:.2f} to "
                f"{d.weight_max:.2f}, an effective sample of {d.n_effective:,.0f} of {int(d.n):,} respondents "
                f"(design effect {d.deff_weighting:.2f}).")

    def __str__(self) -> str:
        return self.describe() + "\n" + self.response_rates.to_string(index=False)

    def _repr_html_(self) -> str:
        return f"<p>{self.describe()}</p>" + self.response_rates.to_html(index=False)


# ---------------------------------------------------------------------------- margins
def _key_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def check_population(population, respondents: pd.DataFrame | None = None, *, where: str = "population") -> dict:
    """Validate population margins (and, given the respondents, match them to the data).

    Parameters
    ----------
    population
        ``{column: {category: count}}``: one or more respondent columns, each with the
        population count of every category.
    respondents
        The kept respondents; when given, every category must match a respondent, every
        respondent must fall in a category, and the columns must exist.
    where
        How errors name the margins (``"params/2007.yaml: population"``).

    Returns
    -------
    dict
        ``{column: {category (text): count (float)}}``.

    Raises
    ------
    WeightingError
        A one-line message naming ``where``, the column, the category or value, and what
        was expected: a count that is not a positive number, a category that matches no
        respondent, respondents in no category, margins whose totals disagree.

    Examples
    --------
    >>> from servqual.weighting import check_population
    >>> check_population({"segment": {"staff": 900, "students": 9100}})
    {'segment': {'staff': 900.0, 'students': 9100.0}}
    >>> check_population({"segment": {"staff": 900}, "campus": {"north": 800}})
    Traceback (most recent call last):
    ...
    servqual.weighting.WeightingError: population: the margins give different totals (segment 900, campus 800); every margin counts the same population
    """
    if not isinstance(population, Mapping) or not population:
        raise WeightingError(f"{where}: expected a mapping of respondent columns to {{category: count}}, e.g. "
                             f"{{segment: {{undergraduate: 12000, staff: 900}}}}; got {population!r}")
    out: dict[str, dict[str, float]] = {}
    for column, counts in population.items():
        key = f"{where}.{column}"
        if not isinstance(counts, Mapping) or not counts:
            raise WeightingError(f"{key}: expected a mapping of categories to population counts; got {counts!r}")
        margin: dict[str, float] = {}
        for category, count in counts.items():
            if isinstance(count, bool) or not isinstance(count, (int, float)) or not np.isfinite(count) or count <= 0:
                raise WeightingError(f"{key}.{category}: expected a positive population count (a number); got "
                                     f"{count!r}")
            text = _key_text(category)
            if text in margin:
                raise WeightingError(f"{key}: category {text!r} is given twice")
            margin[text] = float(count)
        out[str(column)] = margin
    totals = {c: sum(m.values()) for c, m in out.items()}
    first = next(iter(totals.values()))
    if any(abs(t - first) > 1e-9 * first for t in totals.values()):
        listed = ", ".join(f"{c} {t:,.10g}" for c, t in totals.items())
        raise WeightingError(f"{where}: the margins give different totals ({listed}); every margin counts the same "
                             "population")
    if respondents is None:
        return out
    for column, margin in out.items():
        key = f"{where}.{column}"
        if column not in respondents.columns:
            from .instrument import did_you_mean

            raise WeightingError(f"{key}: {column!r} is not a respondent column{did_you_mean(column, respondents.columns)}"
                                 f" (columns: {', '.join(map(str, respondents.columns))})")
        values = _as_text(respondents[column])
        seen = set(values.dropna().unique())
        absent = [c for c in margin if c not in seen]
        if absent:
            raise WeightingError(f"{key}: category {absent[0]!r} matches no respondent (the data have "
                                 f"{', '.join(map(repr, sorted(seen)))}); fix its spelling, recode the data, or leave "
                                 "it out and combine it with another category")
        outside = values.isna() | ~values.isin(list(margin))
        if outside.any():
            odd = values[outside]
            shown = "blank" if pd.isna(odd.iloc[0]) else repr(odd.iloc[0])
            raise WeightingError(f"{key}: {int(outside.sum())} respondent(s) fall in no category (e.g. id "
                                 f"{odd.index[0]!r}: {shown}; categories: {', '.join(map(repr, margin))}); give their "
                                 "category a population count or recode them")
    return out


def _as_text(column: pd.Series) -> pd.Series:
    values = column.astype("object")
    return values.map(lambda v: None if pd.isna(v) else _key_text(v)).astype("object")


# ---------------------------------------------------------------------------- raking
def _codes(respondents: pd.DataFrame, population: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per margin: each respondent's category number and the categories' population counts."""
    out = []
    for column, margin in population.items():
        categories = list(margin)
        lookup = {c: k for k, c in enumerate(categories)}
        codes = _as_text(respondents[column]).map(lookup).to_numpy(dtype=np.int64)
        out.append((codes, np.array([margin[c] for c in categories])))
    return out


def _rake(w: np.ndarray, margins, tolerance: float, max_iter: int) -> tuple[np.ndarray, int, bool, float]:
    w = w.copy()
    error = np.inf
    for iteration in range(1, max_iter + 1):
        for codes, target in margins:
            totals = np.bincount(codes, weights=w, minlength=len(target))
            w *= (target / totals)[codes]
        error = max(float(np.max(np.abs(np.bincount(c, weights=w, minlength=len(t)) / t - 1))) for c, t in margins)
        if error < tolerance:
            return w, iteration, True, error
    return w, max_iter, False, error


def _trim_weights(w: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """R's ``trimWeights(design, upper, lower, strict = TRUE)``."""
    while True:
        outside = (w < lower) | (w > upper)
        if not outside.any():
            return w
        new = np.clip(w, lower, upper)
        new[~outside] += (w - new).sum() / (~outside).sum()
        w = new


def check_trim(trim, where: str = "weighting") -> tuple[float, float] | None:
    """``trim`` as the (lowest, highest) allowed ratio of a weight to the mean weight.

    Examples
    --------
    >>> from servqual.weighting import check_trim
    >>> check_trim(5), check_trim([0.2, 5]), check_trim(None)
    ((0.0, 5.0), (0.2, 5.0), None)
    """
    def number(v):
        return not isinstance(v, bool) and isinstance(v, (int, float)) and np.isfinite(v)

    if trim is None:
        return None
    if number(trim) and trim > 1:
        return (0.0, float(trim))
    if (isinstance(trim, Sequence) and not isinstance(trim, str) and len(trim) == 2 and all(map(number, trim))
            and 0 <= trim[0] < 1 < trim[1]):
        return (float(trim[0]), float(trim[1]))
    raise WeightingError(f"{where}: trim: expected the largest allowed weight as a multiple of the mean weight (a "
                         f"number above 1, e.g. 5), or [lowest, highest] multiples (e.g. [0.2, 5]); got {trim!r}")


def _trim_text(trim: tuple[float, float]) -> str:
    low, high = trim
    return f"{high:g}×" if low == 0 else f"{low:g}× to {high:g}×"


def check_options(options, where: str = "weighting") -> dict:
    """The weighting options of a params file (``weighting: {method, trim}``), checked:
    ``{"method": "rake" or "poststratify", "trim": None or (lowest, highest)}``.

    Examples
    --------
    >>> from servqual.weighting import check_options
    >>> check_options({"trim": 5})
    {'method': 'rake', 'trim': (0.0, 5.0)}
    >>> check_options({"method": "ipf"})
    Traceback (most recent call last):
    ...
    servqual.weighting.WeightingError: weighting: method must be 'rake' or 'poststratify', got 'ipf'
    """
    options = dict(options or {})
    method = options.get("method", "rake")
    if method not in ("rake", "poststratify"):
        raise WeightingError(f"{where}: method must be 'rake' or 'poststratify', got {method!r}")
    return {"method": method, "trim": check_trim(options.get("trim"), where)}


def weight(survey, population, *, method: str = "rake", trim: float | None = None, tolerance: float = 1e-10,
           max_iter: int = 1000, where: str = "population"):
    """The same survey with a weight per respondent, so that it represents its population.

    Parameters
    ----------
    survey
        A survey from :func:`servqual.read_survey` (the kept respondents are weighted).
    population
        ``{column: {category: count}}`` for one or more respondent columns, e.g.
        ``{"segment": {"undergraduate": 12000, "postgraduate": 3000, "academic staff": 900}}``.
        Every category must match respondents, every respondent must be in a category,
        and the margins must have one total.
    method
        ``"rake"`` (default: iterative proportional fitting; for one margin the same as
        post-stratification) or ``"poststratify"`` (one margin only).
    trim
        Cap on the ratio of any weight to the mean weight ``w̄ = N/n``: a number (``5``:
        no weight above 5 w̄) or ``[lowest, highest]`` (``[0.2, 5]``).  Weights outside
        are set to the bound, the difference is shared equally among the others, and the
        margins are raked again — repeated until the raked weights respect the cap (at
        most 100 rounds, until no raked weight is 0.1 % beyond it; a warning when the margins and the cap cannot both hold).
    tolerance
        Relative error allowed on every margin's weighted counts (default 1e-10).
    max_iter
        Raking passes over the margins at most.
    where
        How errors name the margins (a params file's reading passes ``"<file>: population"``).

    Returns
    -------
    Survey
        The survey with ``respondent_weights`` (summing to the population total) and
        ``weighting`` (a :class:`Weighting`: diagnostics and response rates).  Every
        analysis then uses the weights and says so.

    Notes
    -----
    R (``survey``): ``d <- svydesign(ids = ~1, data = kept)``; one margin:
    ``postStratify(d, ~segment, data.frame(segment = …, Freq = …))``; several:
    ``rake(d, list(~segment, ~campus), list(pop_segment, pop_campus), control =
    list(epsilon = 1e-12, maxit = 1000))``; trimming: ``trimWeights(d, upper = high * N/n,
    lower = low * N/n, strict = TRUE)`` then ``rake`` again, until no raked weight is
    0.1 % beyond the cap (``tests/r/weighting.R``).  Kish's effective n = (Σw)²/Σw²; the design effect
    due to weighting = n Σw²/(Σw)² = 1 + CV².

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> counts = {"segment": {"academic staff": 1200, "postgraduate": 4000, "undergraduate": 14650,
    ...                       "library staff": 150}}
    >>> weighted = sq.weight(survey, counts)
    >>> round(float(weighted.respondent_weights.sum()))
    20000
    >>> weighted.weighting.response_rates[["category", "respondents", "response_rate"]].round(3)
             category  respondents  response_rate
    0  academic staff          192          0.160
    1    postgraduate          260          0.065
    2   undergraduate          617          0.042
    3   library staff          111          0.740
    """
    survey.require_respondents()
    method, trim = check_options({"method": method, "trim": trim}, where).values()
    respondents = survey.respondents
    population = check_population(population, respondents, where=where)
    if method == "poststratify" and len(population) > 1:
        raise WeightingError(f"{where}: method 'poststratify' takes one margin, got {len(population)} "
                             f"({', '.join(population)}); rake them, or give one column")
    margins = _codes(respondents, population)
    n = len(respondents)
    total = float(margins[0][1].sum())
    w, iterations, converged, error = _rake(np.ones(n), margins, tolerance, max_iter)
    rounds, trimmed, trim_met = 0, 0, None
    if trim is not None:
        low_ratio, high_ratio = trim
        mean = total / n
        lower, upper = mean * low_ratio, mean * high_ratio
        slack = 1 + TRIM_TOLERANCE

        def outside(w):
            return (w > upper * slack) | (w < lower / slack)

        while rounds < TRIM_ROUNDS and outside(w).any():
            w = _trim_weights(w, lower, upper)
            trimmed = int(((w <= lower) | (w >= upper)).sum())
            w, more, converged, error = _rake(w, margins, tolerance, max_iter)
            iterations += more
            rounds += 1
        trim_met = not outside(w).any()
        if not trim_met:
            import warnings

            warnings.warn(f"{where}: the margins cannot be met with every weight within {_trim_text(trim)} the mean "
                          f"weight ({rounds} rounds of trimming and raking); the weights meet the margins and range "
                          f"from {w.min() / mean:.2f} to {w.max() / mean:.2f} times the mean", RuntimeWarning,
                          stacklevel=2)
    if not converged:
        import warnings

        warnings.warn(f"{where}: raking did not converge in {max_iter} passes (largest margin error "
                      f"{error:.2g}); the weights match the population only approximately", RuntimeWarning,
                      stacklevel=2)
    frame = survey.frame
    cells = pd.DataFrame(-1, index=frame.index, columns=list(population), dtype=np.int64)
    for column, (codes, _) in zip(population, margins):
        cells.loc[survey.kept, column] = codes
    full = pd.Series(np.nan, index=frame.index, name="weight")
    full[survey.kept] = w
    n_eff = effective_n(w)
    diagnostics = pd.DataFrame([{
        "method": method, "margins": ", ".join(population), "iterations": iterations, "converged": converged,
        "max_margin_error": error, "trim": None if trim is None else _trim_text(trim), "trim_rounds": rounds,
        "trimmed": trimmed, "trim_met": trim_met, "n": n,
        "population": total, "weight_min": float(w.min()), "weight_max": float(w.max()),
        "weight_ratio": float(w.max() / w.min()), "n_effective": n_eff, "deff_weighting": n / n_eff,
        "response_rate": n / total,
    }])
    rows = []
    for column, (codes, target) in zip(population, margins):
        counts = np.bincount(codes, minlength=len(target))
        weighted = np.bincount(codes, weights=w, minlength=len(target))
        for k, category in enumerate(population[column]):
            rows.append({"margin": column, "category": category, "population": target[k],
                         "respondents": int(counts[k]), "response_rate": counts[k] / target[k],
                         "population_share": target[k] / total, "sample_share": counts[k] / n,
                         "weighted_share": weighted[k] / w.sum(), "mean_weight": weighted[k] / counts[k]})
    info = Weighting(population=population, method=method, trim=trim, tolerance=tolerance, cells=cells,
                     diagnostics=diagnostics, response_rates=pd.DataFrame(rows))
    return survey.with_weights(full, info)


def reweighted(survey):
    """A survey whose screening changed, weighted again as before (or unchanged when it
    was not weighted)."""
    info = survey.weighting
    if info is None:
        return survey
    return weight(survey.with_weights(None), info.population, method=info.method, trim=info.trim, tolerance=info.tolerance)


# ---------------------------------------------------------------------------- variance
def _indicators(cells, n: int) -> list:
    """Per calibration margin: the codes, the categories × respondents indicator and the counts."""
    out = []
    for codes in cells:
        codes = np.asarray(codes, dtype=np.int64)
        onehot = np.zeros((int(codes.max()) + 1, n))
        onehot[codes, np.arange(n)] = 1.0
        out.append((codes, onehot, onehot.sum(axis=1)))
    return out


def _influence(y: np.ndarray, ok: np.ndarray, w: np.ndarray, indicators) -> tuple:
    """Weighted domain means of the columns of ``y`` (respondents counted where ``ok``) and
    their influence values, calibrated as ``survey:::svyrecvar`` does (ten sweeps)."""
    values = np.where(ok, y, 0.0)
    wd = np.where(ok, w[:, None], 0.0)
    total = wd.sum(axis=0)
    safe = np.where(total > 0, total, 1.0)
    mean = (values * wd).sum(axis=0) / safe
    resid = np.where(ok, values - mean, 0.0)
    z = resid * wd / safe
    for _ in range(CALIBRATION_SWEEPS if indicators else 0):
        for codes, onehot, counts in indicators:  # z − w · ave(z / w, margin)
            z -= w[:, None] * ((onehot @ (z / w[:, None])) / counts[:, None])[codes]
    return mean, z, wd, resid, total


def domain_covariance(y: np.ndarray, groups: np.ndarray, w: np.ndarray, cells: Sequence[np.ndarray] = ()
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The weighted means of ``y`` in each group (codes ``0 … k−1``; respondents without a
    value left out) and their design-based covariance matrix (linearised, calibration
    included; groups are correlated through the calibration), with the groups' counts.
    R: ``svyby(~y, ~g, design, svymean, na.rm = TRUE, covmat = TRUE)``; ``vcov`` of it.

    Examples
    --------
    >>> import numpy as np
    >>> from servqual.weighting import domain_covariance
    >>> y, g = np.array([1.0, 2.0, 3.0, 5.0]), np.array([0, 0, 1, 1])
    >>> mean, cov, n = domain_covariance(y, g, np.ones(4))
    >>> mean.tolist(), n.tolist(), round(float(cov[0, 0]), 6)   # n/(n − 1) Σz², z = ±0.5/2: 4/3 · 2 · 0.0625
    ([1.5, 4.0], [2, 2], 0.166667)
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    k = int(groups.max()) + 1
    ok = (groups[:, None] == np.arange(k)) & ~np.isnan(y)[:, None]
    mean, z, *_ = _influence(np.repeat(y[:, None], k, axis=1), ok, np.asarray(w, dtype=float),
                             _indicators(cells, n))
    zc = z - z.mean(axis=0)
    return mean, n / (n - 1) * (zc.T @ zc), ok.sum(axis=0)


def effective_n(w: np.ndarray) -> float:
    """Kish's effective sample size of weights ``w``: (Σw)² / Σw².

    Examples
    --------
    >>> from servqual.weighting import effective_n
    >>> effective_n([1, 1, 1, 1]), round(effective_n([1, 1, 1, 5]), 3)
    (4.0, 2.286)
    """
    w = np.asarray(w, dtype=float)
    return float(w.sum() ** 2 / (w * w).sum()) if len(w) else 0.0


def linearised_se(y: np.ndarray, member: np.ndarray, w: np.ndarray, cells: Sequence[np.ndarray] = (),
                  *, chunk_bytes: int = 64 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Weighted domain means and their Taylor-linearised standard errors, column by column.

    Parameters
    ----------
    y
        Respondents × columns of values (NaN where a respondent has none).
    member
        Respondents × columns (or respondents,) booleans: the domain of each column
        (e.g. one segment); a respondent counts where it is a member and has a value.
    w
        The respondents' weights.
    cells
        Per calibration margin, each respondent's category number (empty: the weights
        are taken as fixed, not calibrated).

    Returns
    -------
    mean, se
        Arrays of one value per column (NaN where a column has no respondent).

    Notes
    -----
    With ``d_i`` the domain indicator, ``ȳ = Σ d_i w_i y_i / Σ d_i w_i`` and the influence
    values ``z_i = d_i w_i (y_i − ȳ) / Σ d_i w_i``; each calibration margin ``m`` (ten
    sweeps over all of them) replaces ``z`` by ``z − w · ave(z / w, m)`` (the mean within
    the respondent's category); then ``se² = n/(n−1) Σ (z_i − z̄)²`` over all ``n``
    respondents.  R: ``svyby(~y, ~segment, rake(…), svymean, na.rm = TRUE)`` (its ``se``),
    ``survey:::svyrecvar``.

    Examples
    --------
    >>> import numpy as np
    >>> from servqual.weighting import linearised_se
    >>> y = np.array([[1.0], [2.0], [3.0], [4.0]])
    >>> mean, se = linearised_se(y, np.ones((4, 1), bool), np.ones(4))
    >>> float(mean[0]), round(float(se[0]), 6)   # unweighted: sd / sqrt(n)
    (2.5, 0.645497)
    """
    stats = domain_stats(y, member, w, cells, chunk_bytes=chunk_bytes)
    return stats["mean"], stats["se"]


def domain_stats(y: np.ndarray, member: np.ndarray, w: np.ndarray, cells: Sequence[np.ndarray] = (),
                 *, chunk_bytes: int = 64 << 20) -> dict[str, np.ndarray]:
    """Per column of ``y`` (see :func:`linearised_se`): ``n`` (respondents with a value
    in the domain), weighted ``mean``, its linearised ``se``, the weighted ``sd``
    (``sqrt(svyvar)`` over those respondents: Σw(y − ȳ)²/Σw · n/(n − 1)) and Kish's
    ``n_effective`` ((Σw)²/Σw²).  R: ``svymean``/``svyvar`` on the domain.

    Examples
    --------
    >>> import numpy as np
    >>> from servqual.weighting import domain_stats
    >>> out = domain_stats(np.array([1.0, 2.0, np.nan, 4.0]), np.ones(4, bool), np.array([1.0, 1.0, 1.0, 2.0]))
    >>> int(out["n"][0]), round(float(out["mean"][0]), 4), round(float(out["n_effective"][0]), 4)
    (3, 2.75, 2.6667)
    """
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    n, k = y.shape
    member = np.asarray(member, dtype=bool)
    if member.ndim == 1:
        member = np.broadcast_to(member[:, None], (n, k))
    w = np.asarray(w, dtype=float)
    out = {key: np.full(k, np.nan) for key in ("mean", "se", "sd", "n_effective")}
    out["n"] = np.zeros(k, dtype=np.int64)
    indicators = _indicators(cells, n)
    step = max(1, int(chunk_bytes // max(8 * n, 1)))
    for start in range(0, k, step):
        cols = slice(start, start + step)
        ok = member[:, cols] & ~np.isnan(y[:, cols])
        count = ok.sum(axis=0)
        mean, z, wd, resid, total = _influence(y[:, cols], ok, w, indicators)
        some = total > 0
        safe = np.where(some, total, 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = n / (n - 1) * ((z - z.mean(axis=0)) ** 2).sum(axis=0) if n > 1 else np.full(z.shape[1], np.nan)
            spread = (wd * resid**2).sum(axis=0) / safe * count / (count - 1)
            n_eff = total**2 / (wd * wd).sum(axis=0)
        out["n"][cols] = count
        out["mean"][cols] = np.where(some, mean, np.nan)
        out["se"][cols] = np.where(some, np.sqrt(var), np.nan)
        out["sd"][cols] = np.where(count > 1, np.sqrt(np.maximum(spread, 0.0)), np.nan)
        out["n_effective"][cols] = np.where(some, n_eff, np.nan)
    return out
