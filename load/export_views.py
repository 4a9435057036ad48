"""Export one published view to CSV or Parquet for BI tools and Excel.

Only the name of a view that exists in the database is accepted (checked against
information_schema); the name is then quoted from the catalog's own spelling, never spliced in as
given, and the year and output path are passed as parameters.

CSV is written here, not by DuckDB's COPY, so that it opens cleanly in Japanese Excel: a BOM (or
cp932), CRLF line ends, timestamps in Japan time as `kokuho sql` prints them, lists as JSON arrays,
and text that Excel would read as a formula neutralised (load.query.csv_cell). Parquet keeps
DuckDB's types and is written with COPY.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from kokuho.csvsafe import unencodable
from load.export_data import ExportError
from load.publish import WarehouseError, connect_readonly
from load.query import csv_cell, csv_header, missing_database_message
from load.sql_files import fill, sql
from load.sql_files import quote_identifier as _quote

FORMATS = ("csv", "parquet")
# utf-8-sig: UTF-8 with a BOM, which Japanese Excel needs to read UTF-8 as UTF-8.
ENCODINGS = ("utf-8-sig", "utf-8", "cp932")
YEAR_COLUMN = "fiscal_year"
BATCH_ROWS = 10_000


class NoYearColumn(ExportError):
    """--year was given for a view that has no fiscal_year column."""


def list_views(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(schema, name) of every user view of the database."""
    return [(str(schema), str(name)) for schema, name in con.execute(sql("queries/user_views")).fetchall()]


def export_view(
    db_path: Path,
    view: str,
    fmt: str,
    out: Path,
    *,
    year: int | None = None,
    encoding: str = "utf-8",
) -> Path:
    """Write the view (only `year`'s rows when given) to `out` and return the path.

    `encoding` applies to CSV: "utf-8-sig" (UTF-8 with BOM, what `kokuho export` uses by default),
    "utf-8" or "cp932". Raises ExportError (Japanese message), NoYearColumn when `year` is given
    and the view has no fiscal_year; `out` is then left as it was.
    """
    if fmt not in FORMATS:
        raise ExportError(f"出力形式 {fmt!r} には対応していません（csv または parquet）")
    if encoding not in ENCODINGS:
        raise ExportError(f"文字コード {encoding!r} には対応していません（{'、'.join(ENCODINGS)}）")
    db_path = Path(db_path)
    if not db_path.is_file():
        raise ExportError(missing_database_message(db_path))
    out = Path(out)
    try:
        con = connect_readonly(db_path)  # sets the time zone to Japan time
    except WarehouseError as exc:
        raise ExportError(str(exc)) from exc
    try:
        views = list_views(con)
        matches = [(schema, name) for schema, name in views if name == view]
        if not matches:
            known = "、".join(name for _, name in views) or "（なし）"
            raise ExportError(
                f"ビュー {view!r} はデータベース {db_path} にありません。出力できるビュー: {known}"
            )
        if len(matches) > 1:
            matches = [m for m in matches if m[0] == "main"] or matches[:1]
        schema, name = matches[0]
        source = f"{_quote(schema)}.{_quote(name)}"
        columns = [d[0] for d in con.execute(fill("queries/view_columns_probe", view=source)).description]
        where = ""
        if year is not None:
            if YEAR_COLUMN not in columns:
                raise NoYearColumn(
                    f"ビュー {name} には年度の列（{YEAR_COLUMN}）がないため、--year {year} で絞り込めません。"
                    "--year を付けずに全件を出力してください / the view has no fiscal_year column"
                )
            where = f" WHERE {_quote(YEAR_COLUMN)} = {int(year)}"  # an int: nothing to quote
        select = fill("queries/view_rows", view=source, where=where).strip()
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=f".{fmt}", dir=out.parent)
        os.close(fd)
        try:
            if fmt == "csv":
                _write_csv(con, select, Path(tmp_name), encoding)
            else:
                con.execute(fill("queries/view_rows_to_parquet", select=select), {"path": tmp_name})
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(tmp_name, 0o666 & ~mask)  # mkstemp makes it private; publish it like any file
            os.replace(tmp_name, out)
        except duckdb.Error as exc:
            raise ExportError(f"ビュー {view} を {out} に出力できませんでした: {exc}") from exc
        finally:
            Path(tmp_name).unlink(missing_ok=True)
    finally:
        con.close()
    return out


def _write_csv(con: duckdb.DuckDBPyConnection, select: str, path: Path, encoding: str) -> None:
    cursor = con.execute(select)
    columns = [d[0] for d in cursor.description or ()]
    with path.open("w", encoding=encoding, errors="strict", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        _write_row(writer, csv_header(columns), 1, columns, encoding)
        line = 1
        while batch := cursor.fetchmany(BATCH_ROWS):
            for row in batch:
                line += 1
                _write_row(writer, [csv_cell(v) for v in row], line, columns, encoding)


def _write_row(writer: Any, cells: list[str], line: int, columns: list[str], encoding: str) -> None:
    try:
        writer.writerow(cells)
    except UnicodeEncodeError as exc:
        raise ExportError(_unencodable(cells, line, columns, encoding)) from exc


def _unencodable(cells: list[str], line: int, columns: list[str], encoding: str) -> str:
    """Which line, column and characters `encoding` cannot write (for the analyst)."""
    for column, cell in zip(columns, cells, strict=True):
        bad = unencodable(cell, encoding)
        if bad:
            codes = "、".join(f"U+{ord(ch):04X}" for ch in bad)
            where = f"{line}行目の列 {column}" if line > 1 else f"見出しの列 {column}"
            return (
                f"{where}の文字「{bad}」（{codes}）は {encoding} で表せません。--encoding utf-8-sig（既定）で"
                f"出力してください / characters not representable in {encoding}"
            )
    return f"{line}行目に {encoding} で表せない文字があります / characters not representable in {encoding}"
