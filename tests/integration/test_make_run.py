"""`make run`'s driver as a user runs it: it starts everything, shows trades and P&L moving, and on
exit stops every process it started."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import psutil
import pytest

from tests.support.processes import ROOT, database_url

pytestmark = pytest.mark.integration


def test_pipeline_runs_for_a_set_time_shows_fills_and_stops_all_it_started(kafka_bootstrap, transactional_db):
    env = dict(
        os.environ, DATABASE_URL=database_url(), KAFKA_BOOTSTRAP=kafka_bootstrap, ACTIVE_BROKERS="paper"
    )
    result = subprocess.run(
        [sys.executable, "-m", "alphapanda.pipeline", "--duration", "25", "--rate", "300"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if re.match(r"\[\s*\d+s\] paper:", line)]
    assert lines, result.stdout
    last = lines[-1]
    fills = int(re.search(r"fills (\d+)", last).group(1))
    assert fills > 0, last
    assert re.search(r"equity [\d,]+\.\d\d", last)
    assert "stopped everything this run started" in result.stdout
    assert re.search(r"dashboard http://127\.0\.0\.1:\d+/", result.stdout)
    assert re.search(r"login     demo / \S{8,}", result.stdout)
    assert "workers   one per broker queue, 4 threads each (WORKER_THREADS)" in result.stdout
    assert not _started_with(kafka_bootstrap), "every process the run started has exited"


def _started_with(bootstrap: str) -> list[list[str]]:
    """Processes whose environment names this test's Kafka: only the run's own children could."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if proc.environ().get("KAFKA_BOOTSTRAP") == bootstrap and proc.pid != os.getpid():
                found.append(proc.info["cmdline"])
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found
