"""Great Expectations validation of staging batches: suites, cell mapping, caps, Data Docs.

Batches are built here as DataFrames (transform.batch.conform), three files per batch; every
failing case breaks one rule in the middle file only.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kokuho import codelists, layout
from kokuho.catalog import Catalog
from kokuho.config import project_root
from kokuho.municipalities import by_code, check_digit
from transform.batch import StagingBatch, conform
from transform.contracts import STAGING_TABLES

COVER = layout.COVER_TITLE
SECTION = "1 保険税関係"
TARGETS = layout.TARGETS_TITLE
CODES = ["111007", "112011", "112071"]  # さいたま市, 川越市, 秩父市
BAD = 1  # the file each failing case breaks


@pytest.fixture(scope="module")
def gx_ready() -> None:
    """Import GX and open the in-memory context once for the module (~3-8 s)."""
    from kokuho.config import apply_offline_env

    apply_offline_env()
    from expectations.validate import warm_up

    warm_up()


def sha_of(n: int) -> str:
    return hashlib.sha256(f"file-{n}".encode()).hexdigest()


def file_name(n: int) -> str:
    return f"{CODES[n]}_test_2024_国保取組状況調査票.xlsx"


def make_batch(catalog: Catalog, files: int = 3) -> StagingBatch:
    """A batch that passes every suite: per file a cover row, 4 answers, 1 own initiative, 2 targets."""
    subs, responses, own, targets = [], [], [], []
    measures = catalog.measures[:4]
    target = catalog.numeric_targets[0]
    for n in range(files):
        common = {
            "file_name": file_name(n),
            "sha256": sha_of(n),
            "municipality_code": CODES[n],
            "survey_id": catalog.survey_id,
            "fiscal_year": catalog.fiscal_year,
        }
        subs.append(
            {
                **common,
                "file_path": f"/inbox/{file_name(n)}",
                "file_size": 12345,
                "file_kind": "xlsx",
                "has_macros": False,
                "received_at": pd.Timestamp("2024-06-01", tz="UTC"),
                "sheet": COVER,
                "cell": "C6",
                "prefecture_code": catalog.prefecture_code,
                "catalog_version": catalog.catalog_version,
                "municipality_name": by_code()[CODES[n]].name,
            }
        )
        for i, measure in enumerate(measures):
            row = 10 + i
            yes = i % 2 == 0
            responses.append(
                {
                    **common,
                    "sheet": SECTION,
                    "cell": f"D{row}",
                    "row_no": row,
                    "measure_id": measure.id,
                    "label": measure.label,
                    "answer_raw": "○" if yes else None,
                    "answer": codelists.ANSWER_YES if yes else codelists.ANSWER_NO,
                    "implemented": yes,
                    "budget_line": "収納対策事業" if yes else None,
                }
            )
        own.append(
            {
                **common,
                "sheet": SECTION,
                "cell": "C20",
                "row_no": 20,
                "table_id": catalog.tables[0].table_id,
                "position": 1,
                "text": "独自の取組",
            }
        )
        for j, year in enumerate(target.years(catalog.fiscal_year)[:2]):
            targets.append(
                {
                    **common,
                    "sheet": TARGETS,
                    "cell": f"D{5 + j}",
                    "row_no": 5 + j,
                    "target_id": target.id,
                    "target_year": year,
                    "raw_text": "95％以上",
                    "value": 95.0,
                    "qualifier": codelists.QUALIFIER_AT_LEAST,
                }
            )
    return StagingBatch(
        submissions=conform(pd.DataFrame(subs), "stg_submissions"),
        responses=conform(pd.DataFrame(responses), "stg_responses"),
        own_initiatives=conform(pd.DataFrame(own), "stg_own_initiatives"),
        numeric_targets=conform(pd.DataFrame(targets), "stg_numeric_targets"),
        issues=conform(pd.DataFrame(), "file_issues"),
    )


def row_of(frame: pd.DataFrame, k: int = 0) -> int:
    """Index of the k-th row of the broken file in a staging frame."""
    return int(frame.index[frame["sha256"] == sha_of(BAD)][k])


def unknown_code() -> str:
    """A well-formed Saitama-range code (valid check digit) that names no municipality."""
    known = by_code()
    for n in range(11000, 12000):
        code = f"{n}{check_digit(str(n))}"
        if code not in known:
            return code
    raise AssertionError("no free code")


def _set(table: str, column: str, value: object, k: int = 0) -> Callable[[StagingBatch], None]:
    def mutate(batch: StagingBatch) -> None:
        frame = getattr(batch, table)
        frame.loc[row_of(frame, k), column] = value

    return mutate


def _both(*mutations: Callable[[StagingBatch], None]) -> Callable[[StagingBatch], None]:
    def mutate(batch: StagingBatch) -> None:
        for m in mutations:
            m(batch)

    return mutate


def _duplicate(table: str, column: str) -> Callable[[StagingBatch], None]:
    """Give the broken file's second row the first row's key (two rows for one key)."""

    def mutate(batch: StagingBatch) -> None:
        frame = getattr(batch, table)
        frame.loc[row_of(frame, 1), column] = frame.loc[row_of(frame, 0), column]

    return mutate


def _second_own_row(batch: StagingBatch) -> None:
    frame = batch.own_initiatives
    extra = frame.loc[[row_of(frame)]].assign(cell="C21", row_no=21, text="もう一つ")
    batch.own_initiatives = conform(pd.concat([frame, extra], ignore_index=True), "stg_own_initiatives")


def _same_file_twice(batch: StagingBatch) -> None:
    frame = batch.submissions
    batch.submissions = conform(
        pd.concat([frame, frame.loc[[row_of(frame)]]], ignore_index=True), "stg_submissions"
    )


# (id, mutation, expected code, sheet, cell, value in the issue)
CASES = [
    (
        "code-missing",
        _set("submissions", "municipality_code", None),
        "MUNICIPALITY_CODE_INVALID",
        COVER,
        "C6",
        None,
    ),
    (
        "code-other-prefecture",
        _set("submissions", "municipality_code", "131016"),
        "MUNICIPALITY_OTHER_PREFECTURE",
        COVER,
        "C6",
        "131016",
    ),
    (
        "code-unknown",
        _set("submissions", "municipality_code", unknown_code()),
        "MUNICIPALITY_UNKNOWN",
        COVER,
        "C6",
        None,
    ),
    ("prefecture", _set("submissions", "prefecture_code", "13"), "WRONG_SURVEY", COVER, None, "13"),
    ("fiscal-year", _set("submissions", "fiscal_year", 2023), "WRONG_SURVEY", COVER, None, "2023"),
    (
        "survey-id",
        _set("submissions", "survey_id", "11-2024-2023.9"),
        "WRONG_SURVEY",
        COVER,
        None,
        "11-2024-2023.9",
    ),
    ("same-file-twice", _same_file_twice, "VALIDATION_FAILED", COVER, "C6", None),
    (
        "answer-unknown-symbol",
        _both(_set("responses", "answer", None), _set("responses", "answer_raw", "△")),
        "UNKNOWN_ANSWER",
        SECTION,
        "D10",
        "△",
    ),
    (
        "answer-not-in-set",
        _both(_set("responses", "answer", "×"), _set("responses", "answer_raw", "×")),
        "UNKNOWN_ANSWER",
        SECTION,
        "D10",
        "×",
    ),
    (
        "measure-unknown",
        _set("responses", "measure_id", "9-9-99"),
        "UNKNOWN_MEASURE",
        SECTION,
        "A10",
        "9-9-99",
    ),
    ("measure-twice", _duplicate("responses", "measure_id"), "DUPLICATE_MEASURE", SECTION, "D11", None),
    (
        "budget-line-too-long",
        _set("responses", "budget_line", "事" * (codelists.BUDGET_LINE_MAX_CHARS + 1)),
        "TEXT_TOO_LONG",
        SECTION,
        "E10",
        None,
    ),
    (
        "note-too-long",
        _set("responses", "note", "備" * (codelists.NOTE_MAX_CHARS + 1)),
        "TEXT_TOO_LONG",
        SECTION,
        "F10",
        None,
    ),
    (
        "response-other-prefecture",
        _set("responses", "municipality_code", "131016"),
        "MUNICIPALITY_OTHER_PREFECTURE",
        SECTION,
        "D10",
        "131016",
    ),
    ("response-fiscal-year", _set("responses", "fiscal_year", 2023), "WRONG_SURVEY", SECTION, None, "2023"),
    (
        "own-table-unknown",
        _set("own_initiatives", "table_id", "9-9"),
        "VALIDATION_FAILED",
        SECTION,
        "A20",
        "9-9",
    ),
    ("own-text-missing", _set("own_initiatives", "text", None), "VALIDATION_FAILED", SECTION, "C20", None),
    (
        "own-text-too-long",
        _set("own_initiatives", "text", "取" * (codelists.OWN_INITIATIVE_MAX_CHARS + 1)),
        "TEXT_TOO_LONG",
        SECTION,
        "C20",
        None,
    ),
    ("own-position-twice", _second_own_row, "VALIDATION_FAILED", SECTION, "C21", None),
    (
        "target-above-100",
        _both(_set("numeric_targets", "value", 120.0), _set("numeric_targets", "raw_text", "120%")),
        "TARGET_OUT_OF_RANGE",
        TARGETS,
        "D5",
        "120%",
    ),
    (
        "target-negative",
        _both(_set("numeric_targets", "value", -1.0), _set("numeric_targets", "raw_text", "-1")),
        "TARGET_OUT_OF_RANGE",
        TARGETS,
        "D5",
        "-1",
    ),
    (
        "target-id-unknown",
        _set("numeric_targets", "target_id", "nope"),
        "VALIDATION_FAILED",
        TARGETS,
        "A5",
        "nope",
    ),
    (
        "target-year-far",
        _set("numeric_targets", "target_year", 2040),
        "VALIDATION_FAILED",
        TARGETS,
        "C5",
        "2040",
    ),
    (
        "target-year-past",  # before the first year asked (the results of R4)
        _set("numeric_targets", "target_year", 2021),
        "VALIDATION_FAILED",
        TARGETS,
        "C5",
        "2021",
    ),
    (
        "target-qualifier",
        _set("numeric_targets", "qualifier", "以下"),
        "VALIDATION_FAILED",
        TARGETS,
        "D5",
        "95％以上",
    ),
    (
        "target-year-twice",
        _duplicate("numeric_targets", "target_year"),
        "VALIDATION_FAILED",
        TARGETS,
        "D6",
        None,
    ),
    (
        "target-note-too-long",
        _set("numeric_targets", "note", "備" * (codelists.NOTE_MAX_CHARS + 1)),
        "TEXT_TOO_LONG",
        TARGETS,
        "E5",
        None,
    ),
]


def test_passing_batch_has_no_issues(gx_ready: None, saitama_catalog: Catalog) -> None:
    from expectations.validate import validate_batch

    outcome = validate_batch(make_batch(saitama_catalog), saitama_catalog)
    assert outcome.issues.empty
    assert outcome.failed_files == set()
    assert set(outcome.results) == {
        "stg_submissions",
        "stg_responses",
        "stg_own_initiatives",
        "stg_numeric_targets",
        "stg_item_values",
        "stg_rule_checks",
    }
    for summary in outcome.results.values():
        assert summary.success and summary.unexpected_count == 0
        assert summary.evaluated_expectations == summary.successful_expectations > 0
    assert outcome.results["stg_responses"].rows == 12
    assert outcome.data_docs_index is None


@pytest.mark.parametrize(
    ("mutate", "code", "sheet", "cell", "value"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_rule_names_file_sheet_and_cell(
    gx_ready: None,
    saitama_catalog: Catalog,
    mutate: Callable[[StagingBatch], None],
    code: str,
    sheet: str,
    cell: str | None,
    value: str | None,
) -> None:
    from expectations.validate import validate_batch

    batch = make_batch(saitama_catalog)
    mutate(batch)
    outcome = validate_batch(batch, saitama_catalog)

    assert outcome.failed_files == {sha_of(BAD)}, "only the broken file fails; the others pass"
    issues = outcome.issues
    assert set(issues["sha256"]) == {sha_of(BAD)}
    assert set(issues["file_name"]) == {file_name(BAD)}
    assert (issues["stage"] == "validate").all()
    assert list(issues.columns) == [
        "file_name",
        "sha256",
        "sheet",
        "cell",
        "value",
        "code",
        "rule",
        "message",
        "hint",
        "stage",
    ]
    match = issues[(issues["code"] == code) & (issues["sheet"] == sheet)]
    match = match[match["cell"].isna()] if cell is None else match[match["cell"] == cell]
    assert len(match) == 1, issues[["code", "sheet", "cell", "value", "message"]].to_string()
    issue = match.iloc[0]
    assert file_name(BAD) in issue["message"]
    if code != "WRONG_SURVEY":  # its message names the file only
        assert f"シート「{sheet}」" in issue["message"]
    if cell is not None:
        assert f"セル{cell}" in issue["message"] or f"欄 {cell}" in issue["message"]
    if value is not None:
        assert issue["value"] == value
    assert issue["hint"] == codelists.issue_hint(code)
    assert issue["rule"].startswith("stg_")
    assert not all(summary.success for summary in outcome.results.values())


def test_garbage_file_is_capped_and_fails_alone(gx_ready: None, saitama_catalog: Catalog) -> None:
    from expectations.validate import validate_batch

    batch = make_batch(saitama_catalog)
    rows = 5000
    garbage = pd.DataFrame(
        {
            "file_name": "garbage.xlsx",
            "sha256": "0" * 64,
            "sheet": SECTION,
            "cell": [f"D{r}" for r in range(10, rows + 10)],
            "row_no": range(10, rows + 10),
            "municipality_code": CODES[0],
            "survey_id": saitama_catalog.survey_id,
            "fiscal_year": saitama_catalog.fiscal_year,
            "measure_id": [f"junk-{r}" for r in range(rows)],
            "answer_raw": "？",
            "answer": None,
        }
    )
    batch.responses = conform(pd.concat([batch.responses, garbage], ignore_index=True), "stg_responses")
    outcome = validate_batch(batch, saitama_catalog, max_rows_per_file=100, max_issues_per_file=5)

    assert outcome.failed_files == {"0" * 64}
    assert outcome.results["stg_responses"].rows == 12 + 100
    mine = outcome.issues[outcome.issues["sha256"] == "0" * 64]
    assert (mine["code"] == "TOO_MANY_PROBLEMS").sum() == 1
    assert mine["message"].str.contains("garbage.xlsx").all()
    assert set(mine["code"]) == {"TOO_MANY_PROBLEMS", "UNKNOWN_MEASURE", "UNKNOWN_ANSWER"}
    assert (mine["code"] == "UNKNOWN_MEASURE").sum() == 5
    assert (mine["code"] == "UNKNOWN_ANSWER").sum() == 5
    assert set(outcome.issues["sha256"]) == {"0" * 64}


def test_issues_already_reported_are_not_repeated(gx_ready: None, saitama_catalog: Catalog) -> None:
    from expectations.validate import validate_batch

    batch = make_batch(saitama_catalog)
    _both(_set("responses", "answer", None), _set("responses", "answer_raw", "△"))(batch)
    earlier = {
        "file_name": file_name(BAD),
        "sha256": sha_of(BAD),
        "sheet": SECTION,
        "cell": "D10",
        "value": "△",
        "code": "UNKNOWN_ANSWER",
        "message": "staged",
        "hint": "",
        "stage": "transform",
    }
    batch.issues = conform(pd.DataFrame([earlier]), "file_issues")
    outcome = validate_batch(batch, saitama_catalog)
    assert outcome.issues.empty
    assert outcome.failed_files == {sha_of(BAD)}


def test_a_wrong_prefecture_is_reported_once_per_file(gx_ready: None, saitama_catalog: Catalog) -> None:
    from expectations.validate import validate_batch

    batch = make_batch(saitama_catalog)
    for attr in ("submissions", "responses", "own_initiatives", "numeric_targets"):
        frame = getattr(batch, attr)
        frame.loc[frame["sha256"] == sha_of(BAD), "municipality_code"] = "131016"
    outcome = validate_batch(batch, saitama_catalog)
    assert outcome.failed_files == {sha_of(BAD)}
    assert outcome.issues[["code", "sheet", "cell"]].values.tolist() == [
        ["MUNICIPALITY_OTHER_PREFECTURE", COVER, "C6"]
    ]
    assert "東京都千代田区" in outcome.issues["message"].iloc[0]


def test_data_docs_are_built_offline_and_pruned(
    gx_ready: None, saitama_catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from expectations.data_docs import stored_runs
    from expectations.validate import RESULTS_SUBDIR, _runner, validate_batch

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    gx_root = project_root() / "expectations" / "gx"
    before = {p: p.stat().st_mtime_ns for p in gx_root.rglob("*")}

    docs = tmp_path / "data_docs"
    failing = make_batch(saitama_catalog)
    _set("responses", "measure_id", "9-9-99")(failing)
    for batch in (make_batch(saitama_catalog), failing, make_batch(saitama_catalog)):
        outcome = validate_batch(batch, saitama_catalog, data_docs_dir=docs, keep_runs=2)
        assert outcome.data_docs_index == docs / "index.html"
        assert outcome.data_docs_index.is_file()

    assert len(stored_runs(_runner(docs).context)) == 2
    suites = len(STAGING_TABLES)
    assert len(list((docs / RESULTS_SUBDIR).rglob("*.json"))) == 2 * suites
    assert len(list((docs / "validations").rglob("*.html"))) == 2 * suites
    assert len(list((docs / "expectations").glob("*.html"))) == suites
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert "stg_responses" in index and saitama_catalog.survey_id in index
    assert {p: p.stat().st_mtime_ns for p in gx_root.rglob("*")} == before, "the checkout must stay clean"


def test_committed_suites_match_the_code(gx_ready: None, saitama_catalog: Catalog) -> None:
    from expectations.context import SUITES_DIR
    from expectations.suites import PARAMETERS, write_suites
    from expectations.validate import suite_parameters

    assert write_suites(check=True) == [], "run `python -m expectations.suites` and commit the JSON"
    used = set()
    for path in SUITES_DIR.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        for expectation in json.loads(text)["expectations"]:
            used |= {v["$PARAMETER"] for v in expectation["kwargs"].values() if isinstance(v, dict)}
            assert expectation["meta"]["issue_code"] in codelists.ISSUES
    assert used == set(PARAMETERS) == set(suite_parameters(saitama_catalog))


def test_a_validated_batch_is_not_kept_by_gx(gx_ready: None, saitama_catalog: Catalog) -> None:
    """GX's execution engine kept the last frames it validated until the next validation: in a
    chunked run, each chunk's frames outlived it."""
    from expectations.context import DATASOURCE
    from expectations.validate import _runner, validate_batch

    validate_batch(make_batch(saitama_catalog), saitama_catalog)
    engine = _runner(None).context.data_sources.get(DATASOURCE).get_execution_engine()
    assert engine.batch_manager.batch_data_cache == {}
    assert engine.batch_manager.active_batch is None


def test_context_has_analytics_off(gx_ready: None) -> None:
    from expectations.validate import _runner

    context = _runner(None).context
    assert context.config.analytics_enabled is False
    assert context.config.data_docs_sites == {}


def test_validate_module_does_not_import_great_expectations() -> None:
    code = "import sys, expectations.validate; sys.exit('great_expectations' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=project_root(), check=False).returncode == 0


def test_an_expectation_gx_cannot_evaluate_stops_the_run(
    gx_ready: None, saitama_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A metric error must not read as "no failing rows" (which would accept the files)."""
    from expectations import validate

    original = validate._Runner._validate

    def without_answer(batch: Any, suite: Any, params: dict) -> Any:
        if suite.name == "stg_responses":
            batch.data.dataframe.drop(columns=["answer"], inplace=True)
        return original(batch, suite, params)

    monkeypatch.setattr(validate._Runner, "_validate", staticmethod(without_answer))
    with pytest.raises(validate.ExpectationError, match="answer"):
        validate.validate_batch(make_batch(saitama_catalog), saitama_catalog)


def test_a_cached_runner_validates_each_batch_against_its_own_catalog(
    gx_ready: None, saitama_catalog: Catalog
) -> None:
    """The context (and, within a validation, each expectation's configuration) is reused:
    nothing of one batch or of its catalog's parameters may leak into the next validation."""
    from expectations.validate import validate_batch
    from kokuho.catalog import load_catalog_for

    okayama = load_catalog_for("33", 2024)
    unknown_measure = make_batch(saitama_catalog)
    _set("responses", "measure_id", "9-9-99")(unknown_measure)

    first = validate_batch(unknown_measure, saitama_catalog)
    assert first.failed_files == {sha_of(BAD)}
    assert set(first.issues["code"]) == {"UNKNOWN_MEASURE"}
    assert validate_batch(make_batch(saitama_catalog), saitama_catalog).issues.empty
    elsewhere = validate_batch(make_batch(saitama_catalog), okayama)
    assert elsewhere.failed_files == {sha_of(n) for n in range(3)}
    assert "WRONG_SURVEY" in set(elsewhere.issues["code"])
    again = validate_batch(make_batch(saitama_catalog), saitama_catalog)
    assert again.issues.empty and again.failed_files == set()


def test_gx_conversions_are_memoized_only_while_validating(gx_ready: None) -> None:
    import great_expectations.expectations as gxe

    from expectations.validate import _conversions_memoized

    expectation = gxe.ExpectColumnValuesToBeInSet(column="code", value_set=["111007"])
    with _conversions_memoized():
        configuration = expectation.configuration
        assert expectation.configuration is configuration
        assert configuration.to_domain_obj() is configuration.to_domain_obj()
    expectation.value_set = ["112011"]
    assert expectation.configuration.kwargs["value_set"] == ["112011"]
    assert expectation.configuration is not expectation.configuration
    assert configuration.to_domain_obj() is not configuration.to_domain_obj()


def test_gx_metric_ids_while_validating_are_gx_own(gx_ready: None) -> None:
    """The IDs GX gives metric arguments are the same with the memo of a validation as without,
    for arguments alike in content but not identity, and for scalars equal across types."""
    from great_expectations.core.id_dict import IDDict

    from expectations.validate import _conversions_memoized
    from expectations.validate.memo import _MEMO, _memoize_conversions

    _memoize_conversions()
    codes = [f"{n:06d}" for n in range(2000)]
    arguments = [
        IDDict(column="code", value_set=codes, mostly=1),
        IDDict(column="code", value_set=list(codes), mostly=1.0),
        IDDict(column="code", value_set=codes[:-1], mostly=1),
        IDDict(column="code", value_set=codes, mostly=True),
        IDDict(column="code", row_condition=None, condition_parser=None, batch_id="b"),
        IDDict(column="code", row_condition='code=="1"', condition_parser="pandas", batch_id="b"),
        IDDict(value=1),
        IDDict(value=1.0),
        IDDict(value=float("nan"), other=None),
        IDDict(result_format={"result_format": "COMPLETE"}, column="x"),
        IDDict(),
    ]
    outside = [a.to_id() for a in arguments]
    with _conversions_memoized():
        inside = [a.to_id() for a in arguments]
        again = [a.to_id() for a in arguments]
        assert [hash(a) for a in arguments] == [hash(i) for i in outside]
        memo = _MEMO.get()
        assert memo is not None and sum(key[0] == "id" for key in memo) == len(arguments)
    assert inside == outside == again
    assert outside[0] != outside[2]  # a value set one code shorter is another metric


def test_stored_results_cover_every_row_and_name_the_failing_cells(
    gx_ready: None, saitama_catalog: Catalog, tmp_path: Path
) -> None:
    """GX is given only the checked columns (and row_id) but every row; Data Docs still show the
    file, sheet and cell of each failing row."""
    from expectations.validate import INDEX_COLUMNS, RESULTS_SUBDIR, validate_batch

    docs = tmp_path / "data_docs"
    batch = make_batch(saitama_catalog)
    _set("responses", "measure_id", "9-9-99")(batch)
    validate_batch(batch, saitama_catalog, data_docs_dir=docs)

    (stored,) = (docs / RESULTS_SUBDIR / "stg_responses").rglob("*.json")
    results = json.loads(stored.read_text(encoding="utf-8"))["results"]
    assert {r["result"]["element_count"] for r in results} == {12}
    (failed,) = [r for r in results if not r["success"]]
    assert failed["result"]["unexpected_index_column_names"] == INDEX_COLUMNS
    (row,) = failed["result"]["unexpected_index_list"]
    bad_row = row_of(batch.responses)
    assert int(row.pop("row_id")) == bad_row
    assert row == {
        "measure_id": "9-9-99",
        "file_name": file_name(BAD),
        "sheet": SECTION,
        "cell": batch.responses.loc[bad_row, "cell"],
    }
