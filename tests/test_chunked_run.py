"""A run loaded chunk by chunk (KOKUHO_CHUNK_FILES) publishes what one batch of all its files
publishes, and a run killed between two chunks leaves the last published state."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb
import pytest
from kokuho_faults import PAUSE_BETWEEN_CHUNKS, PAUSE_ENV, PAUSE_MARKER_ENV, run_env

from kokuho.config import Settings
from load.publish import published_state, stale_work_files

pytestmark = pytest.mark.slow

CHUNK = 3


def _subset(demo_inbox, target: Path) -> list[str]:
    """A small inbox of the demo's files: every re-submitted municipality's files (superseded and
    latest), some quarantined files and some accepted ones, of both years, with their times."""
    files = demo_inbox.files
    superseded = [f for f in files if f.expected == "superseded"]
    latest = {f.superseded_by for f in superseded}
    chosen = {f.path for f in superseded}
    chosen |= {f.path for f in files if f.expected == "accepted" and f.path in latest}
    chosen |= set([f.path for f in files if f.expected == "quarantined"][:6])
    # Fillers that sort before a superseded file in its folder come first: each moves that file
    # one place on in its chunks (a folder's files are chunked together).
    fillers = sorted(
        (f.path for f in files if f.expected == "accepted" and f.path not in latest),
        key=lambda p: (
            not any(
                PurePosixPath(p).parent == PurePosixPath(s.path).parent and p < s.path for s in superseded
            )
        ),
    )
    chosen |= set(fillers[:4])
    source = Path(demo_inbox.inbox)

    def copy(relative: str) -> None:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / relative, target / relative)

    for relative in sorted(chosen):
        copy(relative)
    # One file more at a time until a superseded file and its successor fall into two chunks.
    for filler in fillers[4:]:
        chunk_of = _chunk_of(target)
        if any(chunk_of[f.path] != chunk_of[str(f.superseded_by)] for f in superseded):
            break
        chosen.add(filler)
        copy(filler)
    return sorted(chosen)


def _chunk_of(inbox: Path) -> dict[str, int]:
    """The chunk of each file as the run makes them (scan order, CHUNK files each)."""
    from flows.steps import chunked, scan_inbox

    chunks = chunked(scan_inbox([inbox]), CHUNK)
    return {f.path.relative_to(inbox).as_posix(): n for n, chunk in enumerate(chunks) for f in chunk}


def _published(db: Path) -> dict[str, list[str]]:
    """Every table and view, row by row (sorted), without what differs between two runs by
    nature: run ids and times."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        objects = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
            ).fetchall()
        ]
        out = {}
        for name in objects:
            columns = [
                c
                for c, kind in con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
                    [name],
                ).fetchall()
                if "run" not in c and "TIME" not in kind.upper() and c not in ("processed_at", "issue_id")
            ]
            listed = ", ".join(f'"{c}"' for c in columns)
            out[name] = sorted(repr(row) for row in con.execute(f'SELECT {listed} FROM "{name}"').fetchall())
        return out
    finally:
        con.close()


def _settings(home: Path, inbox: Path) -> Settings:
    return Settings.resolve(home=home, inbox=inbox, prefecture_code="11", fiscal_year=2024)


def test_a_run_of_several_chunks_publishes_what_one_batch_does(
    tmp_path: Path, prefect_server: None, demo_inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.ingest import run_ingest

    inbox = tmp_path / "inbox"
    chosen = _subset(demo_inbox, inbox)
    expected = {f.path: f for f in demo_inbox.files if f.path in chosen}

    # The chunks the run makes spread quarantined files, and superseded files and the files
    # that supersede them, over several chunks.
    chunk_of = _chunk_of(inbox)
    assert len(set(chunk_of.values())) >= 4
    assert len({chunk_of[p] for p, f in expected.items() if f.expected == "quarantined"}) >= 2
    assert any(
        chunk_of[p] != chunk_of[f.superseded_by]
        for p, f in expected.items()
        if f.expected == "superseded" and f.superseded_by in chunk_of
    )

    monkeypatch.setenv("KOKUHO_CHUNK_FILES", "1000")
    whole = run_ingest(_settings(tmp_path / "whole", inbox), export=False)
    monkeypatch.setenv("KOKUHO_CHUNK_FILES", str(CHUNK))
    chunked_run = run_ingest(_settings(tmp_path / "chunked", inbox), export=False)

    for key in ("accepted", "superseded", "quarantined", "missing", "entry_counts", "skipped_entries"):
        assert chunked_run[key] == whole[key], key
    statuses = {status: whole[status] for status in ("accepted", "superseded", "quarantined")}
    assert all(statuses.values()), statuses  # the batch has all three kinds of file
    assert chunked_run["task_runs"] > whole["task_runs"]  # it did run chunk by chunk

    one_batch = _published(tmp_path / "whole" / "kokuho.duckdb")
    by_chunks = _published(tmp_path / "chunked" / "kokuho.duckdb")
    assert one_batch.keys() == by_chunks.keys()
    for name in one_batch:
        assert by_chunks[name] == one_batch[name], name
    con = duckdb.connect(str(tmp_path / "chunked" / "kokuho.duckdb"), read_only=True)
    try:
        counts = con.execute("SELECT files_seen, accepted, superseded, quarantined FROM runs").fetchall()
    finally:
        con.close()
    assert counts == [(len(chosen), statuses["accepted"], statuses["superseded"], statuses["quarantined"])]


def _rows_held() -> int:
    """Staged rows (submissions) of every StagingBatch alive in this process."""
    import gc

    from transform.batch import StagingBatch

    gc.collect()
    return sum(len(o.submissions) for o in gc.get_objects() if isinstance(o, StagingBatch))


def test_a_chunked_run_holds_one_chunks_rows_at_a_time(
    tmp_path: Path, prefect_server: None, demo_inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside a Prefect transaction (a prefecture's own flow may run ours in one, and a transaction
    left open does the same), every task run is kept, with its arguments and return value, until
    the transaction ends: a chunk's rows must not stay reachable from there once it is loaded."""
    from prefect.transactions import transaction

    from flows import steps
    from flows.ingest import run_ingest

    inbox = tmp_path / "inbox"
    _subset(demo_inbox, inbox)
    real_load_chunk = steps.load_chunk
    held: list[tuple[int, int]] = []

    def load_chunk(run_load: Any, result: Any) -> Any:
        loaded = real_load_chunk(run_load, result)
        held.append((len(result.batch.submissions), _rows_held()))
        return loaded

    monkeypatch.setattr(steps, "load_chunk", load_chunk)
    monkeypatch.setenv("KOKUHO_CHUNK_FILES", str(CHUNK))
    with transaction():
        run_ingest(_settings(tmp_path / "home", inbox), export=False)

    assert len(held) >= 4
    # While a chunk is loaded, the rows alive are that chunk's: none of the chunks before it.
    assert all(alive == current for current, alive in held), held


def test_a_kill_9_between_chunks_leaves_the_last_published_state(
    tmp_path: Path, prefect_server: None, demo_inbox
) -> None:
    from prefect.settings import get_current_settings

    from flows.ingest import run_ingest

    inbox, home = tmp_path / "inbox", tmp_path / "home"
    chosen = _subset(demo_inbox, tmp_path / "all")
    first, rest = chosen[:3], chosen[3:]
    for relative in first:
        (inbox / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(tmp_path / "all" / relative, inbox / relative)
    settings = _settings(home, inbox)
    run_ingest(settings, export=False)
    db = settings.db_path
    before, state = db.read_bytes(), published_state(db)
    tables = _published(db)

    for relative in rest:
        (inbox / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(tmp_path / "all" / relative, inbox / relative)
    marker = tmp_path / "between"
    api_url = str(get_current_settings().api.url)
    env = run_env(
        home,
        api_url=api_url,
        KOKUHO_CHUNK_FILES=str(CHUNK),
        **{PAUSE_ENV: PAUSE_BETWEEN_CHUNKS, PAUSE_MARKER_ENV: str(marker)},
    )
    with (tmp_path / "killed.log").open("w", encoding="utf-8") as log:
        run = subprocess.Popen(
            [sys.executable, "-m", "kokuho", "run", "--no-export", "--inbox", str(inbox)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 240
        while not marker.exists():
            if run.poll() is not None:
                pytest.fail(f"the run ended before its second chunk: {(tmp_path / 'killed.log').read_text()}")
            if time.monotonic() > deadline:
                run.kill()
                pytest.fail("the run never loaded its first chunk")
            time.sleep(0.1)
        assert stale_work_files(db), "the run should be loading into its working copy"
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=60)
    assert run.returncode == -signal.SIGKILL

    assert db.read_bytes() == before
    assert published_state(db) == state
    assert _published(db) == tables

    # The next run loads every file the killed one had started on.
    run_ingest(settings, export=False)
    assert stale_work_files(db) == []
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM submissions").fetchone() == (len(chosen),)
    finally:
        con.close()
