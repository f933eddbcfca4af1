"""Saved test events per function, like the console's shareable test events."""

from __future__ import annotations

import pytest

from sandbox import Sandbox, errors
from sandbox.testing import FakeClock

ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"


def test_save_list_get_delete(sb: Sandbox, make_function) -> None:  # type: ignore[no-untyped-def]
    make_function("fn")
    assert sb.list_test_events("fn") == []
    sb.save_test_event("fn", "order-placed", {"order": 1})
    sb.save_test_event("fn", "Another_1", sb.generate_event("sqs", body="hi"))
    assert sb.list_test_events("fn") == ["Another_1", "order-placed"]
    assert sb.get_test_event("fn", "order-placed") == {"order": 1}
    sb.save_test_event("fn", "order-placed", '{"order": 2}')  # JSON text, replaces
    assert sb.get_test_event("fn", "order-placed") == {"order": 2}
    event = sb.get_test_event("fn", "Another_1")
    event["changed"] = True
    assert "changed" not in sb.get_test_event("fn", "Another_1")
    sb.delete_test_event("fn", "order-placed")
    assert sb.list_test_events(ARN) == ["Another_1"]  # any FunctionName spelling works


def test_saved_events_reach_the_handler(sb: Sandbox, make_function) -> None:  # type: ignore[no-untyped-def]
    make_function("fn")
    sb.save_test_event("fn", "hello", {"name": "test"})
    result = sb.invoke("fn", sb.get_test_event("fn", "hello"))
    assert result.payload == {"ok": True, "event": {"name": "test"}}


def test_errors(sb: Sandbox, make_function) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(errors.ResourceNotFoundException, match=f"Function not found: {ARN}"):
        sb.save_test_event("fn", "e", {})
    make_function("fn")
    with pytest.raises(
        errors.ResourceNotFoundException, match=f"Test event not found: nope \\(function {ARN}\\)"
    ):
        sb.get_test_event("fn", "nope")
    with pytest.raises(errors.ResourceNotFoundException, match="Test event not found: nope"):
        sb.delete_test_event("fn", "nope")
    for bad in ("", "a" * 26, "has space", "dot.ted"):
        with pytest.raises(
            errors.ValidationException,
            match=r"failed to satisfy constraint: Member must satisfy regular expression",
        ):
            sb.save_test_event("fn", bad, {})
    with pytest.raises(errors.InvalidRequestContentException):
        sb.save_test_event("fn", "bad", "{not json")
    with pytest.raises(errors.RequestTooLargeException):
        sb.save_test_event("fn", "big", {"x": "y" * 6_300_000})
    assert sb.list_test_events("fn") == []


def test_survive_reopening_and_go_with_the_function(tmp_path, make_function) -> None:  # type: ignore[no-untyped-def]
    with Sandbox(tmp_path, clock=FakeClock()) as first:
        first.create_function("keep", "def lambda_handler(e, c):\n    return e\n")
        first.save_test_event("keep", "e1", [1, 2])
    with Sandbox(tmp_path, clock=FakeClock()) as second:
        assert second.get_test_event("keep", "e1") == [1, 2]
        other = second.for_account("210987654321")
        with pytest.raises(errors.ResourceNotFoundException):
            other.list_test_events("keep")
        second.delete_function("keep")
        second.create_function("keep", "def lambda_handler(e, c):\n    return e\n")
        assert second.list_test_events("keep") == []  # deleted with the function


def test_generate_event_uses_the_sandbox_account_region_and_clock(clock: FakeClock) -> None:
    with Sandbox.ephemeral(clock=clock, account_id="210987654321", region="eu-west-3") as sb:
        record = sb.generate_event("sqs", body="x")["Records"][0]
    assert record["eventSourceARN"] == "arn:aws:sqs:eu-west-3:210987654321:my-queue"
    assert record["attributes"]["SentTimestamp"] == str(int(clock.time() * 1000))
