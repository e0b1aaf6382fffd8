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
    "fiml.R": (["jsonlite", "lavaan"], ["fiml.json"]),
    "fiml_lite.R": (["jsonlite", "lavaan"], ["fiml_lite.json"]),
    "wlsmv.R": (["jsonlite", "lavaan"], ["wlsmv.json"]),
    "weighting.R": (["jsonlite", "survey"], ["weighting.json"]),
}
#: Scripts that take minutes in R (lavaan's FIML over 1,400 missing-data patterns): checked
#: only with SERVQUAL_SLOW_ORACLE=1; `make golden` always runs them.
SLOW = {"fiml_lite.R"}


_INSTALLED: set[str] | None = None


def _has(packages) -> bool:
    global _INSTALLED
    if shutil.which("Rscript") is None:
        return False
    if _INSTALLED is None:  # one R start for all the checks
        listed = subprocess.run(["Rscript", "-e", "cat(rownames(installed.packages()), sep='\\n')"],
                                capture_output=True, text=True)
        _INSTALLED = set(listed.stdout.split())
    return set(packages) <= _INSTALLED


@pytest.fixture(scope="module")
def r_runs(tmp_path_factory):
    """Every script started at once (each is one single-threaded R process, so they share the
    cores while the tests wait in turn): the oracle costs its longest script, not the sum."""
    runs = {}
    for script, (packages, _) in SCRIPTS.items():
        if not _has(packages) or (script in SLOW and not os.environ.get("SERVQUAL_SLOW_ORACLE")):
            runs[script] = None
            continue
        out = tmp_path_factory.mktemp(script.replace(".", "-"))
        env = dict(os.environ, SERVQUAL_GOLDEN_OUT=str(out))
        process = subprocess.Popen(["Rscript", str(ROOT / "tests" / "r" / script)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        runs[script] = (process, out)
    yield runs
    for run in runs.values():
        if run is not None and run[0].poll() is None:
            run[0].kill()


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_golden_files_are_current(script, r_runs):
    packages, outputs = SCRIPTS[script]
    if r_runs[script] is None and script in SLOW and not os.environ.get("SERVQUAL_SLOW_ORACLE"):
        pytest.skip(f"{script} takes minutes in R; run with SERVQUAL_SLOW_ORACLE=1 (make golden always runs it)")
    if r_runs[script] is None:
        pytest.skip(f"Rscript with {', '.join(packages)} is not installed (Debian: r-base-core r-cran-…)")
    process, out = r_runs[script]
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
    for name in outputs:
        assert json.loads((out / name).read_text()) == json.loads((GOLDEN / name).read_text()), name
