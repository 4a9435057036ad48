"""Okayama's answers (prefecture 33) for FY2023 and FY2024 that reproduce seed 004's figures.

Seed 004 publishes counts, not who answered: for each item it gives n (and N) for 令和6年度 and
whether n rose (（増）) or the item is new (（新）) against 令和5年度; its 主な指標 table gives some
R5 → R6 pairs. `COUNTS` holds, per item of data/catalogs/33_2024.yaml, the number of municipalities
answering ○ in FY2023 and FY2024, chosen to match exactly: `27/27市町村（100%） 9市町村（増）` is
(18, 27), an item printed without a marker has the same count in both years, a child printed with
（増） has a higher one, a （新） item has no FY2023 count. Which municipalities answer is drawn
deterministically (a hash of item ID and municipality code), a child only among the municipalities
answering ○ to its parent in the same year, and every year's set contains the previous year's
when the count rose, so the counts are all that matters.

`COLLECTION_RATE_TARGETS` is the seed's last table (収納率目標, R3–R11, with 備考), cell text as
printed. The PDF text loses empty cells and moved some cells to the end of its page; where the
year of a value is not certain the row says so (see the comments).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from kokuho import codelists, layout
from kokuho.catalog import Catalog
from kokuho.municipalities import municipalities_of

PREFECTURE = "33"
YEARS = (2023, 2024)
TARGET_ID = "collection_rate_current"
YES = codelists.ANSWER_YES  # ○

# item ID -> (count in FY2023, count in FY2024); None: not asked in FY2023 (（新）).
COUNTS: dict[str, tuple[int | None, int]] = {
    # 第4章 収納対策の実施状況（seed prints the list with （増） only）
    "OK001": (27, 27),
    "OK002": (19, 22),  # （増）
    "OK003": (27, 27),
    "OK004": (27, 27),
    "OK005": (24, 24),
    "OK006": (9, 9),
    "OK007": (13, 15),  # （増）
    # 目標設定状況：26/27市町村（96%）; 主な指標 R5 26 → R6 26 (everyone but 吉備中央町, whose
    # target is 【未設定】: see EXPLICIT)
    "OK020": (26, 26),
    "OK021": (5, 7),  # 全国上位30％水準達成市町村数：７市町村（増）; 主な指標 5 → 7
    # 点検実施状況：27/27市町村（100%） 9市町村（増）（国保連へのレセプト点検：20市町村　レセプト点検員の独自雇用：7市町村）
    "OK022": (18, 27),
    "OK023": (14, 20),
    "OK024": (4, 7),
    # 周知広報の強化 27/27市町村（100%）
    "OK025": (27, 27),
    "OK026": (20, 23),  # （増）
    "OK027": (15, 17),  # （増）
    "OK028": (18, 18),
    "OK029": (10, 10),
    "OK030": (27, 27),  # 関係機関からの情報提供体制 27/27; 主な指標 27 → 27
    "OK031": (11, 13),  # 電話勧奨 委託市町村数：13市町村（増）
    "OK032": (3, 3),  # 初回面接 委託市町村数：3市
    "OK033": (1, 1),  # 一体的実施支援 委託市町村数：1市町
    "OK034": (25, 25),  # 発症予防ア 25/27市町村（93%）
    "OK035": (24, 25),  # イ 25/27市町村（93%）　1市町村（増）
    "OK036": (24, 25),  # ウ 25/27市町村（93%）　1市町村（増）
    # 重症化予防 25/27市町村（93%） 1市町村（増）; 主な指標 24 → 25
    "OK037": (24, 25),
    "OK008": (22, 24),  # （増）
    "OK009": (23, 25),  # （増）
    "OK010": (20, 20),
    "OK011": (8, 8),
    "OK012": (None, 4),  # （新）
    "OK038": (None, 2),  # （新）
    # 後発医薬品 27/27市町村（100%）
    "OK039": (27, 27),
    "OK040": (20, 20),
    "OK041": (18, 21),  # （増）
    "OK042": (8, 8),
    # 重複・頻回 27/27市町村（100%）; 主な指標 27 → 27
    "OK043": (27, 27),
    "OK013": (25, 25),
    "OK014": (26, 26),
    "OK015": (15, 18),  # （増）
    "OK016": (12, 14),  # （増）
    # 医療費通知 27/27市町村（100%）
    "OK044": (27, 27),
    "OK045": (14, 14),
    "OK046": (27, 27),
    # データヘルス計画 27/27市町村（100%）
    "OK047": (27, 27),
    "OK048": (20, 20),
    "OK049": (18, 18),
    "OK050": (10, 10),
    "OK051": (5, 5),
    # インセンティブ 23/27市町村（85%） 1市町村（増）; 主な指標 22 → 23
    "OK052": (22, 23),
    "OK017": (20, 22),  # （増）
    "OK018": (8, 10),  # （増）
    "OK019": (10, 12),  # （増）
    "OK053": (4, 4),  # 高医療費市町村 4/4市町村（100%）
    # 第7章 国保連への委託（国保連の行の市町村数）
    "OK081": (27, 27),  # 勧奨通知作成委託市町村数：27市町村
    "OK055": (9, 11),  # 高額療養費のお知らせ 委託市町村数：11市町（増）
    "OK056": (4, 6),  # 支給決定通知書 委託市町村数：6市町（増）
    "OK054": (23, 23),  # 資格過誤 委託市町村：23市町村
    "OK057": (27, 27),  # 医療費通知 委託市町村数：27市町村
    "OK082": (27, 27),  # 後発医薬品差額通知 委託市町村数：27市町村
    "OK059": (17, 17),  # 県クラウド参加市町村：17市町村
    # 情報セキュリティ 27/27市町村（100%）
    "OK060": (27, 27),
    "OK061": (27, 27),
    "OK062": (20, 23),  # （増）
    "OK063": (15, 15),
    # 第8章 市町村の取組
    "OK064": (25, 26),  # ア 26/27市町村（96%） 1市町村（増）
    "OK065": (26, 26),  # イ 26/27市町村（96%）
    "OK066": (24, 25),  # ウ 25/27市町村（93%） 1市町村（増）
    "OK067": (25, 27),  # エ 27/27市町村（100%） 2市町村（増）; 主な指標 25 → 27
    "OK068": (22, 25),  # （増）
    "OK069": (3, 3),
    "OK070": (20, 20),
    "OK071": (12, 13),  # オ 13/15 市町村（87%） 1市町村（増）
    "OK072": (8, 9),  # （増）
    "OK073": (5, 6),  # （増）
    "OK074": (10, 10),
    "OK075": (None, 3),  # （新）
    "OK076": (22, 26),  # カ 26/27市町村（96%） 4市町村（増）
    "OK077": (18, 22),  # (増)
    "OK078": (20, 24),  # （増）
    "OK079": (10, 12),  # （増）
    "OK080": (19, 20),  # キ 20/27市町村（74%） 1市町村（増）
}

# Who answers ○ where the seed says who: every municipality but 吉備中央町 set a target.
EXPLICIT: dict[str, frozenset[str]] = {
    "OK020": frozenset(m.code for m in municipalities_of(PREFECTURE) if m.code != "336815"),
}

# Typed items: item ID -> {fiscal year: value written}. 医療費通知の作成回数: 4 a year until
# FY2023, 2 from FY2024 (seed: 作成回数を4回から2回へ変更（新）).
TYPED: dict[str, dict[int, str]] = {"OK058": {2023: "4", 2024: "2"}}

# 収納率目標 (seed 004's last table): code -> ({year: cell text as printed}, 備考). Blank cells are
# absent. Cells whose year the PDF text leaves uncertain are marked "uncertain".
COLLECTION_RATE_TARGETS: dict[str, tuple[dict[int, str], str | None]] = {
    "331007": (  # 岡山市: R3 91.2% is a cell the PDF moved to the end of the page (uncertain)
        {2021: "91.2%", 2022: "93.5", 2023: "93.6", 2024: "93.70%", 2025: "93.90%"},
        "R４年2月、岡山市市税等滞納整理強化対策本部会議を開催し、第３期中期目標（令和４年度～令和７年度まで）の目標収納率を策定",
    ),
    "332020": (  # 倉敷市: one 前年度収納率を上回る in the PDF, read as R3–R6 (uncertain)
        {y: "前年度収納率を上回る" for y in (2021, 2022, 2023, 2024)},
        "各年度、倉敷市行財政改革プラン２０２０（令和２年度～令和６年度）に掲げる目標値を最低限上回り、全国での上位１０％を目安とする水準を目指したい。令和７年度～令和１１年度の目標値は、倉敷市行財政改革プラン２０２５が策定中であるため空欄にしている。",
    ),
    "332038": (  # 津山市
        {2021: "96.37%", 2022: "96.40%", 2023: "96.30%", 2024: "96.00%"},
        "津山市国民健康保険料収納対策緊急プランにて毎年度設定（R5年度実績95.94％）",
    ),
    "332046": (  # 玉野市: R3 94.1% and R4 94.0% are cells moved to the end of the page (uncertain)
        {2021: "94.1%", 2022: "94.0%", 2023: "94.1%", 2024: "95.0%"},
        "玉野市国民健康保険料収納対策緊急プランにて毎年度設定",
    ),
    "332054": (  # 笠岡市
        {2021: "95.50%", 2022: "95.80%", 2023: "96.10%", 2024: "96.40%"},
        "Ｒ4年度に笠岡市国民健康保険料収納対策緊急プランを改正し，Ｒ4年度～Ｒ６年度の目標収納率を設定",
    ),
    "332071": (  # 井原市: R5–R9 (後期 R5～R9 目標値96.0%)
        {2023: "96.00%", 2024: "96.0%", 2025: "96.0%", 2026: "96.0%", 2027: "96.0%"},
        "井原市国民健康保険税収納対策実施計画（H31.4.1～R3.3.31）、井原市第7次総合計画（前期：H30年度～R4年度 目標値94.0％、後期：R5年度～R9年度 目標値96.0%）",
    ),
    "332119": (  # 備前市
        {
            2021: "95.44%",
            2022: "94.02%",
            **{y: "95.02%" for y in range(2023, 2030)},
        },
        "収納対策基本方針で毎年度設定（前年度決算見込み以上）",
    ),
    "332089": (  # 総社市: three 95.20% in its row, three more moved to the end of the page: R3–R8 (uncertain)
        {y: "95.20%" for y in range(2021, 2027)},
        "総社市国民健康保険税収納対策実施計画にて設定",
    ),
    "332097": (  # 高梁市
        {y: "96%" for y in range(2021, 2025)},
        "令和６年度高梁市国民健康保険事業計画にて、国保税の収納率の目標値を設定",
    ),
    "332101": (  # 新見市
        {y: "97%" for y in range(2021, 2025)},
        "過年度の収納率を参考に97％を目標値に設定",
    ),
    "333468": (  # 和気町
        {2021: "96.0%", 2022: "96.2%", 2023: "97.0%", 2024: "95%"},
        "R6年度は収納率95％以上を目標として取り組む。",
    ),
    "334235": (  # 早島町: 前年度以上 is a cell moved to the end of the page, read as R4 (uncertain)
        {2022: "前年度以上", 2023: "95.0%", 2024: "95.0%"},
        "令和6年度早島町国民健康保険事業計画にて設定。",
    ),
    "334456": (  # 里庄町
        {y: "97.50%" for y in range(2021, 2030)},
        "里庄町国民健康保険税収納対策緊急プランで設定",
    ),
    "334618": (  # 矢掛町
        {2021: "98.0%", 2022: "98.0%", 2023: "98.2", 2024: "98.2%"},
        "2年ごとに定める矢掛町国民健康保険税収納対策実施計画にて設定",
    ),
    "335860": (  # 新庄村
        {y: "95%" for y in range(2021, 2025)},
        "国民健康保険事業計画にて設定（毎年度更新）",
    ),
    "336220": (  # 勝央町
        {y: "97.40%" for y in range(2021, 2027)},
        "過去の収納率を参考に、おおむね97.4%を目標とし収納に取り組む。",
    ),
    "336238": (  # 奈義町
        {2021: "96.00%", 2022: "97.00%", 2023: "97.00%", 2024: "97.00%"},
        "奈義町行財政改革(R2-R6)より97.0％以上を目標としている。",
    ),
    "332151": (  # 美作市
        {y: "95.00%" for y in range(2021, 2030)},
        "R6年度末の収納率を95.0％以上の達成を目標",
    ),
    "336432": (  # 西粟倉村
        {y: "99.11%" for y in range(2021, 2025)},
        "2年ごとに定める西粟倉村国民健康保険税収納対策実施計画にて設定",
    ),
    "336637": (  # 久米南町
        {2021: "97.50%", **{y: "98%" for y in range(2022, 2030)}},
        "久米南町国民健康保険税収納対策プランで収納目標を設定",
    ),
    "336815": (  # 吉備中央町: 【未設定】 read as the survey year's cell (uncertain whether it spans years)
        {2024: "【未設定】"},
        "滞納世帯個々のケースに対して、個別具体の対応を行うことに注力しており、現時点で全体の収納率については未設定",
    ),
    "332127": (  # 瀬戸内市: three cells, read as R4–R6 (uncertain)
        {y: "96.00%" for y in range(2022, 2025)},
        "瀬戸内市国民健康保険税収納対策実施計画にて設定",
    ),
    "332135": (  # 赤磐市: 95％以上 (R6) in its row; 95％以上 and 96％以上 moved to the end of the page, read as R4, R5 (uncertain)
        {2022: "95％以上", 2023: "96％以上", 2024: "95％以上"},
        "R6年度は収納率95.0％以上を目標として取り組む。",
    ),
    "332143": (  # 真庭市
        {
            **{y: "97.2%" for y in range(2021, 2024)},
            **{y: "98.3%" for y in range(2024, 2029)},
            2029: "-",
        },
        "令和6年8月開催の真庭市市税等滞納整理対策本部会議で、令和6年度から令和10年度までの収納率目標数値を策定。また毎年度実績を検証し、必要に応じて見直しを行う。",
    ),
    "336068": (  # 鏡野町
        {y: "95.0%" for y in range(2021, 2025)},
        "鏡野町国民健康保険税収納対策プランで毎年度収納目標を設定",
    ),
    "336661": ({y: "98.0%" for y in range(2021, 2030)}, None),  # 美咲町
    "332160": (  # 浅口市
        {2021: "94.9%", 2022: "95.9%", 2023: "95.9%", 2024: "96.0%", 2025: "96.0%", 2026: "96.1%"},
        "浅口市国民健康保険税収納率向上対策計画を作成。R4実績95.63％　R5実績95.05％",
    ),
}
TARGET_YEARS = tuple(range(2021, 2030))  # R3..R11


def _rank(item_id: str, codes: set[str] | frozenset[str]) -> list[str]:
    """The codes in an order fixed by item and code (no randomness between runs)."""
    return sorted(codes, key=lambda c: hashlib.sha256(f"{item_id}:{c}".encode()).hexdigest())


@dataclass(frozen=True)
class Answers:
    """Who answers ○ (item ID -> codes) in one fiscal year, and the typed values."""

    fiscal_year: int
    yes: dict[str, frozenset[str]]
    typed: dict[str, dict[str, str]]  # item ID -> code -> value written

    def entries(self, catalog: Catalog, code: str) -> Iterator[tuple[str, str, str, object]]:
        """(sheet key, row key, column, value) for demo.workbook.fill: ○ or blank for every check
        item, typed values, and the 収納率目標 rows with their 備考 (FY2024)."""
        answer = layout.SECTION_COLUMNS["answer"]
        for item in catalog.items:
            sheet = layout.section_sheet_key(item.section_no)
            if item.type == "check":
                value = YES if code in self.yes.get(item.id, frozenset()) else None
                yield sheet, layout.measure_key(item.id), answer, value
            elif item.id in self.typed and code in self.typed[item.id]:
                row = f"item:{item.id}:{self.fiscal_year}"
                yield sheet, row, answer, self.typed[item.id][code]
        if self.fiscal_year == 2024:
            cells, note = COLLECTION_RATE_TARGETS.get(code, ({}, None))
            for year in TARGET_YEARS:
                row = layout.target_key(TARGET_ID, year)
                yield layout.SHEET_TARGETS, row, layout.TARGET_COLUMNS["value"], cells.get(year)
                if year == TARGET_YEARS[0]:
                    yield layout.SHEET_TARGETS, row, layout.TARGET_COLUMNS["note"], note


def answers(catalogs: dict[int, Catalog]) -> dict[int, Answers]:
    """FY2023 and FY2024 answers for the two catalogs (keyed by fiscal year)."""
    all_codes = frozenset(m.code for m in municipalities_of(PREFECTURE))
    result: dict[int, dict[str, frozenset[str]]] = {year: {} for year in YEARS}
    newest = catalogs[YEARS[-1]]
    for item in newest.items:
        if item.type != "check":
            continue
        n23, n24 = COUNTS[item.id]
        if item.parent_id is None:
            pool = frozenset(newest.applicable_municipalities(item, sorted(all_codes)) or all_codes)
            order = sorted(EXPLICIT[item.id]) if item.id in EXPLICIT else _rank(item.id, pool)
        else:
            # A child among its parent's municipalities: last year's first, so that a child
            # never answers ○ where its parent does not, in either year.
            p23, p24 = result[2023][item.parent_id], result[2024][item.parent_id]
            order = _rank(item.id, p23) + _rank(item.id, p24 - p23)
            if n23 is not None and n23 > len(p23):
                raise ValueError(f"{item.id}: {n23} > parent's {len(p23)} in 2023")
        if n24 > len(order) or (n23 is not None and n23 > len(order)):
            raise ValueError(f"{item.id}: more municipalities than can answer")
        result[2024][item.id] = frozenset(order[:n24])
        if n23 is not None:
            result[2023][item.id] = frozenset(order[:n23])
    typed = {
        year: {
            item_id: {code: values[year] for code in sorted(all_codes)} for item_id, values in TYPED.items()
        }
        for year in YEARS
    }
    for year, catalog in catalogs.items():
        unknown = set(result[year]) - {i.id for i in catalog.items}
        if unknown:
            raise ValueError(f"FY{year}: items not in the catalog: {sorted(unknown)}")
    return {year: Answers(year, result[year], typed[year]) for year in YEARS}
