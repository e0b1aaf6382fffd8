"""The committed golden values are what tests/r/gap_table.R computes today.

Runs only where R with jsonlite is installed (`make golden` needs it too); the golden
comparisons themselves (test_scoring.py, test_screening.py) never need R.
"""

import json
import os
import shutil
import subprocess

import pytest

from .conftest import GOLDEN, ROOT


def _has_r() -> bool:
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(jsonlite)"], capture_output=True).returncode == 0


has_r = _has_r()


@pytest.mark.skipif(not has_r, reason="Rscript with jsonlite is not installed (Debian: r-base-core r-cran-jsonlite)")
def test_golden_files_are_current(tmp_path):
    env = dict(os.environ, SERVQUAL_GOLDEN_OUT=str(tmp_path))
    subprocess.run(["Rscript", str(ROOT / "tests" / "r" / "gap_table.R")], check=True, env=env, capture_output=True)
    for name in ("gap_table_servqual.json", "gap_table_core.json", "screening_core.json"):
        assert json.loads((tmp_path / name).read_text()) == json.loads((GOLDEN / name).read_text()), name
