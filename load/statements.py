"""Running the load/sql/ files on a connection: named parameters, and frames registered for the
statements that read them."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from load.sql_files import sql

if TYPE_CHECKING:
    pass


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The block in one transaction: committed when it ends, rolled back on any error (the block's
    error is the one raised, never the rollback's)."""
    con.begin()
    try:
        yield
        con.commit()
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.rollback()
        raise


def _now() -> datetime:
    return datetime.now(UTC)


def _run_with_frames(
    con: duckdb.DuckDBPyConnection,
    steps: str | tuple[str, ...],
    frames: dict[str, pd.DataFrame],
    params: dict[str, object] | None = None,
) -> None:
    # Each frame is registered (as Arrow) just before the first statement that reads it and
    # dropped after the last one: one national table's Arrow copy at a time, not all of them.
    texts = [sql(step) for step in ((steps,) if isinstance(steps, str) else steps)]
    readers = {
        name: [i for i, text in enumerate(texts) if re.search(rf"\b{name}\b", text)] for name in frames
    }
    registered: set[str] = set()
    try:
        for index, text in enumerate(texts):
            for name, used_by in readers.items():
                if used_by and used_by[0] == index:
                    con.register(name, _scannable(frames[name]))
                    registered.add(name)
            _execute(con, text, params)
            for name in [n for n in registered if readers[n][-1] == index]:
                con.unregister(name)
                registered.discard(name)
    finally:
        for name in registered:
            con.unregister(name)


def _scannable(frame: pd.DataFrame) -> object:
    """The frame as an Arrow table for DuckDB to scan.

    Staging text columns are Arrow-backed already, so this copies no text; DuckDB's own pandas
    scan would turn every text value into a Python string first (seconds and hundreds of MiB on
    a national batch). A frame Arrow cannot type (mixed objects) is scanned as pandas."""
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        return frame


def _execute(con: duckdb.DuckDBPyConnection, text: str, params: dict[str, object] | None = None) -> None:
    """Execute with the named parameters the statement uses (DuckDB rejects unused ones)."""
    used = {k: v for k, v in (params or {}).items() if re.search(rf"\${k}\b", text)}
    if used:
        con.execute(text, used)
    else:
        con.execute(text)


# --- loads --------------------------------------------------------------------------------------
