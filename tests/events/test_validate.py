"""``events.validate`` reports missing and mistyped fields by path; ``check_payload``
applies Lambda's payload rules (spec §3)."""

from __future__ import annotations

import pytest

from sandbox import errors, events
from sandbox.events import check_payload, validate


def test_a_generated_event_is_valid() -> None:
    for kind in events.kinds():
        assert validate(kind, events.generate(kind)) == [], kind


def test_mistyped_and_missing_fields_are_reported_by_path() -> None:
    event = events.generate("sqs", count=2)
    event["Records"][0]["body"] = 1
    del event["Records"][1]["attributes"]["SentTimestamp"]
    assert validate("sqs", event) == [
        "Records[0].body: expected string, got int",
        "Records[1].attributes.SentTimestamp: missing",
    ]


def test_wrong_source_and_empty_records() -> None:
    assert validate("sqs", events.generate("sns"))[0] == "Records[0].messageId: missing"
    assert "Records[0].eventSource: expected 'aws:sqs', got 'aws:kinesis'" in validate(
        "sqs", events.generate("kinesis")
    )
    assert validate("kinesis", {"Records": []}) == ["Records: expected at least one item"]
    assert validate("eventbridge", []) == ["$: expected object, got array"]


def test_booleans_are_not_numbers() -> None:
    event = events.generate("apigateway-rest")
    event["requestContext"]["requestTimeEpoch"] = True
    assert validate("apigateway-rest", event) == [
        "requestContext.requestTimeEpoch: expected integer, got bool"
    ]


def test_non_json_events_are_reported() -> None:
    problems = validate("eventbridge", {"detail": {1, 2}})
    assert problems[0].startswith("$: InvalidRequestContentException: Could not parse request")


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        validate("nope", {})


def test_check_payload_uses_lambdas_limits() -> None:
    assert check_payload({"a": 1}) == b'{"a": 1}'
    with pytest.raises(errors.InvalidRequestContentException, match="Could not parse request"):
        check_payload("{not json")
    big = {"data": "x" * 1_100_000}
    check_payload(big)  # fine for RequestResponse (6 MB)
    with pytest.raises(errors.RequestTooLargeException, match="too large for the Event"):
        check_payload(big, "Event")
    with pytest.raises(errors.RequestTooLargeException, match="smaller than 6291456 bytes"):
        check_payload({"data": "x" * 6_300_000})
