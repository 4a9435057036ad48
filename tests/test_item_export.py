"""The summary workbook of a survey with typed items (test_item_views' Okayama-like fixture), read
back with openpyxl: seed 004's status strings, the R3…R11 targets table as written, the option
counts and the numeric items."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from test_item_views import G1, G2, G3, O1, O2, load_item_fixture

from load.export_data import catalog_target_labels, catalog_target_years
from load.export_excel import export_summary


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("item_export")
    db = load_item_fixture(directory)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KOKUHO_CATALOG_DIR", str(directory / "catalogs"))
        catalog_target_years.cache_clear()
        catalog_target_labels.cache_clear()
        try:
            return export_summary(db, 2024, directory / "summary.xlsx", prefecture_code="33")
        finally:
            catalog_target_years.cache_clear()
            catalog_target_labels.cache_clear()


def rows(path: Path, sheet: str) -> list[list[object]]:
    ws = load_workbook(path, read_only=True)[sheet]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_status_sheet_prints_seed_004_strings(workbook: Path) -> None:
    body = {r[2]: r for r in rows(workbook, "取組状況")[4:]}
    # (対象市町村数, 実施市町村数, 取組状況)
    assert body["レセプト点検の実施"][3:6] == [
        27,
        4,
        "4/27市町村（15%） 2市町村（増）（国保連へのレセプト点検：3市町村　レセプト点検員の独自雇用：1市町村）",
    ]
    assert body["国保直診施設の積極的活用"][3:6] == [3, 2, "2/3市町村（67%） 1市町村（増）"]
    assert body["点検結果の活用"][3:6] == [4, 2, "2/4市町村（50%）（新）"]
    assert body["電話勧奨の委託"][3:6] == [27, 3, "3市町村（減）"]


def test_targets_sheet_has_every_catalog_year_as_written(workbook: Path) -> None:
    table = rows(workbook, "数値目標")
    header = table[3]
    assert header == [
        "市町村コード",
        "市町村名",
        "目標項目",
        *[f"R{n}年度" for n in range(3, 12)],
        "備考",
    ]
    body = {r[0]: r for r in table[4:]}
    assert body[O1][3:7] == ["93.5", "93.6", "93.70%", "93.90%"]  # text, as written
    assert body[O1][7:12] == [None] * 5
    assert body[O1][12] == "R4年2月、目標収納率を策定"
    assert body[O2][6] == "95％以上"
    assert body[G1][6] == "前年度収納率を上回る"
    assert body[G2][6] == "【未設定】"
    assert body[G2][12] == "現時点で全体の収納率については未設定"
    assert body[G3][11] == "-"
    ws = load_workbook(workbook)["数値目標"]
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1


def test_option_counts_sheet(workbook: Path) -> None:
    table = rows(workbook, "選択肢の集計")
    assert table[3] == ["項目", "選択肢", "R6市町村数", "R5市町村数", "前年度比"]
    assert table[4:7] == [
        ["口座振替の勧奨方法", "郵送", 1, 2, "1市町村（減）"],
        ["口座振替の勧奨方法", "訪問", 2, 2, None],
        ["口座振替の勧奨方法", "電話", 0, None, "（新）"],
    ]
    assert ["新規・継続", "新規", 1, 0, "1市町村（増）"] in table


def test_number_sheets_with_the_year_before(workbook: Path) -> None:
    totals = rows(workbook, "数値項目")
    assert totals[3][:5] == ["項目", "単位", "年度", "回答市町村数", "合計"]
    assert ["訪問指導の件数", "件", "R6", 2, 15, 3, 12, 7.5, 10] in totals
    assert ["事業費", "千円", "R6", 1, 1234, 1234, 1234, 1234, -148507] in totals
    per = rows(workbook, "数値項目（市町村別）")
    assert [O1, "岡山市", "事業費", "千円", "R5", "△148,507", -148507, None, None] in per
    assert [O1, "岡山市", "事業費", "千円", "R6", "1,234", 1234, -148507, "補正後"] in per
    assert [O1, "岡山市", "特定健診受診率", "%", "令和6年度", "34.0%", 34, 33.5, None] in per


def test_typed_item_sheets_follow_the_targets_sheet(workbook: Path) -> None:
    names = load_workbook(workbook, read_only=True).sheetnames
    assert names.index("数値目標") < names.index("選択肢の集計") < names.index("数値項目")
    assert "数値項目（市町村別）" in names


# --- end to end: template, filled workbook, run, views, export ---------------------------------


def test_typed_items_from_filled_templates_to_views_and_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_server: None
) -> None:
    """tests/catalogs/33_2030.yaml: templates filled as municipalities would, a real run, the views
    and the workbook."""
    from openpyxl import load_workbook as open_workbook

    from demo.workbook import fill
    from flows.ingest import run_ingest
    from kokuho import layout
    from kokuho.catalog import load_catalog_for
    from kokuho.config import Settings
    from kokuho.municipalities import lookup
    from kokuho.templates import write_template

    catalogs = Path(__file__).resolve().parent / "catalogs"
    monkeypatch.setenv("KOKUHO_CATALOG_DIR", str(catalogs))
    catalog_target_years.cache_clear()
    catalog_target_labels.cache_clear()
    catalog = load_catalog_for("33", 2030)
    section = layout.section_sheet_key(1)
    answer = layout.SECTION_COLUMNS["answer"]

    def item(item_id: str, value: object, year: int = 2030) -> tuple[str, str, str, object]:
        return (section, layout.item_key(item_id, year), answer, value)

    def check(measure_id: str, value: str = "○") -> tuple[str, str, str, object]:
        return (section, layout.measure_key(measure_id), answer, value)

    def target(year: int, value: object) -> tuple[str, str, str, object]:
        return (layout.SHEET_TARGETS, layout.target_key("collection_rate_current", year), "D", value)

    answers = {
        G1: [
            check("T_CHECK"),
            check("T_CHECK_A"),
            check("T_CLINIC"),
            item("T_CHOICE", "訪問"),
            item("T_INTEGER", "１２"),
            item("T_AMOUNT", "△148,507", 2029),
            item("T_AMOUNT", "1,234"),
            item("T_PERIOD", "５～３月"),
            item("T_STATUS", "新規"),
            item("T_IF_CHOICE", "保健師"),
            target(2027, "93.70%"),
            target(2030, "95％以上"),
        ],
        G2: [check("T_CHECK"), check("T_CHECK_B"), check("T_CLINIC", "該当なし"), item("T_CHOICE", "郵送")],
        O1: [check("T_COUNT_ONLY"), item("T_PERIOD", "通年"), target(2030, "【未設定】")],
    }
    inbox = tmp_path / "inbox"
    for code, entries in answers.items():
        path = write_template(catalog, lookup(code), inbox / f"{code}.xlsx")
        wb = open_workbook(path)
        fill(wb, entries)
        wb.save(path)
    settings = Settings.resolve(
        home=tmp_path / "home",
        db_path=tmp_path / "home" / "kokuho.duckdb",
        inbox=inbox,
        prefecture_code="33",
        fiscal_year=2030,
    )
    summary = run_ingest(settings)
    db = settings.db_path
    from test_warehouse import query

    assert query(db, "SELECT count(*) FROM submissions WHERE status = 'accepted'") == [(3,)]
    texts = dict(query(db, "SELECT item_id, status_text || coalesce(breakdown_text, '') FROM item_summary"))
    assert texts["T_CLINIC"] == "1/3市町村（33%）"  # G2 answered 該当なし: in N, not in n
    assert (
        texts["T_CHECK"]
        == "2/27市町村（7%）（国保連へのレセプト点検：1市町村　レセプト点検員の独自雇用：1市町村）"
    )
    assert texts["T_COUNT_ONLY"] == "1市町村"
    assert query(
        db,
        "SELECT option_label, option_count FROM item_option_counts WHERE item_id = 'T_CHOICE' ORDER BY option_position",
    ) == [("郵送", 1), ("訪問", 1), ("電話", 0)]
    assert query(
        db,
        "SELECT value_year, raw_text, value, previous_year_value FROM item_numbers"
        f" WHERE item_id = 'T_AMOUNT' AND municipality_code = '{G1}' ORDER BY 1",
    ) == [(2029, "△148,507", -148507.0, None), (2030, "1,234", 1234.0, -148507.0)]
    workbook = next(Path(p) for p in summary["exports"] if Path(p).suffix == ".xlsx")
    table = rows(workbook, "数値目標")
    assert table[3][3:12] == [f"R{n}年度" for n in range(9, 18)]
    by_code = {r[0]: r for r in table[4:]}
    assert by_code[G1][3] == "93.70%" and by_code[G1][6] == "95％以上"
    assert by_code[O1][6] == "【未設定】"
    catalog_target_years.cache_clear()
    catalog_target_labels.cache_clear()
