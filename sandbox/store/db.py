"""The embedded store: one SQLite database (WAL) under the sandbox home.

Why SQLite: notebooks need state that survives a kernel restart, several processes (a
notebook and ``lambda-sandbox serve``) may share one home, and a publish must be all or
nothing. WAL lets readers run beside a writer; every change runs in one ``BEGIN
IMMEDIATE`` transaction, so a failure half-way leaves nothing half-written.

The schema is a numbered list of migrations; ``PRAGMA user_version`` records how far a
database has got, and a database from a newer release is refused rather than damaged.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from sandbox.errors import SandboxClosedError, StoreError
from sandbox.store.schema import FEATURE_MIGRATIONS

__all__ = ["Database"]

_MIGRATIONS: tuple[str, ...] = (
    # 1: functions, versions, aliases (the Qualifier concept)
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE functions (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
        config TEXT NOT NULL,             -- $LATEST FunctionConfiguration JSON (AWS shape)
        next_version INTEGER NOT NULL DEFAULT 1,
        tags TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE versions (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
        version INTEGER NOT NULL, config TEXT NOT NULL,
        PRIMARY KEY (account, region, name, version),
        FOREIGN KEY (account, region, name) REFERENCES functions ON DELETE CASCADE
    );
    CREATE TABLE aliases (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
        alias TEXT NOT NULL, config TEXT NOT NULL,
        PRIMARY KEY (account, region, name, alias),
        FOREIGN KEY (account, region, name) REFERENCES functions ON DELETE CASCADE
    );
    """,
    # 2: reserved and provisioned concurrency (the Concurrency concept)
    """
    ALTER TABLE functions ADD COLUMN reserved INTEGER;
    CREATE TABLE provisioned (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
        qualifier TEXT NOT NULL,           -- an alias name or a version number
        requested INTEGER NOT NULL,
        last_modified TEXT NOT NULL,
        PRIMARY KEY (account, region, name, qualifier),
        FOREIGN KEY (account, region, name) REFERENCES functions ON DELETE CASCADE
    );
    """,
    # 3: saved test events per function, like the console's shareable test events
    """
    CREATE TABLE test_events (
        account TEXT NOT NULL, region TEXT NOT NULL, function_name TEXT NOT NULL,
        name TEXT NOT NULL,
        body TEXT NOT NULL,                -- the event, as JSON text
        created REAL NOT NULL,
        PRIMARY KEY (account, region, function_name, name),
        FOREIGN KEY (account, region, function_name)
            REFERENCES functions (account, region, name) ON DELETE CASCADE
    );
    """,
    # 4: layers and their sharing between accounts (the Layer concept)
    """
    CREATE TABLE layers (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
        next_version INTEGER NOT NULL DEFAULT 1,   -- never goes down: numbers are not reused
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE layer_versions (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
        version INTEGER NOT NULL,
        config TEXT NOT NULL,              -- GetLayerVersion JSON (AWS shape) + bookkeeping
        policy TEXT NOT NULL DEFAULT '[]', -- statements of its resource-based policy
        policy_revision TEXT,
        PRIMARY KEY (account, region, name, version),
        FOREIGN KEY (account, region, name) REFERENCES layers ON DELETE CASCADE
    );
    CREATE TABLE accounts (
        account TEXT PRIMARY KEY,
        organization TEXT                  -- AWS Organizations id (o-...), for org grants
    );
    """,
    # 5: asynchronous invocation: event invoke configs and the durable event queue
    """
    CREATE TABLE event_invoke_configs (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
        qualifier TEXT NOT NULL,           -- $LATEST, a version number or an alias name
        config TEXT NOT NULL,              -- JSON: the settings given (AWS shape)
        last_modified REAL NOT NULL,       -- platform time
        PRIMARY KEY (account, region, name, qualifier),
        FOREIGN KEY (account, region, name) REFERENCES functions ON DELETE CASCADE
    );
    CREATE TABLE async_events (
        request_id TEXT PRIMARY KEY,       -- the same across every retry
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
        qualifier TEXT,                    -- as invoked (NULL: unqualified)
        payload BLOB NOT NULL,
        received REAL NOT NULL,            -- platform time the event was accepted
        due REAL NOT NULL,                 -- platform time of its next attempt
        state TEXT NOT NULL,               -- queued | running | done
        owner TEXT,                        -- the queue (process) running it
        attempts INTEGER NOT NULL DEFAULT 0,   -- invocations made (approximateInvokeCount)
        throttles INTEGER NOT NULL DEFAULT 0,  -- throttled or system-error tries in a row
        last_response TEXT,                -- JSON: the last invocation's answer
        outcome TEXT,                      -- Success, RetriesExhausted, EventAgeExceeded,
                                           -- ZeroReservedConcurrency or Dropped
        detail TEXT,                       -- JSON: deliveries made, or why it was dropped
        finished REAL,
        origin TEXT NOT NULL DEFAULT 'invoke'  -- invoke, or the destination of another event
    );
    CREATE INDEX async_events_due ON async_events (state, due);
    CREATE INDEX async_events_function ON async_events (account, region, name);
    """,
    # 6: stand-ins for the resources that receive destinations: SQS, SNS, EventBridge, S3
    """
    CREATE TABLE sqs_queues (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
        attributes TEXT NOT NULL DEFAULT '{}',  -- JSON: the settable attributes given (strings)
        created REAL NOT NULL,             -- platform time
        last_modified REAL NOT NULL,
        purged REAL,                       -- platform time of the last PurgeQueue
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE sqs_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- send order
        account TEXT NOT NULL, region TEXT NOT NULL, queue TEXT NOT NULL,
        message_id TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL,
        attributes TEXT,                   -- JSON: message attributes (SQS shape), or NULL
        md5_body TEXT NOT NULL,
        md5_attributes TEXT,
        sender_id TEXT NOT NULL,
        sent REAL NOT NULL,
        visible_at REAL NOT NULL,          -- end of the delay, then of each visibility timeout
        receive_count INTEGER NOT NULL DEFAULT 0,
        first_received REAL,
        receipt_handle TEXT,               -- of the latest receive (older ones delete nothing)
        group_id TEXT,                     -- FIFO queues: MessageGroupId (not yet used)
        deduplication_id TEXT,             -- FIFO queues: MessageDeduplicationId (not yet used)
        FOREIGN KEY (account, region, queue) REFERENCES sqs_queues ON DELETE CASCADE
    );
    CREATE INDEX sqs_messages_visible ON sqs_messages (account, region, queue, visible_at);
    CREATE TABLE sns_topics (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
        attributes TEXT NOT NULL DEFAULT '{}',  -- JSON: the settable attributes given
        created REAL NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE sns_subscriptions (
        id TEXT PRIMARY KEY,               -- the subscription ARN's last part (a UUID)
        account TEXT NOT NULL, region TEXT NOT NULL, topic TEXT NOT NULL,
        protocol TEXT NOT NULL,            -- sqs (lambda, http ... later)
        endpoint TEXT NOT NULL,            -- the queue ARN (a function ARN later)
        attributes TEXT NOT NULL DEFAULT '{}',  -- JSON: RawMessageDelivery (FilterPolicy later)
        owner TEXT NOT NULL,               -- the subscribing account
        created REAL NOT NULL,
        FOREIGN KEY (account, region, topic) REFERENCES sns_topics ON DELETE CASCADE
    );
    CREATE INDEX sns_subscriptions_topic ON sns_subscriptions (account, region, topic);
    CREATE TABLE sns_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- publish order
        account TEXT NOT NULL, region TEXT NOT NULL, topic TEXT NOT NULL,
        message_id TEXT NOT NULL UNIQUE,
        message TEXT NOT NULL,
        subject TEXT,
        attributes TEXT,                   -- JSON: message attributes as published, or NULL
        published REAL NOT NULL,
        FOREIGN KEY (account, region, topic) REFERENCES sns_topics ON DELETE CASCADE
    );
    CREATE INDEX sns_messages_topic ON sns_messages (account, region, topic, seq);
    CREATE TABLE event_buses (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
        description TEXT,
        created REAL NOT NULL,
        last_modified REAL NOT NULL,
        PRIMARY KEY (account, region, name)  -- the bus named default is implicit, never a row
    );
    CREATE TABLE bus_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order
        account TEXT NOT NULL, region TEXT NOT NULL, bus TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event TEXT NOT NULL,               -- JSON: the full event envelope
        received REAL NOT NULL
    );
    CREATE INDEX bus_events_bus ON bus_events (account, region, bus, seq);
    CREATE TABLE s3_buckets (
        name TEXT PRIMARY KEY,             -- bucket names are global, as in S3
        account TEXT NOT NULL,             -- the owner
        region TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE s3_objects (
        bucket TEXT NOT NULL REFERENCES s3_buckets (name) ON DELETE CASCADE,
        object_key TEXT NOT NULL,
        body BLOB NOT NULL,
        etag TEXT NOT NULL,                -- the MD5 hex in double quotes, as S3 shows it
        content_type TEXT NOT NULL,
        last_modified REAL NOT NULL,
        PRIMARY KEY (bucket, object_key)
    );
    """,
    *FEATURE_MIGRATIONS,  # 7 and later: sandbox/store/schema/
)


class Database:
    """A thread-safe handle on the store's SQLite file.

    One connection per :class:`Database`, shared by the sandbox's threads under a lock
    (SQLite serialises writers anyway). Other processes open their own.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn: sqlite3.Connection | None = sqlite3.connect(
                path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA busy_timeout=30000")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the sandbox store at {path}: {exc}") from exc
        self._lock = threading.RLock()
        self._writes = 0  # commits through this connection (data_version counts the others)
        self._migrate()

    def _migrate(self) -> None:
        with self.transaction() as conn:
            (current,) = conn.execute("PRAGMA user_version").fetchone()
            if current > len(_MIGRATIONS):
                raise StoreError(
                    f"the store at {self.path} was written by a newer lambda-sandbox "
                    f"(schema {current}, this release knows {len(_MIGRATIONS)})"
                )
            for number, script in enumerate(_MIGRATIONS[current:], start=current + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version={number}")

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise SandboxClosedError("the sandbox store is closed")
        return self._conn

    @contextlib.contextmanager
    def transaction(self, *, traffic: bool = False) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception.

        ``traffic=True`` marks a write that moves events or messages and changes no
        configuration: :meth:`stamp` does not change for it (in this process), so caches of
        functions and settings stay valid while an async queue is busy.
        """
        with self._lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            if not traffic:
                self._writes += 1

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several reads (``BEGIN DEFERRED``), writing nothing."""
        with self._lock:
            conn = self.conn
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    def stamp(self) -> tuple[int, int]:
        """Changes whenever anything was committed, by this connection (except traffic) or
        another one (``PRAGMA data_version``): a cheap check for caches of store contents."""
        with self._lock:
            (version,) = self.conn.execute("PRAGMA data_version").fetchone()
            return int(version), self._writes

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """A read outside any explicit transaction."""
        with self._lock:
            return list(self.conn.execute(sql, params).fetchall())

    def close(self) -> None:
        """Close the connection; idempotent."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA optimize")
                self._conn.close()
                self._conn = None
