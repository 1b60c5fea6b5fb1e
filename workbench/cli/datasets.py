"""``workbench datasets``: the built-in datasets and what else a run reads."""

from __future__ import annotations

import argparse
from typing import Any

from workbench.cli.common import (
    print_json,
)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("datasets", help="List built-in datasets.")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from workbench.data import list_datasets

    rows = list_datasets()
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        avail = "available" if r.get("available") else "NOT INSTALLED"
        size = f"{r['rows']:,} rows, {r['classes']} classes" if r.get("rows") else ""
        width = max(20, *(len(row["name"]) for row in rows))
        print(f"{r['name']:<{width}} {avail:<14} {size:<26} {r.get('description', '')}")
    print(
        "Also: any CSV/TSV/JSONL/Parquet file path (--dataset FILE), a pandas DataFrame or "
        "datasets.Dataset from Python; for images a folder with one subfolder per class, or a "
        "CSV/Parquet file of image paths and labels."
    )
    return 0
