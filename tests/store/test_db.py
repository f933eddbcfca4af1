"""The embedded store: shared between processes, migrations, refusing a newer schema."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sandbox import Sandbox
from sandbox.errors import StoreError
from sandbox.store.db import Database
from tests.conftest import HANDLER_SOURCE


def _run(code: str, home: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), str(home)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_a_store_written_by_one_process_is_read_by_another(tmp_path: Path) -> None:
    _run(
        """
        import sys
        from sandbox import Sandbox
        with Sandbox(sys.argv[1]) as sb:
            source = "def lambda_handler(e, c):\\n    return 1\\n"
            sb.create_function("shared", source, publish=True)
            sb.create_alias("shared", "live", "1")
        """,
        tmp_path,
    )
    with Sandbox(tmp_path) as sb:
        assert sb.get_alias("shared", "live").function_version == "1"
        sb.update_function_configuration("shared", timeout=7)
        sb.publish_version("shared")
        out = _run(
            """
            import sys
            from sandbox import Sandbox
            with Sandbox(sys.argv[1]) as sb:
                print(sb.get_function_configuration("shared", "2").timeout)
            """,
            tmp_path,
        )
        assert out == "7"  # read while the first process still holds the store open


def test_wal_mode(tmp_path: Path) -> None:
    db = Database(tmp_path / "lambda.db")
    assert db.query("PRAGMA journal_mode") == [("wal",)]
    db.close()
    db.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lambda.db"
    Database(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=999")
    conn.close()
    with pytest.raises(StoreError, match="written by a newer lambda-sandbox"):
        Database(path)


def test_environment_variable_chooses_the_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMBDA_SANDBOX_HOME", str(tmp_path / "home"))
    with Sandbox() as sb:
        sb.create_function("fn", HANDLER_SOURCE)
        assert sb.home == tmp_path / "home"
    assert (tmp_path / "home" / "lambda.db").exists()
