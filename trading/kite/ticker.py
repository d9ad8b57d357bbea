"""Starting KiteTicker connections in a long-running process.

Twisted's reactor runs once per process (KITE.md §7): the first connection starts it on a thread,
later ones are connected from inside it; connections are closed, never stopped.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable

from django.conf import settings
from kiteconnect import KiteTicker
from twisted.internet import reactor

log = logging.getLogger("trading.feed")

RECONNECT_MAX_DELAY = 5  # seconds; the client's floor


def ticker(access_token: str) -> KiteTicker:
    kite = settings.CONFIG.kite
    kws = KiteTicker(
        kite.api_key, access_token, root=kite.ws_root, reconnect=True, reconnect_max_tries=300,
        reconnect_max_delay=RECONNECT_MAX_DELAY,
    )  # fmt: skip
    kws._parse_binary = guarded_parser(kws._parse_binary)
    return kws


def guarded_parser(parse: Callable[[bytes], list[dict]]) -> Callable[[bytes], list[dict]]:
    """The client's frame parser raises struct.error on a truncated frame, inside the reactor, which
    drops the connection: drop the frame instead, and say why."""

    def parse_or_drop(data: bytes) -> list[dict]:
        try:
            return parse(data)
        except struct.error as exc:
            log.warning("malformed tick frame of %d bytes dropped: %s", len(data), exc)
            return []

    return parse_or_drop


def start(kws: KiteTicker) -> None:
    if reactor.running:
        reactor.callFromThread(kws.connect, threaded=True)
    else:
        kws.connect(threaded=True)


def call(fn, *args) -> None:
    """Run `fn` on the reactor thread (subscribe, set_mode, close)."""
    reactor.callFromThread(fn, *args)
