"""Integration fixtures: a fresh Tansu per test, a clean Redis database, real worker processes."""

from __future__ import annotations

import io
import os

import pytest
from django.core.management import call_command

from alphapanda import infra, kafka
from riskcheck import selectors as risk_selectors
from tests.support.kite import start_sandbox
from tests.support.processes import ROOT, Processes, database_url
from trading import selectors as trading_selectors
from trading.instruments import load_csv
from trading.setup import instruments_upsert

pytestmark = pytest.mark.integration


@pytest.fixture
def out_dir(request):
    path = ROOT / "test-output" / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def kafka_service(out_dir, settings):
    service = infra.start_tansu(out_dir)
    settings.KAFKA_BOOTSTRAP = service.url
    yield service
    kafka.close_producer(timeout=1)
    service.stop()


@pytest.fixture
def kafka_bootstrap(kafka_service):
    return kafka_service.url


@pytest.fixture
def redis_client(clean_redis):
    return clean_redis


@pytest.fixture
def kafka_topics(kafka_bootstrap):
    """The active brokers' topics, created on this test's Tansu."""
    call_command("create_topics", stdout=io.StringIO())
    return kafka_bootstrap


@pytest.fixture
def instruments(transactional_db):
    trading_selectors.clear_caches()
    risk_selectors.clear_caches()
    instruments_upsert(load_csv())
    return {i.symbol: i for i in load_csv()}


@pytest.fixture
def processes(transactional_db, instruments, kafka_bootstrap, redis_client, out_dir):
    call_command("create_topics", stdout=open(os.devnull, "w"))  # noqa: SIM115
    env = dict(
        os.environ,
        DATABASE_URL=database_url(),
        KAFKA_BOOTSTRAP=kafka_bootstrap,
        REDIS_URL=os.environ["REDIS_URL"],
        ACTIVE_BROKERS="paper",
        PAPER_SLIPPAGE_BPS="5",
        LOG_LEVEL="info",
    )
    procs = Processes(env, out_dir)
    yield procs
    took = procs.stop()
    slow = {name: t for name, t in took.items() if t > 10}
    assert not slow, f"processes did not exit within 10 s of SIGTERM: {slow}"


@pytest.fixture
def sandbox(settings, instruments, redis_client, kafka_bootstrap):
    """The Kite sandbox in this process, the settings pointed at it, both brokers' topics created."""
    sandbox = start_sandbox(settings)
    call_command("create_topics", stdout=io.StringIO())
    yield sandbox
    sandbox.stop()
