"""SQS FIFO queues: message groups, deduplication on the sandbox clock, sequence numbers,
ordering and group blocking — with SQS's messages."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.resources import SQSClient
from sandbox.resources.errors import InvalidParameterValue, MissingParameter

URL = "https://sqs.us-east-1.amazonaws.com/123456789012"
ARN = "arn:aws:sqs:us-east-1:123456789012"


@pytest.fixture
def sqs(sb: Sandbox) -> SQSClient:
    return sb.sqs


@pytest.fixture
def fifo(sqs: SQSClient) -> str:
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    return sqs.create_queue("jobs.fifo", attributes)["QueueUrl"]


def _bodies(answer: dict[str, object]) -> list[str]:
    messages = answer.get("Messages", [])
    assert isinstance(messages, list)
    return [m["Body"] for m in messages]


# sending --------------------------------------------------------------------------------------
def test_send_needs_a_group_and_a_deduplication_id(sqs: SQSClient) -> None:
    url = sqs.create_queue("plain.fifo", {"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(
        MissingParameter, match=r"^The request must contain the parameter MessageGroupId\.$"
    ):
        sqs.send_message(url, "x", message_deduplication_id="d")
    message = (
        "The queue should either have ContentBasedDeduplication enabled or "
        "MessageDeduplicationId provided explicitly"
    )
    with pytest.raises(InvalidParameterValue, match=f"^{message}$"):
        sqs.send_message(url, "x", message_group_id="g")
    sent = sqs.send_message(url, "x", message_group_id="g", message_deduplication_id="d")
    assert set(sent) == {"MessageId", "MD5OfMessageBody", "SequenceNumber"}
    assert sqs.get_queue_attributes(url, ["All"])["Attributes"]["ApproximateNumberOfMessages"] == (
        "1"
    )


def test_sequence_numbers_are_long_and_increasing(sqs: SQSClient, fifo: str) -> None:
    numbers = [
        sqs.send_message(fifo, f"m{i}", message_group_id=f"g{i % 2}")["SequenceNumber"]
        for i in range(5)
    ]
    assert all(re.fullmatch(r"\d{20,}", n) for n in numbers)
    assert [int(n) for n in numbers] == sorted({int(n) for n in numbers})


def test_per_message_delays_are_refused_and_the_queue_delay_applies(
    sqs: SQSClient, clock: FakeClock
) -> None:
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true", "DelaySeconds": "5"}
    url = sqs.create_queue("slow.fifo", attributes)["QueueUrl"]
    message = (
        "Value 2 for parameter DelaySeconds is invalid. "
        "Reason: The request include parameter that is not valid for this queue type."
    )
    with pytest.raises(InvalidParameterValue, match=f"^{re.escape(message)}$"):
        sqs.send_message(url, "x", delay_seconds=2, message_group_id="g")
    sqs.send_message(url, "zero", delay_seconds=0, message_group_id="g")  # 0 is let through
    clock.advance(4.9)
    assert sqs.receive_message(url) == {}  # ... and the queue's 5 s still apply
    clock.advance(0.1)
    assert _bodies(sqs.receive_message(url)) == ["zero"]


def test_standard_queues_refuse_a_deduplication_id(sqs: SQSClient) -> None:
    url = sqs.create_queue("plain")["QueueUrl"]
    message = (
        "Value d-1 for parameter MessageDeduplicationId is invalid. "
        "Reason: The request include parameter that is not valid for this queue type."
    )
    with pytest.raises(InvalidParameterValue, match=f"^{re.escape(message)}$"):
        sqs.send_message(url, "x", message_deduplication_id="d-1")
    assert sqs.receive_message(url) == {}


def test_a_standard_queue_takes_a_group_without_ordering_by_it(sqs: SQSClient) -> None:
    """SQS fair queues (2025): a standard queue accepts MessageGroupId and shows it, but a
    group with a message in flight still gives its other messages."""
    url = sqs.create_queue("plain")["QueueUrl"]
    sent = sqs.send_message(url, "m0", message_group_id="tenant-1")
    assert "SequenceNumber" not in sent
    sqs.send_message(url, "m1", message_group_id="tenant-1")
    first = sqs.receive_message(url, attribute_names=["All"])["Messages"][0]
    assert first["Attributes"]["MessageGroupId"] == "tenant-1"
    assert "SequenceNumber" not in first["Attributes"]
    assert _bodies(sqs.receive_message(url)) == ["m1"]


@pytest.mark.parametrize(
    ("parameter", "value"), [("MessageGroupId", ""), ("MessageGroupId", "a b")]
)
def test_ids_are_alphanumerics_and_punctuation(
    sqs: SQSClient, fifo: str, parameter: str, value: str
) -> None:
    message = (
        f"Value {value} for parameter {parameter} is invalid. Reason: {parameter} can only "
        "include alphanumeric and punctuation characters. 1 to 128 in length."
    )
    with pytest.raises(InvalidParameterValue, match=f"^{re.escape(message)}$"):
        sqs.send_message(fifo, "x", message_group_id=value)
    with pytest.raises(InvalidParameterValue, match="MessageDeduplicationId can only include"):
        sqs.send_message(fifo, "x", message_group_id="g", message_deduplication_id="d" * 129)
    assert sqs.send_message(fifo, "x", message_group_id="!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


# deduplication --------------------------------------------------------------------------------
def test_a_duplicate_within_five_minutes_is_accepted_and_dropped(
    sqs: SQSClient, fifo: str, clock: FakeClock
) -> None:
    first = sqs.send_message(fifo, "once", message_group_id="g")
    clock.advance(299)
    again = sqs.send_message(fifo, "once", message_group_id="g")
    assert again == first  # same MessageId and SequenceNumber
    assert _bodies(sqs.receive_message(fifo, 10)) == ["once"]
    clock.advance(1)  # 5 minutes after the first send: a new message
    third = sqs.send_message(fifo, "once", message_group_id="g")
    assert third["MessageId"] != first["MessageId"]
    assert int(third["SequenceNumber"]) > int(first["SequenceNumber"])


def test_deduplication_outlives_the_deleted_message(
    sqs: SQSClient, fifo: str, clock: FakeClock
) -> None:
    sqs.send_message(fifo, "x", message_group_id="g")
    handle = sqs.receive_message(fifo)["Messages"][0]["ReceiptHandle"]
    sqs.delete_message(fifo, handle)
    sqs.send_message(fifo, "x", message_group_id="other-group")  # same body, same id
    assert sqs.receive_message(fifo) == {}


def test_explicit_ids_win_over_the_body_hash(sqs: SQSClient, fifo: str) -> None:
    sqs.send_message(fifo, "same body", message_group_id="g", message_deduplication_id="a")
    sqs.send_message(fifo, "same body", message_group_id="g", message_deduplication_id="b")
    sqs.send_message(fifo, "other body", message_group_id="g", message_deduplication_id="a")
    assert _bodies(sqs.receive_message(fifo, 10)) == ["same body", "same body"]


def test_deduplication_scope_message_group(sqs: SQSClient) -> None:
    attributes = {
        "FifoQueue": "true",
        "ContentBasedDeduplication": "true",
        "DeduplicationScope": "messageGroup",
    }
    url = sqs.create_queue("groups.fifo", attributes)["QueueUrl"]
    sqs.send_message(url, "x", message_group_id="a")
    sqs.send_message(url, "x", message_group_id="b")  # another group: not a duplicate
    sqs.send_message(url, "x", message_group_id="a")  # a duplicate
    assert _bodies(sqs.receive_message(url, 10)) == ["x", "x"]


# receiving ------------------------------------------------------------------------------------
def test_fifo_attributes_on_receive(sqs: SQSClient, fifo: str, clock: FakeClock) -> None:
    sent = sqs.send_message(fifo, "hello", message_group_id="g-1")
    got = sqs.receive_message(fifo, attribute_names=["All"])["Messages"][0]
    assert got["Attributes"] == {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": str(int(clock.time() * 1000)),
        "SequenceNumber": sent["SequenceNumber"],
        "MessageGroupId": "g-1",
        "SenderId": "123456789012",
        "MessageDeduplicationId": hashlib.sha256(b"hello").hexdigest(),
        "ApproximateFirstReceiveTimestamp": str(int(clock.time() * 1000)),
    }
    clock.advance(30)
    some = sqs.receive_message(
        fifo, message_system_attribute_names=["MessageGroupId", "SequenceNumber"]
    )
    assert some["Messages"][0]["Attributes"] == {
        "MessageGroupId": "g-1",
        "SequenceNumber": sent["SequenceNumber"],
    }


def test_messages_of_a_group_come_in_order_and_one_group_first(sqs: SQSClient, fifo: str) -> None:
    for body, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("c1", "c"), ("b2", "b")]:
        sqs.send_message(fifo, body, message_group_id=group)
    # as many of the oldest group as possible, then the next group
    assert _bodies(sqs.receive_message(fifo, 3)) == ["a1", "a2", "b1"]
    # group a and b have messages in flight: only c is on offer
    assert _bodies(sqs.receive_message(fifo, 10)) == ["c1"]


def test_a_group_with_a_message_in_flight_gives_nothing(
    sqs: SQSClient, fifo: str, clock: FakeClock
) -> None:
    for i in range(3):
        sqs.send_message(fifo, f"m{i}", message_group_id="g")
    first = sqs.receive_message(fifo)["Messages"][0]
    assert first["Body"] == "m0"
    assert sqs.receive_message(fifo, 10) == {}  # m1 waits behind m0
    clock.advance(30)  # m0's visibility timeout ends: it comes back first
    again = sqs.receive_message(fifo)["Messages"][0]
    assert again["Body"] == "m0"
    sqs.delete_message(fifo, again["ReceiptHandle"])
    assert _bodies(sqs.receive_message(fifo, 10)) == ["m1", "m2"]


def test_a_message_made_visible_again_unblocks_its_group(sqs: SQSClient, fifo: str) -> None:
    sqs.send_message(fifo, "m0", message_group_id="g")
    sqs.send_message(fifo, "m1", message_group_id="g")
    handle = sqs.receive_message(fifo)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(fifo, handle, 0)
    assert _bodies(sqs.receive_message(fifo, 10)) == ["m0", "m1"]


def test_redrive_moves_the_head_and_frees_the_group(sqs: SQSClient, clock: FakeClock) -> None:
    sqs.create_queue("dead.fifo", {"FifoQueue": "true"})
    policy = json.dumps({"deadLetterTargetArn": f"{ARN}:dead.fifo", "maxReceiveCount": 1})
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    url = sqs.create_queue("work.fifo", {**attributes, "RedrivePolicy": policy})["QueueUrl"]
    first = sqs.send_message(url, "poison", message_group_id="g")
    sqs.send_message(url, "next", message_group_id="g")
    assert _bodies(sqs.receive_message(url)) == ["poison"]
    clock.advance(30)
    assert _bodies(sqs.receive_message(url, 10)) == ["next"]  # poison moved, group goes on
    dead = sqs.receive_message(f"{URL}/dead.fifo", attribute_names=["All"])["Messages"][0]
    assert dead["MessageId"] == first["MessageId"]
    assert dead["Attributes"]["MessageGroupId"] == "g"
    assert dead["Attributes"]["DeadLetterQueueSourceArn"] == f"{ARN}:work.fifo"


def test_a_fifo_queue_refuses_an_expired_receipt_handle(
    sqs: SQSClient, fifo: str, clock: FakeClock
) -> None:
    sqs.send_message(fifo, "x", message_group_id="g")
    old = sqs.receive_message(fifo, visibility_timeout=5)["Messages"][0]["ReceiptHandle"]
    clock.advance(5)
    message = (
        f"Value {old} for parameter ReceiptHandle is invalid. "
        "Reason: The receipt handle has expired."
    )
    with pytest.raises(InvalidParameterValue, match=f"^{re.escape(message)}$"):
        sqs.delete_message(fifo, old)
    new = sqs.receive_message(fifo)["Messages"][0]["ReceiptHandle"]
    with pytest.raises(InvalidParameterValue, match="The receipt handle has expired"):
        sqs.delete_message(fifo, old)  # an older handle of a message received again
    sqs.delete_message(fifo, new)
    sqs.delete_message(fifo, new)  # gone already: no error
    clock.advance(30)
    assert sqs.receive_message(fifo) == {}
