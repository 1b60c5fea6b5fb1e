"""The Sweep tab in a real browser: JupyterLab + Chromium, Start sweep → trials appear live.

Layer 3 of NOTEBOOK_FACTS.md, as ``tests/test_browser.py`` does for the Train tab.
JupyterLab serves a temporary folder holding ``tests/notebooks/browser_sweep.ipynb``; the
test opens the **Sweep** tab, clicks **Start sweep** and waits on widget text and on the
chart's own attributes, never on the kernel's Idle/Busy indicator. It checks what only a
browser shows: the tab renders, the click reaches the kernel, the first trial's validation
curve is drawn on the live chart while the sweep runs, another cell runs meanwhile (the
kernel is free), the trials table fills, and the sweep completes. A screenshot of the end
state goes to the test's temporary folder and to ``out/browser_sweep.png``.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_lab import CHROMIUM, CHROMIUM_ARGS, open_notebook, run_cell, running_lab, wait_until

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "tests" / "notebooks" / "browser_sweep.ipynb"
SCREENSHOT_COPY = ROOT / "out" / "browser_sweep.png"
UI_S = 90.0  # page load, kernel start, first widget render
TRIAL_S = 240.0  # Start click → data prepared, model loaded, the first evaluation drawn
SWEEP_S = 420.0  # both trials trained, tested and exported


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]'")
    root = tmp_path_factory.mktemp("lab-root")
    home = tmp_path_factory.mktemp("lab-home")
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    with running_lab(root, home) as server:
        yield server


def _sweep_status(page: Any) -> str:
    """The Sweep tab's status label (the visible label right after ``status:``)."""
    label = page.locator(
        ".widget-hbox:visible:has(> .widget-label:text-is('status:')) > .widget-label"
    ).nth(1)
    return str(label.inner_text(timeout=5000)).strip()


def test_a_sweep_shows_its_trials_live_in_jupyterlab(lab: dict[str, Any], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    screenshot = tmp_path / "browser_sweep.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.set_default_timeout(UI_S * 1000)
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            open_notebook(page, lab["base"], NOTEBOOK.name, UI_S)
            try:
                _drive(page, screenshot)
            except BaseException:
                page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
                print(f"failure screenshot: {tmp_path / 'failure.png'}")
                print(f"JupyterLab log tail:\n{lab['log'].read_text()[-3000:]}")
                print(f"page errors: {errors}")
                raise
        finally:
            browser.close()
    SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot, SCREENSHOT_COPY)
    print(f"screenshot: {screenshot} (copied to {SCREENSHOT_COPY})")
    print(f"browser test took {time.monotonic() - started:.1f}s")
    # The sweep is on disk: two trials, each an ordinary run directory.
    (folder,) = (lab["root"] / "sweeps").iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["trials"] == 2, summary
    assert len(list((folder / "trials").glob("trial-*/summary.json"))) == 2


def _drive(page: Any, screenshot: Path) -> None:
    run_cell(page, 0)
    sweep_tab = page.get_by_role("tab", name="Sweep", exact=True)
    sweep_tab.wait_for(state="visible")
    sweep_tab.click()
    start = page.locator("button.jupyter-button:visible", has_text=re.compile(r"^Start sweep$"))
    start.wait_for()
    assert _sweep_status(page) == "idle"
    start.click()
    wait_until(lambda: _sweep_status(page) == "running", UI_S, "sweep status running")

    # The trials chart (the first chart of the tab) draws trial 0's validation curve:
    # its root element reports the points of its first series (data-points).
    chart = page.locator(".wb-chart:visible").first

    def points() -> int:
        return int(chart.evaluate("e => Number(e.dataset.points || 0)"))

    wait_until(lambda: points() >= 1, TRIAL_S, "trial 0's first evaluation on the chart")
    assert _sweep_status(page) in ("running", "paused"), "the sweep ended too soon"
    chart.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot.with_name("sweep_midrun.png")))

    # The kernel is free while the sweep trains: run cell 2 and see its output.
    run_cell(page, 1)
    output = page.locator(".jp-CodeCell").nth(1).locator(".jp-OutputArea-output")
    output.filter(has_text=re.compile(r"kernel check 42: sweep status=\w+")).wait_for(
        timeout=30_000
    )

    wait_until(lambda: _sweep_status(page) == "completed", SWEEP_S, "sweep status completed")
    # every trial has a row in the table and a line on the chart
    rows = page.locator(".wb-table:visible tbody tr")
    wait_until(lambda: rows.count() == 2, 10, "two rows in the trials table")
    legend = chart.locator(".u-legend .u-series:visible")
    wait_until(lambda: legend.count() >= 3, 10, "two trial lines in the legend")  # x + 2
    sweep_tab.evaluate("tab => tab.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(screenshot), full_page=True)
