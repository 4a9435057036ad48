"""`kokuho` command line (click). Each command reads its options and calls the library.

The stage modules behind `sql`, `status`, `export` and `template` import neither Prefect nor Great
Expectations, and the other commands import theirs inside the command, so those four start at once.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kokuho.config import Settings, apply_offline_env
from kokuho.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])

# Commands that never open a workbook and must answer at once (no defusedxml check needed).
LIGHT_COMMANDS = {"sql", "status"}

# The settings every command may take, resolved at run time into kokuho.config.Settings:
# a flag wins over the environment, which wins over the defaults.
SETTINGS_HELP = {
    "home": "作業フォルダ（DB・差戻し・出力・Data Docs。既定 $KOKUHO_HOME または ./kokuho_home） / working folder",
    "db": "DuckDB ファイル（既定 $KOKUHO_DB または HOME/kokuho.duckdb） / published DuckDB file",
    "inbox": "受信フォルダ（既定 $KOKUHO_INBOX または HOME/inbox） / inbox folder of returned workbooks",
    "prefecture": "都道府県コード（例 11。既定 $KOKUHO_PREFECTURE または 11） / prefecture code",
    "year": "調査年度（西暦、例 2024 = 令和6年度。既定 $KOKUHO_YEAR または 2024） / survey fiscal year",
}


def settings_options(*names: str, **help_overrides: str) -> Callable[[F], F]:
    """Add the settings flags `names` (of home, db, inbox, prefecture, year) to a command and hand
    it `settings=Settings(...)` instead of the raw flags (still in `click.get_current_context().params`)."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            flags = {name: kwargs.pop(name) for name in names}
            kwargs["settings"] = Settings.resolve(
                home=flags.get("home"),
                db_path=flags.get("db"),
                inbox=flags.get("inbox"),
                prefecture_code=flags.get("prefecture"),
                fiscal_year=flags.get("year"),
            )
            return command(*args, **kwargs)

        decorated: Callable[..., Any] = wrapper
        for name in reversed(names):
            metavar = {"prefecture": "CODE", "year": "YEAR"}.get(name, "PATH")
            decorated = click.option(
                f"--{name}",
                type=int if name == "year" else str,
                metavar=metavar,
                help=help_overrides.get(name, SETTINGS_HELP[name]),
            )(decorated)
        # click.option() is typed as returning a plain callable; the decorated command keeps F's signature.
        return decorated  # type: ignore[return-value]

    return decorate


def _usage_errors(run: Callable[[], int]) -> int:
    """Run a library call; its UsageError becomes click's (exit code 2)."""
    try:
        return run()
    except UsageError as exc:
        raise click.UsageError(str(exc)) from exc


HELP_OPTION_HELP = "この説明を表示して終了 / show this message and exit"


class KokuhoCommand(click.Command):
    """A command whose --help option is described in Japanese first, like every other option."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_OPTION_HELP
        return option


class KokuhoGroup(click.Group):
    """Lists commands in the order they are declared; names an unknown command in both languages."""

    command_class = KokuhoCommand

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_OPTION_HELP
        return option

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if args and name not in self.commands and not name.startswith("-"):
            raise click.UsageError(f"不明なコマンド {name!r} / unknown command {name!r}", ctx)
        return super().resolve_command(ctx, args)


@click.group(
    cls=KokuhoGroup,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """国保 取組状況調査: 調査票の作成・取込・検証・集計・出力 / the kokuho survey pipeline.

    各コマンドの使い方は kokuho COMMAND --help / see kokuho COMMAND --help for each command.
    """
    apply_offline_env()
    if ctx.invoked_subcommand not in LIGHT_COMMANDS:
        from kokuho.safety import UnsafeEnvironmentError, ensure_openpyxl_uses_defusedxml

        try:
            ensure_openpyxl_uses_defusedxml()
        except UnsafeEnvironmentError as exc:
            click.echo(f"kokuho: {exc}", err=True)
            ctx.exit(3)


@cli.command(
    short_help="テンプレート（調査票）を市町村ごとに作成する / write one survey workbook per municipality"
)
@settings_options("prefecture", "year")
@click.option(
    "--out", type=click.Path(path_type=Path), help="出力先フォルダ（既定 HOME/templates） / output folder"
)
@click.option(
    "--municipality",
    "municipalities",
    multiple=True,
    metavar="CODE",
    help="この市町村だけ作成（5桁・6桁のコード、複数可） / only these municipalities (5- or 6-digit codes)",
)
@click.argument("more_codes", nargs=-1, metavar="")
@click.option(
    "--catalog", type=click.Path(path_type=Path), help="カタログファイルを直接指定 / use this catalog file"
)
@click.option(
    "--deadline",
    metavar="YYYY-MM-DD",
    help="提出期限（表紙と記入要領に記載） / submission deadline shown on the cover, e.g. 2024-06-30",
)
@click.option(
    "--contact",
    metavar="TEXT",
    help="提出先・問い合わせ先（表紙と記入要領に記載） / where to send, e.g. 県国保医療課 kokuho@pref.example.jp",
)
def template(
    settings: Settings,
    out: Path | None,
    municipalities: tuple[str, ...],
    more_codes: tuple[str, ...],
    catalog: Path | None,
    deadline: str | None,
    contact: str | None,
) -> int:
    """市町村ごとの調査票（.xlsx）を作成します / write one survey workbook per municipality."""
    if more_codes and not municipalities:
        raise click.UsageError(f"余分な引数 {' '.join(more_codes)} / unexpected arguments")
    from kokuho.templates import make_templates

    return make_templates(
        settings=settings,
        out=out,
        municipality_codes=[*municipalities, *more_codes],  # `--municipality A B` as before
        catalog_path=catalog,
        deadline=deadline,
        contact=contact,
    )


@cli.command(
    short_help="返送された調査票を検証する（取込なし） / validate returned workbooks without loading"
)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@settings_options(
    "prefecture",
    "year",
    "home",
    year="調査年度（既定 $KOKUHO_YEAR または 2024。異なる年度の調査票は注意を表示） / survey fiscal year",
    home="DIR/quarantine/ に保管し、DIR/data_docs/ に検証結果（Data Docs）を書き出す / "
    "write the quarantine outputs and Data Docs under DIR",
)
@click.option(
    "--quarantine",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="不備のあるファイルの写し・理由一覧・返却用の写しを DIR に保管する / write the quarantine outputs to DIR",
)
def check(paths: tuple[Path, ...], settings: Settings, quarantine: Path | None) -> int:
    """返送された調査票をその場で検証します（DBには取り込みません）。指定しない限り何も書き出しません /
    validate returned workbooks (files or folders) without loading; writes nothing unless asked."""
    from flows.steps import check_paths

    home_given = click.get_current_context().params["home"] is not None
    quarantine_dir = quarantine or (settings.quarantine_dir if home_given else None)
    return check_paths(list(paths), settings, quarantine_dir=quarantine_dir, data_docs=home_given)


@cli.command(short_help="受信フォルダを取り込む（Prefectフロー） / ingest an inbox (Prefect flow)")
@settings_options("inbox", "home", "db", "prefecture", "year")
@click.option(
    "--runner",
    type=click.Choice(["default", "dask"]),
    default="default",
    show_default=True,
    help="抽出のタスクランナー / task runner for extraction",
)
@click.option(
    "--address",
    help="Dask スケジューラのアドレス tcp://HOST:PORT（--runner dask と） / Dask scheduler address",
)
@click.option("--no-export", is_flag=True, help="Excel 出力をしない / skip the Excel export")
def run(settings: Settings, runner: str, address: str | None, no_export: bool) -> int:
    """受信フォルダの調査票を取り込みます（Prefectフロー） / ingest the inbox now (Prefect flow)."""
    from flows.ingest import run_once

    return run_once(settings, runner=runner, address=address, export=not no_export)


@cli.command(short_help="デモデータを生成して一連の処理を実行 / generate demo data and run everything")
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    default=Path("kokuho_demo"),
    show_default=True,
    help="デモ用フォルダ（消して作り直す） / demo folder (wiped and rebuilt)",
)
@click.option(
    "--runner",
    type=click.Choice(["default", "dask"]),
    default="default",
    show_default=True,
    help="抽出のタスクランナー / task runner for extraction",
)
def demo(home: Path, runner: str) -> int:
    """デモ用の返送調査票（埼玉県63市町村、令和5・6年度）を生成し、取込・検証・集計・出力まで実行します /
    generate the demo inbox and run ingest, validation, summaries and export over it."""
    from demo.run import run_demo

    return run_demo(home=home, runner=runner)


SQL_EPILOG = """\b
例 / examples:
  kokuho sql "SELECT label, implementing_count, implementing_pct FROM measure_summary WHERE fiscal_year = 2024"
  kokuho sql --format csv "SELECT * FROM submission_status" > status.csv
  kokuho sql --file q.sql --format json
  kokuho sql .schema measure_summary          (列の一覧 / columns of a view)
  kokuho sql --out-dir out "COPY (SELECT * FROM measure_summary) TO 'out/ms.parquet' (FORMAT parquet)"
  kokuho sql                      (対話モード / interactive prompt; .help で使い方、.quit で終了)
"""

FORMAT_HELP = "出力形式 / output format"
NUMBER = re.compile(r"-\d+\.?\d*|-\.\d+")


@cli.command(
    short_help="DuckDBに読み取り専用でSQLを実行 / run read-only SQL on the warehouse",
    epilog=SQL_EPILOG,
    # SQL that starts with a comment ("-- …") is a query, not an option: words with a space in
    # them reach QUERY, and any other unknown option is refused in the command.
    context_settings={"ignore_unknown_options": True},
)
@click.argument("query", nargs=-1)
@click.option(
    "--file", "-f", type=click.Path(path_type=Path), help="SQL を書いたファイル / file holding the SQL"
)
@click.option(
    "--max-width",
    type=int,
    default=60,
    show_default=True,
    help="表形式での列の最大幅（0で無制限） / max column width in the table (0: no limit)",
)
@click.option(
    "--out-dir",
    "out_dirs",
    type=click.Path(path_type=Path),
    multiple=True,
    metavar="DIR",
    help="SQL がファイルを読み書きしてよいフォルダ（COPY … TO・read_csv など。複数可。データベースの"
    "フォルダは不可） / folder SQL may read and write files in",
)
@click.option(
    "--encoding",
    type=click.Choice(["utf-8", "utf-8-sig", "cp932"]),
    help="出力の文字コード（既定 utf-8。Excel で開く CSV は utf-8-sig = BOM付き、または cp932） / output encoding",
)
@settings_options("db", "home")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", help=FORMAT_HELP
)
def sql(
    query: tuple[str, ...],
    file: Path | None,
    max_width: int,
    out_dirs: tuple[Path, ...],
    encoding: str | None,
    settings: Settings,
    fmt: str,
) -> int:
    """DuckDB の集計データベースに読み取り専用で SQL を実行します。QUERY は SQL、または .help・.tables・
    .schema NAME（省略時は --file、標準入力、対話モード）。ファイルの読み書きは --out-dir のフォルダの中だけ /
    run read-only SQL (or a dot command) on the warehouse; files only inside --out-dir."""
    from load.query import run_sql

    for word in query:
        if word.startswith("-") and not any(ch.isspace() for ch in word) and not NUMBER.fullmatch(word):
            raise click.NoSuchOption(word.split("=", 1)[0])
    # `kokuho sql .schema measure_summary` arrives as two words
    text = " ".join(query) or None
    return _usage_errors(
        lambda: run_sql(
            settings=settings,
            query=text,
            file=file,
            fmt=fmt,
            max_width=max_width,
            out_dirs=list(out_dirs),
            encoding=encoding,
        )
    )


@cli.command(short_help="市町村ごとの提出状況 / submission status per municipality")
@settings_options("year", "prefecture", "db", "home")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", help=FORMAT_HELP
)
def status(settings: Settings, fmt: str) -> int:
    """市町村ごとの提出状況（未提出・差戻し・再提出・受理） / submission status per municipality."""
    from load.query import show_status

    return show_status(settings=settings, fmt=fmt)


@cli.command(short_help="集計表をExcel/CSV/Parquetに出力 / export summary tables")
@settings_options(
    "year",
    "prefecture",
    "db",
    year="調査年度（西暦、例 2024 = 令和6年度）。--view では fiscal_year で絞り込む / survey fiscal year",
    prefecture="都道府県コード（例 11）。省略時はデータから判定 / prefecture code (default: from the data)",
)
@click.option("--out", type=click.Path(path_type=Path), help="出力ファイル / output file")
@click.option("--view", help="ビュー名（CSV/Parquet出力） / view to export as CSV or Parquet")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet"]), help="--view の出力形式 / format of --view"
)
@click.option(
    "--encoding",
    type=click.Choice(["utf-8-sig", "utf-8", "cp932"]),
    help="--view の CSV の文字コード（既定 utf-8-sig = BOM付きUTF-8、Excel向け） / CSV encoding",
)
@click.option("--run-id", help="注記に記載する実行ID / run ID for the cover note")
def export(
    settings: Settings,
    out: Path | None,
    view: str | None,
    fmt: str | None,
    encoding: str | None,
    run_id: str | None,
) -> int:
    """集計表をExcelに、またはビューをCSV/Parquetに出力する / export the summary workbook, or a view."""
    from load.export_excel import run_export

    params = click.get_current_context().params
    return _usage_errors(
        lambda: run_export(
            settings=settings,
            year=params["year"],
            prefecture_code=params["prefecture"],
            out=out,
            view=view,
            fmt=fmt,
            encoding=encoding,
            run_id=run_id,
        )
    )


@cli.command(short_help="夜間実行のデプロイを起動 / serve the nightly deployment")
@click.option("--cron", help="スケジュール（既定 $KOKUHO_CRON または '0 2 * * *'） / schedule")
@click.option(
    "--timezone",
    help="cron の IANA タイムゾーン（既定 $KOKUHO_TIMEZONE または Asia/Tokyo） / time zone of the cron",
)
@settings_options("inbox", "home", "db", "prefecture", "year")
def serve(cron: str | None, timezone: str | None, settings: Settings) -> int:
    """夜間取込のデプロイを Prefect サーバーに登録して常駐実行します（要 prefect server start） /
    serve the nightly deployment on a running Prefect server until Ctrl-C."""
    from flows.serve import serve_nightly

    return serve_nightly(settings, cron=cron, timezone=timezone)


@cli.command(short_help="性能測定 / benchmark at national scale")
@click.option("--n", "n", type=int, default=1741, show_default=True, help="調査票の数 / workbooks")
@click.option("--repeat", type=int, default=3, show_default=True, help="各測定の回数（中央値） / repetitions")
@click.option(
    "--years",
    type=int,
    default=1,
    show_default=True,
    help="(c)(d)(e) を 1 年・半分・全年度分の調査票で測る（10 なら N の 1・5・10 倍） / "
    "time (c)(d)(e) on 1, years/2 and `years` fiscal years of workbooks",
)
@click.option(
    "--seed", type=int, default=2024, show_default=True, help="回答の乱数シード / answers' random seed"
)
@click.option(
    "--workdir",
    type=click.Path(path_type=Path),
    default=Path("kokuho_bench"),
    show_default=True,
    help="生成した調査票・実行フォルダ・ログ / generated workbooks, run folders, logs",
)
@click.option("--skip-naive", is_flag=True, help="(b) 素朴な pandas スクリプトを省く / skip (b)")
@click.option(
    "--naive-sample",
    type=int,
    metavar="K",
    help="(b) を K 件で測り N 件に外挿 / time (b) on K files and extrapolate to N",
)
@click.option("--skip-b2", is_flag=True, help="(b2) polars + fastexcel のスクリプトを省く / skip (b2)")
@click.option("--skip-full", is_flag=True, help="(c)(d)(e) を省く / skip (c), (d), (e)")
@click.option(
    "--ephemeral",
    is_flag=True,
    help="共有サーバーを使わず毎回一時サーバーを起動 / each repetition starts Prefect's ephemeral server",
)
@click.option(
    "--profile",
    is_flag=True,
    help="cProfile でもう一度実行（workdir/profile_c.txt） / one more run under cProfile",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="すべての数値を FILE に JSON で書く / also write every figure to FILE as JSON",
)
def bench(
    n: int,
    repeat: int,
    years: int,
    seed: int,
    workdir: Path,
    skip_naive: bool,
    naive_sample: int | None,
    skip_b2: bool,
    skip_full: bool,
    ephemeral: bool,
    profile: bool,
    json_path: Path | None,
) -> int:
    """性能測定: 全国1,741市町村分の調査票で、取込フロー全体を素朴なスクリプトと読み取りの下限と比較します /
    benchmark the full ingest at national scale against a naive script and the parser's floor."""
    from benchmarks.bench import BenchOptions, run_bench

    options = BenchOptions(
        n=n,
        repeat=repeat,
        seed=seed,
        workdir=workdir,
        skip_naive=skip_naive,
        naive_sample=naive_sample,
        skip_b2=skip_b2,
        skip_full=skip_full,
        years=years,
        ephemeral=ephemeral,
        profile=profile,
        json=json_path,
    )
    return run_bench(options)


@cli.group(
    cls=KokuhoGroup,
    no_args_is_help=True,
    short_help="調査カタログの作成・検査・Excel往復 / author survey catalogs (check, new, Excel round trip)",
)
def catalog() -> None:
    """調査カタログ（data/catalogs/*.yaml）の検査、翌年度のカタログの作成、Excel ブックとの往復 /
    check catalogs, start next year's catalog, and round-trip a catalog through an Excel workbook."""


def _catalog_result(run: Callable[[], list[str]]) -> int:
    """Print what a catalog command did, or its errors (exit 1)."""
    from kokuho.catalog import CatalogError

    try:
        lines = run()
    except CatalogError as exc:
        click.echo(str(exc), err=True)
        click.get_current_context().exit(1)
    for line in lines:
        click.echo(line)
    return 0


@catalog.command("check", short_help="カタログを厳密に読み込んで検査する / load catalogs strictly and report")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="FILE…")
def catalog_check(files: tuple[Path, ...]) -> int:
    """カタログを厳密に読み込み、問題なし（と項目数など）か誤り（ファイル:行: 内容）を表示します /
    load each catalog strictly and print its counts or its errors (file:line: message)."""
    from kokuho.catalog_authoring import check_files

    ok, lines = check_files(files)
    for line in lines:
        click.echo(line)
    if not ok:
        click.get_current_context().exit(1)
    return 0


@catalog.command(
    "new", short_help="翌年度のカタログを今年度のものから作る / next year's catalog from this year's"
)
@click.option(
    "--from",
    "source",
    required=True,
    metavar="NAME|FILE",
    help="元のカタログ（11_2024 のような名前、またはファイル） / the catalog to start from",
)
@click.option(
    "--year", type=int, required=True, metavar="YEAR", help="新しい調査年度（西暦） / new fiscal year"
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="出力ファイル（既定 元と同じフォルダの CODE_YEAR.yaml） / output file",
)
@click.option("--version", "version", metavar="TEXT", help="カタログ版（既定 YEAR.1） / catalog version")
@click.option("--force", is_flag=True, help="既にあるファイルを上書きする / overwrite an existing file")
def catalog_new(source: str, year: int, out: Path | None, version: str | None, force: bool) -> int:
    """今年度のカタログから翌年度のカタログを作ります。項目とIDはそのまま、年度と版だけが変わります /
    write next year's catalog from this year's: same items and IDs, new fiscal year and version."""
    from kokuho.catalog_authoring import new_catalog, summary

    def run() -> list[str]:
        path, made = new_catalog(source, year, out=out, version=version, force=force)
        return [f"作成しました: {path}", summary(made)]

    return _catalog_result(run)


@catalog.command(
    "to-excel", short_help="カタログを Excel ブックに書き出す / write a catalog as an Excel workbook"
)
@click.argument("file", type=click.Path(path_type=Path), metavar="FILE")
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, metavar="BOOK.xlsx", help="出力ブック / workbook"
)
def catalog_to_excel(file: Path, out: Path) -> int:
    """カタログを Excel ブック（項目シートに1項目1行）に書き出します。編集後は from-excel で戻します /
    write the catalog as a workbook (one row per item) to review and edit in Excel."""
    from kokuho.catalog_authoring import to_excel

    def run() -> list[str]:
        made = to_excel(file, out)
        return [f"書き出しました: {out}（項目 {len(made.items)}）"]

    return _catalog_result(run)


@catalog.command(
    "from-excel", short_help="Excel ブックからカタログを作り直す / rebuild a catalog from an Excel workbook"
)
@click.argument("book", type=click.Path(path_type=Path), metavar="BOOK.xlsx")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    metavar="FILE",
    help="出力カタログ / catalog file",
)
@click.option(
    "--base",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="元のカタログ（先頭のコメントを引き継ぎ、変更点を表示） / the catalog the workbook came from",
)
def catalog_from_excel(book: Path, out: Path, base: Path | None) -> int:
    """Excel ブックからカタログ（YAML）を作り直し、厳密に検査してから書き出します /
    rebuild the catalog YAML from the workbook; written only when it passes the strict checks."""
    from kokuho.catalog_authoring import from_excel, summary

    def run() -> list[str]:
        made, changes = from_excel(book, out, base=base)
        return [f"作成しました: {out}", summary(made), *changes]

    return _catalog_result(run)


# Every command with its one-line help, in the order `kokuho --help` lists them.
COMMANDS: dict[str, str] = {name: command.short_help or "" for name, command in cli.commands.items()}


def main(argv: list[str] | None = None) -> int:
    """Run `kokuho ARGS`; returns the exit code (2 for usage errors) instead of exiting."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = cli.main(args=args, prog_name="kokuho", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("中断しました / aborted", err=True)
        return 1
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
