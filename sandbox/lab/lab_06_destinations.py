"""Lab 6's exercises: an on-failure destination without retries, an on-success destination
that is a topic, and a dead-letter queue.

Why these three: together they are everything Lambda can do with the result of an
asynchronous invocation, and each has its trap (retries before the record is sent,
destinations only for asynchronous invokes, a DLQ keeps the event and not a record). The
checks read the ``async`` records on the bus (an event queued, handled, delivered) and the
queues' and topics' real contents, and keep looking for a few seconds, because the queue
works in the background.

The checks run on a real-time clock in the tests, where a retry waits a whole minute; the
solutions therefore give up after the first attempt (``MaximumRetryAttempts`` 0).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from sandbox import Sandbox
from sandbox.core.telemetry import TelemetryRecord
from sandbox.lab import NotYet, Window, exercise
from sandbox.lab import ensure_function as _ensure

FAILING = """def lambda_handler(event, context):
    raise ValueError(f"cannot handle {event}")
"""
LABEL = """def lambda_handler(event, context):
    return {"label": f"ORDER-{event.get('order')}"}
"""
_FINAL = ("succeeded", "failed", "dropped")


def _queue_arn(sb: Sandbox, name: str) -> str:
    return f"arn:aws:sqs:{sb.region}:{sb.account_id}:{name}"


def _handled(window: Window, function_name: str) -> tuple[TelemetryRecord, list[TelemetryRecord]]:
    """The last asynchronous event of the attempt that Lambda finished with, and its
    deliveries; NotYet with what was seen when there is none."""
    records = window.records("async", function_name)
    queued = [r for r in records if r.detail.get("status") == "queued"]
    if not queued:
        sync = window.invocations(function_name)
        if sync:
            raise NotYet(
                f"`{function_name}` ran {len(sync)} time(s) in this attempt, but received no "
                "asynchronous event."
            )
        raise NotYet(f"`{function_name}` received no event in this attempt.")
    final = [r for r in records if r.detail.get("status") in _FINAL]
    if not final:
        retries = [r for r in records if r.detail.get("status") == "retry"]
        waiting = " waiting to be tried again" if retries else ""
        raise NotYet(f"`{function_name}`'s event is still in Lambda's queue{waiting}.")
    last = final[-1]
    deliveries = [
        r
        for r in records
        if r.request_id == last.request_id
        and r.detail.get("status") in ("delivered", "delivery-failed")
    ]
    return last, deliveries


def _setup_flaky(sb: Sandbox) -> Mapping[str, object]:
    _ensure(sb, "flaky", FAILING)
    sb.sqs.create_queue("flaky-failures")  # CreateQueue is idempotent
    return {}


@exercise(
    "6.1",
    title="Fail fast, keep the record",
    task=(
        "`flaky` fails on every event. Configure it so that Lambda gives up on a failed "
        "asynchronous event after the first attempt and sends the invocation record to "
        "the SQS queue `flaky-failures`. Then invoke `flaky` asynchronously once."
    ),
    hints=(
        "Both settings live in the function's event invoke config: one for retries, one "
        "for where records go.",
        "By default Lambda tries twice more (MaximumRetryAttempts). The record goes to a "
        "destination for one condition, success or failure.",
    ),
    setup=_setup_flaky,
    wait=4.0,
)
def _fail_fast(sb: Sandbox, window: Window) -> str:
    last, deliveries = _handled(window, "flaky")
    attempts = last.detail.get("attempts")
    if last.detail.get("condition") != "RetriesExhausted" or attempts != 1:
        raise NotYet(
            f"Lambda finished with `flaky`'s event ({last.detail.get('condition')}) after "
            f"{attempts} attempt(s)."
        )
    queue = _queue_arn(sb, "flaky-failures")
    sent = [d for d in deliveries if d.detail.get("target") == "OnFailure"]
    if not sent:
        raise NotYet("the event failed after one attempt, and its record went to no destination.")
    if sent[0].detail.get("destination") != queue or not sent[0].detail.get("ok"):
        raise NotYet(f"the failure record went to {sent[0].detail.get('destination')}.")
    return (
        "One attempt, then an invocation record with condition RetriesExhausted and "
        "approximateInvokeCount 1 in the queue."
    )


def _setup_label(sb: Sandbox) -> Mapping[str, object]:
    _ensure(sb, "label", LABEL)
    sb.sns.create_topic("labels")  # CreateTopic is idempotent
    return {}


@exercise(
    "6.2",
    title="Success to a topic",
    task=(
        "Make Lambda publish the result of every successful asynchronous invocation of "
        "`label` to the SNS topic `labels`. Then send `label` one order that way: the "
        'event `{"order": 7}`.'
    ),
    hints=(
        "A destination is chosen per condition: on success or on failure.",
        "Destinations follow events that went through Lambda's asynchronous queue only: "
        "look at how you invoke.",
    ),
    setup=_setup_label,
    wait=4.0,
)
def _success_to_topic(sb: Sandbox, window: Window) -> str:
    last, deliveries = _handled(window, "label")
    if last.detail.get("condition") != "Success":
        raise NotYet(f"`label`'s event ended with {last.detail.get('condition')}.")
    topic = f"arn:aws:sns:{sb.region}:{sb.account_id}:labels"
    sent = [d for d in deliveries if d.detail.get("target") == "OnSuccess"]
    if not sent:
        raise NotYet("`label` succeeded, and its record went to no destination.")
    if sent[0].detail.get("destination") != topic or not sent[0].detail.get("ok"):
        raise NotYet(f"the success record went to {sent[0].detail.get('destination')}.")
    published = [json.loads(m["Message"]) for m in sb.sns.published(topic)]
    mine = [p for p in published if p.get("requestContext", {}).get("requestId") == last.request_id]
    if not mine or mine[0].get("requestPayload") != {"order": 7}:
        seen = mine[0].get("requestPayload") if mine else None
        raise NotYet(f"the topic got a record, but for the event {seen}.")
    return (
        "The topic got an invocation record (condition Success) with the event and "
        f"`label`'s answer: {mine[0].get('responsePayload')}."
    )


def _setup_resize(sb: Sandbox) -> Mapping[str, object]:
    _ensure(sb, "resize", FAILING)
    sb.sqs.create_queue("resize-dlq")
    return {}


@exercise(
    "6.3",
    title="Keep the original event",
    task=(
        "`resize` fails on every event. When Lambda gives up on one, the original event, "
        "unchanged, must wait in the SQS queue `resize-dlq` for someone to replay it. Make "
        "Lambda give up after the first attempt, then invoke `resize` asynchronously with "
        '`{"image": "cat.png"}`.'
    ),
    hints=(
        "An on-failure destination receives a record about the event. Which older "
        "mechanism receives the event itself?",
        "It is part of the function's configuration (and so of each version it publishes), "
        "not of the event invoke config.",
    ),
    setup=_setup_resize,
    wait=4.0,
)
def _dead_letter(sb: Sandbox, window: Window) -> str:
    last, deliveries = _handled(window, "resize")
    if last.detail.get("attempts") != 1:
        attempts = last.detail.get("attempts")
        raise NotYet(f"Lambda gave up on `resize`'s event after {attempts} attempt(s).")
    queue = _queue_arn(sb, "resize-dlq")
    targets = {(d.detail.get("target"), d.detail.get("destination")) for d in deliveries}
    if ("DeadLetter", queue) not in targets:
        if ("OnFailure", queue) in targets:
            raise NotYet("`resize-dlq` got an invocation record (a destination), not the event.")
        seen = sorted(f"{t} -> {d}" for t, d in targets) or ["nothing"]
        raise NotYet(f"when Lambda gave up, it sent: {', '.join(seen)}.")
    url = sb.sqs.get_queue_url("resize-dlq")["QueueUrl"]
    depth = sb.sqs.get_queue_attributes(url, attribute_names=["ApproximateNumberOfMessages"])
    if int(depth["Attributes"]["ApproximateNumberOfMessages"]) < 1:
        raise NotYet("the dead-letter queue is empty: someone received and deleted the event.")
    return (
        "The dead-letter queue holds the original event as its body, with the error in "
        "the message attributes (RequestID, ErrorCode, ErrorMessage)."
    )
