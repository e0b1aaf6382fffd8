"""What clients wrote: coding free-text comments, themes, sentiment, and their link to the gaps.

The comments column named in params (``comments: Q30_text``) is read with e-mail
addresses, phone numbers and student/staff numbers masked, and "n/a", "none", "-" and
blank answers as no comment (:func:`servqual.read_survey`).  This module then

* codes each comment against a **codebook** (:func:`load_codebook`; a built-in starter
  codebook for library surveys): themes with keywords, phrases, regular expressions and
  exclusions, several themes per comment (:func:`code_comments`, deductive);
* finds **themes nobody put in the codebook** with TF-IDF and non-negative matrix
  factorisation, the number of themes chosen by stability (:func:`comment_themes`);
* scores **sentiment** with VADER's lexicon (English only, rough; :func:`comment_sentiment`);
* hands the coding to people and back: a **coding sheet** (:func:`coding_sheet`,
  :func:`read_coding_sheet`) and the **agreement** of two coders per theme, Cohen's kappa
  and Krippendorff's alpha, with the disagreements listed (:func:`coder_agreement`);
* ties themes to the numbers: theme frequencies by segment with Wilson intervals
  (:func:`theme_frequencies`) and the gap of those who wrote about a theme against those
  who did not (:func:`theme_gaps`);
* picks **quotes** that respect privacy (:func:`quotes`): only from themes at least
  ``min_group_n`` respondents wrote about, trimmed to the sentence that matched, masked,
  labelled with a segment only when that segment is not small.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .survey import MIN_GROUP_N

__all__ = [
    "Agreement",
    "Codebook",
    "CodebookError",
    "Theme",
    "ThemeModel",
    "code_comments",
    "coded_matrix",
    "coder_agreement",
    "coding_sheet",
    "cohen_kappa",
    "comment_sentiment",
    "comment_table",
    "comment_themes",
    "krippendorff_alpha",
    "load_codebook",
    "quotes",
    "read_coding_sheet",
    "theme_frequencies",
    "theme_gaps",
    "wilson_interval",
]

#: Longest excerpt quoted (characters); longer sentences are cut at a word and marked "…".
EXCERPT_CHARS = 160
_SENTENCE = re.compile(r"(?<=[.!?。！？;])\s+|\n+|(?<=[。！？])")


class CodebookError(ValueError):
    """A codebook that cannot be used: names the file, the theme, the key and what was expected."""


# --------------------------------------------------------------------------- the codebook
@dataclass(frozen=True)
class Theme:
    """One theme of a codebook (see :func:`load_codebook` for the YAML)."""

    id: str
    label: str
    description: str = ""
    dimensions: Mapping[str, str] = field(default_factory=dict)  # instrument id → dimension id
    dimension: str | None = None  # one dimension for every instrument
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def dimension_for(self, instrument) -> str | None:
        """The theme's dimension in ``instrument`` (None when it has none there)."""
        dim = self.dimensions.get(instrument.id, self.dimension)
        return dim if dim in instrument.dimensions else None


@dataclass(frozen=True)
class Codebook:
    """A set of themes; :meth:`match` finds them in one text."""

    id: str
    title: str
    themes: tuple[Theme, ...]
    language: str = "en"
    source: str = "<codebook>"

    def __post_init__(self) -> None:
        compiled = {}
        for theme in self.themes:
            compiled[theme.id] = (_alternation(theme.keywords, theme.patterns, self.source, theme.id, "keywords"),
                                  _alternation(theme.exclude, (), self.source, theme.id, "exclude"))
        object.__setattr__(self, "_compiled", compiled)

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    def theme(self, theme_id: str) -> Theme:
        for t in self.themes:
            if t.id == theme_id:
                return t
        raise KeyError(f"codebook {self.id!r} has no theme {theme_id!r} (themes: {', '.join(self.ids)})")

    def match(self, text: str) -> list[tuple[str, str, str]]:
        """(theme id, matched words, sentence) for every theme found in ``text``: the first
        sentence where a keyword or pattern matches and no exclusion does."""
        found = []
        sentences = _sentences(text)
        for theme in self.themes:
            keyword, exclusion = self._compiled[theme.id]
            if keyword is None:
                continue
            for sentence in sentences:
                hit = keyword.search(sentence)
                if hit and not (exclusion is not None and exclusion.search(sentence)):
                    found.append((theme.id, hit.group(0), sentence))
                    break
        return found


def _term(term: str) -> str:
    """One keyword → a regex: whole words, any white space between words, * = any ending."""
    words = term.strip().split()
    parts = []
    for word in words:
        star = word.endswith("*")
        core = re.escape(word.rstrip("*"))
        parts.append(core + (r"[\w'-]*" if star else ""))
    body = r"\s+".join(parts)
    start = r"(?<![\w])" if re.match(r"\w", term.strip()) else ""
    end = r"(?![\w])" if re.search(r"[\w*]$", term.strip()) else ""
    return f"{start}{body}{end}"


def _alternation(terms, patterns, source, theme, key):
    pieces = [_term(t) for t in terms if str(t).strip()]
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise CodebookError(f"{source}: theme {theme!r}: patterns: {p!r} is not a valid regular expression "
                                f"({exc})") from None
        pieces.append(f"(?:{p})")
    if not pieces:
        return None
    try:
        return re.compile("|".join(pieces), re.IGNORECASE)
    except re.error as exc:  # pragma: no cover - each piece compiled above
        raise CodebookError(f"{source}: theme {theme!r}: {key}: {exc}") from None


def _sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE.split(str(text)) if p and p.strip()]
    return parts or [str(text).strip()]


def builtin_codebooks() -> list[str]:
    """Ids of the codebooks shipped with the package."""
    from importlib import resources

    folder = resources.files("servqual") / "codebooks"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_codebook(source: str | Path | Mapping | Codebook | None = None) -> Codebook:
    """A codebook: built-in id (default ``"library"``), a YAML file, or a mapping.

    YAML layout::

        id: library
        title: Starter codebook for library client comments
        themes:
          noise:
            label: Noise and quiet study
            description: Noise, talking and phones in study areas; quiet zones.
            dimensions: {library-core-22: library_as_place, servqual-22: tangibles}   # or dimension: …
            keywords: [noise, noisy, loud*, quiet, silent]     # whole words; * = any ending
            patterns: ['open (?:until|later)']                  # regular expressions
            exclude: [quiet period]                             # cancel the theme in that sentence

    Raises
    ------
    CodebookError
        Naming the file, the theme, the key, the value and what was expected.

    Examples
    --------
    >>> from servqual.comments import load_codebook
    >>> book = load_codebook()
    >>> [t for t, _, _ in book.match("Far too noisy upstairs. The printers are always broken!")]
    ['noise', 'computers_printing']
    """
    if isinstance(source, Codebook):
        return source
    if source is None:
        source = "library"
    if isinstance(source, Mapping):
        data, where = dict(source), "<codebook mapping>"
    else:
        path = Path(source)
        if not path.suffix and path.name in builtin_codebooks():
            from importlib import resources

            path = Path(str(resources.files("servqual") / "codebooks" / f"{path.name}.yaml"))
        if not path.exists():
            raise CodebookError(f"codebook {str(source)!r}: no such file, and not a built-in codebook "
                                f"({', '.join(builtin_codebooks())})")
        text = path.read_text(encoding="utf-8")
        key = (str(path.resolve()), text)
        if key not in _PARSED:  # parsed once per file content: the explorer asks at every redraw
            _PARSED[key] = _codebook_from(_parse_yaml(text, path), str(path))
        return _PARSED[key]
    return _codebook_from(data, where)


#: Codebooks read from files, by (path, text).
_PARSED: dict = {}


def _parse_yaml(text: str, path: Path):
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CodebookError(f"{path}: not valid YAML ({exc})") from None


def _codebook_from(data, where: str) -> Codebook:
    """A codebook from its parsed YAML (validated; errors name ``where``)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("themes"), Mapping) or not data["themes"]:
        raise CodebookError(f"{where}: expected a mapping with 'themes' (theme id → label, keywords, …)")
    themes = []
    known = {"label", "description", "dimensions", "dimension", "keywords", "patterns", "exclude"}
    for theme_id, spec in data["themes"].items():
        if not isinstance(spec, Mapping):
            raise CodebookError(f"{where}: theme {theme_id!r}: expected a mapping (label, keywords, …), got {spec!r}")
        unknown = set(spec) - known
        if unknown:
            raise CodebookError(f"{where}: theme {theme_id!r}: unknown key(s) {', '.join(map(repr, sorted(unknown)))}"
                                f" (expected {', '.join(sorted(known))})")
        lists = {}
        for key in ("keywords", "patterns", "exclude"):
            value = spec.get(key) or []
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, Sequence) or not all(isinstance(v, (str, int)) for v in value):
                raise CodebookError(f"{where}: theme {theme_id!r}: {key}: expected a list of words or phrases, "
                                    f"got {value!r}")
            lists[key] = tuple(str(v) for v in value)
        if not lists["keywords"] and not lists["patterns"]:
            raise CodebookError(f"{where}: theme {theme_id!r}: no keywords or patterns; a theme needs at least one")
        dims = spec.get("dimensions") or {}
        if not isinstance(dims, Mapping):
            raise CodebookError(f"{where}: theme {theme_id!r}: dimensions: expected instrument id → dimension, "
                                f"got {dims!r}")
        themes.append(Theme(id=str(theme_id), label=str(spec.get("label") or theme_id),
                            description=str(spec.get("description") or ""),
                            dimensions={str(k): str(v) for k, v in dims.items()},
                            dimension=None if spec.get("dimension") is None else str(spec["dimension"]),
                            **lists))
    return Codebook(id=str(data.get("id") or Path(where).stem), title=str(data.get("title") or ""),
                    themes=tuple(themes), language=str(data.get("language") or "en"), source=where)


# --------------------------------------------------------------------------- comments
def comment_table(survey) -> pd.DataFrame:
    """One row per kept respondent who left a comment: ``id``, the segment columns,
    ``comment`` (masked on read).  Empty when the survey has no comments column.

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.comments import comment_table
    >>> table = comment_table(sq.read_cycle("params/2007.yaml"))
    >>> list(table.columns), bool(table["comment"].str.contains("@").any())
    (['id', 'segment', 'branch', 'comment'], False)
    """
    columns = ["id", *survey.segments, "comment"]
    if not survey.comments or survey.comments not in survey.frame.columns:
        return pd.DataFrame(columns=columns)
    kept = survey.respondents
    text = kept[survey.comments]
    has = text.notna().to_numpy()
    out = kept.loc[has, list(survey.segments)].copy()
    out.insert(0, "id", out.index.astype(str))
    out["comment"] = text[has].astype(str).to_numpy()
    return out.reset_index(drop=True)[columns]


def code_comments(survey, codebook=None) -> pd.DataFrame:
    """Code every comment against a codebook (deductive, several themes per comment).

    Parameters
    ----------
    survey
        A survey read with a ``comments`` column.
    codebook
        Built-in id, YAML path, mapping or :class:`Codebook` (default the built-in
        ``"library"`` starter codebook).

    Returns
    -------
    pandas.DataFrame
        One row per comment and theme found: ``id``, ``theme``, ``label``, ``dimension``
        (the theme's dimension in this survey's instrument, or missing), ``matched`` (the
        words that matched) and ``excerpt`` (the sentence they are in, at most
        :data:`EXCERPT_CHARS` characters, masked).  ``attrs``: ``comments`` (how many
        comments were coded), ``codebook`` (its id).

    Notes
    -----
    A theme is found in a comment when one of its keywords or patterns matches a sentence
    in which none of its exclusions matches (case-insensitive, whole words).  R: a
    ``grepl`` per theme over the sentences of each comment.

    Examples
    --------
    >>> import servqual as sq
    >>> coded = sq.code_comments(sq.read_cycle("params/2007.yaml"))
    >>> {"id", "theme", "dimension", "excerpt"} <= set(coded.columns)
    True
    """
    book = load_codebook(codebook)
    table = comment_table(survey)
    inst = survey.instrument
    rows = []
    for ident, text in zip(table["id"], table["comment"]):
        for theme_id, matched, sentence in book.match(text):
            theme = book.theme(theme_id)
            rows.append({"id": ident, "theme": theme_id, "label": theme.label, "dimension": theme.dimension_for(inst),
                         "matched": matched, "excerpt": _excerpt(sentence, matched)})
    out = pd.DataFrame(rows, columns=["id", "theme", "label", "dimension", "matched", "excerpt"])
    out.attrs.update({"comments": len(table), "codebook": book.id, "themes": book.ids,
                      "labels": {t.id: t.label for t in book.themes}})
    return out


def _excerpt(sentence: str, matched: str | None = None) -> str:
    """The sentence, cut to :data:`EXCERPT_CHARS` around the match at word boundaries."""
    from .io import mask_personal

    text = mask_personal(re.sub(r"\s+", " ", sentence).strip())
    if len(text) <= EXCERPT_CHARS:
        return text
    at = text.lower().find(matched.lower()) if matched else 0
    start = max(0, min(at - EXCERPT_CHARS // 3, len(text) - EXCERPT_CHARS))
    piece = text[start:start + EXCERPT_CHARS]
    if start > 0:
        piece = "…" + piece[piece.find(" ") + 1:]
    if start + EXCERPT_CHARS < len(text):
        piece = piece[:piece.rfind(" ")] + "…"
    return piece


# --------------------------------------------------------------------------- sentiment
_ENGLISH = None


def _english_words() -> frozenset:
    global _ENGLISH
    if _ENGLISH is None:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        _ENGLISH = frozenset(ENGLISH_STOP_WORDS) | frozenset(
            "library staff books book study wifi printer printers open hours quiet noise seats desk help please".split())
    return _ENGLISH


def _is_english(text: str) -> bool:
    """A rough language check: most letters are ASCII and at least a fifth of the words
    are common English words."""
    letters = [c for c in text if c.isalpha()]
    if not letters or sum(c.isascii() for c in letters) / len(letters) < 0.9:
        return False
    words = re.findall(r"[a-z']+", text.lower())
    return bool(words) and sum(w in _english_words() for w in words) / len(words) >= 0.2


def comment_sentiment(texts) -> pd.DataFrame:
    """Sentiment of each comment with VADER's lexicon (English only, and rough).

    Parameters
    ----------
    texts
        A sequence of comments (or :func:`comment_table`'s ``comment`` column).

    Returns
    -------
    pandas.DataFrame
        Per comment: ``english`` (the rough language check), ``compound`` (−1 … 1; missing
        for comments that are not English), ``sentiment`` (``negative`` ≤ −0.05 <
        ``neutral`` < 0.05 ≤ ``positive``, or ``not scored``).

    Notes
    -----
    VADER (Hutto & Gilbert 2014) sums word valences from a lexicon with rules for
    negation, intensifiers and punctuation, and normalises the sum to −1 … 1
    (``compound``); the ±0.05 cut-offs are its authors'.  A lexicon knows nothing of
    library context ("quiet" is praise in a library), so use it to sort comments, not as a
    measure.  R: ``vader::get_vader``.

    Examples
    --------
    >>> from servqual.comments import comment_sentiment
    >>> comment_sentiment(["The staff are wonderful and so helpful!", "Die Öffnungszeiten sind zu kurz."])["sentiment"].tolist()
    ['positive', 'not scored']
    """
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    rows = []
    for text in list(texts):
        text = str(text)
        if _is_english(text):
            score = analyzer.polarity_scores(text)["compound"]
            label = "negative" if score <= -0.05 else "positive" if score >= 0.05 else "neutral"
            rows.append({"english": True, "compound": score, "sentiment": label})
        else:
            rows.append({"english": False, "compound": np.nan, "sentiment": "not scored"})
    return pd.DataFrame(rows, columns=["english", "compound", "sentiment"])


# --------------------------------------------------------------------------- inductive themes
@dataclass
class ThemeModel:
    """Themes found in the comments (:func:`comment_themes`).

    Attributes
    ----------
    themes
        One row per theme: ``theme`` (1, 2, …), ``top_terms``, ``size`` (comments whose
        strongest theme it is), ``quotes`` (up to three short excerpts; empty when the
        theme is smaller than ``min_group_n``).
    assignments
        Per comment: ``id``, ``theme`` (its strongest, or missing when none), ``weight``.
    stability
        Per number of themes tried: ``n_themes``, ``stability`` (mean Jaccard agreement of
        the top terms between the full fit and fits on subsamples).
    n_themes
        The number chosen.
    """

    themes: pd.DataFrame
    assignments: pd.DataFrame
    stability: pd.DataFrame
    n_themes: int
    comments: int

    def __str__(self) -> str:
        lines = [f"{self.n_themes} themes in {self.comments} comments"]
        for row in self.themes.itertuples():
            lines.append(f"  {row.theme}. {row.top_terms} ({row.size})")
        return "\n".join(lines)


def comment_themes(survey_or_texts, n_themes: int | str = "auto", *, codebook=None, only_uncoded: bool = True,
                   seed: int = 0, max_themes: int = 8, top_terms: int = 8, min_group_n: int = MIN_GROUP_N,
                   resamples: int = 5) -> ThemeModel:
    """Themes nobody put in the codebook: TF-IDF and non-negative matrix factorisation.

    Parameters
    ----------
    survey_or_texts
        A survey with comments, or a Series of comments indexed by id.
    n_themes
        How many themes, or ``"auto"``: the number from 2 to ``max_themes`` (and at most
        one per ten comments) whose themes are most stable (below).
    codebook, only_uncoded
        With ``only_uncoded`` (default), the sentences in which the codebook finds a theme
        are left out of each comment, so that what is found is what the codebook misses.
    seed
        Seeds the factorisation and the subsamples: the same seed gives the same themes.
    min_group_n
        Quotes are shown only for themes at least this many comments share.

    Returns
    -------
    ThemeModel

    Notes
    -----
    Words: lower-cased, English stop words removed, words and two-word phrases in at least
    three comments and in at most half of them; TF-IDF with sublinear term frequency and
    unit-length rows.  NMF (``init="nndsvda"``, Frobenius loss) factorises the matrix into
    comment × theme weights and theme × word weights; a theme's top terms are its heaviest
    words.  Stability (Greene, O'Callaghan & Cunningham 2014): for each number of themes,
    fit on ``resamples`` random 80% subsamples; match each subsample's themes to the full
    fit's one to one (Hungarian algorithm) by the Jaccard overlap of their top terms; the
    stability is the mean overlap.  ``"auto"`` takes the most stable number (the smaller
    one on ties within 0.01).  R: ``NMF::nmf`` on a ``tm`` TF-IDF matrix.

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.comments import comment_themes
    >>> model = comment_themes(sq.read_cycle("params/2007.yaml"), seed=1)
    >>> model.n_themes >= 2 and len(model.themes) == model.n_themes
    True
    """
    from scipy.optimize import linear_sum_assignment
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    if isinstance(survey_or_texts, pd.Series):
        texts = survey_or_texts.dropna().astype(str)
    else:
        table = comment_table(survey_or_texts)
        texts = pd.Series(table["comment"].to_numpy(), index=table["id"].to_numpy())
        if only_uncoded and len(texts):  # what is left of each comment once the codebook's sentences are out
            book = load_codebook(codebook)
            texts = texts.map(lambda text: " ".join(s for s in _sentences(text) if not book.match(s)))
            texts = texts[texts.str.strip() != ""]
    texts = texts[texts.map(_is_english)]
    words_only = texts.str.replace(r"\[(?:e-mail|phone|number)\]", " ", regex=True)  # masks are not words
    if len(texts) < 10:
        raise ValueError(f"{len(texts)} English comments to find themes in; at least 10 are needed")
    vectorizer = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), min_df=3, max_df=0.5,
                                 sublinear_tf=True, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z-]+\b")
    try:
        matrix = vectorizer.fit_transform(words_only.to_numpy())
    except ValueError:
        raise ValueError("the comments share too few words (each word must occur in at least three comments) "
                         "to find themes") from None
    terms = np.array(vectorizer.get_feature_names_out())
    upper = max(2, min(max_themes, matrix.shape[1] - 1, len(texts) // 10))  # ten comments a theme, on average
    candidates = [int(n_themes)] if n_themes != "auto" else list(range(2, upper + 1))
    rng = np.random.default_rng(seed)

    def fit(x, k):
        model = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=500)
        weights = model.fit_transform(x)
        return weights, model.components_

    def tops(components):
        return [set(np.argsort(-row)[:top_terms]) for row in components]

    rows, fits = [], {}
    for k in candidates:
        weights, components = fit(matrix, k)
        fits[k] = (weights, components)
        reference = tops(components)
        scores = []
        for _ in range(resamples if n_themes == "auto" else 0):
            pick = rng.choice(matrix.shape[0], size=int(0.8 * matrix.shape[0]), replace=False)
            other = tops(fit(matrix[pick], k)[1])
            overlap = np.array([[len(a & b) / len(a | b) for b in other] for a in reference])
            r, c = linear_sum_assignment(-overlap)
            scores.append(overlap[r, c].mean())
        rows.append({"n_themes": k, "stability": float(np.mean(scores)) if scores else np.nan})
    stability = pd.DataFrame(rows)
    if n_themes == "auto":
        best = stability["stability"].max()
        chosen = int(stability.loc[stability["stability"] >= best - 0.01, "n_themes"].min())
    else:
        chosen = int(n_themes)
    weights, components = fits[chosen]
    strongest = weights.argmax(axis=1)
    has = weights.max(axis=1) > 0
    assignments = pd.DataFrame({"id": texts.index.astype(str), "theme": np.where(has, strongest + 1, 0),
                                "weight": weights.max(axis=1)})
    assignments["theme"] = assignments["theme"].replace(0, pd.NA).astype("Int64")
    themes = []
    for k in range(chosen):
        members = np.flatnonzero(has & (strongest == k))
        order = members[np.argsort(-weights[members, k], kind="stable")]
        top = ", ".join(terms[np.argsort(-components[k])[:top_terms]])
        picked = []
        if len(members) >= min_group_n:
            for i in order:
                excerpt = _excerpt(_best_sentence(texts.iloc[i], terms[np.argsort(-components[k])[:top_terms]]))
                if 20 <= len(excerpt) and excerpt not in picked:
                    picked.append(excerpt)
                if len(picked) == 3:
                    break
        themes.append({"theme": k + 1, "top_terms": top, "size": len(members), "quotes": picked})
    themes = pd.DataFrame(themes).sort_values("size", ascending=False, kind="stable").reset_index(drop=True)
    return ThemeModel(themes=themes, assignments=assignments, stability=stability, n_themes=chosen,
                      comments=len(texts))


def _best_sentence(text: str, words) -> str:
    sentences = _sentences(text)
    scores = [sum(w in s.lower() for w in words) for s in sentences]
    return sentences[int(np.argmax(scores))]


# --------------------------------------------------------------------------- agreement
def cohen_kappa(a, b) -> float:
    """Cohen's kappa of two coders' labels of the same units (missing pairs dropped).

    κ = (p_o − p_e)/(1 − p_e), p_o the share of units both coders label alike and p_e the
    share expected by chance from each coder's own label shares.  R:
    ``psych::cohen.kappa(cbind(a, b))`` (its unweighted kappa) or ``irr::kappa2``.

    Examples
    --------
    Wikipedia's worked example (50 units: 20 both yes, 15 both no, 5 and 10 disagree):

    >>> from servqual.comments import cohen_kappa
    >>> a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    >>> b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    >>> round(cohen_kappa(a, b), 10)
    0.4
    """
    frame = pd.DataFrame({"a": list(a), "b": list(b)}).dropna()
    if not len(frame):
        return np.nan
    p_o = float((frame["a"] == frame["b"]).mean())
    share_a = frame["a"].value_counts(normalize=True)
    share_b = frame["b"].value_counts(normalize=True)
    p_e = float(sum(share_a.get(k, 0.0) * share_b.get(k, 0.0) for k in set(share_a.index) | set(share_b.index)))
    if p_e >= 1:
        return np.nan  # both coders gave one and the same label throughout: kappa is undefined
    return (p_o - p_e) / (1 - p_e)


def krippendorff_alpha(data, level: str = "nominal") -> float:
    """Krippendorff's alpha for nominal data: coders × units, missing where a coder did not code.

    α = 1 − D_o/D_e from the coincidence matrix: each unit coded by m ≥ 2 coders adds
    1/(m − 1) for every ordered pair of its values; D_o is the share of coincidences that
    disagree, D_e the disagreement expected from the pooled values.  Units coded by fewer
    than two coders are left out.  R: ``irr::kripp.alpha(x, "nominal")``.

    Examples
    --------
    Krippendorff's (2011) worked example, four coders, twelve units, missing values:

    >>> import numpy as np
    >>> from servqual.comments import krippendorff_alpha
    >>> nan = np.nan
    >>> data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    ...         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    ...         [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    ...         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    >>> round(float(krippendorff_alpha(data)), 3)
    0.743
    """
    if level != "nominal":
        raise ValueError(f"level must be 'nominal' (the only level implemented), got {level!r}")
    matrix = pd.DataFrame(data).T  # units × coders
    values = pd.unique(matrix.stack().dropna())
    if len(values) == 0:
        return np.nan
    index = {v: k for k, v in enumerate(values)}
    coincidence = np.zeros((len(values), len(values)))
    for _, unit in matrix.iterrows():
        coded = [index[v] for v in unit.dropna()]
        m = len(coded)
        if m < 2:
            continue
        counts = np.bincount(coded, minlength=len(values)).astype(float)
        pairs = np.outer(counts, counts) - np.diag(counts)
        coincidence += pairs / (m - 1)
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        return np.nan
    observed = coincidence.sum() - np.trace(coincidence)
    expected = (n * n - (n_c ** 2).sum()) / (n - 1)
    if expected == 0:
        return np.nan  # one value throughout: no variation to agree on
    return 1 - observed / expected


def coding_sheet(survey, path: str | Path, *, codebook=None, proposals: bool = False) -> Path:
    """Write a coding sheet (CSV, or Excel for ``.xlsx``) for a human coder.

    One row per comment: ``comment_id``, ``comment`` (masked), then one empty column per
    codebook theme for the coder to mark (1 or x: the theme is there; blank or 0: not),
    and ``note``.  With ``proposals`` the codebook's own coding is added as a ``proposed``
    column (for checking the codebook; leave it out for independent coders).

    Examples
    --------
    >>> import tempfile, servqual as sq
    >>> from servqual.comments import coding_sheet
    >>> path = coding_sheet(sq.read_cycle("params/2007.yaml"), tempfile.mkdtemp() + "/sheet.csv")
    >>> import pandas as pd; list(pd.read_csv(path).columns[:3])
    ['comment_id', 'comment', 'opening_hours']
    """
    book = load_codebook(codebook)
    table = comment_table(survey)
    sheet = pd.DataFrame({"comment_id": table["id"], "comment": table["comment"]})
    if proposals:
        coded = code_comments(survey, book)
        proposed = coded.groupby("id")["theme"].agg(lambda t: "; ".join(t))
        sheet["proposed"] = sheet["comment_id"].map(proposed).fillna("")
    for theme in book.ids:
        sheet[theme] = ""
    sheet["note"] = ""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        sheet.to_excel(path, index=False)
    else:
        sheet.to_csv(path, index=False, lineterminator="\n")
    return path


_YES = {"1", "x", "yes", "y", "true", "✓", "1.0"}
_NO = {"", "0", "no", "n", "false", "0.0", "nan"}


def read_coding_sheet(path: str | Path, codebook=None) -> pd.DataFrame:
    """Read a coder's sheet back: comment id × theme, True where the coder marked the theme.

    Raises
    ------
    ValueError
        Naming the file, the row (as in the sheet, header = row 1), the column, the value
        and what was expected, for a missing column, a repeated comment id or a mark that
        is neither yes (1, x, yes) nor no (blank, 0, no).

    Examples
    --------
    >>> import tempfile, pandas as pd, servqual as sq
    >>> from servqual.comments import coding_sheet, read_coding_sheet
    >>> path = coding_sheet(sq.read_cycle("params/2007.yaml"), tempfile.mkdtemp() + "/a.csv")
    >>> sheet = pd.read_csv(path, dtype=str, keep_default_na=False)
    >>> sheet.loc[0, "noise"] = "x"                   # what a coder does
    >>> sheet.to_csv(path, index=False)
    >>> marks = read_coding_sheet(path)
    >>> int(marks["noise"].sum()), marks.shape[1]
    (1, 12)
    """
    book = load_codebook(codebook)
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such coding sheet")
    sheet = (pd.read_excel(path, dtype=str, engine="calamine") if path.suffix.lower() == ".xlsx"
             else pd.read_csv(path, dtype=str, keep_default_na=False))
    missing = [c for c in ["comment_id", *book.ids] if c not in sheet.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(map(repr, missing))}; a coding sheet has comment_id "
                         f"and one column per theme ({', '.join(book.ids)})")
    sheet = sheet.fillna("")
    repeated = sheet["comment_id"][sheet["comment_id"].duplicated()]
    if len(repeated):
        row = int(repeated.index[0]) + 2
        raise ValueError(f"{path}: row {row}, column 'comment_id': {repeated.iloc[0]!r} appears twice; "
                         "expected one row per comment")
    out = pd.DataFrame(index=sheet["comment_id"].astype(str).rename("comment_id"))
    for theme in book.ids:
        marks = sheet[theme].astype(str).str.strip().str.lower()
        bad = ~marks.isin(_YES | _NO)
        if bad.any():
            row = int(np.flatnonzero(bad)[0]) + 2
            raise ValueError(f"{path}: row {row}, column {theme!r}: {sheet[theme].iloc[row - 2]!r} is not a mark; "
                             "expected 1 or x (the theme is in the comment) or blank or 0 (it is not)")
        out[theme] = marks.isin(_YES).to_numpy()
    return out


def coded_matrix(coded: pd.DataFrame, ids, themes) -> pd.DataFrame:
    """:func:`code_comments`' rows as comment id × theme booleans (as a coding sheet reads).

    Examples
    --------
    >>> import pandas as pd
    >>> from servqual.comments import coded_matrix
    >>> coded = pd.DataFrame({"id": ["a", "a", "b"], "theme": ["noise", "wifi", "wifi"]})
    >>> coded_matrix(coded, ["a", "b", "c"], ["noise", "wifi"]).sum().tolist()
    [1, 2]
    """
    out = pd.DataFrame(False, index=pd.Index([str(i) for i in ids], name="comment_id"), columns=list(themes))
    for ident, theme in zip(coded["id"].astype(str), coded["theme"]):
        if ident in out.index and theme in out.columns:
            out.loc[ident, theme] = True
    return out


@dataclass
class Agreement:
    """Two coders' agreement (:func:`coder_agreement`).

    Attributes
    ----------
    table
        Per theme: ``comments`` (coded by both), ``coder_a``, ``coder_b`` (how many each
        marked), ``both``, ``agreement`` (share alike), ``kappa`` (Cohen), ``alpha``
        (Krippendorff, nominal); a last row ``all themes`` pools every comment × theme.
    disagreements
        One row per comment and theme the coders marked differently: ``comment_id``,
        ``theme``, ``coder_a``, ``coder_b``, ``comment`` (when the texts were given).
    """

    table: pd.DataFrame
    disagreements: pd.DataFrame

    def __str__(self) -> str:
        return self.table.to_string(index=False, float_format=lambda v: f"{v:.2f}")


def coder_agreement(sheet_a: pd.DataFrame, sheet_b: pd.DataFrame, *, texts: Mapping | pd.Series | None = None
                    ) -> Agreement:
    """Agreement of two coders per theme, and the disagreements to resolve.

    Parameters
    ----------
    sheet_a, sheet_b
        :func:`read_coding_sheet` results (comment id × theme booleans), or
        :func:`coded_matrix` for the codebook's own coding.  Comments in both are compared.
    texts
        Comment id → text, to list with the disagreements.

    Returns
    -------
    Agreement

    Examples
    --------
    >>> import pandas as pd
    >>> from servqual.comments import coder_agreement
    >>> a = pd.DataFrame({"noise": [True, True, False, False]}, index=["1", "2", "3", "4"])
    >>> b = pd.DataFrame({"noise": [True, False, False, False]}, index=["1", "2", "3", "4"])
    >>> result = coder_agreement(a, b)
    >>> row = result.table.iloc[0]
    >>> row["theme"], int(row["both"]), float(row["agreement"]), len(result.disagreements)
    ('noise', 1, 0.75, 1)
    """
    common = sheet_a.index.intersection(sheet_b.index)
    themes = [t for t in sheet_a.columns if t in sheet_b.columns]
    if not len(common) or not themes:
        raise ValueError("the two sheets share no comment ids or no theme columns")
    a, b = sheet_a.loc[common, themes].astype(bool), sheet_b.loc[common, themes].astype(bool)
    rows = []
    for theme in themes:
        x, y = a[theme].to_numpy(), b[theme].to_numpy()
        rows.append({"theme": theme, "comments": len(common), "coder_a": int(x.sum()), "coder_b": int(y.sum()),
                     "both": int((x & y).sum()), "agreement": float((x == y).mean()),
                     "kappa": cohen_kappa(x, y), "alpha": krippendorff_alpha([x.astype(int), y.astype(int)])})
    x, y = a.to_numpy().ravel(), b.to_numpy().ravel()
    rows.append({"theme": "all themes", "comments": len(common), "coder_a": int(x.sum()), "coder_b": int(y.sum()),
                 "both": int((x & y).sum()), "agreement": float((x == y).mean()), "kappa": cohen_kappa(x, y),
                 "alpha": krippendorff_alpha([x.astype(int), y.astype(int)])})
    differ = (a != b)
    pairs = differ.stack()
    pairs = pairs[pairs]
    dis = pd.DataFrame({"comment_id": [i for i, _ in pairs.index], "theme": [t for _, t in pairs.index]})
    dis["coder_a"] = [bool(a.loc[i, t]) for i, t in pairs.index]
    dis["coder_b"] = [bool(b.loc[i, t]) for i, t in pairs.index]
    if texts is not None:
        lookup = pd.Series(texts)
        lookup.index = lookup.index.astype(str)
        dis["comment"] = dis["comment_id"].map(lookup)
    return Agreement(table=pd.DataFrame(rows), disagreements=dis.reset_index(drop=True))


# --------------------------------------------------------------------------- linking to the numbers
def wilson_interval(successes, n, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion.

    (p̂ + z²/2n ± z·√(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n).  R: ``prop.test(x, n,
    correct = FALSE)$conf.int``.

    Examples
    --------
    >>> from servqual.comments import wilson_interval
    >>> low, high = wilson_interval(12, 80)
    >>> round(float(low), 4), round(float(high), 4)
    (0.0879, 0.2441)
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def theme_frequencies(survey, coded: pd.DataFrame, *, by: str | None = None,
                      min_group_n: int = MIN_GROUP_N) -> pd.DataFrame:
    """How often each theme comes up, overall or by segment, with Wilson intervals.

    Returns
    -------
    pandas.DataFrame
        Per [segment,] theme: ``label``, ``commenters`` (respondents in the group who left
        a comment: the denominator), ``mentions``, ``share``, ``ci_low``, ``ci_high``; groups
        with fewer than ``min_group_n`` commenters are suppressed
        (:func:`servqual.suppress_small_groups`, so none is recovered from the total).

    Notes
    -----
    The denominator is the respondents of the group who left a comment; the interval is
    Wilson's (:func:`wilson_interval`).  R: ``prop.test(mentions, commenters, correct = FALSE)``.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2007.yaml")
    >>> table = sq.theme_frequencies(survey, sq.code_comments(survey), by="segment")
    >>> sorted(table["segment"].unique())
    ['academic staff', 'library staff', 'postgraduate', 'undergraduate']
    """
    from .scoring import suppress_small_groups

    table = comment_table(survey)
    themes = list(coded.attrs.get("themes") or pd.unique(coded["theme"]))
    labels = {**dict(coded.attrs.get("labels") or {}), **dict(zip(coded["theme"], coded["label"]))}
    mentioned = coded.groupby("theme")["id"].agg(lambda ids: set(ids.astype(str)))
    groups = [(None, table)] if by is None else list(table.groupby(by, sort=True, observed=True))
    rows = []
    for group, part in groups:
        ids = set(part["id"].astype(str))
        for theme in themes:
            mentions = len(ids & mentioned.get(theme, set()))
            row = {} if by is None else {by: group}
            row.update({"theme": theme, "label": labels.get(theme, theme), "commenters": len(ids),
                        "mentions": mentions})
            rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["share"] = out["mentions"] / out["commenters"].where(out["commenters"] > 0)
    out["ci_low"], out["ci_high"] = wilson_interval(out["mentions"], out["commenters"].where(out["commenters"] > 0))
    out = out.rename(columns={"commenters": "n"})
    out = suppress_small_groups(out, min_group_n, groups=[by] if by else ())
    return out.rename(columns={"n": "commenters"})


def theme_gaps(survey, coded: pd.DataFrame, *, gap: str | None = None, confidence: float = 0.95,
               min_group_n: int = MIN_GROUP_N) -> pd.DataFrame:
    """The gap of respondents who wrote about a theme against everyone else, on the theme's dimension.

    Returns
    -------
    pandas.DataFrame
        Per theme with a dimension in this instrument: ``dimension``, ``n_mention``,
        ``n_other``, ``mean_mention``, ``mean_other`` (mean dimension gap), ``difference``
        (mention − other), ``ci_low``, ``ci_high`` (Welch), ``t``, ``df``, ``p`` and a
        ``sentence``.  Themes fewer than ``min_group_n`` respondents wrote about are left out.

    Notes
    -----
    "Everyone else" is every other kept respondent with a dimension gap, commenting or
    not.  Welch's t: difference ± t(df)·√(s₁²/n₁ + s₂²/n₂), Welch–Satterthwaite df.
    R: ``t.test(gap[mention], gap[!mention])``.

    Examples
    --------
    >>> import servqual as sq
    >>> survey = sq.read_cycle("params/2007.yaml")
    >>> links = sq.theme_gaps(survey, sq.code_comments(survey))
    >>> links.set_index("theme").loc["noise", "dimension"]
    'tangibles'
    """
    from .compare import welch
    from .display import interval, number
    from .priorities import standard_phrase
    from .scoring import scores

    inst = survey.instrument
    if not inst.gaps:
        raise ValueError(f"instrument {inst.id!r} has no gaps; theme_gaps compares gaps")
    gap_def = inst.gap(gap) if gap else inst.gaps[0]
    dims = scores(survey, "dimension")[gap_def.name]
    dims.index = dims.index.astype(str)
    rows = []
    for theme, part in coded.groupby("theme", sort=False):
        dim = part["dimension"].dropna().iloc[0] if part["dimension"].notna().any() else None
        if dim is None or dim not in dims.columns:
            continue
        values = dims[dim].dropna()
        mention = values.index.isin(set(part["id"].astype(str)))
        a, b = values[mention].to_numpy(), values[~mention].to_numpy()
        if len(a) < min_group_n or len(b) < 2:
            continue
        w = welch(a, b)
        diff, se, t, df = w["diff"], w["se"], w["t"], w["df"]
        q = stats.t.ppf(0.5 + confidence / 2, df)
        label = part["label"].iloc[0]
        name = inst.dimension_label(dim)
        direction = "further below" if diff < 0 else "closer to or above"
        sentence = (f"Clients who wrote about {label.lower()} rate {name.lower()} {number(abs(diff), 1)} points "
                    f"{direction} {standard_phrase(inst, gap_def.subtrahend)} than those who did not (difference "
                    f"{number(diff, 2)}, 95% CI {interval(diff - q * se, diff + q * se)}; {len(a):,} and {len(b):,} "
                    "respondents)")
        rows.append({"theme": theme, "label": label, "dimension": dim, "n_mention": len(a), "n_other": len(b),
                     "mean_mention": a.mean(), "mean_other": b.mean(), "difference": diff,
                     "ci_low": diff - q * se, "ci_high": diff + q * se, "t": t, "df": df,
                     "p": 2 * stats.t.sf(abs(t), df), "sentence": sentence})
    columns = ["theme", "label", "dimension", "n_mention", "n_other", "mean_mention", "mean_other", "difference",
               "ci_low", "ci_high", "t", "df", "p", "sentence"]
    return pd.DataFrame(rows, columns=columns)


def quotes(survey, coded: pd.DataFrame, theme: str, *, k: int = 3, by: str | None = None,
           min_group_n: int = MIN_GROUP_N, segment_of_at_least: int | None = None) -> pd.DataFrame:
    """Up to ``k`` short quotes for a theme, chosen so that they cannot point to a person.

    Rules: none when fewer than ``min_group_n`` respondents wrote about the theme; each
    quote is the sentence that matched (:func:`code_comments`' ``excerpt``: trimmed and
    masked); a quote carries its writer's ``by`` segment only when that segment has at
    least ``min_group_n`` respondents (else the segment is left blank).  The quotes are
    the excerpts closest to a typical length (60–120 characters), then by id: the same
    data give the same quotes.

    Returns
    -------
    pandas.DataFrame
        ``theme``, ``quote`` and, with ``by``, the segment column.

    Examples
    --------
    >>> import servqual as sq
    >>> from servqual.comments import quotes
    >>> survey = sq.read_cycle("params/2007.yaml")
    >>> picked = quotes(survey, sq.code_comments(survey), "noise", k=2, by="segment")
    >>> len(picked), bool(picked["quote"].str.len().max() <= 161)
    (2, True)
    """
    part = coded[coded["theme"] == theme]
    columns = ["theme", "quote", *([by] if by else [])]
    if part["id"].nunique() < min_group_n:
        return pd.DataFrame(columns=columns)
    part = part.assign(score=(part["excerpt"].str.len() - 90).abs().clip(lower=30), key=part["id"].astype(str))
    part = part.sort_values(["score", "key"], kind="stable").drop_duplicates("excerpt").head(k)
    out = pd.DataFrame({"theme": theme, "quote": part["excerpt"].to_numpy()})
    if by:
        segment = survey.respondents[by]
        segment.index = segment.index.astype(str)
        sizes = segment.value_counts()
        labels = part["key"].map(segment)
        out[by] = [str(v) if pd.notna(v) and sizes.get(v, 0) >= (segment_of_at_least or min_group_n) else ""
                   for v in labels]
    return out
