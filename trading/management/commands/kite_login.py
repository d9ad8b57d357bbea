import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from kiteconnect import exceptions

from trading.kite import session as kite_session


class Command(BaseCommand):
    help = "Log in to Kite Connect: open the printed URL, then give the request_token from the redirect."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--request-token", help="the request_token (else it is read from standard input)")

    def handle(self, *args, request_token: str | None, **options) -> None:
        if not settings.CONFIG.kite.api_key:
            raise CommandError("KITE_API_KEY and KITE_API_SECRET must be set in the environment")
        if not request_token:
            self.stdout.write(f"Open this URL and log in:\n  {kite_session.login_url()}")
            self.stdout.write("Then paste the request_token from the redirect URL: ", ending="")
            self.stdout.flush()
            request_token = sys.stdin.readline().strip()
        if not request_token:
            raise CommandError("no request_token given")
        try:
            session = kite_session.session_create(request_token=request_token)
        except exceptions.KiteException as exc:
            raise CommandError(f"Kite refused the login: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"logged in as {session.user_id}; the session is stored (valid until 06:00 IST, "
                f"{session.expires_at:%Y-%m-%d %H:%M %Z})"
            )
        )
