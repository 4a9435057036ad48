"""Smoke test of `kokuho bench`: the generator, the floor and the naive script on 5 workbooks.

No timing assertions: only that the parts run, produce the files and numbers they should, and
that the generator is deterministic and cached.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from benchmarks.bench import change_one, generate_workbooks, naive_script, read_floor
from kokuho import layout
from kokuho.cli import main as kokuho_main
from kokuho.municipalities import municipalities_of


def _cover(path: Path) -> dict[str, object]:
    """Column A key -> column C value of the cover sheet."""
    workbook = CalamineWorkbook.from_path(str(path))
    try:
        rows = workbook.get_sheet_by_name(layout.COVER_TITLE).to_python()
    finally:
        workbook.close()
    return {row[0]: row[2] for row in rows if row and isinstance(row[0], str) and len(row) > 2}


def _answers(path: Path) -> dict[str, object]:
    """measure key -> 実施 cell over every section sheet."""
    workbook = CalamineWorkbook.from_path(str(path))
    answers: dict[str, object] = {}
    try:
        for name in workbook.sheet_names:
            for row in workbook.get_sheet_by_name(name).to_python():
                if row and isinstance(row[0], str) and row[0].startswith(layout.MEASURE_PREFIX):
                    answers[row[0]] = row[3]
    finally:
        workbook.close()
    return answers


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory: pytest.TempPathFactory):
    return generate_workbooks(5, seed=7, workdir=tmp_path_factory.mktemp("bench"))


def test_generator_writes_one_filled_workbook_per_municipality(workbooks) -> None:
    expected = municipalities_of("00")[:5]
    assert [p.name for p in workbooks.paths] == [
        layout.template_file_name(m.code, m.name, 2024) for m in expected
    ]
    for path, muni in zip(workbooks.paths, expected, strict=True):
        cover = _cover(path)
        assert cover[layout.META_MUNICIPALITY_CODE] == muni.code
        assert cover[layout.META_MUNICIPALITY_NAME] == muni.name
        assert cover["contact:department"]
    answer_sets = [_answers(p) for p in workbooks.paths]
    assert all(len(a) == 150 for a in answer_sets)
    assert all(any(v == "○" for v in a.values()) for a in answer_sets)  # some implemented
    assert all(any(v in ("", None) for v in a.values()) for a in answer_sets)  # some not
    assert len({tuple(a.values()) for a in answer_sets}) == 5  # varied between municipalities
    assert (workbooks.catalog_dir / "00_2024.yaml").is_file()


def test_generator_is_deterministic_and_cached(workbooks, tmp_path: Path) -> None:
    again = generate_workbooks(5, seed=7, workdir=workbooks.files_dir.parent.parent)
    assert again.generated_seconds is None  # reused
    fresh = generate_workbooks(5, seed=7, workdir=tmp_path)
    assert fresh.generated_seconds is not None
    assert [p.read_bytes() for p in fresh.paths] == [p.read_bytes() for p in workbooks.paths]


def test_changed_workbook_differs_in_exactly_one_answer(workbooks, tmp_path: Path) -> None:
    original = workbooks.paths[2]
    changed = change_one(workbooks, tmp_path / original.name, seed=7, index=2)
    before, after = _answers(original), _answers(changed)
    assert [k for k in before if before[k] != after[k]] == ["measure:M001"]
    assert _cover(changed) == _cover(original)


def test_floor_and_naive_script_read_every_cell(workbooks, tmp_path: Path) -> None:
    cells = read_floor(workbooks.paths)
    rows = naive_script(workbooks.paths, tmp_path / "naive.duckdb")
    assert cells > 5 * 150 * 4  # every answer row of every file, several columns each
    assert rows > 5 * 150  # one DuckDB row per sheet row, at least the answer rows


def test_bench_main_small_run_without_full_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "figures.json"
    code = kokuho_main(
        ["bench", "--n", "5", "--repeat", "1", "--skip-full", "--workdir", str(tmp_path), "--json", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "(a) floor" in printed and "(b) naive" in printed and "targets:" in printed
    assert out.is_file() and '"a"' in out.read_text(encoding="utf-8")


def test_bench_main_rejects_impossible_n(tmp_path: Path) -> None:
    assert kokuho_main(["bench", "--n", "0", "--workdir", str(tmp_path)]) == 2
    assert kokuho_main(["bench", "--n", "1742", "--skip-full", "--workdir", str(tmp_path)]) == 2


def test_rss_sampler_counts_the_processes_the_run_starts() -> None:
    """The sampler's cheap /proc reading agrees with psutil on the workers it sees."""
    import subprocess
    import sys

    import psutil

    from benchmarks.bench import _RssSampler

    sampler = _RssSampler()
    code = "import sys, time; x = bytearray(40_000_000); sys.stdout.write('ready\\n'); sys.stdout.flush(); time.sleep(30)"
    children = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) for _ in range(2)]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        sampler._sample()
        expected = sum(psutil.Process(c.pid).memory_info().rss for c in children)
        # The /proc children files name the processes psutil finds by scanning the machine.
        assert sorted(sampler._children()) == sorted(c.pid for c in psutil.Process().children(recursive=True))
        assert sampler.peak_children == 2
        assert sampler.peak_workers >= 2 * 40_000_000
        assert abs(sampler.peak_workers - expected) < 8 * 1024 * 1024  # pages touched in between
        assert abs(sampler.peak_self - psutil.Process().memory_info().rss) < 8 * 1024 * 1024
    finally:
        for child in children:
            child.kill()
            child.wait()


def test_the_nationwide_workbooks_pass_the_checks(
    workbooks, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The benchmark times the accepting path: its nationwide survey "00" is a valid survey."""
    monkeypatch.setenv("KOKUHO_CATALOG_DIR", str(workbooks.catalog_dir))
    folder = workbooks.paths[0].parent
    code = kokuho_main(["check", "--prefecture", "00", "--year", "2024", str(folder)])
    printed = capsys.readouterr().out
    assert code == 0
    assert f"{len(workbooks.paths)} 件: 問題なし {len(workbooks.paths)}、" in printed, printed


def test_each_fiscal_year_has_its_catalog_and_workbooks(tmp_path: Path) -> None:
    from benchmarks.bench import bench_years, history_scales

    assert bench_years(3) == [2022, 2023, 2024]
    assert history_scales(10) == [1, 5, 10]
    assert history_scales(3) == [1, 3]
    earlier = generate_workbooks(2, seed=7, workdir=tmp_path, year=2022)
    latest = generate_workbooks(2, seed=7, workdir=tmp_path)
    assert (earlier.catalog_dir / "00_2022.yaml").is_file()
    assert [p.name for p in earlier.paths] == [
        layout.template_file_name(m.code, m.name, 2022) for m in municipalities_of("00")[:2]
    ]
    assert _cover(earlier.paths[0])[layout.META_MUNICIPALITY_CODE] == municipalities_of("00")[0].code
    assert any("2022" in str(v) for v in _cover(earlier.paths[0]).values())
    assert _answers(earlier.paths[0]) != _answers(latest.paths[0])  # each year answered anew
    assert earlier.files_dir != latest.files_dir


def test_bench_years_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--years` on tiny N: every year generated, the figures printed (no full run here)."""
    out = tmp_path / "figures.json"
    code = kokuho_main(
        ["bench", "--years", "3", "--n", "3", "--repeat", "1", "--skip-naive", "--skip-full"]
        + ["--workdir", str(tmp_path), "--json", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "years=3 (N up to 9)" in printed
    assert "earlier years: 2 x 3 files" in printed
    assert "(b2)" in printed and "targets:" in printed
    assert {p.name for p in tmp_path.glob("workbooks_*")} == {
        "workbooks_2022_n3_seed2024",
        "workbooks_2023_n3_seed2024",
        "workbooks_n3_seed2024",
    }
    assert '"years": 3' in out.read_text(encoding="utf-8")


def test_bench_rejects_impossible_years(tmp_path: Path) -> None:
    assert kokuho_main(["bench", "--years", "0", "--skip-full", "--workdir", str(tmp_path)]) == 2
    assert kokuho_main(["bench", "--years", "99", "--skip-full", "--workdir", str(tmp_path)]) == 2


def test_b2_without_its_extra_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "polars", None)  # as if not installed
    code = kokuho_main(
        ["bench", "--n", "2", "--repeat", "1", "--skip-naive", "--skip-full", "--workdir", str(tmp_path)]
    )
    printed = capsys.readouterr().out
    assert code == 0  # the other parts ran
    assert "(b2) analyst script: skipped" in printed
    assert "requirements-bench.lock" in printed and "dev.py bench-extra" in printed


def test_b2_analyst_script_reads_every_sheet(workbooks, tmp_path: Path) -> None:
    pytest.importorskip("polars")
    pytest.importorskip("fastexcel")
    import duckdb

    from benchmarks.bench import analyst_script

    db = tmp_path / "analyst.duckdb"
    rows = analyst_script(workbooks.paths, db)
    assert rows == naive_script(workbooks.paths, tmp_path / "naive.duckdb")  # one row per sheet row
    con = duckdb.connect(str(db), read_only=True)
    try:
        files = con.execute("SELECT count(DISTINCT file), count(DISTINCT sheet) FROM cells").fetchone()
    finally:
        con.close()
    assert files == (5, len(CalamineWorkbook.from_path(str(workbooks.paths[0])).sheet_names))


@pytest.mark.slow
def test_bench_years_times_the_full_run_on_each_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--years 2` on two workbooks a year: (c), (d), (e) on one year's files, then on both years'
    in one inbox, with the growth printed (figures not asserted: no timed assertions)."""
    import json

    out = tmp_path / "figures.json"
    code = kokuho_main(
        ["bench", "--years", "2", "--n", "2", "--repeat", "1", "--skip-naive", "--skip-b2"]
        + ["--workdir", str(tmp_path), "--json", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    figures = json.loads(out.read_text(encoding="utf-8"))
    growth = figures["growth"]
    assert [(row["years"], row["n"]) for row in growth] == [(1, 2), (2, 4)]
    assert all(row["c"] and row["d"] is not None and row["e"] and row["peak"] for row in growth)
    assert growth[1]["counts"]["accepted"] == 4  # both years' files, each of its own survey
    assert "growth with N" in printed and "N=     4 ( 2 y" in printed
    # Where the work is: CPU time of the run process and of the extraction workers it waited for.
    cpu = figures["full"]["reps"][0]["c_cpu"]
    assert cpu["run_process"] > 0 and cpu["workers"] > 0
    assert figures["a_cpu"] and figures["a_cpu"][0] > 0
    assert "CPU time of (c), rep 1: run process" in printed and "its extraction workers" in printed
