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


def section_sheet_title(section_no: int, section_title: str) -> str:
    return f"{section_no} {section_title}"


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
    if "=" not in key:
        return None
    name, value = key.split("=", 1)
    return name, value


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
    if not key.startswith(OWN_PREFIX):
        return None
    table_id, _, n = key[len(OWN_PREFIX) :].rpartition(":")
    return (table_id, int(n)) if table_id and n.isdigit() else None


# Targets sheet: A key, B 項目, C 年度, D 目標値 (answer), E 備考 (answer).
TARGET_COLUMNS: dict[str, str] = {"label": "B", "year": "C", "value": "D", "note": "E"}
TARGET_HEADERS: dict[str, str] = {"label": "項目", "year": "年度", "value": "目標値（％）", "note": "備考"}
TARGET_PREFIX = "target:"  # + target id + ":" + fiscal year


def target_key(target_id: str, fiscal_year: int) -> str:
    return f"{TARGET_PREFIX}{target_id}:{fiscal_year}"


@lru_cache(maxsize=4096)
def parse_target_key(key: str) -> tuple[str, int] | None:
    if not key.startswith(TARGET_PREFIX):
        return None
    target_id, _, year = key[len(TARGET_PREFIX) :].rpartition(":")
    return (target_id, int(year)) if target_id and year.isdigit() else None


def template_file_name(municipality_code: str, municipality_name: str, fiscal_year: int) -> str:
    """111007_さいたま市_2024_国保取組状況調査票.xlsx — code first so files sort and match."""
    return f"{municipality_code}_{municipality_name}_{fiscal_year}_国保取組状況調査票.xlsx"
