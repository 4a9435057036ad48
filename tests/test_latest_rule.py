"""Which file of a municipality is the latest: the run that first saw it, then (within one run)
its modification time, a future time counting as the run's start and recorded as an issue."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from test_warehouse import Fixture, make_fixture, query

from kokuho.codelists import FUTURE_TOLERANCE_SECONDS, issue_hint, issue_message
from load.publish import open_for_write
from load.warehouse import LoadResult, finish_run, load_batch, start_run

FUTURE = "2099-12-31T00:00:00"


@pytest.fixture
def fx(tmp_path: Path) -> Fixture:
    return make_fixture(tmp_path / "catalogs")


def _run(db: Path, fx: Fixture, files: list, run_id: str, started: str) -> LoadResult:
    """One run as the flow records it: its start in `runs`, then the load."""
    from datetime import datetime

    from transform.batch import StagingBatch

    with open_for_write(db, run_id=run_id) as con:
        start_run(con, run_id, started_at=datetime.fromisoformat(started + "+00:00"))
        result = load_batch(
            con, StagingBatch.concat([f.batch() for f in files]), catalogs=fx.catalogs, run_id=run_id
        )
        finish_run(con, run_id)
    return result


def test_a_future_dated_file_is_recorded_not_quarantined_and_loses_to_the_next_run(
    tmp_path: Path, fx: Fixture
) -> None:
    db = tmp_path / "kokuho.duckdb"
    v1, v2 = fx.files2024[2], fx.files2024[3]
    future = dataclasses.replace(v2, received_at=FUTURE)
    first = _run(db, fx, [future], "run-1", "2024-06-01T00:00:00")
    assert first.accepted == [future.sha256]  # valid answers are not bounced for a clock
    issues = query(
        db,
        "SELECT code, value, message, hint, stage, run_id FROM file_issues WHERE sha256 = ?",
        [future.sha256],
    )
    assert issues == [
        (
            "RECEIVED_IN_FUTURE",
            "2099-12-31 09:00:00",
            issue_message(
                "RECEIVED_IN_FUTURE",
                file=future.name,
                value="2099-12-31 09:00:00",
                detail="2024-06-01 09:00:00",
            ),
            issue_hint("RECEIVED_IN_FUTURE"),
            "load",
            "run-1",
        )
    ]

    second = _run(db, fx, [v1], "run-2", "2024-06-02T00:00:00")  # v1's own time is 2024-05
    assert second.accepted == [v1.sha256] and second.superseded == [future.sha256]
    status = query(
        db,
        "SELECT latest_file_name, accepted_file_name, status FROM submission_status "
        "WHERE fiscal_year = 2024 AND municipality_code = ?",
        [v1.municipality_code],
    )
    assert status == [(v1.name, v1.name, "再提出")]
    # recorded once, not again at the next load
    assert query(db, "SELECT count(*) FROM file_issues WHERE code = 'RECEIVED_IN_FUTURE'") == [(1,)]


def test_a_time_within_the_tolerance_is_no_issue(tmp_path: Path, fx: Fixture) -> None:
    from datetime import datetime, timedelta

    db = tmp_path / "kokuho.duckdb"
    start = datetime(2024, 6, 1)
    soon = start + timedelta(seconds=FUTURE_TOLERANCE_SECONDS - 60)
    spec = dataclasses.replace(fx.files2024[3], received_at=soon.isoformat())
    _run(db, fx, [spec], "run-1", start.isoformat())
    assert query(db, "SELECT count(*) FROM file_issues") == [(0,)]


def test_the_status_view_and_the_resolution_agree_on_the_latest(tmp_path: Path, fx: Fixture) -> None:
    """A quarantined file first seen in a later run is the latest (差戻し), whatever its time;
    the earlier accepted file still counts."""
    db = tmp_path / "kokuho.duckdb"
    v2, bad = fx.files2024[3], fx.files2024[4]
    bad = dataclasses.replace(bad, municipality_code=v2.municipality_code, received_at="2020-01-01T00:00:00")
    _run(db, fx, [v2], "run-1", "2024-06-01T00:00:00")
    _run(db, fx, [bad], "run-2", "2024-06-02T00:00:00")
    rows = query(
        db,
        "SELECT status, latest_file_name, accepted_file_name FROM submission_status "
        "WHERE fiscal_year = 2024 AND municipality_code = ?",
        [v2.municipality_code],
    )
    assert rows == [("差戻し", bad.name, v2.name)]


# --- the whole flow: an inbox copied without its times ------------------------------------------


def _workbooks(folder: Path) -> dict[str, bytes]:
    """Two versions for each of three municipalities (different answers, so different bytes)."""
    from workbook_factory import PROBE, YES, filled, municipalities, to_bytes

    files = {}
    for muni in municipalities()[:3]:
        for version, written in (("v1", None), ("v2", "○")):
            survey = filled(muni)
            survey.set_answer(PROBE, written, YES if written else "")
            files[f"{muni.code}_{muni.name}_2024_{version}.xlsx"] = to_bytes(survey.wb)
    return files


DAY = 86_400
T0 = 1_717_200_000  # 2024-06-01


@pytest.mark.slow
def test_an_inbox_copied_without_times_gives_the_same_accepted_files(
    tmp_path: Path, prefect_server: None
) -> None:
    """Files arrive over two nights. In the original inbox their times say otherwise for two
    municipalities (a re-sent file dated earlier, a file dated 2099); the copy (`cp -r`: every
    time the time of copying) must give the same accepted files, and they are the second night's."""
    from flows.ingest import run_ingest
    from kokuho.config import Settings

    workbooks = _workbooks(tmp_path)
    names = sorted(workbooks)
    a1, a2, b1, b2, c1, c2 = names  # per municipality: v1 then v2
    arrivals = [
        {a1: T0 + DAY, b1: T0 + 2 * DAY, c1: 4_102_358_400},  # c1 dated 2099-12-31
        {a2: T0 + 3 * DAY, b2: T0 - DAY, c2: T0 + 3 * DAY},  # b2 dated before b1
    ]

    def ingest(kind: str) -> set[str]:
        inbox, home = tmp_path / kind / "inbox", tmp_path / kind / "home"
        inbox.mkdir(parents=True)
        settings = Settings.resolve(home=home, inbox=inbox, prefecture_code="11", fiscal_year=2024)
        for night in arrivals:
            for name, mtime in night.items():
                (inbox / name).write_bytes(workbooks[name])
                if kind == "original":
                    os.utime(inbox / name, (mtime, mtime))
            if kind == "copied":  # every file re-copied, one time for all
                for path in inbox.iterdir():
                    os.utime(path, (T0 + 10 * DAY, T0 + 10 * DAY))
            summary = run_ingest(settings, export=False)
            assert summary["quarantined"] == 0, summary["text"]
            notices[kind].append([line for line in summary["text"].splitlines() if "[注意]" in line])
        con = duckdb.connect(str(settings.db_path), read_only=True)
        try:
            return {
                r[0]
                for r in con.execute("SELECT file_name FROM submissions WHERE status = 'accepted'").fetchall()
            }
        finally:
            con.close()

    notices: dict[str, list[list[str]]] = {"original": [], "copied": []}
    original, copied = ingest("original"), ingest("copied")
    assert original == copied == {a2, b2, c2}
    # The run summary points at the future-dated file (recorded, not quarantined), once.
    assert len(notices["original"][0]) == 1 and c1 in notices["original"][0][0]
    assert "2099-12-31 09:00:00" in notices["original"][0][0]
    assert notices["original"][1:] == [[]] and notices["copied"] == [[], []]
    shutil.rmtree(tmp_path / "copied", ignore_errors=True)
