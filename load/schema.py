"""The warehouse's schema: its tables, macros and views, in creation order, each one file in load/sql/tables, macros, views.

Used by load.publish (a new database file gets its schema before the first load) and load.warehouse
(every load re-creates the views so they match this code). Light: DuckDB only, no pandas.
"""

from __future__ import annotations

import weakref

import duckdb

from load.sql_files import sql

# Creation order: tables, then views (a view after the views it reads).
TABLES: tuple[str, ...] = (
    "municipalities",
    "surveys",
    "measures",
    "survey_tables",
    "numeric_target_items",
    "indicators",
    "sum_rules",
    "submissions",
    "responses",
    "own_initiative_responses",
    "numeric_target_responses",
    "file_issues",
    "runs",
    "inbox_entries",
    "items",
    "item_options",
    "municipality_groups",
    "item_responses",
)
# Columns added to tables after their first release: a warehouse created before gets them
# (ADD COLUMN IF NOT EXISTS) right after the tables are created.
COLUMN_STEPS: tuple[str, ...] = (
    "steps/add_responses_not_applicable",
    "steps/add_numeric_target_items_year_label",
)
# Macros the views use.
MACROS: tuple[str, ...] = (
    "in_survey_area",
    "previous_surveys",
    "year_label",
    "status_text",
    "survey_in_scope",
    "item_answer_rows",
    "amount_digits",
    "amount_text",
)
VIEWS: tuple[str, ...] = (
    "current_submissions",
    "budget_lines",
    "measure_summary",
    "own_initiatives",
    "submission_status",
    "numeric_targets",
    "numeric_targets_wide",
    "municipality_matrix",
    "resubmission_changes",
    "item_answers",
    "item_summary",
    "item_option_counts",
    "item_numbers",
    "item_number_totals",
    "indicator_results",
    "indicator_rollup",
    "item_pairs",
    "item_amounts",
)


# Connections whose schema load.publish.open_for_write just created (outside any transaction):
# load_batch need not re-create every view on them.
_SCHEMA_READY: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()


def ensure_schema(con: duckdb.DuckDBPyConnection, *, remember: bool = False) -> None:
    """Create missing tables and (re)create every macro and view, so they always match this code.

    `remember`: the connection is not in a transaction, so the schema stays; later loads on it
    skip this step."""
    for kind, group in (("tables", TABLES), ("macros", MACROS), ("views", VIEWS)):
        for name in group:
            con.execute(sql(f"{kind}/{name}"))
        if kind == "tables":
            for step in COLUMN_STEPS:
                con.execute(sql(step))
    if remember:
        _SCHEMA_READY.add(con)


def schema_is_ready(con: duckdb.DuckDBPyConnection) -> bool:
    """The schema was created on this connection outside a transaction (`ensure_schema(remember=True)`)."""
    return con in _SCHEMA_READY
