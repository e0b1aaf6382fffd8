"""Survey projects: ``servqual init`` scaffolds one; paths in a params file resolve in it.

A survey project is a folder with the same shape as this repository's sample::

    mysurvey/
      params/        one YAML file per survey cycle (params/2005.yaml …)
      data/raw/      the raw exports, read and never written
      reports/       what ``servqual report`` produces, one folder per params file
      notebooks/     the report templates, to open in JupyterLab
      README.md

Paths inside a params file resolve relative to the params file's own folder, then the
project root (the folder holding ``params/``), wherever the command runs; a report lands
in ``<project>/reports/<params stem>/`` and its kernel runs in the project root, so the
notebooks in ``notebooks/`` resolve the same paths.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from importlib import resources
from pathlib import Path

__all__ = ["ProjectError", "enter_project", "find_project", "init_project", "lab_command", "project_root",
           "reports_folder", "resolve_path", "template_path"]

TEMPLATES = ("survey_cycle", "trends", "linkage", "explore")


class ProjectError(ValueError):
    """A survey project cannot be created or a path in it cannot be found."""


def template_path(name: str = "survey_cycle") -> Path:
    """The notebook template shipped inside the package (``servqual/templates/<name>.py``).

    Examples
    --------
    >>> from servqual.project import template_path
    >>> template_path("survey_cycle").name
    'survey_cycle.py'
    """
    if name not in TEMPLATES:
        raise ProjectError(f"unknown template {name!r} (templates: {', '.join(TEMPLATES)})")
    path = Path(str(resources.files("servqual") / "templates" / f"{name}.py"))
    if not path.is_file():  # pragma: no cover - a broken installation
        raise ProjectError(f"the package has no template {path}; reinstall servqual")
    return path


def project_root(params_file: str | Path) -> Path:
    """The survey project a params file belongs to: the parent of its ``params/`` folder,
    else the folder the params file is in.

    Examples
    --------
    >>> from servqual.project import project_root
    >>> project_root("/surveys/library/params/2005.yaml").as_posix()
    '/surveys/library'
    >>> project_root("/surveys/one-off/study.yaml").as_posix()
    '/surveys/one-off'
    """
    folder = Path(params_file).absolute().parent
    return folder.parent if folder.name == "params" else folder


def find_project(start: str | Path | None = None) -> Path | None:
    """The survey project holding ``start`` (default the working folder): the nearest folder,
    ``start`` itself or one above it, that has a ``params/`` folder; ``None`` outside any.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from servqual.project import find_project, init_project
    >>> root = init_project(pathlib.Path(tempfile.mkdtemp()) / "mysurvey")
    >>> find_project(root / "notebooks") == root.resolve()
    True
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "params").is_dir():
            return folder
    return None


def enter_project(start: str | Path | None = None) -> Path:
    """Work in the survey project's root folder, so a notebook's paths (``params/…``,
    ``data/raw/…``, ``reports/…``) resolve the same whether it runs from the project (as
    ``servqual report`` runs it) or from ``notebooks/`` (as JupyterLab runs it).  Changes the
    working folder to the project root and returns it; outside a project, changes nothing
    and returns the working folder.

    Examples
    --------
    >>> import os, tempfile, pathlib
    >>> from servqual.project import enter_project, init_project
    >>> root = init_project(pathlib.Path(tempfile.mkdtemp()) / "mysurvey")
    >>> before = os.getcwd()
    >>> enter_project(root / "notebooks") == root.resolve() == pathlib.Path.cwd()
    True
    >>> os.chdir(before)
    """
    root = find_project(start)
    if root is None:
        return Path.cwd()
    if Path.cwd().resolve() != root:
        os.chdir(root)
    return root


def lab_settings(folder: str | Path) -> Path:
    """A JupyterLab application-settings folder for ``servqual lab``: the installation's own
    settings (when there are any) with the package's ``overrides.json`` merged in, which opens
    ``.py`` notebooks (jupytext percent format) as notebooks on a double click."""
    from importlib import resources

    ours = json.loads((Path(str(resources.files("servqual") / "jupyter" / "lab-settings")) / "overrides.json")
                      .read_text(encoding="utf-8"))
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    installed = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings"
    merged: dict = {}
    if installed.is_dir():
        for path in installed.iterdir():
            if path.is_file():
                shutil.copyfile(path, target / path.name)
        if (installed / "overrides.json").is_file():
            merged = json.loads((installed / "overrides.json").read_text(encoding="utf-8"))
    for plugin, settings in ours.items():
        current = merged.setdefault(plugin, {})
        for key, value in settings.items():
            current[key] = {**current.get(key, {}), **value} if isinstance(value, dict) else value
    (target / "overrides.json").write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
    return target


def lab_command(folder: str | Path = ".", *, port: int = 8888, browser: bool = True,
                settings_dir: str | Path | None = None) -> tuple[list[str], dict[str, str]]:
    """The command and environment of ``servqual lab``: JupyterLab on 127.0.0.1 in the
    survey project holding ``folder``, opening the ``.py`` templates as notebooks.

    Examples
    --------
    >>> from servqual.project import lab_command
    >>> command, env = lab_command(".", port=8899, browser=False)
    >>> command[1:4], "--port=8899" in command
    (['-m', 'jupyterlab', '--ServerApp.ip=127.0.0.1'], True)
    """
    import tempfile

    root = find_project(folder) or Path(folder).resolve()
    settings = lab_settings(settings_dir or tempfile.mkdtemp(prefix="servqual-lab-settings-"))
    command = [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--port={port}",
               f"--ServerApp.root_dir={root}", f"--LabApp.app_settings_dir={settings}",
               "--ServerApp.allow_root=True"]
    if not browser:
        command.append("--no-browser")
    return command, dict(os.environ)


def resolve_path(value: str | Path, params_file: str | Path) -> Path:
    """A path written in a params file: absolute as given; else relative to the params
    file's folder, then to the project root.  Returns the first that exists, or the
    project-root candidate (so the caller's "not found" names where it looked)."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    here = Path(params_file).absolute().parent / path
    if here.exists():
        return here
    return project_root(params_file) / path


def reports_folder(params_file: str | Path, name: str | None = None) -> Path:
    """Where a cycle's report lands: ``<project>/reports/<params stem>/``."""
    return project_root(params_file) / "reports" / (name or Path(params_file).stem)


_README = """# {name}: a service-quality survey project

Made by `servqual init`. One folder per kind of file:

- `params/`: one YAML file per survey cycle. `params/2005.yaml` is an example on
  synthetic data; copy it for your own export and change `responses`, `columns`, `id`
  and `segments` (`servqual init --help` and the servqual README explain every key).
- `data/raw/`: the raw exports. servqual reads them and never writes them.
- `reports/`: `servqual report params/2005.yaml` writes `reports/2005/` (HTML, tables as
  CSV, figures). Reports may be shared: groups under `min_group_n` are suppressed and no
  respondent-level rows are written.
- `notebooks/`: the report templates; open them in JupyterLab to explore.

Commands, from anywhere:

    servqual validate params/2005.yaml   # check the export against the instrument
    servqual score params/2005.yaml      # gap tables and priorities in the terminal
    servqual report params/2005.yaml     # the full report into reports/2005/
"""

_EXAMPLE_PARAMS = """# One survey cycle. Paths are relative to this file's folder, then to the project folder.
year: 2005
title: Library client survey 2005 (synthetic example)
instrument: servqual-22                 # a built-in id (servqual instruments) or a path to your own YAML
responses: data/raw/library-2005.csv    # the raw export: CSV, Excel, SPSS .sav or Parquet
columns: {expectation: "E{index:02d}", perception: "P{index:02d}"}   # rating column per measure and item
id: respondent_id
segments: [segment, branch]             # client groups to break results down by
min_group_n: 10                         # smaller groups are never shown
"""

_GITIGNORE = "reports/\n.ipynb_checkpoints/\n"


def init_from_export(folder: str | Path, export: str | Path, *, instrument=None) -> tuple[Path, object]:
    """A new project around a real export: the export copied (unchanged) into ``data/raw/``
    and a drafted params file (:func:`servqual.draft_params`) with every uncertain choice
    commented.  Returns the params file and the draft."""
    from .intake import draft_params

    export = Path(export)
    if not export.is_file():
        raise ProjectError(f"{export}: export not found")
    draft = draft_params(export, instrument)  # read first: a bad export creates no folder
    root = init_project(folder, example=False)
    target = root / "data" / "raw" / export.name
    shutil.copyfile(export, target)
    target.chmod(0o444)  # raw data is read, never written
    draft.params["responses"] = f"data/raw/{export.name}"
    params = draft.write(root / "params" / f"{_stem(export.stem)}.yaml")
    return params, draft


def _stem(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text).strip("-") or "cycle"


def init_project(folder: str | Path, *, example: bool = True) -> Path:
    """Scaffold a survey project: ``params/``, ``data/raw/``, ``reports/``, ``notebooks/``
    and a README; with ``example`` (default) one example params file and its synthetic data,
    so ``servqual report params/2005.yaml`` works at once.

    Raises
    ------
    ProjectError
        The folder exists and is not empty.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from servqual.project import init_project
    >>> root = init_project(pathlib.Path(tempfile.mkdtemp()) / "mysurvey")
    >>> sorted(p.name for p in root.iterdir())
    ['.gitignore', 'README.md', 'data', 'notebooks', 'params', 'reports']
    >>> sorted(p.name for p in (root / "params").iterdir())
    ['2005.yaml']
    """
    root = Path(folder)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ProjectError(f"{root}: already exists and is not an empty folder; choose a new name")
    for sub in ("params", "data/raw", "reports", "notebooks"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "README.md").write_text(_README.format(name=root.name), encoding="utf-8")
    (root / ".gitignore").write_text(_GITIGNORE, encoding="utf-8")
    for name in TEMPLATES:
        shutil.copyfile(template_path(name), root / "notebooks" / f"{name}.py")
    if example:
        from .synthetic import SAMPLES, simulate_responses

        instrument, kwargs = SAMPLES["library-2005.csv"]
        frame = simulate_responses(instrument, **kwargs)
        frame.to_csv(root / "data" / "raw" / "library-2005.csv", index=False, lineterminator="\n")
        (root / "params" / "2005.yaml").write_text(_EXAMPLE_PARAMS, encoding="utf-8")
    return root
