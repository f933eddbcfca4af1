"""SQS's JSON protocol on the endpoint: hand-built requests against the handler, and
unmodified boto3 ``sqs`` clients (and the AWS CLI) through the sandbox's endpoint
(``sb.serve()``), which asks :func:`sandbox.http.sqs_api.handle` first.

What boto3 users see must be what they see against AWS: the legacy error code in
``Error.Code`` (from the ``x-amzn-query-error`` header), the exception class by shape, and
message bodies and attributes that round-trip exactly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox import FakeClock, Sandbox
from sandbox.http import sqs_api
from sandbox.http.protocol import build_request

boto3 = pytest.importorskip("boto3")
ClientError = pytest.importorskip("botocore.exceptions").ClientError

pytestmark = pytest.mark.timeout(60)


def make_request(sb: Sandbox, method: str, target: str, headers: dict[str, str], body: bytes):  # type: ignore[no-untyped-def]
    """A :class:`Request` as the endpoint builds it."""
    return build_request(method, target, headers, body, account_id=sb.account_id, region=sb.region)


@pytest.fixture
def endpoint(sb: Sandbox) -> Iterator[str]:
    """The sandbox's endpoint on a free loopback port."""
    server = sb.serve(port=0)
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture
def sqs(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def call(sb: Sandbox, operation: str, body: object, raw: bytes | None = None):  # type: ignore[no-untyped-def]
    request = make_request(
        sb,
        "POST",
        "/",
        {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"AmazonSQS.{operation}"},
        json.dumps(body).encode() if raw is None else raw,
    )
    response = sqs_api.handle(sb, request)
    assert response is not None
    return response.status, response.headers, json.loads(response.body)


# the handler itself ----------------------------------------------------------------------------
def test_other_requests_are_not_sqs(sb: Sandbox) -> None:
    form = make_request(
        sb, "POST", "/", {"Content-Type": "application/x-www-form-urlencoded"}, b"Action=Publish"
    )
    assert sqs_api.handle(sb, form) is None
    lambda_call = make_request(sb, "GET", "/2015-03-31/functions/", {}, b"")
    assert sqs_api.handle(sb, lambda_call) is None


def test_create_send_receive_by_hand(sb: Sandbox) -> None:
    status, headers, body = call(sb, "CreateQueue", {"QueueName": "orders"})
    assert status == 200
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert headers["x-amzn-RequestId"]
    url = body["QueueUrl"]
    assert url == f"https://sqs.{sb.region}.amazonaws.com/{sb.account_id}/orders"
    status, _, sent = call(sb, "SendMessage", {"QueueUrl": url, "MessageBody": "hello"})
    assert sent["MD5OfMessageBody"] == "5d41402abc4b2a76b9719d911017c592"
    _, _, got = call(sb, "ReceiveMessage", {"QueueUrl": url})
    assert [m["Body"] for m in got["Messages"]] == ["hello"]
    assert sb.sqs.get_queue_attributes(url, ["ApproximateNumberOfMessagesNotVisible"]) == {
        "Attributes": {"ApproximateNumberOfMessagesNotVisible": "1"}
    }


def test_queue_url_of_any_host_names_the_queue(sb: Sandbox) -> None:
    sb.sqs.create_queue("jobs")
    local = f"http://localhost:4566/{sb.account_id}/jobs"
    status, _, _ = call(sb, "SendMessage", {"QueueUrl": local, "MessageBody": "a"})
    assert status == 200
    url = f"https://sqs.{sb.region}.amazonaws.com/{sb.account_id}/jobs"
    counts = sb.sqs.get_queue_attributes(url, ["ApproximateNumberOfMessages"])
    assert counts["Attributes"]["ApproximateNumberOfMessages"] == "1"


def test_errors_carry_shape_and_legacy_code(sb: Sandbox) -> None:
    url = f"https://sqs.{sb.region}.amazonaws.com/{sb.account_id}/missing"
    status, headers, body = call(sb, "SendMessage", {"QueueUrl": url, "MessageBody": "x"})
    assert status == 400
    assert body == {
        "__type": "com.amazonaws.sqs#QueueDoesNotExist",
        "message": "The specified queue does not exist.",
    }
    assert headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"


def test_missing_member_and_wrong_types(sb: Sandbox) -> None:
    status, headers, body = call(sb, "SendMessage", {"MessageBody": "x"})
    assert (status, body["message"]) == (400, "The request must contain the parameter QueueUrl.")
    assert headers["x-amzn-query-error"] == "MissingParameter;Sender"
    status, headers, body = call(sb, "CreateQueue", {"QueueName": 7})
    assert status == 400
    assert body["__type"] == "com.amazon.coral.service#SerializationException"
    assert "x-amzn-query-error" not in headers
    for raw in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        status, _, body = call(sb, "ListQueues", None, raw=raw)
        assert status == 400
        assert body["__type"].endswith("SerializationException")
    assert sb.sqs.list_queues() == {}


def test_unimplemented_and_unknown_operations_are_named(sb: Sandbox) -> None:
    status, headers, body = call(sb, "TagQueue", {"QueueUrl": "x", "Tags": {"a": "b"}})
    assert status == 400
    assert body["message"] == "The sandbox does not implement SQS's TagQueue operation yet."
    assert headers["x-amzn-query-error"] == "AWS.SimpleQueueService.UnsupportedOperation;Sender"
    status, _, body = call(sb, "MakeCoffee", {})
    assert status == 400
    assert body["__type"] == "com.amazon.coral.service#UnknownOperationException"
    assert "MakeCoffee" in body["message"]


def test_tags_on_create_are_refused_whole(sb: Sandbox) -> None:
    status, _, body = call(sb, "CreateQueue", {"QueueName": "t", "tags": {"team": "a"}})
    assert status == 400
    assert "tags" in body["message"].lower()
    assert sb.sqs.list_queues() == {}


def test_other_account_from_the_access_key(sb: Sandbox) -> None:
    request = make_request(
        sb,
        "POST",
        "/",
        {
            "X-Amz-Target": "AmazonSQS.CreateQueue",
            "Authorization": "AWS4-HMAC-SHA256 Credential=210987654321/20250105/"
            f"{sb.region}/sqs/aws4_request, SignedHeaders=host, Signature=00",
        },
        b'{"QueueName": "theirs"}',
    )
    response = sqs_api.handle(sb, request)
    assert response is not None
    assert json.loads(response.body)["QueueUrl"].endswith("/210987654321/theirs")
    assert sb.sqs.list_queues() == {}
    assert len(sb.for_account("210987654321").sqs.list_queues()["QueueUrls"]) == 1


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
_MEMBERS = st.sampled_from(
    ["QueueUrl", "QueueName", "Attributes", "AttributeNames", "MessageBody", "Entries",
     "MessageAttributes", "ReceiptHandle", "VisibilityTimeout", "MaxNumberOfMessages",
     "DelaySeconds", "NextToken", "MaxResults", "MessageAttributeNames", "tags"]
)  # fmt: skip


def test_malformed_requests_never_crash_and_garbage_changes_nothing() -> None:
    """Any body, any member values: an SQS answer (200 or 400 with a JSON body), never an
    exception; a body that is not a JSON object leaves the store as it was."""
    with Sandbox.ephemeral(clock=FakeClock()) as sb:
        url = sb.sqs.create_queue("q")["QueueUrl"]
        sb.sqs.send_message(url, "kept")
        operations = st.sampled_from([*sqs_api.OPERATIONS, "TagQueue", "Nope", ""])

        @settings(max_examples=300, deadline=None)
        @given(operations, st.dictionaries(_MEMBERS, _JSON, max_size=5), st.booleans())
        def members(operation: str, body: dict[str, object], with_queue: bool) -> None:
            if with_queue:
                body["QueueUrl"] = url
            status, _, answer = call(sb, operation, body)
            assert status in (200, 400)
            assert isinstance(answer, dict)

        @settings(max_examples=200, deadline=None)
        @given(operations, st.binary(max_size=64).filter(lambda b: not b.strip().startswith(b"{")))
        def garbage(operation: str, raw: bytes) -> None:
            before = sb.sqs.get_queue_attributes(url, ["All"])["Attributes"]
            request = make_request(sb, "POST", "/", {"X-Amz-Target": f"AmazonSQS.{operation}"}, raw)
            response = sqs_api.handle(sb, request)
            assert response is not None
            assert response.status in (200, 400)
            if raw.strip():
                assert response.status == 400
            assert sb.sqs.get_queue_attributes(url, ["All"])["Attributes"] == before

        garbage()
        members()


# boto3 -----------------------------------------------------------------------------------------
def test_boto3_queue_lifecycle(sqs, sb: Sandbox) -> None:  # type: ignore[no-untyped-def]
    url = sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
    assert sqs.get_queue_url(QueueName="orders")["QueueUrl"] == url
    assert sqs.list_queues()["QueueUrls"] == [url]
    assert sqs.list_queues(QueueNamePrefix="nope").get("QueueUrls") is None
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "45"
    assert attributes["QueueArn"] == f"arn:aws:sqs:{sb.region}:{sb.account_id}:orders"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "5"})
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])
    assert got["Attributes"] == {"DelaySeconds": "5"}
    sqs.delete_queue(QueueUrl=url)
    assert "QueueUrls" not in sqs.list_queues()


def test_boto3_list_queues_pages(sqs) -> None:  # type: ignore[no-untyped-def]
    for name in ("a", "b", "c"):
        sqs.create_queue(QueueName=name)
    first = sqs.list_queues(MaxResults=2)
    assert [u.rsplit("/", 1)[1] for u in first["QueueUrls"]] == ["a", "b"]
    rest = sqs.list_queues(MaxResults=2, NextToken=first["NextToken"])
    assert [u.rsplit("/", 1)[1] for u in rest["QueueUrls"]] == ["c"]
    assert "NextToken" not in rest


def test_boto3_send_receive_delete_round_trips_exactly(sqs) -> None:  # type: ignore[no-untyped-def]
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    body = 'naïve ✓ "quoted" \\ {json} 𝄞\r\n\t'
    attributes = {
        "text": {"DataType": "String", "StringValue": "wörld"},
        "count": {"DataType": "Number", "StringValue": "42"},
        "blob": {"DataType": "Binary", "BinaryValue": bytes(range(256))},
        "kind": {"DataType": "String.custom", "StringValue": "x"},
    }
    sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
    got = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["ApproximateReceiveCount"]
    )
    (message,) = got["Messages"]
    assert message["Body"] == body
    assert message["MessageAttributes"] == attributes
    assert message["MessageId"] == sent["MessageId"]
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert message["Attributes"] == {"ApproximateReceiveCount": "1"}
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    attributes_now = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes_now["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_boto3_visibility_on_the_sandbox_clock(sqs, clock) -> None:  # type: ignore[no-untyped-def]
    url = sqs.create_queue(QueueName="v")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"][0]["ReceiptHandle"]
    clock.advance(31)
    again = sqs.receive_message(QueueUrl=url)["Messages"][0]
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=0
    )
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "m"
    with pytest.raises(ClientError) as caught:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="garbage")
    assert caught.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
    del handle


def test_boto3_batches(sqs) -> None:  # type: ignore[no-untyped-def]
    url = sqs.create_queue(QueueName="b")["QueueUrl"]
    sent = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "1", "MessageBody": "one"},
            {"Id": "2", "MessageBody": "two", "DelaySeconds": 0},
            {"Id": "3", "MessageBody": "three", "DelaySeconds": 901},
        ],
    )
    assert [s["Id"] for s in sent["Successful"]] == ["1", "2"]
    (failed,) = sent["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == (
        "3",
        "InvalidParameterValue",
        True,
    )
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == ["one", "two"]
    changed = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[{"Id": "a", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 60}],
    )
    assert changed["Successful"] == [{"Id": "a"}]
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
    )
    assert len(deleted["Successful"]) == 2
    assert deleted.get("Failed", []) == []
    with pytest.raises(ClientError) as caught:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "x", "MessageBody": "a"}] * 2)
    assert caught.value.response["Error"]["Code"] == (
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    )


def test_boto3_error_codes_and_exception_classes(sqs, sb: Sandbox) -> None:  # type: ignore[no-untyped-def]
    missing = f"https://sqs.us-east-1.amazonaws.com/{sb.account_id}/missing"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as caught:
        sqs.get_queue_url(QueueName="missing")
    error = caught.value.response["Error"]
    assert error["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error["QueryErrorCode"] == "QueueDoesNotExist"
    assert error["Message"] == "The specified queue does not exist."
    assert error["Type"] == "Sender"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=missing, MessageBody="x")
    sqs.create_queue(QueueName="dup", Attributes={"DelaySeconds": "1"})
    with pytest.raises(sqs.exceptions.QueueNameExists) as exists:
        sqs.create_queue(QueueName="dup", Attributes={"DelaySeconds": "2"})
    assert exists.value.response["Error"]["Code"] == "QueueAlreadyExists"
    url = sqs.get_queue_url(QueueName="dup")["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress) as purged:
        sqs.purge_queue(QueueUrl=url)
    assert purged.value.response["Error"]["Code"] == ("AWS.SimpleQueueService.PurgeQueueInProgress")
    with pytest.raises(ClientError) as bad:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert bad.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(sqs.exceptions.UnsupportedOperation) as later:
        sqs.tag_queue(QueueUrl=url, Tags={"a": "b"})
    assert "TagQueue" in later.value.response["Error"]["Message"]


def test_boto3_fifo_and_dead_letter_sources(sqs) -> None:  # type: ignore[no-untyped-def]
    dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    source = sqs.create_queue(QueueName="src", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [source]
    fifo = sqs.create_queue(
        QueueName="f.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    first = sqs.send_message(QueueUrl=fifo, MessageBody="a", MessageGroupId="g")
    again = sqs.send_message(QueueUrl=fifo, MessageBody="a", MessageGroupId="g")
    assert again["MessageId"] == first["MessageId"]
    assert first["SequenceNumber"]
    got = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["a"]


def aws_cli(endpoint: str, tmp_path, *args: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Run the AWS CLI against the endpoint with throwaway credentials; its JSON output."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    done = subprocess.run(
        ["aws", "--endpoint-url", endpoint, "--output", "json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_aws_cli(endpoint: str, tmp_path, sb: Sandbox) -> None:  # type: ignore[no-untyped-def]
    url = aws_cli(endpoint, tmp_path, "sqs", "create-queue", "--queue-name", "cli")["QueueUrl"]
    assert url == f"https://sqs.us-east-1.amazonaws.com/{sb.account_id}/cli"
    aws_cli(endpoint, tmp_path, "sqs", "send-message", "--queue-url", url, "--message-body", "hi")
    got = aws_cli(endpoint, tmp_path, "sqs", "receive-message", "--queue-url", str(url))
    assert [m["Body"] for m in got["Messages"]] == ["hi"]  # type: ignore[index]
