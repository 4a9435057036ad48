"""Checks on the workbook beyond its rows: template sheet keys, hidden sheets holding answers, and
formulas without a value, error values and merged cells in the answer area."""

from __future__ import annotations

import re
from collections.abc import Iterable

from extract.model import RawSheet
from extract.sheetscan import column_index
from kokuho import layout
from transform.staging.columns import _has_any
from transform.staging.file_state import _FileState

# Rows up to 7 digits (Excel has 1,048,576): a longer number in a crafted range is no address.
_ADDRESS_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")
_SHEET_KEY_RULE = "シートの識別キーが調査票のものではありません"


def _split_address(address: str) -> tuple[str, int] | None:
    match = _ADDRESS_RE.match(address.strip())
    return (match[1].upper(), int(match[2])) if match else None


def _parse_range(text: str) -> tuple[int, int, int, int] | None:
    """(min_col, min_row, max_col, max_row) of "D12:E13" or "D12"."""
    first, _, last = text.partition(":")
    a = _split_address(first)
    b = _split_address(last) if last else a
    if a is None or b is None:
        return None
    c1, c2 = sorted((column_index(a[0]), column_index(b[0])))
    r1, r2 = sorted((a[1], b[1]))
    return c1, r1, c2, r2


class _WorkbookChecks(_FileState):
    def _check_sheet_keys(self) -> None:
        """A template sheet key (A1) that is not one the template writes."""
        for sheet in self.wb.sheets:
            key = sheet.key
            if key and key.startswith("kokuho:") and not layout.is_valid_sheet_key(key):
                self.issues.add(
                    "TEMPLATE_KEY_INVALID",
                    sheet=sheet.title,
                    cell=layout.SHEET_KEY_CELL,
                    value=key,
                    detail=_SHEET_KEY_RULE,
                )

    def _check_hidden_sheets(self) -> None:
        answer_keys = (layout.SHEET_COVER, layout.SHEET_TARGETS)
        for sheet in self.wb.sheets:
            if sheet.visible:
                continue
            key = sheet.key or ""
            if (
                key in answer_keys
                or key.startswith(layout.SHEET_SECTION_PREFIX)
                or self._holds_answers(sheet)
            ):
                self.issues.add("HIDDEN_SHEET", sheet=sheet.title)

    @staticmethod
    def _holds_answers(sheet: RawSheet) -> bool:
        """Keyed measure/own/target rows with something in their (default) answer columns."""
        sec, tgt = layout.SECTION_COLUMNS, layout.TARGET_COLUMNS
        measure_cols = (sec["answer"], sec["budget_line"], sec["note"])
        own_cols = (sec["label"], *measure_cols)
        target_cols = (tgt["value"], tgt["note"])
        cols: tuple[str, ...]
        for row in sheet.rows:
            key = row.key or ""
            if key.startswith((layout.MEASURE_PREFIX, layout.ITEM_PREFIX)):
                cols = measure_cols
            elif key.startswith(layout.OWN_PREFIX):
                cols = own_cols
            elif key.startswith(layout.TARGET_PREFIX):
                cols = target_cols
            else:
                continue
            if _has_any(row, cols):
                return True
        return False

    def _check_cells(self) -> None:
        issues = self.issues
        for sheet in self.wb.sheets:
            area = self.answer_area.get(sheet.title)
            if not area:
                continue
            formulas = getattr(sheet, "formula_text", {})
            for address in sheet.formula_without_value:
                if self._in_area(area, address):
                    formula = formulas.get(address)
                    value = f"={formula}" if formula else "=…"
                    issues.add("FORMULA_WITHOUT_VALUE", sheet=sheet.title, cell=address, value=value)
            for address, error in sheet.error_cells.items():
                if self._in_area(area, address):
                    issues.add("ERROR_VALUE", sheet=sheet.title, cell=address, value=error)
            for merged in sheet.merged_ranges:
                if self._merge_hits(area, merged):
                    issues.add("MERGED_CELLS", sheet=sheet.title, cell=merged)

    @staticmethod
    def _in_area(area: dict[int, tuple[str, ...]], address: str) -> bool:
        parsed = _split_address(address)
        return parsed is not None and parsed[0] in area.get(parsed[1], ())

    @staticmethod
    def _merge_hits(area: dict[int, tuple[str, ...]], merged: str) -> bool:
        bounds = _parse_range(merged)
        if bounds is None:
            return False
        c1, r1, c2, r2 = bounds
        rows: Iterable[int] = range(r1, r2 + 1) if r2 - r1 < len(area) else list(area)
        for r in rows:
            cols = area.get(r)
            if cols and r1 <= r <= r2 and any(c1 <= column_index(c) <= c2 for c in cols):
                return True
        return False
