"""Progress of long steps: a bar on the terminal (rich, when stderr is one), log lines otherwise, and
a Prefect progress artifact so the UI shows it too. Plain Python apart from the artifact: tests use
it without Prefect."""

from __future__ import annotations

import io
import logging
import sys
import threading
import time
from typing import TextIO, cast
from uuid import UUID

from rich.console import Console
from rich.progress_bar import ProgressBar


class StepProgress:
    """Thread-safe progress of one step over `total` items. Call `advance(n)` as items finish."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        logger: logging.Logger | logging.LoggerAdapter | None = None,
        stream: TextIO | None = None,
        artifact_key: str | None = None,
    ) -> None:
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self.logger = logger
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._console = Console(file=self.stream, highlight=False) if self.tty else None
        self._lock = threading.Lock()
        self._last_draw = 0.0
        self._last_logged_quarter = 0
        self._artifact_id: UUID | None = None
        if artifact_key and self.total:
            from prefect.artifacts import create_progress_artifact

            # Prefect types it for sync and async callers alike; called from sync code it is the UUID.
            self._artifact_id = cast(UUID, create_progress_artifact(0.0, key=artifact_key, description=label))
        self._last_artifact = 0.0

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done = min(self.total, self.done + n)
            self._report(final=self.done >= self.total)

    def callback(self, done_in_part: int, part_total: int) -> None:
        """An `on_progress(done, total)` callback for one part of the work (one file finished)."""
        self.advance(1)

    def bar_line(self) -> str:
        """`label ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ done/total`, drawn by rich for this terminal."""
        console = self._console or Console(file=io.StringIO(), color_system=None)
        with console.capture() as captured:
            console.print(ProgressBar(total=self.total or 1, completed=self.done, width=30), end="")
        return f"{self.label} {captured.get()} {self.done}/{self.total}"

    def _report(self, *, final: bool) -> None:
        if not self.total:
            return
        now = time.monotonic()
        share = self.done / self.total
        if self._console is not None and (final or now - self._last_draw > 0.1):
            self.stream.write("\r" + self.bar_line() + ("\n" if final else ""))
            self.stream.flush()
            self._last_draw = now
        quarter = int(share * 4)
        if self.logger is not None and quarter > self._last_logged_quarter:
            self._last_logged_quarter = quarter
            self.logger.info("%s: %d/%d (%d%%)", self.label, self.done, self.total, round(share * 100))
        if self._artifact_id is not None and (final or now - self._last_artifact > 1.0):
            from prefect.artifacts import update_progress_artifact

            update_progress_artifact(self._artifact_id, progress=round(share * 100, 1))
            self._last_artifact = now
