"""Excel export: round trip of every number and text against the DuckDB views, formula
safety, charts, the machine-readable sheet, and view exports for BI tools.

The warehouse is built by `build_fixture_db` (the real schema and views of load/sql, filled with a
small hand-written fixture); swap that one function for the real pipeline when convenient.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from kokuho.catalog import Lead, load_catalog_for
from kokuho.cli import main as kokuho_main
from load.export_data import ExportError, SummaryData
from load.export_excel import export_summary
from load.export_views import export_view

PREF = "11"
S23 = "11-2023-2023.1"
S24 = "11-2024-2024.1"
MUNICIPALITIES = [
    ("111007", "さいたま市", "市"),
    ("112011", "川越市", "市"),
    ("112071", "秩父市", "市"),
    ("113697", "東秩父村", "村"),
]
# (survey, measure_id, position, section_no, section, subsection_no, subsection, group_code, group_title,
#  subgroup_no, subgroup_title, item_no, table_id, label)
SEC1 = (1, "保険税関係")
SEC3 = (3, "医療費適正化関係")
SS11 = (1, "納期内納付の促進")
SS12 = (2, "現年度分の早期処理による確実な徴収")
SS32 = (2, "特定健康診査受診率・特定保健指導実施率の向上")
GA = ("ア", "特定健康診査受診率向上の取組")
GI = ("イ", "特定保健指導実施率向上の取組")
MEASURES_2024 = [
    ("M001", SEC1, SS11, None, None, 1, "スマホアプリ収納（PayB、LINEPay、PayPayなど）"),
    ("M002", SEC1, SS11, None, None, 2, "コンビニ収納"),
    ("M003", SEC1, SS11, None, None, 3, "クレジット収納"),
    ("M017", SEC1, SS12, None, None, 1, "文書一斉催告の実施"),
    ("M018", SEC1, SS12, None, None, 2, "催告書の多言語対応"),
    ("M077", SEC3, SS32, GA, (1, "受診勧奨の強化"), 1, "未受診者に対するハガキ、電話による受診勧奨"),
    ("M078", SEC3, SS32, GA, (1, "受診勧奨の強化"), 2, "国保新規加入者に受診勧奨"),
    ("M091", SEC3, SS32, GA, (2, "受診環境の整備"), 1, "土日祝日、早朝夜間実施"),
    ("M121", SEC3, SS32, GI, (2, "利用環境の整備"), 1, "土日祝日、早朝夜間実施"),
]
NEW_IN_2024 = {"M003", "M078"}
REWORDED_2023 = {"M002": "コンビニ収納（コンビニエンスストア）"}

# User text that a spreadsheet would run as a formula if written naively.
HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)"]

# (sha256, survey, municipality, status, received_at, file_name, reasons)
SUBMISSIONS = [
    ("s23a", S23, "111007", "accepted", "2023-05-10 10:00:00+09", "111007_R5.xlsx", []),
    ("s23b", S23, "112011", "accepted", "2023-05-10 11:00:00+09", "112011_R5.xlsx", []),
    ("s23c", S23, "112071", "accepted", "2023-05-10 12:00:00+09", "112071_R5.xlsx", []),
    ("s23d", S23, "113697", "accepted", "2023-05-10 13:00:00+09", "113697_R5.xlsx", []),
    ("s24a", S24, "111007", "accepted", "2024-05-10 10:00:00+09", "111007_さいたま市.xlsx", []),
    ("s24b1", S24, "112011", "superseded", "2024-05-11 09:00:00+09", "112011_川越市.xlsx", []),
    ("s24b2", S24, "112011", "accepted", "2024-05-20 09:30:00+09", "@112011_川越市_修正.xlsx", []),
    ("s24c1", S24, "112071", "accepted", "2024-05-12 15:00:00+09", "112071_秩父市.xlsx", []),
    (
        "s24c2",
        S24,
        "112071",
        "quarantined",
        "2024-05-25 16:45:00+09",
        "=112071_再提出.xlsx",
        ["=ファイル「=112071_再提出.xlsx」のシート「1 保険税関係」セルD12の回答「△」を判別できません。"],
    ),
]
# Implemented measures with budget lines (None: no budget line), per accepted or superseded file.
ANSWERS: dict[str, dict[str, str | None]] = {
    "s23a": {"M001": None, "M002": None, "M017": None, "M077": None},
    "s23b": {"M001": None, "M002": "コンビニ収納等業務委託料", "M017": None, "M018": None, "M077": None},
    "s23c": {"M017": None, "M077": None, "M091": None},
    "s23d": {"M017": None},
    "s24a": {
        "M001": HOSTILE[0],
        "M002": "コンビニ収納等業務委託料",
        "M003": HOSTILE[1],
        "M017": None,
        "M077": HOSTILE[3],
        "M091": "特定健康診査等事業費",
    },
    "s24b1": {m[0]: "OLD" for m in MEASURES_2024},  # superseded: must count nowhere
    "s24b2": {
        "M001": "コンビニ収納等業務委託料",
        "M002": "コンビニ収納等業務委託料",
        "M017": HOSTILE[2],
        "M077": None,
        "M078": None,
        "M121": "特定健康診査等事業費",
    },
    "s24c1": {
        "M001": "コンビニ収納等業務委託料",
        "M003": "地方税共通納税システム利用料",
        "M017": None,
        "M077": HOSTILE[3],
    },
}
# Hand-computed from ANSWERS (accepted files only).
EXPECTED_COUNTS_2024 = {
    "M001": 3,
    "M002": 2,
    "M003": 2,
    "M017": 3,
    "M018": 0,
    "M077": 3,
    "M078": 1,
    "M091": 1,
    "M121": 1,
}
EXPECTED_CHANGE_2024 = {
    "M001": "1市町村（増）",
    "M002": "",
    "M003": "（新）",
    "M017": "1市町村（減）",
    "M018": "1市町村（減）",
    "M077": "",
    "M078": "（新）",
    "M091": "",
    "M121": "1市町村（増）",
}
# (sha256, table_id, position, text, budget_line)
OWN = [
    (
        "s24a",
        "1-1",
        1,
        "口座振替キャンペーン（啓発品等プレゼントの配布）",
        "債権管理事業（需用費）、消耗品費",
    ),
    ("s24b2", "1-1", 1, "=1+1", None),
    ("s24b2", "3-2-ア-1", 1, "小学5年生を対象とした健康メッセージ", "-特定健康診査等事業"),
    ("s24c1", "1-2", 1, "多言語（11言語）対応ホームページによる納付勧奨", None),
    ("s24b1", "1-1", 1, "OLD TEXT", None),
]
# (sha256, target_id, target_year, raw_text, value, qualifier, note)
TARGETS = [
    ("s24a", "collection_rate_current", 2024, "93.5", 93.5, None, "R5実績 95.94％"),
    ("s24a", "collection_rate_current", 2025, "93.70%", 93.7, None, "R5実績 95.94％"),
    ("s24a", "specific_health_checkup_rate", 2024, "34.0%", 34.0, None, None),
    ("s24b2", "collection_rate_current", 2024, "95％以上", 95.0, "以上", "=SUM(1)"),
    ("s24b2", "collection_rate_current", 2025, "前年度以上", None, "前年度以上", None),
    ("s24c1", "collection_rate_current", 2024, "【未設定】", None, "未設定", "滞納世帯個々のケースに対応"),
    ("s24c1", "specific_health_checkup_rate", 2024, "-", None, "未設定", None),
]


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    """Fixture rows by column name, so added nullable columns in the schema do not break it."""
    for row in rows:
        columns = ", ".join(row)
        con.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values())
        )


def build_fixture_db(path: Path) -> Path:
    """A warehouse with the real schema and views (load.warehouse), FY2023 and FY2024 for 4
    municipalities of Saitama: accepted, re-submitted, returned (差戻し) and missing."""
    from load.schema import ensure_schema

    con = duckdb.connect(str(path))
    try:
        ensure_schema(con)
        insert(
            con,
            "municipalities",
            [
                {"code": c, "prefecture_code": PREF, "prefecture_name": "埼玉県", "name": n, "kind": k}
                for c, n, k in MUNICIPALITIES
            ],
        )
        for survey, year, version in ((S23, 2023, "2023.1"), (S24, 2024, "2024.1")):
            insert(
                con,
                "surveys",
                [
                    {
                        "survey_id": survey,
                        "prefecture_code": PREF,
                        "fiscal_year": year,
                        "catalog_version": version,
                        "title": "国民健康保険運営方針で目標設定した事業の取組状況調査",
                        "loaded_at": dt.datetime(2024, 4, 1, tzinfo=dt.UTC),
                    }
                ],
            )
            tables: dict[str, dict] = {}
            position = 0
            for mid, sec, ss, group, subgroup, item_no, label in MEASURES_2024:
                if survey == S23 and mid in NEW_IN_2024:
                    continue
                position += 1
                place = {
                    "section_no": sec[0],
                    "section": sec[1],
                    "subsection_no": ss[0],
                    "subsection": ss[1],
                    "group_code": group[0] if group else None,
                    "group_title": group[1] if group else None,
                    "subgroup_no": subgroup[0] if subgroup else None,
                    "subgroup_title": subgroup[1] if subgroup else None,
                }
                table_id = f"{sec[0]}-{ss[0]}" + (f"-{group[0]}-{subgroup[0]}" if group and subgroup else "")
                insert(
                    con,
                    "measures",
                    [
                        {
                            "survey_id": survey,
                            "measure_id": mid,
                            "position": position,
                            **place,
                            "item_no": item_no,
                            "table_id": table_id,
                            "label": REWORDED_2023.get(mid, label) if survey == S23 else label,
                            "previous_measure_id": mid,
                        }
                    ],
                )
                tables.setdefault(table_id, {**place, "heading": f"({ss[0]}) {ss[1]}"})
            insert(
                con,
                "survey_tables",
                [
                    {"survey_id": survey, "table_id": tid, "table_no": no, **info}
                    for no, (tid, info) in enumerate(tables.items(), start=1)
                ],
            )
        insert(
            con,
            "numeric_target_items",
            [
                {
                    "survey_id": S24,
                    "target_id": tid,
                    "position": no,
                    "label": label,
                    "unit": "%",
                    "year_offsets": offsets,
                }
                for no, (tid, label, offsets) in enumerate(
                    [
                        ("collection_rate_current", "収納率目標（現年分）", [0, 1]),
                        ("specific_health_checkup_rate", "特定健診受診率目標", [0]),
                    ],
                    start=1,
                )
            ],
        )
        for sha, survey, code, status, received, file_name, reasons in SUBMISSIONS:
            received_at = dt.datetime.fromisoformat(received)
            insert(
                con,
                "submissions",
                [
                    {
                        "sha256": sha,
                        "file_name": file_name,
                        "received_at": received_at,
                        "processed_at": received_at,
                        "prefecture_code": PREF,
                        "fiscal_year": int(survey.split("-")[1]),
                        "catalog_version": survey.rsplit("-", 1)[1],
                        "survey_id": survey,
                        "municipality_code": code,
                        "status": status,
                        "reason_codes": ["UNKNOWN_ANSWER"] if reasons else [],
                        "reasons": reasons,
                        "run_id": "run-fixture",
                    }
                ],
            )
            if status == "quarantined":
                continue
            insert(
                con,
                "responses",
                [
                    {
                        "sha256": sha,
                        "municipality_code": code,
                        "survey_id": survey,
                        "measure_id": m[0],
                        "implemented": m[0] in ANSWERS[sha],
                        "answer": "○" if m[0] in ANSWERS[sha] else "",
                        "budget_line": ANSWERS[sha].get(m[0]),
                        "file_name": file_name,
                        "sheet": "1",
                        "cell": "D1",
                    }
                    for m in MEASURES_2024
                    if survey == S24 or m[0] not in NEW_IN_2024
                ],
            )
        by_sha = {s[0]: s for s in SUBMISSIONS}
        insert(
            con,
            "own_initiative_responses",
            [
                {
                    "sha256": sha,
                    "municipality_code": by_sha[sha][2],
                    "survey_id": by_sha[sha][1],
                    "table_id": tid,
                    "position": pos,
                    "text": text,
                    "budget_line": budget,
                    "file_name": by_sha[sha][5],
                    "sheet": "1",
                    "cell": "B30",
                }
                for sha, tid, pos, text, budget in OWN
            ],
        )
        insert(
            con,
            "numeric_target_responses",
            [
                {
                    "sha256": sha,
                    "municipality_code": by_sha[sha][2],
                    "survey_id": by_sha[sha][1],
                    "target_id": tid,
                    "target_year": year,
                    "raw_text": raw,
                    "value": value,
                    "qualifier": qualifier,
                    "note": note,
                    "file_name": by_sha[sha][5],
                    "sheet": "目標",
                    "cell": "C5",
                }
                for sha, tid, year, raw, value, qualifier, note in TARGETS
            ],
        )
    finally:
        con.close()
    return path


# --- helpers --------------------------------------------------------------------------------------


def query(db: Path, sql: str, params: list | None = None) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def sheet_rows(path: Path, name: str) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def pct(count: int, total: int) -> int:
    return (200 * count + total) // (2 * total)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fixture_db(tmp_path_factory.mktemp("wh") / "kokuho.duckdb")


@pytest.fixture(scope="module")
def workbook(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "summary.xlsx"
    return export_summary(warehouse, 2024, out, run_info={"run_id": "run-0001"})


def measures(db: Path, year: int = 2024) -> list[dict]:
    return query(
        db,
        "SELECT * FROM measure_summary WHERE fiscal_year = ? AND prefecture_code = ? ORDER BY position",
        [year, PREF],
    )


# --- the fixture itself is what we think it is ---------------------------------------------------


def test_fixture_views_match_hand_computed_counts(warehouse: Path) -> None:
    rows = {r["measure_id"]: r for r in measures(warehouse)}
    assert {k: v["implementing_count"] for k, v in rows.items()} == EXPECTED_COUNTS_2024
    assert {k: v["municipality_total"] for k, v in rows.items()} == dict.fromkeys(EXPECTED_COUNTS_2024, 4)


# --- section sheets (seed 001) -------------------------------------------------------------------


def expected_section(db: Path, section_no: int) -> list[list[str]]:
    """Seed 001's rows for one section, built straight from the views."""
    own: dict[str, list[tuple[str, str]]] = {}
    for r in query(
        db,
        "SELECT table_id, text, budget_line FROM own_initiatives WHERE fiscal_year = 2024 "
        "ORDER BY table_id, municipality_code, position",
    ):
        item = (r["text"], r["budget_line"] or "—")
        if item not in own.setdefault(r["table_id"], []):
            own[r["table_id"]].append(item)
    # The catalog's 〈運営方針記載の主な取組〉 leads: above the section's tables, under a subsection's heading.
    section = load_catalog_for(PREF, 2024).sections[section_no - 1]

    def lead_rows(lead: Lead | None) -> list[list[str]]:
        return [] if lead is None else [[t, "", ""] for t in (lead.heading, *lead.text)]

    rows: list[list[str]] = lead_rows(section.lead)
    last: tuple | None = None
    table = ""  # the table whose own initiatives close the block (set by the first measure)
    for m in measures(db):
        if m["section_no"] != section_no:
            continue
        key = (m["subsection_no"], m["group_code"], m["subgroup_no"])
        if key != last:
            if last is not None:
                rows += [["<その他（独自の取組）>", "", ""]] + [
                    [t, "", b] for t, b in own.get(table, [("（記入なし）", "—")])
                ]
            if last is None or last[0] != key[0]:
                rows.append([f"({m['subsection_no']}) {m['subsection']}", "", ""])
                rows += lead_rows(section.subsection_lead(m["subsection_no"]))
            if m["group_code"] and (last is None or last[:2] != key[:2]):
                rows.append([f"{m['group_code']} {m['group_title']}", "", ""])
            if m["subgroup_no"]:
                rows.append([f"{'①②③④⑤'[m['subgroup_no'] - 1]}{m['subgroup_title']}", "", ""])
            last = key
        table = m["table_id"]
        rows.append([m["label"], str(m["implementing_count"]), " ".join(m["budget_lines"]) or "—"])
    rows += [["<その他（独自の取組）>", "", ""]] + [
        [t, "", b] for t, b in own.get(table, [("（記入なし）", "—")])
    ]
    return rows


@pytest.mark.parametrize(("section_no", "sheet"), [(1, "1 保険税関係"), (3, "3 医療費適正化関係")])
def test_section_sheet_round_trip(warehouse: Path, workbook: Path, section_no: int, sheet: str) -> None:
    rows = sheet_rows(workbook, sheet)
    assert rows[1][0] == f"{section_no} {sheet.split(' ', 1)[1]}"
    assert "令和6年度（2024年度）" in rows[0][0]
    assert "2024年5月25日 16:45 現在" in rows[2][0]
    assert "run-0001" not in rows[2][0]  # the run ID is on the cover (注記) only
    assert rows[2][0].startswith("【暫定】回答 3/4市町村")  # one of 4 has no accepted file
    assert rows[3] == [
        "【令和6年度の具体的な取組内容（予定）】",
        "実施予定市町村数",
        "個別に予算化している市町村における主な予算事業名",
    ]
    actual = [[cell_text(v) for v in row[:3]] for row in rows[4:]]
    assert actual == expected_section(warehouse, section_no)


def test_section_sheet_spot_values(workbook: Path) -> None:
    """A few cells checked by hand, independent of the views."""
    rows = {r[0]: r for r in sheet_rows(workbook, "1 保険税関係")[4:]}
    assert cell_text(rows["スマホアプリ収納（PayB、LINEPay、PayPayなど）"][1]) == "3"
    assert (
        rows["スマホアプリ収納（PayB、LINEPay、PayPayなど）"][2]
        == 'コンビニ収納等業務委託料 =HYPERLINK("http://x","y")'
    )
    assert rows["クレジット収納"][2] == "+1 地方税共通納税システム利用料"
    assert rows["催告書の多言語対応"][2] == "—"
    assert rows["=1+1"][2] == "—"
    assert "OLD TEXT" not in rows
    section3 = [r for r in sheet_rows(workbook, "3 医療費適正化関係")[4:] if r[0] == "土日祝日、早朝夜間実施"]
    assert [cell_text(r[1]) for r in section3] == ["1", "1"]  # same label under ア and イ, both kept


# --- status sheet (seed 004) ---------------------------------------------------------------------


def test_status_sheet_ratios_and_changes(warehouse: Path, workbook: Path) -> None:
    rows = sheet_rows(workbook, "取組状況")
    assert rows[3][5] == "取組状況（R6、前年度比）" and rows[3][6] == "R5実施市町村数"
    assert len(rows[3]) == 7  # n/N and the change are one string (seed 004), not two columns
    body = rows[4:]
    views = measures(warehouse)
    assert len(body) == len(views)
    for row, m in zip(body, views, strict=True):
        n, total = m["implementing_count"], m["municipality_total"]
        assert row[2] == m["label"]
        assert cell_text(row[3]) == str(total)
        assert cell_text(row[4]) == str(n)
        ratio = f"{n}/{total}市町村（{m['implementing_pct']}%）"
        change = EXPECTED_CHANGE_2024[m["measure_id"]]
        assert row[5] == (ratio + change if change == "（新）" else f"{ratio} {change}".rstrip())
        assert m["implementing_pct"] == pct(n, total)
        assert cell_text(row[6]) == ("" if m["prev_year_count"] is None else str(m["prev_year_count"]))
    assert body[0][5] == "3/4市町村（75%） 1市町村（増）"  # hand-computed, seed 004's form
    assert body[4][5] == "0/4市町村（0%） 1市町村（減）"


# --- matrix ----------------------------------------------------------------------------------------


def test_matrix_matches_view_and_totals_equal_counts(warehouse: Path, workbook: Path) -> None:
    rows = sheet_rows(workbook, "市町村別実施状況")
    ids = rows[3][3:]
    views = measures(warehouse)
    assert ids == [m["measure_id"] for m in views]
    assert rows[4][3:] == [m["label"] for m in views]
    cells = query(
        warehouse,
        "SELECT municipality_code, measure_id, implemented FROM municipality_matrix WHERE fiscal_year = 2024",
    )
    codes = sorted({c["municipality_code"] for c in cells})
    body = rows[5 : 5 + len(codes)]
    assert [cell_text(r[0]) for r in body] == codes
    truth = {(c["municipality_code"], c["measure_id"]): bool(c["implemented"]) for c in cells}
    for row in body:
        for mid, value in zip(ids, row[3:], strict=True):
            assert (value == "○") == truth[(cell_text(row[0]), mid)], (row[0], mid)
    assert [r[2] for r in body] == ["回答あり", "回答あり", "回答あり", "未回答"]
    totals = rows[5 + len(codes)]
    assert totals[0] == "合計（実施市町村数）"
    assert [int(v) for v in totals[3:]] == [m["implementing_count"] for m in views]
    assert [int(v) for v in totals[3:]] == list(EXPECTED_COUNTS_2024.values())


@pytest.mark.parametrize(
    ("column_type", "answers"),
    [
        ("BOOLEAN", {"M1": True, "M2": False, "M3": None}),
        ("VARCHAR", {"M1": "〇\u3000", "M2": "false", "M3": None}),  # symbols as stored, odd spacing
        ("INTEGER", {"M1": 1, "M2": 0, "M3": None}),
    ],
    ids=["boolean", "symbol", "integer"],
)
def test_matrix_read_grouped_keeps_the_answer_rules(column_type: str, answers: dict[str, object]) -> None:
    """The matrix is read grouped by answer value; yes/no is still decided by _implemented."""
    from load.export_data import _add_matrix, _read_matrix, _Texts

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE municipality_matrix (fiscal_year INTEGER, prefecture_code VARCHAR,"
        f" municipality_code VARCHAR, municipality_name VARCHAR, measure_id VARCHAR, implemented {column_type},"
        " survey_id VARCHAR)"
    )
    rows: list[tuple[object, ...]] = [
        (2024, PREF, "111007", "さいたま市", mid, value, S24) for mid, value in answers.items()
    ]
    rows += [(2024, PREF, "113697", None, mid, None, S24) for mid in answers]  # no file: NULL, no name
    rows += [(2024, PREF, "112011", "川越市", "M1", answers["M1"], S23)]  # another survey of the year
    con.executemany("INSERT INTO municipality_matrix VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    present = [d[0] for d in con.execute("SELECT * FROM municipality_matrix LIMIT 0").description]
    data = SummaryData(2024, PREF, "埼玉県", [], [], [], [], [], [], [])
    matrix = [r for r in _read_matrix(con, present, 2024, PREF) if r["survey_id"] == S24]
    _add_matrix(data, matrix, _Texts())
    assert data.matrix == {"111007": {"M1"}}
    assert data.matrix_answered == {"111007"}
    assert data.matrix_municipalities == [("111007", "さいたま市"), ("113697", "東秩父村")]  # master's name


# --- numeric targets --------------------------------------------------------------------------------


def test_numeric_targets_numbers_raw_text_and_notes(warehouse: Path, workbook: Path) -> None:
    rows = sheet_rows(workbook, "数値目標")
    assert rows[3] == ["市町村コード", "市町村名", "目標項目", "R6年度（%）", "R7年度（%）", "備考"]
    body = {(cell_text(r[0]), r[2]): r for r in rows[4:]}
    view = query(warehouse, "SELECT * FROM numeric_targets WHERE fiscal_year = 2024")
    assert len(body) == len({(v["municipality_code"], v["target_id"]) for v in view})
    for v in view:
        row = body[(v["municipality_code"], v["label"])]
        cell = row[3 + v["target_year"] - 2024]
        if v["value"] is not None and v["qualifier"] is None:
            assert cell == pytest.approx(v["value"])
        else:
            assert cell == v["raw_text"]
        if v["note"]:
            assert v["note"] in row[5]
    assert body[("111007", "収納率目標（現年分）")][3:6] == [93.5, 93.7, "R5実績 95.94％"]
    assert body[("112011", "収納率目標（現年分）")][3:6] == ["95％以上", "前年度以上", "=SUM(1)"]
    assert body[("112071", "特定健診受診率目標")][3] == "-"


# --- submission status ----------------------------------------------------------------------------


def test_submission_status_order_and_reasons(warehouse: Path, workbook: Path) -> None:
    rows = sheet_rows(workbook, "提出状況")
    body = rows[4:]
    assert [(r[0], cell_text(r[1])) for r in body] == [
        ("未提出", "113697"),
        ("差戻し", "112071"),
        ("再提出", "112011"),
        ("受理", "111007"),
    ]
    returned = body[1]
    assert returned[3] == "=112071_再提出.xlsx"
    view = query(
        warehouse,
        "SELECT reasons FROM submission_status WHERE municipality_code = '112071' AND fiscal_year = 2024",
    )
    assert returned[5] == "／".join(view[0]["reasons"])
    assert body[2][3] == "@112011_川越市_修正.xlsx"
    assert body[0][3] == "—"
    assert "未提出 1市町村" in rows[1][0] and "（計 4市町村）" in rows[1][0]


# --- formula safety ----------------------------------------------------------------------------------


def test_user_text_is_never_a_formula(workbook: Path) -> None:
    with zipfile.ZipFile(workbook) as archive:
        sheets = [n for n in archive.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]
        assert sheets
        for name in sheets:
            xml = archive.read(name).decode("utf-8")
            assert re.search(r"<f[ >]", xml) is None, name
    texts = [v for row in sheet_rows(workbook, "1 保険税関係") for v in row if isinstance(v, str)]
    joined = "\n".join(texts)
    for hostile in (HOSTILE[0], HOSTILE[1], HOSTILE[2], "=1+1"):
        assert hostile in joined
    section3 = [v for row in sheet_rows(workbook, "3 医療費適正化関係") for v in row]
    assert "@SUM(A1)" in section3 and "-特定健康診査等事業" in section3


def test_hostile_cells_are_text_with_quote_prefix(workbook: Path) -> None:
    from openpyxl import load_workbook

    ws = load_workbook(workbook)["1 保険税関係"]
    cells = [c for row in ws.iter_rows() for c in row if c.value == "=1+1"]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)


# --- charts, conventions, machine-readable sheets -------------------------------------------------


def chart_xml(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/charts/chart")]


def test_charts_per_section_and_year_over_year(workbook: Path, warehouse: Path, tmp_path: Path) -> None:
    charts = chart_xml(workbook)
    assert len(charts) == 2  # one per section (few measures): R5 beside R6
    assert all('<barDir val="bar" />' in c and "<strRef><f>" in c for c in charts)
    assert [c.count("<ser>") for c in charts] == [2, 2]
    assert all('sz="900"' in c for c in charts)  # category labels at a readable size
    rows = sheet_rows(workbook, "図1 保険税関係")
    assert rows[3] == ["区分・取組内容（略）", "R6（市町村）", "R5（市町村）"]
    assert [r[0] for r in rows[4:6]] == [
        "1-(1)-1 スマホアプリ収納（PayB、LINEPay…",
        "1-(1)-2 コンビニ収納",
    ]
    table = [r for r in rows[4:] if r and r[0]]
    assert [cell_text(r[1]) for r in table] == ["3", "2", "2", "3", "0"]
    assert [cell_text(r[2]) for r in table] == ["2", "2", "", "4", "1"]
    single = export_summary(warehouse, 2023, tmp_path / "r5.xlsx")
    assert [c.count("<ser>") for c in chart_xml(single)] == [1, 1]  # no FY2022 survey: R5 alone


def test_returned_list_sheet_and_file(warehouse: Path, workbook: Path, tmp_path: Path) -> None:
    """One 差戻し list: every quarantined file with its reasons, in the export and as its own file."""
    from load.reports import write_returned_list

    expected = [
        "112071",
        "秩父市",
        "=112071_再提出.xlsx",
        "2024-05-25 16:45:00",
        "（ファイル全体）",
        "=ファイル「=112071_再提出.xlsx」のシート「1 保険税関係」セルD12の回答「△」を判別できません。",
        "",
        "差戻し",
        "UNKNOWN_ANSWER",
    ]
    rows = sheet_rows(workbook, "差戻し一覧")
    assert rows[3][0] == "市町村コード" and rows[3][-1] == "参考（エラーコード／ルール）"
    assert [cell_text(v) for v in rows[4]] == expected
    assert len(rows) == 5
    out = write_returned_list(warehouse, tmp_path / "quarantine" / "差戻し一覧.xlsx")
    assert out.name == "差戻し一覧.xlsx"
    own = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("差戻し一覧").to_python()
    assert [cell_text(v) for v in own[4]] == expected
    ws = load_workbook(out)["差戻し一覧"]
    assert (ws.page_setup.orientation, ws.page_setup.fitToWidth) == ("landscape", 1)
    assert ws.print_title_rows == "$1:$4" and ws["F5"].alignment.wrap_text
    assert ws["C5"].data_type == "s" and ws["C5"].quotePrefix  # a file name is never a formula


def test_each_run_rewrites_the_returned_list(warehouse: Path, tmp_path: Path) -> None:
    """What the flow's export step calls after the export: quarantine/差戻し一覧.xlsx, replaced whole."""
    from flows.steps import write_returned_list_of
    from kokuho.config import Settings

    settings = Settings.resolve(home=tmp_path / "home", db_path=warehouse)
    target = settings.quarantine_dir / "差戻し一覧.xlsx"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"stale")
    assert write_returned_list_of(settings) == target
    rows = CalamineWorkbook.from_path(str(target)).get_sheet_by_name("差戻し一覧").to_python()
    assert rows[4][2] == "=112071_再提出.xlsx"
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".tmp_")]
    broken = Settings.resolve(home=tmp_path / "other", db_path=tmp_path / "not_a_db.duckdb")
    (tmp_path / "not_a_db.duckdb").write_bytes(b"not a database")
    assert write_returned_list_of(broken) is None  # reported, never raised: the run goes on


def test_returned_list_when_nothing_was_returned(tmp_path: Path) -> None:
    from load.reports import write_returned_list

    db = build_fixture_db(tmp_path / "kokuho.duckdb")
    with duckdb.connect(str(db)) as con:
        con.execute("DELETE FROM submissions WHERE status = 'quarantined'")
    rows = (
        CalamineWorkbook.from_path(str(write_returned_list(db, tmp_path / "r.xlsx")))
        .get_sheet_by_name("差戻し一覧")
        .to_python()
    )
    assert rows[4][0] == "差戻しはありません。" and len(rows) == 5
    export = export_summary(db, 2024, tmp_path / "x.xlsx")
    assert sheet_rows(export, "差戻し一覧")[4][0] == "差戻しはありません。"


def test_notes_sheet_and_sheet_order(workbook: Path) -> None:
    book = CalamineWorkbook.from_path(str(workbook))
    assert book.sheet_names == [
        "注記",
        "1 保険税関係",
        "3 医療費適正化関係",
        "取組状況",
        "市町村別実施状況",
        "数値目標",
        "提出状況",
        "差戻し一覧",
        "図1 保険税関係",
        "図2 医療費適正化関係",
        "data_measure_summary",
        "data_budget_lines",
    ]
    facts = {r[0]: r[1] for r in book.get_sheet_by_name("注記").to_python() if r and r[0]}
    assert facts["年度"] == "令和6年度（2024年度）"
    assert facts["実行ID"] == "run-0001"
    assert facts["前年度比較"] == "令和5年度（2023年度）"
    assert facts["調査"] == "国民健康保険運営方針で目標設定した事業の取組状況調査"
    assert facts["データ時点"] == "2024年5月25日 16:45 現在"


def test_machine_readable_sheets_one_datum_per_cell(warehouse: Path, workbook: Path) -> None:
    from openpyxl import load_workbook

    book = load_workbook(workbook)
    # No merged cells where data is read by machines; the printed section sheets merge only their
    # 〈運営方針記載の主な取組〉 lead lines across the sheet's width (no data there).
    for ws in book.worksheets:
        merged = {str(r) for r in ws.merged_cells.ranges}
        if ws.title.startswith("data_") or ws.title[:1] not in "123456789":
            assert not merged, ws.title
        else:
            leads = {f"A{r}:C{r}" for r in range(5, ws.max_row + 1) if ws.cell(r, 2).value is None}
            assert merged <= leads, ws.title
    rows = sheet_rows(workbook, "data_measure_summary")
    views = measures(warehouse)
    columns = [c for c in views[0] if c != "budget_lines"]
    assert rows[0] == columns
    for row, m in zip(rows[1:], views, strict=True):
        for column, value in zip(columns, row, strict=True):
            assert cell_text(value) == cell_text(m[column]), column
    lines = sheet_rows(workbook, "data_budget_lines")
    assert lines[0] == ["fiscal_year", "prefecture_code", "measure_id", "rank", "budget_line"]
    expected = [
        [2024, PREF, m["measure_id"], i, b] for m in views for i, b in enumerate(m["budget_lines"], 1)
    ]
    assert [[int(r[0]), r[1], r[2], int(r[3]), r[4]] for r in lines[1:]] == expected


def test_reader_is_closed_after_export(warehouse: Path, workbook: Path) -> None:
    con = duckdb.connect(str(warehouse))  # fails while a read-only connection is open in-process
    con.close()


def test_errors_are_japanese(tmp_path: Path, warehouse: Path) -> None:
    with pytest.raises(ExportError, match="見つかりません"):
        export_summary(tmp_path / "none.duckdb", 2024, tmp_path / "x.xlsx")
    with pytest.raises(ExportError, match="2031年度"):
        export_summary(warehouse, 2031, tmp_path / "x.xlsx")
    with pytest.raises(ExportError, match="データがありません"):
        export_summary(warehouse, 2024, tmp_path / "x.xlsx", prefecture_code="33")


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_writes_workbook(warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.xlsx"
    assert (
        kokuho_main(
            ["export", "--year", "2024", "--db", str(warehouse), "--out", str(out), "--prefecture", "11"]
        )
        == 0
    )
    assert out.is_file() and "令和6年度（2024年度）" in capsys.readouterr().out
    assert not list(tmp_path.glob(".cli.*"))  # the temporary file was renamed, not left behind


def test_cli_missing_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        kokuho_main(
            [
                "export",
                "--year",
                "2024",
                "--db",
                str(tmp_path / "no.duckdb"),
                "--out",
                str(tmp_path / "x.xlsx"),
            ]
        )
        == 1
    )
    assert "見つかりません" in capsys.readouterr().err


def test_export_modules_do_not_import_prefect_or_gx() -> None:
    code = (
        "import sys, load.export_excel, load.export_views, load.export_sheets;"
        "bad = [m for m in ('prefect', 'great_expectations') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent.parent
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- view export for BI tools ------------------------------------------------------------------------


def test_view_export_csv(warehouse: Path, tmp_path: Path) -> None:
    out = export_view(warehouse, "measure_summary", "csv", tmp_path / "ms.csv")
    back = duckdb.sql(f"SELECT * FROM read_csv('{out}', header = true, all_varchar = true)").fetchall()
    assert len(back) == len(query(warehouse, "SELECT * FROM measure_summary"))
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:3] == ["fiscal_year", "prefecture_code", "measure_id"]


def test_view_export_parquet_keeps_lists(warehouse: Path, tmp_path: Path) -> None:
    import pandas as pd

    out = export_view(warehouse, "budget_lines", "parquet", tmp_path / "bl.parquet")
    frame = pd.read_parquet(out)
    view = query(warehouse, "SELECT * FROM budget_lines")
    assert len(frame) == len(view)
    assert sorted(frame["budget_line"]) == sorted(v["budget_line"] for v in view)
    assert list(frame["municipality_codes"].iloc[0]) == view[0]["municipality_codes"]


@pytest.mark.parametrize(
    "name", ["nope", "submissions", 'measure_summary" ; DROP VIEW measure_summary; --', "MEASURE_SUMMARY"]
)
def test_view_export_rejects_unknown_names(warehouse: Path, tmp_path: Path, name: str) -> None:
    with pytest.raises(ExportError, match="ありません"):
        export_view(warehouse, name, "csv", tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()
    assert query(warehouse, "SELECT count(*) AS n FROM measure_summary")[0]["n"] > 0


def test_cli_view_export(warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ss.parquet"
    argv = ["--view", "submission_status", "--format", "parquet", "--out", str(out), "--db", str(warehouse)]
    assert kokuho_main(["export", *argv]) == 0 and out.is_file()
    bad = ["--view", "responses", "--format", "csv", "--out", str(tmp_path / "r.csv"), "--db", str(warehouse)]
    assert kokuho_main(["export", *bad]) == 1
    assert "ビュー 'responses' は" in capsys.readouterr().err


# --- the export's memory bound ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tried"), [("64MB", ["64MB"]), ("1MB", ["1MB", "4000000B", None]), ("0", [None])]
)
def test_the_export_reads_the_same_within_any_memory_bound(
    warehouse: Path, value: str, tried: list[str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounded, DuckDB spills; bounded too tightly it runs out of memory, and the export reads again
    without the bound: the data is the same every way."""
    import load.export_data as export_data

    monkeypatch.setenv("KOKUHO_EXPORT_MEMORY", "0")
    unbounded = export_data.read_summary(warehouse, 2024)
    attempts: list[str | None] = []
    real = export_data._read_summary

    def spy(db_path: Path, year: int, pref: str | None, limit: str | None) -> SummaryData:
        attempts.append(limit)
        return real(db_path, year, pref, limit)

    monkeypatch.setattr(export_data, "_read_summary", spy)
    monkeypatch.setenv("KOKUHO_EXPORT_MEMORY", value)
    assert export_data.read_summary(warehouse, 2024) == unbounded
    assert attempts == tried
