"""What ``workbench train`` shows while it runs, and what Ctrl-C does to the run.

A tqdm bar and the run's messages are fed by its events (the terminal is just another
reader of the event history). The first Ctrl-C is the Stop button: the run ends at the
next step boundary and is then tested and exported like a completed one. The second
aborts at once; the run directory stays resumable from its last checkpoint.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from workbench.cli.common import ABORTED


def is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0" and os.environ.get("LOCAL_RANK", "0") == "0"


class ProgressPrinter:
    """A tqdm bar and the run's messages, fed by its events (main process only)."""

    def __init__(self, quiet: bool) -> None:
        self.show = not quiet and is_main_process()
        self.bar: Any = None
        self.seen = 0

    def update(self, handle: Any) -> None:
        events = handle.history
        for e in events[self.seen :]:
            if self.show:
                self._show(e)
            elif e["type"] == "findings" and e.get("stage") == "preflight":
                self._findings(e)  # --quiet hides the bar, never a warning
        self.seen = len(events)

    def _findings(self, e: dict[str, Any]) -> None:
        """Pre-flight findings, before step 1 (the diagnosis is printed with the result)."""
        from workbench.coach import describe

        if not is_main_process():
            return
        for finding in e.get("findings", []):
            if finding.get("severity") != "error":  # an error ends the run: its message says it
                for line in describe(finding):
                    self.write(line)

    def write(self, message: str) -> None:
        """A line on stderr that does not break the bar."""
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def _show(self, e: dict[str, Any]) -> None:
        from tqdm import tqdm

        if e["type"] == "findings" and e.get("stage") == "preflight":
            self._findings(e)
        elif e["type"] == "setup" and self.bar is None:
            self.write(plan_line(e))
            self.bar = tqdm(
                total=e["total_steps"], unit="step", dynamic_ncols=True, desc="train", initial=0
            )
        elif e["type"] == "step" and self.bar is not None:
            self.bar.n = e["step"]
            self.bar.set_postfix(loss=f"{e['loss']:.4f}", lr=f"{e['lr']:.2e}", refresh=False)
            self.bar.refresh()
        elif e["type"] == "eval":
            # every validation metric the task measures, in the event's order
            scores = "  ".join(
                f"{k} {v:.4f}"
                for k, v in e.items()
                if k.startswith("val_") and isinstance(v, (int, float))
            )
            msg = f"step {e['step']}: {scores}{'  (best)' if e['best'] else ''}"
            (self.bar.write if self.bar else print)(msg)
        elif e["type"] == "status" and e.get("message"):
            self.write(e["message"])


def plan_line(setup: dict[str, Any]) -> str:
    """``plan: 92 train · 12 val · 12 test rows; 3 steps per epoch, 9 steps in all``."""
    sizes = " · ".join(f"{setup.get(f'{s}_size', 0):,} {s}" for s in ("train", "val", "test"))
    return (
        f"plan: {sizes} rows; {setup.get('steps_per_epoch')} steps per epoch, "
        f"{setup.get('total_steps')} steps in all"
    )


def print_findings(
    summary: dict[str, Any], config_path: Any = None, fixed_out: bool = False
) -> None:
    """The coach's diagnosis of a finished run (``warning: …`` lines on stdout), and one
    command that re-runs with every suggested change (``fixed_out``: the run was written to
    a chosen ``--out``, which the re-run must not reuse)."""
    from workbench.coach import combined_changes, describe
    from workbench.coach.base import setting_flag

    found = [f for f in summary.get("findings") or [] if f.get("stage") == "diagnosis"]
    for finding in found:
        for line in describe(finding):
            print(line)
    changes = combined_changes(found)
    if changes and config_path is not None:
        flags = " ".join(setting_flag(k, v) for k, v in changes.items())
        flags += " --out none" if fixed_out else ""
        print(f"re-run with the suggested changes: workbench train --config {config_path} {flags}")


def follow(handle: Any, quiet: bool) -> None:
    """Show progress until the run ends.

    The first Ctrl-C works like the Stop button: the run stops at the next step boundary,
    then is tested and exported like a completed one (the command exits 0). A second
    Ctrl-C is not caught here: it propagates as ``KeyboardInterrupt`` (see
    :func:`workbench.cli.train.run`), abandoning the run at once.
    """
    printer = ProgressPrinter(quiet)
    stopping = False
    try:
        while True:
            try:
                printer.update(handle)
                if handle.done or not handle.alive:
                    break
                time.sleep(0.2)
            except KeyboardInterrupt:
                if stopping:
                    raise
                stopping = True
                handle.stop()
                printer.write(
                    "\nstopping after this step, then testing and exporting the best "
                    "checkpoint … (Ctrl-C again to abort at once)"
                )
        printer.update(handle)  # the events of the last moments (testing, export)
    finally:
        printer.close()


def abandon(handle: Any) -> int:
    """After a second Ctrl-C: say what is left on disk and how to go on; exit code 130.

    The worker thread is left to die with the process (see :func:`workbench.cli.main.main`):
    whatever it was writing is safe, because checkpoints and the summary are swapped in by
    rename and a torn last line of ``events.jsonl`` is dropped on resume.
    """
    finished = "it had just finished" if handle.done else "it was not tested or exported"
    print(f"\naborted ({finished})", file=sys.stderr)
    run_dir = handle.run_dir
    if run_dir is None:
        return ABORTED
    if (run_dir / "checkpoints" / "last" / "state.json").is_file():
        print(
            f"run directory: {run_dir}\nresume with: workbench train --resume {run_dir}",
            file=sys.stderr,
        )
    else:
        print(f"run directory: {run_dir} (no checkpoint yet: nothing to resume)", file=sys.stderr)
    return ABORTED
