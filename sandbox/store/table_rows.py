"""The rows of the DynamoDB stand-in: tables and their items.

What :class:`sandbox.resources.tables.DynamoDBClient` reads and writes inside its own
transactions. Items are stored in DynamoDB's wire form (JSON AttributeValues, binary as
base64), keyed by their key values (:func:`sandbox.resources.table_values.key_string`); a
table's stream lives in :mod:`sandbox.store.stream_rows`, named by ``stream_arn``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

__all__ = [
    "TableRow",
    "count_items",
    "create_table",
    "delete_item",
    "delete_table",
    "get_item",
    "get_table",
    "list_tables",
    "put_item",
    "scan",
    "set_stream",
]


@dataclass(frozen=True, slots=True)
class TableRow:
    """A table: ``description`` holds KeySchema, AttributeDefinitions, BillingMode,
    ProvisionedThroughput and TableId (AWS shapes)."""

    account: str
    region: str
    name: str
    description: dict[str, Any]
    stream_arn: str | None
    stream_enabled: bool
    created: float


def _table(row: tuple[Any, ...] | None) -> TableRow | None:
    if row is None:
        return None
    account, region, name, description, arn, enabled, created = row
    return TableRow(account, region, name, json.loads(description), arn, bool(enabled), created)


def get_table(conn: sqlite3.Connection, account: str, region: str, name: str) -> TableRow | None:
    row = conn.execute(
        "SELECT account, region, name, description, stream_arn, stream_enabled, created "
        "FROM ddb_tables WHERE account = ? AND region = ? AND name = ?",
        (account, region, name),
    ).fetchone()
    return _table(row)


def list_tables(conn: sqlite3.Connection, account: str, region: str) -> list[str]:
    """Table names, in ascending order (as ListTables returns them)."""
    found = conn.execute(
        "SELECT name FROM ddb_tables WHERE account = ? AND region = ? ORDER BY name",
        (account, region),
    ).fetchall()
    return [str(r[0]) for r in found]


def create_table(
    conn: sqlite3.Connection,
    account: str,
    region: str,
    name: str,
    description: dict[str, Any],
    now: float,
) -> None:
    conn.execute(
        "INSERT INTO ddb_tables (account, region, name, description, created) "
        "VALUES (?, ?, ?, ?, ?)",
        (account, region, name, json.dumps(description), now),
    )


def set_stream(
    conn: sqlite3.Connection, table: TableRow, stream_arn: str | None, enabled: bool
) -> None:
    """Record the table's latest stream (kept after it is disabled, as LatestStreamArn)."""
    conn.execute(
        "UPDATE ddb_tables SET stream_arn = ?, stream_enabled = ? "
        "WHERE account = ? AND region = ? AND name = ?",
        (stream_arn, int(enabled), table.account, table.region, table.name),
    )


def delete_table(conn: sqlite3.Connection, table: TableRow) -> None:
    """Remove a table and its items."""
    key = (table.account, table.region, table.name)
    conn.execute("DELETE FROM ddb_items WHERE account = ? AND region = ? AND table_name = ?", key)
    conn.execute("DELETE FROM ddb_tables WHERE account = ? AND region = ? AND name = ?", key)


def count_items(conn: sqlite3.Connection, table: TableRow) -> tuple[int, int]:
    """(ItemCount, TableSizeBytes)."""
    count, size = conn.execute(
        "SELECT count(*), coalesce(sum(size), 0) FROM ddb_items "
        "WHERE account = ? AND region = ? AND table_name = ?",
        (table.account, table.region, table.name),
    ).fetchone()
    return int(count), int(size)


def get_item(conn: sqlite3.Connection, table: TableRow, key: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT item FROM ddb_items WHERE account = ? AND region = ? AND table_name = ? "
        "AND item_key = ?",
        (table.account, table.region, table.name, key),
    ).fetchone()
    return None if row is None else dict(json.loads(row[0]))


def put_item(
    conn: sqlite3.Connection, table: TableRow, key: str, item: dict[str, Any], size: int
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO ddb_items (account, region, table_name, item_key, item, size) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (table.account, table.region, table.name, key, json.dumps(item), size),
    )


def delete_item(conn: sqlite3.Connection, table: TableRow, key: str) -> None:
    conn.execute(
        "DELETE FROM ddb_items WHERE account = ? AND region = ? AND table_name = ? "
        "AND item_key = ?",
        (table.account, table.region, table.name, key),
    )


def scan(
    conn: sqlite3.Connection, table: TableRow, after: str | None, limit: int | None
) -> list[tuple[str, dict[str, Any]]]:
    """(key, item) pairs in key order, after the key ``after``, at most ``limit``."""
    found = conn.execute(
        "SELECT item_key, item FROM ddb_items WHERE account = ? AND region = ? "
        "AND table_name = ? AND item_key > ? ORDER BY item_key LIMIT ?",
        (table.account, table.region, table.name, after or "", -1 if limit is None else limit),
    ).fetchall()
    return [(str(k), dict(json.loads(v))) for k, v in found]
