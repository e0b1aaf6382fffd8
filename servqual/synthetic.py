"""A documented generator of realistic survey cycles (sample data, tests, benchmarks).

Everything here is synthetic: no real respondent is behind any number.  The model, per
respondent *i* in segment *s* and cycle *y*, for each dimension *d*:

* a performance latent ``P[i, d] = mu_P[d] + seg_P[s, d] + year_P[d]·(y − base) + z[i, d]``
  with ``z`` multivariate normal (sd 0.8, correlation 0.6 between dimensions: the
  dimensions of service quality are correlated, as in every published SERVQUAL study),
  drawn as one common factor plus a unique part per dimension (:func:`_equicorrelated`);
* a standard latent (expectation, desired, importance) that sits high and varies less
  (``mu_E ≈ 6.2`` on 1–7), correlated 0.3 with performance, higher on some dimensions
  (reliability) than others (tangibles) and with item offsets of its own; the
  three-column minimum sits below desired by a positive amount;
* each item adds an item offset and item noise (sd 0.7), is rounded and clipped to the
  scale; reverse-keyed items are stored as answered (x → min + max − x);
* realistic defects: missing cells, N/A answers (per item, plus a few respondents who
  answer N/A to most items), straight-liners, minimum > desired inversions (a few
  respondents who swap the columns), blank importance allocations;
* a 100-point importance allocation over the dimensions (Dirichlet, reliability heaviest,
  as Parasuraman et al. found) and an overall-satisfaction item driven by the
  performance latents.

The generator is seeded and deterministic: the same arguments give the same file, on any
machine.  It uses no linear algebra library on the way (BLAS and LAPACK choose their
kernels by processor, and an SVD of an equicorrelated matrix, whose eigenvalues repeat,
returns a different basis on different processors), only element-by-element arithmetic.
``python -m servqual.synthetic data/raw`` (or ``make sample-data``) rewrites the sample
cycles in ``data/raw``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .instrument import Instrument, load_instrument

__all__ = ["BRANCHES", "BRANCH_CLIMATE", "Defects", "SEGMENTS", "consortium_member", "simulate_comments",
           "simulate_consortium", "simulate_responses", "simulate_staff", "write_sample_consortium", "write_sample_data"]

#: Client segments of a university library and their shares.
SEGMENTS: Mapping[str, float] = {
    "undergraduate": 0.52,
    "postgraduate": 0.22,
    "academic staff": 0.16,
    "library staff": 0.10,
}
#: Branches (campuses) and their shares of respondents.
BRANCHES: Mapping[str, float] = {"Central": 0.45, "Science": 0.25, "Health": 0.18, "Law": 0.12}
#: Staff climate of the sample branches (latent offsets; Science best, Health worst), so
#: the linkage example has a story: clients of better-climate branches see better service.
BRANCH_CLIMATE: Mapping[str, float] = {"Central": 0.1, "Science": 0.35, "Health": -0.3, "Law": -0.05}
#: How strongly a branch's staff climate shows in its clients' perceptions (modest).
CLIMATE_TO_PERFORMANCE = 0.6



@dataclass(frozen=True)
class Defects:
    """Rates of the data defects real exports have (all per respondent unless noted)."""

    missing_cell: float = 0.01  # per cell
    not_applicable_item: float = 0.03  # per item, where the instrument has N/A codes
    mostly_not_applicable: float = 0.03  # respondents answering N/A to most items
    straight_lining: float = 0.02  # per measure
    swapped_columns: float = 0.02  # three-column: minimum and desired swapped throughout
    inversion_item: float = 0.03  # per item, three-column
    abandoned: float = 0.01  # respondents who stop half-way
    blank_weights: float = 0.05
    blank_overall: float = 0.02


@dataclass(frozen=True)
class Effects:
    """Segment and year effects on the latent scores, by dimension position."""

    segment_performance: Mapping[str, float] = field(
        default_factory=lambda: {"undergraduate": 0.0, "postgraduate": -0.35, "academic staff": 0.15, "library staff": 0.4}
    )
    segment_standard: Mapping[str, float] = field(
        default_factory=lambda: {"undergraduate": -0.1, "postgraduate": 0.1, "academic staff": 0.25, "library staff": 0.0}
    )
    #: per-cycle improvement of performance, by dimension index (cycled if fewer given)
    year_performance: Sequence[float] = (0.12, 0.02, 0.10, 0.03, 0.05)
    #: how much more clients expect on some dimensions (reliability first, as Parasuraman
    #: et al. found; tangibles last), by dimension id; others 0
    standard_by_dimension: Mapping[str, float] = field(
        default_factory=lambda: {"reliability": 0.3, "responsiveness": 0.12, "assurance": 0.05,
                                 "empathy": -0.05, "tangibles": -0.35, "information_control": 0.15,
                                 "library_as_place": -0.2, "service_delivery": 0.1, "facilities_equipment": -0.15}
    )
    base_year: int = 2005


def _allocate(rng: np.random.Generator, n: int, alpha: np.ndarray, total: int) -> np.ndarray:
    """Integer allocations of ``total`` points (largest-remainder rounding of a Dirichlet)."""
    share = rng.dirichlet(alpha, size=n) * total
    base = np.floor(share).astype(int)
    short = total - base.sum(axis=1)
    order = np.argsort(-(share - base), axis=1)
    for k in range(alpha.size):
        base[np.arange(n), order[:, k]] += (short > k).astype(int)
    return base


def _equicorrelated(rng: np.random.Generator, n: int, k: int, rho: float, sd: float) -> np.ndarray:
    """``n`` draws of ``k`` normal scores with standard deviation ``sd`` and correlation
    ``rho`` between every pair: ``sd·(√rho·f + √(1 − rho)·e_k)`` with one common factor ``f``
    and unique parts ``e_k``, all standard normal.  Element-by-element arithmetic only, so
    every processor gives the same numbers (numpy's ``multivariate_normal`` takes an SVD).
    """
    common = rng.standard_normal(n)
    unique = rng.standard_normal((n, k))
    return sd * (np.sqrt(rho) * common[:, None] + np.sqrt(1 - rho) * unique)


def simulate_responses(
    instrument: str | Instrument,
    n: int = 1200,
    *,
    year: int = 2005,
    seed: int = 2005,
    segments: Mapping[str, float] | None = None,
    branches: Mapping[str, float] | None = None,
    columns: str | Mapping | None = None,
    id_column: str = "respondent_id",
    defects: Defects | None = None,
    effects: Effects | None = None,
    library_seed: int = 1,
    library_sd: float = 0.0,
    branch_effects: Mapping[str, float] | None = None,
    sampled_shown: int | None = None,
    comments: float | None = None,
    comment_column: str = "comment",
) -> pd.DataFrame:
    """Simulate one cycle's raw export for an instrument.

    Parameters
    ----------
    instrument
        Built-in id, YAML path or :class:`Instrument`.
    n
        Respondents.
    year, seed
        The cycle (drives the year effects) and the random seed of the respondents.
    library_seed
        Seed of the library's own profile (dimension levels, item offsets), shared by
        all cycles of one library so that only the year effects move between cycles.
    library_sd
        Spread of libraries' overall performance level (latent 1–7 metric): a level drawn
        with this sd from ``library_seed`` shifts every dimension (0: none).  A consortium's
        libraries differ as a whole, not only dimension by dimension.
    branch_effects
        Branch → offset of its clients' performance ratings (latent 1–7 metric); by
        default ``CLIMATE_TO_PERFORMANCE`` × the branch's staff climate.
    segments, branches
        Category → share for the ``segment`` and ``branch`` columns.
    columns
        Column templates exactly as :func:`servqual.read_survey` takes them
        (default ``{measure}_{item}``).
    id_column
        Name of the respondent id column.
    defects, effects
        Rates of data defects and the segment/year effects (see the module docstring);
        by default few blank cells where the instrument requires complete answers (the
        survey tool makes people answer, as the library forms' tools do).
    sampled_shown
        With an instrument that marks items ``sampled: true`` (LibQUAL-Lite): how many of
        them each respondent is shown, a random subset drawn afresh per respondent (default
        a third, at least one); the others are left blank in every measure.
    comments, comment_column
        The share of respondents who leave a free-text comment (default none), whose
        themes follow their gaps (:func:`simulate_comments`), in ``comment_column``.

    Returns
    -------
    pandas.DataFrame
        The raw export: id, segment, branch, one column per measure × item (nullable
        integers; N/A as the instrument's first N/A code), ``weight_<dimension>`` when
        the instrument has importance weights, and the overall item when it has one.
    """
    from .io import resolve_columns  # the same templates as the reader

    inst = load_instrument(instrument)
    rng = np.random.default_rng(seed)
    if defects is None:  # a form that requires complete answers is one the survey tool makes people complete
        complete = inst.screening is not None and inst.screening.require_complete
        defects = Defects(missing_cell=0.0004, abandoned=0.015) if complete else Defects()
    effects = effects or Effects()
    segments = dict(segments or SEGMENTS)
    branches = dict(branches or BRANCHES)
    scale = inst.scale
    lo, hi = (scale.min, scale.max) if scale else (1, 7)
    span = hi - lo
    dims = list(inst.dimensions)
    n_dims = len(dims)
    items = list(inst.items)
    dim_index = np.array([dims.index(inst.items[i].dimension) for i in items])

    seg = rng.choice(list(segments), size=n, p=np.array(list(segments.values())) / sum(segments.values()))
    branch = rng.choice(list(branches), size=n, p=np.array(list(branches.values())) / sum(branches.values()))

    # latent scores on a 1–7 metric, rescaled to the instrument's scale at the end
    z = _equicorrelated(rng, n, n_dims, rho=0.6, sd=0.8)
    # the library itself (dimension levels, item offsets) stays the same across cycles
    library = np.random.default_rng(library_seed)
    dim_base = 5.0 + library.uniform(-0.5, 0.35, size=n_dims)
    if library_sd:  # the library's overall level, its own stream so that profiles stay as they were
        dim_base = dim_base + np.random.default_rng([library_seed, 1]).normal(0, library_sd)
    item_offset = library.normal(0, 0.25, size=len(items))
    # what clients expect varies by item independently of how the library performs
    standard_offset = library.normal(0, 0.12, size=len(items)) + np.array(
        [effects.standard_by_dimension.get(d, 0.0) for d in dims])[dim_index]
    year_step = np.resize(np.asarray(effects.year_performance, dtype=float), n_dims)
    seg_p = np.array([effects.segment_performance.get(s, 0.0) for s in seg])
    seg_e = np.array([effects.segment_standard.get(s, 0.0) for s in seg])
    if branch_effects is None:
        branch_effects = {b: CLIMATE_TO_PERFORMANCE * BRANCH_CLIMATE.get(b, 0.0) for b in branches}
    unit_p = np.array([branch_effects.get(b, 0.0) for b in branch])
    perf = dim_base + year_step * (year - effects.base_year) + seg_p[:, None] + unit_p[:, None] + z
    standard = 6.2 + seg_e[:, None] + 0.3 * z + rng.normal(0, 0.45, size=(n, n_dims))

    measures = inst.measures

    def to_scale(latent: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(lo + (latent - 1) * span / 6), lo, hi)

    raw: dict[str, np.ndarray] = {}
    for m in measures:
        noise = rng.normal(0, 0.7, size=(n, len(items)))
        if m == inst.minimum:
            latent = standard[:, dim_index] + standard_offset - 1.3 + 0.6 * noise
        elif inst.role(m) in ("standard", "importance"):
            latent = standard[:, dim_index] + standard_offset + 0.6 * noise
        else:
            latent = perf[:, dim_index] + item_offset + noise
        raw[m] = to_scale(latent)

    if inst.has_zone_of_tolerance:
        # mostly minimum ≤ desired; a few item-level slips and a few swapped respondents
        mn, ds = inst.minimum, inst.desired
        fix = raw[mn] > raw[ds]
        raw[mn][fix] = raw[ds][fix]
        slip = rng.random((n, len(items))) < defects.inversion_item
        raw[mn][slip] = np.clip(raw[ds][slip] + 1, lo, hi)
        swapped = rng.random(n) < defects.swapped_columns
        raw[mn][swapped], raw[ds][swapped] = (
            np.clip(raw[ds][swapped] + 1, lo, hi),
            raw[mn][swapped],
        )

    # straight-liners: one measure answered with a single value throughout
    for m in measures:
        who = np.flatnonzero(rng.random(n) < defects.straight_lining)
        raw[m][who] = rng.integers(lo + span // 2, hi + 1, size=len(who))[:, None]

    # reverse-keyed items are stored as answered
    rev = [items.index(i) for i in inst.reverse_items]
    for m in measures:
        raw[m][:, rev] = lo + hi - raw[m][:, rev]

    # N/A answers (all measures of an item) and missing cells
    na_code = next((c for c in inst.not_applicable if isinstance(c, (int, float))), None)
    na_mask = np.zeros((n, len(items)), dtype=bool)
    if inst.not_applicable:
        item_rate = defects.not_applicable_item * rng.uniform(0.3, 2.5, size=len(items))
        na_mask = rng.random((n, len(items))) < item_rate
        mostly = rng.random(n) < defects.mostly_not_applicable
        na_mask[mostly] |= rng.random((int(mostly.sum()), len(items))) < 0.7
    abandoned = rng.random(n) < defects.abandoned
    stop_at = rng.integers(len(items) // 3, len(items), size=n)
    frame = pd.DataFrame({id_column: [f"R{year % 100:02d}{i:05d}" for i in range(1, n + 1)]})
    frame["segment"] = seg
    frame["branch"] = branch
    mapping = resolve_columns(inst, columns)
    hidden = np.zeros((n, len(items)), dtype=bool)
    pool = [items.index(i) for i in inst.sampled_items]
    if pool:  # its own generator, so instruments without sampled items keep their files
        draw = np.random.default_rng([seed, 1])
        k = sampled_shown if sampled_shown is not None else max(1, round(len(pool) / 3))
        if not 1 <= k <= len(pool):
            raise ValueError(f"sampled_shown must be between 1 and {len(pool)} (the sampled items), got {k}")
        order = np.argsort(draw.random((n, len(pool))), axis=1)
        hidden[:, pool] = True
        rows = np.repeat(np.arange(n), k)
        hidden[rows, np.asarray(pool)[order[:, :k].ravel()]] = False
    for m in measures:
        values = raw[m].copy()
        values[rng.random(values.shape) < defects.missing_cell] = np.nan
        values[abandoned[:, None] & (np.arange(len(items))[None, :] >= stop_at[:, None])] = np.nan
        if na_code is not None:
            values[na_mask] = na_code
        values[hidden] = np.nan
        for j, item in enumerate(items):
            frame[mapping[m][item]] = pd.array(values[:, j], dtype="Float64").astype("Int64")

    if inst.weights:
        alpha = np.resize(np.array([2.2, 3.2, 2.4, 2.2, 2.0]), n_dims)
        alloc = _allocate(rng, n, alpha * 3, int(inst.weights_total)).astype(float)
        alloc[rng.random(n) < defects.blank_weights] = np.nan
        for d, dim in enumerate(dims):
            frame[f"weight_{dim}"] = pd.array(alloc[:, d], dtype="Float64").astype("Int64")

    if inst.overall is not None:
        oscale = inst.overall_scale or scale
        olo, ohi = (oscale.min, oscale.max) if oscale else (lo, hi)
        latent = perf.mean(axis=1)
        satisfaction = np.clip(np.rint(olo + (latent + 0.3 + rng.normal(0, 0.55, n) - 1) * (ohi - olo) / 6), olo, ohi)
        satisfaction[rng.random(n) < defects.blank_overall] = np.nan
        frame[inst.overall.id] = pd.array(satisfaction, dtype="Float64").astype("Int64")
    if comments:
        frame[comment_column] = simulate_comments(inst, perf - standard, share=comments, seed=seed)
    return frame


#: What synthetic clients write about: theme → (complaints, praise), in the workbench's own
#: words.  The themes are those of the built-in library codebook, plus two it does not have
#: (parking, cafe), for the inductive themes to find.
COMMENT_TEMPLATES: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "opening_hours": (("The library should open longer hours, especially at weekends.",
                       "Please extend the opening hours during the exam period.",
                       "Closing at six on Fridays is far too early.",
                       "It would help a lot if the library was open 24 hours before exams."),
                      ("The longer opening hours this year made a real difference.",)),
    "noise": (("It is far too noisy on the second floor.",
               "People talk loudly in the quiet zone and nobody does anything about it.",
               "The silent study area is never silent.",
               "Noise from the group rooms makes it hard to concentrate."),
              ("The quiet floor is perfect for concentrating.",)),
    "study_space": (("There are never enough seats during exams.",
                     "Finding a free desk after ten in the morning is impossible.",
                     "We need more study spaces and more group rooms.",
                     "Desks are always taken by bags and nobody is sitting there."),
                    ("The new study spaces are lovely and bright.",)),
    "computers_printing": (("The printers are always broken or out of paper.",
                            "There are not enough computers and they are very slow.",
                            "Printing is expensive and the queue for the printer is long.",
                            "The scanner never works when I need it."),
                           ("Printing from my laptop is easy now.",)),
    "wifi": (("The wifi keeps dropping out upstairs.",
              "The wireless connection is very slow in the reading room.",
              "I often cannot connect to the wifi with my laptop."),
             ("The wifi is fast everywhere in the building.",)),
    "eresources_access": (("Off-campus access to databases is a nightmare, the proxy login fails.",
                           "E-journals often say I have no access when I work from home.",
                           "Getting to the e-resources from home takes far too many steps."),
                          ("Remote access to the databases works well.",)),
    "collections": (("The library does not have the journals I need for my research.",
                     "There are not enough copies of the course textbooks.",
                     "The key books for my course are always on loan.",
                     "Please buy more recent books in my field; many are out of date."),
                    ("The collection in my subject is excellent.",)),
    "interlibrary_loan": (("Interlibrary loans take weeks to arrive.",
                           "Document delivery is slow and too expensive."),
                          ("Interlibrary loan got me a rare article within days.",)),
    "catalogue_search": (("The catalogue search is confusing and finds irrelevant results.",
                          "The library website is hard to navigate.",
                          "I can hardly find anything with the library search."),
                         ("The new library search finds what I need quickly.",)),
    "staff_helpfulness": (("The staff at the desk were unfriendly and dismissive.",
                           "Staff always seem too busy to help.",
                           "I was treated rudely when I asked a simple question."),
                          ("The staff are always friendly and helpful.",
                           "The librarians are so kind and patient with students.")),
    "staff_knowledge": (("The person at the desk could not answer my question about referencing.",
                         "Staff did not know how the new system works."),
                        ("My subject librarian really knows the databases.",
                         "The staff are very knowledgeable about finding sources.")),
    "training": (("I would like more workshops on research skills and referencing software.",
                  "A session on literature searching would help first-year students."),
                 ("The EndNote workshop was really useful.",)),
    "parking": (("Parking near the library is impossible for students.",
                 "There is no parking close to the building in the evening.",
                 "Parking fees at the campus car park are too high to study late."), ()),
    "cafe": (("Please add a cafe or a coffee machine in the library.",
              "It would be nice to get coffee and snacks without leaving the building.",
              "A small cafe on the ground floor would make long study days easier."), ()),
}
#: Comments in other languages (kept as written; not scored for sentiment).
OTHER_LANGUAGES = ("La biblioteca es muy ruidosa y faltan enchufes.", "Die Öffnungszeiten am Wochenende sind zu kurz.",
                   "도서관 좌석이 너무 부족합니다.", "图书馆的无线网络太慢了。", "Les horaires d'ouverture sont trop courts.")


def simulate_comments(instrument: str | Instrument, gaps: np.ndarray, *, share: float = 0.33,
                      seed: int = 1) -> np.ndarray:
    """Free-text comments whose themes follow the respondents' gaps.

    ``gaps`` is respondents × dimensions (latent gap, performance − standard).  A
    respondent comments with probability ``share`` (a little more when their mean gap is
    large); each comment takes one or two themes, drawn with weight ``exp(−1.5 × gap)`` on
    the theme's dimension (:data:`COMMENT_TEMPLATES`; dimensions from the built-in
    codebook), in its complaint form when that gap is below −0.5 and its praise form
    otherwise.  About 4% of comments are in another language, 3% carry an e-mail address,
    phone or student number (masked on read), 4% say "n/a", "none" or "-" (no comment),
    and 6% are about parking or a cafe, which the codebook does not know.  Its own random
    stream (``seed``), so that the ratings of a file do not change when comments are added.
    """
    from .comments import load_codebook

    inst = load_instrument(instrument)
    book = load_codebook("library")
    rng = np.random.default_rng([seed, 2])
    dims = list(inst.dimensions)
    n = gaps.shape[0]
    themes = [t for t in COMMENT_TEMPLATES if t not in ("parking", "cafe")]
    where = np.array([dims.index(book.theme(t).dimension_for(inst)) if book.theme(t).dimension_for(inst) else -1
                      for t in themes])
    unhappy = gaps.mean(axis=1) < -1.5
    writes = rng.random(n) < np.clip(share * np.where(unhappy, 1.4, 0.85), 0, 1)
    out = np.full(n, None, dtype=object)
    for i in np.flatnonzero(writes):
        roll = rng.random()
        if roll < 0.04:
            out[i] = OTHER_LANGUAGES[rng.integers(len(OTHER_LANGUAGES))]
            continue
        if roll < 0.08:
            out[i] = ("n/a", "none", "-", "N/A ", "Nothing.")[rng.integers(5)]
            continue
        g = np.where(where >= 0, gaps[i, np.maximum(where, 0)], 0.0)
        weight = np.exp(-1.5 * g) * (where >= 0)
        picked = rng.choice(len(themes), size=1 + int(rng.random() < 0.35), replace=False, p=weight / weight.sum())
        sentences = []
        for t in picked:
            complaints, praise = COMMENT_TEMPLATES[themes[t]]
            pool = complaints if g[t] < -0.5 or not praise else praise
            sentences.append(pool[rng.integers(len(pool))])
        if rng.random() < 0.06:
            complaints, _ = COMMENT_TEMPLATES[("parking", "cafe")[rng.integers(2)]]
            sentences.append(complaints[rng.integers(len(complaints))])
        if rng.random() < 0.03:
            sentences.append(("Contact me at jo.bloggs@example.edu if you want details.",
                              "You can call me on 0412 345 678.", "My student number is 20231234.")[rng.integers(3)])
        out[i] = " ".join(sentences)
    return out


def consortium_member(instrument: str | Instrument, k: int, *, n: int = 300, year: int = 2024,
                      folder: str | Path | None = None, base_year: int | None = None):
    """One synthetic institution's screened cycle, for consortium tests and benchmarks.

    Institution ``k`` has its own library profile (an overall level with sd 0.3, dimension
    levels and item offsets, all from ``library_seed = 1000 + k``) and its own respondents; everything else is
    :func:`simulate_responses` (``base_year``: the year its trend starts from, default
    :class:`Effects`' 2005).  The raw file goes to ``folder`` (default a temporary
    folder) and is read back with :func:`servqual.read_survey`, segments ``segment`` and
    ``branch``.

    Examples
    --------
    >>> from servqual.synthetic import consortium_member
    >>> member = consortium_member("servqual-22", 3, n=50)
    >>> member.year, member.n_read
    (2024, 50)
    """
    import tempfile

    from .io import read_survey

    inst = load_instrument(instrument)
    effects = Effects(base_year=base_year) if base_year is not None else None
    frame = simulate_responses(inst, n=n, year=year, seed=10_000 + 97 * k + year, library_seed=1000 + k,
                               library_sd=0.3, effects=effects)
    folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="servqual-consortium-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"member-{k}-{year}.csv"
    frame.to_csv(path, index=False, lineterminator="\n")
    return read_survey(path, inst, id="respondent_id", segments=["segment", "branch"], year=year)


#: Attributes of synthetic consortium members (value → share), for peer selection.
INSTITUTION_TYPES: Mapping[str, float] = {"university": 0.55, "college": 0.25, "research": 0.12, "public": 0.08}
REGIONS: Mapping[str, float] = {"north": 0.3, "south": 0.3, "east": 0.2, "west": 0.2}


def simulate_consortium(
    folder: str | Path,
    *,
    institutions: int = 30,
    years: Sequence[int] = (2022, 2023, 2024),
    forms: Sequence[str] = ("library-core-22", "library-revised-25"),
    respondents: tuple[int, int] = (80, 600),
    participation: float = 0.75,
    shareable: float = 0.3,
    first: int = 0,
    prefix: str = "lib-",
    seed: int = 1,
) -> pd.DataFrame:
    """Write a synthetic consortium dataset: many libraries, several years, a change of form.

    Each institution ``k`` (ids ``f"{prefix}{k:03d}"``, ``k`` from ``first``) has its own
    profile (:func:`consortium_member`: dimension levels and item offsets of its own, the
    year trend starting at ``years[0]``), a size (respondents per cycle, log-uniform in
    ``respondents``), attributes drawn from :data:`INSTITUTION_TYPES` and :data:`REGIONS`,
    and a ``shareable`` flag (``"yes"`` with probability ``shareable``).  It surveys in a
    year with probability ``participation`` (at least once).  With two ``forms`` it moves
    from the first to the second once, in a year drawn from ``years[1:]`` or never (the
    three-column form to the revised two-question form, as the programme did), so every
    year after its switch uses the new form.  Every cycle is simulated as a raw export,
    read and screened by :func:`servqual.read_survey` and added with
    :func:`servqual.consortium_add`, exactly as a member's own cycle would be.

    ``<folder>/institutions.csv`` gets one row per institution: ``institution``, ``type``,
    ``size_band`` (small < 200 ≤ medium < 500 ≤ large respondents per cycle), ``region``,
    ``shareable``, ``switched`` (the year of the change of form, blank when none), by
    :func:`servqual.norms.set_institutions` (rows of other institutions are kept).

    Returns
    -------
    pandas.DataFrame
        One row per cycle written: institution, year, form, respondents (kept), and the
        institution's attributes.

    Examples
    --------
    >>> import tempfile
    >>> from servqual.synthetic import simulate_consortium
    >>> cycles = simulate_consortium(tempfile.mkdtemp(), institutions=4, respondents=(40, 60))
    >>> sorted(cycles["form"].unique())
    ['library-core-22', 'library-revised-25']
    >>> bool((cycles.groupby("institution")["year"].count() >= 1).all())
    True
    """
    import tempfile

    from .norms import consortium_add, set_institutions

    if not 1 <= len(forms) <= 2:
        raise ValueError(f"forms: one form, or two (before and after the change), got {list(forms)}")
    years = sorted(int(y) for y in years)
    root = Path(folder)
    rng = np.random.default_rng(seed)
    rows, cycles = [], []
    with tempfile.TemporaryDirectory(prefix="servqual-consortium-") as raw:
        for k in range(first, first + institutions):
            size = int(round(np.exp(rng.uniform(np.log(respondents[0]), np.log(respondents[1])))))
            kind = rng.choice(list(INSTITUTION_TYPES), p=_shares(INSTITUTION_TYPES))
            region = rng.choice(list(REGIONS), p=_shares(REGIONS))
            share = "yes" if rng.random() < shareable else "no"
            switch = None
            if len(forms) == 2 and len(years) > 1:
                options = [*years[1:], None]
                switch = options[rng.integers(len(options))]
            taking = rng.random(len(years)) < participation
            if not taking.any():
                taking[rng.integers(len(years))] = True
            ident = f"{prefix}{k:03d}"
            band = "small" if size < 200 else "medium" if size < 500 else "large"
            rows.append({"institution": ident, "type": str(kind), "size_band": band, "region": str(region),
                         "shareable": share, "switched": "" if switch is None else str(switch)})
            for year, take in zip(years, taking):
                if not take:
                    continue
                form = forms[1] if switch is not None and year >= switch else forms[0]
                n = max(20, int(rng.normal(size, 0.1 * size)))
                survey = consortium_member(form, k, n=n, year=year, folder=raw, base_year=years[0])
                consortium_add(survey, root, institution=ident)
                cycles.append({"institution": ident, "year": year, "form": form, "respondents": survey.n})
    table = pd.DataFrame(rows)
    set_institutions(root, table)
    return pd.DataFrame(cycles).merge(table, on="institution", how="left")


def _shares(mapping: Mapping[str, float]) -> np.ndarray:
    p = np.array(list(mapping.values()), dtype=float)
    return p / p.sum()


def simulate_staff(
    n: int = 160,
    *,
    year: int = 2007,
    seed: int = 7,
    branches: Mapping[str, float] | None = None,
    climate: Mapping[str, float] | None = None,
    unit_sd: float = 0.35,
    defects: Defects | None = None,
) -> pd.DataFrame:
    """Simulate the ``hpws-staff`` climate survey: staff nested in branches.

    Each branch has its own climate level (``climate``; by default ``BRANCH_CLIMATE``
    for the sample branches, drawn with sd ``unit_sd`` for others), so that unit-level
    aggregation is justified; branches with a better climate are the ones whose clients
    report better service in :func:`simulate_responses`' default ``branch_effects``.
    Columns: ``respondent_id`` (survey-assigned), ``year``, ``branch``, ``role``,
    ``agreement_<item>``.
    """
    inst = load_instrument("hpws-staff")
    rng = np.random.default_rng(seed)
    branches = dict(branches or BRANCHES)
    defects = defects or Defects(missing_cell=0.01, not_applicable_item=0.01, mostly_not_applicable=0.0)
    names = list(branches)
    drawn = rng.normal(0, unit_sd, size=len(names))
    known = dict(BRANCH_CLIMATE if climate is None else climate)
    climate = {b: known.get(b, float(v)) for b, v in zip(names, drawn)}
    branch = rng.choice(names, size=n, p=np.array(list(branches.values())) / sum(branches.values()))
    dims = list(inst.dimensions)
    items = list(inst.items)
    dim_index = np.array([dims.index(inst.items[i].dimension) for i in items])
    z = _equicorrelated(rng, n, len(dims), rho=0.55, sd=0.7)
    base = 3.5 + rng.uniform(-0.4, 0.3, size=len(dims))
    latent = base + np.array([climate[b] for b in branch])[:, None] + z
    values = np.clip(np.rint(latent[:, dim_index] + rng.normal(0, 0.6, size=(n, len(items)))), 1, 5)
    rev = [items.index(i) for i in inst.reverse_items]
    values[:, rev] = 6 - values[:, rev]
    values[rng.random(values.shape) < defects.missing_cell] = np.nan
    values[rng.random(values.shape) < defects.not_applicable_item] = 9
    frame = pd.DataFrame({"respondent_id": [f"S{i:04d}" for i in range(1, n + 1)], "branch": branch})
    frame["role"] = rng.choice(["frontline", "technical", "management"], size=n, p=[0.6, 0.28, 0.12])
    for j, item in enumerate(items):
        frame[f"agreement_{item}"] = pd.array(values[:, j], dtype="Float64").astype("Int64")
    frame.insert(1, "year", year)
    return frame


#: The committed sample cycles: file name → (instrument, keyword arguments).
SAMPLES = {
    "library-2005.csv": ("servqual-22", dict(n=1180, year=2005, seed=2005, columns={"expectation": "E{index:02d}", "perception": "P{index:02d}"})),
    "library-2006.csv": ("servqual-22", dict(n=1320, year=2006, seed=2006, columns={"expectation": "E{index:02d}", "perception": "P{index:02d}"})),
    "library-2007.csv": ("servqual-22", dict(n=1460, year=2007, seed=2007, columns={"expectation": "E{index:02d}", "perception": "P{index:02d}"}, comments=0.33)),
    "library-core-2007.csv": (
        "library-core-22",
        dict(n=1250, year=2007, seed=70, defects=Defects(missing_cell=0.0004, abandoned=0.015), comments=0.33),
    ),
    "client-ipa-2007.csv": ("importance-performance", dict(n=900, year=2007, seed=71)),
    "library-revised-2009.csv": (
        "library-revised-25",
        dict(n=1300, year=2009, seed=90, defects=Defects(missing_cell=0.0004, abandoned=0.015), comments=0.33),
    ),
    "library-lite-2008.csv": (
        "library-lite-22",
        dict(n=1400, year=2008, seed=80, sampled_shown=5, defects=Defects(missing_cell=0.0004, abandoned=0.015)),
    ),
}


def write_sample_data(folder: str | Path = "data/raw") -> list[Path]:
    """(Re)write the sample cycles into ``folder``; returns the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (instrument, kwargs) in SAMPLES.items():
        frame = simulate_responses(instrument, **kwargs)
        frame.to_csv(folder / name, index=False, lineterminator="\n")
        written.append(folder / name)
    staff = simulate_staff()
    staff.to_csv(folder / "staff-hpws-2007.csv", index=False, lineterminator="\n")
    written.append(folder / "staff-hpws-2007.csv")
    return written


#: The sample consortium's peer libraries: (prefix, keyword arguments of simulate_consortium).
SAMPLE_PEERS = (
    ("peer-sq-", dict(institutions=24, years=(2005, 2006, 2007), forms=("servqual-22",), respondents=(60, 400),
                      seed=5)),
    ("peer-lq-", dict(institutions=30, years=(2007, 2008, 2009), forms=("library-core-22", "library-revised-25"),
                      respondents=(60, 400), seed=7)),
)


def write_sample_consortium(folder: str | Path = "data/consortium") -> pd.DataFrame:
    """(Re)write the sample consortium's peer libraries (:data:`SAMPLE_PEERS`: SERVQUAL-22
    libraries 2005–2007, and library-form libraries 2007–2009 that move from the
    three-column to the revised form); returns the institutions table.  The folder is
    derived data (not committed): ``servqual consortium sample DATASET --add PARAMS…``
    (which ``make report`` runs when it is missing) writes it and adds the sample
    library's own cycles."""
    import shutil

    root = Path(folder)
    if root.exists():
        shutil.rmtree(root)
    for prefix, kwargs in SAMPLE_PEERS:
        simulate_consortium(root, prefix=prefix, **kwargs)
    return pd.read_csv(root / "institutions.csv", dtype=str, keep_default_na=False)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the synthetic sample survey cycles.")
    parser.add_argument("folder", nargs="?", default="data/raw")
    args = parser.parse_args(argv)
    for path in write_sample_data(args.folder):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
