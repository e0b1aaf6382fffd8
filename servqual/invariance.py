"""Measurement invariance: does the instrument measure the same thing in every group?

Segment (or year) comparisons of dimension scores are fair only when the items relate to
their dimensions the same way in every group.  :func:`invariance` fits the multi-group
CFA of the instrument's dimensions at four levels of equality — configural (same
pattern), metric (equal loadings), scalar (and equal intercepts), strict (and equal
residual variances) — and compares each level with the one before, as
``lavaan::cfa(group=, group.equal=)`` with ``lavTestLRT`` and semTools'
``measurementInvariance`` do.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .display import number, p_statement

__all__ = ["InvarianceResult", "invariance", "LEVELS", "DELTA_CFI", "DELTA_RMSEA"]

#: The levels and the parameters each one holds equal across groups (lavaan's group.equal).
LEVELS = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}
#: Chen (2007) cut-offs: a level holds when CFI drops by at most .01 and RMSEA rises by at most .015.
DELTA_CFI = 0.01
DELTA_RMSEA = 0.015

_MEANING = {
    None: "even the same factor pattern does not fit every group, so dimension scores are not comparable across "
          "them",
    "configural": "the same items form the same dimensions in every group, but their weights differ, so "
                  "dimension scores are not comparable across groups",
    "metric": "items carry the same weight in every group, so relations (correlations, drivers) can be compared, "
              "but mean differences between groups may partly reflect how groups use the items",
    "scalar": "items have the same weights and the same starting points in every group, so differences in "
              "dimension means between groups reflect real differences in the service they perceive",
    "strict": "items are equally precise in every group as well, so even observed score differences compare like "
              "with like",
}


@dataclass(frozen=True)
class InvarianceResult:
    """Multi-group CFA fits at successive levels of equality, and their comparisons."""

    fits: pd.DataFrame  # one row per level
    tests: pd.DataFrame  # one row per comparison with the level before
    groups: pd.DataFrame  # group, n, and each level's χ² contribution
    group: str
    measure: str | None
    model: str
    excluded: tuple[str, ...] = ()

    @property
    def supported(self) -> str | None:
        """The highest level that holds (each step judged by ΔCFI and ΔRMSEA), or None."""
        if self.fits.empty:
            return None
        level = self.fits.index[0]
        for name, row in self.tests.iterrows():
            if row["decision"] != "holds":
                break
            level = name
        return level

    @property
    def meaning(self) -> str:
        """One sentence on what the supported level means for comparing groups."""
        return _MEANING[self.supported]

    def sentence(self) -> str:
        level = self.supported
        what = f"{self.measure} " if self.measure else ""
        return (f"Across {self.group} groups ({', '.join(self.groups['group'].astype(str))}), the {what}ratings show "
                f"{level or 'no'} invariance: {self.meaning}.")

    def __str__(self) -> str:
        fits = self.fits[["npar", "chisq", "df", "cfi", "tli", "rmsea", "srmr", "bic"]]
        return (self.sentence() + "\n" + fits.to_string(float_format=lambda v: f"{v:.3f}") + "\n"
                + "\n".join(describe_tests(self)))

    def _repr_html_(self) -> str:
        return (f"<p>{self.sentence()}</p>" + self.fits.to_html(float_format=lambda v: f"{v:.3f}")
                + self.tests.to_html(float_format=lambda v: f"{v:.3f}"))

    def to_frame(self) -> pd.DataFrame:
        """Fits and tests side by side, one row per level (the test's p as ``delta_p``)."""
        return self.fits.join(self.tests.rename(columns={"p": "delta_p"}), how="left")


def _frames(data, model, group: str, measure: str | None):
    """(frame with the group column, model, measure, the instrument's dimensions) from the inputs."""
    from .dimensionality import instrument_models
    from .survey import Survey

    if isinstance(data, Survey) or (isinstance(data, Sequence) and not isinstance(data, (str, pd.DataFrame))
                                    and data and all(isinstance(s, Survey) for s in data)):
        surveys = [data] if isinstance(data, Survey) else list(data)
        inst = surveys[0].instrument
        measure = measure or inst.performance
        if measure not in inst.measures:
            raise ValueError(f"measure must be one of {', '.join(inst.measures)}, got {measure!r}")
        parts = []
        for k, survey in enumerate(surveys):
            frame = survey.ratings(measure).copy()
            if group == "year":
                frame["year"] = str(survey.year if survey.year is not None else k + 1)
            elif group in survey.respondents.columns:
                frame[group] = survey.respondents.loc[frame.index, group].astype("string").to_numpy()
            else:
                raise ValueError(f"group {group!r} is not a column of the survey (segments: "
                                 f"{', '.join(survey.segments) or 'none'}; or 'year' with several surveys)")
            parts.append(frame)
        frame = pd.concat(parts, ignore_index=True)
        model = model or instrument_models(inst)["dimensions"]
        return frame, model, measure
    if isinstance(data, pd.DataFrame):
        if model is None:
            raise ValueError("with a DataFrame, give the model in lavaan syntax (model='f =~ a + b + c')")
        if group not in data.columns:
            raise ValueError(f"group {group!r} is not a column of the data ({', '.join(map(str, data.columns))})")
        return data, model, None
    raise TypeError(f"invariance takes a Survey, a list of Surveys or a DataFrame, got {type(data).__name__}")


def _partial_terms(partial, model_spec) -> list[str]:
    if partial is None:
        return []
    if isinstance(partial, str):
        return [partial]
    if isinstance(partial, Mapping):
        terms = []
        for kind, names in partial.items():
            names = [names] if isinstance(names, str) else list(names)
            for name in names:
                if kind == "intercepts":
                    terms.append(f"{name} ~ 1")
                elif kind == "residuals":
                    terms.append(f"{name} ~~ {name}")
                elif kind == "loadings":
                    owners = [f for f, items in model_spec.factors.items() if name in items]
                    if not owners:
                        raise ValueError(f"partial loadings: {name!r} is not an item of the model")
                    terms += [f"{f} =~ {name}" for f in owners]
                else:
                    raise ValueError(f"partial keys are 'loadings', 'intercepts', 'residuals'; got {kind!r}")
        return terms
    return list(partial)


def invariance(
    data,
    model: str | None = None,
    *,
    group: str = "segment",
    measure: str | None = None,
    levels: Sequence[str] = ("configural", "metric", "scalar", "strict"),
    partial: Mapping[str, Sequence[str]] | Sequence[str] | None = None,
    missing: str = "listwise",
) -> InvarianceResult:
    """Measurement invariance across groups by multi-group CFA (lavaan's ML).

    Parameters
    ----------
    data
        A Survey (the model defaults to the instrument's dimensions, the ratings to its
        performance measure), a list of Surveys (``group="year"`` compares cycles), or a
        DataFrame of items plus the group column with a lavaan-syntax ``model``.
    model
        lavaan syntax (``dim =~ item + item …``); default the instrument's dimensions.
    group
        The grouping column (a segment), or ``"year"`` for a list of surveys.
    measure
        Which ratings (default the instrument's performance measure).
    levels
        Which of configural, metric, scalar, strict to fit, in that order.
    partial
        Parameters left free at every level (partial invariance), e.g.
        ``{"intercepts": ["RL2", "E3"]}``, or lavaan's ``group.partial`` strings
        (``["RL2 ~ 1"]``).
    missing
        ``"listwise"``: respondents who answered every item of the model (lavaan's
        default); ``"fiml"``: everyone who answered at least one, by full-information ML
        (lavaan's ``missing = "ml"``), for files where respondents saw a random subset of
        the items (LibQUAL-Lite) or skipped some.

    Returns
    -------
    InvarianceResult
        ``.fits``: per level ``npar, chisq, df, p, cfi, tli, rmsea, rmsea_ci_low,
        rmsea_ci_high, srmr, aic, bic, n``.  ``.tests``: per level after the first,
        ``delta_chisq, delta_df, p`` (the likelihood-ratio test of ``lavTestLRT``),
        ``delta_cfi, delta_rmsea, delta_bic``, the ``criterion`` and the ``decision``
        ("holds" when CFI drops by at most .01 and RMSEA rises by at most .015, Chen 2007;
        where full-information ML has no saturated model to give CFI and RMSEA — small
        groups of a sampled design — when the BIC does not rise).  ``.groups``: per group n and
        χ² contribution at each level.  ``.supported`` is the highest level that holds
        and ``.meaning`` says in one sentence what it allows.

    Notes
    -----
    Multi-group ML with a mean structure (:mod:`servqual.sem`): configural frees every
    parameter per group (latent means 0); metric holds loadings equal; scalar also
    intercepts, with latent means free in groups 2…; strict also residual variances.
    First loadings are fixed at 1 in every group.  χ² = Σ_g n_g F_g; RMSEA and its interval
    are multiplied by √G and SRMR (with mean residuals) is weighted by n_g/N, as lavaan
    does.  With ``missing="fiml"`` each group's likelihood is summed over its patterns of
    answered items and χ² = 2(log L_saturated − log L_model), with the saturated moments
    from EM (:func:`servqual.sem.em_moments`), as lavaan computes them.  Groups with too few
    complete respondents to estimate their covariances
    (fewer than the number of items plus one) are left out and named in ``.excluded``.
    R: ``lavaan::cfa(model, data, group = "segment", group.equal = c("loadings",
    "intercepts"), group.partial = …)`` and ``lavTestLRT``; checked against both on the
    Holzinger–Swineford school example and the sample cycles (tests/r/invariance.R).

    A survey weighted to its population (:func:`servqual.weight`) is fitted unweighted,
    as ``lavaan`` fits it without ``sampling.weights``: invariance is about how the
    respondents read the questions, and the fit statistics assume simple random sampling.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> result = sq.invariance(survey, group="segment")
    >>> list(result.fits.index)
    ['configural', 'metric', 'scalar', 'strict']
    >>> int(result.fits.loc['metric', 'df'] - result.fits.loc['configural', 'df'])
    51
    """
    from .sem import fit_ml, parse_model, saturated_moments, singular_reason

    if missing not in ("listwise", "fiml"):
        raise ValueError(f"missing must be 'listwise' or 'fiml', got {missing!r}")
    unknown = [lv for lv in levels if lv not in LEVELS]
    if unknown:
        raise ValueError(f"unknown level {unknown[0]!r}; levels are {', '.join(LEVELS)}")
    levels = [lv for lv in LEVELS if lv in levels]
    frame, model, measure = _frames(data, model, group, measure)
    spec = parse_model(model)
    missing_items = [i for i in spec.indicators if i not in frame.columns]
    if missing_items:
        raise ValueError(f"the model names item(s) the data lack: {', '.join(map(repr, missing_items))}")
    if missing == "fiml":  # everyone who answered at least one item
        complete = frame.dropna(subset=[group])
        complete = complete[complete[spec.indicators].notna().any(axis=1)]
        who = "answering"
    else:
        complete = frame.dropna(subset=[*spec.indicators, group])
        who = "complete"
    labels = list(dict.fromkeys(complete[group].astype(str)))  # first appearance, as lavaan orders groups
    sizes = complete[group].astype(str).value_counts()
    floor = len(spec.indicators) + 1
    reasons = {}
    for g in labels:
        part = complete.loc[complete[group].astype(str) == g, spec.indicators].to_numpy(dtype=float)
        if sizes[g] < floor:
            reasons[g] = f"fewer than {floor} {who} respondents"
            continue
        try:
            if missing == "fiml":
                moments = saturated_moments(part, spec.indicators)
                cov = moments.cov if moments.h1 else np.diag(np.diag(moments.cov))
            else:
                cov = np.cov(part, rowvar=False, ddof=0)
        except ValueError as exc:
            reasons[g] = str(exc).split(";")[0]
            continue
        if (why := singular_reason(cov, spec.indicators)) is not None:
            reasons[g] = why
    excluded = tuple(reasons)
    if excluded:
        warnings.warn("invariance: left out " + "; ".join(f"{g} ({why})" for g, why in reasons.items()),
                      stacklevel=2)
    labels = [g for g in labels if g not in excluded]
    if len(labels) < 2:
        raise ValueError(f"invariance needs at least two groups of {group!r} with {floor} or more {who} "
                         f"respondents whose answers vary; found {len(labels)}")
    frames = [complete[complete[group].astype(str) == g] for g in labels]
    terms = _partial_terms(partial, spec)
    rows, contributions, logls = {}, {}, {}
    for level in levels:
        fitted = fit_ml(frames, spec, groups=labels, equal=LEVELS[level], partial=terms, means=True, missing=missing)
        fm = fitted.fit_measures()
        rows[level] = {k: fm[k] for k in ("npar", "chisq", "df", "p", "cfi", "tli", "rmsea", "rmsea_ci_low",
                                          "rmsea_ci_high", "srmr", "aic", "bic", "n")}
        logls[level] = fm["logl"]
        contributions[level] = fitted.chisq_groups
    fits = pd.DataFrame(rows).T
    fits.index.name = "level"
    tests = []
    for before, after in zip(levels[:-1], levels[1:]):
        # the likelihood-ratio statistic 2(logL_before − logL_after): the χ² difference, and
        # defined even where the saturated model is not
        d_chisq = 2 * (logls[before] - logls[after])
        d_df = fits.loc[after, "df"] - fits.loc[before, "df"]
        d_cfi = fits.loc[after, "cfi"] - fits.loc[before, "cfi"]
        d_rmsea = fits.loc[after, "rmsea"] - fits.loc[before, "rmsea"]
        if np.isfinite(d_cfi) and np.isfinite(d_rmsea):
            holds, criterion = d_cfi >= -DELTA_CFI and d_rmsea <= DELTA_RMSEA, "ΔCFI, ΔRMSEA"
        else:  # no saturated model (small groups of a sampled design): the BIC decides
            holds, criterion = fits.loc[after, "bic"] <= fits.loc[before, "bic"], "BIC"
        tests.append({"level": after, "compared_with": before, "delta_chisq": d_chisq, "delta_df": d_df,
                      "p": float(stats.chi2.sf(max(d_chisq, 0.0), d_df)) if d_df > 0 else np.nan,
                      "delta_cfi": d_cfi, "delta_rmsea": d_rmsea, "delta_bic": fits.loc[after, "bic"]
                      - fits.loc[before, "bic"], "criterion": criterion,
                      "decision": "holds" if holds else "does not hold"})
    tests = pd.DataFrame(tests).set_index("level") if tests else pd.DataFrame(
        columns=["compared_with", "delta_chisq", "delta_df", "p", "delta_cfi", "delta_rmsea", "delta_bic", "criterion",
                 "decision"])
    groups = pd.DataFrame({"group": labels, "n": [len(f) for f in frames]})
    for level, values in contributions.items():
        groups[f"chisq_{level}"] = values
    return InvarianceResult(fits=fits, tests=tests, groups=groups, group=group, measure=measure, model=model,
                            excluded=excluded)


def describe_tests(result: InvarianceResult) -> list[str]:
    """One line per comparison, for reports: "metric vs configural: Δχ²(51) = …, p …; ΔCFI …"."""
    lines = []
    for level, row in result.tests.iterrows():
        lines.append(f"{level} vs {row['compared_with']}: Δχ²({row['delta_df']:.0f}) = {number(row['delta_chisq'])}, "
                     f"{p_statement(row['p'])}; ΔCFI = {number(row['delta_cfi'], 3, signed=True)}, "
                     f"ΔRMSEA = {number(row['delta_rmsea'], 3, signed=True)}"
                     + (f", ΔBIC = {number(row['delta_bic'], 1, signed=True)}, decided by the BIC"
                        if row.get("criterion") == "BIC" else "") + f" ({row['decision']})")
    return lines
