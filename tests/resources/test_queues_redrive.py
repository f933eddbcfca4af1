"""SQS redrive: RedrivePolicy's rules and messages, messages moving to the dead-letter
queue after maxReceiveCount receives, and ListDeadLetterSourceQueues."""

from __future__ import annotations

import json
import re

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.resources import SQSClient
from sandbox.resources.errors import (
    InvalidAttributeValue,
    InvalidParameterValue,
    QueueDoesNotExist,
    QueueNameExists,
    ServiceError,
    UnsupportedOperation,
)

URL = "https://sqs.us-east-1.amazonaws.com/123456789012"
ARN = "arn:aws:sqs:us-east-1:123456789012"


@pytest.fixture
def sqs(sb: Sandbox) -> SQSClient:
    return sb.sqs


@pytest.fixture
def dlq(sqs: SQSClient) -> str:
    return sqs.create_queue("dlq")["QueueUrl"]


def _policy(target: str = f"{ARN}:dlq", count: object = 2) -> str:
    return json.dumps({"deadLetterTargetArn": target, "maxReceiveCount": count})


@pytest.fixture
def source(sqs: SQSClient, dlq: str) -> str:
    return sqs.create_queue("orders", {"RedrivePolicy": _policy()})["QueueUrl"]


# the policy -----------------------------------------------------------------------------------
def test_the_policy_is_kept_as_compact_json(sqs: SQSClient, source: str) -> None:
    attributes = sqs.get_queue_attributes(source, ["RedrivePolicy"])["Attributes"]
    assert attributes == {
        "RedrivePolicy": f'{{"deadLetterTargetArn":"{ARN}:dlq","maxReceiveCount":2}}'
    }
    assert "RedrivePolicy" in sqs.get_queue_attributes(source, ["All"])["Attributes"]
    # a count given as a string is the same setting: CreateQueue stays idempotent
    same = _policy(count="2")
    assert sqs.create_queue("orders", {"RedrivePolicy": same}) == {"QueueUrl": source}
    message = "A queue already exists with the same name and a different value for attribute "
    with pytest.raises(QueueNameExists, match=f"^{message}RedrivePolicy$"):
        sqs.create_queue("orders", {"RedrivePolicy": _policy(count=3)})


def test_set_queue_attributes_sets_and_an_empty_policy_removes(
    sqs: SQSClient, dlq: str, clock: FakeClock
) -> None:
    url = sqs.create_queue("orders")["QueueUrl"]
    sqs.set_queue_attributes(url, {"RedrivePolicy": _policy(count=5)})
    policy = json.loads(sqs.get_queue_attributes(url, ["All"])["Attributes"]["RedrivePolicy"])
    assert policy == {"deadLetterTargetArn": f"{ARN}:dlq", "maxReceiveCount": 5}
    sqs.set_queue_attributes(url, {"RedrivePolicy": ""})
    assert "RedrivePolicy" not in sqs.get_queue_attributes(url, ["All"])["Attributes"]
    sqs.send_message(url, "kept")
    for _ in range(7):  # no policy any more: received again and again
        assert sqs.receive_message(url, visibility_timeout=0)["Messages"][0]["Body"] == "kept"


@pytest.mark.parametrize(
    ("policy", "error", "reason"),
    [
        ("not json", InvalidAttributeValue, None),
        ("[1]", InvalidAttributeValue, None),
        (
            "{}",
            InvalidParameterValue,
            "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
        ),
        (
            '{"maxReceiveCount": 5}',
            InvalidParameterValue,
            "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.",
        ),
        (
            _policy(count=0),
            InvalidParameterValue,
            "Invalid value for maxReceiveCount: 0, valid values are from 1 to 1000 both inclusive.",
        ),
        (
            _policy(count=1001),
            InvalidParameterValue,
            "Invalid value for maxReceiveCount: 1001, valid values are from 1 to 1000 both "
            "inclusive.",
        ),
        (
            _policy(count="many"),
            InvalidParameterValue,
            "Invalid value for maxReceiveCount: many, valid values are from 1 to 1000 both "
            "inclusive.",
        ),
        (_policy(target="dummy"), InvalidParameterValue, "Invalid value for deadLetterTargetArn."),
        (
            _policy(target="arn:aws:sns:us-east-1:123456789012:topic"),
            InvalidParameterValue,
            "Only SQS queues are valid resources for deadLetterTargetArn.",
        ),
        (
            _policy(target=f"{ARN}:missing"),
            InvalidParameterValue,
            "Dead letter target does not exist.",
        ),
        (
            _policy(target="arn:aws:sqs:eu-west-1:123456789012:dlq"),
            InvalidParameterValue,
            "Dead letter target does not exist.",
        ),
        (
            _policy(target=f"{ARN}:dlq.fifo"),
            InvalidParameterValue,
            "Dead-letter queue must be same type of queue as the source..",
        ),
        (
            json.dumps({"deadLetterTargetArn": f"{ARN}:dlq", "maxReceiveCount": 1, "x": 1}),
            InvalidParameterValue,
            "Only following attributes are supported: [maxReceiveCount, deadLetterTargetArn].",
        ),
    ],
)
def test_bad_policies_have_sqs_messages(
    sqs: SQSClient, dlq: str, policy: str, error: type[ServiceError], reason: str | None
) -> None:
    sqs.create_queue("dlq.fifo", {"FifoQueue": "true"})
    url = sqs.create_queue("other")["QueueUrl"]
    if reason is None:
        message = (
            "Invalid value for the parameter RedrivePolicy. "
            "Reason: Redrive policy is not a valid JSON map."
        )
    else:
        message = f"Value {policy} for parameter RedrivePolicy is invalid. Reason: {reason}"
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        sqs.create_queue("orders", {"RedrivePolicy": policy})
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        sqs.set_queue_attributes(url, {"RedrivePolicy": policy, "VisibilityTimeout": "60"})
    assert sqs.get_queue_attributes(url, ["VisibilityTimeout"]) == {
        "Attributes": {"VisibilityTimeout": "30"}  # nothing half-written
    }
    assert f"{URL}/orders" not in sqs.list_queues()["QueueUrls"]


def test_a_fifo_queue_needs_a_fifo_dead_letter_queue(sqs: SQSClient, dlq: str) -> None:
    fifo_dlq = sqs.create_queue("dlq.fifo", {"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(InvalidParameterValue, match="must be same type of queue as the source"):
        sqs.create_queue("jobs.fifo", {"FifoQueue": "true", "RedrivePolicy": _policy()})
    policy = _policy(target=f"{ARN}:dlq.fifo")
    url = sqs.create_queue("jobs.fifo", {"FifoQueue": "true", "RedrivePolicy": policy})
    assert url == {"QueueUrl": f"{URL}/jobs.fifo"}
    assert fifo_dlq == f"{URL}/dlq.fifo"


def test_redrive_allow_policy_is_refused_with_a_clear_message(sqs: SQSClient, dlq: str) -> None:
    allow = json.dumps({"redrivePermission": "allowAll"})
    with pytest.raises(UnsupportedOperation, match="RedriveAllowPolicy is not supported") as e:
        sqs.set_queue_attributes(dlq, {"RedriveAllowPolicy": allow})
    assert e.value.code == "AWS.SimpleQueueService.UnsupportedOperation"


# moving messages ------------------------------------------------------------------------------
def test_a_message_moves_when_a_receive_would_exceed_max_receive_count(
    sqs: SQSClient, source: str, dlq: str, clock: FakeClock
) -> None:
    attributes: dict[str, dict[str, str | bytes]] = {
        "trace": {"DataType": "String", "StringValue": "t-1"}
    }
    sent = sqs.send_message(source, "poison", attributes)
    for count in (1, 2):  # maxReceiveCount 2: received twice
        message = sqs.receive_message(source, attribute_names=["All"])["Messages"][0]
        assert message["Attributes"]["ApproximateReceiveCount"] == str(count)
        assert sqs.receive_message(dlq) == {}
        clock.advance(30)
    assert sqs.receive_message(source) == {}  # the third receive moves it instead
    moved = sqs.receive_message(dlq, attribute_names=["All"], message_attribute_names=["All"])
    message = moved["Messages"][0]
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == "poison"
    assert message["MessageAttributes"] == attributes
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert message["Attributes"] == {
        "ApproximateReceiveCount": "1",  # counting starts again in the dead-letter queue
        "SentTimestamp": str(int((clock.time() - 60) * 1000)),  # the original send
        "SenderId": "123456789012",
        "ApproximateFirstReceiveTimestamp": str(int(clock.time() * 1000)),
        "DeadLetterQueueSourceArn": f"{ARN}:orders",
    }
    counts = sqs.get_queue_attributes(source, ["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "0"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_only_the_messages_a_receive_reaches_move(
    sqs: SQSClient, source: str, dlq: str, clock: FakeClock
) -> None:
    for body in ("a", "b", "c"):
        sqs.send_message(source, body)
    for _ in range(2):
        assert len(sqs.receive_message(source, 10, visibility_timeout=0)["Messages"]) == 3
    sqs.send_message(source, "d")
    # a receive of 1 moves a, b and c (each over the count) and hands out d
    got = sqs.receive_message(source, 1)["Messages"]
    assert [m["Body"] for m in got] == ["d"]
    assert [m["Body"] for m in sqs.receive_message(dlq, 10)["Messages"]] == ["a", "b", "c"]


def test_a_received_message_deleted_in_time_never_moves(
    sqs: SQSClient, source: str, dlq: str, clock: FakeClock
) -> None:
    sqs.send_message(source, "ok")
    sqs.receive_message(source, visibility_timeout=0)
    handle = sqs.receive_message(source)["Messages"][0]["ReceiptHandle"]
    sqs.delete_message(source, handle)
    clock.advance(30)
    assert sqs.receive_message(source) == {}
    assert sqs.receive_message(dlq) == {}


def test_a_deleted_dead_letter_queue_leaves_messages_where_they_are(
    sqs: SQSClient, source: str, dlq: str
) -> None:
    sqs.send_message(source, "stays")
    for _ in range(2):
        sqs.receive_message(source, visibility_timeout=0)
    sqs.delete_queue(dlq)
    message = sqs.receive_message(source, attribute_names=["ApproximateReceiveCount"])
    assert message["Messages"][0]["Attributes"] == {"ApproximateReceiveCount": "3"}


def test_dead_letter_queues_chain(sqs: SQSClient, clock: FakeClock) -> None:
    sqs.create_queue("last")
    sqs.create_queue("middle", {"RedrivePolicy": _policy(f"{ARN}:last", 1)})
    first = sqs.create_queue("first", {"RedrivePolicy": _policy(f"{ARN}:middle", 1)})["QueueUrl"]
    sqs.send_message(first, "hop")
    sqs.receive_message(first, visibility_timeout=0)
    assert sqs.receive_message(first) == {}
    middle = f"{URL}/middle"
    got = sqs.receive_message(middle, visibility_timeout=0, attribute_names=["All"])
    assert got["Messages"][0]["Attributes"]["DeadLetterQueueSourceArn"] == f"{ARN}:first"
    assert sqs.receive_message(middle) == {}
    got = sqs.receive_message(f"{URL}/last", attribute_names=["DeadLetterQueueSourceArn"])
    assert got["Messages"][0]["Attributes"] == {"DeadLetterQueueSourceArn": f"{ARN}:middle"}


# ListDeadLetterSourceQueues -------------------------------------------------------------------
def test_list_dead_letter_source_queues(sqs: SQSClient, dlq: str) -> None:
    assert sqs.list_dead_letter_source_queues(dlq) == {"queueUrls": []}
    for name in ("c", "a", "b"):
        sqs.create_queue(name, {"RedrivePolicy": _policy()})
    sqs.create_queue("unrelated")
    other = sqs.create_queue("other-dlq")["QueueUrl"]
    sqs.create_queue("d", {"RedrivePolicy": _policy(f"{ARN}:other-dlq")})
    assert sqs.list_dead_letter_source_queues(dlq) == {
        "queueUrls": [f"{URL}/a", f"{URL}/b", f"{URL}/c"]
    }
    assert sqs.list_dead_letter_source_queues(other) == {"queueUrls": [f"{URL}/d"]}
    page = sqs.list_dead_letter_source_queues(dlq, max_results=2)
    assert page["queueUrls"] == [f"{URL}/a", f"{URL}/b"]
    rest = sqs.list_dead_letter_source_queues(dlq, page["NextToken"], 2)
    assert rest == {"queueUrls": [f"{URL}/c"]}


def test_list_dead_letter_source_queues_errors(sqs: SQSClient, dlq: str) -> None:
    message = (
        "Value 0 for parameter MaxResults is invalid. "
        "Reason: MaxResults must be an integer between 1 and 1000."
    )
    with pytest.raises(InvalidParameterValue, match=f"^{re.escape(message)}$"):
        sqs.list_dead_letter_source_queues(dlq, max_results=0)
    with pytest.raises(QueueDoesNotExist):
        sqs.list_dead_letter_source_queues(f"{URL}/missing")
