"""Running the load/sql/ files on a connection: named parameters, and frames registered for the
statements that read them."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

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


# Rows of a row-wise frame per statement (_run_with_frames): half a DuckDB row group, as the staged
# parts are cut (transform.staging.rows.StagedBatchBuilder), so the parts fill whole row groups.
ROW_WISE_PART_ROWS = 61_440


def _run_with_frames(
    con: duckdb.DuckDBPyConnection,
    steps: str | tuple[str, ...],
    frames: dict[str, pd.DataFrame],
    params: dict[str, object] | None = None,
    *,
    row_wise: Collection[str] = (),
) -> None:
    """Run the steps' statements with `frames` registered under their names.

    A statement that reads a frame named in `row_wise` (one it takes row by row: no aggregate and no
    window over its rows) runs once per ROW_WISE_PART_ROWS rows of that frame, part after part. DuckDB
    holds what one statement inserts until the statement ends, and builds a join's hash table on an
    Arrow frame (which it estimates at one row): a national batch's answers in one statement raised
    the load's peak (docs/benchmark.md)."""
    part_rows = ROW_WISE_PART_ROWS  # read when called
    # Each frame is registered (as Arrow) just before the first statement that reads it and
    # dropped after the last one: one national table's Arrow copy at a time, not all of them.
    texts = [sql(step) for step in ((steps,) if isinstance(steps, str) else steps)]
    readers = {
        name: [i for i, text in enumerate(texts) if re.search(rf"\b{name}\b", text)] for name in frames
    }
    scannable: dict[str, Any] = {}
    try:
        for index, text in enumerate(texts):
            for name, used_by in readers.items():
                if used_by and used_by[0] == index:
                    scannable[name] = _scannable(frames[name])
                    con.register(name, scannable[name])
            driving = [n for n in row_wise if index in readers.get(n, ())]
            if len(driving) == 1 and len(scannable[driving[0]]) > part_rows:
                whole = scannable[driving[0]]
                for start in range(0, len(whole), part_rows):
                    con.unregister(driving[0])
                    con.register(driving[0], _rows_of(whole, start, part_rows))
                    _execute(con, text, params)
                con.unregister(driving[0])
                con.register(driving[0], whole)
            else:
                _execute(con, text, params)
            for name in [n for n in scannable if readers[n][-1] == index]:
                con.unregister(name)
                del scannable[name]
    finally:
        for name in scannable:
            con.unregister(name)


def _rows_of(scannable: Any, start: int, count: int) -> Any:
    """Rows start .. start + count of an Arrow table (no copy) or of a pandas frame."""
    if isinstance(scannable, pd.DataFrame):
        return scannable.iloc[start : start + count]
    return scannable.slice(start, count)


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
