"""Every documented view against hand-computed expectations on the tiny fixture of test_warehouse.

Fixture, FY2024 accepted files (さいたま市 111007, 川越市 112011, 秩父市 112071 re-submitted; 東秩父村
113697 quarantined; the other 59 Saitama municipalities have sent nothing):

    measure  111007            112011              112071 (v2)        count  pct(/63)  FY2023  marker
    M001     ○ コンビニ…       ○ コンビニ…         ○ 地方税…          3      5         2       増
    M002     ○ コンビニ…       ○                   ○ コンビニ…        3      5         3       -
    M003     ○ 地方税…         (budget, no ○)      ○ 公金…            2      3         (none)  新
    M010     ○                 ○ —                                    2      3         2       -
    M011                       ○ 通信運搬費、…                        1      2         2       減
    M020     ○ 特定健康診査…                                          1      2         1       -
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_warehouse import (
    CATALOG_2024,
    CHICHIBU,
    HIGASHICHICHIBU,
    KAWAGOE,
    SAITAMA,
    FileSpec,
    Fixture,
    N,
    Y,
    batch_of,
    load_fixture,
    make_fixture,
    query,
    write_catalog,
)

from kokuho.codelists import ANSWER_YES, MARKER_DOWN, MARKER_NEW, MARKER_UP, MUNICIPALITY_STATUS_LABELS
from kokuho.municipalities import municipalities_of
from load.warehouse import load_batch
from transform.batch import StagingBatch

SURVEY_2024 = "11-2024-2024.1"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Fixture]:
    directory = tmp_path_factory.mktemp("views")
    fx = make_fixture(directory / "catalogs")
    db = directory / "kokuho.duckdb"
    load_fixture(db, fx)
    return db, fx


@pytest.fixture(scope="module")
def db(loaded: tuple[Path, Fixture]) -> Path:
    return loaded[0]


def test_measure_summary_counts_pct_lines_and_markers(db: Path) -> None:
    rows = query(
        db,
        "SELECT measure_id, implementing_count, municipality_total, implementing_pct, budget_lines, "
        "prev_year_count, change_marker FROM measure_summary WHERE fiscal_year = 2024 ORDER BY position",
    )
    assert rows == [
        ("M001", 3, 63, 5, ["コンビニ収納等業務委託料", "地方税共通納税システム利用料"], 2, MARKER_UP),
        ("M002", 3, 63, 5, ["コンビニ収納等業務委託料"], 3, None),
        # tie (one municipality each): the line given by the lowest municipality code first
        ("M003", 2, 63, 3, ["地方税共通納税システム利用料", "公金クレジット収納代行委託"], None, MARKER_NEW),
        ("M010", 2, 63, 3, [], 2, None),
        ("M011", 1, 63, 2, ["通信運搬費、報償費、記念品費"], 2, MARKER_DOWN),
        ("M020", 1, 63, 2, ["特定健康診査等事業費"], 1, None),
    ]


def test_measure_summary_columns_and_catalog_place(db: Path) -> None:
    con_rows = query(db, "SELECT * FROM measure_summary WHERE fiscal_year = 2024 AND measure_id = 'M020'")
    columns = [r[0] for r in query(db, "SELECT column_name FROM (DESCRIBE measure_summary)")]
    assert columns == [
        "fiscal_year",
        "prefecture_code",
        "measure_id",
        "section_no",
        "section",
        "subsection_no",
        "subsection",
        "group_code",
        "group_title",
        "subgroup_no",
        "subgroup_title",
        "item_no",
        "label",
        "implementing_count",
        "municipality_total",
        "implementing_pct",
        "budget_lines",
        "prev_year_count",
        "change_marker",
        "position",
        "table_id",
        "survey_id",
    ]
    assert con_rows == [
        (
            2024,
            "11",
            "M020",
            2,
            "医療費適正化関係",
            1,
            "特定健康診査受診率・特定保健指導実施率の向上",
            "イ",
            "特定保健指導実施率向上の取組",
            1,
            "利用環境の整備",
            1,
            "土日祝日、早朝夜間実施",
            1,
            63,
            2,
            ["特定健康診査等事業費"],
            1,
            None,
            6,
            "2-1-イ-1",
            SURVEY_2024,
        )
    ]


def test_first_year_has_no_markers(db: Path) -> None:
    rows = query(
        db,
        "SELECT measure_id, implementing_count, prev_year_count, change_marker FROM measure_summary "
        "WHERE fiscal_year = 2023 ORDER BY position",
    )
    assert rows == [
        ("M001", 2, None, None),
        ("M002", 3, None, None),
        ("M099", 1, None, None),
        ("M010", 2, None, None),
        ("M011", 2, None, None),
        ("M020", 1, None, None),
    ]


def test_label_reworded_keeps_matching_by_id(db: Path) -> None:
    labels = query(
        db,
        "SELECT fiscal_year, label FROM measure_summary WHERE measure_id = 'M001' ORDER BY fiscal_year",
    )
    assert labels == [
        (2023, "スマホアプリ収納（PayB、LINEPayなど）"),
        (2024, "スマホアプリ収納（PayB、LINEPay、PayPayなど）"),
    ]
    got = query(
        db,
        "SELECT prev_year_count, change_marker FROM measure_summary "
        "WHERE fiscal_year = 2024 AND label = 'スマホアプリ収納（PayB、LINEPay、PayPayなど）'",
    )
    assert got == [(2, MARKER_UP)]


def test_no_markers_when_previous_survey_has_no_data(tmp_path: Path) -> None:
    fx = make_fixture(tmp_path / "catalogs")
    db = tmp_path / "kokuho.duckdb"
    load_batch(db, batch_of(fx.files2024), catalogs=fx.catalogs, run_id="r")
    assert query(db, "SELECT DISTINCT change_marker, prev_year_count FROM measure_summary") == [(None, None)]


def test_previous_year_ids_map_a_changed_id(tmp_path: Path) -> None:
    fx = make_fixture(tmp_path / "catalogs")
    mapped = write_catalog(
        tmp_path / "mapped", CATALOG_2024 + "previous_year_ids: {M003: M099}\n", "11_2024.yaml"
    )
    db = tmp_path / "kokuho.duckdb"
    files = [
        *fx.files2023,
        *(FileSpec(f.name, f.municipality_code, mapped, f.received_at, f.answers) for f in fx.files2024[:4]),
    ]
    load_batch(db, batch_of(files), catalogs=[fx.cat2023, mapped], run_id="r")
    got = query(db, "SELECT prev_year_count, change_marker FROM measure_summary WHERE measure_id = 'M003'")
    assert got == [(1, MARKER_UP)]  # M099 had 1 in FY2023, M003 has 2


def test_pct_rounds_half_up(tmp_path: Path) -> None:
    """Aomori has 40 municipalities: 1/40 = 2.5% -> 3, 3/40 = 7.5% -> 8, 5/40 = 12.5% -> 13."""
    text = CATALOG_2024.replace("prefecture_code: '11'", "prefecture_code: '02'")
    cat = write_catalog(tmp_path, text, "02_2024.yaml")
    codes = [m.code for m in municipalities_of("02")][:5]
    answers: list[dict[str, tuple[str, str | None]]] = [
        {"M001": (Y, None), "M002": (Y, None), "M003": (Y, None)},
        {"M002": (Y, None), "M003": (Y, None)},
        {"M002": (Y, None), "M003": (Y, None)},
        {"M003": (Y, None)},
        {"M003": (Y, None)},
    ]
    files = [
        FileSpec(f"{c}.xlsx", c, cat, "2024-05-01T00:00:00", a) for c, a in zip(codes, answers, strict=True)
    ]
    db = tmp_path / "kokuho.duckdb"
    load_batch(db, batch_of(files), catalogs=[cat], run_id="r")
    got = query(
        db,
        "SELECT measure_id, implementing_count, municipality_total, implementing_pct FROM measure_summary "
        "WHERE measure_id IN ('M001', 'M002', 'M003', 'M010') ORDER BY position",
    )
    assert got == [("M001", 1, 40, 3), ("M002", 3, 40, 8), ("M003", 5, 40, 13), ("M010", 0, 40, 0)]


def test_budget_lines_view(db: Path) -> None:
    rows = query(
        db,
        "SELECT measure_id, budget_line, rank, municipality_count, municipality_codes, municipality_names "
        "FROM budget_lines WHERE fiscal_year = 2024",
    )
    assert rows == [
        ("M001", "コンビニ収納等業務委託料", 1, 2, [SAITAMA, KAWAGOE], ["さいたま市", "川越市"]),
        ("M001", "地方税共通納税システム利用料", 2, 1, [CHICHIBU], ["秩父市"]),
        ("M002", "コンビニ収納等業務委託料", 1, 2, [SAITAMA, CHICHIBU], ["さいたま市", "秩父市"]),
        ("M003", "地方税共通納税システム利用料", 1, 1, [SAITAMA], ["さいたま市"]),
        ("M003", "公金クレジット収納代行委託", 2, 1, [CHICHIBU], ["秩父市"]),
        ("M011", "通信運搬費、報償費、記念品費", 1, 1, [KAWAGOE], ["川越市"]),
        ("M020", "特定健康診査等事業費", 1, 1, [SAITAMA], ["さいたま市"]),
    ]


def test_own_initiatives_view(db: Path) -> None:
    rows = query(
        db,
        "SELECT table_id, heading, municipality_code, municipality_name, text, budget_line "
        "FROM own_initiatives WHERE fiscal_year = 2024",
    )
    assert rows == [
        (
            "1-1",
            "(1) 納期内納付の促進",
            SAITAMA,
            "さいたま市",
            "口座振替キャンペーン（啓発品等プレゼントの配布）",
            "債権管理事業（需用費）、消耗品費",
        ),
        (
            "1-1",
            "(1) 納期内納付の促進",
            CHICHIBU,
            "秩父市",
            "メール配信サービス・SMSによる納期限の周知",
            "自動電話催告システム賃借料",
        ),
        (
            "2-1-ア-1",
            "(1) 特定健康診査受診率・特定保健指導実施率の向上 ア 特定健康診査受診率向上の取組 ①受診勧奨の強化",
            CHICHIBU,
            "秩父市",
            "LINEアプリによる特定健診等申込",
            None,
        ),
    ]
    titles = query(
        db,
        "SELECT section, subsection, group_title, subgroup_title FROM own_initiatives WHERE table_id = '2-1-ア-1'",
    )
    assert titles == [
        (
            "医療費適正化関係",
            "特定健康診査受診率・特定保健指導実施率の向上",
            "特定健康診査受診率向上の取組",
            "受診勧奨の強化",
        )
    ]


def test_current_submissions_are_the_files_the_views_count(db: Path) -> None:
    """One current file per municipality and survey: the re-submitted 秩父市 counts its 修正版 only,
    the quarantined 東秩父村 file none."""
    rows = query(
        db,
        "SELECT municipality_code, file_name FROM current_submissions WHERE survey_id = ? ORDER BY 1",
        [SURVEY_2024],
    )
    assert rows == [
        (SAITAMA, "R6_111007_さいたま市.xlsx"),
        (KAWAGOE, "R6_112011.xlsx"),
        (CHICHIBU, "R6_112071_修正版.xlsx"),
    ]
    counted = query(
        db,
        "SELECT DISTINCT municipality_code FROM municipality_matrix WHERE survey_id = ? AND submitted ORDER BY 1",
        [SURVEY_2024],
    )
    assert [r[0] for r in counted] == [r[0] for r in rows]


def test_submission_status_view(db: Path) -> None:
    rows = query(
        db,
        "SELECT municipality_code, status, status_code, latest_file_name, reason_codes, file_count, "
        "accepted_file_name FROM submission_status WHERE fiscal_year = 2024",
    )
    assert len(rows) == 63
    missing = [r for r in rows if r[1] == MUNICIPALITY_STATUS_LABELS["missing"]]
    assert len(missing) == 59
    assert rows[:59] == missing  # 未提出 first
    assert [r[0] for r in missing] == sorted(r[0] for r in missing)
    assert missing[0][2:] == ("missing", None, None, 0, None)
    assert rows[59:] == [
        (HIGASHICHICHIBU, "差戻し", "returned", "R6_113697.xlsx", ["UNKNOWN_ANSWER"], 1, None),
        (CHICHIBU, "再提出", "resubmitted", "R6_112071_修正版.xlsx", None, 2, "R6_112071_修正版.xlsx"),
        (SAITAMA, "受理", "accepted", "R6_111007_さいたま市.xlsx", None, 1, "R6_111007_さいたま市.xlsx"),
        (KAWAGOE, "受理", "accepted", "R6_112011.xlsx", None, 1, "R6_112011.xlsx"),
    ]
    reasons = query(
        db,
        "SELECT reasons FROM submission_status WHERE fiscal_year = 2024 AND municipality_code = ?",
        [HIGASHICHICHIBU],
    )[0][0]
    assert len(reasons) == 1 and "R6_113697.xlsx" in reasons[0] and "D10" in reasons[0]
    assert set(MUNICIPALITY_STATUS_LABELS.values()) >= {r[1] for r in rows}


def test_returned_after_accepted_keeps_counting_the_accepted_file(tmp_path: Path) -> None:
    fx = make_fixture(tmp_path / "catalogs")
    saitama = fx.files2024[0]
    broken = FileSpec(
        saitama.name,
        SAITAMA,
        fx.cat2024,
        "2024-06-01T00:00:00",
        {"M011": (Y, None)},
        issues=["UNKNOWN_ANSWER"],
    )
    db = tmp_path / "kokuho.duckdb"
    load_batch(db, batch_of([saitama, broken]), catalogs=fx.catalogs, run_id="r")
    status = query(
        db,
        "SELECT status, latest_file_status, accepted_file_name FROM submission_status "
        "WHERE fiscal_year = 2024 AND municipality_code = ?",
        [SAITAMA],
    )
    assert status == [("差戻し", "quarantined", saitama.name)]
    counts = query(
        db,
        "SELECT measure_id, implementing_count FROM measure_summary WHERE fiscal_year = 2024 AND measure_id IN ('M001', 'M011')",
    )
    assert counts == [("M001", 1), ("M011", 0)]


def test_numeric_targets_long(db: Path) -> None:
    rows = query(
        db,
        "SELECT municipality_code, municipality_name, target_id, label, target_year, year_offset, value, "
        "qualifier, raw_text, note FROM numeric_targets WHERE fiscal_year = 2024",
    )
    assert rows == [
        (
            SAITAMA,
            "さいたま市",
            "collection_rate_current",
            "収納率目標（現年分）",
            2024,
            0,
            93.5,
            None,
            "93.5",
            "第3期中期目標",
        ),
        (
            SAITAMA,
            "さいたま市",
            "collection_rate_current",
            "収納率目標（現年分）",
            2025,
            1,
            95.0,
            "以上",
            "95％以上",
            "第3期中期目標",
        ),
        (
            SAITAMA,
            "さいたま市",
            "collection_rate_current",
            "収納率目標（現年分）",
            2026,
            2,
            None,
            "前年度以上",
            "前年度以上",
            None,
        ),
        (SAITAMA, "さいたま市", "checkup_rate", "特定健診受診率目標", 2024, 0, 34.0, None, "34.0%", None),
        (
            KAWAGOE,
            "川越市",
            "collection_rate_current",
            "収納率目標（現年分）",
            2024,
            0,
            None,
            "未設定",
            "【未設定】",
            "個別対応に注力",
        ),
    ]


def test_numeric_targets_wide(db: Path) -> None:
    rows = query(
        db,
        "SELECT municipality_code, target_id, y0_label, y0, y0_value, y1_label, y1, y1_value, y2_label, y2, "
        "y2_value, y3_label, y3, y3_value, note FROM numeric_targets_wide WHERE fiscal_year = 2024",
    )
    years = ("R6", "R7", "R8", "R9")

    def row(code: str, target: str, cells: list[tuple[str | None, float | None]], note: str | None) -> tuple:
        flat: list = [code, target]
        for label, (text, value) in zip(years, cells, strict=True):
            flat += [label, text, value]
        return (*flat, note)

    none4: list[tuple[str | None, float | None]] = [(None, None)] * 4
    assert rows == [
        row(
            SAITAMA,
            "collection_rate_current",
            [("93.5", 93.5), ("95％以上", 95.0), ("前年度以上", None), (None, None)],
            "第3期中期目標",
        ),
        row(SAITAMA, "checkup_rate", [("34.0%", 34.0), (None, None), (None, None), (None, None)], None),
        row(
            KAWAGOE,
            "collection_rate_current",
            [("【未設定】", None), (None, None), (None, None), (None, None)],
            "個別対応に注力",
        ),
        row(KAWAGOE, "checkup_rate", none4, None),
        row(CHICHIBU, "collection_rate_current", none4, None),
        row(CHICHIBU, "checkup_rate", none4, None),
    ]


def test_municipality_matrix(db: Path) -> None:
    rows = query(
        db,
        "SELECT municipality_code, measure_id, mark FROM municipality_matrix "
        "WHERE fiscal_year = 2024 AND municipality_code IN (?, ?, ?, ?)",
        [SAITAMA, KAWAGOE, CHICHIBU, HIGASHICHICHIBU],
    )
    marks = {(code, measure): mark for code, measure, mark in rows}
    assert [marks[(SAITAMA, m)] for m in ("M001", "M002", "M003", "M010", "M011", "M020")] == [
        Y,
        Y,
        Y,
        Y,
        N,
        Y,
    ]
    assert [marks[(KAWAGOE, m)] for m in ("M001", "M002", "M003", "M010", "M011", "M020")] == [
        Y,
        Y,
        N,
        Y,
        Y,
        N,
    ]
    # the re-submission's answers, not the superseded file's
    assert [marks[(CHICHIBU, m)] for m in ("M001", "M002", "M003", "M010", "M011", "M020")] == [
        Y,
        Y,
        Y,
        N,
        N,
        N,
    ]
    # quarantined only: no accepted file, so no answers at all
    assert {marks[(HIGASHICHICHIBU, m)] for m in ("M001", "M020")} == {None}
    assert query(db, "SELECT count(*) FROM municipality_matrix WHERE fiscal_year = 2024") == [(63 * 6,)]
    totals = query(
        db,
        "SELECT measure_id, count(*) FILTER (WHERE mark = ?) FROM municipality_matrix WHERE fiscal_year = 2024 "
        "GROUP BY measure_id, position ORDER BY position",
        [ANSWER_YES],
    )
    summary = query(db, "SELECT measure_id, implementing_count FROM measure_summary WHERE fiscal_year = 2024")
    assert totals == summary
    order = query(
        db, "SELECT municipality_code, position FROM municipality_matrix WHERE fiscal_year = 2024 LIMIT 7"
    )
    assert order[0][0] == order[5][0] and [p for _, p in order[:6]] == [1, 2, 3, 4, 5, 6]
    assert order[6][0] > order[0][0]


def test_quarantined_files_without_known_survey_or_code_still_count_as_returned(tmp_path: Path) -> None:
    fx = make_fixture(tmp_path / "catalogs")
    draft = FileSpec(
        "112089_所沢市_案.xlsx", "112089", fx.cat2024, "2024-05-01T00:00:00", issues=["WRONG_SURVEY"]
    )
    draft_batch = draft.batch()
    draft_batch.submissions["survey_id"] = "11-2024-0.9-draft"
    draft_batch.submissions["catalog_version"] = "0.9-draft"
    no_code = FileSpec(
        "112097_飯能市.xlsx", None, fx.cat2024, "2024-05-01T00:00:00", issues=["MUNICIPALITY_CODE_INVALID"]
    )
    no_code_batch = no_code.batch()
    no_code_batch.submissions["filename_municipality_code"] = "112097"
    db = tmp_path / "kokuho.duckdb"
    load_batch(db, StagingBatch.concat([draft_batch, no_code_batch]), catalogs=fx.catalogs, run_id="r")
    rows = query(
        db,
        "SELECT municipality_code, status, latest_file_name FROM submission_status "
        "WHERE fiscal_year = 2024 AND status_code = 'returned'",
    )
    assert rows == [("112089", "差戻し", draft.name), ("112097", "差戻し", no_code.name)]
    assert query(
        db, "SELECT count(*) FROM submission_status WHERE fiscal_year = 2023 AND status_code = 'returned'"
    ) == [(0,)]


def test_resubmission_changes_view(db: Path) -> None:
    """秩父市 re-sent its FY2024 file; hand-computed from the fixture (v1 → 修正版):
    M001 and M003 became ○ (with budget lines), M002 kept ○ but gained a budget line,
    M010, M011 and M020 are no longer ○."""
    rows = query(
        db,
        "SELECT municipality_code, measure_id, old_answer, new_answer, old_budget_line, new_budget_line, "
        "change, old_file_name, new_file_name FROM resubmission_changes ORDER BY position",
    )
    Y_, N_ = ANSWER_YES, ""
    old, new = "R6_112071.xlsx", "R6_112071_修正版.xlsx"
    assert rows == [
        (CHICHIBU, "M001", N_, Y_, None, "地方税共通納税システム利用料", "changed", old, new),
        (CHICHIBU, "M002", Y_, Y_, None, "コンビニ収納等業務委託料", "changed", old, new),
        (CHICHIBU, "M003", N_, Y_, None, "公金クレジット収納代行委託", "changed", old, new),
        (CHICHIBU, "M010", Y_, N_, None, None, "changed", old, new),
        (CHICHIBU, "M011", Y_, N_, None, None, "changed", old, new),
        (CHICHIBU, "M020", Y_, N_, None, None, "changed", old, new),
    ]
