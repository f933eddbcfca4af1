"""The rows of streams: Kinesis data streams and DynamoDB table streams, shards and records.

Why one module for both kinds: an event source mapping polls a Kinesis shard and a DynamoDB
stream's shard the same way (spec section 8.4: a batch per shard, oldest first, a checkpoint
after the last sequence number processed), so the poller calls one small API here, inside
its own transaction, whatever the source: :func:`stream_kind`, :func:`stream_exists`,
:func:`shards`, :func:`position`, :func:`read` and :func:`lambda_record`. The clients in
:mod:`sandbox.resources.streams` and :mod:`sandbox.resources.tables` write through
:func:`create_stream` and :func:`append`.

Sequence numbers are decimal strings of a fixed width per kind (56 digits for Kinesis, as
Kinesis's own; 22 for DynamoDB, within DynamoDB's 21-40), strictly increasing per shard and
growing with the arrival time, so that text order is numeric order in the index. Retention
runs on the platform clock: a record older than its stream's retention period is never read
again, and is deleted the next time its shard is written to.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DYNAMODB_DIGITS",
    "KINESIS_DIGITS",
    "Entry",
    "ShardInfo",
    "ShardRow",
    "StoredRecord",
    "StreamRecord",
    "StreamRow",
    "append",
    "create_stream",
    "delete_stream",
    "disable_stream",
    "fetch",
    "get_stream",
    "kinesis_arn",
    "kinesis_base",
    "lambda_record",
    "list_streams",
    "position",
    "purge_expired",
    "read",
    "set_retention",
    "shard_rows",
    "shards",
    "stream_exists",
    "stream_kind",
    "table_stream_arn",
    "total_shards",
]

KINESIS_DIGITS = 56
DYNAMODB_DIGITS = 22
_KINESIS_PREFIX = 49 * 10**54  # Kinesis sequence numbers of today start with 49
_DYNAMODB_PREFIX = 12 * 10**20
_DAY = 24 * 3600.0

_REGION = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d"
_KINESIS_ARN = re.compile(
    rf"^arn:aws[a-zA-Z-]*:kinesis:(?P<region>{_REGION}):(?P<account>\d{{12}}):"
    r"stream/(?P<name>[a-zA-Z0-9_.-]{1,128})$"
)
_TABLE_STREAM_ARN = re.compile(
    rf"^arn:aws[a-zA-Z-]*:dynamodb:(?P<region>{_REGION}):(?P<account>\d{{12}}):"
    r"table/(?P<table>[a-zA-Z0-9_.-]{3,255})/stream/"
    r"(?P<label>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})$"
)


# ARNs -----------------------------------------------------------------------------------------
def stream_kind(arn: str) -> str | None:
    """``"kinesis"`` for a Kinesis stream ARN, ``"dynamodb"`` for a table stream ARN, else
    None (a table ARN without ``/stream/LABEL`` is not a stream).

    >>> stream_kind("arn:aws:kinesis:us-east-1:123456789012:stream/clicks")
    'kinesis'
    >>> stream_kind("arn:aws:dynamodb:us-east-1:123456789012:table/Orders") is None
    True
    """
    if not isinstance(arn, str):
        return None
    if _KINESIS_ARN.match(arn):
        return "kinesis"
    if _TABLE_STREAM_ARN.match(arn):
        return "dynamodb"
    return None


def kinesis_arn(account: str, region: str, name: str) -> str:
    """``arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`` (Kinesis ARNs hold no creation time,
    so a stream made again under the same name has the same ARN)."""
    return f"arn:aws:kinesis:{region}:{account}:stream/{name}"


def table_stream_arn(account: str, region: str, table: str, label: str) -> str:
    """``arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL``."""
    return f"arn:aws:dynamodb:{region}:{account}:table/{table}/stream/{label}"


# records ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ShardInfo:
    """A shard as the poller sees it: a parent is read to its end before its children."""

    shard_id: str
    parent_shard_id: str | None


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One record as the poller reads it.

    ``payload`` is, for Kinesis, ``{"partitionKey": ..., "data": <base64 str>}``; for
    DynamoDB, the whole stream record (``eventID``, ``eventName``, ``dynamodb`` ...).
    ``size`` is in bytes: the data and partition key for Kinesis, ``SizeBytes`` for DynamoDB.
    ``arrival`` is platform epoch seconds.
    """

    shard_id: str
    sequence_number: str
    arrival: float
    payload: dict[str, Any]
    size: int


@dataclass(frozen=True, slots=True)
class StreamRow:
    """A stream: a Kinesis data stream, or the stream of a DynamoDB table."""

    id: int
    arn: str
    kind: str
    account: str
    region: str
    name: str
    label: str | None
    view_type: str | None
    retention_hours: int
    created: float
    disabled: float | None

    @property
    def retention(self) -> float:
        """Seconds a record stays readable."""
        return self.retention_hours * 3600.0

    @property
    def digits(self) -> int:
        return KINESIS_DIGITS if self.kind == "kinesis" else DYNAMODB_DIGITS


@dataclass(frozen=True, slots=True)
class ShardRow:
    """A shard's row: Kinesis shards have a hash key range, a closed shard an ending
    sequence number."""

    number: int
    shard_id: str
    parent_shard_id: str | None
    starting_hash: str | None
    ending_hash: str | None
    starting_sequence: str
    ending_sequence: str | None
    last_sequence: str


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as stored: ``data`` is the Kinesis data, or the DynamoDB record's JSON."""

    sequence: str
    arrival: float
    partition_key: str | None
    data: bytes
    size: int


Entry = tuple[int, str | None, bytes | dict[str, Any], int]
"""What :func:`append` writes: (shard number, partition key or None, the Kinesis data or
the DynamoDB stream record, size in bytes)."""

_STREAM_COLUMNS = (
    "id, arn, kind, account, region, name, label, view_type, retention_hours, created, disabled"
)
_SHARD_COLUMNS = (
    "number, shard_id, parent_shard_id, starting_hash, ending_hash, starting_sequence, "
    "ending_sequence, last_sequence"
)


def _stream(row: tuple[Any, ...] | None) -> StreamRow | None:
    return None if row is None else StreamRow(*row)


def get_stream(conn: sqlite3.Connection, arn: str) -> StreamRow | None:
    """The stream an ARN names, or None."""
    row = conn.execute(f"SELECT {_STREAM_COLUMNS} FROM streams WHERE arn = ?", (arn,)).fetchone()
    return _stream(row)


def list_streams(conn: sqlite3.Connection, account: str, region: str, kind: str) -> list[StreamRow]:
    """An account's streams of one kind in one region, by name, then by creation."""
    rows = conn.execute(
        f"SELECT {_STREAM_COLUMNS} FROM streams WHERE account = ? AND region = ? AND kind = ? "
        "ORDER BY name, created, id",
        (account, region, kind),
    ).fetchall()
    return [StreamRow(*r) for r in rows]


def shard_rows(conn: sqlite3.Connection, stream_id: int) -> list[ShardRow]:
    """A stream's shards, in shard order."""
    rows = conn.execute(
        f"SELECT {_SHARD_COLUMNS} FROM stream_shards WHERE stream = ? ORDER BY number",
        (stream_id,),
    ).fetchall()
    return [ShardRow(*r) for r in rows]


def total_shards(conn: sqlite3.Connection, account: str, region: str) -> int:
    """Open Kinesis shards of an account in a region (the shard quota counts these)."""
    (count,) = conn.execute(
        "SELECT count(*) FROM stream_shards JOIN streams ON streams.id = stream_shards.stream "
        "WHERE account = ? AND region = ? AND kind = 'kinesis' AND ending_sequence IS NULL",
        (account, region),
    ).fetchone()
    return int(count)


# sequence numbers -----------------------------------------------------------------------------
def kinesis_base(shard_number: int, now: float) -> int:
    """The smallest Kinesis sequence number of a shard at a moment: ``49``, the shard number
    (6 digits), the arrival time in milliseconds (16 digits), a counter (32 digits)."""
    return _KINESIS_PREFIX + shard_number * 10**48 + int(now * 1000) * 10**32


def _base(kind: str, shard_number: int, now: float) -> int:
    if kind == "kinesis":
        return kinesis_base(shard_number, now)
    return _DYNAMODB_PREFIX + int(now * 1000) * 10**7  # 12, the time in ms, a 7-digit counter


def _padded(sequence: str, digits: int) -> str | None:
    """A sequence number at the width stored (None: larger than any stored one)."""
    if not sequence.isdigit():
        raise ValueError(f"not a sequence number: {sequence!r}")
    if len(sequence) > digits:
        return None
    return sequence.zfill(digits)


# writes ---------------------------------------------------------------------------------------
def create_stream(
    conn: sqlite3.Connection,
    *,
    arn: str,
    kind: str,
    account: str,
    region: str,
    name: str,
    shards: Sequence[tuple[str, str | None, str | None]],
    now: float,
    label: str | None = None,
    view_type: str | None = None,
) -> StreamRow:
    """Add a stream and its shards, given as (shard id, starting hash key, ending hash key);
    each shard starts at the sequence number of its creation time."""
    cursor = conn.execute(
        "INSERT INTO streams (arn, kind, account, region, name, label, view_type, created) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (arn, kind, account, region, name, label, view_type, now),
    )
    stream_id = int(cursor.lastrowid or 0)
    rows = []
    for number, (shard_id, low, high) in enumerate(shards):
        start = str(_base(kind, number, now))
        rows.append((stream_id, number, shard_id, low, high, start, start))
    conn.executemany(
        "INSERT INTO stream_shards (stream, number, shard_id, starting_hash, ending_hash, "
        "starting_sequence, last_sequence) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    found = get_stream(conn, arn)
    assert found is not None
    return found


def delete_stream(conn: sqlite3.Connection, stream_id: int) -> None:
    """Remove a stream with its shards and records."""
    conn.execute("DELETE FROM stream_records WHERE stream = ?", (stream_id,))
    conn.execute("DELETE FROM stream_shards WHERE stream = ?", (stream_id,))
    conn.execute("DELETE FROM streams WHERE id = ?", (stream_id,))


def disable_stream(conn: sqlite3.Connection, stream_id: int, now: float) -> None:
    """Stop a table's stream: its shards close at their last sequence number, and the
    records stay readable for 24 hours."""
    conn.execute("UPDATE streams SET disabled = ? WHERE id = ?", (now, stream_id))
    conn.execute(
        "UPDATE stream_shards SET ending_sequence = last_sequence "
        "WHERE stream = ? AND ending_sequence IS NULL",
        (stream_id,),
    )


def set_retention(conn: sqlite3.Connection, stream_id: int, hours: int) -> None:
    conn.execute("UPDATE streams SET retention_hours = ? WHERE id = ?", (hours, stream_id))


def purge_expired(conn: sqlite3.Connection, now: float) -> None:
    """Delete disabled table streams whose 24 hours are over."""
    rows = conn.execute(
        "SELECT id FROM streams WHERE disabled IS NOT NULL AND disabled <= ?", (now - _DAY,)
    ).fetchall()
    for (stream_id,) in rows:
        delete_stream(conn, int(stream_id))


def append(
    conn: sqlite3.Connection, stream: StreamRow, entries: Sequence[Entry], now: float
) -> list[str]:
    """Write records at ``now``, in order; returns their sequence numbers.

    Each sequence number is above every earlier one of its shard and at least the base of
    the arrival time. A DynamoDB record (a dict) gets its ``dynamodb.SequenceNumber`` here.
    Records past retention in the shards written to are deleted.
    """
    last = {s.number: int(s.last_sequence) for s in shard_rows(conn, stream.id)}
    rows = []
    sequences = []
    for number, partition_key, data, size in entries:
        value = max(last[number] + 1, _base(stream.kind, number, now))
        last[number] = value
        sequence = str(value).zfill(stream.digits)
        if isinstance(data, dict):
            data["dynamodb"]["SequenceNumber"] = sequence
            blob = json.dumps(data, separators=(",", ":")).encode()
        else:
            blob = bytes(data)
        rows.append((stream.id, number, sequence, now, partition_key, blob, size))
        sequences.append(sequence)
    conn.executemany(
        "INSERT INTO stream_records (stream, shard, sequence, arrival, partition_key, data, "
        "size) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    written = {number for number, *_ in entries}
    for number in written:
        conn.execute(
            "UPDATE stream_shards SET last_sequence = ? WHERE stream = ? AND number = ?",
            (str(last[number]).zfill(stream.digits), stream.id, number),
        )
        _trim(conn, stream.id, number, now - stream.retention)
    return sequences


def _trim(conn: sqlite3.Connection, stream_id: int, shard: int, cutoff: float) -> None:
    """Delete the records past retention at the start of a shard, a chunk at a time (they
    are the oldest, so the walk stops at the first one still retained)."""
    while True:
        deleted = conn.execute(
            "DELETE FROM stream_records WHERE stream = ? AND shard = ? AND sequence IN ("
            " SELECT sequence FROM stream_records WHERE stream = ? AND shard = ?"
            " ORDER BY sequence LIMIT 500) AND arrival <= ?",
            (stream_id, shard, stream_id, shard, cutoff),
        ).rowcount
        if deleted < 500:
            return


# reads ----------------------------------------------------------------------------------------
def fetch(
    conn: sqlite3.Connection,
    stream: StreamRow,
    shard: int,
    *,
    after: str | None,
    limit: int,
    now: float,
) -> list[StoredRecord]:
    """Up to ``limit`` retained records of a shard with a sequence number above ``after``
    (None: from the oldest retained), oldest first."""
    cutoff = now - stream.retention
    if after is None:
        rows = conn.execute(
            "SELECT sequence, arrival, partition_key, data, size FROM stream_records "
            "WHERE stream = ? AND shard = ? AND arrival > ? ORDER BY sequence LIMIT ?",
            (stream.id, shard, cutoff, limit),
        ).fetchall()
    else:
        padded = _padded(after, stream.digits)
        if padded is None:
            return []
        rows = conn.execute(
            "SELECT sequence, arrival, partition_key, data, size FROM stream_records "
            "WHERE stream = ? AND shard = ? AND sequence > ? AND arrival > ? "
            "ORDER BY sequence LIMIT ?",
            (stream.id, shard, padded, cutoff, limit),
        ).fetchall()
    return [StoredRecord(r[0], r[1], r[2], bytes(r[3]), r[4]) for r in rows]


def _shard(conn: sqlite3.Connection, stream: StreamRow, shard_id: str) -> ShardRow | None:
    row = conn.execute(
        f"SELECT {_SHARD_COLUMNS} FROM stream_shards WHERE stream = ? AND shard_id = ?",
        (stream.id, shard_id),
    ).fetchone()
    return None if row is None else ShardRow(*row)


def stream_exists(conn: sqlite3.Connection, arn: str) -> bool:
    """Whether the stream exists. A disabled table stream still exists (its records stay
    readable) until the table client purges it 24 hours after it was disabled."""
    return get_stream(conn, arn) is not None


def shards(conn: sqlite3.Connection, stream_arn: str) -> list[ShardInfo]:
    """The shards of a stream, in order (none if the stream does not exist)."""
    stream = get_stream(conn, stream_arn)
    if stream is None:
        return []
    return [ShardInfo(s.shard_id, s.parent_shard_id) for s in shard_rows(conn, stream.id)]


def read(
    conn: sqlite3.Connection,
    stream_arn: str,
    shard_id: str,
    *,
    after: str | None,
    limit: int,
    now: float,
) -> list[StreamRecord]:
    """Up to ``limit`` records with a sequence number above ``after`` (None: from the
    oldest retained), oldest first, skipping records past retention at ``now``. An unknown
    stream or shard reads as empty."""
    stream = get_stream(conn, stream_arn)
    if stream is None:
        return []
    shard = _shard(conn, stream, shard_id)
    if shard is None:
        return []
    found = fetch(conn, stream, shard.number, after=after, limit=limit, now=now)
    out = []
    for r in found:
        if stream.kind == "kinesis":
            payload = {"partitionKey": r.partition_key, "data": base64.b64encode(r.data).decode()}
        else:
            payload = json.loads(r.data)
        out.append(StreamRecord(shard_id, r.sequence, r.arrival, payload, r.size))
    return out


def position(
    conn: sqlite3.Connection,
    stream_arn: str,
    shard_id: str,
    *,
    start: str,
    timestamp: float | None,
    now: float,
) -> str | None:
    """The ``after`` to read from for a StartingPosition: None for ``TRIM_HORIZON`` (the
    oldest retained record); the shard's current last sequence number for ``LATEST`` (only
    records written later); for ``AT_TIMESTAMP`` the last sequence number of a record that
    arrived before ``timestamp`` (None when there is none, so reading starts at the oldest).

    Raises:
        ValueError: an unknown ``start``, or ``AT_TIMESTAMP`` without a timestamp.
    """
    if start == "TRIM_HORIZON":
        return None
    if start not in ("LATEST", "AT_TIMESTAMP"):
        raise ValueError(f"unknown starting position {start!r}")
    stream = get_stream(conn, stream_arn)
    shard = None if stream is None else _shard(conn, stream, shard_id)
    if stream is None or shard is None:
        return None
    if start == "LATEST":
        return shard.last_sequence
    if timestamp is None:
        raise ValueError("AT_TIMESTAMP needs a timestamp")
    row = conn.execute(
        "SELECT sequence FROM stream_records WHERE stream = ? AND shard = ? AND arrival < ? "
        "AND arrival > ? ORDER BY sequence DESC LIMIT 1",
        (stream.id, shard.number, timestamp, now - stream.retention),
    ).fetchone()
    return None if row is None else str(row[0])


def lambda_record(record: StreamRecord, *, stream_arn: str, region: str) -> dict[str, Any]:
    """The record as it appears in a Lambda event's ``Records`` (spec section 9; the
    templates ``kinesis.json`` and ``dynamodb-*.json``).

    Kinesis records name the stream account's ``lambda-role`` as ``invokeIdentityArn``;
    a DynamoDB record is the stream record with ``eventSourceARN`` added.
    """
    if stream_kind(stream_arn) == "dynamodb":
        return {**record.payload, "eventSourceARN": stream_arn}
    account = stream_arn.split(":")[4]
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record.payload["partitionKey"],
            "sequenceNumber": record.sequence_number,
            "data": record.payload["data"],
            "approximateArrivalTimestamp": round(record.arrival, 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{record.shard_id}:{record.sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": f"arn:aws:iam::{account}:role/lambda-role",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }
