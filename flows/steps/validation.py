"""Staging chunks of files in the isolated workers, validating them, quarantining the files
with issues, and saying what became of each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from kokuho.config import Settings

if TYPE_CHECKING:
    from extract.model import ExtractedWorkbook
    from kokuho.catalog import Catalog
    from transform.batch import StagingBatch
from flows.steps.model import FileOutcome, InboxFile, StagedChunk, StageResult
from kokuho.files import display_name, display_path, safe_text

T = TypeVar("T")


def stage_chunk(
    paths: list[Path],
    settings: Settings,
    *,
    workbooks: list[ExtractedWorkbook] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> StagedChunk:
    """Extract and stage a chunk of files, each against the catalog its cover claims (a mixed
    inbox of two years stages each year correctly). Both run in the isolated workers
    (transform.staging.stage_file as their step), unless `workbooks` are given (staged here)."""
    from extract.sandbox import WorkerStep, extract_files
    from load.memory import release_freed_memory
    from transform.staging import StagedBatchBuilder, stage_file

    survey = (settings.prefecture_code, settings.fiscal_year)
    builder = StagedBatchBuilder()
    read_sha256: dict[Path, str] = {}

    def add(index: int, staged: Any) -> None:
        read_sha256[paths[index]] = staged[0]
        builder.add(index, _displayable(staged, paths[index]))

    if workbooks is None:
        step = WorkerStep("transform.staging", "stage_file", args=survey, check="check_staged")
        # Rows become frames while the workers are still extracting (builder.add per result).
        extract_files(paths, on_progress=on_progress, on_result=add, step=step)
    else:
        for index, workbook in enumerate(workbooks):
            add(index, stage_file(workbook, *survey))
    batch, catalog_of = builder.finish()
    release_freed_memory(collect=False)  # the workers' rows, now Arrow, are garbage (no cycles)
    return StagedChunk(batch=batch, catalog_of=catalog_of, read_sha256=read_sha256)


def _displayable(staged: Any, path: Path) -> Any:
    """The staged rows of a file whose name or folder is not plain text (cp932 bytes, control
    characters): the raw name becomes its display form in every text value (file name, path,
    messages), so nothing written to DuckDB, Excel or CSV holds invalid text."""
    raw = str(path)
    if display_path(path) == raw and safe_text(raw) == raw:
        return staged
    replacements = [(raw, display_path(path)), (path.name, display_name(path.name))]

    def clean(value: object) -> object:
        if not isinstance(value, str):
            return value
        for old, new in replacements:
            value = value.replace(old, new)
        return safe_text(value)

    sha256, survey_id, tables = staged
    return sha256, survey_id, tuple([tuple(map(clean, row)) for row in rows] for rows in tables)


def validate_staged(
    files: list[InboxFile],
    chunks: list[StagedChunk],
    settings: Settings,
    *,
    write_quarantine: bool = True,
    validate: bool = True,
    build_docs: bool = True,
    quarantine_dir: Path | None = None,
    data_docs: bool = True,
) -> StageResult:
    """Validate all staged rows (once per survey, over every file of the batch), quarantine the
    files with any issue, and say what became of each file. With `build_docs=False` the Data
    Docs are left for `build_data_docs(settings, result.docs_run_times)`; with `data_docs=False`
    there are none (nothing is written for them). `quarantine_dir` overrides the settings'."""
    batch, catalog_of, dropped = _unchanged_since_scan(files, chunks)
    catalogs = _catalogs_of(catalog_of)
    docs_index: Path | None = None
    docs_run_times: list[datetime] = []
    if validate:
        docs_index, docs_run_times = _validate_per_survey(
            batch, catalog_of, catalogs, settings, build_docs=build_docs, data_docs=data_docs
        )
    issues = batch.issues
    failed = set(issues["sha256"].dropna().unique())
    issues_by_file = {sha: frame for sha, frame in issues.groupby("sha256", dropna=True)}
    cover = _cover_of(batch)
    target = quarantine_dir or settings.quarantine_dir
    outcomes: list[FileOutcome] = []
    for file in files:
        file_issues = issues_by_file.get(file.sha256, issues.iloc[0:0])
        outcome = _outcome_of(file, file_issues, failed, cover)
        if file.sha256 not in dropped and outcome.status == "quarantined" and write_quarantine:
            catalog = catalogs.get(catalog_of.get(file.sha256, ""))
            _quarantine(file, file_issues, outcome, target, dropped, catalog)
        if file.sha256 in dropped:
            outcome.status = "skipped"
            outcome.reason_code, outcome.reason = dropped[file.sha256]
        outcomes.append(outcome)
    if dropped:
        batch = _without(batch, set(dropped))
        failed -= set(dropped)
    return StageResult(
        batch=batch,
        failed=failed,
        outcomes=outcomes,
        catalogs=list(catalogs.values()),
        data_docs_index=docs_index,
        docs_run_times=docs_run_times,
        dropped=dropped,
    )


def _unchanged_since_scan(
    files: list[InboxFile], chunks: list[StagedChunk]
) -> tuple[StagingBatch, dict[str, str], dict[str, tuple[str, str]]]:
    """The chunks' rows as one batch, and the survey each file was staged against, without the
    files that changed since the scan (returned as dropped, sha256 -> (code, reason))."""
    from transform.batch import StagingBatch

    batch = StagingBatch.concat([c.batch for c in chunks])
    catalog_of = {sha: sid for c in chunks for sha, sid in c.catalog_of.items()}
    # A file whose bytes, as the worker read them, are not those the scan hashed was being
    # written (or was replaced or removed): it is not loaded, and the next run sees it again.
    read_sha256 = {path: sha for c in chunks for path, sha in c.read_sha256.items()}
    dropped: dict[str, tuple[str, str]] = {}
    stray: set[str] = set()
    for file in files:
        read = read_sha256.get(file.path, file.sha256)
        if read != file.sha256:
            dropped[file.sha256] = _skip_reason("FILE_CHANGING", file)
            stray.add(read)  # "" when the worker could read nothing
    if dropped:
        batch = _without(batch, stray, names={f.name for f in files if f.sha256 in dropped})
        catalog_of = {sha: sid for sha, sid in catalog_of.items() if sha not in stray}
    return batch, catalog_of, dropped


def _catalogs_of(catalog_of: dict[str, str]) -> dict[str, Catalog]:
    """The catalog of every survey the files were staged against, by survey_id."""
    from kokuho.catalog import load_catalog_for

    catalogs = {}
    for survey_id in sorted(set(catalog_of.values())):
        prefecture_code, year, _ = survey_id.split("-", 2)
        catalogs[survey_id] = load_catalog_for(prefecture_code, int(year))
    return catalogs


def _validate_per_survey(
    batch: StagingBatch,
    catalog_of: dict[str, str],
    catalogs: dict[str, Catalog],
    settings: Settings,
    *,
    build_docs: bool,
    data_docs: bool,
) -> tuple[Path | None, list[datetime]]:
    """Validate each survey's files against its catalog; their issues join the batch's (in
    place). Returns the Data Docs index and the validated runs' times."""
    from expectations.validate import validate_batch
    from transform.batch import StagingBatch

    docs_index: Path | None = None
    docs_run_times: list[datetime] = []
    found = [batch.issues]
    for survey_id, catalog in catalogs.items():
        if len(catalogs) == 1:
            part = batch  # every file was staged against this catalog: nothing to split
        else:
            members = {sha for sha, sid in catalog_of.items() if sid == survey_id}
            part = StagingBatch(
                **{
                    attr: frame[frame["sha256"].isin(members)].reset_index(drop=True)
                    for attr, frame in vars(batch).items()
                }
            )
        validated = validate_batch(
            part,
            catalog,
            data_docs_dir=settings.data_docs_dir if data_docs else None,
            build_docs=build_docs,
        )
        found.append(validated.issues)
        docs_index = validated.data_docs_index or docs_index
        if validated.docs_run_time is not None:
            docs_run_times.append(validated.docs_run_time)
    batch.issues = pd.concat(found, ignore_index=True)
    return docs_index, docs_run_times


def _cover_of(batch: StagingBatch) -> dict[str, tuple[Any, Any, Any]]:
    """sha256 -> (municipality code, name, fiscal year) from each file's cover."""
    # Plain dicts, not a pandas lookup per file (slow at national scale).
    submissions = batch.submissions.drop_duplicates("sha256")
    return dict(
        zip(
            submissions["sha256"],
            zip(
                *(
                    submissions[c].to_numpy(dtype=object, na_value=None)
                    for c in ("municipality_code", "municipality_name", "fiscal_year")
                ),
                strict=True,
            ),
            strict=True,
        )
    )


def _outcome_of(
    file: InboxFile,
    file_issues: pd.DataFrame,
    failed: set[str],
    cover: dict[str, tuple[Any, Any, Any]],
) -> FileOutcome:
    """The file's outcome as validated: accepted or quarantined, with its issues and cover."""
    outcome = FileOutcome(
        file_name=file.name or display_name(file.path.name),
        path=file.path,
        sha256=file.sha256,
        status="quarantined" if file.sha256 in failed else "accepted",
        issues=[_clean(row) for row in file_issues.to_dict("records")] if len(file_issues) else [],
    )
    if file.sha256 in cover:
        code, name, year = cover[file.sha256]
        outcome.municipality_code = _none(code)
        outcome.municipality_name = _none(name)
        fiscal_year = _none(year)
        outcome.fiscal_year = int(fiscal_year) if fiscal_year is not None else None
    return outcome


def _quarantine(
    file: InboxFile,
    file_issues: pd.DataFrame,
    outcome: FileOutcome,
    target: Path,
    dropped: dict[str, tuple[str, str]],
    catalog: Catalog | None = None,
) -> None:
    """Set the file aside with its issues; when that fails, it joins `dropped` with why. With
    the file's catalog, the annotated copy names the measure or item of each marked row."""
    from load.quarantine import write_quarantine as write_quarantine_dir

    try:
        record = write_quarantine_dir(file.path, file_issues, target, catalog=catalog)
        outcome.quarantine_dir = Path(getattr(record, "directory", target))
    except Exception as exc:  # a full disk, a vanished file: this file's reason, retried next run
        detail = f"{type(exc).__name__}: {safe_text(str(exc))}"
        dropped[file.sha256] = _skip_reason("QUARANTINE_FAILED", file, detail=detail)


def _skip_reason(code: str, file: InboxFile, **fields: object) -> tuple[str, str]:
    from kokuho.codelists import skip_reason

    return code, skip_reason(code, name=file.name, **fields)


def _without(
    batch: StagingBatch, shas: set[str], names: set[str] | frozenset[str] = frozenset()
) -> StagingBatch:
    """The batch without the rows of these files (and the issues, without sha256, of files
    that could not be read at all under these names)."""
    from transform.batch import StagingBatch

    def keep(frame: pd.DataFrame) -> pd.Series:
        mask = ~frame["sha256"].isin(shas)
        if names and "file_name" in frame:
            mask &= ~(frame["sha256"].isna() & frame["file_name"].isin(names))
        return mask

    return StagingBatch(
        **{attr: frame[keep(frame)].reset_index(drop=True) for attr, frame in vars(batch).items()}
    )


def build_data_docs(settings: Settings, run_times: list[datetime]) -> Path | None:
    """Render the Data Docs of runs validated with build_docs=False; None when there were none."""
    if not run_times:
        return None
    from expectations.validate import build_docs_for

    return build_docs_for(settings.data_docs_dir, run_times)


def stage_files(
    files: list[InboxFile],
    settings: Settings,
    *,
    workbooks: list[ExtractedWorkbook] | None = None,
    write_quarantine: bool = True,
    validate: bool = True,
    quarantine_dir: Path | None = None,
    data_docs: bool = True,
) -> StageResult:
    """Extract (unless `workbooks` are given), stage, validate and quarantine a set of files."""
    chunk = stage_chunk([f.path for f in files], settings, workbooks=workbooks)
    return validate_staged(
        files,
        [chunk],
        settings,
        write_quarantine=write_quarantine,
        validate=validate,
        quarantine_dir=quarantine_dir,
        data_docs=data_docs,
    )


def without_rows(result: StageResult) -> StageResult:
    """The result without its staged rows (once loaded): what the run summary needs of a chunk."""
    from transform.batch import StagingBatch

    # A new empty batch: an empty slice of the chunk's frames would keep their data alive.
    return replace(result, batch=StagingBatch.empty())


def merge_results(results: list[StageResult], files: Sequence[InboxFile] | None = None) -> StageResult:
    """The chunks' results as one, as one batch of all the files gives them: outcomes in the order
    of `files` (the scan's; chunks may group a folder's files), else in chunk order."""
    from transform.batch import StagingBatch

    catalogs: dict[str, Catalog] = {}
    for result in results:
        for catalog in result.catalogs:
            catalogs.setdefault(catalog.survey_id, catalog)
    docs = [r.data_docs_index for r in results if r.data_docs_index is not None]
    return StageResult(
        batch=StagingBatch.concat([r.batch for r in results]),
        failed=set().union(*(r.failed for r in results)),
        outcomes=_in_order([o for r in results for o in r.outcomes], files),
        catalogs=list(catalogs.values()),
        data_docs_index=docs[-1] if docs else None,
        dropped={sha: why for r in results for sha, why in r.dropped.items()},
        docs_run_times=[t for r in results for t in r.docs_run_times],
    )


def _in_order(outcomes: list[FileOutcome], files: Sequence[InboxFile] | None) -> list[FileOutcome]:
    if files is None:
        return outcomes
    position = {(f.path, f.sha256): n for n, f in enumerate(files)}
    return sorted(outcomes, key=lambda o: position.get((o.path, o.sha256), len(position)))


def _none(value: T) -> T | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _clean(row: dict[str, object]) -> dict[str, object]:
    return {k: _none(v) for k, v in row.items()}


def mark_superseded_within(outcomes: list[FileOutcome], received: dict[str, float]) -> None:
    """Among accepted files of the same municipality and year, all but the latest are superseded
    (transform.resubmission decides, as for the warehouse)."""
    from transform.resubmission import resolve_resubmissions

    incoming = pd.DataFrame(
        {
            "sha256": [o.sha256 for o in outcomes],
            "file_name": [o.file_name for o in outcomes],
            "municipality_code": [o.municipality_code for o in outcomes],
            "survey_id": [None if o.fiscal_year is None else str(o.fiscal_year) for o in outcomes],
            "received_at": [received[o.sha256] for o in outcomes],
            "status": [o.status for o in outcomes],
        }
    )
    resolution = resolve_resubmissions(incoming.iloc[0:0], incoming)
    status = dict(zip(resolution.submissions["sha256"], resolution.submissions["status"], strict=True))
    for outcome in outcomes:
        outcome.status = status[outcome.sha256]
