"""Chart sheets: a bar chart of implementing municipalities per measure, split into pages."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.series import SeriesLabel
from openpyxl.chart.text import RichText
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break, RowBreak
from openpyxl.worksheet.worksheet import Worksheet

from kokuho.catalog import short_year_label
from load.export_data import MeasureRow
from load.export_sheets.cells import _cells, put, set_widths
from load.export_sheets.pages import A4, MARGINS, PAPER_SIZES, fit_scale, header_text
from load.export_sheets.style import BOX, CENTER, NO_WRAP
from load.export_sheets.tables import Context, finish_table, header_row, title_block

CHART_HEADER_ROW = 4


def chart_label(m: MeasureRow, limit: int = 22) -> str:
    label = m.label if len(m.label) <= limit else m.label[: limit - 1] + "…"
    return f"{m.place} {label}"


CHART_PAGE_ROWS = 31  # rows of CHART_ROW_HEIGHT on one A4 landscape page (the first row is taller)
CHART_ROW_HEIGHT = 15.0
CHART_FIRST_COL = 5  # charts from column E; the table (A:C) is not printed
CHART_COLS = 10
CHART_COL_WIDTH = 13.0
CHART_BARS = 32  # categories per chart at a 9-pt label size (half as many with two years)


def chart_chunks(measures: Sequence[MeasureRow], limit: int) -> list[tuple[int, int]]:
    """(first index, count) of each chart: at most `limit` measures, split at subsections."""
    runs: list[list[int]] = []  # [first index, count] per subsection
    for i, m in enumerate(measures):
        if runs and measures[i - 1].subsection_no == m.subsection_no:
            runs[-1][1] += 1
        else:
            runs.append([i, 1])
    chunks: list[tuple[int, int]] = []
    first, count = 0, 0
    for run_first, run_count in runs:
        if count and count + run_count > limit:
            chunks.append((first, count))
            count = 0
        if not count:
            first = run_first
        count += run_count
        while count > limit:  # one subsection longer than a chart
            chunks.append((first, limit))
            first, count = first + limit, count - limit
    if count:
        chunks.append((first, count))
    return chunks


def write_chart_sheet(ws: Worksheet, ctx: Context, section_no: int, section: str) -> None:
    """Counts per measure of one section as bar charts, R(n-1) beside R(n) where two years
    exist; on paper each chart fills one A4 landscape page (the table beside it is not printed)."""
    data = ctx.data
    measures = [m for m in data.measures if m.section_no == section_no]
    yoy = data.has_previous_year
    now, prev = short_year_label(data.fiscal_year), short_year_label(data.fiscal_year - 1)
    title_block(
        ws, ctx, f"実施予定市町村数（{section_no} {section}）　{ctx.year_label}", None, "単位：市町村"
    )
    set_widths(ws, (46.0, 12.0, 12.0))
    for index in range(CHART_FIRST_COL, CHART_FIRST_COL + CHART_COLS):
        ws.column_dimensions[get_column_letter(index)].width = CHART_COL_WIDTH
    labels = ["区分・取組内容（略）", f"{now}（市町村）"] + ([f"{prev}（市町村）"] if yoy else [])
    header_row(ws, CHART_HEADER_ROW, labels, height=30)
    row = CHART_HEADER_ROW + 1
    for m in measures:
        put(ws, row, 1, chart_label(m), align=NO_WRAP, border=BOX)
        put(ws, row, 2, m.implementing_count, align=CENTER, border=BOX, number_format="0")
        if yoy:
            put(ws, row, 3, m.prev_year_count, align=CENTER, border=BOX, number_format="0")
        row += 1
    last = row - 1
    total = max((m.municipality_total for m in measures), default=0)
    chunks = chart_chunks(measures, CHART_BARS // 2 if yoy else CHART_BARS)
    anchor_col = get_column_letter(CHART_FIRST_COL)
    page_height_cm = (CHART_PAGE_ROWS - 1) * CHART_ROW_HEIGHT * 2.54 / 72
    first_data = CHART_HEADER_ROW + 1
    for page, (start, count) in enumerate(chunks):
        top, bottom = first_data + start, first_data + start + count - 1
        part = f" {page + 1}/{len(chunks)}" if len(chunks) > 1 else ""
        if yoy:
            title = f"実施予定市町村数の前年度比較（{section_no} {section}、{prev}→{now}）{part}"
        else:
            title = f"実施予定市町村数（{section_no} {section}、{now}）{part}"
        chart = _bar_chart(title, total, page_height_cm)
        if yoy:
            chart.add_data(Reference(ws, min_col=3, min_row=top, max_row=bottom), titles_from_data=False)
            chart.series[-1].tx = SeriesLabel(strRef=StrRef(f"'{ws.title}'!$C${CHART_HEADER_ROW}"))
        chart.add_data(Reference(ws, min_col=2, min_row=top, max_row=bottom), titles_from_data=False)
        chart.series[-1].tx = SeriesLabel(strRef=StrRef(f"'{ws.title}'!$B${CHART_HEADER_ROW}"))
        _text_categories(chart, Reference(ws, min_col=1, min_row=top, max_row=bottom))
        if yoy:
            chart.legend.position = "b"
        else:
            chart.legend = None
        ws.add_chart(chart, f"{anchor_col}{1 + page * CHART_PAGE_ROWS}")
    pages = max(1, len(chunks))
    last_row = max(last, pages * CHART_PAGE_ROWS)
    heights = _cells(ws).heights
    for r in range(1, last_row + 1):
        heights.setdefault(r, CHART_ROW_HEIGHT)
    finish_table(ws, CHART_HEADER_ROW, last, len(labels), f"A{CHART_HEADER_ROW + 1}")
    _chart_print(ws, pages, last_row, ctx.provisional_note)


def _chart_print(ws: Worksheet, pages: int, last_row: int, header: str | None) -> None:
    """One chart per A4 landscape page at full size: the chart area is the print area."""
    ws.page_setup.paperSize = PAPER_SIZES[A4]
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.page_setup.scale = fit_scale([CHART_COL_WIDTH] * CHART_COLS)
    ws.page_setup.firstPageNumber = 1
    ws.page_setup.useFirstPageNumber = True
    ws.page_margins = MARGINS
    ws.print_options.horizontalCentered = True
    first, end = get_column_letter(CHART_FIRST_COL), get_column_letter(CHART_FIRST_COL + CHART_COLS - 1)
    ws.print_area = f"{first}1:{end}{last_row}"
    ws.row_breaks = RowBreak(brk=[Break(id=page * CHART_PAGE_ROWS) for page in range(1, pages)])
    ws.oddFooter.center.text = f"&P / {pages}"
    ws.oddFooter.right.text = "&A"
    if header:  # an empty "&R" header is not valid: none at all when not provisional
        ws.oddHeader.right.text = header_text(header)


def _text_categories(chart: BarChart, cats: Reference) -> None:
    """Category labels as a string reference (openpyxl writes numRef, which some readers show as 1, 2…)."""
    for series in chart.series:
        series.cat = AxDataSource(strRef=StrRef(f=str(cats)))


@lru_cache(maxsize=8)
def _font(size: int, bold: bool = False) -> RichText:
    """Text properties with a point size (openpyxl leaves chart text to the renderer's default)."""
    props = CharacterProperties(sz=size * 100, b=bold)
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=props), endParaRPr=props)])


def _bar_chart(title: str, total: int, height: float) -> BarChart:
    chart = BarChart()
    chart.type = "bar"  # horizontal: long Japanese labels read better on the category axis
    chart.style = 10
    chart.title = title
    chart.y_axis.title = "市町村数"
    chart.y_axis.scaling.min = 0
    if total:
        chart.y_axis.scaling.max = total
    chart.x_axis.scaling.orientation = "maxMin"  # first measure on top, as in the table
    chart.y_axis.crosses = "max"  # ... and the value axis at the bottom
    chart.y_axis.axPos = "b"
    chart.x_axis.delete = False  # openpyxl 3.1 hides axes unless told otherwise
    chart.y_axis.delete = False
    chart.y_axis.majorGridlines = None
    chart.x_axis.txPr = _font(9)
    chart.y_axis.txPr = _font(9)
    chart.gapWidth = 40
    chart.width = 25.0
    chart.height = height
    return chart
