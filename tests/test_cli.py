"""The ``lambda-sandbox`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sandbox.cli import main


def test_demo_runs_and_is_repeatable(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--home", str(tmp_path), "demo"]) == 0
    first = capsys.readouterr().out
    assert "published version 1" in first
    assert "Unable to delete version because the following aliases reference it: [live]" in first
    assert (
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:demo-hello:$latest"
        in first
    )
    assert main(["--home", str(tmp_path), "demo"]) == 0  # on the same store, again
    assert capsys.readouterr().out.count("published version 1") == 1


def test_console_script_entry_point(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "--home", str(tmp_path), "demo", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "1,000 routing draws" in result.stdout
