"""The short `make chaos`: a minute of seeded random faults on real processes, then the log check."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.integration


def _figure(output: str, label: str) -> int:
    match = re.search(rf"^  {label}\s+(\d+)", output, re.MULTILINE)
    assert match, f"no '{label}' line in:\n{output[-3000:]}"
    return int(match.group(1))


def test_a_minute_of_chaos_loses_doubles_and_reorders_nothing(tmp_path) -> None:
    env = dict(os.environ, LOG_LEVEL="info")
    run = subprocess.run(
        [sys.executable, "-m", "alphapanda.chaos", "--minutes", "1", "--seed", "7", "--gap", "3", "6",
         "--run-dir", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    output = run.stdout + run.stderr[-3000:]
    assert run.returncode == 0, output
    assert _figure(output, "lost") == 0
    assert _figure(output, "duplicated") == 0
    assert _figure(output, "out of order") == 0
    assert _figure(output, "faults") >= 5, "a fault every 3-6 s (plus freezes of up to 20 s) for a minute"
    assert _figure(output, "DLQ'd") >= 1, "the injector's hostile messages were dead-lettered"
    assert re.search(r"matches the fills log \(([1-9]\d*) fills\)", output), output
    assert "verdict     OK" in output
