"""StagingBatch: the staging tables of one batch of files, as pandas DataFrames whose columns
follow the contracts in expectations/contracts/. Shared by transform, expectations and load."""

from __future__ import annotations

from dataclasses import dataclass, fields

import pandas as pd

from expectations.contracts import contract

_PANDAS_DTYPES = {
    "string": "string",
    "int64": "Int64",
    "float64": "Float64",
    "bool": "boolean",
    "timestamp[us, tz=UTC]": "datetime64[us, UTC]",
}


def empty_frame(table: str) -> pd.DataFrame:
    """An empty DataFrame with the table's contract columns and dtypes."""
    return conform(pd.DataFrame(), table)


def conform(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Select and order the contract's columns (adding missing ones as null) and cast dtypes."""
    spec = contract(table)
    out = pd.DataFrame(index=frame.index)
    for column in spec.columns:
        values = frame[column.name] if column.name in frame.columns else pd.Series(None, index=frame.index)
        out[column.name] = values.astype(_PANDAS_DTYPES[column.dtype])
    return out.reset_index(drop=True)


@dataclass
class StagingBatch:
    submissions: pd.DataFrame  # stg_submissions
    responses: pd.DataFrame  # stg_responses
    own_initiatives: pd.DataFrame  # stg_own_initiatives
    numeric_targets: pd.DataFrame  # stg_numeric_targets
    issues: pd.DataFrame  # file_issues

    TABLES = {
        "submissions": "stg_submissions",
        "responses": "stg_responses",
        "own_initiatives": "stg_own_initiatives",
        "numeric_targets": "stg_numeric_targets",
        "issues": "file_issues",
    }

    @classmethod
    def empty(cls) -> StagingBatch:
        return cls(**{attr: empty_frame(table) for attr, table in cls.TABLES.items()})

    @classmethod
    def concat(cls, batches: list[StagingBatch]) -> StagingBatch:
        if not batches:
            return cls.empty()
        return cls(
            **{
                f.name: conform(pd.concat([getattr(b, f.name) for b in batches], ignore_index=True), table)
                for f, table in zip(fields(cls), cls.TABLES.values(), strict=True)
            }
        )

    def without_files(self, sha256s: set[str]) -> StagingBatch:
        """The batch minus every row of the given files (issues are kept)."""
        keep = {}
        for attr in ("submissions", "responses", "own_initiatives", "numeric_targets"):
            frame = getattr(self, attr)
            keep[attr] = frame[~frame["sha256"].isin(sha256s)].reset_index(drop=True)
        return StagingBatch(issues=self.issues, **keep)
