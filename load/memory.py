"""How much memory the run's DuckDB connections may hold, and handing freed memory back.

Without a bound DuckDB keeps what it read and wrote cached up to most of the machine's memory, so a
run over years of a nation's files grows with the warehouse. Bounded, it spills to disk instead. Work
that cannot finish within the bound is done again within a larger one (retry_limits), and at last
within DuckDB's own, so a bound never costs a run.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar

from load.sql_files import sql

if TYPE_CHECKING:
    import duckdb

T = TypeVar("T")

LOAD_MEMORY_ENV = "KOKUHO_LOAD_MEMORY"
EXPORT_MEMORY_ENV = "KOKUHO_EXPORT_MEMORY"
DEFAULT_LOAD_MEMORY = "128MB"
DEFAULT_EXPORT_MEMORY = "128MB"
_MEMORY_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KIB|MIB|GIB|TIB)", re.IGNORECASE)
_UNIT_BYTES = {
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}
RETRY_FACTOR = 4
# What DuckDB may keep while it evicts its cache (drop_cached_blocks).
EVICTION_LIMIT = "16MB"


def memory_limit(env: str, default: str) -> str | None:
    """DuckDB's memory_limit from the environment variable `env` (e.g. 256MB; 0 for DuckDB's own
    default, most of the machine's memory), read when called; a value that is not a size gives
    `default`."""
    value = os.environ.get(env, "").strip()
    if value == "0":
        return None
    return value if _MEMORY_SIZE.fullmatch(value) else default


def retry_limits(limit: str | None) -> list[str | None]:
    """The bounds to work within in turn: `limit`, RETRY_FACTOR times it, then DuckDB's own (None)."""
    match = _MEMORY_SIZE.fullmatch(limit or "")
    if match is None:
        return [None]
    size = float(match.group(1)) * _UNIT_BYTES[match.group(2).upper()]
    return [limit, f"{int(size * RETRY_FACTOR)}B", None]


def within_memory_bounds(limit: str | None, attempt: Callable[[str | None], T]) -> T:
    """`attempt(bound)` for each bound of retry_limits(limit) in turn, until one does not run out of
    memory (the last one's error is raised)."""
    import duckdb

    *bounded, last = retry_limits(limit)
    for bound in bounded:
        try:
            return attempt(bound)
        except duckdb.OutOfMemoryException:
            continue
    return attempt(last)


def set_memory_limit(con: duckdb.DuckDBPyConnection, limit: str | None) -> None:
    """The connection's memory_limit: `limit`, or DuckDB's own (None)."""
    # Unbounded first: under a bound too tight even binding the new one's parameter can fail.
    con.execute(sql("settings/unbounded_memory"))
    if limit is not None:
        con.execute(sql("settings/memory_limit"), {"limit": limit})


def on_connection_within_bounds(
    con: duckdb.DuckDBPyConnection,
    limit: str | None,
    work: Callable[[duckdb.DuckDBPyConnection], T],
) -> T:
    """`work(con)` on a connection opened within `limit`; work that runs out of memory is done again
    within each larger bound of retry_limits(limit) in turn. The connection is then set back to
    `limit`, so that what it does next (a run's next chunk) is bounded as configured again."""
    import duckdb

    current = limit

    def attempt(bound: str | None) -> T:
        nonlocal current
        if bound != current:
            set_memory_limit(con, bound)
            current = bound
        return work(con)

    try:
        result = within_memory_bounds(limit, attempt)
    except BaseException:
        if current != limit:
            with contextlib.suppress(duckdb.Error):  # the work's own error is the one to raise
                _set_back(con, limit, current)
        raise
    if current != limit:
        _set_back(con, limit, current)
    return result


def _set_back(con: duckdb.DuckDBPyConnection, limit: str | None, current: str | None) -> None:
    """The connection's bound back to `limit`; while it holds more than `limit` allows, it keeps
    `current` (the work is done: the next one may still find room, or be retried as this one was)."""
    import duckdb

    try:
        set_memory_limit(con, limit)
    except duckdb.OutOfMemoryException:
        set_memory_limit(con, current)


def load_memory_limit() -> str | None:
    """The bound of the run's writer connection (KOKUHO_LOAD_MEMORY, default 128MB)."""
    return memory_limit(LOAD_MEMORY_ENV, DEFAULT_LOAD_MEMORY)


def export_memory_limit() -> str | None:
    """The bound of the export's reads (KOKUHO_EXPORT_MEMORY, default 128MB). The year-over-year
    views read every year's answers: with ten years of a nation's files DuckDB's default lets one
    export take gigabytes."""
    return memory_limit(EXPORT_MEMORY_ENV, DEFAULT_EXPORT_MEMORY)


def drop_cached_blocks(con: duckdb.DuckDBPyConnection) -> None:
    """Evict the blocks DuckDB keeps cached after a chunk's load (committed, so on disk): its limit
    is lowered, which evicts them, and set back. Without it each chunk's load starts with the
    cache the last one filled, and grows it again by the chunk's own working set."""
    import duckdb

    row = con.execute(sql("queries/memory_limit")).fetchone()
    if row is None:
        return
    try:
        con.execute(sql("settings/memory_limit"), {"limit": EVICTION_LIMIT})
    except duckdb.OutOfMemoryException:
        pass  # more is pinned than the eviction limit: what could be evicted was
    finally:
        con.execute(sql("settings/memory_limit"), {"limit": row[0]})


def use_system_allocator() -> None:
    """Arrow allocates from the C library's heap (where release_freed_memory can give it back)
    rather than its bundled allocator, which keeps what a chunk freed for later chunks."""
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def release_freed_memory(*, collect: bool = True) -> None:
    """Give freed memory back to the system: Arrow's pool and glibc's free lists otherwise keep it,
    and the next step's peak lands on top of it. With `collect`, unreachable cycles are freed first
    (a full collection: once a chunk, not after every step)."""
    import gc

    import pyarrow as pa

    if collect:
        gc.collect()
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@lru_cache(maxsize=1)
def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None)  # glibc only
    except OSError:
        return None
