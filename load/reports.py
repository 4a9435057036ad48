"""Small read-only queries for run summaries (the SQL lives in load/sql/q_*.sql)."""

from __future__ import annotations

import duckdb

from load.warehouse import sql


def files_by_sha(
    con: duckdb.DuckDBPyConnection, sha256s: list[str]
) -> dict[str, tuple[str, str, str | None]]:
    """sha256 -> (file name, status, first reason)."""
    if not sha256s:
        return {}
    rows = con.execute(sql("q_submission_files"), {"sha256s": list(sha256s)}).fetchall()
    return {sha: (name, status, reason) for sha, name, status, reason in rows}


def missing_municipalities(
    con: duckdb.DuckDBPyConnection, fiscal_year: int, prefecture_code: str
) -> list[str]:
    """["111007 さいたま市", …] for municipalities with no file for that survey year."""
    rows = con.execute(
        sql("q_missing_municipalities"), {"fiscal_year": fiscal_year, "prefecture_code": prefecture_code}
    ).fetchall()
    return [f"{code} {name}" for code, name in rows]


def resubmission_change_counts(con: duckdb.DuckDBPyConnection, sha256s: list[str]) -> dict[str, int]:
    """superseded file sha256 -> number of answers its replacement changed (resubmission_changes)."""
    if not sha256s:
        return {}
    rows = con.execute(sql("q_resubmission_change_counts"), {"sha256s": list(sha256s)}).fetchall()
    return dict(rows)
