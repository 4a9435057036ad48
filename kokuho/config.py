"""Run-time configuration: flags > environment variables > defaults.

Nothing here runs on import; call `Settings.resolve()` when a command starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# Offline switches for the libraries that would otherwise phone home.
OFFLINE_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    "PREFECT_UI_ENABLED": "true",
}


def apply_offline_env() -> None:
    """Switch off telemetry of Prefect and Great Expectations for this process and its children."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


def project_root() -> Path:
    """The folder holding the project's packages (the source tree, or site-packages when installed)."""
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Catalogs, masters and the demo's published figures: the `data` package's files."""
    from kokuho.resources import package_dir

    return package_dir("data")


@dataclass(frozen=True)
class Settings:
    """Where things are. `home` holds the database, quarantine, exports and Data Docs."""

    home: Path
    prefecture_code: str = "11"
    fiscal_year: int = 2024
    db_path: Path = field(default=Path())
    inbox: Path = field(default=Path())

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    @property
    def export_dir(self) -> Path:
        return self.home / "exports"

    @property
    def data_docs_dir(self) -> Path:
        return self.home / "data_docs"

    @property
    def work_dir(self) -> Path:
        return self.home / "work"

    @classmethod
    def resolve(
        cls,
        *,
        home: str | Path | None = None,
        db_path: str | Path | None = None,
        inbox: str | Path | None = None,
        prefecture_code: str | None = None,
        fiscal_year: int | None = None,
    ) -> Settings:
        """Flags win over KOKUHO_* environment variables, which win over defaults."""
        env = os.environ
        home_path = Path(home or env.get("KOKUHO_HOME") or Path.cwd() / "kokuho_home").expanduser()
        db = Path(db_path or env.get("KOKUHO_DB") or home_path / "kokuho.duckdb").expanduser()
        inbox_path = Path(inbox or env.get("KOKUHO_INBOX") or home_path / "inbox").expanduser()
        pref = prefecture_code or env.get("KOKUHO_PREFECTURE") or "11"
        year = fiscal_year or int(env.get("KOKUHO_YEAR") or 2024)
        return cls(
            home=home_path.resolve(),
            prefecture_code=str(pref).zfill(2),
            fiscal_year=int(year),
            db_path=db.resolve(),
            inbox=inbox_path.resolve(),
        )

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)
