"""`kokuho sql` and `kokuho status`: read-only queries on the published warehouse.

Starts at once: imports duckdb and the standard library only (no pandas, Prefect or Great
Expectations).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import io
import json
import os
import sys
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import duckdb

from kokuho.config import Settings
from load.publish import WarehouseError, connect_readonly

FORMATS = ("table", "csv", "json")
NULL_TEXT = "NULL"

EXAMPLES = """\
例 / examples:
  kokuho sql "SELECT label, implementing_count, implementing_pct FROM measure_summary WHERE fiscal_year = 2024"
  kokuho sql --format csv "SELECT * FROM submission_status" > status.csv
  kokuho sql --file q.sql --format json
  kokuho sql                      (対話モード / interactive prompt; .tables で一覧、.quit で終了)
"""


# --- rendering ------------------------------------------------------------------------------------


def display_width(text: str) -> int:
    """Terminal columns taken by `text`: East Asian wide and fullwidth characters take two."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in {"Mn", "Me", "Cf"}:
            continue
        width += 2 if unicodedata.east_asian_width(ch) in {"W", "F"} else 1
    return width


def _truncate(text: str, max_width: int) -> str:
    if max_width <= 0 or display_width(text) <= max_width:
        return text
    out, width = [], 0
    for ch in text:
        w = display_width(ch)
        if width + w > max_width - 1:
            break
        out.append(ch)
        width += w
    return "".join(out) + "…"


def format_value(value: Any, null_text: str = NULL_TEXT) -> str:
    """A value as text for the terminal table (lists as [a, b]; NULL as `null_text`)."""
    if value is None:
        return null_text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, ".15g")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join("NULL" if v is None else format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(_jsonable(value), ensure_ascii=False)
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def render_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, max_width: int = 60, null_text: str = NULL_TEXT
) -> str:
    """A psql-like table aligned by display width (Japanese text takes two columns per character)."""
    cells = [
        [
            _truncate(format_value(v, null_text).replace("\r\n", " ").replace("\n", " "), max_width)
            for v in row
        ]
        for row in rows
    ]
    widths = [display_width(c) for c in columns]
    for row in cells:
        widths = [max(w, display_width(c)) for w, c in zip(widths, row, strict=True)]
    numeric = [
        bool(rows) and all(_is_number(row[i]) or row[i] is None for row in rows) for i in range(len(columns))
    ]

    def pad(text: str, width: int, right: bool) -> str:
        gap = " " * (width - display_width(text))
        return gap + text if right else text + gap

    lines = [" " + " | ".join(pad(c, w, False) for c, w in zip(columns, widths, strict=True))]
    lines.append("-" + "-+-".join("-" * w for w in widths) + "-")
    for row in cells:
        lines.append(" " + " | ".join(pad(c, w, n) for c, w, n in zip(row, widths, numeric, strict=True)))
    lines.append(f"({len(rows)} 行)")
    return "\n".join(line.rstrip() for line in lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value


def render_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """CSV with a header; NULL is empty, lists are JSON arrays."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [
                ""
                if v is None
                else json.dumps(_jsonable(v), ensure_ascii=False)
                if isinstance(v, list | tuple | dict)
                else format_value(v)
                for v in row
            ]
        )
    return buffer.getvalue().rstrip("\n")


def render_json(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A JSON array of objects, one per row."""
    records = [{c: _jsonable(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    return json.dumps(records, ensure_ascii=False, indent=2)


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, *, max_width: int = 60) -> str:
    if fmt == "csv":
        return render_csv(columns, rows)
    if fmt == "json":
        return render_json(columns, rows)
    return render_table(columns, rows, max_width=max_width)


# --- running queries ------------------------------------------------------------------------------


def run_query(
    con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any] | None = None
) -> tuple[list[str], list[tuple[Any, ...]]] | None:
    """Execute `query` (several statements allowed: the last one's result is returned); None when the
    last statement returns no rows (SET, PRAGMA …)."""
    cursor = con.execute(query, params) if params is not None else con.execute(query)
    if cursor.description is None:
        return None
    columns = [d[0] for d in cursor.description]
    return columns, cursor.fetchall()


def _execute_and_print(
    con: duckdb.DuckDBPyConnection, query: str, fmt: str, max_width: int, out: TextIO, err: TextIO
) -> int:
    try:
        result = run_query(con, query)
    except duckdb.Error as exc:
        print(f"エラー / error: {exc}", file=err)
        return 1
    if result is not None:
        print(render(*result, fmt, max_width=max_width), file=out)
    return 0


def _interactive(con: duckdb.DuckDBPyConnection, fmt: str, max_width: int, db_path: Path) -> int:
    with contextlib.suppress(ImportError):  # line editing and history for input(); not everywhere
        import readline  # noqa: F401
    print(f"kokuho sql — {db_path}（読み取り専用 / read-only）")
    print("SQL を ; で終えて実行。 .tables で一覧、.quit で終了。")
    buffer: list[str] = []
    while True:
        try:
            line = input("kokuho> " if not buffer else "   ...> ")
        except EOFError:
            print()
            return 0
        except KeyboardInterrupt:
            print()
            buffer.clear()
            continue
        stripped = line.strip()
        if not buffer and stripped in {".quit", ".exit", "\\q", "quit", "exit"}:
            return 0
        if not buffer and stripped in {".tables", "\\d"}:
            _execute_and_print(
                con,
                "SELECT table_name AS name, table_type AS type FROM information_schema.tables "
                "ORDER BY table_type DESC, table_name",
                fmt,
                max_width,
                sys.stdout,
                sys.stderr,
            )
            continue
        if not stripped and not buffer:
            continue
        buffer.append(line)
        if stripped.endswith(";"):
            _execute_and_print(con, "\n".join(buffer), fmt, max_width, sys.stdout, sys.stderr)
            buffer.clear()


def _common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="DuckDB ファイル（既定: $KOKUHO_DB または $KOKUHO_HOME/kokuho.duckdb）")
    parser.add_argument("--home", help="作業フォルダ（既定: $KOKUHO_HOME または ./kokuho_home）")
    parser.add_argument("--format", choices=FORMATS, default="table", help="出力形式 / output format")


def _open(settings: Settings) -> duckdb.DuckDBPyConnection | None:
    try:
        return connect_readonly(settings.db_path)
    except WarehouseError as exc:
        print(str(exc), file=sys.stderr)
        return None


def _pipe_safe(main: Callable[[list[str]], int]) -> Callable[[list[str]], int]:
    """`kokuho sql … | head` must end quietly when the reader stops reading."""

    @functools.wraps(main)
    def wrapper(argv: list[str]) -> int:
        try:
            code = main(argv)
            sys.stdout.flush()
            return code
        except BrokenPipeError:
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            return 0

    return wrapper


@_pipe_safe
def sql_main(argv: list[str]) -> int:
    """kokuho sql [QUERY] [--file q.sql] [--format table|csv|json] [--db PATH]"""
    parser = argparse.ArgumentParser(
        prog="kokuho sql",
        description="DuckDB の集計データベースに読み取り専用で SQL を実行します / run read-only SQL.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("query", nargs="?", help="SQL（省略時は --file、標準入力、または対話モード）")
    parser.add_argument("--file", "-f", type=Path, help="SQL を書いたファイル / file holding the SQL")
    parser.add_argument(
        "--max-width", type=int, default=60, help="表形式での列の最大幅（0で無制限） / max column width"
    )
    _common_args(parser)
    args = parser.parse_args(argv)

    query = args.query
    if args.file is not None:
        if query:
            parser.error("QUERY と --file は同時に指定できません")
        try:
            query = args.file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            print(f"SQL ファイル {args.file} を読めません: {exc}", file=sys.stderr)
            return 2
    interactive = query is None and sys.stdin.isatty()
    if query is None and not interactive:
        query = sys.stdin.read()
    if query is not None and not query.strip():
        print("SQL が空です / no SQL given", file=sys.stderr)
        return 2

    settings = Settings.resolve(home=args.home, db_path=args.db)
    con = _open(settings)
    if con is None:
        return 2
    try:
        if interactive:
            return _interactive(con, args.format, args.max_width, settings.db_path)
        return _execute_and_print(con, query, args.format, args.max_width, sys.stdout, sys.stderr)
    finally:
        con.close()


STATUS_QUERY = """
SELECT status, municipality_code, municipality_name, latest_file_name, latest_received_at, reasons
FROM submission_status
WHERE prefecture_code = ? AND fiscal_year = ?
ORDER BY status_order, municipality_code
"""


@_pipe_safe
def status_main(argv: list[str]) -> int:
    """kokuho status [--year 2024] [--prefecture 11]: every municipality's submission status, 未提出 first."""
    parser = argparse.ArgumentParser(
        prog="kokuho status",
        description="市町村ごとの提出状況（未提出・差戻し・再提出・受理） / submission status per municipality.",
    )
    parser.add_argument("--year", type=int, help="年度（西暦、既定: $KOKUHO_YEAR または 2024）")
    parser.add_argument("--prefecture", help="都道府県コード（既定: $KOKUHO_PREFECTURE または 11）")
    _common_args(parser)
    args = parser.parse_args(argv)
    settings = Settings.resolve(
        home=args.home, db_path=args.db, prefecture_code=args.prefecture, fiscal_year=args.year
    )
    con = _open(settings)
    if con is None:
        return 2
    try:
        result = run_query(con, STATUS_QUERY, [settings.prefecture_code, settings.fiscal_year])
    except duckdb.Error as exc:
        print(f"エラー / error: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    assert result is not None
    columns, rows = result
    from kokuho.catalog import fiscal_year_label
    from kokuho.municipalities import prefecture

    try:
        pref_name = prefecture(settings.prefecture_code).name
    except KeyError:
        pref_name = settings.prefecture_code
    title = f"{pref_name} {fiscal_year_label(settings.fiscal_year)}"
    if not rows:
        print(f"{title} の調査はデータベースにまだありません（{settings.db_path}）。", file=sys.stderr)
        return 1
    if args.format != "table":
        print(render(columns, rows, args.format))
        return 0
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[0]] = counts.get(row[0], 0) + 1
    summary = "・".join(f"{label} {counts.get(label, 0)}" for label in ("受理", "再提出", "差戻し", "未提出"))
    print(f"{title} 提出状況: {summary}（全{len(rows)}市町村）")
    headers = ["状態", "市町村コード", "市町村名", "最新ファイル", "受信日時", "差戻し理由"]
    shown = [(*row[:5], " / ".join(row[5]) if row[5] else None) for row in rows]
    print(render_table(headers, shown, max_width=80, null_text=""))
    return 0
