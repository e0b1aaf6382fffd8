"""Shared fixtures. Jupyter, IPython and matplotlib write into $HOME: point it elsewhere."""

import os
import tempfile
from pathlib import Path

import pytest

# uv's package cache stays where it was (a fresh venv then installs in seconds)
os.environ.setdefault("UV_CACHE_DIR", os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "uv"))
_home = tempfile.mkdtemp(prefix="servqual-test-home-")
for var in ("HOME", "MPLCONFIGDIR", "IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR",
            "JUPYTER_RUNTIME_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
    os.environ[var] = os.path.join(_home, var.lower())
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
GOLDEN = ROOT / "tests" / "golden"
SAMPLE = ROOT / "data" / "raw"
SQ_COLUMNS = {"expectation": "E{index:02d}", "perception": "P{index:02d}"}
FIXTURE_COLUMNS = {"expectation": "E_{item}", "perception": "P_{item}"}


def pytest_sessionstart(session):
    """The sample consortium (derived, not committed) that params/2007.yaml and the library
    samples name: built as `make` builds it, when a plain `pytest` run finds it missing."""
    import fcntl

    (ROOT / "data").mkdir(exist_ok=True)
    with open(ROOT / "data" / ".consortium.lock", "w") as lock:  # parallel workers build it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (ROOT / "data" / "consortium" / "institutions.csv").exists():
            from servqual.cli import main

            cycles = sorted(str(p) for p in (ROOT / "params").glob("*.yaml")
                            if any(line.startswith("consortium:") for line in p.read_text().splitlines()))
            assert main(["consortium", "sample", str(ROOT / "data" / "consortium"), "--add", *cycles]) == 0


@pytest.fixture(scope="session")
def sample_2005():
    import servqual as sq

    return sq.read_survey(SAMPLE / "library-2005.csv", "servqual-22", columns=SQ_COLUMNS,
                          id="respondent_id", segments=["segment", "branch"], year=2005)


@pytest.fixture(scope="session")
def fixture_survey():
    import servqual as sq

    return sq.read_survey(DATA / "fixture-servqual.csv", DATA / "fixture-servqual.yaml",
                          columns=FIXTURE_COLUMNS, id="respondent_id", segments=["segment"], year=2005)


@pytest.fixture(scope="session")
def core_survey():
    import servqual as sq

    return sq.read_survey(DATA / "fixture-core.csv", "library-core-22", id="respondent_id",
                          segments=["segment"], year=2007)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path
