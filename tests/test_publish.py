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
from test_warehouse import Fixture, batch_of, make_fixture, query

from load.publish import (
    PAUSE_ENV,
    PAUSE_MARKER_ENV,
    PAUSE_STAGES,
    WarehouseBusy,
    open_for_write,
    stale_work_files,
)
from load.warehouse import load_batch

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
    return {**env, **extra}


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
