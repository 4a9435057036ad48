"""The survey catalog: one YAML file per prefecture and fiscal year under data/catalogs/.

A catalog lists sections -> subsections -> (groups ア/イ -> subgroups ①…) -> measures, each measure
with a stable ID that later years keep when a label is reworded. Loading validates the file and
names the line of any error.
"""

from __future__ import annotations

import os
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


@dataclass(frozen=True)
class Measure:
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
    measures: tuple[Measure, ...]

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

    @property
    def survey_id(self) -> str:
        """Stable key of this survey: prefecture, fiscal year and catalog version."""
        return f"{self.prefecture_code}-{self.fiscal_year}-{self.catalog_version}"

    @property
    def measures(self) -> tuple[Measure, ...]:
        return tuple(m for t in self.tables for m in t.measures)

    def measure(self, measure_id: str) -> Measure:
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise KeyError(measure_id)

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
        raise CatalogError(f"{path}: YAMLとして読めません: {exc}") from exc
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
                tables.append(SurveyTable(table_id=table_id, measures=tuple(measures), **info))

    targets = _numeric_targets(check, raw)

    return Catalog(
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
    )


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
    """One table's measures, numbered on from `position` (the survey's count so far); an id
    seen before (`seen_ids`, id -> line) is refused."""
    measures: list[Measure] = []
    for m_index, m_node in enumerate(raw_measures):
        m_where: _Path = (*where, "measures", m_index)
        if m_node.id in seen_ids:
            raise check.fail(
                m_where,
                f"取組ID {m_node.id} が重複しています（{seen_ids[m_node.id]}行目にもあります）",
            )
        seen_ids[m_node.id] = _line_of(lines, m_where)
        position += 1
        measures.append(
            Measure(
                id=m_node.id,
                label=m_node.label,
                position=position,
                item_no=m_index + 1,
                table_id=table_id,
                **info,
            )
        )
    return measures


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
                minimum=t_node.minimum,
                maximum=t_node.maximum,
            )
        )
    return targets
