"""The `kokuho` dispatcher: help, unknown commands, start-up safety check, light imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kokuho.cli import COMMANDS, main


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert f"  {name}" in out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2


def test_unknown_command_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_every_command_has_japanese_first_help(capsys: pytest.CaptureFixture[str]) -> None:
    for name in COMMANDS:
        assert main([name, "--help"]) == 0, name
        out = capsys.readouterr().out
        description = out.split("Options:")[0].split("\n\n", 1)[1].strip()
        japanese, _, english = description.partition(" / ")
        assert any(ch > "\u3000" for ch in japanese) and english.isascii(), (name, description)
        assert "この説明を表示して終了 / show this message and exit" in out


def test_refuses_to_parse_workbooks_when_openpyxl_lacks_defusedxml(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import openpyxl

    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)
    assert main(["check", "nothing-here"]) == 3
    assert "defusedxml" in capsys.readouterr().err


def test_openpyxl_uses_defusedxml_as_installed() -> None:
    from kokuho.safety import ensure_openpyxl_uses_defusedxml

    ensure_openpyxl_uses_defusedxml()


@pytest.mark.parametrize("module", ["load.query", "load.export_excel", "kokuho.templates", "kokuho.cli"])
def test_ad_hoc_commands_do_not_import_prefect_or_gx(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "bad = [m for m in ('prefect', 'great_expectations') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "argv",
    [
        ["sql", "--fomat", "csv", "SELECT 1"],  # a misspelt option is not SQL
        ["template", "111007"],  # codes only after --municipality
        ["export", "--format", "xlsx"],
        ["check"],
        ["run", "--runner", "threads"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "Usage: kokuho" in capsys.readouterr().err


def test_settings_flags_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KOKUHO_DB", str(tmp_path / "from-env.duckdb"))
    assert main(["sql", "SELECT 1"]) == 2
    assert "from-env.duckdb" in capsys.readouterr().err
    assert main(["sql", "--db", str(tmp_path / "from-flag.duckdb"), "SELECT 1"]) == 2
    err = capsys.readouterr().err
    assert "from-flag.duckdb" in err and "from-env.duckdb" not in err
