"""The demo's Nagano part (demo/nagano.py) through the real flow: the generated 事業改善シート of the
77 municipalities and two bad first submissions, ingested into their own warehouse, read back from
the views and from the export. Expected sums are computed from the generator's answers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest

from demo.workbook import row_index
from kokuho import layout
from kokuho.municipalities import municipalities_of

COST_LABELS = {
    "NG_CARRIED": "前年度繰越",
    "NG_INITIAL": "当初予算",
    "NG_SUPPLEMENTARY": "補正予算等",
    "NG_TOTAL": "合計（予算現額）",
    "NG_GENERAL": "うち一般財源",
    "NG_SETTLEMENT": "決算額",
    "NG_STAFF": "職員数",
}


@pytest.fixture(scope="module")
def nagano(tmp_path_factory: pytest.TempPathFactory, prefect_server: None) -> Iterator[dict[str, Any]]:
    from demo.nagano import FOLDER, run_nagano

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("KOKUHO_CATALOG_DIR", raising=False)  # the bundled catalog, as the demo uses it
        result = run_nagano(tmp_path_factory.mktemp("demo") / FOLDER)
    result["export"] = Path(result["summary"]["exports"][0])
    yield result


def _query(db: Path, sql: str, params: list[object] | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _expected_sums(answers: dict[str, Any]) -> dict[tuple[str, int], float]:
    sums: dict[tuple[str, int], float] = defaultdict(float)
    for a in answers.values():
        for key, value in a.amounts.items():
            sums[key] += value
    return dict(sums)


def _rows(path: Path, sheet: str) -> list[list[Any]]:
    return [list(r) for r in openpyxl.load_workbook(path)[sheet].iter_rows(values_only=True)]


# ---- the generator alone (no flow) -----------------------------------------------------------


@pytest.mark.parametrize("seed", [2024, 7])
def test_answers_are_deterministic_and_every_cost_table_adds_up(seed: int) -> None:
    from demo.nagano import YEARS, plan_answers

    answers = plan_answers(seed)
    assert answers.keys() == {m.code for m in municipalities_of("20")}
    assert {c: (a.cells, a.amounts, a.implemented) for c, a in answers.items()} == {
        c: (a.cells, a.amounts, a.implemented) for c, a in plan_answers(seed).items()
    }
    for a in answers.values():
        for year in YEARS:
            parts = sum(
                a.amounts.get((item, year), 0.0) for item in ("NG_CARRIED", "NG_INITIAL", "NG_SUPPLEMENTARY")
            )
            assert a.amounts[("NG_TOTAL", year)] == parts, (a.code, year)
    written = [v for a in answers.values() for (item, _), v in a.cells.items() if item == "NG_SUPPLEMENTARY"]
    assert any(isinstance(v, str) and v.startswith("△") for v in written)  # △148,507 as text
    assert any(isinstance(v, int) and v < 0 for v in written)  # a negative number, shown △ by its format


def test_seed_003_figures_are_nagano_citys() -> None:
    from demo.nagano import SEED_003_CODE, plan_answers

    cells = plan_answers()[SEED_003_CODE].cells
    assert [cells[("NG_SCORE", y)] for y in (2022, 2023, 2024)] == ["61.7", 66.6, "47.0"]
    assert cells[("NG_SCORE_TARGET", 2024)] == "61.7以上"
    assert [cells[(i, 2024)] for i in ("NG_CARRIED", "NG_INITIAL", "NG_SUPPLEMENTARY", "NG_TOTAL")] == [
        "0",
        "17,054,564",
        "△148,507",
        "16,906,057",
    ]


# ---- through the flow ---------------------------------------------------------------------------


@pytest.mark.slow
def test_every_file_but_the_two_bad_ones_is_accepted(nagano: dict[str, Any]) -> None:
    db = nagano["settings"].db_path
    status = dict(_query(db, "SELECT file_name, status FROM submissions"))
    files = nagano["manifest"].files
    assert len(files) == 79 and len(status) == 79
    for f in files:
        assert status[Path(f.path).name] == f.expected, f.path
    accepted = sorted(f.municipality_code for f in files if f.expected == "accepted")
    assert accepted == [m.code for m in municipalities_of("20")]
    assert nagano["summary"]["accepted"] == 77 and nagano["summary"]["quarantined"] == 2


@pytest.mark.slow
def test_bad_files_are_quarantined_with_a_japanese_reason_naming_sheet_and_cell(
    nagano: dict[str, Any],
) -> None:
    db = nagano["settings"].db_path
    inbox = nagano["settings"].inbox
    bad = [f for f in nagano["manifest"].files if f.expected == "quarantined"]
    assert sorted(f.issue_code for f in bad) == ["ITEM_UNPARSEABLE", "SUM_RULE_VIOLATED"]
    for f in bad:
        name = Path(f.path).name
        codes = _query(db, "SELECT reason_codes FROM submissions WHERE file_name = ?", [name])[0][0]
        assert codes[0] == f.issue_code
        # the cell of the bad value, found in the file by its row key
        wb = openpyxl.load_workbook(inbox / f.path)
        ws = next(ws for ws in wb.worksheets if f.cell_item in row_index(ws))
        cell = f"{layout.SECTION_COLUMNS['answer']}{row_index(ws)[f.cell_item]}"
        issues = _query(
            db,
            "SELECT sheet, cell, message FROM file_issues WHERE file_name = ? AND code = ?",
            [name, f.issue_code],
        )
        assert (ws.title, cell) in [(sheet, c) for sheet, c, _ in issues]
        message = next(m for sheet, c, m in issues if c == cell)
        assert f"シート「{ws.title}」セル{cell}" in message
    sum_message = _query(
        db, "SELECT message FROM file_issues WHERE code = 'SUM_RULE_VIOLATED' ORDER BY file_name"
    )
    assert any(
        "合計（予算現額）が 前年度繰越＋当初予算＋補正予算等 と一致しません" in m for (m,) in sum_message
    )


@pytest.mark.slow
def test_cost_sums_in_the_view_are_the_generated_answers(nagano: dict[str, Any]) -> None:
    expected = _expected_sums(nagano["answers"])
    rows = _query(
        nagano["settings"].db_path,
        "SELECT item_id, value_year, total, total_text, municipality_count FROM item_amounts WHERE fiscal_year = 2024",
    )
    got = {(item, year): total for item, year, total, _, _ in rows}
    assert got.keys() == expected.keys()
    for key, total in expected.items():
        assert got[key] == pytest.approx(total, abs=1e-6), key
    supplementary = [(text, total) for item, _, total, text, _ in rows if item == "NG_SUPPLEMENTARY"]
    assert supplementary and all(text.startswith("△") and total < 0 for text, total in supplementary)


@pytest.mark.slow
def test_cost_sheet_prints_the_sums_with_triangle(nagano: dict[str, Any]) -> None:
    expected = _expected_sums(nagano["answers"])
    ws = openpyxl.load_workbook(nagano["export"])["事業コスト"]
    rows = list(ws.iter_rows())
    header = next(r for r in rows if r[0].value == "区分")
    column = {cell.value: cell.column - 1 for cell in header}
    assert [c.value for c in header[1:8]] == list(COST_LABELS.values())
    assert any("単位：千円、人" in str(c.value) for r in rows[:4] for c in r if c.value)
    for year, label in ((2024, "R6年度"), (2023, "R5年度"), (2022, "R4年度")):
        row = next(r for r in rows if r[0].value == label)
        for item, name in COST_LABELS.items():
            cell = row[column[name]]
            assert cell.value == pytest.approx(expected[(item, year)], abs=1e-6), (label, name)
        negative = row[column["補正予算等"]]
        assert negative.value < 0 and '"△"' in negative.number_format
        assert "0.0" in row[column["職員数"]].number_format  # 5.7人 keeps its decimal


@pytest.mark.slow
def test_indicator_sheet_shows_achievement_and_trends(nagano: dict[str, Any]) -> None:
    rows = _rows(nagano["export"], "成果指標")
    header = next(r for r in rows if r[0] == "No.")
    achievement = header.index("達成状況")
    trends = [i for i, label in enumerate(header) if label and "推移" in str(label)]
    body = [r for r in rows if isinstance(r[3], str) and r[3].isdigit() and len(r[3]) == 6]
    assert len(body) == 77 * 4
    assert {r[achievement] for r in body} == {"達成", "未達成", "―"}
    assert {r[i] for r in body for i in trends} == {"↗", "↘", "→", "―"}


@pytest.mark.slow
def test_seed_003_municipality_reproduces_its_row(nagano: dict[str, Any]) -> None:
    rows = _rows(nagano["export"], "成果指標")
    nagano_city = next(r for r in rows if r[3] == "202011" and r[1] == "保険者努力支援制度（市町村分）得点率")
    assert nagano_city[5:12] == [61.7, 66.6, "↗", 47.0, "↘", "61.7以上", "未達成"]
    costs = _query(
        nagano["settings"].db_path,
        "SELECT r.item_id, r.value FROM item_responses AS r JOIN current_submissions USING (sha256) "
        "WHERE r.municipality_code = '202011' AND r.value_year = 2024 "
        "AND r.item_id IN ('NG_CARRIED', 'NG_INITIAL', 'NG_SUPPLEMENTARY', 'NG_TOTAL') ORDER BY r.item_id",
    )
    assert dict(costs) == {
        "NG_CARRIED": 0.0,
        "NG_INITIAL": 17054564.0,
        "NG_SUPPLEMENTARY": -148507.0,
        "NG_TOTAL": 16906057.0,
    }
