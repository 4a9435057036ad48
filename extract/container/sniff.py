"""What a file that is neither a zip nor an OLE compound file is, for a helpful issue."""

from __future__ import annotations

from extract.model import RawIssue


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
