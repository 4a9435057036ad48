"""One file never costs more than itself: a failure at any step that touches one file — container
checks, extraction (the parser, the worker running it), key parsing, staging — becomes that file's
issue with a Japanese reason, the run or check ends, and every other file is accepted.

Real bad inputs where there are some (a zip bomb, a truncated zip, template keys holding a
superscript digit or a number beyond INT32); faults injected into the real worker
(tests/faults/kokuho_faults.py) for a parser that kills its worker and for a step that raises or hangs in the
worker; a monkeypatched staging step for the in-process path. Good files are put right after
each bad one, so a file queued behind a culprit on the same worker would be the one blamed.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from kokuho_faults import CRASH_ENV, STEP_HANG_ENV, STEP_RAISE_ENV, with_faults_path
from workbook_factory import (
    OWN_TABLE,
    SECTION_2,
    TARGET_PROBE,
    Survey,
    filled,
    municipalities,
    to_bytes,
    zip_bomb,
)

from extract.container import Limits
from extract.model import RawSheet
from extract.sandbox import WorkerStep, extract_files
from kokuho import layout
from kokuho.config import Settings
from transform.contracts import contract

ISSUE_COLUMNS = contract("file_issues").column_names
CODE, RULE, MESSAGE, SHEET, CELL = (
    ISSUE_COLUMNS.index(c) for c in ("code", "rule", "message", "sheet", "cell")
)
RESPONSES = 1  # StagedFile tables: submissions, responses, own initiatives, targets, issues
STAGE_STEP = WorkerStep("transform.staging", "stage_file", args=("11", 2024), check="check_staged")
LIMITS = Limits(timeout_seconds=5)
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


# --- bad files ---------------------------------------------------------------------------------


def _cover_key(name: str, value: str) -> Callable[[Survey], str]:
    def edit(s: Survey) -> str:
        ws, row = s.row_of(layout.meta_key(name, _template_value(s, name)), layout.SHEET_COVER)
        ws[f"A{row}"] = layout.meta_key(name, value)
        return f"{ws.title}!A{row}"

    return edit


def _template_value(s: Survey, name: str) -> str:
    ws = s.sheet(layout.SHEET_COVER)
    for (cell,) in ws.iter_rows(min_col=1, max_col=1):
        parsed = layout.parse_meta_key(str(cell.value or ""))
        if parsed and parsed[0] == name:
            return parsed[1]
    raise KeyError(name)


def _row_key(old: str, new: str, sheet_key: str | None = None) -> Callable[[Survey], str]:
    def edit(s: Survey) -> str:
        ws, row = s.row_of(old, sheet_key)
        ws[f"A{row}"] = new
        return f"{ws.title}!A{row}"

    return edit


def _sheet_key(s: Survey) -> str:
    ws = s.sheet(SECTION_2)
    ws["A1"] = "kokuho:section:²"
    return f"{ws.title}!A1"


@dataclass(frozen=True)
class Bad:
    """A file that must fail with `code` (and, for keys, at the cell the edit returns)."""

    name: str
    code: str
    edit: Callable[[Survey], str] | None = None
    post: Callable[[bytes], bytes] | None = None
    hook: str | None = None  # the fault (tests/faults) that fails it in the worker
    detail: str | None = None  # a piece of its message


KEY_FILES = [
    Bad("superscript_year", "TEMPLATE_KEY_INVALID", edit=_cover_key(layout.META_FISCAL_YEAR, "202²")),
    Bad("year_beyond_int32", "TEMPLATE_KEY_INVALID", edit=_cover_key(layout.META_FISCAL_YEAR, "99999999999")),
    Bad("superscript_prefecture", "TEMPLATE_KEY_INVALID", edit=_cover_key(layout.META_PREFECTURE, "¹¹")),
    Bad(
        "superscript_own_row",
        "TEMPLATE_KEY_INVALID",
        edit=_row_key(layout.own_key(OWN_TABLE, 1), f"{layout.OWN_PREFIX}{OWN_TABLE}:¹"),
    ),
    Bad(
        "target_year_beyond_int32",
        "TEMPLATE_KEY_INVALID",
        edit=_row_key(
            layout.target_key(*TARGET_PROBE),
            f"{layout.TARGET_PREFIX}{TARGET_PROBE[0]}:{'9' * 5000}",
            layout.SHEET_TARGETS,
        ),
    ),
    Bad("superscript_sheet_key", "TEMPLATE_KEY_INVALID", edit=_sheet_key),
]
COVER_KEY_FILES = {"superscript_year", "year_beyond_int32", "superscript_prefecture"}
CONTAINER_FILES = [
    Bad("zip_bomb", "ZIP_BOMB", post=zip_bomb),
    Bad("truncated", "CORRUPT_WORKBOOK", post=lambda data: data[: len(data) // 2]),
]
WORKER_FILES = [
    Bad("parser_crash", "PARSE_FAILED", hook=CRASH_ENV),
    Bad(
        "staging_raises",
        "PARSE_FAILED",
        hook=STEP_RAISE_ENV,
        detail="調査票の内容の処理中に予期しないエラー",
    ),
]
BAD_FILES = KEY_FILES + CONTAINER_FILES + WORKER_FILES


@dataclass
class Inbox:
    folder: Path
    paths: list[Path]
    bad: dict[str, tuple[Bad, str | None]]  # file name -> (what it is, sheet!cell of the key)
    good: list[str]  # file names
    hooks: dict[str, str]  # env var -> file name

    def path(self, name: str) -> Path:
        return self.folder / name


def build_inbox(folder: Path, bad_files: list[Bad], *, good_every: int = 1) -> Inbox:
    """A good file first, then each bad file followed by a good one; each file of its own
    municipality (so no file supersedes another)."""
    munis = iter(municipalities())
    inbox = Inbox(folder, [], {}, [], {})

    def good() -> None:
        muni = next(munis)
        path = folder / f"{muni.code}_{muni.name}_good.xlsx"
        path.write_bytes(to_bytes(filled(muni).wb))
        inbox.paths.append(path)
        inbox.good.append(path.name)

    good()
    for n, bad in enumerate(bad_files):
        muni = next(munis)
        survey = filled(muni)
        where = bad.edit(survey) if bad.edit else None
        data = to_bytes(survey.wb)
        if bad.post:
            data = bad.post(data)
        path = folder / f"{muni.code}_{muni.name}_{bad.name}.xlsx"
        path.write_bytes(data)
        inbox.paths.append(path)
        inbox.bad[path.name] = (bad, where)
        if bad.hook:
            inbox.hooks[bad.hook] = path.name
        if n % good_every == 0:
            good()
    return inbox


def issues_of(staged: tuple) -> list[tuple]:
    return staged[2][-1]


# --- in the workers: extract_files with the staging step ---------------------------------------


@pytest.fixture(scope="module")
def staged_in_workers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Inbox, dict[str, tuple]]:
    hang = Bad("staging_hangs", "PARSE_TIMEOUT", hook=STEP_HANG_ENV)
    inbox = build_inbox(tmp_path_factory.mktemp("workers"), [*BAD_FILES, hang])
    with pytest.MonkeyPatch.context() as patch:
        for env, name in inbox.hooks.items():
            patch.setenv(env, name)
        # One worker: every culprit has files queued behind it on the same worker.
        results = extract_files(inbox.paths, workers=1, limits=LIMITS, step=STAGE_STEP)
    return inbox, dict(zip((p.name for p in inbox.paths), results, strict=True))


def test_workers_give_one_result_per_file_under_its_own_hash(
    staged_in_workers: tuple[Inbox, dict[str, tuple]],
) -> None:
    inbox, results = staged_in_workers
    assert len(results) == len(inbox.paths)
    for path in inbox.paths:
        assert results[path.name][0] == hashlib.sha256(path.read_bytes()).hexdigest(), path.name


def test_workers_accept_every_good_file(staged_in_workers: tuple[Inbox, dict[str, tuple]]) -> None:
    inbox, results = staged_in_workers
    for name in inbox.good:
        assert issues_of(results[name]) == [], name
        assert len(results[name][2][RESPONSES]) > 100, name


@pytest.mark.parametrize("bad", [*BAD_FILES, Bad("staging_hangs", "PARSE_TIMEOUT")], ids=lambda b: b.name)
def test_workers_give_the_bad_file_its_own_issue(
    staged_in_workers: tuple[Inbox, dict[str, tuple]], bad: Bad
) -> None:
    inbox, results = staged_in_workers
    name = next(n for n, (b, _) in inbox.bad.items() if b.name == bad.name)
    issues = issues_of(results[name])
    assert bad.code in [row[CODE] for row in issues]
    row = next(row for row in issues if row[CODE] == bad.code)
    assert f"ファイル「{name}」" in row[MESSAGE]
    assert JAPANESE.search(row[MESSAGE].replace(name, ""))
    if bad.detail:
        assert bad.detail in row[MESSAGE]
    _, where = inbox.bad[name]
    if where:
        assert f"{row[SHEET]}!{row[CELL]}" == where
    if bad.name in COVER_KEY_FILES:
        assert results[name][2][RESPONSES] == []  # which survey it answers is unknown: none read


def test_a_step_error_in_the_worker_is_reported_by_it_not_rerun_as_a_crash(
    staged_in_workers: tuple[Inbox, dict[str, tuple]],
) -> None:
    inbox, results = staged_in_workers
    raised = inbox.hooks[STEP_RAISE_ENV]
    crashed = inbox.hooks[CRASH_ENV]
    assert [row[RULE] for row in issues_of(results[raised])] == ["step"]
    assert [row[RULE] for row in issues_of(results[crashed])] == ["worker_crash"]


# --- kokuho check and kokuho run: the real commands, in their own process ----------------------


def _command(args: list[str], home: Path, hooks: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (home / "prefect").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "KOKUHO_HOME": str(home), "PREFECT_HOME": str(home / "prefect"), **hooks}
    for name in ("KOKUHO_DB", "KOKUHO_INBOX", "KOKUHO_PREFECTURE", "KOKUHO_YEAR", "PREFECT_API_URL"):
        env.pop(name, None)
    # The timeout only stops a hang from stalling the suite: a hang is what fails this test.
    return subprocess.run(
        [sys.executable, "-m", "kokuho", *args],
        capture_output=True,
        text=True,
        env=with_faults_path(env),
        timeout=600,
    )


def _verdicts(out: str) -> dict[str, list[str]]:
    """file name -> its verdict line and the issue lines under it, from `kokuho check`'s output."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in out.splitlines():
        match = re.match(r"^\[([^\]]+)\] (.+?)  \(", line)
        if match:
            current = found.setdefault(match[2], [match[1]])
        elif current is not None and line.startswith("    "):
            current.append(line.strip())
        else:
            current = None
    return found


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Inbox, subprocess.CompletedProcess[str]]:
    inbox = build_inbox(tmp_path_factory.mktemp("check_inbox"), BAD_FILES)
    return inbox, _command(["check", str(inbox.folder)], tmp_path_factory.mktemp("check_home"), inbox.hooks)


def test_check_ends_and_accepts_every_good_file(
    checked: tuple[Inbox, subprocess.CompletedProcess[str]],
) -> None:
    inbox, proc = checked
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verdicts = _verdicts(proc.stdout)
    assert sorted(verdicts) == sorted(p.name for p in inbox.paths)
    assert {name: verdicts[name][0] for name in inbox.good} == dict.fromkeys(inbox.good, "問題なし")
    total = len(inbox.paths)
    assert (
        f"{total} 件: 問題なし {len(inbox.good)}、差替え済 0、差戻し {len(inbox.bad)}、スキップ 0"
        in proc.stdout
    )


@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda b: b.name)
def test_check_sends_back_the_bad_file_with_its_reason(
    checked: tuple[Inbox, subprocess.CompletedProcess[str]], bad: Bad
) -> None:
    inbox, proc = checked
    name = next(n for n, (b, _) in inbox.bad.items() if b.name == bad.name)
    lines = _verdicts(proc.stdout)[name]
    assert lines[0] == "差戻し"
    reason = next(line for line in lines if line.startswith(f"{bad.code}: "))
    assert f"ファイル「{name}」" in reason
    _, where = inbox.bad[name]
    if where:
        sheet, cell = where.split("!")
        assert f"シート「{sheet}」セル{cell}の" in reason


def test_run_ends_loads_the_good_files_and_quarantines_the_bad(tmp_path: Path) -> None:
    """The whole nightly run (Prefect flow, load, publish): keys beyond INT32 never reach DuckDB."""
    import duckdb

    wanted = ("year_beyond_int32", "target_year_beyond_int32", "superscript_year", "staging_raises")
    (tmp_path / "inbox").mkdir()
    inbox = build_inbox(tmp_path / "inbox", [b for b in BAD_FILES if b.name in wanted])
    home = tmp_path / "home"
    proc = _command(["run", "--inbox", str(inbox.folder), "--no-export"], home, inbox.hooks)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert f"受理 accepted: {len(inbox.good)}" in proc.stdout
    assert f"差戻し quarantined: {len(inbox.bad)}" in proc.stdout
    assert "Traceback" not in output
    with duckdb.connect(str(home / "kokuho.duckdb"), read_only=True) as con:
        status = dict(con.execute("SELECT file_name, status FROM submissions").fetchall())
        reasons = dict(con.execute("SELECT file_name, reason_codes FROM submissions").fetchall())
        loaded = {row[0] for row in con.execute("SELECT DISTINCT file_name FROM responses").fetchall()}
    assert {name: status.get(name) for name in inbox.good} == dict.fromkeys(inbox.good, "accepted")
    for name, (bad, _) in inbox.bad.items():
        assert status.get(name) == "quarantined", name
        assert bad.code in reasons[name], name
    assert loaded == set(inbox.good)


# --- in process: stage_chunk(workbooks=...) ------------------------------------------------------


def test_in_process_staging_error_costs_only_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    from extract.reader import extract_file
    from flows.steps import stage_chunk
    from transform import staging

    inbox = build_inbox(tmp_path, KEY_FILES[:2], good_every=1)
    culprit = inbox.good[1]
    original = staging._FileTransform._read_targets

    def failing(self: staging._FileTransform, sheet: RawSheet) -> None:
        if self.wb.file_name == culprit:
            raise ZeroDivisionError("injected")
        original(self, sheet)

    monkeypatch.setattr(staging._FileTransform, "_read_targets", failing)
    workbooks = [extract_file(path, Limits()) for path in inbox.paths]
    chunk = stage_chunk(inbox.paths, settings, workbooks=workbooks)
    issues = chunk.batch.issues
    by_file = issues.groupby("file_name")["code"].apply(list).to_dict()
    assert by_file.pop(culprit) == ["PARSE_FAILED"]
    message = issues.loc[issues["file_name"] == culprit, "message"].iloc[0]
    assert "調査票の内容の処理中に予期しないエラー（ZeroDivisionError）" in message
    assert set(by_file) == set(inbox.bad)
    assert all("TEMPLATE_KEY_INVALID" in codes for codes in by_file.values())
    responses = chunk.batch.responses
    staged = set(responses["file_name"])
    assert staged == set(inbox.good) - {culprit}
