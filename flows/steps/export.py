"""The run's exports: the publication workbook and the returned-files list."""

from __future__ import annotations

import sys
from pathlib import Path

from kokuho.config import Settings


def export_path(settings: Settings, fiscal_year: int | None = None) -> Path:
    year = fiscal_year or settings.fiscal_year
    return settings.export_dir / f"集計表_{settings.prefecture_code}_{year}.xlsx"


def export_all(settings: Settings, run_id: str) -> list[Path]:
    """The publication workbook for the run's fiscal year (read from the published views)."""
    from load.export_data import ExportError
    from load.export_excel import export_summary

    if not settings.db_path.exists():
        return []
    settings.export_dir.mkdir(parents=True, exist_ok=True)
    try:
        out = export_summary(
            settings.db_path,
            settings.fiscal_year,
            export_path(settings),
            prefecture_code=settings.prefecture_code,
            run_info={"run_id": run_id},
        )
    except ExportError:
        # Nothing to publish yet for this survey year (e.g. the first night, empty inbox).
        return []
    write_returned_list_of(settings)
    return [out]


def write_returned_list_of(settings: Settings) -> Path | None:
    """quarantine/差戻し一覧.xlsx, every quarantined file of the database, rewritten each run; a
    failure to write it is reported on stderr and never stops the run."""
    import duckdb

    from load.reports import RETURNED_LIST, write_returned_list

    try:
        return write_returned_list(settings.db_path, settings.quarantine_dir / RETURNED_LIST)
    except (OSError, duckdb.Error) as exc:
        print(f"差戻し一覧を作成できませんでした: {exc}", file=sys.stderr)
        return None
