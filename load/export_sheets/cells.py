"""Cells into the sheet's buffer (load.xlsx_cells), stored as text where a string could read as a
formula, and row heights from wrapped text."""

from __future__ import annotations

import itertools
import math
import unicodedata
import weakref
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from openpyxl.styles import Alignment, Border, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from load.export_sheets.style import _ILLEGAL, BASE, FORMULA_TRIGGERS, LINE_HEIGHT, MAX_CELL_CHARS
from load.xlsx_cells import TIME_TYPES, CellBuffer, sheet_cells, time_format


def safe_text(value: str) -> str:
    """Drop characters the xlsx format cannot hold and cut at Excel's cell limit."""
    text = _ILLEGAL.sub("", value)
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def put(
    ws: Worksheet,
    row: int,
    col: int,
    value: object,
    *,
    font: Font = BASE,
    align: Alignment | None = None,
    fill: PatternFill | None = None,
    border: Border | None = None,
    number_format: str | None = None,
) -> None:
    """Write one value; strings are always stored as text, never as a formula.

    The cell goes to the sheet's buffer (load.xlsx_cells), written when the workbook is saved
    with xlsx_cells.save_workbook. Style objects are cached by identity: pass module constants."""
    cells = _cells(ws)
    if isinstance(value, str):  # the common cases inline: put runs once per cell of a national table
        if len(value) > MAX_CELL_CHARS or _ILLEGAL.search(value) is not None:
            value = safe_text(value)
        quote = value.startswith(FORMULA_TRIGGERS)  # Excel keeps it text even when edited
    elif value is None or type(value) is int or type(value) is float:
        quote = False
    else:
        stored = _stored(cells, value, font, align, fill, border, number_format)
        cells.put(row, col, *stored)
        return
    # StyleTable.style_id's own cache lookup, inlined: this is the per-cell path.
    style = cells.styles.ids.get((id(font), id(align), id(fill), id(border), number_format, quote))
    if style is None:
        style = cells.styles.style_id(font, align, fill, border, number_format, quote)
    line = cells.rows.get(row)
    if line is None:
        line = cells.rows[row] = {}
    line[col] = (value, style)


def cell_of(
    ws: Worksheet,
    value: object,
    *,
    font: Font = BASE,
    align: Alignment | None = None,
    fill: PatternFill | None = None,
    border: Border | None = None,
    number_format: str | None = None,
) -> tuple[object, int]:
    """What put() stores for this value and style, to be written many times with put_cells."""
    return _stored(_cells(ws), value, font, align, fill, border, number_format)


def _stored(
    cells: CellBuffer,
    value: object,
    font: Font,
    align: Alignment | None,
    fill: PatternFill | None,
    border: Border | None,
    number_format: str | None,
) -> tuple[object, int]:
    """(value, style id) as the buffer keeps a cell: text cleaned, quotePrefix on formula triggers."""
    quote = False
    if isinstance(value, str):
        value = safe_text(value)
        quote = value.startswith(FORMULA_TRIGGERS)  # Excel keeps it text even when edited
    elif number_format is None and isinstance(value, TIME_TYPES):
        number_format = time_format(value)  # as openpyxl: a date format when none is given
    return value, cells.styles.style_id(font, align, fill, border, number_format, quote)


def repeated_cells(
    ws: Worksheet,
    *,
    font: Font = BASE,
    align: Alignment | None = None,
    fill: PatternFill | None = None,
    border: Border | None = None,
    number_format: str | None = None,
) -> Callable[[object], tuple[object, int]]:
    """cell_of() with this style, remembered per text: for columns whose texts repeat on many rows."""
    memo: dict[str | None, tuple[object, int]] = {}

    def cell(value: object) -> tuple[object, int]:
        if value is not None and type(value) is not str:
            return cell_of(
                ws, value, font=font, align=align, fill=fill, border=border, number_format=number_format
            )
        found = memo.get(value)
        if found is None:
            found = memo[value] = cell_of(
                ws, value, font=font, align=align, fill=fill, border=border, number_format=number_format
            )
        return found

    return cell


def put_cells(ws: Worksheet, row: int, first_col: int, cells: Iterable[tuple[object, int]]) -> None:
    """Consecutive cells of one row from cell_of() (a national matrix row of ○ at once)."""
    numbered = list(zip(itertools.count(first_col), cells, strict=False))
    if numbered:
        rows = _cells(ws).rows
        line = rows.get(row)
        if line is None:
            line = rows[row] = {}
        line.update(numbered)


# (weak reference to the last worksheet put() wrote to, its buffer), replaced as one tuple so
# that exports running in several threads never pair a sheet with another sheet's buffer.
_last_sheet: tuple[weakref.ReferenceType[Worksheet], CellBuffer] | None = None


def _cells(ws: Worksheet) -> CellBuffer:
    """sheet_cells(ws), remembering the last sheet: put runs once per cell of a national table."""
    global _last_sheet
    last = _last_sheet
    if last is not None and last[0]() is ws:
        return last[1]
    cells = sheet_cells(ws)
    _last_sheet = (weakref.ref(ws), cells)
    return cells


def text_width(text: str) -> int:
    """Display width in Excel column units: full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


def wrapped_height(
    texts: Iterable[tuple[str, float]],
    minimum_lines: int = 1,
    line_height: float | None = None,
) -> float:
    """Row height for texts wrapped in columns of the given widths (openpyxl cannot autofit)."""
    lines = minimum_lines
    for text, width in texts:
        lines = max(lines, wrapped_lines(text, width))
    return lines * (line_height or LINE_HEIGHT) + 3


@lru_cache(maxsize=4096)
def wrapped_lines(text: str, width: float) -> int:
    """Lines of text wrapped in a column of the given width (labels repeat on every row).

    A full-width character of 10-pt text is 13.3 px, 1.9 of the 7-px column unit; half-width
    characters are about one unit; a column is width × 7 + 5 px, less a little cell padding.
    Wrapping happens at any character in Japanese."""
    usable = max(width - 0.2, 1.0)
    lines = 0
    for part in text.split("\n"):
        wide = sum(1 for ch in part if unicodedata.east_asian_width(ch) in "WFA")
        lines += max(1, math.ceil((1.9 * wide + (len(part) - wide)) / usable))
    return lines


def row_height(ws: Worksheet, row: int, height: float | None) -> None:
    """ws.row_dimensions[row].height = height, kept with the sheet's buffered cells."""
    _cells(ws).set_height(row, height)


def set_widths(ws: Worksheet, widths: Sequence[float]) -> None:
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
