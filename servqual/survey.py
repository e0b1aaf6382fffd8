"""Survey: the in-memory model every analysis takes.

A :class:`Survey` holds one cycle's respondents and, per measure, a respondents × items
matrix of ratings exactly as answered (numbers, NaN for a blank cell), the matching
not-applicable mask, optional 100-point importance weights and an overall-satisfaction
rating, plus the screening log.  It keeps every respondent read; screening marks who is
kept, so the same survey can be screened again with other rules (:func:`servqual.screen`)
without rereading the file.  Analyses see only the kept respondents.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .instrument import Instrument, ScreeningRules

__all__ = ["EmptySurveyError", "MIN_GROUP_N", "Survey", "SCREENING_COLUMNS", "RULES"]

#: The smallest group any shared output shows (privacy by default, everywhere).
MIN_GROUP_N = 10
#: Groups under this many respondents are shown but flagged as unstable.
STABLE_GROUP_N = 100

SCREENING_COLUMNS = ["id", "rule", "action", "detail"]
#: Screening rules in the order they are reported.
RULES = ("no_ratings", "incomplete", "not_applicable", "inversions", "straight_lining")


def shown_items(instrument: Instrument, answered: dict[str, np.ndarray], items: list[str]) -> np.ndarray:
    """Respondents × items, True where the item was shown: always for core items; for
    sampled items where any measure was answered (a rating or N/A)."""
    n = len(next(iter(answered.values())))
    sampled = [j for j, item in enumerate(items) if item in set(instrument.sampled_items)]
    if not sampled:  # every item shown to everyone: a read-only view, no n × items array
        return np.broadcast_to(np.True_, (n, len(items)))
    shown = np.ones((n, len(items)), dtype=bool)
    any_answer = np.zeros((n, len(sampled)), dtype=bool)
    for a in answered.values():
        any_answer |= a[:, sampled]
    shown[:, sampled] = any_answer
    return shown


class EmptySurveyError(ValueError):
    """Screening kept nobody, so there is nothing to analyse; the message says who was excluded and why."""


@dataclass(frozen=True, eq=False)
class Survey:
    """One survey cycle, validated and screened.

    Attributes
    ----------
    instrument
        The :class:`~servqual.instrument.Instrument` the file was read against.
    source
        The file the data came from (for messages; never written to).
    year
        The survey cycle, or ``None``.
    segments
        Names of the segment columns (client groups) in :attr:`respondents`.
    screening
        One row per excluded or flagged respondent and rule: ``id``, ``rule``,
        ``action`` (``excluded`` or ``flagged``) and ``detail`` in plain words.
    rules
        The :class:`~servqual.instrument.ScreeningRules` that were applied.
    """

    instrument: Instrument
    source: str
    year: int | None
    segments: tuple[str, ...]
    frame: pd.DataFrame  # every respondent read, indexed by id: segments, year, extras
    values: dict[str, pd.DataFrame]  # measure -> respondents × items, as answered, NaN blank/N/A
    not_applicable_mask: dict[str, pd.DataFrame]  # measure -> respondents × items, bool
    kept: np.ndarray  # bool per row of ``frame``
    screening: pd.DataFrame
    rules: ScreeningRules
    weights_frame: pd.DataFrame | None = None  # respondents × dimensions (100-point allocation)
    overall_values: pd.Series | None = None
    encoding: str | None = None
    dropped_columns: tuple[str, ...] = ()  # personal-data columns dropped on read
    combined_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # see combine_small_groups
    comments: str | None = None  # the free-text column in ``frame`` (masked on read; no comment = missing)
    respondent_weights_values: pd.Series | None = None  # per row of ``frame`` (NaN where excluded); see weight()
    weighting: Any = None  # a servqual.weighting.Weighting when the survey is weighted to its population
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ respondents
    @property
    def respondents(self) -> pd.DataFrame:
        """Kept respondents, indexed by respondent ``id``: segments, ``year``, extra columns."""
        return self.frame.loc[self.kept]

    @property
    def n(self) -> int:
        """Number of kept respondents."""
        return int(self.kept.sum())

    @property
    def n_read(self) -> int:
        """Number of respondents read from the file, before screening."""
        return len(self.frame)

    @property
    def n_excluded(self) -> int:
        return self.n_read - self.n

    def require_respondents(self) -> None:
        """Raise :class:`EmptySurveyError`, saying who was excluded and why, when screening
        kept nobody (every analysis calls this first)."""
        if self.n:
            return
        if self.n_read == 0:
            raise EmptySurveyError(f"{self.source}: the file has no respondents")
        log = self.screening[self.screening["action"] == "excluded"]
        counts = log.groupby("rule", sort=False)["id"].nunique()
        reasons = ", ".join(f"{rule}: {n}" for rule, n in counts.items())
        example = log["detail"].iloc[0] if len(log) else ""
        raise EmptySurveyError(
            f"{self.source}: screening excluded all {self.n_read} respondents ({reasons}; e.g. {example}), so "
            f"nothing is left to analyse. The rules were {self.rules}; relax them with screening: {{…}} in the "
            "params (or sq.screen(survey, …)), or check the column mapping"
        )

    # ------------------------------------------------------------------ derived data
    def cached(self, key, compute):
        """A value derived from this survey, computed once: ``compute()`` runs the first
        time ``key`` is asked for.  Analyses keep their intermediate results here (the
        survey is immutable, so they never go stale); the caller gets a shallow copy of
        pandas objects so it may change its copy freely."""
        if key not in self._cache:
            self._cache[key] = compute()
        value = self._cache[key]
        return value.copy(deep=False) if isinstance(value, (pd.DataFrame, pd.Series)) else value

    # ------------------------------------------------------------------ ratings
    def ratings(self, measure: str, *, keyed: bool = True, include_excluded: bool = False) -> pd.DataFrame:
        """Ratings of one measure: kept respondents × items (float, NaN for blank or N/A).

        Parameters
        ----------
        measure
            One of the instrument's measures (``expectation``, ``perception``, …).
        keyed
            Reverse-key negatively worded items (x → min + max − x), as every analysis
            needs; ``False`` returns the ratings exactly as answered.
        include_excluded
            Include respondents excluded by screening (for inspecting them).
        """
        if measure not in self.values:
            raise KeyError(
                f"measure {measure!r} is not in this survey "
                f"(instrument {self.instrument.id!r} has {', '.join(self.instrument.measures)})"
            )
        key = ("ratings", measure, keyed)
        if key not in self._cache:
            frame = self.values[measure]
            if keyed and self.instrument.reverse_items:
                frame = frame.copy()
                for item in self.instrument.reverse_items:  # each on its own scale
                    frame[item] = self.instrument.scale_of(item).reverse(frame[item])
            self._cache[key] = frame
        frame = self._cache[key]
        # copy-on-write: a shallow copy costs nothing and protects the cached data
        if include_excluded or self.kept.all():
            return frame.copy(deep=False)
        return frame.loc[self.kept]

    def rating_array(self, measure: str, *, keyed: bool = True) -> np.ndarray:
        """Kept respondents × items as a read-only float64 array (no copy when possible)."""
        key = ("array", measure, keyed)
        if key not in self._cache:
            array = np.asarray(self.ratings(measure, keyed=keyed).to_numpy(dtype=float, copy=False))
            array.flags.writeable = False
            self._cache[key] = array
        return self._cache[key]

    def not_applicable(self, measure: str, *, include_excluded: bool = False) -> pd.DataFrame:
        """Boolean respondents × items: ``True`` where the answer was an N/A code."""
        return self._kept_rows(self.not_applicable_mask[measure], include_excluded)

    @property
    def weights(self) -> pd.DataFrame | None:
        """Kept respondents × dimensions: each respondent's importance allocation (sums to
        the instrument's total, 100), or ``None`` when the file has no weights."""
        return None if self.weights_frame is None else self._kept_rows(self.weights_frame)

    @property
    def respondent_weights(self) -> pd.Series | None:
        """Kept respondents' survey weights (from :func:`servqual.weight`; they sum to the
        population), or ``None`` when the survey is not weighted."""
        return None if self.respondent_weights_values is None else self._kept_rows(self.respondent_weights_values)

    @property
    def weighted(self) -> bool:
        """Whether the survey is weighted to its population (:func:`servqual.weight`)."""
        return self.respondent_weights_values is not None

    def weight_array(self) -> np.ndarray | None:
        """Kept respondents' survey weights as a read-only array, or ``None``."""
        if self.respondent_weights_values is None:
            return None
        key = ("weight_array",)
        if key not in self._cache:
            array = self.respondent_weights.to_numpy(dtype=float)
            array.flags.writeable = False
            self._cache[key] = array
        return self._cache[key]

    def calibration_cells(self) -> list[np.ndarray]:
        """Kept respondents' category number in each margin the weights were raked on."""
        if self.weighting is None:
            return []
        cells = self._kept_rows(self.weighting.cells)
        return [cells[c].to_numpy(dtype=np.int64) for c in cells.columns]

    def with_weights(self, weights: pd.Series | None, weighting=None) -> Survey:
        """A copy of this survey with survey weights per row of :attr:`frame` (used by
        :func:`servqual.weight`; ``None`` removes them)."""
        return replace(self, respondent_weights_values=weights, weighting=weighting, _cache={})

    @property
    def overall(self) -> pd.Series | None:
        """Kept respondents' overall-satisfaction rating, or ``None``."""
        return None if self.overall_values is None else self._kept_rows(self.overall_values)

    def _kept_rows(self, data, include_excluded: bool = False):
        if include_excluded or self.kept.all():
            return data.copy(deep=False)
        return data.loc[self.kept]

    def shown_array(self) -> np.ndarray:
        """Kept respondents × items (instrument order), True where the item was shown:
        always for core items; for ``sampled: true`` items where any measure was answered."""
        key = ("shown",)
        if key not in self._cache:
            inst = self.instrument
            answered = {m: ~np.isnan(self.rating_array(m, keyed=False)) | self.not_applicable(m).to_numpy()
                        for m in inst.measures}
            shown = shown_items(inst, answered, list(inst.items))
            shown.flags.writeable = False
            self._cache[key] = shown
        return self._cache[key]

    # ------------------------------------------------------------------ summaries
    def item_coverage(self) -> pd.DataFrame:
        """How many kept respondents were shown and answered each item.

        A core item is shown to everyone; an item the instrument marks ``sampled: true``
        (LibQUAL-Lite) counts as shown where any of its measures was answered (a rating or
        N/A).  Reports print this next to the item table, so a reader sees that a sampled
        item's mean rests on fewer respondents.

        Returns
        -------
        pandas.DataFrame
            Indexed by item: ``dimension``, ``sampled``, ``shown`` (respondents),
            ``share_shown`` (of the kept respondents), and per measure the respondents who
            gave a rating (``n_<measure>``, N/A not counted).

        Examples
        --------
        >>> import servqual as sq
        >>> survey = sq.read_cycle("params/library-lite-2008.yaml")
        >>> coverage = survey.item_coverage()
        >>> bool(coverage.loc["AS1", "shown"] == survey.n), bool(coverage.loc["AS2", "sampled"])
        (True, True)
        """
        def compute() -> pd.DataFrame:
            inst = self.instrument
            items = list(inst.items)
            shown = self.shown_array().sum(axis=0)
            table = pd.DataFrame({
                "dimension": [inst.dimension_of(i) for i in items],
                "sampled": [inst.items[i].sampled for i in items],
                "shown": shown.astype(int),
                "share_shown": shown / max(self.n, 1),
            }, index=pd.Index(items, name="item"))
            for m in inst.measures:
                table[f"n_{m}"] = self.ratings(m).notna().sum().to_numpy().astype(int)
            return table

        return self.cached("item_coverage", compute)

    def screening_summary(self) -> pd.DataFrame:
        """Respondents per screening rule and action, with the totals read and kept.

        Returns
        -------
        pandas.DataFrame
            Columns ``rule``, ``action``, ``respondents``; the first row is everyone
            read and the last everyone kept.
        """
        log = self.screening
        rows = [{"rule": "read", "action": "", "respondents": self.n_read}]
        if len(log):
            counts = log.groupby(["rule", "action"], sort=False)["id"].nunique()
            ordered = sorted(counts.items(), key=lambda kv: RULES.index(kv[0][0]))
            rows += [
                {"rule": rule, "action": action, "respondents": int(n)}
                for (rule, action), n in ordered
            ]
        rows.append({"rule": "excluded (any rule)", "action": "excluded", "respondents": self.n_excluded})
        rows.append({"rule": "kept", "action": "", "respondents": self.n})
        return pd.DataFrame(rows)

    def with_screening(self, kept: np.ndarray, log: pd.DataFrame, rules: ScreeningRules) -> Survey:
        """A copy of this survey with another screening result (used by :func:`screen`)."""
        screened = replace(self, kept=kept, screening=log, rules=rules, _cache={})
        if self.weighting is None:
            return screened
        from .weighting import reweighted  # other respondents: weight them to the population again

        return reweighted(screened)

    def __repr__(self) -> str:
        year = f" {self.year}" if self.year is not None else ""
        weighted = ", weighted to the population" if self.weighted else ""
        return (
            f"<Survey{year} {self.instrument.id}: {self.n} of {self.n_read} respondents kept{weighted}, "
            f"segments {list(self.segments)}, from {self.source}>"
        )

    def __str__(self) -> str:
        lines = [repr(self)]
        for row in self.screening_summary().itertuples():
            action = f" ({row.action})" if row.action and row.rule in RULES else ""
            lines.append(f"  {row.rule}{action}: {row.respondents}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = repr(self).replace("<", "&lt;").replace(">", "&gt;")
        return f"<p>{head}</p>" + self.screening_summary().to_html(index=False)
