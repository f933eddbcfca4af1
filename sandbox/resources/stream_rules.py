"""The rules of the Kinesis stand-in that need no store: validation in the API model's
words, the hash key of a partition key, shard hash key ranges, and shard iterators.

Kept apart from :mod:`sandbox.resources.streams` (the client) so that the client reads as
the list of calls it answers; everything here is a pure function of its arguments.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sandbox.resources.stream_errors import (
    InvalidArgumentException,
    KinesisValidationException,
    validation_message,
)
from sandbox.store import stream_rows as rows
from sandbox.store.stream_rows import KINESIS_DIGITS, ShardRow, StreamRow

MAX_DATA = 1_048_576  # Kinesis quotas: a record's data blob, 1 MiB (the stream default)
MAX_PUT_RECORDS_BYTES = 5 * 1_048_576  # PutRecords: 5 MiB per request, partition keys included
ITERATOR_LIFE = 300.0  # GetShardIterator: an iterator expires 5 minutes after it is returned
MAX_GET_BYTES = 10 * 1_048_576  # GetRecords: at most 10 MiB per call
HASH_SPACE = 2**128
BIG_QUOTA_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")  # Kinesis quotas: shards/region

STREAM_NAME = re.compile(r"[a-zA-Z0-9_.-]+")
STREAM_ARN = re.compile(r"arn:aws.*:kinesis:.*:\d{12}:stream/\S+")
HASH_KEY = re.compile(r"0|([1-9]\d{0,38})")
SEQUENCE = re.compile(r"0|([1-9]\d{0,128})")
ITERATOR_TYPES = (
    "AFTER_SEQUENCE_NUMBER",
    "LATEST",
    "AT_TIMESTAMP",
    "AT_SEQUENCE_NUMBER",
    "TRIM_HORIZON",
)
ITERATOR_PREFIX = b"\x00\x00\x00\x00\x00\x00\x00\x01"  # Kinesis iterators start this way
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def hash_key(partition_key: str) -> int:
    """Kinesis's hash key of a partition key: its MD5 digest as a big-endian 128-bit
    integer (PutRecord API reference).

    >>> hash_key("a") == int("0cc175b9c0f1b6a831c399e269772661", 16)
    True
    """
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")


def shard_hash_ranges(shard_count: int) -> list[tuple[int, int]]:
    """The hash key ranges of a new stream's shards: 0..2^128-1 split evenly, the last
    shard taking the remainder (as CreateStream does).

    >>> shard_hash_ranges(2)[1] == (2**127, 2**128 - 1)
    True
    """
    width = HASH_SPACE // shard_count
    starts = [i * width for i in range(shard_count)]
    ends = [s - 1 for s in starts[1:]] + [HASH_SPACE - 1]
    return list(zip(starts, ends, strict=True))


# validation -----------------------------------------------------------------------------------
def raise_problems(problems: list[str]) -> None:
    if problems:
        raise KinesisValidationException(validation_message(problems))


def null_problem(member: str) -> str:
    return f"Value null at '{member}' failed to satisfy constraint: Member must not be null"


def range_problem(value: object, member: str, low: int, high: int) -> str:
    """A number outside the model's range for it."""
    low_side = int(str(value)) < low
    bound = f"greater than or equal to {low}" if low_side else f"less than or equal to {high}"
    return (
        f"Value '{value}' at '{member}' failed to satisfy constraint: Member must have value "
        f"{bound}"
    )


def name_problems(name: object, member: str) -> list[str]:
    if name is None:
        return [null_problem(member)]
    text = str(name)
    problems = []
    if not STREAM_NAME.fullmatch(text):
        problems.append(
            f"Value '{text}' at '{member}' failed to satisfy constraint: Member must satisfy "
            "regular expression pattern: [a-zA-Z0-9_.-]+"
        )
    if not 1 <= len(text) <= 128:
        bound = "greater than or equal to 1" if not text else "less than or equal to 128"
        problems.append(
            f"Value '{text}' at '{member}' failed to satisfy constraint: Member must have "
            f"length {bound}"
        )
    return problems


def target_problems(stream_name: str | None, stream_arn: str | None) -> list[str]:
    """The stream named by ``StreamName`` or ``StreamARN`` (a name that is an ARN counts as
    the ARN): the model's patterns, and one of them is required."""
    if stream_name is not None and str(stream_name).startswith("arn:"):
        stream_name, stream_arn = None, stream_name
    problems = []
    if stream_name is not None:
        problems += name_problems(stream_name, "streamName")
    if stream_arn is not None and (
        not 1 <= len(stream_arn) <= 2048 or not STREAM_ARN.fullmatch(stream_arn)
    ):
        problems.append(
            f"Value '{stream_arn}' at 'streamARN' failed to satisfy constraint: Member must "
            r"satisfy regular expression pattern: arn:aws.*:kinesis:.*:\d{12}:stream/\S+"
        )
    if stream_name is None and stream_arn is None:
        problems.append(null_problem("streamName"))
    return problems


def check_sequence(stream: StreamRow, shard: ShardRow, sequence: str) -> None:
    """A starting sequence number must be one of this shard's (Kinesis decodes the
    shard and the time from it)."""
    where = (
        f"used in GetShardIterator on shard {shard.shard_id} in stream {stream.name} "
        f"under account {stream.account} is invalid"
    )
    if len(sequence) != KINESIS_DIGITS or not sequence.startswith("49"):
        raise InvalidArgumentException(f"StartingSequenceNumber {sequence} {where}.")
    encoded = int(sequence[2:8])
    if encoded != shard.number:
        raise InvalidArgumentException(
            f"Invalid StartingSequenceNumber. It encodes shardId-{encoded:012d}, while it "
            f"was used in a call to a shard with {shard.shard_id}"
        )
    if sequence < shard.starting_sequence:
        raise InvalidArgumentException(
            f"StartingSequenceNumber {sequence} {where} because it did not come from this stream."
        )


def check_retention(stream: StreamRow, hours: int, *, increase: bool) -> None:
    """IncreaseStreamRetentionPeriod's and DecreaseStreamRetentionPeriod's rules: 24-8,760
    hours, and only in the direction named."""
    if hours < 24:
        raise InvalidArgumentException(
            "Minimum allowed retention period is 24 hours. Requested retention period "
            f"({hours} hours) is too short."
        )
    if hours > 8760:
        raise InvalidArgumentException(
            "Maximum allowed retention period is 8760 hours. Requested retention period "
            f"({hours} hours) is too long."
        )
    current = stream.retention_hours
    if (increase and hours < current) or (not increase and hours > current):
        way, other = ("shorter", "Decrease") if increase else ("longer", "Increase")
        raise InvalidArgumentException(
            f"Requested retention period ({hours} hours) for stream {stream.name} can "
            f"not be {way} than existing retention period ({current} hours). Use "
            f"{other}RetentionPeriod API."
        )


def shard_id_problems(shard_id: object) -> list[str]:
    if shard_id is None:
        return [null_problem("shardId")]
    return name_problems(shard_id, "shardId")


def record_problems(data: object, partition_key: object, hash_key: object, at: str) -> list[str]:
    """The model's rules for one record: PartitionKey 1-256 characters, Data at most 1 MiB,
    ExplicitHashKey a decimal number."""
    problems = []
    if partition_key is None:
        problems.append(null_problem(f"{at}partitionKey"))
    elif not 1 <= len(str(partition_key)) <= 256:
        bound = "greater than or equal to 1" if not partition_key else "less than or equal to 256"
        problems.append(
            f"Value '{partition_key}' at '{at}partitionKey' failed to satisfy constraint: "
            f"Member must have length {bound}"
        )
    if hash_key is not None and not HASH_KEY.fullmatch(str(hash_key)):
        problems.append(
            f"Value '{hash_key}' at '{at}explicitHashKey' failed to satisfy constraint: "
            r"Member must satisfy regular expression pattern: 0|([1-9]\d{0,38})"
        )
    if data is None:
        problems.append(null_problem(f"{at}data"))
    elif not isinstance(data, bytes | bytearray | memoryview | str):
        # what boto3 itself says before sending
        index = re.match(r"records\.(\d+)\.", at)
        where = f"Records[{int(index.group(1)) - 1}]." if index else ""
        raise KinesisValidationException(
            f"Invalid type for parameter {where}Data, value: {data!r}, type: {type(data)}, "
            "valid types: <class 'bytes'>, <class 'bytearray'>, file-like object"
        )
    elif len(as_bytes(data)) > MAX_DATA:
        size = len(as_bytes(data))
        problems.append(
            f"Value 'java.nio.HeapByteBuffer[pos=0 lim={size} cap={size}]' at '{at}data' failed "
            f"to satisfy constraint: Member must have length less than or equal to {MAX_DATA}"
        )
    return problems


def as_bytes(data: object) -> bytes:
    """Data as boto3 sends it: bytes as they are, text as UTF-8."""
    return data.encode() if isinstance(data, str) else bytes(data)  # type: ignore[call-overload]


def record_size(data: object, partition_key: object) -> int:
    return len(as_bytes(data)) + len(str(partition_key).encode())


def java_list(value: object) -> str:
    return "[" + ", ".join(str(v) for v in value) + "]" if isinstance(value, Sequence) else "null"


# shards and iterators -------------------------------------------------------------------------
def shard_for(shards: Sequence[ShardRow], partition_key: Any, explicit: Any) -> ShardRow:
    """The open shard whose hash key range holds the record's hash key."""
    if explicit is not None:
        key = int(explicit)
        if key >= HASH_SPACE:
            raise InvalidArgumentException(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                f"Specified value was {explicit}"
            )
    else:
        key = hash_key(str(partition_key))
    for shard in shards:
        if shard.ending_sequence is None and int(shard.starting_hash or 0) <= key <= int(
            shard.ending_hash or 0
        ):
            return shard
    raise AssertionError("the open shards cover the whole hash key space")


def shard_shape(shard: ShardRow) -> dict[str, Any]:
    """A shard in DescribeStream's and ListShards's shape."""
    numbers = {"StartingSequenceNumber": shard.starting_sequence}
    if shard.ending_sequence is not None:
        numbers["EndingSequenceNumber"] = shard.ending_sequence
    out: dict[str, Any] = {"ShardId": shard.shard_id}
    if shard.parent_shard_id is not None:
        out["ParentShardId"] = shard.parent_shard_id
    out["HashKeyRange"] = {
        "StartingHashKey": shard.starting_hash,
        "EndingHashKey": shard.ending_hash,
    }
    out["SequenceNumberRange"] = numbers
    return out


def arn_parts(arn: str) -> tuple[str, str, str]:
    """(account, region, name) of a stream ARN."""
    pieces = arn.split(":", 5)
    return pieces[4], pieces[3], pieces[5].split("/", 1)[1]


def next_token(value: object) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def make_iterator(arn: str, shard_id: str, after: str | None, created: float) -> str:
    """An opaque shard iterator: Kinesis's 8-byte prefix, then where to read and when the
    iterator was made, base64-encoded."""
    body = json.dumps([arn, shard_id, after, created], separators=(",", ":")).encode()
    return base64.b64encode(ITERATOR_PREFIX + body).decode()


def decode_iterator(iterator: object) -> tuple[str, str, str | None, float]:
    invalid = InvalidArgumentException("Invalid ShardIterator.")
    if not isinstance(iterator, str) or not 1 <= len(iterator) <= 512:
        problem = (
            null_problem("shardIterator")
            if iterator is None
            else f"Value '{iterator}' at 'shardIterator' failed to satisfy constraint: Member "
            "must have length less than or equal to 512"
        )
        if iterator is None or (isinstance(iterator, str) and len(iterator) > 512):
            raise_problems([problem])
        raise invalid
    try:
        raw = base64.b64decode(iterator, validate=True)
        if not raw.startswith(ITERATOR_PREFIX):
            raise ValueError("no prefix")
        arn, shard_id, after, created = json.loads(raw[len(ITERATOR_PREFIX) :])
        if rows.stream_kind(arn) != "kinesis" or not isinstance(created, int | float):
            raise ValueError("not a Kinesis iterator")
    except (ValueError, TypeError) as exc:
        raise invalid from exc
    return str(arn), str(shard_id), after, float(created)


def epoch(moment: datetime | float) -> float:
    """A timestamp as boto3 takes it: a datetime (naive means UTC) or epoch seconds."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    return float(moment)


def java_date(epoch: float) -> str:
    """``Wed Mar 04 01:02:40 UTC 2020``: how Kinesis writes times in its messages."""
    dt = datetime.fromtimestamp(epoch, UTC)
    return f"{_DAYS[dt.weekday()]} {_MONTHS[dt.month - 1]} {dt.day:02d} {dt:%H:%M:%S} UTC {dt.year}"
