"""``events.generate``: the given fields land where the service puts them, derived fields
are computed as AWS computes them, and a fake clock plus a seed make events repeatable."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from urllib.parse import unquote_plus

import pytest

from sandbox import events
from sandbox.testing import FakeClock


def test_sqs_body_count_and_md5() -> None:
    event = events.generate("sqs", body={"order": 7}, count=3, queue_name="orders")
    records = event["Records"]
    assert len(records) == 3
    assert {r["body"] for r in records} == {'{"order": 7}'}
    assert len({r["messageId"] for r in records}) == 3
    for r in records:
        assert r["md5OfBody"] == hashlib.md5(r["body"].encode()).hexdigest()
        assert r["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:orders"


def test_sqs_md5_of_message_attributes_matches_an_independent_computation() -> None:
    event = events.generate("sqs", body="hi", message_attributes={"Author": "Jane", "Count": 3})
    record = event["Records"][0]
    assert record["messageAttributes"]["Count"]["dataType"] == "Number"

    def part(b: bytes) -> bytes:
        return len(b).to_bytes(4, "big") + b

    expected = hashlib.md5(
        part(b"Author") + part(b"String") + b"\x01" + part(b"Jane")
        + part(b"Count") + part(b"Number") + b"\x01" + part(b"3")
    ).hexdigest()  # fmt: skip
    assert record["md5OfMessageAttributes"] == expected
    assert struct.pack(">I", 6) == part(b"Author")[:4]


def test_sqs_without_attributes_has_a_null_attribute_digest() -> None:
    record = events.generate("sqs", body="x", message_attributes={})["Records"][0]
    assert record["messageAttributes"] == {} and record["md5OfMessageAttributes"] is None


def test_sqs_fifo() -> None:
    record = events.generate("sqs", body="x", fifo=True, group_id="g1")["Records"][0]
    assert record["eventSourceARN"].endswith(":my-queue.fifo")
    assert record["attributes"]["MessageGroupId"] == "g1"
    assert record["attributes"]["SequenceNumber"].isdigit()


def test_sns() -> None:
    sns = events.generate(
        "sns", message={"a": 1}, subject="S", topic_name="t", message_attributes={"k": 2}
    )["Records"][0]["Sns"]
    assert sns["Message"] == '{"a": 1}' and sns["Subject"] == "S"
    assert sns["TopicArn"] == "arn:aws:sns:us-east-1:123456789012:t"
    assert sns["MessageAttributes"] == {"k": {"Type": "Number", "Value": "2"}}


def test_s3_key_is_url_encoded_with_plus_for_spaces() -> None:
    obj = events.generate("s3-put", bucket="b", key="my photos/cat & dog.jpg", size=5)
    s3 = obj["Records"][0]["s3"]
    assert s3["object"]["key"] == "my+photos/cat+%26+dog.jpg"
    assert unquote_plus(s3["object"]["key"]) == "my photos/cat & dog.jpg"
    assert s3["object"]["size"] == 5 and s3["bucket"]["arn"] == "arn:aws:s3:::b"
    delete = events.generate("s3-delete", key="a b")["Records"][0]
    assert delete["eventName"] == "ObjectRemoved:Delete"
    assert delete["s3"]["object"]["key"] == "a+b"


def test_eventbridge_and_scheduled() -> None:
    event = events.generate("eventbridge", source="shop", detail_type="Paid", detail={"id": 1})
    assert (event["source"], event["detail-type"], event["detail"]) == ("shop", "Paid", {"id": 1})
    scheduled = events.generate("scheduled", rule_name="nightly", clock=FakeClock())
    assert scheduled["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/nightly"]
    assert scheduled["time"] == "2025-01-05T08:00:00Z"


def test_apigateway_rest() -> None:
    event = events.generate(
        "apigateway-rest", method="post", path="/orders", body={"a": 1},
        query={"x": ["1", "2"]}, headers={"X-Id": "9"}, clock=FakeClock(),
    )  # fmt: skip
    assert event["httpMethod"] == "POST" and event["path"] == "/orders"
    assert json.loads(event["body"]) == {"a": 1}
    assert event["queryStringParameters"] == {"x": "2"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["headers"]["X-Id"] == "9" and event["multiValueHeaders"]["X-Id"] == ["9"]
    rc = event["requestContext"]
    assert rc["requestTime"] == "05/Jan/2025:08:00:00 +0000"
    assert rc["requestTimeEpoch"] == 1_736_064_000_000 and rc["path"] == "/prod/orders"


def test_binary_bodies_are_base64() -> None:
    event = events.generate("function-url", method="PUT", path="/f", body=b"\x00\x01")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\x01"
    assert event["requestContext"]["domainName"].endswith(".lambda-url.us-east-1.on.aws")


def test_http_api_v2() -> None:
    event = events.generate("apigateway-http", method="GET", path="/p", query={"a": ["1", "2"]},
                            cookies=["c=1"])  # fmt: skip
    assert event["rawQueryString"] == "a=1&a=2"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["routeKey"] == "GET /p" and event["cookies"] == ["c=1"]
    assert event["requestContext"]["http"]["method"] == "GET"


def test_alb() -> None:
    event = events.generate("alb", method="delete", path="/x", query={"q": "a b"})
    assert event["httpMethod"] == "DELETE" and event["queryStringParameters"] == {"q": "a+b"}
    assert event["body"] == ""


def test_kinesis_data_count_and_monotonic_sequence_numbers() -> None:
    event = events.generate("kinesis", data={"t": 1}, count=3, partition_key="k")
    records = event["Records"]
    assert [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in records] == [{"t": 1}] * 3
    seqs = [int(r["kinesis"]["sequenceNumber"]) for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert all(r["eventID"].endswith(r["kinesis"]["sequenceNumber"]) for r in records)
    clock = FakeClock()
    first = events.generate("kinesis", clock=clock)["Records"][0]["kinesis"]["sequenceNumber"]
    clock.advance(1)
    later = events.generate("kinesis", clock=clock)["Records"][0]["kinesis"]["sequenceNumber"]
    assert int(later) > int(first)


def test_dynamodb_conversions() -> None:
    assert events.to_attribute_value(
        {"s": "x", "n": 1, "f": 1.5, "b": True, "z": None, "l": [1, "a"], "raw": b"hi"}
    ) == {"M": {
        "s": {"S": "x"}, "n": {"N": "1"}, "f": {"N": "1.5"}, "b": {"BOOL": True},
        "z": {"NULL": True}, "l": {"L": [{"N": "1"}, {"S": "a"}]}, "raw": {"B": "aGk="},
    }}  # fmt: skip
    event = events.generate(
        "dynamodb-modify", keys={"pk": "o#1"}, new_image={"total": 2}, old_image={"total": 1},
        table_name="T",
    )  # fmt: skip
    ddb = event["Records"][0]["dynamodb"]
    assert ddb["Keys"] == {"pk": {"S": "o#1"}}
    assert ddb["NewImage"] == {"pk": {"S": "o#1"}, "total": {"N": "2"}}
    assert ddb["OldImage"] == {"pk": {"S": "o#1"}, "total": {"N": "1"}}
    assert ddb["SizeBytes"] == (2 + 3 + 5 + 2) * 2 + 2 + 3  # names, strings, numbers
    assert event["Records"][0]["eventSourceARN"].startswith(
        "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/"
    )
    with pytest.raises(TypeError, match="INSERT record has no OldImage"):
        events.generate("dynamodb-insert", old_image={"a": 1})


def test_cloudwatch_logs() -> None:
    event = events.generate("cloudwatch-logs", messages=["one", "two"], log_group="/g")
    payload = events.decode_awslogs(event)
    assert [e["message"] for e in payload["logEvents"]] == ["one", "two"]
    assert payload["logGroup"] == "/g"


def test_ses_cognito_cloudformation() -> None:
    ses = events.generate("ses", sender="a@x", recipients=["b@y"], subject="Hi")["Records"][0]
    assert ses["ses"]["mail"]["commonHeaders"]["subject"] == "Hi"
    assert ses["ses"]["receipt"]["recipients"] == ["b@y"]
    cognito = events.generate("cognito-pre-signup", username="u", email="u@x")
    assert cognito["userName"] == "u" and cognito["request"]["userAttributes"]["email"] == "u@x"
    cfn = events.generate("cloudformation-create", request_type="Update",
                          resource_properties={"Size": "2"})  # fmt: skip
    assert cfn["RequestType"] == "Update" and cfn["ResourceProperties"]["Size"] == "2"
    assert "PhysicalResourceId" in cfn and "OldResourceProperties" in cfn


@pytest.mark.parametrize("kind", events.kinds())
def test_fake_clock_and_seed_make_events_repeatable(kind: str) -> None:
    first = events.generate(kind, clock=FakeClock(), seed=3)
    assert first == events.generate(kind, clock=FakeClock(), seed=3)
    first["mutated"] = True
    assert "mutated" not in events.generate(kind, clock=FakeClock(), seed=3)  # fresh copies


def test_unknown_kind_and_field() -> None:
    with pytest.raises(ValueError, match="unknown event kind 'nope'"):
        events.generate("nope")
    with pytest.raises(TypeError, match="generate\\('sqs'\\) has no field 'bucket'"):
        events.generate("sqs", bucket="b")
    assert "body" in events.describe("sqs")["fields"]  # type: ignore[operator]
