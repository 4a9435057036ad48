"""Checks on the file as a container, before any spreadsheet parser sees it.

Pure Python and cheap: what the file really is (by its bytes, not its extension), whether it is
encrypted, whether its zip directory promises a bomb, whether any XML part declares a DTD. The
bytes checked here are the bytes later handed to the parser, so the file cannot change in between.

Modules: facts (Limits, FileFacts, Container, kinds), zipcheck (the zip directory, members and
the checked package), package (OOXML structure: main part, content types, relationships), cfb
(the OLE walk), sniff (what anything else is).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from extract.container.cfb import _check_cfb, cfb_entry_names
from extract.container.facts import (
    CFB_MAGIC,
    GIB,
    KIND_XLS,
    KIND_XLSM,
    KIND_XLSX,
    MIB,
    ZIP_EMPTY_MAGIC,
    ZIP_MAGIC,
    Container,
    FileFacts,
    Limits,
    _mb,
    file_facts,
)
from extract.container.package import local_name, memo_part, relationship_map, relationships, resolve_target
from extract.container.sniff import _sniff_other
from extract.container.zipcheck import _check_zip, checked_package, read_member
from extract.model import RawIssue


def open_container(path: Path, limits: Limits) -> Container:
    """Read `path` once and run every container check on its bytes. Raises OSError only when the
    file itself cannot be read."""
    with path.open("rb") as handle:
        stat = os.fstat(handle.fileno())
        if stat.st_size > limits.max_file_bytes:
            container = Container(file_facts(path))
            container.issues.append(
                RawIssue(
                    "FILE_TOO_LARGE",
                    detail=f"{_mb(stat.st_size)}、上限 {_mb(limits.max_file_bytes)}",
                    rule="max_file_bytes",
                )
            )
            return container
        # Bounded reads: a file growing while we read it cannot exceed the limit. The first asks
        # for the size found (a read of the whole limit allocates the limit for every file).
        data = handle.read(stat.st_size + 1)
        if len(data) > stat.st_size:  # it grew
            data += handle.read(limits.max_file_bytes + 1 - len(data))
    if len(data) > limits.max_file_bytes:  # it grew while we read it
        container = Container(file_facts(path))
        container.issues.append(
            RawIssue("FILE_TOO_LARGE", detail=f"上限 {_mb(limits.max_file_bytes)} 超", rule="max_file_bytes")
        )
        return container
    facts = FileFacts(hashlib.sha256(data).hexdigest(), len(data), stat.st_mtime)
    container = Container(facts, data=data)
    if not data:
        container.issues.append(RawIssue("EMPTY_FILE", rule="empty"))
    elif data.startswith(ZIP_MAGIC):
        _check_zip(container, limits)
    elif data.startswith(CFB_MAGIC):
        _check_cfb(container)
    elif data.startswith(ZIP_EMPTY_MAGIC):
        container.issues.append(RawIssue("NOT_WORKBOOK", detail="中身のないZIPファイル", rule="magic"))
    else:
        container.issues.append(_sniff_other(data))
    if container.issues:
        container.data = b""
        container.parts = {}
    return container


__all__ = [
    "CFB_MAGIC",
    "Container",
    "FileFacts",
    "GIB",
    "KIND_XLS",
    "KIND_XLSM",
    "KIND_XLSX",
    "Limits",
    "MIB",
    "ZIP_EMPTY_MAGIC",
    "ZIP_MAGIC",
    "cfb_entry_names",
    "checked_package",
    "file_facts",
    "local_name",
    "memo_part",
    "open_container",
    "read_member",
    "relationship_map",
    "relationships",
    "resolve_target",
]
