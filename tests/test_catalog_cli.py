"""`kokuho catalog`: check, new (next year's catalog from this year's) and the round trip through an
Excel workbook, run in-process through click with real files (.yaml, .xlsx)."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner, Result

from kokuho import catalog_authoring
from kokuho.catalog import Catalog, load_catalog
from kokuho.catalog_authoring import ITEM_COLUMNS, ITEM_SHEET, same_catalog
from kokuho.cli import cli
from kokuho.config import data_dir, project_root

TEST_CATALOGS = project_root() / "tests" / "catalogs"
ALL_CATALOGS = [*sorted((data_dir() / "catalogs").glob("*.yaml")), TEST_CATALOGS / "33_2030.yaml"]


@pytest.fixture(autouse=True)
def _test_catalogs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOKUHO_CATALOG_DIR", str(TEST_CATALOGS))


def kokuho(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def without_path(catalog: Catalog) -> Catalog:
    return replace(catalog, path=Path())


# ---- check -------------------------------------------------------------------------------------


def test_check_prints_the_counts_of_good_catalogs() -> None:
    result = kokuho("catalog", "check", *ALL_CATALOGS)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(ALL_CATALOGS)
    assert all("問題なし" in line for line in lines)
    typed = lines[-1]
    assert typed.startswith(f"{TEST_CATALOGS / '33_2030.yaml'}: 問題なし")
    for part in (
        "大項目 1",
        "小項目 2",
        "項目 17（check 5、choice 2、integer 4、amount 1、percent 1、text 2、period 1、status 1）",
        "尋ねる年度 R9～R17",
        "市町村グループ 1",
        "数値目標 1",
        "指標 0",
    ):
        assert part in typed, part
    assert "項目 150（check 150）" in lines[1]


def test_check_prints_errors_with_file_and_line_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "33_2030.yaml"
    text = (TEST_CATALOGS / "33_2030.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace("      label: 担当係\n", "      lable: 担当係\n"), encoding="utf-8")
    line = next(n for n, row in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1) if "T_TEXT" in row)
    result = kokuho("catalog", "check", ALL_CATALOGS[0], bad, tmp_path / "none.yaml")
    assert result.exit_code == 1
    assert "問題なし" in result.output  # the good file is still reported
    assert f"{bad}:{line}: 'lable' は知らないキーです" in result.output
    assert f"{tmp_path / 'none.yaml'}: ファイルがありません" in result.output


# ---- new ---------------------------------------------------------------------------------------


def test_new_makes_next_years_catalog_with_the_same_ids(tmp_path: Path) -> None:
    out = tmp_path / "11_2025.yaml"
    result = kokuho("catalog", "new", "--from", "11_2024", "--year", "2025", "--out", out)
    assert result.exit_code == 0, result.output
    assert f"作成しました: {out}" in result.output
    source, made = load_catalog(data_dir() / "catalogs" / "11_2024.yaml"), load_catalog(out)
    assert (made.fiscal_year, made.catalog_version, made.survey_id) == (2025, "2025.1", "11-2025-2025.1")
    assert made.previous_year_ids == {}
    # Everything else is this year's: items, IDs, labels, leads, targets.
    assert without_path(replace(made, fiscal_year=2024, catalog_version="2024.1")) == without_path(source)
    assert [s.lead for s in made.sections] == [s.lead for s in source.sections]
    assert made.sections[2].subsection_leads == source.sections[2].subsection_leads != ()


def test_new_keeps_comments_and_moves_year_ranges_with_the_year(tmp_path: Path) -> None:
    src = tmp_path / "33_2030.yaml"
    shutil.copy(TEST_CATALOGS / "33_2030.yaml", src)
    result = kokuho("catalog", "new", "--from", src, "--year", "2031", "--version", "2031.2")
    assert result.exit_code == 0, result.output
    out = tmp_path / "33_2031.yaml"  # next to the source, named after prefecture and year
    text = out.read_text(encoding="utf-8")
    assert "# A test survey with every item type" in text
    assert text.startswith("# 令和13年度（2031年度）: 33_2030.yaml から kokuho catalog new で作成")
    made = load_catalog(out)
    assert made.catalog_version == "2031.2"
    percent = made.measure("T_PERCENT")
    assert percent.years(made.fiscal_year) == list(range(2028, 2037))  # R3..R11 of 2030 → one later
    assert made.measure("T_CHOICE").options == load_catalog(src).measure("T_CHOICE").options


def test_new_leaves_previous_year_ids_empty(tmp_path: Path) -> None:
    """IDs are kept, so next year matches this year by ID: the source's own mapping (to the year
    before it) must not be carried over."""
    src = tmp_path / "11_2024.yaml"
    text = (data_dir() / "catalogs" / "11_2024.yaml").read_text(encoding="utf-8")
    src.write_text(text + "previous_year_ids:\n  M003: M099\n  M004: M098\n", encoding="utf-8")
    assert load_catalog(src).previous_year_ids == {"M003": "M099", "M004": "M098"}
    result = kokuho("catalog", "new", "--from", src, "--year", "2025")
    assert result.exit_code == 0, result.output
    made = load_catalog(tmp_path / "11_2025.yaml")
    assert made.previous_year_ids == {}
    assert "previous_year_ids" not in (tmp_path / "11_2025.yaml").read_text(encoding="utf-8")


def test_new_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "33_2031.yaml"
    out.write_text("既存\n", encoding="utf-8")
    result = kokuho("catalog", "new", "--from", "33_2030", "--year", "2031", "--out", out)
    assert result.exit_code == 1
    assert "既にあります" in result.output and "--force" in result.output
    assert out.read_text(encoding="utf-8") == "既存\n"
    forced = kokuho("catalog", "new", "--from", "33_2030", "--year", "2031", "--out", out, "--force")
    assert forced.exit_code == 0, forced.output
    assert load_catalog(out).fiscal_year == 2031


@pytest.mark.parametrize("name", ["11_2099", "no-such-catalog"])
def test_new_names_a_source_it_cannot_find(tmp_path: Path, name: str) -> None:
    result = kokuho("catalog", "new", "--from", name, "--year", "2100", "--out", tmp_path / "x.yaml")
    assert result.exit_code == 1
    assert name in result.output and "見つかりません" in result.output
    assert not (tmp_path / "x.yaml").exists()


# ---- Excel round trip --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_CATALOGS, ids=lambda p: p.name)
def test_round_trip_through_excel_gives_the_same_catalog(tmp_path: Path, path: Path) -> None:
    book, out = tmp_path / "book.xlsx", tmp_path / path.name
    result = kokuho("catalog", "to-excel", path, "--out", book)
    assert result.exit_code == 0, result.output
    result = kokuho("catalog", "from-excel", book, "--out", out)
    assert result.exit_code == 0, result.output
    assert same_catalog(load_catalog(out), load_catalog(path))


def test_the_workbook_has_japanese_headers_and_one_row_per_item(tmp_path: Path) -> None:
    book = tmp_path / "book.xlsx"
    assert kokuho("catalog", "to-excel", TEST_CATALOGS / "33_2030.yaml", "--out", book).exit_code == 0
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == [
        "基本情報",
        "項目",
        "グループ",
        "数値目標",
        "指標",
        "ルール",
        "前年度ID",
        "運営方針記載",
    ]
    ws = wb[ITEM_SHEET]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["ID", "大項目番号", "大項目"] and "項目名" in header and "型" in header
    rows = {r[0]: dict(zip(header, r, strict=False)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert list(rows) == [i.id for i in load_catalog(TEST_CATALOGS / "33_2030.yaml").items]
    assert rows["T_CHOICE"]["選択肢（コード:名称 を1行ずつ）"] == "mail:郵送\nvisit:訪問\nphone:電話"
    assert rows["T_CHOICES"]["複数選択"] == "○"
    assert rows["T_CHECK_A"]["親ID"] == "T_CHECK"
    assert rows["T_IF_CHOICE"]["対象（グループ名 または 項目ID=回答,回答）"] == "T_CHOICE=visit"
    assert rows["T_CLINIC"]["対象（グループ名 または 項目ID=回答,回答）"] == "direct_clinic"
    assert rows["T_PERCENT"]["（参考）尋ねる年度"] == "R9～R17"
    assert wb["グループ"]["C2"].value == "332038\n332097\n332101"


def _edit(
    book: Path, changes: dict[tuple[str, str], object], add: list[dict[str, object]] | None = None
) -> None:
    """Change cells of the item sheet by (ID, header), as an analyst would in Excel."""
    wb = openpyxl.load_workbook(book)
    ws = wb[ITEM_SHEET]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        for (item_id, column), value in changes.items():
            if row[0].value == item_id:
                row[header.index(column)].value = value
    for new in add or []:
        ws.append([new.get(h) for h in header])
    wb.save(book)


def test_an_edited_label_and_a_new_row_come_back_with_their_ids(tmp_path: Path) -> None:
    source = data_dir() / "catalogs" / "11_2024.yaml"
    book, out = tmp_path / "book.xlsx", tmp_path / "11_2024.yaml"
    kokuho("catalog", "to-excel", source, "--out", book)
    _edit(
        book,
        {("M003", "項目名"): "クレジットカード収納"},
        add=[
            {
                "ID": "M999",
                "大項目番号": 1,
                "大項目": "保険税関係",
                "小項目番号": 1,
                "小項目": "納期内納付の促進",
            }
            | {"型": "integer", "項目名": "口座振替の件数", "単位": "件"}
        ],
    )
    result = kokuho("catalog", "from-excel", book, "--out", out, "--base", source)
    assert result.exit_code == 0, result.output
    assert "項目名の変更: M003 クレジット収納 → クレジットカード収納" in result.output
    assert "追加: M999 口座振替の件数" in result.output
    made, before = load_catalog(out), load_catalog(source)
    assert made.measure("M003").label == "クレジットカード収納"
    assert made.measure("M003").table_id == before.measure("M003").table_id
    assert made.measure("M999").type == "integer" and made.measure("M999").unit == "件"
    assert [i.id for i in made.items if i.id != "M999"] == [i.id for i in before.items]
    assert re.search(
        r"^    - id: M003\n      label: クレジットカード収納$", out.read_text(encoding="utf-8"), re.M
    )


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    src = tmp_path / "33_2030.yaml"
    text = (TEST_CATALOGS / "33_2030.yaml").read_text(encoding="utf-8")
    src.write_text(
        text.replace("label: 担当係", 'label: \'=HYPERLINK("http://x","担当係")\''), encoding="utf-8"
    )
    book, out = tmp_path / "book.xlsx", tmp_path / "back.yaml"
    assert kokuho("catalog", "to-excel", src, "--out", book).exit_code == 0
    ws = openpyxl.load_workbook(book)[ITEM_SHEET]
    cell = next(row[11] for row in ws.iter_rows(min_row=2) if row[0].value == "T_TEXT")
    assert [h for h, _k in ITEM_COLUMNS][11] == "項目名"
    assert cell.data_type == "s" and cell.quotePrefix
    assert cell.value == '=HYPERLINK("http://x","担当係")'
    assert kokuho("catalog", "from-excel", book, "--out", out).exit_code == 0
    assert load_catalog(out).measure("T_TEXT").label == '=HYPERLINK("http://x","担当係")'


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({("T_TEXT", "型"): "yesno"}, "型 'yesno' は知らない型です"),
        ({("T_TEXT", "ID"): None}, "ID がありません"),
        ({("T_TEXT", "ID"): "T_CHOICE"}, "ID T_CHOICE が重複しています（"),
        ({("T_TEXT", "親ID"): "T_NOPE"}, "親ID T_NOPE の項目がこの行より上にありません"),
        ({("T_TEXT", "最小"): "たくさん"}, "最小 は数値でなければなりません"),
        ({("T_CHOICE", "選択肢（コード:名称 を1行ずつ）"): "郵送"}, "「コード:名称」の形で"),
        ({("T_TEXT", "小項目"): "別の名前"}, "小項目 1-2 の名称が"),
        # Found by the strict loader, reported at the workbook's row.
        (
            {("T_TEXT", "対象（グループ名 または 項目ID=回答,回答）"): "nogroup"},
            "グループ nogroup が 'groups' にありません",
        ),
        (
            {("T_TEXT", "対象（グループ名 または 項目ID=回答,回答）"): "T_CHOICE=fax"},
            "回答 'fax' は T_CHOICE の回答にありません",
        ),
        ({("T_TEXT", "年度から（調査年度との差）"): 3}, "'years' は from ≦ to"),
        ({("T_TEXT", "小項目番号"): 5}, "'no' は連番で 3 のはずですが 5 です"),
        ({("T_TEXT", "大項目番号"): 4}, "'no' は連番で 2 のはずですが 4 です"),
    ],
    ids=[
        "unknown type",
        "missing id",
        "duplicate id",
        "unknown parent",
        "minimum not a number",
        "option without code",
        "inconsistent heading",
        "unknown group",
        "answer not an option",
        "impossible years",
        "subsection number gap",
        "section number gap",
    ],
)
def test_a_bad_row_is_named_by_sheet_and_row(
    tmp_path: Path, changes: dict[tuple[str, str], object], message: str
) -> None:
    book, out = tmp_path / "book.xlsx", tmp_path / "back.yaml"
    kokuho("catalog", "to-excel", TEST_CATALOGS / "33_2030.yaml", "--out", book)
    ws = openpyxl.load_workbook(book)[ITEM_SHEET]
    item_id = next(iter(changes))[0]
    row = next(r[0].row for r in ws.iter_rows(min_row=2) if r[0].value == item_id)
    _edit(book, changes)
    result = kokuho("catalog", "from-excel", book, "--out", out)
    assert result.exit_code == 1
    assert f"book.xlsx: シート「項目」{row}行目" in result.output, result.output
    assert message in result.output
    assert not out.exists()


def test_a_file_that_is_no_workbook_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "book.xlsx"
    fake.write_text("ID,項目名\nM001,口座振替\n", encoding="utf-8")
    result = kokuho("catalog", "from-excel", fake, "--out", tmp_path / "x.yaml")
    assert result.exit_code == 1
    assert "Excel ブック（.xlsx）として読めません" in result.output
    assert not (tmp_path / "x.yaml").exists()


def test_too_many_rows_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = tmp_path / "book.xlsx"
    kokuho("catalog", "to-excel", TEST_CATALOGS / "33_2030.yaml", "--out", book)
    monkeypatch.setattr(catalog_authoring, "MAX_ROWS", 10)  # the workbook has 14 item rows
    result = kokuho("catalog", "from-excel", book, "--out", tmp_path / "x.yaml")
    assert result.exit_code == 1
    assert "シート「項目」の行が多すぎます（10行まで）" in result.output


def test_a_workbook_without_the_item_sheet_is_refused(tmp_path: Path) -> None:
    book = tmp_path / "book.xlsx"
    kokuho("catalog", "to-excel", TEST_CATALOGS / "33_2030.yaml", "--out", book)
    wb = openpyxl.load_workbook(book)
    del wb[ITEM_SHEET]
    wb.save(book)
    result = kokuho("catalog", "from-excel", book, "--out", tmp_path / "x.yaml")
    assert result.exit_code == 1
    assert "シート「項目」がありません" in result.output


def test_sheets_missing_from_the_workbook_come_from_the_base(tmp_path: Path) -> None:
    source = data_dir() / "catalogs" / "11_2024.yaml"
    book, out = tmp_path / "book.xlsx", tmp_path / "11_2024.yaml"
    kokuho("catalog", "to-excel", source, "--out", book)
    wb = openpyxl.load_workbook(book)
    for name in ("数値目標", "指標", "運営方針記載"):  # the indicators name the targets
        del wb[name]
    wb.save(book)
    without = kokuho("catalog", "from-excel", book, "--out", out)
    assert without.exit_code == 0, without.output
    assert load_catalog(out).numeric_targets == () and load_catalog(out).sections[0].lead is None
    assert load_catalog(out).indicators == ()
    result = kokuho("catalog", "from-excel", book, "--out", out, "--base", source)
    assert result.exit_code == 0, result.output
    assert same_catalog(load_catalog(out), load_catalog(source))


def test_a_bad_setting_is_named_by_its_row_of_the_settings_sheet(tmp_path: Path) -> None:
    book = tmp_path / "book.xlsx"
    kokuho("catalog", "to-excel", TEST_CATALOGS / "33_2030.yaml", "--out", book)
    wb = openpyxl.load_workbook(book)
    ws = wb["基本情報"]
    assert ws["A2"].value == "都道府県コード"
    ws["B2"] = "99"
    wb.save(book)
    result = kokuho("catalog", "from-excel", book, "--out", tmp_path / "x.yaml")
    assert result.exit_code == 1
    assert "book.xlsx: シート「基本情報」2行目: 都道府県コード '99' は存在しません" in result.output


def test_new_from_a_catalog_in_another_layout_writes_it_out_in_full(tmp_path: Path) -> None:
    """A catalog written as JSON (YAML accepts it) has no `fiscal_year:` line to change: the new
    catalog is written from the loaded one instead, and is still equal but for year and version."""
    src = tmp_path / "33_2030.yaml"
    data = yaml.safe_load((TEST_CATALOGS / "33_2030.yaml").read_text(encoding="utf-8"))
    src.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = kokuho("catalog", "new", "--from", src, "--year", "2031", "--version", "it's 2031")
    assert result.exit_code == 0, result.output
    made = load_catalog(tmp_path / "33_2031.yaml")
    assert made.catalog_version == "it's 2031"
    assert without_path(replace(made, fiscal_year=2030, catalog_version="2030.1")) == without_path(
        load_catalog(src)
    )
    assert "fiscal_year: 2031\n" in (tmp_path / "33_2031.yaml").read_text(encoding="utf-8")
