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

# The warehouse tables of typed items (items-out's contract: stg_item_values minus fiscal_year),
# created here only while the branch that loads them is not merged.
_CONTRACT_TABLES = {
    "item_responses": """
        CREATE TABLE item_responses (
            sha256 VARCHAR NOT NULL, municipality_code VARCHAR NOT NULL, survey_id VARCHAR NOT NULL,
            item_id VARCHAR NOT NULL, item_type VARCHAR, value_year INTEGER NOT NULL, raw_text VARCHAR,
            value DOUBLE, qualifier VARCHAR, value_text VARCHAR, period_start INTEGER, period_end INTEGER,
            not_applicable BOOLEAN, note VARCHAR, file_name VARCHAR, sheet VARCHAR, cell VARCHAR,
            row_no INTEGER)""",
    "items": """
        CREATE TABLE items (
            survey_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, position INTEGER, label VARCHAR,
            type VARCHAR, unit VARCHAR, table_id VARCHAR)""",
}
_OWN_OBJECTS = (
    "views/indicator_results",
    "views/indicator_rollup",
    "views/item_pairs",
    "views/item_amounts",
)


def catalog() -> Catalog:
    return load_catalog(CATALOG_DIR / "20_2024.yaml")


def new_warehouse(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """The schema, the municipality master and the test survey's catalog."""
    from load.schema import VIEWS
    from load.sql_files import sql

    con = duckdb.connect(str(path) if path else ":memory:")
    existing = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    ensure_schema(con)
    for name, ddl in _CONTRACT_TABLES.items():
        if (
            name not in existing
            and not con.execute(
                "SELECT 1 FROM information_schema.tables WHERE table_name = ?", [name]
            ).fetchall()
        ):
            con.execute(ddl)
    for name in _OWN_OBJECTS:
        if name.split("/")[1] not in VIEWS:
            con.execute(sql(name))
    sync_municipalities(con)
    cat = catalog()
    sync_catalog(con, cat)
    if not con.execute("SELECT 1 FROM items WHERE survey_id = ?", [SURVEY]).fetchall():
        for item in cat.items:
            con.execute(
                "INSERT INTO items (survey_id, item_id, position, label, type, unit, table_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [SURVEY, item.id, item.position, item.label, item.type, item.unit, item.table_id],
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
