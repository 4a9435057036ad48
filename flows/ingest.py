"""The ingest flow: scan inbox -> extract (batched, isolated) -> stage + validate -> quarantine
-> load -> publish -> export, with a run summary artifact. Orchestration only: every step is a
plain function in the flows/steps package or the stage packages.

Importing this module imports Prefect (seconds): the CLI imports it only inside `kokuho run`,
`demo` and `serve`."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from kokuho.config import Settings, apply_offline_env

# Telemetry off before Prefect is imported, also when a served run imports this module first.
apply_offline_env()

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.runtime import flow_run  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from prefect.utilities.annotations import quote  # noqa: E402

from flows import steps  # noqa: E402
from flows.progress import StepProgress  # noqa: E402
from load import publish  # noqa: E402

if TYPE_CHECKING:
    from prefect.task_runners import TaskRunner

T = TypeVar("T")


def _large(value: T) -> T:
    """`value` passed to a task as is: Prefect must not walk large arguments looking for futures."""
    return cast(T, quote(value))


class Handoff(Generic[T]):
    """A chunk's rows passed to or from a task, taken once.

    Inside an open Prefect transaction (a prefecture's own flow may run ours in one) every task
    run's engine is kept, with its parameters and return value, for the transaction's rollback
    hooks. Rows passed as they are would all stay in memory until it ends; passed in a Handoff they
    are freed once taken, so a run holds one chunk's rows."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value: T | None = value

    def take(self) -> T:
        value, self._value = self._value, None
        if value is None:
            raise RuntimeError("Handoff taken twice")
        return value


def _only_io_errors(task: object, task_run: object, state: Any) -> bool:
    """Retry policy: retry I/O failures only (a file share that blinked, the writer lock still held);
    any other error (a bug, bad data) fails at once instead of being retried."""
    import duckdb

    from load.publish import WarehouseBusy

    error = getattr(state, "data", None)
    return isinstance(error, OSError | WarehouseBusy | duckdb.IOException)


@task(
    name="scan-inbox",
    cache_policy=NO_CACHE,
    retries=2,
    retry_condition_fn=_only_io_errors,
    retry_delay_seconds=2,
)
def scan_task(inbox: Path) -> list[steps.InboxFile]:
    return steps.scan_inbox([inbox])


@task(
    name="known-files",
    cache_policy=NO_CACHE,
    retries=2,
    retry_condition_fn=_only_io_errors,
    retry_delay_seconds=2,
)
def known_task(settings: Settings) -> set[str]:
    # A program holding the published file read-write (DBeaver's default) is waited for, up
    # to KOKUHO_DB_WAIT seconds, then named in the error (load.publish.WarehouseHeld).
    with publish.no_writer_holding(settings.db_path):
        pass
    return steps.known_files(settings)


@task(name="extract-and-stage-chunk", cache_policy=NO_CACHE)
def chunk_task(paths: list[Path], settings: Settings, progress: StepProgress | None = None) -> Handoff[Any]:
    return Handoff(steps.stage_chunk(paths, settings, on_progress=progress.callback if progress else None))


@task(name="validate-and-quarantine", cache_policy=NO_CACHE)
def validate_task(
    files: list[steps.InboxFile], staged: Handoff[Any], settings: Settings, build_docs: bool = True
) -> Handoff[steps.StageResult]:
    return Handoff(steps.validate_staged(files, [staged.take()], settings, build_docs=build_docs))


@task(name="build-data-docs", cache_policy=NO_CACHE)
def docs_task(settings: Settings, run_times: list[Any]) -> Path | None:
    return steps.build_data_docs(settings, run_times)


@task(name="load-chunk", cache_policy=NO_CACHE)
def load_chunk_task(run_load: Any, result: Handoff[steps.StageResult]) -> object:
    return steps.load_chunk(run_load, result.take())


@task(name="record-load", cache_policy=NO_CACHE)
def finish_load_task(run_load: Any, result: steps.StageResult, skipped: int, scan: Any = None) -> Any:
    return steps.finish_chunked_load(run_load, result, skipped, scan)


@task(
    name="record-run",
    cache_policy=NO_CACHE,
    retries=2,
    retry_condition_fn=_only_io_errors,
    retry_delay_seconds=5,
)
def record_task(settings: Settings, run_id: str, skipped: int, started: float, scan: Any = None) -> None:
    steps.record_empty_run(settings, run_id, skipped, started, scan)


@task(
    name="export",
    cache_policy=NO_CACHE,
    retries=1,
    retry_condition_fn=_only_io_errors,
    retry_delay_seconds=2,
)
def export_task(settings: Settings, run_id: str) -> list[Path]:
    return steps.export_all(settings, run_id)


# In-process, extraction chunks run one after another in the flow's thread (each already uses
# every core through its worker processes); the pool's two threads let the Data Docs render
# while the load runs (DuckDB works without the GIL).
@flow(
    name="kokuho-ingest",
    log_prints=False,
    validate_parameters=False,
    task_runner=cast("TaskRunner[Any]", ThreadPoolTaskRunner(max_workers=2)),
)
def ingest_flow(
    inbox: str,
    home: str | None = None,
    db: str | None = None,
    prefecture: str | None = None,
    year: int | None = None,
    export: bool = True,
    distributed: bool = False,
) -> dict[str, Any]:
    logger = get_run_logger()
    settings = Settings.resolve(
        home=home, db_path=db, inbox=inbox, prefecture_code=prefecture, fiscal_year=year
    )
    run_id = f"run-{time.strftime('%Y%m%dT%H%M%S')}-{str(flow_run.id)[:8]}"

    # One run at a time per database, from scan to export: a second run scans the inbox only
    # once the first has published, so its counts are true (it waits, then says so).
    def waiting(other: str) -> None:
        logger.warning("別の取込処理（%s）の終了を待っています / waiting for another run (%s)", other, other)

    with publish.run_lock(settings.db_path, run_id=run_id, on_wait=waiting) as lock:
        if lock.notice:
            logger.warning(lock.notice)
        out = ingest(settings, run_id, export=export, distributed=distributed)
    if lock.notice:
        out["text"] = lock.notice + "\n" + out["text"]
        out["markdown"] = f"> {lock.notice}\n\n" + out["markdown"]
    out["waited_for_run"] = lock.other_run
    out["waited_seconds"] = round(lock.waited_seconds, 1)
    create_markdown_artifact(
        markdown=out["markdown"], key="kokuho-run-summary", description="取込結果 / run summary"
    )
    return out


def ingest(settings: Settings, run_id: str, *, export: bool, distributed: bool) -> dict[str, Any]:
    logger = get_run_logger()
    started = time.time()
    files = scan_task(settings.inbox)
    known = known_task(settings)
    new_files, skipped = steps.split_known(files, known)
    logger.info(
        "inbox %s: %d files, %d new, %d already processed",
        settings.inbox,
        len(files),
        len(new_files),
        len(skipped),
    )
    chunks = steps.chunked(new_files, steps.chunk_size(distributed=distributed))
    task_runs = 2
    result = loaded = docs = None
    if new_files:
        # Chunk by chunk: extract and stage, validate and quarantine, load into the run's working
        # copy; one chunk's rows in memory at a time. Published once, after the last chunk.
        # _large(): Prefect must not walk these looking for futures.
        # In-process the Data Docs render in the pool's second thread while the load is recorded
        # and published; on Dask they render where each validation ran (its GX context).
        results: list[steps.StageResult] = []
        steps.use_system_allocator()
        with steps.chunked_load(settings, run_id, started, files) as run_load:
            for chunk, staged in _staged_chunks(chunks, settings, len(new_files), distributed):
                validated = validate_task(_large(chunk), staged, settings, build_docs=distributed).take()
                results.append(steps.without_rows(validated))
                load_chunk_task(_large(run_load), Handoff(validated))
                del validated
                # The chunk's rows are gone: their memory goes back before the next chunk's.
                steps.release_freed_memory()
                task_runs += 3
            result = steps.merge_results(results, new_files)
            if result.docs_run_times:
                docs = docs_task.submit(settings, result.docs_run_times)
                task_runs += 1
            loaded = finish_load_task(_large(run_load), _large(result), len(skipped), _large(files))
            task_runs += 1
    else:
        record_task(settings, run_id, len(skipped), started, _large(files))
        task_runs += 1
    exports: list[Path] = []
    if export:
        # The export follows the published data: rewritten whenever it is missing or was made
        # from other data (a run killed between publish and export, a restored database), also
        # on a run with nothing new; a run that only recorded itself changes nothing it shows.
        state = publish.published_state(settings.db_path)
        if not publish.export_is_current(steps.export_path(settings), state):
            exports = export_task(settings, run_id)
            task_runs += 1
            if exports:
                publish.record_export_state(steps.export_path(settings), state)
    if docs is not None:
        docs.wait()
        if docs.state.is_completed() and result is not None:
            result.data_docs_index = docs.result()
        else:  # the data is loaded and exported; only the HTML report is missing
            logger.error("Data Docs（検証結果のHTML）を作成できませんでした: %s", docs.state.message)
    summary = steps.summarise_run(
        settings, run_id, files, skipped, result, loaded, exports, time.time() - started
    )
    out = summary.as_dict()
    if loaded is not None:
        _add_notices(out, settings, run_id)
    logger.info(
        "run %s: accepted %d, superseded %d, quarantined %d, missing %d",
        run_id,
        len(summary.accepted),
        len(summary.superseded),
        len(summary.quarantined),
        len(summary.missing),
    )
    return {"flow_run_id": str(flow_run.id), "task_runs": task_runs, **out}


def _staged_chunks(
    chunks: list[list[steps.InboxFile]], settings: Settings, files: int, distributed: bool
) -> Iterator[tuple[list[steps.InboxFile], Any]]:
    """Each chunk with its staged rows, in order, as soon as it is staged. In-process, one after
    another (each chunk already uses every core through its workers); on Dask, all submitted at
    once and taken in order."""
    # In-process runs report each file; on Dask (another process) each finished chunk.
    progress = StepProgress(
        "抽出 extract", files, logger=get_run_logger(), artifact_key="kokuho-extract-progress"
    )
    if not distributed:
        for chunk in chunks:
            yield chunk, chunk_task([f.path for f in chunk], settings, progress)
        return
    futures = [chunk_task.submit([f.path for f in chunk], settings) for chunk in chunks]
    for index, chunk in enumerate(chunks):
        staged = futures[index].result()
        futures[index] = None  # type: ignore[call-overload]  # the future holds the rows too
        progress.advance(len(chunk))
        yield chunk, staged


def _add_notices(out: dict[str, Any], settings: Settings, run_id: str) -> None:
    """The run's notices (issues that did not set a file aside: a modification time in the
    future) into the summary's text, before its database line, and its markdown."""
    from load.notices import notice_lines, recorded_issues

    text, markdown = notice_lines(recorded_issues(settings.db_path, run_id))
    if text:
        lines = str(out["text"]).splitlines()
        at = next((i for i, line in enumerate(lines) if line.startswith("  database:")), len(lines))
        out["text"] = "\n".join([*lines[:at], *text, *lines[at:]])
        out["markdown"] = "\n".join([str(out["markdown"]), *markdown])


def run_ingest(
    settings: Settings, *, runner: str = "default", address: str | None = None, export: bool = True
) -> dict[str, Any]:
    """Run the flow once (ephemeral Prefect server unless PREFECT_API_URL points at one)."""
    apply_offline_env()
    from prefect.settings import get_current_settings

    if get_current_settings().api.url is None:
        from flows.ephemeral import tie_ephemeral_server_to_this_process

        tie_ephemeral_server_to_this_process()
    to_run = ingest_flow
    if runner == "dask":
        from prefect_dask import DaskTaskRunner

        # Extraction workers are plain subprocesses (extract.sandbox), so they also run inside
        # Dask's daemonic worker processes.
        cluster = {"n_workers": 2, "threads_per_worker": 1, "processes": True}
        task_runner = DaskTaskRunner(address=address) if address else DaskTaskRunner(cluster_kwargs=cluster)
        to_run = ingest_flow.with_options(task_runner=cast("TaskRunner[Any]", task_runner))
    with without_heartbeat(), objects_before_run_frozen():
        state = to_run(
            inbox=str(settings.inbox),
            home=str(settings.home),
            db=str(settings.db_path),
            prefecture=settings.prefecture_code,
            year=settings.fiscal_year,
            export=export,
            distributed=runner == "dask",
        )
    if get_current_settings().api.url is None:
        # Only the ephemeral server stops with this process (a real one records at its pace).
        _wait_for_task_run_records(state["flow_run_id"], state["task_runs"])
    return state


@contextmanager
def objects_before_run_frozen() -> Iterator[None]:
    """The collector leaves alone, for the run, every object alive when it starts.

    They are mostly modules (Prefect, GX, pandas) that live as long as the process, yet every
    full collection during the run rescanned them all (docs/benchmark.md). Unfrozen afterwards, so that a long-lived process collects as usual."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def without_heartbeat() -> Iterator[None]:
    """Flow runs started inside send no heartbeats.

    Prefect 3.8's flow-run heartbeat thread sleeps in whole seconds and the run joins it at the
    end: up to a second added to every run (docs/benchmark.md).
    Heartbeats only feed automations that detect crashed runs of workers; none watch these."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _wait_for_task_run_records(flow_run_id: str, expected: int, timeout: float = 15.0) -> None:
    """Wait until the server has recorded this run's task runs.

    Task-run states reach the server as events that its task-run recorder writes asynchronously;
    when the process exits right after the flow, the ephemeral server is stopped while the recorder
    is still writing, which logs 'Error flushing … events' with a traceback. Draining first fixes it.
    """
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.time() + timeout
    with get_client(sync_client=True) as client:
        while time.time() < deadline:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run_id)]))
            )
            if len(runs) >= expected and all(r.state is not None and r.state.is_final() for r in runs):
                return
            time.sleep(0.1)


def run_once(
    settings: Settings, *, runner: str = "default", address: str | None = None, export: bool = True
) -> int:
    """`kokuho run`: ingest the inbox now and print the run summary; the exit code."""
    if not settings.inbox.is_dir():
        print(f"kokuho run: 受信フォルダがありません: {settings.inbox}", file=sys.stderr)
        return 2
    try:
        summary = run_ingest(settings, runner=runner, address=address, export=export)
    except Exception as exc:  # the run itself failed (not a bad file): say so, exit non-zero
        from load.publish import WarehouseError

        if isinstance(exc, WarehouseError):  # its message says what happened and what to do
            print(f"kokuho run: {exc}", file=sys.stderr)
        else:
            print(f"kokuho run: 取込に失敗しました: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(summary["text"])
    return 0
