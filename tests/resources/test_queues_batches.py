"""SQS batch calls: SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch —
boto3's Successful/Failed shapes, per-entry errors and whole-request errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.resources import SQSClient
from sandbox.resources.errors import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    QueueDoesNotExist,
    ServiceError,
    TooManyEntriesInBatchRequest,
)

URL = "https://sqs.us-east-1.amazonaws.com/123456789012"


@pytest.fixture
def sqs(sb: Sandbox) -> SQSClient:
    return sb.sqs


@pytest.fixture
def url(sqs: SQSClient) -> str:
    return sqs.create_queue("orders")["QueueUrl"]


def _handles(sqs: SQSClient, url: str, count: int) -> list[str]:
    got = sqs.receive_message(url, count)["Messages"]
    assert len(got) == count
    return [m["ReceiptHandle"] for m in got]


# SendMessageBatch -----------------------------------------------------------------------------
def test_send_batch_answers_each_entry(sqs: SQSClient, url: str) -> None:
    attributes: dict[str, dict[str, str | bytes]] = {
        "k": {"DataType": "String", "StringValue": "v"}
    }
    answer = sqs.send_message_batch(
        url,
        [
            {"Id": "ok-1", "MessageBody": "one", "MessageAttributes": attributes},
            {"Id": "empty", "MessageBody": ""},
            {"Id": "ok_2", "MessageBody": "two", "DelaySeconds": 0},
            {"Id": "late", "MessageBody": "three", "DelaySeconds": 901},
            {"Id": "bad", "MessageBody": "esc \x1b"},
        ],
    )
    single = sqs.send_message(url, "one", attributes)
    assert [s["Id"] for s in answer["Successful"]] == ["ok-1", "ok_2"]
    first = answer["Successful"][0]
    assert set(first) == {"Id", "MessageId", "MD5OfMessageBody", "MD5OfMessageAttributes"}
    assert first["MD5OfMessageBody"] == single["MD5OfMessageBody"]
    assert first["MD5OfMessageAttributes"] == single["MD5OfMessageAttributes"]
    assert "MD5OfMessageAttributes" not in answer["Successful"][1]
    assert answer["Failed"] == [
        {
            "Id": "empty",
            "SenderFault": True,
            "Code": "MissingParameter",
            "Message": "The request must contain the parameter MessageBody.",
        },
        {
            "Id": "late",
            "SenderFault": True,
            "Code": "InvalidParameterValue",
            "Message": "Value 901 for parameter DelaySeconds is invalid. "
            "Reason: DelaySeconds must be >= 0 and <= 900.",
        },
        {
            "Id": "bad",
            "SenderFault": True,
            "Code": "InvalidMessageContents",
            "Message": "Invalid binary character '#x1B' was found in the message body, the set "
            "of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | "
            "#x10000 to #x10FFFF",
        },
    ]
    bodies = [m["Body"] for m in sqs.receive_message(url, 10)["Messages"]]
    assert bodies == ["one", "two", "one"]


def test_all_good_means_an_empty_failed_list(sqs: SQSClient, url: str) -> None:
    answer = sqs.send_message_batch(url, [{"Id": "a", "MessageBody": "x"}])
    assert answer["Failed"] == []
    assert len(answer["Successful"]) == 1


def test_a_fifo_batch_keeps_its_order(sqs: SQSClient) -> None:
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    url = sqs.create_queue("jobs.fifo", attributes)["QueueUrl"]
    entries = [{"Id": f"e{i}", "MessageBody": f"m{i}", "MessageGroupId": "g"} for i in range(4)]
    entries.insert(2, {"Id": "nogroup", "MessageBody": "lost"})
    entries.append({"Id": "dup", "MessageBody": "m0", "MessageGroupId": "g"})
    answer = sqs.send_message_batch(url, entries)
    numbers = [int(s["SequenceNumber"]) for s in answer["Successful"]]
    assert numbers[:4] == sorted(numbers[:4])
    assert answer["Successful"][-1]["MessageId"] == answer["Successful"][0]["MessageId"]  # dup
    assert answer["Failed"] == [
        {
            "Id": "nogroup",
            "SenderFault": True,
            "Code": "MissingParameter",
            "Message": "The request must contain the parameter MessageGroupId.",
        }
    ]
    assert [m["Body"] for m in sqs.receive_message(url, 10)["Messages"]] == [
        "m0",
        "m1",
        "m2",
        "m3",
    ]


def test_a_batch_over_256_kib_is_refused_whole(sqs: SQSClient, url: str) -> None:
    entries = [
        {"Id": "a", "MessageBody": "x" * 200_000},
        {"Id": "b", "MessageBody": "y" * 62_145},
    ]
    message = "Batch requests cannot be longer than 262144 bytes. You have sent 262145 bytes."
    with pytest.raises(BatchRequestTooLong, match=f"^{message}$") as caught:
        sqs.send_message_batch(url, entries)
    assert caught.value.code == "AWS.SimpleQueueService.BatchRequestTooLong"
    assert sqs.receive_message(url) == {}


# the rules of every batch ---------------------------------------------------------------------
def _calls(sqs: SQSClient, url: str) -> list[tuple[str, Callable[[list[Any]], object]]]:
    return [
        ("SendMessageBatchRequestEntry", lambda e: sqs.send_message_batch(url, e)),
        ("DeleteMessageBatchRequestEntry", lambda e: sqs.delete_message_batch(url, e)),
        (
            "ChangeMessageVisibilityBatchRequestEntry",
            lambda e: sqs.change_message_visibility_batch(url, e),
        ),
    ]


def _entry(i: int | str) -> dict[str, Any]:
    return {"Id": str(i), "MessageBody": "x", "ReceiptHandle": "h", "VisibilityTimeout": 0}


@pytest.mark.parametrize(
    ("entries", "error", "code", "message"),
    [
        ([], EmptyBatchRequest, "EmptyBatchRequest", "There should be at least one {entry} in "),
        (
            [_entry(i) for i in range(11)],
            TooManyEntriesInBatchRequest,
            "TooManyEntriesInBatchRequest",
            "Maximum number of entries per request are 10. You have sent 11.",
        ),
        (
            [_entry("a"), _entry("b"), _entry("a")],
            BatchEntryIdsNotDistinct,
            "BatchEntryIdsNotDistinct",
            "Id a repeated.",
        ),
        (
            [_entry("in valid")],
            InvalidBatchEntryId,
            "InvalidBatchEntryId",
            "A batch entry id can only contain alphanumeric characters, hyphens and "
            "underscores. It can be at most 80 letters long.",
        ),
        ([_entry("x" * 81)], InvalidBatchEntryId, "InvalidBatchEntryId", "at most 80 letters"),
    ],
)
def test_whole_request_errors_do_nothing(
    sqs: SQSClient,
    url: str,
    entries: list[dict[str, Any]],
    error: type[ServiceError],
    code: str,
    message: str,
) -> None:
    for entry_name, call in _calls(sqs, url):
        with pytest.raises(error, match=re.escape(message.format(entry=entry_name))) as caught:
            call(entries)
        assert caught.value.code == f"AWS.SimpleQueueService.{code}"
    assert sqs.receive_message(url) == {}  # not one message sent


def test_batches_on_a_missing_queue(sqs: SQSClient) -> None:
    for _, call in _calls(sqs, f"{URL}/missing"):
        with pytest.raises(QueueDoesNotExist):
            call([_entry(1)])


# DeleteMessageBatch ---------------------------------------------------------------------------
def test_delete_batch(sqs: SQSClient, url: str, clock: FakeClock) -> None:
    other = sqs.create_queue("other")["QueueUrl"]
    sqs.send_message(other, "elsewhere")
    foreign = _handles(sqs, other, 1)[0]
    for body in ("a", "b", "c"):
        sqs.send_message(url, body)
    a, b, _ = _handles(sqs, url, 3)
    answer = sqs.delete_message_batch(
        url,
        [
            {"Id": "a", "ReceiptHandle": a},
            {"Id": "foreign", "ReceiptHandle": foreign},
            {"Id": "b", "ReceiptHandle": b},
            {"Id": "b-again", "ReceiptHandle": b},  # gone already: still a success
        ],
    )
    assert answer == {
        "Successful": [{"Id": "a"}, {"Id": "b"}, {"Id": "b-again"}],
        "Failed": [
            {
                "Id": "foreign",
                "SenderFault": True,
                "Code": "ReceiptHandleIsInvalid",
                "Message": f'The input receipt handle "{foreign}" is not a valid receipt handle.',
            }
        ],
    }
    clock.advance(30)
    assert [m["Body"] for m in sqs.receive_message(url, 10)["Messages"]] == ["c"]


# ChangeMessageVisibilityBatch -----------------------------------------------------------------
def test_change_visibility_batch(sqs: SQSClient, url: str, clock: FakeClock) -> None:
    for body in ("now", "later", "expired"):
        sqs.send_message(url, body)
    now, later = _handles(sqs, url, 2)
    expired = sqs.receive_message(url, visibility_timeout=0)["Messages"][0]["ReceiptHandle"]
    answer = sqs.change_message_visibility_batch(
        url,
        [
            {"Id": "now", "ReceiptHandle": now, "VisibilityTimeout": 0},
            {"Id": "later", "ReceiptHandle": later, "VisibilityTimeout": 100},
            {"Id": "expired", "ReceiptHandle": expired, "VisibilityTimeout": 10},
            {"Id": "range", "ReceiptHandle": later, "VisibilityTimeout": 43_201},
            {"Id": "missing", "ReceiptHandle": later},
        ],
    )
    assert answer["Successful"] == [{"Id": "now"}, {"Id": "later"}]
    assert answer["Failed"] == [
        {
            "Id": "expired",
            "SenderFault": True,
            "Code": "AWS.SimpleQueueService.MessageNotInflight",
            "Message": "The specified message isn't in flight.",
        },
        {
            "Id": "range",
            "SenderFault": True,
            "Code": "InvalidParameterValue",
            "Message": "Value 43201 for parameter VisibilityTimeout is invalid. "
            "Reason: Must be between 0 and 43200, if provided.",
        },
        {
            "Id": "missing",
            "SenderFault": True,
            "Code": "MissingParameter",
            "Message": "The request must contain the parameter VisibilityTimeout.",
        },
    ]
    got = sqs.receive_message(url, 10, visibility_timeout=1000)["Messages"]
    assert [m["Body"] for m in got] == ["now", "expired"]
    clock.advance(99)
    assert sqs.receive_message(url) == {}
    clock.advance(1)
    assert [m["Body"] for m in sqs.receive_message(url, 10)["Messages"]] == ["later"]
