"""One-off converter: seed 001 (Saitama FY2024 published table) -> catalog YAML + published figures.

Kept for provenance; its output under data/ was reviewed by hand and is the source of truth.
Usage: python scripts/seed_to_catalog.py ../shared/seeds/001_d6dbb610e6891e87.txt
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

SECTION_RE = re.compile(r"^([123]) (保険税関係|保険給付関係|医療費適正化関係)\s*$")
SUBSECTION_RE = re.compile(r"^\((\d)\)\s*(.*)$")
GROUP_RE = re.compile(r"^(ア|イ) (.*)$")
SUBGROUP_RE = re.compile(r"^([①②③④])(.*)$")
SUBGROUP_NO = {"①": 1, "②": 2, "③": 3, "④": 4}


def clean_title(text: str) -> str:
    text = text.replace("<運営方針記載の主な取組>", "")
    text = re.sub(r"\(P\.\s*[\d~～ ]+\)", "", text)
    return text.strip()


def split_budget(text: str) -> list[str]:
    text = text.strip()
    if text in ("", "—"):
        return []
    return [part for part in re.split(r"[ \u3000]+", text) if part]


def main(seed: Path) -> None:
    sections: list[dict] = []
    published: list[dict] = []
    own: list[dict] = []
    table: dict | None = None
    mode = None
    sub = grp = sgp = None
    sec = None
    for raw in seed.read_text(encoding="utf-8").splitlines():
        line = raw.rstrip()
        if m := SECTION_RE.match(line):
            sec = {"no": int(m[1]), "title": m[2], "subsections": []}
            sections.append(sec)
            mode = None
            continue
        if sec is None or line.startswith(("- ", "<p>")):
            continue
        if (m := SUBSECTION_RE.match(line)) and "\t" not in line:
            sub = {"no": int(m[1]), "title": clean_title(m[2])}
            sec["subsections"].append(sub)
            grp = sgp = None
            mode = None
            continue
        if (m := GROUP_RE.match(line)) and "\t" not in line:
            grp = {"code": m[1], "title": m[2].strip(), "subgroups": []}
            sub.setdefault("groups", []).append(grp)
            mode = None
            continue
        if (m := SUBGROUP_RE.match(line)) and "\t" not in line:
            sgp = {"no": SUBGROUP_NO[m[1]], "title": m[2].strip()}
            grp["subgroups"].append(sgp)
            mode = None
            continue
        if line.startswith("【"):
            table = sgp if sgp is not None else sub
            table["measures"] = []
            tid = f"{sec['no']}-{sub['no']}" + (f"-{grp['code']}-{sgp['no']}" if sgp else "")
            mode = "measures"
            continue
        if line.startswith("<その他"):
            mode = "own"
            continue
        if not line.strip() or set(line.replace("\t", "")) <= {"-"}:
            continue
        if mode == "measures" and "\t" in line:
            parts = line.split("\t")
            label, count = parts[0].strip(), int(parts[1])
            budget = parts[2] if len(parts) > 2 else ""
            mid = f"M{sum(len(t.get('measures', [])) for t in all_tables(sections)) + 1:03d}"
            table["measures"].append({"id": mid, "label": label})
            published.append(
                {
                    "measure_id": mid,
                    "label": label,
                    "implementing_count": count,
                    "budget_lines": split_budget(budget),
                }
            )
        elif mode == "own" and "\t" in line:
            parts = [p.strip() for p in line.split("\t") if p.strip()]
            text = parts[0]
            budget = parts[1] if len(parts) > 1 else ""
            own.append(
                {"table_id": tid, "text": text, "budget_line": None if budget in ("", "—") else budget}
            )
        elif mode == "own":
            mode = None
    catalog = {
        "prefecture_code": "11",
        "fiscal_year": 2024,
        "title": "国民健康保険運営方針で目標設定した事業の取組状況調査",
        "catalog_version": "2024.1",
        "own_initiative_rows": 5,
        "sections": sections,
    }
    out = Path("data")
    with open(out / "catalogs" / "11_2024.yaml", "w", encoding="utf-8") as f:
        yaml.safe_dump(catalog, f, allow_unicode=True, sort_keys=False, width=200)
    with open(out / "demo" / "11_2024_published.yaml", "w", encoding="utf-8") as f:
        yaml.safe_dump(
            {
                "source": seed.name,
                "prefecture_code": "11",
                "fiscal_year": 2024,
                "municipality_total": 63,
                "measures": published,
                "own_initiatives": own,
            },
            f,
            allow_unicode=True,
            sort_keys=False,
            width=200,
        )
    print(len(published), "measures,", len(own), "own initiatives")


def all_tables(sections: list[dict]):
    for sec in sections:
        for sub in sec["subsections"]:
            if "measures" in sub:
                yield sub
            for grp in sub.get("groups", []):
                yield from grp["subgroups"]


if __name__ == "__main__":
    main(Path(sys.argv[1]))
