"""The municipality master (data/municipalities.csv, data/prefectures.csv) and code normalisation."""

from __future__ import annotations

from collections import Counter

import pytest

from kokuho.municipalities import (
    MunicipalityCodeError,
    all_municipalities,
    all_prefectures,
    check_digit,
    lookup,
    municipalities_of,
    normalize_code,
    prefecture,
)


def test_japan_has_1741_municipalities() -> None:
    assert len(all_municipalities()) == 1741


def test_codes_are_unique_six_digits() -> None:
    codes = [m.code for m in all_municipalities()]
    assert len(set(codes)) == len(codes)
    assert all(len(c) == 6 and c.isascii() and c.isdigit() for c in codes)


def test_every_check_digit_is_valid() -> None:
    wrong = [m.code for m in all_municipalities() if int(m.code[5]) != check_digit(m.code[:5])]
    assert wrong == []


@pytest.mark.parametrize(
    ("prefecture_code", "count"),
    [("11", 63), ("33", 27), ("20", 77), ("01", 179), ("13", 62)],
    ids=["saitama", "okayama", "nagano", "hokkaido", "tokyo"],
)
def test_municipalities_per_prefecture(prefecture_code: str, count: int) -> None:
    munis = municipalities_of(prefecture_code)
    assert len(munis) == count
    assert all(m.prefecture_code == prefecture_code for m in munis)
    assert [m.code for m in munis] == sorted(m.code for m in munis)


def test_tokyo_has_the_23_special_wards() -> None:
    wards = [m for m in all_municipalities() if m.kind == "区"]
    assert len(wards) == 23
    assert {m.prefecture_code for m in wards} == {"13"}
    assert {"千代田区", "世田谷区", "江戸川区"} <= {m.name for m in wards}


def test_kinds_match_the_national_totals() -> None:
    kinds = Counter(m.kind for m in all_municipalities())
    assert kinds == {"市": 792, "町": 743, "村": 183, "区": 23}


def test_every_row_is_complete() -> None:
    prefectures = {p.code: p.name for p in all_prefectures()}
    for m in all_municipalities():
        assert m.name and m.kana, m
        assert m.code[:2] == m.prefecture_code, m
        assert prefectures[m.prefecture_code] == m.prefecture_name, m


def test_47_prefectures() -> None:
    prefs = all_prefectures()
    assert len(prefs) == 47
    assert [p.code for p in prefs] == [f"{n:02d}" for n in range(1, 48)]
    assert all(int(p.lg_code[5]) == check_digit(p.lg_code[:5]) for p in prefs)
    assert prefecture("11").name == "埼玉県"
    assert prefecture(33).name == "岡山県"


def test_every_prefecture_has_municipalities() -> None:
    counts = Counter(m.prefecture_code for m in all_municipalities())
    assert set(counts) == {p.code for p in all_prefectures()}


@pytest.mark.parametrize(
    ("first_five", "expected"),
    [("11100", 7), ("11201", 1), ("11207", 1), ("11369", 7), ("01100", 2)],
)
def test_check_digit(first_five: str, expected: int) -> None:
    assert check_digit(first_five) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("111007", "111007"),
        ("11100", "111007"),
        ("１１１００７", "111007"),
        (" 111007\n", "111007"),
        ("\u3000111007\u3000", "111007"),
        (111007, "111007"),
        (111007.0, "111007"),
        (11002, "011002"),  # 札幌市: the int lost its leading zero
        (12025, "012025"),  # 函館市
        ("011002", "011002"),
        ("01100", "011002"),
        ("113697", "113697"),
    ],
    ids=repr,
)
def test_normalize_code_accepts(value: object, expected: str) -> None:
    assert normalize_code(value) == expected


def test_normalize_code_names_the_right_check_digit() -> None:
    with pytest.raises(MunicipalityCodeError, match="111007") as info:
        normalize_code("111008")
    assert "111008" in str(info.value)


@pytest.mark.parametrize(
    "value",
    ["111008", "１１１００８", 111008, "abc", "", "1234", "1234567", 111007.5, True, None, "11100a"],
    ids=repr,
)
def test_normalize_code_rejects(value: object) -> None:
    with pytest.raises(MunicipalityCodeError):
        normalize_code(value)


@pytest.mark.parametrize(
    ("value", "name", "kind"),
    [
        ("111007", "さいたま市", "市"),
        (11201, "川越市", "市"),
        ("112071", "秩父市", "市"),
        ("１１３６９７", "東秩父村", "村"),
        (11002, "札幌市", "市"),
        ("13101", "千代田区", "区"),
        ("331007", "岡山市", "市"),
    ],
    ids=repr,
)
def test_lookup(value: object, name: str, kind: str) -> None:
    found = lookup(value)
    assert (found.name, found.kind) == (name, kind)


def test_lookup_of_a_valid_but_unused_code_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="999997"):
        lookup("99999")


@pytest.mark.parametrize("survey_prefecture", ["11", "33", "13", "00"])
def test_survey_area_agrees_with_its_sql_twin(survey_prefecture: str) -> None:
    """kokuho.municipalities.in_survey_area and the warehouse macro decide the same for everyone."""
    import duckdb

    from kokuho.municipalities import in_survey_area
    from load.sql_files import sql

    con = duckdb.connect()
    con.execute(sql("macros/in_survey_area"))
    everyone = all_municipalities()
    in_sql = {
        code
        for (code,) in con.execute(
            "SELECT code FROM (SELECT unnest($codes) AS code, unnest($prefs) AS pref) "
            "WHERE in_survey_area(pref, $survey)",
            {
                "codes": [m.code for m in everyone],
                "prefs": [m.prefecture_code for m in everyone],
                "survey": survey_prefecture,
            },
        ).fetchall()
    }
    in_python = {m.code for m in everyone if in_survey_area(m, survey_prefecture)}
    assert in_sql == in_python
    assert len(in_python) == {"11": 63, "33": 27, "13": 62, "00": 1741}[survey_prefecture]
