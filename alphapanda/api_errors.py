"""One place turns errors into API responses (as the HackSoft styleguide does)."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from alphapanda.errors import AlphaPandaError


def exception_handler(exc, context):
    """DRF's own handling (field errors as {"field": ["..."]}), plus our errors as 400 with a message."""
    if isinstance(exc, AlphaPandaError):
        return Response({"detail": exc.message, "extra": exc.extra}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
