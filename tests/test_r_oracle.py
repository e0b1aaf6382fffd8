"""The committed golden values are what the R scripts in tests/r/ compute today.

Runs only where R and the packages are installed (`make golden` needs them too); the
golden comparisons themselves (test_scoring, test_screening, test_reliability,
test_dimensionality) never need R.
"""

import json
import os
import shutil
import subprocess

import pytest

from .conftest import GOLDEN, ROOT

SCRIPTS = {
    "gap_table.R": (["jsonlite"], ["gap_table_servqual.json", "gap_table_core.json", "screening_core.json"]),
    "reliability.R": (["jsonlite", "psych"], ["reliability.json"]),
    "dimensionality.R": (["jsonlite", "psych", "GPArotation", "lavaan"], ["dimensionality.json"]),
    "compare.R": (["jsonlite", "sandwich"], ["compare.json"]),
    "linkage.R": (["jsonlite", "lme4"], ["linkage.json"]),
    "invariance.R": (["jsonlite", "lavaan"], ["invariance.json"]),
    "polychoric.R": (["jsonlite", "psych", "polycor"], ["polychoric.json"]),
}


def _has(packages) -> bool:
    if shutil.which("Rscript") is None:
        return False
    code = "; ".join(f"library({p})" for p in packages)
    return subprocess.run(["Rscript", "-e", code], capture_output=True).returncode == 0


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_golden_files_are_current(script, tmp_path):
    packages, outputs = SCRIPTS[script]
    if not _has(packages):
        pytest.skip(f"Rscript with {', '.join(packages)} is not installed (Debian: r-base-core r-cran-…)")
    env = dict(os.environ, SERVQUAL_GOLDEN_OUT=str(tmp_path))
    subprocess.run(["Rscript", str(ROOT / "tests" / "r" / script)], check=True, env=env, capture_output=True)
    for name in outputs:
        assert json.loads((tmp_path / name).read_text()) == json.loads((GOLDEN / name).read_text()), name
