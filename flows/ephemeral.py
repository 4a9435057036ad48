"""The temporary Prefect server that `kokuho run` starts ends with the process that started it.

Prefect 3.8.8 starts it lazily (prefect.server.api.server.SubprocessASGIServer, a singleton per
port; `get_client()` calls `SubprocessASGIServer().start()`), as a plain `subprocess.Popen` of
uvicorn, and stops it from an `atexit` hook: a process killed with SIGKILL runs no hook, so the
server was left running, orphaned. PR_SET_PDEATHSIG cannot be used from outside Prefect's Popen,
and it fires when the *thread* that forked the child ends, which may be any of Prefect's threads.

Instead every server process gets a watchdog: a tiny child process blocked reading a pipe whose
only writer is this process. The kernel closes the pipe whatever way this process ends; the
watchdog then sees end-of-file and terminates the server (SIGTERM, then SIGKILL), after checking
by its start time that the PID is still that server. A normal stop tells the watchdog to stand down.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# Run with `python -I -S -c`: standard library only, started in milliseconds.
WATCHDOG_CODE = """
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent; it stops the server itself
pid, started = int(sys.argv[1]), sys.argv[2]

def alive():
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != b"Z" and fields[19].decode() == started

if sys.stdin.buffer.read(1):
    sys.exit(0)  # the parent stopped the server itself
for sig in (signal.SIGTERM, signal.SIGKILL):
    if not alive():
        break
    try:
        os.kill(pid, sig)
    except OSError:
        break
    for _ in range(50):
        if not alive():
            sys.exit(0)
        time.sleep(0.1)
"""
WATCHDOG_TAG = "kokuho-prefect-server-watchdog"


def process_start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks): with the PID, names one process."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return data.rsplit(b")", 1)[1].split()[19].decode()


class _Watchdog:
    def __init__(self, pid: int) -> None:
        started = process_start_time(pid)
        read_end, self._write_end = os.pipe()  # not inherited by any other child (PEP 446)
        try:
            self.process: subprocess.Popen[bytes] | None = None
            if started is not None:
                self.process = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", WATCHDOG_CODE, str(pid), started, WATCHDOG_TAG],
                    stdin=read_end,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    close_fds=True,
                )
        finally:
            os.close(read_end)

    def stand_down(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._write_end, b"x")
        with contextlib.suppress(OSError):
            os.close(self._write_end)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)


def _tied_server_class() -> type:
    from prefect.server.api.server import SubprocessASGIServer

    class TiedServer(SubprocessASGIServer):
        """Prefect's temporary server, each of its processes watched (see the module doc)."""

        def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
            process = super()._run_uvicorn_command()
            watchdogs = self.__dict__.setdefault("_watchdogs", [])
            watchdogs.append(_Watchdog(process.pid))
            return process

        def stop(self) -> None:
            try:
                super().stop()
            finally:
                for watchdog in self.__dict__.pop("_watchdogs", []):
                    watchdog.stand_down()

    return TiedServer


def tie_ephemeral_server_to_this_process() -> None:
    """Make the temporary server Prefect starts in this process (if it starts one) end with it.

    Registers the watched subclass as Prefect's singleton for the default port before Prefect
    creates its own; a no-op when a server was already created in this process."""
    from prefect.server.api.server import SubprocessASGIServer

    if SubprocessASGIServer._instances.get(None) is None:
        _tied_server_class()()
