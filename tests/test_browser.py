"""The Workbench in a real browser: JupyterLab + Chromium, Train → live curve → Stop.

Layer 3 of NOTEBOOK_FACTS.md ("Testing in three layers"). JupyterLab runs as a subprocess
on 127.0.0.1 with a token, in a temporary root folder that holds a copy of
``tests/notebooks/browser_workbench.ipynb``; Playwright drives Debian's ``/usr/bin/chromium``
(never a downloaded browser). The test waits on widget text — the run status shows
``running`` and then ``stopped`` — never on the kernel's Idle/Busy indicator, which reads
Idle while the run trains in its worker thread.

It checks what only a browser shows: the widgets render, a click on **Train** reaches the
kernel, the loss-curve image is swapped in place while the run goes, another cell runs
mid-training (the kernel is free), and **Stop** ends the run. A screenshot of the end
state goes to the test's temporary folder and to ``out/browser_workbench.png``.
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
from jupyter_lab import CHROMIUM, CHROMIUM_ARGS, TOKEN, running_lab, wait_until

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "tests" / "notebooks" / "browser_workbench.ipynb"
SCREENSHOT_COPY = ROOT / "out" / "browser_workbench.png"
UI_S = 90.0  # page load, kernel start, first widget render
TRAIN_START_S = 120.0  # Train click → data prepared, model loaded, status `running`
STOP_S = 180.0  # Stop click → tested, exported, status `stopped`
_wait_until = wait_until


@pytest.fixture(scope="module")
def chromium_ready() -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[dev]')")


@pytest.fixture(scope="module")
def lab(chromium_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A JupyterLab server on 127.0.0.1 whose root holds the test notebook."""
    root = tmp_path_factory.mktemp("lab-root")
    home = tmp_path_factory.mktemp("lab-home")
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    with running_lab(root, home) as server:
        yield server


def _status_text(page: Any) -> str:
    """The run status label of the Train tab (the label right after ``status:``)."""
    label = page.locator(
        ".widget-hbox:has(> .widget-label:text-is('status:')) > .widget-label"
    ).nth(1)
    return str(label.inner_text(timeout=5000)).strip()


def _wait_status(page: Any, wanted: str, timeout: float) -> None:
    seen: list[str] = []

    def status_is_wanted() -> bool:
        text = _status_text(page)
        if not seen or seen[-1] != text:
            seen.append(text)
        return text == wanted

    try:
        _wait_until(status_is_wanted, timeout, f"status {wanted!r}")
    except AssertionError as err:
        raise AssertionError(f"{err}; statuses seen: {seen}") from None


def _run_menu(page: Any, item: str) -> None:
    """Click ``Run → item`` in JupyterLab's menu bar."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$")).click()


def test_train_then_stop_in_jupyterlab(lab: dict[str, Any], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    url = f"{lab['base']}/lab/tree/{NOTEBOOK.name}?reset&token={TOKEN}"
    screenshot = tmp_path / "browser_workbench.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.set_default_timeout(UI_S * 1000)
            page_errors: list[str] = []
            page.on("pageerror", lambda err: page_errors.append(str(err)))
            page.goto(url, timeout=UI_S * 1000)
            try:
                _drive(page, screenshot)
            except BaseException:
                page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
                print(f"failure screenshot: {tmp_path / 'failure.png'}")
                print(f"JupyterLab log tail:\n{lab['log'].read_text()[-3000:]}")
                print(f"page errors: {page_errors}")
                raise
        finally:
            browser.close()
    SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot, SCREENSHOT_COPY)
    for name in ("live_chart_midrun.png", "evaluate_after_stop.png", "explain_after_stop.png"):
        shutil.copy(screenshot.with_name(name), SCREENSHOT_COPY.with_name(name))
    print(f"screenshot: {screenshot} (copied to {SCREENSHOT_COPY})")
    print(f"browser test took {time.monotonic() - started:.1f}s")

    # The stopped run is on disk and says so.
    summaries = list((lab["root"] / "runs").glob("*/summary.json"))
    assert len(summaries) == 1, f"expected one run directory: {summaries}"
    summary = _wait_until(
        lambda: json.loads(summaries[0].read_text() or "null"), 30, "summary.json"
    )
    assert summary["status"] == "stopped", summary
    assert summary["test_accuracy"] is not None, summary  # tested like a completed run


def _drive(page: Any, screenshot: Path) -> None:
    # The notebook is open once its first code cell's editor shows.
    page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(state="visible")
    # Run All before the kernel is connected would ask which kernel to use (the
    # toolbar's execution indicator reads idle even then): wait for the status bar's
    # "<kernel name> | Idle", shown once the kernel's websocket is up.
    page.locator(
        ".jp-StatusBar-TextItem", has_text=re.compile(r"^(?!No Kernel).+ \| Idle$")
    ).wait_for()
    _run_menu(page, "Run All Cells")

    # The Workbench renders; cell 2 ran after it, so its widgets are live in the kernel.
    train_tab = page.get_by_role("tab", name="Train", exact=True)
    train_tab.wait_for(state="visible")
    check_output = page.locator(".jp-CodeCell").nth(1).locator(".jp-OutputArea-output")
    check_output.filter(has_text="kernel check 42: status=idle").wait_for()
    train_tab.click()

    def button(label: str) -> Any:
        return page.locator("button.jupyter-button:visible", has_text=re.compile(rf"^{label}$"))

    train_button, stop_button = button("Train"), button("Stop")
    assert _status_text(page) == "idle"
    assert stop_button.is_disabled() and button("Pause").is_disabled()

    train_button.click()
    _wait_status(page, "running", TRAIN_START_S)

    # The live chart draws points while the run trains: its root element reports the
    # training-loss points it drew and how often it drew (data-points, data-draws).
    chart = page.locator(".jp-CodeCell").first.locator(".wb-chart:visible").first
    progress = page.locator(".widget-label:visible", has_text=re.compile(r"step \d+/\d+"))

    def drawn() -> tuple[int, int]:
        # both in one read: a draw between two reads would pair counts of different draws
        points, draws = chart.evaluate("e => [e.dataset.points || 0, e.dataset.draws || 0]")
        return int(points), int(draws)

    def curve_moves() -> bool:
        step = re.search(r"step (\d+)/", progress.first.inner_text()) if progress.count() else None
        points, draws = drawn()
        return points >= 3 and draws >= 3 and step is not None and int(step.group(1)) >= 3

    _wait_until(curve_moves, TRAIN_START_S, "the chart to draw three training-loss points")
    assert _status_text(page) == "running", "the run ended before Stop: make it longer"
    first_points, first_draws = drawn()
    _wait_until(lambda: drawn()[0] > first_points, 30, "more points while training")
    assert drawn()[1] > first_draws and _status_text(page) == "running"
    chart.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot.with_name("live_chart_midrun.png")))

    # Hover: the legend reads the step under the mouse (not the latest) and its loss.
    loss_plot = chart.locator(".u-over").first
    box = loss_plot.bounding_box()
    assert box is not None
    legend = chart.locator(".u-legend").first
    latest = legend.locator(".u-value").first.inner_text()
    page.mouse.move(box["x"] + 4, box["y"] + box["height"] / 2)
    x_value = legend.locator(".u-value").first
    _wait_until(lambda: x_value.inner_text() != latest, 10, "the legend to follow the mouse")
    hovered = x_value.inner_text()
    loss_value = legend.locator(".u-value").nth(1).inner_text()
    assert re.fullmatch(r"\d+", hovered) and hovered != latest, (latest, hovered)
    assert re.fullmatch(r"[\d.e+-]+", loss_value), loss_value

    # Zoom (drag), pan (shift-drag), reset (double-click): the x range on screen follows.
    def x_range() -> tuple[float, float]:
        lo, hi = (chart.get_attribute("data-x-range") or "nan nan").split()
        return float(lo), float(hi)

    full = x_range()
    assert full[0] == 0 and full[1] >= 240, full  # the planned run length, fixed
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    page.mouse.up()
    zoomed = _wait_until(lambda: x_range() != full and x_range(), 10, "drag to zoom")
    assert zoomed[1] - zoomed[0] < (full[1] - full[0]) / 2, zoomed
    page.keyboard.down("Shift")
    page.mouse.move(box["x"] + box["width"] * 0.6, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, y, steps=5)
    page.mouse.up()
    page.keyboard.up("Shift")
    panned = _wait_until(lambda: x_range() != zoomed and x_range(), 10, "shift-drag to pan")
    assert panned[0] > zoomed[0], (zoomed, panned)  # dragged left: later steps come in
    assert panned[1] - panned[0] == pytest.approx(zoomed[1] - zoomed[0], rel=0.05)
    loss_plot.dblclick()
    _wait_until(lambda: x_range() == full, 10, "double-click to reset the zoom")
    page.mouse.move(0, 0)

    # Pause flips to Resume and back; the status follows.
    button("Pause").click()
    _wait_status(page, "paused", STOP_S)
    button("Resume").wait_for(timeout=10_000)
    button("Resume").click()
    _wait_status(page, "running", STOP_S)
    button("Pause").wait_for(timeout=10_000)

    # The kernel is free while the run trains: run cell 2 again (Ctrl+Enter: run in
    # place) and see its fresh output.
    page.locator(".jp-CodeCell").nth(1).locator(".cm-content").click()
    page.keyboard.press("Control+Enter")
    check_output.filter(has_text="kernel check 42: status=running done=False").wait_for(
        timeout=30_000
    )
    assert _status_text(page) == "running", "the run ended before Stop: make it longer"
    assert not stop_button.is_disabled()

    stop_button.click()
    _wait_status(page, "stopped", STOP_S)
    _wait_until(lambda: not train_button.is_disabled(), 10, "Train to be enabled again")
    assert stop_button.is_disabled() and button("Pause").is_disabled()
    train_tab.evaluate("tab => tab.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(screenshot))

    # Stop finished the run: Evaluate shows its test metrics and confusion matrix, and
    # Explain explains with its model (no "no test results", no "no exported model").
    page.get_by_role("tab", name="Evaluate", exact=True).click()
    page.locator("td:visible", has_text=re.compile(r"^test_accuracy$")).wait_for(timeout=60_000)
    page.locator("img.widget-image:visible").first.wait_for(timeout=30_000)
    page.screenshot(path=str(screenshot.with_name("evaluate_after_stop.png")))
    page.get_by_role("tab", name="Explain", exact=True).click()
    compute = page.locator("button.jupyter-button:visible", has_text=re.compile(r"^Compute$"))
    compute.wait_for(timeout=30_000)
    done = page.locator(".widget-label:visible", has_text=re.compile(r"^done in"))
    _wait_until(lambda: not compute.is_disabled(), 60, "Compute to be enabled")
    compute.click()
    done.wait_for(timeout=STOP_S * 1000)
    page.screenshot(path=str(screenshot.with_name("explain_after_stop.png")))
