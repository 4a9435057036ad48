"""The SQL of the warehouse, one statement (or object) per file under load/sql/:

- tables/   the tables, one CREATE TABLE IF NOT EXISTS each
- macros/   the macros the views use
- views/    the views (re-created on every write, in load.schema.VIEWS order), each with a
            contract <name>.yaml beside the public ones (load.view_contracts)
- steps/    the load steps (INSERT / UPDATE, no object of their own)
- queries/  the read-only queries of the commands, exports and run reports
- settings/ the SET statements of read-only connections and `kokuho sql`

Files are read through importlib.resources, so an installed (non-editable) package finds them.
Standard library only: `kokuho sql` imports this and must start at once.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

KINDS: tuple[str, ...] = ("tables", "macros", "views", "steps", "queries", "settings")


def sql_root() -> Traversable:
    """The load/sql folder of the installed package."""
    return files("load") / "sql"


@cache
def sql(name: str) -> str:
    """The text of load/sql/<kind>/<name>.sql; `name` is "<kind>/<name>", e.g. "views/budget_lines"."""
    kind, _, stem = name.partition("/")
    if kind not in KINDS or not stem or "/" in stem:
        raise ValueError(f"SQL file name must be <kind>/<name> with kind one of {KINDS}: {name!r}")
    return (sql_root() / kind / f"{stem}.sql").read_text(encoding="utf-8")


def names(kind: str) -> list[str]:
    """The names (without .sql) of the files of one kind, sorted."""
    return sorted(
        p.name.removesuffix(".sql") for p in (sql_root() / kind).iterdir() if p.name.endswith(".sql")
    )


def quote_identifier(name: str) -> str:
    """A table, view or column name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def fill(template: str, /, **parts: str) -> str:
    """A template of load/sql (a statement with {placeholders}; its comments name them <placeholder>)
    filled with SQL fragments.

    The callers build every fragment from quote_identifier and checked literals (an int year, a
    two-digit code), never from text a user typed; values a user gives are bound as parameters.
    """
    return sql(template).format_map(parts)
