"""The memory bounds of the run's DuckDB connections, and handing freed memory back."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from load.memory import (
    _malloc_trim,
    drop_cached_blocks,
    export_memory_limit,
    load_memory_limit,
    release_freed_memory,
    retry_limits,
    use_system_allocator,
)


@pytest.mark.parametrize(
    ("env", "read", "default"),
    [
        ("KOKUHO_EXPORT_MEMORY", export_memory_limit, "128MB"),
        ("KOKUHO_LOAD_MEMORY", load_memory_limit, "128MB"),
    ],
)
@pytest.mark.parametrize(
    ("value", "limit"),
    [
        (None, "default"),
        ("512MB", "512MB"),
        ("1.5 GiB", "1.5 GiB"),
        ("0", None),
        ("lots", "default"),
        ("", "default"),
    ],
)
def test_memory_limit_settings(
    env: str,
    read: object,
    default: str,
    value: str | None,
    limit: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if value is None:
        monkeypatch.delenv(env, raising=False)
    else:
        monkeypatch.setenv(env, value)
    assert callable(read)
    assert read() == (default if limit == "default" else limit)


@pytest.mark.parametrize(
    ("limit", "bounds"),
    [
        ("128MB", ["128MB", "512000000B", None]),
        ("1.5 GiB", ["1.5 GiB", f"{int(1.5 * 4 * 2**30)}B", None]),
        ("64kb", ["64kb", "256000B", None]),
        (None, [None]),
    ],
)
def test_retry_limits_grow_then_end_unbounded(limit: str | None, bounds: list[str | None]) -> None:
    assert retry_limits(limit) == bounds


def test_the_run_allocates_arrow_from_the_system_heap_and_gives_freed_memory_back() -> None:
    before = pa.default_memory_pool()
    try:
        use_system_allocator()
        pool = pa.default_memory_pool()
        assert pool.backend_name == "system"
        gc.collect()  # Arrow objects earlier tests left to the collector
        held = pool.bytes_allocated()
        table = pa.table({"text": ["回答"] * 100_000})
        assert pool.bytes_allocated() >= held + table.nbytes
        del table
        release_freed_memory()
        assert pool.bytes_allocated() <= held
        if sys.platform == "linux":  # glibc: the C heap's free lists are trimmed too
            assert _malloc_trim() is not None
    finally:
        pa.set_memory_pool(before)


def _cached_bytes(con: duckdb.DuckDBPyConnection) -> int:
    (used,) = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone() or (0,)
    return int(used or 0)


def test_drop_cached_blocks_evicts_what_a_load_left_and_keeps_the_limit(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "work.duckdb"), config={"memory_limit": "160MB"})
    try:
        con.execute("CREATE TABLE answers AS SELECT range AS n, '回答' || range AS text FROM range(4000000)")
        con.execute("CHECKPOINT")
        con.execute("SELECT sum(n), max(text) FROM answers").fetchall()  # reads every block in
        cached = _cached_bytes(con)
        drop_cached_blocks(con)
        # Down to what the eviction limit lets it keep (DuckDB then keeps that much at most).
        assert cached > _cached_bytes(con) and _cached_bytes(con) <= 16 * 10**6
        assert con.execute("SELECT current_setting('memory_limit')").fetchone() == ("152.5 MiB",)
        assert con.execute("SELECT count(*), max(text) FROM answers").fetchone() == (4000000, "回答999999")
    finally:
        con.close()


class Writer:
    """Stands for the run's writer: what it is asked, in order; its `work` runs out of memory
    `failures` times."""

    def __init__(self, failures: int, refused: set[str] | None = None) -> None:
        self.calls: list[str] = []
        self.failures = failures
        self.refused = refused or set()  # bounds the connection cannot be lowered to, once each

    def work(self) -> str:
        self.calls.append("work")
        if self.calls.count("work") <= self.failures:
            raise duckdb.OutOfMemoryException("Out of Memory Error: injected")
        return "done"

    def checkpoint(self) -> None:
        self.calls.append("checkpoint")
        if self.calls.count("checkpoint") <= self.failures:
            raise duckdb.OutOfMemoryException("Out of Memory Error: injected")

    def execute(self, text: str, parameters: dict[str, str] | None = None) -> None:
        self.calls.append(text if parameters is None else f"{text} {parameters['limit']}")
        if parameters is not None and parameters["limit"] in self.refused:
            self.refused.discard(parameters["limit"])
            raise duckdb.OutOfMemoryException("Out of Memory Error: could not lower the limit")


def _set_to(limit: str | None) -> list[str]:
    """What set_memory_limit asks of the connection to set `limit`."""
    from load.sql_files import sql

    unbounded = sql("settings/unbounded_memory")
    return [unbounded] if limit is None else [unbounded, f"{sql('settings/memory_limit')} {limit}"]


@pytest.mark.parametrize(
    ("failures", "calls"),
    [
        (0, ["work"]),
        (1, ["work", *_set_to("512000000B"), "work", *_set_to("128MB")]),
        (2, ["work", *_set_to("512000000B"), "work", *_set_to(None), "work", *_set_to("128MB")]),
    ],
)
def test_work_out_of_memory_is_done_again_within_larger_bounds_and_the_bound_set_back(
    failures: int, calls: list[str]
) -> None:
    from load.memory import on_connection_within_bounds

    writer = Writer(failures)
    result = on_connection_within_bounds(writer, "128MB", lambda con: writer.work())  # type: ignore[arg-type]
    assert result == "done" and writer.calls == calls


def test_a_bound_too_low_for_what_the_connection_holds_keeps_the_one_the_work_was_done_within() -> None:
    """Lowering the bound after the work can run out of memory itself (more is pinned than the
    configured bound allows): the work is done, so the run goes on within the bound it was done in."""
    from load.memory import on_connection_within_bounds

    writer = Writer(failures=1, refused={"128MB"})
    result = on_connection_within_bounds(writer, "128MB", lambda con: writer.work())  # type: ignore[arg-type]
    assert result == "done"
    assert writer.calls == ["work", *_set_to("512000000B"), "work", *_set_to("128MB"), *_set_to("512000000B")]


def test_work_out_of_memory_within_duckdbs_own_limit_raises_with_the_bound_set_back() -> None:
    from load.memory import on_connection_within_bounds

    writer = Writer(failures=3)
    with pytest.raises(duckdb.OutOfMemoryException):
        on_connection_within_bounds(writer, "128MB", lambda con: writer.work())  # type: ignore[arg-type]
    assert writer.calls[-3:] == ["work", *_set_to("128MB")] and writer.calls.count("work") == 3


def test_a_checkpoint_out_of_memory_within_the_bound_is_done_again_within_a_larger_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from load.publish import _checkpoint

    monkeypatch.setenv("KOKUHO_LOAD_MEMORY", "64MB")
    writer = Writer(failures=1)
    _checkpoint(writer)  # type: ignore[arg-type]
    assert writer.calls == ["checkpoint", *_set_to("256000000B"), "checkpoint", *_set_to("64MB")]
