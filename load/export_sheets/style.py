"""Marks, fonts, fills, borders and alignments shared by every sheet of the summary workbook."""

from __future__ import annotations

import re

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

NONE_MARK = "—"
CHECK_MARK = "○"
OWN_HEADING = "<その他（独自の取組）>"
NO_OWN = "（記入なし）"
FORMULA_TRIGGERS = ("=", "+", "-", "@")
MAX_CELL_CHARS = 32_767
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0

FONT_NAME = "游ゴシック"
BASE = Font(name=FONT_NAME, size=10)
BOLD = Font(name=FONT_NAME, size=10, bold=True)
TITLE = Font(name=FONT_NAME, size=14, bold=True)
SUBTITLE = Font(name=FONT_NAME, size=12, bold=True)
NOTE = Font(name=FONT_NAME, size=9, color="444444")
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
HEADING_FILL = PatternFill("solid", fgColor="EDEDED")
TOTAL_FILL = PatternFill("solid", fgColor="FFF2CC")
THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
WRAP_INDENT = Alignment(wrap_text=True, vertical="top", indent=1)
CENTER = Alignment(horizontal="center", vertical="top", wrap_text=True)
HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
NO_WRAP = Alignment(vertical="center", wrap_text=False)
HEADING_ALIGNS = tuple(Alignment(vertical="center", indent=level) for level in range(3))
NUMBER_ALIGN = Alignment(horizontal="right", vertical="top", wrap_text=True)
MATRIX_MARK = Alignment(horizontal="center", vertical="center")
VERTICAL_LABEL = Alignment(horizontal="center", vertical="bottom", text_rotation=90, wrap_text=True)
SMALL = Font(name=FONT_NAME, size=8)
MARK_FONT = Font(name=FONT_NAME, size=9)
LINE_HEIGHT = 15.0  # points per wrapped line of 10 pt Japanese text
TABLE_FONT = Font(name=FONT_NAME, size=9)  # long lists (数値目標, 提出状況)
TABLE_BOLD = Font(name=FONT_NAME, size=9, bold=True)
TABLE_LINE = 13.5  # points per line of 9-pt text
TABLE_WIDTH = 10 / 9  # a column holds 10/9 as many 9-pt characters as 10-pt ones
