"""The pipeline's steps as plain functions (no Prefect here): the Prefect flow in flows/ingest.py
wraps them in tasks, and `kokuho check` calls them directly. One module per idea; every name
is importable from `flows.steps`.

scan -> extract (isolated) -> stage (transform) -> validate (GX) -> quarantine -> load -> export
"""

from flows.steps.check import CHECK_LABELS, check_paths, format_outcomes
from flows.steps.chunks import CHUNK_SIZE, DISTRIBUTED_CHUNK_SIZE, chunk_size, chunked, split_known
from flows.steps.export import export_all, export_path, write_returned_list_of
from flows.steps.inbox import WORKBOOK_SUFFIXES, scan_inbox
from flows.steps.load import (
    chunked_load,
    entries_frame,
    finish_chunked_load,
    known_files,
    load_and_publish,
    load_chunk,
    name_municipality_code,
    record_empty_run,
)
from flows.steps.model import FileOutcome, InboxEntry, InboxFile, ScanResult, StagedChunk, StageResult
from flows.steps.summary import RunSummary, summarise_run
from flows.steps.validation import (
    build_data_docs,
    mark_superseded_within,
    merge_results,
    stage_chunk,
    stage_files,
    validate_staged,
    without_rows,
)
from load.memory import release_freed_memory, use_system_allocator

__all__ = [
    "CHECK_LABELS",
    "CHUNK_SIZE",
    "DISTRIBUTED_CHUNK_SIZE",
    "FileOutcome",
    "InboxEntry",
    "InboxFile",
    "RunSummary",
    "ScanResult",
    "StageResult",
    "StagedChunk",
    "WORKBOOK_SUFFIXES",
    "build_data_docs",
    "check_paths",
    "chunk_size",
    "chunked",
    "chunked_load",
    "entries_frame",
    "finish_chunked_load",
    "load_chunk",
    "merge_results",
    "release_freed_memory",
    "use_system_allocator",
    "export_all",
    "export_path",
    "format_outcomes",
    "known_files",
    "load_and_publish",
    "mark_superseded_within",
    "name_municipality_code",
    "record_empty_run",
    "scan_inbox",
    "split_known",
    "stage_chunk",
    "stage_files",
    "summarise_run",
    "validate_staged",
    "without_rows",
    "write_returned_list_of",
]
