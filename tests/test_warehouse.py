"""Warehouse loads: idempotency, re-submissions, quarantine, guards, runs, the real Saitama catalog.

The fixture builders here (tiny catalogs, StagingBatch frames built with transform.batch.conform) are
also used by test_views.py, test_publish.py and test_sql_cli.py.
"""

from __future__ import annotations

import hashlib
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import load.warehouse
from kokuho.catalog import Catalog, load_catalog
from kokuho.codelists import ANSWER_NO, ANSWER_YES, issue_hint, issue_message
from load.publish import connect_readonly, open_for_write, stale_work_files
from load.schema import TABLES
from load.warehouse import (
    finish_run,
    known_sha256,
    load_batch,
    start_run,
)
from transform.batch import StagingBatch, conform

# --- fixture builders ---------------------------------------------------------------------------

CATALOG_2024 = """\
prefecture_code: '11'
fiscal_year: 2024
title: テスト調査
catalog_version: '2024.1'
own_initiative_rows: 3
sections:
- 'no': 1
  title: 保険税関係
  subsections:
  - 'no': 1
    title: 納期内納付の促進
    measures:
    - {id: M001, label: スマホアプリ収納（PayB、LINEPay、PayPayなど）}
    - {id: M002, label: コンビニ収納}
    - {id: M003, label: クレジット収納}
- 'no': 2
  title: 医療費適正化関係
  subsections:
  - 'no': 1
    title: 特定健康診査受診率・特定保健指導実施率の向上
    groups:
    - code: ア
      title: 特定健康診査受診率向上の取組
      subgroups:
      - 'no': 1
        title: 受診勧奨の強化
        measures:
        - {id: M010, label: 未受診者に対するハガキ、電話による受診勧奨}
        - {id: M011, label: 同等健診結果提供依頼}
    - code: イ
      title: 特定保健指導実施率向上の取組
      subgroups:
      - 'no': 1
        title: 利用環境の整備
        measures:
        - {id: M020, label: 土日祝日、早朝夜間実施}
numeric_targets:
- {id: collection_rate_current, label: 収納率目標（現年分）, unit: '%', year_offsets: [0, 1, 2, 3]}
- {id: checkup_rate, label: 特定健診受診率目標, unit: '%', year_offsets: [0]}
"""

# 2023: M001 worded differently (same ID), no M003 (新 in 2024), M099 dropped in 2024.
CATALOG_2023 = (
    CATALOG_2024.replace("fiscal_year: 2024", "fiscal_year: 2023")
    .replace("'2024.1'", "'2023.1'")
    .replace("スマホアプリ収納（PayB、LINEPay、PayPayなど）", "スマホアプリ収納（PayB、LINEPayなど）")
    .replace("    - {id: M003, label: クレジット収納}\n", "    - {id: M099, label: 口座振替キャンペーン}\n")
)

SAITAMA = "111007"
KAWAGOE = "112011"
CHICHIBU = "112071"
HIGASHICHICHIBU = "113697"
MUNICIPALITY_NAMES = {
    SAITAMA: "さいたま市",
    KAWAGOE: "川越市",
    CHICHIBU: "秩父市",
    HIGASHICHICHIBU: "東秩父村",
}


def write_catalog(directory: Path, text: str, name: str) -> Catalog:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_catalog(path)


@dataclass
class FileSpec:
    """One returned workbook as staging rows."""

    name: str
    municipality_code: str | None
    catalog: Catalog
    received_at: str  # ISO, UTC
    answers: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # measure -> (○ or '', budget)
    own: list[tuple[str, str, str | None]] = field(default_factory=list)  # (table_id, text, budget)
    targets: list[tuple[str, int, str | None, float | None, str | None, str | None]] = field(
        default_factory=list
    )  # (target_id, year, raw, value, qualifier, note)
    issues: list[str] = field(default_factory=list)  # issue codes (quarantine)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(
            f"{self.name}|{self.received_at}|{self.answers}|{self.own}".encode()
        ).hexdigest()

    def batch(self) -> StagingBatch:
        cat = self.catalog
        common = {
            "file_name": self.name,
            "sha256": self.sha256,
            "municipality_code": self.municipality_code,
            "survey_id": cat.survey_id,
            "fiscal_year": cat.fiscal_year,
        }
        submissions = pd.DataFrame(
            [
                {
                    **common,
                    "file_path": f"/inbox/{self.name}",
                    "file_size": 1234,
                    "file_kind": "xlsx",
                    "has_macros": False,
                    "received_at": pd.Timestamp(self.received_at, tz="UTC"),
                    "sheet": "表紙",
                    "cell": "C3",
                    "prefecture_code": cat.prefecture_code,
                    "catalog_version": cat.catalog_version,
                    "municipality_name": MUNICIPALITY_NAMES.get(self.municipality_code or ""),
                }
            ]
        )
        responses = []
        for row_no, measure in enumerate(cat.measures, start=10):
            mark, budget = self.answers.get(measure.id, (ANSWER_NO, None))
            responses.append(
                {
                    **common,
                    "sheet": f"{measure.section_no}",
                    "cell": f"D{row_no}",
                    "row_no": row_no,
                    "measure_id": measure.id,
                    "label": measure.label,
                    "answer_raw": mark or None,
                    "answer": mark,
                    "implemented": mark == ANSWER_YES,
                    "budget_line": budget,
                    "budget_line_raw": budget,
                }
            )
        own = [
            {
                **common,
                "sheet": table_id[0],
                "cell": f"B{50 + i}",
                "row_no": 50 + i,
                "table_id": table_id,
                "position": i,
                "text": text,
                "budget_line": budget,
            }
            for i, (table_id, text, budget) in enumerate(self.own, start=1)
        ]
        targets = [
            {
                **common,
                "sheet": "数値目標",
                "cell": f"{'DEFG'[year - cat.fiscal_year]}{5 + i}",
                "row_no": 5 + i,
                "target_id": target_id,
                "target_year": year,
                "raw_text": raw,
                "value": value,
                "qualifier": qualifier,
                "note": note,
            }
            for i, (target_id, year, raw, value, qualifier, note) in enumerate(self.targets)
        ]
        issues = [
            {
                "file_name": self.name,
                "sha256": self.sha256,
                "sheet": "1",
                "cell": "D10",
                "value": "△",
                "code": code,
                "rule": "answer_symbol",
                "message": issue_message(code, file=self.name, sheet="1", cell="D10", value="△"),
                "hint": issue_hint(code),
                "stage": "transform",
            }
            for code in self.issues
        ]
        return StagingBatch(
            submissions=conform(submissions, "stg_submissions"),
            responses=conform(pd.DataFrame(responses), "stg_responses"),
            own_initiatives=conform(pd.DataFrame(own), "stg_own_initiatives"),
            numeric_targets=conform(pd.DataFrame(targets), "stg_numeric_targets"),
            issues=conform(pd.DataFrame(issues), "file_issues"),
        )


def batch_of(files: list[FileSpec]) -> StagingBatch:
    return StagingBatch.concat([f.batch() for f in files])


Y, N = ANSWER_YES, ANSWER_NO


@dataclass
class Fixture:
    cat2023: Catalog
    cat2024: Catalog
    files2023: list[FileSpec]
    chichibu_v1: FileSpec
    files2024: list[FileSpec]  # includes chichibu_v1 (superseded) and a quarantined file
    quarantined: FileSpec

    @property
    def catalogs(self) -> list[Catalog]:
        return [self.cat2023, self.cat2024]

    def all_files(self) -> list[FileSpec]:
        return [*self.files2023, *self.files2024]


def make_fixture(directory: Path) -> Fixture:
    """4 municipalities × 6 measures; counts hand-computed in test_views.py.

    2024 (accepted files): M001 3, M002 3, M003 2, M010 2, M011 1, M020 1
    2023:                   M001 2, M002 3, M099 1, M010 2, M011 2, M020 1
    """
    cat2023 = write_catalog(directory, CATALOG_2023, "11_2023.yaml")
    cat2024 = write_catalog(directory, CATALOG_2024, "11_2024.yaml")
    files2023 = [
        FileSpec(
            "R5_111007.xlsx",
            SAITAMA,
            cat2023,
            "2023-05-01T00:00:00",
            {m: (Y, None) for m in ("M001", "M002", "M099", "M010", "M011", "M020")},
        ),
        FileSpec(
            "R5_112011.xlsx",
            KAWAGOE,
            cat2023,
            "2023-05-02T00:00:00",
            {"M001": (Y, None), "M002": (Y, None), "M011": (Y, None)},
        ),
        FileSpec(
            "R5_112071.xlsx", CHICHIBU, cat2023, "2023-05-03T00:00:00", {"M002": (Y, None), "M010": (Y, None)}
        ),
    ]
    saitama = FileSpec(
        "R6_111007_さいたま市.xlsx",
        SAITAMA,
        cat2024,
        "2024-05-01T00:00:00",
        {
            "M001": (Y, "コンビニ収納等業務委託料"),
            "M002": (Y, "コンビニ収納等業務委託料"),
            "M003": (Y, "地方税共通納税システム利用料"),
            "M010": (Y, None),
            "M020": (Y, "特定健康診査等事業費"),
        },
        own=[("1-1", "口座振替キャンペーン（啓発品等プレゼントの配布）", "債権管理事業（需用費）、消耗品費")],
        targets=[
            ("collection_rate_current", 2024, "93.5", 93.5, None, "第3期中期目標"),
            ("collection_rate_current", 2025, "95％以上", 95.0, "以上", "第3期中期目標"),
            ("collection_rate_current", 2026, "前年度以上", None, "前年度以上", None),
            ("checkup_rate", 2024, "34.0%", 34.0, None, None),
        ],
    )
    kawagoe = FileSpec(
        "R6_112011.xlsx",
        KAWAGOE,
        cat2024,
        "2024-05-02T00:00:00",
        {
            "M001": (Y, "コンビニ収納等業務委託料"),
            "M002": (Y, None),
            "M003": (N, "予算はあるが実施しない"),  # not implementing: its budget line is not listed
            "M010": (Y, "—"),  # a dash is no budget line
            "M011": (Y, "通信運搬費、報償費、記念品費"),  # one cell is one budget line name
        },
        targets=[("collection_rate_current", 2024, "【未設定】", None, "未設定", "個別対応に注力")],
    )
    chichibu_v1 = FileSpec(
        "R6_112071.xlsx",
        CHICHIBU,
        cat2024,
        "2024-05-03T00:00:00",
        {"M002": (Y, None), "M010": (Y, None), "M011": (Y, None), "M020": (Y, None)},
        own=[("2-1-ア-1", "旧版の独自の取組", None)],
    )
    chichibu_v2 = FileSpec(
        "R6_112071_修正版.xlsx",
        CHICHIBU,
        cat2024,
        "2024-05-10T00:00:00",
        {
            "M001": (Y, "地方税共通納税システム利用料"),
            "M002": (Y, "コンビニ収納等業務委託料"),
            "M003": (Y, "公金クレジット収納代行委託"),
        },
        own=[
            ("2-1-ア-1", "LINEアプリによる特定健診等申込", None),
            ("1-1", "メール配信サービス・SMSによる納期限の周知", "自動電話催告システム賃借料"),
        ],
    )
    quarantined = FileSpec(
        "R6_113697.xlsx",
        HIGASHICHICHIBU,
        cat2024,
        "2024-05-04T00:00:00",
        {m.id: (Y, None) for m in cat2024.measures},
        issues=["UNKNOWN_ANSWER"],
    )
    return Fixture(
        cat2023=cat2023,
        cat2024=cat2024,
        files2023=files2023,
        chichibu_v1=chichibu_v1,
        files2024=[saitama, kawagoe, chichibu_v1, chichibu_v2, quarantined],
        quarantined=quarantined,
    )


def unreadable_issue_batch(file_name: str = "壊れた.xlsx") -> StagingBatch:
    """A file that could not be read at all: an issue without sha256 and no submission row."""
    issue = {
        "file_name": file_name,
        "sha256": None,
        "code": "CORRUPT_WORKBOOK",
        "message": issue_message("CORRUPT_WORKBOOK", file=file_name, detail="読み取り不可"),
        "hint": issue_hint("CORRUPT_WORKBOOK"),
        "stage": "extract",
    }
    empty = StagingBatch.empty()
    return StagingBatch(
        submissions=empty.submissions,
        responses=empty.responses,
        own_initiatives=empty.own_initiatives,
        numeric_targets=empty.numeric_targets,
        issues=conform(pd.DataFrame([issue]), "file_issues"),
    )


def load_fixture(db_path: Path, fx: Fixture, run_id: str = "run-1") -> None:
    load_batch(db_path, batch_of(fx.all_files()), catalogs=fx.catalogs, run_id=run_id)


def snapshot(db_path: Path, tables: tuple[str, ...] = TABLES) -> dict[str, list[tuple]]:
    """Every row of the given tables, sorted (to compare states)."""
    con = connect_readonly(db_path)
    try:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def query(db_path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = connect_readonly(db_path)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


# --- tests --------------------------------------------------------------------------------------


@pytest.fixture
def fx(tmp_path: Path) -> Fixture:
    return make_fixture(tmp_path / "catalogs")


def test_load_sets_statuses_and_counts(tmp_path: Path, fx: Fixture) -> None:
    db = tmp_path / "kokuho.duckdb"
    result = load_batch(db, batch_of(fx.all_files()), catalogs=fx.catalogs, run_id="run-1")
    v1, v2 = fx.files2024[2], fx.files2024[3]
    assert result.quarantined == [fx.quarantined.sha256]
    assert result.superseded == [v1.sha256]
    assert sorted(result.accepted) == sorted(f.sha256 for f in [*fx.files2023, *fx.files2024[:2], v2])
    assert result.skipped == []
    assert result.files_seen == 8
    rows = dict(query(db, "SELECT file_name, status FROM submissions"))
    assert rows[v1.name] == "superseded" and rows[v2.name] == "accepted"
    assert rows[fx.quarantined.name] == "quarantined"
    assert query(db, "SELECT superseded_by FROM submissions WHERE sha256 = ?", [v1.sha256]) == [(v2.sha256,)]
    run = query(db, "SELECT files_seen, accepted, quarantined, superseded, skipped, status FROM runs")
    assert run == [(8, 6, 1, 1, 0, "loaded")]


def test_quarantined_file_has_reasons_and_issues_but_no_answers(tmp_path: Path, fx: Fixture) -> None:
    db = tmp_path / "kokuho.duckdb"
    load_fixture(db, fx)
    sha = fx.quarantined.sha256
    codes, reasons = query(db, "SELECT reason_codes, reasons FROM submissions WHERE sha256 = ?", [sha])[0]
    assert codes == ["UNKNOWN_ANSWER"]
    assert "R6_113697.xlsx" in reasons[0] and "D10" in reasons[0]
    assert query(db, "SELECT count(*) FROM file_issues WHERE sha256 = ?", [sha]) == [(1,)]
    for table in ("responses", "own_initiative_responses", "numeric_target_responses"):
        assert query(db, f"SELECT count(*) FROM {table} WHERE sha256 = ?", [sha]) == [(0,)]


def test_failed_sha256_quarantines_without_issue_rows(tmp_path: Path, fx: Fixture) -> None:
    db = tmp_path / "kokuho.duckdb"
    saitama = fx.files2024[0]
    load_batch(db, saitama.batch(), failed_sha256={saitama.sha256}, catalogs=fx.catalogs, run_id="r")
    assert query(db, "SELECT status FROM submissions") == [("quarantined",)]
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]


def test_loading_the_same_files_again_changes_nothing(tmp_path: Path, fx: Fixture) -> None:
    db = tmp_path / "kokuho.duckdb"
    batch = StagingBatch.concat([batch_of(fx.all_files()), unreadable_issue_batch()])
    load_batch(db, batch, catalogs=fx.catalogs, run_id="run-1")
    data_tables = tuple(t for t in TABLES if t != "runs")
    before = snapshot(db, data_tables)
    again = load_batch(db, batch, catalogs=fx.catalogs, run_id="run-2")
    assert snapshot(db, data_tables) == before
    assert again.accepted == [] and again.quarantined == [] and again.superseded == []
    assert len(again.skipped) == 8 and again.unreadable == ["壊れた.xlsx"]
    assert query(db, "SELECT count(*) FROM file_issues WHERE sha256 IS NULL") == [(1,)]
    assert query(db, "SELECT run_id, skipped FROM runs ORDER BY run_id") == [("run-1", 0), ("run-2", 8)]


def test_resubmission_in_a_later_run_replaces_answers(tmp_path: Path, fx: Fixture) -> None:
    db = tmp_path / "kokuho.duckdb"
    v1, v2 = fx.files2024[2], fx.files2024[3]
    load_batch(db, v1.batch(), catalogs=fx.catalogs, run_id="run-1")
    count_m020 = "SELECT implementing_count FROM measure_summary WHERE fiscal_year = 2024 AND measure_id = ?"
    assert query(db, count_m020, ["M020"]) == [(1,)]
    result = load_batch(db, v2.batch(), catalogs=fx.catalogs, run_id="run-2")
    assert result.accepted == [v2.sha256] and result.superseded == [v1.sha256]
    assert query(db, count_m020, ["M020"]) == [(0,)]
    assert query(db, count_m020, ["M003"]) == [(1,)]
    assert query(db, "SELECT status, run_id FROM submissions ORDER BY received_at") == [
        ("superseded", "run-1"),
        ("accepted", "run-2"),
    ]


def test_a_file_first_seen_by_a_later_run_replaces_the_earlier_whatever_its_mtime(
    tmp_path: Path, fx: Fixture
) -> None:
    """Recency is the run that first saw the file, then its modification time (which copying an
    inbox changes): the older-dated v1 arriving in a later run is the current file."""
    db = tmp_path / "kokuho.duckdb"
    v1, v2 = fx.files2024[2], fx.files2024[3]
    load_batch(db, v2.batch(), catalogs=fx.catalogs, run_id="run-1")
    result = load_batch(db, v1.batch(), catalogs=fx.catalogs, run_id="run-2")
    assert result.accepted == [v1.sha256] and result.superseded == [v2.sha256]
    assert query(db, "SELECT file_name FROM submissions WHERE status = 'accepted'") == [(v1.name,)]


# The analysts' views, compared whole between two ways of building the same warehouse.
COMPARED_VIEWS = (
    "measure_summary",
    "budget_lines",
    "submission_status",
    "own_initiatives",
    "numeric_targets_wide",
)


def primary_keys(db: Path) -> int:
    return query(db, "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'")[0][0]


def test_loading_file_by_file_equals_loading_all_at_once(tmp_path: Path, fx: Fixture) -> None:
    """Files arriving one run each, in the order of their times, give what one run gives (a
    file first seen by a later run is newer, so the arrival order is the times' order here)."""
    at_once, one_by_one = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    load_fixture(at_once, fx)
    for i, spec in enumerate(sorted(fx.all_files(), key=lambda f: (f.received_at, f.name))):
        load_batch(one_by_one, spec.batch(), catalogs=fx.catalogs, run_id=f"run-{i}")
    a, b = snapshot(at_once, COMPARED_VIEWS), snapshot(one_by_one, COMPARED_VIEWS)
    assert a == b


def test_a_failing_load_changes_nothing(tmp_path: Path, fx: Fixture, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "kokuho.duckdb"
    v1, v2 = fx.files2024[2], fx.files2024[3]
    load_batch(db, v1.batch(), catalogs=fx.catalogs, run_id="run-1")
    before = db.read_bytes()

    execute = load.warehouse._execute

    def boom(con: duckdb.DuckDBPyConnection, text: str, params: dict[str, object] | None = None) -> None:
        execute(con, text, params)
        if text == load.warehouse.sql("steps/record_run_load"):  # the load's last statement, before COMMIT
            raise RuntimeError("disk full")

    monkeypatch.setattr(load.warehouse, "_execute", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        load_batch(db, v2.batch(), catalogs=fx.catalogs, run_id="run-2")
    assert db.read_bytes() == before
    assert stale_work_files(db) == []
    assert query(db, "SELECT file_name, status FROM submissions") == [(v1.name, "accepted")]


def test_guard_quarantines_files_that_break_invariants(tmp_path: Path, fx: Fixture) -> None:
    db = tmp_path / "kokuho.duckdb"
    unknown_answer = fx.files2024[0].batch()
    unknown_answer.responses.loc[0, "implemented"] = pd.NA
    unknown_answer.responses.loc[0, "answer_raw"] = "△"
    other = FileSpec(
        "R6_112011.xlsx", KAWAGOE, fx.cat2024, "2024-05-02T00:00:00", {"M001": (Y, None)}
    ).batch()
    other.submissions["survey_id"] = "11-2024-9.9"
    sapporo = FileSpec("R6_011002.xlsx", "011002", fx.cat2024, "2024-05-02T00:00:00", {"M001": (Y, None)})
    unknown_measure = FileSpec("R6_112071.xlsx", CHICHIBU, fx.cat2024, "2024-05-02T00:00:00").batch()
    unknown_measure.responses.loc[2, "measure_id"] = "M777"
    batch = StagingBatch.concat([unknown_answer, other, sapporo.batch(), unknown_measure])
    result = load_batch(db, batch, catalogs=[fx.cat2024], run_id="run-1")
    assert len(result.quarantined) == 4 and result.accepted == []
    codes = dict(query(db, "SELECT file_name, code FROM file_issues WHERE stage = 'load'"))
    assert codes == {
        fx.files2024[0].name: "UNKNOWN_ANSWER",
        "R6_112011.xlsx": "WRONG_SURVEY",
        "R6_011002.xlsx": "MUNICIPALITY_OTHER_PREFECTURE",
        "R6_112071.xlsx": "UNKNOWN_MEASURE",
    }
    assert query(db, "SELECT count(*) FROM responses") == [(0,)]


def test_known_sha256(tmp_path: Path, fx: Fixture) -> None:
    db = tmp_path / "kokuho.duckdb"
    assert known_sha256(db) == set()
    load_fixture(db, fx)
    assert known_sha256(db) == {f.sha256 for f in fx.all_files()}


def test_runs_are_recorded(tmp_path: Path, fx: Fixture) -> None:
    db = tmp_path / "kokuho.duckdb"
    start_run(db, "nightly-1")
    assert query(db, "SELECT status, finished_at FROM runs") == [("running", None)]
    load_batch(db, batch_of(fx.files2023), catalogs=fx.catalogs, run_id="nightly-1")
    finish_run(db, "nightly-1", status="succeeded", skipped=5)
    row = query(db, "SELECT status, files_seen, accepted, skipped, finished_at IS NOT NULL FROM runs")
    assert row == [("succeeded", 8, 3, 5, True)]


def test_catalog_resync_keeps_loaded_at_and_follows_edits(tmp_path: Path, fx: Fixture) -> None:
    db = tmp_path / "kokuho.duckdb"
    load_fixture(db, fx)
    loaded_at = query(db, "SELECT loaded_at FROM surveys WHERE survey_id = '11-2024-2024.1'")
    edited = write_catalog(
        tmp_path / "edited",
        CATALOG_2024.replace("{id: M002, label: コンビニ収納}", "{id: M002, label: コンビニ納付}"),
        "11_2024.yaml",
    )
    load_batch(db, StagingBatch.empty(), catalogs=[edited], run_id="run-2")
    assert query(db, "SELECT loaded_at FROM surveys WHERE survey_id = '11-2024-2024.1'") == loaded_at
    assert query(
        db, "SELECT label FROM measures WHERE survey_id = '11-2024-2024.1' AND measure_id = 'M002'"
    ) == [("コンビニ納付",)]


def test_real_saitama_catalog_counts(tmp_path: Path, saitama_catalog: Catalog) -> None:
    db = tmp_path / "kokuho.duckdb"
    codes = [SAITAMA, KAWAGOE, CHICHIBU, HIGASHICHICHIBU, "112089"]  # 112089 所沢市
    files = [
        FileSpec(f"{code}.xlsx", code, saitama_catalog, f"2024-05-0{i + 1}T00:00:00", {"M001": (Y, None)})
        for i, code in enumerate(codes)
    ]
    files[-1].answers = {"M002": (Y, None)}  # answers ○ elsewhere, not to M001
    load_batch(db, batch_of(files), catalogs=[saitama_catalog], run_id="run-1")
    got = query(
        db,
        "SELECT implementing_count, municipality_total FROM measure_summary "
        "WHERE fiscal_year = 2024 AND label = 'スマホアプリ収納（PayB、LINEPay、PayPayなど）'",
    )
    assert got == [(4, 63)]
    assert query(db, "SELECT count(*) FROM measure_summary WHERE fiscal_year = 2024") == [(150,)]


def test_connection_target_loads_without_publishing(tmp_path: Path, fx: Fixture) -> None:
    con = duckdb.connect(str(tmp_path / "direct.duckdb"))
    try:
        result = load_batch(con, batch_of(fx.files2023), catalogs=fx.catalogs, run_id="r")
        assert len(result.accepted) == 3 and result.db_path is None
        assert con.execute("SELECT count(*) FROM responses").fetchone() == (18,)
    finally:
        con.close()


def test_a_file_twice_in_one_batch_loads_one_row_per_key(tmp_path: Path, fx: Fixture) -> None:
    """The same bytes under two names: one submission, and each answer, initiative and target
    once, from the first name (then the first worksheet row)."""
    db = tmp_path / "kokuho.duckdb"
    saitama = fx.files2024[0]
    original = saitama.batch()
    copy = saitama.batch()
    for frame in (copy.submissions, copy.responses, copy.own_initiatives, copy.numeric_targets):
        frame["file_name"] = "A_copy.xlsx"  # sorts first: its rows are the ones kept
    copy.responses["label"] = "コピーの項目名"
    load_batch(db, StagingBatch.concat([original, copy]), catalogs=fx.catalogs, run_id="run-1")
    assert query(db, "SELECT file_name FROM submissions") == [("A_copy.xlsx",)]
    measures = original.responses["measure_id"].nunique()
    got = query(
        db, "SELECT count(*), count(DISTINCT measure_id), list(DISTINCT label_as_written) FROM responses"
    )
    assert got == [(measures, measures, ["コピーの項目名"])]
    for table, key in (
        ("own_initiative_responses", "table_id, position"),
        ("numeric_target_responses", "target_id, target_year"),
    ):
        keys = query(db, f"SELECT count(*), count(DISTINCT ({key})), min(file_name) FROM {table}")
        assert keys[0][0] == keys[0][1] > 0 and keys[0][2] == "A_copy.xlsx"


ANSWER_TABLES = ("responses", "own_initiative_responses", "numeric_target_responses", "item_responses")


def test_answers_inserted_a_few_rows_at_a_time_are_those_of_one_statement(
    tmp_path: Path, fx: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch's answers go in one statement per part of ROW_WISE_PART_ROWS rows: with parts of two
    rows the answer tables hold the same rows as with each table in one statement (the order rows are
    stored in follows DuckDB's joins either way), and the insert of the answers ran once per part."""
    import load.statements as statements

    whole, parts = tmp_path / "whole.duckdb", tmp_path / "parts.duckdb"
    load_fixture(whole, fx)
    executed: list[str] = []
    real = statements._execute

    def counting(con: duckdb.DuckDBPyConnection, text: str, params: dict[str, object] | None = None) -> None:
        executed.append(text)
        real(con, text, params)

    monkeypatch.setattr(statements, "ROW_WISE_PART_ROWS", 2)
    monkeypatch.setattr(statements, "_execute", counting)
    load_fixture(parts, fx)
    every_row = {t: f"SELECT * FROM {t} ORDER BY ALL" for t in ANSWER_TABLES}
    assert {t: query(whole, q) for t, q in every_row.items()} == {
        t: query(parts, q) for t, q in every_row.items()
    }
    staged = batch_of(fx.all_files())
    assert len(staged.responses) > 2 and len(staged.numeric_targets) > 2
    for table, frame in (
        ("responses", staged.responses),
        ("numeric_target_responses", staged.numeric_targets),
    ):
        inserts = sum(f"INSERT INTO {table}" in text for text in executed)
        assert inserts == -(-len(frame) // 2), table
    assert sum("INSERT INTO submissions" in text for text in executed) == 1


def test_a_key_repeated_within_a_file_keeps_the_first_row(tmp_path: Path, fx: Fixture) -> None:
    db = tmp_path / "kokuho.duckdb"
    batch = fx.files2024[1].batch()
    twice = batch.responses.iloc[[0]].assign(row_no=99, cell="D99", answer_raw="２回目")
    batch.responses = conform(pd.concat([twice, batch.responses], ignore_index=True), "stg_responses")
    load_batch(db, batch, catalogs=fx.catalogs, run_id="run-1")
    measure = batch.responses.loc[0, "measure_id"]
    assert query(db, "SELECT cell FROM responses WHERE measure_id = ?", [measure]) == [
        (batch.responses.loc[1, "cell"],)
    ]


def test_a_database_with_the_former_schema_keeps_loading(tmp_path: Path, fx: Fixture) -> None:
    """Response tables created with PRIMARY KEYs (before the national-scale tuning) still take new
    files one by one, and give the same views as a fresh database."""
    from load.sql_files import sql

    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    for table, key in (
        ("responses", "sha256, measure_id"),
        ("own_initiative_responses", "sha256, table_id, position"),
        ("numeric_target_responses", "sha256, target_id, target_year"),
    ):
        ddl = sql(f"tables/{table}").rstrip().removesuffix(");").rstrip()
        con.execute(f"{ddl},\n    PRIMARY KEY ({key})\n);")
    con.close()
    fresh = tmp_path / "fresh.duckdb"
    for i, spec in enumerate(fx.all_files()):
        load_batch(old, spec.batch(), catalogs=fx.catalogs, run_id=f"run-{i}")
    load_fixture(fresh, fx)
    assert primary_keys(old) > primary_keys(fresh)
    assert snapshot(old, COMPARED_VIEWS) == snapshot(fresh, COMPARED_VIEWS)


def test_municipality_sync_restores_edited_rows_only(tmp_path: Path) -> None:
    from kokuho.municipalities import all_municipalities
    from load.schema import ensure_schema
    from load.warehouse import sync_municipalities

    con = duckdb.connect(str(tmp_path / "m.duckdb"))
    try:
        ensure_schema(con)
        sync_municipalities(con)
        (count,) = con.execute("SELECT count(*) FROM municipalities").fetchall()[0]
        assert count == len(all_municipalities())
        con.execute("UPDATE municipalities SET name = '誤記' WHERE code = ?", [SAITAMA])
        sync_municipalities(con)
        assert con.execute("SELECT name FROM municipalities WHERE code = ?", [SAITAMA]).fetchone() == (
            "さいたま市",
        )
        assert con.execute("SELECT count(*) FROM municipalities").fetchall() == [(count,)]
    finally:
        con.close()


def test_every_sql_file_is_used_and_read_by_its_layer() -> None:
    """Each file of load/sql/<kind>/ is named by the code that runs it ("<kind>/<name>"), or is a
    table, macro or view created by ensure_schema; the loader refuses a name without its layer."""
    from load.schema import MACROS, TABLES, VIEWS
    from load.sql_files import KINDS, names, sql

    root = Path(__file__).resolve().parent.parent
    code = "\n".join(
        p.read_text(encoding="utf-8")
        for folder in ("load", "flows", "kokuho")
        for p in (root / folder).rglob("*.py")
    )
    created = {"tables": set(TABLES), "macros": set(MACROS), "views": set(VIEWS)}
    for kind in KINDS:
        for name in names(kind):
            assert name in created.get(kind, ()) or f'"{kind}/{name}"' in code, (
                f"{kind}/{name}.sql is not used"
            )
            assert sql(f"{kind}/{name}").strip()
    assert set(names("tables")) == set(TABLES) and set(names("views")) == set(VIEWS)
    with pytest.raises(ValueError, match="<kind>/<name>"):
        sql("budget_lines")


def test_views_are_created_after_the_views_they_read() -> None:
    """ensure_schema re-creates the views in load.schema.VIEWS order on every write: each view
    comes after every view (and macro) its SQL names."""
    import re

    from load.schema import MACROS, VIEWS
    from load.sql_files import sql

    for index, view in enumerate(VIEWS):
        body = sql(f"views/{view}").split(f"CREATE OR REPLACE VIEW {view} AS", 1)[1]
        read = {v for v in VIEWS if v != view and re.search(rf"\b{v}\b", body)}
        assert read <= set(VIEWS[:index]), (view, read - set(VIEWS[:index]))
    reads_current = [v for v in VIEWS if re.search(r"\bcurrent_submissions\b", sql(f"views/{v}"))]
    assert len(reads_current) >= 6 and MACROS == (
        "in_survey_area",
        "previous_surveys",
        "year_label",
        "status_text",
        "survey_in_scope",
        "item_answer_rows",
        "amount_digits",
        "amount_text",
    )


def test_the_writer_works_within_the_load_memory_bound(
    tmp_path: Path, fx: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOKUHO_LOAD_MEMORY", "96MB")
    with open_for_write(tmp_path / "kokuho.duckdb", run_id="r") as con:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert limit == ("91.5 MiB",)


def _inserts_running_out(failures: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The first `failures` inserts of a batch run out of memory after inserting its rows; the
    memory_limit each insert ran within, as DuckDB shows it, is appended to the list returned."""
    import load.warehouse as warehouse

    real_insert = warehouse._insert_batch
    tried: list[str] = []

    def insert_then_run_out(con: duckdb.DuckDBPyConnection, *args: object, **kwargs: object) -> None:
        (setting,) = con.execute("SELECT current_setting('memory_limit')").fetchone() or ("",)
        tried.append(str(setting))
        real_insert(con, *args, **kwargs)  # type: ignore[arg-type]
        if len(tried) <= failures:
            raise duckdb.OutOfMemoryException("Out of Memory Error: injected")

    monkeypatch.setattr(warehouse, "_insert_batch", insert_then_run_out)
    return tried


@pytest.mark.parametrize(
    ("value", "failures", "bounds"),
    [
        ("64MB", 0, ["64MB"]),
        ("64MB", 1, ["64MB", "256000000B"]),
        ("64MB", 2, ["64MB", "256000000B", None]),
        ("0", 0, [None]),
    ],
)
def test_a_load_that_runs_out_of_memory_is_loaded_again_within_a_larger_bound(
    tmp_path: Path,
    fx: Fixture,
    value: str,
    failures: int,
    bounds: list[str | None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Within the bound DuckDB spills. A load that still runs out of memory (here after its rows
    are inserted) is rolled back and loaded again within a larger bound, at last within DuckDB's
    own: the same rows every way, nothing twice."""

    monkeypatch.setenv("KOKUHO_LOAD_MEMORY", "0")
    load_fixture(tmp_path / "unbounded.duckdb", fx)
    tried = _inserts_running_out(failures, monkeypatch)
    monkeypatch.setenv("KOKUHO_LOAD_MEMORY", value)
    load_fixture(tmp_path / "bounded.duckdb", fx)
    compared = (*COMPARED_VIEWS, "responses", "own_initiative_responses", "numeric_target_responses")
    assert snapshot(tmp_path / "bounded.duckdb", compared) == snapshot(
        tmp_path / "unbounded.duckdb", compared
    )
    assert tried == [_shown_limit(bound) for bound in bounds]


def test_after_a_load_run_again_within_a_larger_bound_the_next_chunk_is_bounded_as_configured(
    tmp_path: Path, fx: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One chunk's load that ran out of memory leaves the writer within KOKUHO_LOAD_MEMORY again."""
    tried = _inserts_running_out(1, monkeypatch)
    monkeypatch.setenv("KOKUHO_LOAD_MEMORY", "64MB")
    with open_for_write(tmp_path / "kokuho.duckdb", run_id="r") as con:
        for chunk in (fx.all_files()[:1], fx.all_files()[1:]):
            load_batch(con, batch_of(chunk), catalogs=fx.catalogs, run_id="r", record=False)
        (after,) = con.execute("SELECT current_setting('memory_limit')").fetchone() or ("",)
    assert tried == [_shown_limit("64MB"), _shown_limit("256000000B"), _shown_limit("64MB")]
    assert after == _shown_limit("64MB")


def test_a_load_out_of_memory_within_duckdbs_own_limit_fails(
    tmp_path: Path, fx: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import load.warehouse as warehouse

    def run_out(*args: object, **kwargs: object) -> None:
        raise duckdb.OutOfMemoryException("Out of Memory Error: injected")

    monkeypatch.setattr(warehouse, "_insert_batch", run_out)
    monkeypatch.setenv("KOKUHO_LOAD_MEMORY", "64MB")
    with pytest.raises(duckdb.OutOfMemoryException):
        load_fixture(tmp_path / "kokuho.duckdb", fx)
    assert not (tmp_path / "kokuho.duckdb").exists() and stale_work_files(tmp_path / "kokuho.duckdb") == []


def _shown_limit(bound: str | None) -> str:
    """DuckDB's own rendering of a memory_limit (None: its default for this machine)."""
    con = duckdb.connect(config={"memory_limit": bound} if bound else {})
    try:
        (shown,) = con.execute("SELECT current_setting('memory_limit')").fetchone() or ("",)
        return str(shown)
    finally:
        con.close()
