"""Staff climate linked to client gaps by unit (Scotti et al. 2007, for library branches).

1. Score the staff survey (``hpws-staff``): each respondent's scale score per high
   performance work system characteristic; reliability with :func:`servqual.reliability`.
2. Justify aggregating staff answers to units (branch, campus, service point):
   r_wg(j) per unit and characteristic, ICC(1) and ICC(2) per characteristic, with a
   warning where agreement is too low.
3. Link units: each unit's staff climate against its clients' gap and perception scores
   — a correlation across units with its confidence interval, and a mixed model of the
   client respondents' scores on their unit's climate with a random unit intercept —
   honest about how few units there usually are.
"""

from __future__ import annotations

import html
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .scoring import scores
from .survey import MIN_GROUP_N

__all__ = ["AggregationResult", "LinkageResult", "aggregation", "icc_anova", "link", "rwg_j", "staff_scores"]

RWG_MIN = 0.70  # conventional cut-offs for aggregating (LeBreton & Senter 2008)
ICC2_MIN = 0.70
FEW_UNITS = 10


def staff_scores(staff_survey, unit: str = "branch") -> pd.DataFrame:
    """Each staff respondent's scale score per characteristic, plus ``climate`` (their mean)
    and the unit column.  Scale scores follow the scoring rules (mean of the items
    answered, at least half of them).

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.linkage import staff_scores
    >>> staff = sq.read_cycle('params/staff-hpws-2007.yaml')
    >>> staff_scores(staff, 'branch').shape[1] > 8
    True
    """
    measure = staff_survey.instrument.performance
    table = scores(staff_survey, "dimension")[measure]
    table["climate"] = table.mean(axis=1, skipna=False)
    table.insert(0, unit, staff_survey.respondents[unit].to_numpy())
    return table


def rwg_j(items: np.ndarray, n_options: int) -> float:
    """Within-unit agreement r_wg(J) of James, Demaree & Wolf (1984).

    r_wg(J) = J(1 − s̄²/σ²_E) / (J(1 − s̄²/σ²_E) + s̄²/σ²_E), with s̄² the mean of the J
    item variances within the unit and σ²_E = (A² − 1)/12 the variance of a uniform
    null over A response options; negative values (more disagreement than random
    answering) are set to 0.
    """
    x = np.asarray(items, dtype=float)
    variances = np.nanvar(x, axis=0, ddof=1)
    variances = variances[~np.isnan(variances)]
    if variances.size == 0:
        return float("nan")
    j = variances.size
    ratio = variances.mean() / ((n_options**2 - 1) / 12)
    if ratio >= 1:
        return 0.0
    return float(j * (1 - ratio) / (j * (1 - ratio) + ratio))


def icc_anova(values: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """ICC(1) and ICC(2) from a one-way ANOVA of scores on units (Bliese 2000).

    ICC(1) = (MSB − MSW) / (MSB + (k − 1)·MSW), ICC(2) = (MSB − MSW) / MSB, with
    k = (N − Σn_j²/N)/(J − 1) the group size adjusted for unequal units.
    """
    frame = pd.DataFrame({"y": values, "g": groups}).dropna()
    grouped = frame.groupby("g")["y"]
    n_j = grouped.size().to_numpy(dtype=float)
    means = grouped.mean().to_numpy()
    big_n, units = n_j.sum(), len(n_j)
    grand = frame["y"].mean()
    ssb = (n_j * (means - grand) ** 2).sum()
    ssw = ((frame["y"] - frame["g"].map(grouped.mean())) ** 2).sum()
    msb, msw = ssb / (units - 1), ssw / (big_n - units)
    k = (big_n - (n_j**2).sum() / big_n) / (units - 1)
    f = msb / msw
    return {"icc1": (msb - msw) / (msb + (k - 1) * msw), "icc2": (msb - msw) / msb, "f": f,
            "df1": units - 1, "df2": big_n - units, "p": float(stats.f.sf(f, units - 1, big_n - units)),
            "k": k, "units": units, "n": int(big_n)}


@dataclass(frozen=True)
class AggregationResult:
    """Can staff answers be aggregated to units?

    ``agreement``: per unit × characteristic, ``n`` and ``rwg_j``; ``icc``: per
    characteristic ICC(1), ICC(2) and the ANOVA F; ``warnings``: plain-words problems.
    """

    agreement: pd.DataFrame
    icc: pd.DataFrame
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        median = self.agreement.groupby("characteristic", sort=False)["rwg_j"].median()
        lines = ["Aggregation to units: median r_wg(j), ICC(1), ICC(2) per characteristic",
                 self.icc.assign(median_rwg_j=median.reindex(self.icc["characteristic"]).to_numpy())
                 .to_string(index=False, float_format=lambda v: f"{v:.2f}")]
        lines += [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return ("<p>Aggregating staff climate to units: ICC(1) and ICC(2) per characteristic</p>"
                + self.icc.to_html(index=False, float_format=lambda v: f"{v:.3f}")
                + (f"<ul>{notes}</ul>" if notes else ""))

    def to_frame(self) -> pd.DataFrame:
        """The result as one table: ICC(1) and ICC(2) per characteristic."""
        return self.icc.copy()


def aggregation(staff_survey, unit: str = "branch", *, rwg_min: float = RWG_MIN, icc2_min: float = ICC2_MIN) -> AggregationResult:
    """r_wg(j) per unit and characteristic, ICC(1)/ICC(2) per characteristic, and warnings.

    Notes
    -----
    Reproduces the formulas in tests/r/linkage.R (ANOVA ICCs as ``psych::ICC`` would
    give for balanced units; r_wg(j) as defined by James, Demaree & Wolf 1984).

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.linkage import aggregation
    >>> staff = sq.read_cycle('params/staff-hpws-2007.yaml')
    >>> result = aggregation(staff, 'branch')
    >>> list(result.icc.columns[:3])
    ['characteristic', 'icc1', 'icc2']
    """
    inst = staff_survey.instrument
    if inst.scale is None:
        raise ValueError("r_wg(j) needs a rating scale (its number of response options)")
    if unit not in staff_survey.respondents.columns:
        raise KeyError(f"unit column {unit!r} is not in the staff survey (columns: "
                       f"{', '.join(map(str, staff_survey.respondents.columns))})")
    measure = inst.performance
    ratings = staff_survey.ratings(measure)
    units = staff_survey.respondents[unit].astype(str).to_numpy()
    options = inst.scale.max - inst.scale.min + 1
    person = staff_scores(staff_survey, unit)
    rows, icc_rows, notes = [], [], []
    for dim, items in inst.dimensions.items():
        for name in sorted(set(units)):
            block = ratings.loc[units == name, list(items)].to_numpy()
            rows.append({unit: name, "characteristic": dim, "n": int((~np.isnan(block)).any(axis=1).sum()),
                         "rwg_j": rwg_j(block, options)})
        icc = icc_anova(person[dim].to_numpy(), units)
        icc_rows.append({"characteristic": dim, **{k: icc[k] for k in ("icc1", "icc2", "f", "df1", "df2", "p")}})
    agreement = pd.DataFrame(rows)
    icc_table = pd.DataFrame(icc_rows)
    low = agreement[agreement["rwg_j"] < rwg_min]
    for row in low.itertuples():
        notes.append(f"{getattr(row, unit)}: staff agree too little on {row.characteristic} "
                     f"(r_wg(j) = {row.rwg_j:.2f} < {rwg_min}) to speak of one unit climate")
    for row in icc_table[icc_table["icc2"] < icc2_min].itertuples():
        notes.append(f"{row.characteristic}: unit means are not reliable (ICC(2) = {row.icc2:.2f} < {icc2_min}); "
                     "treat unit-level scores with care")
    n_units = len(set(units))
    if n_units < FEW_UNITS:
        notes.append(f"only {n_units} units: unit-level results describe these units, they hardly generalise")
    return AggregationResult(agreement, icc_table, tuple(notes))


@dataclass(frozen=True)
class LinkageResult:
    """Units placed by staff climate and client scores, with the correlation and mixed model."""

    units: pd.DataFrame
    correlations: pd.DataFrame
    mixed_model: pd.DataFrame
    n_units: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        return "\n".join([
            f"Staff climate and client scores across {self.n_units} units",
            self.units.to_string(index=False, float_format=lambda v: f"{v:.2f}"),
            "",
            self.correlations.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
            "",
            self.mixed_model.to_string(index=False, float_format=lambda v: f"{v:.4f}"),
            *[f"Note: {n}" for n in self.notes],
        ])

    def _repr_html_(self) -> str:
        fmt = {"index": False, "float_format": lambda v: f"{v:.3f}"}
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<p>Staff climate and client scores across {self.n_units} units</p>" + self.units.to_html(**fmt)
                + "<p>Correlations across units</p>" + self.correlations.to_html(**fmt)
                + "<p>Mixed model (REML)</p>" + self.mixed_model.to_html(**fmt)
                + (f"<ul>{notes}</ul>" if notes else ""))

    def to_frame(self) -> pd.DataFrame:
        """The result as one table: the per-unit table."""
        return self.units.copy()


def link(staff_survey, client_survey, unit: str = "branch", *, gap: str | None = None,
         min_group_n: int = MIN_GROUP_N, ci: float = 0.95) -> LinkageResult:
    """Link each unit's staff climate to its clients' gap and perception scores.

    Parameters
    ----------
    staff_survey, client_survey
        The staff climate survey and a client survey, both with the ``unit`` column.
    gap
        Client gap (default the instrument's first); its performance measure is the
        perception score.
    min_group_n
        Units with fewer staff or client respondents are left out (and named).

    Returns
    -------
    LinkageResult
        ``units``: unit, staff_n, climate, client_n, client_gap, client_perception;
        ``correlations``: Pearson r across units with its Fisher-z CI and p, for the
        gap and for perception; ``mixed_model``: fixed effects (estimate, se, z, p, CI)
        and variance components of client overall gap ~ unit climate + (1 | unit), REML
        (statsmodels MixedLM; ``lme4::lmer`` in tests/r/linkage.R).

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.linkage import link
    >>> staff = sq.read_cycle('params/staff-hpws-2007.yaml')
    >>> clients = sq.read_cycle('params/2007.yaml')
    >>> result = link(staff, clients, 'branch')
    >>> result.n_units
    4
    """
    import statsmodels.formula.api as smf

    cinst = client_survey.instrument
    if not cinst.gaps:
        raise ValueError(f"client instrument {cinst.id!r} has no gaps to link")
    g = cinst.gap(gap) if gap else cinst.gaps[0]
    for survey, who in ((staff_survey, "staff"), (client_survey, "client")):
        if unit not in survey.respondents.columns:
            raise KeyError(f"unit column {unit!r} is not in the {who} survey")
    staff = staff_scores(staff_survey, unit)
    staff[unit] = staff[unit].astype(str)
    climate = staff.groupby(unit)["climate"].agg(["size", "mean"]).rename(columns={"size": "staff_n", "mean": "climate"})
    client = scores(client_survey, "overall")
    frame = pd.DataFrame({
        unit: client_survey.respondents[unit].astype(str).to_numpy(),
        "gap": client[(g.name, "overall")].to_numpy(),
        "perception": client[(g.minuend, "overall")].to_numpy(),
    })
    client_units = frame.groupby(unit).agg(client_n=("gap", "count"), client_gap=("gap", "mean"),
                                           client_perception=("perception", "mean"))
    units = climate.join(client_units, how="inner")
    notes = []
    dropped = units[(units["staff_n"] < min_group_n) | (units["client_n"] < min_group_n)].index.tolist()
    if dropped:
        notes.append(f"left out for fewer than {min_group_n} staff or client respondents: {', '.join(dropped)}")
    units = units.drop(index=dropped)
    only = sorted(set(climate.index) ^ set(client_units.index))
    if only:
        notes.append(f"units in only one survey: {', '.join(only)}")
    n_units = len(units)
    if n_units < 3:
        raise ValueError(f"linking needs at least three units with both surveys; got {n_units}")
    if n_units < FEW_UNITS:
        notes.append(f"only {n_units} units: the correlation rests on {n_units} points and its interval is wide; "
                     "read it as a description of these branches, not a general law")
    rows = []
    for outcome in ("client_gap", "client_perception"):
        r, p = stats.pearsonr(units["climate"], units[outcome])
        z, se = math.atanh(r), 1 / math.sqrt(n_units - 3) if n_units > 3 else float("inf")
        q = stats.norm.ppf((1 + ci) / 2)
        rows.append({"outcome": outcome, "n_units": n_units, "r": r,
                     "ci_low": math.tanh(z - q * se), "ci_high": math.tanh(z + q * se), "p": p})
    correlations = pd.DataFrame(rows)
    data = frame.dropna(subset=["gap"]).merge(units[["climate"]], left_on=unit, right_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = smf.mixedlm("gap ~ climate", data, groups=data[unit]).fit(reml=True)
    conf = fit.conf_int(alpha=1 - ci)
    fixed = pd.DataFrame({
        "term": ["intercept", "climate"],
        "estimate": fit.fe_params.to_numpy(),
        "se": fit.bse_fe.to_numpy(),
        "z": fit.tvalues[fit.fe_params.index].to_numpy(),
        "p": fit.pvalues[fit.fe_params.index].to_numpy(),
        "ci_low": conf.loc[fit.fe_params.index, 0].to_numpy(),
        "ci_high": conf.loc[fit.fe_params.index, 1].to_numpy(),
    })
    variances = pd.DataFrame({
        "term": ["unit intercept variance", "residual variance"],
        "estimate": [float(fit.cov_re.iloc[0, 0]), float(fit.scale)],
    })
    mixed = pd.concat([fixed, variances], ignore_index=True)
    mixed["n_respondents"] = len(data)
    mixed["n_units"] = n_units
    if not fit.converged:
        notes.append("the mixed model did not converge; read its estimates with care")
    return LinkageResult(units.reset_index(), correlations, mixed, n_units, tuple(notes))
