"""The demo generator: accepted files reproduce seed 001 (data/demo/11_2024_published.yaml) exactly.

The files are read here independently of extract/: python-calamine values, rows found by the keys in
column A, answers mapped with the shared YES/NO symbol sets after NFKC and whitespace removal.
"""

from __future__ import annotations

import itertools
import os
import random
import unicodedata
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl.utils import column_index_from_string
from python_calamine import CalamineWorkbook

from demo.data import (
    MANIFEST_NAME,
    ZERO_WIDTH,
    DemoFile,
    DemoManifest,
    budget_frequencies,
    generate_demo_inbox,
    load_published,
    weighted_sample,
)
from kokuho import layout
from kokuho.codelists import NO_SYMBOLS, YES_SYMBOLS
from kokuho.municipalities import municipalities_of

SEED = 2024
NONE_BUDGET = {"", "—", "－", "-"}


@pytest.fixture(scope="module")
def demo(demo_inbox: DemoManifest) -> DemoManifest:
    assert demo_inbox.seed == SEED
    return demo_inbox


@pytest.fixture(scope="module")
def published():
    return load_published("11", 2024)


def _norm(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    return "".join(ch for ch in text if not ch.isspace() and ch not in ZERO_WIDTH)


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = "".join(ch for ch in str(value) if ch not in ZERO_WIDTH).strip()
    return None if text in NONE_BUDGET else text


def _cell(row: list[Any], column: str) -> Any:
    index = column_index_from_string(column) - 1
    value = row[index] if index < len(row) else None
    return None if value == "" else value


def read_returned(path: Path) -> dict[str, Any]:
    """Answers of one returned workbook, by keys: never by sheet title or row position."""
    sec = layout.SECTION_COLUMNS
    book = CalamineWorkbook.from_path(str(path))
    result: dict[str, Any] = {
        "answers": {},
        "raw_answers": {},
        "budget": {},
        "own": [],
        "targets": {},
        "meta": {},
    }
    for title in book.sheet_names:
        rows = book.get_sheet_by_name(title).to_python()
        sheet_key = _cell(rows[0], "A") if rows else None
        own_table = None  # table of the last own-initiative block seen: inserted rows belong to it
        for row in rows:
            key = _cell(row, "A")
            if sheet_key == layout.SHEET_COVER and isinstance(key, str):
                if key.startswith("meta:") and "=" in key:
                    name, value = key.split("=", 1)
                    result["meta"][name] = value
                elif key in (layout.META_MUNICIPALITY_CODE, layout.META_MUNICIPALITY_NAME):
                    result["meta"][key] = _cell(row, layout.COVER_VALUE_COLUMN)
            elif (
                sheet_key == layout.SHEET_TARGETS
                and isinstance(key, str)
                and key.startswith(layout.TARGET_PREFIX)
            ):
                result["targets"][key] = _cell(row, layout.TARGET_COLUMNS["value"])
            elif isinstance(sheet_key, str) and sheet_key.startswith(layout.SHEET_SECTION_PREFIX):
                if isinstance(key, str) and key.startswith(layout.MEASURE_PREFIX):
                    own_table = None
                    measure_id = key[len(layout.MEASURE_PREFIX) :]
                    raw = _cell(row, sec["answer"])
                    result["raw_answers"][measure_id] = raw
                    result["answers"][measure_id] = _norm(raw)
                    result["budget"][measure_id] = _clean(_cell(row, sec["budget_line"]))
                elif isinstance(key, str) and (own_key := layout.parse_own_key(key)):
                    own_table = own_key[0]
                elif key is not None:
                    own_table = None
                    continue
                if own_table is not None:
                    text = _clean(_cell(row, sec["label"]))
                    if text:
                        result["own"].append((own_table, text, _clean(_cell(row, sec["budget_line"]))))
    return result


@pytest.fixture(scope="module")
def accepted_2024(demo: DemoManifest) -> dict[str, dict[str, Any]]:
    inbox = Path(demo.inbox)
    return {_code(f): read_returned(inbox / f.path) for f in demo.files_for(2024, "accepted")}


def _code(file: DemoFile) -> str:
    """The municipality code of a file the demo meant for one (every accepted file is)."""
    assert file.municipality_code is not None, file.path
    return file.municipality_code


def _counts(files: dict[str, dict[str, Any]]) -> Counter[str]:
    return Counter(
        mid for f in files.values() for mid, answer in f["answers"].items() if answer in YES_SYMBOLS
    )


def test_one_accepted_file_per_municipality(demo: DemoManifest) -> None:
    codes = [m.code for m in municipalities_of("11")]
    for year in (2023, 2024):
        accepted = [_code(f) for f in demo.files_for(year, "accepted")]
        assert sorted(accepted) == codes
        assert all((Path(demo.inbox) / f.path).is_file() for f in demo.files_for(year))


def test_every_answer_cell_is_a_known_symbol(accepted_2024: dict[str, dict[str, Any]]) -> None:
    unknown = {
        (code, mid, raw)
        for code, f in accepted_2024.items()
        for mid, raw in f["raw_answers"].items()
        if f["answers"][mid] not in YES_SYMBOLS | NO_SYMBOLS
    }
    assert unknown == set()


def test_all_150_counts_equal_the_published_ones(accepted_2024, published) -> None:
    counts = _counts(accepted_2024)
    assert len(published.counts) == 150
    assert {mid: counts.get(mid, 0) for mid in published.counts} == published.counts


def test_budget_lines_are_the_published_ones_most_frequent_first(accepted_2024, published) -> None:
    for measure_id, lines in published.budget_lines.items():
        given = Counter(
            f["budget"][measure_id] for f in accepted_2024.values() if f["budget"].get(measure_id)
        )
        order = [line for line, _ in given.most_common()]
        frequencies = [given[line] for line in order]
        assert tuple(order) == lines, measure_id
        assert all(a > b for a, b in itertools.pairwise(frequencies)), (measure_id, frequencies)


def test_budget_lines_only_from_implementing_municipalities(accepted_2024) -> None:
    offenders = [
        (code, mid)
        for code, f in accepted_2024.items()
        for mid, line in f["budget"].items()
        if line and f["answers"][mid] not in YES_SYMBOLS
    ]
    assert offenders == []


def test_own_initiatives_are_the_published_43(accepted_2024, published, demo: DemoManifest) -> None:
    found = sorted(row for f in accepted_2024.values() for row in f["own"])
    expected = sorted((o.table_id, o.text, o.budget_line) for o in published.own_initiatives)
    assert len(expected) == 43
    assert found == expected
    authors = {(o["table_id"], o["text"]): o["municipality_code"] for o in demo.years[2024].own_initiatives}
    for code, f in accepted_2024.items():
        for table_id, text, _ in f["own"]:
            assert authors[(table_id, text)] == code


def test_targets_present_in_real_formats(accepted_2024) -> None:
    keys = {
        layout.target_key(t, 2024 + off)
        for t in ("collection_rate_current", "collection_rate_arrears")
        for off in range(4)
    }
    keys |= {
        layout.target_key(t, 2024)
        for t in ("specific_health_checkup_rate", "specific_health_guidance_rate", "generic_drug_share")
    }
    keys |= {layout.target_key("collection_rate_result", year) for year in (2022, 2023)}  # results
    raws = []
    for f in accepted_2024.values():
        assert set(f["targets"]) == keys
        raws += [v for v in f["targets"].values() if v is not None]
    texts = {v for v in raws if isinstance(v, str)}
    for needle in ("【未設定】", "-", "前年度以上", "前年度収納率を上回る"):
        assert needle in texts
    assert any(t.endswith("％以上") for t in texts)
    assert any(t.endswith("%") and not t.endswith("％") for t in texts)
    assert any("．" in t for t in texts)  # ９５．０％
    assert any(isinstance(v, float) and v < 1 for v in raws)  # 0.955 shown as 95.50%
    assert any(isinstance(v, float) and v > 1 for v in raws)


def test_ratio_targets_carry_a_percent_format(demo: DemoManifest) -> None:
    import openpyxl

    record = next(
        f for f in demo.files_for(2024, "accepted") if any(t["number_format"] for t in f.targets.values())
    )
    key = next(k for k, t in record.targets.items() if t["number_format"])
    wb = openpyxl.load_workbook(Path(demo.inbox) / record.path)
    ws = next(ws for ws in wb.worksheets if ws["A1"].value == layout.SHEET_TARGETS)
    row = next(r for r in range(1, ws.max_row + 1) if ws[f"A{r}"].value == key)
    assert ws[f"D{row}"].number_format == "0.00%"
    assert ws[f"D{row}"].value < 1


def test_answers_written_the_ways_municipalities_write(accepted_2024) -> None:
    raws = [raw for f in accepted_2024.values() for raw in f["raw_answers"].values()]
    stripped = {str(r).strip().strip(ZERO_WIDTH) for r in raws if r is not None}
    for symbol in (
        "○",
        "〇",
        "◯",
        "●",
        "✓",
        "はい",
        "有",
        "実施",
        "予定",
        "１",
        "×",
        "✕",
        "無",
        "いいえ",
        "－",
        "-",
    ):
        assert symbol in stripped, symbol
    assert any(isinstance(r, int | float) and r == 1 for r in raws)
    assert any(isinstance(r, int | float) and r == 0 for r in raws)
    assert None in raws
    texts = [r for r in raws if isinstance(r, str)]
    assert any("\u200b" in t for t in texts)
    assert any("\n" in t for t in texts)
    assert any(t != t.strip() for t in texts)


def test_layout_alterations_present(demo: DemoManifest) -> None:
    inbox = Path(demo.inbox)
    quirks = {q.split(":")[0] for f in demo.files_for(2024, "accepted") for q in f.quirks}
    for quirk in (
        "renamed_file",
        "fullwidth_code_in_file_name",
        "renamed_sheet",
        "swapped_rows",
        "inserted_blank_row_after",
        "inserted_own_row_after",
        "edited_label",
        "rows_above_table",
        "mixed_symbols",
    ):
        assert quirk in quirks, quirk
    names = {Path(f.path).name for f in demo.files_for(2024)}
    assert "【川越市】国保調査回答.xlsx" in names
    assert "１１２２４１_戸田市_2024_国保取組状況調査票.xlsx" in names
    renamed = next(
        f for f in demo.files_for(2024, "accepted") if any(q.startswith("renamed_sheet") for q in f.quirks)
    )
    titles = CalamineWorkbook.from_path(str(inbox / renamed.path)).sheet_names
    assert "1 保険税関係" not in titles


def test_special_files_and_expected_outcomes(demo: DemoManifest) -> None:
    inbox = Path(demo.inbox)
    special = {(f.expected, f.issue_code) for f in demo.files_for(2024) if f.expected != "accepted"}
    assert special == {
        ("quarantined", "UNKNOWN_ANSWER"),
        ("superseded", None),
        ("quarantined", "NOT_WORKBOOK"),
        ("quarantined", "EMPTY_FILE"),
        ("quarantined", "SHEET_TOO_LARGE"),
        ("quarantined", "WRONG_SURVEY"),
        ("quarantined", "MUNICIPALITY_OTHER_PREFECTURE"),
    }
    for f in demo.files:
        stamp = os.stat(inbox / f.path).st_mtime
        assert stamp == datetime.fromisoformat(f.received_at).timestamp()
    accepted = {f.municipality_code: f for f in demo.files_for(2024, "accepted")}
    for f in demo.files_for(2024):
        if f.expected != "accepted" and f.municipality_code in accepted:
            # An earlier attempt of a Saitama municipality always precedes its accepted file.
            assert f.received_at < accepted[f.municipality_code].received_at
    draft = next(f for f in demo.files if f.issue_code == "WRONG_SURVEY")
    meta = read_returned(inbox / draft.path)["meta"]
    assert meta["meta:catalog_version"] != "2024.1" and meta["meta:fiscal_year"] == "2024"
    other = next(f for f in demo.files if f.issue_code == "MUNICIPALITY_OTHER_PREFECTURE")
    assert read_returned(inbox / other.path)["meta"][layout.META_MUNICIPALITY_CODE].startswith("33")
    empty = next(f for f in demo.files if f.issue_code == "EMPTY_FILE")
    assert (inbox / empty.path).stat().st_size == 0
    csv = next(f for f in demo.files if f.issue_code == "NOT_WORKBOOK")
    assert not (inbox / csv.path).read_bytes().startswith(b"PK")
    unknown = next(f for f in demo.files if f.issue_code == "UNKNOWN_ANSWER")
    answers = read_returned(inbox / unknown.path)["answers"]
    assert [a for a in answers.values() if a not in YES_SYMBOLS | NO_SYMBOLS] == ["△"]


def test_superseded_file_differs_from_its_replacement(demo: DemoManifest) -> None:
    inbox = Path(demo.inbox)
    old = next(f for f in demo.files if f.expected == "superseded")
    new = next(f for f in demo.files if f.path == old.superseded_by)
    assert new.expected == "accepted" and new.municipality_code == old.municipality_code
    a, b = read_returned(inbox / old.path), read_returned(inbox / new.path)
    differing = sorted(
        m
        for m in a["answers"]
        if (a["answers"][m] in YES_SYMBOLS) != (b["answers"][m] in YES_SYMBOLS)
        or a["budget"][m] != b["budget"][m]
    )
    assert differing == old.changed_measures and differing


def test_far_cell_file_has_the_huge_dimension(demo: DemoManifest) -> None:
    import zipfile

    far = next(f for f in demo.files if f.issue_code == "SHEET_TOO_LARGE")
    with zipfile.ZipFile(Path(demo.inbox) / far.path) as z:
        sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert any(b"XFD1048576" in s for s in sheets)


def test_fy2023_counts_match_manifest_and_move_against_2024(demo: DemoManifest, published) -> None:
    inbox = Path(demo.inbox)
    files = {_code(f): read_returned(inbox / f.path) for f in demo.files_for(2023, "accepted")}
    expected = demo.years[2023].measure_counts
    counts = _counts(files)
    assert {mid: counts.get(mid, 0) for mid in expected} == expected
    assert all(f["meta"]["meta:fiscal_year"] == "2023" for f in files.values())
    assert set(published.counts) - set(expected)  # measures new in 2024
    common = set(expected) & set(published.counts)
    assert any(published.counts[m] > expected[m] for m in common)
    assert any(published.counts[m] < expected[m] for m in common)
    assert all(abs(published.counts[m] - expected[m]) <= 3 for m in common)


def test_manifest_file_round_trips(demo: DemoManifest) -> None:
    loaded = DemoManifest.load(Path(demo.inbox).parent / MANIFEST_NAME)  # moved out of the inbox (conftest)
    assert loaded.files == demo.files
    assert loaded.years == demo.years
    assert loaded.years[2024].measure_counts == load_published("11", 2024).counts


def test_same_seed_gives_byte_identical_files(demo: DemoManifest, tmp_path: Path) -> None:
    again = generate_demo_inbox(tmp_path / "inbox", fiscal_years=(2024,), seed=SEED)
    first = {f.path: (Path(demo.inbox) / f.path).read_bytes() for f in demo.files_for(2024)}
    second = {f.path: (tmp_path / "inbox" / f.path).read_bytes() for f in again.files}
    assert first.keys() == second.keys()
    assert [p for p in first if first[p] != second[p]] == []
    assert [f.received_at for f in again.files] == [f.received_at for f in demo.files_for(2024)]


def test_existing_inbox_is_not_overwritten_silently(demo: DemoManifest) -> None:
    with pytest.raises(FileExistsError):
        generate_demo_inbox(Path(demo.inbox), seed=SEED)


@pytest.mark.parametrize("lines", [1, 2, 3])
@pytest.mark.parametrize("implementing", [6, 7, 14, 40, 63])
def test_budget_frequencies_strictly_decrease_and_fit(lines: int, implementing: int) -> None:
    for trial in range(20):
        freqs = budget_frequencies(lines, implementing, random.Random(trial))
        assert len(freqs) == lines
        assert all(a > b for a, b in itertools.pairwise(freqs))
        assert freqs[-1] >= 1 and sum(freqs) <= implementing


def test_budget_frequencies_refuse_impossible() -> None:
    with pytest.raises(ValueError):
        budget_frequencies(3, 5, random.Random(0))


def test_weighted_sample_is_deterministic_and_exact() -> None:
    munis = municipalities_of("11")
    weights = {m.code: 1.0 for m in munis}
    a = weighted_sample(munis, 20, random.Random("x"), weights)
    b = weighted_sample(munis, 20, random.Random("x"), weights)
    assert a == b and len({m.code for m in a}) == 20
    assert weighted_sample(munis, 63, random.Random(1), weights) == munis


@pytest.mark.parametrize("seed", [1, 7])
def test_other_seeds_add_up_too(seed: int, published) -> None:
    from demo.data import plan_years

    plans = plan_years("11", (2023, 2024), seed)
    counts = Counter(mid for a in plans[2024].answers.values() for mid in a.implemented)
    assert {mid: counts.get(mid, 0) for mid in published.counts} == published.counts
    reference = plan_years("11", (2024,), SEED)[2024]
    assert any(
        plans[2024].answers[c].implemented != reference.answers[c].implemented for c in reference.answers
    )


def test_bigger_cities_implement_more(demo: DemoManifest) -> None:
    yes = {_code(f): len(f.yes_measures) for f in demo.files_for(2024, "accepted")}
    towns = [n for code, n in yes.items() if code.startswith(("113", "114"))]
    cities = [n for code, n in yes.items() if code.startswith("112")]
    assert yes["111007"] > sum(cities) / len(cities) > sum(towns) / len(towns)
