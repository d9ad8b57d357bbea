"""Read a broker's logs, ledger and read model, and say whether they agree (see `delivery`).

Reads only: the faults tests, `make chaos` and `manage.py check_delivery` all ask it the same
question once the pipeline is quiet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from alphapanda import dlq, envelope, topics
from alphapanda.delivery import Effect, LogEntry, StageReport, stage_report, tally
from alphapanda.log_reader import read_records
from portfolio import read_model
from portfolio.log_audit import PortfolioAudit, audit
from portfolio.models import Account, AppliedFill
from portfolio.models import Position as PositionRow
from portfolio.positions import Position
from portfolio.services import starting_cash_for
from riskcheck.models import SignalDecision
from trading.models import Order


@dataclass(frozen=True)
class DeliveryReport:
    broker: str
    stages: tuple[StageReport, ...]
    portfolio: PortfolioAudit
    dead_letter_reasons: dict[str, int]  # reason (first line, ids stripped) -> count, over the broker's DLQs

    @property
    def ok(self) -> bool:
        return self.portfolio.ok and all(s.ok for s in self.stages)

    def total(self, field: str) -> int:
        return sum(tally(getattr(s, field)) for s in self.stages)


def _key(strategy: str, token: int) -> str:
    return topics.order_key(strategy, token).decode()


def _effects(model, id_field: str) -> Callable[[str], list[Effect]]:
    """A stage's effect rows in the order they were made (primary-key order)."""

    def read(broker: str) -> list[Effect]:
        rows = model.objects.filter(broker=broker).order_by("pk")
        return [
            Effect(i, _key(s, t)) for i, s, t in rows.values_list(id_field, "strategy", "instrument_token")
        ]

    return read


# stage -> (input stream, the id its effect is recorded under, the effects in the order they were made)
_STAGES: dict[str, tuple[str, Callable[[envelope.Message], str], Callable[[str], list[Effect]]]] = {
    "riskcheck": (topics.SIGNALS_RAW, lambda m: m.id, _effects(SignalDecision, "signal_id")),
    "trading": (topics.SIGNALS_VALIDATED, lambda m: m.id, _effects(Order, "signal_id")),
    "portfolio": (topics.ORDERS_FILLED, lambda m: m.payload.fill_id, _effects(AppliedFill, "fill_id")),
}


def _reason(error: str) -> str:
    """Group dead letters by what went wrong, not by the values in the message."""
    head = error.splitlines()[0] if error else "(no reason)"
    return head.split(" - at `", 1)[0][:120]


def delivery_report(*, broker: str) -> DeliveryReport:
    stages, reasons, filled = [], {}, []
    for stage, (stream, effect_id, effects_of) in _STAGES.items():
        topic = topics.broker_topic(broker, stream)
        log = []
        for record in read_records(topic):
            try:
                message = envelope.decode(topic, record.value)
            except envelope.InvalidMessage:
                log.append(LogEntry(record.partition, record.offset, None, None))
                continue
            payload = message.payload
            log.append(
                LogEntry(
                    record.partition,
                    record.offset,
                    effect_id(message),
                    _key(payload.strategy, payload.instrument_token),
                )
            )
            if stage == "portfolio":
                filled.append(payload)
        dead = set()
        for record in read_records(topics.dlq_topic(topic)):
            letter = dlq.decode_dead_letter(record.value)
            if (letter.partition, letter.offset) in dead:
                continue  # dead-lettered again when its batch was redelivered: one message, one reason
            dead.add((letter.partition, letter.offset))
            reason = f"{letter.stage}: {_reason(letter.error)}"
            reasons[reason] = reasons.get(reason, 0) + 1
        stages.append(stage_report(stage=stage, topic=topic, log=log, effects=effects_of(broker), dead=dead))
    return DeliveryReport(broker, tuple(stages), _portfolio_audit(broker, filled), reasons)


def _portfolio_audit(broker: str, fills: list) -> PortfolioAudit:
    fields = tuple(Position.__dataclass_fields__)
    ledger = {
        (row.strategy, row.instrument_token): Position(**{f: getattr(row, f) for f in fields})
        for row in PositionRow.objects.filter(broker=broker)
    }
    account = Account.objects.filter(broker=broker).first()
    starting = account.starting_cash if account else starting_cash_for(broker)
    snap = read_model.snapshot(broker)
    return audit(
        fills,
        starting_cash=starting,
        ledger=ledger,
        ledger_cash=account.cash if account else starting,
        read_model=snap["positions"],
        read_model_cash=snap["summary"].cash if read_model.has_account(broker) else starting,
    )
