"""The runs table and each run's inbox entries."""

from __future__ import annotations

import os
from datetime import datetime
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from kokuho.codelists import STATUS_QUARANTINED
from load.publish import open_for_write
from load.sql_files import sql
from load.statements import _now, _run_with_frames

if TYPE_CHECKING:
    from kokuho.config import Settings


# --- inbox accounting ---------------------------------------------------------------------------

# The columns of a run's inbox entries as flows.steps builds them. `state` is "skipped" (with
# reason_code, reason) for entries decided before the load; NULL for files handed to the load,
# whose state record_entries reads from submissions.
ENTRY_COLUMNS: dict[str, str] = {
    "entry_no": "int64",
    "path": "string",
    "file_path": "string",
    "file_name": "string",
    "name_hex": "string",
    "sha256": "string",
    "file_size": "Int64",
    "received_at": "datetime64[us, UTC]",
    "state": "string",
    "reason_code": "string",
    "reason": "string",
    "duplicate_of": "string",
    "processed_run_id": "string",
    "name_municipality_code": "string",
    "municipality_code": "string",
}


def _entry_frame(entries: pd.DataFrame | None) -> pd.DataFrame:
    frame = pd.DataFrame(columns=list(ENTRY_COLUMNS)) if entries is None else entries
    for column in ENTRY_COLUMNS:
        if column not in frame:
            frame = frame.assign(**{column: None})
    return frame[list(ENTRY_COLUMNS)].astype(ENTRY_COLUMNS)


def record_entries(con: duckdb.DuckDBPyConnection, entries: pd.DataFrame, run_id: str) -> None:
    """Record the run's inbox entries, each in its final state: a file loaded by this run has its
    submission's status (a quarantined one its first issue); the bytes of a file processed by an
    earlier run are skipped as already processed (naming that file and run)."""
    from kokuho.codelists import skip_reason

    frame = _entry_frame(entries).reset_index(drop=True)
    open_rows = frame["state"].isna()
    shas = sorted(set(frame.loc[open_rows, "sha256"].dropna()))
    rows = con.execute(sql("queries/inbox_submissions"), {"sha256s": shas}).fetchall() if shas else []
    held = pd.DataFrame(
        rows,
        columns=["sha256", "held_name", "held_run", "held_status", "first_code", "first_reason", "cover"],
    ).astype(object)
    found = frame[["sha256"]].astype(object).merge(held, on="sha256", how="left")
    held_run = found["held_run"]
    this_run = open_rows & held_run.eq(run_id).to_numpy(dtype=bool)
    earlier = open_rows & held_run.notna().to_numpy(dtype=bool) & ~this_run
    lost = open_rows & ~this_run & ~earlier  # handed to the load but not in it (should not happen)
    frame["processed_run_id"] = frame["processed_run_id"].where(~open_rows, held_run.astype("string"))
    frame["municipality_code"] = frame["municipality_code"].fillna(
        found["cover"].where(open_rows.to_numpy()).astype("string")
    )
    frame.loc[this_run, "state"] = found.loc[this_run, "held_status"].astype("string")
    quarantined = this_run & found["held_status"].eq(STATUS_QUARANTINED).to_numpy(dtype=bool)
    frame.loc[quarantined, "reason_code"] = found.loc[quarantined, "first_code"].astype("string")
    frame.loc[quarantined, "reason"] = found.loc[quarantined, "first_reason"].astype("string")
    frame.loc[earlier, ["state", "reason_code"]] = ["skipped", "ALREADY_PROCESSED"]
    frame.loc[earlier, "duplicate_of"] = found.loc[earlier, "held_name"].astype("string")
    frame.loc[earlier, "reason"] = [
        skip_reason("ALREADY_PROCESSED", other=name, run=run)
        for name, run in zip(found.loc[earlier, "held_name"], held_run[earlier], strict=True)
    ]
    frame.loc[lost, ["state", "reason_code", "reason"]] = [
        "skipped",
        "UNREADABLE_FILE",
        skip_reason("UNREADABLE_FILE", detail="取込対象から外れました"),
    ]
    _run_with_frames(con, "steps/insert_inbox_entries", {"stg_inbox_entries": frame}, {"run_id": run_id})


# --- runs ---------------------------------------------------------------------------------------


def start_run(
    target: Settings | str | os.PathLike[str] | duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    started_at: datetime | None = None,
) -> None:
    """Record that a run started (status 'running'). Given a path, publishes at once."""
    if not isinstance(target, duckdb.DuckDBPyConnection):
        with open_for_write(target, run_id=run_id) as con:
            start_run(con, run_id, started_at=started_at)
        return
    target.execute(sql("steps/start_run"), {"run_id": run_id, "now": started_at or _now()})


def finish_run(
    target: Settings | str | os.PathLike[str] | duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    status: str = "succeeded",
    skipped: int = 0,
    finished_at: datetime | None = None,
) -> None:
    """Record the end of a run ('succeeded' or 'failed'); `skipped` adds files the run skipped before
    loading (already known sha256) to its counts. Given a path, publishes at once."""
    if not isinstance(target, duckdb.DuckDBPyConnection):
        with open_for_write(target, run_id=run_id) as con:
            finish_run(con, run_id, status=status, skipped=skipped, finished_at=finished_at)
        return
    target.execute(
        sql("steps/finish_run"),
        {"run_id": run_id, "now": finished_at or _now(), "skipped": skipped, "status": status},
    )


def run_entries(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, str, str | None, str | None]]:
    """(path, state, reason code, reason) of each inbox entry of a run, in scan order; empty for a
    database without the table."""
    tables = {r[0] for r in con.execute(sql("queries/table_names")).fetchall()}
    if "inbox_entries" not in tables:
        return []
    return [
        tuple(r[:4]) for r in con.execute(sql("queries/run_inbox_entries"), {"run_id": run_id}).fetchall()
    ]
