"""The status sheet: each measure's count of implementing municipalities and its change."""

from __future__ import annotations

from openpyxl.worksheet.worksheet import Worksheet

from kokuho.catalog import era_year_label, short_year_label
from kokuho.codelists import MARKER_DOWN, MARKER_NEW, MARKER_UP
from load.export_data import MeasureRow, SummaryData
from load.export_sheets.cells import put, row_height, set_widths, wrapped_height
from load.export_sheets.pages import setup_print
from load.export_sheets.sections import _nested_blocks
from load.export_sheets.style import BOX, CENTER, WRAP
from load.export_sheets.tables import Context, finish_table, header_row, title_block
from load.export_sheets.texts import change_text, ratio_text

STATUS_WIDTHS = (14.0, 10.0, 58.0, 9.0, 10.0, 32.0, 10.0)
STATUS_HEADER_ROW = 4


def status_headers(fiscal_year: int) -> tuple[str, ...]:
    now, prev = short_year_label(fiscal_year), short_year_label(fiscal_year - 1)
    return (
        "分野",
        "区分",
        "取組内容",
        "対象市町村数",
        f"{now}実施市町村数",
        f"取組状況（{now}、前年度比）",
        f"{prev}実施市町村数",
    )


def status_text(m: MeasureRow) -> str:
    """Seed 004's one string: 25/27市町村（93%） 1市町村（増）, 4/4市町村（100%）（新）.

    For a database written before the view item_summary existed; otherwise the sheet shows that
    view's status_text (the macro load/sql/macros/status_text.sql), which prints the same."""
    ratio = ratio_text(m.implementing_count, m.municipality_total)
    change = change_text(m)
    if not change:
        return ratio
    return ratio + change if m.change_marker == MARKER_NEW else f"{ratio} {change}"


def published(m: MeasureRow, data: SummaryData) -> tuple[int, int, str]:
    """(N, n, the status string with an inline breakdown after it) of a measure: item_summary's,
    which follows who the item applies to and its published form, else measure_summary's."""
    item = data.item_status.get(m.measure_id)
    if item is None:
        return m.municipality_total, m.implementing_count, status_text(m)
    return item.applicable_total, item.answer_count, item.status_text + (item.breakdown_text or "")


def write_status(ws: Worksheet, ctx: Context) -> None:
    """Seed 004: n/N市町村（p%） and k市町村（増）/（減）/（新） per measure, as one string."""
    data = ctx.data
    title_block(
        ws,
        ctx,
        f"運営方針に係る{ctx.year_label}の取組状況　{data.prefecture_name}",
        f"（{MARKER_NEW}）{era_year_label(data.fiscal_year)}の新たな取組　（{MARKER_UP}）昨年度より実施市町村が増加"
        f"　（{MARKER_DOWN}）昨年度より実施市町村が減少",
        "単位：市町村、%（四捨五入）",
    )
    set_widths(ws, STATUS_WIDTHS)
    header_row(ws, STATUS_HEADER_ROW, status_headers(data.fiscal_year), height=32)
    row = STATUS_HEADER_ROW + 1
    sections: list[int] = []
    previous: int | None = None
    for m in data.measures:
        if previous != m.section_no:
            sections.append(row)
        previous = m.section_no
        total, count, text = published(m, data)
        values: list[object] = [
            f"{m.section_no} {m.section}",
            m.place,
            m.label,
            total,
            count,
            text,
            m.prev_year_count,
        ]
        for col, value in enumerate(values, start=1):
            align = WRAP if col in (1, 3) else CENTER
            put(ws, row, col, value, align=align, border=BOX, number_format="0" if col in (4, 5, 7) else None)
        row_height(
            ws,
            row,
            wrapped_height(
                (
                    (m.label, STATUS_WIDTHS[2]),
                    (str(values[0]), STATUS_WIDTHS[0]),
                    (str(values[5]), STATUS_WIDTHS[5]),
                )
            ),
        )
        row += 1
    finish_table(ws, STATUS_HEADER_ROW, row - 1, len(STATUS_WIDTHS), f"D{STATUS_HEADER_ROW + 1}")
    setup_print(
        ws,
        f"1:{STATUS_HEADER_ROW}",
        widths=STATUS_WIDTHS,
        blocks=_nested_blocks(row - 1, [], sections),
        header=ctx.provisional_note,
    )
