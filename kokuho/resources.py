"""Where the package data is: catalogs and master (data/), contracts, GX config, SQL, Data Docs assets.

Found through importlib.resources, so the same code works from the source tree, an editable install
and an installed wheel. Light: no third-party import."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path


@cache
def package_dir(package: str) -> Path:
    """The folder of an installed (or source) package, as a real path; looked up on the first call
    (a run asks once per file: the masters are read per returned file's name).

    Callers read files below it with ordinary paths (globs, open); a package loaded from a zip would
    not give one, and this project is never installed that way."""
    root = resources.files(package)
    if not isinstance(root, Path):
        raise RuntimeError(f"{package}: package data is not on the file system ({type(root).__name__})")
    return root
