"""Fast cell storage for large openpyxl workbooks: values are buffered per worksheet and rendered
straight into the sheet XML when the workbook is saved.

openpyxl spends most of a large export creating Cell objects, hashing their styles and serialising
them through ElementTree. Here a worksheet's cells are plain (value, style id) pairs; styles are
still openpyxl's (each combination is registered once in the workbook's style table), and
openpyxl still writes everything else (column widths, row heights, panes, print setup, charts,
styles.xml). `save_workbook` lets openpyxl save the workbook without those cells, then rewrites
each buffered sheet's <sheetData> and <dimension> from the buffer, producing what openpyxl 3.1
itself writes for such cells (inline strings, numbers as <v>, booleans t="b", dates as serials).

    cells = sheet_cells(ws)
    cells.put(2, 3, "text", cells.styles.style_id(font=BOLD, border=BOX))
    save_workbook(workbook, path)

Values are stored as given: strings are never turned into formulas (no "=" parsing), so callers
decide about quotePrefix and text clean-up. Cells written through openpyxl (ws.cell, ws["A1"])
cannot be mixed with buffered cells on one sheet.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import weakref
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from queue import Queue
from typing import IO

from openpyxl.cell.cell import Cell
from openpyxl.compat.numbers import NUMERIC_TYPES
from openpyxl.styles import Alignment, Border, Font, PatternFill
from openpyxl.styles.numbers import (
    FORMAT_DATE_DATETIME,
    FORMAT_DATE_TIME6,
    FORMAT_DATE_TIMEDELTA,
    FORMAT_DATE_YYYYMMDD2,
)
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel, to_ISO8601
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

__all__ = ["CellBuffer", "StyleTable", "save_workbook", "sheet_cells"]

# openpyxl's default number format for a date/time value written without one (cell.py TIME_FORMATS).
TIME_FORMATS: dict[type, str] = {
    dt.datetime: FORMAT_DATE_DATETIME,
    dt.date: FORMAT_DATE_YYYYMMDD2,
    dt.time: FORMAT_DATE_TIME6,
    dt.timedelta: FORMAT_DATE_TIMEDELTA,
}
TIME_TYPES = (dt.datetime, dt.date, dt.time, dt.timedelta)
# Deflate level: 2 is about three times faster than zipfile's default (6) on the national summary
# for a slightly larger file (measured in docs/benchmark.md).
DEFAULT_COMPRESSLEVEL = 2
_ROWS_PER_CHUNK = 200


class StyleTable:
    """Style ids of one workbook, one per (font, alignment, fill, border, number format, quotePrefix).

    Keyed by the style objects' ids; each entry keeps its objects alive, so an id cannot be reused
    by another object while it is cached. Style objects are meant to be module constants."""

    def __init__(self, workbook: Workbook) -> None:
        self._workbook = weakref.ref(workbook)
        self.ids: dict[tuple[object, ...], int] = {}  # read directly by hot loops
        self._keep: list[tuple[object, ...]] = []

    def style_id(
        self,
        font: Font | None = None,
        align: Alignment | None = None,
        fill: PatternFill | None = None,
        border: Border | None = None,
        number_format: str | None = None,
        quote_prefix: bool = False,
    ) -> int:
        key = (id(font), id(align), id(fill), id(border), number_format, quote_prefix)
        found = self.ids.get(key)
        if found is not None:
            return found
        workbook = self._workbook()
        if workbook is None or not workbook.worksheets:
            raise RuntimeError("the workbook of this style table has no worksheet")
        # A detached scratch cell (not added to the sheet): setting its attributes registers
        # fonts, fills, ... in the workbook's tables exactly as openpyxl does for a real cell.
        scratch = Cell(workbook.worksheets[0], row=1, column=1)
        if quote_prefix:
            scratch.quotePrefix = True
        if font is not None:
            scratch.font = font
        if align is not None:
            scratch.alignment = align
        if fill is not None:
            scratch.fill = fill
        if border is not None:
            scratch.border = border
        if number_format is not None:
            scratch.number_format = number_format
        found = scratch.style_id
        self.ids[key] = found
        self._keep.append((font, align, fill, border))
        return found


_STYLE_TABLES: weakref.WeakKeyDictionary[Workbook, StyleTable] = weakref.WeakKeyDictionary()


def style_table(workbook: Workbook) -> StyleTable:
    table = _STYLE_TABLES.get(workbook)
    if table is None:
        table = _STYLE_TABLES[workbook] = StyleTable(workbook)
    return table


class CellBuffer:
    """The cells of one worksheet (row -> column -> (value, style id)) and its row heights.

    Heights live here rather than in ws.row_dimensions because openpyxl's RowDimension objects
    cost as much as the cells on a table with one height per row; both are written."""

    __slots__ = ("__weakref__", "heights", "rows", "styles")

    def __init__(self, ws: Worksheet) -> None:
        self.rows: dict[int, dict[int, tuple[object, int]]] = {}
        self.heights: dict[int, float] = {}
        self.styles = style_table(ws.parent)

    def put(self, row: int, col: int, value: object, style_id: int = 0) -> None:
        """Store one value (None for a styled empty cell); a later put to the same cell replaces it."""
        if row < 1 or col < 1:
            raise ValueError(f"row and column start at 1 (got row {row}, column {col})")
        cells = self.rows.get(row)
        if cells is None:
            cells = self.rows[row] = {}
        cells[col] = (value, style_id)

    def set_height(self, row: int, height: float | None) -> None:
        """Row height in points, as ws.row_dimensions[row].height = height (None: default height)."""
        if height is None:
            self.heights.pop(row, None)
        else:
            self.heights[row] = float(height)

    def get(self, row: int, col: int) -> tuple[object, int] | None:
        cells = self.rows.get(row)
        return None if cells is None else cells.get(col)

    def dimension(self) -> str:
        """The used range as openpyxl computes it (every stored cell, styled or not)."""
        rows = [r for r, cells in self.rows.items() if cells]
        if not rows:
            return "A1:A1"
        first_col = min(min(self.rows[r]) for r in rows)
        last_col = max(max(self.rows[r]) for r in rows)
        if min(rows) < 1 or first_col < 1:
            raise ValueError(f"row and column start at 1 (got row {min(rows)}, column {first_col})")
        return f"{get_column_letter(first_col)}{min(rows)}:{get_column_letter(last_col)}{max(rows)}"


_BUFFERS: weakref.WeakKeyDictionary[Worksheet, CellBuffer] = weakref.WeakKeyDictionary()


def sheet_cells(ws: Worksheet) -> CellBuffer:
    """The cell buffer of a worksheet, created on first use; it lives as long as the worksheet."""
    buffer = _BUFFERS.get(ws)
    if buffer is None:
        buffer = _BUFFERS[ws] = CellBuffer(ws)
    return buffer


def buffered(ws: Worksheet) -> CellBuffer | None:
    return _BUFFERS.get(ws)


def time_format(value: object) -> str | None:
    """The number format openpyxl gives a date/time value written without one (None otherwise)."""
    for base in type(value).__mro__:
        fmt = TIME_FORMATS.get(base)
        if fmt is not None:
            return fmt
    return None


# --- saving ------------------------------------------------------------------------------------


def save_workbook(
    workbook: Workbook, target: str | Path | IO[bytes], *, compresslevel: int = DEFAULT_COMPRESSLEVEL
) -> None:
    """Save like `workbook.save(target)`, with every buffered sheet's cells written in."""
    for ws in workbook.worksheets:
        if ws._cells and buffered(ws) is not None:
            raise ValueError(
                f"シート「{ws.title}」に openpyxl のセルと高速書き込みのセルが混在しています（どちらか一方にしてください）"
            )
    frame = io.BytesIO()
    workbook.save(frame)  # everything but the buffered cells, written by openpyxl itself
    # ws.path is only right after saving: openpyxl numbers the sheets while it writes them.
    sheets = {ws.path[1:]: (ws, buf) for ws in workbook.worksheets if (buf := buffered(ws)) is not None}
    epoch, iso_dates = workbook.epoch, workbook.iso_dates
    with (
        zipfile.ZipFile(frame) as source,
        zipfile.ZipFile(
            target, "w", zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=compresslevel
        ) as out,
    ):
        for info in source.infolist():
            data = source.read(info)
            entry = sheets.get(info.filename)
            if entry is None:
                out.writestr(info.filename, data)
                continue
            ws, buffer = entry
            _write_streamed(
                out, info.filename, _sheet_xml(data.decode("utf-8"), buffer, epoch, iso_dates, ws.title)
            )


def _write_streamed(out: zipfile.ZipFile, name: str, chunks: Iterator[str]) -> None:
    """One zip entry from text chunks, deflated in a second thread while the next chunk is
    rendered (zlib and crc32 release the GIL; rendering needs it)."""
    pending: Queue[bytes | None] = Queue(maxsize=8)
    with ThreadPoolExecutor(max_workers=1) as pool:
        writer = pool.submit(_drain, out, name, pending)
        try:
            for chunk in chunks:
                if writer.done():
                    break  # the writer failed: its error is raised below
                pending.put(chunk.encode("utf-8"))
        finally:
            pending.put(None)
        writer.result()


def _drain(out: zipfile.ZipFile, name: str, pending: Queue[bytes | None]) -> None:
    """Write the queued chunks; after a failure keep taking them, so the renderer never blocks."""
    failure: BaseException | None = None
    stream = None
    try:
        stream = out.open(name, "w", force_zip64=True)
    except BaseException as exc:
        failure = exc
    while (chunk := pending.get()) is not None:
        if failure is None and stream is not None:
            try:
                stream.write(chunk)
            except BaseException as exc:
                failure = exc
    if stream is not None:
        try:
            stream.close()
        except BaseException as exc:
            failure = failure or exc
    if failure is not None:
        raise failure


_SHEET_DATA = re.compile(r"<sheetData\s*/>|<sheetData>(.*?)</sheetData>", re.DOTALL)
_DIMENSION = re.compile(r'<dimension ref="[^"]*"\s*/>')
_ROW = re.compile(r'<row r="(\d+)"([^>]*?)\s*/?>')


def _sheet_xml(
    xml: str, buffer: CellBuffer, epoch: dt.datetime, iso_dates: bool, title: str
) -> Iterator[str]:
    """The sheet's XML with <sheetData> rendered from the buffer; openpyxl's row attributes kept."""
    match = _SHEET_DATA.search(xml)
    if match is None:
        raise ValueError(f"シート「{title}」のXMLに sheetData がありません")
    # openpyxl wrote one <row> per row dimension (heights, hidden...) and no cells.
    row_attrs = {int(m.group(1)): m.group(2) for m in _ROW.finditer(match.group(1) or "")}
    for row, height in buffer.heights.items():
        row_attrs[row] = _with_height(row_attrs.get(row, ""), height)
    head = _DIMENSION.sub(f'<dimension ref="{buffer.dimension()}" />', xml[: match.start()], count=1)
    yield head
    yield "<sheetData>"
    yield from _rows_xml(buffer, row_attrs, epoch, iso_dates)
    yield "</sheetData>"
    yield xml[match.end() :]


_ATTR = re.compile(r'\s*([\w:]+)="([^"]*)"')


def _with_height(attrs: str, height: float) -> str:
    """A row's attributes with its height set, as openpyxl writes a RowDimension's height."""
    if not attrs:
        return f' ht="{_number(height) or "0"}" customHeight="1"'
    values = dict(_ATTR.findall(attrs))
    values["ht"] = _number(height) or "0"
    values["customHeight"] = "1"
    return "".join(f' {name}="{value}"' for name, value in values.items())


class _Unstyled(Exception):
    """An empty cell without style in a row: openpyxl writes nothing for it."""


def _rows_xml(
    buffer: CellBuffer, row_attrs: dict[int, str], epoch: dt.datetime, iso_dates: bool
) -> Iterator[str]:
    rows = buffer.rows
    max_col = max((max(cells) for cells in rows.values() if cells), default=1)
    starts = [""] + [f'<c r="{get_column_letter(c)}' for c in range(1, max_col + 1)]
    # Rendered bodies (everything after the reference) keyed by the stored (value, style id)
    # pair: cells repeat (○, empty, the same label or rate). Never bools, nor the numbers equal
    # to one (0, 1): True == 1, and a cached 1 would be found for True.
    bodies: dict[tuple[object, int], str] = {}
    get = bodies.get

    def body_of(cell: tuple[object, int]) -> str:
        value, sid = cell
        if value is None and not sid:
            raise _Unstyled
        body = _body(value, sid, epoch, iso_dates)
        kind = type(value)
        if (
            value is None
            or kind is str
            or ((kind is float or kind is int) and value not in (0, 1) and value == value)
        ):
            bodies[cell] = body
        return body

    parts: list[str] = []
    append = parts.append
    for count, r in enumerate(sorted({r for r, cells in rows.items() if cells} | row_attrs.keys()), start=1):
        attrs = row_attrs.get(r, "")
        cells = rows.get(r)
        if not cells:
            append(f'<row r="{r}"{attrs}/>')
            continue
        ref = f'{r}"'
        try:
            line = "".join(
                [f"{starts[c]}{ref}{get(cell) or body_of(cell)}" for c, cell in sorted(cells.items())]
            )
        except _Unstyled:
            line = "".join(
                [
                    f"{starts[c]}{ref}{get(cell) or body_of(cell)}"
                    for c, cell in sorted(cells.items())
                    if cell[0] is not None or cell[1]
                ]
            )
        append(f'<row r="{r}"{attrs}>{line}</row>')
        if count % _ROWS_PER_CHUNK == 0:
            yield "".join(parts)
            parts.clear()
    yield "".join(parts)


def _body(value: object, sid: int, epoch: dt.datetime, iso_dates: bool) -> str:
    """One cell after its reference: style, type and value, as openpyxl 3.1 writes them."""
    style = f' s="{sid}"' if sid else ""
    if value is None:
        return f"{style}/>"
    if isinstance(value, str):
        if value == "":
            return f'{style} t="inlineStr"/>'
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return f'{style} t="inlineStr"><is><t{space}>{_escape(value)}</t></is></c>'
    if isinstance(value, bool):
        return f'{style} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, NUMERIC_TYPES):
        number = _number(value)
        return f'{style} t="n"/>' if number is None else f'{style} t="n"><v>{number}</v></c>'
    if isinstance(value, TIME_TYPES):
        if getattr(value, "tzinfo", None) is not None:
            raise TypeError("Excel does not support timezones in datetimes: convert to local time first")
        if iso_dates and not isinstance(value, dt.timedelta):
            return f'{style} t="d"><v>{to_ISO8601(value)}</v></c>'
        number = _number(to_excel(value, epoch))
        return f'{style} t="n"/>' if number is None else f'{style} t="n"><v>{number}</v></c>'
    raise TypeError(f"cannot write {type(value).__name__} to a cell: {value!r}")


def _number(value: float | Decimal) -> str | None:
    """openpyxl's number text ("%.16g"); None for NaN and infinities, which are not numbers in xlsx."""
    if type(value) is int:
        return str(value) if -(10**15) < value < 10**15 else f"{float(value):.16g}"
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
    elif not math.isfinite(value):
        return None
    return f"{float(value):.16g}"


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text
