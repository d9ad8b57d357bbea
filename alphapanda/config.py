"""Every setting read from the environment, once, typed and validated.

Nothing else in the project reads the environment. A bad value raises `ConfigError` with one line that
names the variable; `manage.py` and the Celery app turn it into that one line on stderr and exit 2.
"""

from __future__ import annotations

import math
import os
import secrets
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from alphapanda.brokers import UnknownBrokerError, parse_active_brokers

# Four tasks at once overlap one task's waits on PostgreSQL, Redis and Kafka with another's work; 1 is
# the solo pool (docs/performance.md, "A worker waits half its time").
WORKER_THREADS_DEFAULT = 4
# How long a consumer's fetch may wait for data: Tansu sleeps it out whatever it finds, so it is
# the embedded broker's hop latency and idle cost at once (docs/performance.md, "Settings").
KAFKA_FETCH_WAIT_MS_DEFAULT = 10
# Net allocations between young collections in the long-running processes (alphapanda/process.py).
GC_GEN0_THRESHOLD_DEFAULT = 50_000


class ConfigError(Exception):
    """A setting that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class KiteConfig:
    """Zerodha's Kite Connect: credentials from the environment only; secrets never in a repr or log."""

    api_key: str
    api_secret: str = field(repr=False)
    root: str
    ws_root: str
    login_url: str
    algo_id: str
    market_protection: Decimal
    timeout_s: float
    daily_order_cap: int


@dataclass(frozen=True)
class Config:
    active_brokers: tuple[str, ...]
    database_url: str = field(repr=False)  # may carry a password
    redis_url: str = field(repr=False)
    kafka_bootstrap: str
    secret_key: str = field(repr=False)
    debug: bool
    log_level: str
    log_format: str
    paper_slippage_bps: Decimal
    paper_starting_cash: Decimal
    bridge_batch_timeout_s: float
    bridge_queue_timeout_s: float
    bridge_max_batch: int
    bridge_tasks_per_topic: int
    worker_threads: int
    static_root: str
    paper_mis_square_off: time | None  # None: off
    kite: KiteConfig
    metrics_port: int = 0  # 0: no per-process metrics server (the web serves /metrics regardless)
    metrics_addr: str = "127.0.0.1"
    gc_gen0_threshold: int = GC_GEN0_THRESHOLD_DEFAULT  # 0: Python's own collector settings
    kafka_fetch_wait_ms: int = KAFKA_FETCH_WAIT_MS_DEFAULT


def _raw(name: str, default: str) -> str:
    """The value as written: no `$VAR` interpolation (a secret may well start with `$`)."""
    return os.environ.get(name, default)


def _url(name: str, default: str, schemes: tuple[str, ...]) -> str:
    raw = _raw(name, default).strip()
    try:
        parts = urlsplit(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a valid URL ({exc})") from exc
    located = parts.hostname or "host=" in parts.query or (parts.scheme == "unix" and parts.path)
    if parts.scheme not in schemes or not located:
        raise ConfigError(
            f"{name}={raw!r} is not a valid URL (expected {' or '.join(s + '://' for s in schemes)}...)"
        )
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} has a malformed port") from exc
    return raw


def _bootstrap(name: str, default: str) -> str:
    raw = _raw(name, default).strip()
    for server in raw.split(","):
        host, _, port = server.strip().rpartition(":")
        if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            raise ConfigError(f"{name}={raw!r} is not a host:port list (for example 127.0.0.1:9092)")
    return raw


def _decimal(name: str, default: str, *, minimum: Decimal, maximum: Decimal) -> Decimal:
    raw = _raw(name, default)
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise ConfigError(f"{name}={raw!r} is not a number") from exc
    if not value.is_finite() or not minimum <= value <= maximum:
        raise ConfigError(f"{name}={raw!r} must be between {minimum} and {maximum}")
    return value


def _number(name: str, default: str, kind: type, *, minimum: float) -> float | int:
    raw = _raw(name, default)
    try:
        value = kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a {kind.__name__}") from exc
    if not math.isfinite(value) or value < minimum:
        raise ConfigError(f"{name}={raw!r} must be a finite number of at least {minimum}")
    return value


def _port(name: str, default: str) -> int:
    raw = _raw(name, default).strip() or "0"
    if not (raw.isascii() and raw.isdigit()) or int(raw) > 65535:
        raise ConfigError(f"{name}={raw!r} is not a port (0 to 65535; 0 turns it off)")
    return int(raw)


def _clock(name: str, default: str) -> time | None:
    raw = _raw(name, default).strip()
    if raw.lower() == "off":
        return None
    try:
        return time.fromisoformat(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a time of day (HH:MM, IST) or off") from exc


def _bool(name: str, default: bool) -> bool:
    raw = _raw(name, str(default)).strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true or false)")


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = _raw(name, default).strip().lower()
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r} must be one of {', '.join(choices)}")
    return raw


def _kite(brokers: tuple[str, ...]) -> KiteConfig:
    api_key, api_secret = _raw("KITE_API_KEY", "").strip(), _raw("KITE_API_SECRET", "").strip()
    if "zerodha" in brokers and not (api_key and api_secret):
        raise ConfigError("ACTIVE_BROKERS includes zerodha but KITE_API_KEY or KITE_API_SECRET is not set")
    protection = _decimal("KITE_MARKET_PROTECTION", "-1", minimum=Decimal(-1), maximum=Decimal(100))
    if protection != -1 and protection <= 0:
        raise ConfigError(f"KITE_MARKET_PROTECTION={protection} must be -1 (automatic) or above 0 up to 100")
    return KiteConfig(
        api_key=api_key,
        api_secret=api_secret,
        root=_url("KITE_ROOT", "https://api.kite.trade", ("http", "https")),
        ws_root=_url("KITE_WS_ROOT", "wss://ws.kite.trade", ("ws", "wss")),
        login_url=_url("KITE_LOGIN_URL", "https://kite.zerodha.com/connect/login", ("http", "https")),
        algo_id=_raw("KITE_ALGO_ID", "").strip(),
        market_protection=protection,
        timeout_s=float(_number("KITE_TIMEOUT_S", "7", float, minimum=0.1)),
        daily_order_cap=int(_number("KITE_DAILY_ORDER_CAP", "5000", int, minimum=1)),
    )


def load() -> Config:
    """Read and validate the environment; raise `ConfigError` on the first bad value."""
    try:
        brokers = parse_active_brokers(_raw("ACTIVE_BROKERS", "paper"))
    except UnknownBrokerError as exc:
        raise ConfigError(str(exc)) from exc
    debug = _bool("DJANGO_DEBUG", False)
    secret = _raw("DJANGO_SECRET_KEY", "")
    if not secret:
        if not debug and _bool("ALPHAPANDA_REQUIRE_SECRET", False):
            raise ConfigError("DJANGO_SECRET_KEY is not set (required in production)")
        # A per-process key: sessions do not survive a restart, and no key ever sits in the repo.
        secret = secrets.token_urlsafe(50)
    return Config(
        active_brokers=brokers,
        database_url=_url(
            "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/alphapanda", ("postgres", "postgresql")
        ),
        redis_url=_url("REDIS_URL", "redis://127.0.0.1:6379/0", ("redis", "rediss", "unix")),
        kafka_bootstrap=_bootstrap("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        secret_key=secret,
        debug=debug,
        log_level=_choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")),
        log_format=_choice("LOG_FORMAT", "console", ("console", "json")),
        paper_slippage_bps=_decimal("PAPER_SLIPPAGE_BPS", "2", minimum=Decimal(0), maximum=Decimal(1000)),
        paper_starting_cash=_decimal(
            "PAPER_STARTING_CASH", "1000000", minimum=Decimal(0), maximum=Decimal(10**12)
        ),
        bridge_batch_timeout_s=float(_number("BRIDGE_BATCH_TIMEOUT_S", "30", float, minimum=1)),
        bridge_queue_timeout_s=float(_number("BRIDGE_QUEUE_TIMEOUT_S", "300", float, minimum=1)),
        bridge_max_batch=int(_number("BRIDGE_MAX_BATCH", "500", int, minimum=1)),
        bridge_tasks_per_topic=int(_number("BRIDGE_TASKS_PER_TOPIC", "1", int, minimum=1)),
        worker_threads=int(_number("WORKER_THREADS", str(WORKER_THREADS_DEFAULT), int, minimum=1)),
        static_root=_raw("STATIC_ROOT", "").strip(),
        paper_mis_square_off=_clock("PAPER_MIS_SQUARE_OFF", "15:20"),
        kite=_kite(brokers),
        metrics_port=_port("METRICS_PORT", "0"),
        metrics_addr=_raw("METRICS_ADDR", "127.0.0.1").strip() or "127.0.0.1",
        gc_gen0_threshold=int(_number("GC_GEN0_THRESHOLD", str(GC_GEN0_THRESHOLD_DEFAULT), int, minimum=0)),
        kafka_fetch_wait_ms=int(
            _number("KAFKA_FETCH_WAIT_MS", str(KAFKA_FETCH_WAIT_MS_DEFAULT), int, minimum=1)
        ),
    )
