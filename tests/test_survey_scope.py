"""Views narrowed to some surveys (SET VARIABLE kokuho_surveys, macro survey_in_scope): what the export
reads so that a warehouse of many years costs it one year's rows. On the typed-items fixture of
test_item_views (Okayama-like, FY2023 → FY2024: choices, numbers with the year before, an item that
applies where a check item is ○, a named group, breakdowns)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_item_views import PREVIOUS, SURVEY, fixture_files, item_batch, write_catalogs

from load.export_data import read_year_only
from load.publish import connect_readonly
from load.warehouse import load_batch

# Every view that honours the scope.
SCOPED_VIEWS = (
    "budget_lines",
    "measure_summary",
    "municipality_matrix",
    "item_answers",
    "item_summary",
    "item_option_counts",
    "item_numbers",
    "item_number_totals",
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The typed-items fixture, each implemented check item with a budget line (by municipality)."""
    directory = tmp_path_factory.mktemp("scope")
    cat2023, cat2024 = write_catalogs(directory / "catalogs")
    files2023, files2024 = fixture_files(cat2023, cat2024)
    batch = item_batch([*files2023, *files2024])
    responses = batch.responses
    lines = [
        f"予算事業{int(code) % 3}" if implemented else None
        for code, implemented in zip(responses["municipality_code"], responses["implemented"], strict=True)
    ]
    batch.responses = responses.assign(budget_line=pd.array(lines, dtype="string"))
    db = directory / "kokuho.duckdb"
    load_batch(db, batch, catalogs=[cat2023, cat2024], run_id="run-scope")
    return db


def _rows(con: duckdb.DuckDBPyConnection, view: str, where: str = "true") -> list[tuple]:
    return sorted(con.execute(f"SELECT * FROM {view} WHERE {where}").fetchall(), key=repr)


@pytest.mark.parametrize("view", SCOPED_VIEWS)
@pytest.mark.parametrize(
    ("year", "shown", "hidden"),
    [
        (2024, {SURVEY, PREVIOUS}, set()),  # the year and the year before
        (2023, {PREVIOUS}, {SURVEY}),  # the year after is left out
    ],
)
def test_a_view_narrowed_to_a_year_shows_its_surveys_as_without(
    db: Path, view: str, year: int, shown: set[str], hidden: set[str]
) -> None:
    con = connect_readonly(db)
    try:
        whole = {survey: _rows(con, view, f"survey_id = '{survey}'") for survey in shown | hidden}
        assert all(whole.values()), (view, {s: len(r) for s, r in whole.items()})
        read_year_only(con, "33", year)
        (named,) = con.execute("SELECT getvariable('kokuho_surveys')").fetchone() or (None,)
        assert sorted(named) == sorted(shown)
        narrowed = _rows(con, view)
    finally:
        con.close()
    assert narrowed == sorted((row for survey in shown for row in whole[survey]), key=repr)


def test_a_year_without_surveys_narrows_to_none(db: Path) -> None:
    con = connect_readonly(db)
    try:
        read_year_only(con, "33", 2030)
        assert con.execute("SELECT getvariable('kokuho_surveys')").fetchone() == ([],)
        assert [_rows(con, view) for view in SCOPED_VIEWS] == [[] for _ in SCOPED_VIEWS]
    finally:
        con.close()


def test_answer_rows_without_checks_keep_typed_items_and_the_check_items_conditions_read(db: Path) -> None:
    """item_answer_rows(checks := false), what the typed items' views read: every typed answer as
    with the checks, and of the check items only those a condition names (T_CHECK, which T_IF_CHECK
    applies where ○)."""
    con = connect_readonly(db)
    try:
        without = _rows(con, "item_answer_rows(checks := false)")
        every = _rows(con, "item_answer_rows()")
    finally:
        con.close()
    item_type, item_id = 5, 4  # columns of item_answer_rows
    assert [r for r in without if r[item_type] != "check"] == [r for r in every if r[item_type] != "check"]
    assert {r[item_id] for r in without if r[item_type] == "check"} == {"T_CHECK"}
    assert {r[item_id] for r in every if r[item_type] == "check"} > {"T_CHECK", "T_IF_CHECK"}
    assert [r for r in without if r[item_id] == "T_CHECK"] == [r for r in every if r[item_id] == "T_CHECK"]


def test_the_export_narrows_its_reads_without_importing_pandas(db: Path, tmp_path: Path) -> None:
    """The year is given to DuckDB as a literal: a bound parameter would make duckdb import pandas,
    a large part of a lone export's time."""
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from load.export_excel import export_summary
        export_summary(Path({str(db)!r}), 2024, Path({str(tmp_path / "out.xlsx")!r}), prefecture_code="33")
        print(sorted(m for m in ("pandas", "pyarrow") if m in sys.modules))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]" and (tmp_path / "out.xlsx").is_file()


@pytest.mark.parametrize("pref", ["3", "333", "3'", "' OR true --", "３３"])
def test_a_code_that_is_not_two_digits_never_reaches_the_sql_text(db: Path, pref: str) -> None:
    con = connect_readonly(db)
    try:
        with pytest.raises(ValueError, match="unchecked prefecture code"):
            read_year_only(con, pref, 2024)
        assert con.execute("SELECT getvariable('kokuho_surveys')").fetchone() == (None,)
    finally:
        con.close()
