"""Chunking and counting for the flow."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Sequence

from flows.steps.model import InboxFile

# --- chunking and counting for the flow ----------------------------------------------------------

# Files per chunk: each chunk is extracted and staged, validated, quarantined and loaded into the
# run's working copy before the next (published once, after the last), so a run holds one
# chunk's rows whatever the inbox holds. In-process, one chunk takes one year's national inbox
# (its worker processes start once per chunk); the staged rows of 2,000 files take ~30 MB.
# On Dask, smaller chunks spread over the cluster. KOKUHO_CHUNK_FILES overrides both.
CHUNK_SIZE = 2000
DISTRIBUTED_CHUNK_SIZE = 250
CHUNK_FILES_ENV = "KOKUHO_CHUNK_FILES"


def chunk_size(*, distributed: bool) -> int:
    """Files per chunk: KOKUHO_CHUNK_FILES when set to a positive number (read when called)."""
    value = os.environ.get(CHUNK_FILES_ENV, "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return DISTRIBUTED_CHUNK_SIZE if distributed else CHUNK_SIZE


def chunked(items: Sequence[InboxFile], size: int) -> list[list[InboxFile]]:
    """`items` in chunks of at most `size` (none for no items), in groups: a folder's files of one
    fiscal year as their names give it (name_year; files without one last), folders in name order,
    each group's files in the order given.

    A group's files are kept together when they fit: a chunk that is at least half full ends
    before a group that would not fit in it. A chunk of one survey is validated once, while a
    chunk of several is validated once per survey (each at a fixed cost of about half a second,
    whatever its size); the scan's order (by file name, which starts with the municipality code)
    would give every chunk of a ten-year inbox all ten years, whether the years have a folder each
    or share one. The order only groups files: which file is the latest is decided over the whole
    warehouse after each chunk, and outcomes are reported in scan order."""
    chunks: list[list[InboxFile]] = []
    current: list[InboxFile] = []
    for group in _groups(items):
        if current and len(current) + len(group) > size and 2 * len(current) >= size:
            chunks.append(current)
            current = []
        for item in group:
            current.append(item)
            if len(current) == size:
                chunks.append(current)
                current = []
    if current:
        chunks.append(current)
    return chunks


def _groups(items: Sequence[InboxFile]) -> list[list[InboxFile]]:
    """The files of each (folder, year of the name), in that order; each group in the order given."""
    groups: dict[tuple[str, int], list[InboxFile]] = {}
    for item in items:
        groups.setdefault((str(item.path.parent), name_year(item.path.name)), []).append(item)
    return [groups[key] for key in sorted(groups)]


# A western year standing alone (not part of a municipality code), or 令和/R and its number.
_WESTERN_YEAR = re.compile(r"(?<![0-9])(20[0-9]{2})(?![0-9])")
_REIWA_YEAR = re.compile(r"(?:令和|(?<![A-Za-z])R)([0-9]{1,2})(?![0-9])")
_NO_YEAR = 9999


def name_year(name: str) -> int:
    """The fiscal year a returned file's name gives (`…_2024_…`, `令和6年度`, `R6`), 9999 when none.
    Only for grouping files of one survey into a chunk: the survey itself is read from the cover."""
    text = unicodedata.normalize("NFKC", name)
    western = _WESTERN_YEAR.search(text)
    if western:
        return int(western.group(1))
    reiwa = _REIWA_YEAR.search(text)
    if reiwa and int(reiwa.group(1)) > 0:
        return 2018 + int(reiwa.group(1))
    return _NO_YEAR


def split_known(files: Sequence[InboxFile], known: set[str]) -> tuple[list[InboxFile], list[InboxFile]]:
    """(new files, files the warehouse already holds), each in scan order."""
    return [f for f in files if f.sha256 not in known], [f for f in files if f.sha256 in known]
