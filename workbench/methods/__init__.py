"""Adaptation methods: one registry, one file per method (CONVENTIONS rule 3).

Adding a method = one file with an :class:`AdaptationMethod` subclass, one line in
``METHODS`` below, and one row in the conformance test ``tests/test_methods.py``.
"""

from __future__ import annotations

from workbench.config import ConfigError
from workbench.methods.base import AdaptationMethod, count_parameters
from workbench.methods.bitfit import BitFit
from workbench.methods.freeze import FreezeBottom
from workbench.methods.full import FullFineTune
from workbench.methods.head_only import HeadOnly
from workbench.methods.ia3 import IA3
from workbench.methods.lora import Lora

METHODS: dict[str, AdaptationMethod] = {
    m.name: m for m in (FullFineTune(), HeadOnly(), FreezeBottom(), BitFit(), Lora(), IA3())
}


def get_method(name: str) -> AdaptationMethod:
    """The registered method called ``name``; a fix-it error for unknown names."""
    try:
        return METHODS[name]
    except KeyError:
        raise ConfigError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}") from None


__all__ = ["METHODS", "AdaptationMethod", "count_parameters", "get_method"]
