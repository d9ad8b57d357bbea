"""Kite's postback checksum: sha256(order_id + order_timestamp + api_secret), hex (KITE.md §3)."""

from __future__ import annotations

import hashlib
import hmac


def postback_checksum(*, order_id: str, order_timestamp: str, api_secret: str) -> str:
    return hashlib.sha256(f"{order_id}{order_timestamp}{api_secret}".encode()).hexdigest()


def postback_valid(data: dict, *, api_secret: str) -> bool:
    """Constant-time comparison, so a forger learns nothing from the timing."""
    given = str(data.get("checksum") or "")
    expected = postback_checksum(
        order_id=str(data.get("order_id") or ""),
        order_timestamp=str(data.get("order_timestamp") or ""),
        api_secret=api_secret,
    )
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())  # str needs ASCII
