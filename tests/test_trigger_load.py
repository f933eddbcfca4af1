"""50,000 queue messages drained through an event source mapping (issue: triggers).

One in twenty messages fails on purpose (the handler reports it with
ReportBatchItemFailures); the queue's redrive policy sends a message to its dead-letter
queue after three receives. Afterwards every message was processed successfully exactly
once or is in the dead-letter queue — none lost, none both — and the queue is empty.
Platform time runs 60 times faster than real time (a 120 s visibility timeout is 2 s).
"""

from __future__ import annotations

import collections
import json
import threading
import time

import pytest

from sandbox import Sandbox

pytestmark = [pytest.mark.process, pytest.mark.slow, pytest.mark.timeout(300)]

MESSAGES = 50_000
Q = "arn:aws:sqs:us-east-1:123456789012:"
HANDLER = """
import json
def lambda_handler(event, context):
    ok, failed = [], []
    for r in event["Records"]:
        (failed if r["body"].endswith("!") else ok).append(r)
    print(json.dumps({"ok": [r["body"] for r in ok]}))
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in failed]}
"""


def test_fifty_thousand_messages_none_lost() -> None:
    with Sandbox.ephemeral(time_scale=60, request_rate_factor=0) as sb:
        sb.create_function("drain", HANDLER)
        dlq = sb.sqs.create_queue("work-dlq")["QueueUrl"]
        url = sb.sqs.create_queue(
            "work",
            attributes={
                # 2 real seconds: a batch never outlives it, even on a busy machine, so a
                # healthy message is never received twice
                "VisibilityTimeout": "120",
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": Q + "work-dlq", "maxReceiveCount": 3}
                ),
            },
        )["QueueUrl"]
        bodies = [f"m{i}" + ("!" if i % 20 == 7 else "") for i in range(MESSAGES)]
        t0 = time.perf_counter()
        for start in range(0, MESSAGES, 10):
            entries = [
                {"Id": str(n), "MessageBody": body}
                for n, body in enumerate(bodies[start : start + 10])
            ]
            assert not sb.sqs.send_message_batch(url, entries).get("Failed")
        sent_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        sb.create_event_source_mapping(
            "drain",
            Q + "work",
            batch_size=100,
            maximum_batching_window_in_seconds=1,
            function_response_types=["ReportBatchItemFailures"],
        )
        deadline = time.monotonic() + 240
        pause = threading.Event()

        def depth(queue_url: str) -> tuple[int, int]:
            attrs = sb.sqs.get_queue_attributes(queue_url, attribute_names=["All"])["Attributes"]
            return (
                int(attrs["ApproximateNumberOfMessages"]),
                int(attrs["ApproximateNumberOfMessagesNotVisible"])
                + int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
            )

        failing = sum(1 for b in bodies if b.endswith("!"))
        while depth(url) != (0, 0) or depth(dlq)[0] < failing:
            assert time.monotonic() < deadline, (depth(url), depth(dlq))
            pause.wait(0.1)
        drained_s = time.perf_counter() - t1

        processed: collections.Counter[str] = collections.Counter()
        for row in sb.telemetry.rows(kind="log", function_name="drain"):
            line = str(row["line"])
            if line.startswith('{"ok"'):
                processed.update(json.loads(line)["ok"])
        dead: collections.Counter[str] = collections.Counter()
        while got := sb.sqs.receive_message(dlq, max_number_of_messages=10).get("Messages"):
            for m in got:
                dead[m["Body"]] += 1
                sb.sqs.delete_message(dlq, m["ReceiptHandle"])
        polls = sb.telemetry.rows(kind="poll")
        invocations = sum(1 for r in polls if r["status"] == "settled")
        pollers = max((int(r["pollers"]) for r in polls if r["status"] == "scale"), default=5)

    for body in bodies:
        if body.endswith("!"):
            assert (dead[body], processed[body]) == (1, 0), body
        else:
            assert (processed[body], dead[body]) == (1, 0), body
    assert sum(processed.values()) + sum(dead.values()) == MESSAGES
    print(
        "trigger load report:",
        json.dumps(
            {
                "messages": MESSAGES,
                "sent_in_s": round(sent_s, 2),
                "drained_in_s": round(drained_s, 2),
                "messages_per_s": round(MESSAGES / drained_s),
                "processed": sum(processed.values()),
                "dead_lettered": sum(dead.values()),
                "batches": invocations,
                "most_pollers": pollers,
            }
        ),
    )
