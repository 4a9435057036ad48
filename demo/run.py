"""`kokuho demo`: generate the demo inbox (63 Saitama municipalities, FY2023 and FY2024, with broken
files and re-submissions), run the ingest flow over it, export, and say where everything is; then
the same for Nagano's 事業改善シート (77 municipalities, FY2024) in its own folder (demo.nagano)."""

from __future__ import annotations

import shutil
from pathlib import Path

from kokuho.config import Settings

DEMO_MARKER = ".kokuho-demo"


def prepare_demo_home(home: Path) -> None:
    """Start from an empty demo folder; refuse to wipe a folder that is not a demo's."""
    if home.exists() and any(home.iterdir()) and not (home / DEMO_MARKER).exists():
        raise SystemExit(
            f"kokuho demo: {home} は空ではなく、デモ用フォルダでもありません。別の --home を指定してください。"
        )
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / DEMO_MARKER).write_text("created by kokuho demo; safe to delete\n", encoding="utf-8")


def run_demo(*, home: Path, runner: str = "default") -> int:
    """`kokuho demo`: build the demo inbox in `home` (wiped), ingest it, export, say where things are."""
    from demo.data import generate_demo_inbox
    from flows.ingest import run_ingest

    home = home.expanduser().resolve()
    prepare_demo_home(home)
    settings = Settings.resolve(
        home=home,
        db_path=home / "kokuho.duckdb",
        inbox=home / "inbox",
        prefecture_code="11",
        fiscal_year=2024,
    )
    print(f"[demo] generating returned workbooks in {settings.inbox} …", flush=True)
    manifest = generate_demo_inbox(
        settings.inbox, prefecture_code="11", fiscal_years=(2023, 2024), overwrite=True
    )
    # The manifest describes what the demo expects; it is not a returned file.
    (settings.inbox / "manifest.json").replace(home / "demo_manifest.json")
    print(f"[demo] {len(manifest.files)} files written; running the ingest flow …", flush=True)
    summary = run_ingest(settings, runner=runner)
    print(summary["text"])
    print(
        "\n[demo] done. Try:\n"
        f'  .venv/bin/kokuho sql --db {settings.db_path} "SELECT label, implementing_count, budget_lines '
        'FROM measure_summary WHERE fiscal_year = 2024 ORDER BY position LIMIT 5"\n'
        f"  .venv/bin/kokuho status --db {settings.db_path}\n"
        f'  .venv/bin/kokuho sql --db {settings.db_path} "SELECT achievement, trend, count(*) FROM indicator_results '
        'WHERE fiscal_year = 2024 AND value_year = 2023 GROUP BY ALL ORDER BY ALL"\n'
        f"  demo manifest (what each file is meant to test): {home / 'demo_manifest.json'}"
    )
    _run_nagano(home, runner)
    return 0


def _run_nagano(home: Path, runner: str) -> None:
    """The second prefecture: Nagano's 事業改善シート (seed 003) in its own folder, with its own
    inbox, warehouse and exports, as a prefecture runs it."""
    from demo.nagano import FOLDER, run_nagano

    folder = home / FOLDER
    print(
        f"\n[demo] 長野県（20）: 事業改善シート（成果指標・事業コスト）を {folder / 'inbox'} に作成し取り込みます …"
    )
    result = run_nagano(folder, runner=runner)
    db = result["settings"].db_path
    print(result["summary"]["text"])
    print(
        f"\n[demo] 長野県の集計は {folder} にあります（データベース・集計表・差戻し・Data Docs）。Try:\n"
        f'  .venv/bin/kokuho sql --db {db} "SELECT municipality_name, label, result_value, trend, target_raw, '
        "achievement FROM indicator_results WHERE fiscal_year = 2024 AND value_year = 2024 "
        "AND municipality_code = '202011' ORDER BY position\"\n"
        f'  .venv/bin/kokuho sql --db {db} "PIVOT (SELECT year_label, label, total_text FROM item_amounts '
        'WHERE fiscal_year = 2024) ON label USING first(total_text) ORDER BY year_label DESC"\n'
        f"  demo manifest: {folder / 'demo_manifest.json'}"
    )
