"""Rows of functions, versions and aliases in the embedded store.

Plain reads and writes of JSON documents in the AWS shape; every rule lives in the service
layer, which calls these inside one :meth:`Database.transaction` so a whole operation
commits or nothing does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from sandbox.store.records import dump, load

__all__ = ["FunctionRows", "Scope"]

Scope = tuple[str, str]  # (account id, region)


class FunctionRows:
    """Function, version and alias rows for one (account, region) scope."""

    def __init__(self, scope: Scope) -> None:
        self.account, self.region = scope

    # functions --------------------------------------------------------------------------
    def insert(
        self,
        conn: sqlite3.Connection,
        name: str,
        config: Mapping[str, object],
        tags: Mapping[str, str],
        created: float,
    ) -> None:
        conn.execute(
            "INSERT INTO functions (account, region, name, config, tags, created) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (self.account, self.region, name, dump(config), dump(tags), created),
        )

    def latest(self, conn: sqlite3.Connection, name: str) -> dict[str, object] | None:
        row = conn.execute(
            "SELECT config FROM functions WHERE account=? AND region=? AND name=?",
            (self.account, self.region, name),
        ).fetchone()
        return load(row[0]) if row else None

    def tags(self, conn: sqlite3.Connection, name: str) -> dict[str, str]:
        row = conn.execute(
            "SELECT tags FROM functions WHERE account=? AND region=? AND name=?",
            (self.account, self.region, name),
        ).fetchone()
        return {str(k): str(v) for k, v in load(row[0]).items()} if row else {}

    def update_latest(
        self, conn: sqlite3.Connection, name: str, config: Mapping[str, object]
    ) -> None:
        conn.execute(
            "UPDATE functions SET config=? WHERE account=? AND region=? AND name=?",
            (dump(config), self.account, self.region, name),
        )

    def delete(self, conn: sqlite3.Connection, name: str) -> None:
        conn.execute(
            "DELETE FROM functions WHERE account=? AND region=? AND name=?",
            (self.account, self.region, name),
        )

    def names(self, conn: sqlite3.Connection, after: str = "", limit: int = -1) -> list[str]:
        rows = conn.execute(
            "SELECT name FROM functions WHERE account=? AND region=? AND name>? "
            "ORDER BY name LIMIT ?",
            (self.account, self.region, after, limit),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def all_code_hashes(self, conn: sqlite3.Connection) -> set[str]:
        """CodeSha256 of every stored version, in every scope (for artifact GC)."""
        out: set[str] = set()
        for (text,) in conn.execute(
            "SELECT config FROM functions UNION ALL SELECT config FROM versions"
        ):
            value = load(text).get("CodeSha256")
            if isinstance(value, str):
                out.add(value)
        return out

    # versions ---------------------------------------------------------------------------
    def take_version_number(self, conn: sqlite3.Connection, name: str) -> int:
        """The next version number; numbers are never handed out twice (spec §5)."""
        (number,) = conn.execute(
            "SELECT next_version FROM functions WHERE account=? AND region=? AND name=?",
            (self.account, self.region, name),
        ).fetchone()
        conn.execute(
            "UPDATE functions SET next_version=? WHERE account=? AND region=? AND name=?",
            (number + 1, self.account, self.region, name),
        )
        return int(number)

    def insert_version(
        self, conn: sqlite3.Connection, name: str, version: int, config: Mapping[str, object]
    ) -> None:
        conn.execute(
            "INSERT INTO versions (account, region, name, version, config) VALUES (?, ?, ?, ?, ?)",
            (self.account, self.region, name, version, dump(config)),
        )

    def version(
        self, conn: sqlite3.Connection, name: str, version: int
    ) -> dict[str, object] | None:
        row = conn.execute(
            "SELECT config FROM versions WHERE account=? AND region=? AND name=? AND version=?",
            (self.account, self.region, name, version),
        ).fetchone()
        return load(row[0]) if row else None

    def versions(
        self, conn: sqlite3.Connection, name: str, after: int = 0, limit: int = -1
    ) -> list[dict[str, object]]:
        rows = conn.execute(
            "SELECT config FROM versions WHERE account=? AND region=? AND name=? AND version>? "
            "ORDER BY version LIMIT ?",
            (self.account, self.region, name, after, limit),
        ).fetchall()
        return [load(r[0]) for r in rows]

    def delete_version(self, conn: sqlite3.Connection, name: str, version: int) -> None:
        conn.execute(
            "DELETE FROM versions WHERE account=? AND region=? AND name=? AND version=?",
            (self.account, self.region, name, version),
        )

    # aliases ----------------------------------------------------------------------------
    def alias(self, conn: sqlite3.Connection, name: str, alias: str) -> dict[str, object] | None:
        row = conn.execute(
            "SELECT config FROM aliases WHERE account=? AND region=? AND name=? AND alias=?",
            (self.account, self.region, name, alias),
        ).fetchone()
        return load(row[0]) if row else None

    def aliases(self, conn: sqlite3.Connection, name: str) -> list[dict[str, object]]:
        rows = conn.execute(
            "SELECT config FROM aliases WHERE account=? AND region=? AND name=? ORDER BY alias",
            (self.account, self.region, name),
        ).fetchall()
        return [load(r[0]) for r in rows]

    def put_alias(
        self, conn: sqlite3.Connection, name: str, alias: str, config: Mapping[str, object]
    ) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO aliases (account, region, name, alias, config) "
            "VALUES (?, ?, ?, ?, ?)",
            (self.account, self.region, name, alias, dump(config)),
        )

    def delete_alias(self, conn: sqlite3.Connection, name: str, alias: str) -> None:
        conn.execute(
            "DELETE FROM aliases WHERE account=? AND region=? AND name=? AND alias=?",
            (self.account, self.region, name, alias),
        )

    # concurrency -------------------------------------------------------------------------
    def reserved(self, conn: sqlite3.Connection, name: str) -> int | None:
        row = conn.execute(
            "SELECT reserved FROM functions WHERE account=? AND region=? AND name=?",
            (self.account, self.region, name),
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def set_reserved(self, conn: sqlite3.Connection, name: str, value: int | None) -> None:
        conn.execute(
            "UPDATE functions SET reserved=? WHERE account=? AND region=? AND name=?",
            (value, self.account, self.region, name),
        )

    def all_reserved(self, conn: sqlite3.Connection) -> dict[str, int]:
        """Reserved concurrency of every function of the scope that has one."""
        rows = conn.execute(
            "SELECT name, reserved FROM functions WHERE account=? AND region=? "
            "AND reserved IS NOT NULL",
            (self.account, self.region),
        ).fetchall()
        return {str(n): int(r) for n, r in rows}

    def provisioned(
        self, conn: sqlite3.Connection, name: str | None = None
    ) -> list[tuple[str, str, int, str]]:
        """(function, qualifier, requested, last modified) of the provisioned configs."""
        sql = (
            "SELECT name, qualifier, requested, last_modified FROM provisioned "
            "WHERE account=? AND region=?"
        )
        params: tuple[object, ...] = (self.account, self.region)
        if name is not None:
            sql += " AND name=?"
            params += (name,)
        rows = conn.execute(sql + " ORDER BY name, qualifier", params).fetchall()
        return [(str(a), str(b), int(c), str(d)) for a, b, c, d in rows]

    def put_provisioned(
        self, conn: sqlite3.Connection, name: str, qualifier: str, requested: int, modified: str
    ) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO provisioned (account, region, name, qualifier, requested, "
            "last_modified) VALUES (?, ?, ?, ?, ?, ?)",
            (self.account, self.region, name, qualifier, requested, modified),
        )

    def delete_provisioned(self, conn: sqlite3.Connection, name: str, qualifier: str) -> None:
        conn.execute(
            "DELETE FROM provisioned WHERE account=? AND region=? AND name=? AND qualifier=?",
            (self.account, self.region, name, qualifier),
        )

    # asynchronous invocation ------------------------------------------------------------
    def event_configs(
        self, conn: sqlite3.Connection, name: str, qualifier: str | None = None
    ) -> list[tuple[str, dict[str, object], float]]:
        """(qualifier, settings, last modified) of a function's event invoke configs."""
        sql = (
            "SELECT qualifier, config, last_modified FROM event_invoke_configs "
            "WHERE account=? AND region=? AND name=?"
        )
        params: tuple[object, ...] = (self.account, self.region, name)
        if qualifier is not None:
            sql += " AND qualifier=?"
            params += (qualifier,)
        rows = conn.execute(sql + " ORDER BY qualifier", params).fetchall()
        return [(str(q), load(str(c)), float(m)) for q, c, m in rows]

    def put_event_config(
        self,
        conn: sqlite3.Connection,
        name: str,
        qualifier: str,
        config: Mapping[str, object],
        modified: float,
    ) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO event_invoke_configs (account, region, name, qualifier, "
            "config, last_modified) VALUES (?, ?, ?, ?, ?, ?)",
            (self.account, self.region, name, qualifier, dump(config), modified),
        )

    def delete_event_config(self, conn: sqlite3.Connection, name: str, qualifier: str) -> int:
        cursor = conn.execute(
            "DELETE FROM event_invoke_configs WHERE account=? AND region=? AND name=? "
            "AND qualifier=?",
            (self.account, self.region, name, qualifier),
        )
        return cursor.rowcount

    def set_tags(self, conn: sqlite3.Connection, name: str, tags: Mapping[str, str]) -> None:
        conn.execute(
            "UPDATE functions SET tags=? WHERE account=? AND region=? AND name=?",
            (dump(dict(tags)), self.account, self.region, name),
        )
