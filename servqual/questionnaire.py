"""Questionnaires and data-entry templates generated from the instrument that scores them.

"So ask the client": what is asked and what is analysed come from one definition, so
they cannot drift apart.  :func:`questionnaire_html` is a printable, accessible form
(one page per section); :func:`questionnaire_markdown` the same as text;
:func:`entry_template` the CSV header with exactly the columns :func:`servqual.read_survey`
reads without any column mapping.

    servqual questionnaire servqual-22 --format html --output servqual-22.html
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from .instrument import Instrument, load_instrument

__all__ = ["DEFAULT_SEGMENTS", "entry_template", "questionnaire", "questionnaire_html", "questionnaire_markdown"]

DEFAULT_SEGMENTS = ("undergraduate", "postgraduate", "academic staff", "library staff", "other")
ID_COLUMN = "respondent_id"
SEGMENT_COLUMN = "segment"
COMMENTS_COLUMN = "comments"

#: How each measure is asked, in our own words.
PROMPTS = {
    "expectation": ("Your expectations", "Think about an excellent library. How far do you agree that an excellent "
                    "library would have each feature?"),
    "perception": ("Your experience of this library", "Now think about this library. How far do you agree that "
                   "it has each feature?"),
    "minimum": ("Minimum", "the lowest level of service you would accept"),
    "desired": ("Desired", "the level of service you personally want"),
    "perceived": ("Perceived", "the level of service you believe the library currently provides"),
    "importance": ("Importance", "how important this is to you"),
    "performance": ("Performance", "how well the library performs on it"),
    "agreement": ("Your view", "How far do you agree with each statement about working here?"),
}


#: How a measure is asked when its name is not one of the above: by its role.
ROLE_PROMPTS = {
    "performance": "the level of service you believe the library currently provides",
    "standard": "the level of service you expect",
    "importance": "how important this is to you",
    "agreement": "how far you agree with each statement",
}


def prompt(inst: Instrument, measure: str) -> tuple[str, str]:
    """The heading and question text of one measure: its own words for the built-in names,
    else words chosen by its role (and zone of tolerance bound)."""
    if measure in PROMPTS:
        return PROMPTS[measure]
    zone = inst.zone.get(measure)
    if zone is not None:
        return inst.measure_label(measure).capitalize(), PROMPTS[zone][1]
    return inst.measure_label(measure).capitalize(), ROLE_PROMPTS[inst.role(measure)]


def _columns(inst: Instrument) -> dict[str, dict[str, str]]:
    from .io import resolve_columns

    return resolve_columns(inst, None)


def entry_template(instrument, *, comments: bool = True) -> pd.DataFrame:
    """The data-entry template: an empty table with exactly the columns ``read_survey``
    reads by default — id, segment, each measure × item (``{measure}_{item}``), the
    ``weight_<dimension>`` allocation where the instrument has one, the overall item and
    a free-text comments column.

    Examples
    --------
    >>> from servqual.questionnaire import entry_template
    >>> list(entry_template('library-core-22').columns[:4])
    ['respondent_id', 'segment', 'minimum_AS1', 'minimum_IC1']
    """
    inst = load_instrument(instrument)
    columns = [ID_COLUMN, SEGMENT_COLUMN]
    mapping = _columns(inst)
    for measure in inst.measures:
        columns += [mapping[measure][item] for item in inst.items]
    if inst.weights:
        columns += [f"weight_{d}" for d in inst.dimensions]
    if inst.overall is not None:
        columns.append(inst.overall.id)
    if comments:
        columns.append(COMMENTS_COLUMN)
    return pd.DataFrame(columns=columns)


def _anchor(inst: Instrument, point: int, scale=None) -> str:
    scale = scale or inst.scale
    return scale.labels.get(point, "") if scale else ""


def _na_code(inst: Instrument):
    return next(iter(inst.not_applicable), None)


def _radios(inst: Instrument, name: str, legend: str, *, scale=None, hidden_legend: bool = False) -> str:
    scale = scale or inst.scale
    na = _na_code(inst)
    options = []
    for point in range(scale.min, scale.max + 1):
        anchor = _anchor(inst, point, scale)
        label = f"{point}" + (f' <span class="anchor">{html.escape(anchor)}</span>' if anchor else "")
        options.append(
            f'<label><input type="radio" name="{name}" value="{point}"> {label}</label>'
        )
    if na is not None and scale is inst.scale:
        options.append(f'<label class="na"><input type="radio" name="{name}" value="{html.escape(str(na))}"> N/A</label>')
    cls = ' class="visually-hidden"' if hidden_legend else ""
    return (f'<fieldset class="rating"><legend{cls}>{legend}</legend>'
            f'<div class="options">{"".join(options)}</div></fieldset>')


_STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; max-width: 52rem; margin: 2rem auto; color: #111; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; border-bottom: 1px solid #999; padding-bottom: .2rem; }
section { margin-bottom: 2rem; }
fieldset { border: 0; margin: 0 0 .9rem 0; padding: 0; }
fieldset.item { border-top: 1px solid #ddd; padding-top: .5rem; }
legend { font-weight: 600; margin-bottom: .3rem; }
fieldset.rating legend { font-weight: 400; font-size: .9rem; }
.options { display: flex; flex-wrap: wrap; gap: .4rem 1rem; }
.options label { white-space: nowrap; }
.anchor { font-size: .75rem; color: #555; }
.na { margin-left: 1rem; }
.scale-anchors { font-size: .9rem; color: #333; }
.visually-hidden { position: absolute; left: -10000px; }
textarea { width: 100%; }
@media print {
  body { margin: 0; max-width: none; }
  section { page-break-after: always; break-after: page; }
  section:last-of-type { page-break-after: auto; break-after: auto; }
}
"""


def questionnaire_html(instrument, *, segments: Sequence[str] = DEFAULT_SEGMENTS, title: str | None = None) -> str:
    """A printable, accessible HTML questionnaire for an instrument (one page per section).

    Input names equal the data-entry template's columns, so an online version of the
    form yields a file :func:`servqual.read_survey` reads without column mapping.

    Examples
    --------
    >>> from servqual.questionnaire import questionnaire_html
    >>> '<fieldset' in questionnaire_html('servqual-22')
    True
    """
    inst = load_instrument(instrument)
    mapping = _columns(inst)
    esc = html.escape
    title = title or inst.title
    scale = inst.scale
    anchors = ", ".join(f"{p} = {esc(t)}" for p, t in sorted(scale.labels.items())) if scale else ""
    na = _na_code(inst)
    sections = []
    intro = (
        "<p>Thank you for taking part. Please answer every question that applies to you"
        + ("; choose <strong>N/A</strong> where a question does not apply" if na is not None else "")
        + ". Your answers are anonymous and are reported only for groups of respondents.</p>"
        + (f'<p class="scale-anchors">Scale: {scale.min} to {scale.max} ({anchors}).</p>' if scale else "")
    )
    options = "".join(
        f'<label><input type="radio" name="{SEGMENT_COLUMN}" value="{esc(s)}"> {esc(s.capitalize())}</label>'
        for s in segments
    )
    sections.append(
        '<section aria-labelledby="about-you"><h2 id="about-you">About you</h2>'
        f'<fieldset class="item"><legend>Which group describes you best?</legend><div class="options">{options}</div>'
        "</fieldset></section>"
    )
    items = list(inst.items.values())
    if inst.layout == "blocks":
        for k, measure in enumerate(inst.measures, start=1):
            heading, question = prompt(inst, measure)
            rows = "".join(
                f'<fieldset class="item"><legend>{it.index}. {esc(it.text)}</legend>'
                + _radios(inst, mapping[measure][it.id], f"{esc(heading)}: {esc(it.text)}", hidden_legend=True)
                + "</fieldset>"
                for it in items
            )
            sections.append(f'<section aria-labelledby="part-{k}"><h2 id="part-{k}">Part {k}: {esc(heading)}</h2>'
                            f"<p>{esc(question)}</p>{rows}</section>")
    else:
        explain = "; ".join(f"<strong>{esc(prompt(inst, m)[0])}</strong>: "
                            f"{esc(prompt(inst, m)[1])}" for m in inst.measures)
        rows = []
        for it in items:
            ratings = "".join(
                _radios(inst, mapping[m][it.id], esc(prompt(inst, m)[0])) for m in inst.measures
            )
            rows.append(f'<fieldset class="item"><legend>{it.index}. {esc(it.text)}</legend>{ratings}</fieldset>')
        sections.append('<section aria-labelledby="ratings"><h2 id="ratings">Your ratings</h2>'
                        f"<p>For each statement, rate {explain}.</p>{''.join(rows)}</section>")
    if inst.weights:
        total = int(inst.weights_total)
        inputs = "".join(
            f'<p><label for="w-{d}">{esc(inst.dimension_label(d))}: '
            f'{esc("; ".join(inst.items[i].text.rstrip(".") for i in its[:2]))}…</label> '
            f'<input type="number" id="w-{d}" name="weight_{d}" min="0" max="{total}" step="1" size="4"> points</p>'
            for d, its in inst.dimensions.items()
        )
        sections.append(
            '<section aria-labelledby="weights"><h2 id="weights">How important is each area?</h2>'
            f"<p>Share {total} points among these areas to show how important each is to you. "
            f"The points must add up to {total}.</p>{inputs}</section>"
        )
    closing = []
    if inst.overall is not None:
        closing.append(f'<fieldset class="item"><legend>{esc(inst.overall.text)}</legend>'
                       + _radios(inst, inst.overall.id, esc(inst.overall.text), scale=inst.overall_scale,
                                 hidden_legend=True) + "</fieldset>")
    closing.append(f'<p><label for="{COMMENTS_COLUMN}"><strong>Comments</strong>: anything else you would like to '
                   f'tell us (please do not include names or contact details)</label></p>'
                   f'<textarea id="{COMMENTS_COLUMN}" name="{COMMENTS_COLUMN}" rows="6"></textarea>')
    sections.append('<section aria-labelledby="overall"><h2 id="overall">Overall</h2>' + "".join(closing) + "</section>")
    return (
        f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{esc(title)}</title>\n'
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{esc(title)}</h1>\n{intro}\n"
        f'<form method="post" aria-label="{esc(title)}">\n' + "\n".join(sections) + "\n</form>\n</main>\n</body>\n</html>\n"
    )


def questionnaire_markdown(instrument, *, segments: Sequence[str] = DEFAULT_SEGMENTS, title: str | None = None) -> str:
    """The questionnaire as Markdown (for editing or pasting into a survey tool).

    Examples
    --------
    >>> from servqual.questionnaire import questionnaire_markdown
    >>> '| # | Statement |' in questionnaire_markdown('library-core-22')
    True
    """
    inst = load_instrument(instrument)
    scale = inst.scale
    na = _na_code(inst)
    points = " ".join(f"[{p}]" for p in range(scale.min, scale.max + 1)) + (" [N/A]" if na is not None else "")
    lines = [f"# {title or inst.title}", ""]
    if scale and scale.labels:
        lines += ["Scale: " + ", ".join(f"{p} = {t}" for p, t in sorted(scale.labels.items())), ""]
    lines += ["## About you", "", "Which group describes you best? " + " / ".join(s.capitalize() for s in segments), ""]
    items = list(inst.items.values())
    if inst.layout == "blocks":
        for k, measure in enumerate(inst.measures, start=1):
            heading, question = prompt(inst, measure)
            lines += [f"## Part {k}: {heading}", "", question, ""]
            lines += [f"{it.index}. {it.text}  {points}" for it in items] + [""]
    else:
        lines += ["## Your ratings", ""]
        lines += ["For each statement, rate " + "; ".join(
            f"**{prompt(inst, m)[0]}**: {prompt(inst, m)[1]}" for m in inst.measures) + ".", ""]
        header = "| # | Statement | " + " | ".join(prompt(inst, m)[0] for m in inst.measures) + " |"
        lines += [header, "|" + "---|" * (2 + len(inst.measures))]
        lines += [f"| {it.index} | {it.text} | " + " | ".join(points for _ in inst.measures) + " |" for it in items]
        lines += [""]
    if inst.weights:
        total = int(inst.weights_total)
        lines += ["## How important is each area?", "", f"Share {total} points among these areas (they must add up "
                  f"to {total}):", ""]
        lines += [f"- {inst.dimension_label(d)}: ____ points" for d in inst.dimensions] + [""]
    lines += ["## Overall", ""]
    if inst.overall is not None:
        oscale = inst.overall_scale
        lines += [f"{inst.overall.text}  " + " ".join(f"[{p}]" for p in range(oscale.min, oscale.max + 1)), ""]
    lines += ["Comments (please do not include names or contact details):", "", "______________________________", ""]
    return "\n".join(lines)


def questionnaire(instrument, format: str = "html", **kwargs) -> str:  # noqa: A002 - the CLI's word
    """The questionnaire (``"html"``, ``"markdown"``) or the template (``"csv"``) as text.

    Examples
    --------
    >>> from servqual.questionnaire import questionnaire
    >>> text = questionnaire('servqual-22', 'markdown')
    >>> text.splitlines()[0]
    '# SERVQUAL, 22 items (1991-style positive wording, 1988 item blocks)'
    """
    if format == "html":
        return questionnaire_html(instrument, **kwargs)
    if format == "markdown":
        return questionnaire_markdown(instrument, **kwargs)
    if format == "csv":
        return entry_template(instrument).to_csv(index=False, lineterminator="\n")
    raise ValueError(f"format must be 'html', 'markdown' or 'csv', got {format!r}")
