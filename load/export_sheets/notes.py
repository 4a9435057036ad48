"""The cover sheet (注記): the survey, data as of, the run, units and what each sheet holds."""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.worksheet.worksheet import Worksheet

from kokuho.catalog import era_year_label, fiscal_year_label
from kokuho.codelists import MARKER_DOWN, MARKER_NEW, MARKER_UP
from load.export_sheets.cells import put, row_height, set_widths, wrapped_height
from load.export_sheets.pages import setup_print
from load.export_sheets.style import BOLD, BOX, NO_WRAP, NONE_MARK, SUBTITLE, TITLE, WRAP
from load.export_sheets.tables import Context, header_row


def write_notes(ws: Worksheet, ctx: Context, sheets: Sequence[tuple[str, str]]) -> None:
    """Cover sheet: the survey, data as of, run, units and what each sheet holds."""
    data = ctx.data
    set_widths(ws, (26.0, 90.0))
    put(ws, 1, 1, f"{ctx.survey_title}　集計表", font=TITLE, align=NO_WRAP)
    put(ws, 2, 1, f"{data.prefecture_name}　{ctx.year_label}", font=SUBTITLE, align=NO_WRAP)
    facts = _facts(ctx)
    header_row(ws, 4, ("項目", "内容"))
    row = 5
    for key, value in facts:
        put(ws, row, 1, key, font=BOLD, align=WRAP, border=BOX)
        put(ws, row, 2, value, align=WRAP, border=BOX)
        row_height(ws, row, wrapped_height(((value, 90.0),)))
        row += 1
    row += 1
    put(ws, row, 1, "シート一覧", font=SUBTITLE, align=NO_WRAP)
    row += 1
    header_row(ws, row, ("シート名", "内容"))
    row += 1
    for name, description in sheets:
        put(ws, row, 1, name, align=WRAP, border=BOX)
        put(ws, row, 2, description, align=WRAP, border=BOX)
        row_height(ws, row, wrapped_height(((name, 26.0), (description, 90.0))))
        row += 1
    row += 1
    put(ws, row, 1, "凡例・単位", font=SUBTITLE, align=NO_WRAP)
    row += 1
    legend = _legend(data.fiscal_year)
    for text in legend:
        put(ws, row, 1, "・", align=NO_WRAP)
        put(ws, row, 2, text, align=WRAP)
        row_height(ws, row, wrapped_height(((text, 90.0),)))
        row += 1
    setup_print(ws, "1:2", widths=(26.0, 90.0), header=ctx.provisional_note)


def _facts(ctx: Context) -> list[tuple[str, str]]:
    """The survey's facts on the cover: (item, content)."""
    data = ctx.data
    prev = (
        fiscal_year_label(data.fiscal_year - 1)
        if data.has_previous_year
        else "なし（前年度の調査データなし）"
    )
    facts = [
        ("調査", ctx.survey_title),
        ("都道府県", f"{data.prefecture_name}（都道府県コード {data.prefecture_code}）"),
        ("年度", ctx.year_label),
        ("前年度比較", prev),
        ("データ時点", ctx.data_as_of),
        (
            "回答状況",
            f"{ctx.provisional_note}（回答のない市町村は集計に含まれていません）"
            if ctx.provisional_note
            else f"全{data.municipality_count}市町村が回答済み",
        ),
        ("実行ID", ctx.run_id),
        ("作成日時", ctx.generated_at),
        ("取組数", f"{len(data.measures)}項目"),
        ("対象市町村数", f"{max((m.municipality_total for m in data.measures), default=0)}市町村"),
    ]
    return facts


def _legend(fiscal_year: int) -> list[str]:
    """The legend and units, one line each."""
    legend = [
        "実施予定市町村数の単位は市町村。割合（%）は小数点以下を四捨五入。",
        f"（{MARKER_UP}）昨年度より実施市町村が増加、（{MARKER_DOWN}）減少、（{MARKER_NEW}）{era_year_label(fiscal_year)}の新たな取組。",
        f"「{NONE_MARK}」は個別に予算化している市町村がないことを示す。",
        "数値目標の単位は%。数値でない記入は市町村の記入どおり表示。",
        "data_ で始まるシートは機械処理用（1セル1データ、セル結合なし）。印刷されないよう非表示にしています"
        "（Excel：シート見出しを右クリック→「再表示」）。",
        "印刷：各シートはA4横（市町村別実施状況はA3横）で、ページ番号はシートごと。"
        "グラフのシートはグラフだけを1ページに1つずつ印刷します（数値は左の表と「取組状況」）。",
    ]
    return legend
