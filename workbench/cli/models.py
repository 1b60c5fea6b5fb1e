"""``workbench models``: catalog models, whether they are installed, memory estimates."""

from __future__ import annotations

import argparse
from typing import Any

from workbench.cli.common import (
    print_json,
)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("models", help="List catalog models, availability and memory estimates.")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from workbench.models.listing import describe_catalog, format_catalog

    rows = describe_catalog()
    print_json(rows) if args.json else print(format_catalog(rows))
    return 0
