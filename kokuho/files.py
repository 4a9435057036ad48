"""Small file helpers shared by the stages: hashing, and names of any bytes.

A file name on Linux is bytes. Windows zips unpacked here give names in cp932 (Shift-JIS) bytes,
which Python holds as str with lone surrogates (surrogateescape): such a str cannot be written to
DuckDB, Arrow, Excel or CSV. Every name shown or stored goes through `display_name`; the raw bytes
are kept as `name_hex`, and paths written by the project are cut to the file system's limits in
bytes with `fit_name`.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

# A name of one path component: 255 bytes on ext4, xfs, btrfs, tmpfs, NTFS (in UTF-16 units).
NAME_MAX_BYTES = 255
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_PRIVATE_USE_RE = re.compile(r"[\ue000-\uf8ff]")


def sha256_of(path: Path | str | bytes) -> str:
    """SHA-256 of a file's bytes (a submission's identity), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def name_bytes(name: str | bytes) -> bytes:
    """The raw bytes of a file name as the file system holds them."""
    return name if isinstance(name, bytes) else os.fsencode(name)


def name_hex(name: str | bytes) -> str:
    """The raw bytes of a file name, in hex (kept so the file can always be found again)."""
    return name_bytes(name).hex()


def display_name(name: str | bytes) -> str:
    """A name safe to show and store anywhere: UTF-8 where the bytes are UTF-8, else cp932
    (Windows Japanese) where they decode as that, else UTF-8 with the bad bytes as \\xNN; control
    characters (newline, tab, ESC…) are shown as \\xNN too. Plain names come back unchanged."""
    raw = name_bytes(name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp932")
        except UnicodeDecodeError:
            text = ""
        # cp932 maps stray bytes (0xFD-0xFF) and user-defined characters to the private use
        # area: that is not a name anyone wrote, so show the bytes instead.
        if not text or _PRIVATE_USE_RE.search(text):
            text = raw.decode("utf-8", errors="backslashreplace")
    return _CONTROL_RE.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


def display_path(path: Path | str) -> str:
    """`display_name` of every component of a path."""
    if isinstance(path, Path):
        text = str(path)  # a Path's text is already normalised
        # Printable text holds no control character and no raw byte (lone surrogate): every
        # component is shown as it is.
        if text.isprintable() and text != "/" and not text.startswith("//"):
            return text
    return "/".join(display_name(part) if part != "/" else "" for part in Path(path).parts) or "."


def safe_text(text: str) -> str:
    """`text` unchanged when it is valid Unicode text; else its lone surrogates (raw bytes of a
    file name) decoded as `display_name` does."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return display_name(text.encode("utf-8", errors="surrogateescape"))
    return text


def cut_bytes(text: str, max_bytes: int) -> str:
    """The longest prefix of `text` whose UTF-8 form fits in `max_bytes` (never half a character)."""
    return text.encode("utf-8")[: max(max_bytes, 0)].decode("utf-8", errors="ignore")


def fit_name(name: str, max_bytes: int = NAME_MAX_BYTES) -> str:
    """A file name of at most `max_bytes` UTF-8 bytes, keeping the extension (when it is short)."""
    if len(name.encode("utf-8")) <= max_bytes:
        return name
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and len(suffix.encode("utf-8")) <= 16 and "/" not in suffix:
        tail = "…." + suffix
        return cut_bytes(stem, max_bytes - len(tail.encode("utf-8"))) + tail
    return cut_bytes(name, max_bytes - len("…".encode())) + "…"
