"""The matrix: municipalities down, measures across, a mark where implemented; its pages across."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break, ColBreak
from openpyxl.worksheet.worksheet import Worksheet

from load.export_data import MeasureRow, SummaryData
from load.export_sheets.cells import cell_of, put, put_cells, row_height, set_widths
from load.export_sheets.pages import A3_PORTRAIT, setup_print
from load.export_sheets.style import (
    BASE,
    BOLD,
    BOX,
    CENTER,
    CHECK_MARK,
    HEADER_ALIGN,
    HEADER_FILL,
    MARK_FONT,
    MATRIX_MARK,
    NO_WRAP,
    SMALL,
    TOTAL_FILL,
    VERTICAL_LABEL,
)
from load.export_sheets.tables import Context, title_block

MATRIX_ID_ROW = 4
MATRIX_LABEL_ROW = 5
MATRIX_FIRST_COL = 4  # code, name, answered, then one column per measure
TOTAL_LABEL = "合計（実施市町村数）"


def write_matrix(ws: Worksheet, ctx: Context) -> None:
    """Municipality × measure (○), sorted by code, with a totals row equal to the counts."""
    data = ctx.data
    title_block(
        ws,
        ctx,
        f"市町村別の取組実施状況　{ctx.year_label}　{data.prefecture_name}",
        "○：実施（予定）　空欄：未実施または未回答",
        "単位：市町村",
    )
    measures = data.measures
    first = MATRIX_FIRST_COL
    _matrix_header(ws, measures)
    row, counts = _matrix_rows(ws, data, [m.measure_id for m in measures])
    _matrix_totals(ws, row, [counts[m.measure_id] for m in measures])
    ws.freeze_panes = f"{get_column_letter(first)}{MATRIX_LABEL_ROW + 1}"
    ws.auto_filter.ref = f"A{MATRIX_LABEL_ROW}:{get_column_letter(len(measures) + first - 1)}{row - 1}"
    # On paper: A3 portrait at full size (8-pt labels), a prefecture's municipalities on one page
    # down; a new page across for each section, a section wider than a page split at subsection
    # boundaries; codes/names repeat on each.
    ws.col_breaks = ColBreak(brk=[Break(id=col) for col in matrix_column_breaks(measures)])
    setup_print(
        ws,
        f"{MATRIX_ID_ROW}:{MATRIX_LABEL_ROW}",
        widths=(*MATRIX_TITLE_WIDTHS, *([MATRIX_MEASURE_WIDTH] * MATRIX_PAGE_COLUMNS)),
        paper=A3_PORTRAIT,
        title_cols="A:C",
        header=ctx.provisional_note,
        fit_to_width=False,
    )


def _matrix_header(ws: Worksheet, measures: Sequence[MeasureRow]) -> None:
    """Column widths and the two header rows: titles of A:C, then each measure's ID and label."""
    first = MATRIX_FIRST_COL
    set_widths(ws, (*MATRIX_TITLE_WIDTHS, *([MATRIX_MEASURE_WIDTH] * len(measures))))
    for col, (top, bottom) in enumerate(
        (("取組ID", "市町村コード"), ("", "市町村名"), ("", "回答")), start=1
    ):
        put(ws, MATRIX_ID_ROW, col, top, font=BOLD, align=HEADER_ALIGN, fill=HEADER_FILL, border=BOX)
        put(ws, MATRIX_LABEL_ROW, col, bottom, font=BOLD, align=HEADER_ALIGN, fill=HEADER_FILL, border=BOX)
    for index, m in enumerate(measures, start=first):
        put(
            ws,
            MATRIX_ID_ROW,
            index,
            m.measure_id,
            font=SMALL,
            align=VERTICAL_LABEL,
            fill=HEADER_FILL,
            border=BOX,
        )
        put(
            ws,
            MATRIX_LABEL_ROW,
            index,
            m.label,
            font=SMALL,
            align=VERTICAL_LABEL,
            fill=HEADER_FILL,
            border=BOX,
        )
    row_height(ws, MATRIX_ID_ROW, 36)
    row_height(ws, MATRIX_LABEL_ROW, 160)


def _matrix_rows(ws: Worksheet, data: SummaryData, measure_ids: list[str]) -> tuple[int, Counter[str]]:
    """One row per municipality, a mark where it implements the measure; (the row after the last,
    the count of municipalities per measure)."""
    first = MATRIX_FIRST_COL
    row = MATRIX_LABEL_ROW + 1
    counts: Counter[str] = Counter()
    mark, blank = (
        cell_of(ws, value, font=MARK_FONT, align=MATRIX_MARK, border=BOX) for value in (CHECK_MARK, None)
    )
    none: set[str] = set()
    # One height for every municipality row, as the sheet's default (no attribute on 1,741 rows).
    ws.sheet_format.defaultRowHeight = MATRIX_ROW_HEIGHT
    ws.sheet_format.customHeight = True
    for code, name in data.matrix_municipalities:
        answered = code in data.matrix_answered
        put(ws, row, 1, code, align=CENTER, border=BOX)
        put(ws, row, 2, name, align=NO_WRAP, border=BOX)
        put(
            ws,
            row,
            3,
            "回答あり" if answered else "未回答",
            font=BASE if answered else BOLD,
            align=CENTER,
            border=BOX,
        )
        done = data.matrix.get(code, none)
        put_cells(ws, row, first, [mark if measure_id in done else blank for measure_id in measure_ids])
        counts.update(done)
        row += 1
    return row, counts


def _matrix_totals(ws: Worksheet, row: int, totals: list[int]) -> None:
    """The totals row under the municipalities: the count of each measure."""
    first = MATRIX_FIRST_COL
    put(ws, row, 1, TOTAL_LABEL, font=BOLD, align=NO_WRAP, fill=TOTAL_FILL, border=BOX)
    for col in (2, 3):
        put(ws, row, col, None, fill=TOTAL_FILL, border=BOX)
    for index, count in enumerate(totals):
        put(
            ws,
            row,
            index + first,
            count,
            font=BOLD,
            align=CENTER,
            fill=TOTAL_FILL,
            border=BOX,
            number_format="0",
        )


MATRIX_TITLE_WIDTHS = (10.0, 14.0, 8.0)
MATRIX_MEASURE_WIDTH = 3.6
MATRIX_ROW_HEIGHT = 12.5
MATRIX_PAGE_COLUMNS = 25  # measure columns on one A3 portrait page at 100 %


def matrix_column_breaks(measures: Sequence[MeasureRow]) -> list[int]:
    """Last sheet columns of every printed column page but the last: a new page for each section,
    and within a section at the subsection where the page would pass MATRIX_PAGE_COLUMNS."""
    breaks: list[int] = []
    runs: list[tuple[int, int, int]] = []  # (section, first index, length) per subsection
    for i, m in enumerate(measures):
        if runs and runs[-1][0] == m.section_no and measures[i - 1].subsection_no == m.subsection_no:
            runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((m.section_no, i, 1))
    used, section = 0, None
    for sec, start, length in runs:
        # A subsection longer than a page fills this page first rather than leave it short.
        if used and (sec != section or MATRIX_PAGE_COLUMNS >= length > MATRIX_PAGE_COLUMNS - used):
            breaks.append(MATRIX_FIRST_COL + start - 1)
            used = 0
        section = sec
        while used + length > MATRIX_PAGE_COLUMNS:  # one subsection wider than a page
            take = MATRIX_PAGE_COLUMNS - used
            start, length = start + take, length - take
            breaks.append(MATRIX_FIRST_COL + start - 1)
            used = 0
        used += length
    return breaks
