"""Catalog sum rules (total = sum of parts) per returned file: one stg_rule_checks row per rule and
fiscal year whose total the file gives, from the file's stg_item_values rows. The check itself is
the validation's (expectations.suites: difference must be 0), so a violation becomes the file's
issue naming the total's cell and both numbers.

Plain Python on contract-ordered row tuples: it runs in the extraction workers, without pandas."""

from __future__ import annotations

import math
from functools import lru_cache

from kokuho.catalog import Catalog, short_year_label
from transform.contracts import contract


def amount_text(amount: float) -> str:
    """An amount as budget tables print it: △ for a negative, thousands separators (△148,507)."""
    value = abs(amount)
    digits = f"{round(value):,}" if value == round(value) else f"{round(value, 6):,}"
    return ("△" if amount < 0 else "") + digits


@lru_cache(maxsize=1)
def _value_columns() -> dict[str, int]:
    return {name: index for index, name in enumerate(contract("stg_item_values").column_names)}


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def rule_check_rows(item_values: list[tuple], catalog: Catalog) -> list[tuple]:
    """The stg_rule_checks rows (contract column order) of stg_item_values rows of any files.

    A rule is checked for a file and year when its total has a value and at least one part does;
    a blank part counts as 0 (budget tables leave 前年度繰越 blank when there is none). A part
    written but unreadable (`38,84O`) is not 0: that cell is already the file's issue, and a sum
    without it would name the total as wrong too, so the rule is not checked."""
    if not catalog.rules or not item_values:
        return []
    col = _value_columns()
    labels = {i.id: i.label for i in catalog.items}
    wanted = {item for rule in catalog.rules for item in (rule.total, *rule.parts)}
    cells: dict[tuple[str, str, int], tuple] = {}
    for row in item_values:
        if row[col["item_id"]] in wanted:
            cells[(row[col["sha256"]], row[col["item_id"]], int(row[col["value_year"]]))] = row
    keys = sorted({(sha, year) for sha, _, year in cells})
    out: list[tuple] = []
    for rule in catalog.rules:
        for sha, year in keys:
            total_row = cells.get((sha, rule.total, year))
            total = None if total_row is None else _number(total_row[col["value"]])
            if total_row is None or total is None:
                continue
            parts = [cells.get((sha, part, year)) for part in rule.parts]
            numbers = [None if p is None else _number(p[col["value"]]) for p in parts]
            if all(n is None for n in numbers) or any(
                n is None and p is not None and _written(p[col["raw_text"]])
                for p, n in zip(parts, numbers, strict=True)
            ):
                continue
            parts_sum = float(sum(n for n in numbers if n is not None))
            out.append(
                (
                    *(total_row[col[c]] for c in ("file_name", "sha256", "sheet", "cell", "row_no")),
                    *(total_row[col[c]] for c in ("municipality_code", "survey_id", "fiscal_year")),
                    rule.id,
                    year,
                    total,
                    total_row[col["raw_text"]],
                    parts_sum,
                    " + ".join(_raw(p, n, col["raw_text"]) for p, n in zip(parts, numbers, strict=True)),
                    round(total - parts_sum, 6),
                    f"{short_year_label(year)}年度の{labels.get(rule.total, rule.label)}が "
                    f"{'＋'.join(labels.get(p, p) for p in rule.parts)} と一致しません"
                    f"（{amount_text(total)} ≠ {amount_text(parts_sum)}）",
                )
            )
    return out


def _written(raw: object) -> bool:
    return raw is not None and str(raw).strip() != ""


def _raw(row: tuple | None, number: float | None, raw_at: int) -> str:
    if row is None or number is None:
        return "空欄"
    raw = row[raw_at]
    return str(raw) if raw else amount_text(number)
