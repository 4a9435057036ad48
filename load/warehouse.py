"""The DuckDB warehouse: idempotent loads of staging batches (the catalog sync is in
load.catalog_sync, the runs and their inbox entries in load.runs).

Every table, view and load step is one file in load/sql/ (tables/, views/, steps/ …; see
load.sql_files). A load runs in one transaction; `load_batch` given a path also publishes atomically (see
load.publish), so readers never see half a load and a killed run changes nothing.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd

from kokuho.catalog import Catalog
from kokuho.codelists import STATUS_ACCEPTED, STATUS_QUARANTINED, STATUS_SUPERSEDED, issue_hint, issue_message
from load.catalog_sync import sync_catalog, sync_municipalities
from load.memory import load_memory_limit, on_connection_within_bounds
from load.publish import connect_readonly, open_for_write, resolve_db_path
from load.runs import ENTRY_COLUMNS as ENTRY_COLUMNS
from load.runs import _entry_frame, record_entries
from load.runs import finish_run as finish_run
from load.runs import run_entries as run_entries
from load.runs import start_run as start_run
from load.schema import ensure_schema, schema_is_ready
from load.sql_files import sql
from load.statements import _execute, _now, _run_with_frames, transaction
from transform.batch import StagingBatch, conform

if TYPE_CHECKING:
    from kokuho.config import Settings

# The batch's answers: each insert takes them row by row (steps/insert_responses and the like), so
# they are inserted a part at a time (load.statements._run_with_frames).
ANSWER_FRAMES = ("stg_responses", "stg_own_initiatives", "stg_numeric_targets", "stg_item_values")


@dataclass
class LoadResult:
    run_id: str
    files_seen: int = 0  # distinct files in the batch (by sha256, plus unreadable ones)
    accepted: list[str] = field(default_factory=list)  # sha256 of new files now current
    superseded: list[str] = field(default_factory=list)  # sha256 of files superseded by this load
    quarantined: list[str] = field(default_factory=list)  # sha256 of new files set aside
    skipped: list[str] = field(default_factory=list)  # sha256 already in the warehouse
    unreadable: list[str] = field(default_factory=list)  # file names of files without a sha256
    db_path: Path | None = None  # the published file, when load_batch published

    def summary(self) -> dict[str, int]:
        """The counts recorded in the runs table."""
        return {
            "files_seen": self.files_seen,
            "accepted": len(self.accepted),
            "quarantined": len(self.quarantined) + len(self.unreadable),
            "superseded": len(self.superseded),
            "skipped": len(self.skipped),
        }


def known_sha256(target: Settings | str | os.PathLike[str] | duckdb.DuckDBPyConnection) -> set[str]:
    """sha256 of every file already in the warehouse (any status); empty when there is no warehouse."""
    if isinstance(target, duckdb.DuckDBPyConnection):
        return _known(target)
    db_path = resolve_db_path(target)
    if not db_path.is_file():
        return set()
    con = connect_readonly(db_path)
    try:
        tables = {r[0] for r in con.execute(sql("queries/table_names")).fetchall()}
        return _known(con) if "submissions" in tables else set()
    finally:
        con.close()


def _known(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(sql("queries/submission_sha256s")).fetchall()}


@dataclass(frozen=True)
class _SurveyInfo:
    prefecture_code: str
    measure_ids: frozenset[str]


def _surveys(con: duckdb.DuckDBPyConnection) -> dict[str, _SurveyInfo]:
    rows = con.execute(sql("queries/survey_measures")).fetchall()
    return {survey_id: _SurveyInfo(pref, frozenset(ids or ())) for survey_id, pref, ids in rows}


def _guard_issues(
    batch: StagingBatch, quarantined: set[str], surveys: dict[str, _SurveyInfo]
) -> pd.DataFrame:
    """Issues for valid-looking files that would break the warehouse's invariants (no or unknown
    municipality, one of another prefecture, a survey without catalog, an unknown answer or measure).
    Transform and validation should have caught them; quarantining here keeps one bad file from
    failing the whole run."""
    rows = _submission_guards(batch, quarantined, surveys)
    guarded = quarantined | {str(r["sha256"]) for r in rows}
    rows += _answer_guards(batch, guarded, surveys)
    return conform(pd.DataFrame(rows), "file_issues")


def _guard_row(
    code: str, file: str, sha: str, sheet: object, cell: object, value: object, detail: str
) -> dict[str, object]:
    sheet, cell, value = (None if pd.isna(v) else v for v in (sheet, cell, value))
    return {
        "file_name": file,
        "sha256": sha,
        "sheet": sheet,
        "cell": cell,
        "value": value,
        "code": code,
        "rule": "load_guard",
        "message": issue_message(code, file=file, sheet=sheet, cell=cell, value=value, detail=detail),
        "hint": issue_hint(code),
        "stage": "load",
    }


def _submission_guards(
    batch: StagingBatch, quarantined: set[str], surveys: dict[str, _SurveyInfo]
) -> list[dict[str, object]]:
    """A file's municipality and survey: known, with a catalog, in the survey's area."""
    from kokuho.municipalities import by_code, in_survey_area

    municipalities = by_code()
    rows: list[dict[str, object]] = []
    columns = ("file_name", "sha256", "sheet", "cell", "municipality_code", "survey_id")
    subs = batch.submissions
    for file, sha, sheet, cell, code, survey in zip(
        *(subs[c].to_numpy(dtype=object, na_value=None) for c in columns), strict=True
    ):
        if sha in quarantined:
            continue
        code = None if code is None else str(code)
        survey = None if survey is None else str(survey)
        where = (file, sha, sheet, cell)
        if code is None:
            rows.append(_guard_row("MUNICIPALITY_CODE_INVALID", *where, None, "コードなし"))
        elif code not in municipalities:
            rows.append(_guard_row("MUNICIPALITY_UNKNOWN", *where, code, ""))
        elif survey is None or survey not in surveys:
            rows.append(
                _guard_row("WRONG_SURVEY", *where, survey, f"調査 {survey} のカタログが読み込まれていません")
            )
        elif not in_survey_area(municipalities[code], surveys[survey].prefecture_code):
            rows.append(_guard_row("MUNICIPALITY_OTHER_PREFECTURE", *where, code, f"調査 {survey}"))
    return rows


def _answer_guards(
    batch: StagingBatch, guarded: set[str], surveys: dict[str, _SurveyInfo]
) -> list[dict[str, object]]:
    """Each answer of the files not yet guarded: a known answer to a measure of its survey."""
    # Vectorised (column masks, no row loop), since a national batch has hundreds of
    # thousands of rows.
    rows: list[dict[str, object]] = []
    survey_of = dict(zip(batch.submissions["sha256"], batch.submissions["survey_id"], strict=True))
    members: dict[str, set[str]] = {}
    for sha, survey in survey_of.items():
        if sha not in guarded and isinstance(survey, str):
            members.setdefault(survey, set()).add(sha)
    responses = batch.responses
    sha256 = responses["sha256"]
    loadable = set(survey_of) - guarded
    considered = sha256.isin(loadable).to_numpy(dtype=bool, na_value=False)
    unknown_answer = responses["implemented"].isna().to_numpy(dtype=bool)
    known_measure = np.zeros(len(responses), dtype=bool)
    for survey, shas in members.items():
        if survey in surveys:
            in_survey = (
                considered if shas == loadable else sha256.isin(shas).to_numpy(dtype=bool, na_value=False)
            )
            known = (
                responses["measure_id"].isin(surveys[survey].measure_ids).to_numpy(dtype=bool, na_value=False)
            )
            known_measure |= in_survey & known
    bad = considered & (unknown_answer | ~known_measure)
    candidates = responses[bad] if bad.any() else responses.iloc[0:0]
    unknown_answer = unknown_answer[bad]
    for resp, unknown in zip(candidates.itertuples(index=False), unknown_answer, strict=True):
        if unknown:
            rows.append(
                _guard_row(
                    "UNKNOWN_ANSWER", resp.file_name, resp.sha256, resp.sheet, resp.cell, resp.answer_raw, ""
                )
            )
        else:
            rows.append(
                _guard_row(
                    "UNKNOWN_MEASURE", resp.file_name, resp.sha256, resp.sheet, resp.cell, resp.measure_id, ""
                )
            )
    return rows


def load_batch(
    target: Settings | str | os.PathLike[str] | duckdb.DuckDBPyConnection,
    batch: StagingBatch,
    *,
    failed_sha256: set[str] | frozenset[str] = frozenset(),
    catalogs: list[Catalog],
    run_id: str,
    entries: pd.DataFrame | None = None,
    survey: tuple[str, int] | None = None,
    record: bool = True,
) -> LoadResult:
    """Load one staging batch in one transaction.

    - A file (sha256) already in the warehouse is skipped: loading the same files again changes nothing.
    - A file in `failed_sha256` or with any row in batch.issues is quarantined: a submission row with
      its reasons and its issues, no answers.
    - Other files get their answers loaded; then, per municipality and survey, the latest received
      valid file is 'accepted' and earlier ones 'superseded' (views count only accepted files).
    - `catalogs` are synced first (surveys, measures, tables, numeric target items). A valid file of a
      survey the warehouse has no catalog for, without municipality, or with an unknown answer or
      measure is quarantined too (stage 'load').

    `entries` (ENTRY_COLUMNS) are the run's inbox entries: they fill the received time and the
    name's municipality of files that could not be read, and are recorded in inbox_entries with
    their final state. `survey` (prefecture code, fiscal year) is the run's survey, which such
    files count for.

    `target` is a connection from load.publish.open_for_write, or the published database path (or
    Settings), in which case the load runs on a working copy that is published atomically.

    With `record=False` the run's counts and its inbox entries are left to the caller: one chunk of
    a run loaded chunk by chunk (load.chunked), which records them once, for the whole run.
    """
    load = functools.partial(
        _load_in_transaction,
        batch=batch,
        failed_sha256=failed_sha256,
        catalogs=catalogs,
        run_id=run_id,
        entries=entries,
        survey=survey,
        record=record,
    )
    if not isinstance(target, duckdb.DuckDBPyConnection):
        with open_for_write(target, run_id=run_id) as con:
            result = _within_memory_bounds(con, load)
        result.db_path = resolve_db_path(target)
        return result
    return _within_memory_bounds(target, load)


def _within_memory_bounds(
    con: duckdb.DuckDBPyConnection, load: Callable[[duckdb.DuckDBPyConnection], LoadResult]
) -> LoadResult:
    """`load(con)`; a load that runs out of memory within KOKUHO_LOAD_MEMORY is rolled back and run
    again within a larger bound, at last within DuckDB's own (load.memory.on_connection_within_bounds).
    The connection was opened within KOKUHO_LOAD_MEMORY (load.publish) and is given it back after."""
    return on_connection_within_bounds(con, load_memory_limit(), load)


def _load_in_transaction(
    con: duckdb.DuckDBPyConnection,
    batch: StagingBatch,
    *,
    failed_sha256: set[str] | frozenset[str],
    catalogs: list[Catalog],
    run_id: str,
    entries: pd.DataFrame | None,
    survey: tuple[str, int] | None,
    record: bool,
) -> LoadResult:
    now = _now()
    with transaction(con):
        if not schema_is_ready(con):
            ensure_schema(con)
        sync_municipalities(con)
        for catalog in catalogs:
            sync_catalog(con, catalog)

        issues, quarantined = _issues_and_quarantined(con, batch, failed_sha256)

        batch_sha = set(batch.submissions["sha256"].dropna()) | set(issues["sha256"].dropna())
        known = _known(con) & batch_sha
        new = sorted(batch_sha - known)
        load_files = pd.DataFrame(
            {"sha256": pd.array(new, dtype="string"), "quarantined": [s in quarantined for s in new]}
        )
        superseded_before = _with_status(con, STATUS_SUPERSEDED)
        _insert_batch(con, batch, issues, load_files, entries, run_id=run_id, now=now, survey=survey)
        con.execute(sql("steps/resolve_resubmissions"))
        if entries is not None and record:
            record_entries(con, entries, run_id)
        unreadable = sorted(set(issues.loc[issues["sha256"].isna(), "file_name"].dropna()))
        result = LoadResult(
            run_id=run_id,
            files_seen=len(batch_sha) + len(unreadable),
            accepted=sorted(_with_status(con, STATUS_ACCEPTED) & set(new)),
            superseded=sorted(_with_status(con, STATUS_SUPERSEDED) - superseded_before),
            quarantined=sorted(_with_status(con, STATUS_QUARANTINED) & set(new)),
            skipped=sorted(known),
            unreadable=unreadable,
        )
        if record:
            _execute(con, sql("steps/record_run_load"), {"run_id": run_id, "now": now, **result.summary()})
    return result


def _issues_and_quarantined(
    con: duckdb.DuckDBPyConnection, batch: StagingBatch, failed_sha256: set[str] | frozenset[str]
) -> tuple[pd.DataFrame, set[str]]:
    """The batch's issues with the load's own guards added (numbered), and the files they quarantine."""
    issues = batch.issues
    quarantined = set(failed_sha256) | set(issues["sha256"].dropna())
    guard = _guard_issues(batch, quarantined, _surveys(con))
    if len(guard):
        issues = conform(pd.concat([issues, guard], ignore_index=True), "file_issues")
        quarantined |= set(guard["sha256"].dropna())
    return issues.assign(issue_no=range(len(issues))), quarantined


def _insert_batch(
    con: duckdb.DuckDBPyConnection,
    batch: StagingBatch,
    issues: pd.DataFrame,
    load_files: pd.DataFrame,
    entries: pd.DataFrame | None,
    *,
    run_id: str,
    now: datetime,
    survey: tuple[str, int] | None,
) -> None:
    """Insert the new files' submissions, issues and rows (their answers only when not quarantined)."""
    _run_with_frames(
        con,
        (
            "steps/insert_submissions",
            "steps/insert_file_issues",
            "steps/insert_responses",
            "steps/insert_own_initiatives",
            "steps/insert_numeric_targets",
            "steps/insert_item_values",
        ),
        {
            "load_files": load_files,
            "stg_submissions": batch.submissions,
            "stg_responses": _first_per_key(_with_not_applicable(batch.responses), ["sha256", "measure_id"]),
            "stg_own_initiatives": _first_per_key(batch.own_initiatives, ["sha256", "table_id", "position"]),
            "stg_numeric_targets": _first_per_key(
                batch.numeric_targets, ["sha256", "target_id", "target_year"]
            ),
            "stg_item_values": _first_per_key(_item_values(batch), ["sha256", "item_id", "value_year"]),
            "stg_file_issues": issues,
            "stg_inbox_entries": _entry_frame(entries),
        },
        {
            "run_id": run_id,
            "processed_at": now,
            "prefecture_code": survey[0] if survey else None,
            "fiscal_year": survey[1] if survey else None,
        },
        row_wise=ANSWER_FRAMES,
    )


def _with_not_applicable(responses: pd.DataFrame) -> pd.DataFrame:
    """stg_responses with its not_applicable (該当なし) column: false when staging does not read it."""
    if "not_applicable" in responses.columns:
        return responses
    return responses.assign(not_applicable=pd.array([False] * len(responses), dtype="boolean"))


def _item_values(batch: StagingBatch) -> pd.DataFrame:
    """The batch's typed item cells (stg_item_values), empty for a batch that carries none."""
    from transform.batch import empty_frame

    values = getattr(batch, "item_values", None)
    return empty_frame("stg_item_values") if values is None else values


def _first_per_key(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """The first row (by file name, then worksheet row) of each key of the table's grain.

    A key repeats only when a batch holds the same file twice or a file validation quarantines
    anyway: checking is cheap, whereas deduplicating in SQL sorted every row of a national batch
    (docs/benchmark.md)."""
    if not frame.duplicated(subset=key).any():
        return frame
    ordered = frame.sort_values(["file_name", "row_no"], kind="stable", na_position="last")
    return ordered.drop_duplicates(subset=key, keep="first").sort_index()


def _with_status(con: duckdb.DuckDBPyConnection, status: str) -> set[str]:
    return {r[0] for r in con.execute(sql("queries/sha256s_with_status"), {"status": status}).fetchall()}
