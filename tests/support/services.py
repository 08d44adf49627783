"""Real services for integration tests: PostgreSQL, Redis, a Prefect server and workers, and an
``okx-flows sim`` process. Every one binds a free loopback port, lives in its own temporary
directory and is stopped by process id when its context exits, also when the test fails."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def postgres_available() -> bool:
    return _pg_bin("initdb") is not None and _pg_bin("pg_ctl") is not None


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


def stop(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM the process group, then SIGKILL what is left."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def spawn(args: list[str], env: Mapping[str, str] | None = None, log: Path | None = None,
          cwd: Path | None = None) -> subprocess.Popen[bytes]:
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return subprocess.Popen(args, env=dict(env) if env else None, stdout=out, stderr=subprocess.STDOUT,
                            cwd=cwd, start_new_session=True)


def wait_until(check: object, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None,
               log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail}")
        with contextlib.suppress(Exception):
            if check():  # type: ignore[operator]
                return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise TimeoutError(f"{what} not ready after {timeout} s\n{tail}")


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL cluster; yields an asyncpg SQLAlchemy URL for Prefect."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    assert initdb and pg_ctl, "PostgreSQL is not installed (apt-get install postgresql)"
    root = Path(tempfile.mkdtemp(prefix="okxflows-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    port = free_port()
    as_root = os.geteuid() == 0
    if as_root:  # initdb refuses to run as root: hand the directory to the postgres user
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")

    def run(args: list[str]) -> subprocess.CompletedProcess[bytes]:
        cmd = ["runuser", "-u", "postgres", "--", *args] if as_root else args
        return subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    run([initdb, "-D", str(data), "-U", "prefect", "--auth=trust", "-E", "UTF8"])
    log = root / "postgres.log"
    run([pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
         f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off", "start"])
    try:
        psql = _pg_bin("psql")
        assert psql
        run([psql, "-h", "127.0.0.1", "-p", str(port), "-U", "prefect", "-d", "postgres", "-c",
             "CREATE DATABASE prefect"])
        run([psql, "-h", "127.0.0.1", "-p", str(port), "-U", "prefect", "-d", "prefect", "-c",
             "CREATE EXTENSION IF NOT EXISTS pg_trgm"])
        yield f"postgresql+asyncpg://prefect@127.0.0.1:{port}/prefect"
    finally:
        with contextlib.suppress(Exception):
            run([pg_ctl, "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"])
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="okxflows-redis-"))
    port = free_port()
    proc = spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--dir", str(root)], log=root / "redis.log")
    try:
        def ping() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")

        wait_until(ping, 20, "redis-server", proc, root / "redis.log")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)
        shutil.rmtree(root, ignore_errors=True)


def prefect_env(home: Path, api_url: str, db_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",
    })
    if db_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = db_url
    env.update(extra)
    return env


@contextlib.contextmanager
def prefect_server(db_url: str, home: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """``prefect server start`` on a free port over ``db_url``; yields (API URL, client env)."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = prefect_env(home, api, db_url)
    log = home / "server.log"
    proc = spawn([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                 env=env, log=log)
    try:
        wait_until(lambda: requests.get(f"{api}/health", timeout=2).status_code == 200, 120,
                   "prefect server", proc, log)
        client_env = {k: v for k, v in env.items() if k != "PREFECT_API_DATABASE_CONNECTION_URL"}
        yield api, client_env
    finally:
        stop(proc)


@contextlib.contextmanager
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """A list to add started processes to; every one is stopped on exit."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for proc in reversed(started):
            stop(proc)
