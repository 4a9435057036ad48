"""Seed 003 through the real pipeline: the templates of tests/catalogs/20_2024.yaml (Nagano, after
seed 003's 事業改善シート), filled the way a municipality writes (61.7以上, △148,507, 17,054,564),
the real ingest flow (Prefect), the views, and the export read back. One file's cost table is off
by one 千円: it is set aside with the rule and the cell named."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest

from demo.workbook import row_index
from kokuho import layout
from kokuho.catalog import load_catalog_for
from kokuho.config import Settings
from kokuho.municipalities import by_code
from kokuho.templates import write_template

pytestmark = pytest.mark.slow

CATALOGS = Path(__file__).parent / "catalogs"
NAGANO, MATSUMOTO, UEDA = "202011", "202029", "202037"

# Seed 003 as 長野市 writes it: (item, year, cell text).
SEED_003: list[tuple[str, int, object]] = [
    ("N_SCORE_PREF", 2022, "61.7"),
    ("N_SCORE_PREF", 2023, 66.6),
    ("N_SCORE_PREF", 2024, "47.0"),
    ("N_SCORE_PREF_TARGET", 2024, "61.7以上"),
    ("N_SCORE_MUNI", 2022, 64.8),
    ("N_SCORE_MUNI", 2023, "67.4"),
    ("N_SCORE_MUNI", 2024, "62.9"),
    ("N_SCORE_MUNI_TARGET", 2024, "64.8以上"),
    ("N_BUDGET_CARRIED", 2024, 0),
    ("N_BUDGET_INITIAL", 2024, "17,054,564"),
    ("N_BUDGET_SUPPLEMENTARY", 2024, "△148,507"),
    ("N_BUDGET_TOTAL", 2024, "16,906,057"),
    ("N_BUDGET_GENERAL", 2024, "16,817,085"),
    ("N_SETTLEMENT", 2024, "16,644,888"),
    ("N_BUDGET_CARRIED", 2023, 0),
    ("N_BUDGET_INITIAL", 2023, "17,639,962"),
    ("N_BUDGET_SUPPLEMENTARY", 2023, "△324,668"),
    ("N_BUDGET_TOTAL", 2023, "17,315,294"),
]
# 松本市: R5 60.0, R6 63.0 against 前年度以上 (達成); its cost table adds up.
MATSUMOTO_VALUES: list[tuple[str, int, object]] = [
    ("N_SCORE_PREF", 2023, "60.0"),
    ("N_SCORE_PREF", 2024, "63.0"),
    ("N_SCORE_PREF_TARGET", 2024, "前年度以上"),
    ("N_BUDGET_INITIAL", 2024, "1,000"),
    ("N_BUDGET_SUPPLEMENTARY", 2024, "△10"),
    ("N_BUDGET_TOTAL", 2024, "990"),
]
# 上田市: 合計 one 千円 more than its parts.
UEDA_VALUES: list[tuple[str, int, object]] = [
    ("N_BUDGET_CARRIED", 2024, 0),
    ("N_BUDGET_INITIAL", 2024, "17,054,564"),
    ("N_BUDGET_SUPPLEMENTARY", 2024, "△148,507"),
    ("N_BUDGET_TOTAL", 2024, "16,906,058"),
]


@pytest.fixture(scope="module")
def catalog_dir() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KOKUHO_CATALOG_DIR", str(CATALOGS))
        yield


def _fill(path: Path, values: list[tuple[str, int, object]]) -> None:
    wb = openpyxl.load_workbook(path)
    where: dict[str, tuple[Any, int]] = {}
    for ws in wb.worksheets:
        for key, row in row_index(ws).items():
            where.setdefault(key, (ws, row))
    for item_id, year, value in values:
        ws, row = where[layout.item_key(item_id, year)]
        ws[f"D{row}"].value = value
    wb.save(path)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, prefect_server: None, catalog_dir: None) -> dict:
    from flows.ingest import run_ingest

    base = tmp_path_factory.mktemp("seed003")
    inbox = base / "inbox"
    catalog = load_catalog_for("20", 2024)
    municipalities = by_code()
    for code, values in ((NAGANO, SEED_003), (MATSUMOTO, MATSUMOTO_VALUES), (UEDA, UEDA_VALUES)):
        muni = municipalities[code]
        path = inbox / layout.template_file_name(code, muni.name, 2024)
        write_template(catalog, muni, path)
        _fill(path, values)
    settings = Settings.resolve(
        home=base / "home",
        db_path=base / "home" / "kokuho.duckdb",
        inbox=inbox,
        prefecture_code="20",
        fiscal_year=2024,
    )
    assert os.environ["KOKUHO_CATALOG_DIR"] == str(CATALOGS)
    summary = run_ingest(settings)
    return {"summary": summary, "db": settings.db_path, "home": base / "home"}


def _query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_seed_003_rows_through_the_pipeline(run: dict) -> None:
    assert run["summary"]["accepted"] == 2, run["summary"]["text"]
    rows = _query(
        run["db"],
        "SELECT indicator_id, result_value, target_raw, achievement, trend FROM indicator_results "
        "WHERE municipality_code = '202011' AND value_year = 2024 AND indicator_id LIKE 'score%' ORDER BY position",
    )
    assert rows == [
        ("score_pref", 47.0, "61.7以上", "未達成", "↘"),
        ("score_muni", 62.9, "64.8以上", "未達成", "↘"),
    ]
    matsumoto = _query(
        run["db"],
        "SELECT achievement, trend FROM indicator_results "
        "WHERE municipality_code = '202029' AND value_year = 2024 AND indicator_id = 'score_pref'",
    )
    assert matsumoto == [("達成", "↗")]


def test_cost_table_sums_and_prints_with_triangle(run: dict) -> None:
    rows = _query(
        run["db"],
        "SELECT item_id, total, total_text FROM item_amounts WHERE value_year = 2024 "
        "AND item_id IN ('N_BUDGET_SUPPLEMENTARY', 'N_BUDGET_TOTAL') ORDER BY position",
    )
    # 長野市 and 松本市 (上田市's file is set aside)
    assert rows == [
        ("N_BUDGET_SUPPLEMENTARY", -148517.0, "△148,517"),
        ("N_BUDGET_TOTAL", 16907047.0, "16,907,047"),
    ]


def test_a_sum_one_sen_yen_off_is_set_aside_naming_the_cell(run: dict) -> None:
    assert run["summary"]["quarantined"] == 1
    issues = _query(
        run["db"],
        "SELECT f.code, f.cell, f.message FROM file_issues AS f JOIN submissions AS s USING (sha256) "
        "WHERE s.municipality_code = '202037'",
    )
    assert [(code, cell) for code, cell, _ in issues][:1] == [("SUM_RULE_VIOLATED", issues[0][1])]
    code, cell, message = issues[0]
    assert cell and cell.startswith("D")
    assert (
        "合計（予算現額）が 前年度繰越＋当初予算＋補正予算等 と一致しません（16,906,058 ≠ 16,906,057）"
        in message
    )


def test_export_shows_the_indicator_sheets(run: dict, tmp_path: Path) -> None:
    from load.export_excel import export_summary

    out = export_summary(run["db"], 2024, tmp_path / "summary.xlsx", prefecture_code="20")
    wb = openpyxl.load_workbook(out)
    rows = [list(r) for r in wb["成果指標"].iter_rows(values_only=True)]
    nagano = [r for r in rows if r[3] == NAGANO]
    assert nagano[0][5:12] == [61.7, 66.6, "↗", 47.0, "↘", "61.7以上", "未達成"]
    assert nagano[1][5:12] == [64.8, 67.4, "↗", 62.9, "↘", "64.8以上", "未達成"]
    pairs = [list(r) for r in wb["主な指標"].iter_rows(values_only=True)]
    assert any(r[3] == "R５ → R６" for r in pairs)
    costs = [list(r) for r in wb["事業コスト"].iter_rows(values_only=True)]
    r6 = next(r for r in costs if r[0] == "R6年度")
    assert r6[3] == -148517
