"""The templates in JupyterLab, as a researcher meets them: `servqual lab` in a survey
project, a double click on notebooks/survey_cycle.py, Run All, no error anywhere."""

import subprocess

import pytest

from servqual.project import init_project, lab_command

from .browser import (
    ARTIFACTS,
    CHROMIUM,
    LAUNCH_ARGS,
    free_port,
    is_local,
    need_chromium,
    wait_for_port,
)


def test_lab_command_opens_python_notebooks_as_notebooks(tmp_path):
    import json

    root = init_project(tmp_path / "survey")
    command, _ = lab_command(root / "notebooks", port=9999, browser=False, settings_dir=tmp_path / "settings")
    assert f"--ServerApp.root_dir={root.resolve()}" in command  # the project, found from inside it
    assert "--ServerApp.ip=127.0.0.1" in command and "--no-browser" in command
    overrides = json.loads((tmp_path / "settings" / "overrides.json").read_text())
    assert overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]["python"] == "Jupytext Notebook"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    need_chromium()
    base = tmp_path_factory.mktemp("lab")
    root = init_project(base / "survey")
    port = free_port()
    command, env = lab_command(root, port=port, browser=False, settings_dir=base / "settings")
    command += ["--IdentityProvider.token=", "--ServerApp.password=", f"--LabApp.user_settings_dir={base / 'user'}",
                f"--LabApp.workspaces_dir={base / 'workspaces'}"]
    # every cell in the page, so the test sees every output (JupyterLab 4 renders only visible cells)
    tracker = base / "user" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"windowingMode": "none"}')
    log = open(base / "lab.log", "w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env)
    try:
        wait_for_port(port, process, "jupyter lab")
        yield f"http://127.0.0.1:{port}/lab", root
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def answer_dialog(page, seen: list[str]) -> None:
    """A dialog JupyterLab opens while a slow machine starts the kernel ("Select Kernel"):
    accept its default, as a user would; any other dialog is an error, named in the failure."""
    dialog = page.locator(".jp-Dialog")
    if not dialog.count():
        return
    text = dialog.first.inner_text()
    seen.append(text)
    assert "kernel" in text.lower(), f"JupyterLab showed a dialog: {text}"
    dialog.first.locator(".jp-Dialog-button.jp-mod-accept").first.click()
    page.wait_for_selector(".jp-Dialog", state="detached", timeout=30_000)


def test_double_click_opens_the_template_as_a_notebook_and_it_runs(lab):
    from playwright.sync_api import sync_playwright

    url, root = lab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(url, timeout=120_000)
            listing = page.locator(".jp-DirListing-item")
            listing.filter(has_text="notebooks").first.dblclick(timeout=120_000)
            listing.filter(has_text="survey_cycle.py").first.dblclick(timeout=30_000)
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
            assert page.locator(".jp-FileEditor").count() == 0  # a notebook, not the text editor
            # the cells render one after another (slowly on a loaded machine): wait for them
            page.wait_for_function("() => document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell').length >= 5",
                                   timeout=90_000)
            cells = page.locator(".jp-NotebookPanel .jp-CodeCell")
            assert cells.count() >= 5

            started = r"""() => [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]
                .some(p => /\[(\*|\d+)\]/.test(p.innerText))"""
            dialogs: list[str] = []
            # Run All before the kernel is up is dropped silently on a slow machine: wait for it
            # (the status bar reads "Python 3 (ipykernel) | Idle")
            idle = r"() => /\)\s*\|\s*Idle/.test(document.body.innerText)"
            for _wait in range(4):
                answer_dialog(page, dialogs)
                try:
                    page.wait_for_function(idle, timeout=30_000)
                    break
                except Exception:  # noqa: BLE001 - a kernel dialog may be waiting for an answer
                    continue
            for _attempt in range(6):  # "Run All" as a user does it: a click in the notebook, then the Run menu
                answer_dialog(page, dialogs)
                try:
                    page.locator(".jp-NotebookPanel .jp-Cell").first.click(timeout=15_000)
                    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click(timeout=15_000)
                    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click(timeout=15_000)
                    page.wait_for_function(started, timeout=30_000)
                    break
                except Exception:  # noqa: BLE001 - a dialog, or the menu opened before the page was ready
                    if page.locator(".jp-Dialog").count():
                        answer_dialog(page, dialogs)
                        try:  # the run may start once the kernel is chosen
                            page.wait_for_function(started, timeout=30_000)
                            break
                        except Exception:  # noqa: BLE001 - not yet: Run All again
                            continue
                    page.keyboard.press("Escape")
            page.wait_for_function("""() => {
                const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')];
                return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.innerText));
            }""", timeout=150_000)
            errors = page.evaluate("""() => [...document.querySelectorAll(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                .map(e => e.innerText).filter(t => /Traceback|Error/.test(t))""")
            text = page.inner_text(".jp-NotebookPanel")
        finally:
            page.screenshot(path=str(ARTIFACTS / "jupyterlab.png"))
            browser.close()
    assert errors == [], errors
    outside = sorted({u for u in requests if not is_local(u)})
    assert outside == [], f"JupyterLab asked for resources off this machine: {outside}"
    assert "Traceback" not in text and "FileNotFoundError" not in text
    assert "Summary: what to do first" in text  # the report ran, its sections are in the notebook
    # the notebook ran from notebooks/ and still wrote the report where `servqual report` writes it
    assert (root / "reports" / "2005" / "tables").is_dir()


def test_servqual_lab_outside_a_project_says_so(tmp_path, capsys):
    from servqual.cli import main

    assert main(["lab", str(tmp_path), "--no-browser"]) == 2
    assert "no survey project (a folder with params/)" in capsys.readouterr().err
