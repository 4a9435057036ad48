"""Validate a StagingBatch with the committed Great Expectations suites, once per suite per batch,
and turn every failing row into a file issue naming file, sheet and cell.

Great Expectations is imported inside functions only: `kokuho sql/export/status/template` must
never pay for it.

Modules: model (settings, summaries, the outcome), batch (validate_batch), runner (the GX
context, suites run and results stored), memo (one conversion per GX object during a run),
issues (failing rows as file issues), docs (Data Docs rendered later).
"""

from __future__ import annotations

from expectations.validate.batch import suite_parameters, validate_batch
from expectations.validate.docs import build_docs_for
from expectations.validate.memo import _conversions_memoized as _conversions_memoized
from expectations.validate.model import (
    DEFAULT_KEEP_RUNS,
    DEFAULT_MAX_ISSUES_PER_FILE,
    DEFAULT_MAX_ROWS_PER_FILE,
    INDEX_COLUMNS,
    RESULT_FORMAT,
    RESULTS_SUBDIR,
    ROW_ID,
    STAGE,
    STORED_UNEXPECTED,
    SUITE_OF,
    ExpectationError,
    SuiteSummary,
    ValidationOutcome,
)
from expectations.validate.runner import _Runner as _Runner
from expectations.validate.runner import _runner as _runner
from expectations.validate.runner import warm_up

__all__ = [
    "DEFAULT_KEEP_RUNS",
    "DEFAULT_MAX_ISSUES_PER_FILE",
    "DEFAULT_MAX_ROWS_PER_FILE",
    "ExpectationError",
    "INDEX_COLUMNS",
    "RESULTS_SUBDIR",
    "RESULT_FORMAT",
    "ROW_ID",
    "STAGE",
    "STORED_UNEXPECTED",
    "SUITE_OF",
    "SuiteSummary",
    "ValidationOutcome",
    "build_docs_for",
    "suite_parameters",
    "validate_batch",
    "warm_up",
]
