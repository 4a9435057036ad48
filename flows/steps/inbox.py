"""Scanning the inbox: every entry accounted for (files to process, and skipped ones with why),
each file hashed once."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from flows.steps.model import InboxEntry, InboxFile, ScanResult
from kokuho.files import display_name, display_path, name_hex

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb"}


def scan_inbox(paths: Iterable[Path]) -> ScanResult:
    """Every candidate file under the given files/folders, sorted by name, with its sha256.

    Every regular file counts (a CSV renamed .xlsx must be quarantined, not ignored). Skipped, each
    as an entry with its reason: Excel's lock files (~$name.xlsx), hidden files and folders,
    links (never followed: nothing outside the inbox is read), FIFOs and devices, files and folders
    that cannot be read, files that change while being hashed, and the same bytes under a second
    name. A failure on one entry is that entry's reason, never the scan's.
    """
    entries: list[InboxEntry] = []
    for root in paths:
        root = Path(root)
        if root.is_file():  # a path given explicitly (kokuho check FILE) is taken as it is
            entries.append(_consider(root.resolve(), display_name(root.name), False))
        else:
            _walk(root.resolve(), root.resolve(), entries)
    entries.sort(key=lambda e: (e.name, e.relative))
    first_of: dict[str, InboxEntry] = {}
    files = ScanResult(entries=entries)
    for no, entry in enumerate(entries):
        if entry.state is not None or entry.sha256 is None:
            continue
        first = first_of.get(entry.sha256)
        if first is not None:
            _skip(entry, "DUPLICATE_CONTENT", other=first.relative)
            entry.duplicate_of = first.relative
            continue
        first_of[entry.sha256] = entry
        files.append(
            InboxFile(
                path=entry.path,
                sha256=entry.sha256,
                size=entry.size or 0,
                mtime=entry.mtime or 0.0,
                name=entry.name,
                name_hex=entry.name_hex,
                entry_no=no,
            )
        )
    return files


def _walk(folder: Path, base: Path, entries: list[InboxEntry]) -> None:
    try:
        children = _list(folder)
    except OSError as exc:
        entry = _entry(folder, base)
        _skip(entry, "UNREADABLE_FOLDER", detail=_os_error(exc))
        entries.append(entry)
        return
    for child in children:
        path = Path(child.path)
        try:
            is_dir = child.is_dir(follow_symlinks=False)
            is_link = child.is_symlink()
        except OSError as exc:
            entry = _entry(path, base)
            _skip(entry, "UNREADABLE_FILE", detail=_os_error(exc))
            entries.append(entry)
            continue
        if is_dir and not is_link:
            if child.name.startswith("."):
                entry = _entry(path, base)
                _skip(entry, "HIDDEN_FILE")
                entries.append(entry)
            else:
                _walk(path, base, entries)
            continue
        entries.append(_consider(path, _relative(path, base), is_link and _outside(path, base), base))


def _list(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as listing:
        return sorted(listing, key=lambda e: e.name)


def _consider(path: Path, relative: str, outside: bool, base: Path | None = None) -> InboxEntry:
    """The entry of one file: its facts and hash, or why it is skipped."""
    entry = _entry(path, base, relative)
    try:
        _classify(entry, outside)
        if entry.state is None:
            entry.sha256, entry.size, entry.mtime = _hash_file(path)
    except _Changed:
        _skip(entry, "FILE_CHANGING")
    except _NotRegular as exc:
        _skip(entry, "NOT_REGULAR_FILE", detail=str(exc))
    except OSError as exc:
        _skip(entry, "UNREADABLE_FILE", detail=_os_error(exc))
    except Exception as exc:  # anything else is still this file's reason, never the run's end
        _skip(entry, "UNREADABLE_FILE", detail=f"{type(exc).__name__}: {display_name(str(exc))}")
    return entry


def _classify(entry: InboxEntry, outside: bool) -> None:
    name = entry.name
    info = os.lstat(entry.path)
    if stat.S_ISLNK(info.st_mode):
        _skip(entry, "OUTSIDE_INBOX" if outside else "SYMLINK")
    elif name.startswith("~$"):
        _skip(entry, "EXCEL_LOCK_FILE")
    elif name.startswith("."):
        _skip(entry, "HIDDEN_FILE")
    elif name == "manifest.json":
        _skip(entry, "MANIFEST_FILE")
    elif not stat.S_ISREG(info.st_mode):
        _skip(entry, "NOT_REGULAR_FILE", detail=_kind(info.st_mode))


class _Changed(Exception):
    """The file changed while it was read."""


class _NotRegular(Exception):
    """Not a regular file (swapped for a FIFO, device… since it was listed)."""


def _hash_file(path: Path) -> tuple[str, int, float]:
    """(sha256, size, mtime) read through one descriptor that follows no link and never blocks
    (a FIFO swapped in); the file must not change while it is read."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise _NotRegular(_kind(before.st_mode))
        digest = hashlib.sha256()
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
        after = os.fstat(fd)
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise _Changed()
    return digest.hexdigest(), after.st_size, after.st_mtime


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "名前付きパイプ（FIFO）"
    if stat.S_ISSOCK(mode):
        return "ソケット"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "デバイス"
    if stat.S_ISDIR(mode):
        return "フォルダ"
    return "特殊ファイル"


def _outside(path: Path, base: Path) -> bool:
    """Whether a link resolves outside the inbox (reported apart; neither kind is followed)."""
    try:
        target = path.resolve()
    except (OSError, RuntimeError):
        return True
    return not target.is_relative_to(base.resolve())


def _relative(path: Path, base: Path) -> str:
    try:
        return display_path(path.relative_to(base))
    except ValueError:
        return display_name(path.name)


def _entry(path: Path, base: Path | None, relative: str | None = None) -> InboxEntry:
    return InboxEntry(
        path=path,
        name=display_name(path.name),
        name_hex=name_hex(path.name),
        relative=relative if relative is not None else _relative(path, base or path.parent),
    )


def _skip(entry: InboxEntry, code: str, **fields: object) -> None:
    from kokuho.codelists import skip_reason

    entry.state = "skipped"
    entry.reason_code = code
    entry.reason = skip_reason(code, name=entry.name, **fields)


def _os_error(exc: OSError) -> str:
    return display_name(exc.strerror or type(exc).__name__)
