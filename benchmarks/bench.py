"""`kokuho bench`: the ingest at national scale, against the naive script and the parser's floor.

Generates N filled workbooks (default 1,741: one per municipality of Japan, from the FY2024 catalog
re-labelled as the nationwide pseudo-prefecture "00"), then times on the same files:

  (a) floor: python-calamine reading every cell of every sheet of every file, one process, nothing else;
  (b) naive: `pandas.read_excel(path, sheet_name=None)` per file (default engine), concatenated into
      one DataFrame, inserted into a fresh DuckDB file;
  (c) the project's full run, cold (fresh KOKUHO_HOME, empty database), end to end through
      `flows.ingest.run_ingest(..., export=True)`;
  (d) the same run again, nothing changed;
  (e) the same run again after one workbook was re-submitted with a different answer.

Each repetition of (c)-(e) runs in a fresh Python process (its memory and caches its own, as in a
nightly `kokuho run`) against one `prefect server start` launched once on a free loopback port
(PREFECT_API_URL; an already set PREFECT_API_URL is used as is; --ephemeral: Prefect's temporary
server in each process). Server start-up, each process's imports and its first flow are reported
as start-up, apart from every figure. The peak RSS of (c) is the larger of the psutil-sampled sum
(every 20 ms) of the run process and the processes it started during the run (extraction workers)
and the run process's kernel high-water mark (VmHWM); the Prefect server is not counted. Per-task wall times come
from the Prefect API; --profile adds one cold run under cProfile. Figures are medians of --repeat.

See docs/benchmark.md for what each figure means and the measured results.

Exit code: 0 when every requested part ran (targets missed or not), 1 when a part could not run
(e.g. the full run while stages are still being written), 2 for a usage error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from kokuho import layout
from kokuho.config import data_dir, project_root

__all__ = [
    "BENCH_PREFECTURE",
    "DEFAULT_N",
    "TARGETS",
    "WorkbookSet",
    "BenchOptions",
    "run_bench",
    "change_one",
    "generate_workbooks",
    "naive_script",
    "analyst_script",
    "analyst_available",
    "bench_years",
    "read_floor",
]

DEFAULT_N = 1741  # municipalities of Japan
DEFAULT_SEED = 2024
DEFAULT_REPEAT = 3
MAX_YEARS = 20
BENCH_PREFECTURE = "00"  # the nationwide pseudo-prefecture (kokuho.municipalities.NATIONAL)
BENCH_YEAR = 2024
SOURCE_CATALOG = "11_2024.yaml"  # the FY2024 survey, re-labelled nationwide
GENERATOR_VERSION = "2"  # bump when the generated content changes, to invalidate caches
GIB = 1 << 30
MIB = 1 << 20

# The benchmark's targets: (label, how the figure is computed, passes).
TARGETS: tuple[tuple[str, str], ...] = (
    ("c at least 5x faster than b", "b/c >= 5"),
    ("c within 2x a (start-up excluded)", "c/a <= 2"),
    ("c no slower than b2", "c <= b2"),
    ("c grows no faster than N (+5%)", "c(N)/c(n) <= 1.05 N/n"),
    ("d at most 5% of its c (all history)", "d/c <= 0.05"),
    ("peak RSS of c at most 1 GiB (largest N)", "peak <= 1 GiB"),
)

_ZIP_TIME = (2024, 6, 1, 9, 0, 0)  # fixed, so the same seed gives byte-identical files
_CODE_MARK = "@@KOKUHO_BENCH_CODE@@"
_NAME_MARK = "@@KOKUHO_BENCH_NAME@@"


# ==============================================================================================
# Workbook generation
# ==============================================================================================


@dataclasses.dataclass(frozen=True)
class WorkbookSet:
    """N generated workbooks in `files_dir`, plus the catalog folder the run must use."""

    files_dir: Path
    catalog_dir: Path
    paths: tuple[Path, ...]
    generated_seconds: float | None  # None when reused from the cache
    total_bytes: int
    year: int = BENCH_YEAR


@dataclasses.dataclass(frozen=True)
class _Slot:
    """One empty answer cell of the base template, by its position in a sheet part."""

    start: int
    end: int
    ref: str
    style: str  # ' s="12"' or ''


@dataclasses.dataclass
class _Base:
    """The base template's zip parts, split around the answer cells filled per municipality."""

    order: list[str]
    parts: dict[str, bytes]  # parts copied as they are
    sheets: dict[str, tuple[str, list[_Slot]]]  # part name -> (xml text, slots in order)
    keys: dict[str, dict[str, int]]  # sheet key (A1) -> row key -> row number
    sheet_parts: dict[str, str]  # sheet key -> part name


def bench_years(years: int) -> list[int]:
    """The fiscal years of a benchmark of `years` years: the latest last (BENCH_YEAR)."""
    return list(range(BENCH_YEAR - years + 1, BENCH_YEAR + 1))


def write_bench_catalog(catalog_dir: Path, year: int = BENCH_YEAR) -> Path:
    """Copy the FY2024 catalog as the nationwide survey 00_<year>.yaml into `catalog_dir` (for an
    earlier year, the same questions asked that year: a history of surveys alike)."""
    source = data_dir() / "catalogs" / SOURCE_CATALOG
    text = source.read_text(encoding="utf-8")
    text, count = re.subn(
        r"^prefecture_code:.*$", f"prefecture_code: '{BENCH_PREFECTURE}'", text, count=1, flags=re.M
    )
    if count != 1:
        raise ValueError(f"{source}: prefecture_code がありません")
    if year != BENCH_YEAR:
        text, count = re.subn(r"^fiscal_year:.*$", f"fiscal_year: {year}", text, count=1, flags=re.M)
        if count != 1:
            raise ValueError(f"{source}: fiscal_year がありません")
        text = re.sub(r"^catalog_version:.*$", f"catalog_version: '{year}.1'", text, count=1, flags=re.M)
    catalog_dir.mkdir(parents=True, exist_ok=True)
    target = catalog_dir / f"{BENCH_PREFECTURE}_{year}.yaml"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return target


def _placeholder_municipality() -> Any:
    from kokuho.municipalities import Municipality

    # The base template is written once for a placeholder that each file's code and name replace.
    return Municipality(
        code=_CODE_MARK,
        prefecture_code=BENCH_PREFECTURE,
        prefecture_name="全国",
        name=_NAME_MARK,
        kana="",
        kind="市",
    )


_EMPTY_CELL = re.compile(r'<c r="([A-Z]+)(\d+)"((?: s="\d+")?)(?: t="n")? ?/>')


def _sheet_part_names(parts: dict[str, bytes]) -> dict[str, str]:
    """Sheet title -> zip part name, from workbook.xml and its relationships."""
    from defusedxml import ElementTree

    ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    rels = ElementTree.fromstring(parts["xl/_rels/workbook.xml.rels"])
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    workbook = ElementTree.fromstring(parts["xl/workbook.xml"])
    names = {}
    for sheet in workbook.iter(f"{ns_main}sheet"):
        target = targets[sheet.get(f"{ns_rel}id")].lstrip("/")
        names[sheet.get("name")] = target if target.startswith("xl/") else f"xl/{target}"
    return names


def _load_base(catalog_path: Path, scratch: Path) -> _Base:
    from openpyxl import load_workbook

    from demo.workbook import row_index
    from kokuho.catalog import load_catalog
    from kokuho.templates import write_template

    catalog = load_catalog(catalog_path)
    base_path = write_template(catalog, _placeholder_municipality(), scratch / "base.xlsx")
    with zipfile.ZipFile(base_path) as archive:
        order = archive.namelist()
        parts = {name: archive.read(name) for name in order}

    keys: dict[str, dict[str, int]] = {}
    sheet_parts: dict[str, str] = {}
    titles = _sheet_part_names(parts)
    wb = load_workbook(base_path, read_only=True)
    try:
        for ws in wb.worksheets:
            rows = row_index(ws)
            sheet_key = next((key for key, row in rows.items() if row == 1), None)
            if sheet_key is not None:
                keys[sheet_key] = rows
                sheet_parts[sheet_key] = titles[ws.title]
    finally:
        wb.close()

    # write_template stamps the time it ran; a fixed one makes the same seed give the same bytes.
    for name in order:
        if name.startswith("docProps/"):
            parts[name] = re.sub(
                rb"(<dcterms:(?:created|modified)\b[^>]*>)[^<]*", rb"\g<1>2024-06-01T00:00:00Z", parts[name]
            )

    sheets: dict[str, tuple[str, list[_Slot]]] = {}
    for part in sheet_parts.values():
        text = parts.pop(part).decode("utf-8")
        slots = [
            _Slot(m.start(), m.end(), f"{m[1]}{m[2]}", m[3])
            for m in _EMPTY_CELL.finditer(text)
            if "<sheetData>" in text[: m.start()]
        ]
        sheets[part] = (text, slots)
    return _Base(order=order, parts=parts, sheets=sheets, keys=keys, sheet_parts=sheet_parts)


def _answers(
    base: _Base, catalog: Any, index: int, seed: int, variant: int, year: int = BENCH_YEAR
) -> dict[str, dict[str, object]]:
    """Deterministic answers of one municipality: part name -> cell ref -> value.

    Realistic mixes: each municipality implements its own share of measures (15-85 %), writes a
    budget line for some, an own initiative in a few tables, and numeric targets in the forms
    municipalities use (95.0 / 95％以上 / 前年度以上 / 【未設定】 / a number).
    """
    # Each year's answers differ; the latest year's are those of the one-year benchmark.
    rng = random.Random(f"{seed}:{index}" if year == BENCH_YEAR else f"{seed}:{year}:{index}")
    cells: dict[str, dict[str, object]] = {part: {} for part in base.sheets}
    sec = layout.SECTION_COLUMNS
    tgt = layout.TARGET_COLUMNS

    cover = base.keys[layout.SHEET_COVER]
    cover_cells = cells[base.sheet_parts[layout.SHEET_COVER]]
    contact = {
        "contact:department": "国保年金課" if rng.random() < 0.6 else "保険年金課",
        "contact:person": f"担当者{index % 97 + 1}",
        "contact:phone": f"0{rng.randint(10, 99)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        "contact:email": f"kokuho{index}@example.lg.jp",
    }
    for key, value in contact.items():
        cover_cells[f"{layout.COVER_VALUE_COLUMN}{cover[key]}"] = value

    share = rng.uniform(0.15, 0.85)
    for section in catalog.sections:
        sheet_key = layout.section_sheet_key(section.no)
        rows = base.keys[sheet_key]
        out = cells[base.sheet_parts[sheet_key]]
        for table in catalog.tables_of(section.no):
            for measure in table.measures:
                row = rows[layout.measure_key(measure.id)]
                if rng.random() < share:
                    out[f"{sec['answer']}{row}"] = "○" if rng.random() < 0.95 else "〇"
                    if rng.random() < 0.1:
                        out[f"{sec['budget_line']}{row}"] = f"{measure.label[:14]}事業"
                    if rng.random() < 0.03:
                        out[f"{sec['note']}{row}"] = "令和6年度から実施"
            if rng.random() < 0.12:
                row = rows[layout.own_key(table.table_id, 1)]
                out[f"{sec['label']}{row}"] = f"独自の取組（{table.table_id}）：窓口での個別相談"
                if rng.random() < 0.5:
                    out[f"{sec['budget_line']}{row}"] = "独自取組推進事業"

    if catalog.numeric_targets:
        rows = base.keys[layout.SHEET_TARGETS]
        out = cells[base.sheet_parts[layout.SHEET_TARGETS]]
        for item in catalog.numeric_targets:
            level = rng.uniform(88.0, 99.0)
            for year in item.years(catalog.fiscal_year):
                ref = f"{tgt['value']}{rows[layout.target_key(item.id, year)]}"
                form = rng.random()
                if form < 0.55:
                    out[ref] = f"{level:.1f}"
                elif form < 0.7:
                    out[ref] = round(level, 1)  # typed as a number
                elif form < 0.82:
                    out[ref] = f"{level:.0f}％以上"
                elif form < 0.92:
                    out[ref] = "前年度以上"
                else:
                    out[ref] = "【未設定】"
                level = min(level + 0.3, 99.9)

    if variant:
        # A re-submission: the first measure's answer flipped, so exactly one answer differs.
        first = catalog.measures[0]
        sheet_key = layout.section_sheet_key(first.section_no)
        out = cells[base.sheet_parts[sheet_key]]
        ref = f"{sec['answer']}{base.keys[sheet_key][layout.measure_key(first.id)]}"
        if ref in out:
            del out[ref]
        else:
            out[ref] = "○"
    return cells


def _cell_xml(ref: str, style: str, value: object) -> str:
    if isinstance(value, int | float):
        return f'<c r="{ref}"{style}><v>{value!r}</v></c>'
    return f'<c r="{ref}"{style} t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def _render_sheet(text: str, slots: list[_Slot], values: dict[str, object]) -> str:
    pieces: list[str] = []
    pos = 0
    for slot in slots:
        value = values.get(slot.ref)
        if value is None:
            continue
        pieces.append(text[pos : slot.start])
        pieces.append(_cell_xml(slot.ref, slot.style, value))
        pos = slot.end
    pieces.append(text[pos:])
    return "".join(pieces)


def _write_workbook(
    base: _Base, catalog: Any, muni: Any, index: int, seed: int, path: Path, variant: int = 0
) -> None:
    answers = _answers(base, catalog, index, seed, variant, catalog.fiscal_year)
    code, name = escape(muni.code), escape(muni.name)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".xlsx", dir=path.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in base.order:
                if part in base.sheets:
                    text, slots = base.sheets[part]
                    xml = _render_sheet(text, slots, answers[part])
                    data = xml.replace(_CODE_MARK, code).replace(_NAME_MARK, name).encode("utf-8")
                else:
                    data = base.parts[part]
                info = zipfile.ZipInfo(part, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cache_key(n: int, seed: int, catalog_text: str) -> str:
    digest = hashlib.sha256(f"{GENERATOR_VERSION}\n{n}\n{seed}\n{catalog_text}".encode()).hexdigest()
    return digest[:12]


def _prepare(workdir: Path, year: int = BENCH_YEAR) -> tuple[Path, Path, Any, list[Any]]:
    """Catalog folder, catalog file, loaded catalog and the nationwide municipality list."""
    from kokuho.catalog import load_catalog
    from kokuho.municipalities import municipalities_of

    catalog_dir = workdir / "catalogs"
    catalog_path = write_bench_catalog(catalog_dir, year)
    return catalog_dir, catalog_path, load_catalog(catalog_path), municipalities_of(BENCH_PREFECTURE)


def generate_workbooks(
    n: int = DEFAULT_N,
    seed: int = DEFAULT_SEED,
    workdir: Path | str = "kokuho_bench",
    year: int = BENCH_YEAR,
) -> WorkbookSet:
    """N filled workbooks (municipalities_of("00")[:n]) of fiscal `year` under workdir, reused
    when already there (each year's set cached on its own).

    The base template comes from kokuho.templates.write_template (nationwide catalog 00_<year>.yaml
    in workdir/catalogs); each file is that template with the municipality's code and name and
    its answers patched in at the XML level, which takes milliseconds per file instead of the
    ~0.2 s of writing and filling a workbook with openpyxl.
    """
    workdir = Path(workdir).resolve()
    catalog_dir, catalog_path, catalog, municipalities = _prepare(workdir, year)
    if not 1 <= n <= len(municipalities):
        raise ValueError(f"n must be between 1 and {len(municipalities)} (one workbook per municipality)")
    chosen = municipalities[:n]
    key = _cache_key(n, seed, catalog_path.read_text(encoding="utf-8"))
    set_name = f"workbooks_n{n}_seed{seed}" if year == BENCH_YEAR else f"workbooks_{year}_n{n}_seed{seed}"
    set_dir = workdir / set_name
    files_dir = set_dir / "files"
    manifest = set_dir / "manifest.json"
    names = [layout.template_file_name(m.code, m.name, year) for m in chosen]

    if manifest.is_file():
        with contextlib.suppress(ValueError, OSError):
            recorded = json.loads(manifest.read_text(encoding="utf-8"))
            paths = tuple(files_dir / name for name in names)
            if recorded.get("key") == key and all(p.is_file() for p in paths):
                return WorkbookSet(files_dir, catalog_dir, paths, None, int(recorded["bytes"]), year)

    started = time.perf_counter()
    if set_dir.exists():
        shutil.rmtree(set_dir)
    files_dir.mkdir(parents=True)
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        base = _load_base(catalog_path, Path(scratch))
    written: list[Path] = []
    for index, (muni, name) in enumerate(zip(chosen, names, strict=True)):
        path = files_dir / name
        _write_workbook(base, catalog, muni, index, seed, path)
        written.append(path)
    paths = tuple(written)
    total = sum(p.stat().st_size for p in paths)
    manifest.write_text(json.dumps({"key": key, "n": n, "seed": seed, "bytes": total}), encoding="utf-8")
    return WorkbookSet(files_dir, catalog_dir, tuple(paths), time.perf_counter() - started, total, year)


def change_one(
    workbooks: WorkbookSet, target: Path, seed: int = DEFAULT_SEED, index: int | None = None
) -> Path:
    """Write at `target` a re-submission of one workbook (default: the middle one) whose first
    measure's answer differs from the original; returns `target`."""
    workdir = workbooks.files_dir.parent.parent
    _, catalog_path, catalog, municipalities = _prepare(workdir, workbooks.year)
    index = len(workbooks.paths) // 2 if index is None else index
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        base = _load_base(catalog_path, Path(scratch))
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_workbook(base, catalog, municipalities[index], index, seed, target, variant=1)
    return target


# ==============================================================================================
# (a) floor and (b) naive script
# ==============================================================================================


def read_floor(paths: list[Path] | tuple[Path, ...]) -> int:
    """(a) python-calamine reading every cell of every sheet of every file; returns the cell count."""
    from python_calamine import CalamineWorkbook

    cells = 0
    for path in paths:
        workbook = CalamineWorkbook.from_path(str(path))
        try:
            for name in workbook.sheet_names:
                rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
                cells += sum(len(row) for row in rows)
        finally:
            workbook.close()
    return cells


def naive_script(paths: list[Path] | tuple[Path, ...], db_path: Path) -> int:
    """(b) what an analyst would write: read_excel every sheet (default engine), concat, DuckDB.

    header=None so that every sheet's columns line up (0, 1, 2, ...) in one table; returns rows.
    """
    import duckdb
    import pandas as pd

    frames = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' notice that its default engine will change
        for path in paths:
            for sheet, frame in pd.read_excel(path, sheet_name=None, header=None).items():
                frame.insert(0, "sheet", sheet)
                frame.insert(0, "file", path.name)
                frames.append(frame)
    cells = pd.concat(frames, ignore_index=True)
    cells.columns = [str(c) for c in cells.columns]
    db_path.unlink(missing_ok=True)
    con = duckdb.connect(str(db_path))
    try:
        con.register("cells_frame", cells)
        con.execute("CREATE TABLE cells AS SELECT * FROM cells_frame")
        ((count,),) = con.execute("SELECT count(*) FROM cells").fetchall()
        return int(count)
    finally:
        con.close()


BENCH_EXTRA_INSTALL = ".venv/bin/pip install --require-hashes --no-deps -r requirements-bench.lock"


def analyst_available() -> str | None:
    """None when (b2)'s libraries import; else why not, with how to install them."""
    try:
        import fastexcel  # noqa: F401
        import polars  # noqa: F401
    except ImportError as exc:
        return (
            f"{exc.name or exc} がありません / not installed: the optional extra 'bench' "
            f"(python3.11 dev.py bench-extra, or {BENCH_EXTRA_INSTALL})"
        )
    return None


def analyst_script(paths: list[Path] | tuple[Path, ...], db_path: Path) -> int:
    """(b2) what an analyst who knows the field in 2026 writes: fastexcel (calamine) reads every
    sheet of every file into polars, no header, every cell as text; one frame with the file and
    sheet per row, into a fresh DuckDB file. Returns rows."""
    import duckdb
    import fastexcel
    import polars as pl

    frames = []
    for path in paths:
        reader = fastexcel.read_excel(str(path))
        for sheet in reader.sheet_names:
            frame = reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars()
            frames.append(frame.with_columns(file=pl.lit(path.name), sheet=pl.lit(sheet)))
    # Sheets differ in width: columns are matched by name, missing ones are null.
    cells = pl.concat(frames, how="diagonal_relaxed")
    db_path.unlink(missing_ok=True)
    con = duckdb.connect(str(db_path))
    try:
        con.register("cells_frame", cells.to_arrow())
        con.execute("CREATE TABLE cells AS SELECT * FROM cells_frame")
        ((count,),) = con.execute("SELECT count(*) FROM cells").fetchall()
        return int(count)
    finally:
        con.close()


def _naive_engine() -> str:
    """The engine pandas' read_excel picks for .xlsx when none is given."""
    import pandas as pd

    engine = str(pd.get_option("io.excel.xlsx.reader"))
    if engine == "auto":
        with contextlib.suppress(Exception):
            from pandas.io.excel._util import get_default_engine

            engine = get_default_engine("xlsx", mode="reader")
    return f"{engine}, pandas {pd.__version__}"


# ==============================================================================================
# (c), (d), (e): the full run, in a child process
# ==============================================================================================


class _RssSampler:
    """Samples RSS of this process plus the processes it started after `start()` (every 20 ms).

    A child caught between fork and exec still shows the parent's pages as its own RSS; such a
    child (same command line as this process) is left out of that sample rather than counted twice.
    """

    def __init__(self, interval: float = 0.02) -> None:
        import psutil

        self._psutil = psutil
        self._me = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.before = {p.pid for p in self._me.children(recursive=True)}
        self.peak_total = 0
        self.peak_self = 0
        self.peak_workers = 0
        self.peak_children = 0
        self.start_self = 0
        self._cmdline = self._me.cmdline()
        self.timeline: list[tuple[float, int]] = []  # (epoch seconds, run process + workers RSS)
        # Kernels built without CONFIG_PROC_CHILDREN have no such file: psutil's way then.
        self._proc_children = Path(f"/proc/{self._me.pid}/task/{self._me.pid}/children").is_file()
        self._execed: set[int] = set()

    def _sample(self) -> None:
        psutil = self._psutil
        own = _statm_rss(self._me.pid)
        if own is None:
            own = self._me.memory_info().rss
        workers = 0
        count = 0
        for pid in self._children():
            if pid in self.before:
                continue
            with contextlib.suppress(psutil.Error, OSError, ValueError):
                if pid not in self._execed:
                    if psutil.Process(pid).cmdline() == self._cmdline:
                        continue  # forked, not yet exec'd: its pages are this process's
                    self._execed.add(pid)
                rss = _statm_rss(pid)
                workers += rss if rss is not None else psutil.Process(pid).memory_info().rss
                count += 1
        self.peak_self = max(self.peak_self, own)
        self.peak_workers = max(self.peak_workers, workers)
        self.peak_total = max(self.peak_total, own + workers)
        self.timeline.append((time.time(), own + workers))
        self.peak_children = max(self.peak_children, count)

    def _children(self) -> list[int]:
        """Every process started below this one. From /proc/<pid>/task/*/children where Linux
        has it: psutil finds children by reading every process of the machine, ~0.7 ms of CPU a
        sample, taken from the very run being measured."""
        if not self._proc_children:
            return [child.pid for child in self._me.children(recursive=True)]
        found: list[int] = []
        queue = [self._me.pid]
        while queue:
            pid = queue.pop()
            # A process or thread that ends while it is read simply has no children left.
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                for task in Path(f"/proc/{pid}/task").iterdir():
                    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                        kids = [int(k) for k in (task / "children").read_text(encoding="ascii").split()]
                        found += kids
                        queue += kids
        return found

    def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self._sample()
            self._stop.wait(self._interval)

    def __enter__(self) -> _RssSampler:
        self._sample()
        self.start_self = self.peak_self
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(Exception):
            self._sample()

    def infrastructure_rss(self) -> int:
        total = 0
        for pid in self.before:
            with contextlib.suppress(self._psutil.Error):
                total += self._psutil.Process(pid).memory_info().rss
        return total


def _statm_rss(pid: int) -> int | None:
    """Resident set size of `pid` in bytes from /proc/<pid>/statm (None where there is none)."""
    try:
        resident = int(Path(f"/proc/{pid}/statm").read_text(encoding="ascii").split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return resident * os.sysconf("SC_PAGE_SIZE")


def _ru_maxrss() -> int:
    """This process's lifetime peak RSS in bytes (a cross-check of the sampler).

    On Linux, VmHWM of /proc/self/status: getrusage's ru_maxrss also carries the peak of the
    parent at fork time over exec (measured: each repetition started after the naive script
    reported the benchmark process's 1,136 MiB, whatever the run did)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # kilobytes on Linux


def _link_tree(source: Path, target: Path) -> None:
    """The inbox of one repetition: hard links to the cached workbooks (copies if links fail)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        if path.is_file():
            try:
                os.link(path, target / path.name)
            except OSError:
                shutil.copy2(path, target / path.name)


def _summary_counts(result: object) -> dict[str, object]:
    if not isinstance(result, dict):
        return {}
    return {
        k: v
        for k, v in result.items()
        if k not in {"text", "markdown", "flow_run_id"}
        and isinstance(v, int | float)
        and not isinstance(v, bool)
    }


def _quarantine_codes(quarantine_dir: Path) -> dict[str, int]:
    """Issue code -> files set aside with it, from the quarantine's reasons.csv files."""
    import csv

    codes: dict[str, int] = {}
    for reasons in quarantine_dir.glob("*/reasons.csv"):
        with (
            contextlib.suppress(OSError, csv.Error),
            reasons.open(encoding="utf-8-sig", newline="") as handle,
        ):
            for code in {row.get("code") or "?" for row in csv.DictReader(handle)}:
                codes[code] = codes.get(code, 0) + 1
    return codes


def _stage_spans(flow_run_id: str) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, int]]]:
    """Task name -> (first start, last end) as epoch seconds over one flow run's task runs, and task
    name -> (summed wall time, task runs), from the Prefect API: where the run's time goes, stage
    by stage (a run of several chunks interleaves its tasks: the sums say it then)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    spans: dict[str, tuple[float, float]] = {}
    totals: dict[str, tuple[float, int]] = {}
    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run_id)]))
        )
    for task_run in task_runs:
        if task_run.start_time is None or task_run.end_time is None:
            continue
        name = re.sub(r"-[0-9a-f]{3}$", "", task_run.name)  # "extract-chunk-328" -> "extract-chunk"
        start, end = task_run.start_time.timestamp(), task_run.end_time.timestamp()
        first, last = spans.get(name, (start, end))
        spans[name] = (min(first, start), max(last, end))
        total, count = totals.get(name, (0.0, 0))
        totals[name] = (total + end - start, count + 1)
    ordered = dict(sorted(spans.items(), key=lambda kv: kv[1][0]))
    return ordered, {name: totals[name] for name in ordered}


def _timed_run(run_ingest: Callable[..., Any], settings: Any, run: dict[str, Any], key: str) -> float:
    started = time.perf_counter()
    result = run_ingest(settings, export=True)
    elapsed = time.perf_counter() - started
    run[f"{key}_counts"] = _summary_counts(result)
    with contextlib.suppress(Exception):  # a breakdown is a bonus; the timing stands without it
        spans, totals = _stage_spans(str(result["flow_run_id"]))
        run[f"{key}_spans"] = spans
        run[f"{key}_stages"] = {name: round(total, 3) for name, (total, _) in totals.items()}
        run[f"{key}_task_runs"] = {name: count for name, (_, count) in totals.items()}
    return elapsed


def _peak_by_stage(timeline: list[tuple[float, int]], spans: dict[str, Any]) -> dict[str, int]:
    """Largest sampled RSS (run process + its workers) while each task ran."""
    peaks = {}
    for name, (start, end) in spans.items():
        inside = [rss for at, rss in timeline if start <= at <= end]
        if inside:
            peaks[name] = max(inside)
    return peaks


def _fresh_home(runs_dir: Path, name: str, files_dirs: list[Path]) -> tuple[Path, Path]:
    home = runs_dir / name
    if home.exists():
        shutil.rmtree(home)
    inbox = home / "inbox"
    for files_dir in files_dirs:
        # Several fiscal years' workbooks in one inbox, a folder each, as a prefecture keeps them.
        _link_tree(files_dir, inbox / files_dir.parent.name if len(files_dirs) > 1 else inbox)
    return home, inbox


def _profile_cold_run(run_ingest: Callable[..., Any], settings: Any, out: Path) -> list[str]:
    """One more cold run under cProfile (main thread: scan, stage and validate, load, export;
    extraction runs in worker processes and shows as waiting). Returns the top lines."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        run_ingest(settings, export=True)
    finally:
        profiler.disable()
    profiler.dump_stats(str(out.with_suffix(".prof")))
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(60)
    stats.sort_stats("tottime").print_stats(30)
    out.write_text(text.getvalue(), encoding="utf-8")
    return _profile_summary(stats)


def _profile_summary(stats: Any, project: int = 14, library: int = 6) -> list[str]:
    """The project's functions by cumulative time, then the library functions with the most own
    time (what the project's calls end up doing)."""
    root = project_root()
    own: list[tuple[float, str]] = []
    lib: list[tuple[float, str]] = []
    for (file, line, func), (_, calls, tottime, cumulative, _) in stats.stats.items():
        path = Path(file)
        if "site-packages" not in file and path.is_relative_to(root) and path.name != "bench.py":
            own.append(
                (
                    cumulative,
                    f"{cumulative:8.2f} s cumulative {calls:>8} calls  {path.relative_to(root)}:{line}({func})",
                )
            )
        else:
            where = file.split("site-packages/", 1)[-1] if "site-packages/" in file else file
            lib.append((tottime, f"{tottime:8.2f} s own time   {calls:>8} calls  {where}:{line}({func})"))
    return [text for _, text in sorted(own, reverse=True)[:project]] + [
        text for _, text in sorted(lib, reverse=True)[:library]
    ]


_IMPORTS = (
    ("prefect", "prefect"),
    ("great_expectations", "great_expectations"),
    ("project", "flows.ingest"),
    ("project", "flows.steps"),
    ("project", "extract.sandbox"),
    ("project", "transform.staging"),
    ("project", "expectations.validate"),
    ("project", "load.warehouse"),
    ("project", "load.export_excel"),
)


def _child_main(params_path: Path) -> int:
    """One repetition in a fresh process: start-up (imports, a trivial flow), then (c), (d), (e);
    or, with params["profile"], one cold run under cProfile. Writes its figures to params["out"]."""
    params = json.loads(params_path.read_text(encoding="utf-8"))
    out = Path(params["out"])
    report: dict[str, Any] = {"error": None, "stage": None}

    def save() -> None:
        out.write_text(json.dumps(report, ensure_ascii=False, default=str), encoding="utf-8")

    stage = "start-up"
    try:
        from kokuho.config import Settings, apply_offline_env

        apply_offline_env()
        imports: dict[str, float] = {}
        for label, module in _IMPORTS:
            started = time.perf_counter()
            __import__(module)
            imports[label] = imports.get(label, 0.0) + time.perf_counter() - started
        report["imports"] = imports

        from prefect import flow

        from flows.ingest import run_ingest, without_heartbeat

        @flow(name="kokuho-bench-noop", log_prints=False)
        def noop() -> int:
            return 1

        # The first flow of a process pays for the client (and, without PREFECT_API_URL, for
        # starting the ephemeral server); a second shows the fixed cost of any flow run.
        # As run_ingest runs its flow: without Prefect's heartbeat thread (see without_heartbeat).
        with without_heartbeat():
            started = time.perf_counter()
            noop()
            report["first_flow"] = time.perf_counter() - started
            started = time.perf_counter()
            noop()
            report["noop_flow"] = time.perf_counter() - started
        save()

        files_dirs = [Path(d) for d in params["files_dirs"]]
        home, inbox = _fresh_home(Path(params["runs_dir"]), params["name"], files_dirs)
        settings = Settings.resolve(
            home=home, inbox=inbox, prefecture_code=BENCH_PREFECTURE, fiscal_year=BENCH_YEAR
        )
        if params.get("profile"):
            stage = "profile"
            report["profile"] = _profile_cold_run(run_ingest, settings, Path(params["profile_out"]))
            save()
            return 0

        stage = "c"
        report["ru_maxrss_before_c"] = _ru_maxrss()
        server_pid = params.get("server_pid")
        cpu_before = (
            _cpu_seconds(children=False),
            _cpu_seconds(children=True),
            _process_tree_cpu(server_pid),
        )
        with _RssSampler() as sampler:
            report["c"] = _timed_run(run_ingest, settings, report, "c")
        # Every extraction worker has been waited for when the run returns: their CPU time is
        # this process's children's.
        server_after = _process_tree_cpu(server_pid)
        report["c_cpu"] = {
            "run_process": _cpu_seconds(children=False) - cpu_before[0],
            "workers": _cpu_seconds(children=True) - cpu_before[1],
            "server": None if server_after is None or cpu_before[2] is None else server_after - cpu_before[2],
        }
        report["rss_before"] = sampler.start_self
        report["peak_total"] = sampler.peak_total
        report["peak_self"] = sampler.peak_self
        report["peak_workers"] = sampler.peak_workers
        report["worker_processes"] = sampler.peak_children
        report["infrastructure_rss"] = sampler.infrastructure_rss()
        report["ru_maxrss_self"] = _ru_maxrss()
        report["quarantine_codes"] = _quarantine_codes(settings.quarantine_dir)
        report["c_stage_peak_rss"] = _peak_by_stage(sampler.timeline, report.get("c_spans") or {})
        save()

        stage = "d"
        report["d"] = _timed_run(run_ingest, settings, report, "d")
        save()

        stage = "e"
        changed = Path(params["changed"])
        tmp = inbox / f".{changed.name}.tmp"  # hidden: never scanned half-written
        shutil.copyfile(changed, tmp)
        os.replace(tmp, inbox / changed.name)  # new inode: the cached original stays untouched
        report["e"] = _timed_run(run_ingest, settings, report, "e")
        save()
    except BaseException as exc:  # report what could not run; the parent prints it
        report["error"] = f"{type(exc).__name__}: {exc}"
        report["stage"] = stage
        report["traceback"] = traceback.format_exc()
        report["unavailable"] = isinstance(exc, ImportError | NotImplementedError | AttributeError)
        save()
        return 1
    save()
    return 0


def _run_child(params: dict[str, Any], workdir: Path, env: dict[str, str]) -> tuple[dict[str, Any], Path]:
    name = params["name"]
    params_path = workdir / f"full_run_{name}.params.json"
    log_path = workdir / f"full_run_{name}.log"
    out = workdir / f"full_run_{name}.json"
    params = {**params, "out": str(out)}
    params_path.write_text(json.dumps(params), encoding="utf-8")
    out.unlink(missing_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench", "--child", str(params_path)],
            cwd=str(project_root()),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
        wall = time.perf_counter() - started
    try:
        report = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = {"error": f"the benchmark's child process exited with {proc.returncode} and no figures"}
    report["child_wall"] = wall
    report["log"] = str(log_path)
    return report, log_path


class _PrefectServer:
    """A `prefect server start` on a free loopback port for the whole benchmark, so that every
    repetition runs against an already running server (as `kokuho serve` does) and the server's
    start-up is measured once, apart from every figure."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.started_in: float | None = None
        self.error: str | None = None

    def start(self, timeout: float = 180.0) -> bool:
        import socket
        import urllib.request

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/api"
        log = (self.workdir / "prefect_server.log").open("wb")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
            + ["--port", str(port), "--analytics-off", "--no-ui"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() ends it and only it
        )
        log.close()
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                self.error = f"prefect server exited with {self.proc.returncode} (log: prefect_server.log)"
                return False
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/health", timeout=2) as reply,  # noqa: S310 (loopback)
            ):
                if reply.status == 200:
                    self.started_in = time.perf_counter() - started
                    return True
            time.sleep(0.2)
        self.error = f"prefect server did not answer within {timeout:.0f} s"
        self.stop()
        return False

    def rss(self) -> int:
        """Resident memory of the server and its children, bytes."""
        import psutil

        total = 0
        if self.proc is None:  # not started
            return total
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(self.proc.pid)
            for proc in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
        return total

    def stop(self) -> None:
        import signal

        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def _full_runs(
    args: BenchOptions, workdir: Path, scales: list[tuple[int, list[Path]]], changed: Path
) -> dict[str, Any]:
    """(c), (d), (e): one fresh process per repetition, against one Prefect server; first on one
    year's workbooks (full["reps"]), then on each larger history (full["larger"]: the
    workbooks of that many fiscal years in one inbox)."""
    env = dict(os.environ)
    env.setdefault("PREFECT_HOME", str(workdir / "prefect_home"))
    full: dict[str, Any] = {"reps": [], "server": None}
    server: _PrefectServer | None = None
    if env.get("PREFECT_API_URL"):
        full["server"] = f"external server {env['PREFECT_API_URL']} (PREFECT_API_URL)"
    elif not args.ephemeral:
        server = _PrefectServer(workdir, env)
        if server.start():
            env["PREFECT_API_URL"] = server.url
            full["server"] = f"prefect server start on {server.url}"
            full["server_start"] = server.started_in
        else:
            full["server"] = f"ephemeral in each process ({server.error})"
            server = None
    else:
        full["server"] = "ephemeral in each process (--ephemeral)"
    try:
        base: dict[str, Any] = {
            "server_pid": server.proc.pid if server is not None and server.proc is not None else None,
            "files_dirs": [str(d) for d in scales[0][1]],
            "changed": str(changed),
            "runs_dir": str(workdir / "runs"),
        }
        full["larger"] = []
        for years, dirs in scales:
            reps = full["reps"] if years == 1 else []
            if years > 1:
                n = args.n * years
                full["larger"].append({"years": years, "n": n, "reps": reps})
                print(f"  N={n:,} ({years} fiscal years in one inbox)", flush=True)
            prefix = "" if years == 1 else f"y{years}_"
            for rep in range(1, args.repeat + 1):
                params = {**base, "files_dirs": [str(d) for d in dirs], "name": f"{prefix}rep{rep}"}
                report, log_path = _run_child(params, workdir, env)
                report["rep"] = rep
                reps.append(report)
                for key in ("c", "d", "e"):
                    if key in report:
                        print(f"  ({key}) repetition {rep}/{args.repeat}: {report[key]:.2f} s", flush=True)
                if report.get("error"):
                    full["error"], full["stage"] = report["error"], report.get("stage")
                    full["unavailable"], full["log"] = report.get("unavailable"), str(log_path)
                    return full
        if args.profile:
            print("  profiling one more cold run with cProfile", flush=True)
            report, log_path = _run_child(
                {**base, "name": "profile", "profile": True, "profile_out": str(workdir / "profile_c.txt")},
                workdir,
                env,
            )
            full["profile"] = report.get("profile")
            if report.get("error"):
                full["profile_error"] = f"{report['error']} (log: {log_path})"
    finally:
        if server is not None:
            full["server_rss"] = server.rss()
            server.stop()
    return full


# ==============================================================================================
# Reporting
# ==============================================================================================


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _load_average() -> float | None:
    with contextlib.suppress(OSError, AttributeError):
        return round(os.getloadavg()[0], 2)
    return None


def _cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _median_rep(reps: list[dict[str, Any]]) -> dict[str, Any]:
    """The repetition whose (c) is the median (the lower of the middle two for an even count)."""
    return sorted(reps, key=lambda r: r["c"])[(len(reps) - 1) // 2]


def _machine() -> str:
    cores = _cores()
    memory = ""
    with contextlib.suppress(Exception):
        import psutil

        memory = f", {psutil.virtual_memory().total / GIB:.1f} GiB RAM"
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = ", " + line.split(":", 1)[1].strip()
                break
    return (
        f"{cores} cores{memory}{cpu}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}"
    )


def _timed(
    fn: Callable[[], object], repeat: int, label: str, cpu: list[float] | None = None
) -> tuple[list[float], object]:
    """Wall times of `repeat` calls and the last result; with `cpu`, each call's CPU time (this
    process, all its threads) is appended to it."""
    times: list[float] = []
    result: object = None
    for rep in range(repeat):
        cpu_before = _cpu_seconds(children=False)
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
        if cpu is not None:
            cpu.append(_cpu_seconds(children=False) - cpu_before)
        print(f"  {label} repetition {rep + 1}/{repeat}: {times[-1]:.2f} s", flush=True)
    return times, result


def _cpu_seconds(*, children: bool) -> float:
    """User + system CPU time of this process (every thread), or of its waited-for children."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _process_tree_cpu(pid: int | None) -> float | None:
    """CPU time so far of process `pid` and its children (None when there is none to read)."""
    if pid is None:
        return None
    import psutil

    try:
        root = psutil.Process(pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total
    except psutil.Error:
        return None


@dataclasses.dataclass(frozen=True)
class _Figures:
    """The medians the targets are checked against."""

    a: float | None = None
    b: float | None = None
    b2: float | None = None
    c: float | None = None  # one year's workbooks (N = n)
    n: int = DEFAULT_N
    c_largest: float | None = None  # the largest history's (c); c when there is one year
    n_largest: int = DEFAULT_N
    d_largest: float | None = None  # (d) with the largest history in the database
    peak_largest: int | None = None


def _target_lines(f: _Figures) -> list[str]:
    a, b, b2, c = f.a, f.b, f.b2, f.c
    growth = f.n_largest / f.n
    checks: list[tuple[str, str, bool | None]] = [
        (
            TARGETS[0][0],
            f"b/c = {b / c:.1f} (need >= 5)" if b and c else "b or c missing",
            (b / c >= 5) if b and c else None,
        ),
        (
            TARGETS[1][0],
            f"c/a = {c / a:.2f} (need <= 2)" if a and c else "a or c missing",
            (c / a <= 2) if a and c else None,
        ),
        (
            TARGETS[2][0],
            f"c/b2 = {c / b2:.2f} (need <= 1)" if b2 and c else "b2 or c missing",
            (c <= b2) if b2 and c else None,
        ),
    ]
    if growth > 1:
        ratio = f.c_largest / c if f.c_largest and c else None
        checks.append(
            (
                TARGETS[3][0],
                f"c({f.n_largest:,})/c({f.n:,}) = {ratio:.2f} (need <= {1.05 * growth:.2f})"
                if ratio
                else "c missing",
                (ratio <= 1.05 * growth) if ratio else None,
            )
        )
    c_all, d_all = f.c_largest, f.d_largest
    checks.append(
        (
            TARGETS[4][0],
            f"d/c = {d_all / c_all:.3f} at N={f.n_largest:,} (need <= 0.05)"
            if c_all and d_all is not None
            else "c or d missing",
            (d_all / c_all <= 0.05) if c_all and d_all is not None else None,
        )
    )
    peak = f.peak_largest
    checks.append(
        (
            TARGETS[5][0],
            f"peak = {peak / MIB:.0f} MiB at N={f.n_largest:,} (need <= 1024 MiB)"
            if peak
            else "peak missing",
            (peak <= GIB) if peak else None,
        )
    )
    return [
        f"  {'PASS' if ok else 'MISS' if ok is False else 'n/a '}  {label:<40} {detail}"
        for label, detail, ok in checks
    ]


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclasses.dataclass(frozen=True)
class BenchOptions:
    """What `kokuho bench` was asked to measure."""

    n: int = DEFAULT_N
    repeat: int = DEFAULT_REPEAT
    seed: int = DEFAULT_SEED
    workdir: Path = Path("kokuho_bench")
    skip_naive: bool = False
    naive_sample: int | None = None
    skip_full: bool = False
    ephemeral: bool = False
    profile: bool = False
    json: Path | None = None
    years: int = 1
    skip_b2: bool = False


def history_scales(years: int) -> list[int]:
    """The histories (c) is timed on, in fiscal years: one, half, all (1, 5, 10 for ten)."""
    return sorted({1, max(1, years // 2), years})


def run_bench(args: BenchOptions) -> int:
    """`kokuho bench [--n N] [--repeat R] [--workdir DIR] [--skip-naive | --naive-sample K] [--skip-full]`."""
    if (
        args.repeat < 1
        or args.n < 1
        or args.years < 1
        or (args.naive_sample is not None and args.naive_sample < 1)
    ):
        print("kokuho bench: --n, --repeat, --years and --naive-sample must be at least 1", file=sys.stderr)
        return 2
    if args.years > MAX_YEARS:
        print(f"kokuho bench: --years must be at most {MAX_YEARS}", file=sys.stderr)
        return 2

    from kokuho.config import apply_offline_env

    apply_offline_env()
    workdir = args.workdir.expanduser().resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    load_at_start = _load_average()
    figures: dict[str, Any] = {
        "n": args.n,
        "years": args.years,
        "repeat": args.repeat,
        "seed": args.seed,
        "machine": _machine(),
    }
    failures: list[str] = []
    history = f", years={args.years} (N up to {args.n * args.years:,})" if args.years > 1 else ""
    print(f"kokuho bench: N={args.n}{history}, repeat={args.repeat}, seed={args.seed}, workdir {workdir}")
    print(f"machine: {figures['machine']}", flush=True)

    # --- generation (not timed as a figure) ---------------------------------------------------
    # Earlier years first, the latest (BENCH_YEAR) last: (a), (b), (b2) and the one-year (c)
    # read the latest year's workbooks.
    sets: list[WorkbookSet] = []
    try:
        for year in bench_years(args.years):
            sets.append(generate_workbooks(args.n, args.seed, workdir, year=year))
    except ValueError as exc:
        print(f"kokuho bench: {exc}", file=sys.stderr)
        return 2
    if len(sets) > 1:
        made = [s.generated_seconds for s in sets[:-1] if s.generated_seconds is not None]
        print(
            f"earlier years: {len(sets) - 1} x {args.n} files, {sum(s.total_bytes for s in sets[:-1]) / MIB:.1f} MiB"
            + (f", {len(made)} generated in {sum(made):.1f} s" if made else ", reused from cache"),
            flush=True,
        )
        figures["history_generated_seconds"] = sum(made) if made else None
    workbooks = sets[-1]
    paths = list(workbooks.paths)
    figures["bytes"] = workbooks.total_bytes
    figures["generated_seconds"] = workbooks.generated_seconds
    how = (
        f"generated in {workbooks.generated_seconds:.1f} s"
        if workbooks.generated_seconds is not None
        else "reused from cache"
    )
    print(
        f"workbooks: {len(paths)} files, {workbooks.total_bytes / MIB:.1f} MiB, {how}: {workbooks.files_dir}"
    )
    changed = change_one(workbooks, workdir / "changed" / paths[len(paths) // 2].name, args.seed)

    env_extra = {"KOKUHO_CATALOG_DIR": str(workbooks.catalog_dir)}
    with _environment(**env_extra):
        # --- (a) floor ---------------------------------------------------------------------------
        print("(a) floor: python-calamine, every cell of every sheet, one process", flush=True)
        figures["a_cpu"] = []
        a_times, cells = _timed(lambda: read_floor(paths), args.repeat, "(a)", figures["a_cpu"])
        figures["a"] = a_times
        figures["cells"] = cells

        # --- (b) naive ---------------------------------------------------------------------------
        if args.skip_naive:
            print("(b) naive script: skipped (--skip-naive)")
        else:
            sample = paths
            if args.naive_sample and args.naive_sample < len(paths):
                step = len(paths) / args.naive_sample
                sample = [paths[int(i * step)] for i in range(args.naive_sample)]
            engine = _naive_engine()
            print(
                f"(b) naive script: pandas.read_excel (engine {engine}) on {len(sample)} files, concat, DuckDB",
                flush=True,
            )
            db = workdir / "naive.duckdb"
            b_times, rows = _timed(lambda: naive_script(sample, db), args.repeat, "(b)")
            db.unlink(missing_ok=True)
            scale = len(paths) / len(sample)
            figures["b_measured"] = b_times
            figures["b_sample"] = len(sample)
            figures["b_rows"] = rows
            figures["b_engine"] = engine
            figures["b"] = [t * scale for t in b_times]

        # --- (b2) the analyst's polars + fastexcel script (the optional extra 'bench') ------------
        missing = analyst_available()
        if args.skip_b2:
            print("(b2) analyst script: skipped (--skip-b2)")
        elif missing:
            print(f"(b2) analyst script: skipped: {missing}", flush=True)
            figures["b2_skipped"] = missing
        else:
            print(
                f"(b2) analyst script: polars + fastexcel (calamine) on {len(paths)} files, concat, DuckDB",
                flush=True,
            )
            db = workdir / "analyst.duckdb"
            figures["b2_cpu"] = []
            b2_times, rows = _timed(lambda: analyst_script(paths, db), args.repeat, "(b2)", figures["b2_cpu"])
            db.unlink(missing_ok=True)
            figures["b2"] = b2_times
            figures["b2_rows"] = rows

        # --- (c), (d), (e): one fresh process per repetition ------------------------------------
        full: dict[str, Any] = {}
        if args.skip_full:
            print("(c)(d)(e) full run: skipped (--skip-full)")
        else:
            print(
                "(c)(d)(e) full run: flows.ingest.run_ingest, one fresh process per repetition "
                f"(logs: {workdir}/full_run_rep*.log)",
                flush=True,
            )
            scales = [(k, [s.files_dir for s in sets[-k:]]) for k in history_scales(args.years)]
            full = _full_runs(args, workdir, scales, changed)
            figures["full"] = full
            if full.get("error"):
                kind = "not available yet" if full.get("unavailable") else "failed"
                failures.append(
                    f"full run {kind} at ({full.get('stage')}): {full['error']} (log: {full.get('log')})"
                )
            if full.get("profile_error"):
                failures.append(f"profiling run failed: {full['profile_error']}")

    figures["load_average"] = {"start": load_at_start, "end": _load_average()}
    _print_report(args, figures, full, workdir, workbooks)
    if failures:
        print("could not run:")
        for failure in failures:
            print(f"  {failure}")
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return 1 if failures else 0


def _print_report(
    args: BenchOptions,
    figures: dict[str, Any],
    full: dict[str, Any],
    workdir: Path,
    workbooks: WorkbookSet,
) -> None:
    reps = [r for r in full.get("reps") or [] if "c" in r]
    a = _median(figures["a"])
    b = _median(figures["b"]) if "b" in figures else None
    b2 = _median(figures["b2"]) if "b2" in figures else None
    c = _median([r["c"] for r in reps])
    d = _median([r["d"] for r in reps if "d" in r])
    e = _median([r["e"] for r in reps if "e" in r])
    # The sampler can miss a spike shorter than its interval; the kernel's lifetime peak of the run
    # process (VmHWM, taken right after (c)) cannot, so the larger of the two counts.
    for r in reps:
        r["peak"] = max(r.get("peak_total", 0), r.get("ru_maxrss_self", 0))
    peak = max((r["peak"] for r in reps), default=0) or None
    figures["medians"] = {"a": a, "b": b, "b2": b2, "c": c, "d": d, "e": e, "peak_rss_c": peak}
    growth = _growth(full, args.n, c, d, e, peak)
    figures["growth"] = growth
    largest = growth[-1] if growth else {}

    print()
    print(
        f"results: N={args.n} workbooks ({workbooks.total_bytes / MIB:.1f} MiB, {figures['cells']:,} cells), "
        f"median of {args.repeat}"
    )
    print(f"  machine: {figures['machine']}")
    print(
        f"  load average (1 min) at start {figures['load_average']['start']}, at end "
        f"{figures['load_average']['end']} (other processes on the machine slow every figure)"
    )
    print(f"  (a) floor, python-calamine every cell (1 process)   {_secs(a):>10}")
    if b is None:
        print("  (b) naive pandas.read_excel + concat + DuckDB           skipped")
    else:
        label = (
            f"  [EXTRAPOLATED from {figures['b_sample']} of {args.n} files]"
            if figures["b_sample"] < args.n
            else ""
        )
        print(f"  (b) naive pandas.read_excel + concat + DuckDB       {_secs(b):>10}{label}")
    if b2 is None:
        print(
            f"  (b2) analyst polars + fastexcel + DuckDB               skipped ({figures.get('b2_skipped', '')})"
        )
    else:
        print(f"  (b2) analyst polars + fastexcel + DuckDB           {_secs(b2):>10}")
    if full:
        if full.get("server_start") is not None:
            print(
                f"  Prefect server: {full.get('server')}; start-up {_secs(full['server_start'])} (not in any figure)"
            )
        else:
            print(
                f"  Prefect server: {full.get('server')}; its start-up is in 'first flow of the process' below"
            )
        if reps:
            imports = [sum((r.get("imports") or {}).values()) for r in reps]
            parts = ", ".join(f"{k} {v:.1f} s" for k, v in (reps[0].get("imports") or {}).items())
            print(
                f"  process start-up, excluded from (c): imports median {_secs(_median(imports))} (rep 1: {parts}); "
                f"first flow of the process {_secs(_median([r.get('first_flow', 0.0) for r in reps]))}; "
                f"a trivial flow after that {_secs(_median([r.get('noop_flow', 0.0) for r in reps]))}"
            )
        print(f"  (c) full run, cold (fresh home, empty DB, export)  {_secs(c):>10}")
        print(f"  (d) same run again, nothing changed                {_secs(d):>10}")
        print(f"  (e) one file re-submitted                          {_secs(e):>10}")
        if reps:
            median_rep = _median_rep(reps)
            cpu_line = _cpu_line(median_rep, figures)
            if cpu_line:
                print(cpu_line)
            top = max(reps, key=lambda r: r["peak"])
            print(
                f"  peak RSS of (c): {(peak or 0) / MIB:.0f} MiB in rep {top.get('rep')}, the larger of: the largest"
                f" sum sampled every 20 ms of the run process and the processes it started"
                f" ({top.get('peak_total', 0) / MIB:.0f} MiB), and the run process's own peak by the kernel (VmHWM)"
                f" ({top.get('ru_maxrss_self', 0) / MIB:.0f} MiB). Sampled, each at its peak: run process"
                f" {top.get('peak_self', 0) / MIB:.0f} MiB (of which {top.get('rss_before', 0) / MIB:.0f} MiB"
                f" before the run: imports), up to {top.get('worker_processes', 0)} extraction workers"
                f" {top.get('peak_workers', 0) / MIB:.0f} MiB together. Not counted: the Prefect server"
                f" ({(full.get('server_rss') or top.get('infrastructure_rss', 0)) / MIB:.0f} MiB, its own process)"
            )
            by_stage = top.get("c_stage_peak_rss") or {}
            if by_stage:
                listed = ", ".join(f"{name} {rss / MIB:.0f}" for name, rss in by_stage.items())
                print(f"  sampled peak RSS of (c) while each task ran, rep {top.get('rep')} (MiB): {listed}")
            quarantined = int((median_rep.get("c_counts") or {}).get("quarantined") or 0)
            if quarantined:
                print(
                    f"  WARNING: (c) set aside {quarantined} of {args.n} files "
                    f"(files per issue code: {median_rep.get('quarantine_codes')}): the figures time the "
                    "quarantine path, not the accepted one"
                )
            for key in ("c", "d", "e"):
                print(f"  run summary ({key}): {median_rep.get(f'{key}_counts')}")
            for key in ("c", "d", "e"):
                stages = median_rep.get(f"{key}_stages")
                if stages:
                    listed = ", ".join(f"{name} {seconds:.2f}" for name, seconds in stages.items())
                    print(
                        f"  where ({key}) went, rep {median_rep.get('rep')} (wall time per task, summed"
                        f" over its runs, s; the rest is the flow's own overhead): {listed}"
                    )
        if len(growth) > 1:
            _print_growth(growth)
        if full.get("profile"):
            print(
                f"  cProfile of one more cold run (main thread, cumulative; listing {workdir / 'profile_c.txt'}):"
            )
            for line in full["profile"]:
                print(f"    {line}")
    print("ratios:")
    print(f"  c/a = {c / a:.2f}" if a and c else "  c/a = -")
    print(f"  b/c = {b / c:.1f}" if b and c else "  b/c = -")
    print(f"  c/b2 = {c / b2:.2f}" if b2 and c else "  c/b2 = -")
    print(f"  d/c = {d / c:.3f}" if c and d is not None else "  d/c = -")
    print("targets:")
    checked = _Figures(
        a=a,
        b=b,
        b2=b2,
        c=c,
        n=args.n,
        c_largest=largest.get("c", c),
        n_largest=largest.get("n", args.n),
        d_largest=largest.get("d", d),
        peak_largest=largest.get("peak", peak),
    )
    for line in _target_lines(checked):
        print(line)


def _cpu_line(rep: dict[str, Any], figures: dict[str, Any]) -> str | None:
    """The CPU time of (c) in repetition `rep` by process, against its wall time and the cores, and
    that of (a) and (b2): how much work each does, whatever the cores."""
    cpu = rep.get("c_cpu")
    if not cpu:
        return None
    parts = [("run process", cpu["run_process"]), ("its extraction workers", cpu["workers"])]
    if cpu.get("server") is not None:
        parts.append(("Prefect server", cpu["server"]))
    total = sum(seconds for _, seconds in parts)
    cores = _cores()
    others = [
        f"({key}) {_secs(_median(figures[f'{key}_cpu']))}" for key in ("a", "b2") if figures.get(f"{key}_cpu")
    ]
    return (
        f"  CPU time of (c), rep {rep.get('rep')}: "
        + " + ".join(f"{label} {seconds:.2f} s" for label, seconds in parts)
        + f" = {total:.2f} s in {rep['c']:.2f} s ({total / rep['c']:.2f} of {cores} cores busy on average;"
        + f" with every core busy, at least {total / cores:.2f} s)"
        + (f"; CPU time of {', '.join(others)} (their process, every thread)" if others else "")
    )


def _growth(
    full: dict[str, Any], n: int, c: float | None, d: float | None, e: float | None, peak: int | None
) -> list[dict[str, Any]]:
    """(c), (d), (e) and the peak RSS of (c) per history size, the one-year run first."""
    if not full.get("reps"):
        return []
    rows: list[dict[str, Any]] = [{"years": 1, "n": n, "c": c, "d": d, "e": e, "peak": peak}]
    for scale in full.get("larger") or []:
        reps = [r for r in scale["reps"] if "c" in r]
        if not reps:
            continue
        for r in reps:
            r["peak"] = max(r.get("peak_total", 0), r.get("ru_maxrss_self", 0))
        median_rep = _median_rep(reps)
        rows.append(
            {
                "years": scale["years"],
                "n": scale["n"],
                "c": _median([r["c"] for r in reps]),
                "d": _median([r["d"] for r in reps if "d" in r]),
                "e": _median([r["e"] for r in reps if "e" in r]),
                "peak": max(r["peak"] for r in reps) or None,
                "stages": median_rep.get("c_stages"),
                "task_runs": median_rep.get("c_task_runs"),
                "stage_peak_rss": median_rep.get("c_stage_peak_rss"),
                "counts": median_rep.get("c_counts"),
            }
        )
    return rows


def _print_growth(growth: list[dict[str, Any]]) -> None:
    first = growth[0]
    print(
        "  growth with N (fiscal years of workbooks in one inbox; (d) and (e) with that history in the DB):"
    )
    for row in growth:
        scale = row["n"] / first["n"]
        c_ratio = f"{row['c'] / first['c']:.2f}x" if row["c"] and first["c"] else "-"
        rss_ratio = f"{row['peak'] / first['peak']:.2f}x" if row["peak"] and first["peak"] else "-"
        per_file = f"{row['c'] / row['n'] * 1000:.2f} ms/file" if row["c"] else "-"
        d_share = f" = {row['d'] / row['c']:.1%} of c" if row["c"] and row["d"] is not None else ""
        print(
            f"    N={row['n']:>6,} ({row['years']:>2} y, {scale:>4.1f}x): (c) {_secs(row['c']):>9} ({c_ratio}, "
            f"{per_file}), peak RSS {(row['peak'] or 0) / MIB:>5.0f} MiB ({rss_ratio}); "
            f"(d) {_secs(row['d'])}{d_share}; (e) {_secs(row['e'])}"
        )
    for row in growth[1:]:
        if row.get("stages"):
            runs = row.get("task_runs") or {}
            listed = ", ".join(
                f"{name} {seconds:.2f}" + (f" ({runs[name]} runs)" if runs.get(name, 1) > 1 else "")
                for name, seconds in row["stages"].items()
            )
            print(f"    where (c) went at N={row['n']:,} (wall time per task summed, s): {listed}")
        if row.get("stage_peak_rss"):
            listed = ", ".join(f"{name} {rss / MIB:.0f}" for name, rss in row["stage_peak_rss"].items())
            print(f"    sampled peak RSS of (c) per task at N={row['n']:,} (MiB): {listed}")
        if row.get("counts"):
            print(f"    run summary (c) at N={row['n']:,}: {row['counts']}")


if __name__ == "__main__":
    # The full run's child process: `python -m benchmarks.bench --child PARAMS.json`.
    if len(sys.argv) != 3 or sys.argv[1] != "--child":
        sys.exit("usage: python -m benchmarks.bench --child PARAMS.json (run `kokuho bench` instead)")
    sys.exit(_child_main(Path(sys.argv[2])))
