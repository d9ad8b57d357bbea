"""Kite's callbacks: the login redirect and order postbacks. Thin shells over the Kite services."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from kiteconnect import exceptions

from trading.kite import session as kite_session
from trading.kite.postbacks import postback_valid
from trading.kite.publish import order_update_receive

log = logging.getLogger("trading.kite")


@csrf_exempt
@require_POST
def kite_postback(request: HttpRequest) -> JsonResponse:
    """Kite POSTs raw JSON here on every order update; a bad checksum is a forgery and is refused."""
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"status": "error", "message": "body is not JSON"}, status=400)
    if not isinstance(data, dict) or not data.get("order_id"):
        return JsonResponse({"status": "error", "message": "not a Kite order update"}, status=400)
    if not postback_valid(data, api_secret=settings.CONFIG.kite.api_secret):
        log.warning("forged postback rejected: bad checksum for order %s from %s",
                    data.get("order_id"), request.META.get("REMOTE_ADDR"))  # fmt: skip
        return JsonResponse({"status": "error", "message": "checksum mismatch"}, status=403)
    events = order_update_receive(data=data, source="postback")
    return JsonResponse({"status": "success", "events": events})


@require_GET
def kite_login_redirect(request: HttpRequest) -> HttpResponse:
    """Kite's redirect URL after login: exchange the request token for a session."""
    token = request.GET.get("request_token", "")
    if request.GET.get("status") != "success" or not token:
        return HttpResponse("Kite login did not succeed; try again.", status=400, content_type="text/plain")
    try:
        session = kite_session.session_create(request_token=token)
    except exceptions.KiteException as exc:
        log.warning("kite login failed: %s", exc)
        return HttpResponse(f"Kite refused the login: {exc}", status=400, content_type="text/plain")
    return HttpResponse(
        f"Logged in to Kite as {session.user_id}. Zerodha trading resumes.", content_type="text/plain"
    )
