"""Static Data Docs of the validation runs, built offline into a directory under KOKUHO_HOME.

The site shows the committed suites and the last `keep_runs` validation runs: older results are
deleted from the results store and their pages removed, so the directory stays bounded. Each
run renders only its own pages plus the index (a full rebuild only when the site is new).

The pages work without internet (closed networks such as LGWAN): GX's templates load CSS, JS,
fonts and the logo from CDNs, so after each build the files vendored in data_docs_assets/ are
copied to `static/vendor/` of the site and every such address in the generated HTML and CSS is
rewritten to a relative path. (GX puts its own templates before any custom template directory,
so the addresses cannot be changed by a template override.) Building fetches nothing.
Works on a GX context it is given: import lazily.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Collection
from pathlib import Path
from typing import Any

from expectations.context import SITE_NAME
from kokuho.resources import package_dir

VALIDATION_PAGES = "validations"  # the site's folder of rendered validation results
ASSETS_DIR = package_dir("expectations") / "data_docs_assets"
SITE_ASSETS = "static/vendor"  # where the site keeps its copy of ASSETS_DIR
RESULTS_DIRS = ("_validation_results",)  # stored JSON results, never rewritten

_GX_ASSETS = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
_V = SITE_ASSETS
# Each address GX 1.x's templates load (same versions as the templates pin) and its local copy,
# relative to the site root. Where an address has a query string (the logo), it is ignored.
LOCAL_COPIES: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": f"{_V}/bootstrap-4.3.1/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": f"{_V}/bootstrap-4.3.1/bootstrap.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": f"{_V}/popper.js-1.12.9/popper.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": f"{_V}/jquery-3.7.1/jquery.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": f"{_V}/bootstrap-table-1.19.1/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": f"{_V}/bootstrap-table-1.19.1/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        f"{_V}/bootstrap-table-1.19.1/bootstrap-table-filter-control.min.js"
    ),
    # The templates take this stylesheet from 1.19.0, minified or not: the same rules as 1.19.1's.
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        f"{_V}/bootstrap-table-1.19.1/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        f"{_V}/bootstrap-table-1.19.1/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        f"{_V}/bootstrap-datepicker-1.9.0/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        f"{_V}/bootstrap-datepicker-1.9.0/bootstrap-datepicker.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        f"{_V}/bootstrap-dark-1.1.0/bootstrap-prefers-dark.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": f"{_V}/fontawesome-free-6.6.0/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": f"{_V}/vega-5.33.1/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": f"{_V}/vega-lite-5.23.0/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": f"{_V}/vega-embed-6.29.0/vega-embed.min.js",
    # GX's own logo: the light one ships in GX's static/images (the dark-mode one does not).
    f"{_GX_ASSETS}logo-long.png": "static/images/logo-long.png",
    f"{_GX_ASSETS}full_logo_dark.png": "static/images/logo-long.png",
}

# An address in src=/href= or url(...), with its quotes.
_ADDRESS = re.compile(r"""(?P<lead>\b(?:src|href)=|url\()(?P<q>["']?)(?P<url>https?://[^"'\s)]+)(?P=q)""")
# A relative path into the site's static/ folder; GX's favicon path on validation pages is one
# level short, so such paths are recomputed from the page's own depth.
_SITE_STATIC = re.compile(r"""(?P<lead>\b(?:src|href)=|url\()(?P<q>["']?)(?:\./|(?:\.\./)+)static/""")
_LOADING_TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)
# Subresource-integrity and CORS mode make browsers refuse scripts opened from file://.
_CDN_ONLY_ATTRIBUTES = re.compile(
    r"""\s+(?:integrity|crossorigin)=(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE
)


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
    make_offline(docs_dir)
    return index


def make_offline(docs_dir: Path) -> None:
    """Copy the vendored assets into the site and point every page and stylesheet at them.
    Idempotent: files already rewritten are left untouched."""
    sync_assets(docs_dir / SITE_ASSETS)
    vendor = (docs_dir / SITE_ASSETS).resolve()
    for path in sorted(docs_dir.rglob("*")):
        if path.suffix not in (".html", ".css") or not path.is_file():
            continue
        relative = path.relative_to(docs_dir)
        if relative.parts[0] in RESULTS_DIRS or path.resolve().is_relative_to(vendor):
            continue
        text = path.read_text(encoding="utf-8")
        local = localise(text, to_root=Path(os.path.relpath(docs_dir, path.parent)).as_posix())
        if local != text:
            _replace_text(path, local)


def localise(text: str, *, to_root: str) -> str:
    """`text` (HTML or CSS) with each known CDN address replaced by the relative path of its local
    copy; `to_root` is the relative path from the file's folder to the site root."""

    def local(match: re.Match[str]) -> str:
        target = LOCAL_COPIES.get(match["url"].split("?", 1)[0])
        if target is None:
            return match[0]
        return f"{match['lead']}{match['q']}{to_root}/{target}{match['q']}"

    text = _ADDRESS.sub(local, text)
    text = _SITE_STATIC.sub(lambda m: f"{m['lead']}{m['q']}{to_root}/static/", text)

    def local_tag(match: re.Match[str]) -> str:
        tag = match[0]
        return tag if "://" in tag else _CDN_ONLY_ATTRIBUTES.sub("", tag)

    return _LOADING_TAG.sub(local_tag, text)


def sync_assets(target: Path) -> None:
    """Make `target` a copy of ASSETS_DIR (copying only files whose size or time differ, and
    removing files no longer vendored, such as an older version's)."""
    wanted = set()
    for source in ASSETS_DIR.rglob("*"):
        if not source.is_file():
            continue
        relative = source.relative_to(ASSETS_DIR)
        wanted.add(relative)
        dest = target / relative
        src_stat = source.stat()
        if dest.is_file():
            dest_stat = dest.stat()
            if (dest_stat.st_size, dest_stat.st_mtime_ns) == (src_stat.st_size, src_stat.st_mtime_ns):
                continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        shutil.copy2(source, partial)
        os.replace(partial, dest)
    for path in sorted(target.rglob("*"), reverse=True):
        if path.is_file() and path.relative_to(target) not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _replace_text(path: Path, text: str) -> None:
    """Write `text` over `path` in one rename, so a browser never reads half a page."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
