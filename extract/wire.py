"""How a worker's result travels to the parent: nested tuples of plain values, not pickled objects.

Cheaper to unpickle than dataclass instances, and the parent's unpickler then needs to allow no
class at all but the datetime types cell values may hold (see extract.sandbox).

A message is (index, kind, values): kind WORKBOOK carries an ExtractedWorkbook as tuples, kind
STEP_RESULT the plain-data result of the worker's step (extract.sandbox.WorkerStep).
"""

from __future__ import annotations

import io
import pickle
from dataclasses import fields
from typing import Any

from extract.model import ExtractedWorkbook, RawIssue, RawRow, RawSheet

_WORKBOOK = tuple(f.name for f in fields(ExtractedWorkbook))
_SHEET = tuple(f.name for f in fields(RawSheet))
_ROW = tuple(f.name for f in fields(RawRow))
_ISSUE = tuple(f.name for f in fields(RawIssue))

WORKBOOK = 0
STEP_RESULT = 1

_ALLOWED_GLOBALS = frozenset(
    {
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
    }
)


def encode(index: int, workbook: ExtractedWorkbook) -> bytes:
    sheets = tuple(_encode_sheet(sheet) for sheet in workbook.sheets)
    issues = tuple(tuple(getattr(issue, name) for name in _ISSUE) for issue in workbook.issues)
    values = tuple(
        sheets if name == "sheets" else issues if name == "issues" else getattr(workbook, name)
        for name in _WORKBOOK
    )
    return pickle.dumps((index, WORKBOOK, values), protocol=pickle.HIGHEST_PROTOCOL)


def encode_result(index: int, result: Any) -> bytes:
    """A step's result: plain values only (the parent's unpickler refuses anything else)."""
    return pickle.dumps((index, STEP_RESULT, result), protocol=pickle.HIGHEST_PROTOCOL)


def _encode_sheet(sheet: RawSheet) -> tuple[Any, ...]:
    rows = tuple(tuple(getattr(row, name) for name in _ROW) for row in sheet.rows)
    return tuple(rows if name == "rows" else getattr(sheet, name) for name in _SHEET)


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"unexpected object in a worker result: {module}.{name}")
        return super().find_class(module, name)


def decode(payload: bytes) -> tuple[int, int, Any]:
    """(index, kind, ExtractedWorkbook or step result). Raises (pickle.UnpicklingError, TypeError,
    ValueError...) on anything malformed."""
    message = _PlainUnpickler(io.BytesIO(payload)).load()
    if not isinstance(message, tuple) or len(message) != 3 or not isinstance(message[0], int):
        raise pickle.UnpicklingError("malformed worker result")
    index, kind, values = message
    if kind == STEP_RESULT:
        return index, kind, values
    if kind != WORKBOOK or not isinstance(values, tuple) or len(values) != len(_WORKBOOK):
        raise pickle.UnpicklingError("malformed worker result")
    kwargs = dict(zip(_WORKBOOK, values, strict=True))
    kwargs["sheets"] = [_decode_sheet(sheet) for sheet in kwargs["sheets"]]
    kwargs["issues"] = [RawIssue(*issue) for issue in kwargs["issues"]]
    return index, kind, ExtractedWorkbook(**kwargs)


def _decode_sheet(values: tuple[Any, ...]) -> RawSheet:
    kwargs = dict(zip(_SHEET, values, strict=True))
    kwargs["rows"] = [RawRow(*row) for row in kwargs["rows"]]
    return RawSheet(**kwargs)
