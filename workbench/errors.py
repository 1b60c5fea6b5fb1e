"""Errors the user can fix: each message names the bad value and what is allowed.

The CLI turns any :class:`UserError` (and :class:`ConfigError`, which
:mod:`workbench.config` raises and re-exports) into one ``error: …`` line on stderr and exit
code 2; anything else is an internal error (exit 1). This module is the bottom of the
import graph: it imports nothing of the workbench.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting has a value that is not allowed; the message says what is."""


class UserError(ValueError):
    """Base for problems caused by the user's input, not by the workbench."""


class DataError(UserError):
    """The dataset cannot be read, has unusable columns or labels, or is empty after cleaning."""


class ModelError(UserError):
    """The model cannot be found or loaded (unknown id, not on disk while offline, no weights)."""


class RunError(UserError):
    """A run directory is missing, incomplete, or not a run directory."""


class StorageError(UserError):
    """A file of the run could not be written (disk full, no permission); what was written
    before stays as it was, so the run can be resumed once the disk is fixed."""


class OutOfMemory(UserError):
    """Training ran out of (GPU) memory; the message says which settings need less."""


USER_ERRORS: tuple[type[Exception], ...] = (UserError, ConfigError)
