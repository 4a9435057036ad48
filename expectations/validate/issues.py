"""Failing rows of a validation as file issues (file_issues contract, stage "validate"), capped per
file and expectation, without repeating issues staging already reported."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from expectations.validate.model import ROW_ID, STAGE, ExpectationError
from kokuho import codelists
from transform.batch import conform

if TYPE_CHECKING:
    from kokuho.catalog import Catalog


class _Fields(dict):
    """str.format_map fields where a missing name reads as blank."""

    def __missing__(self, key: str) -> str:
        return ""


def _text(value: object) -> str | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return None
        return f"{value:g}"
    return str(value)


def _raised(info: object) -> str | None:
    """The message of an exception GX caught while evaluating an expectation, if any.

    GX reports it either at the top level or keyed by the metric that failed; a failed metric
    must stop the run rather than pass silently as "no failing rows".
    """
    if not info:
        return None
    entries = [info, *(info.values() if isinstance(info, dict) else [])]
    for entry in entries:
        get = entry.get if isinstance(entry, dict) else lambda k, e=entry: getattr(e, k, None)
        if get("raised_exception"):
            return str(get("exception_message") or "unknown error")
    return None


class _IssueBuilder:
    def __init__(
        self, params: dict[str, Any], catalog: Catalog, max_issues_per_file: int, existing: pd.DataFrame
    ) -> None:
        from kokuho.municipalities import prefecture

        self.max_issues_per_file = max(1, max_issues_per_file)
        self.rows: list[dict[str, Any]] = []
        self.failed_files: set[str] = set()
        self._file_level: set[tuple[str, str]] = set()  # (sha256, code) already reported
        if len(existing):
            self._file_level.update((sha256, code) for sha256, code in _keys(existing, ["sha256", "code"]))
        self._truncated: dict[str, str] = {}  # sha256 -> file name
        self._master: Mapping[str, Any] | None = None
        self.fields = _Fields(
            {k: v for k, v in params.items() if not isinstance(v, list)},
            prefecture_code=catalog.prefecture_code,
            prefecture_name=prefecture(catalog.prefecture_code).name,
            fiscal_year=catalog.fiscal_year,
            survey_id=catalog.survey_id,
        )

    def cap_rows(self, frame: pd.DataFrame, suite: str, max_rows: int) -> pd.DataFrame:
        if frame.empty:
            return frame
        position = frame.groupby("sha256", sort=False, dropna=False).cumcount()
        if int(position.max()) < max_rows:
            return frame
        totals = frame.groupby("sha256", sort=False, dropna=False).size()
        for sha256, total in totals[totals > max_rows].items():
            first = frame[frame["sha256"] == sha256].iloc[0]
            self._truncate(sha256, first["file_name"], value=f"{suite}: {total}行", limit=max_rows)
        return frame[(position < max_rows).to_numpy()].reset_index(drop=True)

    def _truncate(self, sha256: object, file_name: object, *, value: str | None, limit: int) -> None:
        sha = _text(sha256) or ""
        self.failed_files.add(sha)
        if sha in self._truncated:
            return
        self._truncated[sha] = _text(file_name) or ""
        self._add(
            code="TOO_MANY_PROBLEMS",
            file_name=_text(file_name),
            sha256=sha,
            sheet=None,
            cell=None,
            value=value,
            rule="validate.max_rows_per_file" if value else "validate.max_issues_per_file",
            detail=str(limit),
        )

    def add_result(self, suite: str, frame: pd.DataFrame, result: Any) -> None:
        for expectation in result.results:
            config = expectation.expectation_config
            error = _raised(expectation.exception_info)
            if error is not None:
                raise ExpectationError(
                    f"{suite}: {config.type} {config.kwargs} could not be evaluated: {error}"
                )
            if expectation.success:
                continue
            self._add_failures(
                suite, frame, config, (expectation.result or {}).get("unexpected_index_list") or []
            )

    def _add_failures(self, suite: str, frame: pd.DataFrame, config: Any, failures: list[dict]) -> None:
        meta = config.meta or {}
        kwargs = config.kwargs
        column = kwargs.get("column") or kwargs.get("column_B") or kwargs["column_list"][-1]
        value_column = meta.get("value_column") or column
        cell_column = meta.get("cell_column")
        code = meta.get("issue_code") or "VALIDATION_FAILED"
        once = bool(meta.get("once_per_file"))
        no_cell = bool(meta.get("no_cell"))
        columns = kwargs.get("column_list") or [kwargs[k] for k in ("column_A", "column_B") if k in kwargs]
        rule = f"{suite}.{config.type}({kwargs.get('column') or ','.join(columns)})"
        detail_columns = list(meta.get("detail_columns") or [])
        needed = {
            column,
            value_column,
            "sha256",
            "file_name",
            "sheet",
            "cell",
            *(["row_no"] if cell_column else []),
            *detail_columns,
        }
        values = {c: frame[c].to_numpy(dtype=object, na_value=None) for c in needed}
        counts: dict[str, int] = {}
        for failure in failures:
            row = int(failure[ROW_ID])
            sha = _text(values["sha256"][row]) or ""
            self.failed_files.add(sha)
            seen = counts.get(sha, 0)
            if seen >= self.max_issues_per_file:
                self._truncate(sha, values["file_name"][row], value=None, limit=self.max_issues_per_file)
                continue
            checked = _text(values[column][row])
            row_code, detail_extra = self._refine(code, checked)
            if once and (sha, row_code) in self._file_level:
                continue
            counts[sha] = seen + 1
            cell = None if no_cell else _text(values["cell"][row])
            if cell_column and values["row_no"][row] is not None:
                cell = f"{cell_column}{int(values['row_no'][row])}"
            fields = _Fields(self.fields, value=checked or "", length=len(checked or ""))
            fields.update({c: _text(values[c][row]) or "" for c in detail_columns})
            detail = detail_extra or (meta.get("detail") or "").format_map(fields)
            self._add(
                code=row_code,
                file_name=_text(values["file_name"][row]),
                sha256=sha,
                sheet=_text(values["sheet"][row]),
                cell=cell,
                value=_text(values[value_column][row]),
                rule=rule,
                detail=detail,
            )

    def _refine(self, code: str, value: str | None) -> tuple[str, str | None]:
        """A code outside the prefecture: another prefecture's municipality, or no municipality."""
        if code != "MUNICIPALITY_OTHER_PREFECTURE" or value is None:
            return code, None
        if self._master is None:
            from kokuho.municipalities import by_code

            self._master = by_code()
        found = self._master.get(value)
        if found is None:
            return "MUNICIPALITY_UNKNOWN", None
        return code, f"{found.prefecture_name}{found.name}のコードです"

    def _add(self, *, code: str, detail: str | None, **fields: Any) -> None:
        message = codelists.issue_message(
            code,
            file=fields["file_name"],
            sheet=fields["sheet"],
            cell=fields["cell"],
            value=fields["value"],
            detail=detail,
        )
        self._file_level.add((fields["sha256"], code))
        self.rows.append(
            {**fields, "code": code, "message": message, "hint": codelists.issue_hint(code), "stage": STAGE}
        )

    def frame(self, existing: pd.DataFrame | None) -> pd.DataFrame:
        issues = conform(pd.DataFrame(self.rows), "file_issues")
        grain = ["sha256", "code", "sheet", "cell"]
        issues = issues.drop_duplicates(subset=grain).reset_index(drop=True)
        if existing is not None and len(existing) and len(issues):
            existing = conform(existing, "file_issues")
            known = set(map(tuple, _keys(existing, grain)))
            issues = issues[[tuple(k) not in known for k in _keys(issues, grain)]].reset_index(drop=True)
            # A cell transform already explained (e.g. MUNICIPALITY_UNKNOWN on the cover code) gets no
            # second, contradicting reason from a generic rule (the code is then null in staging).
            explained = set(map(tuple, _keys(existing, ["sha256", "sheet", "cell"])))
            generic = issues["code"].isin(["MUNICIPALITY_CODE_INVALID", "VALIDATION_FAILED"])
            repeated = pd.Series(
                [tuple(k) in explained for k in _keys(issues, ["sha256", "sheet", "cell"])],
                index=issues.index,
            )
            issues = issues[~(generic & repeated)].reset_index(drop=True)
        return issues


def _keys(frame: pd.DataFrame, columns: list[str]) -> list[list[str]]:
    return frame[columns].astype(object).fillna("").astype(str).to_numpy().tolist()
