"""The broker registry: which brokers exist and how a deployment names the ones it runs."""

from __future__ import annotations

KNOWN_BROKERS: tuple[str, ...] = ("paper", "zerodha")


class UnknownBrokerError(ValueError):
    """A broker name that is not in the registry."""


def parse_active_brokers(raw: str) -> tuple[str, ...]:
    """Parse `ACTIVE_BROKERS` ("paper,zerodha") into a de-duplicated, ordered tuple.

    Refuses unknown and empty names so a typo never starts a half-configured deployment.
    """
    names: list[str] = []
    for part in raw.split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name not in KNOWN_BROKERS:
            raise UnknownBrokerError(
                f"unknown broker {name!r} in ACTIVE_BROKERS (known: {', '.join(KNOWN_BROKERS)})"
            )
        if name not in names:
            names.append(name)
    if not names:
        raise UnknownBrokerError("ACTIVE_BROKERS names no broker (known: paper, zerodha)")
    return tuple(names)
