"""Real returned workbooks for the ingest tests: the FY2024 Saitama template (kokuho.templates)
filled in the way a municipality would, then one quirk applied, with openpyxl or, where openpyxl
cannot, by editing the zip bytes.

A `Case` is one quirk and what the pipeline must make of it: accepted (with `Expected` staged
values) or quarantined with one issue code at one sheet and cell. Test modules pick cases by name
and build them into a folder with `build_case`; nothing here runs the pipeline.
"""

from __future__ import annotations

import copy
import io
import struct
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import openpyxl
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from demo.workbook import Entry, fill
from kokuho import codelists, layout
from kokuho.catalog import Catalog, load_catalog_for
from kokuho.municipalities import Municipality, check_digit, lookup, municipalities_of
from kokuho.templates import write_template

PREFECTURE = "11"
FISCAL_YEAR = 2024
YES, NO = codelists.ANSWER_YES, codelists.ANSWER_NO
SECTION_1 = layout.section_sheet_key(1)
SECTION_2 = layout.section_sheet_key(2)
_SEC = layout.SECTION_COLUMNS
_TGT = layout.TARGET_COLUMNS

# Measures the quirks write to (catalog order: M001 is yes with a budget line in the base fill,
# M002/M003 blank, M004 yes without a budget line).
YES_PROBE = "M002"
NO_PROBE = "M004"
PROBE = "M003"
TARGET_PROBE = ("collection_rate_current", FISCAL_YEAR)
OWN_TABLE = "1-1"


@cache
def catalog() -> Catalog:
    return load_catalog_for(PREFECTURE, FISCAL_YEAR)


def municipalities() -> list[Municipality]:
    return municipalities_of(PREFECTURE)


def unknown_code() -> str:
    """A well-formed code (valid check digit) of Saitama that names no municipality."""
    known = {m.code for m in municipalities()}
    for n in range(11999, 11000, -1):
        code = f"{n}{check_digit(str(n))}"
        if code not in known:
            return code
    raise AssertionError("no free code")


# --------------------------------------------------------------------------------------------
# What a file should stage
# --------------------------------------------------------------------------------------------

TargetValue = tuple[str | None, float | None, str | None]  # raw text, percent value, qualifier


@dataclass
class Expected:
    municipality_code: str
    answers: dict[str, str]  # measure_id -> ANSWER_YES / ANSWER_NO, every measure
    budget_lines: dict[str, str]  # measure_id -> budget line, only where one is written
    labels: dict[str, str] = field(default_factory=dict)  # measure_id -> label, only edited ones
    own: list[tuple[str, int, str, str | None]] = field(default_factory=list)  # table, n, text, budget
    targets: dict[tuple[str, int], TargetValue] = field(default_factory=dict)  # every target row
    cells: dict[str, tuple[str, str]] = field(default_factory=dict)  # measure_id -> (sheet, answer cell)
    file_kind: str = "xlsx"
    has_macros: bool = False


# --------------------------------------------------------------------------------------------
# A filled template
# --------------------------------------------------------------------------------------------


@dataclass
class Survey:
    """A filled template being edited, with what it should stage and where its issue should be."""

    wb: Workbook
    expected: Expected
    file_code: str  # the code the file name carries
    file_name_part: str  # the municipality name the file name carries
    issue_sheet: str | None = None
    issue_cell: str | None = None

    def sheet(self, key: str) -> Worksheet:
        for ws in self.wb.worksheets:
            if ws["A1"].value == key:
                return ws
        raise KeyError(key)

    def row_of(self, key: str, sheet_key: str | None = None) -> tuple[Worksheet, int]:
        sheets = [self.sheet(sheet_key)] if sheet_key else self.wb.worksheets
        for ws in sheets:
            for (cell,) in ws.iter_rows(min_col=1, max_col=1):
                if cell.value == key:
                    return ws, cell.row
        raise KeyError(key)

    def measure_cell(self, measure_id: str, role: str = "answer") -> tuple[Worksheet, str]:
        ws, row = self.row_of(layout.measure_key(measure_id))
        return ws, f"{_SEC[role]}{row}"

    def set_answer(self, measure_id: str, written: object, staged: str) -> None:
        ws, address = self.measure_cell(measure_id)
        ws[address] = written
        self.expected.answers[measure_id] = staged

    def target_cell(self, target: tuple[str, int] = TARGET_PROBE) -> tuple[Worksheet, str]:
        ws, row = self.row_of(layout.target_key(*target), layout.SHEET_TARGETS)
        return ws, f"{_TGT['value']}{row}"

    def flag(self, ws: Worksheet | str | None, cell: str | None = None) -> None:
        """Where the expected issue is (sheet title, cell)."""
        self.issue_sheet = ws if isinstance(ws, str) or ws is None else ws.title
        self.issue_cell = cell

    def insert_row_after(self, ws: Worksheet, row: int) -> int:
        """A new empty row below `row` (openpyxl shifts the cells below)."""
        ws.insert_rows(row + 1)
        return row + 1


@cache
def _template_bytes(code: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_template(catalog(), lookup(code), Path(tmp) / "t.xlsx")
        return path.read_bytes()


@cache
def _filled_base() -> tuple[Municipality, bytes, Expected]:
    """The first municipality's template, filled once: a third of the measures yes, some with a
    budget line or a note, one own initiative, contact details and every numeric target."""
    muni = municipalities()[0]
    wb = openpyxl.load_workbook(io.BytesIO(_template_bytes(muni.code)))
    expected = Expected(municipality_code=muni.code, answers={}, budget_lines={})
    entries: list[Entry] = []
    for i, measure in enumerate(catalog().measures):
        sheet, key = layout.section_sheet_key(measure.section_no), layout.measure_key(measure.id)
        expected.answers[measure.id] = YES if i % 3 == 0 else NO
        if i % 3 == 0:
            entries.append((sheet, key, _SEC["answer"], YES))
        if i % 9 == 0:
            budget = f"予算事業{measure.id}"
            entries.append((sheet, key, _SEC["budget_line"], budget))
            expected.budget_lines[measure.id] = budget
        if i % 25 == 0:
            entries.append((sheet, key, _SEC["note"], "備考の記入例"))
    own = layout.own_key(OWN_TABLE, 1)
    entries.append((SECTION_1, own, _SEC["label"], "独自の取組（口座振替キャンペーン）"))
    entries.append((SECTION_1, own, _SEC["budget_line"], "独自事業費"))
    expected.own.append((OWN_TABLE, 1, "独自の取組（口座振替キャンペーン）", "独自事業費"))

    for key, value in (
        ("contact:department", "国保年金課"),
        ("contact:person", "埼玉　太郎"),
        ("contact:phone", "048-000-0000"),
        ("contact:email", "kokuho@example.jp"),
    ):
        entries.append((layout.SHEET_COVER, key, layout.COVER_VALUE_COLUMN, value))

    for n, item in enumerate(catalog().numeric_targets):
        for year in item.years(FISCAL_YEAR):
            percent = 90.5 + n + (year - FISCAL_YEAR) * 0.5
            entries.append((layout.SHEET_TARGETS, layout.target_key(item.id, year), _TGT["value"], percent))
            expected.targets[(item.id, year)] = (f"{percent:g}", percent, None)
    fill(wb, entries)
    return muni, to_bytes(wb), expected


def filled(municipality: Municipality) -> Survey:
    """A filled template of `municipality`.

    The base is filled once; for another municipality only what write_template writes
    differently is rewritten (cover code and name, the "name（code）" subtitles), which is much
    cheaper than writing and filling a template per file.
    """
    base, data, base_expected = _filled_base()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    survey = Survey(wb, copy.deepcopy(base_expected), municipality.code, municipality.name)
    survey.expected.municipality_code = municipality.code
    if municipality != base:
        cover = survey.sheet(layout.SHEET_COVER)
        for key, value in (
            (layout.META_MUNICIPALITY_CODE, municipality.code),
            (layout.META_MUNICIPALITY_NAME, municipality.name),
        ):
            _, row = survey.row_of(key, layout.SHEET_COVER)
            cover[f"{layout.COVER_VALUE_COLUMN}{row}"] = value
        old, new = f"{base.name}（{base.code}）", f"{municipality.name}（{municipality.code}）"
        for ws in wb.worksheets:
            subtitle = ws["B2"].value
            if isinstance(subtitle, str) and old in subtitle:
                ws["B2"] = subtitle.replace(old, new)
    return survey


def to_bytes(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def expected_cells(wb: Workbook) -> dict[str, tuple[str, str]]:
    """measure_id -> (sheet, answer cell) of its first keyed row, read back from the workbook."""
    cells: dict[str, tuple[str, str]] = {}
    for ws in wb.worksheets:
        if not str(ws["A1"].value or "").startswith(layout.SHEET_SECTION_PREFIX):
            continue
        for (cell,) in ws.iter_rows(min_col=1, max_col=1):
            value = str(cell.value or "")
            if value.startswith(layout.MEASURE_PREFIX):
                cells.setdefault(value[len(layout.MEASURE_PREFIX) :], (ws.title, f"D{cell.row}"))
    return cells


# --------------------------------------------------------------------------------------------
# Zip and container helpers
# --------------------------------------------------------------------------------------------


def rezip(data: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """A copy of an xlsx with some parts replaced or added."""
    replace, add = replace or {}, add or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info)))
        for name, blob in add.items():
            dst.writestr(name, blob)
    return out.getvalue()


def part(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)


def sheet_part(data: bytes, title: str) -> str:
    """The zip member name of the worksheet titled `title` (openpyxl numbers them in order)."""
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        return f"xl/worksheets/sheet{wb.sheetnames.index(title) + 1}.xml"
    finally:
        wb.close()


def cfb(streams: list[tuple[str, bytes]]) -> bytes:
    """A minimal valid OLE compound file (v3, 512-byte sectors) holding the given streams (at most
    three, each padded to 4096 bytes so no mini stream is needed): what Excel writes for a
    password-protected workbook has the streams EncryptionInfo and EncryptedPackage."""
    sec, endc, free, fatsect = 512, 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    entries, blobs, next_sector = [], [], 2  # sector 0: FAT, sector 1: directory
    for name, blob in streams:
        blob = blob.ljust(max(4096, -(-len(blob) // sec) * sec), b"\0")
        entries.append((name, next_sector, len(blob)))
        blobs.append(blob)
        next_sector += len(blob) // sec
    assert next_sector <= sec // 4 and len(streams) <= 3
    fat = [fatsect, endc]
    for _, start, size in entries:
        count = size // sec
        fat += [start + i + 1 for i in range(count - 1)] + [endc]
    fat += [free] * (sec // 4 - len(fat))

    def entry(name: str, kind: int, child: int, start: int, size: int, right: int = free) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return (
            raw.ljust(64, b"\0")
            + struct.pack("<HBBIII", len(raw), kind, 1, free, right, child)
            + b"\0" * 36
            + struct.pack("<IQ", start, size)
        )

    directory = entry("Root Entry", 5, 1, endc, 0)
    for i, (name, start, size) in enumerate(entries):
        directory += entry(name, 2, free, start, size, right=i + 2 if i + 1 < len(entries) else free)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<9I", 0, 1, 1, 0, 4096, endc, 0, endc, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", free) * 108
    )
    return header + struct.pack(f"<{sec // 4}I", *fat) + directory.ljust(sec, b"\0") + b"".join(blobs)


_CT_XLSX = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_CT_XLSM = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_VBA_REL = (
    b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
    b'Target="vbaProject.bin"/>'
)


def as_xlsm(data: bytes) -> bytes:
    """The package Excel saves as .xlsm: macro-enabled main part and a VBA project."""
    types = part(data, "[Content_Types].xml").replace(_CT_XLSX, _CT_XLSM)
    types = types.replace(
        b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>'
    )
    rels = part(data, "xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>", _VBA_REL + b"</Relationships>"
    )
    vba = cfb([("PROJECT", b'ID="{00000000-0000-0000-0000-000000000000}"\r\nName="VBAProject"\r\n')])
    return rezip(
        data,
        replace={"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels},
        add={"xl/vbaProject.bin": vba},
    )


def zip_bomb(data: bytes) -> bytes:
    """The workbook plus a 2 MiB member of zeros (deflates ~1000:1, over the default 100:1 limit
    for members over 1 MiB) — a few KB on disk."""
    return rezip(data, add={"xl/media/image1.bin": b"\0" * (2 * 1024 * 1024)})


def with_entity(data: bytes) -> bytes:
    """A DTD with an external entity in the first section sheet (the billion-laughs/XXE family)."""
    name = sheet_part(data, layout.section_sheet_title(1, catalog().sections[0].title))
    sheet = part(data, name)
    body = sheet.split(b"?>", 1)[1] if sheet.startswith(b"<?xml") else sheet
    evil = b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    return rezip(data, replace={name: evil + body})


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One quirk. `edit` changes the filled workbook; `post` the saved bytes; `raw` replaces the
    file altogether. `code` None: the file must be accepted."""

    name: str
    edit: Callable[[Survey], None] | None = None
    post: Callable[[bytes], bytes] | None = None
    raw: Callable[[Survey], bytes] | None = None
    code: str | None = None
    suffix: str = ".xlsx"
    file_level: bool = False  # rejected before any sheet is read: no annotated copy can be made

    @property
    def accepted(self) -> bool:
        return self.code is None


@dataclass
class Built:
    case: Case
    path: Path
    expected: Expected
    issue_sheet: str | None
    issue_cell: str | None


def build_case(case: Case, folder: Path, municipality: Municipality) -> Built:
    survey = filled(municipality)
    if case.edit is not None:
        case.edit(survey)
    if case.raw is not None:
        data = case.raw(survey)
    else:
        data = to_bytes(survey.wb)
        if case.post is not None:
            data = case.post(data)
    survey.expected.cells = expected_cells(survey.wb)
    path = folder / f"{survey.file_code}_{survey.file_name_part}_{case.name}{case.suffix}"
    path.write_bytes(data)
    return Built(case, path, survey.expected, survey.issue_sheet, survey.issue_cell)


# -- tolerated ---------------------------------------------------------------------------------


def _yes(symbol: object) -> Callable[[Survey], None]:
    return lambda s: s.set_answer(YES_PROBE, symbol, YES)


def _no(symbol: object) -> Callable[[Survey], None]:
    return lambda s: s.set_answer(NO_PROBE, symbol, NO)


YES_WRITTEN: dict[str, object] = {
    "maru": "○",
    "kanji_zero": "〇",
    "large_circle": "◯",
    "black_circle": "●",
    "check": "✓",
    "one_number": 1,
    "one_text": "1",
    "hai": "はい",
    "ari": "有",
    "jisshi": "実施",
    "yotei": "予定",
    "one_fullwidth": "１",
}
NO_WRITTEN: dict[str, object] = {
    "blank": None,
    "batsu": "×",
    "multiplication_x": "✕",
    "nashi": "無",
    "iie": "いいえ",
    "fullwidth_minus": "－",
    "hyphen": "-",
    "zero_number": 0,
    "zero_text": "0",
}


def _zero_width(s: Survey) -> None:
    s.set_answer(YES_PROBE, "\u200b○\u200b", YES)
    ws, address = s.measure_cell(YES_PROBE, "budget_line")
    ws[address] = "収納\u200b対策事業"
    s.expected.budget_lines[YES_PROBE] = "収納対策事業"


def _line_breaks(s: Survey) -> None:
    s.set_answer(YES_PROBE, "○\n", YES)
    ws, address = s.measure_cell(YES_PROBE, "budget_line")
    ws[address] = "収納対策事業\n（口座振替）"
    s.expected.budget_lines[YES_PROBE] = "収納対策事業 （口座振替）"


def _spaces(s: Survey) -> None:
    s.set_answer(YES_PROBE, "　○ ", YES)  # ideographic and ASCII spaces
    s.set_answer(NO_PROBE, "　", NO)  # only a full-width space: blank
    ws, address = s.measure_cell(YES_PROBE, "budget_line")
    ws[address] = "  収納対策事業　 "
    s.expected.budget_lines[YES_PROBE] = "収納対策事業"


def _full_width(s: Survey) -> None:
    cover = s.sheet(layout.SHEET_COVER)
    _, row = s.row_of(layout.META_MUNICIPALITY_CODE, layout.SHEET_COVER)
    code = s.expected.municipality_code
    cover[f"C{row}"] = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    s.set_answer(YES_PROBE, "１", YES)
    ws, address = s.measure_cell(YES_PROBE, "budget_line")
    ws[address] = "ＩＣＴ活用事業２０２４"  # free text is kept as written (no NFKC)
    s.expected.budget_lines[YES_PROBE] = "ＩＣＴ活用事業２０２４"


def _swap_rows(s: Survey) -> None:
    """M001 (yes, budget line) and M002 (blank) change places, keys included."""
    ws, r1 = s.row_of(layout.measure_key("M001"))
    _, r2 = s.row_of(layout.measure_key("M002"))
    for col in "ABCDEF":
        a, b = ws[f"{col}{r1}"], ws[f"{col}{r2}"]
        a.value, b.value = b.value, a.value


def _insert_row(s: Survey) -> None:
    ws, row = s.row_of(layout.measure_key(PROBE))
    new = s.insert_row_after(ws, row)
    ws[f"C{new}"] = "（市で追加した行）口座振替の推進"
    ws[f"D{new}"] = "○"  # an unkeyed row is not a measure: ignored


def _edit_label(s: Survey) -> None:
    ws, address = s.measure_cell("M001", "label")
    ws[address] = "スマートフォン決済アプリによる収納（当市表記）"
    s.expected.labels["M001"] = "スマートフォン決済アプリによる収納(当市表記)"  # labels are NFKC-normalised


def _rows_above(s: Survey) -> None:
    ws = s.sheet(SECTION_1)
    ws.insert_rows(3, amount=3)
    ws["B3"] = "※ 令和6年4月1日時点で記入"
    ws["B4"] = "担当：国保年金課"


def _rename_sheet(s: Survey) -> None:
    s.sheet(SECTION_1).title = "保険税（回答済）"


def _target(
    written: object, staged: TargetValue, number_format: str | None = None
) -> Callable[[Survey], None]:
    def edit(s: Survey) -> None:
        ws, address = s.target_cell()
        ws[address] = written
        if number_format:
            ws[address].number_format = number_format
        s.expected.targets[TARGET_PROBE] = staged

    return edit


def _extra_own_row(s: Survey) -> None:
    ws, row = s.row_of(layout.own_key(OWN_TABLE, catalog().own_initiative_rows))
    new = s.insert_row_after(ws, row)
    ws[f"C{new}"] = "追加した独自の取組（納付相談会）"
    ws[f"E{new}"] = "納付相談事業"
    s.expected.own.append((OWN_TABLE, 2, "追加した独自の取組（納付相談会）", "納付相談事業"))


def _xlsm(s: Survey) -> None:
    s.expected.file_kind = "xlsm"
    s.expected.has_macros = True


TOLERATED: list[Case] = [
    Case("baseline"),
    *(Case(f"yes_{name}", edit=_yes(symbol)) for name, symbol in YES_WRITTEN.items()),
    *(Case(f"no_{name}", edit=_no(symbol)) for name, symbol in NO_WRITTEN.items()),
    Case("zero_width_space", edit=_zero_width),
    Case("line_breaks", edit=_line_breaks),
    Case("spaces", edit=_spaces),
    Case("full_width", edit=_full_width),
    Case("rows_swapped", edit=_swap_rows),
    Case("row_inserted", edit=_insert_row),
    Case("label_edited", edit=_edit_label),
    Case("rows_above_table", edit=_rows_above),
    Case("sheet_renamed", edit=_rename_sheet),
    Case("target_fullwidth_percent", edit=_target("９５．０％", ("９５．０％", 95.0, None))),
    Case("target_percent_text", edit=_target("95%", ("95%", 95.0, None))),
    Case("target_plain_text", edit=_target("95", ("95", 95.0, None))),
    Case("target_percent_format", edit=_target(0.95, ("95%", 95.0, None), "0.0%")),
    Case("target_at_least", edit=_target("95％以上", ("95％以上", 95.0, codelists.QUALIFIER_AT_LEAST))),
    Case(
        "target_previous_year",
        edit=_target("前年度以上", ("前年度以上", None, codelists.QUALIFIER_PREVIOUS_YEAR_OR_MORE)),
    ),
    Case("target_not_set", edit=_target("【未設定】", ("【未設定】", None, codelists.QUALIFIER_NOT_SET))),
    Case("target_dash", edit=_target("-", ("-", None, codelists.QUALIFIER_NOT_SET))),
    Case("macros", edit=_xlsm, post=as_xlsm, suffix=".xlsm"),
    Case("own_row_added", edit=_extra_own_row),
]


# -- rejected ----------------------------------------------------------------------------------


def _at_probe(written: object, role: str = "answer", measure_id: str = PROBE) -> Callable[[Survey], None]:
    def edit(s: Survey) -> None:
        ws, address = s.measure_cell(measure_id, role)
        ws[address] = written
        s.flag(ws, address)

    return edit


def _merged(s: Survey) -> None:
    ws, address = s.measure_cell(PROBE)
    _, below = s.measure_cell("M004")
    ws.merge_cells(f"{address}:{below}")
    s.flag(ws, f"{address}:{below}")


def _hidden_sheet(s: Survey) -> None:
    ws = s.sheet(SECTION_2)
    ws.sheet_state = "hidden"
    s.flag(ws)


def _hidden_row(s: Survey) -> None:
    ws, address = s.measure_cell(PROBE)
    ws[address] = "○"
    ws.row_dimensions[int(address[1:])].hidden = True
    s.flag(ws, address)


def _cover_municipality(code: str, name: str) -> Callable[[Survey], None]:
    def edit(s: Survey) -> None:
        cover = s.sheet(layout.SHEET_COVER)
        _, code_row = s.row_of(layout.META_MUNICIPALITY_CODE, layout.SHEET_COVER)
        _, name_row = s.row_of(layout.META_MUNICIPALITY_NAME, layout.SHEET_COVER)
        cover[f"C{code_row}"] = code
        cover[f"C{name_row}"] = name
        s.file_code, s.file_name_part = code, name
        s.flag(cover, f"C{code_row}")

    return edit


def _name_mismatch(s: Survey) -> None:
    other = next(m for m in municipalities() if m.code != s.expected.municipality_code)
    cover = s.sheet(layout.SHEET_COVER)
    _, name_row = s.row_of(layout.META_MUNICIPALITY_NAME, layout.SHEET_COVER)
    cover[f"C{name_row}"] = other.name
    s.flag(cover, f"C{name_row}")


def _meta(name: str, value: str) -> Callable[[Survey], None]:
    def edit(s: Survey) -> None:
        cover = s.sheet(layout.SHEET_COVER)
        for (cell,) in cover.iter_rows(min_col=1, max_col=1):
            parsed = layout.parse_meta_key(str(cell.value or ""))
            if parsed and parsed[0] == name:
                cell.value = layout.meta_key(name, value)
        s.flag(cover)

    return edit


def _missing_sheet(s: Survey) -> None:
    ws = s.sheet(SECTION_2)
    s.flag(ws.title)
    s.wb.remove(ws)


def _duplicate(s: Survey) -> None:
    ws, row = s.row_of(layout.measure_key(PROBE))
    last = ws.max_row + 1
    for col in "ABC":
        ws[f"{col}{last}"] = ws[f"{col}{row}"].value
    ws[f"D{last}"] = "○"  # the first row for PROBE is blank
    s.flag(ws, f"D{last}")


def _xfd(s: Survey) -> None:
    ws = s.sheet(SECTION_1)
    ws["XFD1048576"] = "x"
    s.flag(ws)


def _flag_target(written: object) -> Callable[[Survey], None]:
    def edit(s: Survey) -> None:
        ws, address = s.target_cell()
        ws[address] = written
        s.flag(ws, address)

    return edit


def _csv(s: Survey) -> bytes:
    return "市町村コード,M001,M002\r\n111007,○,\r\n".encode("cp932")


def _truncated(s: Survey) -> bytes:
    data = to_bytes(s.wb)
    return data[: len(data) // 2]


def _encrypted(s: Survey) -> bytes:
    """Excel's password-protected .xlsx is an OLE file with these two streams."""
    return cfb([("EncryptionInfo", b"\x04\x00\x04\x00\x40\x00\x00\x00"), ("EncryptedPackage", b"\0" * 64)])


REJECTED: list[Case] = [
    Case("csv_renamed", raw=_csv, code="NOT_WORKBOOK", file_level=True),
    Case("empty", raw=lambda s: b"", code="EMPTY_FILE", file_level=True),
    Case("truncated", raw=_truncated, code="CORRUPT_WORKBOOK", file_level=True),
    Case("password", raw=_encrypted, code="PASSWORD_PROTECTED", file_level=True),
    Case("zip_bomb", post=zip_bomb, code="ZIP_BOMB", file_level=True),
    Case("xfd1048576", edit=_xfd, code="SHEET_TOO_LARGE", file_level=True),
    Case("xml_entity", post=with_entity, code="XML_ENTITY", file_level=True),
    Case("formula_no_value", edit=_at_probe('=IF(B8=1,"○","")'), code="FORMULA_WITHOUT_VALUE"),
    Case("error_ref", edit=_at_probe("#REF!"), code="ERROR_VALUE"),
    Case("error_div0", edit=_at_probe("#DIV/0!", "budget_line"), code="ERROR_VALUE"),
    Case("merged_answers", edit=_merged, code="MERGED_CELLS"),
    Case("hidden_sheet", edit=_hidden_sheet, code="HIDDEN_SHEET"),
    Case("hidden_row", edit=_hidden_row, code="HIDDEN_ROW"),
    Case(
        "municipality_unknown",
        edit=_cover_municipality(unknown_code(), "架空町"),
        code="MUNICIPALITY_UNKNOWN",
    ),
    Case(
        "municipality_other_prefecture",
        edit=_cover_municipality("131016", "千代田区"),
        code="MUNICIPALITY_OTHER_PREFECTURE",
    ),
    Case("municipality_name_mismatch", edit=_name_mismatch, code="MUNICIPALITY_NAME_MISMATCH"),
    Case("year_without_catalog", edit=_meta(layout.META_FISCAL_YEAR, "2019"), code="WRONG_SURVEY"),
    Case("unknown_catalog_version", edit=_meta(layout.META_CATALOG_VERSION, "2024.9"), code="WRONG_SURVEY"),
    Case("missing_sheet", edit=_missing_sheet, code="MISSING_SHEET"),
    Case("duplicate_measure", edit=_duplicate, code="DUPLICATE_MEASURE"),
    Case("unknown_symbol", edit=_at_probe("△"), code="UNKNOWN_ANSWER"),
    Case("target_out_of_range", edit=_flag_target("150"), code="TARGET_OUT_OF_RANGE"),
    Case("target_unparseable", edit=_flag_target("九十五くらい"), code="TARGET_UNPARSEABLE"),
]

CASES: dict[str, Case] = {case.name: case for case in (*TOLERATED, *REJECTED)}
