from django.conf import settings
from django.core.management.base import BaseCommand

from alphapanda import lifecycle
from trading.kite_sandbox.server import (
    DEFAULT_REDIRECT_URL,
    SANDBOX_API_KEY,
    SANDBOX_API_SECRET,
    KiteSandbox,
)


class Command(BaseCommand):
    help = (
        "Run the Kite sandbox, a simulated Zerodha (Kite Connect REST and ticker websocket) on one local "
        "port: no real orders. The API secret is KITE_API_SECRET, else the sandbox-only "
        f"{SANDBOX_API_SECRET!r}."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=0, help="0: any free port")
        parser.add_argument("--api-key", default="", help=f"default: KITE_API_KEY, else {SANDBOX_API_KEY!r}")
        parser.add_argument("--postback-url", default=None, help="where order updates are POSTed")
        parser.add_argument(
            "--redirect-url", default=DEFAULT_REDIRECT_URL, help="where /connect/login sends the user back"
        )

    def handle(
        self, *args, port: int, api_key: str, postback_url: str | None, redirect_url: str, **opts
    ) -> None:
        kite = settings.CONFIG.kite
        stop = lifecycle.stop_on_signals()
        sandbox = KiteSandbox(
            api_key=api_key or kite.api_key or SANDBOX_API_KEY,
            api_secret=kite.api_secret or SANDBOX_API_SECRET,
            port=port,
            postback_url=postback_url,
            redirect_url=redirect_url,
        )
        sandbox.start()
        try:
            self.stdout.write(
                f"Kite sandbox (simulated Zerodha, no real orders) on {sandbox.url} {sandbox.ws_url}"
            )
            self.stdout.flush()
            stop.wait()
        finally:
            sandbox.stop()
