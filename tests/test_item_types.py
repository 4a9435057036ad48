"""Typed items, input side: the template of the test survey with every item type
(tests/catalogs/33_2030.yaml), filled as a municipality would, read back by the real extractor,
staged and validated. Quirks are tolerated with one expected staged value each; bad input is an
issue naming file, sheet and cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from demo.workbook import Formatted, fill, row_index, sheet_by_key
from extract.container import Limits
from extract.reader import extract_file
from kokuho import codelists, layout
from kokuho.catalog import Catalog, load_catalog
from kokuho.municipalities import lookup
from kokuho.templates import NUMBER_FORMATS, _instructions, write_template
from transform.batch import StagingBatch
from transform.staging import build_staging

CATALOG_DIR = Path(__file__).parent / "catalogs"
SECTION = layout.section_sheet_key(1)
SHEET = "1 各種の項目"
IN_GROUP = "332038"  # 津山市: in the catalog's group direct_clinic
OUTSIDE = "331007"  # 岡山市: not in it
ANSWER = layout.SECTION_COLUMNS["answer"]
BUDGET = layout.SECTION_COLUMNS["budget_line"]
GREY = "00EDEDED"


@pytest.fixture(autouse=True)
def _test_catalogs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOKUHO_CATALOG_DIR", str(CATALOG_DIR))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CATALOG_DIR / "33_2030.yaml")


@pytest.fixture(scope="module")
def templates(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("templates")
    paths = {}
    for code in (IN_GROUP, OUTSIDE):
        muni = lookup(code)
        paths[code] = write_template(
            catalog, muni, folder / layout.template_file_name(muni.code, muni.name, catalog.fiscal_year)
        )
    return paths


@pytest.fixture(scope="module")
def gx_ready() -> None:
    from kokuho.config import apply_offline_env

    apply_offline_env()
    from expectations.validate import warm_up

    warm_up()


Entries = list[tuple[str, object]]  # (row key, answer cell value)


def _filled(templates: dict[str, Path], folder: Path, entries: Entries, code: str = OUTSIDE) -> Path:
    wb = openpyxl.load_workbook(templates[code])
    fill(wb, [(SECTION, key, ANSWER, value) for key, value in entries])
    path = folder / templates[code].name
    wb.save(path)
    return path


def _staged(catalog: Catalog, path: Path) -> StagingBatch:
    return build_staging([extract_file(path, Limits())], catalog)


def _cell_of(templates: dict[str, Path], key: str) -> str:
    wb = openpyxl.load_workbook(templates[OUTSIDE])
    return f"{ANSWER}{row_index(sheet_by_key(wb, SECTION))[key]}"


def _item(key_id: str, year: int = 2030) -> str:
    return layout.item_key(key_id, year)


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("item:T_AMOUNT:2030", ("T_AMOUNT", 2030)),
        ("item:T:X:2029", ("T:X", 2029)),
        ("item:T_AMOUNT:２０３０", None),
        ("item:T_AMOUNT:1999", None),
        ("item::2030", None),
        ("item:T_AMOUNT", None),
        ("measure:T_AMOUNT:2030", None),
        ("item:T_AMOUNT:2030 ", None),
        ("item:" + "x" * 300 + ":2030", None),
    ],
)
def test_item_keys_are_parsed_bounded(key: str, expected: tuple[str, int] | None) -> None:
    assert layout.parse_item_key(key) == expected
    if expected:
        assert layout.item_key(*expected) == key


# --------------------------------------------------------------------------------------------
# The template
# --------------------------------------------------------------------------------------------


def _rows(path: Path) -> tuple[Any, dict[str, int]]:
    wb = openpyxl.load_workbook(path)
    ws = sheet_by_key(wb, SECTION)
    return ws, row_index(ws)


def _validation_of(ws: Any, cell: str) -> Any:
    found = [dv for dv in ws.data_validations.dataValidation if cell in dv.sqref]
    assert len(found) == 1, (cell, found)
    return found[0]


def test_template_has_one_row_per_item_and_year_in_table_order(
    catalog: Catalog, templates: dict[str, Path]
) -> None:
    ws, rows = _rows(templates[OUTSIDE])
    keyed = [k for k in rows if k.startswith((layout.ITEM_PREFIX, layout.MEASURE_PREFIX))]
    expected = [
        layout.measure_key(i.id) if i.type == "check" else layout.item_key(i.id, y)
        for i in catalog.items
        for y in ([catalog.fiscal_year] if i.type == "check" else i.years(catalog.fiscal_year))
    ]
    assert keyed == expected
    assert [ws[f"C{rows[_item('T_PERCENT', y)]}"].value for y in (2027, 2035)] == [
        "特定健診受診率（R9）",
        "特定健診受診率（R17）",
    ]
    assert ws[f"C{rows[_item('T_CHOICE')]}"].value == "口座振替の勧奨方法"  # the survey year only
    assert ws[f"C{rows[layout.measure_key('T_CHECK_A')]}"].value == "　└ 国保連へのレセプト点検"
    assert ws[f"C{rows[_item('T_VISITS_HOME')]}"].value == "　└ 訪問による指導"


@pytest.mark.parametrize(
    ("key", "number_format"),
    [
        (_item("T_INTEGER"), NUMBER_FORMATS["integer"]),
        (_item("T_AMOUNT"), '#,##0;"△"#,##0'),
        (_item("T_PERCENT", 2027), "0.0"),
        (_item("T_TEXT"), "@"),
        (_item("T_PERIOD"), "@"),
    ],
)
def test_number_formats_per_type(templates: dict[str, Path], key: str, number_format: str) -> None:
    ws, rows = _rows(templates[OUTSIDE])
    cell = ws[f"{ANSWER}{rows[key]}"]
    assert cell.number_format == number_format
    assert cell.protection.locked is False
    assert ws[f"{BUDGET}{rows[key]}"].fill.fgColor.rgb == GREY  # no budget line for typed items


@pytest.mark.parametrize(
    ("key", "kind", "formula", "words"),
    [
        (_item("T_CHOICE"), "list", '"郵送,訪問,電話"', ["該当なし"]),
        (_item("T_STATUS"), "list", '"新規,継続"', []),
        (_item("T_CHOICES"), None, None, ["ホームページ", "広報紙", "SNS", "「、」"]),
        (_item("T_INTEGER"), None, None, ["件", "0件以上"]),
        (_item("T_AMOUNT"), None, None, ["千円", "△"]),
        (_item("T_PERCENT", 2030), None, None, ["百分率", "以上", "0～100%"]),
        (_item("T_PERIOD"), None, None, ["通年", "随時", "５～３月", "９月"]),
        (_item("T_IF_CHOICE"), None, None, ["「訪問」"]),
    ],
)
def test_answer_cell_input_per_type(
    templates: dict[str, Path], key: str, kind: str | None, formula: str | None, words: list[str]
) -> None:
    ws, rows = _rows(templates[OUTSIDE])
    dv = _validation_of(ws, f"{ANSWER}{rows[key]}")
    assert dv.type == kind
    assert dv.formula1 == formula
    assert dv.showInputMessage
    for word in words:
        assert word in dv.prompt, (word, dv.prompt)


def test_group_item_is_greyed_only_outside_the_group(templates: dict[str, Path]) -> None:
    key = layout.measure_key("T_CLINIC")
    ws, rows = _rows(templates[OUTSIDE])
    cell = f"{ANSWER}{rows[key]}"
    assert ws[cell].fill.fgColor.rgb == GREY
    assert "対象外" in _validation_of(ws, cell).prompt
    ws, rows = _rows(templates[IN_GROUP])
    cell = f"{ANSWER}{rows[key]}"
    assert ws[cell].fill.fgColor.rgb != GREY
    assert _validation_of(ws, cell).formula1 == f'"{codelists.ANSWER_YES}"'


def test_instructions_explain_the_types_only_when_there_are_some(
    catalog: Catalog, saitama_catalog: Catalog
) -> None:
    typed = "\n".join(text for _, text in _instructions(catalog))
    for word in ("該当なし", "△148,507", "5～3月", "「、」", "新規"):
        assert word in typed
    saitama = "\n".join(text for _, text in _instructions(saitama_catalog))
    assert "該当なし" not in saitama and "選択肢" not in saitama


# --------------------------------------------------------------------------------------------
# Quirks: each one value as written -> one staged result
# --------------------------------------------------------------------------------------------

QUIRKS: list[tuple[str, object, dict[str, object]]] = [
    (_item("T_AMOUNT"), "１２３４", {"value": 1234.0}),
    (_item("T_AMOUNT"), "1,234", {"value": 1234.0}),
    (_item("T_AMOUNT"), "1,234千円", {"value": 1234.0}),
    (_item("T_AMOUNT"), " 1,234 ", {"value": 1234.0}),
    (_item("T_AMOUNT"), "△148,507", {"value": -148507.0, "raw_text": "△148,507"}),
    (_item("T_AMOUNT"), "▲148,507", {"value": -148507.0}),
    (_item("T_AMOUNT"), "-148507", {"value": -148507.0}),
    (_item("T_AMOUNT"), -148507, {"value": -148507.0}),
    (_item("T_AMOUNT"), "－", {"value": None, "qualifier": None, "not_applicable": False}),
    (_item("T_AMOUNT"), "該当なし", {"value": None, "not_applicable": True}),
    (_item("T_INTEGER"), "１２件", {"value": 12.0}),
    (_item("T_INTEGER"), 12, {"value": 12.0}),
    (_item("T_PERCENT", 2027), "３４．０％", {"value": 34.0}),
    (_item("T_PERCENT", 2027), "34.0%", {"value": 34.0}),
    (_item("T_PERCENT", 2027), Formatted(0.34, "0.0%"), {"value": 34.0, "raw_text": "34%"}),
    (_item("T_PERCENT", 2030), "95％以上", {"value": 95.0, "qualifier": "以上"}),
    (_item("T_PERCENT", 2030), "【未設定】", {"value": None, "qualifier": "未設定"}),
    (_item("T_PERIOD"), "通年", {"value_text": "通年", "period_start": None, "period_end": None}),
    (_item("T_PERIOD"), "随時", {"value_text": "随時", "period_start": None}),
    (_item("T_PERIOD"), "９月", {"value_text": "9-9", "period_start": 9, "period_end": 9}),
    (_item("T_PERIOD"), "５～３月", {"value_text": "5-3", "period_start": 5, "period_end": 3}),
    (_item("T_PERIOD"), "5月～3月", {"value_text": "5-3", "period_start": 5, "period_end": 3}),
    (
        _item("T_PERIOD"),
        "新年度当初５月・随時",
        {"value_text": "5-5,随時", "period_start": 5, "period_end": 5, "raw_text": "新年度当初５月・随時"},
    ),
    (_item("T_PERIOD"), "該当なし", {"value_text": None, "not_applicable": True}),
    (_item("T_CHOICE"), "訪問", {"value_text": "visit"}),
    (_item("T_CHOICE"), "ＰＨＯＮＥ", {"value_text": "phone"}),
    (_item("T_CHOICE"), " 郵 送 ", {"value_text": "mail"}),
    (_item("T_CHOICE"), "該当なし", {"value_text": None, "not_applicable": True}),
    (_item("T_CHOICES"), "ＳＮＳ、ホームページ", {"value_text": "web,sns"}),
    (_item("T_CHOICES"), "広報紙・sns", {"value_text": "paper,sns"}),
    (_item("T_CHOICES"), "ホームページ\n広報紙", {"value_text": "web,paper"}),
    (_item("T_CHOICES"), "web, paper, sns", {"value_text": "web,paper,sns"}),
    (_item("T_STATUS"), "新", {"value_text": "new"}),
    (_item("T_STATUS"), "継続", {"value_text": "continued"}),
    (_item("T_TEXT"), "保険年金課　収納係", {"value_text": "保険年金課 収納係"}),
]


@pytest.mark.parametrize(("key", "written", "expected"), QUIRKS, ids=[f"{k}={w!r}" for k, w, _ in QUIRKS])
def test_quirk_is_tolerated(
    catalog: Catalog,
    templates: dict[str, Path],
    tmp_path: Path,
    key: str,
    written: object,
    expected: dict[str, object],
) -> None:
    batch = _staged(catalog, _filled(templates, tmp_path, [(key, written)]))
    assert batch.issues.empty, batch.issues["message"].tolist()
    item_id, year = layout.parse_item_key(key) or ("", 0)
    rows = batch.item_values[
        (batch.item_values["item_id"] == item_id) & (batch.item_values["value_year"] == year)
    ]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["cell"] == _cell_of(templates, key)
    assert row["sheet"] == SHEET
    for column, value in expected.items():
        got = row[column]
        assert (None if pd.isna(got) else got) == value, (column, got)


def test_not_applicable_on_a_check_item(catalog: Catalog, templates: dict[str, Path], tmp_path: Path) -> None:
    path = _filled(templates, tmp_path, [(layout.measure_key("T_COUNT_ONLY"), "該当なし")])
    batch = _staged(catalog, path)
    assert batch.issues.empty
    row = batch.responses.set_index("measure_id").loc["T_COUNT_ONLY"]
    assert bool(row["not_applicable"]) is True and bool(row["implemented"]) is False
    blank = batch.responses.set_index("measure_id").loc["T_CHECK"]
    assert bool(blank["not_applicable"]) is False and bool(blank["implemented"]) is False


GOOD_FILL: Entries = [
    (layout.measure_key("T_CHECK"), "○"),
    (layout.measure_key("T_CHECK_A"), "○"),
    (layout.measure_key("T_CLINIC"), "該当なし"),
    (_item("T_CHOICE"), "訪問"),
    (_item("T_CHOICES"), "ＳＮＳ、ホームページ"),
    (_item("T_INTEGER"), "１２件"),
    (_item("T_AMOUNT", 2029), "△148,507"),
    (_item("T_AMOUNT"), "1,234"),
    (_item("T_PERCENT", 2027), "３４．０％"),
    (_item("T_PERCENT", 2028), Formatted(0.35, "0.0%")),
    (_item("T_PERIOD"), "新年度当初５月・随時"),
    (_item("T_STATUS"), "継続"),
    (_item("T_TEXT"), "収納係"),
    (_item("T_IF_CHOICE"), "保健師"),
    (_item("T_VISITS"), 10),
    (_item("T_VISITS_HOME"), 4),
    (_item("T_VISITS_PHONE"), "６人"),
]


def test_a_well_filled_workbook_passes_staging_and_validation(
    gx_ready: None, catalog: Catalog, templates: dict[str, Path], tmp_path: Path
) -> None:
    from expectations.validate import validate_batch

    batch = _staged(catalog, _filled(templates, tmp_path, GOOD_FILL))
    assert batch.issues.empty, batch.issues["message"].tolist()
    outcome = validate_batch(batch, catalog)
    assert outcome.issues.empty, outcome.issues["message"].tolist()
    assert "stg_item_values" in outcome.results and outcome.results["stg_item_values"].rows == len(
        batch.item_values
    )
    values = batch.item_values.set_index(["item_id", "value_year"])
    assert values.loc[("T_VISITS_PHONE", 2030), "parent_value"] == 10.0
    assert values.loc[("T_VISITS_PHONE", 2030), "breakdown_total"] == 10.0
    assert values.loc[("T_CHOICES", 2030), "item_answer"] == "T_CHOICES:web,sns"
    responses = batch.responses.set_index("measure_id")
    assert responses.loc["T_CHECK_A", "parent_implemented"] == True  # noqa: E712  (pandas boolean)
    assert pd.isna(responses.loc["T_CHECK", "parent_implemented"])


# --------------------------------------------------------------------------------------------
# Bad input: its issue code on its sheet and cell
# --------------------------------------------------------------------------------------------

BAD: list[tuple[str, Entries, str, list[str]]] = [
    ("a letter in an amount", [(_item("T_AMOUNT"), "12a")], "ITEM_UNPARSEABLE", [_item("T_AMOUNT")]),
    ("a decimal in an integer", [(_item("T_INTEGER"), "1.5")], "ITEM_UNPARSEABLE", [_item("T_INTEGER")]),
    ("month 13", [(_item("T_PERIOD"), "13月")], "ITEM_UNPARSEABLE", [_item("T_PERIOD")]),
    ("month 13 in a range", [(_item("T_PERIOD"), "５～１３月")], "ITEM_UNPARSEABLE", [_item("T_PERIOD")]),
    ("an option not in the list", [(_item("T_CHOICE"), "FAX")], "OPTION_NOT_IN_LIST", [_item("T_CHOICE")]),
    (
        "two options for a single choice",
        [(_item("T_CHOICE"), "郵送、訪問")],
        "OPTION_NOT_IN_LIST",
        [_item("T_CHOICE")],
    ),
    (
        "one unknown option among several",
        [(_item("T_CHOICES"), "SNS、テレビ")],
        "OPTION_NOT_IN_LIST",
        [_item("T_CHOICES")],
    ),
    ("a status not in the list", [(_item("T_STATUS"), "廃止")], "OPTION_NOT_IN_LIST", [_item("T_STATUS")]),
    (
        "a percent over 100",
        [(_item("T_PERCENT", 2030), "120")],
        "ITEM_OUT_OF_RANGE",
        [_item("T_PERCENT", 2030)],
    ),
    ("a negative count", [(_item("T_INTEGER"), "-3")], "ITEM_OUT_OF_RANGE", [_item("T_INTEGER")]),
    (
        "an answer outside the item's group",
        [(layout.measure_key("T_CLINIC"), "○")],
        "ANSWER_NOT_APPLICABLE",
        [layout.measure_key("T_CLINIC")],
    ),
    (
        "an answer where the condition item says otherwise",
        [(_item("T_CHOICE"), "郵送"), (_item("T_IF_CHOICE"), "保健師")],
        "ANSWER_NOT_APPLICABLE",
        [_item("T_IF_CHOICE")],
    ),
    (
        "an answer where the condition item is blank",
        [(_item("T_IF_CHOICE"), "保健師")],
        "ANSWER_NOT_APPLICABLE",
        [_item("T_IF_CHOICE")],
    ),
    (
        "a child ○ without the parent ○",
        [(layout.measure_key("T_CHECK_B"), "○")],
        "BREAKDOWN_INCONSISTENT",
        [layout.measure_key("T_CHECK_B")],
    ),
    (
        "children whose sum exceeds the parent",
        [(_item("T_VISITS"), 5), (_item("T_VISITS_HOME"), 4), (_item("T_VISITS_PHONE"), "３")],
        "BREAKDOWN_INCONSISTENT",
        [_item("T_VISITS_HOME"), _item("T_VISITS_PHONE")],
    ),
]


@pytest.mark.parametrize(("case", "entries", "code", "keys"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_an_issue_naming_sheet_and_cell(
    gx_ready: None,
    catalog: Catalog,
    templates: dict[str, Path],
    tmp_path: Path,
    case: str,
    entries: Entries,
    code: str,
    keys: list[str],
) -> None:
    from expectations.validate import validate_batch

    path = _filled(templates, tmp_path, entries)
    batch = _staged(catalog, path)
    outcome = validate_batch(batch, catalog)
    issues = [*batch.issues.to_dict("records"), *outcome.issues.to_dict("records")]
    assert {i["code"] for i in issues} == {code}, [i["message"] for i in issues]
    cells = sorted(_cell_of(templates, k) for k in keys)
    assert sorted(i["cell"] for i in issues) == cells
    for issue in issues:
        assert issue["sheet"] == SHEET
        assert (
            path.name in issue["message"] and SHEET in issue["message"] and issue["cell"] in issue["message"]
        )
        assert issue["hint"]


@pytest.mark.parametrize(
    ("code", "entries"),
    [
        (IN_GROUP, [(layout.measure_key("T_CLINIC"), "○")]),
        (OUTSIDE, [(layout.measure_key("T_CLINIC"), "該当なし")]),
        (OUTSIDE, [(_item("T_CHOICE"), "訪問"), (_item("T_IF_CHOICE"), "保健師")]),
        (OUTSIDE, [(_item("T_CHOICE"), "郵送"), (_item("T_IF_CHOICE"), "該当なし")]),
        (OUTSIDE, [(layout.measure_key("T_CHECK"), "○"), (layout.measure_key("T_CHECK_B"), "○")]),
    ],
)
def test_answers_where_the_item_applies_are_fine(
    catalog: Catalog, templates: dict[str, Path], tmp_path: Path, code: str, entries: Entries
) -> None:
    batch = _staged(catalog, _filled(templates, tmp_path, entries, code))
    assert batch.issues.empty, batch.issues["message"].tolist()


def test_unknown_item_row_is_reported(catalog: Catalog, templates: dict[str, Path], tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(templates[OUTSIDE])
    ws = sheet_by_key(wb, SECTION)
    row = row_index(ws)[_item("T_TEXT")]
    ws[f"A{row}"] = layout.item_key("T_TEXT", 2031)  # a year the item does not ask about
    ws[f"{ANSWER}{row}"] = "収納係"
    path = tmp_path / templates[OUTSIDE].name
    wb.save(path)
    issues = _staged(catalog, path).issues
    assert issues[["code", "sheet", "cell"]].values.tolist() == [["UNKNOWN_ITEM", SHEET, f"A{row}"]]


# --------------------------------------------------------------------------------------------
# Through `kokuho check`: the annotated copy marks the offending cells of typed items
# --------------------------------------------------------------------------------------------


def test_kokuho_check_sends_back_typed_items_with_marked_cells(
    templates: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextlib
    import io

    from kokuho.cli import main as kokuho_main

    folder = tmp_path / "returned"
    folder.mkdir()
    bad: Entries = [
        (_item("T_AMOUNT"), "12a"),
        (_item("T_PERIOD"), "13月"),
        (layout.measure_key("T_CLINIC"), "○"),
    ]
    path = _filled(templates, folder, bad)
    monkeypatch.setenv("KOKUHO_HOME", str(tmp_path / "home"))
    for name in ("KOKUHO_DB", "KOKUHO_INBOX", "KOKUHO_PREFECTURE", "KOKUHO_YEAR"):
        monkeypatch.delenv(name, raising=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = kokuho_main(
            ["check", str(path), "--prefecture", "33", "--year", "2030", "--quarantine", str(tmp_path / "q")]
        )
    assert code == 0
    text = out.getvalue()
    assert "[差戻し]" in text
    for code_name in ("ITEM_UNPARSEABLE", "ANSWER_NOT_APPLICABLE"):
        assert code_name in text
    (copy,) = (tmp_path / "q").rglob(f"返却用_{path.stem}.xlsx")
    ws = sheet_by_key(openpyxl.load_workbook(copy), SECTION)
    for key, _ in bad:
        cell = ws[_cell_of(templates, key)]
        assert cell.comment is not None and cell.comment.text, key


@pytest.mark.parametrize(("second", "issues"), [("継続", ["DUPLICATE_MEASURE"]), ("新規", [])])
def test_an_item_year_written_twice(
    catalog: Catalog, templates: dict[str, Path], tmp_path: Path, second: str, issues: list[str]
) -> None:
    wb = openpyxl.load_workbook(templates[OUTSIDE])
    ws = sheet_by_key(wb, SECTION)
    rows = row_index(ws)
    ws[f"{ANSWER}{rows[_item('T_STATUS')]}"] = "新規"
    copy = rows[_item("T_IF_CHOICE")]  # a later row keyed as the status item
    ws[f"A{copy}"] = _item("T_STATUS")
    ws[f"{ANSWER}{copy}"] = second
    path = tmp_path / templates[OUTSIDE].name
    wb.save(path)
    batch = _staged(catalog, path)
    assert batch.issues["code"].tolist() == issues
    assert batch.issues["cell"].tolist() == [f"{ANSWER}{copy}"] * len(issues)
    staged = batch.item_values[batch.item_values["item_id"] == "T_STATUS"]
    assert staged["value_text"].tolist() == ["new"]  # the first row in sheet order is kept
