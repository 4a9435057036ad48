"""Print layout: page breaks planned from row heights, fit-to-width scale, paper, margins and the
page-counting header and footer."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break, RowBreak
from openpyxl.worksheet.worksheet import Worksheet

from load.export_sheets.cells import _cells

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
            if heights[page_start][0] in keep_with_next and b - 1 == page_start:
                # The whole page is one chain of headings taller than a page: fill it.
                b = i
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
