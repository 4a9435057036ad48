"""Re-submissions: the latest accepted file per municipality and survey wins; changes listed."""

from __future__ import annotations

import pandas as pd
import pytest

from transform.batch import conform, empty_frame
from transform.resubmission import CHANGE_COLUMNS, changed_answers, resolve_resubmissions

SURVEY = "11-2024-2024.1"


def submissions(*rows: tuple[str, str, str, str | None, str]) -> pd.DataFrame:
    """(sha256, file_name, received_at, municipality_code, status) -> stg_submissions + status."""
    frame = pd.DataFrame(
        [
            {
                "sha256": sha,
                "file_name": name,
                "file_path": f"/inbox/{name}",
                "received_at": pd.Timestamp(at, tz="UTC"),
                "municipality_code": code,
                "survey_id": SURVEY,
                "sheet": "表紙",
                "cell": "C10",
            }
            for sha, name, at, code, _ in rows
        ]
    )
    out = conform(frame, "stg_submissions") if rows else empty_frame("stg_submissions")
    out["status"] = pd.Series([r[4] for r in rows], dtype="string")
    return out


def status_of(resolution, sha: str) -> str:
    frame = resolution.submissions.set_index("sha256")
    return frame.loc[sha, "status"]


def test_later_file_supersedes_earlier() -> None:
    current = submissions(("a", "川越.xlsx", "2024-05-01", "112011", "accepted"))
    incoming = submissions(("b", "川越_修正.xlsx", "2024-05-20", "112011", "accepted"))
    res = resolve_resubmissions(current, incoming)
    assert status_of(res, "a") == "superseded" and status_of(res, "b") == "accepted"
    assert res.submissions.set_index("sha256").loc["a", "superseded_by"] == "b"
    assert len(res.submissions) == 2  # both kept
    assert list(res.latest["sha256"]) == ["b"]
    assert res.replacements.to_dict("records") == [
        {"municipality_code": "112011", "survey_id": SURVEY, "old_sha256": "a", "new_sha256": "b"}
    ]
    changed = res.changed.set_index("sha256")
    assert changed.loc["a", "old_status"] == "accepted" and changed.loc["a", "status"] == "superseded"
    assert changed.loc["b", "status"] == "accepted"


def test_a_file_first_seen_in_a_later_run_wins_whatever_its_modification_time() -> None:
    """The run that first saw a file orders it, not the file's time (which copying can change)."""
    current = submissions(("b", "b.xlsx", "2024-05-20", "112011", "accepted"))
    incoming = submissions(("a", "a.xlsx", "2024-05-01", "112011", "accepted"))
    res = resolve_resubmissions(current, incoming)
    assert status_of(res, "a") == "accepted" and status_of(res, "b") == "superseded"
    assert res.replacements.to_dict("records") == [
        {"municipality_code": "112011", "survey_id": SURVEY, "old_sha256": "b", "new_sha256": "a"}
    ]


def test_earlier_runs_are_ordered_by_when_they_saw_the_file() -> None:
    current = submissions(
        ("old", "x.xlsx", "2030-01-01", "112011", "accepted"),  # future-dated, seen first
        ("new", "y.xlsx", "2024-05-01", "112011", "superseded"),  # seen by a later run
    )
    current["seen_at"] = [pd.Timestamp("2024-05-02", tz="UTC"), pd.Timestamp("2024-05-09", tz="UTC")]
    res = resolve_resubmissions(current, submissions())
    assert status_of(res, "new") == "accepted" and status_of(res, "old") == "superseded"


@pytest.mark.parametrize("future", ["2024-06-01 12:00", "2099-12-31"])
def test_a_future_date_counts_as_the_runs_start(future: str) -> None:
    """Within one run, a time beyond the run's start (plus the tolerance) counts as the start:
    a file written while the run scanned (5 minutes in) is newer, however far the date goes."""
    run_start = pd.Timestamp("2024-06-01 00:00", tz="UTC")
    incoming = submissions(
        ("f", "b_future.xlsx", future, "112011", "accepted"),
        ("r", "a_real.xlsx", "2024-06-01 00:05", "112011", "accepted"),
    )
    res = resolve_resubmissions(submissions(), incoming, run_started_at=run_start.to_pydatetime())
    assert status_of(res, "r") == "accepted" and status_of(res, "f") == "superseded"


def test_a_future_dated_file_loses_to_the_next_runs_file() -> None:
    current = submissions(("f", "f.xlsx", "2099-12-31", "112011", "accepted"))
    current["seen_at"] = [pd.Timestamp("2024-06-01", tz="UTC")]
    incoming = submissions(("n", "n.xlsx", "2024-06-02", "112011", "accepted"))
    res = resolve_resubmissions(
        current, incoming, run_started_at=pd.Timestamp("2024-06-02", tz="UTC").timestamp()
    )
    assert status_of(res, "n") == "accepted" and status_of(res, "f") == "superseded"


def test_a_time_within_the_tolerance_is_taken_as_it_is() -> None:
    run_start = pd.Timestamp("2024-06-01 00:00", tz="UTC")
    incoming = submissions(
        ("late", "a.xlsx", "2024-06-01 00:05", "112011", "accepted"),  # written while the run scanned
        ("early", "b.xlsx", "2024-05-31 23:00", "112011", "accepted"),
    )
    res = resolve_resubmissions(submissions(), incoming, run_started_at=run_start.timestamp())
    assert status_of(res, "late") == "accepted" and status_of(res, "early") == "superseded"


def test_same_time_breaks_tie_by_file_name() -> None:
    incoming = submissions(
        ("x", "112011_v2.xlsx", "2024-05-01", "112011", "accepted"),
        ("y", "112011_v1.xlsx", "2024-05-01", "112011", "accepted"),
    )
    res = resolve_resubmissions(submissions(), incoming)
    assert status_of(res, "x") == "accepted" and status_of(res, "y") == "superseded"


def test_quarantined_files_never_compete() -> None:
    current = submissions(("a", "a.xlsx", "2024-05-01", "112011", "accepted"))
    incoming = submissions(
        ("q", "q.xlsx", "2024-06-01", "112011", "quarantined"),
        ("n", "n.xlsx", "2024-06-01", None, "quarantined"),
    )
    res = resolve_resubmissions(current, incoming)
    assert status_of(res, "a") == "accepted" and status_of(res, "q") == "quarantined"
    assert status_of(res, "n") == "quarantined"
    assert res.replacements.empty


def test_groups_are_per_municipality() -> None:
    incoming = submissions(
        ("a", "a.xlsx", "2024-05-01", "112011", "accepted"),
        ("b", "b.xlsx", "2024-05-02", "111007", "accepted"),
    )
    res = resolve_resubmissions(submissions(), incoming)
    assert set(res.submissions["status"]) == {"accepted"}
    assert sorted(res.latest["municipality_code"]) == ["111007", "112011"]
    assert res.replacements["old_sha256"].isna().all()


def test_same_bytes_twice_counted_once_and_idempotent() -> None:
    current = submissions(
        ("a", "a.xlsx", "2024-05-01", "112011", "superseded"),
        ("b", "b.xlsx", "2024-05-20", "112011", "accepted"),
    )
    current["superseded_by"] = pd.Series([None, None], dtype="string")
    current.loc[0, "superseded_by"] = "b"
    res = resolve_resubmissions(
        current, submissions(("b", "b_copy.xlsx", "2024-05-21", "112011", "accepted"))
    )
    assert len(res.submissions) == 2
    assert res.changed.empty and res.replacements.empty
    again = resolve_resubmissions(res.submissions, submissions())
    assert again.changed.empty
    assert again.submissions[["sha256", "status"]].equals(res.submissions[["sha256", "status"]])


def test_three_versions() -> None:
    current = submissions(
        ("v1", "v1.xlsx", "2024-05-01", "112011", "superseded"),
        ("v2", "v2.xlsx", "2024-05-10", "112011", "accepted"),
    )
    res = resolve_resubmissions(current, submissions(("v3", "v3.xlsx", "2024-05-20", "112011", "accepted")))
    frame = res.submissions.set_index("sha256")
    assert list(frame.loc[["v1", "v2", "v3"], "status"]) == ["superseded", "superseded", "accepted"]
    assert list(frame.loc[["v1", "v2"], "superseded_by"]) == ["v3", "v3"]


def responses(rows: list[tuple[str, str, str | None, str | None]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["measure_id", "label", "answer", "budget_line"])
    return conform(frame, "stg_responses")


def test_changed_answers() -> None:
    old = responses(
        [
            ("M001", "コンビニ収納", "○", "収納事業"),
            ("M002", "クレジット収納", "", None),
            ("M003", "口座振替", "○", None),
            ("M004", "催告", None, None),  # an unknown answer before
            ("M005", "SNS広報", "○", None),
        ]
    )
    new = responses(
        [
            ("M001", "コンビニ収納（修正）", "○", "収納対策事業"),  # budget line changed
            ("M002", "クレジット収納", "○", None),  # answer changed
            ("M003", "口座振替", "○", None),  # unchanged
            ("M004", "催告", None, None),  # unchanged (still unknown)
            ("M006", "新しい取組", "○", None),  # added
        ]
    )
    out = changed_answers(old, new)
    assert list(out.columns) == CHANGE_COLUMNS
    records = {r["measure_id"]: r for r in out.astype(object).where(out.notna(), None).to_dict("records")}
    assert set(records) == {"M001", "M002", "M005", "M006"}
    assert records["M001"] == {
        "measure_id": "M001",
        "label": "コンビニ収納（修正）",
        "old_answer": "○",
        "old_budget_line": "収納事業",
        "new_answer": "○",
        "new_budget_line": "収納対策事業",
        "change": "changed",
    }
    assert (records["M002"]["old_answer"], records["M002"]["new_answer"]) == ("", "○")
    assert records["M005"]["change"] == "removed" and records["M005"]["label"] == "SNS広報"
    assert records["M006"]["change"] == "added" and records["M006"]["old_answer"] is None


@pytest.mark.parametrize("empty_side", ["old", "new"])
def test_changed_answers_against_nothing(empty_side: str) -> None:
    some = responses([("M001", "a", "○", None)])
    none = empty_frame("stg_responses")
    out = changed_answers(none, some) if empty_side == "old" else changed_answers(some, none)
    assert list(out["change"]) == ["added" if empty_side == "old" else "removed"]


def test_identical_submissions_have_no_changes() -> None:
    rows = responses([("M001", "a", "○", "事業"), ("M002", "b", "", None)])
    assert changed_answers(rows, rows.copy()).empty
