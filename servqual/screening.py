"""Screening rules: who is excluded or flagged, and why (docs/methods.md).

Rules come from the instrument's ``screening:`` section and can be overridden per call.
Nobody is ever dropped silently: every excluded or flagged respondent gets one row per
rule in the log, with the reason in plain words ("14 of 22 items N/A").

==================  ==========================================================  ==========
rule                what it counts                                              action
==================  ==========================================================  ==========
incomplete          blank ratings (an N/A answer counts as an answer)           exclude if
                                                                                ``require_complete``
not_applicable      items answered N/A (in any measure)                         exclude if more than
                                                                                ``max_not_applicable``
inversions          items rated minimum > desired                               exclude if more than
                                                                                ``max_inversions``
straight_lining     the same answer to every answered item of a measure         ``straight_lining``
                    (at least three answers, and at least half the items)       flag/exclude/ignore
no_ratings          no rating at all                                            flag
==================  ==========================================================  ==========

Items the instrument marks ``sampled: true`` (LibQUAL-Lite: each respondent sees the core
items and a random subset of the others) count only where they were shown: a sampled item
left blank in every measure was not shown, so it is neither "blank" for ``incomplete`` nor
part of the item count the other rules report against ("3 of 12 items shown N/A").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .instrument import Instrument, ScreeningRules
from .survey import RULES, SCREENING_COLUMNS, Survey, shown_items

__all__ = ["screen", "apply_rules"]

_MIN_STRAIGHT = 3  # fewer answers than this cannot reveal straight-lining (nor fewer than half)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def apply_rules(
    instrument: Instrument,
    rules: ScreeningRules,
    ids: pd.Index,
    values: dict[str, pd.DataFrame],
    not_applicable: dict[str, pd.DataFrame],
) -> tuple[np.ndarray, pd.DataFrame]:
    """Apply screening rules to all respondents.

    Parameters
    ----------
    values
        Measure → respondents × items as answered (NaN for blank or N/A).
    not_applicable
        Measure → boolean respondents × items, ``True`` for an N/A answer.

    Returns
    -------
    kept : numpy.ndarray of bool
    log : pandas.DataFrame with columns id, rule, action, detail
    """
    n = len(ids)
    measures = instrument.measures
    n_items = len(instrument.items)
    excluded = np.zeros(n, dtype=bool)
    entries: list[tuple[np.ndarray, str, str, Callable[[int], str]]] = []

    def record(mask: np.ndarray, rule: str, action: str, detail: Callable[[int], str]) -> None:
        # details are written only for the respondents concerned (cheap on a million rows)
        if mask.any():
            entries.append((np.flatnonzero(mask), rule, action, detail))

    arrays = {m: values[m].to_numpy(dtype=float) for m in measures}
    na = {m: not_applicable[m].to_numpy(dtype=bool) for m in measures}
    answered = {m: ~np.isnan(arrays[m]) | na[m] for m in measures}
    shown = shown_items(instrument, answered, list(values[measures[0]].columns))
    n_shown = shown.sum(axis=1)
    sampled = bool(instrument.sampled_items)

    # no ratings at all: flagged (nothing to score), never silently ignored
    any_answer = np.zeros(n, dtype=bool)
    for m in measures:
        any_answer |= answered[m].any(axis=1)
    record(~any_answer, "no_ratings", "flagged", lambda i: "no rating given for any item")

    if rules.require_complete:
        blank = sum(((shown & ~answered[m]).sum(axis=1) for m in measures), np.zeros(n, dtype=int))
        total = n_shown * len(measures)
        mask = blank > 0
        of_what = " shown" if sampled else ""

        def incomplete(i: int, blank=blank) -> str:
            if blank[i] == total[i]:
                return f"all {total[i]}{of_what} ratings blank"
            names = [
                f"{m} {item}"
                for m in measures
                for item, a, s_ in zip(values[m].columns, answered[m][i], shown[i])
                if s_ and not a
            ]
            listed = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
            return f"{blank[i]} of {total[i]}{of_what} ratings blank ({listed})"

        record(mask, "incomplete", "excluded", incomplete)
        excluded |= mask

    if rules.max_not_applicable is not None:
        item_na = np.zeros((n, n_items), dtype=bool)
        for m in measures:
            item_na |= na[m]
        count = item_na.sum(axis=1)
        mask = count > rules.max_not_applicable
        record(
            mask,
            "not_applicable",
            "excluded",
            lambda i, count=count: f"{count[i]} of {n_shown[i]} items{' shown' if sampled else ''} N/A "
            f"(more than {rules.max_not_applicable} allowed)",
        )
        excluded |= mask

    if rules.max_inversions is not None:
        # compared as scored: reverse keying applies to both columns alike
        low, high = (_keyed(instrument, values[m]) for m in (instrument.minimum, instrument.desired))
        with np.errstate(invalid="ignore"):
            inverted = low > high
        count = inverted.sum(axis=1)
        mask = count > rules.max_inversions
        record(
            mask,
            "inversions",
            "excluded",
            lambda i, count=count: f"{count[i]} of {n_shown[i]} items{' shown' if sampled else ''} rated "
            f"{instrument.minimum} above {instrument.desired} "
            f"(more than {rules.max_inversions} allowed)",
        )
        excluded |= mask

    if rules.straight_lining != "ignore":
        action = "excluded" if rules.straight_lining == "exclude" else "flagged"
        for m in measures:
            x = arrays[m]
            count = (~np.isnan(x)).sum(axis=1)
            # fmin/fmax skip NaN without copying; rows without answers fail the count anyway
            lo = np.fmin.reduce(x, axis=1)
            hi = np.fmax.reduce(x, axis=1)
            mask = (count >= np.maximum(_MIN_STRAIGHT, np.ceil(n_shown / 2))) & (lo == hi)

            def straight(i: int, m: str = m, count=count, lo=lo) -> str:
                answered_word = "" if count[i] == n_shown[i] else " answered"
                return f"all {count[i]}{answered_word} {m} ratings are {_fmt(lo[i])}"

            record(mask, "straight_lining", action, straight)
            if action == "excluded":
                excluded |= mask

    parts = []
    for positions, rule, action, detail in entries:
        parts.append(pd.DataFrame({
            "_pos": positions, "_rule": RULES.index(rule), "id": ids.take(positions), "rule": rule,
            "action": action, "detail": [detail(i) for i in positions],
        }))
    if not parts:
        return ~excluded, pd.DataFrame({c: pd.Series(dtype=object) for c in SCREENING_COLUMNS})
    log = pd.concat(parts, ignore_index=True).sort_values(["_pos", "_rule"], kind="stable")
    return ~excluded, log[SCREENING_COLUMNS].reset_index(drop=True)


def _keyed(instrument: Instrument, frame: pd.DataFrame) -> np.ndarray:
    x = frame.to_numpy(dtype=float, copy=True)
    for item in instrument.reverse_items:  # each on its own scale
        j = frame.columns.get_loc(item)
        x[:, j] = instrument.scale_of(item).reverse(x[:, j])
    return x


def screen(survey: Survey, **rules: Any) -> Survey:
    """Screen a survey again with some rules overridden.

    Parameters
    ----------
    survey
        A survey from :func:`servqual.read_survey`.
    **rules
        Overrides of the instrument's rules: ``require_complete``, ``max_not_applicable``,
        ``max_inversions``, ``straight_lining`` (``"flag"``, ``"exclude"`` or ``"ignore"``).
        Pass ``None`` to switch a threshold off.

    Returns
    -------
    Survey
        A new survey sharing the data, with its own ``screening`` log.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/library-core-2007.yaml")
    >>> strict = sq.screen(survey, straight_lining="exclude")
    >>> strict.n < survey.n, survey.n_read == strict.n_read
    (True, True)
    """
    new_rules = survey.rules.replace(**rules)
    check_applicable(survey.instrument, new_rules)
    kept, log = apply_rules(
        survey.instrument, new_rules, survey.frame.index, survey.values, survey.not_applicable_mask
    )
    return survey.with_screening(kept, log, new_rules)


def check_applicable(instrument: Instrument, rules: ScreeningRules) -> None:
    if rules.max_inversions is not None and not instrument.has_zone_of_tolerance:
        raise ValueError(
            f"max_inversions needs the measures 'minimum' and 'desired'; instrument "
            f"{instrument.id!r} has {', '.join(instrument.measures)}"
        )
