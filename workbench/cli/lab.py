"""``workbench lab``: JupyterLab from this environment, on the starter notebook."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbench.errors import UserError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("lab", help="Open JupyterLab on the starter notebook.")
    p.add_argument("--notebook", default="notebooks/00_workbench.ipynb")
    p.add_argument("--port", type=int, default=None)


def run(args: argparse.Namespace) -> int:
    """Start JupyterLab (from this environment) on the starter notebook."""
    import shutil
    import subprocess
    from pathlib import Path

    jupyter = Path(sys.executable).with_name("jupyter")
    exe = str(jupyter) if jupyter.is_file() else shutil.which("jupyter")
    if exe is None:
        raise UserError("jupyter is not installed in this environment; run: pip install jupyterlab")
    notebook = Path(args.notebook)
    cmd = [exe, "lab"] + ([str(notebook)] if notebook.is_file() else [])
    if args.port:
        cmd.append(f"--port={args.port}")
    return subprocess.call(cmd)
