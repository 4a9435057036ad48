"""The submissions sheet: each municipality's latest submission and its status."""

from __future__ import annotations

import datetime as dt

from openpyxl.worksheet.worksheet import Worksheet

from load.export_sheets.cells import put, row_height, set_widths, wrapped_height
from load.export_sheets.pages import setup_print
from load.export_sheets.style import (
    BOX,
    CENTER,
    NONE_MARK,
    TABLE_BOLD,
    TABLE_FONT,
    TABLE_LINE,
    TABLE_WIDTH,
    WRAP,
)
from load.export_sheets.tables import Context, finish_table, header_row, title_block
from load.export_sheets.texts import STATUS_ORDER, status_label

SUBMISSION_HEADER_ROW = 4
SUBMISSION_WIDTHS = (7.0, 8.0, 11.0, 40.0, 16.0, 54.0)


def submission_rows(ctx: Context) -> list[tuple[str, str, str, str | None, dt.datetime | None, str | None]]:
    """未提出 first, then 差戻し (with the reason), then 再提出 and 受理; by code within each."""
    rows = [
        (
            status_label(s.status),
            s.municipality_code,
            s.municipality_name,
            s.file_name,
            s.received_at,
            s.reason,
        )
        for s in ctx.data.submissions
    ]
    return sorted(rows, key=lambda r: (STATUS_ORDER.get(r[0], len(STATUS_ORDER)), r[1]))


def write_submissions(ws: Worksheet, ctx: Context) -> None:
    rows = submission_rows(ctx)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r[0]] = counts.get(r[0], 0) + 1
    summary = "　".join(
        f"{label} {counts[label]}市町村" for label in sorted(counts, key=lambda s: STATUS_ORDER.get(s, 9))
    )
    title_block(
        ws,
        ctx,
        f"調査票の提出状況　{ctx.year_label}　{ctx.data.prefecture_name}",
        f"{summary}（計 {len(rows)}市町村）",
    )
    set_widths(ws, SUBMISSION_WIDTHS)
    header_row(
        ws,
        SUBMISSION_HEADER_ROW,
        ("状況", "コード", "市町村名", "最新の提出ファイル", "受信日時", "差戻し理由"),
        height=20,
    )
    row = SUBMISSION_HEADER_ROW + 1
    for status, code, name, file_name, received_at, reason in rows:
        reason_text = reason if status == "差戻し" else (reason or "")
        values = (status, code, name, file_name or NONE_MARK, received_at, reason_text)
        for col, value in enumerate(values, start=1):
            put(
                ws,
                row,
                col,
                value,
                font=TABLE_BOLD if col == 1 and status in ("未提出", "差戻し") else TABLE_FONT,
                align=CENTER if col in (1, 2) else WRAP,
                border=BOX,
                number_format="yyyy/mm/dd hh:mm" if col == 5 else None,
            )
        row_height(
            ws,
            row,
            wrapped_height(
                (
                    (file_name or "", SUBMISSION_WIDTHS[3] * TABLE_WIDTH),
                    (reason_text or "", SUBMISSION_WIDTHS[5] * TABLE_WIDTH),
                    (name, SUBMISSION_WIDTHS[2] * TABLE_WIDTH),
                ),
                line_height=TABLE_LINE,
            ),
        )
        row += 1
    finish_table(ws, SUBMISSION_HEADER_ROW, row - 1, len(SUBMISSION_WIDTHS), f"A{SUBMISSION_HEADER_ROW + 1}")
    setup_print(ws, f"1:{SUBMISSION_HEADER_ROW}", widths=SUBMISSION_WIDTHS, header=ctx.provisional_note)
