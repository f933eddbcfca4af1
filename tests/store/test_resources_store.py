"""The delivery contract of the resource stand-ins (``sandbox.store.resources``): what the
async-invocation code calls inside its own transaction."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.store import resources
from sandbox.store.db import Database
from sandbox.store.resources import DeliveryError, DeliveryRejected, ResourceMissing, ResourceRef

QUEUE = "arn:aws:sqs:us-east-1:123456789012:dlq"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"
BUS = "arn:aws:events:us-east-1:123456789012:event-bus/orders"
DEFAULT_BUS = "arn:aws:events:eu-west-1:210987654321:event-bus/default"
BUCKET = "arn:aws:s3:::failures"
NOW = 1_736_064_000.0


@pytest.fixture
def db(sb: Sandbox) -> Database:
    return sb._shared.db


@pytest.fixture
def conn(db: Database) -> Iterator[sqlite3.Connection]:
    with db.transaction() as conn:
        yield conn


@pytest.fixture
def made(sb: Sandbox) -> Sandbox:
    """One of each: the queue dlq, the topic alerts, the bus orders, the bucket failures."""
    sb.sqs.create_queue("dlq")
    sb.sns.create_topic("alerts")
    sb.eventbridge.create_event_bus("orders")
    sb.s3.create_bucket("failures")
    return sb


# schema ---------------------------------------------------------------------------------------
def test_migration_6_creates_the_tables(db: Database) -> None:
    (version,) = db.query("PRAGMA user_version")[0]
    assert isinstance(version, int) and version >= 6
    tables = {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "sqs_queues",
        "sqs_messages",
        "sns_topics",
        "sns_subscriptions",
        "sns_messages",
        "event_buses",
        "bus_events",
        "s3_buckets",
        "s3_objects",
    } <= tables


# ARNs and existence ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("arn", "ref"),
    [
        (QUEUE, ResourceRef("sqs", "123456789012", "us-east-1", "dlq")),
        (TOPIC, ResourceRef("sns", "123456789012", "us-east-1", "alerts")),
        (BUS, ResourceRef("events", "123456789012", "us-east-1", "orders")),
        (BUCKET, ResourceRef("s3", "", "", "failures")),
        (
            "arn:aws:sqs:us-east-1:123456789012:q.fifo",
            ResourceRef("sqs", "123456789012", "us-east-1", "q.fifo"),
        ),
    ],
)
def test_parse_arn_round_trips(arn: str, ref: ResourceRef) -> None:
    assert resources.parse_arn(arn) == ref
    assert ref.arn == arn


@pytest.mark.parametrize(
    "arn",
    [
        "dlq",
        "arn:aws:sqs:us-east-1:12345:dlq",  # account not 12 digits
        "arn:aws:sns:us-east-1:123456789012:alerts:5f1c0a9e",  # a subscription
        "arn:aws:events:us-east-1:123456789012:rule/r",
        "arn:aws:events:us-east-1:123456789012:event-bus/",
        "arn:aws:s3:::failures/key",
        "arn:aws:lambda:us-east-1:123456789012:function:fn",
    ],
)
def test_other_arns_name_nothing(conn: sqlite3.Connection, arn: str) -> None:
    assert resources.parse_arn(arn) is None
    assert resources.exists(conn, arn) is False


def test_exists_for_the_four_kinds(made: Sandbox) -> None:
    with made._shared.db.read() as conn:
        for arn in (QUEUE, TOPIC, BUS, BUCKET, DEFAULT_BUS):
            assert resources.exists(conn, arn), arn
        for arn in (
            QUEUE.replace("dlq", "other"),
            TOPIC.replace("us-east-1", "eu-west-1"),
            BUS.replace("123456789012", "210987654321"),
            "arn:aws:s3:::other",
        ):
            assert not resources.exists(conn, arn), arn


def test_is_fifo(sb: Sandbox) -> None:
    sb.sqs.create_queue("q.fifo", {"FifoQueue": "true"})
    sb.sqs.create_queue("q")
    sb.sns.create_topic("t.fifo", {"FifoTopic": "true"})
    with sb._shared.db.read() as conn:
        assert resources.is_fifo(conn, "arn:aws:sqs:us-east-1:123456789012:q.fifo")
        assert resources.is_fifo(conn, "arn:aws:sns:us-east-1:123456789012:t.fifo")
        assert not resources.is_fifo(conn, "arn:aws:sqs:us-east-1:123456789012:q")
        assert not resources.is_fifo(conn, BUS)


# digests --------------------------------------------------------------------------------------
def test_md5_of_body() -> None:
    assert resources.md5_of_body("hello") == "5d41402abc4b2a76b9719d911017c592"
    assert resources.md5_of_body("é") == hashlib.md5("é".encode()).hexdigest()


def test_md5_of_message_attributes_by_hand() -> None:
    """One String attribute, encoded byte by byte as the SQS Developer Guide describes."""
    encoded = (
        b"\x00\x00\x00\x01"
        + b"a"  # name
        + b"\x00\x00\x00\x06"
        + b"String"  # data type
        + b"\x01"  # transport type: string
        + b"\x00\x00\x00\x01"
        + b"x"  # value
    )
    attributes = {"a": {"DataType": "String", "StringValue": "x"}}
    assert resources.md5_of_message_attributes(attributes) == hashlib.md5(encoded).hexdigest()
    assert resources.md5_of_message_attributes(attributes) == "a512aac9938034acb0b3c3d965944bf1"
    binary: dict[str, dict[str, str | bytes]] = {
        "b": {"DataType": "Binary", "BinaryValue": b"\xff"}
    }
    encoded = b"\x00\x00\x00\x01b\x00\x00\x00\x06Binary\x02\x00\x00\x00\x01\xff"
    assert resources.md5_of_message_attributes(binary) == hashlib.md5(encoded).hexdigest()


# send_message ---------------------------------------------------------------------------------
def test_send_message_is_read_back_by_the_client(made: Sandbox) -> None:
    attributes = {
        "RequestID": {"DataType": "String", "StringValue": "0b6f2c1e"},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
    }
    with made._shared.db.transaction() as conn:
        message_id = resources.send_message(
            conn, QUEUE, '{"orderId": 42}', message_attributes=attributes, now=NOW
        )
    url = made.sqs.get_queue_url("dlq")["QueueUrl"]
    [message] = made.sqs.receive_message(
        url, attribute_names=["SentTimestamp"], message_attribute_names=["All"]
    )["Messages"]
    assert message["MessageId"] == message_id
    assert message["Body"] == '{"orderId": 42}'
    assert message["MessageAttributes"] == attributes
    assert message["MD5OfMessageAttributes"] == resources.md5_of_message_attributes(attributes)
    assert message["Attributes"] == {"SentTimestamp": "1736064000000"}


def test_a_delivery_rolls_back_with_the_callers_transaction(made: Sandbox) -> None:
    def deliver_then_fail() -> None:
        with made._shared.db.transaction() as conn:
            resources.send_message(conn, QUEUE, "lost", now=NOW)
            resources.publish(conn, TOPIC, "lost", now=NOW)
            resources.put_object(conn, "failures", "k", b"lost", now=NOW)
            raise RuntimeError("the caller changed its mind")

    with pytest.raises(RuntimeError, match="changed its mind"):
        deliver_then_fail()
    url = made.sqs.get_queue_url("dlq")["QueueUrl"]
    assert made.sqs.receive_message(url) == {}
    assert made.sns.published(TOPIC) == []
    assert made.s3.list_objects_v2("failures")["KeyCount"] == 0


def test_missing_targets_raise_resource_missing(conn: sqlite3.Connection) -> None:
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: resources.send_message(conn, QUEUE, "x", now=NOW), f"The queue {QUEUE} does"),
        (lambda: resources.publish(conn, TOPIC, "x", now=NOW), f"The topic {TOPIC} does"),
        (lambda: resources.put_event(conn, BUS, {}, now=NOW), f"The event bus {BUS} does"),
        (lambda: resources.put_object(conn, "failures", "k", b"", now=NOW), "The bucket arn"),
        (lambda: resources.send_message(conn, TOPIC, "x", now=NOW), f"The topic {TOPIC} does"),
        (lambda: resources.send_message(conn, "nonsense", "x", now=NOW), "The resource nonsense"),
    ]
    for call, message in cases:
        with pytest.raises(ResourceMissing, match=message) as caught:
            call()
        assert isinstance(caught.value, DeliveryError)
        assert caught.value.message.endswith("does not exist.")


def test_a_queue_can_reject_a_delivery(sb: Sandbox) -> None:
    sb.sqs.create_queue("small", {"MaximumMessageSize": "1024"})
    sb.sqs.create_queue("q.fifo", {"FifoQueue": "true"})
    with sb._shared.db.transaction() as conn:
        small = "arn:aws:sqs:us-east-1:123456789012:small"
        with pytest.raises(DeliveryRejected, match="Message must be shorter than 1024") as caught:
            resources.send_message(conn, small, "x" * 1025, now=NOW)
        assert caught.value.code == "InvalidParameterValue"
        assert caught.value.arn == small
        fifo = "arn:aws:sqs:us-east-1:123456789012:q.fifo"
        with pytest.raises(DeliveryRejected, match="MessageGroupId") as caught:
            resources.send_message(conn, fifo, "x", now=NOW)
        assert caught.value.code == "MissingParameter"


# publish --------------------------------------------------------------------------------------
def test_publish_fans_out_in_the_same_transaction(made: Sandbox) -> None:
    made.sns.subscribe(TOPIC, "sqs", QUEUE)
    attributes = {"ErrorCode": {"DataType": "Number", "StringValue": "200"}}
    with made._shared.db.transaction() as conn:
        message_id = resources.publish(
            conn, TOPIC, "record", subject="s", message_attributes=attributes, now=NOW
        )
        (count,) = conn.execute("SELECT COUNT(*) FROM sqs_messages").fetchone()
        assert count == 1  # delivered before the caller commits
    url = made.sqs.get_queue_url("dlq")["QueueUrl"]
    body = json.loads(made.sqs.receive_message(url)["Messages"][0]["Body"])
    assert body["MessageId"] == message_id
    assert body["Message"] == "record"
    assert body["MessageAttributes"] == {"ErrorCode": {"Type": "Number", "Value": "200"}}
    assert made.sns.published(TOPIC)[0]["MessageId"] == message_id


def test_publish_over_256_kib_is_rejected(made: Sandbox) -> None:
    with (
        made._shared.db.transaction() as conn,
        pytest.raises(DeliveryRejected, match="Message too long"),
    ):
        resources.publish(conn, TOPIC, "x" * 262_145, now=NOW)


# put_event ------------------------------------------------------------------------------------
def test_put_event_on_the_implicit_default_bus(sb: Sandbox) -> None:
    event = {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "Lambda Function Invocation Result - Failure",
        "source": "lambda",
        "account": "210987654321",
        "time": "2025-01-05T08:00:00Z",
        "region": "eu-west-1",
        "resources": [DEFAULT_BUS],
        "detail": {"requestContext": {"condition": "RetriesExhausted"}},
    }
    with sb._shared.db.transaction() as conn:
        assert resources.put_event(conn, DEFAULT_BUS, event, now=NOW) == event["id"]
    other = Sandbox(account_id="210987654321", region="eu-west-1", _shared=sb._shared)
    assert other.eventbridge.received() == [event]


# put_object -----------------------------------------------------------------------------------
def test_put_object_returns_the_quoted_md5(made: Sandbox) -> None:
    with made._shared.db.transaction() as conn:
        etag = resources.put_object(conn, "failures", "fn/2025/01/05/r.json", b"{}", now=NOW)
    assert etag == '"99914b932bd37a50b983c5e7c90ae93b"'  # md5("{}")
    found = made.s3.get_object("failures", "fn/2025/01/05/r.json")
    assert (found["ETag"], found["ContentType"], found["Body"]) == (etag, "application/json", b"{}")


def test_the_contract_survives_reopening(tmp_path: Path) -> None:
    home = tmp_path
    with Sandbox(home, clock=FakeClock()) as sb:
        sb.sqs.create_queue("dlq")
    with Sandbox(home, clock=FakeClock()) as sb:
        with sb._shared.db.transaction() as conn:
            assert resources.exists(conn, QUEUE)
            resources.send_message(conn, QUEUE, "after a restart", now=NOW)
        url = sb.sqs.get_queue_url("dlq")["QueueUrl"]
        assert sb.sqs.receive_message(url)["Messages"][0]["Body"] == "after a restart"
