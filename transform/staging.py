"""ExtractedWorkbooks -> StagingBatch: typed staging rows plus the content issues of each file.

Keys drive everything (kokuho/layout.py): sheets are found by the key in A1 (or, failing that,
by their standard title), rows by the key in column A, so reordered or inserted rows, edited
labels and renamed sheets change nothing. Answer columns are the fixed letters unless the
table's header row (key "columns") shows they were moved.

Decisions:
- A file with file-level extract issues yields only its issues (stage "extract"), no rows.
- A file without a cover (no kokuho:cover key or 表紙 sheet with meta keys) yields only
  NOT_SURVEY_TEMPLATE; a file of another survey (WRONG_SURVEY) yields its submission row and the
  issue but no answer rows (its keys belong to another catalog).
- Other files yield rows even when they have content issues; validation and quarantine decide.
  Rows with a measure ID not in the catalog are reported (UNKNOWN_MEASURE) and not staged.
- Each file reports at most MAX_ISSUES_PER_FILE issues, then TOO_MANY_PROBLEMS; such a file's
  answer rows are dropped (it is quarantined anyway), so one garbage file stays cheap downstream.
- Of two rows for the same measure (or target) the first in sheet order is kept; a second one
  that differs in answer or budget line is DUPLICATE_MEASURE, an identical one is dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from typing import TypeVar

from extract.model import ExtractedWorkbook, RawIssue, RawRow, RawSheet
from kokuho import codelists, layout
from kokuho.catalog import Catalog, Measure, NumericTargetItem
from kokuho.municipalities import (
    Municipality,
    MunicipalityCodeError,
    all_prefectures,
    by_code,
    in_survey_area,
    normalize_code,
)
from transform.batch import StagingBatch
from transform.contracts import contract
from transform.normalize import (
    cell_text,
    clean_text,
    compact_text,
    normalize_text,
    parse_answer,
    parse_budget_line,
    parse_target,
)

__all__ = [
    "MAX_ISSUES_PER_FILE",
    "StagedBatchBuilder",
    "StagedFile",
    "build_staging",
    "check_staged",
    "filename_codes",
    "stage_file",
]

MAX_ISSUES_PER_FILE = 50
_MAX_VALUE_CHARS = 200  # an offending value is shown up to this length

# The rule each transform issue code stands for (file_issues.rule).
_RULES: dict[str, str] = {
    "NOT_SURVEY_TEMPLATE": "cover_sheet_keyed",
    "WRONG_SURVEY": "survey_matches_catalog",
    "MISSING_SHEET": "sheet_present",
    "MUNICIPALITY_CODE_INVALID": "municipality_code_valid",
    "MUNICIPALITY_UNKNOWN": "municipality_known",
    "MUNICIPALITY_OTHER_PREFECTURE": "municipality_in_prefecture",
    "MUNICIPALITY_NAME_MISMATCH": "municipality_name_matches_code",
    "FILENAME_CODE_MISMATCH": "filename_code_matches_cover",
    "UNKNOWN_ANSWER": "answer_symbol_known",
    "UNKNOWN_MEASURE": "measure_in_catalog",
    "UNKNOWN_TARGET": "target_in_catalog",
    "DUPLICATE_MEASURE": "one_answer_per_measure",
    "FORMULA_WITHOUT_VALUE": "formula_has_cached_value",
    "ERROR_VALUE": "no_error_value",
    "MERGED_CELLS": "answer_cells_not_merged",
    "HIDDEN_SHEET": "answers_not_in_hidden_sheet",
    "HIDDEN_ROW": "answers_not_in_hidden_row",
    "TARGET_UNPARSEABLE": "target_parseable",
    "TARGET_OUT_OF_RANGE": "target_in_range",
    "TEXT_TOO_LONG": "text_length_within_limit",
    "OWN_TEXT_MISSING": "own_initiative_has_text",
    "TOO_MANY_PROBLEMS": "issues_per_file_cap",
    "TEMPLATE_KEY_INVALID": "template_key_valid",
}

_SECTION_ROLES = tuple(layout.SECTION_COLUMNS)  # no, label, answer, budget_line, note
_TARGET_ROLES = tuple(layout.TARGET_COLUMNS)  # label, year, value, note
_COVER_ANSWER_KEYS = frozenset(
    {layout.META_MUNICIPALITY_CODE, layout.META_MUNICIPALITY_NAME, *layout.CONTACT_KEYS}
)
_ROW_NO = attrgetter("row_no")
_FILENAME_CODE_RE = re.compile(r"(?<![0-9])([0-9]{5,6})(?![0-9])")
# Rows up to 7 digits (Excel has 1,048,576): a longer number in a crafted range is no address.
_ADDRESS_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")
_GUN_RE = re.compile(r"^.{1,6}郡")
_T = TypeVar("_T")
# What a valid key holds (TEMPLATE_KEY_INVALID details).
_PREFECTURE_RULE = "都道府県コードは半角数字2桁（01～47）"
_FISCAL_YEAR_RULE = f"年度は半角数字の西暦（{layout.FISCAL_YEAR_MIN}～{layout.FISCAL_YEAR_MAX}）"
_VERSION_RULE = "版は半角英数字と . _ - の32文字以内"
_SURVEY_ID_RULE = "調査IDは「都道府県コード-年度-版」"
_SHEET_KEY_RULE = "シートの識別キーが調査票のものではありません"
_OWN_KEY_RULE = f"独自の取組の行番号は半角数字（1～{layout.OWN_ROWS_MAX}）"
_TARGET_KEY_RULE = f"目標の年度は半角数字の西暦（{layout.FISCAL_YEAR_MIN}～{layout.FISCAL_YEAR_MAX}）"


# --------------------------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------------------------


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


def _split_address(address: str) -> tuple[str, int] | None:
    match = _ADDRESS_RE.match(address.strip())
    return (match[1].upper(), int(match[2])) if match else None


def _parse_range(text: str) -> tuple[int, int, int, int] | None:
    """(min_col, min_row, max_col, max_row) of "D12:E13" or "D12"."""
    first, _, last = text.partition(":")
    a = _split_address(first)
    b = _split_address(last) if last else a
    if a is None or b is None:
        return None
    c1, c2 = sorted((_col_index(a[0]), _col_index(b[0])))
    r1, r2 = sorted((a[1], b[1]))
    return c1, r1, c2, r2


def _has_any(row: RawRow, cols: tuple[str, ...]) -> bool:
    """Whether any of the row's given cells holds something (after normalisation)."""
    cells = row.cells
    return any(normalize_text(cells.get(c)) is not None for c in cols if c in cells)


def _target_signature(value: float | None, qualifier: str | None, raw_text: str | None) -> tuple:
    """What makes two target cells say the same thing (text only matters when nothing parsed)."""
    if value is None and qualifier is None:
        return (None, None, compact_text(raw_text))
    return (value, qualifier, None)


# --------------------------------------------------------------------------------------------
# Column mapping from the header row
# --------------------------------------------------------------------------------------------


def _column_mapping(
    header: RawRow, defaults: dict[str, str], headers: dict[str, str]
) -> dict[str, str | None]:
    """role -> column letter. Fixed letters unless the header row shows the columns moved."""
    cells = tuple(sorted((col, cell_text(v)) for col, v in header.cells.items()))
    return dict(_cached_mapping(cells, tuple(defaults.items()), tuple(headers.items())))


@lru_cache(maxsize=256)
def _cached_mapping(
    cells: tuple[tuple[str, str | None], ...],
    default_items: tuple[tuple[str, str], ...],
    header_items: tuple[tuple[str, str], ...],
) -> tuple[tuple[str, str | None], ...]:
    # Cached: every table of every file repeats the same header row.
    defaults, headers = dict(default_items), dict(header_items)
    texts = {col: compact_text(v) for col, v in cells}
    texts = {col: t for col, t in texts.items() if t}
    if all(texts.get(defaults[role]) == compact_text(headers[role]) for role in defaults):
        return tuple(defaults.items())
    found: dict[str, str] = {}
    wanted = {role: compact_text(text) for role, text in headers.items()}
    for role, text in wanted.items():  # exact header text first
        for col, t in texts.items():
            if t == text and col not in found.values():
                found[role] = col
                break
    for role, text in wanted.items():  # then the header's core ("予算事業名", "目標値")
        if role in found:
            continue
        core = text.split("(")[0]
        for col, t in texts.items():
            if col not in found.values() and core and t.startswith(core):
                found[role] = col
                break
    taken = set(found.values())
    return tuple(
        (role, found.get(role) or (defaults[role] if defaults[role] not in taken else None))
        for role in defaults
    )


@dataclass(frozen=True)
class _SectionCols:
    """Where a section table's columns are, and which of them are answer cells."""

    label: str | None
    answer: str | None
    budget_line: str | None
    note: str | None
    measure_cols: tuple[str, ...]  # answer area of a measure row
    own_cols: tuple[str, ...]  # answer area (and content) of an own-initiative row

    @classmethod
    def of(cls, mapping: dict[str, str | None]) -> _SectionCols:
        return cls(
            label=mapping["label"],
            answer=mapping["answer"],
            budget_line=mapping["budget_line"],
            note=mapping["note"],
            measure_cols=tuple(c for c in (mapping["answer"], mapping["budget_line"], mapping["note"]) if c),
            own_cols=tuple(c for c in (mapping["label"], mapping["budget_line"], mapping["note"]) if c),
        )


_DEFAULT_SECTION_COLS = _SectionCols.of(dict(layout.SECTION_COLUMNS))


# --------------------------------------------------------------------------------------------
# Per-batch lookups and per-file issue collection
# --------------------------------------------------------------------------------------------


@dataclass
class _Context:
    catalog: Catalog
    measures: dict[str, Measure]
    table_ids: frozenset[str]
    targets: dict[str, NumericTargetItem]
    target_years: dict[str, frozenset[int]]
    municipalities: dict[str, Municipality]
    prefecture_names: dict[str, str]
    section_titles: dict[str, int]  # compact standard sheet title -> section no

    @classmethod
    def of(cls, catalog: Catalog) -> _Context:
        return cls(
            catalog=catalog,
            measures={m.id: m for m in catalog.measures},
            table_ids=frozenset(t.table_id for t in catalog.tables),
            targets={t.id: t for t in catalog.numeric_targets},
            target_years={t.id: frozenset(t.years(catalog.fiscal_year)) for t in catalog.numeric_targets},
            municipalities=by_code(),
            prefecture_names={p.code: p.name for p in all_prefectures()},
            section_titles={
                compact_text(layout.section_sheet_title(s.no, s.title)): s.no for s in catalog.sections
            },
        )


def _short(value: object) -> str | None:
    text = cell_text(value)
    if text is not None and len(text) > _MAX_VALUE_CHARS:
        return text[:_MAX_VALUE_CHARS] + "…"
    return text


def _message(code: str, **fields: object) -> tuple[str, str]:
    if code in codelists.ISSUES:
        return codelists.issue_message(code, **fields), codelists.issue_hint(code)
    # A code another stage invented without an entry: still a readable message.
    where = "".join(
        f"{label}「{fields[k]}」" for k, label in (("sheet", "シート"), ("cell", "セル")) if fields.get(k)
    )
    return (
        f"ファイル「{fields.get('file', '')}」{where}に問題があります（{code}：{fields.get('detail') or ''}）。",
        "配布した調査票に記入して提出してください。",
    )


class _FileIssues:
    """Issues of one file, capped at MAX_ISSUES_PER_FILE (then one TOO_MANY_PROBLEMS)."""

    def __init__(self, workbook: ExtractedWorkbook, sink: list[tuple]) -> None:
        self.file_name = workbook.file_name
        self.sha256 = workbook.sha256
        self.sink = sink
        self.count = 0
        self.capped = False

    def add(
        self,
        code: str,
        *,
        sheet: str | None = None,
        cell: str | None = None,
        value: object = None,
        detail: str | None = None,
        rule: str | None = None,
        stage: str = "transform",
    ) -> None:
        if self.capped:
            return
        if self.count >= MAX_ISSUES_PER_FILE:
            self.capped = True
            message, hint = _message("TOO_MANY_PROBLEMS", file=self.file_name, detail=MAX_ISSUES_PER_FILE)
            self.sink.append(
                (
                    self.file_name,
                    self.sha256,
                    None,
                    None,
                    None,
                    "TOO_MANY_PROBLEMS",
                    _RULES["TOO_MANY_PROBLEMS"],
                    message,
                    hint,
                    stage,
                )
            )
            return
        self.count += 1
        shown = _short(value)
        message, hint = _message(
            code, file=self.file_name, sheet=sheet, cell=cell, value=shown, detail=detail
        )
        self.sink.append(
            (
                self.file_name,
                self.sha256,
                sheet,
                cell,
                shown,
                code,
                rule or _RULES.get(code),
                message,
                hint,
                stage,
            )
        )


# --------------------------------------------------------------------------------------------
# Collected rows (tuples in contract column order; one DataFrame per table per batch)
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _columns() -> dict[str, list[str]]:
    return {table: contract(table).column_names for table in StagingBatch.TABLES.values()}


@dataclass
class _Rows:
    submissions: list[tuple] = field(default_factory=list)
    responses: list[tuple] = field(default_factory=list)
    own_initiatives: list[tuple] = field(default_factory=list)
    numeric_targets: list[tuple] = field(default_factory=list)
    issues: list[tuple] = field(default_factory=list)

    def extend(self, tables: tuple[list[tuple], ...]) -> None:
        for attr, rows in zip(StagingBatch.TABLES, tables, strict=True):
            getattr(self, attr).extend(rows)

    def tables(self) -> tuple[list[tuple], ...]:
        return tuple(getattr(self, attr) for attr in StagingBatch.TABLES)

    def batch(self) -> StagingBatch:
        from transform.batch import frame_from_arrow

        return StagingBatch(
            **{
                attr: frame_from_arrow([part], StagingBatch.TABLES[attr])
                for attr, part in self.arrow().items()
            }
        )

    def arrow(self) -> dict[str, object]:
        """Each table's rows as an Arrow table (transform.batch.arrow_from_rows)."""
        return {attr: arrow_rows(attr, getattr(self, attr)) for attr in StagingBatch.TABLES}


def arrow_rows(attr: str, rows: list[tuple]) -> object:
    """Rows of one staging table (a StagingBatch attribute) as an Arrow table of its contract."""
    from transform.batch import arrow_from_rows

    table = StagingBatch.TABLES[attr]
    if attr == "submissions":
        # received_at travels as POSIX seconds (a float pickles cheaply).
        position = _columns()[table].index("received_at")
        rows = [(*r[:position], _utc(r[position]), *r[position + 1 :]) for r in rows]
    return arrow_from_rows(rows, table)


def _utc(seconds: float | None) -> object:
    from datetime import UTC, datetime

    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


@dataclass
class _Identity:
    """What the cover says: the values every staged row of the file carries."""

    municipality_code: str | None
    survey_id: str | None
    fiscal_year: int | None


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

# One staged file as plain data: (sha256, survey_id of the catalog it was staged against, the rows
# of each staging table in StagingBatch.TABLES order). Built where the file was extracted (an
# isolated worker) and sent back as it is: far smaller and cheaper to move than the raw cells.
StagedFile = tuple[str, str, tuple[list[tuple], ...]]


def build_staging(workbooks: list[ExtractedWorkbook], catalog: Catalog) -> StagingBatch:
    """Staging rows and issues of many returned files against one catalog, as one batch.

    The same bytes under two names (same sha256) are staged once, under the first name: the
    staging grain is the sha256, and identical content gives identical rows.
    """
    ctx = _context(catalog)
    rows = _Rows()
    seen: set[str] = set()
    for workbook in workbooks:
        if workbook.sha256 in seen:
            continue
        seen.add(workbook.sha256)
        rows.extend(_staged_tables(workbook, ctx))
    return rows.batch()


def stage_file(workbook: ExtractedWorkbook, prefecture_code: str, fiscal_year: int) -> StagedFile:
    """Stage one workbook against the catalog its cover claims, or the run's own survey
    (`prefecture_code`, `fiscal_year`) when it claims none we know. Plain, picklable rows."""
    from transform.routing import catalog_for, claimed_survey

    try:
        catalog = catalog_for(*claimed_survey(workbook), prefecture_code, fiscal_year)
    except Exception:
        # Staged against the run's own survey, which reports what the cover claims. (The run's
        # own catalog failing to load is not the file's fault: that raises again here.)
        catalog = catalog_for(None, None, prefecture_code, fiscal_year)
    return workbook.sha256, catalog.survey_id, _staged_tables(workbook, _context(catalog))


def _staged_tables(workbook: ExtractedWorkbook, ctx: _Context) -> tuple[list[tuple], ...]:
    """One file's staging rows. Whatever its content does to staging costs this file only: it is
    then staged as a file that could not be read, with the reason."""
    rows = _Rows()
    try:
        _FileTransform(workbook, ctx, rows).run()
    except Exception as exc:
        rows = _Rows()
        _FileTransform(workbook.unread_copy([staging_failure(exc)]), ctx, rows).run()
    return rows.tables()


def staging_failure(exc: BaseException) -> RawIssue:
    """The PARSE_FAILED issue of a file whose staging raised `exc`."""
    if isinstance(exc, MemoryError):
        detail = "調査票の内容の処理中にメモリが不足しました"
    else:
        detail = f"調査票の内容の処理中に予期しないエラー（{type(exc).__name__}）"
    return RawIssue("PARSE_FAILED", detail=detail, rule="staging")


def check_staged(value: object) -> StagedFile:
    """`value` if it has the shape of a StagedFile (it comes from a worker that parsed untrusted
    bytes), else ValueError. Cells are plain values already: the worker's results are unpickled
    with an allow-list."""
    columns = _columns()
    widths = [len(columns[table]) for table in StagingBatch.TABLES.values()]
    if not (isinstance(value, tuple) and len(value) == 3):
        raise ValueError("malformed staged file")
    sha256, survey_id, tables = value
    if not (isinstance(sha256, str) and isinstance(survey_id, str) and isinstance(tables, tuple)):
        raise ValueError("malformed staged file")
    if len(tables) != len(widths):
        raise ValueError("malformed staged file")
    for rows, width in zip(tables, widths, strict=True):
        # map() over C callables: this runs in the parent for every row of a national batch.
        if type(rows) is not list or (
            rows and ({*map(type, rows)} != {tuple} or {*map(len, rows)} != {width})
        ):
            raise ValueError("malformed staged file")
    return value  # type: ignore[return-value]


class StagedBatchBuilder:
    """Staged files into one StagingBatch as they arrive, in any order (`add(index, file)`,
    indexes 0..n-1): rows are taken in index order, and each table's rows become an Arrow part
    every `part_rows` rows, so that most of the conversion overlaps the extraction still running.

    Parts are exactly `part_rows` long (the rest at `finish`): the load hands them to DuckDB as
    they are, and parts that do not tile its row groups (122,880 rows) left partial row groups
    that the load's CHECKPOINT rewrote (0.2 s more, and a file a fifth larger, on a national
    batch in parts of 128 files)."""

    def __init__(self, part_rows: int = 61_440) -> None:
        self.part_rows = part_rows
        self.rows = _Rows()
        self.parts: dict[str, list[object]] = {attr: [] for attr in StagingBatch.TABLES}
        self.survey_of: dict[str, str] = {}
        self.pending: dict[int, StagedFile] = {}
        self.next_index = 0

    def add(self, index: int, file: StagedFile) -> None:
        self.pending[index] = file
        while self.next_index in self.pending:
            sha256, survey_id, tables = self.pending.pop(self.next_index)
            self.next_index += 1
            if sha256 in self.survey_of:
                continue  # the same bytes under a second name
            self.survey_of[sha256] = survey_id
            self.rows.extend(tables)
            for attr, rows in zip(StagingBatch.TABLES, tables, strict=True):
                if rows and len(getattr(self.rows, attr)) >= self.part_rows:
                    self._convert(attr, whole_parts=True)

    def finish(self) -> tuple[StagingBatch, dict[str, str]]:
        from transform.batch import frame_from_arrow

        if self.pending:
            raise ValueError(f"staged files missing before index {min(self.pending)}")
        for attr in StagingBatch.TABLES:
            self._convert(attr, whole_parts=False)
        parts, self.parts = self.parts, {attr: [] for attr in StagingBatch.TABLES}
        batch = StagingBatch(
            **{attr: frame_from_arrow(parts[attr], table) for attr, table in StagingBatch.TABLES.items()}  # type: ignore[arg-type]
        )
        return batch, self.survey_of

    def _convert(self, attr: str, *, whole_parts: bool) -> None:
        # Python rows -> Arrow now (the costly part); one pandas conversion at the end.
        rows: list[tuple] = getattr(self.rows, attr)
        size = self.part_rows
        cut = len(rows) - len(rows) % size if whole_parts else len(rows)
        for start in range(0, cut, size):
            self.parts[attr].append(arrow_rows(attr, rows[start : start + size]))
        if not whole_parts and not self.parts[attr]:
            self.parts[attr].append(arrow_rows(attr, []))  # an empty table keeps its columns
        setattr(self.rows, attr, rows[cut:])


_CONTEXTS: dict[int, tuple[Catalog, _Context]] = {}


def _context(catalog: Catalog) -> _Context:
    """The lookups of a catalog, built once per catalog object (catalogs are loaded once and
    cached, so a worker staging thousands of files builds them once). The entry holds the
    catalog, so its id cannot be reused while cached."""
    cached = _CONTEXTS.get(id(catalog))
    if cached is None or cached[0] is not catalog:
        if len(_CONTEXTS) >= 8:
            _CONTEXTS.clear()
        cached = _CONTEXTS[id(catalog)] = (catalog, _Context.of(catalog))
    return cached[1]


def filename_codes(file_name: str, known: dict[str, Municipality] | None = None) -> list[str]:
    """Municipality codes a file name carries ('112011_川越市_…' or '11201川越.xlsx'): each 5- or
    6-digit run that normalises to a known municipality, in order."""
    known = by_code() if known is None else known
    text = unicodedata.normalize("NFKC", file_name)
    codes: list[str] = []
    for match in _FILENAME_CODE_RE.finditer(text):
        try:
            code = normalize_code(match[1])
        except MunicipalityCodeError:
            continue
        if code in known and code not in codes:
            codes.append(code)
    return codes


# --------------------------------------------------------------------------------------------
# One file
# --------------------------------------------------------------------------------------------


class _FileTransform:
    def __init__(self, workbook: ExtractedWorkbook, ctx: _Context, rows: _Rows) -> None:
        self.wb = workbook
        self.ctx = ctx
        self.rows = rows
        self.issues = _FileIssues(workbook, rows.issues)
        # Staged rows of this file, appended to the batch at the end (dropped when capped).
        self.responses: dict[str, tuple] = {}
        self.own: list[tuple] = []
        self.targets: dict[tuple[str, int], tuple] = {}
        self.own_positions: dict[str, int] = {}
        # sheet title -> row_no -> answer column letters, for formula/error/merge checks.
        self.answer_area: dict[str, dict[int, tuple[str, ...]]] = {}
        self.identity = _Identity(None, None, None)

    # -- driver ---------------------------------------------------------------------------------

    def run(self) -> None:
        wb = self.wb
        if wb.issues:
            for raw in wb.issues:
                self.issues.add(
                    raw.code,
                    sheet=raw.sheet,
                    cell=raw.cell,
                    value=raw.value,
                    detail=raw.detail,
                    rule=raw.rule or "extract",
                    stage="extract",
                )
            return
        cover = self._find_cover()
        if cover is None:
            self.issues.add("NOT_SURVEY_TEMPLATE", detail="表紙シート（調査票の識別情報）がありません")
            return
        if not self._read_cover(cover):
            return
        self._check_hidden_sheets()
        self._check_sheet_keys()
        for section in self.ctx.catalog.sections:
            sheets = self._sheets_for(layout.section_sheet_key(section.no), section=section.no)
            if not sheets:
                self.issues.add("MISSING_SHEET", sheet=layout.section_sheet_title(section.no, section.title))
            for sheet in sheets:
                self._read_section(sheet)
        # Section sheets of sections the catalog does not have: their rows are still reported.
        known_keys = {layout.section_sheet_key(s.no) for s in self.ctx.catalog.sections}
        for sheet in self._ordered(self.wb.sheets):
            key = sheet.key or ""
            if key.startswith(layout.SHEET_SECTION_PREFIX) and key not in known_keys:
                self._read_section(sheet)
        targets = self._sheets_for(layout.SHEET_TARGETS, title=layout.TARGETS_TITLE)
        if not targets and self.ctx.catalog.numeric_targets:
            self.issues.add("MISSING_SHEET", sheet=layout.TARGETS_TITLE)
        for sheet in targets:
            self._read_targets(sheet)
        self._check_cells()
        if not self.issues.capped:
            self.rows.responses.extend(self.responses.values())
            self.rows.own_initiatives.extend(self.own)
            self.rows.numeric_targets.extend(self.targets.values())

    @staticmethod
    def _ordered(sheets: Iterable[RawSheet]) -> list[RawSheet]:
        """Visible sheets first (so a visible sheet wins over a hidden copy), else workbook order."""
        return sorted(sheets, key=lambda s: not s.visible)

    def _sheets_for(
        self, key: str, *, section: int | None = None, title: str | None = None
    ) -> list[RawSheet]:
        found = [s for s in self.wb.sheets if s.key == key]
        if not found:
            # A sheet whose A1 key was lost but whose title is still the standard one.
            for sheet in self.wb.sheets:
                if sheet.key and sheet.key.startswith("kokuho:"):
                    continue
                name = compact_text(sheet.title)
                if (section is not None and self.ctx.section_titles.get(name) == section) or (
                    title is not None and name == compact_text(title)
                ):
                    found.append(sheet)
        return self._ordered(found)

    # -- cover ----------------------------------------------------------------------------------

    def _find_cover(self) -> RawSheet | None:
        for sheet in self._sheets_for(layout.SHEET_COVER, title=layout.COVER_TITLE):
            if sheet.key == layout.SHEET_COVER or any((r.key or "").startswith("meta:") for r in sheet.rows):
                return sheet
        return None

    def _read_cover(self, cover: RawSheet) -> bool:
        """Submission row and identity checks; False when the file's answers are not to be read."""
        ctx, wb, issues = self.ctx, self.wb, self.issues
        catalog = ctx.catalog
        meta: dict[str, str] = {}
        meta_rows: dict[str, RawRow] = {}
        values: dict[str, object] = {}
        cells: dict[str, str] = {}
        area: dict[int, tuple[str, ...]] = {}
        value_col = layout.COVER_VALUE_COLUMN
        for row in cover.rows:
            if not row.key:
                continue
            name, _, key_value = row.key.partition("=")
            name = name.strip()
            if key_value.strip() and name not in meta:
                meta[name] = key_value.strip()
                meta_rows[name] = row
            if name in _COVER_ANSWER_KEYS and name not in values:
                values[name] = row.cells.get(value_col)
                cells[name] = f"{value_col}{row.row_no}"
                area[row.row_no] = (value_col,)
        self.answer_area[cover.title] = area

        if not (
            layout.META_PREFECTURE in meta
            or layout.META_FISCAL_YEAR in meta
            or layout.META_CATALOG_VERSION in meta
            or layout.META_SURVEY_ID in meta
        ):
            issues.add("NOT_SURVEY_TEMPLATE", sheet=cover.title, detail="表紙に調査票の識別情報がありません")
            return False
        prefecture_code, fiscal_year, version, survey_id, keys_valid = self._identity_keys(
            cover, meta, meta_rows
        )

        municipality_code = self._check_municipality(cover, values, cells, meta)
        name_text = normalize_text(values.get(layout.META_MUNICIPALITY_NAME))
        from_name = filename_codes(wb.file_name, ctx.municipalities)
        filename_code = (municipality_code if municipality_code in from_name else None) or (
            from_name[0] if from_name else None
        )
        code_cell = cells.get(layout.META_MUNICIPALITY_CODE) or f"{value_col}1"
        if municipality_code and from_name and municipality_code not in from_name:
            other = ctx.municipalities[from_name[0]]
            issues.add(
                "FILENAME_CODE_MISMATCH",
                sheet=cover.title,
                cell=code_cell,
                value=values.get(layout.META_MUNICIPALITY_CODE),
                detail=f"ファイル名は {other.code} {other.name}、表紙は {municipality_code} "
                f"{ctx.municipalities[municipality_code].name}",
            )

        self.rows.submissions.append(
            (
                wb.file_name,
                wb.file_path,
                wb.sha256,
                wb.file_size,
                wb.file_kind,
                wb.has_macros,
                wb.received_at,
                cover.title,
                code_cell,
                prefecture_code,
                fiscal_year,
                version,
                survey_id,
                municipality_code,
                name_text,
                filename_code,
                *(normalize_text(values.get(key)) for key in layout.CONTACT_KEYS),
            )
        )
        self.identity = _Identity(municipality_code, survey_id, fiscal_year)
        if not keys_valid:
            return False  # which survey the file answers is unknown: its answers cannot be read

        wrong = []
        if prefecture_code != catalog.prefecture_code:
            wrong.append(f"都道府県コード {prefecture_code or '不明'}（本調査は {catalog.prefecture_code}）")
        if fiscal_year != catalog.fiscal_year:
            wrong.append(f"年度 {fiscal_year or '不明'}（本調査は {catalog.fiscal_year}）")
        if version != catalog.catalog_version:
            wrong.append(f"版 {version or '不明'}（本調査は {catalog.catalog_version}）")
        if not wrong and survey_id != catalog.survey_id:
            wrong.append(f"調査ID {survey_id}（本調査は {catalog.survey_id}）")
        if wrong:
            issues.add("WRONG_SURVEY", sheet=cover.title, value=survey_id, detail="、".join(wrong))
            return False
        return True

    def _identity_keys(
        self, cover: RawSheet, meta: dict[str, str], meta_rows: dict[str, RawRow]
    ) -> tuple[str | None, int | None, str | None, str | None, bool]:
        """(prefecture code, fiscal year, catalog version, survey id, all keys valid) from the
        cover's meta keys, each validated (a key is as untrusted as a cell): an invalid one is
        TEMPLATE_KEY_INVALID naming its cell, and reads as absent."""
        valid = True

        def bad(name: str, detail: str) -> None:
            nonlocal valid
            valid = False
            row = meta_rows[name]
            self.issues.add(
                "TEMPLATE_KEY_INVALID",
                sheet=cover.title,
                cell=f"{layout.KEY_COLUMN}{row.row_no}",
                value=row.key,
                detail=detail,
            )

        def read(name: str, parse: Callable[[str], _T | None], detail: str) -> _T | None:
            text = meta.get(name)
            if text is None:
                return None
            parsed = parse(text)
            if parsed is None:
                bad(name, detail)
            return parsed

        prefecture_code = read(layout.META_PREFECTURE, layout.parse_prefecture_code, _PREFECTURE_RULE)
        fiscal_year = read(layout.META_FISCAL_YEAR, layout.parse_fiscal_year, _FISCAL_YEAR_RULE)
        version = read(layout.META_CATALOG_VERSION, layout.parse_catalog_version, _VERSION_RULE)
        survey = read(layout.META_SURVEY_ID, layout.parse_survey_id, _SURVEY_ID_RULE)
        survey_id: str | None = None
        if survey is not None:
            # The survey id carries all three; fill whichever separate key is missing.
            survey_id = "-".join(map(str, survey))
            if layout.META_PREFECTURE not in meta:
                prefecture_code = survey[0]
            if layout.META_FISCAL_YEAR not in meta:
                fiscal_year = survey[1]
            if layout.META_CATALOG_VERSION not in meta:
                version = survey[2]
        elif layout.META_SURVEY_ID not in meta and prefecture_code and fiscal_year and version:
            survey_id = f"{prefecture_code}-{fiscal_year}-{version}"
        return prefecture_code, fiscal_year, version, survey_id, valid

    def _check_municipality(
        self, cover: RawSheet, values: dict[str, object], cells: dict[str, str], meta: dict[str, str]
    ) -> str | None:
        """The cover's municipality code when valid and known (issues raised otherwise)."""
        ctx, issues = self.ctx, self.issues
        raw = values.get(layout.META_MUNICIPALITY_CODE)
        if cell_text(raw) is None:
            raw = meta.get(layout.META_MUNICIPALITY_CODE)  # a key carrying the code, if any
        cell = cells.get(layout.META_MUNICIPALITY_CODE)
        if cell_text(raw) is None:
            issues.add("MUNICIPALITY_CODE_INVALID", sheet=cover.title, cell=cell, detail="記入がありません")
            return None
        try:
            code = normalize_code(raw)
        except MunicipalityCodeError as exc:
            issues.add("MUNICIPALITY_CODE_INVALID", sheet=cover.title, cell=cell, value=raw, detail=str(exc))
            return None
        muni = ctx.municipalities.get(code)
        if muni is None:
            issues.add("MUNICIPALITY_UNKNOWN", sheet=cover.title, cell=cell, value=raw)
            return None
        if not in_survey_area(muni, ctx.catalog.prefecture_code):
            issues.add(
                "MUNICIPALITY_OTHER_PREFECTURE",
                sheet=cover.title,
                cell=cell,
                value=raw,
                detail=f"{muni.prefecture_name}{muni.name}",
            )
        name = compact_text(values.get(layout.META_MUNICIPALITY_NAME))
        if name and not self._name_matches(name, muni):
            issues.add(
                "MUNICIPALITY_NAME_MISMATCH",
                sheet=cover.title,
                cell=cells.get(layout.META_MUNICIPALITY_NAME),
                value=values.get(layout.META_MUNICIPALITY_NAME),
                detail=f"コード {code} は {muni.prefecture_name}{muni.name}",
            )
        return code

    @staticmethod
    def _name_matches(written: str, muni: Municipality) -> bool:
        """川越市, 埼玉県川越市, 入間郡三芳町, 埼玉県入間郡三芳町 all name 三芳町/川越市."""
        expected = compact_text(muni.name)
        rest = written.removeprefix(compact_text(muni.prefecture_name))
        if rest == expected:
            return True
        return rest.endswith(expected) and bool(_GUN_RE.fullmatch(rest[: -len(expected)]))

    # -- sheet keys -----------------------------------------------------------------------------

    def _check_sheet_keys(self) -> None:
        """A template sheet key (A1) that is not one the template writes."""
        for sheet in self.wb.sheets:
            key = sheet.key
            if key and key.startswith("kokuho:") and not layout.is_valid_sheet_key(key):
                self.issues.add(
                    "TEMPLATE_KEY_INVALID",
                    sheet=sheet.title,
                    cell=layout.SHEET_KEY_CELL,
                    value=key,
                    detail=_SHEET_KEY_RULE,
                )

    # -- hidden sheets --------------------------------------------------------------------------

    def _check_hidden_sheets(self) -> None:
        answer_keys = (layout.SHEET_COVER, layout.SHEET_TARGETS)
        for sheet in self.wb.sheets:
            if sheet.visible:
                continue
            key = sheet.key or ""
            if (
                key in answer_keys
                or key.startswith(layout.SHEET_SECTION_PREFIX)
                or self._holds_answers(sheet)
            ):
                self.issues.add("HIDDEN_SHEET", sheet=sheet.title)

    @staticmethod
    def _holds_answers(sheet: RawSheet) -> bool:
        """Keyed measure/own/target rows with something in their (default) answer columns."""
        sec, tgt = layout.SECTION_COLUMNS, layout.TARGET_COLUMNS
        measure_cols = (sec["answer"], sec["budget_line"], sec["note"])
        own_cols = (sec["label"], *measure_cols)
        target_cols = (tgt["value"], tgt["note"])
        for row in sheet.rows:
            key = row.key or ""
            if key.startswith(layout.MEASURE_PREFIX):
                cols = measure_cols
            elif key.startswith(layout.OWN_PREFIX):
                cols = own_cols
            elif key.startswith(layout.TARGET_PREFIX):
                cols = target_cols
            else:
                continue
            if _has_any(row, cols):
                return True
        return False

    # -- section sheets -------------------------------------------------------------------------

    def _read_section(self, sheet: RawSheet) -> None:
        cols = _DEFAULT_SECTION_COLS
        area = self.answer_area.setdefault(sheet.title, {})
        last_own: tuple[str, int] | None = None  # (table_id, row_no) of the last own-initiative row
        for row in sorted(sheet.rows, key=_ROW_NO):
            key = row.key
            if key is None:
                if last_own is not None and row.row_no == last_own[1] + 1 and _has_any(row, cols.own_cols):
                    # A row the municipality inserted below the own-initiative rows.
                    last_own = (last_own[0], row.row_no)
                    self._own_row(sheet, row, last_own[0], cols, area)
                else:
                    last_own = None
                continue
            last_own = None
            if key.startswith(layout.MEASURE_PREFIX):
                self._measure_row(sheet, row, key[len(layout.MEASURE_PREFIX) :].strip(), cols, area)
            elif key == layout.COLUMN_HEADER_KEY:
                cols = _SectionCols.of(_column_mapping(row, layout.SECTION_COLUMNS, layout.SECTION_HEADERS))
            elif key.startswith(layout.OWN_PREFIX):
                parsed = layout.parse_own_key(key)
                if parsed is None or parsed[0] not in self.ctx.table_ids:
                    if _has_any(row, cols.own_cols):
                        self.issues.add(
                            "UNKNOWN_MEASURE" if parsed else "TEMPLATE_KEY_INVALID",
                            sheet=sheet.title,
                            cell=f"{layout.KEY_COLUMN}{row.row_no}",
                            value=key,
                            detail=None if parsed else _OWN_KEY_RULE,
                        )
                    continue
                last_own = (parsed[0], row.row_no)
                self._own_row(sheet, row, parsed[0], cols, area)

    def _hidden_row(self, sheet: RawSheet, row: RawRow, cols: tuple[str, ...]) -> None:
        for col in cols:
            if normalize_text(row.cells.get(col)) is not None:
                self.issues.add(
                    "HIDDEN_ROW", sheet=sheet.title, cell=f"{col}{row.row_no}", value=row.cells[col]
                )
                return

    def _provenance(self, sheet: RawSheet, cell: str, row_no: int) -> tuple[object, ...]:
        """The leading columns every staging row shares: file, sheet, cell, row and whose answer."""
        return (
            self.wb.file_name,
            self.wb.sha256,
            sheet.title,
            cell,
            row_no,
            self.identity.municipality_code,
            self.identity.survey_id,
            self.identity.fiscal_year,
        )

    def _too_long(self, sheet: RawSheet, cell: str, text: str | None, limit: int, value: object) -> None:
        if text is not None and len(text) > limit:
            self.issues.add(
                "TEXT_TOO_LONG",
                sheet=sheet.title,
                cell=cell,
                value=value,
                detail=f"{len(text)}文字、上限{limit}文字",
            )

    def _measure_row(
        self,
        sheet: RawSheet,
        row: RawRow,
        measure_id: str,
        cols: _SectionCols,
        area: dict[int, tuple[str, ...]],
    ) -> None:
        issues, cells, r = self.issues, row.cells, row.row_no
        area[r] = cols.measure_cols
        if measure_id not in self.ctx.measures:
            if _has_any(row, cols.measure_cols):
                issues.add("UNKNOWN_MEASURE", sheet=sheet.title, cell=f"A{r}", value=measure_id)
            return
        if row.hidden:
            self._hidden_row(sheet, row, cols.measure_cols)
        cell = f"{cols.answer or layout.SECTION_COLUMNS['answer']}{r}"
        raw_answer = cells.get(cols.answer) if cols.answer else None
        answer = parse_answer(raw_answer)
        if answer is None:
            issues.add("UNKNOWN_ANSWER", sheet=sheet.title, cell=cell, value=raw_answer)
        raw_budget = cells.get(cols.budget_line) if cols.budget_line else None
        budget = parse_budget_line(raw_budget)
        if budget is not None:
            self._too_long(
                sheet, f"{cols.budget_line}{r}", budget, codelists.BUDGET_LINE_MAX_CHARS, raw_budget
            )
        raw_note = cells.get(cols.note) if cols.note else None
        note = clean_text(raw_note) if raw_note is not None else None
        if note is not None:
            self._too_long(sheet, f"{cols.note}{r}", note, codelists.NOTE_MAX_CHARS, raw_note)
        record = (
            *self._provenance(sheet, cell, r),
            measure_id,
            normalize_text(cells.get(cols.label)) if cols.label else None,
            cell_text(raw_answer),
            answer,
            None if answer is None else answer == codelists.ANSWER_YES,
            budget,
            cell_text(raw_budget),
            note,
        )
        first = self.responses.get(measure_id)
        if first is None:
            self.responses[measure_id] = record
            return
        # Same measure twice: identical answers are harmless; differing ones cannot be resolved.
        first_answer = first[11] if first[11] is not None else compact_text(first[10])
        this_answer = answer if answer is not None else compact_text(raw_answer)
        if (first_answer, first[13]) != (this_answer, budget):
            issues.add(
                "DUPLICATE_MEASURE",
                sheet=sheet.title,
                cell=cell,
                value=cell_text(raw_answer),
                detail=f"取組ID {measure_id}：シート「{first[2]}」セル{first[3]}とセル{cell}",
            )

    def _own_row(
        self,
        sheet: RawSheet,
        row: RawRow,
        table_id: str,
        cols: _SectionCols,
        area: dict[int, tuple[str, ...]],
    ) -> None:
        cells, r = row.cells, row.row_no
        area[r] = cols.own_cols
        if not cells or not _has_any(row, cols.own_cols):
            return
        if row.hidden:
            self._hidden_row(sheet, row, cols.own_cols)
        raw_text = cells.get(cols.label) if cols.label else None
        text = clean_text(raw_text)
        text_cell = f"{cols.label or layout.SECTION_COLUMNS['label']}{r}"
        raw_budget = cells.get(cols.budget_line) if cols.budget_line else None
        budget = parse_budget_line(raw_budget)
        raw_note = cells.get(cols.note) if cols.note else None
        note = clean_text(raw_note)
        if text is None:
            self.issues.add(
                "OWN_TEXT_MISSING",
                sheet=sheet.title,
                cell=text_cell,
                value=cell_text(raw_budget) or cell_text(raw_note),
            )
            return
        self._too_long(sheet, text_cell, text, codelists.OWN_INITIATIVE_MAX_CHARS, raw_text)
        self._too_long(sheet, f"{cols.budget_line}{r}", budget, codelists.BUDGET_LINE_MAX_CHARS, raw_budget)
        self._too_long(sheet, f"{cols.note}{r}", note, codelists.NOTE_MAX_CHARS, raw_note)
        position = self.own_positions.get(table_id, 0) + 1
        self.own_positions[table_id] = position
        self.own.append(
            (
                *self._provenance(sheet, text_cell, r),
                table_id,
                position,
                text,
                budget,
                note,
            )
        )

    # -- targets --------------------------------------------------------------------------------

    def _read_targets(self, sheet: RawSheet) -> None:
        defaults, headers = layout.TARGET_COLUMNS, layout.TARGET_HEADERS
        mapping = dict(defaults)
        area = self.answer_area.setdefault(sheet.title, {})
        for row in sorted(sheet.rows, key=_ROW_NO):
            key = row.key
            if key == layout.COLUMN_HEADER_KEY:
                mapping = _column_mapping(row, defaults, headers)
            elif key and key.startswith(layout.TARGET_PREFIX):
                self._target_row(sheet, row, key, mapping, area)

    def _target_row(
        self,
        sheet: RawSheet,
        row: RawRow,
        key: str,
        mapping: dict[str, str | None],
        area: dict[int, tuple[str, ...]],
    ) -> None:
        issues, cells, r = self.issues, row.cells, row.row_no
        value_col, note_col = mapping["value"], mapping["note"]
        cols = tuple(c for c in (value_col, note_col) if c)
        area[r] = cols
        raw = cells.get(value_col) if value_col else None
        raw_note = cells.get(note_col) if note_col else None
        parsed_key = layout.parse_target_key(key)
        if (
            parsed_key is None
            or parsed_key[0] not in self.ctx.targets
            or parsed_key[1] not in self.ctx.target_years[parsed_key[0]]
        ):
            if _has_any(row, cols):
                issues.add(
                    "UNKNOWN_TARGET" if parsed_key else "TEMPLATE_KEY_INVALID",
                    sheet=sheet.title,
                    cell=f"{layout.KEY_COLUMN}{r}",
                    value=key,
                    detail=None if parsed_key else _TARGET_KEY_RULE,
                )
            return
        target_id, target_year = parsed_key
        if row.hidden:
            self._hidden_row(sheet, row, cols)
        cell = f"{value_col or layout.TARGET_COLUMNS['value']}{r}"
        parsed = parse_target(raw, is_percent_format=cell in getattr(sheet, "percent_cells", ()))
        if not parsed.ok:
            issues.add("TARGET_UNPARSEABLE", sheet=sheet.title, cell=cell, value=raw)
        elif parsed.value is not None:
            item = self.ctx.targets[target_id]
            if not item.minimum <= parsed.value <= item.maximum:
                issues.add(
                    "TARGET_OUT_OF_RANGE",
                    sheet=sheet.title,
                    cell=cell,
                    value=parsed.raw_text,
                    detail=f"{item.minimum:g}～{item.maximum:g}",
                )
        note = clean_text(raw_note)
        self._too_long(sheet, f"{note_col}{r}", note, codelists.NOTE_MAX_CHARS, raw_note)
        record = (
            *self._provenance(sheet, cell, r),
            target_id,
            target_year,
            parsed.raw_text,
            parsed.value,
            parsed.qualifier,
            note,
        )
        first = self.targets.get(parsed_key)
        if first is None:
            self.targets[parsed_key] = record
        elif _target_signature(first[11], first[12], first[10]) != _target_signature(
            parsed.value, parsed.qualifier, parsed.raw_text
        ):
            issues.add(
                "DUPLICATE_MEASURE",
                sheet=sheet.title,
                cell=cell,
                value=parsed.raw_text,
                detail=f"目標 {target_id} {target_year}年度：シート「{first[2]}」セル{first[3]}とセル{cell}",
            )

    # -- formulas, errors, merges in the answer area ------------------------------------------

    def _check_cells(self) -> None:
        issues = self.issues
        for sheet in self.wb.sheets:
            area = self.answer_area.get(sheet.title)
            if not area:
                continue
            formulas = getattr(sheet, "formula_text", {})
            for address in sheet.formula_without_value:
                if self._in_area(area, address):
                    formula = formulas.get(address)
                    value = f"={formula}" if formula else "=…"
                    issues.add("FORMULA_WITHOUT_VALUE", sheet=sheet.title, cell=address, value=value)
            for address, error in sheet.error_cells.items():
                if self._in_area(area, address):
                    issues.add("ERROR_VALUE", sheet=sheet.title, cell=address, value=error)
            for merged in sheet.merged_ranges:
                if self._merge_hits(area, merged):
                    issues.add("MERGED_CELLS", sheet=sheet.title, cell=merged)

    @staticmethod
    def _in_area(area: dict[int, tuple[str, ...]], address: str) -> bool:
        parsed = _split_address(address)
        return parsed is not None and parsed[0] in area.get(parsed[1], ())

    @staticmethod
    def _merge_hits(area: dict[int, tuple[str, ...]], merged: str) -> bool:
        bounds = _parse_range(merged)
        if bounds is None:
            return False
        c1, r1, c2, r2 = bounds
        rows: Iterable[int] = range(r1, r2 + 1) if r2 - r1 < len(area) else list(area)
        for r in rows:
            cols = area.get(r)
            if cols and r1 <= r <= r2 and any(c1 <= _col_index(c) <= c2 for c in cols):
                return True
        return False
