"""Draw the figure gallery: every figure of the bundled sample cycles into docs/gallery/,
with docs/gallery.md showing each one beside its alt text.  Run by ``make gallery``.

The gallery is how we look at the figures as a reader would, after every change to
``servqual/plots.py``; its PNG files are committed so the README and reviewers can see them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import servqual as sq  # noqa: E402
from servqual import plots  # noqa: E402
from servqual.figures import cycle_figures, save_figures  # noqa: E402
from servqual.linkage import link  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SETS = [
    ("servqual-2005", "SERVQUAL 22 items, 2005 sample (expectation and perception; 2005–2007 for the trend)",
     "params/2005.yaml", ["params/2005.yaml", "params/2006.yaml", "params/2007.yaml"]),
    ("library-core-2007", "Library three-column form, 2007 sample (minimum, desired, perceived)",
     "params/library-core-2007.yaml", None),
    ("ipa-2007", "Importance–performance survey, 2007 sample", "params/ipa-2007.yaml", None),
    ("staff-hpws-2007", "Staff climate survey (HPWS), 2007 sample: one measure, no gaps",
     "params/staff-hpws-2007.yaml", None),
]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Figure gallery", "",
             "Every figure `servqual` draws for the bundled sample cycles, as a report shows it, with the alt "
             "text a screen reader reads. `make gallery` redraws it. Colours mean one thing everywhere: "
             "vermillion a shortfall, sky blue meets the standard, yellow the rest of the zone of tolerance, "
             "green exceeds; categories (segments, dimensions, years) take blue, orange, purple, black and grey, "
             "each with its own marker.", ""]
    for name, caption, params, cycles in SETS:
        survey = sq.read_cycle(ROOT / params)
        figures = cycle_figures(survey, cycles=[sq.read_cycle(ROOT / c) for c in cycles] if cycles else None)
        if name == "servqual-2005":
            dims = sq.gap_table(survey, "dimension", by="segment")
            figures["gap-radar-by-segment"] = plots.plot_gap_radar(
                dims, instrument=survey.instrument, hue="segment", title="Dimension gaps by segment 2005").figure
        if name == "staff-hpws-2007":
            result = link(survey, sq.read_cycle(ROOT / "params/2007.yaml"))
            figures["linkage"] = plots.plot_linkage(result.units, unit="branch",
                                                    title="Staff climate and clients' gap by branch 2007").figure
        save_figures(figures, out / name, formats=("png",), dpi=72)
        index = json.loads((out / name / "figures.json").read_text())
        lines += [f"## {caption}", ""]
        for stem, alt in index.items():
            lines += [f"### {stem}", "", f"![{alt}]({name}/{stem}.png)", "", f"> {alt}", ""]
    (out.parent / "gallery.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"gallery: {out.parent / 'gallery.md'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "gallery")
