"""One run's load, chunk by chunk, into one working copy (load.publish.open_for_write publishes it
once, when the whole run is in): memory holds one chunk's rows, not the inbox's.

Each chunk is loaded by load.warehouse.load_batch in its own transaction on the working copy.
Which file of a municipality is the latest is decided over every submission of the warehouse
after each chunk (steps/resolve_resubmissions), so after the last chunk it is what one batch of
all the files gives. The run's counts and its inbox entries are recorded once, at the end.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from kokuho.catalog import Catalog
from kokuho.codelists import STATUS_ACCEPTED, STATUS_QUARANTINED, STATUS_SUPERSEDED
from load import warehouse
from load.memory import drop_cached_blocks
from load.runs import record_entries
from load.sql_files import sql
from load.statements import _now, transaction
from load.warehouse import LoadResult, _with_status, load_batch
from transform.batch import StagingBatch


class ChunkedLoad:
    """Loads a run's chunks on `con` (a connection from open_for_write) and, at `finish`, records
    the run's counts and inbox entries as one load of all of them would."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        run_id: str,
        *,
        entries: pd.DataFrame | None = None,
        survey: tuple[str, int] | None = None,
    ) -> None:
        self.con = con
        self.run_id = run_id
        self.entries = entries
        self.survey = survey
        self.chunks = 0
        self._superseded_before: set[str] | None = None
        self._new: set[str] = set()
        self._skipped: set[str] = set()
        self._unreadable: set[str] = set()

    def add(
        self,
        batch: StagingBatch,
        *,
        failed_sha256: set[str] | frozenset[str] = frozenset(),
        catalogs: list[Catalog],
    ) -> LoadResult:
        """Load one chunk (committed on the working copy, not yet published)."""
        if self._superseded_before is None:
            self._superseded_before = _superseded(self.con)
        batch_sha = set(batch.submissions["sha256"].dropna()) | set(batch.issues["sha256"].dropna())
        # The scan's entries give the received time of files that could not be read.
        result = load_batch(
            self.con,
            batch,
            failed_sha256=failed_sha256,
            catalogs=catalogs,
            run_id=self.run_id,
            entries=self.entries,
            survey=self.survey,
            record=False,
        )
        drop_cached_blocks(self.con)
        self._new |= batch_sha - set(result.skipped)
        self._skipped |= set(result.skipped)
        self._unreadable |= set(result.unreadable)
        self.chunks += 1
        return result

    def finish(self, entries: pd.DataFrame | None = None) -> LoadResult:
        """Record the run's counts and its inbox entries (`entries`, each with its final state;
        default those given at the start) in one transaction; the result of the whole run."""
        con = self.con
        before = self._superseded_before if self._superseded_before is not None else _superseded(con)
        with transaction(con):
            entries = self.entries if entries is None else entries
            if entries is not None:
                record_entries(con, entries, self.run_id)
            result = LoadResult(
                run_id=self.run_id,
                files_seen=len(self._new | self._skipped) + len(self._unreadable),
                accepted=sorted(_with_status(con, STATUS_ACCEPTED) & self._new),
                superseded=sorted(_superseded(con) - before),
                quarantined=sorted(_with_status(con, STATUS_QUARANTINED) & self._new),
                skipped=sorted(self._skipped),
                unreadable=sorted(self._unreadable),
            )
            warehouse._execute(  # through the module: the load's last statement, as in load_batch
                con,
                sql("steps/record_run_load"),
                {"run_id": self.run_id, "now": _now(), **result.summary()},
            )
        return result


def _superseded(con: duckdb.DuckDBPyConnection) -> set[str]:
    return _with_status(con, STATUS_SUPERSEDED)
