"""Loading a validated batch and publishing it; recording a run and its inbox entries."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from flows.steps.model import InboxFile, StageResult
from kokuho.config import Settings
from kokuho.files import display_path

if TYPE_CHECKING:
    from load.chunked import ChunkedLoad


def known_files(settings: Settings) -> set[str]:
    """sha256 of every file the published warehouse already holds (for incremental runs)."""
    from load.warehouse import known_sha256

    return known_sha256(settings.db_path) if settings.db_path.exists() else set()


def load_and_publish(
    result: StageResult,
    skipped: int,
    settings: Settings,
    run_id: str,
    started_at: float,
    scan: Iterable[InboxFile] | None = None,
) -> object:
    """Load the staged batch into a working copy and publish it atomically (load.publish).
    With the run's `scan` (scan_inbox's result), every inbox entry is recorded in inbox_entries."""
    from datetime import UTC

    from load.publish import open_for_write
    from load.warehouse import finish_run, load_batch, start_run

    entries = entries_frame(scan, result)
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    with open_for_write(settings.db_path, run_id=run_id) as con:
        start_run(con, run_id, started_at=datetime.fromtimestamp(started_at, UTC))
        loaded = load_batch(
            con,
            result.batch,
            failed_sha256=result.failed,
            catalogs=result.catalogs,
            run_id=run_id,
            entries=entries,
            survey=(settings.prefecture_code, settings.fiscal_year),
        )
        finish_run(con, run_id, skipped=skipped + _skipped_before_load(scan, result))
    return loaded


@contextmanager
def chunked_load(
    settings: Settings, run_id: str, started_at: float, scan: Iterable[InboxFile] | None = None
) -> Iterator[ChunkedLoad]:
    """The run's load, chunk by chunk (load.chunked), into a working copy published atomically
    when the block ends without an exception (load.publish): a run killed between chunks
    leaves the last published state. Finish it with `finish_chunked_load` inside the block."""
    from datetime import UTC

    from load.chunked import ChunkedLoad
    from load.publish import open_for_write
    from load.warehouse import start_run

    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    with open_for_write(settings.db_path, run_id=run_id) as con:
        start_run(con, run_id, started_at=datetime.fromtimestamp(started_at, UTC))
        yield ChunkedLoad(
            con,
            run_id,
            entries=entries_frame(scan, None),
            survey=(settings.prefecture_code, settings.fiscal_year),
        )


def load_chunk(run_load: ChunkedLoad, result: StageResult) -> object:
    """Load one validated chunk into the run's working copy."""
    return run_load.add(result.batch, failed_sha256=result.failed, catalogs=result.catalogs)


def finish_chunked_load(
    run_load: ChunkedLoad, result: StageResult, skipped: int, scan: Iterable[InboxFile] | None = None
) -> object:
    """Record the run's counts and inbox entries (`result`: every chunk's, merged) once loaded."""
    from load.warehouse import finish_run

    loaded = run_load.finish(with_outcomes(run_load.entries, result))
    finish_run(run_load.con, run_load.run_id, skipped=skipped + _skipped_before_load(scan, result))
    return loaded


def record_empty_run(
    settings: Settings,
    run_id: str,
    skipped: int,
    started_at: float,
    scan: Iterable[InboxFile] | None = None,
) -> None:
    """A run that found nothing new is still recorded (runs table, and its inbox entries), so
    analysts see it ran and what it saw."""
    from datetime import UTC

    from kokuho.catalog import load_catalog_for
    from load.publish import open_for_write
    from load.warehouse import finish_run, record_entries, start_run, sync_catalog, sync_municipalities

    entries = entries_frame(scan, None)
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    with open_for_write(settings.db_path, run_id=run_id) as con:
        start_run(con, run_id, started_at=datetime.fromtimestamp(started_at, UTC))
        # The survey exists even before any file arrives, so submission_status lists who is missing.
        sync_municipalities(con)
        sync_catalog(con, load_catalog_for(settings.prefecture_code, settings.fiscal_year))
        if entries is not None:
            record_entries(con, entries, run_id)
        finish_run(con, run_id, skipped=skipped + _skipped_before_load(scan, None))


def _skipped_before_load(scan: Iterable[InboxFile] | None, result: StageResult | None) -> int:
    """Entries the load never saw: skipped by the scan, or dropped before the load."""
    entries = getattr(scan, "entries", None) or []
    return sum(e.state == "skipped" for e in entries) + len(result.dropped if result else ())


_NAME_CODE_RE = re.compile(r"^(\d{6})(?!\d)")


def name_municipality_code(name: str) -> str | None:
    """The municipality code a file name starts with (`112011_川越市.xlsx`), when it is a valid
    code (check digit) of a known municipality; else None."""
    from kokuho.municipalities import MunicipalityCodeError, by_code, normalize_code

    match = _NAME_CODE_RE.match(unicodedata.normalize("NFKC", name))
    if not match:
        return None
    try:
        code = normalize_code(match[1])
    except MunicipalityCodeError:
        return None
    return code if code in by_code() else None


def entries_frame(scan: Iterable[InboxFile] | None, result: StageResult | None) -> pd.DataFrame | None:
    """The run's inbox entries (load.warehouse.ENTRY_COLUMNS): skipped ones with their reason,
    files handed to the load with state NULL (the load decides). None without a scan's entries."""
    from datetime import UTC

    from load.warehouse import ENTRY_COLUMNS

    entries = getattr(scan, "entries", None)
    if entries is None:
        return None
    rows = []
    for no, entry in enumerate(entries):
        name_code = name_municipality_code(entry.name)
        rows.append(
            {
                "entry_no": no,
                "path": entry.relative,
                "file_path": display_path(entry.path),
                "file_name": entry.name,
                "name_hex": entry.name_hex,
                "sha256": entry.sha256,
                "file_size": entry.size,
                "received_at": None if entry.mtime is None else datetime.fromtimestamp(entry.mtime, UTC),
                "state": entry.state,
                "reason_code": entry.reason_code,
                "reason": entry.reason,
                "duplicate_of": entry.duplicate_of,
                "name_municipality_code": name_code,
                "municipality_code": name_code,
            }
        )
    frame = pd.DataFrame(rows, columns=[c for c in ENTRY_COLUMNS if c != "processed_run_id"])
    return with_outcomes(frame.assign(processed_run_id=None), result)


def with_outcomes(entries: pd.DataFrame | None, result: StageResult | None) -> pd.DataFrame | None:
    """The entries (entries_frame) as the run's validation left them: files dropped before the load
    are skipped with their reason, and a file whose name gives no municipality has its cover's.
    A new frame; `entries` is left as it was."""
    if entries is None or result is None:
        return entries
    entries = entries.copy()
    # One pass over the entries, however many files were dropped.
    dropped = entries["sha256"].map(result.dropped)
    at = entries["state"].isna() & dropped.notna()
    if at.any():
        entries.loc[at, ["state", "reason_code", "reason"]] = [("skipped", *why) for why in dropped[at]]
    cover = {o.sha256: o.municipality_code for o in result.outcomes if o.municipality_code}
    unnamed = entries["name_municipality_code"].isna()
    entries.loc[unnamed, "municipality_code"] = [cover.get(sha) for sha in entries.loc[unnamed, "sha256"]]
    return entries
