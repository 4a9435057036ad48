"""`kokuho serve`: the nightly deployment's schedule, parameters and late-run settings.

Everything here but the last test runs without a Prefect server (building a RunnerDeployment is
local; registering it is what `prefect.serve` does). The last test registers the deployment on the
session's test server and checks that a backlog of late runs collapses to one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from flows import serve as serve_module
from kokuho.cli import main as kokuho_main
from kokuho.config import Settings

if TYPE_CHECKING:
    from prefect import Flow, State
    from prefect.client.schemas.schedules import CronSchedule


def _cron(schedules: Sequence[Any] | None) -> CronSchedule:
    """The first schedule, checked to be a cron schedule."""
    from prefect.client.schemas.schedules import CronSchedule

    assert schedules
    schedule = schedules[0].schedule
    assert isinstance(schedule, CronSchedule)
    return schedule


@pytest.fixture
def no_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything asks for a Prefect API client."""
    import prefect.client.orchestration
    import prefect.deployments.runner

    # Imported before the patch: modules first imported under it would keep `refuse` for good.
    import flows.ingest  # noqa: F401

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the Prefect API was contacted")

    monkeypatch.setattr(prefect.client.orchestration, "get_client", refuse)
    monkeypatch.setattr(prefect.deployments.runner, "get_client", refuse)


@pytest.fixture
def no_server_configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No PREFECT_API_URL in the environment nor in a Prefect profile."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(tmp_path / "no-profiles.toml"))


def test_schedule_is_the_cron_in_japan_time(settings: Settings, no_api: None) -> None:
    deployment = serve_module.build_deployment(settings)
    assert deployment.schedules is not None and len(deployment.schedules) == 1
    assert _cron(deployment.schedules).cron == "0 2 * * *"
    assert _cron(deployment.schedules).timezone == "Asia/Tokyo"
    assert deployment.schedules[0].active is True
    assert deployment.name == "nightly"
    assert deployment.flow_name == "kokuho-ingest"


def test_schedule_is_configurable(settings: Settings, no_api: None) -> None:
    deployment = serve_module.build_deployment(
        settings, cron="30 23 * * 1-5", timezone="UTC", name="weekdays"
    )
    schedule = _cron(deployment.schedules)
    assert (schedule.cron, schedule.timezone, deployment.name) == ("30 23 * * 1-5", "UTC", "weekdays")


def test_parameters_come_from_settings(settings: Settings, no_api: None, tmp_path: Path) -> None:
    settings = settings.with_(inbox=tmp_path / "受信", prefecture_code="33", fiscal_year=2023)
    deployment = serve_module.build_deployment(settings)
    assert deployment.parameters == {
        "inbox": str(tmp_path / "受信"),
        "home": str(settings.home),
        "db": str(settings.db_path),
        "prefecture": "33",
        "year": 2023,
    }
    # The flow's own schema accepts them (the server enforces it for every run it creates).
    schema = deployment._parameter_openapi_schema
    assert set(deployment.parameters) <= set(schema.properties)
    assert schema.properties["year"]["anyOf"][0]["type"] == "integer"


def test_late_runs_collapse_setting(settings: Settings, no_api: None) -> None:
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy

    deployment = serve_module.build_deployment(settings)
    assert deployment.concurrency_limit == 1
    assert deployment.concurrency_options is not None
    assert deployment.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW


def test_served_runs_can_load_the_flow(settings: Settings, no_api: None) -> None:
    """Each served run imports the flow from the entrypoint in a fresh `python -m prefect.engine`."""
    from prefect.flows import load_flow_from_entrypoint

    deployment = serve_module.build_deployment(settings)
    assert deployment.entrypoint == serve_module.ENTRYPOINT
    flow: Flow[..., Any] = load_flow_from_entrypoint(deployment.entrypoint, use_placeholder_flow=False)
    assert flow.name == "kokuho-ingest"


@pytest.mark.parametrize(
    ("cron", "timezone", "fragment"),
    [("0 25 * * *", "Asia/Tokyo", "cron"), ("0 2 * * *", "Asia/Edo", "Asia/Edo")],
)
def test_bad_schedule_is_a_value_error(settings: Settings, cron: str, timezone: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        serve_module.build_deployment(settings, cron=cron, timezone=timezone)


def test_cron_and_timezone_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOKUHO_CRON", "15 3 * * *")
    monkeypatch.setenv("KOKUHO_TIMEZONE", "UTC")
    assert serve_module.schedule_from() == ("15 3 * * *", "UTC")
    assert serve_module.schedule_from("0 4 * * *", "Asia/Tokyo") == ("0 4 * * *", "Asia/Tokyo")


def test_serve_without_server_exits_2_and_says_how(
    no_server_configured: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import prefect

    monkeypatch.setattr(prefect, "serve", lambda *a, **k: pytest.fail("serve must not start"))
    assert (
        kokuho_main(
            [
                "serve",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "PREFECT_API_URL が設定されていません" in err
    assert "PREFECT_API_URL is not set" in err
    assert "prefect server start" in err
    assert "http://127.0.0.1:4200" in err
    assert "export PREFECT_API_URL=http://127.0.0.1:4200/api" in err


def test_serve_with_unreachable_server_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:1/api")  # nothing listens on port 1
    assert (
        kokuho_main(
            [
                "serve",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "接続できません" in err and "http://127.0.0.1:1/api" in err


def test_serve_command_serves_the_deployment(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import prefect

    settings.inbox.mkdir(parents=True)
    served: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    monkeypatch.setattr(serve_module, "_server_status", lambda url: (True, False))
    monkeypatch.setattr(prefect, "serve", lambda *a, **k: served.append((a, k)))
    assert kokuho_main(["serve", "--cron", "0 5 * * *", "--year", "2023"]) == 0
    ((deployments, options),) = served
    (deployment,) = deployments
    assert _cron(deployment.schedules).cron == "0 5 * * *"
    assert _cron(deployment.schedules).timezone == "Asia/Tokyo"
    assert deployment.parameters["year"] == 2023
    assert deployment.parameters["inbox"] == str(settings.inbox)
    assert options["pause_on_shutdown"] is True  # Ctrl-C pauses: no runs pile up while stopped
    assert "http://127.0.0.1:4200" in capsys.readouterr().out


def test_serve_command_rejects_missing_inbox(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    monkeypatch.setattr(serve_module, "_server_status", lambda url: (True, False))
    assert (
        kokuho_main(
            [
                "serve",
            ]
        )
        == 2
    )
    assert str(settings.inbox) in capsys.readouterr().err


@pytest.mark.parametrize(
    ("prefect_version", "sqlalchemy_version", "warns"),
    [("3.8.8", "2.1.9", True), ("3.8.8", "2.0.58", False), ("3.9.0", "2.1.9", False)],
)
def test_scheduler_compat_warning(prefect_version: str, sqlalchemy_version: str, warns: bool) -> None:
    problem = serve_module.scheduler_compat_problem(prefect_version, sqlalchemy_version)
    assert (problem is not None) == warns
    if warns:
        assert problem is not None and "sqlalchemy<2.1" in problem


@pytest.mark.slow
def test_backlog_of_late_runs_collapses_to_one(settings: Settings, prefect_server: None) -> None:
    """On a real server: three late nightly runs proposed at once (as the runner does after
    downtime): the first gets the deployment's slot, the other two are cancelled."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy, StateType
    from prefect.states import Pending, Scheduled
    from prefect.types._datetime import now

    deployment = serve_module.build_deployment(settings, name=f"test-{uuid.uuid4().hex[:8]}")
    deployment_id = deployment.apply()
    assert isinstance(deployment_id, uuid.UUID)  # apply() is sync here (no running event loop)
    with get_client(sync_client=True) as client:
        try:
            stored = client.read_deployment(deployment_id)
            assert stored.entrypoint == serve_module.ENTRYPOINT
            assert stored.global_concurrency_limit is not None
            assert stored.global_concurrency_limit.limit == 1
            assert stored.concurrency_options is not None
            assert stored.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW
            assert (_cron(stored.schedules).cron, _cron(stored.schedules).timezone) == (
                "0 2 * * *",
                "Asia/Tokyo",
            )

            runs = [
                client.create_flow_run_from_deployment(
                    deployment_id, state=Scheduled(scheduled_time=now("UTC") - timedelta(days=days))
                )
                for days in (3, 2, 1)
            ]
            fresh: list[State[Any]] = [Pending() for _ in runs]
            states = [
                client.set_flow_run_state(run.id, state).state for run, state in zip(runs, fresh, strict=True)
            ]
            assert all(state is not None for state in states)
            types = [state.type for state in states if state is not None]
            assert types == [StateType.PENDING, StateType.CANCELLED, StateType.CANCELLED]
            assert all(
                "concurrency limit" in (state.message or "") for state in states[1:] if state is not None
            )
        finally:
            client.delete_deployment(deployment_id)
