"""`kokuho check PATH...`: validate returned workbooks without loading, and its verdict per file."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from flows.steps.inbox import scan_inbox
from flows.steps.model import FileOutcome
from flows.steps.validation import mark_superseded_within, stage_files
from kokuho.config import Settings

CHECK_LABELS = {
    "accepted": "問題なし",
    "quarantined": "差戻し",
    "superseded": "差替え済",
    "skipped": "スキップ",
}


def format_outcomes(
    outcomes: list[FileOutcome],
    labels: dict[str, str] | None = None,
    expected_year: int | None = None,
) -> str:
    """A plain-text verdict per file (for the terminal): its municipality and survey year, its
    issues, where it was set aside; a warning when its year is not `expected_year`."""
    labels = labels or {
        "accepted": "受理",
        "quarantined": "差戻し",
        "superseded": "差替え済",
        "skipped": "処理済",
    }
    lines = []
    for o in outcomes:
        who = f"{o.municipality_code or '------'} {o.municipality_name or ''}".strip()
        if o.fiscal_year is not None:
            who += f" / {o.fiscal_year}年度調査"
        lines.append(f"[{labels.get(o.status, o.status)}] {o.file_name}  ({who})")
        if o.reason:
            lines.append(f"    {o.reason_code}: {o.reason}")
        for issue in o.issues[:5]:
            lines.append(f"    {issue.get('code')}: {issue.get('message')}")
        if len(o.issues) > 5:
            lines.append(f"    …ほか {len(o.issues) - 5} 件")
        if expected_year is not None and o.fiscal_year is not None and o.fiscal_year != expected_year:
            lines.append(
                f"    注意: この調査票は{o.fiscal_year}年度の調査のものです"
                f"（確認している年度は{expected_year}年度です。--year で指定できます）。"
            )
        if o.quarantine_dir:
            lines.append(f"    → 保管先: {o.quarantine_dir}")
    return "\n".join(lines)


def check_paths(
    paths: Sequence[Path],
    settings: Settings,
    *,
    quarantine_dir: Path | None = None,
    data_docs: bool = False,
) -> int:
    """`kokuho check PATH...`: validate returned workbooks without loading anything. Writes
    nothing unless asked: the quarantine outputs to `quarantine_dir`, Data Docs under the home."""
    missing = [p for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        print(f"kokuho check: ファイルがありません: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    files = scan_inbox(paths)
    result = stage_files(
        files,
        settings,
        write_quarantine=quarantine_dir is not None,
        quarantine_dir=quarantine_dir,
        data_docs=data_docs,
    )
    mark_superseded_within(
        [o for o in result.outcomes if o.status != "skipped"], {f.sha256: f.mtime for f in files}
    )
    print(format_outcomes(result.outcomes, CHECK_LABELS, settings.fiscal_year))
    skipped = [e for e in files.entries if e.state == "skipped"]
    for entry in skipped:
        print(f"[スキップ] {entry.relative}  ({entry.reason_code})\n    {entry.reason}")
    counts = pd.Series([o.status for o in result.outcomes], dtype=object).value_counts().to_dict()
    print(
        f"\n{len(files) + len(skipped)} 件: 問題なし {counts.get('accepted', 0)}、"
        f"差替え済 {counts.get('superseded', 0)}、差戻し {counts.get('quarantined', 0)}、"
        f"スキップ {counts.get('skipped', 0) + len(skipped)}"
    )
    if counts.get("quarantined") and quarantine_dir is None:
        print("差戻し用の写し・理由一覧を保管するには --quarantine DIR を指定してください。")
    if result.data_docs_index:
        print(f"Data Docs: {result.data_docs_index}")
    return 0
