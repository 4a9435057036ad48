"""The demo's second prefecture: Nagano's 事業改善シート (seed 003) for the 77 municipalities.

`generate_nagano_inbox` fills the FY2024 questionnaire of data/catalogs/20_2024.yaml (the real
template, through the same filler as the Saitama demo) for every municipality of 長野県: five ○
measures, four indicators with results for R4–R6 and targets for R6–R7, and the 事業コスト table in
千円 (and 職員数 in 人) for R4–R6. Answers are drawn from `random.Random` seeded per purpose and
municipality, so a seed gives the same answers and the same files.

How municipalities write: amounts as numbers (negatives typed as -148507, shown △ by the cell's
format) or as text (`17,054,564`, `△148,507`, now and then `▲`); results as numbers or as `47.0%`,
some left blank; targets `61.7以上`, `前年度以上`, `420以下`, plain numbers and `【未設定】`. 長野市
writes seed 003's own figures (0 + 17,054,564 + △148,507 = 16,906,057; 61.7, 66.6, 47.0 against
`61.7以上`). Two municipalities first send a file that must be set aside (a 合計 one 千円 off; a
letter in an amount), then the corrected file.

`run_nagano` generates the inbox in its own folder and runs the ingest flow there: one warehouse
per prefecture, as a prefecture runs it.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from demo.data import _received, seeded_rng, workbook_bytes
from demo.workbook import Entry, fill
from kokuho import layout
from kokuho.catalog import Catalog, load_catalog_for
from kokuho.codelists import STATUS_ACCEPTED, STATUS_QUARANTINED
from kokuho.municipalities import Municipality, municipalities_of
from transform.staging.rules import amount_text

PREFECTURE = "20"
FISCAL_YEAR = 2024
SEED = 2024
YEARS = (2022, 2023, 2024)  # R4, R5, R6: the years the results and the cost table ask
TARGET_YEARS = (2024, 2025)  # R6, R7
FOLDER = "20_nagano"
SEED_003_CODE = "202011"  # 長野市 writes seed 003's figures

COST_ITEMS = ("NG_CARRIED", "NG_INITIAL", "NG_SUPPLEMENTARY", "NG_TOTAL", "NG_GENERAL", "NG_SETTLEMENT")
STAFF_ITEM = "NG_STAFF"
AMOUNT_ITEMS = (*COST_ITEMS, STAFF_ITEM)
MEASURES = ("NG001", "NG002", "NG003", "NG004", "NG005")
# Seed 003's 事業コスト (千円; 職員数 in 人, not given for R4), R4, R5, R6.
SEED_003_COSTS: dict[str, tuple[float | None, float | None, float | None]] = {
    "NG_CARRIED": (0, 0, 0),
    "NG_INITIAL": (17834771, 17639962, 17054564),
    "NG_SUPPLEMENTARY": (-487120, -324668, -148507),
    "NG_TOTAL": (17347651, 17315294, 16906057),
    "NG_GENERAL": (17247832, 17203585, 16817085),
    "NG_SETTLEMENT": (17296689, 17144356, 16644888),
    "NG_STAFF": (None, 5.7, 5.7),
}
SEED_003_SCORES = (61.7, 66.6, 47.0)
SEED_003_SCORE_TARGET = "61.7以上"

# The files set aside: (role, municipality index in code order, issue code).
BAD_FILES = (("sum_one_off", 5, "SUM_RULE_VIOLATED"), ("letter_in_amount", 20, "ITEM_UNPARSEABLE"))


@dataclass
class NaganoAnswers:
    """One municipality's answers: what goes into each cell, and what the cell means."""

    code: str
    name: str
    implemented: set[str] = field(default_factory=set)
    cells: dict[tuple[str, int], object] = field(default_factory=dict)  # (item, year) -> as written
    amounts: dict[tuple[str, int], float] = field(default_factory=dict)  # (item, year) -> meaning


@dataclass
class NaganoFile:
    path: str  # relative to the inbox
    municipality_code: str
    expected: str  # 'accepted' | 'quarantined'
    issue_code: str | None = None
    cell_item: str | None = None  # the row key of the bad cell (item:ID:year)
    description: str = ""


@dataclass
class NaganoManifest:
    inbox: str
    seed: int
    files: list[NaganoFile]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)


def _rng(seed: int, *purpose: object) -> random.Random:
    return seeded_rng("nagano", seed, *purpose)


def _scale(municipality: Municipality, rng: random.Random) -> float:
    """A municipality's budget scale in 千円 (cities larger, villages smaller)."""
    low, high = {"市": (300_000, 3_000_000), "町": (60_000, 500_000)}.get(municipality.kind, (10_000, 90_000))
    return rng.uniform(low, high)


def plan_costs(municipality: Municipality, seed: int) -> dict[tuple[str, int], float | None]:
    """R4–R6 cost table: 合計 = 前年度繰越 + 当初予算 + 補正予算等 in every year (None: left blank)."""
    if municipality.code == SEED_003_CODE:
        return {
            (item, year): values[i] for item, values in SEED_003_COSTS.items() for i, year in enumerate(YEARS)
        }
    rng = _rng(seed, "costs", municipality.code)
    initial = _scale(municipality, rng)
    staff = round(rng.uniform(0.3, 1.2) * (4.0 if municipality.kind == "市" else 1.5), 1)
    costs: dict[tuple[str, int], float | None] = {}
    for year in YEARS:
        initial = round(initial * rng.uniform(0.96, 1.04))
        carried = 0 if rng.random() < 0.85 else round(initial * rng.uniform(0.005, 0.03))
        supplementary = round(initial * rng.uniform(-0.06, 0.025))
        total = carried + initial + supplementary
        values = {
            "NG_CARRIED": carried,
            "NG_INITIAL": initial,
            "NG_SUPPLEMENTARY": supplementary,
            "NG_TOTAL": total,
            "NG_GENERAL": round(total * rng.uniform(0.85, 0.99)),
            "NG_SETTLEMENT": round(total * rng.uniform(0.93, 0.995)),
        }
        for item, value in values.items():
            costs[(item, year)] = float(value)
        staff = max(0.1, round(staff + rng.choice((-0.2, 0.0, 0.0, 0.1, 0.3)), 1))
        costs[(STAFF_ITEM, year)] = None if year == YEARS[0] and rng.random() < 0.1 else staff
    return costs


def _walk(start: float, steps: tuple[float, float], rng: random.Random, digits: int) -> list[float]:
    values, level = [], start
    for _ in YEARS:
        values.append(round(level, digits))
        level += rng.uniform(*steps)
    return values


def plan_indicators(municipality: Municipality, index: int, seed: int) -> dict[tuple[str, int], object]:
    """Results R4–R6 and targets R6–R7 as the municipality writes them (cell values)."""
    rng = _rng(seed, "indicators", municipality.code)
    cells: dict[tuple[str, int], object] = {}
    as_text = rng.random() < 0.3  # writes results as text with %

    def results(item: str, values: list[float], percent: bool) -> None:
        for year, value in zip(YEARS, values, strict=True):
            if rng.random() < 0.04:
                continue  # left blank: no 推移 (―)
            cells[(item, year)] = f"{value:.1f}%" if percent and as_text else value

    # 保険者努力支援制度（市町村分）得点率: targets "前年度の実績以上" written as 64.8以上.
    if municipality.code == SEED_003_CODE:
        score = list(SEED_003_SCORES)
        cells.update({("NG_SCORE", y): v for y, v in zip(YEARS, ("61.7", 66.6, "47.0"), strict=True)})
        cells[("NG_SCORE_TARGET", 2024)] = SEED_003_SCORE_TARGET
    else:
        score = _walk(rng.uniform(45, 75), (-6.0, 5.0), rng, 1)
        if index % 13 == 7:
            score[2] = score[1]  # unchanged: →
        results("NG_SCORE", score, True)
        cells[("NG_SCORE_TARGET", 2024)] = f"{score[1]:.1f}以上"
    cells[("NG_SCORE_TARGET", 2025)] = f"{score[2]:.1f}以上"

    # 特定健康診査受診率: most write 前年度以上, the others a number (60 is the national goal).
    checkup = _walk(rng.uniform(35, 62), (-2.5, 3.0), rng, 1)
    if index % 11 == 3:
        checkup[2] = checkup[1]
    results("NG_CHECKUP", checkup, True)
    for year in TARGET_YEARS:
        cells[("NG_CHECKUP_TARGET", year)] = "前年度以上" if index % 3 else rng.choice((60, "60%", 55.0))

    # 一人当たり医療費 (千円, lower is better): targets 420以下 or a plain number.
    cost = [float(round(v)) for v in _walk(rng.uniform(360, 460), (-6.0, 14.0), rng, 0)]
    for year, value in zip(YEARS, cost, strict=True):
        if rng.random() >= 0.03:
            cells[("NG_COST_PER_HEAD", year)] = int(value) if not as_text else f"{int(value)}千円"
    for offset, year in enumerate(TARGET_YEARS):
        goal = int(round(cost[1] + rng.uniform(-8, 12) + 5 * offset))
        cells[("NG_COST_PER_HEAD_TARGET", year)] = f"{goal}以下" if index % 2 else goal

    # 特定保健指導実施率: numbers, and 【未設定】 where no target was set.
    guidance = _walk(rng.uniform(20, 75), (-5.0, 5.0), rng, 1)
    results("NG_GUIDANCE", guidance, True)
    for year in TARGET_YEARS:
        cells[("NG_GUIDANCE_TARGET", year)] = "【未設定】" if index % 7 == 2 else round(guidance[1] + 2.0, 1)
    return cells


def _write_amount(value: float | None, style: str, rng: random.Random) -> object:
    """An amount as the municipality writes it: a number (negatives typed with a minus, shown △)
    or text with thousands separators and △ (▲ now and then)."""
    if value is None:
        return None
    if style == "number" or (style == "mixed" and rng.random() < 0.5):
        return int(value) if float(value).is_integer() else value
    text = amount_text(value)
    return text.replace("△", "▲") if style != "seed" and rng.random() < 0.1 else text


def plan_answers(seed: int = SEED) -> dict[str, NaganoAnswers]:
    """Every municipality's answers, by code (pure: no files)."""
    plans: dict[str, NaganoAnswers] = {}
    for index, muni in enumerate(municipalities_of(PREFECTURE)):
        rng = _rng(seed, "answers", muni.code)
        answers = NaganoAnswers(muni.code, muni.name)
        answers.implemented = {m for m in MEASURES if rng.random() < (0.75 if muni.kind == "市" else 0.45)}
        answers.cells.update(plan_indicators(muni, index, seed))
        style = "seed" if muni.code == SEED_003_CODE else rng.choice(("number", "number", "text", "mixed"))
        for key, value in plan_costs(muni, seed).items():
            answers.cells[key] = _write_amount(value, style, rng)
            if value is not None:
                answers.amounts[key] = value
        plans[muni.code] = answers
    return plans


def _entries(catalog: Catalog, answers: NaganoAnswers) -> Iterator[Entry]:
    yield layout.SHEET_COVER, "contact:department", layout.COVER_VALUE_COLUMN, "国民健康保険係"
    yield (
        layout.SHEET_COVER,
        "contact:email",
        layout.COVER_VALUE_COLUMN,
        f"kokuho-{answers.code}@example.lg.jp",
    )
    answer = layout.SECTION_COLUMNS["answer"]
    for item in catalog.items:
        sheet = layout.section_sheet_key(item.section_no)
        if item.type == "check":
            yield sheet, layout.measure_key(item.id), answer, "○" if item.id in answers.implemented else None
            continue
        for year in item.years(catalog.fiscal_year):
            value = answers.cells.get((item.id, year))
            if value is not None:
                yield sheet, layout.item_key(item.id, year), answer, value


def _sum_one_off(answers: NaganoAnswers) -> tuple[NaganoAnswers, str]:
    """The R6 合計 one 千円 more than its parts (written as the municipality writes amounts)."""
    key = ("NG_TOTAL", FISCAL_YEAR)
    bad = NaganoAnswers(answers.code, answers.name, set(answers.implemented), dict(answers.cells))
    total = answers.amounts[key] + 1
    bad.cells[key] = amount_text(total) if isinstance(answers.cells[key], str) else int(total)
    return bad, layout.item_key(*key)


def _letter_in_amount(answers: NaganoAnswers) -> tuple[NaganoAnswers, str]:
    """当初予算 of R6 typed with the letter O for a zero (1,2O4,567)."""
    key = ("NG_INITIAL", FISCAL_YEAR)
    bad = NaganoAnswers(answers.code, answers.name, set(answers.implemented), dict(answers.cells))
    text = amount_text(answers.amounts[key])
    at = text.find("0") if "0" in text else len(text) - 1
    bad.cells[key] = text[:at] + "O" + text[at + 1 :]
    return bad, layout.item_key(*key)


def generate_nagano_inbox(
    inbox: Path, *, seed: int = SEED
) -> tuple[NaganoManifest, dict[str, NaganoAnswers]]:
    """Write the 77 accepted workbooks and the two bad first submissions into inbox/2024/.
    Returns the manifest and the accepted answers (by code) the files hold."""
    import os

    import openpyxl

    from kokuho.templates import write_template

    catalog = load_catalog_for(PREFECTURE, FISCAL_YEAR)
    plans = plan_answers(seed)
    munis = municipalities_of(PREFECTURE)
    bad_role = {munis[index].code: (role, code) for role, index, code in BAD_FILES}
    folder = Path(inbox) / str(FISCAL_YEAR)
    folder.mkdir(parents=True, exist_ok=True)
    files: list[NaganoFile] = []

    def place(name: str, data: bytes, received: datetime) -> str:
        path = folder / name
        path.write_bytes(data)
        os.utime(path, (received.timestamp(), received.timestamp()))
        return f"{FISCAL_YEAR}/{name}"

    with tempfile.TemporaryDirectory(prefix="kokuho_nagano_") as scratch:
        for muni in munis:
            template = write_template(catalog, muni, Path(scratch) / f"{muni.code}.xlsx")
            answers = plans[muni.code]
            name = layout.template_file_name(muni.code, muni.name, FISCAL_YEAR)
            role = bad_role.get(muni.code)
            if role is not None:
                bad, cell_item = (_sum_one_off if role[0] == "sum_one_off" else _letter_in_amount)(answers)
                wb = openpyxl.load_workbook(template)
                fill(wb, _entries(catalog, bad))
                files.append(
                    NaganoFile(
                        place(
                            name,
                            workbook_bytes(wb),
                            _received(seed, FISCAL_YEAR, f"nagano-first-{muni.code}", 7, 10),
                        ),
                        muni.code,
                        STATUS_QUARANTINED,
                        role[1],
                        cell_item,
                        "合計（予算現額）が内訳の和より1千円多い"
                        if role[0] == "sum_one_off"
                        else "金額に英字（O）",
                    )
                )
                name = name.removesuffix(".xlsx") + "_再提出.xlsx"
            wb = openpyxl.load_workbook(template)
            fill(wb, _entries(catalog, answers))
            received = _received(
                seed, FISCAL_YEAR, f"nagano-{muni.code}", 27 if role else 13, 31 if role else 24
            )
            files.append(
                NaganoFile(
                    place(name, workbook_bytes(wb), received),
                    muni.code,
                    STATUS_ACCEPTED,
                    description="受理される回答",
                )
            )
    files.sort(key=lambda f: f.path)
    return NaganoManifest(str(Path(inbox).resolve()), seed, files), plans


def run_nagano(folder: Path, *, runner: str = "default", seed: int = SEED) -> dict[str, Any]:
    """Generate Nagano's inbox in `folder`/inbox and run the ingest flow with its own warehouse
    (`folder`/kokuho.duckdb) and exports. Returns the run summary, the manifest and the answers."""
    from flows.ingest import run_ingest
    from kokuho.config import Settings

    folder.mkdir(parents=True, exist_ok=True)
    settings = Settings.resolve(
        home=folder,
        db_path=folder / "kokuho.duckdb",
        inbox=folder / "inbox",
        prefecture_code=PREFECTURE,
        fiscal_year=FISCAL_YEAR,
    )
    manifest, answers = generate_nagano_inbox(settings.inbox, seed=seed)
    (folder / "demo_manifest.json").write_text(manifest.to_json() + "\n", encoding="utf-8")
    summary = run_ingest(settings, runner=runner)
    return {"summary": summary, "settings": settings, "manifest": manifest, "answers": answers}
