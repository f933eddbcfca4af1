"""Rows of layers, layer versions, their policies, and accounts in the embedded store.

Plain reads and writes; the rules (spec §6) live in :mod:`sandbox.service.layers`, which
calls these inside one :meth:`~sandbox.store.db.Database.transaction`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence

from sandbox.store.records import dump, load

__all__ = ["AccountRows", "LayerRows"]


class LayerRows:
    """Layer rows of one (account, region): the layer's owner."""

    def __init__(self, account: str, region: str) -> None:
        self.account, self.region = account, region

    def _key(self, name: str) -> tuple[str, str, str]:
        return self.account, self.region, name

    def take_version_number(self, conn: sqlite3.Connection, name: str) -> int:
        """The next version number of a layer (creating the layer's row at 1)."""
        conn.execute(
            "INSERT OR IGNORE INTO layers (account, region, name) VALUES (?, ?, ?)",
            self._key(name),
        )
        (number,) = conn.execute(
            "SELECT next_version FROM layers WHERE account=? AND region=? AND name=?",
            self._key(name),
        ).fetchone()
        conn.execute(
            "UPDATE layers SET next_version=? WHERE account=? AND region=? AND name=?",
            (number + 1, *self._key(name)),
        )
        return int(number)

    def insert_version(
        self, conn: sqlite3.Connection, name: str, version: int, doc: Mapping[str, object]
    ) -> None:
        conn.execute(
            "INSERT INTO layer_versions (account, region, name, version, config) "
            "VALUES (?, ?, ?, ?, ?)",
            (*self._key(name), version, dump(doc)),
        )

    def version(
        self, conn: sqlite3.Connection, name: str, version: int
    ) -> dict[str, object] | None:
        row = conn.execute(
            "SELECT config FROM layer_versions WHERE account=? AND region=? AND name=? "
            "AND version=?",
            (*self._key(name), version),
        ).fetchone()
        return load(row[0]) if row else None

    def versions(self, conn: sqlite3.Connection, name: str) -> list[dict[str, object]]:
        """Every live version of a layer, newest first."""
        rows = conn.execute(
            "SELECT config FROM layer_versions WHERE account=? AND region=? AND name=? "
            "ORDER BY version DESC",
            self._key(name),
        ).fetchall()
        return [load(r[0]) for r in rows]

    def names(self, conn: sqlite3.Connection) -> list[str]:
        """Layers of this account with at least one live version, by name."""
        rows = conn.execute(
            "SELECT DISTINCT name FROM layer_versions WHERE account=? AND region=? ORDER BY name",
            (self.account, self.region),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def delete_version(self, conn: sqlite3.Connection, name: str, version: int) -> bool:
        cursor = conn.execute(
            "DELETE FROM layer_versions WHERE account=? AND region=? AND name=? AND version=?",
            (*self._key(name), version),
        )
        return cursor.rowcount > 0

    def policy(
        self, conn: sqlite3.Connection, name: str, version: int
    ) -> tuple[list[dict[str, object]], str | None]:
        """A version's policy statements and the policy's revision id."""
        row = conn.execute(
            "SELECT policy, policy_revision FROM layer_versions WHERE account=? AND region=? "
            "AND name=? AND version=?",
            (*self._key(name), version),
        ).fetchone()
        if row is None:
            return [], None
        statements = json.loads(str(row[0]))
        return [dict(s) for s in statements], (str(row[1]) if row[1] else None)

    def put_policy(
        self,
        conn: sqlite3.Connection,
        name: str,
        version: int,
        statements: Sequence[Mapping[str, object]],
        revision: str | None,
    ) -> None:
        conn.execute(
            "UPDATE layer_versions SET policy=?, policy_revision=? WHERE account=? AND region=? "
            "AND name=? AND version=?",
            (dump(list(statements)), revision, *self._key(name), version),
        )


class AccountRows:
    """Accounts the store knows, and the organisation each belongs to."""

    @staticmethod
    def organization(conn: sqlite3.Connection, account: str) -> str | None:
        row = conn.execute(
            "SELECT organization FROM accounts WHERE account=?", (account,)
        ).fetchone()
        return str(row[0]) if row and row[0] else None

    @staticmethod
    def put(conn: sqlite3.Connection, account: str, organization: str | None) -> None:
        conn.execute(
            "INSERT INTO accounts (account, organization) VALUES (?, ?) "
            "ON CONFLICT (account) DO UPDATE SET organization=excluded.organization",
            (account, organization),
        )
