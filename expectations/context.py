"""Open the committed GX project (expectations/gx/) for a run without writing into the checkout.

The suites are read from expectations/gx/expectations/*.json; validation results and Data Docs go
to directories the caller names (under KOKUHO_HOME) or stay in memory. Great Expectations is
imported here, so import this module lazily (the import costs seconds).
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kokuho.config import apply_offline_env
from kokuho.resources import package_dir

if TYPE_CHECKING:
    from great_expectations.data_context import EphemeralDataContext

GX_ROOT = package_dir("expectations") / "gx"
SUITES_DIR = GX_ROOT / "expectations"
DATASOURCE = "staging"
BATCH_DEFINITION = "batch"
SITE_NAME = "local_site"

_IN_MEMORY = {"class_name": "InMemoryStoreBackend"}


@lru_cache(maxsize=1)
def project_config_dict() -> dict[str, Any]:
    """great_expectations.yml as a plain dict."""
    return yaml.safe_load((GX_ROOT / "great_expectations.yml").read_text(encoding="utf-8"))


def run_config(results_dir: Path | None, docs_dir: Path | None) -> dict[str, Any]:
    """The project config with every store that writes pointed away from the checkout."""
    config = copy.deepcopy(project_config_dict())
    # Fluent datasources are added in memory by open_context (an ephemeral context ignores them).
    config.pop("fluent_datasources", None)
    config["analytics_enabled"] = False
    config["config_variables_file_path"] = None
    config["plugins_directory"] = None
    stores = config["stores"]
    stores["expectations_store"]["store_backend"] = {
        "class_name": "TupleFilesystemStoreBackend",
        "base_directory": str(SUITES_DIR),
        "suppress_store_backend_id": True,
    }
    stores["validation_results_store"]["store_backend"] = (
        {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(results_dir),
            "suppress_store_backend_id": True,
        }
        if results_dir is not None
        else dict(_IN_MEMORY)
    )
    stores["checkpoint_store"]["store_backend"] = dict(_IN_MEMORY)
    stores["validation_definition_store"]["store_backend"] = dict(_IN_MEMORY)
    if docs_dir is not None:
        site = config["data_docs_sites"][SITE_NAME]
        site["store_backend"] = {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)}
        config["data_docs_sites"] = {SITE_NAME: site}
    else:
        config["data_docs_sites"] = {}
    return config


def open_context(results_dir: Path | None = None, docs_dir: Path | None = None) -> EphemeralDataContext:
    """An ephemeral context on the committed suites; results/docs in the given directories."""
    apply_offline_env()
    import great_expectations as gx
    from great_expectations.data_context.types.base import DataContextConfig

    for directory in (results_dir, docs_dir):
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
    config = DataContextConfig(**run_config(results_dir, docs_dir))
    context = gx.get_context(project_config=config, mode="ephemeral")
    context.config.analytics_enabled = False
    source = context.data_sources.add_pandas(DATASOURCE)
    for asset_name in asset_names():
        source.add_dataframe_asset(asset_name).add_batch_definition_whole_dataframe(BATCH_DEFINITION)
    return context


def asset_names() -> list[str]:
    """The staging tables declared in great_expectations.yml (one dataframe asset each)."""
    return list(project_config_dict()["fluent_datasources"][DATASOURCE]["assets"])
