"""Logging in to the sandbox as a browser would: its login page redirects with a request token."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests


def request_token_via_redirect(login_url: str) -> str:
    answer = requests.get(login_url, allow_redirects=False, timeout=5)
    if answer.status_code != 302:
        raise RuntimeError(f"the Kite login page answered {answer.status_code}, not a redirect")
    return parse_qs(urlsplit(answer.headers["Location"]).query)["request_token"][0]
