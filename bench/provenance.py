"""Where and when a benchmark ran: the header of every raw output in ``bench/results/``.

A number quoted in the README or the docs must be traceable to a committed raw output that
says when it was measured, on what machine, under what load, and at which git revision
(with the files that were modified in the working tree, if any). :func:`header` gives those
fields; a script stores it next to its raw timings:

    started = header(["bench/adamw_check.py"])      # before measuring: load before
    ...
    record = {**started, **finish(), "raw": ...}    # after: load after, wall time

``bench/train_start.py``'s ``machine()`` records the same machine fields (it predates this
module and is kept for the outputs already written with it).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT)
    return done.stdout.strip()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?"
            )
    except OSError:
        return "?"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """CPU, cores, kernel and library versions (torch is read from its metadata, not imported)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "uname": " ".join(platform.uname()),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "python": platform.python_version(),
        **{name: _version(name) for name in ("torch", "transformers", "accelerate", "captum")},
    }


def header(scripts: list[str]) -> dict[str, Any]:
    """Fields to take *before* measuring: date (UTC), machine, load average, git revision,
    and which engine or benchmark files differed from that revision."""
    dirty = _git("status", "--porcelain", "--", "workbench", "widgets", *scripts)
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "git_revision": _git("rev-parse", "HEAD"),
        "files_modified": dirty.splitlines(),
        "load_average_before": list(os.getloadavg()),
        "started_at": time.time(),
    }


def finish(started: dict[str, Any]) -> dict[str, Any]:
    """Fields to take *after* measuring: load average and the wall time of the whole script."""
    return {
        "load_average_after": list(os.getloadavg()),
        "wall_s": round(time.time() - started["started_at"], 1),
    }


def describe(record: dict[str, Any]) -> str:
    """One line for the text regenerated from ``record``: date, machine, load, revision."""
    m = record["machine"]
    before, after = record["load_average_before"][0], record["load_average_after"][0]
    dirty = " + uncommitted changes" if record.get("files_modified") else ""
    return (
        f"{record['date'][:16].replace('T', ' ')} UTC, {m['cpu']} ({m['cpu_count']} cores), "
        f"load average {before:.1f} → {after:.1f}, rev {record['git_revision'][:7]}{dirty}"
    )
