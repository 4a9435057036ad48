"""Validating one StagingBatch: every staging suite once over the whole batch, failing rows turned
into file issues, results stored for Data Docs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from expectations.validate.docs import build_docs_for
from expectations.validate.issues import _IssueBuilder
from expectations.validate.model import (
    DEFAULT_KEEP_RUNS,
    DEFAULT_MAX_ISSUES_PER_FILE,
    DEFAULT_MAX_ROWS_PER_FILE,
    ROW_ID,
    SUITE_OF,
    SuiteSummary,
    ValidationOutcome,
)
from expectations.validate.runner import _runner, _summary
from kokuho.config import apply_offline_env
from transform.batch import StagingBatch, conform

if TYPE_CHECKING:
    from kokuho.catalog import Catalog


def suite_parameters(catalog: Catalog) -> dict[str, Any]:
    """Values of the suites' $PARAMETERs for a run against this catalog."""
    from kokuho.municipalities import municipalities_of

    target_years = [y for t in catalog.numeric_targets for y in t.years(catalog.fiscal_year)]
    return {
        "municipality_codes": [m.code for m in municipalities_of(catalog.prefecture_code)],
        "prefecture_codes": [catalog.prefecture_code],
        "fiscal_years": [catalog.fiscal_year],
        "survey_ids": [catalog.survey_id],
        "measure_ids": [m.id for m in catalog.measures],
        "table_ids": [t.table_id for t in catalog.tables],
        "target_ids": [t.id for t in catalog.numeric_targets],
        # Targets may ask about past years too (R3..R11 in FY2024): the range covers the catalog's.
        "target_year_min": min([catalog.fiscal_year, *target_years]),
        "target_year_max": max([catalog.fiscal_year + 10, *target_years]),
        **_item_parameters(catalog),
    }


def _item_parameters(catalog: Catalog) -> dict[str, Any]:
    """The typed items' IDs, the fiscal years they ask about, and a regex of every valid
    '<item_id>:<codes>' answer of the choice and status items (codes in catalog order)."""
    import re

    typed = [i for i in catalog.items if i.type != "check"]
    years = [y for i in typed for y in i.years(catalog.fiscal_year)] or [catalog.fiscal_year]
    patterns = []
    for item in typed:
        if item.options:
            codes = "|".join(re.escape(c) for c, _ in item.options)
            more = f"(?:,(?:{codes}))*" if item.multiple else ""
            patterns.append(f"{re.escape(item.id)}:(?:{codes}){more}")
    return {
        "item_ids": [i.id for i in typed],
        "item_year_min": min(years),
        "item_year_max": max(years),
        "option_pattern": f"^(?:{'|'.join(patterns)})$" if patterns else "^$",
    }


def validate_batch(
    batch: StagingBatch,
    catalog: Catalog,
    *,
    data_docs_dir: Path | None = None,
    max_rows_per_file: int = DEFAULT_MAX_ROWS_PER_FILE,
    max_issues_per_file: int = DEFAULT_MAX_ISSUES_PER_FILE,
    keep_runs: int = DEFAULT_KEEP_RUNS,
    build_docs: bool = True,
) -> ValidationOutcome:
    """Run every staging suite once over the whole batch; report failing rows as file issues.

    A file with more than `max_rows_per_file` rows in one table is cut to that many before GX
    (GX's complete results cost ~0.25 ms per failing row) and fails with TOO_MANY_PROBLEMS; at
    most `max_issues_per_file` issues are reported per expectation and file. Issues already in
    `batch.issues` (same file, code, sheet and cell) are not repeated. With `data_docs_dir`, the
    results are stored there and static Data Docs rebuilt, keeping the last `keep_runs` runs;
    with `build_docs=False` only stored, for `build_docs_for` to render later (while the load runs).
    """
    apply_offline_env()
    params = suite_parameters(catalog)
    builder = _IssueBuilder(params, catalog, max_issues_per_file, conform(batch.issues, "file_issues"))
    frames: dict[str, pd.DataFrame] = {}
    for attr, suite in SUITE_OF.items():
        frame = conform(getattr(batch, attr), suite)
        frame = builder.cap_rows(frame, suite, max_rows_per_file)
        frame[ROW_ID] = np.arange(len(frame), dtype="int64")
        frames[suite] = frame

    runner = _runner(data_docs_dir)
    with runner.lock:
        run_id = runner.run_id(catalog.survey_id)
        results: dict[str, SuiteSummary] = {}
        for suite, frame in frames.items():
            result, batch_id = runner.validate(suite, runner.gx_frame(suite, frame), params)
            results[suite] = _summary(suite, frame, result)
            builder.add_result(suite, frame, result)
            if runner.store_results:
                runner.store(suite, result, batch_id, run_id, frame)
    docs_index = None
    if data_docs_dir is not None and build_docs:
        docs_index = build_docs_for(Path(data_docs_dir), [run_id.run_time], keep_runs=keep_runs)

    issues = builder.frame(existing=batch.issues)
    return ValidationOutcome(
        issues=issues,
        failed_files=builder.failed_files,
        results=results,
        data_docs_index=docs_index,
        docs_run_time=run_id.run_time if data_docs_dir is not None and not build_docs else None,
    )
