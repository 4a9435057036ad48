"""Returned workbooks as municipalities really send them, through the real pipeline steps.

Every file is the FY2024 Saitama template (kokuho.templates) filled in and given one quirk
(tests/workbook_factory.py). All of them go into one inbox, and `flows.steps.stage_files` runs
once over it (extract in isolated workers -> transform -> Great Expectations -> quarantine);
every test reads that one result. Tolerated quirks must be accepted with the right staged values;
rejected ones quarantined with their code, a Japanese message naming file, sheet and cell, the
original untouched and the reasons and annotated copy beside it. Every file ends accepted,
superseded or quarantined, and no row of an accepted file is lost.
"""

from __future__ import annotations

import csv
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import openpyxl
import pandas as pd
import pytest
from workbook_factory import (
    CASES,
    PROBE,
    REJECTED,
    TOLERATED,
    YES,
    Built,
    build_case,
    filled,
    municipalities,
    to_bytes,
)

from kokuho import codelists
from kokuho.catalog import load_catalog_for
from kokuho.config import Settings
from kokuho.templates import write_template

if TYPE_CHECKING:
    from flows.steps import FileOutcome, StageResult

RESUBMITTED = "M005"  # blank in the first file, yes in the re-submission
FINAL_STATUSES = {codelists.STATUS_ACCEPTED, codelists.STATUS_SUPERSEDED, codelists.STATUS_QUARANTINED}


@dataclass
class Run:
    settings: Settings
    inbox: Path
    built: dict[str, Built]  # case name -> built file
    resubmission: tuple[Path, Path]  # (first, later) from one municipality
    previous_year: Path  # the FY2023 template, blank
    sha_before: dict[str, str]  # file name -> sha256 before the run
    result: StageResult
    outcomes: dict[str, FileOutcome]  # file name -> its outcome


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    from flows.steps import mark_superseded_within, scan_inbox, stage_files

    home = tmp_path_factory.mktemp("quirks_home")
    inbox = home / "inbox"
    inbox.mkdir()
    settings = Settings.resolve(home=home, db_path=home / "kokuho.duckdb", inbox=inbox)

    # Accepted files compete per municipality (re-submissions), so each gets its own; rejected
    # files never compete and share one.
    munis = municipalities()
    resubmitter, rejected_muni, fy2023_muni, *others = munis
    assert len(others) >= len(TOLERATED)
    built = {case.name: build_case(case, inbox, muni) for case, muni in zip(TOLERATED, others, strict=False)}
    built |= {case.name: build_case(case, inbox, rejected_muni) for case in REJECTED}

    # A re-submission whose name sorts first, so only the later mtime can make it win.
    first = inbox / f"{resubmitter.code}_{resubmitter.name}_初回.xlsx"
    later = inbox / f"{resubmitter.code}_{resubmitter.name}_再提出.xlsx"
    first.write_bytes(to_bytes(filled(resubmitter).wb))
    survey = filled(resubmitter)
    survey.set_answer(RESUBMITTED, "○", YES)
    later.write_bytes(to_bytes(survey.wb))
    now = time.time()
    os.utime(first, (now - 86400, now - 86400))
    os.utime(later, (now, now))
    assert later.name < first.name

    # Last year's survey is another valid survey: staged against its own catalog, not rejected.
    previous_year = write_template(
        load_catalog_for("11", 2023),
        fy2023_muni,
        inbox / f"{fy2023_muni.code}_{fy2023_muni.name}_2023_国保取組状況調査票.xlsx",
    )

    sha_before = {p.name: _sha(p) for p in inbox.iterdir()}
    files = scan_inbox([inbox])
    result = stage_files(files, settings)
    mark_superseded_within(result.outcomes, {f.sha256: f.mtime for f in files})
    return Run(
        settings=settings,
        inbox=inbox,
        built=built,
        resubmission=(first, later),
        previous_year=previous_year,
        sha_before=sha_before,
        result=result,
        outcomes={o.file_name: o for o in result.outcomes},
    )


def _rows(run: Run, table: str, path: Path) -> pd.DataFrame:
    frame = getattr(run.result.batch, table)
    return frame[frame["sha256"] == run.sha_before[path.name]]


def _outcome(run: Run, name: str) -> FileOutcome:
    return run.outcomes[run.built[name].path.name]


def _quarantine_dir(outcome: FileOutcome) -> Path:
    assert outcome.quarantine_dir is not None, outcome.file_name
    return outcome.quarantine_dir


def _issue(run: Run, name: str) -> dict[str, object]:
    """The file's issue with the case's code."""
    outcome = _outcome(run, name)
    found = [i for i in outcome.issues if i["code"] == CASES[name].code]
    assert found, f"{name}: {CASES[name].code} not in {[i['code'] for i in outcome.issues]}"
    return found[0]


TOLERATED_NAMES = [case.name for case in TOLERATED]
REJECTED_NAMES = [case.name for case in REJECTED]
CONTENT_REJECTED = [case.name for case in REJECTED if not case.file_level]
FILE_LEVEL_REJECTED = [case.name for case in REJECTED if case.file_level]


# --- accounting ----------------------------------------------------------------------------------


def test_every_inbox_file_ends_in_exactly_one_final_status(run: Run) -> None:
    inbox_names = sorted(p.name for p in run.inbox.iterdir())
    outcome_names = [o.file_name for o in run.result.outcomes]
    assert sorted(outcome_names) == inbox_names  # none lost, none twice
    assert {o.status for o in run.result.outcomes} <= FINAL_STATUSES
    counts = pd.Series([o.status for o in run.result.outcomes]).value_counts().to_dict()
    assert counts == {
        "accepted": len(TOLERATED) + 2,
        "quarantined": len(REJECTED),
        "superseded": 1,
    }


def test_no_staged_row_of_an_accepted_file_is_lost(run: Run) -> None:
    """Every accepted (or superseded) file stages one row per measure and per target of its own
    survey's catalog, and its submission row."""
    batch = run.result.batch
    kept = [o for o in run.result.outcomes if o.status != "quarantined"]
    years = {o.sha256: o.fiscal_year for o in kept}
    assert None not in years.values()
    catalogs = {year: load_catalog_for("11", year) for year in years.values() if year is not None}
    assert len(catalogs[2024].measures) == 150  # seed 001: FY2024 Saitama
    for table, per_file in (
        ("responses", lambda c: len(c.measures)),
        ("numeric_targets", lambda c: sum(len(t.years(c.fiscal_year)) for t in c.numeric_targets)),
        ("submissions", lambda c: 1),
    ):
        frame = getattr(batch, table)
        staged = frame[frame["sha256"].isin({o.sha256 for o in kept})].groupby("sha256").size().to_dict()
        assert staged == {sha: per_file(catalogs[year]) for sha, year in years.items() if year is not None}, (
            table
        )


def test_inbox_is_untouched(run: Run) -> None:
    assert {p.name: _sha(p) for p in run.inbox.iterdir()} == run.sha_before


# --- tolerated -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TOLERATED_NAMES)
def test_tolerated_file_is_accepted(run: Run, name: str) -> None:
    outcome = _outcome(run, name)
    assert (outcome.status, outcome.issues) == ("accepted", [])
    assert outcome.quarantine_dir is None
    assert outcome.municipality_code == run.built[name].expected.municipality_code
    assert outcome.fiscal_year == 2024


@pytest.mark.parametrize("name", TOLERATED_NAMES)
def test_tolerated_answers_are_staged_as_written(run: Run, name: str) -> None:
    built = run.built[name]
    expected = built.expected
    rows = _rows(run, "responses", built.path).set_index("measure_id")
    assert len(rows) == 150
    assert rows["answer"].to_dict() == expected.answers
    assert rows["implemented"].to_dict() == {m: a == YES for m, a in expected.answers.items()}
    assert rows["budget_line"].dropna().to_dict() == expected.budget_lines
    assert (rows["municipality_code"] == expected.municipality_code).all()
    # Provenance: each answer comes from the cell its key points at, wherever the row went.
    assert {m: (r.sheet, r.cell) for m, r in rows.iterrows()} == expected.cells
    for measure_id, label in expected.labels.items():
        assert rows.at[measure_id, "label"] == label


@pytest.mark.parametrize("name", TOLERATED_NAMES)
def test_tolerated_own_initiatives_and_targets(run: Run, name: str) -> None:
    built = run.built[name]
    own = _rows(run, "own_initiatives", built.path)
    assert [
        (r.table_id, r.position, r.text, None if pd.isna(r.budget_line) else r.budget_line)
        for r in own.itertuples()
    ] == built.expected.own
    targets = _rows(run, "numeric_targets", built.path)
    staged = {
        (r.target_id, r.target_year): (
            None if pd.isna(r.raw_text) else r.raw_text,
            None if pd.isna(r.value) else float(r.value),
            None if pd.isna(r.qualifier) else r.qualifier,
        )
        for r in targets.itertuples()
    }
    assert staged == built.expected.targets


@pytest.mark.parametrize("name", TOLERATED_NAMES)
def test_tolerated_submission_records_kind_and_macros(run: Run, name: str) -> None:
    built = run.built[name]
    sub = _rows(run, "submissions", built.path)
    assert len(sub) == 1
    row = sub.iloc[0]
    assert (row["file_kind"], bool(row["has_macros"])) == (
        built.expected.file_kind,
        built.expected.has_macros,
    )
    assert (row["municipality_code"], row["survey_id"]) == (
        built.expected.municipality_code,
        "11-2024-2024.1",
    )
    assert row["contact_department"] == "国保年金課"


def test_quirks_really_change_the_cells(run: Run) -> None:
    """Guard against a quirk that silently writes nothing: the moved rows and the renamed sheet
    show in the provenance."""
    swapped = run.built["rows_swapped"].expected.cells
    assert (swapped["M001"][1], swapped["M002"][1]) == ("D7", "D6")
    inserted = run.built["row_inserted"].expected.cells
    assert inserted[PROBE][1] == "D8" and inserted["M004"][1] == "D10"
    above = run.built["rows_above_table"].expected.cells
    assert above["M001"][1] == "D9"
    assert run.built["sheet_renamed"].expected.cells["M001"][0] == "保険税（回答済）"


# --- rejected ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REJECTED_NAMES)
def test_rejected_file_is_quarantined_with_its_code(run: Run, name: str) -> None:
    outcome = _outcome(run, name)
    assert outcome.status == "quarantined"
    issue = _issue(run, name)
    built = run.built[name]
    assert (issue["sheet"], issue["cell"]) == (built.issue_sheet, built.issue_cell)
    assert issue["code"] in codelists.ISSUES


@pytest.mark.parametrize("name", REJECTED_NAMES)
def test_rejected_message_names_file_sheet_and_cell(run: Run, name: str) -> None:
    issue = _issue(run, name)
    built = run.built[name]
    message = str(issue["message"])
    assert f"ファイル「{built.path.name}」" in message
    if built.issue_sheet and CASES[name].code != "WRONG_SURVEY":  # a whole-file verdict
        assert built.issue_sheet in message
    if built.issue_cell:
        assert built.issue_cell in message
    code = CASES[name].code
    assert code is not None and issue["hint"] == codelists.issue_hint(code)


@pytest.mark.parametrize("name", REJECTED_NAMES)
def test_one_problem_gives_one_reason(run: Run, name: str) -> None:
    """A file with one quirk is sent back with that one reason, not a pile of consequences that
    would contradict it."""
    assert [i["code"] for i in _outcome(run, name).issues] == [CASES[name].code]


def test_unknown_symbol_names_its_cell(run: Run) -> None:
    issue = _issue(run, "unknown_symbol")
    assert (issue["sheet"], issue["cell"], issue["value"]) == ("1 保険税関係", "D8", "△")
    assert "セルD8の回答「△」" in str(issue["message"])


def test_only_the_rejected_files_are_quarantined(run: Run) -> None:
    quarantined = {o.file_name for o in run.result.outcomes if o.status == "quarantined"}
    assert quarantined == {run.built[name].path.name for name in REJECTED_NAMES}


@pytest.mark.parametrize("name", REJECTED_NAMES)
def test_quarantine_keeps_the_original_byte_for_byte(run: Run, name: str) -> None:
    outcome = _outcome(run, name)
    path = run.built[name].path
    assert path.is_file() and _sha(path) == run.sha_before[path.name]  # still in the inbox
    copy = _quarantine_dir(outcome) / path.name
    assert copy.read_bytes() == path.read_bytes()
    assert _quarantine_dir(outcome).parent == run.settings.quarantine_dir


@pytest.mark.parametrize("name", REJECTED_NAMES)
def test_reasons_csv_and_xlsx_list_the_issue(run: Run, name: str) -> None:
    outcome = _outcome(run, name)
    built = run.built[name]
    want = {
        "file": built.path.name,
        "sheet": built.issue_sheet or "",
        "cell": built.issue_cell or "",
        "code": CASES[name].code,
    }
    with (_quarantine_dir(outcome) / "reasons.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert want in [{k: r[k] for k in want} for r in rows]

    wb = openpyxl.load_workbook(_quarantine_dir(outcome) / "理由一覧.xlsx", read_only=True)
    try:
        sheet_rows = list(wb.active.iter_rows(values_only=True))
    finally:
        wb.close()
    assert built.path.name in sheet_rows[1][0]  # the file is named above the table
    header, body = sheet_rows[3], sheet_rows[4:]
    index = {key: header.index(ja) for ja, key in {"シート": "sheet", "セル": "cell"}.items()}
    reference = header.index("参考（エラーコード／ルール）")
    listed = [
        {
            "file": built.path.name,
            **{k: row[i] or "" for k, i in index.items()},
            "code": row[reference].split("／")[0],
        }
        for row in body
    ]
    assert want in listed
    message = body[listed.index(want)][header.index("内容")]
    assert built.path.name in message and CASES[name].code not in message


@pytest.mark.parametrize("name", CONTENT_REJECTED)
def test_annotated_copy_comments_the_offending_cell(run: Run, name: str) -> None:
    outcome = _outcome(run, name)
    built = run.built[name]
    annotated = _quarantine_dir(outcome) / f"返却用_{built.path.stem}.xlsx"
    assert annotated.is_file()
    wb = openpyxl.load_workbook(annotated)
    assert wb.sheetnames[0] == "確認事項"
    listed = [str(row) for row in wb["確認事項"].iter_rows(values_only=True)]
    assert any(built.path.name in row for row in listed)  # the summary sheet lists the issue
    if built.issue_sheet not in wb.sheetnames:  # the missing sheet: only the summary can say it
        assert name == "missing_sheet"
        return
    ws = wb[built.issue_sheet]
    address = (built.issue_cell or "B1").split(":")[0]
    comment = ws[address].comment
    assert comment is not None and built.path.name in comment.text
    assert CASES[name].code not in comment.text  # plain Japanese for the clerk
    assert ws.sheet_state == "visible"  # a hidden sheet is shown again for the municipality
    if name == "hidden_row":
        assert not ws.row_dimensions[int(address[1:])].hidden


@pytest.mark.parametrize("name", FILE_LEVEL_REJECTED)
def test_unreadable_file_gets_no_annotated_copy(run: Run, name: str) -> None:
    """Nothing that failed the container checks is handed to openpyxl for annotation."""
    outcome = _outcome(run, name)
    assert not list(_quarantine_dir(outcome).glob("返却用_*"))
    assert (_quarantine_dir(outcome) / "reasons.csv").is_file()


def test_the_xfd1048576_file_costs_only_itself(run: Run) -> None:
    """Dimensions are checked before python-calamine sees the sheet: no worker died on it (no
    PARSE_FAILED anywhere), the file has exactly its own verdict and every other file went on."""
    issues = _outcome(run, "xfd1048576").issues
    assert [i["code"] for i in issues] == ["SHEET_TOO_LARGE"]
    assert "XFD1048576" in str(issues[0]["message"])
    assert not [
        o.file_name for o in run.result.outcomes if any(i["code"] == "PARSE_FAILED" for i in o.issues)
    ]


def test_wrong_survey_stages_no_answers(run: Run) -> None:
    for name in ("year_without_catalog", "unknown_catalog_version"):
        path = run.built[name].path
        assert _rows(run, "responses", path).empty
        assert len(_rows(run, "submissions", path)) == 1


def test_last_years_template_is_staged_against_last_years_catalog(run: Run) -> None:
    outcome = run.outcomes[run.previous_year.name]
    assert (outcome.status, outcome.fiscal_year, outcome.issues) == ("accepted", 2023, [])
    responses = _rows(run, "responses", run.previous_year)
    assert len(responses) == len(load_catalog_for("11", 2023).measures)
    assert set(responses["survey_id"]) == {"11-2023-2023.1"}
    assert set(responses["answer"]) == {""}  # a blank template answers "no" everywhere


# --- re-submission -------------------------------------------------------------------------------


def test_later_resubmission_supersedes_the_earlier(run: Run) -> None:
    first, later = run.resubmission
    assert run.outcomes[later.name].status == "accepted"
    assert run.outcomes[first.name].status == "superseded"
    assert run.outcomes[first.name].issues == []


def test_changed_answers_list_the_changed_measure(run: Run) -> None:
    from transform.resubmission import changed_answers

    first, later = run.resubmission
    changes = changed_answers(_rows(run, "responses", first), _rows(run, "responses", later))
    assert changes[["measure_id", "old_answer", "new_answer", "change"]].to_dict("records") == [
        {"measure_id": RESUBMITTED, "old_answer": "", "new_answer": YES, "change": "changed"}
    ]


def test_superseded_file_keeps_its_rows(run: Run) -> None:
    first, _ = run.resubmission
    assert len(_rows(run, "responses", first)) == 150
