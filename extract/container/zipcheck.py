"""Checks on a zip (xlsx / xlsm) before any parser sees it: its directory (sizes, ratios, names),
its members read within their declared sizes, DTDs in XML parts, and the package the parser is
handed, rebuilt from what was checked."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

from extract.container.facts import ZIP_MAGIC, Container, Limits, _mb
from extract.container.package import _classify_package, _norm
from extract.model import RawIssue

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
