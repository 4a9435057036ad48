"""write_quarantine: original kept byte-for-byte, reasons in CSV and Japanese xlsx, annotated copy."""

from __future__ import annotations

import csv
import hashlib
import os
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from kokuho import codelists, layout
from kokuho.catalog import Catalog
from load.quarantine import ANNOTATION_FILL, REASONS_CSV, REASONS_XLSX, SUMMARY_TITLE, write_quarantine
from transform.batch import conform

SHEET = "1 保険税関係"
INJECTION = '=HYPERLINK("x")'


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_xlsx(path: Path, *, hidden_row: int | None = None, merged: str | None = None) -> Path:
    wb = Workbook()
    cover = wb.active
    cover.title = layout.COVER_TITLE
    cover["A1"] = layout.SHEET_COVER
    cover["A10"] = layout.META_MUNICIPALITY_CODE
    cover["B10"] = "市町村コード"
    cover["C10"] = "112012"
    ws = wb.create_sheet(SHEET)
    ws["A1"] = layout.section_sheet_key(1)
    for r, measure_id in enumerate(["M001", "M002", "M003"], start=5):
        ws[f"A{r}"] = layout.measure_key(measure_id)
        ws[f"C{r}"] = f"取組{measure_id}"
    ws["D5"] = "△"
    ws["D6"] = "○"
    ws["A9"] = layout.target_key("collection_rate_current", 2024)
    ws["D9"] = "高い"
    if hidden_row:
        ws.row_dimensions[hidden_row].hidden = True
    if merged:
        ws.merge_cells(merged)
    hidden = wb.create_sheet("隠し")
    hidden.sheet_state = "hidden"
    hidden["A1"] = "measure:M001"
    wb.save(path)
    return path


def issue(
    code: str, sheet: str | None, cell: str | None, value: str | None, file_name: str
) -> dict[str, object]:
    return {
        "file_name": file_name,
        "sha256": None,
        "sheet": sheet,
        "cell": cell,
        "value": value,
        "code": code,
        "rule": "rule_" + code.lower(),
        "message": codelists.issue_message(code, file=file_name, sheet=sheet, cell=cell, value=value),
        "hint": codelists.issue_hint(code),
        "stage": "transform",
    }


def issues_for(path: Path, *rows: tuple[str, str | None, str | None, str | None]) -> pd.DataFrame:
    return conform(pd.DataFrame([issue(*row, path.name) for row in rows]), "file_issues")


STANDARD = [
    ("UNKNOWN_ANSWER", SHEET, "D5", "△"),
    ("MUNICIPALITY_CODE_INVALID", layout.COVER_TITLE, "C10", "112012"),
    ("VALIDATION_FAILED", SHEET, "D6", INJECTION),
    ("TARGET_UNPARSEABLE", SHEET, "D9", "高い"),
    ("TOO_MANY_PROBLEMS", None, None, None),
]


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def test_original_is_copied_byte_for_byte_and_left_in_place(inbox: Path, tmp_path: Path) -> None:
    original = make_xlsx(inbox / "112011_川越市_2024_国保取組状況調査票.xlsx")
    before = (sha(original), original.stat().st_mtime_ns)
    record = write_quarantine(original, issues_for(original, *STANDARD), tmp_path / "q")
    assert (sha(original), original.stat().st_mtime_ns) == before  # inbox file untouched
    assert record.original_copy.read_bytes() == original.read_bytes()
    assert record.sha256 == before[0]
    assert record.original_copy.stat().st_mtime_ns == original.stat().st_mtime_ns  # copy2 keeps mtime
    name = record.directory.name
    assert name.endswith(f"_{before[0][:8]}_{original.name}") and name[:8].isdigit()
    assert record.directory.parent == tmp_path / "q"


def test_reasons_csv(inbox: Path, tmp_path: Path) -> None:
    original = make_xlsx(inbox / "川越.xlsx")
    record = write_quarantine(original, issues_for(original, *STANDARD), tmp_path / "q")
    raw = record.reasons_csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens the Japanese correctly
    with record.reasons_csv.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["file", "sheet", "cell", "value", "code", "rule", "message", "hint"]
    assert [r["code"] for r in rows] == [c for c, *_ in STANDARD]
    first = rows[0]
    assert (first["file"], first["sheet"], first["cell"], first["value"]) == ("川越.xlsx", SHEET, "D5", "△")
    assert "セルD5" in first["message"] and first["hint"] == codelists.issue_hint("UNKNOWN_ANSWER")
    assert rows[2]["value"] == "'" + INJECTION  # defused for Excel
    assert rows[4]["sheet"] == "" and rows[4]["cell"] == ""


def _sheet_xml(path: Path, sheet_index: int) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read(f"xl/worksheets/sheet{sheet_index}.xml").decode()


def test_reasons_xlsx(inbox: Path, tmp_path: Path) -> None:
    original = make_xlsx(inbox / "川越.xlsx")
    record = write_quarantine(original, issues_for(original, *STANDARD), tmp_path / "q")
    assert record.reasons_xlsx.name == REASONS_XLSX
    wb = load_workbook(record.reasons_xlsx)
    ws = wb.active
    assert "川越.xlsx" in ws["A2"].value
    header = [c.value for c in ws[4]]
    assert header == ["No.", "シート", "セル", "記入内容", "内容", "修正方法", "参考（エラーコード／ルール）"]
    assert ws.max_row == 4 + len(STANDARD)
    body = list(ws.iter_rows(min_row=5, values_only=True))
    # Codes and rule names are in the last column only, never in what a clerk reads.
    assert [r[6] for r in body] == [f"{c}／rule_{c.lower()}" for c, *_ in STANDARD]
    for row in body:
        assert not any(code in (row[4] or "") + (row[5] or "") for code, *_ in STANDARD)
        assert "rule_" not in (row[4] or "") + (row[5] or "")
    assert ws["D7"].value == INJECTION and ws["D7"].data_type == "s"
    assert ws.freeze_panes == "A5"
    assert ws.auto_filter.ref == f"A4:G{4 + len(STANDARD)}"
    _assert_prints_one_page_wide(ws, "$4:$4")
    xml = _sheet_xml(record.reasons_xlsx, 1)
    assert "<f>" not in xml and "<f " not in xml
    assert "HYPERLINK" in xml  # present, as text


def _assert_prints_one_page_wide(ws: Any, title_rows: str) -> None:
    """A4 landscape, fitted to the page width, wrapped, the header repeated, heights set."""
    assert (ws.page_setup.paperSize, ws.page_setup.orientation) == (9, "landscape")
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
    assert ws.print_title_rows == title_rows
    header = int(title_rows.split(":")[0].strip("$"))
    assert sum(ws.column_dimensions[c].width for c in "ABCDEFG") <= 180  # about one A4 width at 85 %
    for row in ws.iter_rows(min_row=header + 1):
        if row[4].value:
            assert row[4].alignment.wrap_text and row[5].alignment.wrap_text
            assert ws.row_dimensions[row[0].row].height >= 18


def test_annotated_copy_marks_offending_cells(inbox: Path, tmp_path: Path, saitama_catalog: Catalog) -> None:
    original = make_xlsx(inbox / "112011_川越市.xlsx")
    record = write_quarantine(
        original, issues_for(original, *STANDARD), tmp_path / "q", catalog=saitama_catalog
    )
    assert record.annotated is not None and record.annotated_note is None
    assert record.annotated.name == "返却用_112011_川越市.xlsx"
    assert record.annotated_cells == 4
    wb = load_workbook(record.annotated)
    ws = wb[SHEET]
    cell = ws["D5"]
    assert cell.fill.fgColor.rgb == ANNOTATION_FILL
    assert cell.comment is not None
    text = cell.comment.text
    assert "セルD5" in text and codelists.issue_hint("UNKNOWN_ANSWER") in text
    assert "UNKNOWN_ANSWER" not in text and "【" not in text and "rule_" not in text  # plain Japanese
    label = saitama_catalog.measure("M001").label
    assert label in text  # the catalog names the measure of the row
    assert "0～100" in ws["D9"].comment.text  # and the range of a target
    assert wb[layout.COVER_TITLE]["C10"].comment is not None
    assert ws["D7"].comment is None and ws["D7"].fill.fgColor.rgb != ANNOTATION_FILL
    assert ws["D5"].value == "△"  # the municipality's answer itself is left as it was
    # The summary sheet comes first and lists every issue, the file-level one included.
    assert wb.sheetnames[0] == SUMMARY_TITLE
    summary = wb[SUMMARY_TITLE]
    messages = [summary.cell(row=r, column=5).value for r in range(4, 4 + len(STANDARD))]
    assert any("問題が多すぎる" in (m or "") for m in messages)
    assert not any("UNKNOWN_ANSWER" in (m or "") for m in messages)
    assert summary.cell(row=4, column=7).value == "UNKNOWN_ANSWER／rule_unknown_answer"
    assert summary.cell(row=6, column=4).value == INJECTION
    _assert_prints_one_page_wide(summary, "$3:$3")
    assert summary.print_area
    xml = _sheet_xml(record.annotated, 1)
    assert "HYPERLINK" in xml and "<f>" not in xml


def test_annotated_copy_reveals_hidden_rows_and_sheets_and_merged_cells(inbox: Path, tmp_path: Path) -> None:
    original = make_xlsx(inbox / "x.xlsx", hidden_row=6, merged="D7:D8")
    issues = issues_for(
        original,
        ("HIDDEN_ROW", SHEET, "D6", "○"),
        ("MERGED_CELLS", SHEET, "D7:D8", None),
        ("HIDDEN_SHEET", "隠し", None, None),
        ("UNKNOWN_ANSWER", SHEET, "D8", "x"),  # inside the merge: noted on its top-left cell
    )
    record = write_quarantine(original, issues, tmp_path / "q")
    wb = load_workbook(record.annotated)
    ws = wb[SHEET]
    assert not ws.row_dimensions[6].hidden and ws["D6"].comment is not None
    merged_text = ws["D7"].comment.text
    assert codelists.issue_hint("MERGED_CELLS") in merged_text  # both issues of the merged cell
    assert codelists.issue_hint("UNKNOWN_ANSWER") in merged_text and "MERGED_CELLS" not in merged_text
    assert wb["隠し"].sheet_state == "visible" and wb["隠し"]["B1"].comment is not None


def test_xlsm_keeps_its_macros(inbox: Path, tmp_path: Path) -> None:
    plain = make_xlsx(tmp_path / "plain.xlsx")
    original = inbox / "川越.xlsm"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(original, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("xl/vbaProject.bin", b"fake vba project")
    record = write_quarantine(original, issues_for(original, *STANDARD[:1]), tmp_path / "q")
    assert record.annotated is not None and record.annotated.name == "返却用_川越.xlsm"
    with zipfile.ZipFile(record.annotated) as archive:
        assert archive.read("xl/vbaProject.bin") == b"fake vba project"
    assert record.original_copy.read_bytes() == original.read_bytes()


@pytest.mark.parametrize(
    ("name", "content", "code", "fragment"),
    [
        ("csv.xlsx", "市町村,回答\n川越市,○\n".encode(), "NOT_WORKBOOK", "NOT_WORKBOOK"),
        (
            "old.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,
            "LEGACY_UNREADABLE",
            "LEGACY_UNREADABLE",
        ),
        ("old2.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "VALIDATION_FAILED", ".xls"),
        ("empty.xlsx", b"", "EMPTY_FILE", "EMPTY_FILE"),
        ("notzip.xlsx", b"PK\x03\x04 truncated", "VALIDATION_FAILED", "Excelブック"),
    ],
)
def test_unreadable_files_get_reasons_but_no_annotated_copy(
    inbox: Path, tmp_path: Path, name: str, content: bytes, code: str, fragment: str
) -> None:
    original = inbox / name
    original.write_bytes(content)
    record = write_quarantine(original, issues_for(original, (code, None, None, None)), tmp_path / "q")
    assert record.annotated is None and fragment in (record.annotated_note or "")
    assert record.original_copy.read_bytes() == content
    assert record.reasons_csv.is_file() and record.reasons_xlsx.is_file()
    assert not list(record.directory.glob("返却用_*"))


def test_zip_bomb_code_is_never_opened(inbox: Path, tmp_path: Path) -> None:
    original = make_xlsx(inbox / "bomb.xlsx")  # readable, but the extractor said it is a bomb
    record = write_quarantine(original, issues_for(original, ("ZIP_BOMB", None, None, None)), tmp_path / "q")
    assert record.annotated is None and "ZIP_BOMB" in (record.annotated_note or "")


def test_idempotent_for_the_same_file(inbox: Path, tmp_path: Path) -> None:
    original = make_xlsx(inbox / "川越.xlsx")
    issues = issues_for(original, *STANDARD)
    first = write_quarantine(original, issues, tmp_path / "q")
    # A folder left from an earlier day is found again by sha and name.
    older = first.directory.with_name("20000101" + first.directory.name[8:])
    os.rename(first.directory, older)
    second = write_quarantine(original, issues, tmp_path / "q")
    third = write_quarantine(original, issues, tmp_path / "q")
    assert second.directory == third.directory == older
    assert [p.name for p in (tmp_path / "q").iterdir()] == [older.name]
    assert sorted(p.name for p in older.iterdir()) == sorted(
        [original.name, REASONS_CSV, REASONS_XLSX, "返却用_川越.xlsx"]
    )
    assert third.original_copy.read_bytes() == original.read_bytes()


def test_same_name_different_content_gets_its_own_folder(inbox: Path, tmp_path: Path) -> None:
    original = make_xlsx(inbox / "川越.xlsx")
    first = write_quarantine(original, issues_for(original, *STANDARD[:1]), tmp_path / "q")
    make_xlsx(original, hidden_row=7)  # a re-submission under the same name
    second = write_quarantine(original, issues_for(original, *STANDARD[:1]), tmp_path / "q")
    assert first.directory != second.directory
    assert first.original_copy.read_bytes() != second.original_copy.read_bytes()


def test_awkward_values_do_not_break_the_outputs(inbox: Path, tmp_path: Path) -> None:
    original = make_xlsx(inbox / "x.xlsx")
    issues = issues_for(
        original,
        ("UNKNOWN_ANSWER", SHEET, "D5", "a\x01b\x0c"),  # control characters Excel cannot store
        ("UNKNOWN_ANSWER", "存在しないシート", "D5", "+1"),
        ("UNKNOWN_ANSWER", SHEET, "not a cell", "@SUM(A1)"),
    )
    record = write_quarantine(original, issues, tmp_path / "q")
    wb = load_workbook(record.reasons_xlsx)
    assert wb.active["D5"].value == "ab" and wb.active["D7"].value == "@SUM(A1)"  # table from row 5
    assert record.annotated is not None and record.annotated_cells == 2  # D5 and B1 of the sheet
