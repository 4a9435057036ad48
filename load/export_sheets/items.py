"""The typed items' sheets: option counts of choice and status items with their change against
the previous year (選択肢の集計), and the numeric items per item and year (数値項目) and per
municipality with the year before's value beside (数値項目（市町村別）). Written only for a survey
that has such items."""

from __future__ import annotations

from openpyxl.worksheet.worksheet import Worksheet

from kokuho.catalog import short_year_label
from kokuho.codelists import MARKER_DOWN, MARKER_NEW, MARKER_UP
from load.export_data import OptionCountRow
from load.export_sheets.cells import put, row_height, set_widths, wrapped_height
from load.export_sheets.pages import setup_print
from load.export_sheets.style import BOX, CENTER, NUMBER_ALIGN, WRAP
from load.export_sheets.tables import Context, finish_table, header_row, title_block

ITEMS_HEADER_ROW = 4
OPTION_WIDTHS = (36.0, 24.0, 11.0, 11.0, 16.0)
TOTAL_WIDTHS = (36.0, 8.0, 12.0, 11.0, 14.0, 12.0, 12.0, 12.0, 14.0)
# 項目 wide enough for a label of 23 full-width characters on one line (one row per value: a
# prefecture lists thousands of them), 備考 narrower as it is mostly empty.
NUMBER_WIDTHS = (9.0, 12.0, 48.0, 8.0, 8.0, 14.0, 14.0, 14.0, 24.0)
NUMBER_FORMAT = "#,##0.##"


def option_change_text(r: OptionCountRow) -> str:
    """1市町村（増） / 2市町村（減） / （新） / '' as on the status sheet."""
    if r.change_marker == MARKER_NEW:
        return f"（{MARKER_NEW}）"
    if r.change_marker in (MARKER_UP, MARKER_DOWN) and r.change_count is not None:
        return f"{r.change_count}市町村（{r.change_marker}）"
    return ""


def _put_row(
    ws: Worksheet, row: int, values: list[object], numeric: set[int], widths: tuple[float, ...]
) -> None:
    for col, value in enumerate(values, start=1):
        if col in numeric:
            put(ws, row, col, value, align=NUMBER_ALIGN, border=BOX, number_format=NUMBER_FORMAT)
        else:
            put(ws, row, col, value, align=WRAP if col == 1 or isinstance(value, str) else CENTER, border=BOX)
    texts = [(str(v), w) for v, w in zip(values, widths, strict=True) if isinstance(v, str)]
    row_height(ws, row, wrapped_height(texts))


def _finish(ws: Worksheet, ctx: Context, row: int, widths: tuple[float, ...]) -> None:
    finish_table(ws, ITEMS_HEADER_ROW, row - 1, len(widths), f"B{ITEMS_HEADER_ROW + 1}")
    setup_print(ws, f"1:{ITEMS_HEADER_ROW}", widths=widths, header=ctx.provisional_note)


def write_option_counts(ws: Worksheet, ctx: Context) -> None:
    """Per choice or status item and option: municipalities choosing it now and last year, 増減."""
    data = ctx.data
    now, prev = short_year_label(data.fiscal_year), short_year_label(data.fiscal_year - 1)
    title_block(
        ws,
        ctx,
        f"選択肢の集計　{ctx.year_label}調査　{data.prefecture_name}",
        f"選択肢ごとの市町村数（複数選択の項目は選択肢ごとに数える）　（{MARKER_NEW}）新たな選択肢・項目",
        "単位：市町村",
    )
    set_widths(ws, OPTION_WIDTHS)
    header_row(
        ws, ITEMS_HEADER_ROW, ("項目", "選択肢", f"{now}市町村数", f"{prev}市町村数", "前年度比"), height=32
    )
    row = ITEMS_HEADER_ROW + 1
    for r in data.option_counts:
        values: list[object] = [
            r.item_label,
            r.option_label,
            r.option_count,
            r.prev_year_count,
            option_change_text(r),
        ]
        _put_row(ws, row, values, set(), OPTION_WIDTHS)
        row += 1
    _finish(ws, ctx, row, OPTION_WIDTHS)


def write_number_totals(ws: Worksheet, ctx: Context) -> None:
    """Per numeric item and fiscal year: how many answered, sum, min, max, mean, the year before's sum."""
    data = ctx.data
    title_block(
        ws,
        ctx,
        f"数値項目の集計　{ctx.year_label}調査　{data.prefecture_name}",
        "項目・年度ごとの回答市町村数と合計・最小・最大・平均（「該当なし」と空欄は数えない）",
        None,
    )
    set_widths(ws, TOTAL_WIDTHS)
    header_row(
        ws,
        ITEMS_HEADER_ROW,
        ("項目", "単位", "年度", "回答市町村数", "合計", "最小", "最大", "平均", "前年度の合計"),
        height=32,
    )
    row = ITEMS_HEADER_ROW + 1
    for r in data.number_totals:
        values: list[object] = [
            r.label,
            r.unit or "",
            r.year_label,
            r.answered_count,
            r.value_sum,
            r.value_min,
            r.value_max,
            r.value_avg,
            r.previous_year_sum,
        ]
        _put_row(ws, row, values, {5, 6, 7, 8, 9}, TOTAL_WIDTHS)
        row += 1
    _finish(ws, ctx, row, TOTAL_WIDTHS)


def write_numbers(ws: Worksheet, ctx: Context) -> None:
    """Per municipality, numeric item and fiscal year: the text as written, the value and the year
    before's value beside it."""
    data = ctx.data
    title_block(
        ws,
        ctx,
        f"数値項目（市町村別）　{ctx.year_label}調査　{data.prefecture_name}",
        "記入のとおりの値と読み取った数値、前年度の値（同じ調査で尋ねた年度はその値、ほかは前年度の調査の値）",
        None,
    )
    set_widths(ws, NUMBER_WIDTHS)
    header_row(
        ws,
        ITEMS_HEADER_ROW,
        ("市町村コード", "市町村名", "項目", "単位", "年度", "記入のとおり", "数値", "前年度の数値", "備考"),
        height=32,
    )
    row = ITEMS_HEADER_ROW + 1
    for r in data.numbers:
        values: list[object] = [
            r.municipality_code,
            r.municipality_name,
            r.label,
            r.unit or "",
            r.year_label,
            r.raw_text or "",
            r.value,
            r.previous_year_value,
            r.note or "",
        ]
        _put_row(ws, row, values, {7, 8}, NUMBER_WIDTHS)
        row += 1
    _finish(ws, ctx, row, NUMBER_WIDTHS)
