"""`kokuho sql` and `kokuho status`: read-only queries on the published warehouse.

Starts at once: imports duckdb and the standard library only (no pandas, Prefect or Great
Expectations).

`kokuho sql` cannot write: besides the read-only connection, DuckDB's own settings shut every file
out (`enable_external_access = false`, then `lock_configuration = true` so no SET undoes it), which
refuses COPY … TO, EXPORT DATABASE, ATTACH and read_csv alike. `--out-dir DIR` opens one folder
(DuckDB's `allowed_directories`) for reading and writing; the warehouse's folder, its parents and
its sub-folders are never accepted there.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, ParamSpec, TextIO

import duckdb
from rich.box import Box
from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kokuho.config import Settings
from kokuho.csvsafe import csv_safe, unencodable
from kokuho.errors import UsageError
from load.publish import WarehouseError, connect_readonly
from load.sql_files import sql

FORMATS = ("table", "csv", "json")
NULL_TEXT = "NULL"
DEMO_DB = Path("kokuho_demo") / "kokuho.duckdb"
P = ParamSpec("P")

DOT_HELP = """\
.help            この説明 / this help
.tables          テーブルとビューの一覧 / tables and views
.schema [NAME]   NAME（省略時はすべて）の列と型 / columns of NAME (or of every object)
.quit            終了（対話モード） / leave the prompt
SQL は ; で終えると実行します（対話モード）。読み取り専用です: ファイルの読み書き（COPY・EXPORT
DATABASE・ATTACH・read_csv など）は --out-dir DIR で指定したフォルダの中だけで行えます。"""


# --- rendering ------------------------------------------------------------------------------------


def display_width(text: str) -> int:
    """Terminal columns taken by `text` (East Asian wide and fullwidth characters take two)."""
    return cell_len(text)


def _truncate(text: str, max_width: int) -> str:
    """`text` cut to at most `max_width` columns, ending in … when cut (0: never cut)."""
    if max_width <= 0 or cell_len(text) <= max_width:
        return text
    return set_cell_size(text, max_width - 1).rstrip(" ") + "…"  # a wide character cut in half: a space


# psql's look: `a | b` with a `---+---` rule under the header, no outer frame.
PSQL_BOX = Box(" -- \n  | \n--+-\n  | \n--+-\n--+-\n  | \n -- \n", ascii=True)


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
    """A psql-like table aligned by display width (rich measures Japanese text as two columns a
    character); numbers right-aligned; cells longer than `max_width` columns cut with … (0: never)."""
    table = Table(box=PSQL_BOX, show_edge=False, padding=(0, 1), pad_edge=True, expand=False)
    for i, name in enumerate(columns):
        numeric = bool(rows) and all(_is_number(row[i]) or row[i] is None for row in rows)
        table.add_column(Text(name, justify="left"), justify="right" if numeric else "left", no_wrap=True)
    for row in rows:
        table.add_row(
            *(
                Text(
                    _truncate(
                        format_value(v, null_text).replace("\r\n", " ").replace("\n", " ").replace("\t", " "),
                        max_width,
                    )
                )
                for v in row
            )
        )
    out = io.StringIO()
    console = Console(
        file=out, width=1_000_000, color_system=None, force_terminal=False, legacy_windows=False, emoji=False
    )
    console.print(table, crop=False, overflow="ignore")
    lines = [line.rstrip() for line in out.getvalue().splitlines()]
    if not rows:  # rich draws no rule under a header without rows
        lines = [lines[0], "-" + "-+-".join("-" * cell_len(name) for name in columns) + "-"]
    lines.append(f"({len(rows)} 行)")
    return "\n".join(lines)


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


def csv_cell(value: Any) -> str:
    """One CSV cell: NULL is empty, lists are JSON arrays, timestamps as the terminal shows them
    (the connection's time zone, Japan time). Numbers are written as they are; every other value's
    text is neutralised for Excel (kokuho.csvsafe), so "=HYPERLINK(…)" arrives as text."""
    if value is None:
        return ""
    if _is_number(value):
        return format_value(value)
    if isinstance(value, list | tuple | dict):
        return json.dumps(_jsonable(value), ensure_ascii=False)  # starts with [ or {
    return csv_safe(format_value(value))


def csv_header(columns: Sequence[str]) -> list[str]:
    return [csv_safe(str(c)) for c in columns]


def render_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """CSV with a header; NULL is empty, lists are JSON arrays, text neutralised (csv_cell)."""
    # Rows end in "\n" on the terminal, but the writer is told "\r\n" so that it also quotes a
    # field holding a lone CR (it quotes only the line ending's characters).
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    lines = []
    for cells in [csv_header(columns), *([csv_cell(v) for v in row] for row in rows)]:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        lines.append(buffer.getvalue().removesuffix("\r\n"))
    return "\n".join(lines)


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


# --- the guarded connection -----------------------------------------------------------------------


class SqlRefused(RuntimeError):
    """`kokuho sql` will not do this; the message is for the analyst (Japanese first)."""


REFUSED = "拒否しました / refused: "
FILES_CLOSED = (
    "kokuho sql は公開データベースを守るため、既定ではファイルを読み書きしません"
    "（COPY … TO・EXPORT DATABASE・ATTACH・read_csv など）。ファイルに書き出すには --out-dir DIR で"
    "フォルダを指定し、その中のパスを使ってください（データベースのフォルダとその上位・下位は指定できません）。"
    "Excel 用の CSV は --format csv --encoding utf-8-sig の出力をファイルに保存するか、kokuho export --view を"
    "使ってください。"
)
FILES_ONLY_IN = "ファイルの読み書きは --out-dir で指定したフォルダ（{dirs}）の中だけで行えます。"
LOCKED = (
    "kokuho sql では設定を変更できません（SET・RESET・PRAGMA）。ファイルへの書き込みを防ぐため、"
    "接続の設定は固定されています。"
)
ATTACH_REFUSED = "公開データベースを別名で書き込み可能に開くこと（ATTACH）はできません。"


def missing_database_message(db_path: Path) -> str:
    """What to do when there is no database: the flag, the environment, and the demo's database."""
    lines = [
        f"データベース {db_path} が見つかりません / database not found.",
        "--db PATH で指定するか、環境変数 KOKUHO_DB（または KOKUHO_HOME）を設定してください。"
        "まだ作っていなければ先に kokuho run（または kokuho demo）を実行してください。",
    ]
    if DEMO_DB.is_file() and DEMO_DB.resolve() != Path(db_path).resolve():
        lines.append(f"デモのデータベースがあります: --db ./{DEMO_DB.as_posix()}")
    return "\n".join(lines)


def check_out_dirs(db_path: Path, out_dirs: Sequence[Path]) -> list[Path]:
    """The --out-dir folders, resolved; SqlRefused for a missing one or one that overlaps the
    warehouse's folder (DuckDB's allowed_directories would then reach the warehouse)."""
    home = Path(db_path).resolve().parent
    resolved = []
    for given in out_dirs:
        path = Path(given).expanduser().resolve()
        if not path.is_dir():
            raise SqlRefused(
                f"--out-dir {given}: フォルダがありません（先に作成してください） / no such folder"
            )
        if path == home or home.is_relative_to(path) or path.is_relative_to(home):
            raise SqlRefused(
                REFUSED + f"--out-dir {given} は公開データベースのフォルダ（{home}）と重なります。"
                "データベースのフォルダとその上位・下位には書き込めません。別のフォルダを指定してください。"
            )
        resolved.append(path)
    return resolved


def _links_to_warehouse(db_path: Path, out_dirs: Sequence[Path]) -> str | None:
    """An entry under the out dirs that leads to the warehouse (a symbolic or hard link): DuckDB
    checks paths by name, so writing to such an entry would write the warehouse."""
    target = Path(db_path).resolve()
    home = target.parent
    try:
        identity = (target.stat().st_dev, target.stat().st_ino)
    except OSError:
        return None
    for root in out_dirs:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in (*dirnames, *filenames):
                entry = Path(dirpath, name)
                try:
                    info = entry.lstat()
                    if (info.st_dev, info.st_ino) == identity:
                        return str(entry)
                    if entry.is_symlink():
                        real = entry.resolve()
                        if real == home or real.is_relative_to(home) or home.is_relative_to(real):
                            return str(entry)
                except (OSError, RuntimeError):
                    continue
    return None


@dataclass
class GuardedConnection:
    """A read-only connection that cannot touch files outside `out_dirs` (none by default)."""

    con: duckdb.DuckDBPyConnection
    db_path: Path
    out_dirs: list[Path]
    temp_dir: str

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def check_links(self) -> None:
        if self.out_dirs:
            link = _links_to_warehouse(self.db_path, self.out_dirs)
            if link is not None:
                raise SqlRefused(
                    REFUSED + f"{link} は公開データベース（{self.db_path}）へのリンクです。"
                    "--out-dir のフォルダから取り除いてから実行してください。"
                )


def open_guarded(db_path: Path, out_dirs: Sequence[Path] = ()) -> GuardedConnection:
    """A read-only connection whose file access DuckDB's own settings close, then lock.

    DuckDB keeps the attached database's own file (and its .wal) writable even with external
    access off, so:
    - without `out_dirs` the local file system is disabled altogether (`disabled_filesystems`):
      no file can be read or written, the open warehouse still can be queried;
    - with `out_dirs` the query runs on a private copy of the warehouse (taken while holding it
      read-only, so no run changes it meanwhile) and only `out_dirs` are allowed: the published
      file is then no path DuckDB would write to.
    Raises WarehouseError or SqlRefused.
    """
    dirs = check_out_dirs(db_path, out_dirs)
    # Spills (and a copy) go to a private folder, not beside the warehouse (DuckDB's <db>.tmp).
    temp_dir = tempfile.mkdtemp(prefix="kokuho-sql-")
    try:
        con = _open_copy(Path(db_path), Path(temp_dir)) if dirs else connect_readonly(db_path)
    except BaseException:
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    try:
        con.execute(sql("settings/spill_directory"), {"directory": os.path.join(temp_dir, "spill")})
        con.execute(sql("settings/allowed_directories"), {"directories": [str(d) + os.sep for d in dirs]})
        con.execute(sql("settings/no_external_access"))
        if not dirs:
            con.execute(sql("settings/no_local_files"))
        con.execute(sql("settings/lock_configuration"))
    except BaseException:
        con.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    guarded = GuardedConnection(con, Path(db_path), dirs, temp_dir)
    try:
        guarded.check_links()
    except SqlRefused:
        guarded.close()
        raise
    return guarded


def _open_copy(db_path: Path, temp_dir: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a copy of the warehouse in `temp_dir`."""
    holder = connect_readonly(db_path)  # while held, no run can write the file being copied
    try:
        copy = temp_dir / "warehouse.duckdb"
        shutil.copyfile(db_path, copy)
        wal = db_path.with_name(db_path.name + ".wal")
        if wal.is_file():
            shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
    except OSError as exc:
        raise WarehouseError(f"データベース {db_path} の作業用コピーを作れません: {exc}") from exc
    finally:
        holder.close()
    return connect_readonly(copy)


def explain_error(exc: duckdb.Error, out_dirs: Sequence[Path]) -> str:
    """DuckDB's error with, for what the guard refused, a Japanese reason and the way out first."""
    text = str(exc)
    if isinstance(exc, duckdb.PermissionException) or "disabled by configuration" in text:
        reason = FILES_ONLY_IN.format(dirs="、".join(map(str, out_dirs))) if out_dirs else FILES_CLOSED
        return f"{REFUSED}{reason}\n（DuckDB: {text}）"
    if "configuration has been locked" in text:
        return f"{REFUSED}{LOCKED}\n（DuckDB: {text}）"
    if "already attached" in text:
        return f"{REFUSED}{ATTACH_REFUSED}\n（DuckDB: {text}）"
    return f"エラー / error: {text}"


# --- running queries ------------------------------------------------------------------------------


def run_query(
    con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any] | dict[str, Any] | None = None
) -> tuple[list[str], list[tuple[Any, ...]]] | None:
    """Execute `query` (several statements allowed: the last one's result is returned); None when the
    last statement returns no rows (SET, PRAGMA …)."""
    cursor = con.execute(query, params) if params is not None else con.execute(query)
    if cursor.description is None:
        return None
    columns = [d[0] for d in cursor.description]
    return columns, cursor.fetchall()


def _execute_and_print(
    guarded: GuardedConnection,
    query: str,
    fmt: str,
    max_width: int,
    out: TextIO,
    err: TextIO,
    encoding: str | None = None,
) -> int:
    try:
        guarded.check_links()
        result = run_query(guarded.con, query)
    except SqlRefused as exc:
        print(str(exc), file=err)
        return 1
    except duckdb.Error as exc:
        print(explain_error(exc, guarded.out_dirs), file=err)
        return 1
    if result is None:
        return 0
    text = render(*result, fmt, max_width=max_width) + "\n"
    if encoding is None:
        out.write(text)
        return 0
    bad = unencodable(text, encoding)
    if bad:
        codes = "、".join(f"U+{ord(ch):04X}" for ch in bad)
        print(
            f"結果の文字「{bad}」（{codes}）は {encoding} で表せません。--encoding utf-8-sig で出力してください"
            f" / characters not representable in {encoding}",
            file=err,
        )
        return 1
    out.flush()
    out.buffer.write(text.encode(encoding))  # utf-8-sig puts the BOM first
    return 0


def is_dot_command(text: str) -> bool:
    return text.strip().startswith(".") or text.strip() == "\\d"


def run_dot_command(
    guarded: GuardedConnection, text: str, fmt: str, max_width: int, out: TextIO, err: TextIO
) -> int:
    """.help, .tables, .schema [NAME] (the interactive prompt's and the command line's)."""
    command, _, rest = text.strip().rstrip(";").partition(" ")
    name = rest.strip().strip('"') or None
    if command == ".help":
        print(DOT_HELP, file=out)
        return 0
    if command in {".tables", "\\d"}:
        result = run_query(guarded.con, sql("queries/sql_tables"))
    elif command == ".schema":
        result = run_query(guarded.con, sql("queries/sql_columns"), {"name": name})
        if name is not None and result is not None and not result[1]:
            print(
                f"{name} というテーブル・ビューはありません。.tables で一覧を表示できます / no such object",
                file=err,
            )
            return 1
    else:
        print(f"{command} は知らないコマンドです。.help で一覧を表示できます / unknown command", file=err)
        return 2
    assert result is not None
    print(render(*result, fmt, max_width=max_width), file=out)
    return 0


def _interactive(guarded: GuardedConnection, fmt: str, max_width: int) -> int:
    with contextlib.suppress(ImportError):  # line editing and history for input(); not everywhere
        import readline  # noqa: F401
    print(f"kokuho sql — {guarded.db_path}（読み取り専用 / read-only）")
    if guarded.out_dirs:
        print(f"ファイルの読み書き: {'、'.join(map(str, guarded.out_dirs))} の中だけ")
    else:
        print("ファイルの読み書き: なし（--out-dir DIR で許可）")
    print("SQL を ; で終えて実行。 .help で使い方、.tables で一覧、.quit で終了。")
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
        if not buffer and is_dot_command(stripped):
            run_dot_command(guarded, stripped, fmt, max_width, sys.stdout, sys.stderr)
            continue
        if not stripped and not buffer:
            continue
        buffer.append(line)
        if stripped.endswith(";"):
            _execute_and_print(guarded, "\n".join(buffer), fmt, max_width, sys.stdout, sys.stderr)
            buffer.clear()


def _open(settings: Settings, out_dirs: Sequence[Path] = ()) -> GuardedConnection | None:
    if not settings.db_path.is_file():
        print(missing_database_message(settings.db_path), file=sys.stderr)
        return None
    try:
        return open_guarded(settings.db_path, out_dirs)
    except (WarehouseError, SqlRefused) as exc:
        print(str(exc), file=sys.stderr)
        return None


def _pipe_safe(main: Callable[P, int]) -> Callable[P, int]:
    """`kokuho sql … | head` must end quietly when the reader stops reading."""

    @functools.wraps(main)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            code = main(*args, **kwargs)
            sys.stdout.flush()
            return code
        except BrokenPipeError:
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            return 0

    return wrapper


@_pipe_safe
def run_sql(
    *,
    settings: Settings,
    query: str | None = None,
    file: Path | None = None,
    fmt: str = "table",
    max_width: int = 60,
    out_dirs: Sequence[Path] = (),
    encoding: str | None = None,
) -> int:
    """`kokuho sql`: run QUERY (or a dot command, or the SQL in `file`, on stdin, or typed at the
    prompt) read-only on the warehouse. Raises UsageError for options that do not go together."""
    if file is not None:
        if query:
            raise UsageError("QUERY と --file は同時に指定できません / give QUERY or --file, not both")
        try:
            query = file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            print(f"SQL ファイル {file} を読めません: {exc}", file=sys.stderr)
            return 2
    interactive = query is None and sys.stdin.isatty()
    if interactive and encoding:
        raise UsageError(
            "--encoding は対話モードでは使えません（SQL を引数・--file・標準入力で渡してください） / "
            "--encoding needs SQL as an argument, --file or stdin"
        )
    if query is None and not interactive:
        query = sys.stdin.read()
    if query is not None and not query.strip():
        print("SQL が空です / no SQL given", file=sys.stderr)
        return 2
    if query is not None and query.strip() == ".help":  # needs no database
        print(DOT_HELP)
        return 0

    guarded = _open(settings, out_dirs)
    if guarded is None:
        return 2
    try:
        if interactive or query is None:
            return _interactive(guarded, fmt, max_width)
        if is_dot_command(query):
            return run_dot_command(guarded, query, fmt, max_width, sys.stdout, sys.stderr)
        return _execute_and_print(guarded, query, fmt, max_width, sys.stdout, sys.stderr, encoding)
    finally:
        guarded.close()


STATUS_QUERY = """
SELECT status, municipality_code, municipality_name, latest_file_name, latest_received_at, reasons
FROM submission_status
WHERE prefecture_code = ? AND fiscal_year = ?
ORDER BY status_order, municipality_code
"""


@_pipe_safe
def show_status(*, settings: Settings, fmt: str = "table") -> int:
    """`kokuho status`: every municipality's submission status, 未提出 first."""
    guarded = _open(settings)
    if guarded is None:
        return 2
    try:
        result = run_query(guarded.con, STATUS_QUERY, [settings.prefecture_code, settings.fiscal_year])
    except duckdb.Error as exc:
        print(f"エラー / error: {exc}", file=sys.stderr)
        return 1
    finally:
        guarded.close()
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
    if fmt != "table":
        print(render(columns, rows, fmt))
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
