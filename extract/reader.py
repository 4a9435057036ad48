"""Read one returned file into an ExtractedWorkbook, in the current process.

This is what a sandbox worker runs (extract.sandbox); call it directly only on files you trust
or in tests. Order: container checks, sheet scan, then python-calamine on the very bytes that
were checked (the XML parts as the checks inflated them: extract.container.checked_package), and
only when nothing before it objected.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

from extract.container import KIND_XLS, Container, Limits, checked_package, file_facts, open_container
from extract.model import ExtractedWorkbook, RawIssue, RawRow, RawSheet
from extract.sheetscan import PackageError, SheetScan, column_letter, scan_workbook, too_large


def extract_file(path: Path, limits: Limits) -> ExtractedWorkbook:
    """Never raises for a bad file: problems come back as `issues` (sheets then empty)."""
    path = Path(path)
    workbook = ExtractedWorkbook.unread(path)
    try:
        container = open_container(path, limits)
    except OSError as exc:
        workbook.issues.append(
            RawIssue("PARSE_FAILED", detail=f"ファイルを開けません: {type(exc).__name__}", rule="io")
        )
        return workbook
    except Exception as exc:  # a structure the container checks did not foresee
        with contextlib.suppress(OSError):
            facts = file_facts(path)
            workbook.sha256, workbook.file_size, workbook.received_at = facts.sha256, facts.size, facts.mtime
        detail = f"ファイル構造を解析できません（{type(exc).__name__}）"
        workbook.issues.append(RawIssue("CORRUPT_WORKBOOK", detail=detail, rule="container"))
        return workbook
    workbook.sha256 = container.facts.sha256
    workbook.file_size = container.facts.size
    workbook.received_at = container.facts.mtime
    workbook.file_kind = container.kind
    workbook.has_macros = container.has_macros
    if container.issues:
        workbook.issues = container.issues
        return workbook
    try:
        sheets, issues = _read(container, limits)
    except MemoryError:
        sheets, issues = [], [_memory_issue(limits)]
    except Exception as exc:  # an unexpected failure costs this file only
        sheets, issues = [], [RawIssue("PARSE_FAILED", detail=_describe(exc), rule="parser")]
    except BaseException as exc:
        # pyo3 turns a Rust panic into PanicException, a BaseException.
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        sheets, issues = [], [RawIssue("PARSE_FAILED", detail=_describe(exc), rule="parser")]
    if issues:
        workbook.issues = issues
    else:
        workbook.sheets = sheets
    return workbook


def _read(container: Container, limits: Limits) -> tuple[list[RawSheet], list[RawIssue]]:
    scans: dict[str, SheetScan] = {}
    if container.kind != KIND_XLS:
        assert container.workbook_part is not None
        try:
            scanned = scan_workbook(container.parts, container.workbook_part, limits)
        except PackageError as exc:
            return [], [RawIssue("CORRUPT_WORKBOOK", detail=str(exc), rule="package")]
        oversized = [issue for scan in scanned if (issue := too_large(scan, limits))]
        if oversized:
            return [], oversized  # never handed to the parser
        for scan in scanned:
            scans.setdefault(scan.name, scan)
        container.data = checked_package(container)
        container.parts = {}  # free the XML before the parser allocates its own copy
    return _read_values(container, scans, limits)


def _read_values(
    container: Container, scans: dict[str, SheetScan], limits: Limits
) -> tuple[list[RawSheet], list[RawIssue]]:
    from python_calamine import (
        CalamineError,
        CalamineWorkbook,
        PasswordError,
        SheetTypeEnum,
        SheetVisibleEnum,
    )

    legacy = container.kind == KIND_XLS
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(container.data))
    except PasswordError:
        return [], [RawIssue("PASSWORD_PROTECTED", detail="暗号化されたブック", rule="encrypted")]
    except CalamineError as exc:
        return [], [_unreadable(exc, legacy)]
    container.data = b""
    sheets: list[RawSheet] = []
    with book:
        for index, meta in enumerate(book.sheets_metadata):
            scan = scans.get(meta.name)
            visible = scan.visible if scan else meta.visible == SheetVisibleEnum.Visible
            if meta.typ != SheetTypeEnum.WorkSheet:
                # Chart and dialog sheets hold no answers; listed so the sheet set stays complete.
                sheets.append(RawSheet(title=meta.name, key=None, visible=visible, rows=[]))
                continue
            if not legacy and scan is None:
                # The parser found a sheet the scan did not: its size was never checked.
                detail = f"シート「{meta.name}」の構造を確認できません"
                return [], [RawIssue("CORRUPT_WORKBOOK", sheet=meta.name, detail=detail, rule="package")]
            try:
                data = book.get_sheet_by_index(index)
            except PasswordError:
                return [], [RawIssue("PASSWORD_PROTECTED", detail="暗号化されたブック", rule="encrypted")]
            except CalamineError as exc:
                return [], [_unreadable(exc, legacy, meta.name)]
            if legacy:
                # No XML to scan in a .xls: check the extent calamine found before converting it.
                end = data.end
                rows, cols = (end[0] + 1, end[1] + 1) if end else (0, 0)
                if rows > limits.max_rows or cols > limits.max_cols:
                    detail = f"{rows:,}行×{cols:,}列、上限 {limits.max_rows:,}行×{limits.max_cols:,}列"
                    return [], [
                        RawIssue("SHEET_TOO_LARGE", sheet=meta.name, detail=detail, rule="max_rows_cols")
                    ]
            sheets.append(_raw_sheet(meta.name, visible, data, scan, legacy))
    return sheets, []


def _raw_sheet(title: str, visible: bool, data: Any, scan: SheetScan | None, legacy: bool) -> RawSheet:
    start = data.start
    top, left = start if start else (0, 0)
    hidden_rows = scan.hidden_rows if scan else set()
    rows: list[RawRow] = []
    sheet_key: str | None = None
    values_by_row = data.to_python() if start else []
    width = max(map(len, values_by_row), default=0)
    # skip_empty_area=True starts at the first used cell; positions are offset back from there.
    # Column A, the key column, is read apart from the cells (only when the area starts there).
    keyed = left == 0
    letters = [column_letter(left + j + 1) for j in range(1 if keyed else 0, width)]
    for i, values in enumerate(values_by_row):
        # The row's cells without A; empty cells come back as "" (None is kept out too).
        if keyed:
            first = values[0] if values else ""
            key = (first.strip() or None) if type(first) is str else _key(first)
            cells: dict[str, Any] = {
                c: v for c, v in zip(letters, values[1:], strict=False) if v != "" and v is not None
            }
        else:
            key = None
            cells = {c: v for c, v in zip(letters, values, strict=False) if v != "" and v is not None}
        if key is None and not cells:
            continue
        row_no = top + i + 1
        if row_no == 1:
            sheet_key = key
        rows.append(RawRow(row_no, key, cells, row_no in hidden_rows))
    sheet = RawSheet(title=title, key=sheet_key, visible=visible, rows=rows)
    if scan is not None:
        sheet.dimension = scan.dimension
        sheet.merged_ranges = list(scan.merged_ranges)
        sheet.formula_without_value = list(scan.formula_without_value)
        sheet.formula_text = dict(scan.formula_text)
        sheet.error_cells = dict(scan.error_cells)
        sheet.percent_cells = set(scan.percent_cells)
    elif legacy:
        merged = data.merged_cell_ranges or []
        sheet.merged_ranges = [
            f"{column_letter(c0 + 1)}{r0 + 1}:{column_letter(c1 + 1)}{r1 + 1}"
            for (r0, c0), (r1, c1) in merged
        ]
        if start:
            end = data.end
            sheet.dimension = f"{column_letter(left + 1)}{top + 1}:{column_letter(end[1] + 1)}{end[0] + 1}"
    return sheet


def _key(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text.strip() or None


def _unreadable(exc: BaseException, legacy: bool, sheet: str | None = None) -> RawIssue:
    text = str(exc)
    if "password" in text.lower() or "encrypt" in text.lower():
        return RawIssue("PASSWORD_PROTECTED", sheet=sheet, detail="暗号化されたブック", rule="encrypted")
    code = "LEGACY_UNREADABLE" if legacy else "CORRUPT_WORKBOOK"
    return RawIssue(code, sheet=sheet, detail=_describe(exc), rule="parser")


def _describe(exc: BaseException) -> str:
    """Japanese, naming the error class only: parser messages are English and technical."""
    return f"Excelファイルの解析に失敗しました（{type(exc).__name__}）"


def _memory_issue(limits: Limits) -> RawIssue:
    return RawIssue(
        "PARSE_FAILED",
        detail=f"メモリ上限 {limits.memory_bytes // (1024 * 1024):,}MB を超えました",
        rule="memory_bytes",
    )
