"""Which survey a returned workbook claims to answer, read from its cover keys (before staging),
so that a mixed inbox (two fiscal years, several prefectures) is staged against the right catalog."""

from __future__ import annotations

from extract.model import ExtractedWorkbook
from kokuho import layout


def claimed_survey(workbook: ExtractedWorkbook) -> tuple[str | None, int | None]:
    """(prefecture_code, fiscal_year) from the cover's meta keys; (None, None) when absent."""
    cover = workbook.sheet_by_key(layout.SHEET_COVER)
    if cover is None:
        return None, None
    prefecture: str | None = None
    year: int | None = None
    for row in cover.rows:
        parsed = layout.parse_meta_key(row.key or "")
        if parsed is None:
            continue
        name, value = parsed
        if name == layout.META_PREFECTURE:
            prefecture = value.strip().zfill(2)
        elif name == layout.META_FISCAL_YEAR and value.strip().isdigit():
            year = int(value.strip())
    return prefecture, year
