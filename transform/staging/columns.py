"""Where a table's answer columns are: the fixed letters unless its header row shows they moved."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter

from extract.model import RawRow
from kokuho import layout
from transform.normalize import cell_text, compact_text, normalize_text

_ROW_NO = attrgetter("row_no")


def _has_any(row: RawRow, cols: tuple[str, ...]) -> bool:
    """Whether any of the row's given cells holds something (after normalisation)."""
    cells = row.cells
    return any(normalize_text(cells.get(c)) is not None for c in cols if c in cells)


def _column_mapping(
    header: RawRow, defaults: dict[str, str], headers: dict[str, str]
) -> dict[str, str | None]:
    """role -> column letter. Fixed letters unless the header row shows the columns moved."""
    return dict(_cached_mapping(_header_texts(header), tuple(defaults.items()), tuple(headers.items())))


def _header_texts(header: RawRow) -> tuple[tuple[str, str | None], ...]:
    """A header row's cells as text, in column order: what the column mappings are cached by."""
    return tuple(sorted((col, cell_text(v)) for col, v in header.cells.items()))


@lru_cache(maxsize=256)
def _cached_mapping(
    cells: tuple[tuple[str, str | None], ...],
    default_items: tuple[tuple[str, str], ...],
    header_items: tuple[tuple[str, str], ...],
) -> tuple[tuple[str, str | None], ...]:
    # Cached: every table of every file repeats the same header row.
    defaults, headers = dict(default_items), dict(header_items)
    texts = {col: compact_text(v) for col, v in cells}
    texts = {col: t for col, t in texts.items() if t}
    if all(texts.get(defaults[role]) == compact_text(headers[role]) for role in defaults):
        return tuple(defaults.items())
    found: dict[str, str] = {}
    wanted = {role: compact_text(text) for role, text in headers.items()}
    for role, text in wanted.items():  # exact header text first
        for col, t in texts.items():
            if t == text and col not in found.values():
                found[role] = col
                break
    for role, text in wanted.items():  # then the header's core ("予算事業名", "目標値")
        if role in found:
            continue
        core = text.split("(")[0]
        for col, t in texts.items():
            if col not in found.values() and core and t.startswith(core):
                found[role] = col
                break
    taken = set(found.values())
    return tuple(
        (role, found.get(role) or (defaults[role] if defaults[role] not in taken else None))
        for role in defaults
    )


@dataclass(frozen=True)
class _SectionCols:
    """Where a section table's columns are, and which of them are answer cells."""

    label: str | None
    answer: str | None
    budget_line: str | None
    note: str | None
    measure_cols: tuple[str, ...]  # answer area of a measure row
    own_cols: tuple[str, ...]  # answer area (and content) of an own-initiative row

    @classmethod
    def of(cls, mapping: dict[str, str | None]) -> _SectionCols:
        return cls(
            label=mapping["label"],
            answer=mapping["answer"],
            budget_line=mapping["budget_line"],
            note=mapping["note"],
            measure_cols=tuple(c for c in (mapping["answer"], mapping["budget_line"], mapping["note"]) if c),
            own_cols=tuple(c for c in (mapping["label"], mapping["budget_line"], mapping["note"]) if c),
        )


_DEFAULT_SECTION_COLS = _SectionCols.of(dict(layout.SECTION_COLUMNS))


def _section_cols(header: RawRow) -> _SectionCols:
    """Where the section table whose header row this is has its columns."""
    return _cached_section_cols(_header_texts(header))


@lru_cache(maxsize=256)
def _cached_section_cols(cells: tuple[tuple[str, str | None], ...]) -> _SectionCols:
    # Cached: every table of every file repeats the same header row.
    defaults, headers = tuple(layout.SECTION_COLUMNS.items()), tuple(layout.SECTION_HEADERS.items())
    return _SectionCols.of(dict(_cached_mapping(cells, defaults, headers)))
