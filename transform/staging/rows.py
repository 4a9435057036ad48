"""Collected staging rows (tuples in contract column order), the plain StagedFile a worker sends
back, its shape check in the parent, and the builder that turns staged files into one batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from transform.batch import StagingBatch
from transform.contracts import contract

# One staged file as plain data: (sha256, survey_id of the catalog it was staged against, the rows
# of each staging table in StagingBatch.TABLES order). Built where the file was extracted (an
# isolated worker) and sent back as it is: far smaller and cheaper to move than the raw cells.
StagedFile = tuple[str, str, tuple[list[tuple], ...]]


@lru_cache(maxsize=1)
def _columns() -> dict[str, list[str]]:
    return {table: contract(table).column_names for table in StagingBatch.TABLES.values()}


@dataclass
class _Rows:
    submissions: list[tuple] = field(default_factory=list)
    responses: list[tuple] = field(default_factory=list)
    own_initiatives: list[tuple] = field(default_factory=list)
    item_values: list[tuple] = field(default_factory=list)
    numeric_targets: list[tuple] = field(default_factory=list)
    issues: list[tuple] = field(default_factory=list)
    rule_checks: list[tuple] = field(default_factory=list)

    def extend(self, tables: tuple[list[tuple], ...]) -> None:
        for attr, rows in zip(StagingBatch.TABLES, tables, strict=True):
            getattr(self, attr).extend(rows)

    def tables(self) -> tuple[list[tuple], ...]:
        return tuple(getattr(self, attr) for attr in StagingBatch.TABLES)

    def batch(self) -> StagingBatch:
        from transform.batch import frame_from_arrow

        return StagingBatch(
            **{
                attr: frame_from_arrow([part], StagingBatch.TABLES[attr])
                for attr, part in self.arrow().items()
            }
        )

    def arrow(self) -> dict[str, object]:
        """Each table's rows as an Arrow table (transform.batch.arrow_from_rows)."""
        return {attr: arrow_rows(attr, getattr(self, attr)) for attr in StagingBatch.TABLES}


def arrow_rows(attr: str, rows: list[tuple]) -> object:
    """Rows of one staging table (a StagingBatch attribute) as an Arrow table of its contract."""
    from transform.batch import arrow_from_rows

    table = StagingBatch.TABLES[attr]
    if attr == "submissions":
        # received_at travels as POSIX seconds (a float pickles cheaply).
        position = _columns()[table].index("received_at")
        rows = [(*r[:position], _utc(r[position]), *r[position + 1 :]) for r in rows]
    return arrow_from_rows(rows, table)


def _utc(seconds: float | None) -> object:
    from datetime import UTC, datetime

    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def check_staged(value: object) -> StagedFile:
    """`value` if it has the shape of a StagedFile (it comes from a worker that parsed untrusted
    bytes), else ValueError. Cells are plain values already: the worker's results are unpickled
    with an allow-list."""
    columns = _columns()
    widths = [len(columns[table]) for table in StagingBatch.TABLES.values()]
    if not (isinstance(value, tuple) and len(value) == 3):
        raise ValueError("malformed staged file")
    sha256, survey_id, tables = value
    if not (isinstance(sha256, str) and isinstance(survey_id, str) and isinstance(tables, tuple)):
        raise ValueError("malformed staged file")
    if len(tables) != len(widths):
        raise ValueError("malformed staged file")
    for rows, width in zip(tables, widths, strict=True):
        # map() over C callables: this runs in the parent for every row of a national batch.
        if type(rows) is not list or (
            rows and ({*map(type, rows)} != {tuple} or {*map(len, rows)} != {width})
        ):
            raise ValueError("malformed staged file")
    return value


class StagedBatchBuilder:
    """Staged files into one StagingBatch as they arrive, in any order (`add(index, file)`,
    indexes 0..n-1): rows are taken in index order, and each table's rows become an Arrow part
    every `part_rows` rows, so that most of the conversion overlaps the extraction still running.

    Parts are exactly `part_rows` long (the rest at `finish`): the load hands them to DuckDB as
    they are, and parts that do not tile its row groups (122,880 rows) left partial row groups
    that the load's CHECKPOINT rewrote (0.2 s more, and a file a fifth larger, on a national
    batch in parts of 128 files)."""

    def __init__(self, part_rows: int = 61_440) -> None:
        self.part_rows = part_rows
        self.rows = _Rows()
        self.parts: dict[str, list[object]] = {attr: [] for attr in StagingBatch.TABLES}
        self.survey_of: dict[str, str] = {}
        self.pending: dict[int, StagedFile] = {}
        self.next_index = 0

    def add(self, index: int, file: StagedFile) -> None:
        self.pending[index] = file
        while self.next_index in self.pending:
            sha256, survey_id, tables = self.pending.pop(self.next_index)
            self.next_index += 1
            if sha256 in self.survey_of:
                continue  # the same bytes under a second name
            self.survey_of[sha256] = survey_id
            self.rows.extend(tables)
            for attr, rows in zip(StagingBatch.TABLES, tables, strict=True):
                if rows and len(getattr(self.rows, attr)) >= self.part_rows:
                    self._convert(attr, whole_parts=True)

    def finish(self) -> tuple[StagingBatch, dict[str, str]]:
        from transform.batch import frame_from_arrow

        if self.pending:
            raise ValueError(f"staged files missing before index {min(self.pending)}")
        for attr in StagingBatch.TABLES:
            self._convert(attr, whole_parts=False)
        parts, self.parts = self.parts, {attr: [] for attr in StagingBatch.TABLES}
        batch = StagingBatch(
            **{attr: frame_from_arrow(parts[attr], table) for attr, table in StagingBatch.TABLES.items()}
        )
        return batch, self.survey_of

    def _convert(self, attr: str, *, whole_parts: bool) -> None:
        # Python rows -> Arrow now (the costly part); one pandas conversion at the end.
        rows: list[tuple] = getattr(self.rows, attr)
        size = self.part_rows
        cut = len(rows) - len(rows) % size if whole_parts else len(rows)
        for start in range(0, cut, size):
            self.parts[attr].append(arrow_rows(attr, rows[start : start + size]))
        if not whole_parts and not self.parts[attr]:
            self.parts[attr].append(arrow_rows(attr, []))  # an empty table keeps its columns
        setattr(self.rows, attr, rows[cut:])
