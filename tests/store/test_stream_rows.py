"""The poller's contract over streams (``sandbox.store.stream_rows``): what an event source
mapping calls, inside its own transaction, for Kinesis streams and DynamoDB table streams."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from sandbox import FakeClock, Sandbox, events
from sandbox.store import stream_rows
from sandbox.store.db import Database
from sandbox.store.stream_rows import ShardInfo, StreamRecord

STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
TEMPLATES = Path(events.__file__).parent / "templates"


@pytest.fixture
def db(sb: Sandbox) -> Database:
    return sb._shared.db


def _put(sb: Sandbox, *values: str, key: str = "user-7") -> list[str]:
    return [sb.kinesis.put_record("clicks", v.encode(), key)["SequenceNumber"] for v in values]


def _table(sb: Sandbox, view: str = "NEW_AND_OLD_IMAGES") -> str:
    answer = sb.dynamodb.create_table(
        "Orders",
        [{"AttributeName": "id", "KeyType": "HASH"}],
        [{"AttributeName": "id", "AttributeType": "S"}],
        stream_specification={"StreamEnabled": True, "StreamViewType": view},
    )
    return str(answer["TableDescription"]["LatestStreamArn"])


def _read(
    db: Database,
    arn: str,
    shard: str,
    *,
    now: float = 1_736_064_000.0,  # the FakeClock's start
    after: str | None = None,
    limit: int = 100,
) -> list[StreamRecord]:
    with db.read() as conn:
        return stream_rows.read(conn, arn, shard, after=after, limit=limit, now=now)


# names ----------------------------------------------------------------------------------------
def test_stream_kind_tells_kinesis_from_table_streams() -> None:
    assert stream_rows.stream_kind(STREAM) == "kinesis"
    table_stream = (
        "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2025-01-05T08:00:00.000"
    )
    assert stream_rows.stream_kind(table_stream) == "dynamodb"
    for other in (
        "arn:aws:dynamodb:us-east-1:123456789012:table/Orders",  # the table, not its stream
        "arn:aws:sqs:us-east-1:123456789012:clicks",
        "arn:aws:kinesis:us-east-1:123456789012:clicks",
        "clicks",
        "",
    ):
        assert stream_rows.stream_kind(other) is None


def test_stream_exists_and_shards(sb: Sandbox, db: Database) -> None:
    with db.read() as conn:
        assert not stream_rows.stream_exists(conn, STREAM)
        assert stream_rows.shards(conn, STREAM) == []
    sb.kinesis.create_stream("clicks", shard_count=3)
    table_stream = _table(sb)
    with db.read() as conn:
        assert stream_rows.stream_exists(conn, STREAM)
        assert stream_rows.stream_exists(conn, table_stream)
        assert stream_rows.shards(conn, STREAM) == [
            ShardInfo(f"shardId-00000000000{i}", None) for i in range(3)
        ]
        (only,) = stream_rows.shards(conn, table_stream)
    assert only.parent_shard_id is None
    assert only.shard_id.startswith("shardId-00000001736064000000-")  # creation time in ms


# read -----------------------------------------------------------------------------------------
def test_read_kinesis_oldest_first_after_a_sequence_number(
    sb: Sandbox, db: Database, clock: FakeClock
) -> None:
    sb.kinesis.create_stream("clicks")
    sequences = _put(sb, "a", "b", "c")
    now = clock.time()
    records = _read(db, STREAM, "shardId-000000000000", now=now)
    assert [r.sequence_number for r in records] == sequences
    first = records[0]
    assert first == StreamRecord(
        shard_id="shardId-000000000000",
        sequence_number=sequences[0],
        arrival=now,
        payload={"partitionKey": "user-7", "data": base64.b64encode(b"a").decode()},
        size=len(b"a") + len(b"user-7"),
    )
    after_first = _read(db, STREAM, "shardId-000000000000", after=sequences[0], now=now)
    assert [r.sequence_number for r in after_first] == sequences[1:]
    assert len(_read(db, STREAM, "shardId-000000000000", limit=2, now=now)) == 2
    assert _read(db, STREAM, "shardId-000000000000", after=sequences[-1], now=now) == []
    assert _read(db, STREAM, "shardId-000000000009", now=now) == []  # no such shard
    assert _read(db, STREAM.replace("clicks", "none"), "shardId-000000000000", now=now) == []


def test_read_skips_records_past_retention(sb: Sandbox, db: Database, clock: FakeClock) -> None:
    sb.kinesis.create_stream("clicks")
    (old,) = _put(sb, "old")
    clock.advance(3600)
    (new,) = _put(sb, "new")
    shard = "shardId-000000000000"
    assert len(_read(db, STREAM, shard, now=clock.time())) == 2
    # 24 h after the first record only the second is left, even when asked from the start
    clock.advance(23 * 3600)
    assert [r.sequence_number for r in _read(db, STREAM, shard, now=clock.time())] == [new]
    assert _read(db, STREAM, shard, after=None, now=clock.time())[0].sequence_number == new
    clock.advance(3600)
    assert _read(db, STREAM, shard, now=clock.time()) == []
    assert old < new


def test_trimmed_records_are_deleted_when_the_shard_is_written(
    sb: Sandbox, db: Database, clock: FakeClock
) -> None:
    sb.kinesis.create_stream("clicks")
    _put(sb, *[str(i) for i in range(1200)])
    clock.advance(24 * 3600)
    _put(sb, "fresh")
    assert db.query("SELECT count(*) FROM stream_records")[0][0] == 1


def test_read_dynamodb_gives_the_stream_record(sb: Sandbox, db: Database, clock: FakeClock) -> None:
    arn = _table(sb)
    sb.dynamodb.put_item("Orders", {"id": {"S": "1"}, "n": {"N": "1"}})
    with db.read() as conn:
        (shard,) = stream_rows.shards(conn, arn)
    (record,) = _read(db, arn, shard.shard_id, now=clock.time())
    assert record.payload["eventName"] == "INSERT"
    assert record.payload["dynamodb"]["SequenceNumber"] == record.sequence_number
    assert record.size == record.payload["dynamodb"]["SizeBytes"]
    assert len(record.sequence_number) == 22


def test_ten_thousand_records_are_cheap(sb: Sandbox, db: Database, clock: FakeClock) -> None:
    sb.kinesis.create_stream("clicks")
    entries = [{"Data": b"x" * 10, "PartitionKey": "k"} for _ in range(500)]
    started = time.monotonic()
    for _ in range(20):
        sb.kinesis.put_records(entries, "clicks")
    shard = "shardId-000000000000"
    last = _read(db, STREAM, shard, limit=10_000, now=clock.time())
    assert len(last) == 10_000
    middle = last[5000].sequence_number
    assert len(_read(db, STREAM, shard, after=middle, limit=10, now=clock.time())) == 10
    assert time.monotonic() - started < 20
    plan = db.query(
        "EXPLAIN QUERY PLAN SELECT sequence FROM stream_records WHERE stream = 1 AND shard = 0 "
        "AND sequence > '1' ORDER BY sequence LIMIT 10"
    )
    assert "PRIMARY KEY" in str(plan) and "TEMP B-TREE" not in str(plan)


# position -------------------------------------------------------------------------------------
def test_position_for_each_starting_position(sb: Sandbox, db: Database, clock: FakeClock) -> None:
    sb.kinesis.create_stream("clicks")
    shard = "shardId-000000000000"
    with db.read() as conn:
        empty_latest = stream_rows.position(
            conn, STREAM, shard, start="LATEST", timestamp=None, now=clock.time()
        )
    assert empty_latest is not None
    (first,) = _put(sb, "first")
    assert [r.sequence_number for r in _read(db, STREAM, shard, after=empty_latest)] == [first]
    middle = clock.advance(10)
    clock.advance(10)
    (second,) = _put(sb, "second")
    with db.read() as conn:

        def position(start: str, timestamp: float | None = None) -> str | None:
            return stream_rows.position(
                conn, STREAM, shard, start=start, timestamp=timestamp, now=clock.time()
            )

        assert position("TRIM_HORIZON") is None
        assert position("LATEST") == second
        assert position("AT_TIMESTAMP", middle) == first  # reading resumes with "second"
        assert position("AT_TIMESTAMP", 0) is None  # from the oldest
        assert position("AT_TIMESTAMP", clock.time() + 1) == second
        with pytest.raises(ValueError, match="unknown starting position"):
            position("AT_SEQUENCE_NUMBER")
        with pytest.raises(ValueError, match="AT_TIMESTAMP needs a timestamp"):
            position("AT_TIMESTAMP")


# lambda_record --------------------------------------------------------------------------------
def test_kinesis_lambda_record_has_the_template_shape(sb: Sandbox, db: Database) -> None:
    sb.kinesis.create_stream("clicks")
    (sequence,) = _put(sb, '{"temperature": 21.5}', key="sensor-7")
    (record,) = _read(db, STREAM, "shardId-000000000000")
    made = stream_rows.lambda_record(record, stream_arn=STREAM, region="us-east-1")
    template = json.loads((TEMPLATES / "kinesis.json").read_text())["Records"][0]
    assert list(made) == list(template)
    assert list(made["kinesis"]) == list(template["kinesis"])
    assert made == {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "sensor-7",
            "sequenceNumber": sequence,
            "data": base64.b64encode(b'{"temperature": 21.5}').decode(),
            "approximateArrivalTimestamp": 1736064000.0,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000000:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
        "awsRegion": "us-east-1",
        "eventSourceARN": STREAM,
    }
    assert events.validate("kinesis", {"Records": [made]}) == []


@pytest.mark.parametrize("name", ["insert", "modify", "remove"])
def test_dynamodb_lambda_record_has_the_template_shape(
    sb: Sandbox, db: Database, clock: FakeClock, name: str
) -> None:
    arn = _table(sb)
    sb.dynamodb.put_item("Orders", {"id": {"S": "1"}, "status": {"S": "PLACED"}})
    sb.dynamodb.put_item("Orders", {"id": {"S": "1"}, "status": {"S": "SHIPPED"}})
    sb.dynamodb.delete_item("Orders", {"id": {"S": "1"}})
    with db.read() as conn:
        (shard,) = stream_rows.shards(conn, arn)
    found = _read(db, arn, shard.shard_id, now=clock.time())
    record = found[["insert", "modify", "remove"].index(name)]
    made = stream_rows.lambda_record(record, stream_arn=arn, region="us-east-1")
    template = json.loads((TEMPLATES / f"dynamodb-{name}.json").read_text())["Records"][0]
    assert list(made) == list(template)
    assert list(made["dynamodb"]) == list(template["dynamodb"])
    assert made["eventName"] == name.upper()
    assert made["eventSourceARN"] == arn
    assert made["dynamodb"]["ApproximateCreationDateTime"] == 1736064000
    assert events.validate(f"dynamodb-{name}", {"Records": [made]}) == []
