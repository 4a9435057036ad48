"""Shared fixtures. Tests build their own tiny workbooks; nothing here touches the network."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kokuho.config import Settings, apply_offline_env

# The faults tests inject into real processes (kokuho_faults) live beside the tests, not in the product.
sys.path.insert(0, str(Path(__file__).resolve().parent / "faults"))


@pytest.fixture(autouse=True, scope="session")
def _offline() -> None:
    apply_offline_env()


@pytest.fixture(autouse=True, scope="session")
def _faults_in_workers() -> None:
    """Extraction workers started by this process install the faults their environment asks for."""
    import kokuho_faults

    kokuho_faults.install_worker_start()


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


@pytest.fixture(scope="session")
def demo_inbox(tmp_path_factory: pytest.TempPathFactory):
    """The demo's returned workbooks (FY2023 + FY2024, seed 2024), generated once per session.

    The manifest is moved beside the inbox (it is not a returned file). Tests must not modify it.
    """
    from demo.data import generate_demo_inbox

    root = tmp_path_factory.mktemp("demo")
    manifest = generate_demo_inbox(root / "inbox", prefecture_code="11", fiscal_years=(2023, 2024), seed=2024)
    (root / "inbox" / "manifest.json").replace(root / "manifest.json")
    return manifest
