"""The per-catalog lookups a file is staged against, built once per catalog, and the
municipality codes a file name carries."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from kokuho import layout
from kokuho.catalog import Catalog, Measure, NumericTargetItem
from kokuho.municipalities import (
    Municipality,
    MunicipalityCodeError,
    all_prefectures,
    by_code,
    normalize_code,
)
from transform.normalize import compact_text

_FILENAME_CODE_RE = re.compile(r"(?<![0-9])([0-9]{5,6})(?![0-9])")


@dataclass
class _Context:
    catalog: Catalog
    measures: dict[str, Measure]
    table_ids: frozenset[str]
    targets: dict[str, NumericTargetItem]
    target_years: dict[str, frozenset[int]]
    municipalities: Mapping[str, Municipality]
    prefecture_names: dict[str, str]
    section_titles: dict[str, int]  # compact standard sheet title -> section no
    items: dict[str, Measure]  # typed (non-check) items
    item_years: dict[str, frozenset[int]]  # typed item -> fiscal years asked

    @classmethod
    def of(cls, catalog: Catalog) -> _Context:
        return cls(
            catalog=catalog,
            measures={m.id: m for m in catalog.measures},
            table_ids=frozenset(t.table_id for t in catalog.tables),
            targets={t.id: t for t in catalog.numeric_targets},
            target_years={t.id: frozenset(t.years(catalog.fiscal_year)) for t in catalog.numeric_targets},
            municipalities=by_code(),
            prefecture_names={p.code: p.name for p in all_prefectures()},
            section_titles={
                compact_text(layout.section_sheet_title(s.no, s.title)): s.no for s in catalog.sections
            },
            items={i.id: i for i in catalog.items if i.type != "check"},
            item_years={
                i.id: frozenset(i.years(catalog.fiscal_year)) for i in catalog.items if i.type != "check"
            },
        )


_CONTEXTS: dict[int, tuple[Catalog, _Context]] = {}


def _context(catalog: Catalog) -> _Context:
    """The lookups of a catalog, built once per catalog object (catalogs are loaded once and
    cached, so a worker staging thousands of files builds them once). The entry holds the
    catalog, so its id cannot be reused while cached."""
    cached = _CONTEXTS.get(id(catalog))
    if cached is None or cached[0] is not catalog:
        if len(_CONTEXTS) >= 8:
            _CONTEXTS.clear()
        cached = _CONTEXTS[id(catalog)] = (catalog, _Context.of(catalog))
    return cached[1]


def filename_codes(file_name: str, known: Mapping[str, Municipality] | None = None) -> list[str]:
    """Municipality codes a file name carries ('112011_川越市_…' or '11201川越.xlsx'): each 5- or
    6-digit run that normalises to a known municipality, in order."""
    known = by_code() if known is None else known
    text = unicodedata.normalize("NFKC", file_name)
    codes: list[str] = []
    for match in _FILENAME_CODE_RE.finditer(text):
        try:
            code = normalize_code(match[1])
        except MunicipalityCodeError:
            continue
        if code in known and code not in codes:
            codes.append(code)
    return codes
