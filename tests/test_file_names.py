"""Names of any bytes: cp932 (a Windows zip unpacked here), invalid UTF-8, very long, with control
characters. They are recorded with their raw bytes, shown in a safe display form everywhere, and
quarantined under paths within the file system's limits (bytes, not characters)."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import duckdb
import openpyxl
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from workbook_factory import filled, municipalities, to_bytes

from kokuho.files import NAME_MAX_BYTES, display_name, display_path, fit_name, name_hex, safe_text

KAWAGOE = "112011_川越市.xlsx"
LONG_JA = "112011_" + "川越市国民健康保険取組状況調査票" * 20  # far beyond 255 bytes in any encoding


def _cp932(name: str) -> str:
    """The str Python gives for a name stored as cp932 bytes (surrogateescape)."""
    return os.fsdecode(name.encode("cp932"))


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (KAWAGOE, KAWAGOE),  # UTF-8: unchanged
        (_cp932(KAWAGOE), KAWAGOE),  # cp932 bytes: decoded
        (os.fsdecode(b"\xff\xfe_bad.xlsx"), "\\xff\\xfe_bad.xlsx"),  # neither: escaped
        ("a\nb\tc\x1b.xlsx", "a\\x0ab\\x09c\\x1b.xlsx"),  # control characters: escaped
        ("plain.xlsx", "plain.xlsx"),
    ],
)
def test_display_name_is_valid_text_and_raw_bytes_are_kept(raw: str, shown: str) -> None:
    assert display_name(raw) == shown
    shown.encode("utf-8")  # valid text: DuckDB, Excel and CSV take it
    assert bytes.fromhex(name_hex(raw)) == os.fsencode(raw)


@hyp_settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=300), st.integers(min_value=20, max_value=255))
def test_fit_name_is_within_the_byte_limit_and_valid_text(raw: bytes, limit: int) -> None:
    fitted = fit_name(display_name(raw), limit)
    assert len(fitted.encode("utf-8")) <= limit
    assert safe_text(fitted) == fitted
    assert "/" not in fitted or b"/" in raw


@hyp_settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.binary(min_size=1, max_size=40).filter(lambda b: b"/" not in b and b"\0" not in b), max_size=4
    ),
    st.booleans(),
)
def test_display_path_shows_each_component_as_display_name(parts: list[bytes], absolute: bool) -> None:
    """Plain paths take a shortcut; any path, plain or not, reads as its components shown one by one."""
    path = Path(os.fsdecode(b"/" if absolute else b"."), *(os.fsdecode(part) for part in parts))
    shown = "/".join(display_name(part) if part != "/" else "" for part in path.parts) or "."
    assert display_path(path) == shown
    assert display_path(str(path)) == shown
    shown.encode("utf-8")  # valid text


def test_fit_name_keeps_the_extension() -> None:
    fitted = fit_name(LONG_JA + ".xlsx", 100)
    assert fitted.endswith("….xlsx") and len(fitted.encode()) <= 100
    assert fit_name(KAWAGOE) == KAWAGOE


def _write(folder: Path, raw_name: bytes, data: bytes) -> Path:
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), raw_name)))
    path.write_bytes(data)
    return path


LONG_NAMES = {
    "cp932_255_bytes": LONG_JA.encode("cp932")[:250] + b".xlsx",
    "utf8_255_bytes": LONG_JA.encode("utf-8")[:249] + b".xlsx",
    "invalid_utf8": b"\xff" * 200 + b"\x80\x81.xlsx",
    "control_chars": "112011_改行\nタブ\t.xlsx".encode(),
}


@pytest.mark.parametrize("raw_name", list(LONG_NAMES.values()), ids=list(LONG_NAMES))
def test_quarantine_paths_fit_for_any_name(tmp_path: Path, raw_name: bytes) -> None:
    """A non-workbook with a long Japanese name (once ENAMETOOLONG) and a workbook with a bad cell
    under every kind of name: the folder, the copy, the reasons and the annotated copy exist, every
    path component fits in 255 bytes, and every written text is valid."""
    import pandas as pd

    from load.quarantine import write_quarantine

    for kind, data in (("csv", b"a,b\n1,2\n"), ("workbook", to_bytes(filled(municipalities()[1]).wb))):
        (tmp_path / kind).mkdir()
        source = _write(tmp_path / kind, raw_name, data)
        shown = display_name(source.name)
        issues = pd.DataFrame(
            [
                {
                    "file_name": shown,
                    "sheet": "表紙" if kind == "workbook" else None,
                    "cell": "C5",
                    "value": "x",
                    "code": "UNKNOWN_ANSWER" if kind == "workbook" else "NOT_WORKBOOK",
                    "rule": "r",
                    "message": f"ファイル「{shown}」",
                    "hint": "h",
                }
            ]
        )
        record = write_quarantine(source, issues, tmp_path / "quarantine")
        assert record.original_copy.read_bytes() == data
        for path in [record.directory, *record.directory.iterdir()]:
            assert len(os.fsencode(path.name)) <= NAME_MAX_BYTES
            path.name.encode("utf-8")  # valid text, no surrogates
        with record.reasons_csv.open(encoding="utf-8-sig", newline="") as handle:
            assert next(iter(csv.DictReader(handle)))["file"] == shown
        sheet = openpyxl.load_workbook(record.reasons_xlsx).active
        assert sheet["A2"].value == f"ファイル：{shown}　（1件）"
        if kind == "workbook":
            assert record.annotated is not None and record.annotated.is_file()


@pytest.fixture
def named_inbox(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A good workbook and a broken file under cp932 names, and a broken one with a long name."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    munis = municipalities()
    names = {
        "good": f"{munis[1].code}_{munis[1].name}.xlsx".encode("cp932"),
        "broken": f"{munis[2].code}_{munis[2].name}_再提出.xlsx".encode("cp932"),
        "long": (munis[3].code + "_" + "国保取組状況調査票" * 30).encode("utf-8")[:255],
    }
    _write(inbox, names["good"], to_bytes(filled(munis[1]).wb))
    _write(inbox, names["broken"], b"\x00\x01 not a workbook")
    _write(inbox, names["long"], b"col1,col2\n")
    return inbox, names


def test_a_run_over_names_of_any_bytes_records_and_shows_them(named_inbox, settings) -> None:
    """scan -> stage -> quarantine -> load with cp932 and long names: no UnicodeEncodeError or
    ENAMETOOLONG; tables hold the display name and the raw bytes; the status names each file."""
    from flows import steps

    inbox, names = named_inbox
    files = steps.scan_inbox([inbox])
    result = steps.stage_files(files, settings, data_docs=False)
    by_hex = {o.path.name: o for o in result.outcomes}
    assert {o.status for o in result.outcomes} == {"accepted", "quarantined"}
    steps.load_and_publish(result, 0, settings, "run-names", time.time(), files)

    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        entries = {
            bytes.fromhex(h): (name, state, code)
            for h, name, state, code in con.execute(
                "SELECT name_hex, file_name, state, municipality_code FROM inbox_entries"
            ).fetchall()
        }
        status = dict(
            con.execute(
                "SELECT municipality_code, status FROM submission_status WHERE status <> '未提出'"
            ).fetchall()
        )
        stored = [r[0] for r in con.execute("SELECT file_name FROM submissions ORDER BY 1").fetchall()]
    finally:
        con.close()
    munis = municipalities()
    assert entries[names["good"]] == (names["good"].decode("cp932"), "accepted", munis[1].code)
    assert entries[names["broken"]] == (names["broken"].decode("cp932"), "quarantined", munis[2].code)
    long_shown = display_name(names["long"])
    assert entries[names["long"]] == (long_shown, "quarantined", munis[3].code)
    assert status == {munis[1].code: "受理", munis[2].code: "差戻し", munis[3].code: "差戻し"}
    assert sorted(stored) == sorted(display_name(n) for n in names.values())
    for outcome in by_hex.values():
        if outcome.status == "quarantined":
            assert outcome.quarantine_dir is not None and outcome.quarantine_dir.is_dir()
            message = outcome.issues[0]["message"]
            assert safe_text(str(message)) == message and outcome.file_name in str(message)
