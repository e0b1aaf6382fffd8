"""The gap explorer: its widgets in Python, and served by Voilà in a real headless Chromium."""

import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import servqual as sq

from .conftest import ROOT

CYCLES = [ROOT / "params" / f"{y}.yaml" for y in (2005, 2006, 2007)]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def explorer():
    return sq.explorer(CYCLES)


def test_importing_servqual_does_not_import_ipywidgets():
    code = "import sys, servqual; print('ipywidgets' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_controls_come_from_instrument_and_data(explorer):
    assert list(explorer.cycle.options) == ["2005", "2006", "2007"] and explorer.cycle.value == "2007"
    assert list(explorer.groups.options) == ["All respondents", "academic staff", "library staff", "postgraduate",
                                             "undergraduate"]
    assert list(explorer.quantity.options) == ["gap", "expectation", "perception"]
    assert [v for _, v in explorer.figure_choice.options] == ["gaps", "ipa", "radar", "trend"]  # registry order
    core = sq.explorer([ROOT / "params" / "library-core-2007.yaml"])
    assert [v for _, v in core.figure_choice.options] == ["gaps", "ipa", "zone", "radar"]
    assert list(core.quantity.options)[:2] == ["adequacy", "superiority"]


def test_table_and_figure_update_together_in_place(explorer):
    image_widget = explorer.image
    explorer.groups.value = ("postgraduate",)
    explorer.figure_choice.value = "gaps"
    first = explorer.image.value
    survey = explorer.survey
    expected = sq.gap_table(survey, "dimension", by="segment")
    expected = expected[expected["segment"] == "postgraduate"]
    got = explorer.current_table
    assert list(got["group"].unique()) == ["postgraduate"]
    pd.testing.assert_series_equal(got["gap"].reset_index(drop=True), expected["gap"].reset_index(drop=True),
                                   check_names=False)
    assert "postgraduate" in explorer.table.value and "Responsiveness" in explorer.message.value
    explorer.groups.value = ("undergraduate",)
    assert explorer.image is image_widget and explorer.image.value != first  # redrawn, not appended
    assert "updated in" in explorer.status.value
    link = explorer.download.value
    payload = link.split("base64,")[1].split('"')[0]
    assert base64.b64decode(payload).decode() == explorer.current_table.to_csv(index=False)


def test_small_groups_are_suppressed(explorer):
    explorer.figure_choice.value = "radar"
    explorer.groups.value = ("library staff",)
    explorer.min_n.value = 150  # library staff: about 120 respondents
    assert explorer.current_table["suppressed"].all()
    assert explorer.image.value == b"" and "fewer than 150 respondents" in explorer.message.value
    assert "fewer than 150 respondents" in explorer.table.value
    explorer.min_n.value = 10
    assert not explorer.current_table["suppressed"].any()


def test_every_figure_and_level_renders(explorer):
    explorer.groups.value = ("postgraduate", "undergraduate")
    for level in ("dimension", "item"):
        explorer.level.value = level
        for _, key in explorer.figure_choice.options:
            explorer.figure_choice.value = key
            assert explorer.image.value[:4] == b"\x89PNG", (level, key)
    explorer.level.value = "dimension"


# ----------------------------------------------------------------------------- in a browser
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, process, timeout: float = 90) -> None:
    """Probe with a TCP connect (an HTTP GET would start a kernel)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"voila exited early with code {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.25)
    raise TimeoutError(f"voila did not listen on port {port} within {timeout} s")


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing on CI: `make test` installs Debian's chromium (make browser)")
        pytest.skip(f"{CHROMIUM} is not installed (make browser)")
    from servqual.widgets import build_notebook

    build = tmp_path_factory.mktemp("explore")
    notebook = build_notebook(CYCLES, build)
    port = _free_port()
    log = open(build / "voila.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
         "--ServerApp.allow_root=True"],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _numbers(text: str, group: str) -> dict[str, float]:
    rows = {}
    for line in text.splitlines():
        cells = line.split("\t")
        if cells and cells[0] == group:
            rows[cells[1]] = float(cells[3])
    return rows


def test_browser_click_changes_the_numbers(voila_url):
    from playwright.sync_api import sync_playwright

    survey = sq.read_survey(ROOT / "data/raw/library-2007.csv", "servqual-22",
                            columns={"expectation": "E{index:02d}", "perception": "P{index:02d}"},
                            id="respondent_id", segments=["segment", "branch"], year=2007)
    table = sq.gap_table(survey, "dimension", by="segment")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1400})
            page.goto(voila_url, timeout=120_000)
            page.wait_for_selector(".gap-table table", timeout=120_000)
            before = page.inner_text(".gap-table")
            image_before = page.get_attribute(".gap-figure", "src")
            assert "All respondents" in before
            page.select_option(".segment-select select", label="postgraduate")
            page.wait_for_function("document.querySelector('.gap-table').innerText.includes('postgraduate')",
                                   timeout=20_000)
            page.select_option(".figure-select select", label="Gap bars")
            page.wait_for_function(
                "document.querySelector('.explorer-message').innerText.includes('Bar chart')", timeout=20_000)
            after = page.inner_text(".gap-table")
            shown = _numbers(after, "postgraduate")
            expected = table[table["segment"] == "postgraduate"].set_index("dimension")["gap"]
            assert set(shown) == set(expected.index)
            for dim, value in shown.items():
                assert value == pytest.approx(round(expected[dim], 2), abs=1e-9), dim
            assert page.get_attribute(".gap-figure", "src") != image_before
            page.screenshot(path=str(ARTIFACTS / "explorer.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "explorer.png").stat().st_size > 10_000
