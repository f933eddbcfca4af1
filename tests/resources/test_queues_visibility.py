"""SQS ChangeMessageVisibility on the sandbox clock, with SQS's errors."""

from __future__ import annotations

import re

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.resources import SQSClient
from sandbox.resources.errors import (
    InvalidParameterValue,
    MessageNotInflight,
    QueueDoesNotExist,
    ReceiptHandleIsInvalid,
)

URL = "https://sqs.us-east-1.amazonaws.com/123456789012"


@pytest.fixture
def sqs(sb: Sandbox) -> SQSClient:
    return sb.sqs


@pytest.fixture
def url(sqs: SQSClient) -> str:
    return sqs.create_queue("orders")["QueueUrl"]


def _receive(sqs: SQSClient, url: str, visibility_timeout: int | None = None) -> str:
    """The receipt handle of the next message (which must be there)."""
    got = sqs.receive_message(url, visibility_timeout=visibility_timeout)
    return str(got["Messages"][0]["ReceiptHandle"])


def test_extend_and_shorten_from_now(sqs: SQSClient, url: str, clock: FakeClock) -> None:
    sqs.send_message(url, "work")
    handle = _receive(sqs, url)  # 30 s
    clock.advance(20)
    sqs.change_message_visibility(url, handle, 60)  # counts from now: visible at 80 s
    clock.advance(59)
    assert sqs.receive_message(url) == {}
    clock.advance(1)
    handle = _receive(sqs, url)
    sqs.change_message_visibility(url, handle, 10)
    clock.advance(10)
    assert sqs.receive_message(url)["Messages"][0]["Body"] == "work"


def test_zero_hands_a_message_back_at_once(sqs: SQSClient, url: str) -> None:
    sqs.send_message(url, "again")
    handle = _receive(sqs, url)
    counts = sqs.get_queue_attributes(url, ["ApproximateNumberOfMessagesNotVisible"])
    assert counts == {"Attributes": {"ApproximateNumberOfMessagesNotVisible": "1"}}
    sqs.change_message_visibility(url, handle, 0)
    got = sqs.receive_message(url, attribute_names=["ApproximateReceiveCount"])["Messages"]
    assert got[0]["Attributes"] == {"ApproximateReceiveCount": "2"}


def test_a_message_not_in_flight(sqs: SQSClient, url: str, clock: FakeClock) -> None:
    sqs.send_message(url, "x")
    handle = _receive(sqs, url, visibility_timeout=5)
    clock.advance(5)
    with pytest.raises(MessageNotInflight, match=r"^The specified message isn't in flight\.$") as e:
        sqs.change_message_visibility(url, handle, 30)
    assert e.value.code == "AWS.SimpleQueueService.MessageNotInflight"
    assert sqs.receive_message(url)  # still visible: nothing changed


def test_a_deleted_message_or_an_older_handle(sqs: SQSClient, url: str, clock: FakeClock) -> None:
    sqs.send_message(url, "x")
    old = _receive(sqs, url, visibility_timeout=1)
    clock.advance(1)
    new = _receive(sqs, url)
    message = (
        f"Value {old} for parameter ReceiptHandle is invalid. Reason: Message does not exist "
        "or is not available for visibility timeout change."
    )
    with pytest.raises(InvalidParameterValue, match=f"^{re.escape(message)}$"):
        sqs.change_message_visibility(url, old, 0)
    sqs.delete_message(url, new)
    with pytest.raises(InvalidParameterValue, match="Message does not exist"):
        sqs.change_message_visibility(url, new, 0)


def test_a_foreign_handle_and_a_missing_queue(sqs: SQSClient, url: str) -> None:
    other = sqs.create_queue("other")["QueueUrl"]
    sqs.send_message(other, "x")
    handle = _receive(sqs, other)
    message = f'The input receipt handle "{handle}" is not a valid receipt handle.'
    with pytest.raises(ReceiptHandleIsInvalid, match=f"^{re.escape(message)}$"):
        sqs.change_message_visibility(url, handle, 0)
    with pytest.raises(ReceiptHandleIsInvalid):
        sqs.change_message_visibility(url, "garbage", 0)
    with pytest.raises(QueueDoesNotExist):
        sqs.change_message_visibility(f"{URL}/missing", handle, 0)


@pytest.mark.parametrize("timeout", [-1, 43_201])
def test_the_timeout_range(sqs: SQSClient, url: str, timeout: int) -> None:
    sqs.send_message(url, "x")
    handle = _receive(sqs, url)
    message = (
        f"Value {timeout} for parameter VisibilityTimeout is invalid. "
        "Reason: Must be between 0 and 43200, if provided."
    )
    with pytest.raises(InvalidParameterValue, match=f"^{re.escape(message)}$"):
        sqs.change_message_visibility(url, handle, timeout)


def test_no_more_than_twelve_hours_from_the_receive(
    sqs: SQSClient, url: str, clock: FakeClock
) -> None:
    sqs.send_message(url, "long job")
    handle = _receive(sqs, url)
    clock.advance(10)
    message = (
        "Value 43200 for parameter VisibilityTimeout is invalid. Reason: Total "
        "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
    )
    with pytest.raises(InvalidParameterValue, match=f"^{re.escape(message)}$"):
        sqs.change_message_visibility(url, handle, 43_200)
    sqs.change_message_visibility(url, handle, 43_190)  # exactly 12 h after the receive
    clock.advance(43_189)
    assert sqs.receive_message(url) == {}
    clock.advance(1)
    assert sqs.receive_message(url)["Messages"][0]["Body"] == "long job"
