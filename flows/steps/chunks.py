"""Chunking and counting for the flow."""

from __future__ import annotations

import os
from collections.abc import Sequence

from flows.steps.model import InboxFile

# --- chunking and counting for the flow ----------------------------------------------------------

# Files per chunk: each chunk is extracted and staged, validated, quarantined and loaded into the
# run's working copy before the next (published once, after the last), so a run holds one
# chunk's rows whatever the inbox holds. In-process, one chunk takes one year's national inbox
# (its worker processes start once per chunk); the staged rows of 2,000 files take ~30 MB.
# On Dask, smaller chunks spread over the cluster. KOKUHO_CHUNK_FILES overrides both.
CHUNK_SIZE = 2000
DISTRIBUTED_CHUNK_SIZE = 250
CHUNK_FILES_ENV = "KOKUHO_CHUNK_FILES"


def chunk_size(*, distributed: bool) -> int:
    """Files per chunk: KOKUHO_CHUNK_FILES when set to a positive number (read when called)."""
    value = os.environ.get(CHUNK_FILES_ENV, "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return DISTRIBUTED_CHUNK_SIZE if distributed else CHUNK_SIZE


def chunked(items: Sequence[InboxFile], size: int) -> list[list[InboxFile]]:
    """`items` in chunks of at most `size` (none for no items), folder by folder (folders in
    name order, each folder's files in the order given).

    A folder's files are kept together when they fit: a chunk that is at least half full ends
    before a folder that would not fit in it. Inboxes keep a folder per fiscal year, and a chunk of
    one survey is validated once, while a chunk of several is validated once per survey (each at a
    fixed cost of about half a second, whatever its size); the scan's order (by file name) would
    give every chunk of a ten-year inbox all ten years."""
    chunks: list[list[InboxFile]] = []
    current: list[InboxFile] = []
    for folder in _folder_runs(sorted(items, key=lambda item: str(item.path.parent))):
        if current and len(current) + len(folder) > size and 2 * len(current) >= size:
            chunks.append(current)
            current = []
        for item in folder:
            current.append(item)
            if len(current) == size:
                chunks.append(current)
                current = []
    if current:
        chunks.append(current)
    return chunks


def _folder_runs(items: Sequence[InboxFile]) -> list[list[InboxFile]]:
    """Consecutive items of the same folder, in order."""
    runs: list[list[InboxFile]] = []
    for item in items:
        if runs and runs[-1][-1].path.parent == item.path.parent:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def split_known(files: Sequence[InboxFile], known: set[str]) -> tuple[list[InboxFile], list[InboxFile]]:
    """(new files, files the warehouse already holds), each in scan order."""
    return [f for f in files if f.sha256 not in known], [f for f in files if f.sha256 in known]
