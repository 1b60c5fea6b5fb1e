"""Lesson mode: a workbench with some settings fixed and hidden, and its state as one string.

A teacher narrows the workbench to the one idea of a lesson, the way TensorFlow Playground
hides controls for a focused exercise:

>>> lesson = Lesson(
...     title="Weight decay",
...     fixed={"method": "full", "epochs": 6.0, "max_train_samples": 200},
...     editable=["weight_decay"],                 # only this slider is the learner's
...     tabs=["Hyperparameters", "Train", "Runs"],
... )
>>> wb = Workbench(lesson=lesson)
>>> code = wb.state()                           # 'wb1.eNq…': paste it anywhere
>>> Workbench.from_state(code)                  # the same settings, lesson and tab

``fixed`` settings take the given values and their controls are hidden; when ``editable``
is given, every other control is hidden too (keeping the value it starts with). Hidden
controls still feed ``config()``, so a run always uses the lesson's values.

The state string is ``wb1.`` followed by URL-safe base64 of zlib-compressed JSON: copyable
through chat and e-mail, and zlib's checksum catches a string cut short or mistyped.
:func:`decode_state` turns a damaged or foreign string into a :class:`StateError` whose
message says what is wrong and what to do.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.config import ConfigError, TrainConfig, section_of

STATE_VERSION = 1
STATE_PREFIX = f"wb{STATE_VERSION}."
MAX_STATE_CHARS = 100_000  # a real state is ~1 kB; refuse to inflate anything far larger


class StateError(ValueError):
    """A workbench state string that cannot be restored; the message says why."""


@dataclass(frozen=True)
class Lesson:
    """What a lesson fixes, what it leaves to the learner, and which tabs it shows.

    Parameters
    ----------
    title, goal
        Shown above the tabs (escaped).
    fixed
        ``{setting: value}``: these values are used and their controls hidden.
    editable
        Setting names the learner may change; None (default) leaves every control that is
        not ``fixed`` visible.
    tabs
        Tab titles to show (e.g. ``["Hyperparameters", "Train"]``); None shows all.
    """

    title: str = ""
    goal: str = ""
    fixed: Mapping[str, Any] = field(default_factory=dict)
    editable: Sequence[str] | None = None  # stored as a tuple
    tabs: Sequence[str] | None = None  # stored as a tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "fixed", dict(self.fixed))
        for name in ("editable", "tabs"):
            value = getattr(self, name)
            if value is not None:
                if isinstance(value, str):
                    raise ConfigError(f"lesson {name} must be a list of names, got {value!r}")
                object.__setattr__(self, name, tuple(value))
        for name in [*self.fixed, *(self.editable or ())]:
            section_of(name)  # raises "unknown setting 'x'; did you mean ...?"
        both = sorted(set(self.fixed) & set(self.editable or ()))
        if both:
            raise ConfigError(
                f"lesson settings {', '.join(both)} are both fixed and editable; pick one"
            )

    def hidden(self, names: Iterable[str]) -> set[str]:
        """Which of ``names`` (the form's controls) this lesson hides."""
        names = set(names)
        if self.editable is None:
            return names & set(self.fixed)
        return names - set(self.editable)

    def apply(self, config: TrainConfig) -> TrainConfig:
        """``config`` with the fixed values in (raises ConfigError when they are invalid)."""
        try:
            return config.replace(**self.fixed) if self.fixed else config
        except ConfigError as err:
            raise ConfigError(f"lesson fixes an invalid value: {err}") from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "goal": self.goal,
            "fixed": dict(self.fixed),
            "editable": list(self.editable) if self.editable is not None else None,
            "tabs": list(self.tabs) if self.tabs is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Lesson:
        known = {"title", "goal", "fixed", "editable", "tabs"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown lesson keys {', '.join(unknown)}; known: {sorted(known)}")
        return cls(**dict(data))


# ----------------------------------------------------------------------------- state string
def encode_state(payload: Mapping[str, Any]) -> str:
    """``wb1.`` + URL-safe base64 of zlib-compressed, key-sorted JSON of ``payload``."""
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    packed = zlib.compress(raw.encode("utf-8"), 9)
    return STATE_PREFIX + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode_state(text: str) -> dict[str, Any]:
    """The payload of a state string; :class:`StateError` saying what is wrong otherwise."""
    if not isinstance(text, str):
        raise StateError(f"a workbench state is a string, got {type(text).__name__}")
    compact = re.sub(r"\s+", "", text).strip("'\"")  # pasted strings wrap and keep quotes
    head = re.match(r"wb(\d+)\.", compact)
    if head is None:
        raise StateError(
            f"not a workbench state string: it should start with {STATE_PREFIX!r} "
            f"(got {compact[:12]!r}); copy the whole string that wb.state() returned"
        )
    if int(head.group(1)) != STATE_VERSION:
        raise StateError(
            f"this state string has format {head.group(1)}, but this workbench reads format "
            f"{STATE_VERSION}; open it with the workbench version that made it"
        )
    body = compact[head.end() :]
    if len(body) > MAX_STATE_CHARS:
        raise StateError(f"the state string is too long ({len(body):,} characters) to be one")
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        payload = json.loads(zlib.decompress(packed).decode("utf-8"))
    except (binascii.Error, ValueError, zlib.error) as err:
        raise StateError(
            f"the state string is damaged (cut short or changed: {err}); copy it again, whole"
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("config"), dict):
        raise StateError("the state string holds no workbench settings; copy it again, whole")
    return payload


def config_from_state(payload: Mapping[str, Any]) -> TrainConfig:
    """The TrainConfig a decoded state holds (StateError when this version cannot use it)."""
    try:
        return TrainConfig.from_dict(payload["config"])
    except (ConfigError, TypeError) as err:
        raise StateError(
            f"the state string holds settings this workbench cannot use: {err}"
        ) from None


def lesson_from_state(payload: Mapping[str, Any]) -> Lesson | None:
    data = payload.get("lesson")
    if data is None:
        return None
    if not isinstance(data, dict):
        raise StateError("the state string's lesson is not a mapping; copy it again, whole")
    try:
        return Lesson.from_dict(data)
    except (ConfigError, TypeError) as err:
        raise StateError(
            f"the state string holds a lesson this workbench cannot use: {err}"
        ) from None
