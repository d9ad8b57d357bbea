"""A structlog processor that masks credentials in a log line before it is written.

Secrets are kept out of logs at the source (settings hide them from reprs; Kite tokens are never
formatted into a message); this is the second line: a URL's password, and a value written after a
credential's name (`access_token=...`, `api_secret: ...`, `Authorization: token key:...`), become `***`.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+(?=@)", re.IGNORECASE)
_NAMED = re.compile(
    r"(?P<head>\b(?:access_token|refresh_token|request_token|api_secret|secret_key|password|passwd"
    r"|authorization|checksum)\b[\"']?\s*[=:]\s*[\"']?(?:token\s+|bearer\s+)?)[^\s\"',;&}]+",
    re.IGNORECASE,
)
_KEYS = frozenset({"access_token", "refresh_token", "request_token", "api_secret", "secret_key", "password"})


def redact_text(text: str) -> str:
    """`text` with every credential masked; unchanged (the same object) when there is none."""
    if "://" not in text and not _NAMED.search(text):
        return text
    text = _URL_PASSWORD.sub(rf"\g<head>{MASK}", text)
    return _NAMED.sub(rf"\g<head>{MASK}", text)


def redact_secrets(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: mask the message and any bound value named like a credential."""
    event = event_dict.get("event")
    if isinstance(event, str):
        event_dict["event"] = redact_text(event)
    for key in _KEYS.intersection(event_dict):
        event_dict[key] = MASK
    return event_dict
