"""The run directory: created once, self-describing, resumable (CONVENTIONS rule 8).

``config.yaml`` (complete, re-runnable), ``events.jsonl``, ``summary.json``, ``env.json``,
``model/`` (plain transformers), ``adapter/`` (peft methods), ``checkpoints/last|best``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from workbench.config import TrainConfig
from workbench.errors import RunError
from workbench.models.weights import load_trainable
from workbench.training.checkpoint import load_checkpoint, recover_checkpoint
from workbench.training.events import read_events
from workbench.training.rng import restore_rng
from workbench.training.session import Progress, Session


def slug(text: str) -> str:
    """A file-name-safe slug: letters, digits and dashes only (no path tricks)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "run"


def run_path(runs_dir: str | Path, name: str) -> Path:
    """``runs_dir/name`` for a run *name*, refusing names that would leave ``runs_dir``.

    A name is one plain folder name: no separators, not ``.``/``..``, no NUL byte, and
    (when it exists already) not a link to somewhere outside the runs folder.
    """
    bad = (
        not name.strip()
        or name in (".", "..")
        or any(c in name for c in ("/", "\\", "\0"))
        or name.startswith("~")
    )
    if bad:
        raise RunError(
            f"run name {name!r} is not allowed: use one folder name made of letters, digits, "
            "dashes, dots or underscores (no '/', '\\', '..' or '~')"
        )
    root = Path(runs_dir)
    path = root / name
    if path.exists() and root.resolve() not in path.resolve().parents:
        raise RunError(f"run {name!r} points outside the runs folder {root} ({path.resolve()})")
    return path


def create_run_dir(cfg: TrainConfig, accelerator: Any = None) -> Path:
    """Make ``--out`` or ``runs/<timestamp>-<model>-<method>``; same path on every process."""
    if cfg.run.out:
        path = Path(cfg.run.out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = f"{stamp}-{slug(Path(cfg.model.model).name)}-{slug(cfg.model.method)}"
        path = run_path(cfg.run.runs_dir, name)  # the model id is user text: keep it inside
        n = 1
        while path.exists():
            n += 1
            path = run_path(cfg.run.runs_dir, f"{name}-{n}")
    problem: str | None = None
    if accelerator is None or accelerator.is_main_process:
        if path.exists() and any(path.iterdir()):
            problem = (
                f"run directory {path} already exists and is not empty; "
                "choose another --out or use --resume to continue it"
            )
        else:
            path.mkdir(parents=True, exist_ok=True)
    if accelerator is not None and accelerator.num_processes > 1:
        from accelerate.utils import broadcast_object_list

        box: list[Any] = [str(path), problem]
        broadcast_object_list(box)  # the main process's name and verdict win everywhere
        path, problem = Path(box[0]), box[1]
    if problem:
        raise RunError(problem)
    return path


def environment(s: Session | None = None) -> dict[str, Any]:
    """Versions, platform, device and seed: what is needed to explain a number later."""
    import torch

    versions: dict[str, str | None] = {}
    for dist in (
        "torch",
        "transformers",
        "peft",
        "accelerate",
        "datasets",
        "captum",
        "finetune-workbench",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "versions": versions,
    }
    if s is not None:
        env.update(
            device=str(s.accelerator.device),
            mixed_precision=s.accelerator.mixed_precision,
            num_processes=s.accelerator.num_processes,
            seed=s.config.optim.seed,
            data_source=s.data.source,
        )
    return env


def write_json(path: Path, data: Any) -> None:
    """Write JSON via a temp file + rename, so a kill never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def write_start_files(run_dir: Path, cfg: TrainConfig, s: Session) -> None:
    if not (run_dir / "config.yaml").exists():
        tmp = run_dir / "config.yaml.tmp"
        tmp.write_text(cfg.to_yaml(), encoding="utf-8")
        os.replace(tmp, run_dir / "config.yaml")
    write_json(run_dir / "env.json", environment(s))


def check_resumable(run_dir: Path) -> Path:
    if not run_dir.is_dir():
        raise RunError(f"run directory not found: {run_dir}")
    if not (run_dir / "config.yaml").is_file():
        raise RunError(f"{run_dir} is not a run directory (no config.yaml)")
    recover_checkpoint(run_dir / "checkpoints" / "last")
    if not (run_dir / "checkpoints" / "last" / "state.json").is_file():
        raise RunError(
            f"{run_dir} has no checkpoint to resume from (checkpoints/last is missing); "
            "start a new run instead"
        )
    return run_dir


# Events that belong to one step of the loop; after a kill, those past the last checkpoint
# are trained again on resume and would otherwise appear twice in the curves.
_STEP_EVENTS = ("step", "eval", "checkpoint", "lr_change")


def resumable_events(run_dir: Path) -> list[dict[str, Any]]:
    """The events of an interrupted run up to its last checkpoint, rewritten to disk.

    Steps, evaluations and checkpoints after the checkpoint's step (a run killed between
    checkpoints) are dropped, as is a last line cut short by the kill; the file is
    rewritten via a temp file + rename so resumed events append to whole lines only.
    """
    path = run_dir / "events.jsonl"
    events = read_events(path)
    state = run_dir / "checkpoints" / "last" / "state.json"
    step = json.loads(state.read_text(encoding="utf-8"))["step"] if state.is_file() else None
    kept = [
        e
        for e in events
        if step is None or e.get("type") not in _STEP_EVENTS or int(e.get("step", 0)) <= step
    ]
    if step is not None and len(kept) < len(events):
        kept.append(
            {
                "type": "status",
                "time": time.time(),
                "status": "stopped",
                "message": f"interrupted after step {step}'s checkpoint: "
                f"{len(events) - len(kept)} later events dropped, those steps run again",
            }
        )
    if path.is_file():
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text("".join(json.dumps(e) + "\n" for e in kept), encoding="utf-8")
        os.replace(tmp, path)
    return kept


def restore_progress(run_dir: Path, s: Session, tracking: Any) -> None:
    """Load the last checkpoint into a freshly built session: weights, optimizer, RNG, place."""
    last = load_checkpoint(run_dir / "checkpoints" / "last")
    model = s.accelerator.unwrap_model(s.model)
    load_trainable(model, last["weights"])
    s.optimizer.load_state_dict(last["optimizer"])
    s.scheduler.load_state_dict(last["scheduler"])
    s.progress = Progress(**last["state"])
    if s.progress.peak_lr:
        s.scheduler.base_lrs = [s.progress.peak_lr for _ in s.scheduler.base_lrs]
    # each process its own generator state (rng_<rank>.pt): its dropout masks go on as if
    # the run had never stopped
    restore_rng(last.get("rng", []), s.accelerator.process_index)
    best = run_dir / "checkpoints" / "best"
    if (best / "trainable.safetensors").is_file():
        tracking.best_weights = load_checkpoint(best)["weights"]
