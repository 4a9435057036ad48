"""Data Docs of runs validated with build_docs=False, rendered later (while the load runs)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from expectations.validate.model import DEFAULT_KEEP_RUNS
from expectations.validate.runner import _runner
from kokuho.config import apply_offline_env


def build_docs_for(
    data_docs_dir: Path, run_times: list[dt.datetime], *, keep_runs: int = DEFAULT_KEEP_RUNS
) -> Path:
    """Render the Data Docs of runs validated with build_docs=False (and prune old runs). Safe in
    another thread than the validation: it waits for the directory's GX context."""
    from expectations.data_docs import build_data_docs

    apply_offline_env()
    runner = _runner(data_docs_dir)
    with runner.lock:
        return build_data_docs(runner.context, Path(data_docs_dir), keep_runs=keep_runs, run_times=run_times)
