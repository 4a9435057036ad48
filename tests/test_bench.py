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
