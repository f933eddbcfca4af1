"""The Lambda SQS poller's store API (``sandbox.store.queue_rows``): queue_info, poll,
delete, release, depth and the Lambda event record, on a fake clock."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.events import md5_of_message_attributes, validate
from sandbox.resources import SQSClient
from sandbox.store import queue_rows
from sandbox.store.queue_rows import PolledMessage, QueueInfo

URL = "https://sqs.us-east-1.amazonaws.com/123456789012"
ARN = "arn:aws:sqs:us-east-1:123456789012"
QUEUE = f"{ARN}:orders"
TEMPLATE = Path(__file__).parents[2] / "sandbox" / "events" / "templates" / "sqs.json"


@pytest.fixture
def sqs(sb: Sandbox) -> SQSClient:
    return sb.sqs


@pytest.fixture
def url(sqs: SQSClient) -> str:
    return sqs.create_queue("orders")["QueueUrl"]


def _poll(sb: Sandbox, arn: str = QUEUE, count: int = 10, timeout: float = 30.0) -> list[Any]:
    with sb._shared.db.transaction(traffic=True) as conn:
        return queue_rows.poll(
            conn, arn, max_messages=count, visibility_timeout=timeout, now=sb.clock.time()
        )


def _depth(sb: Sandbox, arn: str = QUEUE) -> tuple[int, int, int]:
    with sb._shared.db.read() as conn:
        return queue_rows.depth(conn, arn, sb.clock.time())


def _delete(sb: Sandbox, handles: list[str], arn: str = QUEUE) -> int:
    with sb._shared.db.transaction(traffic=True) as conn:
        return queue_rows.delete(conn, arn, handles)


def _release(sb: Sandbox, handles: list[str], visible_at: float, arn: str = QUEUE) -> None:
    with sb._shared.db.transaction(traffic=True) as conn:
        queue_rows.release(conn, arn, handles, visible_at=visible_at)


# queue_info -----------------------------------------------------------------------------------
def test_queue_info(sb: Sandbox, sqs: SQSClient) -> None:
    sqs.create_queue("dlq")
    policy = json.dumps({"deadLetterTargetArn": f"{ARN}:dlq", "maxReceiveCount": 4})
    sqs.create_queue("orders", {"VisibilityTimeout": "90", "RedrivePolicy": policy})
    sqs.create_queue("jobs.fifo", {"FifoQueue": "true"})
    with sb._shared.db.read() as conn:
        assert queue_rows.queue_info(conn, QUEUE) == QueueInfo(
            arn=QUEUE,
            url=f"{URL}/orders",
            fifo=False,
            visibility_timeout=90,
            redrive_max_receive_count=4,
            dlq_arn=f"{ARN}:dlq",
        )
        fifo = queue_rows.queue_info(conn, f"{ARN}:jobs.fifo")
        assert fifo is not None and fifo.fifo and fifo.dlq_arn is None
        assert fifo.redrive_max_receive_count is None and fifo.visibility_timeout == 30
        assert queue_rows.queue_info(conn, f"{ARN}:missing") is None
        assert queue_rows.queue_info(conn, "not an arn") is None
        assert queue_rows.queue_info(conn, "arn:aws:sns:us-east-1:123456789012:orders") is None


# poll -----------------------------------------------------------------------------------------
def test_poll_takes_more_than_ten_oldest_first(sb: Sandbox, sqs: SQSClient, url: str) -> None:
    for i in range(30):
        sqs.send_message(url, f"m{i:02}")
    batch = _poll(sb, count=25)
    assert [m.body for m in batch] == [f"m{i:02}" for i in range(25)]
    assert len({m.receipt_handle for m in batch}) == 25
    assert _depth(sb) == (5, 25, 0)
    assert [m["Body"] for m in sqs.receive_message(url, 10)["Messages"]] == [
        f"m{i}" for i in range(25, 30)
    ]


def test_a_polled_message(sb: Sandbox, sqs: SQSClient, url: str, clock: FakeClock) -> None:
    attributes: dict[str, dict[str, str | bytes]] = {
        "Author": {"DataType": "String", "StringValue": "J"},
        "Blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    sent = sqs.send_message(url, '{"foo":"bar"}', attributes)
    clock.advance(0.123)
    (message,) = _poll(sb)
    assert message == PolledMessage(
        message_id=sent["MessageId"],
        receipt_handle=message.receipt_handle,
        body='{"foo":"bar"}',
        attributes={
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1736064000000",
            "SenderId": "123456789012",
            "ApproximateFirstReceiveTimestamp": "1736064000123",
        },
        message_attributes=attributes,
        md5_of_body=hashlib.md5(b'{"foo":"bar"}').hexdigest(),
        md5_of_message_attributes=sent["MD5OfMessageAttributes"],
        size=13 + len("Author") + len("String") + 1 + len("Blob") + len("Binary") + 2,
    )
    assert message.receipt_handle.startswith("AQEB")


def test_poll_uses_the_visibility_timeout_given(
    sb: Sandbox, sqs: SQSClient, url: str, clock: FakeClock
) -> None:
    sqs.send_message(url, "x")
    assert len(_poll(sb, timeout=2.5)) == 1
    clock.advance(2.4)
    assert _poll(sb) == []
    clock.advance(0.1)
    (again,) = _poll(sb)
    assert again.attributes["ApproximateReceiveCount"] == "2"


def test_poll_limits_and_a_missing_queue(sb: Sandbox, url: str) -> None:
    for count in (0, 10_001):
        with pytest.raises(ValueError, match="max_messages must be between 1 and 10000"):
            _poll(sb, count=count)
    assert len(_poll(sb, count=10_000)) == 0
    assert _poll(sb, arn=f"{ARN}:missing") == []
    assert _depth(sb, f"{ARN}:missing") == (0, 0, 0)


def test_redrive_during_poll(sb: Sandbox, sqs: SQSClient, clock: FakeClock) -> None:
    dlq = sqs.create_queue("dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": f"{ARN}:dlq", "maxReceiveCount": 2})
    url = sqs.create_queue("orders", {"RedrivePolicy": policy})["QueueUrl"]
    poison = sqs.send_message(url, "poison")["MessageId"]
    for attempt in (1, 2):  # a failing batch: it comes back after the visibility timeout
        (message,) = _poll(sb)
        assert message.attributes["ApproximateReceiveCount"] == str(attempt)
        _release(sb, [message.receipt_handle], visible_at=clock.time() + 30)
        assert _poll(sb) == []
        clock.advance(30)
    sqs.send_message(url, "fine")
    assert [m.body for m in _poll(sb)] == ["fine"]  # the poll moved poison to the DLQ
    assert _depth(sb, f"{ARN}:dlq") == (1, 0, 0)
    moved = sqs.receive_message(dlq, attribute_names=["All"])["Messages"][0]
    assert moved["MessageId"] == poison
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == QUEUE


def test_fifo_groups_block_across_polls(sb: Sandbox, sqs: SQSClient, clock: FakeClock) -> None:
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    sqs.create_queue("jobs.fifo", attributes)
    fifo = f"{ARN}:jobs.fifo"
    url = f"{URL}/jobs.fifo"
    for body, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("a3", "a"), ("b2", "b")]:
        sqs.send_message(url, body, message_group_id=group)
    first = _poll(sb, fifo, count=2)
    assert [m.body for m in first] == ["a1", "a2"]  # one group first, in order
    assert first[0].attributes["MessageGroupId"] == "a"
    second = _poll(sb, fifo, count=10)
    assert [m.body for m in second] == ["b1", "b2"]  # group a has messages in flight
    assert _poll(sb, fifo) == []
    assert _delete(sb, [m.receipt_handle for m in first], fifo) == 2
    assert [m.body for m in _poll(sb, fifo)] == ["a3"]
    _release(sb, [m.receipt_handle for m in second], visible_at=clock.time(), arn=fifo)
    again = _poll(sb, fifo)
    assert [m.body for m in again] == ["b1", "b2"]
    assert again[0].attributes["ApproximateReceiveCount"] == "2"


# delete, release, depth -----------------------------------------------------------------------
def test_delete_counts_what_it_deleted(
    sb: Sandbox, sqs: SQSClient, url: str, clock: FakeClock
) -> None:
    for body in ("a", "b", "c"):
        sqs.send_message(url, body)
    first = _poll(sb, timeout=10)
    clock.advance(10)
    second = _poll(sb)  # the same three, received again: the first handles are stale
    assert [m.body for m in second] == ["a", "b", "c"]
    assert _delete(sb, [m.receipt_handle for m in first] + ["garbage"]) == 0
    assert _delete(sb, [second[2].receipt_handle]) == 1
    assert _delete(sb, [second[2].receipt_handle]) == 0
    assert _delete(sb, []) == 0
    assert _depth(sb) == (0, 2, 0)


def test_release_and_depth(sb: Sandbox, sqs: SQSClient, url: str, clock: FakeClock) -> None:
    for body in ("a", "b", "c"):
        sqs.send_message(url, body)
    sqs.send_message(url, "later", delay_seconds=60)
    batch = _poll(sb, timeout=1000)
    assert _depth(sb) == (0, 3, 1)
    _release(sb, [batch[0].receipt_handle], visible_at=clock.time())  # back at once
    _release(sb, [batch[1].receipt_handle], visible_at=clock.time() + 5)
    assert _depth(sb) == (1, 2, 1)
    assert [m.body for m in _poll(sb, timeout=1000)] == ["a"]
    clock.advance(5)
    assert [m.body for m in _poll(sb, timeout=1000)] == ["b"]
    clock.advance(55)
    assert [m.body for m in _poll(sb, timeout=1000)] == ["later"]
    _release(sb, ["garbage"], visible_at=clock.time())  # an unknown handle changes nothing
    assert _depth(sb) == (0, 4, 0)


# lambda_record --------------------------------------------------------------------------------
def test_lambda_record_field_by_field(
    sb: Sandbox, sqs: SQSClient, url: str, clock: FakeClock
) -> None:
    """Against the record of spec §9 (and the events package's template from the Lambda
    Developer Guide): same fields in the same order, same shapes."""
    template = json.loads(TEMPLATE.read_text())["Records"][0]
    attributes: dict[str, dict[str, str | bytes]] = {
        "Author": {"DataType": "String", "StringValue": "J"}
    }
    sent = sqs.send_message(url, '{"foo":"bar"}', attributes)
    clock.advance(0.123)
    (message,) = _poll(sb)
    record = queue_rows.lambda_record(message, queue_arn=QUEUE, region="us-east-1")
    assert list(record) == list(template)
    assert record["messageId"] == sent["MessageId"]
    assert record["receiptHandle"] == message.receipt_handle
    assert record["body"] == '{"foo":"bar"}'
    assert record["attributes"] == {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": "1736064000000",
        "SenderId": "123456789012",
        "ApproximateFirstReceiveTimestamp": "1736064000123",
    }
    assert list(record["attributes"]) == list(template["attributes"])
    assert record["messageAttributes"] == {
        "Author": {
            "stringValue": "J",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }
    assert list(record["messageAttributes"]["Author"]) == list(
        template["messageAttributes"]["Author"]
    )
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert record["md5OfMessageAttributes"] == md5_of_message_attributes(
        record["messageAttributes"]
    )
    assert record["md5OfBody"] == sent["MD5OfMessageBody"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == QUEUE
    assert record["awsRegion"] == "us-east-1"
    assert validate("sqs", {"Records": [record]}) == []
    json.dumps(record)  # JSON all the way down


def test_lambda_record_without_attributes_and_with_binary(
    sb: Sandbox, sqs: SQSClient, url: str
) -> None:
    sqs.send_message(url, "plain")
    sqs.send_message(url, "blob", {"Raw": {"DataType": "Binary.gz", "BinaryValue": b"\xff\x00"}})
    plain, blob = (
        queue_rows.lambda_record(m, queue_arn=QUEUE, region="us-east-1") for m in _poll(sb)
    )
    assert plain["messageAttributes"] == {}
    assert "md5OfMessageAttributes" in plain and plain["md5OfMessageAttributes"] is None
    assert blob["messageAttributes"] == {
        "Raw": {
            "binaryValue": base64.b64encode(b"\xff\x00").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary.gz",
        }
    }
    assert blob["md5OfMessageAttributes"] == md5_of_message_attributes(blob["messageAttributes"])


def test_lambda_record_of_a_fifo_message(sb: Sandbox, sqs: SQSClient, clock: FakeClock) -> None:
    attributes = {"FifoQueue": "true"}
    url = sqs.create_queue("jobs.fifo", attributes)["QueueUrl"]
    sent = sqs.send_message(url, "x", message_group_id="g-7", message_deduplication_id="d-1")
    (message,) = _poll(sb, f"{ARN}:jobs.fifo")
    record = queue_rows.lambda_record(message, queue_arn=f"{ARN}:jobs.fifo", region="us-east-1")
    assert record["attributes"] == {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": "1736064000000",
        "SequenceNumber": sent["SequenceNumber"],
        "MessageGroupId": "g-7",
        "SenderId": "123456789012",
        "MessageDeduplicationId": "d-1",
        "ApproximateFirstReceiveTimestamp": "1736064000000",
    }
    assert record["eventSourceARN"] == f"{ARN}:jobs.fifo"
    assert validate("sqs", {"Records": [record]}) == []
