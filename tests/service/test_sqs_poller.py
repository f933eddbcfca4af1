"""The SQS poller of an event source mapping (spec §8.3), end to end with real functions:
batches by size, window and 6 MB; delete on success; failures back after the visibility
timeout and on to the queue's dead-letter queue; ReportBatchItemFailures; filters;
throttles; every step on the bus. A FakeClock moves platform time."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.service.pollers.sqs import batch_failures

pytestmark = [pytest.mark.process, pytest.mark.timeout(90)]

ACCOUNT = "123456789012"
Q = f"arn:aws:sqs:us-east-1:{ACCOUNT}:"
RECORDER = """
import json
def lambda_handler(event, context):
    bodies = [r["body"] for r in event["Records"]]
    print(json.dumps({"bodies": bodies, "first": event["Records"][0]}))
    failing = [r["messageId"] for r in event["Records"] if "fail" in r["body"]]
    if failing and "raise" in event["Records"][0]["body"]:
        raise ValueError("the batch failed")
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failing]}
"""


def wait_for(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        pause.wait(0.02)


def batches(sb: Sandbox, function: str = "worker") -> list[dict[str, object]]:
    """What the function received, batch by batch (from its log lines)."""
    out = []
    for row in sb.telemetry.rows(kind="log", function_name=function):
        line = str(row["line"])
        if line.startswith('{"bodies"'):
            out.append(json.loads(line))
    return out


def depth(sb: Sandbox, queue: str) -> tuple[int, int]:
    attrs = sb.sqs.get_queue_attributes(
        sb.sqs.get_queue_url(queue)["QueueUrl"], attribute_names=["All"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def send(sb: Sandbox, queue: str, *bodies: str) -> None:
    url = sb.sqs.get_queue_url(queue)["QueueUrl"]
    for body in bodies:
        sb.sqs.send_message(url, body)


@pytest.fixture
def worker(sb: Sandbox) -> Sandbox:
    sb.create_function("worker", RECORDER)
    sb.sqs.create_queue("jobs")
    return sb


def test_batches_by_size_and_delete_on_success(worker: Sandbox) -> None:
    sb = worker
    send(sb, "jobs", *[f"m{i}" for i in range(25)])
    mapping = sb.create_event_source_mapping(
        "worker", Q + "jobs", batch_size=10, scaling_config={"MaximumConcurrency": 2}
    )
    wait_for(lambda: sum(len(b["bodies"]) for b in batches(sb)) == 25)
    wait_for(lambda: depth(sb, "jobs") == (0, 0))
    got = sorted(b for batch in batches(sb) for b in batch["bodies"])
    assert got == sorted(f"m{i}" for i in range(25))  # each once
    assert max(len(b["bodies"]) for b in batches(sb)) == 10
    record = batches(sb)[0]["first"]
    assert set(record) >= {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == Q + "jobs"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    polls = sb.telemetry.rows(kind="poll")
    settled = [r for r in polls if r["status"] == "settled"]
    assert sum(int(r["succeeded"]) for r in settled) == 25
    assert all(r["mapping"] == mapping.uuid for r in polls)
    assert {r["reason"] for r in polls if r["status"] == "batch"} <= {"batch-size", "window"}


def test_batching_window_waits_on_the_clock(worker: Sandbox, clock: FakeClock) -> None:
    sb = worker
    sb.create_event_source_mapping(
        "worker",
        Q + "jobs",
        batch_size=100,
        maximum_batching_window_in_seconds=5,
        scaling_config={"MaximumConcurrency": 2},
    )
    send(sb, "jobs", "a", "b", "c")
    wait_for(lambda: depth(sb, "jobs") == (0, 3))  # received, in the batch being formed
    pause = threading.Event()
    pause.wait(0.3)
    assert batches(sb) == []  # the window has not passed
    clock.advance(5)
    wait_for(lambda: batches(sb))
    assert sorted(batches(sb)[0]["bodies"]) == ["a", "b", "c"]
    (batch,) = [r for r in sb.telemetry.rows(kind="poll") if r["status"] == "batch"]
    assert (batch["size"], batch["reason"]) == (3, "window")


def test_failures_come_back_and_go_to_the_dead_letter_queue(
    worker: Sandbox, clock: FakeClock
) -> None:
    sb = worker
    sb.sqs.create_queue("jobs-dlq")
    url = sb.sqs.get_queue_url("jobs")["QueueUrl"]
    sb.sqs.set_queue_attributes(
        url,
        {
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": Q + "jobs-dlq", "maxReceiveCount": 2}
            )
        },
    )
    sb.create_event_source_mapping("worker", Q + "jobs", batch_size=1)
    send(sb, "jobs", "raise fail")
    wait_for(lambda: len(batches(sb)) == 1)
    wait_for(lambda: depth(sb, "jobs") == (0, 1))  # in flight: invisible for 30 s
    clock.advance(30)
    wait_for(lambda: len(batches(sb)) == 2)  # received a second time
    assert batches(sb)[1]["first"]["attributes"]["ApproximateReceiveCount"] == "2"
    wait_for(lambda: depth(sb, "jobs") == (0, 1))
    clock.advance(30)  # a third receive would exceed maxReceiveCount: redriven
    wait_for(lambda: depth(sb, "jobs-dlq")[0] == 1)
    assert depth(sb, "jobs") == (0, 0)
    assert len(batches(sb)) == 2
    outcomes = [r["outcome"] for r in sb.telemetry.rows(kind="poll") if r["status"] == "settled"]
    assert outcomes == ["failure", "failure"]


def test_report_batch_item_failures(worker: Sandbox, clock: FakeClock) -> None:
    sb = worker
    sb.create_event_source_mapping(
        "worker",
        Q + "jobs",
        batch_size=10,
        maximum_batching_window_in_seconds=1,
        function_response_types=["ReportBatchItemFailures"],
        scaling_config={"MaximumConcurrency": 2},
    )
    send(sb, "jobs", "ok1", "fail1", "ok2")
    wait_for(lambda: depth(sb, "jobs") == (0, 3))
    clock.advance(1)
    wait_for(lambda: batches(sb))
    wait_for(lambda: depth(sb, "jobs") == (0, 1))  # only the failed one stays
    (settled,) = [r for r in sb.telemetry.rows(kind="poll") if r["status"] == "settled"]
    assert (settled["outcome"], settled["succeeded"], settled["failed"]) == ("partial", 2, 1)
    clock.advance(30)  # the failed message is visible again
    wait_for(lambda: depth(sb, "jobs") == (0, 1))  # received again
    clock.advance(1)  # and its window passes
    wait_for(lambda: len(batches(sb)) == 2)
    assert batches(sb)[1]["bodies"] == ["fail1"]


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "a"}]}, {"a"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, None),
        ({"foo": 1}, None),
        ("text", None),
    ],
)
def test_batch_item_failure_reports(response: object, expected: set[str] | None) -> None:
    assert batch_failures(response, {"a", "b"}) == expected


def test_filters_delete_what_they_reject(worker: Sandbox, clock: FakeClock) -> None:
    sb = worker
    sb.create_event_source_mapping(
        "worker",
        Q + "jobs",
        batch_size=10,
        maximum_batching_window_in_seconds=1,
        filter_criteria={"Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]},
        scaling_config={"MaximumConcurrency": 2},
    )
    send(sb, "jobs", '{"kind": "order", "n": 1}', '{"kind": "refund"}', "plain text")
    wait_for(lambda: depth(sb, "jobs") == (0, 3))
    clock.advance(1)
    wait_for(lambda: batches(sb))
    wait_for(lambda: depth(sb, "jobs") == (0, 0))  # the rejected ones are deleted too
    assert batches(sb)[0]["bodies"] == ['{"kind": "order", "n": 1}']
    (filtered,) = [r for r in sb.telemetry.rows(kind="poll") if r["status"] == "filtered"]
    assert filtered["count"] == 2


def test_throttled_batches_stay_in_the_queue(worker: Sandbox, clock: FakeClock) -> None:
    sb = worker
    sb.put_function_concurrency("worker", 0)
    sb.create_event_source_mapping(
        "worker", Q + "jobs", batch_size=1, scaling_config={"MaximumConcurrency": 2}
    )
    send(sb, "jobs", "x")

    def throttled() -> list[dict[str, object]]:
        rows = sb.telemetry.rows(kind="poll")
        return [r for r in rows if r["status"] == "settled" and r["outcome"] == "throttled"]

    wait_for(throttled)
    assert throttled()[0]["reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert depth(sb, "jobs") == (0, 1)
    sb.delete_function_concurrency("worker")
    clock.advance(30)
    wait_for(lambda: batches(sb))
    wait_for(lambda: depth(sb, "jobs") == (0, 0))


def test_disabled_mapping_does_not_poll(worker: Sandbox) -> None:
    sb = worker
    mapping = sb.create_event_source_mapping("worker", Q + "jobs", enabled=False)
    sb.wait_for_event_source_mapping(mapping.uuid, "Disabled")
    send(sb, "jobs", "waiting")
    pause = threading.Event()
    pause.wait(0.3)
    assert batches(sb) == [] and depth(sb, "jobs") == (1, 0)
    sb.update_event_source_mapping(mapping.uuid, enabled=True)
    wait_for(lambda: batches(sb))


def test_fifo_order_per_group(sb: Sandbox) -> None:
    sb.create_function("worker", RECORDER)
    url = sb.sqs.create_queue(
        "jobs.fifo", attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for n in range(6):
        sb.sqs.send_message(url, f"{'ab'[n % 2]}{n}", message_group_id="ab"[n % 2])
    sb.create_event_source_mapping("worker", Q + "jobs.fifo", batch_size=2)
    wait_for(lambda: sum(len(b["bodies"]) for b in batches(sb)) == 6)
    order = [body for batch in batches(sb) for body in batch["bodies"]]
    assert [b for b in order if b[0] == "a"] == ["a0", "a2", "a4"]
    assert [b for b in order if b[0] == "b"] == ["b1", "b3", "b5"]


def test_maximum_concurrency_caps_the_pollers(sb: Sandbox) -> None:
    sb.create_function(
        "slow", "import time\ndef lambda_handler(event, context):\n    time.sleep(0.05)\n"
    )
    url = sb.sqs.create_queue("busy")["QueueUrl"]
    for start in range(0, 200, 10):
        sb.sqs.send_message_batch(
            url, [{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)]
        )
    sb.create_event_source_mapping(
        "slow", Q + "busy", batch_size=1, scaling_config={"MaximumConcurrency": 2}
    )
    wait_for(lambda: depth(sb, "busy") == (0, 0), timeout=60)
    assert max(n for _, n in sb.concurrency("slow")) <= 2


def test_a_mapping_outlives_its_function_and_resumes_with_a_new_one(
    worker: Sandbox, clock: FakeClock
) -> None:
    """Spec §5: DeleteFunction leaves the mapping Enabled. Its invokes fail (the messages
    stay in the queue, seen again after the visibility timeout) until a function of that
    name exists again; then it carries on."""
    sb = worker
    mapping = sb.create_event_source_mapping("worker", Q + "jobs")
    sb.wait_for_event_source_mapping(mapping.uuid, "Enabled")
    sb.delete_function("worker")
    assert sb.get_event_source_mapping(mapping.uuid).to_aws()["State"] == "Enabled"
    listed = sb.list_event_source_mappings(function_name="worker").event_source_mappings
    assert [m.uuid for m in listed] == [mapping.uuid]

    send(sb, "jobs", "orphan")

    def errors() -> list[dict[str, object]]:
        return [
            r
            for r in sb.telemetry.rows(kind="poll")
            if r["status"] == "settled" and r.get("outcome") == "error"
        ]

    wait_for(errors)
    assert "Function not found" in str(errors()[0]["error"])
    assert depth(sb, "jobs") == (0, 1)  # received, not deleted: back after the timeout

    sb.create_function("worker", RECORDER)
    clock.advance(31)  # past the queue's visibility timeout (30 s)
    wait_for(lambda: batches(sb))
    assert batches(sb)[0]["bodies"] == ["orphan"]
    wait_for(lambda: depth(sb, "jobs") == (0, 0))
