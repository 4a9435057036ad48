"""Section sheets: each measure of a section with its answer and the municipalities' own initiatives."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openpyxl.styles import Alignment
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.worksheet import Worksheet

from kokuho.catalog import era_year_label
from load.export_data import MeasureRow
from load.export_sheets.cells import put, row_height, set_widths, wrapped_height
from load.export_sheets.pages import setup_print
from load.export_sheets.style import (
    BASE,
    BOLD,
    BOX,
    CENTER,
    HEADING_ALIGNS,
    HEADING_FILL,
    NO_OWN,
    NO_WRAP,
    NONE_MARK,
    OWN_HEADING,
    SUBTITLE,
    WRAP,
    WRAP_INDENT,
)
from load.export_sheets.tables import Context, finish_table, header_row, title_block
from load.export_sheets.texts import budget_text, heading_texts, own_rows_by_table

if TYPE_CHECKING:
    from kokuho.catalog import Lead, Section

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
            f"【{era_year_label(data.fiscal_year)}の具体的な取組内容（予定）】",
            "実施予定市町村数",
            "個別に予算化している市町村における主な予算事業名",
        ),
        height=32,
    )
    own = own_rows_by_table(data.own_initiatives)
    row = SECTION_HEADER_ROW + 1
    catalog_section = _catalog_section(data.prefecture_code, data.fiscal_year, section_no)
    previous: tuple[int, str | None, int | None] | None = None
    written_tables: list[str] = []
    # Print layout: a subsection, and within it each table (headings, measures, own
    # initiatives), is kept on one page where it fits; headings never end a page.
    subsection_starts: list[int] = []
    table_starts: list[int] = []
    headings: set[int] = set()
    lead_start = row
    row = _lead_block(ws, row, catalog_section.lead if catalog_section else None, headings)
    for m in measures:
        key = (m.subsection_no, m.group_code, m.subgroup_no)
        if key != previous:
            if written_tables:
                row = _own_block(ws, row, own.get(written_tables[-1], []), headings)
            table_starts.append(row)
            lead = catalog_section.subsection_lead(m.subsection_no) if catalog_section else None
            row = _table_headings(ws, row, m, previous, headings, subsection_starts, lead)
            previous = key
            written_tables.append(m.table_id)
        _measure_row(ws, row, m)
        row += 1
    if written_tables:
        row = _own_block(ws, row, own.get(written_tables[-1], []), headings)
    if subsection_starts and lead_start < subsection_starts[0]:
        # The section's lead starts its first subsection's block: never alone at a page bottom.
        subsection_starts[0] = table_starts[0] = lead_start
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


def _catalog_section(pref: str, fiscal_year: int, section_no: int) -> Section | None:
    """The catalog's section (for its leads); None without a catalog."""
    from kokuho.catalog import catalog_if_any

    catalog = catalog_if_any(pref, fiscal_year)
    if catalog is None:
        return None
    return next((s for s in catalog.sections if s.no == section_no), None)


def _lead_block(ws: Worksheet, row: int, lead: Lead | None, headings: set[int]) -> int:
    """〈運営方針記載の主な取組〉 and its lines across the sheet's width, kept with the table after it."""
    if lead is None:
        return row
    width = sum(SECTION_WIDTHS) - 2
    for index, text in enumerate((lead.heading, *lead.text)):
        put(ws, row, 1, text, font=BOLD if index == 0 else BASE, align=WRAP if index == 0 else WRAP_INDENT)
        # The range only: ws.merge_cells would create openpyxl cells beside the buffered ones.
        ws.merged_cells.add(CellRange(min_col=1, min_row=row, max_col=3, max_row=row))
        row_height(ws, row, wrapped_height(((text, width),)))
        headings.add(row)
        row += 1
    return row


def _table_headings(
    ws: Worksheet,
    row: int,
    m: MeasureRow,
    previous: tuple[int, str | None, int | None] | None,
    headings: set[int],
    subsection_starts: list[int],
    lead: Lead | None = None,
) -> int:
    """The headings above a new table: its subsection's (when that changed) with the subsection's
    lead, its group's (when that changed) and its subgroup's; the row after them."""
    key = (m.subsection_no, m.group_code, m.subgroup_no)
    sub, group, subgroup = heading_texts(m)
    changed = previous is None or previous[0] != key[0]
    if changed:
        subsection_starts.append(row)
        headings.add(row)
        row = _heading(ws, row, sub, 0)
        row = _lead_block(ws, row, lead, headings)
    changed = changed or previous is None or previous[1] != key[1]
    if group and changed:
        headings.add(row)
        row = _heading(ws, row, group, 1)
    if subgroup:
        headings.add(row)
        row = _heading(ws, row, subgroup, 2)
    return row


def _measure_row(ws: Worksheet, row: int, m: MeasureRow) -> None:
    budget = budget_text(m.budget_lines)
    put(ws, row, 1, m.label, align=WRAP_INDENT, border=BOX)
    put(ws, row, 2, m.implementing_count, align=CENTER, border=BOX, number_format="0")
    put(ws, row, 3, budget, align=WRAP, border=BOX)
    row_height(ws, row, wrapped_height(((m.label, SECTION_WIDTHS[0] - 2), (budget, SECTION_WIDTHS[2]))))


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
