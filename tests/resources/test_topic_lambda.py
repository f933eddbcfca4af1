"""SNS → Lambda subscriptions: subscribing a function, filter policies on message attributes
or the message body, the permission check, and the SNS event of spec §9 delivered end to
end (exactly one record, attributes in SNS's {"Type", "Value"} shape)."""

from __future__ import annotations

import json

import pytest

from sandbox import Sandbox
from sandbox.core.clock import iso8601_ms
from sandbox.resources.errors import InvalidParameter

ACCOUNT = "123456789012"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:orders"
ECHO = "def lambda_handler(event, context):\n    return event\n"


@pytest.fixture
def topic(sb: Sandbox) -> str:
    sb.create_function("fn", ECHO)
    return sb.sns.create_topic("orders")["TopicArn"]


def triggers(sb: Sandbox) -> list[dict[str, object]]:
    return sb.telemetry.rows(kind="trigger")


def string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def number(value: str) -> dict[str, str]:
    return {"DataType": "Number", "StringValue": value}


def test_subscribe_a_function(sb: Sandbox, topic: str) -> None:
    arn = sb.sns.subscribe(topic, "lambda", FN)["SubscriptionArn"]
    assert arn.startswith(f"{TOPIC}:")
    assert sb.sns.subscribe(topic, "lambda", FN)["SubscriptionArn"] == arn  # idempotent
    assert sb.sns.list_subscriptions_by_topic(topic)["Subscriptions"] == [
        {
            "SubscriptionArn": arn,
            "Owner": ACCOUNT,
            "Protocol": "lambda",
            "Endpoint": FN,
            "TopicArn": TOPIC,
        }
    ]


@pytest.mark.parametrize(
    ("protocol", "endpoint", "attributes", "message"),
    [
        ("lambda", "fn", None, "Invalid parameter: Lambda endpoint ARN"),
        (
            "lambda",
            f"arn:aws:sqs:us-east-1:{ACCOUNT}:q",
            None,
            "Invalid parameter: Lambda endpoint ARN",
        ),
        (
            "lambda",
            FN,
            {"RawMessageDelivery": "true"},
            "Invalid parameter: Attributes Reason: Delivery protocol [lambda] does not support "
            "raw message delivery.",
        ),
        ("lambda", FN, {"Color": "red"}, "Invalid parameter: AttributeName"),
        (
            "lambda",
            FN,
            {"FilterPolicy": '{"color": "red"}'},
            "Invalid parameter: FilterPolicy: Match value must be an array or an object",
        ),
        (
            "lambda",
            FN,
            {"FilterPolicy": '{"order": {"color": ["red"]}}'},
            "Invalid parameter: FilterPolicy: Filter policy scope MessageAttributes does not "
            "support nested filter policy",
        ),
        (
            "lambda",
            FN,
            {"FilterPolicyScope": "Everything"},
            "Invalid parameter: Attributes Reason: FilterPolicyScope: Invalid value [Everything]",
        ),
        (
            "sqs",
            f"arn:aws:sqs:us-east-1:{ACCOUNT}:q",
            {"FilterPolicy": '{"color": ["red"]}'},
            "Invalid parameter: Attributes Reason: FilterPolicy is not supported by the sandbox "
            "yet on sqs subscriptions",
        ),
        ("http", "http://example.com", None, "Invalid parameter: Protocol http is not supported"),
    ],
)
def test_subscribe_errors(
    sb: Sandbox,
    topic: str,
    protocol: str,
    endpoint: str,
    attributes: dict[str, str] | None,
    message: str,
) -> None:
    with pytest.raises(InvalidParameter) as info:
        sb.sns.subscribe(topic, protocol, endpoint, attributes)
    assert info.value.message.startswith(message)
    assert sb.sns.list_subscriptions_by_topic(topic)["Subscriptions"] == []


def test_without_permission_deliveries_are_denied(sb: Sandbox, topic: str) -> None:
    arn = sb.sns.subscribe(topic, "lambda", FN)["SubscriptionArn"]
    message_id = sb.sns.publish(topic, "hello")["MessageId"]
    (record,) = triggers(sb)
    assert record["status"] == "denied"
    assert record["trigger"] == "sns"
    assert record["principal"] == "sns.amazonaws.com"
    assert record["source_arn"] == TOPIC
    assert record["subscription_arn"] == arn
    assert record["message_id"] == message_id
    sb.sns.unsubscribe(arn)
    sb.sns.publish(topic, "again")
    assert len(triggers(sb)) == 1


def test_filter_policy_on_message_attributes(sb: Sandbox, topic: str) -> None:
    policy = {
        "color": ["red", "blue"],
        "price": [{"numeric": [">=", 100]}],
        "tags": ["urgent"],
    }
    sb.sns.subscribe(topic, "lambda", FN, {"FilterPolicy": json.dumps(policy)})
    tags = {"DataType": "String.Array", "StringValue": '["urgent", "gift"]'}
    sb.sns.publish(topic, "a", message_attributes={"color": string("red"), "price": number("150")})
    assert triggers(sb) == []  # no tags attribute
    sb.sns.publish(
        topic,
        "b",
        message_attributes={"color": string("green"), "price": number("150"), "tags": tags},
    )
    sb.sns.publish(
        topic,
        "c",
        message_attributes={"color": string("blue"), "price": number("99.5"), "tags": tags},
    )
    sb.sns.publish(topic, "d")  # no attributes at all
    assert triggers(sb) == []
    matched = sb.sns.publish(
        topic,
        "e",
        message_attributes={"color": string("blue"), "price": number("100"), "tags": tags},
    )
    (record,) = triggers(sb)
    assert record["message_id"] == matched["MessageId"]


def test_filter_policy_on_the_message_body(sb: Sandbox, topic: str) -> None:
    policy = {"order": {"total": [{"numeric": [">", 10]}]}}
    sb.sns.subscribe(
        topic,
        "lambda",
        FN,
        {"FilterPolicy": json.dumps(policy), "FilterPolicyScope": "MessageBody"},
    )
    sb.sns.publish(topic, json.dumps({"order": {"total": 5}}))
    sb.sns.publish(topic, "not json")
    assert triggers(sb) == []
    sb.sns.publish(topic, json.dumps({"order": {"total": 50}}))
    assert len(triggers(sb)) == 1


@pytest.mark.process
@pytest.mark.timeout(90)
def test_the_function_gets_the_sns_event(sb: Sandbox, topic: str) -> None:
    seen = sb.sqs.create_queue("seen")["QueueUrl"]
    copies = sb.sqs.create_queue("copies")["QueueUrl"]
    sb.put_function_event_invoke_config(
        "fn",
        destination_config={"OnSuccess": {"Destination": f"arn:aws:sqs:us-east-1:{ACCOUNT}:seen"}},
    )
    sb.add_permission("fn", "sns", "lambda:InvokeFunction", "sns.amazonaws.com", source_arn=TOPIC)
    subscription = sb.sns.subscribe(topic, "lambda", FN)["SubscriptionArn"]
    sb.sns.subscribe(topic, "sqs", f"arn:aws:sqs:us-east-1:{ACCOUNT}:copies")
    now = sb.clock.time()
    plain = sb.sns.publish(topic, "hello")["MessageId"]
    rich = sb.sns.publish(
        topic,
        '{"orderId": 1}',
        subject="Order received",
        message_attributes={"Channel": string("web"), "Count": number("3")},
    )["MessageId"]
    records = triggers(sb)
    assert [r["status"] for r in records] == ["invoked", "invoked"]
    assert sb.drain(60)
    got = sb.sqs.receive_message(seen, max_number_of_messages=10)["Messages"]
    payloads = {
        json.loads(m["Body"])["requestContext"]["requestId"]: json.loads(m["Body"])[
            "requestPayload"
        ]
        for m in got
    }
    first, second = (payloads[str(r["request_id"])] for r in records)
    (record,) = first["Records"]  # always exactly one record
    assert record["EventSource"] == "aws:sns"
    assert record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == subscription
    sns = record["Sns"]
    assert set(sns) == {
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertUrl",
        "UnsubscribeUrl",
        "MessageAttributes",
    }
    assert sns["Type"] == "Notification"
    assert sns["MessageId"] == plain
    assert sns["TopicArn"] == TOPIC
    assert sns["Subject"] is None
    assert sns["Message"] == "hello"
    assert sns["Timestamp"] == iso8601_ms(now)
    assert sns["SignatureVersion"] == "1"
    assert sns["MessageAttributes"] == {}
    assert sns["UnsubscribeUrl"].endswith(f"&SubscriptionArn={subscription}")
    rich_sns = second["Records"][0]["Sns"]
    assert rich_sns["MessageId"] == rich
    assert rich_sns["Subject"] == "Order received"
    assert rich_sns["Message"] == '{"orderId": 1}'
    assert rich_sns["MessageAttributes"] == {
        "Channel": {"Type": "String", "Value": "web"},
        "Count": {"Type": "Number", "Value": "3"},
    }
    # the queue subscribed to the same topic still gets its copies (fan-out)
    assert len(sb.sqs.receive_message(copies, max_number_of_messages=10)["Messages"]) == 2
