"""Faults injected into local processes, for the fault tests and `make chaos`. Never for production."""

from __future__ import annotations

import os
import signal
import subprocess
import threading

from django.db import connection


def kill(proc: subprocess.Popen) -> None:
    """kill -9: no handler runs, nothing is flushed or acknowledged."""
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def freeze(pid: int, seconds: float, stop: threading.Event | None = None) -> None:
    """SIGSTOP for `seconds`, then SIGCONT (always, even when interrupted)."""
    os.kill(pid, signal.SIGSTOP)
    try:
        (stop or threading.Event()).wait(seconds)
    finally:
        os.kill(pid, signal.SIGCONT)


def drop_database_connections() -> int:
    """Terminate every other session on this database, as a failover or a restarted pgbouncer would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        (dropped,) = cursor.fetchone()
    return int(dropped)
