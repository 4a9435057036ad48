"""A warehouse for the indicator tests: the real schema, the test survey after seed 003
(tests/catalogs/20_2024.yaml, Nagano) synced, accepted files and typed values inserted per
municipality (the rows load puts into item_responses / numeric_target_responses)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import duckdb

from kokuho.catalog import Catalog, load_catalog
from load.catalog_sync import sync_catalog, sync_municipalities
from load.schema import ensure_schema

CATALOG_DIR = Path(__file__).parent / "catalogs"
SURVEY = "20-2024-2024.1"
NAGANO = "202011"  # 長野市
MATSUMOTO = "202029"  # 松本市
UEDA = "202037"  # 上田市


def catalog() -> Catalog:
    return load_catalog(CATALOG_DIR / "20_2024.yaml")


def new_warehouse(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """The schema, the municipality master and the test survey's catalog."""
    con = duckdb.connect(str(path) if path else ":memory:")
    ensure_schema(con)
    sync_municipalities(con)
    cat = catalog()
    sync_catalog(con, cat)
    if not con.execute("SELECT 1 FROM items WHERE survey_id = ?", [SURVEY]).fetchall():
        # the items table is synced by the load of typed items; here only what the views read
        for item in cat.items:
            con.execute(
                "INSERT INTO items (survey_id, item_id, position, table_id, section_no, subsection_no, item_no, "
                "label, item_type, unit, multiple, year_offsets, year_label, published_form, breakdown, "
                "previous_item_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false, ?, 'short', 'ratio', 'lines', ?)",
                [
                    SURVEY,
                    item.id,
                    item.position,
                    item.table_id,
                    item.section_no,
                    item.subsection_no,
                    item.item_no,
                    item.label,
                    item.type,
                    item.unit,
                    list(item.year_offsets),
                    item.id,
                ],
            )
    return con


def add_file(
    con: duckdb.DuckDBPyConnection, code: str, *, survey: str = SURVEY, sha: str | None = None
) -> str:
    """An accepted file of `code` for `survey`; returns its sha256."""
    sha = sha or f"{survey}-{code}"
    con.execute(
        "INSERT INTO submissions (sha256, file_name, processed_at, prefecture_code, fiscal_year, survey_id, "
        "municipality_code, status, reason_codes, reasons, run_id) "
        "VALUES (?, ?, ?, '20', ?, ?, ?, 'accepted', [], [], 'test')",
        [
            sha,
            f"{code}.xlsx",
            dt.datetime(2025, 5, 1, tzinfo=dt.UTC),
            int(survey.split("-")[1]),
            survey,
            code,
        ],
    )
    return sha


def add_values(
    con: duckdb.DuckDBPyConnection,
    sha: str,
    code: str,
    item_id: str,
    values: Iterable[tuple[int, float | None, str | None, str | None]],
    *,
    survey: str = SURVEY,
    item_type: str = "percent",
) -> None:
    """Typed values of one item: (value_year, value, qualifier, raw_text) each."""
    for row_no, (year, value, qualifier, raw) in enumerate(values, start=1):
        con.execute(
            "INSERT INTO item_responses (sha256, municipality_code, survey_id, item_id, item_type, value_year, "
            "raw_text, value, qualifier, not_applicable, file_name, sheet, cell, row_no) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, false, ?, '成果指標', ?, ?)",
            [
                sha,
                code,
                survey,
                item_id,
                item_type,
                year,
                raw,
                value,
                qualifier,
                f"{code}.xlsx",
                f"D{row_no}",
                row_no,
            ],
        )


def fill_seed_003(con: duckdb.DuckDBPyConnection) -> None:
    """Seed 003's two indicator rows and its R4–R6 cost table, as 長野市's answers, and other
    results for 松本市 (so that every indicator view has rows)."""
    sha = add_file(con, NAGANO)
    add_values(
        con,
        sha,
        NAGANO,
        "N_SCORE_PREF",
        [(2022, 61.7, None, "61.7"), (2023, 66.6, None, "66.6"), (2024, 47.0, None, "47.0")],
    )
    add_values(con, sha, NAGANO, "N_SCORE_PREF_TARGET", [(2024, 61.7, "以上", "61.7以上")])
    add_values(
        con,
        sha,
        NAGANO,
        "N_SCORE_MUNI",
        [(2022, 64.8, None, "64.8"), (2023, 67.4, None, "67.4"), (2024, 62.9, None, "62.9")],
    )
    add_values(con, sha, NAGANO, "N_SCORE_MUNI_TARGET", [(2024, 64.8, "以上", "64.8以上")])
    for item_id, amounts in SEED_003_COSTS.items():
        add_values(
            con,
            sha,
            NAGANO,
            item_id,
            [
                (year, value, None, text)
                for year, (value, text) in zip((2022, 2023, 2024), amounts, strict=True)
            ],
            item_type="amount",
        )
    other = add_file(con, MATSUMOTO)
    add_values(
        con, other, MATSUMOTO, "N_SCORE_PREF", [(2023, 60.0, None, "60.0"), (2024, 63.0, None, "63.0")]
    )
    add_values(con, other, MATSUMOTO, "N_SCORE_PREF_TARGET", [(2024, None, "前年度以上", "前年度以上")])


def _amounts(*values: int) -> list[tuple[float, str]]:
    return [(float(v), ("△" if v < 0 else "") + f"{abs(v):,}") for v in values]


# Seed 003's 事業コスト (千円), R4, R5, R6.
SEED_003_COSTS: dict[str, list[tuple[float, str]]] = {
    "N_BUDGET_CARRIED": _amounts(0, 0, 0),
    "N_BUDGET_INITIAL": _amounts(17834771, 17639962, 17054564),
    "N_BUDGET_SUPPLEMENTARY": _amounts(-487120, -324668, -148507),
    "N_BUDGET_TOTAL": _amounts(17347651, 17315294, 16906057),
    "N_BUDGET_GENERAL": _amounts(17247832, 17203585, 16817085),
    "N_SETTLEMENT": _amounts(17296689, 17144356, 16644888),
}
