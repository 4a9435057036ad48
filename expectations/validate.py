"""Validate a StagingBatch with the committed Great Expectations suites, once per suite per batch,
and turn every failing row into a file issue naming file, sheet and cell.

Great Expectations is imported inside functions only: `kokuho sql/export/status/template` must
never pay for it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kokuho import codelists
from kokuho.config import apply_offline_env
from transform.batch import StagingBatch, conform
from transform.contracts import STAGING_TABLES

if TYPE_CHECKING:
    from kokuho.catalog import Catalog

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


def suite_parameters(catalog: Catalog) -> dict[str, Any]:
    """Values of the suites' $PARAMETERs for a run against this catalog."""
    from kokuho.municipalities import municipalities_of

    return {
        "municipality_codes": [m.code for m in municipalities_of(catalog.prefecture_code)],
        "prefecture_codes": [catalog.prefecture_code],
        "fiscal_years": [catalog.fiscal_year],
        "survey_ids": [catalog.survey_id],
        "measure_ids": [m.id for m in catalog.measures],
        "table_ids": [t.table_id for t in catalog.tables],
        "target_ids": [t.id for t in catalog.numeric_targets],
        "target_year_min": catalog.fiscal_year,
        "target_year_max": catalog.fiscal_year + 10,
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


def build_docs_for(
    data_docs_dir: Path, run_times: list[dt.datetime], *, keep_runs: int = DEFAULT_KEEP_RUNS
) -> Path:
    """Render the Data Docs of runs validated with build_docs=False (and prune old runs). Safe in
    another thread than the validation: it waits for the directory's GX context."""
    from expectations.data_docs import build_data_docs

    apply_offline_env()
    runner = _runner(data_docs_dir)
    with runner.lock:
        return build_data_docs(runner.context, Path(data_docs_dir), keep_runs=keep_runs, run_times=run_times)


# --- GX -------------------------------------------------------------------------------------


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
            result = self._validate(batch, self.suites[suite], params)
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


# GX (1.24) rebuilds an expectation from its configuration (ExpectationConfiguration.to_domain_obj)
# and re-derives the configuration from the expectation (Expectation.configuration, a pydantic
# deep dict, value sets included) again and again: some 130 times per expectation and validation,
# and with the 1,741 codes of a national survey that was most of the time of a validation. While
# one of our validations runs, each object converts once. The memo lives only for that call (and
# that thread or task): GX does not change these objects while it validates.
_MEMO: ContextVar[dict[tuple[str, int], tuple[Any, Any]] | None] = ContextVar(
    "gx_conversion_memo", default=None
)
_MEMO_INSTALLED = False
_MEMO_LOCK = threading.Lock()


def _memoized(kind: str, convert: Any) -> Any:
    """`convert(obj)`, looked up in (and added to) the memo of the running validation, if any."""

    def memoized(obj: Any) -> Any:
        memo = _MEMO.get()
        if memo is None:
            return convert(obj)
        hit = memo.get((kind, id(obj)))
        if hit is None or hit[0] is not obj:  # the memo holds obj, so its id is not reused meanwhile
            hit = memo[(kind, id(obj))] = (obj, convert(obj))
        return hit[1]

    return memoized


def _memoize_conversions() -> None:
    """Route GX's two conversions through the memo (once per process; a no-op for a GX whose
    classes no longer look like this)."""
    global _MEMO_INSTALLED
    from great_expectations.expectations.expectation import Expectation
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    with _MEMO_LOCK:
        if _MEMO_INSTALLED:
            return
        _MEMO_INSTALLED = True
        configuration = Expectation.__dict__.get("configuration")
        if isinstance(configuration, property) and configuration.fget is not None:
            Expectation.configuration = property(  # type: ignore[method-assign]
                _memoized("configuration", configuration.fget), doc=configuration.__doc__
            )
        to_domain_obj = ExpectationConfiguration.__dict__.get("to_domain_obj")
        if callable(to_domain_obj):
            ExpectationConfiguration.to_domain_obj = _memoized("domain", to_domain_obj)  # type: ignore[method-assign]


@contextlib.contextmanager
def _conversions_memoized() -> Iterator[None]:
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


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


# --- issues ---------------------------------------------------------------------------------


class _Fields(dict):
    """str.format_map fields where a missing name reads as blank."""

    def __missing__(self, key: str) -> str:
        return ""


def _text(value: object) -> str | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return None
        return f"{value:g}"
    return str(value)


def _raised(info: object) -> str | None:
    """The message of an exception GX caught while evaluating an expectation, if any.

    GX reports it either at the top level or keyed by the metric that failed; a failed metric
    must stop the run rather than pass silently as "no failing rows".
    """
    if not info:
        return None
    entries = [info, *(info.values() if isinstance(info, dict) else [])]
    for entry in entries:
        get = entry.get if isinstance(entry, dict) else lambda k, e=entry: getattr(e, k, None)
        if get("raised_exception"):
            return str(get("exception_message") or "unknown error")
    return None


class _IssueBuilder:
    def __init__(
        self, params: dict[str, Any], catalog: Catalog, max_issues_per_file: int, existing: pd.DataFrame
    ) -> None:
        from kokuho.municipalities import prefecture

        self.max_issues_per_file = max(1, max_issues_per_file)
        self.rows: list[dict[str, Any]] = []
        self.failed_files: set[str] = set()
        self._file_level: set[tuple[str, str]] = set()  # (sha256, code) already reported
        if len(existing):
            self._file_level.update(map(tuple, _keys(existing, ["sha256", "code"])))
        self._truncated: dict[str, str] = {}  # sha256 -> file name
        self._master: dict[str, Any] | None = None
        self.fields = _Fields(
            {k: v for k, v in params.items() if not isinstance(v, list)},
            prefecture_code=catalog.prefecture_code,
            prefecture_name=prefecture(catalog.prefecture_code).name,
            fiscal_year=catalog.fiscal_year,
            survey_id=catalog.survey_id,
        )

    def cap_rows(self, frame: pd.DataFrame, suite: str, max_rows: int) -> pd.DataFrame:
        if frame.empty:
            return frame
        position = frame.groupby("sha256", sort=False, dropna=False).cumcount()
        if int(position.max()) < max_rows:
            return frame
        totals = frame.groupby("sha256", sort=False, dropna=False).size()
        for sha256, total in totals[totals > max_rows].items():
            first = frame[frame["sha256"] == sha256].iloc[0]
            self._truncate(sha256, first["file_name"], value=f"{suite}: {total}行", limit=max_rows)
        return frame[(position < max_rows).to_numpy()].reset_index(drop=True)

    def _truncate(self, sha256: object, file_name: object, *, value: str | None, limit: int) -> None:
        sha = _text(sha256) or ""
        self.failed_files.add(sha)
        if sha in self._truncated:
            return
        self._truncated[sha] = _text(file_name) or ""
        self._add(
            code="TOO_MANY_PROBLEMS",
            file_name=_text(file_name),
            sha256=sha,
            sheet=None,
            cell=None,
            value=value,
            rule="validate.max_rows_per_file" if value else "validate.max_issues_per_file",
            detail=str(limit),
        )

    def add_result(self, suite: str, frame: pd.DataFrame, result: Any) -> None:
        for expectation in result.results:
            config = expectation.expectation_config
            error = _raised(expectation.exception_info)
            if error is not None:
                raise ExpectationError(
                    f"{suite}: {config.type} {config.kwargs} could not be evaluated: {error}"
                )
            if expectation.success:
                continue
            self._add_failures(
                suite, frame, config, (expectation.result or {}).get("unexpected_index_list") or []
            )

    def _add_failures(self, suite: str, frame: pd.DataFrame, config: Any, failures: list[dict]) -> None:
        meta = config.meta or {}
        kwargs = config.kwargs
        column = kwargs.get("column") or kwargs["column_list"][-1]
        value_column = meta.get("value_column") or column
        cell_column = meta.get("cell_column")
        code = meta.get("issue_code") or "VALIDATION_FAILED"
        once = bool(meta.get("once_per_file"))
        no_cell = bool(meta.get("no_cell"))
        rule = f"{suite}.{config.type}({kwargs.get('column') or ','.join(kwargs.get('column_list', []))})"
        needed = {
            column,
            value_column,
            "sha256",
            "file_name",
            "sheet",
            "cell",
            *(["row_no"] if cell_column else []),
        }
        values = {c: frame[c].to_numpy(dtype=object, na_value=None) for c in needed}
        counts: dict[str, int] = {}
        for failure in failures:
            row = int(failure[ROW_ID])
            sha = _text(values["sha256"][row]) or ""
            self.failed_files.add(sha)
            seen = counts.get(sha, 0)
            if seen >= self.max_issues_per_file:
                self._truncate(sha, values["file_name"][row], value=None, limit=self.max_issues_per_file)
                continue
            checked = _text(values[column][row])
            row_code, detail_extra = self._refine(code, checked)
            if once and (sha, row_code) in self._file_level:
                continue
            counts[sha] = seen + 1
            cell = None if no_cell else _text(values["cell"][row])
            if cell_column and values["row_no"][row] is not None:
                cell = f"{cell_column}{int(values['row_no'][row])}"
            fields = _Fields(self.fields, value=checked or "", length=len(checked or ""))
            detail = detail_extra or (meta.get("detail") or "").format_map(fields)
            self._add(
                code=row_code,
                file_name=_text(values["file_name"][row]),
                sha256=sha,
                sheet=_text(values["sheet"][row]),
                cell=cell,
                value=_text(values[value_column][row]),
                rule=rule,
                detail=detail,
            )

    def _refine(self, code: str, value: str | None) -> tuple[str, str | None]:
        """A code outside the prefecture: another prefecture's municipality, or no municipality."""
        if code != "MUNICIPALITY_OTHER_PREFECTURE" or value is None:
            return code, None
        if self._master is None:
            from kokuho.municipalities import by_code

            self._master = by_code()
        found = self._master.get(value)
        if found is None:
            return "MUNICIPALITY_UNKNOWN", None
        return code, f"{found.prefecture_name}{found.name}のコードです"

    def _add(self, *, code: str, detail: str | None, **fields: Any) -> None:
        message = codelists.issue_message(
            code,
            file=fields["file_name"],
            sheet=fields["sheet"],
            cell=fields["cell"],
            value=fields["value"],
            detail=detail,
        )
        self._file_level.add((fields["sha256"], code))
        self.rows.append(
            {**fields, "code": code, "message": message, "hint": codelists.issue_hint(code), "stage": STAGE}
        )

    def frame(self, existing: pd.DataFrame | None) -> pd.DataFrame:
        issues = conform(pd.DataFrame(self.rows), "file_issues")
        grain = ["sha256", "code", "sheet", "cell"]
        issues = issues.drop_duplicates(subset=grain).reset_index(drop=True)
        if existing is not None and len(existing) and len(issues):
            existing = conform(existing, "file_issues")
            known = set(map(tuple, _keys(existing, grain)))
            issues = issues[[tuple(k) not in known for k in _keys(issues, grain)]].reset_index(drop=True)
            # A cell transform already explained (e.g. MUNICIPALITY_UNKNOWN on the cover code) gets no
            # second, contradicting reason from a generic rule (the code is then null in staging).
            explained = set(map(tuple, _keys(existing, ["sha256", "sheet", "cell"])))
            generic = issues["code"].isin(["MUNICIPALITY_CODE_INVALID", "VALIDATION_FAILED"])
            repeated = pd.Series(
                [tuple(k) in explained for k in _keys(issues, ["sha256", "sheet", "cell"])],
                index=issues.index,
            )
            issues = issues[~(generic & repeated)].reset_index(drop=True)
        return issues


def _keys(frame: pd.DataFrame, columns: list[str]) -> list[list[str]]:
    return frame[columns].astype(object).fillna("").astype(str).to_numpy().tolist()
