"""What every ``workbench`` command shares: the parser class, setting flags, the config
from flags, a run opened with a note, JSON output, the task of a run directory."""

from __future__ import annotations

import argparse
import json
import sys
import typing
from pathlib import Path
from typing import Any

from workbench.config import TrainConfig, all_fields
from workbench.errors import UserError

#: Exit code of a run abandoned by a second Ctrl-C (128 + SIGINT, as shells report it).
ABORTED = 130


class UsageError(UserError):
    """Bad command-line usage (argparse's own errors, raised instead of exiting)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise UsageError(f"{message} (see {self.prog} --help)")


_KIND_NAMES = {int: "a whole number", float: "a number", str: "a string"}


def _optional(kind: type) -> Any:
    """Parse a value that may be left empty: ``none``/``''`` mean "not set"."""

    def parse(text: str) -> Any:
        if text.strip().lower() in ("", "none", "null", "auto-detect"):
            return None
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {_KIND_NAMES.get(kind, kind.__name__)}, got {text!r}"
            ) from None

    parse.__name__ = kind.__name__
    return parse


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per config field, named ``--field-name``; unset flags keep the config's value."""
    for _section, f, kind in all_fields():
        flag = f.metadata.get("flag", "--" + f.name.replace("_", "-"))
        help_text = f.metadata.get("help", "")
        if "choices" in f.metadata:
            help_text += f" Choices: {', '.join(f.metadata['choices'])}."
        default = f.default
        help_text += f" Default: {default if default not in ((), '', None) else 'none'}."
        if kind is bool:
            parser.add_argument(
                flag,
                dest=f.name,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=help_text,
            )
        elif typing.get_origin(kind) is tuple:  # a list of texts: the flag repeats
            parser.add_argument(
                flag,
                dest=f.name,
                action="append",
                metavar="TEXT",
                default=argparse.SUPPRESS,
                help=help_text.replace("one per line", "repeat the flag for each"),
            )
        else:
            parser.add_argument(
                flag,
                dest=f.name,
                type=_optional(kind),
                metavar=f.name.upper(),
                default=argparse.SUPPRESS,
                help=help_text,
            )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """``--config`` file (if any), then every flag given on the command line.

    Without ``--task``, the task the model or dataset implies is used (SmolLM2, a chat
    file: causal-lm); when that is not the task the file or the default gave, one
    ``note: …`` line on stderr says so.
    """
    base = TrainConfig.load(args.config) if args.config else TrainConfig()
    names = {f.name for _, f, _ in all_fields()}
    flags = {k: v for k, v in vars(args).items() if k in names}
    cfg = base.replace(**flags) if flags else base
    if "task" not in flags:
        note = _task_note(cfg, _file_task(args.config) if args.config else None)
        if note:
            print(note, file=sys.stderr)
    return cfg


def _file_task(path: str) -> str | None:
    """The task a ``--config`` file states, or ``None`` (it was already read once: valid)."""
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    section = data.get("model")
    stated = data.get("task") or (section.get("task") if isinstance(section, dict) else None)
    return stated if isinstance(stated, str) else None


def _task_note(cfg: TrainConfig, stated: str | None) -> str | None:
    """``note: task causal-lm, implied by …`` when inference chose the task: it differs
    from what the config file stated (or from the default when nothing stated one)."""
    from workbench.config import ModelConfig
    from workbench.tasks.inference import implied_task

    task = cfg.model.task
    if task == (stated or ModelConfig.task):
        return None
    implied = implied_task(cfg.model.model, cfg.data.dataset)
    if implied is None or implied.task != task:
        return None
    return f"note: task {task}, implied by {implied.reason}; pass --task to choose another"


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def open_run(path: str | Path) -> Any:
    """``workbench.load_run(path)``, with a ``note: …`` on stderr when the run has no
    exported model and a checkpoint will stand in for it (a run stopped by an older version)."""
    from workbench.runs import load_run

    run = load_run(path)
    note = run.model_note
    if note:
        print(f"note: {note}", file=sys.stderr)
    return run


def resolve_path(path: str) -> Path:
    return Path(path).expanduser()


def task_of(config: Any) -> Any:
    from workbench.tasks import get_task

    return get_task(config.model.task)


def generates(run_dir: str) -> bool:
    """Whether ``run_dir`` holds a run whose model generates answers (a causal LM: its
    config's task says so)."""
    from workbench.tasks import TASKS

    task = TASKS.get(run_task(run_dir) or "")
    return task is not None and task.generates


def owns(run_dir: str, command: str) -> bool:
    """Whether the task of the run in ``run_dir`` has its own ``command`` (``Task.commands``)."""
    from workbench.tasks import TASKS

    task = TASKS.get(run_task(run_dir) or "")
    return task is not None and command in task.commands


def run_task(run_dir: str) -> str | None:
    """The task ``run_dir``'s config names, read without validating the config (None when
    there is none: ``load_run`` reports a missing or broken run directory)."""
    from pathlib import Path

    import yaml

    path = Path(run_dir).expanduser() / "config.yaml"
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    model = config.get("model") if isinstance(config, dict) else None
    task = model.get("task") if isinstance(model, dict) else None
    return task if isinstance(task, str) else None
