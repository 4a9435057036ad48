"""Read the published views into plain Python objects for the Excel export.

Only the public views are read (measure_summary, own_initiatives, submission_status,
numeric_targets, municipality_matrix), through a read-only connection that is closed before the
workbook is built, so an export never holds the warehouse file longer than the reads take.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, SupportsInt
from zoneinfo import ZoneInfo

import duckdb

from kokuho.catalog import SUBGROUP_MARKS
from load.memory import export_memory_limit, within_memory_bounds
from load.sql_files import fill, sql
from load.sql_files import quote_identifier as _quote

LOCAL_TZ = ZoneInfo("Asia/Tokyo")


class ExportError(RuntimeError):
    """An export that cannot be made; the message is Japanese and names the database/view."""


# Columns each view must have, and columns used when present.
MEASURE_SUMMARY_COLUMNS = (
    "fiscal_year",
    "prefecture_code",
    "measure_id",
    "section_no",
    "section",
    "subsection_no",
    "subsection",
    "group_code",
    "group_title",
    "subgroup_no",
    "subgroup_title",
    "item_no",
    "label",
    "implementing_count",
    "municipality_total",
    "implementing_pct",
    "budget_lines",
    "prev_year_count",
    "change_marker",
)
REQUIRED: dict[str, tuple[str, ...]] = {
    "measure_summary": MEASURE_SUMMARY_COLUMNS,
    "own_initiatives": ("table_id", "text", "budget_line"),
    "submission_status": ("municipality_code", "status"),
    "numeric_targets": ("municipality_code", "target_id", "target_year", "value", "qualifier", "raw_text"),
    "municipality_matrix": ("municipality_code", "measure_id", "implemented"),
}
# Columns used when present: logical name -> the view's column names to try, first found wins.
OPTIONAL: dict[str, dict[str, tuple[str, ...]]] = {
    "measure_summary": {},
    "own_initiatives": {
        "municipality_code": ("municipality_code",),
        "municipality_name": ("municipality_name",),
        "position": ("position",),
    },
    "submission_status": {
        "municipality_name": ("municipality_name",),
        "file_name": ("latest_file_name", "file_name"),
        "received_at": ("latest_received_at", "received_at"),
        "reason": ("reasons", "reason"),
    },
    "numeric_targets": {
        "municipality_name": ("municipality_name",),
        "target_label": ("label", "target_label"),
        "unit": ("unit",),
        "note": ("note",),
    },
    "municipality_matrix": {"municipality_name": ("municipality_name",)},
}
# The typed items' views, read when the database has them (one written before they existed has not).
ITEM_COLUMNS: dict[str, tuple[str, ...]] = {
    "item_summary": (
        "item_id",
        "answer_count",
        "applicable_total",
        "status_text",
        "breakdown_text",
        "line_text",
    ),
    "item_option_counts": (
        "item_id",
        "item_label",
        "option_label",
        "option_count",
        "prev_year_count",
        "change_count",
        "change_marker",
    ),
    "item_number_totals": (
        "item_id",
        "label",
        "unit",
        "value_year",
        "year_label",
        "answered_count",
        "value_sum",
        "value_min",
        "value_max",
        "value_avg",
        "previous_year_sum",
    ),
    "item_numbers": (
        "municipality_code",
        "municipality_name",
        "item_id",
        "label",
        "unit",
        "value_year",
        "year_label",
        "raw_text",
        "value",
        "previous_year_value",
        "note",
    ),
}
# Row order inside each view's rows (columns missing from a view are skipped).
ORDER_BY: dict[str, tuple[str, ...]] = {
    "measure_summary": ("position", "section_no", "subsection_no", "group_code", "subgroup_no", "item_no"),
    "own_initiatives": ("table_id", "municipality_code", "position"),
    "submission_status": ("municipality_code",),
    "numeric_targets": ("target_id", "municipality_code", "target_year"),
    "municipality_matrix": ("municipality_code", "measure_id"),
    "item_summary": ("position",),
    "item_option_counts": ("item_position", "option_position"),
    "item_number_totals": ("position", "value_year"),
    "item_numbers": ("position", "municipality_code", "value_year"),
}


@dataclass(frozen=True)
class MeasureRow:
    fiscal_year: int
    prefecture_code: str
    measure_id: str
    section_no: int
    section: str
    subsection_no: int
    subsection: str
    group_code: str | None
    group_title: str | None
    subgroup_no: int | None
    subgroup_title: str | None
    item_no: int
    label: str
    implementing_count: int
    municipality_total: int
    implementing_pct: float | None
    budget_lines: tuple[str, ...]
    prev_year_count: int | None
    change_marker: str | None

    @property
    def table_id(self) -> str:
        """Same key as kokuho.catalog.SurveyTable.table_id: 1-1, 3-2-ア-1."""
        base = f"{self.section_no}-{self.subsection_no}"
        return f"{base}-{self.group_code}-{self.subgroup_no}" if self.group_code else base

    @property
    def place(self) -> str:
        """Short human reference: 1-(1)-3, 3-(2)ア①-2."""
        text = f"{self.section_no}-({self.subsection_no})"
        if self.group_code:
            text += self.group_code
        if self.subgroup_no:
            text += SUBGROUP_MARKS[self.subgroup_no - 1]
        return f"{text}-{self.item_no}"


@dataclass(frozen=True)
class OwnInitiative:
    table_id: str
    municipality_code: str | None
    municipality_name: str | None
    position: int | None
    text: str
    budget_line: str | None


@dataclass(frozen=True)
class SubmissionRow:
    municipality_code: str
    municipality_name: str
    status: str
    file_name: str | None
    received_at: dt.datetime | None
    reason: str | None


@dataclass(frozen=True)
class TargetRow:
    municipality_code: str
    municipality_name: str
    target_id: str
    target_label: str
    unit: str
    target_year: int
    value: float | None
    qualifier: str | None
    raw_text: str | None
    note: str | None


@dataclass(frozen=True)
class ItemStatus:
    """item_summary's counts and published strings of one item (status sheet)."""

    answer_count: int
    applicable_total: int
    status_text: str
    breakdown_text: str | None
    line_text: str | None


@dataclass(frozen=True)
class OptionCountRow:
    item_id: str
    item_label: str
    option_label: str
    option_count: int
    prev_year_count: int | None
    change_count: int | None
    change_marker: str | None


@dataclass(frozen=True)
class NumberTotalRow:
    item_id: str
    label: str
    unit: str | None
    value_year: int
    year_label: str
    answered_count: int
    value_sum: float | None
    value_min: float | None
    value_max: float | None
    value_avg: float | None
    previous_year_sum: float | None


@dataclass(frozen=True)
class NumberRow:
    municipality_code: str
    municipality_name: str
    item_id: str
    label: str
    unit: str | None
    value_year: int
    year_label: str
    raw_text: str | None
    value: float | None
    previous_year_value: float | None
    note: str | None


@dataclass(frozen=True)
class ReturnedRow:
    """One problem of one quarantined file (load/sql/queries/returned_files.sql): the 差戻し list."""

    fiscal_year: int | None
    municipality_code: str | None
    municipality_name: str | None
    file_name: str
    received_at: dt.datetime | None
    sheet: str | None
    cell: str | None
    value: str | None
    message: str | None
    hint: str | None
    code: str | None
    rule: str | None
    current_status: str | None
    sha256: str


def read_returned(con: duckdb.DuckDBPyConnection) -> list[ReturnedRow]:
    """Every quarantined file with its problems, all years (the query binds no parameter)."""
    cursor = con.execute(sql("queries/returned_files"))
    names = [d[0] for d in cursor.description]
    rows = []
    for values in cursor.fetchall():
        r = dict(zip(names, values, strict=True))
        rows.append(
            ReturnedRow(
                fiscal_year=_int(r["fiscal_year"]),
                municipality_code=_text(r["municipality_code"]),
                municipality_name=_text(r["municipality_name"]),
                file_name=str(r["file_name"]),
                received_at=local_time(r["received_at"]),
                sheet=_text(r["sheet"]),
                cell=_text(r["cell"]),
                value=_text(r["value"]),
                message=_text(r["message"]),
                hint=_text(r["hint"]),
                code=_text(r["code"]),
                rule=_text(r["rule"]),
                current_status=_text(r["current_status"]),
                sha256=str(r["sha256"]),
            )
        )
    return rows


@dataclass
class SummaryData:
    fiscal_year: int
    prefecture_code: str
    prefecture_name: str
    measures: list[MeasureRow]
    measure_columns: list[str]  # measure_summary's columns as the view has them
    measure_records: list[dict[str, Any]]  # measure_summary rows as read (machine-readable sheet)
    own_initiatives: list[OwnInitiative]
    submissions: list[SubmissionRow]
    targets: list[TargetRow]
    matrix_municipalities: list[tuple[str, str]]  # (code, name) sorted by code
    matrix: dict[str, set[str]] = field(default_factory=dict)  # municipality_code -> measure_ids with ○
    matrix_answered: set[str] = field(default_factory=set)  # municipalities with an accepted file
    data_as_of: dt.datetime | None = None
    # quarantined files of this survey year, and those whose year could not be read
    returned: list[ReturnedRow] = field(default_factory=list)
    # the typed items' views (empty for a database without them)
    item_status: dict[str, ItemStatus] = field(default_factory=dict)  # item_id -> strings
    option_counts: list[OptionCountRow] = field(default_factory=list)
    number_totals: list[NumberTotalRow] = field(default_factory=list)
    numbers: list[NumberRow] = field(default_factory=list)

    @property
    def has_previous_year(self) -> bool:
        return any(m.prev_year_count is not None for m in self.measures)

    @property
    def municipality_count(self) -> int:
        """Municipalities of the survey (every one is listed on submission_status)."""
        listed = len(self.matrix_municipalities) or len(self.submissions)
        return listed or max((m.municipality_total for m in self.measures), default=0)

    @property
    def answered_count(self) -> int:
        """Municipalities counted in the figures: those with an accepted file."""
        if self.matrix_municipalities:
            return len(self.matrix_answered)
        return sum(1 for s in self.submissions if s.status in ("受理", "再提出"))

    def sections(self) -> list[tuple[int, str]]:
        seen: dict[int, str] = {}
        for m in self.measures:
            seen.setdefault(m.section_no, m.section)
        return sorted(seen.items())


def read_summary(db_path: Path, fiscal_year: int, prefecture_code: str | None = None) -> SummaryData:
    """Everything the workbook shows, read from the views of one fiscal year and prefecture.

    Read within export_memory_limit(); should DuckDB run out of memory there, read again within a
    larger bound and at last within DuckDB's own (load.memory.retry_limits): the export is never
    lost to the bound."""
    return within_memory_bounds(
        export_memory_limit(), lambda limit: _read_summary(Path(db_path), fiscal_year, prefecture_code, limit)
    )


def _read_summary(
    db_path: Path, fiscal_year: int, prefecture_code: str | None, memory_limit: str | None
) -> SummaryData:
    if not db_path.is_file():
        raise ExportError(f"データベース {db_path} が見つかりません（--db で指定してください）")
    with read_only_within(db_path, memory_limit) as con:
        columns = _view_columns(con)
        for view in REQUIRED:
            if view not in columns:
                raise ExportError(f"データベース {db_path} にビュー {view} がありません")
            missing = [c for c in REQUIRED[view] if c not in columns[view]]
            if missing:
                raise ExportError(f"ビュー {view} に列 {', '.join(missing)} がありません（{db_path}）")
        pref = str(prefecture_code or _only_prefecture(con, fiscal_year, db_path)).zfill(2)
        if not PREFECTURE_CODE.fullmatch(pref):
            raise ExportError(f"都道府県コード {pref} が正しくありません（2桁の数字、例 11）")
        read_year_only(con, pref, fiscal_year)
        # The matrix is the slowest view by far: read in another thread while the others are read
        # (DuckDB releases the GIL while it runs a query; a cursor is a connection of its own).
        matrix_cursor = con.cursor()
        read_year_only(matrix_cursor, pref, fiscal_year)
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(
                _read_matrix, matrix_cursor, columns["municipality_matrix"], fiscal_year, pref
            )
            try:
                ms_columns = columns["measure_summary"]
                # Every survey of the year in one read; the latest one is kept (_latest_survey).
                ms = _read(con, "measure_summary", ms_columns, fiscal_year, pref)
                survey = _latest_survey(ms) if "survey_id" in ms_columns else None
                ms = _of_survey(ms, survey)
                if not ms:
                    raise ExportError(
                        f"ビュー measure_summary に {fiscal_year}年度・都道府県コード {pref} のデータがありません（{db_path}）"
                    )
                own = _of_survey(
                    _read(con, "own_initiatives", columns["own_initiatives"], fiscal_year, pref), survey
                )
                subs = _of_survey(
                    _read(con, "submission_status", columns["submission_status"], fiscal_year, pref), survey
                )
                targets = _of_survey(
                    _read(con, "numeric_targets", columns["numeric_targets"], fiscal_year, pref), survey
                )
                texts = _Texts()
                data = _assemble(fiscal_year, pref, ms, list(ms_columns), own, subs, targets, texts)
                _add_items(con, data, columns, survey, texts)
                if {"submissions", "file_issues", "municipalities"} <= columns.keys():
                    data.returned = [r for r in read_returned(con) if r.fiscal_year in (None, fiscal_year)]
                _add_matrix(data, _of_survey(pending.result(), survey), texts)
            except BaseException:
                matrix_cursor.interrupt()  # do not wait for a matrix nobody will read
                raise
            finally:
                wait([pending])
                matrix_cursor.close()
    return data


@contextlib.contextmanager
def read_only_within(db_path: Path, memory_limit: str | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the warehouse within `memory_limit` (None: DuckDB's own), spilling
    to a private temporary folder that is removed with the connection."""
    spill = tempfile.mkdtemp(prefix="kokuho-export-")
    config: dict[str, str | bool | int | float | list[str]] = (
        {"memory_limit": memory_limit, "temp_directory": spill} if memory_limit else {}
    )
    try:
        con = duckdb.connect(str(db_path), read_only=True, config=config)
    except duckdb.Error as exc:
        shutil.rmtree(spill, ignore_errors=True)
        raise ExportError(f"データベース {db_path} を読み取り専用で開けません: {exc}") from exc
    try:
        yield con
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def read_year_only(con: duckdb.DuckDBPyConnection, pref: str, fiscal_year: int) -> None:
    """The connection's views read the prefecture's surveys of the year and of the year before (what
    the year compares with) only, so that a warehouse of many years costs the export one year's rows
    (settings/survey_scope, macro survey_in_scope)."""
    con.execute(
        fill("settings/survey_scope", prefecture_code=code_literal(pref), fiscal_year=str(int(fiscal_year)))
    )


def _view_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Columns of every table and view of the database, by name, in their declared order."""
    rows = con.execute(sql("queries/view_columns")).fetchall()
    result: dict[str, list[str]] = {}
    for table, column in rows:
        result.setdefault(table, []).append(column)
    return result


def _only_prefecture(con: duckdb.DuckDBPyConnection, fiscal_year: int, db_path: Path) -> str:
    codes = [
        r[0]
        # an int literal, see _where: no bound parameters
        for r in con.execute(
            fill("queries/prefectures_of_year", fiscal_year=str(int(fiscal_year)))
        ).fetchall()
    ]
    if not codes:
        raise ExportError(f"ビュー measure_summary に {fiscal_year}年度のデータがありません（{db_path}）")
    if len(codes) > 1:
        raise ExportError(
            f"{fiscal_year}年度のデータに複数の都道府県（{', '.join(codes)}）があります。--prefecture で指定してください"
        )
    return str(codes[0])


def _read(
    con: duckdb.DuckDBPyConnection, view: str, present: list[str], fiscal_year: int, pref: str
) -> list[dict[str, Any]]:
    """Rows of one view for the year and prefecture, with survey_id when the view carries it.

    The view name comes from REQUIRED (a constant) and column names from information_schema;
    the values are the year (an int) and the checked two-digit code (see _where)."""
    if view == "measure_summary":
        selected = [_quote(c) for c in present]  # the machine-readable sheet shows every column
    else:
        selected = [_quote(c) for c in REQUIRED.get(view) or ITEM_COLUMNS[view]]
        for logical, candidates in OPTIONAL.get(view, {}).items():
            found = next((c for c in candidates if c in present), None)
            selected.append(
                f"{_quote(found)} AS {_quote(logical)}" if found else f"NULL AS {_quote(logical)}"
            )
        if "survey_id" in present:
            selected.append('"survey_id"')  # for _of_survey
    order = ", ".join(_quote(c) + " NULLS FIRST" for c in ORDER_BY[view] if c in present)
    cursor = con.execute(
        fill(
            "queries/export_view_rows",
            columns=", ".join(selected),
            view=_quote(view),
            where=_where(present, fiscal_year, pref),
            order=" ORDER BY " + order if order else "",
        )
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


PREFECTURE_CODE = re.compile(r"[0-9]{2}")


def _where(present: list[str], fiscal_year: int, pref: str) -> str:
    """WHERE fiscal_year = 2024 AND prefecture_code = '11', as literals rather than parameters.

    Binding any parameter makes the duckdb module import pandas, a large part of an export run
    on its own (docs/benchmark.md). Both values are safe as literals: an int, and a code read_summary has
    checked to be two digits. The survey is filtered in Python (_of_survey)."""
    pref = code_literal(pref)
    where = []
    if "fiscal_year" in present:
        where.append(f"fiscal_year = {int(fiscal_year)}")
    if "prefecture_code" in present:
        where.append(f"prefecture_code = '{pref}'")
    return " WHERE " + " AND ".join(where) if where else ""


def code_literal(pref: str) -> str:
    """A prefecture code as it may stand in SQL text: two digits, which read_summary has checked
    (ValueError for anything else)."""
    if not PREFECTURE_CODE.fullmatch(pref):
        raise ValueError(f"unchecked prefecture code {pref!r}")
    return pref


def _of_survey(rows: list[dict[str, Any]], survey_id: str | None) -> list[dict[str, Any]]:
    """The rows of one survey (all rows when the views carry no survey_id)."""
    if survey_id is None or not rows or "survey_id" not in rows[0]:
        return rows
    return [r for r in rows if r["survey_id"] == survey_id]


def _read_matrix(
    con: duckdb.DuckDBPyConnection, present: list[str], fiscal_year: int, pref: str
) -> list[dict[str, Any]]:
    """municipality_matrix grouped by (survey, municipality, implemented), measures as a list.

    One row per municipality and answer instead of one per municipality and measure: the national
    matrix has 1,741 × 150 rows, and turning each into Python objects cost more than the query.
    Lists only where the answer may be yes (_implemented decides): no NULLs, no false."""
    name = '"municipality_name"' if "municipality_name" in present else "NULL"
    survey = '"survey_id"' if "survey_id" in present else "NULL"
    cursor = con.execute(
        fill("queries/export_matrix_rows", survey=survey, name=name, where=_where(present, fiscal_year, pref))
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _latest_survey(rows: list[dict[str, Any]]) -> str | None:
    """The survey of the year: when a year has several catalog versions, the latest one."""
    surveys = [r["survey_id"] for r in rows if r["survey_id"] is not None]
    return str(max(surveys)) if surveys else None


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: SupportsInt | str | None) -> int | None:
    return None if value is None else int(value)


def local_time(value: object) -> dt.datetime | None:
    """Timestamps as naive Japan time (openpyxl cannot write time-zone-aware datetimes)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(LOCAL_TZ).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return None


def _reason_text(value: object) -> str | None:
    if isinstance(value, list | tuple):
        parts = [str(v).strip() for v in value if v is not None and str(v).strip()]
        return "／".join(parts) or None
    return _text(value)


class _Texts:
    """_text memoised (names, labels, units and qualifiers repeat on most of a national view's
    rows) and municipality names with the master as fallback."""

    def __init__(self) -> None:
        from kokuho.municipalities import by_code

        self.masters = by_code()
        self.texts: dict[str, str | None] = {}

    def text(self, value: object) -> str | None:
        if type(value) is not str:  # only str keys: 1 == True would mix "1" and "True"
            return _text(value)
        try:
            return self.texts[value]
        except KeyError:
            result = self.texts[value] = _text(value)
            return result

    def name_of(self, code: str, given: object) -> str:
        name = self.text(given)
        if name:
            return name
        known = self.masters.get(code)
        return known.name if known else code


def _assemble(
    fiscal_year: int,
    pref: str,
    ms: list[dict[str, Any]],
    measure_columns: list[str],
    own: list[dict[str, Any]],
    subs: list[dict[str, Any]],
    targets: list[dict[str, Any]],
    texts: _Texts,
) -> SummaryData:
    """Everything but the matrix (_add_matrix), which is read in parallel."""
    from kokuho.municipalities import prefecture

    measures = [_measure_row(r) for r in ms]
    own_rows = [_own_initiative(r) for r in own if _text(r["text"])]
    sub_rows = [_submission_row(r, texts) for r in subs]
    target_rows = [_target_row(r, pref, fiscal_year, texts) for r in targets]
    received = [s.received_at for s in sub_rows if s.received_at is not None]
    return SummaryData(
        fiscal_year=fiscal_year,
        prefecture_code=pref,
        prefecture_name=_prefecture_name(pref, prefecture),
        measures=measures,
        measure_columns=measure_columns,
        measure_records=ms,
        own_initiatives=own_rows,
        submissions=sub_rows,
        targets=target_rows,
        matrix_municipalities=[],
        data_as_of=max(received) if received else None,
    )


def _measure_row(r: dict[str, Any]) -> MeasureRow:
    return MeasureRow(
        fiscal_year=int(r["fiscal_year"]),
        prefecture_code=str(r["prefecture_code"]),
        measure_id=str(r["measure_id"]),
        section_no=int(r["section_no"]),
        section=str(r["section"]),
        subsection_no=int(r["subsection_no"]),
        subsection=str(r["subsection"]),
        group_code=_text(r["group_code"]),
        group_title=_text(r["group_title"]),
        subgroup_no=_int(r["subgroup_no"]),
        subgroup_title=_text(r["subgroup_title"]),
        item_no=int(r["item_no"]),
        label=str(r["label"]),
        implementing_count=int(r["implementing_count"] or 0),
        municipality_total=int(r["municipality_total"] or 0),
        implementing_pct=None if r["implementing_pct"] is None else float(r["implementing_pct"]),
        budget_lines=tuple(str(b) for b in (r["budget_lines"] or []) if _text(b)),
        prev_year_count=_int(r["prev_year_count"]),
        change_marker=_text(r["change_marker"]),
    )


def _own_initiative(r: dict[str, Any]) -> OwnInitiative:
    return OwnInitiative(
        table_id=str(r["table_id"]),
        municipality_code=_text(r["municipality_code"]),
        municipality_name=_text(r["municipality_name"]),
        position=_int(r["position"]),
        text=str(r["text"]),
        budget_line=_text(r["budget_line"]),
    )


def _submission_row(r: dict[str, Any], texts: _Texts) -> SubmissionRow:
    name_of = texts.name_of
    return SubmissionRow(
        municipality_code=str(r["municipality_code"]),
        municipality_name=name_of(str(r["municipality_code"]), r["municipality_name"]),
        status=str(r["status"]),
        file_name=_text(r["file_name"]),
        received_at=local_time(r["received_at"]),
        reason=_reason_text(r["reason"]),
    )


def _target_row(r: dict[str, Any], pref: str, fiscal_year: int, texts: _Texts) -> TargetRow:
    text, name_of = texts.text, texts.name_of
    return TargetRow(
        municipality_code=str(r["municipality_code"]),
        municipality_name=name_of(str(r["municipality_code"]), r["municipality_name"]),
        target_id=str(r["target_id"]),
        target_label=text(r["target_label"]) or _target_label(pref, fiscal_year, str(r["target_id"])),
        unit=text(r["unit"]) or "%",
        target_year=int(r["target_year"]),
        value=None if r["value"] is None else float(r["value"]),
        qualifier=text(r["qualifier"]),
        raw_text=text(r["raw_text"]),
        note=text(r["note"]),
    )


def _add_items(
    con: duckdb.DuckDBPyConnection,
    data: SummaryData,
    columns: dict[str, list[str]],
    survey: str | None,
    texts: _Texts,
) -> None:
    """The typed items' views of the survey, when the database has them with their columns."""

    def rows(view: str) -> list[dict[str, Any]]:
        present = columns.get(view, [])
        if not set(ITEM_COLUMNS[view]) <= set(present):
            return []
        return _of_survey(_read(con, view, present, data.fiscal_year, data.prefecture_code), survey)

    text = texts.text
    data.item_status = {
        str(r["item_id"]): ItemStatus(
            answer_count=int(r["answer_count"] or 0),
            applicable_total=int(r["applicable_total"] or 0),
            status_text=str(r["status_text"]),
            breakdown_text=text(r["breakdown_text"]),
            line_text=text(r["line_text"]),
        )
        for r in rows("item_summary")
    }
    data.option_counts = [
        OptionCountRow(
            item_id=str(r["item_id"]),
            item_label=str(r["item_label"]),
            option_label=str(r["option_label"]),
            option_count=int(r["option_count"] or 0),
            prev_year_count=_int(r["prev_year_count"]),
            change_count=_int(r["change_count"]),
            change_marker=text(r["change_marker"]),
        )
        for r in rows("item_option_counts")
    ]
    data.number_totals = [
        NumberTotalRow(
            item_id=str(r["item_id"]),
            label=str(r["label"]),
            unit=text(r["unit"]),
            value_year=int(r["value_year"]),
            year_label=str(r["year_label"]),
            answered_count=int(r["answered_count"] or 0),
            value_sum=_float(r["value_sum"]),
            value_min=_float(r["value_min"]),
            value_max=_float(r["value_max"]),
            value_avg=_float(r["value_avg"]),
            previous_year_sum=_float(r["previous_year_sum"]),
        )
        for r in rows("item_number_totals")
    ]
    data.numbers = [
        NumberRow(
            municipality_code=str(r["municipality_code"]),
            municipality_name=texts.name_of(str(r["municipality_code"]), r["municipality_name"]),
            item_id=str(r["item_id"]),
            label=str(r["label"]),
            unit=text(r["unit"]),
            value_year=int(r["value_year"]),
            year_label=str(r["year_label"]),
            raw_text=text(r["raw_text"]),
            value=_float(r["value"]),
            previous_year_value=_float(r["previous_year_value"]),
            note=text(r["note"]),
        )
        for r in rows("item_numbers")
    ]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _add_matrix(data: SummaryData, matrix: list[dict[str, Any]], texts: _Texts) -> None:
    """The matrix fields from _read_matrix's rows (one per municipality and answer value)."""
    names: dict[str, str] = {}
    named: set[str] = set()
    marked: dict[str, set[str]] = {}
    answered: set[str] = set()
    for r in matrix:
        code = str(r["municipality_code"])
        given = texts.text(r["municipality_name"])
        if code not in names or (code not in named and given):
            names[code] = texts.name_of(code, given)  # the view's name, else the master's
            if given:
                named.add(code)
        if r["implemented"] is not None:  # NULL: no accepted file for this survey
            answered.add(code)
        if _implemented(r["implemented"]):
            ids = r["measure_ids"] or []
            plain = ids and type(ids[0]) is str and None not in ids  # a LIST has one element type
            marked.setdefault(code, set()).update(ids if plain else map(str, ids))
    data.matrix_municipalities = sorted(names.items())
    data.matrix = marked
    data.matrix_answered = answered


def _implemented(value: object) -> bool:
    """`implemented` may be a boolean or the stored answer symbol (○)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    from kokuho.codelists import YES_SYMBOLS

    return str(value).strip() in YES_SYMBOLS


def _prefecture_name(pref: str, lookup: Any) -> str:
    try:
        return str(lookup(pref).name)
    except (KeyError, ValueError, LookupError):
        return pref


def _target_label(pref: str, fiscal_year: int, target_id: str) -> str:
    """The catalog's label of a numeric target item, when the view does not carry it."""
    return catalog_target_labels(pref, fiscal_year).get(target_id, target_id)


@lru_cache(maxsize=8)
def catalog_target_years(pref: str, fiscal_year: int) -> dict[str, list[tuple[int, str]]]:
    """Each numeric target's fiscal years in the survey's catalog with their labels as the catalog
    writes them (R3, 令和3年度), in catalog order ({} when there is no catalog)."""
    from kokuho.catalog import catalog_if_any, year_label

    catalog = catalog_if_any(pref, fiscal_year)
    if catalog is None:
        return {}
    return {
        item.id: [(year, year_label(year, item.year_label)) for year in item.years(fiscal_year)]
        for item in catalog.numeric_targets
    }


@lru_cache(maxsize=8)
def catalog_target_labels(pref: str, fiscal_year: int) -> dict[str, str]:
    """Numeric target labels of the survey's catalog in catalog order ({} when there is none)."""
    from kokuho.catalog import catalog_if_any

    catalog = catalog_if_any(pref, fiscal_year)
    if catalog is None:
        return {}
    return {item.id: item.label for item in catalog.numeric_targets}
