"""Starting a sweep: check everything, create the folder and the study, hand back the
:class:`~workbench.sweeps.handle.SweepHandle`.

Three ways in: a new sweep (a config and a space), an existing sweep folder (``resume``:
continue it, taking over its interrupted trials; ``join``: one more worker), and a study
in a database on another machine (``storage`` URL and ``study`` name: the definition is
read from the database). Every check comes before the first write, so a bad input leaves
no folder, no study and no changed file behind.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import yaml

from workbench.config import ConfigError, TrainConfig
from workbench.errors import RunError
from workbench.runs.directory import slug
from workbench.sweeps.handle import SweepHandle
from workbench.sweeps.spec import SweepSpec, changes_between, make_spec
from workbench.sweeps.storage import (
    SPEC_ATTR,
    StudyMismatch,
    check_same_search,
    create_study,
    find_study,
    hide_password,
    is_url,
    open_storage,
)

SPEC_FILE = "sweep.yaml"


def sweep(
    config: TrainConfig | None = None,
    space: Any = None,
    *,
    trials: int | None = None,
    minutes: float | None = None,
    objective: str | None = None,
    direction: str = "auto",
    sampler: str = "tpe",
    pruner: str = "median",
    storage: str | None = None,
    study: str | None = None,
    workers: int = 1,
    out: str | Path | None = None,
    sweeps_dir: str | Path | None = None,
    data: Any = None,
    resume: str | Path | None = None,
    join: str | Path | None = None,
    block: bool = False,
) -> SweepHandle:
    """Search ``space`` around ``config``; return a :class:`SweepHandle` at once.

    Parameters
    ----------
    config
        The base settings every trial starts from (default ``TrainConfig()``).
    space
        ``{setting: range or list of values}`` (:mod:`workbench.sweeps.space`).
    trials, minutes
        Budget: at most this many trials in the study (default 12), and no new trial
        after this many minutes (a trial in progress finishes).
    objective, direction
        The validation metric to optimize (default: the config's
        ``early_stopping_metric``) and ``maximize``/``minimize`` (``auto``: by the metric).
    sampler, pruner
        ``tpe`` | ``random`` | ``grid``; ``none`` | ``median`` | ``asha`` | ``hyperband``.
    storage, study
        A database URL (or journal file) and study name shared by several machines;
        default: ``study.journal`` in the sweep folder.
    workers
        Worker processes on this machine (this one plus ``workers - 1`` started here).
    out, sweeps_dir
        The sweep folder; default ``<sweeps_dir>/<time>-<model>-<method>``, with
        ``sweeps_dir`` next to the config's ``runs_dir`` (``sweeps/``).
    data
        A DataFrame / ``datasets.Dataset`` instead of the config's dataset (one worker).
    resume, join
        A sweep folder to continue after a stop or a kill (its interrupted trials resume
        from their checkpoints), or to join as one more worker.
    """
    handle = prepare_sweep(
        config,
        space,
        trials=trials,
        minutes=minutes,
        objective=objective,
        direction=direction,
        sampler=sampler,
        pruner=pruner,
        storage=storage,
        study=study,
        workers=workers,
        out=out,
        sweeps_dir=sweeps_dir,
        data=data,
        resume=resume,
        join=join,
    )
    return handle.start(block=block)


def prepare_sweep(
    config: TrainConfig | None = None,
    space: Any = None,
    *,
    trials: int | None = None,
    minutes: float | None = None,
    objective: str | None = None,
    direction: str = "auto",
    sampler: str = "tpe",
    pruner: str = "median",
    storage: str | None = None,
    study: str | None = None,
    workers: int = 1,
    out: str | Path | None = None,
    sweeps_dir: str | Path | None = None,
    data: Any = None,
    resume: str | Path | None = None,
    join: str | Path | None = None,
) -> SweepHandle:
    """Check everything, create the sweep folder and study; the handle, not yet started.

    Every check comes before the first write: a bad input raises a UserError/ConfigError
    and leaves no folder, no study and no changed file behind.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 64:
        raise ConfigError(f"workers must be a whole number in [1, 64]; got {workers!r}")
    if workers > 1 and data is not None:
        raise ConfigError(
            "workers > 1 needs the data in a file the other processes can read (the dataset "
            "setting), not a DataFrame; save it as CSV/Parquet or use one worker"
        )
    options: dict[str, Any] = {
        "objective": objective,
        "direction": direction,
        "sampler": sampler,
        "pruner": pruner,
    }
    existing = resume or join
    if existing is not None:
        return _reopen(
            Path(existing),
            config,
            space,
            trials,
            minutes,
            options,
            workers,
            data,
            adopt=resume is not None,
        )
    if config is None and space is None and is_url(storage) and study:
        return _join_database(storage, study, out, sweeps_dir, trials, minutes, workers, data)
    if space is None:
        raise ConfigError("a sweep needs a search space: which settings vary, over what range")
    config = config or TrainConfig()
    folder = _new_folder(config, out, sweeps_dir)
    spec = make_spec(
        config,
        space,
        trials=12 if trials is None else trials,
        timeout_minutes=minutes,
        study=study or folder.name,
        **options,
    )
    found = None
    if storage is not None:
        db = open_storage(storage, folder)
        found = find_study(db, spec.study)
        if found is not None:
            check_same_search(found, spec, _where(storage))
    folder.mkdir(parents=True, exist_ok=True)
    _write_spec(folder, spec, storage)
    if found is None:
        create_study(open_storage(storage, folder), spec)
    return SweepHandle(spec, folder, storage, data=data, workers=workers)


def _reopen(
    folder: Path,
    config: TrainConfig | None,
    space: Any,
    trials: int | None,
    minutes: float | None,
    options: dict[str, Any],
    workers: int,
    data: Any,
    adopt: bool,
) -> SweepHandle:
    """``--resume DIR`` / ``--join DIR``: the folder's sweep, unchanged (checked)."""
    spec, storage = read_folder(folder)
    if config is not None or space is not None:
        given = make_spec(
            config or spec.config,
            space if space is not None else spec.space.to_dict(),
            study=spec.study,
            **options,
        )
        check_same_search_defs(spec, given, folder)
    spec = spec.with_budget(trials, minutes)
    db = open_storage(storage, folder)
    found = find_study(db, spec.study)
    if found is None:
        raise RunError(f"the study {spec.study!r} of {folder} is not in {_where(storage)}")
    check_same_search(found, spec, _where(storage))
    seed = spec.config.optim.seed + 7919 * len(found.trials)
    if not adopt:  # a joining worker draws its own settings
        seed = random.SystemRandom().randrange(2**31)
    handle = SweepHandle(spec, folder, storage, data=data, workers=workers, adopt=adopt, seed=seed)
    if adopt:
        handle.resume()  # a sweep paused when it was stopped goes on
    return handle


def _join_database(
    storage: str | None,
    study: str,
    out: str | Path | None,
    sweeps_dir: str | Path | None,
    trials: int | None,
    minutes: float | None,
    workers: int,
    data: Any,
) -> SweepHandle:
    """A worker on another machine: the sweep's definition comes from the database."""
    db = open_storage(storage, Path("."))
    found = find_study(db, study)
    if found is None:
        raise RunError(f"no study {study!r} in {_where(storage)}")
    stored = found.user_attrs.get(SPEC_ATTR)
    if not isinstance(stored, dict) or "spec" not in stored:
        raise RunError(f"study {study!r} in {_where(storage)} was not made by a workbench sweep")
    spec = SweepSpec.from_dict(stored["spec"]).with_budget(trials, minutes)
    folder = Path(out) if out else _sweeps_root(spec.config, sweeps_dir) / slug(study)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / SPEC_FILE).is_file():
        _write_spec(folder, spec, storage)
    seed = random.SystemRandom().randrange(2**31)
    return SweepHandle(spec, folder, storage, data=data, workers=workers, seed=seed)


def check_same_search_defs(stored: SweepSpec, given: SweepSpec, folder: Path) -> None:
    diff = changes_between(stored.definition(), given.definition())
    if diff:
        raise StudyMismatch(
            f"the sweep in {folder} was created for another search: {diff}; start a new "
            "sweep, or leave --space and the settings out to continue it as it was"
        )


def read_folder(folder: Path) -> tuple[SweepSpec, str | None]:
    """The sweep definition and storage of a sweep folder; RunError when it is none."""
    path = folder / SPEC_FILE
    if not folder.is_dir():
        raise RunError(f"sweep folder not found: {folder}")
    if not path.is_file():
        raise RunError(f"{folder} is not a sweep folder (no {SPEC_FILE})")
    try:
        storage = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("storage")
    except (OSError, yaml.YAMLError, AttributeError):
        storage = None
    return SweepSpec.load(path), storage


def _write_spec(folder: Path, spec: SweepSpec, storage: str | None) -> None:
    text = yaml.safe_dump({"storage": storage, **spec.to_dict()}, sort_keys=False)
    tmp = folder / (SPEC_FILE + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(folder / SPEC_FILE)


def _sweeps_root(config: TrainConfig, sweeps_dir: str | Path | None) -> Path:
    if sweeps_dir is not None:
        return Path(sweeps_dir)
    return Path(config.run.runs_dir).parent / "sweeps"


def _new_folder(config: TrainConfig, out: str | Path | None, sweeps_dir: str | Path | None) -> Path:
    if out is not None:
        folder = Path(out).expanduser()
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = f"{stamp}-{slug(Path(config.model.model).name)}-{slug(config.model.method)}"
        folder = _sweeps_root(config, sweeps_dir) / name
        n = 1
        while folder.exists():
            n += 1
            folder = folder.with_name(f"{name}-{n}")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise RunError(
            f"sweep folder {folder} already exists and is not empty; choose another --out, or "
            f"continue it with --resume {folder}"
        )
    return folder


def _where(storage: str | None) -> str:
    return hide_password(storage) if storage else "the sweep folder's study.journal"
