"""Fill a survey template the way a municipality would, for the demo, the tests and the benchmark.

Cells are addressed by row key (column A) on a sheet found by its key (A1), never by row number or
sheet title: a filler keeps working on templates whose rows were moved, inserted or whose sheets were
renamed. Values go in as given (None included, as a municipality leaves a cell empty); a
`Formatted` value also sets the cell's number format (a rate typed as 0.955 shown as 95.5%).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kokuho import layout


@dataclass(frozen=True)
class Formatted:
    value: object
    number_format: str


# (sheet key, row key, column letter, value)
Entry = tuple[str, str, str, object]


def sheet_by_key(wb: Any, key: str) -> Any:
    """The worksheet whose key cell (A1) holds `key`."""
    for ws in wb.worksheets:
        if ws[layout.SHEET_KEY_CELL].value == key:
            return ws
    raise KeyError(key)


def row_index(ws: Any) -> dict[str, int]:
    """Row key (column A) -> first row carrying it; works on read-only worksheets too."""
    index: dict[str, int] = {}
    for row in ws.iter_rows(min_col=1, max_col=1):
        cell = row[0]
        if isinstance(cell.value, str) and cell.value not in index:
            index[cell.value] = cell.row
    return index


def fill(wb: Any, entries: Iterable[Entry]) -> None:
    """Write each entry into a workbook loaded with openpyxl, in order (entries may be a generator
    drawing random choices as it goes)."""
    sheets: dict[str, tuple[Any, dict[str, int]]] = {}
    for sheet_key, row_key, column, value in entries:
        if sheet_key not in sheets:
            ws = sheet_by_key(wb, sheet_key)
            sheets[sheet_key] = (ws, row_index(ws))
        ws, rows = sheets[sheet_key]
        cell = ws[f"{column}{rows[row_key]}"]
        if isinstance(value, Formatted):
            cell.value = value.value
            cell.number_format = value.number_format
        else:
            cell.value = value
