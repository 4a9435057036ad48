"""What every table sheet shares: its Context (where the numbers come from), the title block,
the header row and the frozen, filtered table end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from kokuho.catalog import fiscal_year_label
from load.export_data import SummaryData
from load.export_sheets.cells import put, row_height
from load.export_sheets.style import BOLD, BOX, HEADER_ALIGN, HEADER_FILL, NO_WRAP, NOTE, SUBTITLE, TITLE


@dataclass(frozen=True)
class Context:
    """What every sheet says about where its numbers come from."""

    data: SummaryData
    survey_title: str
    run_id: str
    data_as_of: str
    generated_at: str

    @property
    def year_label(self) -> str:
        return fiscal_year_label(self.data.fiscal_year)

    @property
    def source_note(self) -> str:
        """The line under each table's title; the run ID stays on the cover (注記) only."""
        note = f"出典：{self.survey_title}（{self.data.prefecture_name}、{self.year_label}）　データ時点：{self.data_as_of}"
        return f"{self.provisional_note}　{note}" if self.provisional_note else note

    @property
    def provisional_note(self) -> str | None:
        """【暫定】回答 61/63市町村 while any municipality of the survey has no accepted file."""
        answered, total = self.data.answered_count, self.data.municipality_count
        if total <= 0 or answered >= total:
            return None
        return f"【暫定】回答 {answered}/{total}市町村"


def header_row(ws: Worksheet, row: int, labels: Sequence[str], height: float | None = None) -> None:
    for col, label in enumerate(labels, start=1):
        put(ws, row, col, label, font=BOLD, align=HEADER_ALIGN, fill=HEADER_FILL, border=BOX)
    if height:
        row_height(ws, row, height)


def title_block(
    ws: Worksheet, ctx: Context, title: str, subtitle: str | None, note: str | None = None
) -> None:
    """Rows 1-3: title, subtitle (section or legend) and the source note."""
    put(ws, 1, 1, title, font=TITLE, align=NO_WRAP)
    row_height(ws, 1, 22)
    if subtitle:
        put(ws, 2, 1, subtitle, font=SUBTITLE, align=NO_WRAP)
        row_height(ws, 2, 18)
    put(ws, 3, 1, ctx.source_note + (f"　{note}" if note else ""), font=NOTE, align=NO_WRAP)
    row_height(ws, 3, 15)


def finish_table(ws: Worksheet, header: int, last_row: int, last_col: int, freeze: str) -> None:
    ws.freeze_panes = freeze
    ws.auto_filter.ref = f"A{header}:{get_column_letter(last_col)}{max(last_row, header)}"
