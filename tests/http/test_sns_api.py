"""SNS's query protocol on the endpoint: hand-built form requests against the handler, and
unmodified boto3 ``sns`` (and ``sqs``) clients and the AWS CLI through the sandbox's
endpoint (``sb.serve()``), which asks the SQS handler, then the SNS handler.

The XML must be SNS's exact shape (botocore parses it by the service model), errors carry
SNS's codes and statuses, and a publish reaches the subscribed queue as SNS's notification."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox import FakeClock, Sandbox
from sandbox.http import sns_api
from sandbox.http.protocol import build_request

boto3 = pytest.importorskip("boto3")
ClientError = pytest.importorskip("botocore.exceptions").ClientError

pytestmark = pytest.mark.timeout(60)

NS = "{http://sns.amazonaws.com/doc/2010-03-31/}"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


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


def client(endpoint: str, service: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


@pytest.fixture
def sns(endpoint: str):  # type: ignore[no-untyped-def]
    return client(endpoint, "sns")


@pytest.fixture
def sqs(endpoint: str):  # type: ignore[no-untyped-def]
    return client(endpoint, "sqs")


def call(sb: Sandbox, params: dict[str, str], headers: dict[str, str] = FORM):  # type: ignore[no-untyped-def]
    body = urlencode({"Version": "2010-03-31", **params}).encode()
    response = sns_api.handle(sb, make_request(sb, "POST", "/", headers, body))
    assert response is not None
    return response.status, response.headers, ET.fromstring(response.body)


# the handler itself ----------------------------------------------------------------------------
def test_other_requests_are_not_sns(sb: Sandbox) -> None:
    def ask(path: str, headers: dict[str, str], body: bytes) -> object:
        return sns_api.handle(sb, make_request(sb, "POST", path, headers, body))

    assert ask("/", FORM, b"Action=SendMessage&Version=2012-11-05") is None  # SQS's query
    assert ask("/", FORM, b"Action=AddPermission&Version=2012-11-05") is None  # SQS's too
    assert ask("/123456789012/q", FORM, b"Action=RemovePermission") is None
    assert ask("/", {"Content-Type": "application/json"}, b'{"Action": "Publish"}') is None
    assert ask("/", FORM, b"Action=MakeCoffee") is None
    signed = {
        **FORM,
        "Authorization": "AWS4-HMAC-SHA256 Credential=x/20250105/us-east-1/sqs/aws4_request",
    }
    assert ask("/", signed, b"Action=ListTopics") is None
    assert ask("/", FORM, b"\xff\xfe") is None


def test_publish_answers_in_sns_xml_shape(sb: Sandbox) -> None:
    arn = sb.sns.create_topic("orders")["TopicArn"]
    status, headers, root = call(sb, {"Action": "Publish", "TopicArn": arn, "Message": "hi"})
    assert status == 200
    assert headers["Content-Type"] == "text/xml"
    assert root.tag == f"{NS}PublishResponse"
    message_id = root.findtext(f"{NS}PublishResult/{NS}MessageId")
    assert message_id == sb.sns.published(arn)[0]["MessageId"]
    assert root.findtext(f"{NS}ResponseMetadata/{NS}RequestId") == headers["x-amzn-RequestId"]


def test_query_string_parameters_count_too(sb: Sandbox) -> None:
    sb.sns.create_topic("a")
    request = make_request(sb, "POST", "/?Action=ListTopics&Version=2010-03-31", FORM, b"")
    response = sns_api.handle(sb, request)
    assert response is not None
    root = ET.fromstring(response.body)
    arns = [e.text for e in root.iter(f"{NS}TopicArn")]
    assert arns == [f"arn:aws:sns:{sb.region}:{sb.account_id}:a"]


def test_errors_in_sns_xml_with_status(sb: Sandbox) -> None:
    missing = f"arn:aws:sns:{sb.region}:{sb.account_id}:missing"
    status, _, root = call(sb, {"Action": "Publish", "TopicArn": missing, "Message": "x"})
    assert status == 404
    assert root.tag == f"{NS}ErrorResponse"
    assert root.findtext(f"{NS}Error/{NS}Type") == "Sender"
    assert root.findtext(f"{NS}Error/{NS}Code") == "NotFound"
    assert root.findtext(f"{NS}Error/{NS}Message") == "Topic does not exist"
    assert root.findtext(f"{NS}RequestId")
    status, _, root = call(sb, {"Action": "CreateTopic"})
    assert status == 400
    assert root.findtext(f"{NS}Error/{NS}Code") == "ValidationError"
    assert "'name'" in (root.findtext(f"{NS}Error/{NS}Message") or "")
    status, _, root = call(sb, {"Action": "SetTopicAttributes", "TopicArn": missing})
    assert status == 400
    assert root.findtext(f"{NS}Error/{NS}Code") == "InvalidAction"
    assert "SetTopicAttributes" in (root.findtext(f"{NS}Error/{NS}Message") or "")


def test_bad_input_leaves_nothing_behind(sb: Sandbox) -> None:
    status, _, _ = call(sb, {"Action": "CreateTopic", "Name": "t", "Tags.member.1.Key": "team"})
    assert status == 400
    arn = sb.sns.create_topic("t")["TopicArn"]
    bad_binary = {
        "Action": "Publish",
        "TopicArn": arn,
        "Message": "m",
        "MessageAttributes.entry.1.Name": "b",
        "MessageAttributes.entry.1.Value.DataType": "Binary",
        "MessageAttributes.entry.1.Value.BinaryValue": "not base64!",
    }
    status, _, root = call(sb, bad_binary)
    assert (status, root.findtext(f"{NS}Error/{NS}Code")) == (400, "InvalidParameter")
    assert sb.sns.published(arn) == []
    assert sb.sns.list_topics()["Topics"] == [{"TopicArn": arn}]


def test_structured_message_needs_a_default(sb: Sandbox) -> None:
    arn = sb.sns.create_topic("s")["TopicArn"]
    base = {"Action": "Publish", "TopicArn": arn, "MessageStructure": "json"}
    status, _, root = call(sb, {**base, "Message": '{"email": "x"}'})
    assert status == 400
    assert "No default entry" in (root.findtext(f"{NS}Error/{NS}Message") or "")
    status, _, _ = call(sb, {**base, "Message": '{"default": "d", "sqs": "other"}'})
    assert status == 400
    status, _, _ = call(sb, {**base, "Message": '{"default": "d", "email": "e"}'})
    assert status == 200
    assert [m["Message"] for m in sb.sns.published(arn)] == ["d"]


_KEYS = st.sampled_from(
    ["Name", "TopicArn", "TargetArn", "Message", "Subject", "MessageStructure", "Protocol",
     "Endpoint", "SubscriptionArn", "NextToken", "Attributes.entry.1.key",
     "Attributes.entry.1.value", "MessageAttributes.entry.1.Name",
     "MessageAttributes.entry.1.Value.DataType", "MessageAttributes.entry.1.Value.StringValue",
     "MessageAttributes.entry.1.Value.BinaryValue", "Tags.member.1.Key"]
)  # fmt: skip


def test_malformed_requests_never_crash() -> None:
    """Any parameters of any action, and any bytes as a form: an SNS answer in XML (or
    None for what is not SNS's), never an exception; garbage changes nothing."""
    with Sandbox.ephemeral(clock=FakeClock()) as sb:
        topic = sb.sns.create_topic("t")["TopicArn"]
        queue = sb.sqs.create_queue("q")["QueueUrl"]
        sb.sns.subscribe(topic, "sqs", f"arn:aws:sqs:{sb.region}:{sb.account_id}:q")
        actions = st.sampled_from([*sns_api.OPERATIONS, "SetTopicAttributes"])

        @settings(max_examples=200, deadline=None)
        @given(st.binary(max_size=64))
        def garbage(raw: bytes) -> None:
            response = sns_api.handle(sb, make_request(sb, "POST", "/", FORM, raw))
            if response is not None:
                assert response.status in (400, 404)
                ET.fromstring(response.body)
            assert sb.sns.list_topics()["Topics"] == [{"TopicArn": topic}]
            assert sb.sns.published(topic) == []

        @settings(max_examples=300, deadline=None)
        @given(actions, st.dictionaries(_KEYS, st.text(max_size=30), max_size=6), st.booleans())
        def params(action: str, given_params: dict[str, str], on_topic: bool) -> None:
            if on_topic:
                given_params["TopicArn"] = topic
            try:
                status, _, root = call(sb, {**given_params, "Action": action})
            except ValueError:  # text urlencode cannot carry (lone surrogates)
                return
            assert status in (200, 400, 404)
            assert root.tag.startswith(NS)

        garbage()
        params()
        del queue


# boto3 -----------------------------------------------------------------------------------------
def test_boto3_topics(sns, sb: Sandbox) -> None:  # type: ignore[no-untyped-def]
    arn = sns.create_topic(Name="orders", Attributes={"DisplayName": "Orders & more"})["TopicArn"]
    assert arn == f"arn:aws:sns:us-east-1:{sb.account_id}:orders"
    assert sns.create_topic(Name="orders")["TopicArn"] == arn  # idempotent
    assert sns.list_topics()["Topics"] == [{"TopicArn": arn}]
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["DisplayName"] == "Orders & more"
    assert attributes["TopicArn"] == arn
    assert attributes["SubscriptionsConfirmed"] == "0"
    sns.delete_topic(TopicArn=arn)
    assert sns.list_topics()["Topics"] == []


def test_boto3_list_topics_pages_by_100(sns, sb: Sandbox) -> None:  # type: ignore[no-untyped-def]
    for i in range(105):
        sb.sns.create_topic(f"t{i:03}")
    first = sns.list_topics()
    assert len(first["Topics"]) == 100
    rest = sns.list_topics(NextToken=first["NextToken"])
    assert len(rest["Topics"]) == 5
    assert "NextToken" not in rest
    every = [t["TopicArn"] for t in first["Topics"] + rest["Topics"]]
    assert every == [t["TopicArn"] for t in sb.sns.list_topics()["Topics"]]


def test_boto3_fan_out_to_a_queue(sns, sqs) -> None:  # type: ignore[no-untyped-def]
    topic = sns.create_topic(Name="events")["TopicArn"]
    queue = sqs.create_queue(QueueName="audit")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)[
        "SubscriptionArn"
    ]
    assert subscription.startswith(topic + ":")
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["SubscriptionArn"], s["Protocol"], s["Endpoint"]) for s in listed] == [
        (subscription, "sqs", queue_arn)
    ]
    published = sns.publish(
        TopicArn=topic,
        Message='{"order": 7, "note": "ünïcode"}',
        Subject="New order",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "created"},
            "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
        },
    )
    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    notification = json.loads(message["Body"])
    assert notification["Type"] == "Notification"
    assert notification["MessageId"] == published["MessageId"]
    assert notification["TopicArn"] == topic
    assert notification["Subject"] == "New order"
    assert notification["Message"] == '{"order": 7, "note": "ünïcode"}'
    assert notification["MessageAttributes"]["kind"] == {"Type": "String", "Value": "created"}
    assert notification["MessageAttributes"]["raw"] == {
        "Type": "Binary",
        "Value": base64.b64encode(b"\x00\x01\xff").decode(),
    }
    sns.unsubscribe(SubscriptionArn=subscription)
    sns.publish(TopicArn=topic, Message="after")
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)


def test_boto3_raw_delivery_keeps_attributes(sns, sqs) -> None:  # type: ignore[no-untyped-def]
    topic = sns.create_topic(Name="raw")["TopicArn"]
    queue = sqs.create_queue(QueueName="raw-q")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:us-east-1:{queue.split('/')[-2]}:raw-q"
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True,
    )
    sns.publish(
        TopicArn=topic,
        Message="plain text",
        MessageAttributes={"n": {"DataType": "Number", "StringValue": "3"}},
    )
    (message,) = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    assert message["Body"] == "plain text"
    assert message["MessageAttributes"] == {"n": {"DataType": "Number", "StringValue": "3"}}


def test_boto3_error_codes(sns, sb: Sandbox) -> None:  # type: ignore[no-untyped-def]
    missing = f"arn:aws:sns:us-east-1:{sb.account_id}:missing"
    with pytest.raises(sns.exceptions.NotFoundException) as caught:
        sns.publish(TopicArn=missing, Message="x")
    error = caught.value.response
    assert error["Error"] == {
        "Type": "Sender",
        "Code": "NotFound",
        "Message": "Topic does not exist",
    }
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(sns.exceptions.InvalidParameterException) as invalid:
        sns.create_topic(Name="bad name!")
    assert invalid.value.response["Error"]["Code"] == "InvalidParameter"
    topic = sns.create_topic(Name="ok")["TopicArn"]
    with pytest.raises(sns.exceptions.InvalidParameterException) as protocol:
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="a@example.com")
    assert "email" in protocol.value.response["Error"]["Message"]
    with pytest.raises(sns.exceptions.InvalidParameterValueException) as value:
        sns.publish(
            TopicArn=topic,
            Message="x",
            MessageAttributes={"AWS.reserved": {"DataType": "String", "StringValue": "v"}},
        )
    assert value.value.response["Error"]["Code"] == "ParameterValueInvalid"
    with pytest.raises(ClientError) as later:
        sns.set_topic_attributes(TopicArn=topic, AttributeName="DisplayName", AttributeValue="x")
    assert later.value.response["Error"]["Code"] == "InvalidAction"
    assert "SetTopicAttributes" in later.value.response["Error"]["Message"]


@pytest.mark.process
def test_boto3_publish_invokes_a_subscribed_function(sns, sqs, sb: Sandbox) -> None:  # type: ignore[no-untyped-def]
    sb.create_function("fn", "def lambda_handler(event, context):\n    return event\n")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    seen = sqs.create_queue(QueueName="seen")["QueueUrl"]
    sb.put_function_event_invoke_config(
        "fn",
        destination_config={
            "OnSuccess": {"Destination": f"arn:aws:sqs:us-east-1:{sb.account_id}:seen"}
        },
    )
    sb.add_permission("fn", "sns", "lambda:InvokeFunction", "sns.amazonaws.com", source_arn=topic)
    function_arn = f"arn:aws:lambda:us-east-1:{sb.account_id}:function:fn"
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)
    published = sns.publish(
        TopicArn=topic,
        Message="hello",
        MessageAttributes={"channel": {"DataType": "String", "StringValue": "web"}},
    )
    assert sb.drain(60)
    (message,) = sqs.receive_message(QueueUrl=seen)["Messages"]
    (record,) = json.loads(message["Body"])["requestPayload"]["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["Sns"]["MessageId"] == published["MessageId"]
    assert record["Sns"]["Message"] == "hello"
    assert record["Sns"]["MessageAttributes"] == {"channel": {"Type": "String", "Value": "web"}}


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_aws_cli(endpoint: str, tmp_path, sb: Sandbox) -> None:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }

    def aws(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["aws", "--endpoint-url", endpoint, "--output", "json", "sns", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    created = aws("create-topic", "--name", "cli")
    assert created.returncode == 0, created.stderr
    topic = json.loads(created.stdout)["TopicArn"]
    published = aws("publish", "--topic-arn", topic, "--message", "hi")
    assert published.returncode == 0, published.stderr
    assert json.loads(published.stdout)["MessageId"] == sb.sns.published(topic)[0]["MessageId"]
    missing = aws("publish", "--topic-arn", topic + "-gone", "--message", "hi")
    assert missing.returncode != 0
    assert "NotFound" in missing.stderr
