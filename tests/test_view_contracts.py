"""The public views' contracts (load/sql/views/<view>.yaml) against the real views, the README and
the Excel export's column lists."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from test_export import build_fixture_db, sheet_rows
from test_warehouse import load_fixture, make_fixture

from load import export_data, export_sheets
from load.export_excel import export_summary
from load.schema import TABLES, VIEWS
from load.sql_files import names
from load.view_contracts import README_ORDER, contracts, readme_section, replace_in_readme

README = Path(__file__).resolve().parent.parent / "README.md"
CONTRACTS = contracts()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The warehouse of test_views: seed-like files of Saitama, FY2023 and FY2024, plus the typed
    items of test_item_views (Okayama-like), so that every view has rows."""
    from test_item_views import fixture_files, item_batch, write_catalogs

    from load.warehouse import load_batch

    directory = tmp_path_factory.mktemp("contracts")
    path = directory / "kokuho.duckdb"
    load_fixture(path, make_fixture(directory / "catalogs"))
    cat2023, cat2024 = write_catalogs(directory / "item_catalogs")
    files2023, files2024 = fixture_files(cat2023, cat2024)
    load_batch(path, item_batch([*files2023, *files2024]), catalogs=[cat2023, cat2024], run_id="run-items")
    from indicator_fixtures import fill_seed_003, new_warehouse

    with new_warehouse(path) as con:  # seed 003's indicators and costs (Nagano), for the indicator views
        fill_seed_003(con)
    return path


def test_every_view_has_a_contract_and_a_file() -> None:
    views = [c.view for c in CONTRACTS.values() if c.kind == "views"]
    assert sorted(views) == sorted(VIEWS) == names("views")
    assert {c.view for c in CONTRACTS.values() if c.kind == "tables"} == {"inbox_entries"} <= set(TABLES)
    assert sorted(README_ORDER) == sorted(CONTRACTS)


@pytest.mark.parametrize("view", sorted(CONTRACTS))
def test_view_columns_and_types_match_the_contract(db: Path, view: str) -> None:
    with duckdb.connect(str(db), read_only=True) as con:
        actual = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [view],
        ).fetchall()
    assert actual == [(c.name, c.type) for c in CONTRACTS[view].columns]


@pytest.mark.parametrize("view", VIEWS)
def test_the_grain_identifies_a_row(db: Path, view: str) -> None:
    grain = ", ".join(f'"{g}"' for g in CONTRACTS[view].grain)
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0]
        keys = con.execute(f"SELECT count(*) FROM (SELECT DISTINCT {grain} FROM {view})").fetchall()[0][0]
    assert rows > 0  # the fixture fills every view, so a repeated key would show
    assert keys == rows


def test_a_table_contract_grain_is_its_primary_key(db: Path) -> None:
    with duckdb.connect(str(db), read_only=True) as con:
        for contract in (c for c in CONTRACTS.values() if c.kind == "tables"):
            keys = con.execute(
                "SELECT constraint_column_names FROM duckdb_constraints() "
                "WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'",
                [contract.view],
            ).fetchall()
            assert keys == [(list(contract.grain),)], contract.view


def test_every_column_is_described() -> None:
    for contract in CONTRACTS.values():
        assert contract.description.strip(), contract.view
        assert all(c.description.strip() for c in contract.columns), contract.view
        assert len(set(contract.column_names)) == len(contract.columns), contract.view


def test_readme_view_reference_is_generated_from_the_contracts() -> None:
    text = README.read_text(encoding="utf-8")
    assert replace_in_readme(text, readme_section(README_ORDER)) == text, (
        "README のビュー一覧が契約と違います: python -m load.view_contracts --write README.md"
    )


def test_readme_names_every_view() -> None:
    views_section = (
        README.read_text(encoding="utf-8").split("### Views", 1)[1].split("### View reference", 1)[0]
    )
    for view in CONTRACTS:
        assert f"`{view}`" in views_section, view


def test_export_column_lists_are_contract_columns() -> None:
    for view, required in export_data.REQUIRED.items():
        assert set(required) <= set(CONTRACTS[view].column_names), view
    for view, optional in export_data.OPTIONAL.items():
        for logical, candidates in optional.items():
            # the first candidate is today's name; later ones read databases of older versions
            assert candidates[0] in CONTRACTS[view].column_names, (view, logical)
    for view, order in export_data.ORDER_BY.items():
        assert set(order) <= set(CONTRACTS[view].column_names), view
    assert list(export_data.MEASURE_SUMMARY_COLUMNS) == [
        c for c in CONTRACTS["measure_summary"].column_names if c in export_data.MEASURE_SUMMARY_COLUMNS
    ]
    assert set(export_sheets.BUDGET_COLUMNS) <= set(CONTRACTS["budget_lines"].column_names)


def test_machine_readable_sheet_has_the_contract_columns(tmp_path: Path) -> None:
    warehouse = build_fixture_db(tmp_path / "kokuho.duckdb")
    workbook = export_summary(warehouse, 2024, tmp_path / "summary.xlsx")
    header = sheet_rows(workbook, "data_measure_summary")[0]
    assert header == [c.name for c in CONTRACTS["measure_summary"].columns if not c.type.endswith("[]")]
    assert set(sheet_rows(workbook, "data_budget_lines")[0]) <= set(CONTRACTS["budget_lines"].column_names)
