"""Write the fixtures that tests/r/gap_table.R computes golden values from.

Run by `make golden`; the fixtures and the golden files are committed.  The data come
from the package's generator with heavy defects (many blanks, N/A answers, swapped
minimum/desired columns) so that every scoring rule is exercised.
"""

from pathlib import Path

import numpy as np

from servqual.synthetic import Defects, simulate_responses, simulate_staff

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"


def main() -> None:
    """Write every fixture into tests/data (overwriting the committed ones)."""
    heavy = Defects(missing_cell=0.09, not_applicable_item=0.07, mostly_not_applicable=0.04,
                    straight_lining=0.03, blank_weights=0.08)
    frame = simulate_responses(
        DATA / "fixture-servqual.yaml", n=260, seed=11, year=2005,
        segments={"undergraduate": 0.55, "postgraduate": 0.3, "academic staff": 0.15},
        columns={"expectation": "E_{item}", "perception": "P_{item}"}, defects=heavy,
    )
    # a few respondents give weights to some dimensions only (blank = 0 points)
    rng = np.random.default_rng(3)
    for pos in rng.choice(len(frame), 6, replace=False):
        if frame.loc[pos, ["weight_alpha", "weight_beta", "weight_gamma"]].notna().all():
            frame.loc[pos, "weight_beta"] = frame.loc[pos, "weight_beta"] + frame.loc[pos, "weight_gamma"]
            frame.loc[pos, "weight_gamma"] = None
    frame.to_csv(DATA / "fixture-servqual.csv", index=False, lineterminator="\n")
    # the next cycle of the same survey, for year-to-year comparisons
    later = simulate_responses(
        DATA / "fixture-servqual.yaml", n=240, seed=21, year=2006,
        segments={"undergraduate": 0.55, "postgraduate": 0.3, "academic staff": 0.15},
        columns={"expectation": "E_{item}", "perception": "P_{item}"}, defects=heavy,
    )
    later.to_csv(DATA / "fixture-servqual-2006.csv", index=False, lineterminator="\n")

    core = simulate_responses(
        "library-core-22", n=420, seed=12, year=2007,
        defects=Defects(missing_cell=0.002, not_applicable_item=0.06, mostly_not_applicable=0.05,
                        swapped_columns=0.05, inversion_item=0.05, abandoned=0.02),
    )
    # N/A written as text in some cells, as some exports do
    text = core.astype("string")
    measure_cols = [c for c in core.columns if c.startswith(("minimum_", "desired_", "perceived_"))]
    for c in measure_cols[::3]:
        text.loc[text[c] == "0", c] = "N/A"
    text.to_csv(DATA / "fixture-core.csv", index=False, lineterminator="\n")
    # psychometrics: the 1988 wording (nine reverse-keyed items), few blanks, no N/A, so that
    # ~80% of respondents are complete for the CFA models
    psy = simulate_responses(
        "servqual-22-1988", n=600, seed=13, year=2005,
        defects=Defects(missing_cell=0.01, straight_lining=0.01, abandoned=0.005),
    )
    psy.to_csv(DATA / "fixture-psychometrics.csv", index=False, lineterminator="\n")
    # staff climate and client service in 12 branches, for the linkage golden values
    branches = {f"B{k:02d}": 1.0 for k in range(1, 13)}
    climate = dict(zip(branches, np.random.default_rng(31).normal(0, 0.35, size=12).round(3)))
    staff = simulate_staff(n=420, seed=32, branches=branches, climate=climate)
    staff.to_csv(DATA / "fixture-staff.csv", index=False, lineterminator="\n")
    clients = simulate_responses(
        "servqual-22", n=1500, seed=33, year=2007, branches=branches,
        branch_effects={b: 0.6 * c + float(e) for (b, c), e in zip(climate.items(),
                                                                   np.random.default_rng(34).normal(0, 0.08, 12))},
        defects=Defects(missing_cell=0.01),
    )
    clients.to_csv(DATA / "fixture-clients.csv", index=False, lineterminator="\n")
    print("wrote fixtures")


if __name__ == "__main__":  # pytest collects modules for doctests: importing must write nothing
    main()
