"""Targets against results (indicator_results), their roll-up (indicator_rollup) and seed 004's
pair table (item_pairs): each rule at its edges, and seed 003's two indicator rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from indicator_fixtures import MATSUMOTO, NAGANO, SURVEY, UEDA, add_file, add_values, new_warehouse

CATALOGS = Path(__file__).parent / "catalogs"
PREF, MUNI, COST = "N_SCORE_PREF", "N_SCORE_MUNI", "N_COST_PER_HEAD"


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = new_warehouse()
    yield connection
    connection.close()


def judged(con: duckdb.DuckDBPyConnection, code: str, indicator: str, year: int = 2024) -> tuple[str, str]:
    row = con.execute(
        "SELECT achievement, trend FROM indicator_results "
        "WHERE municipality_code = ? AND indicator_id = ? AND value_year = ?",
        [code, indicator, year],
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def results(
    values: tuple[float | None, float | None, float | None],
) -> list[tuple[int, float | None, None, str | None]]:
    return [(2022 + i, v, None, None if v is None else f"{v}") for i, v in enumerate(values)]


def test_seed_003_rows(con: duckdb.DuckDBPyConnection) -> None:
    sha = add_file(con, NAGANO)
    add_values(con, sha, NAGANO, PREF, results((61.7, 66.6, 47.0)))
    add_values(con, sha, NAGANO, "N_SCORE_PREF_TARGET", [(2024, 61.7, "以上", "61.7以上")])
    add_values(con, sha, NAGANO, MUNI, results((64.8, 67.4, 62.9)))
    add_values(con, sha, NAGANO, "N_SCORE_MUNI_TARGET", [(2024, 64.8, "以上", "64.8以上")])
    assert judged(con, NAGANO, "score_pref") == ("未達成", "↘")
    assert judged(con, NAGANO, "score_muni") == ("未達成", "↘")
    # the earlier years: R5 rose against R4, R4 has no year before it; no target for them
    assert judged(con, NAGANO, "score_pref", 2023) == ("―", "↗")
    assert judged(con, NAGANO, "score_pref", 2022) == ("―", "―")
    row = con.execute(
        "SELECT result_raw, target_raw, target_value, target_qualifier, comparison, year_label, unit "
        "FROM indicator_results WHERE indicator_id = 'score_pref' AND value_year = 2024"
    ).fetchone()
    assert row == ("47.0", "61.7以上", 61.7, "以上", "以上", "R6", "%")


@pytest.mark.parametrize(
    ("result", "target", "expected"),
    [
        (61.7, (61.7, "以上", "61.7以上"), "達成"),  # equal to the target
        (61.6, (61.7, "以上", "61.7以上"), "未達成"),
        (61.7, (61.7, None, "61.7"), "達成"),  # a plain target, higher is better: >=
        (61.8, (61.7, "以下", "61.7以下"), "未達成"),
        (61.7, (61.7, "以下", "61.7以下"), "達成"),
        (61.7, (None, "未設定", "【未設定】"), "―"),
        (None, (61.7, "以上", "61.7以上"), "―"),  # no result this year
    ],
)
def test_qualifiers_at_their_edges(
    con: duckdb.DuckDBPyConnection,
    result: float | None,
    target: tuple[float | None, str | None, str],
    expected: str,
) -> None:
    sha = add_file(con, NAGANO)
    add_values(con, sha, NAGANO, PREF, results((60.0, 61.0, result)))
    add_values(con, sha, NAGANO, "N_SCORE_PREF_TARGET", [(2024, *target)])
    assert judged(con, NAGANO, "score_pref")[0] == expected


def test_no_target_is_not_evaluated(con: duckdb.DuckDBPyConnection) -> None:
    sha = add_file(con, NAGANO)
    add_values(con, sha, NAGANO, PREF, results((60.0, 61.0, 62.0)))
    assert judged(con, NAGANO, "score_pref") == ("―", "↗")


@pytest.mark.parametrize(
    ("result", "target", "expected"),
    [
        (310, (300, None, "300"), "未達成"),  # plain target, lower is better: <=
        (300, (300, None, "300"), "達成"),
        (290, (300, None, "300"), "達成"),
        (310, (300, "以上", "300以上"), "達成"),  # a written 以上 wins over the direction
        (290, (300, "以上", "300以上"), "未達成"),
    ],
)
def test_lower_is_better(
    con: duckdb.DuckDBPyConnection, result: float, target: tuple[float, str | None, str], expected: str
) -> None:
    sha = add_file(con, NAGANO)
    add_values(con, sha, NAGANO, COST, results((320, 305, result)), item_type="integer")
    add_values(con, sha, NAGANO, "N_COST_PER_HEAD_TARGET", [(2024, *target)], item_type="integer")
    assert judged(con, NAGANO, "cost_per_head")[0] == expected


@pytest.mark.parametrize(
    ("previous", "current", "trend"), [(305, 300, "↗"), (300, 305, "↘"), (300, 300, "→"), (None, 300, "―")]
)
def test_trend_follows_the_direction(
    con: duckdb.DuckDBPyConnection, previous: float | None, current: float, trend: str
) -> None:
    sha = add_file(con, NAGANO)
    add_values(con, sha, NAGANO, COST, results((320, previous, current)), item_type="integer")
    assert judged(con, NAGANO, "cost_per_head")[1] == trend


@pytest.mark.parametrize(
    ("previous", "current", "raw", "expected"),
    [
        (None, 62.0, "前年度以上", "―"),  # no previous result: not evaluated
        (62.0, 62.0, "前年度以上", "達成"),  # 以上: equal is enough
        (62.0, 61.9, "前年度以上", "未達成"),
        (62.0, 62.0, "前年度収納率を上回る", "未達成"),  # 上回る: strictly more
        (62.0, 62.1, "前年度収納率を上回る", "達成"),
    ],
)
def test_previous_year_targets(
    con: duckdb.DuckDBPyConnection, previous: float | None, current: float, raw: str, expected: str
) -> None:
    sha = add_file(con, NAGANO)
    add_values(con, sha, NAGANO, PREF, results((60.0, previous, current)))
    add_values(con, sha, NAGANO, "N_SCORE_PREF_TARGET", [(2024, None, "前年度以上", raw)])
    assert judged(con, NAGANO, "score_pref")[0] == expected


def test_missing_year_shows_a_dash(con: duckdb.DuckDBPyConnection) -> None:
    sha = add_file(con, NAGANO)
    add_values(con, sha, NAGANO, PREF, results((60.0, None, 62.0)))
    add_values(con, sha, NAGANO, "N_SCORE_PREF_TARGET", [(2024, 61.0, "以上", "61.0以上")])
    assert judged(con, NAGANO, "score_pref") == ("達成", "―")
    assert judged(con, NAGANO, "score_pref", 2023) == ("―", "―")
    blank = con.execute(
        "SELECT result_value, result_raw FROM indicator_results WHERE indicator_id = 'score_pref' AND value_year = 2023"
    ).fetchone()
    assert blank == (None, None)


def test_the_most_recent_survey_gives_the_value(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO surveys (survey_id, prefecture_code, fiscal_year, catalog_version, title, loaded_at) "
        "VALUES ('20-2023-2023.1', '20', 2023, '2023.1', '前年度', now())"
    )
    old = add_file(con, NAGANO, survey="20-2023-2023.1")
    add_values(
        con,
        old,
        NAGANO,
        PREF,
        [(2022, 59.0, None, "59.0"), (2023, 60.0, None, "60.0")],
        survey="20-2023-2023.1",
    )
    new = add_file(con, NAGANO)
    # FY2024's survey corrects R5 and leaves R4 blank: R4 comes from FY2023's survey
    add_values(
        con,
        new,
        NAGANO,
        PREF,
        [(2022, None, None, None), (2023, 66.6, None, "66.6"), (2024, 47.0, None, "47.0")],
    )
    rows = con.execute(
        "SELECT value_year, result_value FROM indicator_results WHERE indicator_id = 'score_pref' ORDER BY value_year"
    ).fetchall()
    assert rows == [(2022, 59.0), (2023, 66.6), (2024, 47.0)]


def test_rollup_counts_achievers_among_the_evaluated(con: duckdb.DuckDBPyConnection) -> None:
    # R5: one of two evaluated achieved; R6: two of three (one more: 増); 上田市 has no R5 target
    for code, r5, r6 in ((NAGANO, 62.0, 63.0), (MATSUMOTO, 58.0, 61.0), (UEDA, 55.0, 50.0)):
        sha = add_file(con, code)
        add_values(con, sha, code, PREF, results((55.0, r5, r6)))
        targets = [(2024, 60.0, "以上", "60.0以上")]
        if code != UEDA:
            targets.append((2023, 60.0, "以上", "60.0以上"))
        add_values(con, sha, code, "N_SCORE_PREF_TARGET", targets)
    rows = con.execute(
        "SELECT value_year, achieved_count, evaluated_count, achieved_text, change_marker FROM indicator_rollup "
        "WHERE indicator_id = 'score_pref' ORDER BY value_year"
    ).fetchall()
    assert rows == [
        (2022, 0, 0, None, None),
        (2023, 1, 2, "1/2市町村（50%）", None),
        (2024, 2, 3, "2/3市町村（67%）", "増"),
    ]
    pairs = con.execute(
        "SELECT label, pair_text, previous_year_label, year_label FROM item_pairs WHERE kind = 'indicator' "
        "AND item_id = 'score_pref'"
    ).fetchall()
    assert pairs == [("保険者努力支援制度（都道府県分）得点率", "1市町村 → 2市町村", "R5", "R6")]


def test_rollup_marks_a_fall(con: duckdb.DuckDBPyConnection) -> None:
    sha = add_file(con, NAGANO)
    add_values(con, sha, NAGANO, PREF, results((55.0, 62.0, 58.0)))
    add_values(
        con,
        sha,
        NAGANO,
        "N_SCORE_PREF_TARGET",
        [(2023, 60.0, "以上", "60以上"), (2024, 60.0, "以上", "60以上")],
    )
    row = con.execute(
        "SELECT achieved_text, achieved_count_text, change_marker FROM indicator_rollup "
        "WHERE indicator_id = 'score_pref' AND value_year = 2024"
    ).fetchone()
    assert row == ("0/1市町村（0%）", "0市町村", "減")


def test_pair_table_for_check_items(con: duckdb.DuckDBPyConnection) -> None:
    """Seed 004: 重症化予防（二次予防）の推進 24市町村 → 25市町村 (here 1 → 2 of 3 municipalities)."""
    con.execute(
        "INSERT INTO surveys (survey_id, prefecture_code, fiscal_year, catalog_version, title, loaded_at) "
        "VALUES ('20-2023-2023.1', '20', 2023, '2023.1', '前年度', now())"
    )
    con.execute(
        "INSERT INTO measures SELECT '20-2023-2023.1', * EXCLUDE (survey_id) FROM measures WHERE survey_id = ?",
        [SURVEY],
    )
    for survey, yes in (("20-2023-2023.1", {NAGANO}), (SURVEY, {NAGANO, UEDA})):
        for code in (NAGANO, MATSUMOTO, UEDA):
            sha = add_file(con, code, survey=survey)
            con.execute(
                "INSERT INTO responses (sha256, municipality_code, survey_id, measure_id, implemented, answer, "
                "file_name, sheet, cell) VALUES (?, ?, ?, 'N_CHECK', ?, ?, 'f.xlsx', 's', 'D5')",
                [sha, code, survey, code in yes, "○" if code in yes else ""],
            )
    rows = con.execute(
        "SELECT kind, label, previous_count, current_count, pair_text, change_marker, position FROM item_pairs "
        "WHERE survey_id = ? ORDER BY position",
        [SURVEY],
    ).fetchall()
    assert rows[0] == ("measure", "重症化予防（二次予防）の推進", 1, 2, "1市町村 → 2市町村", "増", 1)
    # indicators follow the check items, here with nothing achieved either year
    assert [r[0] for r in rows] == ["measure", "indicator", "indicator", "indicator"]


@pytest.mark.parametrize("view", ["indicator_results", "indicator_rollup", "item_pairs", "item_amounts"])
def test_views_match_their_contracts(con: duckdb.DuckDBPyConnection, view: str) -> None:
    from load.view_contracts import load_contract

    sha = add_file(con, NAGANO)
    add_values(con, sha, NAGANO, PREF, results((61.7, 66.6, 47.0)))
    add_values(
        con, sha, NAGANO, "N_BUDGET_INITIAL", [(2024, 17054564, None, "17,054,564")], item_type="amount"
    )
    contract = load_contract(view)
    actual = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [view],
    ).fetchall()
    assert actual == [(c.name, c.type) for c in contract.columns]
    grain = ", ".join(contract.grain)
    rows = con.execute(f"SELECT count(*) FROM {view}").fetchone()
    keys = con.execute(f"SELECT count(*) FROM (SELECT DISTINCT {grain} FROM {view})").fetchone()
    assert rows is not None and rows[0] > 0
    assert keys == rows


def _catalog_text(indicators: str, rules: str = "") -> str:
    base = (CATALOGS / "20_2024.yaml").read_text(encoding="utf-8")
    head = base.split("indicators:\n", 1)[0]
    return head + indicators + rules


def test_an_indicator_unit_defaults_to_its_result_item() -> None:
    from indicator_fixtures import catalog

    units = {i.id: i.unit for i in catalog().indicators}
    assert units == {"score_pref": "%", "score_muni": "%", "cost_per_head": "千円"}


@pytest.mark.parametrize(
    ("indicators", "rules", "message"),
    [
        (
            "indicators:\n- {id: a, label: A, result: N_SCORE_PREF, target: N_SCORE_PREF}\n",
            "",
            "'result' と 'target' が同じ項目",
        ),
        ("indicators:\n- {id: a, label: A, result: N_CHECK}\n", "", "数値の項目・数値目標にありません"),
        (
            "indicators: []\n",
            "rules:\n- {id: r, label: R, total: N_BUDGET_TOTAL, parts: [N_BUDGET_INITIAL, N_BUDGET_TOTAL]}\n",
            "同じ項目が重複",
        ),
        (
            "indicators: []\n",
            "rules:\n- {id: r, label: R, total: N_BUDGET_TOTAL, parts: [N_BUDGET_INITIAL, N_SCORE_PREF_TARGET]}\n",
            "同じ年度を尋ねるもの",
        ),
    ],
)
def test_catalog_refuses_bad_indicators_and_rules(
    tmp_path: Path, indicators: str, rules: str, message: str
) -> None:
    from kokuho.catalog import CatalogError, load_catalog

    path = tmp_path / "20_2024.yaml"
    path.write_text(_catalog_text(indicators, rules), encoding="utf-8")
    with pytest.raises(CatalogError, match=message) as raised:
        load_catalog(path)
    assert f"{path}:" in str(raised.value)
