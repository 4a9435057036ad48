"""The municipality master (全国地方公共団体コード, JIS X 0402) and code normalisation."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from kokuho.config import data_dir


class MunicipalityCodeError(ValueError):
    """A value that is not a valid 全国地方公共団体コード."""


@dataclass(frozen=True)
class Municipality:
    code: str  # 6 digits, check digit included
    prefecture_code: str  # 2 digits
    prefecture_name: str
    name: str
    kana: str
    kind: str  # 市 / 町 / 村 / 区


@dataclass(frozen=True)
class Prefecture:
    code: str  # 2 digits
    lg_code: str  # 6 digits
    name: str
    kana: str


def check_digit(first_five: str) -> int:
    """Check digit of a 5-digit code: (11 - (6,5,4,3,2 weighted sum mod 11)) mod 10."""
    digits = [int(c) for c in first_five]
    remainder = sum(w * d for w, d in zip((6, 5, 4, 3, 2), digits, strict=True)) % 11
    return (11 - remainder) % 10


def normalize_code(value: object) -> str:
    """Return the 6-digit code for 111007, "11100", "１１１００７", " 111007\\n" and the like.

    A 5-digit code gets its check digit; a 6-digit code with a wrong check digit is rejected.
    """
    if isinstance(value, bool) or value is None:
        raise MunicipalityCodeError(f"市町村コードがありません: {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise MunicipalityCodeError(f"市町村コードが整数ではありません: {value!r}")
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    text = "".join(ch for ch in text if not ch.isspace() and ch not in "\u200b\ufeff-")
    if not text.isdigit() or not text.isascii():
        raise MunicipalityCodeError(f"市町村コードは数字5桁または6桁で記入してください: {value!r}")
    if isinstance(value, int) and len(text) == 5:
        # An int loses a leading zero (北海道 011002 -> 11002); read it so only when the 5-digit
        # reading (11100 -> 111007) names no municipality and the zero-padded one does.
        known = by_code()
        with_check = text + str(check_digit(text))
        padded = text.zfill(6)
        if with_check not in known and padded in known:
            return padded
    if len(text) == 5:
        return text + str(check_digit(text))
    if len(text) == 6:
        if not _valid_six(text):
            expected = text[:5] + str(check_digit(text[:5]))
            raise MunicipalityCodeError(
                f"市町村コード {text} の検査数字が正しくありません（正しくは {expected}）"
            )
        return text
    raise MunicipalityCodeError(f"市町村コードは数字5桁または6桁で記入してください: {value!r}")


def _valid_six(text: str) -> bool:
    return int(text[5]) == check_digit(text[:5])


@lru_cache(maxsize=4)
def _load(path: Path) -> tuple[Municipality, ...]:
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(Municipality(**row) for row in csv.DictReader(handle))


def all_municipalities(path: Path | None = None) -> tuple[Municipality, ...]:
    """All 1,741 municipalities of Japan (Tokyo's 23 special wards included)."""
    return _load(path or data_dir() / "municipalities.csv")


@lru_cache(maxsize=4)
def _prefectures(path: Path) -> tuple[Prefecture, ...]:
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(
            Prefecture(code=r["prefecture_code"], lg_code=r["lg_code"], name=r["name"], kana=r["kana"])
            for r in csv.DictReader(handle)
        )


def all_prefectures() -> tuple[Prefecture, ...]:
    return _prefectures(data_dir() / "prefectures.csv")


# A nationwide survey (e.g. the benchmark's 1,741 workbooks) uses the pseudo-prefecture "00".
NATIONAL = Prefecture(code="00", lg_code="000000", name="全国", kana="ゼンコク")


def prefecture(code: str | int) -> Prefecture:
    key = str(code).zfill(2)
    if key == NATIONAL.code:
        return NATIONAL
    for pref in all_prefectures():
        if pref.code == key:
            return pref
    raise KeyError(f"都道府県コード {code!r} は存在しません")


def in_survey_area(municipality: Municipality, prefecture_code: str) -> bool:
    """Whether a municipality is surveyed by a survey of this prefecture (every one for "00").
    The warehouse's SQL twin is the macro in load/sql/macros/in_survey_area.sql."""
    return str(prefecture_code).zfill(2) in (municipality.prefecture_code, NATIONAL.code)


def municipalities_of(prefecture_code: str) -> list[Municipality]:
    """The municipalities a survey of this prefecture covers, in code order."""
    return sorted(
        (m for m in all_municipalities() if in_survey_area(m, prefecture_code)), key=lambda m: m.code
    )


def by_code() -> Mapping[str, Municipality]:
    """Every municipality by its code; built once per process (a run asks per file)."""
    return _by_code(data_dir())


@lru_cache(maxsize=4)
def _by_code(directory: Path) -> Mapping[str, Municipality]:
    return MappingProxyType({m.code: m for m in all_municipalities(directory / "municipalities.csv")})


def lookup(value: object) -> Municipality:
    """The municipality for a code in any accepted spelling; KeyError when no such municipality."""
    code = normalize_code(value)
    found = by_code().get(code)
    if found is None:
        raise KeyError(f"市町村コード {code} に該当する市町村はありません")
    return found
