"""Handlers that parse events with a widely used typed library (Powertools for AWS Lambda's
event data classes) read every template and generated event correctly."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from sandbox import events

data_classes = pytest.importorskip("aws_lambda_powertools.utilities.data_classes")
cognito = pytest.importorskip(
    "aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event"
)


def test_every_kind_is_covered() -> None:
    covered = {name.removeprefix("test_").replace("_", "-") for name in globals()}
    aliases = {"dynamodb-insert", "dynamodb-modify", "dynamodb-remove", "s3-put", "s3-delete"}
    assert set(events.kinds()) <= covered | aliases


def test_sqs() -> None:
    event = data_classes.SQSEvent(
        events.generate("sqs", body={"id": 1}, count=2, message_attributes={"a": "x"})
    )
    records = list(event.records)
    assert [r.json_body for r in records] == [{"id": 1}, {"id": 1}]
    assert records[0].message_attributes["a"].string_value == "x"
    assert records[0].attributes.approximate_receive_count == "1"
    assert records[0].queue_url == "https://sqs.us-east-1.amazonaws.com/123456789012/my-queue"


def test_sns() -> None:
    event = data_classes.SNSEvent(events.generate("sns", message="hello", subject="S"))
    assert event.sns_message == "hello"
    assert event.record.sns.subject == "S"
    assert event.record.sns.message_attributes["Channel"].value == "web"


@pytest.mark.parametrize("kind", ["s3-put", "s3-delete"])
def test_s3(kind: str) -> None:
    event = data_classes.S3Event(events.generate(kind, bucket="photos", key="my cat+dog.jpg"))
    assert event.bucket_name == "photos"
    assert event.object_key == "my cat+dog.jpg"
    assert event.record.event_name == ("ObjectCreated:Put" if kind == "s3-put" else
                                       "ObjectRemoved:Delete")  # fmt: skip
    if kind == "s3-put":
        assert event.record.s3.get_object.size == 2048


def test_eventbridge() -> None:
    event = data_classes.EventBridgeEvent(
        events.generate("eventbridge", source="shop", detail_type="Paid", detail={"id": 1})
    )
    assert (event.source, event.detail_type, event.detail) == ("shop", "Paid", {"id": 1})


def test_scheduled() -> None:
    event = data_classes.EventBridgeEvent(events.generate("scheduled", rule_name="nightly"))
    assert event.detail_type == "Scheduled Event"
    assert event.resources == ["arn:aws:events:us-east-1:123456789012:rule/nightly"]


def test_apigateway_rest() -> None:
    event = data_classes.APIGatewayProxyEvent(
        events.generate(
            "apigateway-rest", method="POST", path="/orders", body={"a": 1}, query={"q": "x"}
        )
    )
    assert (event.http_method, event.path, event.json_body) == ("POST", "/orders", {"a": 1})
    assert event.query_string_parameters == {"q": "x"}
    assert event.request_context.stage == "prod"


def test_apigateway_http() -> None:
    event = data_classes.APIGatewayProxyEventV2(
        events.generate("apigateway-http", method="PUT", path="/a", body="hi", cookies=["c=1"])
    )
    assert (event.request_context.http.method, event.raw_path, event.body) == ("PUT", "/a", "hi")
    assert event.cookies == ["c=1"]


def test_function_url() -> None:
    event = data_classes.LambdaFunctionUrlEvent(
        events.generate("function-url", method="GET", path="/f", body=b"\x01", query={"a": "1"})
    )
    assert event.request_context.http.method == "GET" and event.path == "/f"
    assert event.decoded_body == "\x01"
    assert event.query_string_parameters == {"a": "1"}


def test_alb() -> None:
    event = data_classes.ALBEvent(events.generate("alb", method="GET", path="/health"))
    assert (event.http_method, event.path) == ("GET", "/health")
    assert event.request_context.elb_target_group_arn.startswith(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/"
    )


def test_kinesis() -> None:
    event = data_classes.KinesisStreamEvent(
        events.generate("kinesis", data={"t": 1}, count=2, partition_key="k")
    )
    records = list(event.records)
    assert [r.kinesis.data_as_json() for r in records] == [{"t": 1}, {"t": 1}]
    assert records[0].kinesis.partition_key == "k"
    assert json.loads(records[1].kinesis.data_as_text()) == {"t": 1}


@pytest.mark.parametrize("kind", ["dynamodb-insert", "dynamodb-modify", "dynamodb-remove"])
def test_dynamodb(kind: str) -> None:
    fields: dict[str, object] = {"keys": {"pk": "o#1"}}
    if kind != "dynamodb-remove":
        fields["new_image"] = {"total": 2.5, "tags": ["a"], "ok": True}
    if kind != "dynamodb-insert":
        fields["old_image"] = {"total": 1}
    record = next(iter(data_classes.DynamoDBStreamEvent(events.generate(kind, **fields)).records))
    assert record.event_name.name == kind.split("-")[1].upper()
    assert record.dynamodb.keys == {"pk": "o#1"}
    if kind != "dynamodb-remove":
        assert record.dynamodb.new_image == {
            "pk": "o#1", "total": Decimal("2.5"), "tags": ["a"], "ok": True
        }  # fmt: skip
    if kind != "dynamodb-insert":
        assert record.dynamodb.old_image == {"pk": "o#1", "total": Decimal("1")}


def test_cloudwatch_logs() -> None:
    event = data_classes.CloudWatchLogsEvent(
        events.generate("cloudwatch-logs", messages=["a", "b"], log_group="/g")
    )
    decoded = event.parse_logs_data()
    assert decoded.log_group == "/g" and decoded.owner == "123456789012"
    assert [e.message for e in decoded.log_events] == ["a", "b"]


def test_ses() -> None:
    event = data_classes.SESEvent(
        events.generate("ses", sender="a@x.org", recipients=["b@y.org"], subject="Hi")
    )
    mail = event.record.ses.mail
    assert (mail.source, mail.common_headers.subject) == ("a@x.org", "Hi")
    assert list(event.record.ses.receipt.recipients) == ["b@y.org"]


def test_cognito_pre_signup() -> None:
    event = cognito.PreSignUpTriggerEvent(
        events.generate("cognito-pre-signup", username="u1", email="u@x.org")
    )
    assert event.user_name == "u1"
    assert event.request.user_attributes == {"email": "u@x.org"}
    event.response.auto_confirm_user = True
    assert event.raw_event["response"]["autoConfirmUser"] is True


def test_cloudformation_create() -> None:
    event = data_classes.CloudFormationCustomResourceEvent(
        events.generate("cloudformation-create", resource_properties={"Size": "2"})
    )
    assert event.request_type == "Create"
    assert event.resource_properties == {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:my-function",
        "Size": "2",
    }
    assert event.stack_id.startswith("arn:aws:cloudformation:us-east-1:123456789012:stack/")
