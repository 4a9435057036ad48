"""Cell normalisation: text, answer symbols, budget lines and numeric targets."""

from __future__ import annotations

import datetime as dt

import pytest

from kokuho import codelists
from transform.normalize import (
    ParsedTarget,
    cell_text,
    normalize_text,
    parse_answer,
    parse_budget_line,
    parse_target,
)

YES = codelists.ANSWER_YES
NO = codelists.ANSWER_NO


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("川越市", "川越市"),
        ("  川越市\n", "川越市"),
        ("ＡＢＣ１２３", "ABC123"),
        ("納税\n推進\r\n事業", "納税 推進 事業"),
        ("納税　　推進", "納税 推進"),  # U+3000 runs
        ("\u200b納税\u200d推進\ufeff", "納税推進"),
        ("コンビニ\u200c収納", "コンビニ収納"),
        ("a_x000D_\nb", "a b"),  # Excel's escaped carriage return
        ("", None),
        ("   \n\u3000", None),
        ("\u200b", None),
        (None, None),
        (95, "95"),
        (95.0, "95"),
        (93.7, "93.7"),
    ],
)
def test_normalize_text(value: object, expected: str | None) -> None:
    assert normalize_text(value) == expected


def test_cell_text_keeps_the_cell_as_written() -> None:
    assert cell_text("９５．０％") == "９５．０％"
    assert cell_text(1.0) == "1"
    assert cell_text(True) == "TRUE"
    assert cell_text("  ") is None


YES_SYMBOLS = ["○", "〇", "◯", "●", "✓", "✔", "1", "はい", "有", "実施", "予定", "あり", "有り"]
NO_SYMBOLS = ["×", "✕", "無", "いいえ", "-", "－", "‐", "ー", "0", "なし", "無し"]


def _decorated(symbol: str) -> list[str]:
    """The symbol as municipalities type it: padded, on a new line, with zero-width spaces."""
    return [symbol, f" {symbol} ", f"\u3000{symbol}\n", f"\u200b{symbol}\u200b", f"{symbol}\r\n"]


@pytest.mark.parametrize("value", [v for s in YES_SYMBOLS for v in _decorated(s)])
def test_yes_symbols(value: str) -> None:
    assert parse_answer(value) == YES


@pytest.mark.parametrize("value", [v for s in NO_SYMBOLS for v in _decorated(s)])
def test_no_symbols(value: str) -> None:
    assert parse_answer(value) == NO


@pytest.mark.parametrize("value", ["１", "1.0", "１．０", 1, 1.0, True, "は い", "○\n"])
def test_yes_variants(value: object) -> None:
    assert parse_answer(value) == YES


@pytest.mark.parametrize("value", [None, "", "  ", "\u200b", 0, 0.0, False, "０", "×\u3000"])
def test_no_variants(value: object) -> None:
    assert parse_answer(value) == NO


@pytest.mark.parametrize(
    "value", ["△", "未定", "検討中", "?", "2", 2, 0.5, "○×", "100%", dt.date(2024, 4, 1)]
)
def test_unknown_symbols_are_none_never_a_guess(value: object) -> None:
    assert parse_answer(value) is None


def test_every_codelist_symbol_is_understood() -> None:
    assert all(parse_answer(s) == YES for s in codelists.YES_SYMBOLS)
    assert all(parse_answer(s) == NO for s in codelists.NO_SYMBOLS)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("納税推進事業", "納税推進事業"),
        ("  納税\n推進事業 ", "納税 推進事業"),
        ("—", None),
        ("-", None),
        ("－", None),
        ("なし", None),
        ("", None),
        (None, None),
    ],
)
def test_budget_line(value: object, expected: str | None) -> None:
    assert parse_budget_line(value) == expected


AT_LEAST = codelists.QUALIFIER_AT_LEAST
PREVIOUS = codelists.QUALIFIER_PREVIOUS_YEAR_OR_MORE
NOT_SET = codelists.QUALIFIER_NOT_SET


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        ("９５．０％", {}, ParsedTarget("９５．０％", 95.0, None, True)),
        ("95%", {}, ParsedTarget("95%", 95.0, None, True)),
        ("95", {}, ParsedTarget("95", 95.0, None, True)),
        ("93.70%", {}, ParsedTarget("93.70%", 93.7, None, True)),
        ("93.5", {}, ParsedTarget("93.5", 93.5, None, True)),
        (" 95 ％ ", {}, ParsedTarget("95 ％", 95.0, None, True)),
        (95.0, {}, ParsedTarget("95", 95.0, None, True)),
        (95, {}, ParsedTarget("95", 95.0, None, True)),
        (93.7, {}, ParsedTarget("93.7", 93.7, None, True)),
        (0.95, {"is_percent_format": True}, ParsedTarget("95%", 95.0, None, True)),
        (0.937, {"is_percent_format": True}, ParsedTarget("93.7%", 93.7, None, True)),
        (0.95, {}, ParsedTarget("95%", 95.0, None, True)),  # fraction without a known format
        (1, {}, ParsedTarget("100%", 100.0, None, True)),
        ("0.95", {}, ParsedTarget("0.95", 95.0, None, True)),
        ("0.95%", {}, ParsedTarget("0.95%", 0.95, None, True)),  # an explicit % is a percent
        (0, {}, ParsedTarget("0", 0.0, None, True)),
        ("95％以上", {}, ParsedTarget("95％以上", 95.0, AT_LEAST, True)),
        ("９６％以上", {}, ParsedTarget("９６％以上", 96.0, AT_LEAST, True)),
        ("95以上", {}, ParsedTarget("95以上", 95.0, AT_LEAST, True)),
        ("前年度以上", {}, ParsedTarget("前年度以上", None, PREVIOUS, True)),
        ("前年度収納率を上回る", {}, ParsedTarget("前年度収納率を上回る", None, PREVIOUS, True)),
        ("【未設定】", {}, ParsedTarget("【未設定】", None, NOT_SET, True)),
        ("未設定", {}, ParsedTarget("未設定", None, NOT_SET, True)),
        ("-", {}, ParsedTarget("-", None, NOT_SET, True)),
        ("－", {}, ParsedTarget("－", None, NOT_SET, True)),
        (None, {}, ParsedTarget(None, None, None, True)),
        ("", {}, ParsedTarget(None, None, None, True)),
        ("  \n", {}, ParsedTarget(None, None, None, True)),
        ("高い", {}, ParsedTarget("高い", None, None, False)),
        ("95%程度", {}, ParsedTarget("95%程度", None, None, False)),
        (True, {}, ParsedTarget("TRUE", None, None, False)),
        (float("nan"), {}, ParsedTarget("nan", None, None, False)),
    ],
)
def test_parse_target(value: object, kwargs: dict, expected: ParsedTarget) -> None:
    assert parse_target(value, **kwargs) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("地方税電子申告支援サービス（共通納税）", "地方税電子申告支援サービス（共通納税）"),
        ("消耗品費(パンフレット)", "消耗品費(パンフレット)"),
        (" QR Translator\u200bシステム委託料\n", "QR Translatorシステム委託料"),
        ("－", None),
        ("—", None),
    ],
)
def test_budget_lines_keep_the_published_spelling(raw: str, expected: str | None) -> None:
    # Budget lines are shown as municipalities wrote them: no NFKC, so （）stays full-width.
    from transform.normalize import parse_budget_line

    assert parse_budget_line(raw) == expected
