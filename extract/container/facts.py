"""What a returned file is before any check: its limits, facts (sha256, size, mtime), kinds and magic
bytes, and the Container the checks fill."""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from extract.model import RawIssue

MIB = 1024 * 1024
GIB = 1024 * MIB

ZIP_MAGIC = b"PK\x03\x04"
ZIP_EMPTY_MAGIC = b"PK\x05\x06"  # an empty archive: a zip, but never a workbook
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

KIND_XLSX = "xlsx"
KIND_XLSM = "xlsm"
KIND_XLS = "xls"


@dataclass(frozen=True)
class Limits:
    """What one returned file may cost. The defaults leave a wide margin over a real survey
    workbook (≈20 KB, 5 sheets, a few hundred rows, columns A–F)."""

    max_file_bytes: int = 20 * MIB
    max_uncompressed_bytes: int = 200 * MIB  # sum of the zip members' declared sizes
    max_compression_ratio: float = 100.0  # per member ...
    ratio_min_member_bytes: int = 1 * MIB  # ... only for members larger than this (small XML compresses well)
    max_zip_members: int = 2_000
    max_rows: int = 5_000
    max_cols: int = 64
    memory_bytes: int = 2 * GIB  # address space of a parsing worker (RLIMIT_AS)
    timeout_seconds: float = 60.0  # per file, in a worker


@dataclass
class FileFacts:
    sha256: str
    size: int
    mtime: float


@dataclass
class Container:
    """A returned file after the container checks. When `issues` is non-empty nothing may parse it."""

    facts: FileFacts
    kind: str | None = None  # xlsx / xlsm / xls
    has_macros: bool = False
    issues: list[RawIssue] = field(default_factory=list)
    data: bytes = b""  # the whole file, as checked
    # OOXML only: XML parts by normalised name (lower case, no leading "/"), read with their
    # sizes bounded by the zip directory, and the main (workbook) part's name.
    parts: dict[str, bytes] = field(default_factory=dict)
    workbook_part: str | None = None
    members: list[zipfile.ZipInfo] = field(default_factory=list)  # OOXML: the zip directory, in order


def file_facts(path: Path) -> FileFacts:
    """sha256, size and mtime, streaming (safe on any file, used for files a worker never finished)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        stat = os.fstat(handle.fileno())
        for chunk in iter(lambda: handle.read(MIB), b""):
            digest.update(chunk)
    return FileFacts(digest.hexdigest(), stat.st_size, stat.st_mtime)


def _mb(n: int) -> str:
    return f"{n / MIB:,.1f}MB"
