"""Chunking and counting for the flow."""

from __future__ import annotations

from collections.abc import Sequence

from flows.steps.model import InboxFile

# --- chunking and counting for the flow ----------------------------------------------------------

# Files per extract-and-stage task. In-process, one task takes a national inbox at once: its
# worker processes start once (each loads the catalog) and nothing waits at chunk boundaries; the
# staged rows of 2,000 files take ~30 MB. On Dask, smaller chunks spread over the cluster.
CHUNK_SIZE = 2000
DISTRIBUTED_CHUNK_SIZE = 250


def chunk_size(*, distributed: bool) -> int:
    return DISTRIBUTED_CHUNK_SIZE if distributed else CHUNK_SIZE


def chunked(items: Sequence[InboxFile], size: int) -> list[list[InboxFile]]:
    """`items` in consecutive chunks of at most `size` (none for no items)."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def split_known(files: Sequence[InboxFile], known: set[str]) -> tuple[list[InboxFile], list[InboxFile]]:
    """(new files, files the warehouse already holds), each in scan order."""
    return [f for f in files if f.sha256 not in known], [f for f in files if f.sha256 in known]
