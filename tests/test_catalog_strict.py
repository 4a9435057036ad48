"""Strict catalogs: every mistake an analyst can make in a catalog file is refused with a Japanese
message naming the file and the line (the line of the mapping that holds the mistake)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel

from kokuho.catalog import ITEM_TYPES, CatalogError, load_catalog
from kokuho.catalog_file import CatalogFile
from kokuho.config import project_root

BASE = """\
prefecture_code: '33'
fiscal_year: 2024
title: 厳密な検査のテスト
catalog_version: '1'
groups:
  clinic:
    label: 国保直診施設のある市町村
    municipalities: ['332038', '332097']
sections:
- 'no': 1
  title: 各種
  subsections:
  - 'no': 1
    title: 項目
    measures:
    - id: C1
      label: レセプト点検
    - id: CH
      label: 勧奨方法
      type: choice
      options:
      - {code: mail, label: 郵送}
      - {code: visit, label: 訪問}
    - id: N1
      label: 訪問件数
      type: integer
    - id: N2
      label: 電話件数
      type: integer
    - id: N3
      label: 受診率
      type: percent
      years: {from: -1, to: 0}
    - id: T1
      label: 担当係
      type: text
    - id: N4
      label: その他の件数
      type: integer
"""


def item(text: str) -> str:
    """BASE with one more item (its first line marked as the line the error must name)."""
    lines = text.strip("\n").splitlines()
    first = f"    - {lines[0]}  # <-\n"
    return BASE + first + "".join(f"      {line}\n" for line in lines[1:])


def replaced(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new)


# case: (catalog text with the expected line marked "# <-", a fragment of the message)
CASES: dict[str, tuple[str, str]] = {
    "unknown key (lable)": (item("id: X1\nlable: 差押"), "'lable' は知らないキーです"),
    "unknown key on a choice option": (
        replaced("      - {code: mail, label: 郵送}\n", "      - {code: mail, lable: 郵送}  # <-\n"),
        "'lable' は知らないキーです",
    ),
    "unknown type": (item("id: X1\nlabel: 何か\ntype: yesno"), "'type' は 'check'"),
    "multiple not a boolean": (
        item("id: X1\nlabel: 媒体\ntype: choice\nmultiple: 'yes'\noptions: [{code: a, label: A}]"),
        "'multiple' はtrue か false",
    ),
    "years from not a number": (
        BASE + "    - id: X1\n      label: 件数\n      type: integer\n      years: {from: a, to: 0}  # <-\n",
        "'from' は整数でなければなりません",
    ),
    "years without to": (
        BASE + "    - id: X1\n      label: 件数\n      type: integer\n      years: {from: -1}  # <-\n",
        "'to' がありません",
    ),
    "years beyond 15 years back": (
        BASE
        + "    - id: X1\n      label: 件数\n      type: integer\n      years: {from: -16, to: 0}  # <-\n",
        "'from' は -15 以上でなければなりません",
    ),
    "years from after to": (
        item("id: X1\nlabel: 件数\ntype: integer\nyears: {from: 2, to: 0}"),
        "X1 の 'years' は from ≦ to",
    ),
    "more than 15 years": (
        item("id: X1\nlabel: 件数\ntype: integer\nyears: {from: -8, to: 8}"),
        "15 年度までです（17 年度）",
    ),
    "years on a check item": (item("id: X1\nlabel: 点検\nyears: {from: -1, to: 0}"), "'years' は ○ の項目"),
    "options on an integer item": (
        item("id: X1\nlabel: 件数\ntype: integer\noptions: [{code: a, label: A}]"),
        "'options' は type: choice の項目にだけ書けます（X1 は integer）",
    ),
    "options on a status item": (
        item("id: X1\nlabel: 新規・継続\ntype: status\noptions: [{code: a, label: A}]"),
        "'options' は type: choice の項目にだけ書けます（X1 は status）",
    ),
    "multiple on a text item": (
        item("id: X1\nlabel: 担当\ntype: text\nmultiple: true"),
        "'multiple' は type: choice の項目にだけ書けます",
    ),
    "choice without options": (
        item("id: X1\nlabel: 方法\ntype: choice"),
        "選択肢項目 X1 に 'options' がありません",
    ),
    "choice with an empty option list": (
        BASE + "    - id: X1  # <-\n      label: 方法\n      type: choice\n      options: []\n",
        "'options' が空です",
    ),
    "duplicate option codes": (
        item("id: X1\nlabel: 方法\ntype: choice\noptions: [{code: a, label: A}, {code: a, label: B}]"),
        "X1 の選択肢コードが重複しています",
    ),
    "unit on a check item": (
        item("id: X1\nlabel: 点検\nunit: 件"),
        "'unit'・'minimum'・'maximum' は数値の項目",
    ),
    "minimum above maximum": (
        item("id: X1\nlabel: 率\ntype: percent\nminimum: 50\nmaximum: 10"),
        "X1 の 'minimum' が 'maximum' より大きく",
    ),
    "minimum not a number": (
        BASE + "    - id: X1  # <-\n      label: 率\n      type: percent\n      minimum: 低い\n",
        "'minimum' は数値でなければなりません",
    ),
    "published on an amount item": (
        item("id: X1\nlabel: 事業費\ntype: amount\npublished: {form: count}"),
        "'published' は市町村数を公表する項目",
    ),
    "unknown published form": (
        BASE + "    - id: X1\n      label: 委託\n      published: {form: percent}  # <-\n",
        "'form' は 'ratio'",
    ),
    "children on a text item": (
        item("id: X1\nlabel: 担当\ntype: text\nchildren:\n- {id: X2, label: 係}"),
        "内訳（'children'）は check か数値の項目",
    ),
    "child of another kind than its parent": (
        BASE
        + "    - id: X1\n      label: 点検\n      children:\n"
        + "      - id: X2  # <-\n        label: 件数\n        type: integer\n",
        "内訳の項目 X2（integer）は親 X1（check）と同じ種類",
    ),
    "group naming an unknown municipality code": (
        replaced(
            "    label: 国保直診施設のある市町村\n", "    label: 国保直診施設のある市町村  # <-\n"
        ).replace("['332038', '332097']", "['332038', '339999']"),
        "グループ clinic の市町村コード 339999 はこの都道府県の市町村にありません",
    ),
    "group naming another prefecture's municipality": (
        replaced(
            "    label: 国保直診施設のある市町村\n", "    label: 国保直診施設のある市町村  # <-\n"
        ).replace("['332038', '332097']", "['332038', '111007']"),
        "市町村コード 111007 はこの都道府県の市町村にありません",
    ),
    "group code that is not six digits": (
        replaced(
            "    label: 国保直診施設のある市町村\n", "    label: 国保直診施設のある市町村  # <-\n"
        ).replace("['332038', '332097']", "['332038', '33209']"),
        "6桁の市町村コード",
    ),
    "applies_to naming an unknown group": (
        item("id: X1\nlabel: 直診\napplies_to: clinics"),
        "X1 の 'applies_to' のグループ clinics が 'groups' にありません",
    ),
    "condition on a missing item": (
        item("id: X1\nlabel: 訪問職種\ntype: text\napplies_to: {item: NOPE, answer: [visit]}"),
        "X1 の 'applies_to' の項目 NOPE がカタログにありません",
    ),
    "condition on the item itself": (
        item("id: X1\nlabel: 点検\napplies_to: {item: X1, answer: ['○']}"),
        "X1 の 'applies_to' の項目 X1 がカタログにありません",
    ),
    "condition answer not among the options": (
        item("id: X1\nlabel: 訪問職種\ntype: text\napplies_to: {item: CH, answer: [fax]}"),
        "X1 の条件の回答 'fax' は CH の回答にありません（mail、visit）",
    ),
    "condition on a check item answered other than ○": (
        item("id: X1\nlabel: 点検員\napplies_to: {item: C1, answer: [はい]}"),
        "X1 の条件の回答 'はい' は C1 の回答にありません（○）",
    ),
    "condition on a numeric item": (
        item("id: X1\nlabel: 内容\ntype: text\napplies_to: {item: N1, answer: ['1']}"),
        "check・choice・status の項目しか使えません（N1 は integer）",
    ),
    "condition without answers": (
        BASE + "    - id: X1\n      label: 内容\n      applies_to: {item: CH, answer: []}  # <-\n",
        "'answer' が空です",
    ),
    "indicator naming a missing item": (
        BASE + "indicators:\n- id: I1  # <-\n  label: 訪問\n  result: NOPE\n",
        "指標 I1 の 'result' NOPE は数値の項目・数値目標にありません",
    ),
    "indicator target naming a text item": (
        BASE + "indicators:\n- id: I1  # <-\n  label: 訪問\n  result: N1\n  target: T1\n",
        "指標 I1 の 'target' T1 は数値の項目・数値目標にありません",
    ),
    "indicator with an unknown direction": (
        BASE + "indicators:\n- id: I1  # <-\n  label: 訪問\n  result: N1\n  direction: up\n",
        "'direction' は 'higher'",
    ),
    "duplicate indicator id": (
        BASE
        + "indicators:\n- id: I1\n  label: 訪問\n  result: N1\n- id: I1  # <-\n  label: 電話\n  result: N2\n",
        "指標ID I1 が重複しています",
    ),
    "rule naming a missing item": (
        BASE + "rules:\n- id: R1  # <-\n  label: 合計\n  total: N1\n  parts: [N2, NOPE]\n",
        "ルール R1 の項目 NOPE は数値の項目にありません",
    ),
    "rule naming a check item": (
        BASE + "rules:\n- id: R1  # <-\n  label: 合計\n  total: N1\n  parts: [N2, C1]\n",
        "ルール R1 の項目 C1 は数値の項目にありません",
    ),
    "rule over items of different years": (
        BASE + "rules:\n- id: R1  # <-\n  label: 合計\n  total: N1\n  parts: [N2, N3]\n",
        "ルール R1 の項目は同じ年度を尋ねるもの",
    ),
    "rule with one part": (
        BASE + "rules:\n- id: R1  # <-\n  label: 合計\n  total: N1\n  parts: [N2]\n",
        "'parts' が空です",
    ),
    "duplicate rule id": (
        BASE
        + "rules:\n- id: R1\n  label: 合計\n  total: N1\n  parts: [N2, N4]\n"
        + "- id: R1  # <-\n  label: 合計2\n  total: N1\n  parts: [N2, N4]\n",
        "ルールID R1 が重複しています",
    ),
    "duplicate item id": (item("id: N1\nlabel: 重複"), "取組ID N1 が重複しています（24行目にもあります）"),
    "child duplicating its parent's id": (
        BASE
        + "    - id: X1\n      label: 点検\n      children:\n      - id: X1  # <-\n        label: 内訳\n",
        "取組ID X1 が重複しています",
    ),
    "child duplicating another item's id": (
        BASE
        + "    - id: X1\n      label: 点検\n      children:\n      - id: C1  # <-\n        label: 内訳\n",
        "取組ID C1 が重複しています（16行目にもあります）",
    ),
    "numeric target id equal to an item id": (
        BASE + "numeric_targets:\n- id: N1  # <-\n  label: 訪問件数目標\n  unit: 件\n",
        "数値目標ID N1 は項目IDと同じです",
    ),
    "numeric target year beyond 15": (
        BASE + "numeric_targets:\n- id: rate  # <-\n  label: 収納率\n  year_offsets: [0, 16]\n",
        "'year_offsets' の 2 番目 は 15 以下でなければなりません",
    ),
    "YAML syntax error": (
        BASE + "    - id: X1\n      label: 郵送: 訪問  # <-\n      type: text\n",
        "YAMLとして読めません",
    ),
}


def _expected_line(text: str) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if line.rstrip().endswith("# <-")]
    assert len(lines) == 1, text
    return lines[0]


def test_the_base_catalog_loads(tmp_path: Path) -> None:
    path = tmp_path / "33_2024.yaml"
    path.write_text(BASE, encoding="utf-8")
    catalog = load_catalog(path)
    assert [i.id for i in catalog.items] == ["C1", "CH", "N1", "N2", "N3", "T1", "N4"]
    assert catalog.groups["clinic"].municipalities == ("332038", "332097")


@pytest.mark.parametrize("case", list(CASES))
def test_a_mistake_is_refused_naming_file_line_and_what(tmp_path: Path, case: str) -> None:
    text, fragment = CASES[case]
    path = tmp_path / "33_2024.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{_expected_line(text)}: "), message
    assert fragment in message, message
    assert any("\u3040" <= ch <= "\u30ff" for ch in message.split(": ", 1)[1])  # Japanese


def test_line_numbers_in_the_cases_are_where_the_items_start() -> None:
    """The duplicate-ID messages name the first occurrence: C1 on line 16, N1 on line 24."""
    lines = BASE.splitlines()
    assert lines[16 - 1].strip() == "- id: C1"
    assert lines[24 - 1].strip() == "- id: N1"


def test_a_target_id_distinct_from_the_items_loads(tmp_path: Path) -> None:
    path = tmp_path / "33_2024.yaml"
    path.write_text(BASE + "numeric_targets:\n- id: N1_target\n  label: 目標\n  unit: 件\n", encoding="utf-8")
    assert [t.id for t in load_catalog(path).numeric_targets] == ["N1_target"]


# ---- the reference page: docs/catalog.md -------------------------------------------------------

DOC = (project_root() / "docs" / "catalog.md").read_text(encoding="utf-8")
YAML_BLOCKS = re.findall(r"^```yaml\n(.*?)^```$", DOC, re.M | re.S)
HEADER = "prefecture_code: '33'\nfiscal_year: 2024\ntitle: 例\ncatalog_version: '1'\n"
ONE_SECTION = "sections:\n- 'no': 1\n  title: 例\n  subsections:\n  - 'no': 1\n    title: 例\n    measures:\n"
DIRECT_CLINIC = "groups:\n  direct_clinic:\n    label: 直診\n    municipalities: ['332038']\n"


def as_catalog(block: str) -> str:
    """A whole catalog from a YAML example: as it is, or a snippet (items, sections, top-level
    keys) wrapped into the smallest catalog around it."""
    if block.startswith("prefecture_code:"):
        return block
    if block.startswith("- id:"):
        return HEADER + DIRECT_CLINIC + ONE_SECTION + textwrap.indent(block, "    ")
    if block.startswith("- 'no':"):
        return HEADER + "sections:\n" + block
    return HEADER + ONE_SECTION + "    - id: A1\n      label: 例\n" + block


def test_the_reference_page_has_the_examples() -> None:
    assert len(YAML_BLOCKS) >= 14
    kinds = {"check" if "type:" not in b else "" for b in YAML_BLOCKS if b.startswith("- id:")}
    assert "check" in kinds
    for kind in ITEM_TYPES[1:]:
        assert any(f"type: {kind}" in b for b in YAML_BLOCKS), kind
    assert any("multiple: true" in b for b in YAML_BLOCKS)
    for key in ("years:", "year_label:", "applies_to: direct_clinic", "applies_to: {item:", "children:"):
        assert any(key in b for b in YAML_BLOCKS), key
    for key in (
        "published:",
        "numeric_targets:",
        "groups:",
        "indicators:",
        "rules:",
        "previous_year_ids:",
        "lead:",
    ):
        assert any(key in b for b in YAML_BLOCKS), key


@pytest.mark.parametrize("number", range(len(YAML_BLOCKS)))
def test_every_yaml_example_of_the_reference_page_loads(tmp_path: Path, number: int) -> None:
    path = tmp_path / "example.yaml"
    path.write_text(as_catalog(YAML_BLOCKS[number]), encoding="utf-8")
    catalog = load_catalog(path)
    assert catalog.items


def _keys(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


def test_the_reference_page_names_every_key() -> None:
    keys = set().union(*(_keys(m) for m in _models(CatalogFile)))
    prose = re.sub(r"^```.*?^```$", "", DOC, flags=re.M | re.S)
    spans = " ".join(re.findall(r"`([^`]+)`", prose))
    missing = {k for k in keys if not re.search(rf"(?<![\w]){re.escape(k)}(?![\w])", spans)}
    assert not missing, sorted(missing)
    assert "subgroups" in keys and "from" in keys  # the walk reaches nested models and aliases


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """A schema model and every model nested in its fields."""
    found = [model]
    for f in model.model_fields.values():
        for arg in _flatten(f.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg is not model:
                found += [m for m in _models(arg) if m not in found]
    return found


def _flatten(annotation: object) -> list[object]:
    args = get_args(annotation)
    return [annotation] if not args else [a for arg in args for a in _flatten(arg)]
