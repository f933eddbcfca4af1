"""The stream poller of an event source mapping (spec §8.4), end to end with real functions:
starting positions, order, a failing batch blocking its shard, retries, bisecting a poison
record, ReportBatchItemFailures, record age, on-failure destination records, DynamoDB
streams, tumbling windows, checkpoints across a restart. A FakeClock moves platform time."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.errors import InvalidParameterValueException, ValidationException

pytestmark = [pytest.mark.process, pytest.mark.timeout(90)]

ACCOUNT = "123456789012"
Q = f"arn:aws:sqs:us-east-1:{ACCOUNT}:"
STREAM = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/clicks"
READER = """
import base64, json
def lambda_handler(event, context):
    datas = [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]
    print(json.dumps({"datas": datas}))
    poison = [r for r in event["Records"]
              if b"poison" in base64.b64decode(r["kinesis"]["data"])]
    if poison and "report" in datas[0]:
        return {"batchItemFailures": [{"itemIdentifier": poison[0]["kinesis"]["sequenceNumber"]}]}
    if poison:
        raise ValueError("poison")
"""


def wait_for(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        pause.wait(0.02)


def seen(sb: Sandbox, function: str = "reader") -> list[list[str]]:
    out = []
    for row in sb.telemetry.rows(kind="log", function_name=function):
        line = str(row["line"])
        if line.startswith('{"datas"'):
            out.append(json.loads(line)["datas"])
    return out


def put(sb: Sandbox, *datas: str, key: str = "k") -> None:
    for data in datas:
        sb.kinesis.put_record(stream_name="clicks", data=data.encode(), partition_key=key)


def failures(sb: Sandbox) -> list[dict[str, object]]:
    url = sb.sqs.get_queue_url("stream-failures")["QueueUrl"]
    got = sb.sqs.receive_message(url, max_number_of_messages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in got]


def wait_failures(sb: Sandbox, count: int = 1) -> list[dict[str, object]]:
    """The on-failure records, once ``count`` have arrived (receiving hides them)."""
    got: list[dict[str, object]] = []

    def arrived() -> bool:
        got.extend(failures(sb))
        return len(got) >= count

    wait_for(arrived)
    return got


@pytest.fixture
def stream(sb: Sandbox) -> Sandbox:
    sb.create_function("reader", READER)
    sb.kinesis.create_stream("clicks", shard_count=1)
    sb.sqs.create_queue("stream-failures")
    return sb


def test_stream_mapping_shape_and_rules(stream: Sandbox) -> None:
    sb = stream
    with pytest.raises(ValidationException, match="Value null at 'startingPosition'"):
        sb.create_event_source_mapping("reader", STREAM)
    with pytest.raises(ValidationException, match="parallelizationFactor"):
        sb.create_event_source_mapping(
            "reader", STREAM, starting_position="LATEST", parallelization_factor=11
        )
    with pytest.raises(ValidationException, match="maximumRecordAgeInSeconds"):
        sb.create_event_source_mapping(
            "reader", STREAM, starting_position="LATEST", maximum_record_age_in_seconds=30
        )
    with pytest.raises(InvalidParameterValueException, match="Cannot access stream"):
        sb.create_event_source_mapping("reader", STREAM + "-nope", starting_position="LATEST")
    mapping = sb.create_event_source_mapping("reader", STREAM, starting_position="TRIM_HORIZON")
    doc = mapping.to_aws()
    assert doc["BatchSize"] == 100 and doc["ParallelizationFactor"] == 1
    assert doc["MaximumRetryAttempts"] == -1 and doc["MaximumRecordAgeInSeconds"] == -1
    assert doc["BisectBatchOnFunctionError"] is False and doc["TumblingWindowInSeconds"] == 0
    assert doc["DestinationConfig"] == {"OnFailure": {}}
    assert doc["LastProcessingResult"] == "No records processed"
    assert doc["StateTransitionReason"] == "User action"


def test_trim_horizon_in_order_and_latest_skips_the_past(stream: Sandbox) -> None:
    sb = stream
    put(sb, "a", "b", "c")
    sb.create_event_source_mapping("reader", STREAM, starting_position="TRIM_HORIZON")
    wait_for(lambda: sum(len(b) for b in seen(sb)) == 3)
    assert [d for batch in seen(sb) for d in batch] == ["a", "b", "c"]
    sb.create_function("late", READER)
    late = sb.create_event_source_mapping("late", STREAM, starting_position="LATEST")
    sb.wait_for_event_source_mapping(late.uuid, "Enabled")
    wait_for(lambda: sb._shared.mapping_runner().running().get(late.uuid))
    pause = threading.Event()
    pause.wait(0.3)  # its reader has fixed LATEST
    put(sb, "d")
    wait_for(lambda: seen(sb, "late"))
    assert seen(sb, "late") == [["d"]]
    wait_for(lambda: sb.get_event_source_mapping(late.uuid).last_processing_result == "OK")


def test_a_poison_record_blocks_then_goes_to_the_destination(
    stream: Sandbox, clock: FakeClock
) -> None:
    sb = stream
    put(sb, "ok1", "poison", "ok2")  # all there before the first read: one batch
    sb.create_event_source_mapping(
        "reader",
        STREAM,
        starting_position="TRIM_HORIZON",
        batch_size=10,
        maximum_retry_attempts=1,
        destination_config={"OnFailure": {"Destination": Q + "stream-failures"}},
    )
    wait_for(lambda: [r for r in sb.telemetry.rows(kind="poll") if r["status"] == "retry"])
    assert len(seen(sb)) == 1
    clock.advance(1)  # the retry, after a second
    wait_for(lambda: len(seen(sb)) == 2)
    (record,) = wait_failures(sb)
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "Unhandled"
    info = record["KinesisBatchInfo"]
    assert (info["shardId"], info["batchSize"], info["streamArn"]) == (
        "shardId-000000000000",
        3,
        STREAM,
    )
    assert seen(sb) == [["ok1", "poison", "ok2"]] * 2  # blocked: nothing after it ran meanwhile
    put(sb, "ok3")
    wait_for(lambda: ["ok3"] in seen(sb))  # the shard moved on


def test_bisect_isolates_the_poison_record(stream: Sandbox, clock: FakeClock) -> None:
    sb = stream
    put(sb, "ok1", "ok2", "poison", "ok3")  # all there before the first read: one batch
    sb.create_event_source_mapping(
        "reader",
        STREAM,
        starting_position="TRIM_HORIZON",
        batch_size=10,
        maximum_retry_attempts=0,
        bisect_batch_on_function_error=True,
        destination_config={"OnFailure": {"Destination": Q + "stream-failures"}},
    )
    (record,) = wait_failures(sb)
    assert record["KinesisBatchInfo"]["batchSize"] == 1  # only the poison record
    wait_for(lambda: ["ok3"] in seen(sb))
    assert seen(sb)[:3] == [["ok1", "ok2", "poison", "ok3"], ["ok1", "ok2"], ["poison", "ok3"]]
    bisects = [r for r in sb.telemetry.rows(kind="poll") if r["status"] == "bisect"]
    assert len(bisects) == 2


def test_report_batch_item_failures_checkpoints_before_the_failure(
    stream: Sandbox, clock: FakeClock
) -> None:
    sb = stream
    put(sb, "report-first", "poison", "after")  # all there before the first read: one batch
    sb.create_event_source_mapping(
        "reader",
        STREAM,
        starting_position="TRIM_HORIZON",
        batch_size=10,
        maximum_retry_attempts=0,
        function_response_types=["ReportBatchItemFailures"],
        destination_config={"OnFailure": {"Destination": Q + "stream-failures"}},
    )
    (record,) = wait_failures(sb)
    assert record["KinesisBatchInfo"]["batchSize"] == 2  # from the reported record on
    partial = [r for r in sb.telemetry.rows(kind="poll") if r.get("outcome") == "partial"]
    assert partial and partial[0]["succeeded"] == 1


def test_records_too_old_are_discarded(stream: Sandbox, clock: FakeClock) -> None:
    sb = stream
    sb.create_event_source_mapping(
        "reader",
        STREAM,
        starting_position="TRIM_HORIZON",
        maximum_record_age_in_seconds=60,
        destination_config={"OnFailure": {"Destination": Q + "stream-failures"}},
    )
    put(sb, "poison")
    # the poller must be asleep in its retry back-off before the clock moves: advanced
    # earlier (as soon as the handler ran), its wake-up would be 1 s after the new time,
    # and a fake clock that never moves again never gets there
    wait_for(lambda: any(r["status"] == "retry" for r in sb.telemetry.rows(kind="poll")))
    clock.advance(61)
    (record,) = wait_failures(sb)
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert "responseContext" not in record


def test_dynamodb_stream(sb: Sandbox) -> None:
    sb.create_function(
        "changes",
        "import json\ndef lambda_handler(event, context):\n"
        "    print(json.dumps({'names': [r['eventName'] for r in event['Records']]}))\n",
    )
    table = sb.dynamodb.create_table(
        table_name="orders",
        key_schema=[{"AttributeName": "id", "KeyType": "HASH"}],
        attribute_definitions=[{"AttributeName": "id", "AttributeType": "S"}],
        stream_specification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    arn = table["TableDescription"]["LatestStreamArn"]
    with pytest.raises(InvalidParameterValueException, match="Unsupported starting position"):
        sb.create_event_source_mapping(
            "changes", arn, starting_position="AT_TIMESTAMP", starting_position_timestamp=0
        )
    sb.create_event_source_mapping("changes", arn, starting_position="TRIM_HORIZON")
    sb.dynamodb.put_item(table_name="orders", item={"id": {"S": "1"}, "n": {"N": "1"}})
    sb.dynamodb.put_item(table_name="orders", item={"id": {"S": "1"}, "n": {"N": "2"}})
    sb.dynamodb.delete_item(table_name="orders", key={"id": {"S": "1"}})

    def names() -> list[str]:
        rows = sb.telemetry.rows(kind="log", function_name="changes")
        lines = [json.loads(str(r["line"])) for r in rows if str(r["line"]).startswith('{"names"')]
        return [n for line in lines for n in line["names"]]

    wait_for(lambda: len(names()) == 3)
    assert names() == ["INSERT", "MODIFY", "REMOVE"]


def test_checkpoints_survive_a_restart(tmp_path: object) -> None:
    home = str(tmp_path)
    with Sandbox(home, clock=FakeClock()) as first:
        first.create_function("reader", READER)
        first.kinesis.create_stream("clicks", shard_count=1)
        first.create_event_source_mapping("reader", STREAM, starting_position="TRIM_HORIZON")
        put(first, "one", "two")
        wait_for(lambda: sum(len(b) for b in seen(first)) == 2)
    with Sandbox(home, clock=FakeClock()) as second:
        put(second, "three")
        wait_for(lambda: seen(second))
        pause = threading.Event()
        pause.wait(0.3)
        assert seen(second) == [["three"]]  # nothing read twice


def test_tumbling_window_carries_state_to_a_final_invoke(sb: Sandbox, clock: FakeClock) -> None:
    sb.create_function(
        "count",
        "import json\n"
        "def lambda_handler(event, context):\n"
        "    total = event['state'].get('total', 0) + len(event['Records'])\n"
        "    print(json.dumps({'final': event['isFinalInvokeForWindow'], 'total': total,\n"
        "                      'window': event['window'], 'shard': event['shardId']}))\n"
        "    return {'state': {'total': total}}\n",
    )
    sb.kinesis.create_stream("clicks", shard_count=1)
    put(sb, "a", "b", "c")  # all there before the first read (after it: a batch of "a" alone)
    sb.create_event_source_mapping(
        "count",
        STREAM,
        starting_position="TRIM_HORIZON",
        tumbling_window_in_seconds=60,
        batch_size=2,
    )

    def lines() -> list[dict[str, object]]:
        rows = sb.telemetry.rows(kind="log", function_name="count")
        return [json.loads(str(r["line"])) for r in rows if str(r["line"]).startswith("{")]

    wait_for(lambda: sum(1 for x in lines() if not x["final"]) == 2)
    assert [x["total"] for x in lines()] == [2, 3]  # the state carried from batch to batch
    clock.advance(60)  # the window ends
    wait_for(lambda: any(x["final"] for x in lines()))
    final = next(x for x in lines() if x["final"])
    assert final["total"] == 3 and final["shard"] == "shardId-000000000000"
    assert str(final["window"]["end"]).endswith("Z")
