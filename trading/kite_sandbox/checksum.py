"""Kite's two SHA-256 checksums, so the sandbox signs and verifies exactly as Kite does (KITE.md §2, §3)."""

from __future__ import annotations

import hashlib


def _sha256(*parts: str) -> str:
    return hashlib.sha256("".join(parts).encode()).hexdigest()


def session_checksum(api_key: str, request_token: str, api_secret: str) -> str:
    """What `KiteConnect.generate_session` sends with the request token: proves it knows the secret."""
    return _sha256(api_key, request_token, api_secret)


def postback_checksum(order_id: str, order_timestamp: str, api_secret: str) -> str:
    """What a postback carries: the receiver recomputes it to know the update came from the broker."""
    return _sha256(order_id, order_timestamp, api_secret)
