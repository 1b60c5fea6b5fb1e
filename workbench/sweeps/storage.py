"""Where a sweep's study lives, and the Optuna sampler and pruner each worker uses.

The study is the one thing every worker shares. By default it is an Optuna journal file,
``study.journal``, inside the sweep folder: an append-only log of operations that several
processes can write through a lock file, on one machine or on a shared disk that several
machines mount (NFS included; that is what Optuna's journal backend was made for). For
machines that share no disk, give a database URL that SQLAlchemy understands
(``postgresql://user:password@host/db``, ``mysql+pymysql://…``, ``sqlite:///file.db``); the
study's definition is stored in it, so a worker elsewhere needs only the URL and the study
name (README, "Sweeps").

A storage that cannot be opened — no such folder, no database driver, no server — is a
:class:`~workbench.errors.UserError` raised before anything is written.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from workbench.errors import UserError
from workbench.sweeps.spec import SweepSpec, changes_between

JOURNAL = "study.journal"
SPEC_ATTR = "workbench_sweep"  # study user attribute holding the sweep's definition
CONTROL_ATTR = "workbench_control"  # {"paused": bool}: followed by every worker
CONNECT_TIMEOUT_S = 10  # a database server that does not answer fails in seconds, not minutes


class StudyMismatch(UserError):
    """The study in the storage was created for another search (space, objective, base)."""


def quiet_optuna() -> None:
    """No per-trial INFO lines from Optuna: the sweep prints its own."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def is_url(storage: str | None) -> bool:
    return storage is not None and "://" in storage


def open_storage(storage: str | None, folder: Path) -> Any:
    """An Optuna storage: the journal in ``folder`` (``storage`` None), a journal file
    path, or a database URL. UserError when it cannot be opened."""
    import optuna

    quiet_optuna()
    if not is_url(storage):
        path = folder / JOURNAL if storage is None else Path(storage).expanduser()
        if not path.parent.is_dir():
            raise UserError(f"cannot open the sweep storage {path}: folder {path.parent} not found")
        from optuna.storages.journal import JournalFileBackend

        try:
            return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
        except OSError as err:
            raise UserError(f"cannot open the sweep storage {path}: {err}") from None
    assert storage is not None
    return _database(storage)


def _database(url: str) -> Any:
    import optuna

    kwargs: dict[str, Any] = {}
    if url.startswith(("postgresql", "mysql")):
        kwargs = {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}}
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
    except ImportError:
        raise UserError(
            f"cannot open the sweep storage {hide_password(url)}: the database driver for "
            "this URL is not installed (e.g. pip install psycopg2-binary for postgresql://, "
            "pymysql for mysql+pymysql://)"
        ) from None
    except Exception as err:  # sqlalchemy's errors (no server, bad URL, no such folder)
        reason = " ".join(str(err).split("\n")[0].split())[:200]
        raise UserError(
            f"cannot open the sweep storage {hide_password(url)}: {reason}; check the URL, "
            "that the server runs and that this machine can reach it"
        ) from None


def hide_password(url: str) -> str:
    """``postgresql://user:***@host/db``: a URL fit to print."""
    head, sep, tail = url.partition("://")
    if "@" not in tail:
        return url
    creds, _, host = tail.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{head}{sep}{user}:***@{host}" if ":" in creds else url


def find_study(storage: Any, name: str) -> Any | None:
    """The study called ``name`` in ``storage``, or None."""
    import optuna

    if name not in optuna.study.get_all_study_names(storage):
        return None
    return optuna.load_study(study_name=name, storage=storage)


def check_same_search(study: Any, spec: SweepSpec, where: str) -> None:
    """StudyMismatch when ``study`` was created for another search than ``spec``'s."""
    stored = study.user_attrs.get(SPEC_ATTR)
    if not isinstance(stored, dict) or "definition" not in stored:
        raise StudyMismatch(
            f"study {study.study_name!r} in {where} was not made by a workbench sweep; choose "
            "another study name"
        )
    diff = changes_between(stored["definition"], spec.definition())
    if diff:
        raise StudyMismatch(
            f"study {study.study_name!r} in {where} was created for another search: {diff}; "
            "start a new sweep (another --out folder or --study name), or leave --space and "
            "the settings out to continue it as it was"
        )


def create_study(storage: Any, spec: SweepSpec) -> Any:
    """A new study holding ``spec``'s definition (what joining workers read)."""
    import optuna

    direction = optuna.study.StudyDirection.MINIMIZE
    if spec.direction == "maximize":
        direction = optuna.study.StudyDirection.MAXIMIZE
    study = optuna.create_study(study_name=spec.study, storage=storage, direction=direction)
    study.set_user_attr(SPEC_ATTR, {"definition": spec.definition(), "spec": spec.to_dict()})
    study.set_user_attr(CONTROL_ATTR, {"paused": False})
    return study


def make_sampler(spec: SweepSpec, seed: int) -> Any:
    """TPE (a few random trials first), random, or a grid over the space."""
    import optuna

    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if spec.sampler == "grid":
        return grid_sampler(spec.space.grid(), seed)
    # Optuna's default is 10 random trials before TPE models anything: most of a small
    # budget. A third of the budget (at least 3, at most 10) leaves TPE the rest.
    startup = max(3, min(10, spec.trials // 3))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)


def make_pruner(spec: SweepSpec) -> Any:
    """Steps are evaluations: a trial's k-th evaluation is compared with the others' k-th."""
    import optuna

    if spec.pruner == "median":
        # Optuna's default waits for 5 finished trials; a quarter of the budget (2 to 5)
        # lets a 12-trial sweep prune from its 4th trial on.
        startup = max(2, min(5, spec.trials // 4))
        return optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=0)
    if spec.pruner == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if spec.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, reduction_factor=3)
    return optuna.pruners.NopPruner()


def _grid_sampler_class() -> Any:
    import optuna

    class GridSampler(optuna.samplers.GridSampler):
        """Optuna's grid sampler, minus its ``study.stop()`` once the grid is done: that only
        works inside ``study.optimize``, and a sweep asks and tells outside it (its worker
        counts the budget itself, the grid's size included)."""

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            return None

    return GridSampler


def grid_sampler(grid: dict[str, list[Any]], seed: int) -> Any:
    """A grid sampler that leaves stopping to the sweep (Optuna is imported only here)."""
    return _grid_sampler_class()(grid, seed=seed)
