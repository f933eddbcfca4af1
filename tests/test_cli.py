"""The ``lambda-sandbox`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.cli import main

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]


def test_demo_runs_and_is_repeatable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(tmp_path), "demo"]) == 0
    first = capsys.readouterr().out
    assert "cold: {'version': '$LATEST', 'invocations_here': 1}" in first
    assert "warm: {'version': '$LATEST', 'invocations_here': 2}" in first
    assert "Init Duration" in first
    assert "published version 1" in first
    assert "300 invocations of demo-hello:live ran: version 1:" in first
    assert first.count("  $LATEST  idle") == 8  # one environment per request in the burst
    assert "with reserved concurrency 3, a burst of 6: 3 ran, 3 throttled" in first
    assert "ReservedFunctionConcurrentInvocationLimitExceeded" in first
    assert "demo-layered imports textkit from " in first
    assert "python/textkit.py: LAYERS ARE SHARED!" in first
    assert "after delete_layer_version, demo-layered still runs (STILL RUNNING!)" in first
    assert "Unhandled: ValueError: something went wrong" in first
    assert "Task timed out after 1.00 seconds" in first
    assert "Unable to delete version because the following aliases reference it: [live]" in first
    assert (
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:demo-hello:$latest"
        in first
    )
    assert "invoke demo-broken (Event): 202" in first
    assert "record in demo-results: demo-hello Success after 1 invocation(s)" in first
    assert "record in demo-results: demo-broken RetriesExhausted after 1 invocation(s)" in first
    assert "25 messages, 3 batches of " in first
    assert all((tmp_path / f"demo-{n}.png").is_file() for n in ("timeline", "concurrency"))
    assert main(["--home", str(tmp_path), "demo"]) == 0  # on the same store, again
    again = capsys.readouterr().out
    assert again.count("published version 1") == 1
    assert again.count("record in demo-results:") == 2  # the queue was emptied first
    assert "25 messages, 3 batches of " in again


def test_console_script_entry_point(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "--home", str(tmp_path), "demo"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "ResourceConflictException: Function already exist: demo-hello" in result.stdout
