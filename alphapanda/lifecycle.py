"""Clean shutdown for long-running commands: SIGTERM and SIGINT set an event the loop watches."""

from __future__ import annotations

import signal
import subprocess
import threading
import time


def stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def terminate(proc: subprocess.Popen, grace: float = 10.0) -> float:
    """SIGTERM, then SIGKILL after `grace` s; returns how long it took to exit (inf if it was killed)."""
    started = time.monotonic()
    if proc.poll() is not None:
        return 0.0
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return float("inf")
    return time.monotonic() - started
