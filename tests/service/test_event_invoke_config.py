"""Event invoke configs (spec §7): Put replaces, Update merges, Get/List/Delete, per
qualifier, with AWS's validation rules and messages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.errors import (
    InvalidParameterValueException,
    ResourceNotFoundException,
    ValidationException,
)
from tests.conftest import HANDLER_SOURCE

pytestmark = pytest.mark.timeout(60)

ARN = "arn:aws:lambda:us-east-1:123456789012:function"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:failures"
TOPIC = "arn:aws:sns:us-east-1:123456789012:done"
BUS = "arn:aws:events:us-east-1:123456789012:event-bus/default"
BUCKET = "arn:aws:s3:::failed-records"
NOTHING = "You must specify at least one of error handling or destination setting."


@pytest.fixture
def fn(sb: Sandbox) -> str:
    sb.create_function("orders", HANDLER_SOURCE)
    return "orders"


def test_put_then_get_shape(sb: Sandbox, fn: str, clock: FakeClock) -> None:
    config = sb.put_function_event_invoke_config(
        fn,
        maximum_retry_attempts=1,
        destination_config={"OnFailure": {"Destination": QUEUE}},
    )
    assert config.to_aws() == {
        "LastModified": datetime.fromtimestamp(clock.time(), UTC),
        "FunctionArn": f"{ARN}:orders:$LATEST",
        "MaximumRetryAttempts": 1,
        "DestinationConfig": {"OnSuccess": {}, "OnFailure": {"Destination": QUEUE}},
    }
    assert sb.get_function_event_invoke_config(fn) == config
    assert sb.get_function_event_invoke_config(fn, "$LATEST") == config


def test_put_replaces_update_merges(sb: Sandbox, fn: str, clock: FakeClock) -> None:
    sb.put_function_event_invoke_config(
        fn,
        maximum_retry_attempts=0,
        maximum_event_age_in_seconds=120,
        destination_config={"OnSuccess": {"Destination": TOPIC}},
    )
    clock.advance(5)
    merged = sb.update_function_event_invoke_config(
        fn, destination_config={"OnFailure": {"Destination": BUS}}
    )
    assert (merged.maximum_retry_attempts, merged.maximum_event_age_in_seconds) == (0, 120)
    assert (merged.on_success, merged.on_failure) == (TOPIC, BUS)
    removed = sb.update_function_event_invoke_config(fn, destination_config={"OnSuccess": {}})
    assert (removed.on_success, removed.on_failure) == (None, BUS)
    replaced = sb.put_function_event_invoke_config(fn, maximum_retry_attempts=2)
    doc = replaced.to_aws()
    assert "MaximumEventAgeInSeconds" not in doc  # reset by Put, omitted when unset
    assert doc["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}
    assert doc["LastModified"] == datetime.fromtimestamp(clock.time(), UTC)


def test_put_with_nothing_is_refused(sb: Sandbox, fn: str) -> None:
    with pytest.raises(InvalidParameterValueException, match=f"^{NOTHING}$"):
        sb.put_function_event_invoke_config(fn)
    with pytest.raises(InvalidParameterValueException, match=f"^{NOTHING}$"):
        sb.put_function_event_invoke_config(fn, destination_config={"OnSuccess": {}})
    with pytest.raises(InvalidParameterValueException, match=f"^{NOTHING}$"):
        sb.update_function_event_invoke_config(fn)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"maximum_retry_attempts": 3},
            "Value '3' at 'maximumRetryAttempts' failed to satisfy "
            "constraint: Member must have value less than or equal to 2",
        ),
        (
            {"maximum_retry_attempts": -1},
            "Value '-1' at 'maximumRetryAttempts' failed to satisfy "
            "constraint: Member must have value greater than or equal to 0",
        ),
        (
            {"maximum_event_age_in_seconds": 59},
            "Value '59' at 'maximumEventAgeInSeconds' "
            "failed to satisfy constraint: Member must have value greater than or equal to 60",
        ),
        (
            {"maximum_event_age_in_seconds": 21601},
            "Value '21601' at 'maximumEventAgeInSeconds'"
            " failed to satisfy constraint: Member must have value less than or equal to 21600",
        ),
    ],
)
def test_ranges(sb: Sandbox, fn: str, kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValidationException) as info:
        sb.put_function_event_invoke_config(fn, **kwargs)  # type: ignore[arg-type]
    assert info.value.message == f"1 validation error detected: {message}"


def test_bounds_are_accepted(sb: Sandbox, fn: str) -> None:
    low = sb.put_function_event_invoke_config(
        fn, maximum_retry_attempts=0, maximum_event_age_in_seconds=60
    )
    assert (low.retries, low.maximum_age) == (0, 60)
    high = sb.put_function_event_invoke_config(
        fn, maximum_retry_attempts=2, maximum_event_age_in_seconds=21600
    )
    assert (high.retries, high.maximum_age) == (2, 21600)


def test_destination_rules(sb: Sandbox, fn: str) -> None:
    sb.create_function("audit", HANDLER_SOURCE)
    ok = sb.put_function_event_invoke_config(
        fn,
        destination_config={
            "OnSuccess": {"Destination": f"{ARN}:audit"},
            "OnFailure": {"Destination": BUCKET},
        },
    )
    assert ok.on_failure == BUCKET
    with pytest.raises(
        InvalidParameterValueException,
        match=r"^You can't specify the function as a destination for itself\.$",
    ):
        sb.put_function_event_invoke_config(
            fn, destination_config={"OnFailure": {"Destination": f"{ARN}:orders"}}
        )
    missing = f"{ARN}:nobody"
    with pytest.raises(InvalidParameterValueException) as info:
        sb.put_function_event_invoke_config(
            fn, destination_config={"OnFailure": {"Destination": missing}}
        )
    assert info.value.message == f"The destination ARN {missing} is invalid."
    with pytest.raises(InvalidParameterValueException, match="on-failure destinations"):
        sb.put_function_event_invoke_config(
            fn, destination_config={"OnSuccess": {"Destination": BUCKET}}
        )
    for bad in (
        "arn:aws:dynamodb:us-east-1:123456789012:table/t",
        "arn:aws:sqs:us-east-1:123456789012:jobs.fifo",
        f"{ARN}:audit:nosuchalias",
    ):
        with pytest.raises(InvalidParameterValueException, match="is invalid"):
            sb.put_function_event_invoke_config(
                fn, destination_config={"OnFailure": {"Destination": bad}}
            )
    with pytest.raises(ValidationException, match="less than or equal to 350"):
        sb.put_function_event_invoke_config(
            fn, destination_config={"OnFailure": {"Destination": QUEUE + "x" * 400}}
        )
    with pytest.raises(InvalidParameterValueException, match="OnSuccess, OnFailure"):
        sb.put_function_event_invoke_config(
            fn, destination_config={"OnTimeout": {"Destination": QUEUE}}
        )
    # nothing half-written: the first config is still there, unchanged
    assert sb.get_function_event_invoke_config(fn) == ok


def test_missing_config_and_targets(sb: Sandbox, fn: str) -> None:
    none = f"The function {ARN}:orders:$LATEST doesn't have an EventInvokeConfig"
    with pytest.raises(ResourceNotFoundException) as info:
        sb.get_function_event_invoke_config(fn)
    assert info.value.message == none
    with pytest.raises(ResourceNotFoundException, match="doesn't have an EventInvokeConfig"):
        sb.update_function_event_invoke_config(fn, maximum_retry_attempts=1)
    with pytest.raises(ResourceNotFoundException, match="doesn't have an EventInvokeConfig"):
        sb.delete_function_event_invoke_config(fn)
    with pytest.raises(ResourceNotFoundException, match=rf"^Function not found: {ARN}:ghost$"):
        sb.put_function_event_invoke_config("ghost", maximum_retry_attempts=1)
    with pytest.raises(ResourceNotFoundException, match=rf"Function not found: {ARN}:orders:7"):
        sb.put_function_event_invoke_config(fn, "7", maximum_retry_attempts=1)
    with pytest.raises(ResourceNotFoundException, match=rf"Function not found: {ARN}:orders:live"):
        sb.put_function_event_invoke_config(fn, "live", maximum_retry_attempts=1)


def test_per_qualifier_list_and_delete(sb: Sandbox, fn: str) -> None:
    sb.publish_version(fn)
    sb.create_alias(fn, "live", "1")
    sb.put_function_event_invoke_config(fn, maximum_retry_attempts=0)
    sb.put_function_event_invoke_config(fn, "1", maximum_retry_attempts=1)
    sb.put_function_event_invoke_config(f"{fn}:live", maximum_retry_attempts=2)
    listed = sb.list_function_event_invoke_configs(fn)
    assert [c.function_arn for c in listed.function_event_invoke_configs] == [
        f"{ARN}:orders:$LATEST",
        f"{ARN}:orders:1",
        f"{ARN}:orders:live",
    ]
    assert [c.maximum_retry_attempts for c in listed.function_event_invoke_configs] == [0, 1, 2]
    first = sb.list_function_event_invoke_configs(fn, max_items=2)
    assert len(first.function_event_invoke_configs) == 2 and first.next_marker
    rest = sb.list_function_event_invoke_configs(fn, marker=first.next_marker)
    assert [c.maximum_retry_attempts for c in rest.function_event_invoke_configs] == [2]
    with pytest.raises(ValidationException, match="less than or equal to 50"):
        sb.list_function_event_invoke_configs(fn, max_items=51)
    with pytest.raises(InvalidParameterValueException, match="Qualifier is not supported"):
        sb.list_function_event_invoke_configs(f"{fn}:live")
    sb.delete_function_event_invoke_config(fn, "1")
    assert len(sb.list_function_event_invoke_configs(fn).function_event_invoke_configs) == 2
    # an alias's config goes with the alias, a version's with the version, all with the function
    sb.delete_alias(fn, "live")
    assert [
        c.function_arn
        for c in sb.list_function_event_invoke_configs(fn).function_event_invoke_configs
    ] == [f"{ARN}:orders:$LATEST"]
    sb.put_function_event_invoke_config(fn, "1", maximum_retry_attempts=1)
    sb.delete_function(fn, "1")
    sb.publish_version(fn)  # number 2: numbers are never reused
    assert len(sb.list_function_event_invoke_configs(fn).function_event_invoke_configs) == 1
    sb.delete_function(fn)
    sb.create_function(fn, HANDLER_SOURCE)
    assert sb.list_function_event_invoke_configs(fn).function_event_invoke_configs == ()


def test_configs_survive_a_restart(tmp_path: object) -> None:
    home = str(tmp_path)
    with Sandbox(home, clock=FakeClock()) as first:
        first.create_function("orders", HANDLER_SOURCE)
        put = first.put_function_event_invoke_config("orders", maximum_event_age_in_seconds=600)
    with Sandbox(home, clock=FakeClock()) as second:
        assert second.get_function_event_invoke_config("orders") == put
