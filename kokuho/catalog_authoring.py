"""Authoring survey catalogs: check a file, start next year's catalog from this year's, and a round
trip through an Excel workbook so an analyst reviews and edits the survey in Excel.

The YAML is always written from the loaded Catalog in one stable key order (defaults left out), and
whatever is written is loaded again by the strict loader before it reaches the output file.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from kokuho.catalog import (
    ITEM_TYPES,
    Catalog,
    CatalogError,
    Lead,
    Measure,
    find_catalog,
    load_catalog,
    short_year_label,
)
from kokuho.csvsafe import FORMULA_STARTS

__all__ = [
    "AuthoringError",
    "catalog_to_data",
    "check_files",
    "dump_catalog",
    "from_excel",
    "new_catalog",
    "resolve_catalog",
    "summary",
    "to_excel",
]

MAX_ROWS = 10_000  # rows read from one sheet of an analyst's workbook
MAX_COLUMNS = 100  # columns read (ours use at most 24; the analyst may add notes beside them)
DEFAULT_UNITS = {"amount": "千円", "percent": "%"}


class AuthoringError(CatalogError):
    """A catalog command that cannot do what was asked; the message is Japanese and names the
    file (and the workbook's sheet and row)."""


# ---- YAML out ------------------------------------------------------------------------------------


class _Flow(dict):
    """A small mapping written on one line: {code: mail, label: 郵送}."""


class _FlowList(list):
    """A short list written on one line: [-3, -2, -1, 0]."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))
_Dumper.add_representer(
    _FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _lead_data(lead: Lead) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if lead.title is not None:
        data["title"] = lead.title
    if lead.pages is not None:
        data["pages"] = lead.pages
    data["text"] = list(lead.text)
    return data


def _item_data(item: Measure, children: list[dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {"id": item.id, "label": item.label}
    if item.type != "check":
        data["type"] = item.type
    if item.type == "choice":
        data["options"] = [_Flow(code=c, label=label) for c, label in item.options]
        if item.multiple:
            data["multiple"] = True
    if item.unit is not None and item.unit != DEFAULT_UNITS.get(item.type):
        data["unit"] = item.unit
    if item.minimum is not None:
        data["minimum"] = _number(item.minimum)
    if item.maximum is not None:
        data["maximum"] = _number(item.maximum)
    if item.year_offsets != (0,):
        data["years"] = _Flow({"from": item.year_offsets[0], "to": item.year_offsets[-1]})
    if item.year_label != "short":
        data["year_label"] = item.year_label
    if item.applies_to is not None:
        if item.applies_to.group is not None:
            data["applies_to"] = item.applies_to.group
        else:
            data["applies_to"] = _Flow(item=item.applies_to.item, answer=_FlowList(item.applies_to.answers))
    published = _Flow()
    if item.published_form != "ratio":
        published["form"] = item.published_form
    if item.breakdown != "lines":
        published["breakdown"] = item.breakdown
    if published:
        data["published"] = published
    if children:
        data["children"] = children
    return data


def _items_data(items: Iterable[Measure]) -> list[dict[str, Any]]:
    """A table's items (children right after their parent) as nested nodes."""
    children: dict[str, list[dict[str, Any]]] = {}
    top: list[dict[str, Any]] = []
    # Built from the last item back, so that each parent finds its children already built.
    for item in reversed(list(items)):
        node = _item_data(item, list(reversed(children.pop(item.id, []))))
        (top if item.parent_id is None else children.setdefault(item.parent_id, [])).append(node)
    return list(reversed(top))


def catalog_to_data(catalog: Catalog) -> dict[str, Any]:
    """The catalog as the file's mapping, in a stable key order, defaults left out."""
    data: dict[str, Any] = {
        "prefecture_code": catalog.prefecture_code,
        "fiscal_year": catalog.fiscal_year,
        "title": catalog.title,
        "catalog_version": catalog.catalog_version,
        "own_initiative_rows": catalog.own_initiative_rows,
    }
    if catalog.groups:
        data["groups"] = {
            name: {"label": g.label, "municipalities": _FlowList(g.municipalities)}
            for name, g in catalog.groups.items()
        }
    sections: list[dict[str, Any]] = []
    for section in catalog.sections:
        s_data: dict[str, Any] = {"no": section.no, "title": section.title}
        if section.lead is not None:
            s_data["lead"] = _lead_data(section.lead)
        subsections: dict[int, dict[str, Any]] = {}
        for table in catalog.tables_of(section.no):
            ss = subsections.get(table.subsection_no)
            if ss is None:
                ss = subsections[table.subsection_no] = {
                    "no": table.subsection_no,
                    "title": table.subsection_title,
                }
                lead = section.subsection_lead(table.subsection_no)
                if lead is not None:
                    ss["lead"] = _lead_data(lead)
            items = _items_data(table.items)
            if table.group_code is None:
                ss["measures"] = items
                continue
            groups = ss.setdefault("groups", [])
            if not groups or groups[-1]["code"] != table.group_code:
                groups.append({"code": table.group_code, "title": table.group_title, "subgroups": []})
            groups[-1]["subgroups"].append(
                {"no": table.subgroup_no, "title": table.subgroup_title, "measures": items}
            )
        s_data["subsections"] = list(subsections.values())
        sections.append(s_data)
    data["sections"] = sections
    if catalog.numeric_targets:
        targets = []
        for t in catalog.numeric_targets:
            t_data: dict[str, Any] = {"id": t.id, "label": t.label, "unit": t.unit}
            t_data["year_offsets"] = _FlowList(t.year_offsets)
            if t.year_label != "short":
                t_data["year_label"] = t.year_label
            if t.minimum != 0.0:
                t_data["minimum"] = _number(t.minimum)
            if t.maximum != 100.0:
                t_data["maximum"] = _number(t.maximum)
            targets.append(t_data)
        data["numeric_targets"] = targets
    if catalog.indicators:
        indicators = []
        for ind in catalog.indicators:
            i_data: dict[str, Any] = {"id": ind.id, "label": ind.label}
            if ind.unit is not None:
                i_data["unit"] = ind.unit
            if ind.direction != "higher":
                i_data["direction"] = ind.direction
            i_data["result"] = ind.result
            if ind.target is not None:
                i_data["target"] = ind.target
            indicators.append(i_data)
        data["indicators"] = indicators
    if catalog.rules:
        data["rules"] = [
            {"id": r.id, "label": r.label, "total": r.total, "parts": _FlowList(r.parts)}
            for r in catalog.rules
        ]
    if catalog.previous_year_ids:
        data["previous_year_ids"] = dict(catalog.previous_year_ids)
    return data


def dump_catalog(catalog: Catalog, header: Iterable[str] = ()) -> str:
    """The catalog as YAML text; `header` lines go first as comments."""
    comments = "".join(f"# {line}\n" for line in header)
    body = yaml.dump(
        catalog_to_data(catalog), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100_000
    )
    return comments + body


def _load_text(text: str, name: str) -> Catalog:
    """Load YAML text strictly, as if it were the file `name` (errors name `name`)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        try:
            return replace(load_catalog(path), path=Path(name))
        except CatalogError as exc:
            raise CatalogError(str(exc).replace(str(path), name)) from None


def same_catalog(a: Catalog, b: Catalog) -> bool:
    """Equal as catalogs, wherever their files are."""
    return replace(a, path=Path()) == replace(b, path=Path())


# ---- check ---------------------------------------------------------------------------------------


def summary(catalog: Catalog) -> str:
    """What a catalog holds: sections, items by type, years, groups, targets, indicators, rules."""
    by_type: dict[str, int] = {}
    for item in catalog.items:
        by_type[item.type] = by_type.get(item.type, 0) + 1
    types = "、".join(f"{t} {by_type[t]}" for t in ITEM_TYPES if t in by_type)
    subsections = {(t.section_no, t.subsection_no) for t in catalog.tables}
    years = sorted({y for i in catalog.items for y in i.years(catalog.fiscal_year)})
    span = short_year_label(years[0]) + ("" if len(years) == 1 else f"～{short_year_label(years[-1])}")
    return (
        f"{catalog.era_label}・版 {catalog.catalog_version}："
        f"大項目 {len(catalog.sections)}・小項目 {len(subsections)}・表 {len(catalog.tables)}・"
        f"項目 {len(catalog.items)}（{types}）・尋ねる年度 {span}・"
        f"市町村グループ {len(catalog.groups)}・数値目標 {len(catalog.numeric_targets)}・"
        f"指標 {len(catalog.indicators)}・ルール {len(catalog.rules)}"
    )


def check_files(paths: Iterable[Path]) -> tuple[bool, list[str]]:
    """(all good, lines to print): each file loaded strictly, its summary or its errors."""
    ok, out = True, []
    for path in paths:
        if not path.is_file():
            ok = False
            out.append(f"{path}: ファイルがありません")
            continue
        try:
            catalog = load_catalog(path)
        except CatalogError as exc:
            ok = False
            out.extend(str(exc).splitlines())
            continue
        out.append(f"{path}: 問題なし — {summary(catalog)}")
    return ok, out


# ---- new -----------------------------------------------------------------------------------------

_CODE_YEAR = re.compile(r"^([0-9]{1,2})_([0-9]{4})$")


def resolve_catalog(name: str) -> Path:
    """A catalog file: a path, or a name such as 11_2024 looked up in the catalog folders."""
    path = Path(name)
    if path.is_file():
        return path
    match = _CODE_YEAR.match(name.removesuffix(".yaml"))
    if match is None:
        raise AuthoringError(
            f"カタログ {name} が見つかりません（ファイルのパス、または 11_2024 の形で指定してください）"
        )
    return find_catalog(match.group(1), int(match.group(2)))


def _top_level(text: str, key: str, value: str) -> tuple[str, int]:
    """`text` with the top-level `key:` line's value replaced (comments and the rest kept)."""
    return re.subn(rf"^{key}:[^\n]*$", f"{key}: {value}", text, count=1, flags=re.M)


def new_catalog(
    source: str, year: int, out: Path | None = None, version: str | None = None, force: bool = False
) -> tuple[Path, Catalog]:
    """Next year's catalog from this year's: the same items with the same IDs (matched by ID, so
    `previous_year_ids` is left empty), fiscal_year and catalog_version updated. Year offsets are
    relative to the survey year, so an item asked for R3..R11 in FY2024 asks R4..R12 in FY2025.
    The source's text is kept (comments, key order, leads); returns the written file."""
    src = resolve_catalog(source)
    base = load_catalog(src)
    version = version or f"{year}.1"
    out = out if out is not None else src.parent / f"{base.prefecture_code}_{year}.yaml"
    if out.exists() and not force:
        raise AuthoringError(f"{out} は既にあります（上書きするには --force）")
    expected = replace(base, fiscal_year=year, catalog_version=version, previous_year_ids={})
    text = src.read_text(encoding="utf-8")
    text, n_year = _top_level(text, "fiscal_year", str(year))
    quoted = "'" + version.replace("'", "''") + "'"  # a YAML single-quoted scalar
    text, n_version = _top_level(text, "catalog_version", quoted)
    text = re.sub(r"^previous_year_ids:[^\n]*\n(?:(?:[ \t][^\n]*)?\n)*", "", text, count=1, flags=re.M)
    header = f"# {expected.era_label}: {src.name} から kokuho catalog new で作成（IDは前年度と同じ）\n"
    candidate = header + text
    try:
        written = _load_text(candidate, out.name) if n_year and n_version else None
    except CatalogError:
        written = None
    if written is None or not same_catalog(written, expected):
        # An unusual layout (flow style, keys written twice…): write the catalog out in full.
        candidate = dump_catalog(expected, [header[2:].rstrip("\n")])
        written = _load_text(candidate, out.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(candidate, encoding="utf-8")
    return out, replace(written, path=out)


# ---- Excel ---------------------------------------------------------------------------------------

ITEM_SHEET = "項目"
INFO_SHEET = "基本情報"
GROUP_SHEET = "グループ"
TARGET_SHEET = "数値目標"
INDICATOR_SHEET = "指標"
RULE_SHEET = "ルール"
PREVIOUS_SHEET = "前年度ID"
LEAD_SHEET = "運営方針記載"

# The item sheet's columns: (header, key). Keys are what from_excel reads; the header is what the
# analyst sees. "（参考）" columns are written for reading only.
ITEM_COLUMNS = (
    ("ID", "id"),
    ("大項目番号", "section_no"),
    ("大項目", "section_title"),
    ("小項目番号", "subsection_no"),
    ("小項目", "subsection_title"),
    ("グループ", "group_code"),
    ("グループ名", "group_title"),
    ("小グループ番号", "subgroup_no"),
    ("小グループ名", "subgroup_title"),
    ("親ID", "parent_id"),
    ("型", "type"),
    ("項目名", "label"),
    ("選択肢（コード:名称 を1行ずつ）", "options"),
    ("複数選択", "multiple"),
    ("単位", "unit"),
    ("最小", "minimum"),
    ("最大", "maximum"),
    ("年度から（調査年度との差）", "year_from"),
    ("年度まで（調査年度との差）", "year_to"),
    ("年度表記（short/era）", "year_label"),
    ("対象（グループ名 または 項目ID=回答,回答）", "applies_to"),
    ("公表形式（ratio/count）", "published_form"),
    ("内訳表示（lines/inline）", "breakdown"),
    ("（参考）尋ねる年度", None),
)
INFO_ROWS = (
    ("都道府県コード", "prefecture_code"),
    ("調査年度", "fiscal_year"),
    ("調査名", "title"),
    ("カタログ版", "catalog_version"),
    ("独自取組の行数", "own_initiative_rows"),
)
GROUP_COLUMNS = (("グループ名", "name"), ("名称", "label"), ("市町村コード", "municipalities"))
TARGET_COLUMNS = (
    ("ID", "id"),
    ("項目名", "label"),
    ("単位", "unit"),
    ("年度（調査年度との差、カンマ区切り）", "year_offsets"),
    ("年度表記（short/era）", "year_label"),
    ("最小", "minimum"),
    ("最大", "maximum"),
)
INDICATOR_COLUMNS = (
    ("ID", "id"),
    ("指標名", "label"),
    ("単位", "unit"),
    ("方向（higher/lower）", "direction"),
    ("実績", "result"),
    ("目標", "target"),
)
RULE_COLUMNS = (("ID", "id"), ("ルール名", "label"), ("合計", "total"), ("内訳（カンマ区切り）", "parts"))
PREVIOUS_COLUMNS = (("今年度ID", "id"), ("前年度ID", "previous_id"))
LEAD_COLUMNS = (
    ("大項目番号", "section_no"),
    ("小項目番号（大項目の記載は空欄）", "subsection_no"),
    ("取組名", "title"),
    ("頁", "pages"),
    ("本文（1行ずつ）", "text"),
)
YES = "○"


def _lines(values: Iterable[str]) -> str:
    return "\n".join(values)


def _item_row(catalog: Catalog, item: Measure) -> dict[str | None, Any]:
    applies = ""
    if item.applies_to is not None:
        a = item.applies_to
        applies = a.group if a.group is not None else f"{a.item}={','.join(a.answers)}"
    publishes = item.type in ("check", "choice", "status")
    years = item.years(catalog.fiscal_year)
    return {
        "id": item.id,
        "section_no": item.section_no,
        "section_title": item.section_title,
        "subsection_no": item.subsection_no,
        "subsection_title": item.subsection_title,
        "group_code": item.group_code,
        "group_title": item.group_title,
        "subgroup_no": item.subgroup_no,
        "subgroup_title": item.subgroup_title,
        "parent_id": item.parent_id,
        "type": item.type,
        "label": item.label,
        "options": _lines(f"{c}:{label}" for c, label in item.options) if item.type == "choice" else None,
        "multiple": YES if item.multiple else None,
        "unit": item.unit if item.unit != DEFAULT_UNITS.get(item.type) else None,
        "minimum": item.minimum,
        "maximum": item.maximum,
        "year_from": item.year_offsets[0],
        "year_to": item.year_offsets[-1],
        "year_label": item.year_label,
        "applies_to": applies or None,
        "published_form": item.published_form if publishes else None,
        "breakdown": item.breakdown if publishes else None,
        None: short_year_label(years[0]) + ("" if len(years) == 1 else f"～{short_year_label(years[-1])}"),
    }


def _sheet_rows(catalog: Catalog) -> dict[str, tuple[tuple[tuple[str, Any], ...], list[dict[Any, Any]]]]:
    """Each table sheet's columns and rows."""
    leads: list[dict[str, Any]] = []
    for section in catalog.sections:
        spots = [(None, section.lead), *section.subsection_leads]
        for sub_no, lead in spots:
            if lead is not None:
                leads.append(
                    {
                        "section_no": section.no,
                        "subsection_no": sub_no,
                        "title": lead.title,
                        "pages": lead.pages,
                        "text": _lines(lead.text),
                    }
                )
    return {
        ITEM_SHEET: (ITEM_COLUMNS, [_item_row(catalog, i) for i in catalog.items]),
        GROUP_SHEET: (
            GROUP_COLUMNS,
            [
                {"name": name, "label": g.label, "municipalities": _lines(g.municipalities)}
                for name, g in catalog.groups.items()
            ],
        ),
        TARGET_SHEET: (
            TARGET_COLUMNS,
            [
                {
                    "id": t.id,
                    "label": t.label,
                    "unit": t.unit,
                    "year_offsets": ",".join(str(o) for o in t.year_offsets),
                    "year_label": t.year_label,
                    "minimum": t.minimum,
                    "maximum": t.maximum,
                }
                for t in catalog.numeric_targets
            ],
        ),
        INDICATOR_SHEET: (
            INDICATOR_COLUMNS,
            [
                {
                    "id": i.id,
                    "label": i.label,
                    "unit": i.unit,
                    "direction": i.direction,
                    "result": i.result,
                    "target": i.target,
                }
                for i in catalog.indicators
            ],
        ),
        RULE_SHEET: (
            RULE_COLUMNS,
            [
                {"id": r.id, "label": r.label, "total": r.total, "parts": ",".join(r.parts)}
                for r in catalog.rules
            ],
        ),
        PREVIOUS_SHEET: (
            PREVIOUS_COLUMNS,
            [{"id": k, "previous_id": v} for k, v in catalog.previous_year_ids.items()],
        ),
        LEAD_SHEET: (LEAD_COLUMNS, leads),
    }


def _put(ws: Any, row: int, col: int, value: Any) -> Any:
    """One cell; text is stored as text, never as a formula, and Excel keeps it text when edited."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell = ws.cell(row=row, column=col)
    if value is None:
        return cell
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.value = value
        cell.data_type = "s"
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    else:
        cell.value = _number(value) if isinstance(value, float) else value
    return cell


def to_excel(source: Path, out: Path) -> Catalog:
    """Write the catalog `source` as a workbook for review and editing in Excel."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    catalog = load_catalog(source)
    wb = Workbook()
    header_font, header_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")

    info = wb.active
    info.title = INFO_SHEET
    for col, text in enumerate(("項目", "値"), start=1):
        _put(info, 1, col, text).font = header_font
    for info_row, (header, key) in enumerate(INFO_ROWS, start=2):
        _put(info, info_row, 1, header)
        value = getattr(catalog, key)
        _put(info, info_row, 2, value if isinstance(value, int) else str(value))
    info.column_dimensions["A"].width = 18
    info.column_dimensions["B"].width = 60

    for name, (columns, rows) in _sheet_rows(catalog).items():
        ws = wb.create_sheet(name)
        for col, (header, _key) in enumerate(columns, start=1):
            cell = _put(ws, 1, col, header)
            cell.font, cell.fill, cell.alignment = header_font, header_fill, wrap
            width = 40 if _key in ("label", "options", "text", "municipalities", "section_title") else 14
            ws.column_dimensions[get_column_letter(col)].width = width
        for row_no, row in enumerate(rows, start=2):
            for col, (_header, key) in enumerate(columns, start=1):
                cell = _put(ws, row_no, col, row.get(key))
                if isinstance(row.get(key), str) and "\n" in row[key]:
                    cell.alignment = wrap
        ws.freeze_panes = "B2"
        if name == ITEM_SHEET:
            last = max(len(rows) + 1, 2) + 200  # room for rows the analyst adds
            keys = [key for _h, key in columns]
            for key, choices in (
                ("type", ITEM_TYPES),
                ("multiple", (YES,)),
                ("year_label", ("short", "era")),
                ("published_form", ("ratio", "count")),
                ("breakdown", ("lines", "inline")),
            ):
                letter = get_column_letter(keys.index(key) + 1)
                dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
                dv.add(f"{letter}2:{letter}{last}")
                ws.add_data_validation(dv)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return catalog


# ---- Excel in ------------------------------------------------------------------------------------


@dataclass
class _Origin:
    """Where a value came from in the workbook, for error messages."""

    book: str
    where: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)

    def at(self, sheet: str, row: int) -> str:
        return f"{self.book}: シート「{sheet}」{row}行目"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    return text or None


def _read_sheet(
    wb: Any, name: str, columns: tuple[tuple[str, Any], ...], origin: _Origin, required: Iterable[str] = ()
) -> list[tuple[int, dict[str, Any]]] | None:
    """(row number, {key: value}) for each non-empty row under the header; None when the sheet is
    missing. Columns are found by their header text, so the analyst may reorder them."""
    if name not in wb.sheetnames:
        return None
    ws = wb[name]
    # Read to the last row actually there (a workbook saved by another tool may state a wrong
    # size), and no further right than any sheet of ours reaches.
    ws.reset_dimensions()
    rows = ws.iter_rows(max_col=MAX_COLUMNS, values_only=True)
    header = next(rows, None) or ()
    by_header = {_text(h): i for i, h in enumerate(header) if _text(h)}
    index: dict[str, int] = {}
    for head, key in columns:
        if key is None:
            continue
        if head in by_header:
            index[key] = by_header[head]
        elif key in required:
            raise AuthoringError(f"{origin.at(name, 1)}: 見出し「{head}」の列がありません")
    found: list[tuple[int, dict[str, Any]]] = []
    for number, values in enumerate(rows, start=2):
        if number > MAX_ROWS + 1:
            raise AuthoringError(f"{origin.book}: シート「{name}」の行が多すぎます（{MAX_ROWS}行まで）")
        row = {key: (values[i] if i < len(values) else None) for key, i in index.items()}
        if all(_text(v) is None for v in row.values()):
            continue
        found.append((number, row))
    return found


def _int(value: Any, what: str, at: str) -> int | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return int(unicodedata.normalize("NFKC", text))
    except ValueError:
        raise AuthoringError(f"{at}: {what} は整数でなければなりません（{text!r}）") from None


def _float(value: Any, what: str, at: str) -> float | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return float(unicodedata.normalize("NFKC", text).replace(",", ""))
    except ValueError:
        raise AuthoringError(f"{at}: {what} は数値でなければなりません（{text!r}）") from None


def _split(text: str | None) -> list[str]:
    """Comma, 、 or line separated values."""
    if text is None:
        return []
    return [p.strip() for p in re.split(r"[,、，\n]", text) if p.strip()]


def _item_node(row: dict[str, Any], at: str) -> dict[str, Any]:
    """One item row as a catalog node (without children)."""
    kind = _text(row.get("type")) or "check"
    if kind not in ITEM_TYPES:
        raise AuthoringError(f"{at}: 型 {kind!r} は知らない型です（{'、'.join(ITEM_TYPES)} のどれか）")
    node: dict[str, Any] = {"id": _text(row.get("id")), "label": _text(row.get("label"))}
    if node["label"] is None:
        raise AuthoringError(f"{at}: 項目 {node['id']} の項目名がありません")
    if kind != "check":
        node["type"] = kind
    options = _text(row.get("options"))
    if options is not None:
        parsed = []
        for line in options.split("\n"):
            if not line.strip():
                continue
            match = re.match(r"^([^:：]*)[:：](.*)$", line)
            if match is None or not match.group(1).strip() or not match.group(2).strip():
                raise AuthoringError(f"{at}: 選択肢 {line!r} は「コード:名称」の形で書いてください")
            parsed.append({"code": match.group(1).strip(), "label": match.group(2).strip()})
        node["options"] = parsed
    multiple = _text(row.get("multiple"))
    if multiple is not None:
        if multiple.lower() in (YES, "〇", "true", "1", "はい", "yes"):
            node["multiple"] = True
        elif multiple.lower() not in ("false", "0", "いいえ", "no", "×"):
            raise AuthoringError(f"{at}: 複数選択は ○ か空欄です（{multiple!r}）")
    unit = _text(row.get("unit"))
    if unit is not None:
        node["unit"] = unit
    for key, what in (("minimum", "最小"), ("maximum", "最大")):
        number = _float(row.get(key), what, at)
        if number is not None:
            node[key] = number
    year_from = _int(row.get("year_from"), "年度から", at)
    year_to = _int(row.get("year_to"), "年度まで", at)
    if (year_from, year_to) not in ((None, None), (0, 0)):
        node["years"] = {
            "from": year_from if year_from is not None else 0,
            "to": year_to if year_to is not None else 0,
        }
    year_label = _text(row.get("year_label"))
    if year_label is not None and year_label != "short":
        node["year_label"] = year_label
    applies = _text(row.get("applies_to"))
    if applies is not None:
        if "=" in applies:
            other, _, answers = applies.partition("=")
            node["applies_to"] = {"item": other.strip(), "answer": _split(answers)}
        else:
            node["applies_to"] = applies
    published: dict[str, Any] = {}
    for key, default in (("published_form", "ratio"), ("breakdown", "lines")):
        value = _text(row.get(key))
        if value is not None and value != default:
            published["form" if key == "published_form" else "breakdown"] = value
    if published:
        node["published"] = published
    return node


def _same(
    seen: dict[Any, tuple[Any, int]], key: Any, value: Any, what: str, sheet: str, row: int, origin: _Origin
) -> None:
    """A heading repeated on many rows must read the same on each."""
    if key not in seen:
        seen[key] = (value, row)
    elif seen[key][0] != value:
        first, first_row = seen[key]
        raise AuthoringError(
            f"{origin.at(sheet, row)}: {what}が {first_row}行目（{first!r}）と違います（{value!r}）"
        )


def _sections_from_rows(rows: list[tuple[int, dict[str, Any]]], origin: _Origin) -> list[dict[str, Any]]:
    """The item rows back into sections → subsections → (groups → subgroups) → measures → children."""
    sections: dict[int, dict[str, Any]] = {}
    nodes: dict[str, dict[str, Any]] = {}
    titles: dict[Any, tuple[Any, int]] = {}
    for number, row in rows:
        at = origin.at(ITEM_SHEET, number)
        item_id = _text(row.get("id"))
        if item_id is None:
            raise AuthoringError(
                f"{at}: ID がありません（新しい項目にも、前年度と重ならない新しいIDを付けてください）"
            )
        if item_id in nodes:
            first = origin.where[("item", item_id)][1]
            raise AuthoringError(f"{at}: ID {item_id} が重複しています（{first}行目にもあります）")
        node = _item_node(row, at)
        origin.where[("item", item_id)] = (ITEM_SHEET, number)
        nodes[item_id] = node
        parent_id = _text(row.get("parent_id"))
        if parent_id is not None:
            parent = nodes.get(parent_id)
            if parent is None:
                raise AuthoringError(f"{at}: 親ID {parent_id} の項目がこの行より上にありません")
            parent.setdefault("children", []).append(node)
            continue
        s_no = _int(row.get("section_no"), "大項目番号", at)
        ss_no = _int(row.get("subsection_no"), "小項目番号", at)
        if s_no is None or ss_no is None:
            raise AuthoringError(f"{at}: 大項目番号と小項目番号が必要です")
        s_title, ss_title = _text(row.get("section_title")), _text(row.get("subsection_title"))
        _same(titles, ("s", s_no), s_title, f"大項目 {s_no} の名称", ITEM_SHEET, number, origin)
        _same(
            titles, ("ss", s_no, ss_no), ss_title, f"小項目 {s_no}-{ss_no} の名称", ITEM_SHEET, number, origin
        )
        origin.where.setdefault(("section", str(s_no)), (ITEM_SHEET, number))
        origin.where.setdefault(("subsection", f"{s_no}-{ss_no}"), (ITEM_SHEET, number))
        section = sections.setdefault(s_no, {"no": s_no, "title": s_title, "subsections": {}})
        sub = section["subsections"].setdefault(ss_no, {"no": ss_no, "title": ss_title})
        code = _text(row.get("group_code"))
        if code is None:
            if "groups" in sub:
                raise AuthoringError(
                    f"{at}: 小項目 {s_no}-{ss_no} にはグループのある項目とない項目が混在しています"
                )
            sub.setdefault("measures", []).append(node)
            continue
        if "measures" in sub:
            raise AuthoringError(
                f"{at}: 小項目 {s_no}-{ss_no} にはグループのある項目とない項目が混在しています"
            )
        sg_no = _int(row.get("subgroup_no"), "小グループ番号", at)
        if sg_no is None:
            raise AuthoringError(f"{at}: グループ {code} の項目には小グループ番号が必要です")
        g_title, sg_title = _text(row.get("group_title")), _text(row.get("subgroup_title"))
        _same(
            titles, ("g", s_no, ss_no, code), g_title, f"グループ {code} の名称", ITEM_SHEET, number, origin
        )
        _same(
            titles,
            ("sg", s_no, ss_no, code, sg_no),
            sg_title,
            f"小グループ {code}-{sg_no} の名称",
            ITEM_SHEET,
            number,
            origin,
        )
        groups = sub.setdefault("groups", {})
        group = groups.setdefault(code, {"code": code, "title": g_title, "subgroups": {}})
        subgroup = group["subgroups"].setdefault(sg_no, {"no": sg_no, "title": sg_title, "measures": []})
        subgroup["measures"].append(node)
    out = []
    for section in sections.values():
        subs = []
        for sub in section["subsections"].values():
            if "groups" in sub:
                sub["groups"] = [
                    {**g, "subgroups": list(g["subgroups"].values())} for g in sub["groups"].values()
                ]
            subs.append(sub)
        out.append({**section, "subsections": subs})
    return out


def _open_workbook(book: Path) -> Any:
    from openpyxl import load_workbook

    if not book.is_file():
        raise AuthoringError(f"{book}: ファイルがありません")
    try:
        return load_workbook(book, read_only=True, data_only=True)
    except Exception as exc:  # a zip that is no workbook raises any of several errors
        raise AuthoringError(
            f"{book}: Excel ブック（.xlsx）として読めません（{type(exc).__name__}）"
        ) from None


def _workbook_data(book: Path, origin: _Origin, base: Catalog | None) -> dict[str, Any]:
    """The catalog file's mapping from the workbook (sheets it lacks are taken from `base`)."""
    wb = _open_workbook(book)
    try:
        base_data = catalog_to_data(base) if base is not None else {}
        data: dict[str, Any] = {}
        info = _read_sheet(
            wb, INFO_SHEET, (("項目", "key"), ("値", "value")), origin, required=("key", "value")
        )
        if info is None:
            if base is None:
                raise AuthoringError(f"{origin.book}: シート「{INFO_SHEET}」がありません")
            info = []
        values = {_text(r["key"]): (n, r["value"]) for n, r in info}
        for head, key in INFO_ROWS:
            if head in values:
                n, value = values[head]
                origin.where[("info", key)] = (INFO_SHEET, n)
                if key in ("fiscal_year", "own_initiative_rows"):
                    data[key] = _int(value, head, origin.at(INFO_SHEET, n))
                else:
                    data[key] = _text(value)
            elif key in base_data:
                data[key] = base_data[key]
        items = _read_sheet(
            wb, ITEM_SHEET, ITEM_COLUMNS, origin, required=("id", "label", "section_no", "subsection_no")
        )
        if items is None:
            raise AuthoringError(f"{origin.book}: シート「{ITEM_SHEET}」がありません")

        groups = _read_sheet(wb, GROUP_SHEET, GROUP_COLUMNS, origin, required=("name",))
        if groups is None:
            if "groups" in base_data:
                data["groups"] = base_data["groups"]
        elif groups:
            data["groups"] = {}
            for n, r in groups:
                name = _text(r.get("name"))
                if name is None:
                    raise AuthoringError(f"{origin.at(GROUP_SHEET, n)}: グループ名がありません")
                if name in data["groups"]:
                    raise AuthoringError(f"{origin.at(GROUP_SHEET, n)}: グループ {name} が重複しています")
                origin.where[("groups", name)] = (GROUP_SHEET, n)
                data["groups"][name] = {
                    "label": _text(r.get("label")),
                    "municipalities": _FlowList(_split(_text(r.get("municipalities")))),
                }
        data["sections"] = _sections_from_rows(items, origin)

        targets = _read_sheet(wb, TARGET_SHEET, TARGET_COLUMNS, origin, required=("id",))
        if targets is None:
            if "numeric_targets" in base_data:
                data["numeric_targets"] = base_data["numeric_targets"]
        elif targets:
            data["numeric_targets"] = []
            for n, r in targets:
                at = origin.at(TARGET_SHEET, n)
                t: dict[str, Any] = {"id": _text(r.get("id")), "label": _text(r.get("label"))}
                origin.where[("numeric_targets", str(t["id"]))] = (TARGET_SHEET, n)
                if _text(r.get("unit")) is not None:
                    t["unit"] = _text(r.get("unit"))
                offsets = [_int(o, "年度", at) for o in _split(_text(r.get("year_offsets")))]
                if offsets:
                    t["year_offsets"] = _FlowList(offsets)
                if _text(r.get("year_label")) is not None:
                    t["year_label"] = _text(r.get("year_label"))
                for key, what in (("minimum", "最小"), ("maximum", "最大")):
                    number = _float(r.get(key), what, at)
                    if number is not None:
                        t[key] = number
                data["numeric_targets"].append(t)

        indicators = _read_sheet(wb, INDICATOR_SHEET, INDICATOR_COLUMNS, origin, required=("id",))
        if indicators is None:
            if "indicators" in base_data:
                data["indicators"] = base_data["indicators"]
        elif indicators:
            data["indicators"] = []
            for n, r in indicators:
                ind = {key: _text(r.get(key)) for _h, key in INDICATOR_COLUMNS}
                origin.where[("indicators", str(ind["id"]))] = (INDICATOR_SHEET, n)
                data["indicators"].append({k: v for k, v in ind.items() if v is not None})

        rules = _read_sheet(wb, RULE_SHEET, RULE_COLUMNS, origin, required=("id",))
        if rules is None:
            if "rules" in base_data:
                data["rules"] = base_data["rules"]
        elif rules:
            data["rules"] = []
            for n, r in rules:
                rule = {
                    "id": _text(r.get("id")),
                    "label": _text(r.get("label")),
                    "total": _text(r.get("total")),
                    "parts": _FlowList(_split(_text(r.get("parts")))),
                }
                origin.where[("rules", str(rule["id"]))] = (RULE_SHEET, n)
                data["rules"].append(rule)

        previous = _read_sheet(wb, PREVIOUS_SHEET, PREVIOUS_COLUMNS, origin, required=("id", "previous_id"))
        if previous is None:
            if "previous_year_ids" in base_data:
                data["previous_year_ids"] = base_data["previous_year_ids"]
        elif previous:
            data["previous_year_ids"] = {}
            for n, r in previous:
                now, before = _text(r.get("id")), _text(r.get("previous_id"))
                if now is None or before is None:
                    raise AuthoringError(
                        f"{origin.at(PREVIOUS_SHEET, n)}: 今年度IDと前年度IDの両方が必要です"
                    )
                data["previous_year_ids"][now] = before

        leads = _read_sheet(wb, LEAD_SHEET, LEAD_COLUMNS, origin, required=("section_no", "text"))
        if leads is None and base is not None:
            leads_of = {(s.no, None): s.lead for s in base.sections} | {
                (s.no, n): lead for s in base.sections for n, lead in s.subsection_leads
            }
            lead_rows = [
                (
                    0,
                    {
                        "section_no": k[0],
                        "subsection_no": k[1],
                        "title": v.title,
                        "pages": v.pages,
                        "text": _lines(v.text),
                    },
                )
                for k, v in leads_of.items()
                if v is not None
            ]
        else:
            lead_rows = leads or []
        _attach_leads(data["sections"], lead_rows, origin)
    finally:
        wb.close()
    return data


def _attach_leads(
    sections: list[dict[str, Any]], rows: list[tuple[int, dict[str, Any]]], origin: _Origin
) -> None:
    by_no = {s["no"]: s for s in sections}
    for n, r in rows:
        at = origin.at(LEAD_SHEET, n)
        s_no = _int(r.get("section_no"), "大項目番号", at)
        ss_no = _int(r.get("subsection_no"), "小項目番号", at)
        lead: dict[str, Any] = {}
        for key in ("title", "pages"):
            if _text(r.get(key)) is not None:
                lead[key] = _text(r.get(key))
        lead["text"] = [line.strip() for line in (_text(r.get("text")) or "").split("\n") if line.strip()]
        section = by_no.get(s_no)
        if section is None:
            raise AuthoringError(f"{at}: 大項目 {s_no} が「{ITEM_SHEET}」シートにありません")
        target = section
        if ss_no is not None:
            subs = {ss["no"]: ss for ss in section["subsections"]}
            if ss_no not in subs:
                raise AuthoringError(f"{at}: 小項目 {s_no}-{ss_no} が「{ITEM_SHEET}」シートにありません")
            target = subs[ss_no]
        # The lead goes right after the title, where the catalog files keep it.
        rest = {k: v for k, v in target.items() if k not in ("no", "title", "lead")}
        no, title = target["no"], target["title"]
        target.clear()
        target.update({"no": no, "title": title, "lead": lead, **rest})


_ERROR_LINE = re.compile(r"^(?P<file>.*?):(?P<line>\d+|\?): (?P<message>.*)$")
_ID_LINE = re.compile(r"^\s*(?:- )?id: ['\"]?(?P<id>[^'\"]+?)['\"]?\s*$")
_NO_LINE = re.compile(r"^(?P<indent> *)- 'no': (?P<no>\d+)\s*$")
_GROUP_LINE = re.compile(r"^  (?P<name>[^\s#][^:]*):\s*$")


def _row_of_line(text: str, line: int, origin: _Origin) -> str | None:
    """The workbook's sheet and row of the YAML line an error names."""
    top = None
    section_no = ""
    last: tuple[str, str] | None = None
    for number, content in enumerate(text.splitlines(), start=1):
        if content and not content.startswith((" ", "-", "#")):
            top = content.split(":", 1)[0]
            last = ("info", top) if top in {k for _h, k in INFO_ROWS} else None
        elif top == "sections" and (m := _NO_LINE.match(content)):
            # A section's or subsection's own line: errors about its numbering or its lists.
            if not m.group("indent"):
                section_no = m.group("no")
                last = ("section", section_no)
            elif len(m.group("indent")) == 2:
                last = ("subsection", f"{section_no}-{m.group('no')}")
        elif top == "sections" and (m := _ID_LINE.match(content)):
            last = ("item", m.group("id"))
        elif top in ("numeric_targets", "indicators", "rules") and (m := _ID_LINE.match(content)):
            last = (top, m.group("id"))
        elif top == "groups" and (m := _GROUP_LINE.match(content)):
            last = ("groups", m.group("name").strip("'\""))
        if number == line:
            break
    if last is None or last not in origin.where:
        return None
    sheet, row = origin.where[last]
    return origin.at(sheet, row)


def _changes(base: Catalog, new: Catalog) -> list[str]:
    """What the workbook changed against the base catalog, item by item."""
    old = {i.id: i for i in base.items}
    now = {i.id: i for i in new.items}
    lines = [f"追加: {i} {now[i].label}" for i in now if i not in old]
    lines += [f"削除: {i} {old[i].label}" for i in old if i not in now]
    for i in now:
        if i in old and old[i].label != now[i].label:
            lines.append(f"項目名の変更: {i} {old[i].label} → {now[i].label}")
        elif i in old and replace(old[i], position=0, item_no=0) != replace(now[i], position=0, item_no=0):
            lines.append(f"変更: {i} {now[i].label}")
    return lines


def from_excel(book: Path, out: Path, base: Path | None = None) -> tuple[Catalog, list[str]]:
    """Rebuild the catalog YAML from an analyst's workbook (as to_excel writes it) and write it to
    `out` once it passes the strict loader. With `base`, sheets the workbook lacks come from that
    catalog, its leading comments are kept, and the changes against it are listed."""
    base_catalog = load_catalog(base) if base is not None else None
    origin = _Origin(book.name)
    data = _workbook_data(book, origin, base_catalog)
    header: list[str] = []
    if base is not None:
        for line in base.read_text(encoding="utf-8").splitlines():
            if not line.startswith("#"):
                break
            header.append(line)
    header.append(f"# {book.name} から kokuho catalog from-excel で作成")
    # Loaded once from the workbook's mapping (errors point back at sheet and row), then written
    # in the catalog files' own layout.
    draft = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100_000)
    try:
        catalog = _load_text(draft, out.name)
    except CatalogError as exc:
        messages = []
        for line in str(exc).splitlines():
            m = _ERROR_LINE.match(line)
            if m is None:
                messages.append(f"{book.name}: {line}")
                continue
            at = _row_of_line(draft, int(m.group("line")), origin) if m.group("line").isdigit() else None
            messages.append(f"{at or book.name}: {m.group('message')}")
        raise AuthoringError("\n".join(messages)) from None
    text = "\n".join(header) + "\n" + dump_catalog(catalog)
    catalog = _load_text(text, out.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    changes = _changes(base_catalog, catalog) if base_catalog is not None else []
    return replace(catalog, path=out), changes
