"""Read the staging tables' contracts (transform/contracts/*.yaml), owned by the stage that produces them. No GX import here."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from kokuho.resources import package_dir

CONTRACT_DIR = package_dir("transform") / "contracts"
# stg_rule_checks: the catalog's sum rules per file, derived in staging (transform.staging.rules).
STAGING_TABLES: tuple[str, ...] = (
    "stg_submissions",
    "stg_responses",
    "stg_own_initiatives",
    "stg_numeric_targets",
    "stg_item_values",
    "stg_rule_checks",
)


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # pyarrow type name: string, int64, float64, bool, timestamp[us, tz=UTC]
    nullable: bool
    description: str


@dataclass(frozen=True)
class Contract:
    table: str
    description: str
    grain: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@lru_cache(maxsize=16)
def contract(table: str) -> Contract:
    raw = yaml.safe_load((CONTRACT_DIR / f"{table}.yaml").read_text(encoding="utf-8"))
    return Contract(
        table=raw["table"],
        description=raw["description"],
        grain=tuple(raw.get("grain", ())),
        columns=tuple(
            Column(c["name"], str(c["dtype"]), bool(c.get("nullable", False)), c.get("description", ""))
            for c in raw["columns"]
        ),
    )
