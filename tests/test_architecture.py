"""The engine stays headless: importing ``workbench`` never pulls in the notebook UI.

``workbench/`` must run in a plain Python process, a CI job or a worker thread, with no
Jupyter around; ``widgets/`` builds on it, never the reverse (CONVENTIONS.md, rule 1).
Each check imports every module of the package in a fresh interpreter, because in this
pytest process other tests (or plugins) may already have imported the UI modules.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Modules the engine must not load, at module level or through its own imports.
UI_MODULES = ("ipywidgets", "IPython", "matplotlib.pyplot")

# Runs in the fresh interpreter: import workbench and every module under it (whatever
# exists so far), then report what got loaded and which workbench module loaded it first.
# An import error is reported, not raised, so one broken module does not hide the rest.
PROBE = r"""
import importlib, json, pkgutil, sys, traceback

WATCH = ("ipywidgets", "IPython", "matplotlib.pyplot", "widgets")
errors, imported, blame = {}, [], {}


def watched():
    return {m for m in sys.modules if any(m == w or m.startswith(w + ".") for w in WATCH)}


def load(name):
    before = watched()
    try:
        importlib.import_module(name)
        imported.append(name)
    except (Exception, SystemExit):  # SystemExit: a module that runs a program on import
        errors[name] = traceback.format_exc(limit=-4)
    new = watched() - before
    if new:
        blame[name] = sorted(new)  # first workbench module that pulled these in


load("workbench")
if "workbench" in imported:
    def onerror(name):
        errors[name] = traceback.format_exc(limit=-4)

    import workbench
    walked = pkgutil.walk_packages(workbench.__path__, "workbench.", onerror)
    # __main__ modules run the program when imported (python -m workbench): not a library.
    for name in sorted({m.name for m in walked if not m.name.endswith(".__main__")}):
        load(name)

print(json.dumps({
    "imported": imported,
    "errors": errors,
    "blame": blame,
    "workbench_file": getattr(sys.modules.get("workbench"), "__file__", None),
    "loaded": sorted(sys.modules),
}))
"""


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,  # import the working tree's workbench, as an editable install would
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"probe crashed:\n{result.stderr}"
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def _loaded(report: dict[str, Any], module: str) -> bool:
    return any(m == module or m.startswith(module + ".") for m in report["loaded"])


def test_workbench_imports_from_this_repository(probe: dict[str, Any]) -> None:
    assert "workbench" in probe["imported"], probe["errors"].get("workbench")
    # A namespace package (no __init__.py) has no __file__; either way it must be ours.
    path = probe["workbench_file"]
    assert path is None or Path(path).resolve().is_relative_to(ROOT), path


def test_every_workbench_module_imports(probe: dict[str, Any]) -> None:
    broken = sorted(probe["errors"])
    assert not broken, "modules that fail to import:\n" + "\n".join(
        f"--- {name}\n{probe['errors'][name]}" for name in broken
    )


@pytest.mark.parametrize("module", UI_MODULES)
def test_engine_does_not_load_ui_module(probe: dict[str, Any], module: str) -> None:
    loaded = _loaded(probe, module)
    culprits = {name: new for name, new in probe["blame"].items() if module in new}
    assert not loaded, (
        f"importing workbench loaded {module}; the engine must stay headless "
        f"(import it inside the function that needs it). First loaded by: {culprits}"
    )


def test_engine_does_not_import_widgets(probe: dict[str, Any]) -> None:
    loaded = _loaded(probe, "widgets")
    culprits = {name: new for name, new in probe["blame"].items() if "widgets" in new}
    assert not loaded, f"workbench imports widgets; only the reverse is allowed: {culprits}"
