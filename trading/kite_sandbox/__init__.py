"""A local Kite Connect (simulated Zerodha): REST and the ticker websocket on one port, no real orders.

Used by the tests and by `make run` so the zerodha broker can be seen working without an account.
`server.KiteSandbox` runs it (`manage.py run_kite_sandbox` from a shell); `orders` is the exchange
(market, matching, order lifecycle), `ticks` the binary tick encoder, `checksum` Kite's two checksums.
The control endpoints under `/_sandbox/` are documented in `server`.
"""


def __getattr__(name: str) -> object:
    """`from trading.kite_sandbox import KiteSandbox`, imported lazily so the pure modules need no aiohttp."""
    if name == "KiteSandbox":
        from trading.kite_sandbox.server import KiteSandbox

        return KiteSandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
