"""/healthz and /readyz against real dependencies and a real worker."""

from __future__ import annotations

import pytest

from alphapanda import lifecycle
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration


def test_healthz_answers_without_dependencies(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_each_dependency_and_a_worker_per_broker_queue(client, processes):
    report = client.get("/readyz").json()
    assert (
        report["checks"]["database"]["ok"]
        and report["checks"]["redis"]["ok"]
        and report["checks"]["kafka"]["ok"]
    )
    assert report["checks"]["workers:paper"] == {"ok": False, "detail": "no worker consumes this queue"}
    assert client.get("/readyz").status_code == 503

    worker = processes.worker("paper")
    answer = wait_for(lambda: (r := client.get("/readyz")).status_code == 200 and r, timeout=30, what="ready")
    assert answer.json()["ready"] is True
    assert answer.json()["checks"]["workers:paper"]["ok"]

    processes.procs.remove(worker)
    lifecycle.terminate(worker.popen)
    assert client.get("/readyz").status_code == 503
