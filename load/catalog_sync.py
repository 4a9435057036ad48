"""The warehouse's reference data: the municipality master and each survey's catalog (surveys,
measures, tables, numeric target items)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from kokuho.catalog import Catalog
from load.sql_files import sql
from load.statements import _now, _run_with_frames

if TYPE_CHECKING:
    pass


# --- reference data -----------------------------------------------------------------------------


def sync_municipalities(con: duckdb.DuckDBPyConnection) -> None:
    """Refresh the municipality master from data/municipalities.csv."""
    from kokuho.municipalities import all_municipalities

    frame = pd.DataFrame(
        [
            {
                "code": m.code,
                "prefecture_code": m.prefecture_code,
                "prefecture_name": m.prefecture_name,
                "name": m.name,
                "kana": m.kana,
                "kind": m.kind,
            }
            for m in all_municipalities()
        ]
    )
    _run_with_frames(con, "steps/sync_municipalities", {"master_municipalities": frame})


def _catalog_frames(catalog: Catalog, loaded_at: datetime) -> dict[str, pd.DataFrame]:
    return {
        "catalog_surveys": _survey_frame(catalog, loaded_at),
        "catalog_measures": _measure_frame(catalog),
        "catalog_tables": _table_frame(catalog),
        "catalog_targets": _target_frame(catalog),
        "catalog_items": _item_frame(catalog),
        "catalog_item_options": _item_option_frame(catalog),
        "catalog_groups": _group_frame(catalog),
        **_indicator_frames(catalog),
    }


def _survey_frame(catalog: Catalog, loaded_at: datetime) -> pd.DataFrame:
    """The catalog's surveys row."""
    frame = pd.DataFrame(
        [
            {
                "survey_id": catalog.survey_id,
                "prefecture_code": catalog.prefecture_code,
                "fiscal_year": catalog.fiscal_year,
                "catalog_version": catalog.catalog_version,
                "title": catalog.title,
                "own_initiative_rows": catalog.own_initiative_rows,
                "catalog_file": Path(catalog.path).name,
                "loaded_at": pd.Timestamp(loaded_at),
            }
        ]
    )
    return frame


def _measure_frame(catalog: Catalog) -> pd.DataFrame:
    """The catalog's measures, one row each."""
    frame = pd.DataFrame(
        [
            {
                "survey_id": catalog.survey_id,
                "measure_id": m.id,
                "position": m.position,
                "section_no": m.section_no,
                "section": m.section_title,
                "subsection_no": m.subsection_no,
                "subsection": m.subsection_title,
                "group_code": m.group_code,
                "group_title": m.group_title,
                "subgroup_no": m.subgroup_no,
                "subgroup_title": m.subgroup_title,
                "item_no": m.item_no,
                "table_id": m.table_id,
                "label": m.label,
                "previous_measure_id": catalog.previous_year_ids.get(m.id, m.id),
            }
            for m in catalog.measures
        ]
    ).astype(
        {"subgroup_no": "Int64", "group_code": "string", "group_title": "string", "subgroup_title": "string"}
    )
    return frame


def _table_frame(catalog: Catalog) -> pd.DataFrame:
    """The catalog's tables, numbered in order."""
    frame = pd.DataFrame(
        [
            {
                "survey_id": catalog.survey_id,
                "table_id": t.table_id,
                "table_no": no,
                "section_no": t.section_no,
                "section": t.section_title,
                "subsection_no": t.subsection_no,
                "subsection": t.subsection_title,
                "group_code": t.group_code,
                "group_title": t.group_title,
                "subgroup_no": t.subgroup_no,
                "subgroup_title": t.subgroup_title,
                "heading": t.heading,
            }
            for no, t in enumerate(catalog.tables, start=1)
        ]
    ).astype(
        {"subgroup_no": "Int64", "group_code": "string", "group_title": "string", "subgroup_title": "string"}
    )
    return frame


def _target_frame(catalog: Catalog) -> pd.DataFrame:
    """The catalog's numeric target items, numbered in order."""
    frame = pd.DataFrame(
        [
            {
                "survey_id": catalog.survey_id,
                "target_id": t.id,
                "position": no,
                "label": t.label,
                "unit": t.unit,
                "year_offsets": ",".join(str(o) for o in t.year_offsets),
                "minimum": t.minimum,
                "maximum": t.maximum,
                "year_label": t.year_label,
            }
            for no, t in enumerate(catalog.numeric_targets, start=1)
        ],
        columns=[
            "survey_id",
            "target_id",
            "position",
            "label",
            "unit",
            "year_offsets",
            "minimum",
            "maximum",
            "year_label",
        ],
    ).astype(
        {
            "survey_id": "string",
            "target_id": "string",
            "label": "string",
            "unit": "string",
            "year_label": "string",
        }
    )
    frame["year_offsets"] = frame["year_offsets"].astype("string")
    return frame


_ITEM_COLUMNS = {
    "survey_id": "string",
    "item_id": "string",
    "position": "int64",
    "table_id": "string",
    "section_no": "int64",
    "subsection_no": "int64",
    "item_no": "int64",
    "label": "string",
    "item_type": "string",
    "unit": "string",
    "multiple": "bool",
    "minimum": "float64",
    "maximum": "float64",
    "year_offsets": "string",  # joined by ',' (the sync step splits them)
    "year_label": "string",
    "applies_group": "string",
    "applies_item": "string",
    "applies_answers": "string",  # joined by ','
    "parent_id": "string",
    "published_form": "string",
    "breakdown": "string",
    "previous_item_id": "string",
}


def _item_frame(catalog: Catalog) -> pd.DataFrame:
    """Every item of the catalog (all types), one row each."""
    rows = []
    for i in catalog.items:
        applies = i.applies_to
        rows.append(
            {
                "survey_id": catalog.survey_id,
                "item_id": i.id,
                "position": i.position,
                "table_id": i.table_id,
                "section_no": i.section_no,
                "subsection_no": i.subsection_no,
                "item_no": i.item_no,
                "label": i.label,
                "item_type": i.type,
                "unit": i.unit,
                "multiple": i.multiple,
                "minimum": i.minimum,
                "maximum": i.maximum,
                "year_offsets": ",".join(str(o) for o in i.year_offsets),
                "year_label": i.year_label,
                "applies_group": applies.group if applies else None,
                "applies_item": applies.item if applies else None,
                "applies_answers": ",".join(applies.answers) if applies and applies.item else None,
                "parent_id": i.parent_id,
                "published_form": i.published_form,
                "breakdown": i.breakdown,
                "previous_item_id": catalog.previous_year_ids.get(i.id, i.id),
            }
        )
    return pd.DataFrame(rows, columns=list(_ITEM_COLUMNS)).astype(_ITEM_COLUMNS)


def _item_option_frame(catalog: Catalog) -> pd.DataFrame:
    """The options of the catalog's choice and status items, in catalog order."""
    frame = pd.DataFrame(
        [
            {"survey_id": catalog.survey_id, "item_id": i.id, "code": code, "label": label, "position": no}
            for i in catalog.items
            for no, (code, label) in enumerate(i.options, start=1)
        ],
        columns=["survey_id", "item_id", "code", "label", "position"],
    )
    return frame.astype(
        {"survey_id": "string", "item_id": "string", "code": "string", "label": "string", "position": "int64"}
    )


def _group_frame(catalog: Catalog) -> pd.DataFrame:
    """The catalog's named groups of municipalities, one row per member."""
    frame = pd.DataFrame(
        [
            {
                "survey_id": catalog.survey_id,
                "group_name": g.name,
                "label": g.label,
                "municipality_code": code,
            }
            for g in catalog.groups.values()
            for code in dict.fromkeys(g.municipalities)
        ],
        columns=["survey_id", "group_name", "label", "municipality_code"],
    )
    return frame.astype("string")


def _indicator_frames(catalog: Catalog) -> dict[str, pd.DataFrame]:
    """The catalog's indicators (with the fiscal years evaluated: the result item's) and sum rules
    (one row per member item, the total first)."""

    def years(ref: str) -> str:
        try:
            found = catalog.measure(ref).years(catalog.fiscal_year)
        except KeyError:
            found = next(t.years(catalog.fiscal_year) for t in catalog.numeric_targets if t.id == ref)
        return ",".join(str(y) for y in found)

    indicators = _text_frame(
        [
            {
                "survey_id": catalog.survey_id,
                "indicator_id": i.id,
                "position": i.position,
                "label": i.label,
                "unit": i.unit,
                "direction": i.direction,
                "result_id": i.result,
                "target_id": i.target,
                "years": years(i.result),
            }
            for i in catalog.indicators
        ],
        [
            "survey_id",
            "indicator_id",
            "position",
            "label",
            "unit",
            "direction",
            "result_id",
            "target_id",
            "years",
        ],
    )
    rules = _text_frame(
        [
            {
                "survey_id": catalog.survey_id,
                "rule_id": r.id,
                "label": r.label,
                "role": "total" if n == 0 else "part",
                "position": n,
                "item_id": item_id,
            }
            for r in catalog.rules
            for n, item_id in enumerate((r.total, *r.parts))
        ],
        ["survey_id", "rule_id", "label", "role", "position", "item_id"],
    )
    return {"catalog_indicators": indicators, "catalog_rules": rules}


def _text_frame(rows: list[dict[str, object]], columns: list[str]) -> pd.DataFrame:
    """`rows` as a frame of `columns`: text, and `position` an int64."""
    return pd.DataFrame(rows, columns=columns).astype(
        {c: "int64" if c == "position" else "string" for c in columns}
    )


def sync_catalog(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    """Make the warehouse's survey, measures, tables, numeric target items, items (every type), their
    options, the named municipality groups, indicators and sum rules equal the catalog.

    Idempotent: syncing the same catalog again changes nothing (loaded_at keeps the first load).
    """
    frames = _catalog_frames(catalog, _now())
    fingerprint = hashlib.sha256(
        "\n".join(
            frame.drop(columns=["loaded_at"], errors="ignore").to_csv(index=False)
            for frame in frames.values()
        ).encode()
    ).hexdigest()
    stored = con.execute(sql("queries/catalog_hash"), {"survey_id": catalog.survey_id}).fetchone()
    if stored is not None and stored[0] == fingerprint:
        return  # unchanged since the last sync
    frames["catalog_surveys"]["catalog_hash"] = fingerprint
    _run_with_frames(
        con,
        (
            "steps/sync_surveys",
            "steps/sync_measures",
            "steps/sync_survey_tables",
            "steps/sync_numeric_target_items",
            "steps/sync_items",
            "steps/sync_item_options",
            "steps/sync_municipality_groups",
            "steps/sync_indicators",
            "steps/sync_indicators_rules",
        ),
        frames,
    )
