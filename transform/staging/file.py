"""One file: the cover first, then the section sheets (check and typed items), the targets sheet,
the cell checks and the checks across items (who an item applies to, breakdowns)."""

from __future__ import annotations

from kokuho import layout
from transform.staging.answers import _SectionReader
from transform.staging.checks import _WorkbookChecks
from transform.staging.cover import _CoverReader
from transform.staging.rules import rule_check_rows
from transform.staging.targets import _TargetReader


class _FileTransform(_CoverReader, _SectionReader, _TargetReader, _WorkbookChecks):
    """Stages one workbook into `rows` (its lookups in `ctx`); each reader is a mixin of the
    state they share (transform.staging.file_state)."""

    def run(self) -> None:
        wb = self.wb
        if wb.issues:
            for raw in wb.issues:
                self.issues.add(
                    raw.code,
                    sheet=raw.sheet,
                    cell=raw.cell,
                    value=raw.value,
                    detail=raw.detail,
                    rule=raw.rule or "extract",
                    stage="extract",
                )
            return
        cover = self._find_cover()
        if cover is None:
            self.issues.add("NOT_SURVEY_TEMPLATE", detail="表紙シート（調査票の識別情報）がありません")
            return
        if not self._read_cover(cover):
            return
        self._check_hidden_sheets()
        self._check_sheet_keys()
        for section in self.ctx.catalog.sections:
            sheets = self._sheets_for(layout.section_sheet_key(section.no), section=section.no)
            if not sheets:
                self.issues.add("MISSING_SHEET", sheet=layout.section_sheet_title(section.no, section.title))
            for sheet in sheets:
                self._read_section(sheet)
        # Section sheets of sections the catalog does not have: their rows are still reported.
        known_keys = {layout.section_sheet_key(s.no) for s in self.ctx.catalog.sections}
        for sheet in self._ordered(self.wb.sheets):
            key = sheet.key or ""
            if key.startswith(layout.SHEET_SECTION_PREFIX) and key not in known_keys:
                self._read_section(sheet)
        targets = self._sheets_for(layout.SHEET_TARGETS, title=layout.TARGETS_TITLE)
        if not targets and self.ctx.catalog.numeric_targets:
            self.issues.add("MISSING_SHEET", sheet=layout.TARGETS_TITLE)
        for sheet in targets:
            self._read_targets(sheet)
        self._check_cells()
        self._check_items()
        if not self.issues.capped:
            self.rows.responses.extend(self.responses.values())
            self.rows.own_initiatives.extend(self.own)
            self.rows.numeric_targets.extend(self.targets.values())
            self.rows.item_values.extend(self.item_values.values())
            self.rows.rule_checks.extend(rule_check_rows(list(self.item_values.values()), self.ctx.catalog))
