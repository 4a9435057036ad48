"""Faults the tests inject into real processes, from outside the product's code.

A process gets them by having this folder on its path: `sitecustomize.py` here calls `install()`
at start-up (for the `kokuho` and loader subprocesses the tests start, via PYTHONPATH), and the
pytest process calls `install()` from conftest. Each fault is asked for with an environment
variable and patches the real function in that process:

- PAUSE_ENV=<stage> (with PAUSE_MARKER_ENV=<file>, optional PAUSE_UNTIL_ENV=<file>): the writer
  touches the marker and sleeps at that stage, so that a test can kill it exactly there:
  "in_transaction" (the load's last statement ran, before COMMIT), "before_publish" (the working
  copy is written and synced, before the rename), "after_publish" (renamed, before the export),
  "between_chunks" (the run's first chunk is loaded into the working copy, the next not yet).
- CRASH_ENV / HANG_ENV=<file name>: the extraction worker SIGKILLs itself / sleeps on that file.
- STEP_RAISE_ENV / STEP_HANG_ENV=<file name>: the worker's step raises / sleeps on that file.

Extraction workers are isolated interpreters (`python -I`: no PYTHONPATH); the parent's worker
start-up code is patched so that each worker installs these faults too.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

FAULTS_DIR = str(Path(__file__).resolve().parent)
_PROJECT = Path(__file__).resolve().parents[2]

PAUSE_ENV = "KOKUHO_FAULT_PAUSE_AT"
PAUSE_MARKER_ENV = "KOKUHO_FAULT_PAUSE_MARKER"
PAUSE_UNTIL_ENV = "KOKUHO_FAULT_PAUSE_UNTIL"
PAUSE_SECONDS_ENV = "KOKUHO_FAULT_PAUSE_SECONDS"
PAUSE_STAGES = ("in_transaction", "before_publish")
PAUSE_AFTER_PUBLISH = "after_publish"
PAUSE_BETWEEN_CHUNKS = "between_chunks"

CRASH_ENV = "KOKUHO_FAULT_EXTRACT_CRASH"
HANG_ENV = "KOKUHO_FAULT_EXTRACT_HANG"
STEP_RAISE_ENV = "KOKUHO_FAULT_STEP_RAISE"
STEP_HANG_ENV = "KOKUHO_FAULT_STEP_HANG"
_EXTRACT_ENVS = (CRASH_ENV, HANG_ENV, STEP_RAISE_ENV, STEP_HANG_ENV)

# What the worker runs first: this folder on its path, then install() as in any other process.
_WORKER_PRELUDE = f"import sys; sys.path.insert(0, {FAULTS_DIR!r}); import kokuho_faults; kokuho_faults.install_in_worker(); "


def fault_env() -> Iterator[str]:
    """The names of every fault variable (for tests that pass a clean environment on)."""
    yield from (PAUSE_ENV, PAUSE_MARKER_ENV, PAUSE_UNTIL_ENV, PAUSE_SECONDS_ENV, *_EXTRACT_ENVS)


def with_faults_path(env: dict[str, str]) -> dict[str, str]:
    """`env` with this folder first on PYTHONPATH, so that a subprocess installs the faults."""
    rest = env.get("PYTHONPATH", "")
    return {**env, "PYTHONPATH": FAULTS_DIR + (os.pathsep + rest if rest else "")}


def run_env(home: Path, *, api_url: str | None, **extra: str) -> dict[str, str]:
    """The environment of a `kokuho` subprocess under test: this process's without any KOKUHO_
    setting or fault, the project and this folder on PYTHONPATH, KOKUHO_HOME `home`, Prefect's home
    beside it, the server at `api_url` (None: the run starts its own), then `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in (PAUSE_ENV, PAUSE_MARKER_ENV, PAUSE_UNTIL_ENV, "PREFECT_API_URL")
        and not k.startswith("KOKUHO_")
    }
    env["PYTHONPATH"] = str(_PROJECT) + os.pathsep + env.get("PYTHONPATH", "")
    env["KOKUHO_HOME"] = str(home)
    env["PREFECT_HOME"] = str(home.parent / "prefect_home")
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return with_faults_path({**env, **extra})


def install() -> None:
    """Patch this process for the faults its environment asks for (nothing when it asks for none)."""
    if os.environ.get(PAUSE_ENV):
        _install_pause(os.environ[PAUSE_ENV])
    if any(os.environ.get(name) for name in _EXTRACT_ENVS):
        install_worker_start()


def pause(stage: str) -> None:
    """Sleep here when PAUSE_ENV names `stage`; a no-op otherwise."""
    if os.environ.get(PAUSE_ENV) != stage:
        return
    marker = os.environ.get(PAUSE_MARKER_ENV)
    if marker:
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    deadline = time.monotonic() + float(os.environ.get(PAUSE_SECONDS_ENV, "120"))
    until = os.environ.get(PAUSE_UNTIL_ENV)
    while time.monotonic() < deadline and not (until and Path(until).exists()):
        time.sleep(0.1)


def _install_pause(stage: str) -> None:
    import load.publish

    if stage == "in_transaction":
        import load.warehouse

        execute = load.warehouse._execute

        def execute_then_pause(con: Any, text: str, params: dict[str, object] | None = None) -> None:
            execute(con, text, params)
            if text == load.warehouse.sql("steps/record_run_load"):  # the load's last statement
                pause(stage)

        load.warehouse._execute = execute_then_pause
    elif stage == "before_publish":
        fsync_file = load.publish._fsync_file

        def fsync_then_pause(path: Path) -> None:
            fsync_file(path)
            if ".work-" in path.name:  # the working copy, synced just before the rename
                pause(stage)

        load.publish._fsync_file = fsync_then_pause
    elif stage == PAUSE_BETWEEN_CHUNKS:
        import load.chunked

        add = load.chunked.ChunkedLoad.add

        def add_then_pause(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = add(self, *args, **kwargs)
            if self.chunks == 1:
                pause(stage)
            return result

        load.chunked.ChunkedLoad.add = add_then_pause  # type: ignore[method-assign]
    elif stage == PAUSE_AFTER_PUBLISH:
        fsync_dir = load.publish._fsync_dir

        def fsync_dir_then_pause(path: Path) -> None:
            fsync_dir(path)  # the rename made durable
            pause(stage)

        load.publish._fsync_dir = fsync_dir_then_pause


def install_worker_start() -> None:
    """Workers this process starts install the faults their environment asks for."""
    import extract.sandbox

    if not extract.sandbox._WORKER_CODE.startswith(_WORKER_PRELUDE):
        extract.sandbox._WORKER_CODE = _WORKER_PRELUDE + extract.sandbox._WORKER_CODE


def _on_file(env: str, name: str) -> bool:
    return bool(os.environ.get(env)) and os.environ.get(env) == name


def install_in_worker() -> None:
    """In an extraction worker, before its main(): the extraction and step faults."""
    if not any(os.environ.get(name) for name in _EXTRACT_ENVS):
        return
    import extract.reader
    import extract.sandbox
    from extract.model import ExtractedWorkbook

    read = extract.reader.extract_file

    def read_or_fail(path: Path, *args: Any, **kwargs: Any) -> ExtractedWorkbook:
        if _on_file(CRASH_ENV, path.name):
            os.kill(os.getpid(), signal.SIGKILL)
        if _on_file(HANG_ENV, path.name):
            time.sleep(24 * 3600)
        return read(path, *args, **kwargs)

    extract.reader.extract_file = read_or_fail
    resolve = extract.sandbox.WorkerStep.resolve

    def resolve_failing(self: extract.sandbox.WorkerStep) -> Callable[..., Any]:
        run = resolve(self)

        def run_or_fail(workbook: ExtractedWorkbook, *args: Any) -> Any:
            if workbook.sheets:  # the file as read (its unread copy then steps normally)
                if _on_file(STEP_RAISE_ENV, workbook.file_name):
                    raise RuntimeError("fault: the step fails on this file")
                if _on_file(STEP_HANG_ENV, workbook.file_name):
                    time.sleep(24 * 3600)
            return run(workbook, *args)

        return run_or_fail

    # Replacing a method on the class is the point here; mypy flags any such assignment.
    extract.sandbox.WorkerStep.resolve = resolve_failing  # type: ignore[method-assign]
