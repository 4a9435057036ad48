#!/usr/bin/env python3.11
"""Set up and run kokuho-survey with nothing but python3.11 and pip.

    python3.11 dev.py demo   # set up .venv, then run the demo (the main job on bundled data)
    python3.11 dev.py test   # set up .venv, then lint (ruff), type-check (mypy), run the tests (pytest)

Set-up is idempotent: .venv is (re)installed from requirements.lock only when the lock or
pyproject.toml changed. Any further arguments go to the command (`dev.py test -k catalog`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("KOKUHO_VENV", ROOT / ".venv"))
BIN = VENV / "bin"
STAMP = VENV / ".kokuho-installed"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def setup() -> None:
    if sys.version_info[:2] != (3, 11):
        sys.exit(
            f"kokuho-survey needs Python 3.11 (this is {sys.version.split()[0]}): run it with python3.11"
        )
    if STAMP.is_file() and STAMP.read_text() == _fingerprint():
        return
    if not (BIN / "python").exists():
        print(f"[setup] creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    print("[setup] installing locked dependencies (requirements.lock)", flush=True)
    # The lock is complete (every transitive dependency, with hashes): install exactly it, no resolving.
    lock = str(ROOT / "requirements.lock")
    subprocess.run([*pip, "install", "--require-hashes", "--no-deps", "-r", lock], check=True)
    subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "-e", str(ROOT)], check=True)
    subprocess.run([*pip, "check"], check=True)
    STAMP.write_text(_fingerprint())


def run(args: list[str]) -> int:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(args, cwd=ROOT, env=env).returncode


def main() -> int:
    command, rest = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command not in {"demo", "test", "setup"}:
        print(__doc__)
        return 2
    setup()
    if command == "setup":
        return 0
    if command == "demo":
        return run([str(BIN / "kokuho"), "demo", *rest])
    for lint in (["ruff", "check", "."], ["ruff", "format", "--check", "."]):
        code = run([str(BIN / "python"), "-m", *lint])
        if code:
            print(
                f"[test] lint failed: {' '.join(lint)}  (fix with: .venv/bin/ruff format . && .venv/bin/ruff check --fix .)"
            )
            return code
    code = run([str(BIN / "python"), "-m", "mypy"])  # what it checks: [tool.mypy] in pyproject.toml
    if code:
        print("[test] type check failed: mypy")
        return code
    return run([str(BIN / "python"), "-m", "pytest", *rest])


if __name__ == "__main__":
    sys.exit(main())
