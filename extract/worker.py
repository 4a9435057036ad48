"""The extraction worker: a child process started by extract.sandbox, one per core.

It runs in a fresh interpreter (`python -I`), with no file descriptors of the parent but its two
pipes, an address-space limit and no core dumps. It reads (index, path) requests and answers
each with one pickled (index, ExtractedWorkbook), or, when the parent gave it a step
(extract.sandbox.WorkerStep), with the step's plain-data result for that workbook. Its stdout is pointed at stderr so that nothing
a library prints can corrupt the protocol.
"""

from __future__ import annotations

import gc
import os
import signal
from multiprocessing.connection import Connection
from pathlib import Path

READY = b"ready"
MIB = 1024 * 1024


def confine(memory_bytes: int) -> None:
    try:
        import resource
    except ImportError:  # not POSIX: the time limit and crash isolation still apply
        return
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _protocol_connections() -> tuple[Connection, Connection]:
    """The protocol owns the original stdin/stdout (requests, replies); stray prints go to stderr."""
    requests = Connection(os.dup(0), writable=False)
    replies = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return requests, replies


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    requests, replies = _protocol_connections()

    limits, step = requests.recv()
    # Imports first, so that the address-space limit is all for parsing.
    import python_calamine  # noqa: F401

    from extract.container import file_facts
    from extract.model import ExtractedWorkbook, RawIssue
    from extract.reader import extract_file
    from extract.wire import encode, encode_result

    run_step = step.resolve() if step is not None else None
    confine(limits.memory_bytes)
    # Each file allocates thousands of short-lived, acyclic objects: the default threshold (700)
    # collects several times per file for nothing. Rarer young collections, and the imported
    # modules kept out of the old ones, still reclaim any cycle (an exception's traceback).
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)

    def failure(index: int, path: Path, detail: str) -> bytes:
        """The file as one that could not be read, with its own hash (what the parent matches
        the result to the file by)."""
        issue = RawIssue("PARSE_FAILED", detail=detail, rule="parser")
        try:
            facts = file_facts(path)
        except Exception:
            return encode(index, ExtractedWorkbook.unread(path, [issue]))
        workbook = ExtractedWorkbook.unread(
            path, [issue], sha256=facts.sha256, file_size=facts.size, received_at=facts.mtime
        )
        return encode(index, workbook)

    def step_failure(index: int, workbook: ExtractedWorkbook, exc: BaseException) -> bytes:
        """The step raised on this workbook: this file's error, never another's. The step is run
        on the file as unread (only the reason), else that is sent for the parent to step."""
        if isinstance(exc, MemoryError):
            detail = f"メモリ上限 {limits.memory_bytes // MIB:,}MB を超えました"
        else:
            detail = f"調査票の内容の処理中に予期しないエラー（{type(exc).__name__}）"
        unread = workbook.unread_copy([RawIssue("PARSE_FAILED", detail=detail, rule="step")])
        if run_step is None or step is None:
            return encode(index, unread)
        try:
            return encode_result(index, run_step(unread, *step.args))
        except Exception:
            return encode(index, unread)

    replies.send_bytes(READY)
    while True:
        try:
            message = requests.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, path_text = message
        path = Path(path_text)
        # Any exception here is this file's (reported for it; the worker carries on), so the
        # parent never has to guess which file an error belongs to.
        try:
            workbook = extract_file(path, limits)
        except MemoryError:
            payload = failure(index, path, f"メモリ上限 {limits.memory_bytes // MIB:,}MB を超えました")
        except Exception as exc:
            payload = failure(index, path, f"予期しないエラー {type(exc).__name__}")
        else:
            try:
                if run_step is None:
                    payload = encode(index, workbook)
                else:
                    payload = encode_result(index, run_step(workbook, *step.args))
            except Exception as exc:  # MemoryError included
                payload = step_failure(index, workbook, exc)
            del workbook
        replies.send_bytes(payload)


if __name__ == "__main__":
    main()
