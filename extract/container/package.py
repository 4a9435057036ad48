"""Reading an OOXML package's structure (pure Python, defused XML): which part is the workbook and
of what kind, its relationships and content types; parsed once per identical part."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any, TypeVar

from defusedxml import ElementTree as SafeET

from extract.container.facts import KIND_XLSM, KIND_XLSX, Container
from extract.model import RawIssue

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
