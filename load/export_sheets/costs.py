"""The 事業コスト sheet (seed 003): amounts in 千円 per fiscal year, summed across municipalities,
one column per amount item (前年度繰越, 当初予算, 補正予算等, 合計（予算現額）, うち一般財源, 決算額),
the latest year first. Cells stay numbers; the number format prints negatives with △ (△148,507)."""

from __future__ import annotations

from typing import Any

from openpyxl.worksheet.worksheet import Worksheet

from kokuho.catalog import short_year_label
from load.export_sheets.cells import put, set_widths
from load.export_sheets.pages import setup_print
from load.export_sheets.style import BOLD, BOX, CENTER, NUMBER_ALIGN, TABLE_FONT
from load.export_sheets.tables import Context, finish_table, header_row, title_block

COST_HEADER_ROW = 4
# Thousands separators, △ for a negative (budget tables' way of writing a decrease).
AMOUNT_FORMAT = '#,##0;"△"#,##0;0'
DECIMAL_FORMAT = '#,##0.0;"△"#,##0.0;0'


def write_costs(ws: Worksheet, ctx: Context, amounts: list[dict[str, Any]]) -> None:
    """`amounts`: the item_amounts rows of one survey."""
    items: dict[str, dict[str, Any]] = {}
    for r in amounts:
        items.setdefault(r["item_id"], r)
    order = sorted(items.values(), key=lambda r: (r["position"] is None, r["position"] or 0))
    years = sorted({r["value_year"] for r in amounts}, reverse=True)
    # In the items' order, as the seed heads its table (単位：千円、人).
    units = list(dict.fromkeys(str(r["unit"]) for r in order if r["unit"]))
    unit = "、".join(units) or "千円"
    title_block(ws, ctx, f"事業コスト　{ctx.year_label}　{ctx.data.prefecture_name}", None, f"単位：{unit}")
    widths = (10.0, *([16.0] * len(order)), 10.0)
    set_widths(ws, widths)
    header_row(ws, COST_HEADER_ROW, ["区分", *[str(r["label"]) for r in order], "回答市町村数"], height=32)
    amount = {(r["item_id"], r["value_year"]): r for r in amounts}
    # An item with fractions (職員数 5.7人) keeps one decimal; amounts in 千円 print whole.
    formats = {
        str(item["item_id"]): DECIMAL_FORMAT
        if any(r["item_id"] == item["item_id"] and not float(r["total"]).is_integer() for r in amounts)
        else AMOUNT_FORMAT
        for item in order
    }
    row = COST_HEADER_ROW + 1
    for year in years:
        put(ws, row, 1, f"{short_year_label(year)}年度", font=BOLD, align=CENTER, border=BOX)
        counts = []
        for col, item in enumerate(order, start=2):
            found = amount.get((str(item["item_id"]), year))
            value = None if found is None else found["total"]
            if found is not None:
                counts.append(int(found["municipality_count"]))
            put(
                ws,
                row,
                col,
                value,
                font=TABLE_FONT,
                align=NUMBER_ALIGN,
                border=BOX,
                number_format=formats[str(item["item_id"])],
            )
        put(ws, row, len(order) + 2, max(counts, default=0), font=TABLE_FONT, align=CENTER, border=BOX)
        row += 1
    finish_table(ws, COST_HEADER_ROW, row - 1, len(widths), f"B{COST_HEADER_ROW + 1}")
    setup_print(ws, f"1:{COST_HEADER_ROW}", widths=widths, header=ctx.provisional_note)
