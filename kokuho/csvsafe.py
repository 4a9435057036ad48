"""CSV cells that Excel opens as text, never as a formula.

Every CSV the project writes (reasons.csv, `kokuho export --view … --format csv`,
`kokuho sql --format csv`) passes its text cells through `csv_safe`. Only text is neutralised:
numbers, dates and times are written as they are (a negative number stays a number).
"""

from __future__ import annotations

import re

# Excel (and LibreOffice) start a formula or a DDE call at these; tab and CR are stripped by some
# importers, leaving the character after them first.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# ASCII digits only: float() would also accept "-inf", "-1_0" and fullwidth digits, which Excel
# does not read as plain numbers.
PLAIN_NUMBER = re.compile(r"-(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def csv_safe(text: str) -> str:
    """`text` with an apostrophe (Excel's text marker) in front when it would start a formula.

    A leading "-" is left alone when the whole text is a plain number ("-3", "-1.5e3"):
    Excel reads that as the number it is, not as a formula.
    """
    if not text or not text.startswith(FORMULA_STARTS):
        return text
    if PLAIN_NUMBER.fullmatch(text):
        return text
    return "'" + text


def unencodable(text: str, encoding: str) -> str:
    """The characters of `text` that `encoding` cannot write, each once, in order ("" if none)."""
    return "".join(dict.fromkeys(ch for ch in text if not _encodes(ch, encoding)))


def _encodes(ch: str, encoding: str) -> bool:
    try:
        ch.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True
