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
from typing import Any

import yaml

from kokuho.config import data_dir

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
class Section:
    no: int
    title: str


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


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records each mapping's line as the key "__line__"."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


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
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 (safe loader subclass)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: YAMLとして読めません: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogError(f"{path}:1: カタログの最上位はマッピングでなければなりません")
    return _build(path, raw)


def _fail(path: Path, node: dict[str, Any] | None, message: str) -> CatalogError:
    line = node.get("__line__", "?") if isinstance(node, dict) else "?"
    return CatalogError(f"{path}:{line}: {message}")


def _mapping(path: Path, parent: dict[str, Any], node: object, what: str) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise _fail(path, parent, f"{what} はマッピング（キー: 値）でなければなりません（{node!r}）")
    return node


def _text(path: Path, node: dict[str, Any], key: str) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, node, f"'{key}' が空です")
    return value.strip()


def _int(path: Path, node: dict[str, Any], key: str, expected: int | None = None) -> int:
    value = node.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _fail(path, node, f"'{key}' は1以上の整数でなければなりません（{value!r}）")
    if expected is not None and value != expected:
        raise _fail(path, node, f"'{key}' は連番で {expected} のはずですが {value} です")
    return value


def _build(path: Path, raw: dict[str, Any]) -> Catalog:
    from kokuho.municipalities import NATIONAL, all_prefectures

    pref = str(raw.get("prefecture_code", "")).zfill(2)
    if pref not in {p.code for p in all_prefectures()} | {NATIONAL.code}:
        raise _fail(path, raw, f"都道府県コード {raw.get('prefecture_code')!r} は存在しません")
    fiscal_year = raw.get("fiscal_year")
    if not isinstance(fiscal_year, int) or not 2000 <= fiscal_year <= 2100:
        raise _fail(path, raw, f"fiscal_year が不正です（{fiscal_year!r}）")
    title = _text(path, raw, "title")
    version = str(raw.get("catalog_version") or "").strip()
    if not version:
        raise _fail(path, raw, "'catalog_version' が空です")
    own_rows = raw.get("own_initiative_rows", 5)
    if not isinstance(own_rows, int) or not 0 <= own_rows <= 50:
        raise _fail(path, raw, f"own_initiative_rows が不正です（{own_rows!r}）")

    sections: list[Section] = []
    tables: list[SurveyTable] = []
    seen_ids: dict[str, int] = {}
    position = 0
    raw_sections = raw.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise _fail(path, raw, "'sections' がありません")
    for s_index, s_node in enumerate(raw_sections, start=1):
        s_node = _mapping(path, raw, s_node, f"{s_index} 番目の大項目")
        s_no = _int(path, s_node, "no", s_index)
        s_title = _text(path, s_node, "title")
        sections.append(Section(s_no, s_title))
        subsections = s_node.get("subsections")
        if not isinstance(subsections, list) or not subsections:
            raise _fail(path, s_node, "'subsections' がありません")
        for ss_index, ss_node in enumerate(subsections, start=1):
            ss_node = _mapping(path, s_node, ss_node, f"大項目 {s_no} の {ss_index} 番目の小項目")
            ss_no = _int(path, ss_node, "no", ss_index)
            ss_title = _text(path, ss_node, "title")
            has_measures = "measures" in ss_node
            has_groups = "groups" in ss_node
            if has_measures == has_groups:
                raise _fail(path, ss_node, "小項目には 'measures' か 'groups' のどちらか一方が必要です")
            base = {
                "section_no": s_no,
                "section_title": s_title,
                "subsection_no": ss_no,
                "subsection_title": ss_title,
            }
            leaves: list[tuple[dict[str, Any], dict[str, Any]]] = []
            if has_measures:
                leaves.append(
                    (
                        {
                            **base,
                            "group_code": None,
                            "group_title": None,
                            "subgroup_no": None,
                            "subgroup_title": None,
                        },
                        ss_node,
                    )
                )
            else:
                seen_groups: set[str] = set()
                if not isinstance(ss_node["groups"], list) or not ss_node["groups"]:
                    raise _fail(path, ss_node, "'groups' が空です")
                for g_node in ss_node["groups"]:
                    g_node = _mapping(path, ss_node, g_node, "グループ")
                    g_code = _text(path, g_node, "code")
                    if g_code in seen_groups:
                        raise _fail(path, g_node, f"グループ {g_code} が重複しています")
                    seen_groups.add(g_code)
                    g_title = _text(path, g_node, "title")
                    subgroups = g_node.get("subgroups")
                    if not isinstance(subgroups, list) or not subgroups:
                        raise _fail(path, g_node, "'subgroups' がありません")
                    for sg_index, sg_node in enumerate(subgroups, start=1):
                        sg_node = _mapping(path, g_node, sg_node, "サブグループ")
                        sg_no = _int(path, sg_node, "no", sg_index)
                        leaves.append(
                            (
                                {
                                    **base,
                                    "group_code": g_code,
                                    "group_title": g_title,
                                    "subgroup_no": sg_no,
                                    "subgroup_title": _text(path, sg_node, "title"),
                                },
                                sg_node,
                            )
                        )
            for info, node in leaves:
                table_id = f"{s_no}-{ss_no}" + (
                    f"-{info['group_code']}-{info['subgroup_no']}" if info["group_code"] else ""
                )
                raw_measures = node.get("measures")
                if not isinstance(raw_measures, list) or not raw_measures:
                    raise _fail(path, node, f"表 {table_id} に取組（measures）がありません")
                measures: list[Measure] = []
                for item_no, m_node in enumerate(raw_measures, start=1):
                    if not isinstance(m_node, dict):
                        raise _fail(path, node, f"表 {table_id} の {item_no} 番目の取組が不正です")
                    m_id = _text(path, m_node, "id")
                    label = _text(path, m_node, "label")
                    if m_id in seen_ids:
                        raise _fail(
                            path,
                            m_node,
                            f"取組ID {m_id} が重複しています（{seen_ids[m_id]}行目にもあります）",
                        )
                    seen_ids[m_id] = m_node["__line__"]
                    position += 1
                    measures.append(
                        Measure(
                            id=m_id,
                            label=label,
                            position=position,
                            item_no=item_no,
                            table_id=table_id,
                            **info,
                        )
                    )
                tables.append(SurveyTable(table_id=table_id, measures=tuple(measures), **info))

    targets: list[NumericTargetItem] = []
    seen_targets: set[str] = set()
    raw_targets = raw.get("numeric_targets") or []
    if not isinstance(raw_targets, list):
        raise _fail(path, raw, "'numeric_targets' はリストでなければなりません")
    for t_node in raw_targets:
        t_node = _mapping(path, raw, t_node, "数値目標")
        t_id = _text(path, t_node, "id")
        if t_id in seen_targets:
            raise _fail(path, t_node, f"数値目標ID {t_id} が重複しています")
        seen_targets.add(t_id)
        offsets = t_node.get("year_offsets", [0])
        if not isinstance(offsets, list) or not all(isinstance(o, int) and 0 <= o <= 10 for o in offsets):
            raise _fail(path, t_node, f"year_offsets が不正です（{offsets!r}）")
        targets.append(
            NumericTargetItem(
                id=t_id,
                label=_text(path, t_node, "label"),
                unit=str(t_node.get("unit", "%")),
                year_offsets=tuple(offsets),
                minimum=float(t_node.get("minimum", 0.0)),
                maximum=float(t_node.get("maximum", 100.0)),
            )
        )

    previous = raw.get("previous_year_ids") or {}
    previous = {str(k): str(v) for k, v in previous.items() if k != "__line__"}
    return Catalog(
        path=path,
        prefecture_code=pref,
        fiscal_year=fiscal_year,
        title=title,
        catalog_version=version,
        own_initiative_rows=own_rows,
        sections=tuple(sections),
        tables=tuple(tables),
        numeric_targets=tuple(targets),
        previous_year_ids=previous,
    )
