"""The numeric targets sheet: each municipality's targets by year."""

from __future__ import annotations

from collections.abc import Iterable

from openpyxl.worksheet.worksheet import Worksheet

from kokuho.catalog import short_year_label
from load.export_data import SummaryData
from load.export_sheets.cells import (
    _cells,
    cell_of,
    put,
    put_cells,
    repeated_cells,
    set_widths,
    wrapped_lines,
)
from load.export_sheets.pages import setup_print
from load.export_sheets.sections import _nested_blocks
from load.export_sheets.style import BOX, CENTER, NUMBER_ALIGN, TABLE_FONT, TABLE_LINE, TABLE_WIDTH, WRAP
from load.export_sheets.tables import Context, finish_table, header_row, title_block

TARGET_HEADER_ROW = 4


def target_format(values: Iterable[float | None]) -> str:
    """One number format for every rate of the sheet, with as many decimals (1 or 2) as the most
    precise value written: 84.00 / 86.70 / 96.49 rather than 84.0 / 86.7 / 96.49."""
    two = any(round(v, 1) != v for v in values if v is not None)
    return "0.00" if two else "0.0"


def target_years(ctx: Context) -> list[int]:
    return sorted({t.target_year for t in ctx.data.targets})


def catalog_years(ctx: Context) -> dict[int, str]:
    """The fiscal years the survey's catalog asks its numeric targets for, with their labels as the
    catalog writes them (R3, 令和3年度); {} without a catalog."""
    from load.export_data import catalog_target_years

    found = catalog_target_years(ctx.data.prefecture_code, ctx.data.fiscal_year)
    # Results of past years asked beside the targets (an indicator's result) are not targets.
    results = _indicator_results(ctx)
    return dict(
        sorted(
            {
                year: label for tid, years in found.items() if tid not in results for year, label in years
            }.items()
        )
    )


def _indicator_results(ctx: Context) -> set[str]:
    from kokuho.catalog import catalog_if_any

    catalog = catalog_if_any(ctx.data.prefecture_code, ctx.data.fiscal_year)
    return {i.result for i in catalog.indicators} if catalog is not None else set()


def as_written(ctx: Context) -> bool:
    """A targets table that reaches back before the survey year (seed 004's R3…R11 收納率 table) is
    reproduced as the municipalities wrote it; a forward one keeps numbers as numbers."""
    return any(year < ctx.data.fiscal_year for year in catalog_years(ctx))


def target_order(ctx: Context) -> list[str]:
    from load.export_data import catalog_target_labels

    catalog = list(catalog_target_labels(ctx.data.prefecture_code, ctx.data.fiscal_year))
    seen = [t.target_id for t in ctx.data.targets]
    ordered = [t for t in catalog if t in seen]
    return ordered + [t for t in dict.fromkeys(seen) if t not in ordered]


def target_cell(value: float | None, qualifier: str | None, raw_text: str | None) -> object:
    """A plain number stays a number (unit in the header); anything else is the text as written."""
    if value is not None and qualifier is None:
        return value
    return raw_text if raw_text is not None else (qualifier or "")


def write_targets(ws: Worksheet, ctx: Context) -> None:
    """Seed 004's 収納率 table: per municipality and fiscal year, raw text where not a number; a
    table reaching back before the survey year (as_written) has a column for every year of the
    catalog, labelled as the catalog labels it, and every cell as written (93.70%, 95％以上)."""
    data = ctx.data
    written = as_written(ctx)
    if written:
        labels_of = catalog_years(ctx)
        years = sorted(set(labels_of) | set(target_years(ctx)))
        year_labels = [_year_heading(labels_of.get(y) or short_year_label(y)) for y in years]
        subtitle = "記入のとおり表示（「93.70%」「95％以上」「前年度収納率を上回る」「【未設定】」「-」等）。空欄は記入なし"
    else:
        years = target_years(ctx)
        year_labels = [f"{short_year_label(y)}年度（%）" for y in years]
        subtitle = (
            "数値は%（百分率）。数値でない記入（「95％以上」「前年度以上」「【未設定】」等）は原文のまま表示"
        )
    title_block(
        ws,
        ctx,
        f"市町村別の数値目標（収納率等）　{ctx.year_label}調査　{data.prefecture_name}",
        subtitle,
        "単位：%",
    )
    widths = (9.0, 12.0, 24.0, *([10.0 if written else 12.0] * len(years)), 40.0)
    set_widths(ws, widths)
    labels = ("市町村コード", "市町村名", "目標項目", *year_labels, "備考")
    header_row(ws, TARGET_HEADER_ROW, labels, height=32)
    grouped, notes, names, label_of = _grouped_targets(data, written)
    row, target_starts = _target_rows(ws, ctx, years, widths, grouped, notes, names, label_of)
    finish_table(ws, TARGET_HEADER_ROW, row - 1, len(widths), f"D{TARGET_HEADER_ROW + 1}")
    setup_print(
        ws,
        f"1:{TARGET_HEADER_ROW}",
        widths=widths,
        blocks=_nested_blocks(row - 1, target_starts, []),
        header=ctx.provisional_note,
    )


def _year_heading(label: str) -> str:
    """R3 -> R3年度; 令和3年度 stays."""
    return label if label.endswith("年度") else f"{label}年度"


_Grouped = dict[tuple[str, str], dict[int, object]]


def _grouped_targets(
    data: SummaryData, written: bool = False
) -> tuple[_Grouped, dict[tuple[str, str], list[str]], dict[str, str], dict[str, str]]:
    """(target, municipality) -> year -> cell (the text as written when `written`), the notes of
    each (target, municipality) without repeats, municipality names and target labels."""
    grouped: _Grouped = {}
    notes: dict[tuple[str, str], list[str]] = {}
    names: dict[str, str] = {}
    label_of: dict[str, str] = {}
    for t in data.targets:
        key = (t.target_id, t.municipality_code)
        names[t.municipality_code] = t.municipality_name
        label_of[t.target_id] = t.target_label
        cell = (t.raw_text or t.qualifier or "") if written else target_cell(t.value, t.qualifier, t.raw_text)
        grouped.setdefault(key, {})[t.target_year] = cell
        if t.note and t.note not in notes.setdefault(key, []):
            notes[key].append(t.note)
    return grouped, notes, names, label_of


def _target_rows(
    ws: Worksheet,
    ctx: Context,
    years: list[int],
    widths: tuple[float, ...],
    grouped: _Grouped,
    notes: dict[tuple[str, str], list[str]],
    names: dict[str, str],
    label_of: dict[str, str],
) -> tuple[int, list[int]]:
    """One row per target and municipality, each row as tall as its wrapped texts; (the row after
    the last, the first row of each target)."""
    data = ctx.data
    row = TARGET_HEADER_ROW + 1
    # 8,709 rows nationally: repeated texts and the number style are resolved once.
    wrapped = repeated_cells(ws, font=TABLE_FONT, align=WRAP, border=BOX)
    centered = repeated_cells(ws, font=TABLE_FONT, align=CENTER, border=BOX)
    number_style = cell_of(
        ws,
        0.0,
        align=NUMBER_ALIGN,
        border=BOX,
        number_format=target_format(t.value for t in data.targets),
        font=TABLE_FONT,
    )[1]
    target_starts: list[int] = []
    # Row heights from the wrapped texts (9-pt), with the line counts of repeated texts cached.
    w_name, w_label, w_year, w_note = (w * TABLE_WIDTH for w in (widths[1], widths[2], widths[3], widths[-1]))
    heights = _cells(ws).heights
    name_lines: dict[str, int] = {}
    for target_id in target_order(ctx):
        target_starts.append(row)
        label = label_of[target_id]
        label_lines = wrapped_lines(label, w_label)
        for code in sorted(c for (tid, c) in grouped if tid == target_id):
            key = (target_id, code)
            note = "／".join(notes.get(key, []))
            put(ws, row, 1, code, font=TABLE_FONT, align=CENTER, border=BOX)
            values = [grouped[key].get(year) for year in years]
            put_cells(
                ws,
                row,
                2,
                [
                    wrapped(names[code]),
                    wrapped(label),
                    *[(v, number_style) if isinstance(v, float) else centered(v) for v in values],
                    wrapped(note),
                ],
            )
            lines = name_lines.get(code)
            if lines is None:
                lines = name_lines[code] = max(label_lines, wrapped_lines(names[code], w_name))
            if note:
                lines = max(lines, wrapped_lines(note, w_note))
            for v in values:
                if type(v) is str:
                    lines = max(lines, wrapped_lines(v, w_year))
            heights[row] = lines * TABLE_LINE + 3
            row += 1
    return row, target_starts
