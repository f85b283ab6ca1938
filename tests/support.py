"""Helpers shared by the test modules: where things are, and how to drive the inlet CLI.

Fixtures wrapping these live in conftest.py; modules that need a path while pytest is
still collecting (to parametrize) import this module directly.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import time
from typing import Sequence

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent

# One inlet invocation should never take this long; a hang fails the test instead of CI.
DEFAULT_TIMEOUT_S = 120


def inlet_binary() -> pathlib.Path:
    """$INLET_BIN, else <repo>/build/inlet (it may not exist yet)."""
    env = os.environ.get("INLET_BIN")
    return pathlib.Path(env) if env else REPO_ROOT / "build" / "inlet"


def conformance_root() -> pathlib.Path:
    """$INLET_CONFORMANCE_DIR, else <repo>/../shared/conformance (it may be missing)."""
    env = os.environ.get("INLET_CONFORMANCE_DIR")
    return pathlib.Path(env) if env else REPO_ROOT.parent / "shared" / "conformance"


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def require_conformance_root() -> pathlib.Path:
    """The conformance folder; skip when it is missing, except in CI where that fails."""
    root = conformance_root()
    if (root / "delta-golden").is_dir() or (root / "delta-rs-tables").is_dir():
        return root
    reason = (
        f"conformance data not found at {root} "
        "(set INLET_CONFORMANCE_DIR to the folder holding delta-golden/ and delta-rs-tables/)"
    )
    if in_ci():
        pytest.fail(reason + "; CI is set, so this is an error", pytrace=False)
    pytest.skip(reason)


def run_inlet(
    *args: object,
    check: bool = True,
    timeout: float = DEFAULT_TIMEOUT_S,
    cwd: str | os.PathLike | None = None,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run ``inlet ARGS...`` and return the CompletedProcess (text mode).

    env: variables added to the environment (e.g. a MinIO fixture's credentials).

    With check=True a non-zero exit fails the test, showing the command and its stderr.
    """
    binary = inlet_binary()
    if not binary.exists():
        pytest.fail(
            f"inlet binary not found at {binary} (build it, or set INLET_BIN)", pytrace=False
        )
    cmd = [str(binary), *map(str, args)]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            env={**os.environ, **env} if env else None,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"timed out after {timeout}s: {' '.join(cmd)}", pytrace=False)
        raise AssertionError from exc  # unreachable; keeps type checkers calm
    if check and proc.returncode != 0:
        pytest.fail(
            f"inlet failed (exit {proc.returncode}): {' '.join(cmd)}\n"
            f"--- stderr ---\n{proc.stderr}\n--- stdout (first 2000 chars) ---\n"
            f"{proc.stdout[:2000]}",
            pytrace=False,
        )
    return proc


def check_refusal(proc: subprocess.CompletedProcess) -> str:
    """Assert ``proc`` is a clean refusal and return its one error line.

    Clean means: a positive exit code (not a crash by signal), and stderr holding exactly
    one non-empty line that starts with "inlet: error:".
    """
    cmd = " ".join(proc.args) if isinstance(proc.args, list) else str(proc.args)
    assert proc.returncode != 0, f"expected failure, but exit 0: {cmd}\nstdout: {proc.stdout[:500]}"
    assert proc.returncode > 0, (
        f"inlet died by signal {-proc.returncode} (a crash, not a refusal): {cmd}\n"
        f"stderr: {proc.stderr[-2000:]}"
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, (
        f"expected exactly one error line on stderr, got {len(lines)}: {cmd}\n{proc.stderr[:2000]}"
    )
    line = lines[0]
    assert line.startswith("inlet: error:"), f"error line must start with 'inlet: error:': {line!r}"
    return line


def expect_refusal(*args: object, timeout: float = DEFAULT_TIMEOUT_S) -> str:
    """Run inlet, expect a clean refusal (see check_refusal), return the error line."""
    return check_refusal(run_inlet(*args, check=False, timeout=timeout))


def scan(table: str | os.PathLike, *args: object, out_dir: str | os.PathLike,
         env: dict[str, str] | None = None) -> pa.Table:
    """``inlet scan TABLE ARGS... --output-format parquet`` read back as an Arrow table."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n = len(list(out_dir.glob("scan-*.parquet")))
    out = out_dir / f"scan-{n}.parquet"
    run_inlet("scan", table, *args, "--output-format", "parquet", "--output", out, env=env)
    assert out.exists(), f"inlet scan exited 0 but wrote no {out}"
    return pq.read_table(out)


def write(
    table: str | os.PathLike,
    data: pa.Table | Sequence[pa.Table],
    *args: object,
    work_dir: str | os.PathLike,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """``inlet write TABLE --input F... --input-format parquet ARGS...`` with ``data``
    first written to Parquet file(s) under ``work_dir`` (``env``: added variables)."""
    tables = [data] if isinstance(data, pa.Table) else list(data)
    work_dir = pathlib.Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    inputs: list[object] = []
    for t in tables:
        n = len(list(work_dir.glob("input-*.parquet")))
        path = work_dir / f"input-{n}.parquet"
        pq.write_table(t, path)
        inputs += ["--input", path]
    return run_inlet("write", table, *inputs, "--input-format", "parquet", *args, check=check,
                     env=env)


def log_snapshot(table: str | os.PathLike) -> dict[str, bytes]:
    """Every file under TABLE/_delta_log, by relative path, with its bytes."""
    log = pathlib.Path(table) / "_delta_log"
    return {
        str(p.relative_to(log)): p.read_bytes() for p in sorted(log.rglob("*")) if p.is_file()
    }


def copy_table(src: str | os.PathLike, dst: str | os.PathLike) -> pathlib.Path:
    shutil.copytree(src, dst, symlinks=True)
    return pathlib.Path(dst)


def wait_stopped(pid: int, timeout: float = 60) -> None:
    """Wait until process pid is stopped (SIGSTOP, as INLET_STOP_AT=point stops inlet)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "T":
                return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} never reached its stop point")


def write_concurrently(table: str, rows_of, *args: object, writers: int, commits: int,
                       work_dir: pathlib.Path) -> list[str]:
    """``writers`` threads each run ``commits`` one-file ``inlet write TABLE ARGS`` (the
    input rows_of(writer, k), written to Parquet first); the stderr of each failure."""
    import threading
    failures: list[str] = []

    def writer(w: int) -> None:
        for k in range(commits):
            path = pathlib.Path(work_dir) / f"in-{w}-{k}.parquet"
            pq.write_table(rows_of(w, k), path)
            proc = run_inlet(*args, "write", table, "--input", path, "--input-format", "parquet",
                             check=False)
            if proc.returncode != 0:
                failures.append(proc.stderr)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures
