"""Rows of saved test events: named events kept per function, like the Lambda console's
shareable test events. The rules (name pattern, payload checks) live in the facade; this
module only reads and writes rows, inside the caller's transaction."""

from __future__ import annotations

import sqlite3

from sandbox.store.functions import Scope

__all__ = ["TestEventRows"]


class TestEventRows:
    """Test event rows of one (account, region) scope."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, scope: Scope) -> None:
        self.account, self.region = scope

    def put(
        self, conn: sqlite3.Connection, function_name: str, name: str, body: str, created: float
    ) -> None:
        """Save or replace an event (a replaced event keeps its creation time)."""
        conn.execute(
            "INSERT INTO test_events (account, region, function_name, name, body, created) "
            "VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (account, region, function_name, name) DO UPDATE SET body=excluded.body",
            (self.account, self.region, function_name, name, body, created),
        )

    def get(self, conn: sqlite3.Connection, function_name: str, name: str) -> str | None:
        row = conn.execute(
            "SELECT body FROM test_events WHERE account=? AND region=? AND function_name=? "
            "AND name=?",
            (self.account, self.region, function_name, name),
        ).fetchone()
        return None if row is None else str(row[0])

    def names(self, conn: sqlite3.Connection, function_name: str) -> list[str]:
        rows = conn.execute(
            "SELECT name FROM test_events WHERE account=? AND region=? AND function_name=? "
            "ORDER BY name",
            (self.account, self.region, function_name),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def delete(self, conn: sqlite3.Connection, function_name: str, name: str) -> bool:
        """Delete one event; False when there was none."""
        cursor = conn.execute(
            "DELETE FROM test_events WHERE account=? AND region=? AND function_name=? AND name=?",
            (self.account, self.region, function_name, name),
        )
        return cursor.rowcount > 0
