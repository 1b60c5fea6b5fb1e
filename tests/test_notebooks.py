"""Notebooks: committed clean, and the starter notebook runs top to bottom headless.

Layer 2 of NOTEBOOK_FACTS.md ("Testing in three layers"): nbclient executes the notebook
in a real kernel of this virtual environment. The starter notebook's last training cell
blocks on ``run.wait()``, so the run has ended before the next cell reads it and nothing
arrives after the last cell goes idle.

The kernel's working directory is a temporary folder, so the run directory it writes
(``runs/<timestamp>-<slug>/``) never lands in the repository, and the notebook is shown
not to depend on the working directory for its data or model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from lesson_contrasts import LESSON_CHECKS

ROOT = Path(__file__).resolve().parent.parent
STARTER = ROOT / "notebooks" / "00_workbench.ipynb"
# Every notebook we commit: the product's notebooks and the test notebooks.
COMMITTED = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted(
    (ROOT / "tests" / "notebooks").glob("*.ipynb")
)
# A hang guard per cell, not a speed target: the SMALL = True budget (3 minutes on 2 idle
# cores) is measured side by side by bench/notebook_times.py, never by a timed test on a
# shared machine (DEVELOPERS.md).
CELL_TIMEOUT_S = 900


def _outputs_text(cell: Any) -> str:
    """All text a code cell showed: streams, plain-text results and error names."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
        else:
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def test_there_are_notebooks_to_check() -> None:
    assert STARTER in COMMITTED, f"{STARTER} is missing"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_notebook_is_clean(path: Path) -> None:
    """No outputs, no execution counts, no saved widget state: diffs stay readable."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            dirty.append(f"cell {index} has {len(cell.outputs)} output(s)")
        if cell.get("execution_count") is not None:
            dirty.append(f"cell {index} has execution_count {cell.execution_count}")
    if "widgets" in nb.metadata:
        dirty.append("notebook metadata holds saved widget state")
    assert not dirty, f"{path.relative_to(ROOT)} is not clean: " + "; ".join(dirty)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", (
        f"{path.relative_to(ROOT)} must name the kernel python3 (the one this venv registers)"
    )


def _kernel_is_this_venv() -> None:
    """The python3 kernel nbclient starts must be this venv's Python, not a system one."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    # jupyter_client runs an argv[0] of "python"/"python3" as sys.executable.
    program = spec.argv[0]
    assert program in {
        "python",
        "python3",
        f"python{sys.version_info[0]}.{sys.version_info[1]}",
    } or (Path(program).resolve() == Path(sys.executable).resolve()), (
        f"kernel python3 runs {program!r}, not this venv's {sys.executable}"
    )


#: Where the executed lessons are written as HTML (``make lessons-html``, and CI's
#: ``make test``): a copy of each lesson as a reader sees it, outputs and figures included.
HTML_DIR_VARIABLE = "LESSONS_HTML"


def _write_html(nb: Any, path: Path) -> None:
    """The executed notebook as one self-contained HTML page in $LESSONS_HTML, if set."""
    import os

    folder = os.environ.get(HTML_DIR_VARIABLE)
    if not folder:
        return
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(embed_images=True).from_notebook_node(nb)
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"{path.stem}.html").write_text(body, encoding="utf-8")


def _execute(path: Path, tmp_path: Path) -> list[Any]:
    """Run ``path`` top to bottom in a fresh kernel of this venv, working in ``tmp_path``;
    fail on any cell error or any cell left unrun. Returns the executed code cells (and
    writes the executed notebook as HTML where ``$LESSONS_HTML`` says)."""
    import nbclient
    import nbformat

    _kernel_is_this_venv()
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    try:
        client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    finally:
        _write_html(nb, path)  # a failing lesson's page shows where it stopped
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    errors = [
        (index, out.get("ename"), out.get("evalue"))
        for index, cell in enumerate(code_cells)
        for out in cell.outputs
        if out.get("output_type") == "error"
    ]
    assert not errors, f"cells raised: {errors}"
    assert all(cell.execution_count is not None for cell in code_cells), "a cell did not run"
    return code_cells


@pytest.mark.slow
def test_starter_notebook_runs_headless(tmp_path: Path) -> None:
    code_cells = _execute(STARTER, tmp_path)
    assert any("SMALL = True" in cell.source for cell in code_cells), (
        "the starter notebook lost its `SMALL = True` parameter"
    )

    summary_cells = [cell for cell in code_cells if "summary" in cell.source]
    assert summary_cells, "no cell shows the run summary"
    summary_text = _outputs_text(summary_cells[-1])
    assert "'status': 'completed'" in summary_text, f"summary output: {summary_text[:2000]}"

    # The run directory landed in the kernel's working directory, not in the repository.
    run_dirs = list((tmp_path / "runs").glob("*"))
    assert len(run_dirs) == 1, f"expected one run directory in {tmp_path / 'runs'}: {run_dirs}"
    assert (run_dirs[0] / "summary.json").is_file()

    # The report cell renders the run as a plain PNG + table.
    report_text = _outputs_text(code_cells[-1])
    assert "RunReport" in report_text or "completed" in report_text, report_text[:2000]
    assert any("image/png" in out.get("data", {}) for out in code_cells[-1].outputs), (
        "the report cell showed no PNG"
    )
    shown = "\n".join(_outputs_text(c) for c in code_cells)
    assert "Loading weights" not in shown, "a progress bar froze into an output"
    check = LESSON_CHECKS.get(STARTER.name)
    if check is not None:
        check(_variant_summaries(tmp_path / "runs"), shown)


# ------------------------------------------------------------------- teaching notebooks
LESSONS = sorted((ROOT / "notebooks").glob("0[1-9]_*.ipynb"))
LESSON_NAMES = [
    "01_transfer_learning.ipynb",
    "02_hyperparameters.ipynb",
    "03_overfitting_and_regularization.ipynb",
    "04_parameter_efficient_tuning.ipynb",
    "05_explainability.ipynb",
    "06_from_data_to_deployment.ipynb",
    "07_instruction_tuning.ipynb",
    "08_image_classification.ipynb",
]


def test_every_lesson_notebook_is_there() -> None:
    assert [p.name for p in LESSONS] == LESSON_NAMES


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_notebook_has_the_parts_of_a_lesson(path: Path) -> None:
    """Goal, a papermill parameters cell with SMALL = True, a live workbench, "what to
    observe" prompts, two or three exercises, a summary — and no logic of its own."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "**Goal.**" in nb.cells[0].source, "the first cell must state the goal"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and params[0].source.startswith("SMALL = True"), (
        "one cell tagged `parameters` that sets SMALL = True"
    )
    assert "What to observe" in markdown
    assert "## Exercises" in markdown and "## Summary" in markdown
    exercises = markdown.split("## Exercises", 1)[1].split("## Summary", 1)[0]
    numbered = [line for line in exercises.splitlines() if line[:3] in {"1. ", "2. ", "3. "}]
    assert 2 <= len(numbered) <= 3, f"{len(numbered)} exercises"
    sources = "\n".join(c.source for c in code)
    live = ("Workbench(" in sources and "lesson=" in sources) or "AttributionView(" in sources
    assert live, "no live experiment: a Workbench in lesson mode or an AttributionView"
    assert not any(line.startswith(("def ", "class ")) for line in sources.splitlines()), (
        "notebooks hold no logic: move functions and classes into workbench/ or widgets/"
    )


# pytest-xdist's loadscope sends one module's functions to one worker but each class to its
# own: two classes let the two workers execute the lesson notebooks side by side.
class TestLessonsOdd:
    @pytest.mark.slow
    @pytest.mark.parametrize("path", LESSONS[0::2], ids=lambda p: p.name)
    def test_runs_in_small_mode(self, path: Path, tmp_path: Path) -> None:
        _run_lesson_in_small_mode(path, tmp_path)


class TestLessonsEven:
    @pytest.mark.slow
    @pytest.mark.parametrize("path", LESSONS[1::2], ids=lambda p: p.name)
    def test_runs_in_small_mode(self, path: Path, tmp_path: Path) -> None:
        _run_lesson_in_small_mode(path, tmp_path)


def _run_lesson_in_small_mode(path: Path, tmp_path: Path) -> None:
    """Executes the whole notebook with SMALL = True in a fresh kernel; any error fails it.

    Every training cell waits for its runs (``run_variants`` and ``handle.wait()``), so
    nothing arrives after the last cell goes idle.
    """
    code_cells = _execute(path, tmp_path)
    runs = [p for p in (tmp_path / "runs").glob("*") if (p / "summary.json").is_file()]
    assert runs, "the notebook trained nothing"
    status = {p.name: json.loads((p / "summary.json").read_text())["status"] for p in runs}
    assert set(status.values()) == {"completed"}, f"runs that did not complete: {status}"
    pictures = sum("image/png" in out.get("data", {}) for c in code_cells for out in c.outputs)
    assert pictures >= 1, "the notebook showed no plot"
    shown = "\n".join(_outputs_text(c) for c in code_cells)
    for promise in LESSON_SHOWS.get(path.name, ()):
        assert promise in shown, f"{path.name} did not show {promise!r} in small mode"
    # A copy that teaches when shared: no progress bar frozen into an output.
    assert "Loading weights" not in shown, f"{path.name}: a progress bar froze into an output"
    check = LESSON_CHECKS.get(path.name)
    if check is not None:
        check(_variant_summaries(tmp_path / "runs"), shown)


def _variant_summaries(runs_dir: Path) -> dict[str, dict[str, Any]]:
    """``{label: summary}`` of the runs a lesson made: ``run_variants`` labels its runs
    (variant.json); a run without a label (the workbench's own, or a plain ``train``)
    is keyed by its folder name, in the order the runs were made."""
    from workbench.experiments import variant_label

    found: dict[str, dict[str, Any]] = {}
    for run in sorted(runs_dir.glob("*")):
        if (run / "summary.json").is_file():
            summary = json.loads((run / "summary.json").read_text())
            summary["run_dir"] = str(run)
            found[variant_label(run) or run.name] = summary
    return found


# What a lesson promises to show, checked in its small-mode outputs.
LESSON_SHOWS = {
    # the validation loss turns up and the flag explains it (not "No overfitting flag")
    "03_overfitting_and_regularization.ipynb": ("Overfitting since step",),
}
