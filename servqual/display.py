"""Tables and numbers as a reader sees them in a report (the CSV files keep identifiers
and full precision; this is for display only).

* words, not identifiers, in headers and first columns (item text, dimension labels);
* whole numbers as whole numbers, shares as percentages, p as "< .001" or ".03";
* intervals as "−0.93 to −0.83" with a real minus sign;
* text left and numbers right aligned; no Python value (``None``, ``nan``, ``True``) ever.
"""

from __future__ import annotations

import html
import math
import re

import numpy as np
import pandas as pd

__all__ = ["format_table", "interval", "number", "p_statement", "p_value", "percent"]

MINUS = "\u2212"
DASH = "—"

_HEADERS = {
    "theme_label": "Theme", "commenters": "Comments",
    "n": "n", "n_items": "Items", "share": "Share", "shown": "Shown to", "share_shown": "Share shown",
    "sampled": "Form", "mean_gap": "Mean gap", "sd": "SD", "ci": "95% CI",
    "raw_alpha": "Alpha", "std_alpha": "Standardised alpha", "omega_total": "Omega (total)",
    "average_r": "Mean inter-item r", "flags": "Items to check", "statistic": "Statistic", "df": "df",
    "df1": "df (groups)", "df2": "df (error)", "p": "p", "p_adj": "p (Holm)", "omega_sq": "ω²",
    "kruskal_statistic": "Kruskal–Wallis H", "kruskal_df": "Kruskal–Wallis df", "kruskal_p": "Kruskal–Wallis p",
    "kruskal_p_adj": "Kruskal–Wallis p (Holm)", "epsilon_sq": "ε²", "excluded": "Groups left out",
    "groups": "Groups", "quantity": "Score", "hedges_g": "Hedges' g", "d_z": "Cohen's d_z",
    "wilcoxon_statistic": "Wilcoxon V", "wilcoxon_p": "Wilcoxon p", "wilcoxon_p_adj": "Wilcoxon p (Holm)",
    "chisq": "χ²", "cfi": "CFI", "tli": "TLI", "rmsea": "RMSEA", "srmr": "SRMR", "aic": "AIC", "bic": "BIC",
    "npar": "Parameters", "model": "Model", "term": "Term", "coef": "Coefficient", "se_hc3": "SE (HC3)",
    "beta": "β (standardised)", "lmg": "LMG (share of R²)", "lmg_share": "Share of explained variance",
    "rule": "Screening rule", "action": "Action", "detail": "Detail", "respondents": "Respondents",
    "alpha_item_gaps": "Alpha of the item gaps", "r_perception_expectation": "r (perception, expectation)", "r_difference": "Reliability of the gap (Lord/Johns)",
    "rank": "Rank", "label": "Item", "shortfall": "Shortfall", "importance": "Importance",
    "importance_rank": "Importance rank", "quadrant": "Importance–performance quadrant", "note": "Note",
    "performance": "Performance", "standard": "Standard", "change": "Change", "year_from": "From",
    "year_to": "To", "n_from": "n (from)", "n_to": "n (to)", "mean_from": "Mean (from)", "mean_to": "Mean (to)",
    "score": "Score", "sentence": "Why", "level": "Level", "compared_with": "Against", "delta_chisq": "Δχ²",
    "delta_df": "Δdf", "delta_p": "p (Δχ²)", "delta_cfi": "ΔCFI", "delta_rmsea": "ΔRMSEA", "delta_bic": "ΔBIC", "decision": "Decision",
    "n_effective": "Effective n", "conclusion_weighted": "Conclusion (weighted)", "changed": "Conclusion changed",
    "difference": "Weighted − unweighted",
}
_RULES = {"read": "Respondents read", "kept": "Respondents kept", "excluded (any rule)": "Excluded by any rule",
          "no_ratings": "No ratings at all", "incomplete": "A rating left blank",
          "not_applicable": "Too many N/A answers", "inversions": "Minimum rated above desired",
          "straight_lining": "The same answer to every item"}
_COUNTS = re.compile(r"^(n|n_.*|.*_n|respondents|groups|npar|n_items|rank|importance_rank|year|year_from|year_to|"
                     r"excluded|kruskal_df|items|shown|peers|percentile_rank|institutions|mentions|commenters|comments|size|"
                     r"population)$")
_P = re.compile(r"^(p|p_adj|.*_p|.*_p_adj|p_value)$")
_SHARES = re.compile(r"^(share|lmg_share|.*_share|share_.*|response_rate)$")


def _missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def number(value, digits: int = 2, *, signed: bool = False) -> str:
    """A number with a real minus sign; a dash when missing.

    Examples
    --------
    >>> from servqual.display import number
    >>> number(-0.934), number(1180.0, 0), number(float("nan")), number(0.25, signed=True)
    ('−0.93', '1,180', '—', '+0.25')
    """
    if _missing(value):
        return DASH
    value = float(value)
    text = f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"
    if float(text.replace(",", "")) == 0:  # no "−0.00"
        text = text.replace("-", "").replace("+", "")
        text = ("+" if signed and value > 0 else "") + text
    return text.replace("-", MINUS)


def p_value(p) -> str:
    """p in APA style: "< .001", ".03", ".20" (no leading zero, never "0").

    Examples
    --------
    >>> from servqual.display import p_value
    >>> p_value(0.0), p_value(0.0312), p_value(0.2), p_value(1.0)
    ('< .001', '.03', '.20', '1.00')
    """
    if _missing(p):
        return DASH
    p = float(p)
    if p < 0.001:
        return "< .001"
    if p < 0.01:
        return f"{p:.3f}".lstrip("0")
    return "1.00" if p >= 0.995 else f"{p:.2f}".lstrip("0")


def p_statement(p) -> str:
    """"p = .03" or "p < .001", as a sentence quotes a test (never "p = 0").

    Examples
    --------
    >>> from servqual.display import p_statement
    >>> p_statement(0.0), p_statement(0.031)
    ('p < .001', 'p = .03')
    """
    text = p_value(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def interval(low, high, digits: int = 2) -> str:
    """A confidence interval as "−0.93 to −0.83".

    Examples
    --------
    >>> from servqual.display import interval
    >>> interval(-0.934, -0.826)
    '−0.93 to −0.83'
    """
    if _missing(low) or _missing(high):
        return DASH
    return f"{number(low, digits)} to {number(high, digits)}"


def percent(share) -> str:
    """A share (0–1) as a whole percentage ("16%"); below 1% as "< 1%".

    Examples
    --------
    >>> from servqual.display import percent
    >>> percent(0.16), percent(0.004), percent(1.0)
    ('16%', '< 1%', '100%')
    """
    if _missing(share):
        return DASH
    share = float(share)
    return "< 1%" if 0 < share < 0.005 else f"{share:.0%}"


def _header(column: str, instrument) -> str:
    if instrument is not None:
        if column in instrument.measures:
            return instrument.measure_label(column).capitalize()
        gaps = [g.name for g in instrument.gaps]
        if column in gaps:
            return "Gap" if len(gaps) == 1 else column.replace("_", " ").capitalize() + " gap"
        if column in instrument.dimensions:
            return instrument.dimension_label(column)
    if column in _HEADERS:
        return _HEADERS[column]
    if column in ("item", "dimension", "segment", "branch", "measure"):
        return column.capitalize()
    text = re.sub(r"_+", " ", str(column)).strip()
    text = re.sub(r"^sd\b", "SD", text)
    return text[:1].upper() + text[1:]


def _is_integral(series: pd.Series) -> bool:
    values = pd.to_numeric(series, errors="coerce").dropna()
    return len(values) > 0 and bool(np.all(np.isclose(values, np.round(values))))


def _labels(column: str, series: pd.Series, instrument) -> pd.Series:
    """Identifiers in a label column as words."""
    if instrument is None:
        return series
    if column == "item":
        return series.map(lambda c: (instrument.items[c].text or c) if c in instrument.items else c)
    if column in ("dimension", "term"):
        named = {"overall": "Overall", "overall_weighted": "Overall (weighted)", "intercept": "Intercept",
                 "all_items": "All items"}
        return series.map(lambda d: instrument.dimension_label(d) if d in instrument.dimensions
                          else named.get(d, str(d).replace("_", " ").capitalize()))
    if column in ("measure", "quantity"):
        gaps = {g.name for g in instrument.gaps}
        return series.map(lambda m: instrument.measure_label(m).capitalize() if m in instrument.measures
                          else ("Gap" if m in gaps and len(gaps) == 1 else m))
    if column == "rule":
        return series.map(lambda r: _RULES.get(r, r))
    if column == "model":
        return series.map(lambda m: str(m).replace("_", " ").capitalize())
    return series


def format_table(frame: pd.DataFrame, instrument=None, *, digits: int = 2, columns=None) -> str:
    """A table as HTML for a report: readable headers and labels, formatted numbers, text
    left and numbers right aligned.

    ``columns`` picks (and orders) the columns shown; the confidence-interval pairs
    (``X_ci_low``/``X_ci_high``) become one "X 95% CI" column; standard deviations and
    the suppression bookkeeping fold into a "Note" column.

    Examples
    --------
    >>> import pandas as pd
    >>> from servqual.display import format_table
    >>> t = pd.DataFrame({"dimension": ["tangibles"], "n": [199.0], "gap": [-0.9],
    ...                   "gap_ci_low": [-1.0], "gap_ci_high": [-0.8], "p": [0.0], "share": [0.16]})
    >>> html = format_table(t)
    >>> "199.000" in html, ">199<" in html, "−1.00 to −0.80" in html, "&lt; .001" in html, "16%" in html
    (False, True, True, True, True)
    """
    shown = frame.copy()
    if columns is not None:
        # each column followed by its interval (X_ci_low, X_ci_high) when the table has one
        keep = [name for c in columns if c in shown.columns
                for name in (c, f"{c}_ci_low", f"{c}_ci_high") if name in shown.columns]
        extra = [c for c in ("suppressed", "suppressed_reason", "small_group") if c in shown.columns]
        shown = shown[list(dict.fromkeys(keep)) + extra]
    shown = shown.drop(columns=[c for c in shown.columns if str(c).endswith("_sd") or c == "sd"])
    note = None
    if {"suppressed", "suppressed_reason", "small_group"} <= set(shown.columns):
        reason = shown.pop("suppressed_reason").fillna("").astype(str)
        small = shown.pop("small_group").astype(bool)
        shown.pop("suppressed")
        note = reason.where(reason != "", small.map({True: "fewer than 100: unstable", False: ""}))
    cells: dict[str, list[str]] = {}
    numeric: set[str] = set()
    intervals: set[str] = set()  # may wrap at "to" on a narrow page; other numbers never wrap
    for column in shown.columns:
        name = str(column)
        if name.endswith("_ci_high") or name == "ci_high":
            continue
        series = shown[column]
        if name.endswith("_ci_low") or name == "ci_low":
            base = name[: -len("_ci_low")] if name != "ci_low" else ""
            high = f"{base}_ci_high" if base else "ci_high"
            if high in shown.columns:
                level = "90% CI" if base == "rmsea" else "95% CI"
                head = f"{_header(base, instrument)} {level}" if base else level
                cells[head] = ([f"{percent(lo)} to {percent(hi)}" for lo, hi in zip(series, shown[high])]
                               if base and _SHARES.match(base) else
                               [interval(lo, hi, digits) for lo, hi in zip(series, shown[high])])
                numeric.add(head)
                intervals.add(head)
                continue
        head = _header(name, instrument)
        if pd.api.types.is_bool_dtype(series):
            cells[head] = ["yes" if not _missing(v) and bool(v) else "" for v in series]
        elif pd.api.types.is_numeric_dtype(series):
            numeric.add(head)
            if _P.match(name):
                cells[head] = [p_value(v) for v in series]
            elif _SHARES.match(name):
                cells[head] = [percent(v) for v in series]
            elif _COUNTS.match(name) or (re.match(r"^(df\d?|.*_df)$", name) and _is_integral(series)):
                cells[head] = [number(v, 0) if name not in ("year", "year_from", "year_to")
                               else (DASH if pd.isna(v) else str(int(v))) for v in series]
            else:
                cells[head] = [number(v, digits) for v in series]
        else:
            values = _labels(name, series, instrument)
            cells[head] = [DASH if _missing(v) else ("" if str(v) in ("nan", "None") else str(v)) for v in values]
    if note is not None and (note != "").any():
        cells["Note"] = list(note)
    heads = list(cells)
    kind = {h: "num ci" if h in intervals else "num" if h in numeric else "text" for h in heads}
    rows = ["<tr>" + "".join(f'<th class="{kind[h]}">{html.escape(h)}</th>' for h in heads) + "</tr>"]
    body = ["<tr>" + "".join(f'<td class="{kind[h]}">{html.escape(cells[h][i])}</td>' for h in heads) + "</tr>"
            for i in range(len(shown))]
    return ('<div class="table-wrap"><table class="servqual-table"><thead>' + "".join(rows) + "</thead><tbody>"
            + "".join(body) + "</tbody></table></div>")
