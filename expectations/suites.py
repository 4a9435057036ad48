"""The expectation suites, one per staging table, defined in code from the contracts and code lists.

This is a maintenance tool: `python -m expectations.suites` writes expectations/gx/expectations/
<suite>.json (committed; that JSON is what runs), `--check` fails when the JSON is stale.
Validation never rebuilds the suites.

Each expectation's `meta` tells validate.py how to turn a failing row into a file issue:
  issue_code    kokuho.codelists.ISSUES code
  detail        Japanese detail; {value} {length} and the run parameters are filled in
  value_column  column whose value is reported (default: the checked column)
  cell_column   worksheet column of the checked value when it is not the row's `cell`
                (the row's cell is the answer cell; a budget line is in column E of that row)
  once_per_file report only the first failing row of each file, and nothing when the file
                already has an issue with that code (file-level facts repeated on every row,
                like the municipality code)
  no_cell       the issue concerns the whole sheet (e.g. a survey of another year): no cell
  detail_columns columns of the failing row whose values fill detail fields of the same name
Values that depend on the run (this prefecture's municipalities, this catalog's IDs) are suite
parameters ({"$PARAMETER": name}); validate.suite_parameters() supplies them.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any

from kokuho import codelists, layout
from kokuho.catalog import ITEM_TYPES
from transform.contracts import STAGING_TABLES, contract

# Stable IDs, so rewriting unchanged suites leaves the committed JSON unchanged.
_ID_NAMESPACE = uuid.UUID("6f1c1a52-3b1e-4c55-9a43-6b6f6b75686f")

# Run-time parameters the suites refer to (validate.suite_parameters fills every one).
PARAMETERS: tuple[str, ...] = (
    "municipality_codes",
    "prefecture_codes",
    "fiscal_years",
    "survey_ids",
    "measure_ids",
    "table_ids",
    "target_ids",
    "target_year_min",
    "target_year_max",
    "item_ids",
    "item_year_min",
    "item_year_max",
    "option_pattern",
)


def param(name: str) -> dict[str, str]:
    assert name in PARAMETERS, name
    return {"$PARAMETER": name}


@dataclass(frozen=True)
class Rule:
    """One expectation plus how its failures are reported."""

    expectation: str  # GX expectation class name
    kwargs: dict[str, Any]
    issue_code: str
    detail: str  # Japanese, with {value} {length} and run parameters as format fields
    value_column: str | None = None
    cell_column: str | None = None
    once_per_file: bool = False
    no_cell: bool = False
    requirement: str = ""  # Japanese, what the rule requires (Data Docs notes); detail when empty
    extra_meta: dict[str, Any] = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"issue_code": self.issue_code, "detail": self.detail}
        if self.value_column:
            meta["value_column"] = self.value_column
        if self.cell_column:
            meta["cell_column"] = self.cell_column
        if self.once_per_file:
            meta["once_per_file"] = True
        if self.no_cell:
            meta["no_cell"] = True
        meta.update(self.extra_meta)
        return meta


def _in_prefecture() -> list[Rule]:
    return [
        Rule(
            "ExpectColumnValuesToBeInSet",
            {"column": "municipality_code", "value_set": param("municipality_codes")},
            "MUNICIPALITY_OTHER_PREFECTURE",
            "{prefecture_name}の市町村コードではありません",
            once_per_file=True,
            requirement="市町村コードは本県の市町村のもの",
        ),
        Rule(
            "ExpectColumnValuesToBeInSet",
            {"column": "fiscal_year", "value_set": param("fiscal_years")},
            "WRONG_SURVEY",
            "{value}年度の調査票です（本調査は{fiscal_year}年度）",
            once_per_file=True,
            no_cell=True,
            requirement="年度は本調査の年度",
        ),
    ]


def _max_length(column: str, limit: int, label: str, cell_column: str | None) -> Rule:
    return Rule(
        "ExpectColumnValueLengthsToBeBetween",
        {"column": column, "max_value": limit},
        "TEXT_TOO_LONG",
        f"{label}が{{length}}文字あります。{limit}文字以内にしてください",
        cell_column=cell_column,
        requirement=f"{label}は{limit}文字以内",
    )


def _not_null(column: str, code: str, detail: str, **options: Any) -> Rule:
    return Rule("ExpectColumnValuesToNotBeNull", {"column": column}, code, detail, **options)


def rules() -> dict[str, list[Rule]]:
    """Every suite's rules, by suite (= staging table) name."""
    section = layout.SECTION_COLUMNS
    targets = layout.TARGET_COLUMNS
    answers = [codelists.ANSWER_YES, codelists.ANSWER_NO]
    return {
        "stg_submissions": [
            _not_null("municipality_code", "MUNICIPALITY_CODE_INVALID", "市町村コードが記入されていません"),
            Rule(
                "ExpectColumnValuesToBeInSet",
                {"column": "municipality_code", "value_set": param("municipality_codes")},
                "MUNICIPALITY_OTHER_PREFECTURE",
                "{prefecture_name}の市町村コードではありません",
                requirement="市町村コードは本県の市町村のもの",
            ),
            _not_null("prefecture_code", "WRONG_SURVEY", "調査票の都道府県コードがありません", no_cell=True),
            Rule(
                "ExpectColumnValuesToBeInSet",
                {"column": "prefecture_code", "value_set": param("prefecture_codes")},
                "WRONG_SURVEY",
                "都道府県コード{value}の調査票です（本調査は{prefecture_code}）",
                requirement="都道府県コードは本調査のもの",
                no_cell=True,
            ),
            _not_null("fiscal_year", "WRONG_SURVEY", "調査票の年度がありません", no_cell=True),
            Rule(
                "ExpectColumnValuesToBeInSet",
                {"column": "fiscal_year", "value_set": param("fiscal_years")},
                "WRONG_SURVEY",
                "{value}年度の調査票です（本調査は{fiscal_year}年度）",
                requirement="年度は本調査の年度",
                no_cell=True,
            ),
            _not_null("survey_id", "WRONG_SURVEY", "調査票の識別子がありません", no_cell=True),
            Rule(
                "ExpectColumnValuesToBeInSet",
                {"column": "survey_id", "value_set": param("survey_ids")},
                "WRONG_SURVEY",
                "調査票の版「{value}」は本調査（{survey_id}）と異なります",
                requirement="調査票の識別子（都道府県・年度・版）は本調査のもの",
                no_cell=True,
            ),
            Rule(
                "ExpectColumnValuesToBeUnique",
                {"column": "sha256"},
                "VALIDATION_FAILED",
                "同じファイルが1回の処理で重複して読み込まれています",
            ),
        ],
        "stg_responses": [
            *_in_prefecture(),
            Rule(
                "ExpectColumnValuesToBeInSet",
                {"column": "measure_id", "value_set": param("measure_ids")},
                "UNKNOWN_MEASURE",
                "取組ID「{value}」は調査項目にありません",
                requirement="取組IDは本調査のカタログにあるもの",
                cell_column=layout.KEY_COLUMN,
            ),
            _not_null("answer", "UNKNOWN_ANSWER", "回答の記号を判別できません", value_column="answer_raw"),
            Rule(
                "ExpectColumnValuesToBeInSet",
                {"column": "answer", "value_set": answers},
                "UNKNOWN_ANSWER",
                "回答は「○」または空欄です",
                value_column="answer_raw",
            ),
            Rule(
                "ExpectCompoundColumnsToBeUnique",
                {"column_list": ["sha256", "measure_id"]},
                "DUPLICATE_MEASURE",
                "取組ID「{value}」の行が複数あります",
                requirement="1ファイルにつき取組ごとに回答は1つ",
                value_column="measure_id",
            ),
            _max_length("budget_line", codelists.BUDGET_LINE_MAX_CHARS, "予算事業名", section["budget_line"]),
            _max_length("note", codelists.NOTE_MAX_CHARS, "備考", section["note"]),
            *_response_breakdowns(),
        ],
        "stg_own_initiatives": [
            *_in_prefecture(),
            Rule(
                "ExpectColumnValuesToBeInSet",
                {"column": "table_id", "value_set": param("table_ids")},
                "VALIDATION_FAILED",
                "表ID「{value}」は調査票にありません",
                requirement="表IDは本調査のカタログにあるもの",
                cell_column=layout.KEY_COLUMN,
            ),
            _not_null("text", "VALIDATION_FAILED", "独自の取組の内容が空です"),
            _max_length("text", codelists.OWN_INITIATIVE_MAX_CHARS, "独自の取組", None),
            _max_length("budget_line", codelists.BUDGET_LINE_MAX_CHARS, "予算事業名", section["budget_line"]),
            _max_length("note", codelists.NOTE_MAX_CHARS, "備考", section["note"]),
            Rule(
                "ExpectCompoundColumnsToBeUnique",
                {"column_list": ["sha256", "table_id", "position"]},
                "VALIDATION_FAILED",
                "表「{value}」の独自の取組の行が重複しています",
                requirement="独自の取組の行（表・順番）は1ファイルにつき1つ",
                value_column="table_id",
            ),
        ],
        "stg_numeric_targets": [
            *_in_prefecture(),
            Rule(
                "ExpectColumnValuesToBeBetween",
                {"column": "value", "min_value": codelists.TARGET_MIN, "max_value": codelists.TARGET_MAX},
                "TARGET_OUT_OF_RANGE",
                f"目標値は{codelists.TARGET_MIN:g}～{codelists.TARGET_MAX:g}の百分率です",
                value_column="raw_text",
            ),
            Rule(
                "ExpectColumnValuesToBeInSet",
                {"column": "target_id", "value_set": param("target_ids")},
                "VALIDATION_FAILED",
                "数値目標ID「{value}」は調査票にありません",
                requirement="数値目標IDは本調査のカタログにあるもの",
                cell_column=layout.KEY_COLUMN,
            ),
            _not_null(
                "target_year", "VALIDATION_FAILED", "目標年度がありません", cell_column=targets["year"]
            ),
            Rule(
                "ExpectColumnValuesToBeBetween",
                {
                    "column": "target_year",
                    "min_value": param("target_year_min"),
                    "max_value": param("target_year_max"),
                },
                "VALIDATION_FAILED",
                "目標年度{value}は{target_year_min}～{target_year_max}年度の範囲外です",
                requirement="目標年度は調査年度から10年以内",
                cell_column=targets["year"],
            ),
            Rule(
                "ExpectColumnValuesToBeInSet",
                {"column": "qualifier", "value_set": list(codelists.TARGET_QUALIFIERS)},
                "VALIDATION_FAILED",
                "目標値の区分は"
                + "・".join(f"「{q}」" for q in codelists.TARGET_QUALIFIERS)
                + "のいずれかです",
                value_column="raw_text",
            ),
            Rule(
                "ExpectCompoundColumnsToBeUnique",
                {"column_list": ["sha256", "target_id", "target_year"]},
                "VALIDATION_FAILED",
                "数値目標「{value}」の同じ年度の行が複数あります",
                requirement="1ファイルにつき数値目標・年度ごとに1行",
                value_column="target_id",
            ),
            _max_length("note", codelists.NOTE_MAX_CHARS, "備考", targets["note"]),
        ],
        "stg_item_values": _item_value_rules(),
        **_rule_suites(),
    }


def _rule_suites() -> dict[str, list[Rule]]:
    """The catalog's sum rules (total = sum of parts), one stg_rule_checks row per file, rule and
    year: the total must equal the parts' sum to the unit (千円); the reason names both numbers."""
    return {
        "stg_rule_checks": [
            Rule(
                "ExpectColumnValuesToBeBetween",
                {"column": "difference", "min_value": 0, "max_value": 0},
                "SUM_RULE_VIOLATED",
                "{detail}",
                value_column="total_raw",
                requirement="合計は内訳の和と一致する（差 0）",
                extra_meta={"detail_columns": ["detail"]},
            ),
        ],
    }


# ---- typed items and breakdowns ----------------------------------------------------------------


def _response_breakdowns() -> list[Rule]:
    """A breakdown (child) ○ needs its parent ○ (parent_implemented is derived in staging)."""
    return [
        Rule(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "parent_implemented",
                "column_B": "implemented",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            "BREAKDOWN_INCONSISTENT",
            "内訳の項目が「○」ですが、親の項目が「○」ではありません",
            value_column="answer_raw",
            requirement="内訳の項目が○なら親の項目も○",
        ),
    ]


def _item_value_rules() -> list[Rule]:
    section = layout.SECTION_COLUMNS
    types = [t for t in ITEM_TYPES if t != "check"]
    months = [
        Rule(
            "ExpectColumnValuesToBeBetween",
            {"column": column, "min_value": 1, "max_value": 12},
            "ITEM_UNPARSEABLE",
            "{value}月はありません（月は1～12）",
            value_column="raw_text",
            requirement="実施時期の月は1～12",
        )
        for column in ("period_start", "period_end")
    ]
    return [
        *_in_prefecture(),
        Rule(
            "ExpectColumnValuesToBeInSet",
            {"column": "item_id", "value_set": param("item_ids")},
            "UNKNOWN_ITEM",
            "項目ID「{value}」は調査項目にありません",
            requirement="項目IDは本調査のカタログにあるもの",
            cell_column=layout.KEY_COLUMN,
        ),
        Rule(
            "ExpectColumnValuesToBeInSet",
            {"column": "item_type", "value_set": types},
            "VALIDATION_FAILED",
            "項目の型「{value}」は" + "・".join(types) + "のいずれかです",
            requirement="項目の型はカタログの型（○以外）",
        ),
        Rule(
            "ExpectColumnValuesToBeBetween",
            {
                "column": "value_year",
                "min_value": param("item_year_min"),
                "max_value": param("item_year_max"),
            },
            "UNKNOWN_ITEM",
            "{value}年度は{item_year_min}～{item_year_max}年度の範囲外です",
            requirement="回答の年度はカタログの項目が尋ねる年度",
            cell_column=layout.KEY_COLUMN,
        ),
        *months,
        Rule(
            "ExpectColumnValuesToMatchRegex",
            {"column": "item_answer", "regex": param("option_pattern")},
            "OPTION_NOT_IN_LIST",
            "回答はその項目の選択肢のいずれかです",
            value_column="raw_text",
            requirement="選択肢・新規継続の項目の回答はその項目の選択肢",
        ),
        Rule(
            "ExpectColumnValuesToBeInSet",
            {"column": "qualifier", "value_set": list(codelists.ITEM_QUALIFIERS)},
            "VALIDATION_FAILED",
            "数値の区分は" + "・".join(f"「{q}」" for q in codelists.ITEM_QUALIFIERS) + "のいずれかです",
            value_column="raw_text",
        ),
        Rule(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "parent_value",
                "column_B": "breakdown_total",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            "BREAKDOWN_INCONSISTENT",
            "内訳の合計{breakdown_total}が親の項目の値{parent_value}を超えています",
            value_column="raw_text",
            requirement="内訳の数値の合計は親の項目の値以下（同じ年度）",
            extra_meta={"detail_columns": ["breakdown_total", "parent_value"]},
        ),
        Rule(
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["sha256", "item_id", "value_year"]},
            "DUPLICATE_MEASURE",
            "項目「{value}」の同じ年度の行が複数あります",
            requirement="1ファイルにつき項目・年度ごとに回答は1つ",
            value_column="item_id",
        ),
        _max_length("value_text", codelists.NOTE_MAX_CHARS, "回答", None),
        _max_length("note", codelists.NOTE_MAX_CHARS, "備考", section["note"]),
    ]


def build_suites() -> dict[str, Any]:
    """The GX ExpectationSuite objects (imports great_expectations)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suites: dict[str, Any] = {}
    for name, suite_rules in rules().items():
        columns = set(contract(name).column_names)
        expectations = []
        for index, rule in enumerate(suite_rules, start=1):
            used = rule.kwargs.get("column_list") or [
                rule.kwargs[k] for k in ("column", "column_A", "column_B") if k in rule.kwargs
            ]
            used += rule.extra_meta.get("detail_columns", [])
            used += [c for c in (rule.value_column,) if c]
            missing = [c for c in used if c not in columns]
            if missing:
                raise ValueError(f"{name}: rule {index} uses columns not in the contract: {missing}")
            cls = getattr(gxe, rule.expectation)
            expectations.append(cls(**rule.kwargs, meta=rule.meta(), notes=rule.requirement or rule.detail))
        suite = gx.ExpectationSuite(
            name=name,
            expectations=expectations,
            meta={
                "contract": f"transform/contracts/{name}.yaml",
                "description": contract(name).description,
            },
        )
        # IDs are set after construction (GX treats an expectation with an ID as another suite's).
        suite.id = str(uuid.uuid5(_ID_NAMESPACE, name))
        for index, expectation in enumerate(suite.expectations, start=1):
            expectation.id = str(uuid.uuid5(_ID_NAMESPACE, f"{name}:{index}:{expectation.expectation_type}"))
        suites[name] = suite
    if set(suites) != set(STAGING_TABLES):
        raise ValueError(f"suites {sorted(suites)} do not match staging tables {sorted(STAGING_TABLES)}")
    return suites


def suite_json(suite: Any) -> str:
    """The committed form of a suite: GX's own schema, keys sorted, Japanese kept readable."""
    from great_expectations.core.expectation_suite import ExpectationSuiteSchema

    data = json.loads(ExpectationSuiteSchema().dumps(suite))
    # The GX version that wrote the file would make every upgrade rewrite all suites.
    data.get("meta", {}).pop("great_expectations_version", None)
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_suites(*, check: bool = False) -> list[str]:
    """Write (or with check=True only compare) the committed suite JSON. Returns stale suite names."""
    from expectations.context import SUITES_DIR

    stale = []
    for name, suite in build_suites().items():
        path = SUITES_DIR / f"{name}.json"
        text = suite_json(suite)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m expectations.suites", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="only report suites whose JSON is stale")
    args = parser.parse_args(argv)
    from kokuho.config import apply_offline_env

    apply_offline_env()
    stale = write_suites(check=args.check)
    verb = "stale" if args.check else "written"
    print(f"{verb}: {', '.join(stale) if stale else 'none'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
