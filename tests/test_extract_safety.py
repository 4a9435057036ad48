"""Extraction of untrusted files: every kind of bad file costs only itself, with a stable code.

One `extract_files` call over a folder mixing good files with every bad kind (built here, byte by
byte where openpyxl cannot) gives most assertions; the worker crash and the hang are simulated
through faults the tests inject into the real worker (tests/faults/kokuho_faults.py).
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import random
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import openpyxl
import pytest
from kokuho_faults import CRASH_ENV, HANG_ENV
from workbook_factory import catalog, cfb, filled, municipalities, rezip, to_bytes

from extract.container import Limits, cfb_entry_names
from extract.model import ExtractedWorkbook
from extract.sandbox import WorkerStep, extract_files
from extract.wire import STEP_RESULT, WORKBOOK, decode, encode, encode_result
from kokuho.codelists import ISSUES
from transform.contracts import contract

KIB = 1024
# Small enough that bombs stay small; large enough for every good workbook here.
LIMITS = Limits(
    max_file_bytes=100 * KIB,
    max_uncompressed_bytes=1024 * KIB,
    ratio_min_member_bytes=64 * KIB,
    max_compression_ratio=100,
    timeout_seconds=2,
)


# --- builders ----------------------------------------------------------------------------------


def good_workbook(path: Path, municipality: str = "111007") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表紙"
    ws["A1"] = "kokuho:cover"
    ws["A3"] = "meta:municipality_code"
    ws["B3"] = "市町村コード"
    ws["C3"] = municipality
    section = wb.create_sheet("1 保険税関係")
    section["A1"] = "kokuho:section:1"
    section["A5"] = "measure:M001"
    section["D5"] = "○"
    wb.save(path)
    return path


def xlsx_bytes(build: Callable[[openpyxl.Workbook], None] | None = None) -> bytes:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "kokuho:cover"
    if build:
        build(wb)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def biff8(
    sheets: list[tuple[str, int, dict[tuple[int, int], object]]],
    merged: Sequence[tuple[int, int, int, int]] = (),
) -> bytes:
    """A BIFF8 workbook stream: (name, visibility 0/1/2, {(row0, col0): value}) per sheet."""

    def rec(kind: int, data: bytes = b"") -> bytes:
        return struct.pack("<HH", kind, len(data)) + data

    def bof(kind: int) -> bytes:
        return rec(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))

    def body(cells: dict[tuple[int, int], object]) -> bytes:
        rows = max((r for r, _ in cells), default=0) + 1
        cols = max((c for _, c in cells), default=0) + 1
        out = bof(0x0010) + rec(0x0200, struct.pack("<IIHHH", 0, rows, 0, cols, 0))
        for (r, c), value in cells.items():
            if isinstance(value, str):
                text = struct.pack("<HB", len(value), 1) + value.encode("utf-16-le")
                out += rec(0x0204, struct.pack("<HHH", r, c, 0) + text)  # LABEL
            else:
                assert isinstance(value, int | float), value
                out += rec(0x0203, struct.pack("<HHHd", r, c, 0, float(value)))  # NUMBER
        if merged:
            out += rec(
                0x00E5, struct.pack("<H", len(merged)) + b"".join(struct.pack("<4H", *m) for m in merged)
            )
        return out + rec(0x000A)

    def globals_(offsets: list[int]) -> bytes:
        out = bof(0x0005) + rec(0x0042, struct.pack("<H", 1200))  # CODEPAGE: UTF-16
        for (name, state, _), offset in zip(sheets, offsets, strict=True):
            label = struct.pack("<BB", len(name), 1) + name.encode("utf-16-le")
            out += rec(0x0085, struct.pack("<IBB", offset, state, 0) + label)  # BOUNDSHEET
        return out + rec(0x000A)

    bodies = [body(cells) for _, _, cells in sheets]
    position, offsets = len(globals_([0] * len(sheets))), []
    for blob in bodies:
        offsets.append(position)
        position += len(blob)
    return globals_(offsets) + b"".join(bodies)


def zip_bomb(member_bytes: int) -> bytes:
    return rezip(xlsx_bytes(), add={"xl/media/padding.bin": b"\0" * member_bytes})


def xxe() -> bytes:
    data = xlsx_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + sheet
    return rezip(data, replace={"xl/worksheets/sheet1.xml": evil})


def xxe_utf16() -> bytes:
    data = xlsx_bytes()
    evil = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x/>'
    return rezip(data, replace={"docProps/app.xml": b"\xff\xfe" + evil.encode("utf-16-le")})


def xfd() -> bytes:
    return xlsx_bytes(lambda wb: wb.active.__setitem__("XFD1048576", "x"))


def duplicate_member() -> bytes:
    data = xlsx_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        with pytest.warns(UserWarning):
            dst.writestr("xl/worksheets/sheet1.xml", src.read("xl/worksheets/sheet1.xml"))
    return out.getvalue()


def two_workbooks() -> bytes:
    """_rels/.rels names xl/book2.xml while xl/workbook.xml is still there: which one a parser
    reads is up to the parser, so the sheets it reads might be ones never checked."""
    data = xlsx_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        rels = archive.read("_rels/.rels").replace(b"xl/workbook.xml", b"xl/book2.xml")
        book = archive.read("xl/workbook.xml")
    return rezip(data, replace={"_rels/.rels": rels}, add={"xl/book2.xml": book})


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="word/document.xml"/></Relationships>',
        )
        archive.writestr("word/document.xml", "<document/>")
    return out.getvalue()


def ods() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


def too_big() -> bytes:
    noise = random.Random(1).randbytes(150 * KIB)  # incompressible: the file itself is large
    return rezip(xlsx_bytes(), add={"xl/media/photo.bin": noise})


# name -> (bytes, expected issue code or None for a good file)
BAD_FILES: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty.xlsx": (lambda: b"", "EMPTY_FILE"),
    "csv_renamed.xlsx": (lambda: "市町村コード,実施\n111007,○\n".encode("cp932"), "NOT_WORKBOOK"),
    "random.xlsx": (lambda: random.Random(0).randbytes(3000), "NOT_WORKBOOK"),
    "report.xlsx": (lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "NOT_WORKBOOK"),
    "webpage.xls": (lambda: b"<html><body><table><tr><td>1</td></tr></table></body></html>", "NOT_WORKBOOK"),
    "truncated.xlsx": (lambda: xlsx_bytes()[:3000], "CORRUPT_WORKBOOK"),
    "duplicate_part.xlsx": (duplicate_member, "CORRUPT_WORKBOOK"),
    "two_workbooks.xlsx": (two_workbooks, "CORRUPT_WORKBOOK"),
    "encrypted.xlsx": (
        lambda: cfb([("EncryptionInfo", b"\x04\x00\x04\x00"), ("EncryptedPackage", b"\0" * 16)]),
        "PASSWORD_PROTECTED",
    ),
    "word.xls": (lambda: cfb([("WordDocument", b"\0" * 64)]), "NOT_WORKBOOK"),
    "docx_renamed.xlsx": (docx, "NOT_WORKBOOK"),
    "calc.xlsx": (ods, "UNSUPPORTED_FORMAT"),
    "bomb_total.xlsx": (lambda: zip_bomb(5 * 1024 * KIB), "ZIP_BOMB"),
    "bomb_ratio.xlsx": (lambda: zip_bomb(512 * KIB), "ZIP_BOMB"),
    "too_big.xlsx": (too_big, "FILE_TOO_LARGE"),
    "xxe.xlsx": (xxe, "XML_ENTITY"),
    "xxe_utf16.xlsx": (xxe_utf16, "XML_ENTITY"),
    "xfd.xlsx": (xfd, "SHEET_TOO_LARGE"),
    "crash.xlsx": (xlsx_bytes, "PARSE_FAILED"),
    "hang.xlsx": (xlsx_bytes, "PARSE_TIMEOUT"),
}


# --- one batch with everything -----------------------------------------------------------------


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ExtractedWorkbook]:
    folder = tmp_path_factory.mktemp("inbox")
    paths: list[Path] = []
    # Good files before, between and after the bad ones: none may be lost or blamed.
    paths.append(good_workbook(folder / "111007_さいたま市.xlsx"))
    for name, (build, _) in BAD_FILES.items():
        path = folder / name
        path.write_bytes(build())
        paths.append(path)
        if name in ("crash.xlsx", "xfd.xlsx"):
            paths.append(good_workbook(folder / f"after_{name}", "112011"))
    paths.append(folder / "legacy.xls")
    paths[-1].write_bytes(cfb([("Workbook", biff8([("表紙", 0, {(0, 0): "kokuho:cover", (2, 2): 5})]))]))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CRASH_ENV, "crash.xlsx")
        patch.setenv(HANG_ENV, "hang.xlsx")
        results = extract_files(paths, workers=2, limits=LIMITS)
    assert [r.file_name for r in results] == [p.name for p in paths]  # same order, nothing lost
    for result, path in zip(results, paths, strict=True):
        assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest(), path.name
        assert result.file_size == path.stat().st_size
    return {r.file_name: r for r in results}


@pytest.mark.parametrize(("name", "code"), [(name, code) for name, (_, code) in BAD_FILES.items()])
def test_bad_file_has_its_code(batch: dict[str, ExtractedWorkbook], name: str, code: str) -> None:
    result = batch[name]
    assert [issue.code for issue in result.issues] == [code]
    assert result.sheets == []
    assert code in ISSUES


@pytest.mark.parametrize("name", ["111007_さいたま市.xlsx", "after_crash.xlsx", "after_xfd.xlsx"])
def test_good_files_survive_the_bad_ones(batch: dict[str, ExtractedWorkbook], name: str) -> None:
    result = batch[name]
    assert result.issues == []
    assert result.file_kind == "xlsx"
    cover = result.sheet_by_key("kokuho:cover")
    assert cover is not None
    code_row = next(row for row in cover.rows if row.key == "meta:municipality_code")
    assert code_row.cells["C"] in ("111007", "112011")
    section = result.sheet_by_key("kokuho:section:1")
    assert section is not None
    assert [(row.row_no, row.key, row.cells) for row in section.rows][1:] == [(5, "measure:M001", {"D": "○"})]


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("xfd.xlsx", "XFD1048576"),
        ("crash.xlsx", "SIGKILL"),
        ("hang.xlsx", "2秒"),
        ("bomb_total.xlsx", "合計 5.0MB"),
        ("bomb_ratio.xlsx", "圧縮率"),
        ("xxe.xlsx", "xl/worksheets/sheet1.xml"),
        ("random.xlsx", "形式を判別できません"),
        ("report.xlsx", "PDF"),
        ("csv_renamed.xlsx", "テキスト"),
        ("calc.xlsx", ".ods"),
    ],
)
def test_detail_says_what_was_found(batch: dict[str, ExtractedWorkbook], name: str, fragment: str) -> None:
    assert fragment in (batch[name].issues[0].detail or "")


def test_sheet_too_large_names_the_sheet(batch: dict[str, ExtractedWorkbook]) -> None:
    assert batch["xfd.xlsx"].issues[0].sheet == "Sheet"


def test_legacy_xls_is_read(batch: dict[str, ExtractedWorkbook]) -> None:
    result = batch["legacy.xls"]
    assert result.issues == []
    assert result.file_kind == "xls"
    assert result.sheets[0].key == "kokuho:cover"
    assert result.sheets[0].rows[-1].cells == {"C": 5.0}


# --- memory and crash isolation, one worker ---------------------------------------------------


def memory_bomb() -> bytes:
    """Valid and small (no zip bomb, 200×64 cells), but every cell points to one 30 KB shared
    string that the parser copies per cell: ~400 MB to materialise."""
    letters = [openpyxl.utils.get_column_letter(c) for c in range(1, 65)]
    rows = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{col}{r}" t="s"><v>0</v></c>' for col in letters) + "</row>"
        for r in range(1, 201)
    )
    sheet = f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>'
    sst = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        f"<si><t>{'あ' * 10_000}</t></si></sst>"
    )
    data = xlsx_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        types = archive.read("[Content_Types].xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    shared = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    types = types.replace(
        b"</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{shared}"/></Types>'.encode()
    )
    rel = '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    rels = rels.replace(b"</Relationships>", rel.encode() + b"</Relationships>")
    return rezip(
        data,
        replace={
            "xl/worksheets/sheet1.xml": sheet.encode(),
            "[Content_Types].xml": types,
            "xl/_rels/workbook.xml.rels": rels,
        },
        add={"xl/sharedStrings.xml": sst.encode()},
    )


def test_memory_limit_and_crash_cost_only_their_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One worker: the files queued behind each culprit were already handed to the worker that
    # died, so they must be re-queued, not blamed.
    names = ["crash.xlsx", "good1.xlsx", "bomb.xlsx", "good2.xlsx", "good3.xlsx"]
    paths = [tmp_path / name for name in names]
    for path in paths:
        if path.name.startswith("good"):
            good_workbook(path)
    paths[0].write_bytes(xlsx_bytes())
    paths[2].write_bytes(memory_bomb())
    monkeypatch.setenv(CRASH_ENV, "crash.xlsx")
    results = extract_files(paths, workers=1, limits=Limits(memory_bytes=256 * 1024 * 1024))
    assert [(r.file_name, [i.code for i in r.issues]) for r in results] == [
        ("crash.xlsx", ["PARSE_FAILED"]),
        ("good1.xlsx", []),
        ("bomb.xlsx", ["PARSE_FAILED"]),
        ("good2.xlsx", []),
        ("good3.xlsx", []),
    ]
    assert "メモリ上限 256MB" in (results[2].issues[0].detail or "")


# --- legacy .xls in-process details ------------------------------------------------------------


def test_legacy_xls_sheet_state_merges_and_size(tmp_path: Path) -> None:
    from extract.reader import extract_file

    path = tmp_path / "old.xls"
    stream = biff8(
        [("表紙", 0, {(0, 0): "kokuho:cover", (4, 3): "○"}), ("隠し", 1, {(0, 0): "x"})],
        merged=[(4, 5, 3, 3)],
    )
    path.write_bytes(cfb([("Workbook", stream)]))
    result = extract_file(path, Limits())
    assert [(s.title, s.visible) for s in result.sheets] == [("表紙", True), ("隠し", False)]
    assert result.sheets[0].merged_ranges == ["D5:D6"]
    assert result.sheets[0].rows[-1].cells == {"D": "○"}

    path.write_bytes(cfb([("Workbook", biff8([("大きい", 0, {(0, 0): "a", (6000, 0): "b"})]))]))
    result = extract_file(path, Limits())
    assert [(i.code, i.sheet) for i in result.issues] == [("SHEET_TOO_LARGE", "大きい")]


def test_cfb_directory_names() -> None:
    names = cfb_entry_names(cfb([("EncryptionInfo", b"x"), ("EncryptedPackage", b"y")]))
    assert names == ["Root Entry", "EncryptionInfo", "EncryptedPackage"]
    assert cfb_entry_names(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 600) is None


# --- the channel from worker to parent ---------------------------------------------------------


@pytest.mark.parametrize("kind", [WORKBOOK, STEP_RESULT])
def test_worker_results_cannot_carry_code(kind: int) -> None:
    evil = pickle.dumps((0, kind, (os.system, ("true",))), protocol=pickle.HIGHEST_PROTOCOL)
    with pytest.raises(pickle.UnpicklingError):
        decode(evil)


def test_worker_results_round_trip(tmp_path: Path) -> None:
    from extract.reader import extract_file

    workbook = extract_file(good_workbook(tmp_path / "a.xlsx"), Limits())
    index, kind, copy = decode(encode(7, workbook))
    assert (index, kind) == (7, WORKBOOK)
    assert copy == workbook
    assert decode(encode_result(3, ("a", [(1, 2.5, None)]))) == (3, STEP_RESULT, ("a", [(1, 2.5, None)]))


# --- a step run in the workers (staging, for the ingest flow) ----------------------------------

RESPONSE_MEASURE = contract("stg_responses").column_names.index("measure_id")
STAGE_STEP = WorkerStep("transform.staging", "stage_file", args=("11", 2024), check="check_staged")


def test_worker_step_stages_as_the_parent_would(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from extract.reader import extract_file
    from transform.staging import stage_file

    paths = []
    for municipality in municipalities()[:2]:
        paths.append(tmp_path / f"{municipality.code}.xlsx")
        paths[-1].write_bytes(to_bytes(filled(municipality).wb))
    paths.append(tmp_path / "crash.xlsx")
    paths[-1].write_bytes(paths[0].read_bytes() + b"\0")
    monkeypatch.setenv(CRASH_ENV, "crash.xlsx")
    staged = extract_files(paths, workers=2, limits=LIMITS, step=STAGE_STEP)
    # The good files: staged in the workers exactly as in-process staging stages them.
    for path, result in zip(paths[:2], staged[:2], strict=True):
        assert result == stage_file(extract_file(path, LIMITS), "11", 2024)
        assert len(result[2][0]) == 1  # the submission
        assert {row[RESPONSE_MEASURE] for row in result[2][1]} == {m.id for m in catalog().measures}
    # The file that killed its worker: staged in the parent, as its failure.
    sha256, _, tables = staged[2]
    assert sha256 == hashlib.sha256(paths[2].read_bytes()).hexdigest()
    issues = tables[-1]
    assert [row[5] for row in issues] == ["PARSE_FAILED"]
    assert all(rows == [] for rows in tables[1:-1])


@pytest.mark.parametrize(
    "value",
    [
        None,
        ("sha", "survey"),
        ("sha", "survey", ([], [], [], [])),
        ("sha", 1, ([], [], [], [], [])),
        ("sha", "survey", ([], [("too", "short")], [], [], [])),
        ("sha", "survey", ([], [], [], [], ["not a tuple"])),
        ("sha", "survey", ([], ((),), [], [], [])),  # rows in a tuple, not a list
    ],
)
def test_malformed_staged_results_are_refused(value: object) -> None:
    from transform.staging import check_staged

    with pytest.raises(ValueError, match="malformed"):
        check_staged(value)


@pytest.mark.parametrize("bad_row", [lambda w: (None,) * (w + 1), lambda w: [None] * w, lambda w: ()])
def test_one_bad_row_among_good_ones_is_refused(bad_row: Callable[[int], object]) -> None:
    from transform.batch import StagingBatch
    from transform.staging import check_staged

    width = len(contract("stg_responses").columns)
    good = [(None,) * width] * 3

    def tables(responses: list) -> tuple[list, ...]:
        return tuple(responses if attr == "responses" else [] for attr in StagingBatch.TABLES)

    assert check_staged(("sha", "survey", tables(good))) is not None
    with pytest.raises(ValueError, match="malformed"):
        check_staged(("sha", "survey", tables([*good, bad_row(width), *good])))


def test_no_files_no_workers() -> None:
    assert extract_files([]) == []


def _one_member_zip(payload: bytes = b"<a/>" * 50, name: str = "xl/a.xml") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, payload)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d.replace(b"xl/a.xml", b"xl/b.xml", 1), "names differ"),  # local header only
        (lambda d: d[:40], "bad local header|truncated"),
        (lambda d: d[:40] + bytes([d[40] ^ 0xFF]) + d[41:], "CRC|Error"),  # deflate data
    ],
)
def test_read_member_refuses_damaged_members(damage: Callable[[bytes], bytes], message: str) -> None:
    from extract.container import read_member

    good = _one_member_zip()
    info = zipfile.ZipFile(io.BytesIO(good)).infolist()[0]
    assert read_member(good, info) == b"<a/>" * 50
    with pytest.raises((zipfile.BadZipFile, zlib.error), match=message):
        read_member(damage(good), info)


def test_on_result_gets_every_file_once_and_nothing_is_kept(tmp_path: Path) -> None:
    paths = [good_workbook(tmp_path / f"{n}.xlsx") for n in range(5)]
    seen: list[int] = []
    kept = extract_files(paths, workers=2, limits=LIMITS, on_result=lambda index, result: seen.append(index))
    assert sorted(seen) == list(range(5))
    assert kept == []  # the caller holds the results; the sandbox does not hold them twice


def test_checked_package_gives_the_parser_exactly_the_checked_xml(tmp_path: Path) -> None:
    """XML parts stored as the checks inflated them, other members copied byte for byte, names
    (non-ASCII too) and order kept: the rebuilt package reads as the original does."""
    from extract.container import checked_package, open_container
    from extract.reader import extract_file

    original = good_workbook(tmp_path / "good.xlsx")
    extra = {"xl/media/画像1.png": b"\x89PNG" + bytes(range(256)) * 4, "xl/vbaProject.bin": b"\x00\x01" * 300}
    with zipfile.ZipFile(original, "a", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in extra.items():
            archive.writestr(name, payload)
    container = open_container(original, LIMITS)
    assert not container.issues
    rebuilt = zipfile.ZipFile(io.BytesIO(checked_package(container)))
    assert rebuilt.testzip() is None
    source = zipfile.ZipFile(original)
    assert [i.filename for i in rebuilt.infolist()] == [i.filename for i in source.infolist()]
    for info in rebuilt.infolist():
        assert rebuilt.read(info) == source.read(info.filename)
        xml = info.filename.endswith((".xml", ".rels"))
        assert info.compress_type == (zipfile.ZIP_STORED if xml else zipfile.ZIP_DEFLATED), info.filename
    raw = source.infolist()[-1]  # copied as it was: same deflate stream
    assert rebuilt.getinfo(raw.filename).compress_size == raw.compress_size
    workbook = extract_file(original, LIMITS)
    assert not workbook.issues
    sheet = workbook.sheet_by_key("kokuho:section:1")
    assert sheet is not None and sheet.rows[-1].cells == {"D": "○"}


@pytest.mark.parametrize(
    ("extra", "code"), [(0, None), (1000, None), (LIMITS.max_file_bytes, "FILE_TOO_LARGE")]
)
def test_a_file_that_grows_while_it_is_read_is_read_whole_or_refused(
    tmp_path: Path, extra: int, code: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The size found first is what the first read asks for; a file longer than that by then is
    read on, up to the limit, and beyond it refused."""
    import extract.container as container

    path = tmp_path / "growing.xlsx"
    path.write_bytes(xlsx_bytes() + b"\0" * extra)
    real_fstat = os.fstat
    written = len(xlsx_bytes())

    def smaller(fd: int) -> os.stat_result:  # as when the file was still being written
        found = real_fstat(fd)
        return os.stat_result((*found[:6], min(found.st_size, written - 100), *found[7:]))

    monkeypatch.setattr(container.os, "fstat", smaller)
    opened = container.open_container(path, LIMITS)
    assert [issue.code for issue in opened.issues] == ([code] if code else [])
    if code is None:
        assert opened.facts.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert opened.facts.size == path.stat().st_size
