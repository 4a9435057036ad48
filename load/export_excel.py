"""`kokuho export`: the prefecture's publication workbook, and view exports for BI tools.

    kokuho export --year 2024 --out summary.xlsx [--db PATH] [--prefecture 11]
    kokuho export --view measure_summary --format csv|parquet --out FILE [--year 2024]
                  [--encoding utf-8-sig|utf-8|cp932] [--db PATH]

Reads only the published views, through a read-only DuckDB connection. No Prefect, no Great
Expectations: this command must answer at once.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook

from kokuho.catalog import fiscal_year_label
from kokuho.config import Settings
from kokuho.errors import UsageError
from load import export_sheets as sheets
from load.export_data import LOCAL_TZ, ExportError, SummaryData, read_summary
from load.xlsx_cells import save_workbook

if TYPE_CHECKING:
    from load.export_sheets.indicators import IndicatorData

DEFAULT_SURVEY_TITLE = "国民健康保険運営方針で目標設定した事業の取組状況調査"
NO_RUN = "（記録なし）"

__all__ = ["ExportError", "run_export", "export_summary"]


def export_summary(
    db_path: Path,
    fiscal_year: int,
    out: Path,
    *,
    prefecture_code: str | None = None,
    run_info: dict[str, Any] | None = None,
) -> Path:
    """Write the summary workbook for one fiscal year and return its path.

    run_info (all optional): run_id, data_as_of (datetime or text), survey_title, generated_at.
    Without data_as_of the latest receipt time in submission_status is used.
    """
    data = read_summary(Path(db_path), int(fiscal_year), prefecture_code)
    ctx = _context(data, run_info or {})
    from load.export_sheets.indicators import read_indicator_data

    workbook = build_workbook(ctx, indicators=read_indicator_data(Path(db_path), data))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed: a reader never sees half a workbook.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".xlsx", dir=out.parent)
    os.close(fd)
    try:
        save_workbook(workbook, tmp_name)  # the sheets' buffered cells (export_sheets.put) included
        os.chmod(tmp_name, 0o666 & ~_umask())  # mkstemp makes it private; publish it like any file
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _asks_no_targets(data: SummaryData) -> bool:
    """A survey whose catalog declares no numeric targets, and with none loaded, gets no 数値目標
    sheet (it would print an empty table); without a catalog the sheet stays."""
    if data.targets:
        return False
    from kokuho.catalog import catalog_if_any

    catalog = catalog_if_any(data.prefecture_code, data.fiscal_year)
    return catalog is not None and not catalog.numeric_targets


def build_workbook(ctx: sheets.Context, indicators: IndicatorData | None = None) -> Workbook:
    """The summary workbook; its cells are buffered (load.xlsx_cells): save it with
    xlsx_cells.save_workbook, not Workbook.save, which would write the sheets without cells."""
    data = ctx.data
    workbook = Workbook()
    notes = workbook.active
    notes.title = "注記"
    listing: list[tuple[str, str]] = [("注記", "調査・データ時点・実行ID・凡例（このシート）")]
    section_sheets = []
    for no, title in data.sections():
        ws = workbook.create_sheet(sheets.sheet_title(f"{no} {title}"))
        sheets.write_section(ws, ctx, no, title)
        section_sheets.append(ws.title)
        listing.append((ws.title, f"{no} {title}：取組ごとの実施予定市町村数・主な予算事業名・独自の取組"))
    ws = workbook.create_sheet("取組状況")
    sheets.write_status(ws, ctx)
    listing.append((ws.title, "取組ごとの n/N市町村（p%）と前年度比（増・減・新）"))
    ws = workbook.create_sheet("市町村別実施状況")
    sheets.write_matrix(ws, ctx)
    listing.append((ws.title, "市町村×取組の実施状況（○）と合計"))
    if not _asks_no_targets(data):
        ws = workbook.create_sheet("数値目標")
        sheets.write_targets(ws, ctx)
        listing.append((ws.title, "市町村別・年度別の数値目標（収納率等）と備考"))
    # Sheets of typed items, only for a survey that has them (Saitama's workbook stays as it is).
    if data.option_counts:
        ws = workbook.create_sheet("選択肢の集計")
        sheets.write_option_counts(ws, ctx)
        listing.append((ws.title, "選択肢・新規継続の項目：選択肢ごとの市町村数と前年度比（増・減・新）"))
    if data.number_totals:
        ws = workbook.create_sheet("数値項目")
        sheets.write_number_totals(ws, ctx)
        listing.append(
            (ws.title, "数値の項目：項目・年度ごとの回答市町村数・合計・最小・最大・平均と前年度の合計")
        )
        ws = workbook.create_sheet("数値項目（市町村別）")
        sheets.write_numbers(ws, ctx)
        listing.append((ws.title, "数値の項目：市町村・年度ごとの記入のとおりの値と数値、前年度の数値"))
    ws = workbook.create_sheet("提出状況")
    sheets.write_submissions(ws, ctx)
    listing.append((ws.title, "未提出・差戻し（理由）・再提出・受理の市町村"))
    ws = workbook.create_sheet("差戻し一覧")
    sheets.write_returned(ws, ctx)
    listing.append((ws.title, "差戻したファイルごとの理由（シート・セル・内容・修正方法）と現在の状況"))
    if indicators is not None:  # surveys with indicators or amounts (seed 003 / 004 tables)
        from load.export_sheets.indicators import write_indicator_sheets

        listing += write_indicator_sheets(workbook, ctx, indicators)
    for index, (no, title) in enumerate(data.sections(), start=1):
        ws = workbook.create_sheet(sheets.sheet_title(f"図{index} {title}"))
        sheets.write_chart_sheet(ws, ctx, no, title)
        listing.append(
            (
                ws.title,
                f"{no} {title}：実施予定市町村数のグラフ"
                + ("・前年度比較" if data.has_previous_year else ""),
            )
        )
    ws = workbook.create_sheet("data_measure_summary")
    sheets.write_machine_measures(ws, ctx)
    listing.append((ws.title, "機械処理用：measure_summary ビュー（予算事業名の一覧を除く）"))
    ws = workbook.create_sheet("data_budget_lines")
    sheets.write_machine_budget_lines(ws, ctx)
    listing.append((ws.title, "機械処理用：取組ごとの予算事業名（多い順の順位つき）"))
    sheets.write_notes(notes, ctx, listing)
    workbook.properties.title = f"{ctx.survey_title} {ctx.year_label} {data.prefecture_name}"
    workbook.properties.creator = "kokuho-survey"
    return workbook


def _context(data: SummaryData, run_info: dict[str, Any]) -> sheets.Context:
    as_of = run_info.get("data_as_of") or data.data_as_of
    generated = run_info.get("generated_at") or dt.datetime.now(LOCAL_TZ)
    return sheets.Context(
        data=data,
        survey_title=str(run_info.get("survey_title") or _catalog_title(data) or DEFAULT_SURVEY_TITLE),
        run_id=str(run_info.get("run_id") or NO_RUN),
        data_as_of=_when(as_of) if as_of else NO_RUN,
        generated_at=_when(generated),
    )


def _catalog_title(data: SummaryData) -> str | None:
    from kokuho.catalog import catalog_if_any

    catalog = catalog_if_any(data.prefecture_code, data.fiscal_year)
    return catalog.title if catalog is not None else None


def _when(value: object) -> str:
    """2024年6月1日 10:00 現在 (Japan time)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(LOCAL_TZ)
        return f"{value.year}年{value.month}月{value.day}日 {value:%H:%M} 現在"
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日 現在"
    return str(value)


def run_export(
    *,
    settings: Settings,
    year: int | None = None,
    prefecture_code: str | None = None,
    out: Path | None = None,
    view: str | None = None,
    fmt: str | None = None,
    encoding: str | None = None,
    run_id: str | None = None,
) -> int:
    """`kokuho export`: the summary workbook, or one view as CSV/Parquet (`view`, `fmt`). `year` and
    `prefecture_code` are the flags as given (None when absent); `settings` holds their resolution.
    Raises UsageError for options that do not go together."""
    if encoding and fmt != "csv":
        raise UsageError(
            "--encoding は --view … --format csv と一緒に指定してください / --encoding needs --format csv"
        )
    if not settings.db_path.is_file():
        from load.query import missing_database_message

        print(f"kokuho export: {missing_database_message(settings.db_path)}", file=sys.stderr)
        return 1
    try:
        if view:
            from load.export_views import export_view

            if not fmt or not out:
                raise UsageError(
                    "--view には --format csv|parquet と --out が必要です / --view needs --format and --out"
                )
            # only a --year given here filters: a view export is the whole view unless asked
            path = export_view(settings.db_path, view, fmt, out, year=year, encoding=encoding or "utf-8-sig")
            scope = f"{fiscal_year_label(year)}分" if year else "全年度"
            print(f"ビュー {view}（{scope}）を {path} に出力しました")
            return 0
        if fmt:
            raise UsageError("--format は --view と一緒に指定してください / --format needs --view")
        year = year or settings.fiscal_year
        out = out or settings.export_dir / f"kokuho_summary_{settings.prefecture_code}_{year}.xlsx"
        run_info = {"run_id": run_id} if run_id else None
        path = export_summary(settings.db_path, year, out, prefecture_code=prefecture_code, run_info=run_info)
    except ExportError as exc:
        print(f"kokuho export: {exc}", file=sys.stderr)
        return 1
    print(f"{fiscal_year_label(year)}の集計表を {path} に出力しました")
    return 0
