"""The schema of a catalog file (data/catalogs/*.yaml) as pydantic models, and its errors in Japanese.

Unknown keys are errors: a misspelt key would otherwise silently drop part of the survey. Checks
across nodes (numbering, duplicates) and the line numbers are kokuho.catalog's.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

__all__ = [
    "NUMERIC_TYPES",
    "STATUS_OPTIONS",
    "CatalogFile",
    "ConditionNode",
    "LeadNode",
    "MeasureNode",
    "ValidationError",
    "message",
]


_Text = Annotated[str, Field(strict=True), StringConstraints(strip_whitespace=True, min_length=1)]
_No = Annotated[int, Field(strict=True, ge=1)]


def _as_text(value: object) -> str:
    return "" if value is None else str(value)


def _as_prefecture_code(value: object) -> str:
    return _as_text(value).zfill(2)


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ItemType = Literal["check", "choice", "integer", "amount", "percent", "text", "period", "status"]
NUMERIC_TYPES = frozenset({"integer", "amount", "percent"})
# 新規/継続: the status type's fixed options, with stable codes.
STATUS_OPTIONS: tuple[tuple[str, str], ...] = (("new", "新規"), ("continued", "継続"))
DEFAULT_UNITS = {"amount": "千円", "percent": "%"}


class OptionNode(_Node):
    """One option of a choice item: a stable code (kept across years) and the label shown."""

    code: Annotated[str, BeforeValidator(_as_text), StringConstraints(strip_whitespace=True, min_length=1)]
    label: _Text


class YearsNode(_Node):
    """Fiscal years an item is asked for, as offsets from the survey year (-3..5: R3..R11 for
    FY2024), so next year's catalog keeps the meaning."""

    from_: Annotated[int, Field(strict=True, ge=-15, le=15, alias="from")]
    to: Annotated[int, Field(strict=True, ge=-15, le=15)]
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ConditionNode(_Node):
    """Applies where another item's answer is one of `answer` (○ for a check item, option codes
    for a choice or status item)."""

    item: _Text
    answer: Annotated[list[Annotated[str, BeforeValidator(_as_text)]], Field(min_length=1)]


class PublishedNode(_Node):
    """How the item's count is published: n/N市町村（p%） (ratio) or n市町村 (count); children
    listed as lines under it or inline in parentheses after it."""

    form: Literal["ratio", "count"] = "ratio"
    breakdown: Literal["lines", "inline"] = "lines"


class MeasureNode(_Node):
    id: _Text
    label: _Text
    type: ItemType = "check"
    options: Annotated[list[OptionNode], Field(min_length=1)] | None = None
    multiple: Annotated[bool, Field(strict=True)] = False
    unit: Annotated[str, BeforeValidator(_as_text)] | None = None
    minimum: float | None = None
    maximum: float | None = None
    years: YearsNode | None = None
    year_label: Literal["short", "era"] = "short"
    applies_to: _Text | ConditionNode | None = None
    published: PublishedNode | None = None
    children: Annotated[list[MeasureNode], Field(min_length=1)] | None = None


class SubgroupNode(_Node):
    no: _No
    title: _Text
    measures: Annotated[list[MeasureNode], Field(min_length=1)]


class GroupNode(_Node):
    code: _Text
    title: _Text
    subgroups: Annotated[list[SubgroupNode], Field(min_length=1)]


class LeadNode(_Node):
    """〈運営方針記載の主な取組〉: the plan's text printed above a section's or subsection's tables."""

    title: _Text | None = None
    pages: _Text | None = None
    text: Annotated[list[_Text], Field(min_length=1)]


class SubsectionNode(_Node):
    no: _No
    title: _Text
    lead: LeadNode | None = None
    measures: Annotated[list[MeasureNode], Field(min_length=1)] | None = None
    groups: Annotated[list[GroupNode], Field(min_length=1)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _measures_or_groups(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("measures" in data) == ("groups" in data):
            raise PydanticCustomError(
                "measures_or_groups", "小項目には 'measures' か 'groups' のどちらか一方が必要です"
            )
        return data


class SectionNode(_Node):
    no: _No
    title: _Text
    lead: LeadNode | None = None
    subsections: Annotated[list[SubsectionNode], Field(min_length=1)]


class TargetNode(_Node):
    id: _Text
    label: _Text
    unit: Annotated[str, BeforeValidator(_as_text)] = "%"
    year_offsets: Annotated[list[Annotated[int, Field(strict=True, ge=-15, le=15)]], Field(min_length=1)] = [
        0
    ]
    year_label: Literal["short", "era"] = "short"
    minimum: float = 0.0
    maximum: float = 100.0


class GroupOfMunicipalitiesNode(_Node):
    """A named group of municipalities an item may apply to (国保直診施設のある市町村)."""

    label: _Text
    municipalities: Annotated[
        list[Annotated[str, BeforeValidator(_as_text), StringConstraints(pattern=r"^[0-9]{6}$")]],
        Field(min_length=1),
    ]


class IndicatorNode(_Node):
    """An indicator: a numeric item's results against its targets, year by year."""

    id: _Text
    label: _Text
    unit: Annotated[str, BeforeValidator(_as_text)] | None = None
    direction: Literal["higher", "lower"] = "higher"
    result: _Text  # a numeric item (or numeric target) holding results by fiscal year
    target: _Text | None = None  # a numeric item or numeric target holding targets by fiscal year


class SumRuleNode(_Node):
    """total = sum(parts), per municipality and fiscal year (千円 cost tables)."""

    id: _Text
    label: _Text
    total: _Text
    parts: Annotated[list[_Text], Field(min_length=2)]


def _text_mapping(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return value


class CatalogFile(_Node):
    prefecture_code: Annotated[str, BeforeValidator(_as_prefecture_code)]
    fiscal_year: Annotated[int, Field(strict=True, ge=2000, le=2100)]
    title: _Text
    catalog_version: Annotated[_Text, BeforeValidator(_as_text)]
    own_initiative_rows: Annotated[int, Field(strict=True, ge=0, le=50)] = 5
    sections: Annotated[list[SectionNode], Field(min_length=1)]
    numeric_targets: list[TargetNode] | None = None
    groups: dict[str, GroupOfMunicipalitiesNode] | None = None
    indicators: list[IndicatorNode] | None = None
    rules: list[SumRuleNode] | None = None
    previous_year_ids: Annotated[dict[str, str] | None, BeforeValidator(_text_mapping)] = None


_KIND = {
    "int_type": "整数",
    "int_parsing": "整数",
    "float_type": "数値",
    "float_parsing": "数値",
    "string_type": "文字列",
    "list_type": "リスト",
    "dict_type": "マッピング（キー: 値）",
    "model_type": "マッピング（キー: 値）",
    "model_attributes_type": "マッピング（キー: 値）",
    "bool_type": "true か false",
}


def message(err: ErrorDetails) -> str:
    """Pydantic's error in Japanese, naming the key (and the item of a list) it is about."""
    loc = err["loc"]
    keys = [k for k in loc if isinstance(k, str)]
    key = f"'{keys[-1]}'" if keys else "カタログ"
    if loc and isinstance(loc[-1], int):
        key = f"{key} の {loc[-1] + 1} 番目"
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "missing":
        return f"{key} がありません"
    if kind == "extra_forbidden":
        return f"{key} は知らないキーです（綴りを確かめてください）"
    if kind in ("string_too_short", "too_short"):
        return f"{key} が空です"
    if kind in _KIND:
        return f"{key} は{_KIND[kind]}でなければなりません（{value!r}）"
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = "以上" if kind == "greater_than_equal" else "以下"
        limit = ctx.get("ge", ctx.get("le"))
        return f"{key} は {limit} {bound}でなければなりません（{value!r}）"
    if kind == "measures_or_groups":
        return err["msg"]
    if kind == "literal_error":
        return f"{key} は {ctx.get('expected', '')} のどれかでなければなりません（{value!r}）"
    if kind == "string_pattern_mismatch":
        return f"{key} は6桁の市町村コードでなければなりません（{value!r}）"
    return f"{key} が不正です（{value!r}: {err['msg']}）"
