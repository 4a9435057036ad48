"""`kokuho sql` and `kokuho status`, called in-process; import weight checked in a subprocess."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_warehouse import load_fixture, make_fixture

from kokuho.cli import main as kokuho_main
from load.query import display_width, render_table

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = (
    "SELECT implementing_count FROM measure_summary WHERE fiscal_year = 2024 "
    "AND label = 'スマホアプリ収納（PayB、LINEPay、PayPayなど）'"
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sql")
    path = directory / "kokuho.duckdb"
    load_fixture(path, make_fixture(directory / "catalogs"))
    return path


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KOKUHO_DB", "KOKUHO_HOME", "KOKUHO_PREFECTURE", "KOKUHO_YEAR"):
        monkeypatch.delenv(name, raising=False)


class _NotATty(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_example_query_as_table(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kokuho_main(["sql", "--db", str(db), EXAMPLE]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].strip() == "implementing_count"
    assert out[2].strip() == "3"
    assert out[-1] == "(1 行)"


def test_table_aligns_japanese_text(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = "SELECT measure_id, label, implementing_count, budget_lines FROM measure_summary WHERE fiscal_year = 2024"
    assert kokuho_main(["sql", "--db", str(db), "--max-width", "0", sql]) == 0
    lines = capsys.readouterr().out.splitlines()[:-1]
    assert len(lines) == 2 + 6

    # every row has its column separators at the same display columns as the header
    def bars(line: str) -> list[int]:
        return [display_width(line[:i]) for i, ch in enumerate(line) if ch in "|+"]

    assert all(bars(line) == bars(lines[0]) for line in lines)
    assert "コンビニ収納等業務委託料, 地方税共通納税システム利用料" in lines[2]


def test_render_table_pads_numbers_right_and_shows_null() -> None:
    text = render_table(["名前", "n"], [("さいたま市", 1), (None, 100)])
    assert text.splitlines() == [
        " 名前       | n",
        "------------+-----",
        " さいたま市 |   1",
        " NULL       | 100",
        "(2 行)",
    ]


def test_csv_output(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = "SELECT measure_id, budget_lines, change_marker FROM measure_summary WHERE fiscal_year = 2024 AND position <= 3"
    assert kokuho_main(["sql", "--db", str(db), "--format", "csv", sql]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [
        ["measure_id", "budget_lines", "change_marker"],
        ["M001", '["コンビニ収納等業務委託料", "地方税共通納税システム利用料"]', "増"],
        ["M002", '["コンビニ収納等業務委託料"]', ""],
        ["M003", '["地方税共通納税システム利用料", "公金クレジット収納代行委託"]', "新"],
    ]


def test_json_output(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = (
        "SELECT municipality_code, status, latest_received_at FROM submission_status "
        "WHERE fiscal_year = 2024 AND status_code = 'resubmitted'"
    )
    assert kokuho_main(["sql", "--db", str(db), "--format", "json", sql]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"municipality_code": "112071", "status": "再提出", "latest_received_at": "2024-05-10T09:00:00+09:00"}
    ]


def test_query_from_file_and_stdin(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "q.sql"
    script.write_text("-- 件数\nSELECT 42;\n" + EXAMPLE + ";\n", encoding="utf-8")
    assert kokuho_main(["sql", "--db", str(db), "--format", "csv", "--file", str(script)]) == 0
    assert capsys.readouterr().out.split() == ["implementing_count", "3"]

    monkeypatch.setattr(sys, "stdin", _NotATty(EXAMPLE))
    assert kokuho_main(["sql", "--db", str(db), "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["implementing_count", "3"]


def test_db_from_environment(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOKUHO_DB", str(db))
    assert kokuho_main(["sql", "--format", "csv", EXAMPLE]) == 0
    assert capsys.readouterr().out.split() == ["implementing_count", "3"]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELEC 1", "Parser Error"),
        ("SELECT * FROM no_such_view", "no_such_view"),
        ("DELETE FROM responses", "read-only"),
    ],
)
def test_bad_sql_exits_1_with_duckdb_message(
    db: Path, capsys: pytest.CaptureFixture[str], sql: str, message: str
) -> None:
    assert kokuho_main(["sql", "--db", str(db), sql]) == 1
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert captured.out == ""


def test_missing_database_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kokuho_main(["sql", "--db", str(tmp_path / "none.duckdb"), "SELECT 1"]) == 2
    err = capsys.readouterr().err
    assert "none.duckdb" in err and "kokuho run" in err


def test_bad_sql_in_a_real_process_has_no_traceback(db: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kokuho", "sql", "--db", str(db), "SELECT nope FROM measure_summary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "nope" in proc.stderr and "Traceback" not in proc.stderr


def test_status_lists_missing_first(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kokuho_main(["status", "--db", str(db), "--year", "2024", "--prefecture", "11"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0]
        == "埼玉県 令和6年度（2024年度） 提出状況: 受理 2・再提出 1・差戻し 1・未提出 59（全63市町村）"
    )
    body = lines[3:-1]
    assert len(body) == 63
    assert all("未提出" in line for line in body[:59])
    assert "差戻し" in body[59] and "113697" in body[59] and "D10" in body[59]
    assert "再提出" in body[60] and "R6_112071_修正版.xlsx" in body[60]


def test_status_for_a_year_not_loaded(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kokuho_main(["status", "--db", str(db), "--year", "2030"]) == 1
    assert "2030" in capsys.readouterr().err


def test_sql_and_status_do_not_import_prefect_or_gx() -> None:
    code = (
        "import sys; import load.query; import kokuho.cli; "
        "assert 'prefect' not in sys.modules and 'great_expectations' not in sys.modules; "
        "assert 'pandas' not in sys.modules, 'pandas slows kokuho sql'"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


# --- dot commands ---------------------------------------------------------------------------------


def test_schema_of_one_view(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kokuho_main(["sql", "--db", str(db), "--format", "csv", ".schema", "measure_summary"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["object", "column", "type"]
    assert {r[0] for r in rows[1:]} == {"measure_summary"}
    assert rows[1:4] == [
        ["measure_summary", "fiscal_year", "INTEGER"],
        ["measure_summary", "prefecture_code", "VARCHAR"],
        ["measure_summary", "measure_id", "VARCHAR"],
    ]
    assert ["measure_summary", "budget_lines", "VARCHAR[]"] in rows


def test_schema_alone_lists_every_object(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kokuho_main(["sql", "--db", str(db), "--format", "csv", ".schema"]) == 0
    objects = [r[0] for r in csv.reader(io.StringIO(capsys.readouterr().out))][1:]
    assert {"measure_summary", "submission_status", "responses", "runs"} <= set(objects)
    assert objects.index("submission_status") < objects.index("responses")  # views first


def test_schema_of_an_unknown_name(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kokuho_main(["sql", "--db", str(db), ".schema nope"]) == 1
    captured = capsys.readouterr()
    assert "nope" in captured.err and ".tables" in captured.err and captured.out == ""


def test_tables_and_help(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kokuho_main(["sql", "--db", str(db), "--format", "csv", ".tables"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert ["measure_summary", "view"] in rows and ["responses", "table"] in rows
    assert kokuho_main(["sql", ".help"]) == 0  # needs no database
    out = capsys.readouterr().out
    assert ".schema [NAME]" in out and ".tables" in out and "--out-dir" in out
    assert kokuho_main(["sql", "--db", str(db), ".nope"]) == 2
    assert ".help" in capsys.readouterr().err


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_dot_commands_in_the_prompt(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", _Tty(".help\n.schema surveys\nSELECT 40 + 2 AS answer;\n.quit\n"))
    assert kokuho_main(["sql", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert ".schema [NAME]" in out
    assert "surveys | fiscal_year" in out
    assert " answer" in out and "42" in out
