"""The survey catalog: one YAML file per prefecture and fiscal year under data/catalogs/.

A catalog lists sections -> subsections -> (groups ア/イ -> subgroups ①…) -> measures, each measure
with a stable ID that later years keep when a label is reworded. Loading validates the file and
names the line of any error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kokuho.config import data_dir

if TYPE_CHECKING:
    from kokuho.catalog_file import CatalogFile, LeadNode, MeasureNode, SectionNode

SUBGROUP_MARKS = "①②③④⑤⑥⑦⑧⑨⑩"


class CatalogError(ValueError):
    """A catalog file that cannot be used; the message names file and line."""


ITEM_TYPES = ("check", "choice", "integer", "amount", "percent", "text", "period", "status")
NUMERIC_ITEM_TYPES = frozenset({"integer", "amount", "percent"})
# The status type's options (新規/継続), with stable codes.
STATUS_OPTIONS: tuple[tuple[str, str], ...] = (("new", "新規"), ("continued", "継続"))
CHECK_YES = "○"  # the answer a condition on a check item names


@dataclass(frozen=True)
class AppliesTo:
    """Who an item applies to: the municipalities of a named group (`group`), or those whose
    answer to another item (`item`) is one of `answers` (○ for a check item, option codes for a
    choice or status item)."""

    group: str | None = None
    item: str | None = None
    answers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Measure:
    """One item of the survey. `type` "check" is the ○ measure (answer, budget line, note); the
    other types (choice, integer, amount, percent, text, period, status) hold a typed value, per
    fiscal year of `years(fiscal_year)`."""

    id: str
    label: str
    position: int  # 1-based order in the whole survey
    item_no: int  # 1-based order within its table
    table_id: str
    section_no: int
    section_title: str
    subsection_no: int
    subsection_title: str
    group_code: str | None = None
    group_title: str | None = None
    subgroup_no: int | None = None
    subgroup_title: str | None = None
    type: str = "check"
    options: tuple[tuple[str, str], ...] = ()  # (code, label): choice and status items
    multiple: bool = False  # a choice item that takes several options
    unit: str | None = None  # 件, 人, 回; 千円 (amount); % (percent)
    minimum: float | None = None
    maximum: float | None = None
    year_offsets: tuple[int, ...] = (0,)  # fiscal years asked, from the survey year
    year_label: str = "short"  # R3 (short) or 令和3年度 (era)
    applies_to: AppliesTo | None = None
    parent_id: str | None = None  # the item this one breaks down
    published_form: str = "ratio"  # n/N市町村（p%） (ratio) or n市町村 (count)
    breakdown: str = "lines"  # children as lines under the item, or inline in parentheses

    def years(self, fiscal_year: int) -> list[int]:
        return [fiscal_year + off for off in self.year_offsets]

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_ITEM_TYPES

    def option_label(self, code: str) -> str | None:
        return dict(self.options).get(code)


Item = Measure


@dataclass(frozen=True)
class MunicipalityGroup:
    """A named group of municipalities (国保直診施設のある市町村), declared in the catalog."""

    name: str
    label: str
    municipalities: tuple[str, ...]


@dataclass(frozen=True)
class Indicator:
    """A numeric item's results against its targets: `result` and `target` name a numeric item
    or a numeric target, read by fiscal year; `direction` says which way is better."""

    id: str
    label: str
    unit: str | None
    direction: str  # "higher" or "lower"
    result: str
    target: str | None
    position: int


@dataclass(frozen=True)
class SumRule:
    """total = sum(parts) for each municipality and fiscal year (items of the same years)."""

    id: str
    label: str
    total: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class SurveyTable:
    """A lowest-level table: measures plus an "own initiatives" block."""

    table_id: str  # "1-1", "3-2-ア-1"
    section_no: int
    section_title: str
    subsection_no: int
    subsection_title: str
    group_code: str | None
    group_title: str | None
    subgroup_no: int | None
    subgroup_title: str | None
    items: tuple[Measure, ...]  # every item, children right after their parent

    @property
    def measures(self) -> tuple[Measure, ...]:
        """The table's check items (○ measures)."""
        return tuple(i for i in self.items if i.type == "check")

    @property
    def heading(self) -> str:
        """(1) 納期内納付の促進 / (2) … ア … ①受診勧奨の強化"""
        parts = [f"({self.subsection_no}) {self.subsection_title}"]
        if self.group_code:
            parts.append(f"{self.group_code} {self.group_title}")
        if self.subgroup_no:
            parts.append(f"{SUBGROUP_MARKS[self.subgroup_no - 1]}{self.subgroup_title}")
        return " ".join(parts)


@dataclass(frozen=True)
class Lead:
    """〈運営方針記載の主な取組〉 title (P.nn～nn) and its lines, printed above the tables it leads."""

    title: str | None
    pages: str | None
    text: tuple[str, ...]

    @property
    def heading(self) -> str:
        parts = ["〈運営方針記載の主な取組〉", self.title or "", f"（{self.pages}）" if self.pages else ""]
        return "".join(p for p in parts if p)


@dataclass(frozen=True)
class Section:
    no: int
    title: str
    lead: Lead | None = None
    subsection_leads: tuple[tuple[int, Lead], ...] = ()  # (subsection no, its lead)

    def subsection_lead(self, subsection_no: int) -> Lead | None:
        return dict(self.subsection_leads).get(subsection_no)


@dataclass(frozen=True)
class NumericTargetItem:
    id: str
    label: str
    unit: str
    year_offsets: tuple[int, ...]
    minimum: float = 0.0
    maximum: float = 100.0
    year_label: str = "short"

    def years(self, fiscal_year: int) -> list[int]:
        return [fiscal_year + off for off in self.year_offsets]


@dataclass(frozen=True)
class Catalog:
    path: Path
    prefecture_code: str
    fiscal_year: int
    title: str
    catalog_version: str
    own_initiative_rows: int
    sections: tuple[Section, ...]
    tables: tuple[SurveyTable, ...]
    numeric_targets: tuple[NumericTargetItem, ...]
    previous_year_ids: dict[str, str] = field(default_factory=dict)
    groups: dict[str, MunicipalityGroup] = field(default_factory=dict)
    indicators: tuple[Indicator, ...] = ()
    rules: tuple[SumRule, ...] = ()

    @property
    def survey_id(self) -> str:
        """Stable key of this survey: prefecture, fiscal year and catalog version."""
        return f"{self.prefecture_code}-{self.fiscal_year}-{self.catalog_version}"

    @property
    def measures(self) -> tuple[Measure, ...]:
        """The check items (○ measures), in survey order."""
        return tuple(m for t in self.tables for m in t.measures)

    @property
    def items(self) -> tuple[Measure, ...]:
        """Every item of every type, in survey order (children right after their parent)."""
        return tuple(i for t in self.tables for i in t.items)

    def measure(self, measure_id: str) -> Measure:
        """The item with this ID (any type)."""
        for m in self.items:
            if m.id == measure_id:
                return m
        raise KeyError(measure_id)

    def children_of(self, item_id: str) -> tuple[Measure, ...]:
        return tuple(i for i in self.items if i.parent_id == item_id)

    def condition_answers(self, item: Measure) -> str:
        """The answers an item's condition names, as shown to municipalities: 「○」 or the
        options' labels, 「訪問」・「電話」; "" when the item has no condition on another item."""
        applies = item.applies_to
        if applies is None or applies.item is None:
            return ""
        other = self.measure(applies.item)
        return "・".join(
            f"「{CHECK_YES if other.type == 'check' else other.option_label(a) or a}」"
            for a in applies.answers
        )

    def applicable_municipalities(self, item: Measure, all_codes: Iterable[str]) -> tuple[str, ...] | None:
        """The codes (of `all_codes`) in the item's named group; None when the item applies to
        everyone or depends on another item's answer (known only from the answers)."""
        if item.applies_to is None or item.applies_to.group is None:
            return None
        members = set(self.groups[item.applies_to.group].municipalities)
        return tuple(c for c in all_codes if c in members)

    def tables_of(self, section_no: int) -> tuple[SurveyTable, ...]:
        return tuple(t for t in self.tables if t.section_no == section_no)

    @property
    def era_label(self) -> str:
        """令和6年度（2024年度）"""
        return fiscal_year_label(self.fiscal_year)


def fiscal_year_label(fiscal_year: int) -> str:
    """令和N年度（YYYY年度） for fiscal years from 2019 (令和元年度)."""
    if fiscal_year >= 2019:
        n = fiscal_year - 2018
        era = "令和元年度" if n == 1 else f"令和{n}年度"
    else:
        n = fiscal_year - 1988
        era = "平成元年度" if n == 1 else f"平成{n}年度"
    return f"{era}（{fiscal_year}年度）"


def short_year_label(fiscal_year: int) -> str:
    """R6 for 2024."""
    return f"R{fiscal_year - 2018}" if fiscal_year >= 2019 else f"H{fiscal_year - 1988}"


def era_year_label(fiscal_year: int) -> str:
    """令和6年度 for 2024 (令和元年度 for 2019)."""
    return fiscal_year_label(fiscal_year).split("（", 1)[0]


def year_label(fiscal_year: int, style: str) -> str:
    """An item's year as the prefecture labels it: R3 (short) or 令和3年度 (era)."""
    return era_year_label(fiscal_year) if style == "era" else short_year_label(fiscal_year)


def catalog_dirs() -> list[Path]:
    """Where catalogs are looked up: $KOKUHO_CATALOG_DIR (os.pathsep-separated) then data/catalogs."""
    extra = os.environ.get("KOKUHO_CATALOG_DIR", "")
    dirs = [Path(p) for p in extra.split(os.pathsep) if p]
    return [*dirs, data_dir() / "catalogs"]


def find_catalog(prefecture_code: str, fiscal_year: int) -> Path:
    name = f"{str(prefecture_code).zfill(2)}_{int(fiscal_year)}.yaml"
    for directory in catalog_dirs():
        if (directory / name).is_file():
            return directory / name
    raise CatalogError(
        f"都道府県 {prefecture_code} の {fiscal_year} 年度の調査カタログ {name} が見つかりません"
        f"（探した場所: {', '.join(str(d) for d in catalog_dirs())}）"
    )


def load_catalog_for(prefecture_code: str, fiscal_year: int) -> Catalog:
    path = find_catalog(prefecture_code, fiscal_year)
    return _load_cached(path, path.stat().st_mtime_ns)


def catalog_if_any(prefecture_code: str, fiscal_year: int) -> Catalog | None:
    """The survey's catalog, or None when it has none or it cannot be read: the export shows what
    the warehouse holds either way, the catalog only adds its titles, years and targets."""
    try:
        return load_catalog_for(prefecture_code, fiscal_year)
    except (CatalogError, OSError):
        return None


@lru_cache(maxsize=32)
def _load_cached(path: Path, mtime_ns: int) -> Catalog:
    # Staging asks for a file's catalog once per workbook: parse each catalog file once (a Catalog
    # is immutable; an edited file has a new mtime and is read again).
    return load_catalog(path)


def available_catalogs(prefecture_code: str) -> list[int]:
    """Fiscal years with a catalog for this prefecture, ascending."""
    years: set[int] = set()
    prefix = f"{str(prefecture_code).zfill(2)}_"
    for directory in catalog_dirs():
        if directory.is_dir():
            for path in directory.glob(f"{prefix}*.yaml"):
                stem = path.stem[len(prefix) :]
                if stem.isdigit():
                    years.add(int(stem))
    return sorted(years)


def load_catalog(path: str | Path) -> Catalog:
    """Load and validate a catalog file. Raises CatalogError naming file and line."""
    path = Path(path)
    try:
        raw, lines = _load_yaml_with_lines(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise CatalogError(f"{path}{line}: YAMLとして読めません: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogError(f"{path}:1: カタログの最上位はマッピングでなければなりません")
    # The schema (pydantic) is imported here, not with this module: most commands read no catalog.
    from kokuho.catalog_file import CatalogFile, ValidationError, message

    try:
        model = CatalogFile.model_validate(raw)
    except ValidationError as exc:
        raise CatalogError(
            "\n".join(f"{path}:{_line_of(lines, err['loc'])}: {message(err)}" for err in exc.errors())
        ) from None
    return _build(path, model, lines)


# ---- YAML with line numbers --------------------------------------------------------------------

_Path = tuple[str | int, ...]


def _leads(s_node: SectionNode) -> tuple[Lead | None, tuple[tuple[int, Lead], ...]]:
    """A section's lead and its subsections' leads, for Section."""

    def lead(node: LeadNode | None) -> Lead | None:
        return None if node is None else Lead(node.title, node.pages, tuple(node.text))

    subs = tuple((ss.no, sl) for ss in s_node.subsections if (sl := lead(ss.lead)) is not None)
    return lead(s_node.lead), subs


def _load_yaml_with_lines(text: str) -> tuple[object, dict[_Path, int]]:
    """The document and the 1-based line where each mapping starts, keyed by its path."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        data = loader.construct_document(node)
        lines: dict[_Path, int] = {}

        def walk(n: yaml.Node, where: _Path) -> None:
            if isinstance(n, yaml.MappingNode):
                lines[where] = n.start_mark.line + 1
                for key_node, value_node in n.value:
                    walk(value_node, (*where, str(loader.construct_object(key_node, deep=True))))
            elif isinstance(n, yaml.SequenceNode):
                for index, item in enumerate(n.value):
                    walk(item, (*where, index))

        walk(node, ())
        return data, lines
    finally:
        loader.dispose()


def _line_of(lines: dict[_Path, int], loc: tuple[str | int, ...]) -> int | str:
    """The line of the innermost mapping on the error's path (the mapping that holds the bad value)."""
    for end in range(len(loc), -1, -1):
        if tuple(loc[:end]) in lines:
            return lines[tuple(loc[:end])]
    return "?"


# ---- from the validated file to the catalog ----------------------------------------------------


class _Checker:
    """Checks across nodes (numbering, duplicates) with the line of the node they are about."""

    def __init__(self, path: Path, lines: dict[_Path, int]) -> None:
        self.path, self.lines = path, lines

    def fail(self, where: _Path, message: str) -> CatalogError:
        return CatalogError(f"{self.path}:{_line_of(self.lines, where)}: {message}")

    def numbered(self, where: _Path, no: int, expected: int) -> None:
        if no != expected:
            raise self.fail(where, f"'no' は連番で {expected} のはずですが {no} です")


def _build(path: Path, raw: CatalogFile, lines: dict[_Path, int]) -> Catalog:
    from kokuho.municipalities import NATIONAL, all_prefectures

    check = _Checker(path, lines)
    if raw.prefecture_code not in {p.code for p in all_prefectures()} | {NATIONAL.code}:
        raise check.fail((), f"都道府県コード {raw.prefecture_code!r} は存在しません")

    sections: list[Section] = []
    tables: list[SurveyTable] = []
    seen_ids: dict[str, int | str] = {}
    position = 0
    for s_index, s_node in enumerate(raw.sections):
        s_where: _Path = ("sections", s_index)
        check.numbered(s_where, s_node.no, s_index + 1)
        sections.append(Section(s_node.no, s_node.title, *_leads(s_node)))
        for ss_index, ss_node in enumerate(s_node.subsections):
            ss_where: _Path = (*s_where, "subsections", ss_index)
            check.numbered(ss_where, ss_node.no, ss_index + 1)
            base = {
                "section_no": s_node.no,
                "section_title": s_node.title,
                "subsection_no": ss_node.no,
                "subsection_title": ss_node.title,
            }
            leaves = _leaves(check, base, ss_node, ss_where)
            for info, raw_measures, where in leaves:
                table_id = f"{s_node.no}-{ss_node.no}" + (
                    f"-{info['group_code']}-{info['subgroup_no']}" if info["group_code"] else ""
                )
                measures = _measures(check, lines, info, raw_measures, where, table_id, seen_ids, position)
                position += len(measures)
                tables.append(SurveyTable(table_id=table_id, items=tuple(measures), **info))

    targets = _numeric_targets(check, raw)

    catalog = Catalog(
        path=path,
        prefecture_code=raw.prefecture_code,
        fiscal_year=raw.fiscal_year,
        title=raw.title,
        catalog_version=raw.catalog_version,
        own_initiative_rows=raw.own_initiative_rows,
        sections=tuple(sections),
        tables=tuple(tables),
        numeric_targets=tuple(targets),
        previous_year_ids=dict(raw.previous_year_ids or {}),
        groups={
            name: MunicipalityGroup(name, g.label, tuple(g.municipalities))
            for name, g in (raw.groups or {}).items()
        },
        indicators=tuple(
            Indicator(
                i.id,
                i.label,
                i.unit or _unit_of(i.result, tables, targets),
                i.direction,
                i.result,
                i.target,
                n,
            )
            for n, i in enumerate(raw.indicators or [], start=1)
        ),
        rules=tuple(SumRule(r.id, r.label, r.total, tuple(r.parts)) for r in raw.rules or []),
    )
    _check_references(check, raw, catalog)
    return catalog


def _unit_of(ref: str, tables: list[SurveyTable], targets: list[NumericTargetItem]) -> str | None:
    """An indicator's unit when the catalog gives none: that of its result item (or target)."""
    for table in tables:
        for item in table.items:
            if item.id == ref:
                return item.unit
    return next((t.unit for t in targets if t.id == ref), None)


def _leaves(
    check: _Checker, base: dict[str, Any], ss_node: Any, ss_where: _Path
) -> list[tuple[dict[str, Any], list[MeasureNode], _Path]]:
    """A subsection's lists of measures (its own, then each group's subgroups'), each with the
    headings its measures and table carry."""
    leaves: list[tuple[dict[str, Any], list[MeasureNode], _Path]] = []
    if ss_node.measures is not None:
        no_group = {
            "group_code": None,
            "group_title": None,
            "subgroup_no": None,
            "subgroup_title": None,
        }
        leaves.append(({**base, **no_group}, ss_node.measures, ss_where))
    seen_groups: set[str] = set()
    for g_index, g_node in enumerate(ss_node.groups or []):
        g_where: _Path = (*ss_where, "groups", g_index)
        if g_node.code in seen_groups:
            raise check.fail(g_where, f"グループ {g_node.code} が重複しています")
        seen_groups.add(g_node.code)
        for sg_index, sg_node in enumerate(g_node.subgroups):
            sg_where: _Path = (*g_where, "subgroups", sg_index)
            check.numbered(sg_where, sg_node.no, sg_index + 1)
            group = {
                "group_code": g_node.code,
                "group_title": g_node.title,
                "subgroup_no": sg_node.no,
                "subgroup_title": sg_node.title,
            }
            leaves.append(({**base, **group}, sg_node.measures, sg_where))
    return leaves


def _measures(
    check: _Checker,
    lines: dict[_Path, int],
    info: dict[str, Any],
    raw_measures: list[MeasureNode],
    where: _Path,
    table_id: str,
    seen_ids: dict[str, int | str],
    position: int,
) -> list[Measure]:
    """One table's items, numbered on from `position` (the survey's count so far), each followed
    by its children; an id seen before (`seen_ids`, id -> line) is refused."""
    items: list[Measure] = []

    def add(node: MeasureNode, node_where: _Path, parent: Measure | None) -> None:
        if node.id in seen_ids:
            raise check.fail(
                node_where,
                f"取組ID {node.id} が重複しています（{seen_ids[node.id]}行目にもあります）",
            )
        seen_ids[node.id] = _line_of(lines, node_where)
        _check_item_keys(check, node, node_where, parent)
        item = _item(node, position + len(items) + 1, len(items) + 1, table_id, info, parent)
        items.append(item)
        for c_index, child in enumerate(node.children or []):
            add(child, (*node_where, "children", c_index), item)

    for m_index, m_node in enumerate(raw_measures):
        add(m_node, (*where, "measures", m_index), None)
    return items


def _item(
    node: MeasureNode,
    position: int,
    item_no: int,
    table_id: str,
    info: dict[str, Any],
    parent: Measure | None,
) -> Measure:
    from kokuho.catalog_file import DEFAULT_UNITS

    if node.type == "status":
        options: tuple[tuple[str, str], ...] = STATUS_OPTIONS
    else:
        options = tuple((o.code, o.label) for o in node.options or [])
    years = (0,) if node.years is None else tuple(range(node.years.from_, node.years.to + 1))
    applies: AppliesTo | None = None
    if isinstance(node.applies_to, str):
        applies = AppliesTo(group=node.applies_to)
    elif node.applies_to is not None:
        applies = AppliesTo(item=node.applies_to.item, answers=tuple(node.applies_to.answer))
    published = node.published
    return Measure(
        id=node.id,
        label=node.label,
        position=position,
        item_no=item_no,
        table_id=table_id,
        **info,
        type=node.type,
        options=options,
        multiple=node.multiple,
        unit=node.unit if node.unit is not None else DEFAULT_UNITS.get(node.type),
        minimum=node.minimum,
        maximum=node.maximum,
        year_offsets=years,
        year_label=node.year_label,
        applies_to=applies,
        parent_id=parent.id if parent else None,
        published_form=published.form if published else "ratio",
        breakdown=published.breakdown if published else "lines",
    )


_MAX_YEARS = 15  # years one item is asked for (R3..R11 is 9)


def _check_item_keys(check: _Checker, node: MeasureNode, where: _Path, parent: Measure | None) -> None:
    """Keys that only some item types take, ranges, and what a child may be."""
    from kokuho.catalog_file import NUMERIC_TYPES

    kind = node.type
    if kind == "choice" and not node.options:
        raise check.fail(where, f"選択肢項目 {node.id} に 'options' がありません")
    if kind != "choice" and node.options:
        raise check.fail(where, f"'options' は type: choice の項目にだけ書けます（{node.id} は {kind}）")
    if kind != "choice" and node.multiple:
        raise check.fail(where, f"'multiple' は type: choice の項目にだけ書けます（{node.id} は {kind}）")
    if node.options:
        codes = [o.code for o in node.options]
        if len(set(codes)) != len(codes):
            raise check.fail(where, f"項目 {node.id} の選択肢コードが重複しています")
    if kind not in NUMERIC_TYPES and (
        node.unit is not None or node.minimum is not None or node.maximum is not None
    ):
        raise check.fail(
            where,
            f"'unit'・'minimum'・'maximum' は数値の項目（integer, amount, percent）にだけ書けます（{node.id}）",
        )
    if node.minimum is not None and node.maximum is not None and node.minimum > node.maximum:
        raise check.fail(where, f"項目 {node.id} の 'minimum' が 'maximum' より大きくなっています")
    if node.years is not None:
        if kind == "check":
            raise check.fail(where, f"'years' は ○ の項目（type: check）には書けません（{node.id}）")
        span = node.years.to - node.years.from_ + 1
        if span < 1:
            raise check.fail(where, f"項目 {node.id} の 'years' は from ≦ to でなければなりません")
        if span > _MAX_YEARS:
            raise check.fail(where, f"項目 {node.id} の 'years' は {_MAX_YEARS} 年度までです（{span} 年度）")
    if node.children and kind not in ("check", *NUMERIC_TYPES):
        raise check.fail(
            where, f"内訳（'children'）は check か数値の項目にだけ書けます（{node.id} は {kind}）"
        )
    if parent is not None:
        same_kind = kind == "check" if parent.type == "check" else kind in NUMERIC_TYPES
        if not same_kind:
            raise check.fail(
                where,
                f"内訳の項目 {node.id}（{kind}）は親 {parent.id}（{parent.type}）と同じ種類でなければなりません",
            )
    if node.published is not None and kind not in ("check", "choice", "status"):
        raise check.fail(
            where, f"'published' は市町村数を公表する項目（check, choice, status）にだけ書けます（{node.id}）"
        )


def _check_references(check: _Checker, raw: CatalogFile, catalog: Catalog) -> None:
    """Groups, conditions, indicators and rules name what exists."""
    from kokuho.municipalities import municipalities_of

    known_codes = {m.code for m in municipalities_of(raw.prefecture_code)}
    for name, group in (raw.groups or {}).items():
        for code in group.municipalities:
            if code not in known_codes:
                raise check.fail(
                    ("groups", name),
                    f"グループ {name} の市町村コード {code} はこの都道府県の市町村にありません",
                )
    by_id = {i.id: i for i in catalog.items}
    for item in catalog.items:
        where = _item_where(raw, item.id)
        applies = item.applies_to
        if applies is None:
            continue
        if applies.group is not None and applies.group not in catalog.groups:
            raise check.fail(
                where, f"項目 {item.id} の 'applies_to' のグループ {applies.group} が 'groups' にありません"
            )
        if applies.item is not None:
            other = by_id.get(applies.item)
            if other is None or other.id == item.id:
                raise check.fail(
                    where, f"項目 {item.id} の 'applies_to' の項目 {applies.item} がカタログにありません"
                )
            allowed = {CHECK_YES} if other.type == "check" else {c for c, _ in other.options}
            if not allowed:
                raise check.fail(
                    where,
                    f"項目 {item.id} の条件には check・choice・status の項目しか使えません（{other.id} は {other.type}）",
                )
            for answer in applies.answers:
                if answer not in allowed:
                    raise check.fail(
                        where,
                        f"項目 {item.id} の条件の回答 {answer!r} は {other.id} の回答にありません（{'、'.join(sorted(allowed))}）",
                    )
    for t_index, target in enumerate(catalog.numeric_targets):
        if target.id in by_id:
            # An indicator names either by id: one id must mean one thing.
            raise check.fail(
                ("numeric_targets", t_index),
                f"数値目標ID {target.id} は項目IDと同じです（別のIDにしてください）",
            )
    numeric = {i.id for i in catalog.items if i.is_numeric} | {t.id for t in catalog.numeric_targets}
    seen: set[str] = set()
    for i_index, ind in enumerate(raw.indicators or []):
        where = ("indicators", i_index)
        if ind.id in seen:
            raise check.fail(where, f"指標ID {ind.id} が重複しています")
        seen.add(ind.id)
        for key, ref in (("result", ind.result), ("target", ind.target)):
            if ref is not None and ref not in numeric:
                raise check.fail(where, f"指標 {ind.id} の '{key}' {ref} は数値の項目・数値目標にありません")
        if ind.target is not None and ind.target == ind.result:
            raise check.fail(where, f"指標 {ind.id} の 'result' と 'target' が同じ項目 {ind.result} です")
    seen = set()
    for r_index, rule in enumerate(raw.rules or []):
        where = ("rules", r_index)
        if rule.id in seen:
            raise check.fail(where, f"ルールID {rule.id} が重複しています")
        seen.add(rule.id)
        refs = [rule.total, *rule.parts]
        if len(set(refs)) != len(refs):
            raise check.fail(where, f"ルール {rule.id} の合計と内訳に同じ項目が重複しています")
        for ref in refs:
            if ref not in by_id or not by_id[ref].is_numeric:
                raise check.fail(where, f"ルール {rule.id} の項目 {ref} は数値の項目にありません")
        if len({by_id[ref].year_offsets for ref in refs}) != 1:
            raise check.fail(where, f"ルール {rule.id} の項目は同じ年度を尋ねるものでなければなりません")


def _item_where(raw: CatalogFile, item_id: str) -> _Path:
    """The path of an item's node in the file, for the line of an error about it."""

    def search(nodes: list[MeasureNode], where: _Path) -> _Path | None:
        for index, node in enumerate(nodes):
            here = (*where, index)
            if node.id == item_id:
                return here
            found = search(node.children or [], (*here, "children"))
            if found:
                return found
        return None

    for s_i, s_node in enumerate(raw.sections):
        for ss_i, ss_node in enumerate(s_node.subsections):
            base: _Path = ("sections", s_i, "subsections", ss_i)
            found = search(ss_node.measures or [], (*base, "measures"))
            if found:
                return found
            for g_i, g_node in enumerate(ss_node.groups or []):
                for sg_i, sg_node in enumerate(g_node.subgroups):
                    found = search(sg_node.measures, (*base, "groups", g_i, "subgroups", sg_i, "measures"))
                    if found:
                        return found
    return ()


def _numeric_targets(check: _Checker, raw: CatalogFile) -> list[NumericTargetItem]:
    targets: list[NumericTargetItem] = []
    for t_index, t_node in enumerate(raw.numeric_targets or []):
        if t_node.id in {t.id for t in targets}:
            raise check.fail(("numeric_targets", t_index), f"数値目標ID {t_node.id} が重複しています")
        targets.append(
            NumericTargetItem(
                id=t_node.id,
                label=t_node.label,
                unit=t_node.unit,
                year_offsets=tuple(t_node.year_offsets),
                year_label=t_node.year_label,
                minimum=t_node.minimum,
                maximum=t_node.maximum,
            )
        )
    return targets
