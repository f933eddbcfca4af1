"""SNS stand-in: topics, sqs subscriptions and fan-out — with SNS's messages."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.resources import SNSClient, SQSClient
from sandbox.resources.errors import InvalidParameter, NotFound, ParameterValueInvalid
from sandbox.store import resources

TOPICS = "arn:aws:sns:us-east-1:123456789012"
QUEUES = "arn:aws:sqs:us-east-1:123456789012"


@pytest.fixture
def sns(sb: Sandbox) -> SNSClient:
    return sb.sns


@pytest.fixture
def sqs(sb: Sandbox) -> SQSClient:
    return sb.sqs


@pytest.fixture
def topic(sns: SNSClient) -> str:
    return sns.create_topic("orders")["TopicArn"]


def _queue(sqs: SQSClient, name: str) -> tuple[str, str]:
    url = sqs.create_queue(name)["QueueUrl"]
    return url, f"{QUEUES}:{name}"


def _bodies(sqs: SQSClient, url: str) -> list[str]:
    return [m["Body"] for m in sqs.receive_message(url, 10).get("Messages", [])]


# topics ---------------------------------------------------------------------------------------
def test_create_topic_is_idempotent(sns: SNSClient) -> None:
    assert sns.create_topic("orders", {"DisplayName": "Orders"}) == {"TopicArn": f"{TOPICS}:orders"}
    assert sns.create_topic("orders", {"DisplayName": "Orders"})["TopicArn"] == f"{TOPICS}:orders"
    assert sns.create_topic("orders")["TopicArn"] == f"{TOPICS}:orders"
    message = "Invalid parameter: Attributes Reason: Topic already exists with different attributes"
    with pytest.raises(InvalidParameter, match=f"^{message}$") as caught:
        sns.create_topic("orders", {"DisplayName": "Other"})
    assert (caught.value.code, caught.value.status_code) == ("InvalidParameter", 400)


@pytest.mark.parametrize("name", ["", "a b", "a" * 257, "orders.fifo", "dot.name"])
def test_topic_names_follow_sns_rules(sns: SNSClient, name: str) -> None:
    with pytest.raises(InvalidParameter, match=r"^Invalid parameter: Topic Name$"):
        sns.create_topic(name)


def test_fifo_topics_need_the_suffix(sns: SNSClient) -> None:
    with pytest.raises(InvalidParameter, match=r"^Fifo Topic names must end with \.fifo"):
        sns.create_topic("orders", {"FifoTopic": "true"})
    arn = sns.create_topic("orders.fifo", {"FifoTopic": "true"})["TopicArn"]
    message = "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
    with pytest.raises(InvalidParameter, match=re.escape(message)):
        sns.publish(arn, "hello")


def test_an_unknown_topic_attribute(sns: SNSClient) -> None:
    with pytest.raises(InvalidParameter, match=r"^Invalid parameter: AttributeName$"):
        sns.create_topic("orders", {"Colour": "red"})


def test_list_and_delete_topics(sns: SNSClient, topic: str) -> None:
    sns.create_topic("audit")
    assert sns.list_topics() == {"Topics": [{"TopicArn": f"{TOPICS}:audit"}, {"TopicArn": topic}]}
    sns.delete_topic(topic)
    sns.delete_topic(topic)  # idempotent, as SNS
    assert sns.list_topics() == {"Topics": [{"TopicArn": f"{TOPICS}:audit"}]}
    with pytest.raises(InvalidParameter, match=r"^Invalid parameter: TopicArn$"):
        sns.delete_topic("orders")


def test_get_topic_attributes(sns: SNSClient, sqs: SQSClient, topic: str) -> None:
    sns.subscribe(topic, "sqs", _queue(sqs, "a")[1])
    assert sns.get_topic_attributes(topic) == {
        "Attributes": {
            "TopicArn": topic,
            "Owner": "123456789012",
            "SubscriptionsConfirmed": "1",
            "SubscriptionsPending": "0",
            "SubscriptionsDeleted": "0",
            "DisplayName": "",
            "SignatureVersion": "1",
        }
    }
    with pytest.raises(NotFound, match=r"^Topic does not exist$") as caught:
        sns.get_topic_attributes(f"{TOPICS}:missing")
    assert caught.value.status_code == 404


# subscriptions --------------------------------------------------------------------------------
def test_subscribe_a_queue_and_list_it(sns: SNSClient, sqs: SQSClient, topic: str) -> None:
    _, queue = _queue(sqs, "audit")
    arn = sns.subscribe(topic, "sqs", queue)["SubscriptionArn"]
    assert re.fullmatch(rf"{re.escape(topic)}:[0-9a-f-]{{36}}", arn)
    assert sns.subscribe(topic, "sqs", queue, return_subscription_arn=True) == {
        "SubscriptionArn": arn
    }
    assert sns.list_subscriptions_by_topic(topic) == {
        "Subscriptions": [
            {
                "SubscriptionArn": arn,
                "Owner": "123456789012",
                "Protocol": "sqs",
                "Endpoint": queue,
                "TopicArn": topic,
            }
        ]
    }


def test_only_sqs_and_lambda_subscriptions_for_now(sns: SNSClient, topic: str) -> None:
    function = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    assert sns.subscribe(topic, "lambda", function)["SubscriptionArn"].startswith(topic)
    with pytest.raises(InvalidParameter, match="Protocol https is not supported by the sandbox"):
        sns.subscribe(topic, "https", "https://example.com")
    message = "Invalid parameter: Amazon SNS does not support this protocol string: carrier-pigeon"
    with pytest.raises(InvalidParameter, match=f"^{message}$"):
        sns.subscribe(topic, "carrier-pigeon", "coop")
    with pytest.raises(InvalidParameter, match=r"^Invalid parameter: SQS endpoint ARN$"):
        sns.subscribe(topic, "sqs", "https://sqs.us-east-1.amazonaws.com/123456789012/audit")


def test_subscribe_rules(sns: SNSClient, sqs: SQSClient, topic: str) -> None:
    _, queue = _queue(sqs, "audit")
    with pytest.raises(NotFound, match=r"^Topic does not exist$"):
        sns.subscribe(f"{TOPICS}:missing", "sqs", queue)
    message = "FIFO SQS Queues can not be subscribed to standard SNS topics"
    with pytest.raises(InvalidParameter, match=message):
        sns.subscribe(topic, "sqs", f"{QUEUES}:audit.fifo")
    with pytest.raises(InvalidParameter, match="FilterPolicy is not supported by the sandbox yet"):
        sns.subscribe(topic, "sqs", queue, {"FilterPolicy": "{}"})
    with pytest.raises(InvalidParameter, match=r"^Invalid parameter: AttributeName$"):
        sns.subscribe(topic, "sqs", queue, {"Colour": "red"})
    with pytest.raises(InvalidParameter, match=r"RawMessageDelivery: Invalid value \[yes\]"):
        sns.subscribe(topic, "sqs", queue, {"RawMessageDelivery": "yes"})
    sns.subscribe(topic, "sqs", queue, {"RawMessageDelivery": "True"})
    message = "Subscription already exists with different attributes"
    with pytest.raises(InvalidParameter, match=message):
        sns.subscribe(topic, "sqs", queue, {"RawMessageDelivery": "false"})
    assert len(sns.list_subscriptions_by_topic(topic)["Subscriptions"]) == 1


def test_unsubscribe(sns: SNSClient, sqs: SQSClient, topic: str) -> None:
    url, queue = _queue(sqs, "audit")
    arn = sns.subscribe(topic, "sqs", queue)["SubscriptionArn"]
    sns.unsubscribe(arn)
    assert sns.list_subscriptions_by_topic(topic) == {"Subscriptions": []}
    sns.publish(topic, "nobody listens")
    assert _bodies(sqs, url) == []
    with pytest.raises(NotFound, match=r"^Subscription does not exist$"):
        sns.unsubscribe(arn)
    with pytest.raises(InvalidParameter, match=r"^Invalid parameter: SubscriptionArn$"):
        sns.unsubscribe("nonsense")


def test_deleting_a_topic_deletes_its_subscriptions(
    sns: SNSClient, sqs: SQSClient, topic: str
) -> None:
    _, queue = _queue(sqs, "audit")
    arn = sns.subscribe(topic, "sqs", queue)["SubscriptionArn"]
    sns.delete_topic(topic)
    sns.create_topic("orders")
    assert sns.list_subscriptions_by_topic(topic) == {"Subscriptions": []}
    with pytest.raises(NotFound):
        sns.unsubscribe(arn)


# publishing -----------------------------------------------------------------------------------
def test_publish_fans_out_the_notification_json(
    sns: SNSClient, sqs: SQSClient, topic: str, clock: FakeClock
) -> None:
    first_url, first = _queue(sqs, "first")
    second_url, second = _queue(sqs, "second")
    subscription = sns.subscribe(topic, "sqs", first)["SubscriptionArn"]
    sns.subscribe(topic, "sqs", second)
    attributes: dict[str, dict[str, str | bytes]] = {
        "kind": {"DataType": "String", "StringValue": "order"},
        "count": {"DataType": "Number", "StringValue": "3"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    message_id = sns.publish(topic, "hello", "Greetings", attributes)["MessageId"]
    [body] = _bodies(sqs, first_url)
    [other] = _bodies(sqs, second_url)
    unsubscribe = json.loads(other)["UnsubscribeURL"]
    assert json.loads(other) == json.loads(body) | {"UnsubscribeURL": unsubscribe}
    assert unsubscribe != json.loads(body)["UnsubscribeURL"]  # one per subscription
    assert body.startswith('{\n  "Type" : "Notification",\n  "MessageId" : ')
    notification = json.loads(body)
    assert list(notification) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
        "UnsubscribeURL",
        "MessageAttributes",
    ]
    assert notification["MessageId"] == message_id
    assert notification["TopicArn"] == topic
    assert notification["Subject"] == "Greetings"
    assert notification["Message"] == "hello"
    assert notification["Timestamp"] == "2025-01-05T08:00:00.000Z"
    assert notification["SignatureVersion"] == "1"
    assert base64.b64decode(notification["Signature"])
    assert notification["SigningCertURL"].startswith("https://sns.us-east-1.amazonaws.com/")
    assert notification["UnsubscribeURL"] == (
        f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription}"
    )
    assert notification["MessageAttributes"] == {
        "blob": {"Type": "Binary", "Value": "AAE="},
        "count": {"Type": "Number", "Value": "3"},
        "kind": {"Type": "String", "Value": "order"},
    }


def test_subject_and_attributes_are_left_out_when_not_given(
    sns: SNSClient, sqs: SQSClient, topic: str
) -> None:
    url, queue = _queue(sqs, "audit")
    sns.subscribe(topic, "sqs", queue)
    sns.publish(topic, '{"order": 1}')
    notification = json.loads(_bodies(sqs, url)[0])
    assert "Subject" not in notification and "MessageAttributes" not in notification
    assert notification["Message"] == '{"order": 1}'


def test_raw_message_delivery(sns: SNSClient, sqs: SQSClient, topic: str) -> None:
    url, queue = _queue(sqs, "raw")
    sns.subscribe(topic, "sqs", queue, {"RawMessageDelivery": "true"})
    attributes = {"kind": {"DataType": "String", "StringValue": "order"}}
    sns.publish(topic, "just this", message_attributes=attributes)
    [message] = sqs.receive_message(url, message_attribute_names=["All"])["Messages"]
    assert message["Body"] == "just this"
    assert message["MessageAttributes"] == attributes
    assert message["MD5OfMessageAttributes"] == resources.md5_of_message_attributes(attributes)


def test_a_deleted_queue_does_not_stop_the_others(
    sns: SNSClient, sqs: SQSClient, topic: str
) -> None:
    gone_url, gone = _queue(sqs, "gone")
    kept_url, kept = _queue(sqs, "kept")
    sns.subscribe(topic, "sqs", gone)
    sns.subscribe(topic, "sqs", kept)
    sqs.delete_queue(gone_url)
    assert sns.publish(topic, "still delivered")["MessageId"]
    assert json.loads(_bodies(sqs, kept_url)[0])["Message"] == "still delivered"
    assert len(sns.list_subscriptions_by_topic(topic)["Subscriptions"]) == 2


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"message": ""}, InvalidParameter, "^Invalid parameter: Empty message$"),
        ({"message": "x" * 262_145}, InvalidParameter, "^Invalid parameter: Message too long$"),
        ({"message": "x", "subject": ""}, InvalidParameter, "^Invalid parameter: Subject$"),
        ({"message": "x", "subject": "a\nb"}, InvalidParameter, "^Invalid parameter: Subject$"),
        ({"message": "x", "subject": "s" * 100}, InvalidParameter, "^Invalid parameter: Subj"),
        (
            {"message": "x", "message_attributes": {"a": {"DataType": "Text"}}},
            ParameterValueInvalid,
            "supported type prefixes: Binary, Number, String",
        ),
    ],
)
def test_publish_rules(
    sns: SNSClient,
    sqs: SQSClient,
    topic: str,
    kwargs: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    url, queue = _queue(sqs, "audit")
    sns.subscribe(topic, "sqs", queue)
    with pytest.raises(error, match=message):
        sns.publish(topic, **kwargs)  # type: ignore[arg-type]
    assert sns.published(topic) == []  # nothing half-written
    assert _bodies(sqs, url) == []


def test_publish_to_a_missing_topic(sns: SNSClient) -> None:
    with pytest.raises(NotFound, match=r"^Topic does not exist$"):
        sns.publish(f"{TOPICS}:missing", "x")
    with pytest.raises(InvalidParameter, match=r"^Invalid parameter: TopicArn$"):
        sns.publish("missing", "x")


def test_a_notification_too_big_for_the_queue_is_dropped(
    sns: SNSClient, sqs: SQSClient, topic: str
) -> None:
    url, queue = _queue(sqs, "audit")
    sns.subscribe(topic, "sqs", queue)
    sns.publish(topic, "x" * 262_144)  # fits SNS; the JSON around it does not fit SQS
    assert _bodies(sqs, url) == []
    assert len(sns.published(topic)) == 1


# the sandbox-only log -------------------------------------------------------------------------
def test_published_keeps_the_last_thousand(sb: Sandbox, sns: SNSClient, topic: str) -> None:
    sns.publish(topic, "first", "Hi", {"k": {"DataType": "String", "StringValue": "v"}})
    assert sns.published(topic) == [
        {
            "MessageId": sns.published(topic)[0]["MessageId"],
            "Message": "first",
            "Subject": "Hi",
            "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}},
            "Timestamp": "2025-01-05T08:00:00.000Z",
        }
    ]
    with sb._shared.db.transaction() as conn:
        for i in range(1_004):
            resources.publish(conn, topic, f"m{i}", now=sb.clock.time())
    kept = [m["Message"] for m in sns.published(topic)]
    assert kept == [f"m{i}" for i in range(4, 1_004)]
    with pytest.raises(NotFound):
        sns.published(f"{TOPICS}:missing")


def test_topics_and_subscriptions_survive_reopening(tmp_path: Path) -> None:
    with Sandbox(tmp_path, clock=FakeClock()) as sb:
        topic = sb.sns.create_topic("orders")["TopicArn"]
        url = sb.sqs.create_queue("audit")["QueueUrl"]
        sb.sns.subscribe(topic, "sqs", f"{QUEUES}:audit", {"RawMessageDelivery": "true"})
        sb.sns.publish(topic, "before")
    with Sandbox(tmp_path, clock=FakeClock()) as sb:
        sb.sns.publish(topic, "after")
        assert [m["Message"] for m in sb.sns.published(topic)] == ["before", "after"]
        assert _bodies(sb.sqs, url) == ["before", "after"]
