"""The indicator sheets of the summary workbook, read back: 成果指標 (seed 003's layout), 主な指標
(seed 004's R５ → R６), 事業コスト (千円, △) and the result-against-target charts; none of them for a
survey without indicators or amounts."""

from __future__ import annotations

import zipfile
from pathlib import Path

import duckdb
import pytest
from indicator_fixtures import fill_seed_003, new_warehouse
from openpyxl import load_workbook
from test_export import build_fixture_db

from load.export_excel import export_summary

SHEETS = ("成果指標", "主な指標", "成果指標グラフ", "事業コスト")


@pytest.fixture(scope="module")
def workbook_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("indicator_export")
    db = directory / "kokuho.duckdb"
    with new_warehouse(db) as con:
        fill_seed_003(con)
    return export_summary(db, 2024, directory / "summary.xlsx", prefecture_code="20")


def rows_of(path: Path, sheet: str) -> list[list[object]]:
    ws = load_workbook(path)[sheet]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_results_sheet_reproduces_seed_003(workbook_path: Path) -> None:
    rows = rows_of(workbook_path, "成果指標")
    assert any(r[0] == "（推移の凡例　↗：改善 ↘：悪化 →：変化なし ―：数値なし）" for r in rows)
    header = next(r for r in rows if r[0] == "No.")
    assert [h for h in header if h] == [
        "No.",
        "指標名",
        "単位",
        "市町村コード",
        "市町村名",
        "R4年度 実績",
        "R5年度 実績",
        "R5年度 推移",
        "R6年度 実績",
        "R6年度 推移",
        "目標値",
        "達成状況",
    ]
    nagano = [r for r in rows if r[3] == "202011"]
    assert nagano[0][:12] == [
        1,
        "保険者努力支援制度（都道府県分）得点率",
        "%",
        "202011",
        "長野市",
        61.7,
        66.6,
        "↗",
        47.0,
        "↘",
        "61.7以上",
        "未達成",
    ]
    assert nagano[1][:12] == [
        2,
        "保険者努力支援制度（市町村分）得点率",
        "%",
        "202011",
        "長野市",
        64.8,
        67.4,
        "↗",
        62.9,
        "↘",
        "64.8以上",
        "未達成",
    ]
    # 松本市: no R4 result (―), R6 63.0 against 前年度以上 (R5 60.0): 達成
    matsumoto = next(r for r in rows if r[3] == "202029" and r[0] == 1)
    assert matsumoto[5:12] == ["―", 60.0, "―", 63.0, "↗", "前年度以上", "達成"]
    summary = next(r for r in rows if r[0] == 1 and r[3] and str(r[3]).startswith("R6年度 達成"))
    assert summary[3] == "R6年度 達成 1/2市町村（50%）"


def test_pairs_sheet_in_seed_004_format(workbook_path: Path) -> None:
    rows = rows_of(workbook_path, "主な指標")
    header = next(r for r in rows if r[0] == "No.")
    assert header[2:4] == ["主 な 指 標", "R５ → R６"]
    by_label = {r[2]: r for r in rows if isinstance(r[0], int)}
    assert by_label["重症化予防（二次予防）の推進"][1:4] == [
        "取組",
        "重症化予防（二次予防）の推進",
        "― → 0市町村",
    ]
    assert by_label["保険者努力支援制度（都道府県分）得点率"][3] == "― → 1市町村"


def test_costs_sheet_in_sen_yen_with_triangle(workbook_path: Path) -> None:
    ws = load_workbook(workbook_path)["事業コスト"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header = next(r for r in rows if r[0] == "区分")
    assert header[1:7] == [
        "前年度繰越",
        "当初予算",
        "補正予算等",
        "合計（予算現額）",
        "うち一般財源",
        "決算額",
    ]
    r6 = next(i for i, r in enumerate(rows, start=1) if r[0] == "R6年度")
    assert rows[r6 - 1][1:7] == [0, 17054564, -148507, 16906057, 16817085, 16644888]
    assert ws.cell(r6, 4).number_format == '#,##0;"△"#,##0;0'
    assert [r[0] for r in rows if r[0] and str(r[0]).endswith("年度")] == ["R6年度", "R5年度", "R4年度"]
    assert "単位：千円" in str(rows[2][0])


def test_chart_of_result_against_target(workbook_path: Path) -> None:
    with zipfile.ZipFile(workbook_path) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    titled = [c for c in charts if "実績と目標値" in c]
    assert len(titled) == 2  # one per indicator with a R6 result
    assert all("'成果指標グラフ'!$B$4" in c and "'成果指標グラフ'!$C$4" in c for c in titled)
    ws = load_workbook(workbook_path)["成果指標グラフ"]
    assert ws.print_area is not None and ws.page_setup.orientation == "landscape"


def test_no_indicator_sheets_without_indicators(tmp_path: Path) -> None:
    db = build_fixture_db(tmp_path / "kokuho.duckdb")
    out = export_summary(db, 2024, tmp_path / "summary.xlsx")
    names = load_workbook(out, read_only=True).sheetnames
    assert not set(SHEETS) & set(names)
    assert "取組状況" in names


@pytest.mark.parametrize(
    ("removed", "asks"),
    [
        ((), True),
        (("DELETE FROM indicators",), True),  # the amounts alone
        (("DELETE FROM items WHERE item_type = 'amount'",), True),  # the indicators alone
        (("DELETE FROM indicators", "DELETE FROM items WHERE item_type = 'amount'"), False),
    ],
)
def test_the_indicator_views_are_read_for_a_survey_asking_indicators_or_amounts(
    tmp_path: Path, removed: tuple[str, ...], asks: bool
) -> None:
    from load.export_data import _view_columns, read_summary
    from load.export_sheets.indicators import _asks_indicators_or_amounts, read_indicator_data

    db = tmp_path / "kokuho.duckdb"
    with new_warehouse(db) as con:
        fill_seed_003(con)
        for statement in removed:
            con.execute(statement)
    data = read_summary(db, 2024, "20")
    with duckdb.connect(str(db), read_only=True) as con:
        assert _asks_indicators_or_amounts(con, _view_columns(con), data) is asks
    assert (read_indicator_data(db, data) is not None) is asks


@pytest.mark.parametrize(
    ("value", "tried"), [("64MB", ["64MB"]), ("1MB", ["1MB", "4000000B", None]), ("0", [None])]
)
def test_the_indicator_views_read_the_same_within_any_memory_bound(
    tmp_path: Path, value: str, tried: list[str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read within the export's bound as the summary is; bounded too tightly DuckDB runs out of memory
    and the views are read again within the larger bounds: the rows are the same every way."""
    import load.export_sheets.indicators as indicators
    from load.export_data import read_summary

    db = tmp_path / "kokuho.duckdb"
    with new_warehouse(db) as con:
        fill_seed_003(con)
    monkeypatch.setenv("KOKUHO_EXPORT_MEMORY", "0")
    data = read_summary(db, 2024, "20")
    unbounded = indicators.read_indicator_data(db, data)
    assert unbounded is not None and unbounded.results and unbounded.pairs
    attempts: list[str | None] = []
    real = indicators._read_views

    def spy(db_path: Path, summary: object, limit: str | None) -> object:
        attempts.append(limit)
        return real(db_path, data, limit)

    monkeypatch.setattr(indicators, "_read_views", spy)
    monkeypatch.setenv("KOKUHO_EXPORT_MEMORY", value)
    assert indicators.read_indicator_data(db, data) == unbounded
    assert attempts == tried


@pytest.mark.parametrize("value", ["64MB", "1MB"])
def test_the_export_leaves_no_spill_folder_behind(
    tmp_path: Path, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each bounded read spills to a private folder of its own, removed with its connection, also when
    DuckDB ran out of memory there and the read was done again."""
    import tempfile

    db = tmp_path / "kokuho.duckdb"
    with new_warehouse(db) as con:
        fill_seed_003(con)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    monkeypatch.setenv("KOKUHO_EXPORT_MEMORY", value)
    out = export_summary(db, 2024, tmp_path / "summary.xlsx", prefecture_code="20")
    assert "成果指標" in load_workbook(out, read_only=True).sheetnames
    assert [p.name for p in temporary.iterdir() if p.name.startswith("kokuho-export-")] == []
