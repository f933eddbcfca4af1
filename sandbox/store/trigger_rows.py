"""The rows of push triggers: function policies, event-bus rules and targets, bucket
notification configurations (migration 9).

Why it exists: the permission check, the rule router, the schedule runner and the S3 and
SNS clients read and write the same rows, often inside a transaction someone else opened
(a put_object and the notifications it matches are read together), so every function here
takes an open :class:`sqlite3.Connection` and, where time matters, the platform time.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "RuleRow",
    "bucket_notification",
    "claim_firing",
    "delete_rule",
    "delete_rules_of_bus",
    "get_rule",
    "list_rules",
    "policy",
    "put_bucket_notification",
    "put_policy",
    "put_rule",
    "put_targets",
    "remove_targets",
    "rules_of_bus",
    "scheduled_rules",
    "set_rule_state",
    "targets",
]


# function policies ------------------------------------------------------------------------
def policy(
    conn: sqlite3.Connection, account: str, region: str, name: str, qualifier: str
) -> tuple[list[dict[str, Any]], str | None]:
    """The statements of a function's (``qualifier`` empty) or a version's or alias's
    policy, and its RevisionId; ``([], None)`` when it has none."""
    row = conn.execute(
        "SELECT statements, revision FROM function_policies "
        "WHERE account=? AND region=? AND name=? AND qualifier=?",
        (account, region, name, qualifier),
    ).fetchone()
    if row is None:
        return [], None
    statements: list[dict[str, Any]] = json.loads(row[0])
    return statements, str(row[1])


def put_policy(
    conn: sqlite3.Connection,
    account: str,
    region: str,
    name: str,
    qualifier: str,
    statements: Sequence[Mapping[str, Any]],
    revision: str,
) -> None:
    """Replace a policy's statements; no statements removes the policy."""
    if not statements:
        conn.execute(
            "DELETE FROM function_policies WHERE account=? AND region=? AND name=? AND qualifier=?",
            (account, region, name, qualifier),
        )
        return
    _ensure_cleanup_triggers(conn)
    conn.execute(
        "INSERT INTO function_policies (account, region, name, qualifier, statements, revision) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account, region, name, qualifier) DO UPDATE "
        "SET statements=excluded.statements, revision=excluded.revision",
        (account, region, name, qualifier, json.dumps(list(statements)), revision),
    )


_CLEANUP_TRIGGERS = (
    # a version's policy goes with the version, an alias's with the alias (DeleteFunction
    # with a Qualifier, DeleteAlias); the whole function's go by the foreign key
    "CREATE TRIGGER IF NOT EXISTS function_policies_of_versions AFTER DELETE ON versions "
    "BEGIN DELETE FROM function_policies WHERE account=OLD.account AND region=OLD.region "
    "AND name=OLD.name AND qualifier=CAST(OLD.version AS TEXT); END",
    "CREATE TRIGGER IF NOT EXISTS function_policies_of_aliases AFTER DELETE ON aliases "
    "BEGIN DELETE FROM function_policies WHERE account=OLD.account AND region=OLD.region "
    "AND name=OLD.name AND qualifier=OLD.alias; END",
)


def _ensure_cleanup_triggers(conn: sqlite3.Connection) -> None:
    for statement in _CLEANUP_TRIGGERS:
        conn.execute(statement)


# event-bus rules --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RuleRow:
    """An EventBridge rule as stored."""

    account: str
    region: str
    bus: str
    name: str
    event_pattern: str | None
    schedule: str | None
    state: str
    description: str | None
    role_arn: str | None
    anchor: float
    last_fired: float | None
    created: float

    @property
    def arn(self) -> str:
        """``rule/NAME`` on the default bus, ``rule/BUS/NAME`` on a custom one."""
        path = self.name if self.bus == "default" else f"{self.bus}/{self.name}"
        return f"arn:aws:events:{self.region}:{self.account}:rule/{path}"

    @property
    def enabled(self) -> bool:
        return self.state != "DISABLED"  # ENABLED, or ENABLED_WITH_ALL_CLOUDTRAIL_...


_RULE_COLUMNS = (
    "account, region, bus, name, event_pattern, schedule, state, description, role_arn, "
    "anchor, last_fired, created"
)


def _rule(row: tuple[Any, ...]) -> RuleRow:
    return RuleRow(*row)


def get_rule(
    conn: sqlite3.Connection, account: str, region: str, bus: str, name: str
) -> RuleRow | None:
    row = conn.execute(
        f"SELECT {_RULE_COLUMNS} FROM event_rules WHERE account=? AND region=? AND bus=? "
        "AND name=?",
        (account, region, bus, name),
    ).fetchone()
    return None if row is None else _rule(row)


def list_rules(
    conn: sqlite3.Connection, account: str, region: str, bus: str, prefix: str = ""
) -> list[RuleRow]:
    """A bus's rules whose names start with ``prefix``, by name."""
    rows = conn.execute(
        f"SELECT {_RULE_COLUMNS} FROM event_rules WHERE account=? AND region=? AND bus=? "
        "AND substr(name, 1, ?) = ? ORDER BY name",
        (account, region, bus, len(prefix), prefix),
    ).fetchall()
    return [_rule(r) for r in rows]


def rules_of_bus(conn: sqlite3.Connection, account: str, region: str, bus: str) -> list[RuleRow]:
    """The enabled rules of a bus that have an event pattern (those events are routed by)."""
    rows = conn.execute(
        f"SELECT {_RULE_COLUMNS} FROM event_rules WHERE account=? AND region=? AND bus=? "
        "AND state != 'DISABLED' AND event_pattern IS NOT NULL ORDER BY name",
        (account, region, bus),
    ).fetchall()
    return [_rule(r) for r in rows]


def scheduled_rules(conn: sqlite3.Connection) -> list[RuleRow]:
    """Every enabled rule with a schedule, in every account and region of the store."""
    rows = conn.execute(
        f"SELECT {_RULE_COLUMNS} FROM event_rules WHERE schedule IS NOT NULL "
        "AND state != 'DISABLED' ORDER BY account, region, bus, name"
    ).fetchall()
    return [_rule(r) for r in rows]


def put_rule(conn: sqlite3.Connection, rule: RuleRow) -> None:
    """Create or replace a rule (its targets stay)."""
    conn.execute(
        f"INSERT INTO event_rules ({_RULE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (account, region, bus, name) DO UPDATE SET "
        "event_pattern=excluded.event_pattern, schedule=excluded.schedule, "
        "state=excluded.state, description=excluded.description, role_arn=excluded.role_arn, "
        "anchor=excluded.anchor, last_fired=excluded.last_fired",
        (
            rule.account,
            rule.region,
            rule.bus,
            rule.name,
            rule.event_pattern,
            rule.schedule,
            rule.state,
            rule.description,
            rule.role_arn,
            rule.anchor,
            rule.last_fired,
            rule.created,
        ),
    )


def set_rule_state(conn: sqlite3.Connection, rule: RuleRow, state: str, anchor: float) -> None:
    conn.execute(
        "UPDATE event_rules SET state=?, anchor=?, last_fired=NULL "
        "WHERE account=? AND region=? AND bus=? AND name=?",
        (state, anchor, rule.account, rule.region, rule.bus, rule.name),
    )


def delete_rule(conn: sqlite3.Connection, rule: RuleRow) -> None:
    conn.execute(
        "DELETE FROM event_rules WHERE account=? AND region=? AND bus=? AND name=?",
        (rule.account, rule.region, rule.bus, rule.name),
    )


def delete_rules_of_bus(conn: sqlite3.Connection, account: str, region: str, bus: str) -> None:
    """A deleted bus takes its rules (and their targets) with it."""
    conn.execute(
        "DELETE FROM event_rules WHERE account=? AND region=? AND bus=?", (account, region, bus)
    )


def claim_firing(conn: sqlite3.Connection, rule: RuleRow, due: float) -> bool:
    """Claim the scheduled firing due at ``due``: True for the one caller (in any process
    sharing the store) that should deliver it."""
    cursor = conn.execute(
        "UPDATE event_rules SET last_fired=? WHERE account=? AND region=? AND bus=? AND name=? "
        "AND state != 'DISABLED' AND schedule IS ? AND (last_fired IS NULL OR last_fired < ?)",
        (due, rule.account, rule.region, rule.bus, rule.name, rule.schedule, due),
    )
    return cursor.rowcount == 1


# rule targets -----------------------------------------------------------------------------
def targets(conn: sqlite3.Connection, rule: RuleRow) -> list[dict[str, Any]]:
    """A rule's targets as given, in the order they were added."""
    rows = conn.execute(
        "SELECT target FROM rule_targets WHERE account=? AND region=? AND bus=? AND rule=? "
        "ORDER BY added, rowid",
        (rule.account, rule.region, rule.bus, rule.name),
    ).fetchall()
    return [json.loads(r[0]) for r in rows]


def put_targets(
    conn: sqlite3.Connection, rule: RuleRow, given: Sequence[Mapping[str, Any]], now: float
) -> None:
    """Add targets, or replace those with the same Id."""
    for target in given:
        conn.execute(
            "INSERT INTO rule_targets (account, region, bus, rule, id, target, added) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account, region, bus, rule, id) "
            "DO UPDATE SET target=excluded.target",
            (
                rule.account,
                rule.region,
                rule.bus,
                rule.name,
                str(target["Id"]),
                json.dumps(dict(target)),
                now,
            ),
        )


def remove_targets(conn: sqlite3.Connection, rule: RuleRow, ids: Sequence[str]) -> list[str]:
    """Remove targets by Id; returns the Ids that were not there."""
    missing = []
    for target_id in ids:
        cursor = conn.execute(
            "DELETE FROM rule_targets WHERE account=? AND region=? AND bus=? AND rule=? AND id=?",
            (rule.account, rule.region, rule.bus, rule.name, target_id),
        )
        if cursor.rowcount == 0:
            missing.append(target_id)
    return missing


# bucket notifications ---------------------------------------------------------------------
def bucket_notification(conn: sqlite3.Connection, bucket: str) -> dict[str, Any]:
    """The bucket's NotificationConfiguration (``{}`` when none is set)."""
    row = conn.execute(
        "SELECT configuration FROM bucket_notifications WHERE bucket=?", (bucket,)
    ).fetchone()
    if row is None:
        return {}
    configuration: dict[str, Any] = json.loads(row[0])
    return configuration


def put_bucket_notification(
    conn: sqlite3.Connection, bucket: str, configuration: Mapping[str, Any]
) -> None:
    """Replace the bucket's configuration; an empty one removes it."""
    if not configuration:
        conn.execute("DELETE FROM bucket_notifications WHERE bucket=?", (bucket,))
        return
    conn.execute(
        "INSERT INTO bucket_notifications (bucket, configuration) VALUES (?, ?) "
        "ON CONFLICT (bucket) DO UPDATE SET configuration=excluded.configuration",
        (bucket, json.dumps(dict(configuration))),
    )
