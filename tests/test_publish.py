"""Crash safety and concurrent readers, with real subprocesses (kill -9, a reader holding the file)."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from kokuho_faults import PAUSE_ENV, PAUSE_MARKER_ENV, PAUSE_STAGES, with_faults_path
from test_warehouse import Fixture, batch_of, make_fixture, query

from load.publish import (
    WarehouseBusy,
    WarehouseError,
    WarehouseHeld,
    connect_readonly,
    open_for_write,
    stale_work_files,
)
from load.warehouse import LoadResult, load_batch

ROOT = Path(__file__).resolve().parent.parent
COUNT_M003 = "SELECT implementing_count FROM measure_summary WHERE fiscal_year = 2024 AND measure_id = 'M003'"

LOADER = textwrap.dedent(
    """
    import pickle, sys
    from pathlib import Path
    from load.warehouse import load_batch
    batch, catalogs = pickle.loads(Path(sys.argv[2]).read_bytes())
    load_batch(Path(sys.argv[1]), batch, catalogs=catalogs, run_id="killed-run")
    print("finished")
    """
)

READER = textwrap.dedent(
    """
    import sys
    import duckdb
    db, query = sys.argv[1], sys.argv[2]
    con = duckdb.connect(db, read_only=True)
    print("open", con.execute(query).fetchone()[0], flush=True)
    sys.stdin.readline()  # the parent runs a load meanwhile
    print("same connection", con.execute(query).fetchone()[0], flush=True)
    con.close()
    con = duckdb.connect(db, read_only=True)
    print("reconnected", con.execute(query).fetchone()[0], flush=True)
    con.close()
    """
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (PAUSE_ENV, PAUSE_MARKER_ENV)}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return with_faults_path({**env, **extra})


def _wait_for(path: Path, proc: subprocess.Popen, deadline_s: float = 120) -> None:
    deadline = time.monotonic() + deadline_s
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"child ended before the pause point: {out} {err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("child never reached the pause point")
        time.sleep(0.05)


@pytest.fixture
def first_run(tmp_path: Path) -> tuple[Path, Fixture]:
    """A published database with every file except 秩父市's re-submission (M003 count 1)."""
    fx = make_fixture(tmp_path / "catalogs")
    db = tmp_path / "home" / "kokuho.duckdb"
    db.parent.mkdir()
    v2 = fx.files2024[3]

    load_batch(db, batch_of([f for f in fx.all_files() if f is not v2]), catalogs=fx.catalogs, run_id="run-1")
    assert query(db, COUNT_M003) == [(1,)]
    return db, fx


@pytest.mark.parametrize("stage", PAUSE_STAGES)
def test_kill_9_mid_load_leaves_the_published_database_intact(
    tmp_path: Path, first_run: tuple[Path, Fixture], stage: str
) -> None:
    db, fx = first_run
    v2 = fx.files2024[3]
    payload = tmp_path / "batch.pickle"
    payload.write_bytes(pickle.dumps((v2.batch(), fx.catalogs)))
    marker = tmp_path / "paused"
    before = db.read_bytes()

    child = subprocess.Popen(
        [sys.executable, "-c", LOADER, str(db), str(payload)],
        env=_env(**{PAUSE_ENV: stage, PAUSE_MARKER_ENV: str(marker)}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(marker, child)
    assert stale_work_files(db), "the child should be writing its working copy"
    os.kill(child.pid, signal.SIGKILL)
    child.communicate()
    assert child.returncode == -signal.SIGKILL

    assert db.read_bytes() == before
    assert query(db, COUNT_M003) == [(1,)]
    assert stale_work_files(db)  # left behind by the killed process

    result = load_batch(db, v2.batch(), catalogs=fx.catalogs, run_id="run-2")
    assert result.accepted == [v2.sha256]
    assert query(db, COUNT_M003) == [(2,)]
    assert stale_work_files(db) == []
    assert query(db, "SELECT run_id FROM runs ORDER BY run_id") == [("run-1",), ("run-2",)]


def test_a_reader_holding_the_database_never_fails_the_run(first_run: tuple[Path, Fixture]) -> None:
    db, fx = first_run
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db), COUNT_M003],
        env=_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().split() == ["open", "1"]
        # The measured fact the design works around: the file cannot be opened for writing now.
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(db)).close()

        result = load_batch(db, fx.files2024[3].batch(), catalogs=fx.catalogs, run_id="run-2")
        assert len(result.accepted) == 1

        reader.stdin.write("\n")
        reader.stdin.flush()
        out, err = reader.communicate(timeout=120)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, err
    # the open connection keeps its snapshot; a new connection sees the published run
    assert out.splitlines() == ["same connection 1", "reconnected 2"]


def test_only_one_writer_at_a_time(tmp_path: Path) -> None:
    db = tmp_path / "kokuho.duckdb"
    with open_for_write(db, run_id="first") as con:
        con.execute("SELECT 1")
        with pytest.raises(WarehouseBusy), open_for_write(db, run_id="second", lock_timeout=0.3):
            pass
    with open_for_write(db, run_id="third"):
        pass


def test_an_exception_discards_the_working_copy(tmp_path: Path, first_run: tuple[Path, Fixture]) -> None:
    db, _ = first_run
    before = db.read_bytes()
    with pytest.raises(ZeroDivisionError), open_for_write(db, run_id="bad") as con:
        con.execute("DELETE FROM responses")
        _ = 1 / 0
    assert db.read_bytes() == before
    assert stale_work_files(db) == []


def test_stale_files_are_cleaned_at_the_next_run(first_run: tuple[Path, Fixture]) -> None:
    db, _ = first_run
    leftovers = [db.with_name(db.name + suffix) for suffix in (".work-old", ".work-old.wal", ".wal")]
    for path in leftovers:
        path.write_bytes(b"garbage")
    with open_for_write(db, run_id="next") as con:
        con.execute("SELECT 1")
    assert [p for p in leftovers if p.exists()] == []
    assert query(db, COUNT_M003) == [(1,)]


def test_first_run_builds_a_fresh_database(tmp_path: Path) -> None:
    db = tmp_path / "new" / "kokuho.duckdb"
    with open_for_write(db, run_id="r1"):
        pass
    views = {r[0] for r in query(db, "SELECT view_name FROM duckdb_views() WHERE NOT internal")}
    assert {"measure_summary", "budget_lines", "own_initiatives", "submission_status"} <= views
    assert query(db, "SELECT count(*) FROM submissions") == [(0,)]


# --- a full disk, a program holding the file read-write ---------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys
    import duckdb
    con = duckdb.connect(sys.argv[1])  # read-write: what DBeaver does by default
    print("open", flush=True)
    sys.stdin.readline()
    con.close()
    print("closed", flush=True)
    """
)


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real filesystem with little room: a tmpfs mounted with size= (needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    made: list[Path] = []

    def make(size_kib: int) -> Path:
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(mount)], capture_output=True
        )
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr!r}")
        made.append(mount)
        return mount

    yield make
    for path in made:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def test_a_full_disk_removes_the_partial_work_copy_and_keeps_the_published_state(
    first_run: tuple[Path, Fixture], small_disk
) -> None:
    source, _ = first_run
    size = source.stat().st_size
    disk = small_disk((size + size // 2) // 1024 + 64)  # room for the database, not for a copy
    db = disk / "kokuho.duckdb"
    db.write_bytes(source.read_bytes())
    free_before = _free_bytes(disk)

    with pytest.raises(WarehouseError, match="空き容量") as raised, open_for_write(db, run_id="full"):
        pytest.fail("the working copy cannot have been made")
    assert "No space left" in str(raised.value)
    assert db.read_bytes() == source.read_bytes()
    assert stale_work_files(db) == []
    assert _free_bytes(disk) >= free_before  # the partial copy's blocks are given back
    assert query(db, COUNT_M003) == [(1,)]


def test_a_copy_failing_with_enospc_leaves_no_partial_copy(
    first_run: tuple[Path, Fixture], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same guarantee where no small filesystem can be mounted: ENOSPC injected halfway."""
    import errno

    import load.publish as publish

    db, _ = first_run
    before = db.read_bytes()

    def half_then_full(src: Path, dst: Path) -> None:
        Path(dst).write_bytes(Path(src).read_bytes()[: len(before) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(publish.shutil, "copyfile", half_then_full)
    with pytest.raises(WarehouseError, match="空き容量"), open_for_write(db, run_id="full"):
        pytest.fail("the working copy cannot have been made")
    assert db.read_bytes() == before
    assert stale_work_files(db) == []


def _hold_read_write(db: Path) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        env=_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "open"
    return holder


def _release(holder: subprocess.Popen) -> None:
    if holder.poll() is None:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.communicate(timeout=60)


def test_a_read_write_holder_stops_the_write_with_a_message_naming_it(
    first_run: tuple[Path, Fixture], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOKUHO_DB_WAIT", "0.5")
    db, fx = first_run
    before = db.read_bytes()
    holder = _hold_read_write(db)
    try:
        with pytest.raises(WarehouseHeld) as raised:
            load_batch(db, fx.files2024[3].batch(), catalogs=fx.catalogs, run_id="held")
        # also what `kokuho sql` says
        with pytest.raises(WarehouseHeld) as read:
            connect_readonly(db)
    finally:
        _release(holder)
    message = str(raised.value)
    assert raised.value.pid == holder.pid
    assert f"PID {holder.pid}" in message
    assert "読み書きモード" in message and "read-write" in message
    assert "公開中のデータベースは変更していません" in message
    assert f"PID {holder.pid}" in str(read.value)
    assert db.read_bytes() == before
    assert stale_work_files(db) == []


def test_a_write_waits_for_a_read_write_holder_to_close(
    first_run: tuple[Path, Fixture], monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    monkeypatch.setenv("KOKUHO_DB_WAIT", "600")
    db, fx = first_run
    holder = _hold_read_write(db)
    outcome: dict[str, object] = {}

    def load() -> None:
        try:
            outcome["result"] = load_batch(db, fx.files2024[3].batch(), catalogs=fx.catalogs, run_id="waits")
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    try:
        writer = threading.Thread(target=load)
        writer.start()
        assert holder.poll() is None  # the holder still has the file: the writer waits for it
    finally:
        _release(holder)
    writer.join(timeout=300)
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert isinstance(result, LoadResult) and len(result.accepted) == 1
    assert query(db, COUNT_M003) == [(2,)]


# --- one run at a time; the export's fingerprint ------------------------------------------------


def test_a_second_run_lock_waits_names_the_holder_and_gives_up_after_its_timeout(tmp_path: Path) -> None:
    from load.publish import run_lock

    db = tmp_path / "kokuho.duckdb"
    seen: list[str] = []
    with run_lock(db, run_id="run-first") as first:
        assert first.notice is None and first.other_run is None
        with (
            pytest.raises(WarehouseBusy) as raised,
            run_lock(db, run_id="run-second", timeout=0.3, on_wait=seen.append),
        ):
            pytest.fail("the lock is held")
    assert len(seen) == 1 and "run run-first" in seen[0] and f"PID {os.getpid()}" in seen[0]
    message = str(raised.value)
    assert "run run-first" in message and "スキップ" in message and "skipped" in message
    with run_lock(db, run_id="run-third", timeout=0) as third:  # released: taken at once
        assert third.notice is None


def test_the_published_state_changes_with_a_load_and_not_with_an_empty_run(
    tmp_path: Path, first_run: tuple[Path, Fixture]
) -> None:
    from load.publish import export_is_current, published_state, record_export_state
    from load.warehouse import finish_run, start_run

    db, fx = first_run
    export = tmp_path / "exports" / "集計表_11_2024.xlsx"
    export.parent.mkdir()
    state = published_state(db)
    assert state is not None and not export_is_current(export, state)  # no export yet
    export.write_bytes(b"xlsx")
    record_export_state(export, state)
    assert export_is_current(export, state)

    with open_for_write(db, run_id="nothing-new") as con:  # what a run with nothing new writes
        start_run(con, "nothing-new")
        finish_run(con, "nothing-new")
    assert published_state(db) == state and export_is_current(export, published_state(db))

    load_batch(db, fx.files2024[3].batch(), catalogs=fx.catalogs, run_id="run-2")
    assert published_state(db) != state and not export_is_current(export, published_state(db))
    assert published_state(tmp_path / "none.duckdb") is None
