"""Outputs follow the published state, and what the run does next to other processes, with real
`kokuho run` processes: a kill -9 between publish and export, a kill -9 of the process that started
the temporary Prefect server, a program holding the database read-write, two runs at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import openpyxl
import pytest
from kokuho_faults import PAUSE_AFTER_PUBLISH, PAUSE_ENV, PAUSE_MARKER_ENV, PAUSE_UNTIL_ENV, run_env

from load.publish import (
    export_state_path,
    published_state,
    stale_work_files,
)

pytestmark = pytest.mark.slow

SERVER_APP = "prefect.server.api.server:create_app"


def _write_files(inbox: Path, count: int, start: int = 0) -> list[str]:
    from workbook_factory import filled, municipalities, to_bytes

    inbox.mkdir(parents=True, exist_ok=True)
    names = []
    for muni in municipalities()[start : start + count]:
        name = f"{muni.code}_{muni.name}_2024.xlsx"
        (inbox / name).write_bytes(to_bytes(filled(muni).wb))
        names.append(name)
    return names


def _kokuho_run(inbox: Path, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    handle = log.open("w", encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "kokuho", "run", "--inbox", str(inbox), *args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_until(check, proc: subprocess.Popen | None, what: str, deadline_s: float = 240) -> None:
    deadline = time.monotonic() + deadline_s
    while not check():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the process ended before {what} (exit {proc.returncode})")
        if time.monotonic() > deadline:
            if proc is not None:
                proc.kill()
            pytest.fail(f"never saw {what}")
        time.sleep(0.1)


def _finish(proc: subprocess.Popen, timeout: float = 300) -> int:
    try:
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.fixture
def api_url(prefect_server: None) -> str:
    """The session's Prefect server, so that the runs below start no temporary one."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    assert url
    return str(url)


def _accepted_in_export(path: Path) -> int:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return sum(
            1
            for (value,) in wb["提出状況"].iter_rows(min_col=1, max_col=1, values_only=True)
            if value == "受理"
        )
    finally:
        wb.close()


def test_the_export_follows_the_published_data_after_a_kill_between_publish_and_export(
    tmp_path: Path, api_url: str
) -> None:
    from flows.ingest import run_ingest
    from flows.steps import export_path
    from kokuho.config import Settings

    inbox, home = tmp_path / "inbox", tmp_path / "home"
    _write_files(inbox, 1)
    settings = Settings.resolve(home=home, inbox=inbox, prefecture_code="11", fiscal_year=2024)
    export = export_path(settings)
    first = run_ingest(settings)
    assert [Path(p) for p in first["exports"]] == [export]
    assert _accepted_in_export(export) == 1

    # A second file; the run is killed after publishing, before exporting.
    _write_files(inbox, 1, start=1)
    marker = tmp_path / "published"
    run = _kokuho_run(
        inbox,
        run_env(home, api_url=api_url, **{PAUSE_ENV: PAUSE_AFTER_PUBLISH, PAUSE_MARKER_ENV: str(marker)}),
        tmp_path / "killed.log",
    )
    _wait_until(marker.exists, run, "the publish")
    os.kill(run.pid, signal.SIGKILL)
    _finish(run)
    con = duckdb.connect(str(settings.db_path), read_only=True)
    assert con.execute("SELECT count(*) FROM submissions WHERE status = 'accepted'").fetchone() == (2,)
    con.close()
    assert _accepted_in_export(export) == 1  # the previous run's export: it lags

    nothing_new = run_ingest(settings)
    assert nothing_new["new"] == 0
    assert [Path(p) for p in nothing_new["exports"]] == [export]  # rewritten although nothing was new
    assert _accepted_in_export(export) == 2
    assert export_state_path(export).read_text(encoding="utf-8").strip() == published_state(settings.db_path)

    # Up to date now: another run with nothing new leaves it alone (it only records itself).
    assert run_ingest(settings)["exports"] == []
    export.unlink()
    assert [Path(p) for p in run_ingest(settings)["exports"]] == [export]  # missing: written again
    assert _accepted_in_export(export) == 2


def _children(pid: int) -> list[tuple[int, str, str]]:
    """(pid, state, command line) of the processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat[1]) == pid:
            found.append((int(entry.name), stat[0].decode(), cmdline))
    return found


def _running(pid: int) -> bool:
    """True while the process exists and is not a zombie (dead, waiting to be reaped)."""
    try:
        state = (Path(f"/proc/{pid}/stat")).read_bytes().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state != b"Z"


def _ours(home: Path) -> list[int]:
    """Running servers and watchdogs started with this test's PREFECT_HOME."""
    from flows.ephemeral import WATCHDOG_TAG

    found = []
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        kind = SERVER_APP.encode() in cmdline or WATCHDOG_TAG.encode() in cmdline
        if kind and str(home.parent / "prefect_home").encode() in environ and _running(pid):
            found.append(pid)
    return found


def test_the_temporary_prefect_server_ends_with_a_kill_9_of_kokuho_run(tmp_path: Path) -> None:
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    _write_files(inbox, 1)
    # A normal run stops its server and stands its watchdog down.
    normal = _kokuho_run(inbox, run_env(home, api_url=None), tmp_path / "normal.log", "--no-export")
    assert _finish(normal) == 0, (tmp_path / "normal.log").read_text(encoding="utf-8")
    assert _ours(home) == []

    _write_files(inbox, 1, start=1)
    marker = tmp_path / "paused"
    run = _kokuho_run(
        inbox,
        run_env(home, api_url=None, **{PAUSE_ENV: "before_publish", PAUSE_MARKER_ENV: str(marker)}),
        tmp_path / "run.log",
        "--no-export",
    )
    try:
        _wait_until(marker.exists, run, "the run's pause point")
        servers = [pid for pid, _, cmd in _children(run.pid) if SERVER_APP in cmd]
        assert len(servers) == 1, _children(run.pid)
        server = servers[0]
        assert _running(server)
        assert len(_ours(home)) == 2  # the server and its watchdog
    finally:
        os.kill(run.pid, signal.SIGKILL)
        _finish(run)
    _wait_until(lambda: not _running(server), None, "the orphaned server end", deadline_s=60)
    assert not _running(server)
    _wait_until(lambda: _ours(home) == [], None, "the watchdog end", deadline_s=60)
    assert _ours(home) == []


HOLDER = textwrap.dedent(
    """
    import sys
    import duckdb
    con = duckdb.connect(sys.argv[1])  # read-write, as DBeaver opens a file by default
    print("open", flush=True)
    sys.stdin.readline()
    con.close()
    """
)


def test_a_read_write_connection_makes_kokuho_run_wait_then_fail_naming_the_holder(
    tmp_path: Path, api_url: str
) -> None:
    from flows.ingest import run_ingest
    from kokuho.config import Settings

    inbox, home = tmp_path / "inbox", tmp_path / "home"
    _write_files(inbox, 1)
    settings = Settings.resolve(home=home, inbox=inbox, prefecture_code="11", fiscal_year=2024)
    run_ingest(settings, export=False)
    _write_files(inbox, 1, start=1)
    before = settings.db_path.read_bytes()

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(settings.db_path)],
        env=run_env(home, api_url=None),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        log = tmp_path / "held.log"
        run = _kokuho_run(inbox, run_env(home, api_url=api_url, KOKUHO_DB_WAIT="1"), log, "--no-export")
        code = _finish(run)
    finally:
        if holder.poll() is None:
            assert holder.stdin is not None
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait(timeout=60)
    output = log.read_text(encoding="utf-8")
    assert code == 1, output
    assert f"PID {holder.pid}" in output
    assert "読み書きモードで開いている" in output and "open read-write by" in output
    # Prefect logs the failed task's traceback; the last line is what `kokuho run` says.
    last = output.strip().splitlines()[-1]
    assert last.startswith("kokuho run: データベース") and f"PID {holder.pid}" in last
    assert settings.db_path.read_bytes() == before
    assert stale_work_files(settings.db_path) == []


def test_a_second_concurrent_run_waits_for_the_first_and_reports_true_counts(
    tmp_path: Path, api_url: str
) -> None:
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    _write_files(inbox, 3)
    marker, release = tmp_path / "first_paused", tmp_path / "release"
    first_log = tmp_path / "first.log"
    first = _kokuho_run(
        inbox,
        run_env(
            home,
            api_url=api_url,
            **{PAUSE_ENV: "before_publish", PAUSE_MARKER_ENV: str(marker), PAUSE_UNTIL_ENV: str(release)},
        ),
        first_log,
        "--no-export",
    )
    try:
        _wait_until(marker.exists, first, "the first run's pause point")

        # A run that may not wait long is skipped, and says which run holds the database.
        skipped_log = tmp_path / "skipped.log"
        skipped = _kokuho_run(
            inbox, run_env(home, api_url=api_url, KOKUHO_RUN_WAIT="1"), skipped_log, "--no-export"
        )
        assert _finish(skipped) == 1
        skipped_out = skipped_log.read_text(encoding="utf-8")
        assert f"PID {first.pid}" in skipped_out and "スキップ" in skipped_out and "skipped" in skipped_out

        # A run that may wait, waits; released only once it says it is waiting.
        second_log = tmp_path / "second.log"
        second = _kokuho_run(inbox, run_env(home, api_url=api_url), second_log, "--no-export")
        _wait_until(
            lambda: "waiting for another run" in second_log.read_text(encoding="utf-8"), second, "the wait"
        )
        release.write_text("go", encoding="utf-8")
        assert _finish(first) == 0, first_log.read_text(encoding="utf-8")
        assert _finish(second) == 0, second_log.read_text(encoding="utf-8")
    finally:
        release.write_text("go", encoding="utf-8")
        for proc in (first,):
            if proc.poll() is None:
                proc.kill()
    first_out, second_out = first_log.read_text(encoding="utf-8"), second_log.read_text(encoding="utf-8")
    assert "受理 accepted: 3" in first_out
    assert "(new 0, already processed 3)" in second_out
    assert "受理 accepted: 0" in second_out and "差戻し quarantined: 0" in second_out
    assert "別の取込処理（run " in second_out and f"PID {first.pid}" in second_out
    assert "waited" in second_out
