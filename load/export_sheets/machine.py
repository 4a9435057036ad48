"""Machine-readable sheets: one row per measure and per budget line, plain values."""

from __future__ import annotations

import datetime as dt

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from load.export_data import SummaryData
from load.export_sheets.cells import put, set_widths, text_width
from load.export_sheets.style import BOLD, HEADER_FILL
from load.export_sheets.tables import Context


def write_machine_measures(ws: Worksheet, ctx: Context) -> None:
    """measure_summary as the view has it, one datum per cell; list columns go to data_budget_lines."""
    data = ctx.data
    columns = [c for c in data.measure_columns if not isinstance(_first(data, c), list | tuple)]
    columns = [c for c in columns if c != "budget_lines"]
    for col, name in enumerate(columns, start=1):
        put(ws, 1, col, name, font=BOLD, fill=HEADER_FILL)
        ws.column_dimensions[get_column_letter(col)].width = max(10, min(50, text_width(name) + 2))
    for row, record in enumerate(data.measure_records, start=2):
        for col, name in enumerate(columns, start=1):
            put(ws, row, col, _plain(record.get(name)))
    last = len(data.measure_records) + 1
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{last}"
    ws.sheet_state = "hidden"  # machine-readable: not printed with the tables (see 注記)


BUDGET_COLUMNS = ("fiscal_year", "prefecture_code", "measure_id", "rank", "budget_line")


def write_machine_budget_lines(ws: Worksheet, ctx: Context) -> None:
    for col, name in enumerate(BUDGET_COLUMNS, start=1):
        put(ws, 1, col, name, font=BOLD, fill=HEADER_FILL)
    set_widths(ws, (12.0, 16.0, 12.0, 8.0, 60.0))
    row = 2
    for m in ctx.data.measures:
        for rank, line in enumerate(m.budget_lines, start=1):
            for col, value in enumerate(
                (m.fiscal_year, m.prefecture_code, m.measure_id, rank, line), start=1
            ):
                put(ws, row, col, value)
            row += 1
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:E{max(row - 1, 1)}"
    ws.sheet_state = "hidden"  # machine-readable: not printed with the tables (see 注記)


def _first(data: SummaryData, column: str) -> object:
    for record in data.measure_records:
        if record.get(column) is not None:
            return record[column]
    return None


def _plain(value: object) -> object:
    """Cell-safe scalar: Decimal to float, aware timestamps to Japan time, others as text."""
    from decimal import Decimal

    from load.export_data import local_time

    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return local_time(value)
    return str(value)
