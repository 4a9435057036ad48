"""Catalog sum rules (total = sum of parts) checked in validation: seed 003's cost table
arithmetic (0 + 17,054,564 + △148,507 = 16,906,057) passes; one 千円 off fails naming the cell."""

from __future__ import annotations

import pandas as pd
import pytest
from indicator_fixtures import NAGANO, catalog

from transform.batch import StagingBatch, arrow_from_rows, conform, frame_from_arrow
from transform.contracts import contract
from transform.staging.rules import amount_text, rule_check_rows

SHA = "f" * 64
FILE = f"{NAGANO}_2024_事業改善シート.xlsx"
PARTS = {"N_BUDGET_CARRIED": (0.0, "0"), "N_BUDGET_INITIAL": (17054564.0, "17,054,564")}


def item_value_rows(
    total: float, total_raw: str, supplementary: tuple[float | None, str] | None
) -> list[tuple]:
    """stg_item_values rows (contract order) of one file's R6 budget lines, the total in D14."""
    cat = catalog()
    given: dict[str, tuple[float | None, str]] = {**PARTS, "N_BUDGET_TOTAL": (total, total_raw)}
    if supplementary is not None:
        given["N_BUDGET_SUPPLEMENTARY"] = supplementary
    rows = []
    for row_no, (item_id, (value, raw)) in enumerate(given.items(), start=11):
        if item_id == "N_BUDGET_TOTAL":
            row_no = 14
        record = {
            "file_name": FILE,
            "sha256": SHA,
            "sheet": "1-3 事業コスト",
            "cell": f"D{row_no}",
            "row_no": row_no,
            "municipality_code": NAGANO,
            "survey_id": cat.survey_id,
            "fiscal_year": 2024,
            "item_id": item_id,
            "item_type": "amount",
            "value_year": 2024,
            "raw_text": raw,
            "value": value,
            "not_applicable": False,
        }
        rows.append(tuple(record.get(c) for c in contract("stg_item_values").column_names))
    return rows


@pytest.mark.parametrize(
    ("amount", "text"),
    [(-148507, "△148,507"), (16906057, "16,906,057"), (0, "0"), (5.7, "5.7"), (-1234.5, "△1,234.5")],
)
def test_amount_text(amount: float, text: str) -> None:
    assert amount_text(amount) == text


def test_seed_003_arithmetic_holds() -> None:
    rows = rule_check_rows(item_value_rows(16906057, "16,906,057", (-148507, "△148,507")), catalog())
    assert len(rows) == 1
    check = dict(zip(contract("stg_rule_checks").column_names, rows[0], strict=True))
    assert check["rule_id"] == "budget_total"
    assert check["cell"] == "D14"
    assert (check["total"], check["parts_sum"], check["difference"]) == (16906057, 16906057, 0)
    assert check["parts_raw"] == "0 + 17,054,564 + △148,507"


def test_a_blank_part_counts_as_zero_and_a_missing_total_is_not_checked() -> None:
    rows = rule_check_rows(item_value_rows(17054564, "17,054,564", None), catalog())
    check = dict(zip(contract("stg_rule_checks").column_names, rows[0], strict=True))
    assert check["difference"] == 0
    assert check["parts_raw"] == "0 + 17,054,564 + 空欄"
    no_total = [
        r
        for r in item_value_rows(1, "1", None)
        if r[contract("stg_item_values").column_names.index("item_id")] != "N_BUDGET_TOTAL"
    ]
    assert rule_check_rows(no_total, catalog()) == []


def test_an_unreadable_part_is_not_counted_as_zero() -> None:
    """`38,84O` (a letter O) is the file's ITEM_UNPARSEABLE already: the total is not also called wrong."""
    rows = rule_check_rows(item_value_rows(16906057, "16,906,057", (None, "△148,5O7")), catalog())
    assert rows == []


def batch_of(rule_rows: list[tuple]) -> StagingBatch:
    """A batch holding only the rule checks (and the file's submission row)."""
    sub = conform(
        pd.DataFrame(
            [
                {
                    "file_name": FILE,
                    "sha256": SHA,
                    "municipality_code": NAGANO,
                    "survey_id": catalog().survey_id,
                    "fiscal_year": 2024,
                    "prefecture_code": "20",
                    "catalog_version": "2024.1",
                    "sheet": "表紙",
                    "cell": "C6",
                }
            ]
        ),
        "stg_submissions",
    )
    empty = StagingBatch.empty()
    empty.submissions = sub
    empty.rule_checks = frame_from_arrow([arrow_from_rows(rule_rows, "stg_rule_checks")], "stg_rule_checks")
    return empty


@pytest.fixture(scope="module")
def gx_ready() -> None:
    from kokuho.config import apply_offline_env

    apply_offline_env()
    from expectations.validate import warm_up

    warm_up()


def test_validation_passes_seed_003(gx_ready: None) -> None:
    from expectations.validate import validate_batch

    rows = rule_check_rows(item_value_rows(16906057, "16,906,057", (-148507, "△148,507")), catalog())
    outcome = validate_batch(batch_of(rows), catalog())
    assert outcome.results["stg_rule_checks"].rows == 1
    assert outcome.failed_files == set()
    assert outcome.issues.empty


def test_one_sen_yen_off_fails_naming_the_cell(gx_ready: None) -> None:
    from expectations.validate import validate_batch

    rows = rule_check_rows(item_value_rows(16906058, "16,906,058", (-148507, "△148,507")), catalog())
    outcome = validate_batch(batch_of(rows), catalog())
    assert outcome.failed_files == {SHA}
    issue = outcome.issues.iloc[0]
    assert (issue["code"], issue["sheet"], issue["cell"], issue["value"]) == (
        "SUM_RULE_VIOLATED",
        "1-3 事業コスト",
        "D14",
        "16,906,058",
    )
    assert issue["message"] == (
        f"ファイル「{FILE}」のシート「1-3 事業コスト」セルD14（16,906,058）："
        "R6年度の合計（予算現額）が 前年度繰越＋当初予算＋補正予算等 と一致しません（16,906,058 ≠ 16,906,057）。"
    )
