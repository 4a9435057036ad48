"""The wheel carries everything the code reads: every file in a package folder that is not Python
matches one of the package-data patterns in pyproject.toml, and every package is found.

(`dev.py test` also installs the built wheel in a throwaway venv and runs `kokuho demo` from it; this
test names a forgotten file at once, without building anything.)
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
TOP_LEVEL = ["kokuho", "extract", "transform", "expectations", "load", "flows", "data", "demo", "benchmarks"]
# Local state a run may leave in the tree, never shipped.
NOT_SHIPPED = {"__pycache__", "uncommitted", ".gitignore"}


def _packages() -> list[str]:
    find = CONFIG["packages"]["find"]
    return find_packages(str(ROOT), include=find["include"])


def test_every_package_and_subpackage_is_in_the_wheel() -> None:
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in TOP_LEVEL
        for init in (ROOT / top).rglob("__init__.py")
        if not NOT_SHIPPED & set(init.parts)
    }
    assert set(TOP_LEVEL) <= on_disk
    assert on_disk == set(_packages())


def test_every_data_file_matches_a_package_data_pattern() -> None:
    package_data: dict[str, list[str]] = CONFIG["package-data"]
    missing = []
    for package in _packages():
        folder = ROOT.joinpath(*package.split("."))
        # Files of a folder that is itself a package belong to that package's patterns.
        subpackages = [p for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").is_file()]
        data = {
            path
            for path in folder.rglob("*")
            if path.is_file()
            and path.suffix not in {".py", ".pyc"}
            and not NOT_SHIPPED & set(path.relative_to(ROOT).parts)
            and not any(path.is_relative_to(sub) for sub in subpackages)
        }
        shipped = {path for pattern in package_data.get(package, []) for path in folder.glob(pattern)}
        missing += sorted(str(path.relative_to(ROOT)) for path in data - shipped)
    assert missing == []
