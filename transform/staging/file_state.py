"""What staging one file holds while it runs: its lookups, issues and staged rows, the cover's
identity, and the helpers every reader of a sheet shares (finding sheets, provenance, checks)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from extract.model import ExtractedWorkbook, RawRow, RawSheet
from transform.normalize import compact_text, normalize_text
from transform.staging.context import _Context
from transform.staging.issues import _FileIssues
from transform.staging.rows import _Rows


@dataclass
class _Identity:
    """What the cover says: the values every staged row of the file carries."""

    municipality_code: str | None
    survey_id: str | None
    fiscal_year: int | None


class _FileState:
    def __init__(self, workbook: ExtractedWorkbook, ctx: _Context, rows: _Rows) -> None:
        self.wb = workbook
        self.ctx = ctx
        self.rows = rows
        self.issues = _FileIssues(workbook, rows.issues)
        # Staged rows of this file, appended to the batch at the end (dropped when capped).
        self.responses: dict[str, tuple] = {}
        self.own: list[tuple] = []
        self.targets: dict[tuple[str, int], tuple] = {}
        self.item_values: dict[tuple[str, int], tuple] = {}  # (item id, fiscal year) -> row
        self.own_positions: dict[str, int] = {}
        # sheet title -> row_no -> answer column letters, for formula/error/merge checks.
        self.answer_area: dict[str, dict[int, tuple[str, ...]]] = {}
        self.identity = _Identity(None, None, None)

    @staticmethod
    def _ordered(sheets: Iterable[RawSheet]) -> list[RawSheet]:
        """Visible sheets first (so a visible sheet wins over a hidden copy), else workbook order."""
        return sorted(sheets, key=lambda s: not s.visible)

    def _sheets_for(
        self, key: str, *, section: int | None = None, title: str | None = None
    ) -> list[RawSheet]:
        found = [s for s in self.wb.sheets if s.key == key]
        if not found:
            # A sheet whose A1 key was lost but whose title is still the standard one.
            for sheet in self.wb.sheets:
                if sheet.key and sheet.key.startswith("kokuho:"):
                    continue
                name = compact_text(sheet.title)
                if (section is not None and self.ctx.section_titles.get(name) == section) or (
                    title is not None and name == compact_text(title)
                ):
                    found.append(sheet)
        return self._ordered(found)

    def _hidden_row(self, sheet: RawSheet, row: RawRow, cols: tuple[str, ...]) -> None:
        for col in cols:
            if normalize_text(row.cells.get(col)) is not None:
                self.issues.add(
                    "HIDDEN_ROW", sheet=sheet.title, cell=f"{col}{row.row_no}", value=row.cells[col]
                )
                return

    def _provenance(self, sheet: RawSheet, cell: str, row_no: int) -> tuple[object, ...]:
        """The leading columns every staging row shares: file, sheet, cell, row and whose answer."""
        return (
            self.wb.file_name,
            self.wb.sha256,
            sheet.title,
            cell,
            row_no,
            self.identity.municipality_code,
            self.identity.survey_id,
            self.identity.fiscal_year,
        )

    def _too_long(self, sheet: RawSheet, cell: str, text: str | None, limit: int, value: object) -> None:
        if text is not None and len(text) > limit:
            self.issues.add(
                "TEXT_TOO_LONG",
                sheet=sheet.title,
                cell=cell,
                value=value,
                detail=f"{len(text)}文字、上限{limit}文字",
            )
