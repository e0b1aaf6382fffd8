from html.parser import HTMLParser

import pytest

import servqual as sq
from servqual.cli import main
from servqual.questionnaire import entry_template, questionnaire_html, questionnaire_markdown
from servqual.synthetic import simulate_responses

BUILT_IN = list(sq.list_instruments()["id"])


class _Form(HTMLParser):
    """Collects input names, radio values per name, fieldset/legend balance and sections."""

    def __init__(self):
        super().__init__()
        self.names, self.radios, self.stack, self.sections, self.legends = [], {}, [], 0, 0
        self.labelled = True

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("fieldset", "section", "label"):
            self.stack.append(tag)
        if tag == "section":
            self.sections += 1
        if tag == "legend":
            self.legends += 1
        if tag == "textarea":
            self.names.append(attrs["name"])
        if tag == "input":
            self.names.append(attrs["name"])
            if attrs.get("type") == "radio":
                self.radios.setdefault(attrs["name"], []).append(attrs["value"])
                self.labelled &= "label" in self.stack
            else:
                self.labelled &= "id" in attrs  # number inputs use <label for=…>

    def handle_endtag(self, tag):
        if tag in ("fieldset", "section", "label"):
            assert self.stack.pop() == tag


@pytest.mark.parametrize("inst_id", BUILT_IN)
def test_template_round_trip_without_column_mapping(inst_id, tmp_path):
    """A filled-in template reads back and scores with no column mapping at all."""
    inst = sq.load_instrument(inst_id)
    template = entry_template(inst)
    answers = simulate_responses(inst, n=150, seed=5)
    answers["comments"] = ""
    missing = set(template.columns) - set(answers.columns)
    assert not missing, missing
    path = tmp_path / "entered.csv"
    answers[list(template.columns)].to_csv(path, index=False)
    survey = sq.read_survey(path, inst, id="respondent_id", segments=["segment"])
    assert survey.n_read == 150
    table = sq.gap_table(survey, "dimension", by="segment", min_group_n=1)
    for quantity in inst.quantities:
        assert table[quantity].notna().all()
    assert (survey.weights is not None) == inst.weights
    assert (survey.overall is not None) == (inst.overall is not None)


@pytest.mark.parametrize("inst_id", BUILT_IN)
def test_html_form_is_complete_and_accessible(inst_id):
    inst = sq.load_instrument(inst_id)
    page = questionnaire_html(inst, segments=["undergraduate", "postgraduate"])
    form = _Form()
    form.feed(page)
    assert not form.stack  # every fieldset, section and label closed
    template = entry_template(inst)
    # every template column but the id is asked, under the same name
    assert set(form.names) == set(template.columns) - {"respondent_id"}
    points = [str(p) for p in range(inst.scale.min, inst.scale.max + 1)]
    for item in inst.items:
        for measure in inst.measures:
            values = form.radios[f"{measure}_{item}"]
            assert values[: len(points)] == points
            assert ("N/A" in page) == bool(inst.not_applicable)
    assert form.radios["segment"] == ["undergraduate", "postgraduate"]
    assert form.labelled
    assert '<textarea id="comments" name="comments"' in page
    assert "page-break-after: always" in page
    for label in inst.scale.labels.values():
        assert label in page
    if inst.layout == "blocks":
        assert form.sections == 2 + len(inst.measures) + (1 if inst.weights else 0)
        assert page.index("Part 1: Your expectations") < page.index("Part 2: Your experience of this library")
    if inst.weights:
        assert "must add up to 100" in page


def test_markdown_and_cli(tmp_path, capsys):
    text = questionnaire_markdown("library-core-22")
    assert "| # | Statement | Minimum | Desired | Perceived |" in text
    assert text.count("[N/A]") == 22 * 3
    assert main(["questionnaire", "servqual-22", "--format", "csv"]) == 0
    header = capsys.readouterr().out.strip().split(",")
    assert header == list(entry_template("servqual-22").columns)
    out = tmp_path / "q.html"
    assert main(["questionnaire", "servqual-22-1988", "--output", str(out), "--segments", "staff,students"]) == 0
    assert 'value="students"' in out.read_text()
    with pytest.raises(ValueError, match="format must be"):
        sq.questionnaire.questionnaire("servqual-22", "pdf")


def test_instrument_layout_key(tmp_path):
    path = tmp_path / "i.yaml"
    path.write_text("id: x\nscale: {min: 1, max: 5}\nmeasures: [expectation, perception]\nlayout: side_by_side\n"
                    "dimensions: {d: [a]}\nitems: {a: A}\n")
    assert sq.load_instrument(path).layout == "side_by_side"
    path.write_text(path.read_text().replace("side_by_side", "columns"))
    with pytest.raises(sq.InstrumentError, match="layout must be one of blocks, side_by_side"):
        sq.load_instrument(path)
