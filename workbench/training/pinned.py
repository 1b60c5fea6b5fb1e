"""Pinned examples: explain a few chosen texts at the start and at every evaluation of a run.

A user pins up to :data:`MAX_PINNED` texts before training (``run.pinned_texts`` in the
config, ``--pin TEXT`` on the command line). Each time the run evaluates, their layer-ig
attributions (with the cheap faithfulness measures, not the randomization check) are
recomputed on the model as it is at that step and appended to
``attributions/pinned.jsonl``: one JSON record per (step, example). Read them back with
:func:`read_pinned` (``Run.pinned_attributions()``); the Explain view scrubs through them to
show how an explanation drifts during fine-tuning.

Care taken inside a training run:

* the model is explained through ``accelerator.unwrap_model`` in eval mode and gets every
  module's mode back (``evaluation_mode``); gradients are taken with ``torch.autograd.grad``
  with respect to the embeddings, so nothing lands in the parameters' ``.grad``;
* the global RNG state is saved and restored, so a run with pins trains exactly like one
  without (and a resumed run stays reproducible);
* only the main process computes and writes (the others wait at their next collective);
* a failure to explain is an event, never the end of the run;
* the time spent is in the ``attribution`` event, so its cost stays visible.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from workbench.attribution.base import Options
from workbench.attribution.explanation import Explanation
from workbench.tasks import get_task
from workbench.training.events import EventLog

PINNED_FILE = Path("attributions") / "pinned.jsonl"
PINNED_METHOD = "layer-ig"
MAX_PINNED = 5
#: Integration steps are capped lower than for interactive use: the run waits meanwhile.
PINNED_OPTIONS = Options(max_steps=200)


@dataclass
class PinnedRecord:
    """One pinned example explained at one step (``kind``: ``start`` or ``eval``)."""

    step: int
    example: int  # index into the pinned texts
    kind: str
    best: bool  # this evaluation was the best so far
    seconds: float  # time spent on all pinned examples at this step
    explanation: Explanation

    @property
    def text(self) -> str:
        return self.explanation.text


class PinnedExamples:
    """Explains the pinned texts of a run and appends the records to its run directory."""

    def __init__(
        self,
        texts: tuple[str, ...] | list[str],
        run_dir: Path | None,
        log: EventLog,
        method: str = PINNED_METHOD,
    ) -> None:
        self.texts = [str(t) for t in texts][:MAX_PINNED]
        self.path = run_dir / PINNED_FILE if run_dir is not None else None
        self.log = log
        self.method = method

    def record(self, session: Any, kind: str = "eval", best: bool = False) -> None:
        """Explain every pinned text with the model as it is now; append one line each."""
        acc = session.accelerator
        if not self.texts or self.path is None or not acc.is_main_process:
            return
        task = getattr(session.config.model, "task", "text-classification")
        if not get_task(task).explains_pinned_texts:
            if kind == "start":
                self.log.emit(
                    "attribution",
                    step=0,
                    kind=kind,
                    error=f"pinned examples are texts a classifier reads; a {task} "
                    "run does not explain them",
                )
            return
        from workbench.attribution import AttributionError, explain_many

        step = session.progress.step
        tick = time.perf_counter()
        device = acc.device
        cuda = [device.index or 0] if device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=cuda):
                explanations = explain_many(
                    acc.unwrap_model(session.model),
                    session.tokenizer,
                    self.texts,
                    self.method,
                    trust="faithfulness",
                    max_length=session.config.model.max_length,
                    options=PINNED_OPTIONS,
                )
        except (AttributionError, RuntimeError, ValueError) as err:
            self.log.emit("attribution", step=step, kind=kind, error=str(err))
            return
        seconds = time.perf_counter() - tick
        lines = "".join(
            json.dumps(
                {
                    "step": step,
                    "example": i,
                    "kind": kind,
                    "best": best,
                    "seconds": round(seconds, 4),
                    "explanation": e.to_dict(),
                },
                ensure_ascii=False,
            )
            + "\n"
            for i, e in enumerate(explanations)
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # one write per step: a kill leaves at most a cut last line, which readers skip
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(lines)
            f.flush()
        self.log.emit(
            "attribution",
            step=step,
            kind=kind,
            examples=len(explanations),
            method=self.method,
            seconds=round(seconds, 4),
            path=str(self.path),
        )


def read_pinned(run_dir: str | Path) -> list[PinnedRecord]:
    """The pinned-example records of a run directory, in the order they were written."""
    path = Path(run_dir) / PINNED_FILE
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            out.append(
                PinnedRecord(
                    step=int(row["step"]),
                    example=int(row["example"]),
                    kind=str(row.get("kind", "eval")),
                    best=bool(row.get("best", False)),
                    seconds=float(row.get("seconds") or 0.0),
                    explanation=Explanation.from_dict(row["explanation"]),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue  # a line cut short by a kill
    return out
