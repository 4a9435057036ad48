"""Print layout of the summary workbook: every printed sheet is A4 landscape (the matrix A3 portrait),
fitted to the page width, with its header rows repeated, a manual break at the end of every page
that keeps subsections together and never leaves a heading at a page bottom, row heights from the
wrapped text, page numbers per sheet, no run ID in public headers, data sheets not printed, and
【暫定】 while a municipality has no accepted file.

Checked on the saved file (openpyxl reading it back, and the raw XML Excel and LibreOffice read).
The rendered pages were checked by hand with LibreOffice headless (pdftoppm).
"""

from __future__ import annotations

import dataclasses
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from test_export import build_fixture_db  # the one fixture builder (tests/test_export.py)

from load import export_sheets as sheets
from load.export_data import MeasureRow, OwnInitiative, SubmissionRow, SummaryData, TargetRow
from load.export_excel import build_workbook, export_summary
from load.xlsx_cells import save_workbook

SECTION_SHEETS = ["1 保険税関係", "3 医療費適正化関係"]
# sheet -> (repeated rows, frozen cell)
PRESENTATION = {
    "注記": ("$1:$2", None),
    **dict.fromkeys(SECTION_SHEETS, ("$1:$4", "A5")),
    "取組状況": ("$1:$4", "D5"),
    "数値目標": ("$1:$4", "D5"),
    "提出状況": ("$1:$4", "A5"),
    "市町村別実施状況": ("$4:$5", "D6"),
}
DATA_SHEETS = ["data_measure_summary", "data_budget_lines"]
RUN_ID = "run-print"


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("print")
    db = build_fixture_db(base / "kokuho.duckdb")
    return export_summary(db, 2024, base / "summary.xlsx", run_info={"run_id": RUN_ID})


def _pages(ws: Worksheet) -> int:
    return (len(ws.row_breaks.brk) + 1) * (len(ws.col_breaks.brk) + 1)


@pytest.mark.parametrize("sheet", list(PRESENTATION))
def test_printed_sheets_page_setup(workbook: Path, sheet: str) -> None:
    ws = load_workbook(workbook)[sheet]
    rows, frozen = PRESENTATION[sheet]
    if sheet == "市町村別実施状況":  # A3 portrait at a fixed scale: its column breaks must count
        assert (ws.page_setup.paperSize, ws.page_setup.orientation) == (8, "portrait")
        assert ws.sheet_properties.pageSetUpPr.fitToPage is False
        assert ws.print_title_cols == "$A:$C"
        # every municipality row one height (the sheet default), and a page across per section
        assert ws.sheet_format.customHeight and ws.sheet_format.defaultRowHeight == sheets.MATRIX_ROW_HEIGHT
        assert [b.id for b in ws.col_breaks.brk] == [3 + 5]  # fixture: 5 measures in section 1
    else:
        assert (ws.page_setup.paperSize, ws.page_setup.orientation) == (9, "landscape")
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
    assert 10 <= ws.page_setup.scale <= 100
    assert ws.print_title_rows == rows
    assert ws.freeze_panes == frozen
    # Page numbers count this sheet's pages only (not the whole workbook, not the data sheets).
    assert ws.oddFooter.center.text == f"&P / {_pages(ws)}"
    assert ws.page_setup.firstPageNumber == 1 and ws.page_setup.useFirstPageNumber is True


@pytest.mark.parametrize("sheet", SECTION_SHEETS)
def test_section_sheet_widths_fit_the_page_and_rows_have_heights(workbook: Path, sheet: str) -> None:
    ws = load_workbook(workbook)[sheet]
    widths = [ws.column_dimensions[c].width for c in "ABC"]
    assert widths == list(sheets.SECTION_WIDTHS)
    assert sheets.fit_scale(widths) == ws.page_setup.scale
    printable = sheets.A4[0] - (ws.page_margins.left + ws.page_margins.right) * 72
    assert sum(sheets.column_points(w) for w in widths) * ws.page_setup.scale / 100 <= printable
    assert ws.auto_filter.ref.startswith("A4:C")
    header = [ws.cell(4, c) for c in (1, 2, 3)]
    assert all(c.alignment.wrap_text and c.font.b for c in header)
    body = [r for r in ws.iter_rows(min_row=5) if any(c.value is not None for c in r)]
    assert body
    for row in body:
        assert ws.row_dimensions[row[0].row].height, row[0].row
    measure_rows = [r for r in body if isinstance(r[1].value, int)]
    for row in measure_rows:
        assert row[0].alignment.wrap_text and row[2].alignment.wrap_text
        lines = max(
            sheets.wrapped_lines(str(row[0].value), widths[0] - 2),
            sheets.wrapped_lines(str(row[2].value), widths[2]),
        )
        assert ws.row_dimensions[row[0].row].height == lines * sheets.LINE_HEIGHT + 3


def test_one_line_rows_are_one_line_high() -> None:
    assert sheets.wrapped_lines("コンビニ収納等業務委託料 地方税電子申告支援サービス（共通納税）", 76) == 1
    assert sheets.wrapped_lines("2 保険給付関係", 14) == 1
    assert sheets.wrapped_lines("あ" * 60, 60) == 2
    assert sheets.wrapped_height([("短い", 60.0)]) == sheets.LINE_HEIGHT + 3


def test_print_titles_in_workbook_xml(workbook: Path) -> None:
    """What Excel and LibreOffice read: one _xlnm.Print_Titles per sheet, pageSetup A4 landscape."""
    with zipfile.ZipFile(workbook) as archive:
        book = archive.read("xl/workbook.xml").decode()
        sheets_ = re.findall(r'<sheet name="([^"]+)"', book)
        for sheet in SECTION_SHEETS:
            index = sheets_.index(sheet)
            assert re.search(
                rf'<definedName name="_xlnm.Print_Titles" localSheetId="{index}">\'{sheet}\'!\$1:\$4</definedName>',
                book,
            ), sheet
            xml = archive.read(f"xl/worksheets/sheet{index + 1}.xml").decode()
            setup = re.search(r"<pageSetup [^>]*>", xml)
            assert setup, sheet
            assert 'paperSize="9"' in setup.group(0)
            assert 'orientation="landscape"' in setup.group(0)
            assert 'fitToWidth="1"' in setup.group(0)
            assert 'fitToPage="1"' in xml


def test_no_run_id_in_public_sheets_only_on_the_cover(workbook: Path) -> None:
    wb = load_workbook(workbook)
    for ws in wb.worksheets[1:]:
        texts = [ws.oddHeader.left.text, ws.oddHeader.center.text, ws.oddHeader.right.text]
        texts += [ws.oddFooter.left.text, ws.oddFooter.center.text, ws.oddFooter.right.text]
        texts += [str(c.value) for row in ws.iter_rows(max_row=4) for c in row if c.value is not None]
        assert not any(RUN_ID in (t or "") for t in texts), ws.title
    cover = {r[0]: r[1] for r in wb["注記"].iter_rows(min_row=5, max_col=2, values_only=True) if r[0]}
    assert cover["実行ID"] == RUN_ID


def test_data_sheets_are_not_printed(workbook: Path) -> None:
    wb = load_workbook(workbook)
    for name in DATA_SHEETS:
        assert wb[name].sheet_state == "hidden"
    legend = " ".join(str(c.value) for row in wb["注記"].iter_rows() for c in row if c.value)
    assert "data_ で始まるシート" in legend and "非表示" in legend


def test_provisional_while_a_municipality_is_missing(workbook: Path) -> None:
    """The fixture: 4 municipalities, one without an accepted file."""
    wb = load_workbook(workbook)
    for ws in wb.worksheets:
        if ws.sheet_state == "hidden":
            continue
        assert ws.oddHeader.right.text == "【暫定】回答 3/4市町村", ws.title
    for name in [*SECTION_SHEETS, "取組状況", "数値目標", "市町村別実施状況"]:
        assert str(wb[name]["A3"].value).startswith("【暫定】回答 3/4市町村"), name


def test_chart_sheets_print_one_chart_per_page(workbook: Path) -> None:
    ws = load_workbook(workbook)["図1 保険税関係"]
    assert ws.print_area == "'図1 保険税関係'!$E$1:$N$31"  # the chart, not the table beside it
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True and ws.page_setup.fitToWidth == 1
    assert ws.oddFooter.center.text == "&P / 1"
    # the chart is as tall as the page's rows: a readable size, cut by no page break
    with zipfile.ZipFile(workbook) as archive:
        drawing = next(
            archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/drawings/drawing")
        )
    extent = re.search(r'<ext cx="(\d+)" cy="(\d+)"', drawing) or re.search(r'cx="(\d+)" cy="(\d+)"', drawing)
    assert extent
    height_pt = int(extent.group(2)) / 12700
    assert (
        (sheets.CHART_PAGE_ROWS - 2) * sheets.CHART_ROW_HEIGHT
        <= height_pt
        <= (sheets.CHART_PAGE_ROWS * sheets.CHART_ROW_HEIGHT)
    )


def test_targets_one_number_format(workbook: Path) -> None:
    ws = load_workbook(workbook)["数値目標"]
    formats = {c.number_format for row in ws.iter_rows(min_row=5) for c in row if isinstance(c.value, float)}
    assert len(formats) == 1 and formats <= {"0.0", "0.00"}
    assert sheets.target_format([84.0, 86.7]) == "0.0"
    assert sheets.target_format([84.0, 96.49, None]) == "0.00"


# --- page breaks on a large sheet -------------------------------------------------------------


def _measure(i: int, sub: int, group: str | None, subgroup: int | None, label: str) -> MeasureRow:
    return MeasureRow(
        fiscal_year=2024,
        prefecture_code="11",
        measure_id=f"M{i:03d}",
        section_no=1,
        section="保険税関係",
        subsection_no=sub,
        subsection=f"小項目{sub}の取組",
        group_code=group,
        group_title=f"{group}の区分" if group else None,
        subgroup_no=subgroup,
        subgroup_title="細目" if subgroup else None,
        item_no=i,
        label=label,
        implementing_count=i % 5,
        municipality_total=5,
        implementing_pct=None,
        budget_lines=("予算事業" * (i % 7),) if i % 3 else (),
        prev_year_count=None,
        change_marker=None,
    )


def large_data(answered: int = 5) -> SummaryData:
    """One section of 6 subsections, some with groups and subgroups, long and short labels."""
    measures: list[MeasureRow] = []
    i = 0
    for sub in range(1, 7):
        tables = [(None, None)] if sub % 2 else [("ア", 1), ("ア", 2), ("イ", None)]
        for group, subgroup in tables:
            for _ in range(4 + (sub * 3) % 9):
                i += 1
                label = "取組" * (1 + (i * 7) % 40)
                measures.append(_measure(i, sub, group, subgroup, label))
    codes = [f"11{n:03d}0" for n in range(1, 6)]
    own = [
        OwnInitiative(m.table_id, codes[0], "市", 1, f"独自の取組{m.table_id}", None)
        for m in measures
        if m.item_no % 5 == 0
    ]
    return SummaryData(
        fiscal_year=2024,
        prefecture_code="11",
        prefecture_name="埼玉県",
        measures=measures,
        measure_columns=["measure_id"],
        measure_records=[{"measure_id": m.measure_id} for m in measures],
        own_initiatives=own,
        submissions=[
            SubmissionRow(c, f"市{c}", "受理" if n < answered else "未提出", None, None, None)
            for n, c in enumerate(codes)
        ],
        targets=[TargetRow(codes[0], "市", "T1", "収納率", "%", 2024, 95.5, None, "95.5", None)],
        matrix_municipalities=[(c, f"市{c}") for c in codes],
        matrix={},
        matrix_answered=set(codes[:answered]),
    )


def _context(data: SummaryData) -> sheets.Context:
    return sheets.Context(data, "調査", "run-large", "2024年6月1日 現在", "2024年6月2日 10:00 現在")


@pytest.fixture(scope="module")
def large_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("large") / "large.xlsx"
    save_workbook(build_workbook(_context(large_data())), path)
    return path


def _heading_rows(ws: Worksheet) -> set[int]:
    return {
        c.row
        for c in ws["A"]
        if c.row > 4
        and c.value is not None
        and (c.fill.fgColor.rgb == "00EDEDED" or c.value == sheets.OWN_HEADING)
    }


def _page_rows(ws: Worksheet) -> list[list[int]]:
    last = ws.max_row
    breaks = sorted(b.id for b in ws.row_breaks.brk)
    bounds = [0, *breaks, last]
    return [
        list(range(max(a + 1, 5 if a == 0 else a + 1), b + 1))
        for a, b in zip(bounds, bounds[1:], strict=False)
    ]


def test_large_section_breaks_keep_headings_with_their_rows(large_workbook: Path) -> None:
    ws = load_workbook(large_workbook)["1 保険税関係"]
    breaks = [b.id for b in ws.row_breaks.brk]
    assert len(breaks) >= 3  # several pages: the check below is not vacuous
    headings = _heading_rows(ws)
    assert headings
    assert not set(breaks) & headings  # no page ends on a heading
    capacity = sheets.page_capacity(
        ws.page_setup.scale, sum(ws.row_dimensions[r].height for r in range(1, 5))
    )
    height = {r: ws.row_dimensions[r].height or sheets.DEFAULT_ROW_HEIGHT for r in range(1, ws.max_row + 1)}
    for page in _page_rows(ws):
        assert sum(height[r] for r in page) <= capacity + 1e-6  # no page overflows: no extra breaks
    # A subsection that fits on one page is never split across pages.
    starts = sorted(r for r in headings if ws.cell(r, 1).font.sz == sheets.SUBTITLE.sz)
    ends = [*(s - 1 for s in starts[1:]), ws.max_row]
    for start, end in zip(starts, ends, strict=True):
        if sum(height[r] for r in range(start, end + 1)) <= capacity:
            assert not [b for b in breaks if start <= b < end], (start, end)
    assert ws.oddFooter.center.text == f"&P / {len(breaks) + 1}"


def test_not_provisional_when_every_municipality_answered(large_workbook: Path) -> None:
    wb = load_workbook(large_workbook)
    for ws in wb.worksheets:
        assert "暫定" not in (ws.oddHeader.right.text or ""), ws.title
        assert "暫定" not in str(ws["A3"].value or ""), ws.title


def test_provisional_header_names_the_count(tmp_path: Path) -> None:
    path = tmp_path / "p.xlsx"
    save_workbook(build_workbook(_context(large_data(answered=2))), path)
    wb = load_workbook(path)
    assert wb["1 保険税関係"].oddHeader.right.text == "【暫定】回答 2/5市町村"
    assert wb["取組状況"].oddHeader.right.text == "【暫定】回答 2/5市町村"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(min_value=5, max_value=120), min_size=1, max_size=80),
    st.sets(st.integers(min_value=0, max_value=79)),
    st.floats(min_value=150, max_value=600),
)
def test_plan_pages_never_ends_a_page_on_a_heading(
    heights: list[float], heads: set[int], capacity: float
) -> None:
    rows = [(i + 10, h) for i, h in enumerate(heights)]
    keep = {i + 10 for i in heads if i < len(heights) - 1}
    breaks = sheets.plan_pages(rows, capacity, {}, keep)
    assert breaks == sorted(set(breaks))
    height = dict(rows)
    bounds = [rows[0][0] - 1, *breaks, rows[-1][0]]
    for a, b in zip(bounds, bounds[1:], strict=False):
        page = range(a + 1, b + 1)
        assert page, "empty page"
        all_headings = all(r in keep for r in page)
        # a page ends on a heading only when that cannot be helped: the page is nothing but
        # headings, or the heading, the headings right after it and the row they head are
        # together taller than a page
        headed = b
        while headed in keep:
            headed += 1
        chain = sum(height[r] for r in range(b, headed + 1))
        assert b == rows[-1][0] or b not in keep or all_headings or chain > capacity
        # a page overflows only when its first row alone is taller than a page
        assert sum(height[r] for r in page) <= capacity or height[a + 1] > capacity or all_headings


def test_matrix_pages_across_hold_at_most_a_page_of_columns() -> None:
    measures = large_data().measures
    breaks = sheets.matrix_column_breaks(measures)
    first, last = sheets.MATRIX_FIRST_COL, sheets.MATRIX_FIRST_COL + len(measures) - 1
    bounds = [first - 1, *breaks, last]
    widths = [b - a for a, b in zip(bounds, bounds[1:], strict=False)]
    assert len(widths) > 1 and all(0 < w <= sheets.MATRIX_PAGE_COLUMNS for w in widths)


def test_chart_chunks_split_at_subsections_within_the_limit() -> None:
    measures = large_data().measures
    chunks = sheets.chart_chunks(measures, 16)
    assert sum(n for _, n in chunks) == len(measures)
    assert [s for s, _ in chunks] == sorted({s for s, _ in chunks})
    assert all(0 < n <= 16 for _, n in chunks)
    # a chart starts at a subsection unless the subsection alone is longer than a chart
    for start, _ in chunks[1:]:
        prev, cur = measures[start - 1], measures[start]
        assert (
            prev.subsection_no != cur.subsection_no
            or sum(1 for m in measures if m.subsection_no == cur.subsection_no) > 16
        )


# ---- 〈運営方針記載の主な取組〉: the catalog's lead above the tables it leads -----------------------

LEAD_TITLE = "〈運営方針記載の主な取組〉"


def _column_a(ws: Worksheet) -> list[str]:
    return [str(ws.cell(r, 1).value or "") for r in range(1, ws.max_row + 1)]


def test_section_lead_printed_above_its_first_subsection(workbook: Path) -> None:
    ws = load_workbook(workbook)["1 保険税関係"]
    texts = _column_a(ws)
    title = texts.index(f"{LEAD_TITLE}保険税収納率の向上（P.32～37）") + 1
    heading = texts.index("(1) 納期内納付の促進") + 1
    assert title == 5  # right under the repeated table header
    lines = texts[title : heading - 1]
    assert lines[0] == "市町村の収納対策においては、次の4つの項目に重点的に取り組みます。"
    assert [line.split("：")[0] for line in lines[1:]] == [
        "(1) 納期内納付の促進",
        "(2) 現年度分の早期処理による確実な徴収",
        "(3) 滞納繰越分に対する滞納処分の強化",
        "(4) 徴収できない事案の確実な停止処理",
    ]
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {f"A{r}:C{r}" for r in range(title, heading)} <= merged
    assert ws.cell(title, 1).font.b
    # the long bullet wraps: its row is taller than one line, the short ones are not
    assert ws.row_dimensions[title + 2].height > ws.row_dimensions[title + 1].height
    assert not {b.id for b in ws.row_breaks.brk} & set(range(title, heading))


def test_subsection_lead_printed_under_its_heading(workbook: Path) -> None:
    ws = load_workbook(workbook)["3 医療費適正化関係"]
    texts = _column_a(ws)
    heading = texts.index("(2) 特定健康診査受診率・特定保健指導実施率の向上")
    assert texts[heading + 1] == f"{LEAD_TITLE}特定健康診査受診率・特定保健指導実施率の向上（P.46～47）"
    assert texts[heading + 2].startswith("市町村は、自団体の受診状況を分析し")
    assert texts[heading + 4] == "ア 特定健康診査受診率向上の取組"  # the lead comes before the group


def _lead_catalog(directory: Path) -> None:
    """A catalog for large_data's section: every subsection with a long lead."""
    lines = ["prefecture_code: '11'", "fiscal_year: 2024", "title: 調査", "catalog_version: '1'", "sections:"]
    lines += ["- 'no': 1", "  title: 保険税関係", "  subsections:"]
    for sub in range(1, 7):
        lines += [f"  - 'no': {sub}", f"    title: 小項目{sub}の取組", "    lead:", f"      title: 取組{sub}"]
        lines += ["      pages: P.1", "      text:"]
        lines += [f"      - ・{sub}の方針{n}{'本文' * 30}" for n in range(8)]
        lines += ["    measures:", f"    - id: X{sub}", "      label: 取組"]
    (directory / "11_2024.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_pages_never_end_on_a_lead_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _lead_catalog(tmp_path)
    monkeypatch.setenv("KOKUHO_CATALOG_DIR", str(tmp_path))
    path = tmp_path / "leads.xlsx"
    save_workbook(build_workbook(_context(large_data())), path)
    ws = load_workbook(path)["1 保険税関係"]
    texts = _column_a(ws)
    lead_rows = {r for r, text in enumerate(texts, start=1) if text.startswith((LEAD_TITLE, "・"))}
    assert len(lead_rows) == 6 * 9  # a title and 8 lines for each subsection
    for sub in range(1, 7):
        heading = texts.index(f"({sub}) 小項目{sub}の取組") + 1
        assert texts[heading] == f"{LEAD_TITLE}取組{sub}（P.1）"
    breaks = {b.id for b in ws.row_breaks.brk}
    assert len(breaks) >= 3  # several pages: the check is not vacuous
    assert not breaks & lead_rows


def test_no_lead_without_one_in_the_catalog(tmp_path: Path) -> None:
    """Tokyo (13) has no catalog, so no lead: the same sheet without the lead rows, nothing else changed."""
    sheets_by_pref = {}
    for pref in ("11", "13"):
        path = tmp_path / f"{pref}.xlsx"
        save_workbook(build_workbook(_context(dataclasses.replace(large_data(), prefecture_code=pref))), path)
        sheets_by_pref[pref] = _column_a(load_workbook(path)["1 保険税関係"])
    with_lead, without = sheets_by_pref["11"], sheets_by_pref["13"]
    assert not [t for t in without if LEAD_TITLE in t]
    lead_rows = range(4, with_lead.index("(1) 小項目1の取組"))
    assert with_lead[4].startswith(LEAD_TITLE) and len(lead_rows) == 6
    assert [t for i, t in enumerate(with_lead) if i not in lead_rows] == without


def test_plan_pages_fills_a_page_of_headings_taller_than_a_page() -> None:
    """A long lead: its rows are kept with what follows, but more of them than a page holds fill
    each page rather than leaving one row per page."""
    rows = [(r, 50.0) for r in range(10, 20)]
    assert sheets.plan_pages(rows, 200.0, {}, set(range(10, 19))) == [13, 17]
