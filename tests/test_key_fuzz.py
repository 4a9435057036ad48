"""Property tests: the template keys and the cells are untrusted, so their parsers and staging must
take anything. Random keys (Unicode digits such as "²" and "٣", numbers far beyond INT32, text)
and random cell values never make a parser or staging raise: each gives either a valid parse or
an issue for its file, and what is staged always fits the staging contract.

Bounded: few examples each, no example database, the whole module in a few seconds.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extract.model import ExtractedWorkbook, RawRow, RawSheet
from extract.sheetscan import MAX_EXCEL_ROWS, PackageError, SheetScan, row_number, scan_sheet_xml
from kokuho import codelists, layout
from kokuho.catalog import Catalog, load_catalog_for
from transform.batch import StagingBatch
from transform.contracts import contract
from transform.routing import claimed_survey
from transform.staging import StagedBatchBuilder, check_staged, stage_file

FUZZ = settings(
    max_examples=60,
    deadline=5000,  # ms per example: generous on a shared machine; only a runaway trips it
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ASCII_DIGITS = set("0123456789")
ISSUE_COLUMNS = contract("file_issues").column_names
YEAR_AT = {
    table: contract(table).column_names.index("fiscal_year")
    for table in StagingBatch.TABLES.values()
    if "fiscal_year" in contract(table).column_names
}
TARGET_YEAR_AT = contract("stg_numeric_targets").column_names.index("target_year")


@cache
def catalog() -> Catalog:
    return load_catalog_for("11", 2024)


# --- strategies --------------------------------------------------------------------------------

# Characters str.isdigit or str.isdecimal accept but int() may refuse, and their ASCII kin.
DIGIT_LIKE = "0123456789²³¹⁰⁴⁵⁹₀₂٣٤۵०१২௫੭໘᠑０１２９ -+_."
numberish = st.one_of(
    st.text(alphabet=DIGIT_LIKE, max_size=12),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.integers(min_value=1990, max_value=2110).map(str),
    st.just("9" * 5000),
    st.text(max_size=20),
)
versionish = st.one_of(st.just("2024.1"), st.text(max_size=40), numberish)


def _keys() -> st.SearchStrategy[str]:
    cat = catalog()
    measures = [m.id for m in cat.measures[:5]]
    tables = [t.table_id for t in cat.tables[:3]]
    targets = [t.id for t in cat.numeric_targets]
    return st.one_of(
        st.builds(lambda n: layout.meta_key(layout.META_FISCAL_YEAR, n), numberish),
        st.builds(lambda n: layout.meta_key(layout.META_PREFECTURE, n), numberish),
        st.builds(lambda v: layout.meta_key(layout.META_CATALOG_VERSION, v), versionish),
        st.builds(
            lambda p, y, v: layout.meta_key(layout.META_SURVEY_ID, f"{p}-{y}-{v}"),
            numberish,
            numberish,
            versionish,
        ),
        st.builds(lambda m: layout.measure_key(m), st.sampled_from(measures) | st.text(max_size=10)),
        st.builds(
            lambda t, n: f"{layout.OWN_PREFIX}{t}:{n}",
            st.sampled_from(tables) | st.text(max_size=6),
            numberish,
        ),
        st.builds(
            lambda t, n: f"{layout.TARGET_PREFIX}{t}:{n}",
            st.sampled_from(targets) | st.text(max_size=6),
            numberish,
        ),
        st.builds(lambda n: f"{layout.SHEET_SECTION_PREFIX}{n}", numberish),
        st.sampled_from([layout.COLUMN_HEADER_KEY, layout.SHEET_COVER, layout.SHEET_TARGETS, "meta:", "="]),
        st.text(max_size=30),
    )


cell_values = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(["○", "×", "１", "95％以上", "前年度以上", "【未設定】", "=SUM(A1)", "#REF!"]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.dates(min_value=date(1900, 1, 1)),
    st.times(),
)
columns = st.sampled_from("BCDEFG")
addresses = st.builds(lambda c, r: f"{c}{r}", st.sampled_from(["A", "D", "E", "XFD", "d"]), numberish)


@st.composite
def rows(draw: Any, keys: st.SearchStrategy[str], start: int) -> list[RawRow]:
    found = []
    for n in range(draw(st.integers(min_value=0, max_value=8))):
        key = draw(st.none() | keys)
        cells = draw(st.dictionaries(columns, cell_values, max_size=4))
        cells = {c: v for c, v in cells.items() if v is not None and v != ""}
        found.append(RawRow(start + n, key, cells, draw(st.booleans())))
    return found


@st.composite
def workbooks(draw: Any) -> ExtractedWorkbook:
    """A small workbook shaped like the template, with random keys and cells everywhere."""
    cat = catalog()
    keys = _keys()
    valid_cover = [
        layout.meta_key(layout.META_PREFECTURE, cat.prefecture_code),
        layout.meta_key(layout.META_FISCAL_YEAR, cat.fiscal_year),
        layout.meta_key(layout.META_CATALOG_VERSION, cat.catalog_version),
        layout.meta_key(layout.META_SURVEY_ID, cat.survey_id),
    ]
    cover = [RawRow(1, draw(st.sampled_from([layout.SHEET_COVER]) | keys), {})]
    for n, key in enumerate(valid_cover, start=3):
        cover.append(RawRow(n, draw(st.just(key) | keys), {"C": draw(cell_values)}))
    cover.append(RawRow(10, layout.META_MUNICIPALITY_CODE, {"C": draw(st.just("112011") | cell_values)}))
    cover.append(RawRow(11, layout.META_MUNICIPALITY_NAME, {"C": draw(st.just("川越市") | cell_values)}))
    cover += draw(rows(keys, 20))
    section_rows = [RawRow(1, draw(st.just(layout.section_sheet_key(1)) | keys), {})]
    section_rows.append(
        RawRow(
            3,
            layout.COLUMN_HEADER_KEY,
            {layout.SECTION_COLUMNS[k]: v for k, v in layout.SECTION_HEADERS.items()},
        )
    )
    section_rows.append(RawRow(4, layout.measure_key(cat.measures[0].id), {"D": draw(cell_values)}))
    section_rows += draw(rows(keys, 5))
    target_rows = [RawRow(1, layout.SHEET_TARGETS, {})]
    target_rows.append(
        RawRow(4, layout.target_key(cat.numeric_targets[0].id, cat.fiscal_year), {"D": draw(cell_values)})
    )
    target_rows += draw(rows(keys, 5))
    small = st.lists(addresses, max_size=3)
    sheets = [
        RawSheet(layout.COVER_TITLE, cover[0].key, True, cover),
        RawSheet(
            draw(st.sampled_from(["1 保険税関係", "x"]) | st.text(max_size=8)),
            section_rows[0].key,
            draw(st.booleans()),
            section_rows,
            merged_ranges=draw(
                st.lists(st.builds(lambda a, b: f"{a}:{b}", addresses, addresses), max_size=3)
            ),
            formula_without_value=draw(small),
            error_cells=dict.fromkeys(draw(small), "#REF!"),
            formula_text={},
            percent_cells=set(draw(small)),
        ),
        RawSheet(
            layout.TARGETS_TITLE, layout.SHEET_TARGETS, True, target_rows, percent_cells=set(draw(small))
        ),
    ]
    return ExtractedWorkbook(
        file_name=draw(st.sampled_from(["112011_川越市.xlsx", "x.xlsx"]) | st.text(min_size=1, max_size=20)),
        file_path="/inbox/x.xlsx",
        sha256="ab" * 32,
        file_size=1000,
        received_at=1_717_200_000.0,
        file_kind="xlsx",
        sheets=sheets,
    )


# --- key parsers -------------------------------------------------------------------------------


@FUZZ
@given(st.text(max_size=30) | numberish, st.integers(0, 3000), st.integers(0, 3000))
def test_bounded_int_is_ascii_digits_in_range_or_none(text: str, low: int, span: int) -> None:
    parsed = layout.parse_bounded_int(text, low, low + span)
    if parsed is not None:
        assert low <= parsed <= low + span
        assert set(text.strip()) <= ASCII_DIGITS and int(text.strip()) == parsed


@FUZZ
@given(numberish)
def test_identity_key_values_are_valid_or_none(text: str) -> None:
    year = layout.parse_fiscal_year(text)
    assert year is None or (type(year) is int and layout.FISCAL_YEAR_MIN <= year <= layout.FISCAL_YEAR_MAX)
    prefecture = layout.parse_prefecture_code(text)
    assert prefecture is None or (len(prefecture) == 2 and 0 <= int(prefecture) <= 47)
    version = layout.parse_catalog_version(text)
    assert version is None or (0 < len(version) <= 32 and version.isascii())
    survey = layout.parse_survey_id(f"{text}-{text}-{text}")
    assert survey is None or survey == (prefecture, year, version)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11", "11"),
        ("1", "01"),
        ("47", "47"),
        ("00", "00"),
        ("0", "00"),
        ("48", None),
        ("¹¹", None),
        ("", None),
    ],
)
def test_prefecture_key_values_include_the_nationwide_survey(text: str, expected: str | None) -> None:
    assert layout.parse_prefecture_code(text) == expected


@FUZZ
@given(_keys())
def test_row_keys_parse_to_valid_values_or_none(key: str) -> None:
    own = layout.parse_own_key(key)
    assert own is None or (own[0] and type(own[1]) is int and 1 <= own[1] <= layout.OWN_ROWS_MAX)
    target = layout.parse_target_key(key)
    assert target is None or (
        target[0] and type(target[1]) is int and layout.FISCAL_YEAR_MIN <= target[1] <= layout.FISCAL_YEAR_MAX
    )
    meta = layout.parse_meta_key(key)
    assert meta is None or f"{meta[0]}={meta[1]}" == key
    valid_sheet = layout.is_valid_sheet_key(key)
    assert not valid_sheet or key.startswith("kokuho:")


@FUZZ
@given(st.text(min_size=1, max_size=10).filter(lambda t: t == t.strip()), st.integers(1, layout.OWN_ROWS_MAX))
def test_own_and_target_keys_round_trip(table_id: str, n: int) -> None:
    assert layout.parse_own_key(layout.own_key(table_id, n)) == (table_id, n)
    year = layout.FISCAL_YEAR_MIN + n % (layout.FISCAL_YEAR_MAX - layout.FISCAL_YEAR_MIN + 1)
    assert layout.parse_target_key(layout.target_key(table_id, year)) == (table_id, year)


@FUZZ
@given(st.binary(max_size=12) | st.text(alphabet=DIGIT_LIKE, max_size=5000).map(str.encode))
def test_row_numbers_of_sheet_xml_are_bounded(raw: bytes) -> None:
    number = row_number(raw)
    assert number is None or (type(number) is int and 0 <= number <= MAX_EXCEL_ROWS + 1)


@FUZZ
@given(st.lists(st.tuples(numberish, st.booleans(), numberish), max_size=4))
def test_sheet_scan_takes_any_row_and_cell_reference(rows_: list[tuple[str, bool, str]]) -> None:
    hidden_attr = {True: ' hidden="1"', False: ""}
    body = "".join(
        f'<row r="{r}"{hidden_attr[hidden]}><c r="D{c}"><v>1</v></c></row>' for r, hidden, c in rows_
    )
    merged = f'<mergeCells><mergeCell ref="D1:D{rows_[0][0] if rows_ else 1}"/></mergeCells>'
    data = f"<worksheet><sheetData>{body}</sheetData>{merged}</worksheet>"
    try:
        scan = scan_sheet_xml(
            data.encode("utf-8", "surrogatepass"), frozenset(), SheetScan("s", True, "worksheet", "p")
        )
    except PackageError as error:  # malformed sheet XML (a '"' in a reference): the file's issue
        assert "シート「s」" in str(error)
        return
    assert all(0 <= r <= MAX_EXCEL_ROWS + 1 for r in scan.hidden_rows)


# --- routing and staging -----------------------------------------------------------------------


@FUZZ
@given(workbooks())
def test_claimed_survey_is_valid_or_none(workbook: ExtractedWorkbook) -> None:
    prefecture, year = claimed_survey(workbook)
    assert prefecture is None or layout.parse_prefecture_code(prefecture) == prefecture
    assert year is None or layout.FISCAL_YEAR_MIN <= year <= layout.FISCAL_YEAR_MAX


@FUZZ
@given(workbooks())
def test_staging_takes_any_keys_and_cells(workbook: ExtractedWorkbook) -> None:
    staged = check_staged(stage_file(workbook, "11", 2024))
    sha256, survey_id, tables = staged
    assert sha256 == workbook.sha256
    *_, targets, issues = tables
    for row in issues:
        issue = dict(zip(ISSUE_COLUMNS, row, strict=True))
        assert issue["code"] in codelists.ISSUES, issue
        assert issue["rule"] != "staging", issue  # staging itself never failed: no bug was hidden
        assert f"ファイル「{workbook.file_name}」" in issue["message"]
    for table, rows_ in zip(StagingBatch.TABLES.values(), tables, strict=True):
        if table in YEAR_AT:
            years = [row[YEAR_AT[table]] for row in rows_]
            assert all(y is None or layout.FISCAL_YEAR_MIN <= y <= layout.FISCAL_YEAR_MAX for y in years)
    for row in targets:
        assert layout.FISCAL_YEAR_MIN <= row[TARGET_YEAR_AT] <= layout.FISCAL_YEAR_MAX
    # What is staged fits the staging contract (int64 columns, text, floats): it converts to Arrow.
    builder = StagedBatchBuilder()
    builder.add(0, staged)
    batch, _ = builder.finish()
    assert len(batch.issues) == len(issues)


# --- the cases the fuzz is about, spelled out -------------------------------------------------


def _cover_only(meta: dict[str, str | None]) -> ExtractedWorkbook:
    cover = [RawRow(1, layout.SHEET_COVER, {})]
    cover += [RawRow(n, layout.meta_key(k, v), {}) for n, (k, v) in enumerate(meta.items(), start=3)]
    cover.append(RawRow(10, layout.META_MUNICIPALITY_CODE, {"C": "112011"}))
    cover.append(RawRow(11, layout.META_MUNICIPALITY_NAME, {"C": "川越市"}))
    return ExtractedWorkbook(
        "112011_川越市.xlsx",
        "/inbox/x.xlsx",
        "cd" * 32,
        1,
        0.0,
        "xlsx",
        sheets=[RawSheet(layout.COVER_TITLE, layout.SHEET_COVER, True, cover)],
    )


VALID_META = {
    layout.META_FISCAL_YEAR: "2024",
    layout.META_PREFECTURE: "11",
    layout.META_CATALOG_VERSION: "2024.1",
    layout.META_SURVEY_ID: "11-2024-2024.1",
}


@pytest.mark.parametrize(
    ("name", "value", "codes"),
    [
        (None, None, {"MISSING_SHEET"}),  # the template's keys: only the missing sheets are reported
        (layout.META_FISCAL_YEAR, "2019", {"WRONG_SURVEY"}),  # a plausible year of another survey
        (layout.META_FISCAL_YEAR, "202²", {"TEMPLATE_KEY_INVALID"}),
        (layout.META_FISCAL_YEAR, "２０２４", {"TEMPLATE_KEY_INVALID"}),
        (layout.META_FISCAL_YEAR, "2147483648", {"TEMPLATE_KEY_INVALID"}),
        (layout.META_FISCAL_YEAR, "1999", {"TEMPLATE_KEY_INVALID"}),
        (layout.META_PREFECTURE, "٣", {"TEMPLATE_KEY_INVALID"}),
        (layout.META_PREFECTURE, "48", {"TEMPLATE_KEY_INVALID"}),
        (layout.META_CATALOG_VERSION, "0.9-draft", {"WRONG_SURVEY"}),  # the demo's draft template
        (layout.META_CATALOG_VERSION, "2024.1;DROP", {"TEMPLATE_KEY_INVALID"}),
        (layout.META_SURVEY_ID, "11-20²4-2024.1", {"TEMPLATE_KEY_INVALID"}),
        (layout.META_SURVEY_ID, "11-2024-2024.1-x", {"WRONG_SURVEY"}),
    ],
)
def test_cover_keys_are_validated_and_named(name: str | None, value: str | None, codes: set[str]) -> None:
    meta: dict[str, str | None] = dict(VALID_META)
    if name is not None:
        meta[name] = value
    staged = check_staged(stage_file(_cover_only(meta), "11", 2024))
    issues = [dict(zip(ISSUE_COLUMNS, row, strict=True)) for row in staged[2][-1]]
    assert {i["code"] for i in issues} == codes
    for issue in issues:
        if issue["code"] == "TEMPLATE_KEY_INVALID":
            assert name is not None  # only a changed key can be invalid
            row = 3 + list(meta).index(name)
            assert (issue["sheet"], issue["cell"], issue["value"]) == (
                layout.COVER_TITLE,
                f"A{row}",
                f"{name}={value}",
            )
            assert "識別キー" in issue["message"]
    assert len(staged[2][0]) == 1  # the submission is recorded whatever its keys say
