"""Extract many untrusted files in long-lived child processes, so that one bad file costs only itself.

Each worker (extract.worker) is a fresh interpreter with an address-space limit (RLIMIT_AS), no
core dumps and no file descriptor of ours but its two pipes. The parent hands each worker a few
files at a time and gets one result per file back, so it always knows which file a worker was
on. An exception while the worker reads or steps a file is caught there and becomes that file's
PARSE_FAILED (with the reason), never re-run and never blamed on another file; when a worker dies
(a parser abort, SIGKILL, the OOM killer) that file is re-run once alone to confirm it is the
culprit, then reported as PARSE_FAILED; when a file runs past the time limit (reading and step
together) its worker is killed and the file reported as PARSE_TIMEOUT. The other files of the
batch go on, results come back in the order given, and the batch always ends.

Results travel as plain tuples unpickled with an allow-list (extract.wire), so even a parser
exploited by a crafted file cannot make the parent run code.

A `WorkerStep` runs a further plain function on each workbook inside the worker (staging, for
the ingest flow), so that the work is spread over the workers and only its compact result
crosses the pipe; files the worker could not read (no sheets, only their issues) get the same
step in the parent, which never steps untrusted content (no time limit applies there). Workers
are started with subprocess (not multiprocessing), so they never re-import the caller's __main__
and need no `if __name__ == "__main__"` guard there.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from extract.container import MIB, FileFacts, Limits, file_facts
from extract.model import ExtractedWorkbook, RawIssue
from extract.wire import STEP_RESULT, decode
from extract.worker import READY

# Files queued per worker: keeps it busy while the parent reads results (and, with on_result,
# turns a few hundred of them into Arrow at once; docs/benchmark.md has the measurement).
_PREFETCH = 32
_STARTUP_SECONDS = 60.0
_MAX_STARTUP_FAILURES = 3
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
# A fresh, isolated interpreter (-I: no PYTHON* variables, no user site, no cwd on sys.path)
# that finds this source tree whether or not the project is installed.
_WORKER_CODE = f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); from extract.worker import main; main()"

__all__ = [
    "Limits",
    "WorkerStep",
    "extract_files",
]


@dataclass(frozen=True)
class WorkerStep:
    """`module.function(workbook, *args)`, run on each extracted workbook inside the worker.

    Its result must be plain data (tuples, lists, dicts, str, numbers, None, dates): it crosses
    the pipe through the allow-list unpickler. `check`, a function of the same module, vets
    each result in the parent (it comes from a process that parsed untrusted bytes) and returns
    it or raises ValueError, which counts as a misbehaving worker."""

    module: str
    function: str
    args: tuple[Any, ...] = ()
    check: str | None = None

    def resolve(self) -> Callable[..., Any]:
        import importlib

        return getattr(importlib.import_module(self.module), self.function)

    def resolve_check(self) -> Callable[[Any], Any]:
        import importlib

        if self.check is None:
            return lambda value: value
        return getattr(importlib.import_module(self.module), self.check)


def extract_files(
    paths: list[Path],
    *,
    workers: int | None = None,
    limits: Limits | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    on_result: Callable[[int, Any], None] | None = None,
    step: WorkerStep | None = None,
) -> list[Any]:
    """One ExtractedWorkbook per path (with `step`: the step's result for it), in the same order.
    Never raises for a bad file; raises RuntimeError only when worker processes cannot be started
    at all.

    `on_progress(done, total)` is called as files finish (for progress bars). With `on_result`,
    `on_result(index, result)` is called once per file as its result arrives (in completion order,
    not path order) and nothing is kept or returned: a national batch is not held twice."""
    paths = [Path(p) for p in paths]
    if not paths:
        return []
    limits = limits or Limits()
    count = max(1, min(workers or _default_workers(), len(paths)))
    return _Batch(paths, limits, count, on_progress, step, on_result).run()


def _default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# --- parent ------------------------------------------------------------------------------------


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    requests: Connection  # parent -> worker
    replies: Connection  # worker -> parent
    stderr: Any  # a temporary file: parser messages (Rust aborts print there) for the crash detail
    spawned: float
    ready: bool = False
    alone: bool = False  # re-running one suspect file: nothing else is queued on it
    started: float = 0.0  # when the file at inflight[0] started
    inflight: deque[int] = field(default_factory=deque)


class _Batch:
    def __init__(
        self,
        paths: list[Path],
        limits: Limits,
        count: int,
        on_progress: Callable[[int, int], None] | None = None,
        step: WorkerStep | None = None,
        on_result: Callable[[int, Any], None] | None = None,
    ) -> None:
        self.on_progress = on_progress
        self.on_result = on_result
        self.step = step
        self.run_step = step.resolve() if step else None
        self.check_step = step.resolve_check() if step else None
        self.paths = paths
        self.limits = limits
        self.count = count
        self.results: list[Any] = [None] * len(paths)
        self.finished = [False] * len(paths)
        self.remaining = len(paths)
        self.pending: deque[int] = deque(range(len(paths)))
        self.suspects: deque[int] = deque()  # files whose worker died: re-run one by one
        self.crashed_once: set[int] = set()
        self.startup_failures = 0
        # A result is bounded by what the file may expand to; anything bigger is not ours.
        self.max_message = 4 * limits.max_uncompressed_bytes + 64 * MIB
        self.workers: list[_Worker] = []

    def run(self) -> list[Any]:
        # Results hold millions of small objects and no cycles: collecting while they pile up
        # only rescans them over and over.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self.workers = [self._spawn() for _ in range(self.count)]
            while self.remaining:
                self._assign()
                if not (self.pending or self.suspects or any(w.inflight for w in self.workers)):
                    self._orphans()  # nothing left to wait for: never wait forever
                    continue
                self._wait()
        finally:
            for worker in self.workers:
                # Idle workers are asked to exit; busy ones (an exception or Ctrl-C here) are killed.
                self._stop(worker, graceful=not worker.inflight)
            if collecting:
                gc.enable()
        return [result for result in self.results if result is not None]  # empty with on_result

    # workers

    def _spawn(self) -> _Worker:
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 — lives as long as the worker, closed in _stop
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", "-c", _WORKER_CODE],
                stdin=to_worker_r,
                stdout=from_worker_w,
                stderr=stderr,
                close_fds=True,
            )
        except BaseException:
            for fd in (to_worker_w, from_worker_r):
                os.close(fd)
            stderr.close()
            raise
        finally:
            # The child has its copies; closing ours lets the parent see EOF when the child dies.
            os.close(to_worker_r)
            os.close(from_worker_w)
        worker = _Worker(
            process=process,
            requests=Connection(to_worker_w, readable=False),
            replies=Connection(from_worker_r, writable=False),
            stderr=stderr,
            spawned=time.monotonic(),
        )
        with contextlib.suppress(OSError):  # a failed send shows up as a startup failure
            worker.requests.send((self.limits, self.step))
        return worker

    def _stop(self, worker: _Worker, *, graceful: bool) -> None:
        if graceful and worker.process.poll() is None:
            try:
                worker.requests.send(None)
                worker.process.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if worker.process.poll() is None:
            worker.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(timeout=5)
        worker.requests.close()
        worker.replies.close()
        worker.stderr.close()

    def _replace(self, worker: _Worker) -> None:
        self._stop(worker, graceful=False)
        position = self.workers.index(worker)
        if self.remaining:
            self.workers[position] = self._spawn()
        else:
            del self.workers[position]

    # scheduling

    def _assign(self) -> None:
        for worker in self.workers:
            if not worker.ready or worker.alone:
                continue
            if self.suspects:
                # Let workers drain; an idle one takes the next suspect on its own.
                if not worker.inflight:
                    worker.alone = True
                    self._send(worker, self.suspects.popleft())
                continue
            while self.pending and len(worker.inflight) < _PREFETCH:
                if not self._send(worker, self.pending.popleft()):
                    break

    def _send(self, worker: _Worker, index: int) -> bool:
        if not worker.inflight:
            worker.started = time.monotonic()
        worker.inflight.append(index)
        try:
            worker.requests.send((index, str(self.paths[index])))
        except OSError:
            return False  # the worker is gone; _wait sees its pipe close and re-queues
        return True

    def _wait(self) -> None:
        now = time.monotonic()
        deadlines = [
            w.started + self.limits.timeout_seconds if w.ready else w.spawned + _STARTUP_SECONDS
            for w in self.workers
            if w.inflight or not w.ready
        ]
        timeout = max(0.0, min(deadlines) - now) if deadlines else None
        ready = set(wait([w.replies for w in self.workers], timeout))
        for worker in list(self.workers):
            if worker.replies in ready and not self._drain(worker):
                self._lost(worker, timed_out=False)
                continue
            now = time.monotonic()
            if worker.ready and worker.inflight and now - worker.started > self.limits.timeout_seconds:
                self._lost(worker, timed_out=True)
            elif not worker.ready and now - worker.spawned > _STARTUP_SECONDS:
                self._lost(worker, timed_out=False)

    def _drain(self, worker: _Worker) -> bool:
        """Read every message the worker has sent; False when it is gone or misbehaving (then
        the file it was on, inflight[0], is the one to blame)."""
        while True:
            try:
                if not worker.replies.poll():
                    return True
                payload = worker.replies.recv_bytes(self.max_message)
                if not worker.ready:
                    if payload != READY:
                        return False
                    worker.ready = True
                    self.startup_failures = 0
                    continue
                index, kind, result = decode(payload)
                if not worker.inflight or index != worker.inflight[0]:
                    return False
                if kind == STEP_RESULT:
                    if self.check_step is None:
                        return False
                    result = self.check_step(result)
                elif self.step is not None and result.sheets:
                    # With a step, a worker sends a workbook only for a file it could not read
                    # (issues, no sheets): untrusted content is never processed here, where no
                    # time limit applies.
                    return False
            except (
                EOFError,
                OSError,
                pickle.UnpicklingError,
                ValueError,
                TypeError,
                AttributeError,
                KeyError,
            ):
                return False
            # Outside the handler above: whatever happens from here on is not the worker's doing,
            # and must never be blamed on the next file in its queue.
            worker.inflight.popleft()
            worker.started = time.monotonic()
            self._done(index, result)
            if not worker.inflight:
                worker.alone = False

    def _done(self, index: int, result: Any) -> None:
        if self.run_step is not None and isinstance(result, ExtractedWorkbook):
            # A file the worker could not read (crash, timeout, or a failure it reported): the step
            # runs here, on its issues only.
            assert self.step is not None and not result.sheets
            result = self.run_step(result, *self.step.args)
        if not self.finished[index]:
            self.finished[index] = True
            self.remaining -= 1
            if self.on_result is not None:
                self.on_result(index, result)
            if self.on_progress is not None:
                self.on_progress(len(self.paths) - self.remaining, len(self.paths))
        if self.on_result is None:
            self.results[index] = result  # with on_result the caller keeps what it needs, not us

    def _orphans(self) -> None:
        """Files that are neither finished nor queued nor in flight (none, unless this module has
        a bug): reported as failed rather than waited for."""
        for index, finished in enumerate(self.finished):
            if not finished:
                self._done(index, self._failed(index, "PARSE_FAILED", "処理が完了しませんでした", "internal"))

    def _lost(self, worker: _Worker, *, timed_out: bool) -> None:
        if worker.process.poll() is None:
            worker.process.kill()
        try:
            exitcode: int | None = worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            exitcode = None
        if not worker.ready:
            self.startup_failures += 1
            if self.startup_failures > _MAX_STARTUP_FAILURES:
                raise RuntimeError(
                    f"extract workers cannot start (exit code {exitcode}): {_tail(worker.stderr)}"
                )
        if worker.inflight:
            culprit = worker.inflight.popleft()
            # The files queued behind the culprit never started: back to the front of the queue.
            self.pending.extendleft(reversed(worker.inflight))
            worker.inflight.clear()
            if timed_out:
                detail = f"制限時間 {self.limits.timeout_seconds:g}秒"
                self._done(culprit, self._failed(culprit, "PARSE_TIMEOUT", detail, "timeout_seconds"))
            elif worker.alone or culprit in self.crashed_once:
                detail = _exit_detail(exitcode, self.limits, _tail(worker.stderr))
                self._done(culprit, self._failed(culprit, "PARSE_FAILED", detail, "worker_crash"))
            else:
                self.crashed_once.add(culprit)
                self.suspects.append(culprit)
        self._replace(worker)

    def _failed(self, index: int, code: str, detail: str, rule: str) -> ExtractedWorkbook:
        path = self.paths[index]
        try:
            facts = file_facts(path)
        except OSError:
            facts = FileFacts("", 0, 0.0)
        return ExtractedWorkbook.unread(
            path,
            [RawIssue(code, detail=detail, rule=rule)],
            sha256=facts.sha256,
            file_size=facts.size,
            received_at=facts.mtime,
        )


def _tail(stream: Any, size: int = 2000) -> str:
    try:
        stream.seek(0, os.SEEK_END)
        stream.seek(max(0, stream.tell() - size))
        return stream.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""


def _exit_detail(exitcode: int | None, limits: Limits, stderr: str = "") -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"シグナル {-exitcode}"
        if "memory allocation" in stderr or "MemoryError" in stderr:
            return f"メモリ上限 {limits.memory_bytes // MIB:,}MB を超えました（{name}）"
        if name in ("SIGKILL", "SIGABRT", "SIGSEGV", "SIGBUS"):
            return f"{name}、メモリ上限 {limits.memory_bytes // MIB:,}MB 超過または解析器の異常"
        return name
    return f"終了コード {exitcode}"
