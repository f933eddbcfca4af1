"""Lab 7's exercises: batches from a queue, a bucket allowed to invoke a function, and a
filter on an event source mapping.

Why these three: batch size and filters are the two settings of a mapping that change what
a function receives, and a missing (or too broad) permission is the most common reason a
push trigger "does nothing". The checks read the pollers' ``poll`` records (each batch with
its size), the ``trigger`` records of services that invoked a function, the functions' log
lines and their resource-based policies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from sandbox import Sandbox
from sandbox.lab import NotYet, Window, exercise
from sandbox.lab import ensure_function as _ensure

BOX = """import json


def lambda_handler(event, context):
    parcels = [json.loads(r["body"])["parcel"] for r in event["Records"]]
    print("boxing", parcels)
"""
THUMB = """def lambda_handler(event, context):
    key = event["Records"][0]["s3"]["object"]["key"]
    print("thumbnail of", key)
    return {"thumbnail": "small-" + key}
"""
TRIAGE = """import json


def lambda_handler(event, context):
    for record in event["Records"]:
        ticket = json.loads(record["body"])
        print("triage", ticket["id"], ticket["priority"])
"""
PARCELS = [json.dumps({"parcel": n}) for n in range(12)]
TICKETS = [json.dumps({"id": n, "priority": "high" if n % 2 else "low"}) for n in range(1, 7)]


def _start_over(sb: Sandbox, function_name: str, queue_name: str) -> None:
    """Remove an earlier attempt's mapping from the queue to the function, and the
    messages it left: each attempt counts its own batches from an empty queue."""
    url = sb.sqs.create_queue(queue_name)["QueueUrl"]  # CreateQueue is idempotent
    arn = f"arn:aws:sqs:{sb.region}:{sb.account_id}:{queue_name}"
    listed = sb.list_event_source_mappings(function_name=function_name)
    for mapping in listed.event_source_mappings:
        if mapping.event_source_arn == arn:
            sb.delete_event_source_mapping(mapping.uuid)
            sb.wait_for_event_source_mapping_deleted(mapping.uuid)
    for _ in range(100):  # bounded: a few hundred leftover messages at most
        got = sb.sqs.receive_message(url, max_number_of_messages=10).get("Messages", [])
        if not got:
            break
        for message in got:
            sb.sqs.delete_message(url, message["ReceiptHandle"])


def _setup_box(sb: Sandbox) -> Mapping[str, object]:
    _ensure(sb, "box", BOX)
    _start_over(sb, "box", "parcels")
    return {"PARCELS": PARCELS}


@exercise(
    "7.1",
    title="Batches of five",
    task=(
        "Send the twelve messages in `PARCELS` to the SQS queue `parcels`. Then map the "
        "queue to the function `box` so that the twelve are handled in batches of 5, 5 "
        "and 2."
    ),
    hints=(
        "An event source mapping is created on the function's side: Lambda polls the queue for it.",
        "One setting of the mapping says how many records at most one invocation gets.",
    ),
    setup=_setup_box,
    wait=4.5,
)
def _batches(sb: Sandbox, window: Window) -> str:
    batches = [
        int(r.detail.get("size", 0))  # type: ignore[call-overload]
        for r in window.records("poll", "box")
        if r.detail.get("status") == "batch"
    ]
    if not batches:
        raise NotYet("no batch reached `box` in this attempt.")
    if sum(batches) < 12:
        raise NotYet(f"`box` got {sum(batches)} message(s) so far, in batches of {batches}.")
    if sorted(batches) != [2, 5, 5]:
        raise NotYet(f"`box` got its messages in batches of {batches}.")
    return (
        "Lambda polled the queue for `box` and invoked it with at most BatchSize records per "
        "invocation; every successful batch was deleted from the queue."
    )


def _setup_thumb(sb: Sandbox) -> Mapping[str, object]:
    _ensure(sb, "thumb", THUMB)
    sb.s3.create_bucket("photos")
    return {}


@exercise(
    "7.2",
    title="Let the bucket in",
    task=(
        "Make every new object in the S3 bucket `photos` invoke the function `thumb`. "
        "Only that bucket may invoke `thumb`. Then upload one object to `photos`."
    ),
    hints=(
        "Two sides: the function's resource-based policy must allow the service, and the "
        "bucket's notification configuration must name the function. S3 checks the "
        "first when you set the second.",
        "The policy statement names the service principal of S3 and, to rule out other "
        "buckets, a source ARN.",
    ),
    setup=_setup_thumb,
    wait=4.0,
)
def _bucket_permission(sb: Sandbox, window: Window) -> str:
    pushes = [r for r in window.records("trigger", "thumb") if r.detail.get("trigger") == "s3"]
    if not pushes:
        raise NotYet("no S3 event tried to invoke `thumb` in this attempt.")
    refused = [r for r in pushes if r.detail.get("status") != "invoked"]
    if refused:
        reason = refused[0].detail.get("reason")
        raise NotYet(f"S3 tried to invoke `thumb` and was refused: {reason}")
    ran = [r for r in window.invocations("thumb") if r.detail.get("status") == "success"]
    if not ran:
        raise NotYet("S3 invoked `thumb`, but no invocation of it has succeeded yet.")
    policy = json.loads(sb.get_policy("thumb")["Policy"])
    for statement in policy["Statement"]:
        principal = statement.get("Principal", {})
        service = principal.get("Service") if isinstance(principal, dict) else principal
        if service not in ("s3.amazonaws.com", "*"):
            continue
        source = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
        if source != "arn:aws:s3:::photos":
            raise NotYet(
                f"`thumb` ran, but its policy statement {statement.get('Sid')!r} lets "
                f"{service} invoke it from {'any bucket' if source is None else source}."
            )
    return (
        "S3 invoked `thumb` asynchronously (a push trigger), allowed by a statement that "
        "names s3.amazonaws.com and the bucket's ARN."
    )


def _setup_triage(sb: Sandbox) -> Mapping[str, object]:
    _ensure(sb, "triage", TRIAGE)
    _start_over(sb, "triage", "tickets")
    return {"TICKETS": TICKETS}


@exercise(
    "7.3",
    title="Only the urgent ones",
    task=(
        "Map the SQS queue `tickets` to the function `triage` so that only tickets whose "
        '`priority` is `"high"` invoke it. Then send the six messages in `TICKETS` to '
        "the queue (three of them are high)."
    ),
    hints=(
        "An event source mapping can filter records before it invokes the function "
        "(FilterCriteria), so the others cost no invocation.",
        "A filter pattern matches the record as Lambda sees it: an SQS record's JSON "
        "message is under its `body`.",
    ),
    setup=_setup_triage,
    wait=4.5,
)
def _filter(sb: Sandbox, window: Window) -> str:
    seen: list[str] = []
    for record in window.records("log", "triage"):
        words = str(record.detail.get("line", "")).split()
        if len(words) == 3 and words[0] == "triage":
            seen.append(words[2])
    high, other = seen.count("high"), len(seen) - seen.count("high")
    if other:
        raise NotYet(f"`triage` handled {high} high and {other} other ticket(s).")
    if high < 3:
        raise NotYet(f"`triage` handled {high} high ticket(s) so far, and no other.")
    return (
        "The mapping dropped the other tickets before invoking `triage` (on AWS a filtered "
        "SQS message is deleted from the queue)."
    )
