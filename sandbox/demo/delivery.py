"""The demo's last steps connect the pipeline to queues: Destination and Trigger.

Both wait for work that happens on its own (the async queue, the poller); the waits are
bounded in real seconds so a broken run ends with a message instead of hanging.
"""

from __future__ import annotations

import json
import time

from sandbox import Sandbox
from sandbox.demo.app import NOTIFY, empty_queue, queue_arn, say, table
from sandbox.demo.building import ORDERS, title

__all__ = ["step_destination", "step_trigger"]


def step_destination(sb: Sandbox) -> None:
    """Asynchronous invokes with an OnSuccess and an OnFailure destination (no retries)."""
    title(6, "Destination", "an asynchronous invoke answers 202; its outcome goes to a target.")
    name = "order-notify"
    sb.create_function(name, NOTIFY, description="confirms an order by email")
    confirmed = empty_queue(sb, "order-confirmed")
    problems = empty_queue(sb, "order-problems")
    sb.put_function_event_invoke_config(
        name,
        maximum_retry_attempts=0,
        destination_config={
            "OnSuccess": {"Destination": queue_arn(sb, "order-confirmed")},
            "OnFailure": {"Destination": queue_arn(sb, "order-problems")},
        },
    )
    say("OnSuccess -> queue order-confirmed, OnFailure -> queue order-problems, 0 retries")
    codes = [sb.invoke(name, order, invocation_type="Event").status_code for order in ORDERS]
    say(f"3 invokes with InvocationType=Event answered {codes} at once")
    sb.drain(30)
    rows = []
    for queue, url in (("order-confirmed", confirmed), ("order-problems", problems)):
        got = sb.sqs.receive_message(url, max_number_of_messages=10).get("Messages", [])
        for message in got:
            record = json.loads(message["Body"])
            context, response = record["requestContext"], record.get("responsePayload") or {}
            outcome = response.get("sent_to") or (
                f"{response.get('errorType')}: {response.get('errorMessage')}"
            )
            rows.append((queue, context["condition"], context["approximateInvokeCount"], outcome))
    print(table(sorted(rows), ["Queue", "condition", "approximateInvokeCount", "response"]))


def step_trigger(sb: Sandbox) -> None:
    """An event source mapping polls the orders queue and invokes order-intake (with its
    layer and extension) with batches: the SQS event of step 1, built by the poller."""
    title(7, "Trigger", "an event source mapping polls a queue and invokes with batches.")
    name = "order-intake"
    queue = empty_queue(sb, "orders")
    started = sb.clock.time()
    for n in range(25):
        sb.sqs.send_message(queue, json.dumps({"order": 100 + n, "qty": 1, "price": 2.5}))
    mapping = sb.create_event_source_mapping(name, queue_arn(sb, "orders"), batch_size=10)
    say(f"25 orders sent to queue orders; mapping {mapping.uuid[:8]}... BatchSize 10")
    deadline = time.monotonic() + 30
    sizes: list[int] = []
    while sum(sizes) < 25 and time.monotonic() < deadline:
        time.sleep(0.05)
        sizes = [
            int(str(r["succeeded"]))
            for r in sb.telemetry.rows(kind="poll")
            if r["status"] == "settled" and r.get("mapping") == mapping.uuid
        ]
    left = sb.sqs.get_queue_attributes(queue, ["ApproximateNumberOfMessages"])
    count = left.get("Attributes", {}).get("ApproximateNumberOfMessages", "?")
    sizes.sort(reverse=True)
    say(f"{len(sizes)} batches of {sizes} messages; {count} messages left in the queue")
    sb.delete_event_source_mapping(mapping.uuid)
    batches = {
        r.request_id
        for r in sb.telemetry.records(kind="invocation", function_name=name)
        if r.time >= started and r.detail.get("status") == "success"
    }
    deadline = time.monotonic() + 10  # the extension writes after each response
    while time.monotonic() < deadline and len(_audited(sb, batches)) < len(batches):
        time.sleep(0.05)
    say(
        f"order-audit, the extension from step 3, audited {len(_audited(sb, batches))} of "
        f"the {len(batches)} batch invocations"
    )


def _audited(sb: Sandbox, request_ids: set[str]) -> set[str]:
    """Those of ``request_ids`` whose audit line the extension has written."""
    prefix = "[order-audit] audited "
    lines = (str(r.detail.get("line", "")) for r in sb.telemetry.records(kind="log"))
    return {line[len(prefix) :].strip() for line in lines if line.startswith(prefix)} & request_ids
