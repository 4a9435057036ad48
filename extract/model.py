"""What extraction hands to transform: plain, picklable data about one returned file.

Values are what python-calamine returns (str, int, float, bool, datetime/date/time) or None for
an empty cell; nothing is normalised here. Cell addresses are A1-style ("D12").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RawIssue:
    """A problem found while reading; `code` is a key of kokuho.codelists.ISSUES."""

    code: str
    sheet: str | None = None
    cell: str | None = None
    value: str | None = None
    detail: str | None = None
    rule: str | None = None


@dataclass(slots=True)  # a national batch makes hundreds of thousands
class RawRow:
    row_no: int  # 1-based worksheet row
    key: str | None  # column A (stripped), None when empty
    cells: dict[str, Any]  # column letter -> value, only non-empty cells, column A excluded
    hidden: bool = False


@dataclass
class RawSheet:
    title: str
    key: str | None  # cell A1 (stripped)
    visible: bool  # False for hidden and very hidden sheets
    rows: list[RawRow]
    dimension: str | None = None  # the sheet's declared used range, e.g. "A1:F200"
    merged_ranges: list[str] = field(default_factory=list)  # e.g. ["D12:D13"]
    # Cells whose value calamine cannot give: formulas with no cached value, error values.
    formula_without_value: list[str] = field(default_factory=list)  # cell addresses
    error_cells: dict[str, str] = field(default_factory=dict)  # address -> "#REF!"
    # Added by extract: the formula text of each cell in `formula_without_value` (address -> "1+1",
    # no leading "="), and the numeric cells whose number format is a percentage (0.95 shown 95%).
    formula_text: dict[str, str] = field(default_factory=dict)
    percent_cells: set[str] = field(default_factory=set)


@dataclass
class ExtractedWorkbook:
    file_name: str
    file_path: str
    sha256: str
    file_size: int
    received_at: float  # POSIX mtime
    file_kind: str | None  # "xlsx", "xlsm", "xls"; None when not a workbook
    has_macros: bool = False
    sheets: list[RawSheet] = field(default_factory=list)
    # File-level problems (not a workbook, password, zip bomb, crash...). When any is present,
    # `sheets` may be empty and transform produces no rows for the file.
    issues: list[RawIssue] = field(default_factory=list)

    @classmethod
    def unread(
        cls,
        path: Path,
        issues: list[RawIssue] | None = None,
        *,
        sha256: str = "",
        file_size: int = 0,
        received_at: float = 0.0,
    ) -> ExtractedWorkbook:
        """A file not (yet) read: no sheets, kind unknown, facts as far as known."""
        return cls(
            file_name=path.name,
            file_path=str(path),
            sha256=sha256,
            file_size=file_size,
            received_at=received_at,
            file_kind=None,
            issues=list(issues or []),
        )

    def unread_copy(self, issues: list[RawIssue]) -> ExtractedWorkbook:
        """This file (same name, hash, size, time) as one that could not be read: no sheets,
        only `issues`."""
        return ExtractedWorkbook(
            file_name=self.file_name,
            file_path=self.file_path,
            sha256=self.sha256,
            file_size=self.file_size,
            received_at=self.received_at,
            file_kind=self.file_kind,
            has_macros=self.has_macros,
            issues=list(issues),
        )

    def sheet_by_key(self, key: str) -> RawSheet | None:
        for sheet in self.sheets:
            if sheet.key == key:
                return sheet
        return None
