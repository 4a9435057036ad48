"""The GX side: one context per Data Docs directory (cached, locked), the suites run on the checked
columns only, and results stored with the failing rows' provenance added back."""

from __future__ import annotations

import datetime as dt
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from expectations.validate.memo import _conversions_memoized, _memoize_conversions
from expectations.validate.model import (
    INDEX_COLUMNS,
    RESULT_FORMAT,
    RESULTS_SUBDIR,
    ROW_ID,
    STORED_UNEXPECTED,
    SUITE_OF,
    SuiteSummary,
)
from kokuho.config import apply_offline_env


class _Runner:
    """A GX context on the committed suites, with the suites and batch definitions looked up once."""

    def __init__(self, data_docs_dir: Path | None) -> None:
        from expectations.context import BATCH_DEFINITION, DATASOURCE, open_context

        results_dir = Path(data_docs_dir) / RESULTS_SUBDIR if data_docs_dir is not None else None
        self.store_results = results_dir is not None
        self.context = open_context(results_dir=results_dir, docs_dir=data_docs_dir)
        self.lock = threading.Lock()
        source = self.context.data_sources.get(DATASOURCE)
        self.suites = {name: self.context.suites.get(name) for name in SUITE_OF.values()}
        self.batch_definitions = {
            name: source.get_asset(name).get_batch_definition(BATCH_DEFINITION) for name in SUITE_OF.values()
        }
        self.columns = {name: _checked_columns(suite) for name, suite in self.suites.items()}
        _memoize_conversions()

    def gx_frame(self, suite: str, frame: pd.DataFrame) -> pd.DataFrame:
        """The columns the suite checks plus row_id, every row; text as categories.

        GX filters the whole frame for each metric (nulls, failing rows): narrow columns of
        integer category codes make those copies cheap, and GX compares the values, so results
        are the same as on the text columns."""
        columns = [c for c in frame.columns if c in self.columns[suite] or c == ROW_ID]
        return pd.DataFrame(
            {
                c: frame[c].astype("category") if isinstance(frame[c].dtype, pd.StringDtype) else frame[c]
                for c in columns
            }
        )

    def run_id(self, run_name: str) -> Any:
        from great_expectations.core.run_identifier import RunIdentifier

        return RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.UTC))

    def validate(self, suite: str, frame: pd.DataFrame, params: dict[str, Any]) -> tuple[Any, str]:
        """The suite's result over the whole frame, and the batch ID (nothing stored)."""
        batch = self.batch_definitions[suite].get_batch(batch_parameters={"dataframe": frame})
        with warnings.catch_warnings(), _conversions_memoized():
            # GX 1.24 repeats a column of compound-unique expectations in a frame it turns into
            # records; pandas warns (and under -W error the metric would fail). Harmless.
            warnings.filterwarnings("ignore", "DataFrame columns are not unique", UserWarning)
            try:
                result = self._validate(batch, self.suites[suite], params)
            finally:
                _forget(batch)
        return result, batch.id

    @staticmethod
    def _validate(batch: Any, suite: Any, params: dict[str, Any]) -> Any:
        return batch.validate(suite, result_format=RESULT_FORMAT, expectation_parameters=params)

    def store(self, suite: str, result: Any, batch_id: str, run_id: Any, frame: pd.DataFrame) -> None:
        """Store the result for Data Docs, trimmed in place (once issues are taken from it):
        complete lists would make each stored result as large as the failures. Failing rows show
        their file, sheet and cell (read from `frame` by row_id)."""
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        stored = result
        for expectation in stored.results:
            details = expectation.result or {}
            for key in ("unexpected_list", "unexpected_index_list", "partial_unexpected_list"):
                if isinstance(details.get(key), list):
                    details[key] = details[key][:STORED_UNEXPECTED]
            details.pop("unexpected_index_query", None)
            _add_provenance(details, frame)
        stored.meta["run_id"] = run_id
        stored.meta["validation_time"] = run_id.run_time
        stored.meta["batch_parameters"] = {"dataframe": "<DATAFRAME>"}
        suite_key = ExpectationSuiteIdentifier(name=suite)
        self.context.validation_results_store.store_validation_results(
            suite_validation_result=stored,
            suite_validation_result_identifier=ValidationResultIdentifier(
                expectation_suite_identifier=suite_key, run_id=run_id, batch_identifier=batch_id
            ),
            expectation_suite_identifier=suite_key,
        )


def _forget(batch: Any) -> None:
    """Drop the frame GX's execution engine keeps of the batch it validated: kept until the next
    validation replaced it, each chunk's frames outlived the chunk."""
    manager = batch.data.execution_engine.batch_manager
    manager.batch_data_cache.pop(batch.id, None)
    manager.reset_batch_cache()


def _checked_columns(suite: Any) -> set[str]:
    """Every column an expectation of the suite reads."""
    columns: set[str] = set()
    for expectation in suite.expectations:
        kwargs = expectation.configuration.kwargs
        columns.update(kwargs.get("column_list") or [])
        columns.update(kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs)
    return columns


def _add_provenance(details: dict[str, Any], frame: pd.DataFrame) -> None:
    """Put file, sheet and cell into each failing row GX listed by row_id, as GX itself writes
    index columns (before row_id, values as text), so Data Docs name them."""
    if "unexpected_index_column_names" in details:
        details["unexpected_index_column_names"] = list(INDEX_COLUMNS)
    where: dict[str, np.ndarray] = {}
    for key in ("unexpected_index_list", "partial_unexpected_index_list"):
        rows = details.get(key)
        if not isinstance(rows, list):
            continue
        for n, row in enumerate(rows):
            if not isinstance(row, dict) or ROW_ID not in row:
                continue
            if not where:
                where = {c: frame[c].to_numpy(dtype=object) for c in INDEX_COLUMNS if c != ROW_ID}
            position = int(row[ROW_ID])
            with_provenance: dict[str, Any] = {}
            for column, value in row.items():
                if column == ROW_ID:
                    with_provenance.update({c: str(values[position]) for c, values in where.items()})
                with_provenance[column] = value
            rows[n] = with_provenance


_RUNNERS: OrderedDict[str, _Runner] = OrderedDict()
_RUNNERS_LOCK = threading.Lock()
_MAX_RUNNERS = 4


def _runner(data_docs_dir: Path | None) -> _Runner:
    """One runner per Data Docs directory per process (opening a context costs ~0.5 s)."""
    key = str(Path(data_docs_dir).resolve()) if data_docs_dir is not None else ""
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(key)
        if runner is None:
            runner = _Runner(data_docs_dir)
            _RUNNERS[key] = runner
            while len(_RUNNERS) > _MAX_RUNNERS:
                _RUNNERS.popitem(last=False)
        _RUNNERS.move_to_end(key)
        return runner


def warm_up() -> None:
    """Import GX and open the in-memory runner (for tests and long-lived workers)."""
    apply_offline_env()
    _runner(None)


def _summary(suite: str, frame: pd.DataFrame, result: Any) -> SuiteSummary:
    stats = result.statistics
    unexpected = sum(int((r.result or {}).get("unexpected_count") or 0) for r in result.results)
    return SuiteSummary(
        suite=suite,
        success=bool(result.success),
        rows=len(frame),
        evaluated_expectations=int(stats.get("evaluated_expectations") or 0),
        successful_expectations=int(stats.get("successful_expectations") or 0),
        unexpected_count=unexpected,
    )
