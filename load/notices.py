"""Issues recorded on a run's files without quarantining them, for the run summary.

Imports only duckdb and the standard library (through load.publish)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from kokuho.codelists import RECORDED_ONLY_ISSUES
from load.publish import connect_readonly, resolve_db_path
from load.sql_files import sql

if TYPE_CHECKING:
    from kokuho.config import Settings


def recorded_issues(target: Settings | str | os.PathLike[str], run_id: str) -> list[tuple[str, str, str]]:
    """(file name, code, Japanese message) of the issues recorded on files of `run_id`."""
    db_path = resolve_db_path(target)
    if not db_path.is_file():
        return []
    con = connect_readonly(db_path)
    try:
        rows = con.execute(
            sql("queries/recorded_issues"), {"run_id": run_id, "codes": sorted(RECORDED_ONLY_ISSUES)}
        ).fetchall()
    finally:
        con.close()
    return [(str(f), str(c), str(m)) for f, c, m in rows]


def notice_lines(issues: list[tuple[str, str, str]]) -> tuple[list[str], list[str]]:
    """The summary's lines for them: (plain text, markdown)."""
    if not issues:
        return [], []
    text = [f"  [注意] {name}: {message}" for name, _, message in issues]
    markdown = ["", "## 注意（差戻しではありません）", ""]
    markdown += ["- " + f"{name}: {message}".replace("|", "\\|") for name, _, message in issues]
    return text, markdown
