"""Read the published views into plain Python objects for the Excel export.

Only the public views of issue 4 are read (measure_summary, own_initiatives, submission_status,
numeric_targets, municipality_matrix), through a read-only connection that is closed before the
workbook is built, so an export never holds the warehouse file longer than the reads take.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from kokuho.catalog import SUBGROUP_MARKS

LOCAL_TZ = ZoneInfo("Asia/Tokyo")


class ExportError(RuntimeError):
    """An export that cannot be made; the message is Japanese and names the database/view."""


# Columns each view must have (issue 4), and columns used when present.
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
# Row order inside each view's rows (columns missing from a view are skipped).
ORDER_BY: dict[str, tuple[str, ...]] = {
    "measure_summary": ("position", "section_no", "subsection_no", "group_code", "subgroup_no", "item_no"),
    "own_initiatives": ("table_id", "municipality_code", "position"),
    "submission_status": ("municipality_code",),
    "numeric_targets": ("target_id", "municipality_code", "target_year"),
    "municipality_matrix": ("municipality_code", "measure_id"),
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
    matrix: set[tuple[str, str]] = field(default_factory=set)  # (municipality_code, measure_id) with ○
    matrix_answered: set[str] = field(default_factory=set)  # municipalities with an accepted file
    data_as_of: dt.datetime | None = None

    @property
    def has_previous_year(self) -> bool:
        return any(m.prev_year_count is not None for m in self.measures)

    def sections(self) -> list[tuple[int, str]]:
        seen: dict[int, str] = {}
        for m in self.measures:
            seen.setdefault(m.section_no, m.section)
        return sorted(seen.items())


def read_summary(db_path: Path, fiscal_year: int, prefecture_code: str | None = None) -> SummaryData:
    """Everything the workbook shows, read from the views of one fiscal year and prefecture."""
    db_path = Path(db_path)
    if not db_path.is_file():
        raise ExportError(f"データベース {db_path} が見つかりません（--db で指定してください）")
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error as exc:
        raise ExportError(f"データベース {db_path} を読み取り専用で開けません: {exc}") from exc
    try:
        columns = _view_columns(con)
        for view in REQUIRED:
            if view not in columns:
                raise ExportError(f"データベース {db_path} にビュー {view} がありません")
            missing = [c for c in REQUIRED[view] if c not in columns[view]]
            if missing:
                raise ExportError(f"ビュー {view} に列 {', '.join(missing)} がありません（{db_path}）")
        pref = prefecture_code or _only_prefecture(con, fiscal_year, db_path)
        pref = str(pref).zfill(2)
        survey = _survey_id(con, columns["measure_summary"], fiscal_year, pref)
        ms = _read(con, "measure_summary", columns["measure_summary"], fiscal_year, pref, survey)
        if not ms:
            raise ExportError(
                f"ビュー measure_summary に {fiscal_year}年度・都道府県コード {pref} のデータがありません（{db_path}）"
            )
        own = _read(con, "own_initiatives", columns["own_initiatives"], fiscal_year, pref, survey)
        subs = _read(con, "submission_status", columns["submission_status"], fiscal_year, pref, survey)
        targets = _read(con, "numeric_targets", columns["numeric_targets"], fiscal_year, pref, survey)
        matrix = _read(con, "municipality_matrix", columns["municipality_matrix"], fiscal_year, pref, survey)
        measure_columns = [c for c in columns["measure_summary"]]
    finally:
        con.close()
    return _assemble(fiscal_year, pref, ms, measure_columns, own, subs, targets, matrix)


def _view_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Columns of every table and view of the database, by name, in their declared order."""
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() ORDER BY table_name, ordinal_position"
    ).fetchall()
    result: dict[str, list[str]] = {}
    for table, column in rows:
        result.setdefault(table, []).append(column)
    return result


def _only_prefecture(con: duckdb.DuckDBPyConnection, fiscal_year: int, db_path: Path) -> str:
    codes = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT prefecture_code FROM measure_summary WHERE fiscal_year = ? ORDER BY 1",
            [fiscal_year],
        ).fetchall()
    ]
    if not codes:
        raise ExportError(f"ビュー measure_summary に {fiscal_year}年度のデータがありません（{db_path}）")
    if len(codes) > 1:
        raise ExportError(
            f"{fiscal_year}年度のデータに複数の都道府県（{', '.join(codes)}）があります。--prefecture で指定してください"
        )
    return str(codes[0])


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _read(
    con: duckdb.DuckDBPyConnection,
    view: str,
    present: list[str],
    fiscal_year: int,
    pref: str,
    survey_id: str | None,
) -> list[dict[str, Any]]:
    """Rows of one view for the year and prefecture (and survey, when the views carry survey_id).

    The view name comes from REQUIRED (a constant) and column names from information_schema, so
    nothing user-given is spliced into the SQL; values are parameters."""
    if view == "measure_summary":
        selected = [_quote(c) for c in present]  # the machine-readable sheet shows every column
    else:
        selected = [_quote(c) for c in REQUIRED[view]]
        for logical, candidates in OPTIONAL[view].items():
            found = next((c for c in candidates if c in present), None)
            selected.append(
                f"{_quote(found)} AS {_quote(logical)}" if found else f"NULL AS {_quote(logical)}"
            )
    where, params = [], []
    for column, value in (("fiscal_year", fiscal_year), ("prefecture_code", pref), ("survey_id", survey_id)):
        if column in present and value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    order = ", ".join(_quote(c) + " NULLS FIRST" for c in ORDER_BY[view] if c in present)
    sql = f"SELECT {', '.join(selected)} FROM {_quote(view)}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if order:
        sql += " ORDER BY " + order
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _survey_id(con: duckdb.DuckDBPyConnection, present: list[str], fiscal_year: int, pref: str) -> str | None:
    """The survey of the year: when a year has several catalog versions, the latest one."""
    if "survey_id" not in present:
        return None
    row = con.execute(
        "SELECT max(survey_id) FROM measure_summary WHERE fiscal_year = ? AND prefecture_code = ?",
        [fiscal_year, pref],
    ).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


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


def _assemble(
    fiscal_year: int,
    pref: str,
    ms: list[dict[str, Any]],
    measure_columns: list[str],
    own: list[dict[str, Any]],
    subs: list[dict[str, Any]],
    targets: list[dict[str, Any]],
    matrix: list[dict[str, Any]],
) -> SummaryData:
    from kokuho.municipalities import by_code, prefecture

    masters = by_code()

    def name_of(code: str, given: object) -> str:
        if _text(given):
            return str(given).strip()
        known = masters.get(code)
        return known.name if known else code

    measures = [
        MeasureRow(
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
        for r in ms
    ]
    own_rows = [
        OwnInitiative(
            table_id=str(r["table_id"]),
            municipality_code=_text(r["municipality_code"]),
            municipality_name=_text(r["municipality_name"]),
            position=_int(r["position"]),
            text=str(r["text"]),
            budget_line=_text(r["budget_line"]),
        )
        for r in own
        if _text(r["text"])
    ]
    sub_rows = [
        SubmissionRow(
            municipality_code=str(r["municipality_code"]),
            municipality_name=name_of(str(r["municipality_code"]), r["municipality_name"]),
            status=str(r["status"]),
            file_name=_text(r["file_name"]),
            received_at=local_time(r["received_at"]),
            reason=_reason_text(r["reason"]),
        )
        for r in subs
    ]
    target_rows = [
        TargetRow(
            municipality_code=str(r["municipality_code"]),
            municipality_name=name_of(str(r["municipality_code"]), r["municipality_name"]),
            target_id=str(r["target_id"]),
            target_label=_text(r["target_label"]) or _target_label(pref, fiscal_year, str(r["target_id"])),
            unit=_text(r["unit"]) or "%",
            target_year=int(r["target_year"]),
            value=None if r["value"] is None else float(r["value"]),
            qualifier=_text(r["qualifier"]),
            raw_text=_text(r["raw_text"]),
            note=_text(r["note"]),
        )
        for r in targets
    ]
    names: dict[str, str] = {}
    marked: set[tuple[str, str]] = set()
    answered: set[str] = set()
    for r in matrix:
        code = str(r["municipality_code"])
        names.setdefault(code, name_of(code, r["municipality_name"]))
        if r["implemented"] is not None:  # NULL: no accepted file for this survey
            answered.add(code)
        if _implemented(r["implemented"]):
            marked.add((code, str(r["measure_id"])))
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
        matrix_municipalities=sorted(names.items()),
        matrix=marked,
        matrix_answered=answered,
        data_as_of=max(received) if received else None,
    )


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
def catalog_target_labels(pref: str, fiscal_year: int) -> dict[str, str]:
    """Numeric target labels of the survey's catalog in catalog order ({} when there is none)."""
    from kokuho.catalog import CatalogError, load_catalog_for

    try:
        catalog = load_catalog_for(pref, fiscal_year)
    except (CatalogError, OSError):
        return {}
    return {item.id: item.label for item in catalog.numeric_targets}
