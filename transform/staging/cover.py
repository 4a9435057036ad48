"""The cover: the submission row, the survey the file answers (its keys) and the municipality."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from extract.model import RawRow, RawSheet
from kokuho import layout
from kokuho.municipalities import Municipality, MunicipalityCodeError, in_survey_area, normalize_code
from transform.normalize import cell_text, compact_text, normalize_text
from transform.staging.context import filename_codes
from transform.staging.file_state import _FileState, _Identity

_COVER_ANSWER_KEYS = frozenset(
    {layout.META_MUNICIPALITY_CODE, layout.META_MUNICIPALITY_NAME, *layout.CONTACT_KEYS}
)
_GUN_RE = re.compile(r"^.{1,6}郡")
_T = TypeVar("_T")
# What a valid key holds (TEMPLATE_KEY_INVALID details).
_PREFECTURE_RULE = "都道府県コードは半角数字2桁（01～47）"
_FISCAL_YEAR_RULE = f"年度は半角数字の西暦（{layout.FISCAL_YEAR_MIN}～{layout.FISCAL_YEAR_MAX}）"
_VERSION_RULE = "版は半角英数字と . _ - の32文字以内"
_SURVEY_ID_RULE = "調査IDは「都道府県コード-年度-版」"


class _CoverReader(_FileState):
    def _find_cover(self) -> RawSheet | None:
        for sheet in self._sheets_for(layout.SHEET_COVER, title=layout.COVER_TITLE):
            if sheet.key == layout.SHEET_COVER or any((r.key or "").startswith("meta:") for r in sheet.rows):
                return sheet
        return None

    def _read_cover(self, cover: RawSheet) -> bool:
        """Submission row and identity checks; False when the file's answers are not to be read."""
        wb, issues = self.wb, self.issues
        meta, meta_rows, values, cells = self._cover_keys(cover)
        if not (
            layout.META_PREFECTURE in meta
            or layout.META_FISCAL_YEAR in meta
            or layout.META_CATALOG_VERSION in meta
            or layout.META_SURVEY_ID in meta
        ):
            issues.add("NOT_SURVEY_TEMPLATE", sheet=cover.title, detail="表紙に調査票の識別情報がありません")
            return False
        prefecture_code, fiscal_year, version, survey_id, keys_valid = self._identity_keys(
            cover, meta, meta_rows
        )

        municipality_code = self._check_municipality(cover, values, cells, meta)
        name_text = normalize_text(values.get(layout.META_MUNICIPALITY_NAME))
        code_cell = cells.get(layout.META_MUNICIPALITY_CODE) or f"{layout.COVER_VALUE_COLUMN}1"
        filename_code = self._filename_code(cover, municipality_code, code_cell, values)

        self.rows.submissions.append(
            (
                wb.file_name,
                wb.file_path,
                wb.sha256,
                wb.file_size,
                wb.file_kind,
                wb.has_macros,
                wb.received_at,
                cover.title,
                code_cell,
                prefecture_code,
                fiscal_year,
                version,
                survey_id,
                municipality_code,
                name_text,
                filename_code,
                *(normalize_text(values.get(key)) for key in layout.CONTACT_KEYS),
            )
        )
        self.identity = _Identity(municipality_code, survey_id, fiscal_year)
        if not keys_valid:
            return False  # which survey the file answers is unknown: its answers cannot be read

        wrong = self._wrong_survey(prefecture_code, fiscal_year, version, survey_id)
        if wrong:
            issues.add("WRONG_SURVEY", sheet=cover.title, value=survey_id, detail="、".join(wrong))
            return False
        return True

    def _cover_keys(
        self, cover: RawSheet
    ) -> tuple[dict[str, str], dict[str, RawRow], dict[str, object], dict[str, str]]:
        """The cover's keyed rows: (meta key -> value, meta key -> its row, answer key -> value
        cell's content, answer key -> value cell's address); the first of each counts. Records the
        cover's answer area."""
        meta: dict[str, str] = {}
        meta_rows: dict[str, RawRow] = {}
        values: dict[str, object] = {}
        cells: dict[str, str] = {}
        area: dict[int, tuple[str, ...]] = {}
        value_col = layout.COVER_VALUE_COLUMN
        for row in cover.rows:
            if not row.key:
                continue
            name, _, key_value = row.key.partition("=")
            name = name.strip()
            if key_value.strip() and name not in meta:
                meta[name] = key_value.strip()
                meta_rows[name] = row
            if name in _COVER_ANSWER_KEYS and name not in values:
                values[name] = row.cells.get(value_col)
                cells[name] = f"{value_col}{row.row_no}"
                area[row.row_no] = (value_col,)
        self.answer_area[cover.title] = area
        return meta, meta_rows, values, cells

    def _filename_code(
        self, cover: RawSheet, municipality_code: str | None, code_cell: str, values: dict[str, object]
    ) -> str | None:
        """The municipality code the file name carries (the cover's, if the name carries several);
        FILENAME_CODE_MISMATCH when it names another municipality than the cover."""
        ctx = self.ctx
        from_name = filename_codes(self.wb.file_name, ctx.municipalities)
        filename_code = (municipality_code if municipality_code in from_name else None) or (
            from_name[0] if from_name else None
        )
        if municipality_code and from_name and municipality_code not in from_name:
            other = ctx.municipalities[from_name[0]]
            self.issues.add(
                "FILENAME_CODE_MISMATCH",
                sheet=cover.title,
                cell=code_cell,
                value=values.get(layout.META_MUNICIPALITY_CODE),
                detail=f"ファイル名は {other.code} {other.name}、表紙は {municipality_code} "
                f"{ctx.municipalities[municipality_code].name}",
            )
        return filename_code

    def _wrong_survey(
        self, prefecture_code: str | None, fiscal_year: int | None, version: str | None, survey_id: str | None
    ) -> list[str]:
        """What the cover's survey keys say differently from the catalog (WRONG_SURVEY details)."""
        catalog = self.ctx.catalog
        wrong = []
        if prefecture_code != catalog.prefecture_code:
            wrong.append(f"都道府県コード {prefecture_code or '不明'}（本調査は {catalog.prefecture_code}）")
        if fiscal_year != catalog.fiscal_year:
            wrong.append(f"年度 {fiscal_year or '不明'}（本調査は {catalog.fiscal_year}）")
        if version != catalog.catalog_version:
            wrong.append(f"版 {version or '不明'}（本調査は {catalog.catalog_version}）")
        if not wrong and survey_id != catalog.survey_id:
            wrong.append(f"調査ID {survey_id}（本調査は {catalog.survey_id}）")
        return wrong

    def _identity_keys(
        self, cover: RawSheet, meta: dict[str, str], meta_rows: dict[str, RawRow]
    ) -> tuple[str | None, int | None, str | None, str | None, bool]:
        """(prefecture code, fiscal year, catalog version, survey id, all keys valid) from the
        cover's meta keys, each validated (a key is as untrusted as a cell): an invalid one is
        TEMPLATE_KEY_INVALID naming its cell, and reads as absent."""
        valid = True

        def bad(name: str, detail: str) -> None:
            nonlocal valid
            valid = False
            row = meta_rows[name]
            self.issues.add(
                "TEMPLATE_KEY_INVALID",
                sheet=cover.title,
                cell=f"{layout.KEY_COLUMN}{row.row_no}",
                value=row.key,
                detail=detail,
            )

        def read(name: str, parse: Callable[[str], _T | None], detail: str) -> _T | None:
            text = meta.get(name)
            if text is None:
                return None
            parsed = parse(text)
            if parsed is None:
                bad(name, detail)
            return parsed

        prefecture_code = read(layout.META_PREFECTURE, layout.parse_prefecture_code, _PREFECTURE_RULE)
        fiscal_year = read(layout.META_FISCAL_YEAR, layout.parse_fiscal_year, _FISCAL_YEAR_RULE)
        version = read(layout.META_CATALOG_VERSION, layout.parse_catalog_version, _VERSION_RULE)
        survey = read(layout.META_SURVEY_ID, layout.parse_survey_id, _SURVEY_ID_RULE)
        survey_id: str | None = None
        if survey is not None:
            # The survey id carries all three; fill whichever separate key is missing.
            survey_id = "-".join(map(str, survey))
            if layout.META_PREFECTURE not in meta:
                prefecture_code = survey[0]
            if layout.META_FISCAL_YEAR not in meta:
                fiscal_year = survey[1]
            if layout.META_CATALOG_VERSION not in meta:
                version = survey[2]
        elif layout.META_SURVEY_ID not in meta and prefecture_code and fiscal_year and version:
            survey_id = f"{prefecture_code}-{fiscal_year}-{version}"
        return prefecture_code, fiscal_year, version, survey_id, valid

    def _check_municipality(
        self, cover: RawSheet, values: dict[str, object], cells: dict[str, str], meta: dict[str, str]
    ) -> str | None:
        """The cover's municipality code when valid and known (issues raised otherwise)."""
        ctx, issues = self.ctx, self.issues
        raw = values.get(layout.META_MUNICIPALITY_CODE)
        if cell_text(raw) is None:
            raw = meta.get(layout.META_MUNICIPALITY_CODE)  # a key carrying the code, if any
        cell = cells.get(layout.META_MUNICIPALITY_CODE)
        if cell_text(raw) is None:
            issues.add("MUNICIPALITY_CODE_INVALID", sheet=cover.title, cell=cell, detail="記入がありません")
            return None
        try:
            code = normalize_code(raw)
        except MunicipalityCodeError as exc:
            issues.add("MUNICIPALITY_CODE_INVALID", sheet=cover.title, cell=cell, value=raw, detail=str(exc))
            return None
        muni = ctx.municipalities.get(code)
        if muni is None:
            issues.add("MUNICIPALITY_UNKNOWN", sheet=cover.title, cell=cell, value=raw)
            return None
        if not in_survey_area(muni, ctx.catalog.prefecture_code):
            issues.add(
                "MUNICIPALITY_OTHER_PREFECTURE",
                sheet=cover.title,
                cell=cell,
                value=raw,
                detail=f"{muni.prefecture_name}{muni.name}",
            )
        name = compact_text(values.get(layout.META_MUNICIPALITY_NAME))
        if name and not self._name_matches(name, muni):
            issues.add(
                "MUNICIPALITY_NAME_MISMATCH",
                sheet=cover.title,
                cell=cells.get(layout.META_MUNICIPALITY_NAME),
                value=values.get(layout.META_MUNICIPALITY_NAME),
                detail=f"コード {code} は {muni.prefecture_name}{muni.name}",
            )
        return code

    @staticmethod
    def _name_matches(written: str, muni: Municipality) -> bool:
        """川越市, 埼玉県川越市, 入間郡三芳町, 埼玉県入間郡三芳町 all name 三芳町/川越市."""
        expected = compact_text(muni.name)
        rest = written.removeprefix(compact_text(muni.prefecture_name))
        if rest == expected:
            return True
        return rest.endswith(expected) and bool(_GUN_RE.fullmatch(rest[: -len(expected)]))
