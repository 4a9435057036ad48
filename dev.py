#!/usr/bin/env python3.11
"""Set up and run kokuho-survey with nothing but python3.11 and pip.

    python3.11 dev.py demo   # set up .venv, then run the demo (the main job on bundled data)
    python3.11 dev.py test   # set up .venv, then lint (ruff), type-check (mypy), run the tests (pytest), check the wheel
    python3.11 dev.py bench-extra  # set up .venv, then add the benchmark's optional extra (polars, fastexcel)

Set-up is idempotent: .venv is (re)installed from requirements.lock only when the lock or
pyproject.toml changed. Any further arguments go to the command (`dev.py test -k catalog`); a test run
given arguments skips the wheel check.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
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


def _purelib(python: Path) -> str:
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    return subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def wheel_check() -> int:
    """Build the wheel, install it (not editable) into a throwaway venv that reuses .venv's locked
    dependencies, and run `kokuho demo` from another folder: the package must carry its own data."""
    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    with tempfile.TemporaryDirectory(prefix="kokuho-wheel-") as name:
        tmp = Path(name)
        wheels, target, home, elsewhere = tmp / "wheels", tmp / "venv", tmp / "home", tmp / "elsewhere"
        elsewhere.mkdir()
        # setuptools reuses build/lib, which would keep files deleted from the tree in the wheel.
        shutil.rmtree(ROOT / "build", ignore_errors=True)
        try:
            subprocess.run(
                [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)],
                cwd=ROOT,
                env=env,
                check=True,
            )
        finally:
            shutil.rmtree(ROOT / "build", ignore_errors=True)
        # The venv sees .venv's site-packages through a .pth (after its own, so the wheel wins) but not
        # .venv's .pth files, hence not the editable link to this checkout.
        venv.EnvBuilder(with_pip=False, clear=True).create(target)
        python = target / "bin" / "python"
        Path(_purelib(python), "_kokuho_locked_deps.pth").write_text(_purelib(BIN / "python") + "\n")
        wheel = [str(path) for path in wheels.glob("*.whl")]
        subprocess.run(
            [*pip, "--python", str(python), "install", "--no-deps", "--no-index", *wheel], env=env, check=True
        )
        where = "import kokuho, data, load; print(kokuho.__file__, data.__file__, load.__file__)"
        found = subprocess.run(
            [str(python), "-c", where], cwd=elsewhere, env=env, capture_output=True, text=True
        )
        if found.returncode or any(not path.startswith(str(target)) for path in found.stdout.split()):
            print(f"[wheel] the installed packages are not the wheel's: {found.stdout}{found.stderr}")
            return 1
        log = tmp / "demo.log"
        with log.open("w", encoding="utf-8") as out:
            code = subprocess.run(
                [str(target / "bin" / "kokuho"), "demo", "--home", str(home)],
                cwd=elsewhere,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            ).returncode
        produced = [
            home / "kokuho.duckdb",
            home / "exports" / "集計表_11_2024.xlsx",
            home / "data_docs" / "index.html",
        ]
        missing = [str(path) for path in produced if not path.is_file()]
        if code or missing:
            print(log.read_text(encoding="utf-8")[-4000:])
            print(f"[wheel] kokuho demo from the installed wheel failed (exit {code}; missing {missing})")
            return code or 1
    print(
        f"[wheel] installed wheel ran kokuho demo from another folder in {time.perf_counter() - started:.0f} s"
    )
    return 0


def bench_extra() -> int:
    """The optional extra 'bench' (kokuho bench's (b2)), exactly as locked, checked against the
    runtime set. Set-up reinstalls only the runtime lock, which leaves these in place."""
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    lock = str(ROOT / "requirements-bench.lock")
    code = subprocess.run([*pip, "install", "--require-hashes", "--no-deps", "-r", lock]).returncode
    return code or subprocess.run([*pip, "check"]).returncode


def main() -> int:
    command, rest = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command not in {"demo", "test", "setup", "bench-extra"}:
        print(__doc__)
        return 2
    setup()
    if command == "setup":
        return 0
    if command == "bench-extra":
        return bench_extra()
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
    code = run([str(BIN / "python"), "-m", "pytest", *rest])
    if code or rest:
        return code
    return wheel_check()


if __name__ == "__main__":
    sys.exit(main())
