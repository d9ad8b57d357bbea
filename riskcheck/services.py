"""The validate step: decide once per signal, record the decision, publish it."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from alphapanda import bulk, envelope, events, topics
from alphapanda.audit import control_record
from alphapanda.batches import Outgoing
from portfolio import read_model
from riskcheck import rules, selectors
from riskcheck.models import RiskLimits, SignalDecision, TradingDay
from trading.checks import signal_check


def _outputs(broker: str, message: envelope.Message, decision: SignalDecision) -> list[Outgoing]:
    signal: events.Signal = message.payload
    key = topics.order_key(signal.strategy, signal.instrument_token)
    if decision.outcome == SignalDecision.VALIDATED:
        env = envelope.follow(
            message.envelope,
            type=envelope.SIGNAL_VALIDATED,
            payload=signal,
            purpose="validated",
            broker=broker,
        )
        return [Outgoing(topics.broker_topic(broker, topics.SIGNALS_VALIDATED), key, env)]
    rejection = events.SignalRejection(signal=signal, rule=decision.rule, reason=decision.reason)
    env = envelope.follow(
        message.envelope, type=envelope.SIGNAL_REJECTED, payload=rejection, purpose="rejected", broker=broker
    )
    return [Outgoing(topics.broker_topic(broker, topics.SIGNALS_REJECTED), key, env)]


def signal_validate(*, broker: str, message: envelope.Message, now: datetime) -> list[Outgoing]:
    """Validate one raw signal (see `signals_validate`); an unknown instrument is bad input."""
    signal_check(message)
    return signals_validate(broker=broker, messages=[message], now=now)


def signals_validate(*, broker: str, messages: list[envelope.Message], now: datetime) -> list[Outgoing]:
    """Decide each raw signal once, against the broker's limits read once for the batch; record the
    decisions in one insert; a redelivery re-emits the recorded decision."""
    unique = list({m.id: m for m in messages}.values())
    ids = [m.id for m in unique]
    decided = {d.signal_id: d for d in SignalDecision.objects.filter(broker=broker, signal_id__in=ids)}
    fresh = [m for m in unique if m.id not in decided]
    if fresh:
        limits = selectors.limits_get(broker=broker)
        keys = {(m.payload.strategy, m.payload.instrument_token) for m in fresh}
        context = selectors.ExposureContext(broker=broker, now=now, keys=keys)
        rows = []
        for message in fresh:
            signal: events.Signal = message.payload
            exposure = context.exposure(strategy=signal.strategy, instrument_token=signal.instrument_token,
                                        product=signal.product.value, market_ts=signal.ts)  # fmt: skip
            rejection = rules.evaluate(signal, limits=limits, exposure=exposure)
            context.trades_today += rejection is None
            rows.append(bulk.new_row(
                SignalDecision,
                broker=broker,
                signal_id=message.id,
                correlation_id=message.envelope.correlation_id,
                strategy=signal.strategy,
                instrument_token=signal.instrument_token,
                side=signal.side.value,
                quantity=signal.quantity,
                outcome=SignalDecision.REJECTED if rejection else SignalDecision.VALIDATED,
                rule=rejection.rule.value if rejection else "",
                reason=rejection.reason if rejection else "",
                decided_at=now,
            ))  # fmt: skip
        recorded = _decisions_record(rows, day_id=context.day_id)
        made = [r for r in rows if r.signal_id in recorded]
        decided |= {r.signal_id: r for r in made}
        if len(made) < len(rows):  # a redelivery deciding concurrently won the others: theirs stand
            won = [r.signal_id for r in rows if r.signal_id not in recorded]
            decided |= {
                d.signal_id: d for d in SignalDecision.objects.filter(broker=broker, signal_id__in=won)
            }
        read_model.activity_add(broker, signals=len(made),
                                rejections=sum(r.outcome == SignalDecision.REJECTED for r in made))  # fmt: skip
    return [out for m in unique for out in _outputs(broker, m, decided[m.id])]


def _decisions_record(rows: list[SignalDecision], *, day_id: int) -> set[str]:
    """Record the decisions and add the validated ones to the day's count, in one statement (its own
    transaction); the signal ids recorded now. A decision already recorded (a redelivery decided it
    concurrently) is left as it is and not counted again."""
    insert, params = bulk.insert_statement(rows, returning=["signal_id", "outcome"], skip_conflicts=True)
    day = connection.ops.quote_name(TradingDay._meta.db_table)
    sql = (
        f"WITH made AS ({insert}), counted AS ("
        f"UPDATE {day} AS d SET validated = d.validated + n.validated "
        f"FROM (SELECT count(*) AS validated FROM made WHERE outcome = %s) AS n "
        f"WHERE d.id = %s AND n.validated > 0) "
        f"SELECT signal_id FROM made"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, SignalDecision.VALIDATED, day_id])
        return {signal_id for (signal_id,) in cursor.fetchall()}


def risk_limits_update(*, broker: str, user, changes: dict) -> RiskLimits:
    """Change a broker's limits, audited; the risk step picks them up within seconds."""
    with transaction.atomic():
        limits, _ = RiskLimits.objects.select_for_update().get_or_create(broker=broker)
        for field, value in changes.items():
            setattr(limits, field, value)
        limits.save()
        detail = ", ".join(f"{field}={value}" for field, value in sorted(changes.items()))
        control_record(user=user, broker=broker, action="risk_limits_update", detail=detail)
    selectors.clear_caches()
    return limits
