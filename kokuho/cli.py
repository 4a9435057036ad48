"""`kokuho` command line: a thin dispatcher.

Each subcommand lives in the module that owns it and is imported only when used, so that
`kokuho sql`, `export`, `status` and `template` start at once (no Prefect, no Great Expectations).
"""

from __future__ import annotations

import importlib
import sys

from kokuho.config import apply_offline_env

COMMANDS: dict[str, tuple[str, str]] = {
    "template": (
        "kokuho.templates",
        "テンプレート（調査票）を市町村ごとに作成する / write one survey workbook per municipality",
    ),
    "check": (
        "flows.steps",
        "返送された調査票を検証する（取込なし） / validate returned workbooks without loading",
    ),
    "run": ("flows.ingest", "受信フォルダを取り込む（Prefectフロー） / ingest an inbox (Prefect flow)"),
    "demo": ("demo.run", "デモデータを生成して一連の処理を実行 / generate demo data and run everything"),
    "sql": ("load.query", "DuckDBに読み取り専用でSQLを実行 / run read-only SQL on the warehouse"),
    "status": ("load.query", "市町村ごとの提出状況 / submission status per municipality"),
    "export": ("load.export_excel", "集計表をExcel/CSV/Parquetに出力 / export summary tables"),
    "serve": ("flows.serve", "夜間実行のデプロイを起動 / serve the nightly deployment"),
    "bench": ("benchmarks.bench", "性能測定 / benchmark at national scale"),
}


# Commands that never open a workbook and must answer at once.
LIGHT_COMMANDS = {"sql", "status"}


def usage() -> str:
    lines = ["usage: kokuho COMMAND [options]   (kokuho COMMAND --help for each)", "", "commands:"]
    lines += [f"  {name:<9} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"kokuho: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    apply_offline_env()
    if name not in LIGHT_COMMANDS:
        from kokuho.safety import UnsafeEnvironmentError, ensure_openpyxl_uses_defusedxml

        try:
            ensure_openpyxl_uses_defusedxml()
        except UnsafeEnvironmentError as exc:
            print(f"kokuho: {exc}", file=sys.stderr)
            return 3
    module = importlib.import_module(COMMANDS[name][0])
    # Each owning module exposes `<command>_main(argv) -> int`.
    return int(getattr(module, f"{name}_main")(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
