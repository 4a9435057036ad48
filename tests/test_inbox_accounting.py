"""Accounting that sums, with the real flow: one inbox mixing good files with every bad kind of
entry — cp932 names, two municipalities' identical empty files, the same bytes under a second name,
links to files and folders inside and outside the inbox, a FIFO, hidden and lock files, a folder
and a file that cannot be read, a failure injected at scan, at hash and at the quarantine copy, a
file that changes between scan and read, template keys holding a superscript digit or a year
beyond INT32 (each once hung or failed the whole run), a non-workbook whose long Japanese name
once broke its quarantine copy, and a file dated in the future. The run ends (a watchdog ends the
process if it hangs), every good file is accepted, every entry
ends in exactly one state (in inbox_entries and in the run summary), nothing from outside the
inbox reaches the home, and each municipality whose file came gets its status. The next run
retries what could not be done and shows a broken re-send as 差戻し."""

from __future__ import annotations

import contextlib
import errno
import faulthandler
import io
import os
import time
from pathlib import Path

import duckdb
import pytest
from workbook_factory import filled, municipalities, to_bytes

from kokuho import layout
from kokuho.config import Settings

pytestmark = pytest.mark.slow

SECRET = b"OUTSIDE-THE-INBOX-do-not-copy"
M = municipalities()  # 111007 さいたま市, 112011 川越市, 112020 熊谷市, 112038 川口市, ...


def _name(m: int, tail: str = "") -> str:
    return f"{M[m].code}_{M[m].name}{tail}.xlsx"


LONG_NAME = _name(10, "_" + "国民健康保険取組状況調査票" * 5)[:80]  # ~240 bytes in UTF-8
RUN_TIMEOUT = 600  # seconds: only a hang reaches it, and it ends the process rather than the suite


def _with_fiscal_year_key(m: int, value: str) -> bytes:
    """Municipality m's filled workbook whose hidden cover key holds this fiscal year."""
    survey = filled(M[m])
    key = layout.meta_key(layout.META_FISCAL_YEAR, 2024)
    ws, row = survey.row_of(key, layout.SHEET_COVER)
    ws[f"A{row}"] = layout.meta_key(layout.META_FISCAL_YEAR, value)
    return to_bytes(survey.wb)


@contextlib.contextmanager
def _watchdog():
    faulthandler.dump_traceback_later(RUN_TIMEOUT, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def _write(folder: Path, name: str | bytes, data: bytes, mtime: float | None = None) -> Path:
    raw = name if isinstance(name, bytes) else name.encode()
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), raw)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


# path in inbox_entries -> (state, reason code) after the first run
EXPECTED_FIRST = {
    _name(2): ("accepted", None),
    _name(1): ("accepted", None),  # its name is cp932 bytes; shown decoded
    _name(0): ("quarantined", "EMPTY_FILE"),
    _name(3): ("skipped", "DUPLICATE_CONTENT"),  # same (empty) bytes as さいたま市's file
    "sub/熊谷市のコピー.xlsx": ("skipped", "DUPLICATE_CONTENT"),
    _name(4, "_csv"): ("quarantined", "NOT_WORKBOOK"),
    "readme.xlsx": ("quarantined", "NOT_WORKBOOK"),  # belongs to no municipality
    ".DS_Store": ("skipped", "HIDDEN_FILE"),
    "~$" + _name(2): ("skipped", "EXCEL_LOCK_FILE"),
    "alias.xlsx": ("skipped", "SYMLINK"),
    "passwd.xlsx": ("skipped", "OUTSIDE_INBOX"),
    "outside_dir": ("skipped", "OUTSIDE_INBOX"),
    "pipe.xlsx": ("skipped", "NOT_REGULAR_FILE"),
    "locked": ("skipped", "UNREADABLE_FOLDER"),
    "unreadable.xlsx": ("skipped", "UNREADABLE_FILE"),  # hash fails
    "scanfail.xlsx": ("skipped", "UNREADABLE_FILE"),  # scan fails
    _name(5): ("skipped", "FILE_CHANGING"),
    _name(6, "_壊れ"): ("skipped", "QUARANTINE_FAILED"),
    _name(8, "_上付き"): ("quarantined", "TEMPLATE_KEY_INVALID"),  # fiscal year key 202²
    _name(9, "_桁あふれ"): ("quarantined", "TEMPLATE_KEY_INVALID"),  # fiscal year key beyond INT32
    LONG_NAME: ("quarantined", "NOT_WORKBOOK"),
    _name(11): ("accepted", None),  # dated 2099: recorded as RECEIVED_IN_FUTURE, not quarantined
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, prefect_server: None) -> dict:
    from flows.ingest import run_ingest
    from flows.steps import inbox as scan
    from load import quarantine

    root = tmp_path_factory.mktemp("accounting")
    inbox, home, outside = root / "inbox", root / "home", root / "outside"
    old = time.time() - 3600
    _write(outside, "secret.xlsx", SECRET)
    _write(outside / "folder", "inner.xlsx", SECRET)
    good = to_bytes(filled(M[2]).wb)
    _write(inbox, _name(2), good, old)
    _write(inbox, _name(1).encode("cp932"), to_bytes(filled(M[1]).wb), old)
    _write(inbox, _name(0), b"", old)
    _write(inbox, _name(3), b"", old)
    _write(inbox, "sub/熊谷市のコピー.xlsx", good, old)
    _write(inbox, _name(4, "_csv"), "市町村,回答\n行田市,○\n".encode(), old)
    _write(inbox, "readme.xlsx", b"just text", old)
    _write(inbox, ".DS_Store", b"\x00\x00")
    _write(inbox, "~$" + _name(2), b"lock")
    os.symlink(inbox / _name(2), inbox / "alias.xlsx")
    os.symlink(outside / "secret.xlsx", inbox / "passwd.xlsx")
    os.symlink(outside / "folder", inbox / "outside_dir")
    os.mkfifo(inbox / "pipe.xlsx")
    _write(inbox / "locked", _name(7), to_bytes(filled(M[7]).wb), old)
    _write(inbox, "unreadable.xlsx", b"junk", old)
    _write(inbox, "scanfail.xlsx", b"junk too", old)
    changing = _write(inbox, _name(5), to_bytes(filled(M[5]).wb), old)
    _write(inbox, _name(6, "_壊れ"), b"broken, and the disk is full", old)
    _write(inbox, _name(8, "_上付き"), _with_fiscal_year_key(8, "202²"), old)
    _write(inbox, _name(9, "_桁あふれ"), _with_fiscal_year_key(9, "99999999999"), old)
    _write(inbox, LONG_NAME, "市町村,回答\n".encode(), old)
    _write(inbox, _name(11), to_bytes(filled(M[11]).wb), time.mktime((2099, 4, 1, 0, 0, 0, 0, 0, -1)))

    list_folder, classify, hash_file, copy_file = (
        scan._list,
        scan._classify,
        scan._hash_file,
        quarantine._copy_file,
    )

    def failing_list(folder: Path):
        if folder.name == "locked":
            raise PermissionError(errno.EACCES, "Permission denied")
        return list_folder(folder)

    def failing_classify(entry, outside_inbox):
        if entry.name == "scanfail.xlsx":
            raise OSError(errno.EIO, "Input/output error")
        return classify(entry, outside_inbox)

    def failing_hash(path: Path):
        if path.name == "unreadable.xlsx":
            raise PermissionError(errno.EACCES, "Permission denied")
        result = hash_file(path)
        if path == changing:  # still being written: more bytes arrive after the scan hashed it
            with open(path, "ab") as handle:
                handle.write(b"\x00" * 64)
        return result

    def failing_copy(source: Path, target: str) -> None:
        if source.name.endswith("_壊れ.xlsx"):
            raise OSError(errno.ENOSPC, "No space left on device")
        copy_file(source, target)

    settings = Settings.resolve(
        home=home, db_path=home / "kokuho.duckdb", inbox=inbox, prefecture_code="11", fiscal_year=2024
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scan, "_list", failing_list)
        patch.setattr(scan, "_classify", failing_classify)
        patch.setattr(scan, "_hash_file", failing_hash)
        patch.setattr(quarantine, "_copy_file", failing_copy)
        with _watchdog():
            first = run_ingest(settings, export=False)
    first_entries = _entries(settings.db_path, first["run_id"])
    first_status = _status(settings.db_path)

    # Next night: no failures; two broken re-sends arrive (a CSV renamed .xlsx from 川越市, an
    # empty file from 熊谷市 whose bytes an earlier run already processed).
    _write(inbox, _name(1, "_再提出"), "これはCSVです\n".encode())
    _write(inbox, _name(2, "_再提出"), b"")
    with _watchdog():
        second = run_ingest(settings, export=False)
    return {
        "settings": settings,
        "first": first,
        "first_entries": first_entries,
        "first_status": first_status,
        "second": second,
        "second_entries": _entries(settings.db_path, second["run_id"]),
        "second_status": _status(settings.db_path),
        "outside": outside,
    }


def _entries(db: Path, run_id: str) -> dict[str, tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT path, state, reason_code, reason, duplicate_of, municipality_code, received_at "
            "FROM inbox_entries WHERE run_id = ? ORDER BY entry_no",
            [run_id],
        ).fetchall()
    finally:
        con.close()
    paths = [r[0] for r in rows]
    assert len(paths) == len(set(paths)), "an entry was recorded twice"
    return {r[0]: r[1:] for r in rows}


def _status(db: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT municipality_code, status, latest_file_name, latest_received_at, reason_codes "
            "FROM submission_status WHERE fiscal_year = 2024 AND status <> '未提出'"
        ).fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in rows}


def test_the_run_ends_and_every_good_file_is_accepted(runs: dict) -> None:
    entries = runs["first_entries"]
    assert entries[_name(2)][0] == entries[_name(1)][0] == entries[_name(11)][0] == "accepted"
    assert runs["first"]["accepted"] == 3


def test_bad_keys_are_issues_naming_the_cover_cell(runs: dict) -> None:
    con = duckdb.connect(str(runs["settings"].db_path), read_only=True)
    try:
        rows = con.execute(
            "SELECT s.file_name, f.code, f.sheet, f.cell, f.message FROM file_issues AS f "
            "JOIN submissions AS s USING (sha256) WHERE f.code IN ('TEMPLATE_KEY_INVALID', 'RECEIVED_IN_FUTURE')"
        ).fetchall()
    finally:
        con.close()
    by_file = {r[0]: r[1:] for r in rows}
    for name in (_name(8, "_上付き"), _name(9, "_桁あふれ")):
        code, sheet, cell, message = by_file[name]
        assert (code, sheet) == ("TEMPLATE_KEY_INVALID", "表紙") and cell.startswith("A"), by_file[name]
        assert name in message
    assert by_file[_name(11)][0] == "RECEIVED_IN_FUTURE"


def test_every_entry_ends_in_exactly_one_state(runs: dict) -> None:
    entries = runs["first_entries"]
    assert {path: (e[0], e[1]) for path, e in entries.items()} == EXPECTED_FIRST
    counts = runs["first"]["entry_counts"]
    assert sum(counts.values()) == runs["first"]["entries"] == len(EXPECTED_FIRST)
    assert counts == {
        state: sum(s == state for s, _ in EXPECTED_FIRST.values())
        for state in ("accepted", "superseded", "quarantined", "skipped")
    }
    for path, (state, _, reason, *_rest) in entries.items():
        assert state != "skipped" or reason, f"{path} skipped without a reason"


def test_the_summary_names_every_skipped_entry_with_its_reason(runs: dict) -> None:
    text = runs["first"]["text"]
    assert f"受信フォルダの全項目 inbox entries: {len(EXPECTED_FIRST)} = " in text
    skipped = dict(runs["first"]["skipped_entries"])
    assert set(skipped) == {p for p, (s, _) in EXPECTED_FIRST.items() if s == "skipped"}
    assert f"同じ内容のファイル「{_name(0)}」" in skipped[_name(3)]
    assert "リンク先は読みません" in skipped["passwd.xlsx"]
    assert "No space left on device" in skipped[_name(6, "_壊れ")]
    for path in skipped:
        assert f"[スキップ] {path}: " in text
        assert f"| {path} |" in runs["first"]["markdown"]


def test_nothing_from_outside_the_inbox_reaches_the_home(runs: dict) -> None:
    home = runs["settings"].home
    for folder, _, names in os.walk(home):
        for name in names:
            assert SECRET not in (Path(folder) / name).read_bytes()
    assert (runs["outside"] / "secret.xlsx").read_bytes() == SECRET  # untouched


def test_identical_bytes_from_two_municipalities_give_each_its_status(runs: dict) -> None:
    status = runs["first_status"]
    saitama, kawaguchi = status[M[0].code], status[M[3].code]
    assert saitama[:2] == ("差戻し", _name(0)) and kawaguchi[:2] == ("差戻し", _name(3))
    assert saitama[2] is not None and kawaguchi[2] is not None  # received times
    assert kawaguchi[3] == ["DUPLICATE_CONTENT", "EMPTY_FILE"]


def test_a_file_that_cannot_be_opened_counts_for_the_municipality_its_name_names(runs: dict) -> None:
    gyoda = runs["first_status"][M[4].code]
    assert gyoda[:2] == ("差戻し", _name(4, "_csv")) and gyoda[2] is not None
    assert runs["first_entries"]["readme.xlsx"][4] is None  # no municipality: listed all the same


def test_what_could_not_be_done_is_retried_next_run(runs: dict) -> None:
    second = runs["second_entries"]
    assert second[_name(5)][:2] == ("accepted", None)  # written completely by now
    assert second[_name(6, "_壊れ")][:2] == ("quarantined", "NOT_WORKBOOK")
    assert second["unreadable.xlsx"][0] == "quarantined"
    assert second[f"locked/{_name(7)}"][0] == "accepted"
    folders = [d.name for d in runs["settings"].quarantine_dir.iterdir()]
    assert any(d.endswith(_name(6, "_壊れ")) for d in folders)
    assert second[_name(2)][:2] == ("skipped", "ALREADY_PROCESSED")
    assert second[_name(2)][3] == _name(2)


def test_a_broken_resend_shows_returned(runs: dict) -> None:
    from kokuho.cli import main as kokuho_main

    status = runs["second_status"]
    assert status[M[1].code][:2] == ("差戻し", _name(1, "_再提出"))  # a CSV renamed .xlsx
    assert status[M[2].code][:2] == ("差戻し", _name(2, "_再提出"))  # an empty file, bytes seen before
    # Its bytes are those of さいたま市's empty file, in this inbox and already processed.
    assert runs["second_entries"][_name(2, "_再提出")][:2] == ("skipped", "DUPLICATE_CONTENT")
    assert runs["second_entries"][_name(0)][:2] == ("skipped", "ALREADY_PROCESSED")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = kokuho_main(
            ["status", "--db", str(runs["settings"].db_path), "--year", "2024", "--format", "csv"]
        )
    assert code == 0
    lines = [
        line for line in out.getvalue().splitlines() if f",{M[1].code}," in line or f",{M[2].code}," in line
    ]
    assert len(lines) == 2 and all(line.startswith("差戻し,") for line in lines)


def test_a_file_removed_between_scan_and_read_is_skipped_and_retried(
    settings: Settings, tmp_path: Path
) -> None:
    """Removed (or replaced) after the scan hashed it: skipped with its reason, not loaded, so the
    next run sees whatever is there then; the other file is accepted."""
    from flows import steps

    inbox = tmp_path / "inbox"
    gone = _write(inbox, _name(1), to_bytes(filled(M[1]).wb))
    _write(inbox, _name(2), to_bytes(filled(M[2]).wb))
    files = steps.scan_inbox([inbox])
    gone.unlink()
    result = steps.stage_files(files, settings, write_quarantine=False, data_docs=False)
    by_name = {o.file_name: o for o in result.outcomes}
    assert by_name[_name(1)].status == "skipped" and by_name[_name(1)].reason_code == "FILE_CHANGING"
    assert by_name[_name(2)].status == "accepted"
    assert set(result.batch.submissions["file_name"]) == {_name(2)}
    assert set(result.batch.issues["file_name"]) <= {_name(2)}
