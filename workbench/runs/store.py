"""Runs on disk: list them, load one, compare several, predict with a finished one.

Everything here reads only the run directory (CONVENTIONS rule 8), so it works for runs
made by another process, another machine, or a run that was killed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.config import TrainConfig
from workbench.errors import RunError
from workbench.runs.restore import (
    has_exported_model,
    model_from_checkpoint,
    pick_checkpoint,
    run_labels,
)
from workbench.training.events import read_events

if TYPE_CHECKING:
    from workbench.training.pinned import PinnedRecord


@dataclass
class Run:
    """A run directory, read back."""

    path: Path
    config: TrainConfig
    summary: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    _loaded: dict[str, tuple[Any, Any]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def events(self) -> list[dict[str, Any]]:
        return read_events(self.path / "events.jsonl")

    @property
    def status(self) -> str:
        """``completed``/``stopped``/``failed`` from the summary; ``interrupted`` without one."""
        return str(self.summary.get("status", "interrupted"))

    def predict(self, texts: list[Any], batch_size: int = 64) -> list[dict[str, Any]]:
        """Label and class probabilities for each input, with the exported model: texts, or
        for an image run image files (paths, PIL images or arrays; the task predicts)."""
        import torch

        from workbench.tasks import get_task
        from workbench.tasks.text_classification.batching import clip_text

        model, tokenizer = self.load_model()
        own = get_task(self.config.model.task).predict(model, tokenizer, list(texts), self.config)
        if own is not None:
            return own
        labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        out = []
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                chunk = [str(t) for t in texts[start : start + batch_size]]
                enc = tokenizer(
                    [clip_text(t, self.config.model.max_length) for t in chunk],
                    truncation=True,
                    padding=True,
                    max_length=self.config.model.max_length,
                    return_tensors="pt",
                )
                probs = torch.softmax(model(**enc).logits.float(), -1)
                for text, row in zip(chunk, probs.tolist(), strict=True):
                    best = max(range(len(row)), key=row.__getitem__)
                    out.append(
                        {
                            "text": text,
                            "label": labels[best],
                            "confidence": row[best],
                            "probs": dict(zip(labels, row, strict=True)),
                        }
                    )
        return out

    def load_model(self, checkpoint: str | None = None, adapter: bool = False) -> tuple[Any, Any]:
        """``(model, tokenizer)`` of this run, in eval mode; loaded once, then cached.

        Parameters
        ----------
        checkpoint:
            None: the exported ``model/`` (the best weights of a completed or stopped run).
            ``"best"`` or ``"last"``: that checkpoint's trainable weights put into the exported
            model (the final step's weights are ``"last"``). Not for LoRA/IA3 runs, whose
            exported model has its adapters merged.

        adapter:
            Where the task supports it (causal LM) and the run has ``adapter/``: the
            pretrained model with the adapter, a ``PeftModel`` whose adapter can be switched
            off to compare with the base model; else the merged model as without it.

        A run without ``model/`` (stopped by an older version, or killed) is rebuilt from
        its best checkpoint, else its last one (:mod:`workbench.runs.restore`);
        :attr:`model_note` then says which.
        """
        from workbench.tasks import get_task

        task = get_task(self.config.model.task)
        key = ("adapter" if adapter else "") + (checkpoint or "model")
        if key not in self._loaded:
            folder = self.path / "model"
            with_adapter = task.load_with_adapter(self.path, self.config) if adapter else None
            if with_adapter is not None:
                self._loaded[key] = with_adapter
                return with_adapter
            if not has_exported_model(self.path):
                self._loaded[key] = self._from_checkpoint(checkpoint, merge=not adapter)
                return self._loaded[key]
            own = task.load_exported(folder)  # a task's own format
            if own is not None:
                model, tokenizer = own
            else:
                model, tokenizer = _load_transformers_classifier(folder)
            if checkpoint is not None:
                self._put_checkpoint(model, checkpoint)
            self._loaded[key] = (model, tokenizer)
        return self._loaded[key]

    @property
    def model_note(self) -> str | None:
        """Which checkpoint stands in for a missing ``model/``; None when the run has one
        (or has no checkpoint either, in which case loading it fails with the reason)."""
        if has_exported_model(self.path):
            return None
        choice = pick_checkpoint(self.path)
        return choice.note(self.path, self.status) if choice else None

    def _from_checkpoint(self, checkpoint: str | None, merge: bool = True) -> tuple[Any, Any]:
        """The run's model rebuilt from ``checkpoint`` (default: best, else last)."""
        if checkpoint is not None and checkpoint not in ("best", "last"):
            raise RunError(
                f"run {self.path} has no checkpoint {checkpoint!r} (checkpoints are best and last)"
            )
        choice = pick_checkpoint(self.path, checkpoint)
        if choice is None:
            raise RunError(
                f"run {self.path} has no exported model and no checkpoint"
                f"{' ' + repr(checkpoint) if checkpoint else ''} (status {self.status}); "
                "train it again (a run keeps checkpoints unless save_checkpoints is off)"
            )
        labels = run_labels(self.path, self.summary)
        return model_from_checkpoint(self.config, choice, labels, merge=merge)

    def _put_checkpoint(self, model: Any, checkpoint: str) -> None:
        from workbench.methods import get_method
        from workbench.models.weights import load_trainable
        from workbench.training.checkpoint import load_checkpoint

        folder = self.path / "checkpoints" / checkpoint
        if checkpoint not in ("best", "last") or not (folder / "state.json").is_file():
            found = sorted(p.name for p in (self.path / "checkpoints").glob("*") if p.is_dir())
            raise RunError(
                f"run {self.path} has no checkpoint {checkpoint!r}; "
                f"it has: {', '.join(found) or 'none'} (checkpoints are best and last)"
            )
        if get_method(self.config.model.method).uses_peft:
            raise RunError(
                f"checkpoint {checkpoint!r} of a {self.config.model.method} run holds adapter "
                "weights, which do not fit the exported (merged) model; compare the run's "
                "model with another run instead"
            )
        try:
            load_trainable(model, load_checkpoint(folder)["weights"])
        except ValueError as err:
            raise RunError(f"checkpoint {folder}: {err}") from None

    def pinned_attributions(self) -> list[PinnedRecord]:
        """Records of the pinned examples, one per (step, example); see
        :mod:`workbench.training.pinned`. Empty when the run pinned none."""
        from workbench.training.pinned import read_pinned

        return read_pinned(self.path)


def _load_transformers_classifier(folder: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from workbench.models.loading import quiet_transformers

    with quiet_transformers():  # no progress bar frozen into a notebook's output
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForSequenceClassification.from_pretrained(
            folder, use_safetensors=True
        ).eval()
    return model, tokenizer


def load_run(path: str | Path) -> Run:
    """Read a run directory; :class:`RunError` when it is not one."""
    p = Path(path)
    if p.is_file():
        raise RunError(f"{p} is a file, not a run directory (give the folder of a run)")
    if not p.is_dir():
        raise RunError(f"run directory not found: {p}")
    if not (p / "config.yaml").is_file():
        raise RunError(f"{p} is not a run directory (no config.yaml)")
    return Run(
        p,
        TrainConfig.load(p / "config.yaml"),
        _read_json(p / "summary.json"),
        _read_json(p / "env.json"),
    )


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def list_runs(runs_dir: str | Path = "runs") -> list[Run]:
    """Every readable run in ``runs_dir``, newest first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    runs = []
    for child in sorted(root.iterdir(), reverse=True):
        if (child / "config.yaml").is_file():
            try:
                runs.append(load_run(child))
            except Exception:  # a damaged run must not hide the others
                continue
    return runs


def config_differences(runs: list[Run]) -> dict[str, list[Any]]:
    """``{setting: [value in run 1, value in run 2, ...]}`` for settings that differ."""
    flats = [r.config.flat() for r in runs]
    keys = flats[0].keys() if flats else []
    return {k: [f[k] for f in flats] for k in keys if len({repr(f[k]) for f in flats}) > 1}


def runs_table(runs: list[Run]) -> list[dict[str, Any]]:
    """One row per run with the numbers people compare."""
    return [
        {
            "run": r.name,
            "status": r.status,
            "model": r.config.model.model,
            "method": r.config.model.method,
            "lr": r.config.optim.lr,
            "test_macro_f1": r.summary.get("test_macro_f1"),
            "test_accuracy": r.summary.get("test_accuracy"),
            "val_loss": r.summary.get("val_loss"),
            "trainable_parameters": r.summary.get("trainable_parameters"),
            "wall_seconds": r.summary.get("wall_seconds"),
        }
        for r in runs
    ]
