"""Starting KiteTicker connections in a long-running process.

Twisted's reactor runs once per process (KITE.md §7): the first connection starts it on a thread,
later ones are connected from inside it; connections are closed, never stopped.
"""

from __future__ import annotations

from django.conf import settings
from kiteconnect import KiteTicker
from twisted.internet import reactor

RECONNECT_MAX_DELAY = 5  # seconds; the client's floor


def ticker(access_token: str) -> KiteTicker:
    kite = settings.CONFIG.kite
    return KiteTicker(
        kite.api_key, access_token, root=kite.ws_root, reconnect=True, reconnect_max_tries=300,
        reconnect_max_delay=RECONNECT_MAX_DELAY,
    )  # fmt: skip


def start(kws: KiteTicker) -> None:
    if reactor.running:
        reactor.callFromThread(kws.connect, threaded=True)
    else:
        kws.connect(threaded=True)


def call(fn, *args) -> None:
    """Run `fn` on the reactor thread (subscribe, set_mode, close)."""
    reactor.callFromThread(fn, *args)
