"""Texts the sheets write and the tests check: percentages, changes, budget lines, status labels,
headings and sheet titles."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from kokuho.catalog import SUBGROUP_MARKS
from kokuho.codelists import MARKER_DOWN, MARKER_NEW, MARKER_UP, MUNICIPALITY_STATUS_LABELS
from load.export_data import MeasureRow, OwnInitiative
from load.export_sheets.style import NONE_MARK


def percent(count: int, total: int) -> int | None:
    """Whole percent, rounded half up (25/27 -> 93, 13/15 -> 87), from the exact fraction."""
    if total <= 0:
        return None
    return (200 * count + total) // (2 * total)


def ratio_text(count: int, total: int) -> str:
    """25/27市町村（93%）"""
    p = percent(count, total)
    return f"{count}/{total}市町村（{NONE_MARK if p is None else p}%）"


def change_text(m: MeasureRow) -> str:
    """1市町村（増） / 2市町村（減） / （新） / '' against the previous year (seed 004)."""
    if m.change_marker == MARKER_NEW:
        return f"（{MARKER_NEW}）"
    if m.change_marker in (MARKER_UP, MARKER_DOWN):
        if m.prev_year_count is None:
            return f"（{m.change_marker}）"
        return f"{abs(m.implementing_count - m.prev_year_count)}市町村（{m.change_marker}）"
    return ""


def budget_text(lines: Sequence[str]) -> str:
    """Budget lines joined by a space as in seed 001; — when none."""
    return " ".join(lines) if lines else NONE_MARK


def status_label(status: str) -> str:
    return MUNICIPALITY_STATUS_LABELS.get(status, status)


STATUS_ORDER = {"未提出": 0, "差戻し": 1, "再提出": 2, "受理": 3}


def heading_texts(m: MeasureRow) -> tuple[str, str | None, str | None]:
    """(1) 納期内納付の促進 / ア 特定健康診査受診率向上の取組 / ①受診勧奨の強化"""
    sub = f"({m.subsection_no}) {m.subsection}"
    group = f"{m.group_code} {m.group_title or ''}".strip() if m.group_code else None
    subgroup = None
    if m.subgroup_no:
        mark = (
            SUBGROUP_MARKS[m.subgroup_no - 1]
            if m.subgroup_no <= len(SUBGROUP_MARKS)
            else f"({m.subgroup_no})"
        )
        subgroup = f"{mark}{m.subgroup_title or ''}"
    return sub, group, subgroup


def own_rows_by_table(rows: Iterable[OwnInitiative]) -> dict[str, list[tuple[str, str]]]:
    """Distinct (text, budget line or —) per table, in municipality-code order."""
    result: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        item = (r.text, r.budget_line or NONE_MARK)
        bucket = result.setdefault(r.table_id, [])
        if item not in bucket:
            bucket.append(item)
    return result


def sheet_title(text: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "・", text)[:31]
