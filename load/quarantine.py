"""Quarantine: set a returned file aside with its reasons, for the analyst to send back.

quarantine_dir/<YYYYmmdd>_<sha8>_<original name>/
    <original name>            the file byte-for-byte (copied; the inbox file is never touched)
    reasons.csv                UTF-8 with BOM: file, sheet, cell, value, code, rule, message, hint
    理由一覧.xlsx               the same in Japanese columns, filterable
    返却用_<stem>.xlsx|.xlsm    annotated copy: offending cells filled red with a comment saying
                               what is wrong and what to write instead (only for readable workbooks)

Idempotent: the same file (same sha256 and name) always lands in the same folder, whose
contents are rewritten. Names are the file's display form (kokuho.files.display_name: cp932 bytes
decoded, undecodable bytes and control characters escaped), cut in UTF-8 bytes so that every folder
and file name fits in the file system's 255 bytes.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kokuho import layout
from kokuho.catalog import year_label
from kokuho.csvsafe import csv_safe
from kokuho.files import NAME_MAX_BYTES, display_name, fit_name, sha256_of

if TYPE_CHECKING:
    from kokuho.catalog import Catalog

__all__ = ["QuarantineRecord", "write_quarantine"]

REASONS_CSV = "reasons.csv"
REASONS_XLSX = "理由一覧.xlsx"
ANNOTATED_PREFIX = "返却用_"
CSV_COLUMNS = ["file", "sheet", "cell", "value", "code", "rule", "message", "hint"]
# Japanese header, source column, width (characters) of the issue table in 理由一覧.xlsx and the
# 確認事項 sheet: what a clerk reads first; the codes and rule names last, in a column of their own.
XLSX_COLUMNS: list[tuple[str, str, int]] = [
    ("No.", "no", 5),
    ("シート", "sheet", 16),
    ("セル", "cell", 8),
    ("記入内容", "value", 14),
    ("内容", "message", 58),
    ("修正方法", "hint", 42),
    ("参考（エラーコード／ルール）", "reference", 24),
]
ANNOTATION_FILL = "FFFF7C80"  # red: "fix this cell"
COMMENT_AUTHOR = "kokuho-survey"
# Issues that mean openpyxl must not (or cannot) open the file.
UNREADABLE_CODES = frozenset(
    {
        "EMPTY_FILE",
        "NOT_WORKBOOK",
        "CORRUPT_WORKBOOK",
        "PASSWORD_PROTECTED",
        "ZIP_BOMB",
        "XML_ENTITY",
        "SHEET_TOO_LARGE",
        "PARSE_FAILED",
        "PARSE_TIMEOUT",
        "LEGACY_UNREADABLE",
    }
)
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024  # before openpyxl touches a zip
MAX_COMPRESSION_RATIO = 200
_MAX_DIR_NAME_BYTES = 200  # file systems allow 255 bytes per name; keep room for the prefix
_ILLEGAL_XML_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FIRST_ADDRESS_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]+)")


@dataclass
class QuarantineRecord:
    directory: Path
    original_copy: Path
    sha256: str
    reasons_csv: Path
    reasons_xlsx: Path
    annotated: Path | None  # None when no annotated copy could be made
    annotated_note: str | None  # why there is no annotated copy (Japanese), else None
    issue_count: int
    annotated_cells: int = 0


def write_quarantine(
    original: Path, issues: pd.DataFrame, quarantine_dir: Path, *, catalog: Catalog | None = None
) -> QuarantineRecord:
    """Copy `original` into its quarantine folder and write the reasons and the annotated copy.

    `issues` are the file_issues rows of this file (any stage). `catalog`, when given, lets the
    comments name the measure or target of the offending row.
    """
    original = Path(original)
    quarantine_dir = Path(quarantine_dir)
    sha = _sha256(original)
    name = _copy_name(original.name)
    directory = _folder(quarantine_dir, name, sha)
    directory.mkdir(parents=True, exist_ok=True)

    copy = directory / name
    if not (copy.is_file() and _sha256(copy) == sha):
        _atomic(copy, lambda tmp: _copy_file(original, tmp))
        if _sha256(copy) != sha:  # never keep a copy that is not the original
            copy.unlink(missing_ok=True)
            raise OSError(f"隔離用の写しが元のファイルと一致しません: {display_name(original.name)}")

    rows = _rows(issues, display_name(original.name))
    reasons_csv = directory / REASONS_CSV
    _atomic(reasons_csv, lambda tmp: _write_csv(tmp, rows))
    reasons_xlsx = directory / REASONS_XLSX
    _atomic(reasons_xlsx, lambda tmp: _write_reasons_xlsx(tmp, rows))

    annotated, note, count = _annotate(copy, rows, directory, catalog)
    return QuarantineRecord(
        directory=directory,
        original_copy=copy,
        sha256=sha,
        reasons_csv=reasons_csv,
        reasons_xlsx=reasons_xlsx,
        annotated=annotated,
        annotated_note=note,
        issue_count=len(rows),
        annotated_cells=count,
    )


# --------------------------------------------------------------------------------------------
# Folder and files
# --------------------------------------------------------------------------------------------


_sha256 = sha256_of


def _copy_name(raw_name: str) -> str:
    """The name of the copy: the file's display name (valid text whatever its bytes), short
    enough that `返却用_<stem>.xlsx` beside it still fits in one file name."""
    reserve = len(ANNOTATED_PREFIX.encode("utf-8")) + len(".xlsx")
    return fit_name(display_name(raw_name), NAME_MAX_BYTES - reserve)


def _copy_file(source: Path, target: str) -> None:
    """Copy bytes and times without following a link (the inbox file may have been swapped)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(source, flags)
    with os.fdopen(fd, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        times = os.fstat(src.fileno())
    os.utime(target, ns=(times.st_atime_ns, times.st_mtime_ns))


def _folder(quarantine_dir: Path, name: str, sha: str) -> Path:
    """The file's folder: an existing one for the same sha and name, else today's.
    `name` is the copy's name (display form, already within the limits)."""
    tail = f"_{sha[:8]}_{_short_name(name)}"
    if quarantine_dir.is_dir():
        for existing in sorted(quarantine_dir.iterdir()):
            candidate = existing / name
            if existing.name.endswith(tail) and candidate.is_file() and _sha256(candidate) == sha:
                return existing
    return quarantine_dir / f"{datetime.now():%Y%m%d}{tail}"


def _short_name(name: str) -> str:
    """`name` cut (in UTF-8 bytes, never mid-character) so that the folder name fits."""
    return fit_name(display_name(name), _MAX_DIR_NAME_BYTES - 20)


def _atomic(path: Path, write: Callable[[str], object]) -> None:
    """Write through a temporary file in the same folder, then rename: never a half file."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _text(value: object) -> str:
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def _rows(issues: pd.DataFrame, file_name: str) -> list[dict[str, str]]:
    rows = []
    for record in issues.to_dict("records"):
        row = {
            "file": _text(record.get("file_name")) or file_name,
            **{c: _text(record.get(c)) for c in CSV_COLUMNS if c != "file"},
        }
        rows.append(row)
    return rows


def _write_csv(path: str, rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: csv_safe(v) for k, v in row.items()})


def _set_text(cell: Any, text: str) -> None:
    """Store text as a string cell, never a formula (openpyxl reads a leading "=" as one)."""
    text = _ILLEGAL_XML_RE.sub("", text)
    if not text:
        cell.value = None
        return
    cell.value = text
    cell.data_type = "s"


def _reference(row: dict[str, str]) -> str:
    """UNKNOWN_ANSWER／answer_symbol_known: for whoever maintains the survey, not in the message."""
    return "／".join(part for part in (row["code"], row["rule"]) if part)


def _issue_table(ws: Any, rows: list[dict[str, str]], header_row: int) -> int:
    """The issues as a wrapped table from header_row, with row heights for the wrapped text;
    returns the last row written."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    from load.export_sheets import LINE_HEIGHT, wrapped_lines

    font = Font(name=SHEET_FONT, size=10)
    bold = Font(name=SHEET_FONT, size=10, bold=True)
    small = Font(name=SHEET_FONT, size=8, color="666666")
    wrap = Alignment(wrap_text=True, vertical="top")
    center = Alignment(wrap_text=True, vertical="center", horizontal="center")
    thin = Side(style="thin", color="808080")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    fill = PatternFill("solid", fgColor="FFD9E1F2")
    for col, (header, _, width) in enumerate(XLSX_COLUMNS, start=1):
        cell = ws.cell(row=header_row, column=col)
        _set_text(cell, header)
        cell.font, cell.fill, cell.alignment, cell.border = bold, fill, center, box
        ws.column_dimensions[cell.column_letter].width = width
    ws.row_dimensions[header_row].height = 2 * LINE_HEIGHT + 3
    r = header_row
    for r, row in enumerate(rows, start=header_row + 1):
        values = {**row, "no": str(r - header_row), "reference": _reference(row)}
        lines = 1
        for col, (_, source, width) in enumerate(XLSX_COLUMNS, start=1):
            cell = ws.cell(row=r, column=col)
            _set_text(cell, values[source])
            cell.font = small if source == "reference" else font
            cell.alignment, cell.border = wrap, box
            scale = 10 / 8 if source == "reference" else 1.0
            lines = max(lines, wrapped_lines(values[source], width * scale))
        ws.row_dimensions[r].height = lines * LINE_HEIGHT + 3
    return r


def _print_setup(ws: Any, title_rows: str) -> None:
    """A4 landscape, one page wide, as many pages down as needed, the table header repeated."""
    from openpyxl.worksheet.page import PageMargins

    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = title_rows
    ws.print_options.horizontalCentered = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.5, header=0.2, footer=0.25)
    ws.oddFooter.center.text = "&P / &N"


SHEET_FONT = "游ゴシック"


def _write_reasons_xlsx(path: str, rows: list[dict[str, str]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "理由一覧"
    files = sorted({r["file"] for r in rows if r["file"]})
    _set_text(ws.cell(row=1, column=1), "差戻し理由一覧")
    ws.cell(row=1, column=1).font = Font(name=SHEET_FONT, size=14, bold=True)
    _set_text(ws.cell(row=2, column=1), f"ファイル：{'、'.join(files)}　（{len(rows)}件）")
    ws.cell(row=2, column=1).font = Font(name=SHEET_FONT, size=10, bold=True)
    _set_text(ws.cell(row=3, column=1), "次の点を修正して、調査票を再提出してください。")
    ws.cell(row=3, column=1).font = Font(name=SHEET_FONT, size=10)
    last = _issue_table(ws, rows, REASONS_HEADER_ROW)
    ws.freeze_panes = f"A{REASONS_HEADER_ROW + 1}"
    end = ws.cell(row=REASONS_HEADER_ROW, column=len(XLSX_COLUMNS)).column_letter
    ws.auto_filter.ref = f"A{REASONS_HEADER_ROW}:{end}{last}"
    _print_setup(ws, f"{REASONS_HEADER_ROW}:{REASONS_HEADER_ROW}")
    wb.save(path)


REASONS_HEADER_ROW = 4


# --------------------------------------------------------------------------------------------
# Annotated copy
# --------------------------------------------------------------------------------------------


def _readable(copy: Path, rows: list[dict[str, str]]) -> tuple[bool, str | None, bool]:
    """(can openpyxl open it, why not, has macros) — decided before parsing anything."""
    blocking = sorted({r["code"] for r in rows} & UNREADABLE_CODES)
    if blocking:
        return (
            False,
            f"ブックとして安全に開けないため、注釈付きの写しは作成していません（{', '.join(blocking)}）。",
            False,
        )
    if not zipfile.is_zipfile(copy):
        kind = "旧形式（.xls）のブック" if copy.suffix.lower() == ".xls" else "Excelブック（.xlsx）ではない"
        return False, f"{kind}ため、注釈付きの写しは作成していません。", False
    try:
        with zipfile.ZipFile(copy) as archive:
            infos = archive.infolist()
            names = {i.filename for i in infos}
            total = sum(i.file_size for i in infos)
            packed = sum(i.compress_size for i in infos) or 1
    except (zipfile.BadZipFile, OSError) as exc:
        return False, f"ファイルが壊れているため、注釈付きの写しは作成していません（{exc}）。", False
    if "xl/workbook.xml" not in names:
        return False, "Excelブックの構成になっていないため、注釈付きの写しは作成していません。", False
    if total > MAX_UNCOMPRESSED_BYTES or total / packed > MAX_COMPRESSION_RATIO:
        return False, "展開後の大きさが上限を超えるため、注釈付きの写しは作成していません。", False
    return True, None, "xl/vbaProject.bin" in names


def _annotate(
    copy: Path, rows: list[dict[str, str]], directory: Path, catalog: Catalog | None
) -> tuple[Path | None, str | None, int]:
    readable, note, has_vba = _readable(copy, rows)
    suffix = ".xlsm" if has_vba else ".xlsx"
    target = directory / f"{ANNOTATED_PREFIX}{Path(copy.name).stem}{suffix}"
    if not readable:
        target.unlink(missing_ok=True)
        return None, note, 0
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unsupported extensions are dropped from the copy
            wb = load_workbook(copy, keep_vba=has_vba, keep_links=False, rich_text=False)
    except Exception as exc:  # any parser failure: the quarantine itself must still succeed
        target.unlink(missing_ok=True)
        return (
            None,
            f"ブックを開けないため、注釈付きの写しは作成していません（{type(exc).__name__}: {exc}）。",
            0,
        )

    count = _mark_cells(wb, rows, catalog)
    _add_summary_sheet(wb, rows)
    try:
        _atomic(target, wb.save)
    except Exception as exc:  # a workbook openpyxl reads but cannot write back
        return None, f"注釈付きの写しを保存できませんでした（{type(exc).__name__}: {exc}）。", 0
    return target, None, count


def _first_address(cell: str) -> str | None:
    match = _FIRST_ADDRESS_RE.match(cell.strip()) if cell else None
    return f"{match[1].upper()}{match[2]}" if match else None


def _grouped(rows: list[dict[str, str]]) -> Iterator[tuple[str, str, list[dict[str, str]]]]:
    """(sheet, address, issues) per annotated cell, in first-seen order."""
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        if not row["sheet"]:
            continue
        address = _first_address(row["cell"]) or "B1"  # a sheet-level issue: note it at the top
        groups.setdefault((row["sheet"], address), []).append(row)
    for (sheet, address), items in groups.items():
        yield sheet, address, items


def _mark_cells(wb: Any, rows: list[dict[str, str]], catalog: Catalog | None) -> int:
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    fill = PatternFill("solid", fgColor=ANNOTATION_FILL)
    count = 0
    for sheet_name, address, items in _grouped(rows):
        if sheet_name not in wb.sheetnames:
            continue
        ws = wb[sheet_name]
        codes = {i["code"] for i in items}
        if "HIDDEN_SHEET" in codes:
            ws.sheet_state = "visible"
        cell = _writable_cell(ws, address)
        if "HIDDEN_ROW" in codes:
            ws.row_dimensions[cell.row].hidden = False
        lines = []
        context = _row_context(ws, cell.row, catalog)
        if context:
            lines.append(context)
        for item in items:  # plain Japanese: the codes are on the 確認事項 sheet's last column
            lines.append(f"・{item['message']}")
            if item["hint"]:
                lines.append(f"→ {item['hint']}")
        text = _ILLEGAL_XML_RE.sub("", "\n".join(lines))
        if cell.comment is not None and cell.comment.text:
            text = f"{cell.comment.text}\n---\n{text}"
        comment = Comment(text, COMMENT_AUTHOR)
        comment.width = 360
        comment.height = min(60 + 40 * len(items), 400)
        cell.comment = comment
        cell.fill = fill
        count += 1
    return count


def _writable_cell(ws: Any, address: str) -> Any:
    """The cell itself, or the top-left cell of the merged range that covers it."""
    cell = ws[address]
    if type(cell).__name__ == "MergedCell":
        for merged in ws.merged_cells.ranges:
            if address in merged:
                return ws.cell(row=merged.min_row, column=merged.min_col)
    return cell


def _row_context(ws: Any, row: int, catalog: Catalog | None) -> str | None:
    """'取組：コンビニ収納（M002）' from the row key and the catalog, when both are there."""
    if catalog is None:
        return None
    key = ws[f"{layout.KEY_COLUMN}{row}"].value
    if not isinstance(key, str):
        return None
    key = key.strip()
    if key.startswith(layout.MEASURE_PREFIX):
        measure_id = key[len(layout.MEASURE_PREFIX) :]
        try:
            measure = catalog.measure(measure_id)
        except KeyError:
            return f"取組ID {measure_id} は今年度の調査項目にありません。"
        return f"取組：{measure.label}（{measure.id}）"
    parsed_target = layout.parse_target_key(key)
    if parsed_target:
        for item in catalog.numeric_targets:
            if item.id == parsed_target[0]:
                return (
                    f"目標：{item.label}（{parsed_target[1]}年度）。{item.minimum:g}～{item.maximum:g}の"
                    "百分率、「95％以上」「前年度以上」「【未設定】」のいずれかで記入してください。"
                )
    parsed_item = layout.parse_item_key(key)
    if parsed_item:
        item_id, year = parsed_item
        try:
            asked = catalog.measure(item_id)
        except KeyError:
            return f"項目ID {item_id} は今年度の調査項目にありません。"
        when = "" if asked.year_offsets == (0,) else f"（{year_label(year, asked.year_label)}）"
        unit = f"、単位：{asked.unit}" if asked.unit else ""
        return f"項目：{asked.label}{when}（{asked.id}{unit}）"
    parsed_own = layout.parse_own_key(key)
    if parsed_own:
        return f"その他（独自の取組）表 {parsed_own[0]}：取組内容と予算事業名を記入してください。"
    return None


SUMMARY_TITLE = "確認事項"


def _add_summary_sheet(wb: Any, rows: list[dict[str, str]]) -> None:
    """A first sheet listing every issue, file-level ones included, for whoever opens the copy."""
    from openpyxl.styles import Font

    title = SUMMARY_TITLE
    if title in wb.sheetnames:
        with contextlib.suppress(Exception):
            wb.remove(wb[title])
    ws = wb.create_sheet(title, 0)
    ws.sheet_properties.tabColor = "FF0000"
    _set_text(
        ws.cell(row=1, column=1),
        "この調査票には次の不備があります。赤色のセルのコメントも確認し、修正して再提出してください。",
    )
    ws.cell(row=1, column=1).font = Font(name=SHEET_FONT, size=11, bold=True, color="C00000")
    last = _issue_table(ws, rows, SUMMARY_HEADER_ROW)
    ws.freeze_panes = f"A{SUMMARY_HEADER_ROW + 1}"
    _print_setup(ws, f"{SUMMARY_HEADER_ROW}:{SUMMARY_HEADER_ROW}")
    ws.print_area = f"A1:{ws.cell(row=1, column=len(XLSX_COLUMNS)).column_letter}{last}"
    for sheet in wb.worksheets:  # only the summary is selected, so Excel opens on it
        sheet.sheet_view.tabSelected = sheet is ws
    wb.active = 0


SUMMARY_HEADER_ROW = 3
