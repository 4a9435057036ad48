"""The numeric targets sheet: one row per target and year, parsed and range-checked."""

from __future__ import annotations

from extract.model import RawRow, RawSheet
from kokuho import codelists, layout
from transform.normalize import clean_text, compact_text, parse_target
from transform.staging.columns import _ROW_NO, _column_mapping, _has_any
from transform.staging.file_state import _FileState

_TARGET_KEY_RULE = f"目標の年度は半角数字の西暦（{layout.FISCAL_YEAR_MIN}～{layout.FISCAL_YEAR_MAX}）"


def _target_signature(value: float | None, qualifier: str | None, raw_text: str | None) -> tuple:
    """What makes two target cells say the same thing (text only matters when nothing parsed)."""
    if value is None and qualifier is None:
        return (None, None, compact_text(raw_text))
    return (value, qualifier, None)


class _TargetReader(_FileState):
    def _read_targets(self, sheet: RawSheet) -> None:
        defaults, headers = layout.TARGET_COLUMNS, layout.TARGET_HEADERS
        mapping: dict[str, str | None] = dict(defaults)
        area = self.answer_area.setdefault(sheet.title, {})
        for row in sorted(sheet.rows, key=_ROW_NO):
            key = row.key
            if key == layout.COLUMN_HEADER_KEY:
                mapping = _column_mapping(row, defaults, headers)
            elif key and key.startswith(layout.TARGET_PREFIX):
                self._target_row(sheet, row, key, mapping, area)

    def _target_row(
        self,
        sheet: RawSheet,
        row: RawRow,
        key: str,
        mapping: dict[str, str | None],
        area: dict[int, tuple[str, ...]],
    ) -> None:
        issues, cells, r = self.issues, row.cells, row.row_no
        value_col, note_col = mapping["value"], mapping["note"]
        cols = tuple(c for c in (value_col, note_col) if c)
        area[r] = cols
        raw = cells.get(value_col) if value_col else None
        raw_note = cells.get(note_col) if note_col else None
        parsed_key = self._known_target_key(sheet, row, key, cols)
        if parsed_key is None:
            return
        target_id, target_year = parsed_key
        if row.hidden:
            self._hidden_row(sheet, row, cols)
        cell = f"{value_col or layout.TARGET_COLUMNS['value']}{r}"
        parsed = parse_target(raw, is_percent_format=cell in getattr(sheet, "percent_cells", ()))
        if not parsed.ok:
            issues.add("TARGET_UNPARSEABLE", sheet=sheet.title, cell=cell, value=raw)
        elif parsed.value is not None:
            item = self.ctx.targets[target_id]
            if not item.minimum <= parsed.value <= item.maximum:
                issues.add(
                    "TARGET_OUT_OF_RANGE",
                    sheet=sheet.title,
                    cell=cell,
                    value=parsed.raw_text,
                    detail=f"{item.minimum:g}～{item.maximum:g}",
                )
        note = clean_text(raw_note)
        self._too_long(sheet, f"{note_col}{r}", note, codelists.NOTE_MAX_CHARS, raw_note)
        record = (
            *self._provenance(sheet, cell, r),
            target_id,
            target_year,
            parsed.raw_text,
            parsed.value,
            parsed.qualifier,
            note,
        )
        self._keep_target(sheet, cell, parsed_key, record)

    def _known_target_key(
        self, sheet: RawSheet, row: RawRow, key: str, cols: tuple[str, ...]
    ) -> tuple[str, int] | None:
        """(target id, year) of a row's key when the catalog asks for it; otherwise None, and
        UNKNOWN_TARGET (or TEMPLATE_KEY_INVALID) when the row holds something."""
        parsed_key = layout.parse_target_key(key)
        if (
            parsed_key is None
            or parsed_key[0] not in self.ctx.targets
            or parsed_key[1] not in self.ctx.target_years[parsed_key[0]]
        ):
            if _has_any(row, cols):
                self.issues.add(
                    "UNKNOWN_TARGET" if parsed_key else "TEMPLATE_KEY_INVALID",
                    sheet=sheet.title,
                    cell=f"{layout.KEY_COLUMN}{row.row_no}",
                    value=key,
                    detail=None if parsed_key else _TARGET_KEY_RULE,
                )
            return None
        return parsed_key

    def _keep_target(self, sheet: RawSheet, cell: str, parsed_key: tuple[str, int], record: tuple) -> None:
        """The first row of a target and year is kept; a later one saying otherwise is
        DUPLICATE_MEASURE."""
        first = self.targets.get(parsed_key)
        if first is None:
            self.targets[parsed_key] = record
        elif _target_signature(first[11], first[12], first[10]) != _target_signature(
            record[11], record[12], record[10]
        ):
            target_id, target_year = parsed_key
            self.issues.add(
                "DUPLICATE_MEASURE",
                sheet=sheet.title,
                cell=cell,
                value=record[10],
                detail=f"目標 {target_id} {target_year}年度：シート「{first[2]}」セル{first[3]}とセル{cell}",
            )
