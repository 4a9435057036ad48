"""Sheet writers of the summary workbook (seed 001 / seed 004 layouts) and their shared styling.

Every value goes through `put` (or `cell_of` + `put_cells` for cells repeated on many rows),
which stores strings as text: openpyxl turns any string starting with "=" into a formula, and
budget lines, initiatives, notes and file names come from municipalities. Cells and row heights
go to the sheet's buffer (load.xlsx_cells), not to openpyxl Cell objects: save the workbook with
xlsx_cells.save_workbook.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import unicodedata
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.series import SeriesLabel
from openpyxl.chart.text import RichText
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break, ColBreak, RowBreak
from openpyxl.worksheet.worksheet import Worksheet

from kokuho.catalog import SUBGROUP_MARKS, fiscal_year_label, short_year_label
from kokuho.codelists import MARKER_DOWN, MARKER_NEW, MARKER_UP, MUNICIPALITY_STATUS_LABELS
from load.export_data import MeasureRow, OwnInitiative, ReturnedRow, SummaryData
from load.xlsx_cells import TIME_TYPES, CellBuffer, sheet_cells, time_format

NONE_MARK = "—"
CHECK_MARK = "○"
OWN_HEADING = "<その他（独自の取組）>"
NO_OWN = "（記入なし）"
FORMULA_TRIGGERS = ("=", "+", "-", "@")
MAX_CELL_CHARS = 32_767
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0

FONT_NAME = "游ゴシック"
BASE = Font(name=FONT_NAME, size=10)
BOLD = Font(name=FONT_NAME, size=10, bold=True)
TITLE = Font(name=FONT_NAME, size=14, bold=True)
SUBTITLE = Font(name=FONT_NAME, size=12, bold=True)
NOTE = Font(name=FONT_NAME, size=9, color="444444")
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
HEADING_FILL = PatternFill("solid", fgColor="EDEDED")
TOTAL_FILL = PatternFill("solid", fgColor="FFF2CC")
THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
WRAP_INDENT = Alignment(wrap_text=True, vertical="top", indent=1)
CENTER = Alignment(horizontal="center", vertical="top", wrap_text=True)
HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
NO_WRAP = Alignment(vertical="center", wrap_text=False)
HEADING_ALIGNS = tuple(Alignment(vertical="center", indent=level) for level in range(3))
NUMBER_ALIGN = Alignment(horizontal="right", vertical="top", wrap_text=True)
MATRIX_MARK = Alignment(horizontal="center", vertical="center")
VERTICAL_LABEL = Alignment(horizontal="center", vertical="bottom", text_rotation=90, wrap_text=True)
SMALL = Font(name=FONT_NAME, size=8)
MARK_FONT = Font(name=FONT_NAME, size=9)
LINE_HEIGHT = 15.0  # points per wrapped line of 10 pt Japanese text
TABLE_FONT = Font(name=FONT_NAME, size=9)  # long lists (数値目標, 提出状況)
TABLE_BOLD = Font(name=FONT_NAME, size=9, bold=True)
TABLE_LINE = 13.5  # points per line of 9-pt text
TABLE_WIDTH = 10 / 9  # a column holds 10/9 as many 9-pt characters as 10-pt ones


@dataclass(frozen=True)
class Context:
    """What every sheet says about where its numbers come from."""

    data: SummaryData
    survey_title: str
    run_id: str
    data_as_of: str
    generated_at: str

    @property
    def year_label(self) -> str:
        return fiscal_year_label(self.data.fiscal_year)

    @property
    def source_note(self) -> str:
        """The line under each table's title; the run ID stays on the cover (注記) only."""
        note = f"出典：{self.survey_title}（{self.data.prefecture_name}、{self.year_label}）　データ時点：{self.data_as_of}"
        return f"{self.provisional_note}　{note}" if self.provisional_note else note

    @property
    def provisional_note(self) -> str | None:
        """【暫定】回答 61/63市町村 while any municipality of the survey has no accepted file."""
        answered, total = self.data.answered_count, self.data.municipality_count
        if total <= 0 or answered >= total:
            return None
        return f"【暫定】回答 {answered}/{total}市町村"


# --- cells -----------------------------------------------------------------------------------


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


# --- print layout ------------------------------------------------------------------------------
# Pages are laid out here, not left to the renderer: only manual breaks keep a subsection together
# and a heading off a page bottom. Each printed sheet is fitted to the page width (renderers
# measure column widths with their own fonts), gets a break at the end of every page, computed
# from the row heights (all set) at the scale its columns need, and a footer counting the pages
# of that sheet only. The scale is also written, for a reader that ignores fit-to-width.

A4 = (841.9, 595.3)  # landscape, points
A3_PORTRAIT = (841.9, 1190.6)
PAPER_SIZES = {A4: 9, A3_PORTRAIT: 8}  # openpyxl / OOXML paperSize codes
MARGINS = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.55, header=0.25, footer=0.25)
DEFAULT_ROW_HEIGHT = 18.0  # what a row without a set height is counted as (taller than it is)
PAGE_SLACK = 0.96
INNER_BLOCK_FILL = 0.6  # renderers differ a little in row and column metrics


def column_points(width: float) -> float:
    """Printed width of a column of `width` characters (7 px per unit + 5 px padding, 96 dpi)."""
    return (width * 7 + 5) * 0.75


def fit_scale(
    widths: Iterable[float], paper: tuple[float, float] = A4, margins: PageMargins = MARGINS
) -> int:
    """The largest print scale (%) at which these columns fit the page width."""
    printable = paper[0] - (margins.left + margins.right) * 72
    total = sum(column_points(w) for w in widths)
    return max(10, min(100, math.floor(100 * PAGE_SLACK * printable / total))) if total else 100


def page_capacity(
    scale: int, title_height: float, paper: tuple[float, float] = A4, margins: PageMargins = MARGINS
) -> float:
    """Height (sheet points) left for body rows on one page, under the repeated title rows."""
    printable = paper[1] - (margins.top + margins.bottom) * 72
    return printable * PAGE_SLACK * 100 / scale - title_height


def plan_pages(
    heights: Sequence[tuple[int, float]],
    capacity: float,
    blocks: dict[int, list[tuple[int, int]]] | None = None,
    keep_with_next: set[int] | frozenset[int] = frozenset(),
) -> list[int]:
    """Last rows of every page but the last, for body rows (row, height) in order.

    blocks: first row -> (depth, last row) of the blocks starting there, outermost first; a block
    that fits on a page but not in what is left of this one starts a new page (a nested block,
    depth > 0, only when this page is already well filled). keep_with_next: rows
    (headings) never left as the last rows of a page."""
    blocks = blocks or {}
    index = {row: i for i, (row, _) in enumerate(heights)}
    prefix = [0.0]
    for _, h in heights:
        prefix.append(prefix[-1] + h)
    breaks: list[int] = []
    page_start = 0  # index of the first row of the current page
    used = 0.0
    for i, (row, h) in enumerate(heights):
        if used > 0:
            for level, last in blocks.get(row, ()):
                j = index.get(last)
                if j is None:
                    continue
                block = prefix[j + 1] - prefix[i]
                if block <= capacity:
                    # An inner block (a table of a long subsection) moves to the next page only
                    # when this one is well filled: half-empty pages would double the count.
                    if used + block > capacity and (level == 0 or used >= INNER_BLOCK_FILL * capacity):
                        breaks.append(heights[i - 1][0])
                        page_start, used = i, 0.0
                    break  # the outermost block that fits a page decides
        if used > 0 and used + h > capacity:
            b = i
            # Headings ending the page move to the next one, with the row they head, if they fit.
            while (
                b - 1 > page_start
                and heights[b - 1][0] in keep_with_next
                and prefix[i + 1] - prefix[b - 1] <= capacity
            ):
                b -= 1
            breaks.append(heights[b - 1][0])
            page_start, used = b, prefix[i] - prefix[b]
        used += h
    return breaks


def setup_print(
    ws: Worksheet,
    title_rows: str,
    *,
    widths: Sequence[float] | None = None,
    paper: tuple[float, float] = A4,
    title_cols: str | None = None,
    blocks: dict[int, list[tuple[int, int]]] | None = None,
    keep_with_next: set[int] | frozenset[int] = frozenset(),
    margins: PageMargins = MARGINS,
    header: str | None = None,
    fit_to_width: bool = True,
) -> int:
    """Landscape (or the paper's orientation) at the scale that fits `widths`, the title rows repeated on every page, a break
    at the end of every page, and "page / pages of this sheet" in the footer. Returns the pages."""
    ws.page_setup.paperSize = PAPER_SIZES[paper]
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE if paper[0] > paper[1] else ws.ORIENTATION_PORTRAIT
    widths = widths if widths is not None else _sheet_widths(ws)
    scale = fit_scale(widths, paper, margins)
    # fit_to_width=False: the fixed scale counts (renderers drop column breaks when fitting).
    ws.sheet_properties.pageSetUpPr.fitToPage = fit_to_width
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.page_setup.scale = scale
    ws.page_setup.firstPageNumber = 1
    ws.page_setup.useFirstPageNumber = True
    ws.print_title_rows = title_rows
    if title_cols:
        ws.print_title_cols = title_cols
    ws.print_options.horizontalCentered = True
    ws.page_margins = margins
    cells = _cells(ws)
    first_title, last_title = (int(x) for x in title_rows.replace("$", "").split(":"))
    fmt = ws.sheet_format
    default = fmt.defaultRowHeight if fmt.customHeight else DEFAULT_ROW_HEIGHT
    title_height = sum(cells.heights.get(r, default) for r in range(first_title, last_title + 1))
    last = max(cells.rows, default=last_title)
    # Rows above the repeated ones print on the first page only: counted as body rows.
    get = cells.heights.get
    body = [(r, get(r, default)) for r in range(1, first_title)]
    body += [(r, get(r, default)) for r in range(last_title + 1, last + 1)]
    breaks = plan_pages(body, page_capacity(scale, title_height, paper, margins), blocks, keep_with_next)
    # One assignment: RowBreak.append re-checks every break already there (quadratic).
    ws.row_breaks = RowBreak(brk=[Break(id=row) for row in breaks])
    pages = (len(breaks) + 1) * (len(ws.col_breaks.brk) + 1)
    ws.oddFooter.center.text = f"&P / {pages}"
    ws.oddFooter.right.text = "&A"
    if header:  # an empty "&R" header is not valid: none at all when not provisional
        ws.oddHeader.right.text = header_text(header)
    return pages


def header_text(extra: str | None) -> str:
    return (extra or "").replace("&", "&&")


def _sheet_widths(ws: Worksheet) -> list[float]:
    dims = ws.column_dimensions
    last = max((c for line in _cells(ws).rows.values() for c in line), default=1)
    found = (dims.get(get_column_letter(c)) for c in range(1, last + 1))
    return [d.width if d is not None and d.width else 8.43 for d in found]


def header_row(ws: Worksheet, row: int, labels: Sequence[str], height: float | None = None) -> None:
    for col, label in enumerate(labels, start=1):
        put(ws, row, col, label, font=BOLD, align=HEADER_ALIGN, fill=HEADER_FILL, border=BOX)
    if height:
        row_height(ws, row, height)


def title_block(
    ws: Worksheet, ctx: Context, title: str, subtitle: str | None, note: str | None = None
) -> None:
    """Rows 1-3: title, subtitle (section or legend) and the source note."""
    put(ws, 1, 1, title, font=TITLE, align=NO_WRAP)
    row_height(ws, 1, 22)
    if subtitle:
        put(ws, 2, 1, subtitle, font=SUBTITLE, align=NO_WRAP)
        row_height(ws, 2, 18)
    put(ws, 3, 1, ctx.source_note + (f"　{note}" if note else ""), font=NOTE, align=NO_WRAP)
    row_height(ws, 3, 15)


def finish_table(ws: Worksheet, header: int, last_row: int, last_col: int, freeze: str) -> None:
    ws.freeze_panes = freeze
    ws.auto_filter.ref = f"A{header}:{get_column_letter(last_col)}{max(last_row, header)}"


# --- texts shared with tests -------------------------------------------------------------------


def percent(count: int, total: int) -> int | None:
    """Whole percent, rounded half up (25/27 -> 93, 13/15 -> 87), from the exact fraction."""
    if total <= 0:
        return None
    return (200 * count + total) // (2 * total)


def ratio_text(count: int, total: int) -> str:
    """25/27市町村（93%）"""
    p = percent(count, total)
    return f"{count}/{total}市町村（{NONE_MARK if p is None else p}%）"


def change_text(m: MeasureRow) -> str:
    """1市町村（増） / 2市町村（減） / （新） / '' against the previous year (seed 004)."""
    if m.change_marker == MARKER_NEW:
        return f"（{MARKER_NEW}）"
    if m.change_marker in (MARKER_UP, MARKER_DOWN):
        if m.prev_year_count is None:
            return f"（{m.change_marker}）"
        return f"{abs(m.implementing_count - m.prev_year_count)}市町村（{m.change_marker}）"
    return ""


def budget_text(lines: Sequence[str]) -> str:
    """Budget lines joined by a space as in seed 001; — when none."""
    return " ".join(lines) if lines else NONE_MARK


def status_label(status: str) -> str:
    return MUNICIPALITY_STATUS_LABELS.get(status, status)


STATUS_ORDER = {"未提出": 0, "差戻し": 1, "再提出": 2, "受理": 3}


def heading_texts(m: MeasureRow) -> tuple[str, str | None, str | None]:
    """(1) 納期内納付の促進 / ア 特定健康診査受診率向上の取組 / ①受診勧奨の強化"""
    sub = f"({m.subsection_no}) {m.subsection}"
    group = f"{m.group_code} {m.group_title or ''}".strip() if m.group_code else None
    subgroup = None
    if m.subgroup_no:
        mark = (
            SUBGROUP_MARKS[m.subgroup_no - 1]
            if m.subgroup_no <= len(SUBGROUP_MARKS)
            else f"({m.subgroup_no})"
        )
        subgroup = f"{mark}{m.subgroup_title or ''}"
    return sub, group, subgroup


def own_rows_by_table(rows: Iterable[OwnInitiative]) -> dict[str, list[tuple[str, str]]]:
    """Distinct (text, budget line or —) per table, in municipality-code order."""
    result: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        item = (r.text, r.budget_line or NONE_MARK)
        bucket = result.setdefault(r.table_id, [])
        if item not in bucket:
            bucket.append(item)
    return result


def sheet_title(text: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "・", text)[:31]


def era_year(fiscal_year: int) -> str:
    """令和6年度 (without the western year, as in the seed's column header)."""
    return fiscal_year_label(fiscal_year).split("（")[0]


# --- sheets ------------------------------------------------------------------------------------

SECTION_WIDTHS = (60.0, 10.0, 76.0)
SECTION_HEADER_ROW = 4


def write_section(ws: Worksheet, ctx: Context, section_no: int, section: str) -> None:
    """Seed 001: headings, measure rows (count, budget lines) and own initiatives per table."""
    data = ctx.data
    measures = [m for m in data.measures if m.section_no == section_no]
    total = max((m.municipality_total for m in measures), default=0)
    title_block(
        ws,
        ctx,
        f"国民健康保険運営方針で目標設定した事業の取組状況　{ctx.year_label}　{data.prefecture_name}",
        f"{section_no} {section}",
        f"単位：市町村（対象 {total}市町村）",
    )
    set_widths(ws, SECTION_WIDTHS)
    header_row(
        ws,
        SECTION_HEADER_ROW,
        (
            f"【{era_year(data.fiscal_year)}の具体的な取組内容（予定）】",
            "実施予定市町村数",
            "個別に予算化している市町村における主な予算事業名",
        ),
        height=32,
    )
    own = own_rows_by_table(data.own_initiatives)
    row = SECTION_HEADER_ROW + 1
    previous: tuple[int, str | None, int | None] | None = None
    written_tables: list[str] = []
    # Print layout: a subsection, and within it each table (headings, measures, own
    # initiatives), is kept on one page where it fits; headings never end a page.
    subsection_starts: list[int] = []
    table_starts: list[int] = []
    headings: set[int] = set()
    for m in measures:
        key = (m.subsection_no, m.group_code, m.subgroup_no)
        if key != previous:
            if written_tables:
                row = _own_block(ws, row, own.get(written_tables[-1], []), headings)
            table_starts.append(row)
            sub, group, subgroup = heading_texts(m)
            changed = previous is None or previous[0] != key[0]
            if changed:
                subsection_starts.append(row)
                headings.add(row)
                row = _heading(ws, row, sub, 0)
            changed = changed or previous is None or previous[1] != key[1]
            if group and changed:
                headings.add(row)
                row = _heading(ws, row, group, 1)
            if subgroup:
                headings.add(row)
                row = _heading(ws, row, subgroup, 2)
            previous = key
            written_tables.append(m.table_id)
        budget = budget_text(m.budget_lines)
        put(ws, row, 1, m.label, align=WRAP_INDENT, border=BOX)
        put(ws, row, 2, m.implementing_count, align=CENTER, border=BOX, number_format="0")
        put(ws, row, 3, budget, align=WRAP, border=BOX)
        row_height(ws, row, wrapped_height(((m.label, SECTION_WIDTHS[0] - 2), (budget, SECTION_WIDTHS[2]))))
        row += 1
    if written_tables:
        row = _own_block(ws, row, own.get(written_tables[-1], []), headings)
    # Own initiatives filed under a table this year's measures do not have: shown, not dropped.
    prefix = f"{section_no}-"
    for orphan in sorted(t for t in own if t.startswith(prefix) and t not in written_tables):
        subsection_starts.append(row)
        table_starts.append(row)
        headings.add(row)
        row = _heading(ws, row, f"（表 {orphan}）", 0)
        row = _own_block(ws, row, own[orphan], headings)
    finish_table(ws, SECTION_HEADER_ROW, row - 1, 3, f"A{SECTION_HEADER_ROW + 1}")
    setup_print(
        ws,
        f"1:{SECTION_HEADER_ROW}",
        widths=SECTION_WIDTHS,
        blocks=_nested_blocks(row - 1, subsection_starts, table_starts),
        keep_with_next=headings,
        header=ctx.provisional_note,
    )


def _nested_blocks(last_row: int, outer: list[int], inner: list[int]) -> dict[int, list[tuple[int, int]]]:
    """first row -> (depth, last row) of the blocks starting there, outer first, for plan_pages."""
    blocks: dict[int, list[tuple[int, int]]] = {}
    for depth, starts in enumerate((outer, inner)):
        for i, start in enumerate(starts):
            end = starts[i + 1] - 1 if i + 1 < len(starts) else last_row
            blocks.setdefault(start, []).append((depth, end))
    return blocks


def _heading(ws: Worksheet, row: int, text: str, level: int) -> int:
    font = SUBTITLE if level == 0 else BOLD
    align = (
        HEADING_ALIGNS[level] if level < len(HEADING_ALIGNS) else Alignment(vertical="center", indent=level)
    )
    put(ws, row, 1, text, font=font, align=align, fill=HEADING_FILL)
    for col in (2, 3):
        put(ws, row, col, None, fill=HEADING_FILL)
    row_height(ws, row, 20 if level == 0 else 18)
    return row + 1


def _own_block(ws: Worksheet, row: int, items: list[tuple[str, str]], headings: set[int]) -> int:
    put(ws, row, 1, OWN_HEADING, font=BOLD, align=NO_WRAP)
    row_height(ws, row, 18)
    headings.add(row)
    row += 1
    for text, budget in items or [(NO_OWN, NONE_MARK)]:
        put(ws, row, 1, text, align=WRAP_INDENT, border=BOX)
        put(ws, row, 2, None, border=BOX)
        put(ws, row, 3, budget, align=WRAP, border=BOX)
        row_height(ws, row, wrapped_height(((text, SECTION_WIDTHS[0] - 2), (budget, SECTION_WIDTHS[2]))))
        row += 1
    return row


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
    """Seed 004's one string: 25/27市町村（93%） 1市町村（増）, 4/4市町村（100%）（新）."""
    ratio = ratio_text(m.implementing_count, m.municipality_total)
    change = change_text(m)
    if not change:
        return ratio
    return ratio + change if m.change_marker == MARKER_NEW else f"{ratio} {change}"


def write_status(ws: Worksheet, ctx: Context) -> None:
    """Seed 004: n/N市町村（p%） and k市町村（増）/（減）/（新） per measure, as one string."""
    data = ctx.data
    title_block(
        ws,
        ctx,
        f"運営方針に係る{ctx.year_label}の取組状況　{data.prefecture_name}",
        f"（{MARKER_NEW}）{era_year(data.fiscal_year)}の新たな取組　（{MARKER_UP}）昨年度より実施市町村が増加"
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
        values: list[object] = [
            f"{m.section_no} {m.section}",
            m.place,
            m.label,
            m.municipality_total,
            m.implementing_count,
            status_text(m),
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
    row = MATRIX_LABEL_ROW + 1
    measure_ids = [m.measure_id for m in measures]
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
    put(ws, row, 1, TOTAL_LABEL, font=BOLD, align=NO_WRAP, fill=TOTAL_FILL, border=BOX)
    for col in (2, 3):
        put(ws, row, col, None, fill=TOTAL_FILL, border=BOX)
    totals = [counts[measure_id] for measure_id in measure_ids]
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


TARGET_HEADER_ROW = 4


def target_format(values: Iterable[float | None]) -> str:
    """One number format for every rate of the sheet, with as many decimals (1 or 2) as the most
    precise value written: 84.00 / 86.70 / 96.49 rather than 84.0 / 86.7 / 96.49."""
    two = any(round(v, 1) != v for v in values if v is not None)
    return "0.00" if two else "0.0"


def target_years(ctx: Context) -> list[int]:
    return sorted({t.target_year for t in ctx.data.targets})


def target_order(ctx: Context) -> list[str]:
    from load.export_data import catalog_target_labels

    catalog = list(catalog_target_labels(ctx.data.prefecture_code, ctx.data.fiscal_year))
    seen = [t.target_id for t in ctx.data.targets]
    ordered = [t for t in catalog if t in seen]
    return ordered + [t for t in dict.fromkeys(seen) if t not in ordered]


def target_cell(value: float | None, qualifier: str | None, raw_text: str | None) -> object:
    """A plain number stays a number (unit in the header); anything else is the text as written."""
    if value is not None and qualifier is None:
        return value
    return raw_text if raw_text is not None else (qualifier or "")


def write_targets(ws: Worksheet, ctx: Context) -> None:
    """Seed 004's 収納率 table: per municipality and fiscal year, raw text where not a number."""
    data = ctx.data
    years = target_years(ctx)
    title_block(
        ws,
        ctx,
        f"市町村別の数値目標（収納率等）　{ctx.year_label}調査　{data.prefecture_name}",
        "数値は%（百分率）。数値でない記入（「95％以上」「前年度以上」「【未設定】」等）は原文のまま表示",
        "単位：%",
    )
    widths = (9.0, 12.0, 24.0, *([12.0] * len(years)), 40.0)
    set_widths(ws, widths)
    labels = (
        "市町村コード",
        "市町村名",
        "目標項目",
        *[f"{short_year_label(y)}年度（%）" for y in years],
        "備考",
    )
    header_row(ws, TARGET_HEADER_ROW, labels, height=32)
    grouped: dict[tuple[str, str], dict[int, object]] = {}
    notes: dict[tuple[str, str], list[str]] = {}
    names: dict[str, str] = {}
    label_of: dict[str, str] = {}
    for t in data.targets:
        key = (t.target_id, t.municipality_code)
        names[t.municipality_code] = t.municipality_name
        label_of[t.target_id] = t.target_label
        grouped.setdefault(key, {})[t.target_year] = target_cell(t.value, t.qualifier, t.raw_text)
        if t.note and t.note not in notes.setdefault(key, []):
            notes[key].append(t.note)
    row = TARGET_HEADER_ROW + 1
    # 8,709 rows nationally: repeated texts and the number style are resolved once.
    wrapped = repeated_cells(ws, font=TABLE_FONT, align=WRAP, border=BOX)
    centered = repeated_cells(ws, font=TABLE_FONT, align=CENTER, border=BOX)
    number_style = cell_of(
        ws,
        0.0,
        align=NUMBER_ALIGN,
        border=BOX,
        number_format=target_format(t.value for t in data.targets),
        font=TABLE_FONT,
    )[1]
    target_starts: list[int] = []
    # Row heights from the wrapped texts (9-pt), with the line counts of repeated texts cached.
    w_name, w_label, w_year, w_note = (w * TABLE_WIDTH for w in (widths[1], widths[2], widths[3], widths[-1]))
    heights = _cells(ws).heights
    name_lines: dict[str, int] = {}
    for target_id in target_order(ctx):
        target_starts.append(row)
        label = label_of[target_id]
        label_lines = wrapped_lines(label, w_label)
        for code in sorted(c for (tid, c) in grouped if tid == target_id):
            key = (target_id, code)
            note = "／".join(notes.get(key, []))
            put(ws, row, 1, code, font=TABLE_FONT, align=CENTER, border=BOX)
            values = [grouped[key].get(year) for year in years]
            put_cells(
                ws,
                row,
                2,
                [
                    wrapped(names[code]),
                    wrapped(label),
                    *[(v, number_style) if isinstance(v, float) else centered(v) for v in values],
                    wrapped(note),
                ],
            )
            lines = name_lines.get(code)
            if lines is None:
                lines = name_lines[code] = max(label_lines, wrapped_lines(names[code], w_name))
            if note:
                lines = max(lines, wrapped_lines(note, w_note))
            for v in values:
                if type(v) is str:
                    lines = max(lines, wrapped_lines(v, w_year))
            heights[row] = lines * TABLE_LINE + 3
            row += 1
    finish_table(ws, TARGET_HEADER_ROW, row - 1, len(widths), f"D{TARGET_HEADER_ROW + 1}")
    setup_print(
        ws,
        f"1:{TARGET_HEADER_ROW}",
        widths=widths,
        blocks=_nested_blocks(row - 1, target_starts, []),
        header=ctx.provisional_note,
    )


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


def write_notes(ws: Worksheet, ctx: Context, sheets: Sequence[tuple[str, str]]) -> None:
    """Cover sheet: the survey, data as of, run, units and what each sheet holds."""
    data = ctx.data
    set_widths(ws, (26.0, 90.0))
    put(ws, 1, 1, f"{ctx.survey_title}　集計表", font=TITLE, align=NO_WRAP)
    put(ws, 2, 1, f"{data.prefecture_name}　{ctx.year_label}", font=SUBTITLE, align=NO_WRAP)
    prev = (
        fiscal_year_label(data.fiscal_year - 1)
        if data.has_previous_year
        else "なし（前年度の調査データなし）"
    )
    facts = [
        ("調査", ctx.survey_title),
        ("都道府県", f"{data.prefecture_name}（都道府県コード {data.prefecture_code}）"),
        ("年度", ctx.year_label),
        ("前年度比較", prev),
        ("データ時点", ctx.data_as_of),
        (
            "回答状況",
            f"{ctx.provisional_note}（回答のない市町村は集計に含まれていません）"
            if ctx.provisional_note
            else f"全{data.municipality_count}市町村が回答済み",
        ),
        ("実行ID", ctx.run_id),
        ("作成日時", ctx.generated_at),
        ("取組数", f"{len(data.measures)}項目"),
        ("対象市町村数", f"{max((m.municipality_total for m in data.measures), default=0)}市町村"),
    ]
    header_row(ws, 4, ("項目", "内容"))
    row = 5
    for key, value in facts:
        put(ws, row, 1, key, font=BOLD, align=WRAP, border=BOX)
        put(ws, row, 2, value, align=WRAP, border=BOX)
        row_height(ws, row, wrapped_height(((value, 90.0),)))
        row += 1
    row += 1
    put(ws, row, 1, "シート一覧", font=SUBTITLE, align=NO_WRAP)
    row += 1
    header_row(ws, row, ("シート名", "内容"))
    row += 1
    for name, description in sheets:
        put(ws, row, 1, name, align=WRAP, border=BOX)
        put(ws, row, 2, description, align=WRAP, border=BOX)
        row_height(ws, row, wrapped_height(((name, 26.0), (description, 90.0))))
        row += 1
    row += 1
    put(ws, row, 1, "凡例・単位", font=SUBTITLE, align=NO_WRAP)
    row += 1
    legend = [
        "実施予定市町村数の単位は市町村。割合（%）は小数点以下を四捨五入。",
        f"（{MARKER_UP}）昨年度より実施市町村が増加、（{MARKER_DOWN}）減少、（{MARKER_NEW}）{era_year(data.fiscal_year)}の新たな取組。",
        f"「{NONE_MARK}」は個別に予算化している市町村がないことを示す。",
        "数値目標の単位は%。数値でない記入は市町村の記入どおり表示。",
        "data_ で始まるシートは機械処理用（1セル1データ、セル結合なし）。印刷されないよう非表示にしています"
        "（Excel：シート見出しを右クリック→「再表示」）。",
        "印刷：各シートはA4横（市町村別実施状況はA3横）で、ページ番号はシートごと。"
        "グラフのシートはグラフだけを1ページに1つずつ印刷します（数値は左の表と「取組状況」）。",
    ]
    for text in legend:
        put(ws, row, 1, "・", align=NO_WRAP)
        put(ws, row, 2, text, align=WRAP)
        row_height(ws, row, wrapped_height(((text, 90.0),)))
        row += 1
    setup_print(ws, "1:2", widths=(26.0, 90.0), header=ctx.provisional_note)


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
