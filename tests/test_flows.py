"""The ingest flow end to end on the demo inbox, with a real (ephemeral) Prefect server.

One demo inbox and one full run per module: the run costs ~30 s (GX import, server start), so every
check of its outcome reads the same database.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from kokuho.config import Settings, data_dir

pytestmark = pytest.mark.slow

PUBLISHED = yaml.safe_load((data_dir() / "demo" / "11_2024_published.yaml").read_text(encoding="utf-8"))
PUBLISHED_BY_ID = {m["measure_id"]: m for m in PUBLISHED["measures"]}


def _settings(home: Path, inbox: Path) -> Settings:
    return Settings.resolve(
        home=home, db_path=home / "kokuho.duckdb", inbox=inbox, prefecture_code="11", fiscal_year=2024
    )


def _table_digest(db_path: Path) -> dict[str, str]:
    """A digest of every table's content, to show a run changed nothing (the run logs runs and
    inbox_entries excluded)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        digests = {}
        for table in sorted(set(tables) - {"runs", "inbox_entries"}):
            rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
            digests[table] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
        return digests
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory, prefect_server: None, demo_inbox) -> dict:
    from flows.ingest import run_ingest

    home = tmp_path_factory.mktemp("demo_home")
    manifest = demo_inbox
    settings = _settings(home, Path(manifest.inbox))
    first = run_ingest(settings)
    digest_after_first = _table_digest(settings.db_path)
    second = run_ingest(settings)
    return {
        "settings": settings,
        "manifest": manifest,
        "first": first,
        "second": second,
        "digest_first": digest_after_first,
        "digest_second": _table_digest(settings.db_path),
    }


@pytest.fixture(scope="module")
def counts_via_cli(demo_run: dict) -> dict[str, dict]:
    """measure_summary for FY2024 as `kokuho sql --format json` prints it."""
    from kokuho.cli import main as kokuho_main

    out = demo_run["settings"].home / "summary.json"
    query = (
        "SELECT measure_id, label, implementing_count, budget_lines FROM measure_summary "
        "WHERE fiscal_year = 2024 AND prefecture_code = '11' ORDER BY position"
    )
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = kokuho_main(["sql", "--db", str(demo_run["settings"].db_path), "--format", "json", query])
    assert code == 0
    out.write_text(buffer.getvalue(), encoding="utf-8")
    rows = json.loads(buffer.getvalue())
    return {row["measure_id"]: row for row in rows}


def test_demo_reproduces_seed_001_has_150_measures(counts_via_cli: dict[str, dict]) -> None:
    assert list(counts_via_cli) == [m["measure_id"] for m in PUBLISHED["measures"]]


@pytest.mark.parametrize("measure_id", list(PUBLISHED_BY_ID))
def test_demo_reproduces_seed_001_count_and_budget_lines(
    counts_via_cli: dict[str, dict], measure_id: str
) -> None:
    published = PUBLISHED_BY_ID[measure_id]
    row = counts_via_cli[measure_id]
    assert row["label"] == published["label"]
    assert row["implementing_count"] == published["implementing_count"]
    assert list(row["budget_lines"]) == published["budget_lines"]


def test_the_smartphone_query_of_the_issue_gives_62(demo_run: dict) -> None:
    con = duckdb.connect(str(demo_run["settings"].db_path), read_only=True)
    count = con.execute(
        "SELECT implementing_count FROM measure_summary WHERE fiscal_year = 2024 "
        "AND label = 'スマホアプリ収納（PayB、LINEPay、PayPayなど）'"
    ).fetchone()
    con.close()
    assert count == (62,)


def test_every_inbox_file_is_accounted_for_as_the_manifest_expects(demo_run: dict) -> None:
    manifest = demo_run["manifest"]
    inbox = demo_run["settings"].inbox
    con = duckdb.connect(str(demo_run["settings"].db_path), read_only=True)
    status = dict(con.execute("SELECT sha256, status FROM submissions").fetchall())
    codes = {
        sha: set(c)
        for sha, c in con.execute("SELECT sha256, list(code) FROM file_issues GROUP BY 1").fetchall()
    }
    con.close()
    assert len(status) == len(manifest.files) == demo_run["first"]["files"]
    for demo_file in manifest.files:
        sha = hashlib.sha256((inbox / demo_file.path).read_bytes()).hexdigest()
        assert status[sha] == demo_file.expected, demo_file.path
        if demo_file.issue_code:
            assert demo_file.issue_code in codes[sha], demo_file.path


def test_no_row_of_an_accepted_file_is_lost(demo_run: dict) -> None:
    """Each accepted FY2024 file holds one answer per measure, and yeses match what was written."""
    manifest = demo_run["manifest"]
    inbox = demo_run["settings"].inbox
    con = duckdb.connect(str(demo_run["settings"].db_path), read_only=True)
    per_file = {
        sha: (n, set(yes or []))
        for sha, n, yes in con.execute(
            "SELECT s.sha256, count(*), list(r.measure_id) FILTER (WHERE r.implemented) "
            "FROM submissions s JOIN responses r USING (sha256) WHERE s.status <> 'quarantined' GROUP BY 1"
        ).fetchall()
    }
    con.close()
    for demo_file in manifest.files:
        if demo_file.expected == "quarantined":
            continue
        n, yes = per_file[hashlib.sha256((inbox / demo_file.path).read_bytes()).hexdigest()]
        expected_n = 150 if demo_file.fiscal_year == 2024 else 142
        assert n == expected_n, demo_file.path
        assert yes == set(demo_file.yes_measures), demo_file.path


def test_year_over_year_markers_follow_the_counts(demo_run: dict) -> None:
    con = duckdb.connect(str(demo_run["settings"].db_path), read_only=True)
    rows = con.execute(
        "SELECT measure_id, implementing_count, prev_year_count, change_marker FROM measure_summary "
        "WHERE fiscal_year = 2024"
    ).fetchall()
    con.close()
    previous = demo_run["manifest"].years[2023].measure_counts
    for measure_id, count, prev, marker in rows:
        if measure_id not in previous:
            assert (prev, marker) == (None, "新")
            continue
        assert prev == previous[measure_id]
        assert marker == ("増" if count > prev else "減" if count < prev else None)


def test_resubmission_changes_lists_what_the_corrected_file_changed(demo_run: dict) -> None:
    superseded = [f for f in demo_run["manifest"].files if f.expected == "superseded"]
    assert len(superseded) == 1
    con = duckdb.connect(str(demo_run["settings"].db_path), read_only=True)
    changed = con.execute(
        "SELECT measure_id FROM resubmission_changes WHERE municipality_code = ? ORDER BY position",
        [superseded[0].municipality_code],
    ).fetchall()
    con.close()
    assert [m for (m,) in changed] == sorted(superseded[0].changed_measures)
    assert f"再提出で変更された回答 {len(superseded[0].changed_measures)} 件" in demo_run["first"]["text"]


def test_second_run_skips_every_file_and_changes_nothing(demo_run: dict) -> None:
    second = demo_run["second"]
    assert second["skipped"] == second["files"] == demo_run["first"]["files"]
    assert second["new"] == 0
    assert demo_run["digest_second"] == demo_run["digest_first"]
    # Every entry of the inbox is accounted for again, as already processed by the first run.
    assert second["entry_counts"]["skipped"] == second["entries"] == demo_run["first"]["entries"]
    con = duckdb.connect(str(demo_run["settings"].db_path), read_only=True)
    rows = con.execute(
        "SELECT DISTINCT reason_code, processed_run_id FROM inbox_entries WHERE run_id = ?",
        [second["run_id"]],
    ).fetchall()
    con.close()
    assert rows == [("ALREADY_PROCESSED", demo_run["first"]["run_id"])]


def test_run_summary_lists_quarantined_superseded_and_paths(demo_run: dict) -> None:
    first = demo_run["first"]
    assert first["quarantined"] == 6
    assert first["superseded"] == 1
    assert first["missing"] == 0
    assert "差戻し" in first["markdown"] and "新座市" in first["markdown"]
    assert str(demo_run["settings"].db_path) in first["text"]
    for export in first["exports"]:
        assert Path(export).is_file()


def test_data_docs_of_the_run_are_rendered_and_named_in_the_summary(demo_run: dict) -> None:
    """The Data Docs render in a task of their own, beside the load: the run waits for them."""
    docs = demo_run["settings"].data_docs_dir
    index = docs / "index.html"
    assert index.is_file()
    assert f"Data Docs:  {index}" in demo_run["first"]["text"]
    pages = list((docs / "validations").rglob("*.html"))
    stored = list((docs / "_validation_results").rglob("*.json"))
    assert pages and len(pages) == len(stored)  # every stored result of the run has its page
    assert "stg_responses" in index.read_text(encoding="utf-8")


def test_run_summary_is_a_prefect_artifact(demo_run: dict) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["kokuho-run-summary"]))
        )
    assert artifacts, "no run-summary artifact"
    assert any("取込結果" in (a.data or "") for a in artifacts)


def test_changed_file_is_processed_again_and_supersedes(demo_run: dict, tmp_path: Path) -> None:
    """Incremental: a municipality re-sends a corrected file; only that file is processed."""
    from flows.ingest import run_ingest

    settings = demo_run["settings"]
    home = tmp_path / "home"
    shutil.copytree(settings.home, home, ignore=shutil.ignore_patterns("quarantine", "exports", "data_docs"))
    inbox = tmp_path / "inbox"
    shutil.copytree(settings.inbox, inbox, copy_function=shutil.copy2)
    copy = _settings(home, inbox)
    original = next(p for p in sorted((inbox / "2024").glob("111007_*.xlsx")))
    import openpyxl

    wb = openpyxl.load_workbook(original)
    sheet = next(ws for ws in wb.worksheets if ws["A1"].value == "kokuho:section:1")
    row = next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == "measure:M014")
    sheet.cell(row, 4).value = "○" if not sheet.cell(row, 4).value else None
    resent = inbox / "2024" / "111007_さいたま市_2024_再提出.xlsx"
    wb.save(resent)
    os.utime(resent, (2_000_000_000, 2_000_000_000))  # received later than everything else

    summary = run_ingest(copy, export=False)
    assert summary["new"] == 1 and summary["skipped"] == summary["files"] - 1
    assert summary["accepted"] == 1 and summary["superseded"] == 1
    con = duckdb.connect(str(copy.db_path), read_only=True)
    status = con.execute(
        "SELECT status FROM submission_status WHERE fiscal_year = 2024 AND municipality_code = '111007'"
    ).fetchone()
    con.close()
    assert status == ("再提出",)


def test_kokuho_run_cli_prints_summary_without_errors(tmp_path: Path) -> None:
    """The CLI in a fresh process: exit 0 with a quarantined file, no traceback, no ERROR line
    (the ephemeral server used to log task-run-recorder errors at shutdown)."""
    from kokuho.catalog import load_catalog_for
    from kokuho.municipalities import lookup
    from kokuho.templates import write_template

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    catalog = load_catalog_for("11", 2024)
    write_template(catalog, lookup("111007"), inbox / "111007_blank.xlsx")
    (inbox / "not_a_workbook.xlsx").write_text("a,b\n1,2\n", encoding="utf-8")
    env = {**os.environ, "KOKUHO_HOME": str(tmp_path / "home"), "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "kokuho", "run", "--inbox", str(inbox), "--no-export"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "受理 accepted: 1" in proc.stdout
    assert "差戻し quarantined: 1" in proc.stdout
    assert "Traceback" not in output
    assert "| ERROR" not in output


def test_dask_runner_gives_the_same_tables(demo_run: dict, tmp_path: Path) -> None:
    """Extraction on a real distributed.LocalCluster yields the same warehouse as the default runner."""
    from distributed import LocalCluster

    from flows.ingest import run_ingest

    source = demo_run["settings"].inbox / "2024"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in sorted(source.iterdir())[:12]:
        shutil.copy2(path, inbox / path.name)
    homes = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        for runner in ("default", "dask"):
            home = tmp_path / runner
            settings = _settings(home, inbox)
            run_ingest(
                settings,
                runner=runner,
                address=cluster.scheduler_address if runner == "dask" else None,
                export=False,
            )
            homes[runner] = settings.db_path

    def content(db: Path) -> list[tuple]:
        con = duckdb.connect(str(db), read_only=True)
        rows = con.execute(
            "SELECT measure_id, implementing_count, budget_lines FROM measure_summary ORDER BY measure_id"
        ).fetchall()
        rows += con.execute("SELECT file_name, status FROM submissions ORDER BY file_name").fetchall()
        con.close()
        return rows

    assert content(homes["dask"]) == content(homes["default"])
    assert len(content(homes["default"])) > 150


def test_readme_cookbook_queries_answer_on_the_demo_database(
    demo_run: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every query of the README's cookbook runs through `kokuho sql` and returns rows."""
    from kokuho.cli import main as kokuho_main
    from kokuho.config import project_root

    readme = (project_root() / "README.md").read_text(encoding="utf-8")
    block = readme.split("### Query cookbook", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    statements = [
        s.strip()
        for s in block.split(";")
        if any(line.strip() and not line.strip().startswith("--") for line in s.splitlines())
    ]
    assert len(statements) >= 10
    monkeypatch.chdir(tmp_path)  # the COPY example writes its CSV to out/ here, as the README says
    (tmp_path / "out").mkdir()
    with_rows = 0
    for statement in statements:
        argv = ["--db", str(demo_run["settings"].db_path), "--out-dir", "out", "--format", "csv", statement]
        code = kokuho_main(["sql", *argv])
        out = capsys.readouterr().out
        assert code == 0, statement
        with_rows += len(out.splitlines()) >= 2  # a header and at least one row
    # All but the "who is missing or returned" query (nobody, in the demo's end state) return rows.
    assert with_rows >= len(statements) - 2
    assert (tmp_path / "out" / "measure_summary_2024.csv").is_file()


def test_empty_inbox_on_a_fresh_home_is_a_successful_run(tmp_path: Path, prefect_server: None) -> None:
    """The first night after set-up: nothing received yet, no database: the run still succeeds."""
    from flows.ingest import run_ingest

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = _settings(tmp_path / "home", inbox)
    summary = run_ingest(settings)
    assert summary["files"] == 0
    assert summary["missing"] == 63  # every Saitama municipality is 未提出
    # The export already shows the survey with every municipality 未提出 (what analysts chase first).
    assert [Path(p).name for p in summary["exports"]] == ["集計表_11_2024.xlsx"]


@pytest.mark.parametrize(
    ("error", "retried"),
    [(OSError("share unavailable"), True), (ValueError("a bug"), False), (KeyError("x"), False)],
)
def test_tasks_retry_io_errors_only(error: BaseException, retried: bool) -> None:
    from prefect.states import Failed

    from flows.ingest import _only_io_errors

    assert _only_io_errors(None, None, Failed(data=error)) is retried


def test_objects_alive_before_the_run_are_frozen_for_it_only() -> None:
    import gc

    from flows.ingest import objects_before_run_frozen

    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), objects_before_run_frozen():
        assert gc.get_freeze_count() > 1000  # the modules of this test session at least
        raise RuntimeError("a failed run")
    assert gc.get_freeze_count() == 0  # unfrozen even when the run fails


def test_a_data_docs_failure_leaves_the_load_and_the_run_standing(
    demo_run: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The HTML report is rendered beside the load: when it fails, the data is loaded anyway and
    the run completes, its summary naming no Data Docs."""
    from flows import steps
    from flows.ingest import run_ingest

    def broken(settings: Settings, run_times: list[object]) -> Path | None:
        raise RuntimeError("the Data Docs could not be written")

    monkeypatch.setattr(steps, "build_data_docs", broken)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in sorted((Path(demo_run["settings"].inbox) / "2024").glob("11*.xlsx"))[:2]:
        shutil.copy2(path, inbox / path.name)
    settings = _settings(tmp_path / "home", inbox)
    summary = run_ingest(settings, export=False)
    assert summary["new"] == 2 and summary["accepted"] + summary["quarantined"] == 2
    assert "Data Docs:" not in summary["text"]
    con = duckdb.connect(str(settings.db_path), read_only=True)
    assert con.execute("SELECT count(*) FROM submissions").fetchone() == (2,)
    con.close()


# --- the flow's plain parts, without Prefect ------------------------------------------------------


def _inbox_files(n: int) -> list:
    from flows.steps import InboxFile

    return [InboxFile(Path(f"f{i}.xlsx"), sha256=f"sha{i}", size=1, mtime=0.0) for i in range(n)]


@pytest.mark.parametrize(
    ("n", "size", "lengths"), [(0, 3, []), (3, 3, [3]), (7, 3, [3, 3, 1]), (2, 250, [2])]
)
def test_files_are_chunked_in_scan_order(n: int, size: int, lengths: list[int]) -> None:
    from flows.steps import chunked

    files = _inbox_files(n)
    chunks = chunked(files, size)
    assert [len(c) for c in chunks] == lengths
    assert [f for chunk in chunks for f in chunk] == files


@pytest.mark.parametrize(
    ("folders", "size", "lengths"),
    [
        ([1741] * 3, 2000, [1741, 1741, 1741]),  # a folder per fiscal year: one survey a chunk
        ([900, 900, 900], 2000, [1800, 900]),  # two folders fit in a chunk
        ([1] * 7, 3, [3, 3, 1]),  # a folder per municipality: chunks as full as they go
        ([5, 5], 8, [5, 5]),
        ([2, 5], 8, [7]),
        ([3, 9], 8, [8, 4]),  # under half full: the next folder fills it up
        ([4, 9], 8, [4, 8, 1]),  # half full: ends before a folder that does not fit
        ([20], 8, [8, 8, 4]),  # a folder larger than a chunk is cut
    ],
)
def test_a_folder_stays_in_one_chunk_when_it_fits(folders: list[int], size: int, lengths: list[int]) -> None:
    from flows.steps import InboxFile, chunked

    files = [
        InboxFile(Path(f"inbox/{k}/f{i}.xlsx"), sha256=f"sha{k}-{i}", size=1, mtime=0.0)
        for k, count in enumerate(folders)
        for i in range(count)
    ]
    chunks = chunked(files, size)
    assert [len(c) for c in chunks] == lengths
    assert [f for chunk in chunks for f in chunk] == files


def test_chunks_group_a_folder_that_the_scan_interleaves() -> None:
    """The scan sorts by file name: a ten-year inbox comes municipality by municipality, every
    year's folder in turn. Chunks take each folder whole, in the folder's own order."""
    from flows.steps import InboxFile, chunked

    years = ["2022", "2023", "2024"]
    files = [
        InboxFile(Path(f"inbox/{year}/{code}_{year}.xlsx"), sha256=f"{code}{year}", size=1, mtime=0.0)
        for code in ("111007", "112011", "112020", "112038")
        for year in years
    ]
    chunks = chunked(files, 5)
    assert [[f.path.parent.name for f in chunk] for chunk in chunks] == [[year] * 4 for year in years]
    assert [f.path.stem[:6] for f in chunks[0]] == ["111007", "112011", "112020", "112038"]


def test_a_flat_inbox_of_several_years_is_chunked_year_by_year() -> None:
    """One folder holding three years' files (the scan gives them municipality by municipality):
    each chunk holds one year, as the names give it, and files without a year come last."""
    from flows.steps import InboxFile, chunked

    names = ["{code}_さいたま_2022.xlsx", "{code}_令和５年度.xlsx", "R6_{code}.xlsx"]
    files = [
        InboxFile(Path("inbox") / name.format(code=code), sha256=f"{code}{n}", size=1, mtime=0.0)
        for code in ("111007", "112011", "112020", "112038")
        for n, name in enumerate(names)
    ]
    files.insert(5, InboxFile(Path("inbox/112011_調査票.xlsx"), sha256="no-year", size=1, mtime=0.0))
    chunks = chunked(files, 4)
    assert [[f.sha256[-1] for f in chunk] for chunk in chunks] == [["0"] * 4, ["1"] * 4, ["2"] * 4, ["r"]]
    assert [f.path.name[:6] for f in chunks[0]] == ["111007", "112011", "112020", "112038"]
    # A year's files stay together when they fit, as a folder's do.
    chunks = chunked(files, 6)
    assert [[f.sha256[-1] for f in chunk] for chunk in chunks] == [["0"] * 4, ["1"] * 4, ["2"] * 4 + ["r"]]


@pytest.mark.parametrize(
    ("name", "year"),
    [
        ("011002_札幌市_2024_国保取組状況調査票.xlsx", 2024),
        ("111007_さいたま市_令和６年度.xlsx", 2024),
        ("R5_112011.xlsx", 2023),
        ("112011_２０２３.xlsx", 2023),
        ("201006_R06調査.xlsx", 2024),
        ("112011.xlsx", 9999),  # a municipality code is no year
        ("調査票.xlsx", 9999),
    ],
)
def test_the_year_a_file_name_gives(name: str, year: int) -> None:
    from flows.steps.chunks import name_year

    assert name_year(name) == year


def test_inbox_entries_are_built_once_and_take_the_runs_outcomes(tmp_path: Path) -> None:
    """The entries recorded at the end are those of the start with what validation decided: a file
    dropped before the load is skipped with its reason, and a file whose name gives no
    municipality has its cover's; the entries of the start are left as they were."""
    import pandas as pd

    from flows.steps.load import entries_frame, with_outcomes
    from flows.steps.model import FileOutcome, InboxEntry, ScanResult, StageResult
    from transform.batch import StagingBatch

    names = ["112011_川越市.xlsx", "回答.xlsx", "112020_熊谷市.xlsx", ".DS_Store"]
    entries = [
        InboxEntry(path=tmp_path / n, name=n, name_hex=n.encode().hex(), relative=n, sha256=f"sha{i}")
        for i, n in enumerate(names)
    ]
    entries[3].state, entries[3].reason_code, entries[3].reason = "skipped", "HIDDEN_FILE", "隠しファイル"

    def column(frame: pd.DataFrame, name: str) -> list[object]:
        return [None if pd.isna(v) else v for v in frame[name]]

    start = entries_frame(ScanResult([], entries), None)
    assert start is not None
    assert column(start, "municipality_code") == ["112011", None, "112020", None]
    result = StageResult(
        batch=StagingBatch.empty(),
        failed=set(),
        outcomes=[
            FileOutcome(
                file_name=n, path=tmp_path / n, sha256=f"sha{i}", status="accepted", municipality_code=code
            )
            for i, (n, code) in enumerate(zip(names[:3], ["112011", "112089", "112020"], strict=True))
        ],
        catalogs=[],
        # sha3 was skipped by the scan already: it keeps the scan's reason.
        dropped={
            "sha2": ("FILE_CHANGING", "書き込み中のため次回に取り込みます"),
            "sha3": ("FILE_CHANGING", "-"),
        },
    )
    end = with_outcomes(start, result)
    assert end is not None
    assert column(end, "municipality_code") == ["112011", "112089", "112020", None]
    assert column(end, "state") == [None, None, "skipped", "skipped"]
    assert column(end, "reason_code") == [None, None, "FILE_CHANGING", "HIDDEN_FILE"]
    assert end.loc[2, "reason"] == "書き込み中のため次回に取り込みます"
    assert column(start, "state") == [None, None, None, "skipped"]  # the start's frame is untouched
    assert with_outcomes(start, None) is start
    nothing_dropped = with_outcomes(start, dataclasses.replace(result, dropped={}))
    assert nothing_dropped is not None and column(nothing_dropped, "state") == [None, None, None, "skipped"]


def test_chunk_size_is_smaller_on_dask() -> None:
    from flows.steps import chunk_size

    assert chunk_size(distributed=True) < chunk_size(distributed=False)


def test_known_files_are_counted_apart() -> None:
    from flows.steps import split_known

    files = _inbox_files(5)
    new, skipped = split_known(files, {"sha1", "sha3", "elsewhere"})
    assert [f.sha256 for f in new] == ["sha0", "sha2", "sha4"]
    assert [f.sha256 for f in skipped] == ["sha1", "sha3"]


def test_progress_counts_logs_quarters_and_draws_a_bar_on_a_terminal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import io
    import logging

    from flows.progress import StepProgress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    logger = logging.getLogger("kokuho.test.progress")
    progress = StepProgress("抽出 extract", 8, logger=logger, stream=terminal)
    with caplog.at_level(logging.INFO, logger=logger.name):
        for _ in range(6):
            progress.callback(1, 1)
        progress.advance(5)  # never past the total
    assert progress.done == 8
    assert [r.getMessage() for r in caplog.records] == [
        "抽出 extract: 2/8 (25%)",
        "抽出 extract: 4/8 (50%)",
        "抽出 extract: 6/8 (75%)",
        "抽出 extract: 8/8 (100%)",
    ]
    drawn = terminal.getvalue()
    assert drawn.startswith("\r抽出 extract ") and drawn.endswith(" 8/8\n") and "━" in drawn


def test_progress_draws_nothing_off_a_terminal() -> None:
    import io

    from flows.progress import StepProgress

    stream = io.StringIO()
    progress = StepProgress("抽出 extract", 3, stream=stream)
    progress.advance(3)
    assert progress.done == 3 and stream.getvalue() == ""
