"""StagingBatch: the staging tables of one batch of files, as pandas DataFrames whose columns
follow the contracts in transform/contracts/. Shared by transform, expectations and load."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from transform.contracts import contract

if TYPE_CHECKING:  # pandas is imported where frames are built: extraction workers stage without it
    import pandas as pd
    import pyarrow as pa

_PANDAS_DTYPES = {
    "string": "string",
    "int64": "Int64",
    "float64": "Float64",
    "bool": "boolean",
    "timestamp[us, tz=UTC]": "datetime64[us, UTC]",
}


def empty_frame(table: str) -> pd.DataFrame:
    """An empty DataFrame with the table's contract columns and dtypes."""
    import pandas as pd

    return conform(pd.DataFrame(), table)


def conform(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Select and order the contract's columns (adding missing ones as null) and cast dtypes."""
    import pandas as pd

    spec = contract(table)
    out = pd.DataFrame(index=frame.index)
    for column in spec.columns:
        values = frame[column.name] if column.name in frame.columns else pd.Series(None, index=frame.index)
        out[column.name] = values.astype(_PANDAS_DTYPES[column.dtype])
    return out.reset_index(drop=True)


def arrow_from_rows(rows: list[tuple], table: str) -> pa.Table:
    """Row tuples in contract column order as an Arrow table of the contract's types.

    Built column by column (several times faster than DataFrame.from_records and astype on a
    national batch). A column whose values do not fit its type as they are (an int in a text
    column...) is cast the pandas way first, so the result is always `conform`'s."""
    import pandas as pd
    import pyarrow as pa

    spec = contract(table)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in spec.columns]
    arrays = []
    for column, values in zip(spec.columns, columns, strict=True):
        arrow_type = _arrow_type(column.dtype)
        try:
            arrays.append(pa.array(values, type=arrow_type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            cast = pd.Series(list(values), dtype=object).astype(_PANDAS_DTYPES[column.dtype])
            arrays.append(pa.array(cast, type=arrow_type, from_pandas=True))
    return pa.Table.from_arrays(arrays, names=[c.name for c in spec.columns])


def frame_from_arrow(parts: list[pa.Table], table: str) -> pd.DataFrame:
    """One contract-typed DataFrame of Arrow tables made by `arrow_from_rows`."""
    import pyarrow as pa

    joined = pa.concat_tables(parts) if len(parts) != 1 else parts[0]
    return conform(joined.to_pandas(types_mapper=_pandas_dtype), table)


def _arrow_type(dtype: str) -> pa.DataType:
    import pyarrow as pa

    if dtype.startswith("timestamp"):
        return pa.timestamp("us", tz="UTC")
    # large_string: what pandas' Arrow-backed strings hold (plain string would be cast on the way).
    return {"string": pa.large_string(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_()}[
        dtype
    ]


def _pandas_dtype(arrow_type: object) -> object:
    """types_mapper for Arrow -> pandas: the nullable dtypes `conform` casts to."""
    import pandas as pd
    import pyarrow as pa

    if arrow_type in (pa.string(), pa.large_string()):
        return pd.StringDtype("pyarrow")
    if arrow_type == pa.int64():
        return pd.Int64Dtype()
    if arrow_type == pa.float64():
        return pd.Float64Dtype()
    if arrow_type == pa.bool_():
        return pd.BooleanDtype()
    return None


@dataclass
class StagingBatch:
    submissions: pd.DataFrame  # stg_submissions
    responses: pd.DataFrame  # stg_responses
    own_initiatives: pd.DataFrame  # stg_own_initiatives
    numeric_targets: pd.DataFrame  # stg_numeric_targets
    issues: pd.DataFrame  # file_issues
    # Typed items' values; optional so batches built without typed items stay valid.
    item_values: pd.DataFrame = field(default=None)  # stg_item_values (None: empty, see __post_init__)
    # stg_rule_checks: derived from typed values in staging; empty when the catalog has no sum rules
    rule_checks: pd.DataFrame = field(default=None)  # (None: empty, see __post_init__)

    # Staged files carry their tables in this order (the targets and then the issues last).
    TABLES = {
        "submissions": "stg_submissions",
        "responses": "stg_responses",
        "own_initiatives": "stg_own_initiatives",
        "item_values": "stg_item_values",
        "rule_checks": "stg_rule_checks",
        "numeric_targets": "stg_numeric_targets",
        "issues": "file_issues",
    }

    def __post_init__(self) -> None:
        if self.item_values is None:
            self.item_values = empty_frame("stg_item_values")
        if self.rule_checks is None:
            self.rule_checks = empty_frame("stg_rule_checks")

    @classmethod
    def empty(cls) -> StagingBatch:
        return cls(**{attr: empty_frame(table) for attr, table in cls.TABLES.items()})

    @classmethod
    def concat(cls, batches: list[StagingBatch]) -> StagingBatch:
        import pandas as pd

        if not batches:
            return cls.empty()
        if len(batches) == 1:
            return batches[0]  # already conformed; a copy would double a national batch's memory
        return cls(
            **{
                attr: conform(pd.concat([getattr(b, attr) for b in batches], ignore_index=True), table)
                for attr, table in cls.TABLES.items()
            }
        )

    def without_files(self, sha256s: set[str]) -> StagingBatch:
        """The batch minus every row of the given files (issues are kept)."""
        keep = {}
        for attr in (
            "submissions",
            "responses",
            "own_initiatives",
            "numeric_targets",
            "item_values",
            "rule_checks",
        ):
            frame = getattr(self, attr)
            keep[attr] = frame[~frame["sha256"].isin(sha256s)].reset_index(drop=True)
        return StagingBatch(issues=self.issues, **keep)
