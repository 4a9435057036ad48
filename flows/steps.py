"""The pipeline's steps as plain functions (no Prefect here): the Prefect flow in flows/ingest.py
wraps them in tasks, and `kokuho check` calls them directly.

scan -> extract (isolated) -> stage (transform) -> validate (GX) -> quarantine -> load -> export
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kokuho.config import Settings
from kokuho.files import sha256_of

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb"}


@dataclass(frozen=True)
class InboxFile:
    path: Path
    sha256: str
    size: int
    mtime: float


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

    @property
    def first_message(self) -> str:
        return str(self.issues[0]["message"]) if self.issues else ""


@dataclass
class StageResult:
    batch: object  # transform.batch.StagingBatch (all rows, failing files included)
    failed: set[str]
    outcomes: list[FileOutcome]
    catalogs: list[object]  # kokuho.catalog.Catalog, one per survey seen
    data_docs_index: Path | None = None
    docs_run_times: list[object] = field(default_factory=list)  # validated, Data Docs not yet built


def scan_inbox(paths: Iterable[Path]) -> list[InboxFile]:
    """Every candidate file under the given files/folders, sorted by name, with its sha256.

    Every regular file counts (a CSV renamed .xlsx must be quarantined, not ignored); only Excel's
    own lock files (~$name.xlsx) and hidden files are skipped.
    """
    found: dict[Path, None] = {}
    for root in paths:
        root = Path(root)
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in candidates:
            name = path.name
            if name.startswith(("~$", ".")) or name == "manifest.json":
                continue
            found[path.resolve()] = None
    files = []
    for path in sorted(found, key=lambda p: (p.name, str(p))):
        stat = path.stat()
        files.append(InboxFile(path=path, sha256=sha256_of(path), size=stat.st_size, mtime=stat.st_mtime))
    return files


@dataclass
class StagedChunk:
    """A chunk of files extracted and staged (raw cells are dropped here: the staging tables are
    a fraction of their size, so a national batch stays within memory)."""

    batch: object  # transform.batch.StagingBatch
    catalog_of: dict[str, str]  # sha256 -> survey_id of the catalog the file was staged against


def stage_chunk(
    paths: list[Path],
    settings: Settings,
    *,
    workbooks: list[object] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> StagedChunk:
    """Extract and stage a chunk of files, each against the catalog its cover claims (a mixed
    inbox of two years stages each year correctly). Both run in the isolated workers
    (transform.staging.stage_file as their step), unless `workbooks` are given (staged here)."""
    from extract.sandbox import WorkerStep, extract_files
    from transform.staging import StagedBatchBuilder, stage_file

    survey = (settings.prefecture_code, settings.fiscal_year)
    builder = StagedBatchBuilder()
    if workbooks is None:
        step = WorkerStep("transform.staging", "stage_file", args=survey, check="check_staged")
        # Rows become frames while the workers are still extracting (builder.add per result).
        extract_files(paths, on_progress=on_progress, on_result=builder.add, step=step)
    else:
        for index, workbook in enumerate(workbooks):
            builder.add(index, stage_file(workbook, *survey))  # type: ignore[arg-type]
    batch, catalog_of = builder.finish()
    return StagedChunk(batch=batch, catalog_of=catalog_of)


def validate_staged(
    files: list[InboxFile],
    chunks: list[StagedChunk],
    settings: Settings,
    *,
    write_quarantine: bool = True,
    validate: bool = True,
    build_docs: bool = True,
) -> StageResult:
    """Validate all staged rows (once per survey, over every file of the batch), quarantine the
    files with any issue, and say what became of each file. With `build_docs=False` the Data
    Docs are left for `build_data_docs(settings, result.docs_run_times)`."""
    from expectations.validate import validate_batch
    from kokuho.catalog import load_catalog_for
    from load.quarantine import write_quarantine as write_quarantine_dir
    from transform.batch import StagingBatch

    batch = StagingBatch.concat([c.batch for c in chunks])
    catalog_of = {sha: sid for c in chunks for sha, sid in c.catalog_of.items()}
    catalogs = {}
    for survey_id in sorted(set(catalog_of.values())):
        prefecture_code, year, _ = survey_id.split("-", 2)
        catalogs[survey_id] = load_catalog_for(prefecture_code, int(year))
    docs_index: Path | None = None
    docs_run_times: list[object] = []
    if validate:
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
            outcome = validate_batch(
                part, catalog, data_docs_dir=settings.data_docs_dir, build_docs=build_docs
            )
            found.append(outcome.issues)
            docs_index = outcome.data_docs_index or docs_index
            if outcome.docs_run_time is not None:
                docs_run_times.append(outcome.docs_run_time)
        batch.issues = pd.concat(found, ignore_index=True)
    issues = batch.issues
    failed = set(issues["sha256"].dropna().unique())
    issues_by_file = {sha: frame for sha, frame in issues.groupby("sha256", dropna=True)}

    # Plain dicts, not a pandas lookup per file (0.8 s for a national batch).
    submissions = batch.submissions.drop_duplicates("sha256")
    cover = dict(
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
    outcomes: list[FileOutcome] = []
    for file in files:
        file_issues = issues_by_file.get(file.sha256, issues.iloc[0:0])
        outcome = FileOutcome(
            file_name=file.path.name,
            path=file.path,
            sha256=file.sha256,
            status="quarantined" if file.sha256 in failed else "accepted",
            issues=[_clean(row) for row in file_issues.to_dict("records")] if len(file_issues) else [],
        )
        if file.sha256 in cover:
            code, name, year = cover[file.sha256]
            outcome.municipality_code = _none(code)
            outcome.municipality_name = _none(name)
            year = _none(year)
            outcome.fiscal_year = int(year) if year is not None else None
        if outcome.status == "quarantined" and write_quarantine:
            record = write_quarantine_dir(file.path, file_issues, settings.quarantine_dir)
            outcome.quarantine_dir = Path(getattr(record, "directory", settings.quarantine_dir))
        outcomes.append(outcome)
    return StageResult(
        batch=batch,
        failed=failed,
        outcomes=outcomes,
        catalogs=list(catalogs.values()),
        data_docs_index=docs_index,
        docs_run_times=docs_run_times,
    )


def build_data_docs(settings: Settings, run_times: list[object]) -> Path | None:
    """Render the Data Docs of runs validated with build_docs=False; None when there were none."""
    if not run_times:
        return None
    from expectations.validate import build_docs_for

    return build_docs_for(settings.data_docs_dir, run_times)


def stage_files(
    files: list[InboxFile],
    settings: Settings,
    *,
    workbooks: list[object] | None = None,
    write_quarantine: bool = True,
    validate: bool = True,
) -> StageResult:
    """Extract (unless `workbooks` are given), stage, validate and quarantine a set of files."""
    chunk = stage_chunk([f.path for f in files], settings, workbooks=workbooks)
    return validate_staged(files, [chunk], settings, write_quarantine=write_quarantine, validate=validate)


def _none(value: object) -> object:
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


def format_outcomes(outcomes: list[FileOutcome]) -> str:
    """A plain-text verdict per file (for the terminal)."""
    labels = {"accepted": "受理", "quarantined": "差戻し", "superseded": "差替え済", "skipped": "処理済"}
    lines = []
    for o in outcomes:
        who = f"{o.municipality_code or '------'} {o.municipality_name or ''}".strip()
        lines.append(f"[{labels.get(o.status, o.status)}] {o.file_name}  ({who})")
        for issue in o.issues[:5]:
            lines.append(f"    {issue.get('code')}: {issue.get('message')}")
        if len(o.issues) > 5:
            lines.append(f"    …ほか {len(o.issues) - 5} 件")
        if o.quarantine_dir:
            lines.append(f"    → 保管先: {o.quarantine_dir}")
    return "\n".join(lines)


def check_main(argv: list[str]) -> int:
    """`kokuho check PATH...`: validate returned workbooks without loading anything."""
    parser = argparse.ArgumentParser(
        prog="kokuho check",
        description="返送された調査票を検証し、不備のあるファイルを理由付きで保管します（DBには取り込みません）。",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="file(s) or folder(s)")
    parser.add_argument("--prefecture", help="prefecture code (default KOKUHO_PREFECTURE or 11)")
    parser.add_argument("--year", type=int, help="survey fiscal year (default KOKUHO_YEAR or 2024)")
    parser.add_argument("--home", help="KOKUHO_HOME: where quarantine/ and data_docs/ go")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors and --help: return the code, as every <command>_main does
        return int(exc.code or 0)
    settings = Settings.resolve(home=args.home, prefecture_code=args.prefecture, fiscal_year=args.year)
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        print(f"kokuho check: ファイルがありません: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    files = scan_inbox(args.paths)
    result = stage_files(files, settings)
    mark_superseded_within(result.outcomes, {f.sha256: f.mtime for f in files})
    print(format_outcomes(result.outcomes))
    counts = pd.Series([o.status for o in result.outcomes]).value_counts().to_dict()
    print(
        f"\n{len(files)} files: accepted {counts.get('accepted', 0)}, "
        f"superseded {counts.get('superseded', 0)}, quarantined {counts.get('quarantined', 0)}"
    )
    if result.data_docs_index:
        print(f"Data Docs: {result.data_docs_index}")
    return 0


def known_files(settings: Settings) -> set[str]:
    """sha256 of every file the published warehouse already holds (for incremental runs)."""
    from load.warehouse import known_sha256

    return known_sha256(settings.db_path) if settings.db_path.exists() else set()


def load_and_publish(
    result: StageResult, skipped: int, settings: Settings, run_id: str, started_at: float
) -> object:
    """Load the staged batch into a working copy and publish it atomically (load.publish)."""
    from datetime import UTC, datetime

    from load.publish import open_for_write
    from load.warehouse import finish_run, load_batch, start_run

    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    with open_for_write(settings.db_path, run_id=run_id) as con:
        start_run(con, run_id, started_at=datetime.fromtimestamp(started_at, UTC))
        loaded = load_batch(
            con, result.batch, failed_sha256=result.failed, catalogs=result.catalogs, run_id=run_id
        )
        finish_run(con, run_id, skipped=skipped)
    return loaded


def record_empty_run(settings: Settings, run_id: str, skipped: int, started_at: float) -> None:
    """A run that found nothing new is still recorded (runs table), so analysts see it ran."""
    from datetime import UTC, datetime

    from kokuho.catalog import load_catalog_for
    from load.publish import open_for_write
    from load.warehouse import finish_run, start_run, sync_catalog, sync_municipalities

    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    with open_for_write(settings.db_path, run_id=run_id) as con:
        start_run(con, run_id, started_at=datetime.fromtimestamp(started_at, UTC))
        # The survey exists even before any file arrives, so submission_status lists who is missing.
        sync_municipalities(con)
        sync_catalog(con, load_catalog_for(settings.prefecture_code, settings.fiscal_year))
        finish_run(con, run_id, skipped=skipped)


def export_path(settings: Settings, fiscal_year: int | None = None) -> Path:
    year = fiscal_year or settings.fiscal_year
    return settings.export_dir / f"集計表_{settings.prefecture_code}_{year}.xlsx"


def export_all(settings: Settings, run_id: str) -> list[Path]:
    """The publication workbook for the run's fiscal year (read from the published views)."""
    from load.export_data import ExportError
    from load.export_excel import export_summary

    if not settings.db_path.exists():
        return []
    settings.export_dir.mkdir(parents=True, exist_ok=True)
    try:
        out = export_summary(
            settings.db_path,
            settings.fiscal_year,
            export_path(settings),
            prefecture_code=settings.prefecture_code,
            run_info={"run_id": run_id},
        )
    except ExportError:
        # Nothing to publish yet for this survey year (e.g. the first night, empty inbox).
        return []
    write_returned_list_of(settings)
    return [out]


def write_returned_list_of(settings: Settings) -> Path | None:
    """quarantine/差戻し一覧.xlsx, every quarantined file of the database, rewritten each run; a
    failure to write it is reported on stderr and never stops the run."""
    import duckdb

    from load.reports import RETURNED_LIST, write_returned_list

    try:
        return write_returned_list(settings.db_path, settings.quarantine_dir / RETURNED_LIST)
    except (OSError, duckdb.Error) as exc:
        print(f"差戻し一覧を作成できませんでした: {exc}", file=sys.stderr)
        return None


@dataclass
class RunSummary:
    run_id: str
    files: int
    new: int
    skipped: int
    accepted: list[str]
    superseded: list[str]
    quarantined: list[tuple[str, str]]  # (file name, first reason)
    missing: list[str]  # "111007 さいたま市"
    exports: list[Path]
    db_path: Path
    quarantine_dir: Path
    data_docs_index: Path | None
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "files": self.files,
            "new": self.new,
            "skipped": self.skipped,
            "accepted": len(self.accepted),
            "superseded": len(self.superseded),
            "quarantined": len(self.quarantined),
            "missing": len(self.missing),
            "text": self.text,
            "markdown": self.markdown,
            "exports": [str(p) for p in self.exports],
            "db_path": str(self.db_path),
            "seconds": round(self.seconds, 2),
        }

    @property
    def text(self) -> str:
        lines = [
            f"取込結果 / run {self.run_id} ({self.seconds:.1f} s)",
            f"  files in inbox: {self.files}  (new {self.new}, already processed {self.skipped})",
            f"  受理 accepted: {len(self.accepted)}   差替え superseded: {len(self.superseded)}   "
            f"差戻し quarantined: {len(self.quarantined)}   未提出 missing: {len(self.missing)}",
        ]
        for name, reason in self.quarantined:
            lines.append(f"  [差戻し] {name}: {reason}")
        for name in self.superseded:
            lines.append(f"  [差替え] {name}")
        if self.missing:
            shown = ", ".join(self.missing[:10]) + (" …" if len(self.missing) > 10 else "")
            lines.append(f"  [未提出] {shown}")
        lines.append(f"  database:   {self.db_path}")
        lines.append(f"  quarantine: {self.quarantine_dir}")
        for path in self.exports:
            lines.append(f"  export:     {path}")
        if self.data_docs_index:
            lines.append(f"  Data Docs:  {self.data_docs_index}")
        return "\n".join(lines)

    @property
    def markdown(self) -> str:
        def cell(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")

        rows = [
            f"# 取込結果 {self.run_id}",
            "",
            "| 区分 | 件数 |",
            "|---|---:|",
            f"| 受信ファイル | {self.files} |",
            f"| 処理済（スキップ） | {self.skipped} |",
            f"| 受理 | {len(self.accepted)} |",
            f"| 差替え（再提出により） | {len(self.superseded)} |",
            f"| 差戻し | {len(self.quarantined)} |",
            f"| 未提出の市町村 | {len(self.missing)} |",
        ]
        if self.quarantined:
            rows += ["", "## 差戻し", "", "| ファイル | 理由 |", "|---|---|"]
            rows += [f"| {cell(n)} | {cell(r)} |" for n, r in self.quarantined]
        if self.superseded:
            rows += ["", "## 差替え", ""] + [f"- {cell(n)}" for n in self.superseded]
        if self.missing:
            rows += ["", "## 未提出", ""] + [f"- {cell(m)}" for m in self.missing]
        return "\n".join(rows)


def summarise_run(
    settings: Settings,
    run_id: str,
    files: list[InboxFile],
    skipped: list[InboxFile],
    result: StageResult | None,
    loaded: object | None,
    exports: list[Path],
    seconds: float,
) -> RunSummary:
    """The run summary: what happened to each new file, and who is still missing."""
    names = {f.sha256: f.path.name for f in files}
    accepted: list[str] = []
    superseded: list[str] = []
    quarantined: list[tuple[str, str]] = []
    missing: list[str] = []
    if settings.db_path.exists():
        from load.publish import connect_readonly
        from load.reports import files_by_sha, missing_municipalities, resubmission_change_counts

        con = connect_readonly(settings.db_path)
        try:
            if loaded is not None:
                accepted = [names.get(s, s) for s in getattr(loaded, "accepted", [])]
                superseded_sha = list(getattr(loaded, "superseded", []))
                changes = resubmission_change_counts(con, superseded_sha)
                superseded = sorted(
                    f"{name}（再提出で変更された回答 {changes.get(sha, 0)} 件）"
                    for sha, (name, _, _) in files_by_sha(con, superseded_sha).items()
                )
                quarantined = [
                    (name, reason or "")
                    for name, _, reason in files_by_sha(
                        con, list(getattr(loaded, "quarantined", []))
                    ).values()
                ]
            missing = missing_municipalities(con, settings.fiscal_year, settings.prefecture_code)
        finally:
            con.close()
    if result is not None and loaded is None:
        quarantined = [(o.file_name, o.first_message) for o in result.outcomes if o.status == "quarantined"]
    return RunSummary(
        run_id=run_id,
        files=len(files),
        new=len(files) - len(skipped),
        skipped=len(skipped),
        accepted=sorted(accepted),
        superseded=superseded,
        quarantined=sorted(quarantined),
        missing=missing,
        exports=exports,
        db_path=settings.db_path,
        quarantine_dir=settings.quarantine_dir,
        data_docs_index=result.data_docs_index if result else None,
        seconds=seconds,
    )
