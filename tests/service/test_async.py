"""The asynchronous invocation queue (spec §7): 202 at once, retries on the sandbox clock,
event age, throttles, zero reserved concurrency, destinations and dead-letter queues —
with every invocation record compared field by field. A ``FakeClock`` moves time; no test
sleeps through a backoff."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.core.clock import iso8601_ms

pytestmark = [pytest.mark.process, pytest.mark.timeout(90)]

ACCOUNT = "123456789012"
ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function"
FAILING = (
    "def lambda_handler(event, context):\n    raise ValueError('boom ' + str(event.get('n')))\n"
)
OK = "def lambda_handler(event, context):\n    return {'seen': event}\n"
SLOW = (
    "import time\n"
    "def lambda_handler(event, context):\n"
    "    time.sleep(event['hold'])\n"
    "    return 1\n"
)


def wait_for(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    """Wait (bounded) until ``predicate()`` is true."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        pause.wait(0.02)


def event_row(sb: Sandbox, request_id: str) -> dict[str, object]:
    return next(e for e in sb.async_events() if e["request_id"] == request_id)


def waiting(sb: Sandbox, request_id: str, attempts: int) -> bool:
    row = event_row(sb, request_id)
    return row["state"] == "queued" and row["attempts"] == attempts


def queue(sb: Sandbox, name: str) -> tuple[str, str]:
    url = sb.sqs.create_queue(name)["QueueUrl"]
    return url, f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"


def messages(sb: Sandbox, url: str) -> list[dict[str, object]]:
    got = sb.sqs.receive_message(url, max_number_of_messages=10, message_attribute_names=["All"])
    return list(got.get("Messages", []))


def test_202_at_once_and_stored_before_it(sb: Sandbox) -> None:
    sb.create_function("bg", SLOW)
    t0 = time.monotonic()
    result = sb.invoke("bg", {"hold": 0.3}, invocation_type="Event")
    assert time.monotonic() - t0 < 0.5
    assert result.status_code == 202 and result.payload is None
    assert event_row(sb, result.request_id)["state"] in ("queued", "running")
    assert sb.drain(20)
    row = event_row(sb, result.request_id)
    assert (row["state"], row["outcome"], row["attempts"]) == ("done", "Success", 1)
    statuses = [r["status"] for r in sb.telemetry.rows(kind="async", request_id=result.request_id)]
    assert statuses == ["queued", "succeeded"]


def test_function_error_retried_after_one_then_two_minutes(sb: Sandbox, clock: FakeClock) -> None:
    sb.create_function("orders", FAILING)
    url, queue_arn = queue(sb, "failed")
    sb.put_function_event_invoke_config(
        "orders", destination_config={"OnFailure": {"Destination": queue_arn}}
    )
    t0 = clock.time()
    rid = sb.invoke("orders", {"n": 42}, invocation_type="Event").request_id
    wait_for(lambda: waiting(sb, rid, 1))
    assert event_row(sb, rid)["due"] == pytest.approx(t0 + 60)
    clock.advance(59)
    pause = threading.Event()
    pause.wait(0.3)
    assert waiting(sb, rid, 1)  # not yet
    clock.advance(1)
    wait_for(lambda: waiting(sb, rid, 2))
    assert event_row(sb, rid)["due"] == pytest.approx(t0 + 60 + 120)
    clock.advance(120)
    assert sb.drain(20)
    row = event_row(sb, rid)
    assert (row["outcome"], row["attempts"]) == ("RetriesExhausted", 3)
    # the same request id on every attempt
    runs = sb.telemetry.rows(kind="invocation", request_id=rid)
    assert [r["status"] for r in runs] == ["error"] * 3
    (message,) = messages(sb, url)
    record = json.loads(str(message["Body"]))
    error = record["responsePayload"]
    assert record == {
        "version": "1.0",
        "timestamp": iso8601_ms(t0 + 180),
        "requestContext": {
            "requestId": rid,
            "functionArn": f"{ARN}:orders:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"n": 42},
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": error,
    }
    assert error["errorMessage"] == "boom 42" and error["errorType"] == "ValueError"
    assert error["requestId"] == rid and isinstance(error["stackTrace"], list)
    retries = [r for r in sb.telemetry.rows(kind="async", request_id=rid) if r["status"] == "retry"]
    assert [r["due"] for r in retries] == [pytest.approx(t0 + 60), pytest.approx(t0 + 180)]


def test_no_retries_and_on_success_record(sb: Sandbox, clock: FakeClock) -> None:
    sb.create_function("fails", FAILING)
    sb.create_function("works", OK)
    url, queue_arn = queue(sb, "records")
    sb.put_function_event_invoke_config(
        "fails",
        maximum_retry_attempts=0,
        destination_config={"OnFailure": {"Destination": queue_arn}},
    )
    sb.put_function_event_invoke_config(
        "works", destination_config={"OnSuccess": {"Destination": queue_arn}}
    )
    failed = sb.invoke("fails", {"n": 1}, invocation_type="Event").request_id
    worked = sb.invoke("works", {"n": 2}, invocation_type="Event").request_id
    assert sb.drain(20)
    assert event_row(sb, failed)["attempts"] == 1
    records = {
        r["requestContext"]["requestId"]: r
        for r in (json.loads(str(m["Body"])) for m in messages(sb, url))
    }
    assert records[failed]["requestContext"]["condition"] == "RetriesExhausted"
    assert records[failed]["requestContext"]["approximateInvokeCount"] == 1
    success = records[worked]
    assert success["requestContext"]["condition"] == "Success"
    assert success["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert success["responsePayload"] == {"seen": {"n": 2}}
    assert success["requestPayload"] == {"n": 2}


def test_event_age_exceeded_keeps_the_last_response(sb: Sandbox, clock: FakeClock) -> None:
    sb.create_function("orders", FAILING)
    url, queue_arn = queue(sb, "aged")
    sb.put_function_event_invoke_config(
        "orders",
        maximum_event_age_in_seconds=60,
        destination_config={"OnFailure": {"Destination": queue_arn}},
    )
    rid = sb.invoke("orders", {"n": 5}, invocation_type="Event").request_id
    wait_for(lambda: waiting(sb, rid, 1))
    clock.advance(60)
    assert sb.drain(20)
    (message,) = messages(sb, url)
    record = json.loads(str(message["Body"]))
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "boom 5"


def test_zero_reserved_concurrency_goes_straight_to_failure(sb: Sandbox, clock: FakeClock) -> None:
    sb.create_function("off", OK, dead_letter_config={"TargetArn": queue(sb, "dlq")[1]})
    url, queue_arn = queue(sb, "zero")
    sb.put_function_concurrency("off", 0)
    sb.put_function_event_invoke_config(
        "off", destination_config={"OnFailure": {"Destination": queue_arn}}
    )
    result = sb.invoke("off", {"n": 9}, invocation_type="Event")
    assert result.status_code == 202  # still accepted
    assert sb.drain(20)
    (message,) = messages(sb, url)
    record = json.loads(str(message["Body"]))
    assert record == {
        "version": "1.0",
        "timestamp": iso8601_ms(clock.time()),
        "requestContext": {
            "requestId": result.request_id,
            "functionArn": f"{ARN}:off:$LATEST",
            "condition": "ZeroReservedConcurrency",
            "approximateInvokeCount": 0,
        },
        "requestPayload": {"n": 9},
    }
    assert sb.telemetry.rows(kind="invocation", request_id=result.request_id) == []
    (dead,) = messages(sb, sb.sqs.get_queue_url("dlq")["QueueUrl"])
    assert json.loads(str(dead["Body"])) == {"n": 9}
    assert dead["MessageAttributes"]["RequestID"]["StringValue"] == result.request_id


def test_throttles_back_off_without_using_retries(sb: Sandbox, clock: FakeClock) -> None:
    sb.create_function("narrow", SLOW)
    sb.put_function_concurrency("narrow", 1)
    first = sb.invoke("narrow", {"hold": 1.5}, invocation_type="Event").request_id
    wait_for(lambda: event_row(sb, first)["state"] == "running")
    wait_for(lambda: sb.telemetry.rows(kind="log", request_id=first))  # START: it holds the slot
    second = sb.invoke("narrow", {"hold": 0}, invocation_type="Event").request_id

    def retries() -> list[dict[str, object]]:
        rows = sb.telemetry.rows(kind="async", request_id=second)
        return [r for r in rows if r["status"] == "retry"]

    wait_for(retries)
    retry = retries()
    assert retry[0]["reason"] == "throttled (ReservedFunctionConcurrentInvocationLimitExceeded)"
    assert retry[0]["due"] == pytest.approx(clock.time() + 1)  # backoff starts at 1 s
    wait_for(lambda: event_row(sb, first)["state"] == "done")
    clock.advance(1)
    assert sb.drain(20)
    row = event_row(sb, second)
    assert (row["outcome"], row["attempts"]) == ("Success", 1)  # the throttle was no attempt


def test_dead_letter_queue_gets_the_original_event(sb: Sandbox, clock: FakeClock) -> None:
    url, queue_arn = queue(sb, "orders-dlq")
    sb.create_function("orders", FAILING, dead_letter_config={"TargetArn": queue_arn})
    sb.put_function_event_invoke_config("orders", maximum_retry_attempts=0)
    rid = sb.invoke("orders", '{"n":  3}', invocation_type="Event").request_id
    assert sb.drain(20)
    (message,) = messages(sb, url)
    assert message["Body"] == '{"n":  3}'  # unchanged, byte for byte
    attributes = message["MessageAttributes"]
    assert attributes["RequestID"] == {"DataType": "String", "StringValue": rid}
    assert attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}
    assert attributes["ErrorMessage"] == {"DataType": "String", "StringValue": "boom 3"}
    (row,) = sb.async_events("orders")
    assert row["deliveries"] == [
        {
            "target": "DeadLetter",
            "destination": queue_arn,
            "ok": True,
            "message_id": message["MessageId"],
        }
    ]


def test_dead_letter_queue_is_version_configuration(sb: Sandbox, clock: FakeClock) -> None:
    url1, arn1 = queue(sb, "dlq-v1")
    url2, arn2 = queue(sb, "dlq-latest")
    sb.create_function("orders", FAILING, dead_letter_config={"TargetArn": arn1})
    sb.publish_version("orders")
    sb.update_function_configuration("orders", dead_letter_config={"TargetArn": arn2})
    for qualifier in ("1", "$LATEST"):
        sb.put_function_event_invoke_config("orders", qualifier, maximum_retry_attempts=0)
        sb.invoke("orders", {"q": qualifier}, qualifier=qualifier, invocation_type="Event")
    assert sb.drain(20)
    assert [json.loads(str(m["Body"])) for m in messages(sb, url1)] == [{"q": "1"}]
    assert [json.loads(str(m["Body"])) for m in messages(sb, url2)] == [{"q": "$LATEST"}]


def test_function_destination_chains_and_alias_arn(sb: Sandbox, clock: FakeClock) -> None:
    sb.create_function("first", OK)
    sb.publish_version("first")
    sb.create_alias("first", "live", "1")
    sb.create_function(
        "second", "import json\ndef lambda_handler(event, context):\n    print(json.dumps(event))\n"
    )
    sb.put_function_event_invoke_config(
        "first", "live", destination_config={"OnSuccess": {"Destination": f"{ARN}:second"}}
    )
    rid = sb.invoke("first", {"step": 1}, qualifier="live", invocation_type="Event").request_id
    assert sb.drain(20)
    chained = sb.async_events("second")
    assert len(chained) == 1 and chained[0]["origin"] == f"destination of {rid}"
    assert chained[0]["outcome"] == "Success"
    lines = [r["line"] for r in sb.telemetry.rows(kind="log", request_id=chained[0]["request_id"])]
    record = json.loads(next(line for line in lines if line.startswith("{")))
    assert record["requestContext"]["functionArn"] == f"{ARN}:first:live"
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "1"}
    assert record["responsePayload"] == {"seen": {"step": 1}}
    (delivery,) = event_row(sb, rid)["deliveries"]
    assert delivery["target"] == "OnSuccess" and delivery["message_id"] == chained[0]["request_id"]


def test_event_bus_topic_and_bucket_envelopes(sb: Sandbox, clock: FakeClock) -> None:
    sb.create_function("fails", FAILING)
    sb.create_function("works", OK)
    sb.s3.create_bucket("failed-records")
    topic = sb.sns.create_topic("results")["TopicArn"]
    url, queue_arn = queue(sb, "subscriber")
    sb.sns.subscribe(topic, "sqs", queue_arn)
    bus = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"
    sb.put_function_event_invoke_config(
        "works",
        destination_config={"OnSuccess": {"Destination": bus}},
    )
    sb.put_function_event_invoke_config(
        "fails",
        maximum_retry_attempts=0,
        destination_config={"OnFailure": {"Destination": "arn:aws:s3:::failed-records"}},
    )
    ok = sb.invoke("works", {"a": 1}, invocation_type="Event").request_id
    bad = sb.invoke("fails", {"b": 2}, invocation_type="Event").request_id
    assert sb.drain(20)
    (event,) = sb.eventbridge.received("default")
    assert event["detail-type"] == "Lambda Function Invocation Result - Success"
    assert event["source"] == "lambda" and event["account"] == ACCOUNT
    assert event["resources"] == [bus, f"{ARN}:works:$LATEST"]
    assert event["detail"]["requestContext"]["requestId"] == ok
    (obj,) = sb.s3.list_objects_v2("failed-records")["Contents"]
    day = datetime.fromtimestamp(clock.time(), UTC)
    assert obj["Key"].startswith(f"aws/lambda/async/fails/{day:%Y/%m/%d}/")
    body = json.loads(sb.s3.get_object("failed-records", obj["Key"])["Body"])
    assert body["requestContext"]["requestId"] == bad
    # a topic destination: the record is the SNS Message
    sb.update_function_event_invoke_config(
        "works", destination_config={"OnSuccess": {"Destination": topic}}
    )
    again = sb.invoke("works", {"c": 3}, invocation_type="Event").request_id
    assert sb.drain(20)
    (note,) = messages(sb, url)
    envelope = json.loads(str(note["Body"]))
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic
    assert json.loads(envelope["Message"])["requestContext"]["requestId"] == again


def test_missing_destination_is_a_recorded_delivery_failure(sb: Sandbox) -> None:
    sb.create_function("works", OK)
    gone = f"arn:aws:sqs:us-east-1:{ACCOUNT}:never-created"
    sb.put_function_event_invoke_config(
        "works", destination_config={"OnSuccess": {"Destination": gone}}
    )
    rid = sb.invoke("works", {}, invocation_type="Event").request_id
    assert sb.drain(20)
    row = event_row(sb, rid)
    assert row["outcome"] == "Success"
    (delivery,) = row["deliveries"]
    assert delivery["ok"] is False and delivery["destination"] == gone
    failed = [
        r
        for r in sb.telemetry.rows(kind="async", request_id=rid)
        if r["status"] == "delivery-failed"
    ]
    assert len(failed) == 1
    (metrics,) = sb.metrics("works")
    assert metrics["DestinationDeliveryFailures"] == 1 and metrics["DeadLetterErrors"] == 0
    assert metrics["AsyncEventsReceived"] == 1 and metrics["AsyncEventsDropped"] == 0


def test_deleted_function_drops_with_a_reason(sb: Sandbox, clock: FakeClock) -> None:
    sb.create_function("brief", FAILING)
    rid = sb.invoke("brief", {}, invocation_type="Event").request_id
    wait_for(lambda: waiting(sb, rid, 1))
    sb.delete_function("brief")
    clock.advance(60)
    assert sb.drain(20)
    row = event_row(sb, rid)
    assert row["outcome"] == "Dropped" and "Function not found" in str(row["reason"])


def test_drain_times_out_while_a_retry_waits(sb: Sandbox) -> None:
    sb.create_function("orders", FAILING)
    rid = sb.invoke("orders", {}, invocation_type="Event").request_id
    wait_for(lambda: waiting(sb, rid, 1))
    t0 = time.monotonic()
    assert sb.drain(0.3) is False
    assert time.monotonic() - t0 < 2


def test_events_resume_after_a_restart(tmp_path: object) -> None:
    home = str(tmp_path)
    clock = FakeClock()
    with Sandbox(home, clock=clock) as first:
        first.create_function("orders", FAILING)
        url, queue_arn = queue(first, "after-restart")
        first.put_function_event_invoke_config(
            "orders", destination_config={"OnFailure": {"Destination": queue_arn}}
        )
        rid = first.invoke("orders", {"n": 1}, invocation_type="Event").request_id
        wait_for(lambda: waiting(first, rid, 1))
    # a new session (a kernel restart): the event waiting for its retry carries on
    with Sandbox(home, clock=clock) as second:
        assert event_row(second, rid)["state"] == "queued"
        clock.advance(60)
        wait_for(lambda: waiting(second, rid, 2))
        clock.advance(120)
        assert second.drain(20)
        assert event_row(second, rid)["outcome"] == "RetriesExhausted"
        (message,) = messages(second, url)
        assert json.loads(str(message["Body"]))["requestContext"]["approximateInvokeCount"] == 3


def test_closing_mid_run_gives_the_event_back(tmp_path: object) -> None:
    home = str(tmp_path)
    clock = FakeClock()
    first = Sandbox(home, clock=clock)
    first.create_function("long", SLOW, timeout=30)
    rid = first.invoke("long", {"hold": 3}, invocation_type="Event").request_id
    wait_for(lambda: first.telemetry.rows(kind="log", request_id=rid))  # it has started
    t0 = time.monotonic()
    first.close()
    assert time.monotonic() - t0 < 2.5  # the running handler does not hold the close up
    with Sandbox(home, clock=clock) as second:
        assert second.drain(30)  # it runs again, from the start
        row = event_row(second, rid)
        # one invocation counted: the interrupted run was neither an attempt nor an error
        assert (row["outcome"], row["attempts"]) == ("Success", 1)
        assert second.telemetry.rows(kind="log", request_id=rid)
