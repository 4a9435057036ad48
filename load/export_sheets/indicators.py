"""Indicator sheets, for surveys whose catalog declares indicators or amounts: 成果指標 in seed
003's layout (three years of results with 推移, 目標値, 達成状況), 主な指標 in seed 004's (R５ → R６),
事業コスト (export_sheets.costs) and a chart of results against targets per indicator.

Read from the public views indicator_results, indicator_rollup, item_pairs and item_amounts; a
warehouse without them (or a survey without indicators and amounts) gets none of these sheets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.series import SeriesLabel
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from kokuho.catalog import short_year_label
from load.export_data import (
    SummaryData,
    _view_columns,
    _where,
    code_literal,
    read_only_within,
    read_year_only,
)
from load.export_sheets.cells import _cells, put, row_height, set_widths, wrapped_lines
from load.export_sheets.charts import (
    CHART_COL_WIDTH,
    CHART_COLS,
    CHART_FIRST_COL,
    CHART_HEADER_ROW,
    CHART_PAGE_ROWS,
    CHART_ROW_HEIGHT,
    _chart_print,
    _font,
)
from load.export_sheets.costs import write_costs
from load.export_sheets.pages import setup_print
from load.export_sheets.style import BOLD, BOX, CENTER, NUMBER_ALIGN, TABLE_FONT, TABLE_LINE, TOTAL_FILL, WRAP
from load.export_sheets.tables import Context, finish_table, header_row, title_block
from load.memory import export_memory_limit, within_memory_bounds
from load.sql_files import fill
from load.sql_files import quote_identifier as _quote

TREND_LEGEND = "↗：改善 ↘：悪化 →：変化なし ―：数値なし"
NO_VALUE = "―"
RESULT_HEADER_ROW = 5
PAIR_HEADER_ROW = 4
CHART_BARS = 16  # municipalities per chart (two bars each) at a 9-pt label size
VIEWS = ("indicator_results", "indicator_rollup", "item_pairs", "item_amounts")
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass
class IndicatorData:
    """The rows of the indicator views for one fiscal year, prefecture and survey."""

    fiscal_year: int
    results: list[dict[str, Any]] = field(default_factory=list)
    rollup: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[dict[str, Any]] = field(default_factory=list)
    amounts: list[dict[str, Any]] = field(default_factory=list)


def read_indicator_data(db_path: Path, data: SummaryData) -> IndicatorData | None:
    """The indicator views' rows of the summary's year and prefecture (the latest survey of the
    year); None when the warehouse has no such views or the survey neither indicators nor amounts.

    Read within export_memory_limit() as the summary is, and again within the larger bounds of
    load.memory.retry_limits should DuckDB run out of memory there."""
    found = within_memory_bounds(export_memory_limit(), lambda limit: _read_views(Path(db_path), data, limit))
    if found is None:
        return None
    surveys = {r["survey_id"] for r in found.results + found.amounts}
    if not surveys:
        return None
    survey = max(surveys)
    found.results = sorted(
        (r for r in found.results if r["survey_id"] == survey),
        key=lambda r: (r["position"], r["municipality_code"], r["value_year"]),
    )
    found.rollup = sorted(
        (r for r in found.rollup if r["survey_id"] == survey), key=lambda r: (r["position"], r["value_year"])
    )
    found.pairs = sorted((r for r in found.pairs if r["survey_id"] == survey), key=lambda r: r["position"])
    found.amounts = sorted(
        (r for r in found.amounts if r["survey_id"] == survey), key=lambda r: (r["position"], r["value_year"])
    )
    return found


def _read_views(db_path: Path, data: SummaryData, memory_limit: str | None) -> IndicatorData | None:
    with read_only_within(db_path, memory_limit) as con:
        columns = _view_columns(con)
        if not all(view in columns for view in VIEWS) or not _asks_indicators_or_amounts(con, columns, data):
            return None
        # item_pairs reads measure_summary: the year and the year before are all it needs of it.
        read_year_only(con, data.prefecture_code, data.fiscal_year)
        found = IndicatorData(data.fiscal_year)
        for view in VIEWS:
            cursor = con.execute(
                fill(
                    "queries/export_view_rows",
                    columns="*",
                    view=_quote(view),
                    where=_where(columns[view], data.fiscal_year, data.prefecture_code),
                    order="",
                )
            )
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
            _assign(found, view, rows)
    return found


def _asks_indicators_or_amounts(
    con: duckdb.DuckDBPyConnection, columns: dict[str, list[str]], data: SummaryData
) -> bool:
    """Whether a survey of the year asks an indicator or an amount item: the views, which read
    every year's results, are not read for a survey that asks neither."""
    if not {"indicators", "items"} <= columns.keys():
        return True  # a warehouse from before the catalog tables: read the views to find out
    query = fill(
        "queries/year_has_indicators_or_amounts",
        prefecture_code=code_literal(data.prefecture_code),
        fiscal_year=str(int(data.fiscal_year)),
    )
    row = con.execute(query).fetchone()
    return bool(row and row[0])


def _assign(found: IndicatorData, view: str, rows: list[dict[str, Any]]) -> None:
    if view == "indicator_results":
        found.results = rows
    elif view == "indicator_rollup":
        found.rollup = rows
    elif view == "item_pairs":
        found.pairs = rows
    else:
        found.amounts = rows


def write_indicator_sheets(workbook: Workbook, ctx: Context, data: IndicatorData) -> list[tuple[str, str]]:
    """The indicator sheets that have rows; (sheet title, what it holds) for the cover's listing."""
    listing: list[tuple[str, str]] = []
    if data.results:
        ws = workbook.create_sheet("成果指標")
        write_results(ws, ctx, data)
        listing.append((ws.title, "市町村別の成果指標：直近3か年の実績と推移・目標値・達成状況"))
        ws = workbook.create_sheet("主な指標")
        write_pairs(ws, ctx, data)
        listing.append((ws.title, "主な指標の前年度との比較（R５ → R６：市町村数）"))
        ws = workbook.create_sheet("成果指標グラフ")
        write_indicator_charts(ws, ctx, data)
        listing.append((ws.title, "指標ごとの実績と目標値のグラフ"))
    if data.amounts:
        ws = workbook.create_sheet("事業コスト")
        write_costs(ws, ctx, data.amounts)
        listing.append((ws.title, "事業コスト（千円、△は減額）：年度別の合計"))
    return listing


def _three_years(data: IndicatorData, indicator_id: str) -> list[int]:
    """The last three years of an indicator up to the survey year."""
    years = sorted(
        {r["value_year"] for r in data.results if r["indicator_id"] == indicator_id}
        - {y for y in range(data.fiscal_year + 1, data.fiscal_year + 50)}
    )
    return years[-3:]


def _indicators(data: IndicatorData) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for r in data.results:
        seen.setdefault(r["indicator_id"], r)
    return sorted(seen.values(), key=lambda r: r["position"])


def _number(value: float | None) -> object:
    return NO_VALUE if value is None else value


def write_results(ws: Worksheet, ctx: Context, data: IndicatorData) -> None:
    """Seed 003's 成果指標: per indicator its achieved count, then each municipality's row: No.,
    指標名, 単位, three years of results (each year after the first with its 推移), 目標値, 達成状況."""
    title_block(
        ws,
        ctx,
        f"成果指標の達成状況　{ctx.year_label}　{ctx.data.prefecture_name}",
        f"（推移の凡例　{TREND_LEGEND}）",
    )
    years = sorted({y for ind in _indicators(data) for y in _three_years(data, ind["indicator_id"])})[-3:]
    labels = ["No.", "指標名", "単位", "市町村コード", "市町村名"]
    for index, year in enumerate(years):
        labels.append(f"{short_year_label(year)}年度 実績")
        if index:
            labels.append(f"{short_year_label(year)}年度 推移")
    labels += ["目標値", "達成状況"]
    # Each year's 実績, and after the first year its 推移 (narrow).
    year_widths = [10.0, *([10.0, 8.0] * (len(years) - 1))] if years else []
    widths = (5.0, 38.0, 6.0, 10.0, 12.0, *year_widths, 12.0, 9.0)
    set_widths(ws, widths)
    header_row(ws, RESULT_HEADER_ROW, labels, height=30)
    rollup = {(r["indicator_id"], r["value_year"]): r for r in data.rollup}
    row = RESULT_HEADER_ROW + 1
    blocks: list[int] = []
    for ind in _indicators(data):
        blocks.append(row)
        by_code: dict[str, dict[int, dict[str, Any]]] = {}
        for r in data.results:
            if r["indicator_id"] == ind["indicator_id"]:
                by_code.setdefault(r["municipality_code"], {})[r["value_year"]] = r
        latest = years[-1] if years else data.fiscal_year
        summary = rollup.get((ind["indicator_id"], latest))
        achieved = (summary or {}).get("achieved_text") or NO_VALUE
        marker = (summary or {}).get("change_marker")
        put(ws, row, 1, ind["position"], font=BOLD, align=CENTER, border=BOX, fill=TOTAL_FILL)
        put(ws, row, 2, ind["label"], font=BOLD, align=WRAP, border=BOX, fill=TOTAL_FILL)
        put(ws, row, 3, ind["unit"] or "", align=CENTER, border=BOX, fill=TOTAL_FILL)
        put(
            ws,
            row,
            4,
            f"{short_year_label(latest)}年度 達成 {achieved}" + (f"（{marker}）" if marker else ""),
            font=BOLD,
            border=BOX,
            fill=TOTAL_FILL,
        )
        label_height = wrapped_lines(str(ind["label"]), widths[1]) * TABLE_LINE + 3
        row_height(ws, row, max(label_height, 18.0))
        row += 1
        for code in sorted(by_code):
            cells: list[object] = [ind["position"], ind["label"], ind["unit"] or "", code]
            first = next(iter(by_code[code].values()))
            cells.append(first["municipality_name"] or "")
            for index, year in enumerate(years):
                cell = by_code[code].get(year)
                cells.append(_number(None if cell is None else cell["result_value"]))
                if index:
                    cells.append(NO_VALUE if cell is None else cell["trend"])
            last = by_code[code].get(latest)
            cells.append(NO_VALUE if last is None or not last["target_raw"] else last["target_raw"])
            cells.append(NO_VALUE if last is None else last["achievement"])
            for col, value in enumerate(cells, start=1):
                number = isinstance(value, float)
                put(
                    ws,
                    row,
                    col,
                    value,
                    font=TABLE_FONT,
                    align=NUMBER_ALIGN if number else (WRAP if col == 2 else CENTER),
                    border=BOX,
                    number_format="#,##0.0##" if number else None,
                )
            row_height(ws, row, label_height)
            row += 1
    finish_table(ws, RESULT_HEADER_ROW, row - 1, len(labels), f"F{RESULT_HEADER_ROW + 1}")
    setup_print(ws, f"1:{RESULT_HEADER_ROW}", widths=widths, header=ctx.provisional_note)


def write_pairs(ws: Worksheet, ctx: Context, data: IndicatorData) -> None:
    """Seed 004's 主な指標 table: 主な指標 | R５ → R６ (24市町村 → 25市町村)."""
    fy = data.fiscal_year
    span = f"{short_year_label(fy - 1)} → {short_year_label(fy)}".translate(_FULL_WIDTH)
    title_block(ws, ctx, f"主な指標に対する取組状況　{ctx.year_label}　{ctx.data.prefecture_name}", None)
    widths = (5.0, 12.0, 60.0, 24.0, 6.0)  # 区分 holds 指標（達成） on one line
    set_widths(ws, widths)
    header_row(ws, PAIR_HEADER_ROW, ["No.", "区分", "主 な 指 標", span, "増減"], height=20)
    row = PAIR_HEADER_ROW + 1
    for no, pair in enumerate(data.pairs, start=1):
        kind = "指標（達成）" if pair["kind"] == "indicator" else "取組"
        put(ws, row, 1, no, font=TABLE_FONT, align=CENTER, border=BOX)
        put(ws, row, 2, kind, font=TABLE_FONT, align=CENTER, border=BOX)
        put(ws, row, 3, pair["label"], font=TABLE_FONT, align=WRAP, border=BOX)
        put(ws, row, 4, pair["pair_text"], font=TABLE_FONT, align=CENTER, border=BOX)
        put(ws, row, 5, pair["change_marker"] or "", font=TABLE_FONT, align=CENTER, border=BOX)
        row += 1
    finish_table(ws, PAIR_HEADER_ROW, row - 1, len(widths), f"A{PAIR_HEADER_ROW + 1}")
    setup_print(ws, f"1:{PAIR_HEADER_ROW}", widths=widths, header=ctx.provisional_note)


def write_indicator_charts(ws: Worksheet, ctx: Context, data: IndicatorData) -> None:
    """Per indicator, each municipality's result of the survey year beside its target (numeric
    targets only), as horizontal bars; each chart fills one A4 landscape page (the table A:D
    beside the charts is not printed)."""
    title_block(ws, ctx, f"成果指標の実績と目標値　{ctx.year_label}", None)
    set_widths(ws, (30.0, 12.0, 12.0, 12.0))
    for index in range(CHART_FIRST_COL, CHART_FIRST_COL + CHART_COLS):
        ws.column_dimensions[get_column_letter(index)].width = CHART_COL_WIDTH
    year = data.fiscal_year
    header_row(
        ws, CHART_HEADER_ROW, ["指標・市町村", f"{short_year_label(year)}年度 実績", "目標値", "単位"], 30
    )
    row = CHART_HEADER_ROW + 1
    charts: list[tuple[str, int, int]] = []
    for ind in _indicators(data):
        rows = [
            r
            for r in data.results
            if r["indicator_id"] == ind["indicator_id"]
            and r["value_year"] == year
            and (r["result_value"] is not None or r["target_value"] is not None)
        ]
        if not rows:
            continue
        for start in range(0, len(rows), CHART_BARS):
            chunk = rows[start : start + CHART_BARS]
            first = row
            for r in chunk:
                put(ws, row, 1, r["municipality_name"] or r["municipality_code"], border=BOX)
                put(ws, row, 2, r["result_value"], border=BOX, number_format="#,##0.0##")
                put(ws, row, 3, r["target_value"], border=BOX, number_format="#,##0.0##")
                put(ws, row, 4, ind["unit"] or "", border=BOX, align=CENTER)
                row += 1
            parts = -(-len(rows) // CHART_BARS)
            part = f" {start // CHART_BARS + 1}/{parts}" if parts > 1 else ""
            unit = f"（{ind['unit']}）" if ind["unit"] else ""
            charts.append((f"{ind['position']}. {ind['label']}{unit} 実績と目標値{part}", first, row - 1))
    page_height_cm = (CHART_PAGE_ROWS - 1) * CHART_ROW_HEIGHT * 2.54 / 72
    anchor = get_column_letter(CHART_FIRST_COL)
    for page, (title, top, bottom) in enumerate(charts):
        chart = BarChart()
        chart.type = "bar"
        chart.style = 10
        chart.title = title
        for col in (2, 3):
            chart.add_data(Reference(ws, min_col=col, min_row=top, max_row=bottom), titles_from_data=False)
            chart.series[-1].tx = SeriesLabel(
                strRef=StrRef(f"'{ws.title}'!${get_column_letter(col)}${CHART_HEADER_ROW}")
            )
            chart.series[-1].cat = AxDataSource(
                strRef=StrRef(f=str(Reference(ws, min_col=1, min_row=top, max_row=bottom)))
            )
        chart.x_axis.scaling.orientation = "maxMin"
        chart.y_axis.crosses = "max"
        chart.y_axis.axPos = "b"
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.x_axis.txPr = _font(9)
        chart.y_axis.txPr = _font(9)
        chart.legend.position = "b"
        chart.gapWidth = 40
        chart.width = 25.0
        chart.height = page_height_cm
        ws.add_chart(chart, f"{anchor}{1 + page * CHART_PAGE_ROWS}")
    pages = max(1, len(charts))
    last_row = max(row - 1, pages * CHART_PAGE_ROWS)
    heights = _cells(ws).heights
    for line in range(1, last_row + 1):
        heights.setdefault(line, CHART_ROW_HEIGHT)
    finish_table(ws, CHART_HEADER_ROW, row - 1, 4, f"A{CHART_HEADER_ROW + 1}")
    _chart_print(ws, pages, last_row, ctx.provisional_note)
