"""What the sheet XML says that values alone do not, read before any spreadsheet parser runs.

A single linear pass of one regular expression over each worksheet's bytes (no DOM): the used
range (declared and real), merged ranges, hidden rows, formulas without a cached value, error
cells and percent-formatted numbers. The real extent is what keeps python-calamine away from a
workbook whose one cell sits at XFD1048576.
"""

from __future__ import annotations

import html
import posixpath
import re
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter

from defusedxml import ElementTree as SafeET

from extract.container import Limits, local_name, memo_part, relationship_map, resolve_target
from extract.model import RawIssue

MAX_EXCEL_ROWS = 1_048_576
MAX_EXCEL_COLS = 16_384


@dataclass
class SheetScan:
    name: str
    visible: bool
    kind: str  # worksheet / chartsheet / dialogsheet / macrosheet
    part: str | None  # zip part name, None when the workbook's relationship is missing
    dimension: str | None = None
    max_row: int = 0  # 1-based extent of the cells actually present (0: none) ...
    max_col: int = 0
    # ... or, when False, an upper bound of it: every cell lies within SMALL_EXTENT (Z999), which
    # the limits allowed, so the exact extent was not worked out.
    extent_exact: bool = True
    merged_ranges: list[str] = field(default_factory=list)
    hidden_rows: set[int] = field(default_factory=set)
    formula_without_value: list[str] = field(default_factory=list)
    formula_text: dict[str, str] = field(default_factory=dict)
    error_cells: dict[str, str] = field(default_factory=dict)
    percent_cells: set[str] = field(default_factory=set)


class PackageError(ValueError):
    """The package structure is inconsistent (missing sheet part...)."""


# --- addresses ---------------------------------------------------------------------------------
# The sandbox's one copy of openpyxl.utils' A1 conversions: workers never import openpyxl.

_CELL_REF = re.compile(r"\$?([A-Za-z]{1,10})\$?([0-9]{1,12})")  # ASCII digits ("\d" is any digit)


def column_index(letters: str) -> int:
    """1-based index of a column name ("A" -> 1, "XFD" -> 16384)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


@lru_cache(maxsize=MAX_EXCEL_COLS)
def column_letter(index: int) -> str:
    """Column name of a 1-based index."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def parse_ref(ref: str) -> tuple[int, int] | None:
    """(row, col), both 1-based, of "D12"; None when it is not a cell reference."""
    match = _CELL_REF.fullmatch(ref.strip())
    if match is None:
        return None
    return int(match.group(2)), column_index(match.group(1))


def range_end(ref: str) -> tuple[int, int] | None:
    """The bottom-right (row, col) of "A1:F200" (or of a single cell)."""
    corners = [parse_ref(part) for part in ref.split(":")]
    if not corners or any(c is None for c in corners):
        return None
    return max(c[0] for c in corners if c), max(c[1] for c in corners if c)


def row_number(raw: bytes) -> int | None:
    """A row's r="..." as a number: ASCII digits only (bytes.isdigit), None otherwise. A number
    past any sheet's last row reads as MAX_EXCEL_ROWS + 1 (SHEET_TOO_LARGE), never as a
    thousand-digit int."""
    text = raw.strip()
    if not text.isdigit():
        return None
    return min(int(text), MAX_EXCEL_ROWS + 1) if len(text) <= 7 else MAX_EXCEL_ROWS + 1


# --- workbook ----------------------------------------------------------------------------------


def scan_workbook(
    parts: dict[str, bytes], workbook_part: str, limits: Limits | None = None
) -> list[SheetScan]:
    """Every sheet of an OOXML workbook, in workbook order, with its worksheet XML scanned. With
    `limits` at least SMALL_EXTENT, a sheet whose cells all lie within it skips the exact extent."""
    small_ok = (
        limits is not None and limits.max_rows >= SMALL_EXTENT[0] and limits.max_cols >= SMALL_EXTENT[1]
    )
    try:
        sheets = _workbook_sheets(parts[workbook_part])
    except Exception as exc:  # any XML failure is a corrupt package
        raise PackageError(f"ブック本体（{workbook_part}）のXMLが壊れています") from exc
    base = posixpath.dirname(workbook_part)
    rels_name = posixpath.join(base, "_rels", posixpath.basename(workbook_part) + ".rels")
    rels = {rid: (rtype, target) for rid, rtype, target in relationship_map(parts.get(rels_name, b""))}
    percent = percent_styles(_styles_part(parts, rels, base))
    scans: list[SheetScan] = []
    for name, state, rid in sheets:
        rel_type, target = rels.get(rid, ("", ""))
        kind = rel_type.rsplit("/", 1)[-1].lower().removeprefix("xl") or "worksheet"
        part = resolve_target(base, target) if target else None
        scan = SheetScan(name=name, visible=state not in ("hidden", "veryhidden"), kind=kind, part=part)
        if kind in _CELL_SHEETS:
            if part is None or part not in parts:
                raise PackageError(f"シート「{scan.name}」の本体（{part or rid}）がありません")
            scan_sheet_xml(parts[part], percent, scan, small_extent_ok=small_ok)
        scans.append(scan)
    return scans


@memo_part
def _workbook_sheets(blob: bytes) -> tuple[tuple[str, str, str], ...]:
    """(name, state, relationship id) of every sheet the workbook part lists, in order."""
    found = []
    for sheets in SafeET.fromstring(blob):
        if local_name(sheets.tag) != "sheets":
            continue
        for sheet in sheets:
            if local_name(sheet.tag) != "sheet":
                continue
            # r:id, whatever the prefix (strict OOXML uses another relationships namespace).
            rid = next(
                (v for k, v in sheet.attrib.items() if k.startswith("{") and local_name(k) == "id"), ""
            )
            found.append((sheet.get("name", ""), sheet.get("state", "visible").strip().lower(), rid))
    return tuple(found)


# Sheet kinds whose part holds <sheetData> (a parser may read all of them).
_CELL_SHEETS = ("worksheet", "macrosheet", "intlmacrosheet", "dialogsheet")


def _styles_part(parts: dict[str, bytes], rels: dict[str, tuple[str, str]], base: str) -> bytes | None:
    for rel_type, target in rels.values():
        if rel_type.lower().endswith("/styles"):
            return parts.get(resolve_target(base, target))
    return None


def too_large(scan: SheetScan, limits: Limits) -> RawIssue | None:
    """SHEET_TOO_LARGE when the declared or the real extent exceeds the limits."""
    declared = range_end(scan.dimension) if scan.dimension else None
    rows, cols = scan.max_row, scan.max_col
    if declared:
        rows, cols = max(rows, declared[0]), max(cols, declared[1])
    if rows <= limits.max_rows and cols <= limits.max_cols:
        return None
    used = scan.dimension if declared == (rows, cols) else f"A1:{column_letter(cols)}{rows}"
    detail = f"使用範囲 {used} = {rows:,}行×{cols:,}列、上限 {limits.max_rows:,}行×{limits.max_cols:,}列"
    return RawIssue("SHEET_TOO_LARGE", sheet=scan.name, detail=detail, rule="max_rows_cols")


# --- styles ------------------------------------------------------------------------------------

_BUILTIN_PERCENT = frozenset({9, 10})
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')


def percent_styles(styles_xml: bytes | None) -> frozenset[int]:
    """Indexes into cellXfs (a cell's s= attribute) whose number format shows a percentage."""
    if not styles_xml:
        return frozenset()
    return _percent_styles(styles_xml)


@memo_part
def _percent_styles(styles_xml: bytes) -> frozenset[int]:
    custom: dict[int, str] = {}
    for fmt in _NUMFMT.finditer(styles_xml):
        attrs = _attrs(fmt.group(1))
        fmt_id = _int(attrs.get(b"numFmtId", b"").decode("ascii", "replace"))
        if fmt_id is not None:
            custom[fmt_id] = html.unescape(attrs.get(b"formatCode", b"").decode("utf-8", "replace"))
    section = _CELL_XFS.search(styles_xml)
    if section is None:
        return frozenset()
    percent_ids = set(_BUILTIN_PERCENT)
    for fmt_id, code in custom.items():
        if "%" in _FORMAT_LITERALS.sub("", code):
            percent_ids.add(fmt_id)
        else:
            percent_ids.discard(fmt_id)
    found = set()
    for index, xf in enumerate(_XF.finditer(section.group(1))):
        fmt_id = _int(_attrs(xf.group(1)).get(b"numFmtId", b"0").decode("ascii", "replace"))
        if fmt_id in percent_ids:
            found.add(index)
    return frozenset(found)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# --- worksheet XML -----------------------------------------------------------------------------

# Element names may carry any namespace prefix. Attributes are matched as name="value" tokens, so
# a value holding ">" or a fake r="..." cannot be mistaken for markup.
_PFX = rb"(?:[A-Za-z_][\w.\-]*:)?"
_ATTRS = rb"((?:\s+[\w:.\-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*"
_ATTR = re.compile(rb"([\w:.\-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_DIMENSION = re.compile(rb"<" + _PFX + rb"dimension" + _ATTRS + rb"/?>")
_MERGE = re.compile(rb"<" + _PFX + rb"mergeCell" + _ATTRS + rb"/?>")
_ROW = re.compile(rb"<" + _PFX + rb"row" + _ATTRS + rb"/?>")
_CELL_OPEN = re.compile(rb"<" + _PFX + rb"c(?=[\s/>])")
_CELL_R = re.compile(
    rb"<" + _PFX + rb"c(?:\s+(?!r\s*=)[\w:.\-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*"
    rb"\s+r\s*=\s*[\"']\$?([A-Za-z]{1,10})\$?(\d{1,12})[\"']"
)
# A whole cell: prefix, attributes, body (None when self-closing).
_CELL = re.compile(rb"<(" + _PFX + rb")c" + _ATTRS + rb"(?:/>|>(.*?)</\1c\s*>)", re.DOTALL)
_F = re.compile(rb"<" + _PFX + rb"f" + _ATTRS + rb"(/>|>([^<]*))")
_V = re.compile(rb"<" + _PFX + rb"v" + _ATTRS + rb"(/>|>([^<]*))")
_IS = re.compile(rb"<" + _PFX + rb"is[\s>]")
# Every unprefixed cell; (column, row) when r="..." comes first, as every writer puts it.
_PLAIN_CELL = re.compile(rb"<c(?:\s+r=\"([A-Z]{1,10})(\d{1,12})\"|(?=[\s/>]))")
_ERROR_TYPE = re.compile(rb"\st\s*=\s*[\"']e[\"']")
_HAS_HIDDEN_ROW = re.compile(rb"<" + _PFX + rb"row\s[^>]*hidden")
# A cell or row tag whose attributes are not all name="value" (unquoted, run together...): not
# XML, yet a lenient parser might still read r=XFD1048576 from it. Refused rather than guessed.
_MALFORMED_TAG = re.compile(
    rb"<" + _PFX + rb"(?:c|row)(?=[\s/>])(?!(?:\s+[\w:.\-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*/?>)"
)
_NUMERIC_TYPES = (None, b"n")
# Literal pre-checks. re's literal search beats `bytes in` two- to three-fold here: XML is full of
# '"', '<' and 'e', the bytes bytes.find keys its skips on.
_MERGE_CELL_WORD = re.compile(rb"mergeCell")
_FORMULA_OPEN = re.compile(rb"<f")
_ERROR_VALUE_DQ = re.compile(rb'"e"')
_ERROR_VALUE_SQ = re.compile(rb"'e'")
SMALL_EXTENT = (999, 26)  # rows, columns: A1..Z999
# A cell opening that is not exactly <c r="A1".."Z999" (no attribute first, no "$", no lower case,
# row without leading zero): only then is the extent worked out reference by reference.
_CELL_BEYOND_Z999 = re.compile(rb'<c(?! r="[A-Z][1-9][0-9]{0,2}")(?=[\s/>])')
# styles.xml
_NUMFMT = re.compile(rb"<" + _PFX + rb"numFmt" + _ATTRS + rb"/?>")
_CELL_XFS = re.compile(rb"<" + _PFX + rb"cellXfs\b[^>]*>(.*?)</" + _PFX + rb"cellXfs\s*>", re.DOTALL)
_XF = re.compile(rb"<" + _PFX + rb"xf" + _ATTRS + rb"/?>")


def _attrs(raw: bytes) -> dict[bytes, bytes]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTR.finditer(raw)}


def _text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8", "replace"))


def scan_sheet_xml(
    data: bytes, percent: frozenset[int], scan: SheetScan, *, small_extent_ok: bool = False
) -> SheetScan:
    """Fill `scan` from one worksheet part: one regex pass for the extent, byte searches to
    decide whether anything else needs a closer look (usually nothing does).

    With `small_extent_ok`, a sheet whose every cell is written <c r="A1".."Z999" (a survey
    sheet always is) is recognised by one search that finds nothing, and its extent is given as
    SMALL_EXTENT (extent_exact False) instead of reading every reference."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:64]:
        data = data.decode("utf-16", "replace").encode("utf-8")
    dimension = _DIMENSION.search(data) if b"dimension" in data else None
    if dimension:
        scan.dimension = (
            _attrs(dimension.group(1)).get(b"ref", b"").decode("ascii", "replace").strip() or None
        )
    if _MERGE_CELL_WORD.search(data):
        for merge in _MERGE.finditer(data):
            ref = _attrs(merge.group(1)).get(b"ref")
            if ref:
                scan.merged_ranges.append(ref.decode("ascii", "replace").strip())
    if small_extent_ok and not _has_prefixed_tag(data, b"c") and _CELL_BEYOND_Z999.search(data) is None:
        scan.max_row, scan.max_col = SMALL_EXTENT
        scan.extent_exact = False
    else:
        refs = _cell_refs(data)
        if refs is None:
            return _scan_positions(data, percent, scan)
        scan.max_row = max(map(int, map(itemgetter(1), refs)), default=0)
        scan.max_col = max((column_index(c.decode("ascii")) for c in {c for c, _ in refs}), default=0)
    # Markers are looked for inside <sheetData> only (headers, footers and data validations
    # outside it hold <firstHeader>, <formula1>...).
    start = data.find(b"sheetData")
    cells = data[start : data.rfind(b"sheetData")] if start >= 0 else b""
    if b"hidden" in cells and _HAS_HIDDEN_ROW.search(data):
        for row in _ROW.finditer(data):
            attrs = _attrs(row.group(1))
            if attrs.get(b"hidden", b"").strip().lower() in (b"1", b"true"):
                number = row_number(attrs.get(b"r", b""))
                if number is None:
                    scan.hidden_rows.clear()
                    return _scan_positions(data, percent, scan)
                scan.hidden_rows.add(number)
    want_formula = _FORMULA_OPEN.search(cells) is not None or _has_prefixed_tag(cells, b"f")
    want_error = _ERROR_VALUE_DQ.search(cells) is not None or _ERROR_VALUE_SQ.search(cells) is not None
    used = [i for i in percent if b's="%d"' % i in cells or b"s='%d'" % i in cells]
    want_percent = (
        re.compile(rb"\ss\s*=\s*[\"'](?:" + b"|".join(b"%d" % i for i in used) + rb")[\"']") if used else None
    )
    if want_formula or want_error or want_percent:
        for cell in _CELL.finditer(data):
            raw, body = cell.group(2), cell.group(3)
            if not body:
                continue
            if (
                (want_formula and (b"<f" in body or b":f" in body))
                or (want_error and _ERROR_TYPE.search(raw))
                or (want_percent and want_percent.search(raw))
            ):
                attrs = _attrs(raw)
                position = parse_ref(attrs.get(b"r", b"").decode("ascii", "replace"))
                if position is not None:
                    _report_cell(scan, percent, position, attrs, body)
    return scan


def _cell_refs(data: bytes) -> list[tuple[bytes, bytes]] | None:
    """(column, row) of every cell, or None when some cell has no r="..." we can read."""
    if not _has_prefixed_tag(data, b"c"):
        # No prefixed cells: the common form <c r="A1" ...> is read with one literal-led pass.
        refs = _PLAIN_CELL.findall(data)
        if (b"", b"") not in refs:
            return refs
    refs = _CELL_R.findall(data)
    return refs if len(refs) == len(_CELL_OPEN.findall(data)) and not _MALFORMED_TAG.search(data) else None


_NAME_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_TAG_END = frozenset(b" \t\r\n\f\v/>")


def _has_prefixed_tag(data: bytes, local: bytes) -> bool:
    """Whether an element <prefix:local ...> starts anywhere in `data`.

    Looks only at each ":" + local and runs back over a name to "<": text cannot hold "<", and
    the template's own keys ("kokuho:cover", "meta:fiscal_year") put many such pairs in the text,
    which a plain byte search would mistake for markup (sending every such sheet the slow way)."""
    for found in _literal(b":" + local).finditer(data):
        at, end = found.span()
        if end < len(data) and data[end] in _TAG_END:
            start = at
            while start > 0 and data[start - 1] in _NAME_BYTES:
                start -= 1
            if 0 < start < at and data[start - 1] == 0x3C:  # "<"
                return True
    return False


@lru_cache(maxsize=16)
def _literal(needle: bytes) -> re.Pattern[bytes]:
    return re.compile(re.escape(needle))


def _report_cell(
    scan: SheetScan,
    percent: frozenset[int],
    position: tuple[int, int],
    attrs: dict[bytes, bytes],
    body: bytes | None,
) -> None:
    if not body:
        return  # a styled empty cell: no value, nothing to report
    address = f"{column_letter(position[1])}{position[0]}"
    ctype = attrs.get(b"t")
    formula = _F.search(body)
    value_match = _V.search(body)
    value = _text(value_match.group(3) or b"") if value_match else ""
    # <v/> or <v></v> is a cached value only for a formula returning a text.
    has_value = bool(value) or (value_match is not None and ctype == b"str") or _IS.search(body) is not None
    if ctype == b"e" and has_value:
        scan.error_cells[address] = value.strip()
    elif formula is not None and not has_value:
        scan.formula_without_value.append(address)
        scan.formula_text[address] = _text(formula.group(3) or b"")
    elif (
        has_value
        and ctype in _NUMERIC_TYPES
        and (_int((attrs.get(b"s") or b"0").decode("ascii", "replace")) or 0) in percent
    ):
        scan.percent_cells.add(address)


def _scan_positions(data: bytes, percent: frozenset[int], scan: SheetScan) -> SheetScan:
    """The careful pass for parts where a cell or row has no r="...": positions follow the
    spreadsheet rule (a row after the previous one, a cell right of the previous one)."""
    if _MALFORMED_TAG.search(data):
        raise PackageError(
            f"シート「{scan.name}」のXMLが不正です（セルまたは行の属性の書き方が誤っています）"
        )
    row_no = col_no = max_row = max_col = 0
    cells = _CELL.finditer(data)
    pending = next(cells, None)

    def place(cell: re.Match[bytes]) -> None:
        nonlocal col_no, max_row, max_col
        attrs = _attrs(cell.group(2))
        position = parse_ref(attrs.get(b"r", b"").decode("ascii", "replace")) or (max(row_no, 1), col_no + 1)
        _report_cell(scan, percent, position, attrs, cell.group(3))
        col_no = position[1]
        max_row, max_col = max(max_row, position[0]), max(max_col, position[1])

    for row in _ROW.finditer(data):
        while pending is not None and pending.start() < row.start():
            place(pending)
            pending = next(cells, None)
        attrs = _attrs(row.group(1))
        number = row_number(attrs.get(b"r", b""))
        row_no = number if number is not None else min(row_no + 1, MAX_EXCEL_ROWS + 1)
        col_no = 0
        max_row = max(max_row, row_no)
        if attrs.get(b"hidden", b"").strip().lower() in (b"1", b"true"):
            scan.hidden_rows.add(row_no)
    while pending is not None:
        place(pending)
        pending = next(cells, None)
    # Any explicit reference counts, even on a cell the pass above could not delimit.
    for letters, digits in _CELL_R.findall(data):
        max_row, max_col = max(max_row, int(digits)), max(max_col, column_index(letters.decode("ascii")))
    scan.max_row, scan.max_col = max_row, max_col
    return scan
