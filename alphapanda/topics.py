"""The one owner of topic names, partition counts and partition keys.

Keys keep together what must stay in order: ticks by instrument token; signals and orders by
(strategy, instrument), so one strategy's fills on one instrument live on one partition.
"""

from __future__ import annotations

from dataclasses import dataclass

MARKET_TICKS = "market.ticks"
DLQ_SUFFIX = ".dlq"

SIGNALS_RAW = "signals.raw"
SIGNALS_VALIDATED = "signals.validated"
SIGNALS_REJECTED = "signals.rejected"
ORDERS_PLACED = "orders.placed"
ORDERS_FILLED = "orders.filled"
ORDERS_FAILED = "orders.failed"

BROKER_STREAMS: tuple[str, ...] = (
    SIGNALS_RAW,
    SIGNALS_VALIDATED,
    SIGNALS_REJECTED,
    ORDERS_PLACED,
    ORDERS_FILLED,
    ORDERS_FAILED,
)
# The streams the bridge hands to a Celery task; the others are lifecycle records for readers.
BRIDGED_STREAMS: tuple[str, ...] = (SIGNALS_RAW, SIGNALS_VALIDATED, ORDERS_FILLED)

PARTITIONS = 4


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int


def broker_topic(broker: str, stream: str) -> str:
    return f"{broker}.{stream}"


def dlq_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


def broker_of(topic: str) -> str | None:
    """The broker a topic belongs to, read from its name; `None` for shared market data."""
    head, _, rest = topic.partition(".")
    if topic.startswith(MARKET_TICKS) or not rest:
        return None
    return head


def stream_of(topic: str) -> str:
    """`paper.signals.raw` -> `signals.raw`; `market.ticks` -> `market.ticks`."""
    if broker_of(topic) is None:
        return topic.removesuffix(DLQ_SUFFIX)
    return topic.partition(".")[2].removesuffix(DLQ_SUFFIX)


def bridged_topics(brokers: tuple[str, ...]) -> list[str]:
    """What the bridge consumes: market ticks (for marks and resting orders) and each broker's work."""
    return [MARKET_TICKS] + [broker_topic(b, s) for b in brokers for s in BRIDGED_STREAMS]


def all_topics(brokers: tuple[str, ...]) -> list[TopicSpec]:
    """Every topic the active brokers use, with its DLQ; nothing for a broker that is not active."""
    names = [MARKET_TICKS] + [broker_topic(b, s) for b in brokers for s in BROKER_STREAMS]
    return [TopicSpec(n, PARTITIONS) for name in names for n in (name, dlq_topic(name))]


def tick_key(instrument_token: int) -> bytes:
    return str(instrument_token).encode()


def order_key(strategy: str, instrument_token: int) -> bytes:
    return f"{strategy}:{instrument_token}".encode()
