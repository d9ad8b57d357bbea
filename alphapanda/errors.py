"""The project's error types: one base with a message and extra context, as the styleguide has it."""

from __future__ import annotations

from typing import Any


class AlphaPandaError(Exception):
    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class BadInput(AlphaPandaError):
    """Input that is well-formed but cannot be processed (unknown instrument, ...): goes to the DLQ."""
