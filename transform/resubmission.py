"""Re-submissions: a later accepted file from the same municipality for the same survey
supersedes the earlier one. Both stay on record; the changed answers can be listed.

Pure pandas, no DuckDB: the warehouse loader passes what it holds and what just arrived.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from kokuho import codelists

__all__ = ["CHANGE_COLUMNS", "Resolution", "changed_answers", "received_order", "resolve_resubmissions"]

GROUP = ["municipality_code", "survey_id"]
# Files that passed validation; only these compete to be the municipality's answer.
_COMPETING = {codelists.STATUS_ACCEPTED, codelists.STATUS_SUPERSEDED}

CHANGE_COLUMNS = [
    "measure_id",
    "label",
    "old_answer",
    "old_budget_line",
    "new_answer",
    "new_budget_line",
    "change",  # changed / added / removed
]


@dataclass
class Resolution:
    # current ∪ incoming, one row per sha256 (current wins for the same bytes), with the resolved
    # `status` and `superseded_by` (sha256 of the file that replaced it; null otherwise).
    submissions: pd.DataFrame
    # One row per (municipality_code, survey_id) with an accepted file: sha256, file_name, received_at.
    latest: pd.DataFrame
    # Rows whose status is new or changed: sha256, file_name, municipality_code, survey_id,
    # old_status (null for an incoming file), status, superseded_by.
    changed: pd.DataFrame
    # Where the accepted file of a municipality changed: municipality_code, survey_id,
    # old_sha256 (null when there was none), new_sha256. Feed pairs to changed_answers().
    replacements: pd.DataFrame


def received_order(received_at: pd.Series, seen_at: pd.Series | float) -> pd.Series:
    """The time a file counts as received, in POSIX seconds: its modification time, except that one
    more than FUTURE_TOLERANCE_SECONDS past `seen_at` (the start of the run that first saw it)
    counts as `seen_at` itself, so a future date cannot win over later files."""
    received = _seconds(received_at)
    seen = (
        _seconds(seen_at)
        if isinstance(seen_at, pd.Series)
        else pd.Series(float(seen_at), index=received.index)
    )
    future = received > seen + codelists.FUTURE_TOLERANCE_SECONDS
    return received.where(~future.fillna(False), seen)


def _seconds(values: pd.Series) -> pd.Series:
    """POSIX seconds (float, NaN for missing) from floats or (time-zone aware) timestamps."""
    if pd.api.types.is_datetime64_any_dtype(values):
        utc = values.dt.tz_convert("UTC") if values.dt.tz is not None else values.dt.tz_localize("UTC")
        return (utc - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    converted = values.map(
        lambda v: np.nan if v is pd.NaT else v.timestamp() if isinstance(v, datetime) else v
    )
    return pd.to_numeric(converted, errors="coerce").astype("float64")


def resolve_resubmissions(
    current: pd.DataFrame, incoming: pd.DataFrame, *, run_started_at: float | datetime | None = None
) -> Resolution:
    """Decide per (municipality_code, survey_id) which accepted file is the latest.

    Both frames carry stg_submissions columns plus `status` (accepted / quarantined / superseded);
    `current` may carry `seen_at`, the start of the run that first saw each file. The order is the
    warehouse's (load/sql/steps/resolve_resubmissions.sql): a file of `incoming` (seen in this run,
    which started at `run_started_at`, default now) is newer than every file of `current`; files
    of `current` by `seen_at`; within one run by received_order() (the modification time, a future
    one counting as the run's start), then file name, then sha256. The latest becomes accepted and
    every other accepted or superseded file of the group superseded. Quarantined files and files
    without municipality or survey keep their status.
    """
    if run_started_at is None:
        run_started_at = time.time()
    elif isinstance(run_started_at, datetime):
        run_started_at = run_started_at.timestamp()
    combined = _combined(current, incoming, float(run_started_at))
    old_status = combined["status"].astype("string").where(combined["_origin"] == 0)
    previous_latest = _latest(combined[(combined["_origin"] == 0) & (combined["status"] == "accepted")])

    _mark_latest(combined)

    latest = _latest(combined[combined["status"] == codelists.STATUS_ACCEPTED])
    changed, replacements = _changes(combined, old_status, latest, previous_latest)

    return Resolution(
        submissions=combined.drop(columns=["_origin", "_seen", "_received"]).reset_index(drop=True),
        latest=latest.reset_index(drop=True),
        changed=changed.reset_index(drop=True),
        replacements=replacements.reset_index(drop=True),
    )


def _combined(current: pd.DataFrame, incoming: pd.DataFrame, run_started_at: float) -> pd.DataFrame:
    """Both frames as one (`_origin` 0 for current, 1 for incoming; a file once), with the
    columns the order needs: `_seen` (the run that first saw it) and `_received`."""
    current = current.copy()
    incoming = incoming.copy()
    current["_origin"] = 0
    incoming["_origin"] = 1
    frames = [f for f in (current, incoming) if len(f)]
    if frames:
        combined = pd.concat(frames, ignore_index=True)
    else:
        combined = pd.concat([current, incoming], ignore_index=True)
    for column in ("status", "superseded_by", "received_at", "file_name", "sha256", "seen_at", *GROUP):
        if column not in combined.columns:
            combined[column] = None
    combined = combined.drop_duplicates("sha256", keep="first").reset_index(drop=True)
    seen = _seconds(combined["seen_at"])
    # Files of this run were seen at its start; earlier files without a recorded run, before it.
    seen = seen.where(combined["_origin"] == 0, float(run_started_at)).fillna(-np.inf)
    combined["_seen"] = seen
    combined["_received"] = received_order(combined["received_at"], seen.replace(-np.inf, np.inf))
    return combined


def _mark_latest(combined: pd.DataFrame) -> None:
    """In place: per (municipality, survey), the latest competing file accepted, every other
    superseded by it."""
    competing = (
        combined["status"].isin(_COMPETING)
        & combined["municipality_code"].notna()
        & combined["survey_id"].notna()
    )
    ranked = combined[competing].sort_values(_ORDER, na_position="first", kind="stable")
    winners = ranked.groupby(GROUP, sort=False, dropna=True).tail(1)
    winner_of = {
        (row.municipality_code, row.survey_id): row.sha256
        for row in winners[[*GROUP, "sha256"]].itertuples(index=False)
    }

    status = combined["status"].astype("object").copy()
    superseded_by = combined["superseded_by"].astype("object").where(combined["superseded_by"].notna(), None)
    for idx in combined.index[competing]:
        winner = winner_of[(combined.at[idx, "municipality_code"], combined.at[idx, "survey_id"])]
        if combined.at[idx, "sha256"] == winner:
            status[idx] = codelists.STATUS_ACCEPTED
            superseded_by[idx] = None
        else:
            status[idx] = codelists.STATUS_SUPERSEDED
            superseded_by[idx] = winner
    combined["status"] = status.astype("string")
    combined["superseded_by"] = superseded_by.astype("string")


def _changes(
    combined: pd.DataFrame, old_status: pd.Series, latest: pd.DataFrame, previous_latest: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The files whose status changed (with the old one), and the groups whose latest file changed."""
    changed_mask = old_status.isna() | (old_status != combined["status"])
    changed = combined.loc[changed_mask, ["sha256", "file_name", *GROUP, "status", "superseded_by"]].assign(
        old_status=old_status[changed_mask].astype("string")
    )
    changed = changed[["sha256", "file_name", *GROUP, "old_status", "status", "superseded_by"]]

    merged = latest[[*GROUP, "sha256"]].merge(
        previous_latest[[*GROUP, "sha256"]], on=GROUP, how="left", suffixes=("_new", "_old")
    )
    replacements = merged[merged["sha256_new"] != merged["sha256_old"]].rename(
        columns={"sha256_new": "new_sha256", "sha256_old": "old_sha256"}
    )[[*GROUP, "old_sha256", "new_sha256"]]

    return changed, replacements


# Oldest first: the run that first saw the file, the time it counts as received, name, sha256.
_ORDER = ["_origin", "_seen", "_received", "file_name", "sha256"]


def _latest(frame: pd.DataFrame) -> pd.DataFrame:
    """The accepted file per group (the latest one if a frame still has several)."""
    columns = [*GROUP, "sha256", "file_name", "received_at"]
    frame = frame[frame["municipality_code"].notna() & frame["survey_id"].notna()]
    ordered = frame.sort_values(_ORDER, na_position="first", kind="stable")
    return ordered.groupby(GROUP, sort=True).tail(1)[columns].sort_values(GROUP)


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    """Null-safe equality (null == null)."""
    both_null = a.isna() & b.isna()
    equal = (a == b).fillna(False).astype(bool)
    return both_null | equal


def changed_answers(old_responses: pd.DataFrame, new_responses: pd.DataFrame) -> pd.DataFrame:
    """Measures whose answer or budget line differ between two submissions of one municipality.

    Inputs are stg_responses-shaped rows of one file each (measure_id, label, answer, budget_line).
    Returns CHANGE_COLUMNS: `change` is "changed", "added" (only in the new file) or "removed".
    """
    keep = ["measure_id", "label", "answer", "budget_line"]
    old = old_responses[keep].drop_duplicates("measure_id").astype("object")
    new = new_responses[keep].drop_duplicates("measure_id").astype("object")
    merged = old.merge(new, on="measure_id", how="outer", suffixes=("_old", "_new"), indicator=True)
    same = _same(merged["answer_old"], merged["answer_new"]) & _same(
        merged["budget_line_old"], merged["budget_line_new"]
    )
    merged = merged[(merged["_merge"] != "both") | ~same].copy()
    merged["change"] = merged["_merge"].map(
        {"both": "changed", "right_only": "added", "left_only": "removed"}
    )
    merged["label"] = merged["label_new"].where(merged["label_new"].notna(), merged["label_old"])
    out = merged.rename(
        columns={
            "answer_old": "old_answer",
            "budget_line_old": "old_budget_line",
            "answer_new": "new_answer",
            "budget_line_new": "new_budget_line",
        }
    )[CHANGE_COLUMNS]
    out = out.astype({c: "string" for c in CHANGE_COLUMNS})
    return out.sort_values("measure_id", kind="stable").reset_index(drop=True)
