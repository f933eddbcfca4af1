"""SQS stand-in: queues, messages, visibility on the sandbox clock — with SQS's messages."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from sandbox import FakeClock, Sandbox, ScaledClock
from sandbox.resources import SQSClient, errors
from sandbox.resources.errors import (
    InvalidAddress,
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidMessageContents,
    InvalidParameterValue,
    MissingParameter,
    PurgeQueueInProgress,
    QueueDoesNotExist,
    QueueNameExists,
    ReceiptHandleIsInvalid,
    ServiceError,
    UnsupportedOperation,
)

URL = "https://sqs.us-east-1.amazonaws.com/123456789012"
ARN = "arn:aws:sqs:us-east-1:123456789012"


@pytest.fixture
def sqs(sb: Sandbox) -> SQSClient:
    return sb.sqs


@pytest.fixture
def url(sqs: SQSClient) -> str:
    return sqs.create_queue("orders")["QueueUrl"]


def _md5_attributes(attributes: Mapping[str, Mapping[str, object]]) -> str:
    """SQS's attribute digest, written out again from the SQS Developer Guide."""
    data = b""
    for name in sorted(attributes):
        attribute = attributes[name]
        data += len(name.encode()).to_bytes(4, "big") + name.encode()
        data_type = str(attribute["DataType"]).encode()
        data += len(data_type).to_bytes(4, "big") + data_type
        if "BinaryValue" in attribute:
            value = attribute["BinaryValue"]
            assert isinstance(value, bytes)
            data += b"\x02" + len(value).to_bytes(4, "big") + value
        else:
            text = str(attribute["StringValue"]).encode()
            data += b"\x01" + len(text).to_bytes(4, "big") + text
    return hashlib.md5(data).hexdigest()


# queues ---------------------------------------------------------------------------------------
def test_create_queue_returns_the_aws_url_and_is_idempotent(sqs: SQSClient) -> None:
    created = sqs.create_queue("orders", {"VisibilityTimeout": "60"})
    assert created == {"QueueUrl": f"{URL}/orders"}
    assert sqs.create_queue("orders", {"VisibilityTimeout": "60"}) == created
    assert sqs.create_queue("orders") == created  # no attributes: nothing differs


def test_create_queue_with_a_different_attribute_is_refused(sqs: SQSClient) -> None:
    sqs.create_queue("orders")
    assert sqs.create_queue("orders", {"VisibilityTimeout": "30"})  # the default: equal
    message = (
        "A queue already exists with the same name and a different value for attribute "
        "VisibilityTimeout"
    )
    with pytest.raises(QueueNameExists, match=f"^{message}$") as caught:
        sqs.create_queue("orders", {"VisibilityTimeout": "31"})
    assert caught.value.code == "QueueAlreadyExists"
    assert caught.value.status_code == 400


@pytest.mark.parametrize("name", ["", "has space", "a" * 81, "dot.name", "orders.fifo"])
def test_standard_queue_names_follow_sqs_rules(sqs: SQSClient, name: str) -> None:
    message = "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
    with pytest.raises(InvalidParameterValue, match=f"^{re.escape(message)}$"):
        sqs.create_queue(name)


def test_a_fifo_queue_needs_the_suffix_and_the_attribute(sqs: SQSClient) -> None:
    message = (
        "The name of a FIFO queue can only include alphanumeric characters, hyphens, or "
        "underscores, must end with .fifo suffix and be 1 to 80 in length."
    )
    with pytest.raises(InvalidParameterValue, match=re.escape(message)):
        sqs.create_queue("orders", {"FifoQueue": "true"})
    url = sqs.create_queue("orders.fifo", {"FifoQueue": "true"})["QueueUrl"]
    attributes = sqs.get_queue_attributes(url, ["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "false"
    assert sqs.create_queue("a" * 75 + ".fifo", {"FifoQueue": "true"})


def test_sending_to_a_fifo_queue_needs_a_message_group(sqs: SQSClient) -> None:
    url = sqs.create_queue("orders.fifo", {"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(MissingParameter, match="must contain the parameter MessageGroupId"):
        sqs.send_message(url, "hello")


def test_get_queue_url_and_a_missing_queue(sb: Sandbox, sqs: SQSClient, url: str) -> None:
    assert sqs.get_queue_url("orders") == {"QueueUrl": url}
    with pytest.raises(QueueDoesNotExist, match=r"^The specified queue does not exist\.$") as e:
        sqs.get_queue_url("nope")
    assert e.value.code == "AWS.SimpleQueueService.NonExistentQueue"
    other = sb.for_account("210987654321").sqs
    other_url = other.create_queue("shared")["QueueUrl"]
    assert sqs.get_queue_url("shared", queue_owner_aws_account_id="210987654321") == {
        "QueueUrl": other_url
    }


def test_list_queues_by_prefix_omits_the_key_when_empty(sqs: SQSClient) -> None:
    assert sqs.list_queues() == {}
    for name in ("b-two", "a-one", "b-one"):
        sqs.create_queue(name)
    assert sqs.list_queues() == {"QueueUrls": [f"{URL}/a-one", f"{URL}/b-one", f"{URL}/b-two"]}
    assert sqs.list_queues("b-") == {"QueueUrls": [f"{URL}/b-one", f"{URL}/b-two"]}
    assert sqs.list_queues("z") == {}


def test_queues_are_per_account_and_region(sb: Sandbox, sqs: SQSClient) -> None:
    sqs.create_queue("orders")
    west = SQSClient(sb._shared.db, sb.clock, "123456789012", "eu-west-1")
    assert west.list_queues() == {}
    assert sb.for_account("210987654321").sqs.list_queues() == {}


def test_delete_queue_takes_its_messages(sqs: SQSClient, url: str) -> None:
    sqs.send_message(url, "hello")
    sqs.delete_queue(url)
    with pytest.raises(QueueDoesNotExist):
        sqs.send_message(url, "again")
    with pytest.raises(QueueDoesNotExist):
        sqs.delete_queue(url)
    sqs.create_queue("orders")
    assert sqs.receive_message(url) == {}


def test_an_arn_names_a_queue_too_and_garbage_is_an_invalid_address(
    sqs: SQSClient, url: str
) -> None:
    sqs.send_message(f"{ARN}:orders", "by arn")
    assert sqs.receive_message(url)["Messages"][0]["Body"] == "by arn"
    with pytest.raises(InvalidAddress, match="The address orders is not valid for this endpoint"):
        sqs.send_message("orders", "x")


# attributes -----------------------------------------------------------------------------------
def test_get_queue_attributes(sqs: SQSClient, url: str, clock: FakeClock) -> None:
    assert sqs.get_queue_attributes(url) == {}  # as SQS: no names, no attributes
    attributes = sqs.get_queue_attributes(url, ["All"])["Attributes"]
    assert attributes == {
        "QueueArn": f"{ARN}:orders",
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
        "ApproximateNumberOfMessagesDelayed": "0",
        "CreatedTimestamp": str(int(clock.time())),
        "LastModifiedTimestamp": str(int(clock.time())),
        "DelaySeconds": "0",
        "MaximumMessageSize": "262144",
        "MessageRetentionPeriod": "345600",
        "ReceiveMessageWaitTimeSeconds": "0",
        "VisibilityTimeout": "30",
        "SqsManagedSseEnabled": "true",
    }
    assert sqs.get_queue_attributes(url, ["QueueArn", "Policy"]) == {
        "Attributes": {"QueueArn": f"{ARN}:orders"}
    }
    with pytest.raises(InvalidAttributeName, match=r"^Unknown Attribute Colour\.$"):
        sqs.get_queue_attributes(url, ["Colour"])


def test_counts_follow_messages_through_their_states(
    sqs: SQSClient, url: str, clock: FakeClock
) -> None:
    sqs.send_message(url, "now")
    sqs.send_message(url, "now too")
    sqs.send_message(url, "later", delay_seconds=10)
    sqs.receive_message(url)

    def counts() -> tuple[str, str, str]:
        a = sqs.get_queue_attributes(url, ["All"])["Attributes"]
        return (
            a["ApproximateNumberOfMessages"],
            a["ApproximateNumberOfMessagesNotVisible"],
            a["ApproximateNumberOfMessagesDelayed"],
        )

    assert counts() == ("1", "1", "1")
    clock.advance(10)
    assert counts() == ("2", "1", "0")
    clock.advance(20)
    assert counts() == ("3", "0", "0")


def test_set_queue_attributes(sqs: SQSClient, url: str, clock: FakeClock) -> None:
    clock.advance(5)
    sqs.set_queue_attributes(url, {"VisibilityTimeout": "0045", "Policy": "{}"})
    attributes = sqs.get_queue_attributes(url, ["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "45"
    assert attributes["Policy"] == "{}"
    assert int(attributes["LastModifiedTimestamp"]) == int(attributes["CreatedTimestamp"]) + 5


@pytest.mark.parametrize(
    ("attributes", "error", "message"),
    [
        ({"VisibilityTimeout": "43201"}, InvalidAttributeValue, "parameter VisibilityTimeout."),
        ({"DelaySeconds": "-1"}, InvalidAttributeValue, "parameter DelaySeconds."),
        ({"MaximumMessageSize": "1023"}, InvalidAttributeValue, "parameter MaximumMessageSize."),
        ({"MessageRetentionPeriod": "59"}, InvalidAttributeValue, "MessageRetentionPeriod."),
        ({"SqsManagedSseEnabled": "yes"}, InvalidAttributeValue, "SqsManagedSseEnabled."),
        ({"Policy": "{not json"}, InvalidAttributeValue, "parameter Policy."),
        ({"Colour": "red"}, InvalidAttributeName, "Unknown Attribute Colour."),
        ({"ContentBasedDeduplication": "true"}, InvalidAttributeName, "Unknown Attribute Con"),
        (
            {"RedriveAllowPolicy": '{"redrivePermission": "allowAll"}'},
            UnsupportedOperation,
            "RedriveAllowPolicy is not supported by the sandbox",
        ),
    ],
)
def test_bad_attributes_are_refused_at_create_and_set(
    sqs: SQSClient, url: str, attributes: dict[str, str], error: type[ServiceError], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        sqs.create_queue("other", attributes)
    with pytest.raises(error, match=re.escape(message)):
        sqs.set_queue_attributes(url, attributes)
    assert sqs.list_queues() == {"QueueUrls": [url]}  # nothing half-written


def test_a_queue_type_cannot_change(sqs: SQSClient, url: str) -> None:
    message = "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not"
    with pytest.raises(InvalidAttributeValue, match=re.escape(message)):
        sqs.set_queue_attributes(url, {"FifoQueue": "true"})


# sending --------------------------------------------------------------------------------------
def test_send_message_answers_sqs_digests(sqs: SQSClient, url: str) -> None:
    sent = sqs.send_message(url, "hello")
    assert sent["MD5OfMessageBody"] == "5d41402abc4b2a76b9719d911017c592"  # md5("hello")
    assert "MD5OfMessageAttributes" not in sent
    assert re.fullmatch(r"[0-9a-f-]{36}", sent["MessageId"])


def test_md5_of_message_attributes_is_sqs_encoding(sqs: SQSClient, url: str) -> None:
    attributes: dict[str, dict[str, str | bytes]] = {
        "RequestID": {"DataType": "String", "StringValue": "0b6f2c1e"},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "Payload": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
        "Note": {"DataType": "String.custom", "StringValue": "ünïcode"},
    }
    sent = sqs.send_message(url, "body", attributes)
    assert sent["MD5OfMessageAttributes"] == _md5_attributes(attributes)
    # a value computed by moto 5.2.1's SQS for {"a": String "x"}
    one = {"a": {"DataType": "String", "StringValue": "x"}}
    assert sqs.send_message(url, "b", one)["MD5OfMessageAttributes"] == (
        "a512aac9938034acb0b3c3d965944bf1"
    )


def test_md5s_agree_with_moto(sqs: SQSClient, url: str) -> None:
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    attributes: dict[str, dict[str, str | bytes]] = {
        "ErrorMessage": {"DataType": "String", "StringValue": "boom"},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "Blob": {"DataType": "Binary", "BinaryValue": b"\x10\x20"},
    }
    with moto.mock_aws():
        client = boto3.client(
            "sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        moto_url = client.create_queue(QueueName="q")["QueueUrl"]
        expected = client.send_message(
            QueueUrl=moto_url, MessageBody="héllo", MessageAttributes=attributes
        )
    ours = sqs.send_message(url, "héllo", attributes)
    assert ours["MD5OfMessageBody"] == expected["MD5OfMessageBody"]
    assert ours["MD5OfMessageAttributes"] == expected["MD5OfMessageAttributes"]


def test_message_body_rules(sqs: SQSClient, url: str) -> None:
    with pytest.raises(MissingParameter, match=r"^The request must contain the parameter Mess"):
        sqs.send_message(url, "")
    message = "Invalid binary character '#x1B' was found in the message body"
    with pytest.raises(InvalidMessageContents, match=re.escape(message)):
        sqs.send_message(url, "escape \x1b")
    assert sqs.send_message(url, "tab\tnew\nline\r emoji \U0001f600")


def test_the_size_limit_is_256_kib_body_and_attributes(sqs: SQSClient, url: str) -> None:
    assert sqs.send_message(url, "x" * 262_144)
    message = "One or more parameters are invalid. Reason: Message must be shorter than 262144"
    with pytest.raises(InvalidParameterValue, match=re.escape(message)):
        sqs.send_message(url, "x" * 262_145)
    attributes = {"k": {"DataType": "String", "StringValue": "v"}}  # 1 + 6 + 1 bytes
    with pytest.raises(InvalidParameterValue, match=re.escape(message)):
        sqs.send_message(url, "x" * (262_144 - 7), attributes)
    assert sqs.send_message(url, "x" * (262_144 - 8), attributes)
    sqs.set_queue_attributes(url, {"MaximumMessageSize": "1024"})
    with pytest.raises(InvalidParameterValue, match="shorter than 1024 bytes"):
        sqs.send_message(url, "x" * 1025)


def test_delay_seconds_range(sqs: SQSClient, url: str) -> None:
    message = "Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0"
    with pytest.raises(InvalidParameterValue, match=re.escape(message)):
        sqs.send_message(url, "x", delay_seconds=901)


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (
            {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)},
            "Number of message attributes [11] exceeds the allowed maximum [10].",
        ),
        ({"": {"DataType": "String", "StringValue": "v"}}, "non-empty message attribute name"),
        ({"a b": {"DataType": "String", "StringValue": "v"}}, "Invalid non-alphanumeric"),
        ({"AWS.x": {"DataType": "String", "StringValue": "v"}}, "are reserved"),
        ({"a..b": {"DataType": "String", "StringValue": "v"}}, "consecutive periods"),
        ({"a": {"StringValue": "v"}}, "must contain non-empty message attribute type."),
        ({"a": {"DataType": "Text", "StringValue": "v"}}, "supported type prefixes"),
        ({"a": {"DataType": "String", "StringValue": ""}}, "non-empty message attribute value"),
        ({"a": {"DataType": "Number", "StringValue": "ten"}}, "to a number."),
        ({"a": {"DataType": "Binary", "BinaryValue": "text"}}, "must use bytes"),
    ],
)
def test_message_attribute_rules(
    sqs: SQSClient, url: str, attributes: dict[str, dict[str, str]], message: str
) -> None:
    with pytest.raises(InvalidParameterValue, match=re.escape(message)):
        sqs.send_message(url, "body", attributes)
    assert sqs.receive_message(url) == {}  # nothing half-written


# receiving ------------------------------------------------------------------------------------
def test_an_empty_receive_omits_messages(sqs: SQSClient, url: str) -> None:
    assert sqs.receive_message(url) == {}


def test_visibility_timeout_on_the_sandbox_clock(
    sqs: SQSClient, url: str, clock: FakeClock
) -> None:
    sent = sqs.send_message(url, "hello")
    first = sqs.receive_message(url, attribute_names=["ApproximateReceiveCount"])["Messages"]
    assert first == [
        {
            "MessageId": sent["MessageId"],
            "ReceiptHandle": first[0]["ReceiptHandle"],
            "MD5OfBody": "5d41402abc4b2a76b9719d911017c592",
            "Body": "hello",
            "Attributes": {"ApproximateReceiveCount": "1"},
        }
    ]
    assert sqs.receive_message(url) == {}  # invisible for 30 s
    clock.advance(29.9)
    assert sqs.receive_message(url) == {}
    clock.advance(0.1)
    again = sqs.receive_message(url, attribute_names=["All"])["Messages"][0]
    assert again["ReceiptHandle"] != first[0]["ReceiptHandle"]
    assert again["Attributes"] == {
        "SenderId": "123456789012",
        "SentTimestamp": str(int((clock.time() - 30) * 1000)),
        "ApproximateReceiveCount": "2",
        "ApproximateFirstReceiveTimestamp": str(int((clock.time() - 30) * 1000)),
    }


def test_visibility_timeout_per_receive_and_per_queue(
    sqs: SQSClient, url: str, clock: FakeClock
) -> None:
    sqs.send_message(url, "hello")
    sqs.receive_message(url, visibility_timeout=5)
    clock.advance(5)
    sqs.set_queue_attributes(url, {"VisibilityTimeout": "100"})
    assert sqs.receive_message(url)
    clock.advance(99)
    assert sqs.receive_message(url) == {}
    clock.advance(1)
    assert sqs.receive_message(url, visibility_timeout=0)
    assert sqs.receive_message(url)  # a zero timeout leaves it visible


def test_delete_needs_the_latest_receipt_handle(sqs: SQSClient, url: str, clock: FakeClock) -> None:
    sqs.send_message(url, "hello")
    old = sqs.receive_message(url)["Messages"][0]["ReceiptHandle"]
    clock.advance(30)
    new = sqs.receive_message(url)["Messages"][0]["ReceiptHandle"]
    sqs.delete_message(url, old)  # succeeds, deletes nothing
    clock.advance(30)
    latest = sqs.receive_message(url)["Messages"][0]["ReceiptHandle"]
    assert new != latest
    sqs.delete_message(url, latest)
    clock.advance(30)
    assert sqs.receive_message(url) == {}
    sqs.delete_message(url, latest)  # already gone: still no error


def test_a_foreign_receipt_handle_is_invalid(sqs: SQSClient, url: str) -> None:
    other = sqs.create_queue("other")["QueueUrl"]
    sqs.send_message(other, "x")
    handle = sqs.receive_message(other)["Messages"][0]["ReceiptHandle"]
    message = f'The input receipt handle "{handle}" is not a valid receipt handle.'
    with pytest.raises(ReceiptHandleIsInvalid, match=f"^{re.escape(message)}$"):
        sqs.delete_message(url, handle)
    with pytest.raises(ReceiptHandleIsInvalid, match="not a valid receipt handle"):
        sqs.delete_message(url, "garbage")


def test_receive_takes_up_to_ten_oldest_first(sqs: SQSClient, url: str) -> None:
    for i in range(12):
        sqs.send_message(url, f"m{i}")
    bodies = [m["Body"] for m in sqs.receive_message(url, 10)["Messages"]]
    assert bodies == [f"m{i}" for i in range(10)]
    assert [m["Body"] for m in sqs.receive_message(url, 10)["Messages"]] == ["m10", "m11"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_number_of_messages": 11}, "Value 11 for parameter MaxNumberOfMessages is invalid"),
        ({"max_number_of_messages": 0}, "Reason: Must be between 1 and 10, if provided."),
        ({"visibility_timeout": 43_201}, "Value 43201 for parameter VisibilityTimeout"),
        ({"wait_time_seconds": 21}, "Reason: Must be >= 0 and <= 20, if provided."),
    ],
)
def test_receive_parameter_ranges(
    sqs: SQSClient, url: str, kwargs: dict[str, int], message: str
) -> None:
    with pytest.raises(InvalidParameterValue, match=re.escape(message)):
        sqs.receive_message(url, **kwargs)  # type: ignore[arg-type]


def test_receive_unknown_system_attribute(sqs: SQSClient, url: str) -> None:
    with pytest.raises(InvalidAttributeName, match=r"^Unknown Attribute Colour\.$"):
        sqs.receive_message(url, attribute_names=["Colour"])


def test_delays_per_message_and_per_queue(sqs: SQSClient, url: str, clock: FakeClock) -> None:
    sqs.send_message(url, "five", delay_seconds=5)
    sqs.set_queue_attributes(url, {"DelaySeconds": "10"})
    sqs.send_message(url, "ten")
    clock.advance(5)
    assert [m["Body"] for m in sqs.receive_message(url, 10)["Messages"]] == ["five"]
    clock.advance(5)
    assert [m["Body"] for m in sqs.receive_message(url, 10)["Messages"]] == ["ten"]


def test_messages_past_the_retention_period_are_gone(
    sqs: SQSClient, url: str, clock: FakeClock
) -> None:
    sqs.set_queue_attributes(url, {"MessageRetentionPeriod": "60"})
    sqs.send_message(url, "old")
    clock.advance(30)
    sqs.send_message(url, "young")
    clock.advance(30)
    assert [m["Body"] for m in sqs.receive_message(url, 10)["Messages"]] == ["young"]


def test_message_attribute_names_choose_what_comes_back(sqs: SQSClient, url: str) -> None:
    attributes: dict[str, dict[str, str | bytes]] = {
        "order.id": {"DataType": "Number", "StringValue": "7"},
        "order.kind": {"DataType": "String", "StringValue": "book"},
        "trace": {"DataType": "String", "StringValue": "t-1"},
    }
    sqs.send_message(url, "x", attributes)
    message = sqs.receive_message(url, visibility_timeout=0)["Messages"][0]
    assert "MessageAttributes" not in message and "MD5OfMessageAttributes" not in message
    every = sqs.receive_message(url, visibility_timeout=0, message_attribute_names=["All"])
    assert every["Messages"][0]["MessageAttributes"] == attributes
    assert every["Messages"][0]["MD5OfMessageAttributes"] == _md5_attributes(attributes)
    some = sqs.receive_message(url, visibility_timeout=0, message_attribute_names=["order.*"])
    chosen = {k: v for k, v in attributes.items() if k.startswith("order.")}
    assert some["Messages"][0]["MessageAttributes"] == chosen
    assert some["Messages"][0]["MD5OfMessageAttributes"] == _md5_attributes(chosen)


def test_binary_attributes_come_back_as_bytes(sqs: SQSClient, url: str) -> None:
    attributes: dict[str, dict[str, str | bytes]] = {
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}
    }
    sqs.send_message(url, "x", attributes)
    message = sqs.receive_message(url, message_attribute_names=[".*"])["Messages"][0]
    assert message["MessageAttributes"] == attributes


def test_long_polling_does_not_wait_on_a_fake_clock(sqs: SQSClient, url: str) -> None:
    started = time.monotonic()
    assert sqs.receive_message(url, wait_time_seconds=20) == {}
    assert time.monotonic() - started < 1.0


def test_long_polling_waits_for_a_message_sent_meanwhile(tmp_path: Path) -> None:
    with Sandbox(tmp_path, clock=ScaledClock(100)) as sb:  # 20 s of platform time: 0.2 s
        url = sb.sqs.create_queue("orders")["QueueUrl"]
        sender = threading.Timer(0.05, sb.sqs.send_message, (url, "late"))
        sender.start()
        started = time.monotonic()
        received = sb.sqs.receive_message(url, wait_time_seconds=20)
        sender.join()
        assert received["Messages"][0]["Body"] == "late"
        assert time.monotonic() - started < 0.2
        started = time.monotonic()
        assert sb.sqs.receive_message(url, wait_time_seconds=20) == {}
        assert 0.15 < time.monotonic() - started < 2.0


# purge ----------------------------------------------------------------------------------------
def test_purge_once_a_minute(sqs: SQSClient, url: str, clock: FakeClock) -> None:
    sqs.send_message(url, "x")
    sqs.purge_queue(url)
    assert sqs.receive_message(url) == {}
    message = "Only one PurgeQueue operation on orders is allowed every 60 seconds."
    with pytest.raises(PurgeQueueInProgress, match=f"^{message}$") as caught:
        sqs.purge_queue(url)
    assert caught.value.code == "AWS.SimpleQueueService.PurgeQueueInProgress"
    clock.advance(60)
    sqs.purge_queue(url)


# the client -----------------------------------------------------------------------------------
def test_exceptions_are_reachable_like_boto3(sb: Sandbox) -> None:
    assert sb.sqs.exceptions is errors
    assert sb.sqs is sb.sqs  # one client per sandbox handle
    with pytest.raises(sb.sqs.exceptions.QueueDoesNotExist) as caught:
        sb.sqs.delete_queue(f"{URL}/missing")
    assert caught.value.to_aws() == {
        "Code": "AWS.SimpleQueueService.NonExistentQueue",
        "Message": "The specified queue does not exist.",
    }


def test_queues_and_messages_survive_reopening(tmp_path: Path) -> None:
    clock = FakeClock()
    with Sandbox(tmp_path, clock=clock) as sb:
        url = sb.sqs.create_queue("orders", {"VisibilityTimeout": "40"})["QueueUrl"]
        sb.sqs.send_message(url, "kept", {"k": {"DataType": "String", "StringValue": "v"}})
        sb.sqs.send_message(url, "in flight")
        sb.sqs.receive_message(url, visibility_timeout=100)  # takes "kept"
    with Sandbox(tmp_path, clock=clock) as sb:
        attributes = sb.sqs.get_queue_attributes(url, ["All"])["Attributes"]
        assert attributes["VisibilityTimeout"] == "40"
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"
        assert [m["Body"] for m in sb.sqs.receive_message(url, 10)["Messages"]] == ["in flight"]
        clock.advance(100)
        message = sb.sqs.receive_message(url, 10, message_attribute_names=["All"])["Messages"]
        assert message[0]["Body"] == "kept"
        assert message[0]["MessageAttributes"] == {"k": {"DataType": "String", "StringValue": "v"}}
