"""The ``workbench`` command line: models, datasets, train, eval, predict, explain, sweep.

Flags of ``train`` are derived from the config dataclasses (``--lr``, ``--batch-size``,
``--lora-r`` ...): one declaration per setting. Exit codes: 0 success (a run stopped with
Ctrl-C included: it is tested and exported), 2 user error (one ``error: …`` line on stderr,
no traceback), 1 internal error, 130 aborted by a second Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.config import TrainConfig, all_fields
from workbench.errors import USER_ERRORS, UserError

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


def build_parser() -> Parser:
    parser = Parser(prog="workbench", description="Fine-tune and understand pretrained models.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    p = sub.add_parser("models", help="List catalog models, availability and memory estimates.")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("datasets", help="List built-in datasets.")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser(
        "train",
        help="Fine-tune a model (flags override --config).",
        description=(
            "Fine-tune a model (flags override --config). Ctrl-C works like the Stop button: "
            "training stops after the current step, then the best checkpoint is tested and "
            "exported like a completed run's (status stopped, exit code 0; --resume DIR "
            "continues it). A second Ctrl-C aborts at once (exit code 130), leaving the run "
            "directory resumable from its last checkpoint."
        ),
    )
    p.add_argument("--config", help="YAML file with settings (e.g. a run's config.yaml).")
    p.add_argument(
        "--resume", metavar="DIR", help="Continue a stopped or interrupted run directory."
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="Default offline fine-tune plus the TF-IDF baseline on the same split.",
    )
    p.add_argument("--quiet", action="store_true", help="No progress bar.")
    add_config_flags(p)
    p = sub.add_parser(
        "check",
        help="Run the coach's pre-flight checks on these settings without training.",
        description=(
            "Prepare the data and read the tokenizer as 'train' would, then report what the "
            "coach sees before step 1: data lost in cleaning, too few steps, small held-out "
            "splits, imbalance, truncation, leakage, label noise, memory. Exit code 2 when a "
            "finding is an error, else 0. Takes the same flags as 'train'."
        ),
    )
    p.add_argument("--config", help="YAML file with settings (e.g. a run's config.yaml).")
    add_config_flags(p)
    p = sub.add_parser("eval", help="Test metrics of a finished run.")
    p.add_argument("--run", required=True, metavar="DIR")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--compare-with",
        metavar="DIR",
        help="causal-lm runs: a classifier run on the same split, compared example by example.",
    )
    p = sub.add_parser("predict", help="Predict labels with a finished run's model.")
    p.add_argument("--run", required=True, metavar="DIR")
    p.add_argument("--text", action="append", default=[], help="A text (repeatable).")
    p.add_argument(
        "--file", help="A text file, one text per line (image runs: one image path per line)."
    )
    p.add_argument(
        "--image",
        action="append",
        default=[],
        help="image-classification runs: an image file (repeatable).",
    )
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("lab", help="Open JupyterLab on the starter notebook.")
    p.add_argument("--notebook", default="notebooks/00_workbench.ipynb")
    p.add_argument("--port", type=int, default=None)
    add_explain_parser(sub)
    from workbench.commands_sweep import add_sweep_parser  # imports this module: here, not above

    add_sweep_parser(sub)
    return parser


def add_explain_parser(sub: Any) -> None:
    """``workbench explain``: word attributions of one prediction of a finished run."""
    from workbench.attribution import ATTRIBUTION_METHODS

    p = sub.add_parser("explain", help="Which words drove a finished run's prediction.")
    p.add_argument("--run", required=True, metavar="DIR", help="A run directory with model/.")
    p.add_argument("--text", help="The text to explain (text-classification runs).")
    p.add_argument("--image", help="image-classification runs: the image file to explain.")
    p.add_argument("--prompt", help="causal-lm runs: the prompt whose answer is explained.")
    p.add_argument(
        "--answer",
        help="causal-lm runs: the answer to attribute (default: the model's greedy answer).",
    )
    p.add_argument(
        "--method",
        default="layer-ig",
        help=f"Attribution method: {', '.join(ATTRIBUTION_METHODS)}. Default: layer-ig.",
    )
    p.add_argument(
        "--target", help="Class label (or index) to explain. Default: the predicted class."
    )
    p.add_argument("--html", metavar="OUT", help="Write a self-contained HTML view here.")
    p.add_argument("--json", metavar="OUT", help="Write the explanation as JSON here.")
    p.add_argument(
        "--png",
        metavar="OUT",
        help="Write a bar chart of word scores here (image runs: image, heatmap and overlay).",
    )
    p.add_argument("--top", type=int, default=10, help="Words listed. Default: 10.")
    p.add_argument("--no-trust", action="store_true", help="Skip the trust measures.")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``workbench`` command; returns the exit code."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        args, extra = build_parser().parse_known_args(argv)
        if extra:
            # argparse would blame the top-level parser; point at the subcommand's own help.
            raise UsageError(
                f"unrecognized arguments: {' '.join(extra)} (see workbench {args.command} --help)"
            )
        _quiet_libraries()  # after parsing: a usage error should not wait for transformers
        from workbench import commands

        code = int(getattr(commands, f"cmd_{args.command}")(args) or 0)
    except USER_ERRORS as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    if code == ABORTED and argv is None:  # this process is the `workbench` command
        # A run abandoned by a second Ctrl-C still has its worker thread inside torch;
        # finalizing the interpreter under it aborts the process (SIGABRT, "FATAL: exception
        # not rethrown"). Leave without finalizing: everything on disk is complete already.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _quiet_libraries() -> None:
    """Our progress bar and messages only: no per-load reports or bars from transformers."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


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


if __name__ == "__main__":
    sys.exit(main())
