"""Checks of each message before its batch is handled: what fails here is bad input, dead-lettered alone."""

from __future__ import annotations

from alphapanda import envelope
from alphapanda.batches import Outgoing
from alphapanda.errors import BadInput
from trading.selectors import instrument_get


def signal_check(message: envelope.Message) -> list[Outgoing]:
    """A signal for an instrument we do not know cannot be risk-checked, priced or filled."""
    token = message.payload.instrument_token
    if instrument_get(token) is None:
        raise BadInput(f"unknown instrument token {token}")
    return []
