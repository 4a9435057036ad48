"""Chunking and counting for the flow."""

from __future__ import annotations

import os
from collections.abc import Sequence

from flows.steps.model import InboxFile

# --- chunking and counting for the flow ----------------------------------------------------------

# Files per chunk: each chunk is extracted and staged, validated, quarantined and loaded into the
# run's working copy before the next (published once, after the last), so a run holds one
# chunk's rows whatever the inbox holds. In-process, an inbox of up to 2,000 new files (one
# year's national inbox) is one chunk: its worker processes start once, Great Expectations runs
# once. A larger inbox goes in chunks of 1,000: after the first chunks the process keeps a few
# hundred MB it does not give back (caches, the allocator), and 2,000-file chunks on top of that
# passed 1 GiB. On Dask, smaller chunks spread over the cluster. KOKUHO_CHUNK_FILES overrides all.
CHUNK_SIZE = 2000
LARGE_INBOX_CHUNK_SIZE = 1000
DISTRIBUTED_CHUNK_SIZE = 250
CHUNK_FILES_ENV = "KOKUHO_CHUNK_FILES"


def chunk_size(*, distributed: bool, files: int = 0) -> int:
    """Files per chunk for `files` new files: KOKUHO_CHUNK_FILES when set to a positive number
    (read when called)."""
    value = os.environ.get(CHUNK_FILES_ENV, "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    if distributed:
        return DISTRIBUTED_CHUNK_SIZE
    return CHUNK_SIZE if files <= CHUNK_SIZE else LARGE_INBOX_CHUNK_SIZE


def chunked(items: Sequence[InboxFile], size: int) -> list[list[InboxFile]]:
    """`items` in consecutive chunks of at most `size` (none for no items)."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def split_known(files: Sequence[InboxFile], known: set[str]) -> tuple[list[InboxFile], list[InboxFile]]:
    """(new files, files the warehouse already holds), each in scan order."""
    return [f for f in files if f.sha256 not in known], [f for f in files if f.sha256 in known]
