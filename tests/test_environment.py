"""The project's own promises: pip and conda list the same packages; the two commands exist."""

import re
import tomllib

import yaml
from packaging.requirements import Requirement

from .conftest import ROOT


def _pip_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    parsed = [Requirement(r) for r in reqs]
    return {r.name.lower().replace("_", "-"): str(r.specifier) for r in parsed}


def _conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if not isinstance(dep, str):
            continue
        name, spec = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", dep).groups()
        if name in ("python", "pip"):
            continue
        out[name.lower().replace("_", "-")] = spec.replace(" ", "")
    return out


def test_environment_yml_matches_pip_requirements():
    pip, conda = _pip_requirements(), _conda_requirements()
    assert set(pip) == set(conda), f"only pip: {set(pip) - set(conda)}; only conda: {set(conda) - set(pip)}"
    for name, spec in pip.items():
        assert set(spec.split(",")) == set(conda[name].split(",")), name


def test_python_version_agrees():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert f"python{project['requires-python']}" in env["dependencies"]


def test_two_commands_documented_and_wired():
    readme = (ROOT / "README.md").read_text()
    assert "make report" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in ("report", "test"):
        assert re.search(rf"^{target}: \$\(STAMP\)", makefile, re.M), target
