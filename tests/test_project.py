"""The package works anywhere: a wheel in a fresh venv, outside this repository."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import servqual as sq
from servqual.params import ParamsError
from servqual.project import ProjectError, init_project, project_root, reports_folder, resolve_path

ROOT = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).parent / "uv"


def test_paths_resolve_from_the_params_file_not_the_working_directory(tmp_path, monkeypatch):
    root = init_project(tmp_path / "survey")
    params = root / "params" / "2005.yaml"
    monkeypatch.chdir(tmp_path)  # anywhere but the project
    assert project_root(params) == root
    assert resolve_path("data/raw/library-2005.csv", params) == root / "data" / "raw" / "library-2005.csv"
    (root / "params" / "local.csv").write_text("x\n")
    assert resolve_path("local.csv", params) == root / "params" / "local.csv"  # beside the params file first
    assert reports_folder(params) == root / "reports" / "2005"
    survey = sq.read_cycle(params)
    assert survey.n == 1180
    bad = root / "params" / "bad.yaml"
    bad.write_text(params.read_text().replace("library-2005.csv", "nothere.csv"))
    with pytest.raises(ParamsError, match=r"bad.yaml: responses: file "
                       r"'data/raw/nothere.csv' not found \(looked beside the params file"):
        sq.load_params(bad)


def test_init_refuses_a_folder_in_use(tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(ProjectError, match="already exists and is not an empty folder"):
        init_project(tmp_path / "used")


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory):
    """A wheel of this package installed into a new virtual environment outside the repository."""
    if not UV.exists():
        pytest.skip("uv is installed by make setup")
    folder = tmp_path_factory.mktemp("wheel")
    env = {**os.environ, "VIRTUAL_ENV": ""}
    subprocess.run([str(UV), "build", "--wheel", "--out-dir", str(folder / "dist"), str(ROOT)], check=True,
                   capture_output=True, env=env, cwd=folder)
    wheel = next((folder / "dist").glob("servqual-*.whl"))
    venv = folder / "venv"
    subprocess.run([str(UV), "venv", "-q", str(venv), "--python", sys.executable], check=True, env=env)
    # compiled once here, as a pip install does, not by each of the two reports below
    subprocess.run([str(UV), "pip", "install", "-q", "--compile-bytecode", "--python", str(venv / "bin" / "python"),
                    str(wheel)], check=True, capture_output=True, env=env)
    return venv


def test_wheel_outside_the_repository_inits_and_reports_twice_at_once(wheel_venv, tmp_path):
    servqual = str(wheel_venv / "bin" / "servqual")
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    made = subprocess.run([servqual, "init", "mysurvey"], cwd=work, capture_output=True, text=True, env=env)
    assert made.returncode == 0, made.stderr
    project = work / "mysurvey"
    assert {p.name for p in project.iterdir()} >= {"params", "data", "reports", "notebooks", "README.md"}
    assert (project / "notebooks" / "survey_cycle.py").is_file()
    # the installed package is the wheel's, not this checkout
    where = subprocess.run([str(wheel_venv / "bin" / "python"), "-c", "import servqual; print(servqual.__file__)"],
                           cwd=work, capture_output=True, text=True, env=env)
    assert str(ROOT) not in where.stdout and "site-packages" in where.stdout
    # the explorer's Voilà template and `servqual lab`'s settings come with the wheel
    shipped = subprocess.run([str(wheel_venv / "bin" / "python"), "-c",
                              "from servqual.widgets import jupyter_data_dir as d; "
                              "print((d() / 'voila/templates/servqual/index.html.j2').is_file(), "
                              "(d() / 'lab-settings/overrides.json').is_file())"],
                             cwd=work, capture_output=True, text=True, env=env)
    assert shipped.stdout.split() == ["True", "True"], shipped.stderr
    shutil.copyfile(project / "params" / "2005.yaml", project / "params" / "again.yaml")
    before = {p.name for p in project.iterdir()}
    # two reports at the same time: one from inside the project, one from its parent folder
    runs = [subprocess.Popen([servqual, "report", "params/2005.yaml", "--quiet"], cwd=project, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
            subprocess.Popen([servqual, "report", "mysurvey/params/again.yaml", "--quiet"], cwd=work, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    for run in runs:
        stdout, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
        assert "Report:" in stdout
    for name in ("2005", "again"):
        folder = project / "reports" / name
        assert (folder / "report.html").stat().st_size > 10_000
        assert (folder / "tables" / "gap_table_dimension.csv").is_file()
        assert (folder / "summary.json").is_file()
    assert {p.name for p in project.iterdir()} == before  # no sockets or scratch files left in the project
    assert not (work / "reports").exists()  # reports land in the project, not where the command ran
