"""Crash-safe, reader-safe writes to the published DuckDB file.

A run never writes the published file in place. Under an exclusive writer lock (<db>.lock) it copies
the published file to a private working copy (<db>.work-<run_id>), loads into the copy, CHECKPOINTs
and closes it, then renames it onto the published path with os.replace (atomic on POSIX):

- a reader that has the old file open keeps reading its snapshot (the old inode), and a new
  connection sees the new data; an analyst's open connection never makes the run fail;
- a process killed mid-load (even kill -9) leaves the published file untouched; its working copy is
  removed by the next writer (which holds the lock, so no other writer can be using it).

Imports only duckdb and the standard library: `kokuho sql` and `kokuho status` use connect_readonly.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import duckdb

from load.memory import load_memory_limit, on_connection_within_bounds
from load.schema import ensure_schema
from load.sql_files import sql

if TYPE_CHECKING:
    from kokuho.config import Settings

# Timestamps shown to analysts are in Japan time.
DISPLAY_TIMEZONE = "Asia/Tokyo"


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or written; the message is for the analyst (Japanese)."""


class WarehouseBusy(WarehouseError):
    """Another run holds the writer lock."""


class WarehouseHeld(WarehouseError):
    """Another program (an analyst's tool) holds the published file open read-write."""

    def __init__(self, message: str, program: str | None = None, pid: int | None = None) -> None:
        super().__init__(message)
        self.program = program
        self.pid = pid


# How long a run waits for a program holding the published file read-write to let go (seconds).
DB_WAIT_ENV = "KOKUHO_DB_WAIT"
DEFAULT_DB_WAIT = 300.0

# DuckDB's lock error names the holder: 'Conflicting lock is held in /usr/bin/java (PID 4242) by user x'.
_HOLDER_RE = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def db_wait_seconds() -> float:
    """KOKUHO_DB_WAIT, resolved when called (a bad value falls back to the default)."""
    try:
        return max(0.0, float(os.environ.get(DB_WAIT_ENV, DEFAULT_DB_WAIT)))
    except ValueError:
        return DEFAULT_DB_WAIT


def lock_holder(error: BaseException | str) -> tuple[str, int | None] | None:
    """(program, PID) of the process DuckDB says holds a conflicting lock; None for other errors."""
    text = str(error)
    match = _HOLDER_RE.search(text)
    if match:
        return match["program"], int(match["pid"])
    if "Could not set lock" in text or "Conflicting lock" in text:
        return "不明なプログラム / unknown program", None
    return None


def _holder_text(program: str, pid: int | None) -> str:
    """'DBeaver (/usr/bin/java, PID 4242)': the command line says more than the executable."""
    if pid is None:
        return program
    with contextlib.suppress(OSError):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        args = re.sub(r"\s+", " ", " ".join(os.fsdecode(a) for a in cmdline if a)).strip()[:160]
        if args and args != program:
            return f"{program}（PID {pid}: {args}）"
    return f"{program}（PID {pid}）"


def held_message(db_path: Path, program: str, pid: int | None, waited: float | None) -> str:
    """Japanese, then English: who holds the file, what happened, what to do. `waited` None: a
    reader (kokuho sql) that does not wait."""
    holder = _holder_text(program, pid)
    if waited is None:
        ja, en = "開けません", "it cannot be opened now"
    else:
        ja = f"取込を中止しました（{waited:.0f} 秒待ちました）。公開中のデータベースは変更していません"
        en = f"the run waited {waited:.0f} s and stopped without changing it"
    return (
        f"データベース {db_path} を別のプログラム {holder} が読み書きモードで開いているため、{ja}。"
        "そのプログラムの接続を閉じるか、読み取り専用（DBeaver: duckdb.read_only=true、"
        "DuckDB CLI: -readonly）で開き直してから再実行してください。"
        f" / The database {db_path} is open read-write by {holder}; {en}."
        " Close that connection (or reopen it read-only) and try again."
    )


@contextlib.contextmanager
def no_writer_holding(db_path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold a read-only connection to the published file for the block, so that no other process
    can have it open read-write meanwhile (DuckDB's file lock); wait up to `timeout` seconds
    (KOKUHO_DB_WAIT) for a read-write holder to close it, then raise WarehouseHeld naming it."""
    if not db_path.is_file():
        yield
        return
    timeout = db_wait_seconds() if timeout is None else timeout
    started = time.monotonic()
    while True:
        try:
            con = duckdb.connect(str(db_path), read_only=True)
            break
        except duckdb.Error as exc:
            holder = lock_holder(exc)
            if holder is None:
                raise WarehouseError(f"データベース {db_path} を開けません: {exc}") from exc
            waited = time.monotonic() - started
            if waited >= timeout:
                raise WarehouseHeld(held_message(db_path, holder[0], holder[1], waited), *holder) from None
            time.sleep(min(0.5, max(0.05, timeout - waited)))
    try:
        yield
    finally:
        con.close()


def _is_disk_full(error: BaseException) -> bool:
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(error, duckdb.Error) and "No space left on device" in str(error)


def _disk_full(db_path: Path, work: Path) -> WarehouseError:
    return WarehouseError(
        f"ディスクの空き容量が不足しているため、データベースの作業用コピー {work} を作成・更新できませんでした。"
        f"作業用コピーは削除し、公開中のデータベース {db_path} は変更していません。"
        "空き容量を確保してから再実行してください。"
        f" / No space left on the disk for the working copy {work}: it was removed and the published"
        f" database {db_path} is unchanged. Free some space and run again."
    )


def resolve_db_path(target: Settings | str | os.PathLike[str]) -> Path:
    if isinstance(target, str | os.PathLike):
        return Path(target)
    return Path(target.db_path)


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def work_path(db_path: Path, run_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id) or "run"
    return db_path.with_name(f"{db_path.name}.work-{safe}")


def stale_work_files(db_path: Path) -> list[Path]:
    """Working copies (and their .wal/.tmp) left behind by runs that did not finish."""
    if not db_path.parent.is_dir():
        return []
    return sorted(db_path.parent.glob(f"{glob_escape(db_path.name)}.work-*"))


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


@contextlib.contextmanager
def writer_lock(db_path: Path, timeout: float | None = 3600.0) -> Iterator[None]:
    """Exclusive lock between writers (flock: released by the kernel if the process dies)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path(db_path).open("a+")
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"データベース {db_path} は別の取込処理が更新中です（{lock_path(db_path)}）。"
                        "終了を待ってから再実行してください。"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem allows fsync on a directory
        _fsync_file(path)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


@contextlib.contextmanager
def open_for_write(
    target: Settings | str | os.PathLike[str],
    *,
    run_id: str | None = None,
    lock_timeout: float | None = 3600.0,
    hold_timeout: float | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a read-write connection to a private working copy of the warehouse; publish it atomically
    when the block ends without an exception (discard it otherwise).

    The schema (tables and views of load/sql) is created or refreshed on the copy before yielding.
    A program holding the published file read-write is waited for up to `hold_timeout` seconds
    (default KOKUHO_DB_WAIT), then WarehouseHeld names it. Any failure, a full disk included,
    removes the working copy and leaves the published file as it was.
    """
    db_path = resolve_db_path(target).expanduser().absolute()
    run_id = run_id or uuid.uuid4().hex
    with writer_lock(db_path, lock_timeout):
        _remove(stale_work_files(db_path))
        work = work_path(db_path, run_id)
        con: duckdb.DuckDBPyConnection | None = None
        try:
            if db_path.exists():
                # A program holding the file read-write may be mid-checkpoint: never copy under it.
                with no_writer_holding(db_path, hold_timeout):
                    shutil.copyfile(db_path, work)
            limit = load_memory_limit()
            con = duckdb.connect(str(work), config={"memory_limit": limit} if limit else {})
            ensure_schema(con, remember=True)
            yield con
            _checkpoint(con)
            con.close()
            _fsync_file(work)
            os.replace(work, db_path)
        except BaseException as exc:
            if con is not None:
                with contextlib.suppress(duckdb.Error):
                    con.close()
            # Whatever failed (a full disk too), no partial copy stays behind to fill it.
            _remove([work, *stale_work_files(db_path)])
            if _is_disk_full(exc):
                raise _disk_full(db_path, work) from exc
            raise
        _fsync_dir(db_path.parent)
        # A write-ahead log left by someone who opened the published file read-write belongs to the
        # old file; replayed onto the new one it would corrupt it.
        _remove([db_path.with_name(db_path.name + ".wal"), *stale_work_files(db_path)])


def _checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """A checkpoint that cannot finish within KOKUHO_LOAD_MEMORY is done again within a larger bound,
    at last within DuckDB's own (as a chunk's load is)."""
    on_connection_within_bounds(con, load_memory_limit(), lambda writer: writer.checkpoint())


def connect_readonly(target: Settings | str | os.PathLike[str]) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse (what analysts and exports use).

    The connection sees the data as of when it was opened; reconnect to see a later run's data.
    Raises WarehouseError (Japanese message) when the file is missing or cannot be opened.
    """
    db_path = resolve_db_path(target).expanduser()
    if not db_path.is_file():
        raise WarehouseError(
            f"データベース {db_path} がありません。先に kokuho run（または kokuho demo）を実行してください。"
        )
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error as exc:
        holder = lock_holder(exc)
        if holder is not None:
            raise WarehouseHeld(held_message(db_path, holder[0], holder[1], None), *holder) from exc
        raise WarehouseError(f"データベース {db_path} を開けません: {exc}") from exc
    with contextlib.suppress(duckdb.Error):
        con.execute(sql("settings/display_timezone"), {"timezone": DISPLAY_TIMEZONE})
    return con


# --- outputs that follow the published state -----------------------------------------------------


def published_state(target: Settings | str | os.PathLike[str]) -> str | None:
    """A fingerprint of the published data the exports are made from (load/sql/queries/published_state.sql);
    None when there is no database yet. A run that only records itself leaves it unchanged."""
    db_path = resolve_db_path(target).expanduser()
    if not db_path.is_file():
        return None
    con = connect_readonly(db_path)
    try:
        row = con.execute(sql("queries/published_state")).fetchone()
    except duckdb.CatalogException:  # tables not created yet
        return None
    finally:
        con.close()
    return hashlib.sha256(repr(row).encode("utf-8")).hexdigest()


def export_state_path(export: Path) -> Path:
    """Beside the export, the fingerprint of the published data it was made from."""
    return export.with_name(f".{export.name}.state")


def export_is_current(export: Path, state: str | None) -> bool:
    """The export exists and was made from the published data as it is now."""
    if state is None or not export.is_file():
        return False
    try:
        return export_state_path(export).read_text(encoding="utf-8").strip() == state
    except OSError:
        return False


def record_export_state(export: Path, state: str | None) -> None:
    """Remember which published data `export` was made from (atomic write)."""
    if state is None:
        return
    target = export_state_path(export)
    temporary = target.with_name(target.name + f".tmp-{os.getpid()}")
    temporary.write_text(state + "\n", encoding="utf-8")
    os.replace(temporary, target)


# --- one run at a time -----------------------------------------------------------------------------

# How long a run waits for another run on the same database to finish (seconds).
RUN_WAIT_ENV = "KOKUHO_RUN_WAIT"
DEFAULT_RUN_WAIT = 3600.0


def run_lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".run.lock")


class RunLock:
    """Held by a whole ingest run; says whether and how long it waited for another run."""

    def __init__(self) -> None:
        self.waited_seconds = 0.0
        self.other_run: str | None = None  # the run waited for: "run …, PID …, 開始 …"

    @property
    def notice(self) -> str | None:
        """Japanese, then English, for the run summary; None when the run did not wait."""
        if self.other_run is None:
            return None
        return (
            f"別の取込処理（{self.other_run}）が同じデータベースを処理中だったため、その終了を "
            f"{self.waited_seconds:.1f} 秒待ってから受信フォルダを読みました（件数はその後の状態です）。"
            f" / Another run ({self.other_run}) held the database; this run waited "
            f"{self.waited_seconds:.1f} s for it to finish, then scanned the inbox (counts are after it)."
        )


def _read_holder(handle: IO[str]) -> str:
    with contextlib.suppress(OSError, ValueError):
        handle.seek(0)
        text = handle.read().strip()
        if text:
            return text
    return "不明 / unknown"


@contextlib.contextmanager
def run_lock(
    target: Settings | str | os.PathLike[str],
    *,
    run_id: str,
    timeout: float | None = None,
    on_wait: Callable[[str], object] | None = None,
) -> Iterator[RunLock]:
    """Exclusive lock on the database for a whole ingest run (scan to export), so that a second run
    scans the inbox only after the first has published: its counts are then true.

    A run that finds the lock held waits up to `timeout` seconds (KOKUHO_RUN_WAIT, default one
    hour) and says so (`on_wait` is called once, with the other run, when the wait begins); after
    that it raises WarehouseBusy naming the other run (this one is skipped).
    flock: the kernel releases it if the holder dies, even by kill -9."""
    db_path = resolve_db_path(target).expanduser().absolute()
    if timeout is None:
        try:
            timeout = max(0.0, float(os.environ.get(RUN_WAIT_ENV, DEFAULT_RUN_WAIT)))
        except ValueError:
            timeout = DEFAULT_RUN_WAIT
    db_path.parent.mkdir(parents=True, exist_ok=True)
    handle = run_lock_path(db_path).open("a+", encoding="utf-8")
    lock = RunLock()
    try:
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                first = lock.other_run is None
                lock.other_run = _read_holder(handle)
                if first and on_wait is not None:
                    on_wait(lock.other_run)
                waited = time.monotonic() - started
                if waited >= timeout:
                    raise WarehouseBusy(
                        f"別の取込処理（{lock.other_run}）がデータベース {db_path} を処理中のため、"
                        f"{waited:.0f} 秒待ちましたが、この実行は行いませんでした（スキップ）。"
                        "終了を待ってから再実行してください。"
                        f" / Another run ({lock.other_run}) is processing {db_path}; this run waited "
                        f"{waited:.0f} s and was skipped. Run again when it has finished."
                    ) from None
                time.sleep(0.2)
        lock.waited_seconds = time.monotonic() - started
        try:
            handle.seek(0)
            handle.truncate()
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
            handle.write(f"run {run_id}, PID {os.getpid()}, 開始 started {stamp}")
            handle.flush()
            yield lock
        finally:
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()
                handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()
