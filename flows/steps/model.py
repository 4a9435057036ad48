"""The records the steps pass along: inbox files and entries, what became of each file, a
staged chunk and the validated batch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kokuho.catalog import Catalog
    from transform.batch import StagingBatch


@dataclass(frozen=True)
class InboxFile:
    path: Path
    sha256: str
    size: int
    mtime: float
    name: str = ""  # display form of the file name (kokuho.files.display_name)
    name_hex: str = ""  # raw bytes of the file name
    entry_no: int = -1  # index in the scan's entries


@dataclass
class InboxEntry:
    """One entry of the inbox as the scan found it. `state` is None for a file to process, else
    "skipped" with a reason code (kokuho.codelists.INBOX_SKIP_REASONS)."""

    path: Path
    name: str  # display form
    name_hex: str
    relative: str  # display form of the path under the inbox
    sha256: str | None = None
    size: int | None = None
    mtime: float | None = None
    state: str | None = None
    reason_code: str | None = None
    reason: str | None = None
    duplicate_of: str | None = None


class ScanResult(list[InboxFile]):
    """The files to process (a list, as before), plus `entries`: every entry the scan met,
    skipped ones included, so that the run can account for each."""

    def __init__(self, files: Iterable[InboxFile] = (), entries: list[InboxEntry] | None = None) -> None:
        super().__init__(files)
        self.entries: list[InboxEntry] = entries or []


@dataclass
class FileOutcome:
    """What became of one inbox file. Every file ends in exactly one status."""

    file_name: str
    path: Path
    sha256: str
    status: str  # accepted / superseded / quarantined / skipped
    municipality_code: str | None = None
    municipality_name: str | None = None
    fiscal_year: int | None = None
    issues: list[dict[str, object]] = field(default_factory=list)
    quarantine_dir: Path | None = None
    reason_code: str | None = None  # why a file was skipped (kokuho.codelists.INBOX_SKIP_REASONS)
    reason: str | None = None

    @property
    def first_message(self) -> str:
        if self.reason:
            return self.reason
        return str(self.issues[0]["message"]) if self.issues else ""


@dataclass
class StageResult:
    batch: StagingBatch  # all rows, failing files included
    failed: set[str]
    outcomes: list[FileOutcome]
    catalogs: list[Catalog]  # one per survey seen
    data_docs_index: Path | None = None
    # Files not loaded after all (changed since the scan, quarantine copy failed), with why:
    # not in the warehouse, so the next run tries them again.
    dropped: dict[str, tuple[str, str]] = field(default_factory=dict)  # sha256 -> (code, reason)
    docs_run_times: list[datetime] = field(default_factory=list)  # validated, Data Docs not yet built


@dataclass
class StagedChunk:
    """A chunk of files extracted and staged (raw cells are dropped here: the staging tables are
    a fraction of their size, so a national batch stays within memory)."""

    batch: StagingBatch
    catalog_of: dict[str, str]  # sha256 -> survey_id of the catalog the file was staged against
    # sha256 of the bytes the worker read, per path ("" when it read none): a file that changed
    # since the scan hashed it is not what the scan recorded.
    read_sha256: dict[Path, str] = field(default_factory=dict)
