"""Buffered cells (load.xlsx_cells, written through export_sheets.put) in real .xlsx files, read
back with openpyxl and python-calamine: the values, types and styles openpyxl's own cells give,
and user text never a formula.

Each case is one row of one workbook written twice: through the buffer, and cell by cell with
openpyxl the way the export wrote cells before the buffer (the reference).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from copy import copy
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from python_calamine import CalamineWorkbook

from load import export_sheets as sheets
from load.xlsx_cells import save_workbook, sheet_cells

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

LONG = "長" * 40_000
# (id, value given to put, value openpyxl reads, value calamine reads)
CASES: list[tuple[str, object, object, object]] = [
    ("formula", '=HYPERLINK("http://x","y")', '=HYPERLINK("http://x","y")', '=HYPERLINK("http://x","y")'),
    ("equals", "=1+1", "=1+1", "=1+1"),
    ("plus", "+81 3 1234", "+81 3 1234", "+81 3 1234"),
    ("minus", "-1", "-1", "-1"),
    ("at", "@SUM(A1)", "@SUM(A1)", "@SUM(A1)"),
    ("error_text", "#N/A", "#N/A", "#N/A"),
    (
        "xml_specials",
        "a & b < c > d \"q\" 's' ]]>",
        "a & b < c > d \"q\" 's' ]]>",
        "a & b < c > d \"q\" 's' ]]>",
    ),
    ("control_chars", "a\x00b\x07c\x0b\x0c\x1fd\ufffe", "abcd", "abcd"),
    ("tab_newline", "行1\t列\n行2\n", "行1\t列\n行2\n", "行1\t列\n行2\n"),
    ("spaces", "  前後に空白  ", "  前後に空白  ", "  前後に空白  "),
    ("only_spaces", "   ", "   ", "   "),
    ("empty_text", "", None, ""),
    ("japanese", "（増）○—", "（増）○—", "（増）○—"),
    ("long_text", LONG, LONG[: sheets.MAX_CELL_CHARS - 1] + "…", LONG[: sheets.MAX_CELL_CHARS - 1] + "…"),
    ("int", 1741, 1741, 1741),
    ("negative_int", -7, -7, -7),
    ("big_int", 2**40, 2**40, float(2**40)),
    ("float", 97.25, 97.25, 97.25),
    ("third", 1 / 3, 1 / 3, 1 / 3),
    ("decimal", Decimal("1.5"), 1.5, 1.5),
    ("one", 1, 1, 1),  # equal to True: must not be mixed up with the booleans that follow
    ("zero", 0, 0, 0),
    ("true", True, True, True),
    ("false", False, False, False),
    ("one_again", 1, 1, 1),
    ("none_styled", None, None, ""),
    ("nan", math.nan, None, ""),
    ("infinity", math.inf, None, ""),
    (
        "datetime",
        dt.datetime(2024, 5, 20, 9, 30, 15),
        dt.datetime(2024, 5, 20, 9, 30, 15),
        dt.datetime(2024, 5, 20, 9, 30, 15),
    ),
    ("date", dt.date(2024, 5, 20), dt.datetime(2024, 5, 20), dt.date(2024, 5, 20)),
]
IDS = [c[0] for c in CASES]
FIRST_ROW = 2  # row 1: headers
LABEL = sheets.Font(name=sheets.FONT_NAME, size=10, italic=True)


def _write_fast(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "cases"
    sheets.put(ws, 1, 1, "id", font=sheets.BOLD, fill=sheets.HEADER_FILL)
    sheets.put(ws, 1, 2, "value", font=sheets.BOLD, fill=sheets.HEADER_FILL)
    for row, (name, value, _, _) in enumerate(CASES, start=FIRST_ROW):
        sheets.put(ws, row, 1, name, font=LABEL)
        sheets.put(ws, row, 2, value, align=sheets.WRAP, border=sheets.BOX)
    sheet_cells(ws).put(40, 3, None)  # neither value nor style: counted in the used range, not written
    sheets.row_height(ws, 3, 33.5)
    sheets.row_height(ws, 50, 12)  # a height on a row without cells
    ws.row_dimensions[4].hidden = True  # openpyxl's row attributes survive next to buffered cells
    sheets.row_height(ws, 4, 40)
    ws.row_dimensions[6].height = 25  # a height set the openpyxl way is kept as well
    ws.column_dimensions["B"].width = 30
    ws.freeze_panes = "B2"
    other = wb.create_sheet("openpyxl")  # a sheet written by openpyxl alone is left as it is
    other["A1"] = "plain"
    other["B2"] = 3.5
    save_workbook(wb, path)


def _write_reference(path: Path) -> None:
    """The same cells written the way the export wrote them before the buffer."""
    wb = Workbook()
    ws = wb.active
    ws.title = "cases"

    def cell(row: int, col: int, value: object, **style: object) -> None:
        c = ws.cell(row=row, column=col)
        if isinstance(value, str):
            c.value = sheets.safe_text(value)
            c.data_type = "s"
            if c.value.startswith(sheets.FORMULA_TRIGGERS):
                c.quotePrefix = True
        elif isinstance(value, float) and not math.isfinite(value):
            c.value = None  # openpyxl would write an empty <v/>; same reading
        else:
            c.value = value
        for name, attr in style.items():
            setattr(c, name, attr)

    cell(1, 1, "id", font=sheets.BOLD, fill=sheets.HEADER_FILL)
    cell(1, 2, "value", font=sheets.BOLD, fill=sheets.HEADER_FILL)
    for row, (name, value, _, _) in enumerate(CASES, start=FIRST_ROW):
        cell(row, 1, name, font=LABEL)
        cell(row, 2, value, font=sheets.BASE, alignment=sheets.WRAP, border=sheets.BOX)
    wb.save(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("xlsx_cells")
    fast, reference = folder / "fast.xlsx", folder / "reference.xlsx"
    _write_fast(fast)
    _write_reference(reference)
    return fast, reference


@pytest.fixture(scope="module")
def books(files: tuple[Path, Path]) -> tuple[Workbook, Workbook]:
    return load_workbook(files[0]), load_workbook(files[1])


@pytest.fixture(scope="module")
def calamine_rows(files: tuple[Path, Path]) -> list[list[Any]]:
    sheet = CalamineWorkbook.from_path(str(files[0])).get_sheet_by_name("cases")
    return sheet.to_python(skip_empty_area=False)


def _case_row(name: str) -> int:
    return IDS.index(name) + FIRST_ROW


@pytest.mark.parametrize(("name", "given", "expected", "calamine"), CASES, ids=IDS)
def test_value_read_by_openpyxl(
    books: tuple[Workbook, Workbook], name: str, given: object, expected: object, calamine: object
) -> None:
    c = books[0]["cases"].cell(_case_row(name), 2)
    assert c.value == expected
    assert type(c.value) is type(expected)
    if isinstance(given, str) and expected is not None:
        assert c.data_type == "s"  # text stays text: never a formula ("f") or an error ("e")


@pytest.mark.parametrize(("name", "given", "expected", "calamine"), CASES, ids=IDS)
def test_value_read_by_calamine(
    calamine_rows: list[list[object]], name: str, given: object, expected: object, calamine: object
) -> None:
    assert calamine_rows[_case_row(name) - 1][1] == calamine


@pytest.mark.parametrize("name", IDS)
def test_same_cell_as_openpyxl_writes(books: tuple[Workbook, Workbook], name: str) -> None:
    fast, reference = (b["cases"].cell(_case_row(name), 2) for b in books)
    assert (fast.value, fast.data_type) == (reference.value, reference.data_type)
    assert fast.number_format == reference.number_format
    for part in ("font", "fill", "border", "alignment", "protection"):
        assert copy(getattr(fast, part)) == copy(getattr(reference, part)), part  # copy: the style itself
    assert fast.quotePrefix == reference.quotePrefix
    label_fast, label_reference = (b["cases"].cell(_case_row(name), 1) for b in books)
    assert copy(label_fast.font) == copy(label_reference.font) and label_fast.font.i


@pytest.mark.parametrize("name", ["formula", "equals", "plus", "minus", "at"])
def test_formula_triggers_get_quote_prefix(books: tuple[Workbook, Workbook], name: str) -> None:
    assert books[0]["cases"].cell(_case_row(name), 2).quotePrefix is True


def test_other_text_has_no_quote_prefix(books: tuple[Workbook, Workbook]) -> None:
    assert books[0]["cases"].cell(_case_row("xml_specials"), 2).quotePrefix is False


def test_sheet_xml_is_well_formed_and_has_no_formula(files: tuple[Path, Path]) -> None:
    with zipfile.ZipFile(files[0]) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml")
    ElementTree.fromstring(xml)  # raises on anything a reader would reject
    assert b"<f>" not in xml and b"<f " not in xml
    assert b'xml:space="preserve"' in xml


def test_dates_get_a_date_format(books: tuple[Workbook, Workbook]) -> None:
    ws = books[0]["cases"]
    assert ws.cell(_case_row("datetime"), 2).number_format == "yyyy-mm-dd h:mm:ss"
    assert ws.cell(_case_row("date"), 2).number_format == "yyyy-mm-dd"
    assert ws.cell(_case_row("int"), 2).number_format == "General"


def test_styled_empty_cells_are_written(books: tuple[Workbook, Workbook]) -> None:
    ws = books[0]["cases"]
    for name in ("none_styled", "nan", "infinity"):
        c = ws.cell(_case_row(name), 2)
        assert c.value is None
        assert c.border.left.style == "thin"  # the table's box is drawn around empty cells too
    assert (40, 3) not in ws._cells  # no value, no style: nothing in the file


def test_used_range_counts_every_put(files: tuple[Path, Path]) -> None:
    ws = load_workbook(files[0], read_only=True)["cases"]
    assert ws.calculate_dimension() == "A1:C40"  # read-only mode trusts the <dimension> element


def test_row_heights_and_openpyxl_row_attributes(books: tuple[Workbook, Workbook]) -> None:
    rows = books[0]["cases"].row_dimensions
    assert rows[3].height == 33.5 and rows[3].customHeight
    assert rows[4].height == 40 and rows[4].hidden
    assert rows[6].height == 25
    assert rows[50].height == 12
    assert rows[5].height is None


def test_sheet_settings_and_openpyxl_sheet_kept(books: tuple[Workbook, Workbook]) -> None:
    book = books[0]
    assert book["cases"].freeze_panes == "B2"
    assert book["cases"].column_dimensions["B"].width == 30
    assert book["openpyxl"]["A1"].value == "plain"
    assert book["openpyxl"]["B2"].value == 3.5


def test_long_text_cut_at_excel_limit(books: tuple[Workbook, Workbook]) -> None:
    value = books[0]["cases"].cell(_case_row("long_text"), 2).value
    assert len(value) == sheets.MAX_CELL_CHARS and value.endswith("…")


def test_openpyxl_cells_and_buffered_cells_do_not_mix() -> None:
    wb = Workbook()
    ws = wb.active
    sheets.put(ws, 1, 1, "buffered")
    ws["B1"] = "openpyxl"
    with pytest.raises(ValueError, match="混在"):
        save_workbook(wb, io.BytesIO())


def test_put_cells_writes_a_row_of_shared_cells() -> None:
    wb = Workbook()
    ws = wb.active
    mark = sheets.cell_of(ws, "=○", align=sheets.CENTER, border=sheets.BOX)
    blank = sheets.cell_of(ws, None, align=sheets.CENTER, border=sheets.BOX)
    sheets.put_cells(ws, 2, 3, [mark, blank, mark])
    out = io.BytesIO()
    save_workbook(wb, out)
    read = load_workbook(out).active
    assert [read.cell(2, c).value for c in (3, 4, 5)] == ["=○", None, "=○"]
    assert read.cell(2, 3).quotePrefix and read.cell(2, 3).data_type == "s"
    assert read.cell(2, 4).border.top.style == "thin"
    assert read.cell(1, 1).value is None  # cell_of writes nothing by itself


def test_last_write_to_a_cell_wins() -> None:
    wb = Workbook()
    ws = wb.active
    sheets.put(ws, 1, 1, "first")
    sheets.put(ws, 1, 1, 2.5, number_format="0.0")
    cells = sheet_cells(ws)
    out = io.BytesIO()
    save_workbook(wb, out)
    read = load_workbook(out).active
    assert read["A1"].value == 2.5 and read["A1"].number_format == "0.0"
    assert cells.get(1, 1) is not None


def test_styles_are_shared_not_repeated(files: tuple[Path, Path]) -> None:
    with zipfile.ZipFile(files[0]) as archive:
        styles = archive.read("xl/styles.xml").decode()
    declared = re.search(r'<cellXfs count="(\d+)"', styles)
    assert declared is not None
    xfs = int(declared.group(1))
    assert xfs < 10  # one per style combination, not one per cell


def test_scratch_cells_do_not_enter_the_sheet() -> None:
    wb = Workbook()
    ws = wb.active
    sheets.put(ws, 3, 3, "x", font=sheets.BOLD, border=sheets.BOX)
    assert ws._cells == {}
    assert isinstance(Cell(ws), Cell)  # openpyxl's own cells still work on other sheets


@pytest.mark.parametrize(
    "value",
    [object(), dt.datetime(2024, 5, 20, 9, 30, tzinfo=dt.UTC)],
    ids=["unknown_type", "aware_datetime"],
)
def test_values_excel_cannot_hold_fail_loudly(value: object) -> None:
    wb = Workbook()
    sheets.put(wb.active, 1, 1, value)
    with pytest.raises(TypeError):
        save_workbook(wb, io.BytesIO())


class _DiskFull(io.BytesIO):
    def write(self, data: ReadableBuffer, /) -> int:
        if self.tell() > 50_000:
            raise OSError(28, "No space left on device")
        return super().write(data)


def test_write_failure_while_streaming_a_sheet_is_raised() -> None:
    wb = Workbook()
    ws = wb.active
    for row in range(1, 3001):
        for col in range(1, 11):
            sheets.put(ws, row, col, f"{row}-{col} 行", border=sheets.BOX)
    with pytest.raises(OSError, match="No space"):
        save_workbook(wb, _DiskFull())


def test_row_zero_is_refused() -> None:
    wb = Workbook()
    sheets.put(wb.active, 0, 1, "x")
    with pytest.raises(ValueError, match="start at 1"):
        save_workbook(wb, io.BytesIO())
