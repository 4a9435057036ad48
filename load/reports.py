"""Small read-only queries for run summaries (the SQL lives in load/sql/queries/), and the 差戻し list."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from load.sql_files import sql

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    from load.export_data import ReturnedRow


def files_by_sha(
    con: duckdb.DuckDBPyConnection, sha256s: list[str]
) -> dict[str, tuple[str, str, str | None]]:
    """sha256 -> (file name, status, first reason)."""
    if not sha256s:
        return {}
    rows = con.execute(sql("queries/submission_files"), {"sha256s": list(sha256s)}).fetchall()
    return {sha: (name, status, reason) for sha, name, status, reason in rows}


def missing_municipalities(
    con: duckdb.DuckDBPyConnection, fiscal_year: int, prefecture_code: str
) -> list[str]:
    """["111007 さいたま市", …] for municipalities with no file for that survey year."""
    rows = con.execute(
        sql("queries/missing_municipalities"),
        {"fiscal_year": fiscal_year, "prefecture_code": prefecture_code},
    ).fetchall()
    return [f"{code} {name}" for code, name in rows]


def resubmission_change_counts(con: duckdb.DuckDBPyConnection, sha256s: list[str]) -> dict[str, int]:
    """superseded file sha256 -> number of answers its replacement changed (resubmission_changes)."""
    if not sha256s:
        return {}
    rows = con.execute(sql("queries/resubmission_change_counts"), {"sha256s": list(sha256s)}).fetchall()
    return dict(rows)


RETURNED_LIST = "差戻し一覧.xlsx"


def write_returned_list(db_path: Path, out: Path) -> Path:
    """差戻し一覧.xlsx: every quarantined file in the database with each of its problems, all
    survey years, rewritten whole (through a temporary file, so a reader never sees half of it)."""
    from openpyxl import Workbook

    from load.export_data import read_returned

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = read_returned(con)
    finally:
        con.close()
    workbook = Workbook()
    ws = workbook.active
    ws.title = "差戻し一覧"
    _returned_heading(ws, rows)
    _returned_table(ws, rows)
    return _save_replacing(workbook, Path(out))


def _returned_heading(ws: Worksheet, rows: list[ReturnedRow]) -> None:
    """Title, counts and when it was made (rows 1-3)."""
    import datetime as dt

    from load import export_sheets as sheets
    from load.export_data import LOCAL_TZ

    files = len({r.sha256 for r in rows})
    now = dt.datetime.now(LOCAL_TZ)
    sheets.put(
        ws, 1, 1, "差戻し一覧（返却した調査票と理由、全年度）", font=sheets.TITLE, align=sheets.NO_WRAP
    )
    sheets.row_height(ws, 1, 22)
    sheets.put(
        ws,
        2,
        1,
        f"差戻し {files}ファイル・{len(rows)}件（現在の状況が「再提出」「受理」の市町村は、その後の提出が受理済み）",
        font=sheets.SUBTITLE,
        align=sheets.NO_WRAP,
    )
    sheets.row_height(ws, 2, 18)
    sheets.put(
        ws,
        3,
        1,
        f"{now.year}年{now.month}月{now.day}日 {now:%H:%M} 作成（取込のたびに作り直します）",
        font=sheets.NOTE,
        align=sheets.NO_WRAP,
    )
    sheets.row_height(ws, 3, 15)


def _returned_table(ws: Worksheet, rows: list[ReturnedRow]) -> None:
    """Each file's problems under the header, set up for print (a file kept on one page where it fits)."""
    from load import export_sheets as sheets

    last, starts = sheets.write_returned_table(ws, rows, sheets.RETURNED_HEADER_ROW)
    if not rows:
        sheets.put(ws, sheets.RETURNED_HEADER_ROW + 1, 1, "差戻しはありません。", align=sheets.NO_WRAP)
        last = sheets.RETURNED_HEADER_ROW + 1
    sheets.finish_table(
        ws,
        sheets.RETURNED_HEADER_ROW,
        last,
        len(sheets.RETURNED_WIDTHS),
        f"A{sheets.RETURNED_HEADER_ROW + 1}",
    )
    sheets.setup_print(
        ws,
        f"1:{sheets.RETURNED_HEADER_ROW}",
        widths=sheets.RETURNED_WIDTHS,
        blocks={  # each file's problems kept on one page where they fit
            start: [(0, end)]
            for start, end in zip(starts, [*(s - 1 for s in starts[1:]), last], strict=False)
        },
    )


def _save_replacing(workbook: Workbook, out: Path) -> Path:
    """Save to a temporary file beside `out`, then replace `out` with it."""
    import os
    import tempfile

    from load.xlsx_cells import save_workbook

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".xlsx", dir=out.parent)
    os.close(fd)
    try:
        save_workbook(workbook, tmp)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
