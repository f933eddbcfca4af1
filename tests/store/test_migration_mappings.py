"""Migration 12 on a store written by the release before it: mappings and their stream
checkpoints survive the rebuild, and a mapping no longer goes with its function."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sandbox.store import db as store_db
from sandbox.store.db import Database


def _old_store(path: Path) -> None:
    """A store at schema 11 (the release before migration 12), with one mapping of
    ``worker`` and a checkpoint of one of its shards."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("BEGIN")
    for script in store_db._MIGRATIONS[:11]:
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute("PRAGMA user_version=11")
    conn.execute(
        "INSERT INTO functions (account, region, name, config, created) "
        "VALUES ('123456789012', 'us-east-1', 'worker', '{}', 0)"
    )
    conn.execute(
        "INSERT INTO event_source_mappings VALUES "
        "('u-1', '123456789012', 'us-east-1', 'worker', 'arn:source', '{}', 0)"
    )
    conn.execute("INSERT INTO esm_checkpoints VALUES ('u-1', 'shardId-000000000000', '42', NULL)")
    conn.execute("COMMIT")
    conn.close()


def test_mappings_and_checkpoints_survive_and_outlive_their_function(tmp_path: Path) -> None:
    path = tmp_path / "lambda.db"
    _old_store(path)
    database = Database(path)  # migrates 11 -> 12
    try:
        assert database.query("PRAGMA user_version") == [(len(store_db._MIGRATIONS),)]
        assert database.query("SELECT uuid, function_name FROM event_source_mappings") == [
            ("u-1", "worker")
        ]
        assert database.query("SELECT sequence_number FROM esm_checkpoints") == [("42",)]
        with database.transaction() as conn:
            conn.execute("DELETE FROM functions WHERE name='worker'")
        assert database.query("SELECT uuid FROM event_source_mappings") == [("u-1",)]
        with database.transaction() as conn:  # a mapping's checkpoints still go with it
            conn.execute("DELETE FROM event_source_mappings WHERE uuid='u-1'")
        assert database.query("SELECT * FROM esm_checkpoints") == []
        assert database.query("PRAGMA foreign_key_check") == []
    finally:
        database.close()
