"""A guided first mapping: from a raw export to a params file, without guessing silently.

:func:`draft_params` reads an export as :func:`servqual.read_survey` would (format from the
bytes, encoding, delimiter, header rows, sheets), then proposes what each column is:

* the respondent **id** (unique, never blank), **segment** columns (a few distinct values),
  **personal data** (by header and by content; never read further), a free-text
  **comments** column;
* **rating** columns mapped to the instrument's items, by one of three methods, each with a
  confidence: the column templates (``E_{item}``, ``P01``), a question number in the header
  (the item's ``number:`` — a study's own numbering — else its position), or fuzzy matching
  of header text to item text (rapidfuzz);
* the instrument itself, when not given: the built-in one the most columns map to.

Every proposal below full confidence, and every column it could not place, is written
into the params file as a commented choice, so nothing is mapped on a guess without a person
seeing it.  ``servqual init --from EXPORT`` writes that file into a new project.
"""

from __future__ import annotations

import html
import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .instrument import Instrument, list_instruments, load_instrument
from .io import RawTable, is_personal_column, personal_content, rating_labels, read_table

__all__ = ["Draft", "draft_params"]

#: Words that name a measure in headers, in several languages (lower-case prefixes).
MEASURE_WORDS = {
    "expectation": ("e", "exp", "expect", "expectation", "expected", "erwartung", "attente", "verwachting", "기대",
                    "期待", "期望"),
    "perception": ("p", "per", "perc", "percep", "perception", "perceived", "wahrnehmung", "ervaring", "인식",
                   "지각", "知覚", "感知"),
    "minimum": ("min", "minimum", "mn"),
    "desired": ("des", "desired", "ds", "wish"),
    "perceived": ("per", "perc", "perceived", "p"),
    "importance": ("i", "imp", "importance", "wichtigkeit", "중요", "重要"),
    "performance": ("p", "perf", "performance", "leistung", "성과"),
    "agreement": ("a", "agree", "agreement", "q"),
}
_ID_WORDS = ("respondent_id", "respondentid", "responseid", "response_id", "id", "case", "caseid", "번호", "no",
             "record", "serial")
_NUMBERED = re.compile(r"^\s*(?P<prefix>[^\d]*?)[\s_.:\-#]*(?:q|item|question)?[\s_.:\-#]*(?P<number>\d{1,3})"
                       r"(?![\d])(?P<rest>.*)$", re.I | re.S)


@dataclass
class Draft:
    """Proposals for a params file (see :func:`draft_params`).

    Attributes
    ----------
    path
        The export.
    instrument
        The instrument the ratings are mapped to.
    params
        The params keys proposed (``responses``, ``instrument``, ``columns`` …).
    proposals
        One row per column of the export: ``column``, ``role`` (``id``, ``segment``,
        ``rating``, ``personal``, ``comments``, ``other``), ``measure``, ``item``,
        ``method`` and ``confidence`` (0–1), and ``note``.
    detected
        What was detected about the file (encoding, delimiter, sheet, header rows).
    """

    path: Path
    instrument: Instrument
    params: dict
    proposals: pd.DataFrame
    detected: dict = field(default_factory=dict)
    threshold: float = 0.8

    def to_frame(self) -> pd.DataFrame:
        """The proposals table."""
        return self.proposals.copy()

    @property
    def unmapped(self) -> list[tuple[str, str]]:
        """(measure, item) pairs without a confident column."""
        rated = self.proposals[(self.proposals["role"] == "rating") & (self.proposals["confidence"] >= self.threshold)]
        have = set(zip(rated["measure"], rated["item"]))
        return [(m, i) for m in self.instrument.measures for i in self.instrument.items if (m, i) not in have]

    def yaml(self) -> str:
        """The params file: confident choices as keys, everything else as commented choices."""
        p = self.params
        lines = [
            f"# Drafted by servqual from {self.path.name}: check every line, then `servqual validate` this file.",
            "# Confident proposals are keys; each uncertain one is a commented choice to confirm.",
        ]
        for key, value in self.detected.items():
            lines.append(f"# detected {key}: {value}")
        lines.append("year: 2024                 # the survey cycle (remove for a one-off study)")
        lines.append(f"title: {_yaml_str(self.path.stem)}")
        lines.append(f"instrument: {_yaml_str(p['instrument'])}"
                     + ("   # CONFIRM: see 'detected instrument' above" if "CONFIRM" in self.detected.get("instrument", "")
                        else ""))
        lines.append(f"responses: {_yaml_str(p['responses'])}")
        for key in ("encoding", "sheet", "header_rows"):
            if p.get(key) is not None:
                lines.append(f"{key}: {_yaml_str(p[key]) if isinstance(p[key], str) else p[key]}")
        lines.append(f"id: {_yaml_str(p['id'])}" if p.get("id") else "# id: (no unique id column found: respondents "
                                                                       "are numbered 1…n)")
        segs = p.get("segments") or []
        lines.append(f"segments: [{', '.join(_yaml_str(s) for s in segs)}]")
        if p.get("comments"):
            lines.append(f"comments: {_yaml_str(p['comments'])}")
        lines.append("min_group_n: 10")
        lines.append("columns:")
        rated = self.proposals[self.proposals["role"] == "rating"]
        for measure in self.instrument.measures:
            lines.append(f"  {measure}:")
            part = rated[rated["measure"] == measure].set_index("item")
            for item in self.instrument.items:
                if item in part.index:
                    row = part.loc[item]
                    if isinstance(row, pd.DataFrame):
                        row = row.sort_values("confidence", ascending=False).iloc[0]
                    comment = f"  # {row['method']}, confidence {row['confidence']:.2f}"
                    if row["confidence"] >= self.threshold:
                        lines.append(f"    {item}: {_yaml_str(row['column'])}{comment}")
                    else:
                        lines.append(f"    # {item}: {_yaml_str(row['column'])}{comment} — CONFIRM")
                else:
                    lines.append(f"    # {item}: ?   — no column found; write the column's name")
        others = self.proposals[self.proposals["role"].isin(["other", "personal"])]
        if len(others):
            lines.append("# Columns not used:")
            for row in others.itertuples():
                lines.append(f"#   {row.column!r}: {row.role}{' — ' + row.note if row.note else ''}")
        return "\n".join(lines) + "\n"

    def write(self, path: str | Path) -> Path:
        """Write :meth:`yaml` to ``path`` (refuses to overwrite)."""
        path = Path(path)
        if path.exists():
            raise FileExistsError(f"{path} exists; choose another name")
        path.write_text(self.yaml(), encoding="utf-8")
        return path

    def __str__(self) -> str:
        shown = self.proposals.assign(confidence=self.proposals["confidence"].round(2))
        return (f"Draft params for {self.path.name} ({self.instrument.id}); "
                f"{len(self.unmapped)} rating(s) still to map\n" + shown.to_string(index=False))

    def _repr_html_(self) -> str:
        return (f"<p>Draft params for {html.escape(self.path.name)} ({html.escape(self.instrument.id)}); "
                f"{len(self.unmapped)} rating(s) still to map</p>" + self.proposals.to_html(index=False))


def _yaml_str(value) -> str:
    """A YAML scalar: plain when that is safe, else double-quoted (a JSON string is a valid
    YAML double-quoted scalar, escapes and all)."""
    text = str(value)
    if re.fullmatch(r"[A-Za-z_][\w.\-]*", text) and text.lower() not in ("yes", "no", "true", "false", "null", "on",
                                                                         "off"):
        return text
    return json.dumps(text, ensure_ascii=False)


def _numeric_share(series: pd.Series, labels: Mapping[str, float]) -> float:
    values = series.dropna()
    if not len(values):
        return 0.0
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return 1.0
    text = values.astype("string").str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    by_label = text.str.lower().isin(set(labels))
    return float((numbers.notna() | by_label).mean())


def _classify(raw: RawTable, inst: Instrument) -> pd.DataFrame:
    """id, personal, rating-like, segment or comments per column."""
    frame = raw.frame
    labels = rating_labels(inst)
    rows = []
    n = len(frame)
    lo, hi = (inst.scale.min, inst.scale.max) if inst.scale else (-np.inf, np.inf)
    for column in frame.columns:
        series = frame[column]
        distinct = series.dropna().nunique()
        role, note = "other", ""
        personal = is_personal_column(column) or (not pd.api.types.is_numeric_dtype(series.dtype) and personal_content(series))
        key = re.sub(r"[^a-z0-9번호]", "", str(column).lower())
        if personal:
            role, note = "personal", "personal data: dropped on read"
        elif key in {re.sub(r"[^a-z0-9번호]", "", w) for w in _ID_WORDS} and distinct == n and series.notna().all():
            role = "id"
        elif _numeric_share(series, labels) > 0.9:
            values = pd.to_numeric(series, errors="coerce").dropna()
            inside = values.between(lo, hi).mean() if len(values) else 1.0
            codes = set(inst.not_applicable)
            if inside > 0.9 or values[~values.between(lo, hi)].isin(codes).all():
                role = "rating"
            elif distinct == n:
                role, note = ("id", "unique numbers") if series.notna().all() else ("other", "")
            elif distinct <= 12:
                role = "segment"
        elif distinct <= max(2, min(20, n // 5)):
            role = "segment"
        else:
            text = series.dropna().astype("string")
            if len(text) and text.str.len().mean() > 15:
                role, note = "comments", "free text: kept with e-mails and phone numbers masked"
        rows.append({"column": column, "role": role, "note": note, "distinct": distinct})
    return pd.DataFrame(rows)


def _measure_of(prefix: str, inst: Instrument) -> tuple[str | None, float]:
    """Which measure a header prefix names, and how sure that is."""
    word = re.sub(r"[\s_.:\-#]+", "", prefix).lower()
    if not word:
        return None, 0.0
    for measure in inst.measures:
        if word == measure.lower() or word == inst.measure_label(measure).lower():
            return measure, 1.0
    hits = [m for m in inst.measures if word in MEASURE_WORDS.get(m, ()) or
            any(word.startswith(w) for w in MEASURE_WORDS.get(m, ()) if len(w) >= 3)]
    if len(hits) == 1:
        return hits[0], 0.95
    return None, 0.0


def _map_ratings(columns: list[str], inst: Instrument) -> list[dict]:
    """Proposals column → (measure, item) by template, number and fuzzy text."""
    from rapidfuzz import fuzz

    by_number = {}
    for item in inst.items.values():
        by_number[str(item.number if item.number is not None else item.index)] = item.id
    proposals: dict[str, dict] = {}
    # 1. the default template {measure}_{item}, and measure-prefixed item ids
    for column in columns:
        for measure in inst.measures:
            for item in inst.items:
                if column.lower() in (f"{measure}_{item}".lower(), f"{measure}{item}".lower()):
                    proposals[column] = {"measure": measure, "item": item, "method": "template", "confidence": 1.0}
    # 2. numbered headers grouped by the measure their prefix (or the words after the
    #    number) names: "E01", "기대1. …", "Q8 perception"
    parsed = {c: _NUMBERED.match(str(c)) for c in columns if c not in proposals}
    groups: dict[tuple, list[str]] = {}
    for column, match in parsed.items():
        if not match:
            continue
        prefix = match.group("prefix").strip().lower()
        measure, sure = _measure_of(prefix, inst)
        if measure is None:
            for word in re.findall(r"[^\W\d_]+", match.group("rest").lower()):
                measure, sure = _measure_of(word, inst)
                if measure is not None and len(word) >= 3:
                    sure = 0.9
                    break
                measure = None
        groups.setdefault((prefix, measure, sure), []).append(column)
    named = {m for (_, m, _) in groups if m is not None}
    order = iter(m for m in inst.measures if m not in named)
    for (_prefix, measure, sure), members in groups.items():
        if measure is None and len(groups) == 1 and len(inst.measures) == 1:
            measure, sure = inst.measures[0], 0.9
        elif measure is None:
            measure, sure = next(order, None), 0.6  # by order of appearance: ask the user
        if measure is None:
            continue
        for column in members:
            number = str(int(parsed[column].group("number")))
            if number in by_number:
                item = by_number[number]
                method = "number" if any(i.number is not None for i in inst.items.values()) else "position"
                proposals[column] = {"measure": measure, "item": item, "method": method,
                                     "confidence": sure if method == "number" else min(sure, 0.9)}
    # 3. header text against item text, for what is left
    for column in columns:
        if column in proposals:
            continue
        text = str(column)
        scores = {i.id: fuzz.token_set_ratio(text.lower(), i.text.lower()) / 100 for i in inst.items.values()}
        best = max(scores, key=scores.get)
        ranked = sorted(scores.values(), reverse=True)
        margin = ranked[0] - (ranked[1] if len(ranked) > 1 else 0)
        if ranked[0] >= 0.6:
            measure = next((m for m in inst.measures if m.lower() in text.lower()
                            or inst.measure_label(m).lower() in text.lower()), None)
            sure = ranked[0] * (1.0 if margin > 0.1 else 0.7) * (1.0 if measure else 0.7)
            proposals[column] = {"measure": measure or inst.measures[-1], "item": best, "method": "text",
                                 "confidence": round(min(sure, 0.95), 2)}
    # the same (measure, item) twice: both uncertain
    seen: dict[tuple, list[str]] = {}
    for column, p in proposals.items():
        seen.setdefault((p["measure"], p["item"]), []).append(column)
    for clash in (cols for cols in seen.values() if len(cols) > 1):
        for column in clash:
            proposals[column]["confidence"] = min(proposals[column]["confidence"], 0.5)
            proposals[column]["note"] = f"also proposed: {', '.join(c for c in clash if c != column)}"
    return [{"column": c, **p} for c, p in proposals.items()]


def draft_params(path: str | Path, instrument: str | Path | Instrument | None = None, *,
                 encoding: str | None = None, sheet: str | int | None = None) -> Draft:
    """Propose a params file for a raw export (the first hour with a real file).

    Parameters
    ----------
    path
        The export (any format :func:`servqual.read_survey` reads).
    instrument
        The instrument; default the built-in one the most rating columns map to.
    encoding, sheet
        As in :func:`servqual.read_survey` (detected when omitted).

    Returns
    -------
    Draft
        ``.proposals`` (a table of what each column is, with method and confidence),
        ``.yaml()`` (the params file, uncertain choices commented) and ``.write(path)``.

    Examples
    --------
    >>> import servqual as sq
    >>> draft = sq.draft_params("data/raw/library-2005.csv", "servqual-22")
    >>> draft.params["id"], draft.params["segments"]
    ('respondent_id', ['segment', 'branch'])
    >>> len(draft.unmapped)
    0
    >>> [line.strip() for line in draft.yaml().splitlines() if line.strip().startswith("T1:")]
    ['T1: E01  # position, confidence 0.90', 'T1: P01  # position, confidence 0.90']
    """
    path = Path(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = read_table(path, encoding=encoding, sheet=sheet)
        header_rows = None
        if len(raw.frame.columns) and sum(str(c).startswith("Unnamed") for c in raw.frame.columns) > \
                len(raw.frame.columns) / 2:
            raw = read_table(path, encoding=encoding, sheet=sheet, header_rows=2)
            header_rows = 2
    detected = {"format": path.suffix.lower() or "(none)"}
    if raw.encoding:
        detected["encoding"] = raw.encoding
    if raw.text is not None:
        detected["delimiter"] = repr(raw.sep)
    if raw.sheets:
        detected["sheets"] = ", ".join(raw.sheets)
    for w in caught:
        detected.setdefault("notes", str(w.message).split(": ", 1)[-1])
    if instrument is None:
        candidates = list(list_instruments()["id"])
    else:
        candidates = [instrument]
    best, ranking = None, []
    for candidate in candidates:
        inst = load_instrument(candidate)
        roles = _classify(raw, inst)
        rating_columns = list(roles.loc[roles["role"] == "rating", "column"].astype(str))
        mapped = _map_ratings(rating_columns, inst)
        confident = sum(p["confidence"] >= 0.8 for p in mapped)
        score = confident - 0.1 * abs(len(rating_columns) - len(inst.items) * len(inst.measures))
        ranking.append((score, inst.id))
        # on a tie prefer the instrument without reverse-keyed items: keying is never guessed
        if best is None or score > best[0] or (score == best[0] and len(inst.reverse_items) < len(best[1].reverse_items)):
            best = (score, inst, roles, mapped)
    top, inst, roles, mapped = best
    if instrument is None:
        ties = [i for s, i in ranking if s == top and i != inst.id]
        detected["instrument"] = (f"{inst.id}, the built-in instrument most columns map to"
                                  + (f"; CONFIRM: {', '.join(ties)} fit(s) equally well (a 1988-wording form has "
                                     "reverse-keyed items)" if ties else "; check it"))
    proposals = roles.drop(columns=["distinct"]).assign(measure=None, item=None, method="", confidence=np.nan)
    proposals["column"] = proposals["column"].astype(str)
    for p in mapped:
        at = proposals.index[proposals["column"] == p["column"]][0]
        for key in ("measure", "item", "method", "confidence"):
            proposals.loc[at, key] = p[key]
        if p.get("note"):
            proposals.loc[at, "note"] = p["note"]
    unplaced = (proposals["role"] == "rating") & proposals["item"].isna()
    proposals.loc[unplaced, ["role", "note"]] = ["other", "rating-like numbers not matched to an item"]
    proposals["confidence"] = proposals["confidence"].astype(float)
    ids = list(proposals.loc[proposals["role"] == "id", "column"])
    params = {
        "responses": str(path),
        "instrument": (str(Path(instrument).absolute()) if isinstance(instrument, (str, Path))
                       and str(instrument).endswith((".yaml", ".yml")) else inst.id),
        "id": ids[0] if ids else None,
        "segments": list(proposals.loc[proposals["role"] == "segment", "column"]),
        "comments": next(iter(proposals.loc[proposals["role"] == "comments", "column"]), None),
        "encoding": raw.encoding if raw.encoding not in (None, "utf-8") else None,
        "sheet": raw.sheet if raw.sheets and len(raw.sheets) > 1 else None,
        "header_rows": header_rows,
    }
    return Draft(path, inst, params, proposals[["column", "role", "measure", "item", "method", "confidence", "note"]],
                 detected)
