"""`kokuho check PATH...` in-process (flows.steps.check_main) on a folder mixing good returned
workbooks with every bad kind: exit 0, a verdict per file, quarantine outputs for the bad ones,
nothing loaded, the inbox untouched, and the process alive after the XFD1048576 file."""

from __future__ import annotations

import contextlib
import hashlib
import io
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
    from flows.steps import check_main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = check_main(argv)
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
        code, out, err = _check([str(folder)])
    return Checked(home, folder, built, sha_before, code, out, err)


def test_check_exits_zero_and_summarises(checked: Checked) -> None:
    assert checked.code == 0, checked.err
    total = len(GOOD) + len(BAD)
    assert f"{total} files: accepted {len(GOOD)}, superseded 0, quarantined {len(BAD)}" in checked.out


def test_one_verdict_per_file(checked: Checked) -> None:
    verdicts = [m["name"] for m in map(VERDICT.match, checked.out.splitlines()) if m]
    assert sorted(verdicts) == sorted(p.name for p in checked.folder.iterdir())


@pytest.mark.parametrize("name", GOOD)
def test_good_file_is_accepted(checked: Checked, name: str) -> None:
    block = checked.block(name)
    assert block[0].startswith("[受理] ")
    assert checked.built[name].expected.municipality_code in block[0]
    assert len(block) == 1  # no issue, no quarantine folder


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
    assert CASES[name].code in (folder / "reasons.csv").read_text(encoding="utf-8-sig")
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
    assert out.splitlines()[0].startswith(f"[受理] {good.name}  (")
    assert "1 files: accepted 1, superseded 0, quarantined 0" in out


def test_missing_path_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOKUHO_HOME", str(tmp_path / "home"))
    missing = tmp_path / "nowhere" / "返送.xlsx"
    code, out, err = _check([str(missing)])
    assert code == 2
    assert str(missing) in err and out == ""
    assert not (tmp_path / "home").exists()


def test_usage_error_returns_2() -> None:
    code, _, err = _check([])
    assert code == 2 and "paths" in err
