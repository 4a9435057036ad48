"""Print settings of the summary workbook (issue 5): every presentation sheet prints on A4 landscape,
fitted to the page width, with its header rows repeated on each page; frozen header and autofilter.

Checked on the saved file (openpyxl reading it back, and the raw XML Excel and LibreOffice read).
The rendered look was checked once by hand with LibreOffice headless (see the issue).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from test_export import build_fixture_db  # the one fixture builder (tests/test_export.py)

from load.export_excel import export_summary

SECTION_SHEETS = ["1 保険税関係", "3 医療費適正化関係"]
# sheet -> (repeated rows, frozen cell)
PRESENTATION = {
    **dict.fromkeys(SECTION_SHEETS, ("$1:$4", "A5")),
    "取組状況": ("$1:$4", "D5"),
    "数値目標": ("$1:$4", "D5"),
    "提出状況": ("$1:$4", "A5"),
    "図1 保険税関係": ("$1:$4", "A5"),
    "市町村別実施状況": ("$4:$5", "D6"),
}


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("print")
    db = build_fixture_db(base / "kokuho.duckdb")
    return export_summary(db, 2024, base / "summary.xlsx", run_info={"run_id": "run-print"})


@pytest.mark.parametrize("sheet", list(PRESENTATION))
def test_a4_landscape_fit_to_width_with_repeated_header(workbook: Path, sheet: str) -> None:
    ws = load_workbook(workbook)[sheet]
    rows, frozen = PRESENTATION[sheet]
    assert ws.page_setup.paperSize == 9  # A4
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert ws.page_setup.fitToHeight == 0  # as many pages down as needed
    if sheet != "市町村別実施状況":
        assert ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows == rows
    assert ws.freeze_panes == frozen
    assert ws.auto_filter.ref
    assert "&P" in ws.oddFooter.center.text


@pytest.mark.parametrize("sheet", SECTION_SHEETS)
def test_section_sheet_widths_and_wrapping(workbook: Path, sheet: str) -> None:
    ws = load_workbook(workbook)[sheet]
    assert [ws.column_dimensions[c].width for c in "ABC"] == [62.0, 12.0, 62.0]
    assert ws.auto_filter.ref.startswith("A4:C")
    header = [ws.cell(4, c) for c in (1, 2, 3)]
    assert all(c.alignment.wrap_text and c.font.b for c in header)
    measure_rows = [r for r in ws.iter_rows(min_row=5) if isinstance(r[1].value, int)]
    assert measure_rows
    for row in measure_rows:
        assert row[0].alignment.wrap_text and row[2].alignment.wrap_text
        assert ws.row_dimensions[row[0].row].height >= 18


def test_print_titles_in_workbook_xml(workbook: Path) -> None:
    """What Excel and LibreOffice read: one _xlnm.Print_Titles per sheet, pageSetup A4 landscape."""
    with zipfile.ZipFile(workbook) as archive:
        book = archive.read("xl/workbook.xml").decode()
        sheets = re.findall(r'<sheet name="([^"]+)"', book)
        for sheet in SECTION_SHEETS:
            index = sheets.index(sheet)
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
