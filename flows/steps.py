"""The pipeline's steps as plain functions (no Prefect here): the Prefect flow in flows/ingest.py
wraps them in tasks, and `kokuho check` calls them directly.

scan -> extract (isolated) -> stage (transform) -> validate (GX) -> quarantine -> load -> export
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from kokuho.config import Settings

if TYPE_CHECKING:
    from extract.model import ExtractedWorkbook
    from kokuho.catalog import Catalog
    from transform.batch import StagingBatch
from kokuho.files import display_name, display_path, name_hex, safe_text

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb"}


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


T = TypeVar("T")


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


def scan_inbox(paths: Iterable[Path]) -> ScanResult:
    """Every candidate file under the given files/folders, sorted by name, with its sha256.

    Every regular file counts (a CSV renamed .xlsx must be quarantined, not ignored). Skipped, each
    as an entry with its reason: Excel's lock files (~$name.xlsx), hidden files and folders,
    links (never followed: nothing outside the inbox is read), FIFOs and devices, files and folders
    that cannot be read, files that change while being hashed, and the same bytes under a second
    name. A failure on one entry is that entry's reason, never the scan's.
    """
    entries: list[InboxEntry] = []
    for root in paths:
        root = Path(root)
        if root.is_file():  # a path given explicitly (kokuho check FILE) is taken as it is
            entries.append(_consider(root.resolve(), display_name(root.name), False))
        else:
            _walk(root.resolve(), root.resolve(), entries)
    entries.sort(key=lambda e: (e.name, e.relative))
    first_of: dict[str, InboxEntry] = {}
    files = ScanResult(entries=entries)
    for no, entry in enumerate(entries):
        if entry.state is not None or entry.sha256 is None:
            continue
        first = first_of.get(entry.sha256)
        if first is not None:
            _skip(entry, "DUPLICATE_CONTENT", other=first.relative)
            entry.duplicate_of = first.relative
            continue
        first_of[entry.sha256] = entry
        files.append(
            InboxFile(
                path=entry.path,
                sha256=entry.sha256,
                size=entry.size or 0,
                mtime=entry.mtime or 0.0,
                name=entry.name,
                name_hex=entry.name_hex,
                entry_no=no,
            )
        )
    return files


def _walk(folder: Path, base: Path, entries: list[InboxEntry]) -> None:
    try:
        children = _list(folder)
    except OSError as exc:
        entry = _entry(folder, base)
        _skip(entry, "UNREADABLE_FOLDER", detail=_os_error(exc))
        entries.append(entry)
        return
    for child in children:
        path = Path(child.path)
        try:
            is_dir = child.is_dir(follow_symlinks=False)
            is_link = child.is_symlink()
        except OSError as exc:
            entry = _entry(path, base)
            _skip(entry, "UNREADABLE_FILE", detail=_os_error(exc))
            entries.append(entry)
            continue
        if is_dir and not is_link:
            if child.name.startswith("."):
                entry = _entry(path, base)
                _skip(entry, "HIDDEN_FILE")
                entries.append(entry)
            else:
                _walk(path, base, entries)
            continue
        entries.append(_consider(path, _relative(path, base), is_link and _outside(path, base), base))


def _list(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as listing:
        return sorted(listing, key=lambda e: e.name)


def _consider(path: Path, relative: str, outside: bool, base: Path | None = None) -> InboxEntry:
    """The entry of one file: its facts and hash, or why it is skipped."""
    entry = _entry(path, base, relative)
    try:
        _classify(entry, outside)
        if entry.state is None:
            entry.sha256, entry.size, entry.mtime = _hash_file(path)
    except _Changed:
        _skip(entry, "FILE_CHANGING")
    except _NotRegular as exc:
        _skip(entry, "NOT_REGULAR_FILE", detail=str(exc))
    except OSError as exc:
        _skip(entry, "UNREADABLE_FILE", detail=_os_error(exc))
    except Exception as exc:  # anything else is still this file's reason, never the run's end
        _skip(entry, "UNREADABLE_FILE", detail=f"{type(exc).__name__}: {display_name(str(exc))}")
    return entry


def _classify(entry: InboxEntry, outside: bool) -> None:
    name = entry.name
    info = os.lstat(entry.path)
    if stat.S_ISLNK(info.st_mode):
        _skip(entry, "OUTSIDE_INBOX" if outside else "SYMLINK")
    elif name.startswith("~$"):
        _skip(entry, "EXCEL_LOCK_FILE")
    elif name.startswith("."):
        _skip(entry, "HIDDEN_FILE")
    elif name == "manifest.json":
        _skip(entry, "MANIFEST_FILE")
    elif not stat.S_ISREG(info.st_mode):
        _skip(entry, "NOT_REGULAR_FILE", detail=_kind(info.st_mode))


class _Changed(Exception):
    """The file changed while it was read."""


class _NotRegular(Exception):
    """Not a regular file (swapped for a FIFO, device… since it was listed)."""


def _hash_file(path: Path) -> tuple[str, int, float]:
    """(sha256, size, mtime) read through one descriptor that follows no link and never blocks
    (a FIFO swapped in); the file must not change while it is read."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise _NotRegular(_kind(before.st_mode))
        digest = hashlib.sha256()
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
        after = os.fstat(fd)
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise _Changed()
    return digest.hexdigest(), after.st_size, after.st_mtime


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "名前付きパイプ（FIFO）"
    if stat.S_ISSOCK(mode):
        return "ソケット"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "デバイス"
    if stat.S_ISDIR(mode):
        return "フォルダ"
    return "特殊ファイル"


def _outside(path: Path, base: Path) -> bool:
    """Whether a link resolves outside the inbox (reported apart; neither kind is followed)."""
    try:
        target = path.resolve()
    except (OSError, RuntimeError):
        return True
    return not target.is_relative_to(base.resolve())


def _relative(path: Path, base: Path) -> str:
    try:
        return display_path(path.relative_to(base))
    except ValueError:
        return display_name(path.name)


def _entry(path: Path, base: Path | None, relative: str | None = None) -> InboxEntry:
    return InboxEntry(
        path=path,
        name=display_name(path.name),
        name_hex=name_hex(path.name),
        relative=relative if relative is not None else _relative(path, base or path.parent),
    )


def _skip(entry: InboxEntry, code: str, **fields: object) -> None:
    from kokuho.codelists import skip_reason

    entry.state = "skipped"
    entry.reason_code = code
    entry.reason = skip_reason(code, name=entry.name, **fields)


def _os_error(exc: OSError) -> str:
    return display_name(exc.strerror or type(exc).__name__)


@dataclass
class StagedChunk:
    """A chunk of files extracted and staged (raw cells are dropped here: the staging tables are
    a fraction of their size, so a national batch stays within memory)."""

    batch: StagingBatch
    catalog_of: dict[str, str]  # sha256 -> survey_id of the catalog the file was staged against
    # sha256 of the bytes the worker read, per path ("" when it read none): a file that changed
    # since the scan hashed it is not what the scan recorded.
    read_sha256: dict[Path, str] = field(default_factory=dict)


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
    from expectations.validate import validate_batch
    from kokuho.catalog import load_catalog_for
    from load.quarantine import write_quarantine as write_quarantine_dir
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
    catalogs = {}
    for survey_id in sorted(set(catalog_of.values())):
        prefecture_code, year, _ = survey_id.split("-", 2)
        catalogs[survey_id] = load_catalog_for(prefecture_code, int(year))
    docs_index: Path | None = None
    docs_run_times: list[datetime] = []
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
    issues = batch.issues
    failed = set(issues["sha256"].dropna().unique())
    issues_by_file = {sha: frame for sha, frame in issues.groupby("sha256", dropna=True)}

    # Plain dicts, not a pandas lookup per file (slow at national scale).
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
        if file.sha256 not in dropped and outcome.status == "quarantined" and write_quarantine:
            try:
                target = quarantine_dir or settings.quarantine_dir
                record = write_quarantine_dir(file.path, file_issues, target)
                outcome.quarantine_dir = Path(getattr(record, "directory", target))
            except Exception as exc:  # a full disk, a vanished file: this file's reason, retried next run
                detail = f"{type(exc).__name__}: {safe_text(str(exc))}"
                dropped[file.sha256] = _skip_reason("QUARANTINE_FAILED", file, detail=detail)
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


CHECK_LABELS = {
    "accepted": "問題なし",
    "quarantined": "差戻し",
    "superseded": "差替え済",
    "skipped": "スキップ",
}


def format_outcomes(
    outcomes: list[FileOutcome],
    labels: dict[str, str] | None = None,
    expected_year: int | None = None,
) -> str:
    """A plain-text verdict per file (for the terminal): its municipality and survey year, its
    issues, where it was set aside; a warning when its year is not `expected_year`."""
    labels = labels or {
        "accepted": "受理",
        "quarantined": "差戻し",
        "superseded": "差替え済",
        "skipped": "処理済",
    }
    lines = []
    for o in outcomes:
        who = f"{o.municipality_code or '------'} {o.municipality_name or ''}".strip()
        if o.fiscal_year is not None:
            who += f" / {o.fiscal_year}年度調査"
        lines.append(f"[{labels.get(o.status, o.status)}] {o.file_name}  ({who})")
        if o.reason:
            lines.append(f"    {o.reason_code}: {o.reason}")
        for issue in o.issues[:5]:
            lines.append(f"    {issue.get('code')}: {issue.get('message')}")
        if len(o.issues) > 5:
            lines.append(f"    …ほか {len(o.issues) - 5} 件")
        if expected_year is not None and o.fiscal_year is not None and o.fiscal_year != expected_year:
            lines.append(
                f"    注意: この調査票は{o.fiscal_year}年度の調査のものです"
                f"（確認している年度は{expected_year}年度です。--year で指定できます）。"
            )
        if o.quarantine_dir:
            lines.append(f"    → 保管先: {o.quarantine_dir}")
    return "\n".join(lines)


def check_paths(
    paths: Sequence[Path],
    settings: Settings,
    *,
    quarantine_dir: Path | None = None,
    data_docs: bool = False,
) -> int:
    """`kokuho check PATH...`: validate returned workbooks without loading anything. Writes
    nothing unless asked: the quarantine outputs to `quarantine_dir`, Data Docs under the home."""
    missing = [p for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        print(f"kokuho check: ファイルがありません: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    files = scan_inbox(paths)
    result = stage_files(
        files,
        settings,
        write_quarantine=quarantine_dir is not None,
        quarantine_dir=quarantine_dir,
        data_docs=data_docs,
    )
    mark_superseded_within(
        [o for o in result.outcomes if o.status != "skipped"], {f.sha256: f.mtime for f in files}
    )
    print(format_outcomes(result.outcomes, CHECK_LABELS, settings.fiscal_year))
    skipped = [e for e in files.entries if e.state == "skipped"]
    for entry in skipped:
        print(f"[スキップ] {entry.relative}  ({entry.reason_code})\n    {entry.reason}")
    counts = pd.Series([o.status for o in result.outcomes], dtype=object).value_counts().to_dict()
    print(
        f"\n{len(files) + len(skipped)} 件: 問題なし {counts.get('accepted', 0)}、"
        f"差替え済 {counts.get('superseded', 0)}、差戻し {counts.get('quarantined', 0)}、"
        f"スキップ {counts.get('skipped', 0) + len(skipped)}"
    )
    if counts.get("quarantined") and quarantine_dir is None:
        print("差戻し用の写し・理由一覧を保管するには --quarantine DIR を指定してください。")
    if result.data_docs_index:
        print(f"Data Docs: {result.data_docs_index}")
    return 0


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
    from datetime import UTC, datetime

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


def record_empty_run(
    settings: Settings,
    run_id: str,
    skipped: int,
    started_at: float,
    scan: Iterable[InboxFile] | None = None,
) -> None:
    """A run that found nothing new is still recorded (runs table, and its inbox entries), so
    analysts see it ran and what it saw."""
    from datetime import UTC, datetime

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
    from datetime import UTC, datetime

    entries = getattr(scan, "entries", None)
    if entries is None:
        return None
    dropped = result.dropped if result is not None else {}
    cover = {o.sha256: o.municipality_code for o in result.outcomes} if result is not None else {}
    rows = []
    for no, entry in enumerate(entries):
        state, code, reason = entry.state, entry.reason_code, entry.reason
        if state is None and entry.sha256 in dropped:
            state = "skipped"
            code, reason = dropped[entry.sha256]
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
                "state": state,
                "reason_code": code,
                "reason": reason,
                "duplicate_of": entry.duplicate_of,
                "name_municipality_code": name_code,
                "municipality_code": name_code or cover.get(entry.sha256 or ""),
            }
        )
    from load.warehouse import ENTRY_COLUMNS

    frame = pd.DataFrame(rows, columns=[c for c in ENTRY_COLUMNS if c != "processed_run_id"])
    return frame.assign(processed_run_id=None)


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
    # Every inbox entry's final state: state -> count (they sum to the entries), and the entries
    # skipped for a reason other than "already processed" as (path, reason).
    entry_counts: dict[str, int] = field(default_factory=dict)
    skipped_entries: list[tuple[str, str]] = field(default_factory=list)

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
            "entries": sum(self.entry_counts.values()),
            "entry_counts": dict(self.entry_counts),
            "skipped_entries": [list(e) for e in self.skipped_entries],
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
        if self.entry_counts:
            lines.append(f"  受信フォルダの全項目 inbox entries: {self.accounting}")
        for name, reason in self.quarantined:
            lines.append(f"  [差戻し] {name}: {reason}")
        for name, reason in self.skipped_entries:
            lines.append(f"  [スキップ] {name}: {reason}")
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
        if self.entry_counts:
            rows += ["", f"受信フォルダの全項目: {cell(self.accounting)}"]
        if self.quarantined:
            rows += ["", "## 差戻し", "", "| ファイル | 理由 |", "|---|---|"]
            rows += [f"| {cell(n)} | {cell(r)} |" for n, r in self.quarantined]
        if self.superseded:
            rows += ["", "## 差替え", ""] + [f"- {cell(n)}" for n in self.superseded]
        if self.skipped_entries:
            rows += ["", "## スキップ（理由付き）", "", "| 項目 | 理由 |", "|---|---|"]
            rows += [f"| {cell(n)} | {cell(r)} |" for n, r in self.skipped_entries]
        if self.missing:
            rows += ["", "## 未提出", ""] + [f"- {cell(m)}" for m in self.missing]
        return "\n".join(rows)

    @property
    def accounting(self) -> str:
        """`130 = 受理 120 + 差替え 2 + 差戻し 5 + スキップ 3`: every entry in exactly one state."""
        labels = {"accepted": "受理", "superseded": "差替え", "quarantined": "差戻し", "skipped": "スキップ"}
        parts = [f"{labels.get(k, k)} {v}" for k, v in self.entry_counts.items()]
        return f"{sum(self.entry_counts.values())} = " + " + ".join(parts)


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
    counts, skipped_entries = _accounting(settings, run_id, files, result)
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
        entry_counts=counts,
        skipped_entries=skipped_entries,
    )


def _accounting(
    settings: Settings, run_id: str, files: list[InboxFile], result: StageResult | None
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Each inbox entry's final state, as the warehouse recorded it for the run (the scan and the
    outcomes when it recorded none)."""
    rows: list[tuple[str, str, str | None, str | None]] = []
    if settings.db_path.exists():
        from load.publish import connect_readonly
        from load.warehouse import run_entries

        con = connect_readonly(settings.db_path)
        try:
            rows = run_entries(con, run_id)
        finally:
            con.close()
    if not rows:
        entries = getattr(files, "entries", None) or []
        outcome = {o.sha256: o for o in result.outcomes} if result else {}
        for entry in entries:
            known = outcome.get(entry.sha256 or "")
            if entry.state is None and known is not None:
                rows.append((entry.relative, known.status, known.reason_code, known.reason))
            elif entry.state is None:
                rows.append((entry.relative, "skipped", "ALREADY_PROCESSED", None))
            else:
                rows.append((entry.relative, entry.state, entry.reason_code, entry.reason))
    counts = {s: 0 for s in ("accepted", "superseded", "quarantined", "skipped")}
    for _, state, _, _ in rows:
        counts[state] = counts.get(state, 0) + 1
    skipped = [
        (path, reason or "")
        for path, state, code, reason in rows
        if state == "skipped" and code != "ALREADY_PROCESSED"
    ]
    return (counts if rows else {}), skipped


# --- chunking and counting for the flow ----------------------------------------------------------

# Files per extract-and-stage task. In-process, one task takes a national inbox at once: its
# worker processes start once (each loads the catalog) and nothing waits at chunk boundaries; the
# staged rows of 2,000 files take ~30 MB. On Dask, smaller chunks spread over the cluster.
CHUNK_SIZE = 2000
DISTRIBUTED_CHUNK_SIZE = 250


def chunk_size(*, distributed: bool) -> int:
    return DISTRIBUTED_CHUNK_SIZE if distributed else CHUNK_SIZE


def chunked(items: Sequence[InboxFile], size: int) -> list[list[InboxFile]]:
    """`items` in consecutive chunks of at most `size` (none for no items)."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def split_known(files: Sequence[InboxFile], known: set[str]) -> tuple[list[InboxFile], list[InboxFile]]:
    """(new files, files the warehouse already holds), each in scan order."""
    return [f for f in files if f.sha256 not in known], [f for f in files if f.sha256 in known]
