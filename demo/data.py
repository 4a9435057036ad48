"""Deterministic demo data: returned survey workbooks filled the way municipalities fill them.

`generate_demo_inbox` writes, for each fiscal year, one accepted workbook per municipality of the
prefecture such that the accepted files reproduce the published table (data/demo/{pref}_{year}
_published.yaml) exactly: per measure the number of municipalities answering yes and the budget
line names, most frequent first. The newest year also gets the files a real inbox holds (a first
submission with an unknown symbol re-sent later, a superseded version, a CSV renamed .xlsx, an
empty file, a sheet with a cell at XFD1048576, a draft-version template, a cover changed to
another prefecture's municipality) and layout alterations (renamed file and sheet, swapped rows,
inserted rows, an edited label); none of them may change the counts. The manifest
(inbox/manifest.json) says what the pipeline must make of every file.

Years without a published file (FY2023 here) are derived from the next year's plan: counts move by
a small delta so that year-over-year markers show.

Everything is drawn from `random.Random` instances seeded from (seed, purpose), and workbook
properties and zip timestamps are fixed, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import random
import re
import shutil
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from demo.workbook import Entry, Formatted, fill, row_index, sheet_by_key
from kokuho import layout
from kokuho.catalog import Catalog, load_catalog_for
from kokuho.codelists import (
    QUALIFIER_AT_LEAST,
    QUALIFIER_NOT_SET,
    QUALIFIER_PREVIOUS_YEAR_OR_MORE,
    STATUS_ACCEPTED,
    STATUS_QUARANTINED,
    STATUS_SUPERSEDED,
)
from kokuho.config import data_dir
from kokuho.municipalities import Municipality, municipalities_of

JST = timezone(timedelta(hours=9))
MANIFEST_NAME = "manifest.json"
# Fixed document properties and zip entry times: files depend on the seed only.
FIXED_DOC_TIME = datetime(2024, 4, 1, 9, 0, 0)
FIXED_ZIP_TIME = (2024, 4, 1, 9, 0, 0)
FIXED_AUTHOR = "kokuho demo"

# Characters municipalities leave in cells by accident; extraction must remove them.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"

# How municipalities write yes / no (before NFKC). Weights: ○ dominates, the rest occur.
YES_STYLES: tuple[tuple[Any, int], ...] = (
    ("○", 30),
    ("〇", 10),
    ("◯", 5),
    ("●", 3),
    ("✓", 2),
    (1, 3),
    ("1", 2),
    ("１", 2),
    ("はい", 2),
    ("有", 2),
    ("実施", 2),
    ("予定", 2),
)
NO_STYLES: tuple[tuple[Any, int], ...] = (
    (None, 30),
    ("×", 8),
    ("✕", 3),
    ("無", 2),
    ("いいえ", 2),
    ("－", 3),
    ("-", 3),
    (0, 2),
    ("0", 1),
)
# Municipality size class -> weight: bigger cities implement more measures.
DESIGNATED_CITIES = {"111007"}  # 政令指定都市
CORE_CITIES = {"112011", "112038", "112224"}  # 中核市: 川越, 川口, 越谷

MEASURE_NOTES_YES = (
    "令和6年10月から開始予定",
    "一部地区で実施",
    "委託により実施",
    "広域連合と共同で実施",
    "年2回実施",
    "前年度から継続",
)
MEASURE_NOTES_NO = ("検討中", "次年度以降に検討", "対象者なし")
TARGET_NOTES = (
    "第3期データヘルス計画の目標値",
    "前年度実績を踏まえて設定",
    "令和7年度以降は未定",
    "県の標準的な収納率を参考",
    "財政健全化計画に基づく",
)
DEPARTMENTS = ("国保年金課", "保険年金課", "国民健康保険課", "健康保険課", "住民課", "町民課", "税務課")
PERSONS = ("山田 太郎", "佐藤 花子", "鈴木 一郎", "高橋 美咲", "田中 健", "伊藤 由紀", "渡辺 誠", "中村 彩")


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


@dataclass
class DemoFile:
    """One file written into the inbox and what the pipeline must make of it."""

    path: str  # relative to the inbox, POSIX separators
    municipality_code: str | None
    fiscal_year: int
    expected: str  # 'accepted' | 'superseded' | 'quarantined'
    issue_code: str | None = None  # for quarantined files
    received_at: str = ""  # ISO 8601 with +09:00; also the file's mtime
    description: str = ""
    quirks: list[str] = field(default_factory=list)
    # What an accepted / superseded file says (measure IDs answered yes), and for a superseded
    # file the measures whose answer or budget line the later file changes.
    yes_measures: list[str] = field(default_factory=list)
    changed_measures: list[str] = field(default_factory=list)
    superseded_by: str | None = None
    # Numeric targets as written: "target:<id>:<year>" -> {"raw", "number_format", "value", "qualifier"}
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class DemoYear:
    """What the accepted files of one fiscal year add up to."""

    fiscal_year: int
    survey_id: str
    municipality_total: int
    measure_counts: dict[str, int]
    budget_lines: dict[str, list[str]]  # most frequent first
    budget_line_frequencies: dict[str, list[int]]  # same order, strictly decreasing
    own_initiatives: list[dict[str, Any]]  # table_id, text, budget_line, municipality_code


@dataclass
class DemoManifest:
    inbox: str
    prefecture_code: str
    seed: int
    layout: str  # "inbox/<fiscal_year>/<file>"
    years: dict[int, DemoYear]
    files: list[DemoFile]
    timings: dict[str, float] = field(default_factory=dict)

    def files_for(self, fiscal_year: int, expected: str | None = None) -> list[DemoFile]:
        return [
            f
            for f in self.files
            if f.fiscal_year == fiscal_year and (expected is None or f.expected == expected)
        ]

    def to_json(self) -> str:
        data = asdict(self)
        data["years"] = {str(k): v for k, v in data["years"].items()}
        return json.dumps(data, ensure_ascii=False, indent=1)

    def write(self, path: Path) -> Path:
        path.write_text(self.to_json() + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> DemoManifest:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        years = {int(k): DemoYear(**v) for k, v in data.pop("years").items()}
        files = [DemoFile(**f) for f in data.pop("files")]
        return cls(years=years, files=files, **data)


# --------------------------------------------------------------------------------------------
# The published table (what the accepted files must add up to)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedOwnInitiative:
    table_id: str
    text: str
    budget_line: str | None


@dataclass(frozen=True)
class PublishedTable:
    prefecture_code: str
    fiscal_year: int
    municipality_total: int
    counts: dict[str, int]
    budget_lines: dict[str, tuple[str, ...]]
    own_initiatives: tuple[PublishedOwnInitiative, ...]


def published_path(prefecture_code: str, fiscal_year: int) -> Path:
    return data_dir() / "demo" / f"{str(prefecture_code).zfill(2)}_{fiscal_year}_published.yaml"


def load_published(prefecture_code: str, fiscal_year: int) -> PublishedTable:
    raw = yaml.safe_load(published_path(prefecture_code, fiscal_year).read_text(encoding="utf-8"))
    return PublishedTable(
        prefecture_code=str(raw["prefecture_code"]).zfill(2),
        fiscal_year=int(raw["fiscal_year"]),
        municipality_total=int(raw["municipality_total"]),
        counts={m["measure_id"]: int(m["implementing_count"]) for m in raw["measures"]},
        budget_lines={m["measure_id"]: tuple(m.get("budget_lines") or ()) for m in raw["measures"]},
        own_initiatives=tuple(
            PublishedOwnInitiative(o["table_id"], o["text"], o.get("budget_line"))
            for o in raw["own_initiatives"]
        ),
    )


# --------------------------------------------------------------------------------------------
# Planning: who answers what (pure, no workbooks)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetAnswer:
    raw: str | float | None  # what goes into the cell
    number_format: str | None  # '0.00%' for 0.955 typed as a ratio
    value: float | None  # the percentage it means
    qualifier: str | None
    note: str | None = None


@dataclass
class OwnEntry:
    table_id: str
    text: str
    budget_line: str | None


@dataclass
class MunicipalityAnswers:
    code: str
    name: str
    implemented: set[str] = field(default_factory=set)
    budget_lines: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    own: list[OwnEntry] = field(default_factory=list)
    targets: dict[tuple[str, int], TargetAnswer] = field(default_factory=dict)


@dataclass
class YearPlan:
    catalog: Catalog
    municipalities: list[Municipality]
    answers: dict[str, MunicipalityAnswers]  # by municipality code
    counts: dict[str, int]
    budget_lines: dict[str, tuple[str, ...]]
    frequencies: dict[str, tuple[int, ...]]
    own_initiatives: list[tuple[PublishedOwnInitiative, str]]  # (row, author code)
    # The table where the "extra own row" municipality writes two initiatives (newest year only).
    extra_own_table: str | None = None


def seeded_rng(*parts: object) -> random.Random:
    """A generator seeded by `parts` (a seed and what it is for): the same parts, the same values.
    str seeds are hashed with SHA-512 by random, independent of PYTHONHASHSEED."""
    return random.Random(":".join(str(p) for p in parts))


def size_weight(municipality: Municipality) -> float:
    """A plausibility weight: designated and core cities implement more, villages less."""
    if municipality.code in DESIGNATED_CITIES:
        return 4.0
    if municipality.code in CORE_CITIES:
        return 3.0
    return {"市": 1.8, "区": 1.8, "町": 1.0, "村": 0.6}.get(municipality.kind, 1.0)


def weighted_sample(
    items: list[Municipality], k: int, rng: random.Random, weights: dict[str, float]
) -> list[Municipality]:
    """k distinct items, heavier ones more likely (Efraimidis-Spirakis keys u**(1/w))."""
    if not 0 <= k <= len(items):
        raise ValueError(f"cannot choose {k} of {len(items)}")
    keyed = sorted(items, key=lambda m: (rng.random() ** (1.0 / weights[m.code]), m.code), reverse=True)
    return sorted(keyed[:k], key=lambda m: m.code)


def budget_frequencies(line_count: int, implementing: int, rng: random.Random) -> tuple[int, ...]:
    """Strictly decreasing frequencies for `line_count` budget lines among `implementing`
    municipalities: line i gets at least line_count-i+1, so most-frequent-first keeps the order."""
    if line_count == 0:
        return ()
    minimum = line_count * (line_count + 1) // 2
    if minimum > implementing:
        raise ValueError(f"{line_count} budget lines need at least {minimum} implementing municipalities")
    budgeting = round(implementing * rng.uniform(0.2, 0.45))
    budgeting = max(minimum, min(implementing, budgeting))
    remaining = budgeting - minimum
    freqs = []
    for i in range(line_count):
        extra = remaining if i == line_count - 1 else math.ceil(remaining / 2)
        remaining -= extra
        freqs.append(line_count - i + extra)
    return tuple(freqs)


def _feasible_lines(lines: tuple[str, ...], implementing: int) -> tuple[str, ...]:
    """Keep as many lines as `implementing` municipalities can give with decreasing frequencies."""
    kept = list(lines)
    while kept and len(kept) * (len(kept) + 1) // 2 > implementing:
        kept.pop()
    return tuple(kept)


def plan_year(
    catalog: Catalog,
    municipalities: list[Municipality],
    counts: dict[str, int],
    budget_lines: dict[str, tuple[str, ...]],
    own_initiatives: tuple[PublishedOwnInitiative, ...],
    seed: int,
    *,
    previous: YearPlan | None = None,
) -> YearPlan:
    """Decide every municipality's answers so that they add up to `counts` and `budget_lines`.

    With `previous` (the plan of an adjacent year), a measure's implementers are that year's
    implementers with a few added or removed, as real municipalities change little year to year.
    """
    year = catalog.fiscal_year
    weights = {
        m.code: size_weight(m) * seeded_rng(seed, "size", m.code).uniform(0.8, 1.25) for m in municipalities
    }
    answers = {m.code: MunicipalityAnswers(m.code, m.name) for m in municipalities}
    frequencies: dict[str, tuple[int, ...]] = {}
    for measure in catalog.measures:
        count = counts[measure.id]
        rng = seeded_rng(seed, year, "measure", measure.id)
        before = previous.answers if previous is not None else None
        if before is not None and any(measure.id in a.implemented for a in before.values()):
            was = [m for m in municipalities if measure.id in before[m.code].implemented]
            others = [m for m in municipalities if measure.id not in before[m.code].implemented]
            if count <= len(was):
                chosen = weighted_sample(was, count, rng, weights)
            else:
                chosen = was + weighted_sample(others, count - len(was), rng, weights)
        else:
            chosen = weighted_sample(municipalities, count, rng, weights)
        for m in chosen:
            answers[m.code].implemented.add(measure.id)
        lines = budget_lines.get(measure.id, ())
        freqs = budget_frequencies(len(lines), count, rng)
        frequencies[measure.id] = freqs
        givers = weighted_sample(chosen, sum(freqs), rng, weights)
        rng.shuffle(givers)
        position = 0
        for line, freq in zip(lines, freqs, strict=True):
            for m in givers[position : position + freq]:
                answers[m.code].budget_lines[measure.id] = line
            position += freq
        # A few notes, on yes rows mostly; notes never change an answer.
        for m in municipalities:
            if rng.random() < 0.02:
                pool = MEASURE_NOTES_YES if measure.id in answers[m.code].implemented else MEASURE_NOTES_NO
                answers[m.code].notes[measure.id] = rng.choice(pool)

    own_rng = seeded_rng(seed, year, "own")
    authors: list[tuple[PublishedOwnInitiative, str]] = []
    earlier_authors = {(r.table_id, r.text): c for r, c in previous.own_initiatives} if previous else {}
    by_code = {m.code: m for m in municipalities}
    for row in own_initiatives:
        # The same initiative in an adjacent year comes from the same municipality.
        author = (
            by_code.get(earlier_authors.get((row.table_id, row.text), ""))
            or weighted_sample(municipalities, 1, own_rng, weights)[0]
        )
        answers[author.code].own.append(OwnEntry(row.table_id, row.text, row.budget_line))
        authors.append((row, author.code))

    for m in municipalities:
        answers[m.code].targets = plan_targets(catalog, m, seed)

    return YearPlan(
        catalog=catalog,
        municipalities=municipalities,
        answers=answers,
        counts={m.id: counts[m.id] for m in catalog.measures},
        budget_lines={m.id: tuple(budget_lines.get(m.id, ())) for m in catalog.measures},
        frequencies=frequencies,
        own_initiatives=authors,
    )


def derive_previous_counts(
    catalog: Catalog, later: PublishedTable, seed: int
) -> tuple[dict[str, int], dict[str, tuple[str, ...]]]:
    """Counts of the year before `later`: later's count minus a delta in -3..+2 (clipped to
    0..total), so some measures show 増 and some 減. Budget lines: later's, as many as fit."""
    rng = seeded_rng(seed, catalog.fiscal_year, "previous-counts")
    counts: dict[str, int] = {}
    lines: dict[str, tuple[str, ...]] = {}
    total = later.municipality_total
    for measure in catalog.measures:
        base = later.counts.get(measure.id)
        if base is None:  # dropped later: invent a plausible count
            base = rng.randint(5, total - 5)
        delta = rng.choices((-3, -2, -1, 0, 1, 2), weights=(1, 2, 3, 4, 4, 3))[0]
        count = max(0, min(total, base - delta))
        counts[measure.id] = count
        lines[measure.id] = _feasible_lines(later.budget_lines.get(measure.id, ()), count)
    return counts, lines


def previous_own_initiatives(
    catalog: Catalog, later: PublishedTable, seed: int
) -> tuple[PublishedOwnInitiative, ...]:
    """About two thirds of the later year's own initiatives already existed the year before."""
    rng = seeded_rng(seed, catalog.fiscal_year, "previous-own")
    tables = {t.table_id for t in catalog.tables}
    return tuple(o for o in later.own_initiatives if o.table_id in tables and rng.random() < 0.67)


# Numeric targets -----------------------------------------------------------------------------

_FULLWIDTH = str.maketrans("0123456789.%", "０１２３４５６７８９．％")


def _target_cell(value: float, style: str, rng: random.Random) -> TargetAnswer:
    """One target value written in a municipality's style."""
    if style == "number":
        return TargetAnswer(round(value, 1), None, round(value, 1), None)
    if style == "percent_text":
        return TargetAnswer(f"{value:.2f}%", None, round(value, 2), None)
    if style == "fullwidth":
        return TargetAnswer(f"{value:.1f}％".translate(_FULLWIDTH), None, round(value, 1), None)
    if style == "at_least":
        whole = float(math.floor(value))
        return TargetAnswer(f"{whole:.0f}％以上", None, whole, QUALIFIER_AT_LEAST)
    if style == "ratio":
        ratio = round(value / 100, 3)
        return TargetAnswer(ratio, "0.00%", round(ratio * 100, 1), None)
    if style == "previous_year":
        text = rng.choice(("前年度以上", "前年度収納率を上回る"))
        return TargetAnswer(text, None, None, QUALIFIER_PREVIOUS_YEAR_OR_MORE)
    raise ValueError(style)


TARGET_STYLES: tuple[tuple[str, int], ...] = (
    ("number", 8),
    ("percent_text", 4),
    ("fullwidth", 2),
    ("at_least", 2),
    ("ratio", 2),
    ("previous_year", 1),
)
TARGET_RANGES: dict[str, tuple[float, float, float]] = {
    # id: (low, high, yearly step) in percent
    "collection_rate_current": (92.0, 98.3, 0.2),
    "collection_rate_arrears": (18.0, 42.0, 1.0),
    "specific_health_checkup_rate": (38.0, 60.0, 1.0),
    "specific_health_guidance_rate": (25.0, 60.0, 1.0),
    "generic_drug_share": (80.0, 88.0, 0.5),
}


def plan_targets(
    catalog: Catalog, municipality: Municipality, seed: int
) -> dict[tuple[str, int], TargetAnswer]:
    rng = seeded_rng(seed, catalog.fiscal_year, "targets", municipality.code)
    styles, style_weights = zip(*TARGET_STYLES, strict=True)
    own_style = rng.choices(styles, weights=style_weights)[0]
    result: dict[tuple[str, int], TargetAnswer] = {}
    for item in catalog.numeric_targets:
        if item.id in RESULT_ITEMS:
            result.update(plan_results(catalog, item.id, municipality, seed))
            continue
        low, high, step = TARGET_RANGES.get(item.id, (50.0, 90.0, 1.0))
        start = rng.uniform(low, high)
        for index, year in enumerate(item.years(catalog.fiscal_year)):
            roll = rng.random()
            if index >= 2 and roll < 0.12:
                answer = TargetAnswer(rng.choice(("【未設定】", "-")), None, None, QUALIFIER_NOT_SET)
            elif roll < 0.03:
                answer = TargetAnswer("【未設定】", None, None, QUALIFIER_NOT_SET)
            else:
                style = own_style if rng.random() < 0.85 else rng.choices(styles, weights=style_weights)[0]
                answer = _target_cell(min(start + step * index, 100.0), style, rng)
            if rng.random() < 0.08:
                answer = TargetAnswer(
                    answer.raw, answer.number_format, answer.value, answer.qualifier, rng.choice(TARGET_NOTES)
                )
            result[(item.id, year)] = answer
    return result


# Numeric items that hold results of past years (indicators compare them with the targets of
# earlier surveys): written as plain numbers, sometimes as text with %, now and then left blank.
RESULT_ITEMS: dict[str, tuple[float, float]] = {"collection_rate_result": (92.0, 98.3)}


def plan_results(
    catalog: Catalog, item_id: str, municipality: Municipality, seed: int
) -> dict[tuple[str, int], TargetAnswer]:
    """One municipality's results of past years: around a level of its own, moving by up to ±1.5
    points a year (so that some rise, some fall and some meet their targets)."""
    rng = seeded_rng(seed, catalog.fiscal_year, "results", item_id, municipality.code)
    low, high = RESULT_ITEMS[item_id]
    item = next(t for t in catalog.numeric_targets if t.id == item_id)
    level = rng.uniform(low, high)
    answers: dict[tuple[str, int], TargetAnswer] = {}
    for year in item.years(catalog.fiscal_year):
        level = min(100.0, max(0.0, level + rng.uniform(-1.5, 1.5)))
        roll = rng.random()
        if roll < 0.05:
            answers[(item_id, year)] = TargetAnswer(None, None, None, None)
        elif roll < 0.2:
            answers[(item_id, year)] = TargetAnswer(f"{level:.1f}%", None, round(level, 1), None)
        else:
            answers[(item_id, year)] = TargetAnswer(round(level, 1), None, round(level, 1), None)
    return answers


# --------------------------------------------------------------------------------------------
# Writing cells the way municipalities do
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FillStyle:
    """One municipality's habits."""

    yes: Any
    no: Any
    mixed: bool  # picks a different symbol now and then
    noise: float  # probability of stray spaces / line breaks / zero-width spaces per cell


def fill_style(code: str, seed: int, fiscal_year: int) -> FillStyle:
    rng = seeded_rng(seed, fiscal_year, "style", code)
    yes_values, yes_weights = zip(*YES_STYLES, strict=True)
    no_values, no_weights = zip(*NO_STYLES, strict=True)
    return FillStyle(
        yes=rng.choices(yes_values, weights=yes_weights)[0],
        no=rng.choices(no_values, weights=no_weights)[0],
        mixed=rng.random() < 0.15,
        noise=rng.choice((0.0, 0.0, 0.02, 0.05, 0.1)),
    )


def _noisy(text: str, rng: random.Random) -> str:
    kind = rng.randrange(6)
    return (
        f" {text}",
        f"{text} ",
        f"{text}\n",
        f"\u200b{text}",
        f"{text}\u200b",
        f"　{text}　",  # full-width spaces
    )[kind]


def answer_value(implemented: bool, style: FillStyle, rng: random.Random) -> Any:
    """What goes into the 実施 cell."""
    if style.mixed and rng.random() < 0.2:
        pool = YES_STYLES if implemented else NO_STYLES
        value = rng.choices([v for v, _ in pool], weights=[w for _, w in pool])[0]
    else:
        value = style.yes if implemented else style.no
    if value is None:
        return " " if rng.random() < style.noise else None
    if isinstance(value, str) and rng.random() < style.noise:
        return _noisy(value, rng)
    return value


def text_value(text: str | None, style: FillStyle, rng: random.Random) -> str | None:
    """Free text with, now and then, stray whitespace at its edges (never inside)."""
    if text is None:
        return None
    return _noisy(text, rng) if rng.random() < style.noise else text


# --------------------------------------------------------------------------------------------
# Workbooks
# --------------------------------------------------------------------------------------------


def _contact(municipality: Municipality, rng: random.Random, style: FillStyle) -> dict[str, str]:
    phone = f"0{rng.choice((48, 49, 480, 493, 494, 495))}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
    if rng.random() < 0.2:
        phone = phone.translate(_FULLWIDTH | str.maketrans("-", "－"))
    department = rng.choice(DEPARTMENTS[:4] if municipality.kind == "市" else DEPARTMENTS)
    return {
        "contact:department": department,
        "contact:person": rng.choice(PERSONS),
        "contact:phone": phone,
        "contact:email": f"kokuho-{municipality.code}@example.lg.jp",
    }


def fill_workbook(
    wb: Any,
    catalog: Catalog,
    municipality: Municipality,
    answers: MunicipalityAnswers,
    style: FillStyle,
    rng: random.Random,
) -> None:
    """Write a municipality's answers into a template loaded with openpyxl."""
    fill(wb, _entries(catalog, municipality, answers, style, rng))


def _entries(
    catalog: Catalog,
    municipality: Municipality,
    answers: MunicipalityAnswers,
    style: FillStyle,
    rng: random.Random,
) -> Iterator[Entry]:
    """The cells of a municipality's answers, drawing the style's noise in the order they are written."""
    sec = layout.SECTION_COLUMNS
    tgt = layout.TARGET_COLUMNS
    for key, value in _contact(municipality, rng, style).items():
        yield layout.SHEET_COVER, key, layout.COVER_VALUE_COLUMN, value

    own_by_table: dict[str, list[OwnEntry]] = {}
    for entry in answers.own:
        own_by_table.setdefault(entry.table_id, []).append(entry)
    for section in catalog.sections:
        sheet = layout.section_sheet_key(section.no)
        for table in catalog.tables_of(section.no):
            for measure in table.measures:
                key = layout.measure_key(measure.id)
                yield sheet, key, sec["answer"], answer_value(measure.id in answers.implemented, style, rng)
                yield (
                    sheet,
                    key,
                    sec["budget_line"],
                    text_value(answers.budget_lines.get(measure.id), style, rng),
                )
                yield sheet, key, sec["note"], answers.notes.get(measure.id)
            for n, entry in enumerate(own_by_table.get(table.table_id, []), start=1):
                key = layout.own_key(table.table_id, n)
                yield sheet, key, sec["label"], text_value(entry.text, style, rng)
                budget = entry.budget_line
                if budget is None and rng.random() < 0.3:
                    budget = "—"  # how the published table writes "none"; means no budget line
                yield sheet, key, sec["budget_line"], text_value(budget, style, rng)

    if catalog.numeric_targets:
        for (target_id, year), answer in answers.targets.items():
            key = layout.target_key(target_id, year)
            raw: object = Formatted(answer.raw, answer.number_format) if answer.number_format else answer.raw
            yield layout.SHEET_TARGETS, key, tgt["value"], raw
            yield layout.SHEET_TARGETS, key, tgt["note"], answer.note


def _target_manifest(answers: MunicipalityAnswers) -> dict[str, dict[str, Any]]:
    return {
        layout.target_key(target_id, year): {
            "raw": a.raw,
            "number_format": a.number_format,
            "value": a.value,
            "qualifier": a.qualifier,
            "note": a.note,
        }
        for (target_id, year), a in sorted(answers.targets.items())
    }


def _fix_core_xml(xml: bytes) -> bytes:
    stamp = FIXED_DOC_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    for tag in (b"created", b"modified"):
        xml = re.sub(
            rb"(<dcterms:" + tag + rb"[^>]*>)[^<]*(</dcterms:" + tag + rb">)",
            rb"\g<1>" + stamp + rb"\g<2>",
            xml,
        )
    return xml


def workbook_bytes(wb: Any) -> bytes:
    """Save with fixed document times and zip entry times, so the bytes depend on content only."""
    wb.properties.created = FIXED_DOC_TIME
    wb.properties.lastModifiedBy = FIXED_AUTHOR
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _fix_core_xml(data)
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            zout.writestr(fixed, data)
    return out.getvalue()


# Structural alterations municipalities make -------------------------------------------------


def _insert_row(ws: Any, at: int) -> None:
    """Insert an empty row before `at` (openpyxl moves cells; the templates have no merges)."""
    ws.insert_rows(at)


def alter_rename_sheet(wb: Any, sheet_key: str, title: str) -> str:
    ws = sheet_by_key(wb, sheet_key)
    old = ws.title
    ws.title = title
    return f"renamed_sheet:{old}->{title}"


def alter_swap_rows(wb: Any, sheet_key: str, key_a: str, key_b: str) -> str:
    """Swap two rows wholesale (key, number, label and answers), as cut-and-paste does."""
    ws = sheet_by_key(wb, sheet_key)
    rows = row_index(ws)
    ra, rb = rows[key_a], rows[key_b]
    for col in "ABCDEF":
        a, b = ws[f"{col}{ra}"], ws[f"{col}{rb}"]
        a.value, b.value = b.value, a.value
    return f"swapped_rows:{key_a}<->{key_b}"


def alter_insert_blank_row(wb: Any, sheet_key: str, after_key: str) -> str:
    ws = sheet_by_key(wb, sheet_key)
    _insert_row(ws, row_index(ws)[after_key] + 1)
    return f"inserted_blank_row_after:{after_key}"


def alter_edit_label(wb: Any, sheet_key: str, row_key: str, label: str) -> str:
    ws = sheet_by_key(wb, sheet_key)
    ws[f"{layout.SECTION_COLUMNS['label']}{row_index(ws)[row_key]}"] = label
    return f"edited_label:{row_key}"


def alter_rows_above_table(wb: Any, sheet_key: str, table_id: str, text: str) -> str:
    ws = sheet_by_key(wb, sheet_key)
    at = row_index(ws)[f"{layout.HEADING_PREFIX}{table_id}"]
    _insert_row(ws, at)
    _insert_row(ws, at)
    ws[f"B{at}"] = text
    return f"rows_above_table:{table_id}"


def alter_extra_own_row(wb: Any, sheet_key: str, table_id: str, entry: OwnEntry) -> str:
    """An own initiative written in a row the municipality inserted below own row 1 (no key)."""
    sec = layout.SECTION_COLUMNS
    ws = sheet_by_key(wb, sheet_key)
    at = row_index(ws)[layout.own_key(table_id, 1)] + 1
    _insert_row(ws, at)
    ws[f"{sec['label']}{at}"] = entry.text
    ws[f"{sec['budget_line']}{at}"] = entry.budget_line
    return f"inserted_own_row_after:{layout.own_key(table_id, 1)}"


def alter_stray_far_cell(wb: Any, sheet_key: str) -> str:
    ws = sheet_by_key(wb, sheet_key)
    ws["XFD1048576"] = " "
    return "cell_at_XFD1048576"


DRAFT_VERSION = "0.9-draft"


def alter_catalog_version(wb: Any, catalog: Catalog, version: str) -> str:
    """Make the workbook a template of a catalog version that does not exist (a draft sent out
    before the survey was fixed): the cover's meta keys and shown values change."""
    cover = sheet_by_key(wb, layout.SHEET_COVER)
    rows = row_index(cover)
    survey_id = f"{catalog.prefecture_code}-{catalog.fiscal_year}-{version}"
    for name, old, new in (
        (layout.META_CATALOG_VERSION, catalog.catalog_version, version),
        (layout.META_SURVEY_ID, catalog.survey_id, survey_id),
    ):
        row = rows[layout.meta_key(name, old)]
        cover[f"{layout.KEY_COLUMN}{row}"] = layout.meta_key(name, new)
        cover[f"{layout.COVER_VALUE_COLUMN}{row}"] = new
    wb.properties.subject = survey_id
    return f"catalog_version:{version}"


def alter_cover_municipality(wb: Any, municipality: Municipality) -> str:
    cover = sheet_by_key(wb, layout.SHEET_COVER)
    rows = row_index(cover)
    cover[f"{layout.COVER_VALUE_COLUMN}{rows[layout.META_MUNICIPALITY_CODE]}"] = municipality.code
    cover[f"{layout.COVER_VALUE_COLUMN}{rows[layout.META_MUNICIPALITY_NAME]}"] = municipality.name
    return f"cover_municipality:{municipality.code}"


# --------------------------------------------------------------------------------------------
# The inbox
# --------------------------------------------------------------------------------------------

# Which municipality (by position in code order) shows which habit. With Saitama's 63:
# 1 川越市, 2 熊谷市, 3 川口市, 6 所沢市, 7 飯能市, 11 春日部市, 16 上尾市, 17 草加市, 18 越谷市,
# 20 戸田市, 21 入間市, 25 新座市, 27 久喜市, 33 坂戸市, 40 伊奈町.
ROLE_INDEX: dict[str, int] = {
    "renamed_file": 1,
    "unknown_answer_then_resubmitted": 2,
    "renamed_sheet": 3,
    "swapped_rows": 6,
    "copy_suffix_name": 7,
    "inserted_blank_row": 11,
    "edited_label": 16,
    "rows_above_table": 17,
    "extra_own_row": 18,
    "fullwidth_code_name": 20,
    "superseded_then_corrected": 21,
    "csv_renamed_xlsx": 25,
    "far_cell_first": 27,
    "draft_template_first": 33,
    "empty_file_first": 40,
}


def _business_days(year: int, month: int, first: int, last: int) -> list[int]:
    return [d for d in range(first, last + 1) if datetime(year, month, d).weekday() < 5]


def _received(seed: int, fiscal_year: int, tag: str, first_day: int, last_day: int) -> datetime:
    """A working-hours time in May of the fiscal year, between the given days."""
    rng = seeded_rng(seed, fiscal_year, "received", tag)
    day = rng.choice(_business_days(fiscal_year, 5, first_day, last_day))
    minute = rng.randint(8 * 60 + 30, 17 * 60 + 30)
    return datetime(fiscal_year, 5, day, minute // 60, minute % 60, rng.randint(0, 59), tzinfo=JST)


class _Templates:
    """Writes each (catalog, municipality) template once into a scratch folder."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.paths: dict[tuple[str, str], Path] = {}

    def load(self, catalog: Catalog, municipality: Municipality) -> Any:
        import openpyxl

        from kokuho.templates import write_template

        key = (catalog.survey_id, municipality.code)
        if key not in self.paths:
            path = self.scratch / f"{catalog.survey_id}_{municipality.code}.xlsx"
            self.paths[key] = write_template(catalog, municipality, path)
        return openpyxl.load_workbook(self.paths[key])


@dataclass
class _Writer:
    inbox: Path
    seed: int
    templates: _Templates
    files: list[DemoFile] = field(default_factory=list)

    def _place(self, fiscal_year: int, name: str, data: bytes, received: datetime) -> str:
        folder = self.inbox / str(fiscal_year)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        if path.exists():
            raise FileExistsError(path)
        path.write_bytes(data)
        stamp = received.timestamp()
        os.utime(path, (stamp, stamp))
        return f"{fiscal_year}/{name}"

    def workbook(
        self,
        *,
        catalog: Catalog,
        template_for: Municipality,
        answers: MunicipalityAnswers,
        name: str,
        received: datetime,
        expected: str,
        municipality_code: str | None,
        description: str,
        issue_code: str | None = None,
        alterations: tuple[Any, ...] = (),
        quirks: tuple[str, ...] = (),
    ) -> DemoFile:
        rng = seeded_rng(self.seed, catalog.fiscal_year, "fill", name)
        style = fill_style(answers.code, self.seed, catalog.fiscal_year)
        wb = self.templates.load(catalog, template_for)
        fill_workbook(wb, catalog, template_for, answers, style, rng)
        done = [alter(wb) for alter in alterations]
        style_quirks = [f"yes={style.yes!r}", f"no={style.no!r}"]
        if style.mixed:
            style_quirks.append("mixed_symbols")
        if style.noise:
            style_quirks.append(f"stray_whitespace~{style.noise:.0%}")
        record = DemoFile(
            path=self._place(catalog.fiscal_year, name, workbook_bytes(wb), received),
            municipality_code=municipality_code,
            fiscal_year=catalog.fiscal_year,
            expected=expected,
            issue_code=issue_code,
            received_at=received.isoformat(),
            description=description,
            quirks=[*quirks, *done, *style_quirks],
            yes_measures=sorted(answers.implemented) if expected != STATUS_QUARANTINED else [],
            targets=_target_manifest(answers) if expected != STATUS_QUARANTINED else {},
        )
        self.files.append(record)
        return record

    def raw(
        self,
        *,
        fiscal_year: int,
        name: str,
        data: bytes,
        received: datetime,
        municipality_code: str | None,
        issue_code: str,
        description: str,
    ) -> DemoFile:
        record = DemoFile(
            path=self._place(fiscal_year, name, data, received),
            municipality_code=municipality_code,
            fiscal_year=fiscal_year,
            expected=STATUS_QUARANTINED,
            issue_code=issue_code,
            received_at=received.isoformat(),
            description=description,
        )
        self.files.append(record)
        return record


def _check_plan(plan: YearPlan) -> None:
    """The plan must add up to the published table; a bug here would silently break the demo."""
    counts = Counter(mid for a in plan.answers.values() for mid in a.implemented)
    for measure_id, expected in plan.counts.items():
        if counts.get(measure_id, 0) != expected:
            raise RuntimeError(f"{measure_id}: planned {counts.get(measure_id, 0)} != {expected}")
        given = Counter(
            a.budget_lines[measure_id] for a in plan.answers.values() if measure_id in a.budget_lines
        )
        order = [line for line, _ in given.most_common()]
        freqs = [given[line] for line in order]
        if tuple(order) != plan.budget_lines[measure_id] or any(a <= b for a, b in itertools.pairwise(freqs)):
            raise RuntimeError(f"{measure_id}: budget lines {given} != {plan.budget_lines[measure_id]}")
        for a in plan.answers.values():
            if measure_id in a.budget_lines and measure_id not in a.implemented:
                raise RuntimeError(f"{measure_id}: budget line from non-implementing {a.code}")


def _year_expectation(plan: YearPlan) -> DemoYear:
    return DemoYear(
        fiscal_year=plan.catalog.fiscal_year,
        survey_id=plan.catalog.survey_id,
        municipality_total=len(plan.municipalities),
        measure_counts=dict(plan.counts),
        budget_lines={k: list(v) for k, v in plan.budget_lines.items()},
        budget_line_frequencies={k: list(v) for k, v in plan.frequencies.items()},
        own_initiatives=[
            {
                "table_id": row.table_id,
                "text": row.text,
                "budget_line": row.budget_line,
                "municipality_code": code,
            }
            for row, code in plan.own_initiatives
        ],
    )


def _give_own_rows(plan: YearPlan, code: str, count: int = 2) -> str | None:
    """Make `code` the author of the first `count` own initiatives of a table that has that many."""
    per_table = Counter(row.table_id for row, _ in plan.own_initiatives)
    table_id = next((t for t, n in per_table.items() if n >= count), None)
    if table_id is None:
        return None
    moved = 0
    for i, (row, author) in enumerate(plan.own_initiatives):
        if row.table_id == table_id and moved < count:
            plan.answers[author].own = [
                e for e in plan.answers[author].own if not (e.table_id == row.table_id and e.text == row.text)
            ]
            plan.own_initiatives[i] = (row, code)
            moved += 1
    entries = [OwnEntry(r.table_id, r.text, r.budget_line) for r, c in plan.own_initiatives if c == code]
    plan.answers[code].own = entries
    return table_id


def _first_differing_pair(catalog: Catalog, answers: MunicipalityAnswers) -> tuple[int, str, str]:
    """Two adjacent measures of one table with different answers (so a swap matters)."""
    for table in catalog.tables:
        for a, b in itertools.pairwise(table.measures):
            if (a.id in answers.implemented) != (b.id in answers.implemented):
                return table.section_no, a.id, b.id
    first = catalog.tables[0].measures
    return catalog.tables[0].section_no, first[0].id, first[1].id


def _variant(
    answers: MunicipalityAnswers, catalog: Catalog, seed: int
) -> tuple[MunicipalityAnswers, list[str]]:
    """An earlier version of a municipality's answers: a few answers flipped, one budget line
    worded differently. Returns it and the measures that differ."""
    rng = seeded_rng(seed, catalog.fiscal_year, "variant", answers.code)
    ids = [m.id for m in catalog.measures]
    yes = [i for i in ids if i in answers.implemented]
    no = [i for i in ids if i not in answers.implemented]
    to_no = rng.sample(yes, min(4, len(yes)))
    to_yes = rng.sample(no, min(2, len(no)))
    early = MunicipalityAnswers(
        answers.code,
        answers.name,
        implemented=(answers.implemented - set(to_no)) | set(to_yes),
        budget_lines={k: v for k, v in answers.budget_lines.items() if k not in to_no},
        notes=dict(answers.notes),
        own=list(answers.own),
        targets=dict(answers.targets),
    )
    changed = set(to_no) | set(to_yes)
    budgeted = sorted(early.budget_lines)
    if budgeted:
        pick = budgeted[0]
        early.budget_lines[pick] = early.budget_lines[pick] + "（旧）"
    else:
        pick = sorted(early.implemented)[0]
        early.budget_lines[pick] = "国民健康保険事業（仮）"
    changed.add(pick)
    return early, sorted(changed)


def _csv_bytes(catalog: Catalog, answers: MunicipalityAnswers) -> bytes:
    lines = ["番号,取組内容,実施,予算事業名"]
    for m in catalog.measures:
        mark = "○" if m.id in answers.implemented else ""
        lines.append(f"{m.item_no},{m.label.replace(',', '、')},{mark},{answers.budget_lines.get(m.id, '')}")
    return ("\r\n".join(lines) + "\r\n").encode("cp932", errors="replace")


def _other_prefecture_answers(catalog: Catalog, municipality: Municipality, seed: int) -> MunicipalityAnswers:
    rng = seeded_rng(seed, catalog.survey_id, "other", municipality.code)
    answers = MunicipalityAnswers(municipality.code, municipality.name)
    answers.implemented = {m.id for m in catalog.measures if rng.random() < 0.6}
    answers.targets = plan_targets(catalog, municipality, seed)
    return answers


def _assign_extra_own_row(plan: YearPlan, newest: bool) -> None:
    if newest and len(plan.municipalities) > max(ROLE_INDEX.values()):
        code = plan.municipalities[ROLE_INDEX["extra_own_row"]].code
        plan.extra_own_table = _give_own_rows(plan, code)


def plan_years(prefecture_code: str, fiscal_years: tuple[int, ...], seed: int) -> dict[int, YearPlan]:
    """Plans for the requested years. Years with a published table follow it exactly; a year
    without one is derived from the next later year (planned too when not requested, within 5
    years, but returned only when requested). The newest requested year carries the roles."""
    municipalities = municipalities_of(prefecture_code)
    plans: dict[int, YearPlan] = {}
    published: dict[int, PublishedTable] = {}
    years = set(fiscal_years)
    for year in fiscal_years:
        if not published_path(prefecture_code, year).is_file():
            later = [y for y in range(year + 1, year + 6) if published_path(prefecture_code, y).is_file()]
            if later and not any(year < y <= later[0] for y in fiscal_years):
                years.add(later[0])
    newest = max(fiscal_years)
    for year in sorted(years, reverse=True):
        catalog = load_catalog_for(prefecture_code, year)
        if published_path(prefecture_code, year).is_file():
            table = load_published(prefecture_code, year)
            if table.municipality_total != len(municipalities):
                raise ValueError(
                    f"{year}: published for {table.municipality_total}, master has {len(municipalities)}"
                )
            plans[year] = plan_year(
                catalog, municipalities, table.counts, table.budget_lines, table.own_initiatives, seed
            )
            _assign_extra_own_row(plans[year], year == newest)
            published[year] = table
            continue
        later_year = next((y for y in sorted(published) if y > year), None)
        if later_year is None:
            raise FileNotFoundError(
                f"{published_path(prefecture_code, year)} がなく、それより後の年度の公表表もありません"
            )
        later_table = published[later_year]
        counts, lines = derive_previous_counts(catalog, later_table, seed)
        plans[year] = plan_year(
            catalog,
            municipalities,
            counts,
            lines,
            previous_own_initiatives(catalog, later_table, seed),
            seed,
            previous=plans[later_year],
        )
        _assign_extra_own_row(plans[year], year == newest)
        # A derived year is itself a "published" basis for years further back.
        published[year] = PublishedTable(
            prefecture_code,
            year,
            len(municipalities),
            counts,
            lines,
            tuple(row for row, _ in plans[year].own_initiatives),
        )
    return {year: plans[year] for year in sorted(fiscal_years)}


def generate_demo_inbox(
    inbox: Path,
    *,
    prefecture_code: str = "11",
    fiscal_years: tuple[int, ...] = (2023, 2024),
    seed: int = 2024,
    overwrite: bool = False,
) -> DemoManifest:
    """Write returned workbooks into inbox/<fiscal_year>/ and inbox/manifest.json.

    The newest year also gets the special files (re-submissions and broken files). Raises
    FileExistsError when a year folder already holds files, unless `overwrite` (which empties
    those year folders first).
    """
    import time

    started = time.perf_counter()
    inbox = Path(inbox)
    prefecture_code = str(prefecture_code).zfill(2)
    for year in fiscal_years:
        folder = inbox / str(year)
        if folder.exists() and any(folder.iterdir()):
            if not overwrite:
                raise FileExistsError(
                    f"{folder} にはすでにファイルがあります（overwrite=True で作り直します）"
                )
            shutil.rmtree(folder)
    inbox.mkdir(parents=True, exist_ok=True)

    plans = plan_years(prefecture_code, tuple(fiscal_years), seed)
    newest = max(plans)
    # Special files (re-submissions, broken files, altered layouts) go into the newest year only.
    special = len(plans[newest].municipalities) > max(ROLE_INDEX.values())
    for plan in plans.values():
        _check_plan(plan)
    timings = {"plan_s": round(time.perf_counter() - started, 3)}

    with tempfile.TemporaryDirectory(prefix="kokuho_demo_") as scratch:
        writer = _Writer(inbox, seed, _Templates(Path(scratch)))
        for year in sorted(plans):
            t0 = time.perf_counter()
            _write_year(
                writer,
                plans[year],
                seed,
                special=special and year == newest,
                extra_own_table=plans[year].extra_own_table,
            )
            timings[f"fy{year}_s"] = round(time.perf_counter() - t0, 3)
    timings["total_s"] = round(time.perf_counter() - started, 3)

    writer.files.sort(key=lambda f: (f.fiscal_year, f.received_at, f.path))
    manifest = DemoManifest(
        inbox=str(inbox.resolve()),
        prefecture_code=prefecture_code,
        seed=seed,
        layout="inbox/<fiscal_year>/<file>",
        years={year: _year_expectation(plan) for year, plan in sorted(plans.items())},
        files=writer.files,
    )
    manifest.write(inbox / MANIFEST_NAME)
    manifest.timings = timings  # not written: the manifest file stays identical for a seed
    return manifest


# Roles whose good file follows an earlier, unusable or superseded one from the same municipality.
FIRST_VERSION_ROLES = {
    "unknown_answer_then_resubmitted": "_再提出",
    "superseded_then_corrected": "（修正版）",
    "csv_renamed_xlsx": "",
    "far_cell_first": "",
    "empty_file_first": "",
    "draft_template_first": "",
}


def _alterations_for(
    what: str | None,
    catalog: Catalog,
    muni: Municipality,
    answers: MunicipalityAnswers,
    extra_own_table: str | None,
) -> tuple[list[Any], MunicipalityAnswers]:
    """The structural edits a role makes to its workbook (applied after filling)."""
    alterations: list[Any] = []
    sections = catalog.sections
    last_section = sections[-1].no
    if what == "renamed_sheet":
        first = sections[0]
        title = f"{first.title}（{muni.name}）"
        alterations.append(lambda wb: alter_rename_sheet(wb, layout.section_sheet_key(first.no), title))
        if catalog.numeric_targets:
            alterations.append(
                lambda wb: alter_rename_sheet(wb, layout.SHEET_TARGETS, f"目標値（{muni.name}）")
            )
    elif what == "swapped_rows":
        section_no, a, b = _first_differing_pair(catalog, answers)
        alterations.append(
            lambda wb: alter_swap_rows(
                wb, layout.section_sheet_key(section_no), layout.measure_key(a), layout.measure_key(b)
            )
        )
    elif what == "inserted_blank_row":
        tables = catalog.tables_of(last_section)
        table = next((t for t in tables if len(t.measures) >= 4), tables[0])
        after = table.measures[min(1, len(table.measures) - 1)]
        alterations.append(
            lambda wb: alter_insert_blank_row(
                wb, layout.section_sheet_key(table.section_no), layout.measure_key(after.id)
            )
        )
    elif what == "edited_label":
        measure = catalog.measures[0]
        alterations.append(
            lambda wb: alter_edit_label(
                wb,
                layout.section_sheet_key(measure.section_no),
                layout.measure_key(measure.id),
                f"{measure.label}※一部のみ",
            )
        )
    elif what == "rows_above_table":
        tables = catalog.tables_of(last_section)
        table = tables[min(1, len(tables) - 1)]
        alterations.append(
            lambda wb: alter_rows_above_table(
                wb, layout.section_sheet_key(table.section_no), table.table_id, "※この表は健康増進課が回答"
            )
        )
    elif what == "extra_own_row" and extra_own_table:
        entries = [e for e in answers.own if e.table_id == extra_own_table]
        # Own row 1 keeps the first entry; the second goes into an inserted row (no key).
        second = entries[1]
        answers = MunicipalityAnswers(
            answers.code,
            answers.name,
            implemented=answers.implemented,
            budget_lines=answers.budget_lines,
            notes=answers.notes,
            own=[e for e in answers.own if e is not second],
            targets=answers.targets,
        )
        section_no = next(t.section_no for t in catalog.tables if t.table_id == extra_own_table)
        alterations.append(
            lambda wb: alter_extra_own_row(wb, layout.section_sheet_key(section_no), extra_own_table, second)
        )
    return alterations, answers


def _write_year(
    writer: _Writer, plan: YearPlan, seed: int, *, special: bool, extra_own_table: str | None
) -> None:
    catalog = plan.catalog
    year = catalog.fiscal_year
    munis = plan.municipalities
    role_of = {munis[i].code: name for name, i in ROLE_INDEX.items()} if special else {}

    for index, muni in enumerate(munis):
        what = role_of.get(muni.code)
        answers = plan.answers[muni.code]
        alterations, answers = _alterations_for(what, catalog, muni, answers, extra_own_table)
        name = layout.template_file_name(muni.code, muni.name, year)
        quirks: list[str] = []
        if what == "renamed_file" or (not special and index == ROLE_INDEX["renamed_file"]):
            name = (
                f"【{muni.name}】国保調査回答.xlsx"
                if special
                else f"【{muni.name}】R{year - 2018}国保調査回答.xlsx"
            )
            quirks.append("renamed_file")
        elif what == "copy_suffix_name":
            name = name.removesuffix(".xlsx") + " (1).xlsx"
            quirks.append("renamed_file")
        elif what == "fullwidth_code_name":
            name = muni.code.translate(_FULLWIDTH) + name[len(muni.code) :]
            quirks.append("fullwidth_code_in_file_name")
        elif what in FIRST_VERSION_ROLES:
            name = name.removesuffix(".xlsx") + FIRST_VERSION_ROLES[what] + ".xlsx"
        later = what in FIRST_VERSION_ROLES
        # Good files arrive 7-24 May; a file that follows an earlier attempt arrives 27-31 May.
        received = _received(seed, year, muni.code, 27 if later else 7, 31 if later else 24)
        good = writer.workbook(
            catalog=catalog,
            template_for=muni,
            answers=answers,
            name=name,
            received=received,
            expected=STATUS_ACCEPTED,
            municipality_code=muni.code,
            description="受理される回答" + ("（先の提出に代わるもの）" if later else ""),
            alterations=tuple(alterations),
            quirks=(*quirks, f"follows_earlier_file:{what}") if later else tuple(quirks),
        )
        if later and what is not None:
            _write_first_version(writer, plan, muni, what, seed, good)

    if special:
        _write_other_prefecture(writer, catalog, seed)


def _write_first_version(
    writer: _Writer, plan: YearPlan, muni: Municipality, what: str, seed: int, good: DemoFile
) -> None:
    """The earlier file of a municipality whose good file arrives later (7-10 May)."""
    catalog = plan.catalog
    year = catalog.fiscal_year
    answers = plan.answers[muni.code]
    received = _received(seed, year, f"first-{muni.code}", 7, 10)
    name = layout.template_file_name(muni.code, muni.name, year)
    if what == "unknown_answer_then_resubmitted":
        unanswered = next(m for m in catalog.measures if m.id not in answers.implemented)

        def put_triangle(wb: Any, m: Any = unanswered) -> str:
            ws = sheet_by_key(wb, layout.section_sheet_key(m.section_no))
            row = row_index(ws)[layout.measure_key(m.id)]
            ws[f"{layout.SECTION_COLUMNS['answer']}{row}"] = "△"
            ws[f"{layout.SECTION_COLUMNS['note']}{row}"] = "検討中"
            return f"unknown_answer:{layout.measure_key(m.id)}=△"

        writer.workbook(
            catalog=catalog,
            template_for=muni,
            answers=answers,
            name=name,
            received=received,
            expected=STATUS_QUARANTINED,
            issue_code="UNKNOWN_ANSWER",
            municipality_code=muni.code,
            description=f"判別できない回答「△」を含む最初の提出（{good.path} で再提出）",
            alterations=(put_triangle,),
        )
    elif what == "superseded_then_corrected":
        early, changed = _variant(answers, catalog, seed)
        record = writer.workbook(
            catalog=catalog,
            template_for=muni,
            answers=early,
            name=name,
            received=received,
            expected=STATUS_SUPERSEDED,
            municipality_code=muni.code,
            description=f"最初の提出（受理できる内容だが {good.path} で置き換わる）",
        )
        record.superseded_by = good.path
        record.changed_measures = changed
    elif what == "csv_renamed_xlsx":
        writer.raw(
            fiscal_year=year,
            name=f"{muni.code}_{muni.name}_{year}_回答.xlsx",
            data=_csv_bytes(catalog, answers),
            received=received,
            municipality_code=muni.code,
            issue_code="NOT_WORKBOOK",
            description="CSVを拡張子だけ .xlsx にしたファイル",
        )
    elif what == "far_cell_first":
        writer.workbook(
            catalog=catalog,
            template_for=muni,
            answers=answers,
            name=name.removesuffix(".xlsx") + "_送付前.xlsx",
            received=received,
            expected=STATUS_QUARANTINED,
            issue_code="SHEET_TOO_LARGE",
            municipality_code=muni.code,
            description="XFD1048576 にセルがあるシート（python-calamine がプロセスごと落ちる）",
            alterations=(
                lambda wb: alter_stray_far_cell(wb, layout.section_sheet_key(catalog.sections[0].no)),
            ),
        )
    elif what == "draft_template_first":
        writer.workbook(
            catalog=catalog,
            template_for=muni,
            answers=answers,
            name=name.removesuffix(".xlsx") + "（案）.xlsx",
            received=received,
            expected=STATUS_QUARANTINED,
            issue_code="WRONG_SURVEY",
            municipality_code=muni.code,
            description="事前に配布した案の版（存在しない調査票の版）に記入したもの",
            alterations=(lambda wb: alter_catalog_version(wb, catalog, DRAFT_VERSION),),
        )
    elif what == "empty_file_first":
        writer.raw(
            fiscal_year=year,
            name=name.removesuffix(".xlsx") + "（送信エラー）.xlsx",
            data=b"",
            received=received,
            municipality_code=muni.code,
            issue_code="EMPTY_FILE",
            description="0バイトのファイル",
        )


def _write_other_prefecture(writer: _Writer, catalog: Catalog, seed: int) -> None:
    """This prefecture's template with the cover changed to another prefecture's municipality
    (MUNICIPALITY_OTHER_PREFECTURE). A template of the other prefecture's own survey is not
    written: whether it is WRONG_SURVEY or another survey's valid file depends on the run's scope."""
    other_pref = "33" if catalog.prefecture_code != "33" else "11"
    muni = municipalities_of(other_pref)[1]
    host = municipalities_of(catalog.prefecture_code)[0]
    writer.workbook(
        catalog=catalog,
        template_for=host,
        answers=_other_prefecture_answers(catalog, muni, seed),
        name=layout.template_file_name(muni.code, muni.name, catalog.fiscal_year),
        received=_received(seed, catalog.fiscal_year, "other-prefecture", 13, 17),
        expected=STATUS_QUARANTINED,
        issue_code="MUNICIPALITY_OTHER_PREFECTURE",
        municipality_code=muni.code,
        description="本県の調査票の表紙の市町村を他県の市町村に書き換えたもの",
        alterations=(lambda wb: alter_cover_municipality(wb, muni),),
    )
