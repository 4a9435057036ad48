"""`kokuho serve`: serve the nightly deployment of the ingest flow against a running Prefect server.

The schedule lives on the server (cron, default 02:00 Asia/Tokyo); this process polls it and runs
each due flow run in a subprocess. What happens after downtime (verified in Prefect 3.8 source,
see README: Nightly runs):

- The server's scheduler never backfills: it creates runs from "now" onwards only.
- Ctrl-C / SIGTERM: `prefect.serve` pauses the deployment, which deletes its Scheduled runs, and
  a paused deployment gets no new ones. Serving again un-pauses it. No backlog at all.
- Hard stop (kill -9, power cut, sleep) with the deployment still active: the runs the scheduler
  had already created go Late and stay Scheduled (re-applying the deployment only deletes *future*
  auto-scheduled runs). On restart the runner picks every due run in one poll (no process limit);
  deployment concurrency limit 1 with CANCEL_NEW lets the first start and cancels the rest. The
  flow is incremental, so that one run catches up on every file that arrived meanwhile.

Served flow runs load the flow from ENTRYPOINT, the module path of the flow in flows.ingest.
"""

from __future__ import annotations

import os
import sys
import warnings
import zoneinfo
from typing import TYPE_CHECKING, Any, cast

from kokuho.config import Settings, apply_offline_env

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "Asia/Tokyo"
DEFAULT_NAME = "nightly"
ENTRYPOINT = "flows.ingest.ingest_flow"
UI_URL = "http://127.0.0.1:4200"
LOCAL_API_URL = f"{UI_URL}/api"

NO_SERVER_MESSAGE = f"""\
kokuho serve: PREFECT_API_URL が設定されていません。
  夜間実行のスケジュールは常駐の Prefect サーバーが管理します（一時サーバーはこのコマンドと一緒に止まるため使いません）。
  1. 別のターミナルでサーバーを起動します:   prefect server start      （画面: {UI_URL}）
  2. このターミナルで接続先を設定します:     export PREFECT_API_URL={LOCAL_API_URL}
  3. もう一度実行します:                     kokuho serve
kokuho serve: PREFECT_API_URL is not set.
  The nightly schedule is kept by a long-running Prefect server (an ephemeral one would stop with
  this command, so none is started). Start one in another terminal with `prefect server start`
  (UI at {UI_URL}), then `export PREFECT_API_URL={LOCAL_API_URL}` here and run `kokuho serve` again."""


def deployment_parameters(settings: Settings) -> dict[str, Any]:
    """The flow's parameters, fixed when `kokuho serve` starts (absolute paths)."""
    return {
        "inbox": str(settings.inbox),
        "home": str(settings.home),
        "db": str(settings.db_path),
        "prefecture": settings.prefecture_code,
        "year": settings.fiscal_year,  # the flow's schema says integer; the server enforces it
    }


def build_deployment(
    settings: Settings,
    *,
    cron: str = DEFAULT_CRON,
    timezone: str = DEFAULT_TIMEZONE,
    name: str = DEFAULT_NAME,
) -> RunnerDeployment:
    """The nightly RunnerDeployment; builds it locally, contacts no API (that happens in serve).

    Raises ValueError for a bad cron string or time zone.
    """
    apply_offline_env()
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {timezone!r} (IANA name, e.g. Asia/Tokyo)") from exc

    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    from flows.ingest import ingest_flow

    schedule = Cron(cron, timezone=timezone)  # ValueError on a bad cron string
    deployment = cast(
        "RunnerDeployment",
        ingest_flow.to_deployment(
            name=name,
            schedule=schedule,
            # After downtime every due run is submitted at once: one runs (and catches up, the
            # flow being incremental), the others are cancelled instead of queueing behind it.
            concurrency_limit=ConcurrencyLimitConfig(
                limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
            ),
            parameters=deployment_parameters(settings),
            description="受信フォルダの夜間取込 / nightly ingest of the inbox",
            tags=["kokuho", "nightly"],
            entrypoint_type=EntrypointType.MODULE_PATH,
        ),
    )
    deployment.entrypoint = ENTRYPOINT
    return deployment


def configured_api_url() -> str | None:
    """PREFECT_API_URL from the environment or the active Prefect profile (`prefect config set`)."""
    url = os.environ.get("PREFECT_API_URL")
    if url:
        return url
    from prefect.settings import Settings as PrefectSettings

    return PrefectSettings().api.url  # a fresh read: env and profile as they are now


def _server_status(api_url: str) -> tuple[bool, bool | None]:
    """(reachable, analytics_enabled or None if unknown) of the Prefect server at api_url."""
    import httpx

    base = api_url.rstrip("/")
    try:
        health = httpx.get(f"{base}/health", timeout=5)
        if health.status_code != 200:
            return False, None
    except httpx.HTTPError:
        return False, None
    try:
        server_settings = httpx.get(f"{base}/admin/settings", timeout=5).json()
        return True, bool(server_settings.get("server", {}).get("analytics_enabled"))
    except (httpx.HTTPError, ValueError, AttributeError):
        return True, None


def scheduler_compat_problem(
    prefect_version: str | None = None, sqlalchemy_version: str | None = None
) -> str | None:
    """Why the Prefect server in this environment would never create scheduled runs, if it would not.

    Prefect 3.8's scheduler bulk-inserts flow runs with a `state` key, a hybrid property on the
    FlowRun model; SQLAlchemy 2.1 raises on that ("Can't evaluate bulk DML statement; please
    supply a bulk_dml decorated function") where 2.0 ignored it, so every scheduler loop fails and
    nothing ever runs. Seen with prefect 3.8.8 + SQLAlchemy 2.1.9; fine with SQLAlchemy 2.0.58.
    """
    from importlib.metadata import version

    prefect_version = prefect_version or version("prefect")
    sqlalchemy_version = sqlalchemy_version or version("sqlalchemy")

    def major_minor(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())

    if major_minor(prefect_version) == (3, 8) and major_minor(sqlalchemy_version) >= (2, 1):
        return (
            f"kokuho serve: 警告: この環境の prefect {prefect_version} + SQLAlchemy {sqlalchemy_version} で起動した"
            " Prefect サーバーはスケジュール実行を作成できません（サーバーのログに schedule_deployments の ERROR）。"
            " SQLAlchemy 2.0 系の環境で `prefect server start` してください。\n"
            f"kokuho serve: warning: a Prefect server started from this environment (prefect {prefect_version},"
            f" SQLAlchemy {sqlalchemy_version}) cannot create scheduled runs: its scheduler fails on every"
            " loop. Start it from an environment with SQLAlchemy 2.0.x (sqlalchemy<2.1)."
        )
    return None


def schedule_from(cron: str | None = None, timezone: str | None = None) -> tuple[str, str]:
    """The cron and time zone to serve: the flags, else KOKUHO_CRON / KOKUHO_TIMEZONE, else 02:00 Tokyo."""
    env = os.environ
    return (
        cron or env.get("KOKUHO_CRON") or DEFAULT_CRON,
        timezone or env.get("KOKUHO_TIMEZONE") or DEFAULT_TIMEZONE,
    )


def serve_nightly(settings: Settings, *, cron: str | None = None, timezone: str | None = None) -> int:
    """`kokuho serve`: serve the nightly deployment until Ctrl-C (which pauses its schedule)."""
    cron, timezone = schedule_from(cron, timezone)
    apply_offline_env()

    api_url = configured_api_url()
    if not api_url:
        print(NO_SERVER_MESSAGE, file=sys.stderr)
        return 2
    reachable, analytics = _server_status(api_url)
    if not reachable:
        print(
            f"kokuho serve: Prefect サーバーに接続できません: {api_url}\n"
            f"  別のターミナルで `prefect server start` を実行してから、もう一度実行してください。\n"
            f"kokuho serve: cannot reach the Prefect server at {api_url}; start it with"
            " `prefect server start` and try again.",
            file=sys.stderr,
        )
        return 2
    problem = scheduler_compat_problem()
    if problem:
        print(problem, file=sys.stderr)
    if analytics:
        print(
            "kokuho serve: 警告: Prefect サーバーの analytics が有効です。"
            "PREFECT_SERVER_ANALYTICS_ENABLED=false で起動し直してください（README: Nightly runs）。\n"
            "kokuho serve: warning: the Prefect server has analytics on; restart it with"
            " PREFECT_SERVER_ANALYTICS_ENABLED=false (see README: Nightly runs).",
            file=sys.stderr,
        )

    if not settings.inbox.is_dir():
        print(f"kokuho serve: 受信フォルダがありません / inbox not found: {settings.inbox}", file=sys.stderr)
        return 2
    try:
        deployment = build_deployment(settings, cron=cron, timezone=timezone)
    except ValueError as exc:
        print(f"kokuho serve: スケジュールの指定が不正です / invalid schedule: {exc}", file=sys.stderr)
        return 2

    from prefect import serve

    # Prefect's SIGTERM handler calls the async-dispatched Runner.stop() from inside the event
    # loop, leaving an un-awaited coroutine; shutdown (and pausing) still happens.
    warnings.filterwarnings(
        "ignore", message="coroutine 'Runner.astop' was never awaited", category=RuntimeWarning
    )
    print(
        f"kokuho serve: {deployment.flow_name}/{deployment.name}  cron {cron!r} ({timezone})\n"
        f"  inbox {settings.inbox}\n  db    {settings.db_path}\n"
        f"  UI    {api_url.rstrip('/').removesuffix('/api')}  (Ctrl-C で停止: スケジュールは一時停止されます)"
    )
    # Blocks until Ctrl-C/SIGTERM; on the way out the deployment is paused and its scheduled runs
    # deleted (pause_on_shutdown), so nothing piles up while nobody serves it.
    serve(deployment, pause_on_shutdown=True)
    return 0
