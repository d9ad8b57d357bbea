"""The pipeline's processes as children of one driver (`make run`, `make chaos`): start, name, stop."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from alphapanda import lifecycle

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log: Path

    @property
    def state(self) -> str:
        rc = self.proc.poll()
        return "running" if rc is None else f"exited ({rc})"


def start(name: str, argv: list[str], env: dict[str, str], log_dir: Path, *, append: bool = False) -> Child:
    """Run `argv` from the project root with its output in `<log_dir>/<name>.log`."""
    log = log_dir / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a" if append else "w") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Child(name, proc, log)


def stop_all(children: list[Child], grace: float = 10.0) -> None:
    """Stop in reverse start order (feed first, workers last) so in-flight work drains downstream."""
    for child in reversed(children):
        lifecycle.terminate(child.proc, grace)


def manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


def pool_label(threads: int) -> str:
    """How a worker of WORKER_THREADS runs its tasks, in words for the operator."""
    return "solo" if threads == 1 else f"{threads} threads each"


def worker(queue: str, hostname: str) -> list[str]:
    """One Celery worker on a broker's queue; its pool (solo, or WORKER_THREADS threads) from settings."""
    return [sys.executable, "-m", "celery", "-A", "alphapanda", "worker", "-Q", queue,
            "--hostname", f"{hostname}@%h", "--loglevel=WARNING"]  # fmt: skip
