"""Export one published view to CSV or Parquet for BI tools, with DuckDB's COPY.

Only the name of a view that exists in the database is accepted (checked against
information_schema); the name is then quoted from the catalog's own spelling, never spliced in as
given, and the output path is passed as a parameter.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb

from load.export_data import ExportError

FORMATS = {"csv": "(FORMAT csv, HEADER true)", "parquet": "(FORMAT parquet)"}


def list_views(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(schema, name) of every user view of the database."""
    return [
        (str(schema), str(name))
        for schema, name in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'VIEW' AND table_catalog = current_database() "
            "ORDER BY table_schema, table_name"
        ).fetchall()
    ]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def export_view(db_path: Path, view: str, fmt: str, out: Path) -> Path:
    """Write the whole view to `out` (csv with a header row, or parquet) and return the path."""
    if fmt not in FORMATS:
        raise ExportError(f"出力形式 {fmt!r} には対応していません（csv または parquet）")
    db_path = Path(db_path)
    if not db_path.is_file():
        raise ExportError(f"データベース {db_path} が見つかりません（--db で指定してください）")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error as exc:
        raise ExportError(f"データベース {db_path} を読み取り専用で開けません: {exc}") from exc
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
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=f".{fmt}", dir=out.parent)
        os.close(fd)
        try:
            con.execute(
                f"COPY (SELECT * FROM {_quote(schema)}.{_quote(name)}) TO ? {FORMATS[fmt]}", [tmp_name]
            )
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
