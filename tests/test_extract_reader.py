"""extract_file (in-process): raw cells with keys, and the facts transform needs to flag cells that
values alone would hide (formulas without a cached value, error values, merged ranges, hidden
sheets and rows, percent formats), read from the sheet XML. Every workbook is built here."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from workbook_factory import rezip as rezip_bytes

from extract.container import Limits
from extract.model import ExtractedWorkbook, RawSheet
from extract.reader import extract_file

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET1 = "xl/worksheets/sheet1.xml"


def build(path: Path, fill: Callable[[openpyxl.Workbook], None]) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "表紙"
    wb.active["A1"] = "kokuho:cover"
    fill(wb)
    wb.save(path)
    return path


def rezip(path: Path, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> Path:
    """Rewrite an xlsx in place with some parts replaced or added."""
    path.write_bytes(rezip_bytes(path.read_bytes(), replace, add))
    return path


def with_sheet_xml(path: Path, sheet_data: str, *, root: str = "worksheet", extra: str = "") -> Path:
    """Replace the first sheet's XML by hand-written XML (what openpyxl would never write)."""
    build(path, lambda wb: None)
    xml = f'<?xml version="1.0" encoding="UTF-8"?><{root} xmlns="{MAIN_NS}">{extra}<sheetData>{sheet_data}</sheetData></{root}>'
    if root.startswith("x:"):
        xml = xml.replace(f'xmlns="{MAIN_NS}"', f'xmlns:x="{MAIN_NS}"')
    return rezip(path, replace={SHEET1: xml.encode()})


def extract(path: Path) -> ExtractedWorkbook:
    return extract_file(path, Limits())


def first_sheet(path: Path) -> RawSheet:
    result = extract(path)
    assert result.issues == []
    return result.sheets[0]


# --- values and keys ---------------------------------------------------------------------------


def test_rows_keys_and_values(tmp_path: Path) -> None:
    def fill(wb: openpyxl.Workbook) -> None:
        ws = wb.active
        ws["A1"] = "  kokuho:cover　"  # ASCII and full-width spaces around the key
        ws["A3"] = " meta:municipality_code "
        ws["C3"] = "111007"
        ws["A4"] = "contact:phone"  # a key with no value: still a row
        ws["D6"] = 95  # a value with no key
        ws["E6"] = 0.5
        ws["F6"] = True
        ws["G6"] = dt.datetime(2024, 4, 1)
        ws["B7"] = "１行目\n２行目"  # kept exactly as written

    sheet = first_sheet(build(tmp_path / "values.xlsx", fill))
    assert sheet.title == "表紙"
    assert sheet.key == "kokuho:cover"
    assert sheet.visible is True
    rows = {row.row_no: row for row in sheet.rows}
    assert sorted(rows) == [1, 3, 4, 6, 7]  # empty rows 2 and 5 left out
    assert rows[3].key == "meta:municipality_code"
    assert rows[3].cells == {"C": "111007"}
    assert (rows[4].key, rows[4].cells) == ("contact:phone", {})
    assert rows[6].key is None
    assert rows[6].cells["D"] == 95 and rows[6].cells["E"] == 0.5 and rows[6].cells["F"] is True
    assert rows[6].cells["G"] == dt.date(2024, 4, 1)  # calamine gives a date for midnight
    assert rows[7].cells == {"B": "１行目\n２行目"}
    assert all("A" not in row.cells for row in sheet.rows)


def test_data_far_from_a1_keeps_its_addresses(tmp_path: Path) -> None:
    def fill(wb: openpyxl.Workbook) -> None:
        ws = wb.create_sheet("余白")
        ws["D10"] = "x"
        ws["AB12"] = 3

    result = extract(build(tmp_path / "offset.xlsx", fill))
    sheet = result.sheets[1]
    assert sheet.key is None
    assert [(row.row_no, row.cells) for row in sheet.rows] == [(10, {"D": "x"}), (12, {"AB": 3})]
    assert sheet.dimension == "D10:AB12"


# --- one quirk, one expected fact --------------------------------------------------------------


def _formula(wb: openpyxl.Workbook) -> None:
    wb.active["D5"] = "=1+1"  # openpyxl stores formulas without a cached value


def _error(code: str) -> Callable[[openpyxl.Workbook], None]:
    def fill(wb: openpyxl.Workbook) -> None:
        wb.active["D6"] = code
        wb.active["D6"].data_type = "e"

    return fill


def _merged(wb: openpyxl.Workbook) -> None:
    wb.active["D8"] = "○"
    wb.active.merge_cells("D8:D9")


def _hidden_sheet(state: str) -> Callable[[openpyxl.Workbook], None]:
    def fill(wb: openpyxl.Workbook) -> None:
        ws = wb.create_sheet("隠し")
        ws["A1"] = "kokuho:section:9"
        ws.sheet_state = state

    return fill


def _hidden_row(wb: openpyxl.Workbook) -> None:
    wb.active["A7"] = "measure:M007"
    wb.active["D7"] = "○"
    wb.active.row_dimensions[7].hidden = True


def _percent(number_format: str) -> Callable[[openpyxl.Workbook], None]:
    def fill(wb: openpyxl.Workbook) -> None:
        wb.active["D4"] = 0.95
        wb.active["D4"].number_format = number_format

    return fill


def _sheet(result: ExtractedWorkbook, title: str = "表紙") -> RawSheet:
    return next(sheet for sheet in result.sheets if sheet.title == title)


QUIRKS: list[
    tuple[str, Callable[[openpyxl.Workbook], None], Callable[[ExtractedWorkbook], object], object]
] = [
    ("formula_address", _formula, lambda r: _sheet(r).formula_without_value, ["D5"]),
    ("formula_text", _formula, lambda r: _sheet(r).formula_text, {"D5": "1+1"}),
    ("formula_no_value_cell", _formula, lambda r: [row.row_no for row in _sheet(r).rows], [1]),
    ("error_ref", _error("#REF!"), lambda r: _sheet(r).error_cells, {"D6": "#REF!"}),
    ("error_div0", _error("#DIV/0!"), lambda r: _sheet(r).error_cells, {"D6": "#DIV/0!"}),
    ("merged", _merged, lambda r: _sheet(r).merged_ranges, ["D8:D9"]),
    ("hidden_sheet", _hidden_sheet("hidden"), lambda r: _sheet(r, "隠し").visible, False),
    ("very_hidden_sheet", _hidden_sheet("veryHidden"), lambda r: _sheet(r, "隠し").visible, False),
    ("hidden_sheet_key", _hidden_sheet("hidden"), lambda r: _sheet(r, "隠し").key, "kokuho:section:9"),
    (
        "hidden_row",
        _hidden_row,
        lambda r: [(row.row_no, row.hidden) for row in _sheet(r).rows],
        [(1, False), (7, True)],
    ),
    ("percent_custom", _percent("0.0%"), lambda r: _sheet(r).percent_cells, {"D4"}),
    ("percent_builtin", _percent("0%"), lambda r: _sheet(r).percent_cells, {"D4"}),
    ("percent_value_kept", _percent("0.0%"), lambda r: _sheet(r).rows[-1].cells, {"D": 0.95}),
    ("not_percent", _percent("0.00"), lambda r: _sheet(r).percent_cells, set()),
    # A quoted % is a literal sign: Excel does not multiply by 100, so the value is not a ratio.
    ("quoted_percent_sign_is_literal", _percent('0.0"%"'), lambda r: _sheet(r).percent_cells, set()),
    ("plain_xlsx_kind", lambda wb: None, lambda r: (r.file_kind, r.has_macros), ("xlsx", False)),
]


@pytest.mark.parametrize(("fill", "observe", "expected"), [q[1:] for q in QUIRKS], ids=[q[0] for q in QUIRKS])
def test_quirk(tmp_path: Path, fill, observe, expected) -> None:
    result = extract(build(tmp_path / "quirk.xlsx", fill))
    assert result.issues == []
    assert observe(result) == expected


MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [(MACRO_MAIN, ("xlsm", True)), (XLSX_MAIN, ("xlsx", True))],
    ids=["xlsm", "xlsx_with_stray_vba"],
)
def test_macros(tmp_path: Path, content_type: str, expected: tuple[str, bool]) -> None:
    path = build(tmp_path / "book.xlsm", lambda wb: None)
    with zipfile.ZipFile(path) as archive:
        types = archive.read("[Content_Types].xml").decode()
    assert XLSX_MAIN in types
    rezip(
        path,
        replace={"[Content_Types].xml": types.replace(XLSX_MAIN, content_type).encode()},
        add={"xl/vbaProject.bin": b"\xcc" * 64},
    )
    result = extract(path)
    assert result.issues == []
    assert (result.file_kind, result.has_macros) == expected
    assert result.sheets[0].key == "kokuho:cover"


# --- hand-written sheet XML: what the scan must not be fooled by -------------------------------

CELL = '<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


@pytest.mark.parametrize(
    ("sheet_data", "kwargs", "code"),
    [
        # The extent is found whatever the prefix, attribute order or decoys in other attributes.
        (
            '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>k</x:t></x:is></x:c></x:row>'
            '<x:row r="2"><x:c r="XFD2"><x:v>1</x:v></x:c></x:row>',
            {"root": "x:worksheet"},
            "SHEET_TOO_LARGE",
        ),
        ('<row r="1"><c s="0" r="XFD1"><v>1</v></c></row>', {}, "SHEET_TOO_LARGE"),
        ('<row r="1"><c foo=\'r="A1"\' r="A1048576"><v>1</v></c></row>', {}, "SHEET_TOO_LARGE"),
        # Cells without r="...": counted one after the other.
        ('<row r="1">' + "<c><v>1</v></c>" * 70 + "</row>", {}, "SHEET_TOO_LARGE"),
        # A declared used range alone is enough.
        (
            '<row r="1"><c r="A1"><v>1</v></c></row>',
            {"extra": '<dimension ref="A1:B9999"/>'},
            "SHEET_TOO_LARGE",
        ),
        # Not XML: an unquoted reference a lenient parser might still follow.
        ('<row r="1"><c><v>1</v></c><c r=XFD1><v>1</v></c></row>', {}, "CORRUPT_WORKBOOK"),
    ],
    ids=["prefixed", "r_not_first", "decoy_attribute", "no_r_70_columns", "dimension", "unquoted"],
)
def test_sheet_xml_tricks(tmp_path: Path, sheet_data: str, kwargs: dict[str, str], code: str) -> None:
    result = extract(with_sheet_xml(tmp_path / "trick.xlsx", sheet_data, **kwargs))
    assert [issue.code for issue in result.issues] == [code]
    assert result.sheets == []


def test_cells_without_references_are_placed_in_order(tmp_path: Path) -> None:
    data = (
        '<row r="1">' + CELL.format(ref="A1", text="kokuho:cover") + "</row>"
        '<row r="3"><c t="inlineStr"><is><t>key</t></is></c><c><v>2</v></c>'
        '<c t="e"><v>#N/A</v></c><c><f>1+1</f></c></row>'
        '<row hidden="1"><c><v>4</v></c></row>'
    )
    sheet = first_sheet(with_sheet_xml(tmp_path / "no_refs.xlsx", data))
    assert [(row.row_no, row.key, row.cells, row.hidden) for row in sheet.rows] == [
        (1, "kokuho:cover", {}, False),
        (3, "key", {"B": 2.0}, False),
        (4, "4.0", {}, True),  # a row without r follows the previous one; a number key becomes text
    ]
    assert sheet.error_cells == {"C3": "#N/A"}
    assert sheet.formula_without_value == ["D3"]


def test_cached_formula_values_are_not_reported(tmp_path: Path) -> None:
    data = (
        '<row r="1">' + CELL.format(ref="A1", text="kokuho:cover") + "</row>"
        '<row r="2"><c r="D2"><f>1+1</f><v>2</v></c><c r="E2" t="str"><f>""</f><v></v></c></row>'
    )
    sheet = first_sheet(with_sheet_xml(tmp_path / "cached.xlsx", data))
    assert sheet.formula_without_value == []
    assert sheet.rows[-1].cells == {"D": 2.0}


def test_missing_sheet_part_is_corrupt(tmp_path: Path) -> None:
    path = build(tmp_path / "missing.xlsx", lambda wb: wb.create_sheet("2"))
    data = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(data, "w") as dst:
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet2.xml":
                dst.writestr(info.filename, src.read(info))
    path.write_bytes(data.getvalue())
    result = extract(path)
    assert [issue.code for issue in result.issues] == ["CORRUPT_WORKBOOK"]


def test_unreadable_path_is_reported_not_raised(tmp_path: Path) -> None:
    result = extract(tmp_path / "gone.xlsx")
    assert [issue.code for issue in result.issues] == ["PARSE_FAILED"]
    assert result.file_name == "gone.xlsx"


# --- the sheet scan's extent: fast path for A1..Z999, exact otherwise -----------------------------

SHEET_XML = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{}</sheetData></worksheet>'


@pytest.mark.parametrize(
    ("cells", "exact", "extent"),
    [
        ('<row r="1"><c r="A1" t="inlineStr"><is><t>kokuho:cover</t></is></c></row>', False, (999, 26)),
        ('<row r="9"><c r="Z999"><v>1</v></c></row>', False, (999, 26)),
        ('<row r="1"><c r="AA1"><v>1</v></c></row>', True, (1, 27)),
        ('<row r="1000"><c r="B1000"><v>1</v></c></row>', True, (1000, 2)),
        ('<row r="1"><c r="$C$7"><v>1</v></c></row>', True, (7, 3)),
        ('<row r="1"><c s="1" r="D4"><v>1</v></c></row>', True, (4, 4)),
        ('<row r="1"><c r="A1"/><c r="XFD1048576"><v>1</v></c></row>', True, (1048576, 16384)),
        ('<row r="1"><c><v>1</v></c><c><v>2</v></c></row>', True, (1, 2)),
    ],
)
def test_sheet_extent(cells: str, exact: bool, extent: tuple[int, int]) -> None:
    from extract.sheetscan import SheetScan, scan_sheet_xml

    scan = scan_sheet_xml(
        SHEET_XML.format(cells).encode(),
        frozenset(),
        SheetScan("s", True, "worksheet", "p"),
        small_extent_ok=True,
    )
    assert (scan.extent_exact, (scan.max_row, scan.max_col)) == (exact, extent)
