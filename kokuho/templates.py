"""Per-municipality survey workbooks (調査票) written from a catalog.

`kokuho template --prefecture 11 --year 2024 --out DIR` writes one .xlsx per municipality.
The layout follows kokuho/layout.py exactly: a sheet key in A1 and a row key in hidden column A,
so the extractor finds answers by key, never by position or label. Answer cells are unlocked and
shaded; everything else is protected without a password. Nothing is merged.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import sys
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from copy import copy
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Protection, Side
from openpyxl.utils import column_index_from_string
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.protection import SheetProtection
from openpyxl.worksheet.worksheet import Worksheet

from kokuho import layout
from kokuho.catalog import (
    SUBGROUP_MARKS,
    Catalog,
    CatalogError,
    Measure,
    SurveyTable,
    era_year_label,
    load_catalog,
    load_catalog_for,
    year_label,
)
from kokuho.codelists import ANSWER_YES
from kokuho.config import Settings
from kokuho.municipalities import (
    Municipality,
    MunicipalityCodeError,
    in_survey_area,
    lookup,
    municipalities_of,
    prefecture,
)

__all__ = ["make_templates", "write_template", "write_templates"]

# A Japanese UI font shipped with Windows 10+ and Office for Mac; charset 128 (SHIFTJIS) and
# family 3 make Excel and LibreOffice fall back to another Japanese gothic font when it is missing.
FONT_NAME = "BIZ UDPゴシック"
OWN_HEADING = "<その他（独自の取組）>"
TEXT_FORMAT = "@"  # keeps "1-2" or "0123" typed into answer cells as text
MAX_SHEET_TITLE = 31  # Excel's limit
_SHEET_TITLE_FORBIDDEN = str.maketrans({c: "＿" for c in "[]:*?/\\"})

_KEY = layout.KEY_COLUMN
_SEC = layout.SECTION_COLUMNS
_TGT = layout.TARGET_COLUMNS
_COVER_LABEL = layout.COVER_LABEL_COLUMN
_COVER_VALUE = layout.COVER_VALUE_COLUMN


# --------------------------------------------------------------------------------------------
# Styles: one set of NamedStyles per workbook; each cell then takes one style assignment.
# --------------------------------------------------------------------------------------------


def _font(size: float = 11, *, bold: bool = False, color: str | None = None) -> Font:
    return Font(name=FONT_NAME, size=size, bold=bold, color=color, charset=128, family=3)


_THIN = Side(style="thin", color="808080")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_LOCKED = Protection(locked=True)
_UNLOCKED = Protection(locked=False)
_ANSWER_FILL = PatternFill("solid", fgColor="FFF2CC")  # light yellow: "write here"
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_NA_FILL = PatternFill("solid", fgColor="EDEDED")
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_CENTER = Alignment(horizontal="center", vertical="top", wrap_text=True)


def _style(
    name: str,
    *,
    font: Font | None = None,
    fill: PatternFill | None = None,
    border: Border | None = None,
    alignment: Alignment | None = None,
    protection: Protection = _LOCKED,
    number_format: str = "General",
) -> NamedStyle:
    style = NamedStyle(name=f"kokuho_{name}")
    style.font = font or _font()
    if fill is not None:
        style.fill = fill
    if border is not None:
        style.border = border
    style.alignment = alignment or Alignment(vertical="top")
    style.protection = protection
    style.number_format = number_format
    return style


def _styles() -> dict[str, NamedStyle]:
    """Fresh NamedStyle objects (a NamedStyle binds to one workbook, so one set per workbook)."""
    return {
        s.name.removeprefix("kokuho_"): s
        for s in (
            _style("key", font=_font(8, color="808080")),
            _style("title", font=_font(14, bold=True)),
            _style("subtitle", font=_font(11, bold=True)),
            _style("plain"),
            _style("notice", font=_font(12, bold=True, color="C00000")),
            _style("wrap", alignment=_WRAP_TOP),
            _style("heading", font=_font(11, bold=True)),
            _style("header", font=_font(10, bold=True), fill=_HEADER_FILL, border=_BOX, alignment=_CENTER),
            _style("number", border=_BOX, alignment=_CENTER),
            _style("label", border=_BOX, alignment=_WRAP_TOP),
            _style("label_text", border=_BOX, alignment=_WRAP_TOP, number_format=TEXT_FORMAT),
            _style(
                "answer",
                font=_font(12),
                fill=_ANSWER_FILL,
                border=_BOX,
                alignment=_CENTER,
                protection=_UNLOCKED,
                number_format=TEXT_FORMAT,
            ),
            _style(
                "input",
                fill=_ANSWER_FILL,
                border=_BOX,
                alignment=_WRAP_TOP,
                protection=_UNLOCKED,
                number_format=TEXT_FORMAT,
            ),
            _style("not_applicable", fill=_NA_FILL, border=_BOX),
        )
    }


# Number formats of typed items' answer cells (amount: negatives with △, as prefectures print them).
NUMBER_FORMATS = {"integer": "#,##0", "amount": '#,##0;"△"#,##0', "percent": "0.0"}
CHILD_MARK = "　└ "  # a breakdown item's label, indented under its parent


def _item_styles() -> dict[str, NamedStyle]:
    """Styles only a survey with typed items needs (not registered otherwise, so a check-only
    survey's workbook stays as it was)."""
    return {
        f"answer_{kind}": _style(
            f"answer_{kind}",
            font=_font(12),
            fill=_ANSWER_FILL,
            border=_BOX,
            alignment=Alignment(horizontal="right", vertical="top"),
            protection=_UNLOCKED,
            number_format=number_format,
        )
        for kind, number_format in NUMBER_FORMATS.items()
    }


def _has_typed_items(catalog: Catalog) -> bool:
    return any(i.type != "check" for i in catalog.items)


# --------------------------------------------------------------------------------------------
# Sheet helpers
# --------------------------------------------------------------------------------------------


def _display_width(text: str) -> int:
    """Columns a string needs: full-width characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


class _Sheet:
    """Writes rows of a worksheet and remembers content widths for column fitting."""

    def __init__(self, ws: Worksheet, styles: dict[str, NamedStyle]) -> None:
        self.ws = ws
        # What `cell.style = name` copies (the bound NamedStyle's array), taken once: assigning
        # by name looks the style up per cell and doubles the time to build a workbook.
        self.arrays = {name: style.as_tuple() for name, style in styles.items()}
        self.row = 0
        self.widths: dict[str, int] = {}

    def put(self, column: str, value: object, style: str, *, measure: bool = True) -> None:
        cell = self.ws.cell(row=self.row, column=column_index_from_string(column))
        cell._style = copy(self.arrays[style])
        if value is not None:
            cell.value = value
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # openpyxl would otherwise write it as a formula
            if measure and column != _KEY:
                width = _display_width(str(value))
                if width > self.widths.get(column, 0):
                    self.widths[column] = width

    def next_row(self, key: str | None = None) -> int:
        self.row += 1
        if key is not None:
            self.put(_KEY, key, "key")
        return self.row

    def fit_columns(self, limits: dict[str, tuple[int, int]]) -> None:
        for column, (low, high) in limits.items():
            width = min(max(self.widths.get(column, 0) + 2, low), high)
            self.ws.column_dimensions[column].width = width
        key_column = self.ws.column_dimensions[_KEY]
        key_column.hidden = True
        key_column.width = 12

    def finish(self, *, landscape: bool, title_rows: str, freeze: str) -> None:
        ws = self.ws
        ws.freeze_panes = freeze
        ws.print_title_rows = title_rows
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.orientation = "landscape" if landscape else "portrait"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0  # as many pages down as needed
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = True
        ws.oddFooter.center.text = "&P / &N"
        # Protected without a password; people may still resize rows and columns.
        ws.protection = SheetProtection(
            sheet=True,
            formatColumns=False,
            formatRows=False,
            formatCells=True,
            selectLockedCells=False,
            selectUnlockedCells=False,
        )


def _safe_sheet_title(title: str) -> str:
    return title.translate(_SHEET_TITLE_FORBIDDEN)[:MAX_SHEET_TITLE]


WEEKDAYS = "月火水木金土日"


class Submission:
    """Where and by when the workbook goes back: shown on the cover and in 記入要領 when given."""

    def __init__(self, deadline: dt.date | None = None, contact: str | None = None) -> None:
        self.deadline = deadline
        self.contact = (contact or "").strip() or None

    @property
    def deadline_text(self) -> str | None:
        """2024年6月30日（日）"""
        d = self.deadline
        return f"{d.year}年{d.month}月{d.day}日（{WEEKDAYS[d.weekday()]}）" if d else None

    def lines(self) -> list[str]:
        lines = []
        if self.deadline_text:
            lines.append(f"提出期限：{self.deadline_text}")
        if self.contact:
            lines.append(f"提出先：{self.contact}")
        return lines


def _check_ready(catalog: Catalog, municipality: Municipality) -> None:
    if not in_survey_area(municipality, catalog.prefecture_code):
        raise ValueError(
            f"市町村 {municipality.code} {municipality.name} は都道府県 {catalog.prefecture_code} の"
            f"市町村ではありません（カタログ {catalog.path}）"
        )


# --------------------------------------------------------------------------------------------
# Sheets
# --------------------------------------------------------------------------------------------


def _cover(
    ws: Worksheet,
    styles: dict[str, NamedStyle],
    catalog: Catalog,
    muni: Municipality,
    submission: Submission | None = None,
) -> None:
    s = _Sheet(ws, styles)
    s.next_row()
    s.put(_KEY, layout.SHEET_COVER, "key")
    s.put(_COVER_LABEL, f"{catalog.title}　調査票", "title", measure=False)
    submission = submission or Submission()
    # Row 2 (blank otherwise) shows the deadline: no keyed row moves.
    s.next_row()
    if submission.deadline_text:
        s.put(_COVER_LABEL, "提出期限", "notice", measure=False)
        s.put(_COVER_VALUE, submission.deadline_text, "notice", measure=False)

    pref_name = prefecture(catalog.prefecture_code).name
    facts = [
        (layout.META_FISCAL_YEAR, catalog.fiscal_year, "対象年度", catalog.era_label),
        (layout.META_PREFECTURE, catalog.prefecture_code, "都道府県", pref_name),
        (layout.META_CATALOG_VERSION, catalog.catalog_version, "調査票の版", catalog.catalog_version),
        (layout.META_SURVEY_ID, catalog.survey_id, "調査ID", catalog.survey_id),
    ]
    for name, value, label, shown in facts:
        s.next_row(layout.meta_key(name, value))
        s.put(_COVER_LABEL, label, "label")
        s.put(_COVER_VALUE, shown, "label_text")

    s.next_row()
    s.next_row()
    s.put(_COVER_LABEL, "回答する市町村（記入済み・変更しないでください）", "subtitle", measure=False)
    s.next_row(layout.META_MUNICIPALITY_CODE)
    s.put(_COVER_LABEL, "市町村コード", "label")
    s.put(_COVER_VALUE, muni.code, "label_text")  # text, so a leading 0 (北海道 01…) survives
    s.next_row(layout.META_MUNICIPALITY_NAME)
    s.put(_COVER_LABEL, "市町村名", "label")
    s.put(_COVER_VALUE, muni.name, "label_text")

    s.next_row()
    s.next_row()
    s.put(_COVER_LABEL, "記入者（連絡先）：色付きのセルに記入してください", "subtitle", measure=False)
    for key, label in layout.CONTACT_KEYS.items():
        s.next_row(key)
        s.put(_COVER_LABEL, label, "label")
        s.put(_COVER_VALUE, None, "input")

    s.next_row()
    for line in (
        "記入方法は「記入要領」シートをご覧ください。",
        "回答は各シートの色付きのセルに記入してください。",
    ):
        s.next_row()
        s.put(_COVER_LABEL, line, "plain", measure=False)
    if submission.lines():
        _cover_submission(s, ws, submission)

    s.fit_columns({_COVER_LABEL: (16, 24), _COVER_VALUE: (COVER_VALUE_WIDTH, 60)})
    s.finish(landscape=False, title_rows="1:1", freeze="A2")


def _cover_submission(s: _Sheet, ws: Worksheet, submission: Submission) -> None:
    """The cover's 提出 block: the deadline and where to send, each wrapped to the value column."""
    s.next_row()
    s.next_row()
    s.put(_COVER_LABEL, "提出", "subtitle", measure=False)
    for label, text in (("提出期限", submission.deadline_text), ("提出先", submission.contact)):
        if text:
            s.next_row()
            s.put(_COVER_LABEL, label, "label", measure=False)
            s.put(_COVER_VALUE, text, "label", measure=False)
            lines = _wrapped_lines(text, COVER_VALUE_WIDTH)
            if lines > 1:
                ws.row_dimensions[s.row].height = 18.75 * lines + 2


def _instructions(catalog: Catalog, submission: Submission | None = None) -> list[tuple[str, str]]:
    """(style, text) lines of the 記入要領 sheet."""
    submission = submission or Submission()
    pref_name = prefecture(catalog.prefecture_code).name
    sections = "、".join(f"「{layout.section_sheet_title(s.no, s.title)}」" for s in catalog.sections)
    lines: list[tuple[str, str]] = [
        ("title", "記入要領"),
        (
            "wrap",
            f"{pref_name}　{catalog.era_label}　{catalog.title}（調査票の版 {catalog.catalog_version}）",
        ),
        ("plain", ""),
        ("heading", "1　表紙"),
        ("wrap", "・市町村コードと市町村名は記入済みです。変更しないでください。"),
        ("wrap", "・担当課、担当者名、電話番号、メールアドレスを色付きのセルに記入してください。"),
        ("plain", ""),
        ("heading", f"2　取組のシート（{sections}）"),
        (
            "wrap",
            f"・{catalog.era_label}に実施する（実施を予定している）取組は、「実施」欄で"
            f"「{ANSWER_YES}」を選んでください（セルを選ぶと一覧が出ます）。"
            "実施しない取組は空欄のままにしてください。",
        ),
        (
            "wrap",
            "・「予算事業名」欄は、その取組を個別に予算化している場合だけ、予算事業名を記入してください。"
            "複数ある場合は「、」で区切ってください。",
        ),
        ("wrap", "・補足があれば「備考」欄に記入してください。"),
    ]
    if catalog.own_initiative_rows:
        lines.append(
            (
                "wrap",
                f"・各表の下の「{OWN_HEADING}」の行には、表にない独自の取組を1行に1つずつ、"
                "取組内容と（個別に予算化している場合は）予算事業名を記入してください。"
                f"各表に{catalog.own_initiative_rows}行あります。足りない場合は県の担当者にご相談ください。",
            )
        )
    lines += _item_instructions(catalog)
    lines.append(("plain", ""))
    if catalog.numeric_targets:
        lines += [
            ("heading", f"3　{layout.TARGETS_TITLE}"),
            ("wrap", "・各項目・各年度の目標値を百分率で「目標値」欄に記入してください。"),
            (
                "wrap",
                "・記入例：「95.0」（95.0％）、「95％以上」、「前年度以上」。"
                "目標を設定していない場合は「【未設定】」と記入し、理由などは「備考」欄に記入してください。",
            ),
            ("plain", ""),
        ]
    lines += [
        ("heading", "記入上の注意"),
        ("wrap", "・1つのセルには1つの値だけを記入してください。"),
        ("wrap", "・セルを結合しないでください。"),
        ("wrap", "・数式は使わず、値を直接入力してください。"),
        ("wrap", "・ファイルやシートにパスワードを設定しないでください。"),
        ("wrap", "・Excelブック（.xlsx）のまま提出してください（PDF・画像などに変換しないでください）。"),
        ("plain", ""),
        ("heading", "提出"),
        (
            "wrap",
            f"・{submission.deadline_text}までに、このファイルを提出してください。"
            if submission.deadline_text
            else "・県が指定する提出期限までに、このファイルを提出してください。",
        ),
        *([("wrap", f"・提出先：{submission.contact}")] if submission.contact else []),
        (
            "wrap",
            "・提出後に修正がある場合は、修正した調査票全体を再提出してください。"
            "後から提出したものが、先に提出したものに置き換わります。",
        ),
    ]
    return lines


def _item_instructions(catalog: Catalog) -> list[tuple[str, str]]:
    """記入要領 lines on the item types the survey has beyond ○ (none for a check-only survey)."""
    kinds = {i.type for i in catalog.items}
    lines: list[tuple[str, str]] = []
    if kinds - {"check"}:
        lines.append(
            (
                "wrap",
                "・「実施」欄が○以外の項目は、項目ごとに記入する内容が異なります。"
                "セルを選ぶと表示される説明に沿って記入してください。"
                "年度ごとに行がある項目は、各年度の行に記入してください。",
            )
        )
    texts = {
        "choice": "・選択肢の項目は、一覧から選んでください。複数選ぶ項目は「、」で区切って記入してください（例：郵送、訪問）。",
        "status": "・「新規・継続」の項目は、一覧から「新規」または「継続」を選んでください。",
        "integer": "・件数・人数などの項目は、数値だけを半角で記入してください（例：12）。",
        "amount": "・金額の項目は、千円単位の数値で記入してください（例：1,234）。マイナスは「△148,507」のように記入できます。",
        "percent": "・率の項目は、百分率の数値で記入してください（例：34.0）。「95％以上」とも記入できます。",
        "period": "・実施時期の項目は、「通年」「随時」「9月」「5～3月」のように記入してください。",
        "text": "・文字の項目は、文字で記入してください。",
    }
    lines += [("wrap", text) for kind, text in texts.items() if kind in kinds]
    if kinds - {"check"} or any(i.applies_to for i in catalog.items):
        lines.append(
            (
                "wrap",
                "・自団体に当てはまらない項目は「該当なし」と記入してください（「実施しない」とは区別して集計します）。"
                "灰色のセルは記入不要です。",
            )
        )
    return lines


COVER_VALUE_WIDTH = 48  # at least: the deadline and where to send wrap within it
INSTRUCTIONS_WIDTH = 90  # column B: one A4 portrait page wide at 100 %
_LINE_POINTS = {"title": 24.0, "heading": 19.0, "subtitle": 19.0}  # others: 11-pt text, 18.75 pt a line


def _wrapped_lines(text: str, width: float) -> int:
    """Lines of 11-pt text in a column `width` characters wide (a full-width character is 14.7 px,
    2.1 of the 7-px column unit; half-width about 1.1)."""
    total = sum(2.1 if unicodedata.east_asian_width(ch) in "WFA" else 1.1 for ch in text)
    return max(1, math.ceil(total / max(width - 0.5, 1)))


def _instructions_sheet(
    ws: Worksheet, styles: dict[str, NamedStyle], catalog: Catalog, submission: Submission | None = None
) -> None:
    s = _Sheet(ws, styles)
    for n, (style, text) in enumerate(_instructions(catalog, submission)):
        s.next_row()
        if n == 0:
            s.put(_KEY, layout.SHEET_INSTRUCTIONS, "key")
        s.put("B", text or None, style, measure=False)
        # Heights set, so the wrapped text shows whole in Excel (it does not autofit on open).
        lines = _wrapped_lines(text, INSTRUCTIONS_WIDTH) if style == "wrap" else 1
        ws.row_dimensions[s.row].height = _LINE_POINTS.get(style, 18.75) * lines + (2 if lines > 1 else 0)
    ws.column_dimensions["B"].width = INSTRUCTIONS_WIDTH
    s.fit_columns({})
    s.finish(landscape=False, title_rows="1:1", freeze="A2")
    # The hidden key column stays out of the page; B alone is printed, one page wide.
    ws.print_area = f"B1:B{s.row}"
    ws.print_options.horizontalCentered = False


def _heading_parts(table: SurveyTable, previous: SurveyTable | None) -> list[str]:
    """The heading lines a table needs: only the levels that changed since the previous table."""
    parts: list[str] = []
    new_subsection = previous is None or previous.subsection_no != table.subsection_no
    if new_subsection:
        parts.append(f"({table.subsection_no}) {table.subsection_title}")
    if table.group_code and (new_subsection or previous is None or previous.group_code != table.group_code):
        parts.append(f"{table.group_code}　{table.group_title}")
    if table.subgroup_no:
        parts.append(f"{SUBGROUP_MARKS[table.subgroup_no - 1]}{table.subgroup_title}")
    return parts


_SECTION_WIDTHS = {
    _SEC["no"]: (6, 8),
    _SEC["label"]: (40, 80),
    _SEC["answer"]: (8, 10),
    _SEC["budget_line"]: (30, 40),
    _SEC["note"]: (24, 30),
}


def _section_sheet(
    ws: Worksheet,
    styles: dict[str, NamedStyle],
    catalog: Catalog,
    muni: Municipality,
    section_no: int,
    section_title: str,
) -> None:
    s = _Sheet(ws, styles)
    s.next_row()
    s.put(_KEY, layout.section_sheet_key(section_no), "key")
    s.put(_SEC["no"], layout.section_sheet_title(section_no, section_title), "title", measure=False)
    s.next_row()
    s.put(_SEC["no"], f"{muni.name}（{muni.code}）　{catalog.era_label}", "subtitle", measure=False)

    validation = _answer_validation()
    ws.add_data_validation(validation)
    rows = _ItemRows(ws, s, catalog, muni)

    previous: SurveyTable | None = None
    for table in catalog.tables_of(section_no):
        s.next_row()
        head_key = f"{layout.HEADING_PREFIX}{table.table_id}"
        for part in _heading_parts(table, previous):
            s.next_row(head_key)
            s.put(_SEC["no"], part, "heading", measure=False)
        previous = table

        s.next_row(layout.COLUMN_HEADER_KEY)
        typed = any(i.type != "check" for i in table.items)
        for name, column in _SEC.items():
            header = TYPED_ANSWER_HEADER if typed and name == "answer" else layout.SECTION_HEADERS[name]
            s.put(column, header, "header", measure=name != "budget_line")

        first: int | None = None  # first row of the current run of ○ answer cells
        for item in table.items:
            if item.type != "check" or not rows.applies(item):
                if first is not None:
                    validation.add(f"{_SEC['answer']}{first}:{_SEC['answer']}{s.row}")
                    first = None
                rows.write(item)
                continue
            s.next_row(layout.measure_key(item.id))
            first = s.row if first is None else first
            s.put(_SEC["no"], item.item_no, "number")
            s.put(_SEC["label"], _label(item), "label")
            s.put(_SEC["answer"], None, "answer")
            s.put(_SEC["budget_line"], None, "input")
            s.put(_SEC["note"], None, "input")
        if first is not None:
            validation.add(f"{_SEC['answer']}{first}:{_SEC['answer']}{s.row}")

        if catalog.own_initiative_rows:
            s.next_row(head_key)
            s.put(_SEC["no"], OWN_HEADING, "heading", measure=False)
        for n in range(1, catalog.own_initiative_rows + 1):
            s.next_row(layout.own_key(table.table_id, n))
            s.put(_SEC["no"], None, "number")
            s.put(_SEC["label"], None, "input")
            s.put(_SEC["answer"], None, "not_applicable")
            s.put(_SEC["budget_line"], None, "input")
            s.put(_SEC["note"], None, "input")

    typed = any(i.type != "check" for t in catalog.tables_of(section_no) for i in t.items)
    s.fit_columns({**_SECTION_WIDTHS, _SEC["answer"]: (14, 16)} if typed else _SECTION_WIDTHS)
    s.finish(landscape=True, title_rows="1:2", freeze="A3")


# A table with typed items answers more than 実施 in that column; its header still begins with
# 実施, which is how staging finds the column when it has moved.
TYPED_ANSWER_HEADER = "実施・回答"


def _label(item: Measure) -> str:
    return f"{CHILD_MARK}{item.label}" if item.parent_id else item.label


def _prompt(title: str, text: str, **options: object) -> DataValidation:
    """An input message (Excel: at most 32 characters of title, 255 of text)."""
    return DataValidation(
        allow_blank=True,
        showInputMessage=True,
        promptTitle=title[:32],
        prompt=text[:255],
        **options,
    )


class _ItemRows:
    """Rows of the items that are not a plain ○ row: typed items (one row per fiscal year asked,
    answer in 実施 with its type's input) and items that do not apply to this municipality
    (answer cell greyed, input message 対象外, still keyed)."""

    def __init__(self, ws: Worksheet, sheet: _Sheet, catalog: Catalog, muni: Municipality) -> None:
        self.ws, self.s, self.catalog, self.muni = ws, sheet, catalog, muni
        self._outside: DataValidation | None = None

    def applies(self, item: Measure) -> bool:
        """False when the item is for a named group this municipality is not in."""
        group = item.applies_to.group if item.applies_to else None
        return group is None or self.muni.code in self.catalog.groups[group].municipalities

    def outside(self) -> DataValidation:
        if self._outside is None:
            group_labels = "、".join(g.label for g in self.catalog.groups.values())
            self._outside = _prompt(
                "対象外", f"貴市町村は対象外です（{group_labels}のみ回答）。記入不要です。"
            )
            self.ws.add_data_validation(self._outside)
        return self._outside

    def write(self, item: Measure) -> None:
        s, applies = self.s, self.applies(item)
        if item.type == "check":
            s.next_row(layout.measure_key(item.id))
            s.put(_SEC["no"], item.item_no, "number")
            s.put(_SEC["label"], _label(item), "label")
            s.put(_SEC["answer"], None, "not_applicable")
            s.put(_SEC["budget_line"], None, "not_applicable")
            s.put(_SEC["note"], None, "input")
            self.outside().add(f"{_SEC['answer']}{s.row}")
            return
        validation = self._validation(item) if applies else self.outside()
        if validation is not self._outside:
            self.ws.add_data_validation(validation)
        years = item.years(self.catalog.fiscal_year)
        labelled = len(years) > 1 or years != [self.catalog.fiscal_year]
        style = f"answer_{item.type}" if item.type in NUMBER_FORMATS else "input"
        for n, year in enumerate(years):
            s.next_row(layout.item_key(item.id, year))
            label = f"{_label(item)}（{year_label(year, item.year_label)}）" if labelled else _label(item)
            label += f"［{item.unit}］" if item.unit else ""
            s.put(_SEC["no"], item.item_no if n == 0 else None, "number")
            s.put(_SEC["label"], label, "label")
            s.put(_SEC["answer"], None, style if applies else "not_applicable")
            s.put(_SEC["budget_line"], None, "not_applicable")
            s.put(_SEC["note"], None, "input")
            validation.add(f"{_SEC['answer']}{s.row}")

    def _validation(self, item: Measure) -> DataValidation:
        """The answer cell's input: a drop-down for one option, an input message otherwise."""
        labels = [label for _, label in item.options]
        condition = self._condition(item)
        not_applicable = "該当しない場合は「該当なし」。"
        if item.type in ("choice", "status") and not item.multiple:
            listed = ",".join(labels)
            # Excel's list is comma-separated, at most 255 characters.
            if len(listed) <= 250 and not any("," in label or '"' in label for label in labels):
                return _prompt(
                    item.label,
                    f"一覧から選択。{not_applicable}{condition}",
                    type="list",
                    formula1=f'"{listed}"',
                    showErrorMessage=True,
                    errorStyle="warning",
                    errorTitle="選択肢にない値です",
                    error=f"選択肢（{'、'.join(labels)}）から選んでください。",
                )
            return _prompt(item.label, f"{'、'.join(labels)}のいずれかを記入。{not_applicable}{condition}")
        if item.type == "choice":
            return _prompt(
                item.label,
                f"選択肢：{'、'.join(labels)}。複数の場合は「、」で区切って記入（例：{'、'.join(labels[:2])}）。"
                f"{not_applicable}{condition}",
            )
        if item.type in NUMBER_FORMATS:
            return _prompt(item.label, self._number_prompt(item) + not_applicable + condition)
        if item.type == "period":
            return _prompt(
                item.label, f"「通年」「随時」「５～３月」「９月」のように記入。{not_applicable}{condition}"
            )
        return _prompt(item.label, f"文字で記入。{not_applicable}{condition}")

    @staticmethod
    def _number_prompt(item: Measure) -> str:
        unit = item.unit or ""
        forms = {
            "integer": f"{unit}単位の整数で記入（例：12）。",
            "amount": f"{unit}単位の数値で記入（例：1,234）。マイナスは「△148,507」。",
            "percent": "百分率の数値で記入（例：34.0）。「95％以上」も可。",
        }[item.type]
        low, high = item.minimum, item.maximum
        if low is not None and high is not None:
            bounds = f"範囲：{low:g}～{high:g}{unit}。"
        elif low is not None:
            bounds = f"範囲：{low:g}{unit}以上。"
        elif high is not None:
            bounds = f"範囲：{high:g}{unit}以下。"
        else:
            bounds = ""
        return forms + bounds

    def _condition(self, item: Measure) -> str:
        applies = item.applies_to
        if applies is None or applies.item is None:
            return ""
        other = self.catalog.measure(applies.item)
        return f"「{other.label}」が{self.catalog.condition_answers(item)}の場合に記入。"


def _answer_validation() -> DataValidation:
    """The 実施 column's drop-down: ANSWER_YES or blank, nothing else."""
    return DataValidation(
        type="list",
        formula1=f'"{ANSWER_YES}"',
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorStyle="stop",
        errorTitle="入力できない値です",
        error=f"実施する場合は「{ANSWER_YES}」を選び、実施しない場合は空欄にしてください。",
        promptTitle="実施",
        prompt=f"実施する場合は「{ANSWER_YES}」を選択",
    )


def _targets_sheet(
    ws: Worksheet, styles: dict[str, NamedStyle], catalog: Catalog, muni: Municipality
) -> None:
    s = _Sheet(ws, styles)
    s.next_row()
    s.put(_KEY, layout.SHEET_TARGETS, "key")
    s.put(_TGT["label"], layout.TARGETS_TITLE, "title", measure=False)
    s.next_row()
    s.put(
        _TGT["label"],
        f"{muni.name}（{muni.code}）　記入例：95.0／95％以上／前年度以上／【未設定】",
        "subtitle",
        measure=False,
    )
    s.next_row(layout.COLUMN_HEADER_KEY)
    for name, column in _TGT.items():
        s.put(column, layout.TARGET_HEADERS[name], "header")

    prompt = DataValidation(
        showInputMessage=True,
        allow_blank=True,
        promptTitle="目標値",
        prompt="百分率で記入（例：95.0、95％以上、前年度以上、【未設定】）",
    )
    ws.add_data_validation(prompt)
    first = s.row + 1
    for item in catalog.numeric_targets:
        for year in item.years(catalog.fiscal_year):
            s.next_row(layout.target_key(item.id, year))
            s.put(_TGT["label"], item.label, "label")
            s.put(_TGT["year"], era_year_label(year), "number")
            s.put(_TGT["value"], None, "answer")
            s.put(_TGT["note"], None, "input")
    if s.row >= first:
        prompt.add(f"{_TGT['value']}{first}:{_TGT['value']}{s.row}")

    s.fit_columns(
        {_TGT["label"]: (24, 40), _TGT["year"]: (12, 14), _TGT["value"]: (14, 16), _TGT["note"]: (40, 60)}
    )
    s.finish(landscape=False, title_rows="1:3", freeze="A4")


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def write_template(
    catalog: Catalog, municipality: Municipality, path: Path, submission: Submission | None = None
) -> Path:
    """Write one municipality's survey workbook to `path` (replaced if present); return the path.

    `submission` (deadline, where to send) is shown on the cover and in 記入要領 when given."""
    _check_ready(catalog, municipality)
    path = Path(path)
    wb = Workbook()
    styles = _styles()
    if _has_typed_items(catalog):
        styles |= _item_styles()
    for style in styles.values():
        wb.add_named_style(style)
    wb.properties.title = f"{catalog.era_label} {catalog.title}"
    wb.properties.creator = "kokuho-survey"
    wb.properties.subject = catalog.survey_id

    cover = wb.active
    cover.title = layout.COVER_TITLE
    _cover(cover, styles, catalog, municipality, submission)
    _instructions_sheet(wb.create_sheet(layout.INSTRUCTIONS_TITLE), styles, catalog, submission)
    for section in catalog.sections:
        title = _safe_sheet_title(layout.section_sheet_title(section.no, section.title))
        _section_sheet(wb.create_sheet(title), styles, catalog, municipality, section.no, section.title)
    if catalog.numeric_targets:
        _targets_sheet(wb.create_sheet(layout.TARGETS_TITLE), styles, catalog, municipality)
    wb.active = 0

    # Save beside the target and rename, so a crash never leaves a half-written workbook.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp_", suffix=".xlsx", dir=path.parent)
    os.close(fd)
    try:
        wb.save(tmp_name)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def write_templates(
    catalog: Catalog,
    out_dir: Path,
    municipalities: list[Municipality] | None = None,
    submission: Submission | None = None,
) -> list[Path]:
    """Write one workbook per municipality (default: all of the catalog's prefecture)."""
    chosen = municipalities_of(catalog.prefecture_code) if municipalities is None else list(municipalities)
    for muni in chosen:
        _check_ready(catalog, muni)
    out_dir = Path(out_dir)
    return [
        write_template(
            catalog,
            muni,
            out_dir / layout.template_file_name(muni.code, muni.name, catalog.fiscal_year),
            submission,
        )
        for muni in chosen
    ]


def _error(message_ja: str, message_en: str) -> int:
    print(f"エラー: {message_ja}\nerror: {message_en}", file=sys.stderr)
    return 2


def _resolve_municipalities(codes: Iterable[str], catalog: Catalog) -> list[Municipality] | str:
    chosen: list[Municipality] = []
    for raw in codes:
        try:
            muni = lookup(raw)
        except (MunicipalityCodeError, KeyError) as exc:
            return f"市町村コード {raw!r}: {exc}"
        if not in_survey_area(muni, catalog.prefecture_code):
            return f"市町村コード {muni.code}（{muni.name}）は都道府県 {catalog.prefecture_code} の市町村ではありません"
        if muni not in chosen:
            chosen.append(muni)
    return chosen


def make_templates(
    *,
    settings: Settings,
    out: Path | None = None,
    municipality_codes: Sequence[str] = (),
    catalog_path: Path | None = None,
    deadline: str | None = None,
    contact: str | None = None,
) -> int:
    """`kokuho template`: one survey workbook per municipality (or per code given) in `out`
    (default HOME/templates). Returns the exit code; errors are printed in Japanese and English."""
    deadline_date = None
    if deadline:
        try:
            deadline_date = dt.date.fromisoformat(deadline)
        except ValueError:
            return _error(
                f"提出期限 {deadline!r} は日付ではありません（例 2024-06-30）",
                f"--deadline {deadline!r} is not a date (YYYY-MM-DD)",
            )
    submission = Submission(deadline_date, contact)

    try:
        if catalog_path is not None:
            catalog = load_catalog(catalog_path)
        else:
            catalog = load_catalog_for(settings.prefecture_code, settings.fiscal_year)
    except CatalogError as exc:
        return _error(
            str(exc),
            f"no usable survey catalog for prefecture {settings.prefecture_code}, "
            f"fiscal year {settings.fiscal_year}",
        )
    except OSError as exc:
        return _error(f"カタログを読めません: {exc}", f"cannot read catalog: {exc}")

    municipalities: list[Municipality] | None = None
    if municipality_codes:
        resolved = _resolve_municipalities(municipality_codes, catalog)
        if isinstance(resolved, str):
            return _error(resolved, "unknown municipality code or one outside the catalog's prefecture")
        municipalities = resolved

    out_dir = (out or settings.home / "templates").expanduser().resolve()
    try:
        paths = write_templates(catalog, out_dir, municipalities, submission)
    except OSError as exc:
        return _error(f"調査票を書き込めません: {exc}", f"cannot write templates: {exc}")

    pref_name = prefecture(catalog.prefecture_code).name
    print(
        f"{pref_name} {catalog.era_label} 調査票（版 {catalog.catalog_version}）を {len(paths)} 件作成しました: {out_dir}\n"
        f"wrote {len(paths)} workbooks to {out_dir}"
    )
    return 0
