"""The ``lambda-sandbox`` command (the demo's content: tests/test_demo.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.process
@pytest.mark.timeout(120)
def test_console_script_runs_the_demo_on_an_ephemeral_store(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LAMBDA_SANDBOX_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "demo", "--ephemeral"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "7. Trigger: " in result.stdout
    # the store is thrown away at exit, so the pictures go to the working directory
    assert (tmp_path / "demo-timeline.png").is_file()
    assert (tmp_path / "demo-concurrency.png").is_file()
    assert not (tmp_path / "home").exists()
