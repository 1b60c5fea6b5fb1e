"""``workbench sweep``: a hyperparameter search from the command line.

    workbench sweep --config base.yaml --space space.yaml --trials 12 --pruner median
    workbench sweep --space '{lr: {low: 1e-5, high: 1e-3}}' --epochs 1   # inline space
    workbench sweep --resume sweeps/DIR          # continue a stopped or killed sweep
    workbench sweep --join sweeps/DIR            # one more worker on the same sweep
    workbench sweep --storage postgresql://u:p@host/db --study NAME   # a worker elsewhere

Every setting flag of ``train`` sets the base config (``--epochs 1``); ``--out`` is the
sweep folder. Ctrl-C works like the sweep's Stop: the trial in progress stops after its
current step and is tested and exported; the sweep folder stays resumable. A second Ctrl-C
aborts at once (exit code 130). Bad input is one ``error: …`` line, exit code 2, and
nothing written (see :mod:`workbench.sweeps.handle`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from workbench.cli.common import ABORTED, add_config_flags, config_from_args
from workbench.config import ConfigError, all_fields
from workbench.errors import USER_ERRORS, UserError


def add_parser(sub: Any) -> None:
    from workbench.sweeps.spec import DIRECTIONS, PRUNERS, SAMPLERS

    p = sub.add_parser(
        "sweep",
        help="Search hyperparameters (Optuna): every trial an ordinary run.",
        description=(__doc__ or "").split("\n\n")[0],
        conflict_handler="resolve",  # --out below is the sweep folder, not a run's
    )
    p.add_argument("--config", help="YAML file with the base settings of every trial.")
    p.add_argument(
        "--space",
        help="YAML file (or inline YAML) mapping settings to ranges {low, high[, log][, step]} "
        "or lists of values.",
    )
    p.add_argument("--trials", type=int, help="Trials in the study, all workers (default 12).")
    p.add_argument("--minutes", type=float, help="Start no trial after this many minutes.")
    p.add_argument("--objective", help="Validation metric to optimize (default val_macro_f1).")
    p.add_argument("--direction", default="auto", help=f"{', '.join(DIRECTIONS)}.")
    p.add_argument("--sampler", default="tpe", help=f"{', '.join(SAMPLERS)}. Default: tpe.")
    p.add_argument("--pruner", default="median", help=f"{', '.join(PRUNERS)}. Default: median.")
    p.add_argument("--storage", help="Database URL or journal file shared by several machines.")
    p.add_argument("--study", help="Study name in --storage (default: the folder's name).")
    p.add_argument("--workers", type=int, default=1, help="Worker processes on this machine.")
    p.add_argument("--resume", metavar="DIR", help="Continue a stopped or killed sweep.")
    p.add_argument("--join", metavar="DIR", help="Join a running sweep as one more worker.")
    p.add_argument("--quiet", action="store_true", help="Only the result.")
    add_config_flags(p)
    p.add_argument("--out", dest="sweep_out", metavar="DIR", help="The sweep folder.")


def run(args: argparse.Namespace) -> int:
    from workbench.sweeps import prepare_sweep

    if args.resume and args.join:
        raise UserError("give --resume DIR or --join DIR, not both")
    names = {f.name for _, f, _ in all_fields()}
    given = any(k in names for k in vars(args))
    config = config_from_args(args) if (args.config or given) else None
    space = read_space(args.space) if args.space else None
    handle = prepare_sweep(
        config,
        space,
        trials=args.trials,
        minutes=args.minutes,
        objective=args.objective,
        direction=args.direction,
        sampler=args.sampler,
        pruner=args.pruner,
        storage=args.storage,
        study=args.study,
        workers=args.workers,
        out=args.sweep_out,
        resume=args.resume,
        join=args.join,
    )
    handle.start()
    try:
        follow_sweep(handle, args.quiet)
        handle.wait()
    except KeyboardInterrupt:  # the second Ctrl-C
        handle.stop()
        print(
            f"\naborted; continue with: workbench sweep --resume {handle.folder}", file=sys.stderr
        )
        return ABORTED
    if handle.error is not None:
        if isinstance(handle.error, USER_ERRORS):
            raise handle.error
        print(f"error: sweep failed: {handle.error}", file=sys.stderr)
        return 1
    print_result(handle)
    return 0


def read_space(text: str) -> Any:
    """A space from a YAML file, or inline YAML (``'{lr: {low: 1e-5, high: 1e-3}}'``)."""
    path = Path(text).expanduser()
    inline = text.lstrip().startswith("{")
    if not inline and not path.is_file():
        raise UserError(f"space file not found: {path} (or give inline YAML: '{{lr: [1e-4]}}')")
    try:
        source = text if inline else path.read_text(encoding="utf-8")
        return yaml.safe_load(source)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"the space {text} is not valid YAML{where}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"the space file {path} is not UTF-8 text") from None


def follow_sweep(handle: Any, quiet: bool) -> None:
    """Print each trial as it starts and ends; the first Ctrl-C stops the sweep."""
    seen = 0
    stopping = False
    if not quiet:
        print(f"sweep folder: {handle.folder}", file=sys.stderr)
        print(f"search: {handle.spec.space.describe()}", file=sys.stderr)
    while True:
        try:
            events = handle.history
            for e in events[seen:]:
                line = None if quiet else describe_event(e, handle)
                if line:
                    print(line, file=sys.stderr, flush=True)
            seen = len(events)
            if handle.done:
                break
            time.sleep(0.2)
        except KeyboardInterrupt:
            if stopping:
                raise
            stopping = True
            handle.stop()
            print(
                "\nstopping the sweep: the trial in progress stops after this step and is "
                "tested and exported … (Ctrl-C again to abort at once)",
                file=sys.stderr,
            )


def describe_event(e: dict[str, Any], handle: Any) -> str | None:
    objective = handle.spec.objective
    if e["type"] == "trial_start":
        settings = ", ".join(f"{k}={_short(v)}" for k, v in e["params"].items())
        again = " (resumed)" if e.get("resumed") else ""
        return f"trial {e['number']}{again}: {settings}"
    if e["type"] == "trial_end":
        value = e.get("value")
        score = f"{objective} {value:.4f}" if isinstance(value, (int, float)) else ""
        if e["state"] == "failed":
            return f"trial {e['number']} failed: {e.get('error', '')}"
        if e["state"] == "pruned":
            return f"trial {e['number']} pruned ({score} at its last evaluation)"
        if e["state"] == "interrupted":
            return f"trial {e['number']} stopped ({score}); --resume continues it"
        best = handle.best
        mark = "  (best so far)" if best is not None and best.number == e["number"] else ""
        return f"trial {e['number']} complete: {score}{mark}"
    if e["type"] == "trial_pruning":
        return f"trial {e['number']}: pruned at evaluation {e['step']}, stopping its run"
    return None


def print_result(handle: Any, top: int = 10) -> None:
    """The best trials as a table, the best run and how to train with its settings."""
    spec = handle.spec
    trials = handle.trials
    scored = [t for t in trials if t.value is not None]
    scored.sort(key=lambda t: t.value, reverse=spec.direction == "maximize")
    names = spec.space.names
    print(f"{'trial':>5}  {spec.objective:>12}  {'state':<11}" + "".join(f"  {n}" for n in names))
    for t in scored[:top] + [t for t in trials if t.value is None][: max(0, top - len(scored))]:
        value = f"{t.value:.4f}" if t.value is not None else "—"
        cells = "".join(f"  {_short(t.params.get(n, '—'))}" for n in names)
        print(f"{t.number:>5}  {value:>12}  {t.state:<11}{cells}")
    counts = handle.summary.get("states", {}) if handle.summary else {}
    print("trials: " + ", ".join(f"{n} {state}" for state, n in counts.items()))
    best = handle.best
    print(f"sweep folder: {handle.folder}")
    if best is None:
        print("no trial finished: nothing to recommend")
        return
    print(f"best: trial {best.number}, {spec.objective} {best.value:.4f}, run {best.run_dir}")
    print(
        f"train with its settings: workbench train --config {best.run_dir}/config.yaml --out none"
    )


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
