"""Shared fixtures. Tests build their own tiny workbooks; nothing here touches the network."""

from __future__ import annotations

from pathlib import Path

import pytest

from kokuho.config import Settings, apply_offline_env


@pytest.fixture(autouse=True, scope="session")
def _offline() -> None:
    apply_offline_env()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings rooted in a fresh temporary KOKUHO_HOME (Saitama, FY2024)."""
    home = tmp_path / "home"
    monkeypatch.setenv("KOKUHO_HOME", str(home))
    for name in ("KOKUHO_DB", "KOKUHO_INBOX", "KOKUHO_PREFECTURE", "KOKUHO_YEAR"):
        monkeypatch.delenv(name, raising=False)
    return Settings.resolve()


@pytest.fixture(scope="session")
def saitama_catalog():
    from kokuho.catalog import load_catalog_for

    return load_catalog_for("11", 2024)


@pytest.fixture(scope="session")
def prefect_server():
    """One ephemeral Prefect server for the whole session (starting one costs ~10 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
