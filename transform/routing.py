"""Which survey a returned workbook claims to answer, read from its cover keys (before staging),
so that a mixed inbox (two fiscal years, several prefectures) is staged against the right catalog."""

from __future__ import annotations

from extract.model import ExtractedWorkbook
from kokuho import layout
from kokuho.catalog import Catalog, CatalogError, load_catalog_for


def claimed_survey(workbook: ExtractedWorkbook) -> tuple[str | None, int | None]:
    """(prefecture_code, fiscal_year) from the cover's meta keys; None for each absent or
    invalid one. Never raises."""
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
        # Keys are untrusted: a value that is not a valid code or year claims nothing (staging
        # reports it as TEMPLATE_KEY_INVALID).
        if name == layout.META_PREFECTURE and prefecture is None:
            prefecture = layout.parse_prefecture_code(value)
        elif name == layout.META_FISCAL_YEAR and year is None:
            year = layout.parse_fiscal_year(value)
    return prefecture, year


def catalog_for(
    prefecture_code: str | None, fiscal_year: int | None, run_prefecture: str, run_year: int
) -> Catalog:
    """The catalog a workbook claims; the run's own catalog when the claim names none we know
    (staging then reports the mismatch as WRONG_SURVEY)."""
    if prefecture_code == run_prefecture and fiscal_year is not None:
        try:
            return load_catalog_for(prefecture_code, fiscal_year)
        except CatalogError:
            pass
    return load_catalog_for(run_prefecture, run_year)
