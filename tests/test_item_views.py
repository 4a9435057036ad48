"""The views of typed items (item_answers, item_summary, item_option_counts, item_numbers,
item_number_totals) and the year-labelled numeric targets, on a real DuckDB loaded through
load_batch from hand-made staging rows of a small Okayama-like survey (FY2023 → FY2024).

Fixture, accepted files (O1 岡山市 331007, O2 倉敷市 332020; the named group direct_clinic is
G1 津山市 332038, G2 高梁市 332097, G3 新見市 332101; N = 27 municipalities):

    item           FY2024 answers                      n/N     FY2023        text
    T_CHECK        ○ G1 G2 G3 O1                       4/27    2 (G1 G2)     4/27市町村（15%） 2市町村（増）
      T_CHECK_A    ○ G1 G2 O1                          3                     (inline breakdown)
      T_CHECK_B    ○ G3                                1
    T_CLINIC       ○ G1 G2, G3 該当なし (group)          2/3     1 (G1)        2/3市町村（67%） 1市町村（増）
    T_IF_CHECK     ○ G1 O1 (applies where T_CHECK ○)   2/4     absent        2/4市町村（50%）（新）
    T_COUNT_ONLY   ○ G1 O1 O2 (count form)             3       4             3市町村（減）
    T_LINES        ○ O1 O2                             2/27    1             2/27市町村（7%） 1市町村（増）
      T_LINE_A     ○ O1 O2                             2       1             ・国保直診の医師による健康講話（増）
      T_LINE_B     ○ O2                                1       absent        ・デジタル機器活用による相談事業（新）
    T_CHOICE       O1 mail, O2 visit, G1 visit, G2 該当なし; FY2023 O1 mail, O2 mail, G1 visit, G2 visit
                   (phone is new in FY2024)
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_warehouse import FileSpec, N, Y, batch_of, query

from kokuho.catalog import Catalog, load_catalog
from load.warehouse import load_batch
from transform.batch import StagingBatch, conform

O1, O2, G1, G2, G3 = "331007", "332020", "332038", "332097", "332101"
SURVEY = "33-2024-2024.t"
PREVIOUS = "33-2023-2023.t"
NA = "該当なし"

CATALOG = """\
prefecture_code: '33'
fiscal_year: {year}
title: 型のある項目のテスト調査
catalog_version: '{year}.t'
own_initiative_rows: 1
groups:
  direct_clinic:
    label: 国保直診施設のある市町村
    municipalities: ['332038', '332097', '332101']
sections:
- 'no': 1
  title: 各種の項目
  subsections:
  - 'no': 1
    title: 実施状況と内訳
    measures:
    - id: T_CHECK
      label: レセプト点検の実施
      published: {{form: ratio, breakdown: inline}}
      children:
      - id: T_CHECK_A
        label: 国保連へのレセプト点検
      - id: T_CHECK_B
        label: レセプト点検員の独自雇用
    - id: T_CLINIC
      label: 国保直診施設の積極的活用
      applies_to: direct_clinic
{if_check}    - id: T_COUNT_ONLY
      label: 電話勧奨の委託
      published: {{form: count}}
    - id: T_LINES
      label: 国保直診施設を活用した保健事業
      children:
      - id: T_LINE_A
        label: 国保直診の医師による健康講話
{line_b}  - 'no': 2
    title: 型のある項目
    measures:
    - id: T_CHOICE
      label: 口座振替の勧奨方法
      type: choice
      options:
      - {{code: mail, label: 郵送}}
      - {{code: visit, label: 訪問}}
{phone}    - id: T_CHOICES
      label: 広報の媒体（複数選択）
      type: choice
      multiple: true
      options:
      - {{code: web, label: ホームページ}}
      - {{code: paper, label: 広報紙}}
      - {{code: sns, label: SNS}}
    - id: T_INTEGER
      label: 訪問指導の件数
      type: integer
      unit: 件
    - id: T_AMOUNT
      label: 事業費
      type: amount
      years: {{from: -1, to: 0}}
    - id: T_PERCENT
      label: 特定健診受診率
      type: percent
      year_label: era
      years: {{from: -1, to: 0}}
    - id: T_STATUS
      label: 新規・継続
      type: status
    - id: T_IF_CHOICE
      label: 訪問の担当職種
      type: text
      applies_to: {{item: T_CHOICE, answer: [visit]}}
numeric_targets:
- id: collection_rate_current
  label: 収納率目標（現年分）
  unit: '%'
  year_offsets: [-3, -2, -1, 0, 1, 2, 3, 4, 5]
"""
IF_CHECK = """\
    - id: T_IF_CHECK
      label: 点検結果の活用
      applies_to: {item: T_CHECK, answer: ['○']}
"""
LINE_B = """\
      - id: T_LINE_B
        label: デジタル機器活用による相談事業
"""
PHONE = "      - {code: phone, label: 電話}\n"


def write_catalogs(directory: Path) -> tuple[Catalog, Catalog]:
    """FY2023 (without T_IF_CHECK, T_LINE_B and the option phone) and FY2024."""
    directory.mkdir(parents=True, exist_ok=True)
    catalogs = []
    for year, extra in ((2023, False), (2024, True)):
        text = CATALOG.format(
            year=year,
            if_check=IF_CHECK if extra else "",
            line_b=LINE_B if extra else "",
            phone=PHONE if extra else "",
        )
        path = directory / f"33_{year}.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        catalogs.append(load_catalog(path))
    return catalogs[0], catalogs[1]


# (item_id, value_year, raw_text, value, qualifier, value_text, not_applicable, note)
Value = tuple[str, int, str | None, float | None, str | None, str | None, bool, str | None]
# (target_year, raw_text, value, qualifier, note)
Target = tuple[int, str | None, float | None, str | None, str | None]


@dataclass
class ItemFile:
    """One returned workbook: ○ answers (check items; NA for 該当なし), typed values, targets."""

    name: str
    code: str
    catalog: Catalog
    received_at: str
    checks: dict[str, str]
    values: list[Value]
    targets: list[Target]

    def spec(self) -> FileSpec:
        answers: dict[str, tuple[str, str | None]] = {
            m: (Y if mark == Y else N, None) for m, mark in self.checks.items()
        }
        return FileSpec(self.name, self.code, self.catalog, self.received_at, answers)


def _types(catalog: Catalog) -> dict[str, str]:
    return {i.id: i.type for i in catalog.items}


def item_batch(files: list[ItemFile]) -> StagingBatch:
    """The files' staging batch, with 該当なし on check items and the typed values (the batch
    attribute item_values, which load_batch reads when present)."""
    specs = [f.spec() for f in files]
    batch = batch_of(specs)
    na = {(s.sha256, m) for f, s in zip(files, specs, strict=True) for m, a in f.checks.items() if a == NA}
    keys = list(zip(batch.responses["sha256"], batch.responses["measure_id"], strict=True))
    batch.responses = batch.responses.assign(
        not_applicable=pd.array([k in na for k in keys], dtype="boolean"),
        answer_raw=[NA if k in na else a for k, a in zip(keys, batch.responses["answer_raw"], strict=True)],
    )
    values, targets = [], []
    for f, s in zip(files, specs, strict=True):
        common = {
            "file_name": f.name,
            "sha256": s.sha256,
            "municipality_code": f.code,
            "survey_id": f.catalog.survey_id,
            "fiscal_year": f.catalog.fiscal_year,
        }
        types = _types(f.catalog)
        for row_no, (item_id, year, raw, value, qualifier, text, not_applicable, note) in enumerate(
            f.values, start=30
        ):
            values.append(
                {
                    **common,
                    "sheet": "1",
                    "cell": f"D{row_no}",
                    "row_no": row_no,
                    "item_id": item_id,
                    "item_type": types[item_id],
                    "value_year": year,
                    "raw_text": raw,
                    "value": value,
                    "qualifier": qualifier,
                    "value_text": text,
                    "not_applicable": not_applicable,
                    "note": note,
                }
            )
        for col, (year, raw, value, qualifier, note) in enumerate(f.targets):
            targets.append(
                {
                    **common,
                    "sheet": "数値目標",
                    "cell": f"{chr(ord('D') + col)}5",
                    "row_no": 5,
                    "target_id": "collection_rate_current",
                    "target_year": year,
                    "raw_text": raw,
                    "value": value,
                    "qualifier": qualifier,
                    "note": note,
                }
            )
    batch.numeric_targets = conform(pd.DataFrame(targets), "stg_numeric_targets")
    # Through __dict__: the attribute is StagingBatch's own once staging reads typed items, and
    # load_batch reads it whenever present.
    batch.__dict__["item_values"] = conform(pd.DataFrame(values), "stg_item_values")
    return batch


def fixture_files(cat2023: Catalog, cat2024: Catalog) -> tuple[list[ItemFile], list[ItemFile]]:
    files2023 = [
        ItemFile(
            "R5_331007.xlsx",
            O1,
            cat2023,
            "2023-05-01T00:00:00",
            {"T_COUNT_ONLY": Y, "T_LINES": Y, "T_LINE_A": Y},
            [
                ("T_CHOICE", 2023, "郵送", None, None, "mail", False, None),
                ("T_INTEGER", 2023, "10", 10.0, None, None, False, None),
                ("T_AMOUNT", 2023, "900", 900.0, None, None, False, None),
            ],
            [],
        ),
        ItemFile(
            "R5_332020.xlsx",
            O2,
            cat2023,
            "2023-05-01T00:00:00",
            {"T_COUNT_ONLY": Y},
            [("T_CHOICE", 2023, "郵送", None, None, "mail", False, None)],
            [],
        ),
        ItemFile(
            "R5_332038.xlsx",
            G1,
            cat2023,
            "2023-05-01T00:00:00",
            {"T_CHECK": Y, "T_CLINIC": Y, "T_COUNT_ONLY": Y},
            [("T_CHOICE", 2023, "訪問", None, None, "visit", False, None)],
            [],
        ),
        ItemFile(
            "R5_332097.xlsx",
            G2,
            cat2023,
            "2023-05-01T00:00:00",
            {"T_CHECK": Y, "T_COUNT_ONLY": Y},
            [("T_CHOICE", 2023, "訪問", None, None, "visit", False, None)],
            [],
        ),
    ]
    files2024 = [
        ItemFile(
            "R6_331007_岡山市.xlsx",
            O1,
            cat2024,
            "2024-05-01T00:00:00",
            {
                "T_CHECK": Y,
                "T_CHECK_A": Y,
                "T_IF_CHECK": Y,
                "T_COUNT_ONLY": Y,
                "T_LINES": Y,
                "T_LINE_A": Y,
            },
            [
                ("T_CHOICE", 2024, "郵送", None, None, "mail", False, None),
                ("T_CHOICES", 2024, "ホームページ、広報紙", None, None, "web,paper", False, None),
                ("T_INTEGER", 2024, "１２", 12.0, None, None, False, None),
                ("T_AMOUNT", 2023, "△148,507", -148507.0, None, None, False, None),
                ("T_AMOUNT", 2024, "1,234", 1234.0, None, None, False, "補正後"),
                ("T_PERCENT", 2023, "33.5%", 33.5, None, None, False, None),
                ("T_PERCENT", 2024, "34.0%", 34.0, None, None, False, None),
                ("T_STATUS", 2024, "新規", None, None, "new", False, None),
                ("T_IF_CHOICE", 2024, None, None, None, None, False, None),
            ],
            [
                (2021, "93.5", 93.5, None, "R4年2月、目標収納率を策定"),
                (2022, "93.6", 93.6, None, None),
                (2023, "93.70%", 93.7, None, None),
                (2024, "93.90%", 93.9, None, None),
            ],
        ),
        ItemFile(
            "R6_332020_倉敷市.xlsx",
            O2,
            cat2024,
            "2024-05-01T00:00:00",
            {"T_COUNT_ONLY": Y, "T_LINES": Y, "T_LINE_A": Y, "T_LINE_B": Y},
            [
                ("T_CHOICE", 2024, "訪問", None, None, "visit", False, None),
                ("T_INTEGER", 2024, "3", 3.0, None, None, False, None),
                ("T_STATUS", 2024, "継続", None, None, "continued", False, None),
                ("T_IF_CHOICE", 2024, "保健師", None, None, "保健師", False, None),
            ],
            [(2024, "95％以上", 95.0, "以上", "R6年度は収納率95.0％以上を目標として取り組む。")],
        ),
        ItemFile(
            "R6_332038_津山市.xlsx",
            G1,
            cat2024,
            "2024-05-01T00:00:00",
            {"T_CHECK": Y, "T_CHECK_A": Y, "T_CLINIC": Y, "T_IF_CHECK": Y, "T_COUNT_ONLY": Y},
            [("T_CHOICE", 2024, "訪問", None, None, "visit", False, None)],
            [(2024, "前年度収納率を上回る", None, "前年度以上", None)],
        ),
        ItemFile(
            "R6_332097_高梁市.xlsx",
            G2,
            cat2024,
            "2024-05-01T00:00:00",
            {"T_CHECK": Y, "T_CHECK_A": Y, "T_CLINIC": Y},
            [
                ("T_CHOICE", 2024, NA, None, None, None, True, None),
                ("T_INTEGER", 2024, NA, None, None, None, True, None),
            ],
            [(2024, "【未設定】", None, "未設定", "現時点で全体の収納率については未設定")],
        ),
        ItemFile(
            "R6_332101_新見市.xlsx",
            G3,
            cat2024,
            "2024-05-01T00:00:00",
            {"T_CHECK": Y, "T_CHECK_B": Y, "T_CLINIC": NA},
            [],
            [(2029, "-", None, "未設定", None)],
        ),
    ]
    return files2023, files2024


def load_item_fixture(directory: Path) -> Path:
    """The fixture's warehouse (catalogs written to directory / 'catalogs')."""
    cat2023, cat2024 = write_catalogs(directory / "catalogs")
    files2023, files2024 = fixture_files(cat2023, cat2024)
    db = directory / "kokuho.duckdb"
    load_batch(db, item_batch([*files2023, *files2024]), catalogs=[cat2023, cat2024], run_id="run-items")
    return db


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return load_item_fixture(tmp_path_factory.mktemp("items"))


def summary(db: Path, *columns: str) -> dict[str, tuple]:
    rows = query(db, f"SELECT item_id, {', '.join(columns)} FROM item_summary WHERE survey_id = ?", [SURVEY])
    return {r[0]: r[1:] for r in rows}


# --- the catalog in the warehouse ---------------------------------------------------------------


def test_catalog_tables_hold_items_options_and_groups(db: Path) -> None:
    items = query(
        db,
        "SELECT item_id, item_type, unit, year_offsets, year_label, applies_group, applies_item, applies_answers, "
        "parent_id, published_form, breakdown FROM items WHERE survey_id = ? ORDER BY position",
        [SURVEY],
    )
    by_id = {r[0]: r[1:] for r in items}
    assert by_id["T_CHECK"] == ("check", None, [0], "short", None, None, None, None, "ratio", "inline")
    assert by_id["T_CHECK_A"][7] == "T_CHECK"
    assert by_id["T_CLINIC"][4] == "direct_clinic"
    assert by_id["T_IF_CHECK"][5:7] == ("T_CHECK", ["○"])
    assert by_id["T_COUNT_ONLY"][8] == "count"
    assert by_id["T_AMOUNT"][:3] == ("amount", "千円", [-1, 0])
    assert by_id["T_PERCENT"][3] == "era"
    assert query(
        db,
        "SELECT code, label, position FROM item_options WHERE survey_id = ? AND item_id = 'T_STATUS'",
        [SURVEY],
    ) == [("new", "新規", 1), ("continued", "継続", 2)]
    assert query(
        db,
        "SELECT group_name, label, list(municipality_code ORDER BY municipality_code) FROM municipality_groups "
        "WHERE survey_id = ? GROUP BY ALL",
        [SURVEY],
    ) == [("direct_clinic", "国保直診施設のある市町村", [G1, G2, G3])]
    assert query(db, "SELECT year_label FROM numeric_target_items WHERE survey_id = ?", [SURVEY]) == [
        ("short",)
    ]


def test_not_applicable_is_loaded_into_responses(db: Path) -> None:
    rows = query(
        db,
        "SELECT municipality_code, implemented, not_applicable FROM responses "
        "WHERE survey_id = ? AND measure_id = 'T_CLINIC' ORDER BY municipality_code",
        [SURVEY],
    )
    assert rows == [
        (O1, False, False),
        (O2, False, False),
        (G1, True, False),
        (G2, True, False),
        (G3, False, True),
    ]


# --- item_summary -------------------------------------------------------------------------------


def test_counts_totals_and_markers(db: Path) -> None:
    got = summary(db, "answer_count", "applicable_total", "answer_pct", "prev_year_count", "change_marker")
    assert got == {
        "T_CHECK": (4, 27, 15, 2, "増"),
        "T_CHECK_A": (3, 27, 11, 0, "増"),
        "T_CHECK_B": (1, 27, 4, 0, "増"),
        # N from the named group; G3's 該当なし is not ○ but G3 stays in N (the item applies to it)
        "T_CLINIC": (2, 3, 67, 1, "増"),
        # N from a condition: the municipalities answering ○ to T_CHECK
        "T_IF_CHECK": (2, 4, 50, None, "新"),
        "T_COUNT_ONLY": (3, 27, 11, 4, "減"),
        "T_LINES": (2, 27, 7, 1, "増"),
        "T_LINE_A": (2, 27, 7, 1, "増"),
        "T_LINE_B": (1, 27, 4, None, "新"),
        "T_CHOICE": (3, 27, 11, 4, "減"),  # G2 answered 該当なし: not counted
        "T_CHOICES": (1, 27, 4, 0, "増"),
        "T_STATUS": (2, 27, 7, 0, "増"),
    }


def test_status_text_ratio_and_count_forms(db: Path) -> None:
    got = summary(db, "status_text")
    assert got["T_CHECK"] == ("4/27市町村（15%） 2市町村（増）",)
    assert got["T_CLINIC"] == ("2/3市町村（67%） 1市町村（増）",)
    assert got["T_IF_CHECK"] == ("2/4市町村（50%）（新）",)
    assert got["T_COUNT_ONLY"] == ("3市町村（減）",)
    assert got["T_LINES"] == ("2/27市町村（7%） 1市町村（増）",)


@pytest.mark.parametrize(
    ("form", "n", "total", "marker", "change", "expected"),
    [
        ("ratio", 25, 27, "増", 1, "25/27市町村（93%） 1市町村（増）"),
        ("ratio", 13, 15, "増", 1, "13/15市町村（87%） 1市町村（増）"),
        ("ratio", 4, 4, None, 0, "4/4市町村（100%）"),
        ("ratio", 27, 27, "増", 9, "27/27市町村（100%） 9市町村（増）"),
        ("ratio", 1, 40, None, None, "1/40市町村（3%）"),  # 2.5 rounds half up
        ("ratio", 0, 0, None, None, "0/0市町村（—%）"),
        ("count", 7, 27, "増", 2, "7市町村（増）"),
        ("count", 13, 27, "増", 1, "13市町村（増）"),
        ("count", 2, 27, "新", None, "2市町村（新）"),
        ("count", 3, 27, None, 0, "3市町村"),
    ],
)
def test_status_text_macro_prints_seed_004(
    db: Path, form: str, n: int, total: int, marker: str | None, change: int | None, expected: str
) -> None:
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.execute("SELECT status_text(?, ?, ?, ?, ?)", [form, n, total, marker, change]).fetchone()
    assert got == (expected,)


def test_breakdown_inline_and_lines(db: Path) -> None:
    got = summary(db, "breakdown_text", "line_text")
    assert got["T_CHECK"] == ("（国保連へのレセプト点検：3市町村　レセプト点検員の独自雇用：1市町村）", None)
    assert got["T_CHECK_A"] == (None, None)  # an inline child has no line of its own
    assert got["T_LINES"] == (None, None)
    assert got["T_LINE_A"] == (None, "・国保直診の医師による健康講話（増）")
    assert got["T_LINE_B"] == (None, "・デジタル機器活用による相談事業（新）")


def test_check_items_match_measure_summary(db: Path) -> None:
    """measure_summary is unchanged; for items applying to everyone it agrees with item_summary."""
    rows = query(
        db,
        "SELECT m.measure_id, m.implementing_count, m.municipality_total, m.prev_year_count, m.change_marker, "
        "i.answer_count, i.applicable_total, i.prev_year_count, i.change_marker, i.applies_group, i.applies_item "
        "FROM measure_summary AS m JOIN item_summary AS i ON i.survey_id = m.survey_id AND i.item_id = m.measure_id",
    )
    assert len(rows) == 9 + 7
    for r in rows:
        if r[9] is None and r[10] is None:
            assert r[1:5] == r[5:9], r[0]
        else:
            assert r[2] == 27 and r[6] < 27, r[0]  # measure_summary keeps all municipalities as N


# --- choices ------------------------------------------------------------------------------------


def test_option_counts_with_changes(db: Path) -> None:
    rows = query(
        db,
        "SELECT item_id, option_label, option_count, prev_year_count, change_count, change_marker "
        "FROM item_option_counts WHERE survey_id = ? ORDER BY item_position, option_position",
        [SURVEY],
    )
    assert rows == [
        ("T_CHOICE", "郵送", 1, 2, 1, "減"),
        ("T_CHOICE", "訪問", 2, 2, 0, None),
        ("T_CHOICE", "電話", 0, None, None, "新"),
        ("T_CHOICES", "ホームページ", 1, 0, 1, "増"),
        ("T_CHOICES", "広報紙", 1, 0, 1, "増"),
        ("T_CHOICES", "SNS", 0, 0, 0, None),
        ("T_STATUS", "新規", 1, 0, 1, "増"),
        ("T_STATUS", "継続", 1, 0, 1, "増"),
    ]


def test_item_answers_labels_and_applicability(db: Path) -> None:
    rows = query(
        db,
        "SELECT municipality_code, item_id, value_text, option_labels, not_applicable, applicable "
        "FROM item_answers WHERE survey_id = ? AND item_id IN ('T_CHOICES', 'T_STATUS', 'T_IF_CHOICE', 'T_CLINIC') "
        "ORDER BY municipality_code, position",
        [SURVEY],
    )
    assert rows == [
        (O1, "T_CLINIC", None, None, False, False),
        (O1, "T_CHOICES", "web,paper", "ホームページ、広報紙", False, True),
        (O1, "T_STATUS", "new", "新規", False, True),
        (O1, "T_IF_CHOICE", None, None, False, False),  # O1 chose mail: 訪問の担当職種 does not apply
        (O2, "T_CLINIC", None, None, False, False),
        (O2, "T_STATUS", "continued", "継続", False, True),
        (O2, "T_IF_CHOICE", "保健師", None, False, True),
        (G1, "T_CLINIC", "○", None, False, True),
        (G2, "T_CLINIC", "○", None, False, True),
        (G3, "T_CLINIC", None, None, True, True),
    ]


# --- numbers ------------------------------------------------------------------------------------


def test_numbers_with_the_year_before(db: Path) -> None:
    rows = query(
        db,
        "SELECT municipality_code, item_id, value_year, year_label, raw_text, value, previous_year_value, "
        "previous_survey_value, note FROM item_numbers WHERE survey_id = ? ORDER BY municipality_code, position, "
        "value_year",
        [SURVEY],
    )
    assert rows == [
        # asked for the survey year only: last survey's answer beside this one
        (O1, "T_INTEGER", 2024, "R6", "１２", 12.0, 10.0, None, None),
        # asked for two years: this survey's year before; last survey's word on the same year
        (O1, "T_AMOUNT", 2023, "R5", "△148,507", -148507.0, None, 900.0, None),
        (O1, "T_AMOUNT", 2024, "R6", "1,234", 1234.0, -148507.0, None, "補正後"),
        (O1, "T_PERCENT", 2023, "令和5年度", "33.5%", 33.5, None, None, None),
        (O1, "T_PERCENT", 2024, "令和6年度", "34.0%", 34.0, 33.5, None, None),
        (O2, "T_INTEGER", 2024, "R6", "3", 3.0, None, None, None),
        (G2, "T_INTEGER", 2024, "R6", NA, None, None, None, None),
    ]


def test_number_totals(db: Path) -> None:
    rows = query(
        db,
        "SELECT item_id, value_year, answered_count, value_sum, value_min, value_max, value_avg, "
        "previous_year_sum, previous_year_count FROM item_number_totals WHERE survey_id = ? "
        "ORDER BY position, value_year",
        [SURVEY],
    )
    assert rows == [
        ("T_INTEGER", 2024, 2, 15.0, 3.0, 12.0, 7.5, 10.0, 1),  # G2's 該当なし is not counted
        ("T_AMOUNT", 2023, 1, -148507.0, -148507.0, -148507.0, -148507.0, None, None),
        ("T_AMOUNT", 2024, 1, 1234.0, 1234.0, 1234.0, 1234.0, -148507.0, 1),
        ("T_PERCENT", 2023, 1, 33.5, 33.5, 33.5, 33.5, None, None),
        ("T_PERCENT", 2024, 1, 34.0, 34.0, 34.0, 34.0, 33.5, 1),
    ]


# --- targets over the catalog's years -----------------------------------------------------------


def test_numeric_targets_long_has_year_labels_and_pivots(db: Path) -> None:
    """The README's cookbook pivot: one column per year label, the text as written."""
    with duckdb.connect(str(db), read_only=True) as con:
        labels = con.execute(
            "SELECT DISTINCT target_year, year_label FROM numeric_targets WHERE survey_id = ? ORDER BY 1",
            [SURVEY],
        ).fetchall()
        pivot = con.execute(
            "PIVOT (SELECT municipality_code, year_label, raw_text FROM numeric_targets WHERE survey_id = ?) "
            "ON year_label IN ('R3', 'R4', 'R5', 'R6', 'R11') USING any_value(raw_text) "
            "ORDER BY municipality_code",
            [SURVEY],
        ).fetchall()
        wide = con.execute(
            "SELECT municipality_code, y0, years_beyond FROM numeric_targets_wide WHERE survey_id = ? "
            "ORDER BY municipality_code",
            [SURVEY],
        ).fetchall()
    assert labels == [(2021, "R3"), (2022, "R4"), (2023, "R5"), (2024, "R6"), (2029, "R11")]
    assert pivot == [
        (O1, "93.5", "93.6", "93.70%", "93.90%", None),
        (O2, None, None, None, "95％以上", None),
        (G1, None, None, None, "前年度収納率を上回る", None),
        (G2, None, None, None, "【未設定】", None),
        (G3, None, None, None, None, "-"),
    ]
    # the wide view keeps its four years and says how many it leaves out
    assert wide == [
        (O1, "93.90%", 3),
        (O2, "95％以上", 0),
        (G1, "前年度収納率を上回る", 0),
        (G2, "【未設定】", 0),
        (G3, None, 1),
    ]


def test_loading_again_changes_nothing(tmp_path: Path) -> None:
    db = load_item_fixture(tmp_path)
    before = query(db, "SELECT * FROM item_summary ORDER BY ALL")
    cat2023, cat2024 = write_catalogs(tmp_path / "catalogs")
    files2023, files2024 = fixture_files(cat2023, cat2024)
    load_batch(db, item_batch([*files2023, *files2024]), catalogs=[cat2023, cat2024], run_id="run-again")
    assert query(db, "SELECT count(*) FROM item_responses") == [(22,)]
    assert query(db, "SELECT * FROM item_summary ORDER BY ALL") == before


def test_a_warehouse_without_the_new_columns_gets_them(tmp_path: Path) -> None:
    """responses and numeric_target_items created before 該当なし and year labels were kept."""
    from load.sql_files import sql

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    for table, column in (("responses", "not_applicable"), ("numeric_target_items", "year_label")):
        lines = [line for line in sql(f"tables/{table}").splitlines() if not line.lstrip().startswith(column)]
        ddl = "\n".join(lines).replace(
            "row_no            INTEGER,\n    -- 該当なし", "row_no INTEGER\n    -- "
        )
        con.execute(ddl)
        assert column not in [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    con.close()
    cat2023, cat2024 = write_catalogs(tmp_path / "catalogs")
    files2023, files2024 = fixture_files(cat2023, cat2024)
    load_batch(path, item_batch([*files2023, *files2024]), catalogs=[cat2023, cat2024], run_id="run-old")
    assert summary(path, "status_text")["T_CLINIC"] == ("2/3市町村（67%） 1市町村（増）",)


def test_readme_typed_item_queries_answer_on_the_fixture(db: Path) -> None:
    """Every query of the README cookbook's typed-items block runs and returns rows here (the
    fixture's survey is FY2024)."""
    from kokuho.config import project_root

    readme = (project_root() / "README.md").read_text(encoding="utf-8")
    block = readme.split("### Query cookbook", 1)[1].split("Typed items", 1)[1]
    block = block.split("```sql", 1)[1].split("```", 1)[0]
    statements = [
        s.strip()
        for s in block.split(";")
        if any(line.strip() and not line.strip().startswith("--") for line in s.splitlines())
    ]
    assert len(statements) >= 6
    with duckdb.connect(str(db), read_only=True) as con:
        for statement in statements:
            assert con.execute(statement).fetchall(), statement
