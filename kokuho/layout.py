"""The survey workbook's machine-readable layout, shared by the template writer, the extractor
and the demo generator.

Every sheet carries a key in cell A1; every row the extractor reads carries a key in column A
(hidden in templates). Keys, not positions or labels, drive extraction, so reordered rows,
inserted rows, edited labels and renamed sheets still extract correctly.
"""

from __future__ import annotations

from functools import lru_cache

KEY_COLUMN = "A"
SHEET_KEY_CELL = "A1"

# Sheet keys (cell A1) and the default sheet titles.
SHEET_COVER = "kokuho:cover"
SHEET_INSTRUCTIONS = "kokuho:instructions"
SHEET_TARGETS = "kokuho:targets"
SHEET_SECTION_PREFIX = "kokuho:section:"  # + section number


def section_sheet_key(section_no: int) -> str:
    return f"{SHEET_SECTION_PREFIX}{section_no}"


def is_valid_sheet_key(key: str) -> bool:
    """Whether a key in A1 is one the template writes (a section number 1..99 in ASCII digits)."""
    return key in _SHEET_KEYS


def section_sheet_title(section_no: int, section_title: str) -> str:
    return f"{section_no} {section_title}"


_SHEET_KEYS = frozenset(
    {SHEET_COVER, SHEET_INSTRUCTIONS, SHEET_TARGETS, *(section_sheet_key(n) for n in range(1, 100))}
)
COVER_TITLE = "表紙"
INSTRUCTIONS_TITLE = "記入要領"
TARGETS_TITLE = "数値目標"

# Cover sheet rows: column A key, B label, C value.
COVER_LABEL_COLUMN = "B"
COVER_VALUE_COLUMN = "C"
# Fixed facts carry their value inside the key, so an edited display cell cannot change them.
META_PREFECTURE = "meta:prefecture_code"  # key "meta:prefecture_code=11"
META_FISCAL_YEAR = "meta:fiscal_year"  # key "meta:fiscal_year=2024"; C shows 令和6年度（2024年度）
META_CATALOG_VERSION = "meta:catalog_version"  # key "meta:catalog_version=2024.1"
META_SURVEY_ID = "meta:survey_id"  # key "meta:survey_id=11-2024-2024.1"
# The municipality is read from column C (pre-filled), cross-checked with the file name.
META_MUNICIPALITY_CODE = "meta:municipality_code"
META_MUNICIPALITY_NAME = "meta:municipality_name"
# Contact details the municipality fills in (column C).
CONTACT_KEYS: dict[str, str] = {
    "contact:department": "担当課",
    "contact:person": "担当者名",
    "contact:phone": "電話番号",
    "contact:email": "メールアドレス",
}


def meta_key(name: str, value: object) -> str:
    return f"{name}={value}"


def parse_meta_key(key: str) -> tuple[str, str] | None:
    """("meta:fiscal_year", "2024") for "meta:fiscal_year=2024"."""
    if not isinstance(key, str) or "=" not in key:
        return None
    name, value = key.split("=", 1)
    return name, value


# --- Validating key values ---------------------------------------------------------------------
# Keys come back from municipalities like any cell: edited, pasted over, crafted. Every number in
# a key is read here, as ASCII digits only (str.isdigit also accepts "²" and other digits int()
# refuses), with bounded length and range, so nothing out of range reaches the warehouse.

MAX_KEY_CHARS = 200  # longer keys are not the template's (and never cached)
FISCAL_YEAR_MIN = 2000
FISCAL_YEAR_MAX = 2100
PREFECTURE_CODE_MAX = 47
OWN_ROWS_MAX = 999
_ASCII_DIGITS = frozenset("0123456789")
_VERSION_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._-")
_VERSION_MAX_CHARS = 32


def parse_bounded_int(text: object, minimum: int, maximum: int) -> int | None:
    """The integer `text` spells in ASCII digits (surrounding spaces allowed) when it lies in
    minimum..maximum; None otherwise. Never raises."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text or len(text) > len(str(maximum)) or not _ASCII_DIGITS.issuperset(text):
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


def parse_fiscal_year(text: object) -> int | None:
    """A fiscal year key value ("2024"), FISCAL_YEAR_MIN..FISCAL_YEAR_MAX; None otherwise."""
    return parse_bounded_int(text, FISCAL_YEAR_MIN, FISCAL_YEAR_MAX)


def parse_prefecture_code(text: object) -> str | None:
    """The prefecture code 01..47 a key value spells ("11"; "1" -> "01"), or "00" for a nationwide
    survey (kokuho.municipalities.NATIONAL); None otherwise."""
    number = parse_bounded_int(text, 0, PREFECTURE_CODE_MAX)
    return None if number is None else f"{number:02d}"


def parse_catalog_version(text: object) -> str | None:
    """A catalog version key value ("2024.1", "0.9-draft"): ASCII letters, digits, ".", "_" and
    "-", at most 32 characters; None otherwise."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text or len(text) > _VERSION_MAX_CHARS or not _VERSION_CHARS.issuperset(text):
        return None
    return text


def parse_survey_id(text: object) -> tuple[str, int, str] | None:
    """(prefecture code, fiscal year, catalog version) of "11-2024-2024.1"; None otherwise."""
    if not isinstance(text, str) or len(text) > MAX_KEY_CHARS or text.count("-") < 2:
        return None
    prefecture, year, version = text.strip().split("-", 2)
    parsed = (parse_prefecture_code(prefecture), parse_fiscal_year(year), parse_catalog_version(version))
    if parsed[0] is None or parsed[1] is None or parsed[2] is None or len(prefecture.strip()) != 2:
        return None
    return parsed[0], parsed[1], parsed[2]


# Section sheets: column A key, B 番号, C 取組内容, D 実施 (answer), E 予算事業名 (answer), F 備考 (answer).
SECTION_COLUMNS: dict[str, str] = {
    "no": "B",
    "label": "C",
    "answer": "D",
    "budget_line": "E",
    "note": "F",
}
SECTION_HEADERS: dict[str, str] = {
    "no": "番号",
    "label": "取組内容",
    "answer": "実施",
    "budget_line": "予算事業名（個別に予算化している場合）",
    "note": "備考",
}
# Row keys on section sheets.
HEADING_PREFIX = "head:"  # + table_id: heading rows (subsection / group / subgroup titles)
COLUMN_HEADER_KEY = "columns"  # the header row of each table
MEASURE_PREFIX = "measure:"  # + measure id
OWN_PREFIX = "own:"  # + table_id + ":" + n (1-based)


def measure_key(measure_id: str) -> str:
    return f"{MEASURE_PREFIX}{measure_id}"


def own_key(table_id: str, n: int) -> str:
    return f"{OWN_PREFIX}{table_id}:{n}"


@lru_cache(maxsize=4096)  # the same few hundred keys on every returned file
def parse_own_key(key: str) -> tuple[str, int] | None:
    """("1-1", 2) for "own:1-1:2" (n 1..OWN_ROWS_MAX); None for anything else. Never raises."""
    if not isinstance(key, str) or len(key) > MAX_KEY_CHARS or not key.startswith(OWN_PREFIX):
        return None
    table_id, _, n = key[len(OWN_PREFIX) :].rpartition(":")
    number = parse_bounded_int(n, 1, OWN_ROWS_MAX) if n == n.strip() else None
    return (table_id, number) if table_id and number is not None else None


ITEM_PREFIX = "item:"  # + item id + ":" + fiscal year: a typed item's row, one per year asked


def item_key(item_id: str, fiscal_year: int) -> str:
    """The row key of a typed (non-check) item for one fiscal year: "item:T_AMOUNT:2030"."""
    return f"{ITEM_PREFIX}{item_id}:{fiscal_year}"


@lru_cache(maxsize=4096)
def parse_item_key(key: str) -> tuple[str, int] | None:
    """("T_AMOUNT", 2030) for "item:T_AMOUNT:2030" (a plausible fiscal year); None for anything
    else. Never raises."""
    if not isinstance(key, str) or len(key) > MAX_KEY_CHARS or not key.startswith(ITEM_PREFIX):
        return None
    item_id, _, year_text = key[len(ITEM_PREFIX) :].rpartition(":")
    year = parse_fiscal_year(year_text) if year_text == year_text.strip() else None
    item_id = item_id.strip()
    return (item_id, year) if item_id and year is not None else None


# Targets sheet: A key, B 項目, C 年度, D 目標値 (answer), E 備考 (answer).
TARGET_COLUMNS: dict[str, str] = {"label": "B", "year": "C", "value": "D", "note": "E"}
TARGET_HEADERS: dict[str, str] = {"label": "項目", "year": "年度", "value": "目標値（％）", "note": "備考"}
TARGET_PREFIX = "target:"  # + target id + ":" + fiscal year


def target_key(target_id: str, fiscal_year: int) -> str:
    return f"{TARGET_PREFIX}{target_id}:{fiscal_year}"


@lru_cache(maxsize=4096)
def parse_target_key(key: str) -> tuple[str, int] | None:
    """("collection_rate_current", 2024) for "target:collection_rate_current:2024" (a plausible
    fiscal year); None for anything else. Never raises."""
    if not isinstance(key, str) or len(key) > MAX_KEY_CHARS or not key.startswith(TARGET_PREFIX):
        return None
    target_id, _, year_text = key[len(TARGET_PREFIX) :].rpartition(":")
    year = parse_fiscal_year(year_text) if year_text == year_text.strip() else None
    return (target_id, year) if target_id and year is not None else None


def template_file_name(municipality_code: str, municipality_name: str, fiscal_year: int) -> str:
    """111007_さいたま市_2024_国保取組状況調査票.xlsx — code first so files sort and match."""
    return f"{municipality_code}_{municipality_name}_{fiscal_year}_国保取組状況調査票.xlsx"
