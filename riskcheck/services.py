"""The validate step: decide once per signal, record the decision, publish it."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from alphapanda import envelope, events, topics
from alphapanda.audit import control_record
from alphapanda.batches import Outgoing
from alphapanda.errors import BadInput
from portfolio import read_model
from riskcheck import rules, selectors
from riskcheck.models import RiskLimits, SignalDecision
from trading.selectors import instrument_get


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
    """Validate one raw signal against the broker's limits; a redelivery re-emits the recorded decision."""
    decision = SignalDecision.objects.filter(broker=broker, signal_id=message.id).first()
    if decision is None:
        signal: events.Signal = message.payload
        if instrument_get(signal.instrument_token) is None:
            raise BadInput(f"unknown instrument token {signal.instrument_token}")
        rejection = rules.evaluate(
            signal,
            limits=selectors.limits_get(broker=broker),
            exposure=selectors.exposure_get(
                broker=broker,
                strategy=signal.strategy,
                instrument_token=signal.instrument_token,
                now=now,
                product=signal.product.value,
                market_ts=signal.ts,
            ),
        )
        try:
            with transaction.atomic():
                decision = SignalDecision.objects.create(
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
                )
        except IntegrityError:  # decided concurrently by a redelivery
            decision = SignalDecision.objects.get(broker=broker, signal_id=message.id)
    return _outputs(broker, message, decision)


def activity_refresh(*, broker: str) -> None:
    """The read model's signal and rejection counts, from the ledger: once per batch."""
    decisions = SignalDecision.objects.filter(broker=broker)
    read_model.activity_set(
        broker,
        signals=decisions.count(),
        rejections=decisions.filter(outcome=SignalDecision.REJECTED).count(),
    )


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
