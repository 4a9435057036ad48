"""Typed items on section sheets (rows keyed item:<ID>:<YEAR>), parsed per type into
stg_item_values; then, once the whole file is read, who each answered item applies to and the
derived breakdown columns (parent_implemented, parent_value, breakdown_total) that GX checks."""

from __future__ import annotations

from extract.model import RawRow, RawSheet
from kokuho import codelists, layout
from kokuho.catalog import CHECK_YES, Measure
from transform.normalize import ParsedItem, clean_text, compact_text, parse_item
from transform.staging.columns import _has_any, _SectionCols
from transform.staging.file_state import _FileState

_ITEM_KEY_RULE = f"項目の年度は半角数字の西暦（{layout.FISCAL_YEAR_MIN}～{layout.FISCAL_YEAR_MAX}）"

# Positions in a stg_item_values row (contract column order) and in a stg_responses row.
_ITEM_ID, _VALUE_YEAR, _RAW, _VALUE, _QUALIFIER, _VALUE_TEXT, _NOT_APPLICABLE = 8, 10, 11, 12, 13, 14, 17
_PARENT_VALUE, _BREAKDOWN_TOTAL = 20, 21
_IMPLEMENTED, _RESPONSE_NA, _PARENT_IMPLEMENTED = 12, 16, 17


def _item_signature(record: tuple) -> tuple:
    """What makes two cells of one item and year say the same thing."""
    parsed = (record[_VALUE], record[_QUALIFIER], record[_VALUE_TEXT], record[_NOT_APPLICABLE])
    if parsed == (None, None, None, False):
        return (None, None, None, False, compact_text(record[_RAW]))
    return (*parsed, None)


def _answered(record: tuple) -> bool:
    """A typed value that says something (not blank, not 該当なし, not a bare dash)."""
    return not record[_NOT_APPLICABLE] and (
        record[_VALUE] is not None or record[_VALUE_TEXT] is not None or record[_QUALIFIER] is not None
    )


class _ItemReader(_FileState):
    def _item_row(
        self, sheet: RawSheet, row: RawRow, key: str, cols: _SectionCols, area: dict[int, tuple[str, ...]]
    ) -> None:
        issues, cells, r = self.issues, row.cells, row.row_no
        value_cols = tuple(c for c in (cols.answer, cols.note) if c)
        area[r] = value_cols
        parsed_key = layout.parse_item_key(key)
        item = self.ctx.items.get(parsed_key[0]) if parsed_key else None
        if parsed_key is None or item is None or parsed_key[1] not in self.ctx.item_years[item.id]:
            if _has_any(row, value_cols):
                issues.add(
                    "UNKNOWN_ITEM" if parsed_key else "TEMPLATE_KEY_INVALID",
                    sheet=sheet.title,
                    cell=f"{layout.KEY_COLUMN}{r}",
                    value=key,
                    detail=None if parsed_key else _ITEM_KEY_RULE,
                )
            return
        year = parsed_key[1]
        if row.hidden:
            self._hidden_row(sheet, row, value_cols)
        cell = f"{cols.answer or layout.SECTION_COLUMNS['answer']}{r}"
        raw = cells.get(cols.answer) if cols.answer else None
        parsed = parse_item(
            item.type,
            raw,
            unit=item.unit,
            options=item.options,
            multiple=item.multiple,
            minimum=item.minimum,
            maximum=item.maximum,
            is_percent_format=cell in getattr(sheet, "percent_cells", ()),
        )
        if parsed.error is not None:
            code, detail = parsed.error
            issues.add(code, sheet=sheet.title, cell=cell, value=parsed.raw_text or raw, detail=detail)
        if item.type == "text":
            self._too_long(sheet, cell, parsed.value_text, codelists.NOTE_MAX_CHARS, raw)
        raw_note = cells.get(cols.note) if cols.note else None
        note = clean_text(raw_note)
        self._too_long(sheet, f"{cols.note}{r}", note, codelists.NOTE_MAX_CHARS, raw_note)
        record = self._item_record(sheet, cell, r, item, year, parsed, note)
        first = self.item_values.get((item.id, year))
        if first is None:
            self.item_values[(item.id, year)] = record
        elif _item_signature(first) != _item_signature(record):
            issues.add(
                "DUPLICATE_MEASURE",
                sheet=sheet.title,
                cell=cell,
                value=record[_RAW],
                detail=f"項目 {item.id} {year}年度：シート「{first[2]}」セル{first[3]}とセル{cell}",
            )

    def _item_record(
        self,
        sheet: RawSheet,
        cell: str,
        r: int,
        item: Measure,
        year: int,
        parsed: ParsedItem,
        note: str | None,
    ) -> tuple:
        ok = parsed.error is None
        # A value that failed its range check is kept (the reasons show it); one that did not
        # parse is not.
        value = parsed.value if parsed.error is None or parsed.error[0] == "ITEM_OUT_OF_RANGE" else None
        value_text = parsed.value_text if ok else None
        answer = f"{item.id}:{value_text}" if item.type in ("choice", "status") and value_text else None
        return (
            *self._provenance(sheet, cell, r),
            item.id,
            item.type,
            year,
            parsed.raw_text,
            value,
            parsed.qualifier,
            value_text,
            parsed.period_start if ok else None,
            parsed.period_end if ok else None,
            parsed.not_applicable,
            note,
            answer,
            None,
            None,
        )

    # ---- after the whole file is read ---------------------------------------------------------

    def _check_items(self) -> None:
        """Answers where the item does not apply (ANSWER_NOT_APPLICABLE), and the breakdown
        columns GX checks."""
        catalog = self.ctx.catalog
        for measure_id, record in self.responses.items():
            measure = self.ctx.measures[measure_id]
            if record[_IMPLEMENTED] and measure.applies_to is not None:
                self._not_applicable(measure, record, catalog.fiscal_year, record[10])
        for (item_id, year), record in self.item_values.items():
            item = self.ctx.items[item_id]
            if item.applies_to is not None and _answered(record):
                self._not_applicable(item, record, year, record[_RAW])
        self._breakdowns()

    def _not_applicable(self, item: Measure, record: tuple, year: int, value: object) -> None:
        reason = self._why_not_applicable(item, year)
        if reason is not None:
            self.issues.add(
                "ANSWER_NOT_APPLICABLE", sheet=record[2], cell=record[3], value=value, detail=reason
            )

    def _why_not_applicable(self, item: Measure, year: int) -> str | None:
        """Why the item does not apply to this file's municipality; None when it does (or when
        that cannot be known: no municipality code)."""
        applies = item.applies_to
        catalog = self.ctx.catalog
        if applies is None:
            return None
        if applies.group is not None:
            code = self.identity.municipality_code
            group = catalog.groups.get(applies.group)
            if code is None or group is None or code in group.municipalities:
                return None
            return f"{group.label}だけが回答する項目です"
        if applies.item is None:
            return None
        other = catalog.measure(applies.item)
        if other.type == "check":
            response = self.responses.get(other.id)
            given = {CHECK_YES} if response is not None and response[_IMPLEMENTED] else set()
        else:
            years = other.years(catalog.fiscal_year)
            other_year = year if year in years else catalog.fiscal_year
            found = self.item_values.get((other.id, other_year))
            text = found[_VALUE_TEXT] if found is not None else None
            given = set(text.split(",")) if text else set()
        if given & set(applies.answers):
            return None
        return f"「{other.label}」の回答が{catalog.condition_answers(item)}の市町村だけが回答する項目です"

    def _breakdowns(self) -> None:
        """parent_implemented on check children; parent_value and breakdown_total on numeric
        children (same fiscal year)."""
        for measure_id, record in list(self.responses.items()):
            parent_id = self.ctx.measures[measure_id].parent_id
            if parent_id is None:
                continue
            parent = self.responses.get(parent_id)
            parent_implemented = None if parent is None else parent[_IMPLEMENTED]
            self.responses[measure_id] = (*record[:_PARENT_IMPLEMENTED], parent_implemented)
        totals: dict[tuple[str, int], float] = {}
        for (item_id, year), record in self.item_values.items():
            parent_id = self.ctx.items[item_id].parent_id
            if parent_id is not None and record[_VALUE] is not None:
                totals[(parent_id, year)] = totals.get((parent_id, year), 0.0) + record[_VALUE]
        for (item_id, year), record in list(self.item_values.items()):
            parent_id = self.ctx.items[item_id].parent_id
            if parent_id is None:
                continue
            parent = self.item_values.get((parent_id, year))
            self.item_values[(item_id, year)] = (
                *record[:_PARENT_VALUE],
                None if parent is None else parent[_VALUE],
                totals.get((parent_id, year)),
            )
