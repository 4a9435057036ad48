"""The list of returned (rejected) files and their reasons."""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from load.export_data import ReturnedRow
from load.export_sheets.cells import put, row_height, set_widths, wrapped_height
from load.export_sheets.pages import setup_print
from load.export_sheets.sections import _nested_blocks
from load.export_sheets.style import (
    BOX,
    CENTER,
    FONT_NAME,
    NO_WRAP,
    NONE_MARK,
    TABLE_FONT,
    TABLE_LINE,
    TABLE_WIDTH,
    WRAP,
)
from load.export_sheets.tables import Context, finish_table, header_row, title_block

RETURNED_HEADER_ROW = 4
RETURNED_HEADERS = (
    "市町村コード",
    "市町村名",
    "提出ファイル",
    "受信日時",
    "場所（シート・セル）",
    "内容",
    "修正方法",
    "現在の状況",
    "参考（エラーコード／ルール）",
)
RETURNED_WIDTHS = (8.0, 9.0, 26.0, 16.0, 14.0, 46.0, 30.0, 8.0, 16.0)


def returned_values(r: ReturnedRow) -> tuple[object, ...]:
    """One row of the 差戻し list, as the export's sheet and 差戻し一覧.xlsx show it."""
    place = "　".join(p for p in (r.sheet, r.cell) if p) or "（ファイル全体）"
    reference = "／".join(p for p in (r.code, r.rule) if p)
    return (
        r.municipality_code or NONE_MARK,
        r.municipality_name or "（不明）",
        r.file_name,
        r.received_at,
        place,
        r.message or "",
        r.hint or "",
        r.current_status or NONE_MARK,
        reference,
    )


def write_returned_table(ws: Worksheet, rows: Sequence[ReturnedRow], header: int) -> tuple[int, list[int]]:
    """The 差戻し list from row `header`; returns the last row and the first row of each file."""
    header_row(ws, header, RETURNED_HEADERS, height=32)
    set_widths(ws, RETURNED_WIDTHS)
    row = header + 1
    starts: list[int] = []
    previous = None
    small = Font(name=FONT_NAME, size=8, color="666666")
    for r in rows:
        if r.sha256 != previous:
            starts.append(row)
            previous = r.sha256
        values = returned_values(r)
        for col, value in enumerate(values, start=1):
            put(
                ws,
                row,
                col,
                value,
                font=small if col == len(values) else TABLE_FONT,
                align=CENTER if col in (1, 8) else WRAP,
                border=BOX,
                number_format="yyyy/mm/dd hh:mm" if col == 4 else None,
            )
        texts = [
            (str(v), w * TABLE_WIDTH)
            for v, w in zip(values, RETURNED_WIDTHS, strict=True)
            if isinstance(v, str)
        ]
        row_height(ws, row, wrapped_height(texts, line_height=TABLE_LINE))
        row += 1
    return row - 1, starts


def write_returned(ws: Worksheet, ctx: Context) -> None:
    """Every quarantined file of the survey year (and those whose year could not be read)."""
    rows = ctx.data.returned
    files = len({r.sha256 for r in rows})
    title_block(
        ws,
        ctx,
        f"差戻し一覧（返却した調査票と理由）　{ctx.year_label}　{ctx.data.prefecture_name}",
        f"差戻し {files}ファイル・{len(rows)}件"
        "（現在の状況が「再提出」「受理」の市町村は、その後の提出が受理済み）",
    )
    last, starts = write_returned_table(ws, rows, RETURNED_HEADER_ROW)
    if not rows:
        put(ws, RETURNED_HEADER_ROW + 1, 1, "差戻しはありません。", align=NO_WRAP)
        last = RETURNED_HEADER_ROW + 1
    finish_table(ws, RETURNED_HEADER_ROW, last, len(RETURNED_WIDTHS), f"A{RETURNED_HEADER_ROW + 1}")
    setup_print(
        ws,
        f"1:{RETURNED_HEADER_ROW}",
        widths=RETURNED_WIDTHS,
        blocks=_nested_blocks(last, starts, []),
        header=ctx.provisional_note,
    )
