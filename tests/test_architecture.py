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


# ------------------------------------------------------------------ tasks as plugins
# Outside workbench/tasks/ the code asks a task (``get_task(name).generates``,
# ``.explain_view``, ``.data_view(data)`` …) and never compares task names: a new task is
# one folder, one registry line and one conformance row, not edits across the code base.
TASK_CLASSES = ("TextClassification", "CausalLM", "ImageClassification")
DATA_CLASSES = ("PreparedData", "InstructData", "ImageData")


def task_branches(source: str) -> list[str]:
    """Where ``source`` branches on a task: a comparison with a task's name (``task ==
    "causal-lm"``, ``in ("causal-lm", …)``, ``!= CausalLM.name``), or a type test on a
    task's prepared data (``isinstance(data, InstructData)``)."""
    import ast

    from workbench.tasks import TASKS

    names = set(TASKS)
    aliases: set[str] = set()  # CAUSAL_LM = CausalLM.name; TEXT = "text-classification"

    def is_task_name(node: ast.AST) -> bool:
        if isinstance(node, ast.Constant) and node.value in names:
            return True
        if isinstance(node, ast.Name) and node.id in aliases:
            return True
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return any(is_task_name(e) for e in node.elts)
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "name"
            and isinstance(node.value, ast.Name)
            and node.value.id in TASK_CLASSES
        )

    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and is_task_name(node.value):
            aliases.update(t.id for t in node.targets if isinstance(t, ast.Name))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            is_task_name(n) for n in (node.left, *node.comparators)
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "isinstance"
            and len(node.args) == 2
            and any(c in ast.unparse(node.args[1]) for c in DATA_CLASSES)
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize(
    ("source", "hits"),
    [
        ('if cfg.model.task == "causal-lm":\n    pass', 1),
        ('x = task != "text-classification"', 1),
        ('x = t in ("image-classification", "other")', 1),
        ("x = task == CausalLM.name", 1),
        ("LM = CausalLM.name\nif task != LM:\n    pass", 1),
        ("x = isinstance(data, InstructData)", 1),
        ("x = get_task(task).generates", 0),
        ('x = entry.task != task and name == "minilm-l6"', 0),
    ],
)
def test_the_task_branch_scan_finds_every_kind_of_branch(source: str, hits: int) -> None:
    assert len(task_branches(source)) == hits


def test_no_code_outside_the_task_folders_branches_on_a_task() -> None:
    """No ``if task == …`` outside ``workbench/tasks/``: the code asks the task instead."""
    found = {}
    for folder in ("workbench", "widgets"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative.parts[:2] == ("workbench", "tasks"):
                continue
            hits = task_branches(path.read_text(encoding="utf-8"))
            if hits:
                found[str(relative)] = hits
    assert found == {}, "branches on a task name outside workbench/tasks/: ask the task"


# ------------------------------------------------------------------ one direction of imports
# A module may import its own layer and the ones before it, never a later one: at module
# level and inside functions alike (a function-local import is still a dependency; only
# ``if TYPE_CHECKING:`` blocks, which never run, are exempt). widgets/ sits above all of it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "cache"),
    ("config",),
    ("data", "models", "methods", "regularization", "schedules", "plots"),
    ("attribution",),
    ("tasks",),
    ("coach", "diagnostics", "toy"),
    ("training", "lr_find", "baseline"),
    ("runs", "experiments", "sweeps", "deploy"),
    ("cli", "__main__"),
)


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "workbench" or len(parts) < 2:
        return None
    return next((i for i, names in enumerate(LAYERS) if parts[1] in names), None)


def upward_imports(root: Path = ROOT) -> tuple[set[tuple[str, str]], set[str]]:
    """``{(module, imported module)}`` where a workbench module imports a later layer, and
    the modules no layer names."""
    import ast

    found: set[tuple[str, str]] = set()
    unplaced: set[str] = set()
    for path in sorted((root / "workbench").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        mine = _layer(module)
        if mine is None:
            if module != "workbench":
                unplaced.add(module)
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = {
            id(node)
            for branch in ast.walk(tree)
            if isinstance(branch, ast.If) and "TYPE_CHECKING" in ast.unparse(branch.test)
            for node in ast.walk(branch)
        }
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                theirs = _layer(target)
                if theirs is not None and theirs > mine:
                    found.add((module, target))
    return found, unplaced


def test_every_workbench_module_has_a_layer() -> None:
    assert upward_imports()[1] == set(), "add the new top-level module to LAYERS"


def test_imports_flow_one_way_from_errors_to_the_cli() -> None:
    found, _ = upward_imports()
    assert found == set(), "a module imports a later layer: move the code down (or invert it)"


def test_the_layer_scan_sees_function_local_imports(tmp_path: Path) -> None:
    package = tmp_path / "workbench"
    (package / "tasks").mkdir(parents=True)
    (package / "tasks" / "__init__.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from workbench.cli import main\n"
        "def f():\n    from workbench.training import session\n"
    )
    (package / "errors.py").write_text("import workbench.config\n")
    found, _ = upward_imports(tmp_path)
    assert found == {
        ("workbench.tasks", "workbench.training"),
        ("workbench.errors", "workbench.config"),
    }
