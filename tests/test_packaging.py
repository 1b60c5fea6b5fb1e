"""Packaging stays consistent: pyproject.toml, environment.yml and the Makefile agree.

Pip users install from pyproject.toml, conda users from environment.yml, and `make`
pins torch before either; a dependency added to one and forgotten in another breaks a user
we never see, so these tests compare them.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

# tomllib is stdlib from Python 3.11; the project itself supports 3.10.
tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11+")

ROOT = Path(__file__).resolve().parents[1]

# conda-forge names that differ from the PyPI name of the same project.
CONDA_TO_PYPI = {"pytorch": "torch"}
# Entries of environment.yml that are the toolchain, not dependencies of the project.
CONDA_TOOLCHAIN = {"python", "pip"}


def _pyproject() -> dict[str, Any]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def _requirements(lines: list[str]) -> dict[str, SpecifierSet]:
    """Map normalized project name -> version specifier for requirement strings."""
    out: dict[str, SpecifierSet] = {}
    for line in lines:
        req = Requirement(line)
        name = canonicalize_name(CONDA_TO_PYPI.get(req.name.lower(), req.name))
        assert name not in out, f"{name} listed twice"
        out[name] = req.specifier
    return out


def _pyproject_requirements() -> dict[str, SpecifierSet]:
    project = _pyproject()["project"]
    return _requirements(project["dependencies"] + project["optional-dependencies"]["dev"])


def _environment_requirements() -> dict[str, SpecifierSet]:
    with open(ROOT / "environment.yml") as f:
        env = yaml.safe_load(f)
    conda: list[str] = []
    pip: list[str] = []
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            # pip options and the project itself (`-e .`) are not dependencies.
            pip.extend(line for line in entry["pip"] if not line.startswith("-"))
        elif Requirement(entry).name not in CONDA_TOOLCHAIN:
            conda.append(entry)
    return _requirements(conda + pip)


def test_pyproject_and_environment_list_the_same_dependencies() -> None:
    pyproject = _pyproject_requirements()
    environment = _environment_requirements()
    assert set(pyproject) == set(environment), (
        f"only in pyproject.toml: {sorted(set(pyproject) - set(environment))}; "
        f"only in environment.yml: {sorted(set(environment) - set(pyproject))}"
    )


def test_pyproject_and_environment_agree_on_version_ranges() -> None:
    pyproject = _pyproject_requirements()
    environment = _environment_requirements()
    differ = {
        name: (str(spec), str(environment[name]))
        for name, spec in pyproject.items()
        if name in environment and spec != environment[name]
    }
    assert not differ, f"(pyproject.toml, environment.yml) ranges differ: {differ}"


def test_torch_requirement_admits_the_cpu_wheel_on_disk() -> None:
    # 2.13.0 is the CPU build on the dev/CI disk; a range excluding it makes pip fetch
    # a multi-GB CUDA build.
    spec = _requirements(_pyproject()["project"]["dependencies"])["torch"]
    assert spec.contains(Version("2.13.0")), f"torch{spec} excludes 2.13.0"
    assert spec.contains(Version("2.13.0+cpu")), f"torch{spec} excludes 2.13.0+cpu"


def test_makefile_torch_pin_is_admitted_by_pyproject() -> None:
    makefile = (ROOT / "Makefile").read_text()
    pins = re.findall(r"torch==([0-9][0-9.]*)", makefile)
    assert pins, "Makefile no longer pins torch before installing the project"
    spec = _requirements(_pyproject()["project"]["dependencies"])["torch"]
    for pin in pins:
        assert spec.contains(Version(pin)), f"Makefile pins torch=={pin}, pyproject wants {spec}"


def test_every_dependency_line_says_why_it_is_there() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    project = _pyproject()["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["dev"]:
        # a requirement may sit in two lists (dev and an extra): every line says why
        lines = [ln for ln in text.splitlines() if ln.strip().startswith(f'"{requirement}"')]
        assert lines, f"{requirement!r} not found on a line of its own in pyproject.toml"
        for line in lines:
            comment = line.partition("#")[2].strip()
            assert comment, f"no comment beside {requirement!r} in pyproject.toml"


def test_console_script_points_to_cli_main() -> None:
    assert _pyproject()["project"]["scripts"] == {"workbench": "workbench.cli:main"}


def test_installed_console_script_matches_pyproject() -> None:
    try:
        dist = importlib.metadata.distribution("finetune-workbench")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("finetune-workbench is not installed in this interpreter (make install)")
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts == {"workbench": "workbench.cli:main"}
    assert dist.version == _pyproject()["project"]["version"]


def test_running_python_satisfies_requires_python() -> None:
    spec = SpecifierSet(_pyproject()["project"]["requires-python"])
    running = Version(".".join(map(str, sys.version_info[:3])))
    assert running in spec
    assert Version("3.10") in spec


def test_every_python_folder_ships_in_the_wheel() -> None:
    """A folder of .py files without __init__.py is silently left out of the wheel.

    With ``namespaces = false`` setuptools takes a folder as a package only when it and
    every folder above it hold an ``__init__.py``.
    """
    find = _pyproject()["tool"]["setuptools"]["packages"]["find"]
    assert find.get("namespaces") is False, "this check assumes namespaces = false"
    assert find["include"] == ["workbench*", "widgets*"]
    assert (ROOT / "workbench" / "__init__.py").is_file(), "workbench/__init__.py is missing"
    missing: set[str] = set()
    for top in ("workbench", "widgets"):
        for py in (ROOT / top).rglob("*.py"):
            folder = py.parent.relative_to(ROOT)
            if "__pycache__" in folder.parts:
                continue
            for depth in range(1, len(folder.parts) + 1):
                package_dir = Path(*folder.parts[:depth])
                if not (ROOT / package_dir / "__init__.py").is_file():
                    missing.add(str(package_dir))
    assert not missing, f"no __init__.py, so these would not ship: {sorted(missing)}"
