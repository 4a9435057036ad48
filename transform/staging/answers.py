"""Section sheets: one response per measure row, and the municipality's own initiatives."""

from __future__ import annotations

from extract.model import RawRow, RawSheet
from kokuho import codelists, layout
from transform.normalize import (
    cell_text,
    clean_text,
    compact_text,
    normalize_text,
    parse_answer,
    parse_budget_line,
)
from transform.staging.columns import _DEFAULT_SECTION_COLS, _ROW_NO, _has_any, _section_cols, _SectionCols
from transform.staging.items import _ItemReader

_OWN_KEY_RULE = f"独自の取組の行番号は半角数字（1～{layout.OWN_ROWS_MAX}）"


class _SectionReader(_ItemReader):
    def _read_section(self, sheet: RawSheet) -> None:
        cols = _DEFAULT_SECTION_COLS
        area = self.answer_area.setdefault(sheet.title, {})
        last_own: tuple[str, int] | None = None  # (table_id, row_no) of the last own-initiative row
        for row in sorted(sheet.rows, key=_ROW_NO):
            key = row.key
            if key is None:
                if last_own is not None and row.row_no == last_own[1] + 1 and _has_any(row, cols.own_cols):
                    # A row the municipality inserted below the own-initiative rows.
                    last_own = (last_own[0], row.row_no)
                    self._own_row(sheet, row, last_own[0], cols, area)
                else:
                    last_own = None
                continue
            last_own = None
            if key.startswith(layout.MEASURE_PREFIX):
                self._measure_row(sheet, row, key[len(layout.MEASURE_PREFIX) :].strip(), cols, area)
            elif key.startswith(layout.ITEM_PREFIX):
                self._item_row(sheet, row, key, cols, area)
            elif key == layout.COLUMN_HEADER_KEY:
                cols = _section_cols(row)
            elif key.startswith(layout.OWN_PREFIX):
                parsed = layout.parse_own_key(key)
                if parsed is None or parsed[0] not in self.ctx.table_ids:
                    if _has_any(row, cols.own_cols):
                        self.issues.add(
                            "UNKNOWN_MEASURE" if parsed else "TEMPLATE_KEY_INVALID",
                            sheet=sheet.title,
                            cell=f"{layout.KEY_COLUMN}{row.row_no}",
                            value=key,
                            detail=None if parsed else _OWN_KEY_RULE,
                        )
                    continue
                last_own = (parsed[0], row.row_no)
                self._own_row(sheet, row, parsed[0], cols, area)

    def _measure_row(
        self,
        sheet: RawSheet,
        row: RawRow,
        measure_id: str,
        cols: _SectionCols,
        area: dict[int, tuple[str, ...]],
    ) -> None:
        issues, cells, r = self.issues, row.cells, row.row_no
        area[r] = cols.measure_cols
        if measure_id not in self.ctx.measures:
            if _has_any(row, cols.measure_cols):
                issues.add("UNKNOWN_MEASURE", sheet=sheet.title, cell=f"A{r}", value=measure_id)
            return
        if row.hidden:
            self._hidden_row(sheet, row, cols.measure_cols)
        cell = f"{cols.answer or layout.SECTION_COLUMNS['answer']}{r}"
        raw_answer = cells.get(cols.answer) if cols.answer else None
        # 該当なし: the measure does not concern this municipality (not implemented, and distinct
        # from a blank).
        not_applicable = (
            isinstance(raw_answer, str) and compact_text(raw_answer) in codelists.NOT_APPLICABLE_TEXTS
        )
        answer = codelists.ANSWER_NO if not_applicable else parse_answer(raw_answer)
        if answer is None:
            issues.add("UNKNOWN_ANSWER", sheet=sheet.title, cell=cell, value=raw_answer)
        raw_budget = cells.get(cols.budget_line) if cols.budget_line else None
        budget = parse_budget_line(raw_budget)
        if budget is not None:
            self._too_long(
                sheet, f"{cols.budget_line}{r}", budget, codelists.BUDGET_LINE_MAX_CHARS, raw_budget
            )
        raw_note = cells.get(cols.note) if cols.note else None
        note = clean_text(raw_note) if raw_note is not None else None
        if note is not None:
            self._too_long(sheet, f"{cols.note}{r}", note, codelists.NOTE_MAX_CHARS, raw_note)
        record = (
            *self._provenance(sheet, cell, r),
            measure_id,
            normalize_text(cells.get(cols.label)) if cols.label else None,
            cell_text(raw_answer),
            answer,
            None if answer is None else answer == codelists.ANSWER_YES,
            budget,
            cell_text(raw_budget),
            note,
            not_applicable,
            None,  # parent_implemented, once the whole file is read
        )
        first = self.responses.get(measure_id)
        if first is None:
            self.responses[measure_id] = record
            return
        # Same measure twice: identical answers are harmless; differing ones cannot be resolved.
        first_answer = first[11] if first[11] is not None else compact_text(first[10])
        this_answer = answer if answer is not None else compact_text(raw_answer)
        if (first_answer, first[13]) != (this_answer, budget):
            issues.add(
                "DUPLICATE_MEASURE",
                sheet=sheet.title,
                cell=cell,
                value=cell_text(raw_answer),
                detail=f"取組ID {measure_id}：シート「{first[2]}」セル{first[3]}とセル{cell}",
            )

    def _own_row(
        self,
        sheet: RawSheet,
        row: RawRow,
        table_id: str,
        cols: _SectionCols,
        area: dict[int, tuple[str, ...]],
    ) -> None:
        cells, r = row.cells, row.row_no
        area[r] = cols.own_cols
        if not cells or not _has_any(row, cols.own_cols):
            return
        if row.hidden:
            self._hidden_row(sheet, row, cols.own_cols)
        raw_text = cells.get(cols.label) if cols.label else None
        text = clean_text(raw_text)
        text_cell = f"{cols.label or layout.SECTION_COLUMNS['label']}{r}"
        raw_budget = cells.get(cols.budget_line) if cols.budget_line else None
        budget = parse_budget_line(raw_budget)
        raw_note = cells.get(cols.note) if cols.note else None
        note = clean_text(raw_note)
        if text is None:
            self.issues.add(
                "OWN_TEXT_MISSING",
                sheet=sheet.title,
                cell=text_cell,
                value=cell_text(raw_budget) or cell_text(raw_note),
            )
            return
        self._too_long(sheet, text_cell, text, codelists.OWN_INITIATIVE_MAX_CHARS, raw_text)
        self._too_long(sheet, f"{cols.budget_line}{r}", budget, codelists.BUDGET_LINE_MAX_CHARS, raw_budget)
        self._too_long(sheet, f"{cols.note}{r}", note, codelists.NOTE_MAX_CHARS, raw_note)
        position = self.own_positions.get(table_id, 0) + 1
        self.own_positions[table_id] = position
        self.own.append(
            (
                *self._provenance(sheet, text_cell, r),
                table_id,
                position,
                text,
                budget,
                note,
            )
        )
