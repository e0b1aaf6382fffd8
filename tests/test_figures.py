import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import servqual as sq  # noqa: E402
from servqual.cli import main  # noqa: E402
from servqual.figures import cycle_figures, save_figures, slug  # noqa: E402

from .conftest import ROOT, SAMPLE, SQ_COLUMNS  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_slug():
    from servqual.sections import unique_slug

    assert slug("academic staff") == "academic-staff" and slug("  ") == "group"
    assert slug("남") == "남" and slug("여") == "여"  # letters survive in any script
    used = set()
    assert [unique_slug(x, used) for x in ("Post-graduate", "post graduate", "남", "여")] == [
        "post-graduate", "post-graduate-2", "남", "여"]  # never two files for one name


def test_cycle_figures_suppress_small_groups(sample_2005):
    figures = cycle_figures(sample_2005, by="segment", min_group_n=150)
    assert {"radar-by-segment", "radar-all", "gaps-overall", "gaps-by-segment", "heatmap",
            "ipa", "likert", "profile-all"} <= set(figures)
    # library staff (111 respondents < 150) is in no per-group figure, nor academic staff, hidden with it so
    # that library staff cannot be recovered from the total
    panels = figures["radar-by-segment"].axes
    assert [ax.get_title().split(" (n")[0] for ax in panels] == ["postgraduate", "undergraduate"]
    dots = figures["gaps-by-segment"].axes[0]
    assert [t.get_text().split(" (n")[0] for t in dots.get_legend().get_texts()] == ["postgraduate", "undergraduate"]


def test_three_column_cycle_has_zone_of_tolerance():
    core = sq.read_survey(SAMPLE / "library-core-2007.csv", "library-core-22", id="respondent_id",
                          segments=["segment"], year=2007, comments="comment")
    figures = cycle_figures(core)
    assert "zone-of-tolerance" in figures and "trend" not in figures


def test_save_figures_writes_files_and_alt_texts(tmp_path, sample_2005):
    cycles = [sample_2005, sq.read_survey(SAMPLE / "library-2006.csv", "servqual-22", columns=SQ_COLUMNS,
                                          id="respondent_id", segments=["segment", "branch"], year=2006)]
    figures = cycle_figures(sample_2005, cycles=cycles)
    assert "trend" in figures
    paths = save_figures(figures, tmp_path)
    index = json.loads((tmp_path / "figures.json").read_text())
    assert set(index) == set(figures)
    for name in figures:
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
        assert (tmp_path / f"{name}.svg").read_text().startswith("<?xml")
        assert len(index[name]) > 20
    assert len(paths) == 2 * len(figures) + 1
    # the same figure saved twice gives the same SVG bytes (no dates, fixed ids)
    again = save_figures({"gaps-overall": cycle_figures(sample_2005)["gaps-overall"]}, tmp_path / "again",
                         formats=("svg",))
    assert again[0].read_bytes() == (tmp_path / "gaps-overall.svg").read_bytes()


def test_cli_figures(tmp_path, capsys):
    assert main(["figures", str(ROOT / "params" / "library-core-2007.yaml"), "--output", str(tmp_path), "--format", "png"]) == 0
    assert "figures (png)" in capsys.readouterr().out
    assert (tmp_path / "zone-of-tolerance.png").exists() and not list(tmp_path.glob("*.svg"))
