"""Static Data Docs of the validation runs, built offline into a directory under KOKUHO_HOME.

The site shows the committed suites and the last `keep_runs` validation runs: older results are
deleted from the results store and their pages removed, so the directory stays bounded. Each
run renders only its own pages plus the index (a full rebuild only when the site is new).
The HTML links CSS/JS on CDNs, which a browser may fetch; building fetches nothing.
Works on a GX context it is given: import lazily.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from expectations.context import SITE_NAME

VALIDATION_PAGES = "validations"  # the site's folder of rendered validation results


def _run_key(key: Any) -> tuple[str, str]:
    run_id = key.run_id
    return (str(run_id.run_time), str(run_id.run_name))


def stored_runs(context: Any) -> list[tuple[str, str]]:
    """(run_time, run_name) of every run in the results store, newest first."""
    return sorted({_run_key(k) for k in context.validation_results_store.list_keys()}, reverse=True)


def prune_results(context: Any, keep_runs: int) -> list[Any]:
    """Delete stored results of all but the newest `keep_runs` runs. Returns the deleted keys."""
    store = context.validation_results_store
    keys = store.list_keys()
    keep = set(sorted({_run_key(k) for k in keys}, reverse=True)[: max(1, keep_runs)])
    removed = [k for k in keys if _run_key(k) not in keep]
    for key in removed:
        store.remove_key(key)
    return removed


def _remove_page(docs_dir: Path, key: Any) -> None:
    """Delete the rendered page of a pruned result and the folders it leaves empty."""
    parts = [str(p) for p in key.to_tuple()]
    root = docs_dir / VALIDATION_PAGES
    page = root.joinpath(*parts[:-1], f"{parts[-1]}.html")
    page.unlink(missing_ok=True)
    folder = page.parent
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def build_data_docs(
    context: Any, docs_dir: Path, *, keep_runs: int, run_times: Collection[object] | None = None
) -> Path:
    """Prune old results and their pages, render the runs `run_times` (or everything when the
    site has no index yet) and the index. Returns the index.html path."""
    for key in prune_results(context, keep_runs):
        _remove_page(docs_dir, key)
    index = docs_dir / "index.html"
    new_keys = None
    if index.is_file() and run_times:
        wanted = set(run_times)
        new_keys = [k for k in context.validation_results_store.list_keys() if k.run_id.run_time in wanted]
    context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=new_keys or None)
    return index
