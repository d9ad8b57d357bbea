"""The bench counts the CPU of services it did not start, and memory growth over the soak only."""

from __future__ import annotations

import os
import socket

from bench.memory import ProcessSampler
from bench.stack import _listener


def test_a_loopback_url_names_the_process_listening_on_its_port() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert _listener(f"redis://127.0.0.1:{port}/14") == os.getpid()
        assert _listener(f"127.0.0.1:{port}/alphapanda") == os.getpid()


def test_a_remote_or_portless_url_names_none() -> None:
    assert _listener("postgres://db.internal:5432/alphapanda") is None
    assert _listener("redis://127.0.0.1/0") is None


def test_soak_growth_counts_only_the_samples_inside_the_window() -> None:
    sampler = ProcessSampler(dict)
    sampler.started = 1000.0
    sampler.series = {
        "worker": [(0.0, 16.0, 0.1), (10.0, 140.0, 2.0), (50.0, 141.5, 9.0), (90.0, 150.0, 15.0)],
        "feed": [(0.0, 17.0, 0.1), (80.0, 120.0, 3.0)],  # one sample inside: no figure
    }
    assert sampler.growth(int(1005e9), int(1060e9)) == {"worker": 1.5}


def test_soak_growth_of_a_process_born_in_the_window_counts_from_after_its_start_up() -> None:
    """The soak's own feed starts inside the window: its imports are not growth."""
    sampler = ProcessSampler(dict)
    sampler.started = 1000.0
    sampler.series = {"feed": [(0.0, 90.0, 1.0), (20.0, 30.0, 1.1), (25.0, 110.0, 2.0), (35.0, 124.0, 3.0),
                               (60.0, 125.0, 5.0)]}  # fmt: skip
    sampler.births = {"feed": [0.0, 20.0]}
    assert sampler.growth(int(1015e9), int(1060e9)) == {"feed": 1.0}


def test_sampling_notes_each_new_process_under_a_name() -> None:
    current = {"feed": os.getpid()}
    sampler = ProcessSampler(lambda: current)
    sampler.sample()
    sampler.sample()
    current["feed"] = os.getppid()
    sampler.sample()
    assert len(sampler.births["feed"]) == 2 and len(sampler.series["feed"]) == 3
