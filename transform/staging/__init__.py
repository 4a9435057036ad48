"""ExtractedWorkbooks -> StagingBatch: typed staging rows plus the content issues of each file.

Keys drive everything (kokuho/layout.py): sheets are found by the key in A1 (or, failing that,
by their standard title), rows by the key in column A, so reordered or inserted rows, edited
labels and renamed sheets change nothing. Answer columns are the fixed letters unless the
table's header row (key "columns") shows they were moved.

Decisions:
- A file with file-level extract issues yields only its issues (stage "extract"), no rows.
- A file without a cover (no kokuho:cover key or 表紙 sheet with meta keys) yields only
  NOT_SURVEY_TEMPLATE; a file of another survey (WRONG_SURVEY) yields its submission row and the
  issue but no answer rows (its keys belong to another catalog).
- Other files yield rows even when they have content issues; validation and quarantine decide.
  Rows with a measure ID not in the catalog are reported (UNKNOWN_MEASURE) and not staged.
- Each file reports at most MAX_ISSUES_PER_FILE issues, then TOO_MANY_PROBLEMS; such a file's
  answer rows are dropped (it is quarantined anyway), so one garbage file stays cheap downstream.
- Of two rows for the same measure (or target) the first in sheet order is kept; a second one

Modules: issues (capped issues per file), columns (answer columns from the header row), context
(per-catalog lookups), rows (staged rows, StagedFile and the batch builder), file_state (what one
file's staging holds), cover, answers (section sheets), items (typed items on section sheets, who an
answered item applies to, the breakdown columns GX checks), targets, checks (sheet keys, hidden
sheets, cells in the answer area), file (one file's order of reading).
"""

from __future__ import annotations

from extract.model import ExtractedWorkbook, RawIssue
from kokuho.catalog import Catalog
from transform.batch import StagingBatch
from transform.staging.context import _Context, _context, filename_codes
from transform.staging.file import _FileTransform
from transform.staging.issues import MAX_ISSUES_PER_FILE
from transform.staging.rows import StagedBatchBuilder, StagedFile, _Rows, check_staged

__all__ = [
    "MAX_ISSUES_PER_FILE",
    "StagedBatchBuilder",
    "StagedFile",
    "build_staging",
    "check_staged",
    "filename_codes",
    "stage_file",
]


def build_staging(workbooks: list[ExtractedWorkbook], catalog: Catalog) -> StagingBatch:
    """Staging rows and issues of many returned files against one catalog, as one batch.

    The same bytes under two names (same sha256) are staged once, under the first name: the
    staging grain is the sha256, and identical content gives identical rows.
    """
    ctx = _context(catalog)
    rows = _Rows()
    seen: set[str] = set()
    for workbook in workbooks:
        if workbook.sha256 in seen:
            continue
        seen.add(workbook.sha256)
        rows.extend(_staged_tables(workbook, ctx))
    return rows.batch()


def stage_file(workbook: ExtractedWorkbook, prefecture_code: str, fiscal_year: int) -> StagedFile:
    """Stage one workbook against the catalog its cover claims, or the run's own survey
    (`prefecture_code`, `fiscal_year`) when it claims none we know. Plain, picklable rows."""
    from transform.routing import catalog_for, claimed_survey

    try:
        catalog = catalog_for(*claimed_survey(workbook), prefecture_code, fiscal_year)
    except Exception:
        # Staged against the run's own survey, which reports what the cover claims. (The run's
        # own catalog failing to load is not the file's fault: that raises again here.)
        catalog = catalog_for(None, None, prefecture_code, fiscal_year)
    return workbook.sha256, catalog.survey_id, _staged_tables(workbook, _context(catalog))


def _staged_tables(workbook: ExtractedWorkbook, ctx: _Context) -> tuple[list[tuple], ...]:
    """One file's staging rows. Whatever its content does to staging costs this file only: it is
    then staged as a file that could not be read, with the reason."""
    rows = _Rows()
    try:
        _FileTransform(workbook, ctx, rows).run()
    except Exception as exc:
        rows = _Rows()
        _FileTransform(workbook.unread_copy([staging_failure(exc)]), ctx, rows).run()
    return rows.tables()


def staging_failure(exc: BaseException) -> RawIssue:
    """The PARSE_FAILED issue of a file whose staging raised `exc`."""
    if isinstance(exc, MemoryError):
        detail = "調査票の内容の処理中にメモリが不足しました"
    else:
        detail = f"調査票の内容の処理中に予期しないエラー（{type(exc).__name__}）"
    return RawIssue("PARSE_FAILED", detail=detail, rule="staging")
