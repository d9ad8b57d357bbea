"""Real pipeline processes for integration tests: Celery workers, the bridge, the strategy runner."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

from alphapanda import lifecycle

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The test database (created by pytest-django) as a URL the child processes can use."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    host = s["HOST"] or ""
    query = ""
    if not host and s.get("OPTIONS", {}).get("host"):
        query = f"?host={s['OPTIONS']['host']}"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgres://{auth}@{host}{port}/{s['NAME']}{query}"


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Processes:
    """Starts children with one environment; stops them with SIGTERM and checks they exit cleanly."""

    env: dict[str, str]
    out_dir: Path
    procs: list[Proc] = field(default_factory=list)

    def start(self, name: str, *argv: str) -> Proc:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        log = self.out_dir / f"{name}.log"
        with log.open("w") as handle:
            popen = subprocess.Popen(
                list(argv), cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def worker(self, queues: str = "paper", name: str | None = None) -> Proc:
        return self.start(
            name or f"worker-{queues}",
            sys.executable, "-m", "celery", "-A", "alphapanda", "worker", "-Q", queues,
            "--hostname", f"{name or queues}-{os.getpid()}@%h", "--loglevel=WARNING", "--without-heartbeat",
            "--without-gossip", "--without-mingle",
        )  # fmt: skip

    def manage(self, name: str, *args: str) -> Proc:
        return self.start(name, sys.executable, "manage.py", *args)

    def bridge(self) -> Proc:
        return self.manage("bridge", "run_bridge", "--report-every", "2")

    def strategies(self) -> Proc:
        return self.manage("strategies", "run_strategies", "--reload-every", "3600")

    def assert_alive(self) -> None:
        dead = [p for p in self.procs if p.popen.poll() is not None]
        assert not dead, "\n".join(
            f"{p.name} exited {p.popen.returncode}:\n{p.output()[-3000:]}" for p in dead
        )

    def stop(self, timeout: float = 10.0) -> dict[str, float]:
        """SIGTERM in reverse start order; returns each process's seconds to exit."""
        took = {proc.name: lifecycle.terminate(proc.popen, timeout) for proc in reversed(self.procs)}
        self.procs.clear()
        return took


def wait_for(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll until `predicate()` is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
