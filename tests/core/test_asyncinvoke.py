"""The pure rules of asynchronous invocation (spec §7): the schedule, the record, the
envelopes."""

from __future__ import annotations

import json

import pytest

from sandbox.core.asyncinvoke import (
    SNS_MESSAGE_LIMIT,
    AttemptResponse,
    Condition,
    DestinationKind,
    destination_kind,
    dlq_error_message,
    eventbridge_event,
    failure_backoff,
    invocation_record,
    retry_delay,
    s3_record_key,
    shrink_for_sns,
)
from sandbox.errors import InvalidParameterValueException

FN = "arn:aws:lambda:us-east-1:123456789012:function:orders:$LATEST"
T = 1_736_064_000.25  # 2025-01-05T08:00:00.250Z


def test_function_errors_wait_one_then_two_minutes() -> None:
    assert [retry_delay(n) for n in (1, 2)] == [60.0, 120.0]


def test_throttles_back_off_from_one_second_to_five_minutes() -> None:
    delays = [failure_backoff(n) for n in range(1, 12)]
    assert delays[:9] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert delays[9:] == [300, 300]
    assert failure_backoff(10_000) == 300


def test_record_of_a_failure() -> None:
    response = AttemptResponse("$LATEST", "Unhandled", {"errorMessage": "boom"})
    record = invocation_record(
        request_id="r-1",
        function_arn=FN,
        condition=Condition.RETRIES_EXHAUSTED,
        approximate_invoke_count=3,
        request_payload={"orderId": 42},
        timestamp=T,
        response=response,
    )
    assert record == {
        "version": "1.0",
        "timestamp": "2025-01-05T08:00:00.250Z",
        "requestContext": {
            "requestId": "r-1",
            "functionArn": FN,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"orderId": 42},
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {"errorMessage": "boom"},
    }
    assert list(record) == [
        "version",
        "timestamp",
        "requestContext",
        "requestPayload",
        "responseContext",
        "responsePayload",
    ]


def test_record_without_a_response() -> None:
    record = invocation_record(
        request_id="r-2",
        function_arn=FN,
        condition=Condition.ZERO_RESERVED_CONCURRENCY,
        approximate_invoke_count=0,
        request_payload={},
        timestamp=T,
        response=None,
    )
    assert "responseContext" not in record and "responsePayload" not in record
    success = invocation_record(
        request_id="r-3",
        function_arn=FN,
        condition=Condition.SUCCESS,
        approximate_invoke_count=1,
        request_payload={},
        timestamp=T,
        response=AttemptResponse("4", None, None),
    )
    assert success["responseContext"] == {"statusCode": 200, "executedVersion": "4"}
    assert success["responsePayload"] is None


def test_response_round_trips_through_the_store() -> None:
    response = AttemptResponse("2", "Unhandled", {"errorType": "ValueError"})
    assert AttemptResponse.from_json(response.to_json()) == response


def test_big_records_lose_their_payloads_for_sns() -> None:
    small = {"requestContext": {}, "requestPayload": "x", "responsePayload": "y"}
    assert shrink_for_sns(small) is small
    big = {"requestContext": {}, "requestPayload": "x" * SNS_MESSAGE_LIMIT, "responsePayload": 1}
    assert shrink_for_sns(big) == {"requestContext": {}}


def test_eventbridge_envelope() -> None:
    bus = "arn:aws:events:us-east-1:123456789012:event-bus/default"
    for condition, kind in (
        (Condition.SUCCESS, "Success"),
        (Condition.EVENT_AGE_EXCEEDED, "Failure"),
    ):
        record = {"requestContext": {"condition": str(condition)}}
        event = eventbridge_event(
            record,
            event_id="e-1",
            account_id="123456789012",
            region="us-east-1",
            bus_arn=bus,
            function_arn=FN,
            timestamp=T,
        )
        assert event == {
            "version": "0",
            "id": "e-1",
            "detail-type": f"Lambda Function Invocation Result - {kind}",
            "source": "lambda",
            "account": "123456789012",
            "time": "2025-01-05T08:00:00Z",
            "region": "us-east-1",
            "resources": [bus, FN],
            "detail": record,
        }


def test_s3_key_and_dead_letter_message() -> None:
    assert s3_record_key("orders", T, "u-1") == (
        "aws/lambda/async/orders/2025/01/05/2025-01-05T08.00.00-u-1"
    )
    long = AttemptResponse("1", "Unhandled", {"errorMessage": "é" * 1000})
    message = dlq_error_message(long, "fallback")
    assert len(message.encode()) <= 1024 and message.startswith("éé")
    assert dlq_error_message(None, "fallback") == "fallback"
    assert dlq_error_message(AttemptResponse("1", None, "text"), "fb") == "fb"


@pytest.mark.parametrize(
    ("arn", "kind"),
    [
        ("arn:aws:lambda:us-east-1:123456789012:function:audit", DestinationKind.FUNCTION),
        ("arn:aws:lambda:us-east-1:123456789012:function:audit:live", DestinationKind.FUNCTION),
        ("arn:aws:sqs:eu-west-1:123456789012:failures", DestinationKind.QUEUE),
        ("arn:aws:sns:us-east-1:123456789012:done", DestinationKind.TOPIC),
        ("arn:aws:events:us-east-1:123456789012:event-bus/orders", DestinationKind.EVENT_BUS),
        ("arn:aws:s3:::my-bucket", DestinationKind.BUCKET),
    ],
)
def test_destination_kinds(arn: str, kind: DestinationKind) -> None:
    assert destination_kind(arn) is kind


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:dynamodb:us-east-1:123456789012:table/t",
        "arn:aws:sqs:us-east-1:123456789012:jobs.fifo",
        "arn:aws:sns:us-east-1:123456789012:news.fifo",
        "arn:aws:events:us-east-1:123456789012:rule/r",
        "arn:aws:s3:::A",
        "not-an-arn",
    ],
)
def test_refused_destinations(arn: str) -> None:
    with pytest.raises(InvalidParameterValueException, match="is invalid"):
        destination_kind(arn)


def test_records_are_json() -> None:
    record = invocation_record(
        request_id="r",
        function_arn=FN,
        condition=Condition.SUCCESS,
        approximate_invoke_count=1,
        request_payload={"a": [1, 2]},
        timestamp=T,
        response=AttemptResponse("$LATEST", None, {"ok": True}),
    )
    assert json.loads(json.dumps(record)) == record
