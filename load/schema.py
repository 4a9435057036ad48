"""The warehouse's schema: its tables, macros and views, in creation order, each one file in load/sql/.

Used by load.publish (a new database file gets its schema before the first load) and load.warehouse
(every load re-creates the views so they match this code). Light: DuckDB only, no pandas.
"""

from __future__ import annotations

import weakref
from functools import cache

import duckdb

from kokuho.resources import package_dir

SQL_DIR = package_dir("load") / "sql"

# Creation order: tables, then views (a view after the views it reads).
TABLES: tuple[str, ...] = (
    "municipalities",
    "surveys",
    "measures",
    "survey_tables",
    "numeric_target_items",
    "submissions",
    "responses",
    "own_initiative_responses",
    "numeric_target_responses",
    "file_issues",
    "runs",
    "inbox_entries",
)
# Macros the views use.
MACROS: tuple[str, ...] = ("in_survey_area",)
VIEWS: tuple[str, ...] = (
    "budget_lines",
    "measure_summary",
    "own_initiatives",
    "submission_status",
    "numeric_targets",
    "numeric_targets_wide",
    "municipality_matrix",
    "resubmission_changes",
)


@cache
def sql(name: str) -> str:
    """The text of load/sql/<name>.sql."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


# Connections whose schema load.publish.open_for_write just created (outside any transaction):
# load_batch need not re-create every view on them.
_SCHEMA_READY: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()


def ensure_schema(con: duckdb.DuckDBPyConnection, *, remember: bool = False) -> None:
    """Create missing tables and (re)create every macro and view, so they always match this code.

    `remember`: the connection is not in a transaction, so the schema stays; later loads on it
    skip this step."""
    for name in (*TABLES, *MACROS, *VIEWS):
        con.execute(sql(name))
    if remember:
        _SCHEMA_READY.add(con)


def schema_is_ready(con: duckdb.DuckDBPyConnection) -> bool:
    """The schema was created on this connection outside a transaction (`ensure_schema(remember=True)`)."""
    return con in _SCHEMA_READY
