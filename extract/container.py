"""Checks on the file as a container, before any spreadsheet parser sees it.

Pure Python and cheap: what the file really is (by its bytes, not its extension), whether it is
encrypted, whether its zip directory promises a bomb, whether any XML part declares a DTD. The
bytes checked here are the bytes later handed to the parser, so the file cannot change in between.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any, TypeVar

from defusedxml import ElementTree as SafeET

from extract.model import RawIssue

MIB = 1024 * 1024
GIB = 1024 * MIB

ZIP_MAGIC = b"PK\x03\x04"
ZIP_EMPTY_MAGIC = b"PK\x05\x06"  # an empty archive: a zip, but never a workbook
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

KIND_XLSX = "xlsx"
KIND_XLSM = "xlsm"
KIND_XLS = "xls"


_Result = TypeVar("_Result")
_MEMO_MAX_BYTES = 256 * 1024


def memo_part(function: Callable[..., _Result]) -> Callable[..., _Result]:
    """Cache a pure function of one XML part's bytes (and hashable arguments).

    Workbooks returned from one template repeat their workbook, relationship, content-type and
    style parts byte for byte, so a worker parses each once instead of once per file. Results
    must be immutable; parts larger than 256 KB are never kept."""
    cached = lru_cache(maxsize=32)(function)

    @wraps(function)
    def wrapper(blob: bytes, *args: Any) -> _Result:
        if len(blob) <= _MEMO_MAX_BYTES:
            return cached(blob, *args)
        return function(blob, *args)

    return wrapper


@dataclass(frozen=True)
class Limits:
    """What one returned file may cost. The defaults leave a wide margin over a real survey
    workbook (≈20 KB, 5 sheets, a few hundred rows, columns A–F)."""

    max_file_bytes: int = 20 * MIB
    max_uncompressed_bytes: int = 200 * MIB  # sum of the zip members' declared sizes
    max_compression_ratio: float = 100.0  # per member ...
    ratio_min_member_bytes: int = 1 * MIB  # ... only for members larger than this (small XML compresses well)
    max_zip_members: int = 2_000
    max_rows: int = 5_000
    max_cols: int = 64
    memory_bytes: int = 2 * GIB  # address space of a parsing worker (RLIMIT_AS)
    timeout_seconds: float = 60.0  # per file, in a worker


@dataclass
class FileFacts:
    sha256: str
    size: int
    mtime: float


@dataclass
class Container:
    """A returned file after the container checks. When `issues` is non-empty nothing may parse it."""

    facts: FileFacts
    kind: str | None = None  # xlsx / xlsm / xls
    has_macros: bool = False
    issues: list[RawIssue] = field(default_factory=list)
    data: bytes = b""  # the whole file, as checked
    # OOXML only: XML parts by normalised name (lower case, no leading "/"), read with their
    # sizes bounded by the zip directory, and the main (workbook) part's name.
    parts: dict[str, bytes] = field(default_factory=dict)
    workbook_part: str | None = None
    members: list[zipfile.ZipInfo] = field(default_factory=list)  # OOXML: the zip directory, in order


def file_facts(path: Path) -> FileFacts:
    """sha256, size and mtime, streaming (safe on any file, used for files a worker never finished)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        stat = os.fstat(handle.fileno())
        for chunk in iter(lambda: handle.read(MIB), b""):
            digest.update(chunk)
    return FileFacts(digest.hexdigest(), stat.st_size, stat.st_mtime)


def open_container(path: Path, limits: Limits) -> Container:
    """Read `path` once and run every container check on its bytes. Raises OSError only when the
    file itself cannot be read."""
    with path.open("rb") as handle:
        stat = os.fstat(handle.fileno())
        if stat.st_size > limits.max_file_bytes:
            container = Container(file_facts(path))
            container.issues.append(
                RawIssue(
                    "FILE_TOO_LARGE",
                    detail=f"{_mb(stat.st_size)}、上限 {_mb(limits.max_file_bytes)}",
                    rule="max_file_bytes",
                )
            )
            return container
        # One bounded read: a file growing while we read it cannot exceed the limit.
        data = handle.read(limits.max_file_bytes + 1)
    if len(data) > limits.max_file_bytes:  # it grew while we read it
        container = Container(file_facts(path))
        container.issues.append(
            RawIssue("FILE_TOO_LARGE", detail=f"上限 {_mb(limits.max_file_bytes)} 超", rule="max_file_bytes")
        )
        return container
    facts = FileFacts(hashlib.sha256(data).hexdigest(), len(data), stat.st_mtime)
    container = Container(facts, data=data)
    if not data:
        container.issues.append(RawIssue("EMPTY_FILE", rule="empty"))
    elif data.startswith(ZIP_MAGIC):
        _check_zip(container, limits)
    elif data.startswith(CFB_MAGIC):
        _check_cfb(container)
    elif data.startswith(ZIP_EMPTY_MAGIC):
        container.issues.append(RawIssue("NOT_WORKBOOK", detail="中身のないZIPファイル", rule="magic"))
    else:
        container.issues.append(_sniff_other(data))
    if container.issues:
        container.data = b""
        container.parts = {}
    return container


# --- zip (xlsx / xlsm) -------------------------------------------------------------------------

# Parts whose content is XML; everything else (images, vbaProject.bin) is never read here.
_XML_SUFFIXES = (".xml", ".rels", ".vml")
# What zipfile may raise on a damaged archive (zlib.error: a corrupt deflate stream).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    NotImplementedError,
    ValueError,
    OSError,
    EOFError,
    RuntimeError,
    struct.error,
)
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)

_CT_MAIN = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": KIND_XLSX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": KIND_XLSX,
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": KIND_XLSM,
    "application/vnd.ms-excel.template.macroenabled.main+xml": KIND_XLSM,
    "application/vnd.ms-excel.addin.macroenabled.main+xml": KIND_XLSM,
}
_CT_UNSUPPORTED = {
    "application/vnd.ms-excel.sheet.binary.macroenabled.main": "Excelバイナリブック（.xlsb）",
}
_CT_OTHER_OFFICE = (
    ("wordprocessingml", "Word文書（.docx）"),
    ("presentationml", "PowerPointファイル（.pptx）"),
)
_REL_OFFICE_DOCUMENT = "/officedocument"


def _check_zip(container: Container, limits: Limits) -> None:
    issues = container.issues
    try:
        archive = zipfile.ZipFile(io.BytesIO(container.data))
    except _ZIP_ERRORS:
        issues.append(
            RawIssue("CORRUPT_WORKBOOK", detail="ZIP構造が壊れているか、途中で切れています", rule="zip")
        )
        return
    with archive:
        infos = archive.infolist()
        if not _check_zip_directory(infos, limits, issues):
            return
        names = {_norm(info.filename): info for info in infos}
        mimetype = names.get("mimetype")
        if mimetype is not None and mimetype.file_size < 200:
            try:
                kind = archive.read(mimetype).decode("ascii", "replace")
            except _ZIP_ERRORS:
                kind = ""
            if "opendocument.spreadsheet" in kind:
                issues.append(
                    RawIssue("UNSUPPORTED_FORMAT", detail="OpenDocument形式（.ods）", rule="format")
                )
                return
        # Read every XML part once, bounded by its declared size (zipfile stops there and a CRC
        # mismatch raises), so a member lying about its size cannot blow up here.
        parts: dict[str, bytes] = {}
        for name, info in names.items():
            if not name.endswith(_XML_SUFFIXES):
                continue
            try:
                parts[name] = read_member(container.data, info)
            except NotImplementedError:
                issues.append(
                    RawIssue(
                        "CORRUPT_WORKBOOK",
                        detail=f"部品「{names[name].filename}」の圧縮方式に対応していません",
                        rule="zip",
                    )
                )
                return
            except _ZIP_ERRORS:
                issues.append(
                    RawIssue(
                        "CORRUPT_WORKBOOK", detail=f"部品「{names[name].filename}」が壊れています", rule="zip"
                    )
                )
                return
        for name, blob in parts.items():
            if _has_dtd(blob):
                issues.append(
                    RawIssue("XML_ENTITY", detail=f"部品「{names[name].filename}」", rule="xml_dtd")
                )
                return
        container.has_macros = any(name.endswith("vbaproject.bin") for name in names)
        _classify_package(container, parts)
        if not issues:
            container.parts = parts
            container.members = infos


def read_member(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """One member of the zip `data`, as ZipFile.read gives it, without ZipFile's per-member file
    objects (a third of the container checks' time on a survey workbook): the local header must
    match the directory, the output is bounded by the directory's size, the CRC must match."""
    raw = _member_data(data, info)
    if info.compress_type == zipfile.ZIP_STORED:
        blob = raw
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        blob = inflater.decompress(raw, info.file_size + 1)
    else:
        raise NotImplementedError(f"compression method {info.compress_type}")
    if len(blob) != info.file_size or zlib.crc32(blob) != info.CRC:
        raise zipfile.BadZipFile(f"bad size or CRC: {info.filename}")
    return blob


def _member_data(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """A member's stored (usually compressed) bytes, after checking its local header."""
    offset = info.header_offset
    header = data[offset : offset + 30]
    if len(header) < 30 or header[:4] != ZIP_MAGIC:
        raise zipfile.BadZipFile(f"bad local header: {info.filename}")
    name_length, extra_length = struct.unpack_from("<HH", header, 26)
    name = data[offset + 30 : offset + 30 + name_length]
    if name.decode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace") != info.orig_filename:
        raise zipfile.BadZipFile(f"local and central names differ: {info.filename}")
    start = offset + 30 + name_length + extra_length
    raw = data[start : start + info.compress_size]
    if len(raw) != info.compress_size:
        raise zipfile.BadZipFile(f"truncated member: {info.filename}")
    return raw


_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_CENTRAL_HEADER = struct.Struct("<4s6H3L5H2L")
_END_RECORD = struct.Struct("<4s4H2LH")


def checked_package(container: Container) -> bytes:
    """The package rebuilt for the parser: every XML part as the checks read it, stored
    uncompressed; every other member copied as it was.

    The parser then reads exactly the XML the checks and the sheet scan saw (no second inflate
    that could disagree with ours), and skips inflating it again (a fifth of its time on a survey
    workbook). Sizes stay below 4 GiB (Limits), so no zip64 is needed."""
    data, parts = container.data, container.parts
    local: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for info in container.members:
        blob = parts.get(_norm(info.filename))
        if blob is not None:
            method, payload, crc, size = zipfile.ZIP_STORED, blob, info.CRC, len(blob)
        else:
            method, payload, crc, size = (
                info.compress_type,
                _member_data(data, info),
                info.CRC,
                info.file_size,
            )
        name = info.orig_filename.encode("utf-8")
        flags = 0x800 if not name.isascii() else 0
        date = _dos_date(info.date_time)
        header = _LOCAL_HEADER.pack(
            b"PK\x03\x04", 20, flags, method, date[1], date[0], crc, len(payload), size, len(name), 0
        )
        local += (header, name, payload)
        central.append(
            _CENTRAL_HEADER.pack(
                b"PK\x01\x02",
                20,
                20,
                flags,
                method,
                date[1],
                date[0],
                crc,
                len(payload),
                size,
                len(name),
                0,
                0,
                0,
                0,
                info.external_attr,
                offset,
            )
            + name
        )
        offset += len(header) + len(name) + len(payload)
    directory = b"".join(central)
    end = _END_RECORD.pack(b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), offset, 0)
    return b"".join((*local, directory, end))


def _dos_date(date_time: tuple[int, ...]) -> tuple[int, int]:
    """(date, time) in MS-DOS form, as the zip headers hold them."""
    year, month, day, hour, minute, second = date_time
    year = min(max(year, 1980), 2107)
    return (year - 1980) << 9 | month << 5 | day, hour << 11 | minute << 5 | second // 2


def _check_zip_directory(infos: list[zipfile.ZipInfo], limits: Limits, issues: list[RawIssue]) -> bool:
    """Bomb, encryption and duplicate checks from the central directory alone (nothing inflated)."""
    if len(infos) > limits.max_zip_members:
        issues.append(
            RawIssue(
                "ZIP_BOMB",
                detail=f"部品数 {len(infos):,}、上限 {limits.max_zip_members:,}",
                rule="max_zip_members",
            )
        )
        return False
    if any(info.flag_bits & 0x1 for info in infos):
        issues.append(RawIssue("PASSWORD_PROTECTED", detail="ZIPの暗号化", rule="zip_encrypted"))
        return False
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        issues.append(
            RawIssue(
                "ZIP_BOMB",
                detail=f"合計 {_mb(total)}、上限 {_mb(limits.max_uncompressed_bytes)}",
                rule="max_uncompressed_bytes",
            )
        )
        return False
    for info in infos:
        if info.file_size <= limits.ratio_min_member_bytes:
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_compression_ratio:
            issues.append(
                RawIssue(
                    "ZIP_BOMB",
                    detail=f"部品「{info.filename}」の圧縮率 {ratio:,.0f}倍、上限 {limits.max_compression_ratio:,.0f}倍",
                    rule="max_compression_ratio",
                )
            )
            return False
    seen: set[str] = set()
    for info in infos:
        name = _norm(info.filename)
        if name in seen:
            # Two members with one name: parsers disagree on which one wins, so nothing checked
            # here would be guaranteed to be what is parsed.
            issues.append(
                RawIssue("CORRUPT_WORKBOOK", detail=f"同名の部品が重複しています（{name}）", rule="zip")
            )
            return False
        seen.add(name)
    return True


def _classify_package(container: Container, parts: dict[str, bytes]) -> None:
    issues = container.issues
    workbook_part = _main_part(parts)
    content_type = _content_type(parts, workbook_part) if workbook_part else None
    if content_type is not None:
        for marker, label in _CT_OTHER_OFFICE:
            if marker in content_type:
                issues.append(RawIssue("NOT_WORKBOOK", detail=label, rule="content_type"))
                return
        if content_type in _CT_UNSUPPORTED:
            issues.append(
                RawIssue("UNSUPPORTED_FORMAT", detail=_CT_UNSUPPORTED[content_type], rule="content_type")
            )
            return
    if workbook_part is None:
        issues.append(
            RawIssue("NOT_WORKBOOK", detail="ZIPファイルですがExcelブックではありません", rule="content_type")
        )
        return
    if workbook_part not in parts:
        issues.append(
            RawIssue("CORRUPT_WORKBOOK", detail=f"ブック本体（{workbook_part}）がありません", rule="package")
        )
        return
    if workbook_part != "xl/workbook.xml" and "xl/workbook.xml" in parts:
        # Parsers that read xl/workbook.xml regardless would see sheets we never checked.
        issues.append(
            RawIssue("CORRUPT_WORKBOOK", detail=f"ブック本体が2つあります（{workbook_part}）", rule="package")
        )
        return
    container.workbook_part = workbook_part
    container.kind = _CT_MAIN.get(content_type or "", KIND_XLSX)


def _main_part(parts: dict[str, bytes]) -> str | None:
    """The officeDocument target of _rels/.rels; xl/workbook.xml when the package has no rels."""
    rels = parts.get("_rels/.rels")
    if rels is not None:
        for rel_type, target in relationships(rels):
            if rel_type.lower().endswith(_REL_OFFICE_DOCUMENT):
                return resolve_target("", target)
    return "xl/workbook.xml" if "xl/workbook.xml" in parts else None


def _content_type(parts: dict[str, bytes], part: str) -> str | None:
    blob = parts.get("[content_types].xml")
    if blob is None:
        return None
    return _override_content_type(blob, part)


@memo_part
def _override_content_type(blob: bytes, part: str) -> str | None:
    try:
        root = SafeET.fromstring(blob)
    except Exception:  # any parse failure means "unknown", decided by the caller
        return None
    for element in root:
        if local_name(element.tag) == "Override" and _norm(element.get("PartName", "")) == part:
            return element.get("ContentType", "").strip().lower()
    return None


def relationships(blob: bytes) -> list[tuple[str, str]]:
    """(Type, Target) of every Relationship in a .rels part (id kept out: callers that need ids
    use `relationship_map`)."""
    return [(rel_type, target) for _, rel_type, target in relationship_map(blob)]


def relationship_map(blob: bytes) -> list[tuple[str, str, str]]:
    """(Id, Type, Target) of every internal Relationship in a .rels part."""
    return list(_relationships(blob))


@memo_part
def _relationships(blob: bytes) -> tuple[tuple[str, str, str], ...]:
    try:
        root = SafeET.fromstring(blob)
    except Exception:
        return ()
    out = []
    for element in root:
        if local_name(element.tag) != "Relationship":
            continue
        if element.get("TargetMode", "").lower() == "external":
            continue
        out.append((element.get("Id", ""), element.get("Type", ""), element.get("Target", "")))
    return tuple(out)


def resolve_target(base_dir: str, target: str) -> str:
    """A relationship target as a normalised part name."""
    import posixpath

    target = target.replace("\\", "/")
    path = target if target.startswith("/") else posixpath.join("/", base_dir, target)
    return _norm(posixpath.normpath(path))


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _norm(name: str) -> str:
    return name.replace("\\", "/").lstrip("/").lower()


def _has_dtd(blob: bytes) -> bool:
    # A declaration needs "!": one memchr (the byte is rare in XML) spares the regex on most parts.
    if b"!" not in blob:
        return False
    if _DTD.search(blob):
        return True
    # UTF-16/32 XML hides ASCII markup between NUL bytes.
    if b"\x00" in blob[:64]:
        return bool(_DTD.search(blob.replace(b"\x00", b"")))
    return False


# --- OLE compound file (legacy .xls, or an encrypted OOXML package) -----------------------------

_ENCRYPTED_STREAMS = ("EncryptionInfo", "EncryptedPackage")
_OTHER_OLE = (("WordDocument", "Word文書（.doc）"), ("PowerPoint Document", "PowerPointファイル（.ppt）"))


def _check_cfb(container: Container) -> None:
    names = cfb_entry_names(container.data)
    if names is None:
        # A directory we cannot walk: fall back to looking for the UTF-16LE names anywhere.
        raw = container.data
        names = [
            name
            for name in (*_ENCRYPTED_STREAMS, "Workbook", "Book", "_VBA_PROJECT_CUR")
            if name.encode("utf-16-le") in raw
        ]
        if not names:
            container.issues.append(
                RawIssue("CORRUPT_WORKBOOK", detail="OLE形式のファイルが壊れています", rule="cfb")
            )
            return
    found = set(names)
    if found & set(_ENCRYPTED_STREAMS):
        container.issues.append(RawIssue("PASSWORD_PROTECTED", detail="暗号化されたブック", rule="encrypted"))
        return
    if "Workbook" in found or "Book" in found:
        container.kind = KIND_XLS
        container.has_macros = "_VBA_PROJECT_CUR" in found
        return
    for stream, label in _OTHER_OLE:
        if stream in found:
            container.issues.append(RawIssue("NOT_WORKBOOK", detail=label, rule="magic"))
            return
    container.issues.append(
        RawIssue("NOT_WORKBOOK", detail="Excelブックを含まないOLE形式のファイル", rule="magic")
    )


_END = 0xFFFFFFFE
_MAX_SECTOR = 0xFFFFFFFA


def cfb_entry_names(data: bytes) -> list[str] | None:
    """Names of the storages and streams in an OLE compound file's directory, or None when the
    structure is inconsistent. Every chain walk is bounded by the number of sectors in the file."""
    if len(data) < 512 or not data.startswith(CFB_MAGIC):
        return None
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    if shift not in (9, 12):
        return None
    size = 1 << shift
    n_sectors = -(-(len(data) - size) // size)  # the header takes the first sector's room
    (n_fat,) = struct.unpack_from("<I", data, 0x2C)
    (first_dir,) = struct.unpack_from("<I", data, 0x30)
    first_difat, n_difat = struct.unpack_from("<II", data, 0x44)
    if n_fat > n_sectors or n_difat > n_sectors:
        return None

    def sector(n: int) -> bytes | None:
        start = (n + 1) * size
        return data[start : start + size] if n < n_sectors else None

    fat_sectors = [s for s in struct.unpack_from("<109I", data, 0x4C) if s <= _MAX_SECTOR]
    difat, steps = first_difat, 0
    while difat <= _MAX_SECTOR:
        block = sector(difat)
        if block is None or len(block) < size or steps > n_sectors:
            return None
        entries = struct.unpack(f"<{size // 4}I", block)
        fat_sectors += [s for s in entries[:-1] if s <= _MAX_SECTOR]
        difat, steps = entries[-1], steps + 1
    fat: list[int] = []
    for s in fat_sectors[:n_fat]:
        block = sector(s)
        if block is None or len(block) < size:
            return None
        fat.extend(struct.unpack(f"<{size // 4}I", block))
    names: list[str] = []
    current, steps = first_dir, 0
    while current <= _MAX_SECTOR:
        block = sector(current)
        if block is None or current >= len(fat) or steps > n_sectors:
            return None
        for offset in range(0, len(block) - 127, 128):
            name_len, obj_type = struct.unpack_from("<HB", block, offset + 0x40)
            if obj_type in (1, 2, 5) and 2 <= name_len <= 64:
                names.append(block[offset : offset + name_len - 2].decode("utf-16-le", "replace"))
        current, steps = fat[current], steps + 1
    return names if current == _END else None


# --- anything else -----------------------------------------------------------------------------


def _sniff_other(data: bytes) -> RawIssue:
    head = data[:4096]
    stripped = head.lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n")
    lowered = stripped.replace(b"\x00", b"").lower()

    def issue(detail: str, code: str = "NOT_WORKBOOK") -> RawIssue:
        return RawIssue(code, detail=detail, rule="magic")

    if head.startswith(b"%PDF"):
        return issue("PDFファイル")
    if lowered.startswith(b"<"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in data[:65536].replace(b"\x00", b""):
            return issue("XMLスプレッドシート2003形式", "UNSUPPORTED_FORMAT")
        if b"<html" in lowered or b"<!doctype html" in lowered or b"<table" in lowered:
            return issue("HTMLファイル（Webページ形式）")
        return issue("XMLファイル")
    for magic, label in (
        (b"Rar!", "RAR圧縮ファイル"),
        (b"7z\xbc\xaf", "7z圧縮ファイル"),
        (b"\x1f\x8b", "gzip圧縮ファイル"),
        (b"\x89PNG", "画像ファイル（PNG）"),
        (b"\xff\xd8\xff", "画像ファイル（JPEG）"),
        (b"{\\rtf", "RTF文書"),
    ):
        if head.startswith(magic):
            return issue(label)
    if b"\x00" not in head:
        for encoding in ("utf-8", "cp932"):
            try:
                head.decode(encoding)
            except UnicodeDecodeError:
                # A multi-byte character cut at the 4 KB boundary is still text.
                try:
                    head[:-4].decode(encoding)
                except UnicodeDecodeError:
                    continue
            return issue("テキストファイル（CSVなど）")
    return issue(f"形式を判別できません、先頭バイト {head[:4].hex(' ')}")


def _mb(n: int) -> str:
    return f"{n / MIB:,.1f}MB"
