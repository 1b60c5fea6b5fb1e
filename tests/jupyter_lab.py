"""A private JupyterLab server on 127.0.0.1 and Debian's Chromium, for browser tests and
the live-chart benchmark (``bench/live_chart.py``), which both import this module.

The server runs in a fresh Jupyter state (no user settings, no restored workspace), off
the network (no news, no update check, no extension manager listing PyPI), in a session
of its own so that stopping it ends every kernel it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKEN = "workbench-browser-test"
SERVER_START_S = 120.0  # JupyterLab takes 20-40 s to start on a loaded 2-core machine

# User settings (JUPYTERLAB_SETTINGS_DIR/<plugin path>.jupyterlab-settings) that keep
# JupyterLab off the network and quiet: no news toast, no update check, no extension
# manager listing PyPI.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, poll: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(poll)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server (it shuts its kernels down), then kill its process group."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    # The server ran in a session of its own: anything it left behind is ours to end.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def running_lab(root: Path, home: Path) -> Iterator[dict[str, Any]]:
    """JupyterLab serving ``root``; yields ``{"base": url, "root": root, "log": path}``."""
    settings = home / "settings"
    for plugin, values in LAB_SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ)
    env.update(
        {
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    port = free_port()
    log_path = home / "jupyterlab.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={TOKEN}",
        "--ServerApp.open_browser=False",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers often run as root
        command.append("--allow-root")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no *_proxy env

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(
                f"JupyterLab exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
            )
        try:
            with direct.open(f"{base}/api/status?token={TOKEN}", timeout=5) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False

    try:
        wait_until(up, SERVER_START_S, f"JupyterLab on {base}")
        yield {"base": base, "root": root, "log": log_path}
    finally:
        stop_process(proc)


def open_notebook(page: Any, base: str, name: str, timeout_s: float = 90.0) -> None:
    """Open ``name`` and wait until its kernel is connected and idle."""
    import re

    page.goto(f"{base}/lab/tree/{name}?reset&token={TOKEN}", timeout=timeout_s * 1000)
    page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(state="visible")
    # Run before the kernel is connected would ask which kernel to use: wait for the
    # status bar's "<kernel name> | Idle", shown once the kernel's websocket is up.
    page.locator(
        ".jp-StatusBar-TextItem", has_text=re.compile(r"^(?!No Kernel).+ \| Idle$")
    ).wait_for()


def run_cell(page: Any, index: int) -> None:
    """Run code cell ``index`` in place (click into it, Ctrl+Enter)."""
    page.locator(".jp-CodeCell").nth(index).locator(".cm-content").click()
    page.keyboard.press("Control+Enter")
