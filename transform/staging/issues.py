"""Issues of one file as staging rows, capped per file, with their Japanese message and hint."""

from __future__ import annotations

from extract.model import ExtractedWorkbook
from kokuho import codelists
from transform.normalize import cell_text

MAX_ISSUES_PER_FILE = 50
_MAX_VALUE_CHARS = 200  # an offending value is shown up to this length

# The rule each transform issue code stands for (file_issues.rule).
_RULES: dict[str, str] = {
    "NOT_SURVEY_TEMPLATE": "cover_sheet_keyed",
    "WRONG_SURVEY": "survey_matches_catalog",
    "MISSING_SHEET": "sheet_present",
    "MUNICIPALITY_CODE_INVALID": "municipality_code_valid",
    "MUNICIPALITY_UNKNOWN": "municipality_known",
    "MUNICIPALITY_OTHER_PREFECTURE": "municipality_in_prefecture",
    "MUNICIPALITY_NAME_MISMATCH": "municipality_name_matches_code",
    "FILENAME_CODE_MISMATCH": "filename_code_matches_cover",
    "UNKNOWN_ANSWER": "answer_symbol_known",
    "UNKNOWN_MEASURE": "measure_in_catalog",
    "UNKNOWN_TARGET": "target_in_catalog",
    "DUPLICATE_MEASURE": "one_answer_per_measure",
    "FORMULA_WITHOUT_VALUE": "formula_has_cached_value",
    "ERROR_VALUE": "no_error_value",
    "MERGED_CELLS": "answer_cells_not_merged",
    "HIDDEN_SHEET": "answers_not_in_hidden_sheet",
    "HIDDEN_ROW": "answers_not_in_hidden_row",
    "TARGET_UNPARSEABLE": "target_parseable",
    "TARGET_OUT_OF_RANGE": "target_in_range",
    "TEXT_TOO_LONG": "text_length_within_limit",
    "OWN_TEXT_MISSING": "own_initiative_has_text",
    "TOO_MANY_PROBLEMS": "issues_per_file_cap",
    "TEMPLATE_KEY_INVALID": "template_key_valid",
    "ITEM_UNPARSEABLE": "item_value_parseable",
    "OPTION_NOT_IN_LIST": "option_in_list",
    "ITEM_OUT_OF_RANGE": "item_value_in_range",
    "ANSWER_NOT_APPLICABLE": "answer_only_where_item_applies",
    "BREAKDOWN_INCONSISTENT": "breakdown_consistent_with_parent",
    "UNKNOWN_ITEM": "item_in_catalog",
}


def _short(value: object) -> str | None:
    text = cell_text(value)
    if text is not None and len(text) > _MAX_VALUE_CHARS:
        return text[:_MAX_VALUE_CHARS] + "…"
    return text


def _message(code: str, **fields: object) -> tuple[str, str]:
    if code in codelists.ISSUES:
        return codelists.issue_message(code, **fields), codelists.issue_hint(code)
    # A code another stage invented without an entry: still a readable message.
    where = "".join(
        f"{label}「{fields[k]}」" for k, label in (("sheet", "シート"), ("cell", "セル")) if fields.get(k)
    )
    return (
        f"ファイル「{fields.get('file', '')}」{where}に問題があります（{code}：{fields.get('detail') or ''}）。",
        "配布した調査票に記入して提出してください。",
    )


class _FileIssues:
    """Issues of one file, capped at MAX_ISSUES_PER_FILE (then one TOO_MANY_PROBLEMS)."""

    def __init__(self, workbook: ExtractedWorkbook, sink: list[tuple]) -> None:
        self.file_name = workbook.file_name
        self.sha256 = workbook.sha256
        self.sink = sink
        self.count = 0
        self.capped = False

    def add(
        self,
        code: str,
        *,
        sheet: str | None = None,
        cell: str | None = None,
        value: object = None,
        detail: str | None = None,
        rule: str | None = None,
        stage: str = "transform",
    ) -> None:
        if self.capped:
            return
        if self.count >= MAX_ISSUES_PER_FILE:
            self.capped = True
            message, hint = _message("TOO_MANY_PROBLEMS", file=self.file_name, detail=MAX_ISSUES_PER_FILE)
            self.sink.append(
                (
                    self.file_name,
                    self.sha256,
                    None,
                    None,
                    None,
                    "TOO_MANY_PROBLEMS",
                    _RULES["TOO_MANY_PROBLEMS"],
                    message,
                    hint,
                    stage,
                )
            )
            return
        self.count += 1
        shown = _short(value)
        message, hint = _message(
            code, file=self.file_name, sheet=sheet, cell=cell, value=shown, detail=detail
        )
        self.sink.append(
            (
                self.file_name,
                self.sha256,
                sheet,
                cell,
                shown,
                code,
                rule or _RULES.get(code),
                message,
                hint,
                stage,
            )
        )
