"""`kokuho template`: one survey workbook per municipality, laid out as kokuho/layout.py says."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook

from kokuho import layout
from kokuho.catalog import Catalog, load_catalog, load_catalog_for
from kokuho.cli import main as kokuho_main
from kokuho.config import data_dir, project_root
from kokuho.municipalities import lookup, municipalities_of
from kokuho.templates import FONT_NAME, INSTRUCTIONS_WIDTH, write_template, write_templates

PUBLISHED = data_dir() / "demo" / "11_2024_published.yaml"
SECTION_KEYS = [layout.section_sheet_key(n) for n in (1, 2, 3)]
SHEET_KEYS = [layout.SHEET_COVER, layout.SHEET_INSTRUCTIONS, *SECTION_KEYS, layout.SHEET_TARGETS]


@dataclass
class Run:
    code: int
    out: str
    err: str
    directory: Path


def _run(argv: list[str]) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = kokuho_main(["template", *argv])
    directory = Path(argv[argv.index("--out") + 1]) if "--out" in argv else Path()
    return Run(code, out.getvalue(), err.getvalue(), directory)


@pytest.fixture(autouse=True)
def _no_extra_catalog_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KOKUHO_CATALOG_DIR", raising=False)


@pytest.fixture(scope="module")
def saitama(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The 63 Saitama workbooks, written once for the module."""
    out = tmp_path_factory.mktemp("saitama")
    return _run(["--prefecture", "11", "--year", "2024", "--out", str(out)])


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog_for("11", 2024)


@pytest.fixture(scope="module")
def published_labels() -> list[str]:
    return [m["label"] for m in yaml.safe_load(PUBLISHED.read_text(encoding="utf-8"))["measures"]]


def _path_of(run: Run, code: str) -> Path:
    muni = lookup(code)
    return run.directory / layout.template_file_name(muni.code, muni.name, 2024)


def _sheets_by_key(wb: Workbook) -> dict[str, Worksheet]:
    return {ws["A1"].value: ws for ws in wb.worksheets}


def _keyed_rows(ws: Worksheet) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for row in range(2, ws.max_row + 1):
        key = ws[f"A{row}"].value
        if key:
            rows.setdefault(key, []).append(row)
    return rows


def _row(ws: Worksheet, key: str) -> int:
    (row,) = _keyed_rows(ws)[key]
    return row


# ---- the run ----------------------------------------------------------------------------------


def test_writes_63_workbooks_named_with_code_and_name(saitama: Run) -> None:
    assert saitama.code == 0, saitama.err
    expected = {layout.template_file_name(m.code, m.name, 2024) for m in municipalities_of("11")}
    assert len(expected) == 63
    assert {p.name for p in saitama.directory.iterdir()} == expected  # no temporary files left
    assert "63" in saitama.out
    assert str(saitama.directory) in saitama.out
    assert "111007_さいたま市_2024_国保取組状況調査票.xlsx" in expected


def test_every_workbook_opens_with_calamine_and_carries_the_seed_labels(
    saitama: Run, published_labels: list[str]
) -> None:
    for path in sorted(saitama.directory.glob("*.xlsx")):
        code, name = path.name.split("_")[:2]
        wb = CalamineWorkbook.from_path(str(path))
        sheets = {}
        for title in wb.sheet_names:
            rows = wb.get_sheet_by_name(title).to_python()
            sheets[rows[0][0]] = rows
        assert list(sheets) == SHEET_KEYS, path.name
        cover = {row[0]: row[2] for row in sheets[layout.SHEET_COVER] if row[0]}
        assert cover[layout.META_MUNICIPALITY_CODE] == code
        assert cover[layout.META_MUNICIPALITY_NAME] == name
        labels = [
            row[2]
            for key in SECTION_KEYS
            for row in sheets[key]
            if str(row[0]).startswith(layout.MEASURE_PREFIX)
        ]
        assert labels == published_labels, path.name


def test_every_workbook_opens_with_openpyxl(saitama: Run) -> None:
    for path in sorted(saitama.directory.glob("*.xlsx")):
        wb = load_workbook(path, read_only=True)
        try:
            assert [ws["A1"].value for ws in wb.worksheets] == SHEET_KEYS
        finally:
            wb.close()


# ---- two workbooks in full --------------------------------------------------------------------

FULL = ["111007", "113697"]  # さいたま市 (first), 東秩父村


@pytest.fixture(scope="module", params=FULL)
def book(request: pytest.FixtureRequest, saitama: Run) -> Workbook:
    return load_workbook(_path_of(saitama, request.param))


def test_sheet_titles_and_keys(book: Workbook, catalog: Catalog) -> None:
    assert book.sheetnames == [
        layout.COVER_TITLE,
        layout.INSTRUCTIONS_TITLE,
        *(layout.section_sheet_title(s.no, s.title) for s in catalog.sections),
        layout.TARGETS_TITLE,
    ]
    assert [ws["A1"].value for ws in book.worksheets] == SHEET_KEYS
    assert book.active.title == layout.COVER_TITLE


def test_cover_is_prefilled(book: Workbook, catalog: Catalog) -> None:
    cover = _sheets_by_key(book)[layout.SHEET_COVER]
    keys = _keyed_rows(cover)
    for name, value in [
        (layout.META_PREFECTURE, "11"),
        (layout.META_FISCAL_YEAR, 2024),
        (layout.META_CATALOG_VERSION, "2024.1"),
        (layout.META_SURVEY_ID, "11-2024-2024.1"),
    ]:
        assert layout.meta_key(name, value) in keys
    year_row = _row(cover, layout.meta_key(layout.META_FISCAL_YEAR, 2024))
    assert cover[f"C{year_row}"].value == "令和6年度（2024年度）"
    version_row = _row(cover, layout.meta_key(layout.META_CATALOG_VERSION, "2024.1"))
    assert cover[f"C{version_row}"].value == "2024.1"

    code_cell = cover[f"C{_row(cover, layout.META_MUNICIPALITY_CODE)}"]
    name_cell = cover[f"C{_row(cover, layout.META_MUNICIPALITY_NAME)}"]
    assert code_cell.data_type == "s"  # text, not the number 111007
    assert lookup(code_cell.value).name == name_cell.value
    assert code_cell.protection.locked and name_cell.protection.locked

    for key in layout.CONTACT_KEYS:
        cell = cover[f"C{_row(cover, key)}"]
        assert cell.value is None
        assert not cell.protection.locked


def test_prefilled_code_and_name_match_the_file_name(saitama: Run) -> None:
    for code in FULL:
        path = _path_of(saitama, code)
        cover = load_workbook(path)[layout.COVER_TITLE]
        prefix = f"{cover[f'C{_row(cover, layout.META_MUNICIPALITY_CODE)}'].value}_"
        prefix += f"{cover[f'C{_row(cover, layout.META_MUNICIPALITY_NAME)}'].value}_"
        assert path.name.startswith(prefix)


def test_instructions_are_in_japanese(book: Workbook) -> None:
    ws = _sheets_by_key(book)[layout.SHEET_INSTRUCTIONS]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    for phrase in ("○", "予算事業名", "独自の取組", "95.0", "95％以上", "前年度以上", "【未設定】"):
        assert phrase in text
    for phrase in ("結合", "数式", "パスワード", "提出期限", "再提出", "置き換わります"):
        assert phrase in text


def test_section_sheets_follow_the_layout(book: Workbook, catalog: Catalog) -> None:
    sheets = _sheets_by_key(book)
    col = layout.SECTION_COLUMNS
    seen: list[str] = []
    for section in catalog.sections:
        ws = sheets[layout.section_sheet_key(section.no)]
        keys = _keyed_rows(ws)
        tables = catalog.tables_of(section.no)
        assert len(keys[layout.COLUMN_HEADER_KEY]) == len(tables)
        for row in keys[layout.COLUMN_HEADER_KEY]:
            assert [ws[f"{col[n]}{row}"].value for n in col] == list(layout.SECTION_HEADERS.values())
        for table in tables:
            heads = keys[f"{layout.HEADING_PREFIX}{table.table_id}"]
            assert ws[f"B{heads[-1]}"].value == "<その他（独自の取組）>"
            assert table.heading.endswith(ws[f"B{heads[-2]}"].value.replace("\u3000", " "))
            measure_rows = [keys[layout.measure_key(m.id)][0] for m in table.measures]
            assert measure_rows == sorted(measure_rows)
            for m, row in zip(table.measures, measure_rows, strict=True):
                assert ws[f"{col['no']}{row}"].value == m.item_no
                assert ws[f"{col['label']}{row}"].value == m.label
                assert ws[f"{col['answer']}{row}"].value is None
            own_rows = [keys[layout.own_key(table.table_id, n)][0] for n in range(1, 6)]
            assert own_rows == list(range(heads[-1] + 1, heads[-1] + 6))
            assert own_rows[0] > measure_rows[-1]
            assert layout.own_key(table.table_id, 6) not in keys
        seen += [k.removeprefix(layout.MEASURE_PREFIX) for k in keys if k.startswith(layout.MEASURE_PREFIX)]
    assert seen == [m.id for m in catalog.measures]


def test_headings_show_group_and_subgroup(book: Workbook) -> None:
    ws = _sheets_by_key(book)[layout.section_sheet_key(3)]
    heads = [ws[f"B{r}"].value for r in _keyed_rows(ws)["head:3-2-ア-1"]]
    assert heads[:3] == [
        "(2) 特定健康診査受診率・特定保健指導実施率の向上",
        "ア\u3000特定健康診査受診率向上の取組",
        "①受診勧奨の強化",
    ]
    assert [ws[f"B{r}"].value for r in _keyed_rows(ws)["head:3-2-ア-2"]][0] == "②受診環境の整備"


def test_answer_cells_unlocked_labels_locked(book: Workbook, catalog: Catalog) -> None:
    col = layout.SECTION_COLUMNS
    for section in catalog.sections:
        ws = _sheets_by_key(book)[layout.section_sheet_key(section.no)]
        for key, (row,) in ((k, r) for k, r in _keyed_rows(ws).items() if len(r) == 1):
            if key.startswith(layout.MEASURE_PREFIX):
                unlocked = {"answer", "budget_line", "note"}
            elif key.startswith(layout.OWN_PREFIX):
                unlocked = {"label", "budget_line", "note"}
            else:
                continue
            for name, letter in col.items():
                cell = ws[f"{letter}{row}"]
                assert cell.protection.locked is (name not in unlocked), (ws.title, cell.coordinate)
                if name in unlocked:
                    assert cell.fill.fgColor.rgb.endswith("FFF2CC")  # shaded: write here
            assert ws[f"A{row}"].protection.locked
        header = _keyed_rows(ws)[layout.COLUMN_HEADER_KEY][0]
        assert all(ws[f"{c}{header}"].protection.locked for c in col.values())


def test_every_sheet_protected_without_password(saitama: Run, book: Workbook) -> None:
    for ws in book.worksheets:
        assert ws.protection.sheet, ws.title
        assert not ws.protection.password, ws.title
        assert ws.protection.formatColumns is False and ws.protection.formatRows is False
        assert ws.column_dimensions["A"].hidden, ws.title
    with zipfile.ZipFile(_path_of(saitama, FULL[0])) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == 6
        for name in sheets:
            xml = archive.read(name).decode()
            assert "<sheetProtection" in xml
            assert "password" not in xml.lower() and "hashValue" not in xml
        workbook_xml = archive.read("xl/workbook.xml").decode()
        # openpyxl always writes an empty <workbookProtection />: nothing locked, no password.
        assert "lockStructure" not in workbook_xml and "Password" not in workbook_xml


def test_answer_column_has_the_dropdown(book: Workbook, catalog: Catalog) -> None:
    answer = layout.SECTION_COLUMNS["answer"]
    for section in catalog.sections:
        ws = _sheets_by_key(book)[layout.section_sheet_key(section.no)]
        lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
        assert len(lists) == 1
        (dv,) = lists
        assert dv.formula1 == '"○"'
        assert dv.allow_blank and not dv.showDropDown  # showDropDown=True would hide the arrow
        keys = _keyed_rows(ws)
        for key, (row, *_) in keys.items():
            inside = f"{answer}{row}" in dv.sqref
            assert inside is key.startswith(layout.MEASURE_PREFIX), (ws.title, key)


def test_nothing_is_merged(book: Workbook) -> None:
    for ws in book.worksheets:
        assert not ws.merged_cells.ranges, ws.title


def test_print_and_look(book: Workbook, catalog: Catalog) -> None:
    for ws in book.worksheets:
        assert int(ws.page_setup.paperSize) == 9  # A4
        assert ws.page_setup.fitToWidth == 1
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows
        assert ws.freeze_panes
    ws = _sheets_by_key(book)[layout.section_sheet_key(1)]
    row = _row(ws, layout.measure_key(catalog.measures[0].id))
    label = ws[f"{layout.SECTION_COLUMNS['label']}{row}"]
    assert label.font.name == FONT_NAME
    assert label.alignment.wrap_text
    # Fitted: the longest label of the sheet fits on one line unless that would exceed 80.
    widest = max(
        sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in m.label)
        for m in catalog.measures
        if m.section_no == 1
    )
    assert min(widest, 80) <= ws.column_dimensions["C"].width <= 82


def test_targets_sheet(book: Workbook, catalog: Catalog) -> None:
    ws = _sheets_by_key(book)[layout.SHEET_TARGETS]
    col = layout.TARGET_COLUMNS
    keys = _keyed_rows(ws)
    header = keys[layout.COLUMN_HEADER_KEY][0]
    assert [ws[f"{col[n]}{header}"].value for n in col] == list(layout.TARGET_HEADERS.values())
    expected = [
        layout.target_key(item.id, year) for item in catalog.numeric_targets for year in item.years(2024)
    ]
    assert [k for k in keys if k.startswith(layout.TARGET_PREFIX)] == expected
    assert len(expected) == 13  # 11 targets and the results of R4, R5 (収納率実績)
    row = _row(ws, layout.target_key("collection_rate_current", 2026))
    assert ws[f"{col['label']}{row}"].value == "収納率目標（現年分）"
    assert ws[f"{col['year']}{row}"].value == "令和8年度"
    assert not ws[f"{col['value']}{row}"].protection.locked
    assert not ws[f"{col['note']}{row}"].protection.locked
    assert ws[f"{col['label']}{row}"].protection.locked


# ---- other prefectures, subsets, errors ----------------------------------------------------------


def test_okayama_catalog_gives_27_templates(tmp_path: Path) -> None:
    run = _run(["--prefecture", "33", "--year", "2024", "--out", str(tmp_path)])
    assert run.code == 0, run.err
    files = sorted(tmp_path.glob("*.xlsx"))
    assert len(files) == 27
    assert files[0].name == "331007_岡山市_2024_国保取組状況調査票.xlsx"
    okayama = load_catalog_for("33", 2024)
    wb = load_workbook(files[0])
    sheets = _sheets_by_key(wb)
    section_keys = [layout.section_sheet_key(s.no) for s in okayama.sections]
    assert len(section_keys) == 5
    assert list(sheets) == [
        layout.SHEET_COVER,
        layout.SHEET_INSTRUCTIONS,
        *section_keys,
        layout.SHEET_TARGETS,
    ]
    measure_keys = [
        k for key in section_keys for k in _keyed_rows(sheets[key]) if k.startswith(layout.MEASURE_PREFIX)
    ]
    assert measure_keys == [layout.measure_key(m.id) for m in okayama.measures]
    own = [k for k in _keyed_rows(sheets[SECTION_KEYS[1]]) if k.startswith(layout.OWN_PREFIX)]
    assert len(own) == okayama.own_initiative_rows * len(okayama.tables_of(2))
    targets = [k for k in _keyed_rows(sheets[layout.SHEET_TARGETS]) if k.startswith(layout.TARGET_PREFIX)]
    assert len(targets) == 9  # 収納率目標 R3..R11
    assert layout.meta_key(layout.META_PREFECTURE, "33") in _keyed_rows(sheets[layout.SHEET_COVER])


def test_only_the_municipalities_asked_for(tmp_path: Path) -> None:
    run = _run(
        ["--prefecture", "11", "--out", str(tmp_path), "--municipality", " 11100", "１１３６９７", "111007"]
    )
    assert run.code == 0, run.err
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "111007_さいたま市_2024_国保取組状況調査票.xlsx",
        "113697_東秩父村_2024_国保取組状況調査票.xlsx",
    ]
    assert "2" in run.out


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (
            ["--prefecture", "11", "--year", "2099"],
            ["11_2099.yaml", "見つかりません", "no usable survey catalog"],
        ),
        (["--prefecture", "46", "--year", "2024"], ["46_2024.yaml", "prefecture 46"]),
        (["--prefecture", "11", "--municipality", "111008"], ["111007"]),
        (["--prefecture", "11", "--municipality", "331007"], ["331007", "岡山市"]),
        (["--prefecture", "11", "--municipality", "99999"], ["999997"]),
        (["--prefecture", "11", "--year", "twenty"], ["--year"]),
    ],
    ids=[
        "no catalog year",
        "no catalog prefecture",
        "bad check digit",
        "other prefecture",
        "no such code",
        "bad flag",
    ],
)
def test_errors_exit_2_with_a_clear_message(tmp_path: Path, argv: list[str], fragments: list[str]) -> None:
    out = tmp_path / "out"
    run = _run([*argv, "--out", str(out)])
    assert run.code == 2
    for fragment in fragments:
        assert fragment in run.err
    assert not out.exists() or not any(out.iterdir())


def test_help_exits_0() -> None:
    run = _run(["--help"])
    assert run.code == 0
    assert "--municipality" in run.out


def test_write_template_refuses_another_prefectures_municipality(tmp_path: Path, catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="331007"):
        write_template(catalog, lookup("331007"), tmp_path / "x.xlsx")
    with pytest.raises(ValueError, match="331007"):
        write_templates(catalog, tmp_path, [lookup("111007"), lookup("331007")])
    assert not any(tmp_path.iterdir())


def test_leading_zero_code_and_formula_like_label_stay_text(tmp_path: Path) -> None:
    catalog_path = tmp_path / "01_2024.yaml"
    catalog_path.write_text(
        "prefecture_code: '01'\nfiscal_year: 2024\ntitle: テスト\ncatalog_version: '1'\n"
        "own_initiative_rows: 0\nsections:\n- 'no': 1\n  title: 保険料\n  subsections:\n"
        "  - 'no': 1\n    title: 収納\n    measures:\n    - id: A1\n      label: '=1+1 の形の文言'\n",
        encoding="utf-8",
    )
    hokkaido = load_catalog(catalog_path)
    paths = write_templates(hokkaido, tmp_path / "out", [lookup(11002)])
    assert [p.name for p in paths] == ["011002_札幌市_2024_国保取組状況調査票.xlsx"]
    wb = load_workbook(paths[0])
    cover = wb[layout.COVER_TITLE]
    assert cover[f"C{_row(cover, layout.META_MUNICIPALITY_CODE)}"].value == "011002"
    ws = _sheets_by_key(wb)[layout.section_sheet_key(1)]
    label = ws[f"C{_row(ws, layout.measure_key('A1'))}"]
    assert (label.value, label.data_type) == ("=1+1 の形の文言", "s")
    assert layout.SHEET_TARGETS not in _sheets_by_key(wb)  # the catalog asks for no targets
    texts = [c.value for row in ws.iter_rows() for c in row]
    assert "<その他（独自の取組）>" not in texts  # own_initiative_rows: 0
    rows = CalamineWorkbook.from_path(str(paths[0])).get_sheet_by_name(ws.title).to_python()
    assert [r[2] for r in rows if r[0] == "measure:A1"] == ["=1+1 の形の文言"]


def test_rewriting_replaces_the_file(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"old")
    assert write_template(catalog, lookup("111007"), path) == path
    assert load_workbook(path)[layout.COVER_TITLE]["A1"].value == layout.SHEET_COVER


def test_template_command_does_not_import_prefect_or_gx(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from kokuho.cli import main\n"
        f"rc = main(['template', '--prefecture', '11', '--municipality', '111007', '--out', {str(tmp_path)!r}])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'prefect', 'great_expectations'})\n"
        "print(rc, heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project_root(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0 []"
    assert len(list(tmp_path.glob("*.xlsx"))) == 1


def test_nationwide_catalog_writes_a_template_for_any_municipality(tmp_path: Path) -> None:
    """Prefecture "00" (a nationwide survey, as the benchmark uses) accepts every municipality."""
    import yaml

    from kokuho.catalog import load_catalog
    from kokuho.config import data_dir
    from kokuho.municipalities import lookup
    from kokuho.templates import write_template

    raw = yaml.safe_load((data_dir() / "catalogs" / "11_2024.yaml").read_text(encoding="utf-8"))
    raw["prefecture_code"] = "00"
    path = tmp_path / "00_2024.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    catalog = load_catalog(path)
    out = write_template(catalog, lookup("011002"), tmp_path / "sapporo.xlsx")
    assert out.is_file()


def test_instructions_print_within_the_page(book: Workbook) -> None:
    """記入要領: only column B prints (the key column is hidden), one page wide, every wrapped
    line given the height of its lines."""
    ws = _sheets_by_key(book)[layout.SHEET_INSTRUCTIONS]
    assert ws.print_area == f"'{ws.title}'!$B$1:$B${ws.max_row}"
    assert ws.page_setup.orientation == "portrait" and ws.page_setup.fitToHeight == 0
    assert ws.column_dimensions["B"].width == INSTRUCTIONS_WIDTH
    long_rows = [c for c in ws["B"] if isinstance(c.value, str) and len(c.value) > INSTRUCTIONS_WIDTH / 2]
    assert long_rows
    for cell in long_rows:
        assert cell.alignment.wrap_text
        assert ws.row_dimensions[cell.row].height >= 18.75 * 2, cell.value
    for cell in ws["B"]:
        assert ws.row_dimensions[cell.row].height, cell.row


CONTACT = "埼玉県保健医療部国保医療課 国保運営担当（kokuho@pref.saitama.example.jp、048-830-0000）"


@pytest.fixture(scope="module")
def with_deadline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("deadline")
    result = _run(
        ["--out", str(out), "--municipality", "112020", "--deadline", "2024-06-30", "--contact", CONTACT]
    )
    assert result.code == 0, result.err
    (path,) = out.glob("*.xlsx")
    return path


def test_deadline_and_contact_on_the_cover_and_in_the_instructions(
    with_deadline: Path, tmp_path: Path, catalog: Catalog
) -> None:
    wb = load_workbook(with_deadline)
    cover = _sheets_by_key(wb)[layout.SHEET_COVER]
    assert (cover["B2"].value, cover["C2"].value) == ("提出期限", "2024年6月30日（日）")
    values = [c.value for row in cover.iter_rows() for c in row if c.value]
    assert CONTACT in values
    instructions = " ".join(
        str(c.value) for c in _sheets_by_key(wb)[layout.SHEET_INSTRUCTIONS]["B"] if c.value
    )
    assert "2024年6月30日（日）までに" in instructions and f"提出先：{CONTACT}" in instructions
    # The keyed cells extraction reads stay where a template without them has them.
    plain = write_template(catalog, lookup("112020"), tmp_path / "plain.xlsx")
    keys = _keyed_rows(cover)
    assert keys == _keyed_rows(_sheets_by_key(load_workbook(plain))[layout.SHEET_COVER])
    assert "県が指定する提出期限" in " ".join(
        str(c.value) for c in _sheets_by_key(load_workbook(plain))[layout.SHEET_INSTRUCTIONS]["B"] if c.value
    )


def test_a_template_with_deadline_and_contact_still_ingests(
    with_deadline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Filled and checked as a returned workbook: accepted, nothing flagged on the new cells."""
    from kokuho.cli import main as kokuho_main

    wb = load_workbook(with_deadline)
    cover = _sheets_by_key(wb)[layout.SHEET_COVER]
    for key, value in zip(
        layout.CONTACT_KEYS, ("国保年金課", "埼玉　太郎", "048-000-0000", "a@example.jp"), strict=True
    ):
        cover[f"{layout.COVER_VALUE_COLUMN}{_row(cover, key)}"] = value
    folder = tmp_path / "returned"
    folder.mkdir()
    wb.save(folder / with_deadline.name)
    monkeypatch.setenv("KOKUHO_HOME", str(tmp_path / "home"))
    for name in ("KOKUHO_DB", "KOKUHO_INBOX", "KOKUHO_PREFECTURE", "KOKUHO_YEAR"):
        monkeypatch.delenv(name, raising=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = kokuho_main(["check", str(folder)])
    assert code == 0
    verdicts = [line for line in out.getvalue().splitlines() if with_deadline.name in line]
    assert verdicts and verdicts[0].startswith("[問題なし] "), out.getvalue()


def test_bad_deadline_exits_2(tmp_path: Path) -> None:
    result = _run(["--out", str(tmp_path), "--municipality", "112020", "--deadline", "6月30日"])
    assert result.code == 2 and "提出期限" in result.err
    assert not list(tmp_path.glob("*.xlsx"))
