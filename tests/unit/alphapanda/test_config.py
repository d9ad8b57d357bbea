"""`config.load()`: defaults, validation of every variable, one-line errors that name the variable."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alphapanda import config
from alphapanda.config import ConfigError

VARIABLES = (
    "ACTIVE_BROKERS",
    "DATABASE_URL",
    "REDIS_URL",
    "KAFKA_BOOTSTRAP",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "ALPHAPANDA_REQUIRE_SECRET",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "PAPER_SLIPPAGE_BPS",
    "PAPER_STARTING_CASH",
    "BRIDGE_BATCH_TIMEOUT_S",
    "BRIDGE_MAX_BATCH",
    "BRIDGE_TASKS_PER_TOPIC",
    "WORKER_THREADS",
    "GC_GEN0_THRESHOLD",
    "KAFKA_FETCH_WAIT_MS",
    "KITE_API_KEY",
    "KITE_API_SECRET",
    "KITE_ROOT",
    "KITE_WS_ROOT",
    "KITE_LOGIN_URL",
    "KITE_ALGO_ID",
    "KITE_MARKET_PROTECTION",
    "KITE_TIMEOUT_S",
    "KITE_DAILY_ORDER_CAP",
    "PAPER_MIS_SQUARE_OFF",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The test plugin sets DATABASE_URL, REDIS_URL, ...: start every test from an empty config."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def load_error(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> str:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        config.load()
    return str(info.value)


# --- defaults --------------------------------------------------------------------------------------


def test_load_when_nothing_set_then_defaults() -> None:
    cfg = config.load()
    assert cfg.active_brokers == ("paper",)
    assert cfg.database_url == "postgres://postgres@127.0.0.1:5432/alphapanda"
    assert cfg.redis_url == "redis://127.0.0.1:6379/0"
    assert cfg.kafka_bootstrap == "127.0.0.1:9092"
    assert cfg.debug is False
    assert cfg.log_level == "info"
    assert cfg.log_format == "console"
    assert cfg.paper_slippage_bps == Decimal("2")
    assert cfg.paper_starting_cash == Decimal("1000000")
    assert cfg.bridge_batch_timeout_s == 30.0
    assert cfg.bridge_max_batch == 500
    assert cfg.bridge_tasks_per_topic == 1
    assert cfg.worker_threads == 4
    assert cfg.gc_gen0_threshold == 50_000
    assert cfg.kafka_fetch_wait_ms == 10


def test_load_when_nothing_set_then_types_are_typed() -> None:
    cfg = config.load()
    assert isinstance(cfg.paper_slippage_bps, Decimal)
    assert isinstance(cfg.paper_starting_cash, Decimal)
    assert isinstance(cfg.bridge_batch_timeout_s, float)
    assert isinstance(cfg.bridge_max_batch, int)


def test_config_when_loaded_then_frozen() -> None:
    cfg = config.load()
    with pytest.raises(AttributeError):
        cfg.debug = True  # type: ignore[misc]


# --- good values -----------------------------------------------------------------------------------


def test_load_when_all_values_set_then_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIVE_BROKERS", " Zerodha , paper ")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db.internal:6543/trading")
    monkeypatch.setenv("REDIS_URL", "rediss://cache:6380/2")
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "k1:9092, k2:9093")
    monkeypatch.setenv("DJANGO_SECRET_KEY", "s3cret-key")
    monkeypatch.setenv("DJANGO_DEBUG", " YES ")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("PAPER_SLIPPAGE_BPS", "0.5")
    monkeypatch.setenv("PAPER_STARTING_CASH", "250000.50")
    monkeypatch.setenv("BRIDGE_BATCH_TIMEOUT_S", "2.5")
    monkeypatch.setenv("BRIDGE_MAX_BATCH", "1")
    monkeypatch.setenv("BRIDGE_TASKS_PER_TOPIC", "4")
    monkeypatch.setenv("WORKER_THREADS", "4")
    monkeypatch.setenv("GC_GEN0_THRESHOLD", "0")
    monkeypatch.setenv("KAFKA_FETCH_WAIT_MS", "100")
    monkeypatch.setenv("KITE_API_KEY", "key")
    monkeypatch.setenv("KITE_API_SECRET", "$ecret")
    monkeypatch.setenv("KITE_ROOT", "http://127.0.0.1:9000")
    monkeypatch.setenv("KITE_WS_ROOT", "ws://127.0.0.1:9000/ws")
    monkeypatch.setenv("KITE_ALGO_ID", "ALGO7")
    monkeypatch.setenv("KITE_MARKET_PROTECTION", "2.5")
    monkeypatch.setenv("KITE_TIMEOUT_S", "3")
    monkeypatch.setenv("KITE_DAILY_ORDER_CAP", "3000")
    cfg = config.load()
    assert cfg.active_brokers == ("zerodha", "paper")
    assert cfg.database_url == "postgresql://u:p@db.internal:6543/trading"
    assert cfg.redis_url == "rediss://cache:6380/2"
    assert cfg.kafka_bootstrap == "k1:9092, k2:9093"
    assert cfg.secret_key == "s3cret-key"
    assert cfg.debug is True
    assert cfg.log_level == "warning"
    assert cfg.log_format == "json"
    assert cfg.paper_slippage_bps == Decimal("0.5")
    assert cfg.paper_starting_cash == Decimal("250000.50")
    assert cfg.bridge_batch_timeout_s == 2.5
    assert cfg.bridge_max_batch == 1
    assert cfg.bridge_tasks_per_topic == 4
    assert cfg.worker_threads == 4
    assert cfg.gc_gen0_threshold == 0
    assert cfg.kafka_fetch_wait_ms == 100
    assert (cfg.kite.api_key, cfg.kite.api_secret, cfg.kite.root) == (
        "key",
        "$ecret",
        "http://127.0.0.1:9000",
    )
    assert (cfg.kite.algo_id, cfg.kite.market_protection, cfg.kite.timeout_s) == (
        "ALGO7",
        Decimal("2.5"),
        3.0,
    )
    assert cfg.kite.daily_order_cap == 3000
    assert "$ecret" not in repr(cfg) and "s3cret-key" not in repr(cfg), "secrets stay out of reprs and logs"


def test_load_when_zerodha_active_without_kite_credentials_then_one_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = load_error(monkeypatch, "ACTIVE_BROKERS", "paper,zerodha")
    assert message == "ACTIVE_BROKERS includes zerodha but KITE_API_KEY or KITE_API_SECRET is not set"


@pytest.mark.parametrize("value", ["0", "-2", "101", "abc"])
def test_load_when_market_protection_impossible_then_config_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    assert "KITE_MARKET_PROTECTION" in load_error(monkeypatch, "KITE_MARKET_PROTECTION", value)


def test_load_when_unix_socket_postgres_url_then_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres:@/db?host=/tmp/x")
    assert config.load().database_url == "postgresql://postgres:@/db?host=/tmp/x"


def test_load_when_url_has_surrounding_whitespace_then_stripped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "  redis://h:6379/1 \n")
    assert config.load().redis_url == "redis://h:6379/1"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), (" YES ", True), ("On", True), ("0", False), ("no", False), ("off", False)],
)
def test_load_when_debug_spelled_as_boolean_then_parsed(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("DJANGO_DEBUG", raw)
    assert config.load().debug is expected


@pytest.mark.parametrize("value", ["0", "1000"])
def test_load_when_slippage_on_range_bounds_then_accepted(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PAPER_SLIPPAGE_BPS", value)
    assert config.load().paper_slippage_bps == Decimal(value)


# --- the secret key --------------------------------------------------------------------------------


def test_load_when_secret_unset_then_random_per_load() -> None:
    first, second = config.load().secret_key, config.load().secret_key
    assert first != second
    assert len(first) >= 50 and len(second) >= 50


@pytest.mark.parametrize("fixed", ["", "changeme", "secret", "django-insecure", "dev"])
def test_load_when_secret_unset_then_never_a_fixed_string(fixed: str) -> None:
    key = config.load().secret_key
    assert key != fixed
    assert not key.startswith("django-insecure")


def test_load_when_secret_required_and_unset_then_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    message = load_error(monkeypatch, "ALPHAPANDA_REQUIRE_SECRET", "true")
    assert "DJANGO_SECRET_KEY" in message
    assert "\n" not in message


def test_load_when_secret_required_but_debug_then_random_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHAPANDA_REQUIRE_SECRET", "true")
    monkeypatch.setenv("DJANGO_DEBUG", "true")
    assert len(config.load().secret_key) >= 50


def test_load_when_secret_required_and_set_then_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHAPANDA_REQUIRE_SECRET", "true")
    monkeypatch.setenv("DJANGO_SECRET_KEY", "k" * 60)
    assert config.load().secret_key == "k" * 60


def test_load_when_secret_starts_with_dollar_then_used_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SECRET_KEY", "$3cret-key")
    assert config.load().secret_key == "$3cret-key"


# --- bad values: ConfigError naming the variable, on one line ----------------------------------------


BAD_VALUES = [
    ("ACTIVE_BROKERS", "paper,kite"),
    ("ACTIVE_BROKERS", " , "),
    ("DATABASE_URL", "nonsense"),
    ("DATABASE_URL", "mysql://x/y"),
    ("DATABASE_URL", "postgres:///db"),
    ("DATABASE_URL", "postgres://h:port/db"),
    ("REDIS_URL", "http://x"),
    ("REDIS_URL", "redis://h:99999/0"),
    ("KAFKA_BOOTSTRAP", "localhost"),
    ("KAFKA_BOOTSTRAP", "h:99999"),
    ("KAFKA_BOOTSTRAP", "h:0"),
    ("KAFKA_BOOTSTRAP", ":9092"),
    ("KAFKA_BOOTSTRAP", "h:9092,"),
    ("KAFKA_BOOTSTRAP", "h:9092,other"),
    ("PAPER_SLIPPAGE_BPS", "abc"),
    ("PAPER_SLIPPAGE_BPS", "-1"),
    ("PAPER_SLIPPAGE_BPS", "1000.01"),
    ("PAPER_SLIPPAGE_BPS", "NaN"),
    ("PAPER_SLIPPAGE_BPS", "Infinity"),
    ("PAPER_STARTING_CASH", "-0.01"),
    ("PAPER_STARTING_CASH", "lots"),
    ("DJANGO_DEBUG", "maybe"),
    ("DJANGO_DEBUG", "maybe\nnot"),
    ("LOG_FORMAT", "xml"),
    ("LOG_LEVEL", "verbose"),
    ("BRIDGE_MAX_BATCH", "0"),
    ("BRIDGE_MAX_BATCH", "1.5"),
    ("BRIDGE_MAX_BATCH", "many"),
    ("BRIDGE_TASKS_PER_TOPIC", "0"),
    ("BRIDGE_TASKS_PER_TOPIC", "two"),
    ("WORKER_THREADS", "0"),
    ("WORKER_THREADS", "2.5"),
    ("GC_GEN0_THRESHOLD", "-1"),
    ("GC_GEN0_THRESHOLD", "lots"),
    ("KAFKA_FETCH_WAIT_MS", "0"),
    ("KAFKA_FETCH_WAIT_MS", "2.5"),
    ("BRIDGE_BATCH_TIMEOUT_S", "0.5"),
    ("BRIDGE_BATCH_TIMEOUT_S", "soon"),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_load_when_bad_value_then_config_error_names_variable_on_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    message = load_error(monkeypatch, name, value)
    assert name in message
    assert "\n" not in message and "\r" not in message
    assert message.strip()


def test_load_when_unknown_broker_then_message_names_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    message = load_error(monkeypatch, "ACTIVE_BROKERS", "paper,kite")
    assert "'kite'" in message and "ACTIVE_BROKERS" in message


def test_load_when_bad_url_then_message_shows_value_and_expected_schemes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = load_error(monkeypatch, "DATABASE_URL", "mysql://x/y")
    assert message.startswith("DATABASE_URL='mysql://x/y'")
    assert "postgres://" in message and "postgresql://" in message


def test_load_when_redis_url_has_out_of_range_port_then_malformed_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert "malformed port" in load_error(monkeypatch, "REDIS_URL", "redis://h:99999/0")


def test_load_when_slippage_not_a_number_then_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_error(monkeypatch, "PAPER_SLIPPAGE_BPS", "abc") == "PAPER_SLIPPAGE_BPS='abc' is not a number"


def test_load_when_slippage_negative_then_gives_range(monkeypatch: pytest.MonkeyPatch) -> None:
    message = load_error(monkeypatch, "PAPER_SLIPPAGE_BPS", "-1")
    assert message == "PAPER_SLIPPAGE_BPS='-1' must be between 0 and 1000"


def test_load_when_max_batch_zero_then_must_be_at_least_one(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        load_error(monkeypatch, "BRIDGE_MAX_BATCH", "0")
        == "BRIDGE_MAX_BATCH='0' must be a finite number of at least 1"
    )


def test_load_when_debug_not_boolean_then_hint_given(monkeypatch: pytest.MonkeyPatch) -> None:
    message = load_error(monkeypatch, "DJANGO_DEBUG", "maybe")
    assert message == "DJANGO_DEBUG='maybe' is not a boolean (use true or false)"


def test_load_when_log_format_unknown_then_choices_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_error(monkeypatch, "LOG_FORMAT", "xml") == "LOG_FORMAT='xml' must be one of console, json"


def test_config_error_when_raised_from_bad_broker_then_chained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIVE_BROKERS", "kite")
    with pytest.raises(ConfigError) as info:
        config.load()
    assert isinstance(info.value.__cause__, ValueError)


def test_load_when_url_has_unbalanced_bracket_then_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "DATABASE_URL" in load_error(monkeypatch, "DATABASE_URL", "postgres://[::1/db")


def test_load_when_bootstrap_port_is_non_ascii_digit_then_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert "KAFKA_BOOTSTRAP" in load_error(monkeypatch, "KAFKA_BOOTSTRAP", "h:²")


def test_load_when_timeout_is_nan_then_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "BRIDGE_BATCH_TIMEOUT_S" in load_error(monkeypatch, "BRIDGE_BATCH_TIMEOUT_S", "nan")


def test_load_when_redis_unix_socket_url_then_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "unix:///tmp/redis.sock?db=0")
    assert config.load().redis_url == "unix:///tmp/redis.sock?db=0"


def test_load_when_square_off_time_set_or_off_then_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import time

    assert config.load().paper_mis_square_off == time(15, 20)
    monkeypatch.setenv("PAPER_MIS_SQUARE_OFF", "off")
    assert config.load().paper_mis_square_off is None
    assert "PAPER_MIS_SQUARE_OFF" in load_error(monkeypatch, "PAPER_MIS_SQUARE_OFF", "25:99")
