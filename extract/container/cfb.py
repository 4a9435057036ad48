"""Checks on an OLE compound file (legacy .xls, or an encrypted OOXML package): a bounded walk of
its directory for the streams that say what it is."""

from __future__ import annotations

import struct

from extract.container.facts import CFB_MAGIC, KIND_XLS, Container
from extract.model import RawIssue

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
