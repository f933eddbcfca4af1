"""Rows of event source mappings and their stream checkpoints (migration 10)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

__all__ = [
    "checkpoint",
    "delete_mapping",
    "get_mapping",
    "list_mappings",
    "put_checkpoint",
    "put_mapping",
]

Row = tuple[str, str, str, str]  # (uuid, account, region, config JSON)


def put_mapping(
    conn: sqlite3.Connection,
    uuid: str,
    account: str,
    region: str,
    function_name: str,
    source_arn: str,
    config: str,
    created: float,
) -> None:
    conn.execute(
        "INSERT INTO event_source_mappings (uuid, account, region, function_name, source_arn, "
        "config, created) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO UPDATE SET "
        "function_name=excluded.function_name, config=excluded.config",
        (uuid, account, region, function_name, source_arn, config, created),
    )


def get_mapping(conn: sqlite3.Connection, uuid: str) -> Row | None:
    row = conn.execute(
        "SELECT uuid, account, region, config FROM event_source_mappings WHERE uuid=?", (uuid,)
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), str(row[2]), str(row[3]))


def list_mappings(
    conn: sqlite3.Connection,
    *,
    account: str | None = None,
    region: str | None = None,
    source_arn: str | None = None,
    function_name: str | None = None,
) -> list[Row]:
    """Mappings in creation order, filtered."""
    sql = "SELECT uuid, account, region, config FROM event_source_mappings WHERE 1=1"
    params: list[Any] = []
    for column, value in (
        ("account", account),
        ("region", region),
        ("source_arn", source_arn),
        ("function_name", function_name),
    ):
        if value is not None:
            sql += f" AND {column}=?"
            params.append(value)
    rows = conn.execute(sql + " ORDER BY created, uuid", params).fetchall()
    return [(str(a), str(b), str(c), str(d)) for a, b, c, d in rows]


def delete_mapping(conn: sqlite3.Connection, uuid: str) -> None:
    conn.execute("DELETE FROM event_source_mappings WHERE uuid=?", (uuid,))


def checkpoint(
    conn: sqlite3.Connection, uuid: str, shard_id: str
) -> tuple[str | None, dict[str, Any] | None] | None:
    """(last sequence number handled, window state) of a shard, or None if never read."""
    row = conn.execute(
        "SELECT sequence_number, state FROM esm_checkpoints WHERE uuid=? AND shard_id=?",
        (uuid, shard_id),
    ).fetchone()
    if row is None:
        return None
    return (None if row[0] is None else str(row[0]), None if row[1] is None else json.loads(row[1]))


def put_checkpoint(
    conn: sqlite3.Connection,
    uuid: str,
    shard_id: str,
    sequence_number: str | None,
    state: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO esm_checkpoints (uuid, shard_id, sequence_number, state) "
        "VALUES (?, ?, ?, ?)",
        (uuid, shard_id, sequence_number, None if state is None else json.dumps(state)),
    )
