"""`kokuho check PATH...` in-process (kokuho.cli.main) on a folder mixing good returned
workbooks with every bad kind: exit 0, a verdict per file, quarantine outputs for the bad ones
(only when asked, with --quarantine DIR), nothing loaded, the inbox untouched, and the process
alive after the XFD1048576 file. Without options it writes nothing anywhere."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from workbook_factory import CASES, REJECTED, Built, build_case, municipalities

GOOD = ["baseline", "macros", "target_at_least", "yes_one_fullwidth", "rows_swapped"]
BAD = [case.name for case in REJECTED]
VERDICT = re.compile(r"^\[(?P<verdict>[^\]]+)\] (?P<name>.+?)  \(")


@dataclass
class Checked:
    home: Path
    folder: Path
    built: dict[str, Built]
    sha_before: dict[str, str]
    code: int
    out: str
    err: str

    def block(self, name: str) -> list[str]:
        """The lines printed for one file: its verdict line and the indented lines under it."""
        lines = self.out.splitlines()
        file_name = self.built[name].path.name
        start = next(
            i for i, line in enumerate(lines) if line.startswith("[") and f"] {file_name}  (" in line
        )
        end = start + 1
        while end < len(lines) and lines[end].startswith("    "):
            end += 1
        return lines[start:end]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check(argv: list[str]) -> tuple[int, str, str]:
    from kokuho.cli import main as kokuho_main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = kokuho_main(["check", *argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    home = tmp_path_factory.mktemp("check_home")
    folder = tmp_path_factory.mktemp("returned")
    munis = municipalities()
    built = {name: build_case(CASES[name], folder, muni) for name, muni in zip(GOOD, munis, strict=False)}
    built |= {name: build_case(CASES[name], folder, munis[-1]) for name in BAD}
    sha_before = {p.name: _sha(p) for p in folder.iterdir()}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KOKUHO_HOME", str(home))
        for name in ("KOKUHO_DB", "KOKUHO_INBOX", "KOKUHO_PREFECTURE", "KOKUHO_YEAR"):
            patch.delenv(name, raising=False)
        code, out, err = _check([str(folder), "--quarantine", str(home / "quarantine")])
    return Checked(home, folder, built, sha_before, code, out, err)


def test_check_exits_zero_and_summarises(checked: Checked) -> None:
    assert checked.code == 0, checked.err
    total = len(GOOD) + len(BAD)
    assert f"{total} 件: 問題なし {len(GOOD)}、差替え済 0、差戻し {len(BAD)}、スキップ 0" in checked.out


def test_one_verdict_per_file(checked: Checked) -> None:
    verdicts = [m["name"] for m in map(VERDICT.match, checked.out.splitlines()) if m]
    assert sorted(verdicts) == sorted(p.name for p in checked.folder.iterdir())


@pytest.mark.parametrize("name", GOOD)
def test_good_file_has_no_problem(checked: Checked, name: str) -> None:
    block = checked.block(name)
    assert block[0].startswith("[問題なし] ")  # not 受理: nothing was loaded
    assert "受理" not in checked.out
    assert checked.built[name].expected.municipality_code in block[0]
    assert block[0].endswith(" / 2024年度調査)")
    assert len(block) == 1  # no issue, no warning, no quarantine folder


@pytest.mark.parametrize("name", BAD)
def test_bad_file_is_sent_back_with_its_reason(checked: Checked, name: str) -> None:
    block = checked.block(name)
    assert block[0].startswith("[差戻し] ")
    code = CASES[name].code
    reason = next(line for line in block if line.strip().startswith(f"{code}: "))
    assert f"ファイル「{checked.built[name].path.name}」" in reason
    assert any(line.strip().startswith("→ 保管先: ") for line in block)


@pytest.mark.parametrize("name", BAD)
def test_quarantine_outputs_are_written(checked: Checked, name: str) -> None:
    path = checked.built[name].path
    (folder,) = [d for d in (checked.home / "quarantine").iterdir() if d.name.endswith(f"_{path.name}")]
    assert f"→ 保管先: {folder}" in "\n".join(checked.block(name))
    assert (folder / path.name).read_bytes() == path.read_bytes()
    code = CASES[name].code
    assert code is not None and code in (folder / "reasons.csv").read_text(encoding="utf-8-sig")
    assert (folder / "理由一覧.xlsx").is_file()
    assert (folder / f"返却用_{path.stem}.xlsx").is_file() != CASES[name].file_level


def test_good_files_are_not_quarantined(checked: Checked) -> None:
    quarantined = {d.name for d in (checked.home / "quarantine").iterdir()}
    assert len(quarantined) == len(BAD)
    for name in GOOD:
        assert not any(d.endswith(checked.built[name].path.name) for d in quarantined)


def test_check_loads_nothing_and_touches_no_file(checked: Checked) -> None:
    assert not (checked.home / "kokuho.duckdb").exists()
    assert {p.name: _sha(p) for p in checked.folder.iterdir()} == checked.sha_before


def test_process_survives_the_xfd1048576_file(checked: Checked) -> None:
    block = checked.block("xfd1048576")
    assert block[0].startswith("[差戻し] ")
    assert "SHEET_TOO_LARGE" in block[1] and "XFD1048576" in block[1]
    assert "PARSE_FAILED" not in checked.out


def test_check_a_single_file(checked: Checked, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOKUHO_HOME", str(tmp_path / "home"))
    good = checked.built["baseline"].path
    code, out, _ = _check([str(good)])
    assert code == 0
    assert out.splitlines()[0].startswith(f"[問題なし] {good.name}  (")
    assert "1 件: 問題なし 1、差替え済 0、差戻し 0、スキップ 0" in out


def test_check_writes_nothing_unless_asked(
    checked: Checked, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ./kokuho_home, no KOKUHO_HOME, no Data Docs: a bad file is reported, not stored."""
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("KOKUHO_HOME", str(home))
    bad = checked.built[BAD[0]].path
    code, out, _ = _check([str(bad), str(checked.built["baseline"].path)])
    assert code == 0
    assert out.startswith("[")
    assert "[差戻し] " in out and "→ 保管先" not in out
    assert "--quarantine DIR" in out
    assert os.listdir(cwd) == [] and not home.exists()


def test_check_home_writes_quarantine_and_data_docs(checked: Checked, tmp_path: Path) -> None:
    home = tmp_path / "asked"
    code, out, _ = _check([str(checked.built[BAD[0]].path), "--home", str(home)])
    assert code == 0
    assert len(list((home / "quarantine").iterdir())) == 1
    assert (home / "data_docs" / "index.html").is_file()
    assert f"Data Docs: {home / 'data_docs' / 'index.html'}" in out


@pytest.mark.parametrize(("year", "warned"), [(2024, True), (2023, False)])
def test_check_warns_when_the_file_is_of_another_year(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, year: int, warned: bool
) -> None:
    """A blank FY2023 questionnaire (valid: blank is "no") checked for --year: says its year, and
    warns when it is not the year asked."""
    from kokuho.catalog import load_catalog_for
    from kokuho.municipalities import lookup
    from kokuho.templates import write_template

    monkeypatch.chdir(tmp_path)
    path = write_template(load_catalog_for("11", 2023), lookup("111007"), tmp_path / "111007_2023.xlsx")
    code, out, _ = _check([str(path), "--year", str(year)])
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("[問題なし] 111007_2023.xlsx  (111007 さいたま市 / 2023年度調査)")
    assert ("注意: この調査票は2023年度の調査のものです" in out) is warned
    assert f"確認している年度は{year}年度" in out or not warned
    assert os.listdir(tmp_path) == ["111007_2023.xlsx"]


def test_missing_path_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOKUHO_HOME", str(tmp_path / "home"))
    missing = tmp_path / "nowhere" / "返送.xlsx"
    code, out, err = _check([str(missing)])
    assert code == 2
    assert str(missing) in err and out == ""
    assert not (tmp_path / "home").exists()


def test_check_lists_skipped_entries_with_their_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "returned"
    folder.mkdir()
    (folder / "~$111007.xlsx").write_bytes(b"lock")
    os.symlink("/etc/hostname", folder / "link.xlsx")
    code, out, _ = _check([str(folder)])
    assert code == 0
    assert "[スキップ] link.xlsx  (OUTSIDE_INBOX)" in out
    assert "[スキップ] ~$111007.xlsx  (EXCEL_LOCK_FILE)" in out
    assert "2 件: 問題なし 0、差替え済 0、差戻し 0、スキップ 2" in out


def test_usage_error_returns_2() -> None:
    code, _, err = _check([])
    assert code == 2 and "paths" in err.lower()
