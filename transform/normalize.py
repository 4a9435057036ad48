"""Cell-level normalisation: text, answer symbols and numeric targets.

Pure functions over the values python-calamine returns (str, int, float, bool, dates, None).
The symbol tables live in kokuho.codelists (defined once, shared with expectations).
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from kokuho import codelists

# Zero-width characters that survive NFKC (ZWSP, ZWNJ, ZWJ, BOM, word joiner).
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\ufeff\u2060"))
# Excel's escaped control characters (CR/LF/TAB written as _x000D_ etc. in shared strings).
_EXCEL_ESCAPE_RE = re.compile(r"_x000[DdAa9]_")
_SPACES_RE = re.compile(r"\s+")

# Budget line cells meaning "no budget line" (after normalize_text).
NO_BUDGET_LINE: frozenset[str] = frozenset({"—", "―", "-", "‐", "–", "ー", "なし", "無し", "無", "特になし"})

# Target text meaning "no target set" (after NFKC and whitespace removal).
_NOT_SET_TEXTS: frozenset[str] = frozenset(
    {"【未設定】", "未設定", "[未設定]", "-", "‐", "–", "—", "―", "ー"}
)
_NUMBER_RE = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(%?)$")
_AT_LEAST_RE = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))%?以上$")
_PREVIOUS_YEAR_RE = re.compile(r"^前年度.*(以上|上回|超え|を維持)")


def cell_text(value: object) -> str | None:
    """A cell value as text without normalisation (1.0 -> "1"); None for an empty cell."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value and not value.isspace() else None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    text = str(value)
    return text if text.strip() else None


@lru_cache(maxsize=1 << 16)
def _normalize_str(text: str) -> str | None:
    # Cached: labels, symbols and budget lines repeat across hundreds of files.
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)
    if "_x" in text:
        text = _EXCEL_ESCAPE_RE.sub(" ", text)
    text = _SPACES_RE.sub(" ", text).strip()
    return text or None


def normalize_text(value: object) -> str | None:
    """NFKC, zero-width characters removed, whitespace runs (line breaks, U+3000) to one space,
    stripped. None for an empty result."""
    if isinstance(value, str):
        return _normalize_str(value)
    text = cell_text(value)
    return None if text is None else _normalize_str(text)


@lru_cache(maxsize=1 << 16)
def _clean_str(text: str) -> str | None:
    text = text.translate(_ZERO_WIDTH)
    if "_x" in text:
        text = _EXCEL_ESCAPE_RE.sub(" ", text)
    text = _SPACES_RE.sub(" ", text).strip()
    return text or None


def clean_text(value: object) -> str | None:
    """Free text as written (budget lines, initiatives, notes): zero-width characters removed and
    whitespace runs collapsed, but no NFKC, so （）and full-width letters stay as published."""
    text = cell_text(value)
    return None if text is None else _clean_str(text)


def compact_text(value: object) -> str:
    """normalize_text with every space removed ("" for empty): for matching symbols and names."""
    text = normalize_text(value)
    return "" if text is None else text.replace(" ", "")


def parse_answer(value: object) -> str | None:
    """codelists.ANSWER_YES / ANSWER_NO for a known symbol, None for an unknown one.

    Numbers: 1 is yes, 0 is no, anything else unknown. True is yes, False is no. Blank is no.
    """
    if value is None:
        return codelists.ANSWER_NO
    if isinstance(value, bool):
        return codelists.ANSWER_YES if value else codelists.ANSWER_NO
    if isinstance(value, int | float):
        if value == 1:
            return codelists.ANSWER_YES
        if value == 0:
            return codelists.ANSWER_NO
        return None
    if not isinstance(value, str):
        return None  # dates, times: never an answer
    text = compact_text(value)
    if text in codelists.YES_SYMBOLS:
        return codelists.ANSWER_YES
    if text in codelists.NO_SYMBOLS:
        return codelists.ANSWER_NO
    if _NUMBER_RE.match(text) and not text.endswith("%"):
        number = float(text)
        if number == 1:
            return codelists.ANSWER_YES
        if number == 0:
            return codelists.ANSWER_NO
    return None


def parse_budget_line(value: object) -> str | None:
    """予算事業名 as written (clean_text); None when empty or a "none" marker (—, -, なし)."""
    text = clean_text(value)
    if text is None or normalize_text(text) in NO_BUDGET_LINE:
        return None
    return text


class ParsedTarget(NamedTuple):
    raw_text: str | None  # the cell as written; a number shown as Excel would (0.95 -> "95%")
    value: float | None  # percent (95.0)
    qualifier: str | None  # codelists.QUALIFIER_*; None for a plain value
    ok: bool  # False when the cell holds something that is not a target


def _percent(number: float) -> float:
    # Rounded so 0.937 * 100 gives 93.7, not 93.69999999999999.
    return round(number * 100.0, 9)


def _number_text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def parse_target(value: object, *, is_percent_format: bool = False) -> ParsedTarget:
    """Parse a numeric target cell into (raw_text, percent value, qualifier, ok).

    - text: "９５．０％", "95%", "95", "93.70%" -> 95.0 / 93.7; "95％以上" -> 95.0 with 以上;
      "前年度以上", "前年度収納率を上回る" -> 前年度以上 with no value; "【未設定】", "未設定", "-", "－"
      -> 未設定; blank -> all None (ok); anything else -> ok False.
    - numbers: with percent format the stored fraction is multiplied by 100 (0.95 -> 95.0).
      Without a known format, 0 < x <= 1 is read as a fraction too (0.95 -> 95.0, 1 -> 100.0),
      because no rate target is written as "1 %" while a percent-formatted cell whose format we
      could not see stores 0.95; larger numbers are percents as written (95 -> 95.0).
      The same rule applies to a number typed as text without "%" ("0.95" -> 95.0).
    """
    if value is None:
        return ParsedTarget(None, None, None, True)
    if isinstance(value, bool):
        return ParsedTarget(cell_text(value), None, None, False)
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            return ParsedTarget(cell_text(value), None, None, False)
        if is_percent_format or 0 < number <= 1:
            percent = _percent(number)
            return ParsedTarget(f"{_number_text(percent)}%", percent, None, True)
        return ParsedTarget(_number_text(number), number, None, True)
    if not isinstance(value, str):
        return ParsedTarget(cell_text(value), None, None, False)
    raw = value.strip() or None
    text = compact_text(value)
    if not text:
        return ParsedTarget(None, None, None, True)
    if text in _NOT_SET_TEXTS:
        return ParsedTarget(raw, None, codelists.QUALIFIER_NOT_SET, True)
    if _PREVIOUS_YEAR_RE.match(text):
        return ParsedTarget(raw, None, codelists.QUALIFIER_PREVIOUS_YEAR_OR_MORE, True)
    if match := _AT_LEAST_RE.match(text):
        return ParsedTarget(raw, float(match[1]), codelists.QUALIFIER_AT_LEAST, True)
    if match := _NUMBER_RE.match(text):
        number = float(match[1])
        if match[2] == "%":
            return ParsedTarget(raw, number, None, True)
        if is_percent_format or 0 < number <= 1:
            return ParsedTarget(raw, _percent(number), None, True)
        return ParsedTarget(raw, number, None, True)
    return ParsedTarget(raw, None, None, False)


# --- Typed items (choice, integer, amount, percent, text, period, status) -----------------------


class ParsedItem(NamedTuple):
    """One typed item cell, parsed. `error` is None when the cell is fine, else (issue code,
    Japanese detail): ITEM_UNPARSEABLE, OPTION_NOT_IN_LIST or ITEM_OUT_OF_RANGE."""

    raw_text: str | None  # the cell as written; a number shown as Excel would (0.34 -> "34%")
    value: float | None  # integer, amount (in the item's unit), percent
    qualifier: str | None  # 以上, 以下, 前年度以上, 未設定 (codelists); None for a plain value
    value_text: str | None  # option codes "a,b" / status code / text / period normal form
    period_start: int | None
    period_end: int | None
    not_applicable: bool  # 該当なし
    error: tuple[str, str] | None = None


_EMPTY_ITEM = ParsedItem(None, None, None, None, None, None, False)
_NO_VALUE_TEXTS: frozenset[str] = frozenset({"-", "‐", "–", "—", "―", "ー", "−"})
_NEGATIVE_MARKS = ("△", "▲", "-", "−", "▵")
_DIGITS_RE = re.compile(r"^(\d+(?:\.\d+)?|\.\d+)$")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}(?:\D|$))")
# Month ranges: anything not ending in a digit ("新年度当初"), then 5月~3月 / 5~3 / 9月.
_RANGE_SEP_RE = re.compile(r"[~〜～ー－―‐-]|から|より")
_MONTH_RANGE_RE = re.compile(r"^(?:.*\D)?(\d{1,3})月?~(\d{1,3})月?(?:まで|末|末日)?$")
_MONTH_RE = re.compile(r"^(?:.*\D)?(\d{1,3})月(?:頃|中|上旬|中旬|下旬|末|初旬)?$|^(\d{1,3})$")
_PERIOD_SPLIT_RE = re.compile(r"[・,、/／;；]|及び|および")
_OPTION_SPLIT_RE = re.compile(r"[・,、/／;；\s]+")
_STATUS_ALIASES = {"新": "new", "新規": "new", "継": "continued", "継続": "continued"}


def parse_item(
    item_type: str,
    value: object,
    *,
    unit: str | None = None,
    options: tuple[tuple[str, str], ...] = (),
    multiple: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    is_percent_format: bool = False,
) -> ParsedItem:
    """Parse a typed item's answer cell. Blank is all None (ok); 該当なし (any type) is
    not_applicable; a bare dash is no value; 【未設定】 is the qualifier 未設定 with no value."""
    if value is None:
        return _EMPTY_ITEM
    raw = cell_text(value)
    if raw is None:
        return _EMPTY_ITEM
    raw = raw.strip()
    text = compact_text(value) if isinstance(value, str) else raw
    if text in codelists.NOT_APPLICABLE_TEXTS:
        return _EMPTY_ITEM._replace(raw_text=raw, not_applicable=True)
    if text in _NO_VALUE_TEXTS:
        return _EMPTY_ITEM._replace(raw_text=raw)
    if text in _NOT_SET_TEXTS and item_type != "text":
        return _EMPTY_ITEM._replace(raw_text=raw, qualifier=codelists.QUALIFIER_NOT_SET)
    if item_type in ("integer", "amount", "percent"):
        return _parse_number(item_type, value, raw, text, unit, minimum, maximum, is_percent_format)
    if item_type == "period":
        return _parse_period(value, raw, text)
    if item_type in ("choice", "status"):
        return _parse_options(item_type, raw, options, multiple)
    if isinstance(value, bool | int | float) or not isinstance(value, str):
        return _EMPTY_ITEM._replace(raw_text=raw, value_text=raw)
    return _EMPTY_ITEM._replace(raw_text=raw, value_text=clean_text(value))


def _item_error(raw: str, code: str, detail: str) -> ParsedItem:
    return _EMPTY_ITEM._replace(raw_text=raw, error=(code, detail))


def _parse_number(
    item_type: str,
    value: object,
    raw: str,
    text: str,
    unit: str | None,
    minimum: float | None,
    maximum: float | None,
    is_percent_format: bool,
) -> ParsedItem:
    qualifier: str | None = None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return _item_error(raw, "ITEM_UNPARSEABLE", "数値ではありません")
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            return _item_error(raw, "ITEM_UNPARSEABLE", "数値ではありません")
        if item_type == "percent" and (is_percent_format or 0 < number <= 1):
            number = _percent(number)
            raw = f"{_number_text(number)}%"
    else:
        if _PREVIOUS_YEAR_RE.match(text):
            return _EMPTY_ITEM._replace(raw_text=raw, qualifier=codelists.QUALIFIER_PREVIOUS_YEAR_OR_MORE)
        body = text
        for suffix, kind in (("以上", codelists.QUALIFIER_AT_LEAST), ("以下", codelists.QUALIFIER_AT_MOST)):
            if body.endswith(suffix):
                body, qualifier = body[: -len(suffix)], kind
                break
        units = {
            unicodedata.normalize("NFKC", u) for u in (unit, "%" if item_type == "percent" else None) if u
        }
        for u in sorted(units, key=len, reverse=True):
            if body.endswith(u):
                body = body[: -len(u)]
                break
        negative = body.startswith(_NEGATIVE_MARKS)
        if negative:
            body = body[1:]
        body = _THOUSANDS_RE.sub("", body)
        if not _DIGITS_RE.match(body):
            expected = f"数値{('（' + unit + '）') if unit else ''}で記入してください"
            return _item_error(raw, "ITEM_UNPARSEABLE", expected)
        number = -float(body) if negative else float(body)
        if item_type == "percent" and not text.rstrip("以上下").endswith("%") and 0 < number <= 1:
            number = _percent(number)  # "0.34" typed as text into a rate: a fraction, as for targets
    if item_type == "integer" and not float(number).is_integer():
        return _item_error(raw, "ITEM_UNPARSEABLE", "整数で記入してください")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        low = "" if minimum is None else f"{minimum:g}"
        high = "" if maximum is None else f"{maximum:g}"
        parsed = _EMPTY_ITEM._replace(raw_text=raw, value=number, qualifier=qualifier)
        return parsed._replace(error=("ITEM_OUT_OF_RANGE", f"{low}～{high}{unit or ''}で記入してください"))
    return _EMPTY_ITEM._replace(raw_text=raw, value=number, qualifier=qualifier)


def _parse_period(value: object, raw: str, text: str) -> ParsedItem:
    """通年, 随時, 9月, 5～3月, 5月～3月 and combinations (新年度当初5月・随時) -> value_text parts
    joined by ",": 通年, 随時 or "M-N"; period_start/period_end: the first month range."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return _item_error(
            raw, "ITEM_UNPARSEABLE", "実施時期は「通年」「随時」「9月」「5～3月」の形で記入してください"
        )
    parts: list[str] = []
    first: tuple[int, int] | None = None
    for piece in _PERIOD_SPLIT_RE.split(text):
        if not piece:
            continue
        if piece in (codelists.PERIOD_ALL_YEAR, codelists.PERIOD_AS_NEEDED):
            parts.append(piece)
            continue
        piece = _RANGE_SEP_RE.sub("~", piece)
        months: tuple[int, int] | None = None
        if match := _MONTH_RANGE_RE.match(piece):
            months = (int(match[1]), int(match[2]))
        elif match := _MONTH_RE.match(piece):
            month = int(match[1] or match[2])
            months = (month, month)
        if months is None:
            return _item_error(
                raw, "ITEM_UNPARSEABLE", "実施時期は「通年」「随時」「9月」「5～3月」の形で記入してください"
            )
        bad = [m for m in months if not 1 <= m <= 12]
        if bad:
            return _item_error(raw, "ITEM_UNPARSEABLE", f"{bad[0]}月はありません（月は1～12）")
        parts.append(f"{months[0]}-{months[1]}")
        first = first or months
    if not parts:
        return _item_error(raw, "ITEM_UNPARSEABLE", "実施時期を読み取れません")
    return _EMPTY_ITEM._replace(
        raw_text=raw,
        value_text=",".join(dict.fromkeys(parts)),
        period_start=first[0] if first else None,
        period_end=first[1] if first else None,
    )


def _option_key(text: str) -> str:
    return compact_text(text).casefold()


def _parse_options(
    item_type: str, raw: str, options: tuple[tuple[str, str], ...], multiple: bool
) -> ParsedItem:
    """Options by label or code (full-/half-width, case and spaces ignored); several (multiple)
    separated by 、,・/ or line breaks. value_text: the codes in catalog order, joined by ","."""
    lookup: dict[str, str] = {}
    for code, label in options:
        lookup.setdefault(_option_key(label), code)
        lookup.setdefault(_option_key(code), code)
    if item_type == "status":
        for alias, code in _STATUS_ALIASES.items():
            lookup.setdefault(alias, code)
    whole = lookup.get(_option_key(raw))
    if whole is not None:
        chosen = {whole}
    else:
        pieces = [p for p in _OPTION_SPLIT_RE.split(normalize_text(raw) or "") if p]
        unknown = [p for p in pieces if _option_key(p) not in lookup]
        labels = "、".join(label for _, label in options)
        if unknown or not pieces:
            return _item_error(raw, "OPTION_NOT_IN_LIST", f"選択肢：{labels}")
        chosen = {lookup[_option_key(p)] for p in pieces}
        if len(chosen) > 1 and not multiple:
            return _item_error(raw, "OPTION_NOT_IN_LIST", f"選択肢から1つだけ選んでください：{labels}")
    codes = [code for code, _ in options if code in chosen]
    return _EMPTY_ITEM._replace(raw_text=raw, value_text=",".join(codes))
