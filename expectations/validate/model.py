"""What a validation is run with and gives back: its settings, the suites in reporting order, each
suite's summary and the outcome."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from transform.batch import StagingBatch
from transform.contracts import STAGING_TABLES

STAGE = "validate"
ROW_ID = "row_id"  # position of the row in the validated frame, to read any column of a failing row
# GX gets only the columns its expectations check plus row_id (every extra column is copied by each
# of GX's row filters): a failing row is found by its row_id, and the stored results (Data Docs)
# get these provenance columns added back from the frame. sha256 is read through row_id too.
INDEX_COLUMNS = ["file_name", "sheet", "cell", ROW_ID]
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": [ROW_ID],
    "partial_unexpected_count": 20,
}
DEFAULT_MAX_ROWS_PER_FILE = 2000
DEFAULT_MAX_ISSUES_PER_FILE = 50
DEFAULT_KEEP_RUNS = 30
STORED_UNEXPECTED = 200  # failing rows kept per expectation in stored results (Data Docs)
RESULTS_SUBDIR = "_validation_results"  # inside data_docs_dir: the GX validation results store

# StagingBatch attribute -> suite (= staging table), in reporting order (file-level facts first).
SUITE_OF: dict[str, str] = {
    attr: table for attr, table in StagingBatch.TABLES.items() if table in STAGING_TABLES
}


class ExpectationError(RuntimeError):
    """An expectation could not be evaluated (a bug or a contract change, not bad data)."""


@dataclass(frozen=True)
class SuiteSummary:
    suite: str
    success: bool
    rows: int
    evaluated_expectations: int
    successful_expectations: int
    unexpected_count: int  # failing rows summed over expectations


@dataclass
class ValidationOutcome:
    issues: pd.DataFrame  # file_issues contract, stage "validate"
    failed_files: set[str]  # sha256 of every file with a failing row (or cut for size)
    results: dict[str, SuiteSummary] = field(default_factory=dict)
    data_docs_index: Path | None = None
    # Stored for Data Docs but not yet rendered (build_docs=False): render with build_docs_for.
    docs_run_time: dt.datetime | None = None

    @property
    def success(self) -> bool:
        return not self.failed_files
