"""Event source mappings, the control plane (spec §8.2-8.4): shapes, defaults, states and
every validation rule with AWS's message. The pollers are tested in test_sqs_poller.py and
test_stream_poller.py."""

from __future__ import annotations

from datetime import datetime

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.errors import (
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from tests.conftest import HANDLER_SOURCE

pytestmark = pytest.mark.timeout(60)

ACCOUNT = "123456789012"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function"
Q = f"arn:aws:sqs:us-east-1:{ACCOUNT}:"


@pytest.fixture
def queue(sb: Sandbox) -> str:
    sb.create_function("worker", HANDLER_SOURCE)
    sb.sqs.create_queue("jobs")
    return Q + "jobs"


def test_sqs_mapping_shape_and_states(sb: Sandbox, queue: str, clock: FakeClock) -> None:
    mapping = sb.create_event_source_mapping("worker", queue)
    doc = mapping.to_aws()
    assert list(doc) == [
        "UUID",
        "BatchSize",
        "MaximumBatchingWindowInSeconds",
        "EventSourceArn",
        "FunctionArn",
        "LastModified",
        "State",
        "StateTransitionReason",
        "FunctionResponseTypes",
        "EventSourceMappingArn",
    ]
    assert doc["BatchSize"] == 10 and doc["MaximumBatchingWindowInSeconds"] == 0
    assert doc["FunctionArn"] == f"{FN}:worker"
    assert (doc["State"], doc["StateTransitionReason"]) == ("Creating", "USER_INITIATED")
    assert isinstance(doc["LastModified"], datetime)
    assert doc["EventSourceMappingArn"] == (
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:event-source-mapping:{mapping.uuid}"
    )
    enabled = sb.wait_for_event_source_mapping(mapping.uuid, "Enabled")
    assert enabled.to_aws()["State"] == "Enabled"
    updated = sb.update_event_source_mapping(mapping.uuid, enabled=False, batch_size=5)
    assert updated.to_aws()["State"] == "Updating" and updated.batch_size == 5
    assert sb.wait_for_event_source_mapping(mapping.uuid, "Disabled").batch_size == 5
    sb.update_event_source_mapping(mapping.uuid, enabled=True)
    sb.wait_for_event_source_mapping(mapping.uuid, "Enabled")
    deleting = sb.delete_event_source_mapping(mapping.uuid)
    assert deleting.to_aws()["State"] == "Deleting"
    sb.wait_for_event_source_mapping_deleted(mapping.uuid)
    with pytest.raises(
        ResourceNotFoundException, match=r"^The resource you requested does not exist\.$"
    ):
        sb.get_event_source_mapping(mapping.uuid)


def test_created_disabled(sb: Sandbox, queue: str) -> None:
    mapping = sb.create_event_source_mapping("worker", queue, enabled=False)
    assert mapping.to_aws()["State"] == "Creating"
    assert sb.wait_for_event_source_mapping(mapping.uuid, "Disabled")


def test_batch_rules(sb: Sandbox, queue: str) -> None:
    with pytest.raises(InvalidParameterValueException) as info:
        sb.create_event_source_mapping("worker", queue, batch_size=11)
    assert info.value.message == (
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
        "greater than 10"
    )
    with pytest.raises(ValidationException, match="less than or equal to 10000"):
        sb.create_event_source_mapping("worker", queue, batch_size=10_001)
    with pytest.raises(ValidationException, match="greater than or equal to 1"):
        sb.create_event_source_mapping("worker", queue, batch_size=0)
    with pytest.raises(ValidationException, match="less than or equal to 300"):
        sb.create_event_source_mapping("worker", queue, maximum_batching_window_in_seconds=301)
    big = sb.create_event_source_mapping(
        "worker", queue, batch_size=10_000, maximum_batching_window_in_seconds=1
    )
    assert big.batch_size == 10_000
    sb.sqs.create_queue("ordered.fifo", attributes={"FifoQueue": "true"})
    with pytest.raises(InvalidParameterValueException, match="FIFO"):
        sb.create_event_source_mapping(
            "worker", Q + "ordered.fifo", batch_size=20, maximum_batching_window_in_seconds=1
        )


def test_source_rules(sb: Sandbox, queue: str) -> None:
    with pytest.raises(InvalidParameterValueException) as info:
        sb.create_event_source_mapping("worker", Q + "nope")
    assert info.value.message.startswith(
        "Error occurred while ReceiveMessage. SQS Error Code: "
        "AWS.SimpleQueueService.NonExistentQueue."
    )
    sb.create_function("slow", HANDLER_SOURCE, timeout=60)
    with pytest.raises(InvalidParameterValueException) as info:
        sb.create_event_source_mapping("slow", queue)
    assert info.value.message == (
        "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds"
    )
    with pytest.raises(InvalidParameterValueException, match="Unsupported event source"):
        sb.create_event_source_mapping("worker", "arn:aws:sns:us-east-1:123456789012:t")
    with pytest.raises(ResourceNotFoundException, match=rf"Function not found: {FN}:ghost"):
        sb.create_event_source_mapping("ghost", queue)
    with pytest.raises(ResourceNotFoundException, match=rf"Function not found: {FN}:worker:live"):
        sb.create_event_source_mapping("worker:live", queue)


def test_duplicate_mapping(sb: Sandbox, queue: str) -> None:
    first = sb.create_event_source_mapping("worker", queue)
    with pytest.raises(ResourceConflictException) as info:
        sb.create_event_source_mapping("worker", queue)
    assert info.value.message == (
        f'An event source mapping with SQS arn (" {queue} ") and function (" worker ") already '
        f"exists. Please update or delete the existing mapping with UUID {first.uuid}"
    )
    sb.publish_version("worker")
    other = sb.create_event_source_mapping("worker:1", queue)  # another qualifier: allowed
    assert other.function_arn == f"{FN}:worker:1"


def test_stream_only_and_sqs_only_settings(sb: Sandbox, queue: str) -> None:
    with pytest.raises(InvalidParameterValueException) as info:
        sb.create_event_source_mapping(
            "worker", queue, destination_config={"OnFailure": {"Destination": Q + "dlq"}}
        )
    assert info.value.message == (
        "Unsupported DestinationConfig parameter for given event source mapping type."
    )
    with pytest.raises(InvalidParameterValueException, match="Unsupported starting position"):
        sb.create_event_source_mapping("worker", queue, starting_position="LATEST")
    with pytest.raises(InvalidParameterValueException, match="Unsupported"):
        sb.create_event_source_mapping("worker", queue, bisect_batch_on_function_error=True)


def test_filters_scaling_and_response_types(sb: Sandbox, queue: str) -> None:
    bad = "Invalid filter pattern definition."
    for criteria in (
        {"Filters": [{"Pattern": "not json"}]},
        {"Filters": [{"Pattern": '{"body": "x"}'}]},  # values must be arrays
        {"Filters": [{"Pattern": "x" * 4097}]},
    ):
        with pytest.raises(InvalidParameterValueException, match=f"^{bad}$"):
            sb.create_event_source_mapping("worker", queue, filter_criteria=criteria)
    six = {"Filters": [{"Pattern": f'{{"body": {{"n": [{i}]}}}}'} for i in range(6)]}
    with pytest.raises(InvalidParameterValueException, match="limit of 5"):
        sb.create_event_source_mapping("worker", queue, filter_criteria=six)
    with pytest.raises(ValidationException, match="greater than or equal to 2"):
        sb.create_event_source_mapping("worker", queue, scaling_config={"MaximumConcurrency": 1})
    with pytest.raises(ValidationException, match="ReportBatchItemFailures"):
        sb.create_event_source_mapping("worker", queue, function_response_types=["Nope"])
    ok = sb.create_event_source_mapping(
        "worker",
        queue,
        filter_criteria={"Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]},
        scaling_config={"MaximumConcurrency": 2},
        function_response_types=["ReportBatchItemFailures"],
    )
    doc = ok.to_aws()
    assert doc["FilterCriteria"] == {"Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]}
    assert doc["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert doc["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_list_update_and_delete_rules(sb: Sandbox, queue: str) -> None:
    sb.sqs.create_queue("other")
    sb.create_function("helper", HANDLER_SOURCE)
    a = sb.create_event_source_mapping("worker", queue)
    b = sb.create_event_source_mapping("helper", queue)
    c = sb.create_event_source_mapping("worker", Q + "other")
    by_source = sb.list_event_source_mappings(event_source_arn=queue)
    assert {m.uuid for m in by_source.event_source_mappings} == {a.uuid, b.uuid}
    by_function = sb.list_event_source_mappings(function_name="worker")
    assert {m.uuid for m in by_function.event_source_mappings} == {a.uuid, c.uuid}
    page = sb.list_event_source_mappings(max_items=2)
    assert len(page.event_source_mappings) == 2 and page.next_marker
    rest = sb.list_event_source_mappings(marker=page.next_marker)
    assert len(rest.event_source_mappings) == 1
    with pytest.raises(ResourceNotFoundException):
        sb.update_event_source_mapping("00000000-0000-0000-0000-000000000000", batch_size=1)
    sb.wait_for_event_source_mapping(c.uuid, "Enabled")
    moved = sb.update_event_source_mapping(c.uuid, function_name="helper")
    assert moved.function_arn == f"{FN}:helper"
    with pytest.raises(TypeError):  # as boto3: UpdateEventSourceMapping has no StartingPosition
        sb.update_event_source_mapping(c.uuid, starting_position="LATEST")  # type: ignore[call-arg]
    # deleting the function leaves its mappings, as on AWS (spec §5)
    sb.wait_for_event_source_mapping(a.uuid, "Enabled")
    sb.delete_function("worker")
    assert sb.get_event_source_mapping(a.uuid).to_aws()["State"] == "Enabled"
    sb.delete_event_source_mapping(a.uuid)
    sb.wait_for_event_source_mapping_deleted(a.uuid)
    with pytest.raises(ResourceNotFoundException):
        sb.get_event_source_mapping(a.uuid)


def test_a_mapping_deleted_while_creating_is_deleted(sb: Sandbox) -> None:
    """Delete answers ``Deleting`` at once; the runner, settling the ``Creating`` it had
    just read, must not write ``Enabled`` over it (a lost delete, found by a reset)."""
    sb.create_function("worker", HANDLER_SOURCE)
    sb.sqs.create_queue("jobs")
    for _ in range(10):
        mapping = sb.create_event_source_mapping("worker", Q + "jobs")
        sb.delete_event_source_mapping(mapping.uuid)
        sb.wait_for_event_source_mapping_deleted(mapping.uuid, timeout=5)
    assert sb.list_event_source_mappings().event_source_mappings == ()


def test_mappings_survive_a_restart(tmp_path: object) -> None:
    home = str(tmp_path)
    with Sandbox(home, clock=FakeClock()) as first:
        first.create_function("worker", HANDLER_SOURCE)
        first.sqs.create_queue("jobs")
        uuid = first.create_event_source_mapping("worker", Q + "jobs").uuid
        first.wait_for_event_source_mapping(uuid, "Enabled")
    with Sandbox(home, clock=FakeClock()) as second:
        assert second.get_event_source_mapping(uuid).to_aws()["State"] == "Enabled"
        assert uuid in second._shared.mapping_runner().running()
