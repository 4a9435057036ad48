"""build_staging: ExtractedWorkbooks built here as pure data (no Excel files), one per quirk."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import pandas as pd
import pyarrow as pa
import pytest

from extract.model import ExtractedWorkbook, RawIssue, RawRow, RawSheet
from kokuho import codelists, layout
from kokuho.catalog import Catalog
from transform.batch import StagingBatch
from transform.contracts import contract
from transform.staging import MAX_ISSUES_PER_FILE, build_staging, filename_codes

SHA = "ab" * 32
SEC = layout.SECTION_COLUMNS
TGT = layout.TARGET_COLUMNS


# --------------------------------------------------------------------------------------------
# A returned workbook as the extractor would hand it over, laid out like the template
# --------------------------------------------------------------------------------------------


def make_book(
    catalog: Catalog,
    *,
    code: object = "112011",
    name: object = "川越市",
    file_name: str | None = None,
    sha256: str = SHA,
    answers: Mapping[str, object] | None = None,
    budgets: dict[str, object] | None = None,
    own: dict[str, list[tuple[object, object]]] | None = None,
    targets: dict[tuple[str, int], object] | None = None,
    fiscal_year: int | None = None,
    version: str | None = None,
    prefecture: str | None = None,
    received_at: float = 1_717_200_000.0,
) -> ExtractedWorkbook:
    answers = answers or {}
    budgets = budgets or {}
    own = own or {}
    targets = targets or {}
    pref = prefecture or catalog.prefecture_code
    year = fiscal_year or catalog.fiscal_year
    ver = version or catalog.catalog_version
    sheets = []

    cover = [RawRow(1, layout.SHEET_COVER, {"B": "調査票"})]
    for n, (key, value) in enumerate(
        [
            (layout.META_FISCAL_YEAR, year),
            (layout.META_PREFECTURE, pref),
            (layout.META_CATALOG_VERSION, ver),
            (layout.META_SURVEY_ID, f"{pref}-{year}-{ver}"),
        ],
        start=3,
    ):
        cover.append(RawRow(n, layout.meta_key(key, value), {"B": "label", "C": str(value)}))
    code_cells = {"B": "市町村コード"} | ({"C": code} if code is not None else {})
    cover.append(RawRow(10, layout.META_MUNICIPALITY_CODE, code_cells))
    cover.append(RawRow(11, layout.META_MUNICIPALITY_NAME, {"B": "市町村名"} | ({"C": name} if name else {})))
    cover.append(RawRow(14, "contact:department", {"B": "担当課", "C": "国保年金課"}))
    cover.append(RawRow(15, "contact:person", {"B": "担当者名", "C": "埼玉　太郎"}))
    cover.append(RawRow(16, "contact:phone", {"B": "電話番号", "C": "049-000-0000"}))
    cover.append(RawRow(17, "contact:email", {"B": "メールアドレス", "C": "kokuho@example.jp"}))
    sheets.append(RawSheet(layout.COVER_TITLE, layout.SHEET_COVER, True, cover))
    sheets.append(
        RawSheet(
            layout.INSTRUCTIONS_TITLE,
            layout.SHEET_INSTRUCTIONS,
            True,
            [RawRow(1, "kokuho:instructions", {"B": "記入要領"})],
        )
    )

    for section in catalog.sections:
        rows = [RawRow(1, layout.section_sheet_key(section.no), {"B": "title"})]
        r = 3
        for table in catalog.tables_of(section.no):
            rows.append(RawRow(r, f"{layout.HEADING_PREFIX}{table.table_id}", {"B": table.heading}))
            rows.append(
                RawRow(
                    r + 1, layout.COLUMN_HEADER_KEY, {SEC[k]: v for k, v in layout.SECTION_HEADERS.items()}
                )
            )
            r += 2
            for measure in table.measures:
                cells: dict[str, object] = {"B": measure.item_no, "C": measure.label}
                if answers.get(measure.id) is not None:
                    cells["D"] = answers[measure.id]
                if budgets.get(measure.id) is not None:
                    cells["E"] = budgets[measure.id]
                rows.append(RawRow(r, layout.measure_key(measure.id), cells))
                r += 1
            rows.append(
                RawRow(r, f"{layout.HEADING_PREFIX}{table.table_id}", {"B": "<その他（独自の取組）>"})
            )
            r += 1
            filled = own.get(table.table_id, [])
            for n in range(1, catalog.own_initiative_rows + 1):
                cells = {}
                if n <= len(filled):
                    text, budget = filled[n - 1]
                    cells = {k: v for k, v in (("C", text), ("E", budget)) if v is not None}
                rows.append(RawRow(r, layout.own_key(table.table_id, n), cells))
                r += 1
        title = layout.section_sheet_title(section.no, section.title)
        sheets.append(RawSheet(title, layout.section_sheet_key(section.no), True, rows))

    rows = [
        RawRow(1, layout.SHEET_TARGETS, {"B": layout.TARGETS_TITLE}),
        RawRow(3, layout.COLUMN_HEADER_KEY, {TGT[k]: v for k, v in layout.TARGET_HEADERS.items()}),
    ]
    r = 4
    for item in catalog.numeric_targets:
        for target_year in item.years(catalog.fiscal_year):
            cells = {"B": item.label, "C": f"R{target_year - 2018}"}
            if targets.get((item.id, target_year)) is not None:
                cells["D"] = targets[(item.id, target_year)]
            rows.append(RawRow(r, layout.target_key(item.id, target_year), cells))
            r += 1
    sheets.append(RawSheet(layout.TARGETS_TITLE, layout.SHEET_TARGETS, True, rows))

    return ExtractedWorkbook(
        file_name=file_name or f"{code}_{name}_2024_国保取組状況調査票.xlsx",
        file_path=f"/inbox/{file_name or 'x.xlsx'}",
        sha256=sha256,
        file_size=12345,
        received_at=received_at,
        file_kind="xlsx",
        sheets=sheets,
    )


def section(wb: ExtractedWorkbook, no: int) -> RawSheet:
    found = wb.sheet_by_key(layout.section_sheet_key(no))
    assert found is not None
    return found


def row_of(sheet: RawSheet, key: str) -> RawRow:
    return next(r for r in sheet.rows if r.key == key)


def v(value: object) -> object:
    """A frame value with pandas' missing markers as None."""
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def codes(batch: StagingBatch) -> list[str]:
    return list(batch.issues["code"])


def answer_of(batch: StagingBatch, measure_id: str) -> pd.Series:
    rows = batch.responses[batch.responses["measure_id"] == measure_id]
    assert len(rows) == 1, rows
    return rows.iloc[0]


@pytest.fixture(scope="module")
def catalog(saitama_catalog: Catalog) -> Catalog:
    return saitama_catalog


# --------------------------------------------------------------------------------------------
# A clean file
# --------------------------------------------------------------------------------------------


def test_clean_file_stages_every_measure_without_issues(catalog: Catalog) -> None:
    wb = make_book(
        catalog,
        answers={"M001": "○", "M002": "〇"},
        budgets={"M001": "納税推進事業", "M003": "—"},
        own={"1-1": [("独自の口座振替キャンペーン", "収納対策事業"), ("夜間窓口", "なし")]},
        targets={("collection_rate_current", 2024): "９５．０％", ("generic_drug_share", 2024): 0.8},
    )
    batch = build_staging([wb], catalog)
    assert codes(batch) == []

    sub = batch.submissions.iloc[0]
    assert len(batch.submissions) == 1
    assert sub["municipality_code"] == "112011"
    assert sub["municipality_name"] == "川越市"
    assert sub["filename_municipality_code"] == "112011"
    assert sub["survey_id"] == catalog.survey_id
    assert sub["fiscal_year"] == 2024
    assert sub["prefecture_code"] == "11"
    assert sub["catalog_version"] == catalog.catalog_version
    assert sub["sheet"] == layout.COVER_TITLE
    assert sub["cell"] == "C10"
    assert sub["contact_person"] == "埼玉 太郎"
    assert sub["received_at"] == pd.Timestamp(1_717_200_000, unit="s", tz="UTC")

    assert len(batch.responses) == len(catalog.measures)
    m1 = answer_of(batch, "M001")
    assert (m1["answer"], m1["implemented"], m1["budget_line"], m1["cell"]) == (
        "○",
        True,
        "納税推進事業",
        m1["cell"],
    )
    assert m1["cell"].startswith("D") and m1["sheet"] == "1 保険税関係"
    assert m1["municipality_code"] == "112011" and m1["survey_id"] == catalog.survey_id
    assert answer_of(batch, "M002")["answer_raw"] == "〇"
    m3 = answer_of(batch, "M003")
    assert (m3["answer"], m3["implemented"], v(m3["budget_line"]), m3["budget_line_raw"]) == (
        "",
        False,
        None,
        "—",
    )

    own = batch.own_initiatives
    assert list(own["text"]) == ["独自の口座振替キャンペーン", "夜間窓口"]
    assert list(own["position"]) == [1, 2]
    assert [v(b) for b in own["budget_line"]] == ["収納対策事業", None]
    assert set(own["table_id"]) == {"1-1"}

    targets = batch.numeric_targets.set_index(["target_id", "target_year"])
    assert len(targets) == sum(len(t.year_offsets) for t in catalog.numeric_targets)
    assert targets.loc[("collection_rate_current", 2024), "value"] == 95.0
    assert targets.loc[("collection_rate_current", 2024), "raw_text"] == "９５．０％"
    assert targets.loc[("generic_drug_share", 2024), "value"] == 80.0
    assert pd.isna(targets.loc[("collection_rate_current", 2025), "value"])


def test_frames_follow_the_contracts(catalog: Catalog) -> None:
    batch = build_staging(
        [make_book(catalog), make_book(catalog, sha256="cd" * 32, code="111007", name="さいたま市")], catalog
    )
    for attr, table in StagingBatch.TABLES.items():
        frame = getattr(batch, attr)
        assert list(frame.columns) == contract(table).column_names
        for column in contract(table).columns:
            if not column.nullable:
                assert frame[column.name].notna().all(), (table, column.name)
    assert batch.responses.groupby("sha256").size().to_dict() == {SHA: 150, "cd" * 32: 150}
    assert str(batch.responses["implemented"].dtype) == "boolean"
    assert str(batch.responses["row_no"].dtype) == "Int64"


def test_empty_batch(catalog: Catalog) -> None:
    batch = build_staging([], catalog)
    assert all(len(getattr(batch, attr)) == 0 for attr in StagingBatch.TABLES)


# --------------------------------------------------------------------------------------------
# Answer symbols
# --------------------------------------------------------------------------------------------

YES_WRITTEN = [
    "○",
    "〇",
    "◯",
    "●",
    "✓",
    "1",
    "１",
    1,
    1.0,
    "はい",
    "有",
    "実施",
    "予定",
    " ○ ",
    "○\n",
    "\u200b○",
    "　〇　",
]
NO_WRITTEN = [None, "", "×", "✕", "無", "いいえ", "－", "-", "0", "０", 0, " × ", "\u200b", "いいえ\r\n"]


@pytest.mark.parametrize("written", YES_WRITTEN)
def test_yes_symbols_stage_as_implemented(catalog: Catalog, written: object) -> None:
    batch = build_staging([make_book(catalog, answers={"M010": written})], catalog)
    row = answer_of(batch, "M010")
    assert (row["answer"], row["implemented"]) == (codelists.ANSWER_YES, True)
    assert codes(batch) == []


@pytest.mark.parametrize("written", NO_WRITTEN)
def test_no_symbols_stage_as_not_implemented(catalog: Catalog, written: object) -> None:
    batch = build_staging([make_book(catalog, answers={"M010": written})], catalog)
    row = answer_of(batch, "M010")
    assert (row["answer"], row["implemented"]) == (codelists.ANSWER_NO, False)
    assert codes(batch) == []


@pytest.mark.parametrize("written", ["△", "未定", "2", "○?"])
def test_unknown_symbol_names_its_cell(catalog: Catalog, written: str) -> None:
    wb = make_book(catalog, answers={"M010": written})
    cell = f"D{row_of(section(wb, 1), 'measure:M010').row_no}"
    batch = build_staging([wb], catalog)
    issue = batch.issues.iloc[0]
    assert (issue["code"], issue["sheet"], issue["cell"], issue["value"]) == (
        "UNKNOWN_ANSWER",
        "1 保険税関係",
        cell,
        written,
    )
    assert (
        cell in issue["message"] and "1 保険税関係" in issue["message"] and wb.file_name in issue["message"]
    )
    assert issue["stage"] == "transform" and issue["hint"] == codelists.issue_hint("UNKNOWN_ANSWER")
    row = answer_of(batch, "M010")
    assert pd.isna(row["answer"]) and pd.isna(row["implemented"]) and row["answer_raw"] == written


# --------------------------------------------------------------------------------------------
# Template alterations that must change nothing
# --------------------------------------------------------------------------------------------

EXPECTED_ANSWERS = {"M001": "○", "M005": "○", "M016": "○", "M017": "○"}


def _reorder_rows(wb: ExtractedWorkbook) -> None:
    sheet = section(wb, 1)
    measure_rows = [r for r in sheet.rows if (r.key or "").startswith("measure:M0")][:16]
    numbers = [r.row_no for r in measure_rows]
    for row, number in zip(measure_rows, reversed(numbers), strict=True):
        row.row_no = number


def _insert_rows(wb: ExtractedWorkbook) -> None:
    sheet = section(wb, 1)
    for row in sheet.rows:
        if row.row_no >= 8:
            row.row_no += 2
    sheet.rows.append(RawRow(8, None, {"C": "（追加メモ）", "D": "○"}))  # unkeyed: ignored
    sheet.rows.append(RawRow(9, None, {}))


def _edit_labels(wb: ExtractedWorkbook) -> None:
    for row in section(wb, 1).rows:
        if (row.key or "").startswith("measure:"):
            row.cells["C"] = f"（修正）{row.cells.get('C')}"


def _rename_sheet(wb: ExtractedWorkbook) -> None:
    section(wb, 1).title = "保険税（川越市回答）"


def _lose_sheet_key(wb: ExtractedWorkbook) -> None:
    section(wb, 1).key = None  # A1 overwritten; the standard title still identifies it


def _rows_above(wb: ExtractedWorkbook) -> None:
    for sheet in wb.sheets:
        for row in sheet.rows:
            if row.row_no > 1:
                row.row_no += 5
        sheet.rows[1:1] = [RawRow(n, None, {"B": f"市町村メモ{n}", "D": "○"}) for n in range(2, 7)]


def _move_sheets(wb: ExtractedWorkbook) -> None:
    wb.sheets.reverse()


def _swap_columns(wb: ExtractedWorkbook) -> None:
    """D (実施) and E (予算事業名) swapped, as the header rows show."""
    for sheet in wb.sheets:
        if not (sheet.key or "").startswith(layout.SHEET_SECTION_PREFIX):
            continue
        for row in sheet.rows:
            d, e = row.cells.pop("D", None), row.cells.pop("E", None)
            if d is not None:
                row.cells["E"] = d
            if e is not None:
                row.cells["D"] = e


ALTERATIONS: dict[str, Callable[[ExtractedWorkbook], None]] = {
    "reordered_rows": _reorder_rows,
    "inserted_rows": _insert_rows,
    "edited_labels": _edit_labels,
    "renamed_sheet": _rename_sheet,
    "sheet_key_lost_title_kept": _lose_sheet_key,
    "rows_above_table": _rows_above,
    "sheets_reordered": _move_sheets,
    "columns_swapped": _swap_columns,
}


@pytest.mark.parametrize("alteration", list(ALTERATIONS))
def test_template_alterations_keep_answers(catalog: Catalog, alteration: str) -> None:
    wb = make_book(catalog, answers=EXPECTED_ANSWERS, budgets={"M005": "口座振替推進事業"})
    sheet1 = section(wb, 1)
    ALTERATIONS[alteration](wb)
    batch = build_staging([wb], catalog)
    assert codes(batch) == []
    assert len(batch.responses) == len(catalog.measures)
    implemented = set(batch.responses.loc[batch.responses["implemented"].astype(bool), "measure_id"])
    assert implemented == set(EXPECTED_ANSWERS)
    assert answer_of(batch, "M005")["budget_line"] == "口座振替推進事業"
    m1 = answer_of(batch, "M001")
    assert m1["sheet"] == sheet1.title
    assert m1["row_no"] == row_of(sheet1, "measure:M001").row_no


def test_columns_swapped_cell_points_at_the_moved_answer(catalog: Catalog) -> None:
    wb = make_book(catalog, answers={"M001": "○"})
    _swap_columns(wb)
    batch = build_staging([wb], catalog)
    assert answer_of(batch, "M001")["cell"].startswith("E")


def test_edited_label_is_kept_as_found(catalog: Catalog) -> None:
    wb = make_book(catalog)
    _edit_labels(wb)
    assert answer_of(build_staging([wb], catalog), "M001")["label"].startswith("(修正)")


# --------------------------------------------------------------------------------------------
# Own initiatives
# --------------------------------------------------------------------------------------------


def test_rows_inserted_after_own_initiatives_are_more_own_initiatives(catalog: Catalog) -> None:
    wb = make_book(catalog, own={"1-1": [(f"独自{n}", None) for n in range(1, 6)]})
    sheet = section(wb, 1)
    last = row_of(sheet, layout.own_key("1-1", 5)).row_no
    for row in sheet.rows:
        if row.row_no > last:
            row.row_no += 3
    sheet.rows += [
        RawRow(last + 1, None, {"C": "独自6", "E": "独自事業"}),
        RawRow(last + 2, None, {"C": "独自7"}),
        # row last + 3 left empty: the run stops; the unkeyed row after it is ignored
    ]
    sheet.rows.append(RawRow(last + 4, None, {"C": "無関係なメモ"}))
    batch = build_staging([wb], catalog)
    own = batch.own_initiatives[batch.own_initiatives["table_id"] == "1-1"]
    assert list(own["text"]) == [f"独自{n}" for n in range(1, 8)]
    assert list(own["position"]) == list(range(1, 8))
    assert own.iloc[5]["budget_line"] == "独自事業" and own.iloc[5]["row_no"] == last + 1
    assert codes(batch) == []


def test_unkeyed_rows_elsewhere_are_ignored(catalog: Catalog) -> None:
    wb = make_book(catalog)
    sheet = section(wb, 1)
    m1 = row_of(sheet, "measure:M001").row_no
    sheet.rows.append(RawRow(m1 + 500, None, {"C": "欄外のメモ", "D": "×"}))
    batch = build_staging([wb], catalog)
    assert len(batch.own_initiatives) == 0 and codes(batch) == []


def test_own_initiative_budget_without_text(catalog: Catalog) -> None:
    wb = make_book(catalog, own={"2-1": [(None, "健診事業")]})
    batch = build_staging([wb], catalog)
    assert codes(batch) == ["OWN_TEXT_MISSING"]
    assert batch.issues.iloc[0]["cell"].startswith("C")


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------

TARGET_CASES = [
    ("９５．０％", 95.0, None, "９５．０％"),
    ("95%", 95.0, None, "95%"),
    ("95", 95.0, None, "95"),
    (95.0, 95.0, None, "95"),
    ("93.70%", 93.7, None, "93.70%"),
    (0.95, 95.0, None, "95%"),
    ("95％以上", 95.0, codelists.QUALIFIER_AT_LEAST, "95％以上"),
    ("前年度以上", None, codelists.QUALIFIER_PREVIOUS_YEAR_OR_MORE, "前年度以上"),
    ("前年度収納率を上回る", None, codelists.QUALIFIER_PREVIOUS_YEAR_OR_MORE, "前年度収納率を上回る"),
    ("【未設定】", None, codelists.QUALIFIER_NOT_SET, "【未設定】"),
    ("-", None, codelists.QUALIFIER_NOT_SET, "-"),
    ("－", None, codelists.QUALIFIER_NOT_SET, "－"),
    (None, None, None, None),
]


@pytest.mark.parametrize(("written", "value", "qualifier", "raw_text"), TARGET_CASES)
def test_target_formats(
    catalog: Catalog, written: object, value: float | None, qualifier: str | None, raw_text: str | None
) -> None:
    batch = build_staging([make_book(catalog, targets={("collection_rate_current", 2025): written})], catalog)
    assert codes(batch) == []
    frame = batch.numeric_targets
    row = frame[(frame["target_id"] == "collection_rate_current") & (frame["target_year"] == 2025)].iloc[0]
    assert (v(row["value"]), v(row["qualifier"]), v(row["raw_text"])) == (value, qualifier, raw_text)
    assert row["cell"].startswith("D")


@pytest.mark.parametrize(
    ("written", "code"),
    [("高い", "TARGET_UNPARSEABLE"), ("150", "TARGET_OUT_OF_RANGE"), (-3, "TARGET_OUT_OF_RANGE")],
)
def test_bad_targets(catalog: Catalog, written: object, code: str) -> None:
    wb = make_book(catalog, targets={("specific_health_checkup_rate", 2024): written})
    batch = build_staging([wb], catalog)
    assert codes(batch) == [code]
    sheet = wb.sheet_by_key(layout.SHEET_TARGETS)
    assert sheet is not None
    expected = f"D{row_of(sheet, layout.target_key('specific_health_checkup_rate', 2024)).row_no}"
    assert batch.issues.iloc[0]["cell"] == expected


def test_unknown_target_row(catalog: Catalog) -> None:
    wb = make_book(catalog)
    sheet = wb.sheet_by_key(layout.SHEET_TARGETS)
    assert sheet is not None
    sheet.rows.append(RawRow(90, layout.target_key("bed_count", 2024), {"D": "5"}))
    sheet.rows.append(RawRow(91, layout.target_key("collection_rate_current", 2031), {"D": "95"}))
    batch = build_staging([wb], catalog)
    assert codes(batch) == ["UNKNOWN_TARGET", "UNKNOWN_TARGET"]


# --------------------------------------------------------------------------------------------
# Identity: cover, survey, municipality, file name
# --------------------------------------------------------------------------------------------


def test_not_a_survey_template(catalog: Catalog) -> None:
    wb = make_book(catalog)
    wb.sheets = [s for s in wb.sheets if s.key != layout.SHEET_COVER]
    batch = build_staging([wb], catalog)
    assert codes(batch) == ["NOT_SURVEY_TEMPLATE"]
    assert len(batch.submissions) == 0 and len(batch.responses) == 0


def test_cover_found_by_title_when_a1_lost(catalog: Catalog) -> None:
    wb = make_book(catalog)
    wb.sheets[0].key = None
    batch = build_staging([wb], catalog)
    assert codes(batch) == [] and len(batch.responses) == 150


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"fiscal_year": 2023}, "年度 2023"),
        ({"version": "2023.1"}, "版 2023.1"),
        ({"prefecture": "33"}, "都道府県コード 33"),
    ],
)
def test_wrong_survey(catalog: Catalog, kwargs: dict, fragment: str) -> None:
    batch = build_staging([make_book(catalog, answers={"M001": "○"}, **kwargs)], catalog)
    assert codes(batch) == ["WRONG_SURVEY"]
    assert fragment in batch.issues.iloc[0]["message"]
    assert len(batch.submissions) == 1 and len(batch.responses) == 0


@pytest.mark.parametrize(
    ("code", "name", "expected", "cell"),
    [
        ("112012", "川越市", "MUNICIPALITY_CODE_INVALID", "C10"),  # wrong check digit
        ("川越", "川越市", "MUNICIPALITY_CODE_INVALID", "C10"),
        (None, "川越市", "MUNICIPALITY_CODE_INVALID", "C10"),
        ("119997", "川越市", "MUNICIPALITY_UNKNOWN", "C10"),
        ("131016", "千代田区", "MUNICIPALITY_OTHER_PREFECTURE", "C10"),
        ("112011", "熊谷市", "MUNICIPALITY_NAME_MISMATCH", "C11"),
    ],
)
def test_municipality_issues(catalog: Catalog, code: object, name: str, expected: str, cell: str) -> None:
    batch = build_staging([make_book(catalog, code=code, name=name, file_name="調査票.xlsx")], catalog)
    assert codes(batch) == [expected]
    assert batch.issues.iloc[0]["cell"] == cell
    assert len(batch.responses) == 150  # content issues still stage rows


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("112011", "川越市"),
        (112011, "埼玉県川越市"),
        ("11201", " 川越市\n"),
        ("１１２０１１", "川越市"),
        ("113247", "入間郡三芳町"),
        ("113247", "埼玉県入間郡三芳町"),
        ("112011", None),
    ],
)
def test_municipality_spellings_accepted(catalog: Catalog, code: object, name: str | None) -> None:
    batch = build_staging([make_book(catalog, code=code, name=name, file_name="調査票.xlsx")], catalog)
    assert codes(batch) == []
    assert batch.submissions.iloc[0]["municipality_code"] == str(
        code if code != "11201" else "112011"
    ).translate(str.maketrans("０１２３４５６７８９", "0123456789"))


@pytest.mark.parametrize(
    ("file_name", "expected_issue", "filename_code"),
    [
        ("112011_川越市_2024_国保取組状況調査票.xlsx", None, "112011"),
        ("11201川越.xlsx", None, "112011"),
        ("１１２０１１川越市.xlsx", None, "112011"),
        ("川越市_R6調査票_20240531.xlsx", None, None),
        ("112020_熊谷市_2024.xlsx", "FILENAME_CODE_MISMATCH", "112020"),
        ("11202熊谷.xlsx", "FILENAME_CODE_MISMATCH", "112020"),
    ],
)
def test_filename_code(
    catalog: Catalog, file_name: str, expected_issue: str | None, filename_code: str | None
) -> None:
    batch = build_staging([make_book(catalog, file_name=file_name)], catalog)
    assert codes(batch) == ([expected_issue] if expected_issue else [])
    assert v(batch.submissions.iloc[0]["filename_municipality_code"]) == filename_code


def test_filename_codes_skip_dates_and_unknown_codes() -> None:
    assert filename_codes("202405_112011_川越市.xlsx") == ["112011"]
    assert filename_codes("2024年度_調査票.xlsx") == []
    assert filename_codes("99999.xlsx") == []


# --------------------------------------------------------------------------------------------
# Content issues
# --------------------------------------------------------------------------------------------


def test_missing_section_and_targets_sheets(catalog: Catalog) -> None:
    wb = make_book(catalog)
    wb.sheets = [s for s in wb.sheets if s.key not in (layout.section_sheet_key(2), layout.SHEET_TARGETS)]
    batch = build_staging([wb], catalog)
    assert codes(batch) == ["MISSING_SHEET", "MISSING_SHEET"]
    assert list(batch.issues["sheet"]) == ["2 保険給付関係", layout.TARGETS_TITLE]


def test_unknown_measure(catalog: Catalog) -> None:
    wb = make_book(catalog)
    section(wb, 1).rows.append(RawRow(400, "measure:M999", {"C": "独自追加", "D": "○"}))
    section(wb, 1).rows.append(RawRow(401, "measure:M998", {"C": "空のまま"}))  # no answer: not reported
    batch = build_staging([wb], catalog)
    assert codes(batch) == ["UNKNOWN_MEASURE"]
    assert (batch.issues.iloc[0]["cell"], batch.issues.iloc[0]["value"]) == ("A400", "M999")
    assert "M999" not in set(batch.responses["measure_id"])


def test_duplicate_measure_with_different_answers(catalog: Catalog) -> None:
    wb = make_book(catalog, answers={"M001": "○"})
    section(wb, 1).rows.append(RawRow(400, "measure:M001", {"C": "コピー", "D": "×"}))
    batch = build_staging([wb], catalog)
    assert codes(batch) == ["DUPLICATE_MEASURE"]
    assert batch.issues.iloc[0]["cell"] == "D400"
    assert answer_of(batch, "M001")["answer"] == "○"  # the first row is kept


@pytest.mark.parametrize("copy", [{"C": "コピー", "D": "〇"}, {"C": "コピー", "D": " ○ "}])
def test_identical_duplicate_is_fine(catalog: Catalog, copy: dict) -> None:
    wb = make_book(catalog, answers={"M001": "○"})
    section(wb, 1).rows.append(RawRow(400, "measure:M001", copy))
    batch = build_staging([wb], catalog)
    assert codes(batch) == []
    assert len(batch.responses) == 150


def test_duplicate_budget_line_differs(catalog: Catalog) -> None:
    wb = make_book(catalog, answers={"M001": "○"}, budgets={"M001": "事業A"})
    section(wb, 1).rows.append(RawRow(400, "measure:M001", {"D": "○", "E": "事業B"}))
    assert codes(build_staging([wb], catalog)) == ["DUPLICATE_MEASURE"]


def _answer_cell(wb: ExtractedWorkbook, measure_id: str = "M001", col: str = "D") -> str:
    return f"{col}{row_of(section(wb, 1), layout.measure_key(measure_id)).row_no}"


def test_formula_without_value_in_answer_area(catalog: Catalog) -> None:
    wb = make_book(catalog)
    sheet = section(wb, 1)
    sheet.formula_without_value = [_answer_cell(wb), "G5", _answer_cell(wb, col="C")]  # only D counts
    batch = build_staging([wb], catalog)
    assert codes(batch) == ["FORMULA_WITHOUT_VALUE"]
    assert batch.issues.iloc[0]["cell"] == _answer_cell(wb)


def test_error_value_in_answer_area(catalog: Catalog) -> None:
    wb = make_book(catalog)
    section(wb, 1).error_cells = {_answer_cell(wb, "M002", "E"): "#REF!", "H2": "#DIV/0!"}
    batch = build_staging([wb], catalog)
    assert codes(batch) == ["ERROR_VALUE"]
    assert (batch.issues.iloc[0]["cell"], batch.issues.iloc[0]["value"]) == (
        _answer_cell(wb, "M002", "E"),
        "#REF!",
    )


def test_error_value_on_cover_code(catalog: Catalog) -> None:
    wb = make_book(catalog)
    wb.sheets[0].error_cells = {"C10": "#N/A"}
    assert "ERROR_VALUE" in codes(build_staging([wb], catalog))


@pytest.mark.parametrize(
    ("merged", "flagged"),
    [("D{r}:D{r1}", True), ("C{r}:D{r}", True), ("E{r}:F{r}", True), ("B3:F3", False), ("H1:J40", False)],
)
def test_merged_cells(catalog: Catalog, merged: str, flagged: bool) -> None:
    wb = make_book(catalog)
    r = row_of(section(wb, 1), "measure:M002").row_no
    merged = merged.format(r=r, r1=r + 1)
    section(wb, 1).merged_ranges = [merged]
    batch = build_staging([wb], catalog)
    assert codes(batch) == (["MERGED_CELLS"] if flagged else [])
    if flagged:
        assert batch.issues.iloc[0]["cell"] == merged


def test_hidden_section_sheet(catalog: Catalog) -> None:
    wb = make_book(catalog, answers={"M020": "○"})
    section(wb, 1).visible = False
    batch = build_staging([wb], catalog)
    assert codes(batch) == ["HIDDEN_SHEET"]
    assert batch.issues.iloc[0]["sheet"] == "1 保険税関係"
    assert answer_of(batch, "M020")["answer"] == "○"


def test_hidden_copy_with_answers(catalog: Catalog) -> None:
    wb = make_book(catalog)
    wb.sheets.append(RawSheet("Sheet1", None, False, [RawRow(5, "measure:M001", {"D": "○"})]))
    wb.sheets.append(RawSheet("list", None, False, [RawRow(1, None, {"A": "○"})]))  # a hidden list: fine
    batch = build_staging([wb], catalog)
    assert codes(batch) == ["HIDDEN_SHEET"]
    assert batch.issues.iloc[0]["sheet"] == "Sheet1"


def test_hidden_instructions_sheet_is_fine(catalog: Catalog) -> None:
    wb = make_book(catalog)
    wb.sheets[1].visible = False
    assert codes(build_staging([wb], catalog)) == []


def test_hidden_row_with_answer(catalog: Catalog) -> None:
    wb = make_book(catalog, answers={"M003": "○"})
    row_of(section(wb, 1), "measure:M003").hidden = True
    row_of(section(wb, 1), "measure:M004").hidden = True  # hidden but empty: fine
    batch = build_staging([wb], catalog)
    assert codes(batch) == ["HIDDEN_ROW"]
    assert batch.issues.iloc[0]["cell"] == _answer_cell(wb, "M003")


@pytest.mark.parametrize(
    ("where", "limit"),
    [("budget", codelists.BUDGET_LINE_MAX_CHARS), ("own", codelists.OWN_INITIATIVE_MAX_CHARS)],
)
def test_text_too_long(catalog: Catalog, where: str, limit: int) -> None:
    long_text = "あ" * (limit + 1)
    if where == "budget":
        wb = make_book(catalog, answers={"M001": "○"}, budgets={"M001": long_text})
    else:
        wb = make_book(catalog, own={"1-2": [(long_text, None)]})
    batch = build_staging([wb], catalog)
    assert codes(batch) == ["TEXT_TOO_LONG"]
    assert f"{limit + 1}文字" in batch.issues.iloc[0]["message"]
    assert len(batch.issues.iloc[0]["value"]) <= 201  # the value shown is shortened


def test_text_at_limit_is_fine(catalog: Catalog) -> None:
    wb = make_book(catalog, answers={"M001": "○"}, budgets={"M001": "あ" * codelists.BUDGET_LINE_MAX_CHARS})
    assert codes(build_staging([wb], catalog)) == []


def test_too_many_problems_caps_a_garbage_file(catalog: Catalog) -> None:
    wb = make_book(catalog, answers={m.id: "？" for m in catalog.measures})
    good = make_book(catalog, sha256="cd" * 32, code="111007", name="さいたま市", answers={"M001": "○"})
    batch = build_staging([wb, good], catalog)
    bad_issues = batch.issues[batch.issues["sha256"] == SHA]
    assert len(bad_issues) == MAX_ISSUES_PER_FILE + 1
    assert bad_issues.iloc[-1]["code"] == "TOO_MANY_PROBLEMS"
    assert str(MAX_ISSUES_PER_FILE) in bad_issues.iloc[-1]["message"]
    # The garbage file keeps its submission row but no answer rows; the good file is untouched.
    assert set(batch.submissions["sha256"]) == {SHA, "cd" * 32}
    assert set(batch.responses["sha256"]) == {"cd" * 32}
    assert len(batch.issues[batch.issues["sha256"] == "cd" * 32]) == 0


def test_extract_issues_become_file_issues_without_rows(catalog: Catalog) -> None:
    wb = make_book(catalog)
    broken = dataclasses.replace(
        wb,
        sheets=[],
        file_kind=None,
        issues=[RawIssue("NOT_WORKBOOK", detail="CSVファイル", rule="zip_signature")],
    )
    batch = build_staging([broken, make_book(catalog, sha256="cd" * 32)], catalog)
    issue = batch.issues.iloc[0]
    assert (issue["code"], issue["stage"], issue["rule"], issue["sha256"]) == (
        "NOT_WORKBOOK",
        "extract",
        "zip_signature",
        SHA,
    )
    assert "CSVファイル" in issue["message"]
    assert SHA not in set(batch.submissions["sha256"]) and SHA not in set(batch.responses["sha256"])
    assert len(batch.responses) == 150


def test_extract_issue_with_unregistered_code_still_has_a_message(catalog: Catalog) -> None:
    broken = dataclasses.replace(
        make_book(catalog), sheets=[], issues=[RawIssue("SOMETHING_NEW", sheet="表紙")]
    )
    issue = build_staging([broken], catalog).issues.iloc[0]
    assert issue["code"] == "SOMETHING_NEW" and "SOMETHING_NEW" in issue["message"] and issue["hint"]


def test_many_files_one_batch(catalog: Catalog) -> None:
    books = [
        make_book(
            catalog, sha256=f"{n:064x}", code=c, name=None, file_name=f"{c}.xlsx", answers={"M001": "○"}
        )
        for n, c in enumerate(["111007", "112011", "112020", "112071"])
    ]
    batch = build_staging(books, catalog)
    assert codes(batch) == []
    assert len(batch.submissions) == 4 and len(batch.responses) == 4 * 150
    yes = batch.responses[batch.responses["measure_id"] == "M001"]
    assert yes["implemented"].all() and sorted(yes["municipality_code"]) == [
        "111007",
        "112011",
        "112020",
        "112071",
    ]


def test_percent_formatted_cell_is_read_as_a_fraction(catalog: Catalog) -> None:
    wb = make_book(
        catalog, targets={("collection_rate_arrears", 2024): 0.35, ("collection_rate_arrears", 2025): 1.5}
    )
    sheet = wb.sheet_by_key(layout.SHEET_TARGETS)
    assert sheet is not None
    cells = {
        year: f"D{row_of(sheet, layout.target_key('collection_rate_arrears', year)).row_no}"
        for year in (2024, 2025)
    }
    sheet.percent_cells = set(cells.values())
    batch = build_staging([wb], catalog)
    frame = batch.numeric_targets.set_index(["target_id", "target_year"])
    # 0.35 shown as 35%; 1.5 in a percent cell is 150% -> out of range, never read as 1.5 %.
    assert frame.loc[("collection_rate_arrears", 2024), "value"] == 35.0
    assert frame.loc[("collection_rate_arrears", 2024), "raw_text"] == "35%"
    assert codes(batch) == ["TARGET_OUT_OF_RANGE"]
    assert batch.issues.iloc[0]["cell"] == cells[2025]


def test_formula_text_is_shown(catalog: Catalog) -> None:
    wb = make_book(catalog)
    address = _answer_cell(wb)
    section(wb, 1).formula_without_value = [address]
    section(wb, 1).formula_text = {address: 'IF(B5="","","○")'}
    issue = build_staging([wb], catalog).issues.iloc[0]
    assert issue["value"] == '=IF(B5="","","○")'


def test_same_bytes_under_two_names_staged_once(catalog: Catalog) -> None:
    first = make_book(catalog, file_name="112011_川越市.xlsx")
    second = make_book(catalog, file_name="112011_川越市 (1).xlsx")
    batch = build_staging([first, second], catalog)
    assert list(batch.submissions["file_name"]) == ["112011_川越市.xlsx"]
    assert len(batch.responses) == 150


# --- staged files assembled as they arrive (the ingest flow's workers) ---------------------------


def test_staged_files_in_any_order_give_the_batch_of_build_staging(catalog: Catalog) -> None:
    from transform.staging import StagedBatchBuilder, stage_file

    books = [
        make_book(catalog, code="112011", name="川越市", file_name="a.xlsx", sha256="a" * 64),
        make_book(catalog, code="112071", name="秩父市", file_name="b.xlsx", sha256="b" * 64),
        make_book(catalog, code="112011", name="川越市", file_name="copy_of_a.xlsx", sha256="a" * 64),
        make_book(catalog, code="113697", name="東秩父村", file_name="c.xlsx", sha256="c" * 64),
    ]
    staged = [stage_file(book, catalog.prefecture_code, catalog.fiscal_year) for book in books]
    builder = StagedBatchBuilder(part_rows=100)  # parts of 100 rows, across files
    for index in (3, 1, 2, 0):  # completion order, not path order
        builder.add(index, staged[index])
    batch, survey_of = builder.finish()
    expected = build_staging(books, catalog)
    for attr in StagingBatch.TABLES:
        pd.testing.assert_frame_equal(getattr(batch, attr), getattr(expected, attr), obj=attr)
    assert list(batch.submissions["file_name"]) == ["a.xlsx", "b.xlsx", "c.xlsx"]  # first name kept
    assert survey_of == dict.fromkeys(["a" * 64, "b" * 64, "c" * 64], catalog.survey_id)
    # Parts of exactly part_rows, the rest last, kept as they are into the frames (the load hands
    # them to DuckDB, whose row groups they tile).
    chunks = [len(c) for c in pa.Table.from_pandas(batch.responses[["measure_id"]]).column(0).chunks]
    total = 3 * len(catalog.measures)
    assert chunks == [100] * (total // 100) + ([total % 100] if total % 100 else [])


def test_a_missing_staged_file_is_an_error(catalog: Catalog) -> None:
    from transform.staging import StagedBatchBuilder, stage_file

    builder = StagedBatchBuilder()
    builder.add(1, stage_file(make_book(catalog), catalog.prefecture_code, catalog.fiscal_year))
    with pytest.raises(ValueError, match="missing"):
        builder.finish()
