"""``invoke_many``: a burst of synchronous invocations driven by one thread."""

from __future__ import annotations

import itertools
import threading

import pytest

from sandbox import Sandbox
from sandbox.core.telemetry import RecordKind, TelemetryRecord
from sandbox.errors import TooManyRequestsException

pytestmark = [pytest.mark.process, pytest.mark.timeout(60)]

ECHO = """
import os, time
def lambda_handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise ValueError(f"item {event['n']} failed")
    return {"n": event["n"], "pid": int(os.readlink("/proc/self")), "rid": context.aws_request_id}
"""


def test_results_come_back_in_order_with_their_own_request_ids(sb: Sandbox) -> None:
    sb.create_function("echo", ECHO)
    results = sb.invoke_many("echo", [{"n": i} for i in range(50)], concurrency=4)
    assert [r.payload["n"] for r in results] == list(range(50))  # type: ignore[index]
    assert all(r.status_code == 200 and r.function_error is None for r in results)
    assert all(r.payload["rid"] == r.request_id for r in results)  # type: ignore[index]
    assert len({r.request_id for r in results}) == 50
    assert all(r.logs[0].startswith(f"START RequestId: {r.request_id}") for r in results)
    assert all(r.logs[-1].startswith(f"REPORT RequestId: {r.request_id}") for r in results)


def test_concurrency_is_the_number_of_environments(sb: Sandbox) -> None:
    sb.create_function("echo", ECHO)
    results = sb.invoke_many("echo", [{"n": i, "sleep": 0.2} for i in range(6)], concurrency=3)
    assert len({r.payload["pid"] for r in results}) == 3  # type: ignore[index]
    assert len(sb.environments()) == 3
    assert sum("Init Duration" in r.logs[-1] for r in results) == 3  # three cold starts
    # each environment served one request at a time
    spans: dict[str, list[tuple[float, float]]] = {}
    for rec in sb.telemetry.records(kind="invocation"):
        assert rec.end is not None
        spans.setdefault(rec.env_id, []).append((rec.time, rec.end))
    for env_spans in spans.values():
        env_spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(env_spans))
    assert all(e["state"] == "idle" for e in sb.environments())


def test_failures_and_timeouts_inside_a_burst(sb: Sandbox) -> None:
    sb.create_function("echo", ECHO, timeout=1)
    payloads = [{"n": 0}, {"n": 1, "fail": True}, {"n": 2, "sleep": 3}, {"n": 3}]
    results = sb.invoke_many("echo", payloads, concurrency=2)
    assert [r.function_error for r in results] == [None, "Unhandled", "Unhandled", None]
    assert results[1].payload["errorMessage"] == "item 1 failed"  # type: ignore[index]
    assert results[2].payload["errorType"] == "Sandbox.Timedout"  # type: ignore[index]
    assert sb.invoke("echo", {"n": 9}).payload["n"] == 9  # type: ignore[index]


def test_weighted_alias_in_a_burst(sb: Sandbox) -> None:
    sb.create_function("v", "def lambda_handler(e, c):\n    return 1\n", publish=True)
    sb.update_function_code("v", "def lambda_handler(e, c):\n    return 2\n")
    sb.publish_version("v")
    sb.create_alias("v", "live", "1", routing_config={"AdditionalVersionWeights": {"2": 0.5}})
    results = sb.invoke_many("v:live", [None] * 80, concurrency=4)
    executed = [r.executed_version for r in results]
    assert set(executed) == {"1", "2"}
    assert all(str(r.payload) == r.executed_version for r in results)


def test_bad_input_is_refused_before_anything_runs(sb: Sandbox) -> None:
    sb.create_function("echo", ECHO)
    with pytest.raises(sb.exceptions.InvalidRequestContentException):
        sb.invoke_many("echo", [{"n": 1}, "{not json"])
    with pytest.raises(sb.exceptions.ValidationException, match="concurrency"):
        sb.invoke_many("echo", [{"n": 1}], concurrency=0)
    assert sb.environments() == []


def test_a_reservation_made_during_a_burst_applies_to_the_requests_after_it(
    sb: Sandbox,
) -> None:
    sb.create_function("echo", ECHO)
    five_done = threading.Event()
    done: list[object] = []

    def on_record(record: TelemetryRecord) -> None:
        if record.kind is RecordKind.INVOCATION:
            done.append(record)
            if len(done) == 5:
                five_done.set()

    def reserve_nothing() -> None:
        if five_done.wait(20):
            sb.put_function_concurrency("echo", reserved_concurrent_executions=0)

    unsubscribe = sb.telemetry.subscribe(on_record)
    worker = threading.Thread(target=reserve_nothing)
    worker.start()
    try:
        payloads = [{"n": i, "sleep": 0.05} for i in range(30)]
        results = sb.invoke_many("echo", payloads, concurrency=1)
    finally:
        unsubscribe()
        five_done.set()
        worker.join(10)
    throttled = [isinstance(r, TooManyRequestsException) for r in results]
    # the first five ran; a request started after the change (seen within ~10 ms) is refused
    assert not any(throttled[:5]) and all(throttled[-10:])
    first = throttled.index(True)
    assert all(throttled[first:])
    reasons = {r.reason for r in results if isinstance(r, TooManyRequestsException)}
    assert reasons == {"ReservedFunctionConcurrentInvocationLimitExceeded"}
