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
