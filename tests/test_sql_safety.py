"""`kokuho sql` cannot write the warehouse, its folder, or (without --out-dir) any file.

Every attempt runs in-process against a real DuckDB file; the warehouse's bytes are compared
before and after.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from test_warehouse import load_fixture, make_fixture

from kokuho.cli import main as kokuho_main


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sqlsafe")
    path = directory / "kokuho.duckdb"
    load_fixture(path, make_fixture(directory / "catalogs"))
    return path


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the warehouse in its own folder (home/kokuho.duckdb)."""
    home = tmp_path / "home"
    home.mkdir()
    path = home / "kokuho.duckdb"
    path.write_bytes(built.read_bytes())
    return path


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KOKUHO_DB", "KOKUHO_HOME", "KOKUHO_PREFECTURE", "KOKUHO_YEAR"):
        monkeypatch.delenv(name, raising=False)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


WRITE_ATTEMPTS = {
    "copy onto the warehouse": "COPY (SELECT 1) TO '{db}'",
    "copy onto the warehouse, no temporary file": "COPY (SELECT 1) TO '{db}' (USE_TMP_FILE false)",
    "copy onto the warehouse's log": "COPY (SELECT 1) TO '{db}.wal' (USE_TMP_FILE false)",
    "copy to a computed path": "COPY (SELECT 1) TO ('{home}' || '/kokuho.duckdb') (USE_TMP_FILE false)",
    "copy into the warehouse folder": "COPY (SELECT 1) TO '{home}/x.csv'",
    "copy elsewhere": "COPY (SELECT 1) TO '{out}/x.csv' (HEADER)",
    "copy parquet elsewhere": "COPY (SELECT * FROM measure_summary) TO '{out}/x.parquet' (FORMAT parquet)",
    "export database": "EXPORT DATABASE '{out}/dump'",
    "export database into the warehouse folder": "EXPORT DATABASE '{home}'",
    "attach the warehouse read-write": "ATTACH '{db}' AS w (READ_WRITE)",
    "attach the warehouse by another path": "ATTACH '{home}/./kokuho.duckdb' AS w (READ_WRITE)",
    "attach a new file": "ATTACH '{out}/new.duckdb' AS n",
    "undo the lock": "SET enable_external_access = true; COPY (SELECT 1) TO '{db}'",
    "reset the lock": "RESET enable_external_access",
    "unlock the configuration": "SET lock_configuration = false",
    "widen the allowed folders": "SET allowed_directories = ['/']",
    "temp files beside the warehouse": "SET temp_directory = '{home}'",
    "pragma": "PRAGMA enable_external_access = true",
    "read a file": "SELECT * FROM read_csv('{db}')",
}


@pytest.mark.parametrize("sql", WRITE_ATTEMPTS.values(), ids=WRITE_ATTEMPTS.keys())
def test_write_attempts_are_refused(
    db: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str], sql: str
) -> None:
    before = sha256(db)
    home_before = listing(db.parent)
    statement = sql.format(db=db, home=db.parent, out=elsewhere)
    assert kokuho_main(["sql", "--db", str(db), statement]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("拒否しました / refused: ")
    assert "Traceback" not in captured.err
    assert captured.out == ""
    assert sha256(db) == before
    assert listing(db.parent) == home_before
    assert listing(elsewhere) == []


def test_the_refusal_names_the_way_out(db: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kokuho_main(["sql", "--db", str(db), f"COPY (SELECT 1) TO '{elsewhere}/x.csv'"]) == 1
    err = capsys.readouterr().err
    assert "--out-dir DIR" in err and "--format csv" in err


ATTEMPTS_WITH_OUT_DIR = {
    "copy onto the warehouse": "COPY (SELECT 1) TO '{db}'",
    "copy onto the warehouse, no temporary file": "COPY (SELECT 1) TO '{db}' (USE_TMP_FILE false)",
    "copy onto the warehouse's log": "COPY (SELECT 1) TO '{db}.wal' (USE_TMP_FILE false)",
    "copy to a computed path": "COPY (SELECT 1) TO ('{home}' || '/kokuho.duckdb') (USE_TMP_FILE false)",
    "copy through ..": "COPY (SELECT 1) TO '{out}/../home/kokuho.duckdb' (USE_TMP_FILE false)",
    "copy into the warehouse folder": "COPY (SELECT 1) TO '{home}/x.csv'",
    "export database into the warehouse folder": "EXPORT DATABASE '{home}'",
    "attach the warehouse read-write": "ATTACH '{db}' AS w (READ_WRITE)",
    "undo the lock": "SET allowed_directories = ['{home}']",
}


@pytest.mark.parametrize("sql", ATTEMPTS_WITH_OUT_DIR.values(), ids=ATTEMPTS_WITH_OUT_DIR.keys())
def test_out_dir_never_reaches_the_warehouse(
    db: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str], sql: str
) -> None:
    before = sha256(db)
    home_before = listing(db.parent)
    statement = sql.format(db=db, home=db.parent, out=elsewhere)
    assert kokuho_main(["sql", "--db", str(db), "--out-dir", str(elsewhere), statement]) == 1
    err = capsys.readouterr().err
    assert err.startswith("拒否しました / refused: ")
    assert sha256(db) == before
    assert listing(db.parent) == home_before


@pytest.mark.parametrize("which", ["the warehouse folder", "its parent", "a folder inside it"])
def test_out_dir_overlapping_the_warehouse_folder_is_refused(
    db: Path, capsys: pytest.CaptureFixture[str], which: str
) -> None:
    folder = {
        "the warehouse folder": db.parent,
        "its parent": db.parent.parent,
        "a folder inside it": db.parent / "exports",
    }[which]
    folder.mkdir(exist_ok=True)
    before = sha256(db)
    assert kokuho_main(["sql", "--db", str(db), "--out-dir", str(folder), f"COPY (SELECT 1) TO '{db}'"]) == 2
    err = capsys.readouterr().err
    assert "拒否しました" in err and "重なります" in err
    assert sha256(db) == before


@pytest.mark.parametrize("kind", ["symbolic link", "hard link"])
def test_a_link_to_the_warehouse_inside_out_dir_is_refused(
    db: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    link = elsewhere / "sub" / "result.csv"
    link.parent.mkdir()
    if kind == "symbolic link":
        link.symlink_to(db)
    else:
        os.link(db, link)
    before = sha256(db)
    statement = f"COPY (SELECT 1) TO '{link}' (USE_TMP_FILE false)"
    assert kokuho_main(["sql", "--db", str(db), "--out-dir", str(elsewhere), statement]) != 0
    err = capsys.readouterr().err
    assert "拒否しました" in err and "リンク" in err
    assert sha256(db) == before


def test_missing_out_dir_is_an_error(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kokuho_main(["sql", "--db", str(db), "--out-dir", str(tmp_path / "nope"), "SELECT 1"]) == 2
    assert "フォルダがありません" in capsys.readouterr().err


def test_copy_with_out_dir_writes_there(
    db: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sha256(db)
    monkeypatch.chdir(elsewhere.parent)  # relative paths, as in the README's cookbook
    copy = (
        "COPY (SELECT measure_id, implementing_count FROM measure_summary "
        "WHERE fiscal_year = 2024 ORDER BY measure_id) TO 'out/ms.csv' (HEADER)"
    )
    assert kokuho_main(["sql", "--db", str(db), "--out-dir", "out", copy]) == 0
    lines = (elsewhere / "ms.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "measure_id,implementing_count" and len(lines) == 1 + 6
    capsys.readouterr()
    # files inside --out-dir can be read back
    assert (
        kokuho_main(
            [
                "sql",
                "--db",
                str(db),
                "--out-dir",
                "out",
                "--format",
                "csv",
                "SELECT count(*) FROM 'out/ms.csv'",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.split() == ["count_star()", "6"]
    assert sha256(db) == before
    assert listing(db.parent) == ["kokuho.duckdb"]


def test_status_still_reads(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kokuho.cli import main as kokuho_main

    assert kokuho_main(["status", "--db", str(db), "--year", "2024", "--prefecture", "11"]) == 0
    assert "提出状況" in capsys.readouterr().out
