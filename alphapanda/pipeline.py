"""`make run`: the whole pipeline on this machine, with a live per-broker table.

Starts the embedded infrastructure where none is configured (Tansu, redis-server, PostgreSQL),
migrates, creates topics, seeds the demo, then runs feed, strategies, bridge and one Celery worker
per broker queue as separate processes until Ctrl-C or --duration, and stops all it started.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from alphapanda import children as children_
from alphapanda import infra
from alphapanda.children import Child, manage, pool_label, stop_all, worker

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"
LOCAL_REDIS_DB = 1  # make run's own database when it borrows the machine's redis on :6379


def _start(name: str, argv: list[str], env: dict[str, str]) -> Child:
    return children_.start(name, argv, env, RUN_DIR / "logs")


def _with_metrics_port(env: dict[str, str], name: str, ports: dict[str, int]) -> dict[str, str]:
    """A child's environment with its own free METRICS_PORT, so no two children collide."""
    ports[name] = infra.free_port()
    return {**env, "METRICS_PORT": str(ports[name])}


def _infrastructure(out) -> tuple[list[infra.Service], dict[str, str]]:
    RUN_DIR.mkdir(exist_ok=True)
    services = []
    kafka = infra.ensure_kafka(RUN_DIR, os.environ.get("KAFKA_BOOTSTRAP"))
    services.append(kafka)
    configured_redis = os.environ.get("REDIS_URL")
    redis_service = infra.ensure_redis(RUN_DIR, configured_redis)
    if not configured_redis and not redis_service.started:
        redis_service.url = redis_service.url.rsplit("/", 1)[0] + f"/{LOCAL_REDIS_DB}"
    services.append(redis_service)
    configured_db = os.environ.get("DATABASE_URL")
    if not configured_db:
        _fresh_embedded_database()
    services.append(infra.ensure_postgres(RUN_DIR, configured_db))
    for s in services:
        origin = "started" if s.started else "configured" if os.environ.get(_ENV[s.name]) else "found"
        out.print(f"  {s.name:<9} {origin:<10} {_redact(s.url)}", markup=False, highlight=False)
    env = {_ENV[s.name]: s.url for s in services}
    return services, env


_ENV = {"kafka": "KAFKA_BOOTSTRAP", "redis": "REDIS_URL", "postgres": "DATABASE_URL"}


def _redact(url: str) -> str:
    """Never print a password that came with a URL."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url if "://" in url else f"kafka://{url}")
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts) if "://" in url else url


def _fresh_embedded_database() -> None:
    """Tansu keeps its log in memory, so an embedded run starts from a clean ledger to match it."""
    import shutil

    pgdata = RUN_DIR / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        subprocess.run(
            ["pkill", "-f", f"postgres.*{pgdata}"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
    shutil.rmtree(pgdata, ignore_errors=True)


def _wants_sandbox() -> bool:
    """zerodha active with no Kite credentials configured: run it against the local Kite sandbox."""
    brokers = [b.strip().lower() for b in os.environ.get("ACTIVE_BROKERS", "paper").split(",")]
    return "zerodha" in brokers and not os.environ.get("KITE_API_KEY")


def _start_sandbox(out, web_port: int) -> Child:
    """The simulated Zerodha, as a child process; the environment points Kite settings at it."""
    from trading.kite_sandbox.server import client_environment

    port = infra.free_port()
    os.environ.update(client_environment(port))
    root = os.environ["KITE_ROOT"]
    web = f"http://127.0.0.1:{web_port}"
    child = _start(
        "kite-sandbox",
        manage("run_kite_sandbox", "--port", str(port),
               "--postback-url", f"{web}/kite/postback", "--redirect-url", f"{web}/kite/login"),
        dict(os.environ),
    )  # fmt: skip
    infra.wait_for_port(port, "the Kite sandbox", timeout=20)
    out.print(f"  zerodha   Kite SANDBOX at {root} (simulated Zerodha: no real orders, no real money)")
    return child


def _zerodha_session(out, sandbox: bool) -> bool:
    """Log in to the sandbox as a browser would; with real Kite, say how to log in if needed."""
    from trading.kite import session as kite_session

    if sandbox:
        from trading.kite_sandbox.login import request_token_via_redirect

        session = kite_session.session_create(
            request_token=request_token_via_redirect(kite_session.login_url())
        )
        out.print(f"  zerodha   logged in to the sandbox as {session.user_id}")
        return True
    reason = kite_session.paused_reason()
    if reason:
        out.print(f"  zerodha   [yellow]paused: {reason}[/yellow]; paper runs on the simulated feed")
    return reason is None


def _after_hours_square_off_default() -> bool:
    """The simulated feed trades at the wall clock: after the paper MIS cut-off the demo would only
    show refusals, so an unconfigured evening run turns the cut-off off (and says so)."""
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    if "PAPER_MIS_SQUARE_OFF" in os.environ:
        return False
    if datetime.now(ZoneInfo("Asia/Kolkata")).time() < time(15, 20):
        return False
    os.environ["PAPER_MIS_SQUARE_OFF"] = "off"
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument("--duration", type=float, default=0, help="seconds to run (0: until Ctrl-C)")
    parser.add_argument("--rate", type=float, default=200, help="simulated ticks per second")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    from rich.console import Console

    out = Console(soft_wrap=True)
    out.print("[bold]Alpha Panda[/bold]: starting the local pipeline")
    if _after_hours_square_off_default():
        out.print("  MIS       square-off simulation off: it is past 15:20 IST, so every MIS entry would be refused "
                  "(set PAPER_MIS_SQUARE_OFF=15:20 to keep it)")  # fmt: skip
    fresh = not os.environ.get("DATABASE_URL")  # a new embedded ledger: clear the matching read model
    try:
        services, env_urls = _infrastructure(out)
    except infra.InfraError as exc:
        out.print(f"[red]infrastructure: {exc}[/red]")
        return 2
    os.environ.update(env_urls)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphapanda.settings")
    children: list[Child] = []
    try:
        web_port = infra.free_port()
        sandbox = _wants_sandbox()
        if sandbox:
            children.append(_start_sandbox(out, web_port))
        import django
        from django.conf import settings
        from django.core.management import call_command

        from alphapanda.config import ConfigError

        try:
            django.setup()
        except ConfigError as exc:
            out.print(f"[red]configuration error: {exc}[/red]")
            return 2
        brokers = settings.ACTIVE_BROKERS
        out.print(f"  brokers   {', '.join(brokers)}")
        out.print(
            f"  workers   one per broker queue, {pool_label(settings.CONFIG.worker_threads)} (WORKER_THREADS)"
        )
        call_command("migrate", verbosity=0)
        from alphapanda import db_stats

        if not db_stats.autovacuum_on():
            out.print("  postgres  [yellow]autovacuum is off on this server: lookups by event id slow down as the "
                      "ledger grows (turn it on, or run ANALYZE now and then; docs/performance.md)[/yellow]")  # fmt: skip
        call_command("create_topics", stdout=_Quiet())
        if fresh:
            from alphapanda import redis_conn

            redis_conn.brokers_clear(brokers)
        live_kite = "zerodha" in brokers and _zerodha_session(out, sandbox)
        call_command("seed_demo")
        env = dict(os.environ)
        ports: dict[str, int] = {}
        children.append(_start("web", manage("runserver", f"127.0.0.1:{web_port}", "--noreload"), env))
        for broker in brokers:
            name = f"worker-{broker}"
            children.append(_start(name, worker(broker, broker), _with_metrics_port(env, name, ports)))
        children.append(_start("bridge", manage("run_bridge"), _with_metrics_port(env, "bridge", ports)))
        if "zerodha" in brokers:
            children.append(_start("kite-orders", manage("run_kite_orders", "--poll-every", "2"),
                                   _with_metrics_port(env, "kite-orders", ports)))  # fmt: skip
        children.append(
            _start("strategies", manage("run_strategies"), _with_metrics_port(env, "strategies", ports))
        )
        feed = (
            ["--source", "kite"]
            if live_kite
            else ["--source", "sim", "--rate", str(args.rate), "--seed", str(args.seed)]
        )
        children.append(_start("feed", manage("run_feed", *feed), _with_metrics_port(env, "feed", ports)))
        out.print(
            f"  feed      {'Kite (' + ('sandbox' if sandbox else 'live') + ')' if live_kite else 'simulated'}"
        )
        from alphapanda.users import demo_user_ensure

        username, password = demo_user_ensure()
        out.print(f"  dashboard http://127.0.0.1:{web_port}/   (admin: /admin/, API: /api/v1/docs/)")
        out.print(f"  login     {username} / {password}   (a new password every run)", markup=False)
        out.print(f"  logs      {RUN_DIR / 'logs'}/<process>.log")
        metrics_ports = ", ".join(f"{name} :{port}" for name, port in ports.items())
        out.print(f"  metrics   {metrics_ports}, web :{web_port}/metrics  (Prometheus text at /metrics)")
        from alphapanda.live_table import show

        labels = {
            "paper": "paper (simulated)",
            "zerodha": "zerodha (Kite sandbox)" if sandbox else "zerodha (LIVE)",
        }
        show(out, brokers=brokers, labels=labels, children=children, duration=args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        out.print("stopping processes ...")
        stop_all(children)
        for s in reversed(services):
            s.stop()
        out.print("stopped everything this run started")
    return 0


class _Quiet:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


if __name__ == "__main__":
    sys.exit(main())
