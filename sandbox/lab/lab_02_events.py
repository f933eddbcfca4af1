"""Lab 2, events: three exercises on the shapes services send.

Why these three: building a service's event instead of guessing it (2.1), a handler that
tells event sources apart and decodes what S3 encodes (2.2), and a saved test event that a
whole class can reuse (2.3). The checks read the event the function logged, the answers of
the function to events the check sends itself, and the test event as the store keeps it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, unquote_plus

from sandbox import events
from sandbox.core.telemetry import RecordKind
from sandbox.lab import NotYet, Window, exercise
from sandbox.lab import ensure_function as _ensure

if TYPE_CHECKING:
    from sandbox import Sandbox

THUMBNAIL = """import json
from urllib.parse import unquote_plus


def lambda_handler(event, context):
    print("EVENT " + json.dumps(event))  # the check reads this line
    record = event["Records"][0]
    key = unquote_plus(record["s3"]["object"]["key"])
    return {"thumbnail": "thumbs/" + key}
"""
# The two-source handler of 02-events.ipynb, section 2.
ORDERS = """import json


def lambda_handler(event, context):
    if "Records" in event and event["Records"][0].get("eventSource") == "aws:sqs":
        orders = [json.loads(record["body"]) for record in event["Records"]]
        print(f"queue: {len(orders)} orders")
        return {"batchItemFailures": [], "processed": [o["order"] for o in orders]}
    if "httpMethod" in event:
        order = json.loads(event["body"] or "{}")
        print(f"api: {event['httpMethod']} {event['path']}")
        return {"statusCode": 201, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"accepted": order.get("order")})}
    raise ValueError(f"unexpected event with keys {sorted(event)}")
"""
UPLOAD_BUCKET, UPLOAD_KEY = "uploads", "raw/cat photo.jpg"
ORDER_KEY = "incoming/order 42.json"


@exercise(
    "2.1",
    title="An upload for thumbnail",
    task=(
        f"A photo named `{UPLOAD_KEY}` has just been uploaded to the S3 bucket "
        f"`{UPLOAD_BUCKET}`. Build the event S3 sends for that upload and invoke `thumbnail` "
        "with it. `thumbnail` logs every event it gets; the check validates that event as an "
        "S3 put notification and reads its bucket and key."
    ),
    hints=(
        "Do not write the event by hand: the sandbox's catalogue knows S3's shape "
        "(events.kinds() lists the kinds).",
        "sb.generate_event takes the kind and the fields that matter, as keywords; S3 sends "
        "the key URL-encoded, and the generator encodes it for you.",
    ),
    setup=lambda sb: _ensure(sb, "thumbnail", THUMBNAIL),
)
def _upload_for_thumbnail(sb: Sandbox, window: Window) -> str:
    logged = [
        str(r.detail.get("line", ""))[len("EVENT ") :]
        for r in window.records(RecordKind.LOG, "thumbnail")
        if str(r.detail.get("line", "")).startswith("EVENT ")
    ]
    if not logged:
        raise NotYet("`thumbnail` got no event in this attempt.")
    problems: list[str] = []
    for text in logged:
        try:
            event = json.loads(text)
        except ValueError:
            problems.append("it logged an event that is not JSON")
            continue
        problems.append(_s3_put_problem(event))
        if not problems[-1]:
            return (
                "That is the notification S3 sends: the key arrives URL-encoded, so a "
                "handler decodes it (urllib.parse.unquote_plus) before it uses it."
            )
    raise NotYet(
        f"`thumbnail` got {len(logged)} event(s) in this attempt; the last: {problems[-1]}."
    )


def _s3_put_problem(event: Any) -> str:
    """What keeps ``event`` from being S3's notification of the upload ('' when nothing)."""
    found = events.validate("s3-put", event)
    if found:
        return f"not an S3 put notification ({found[0]})"
    record = event["Records"][0]
    if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
        return f"its eventName is {record.get('eventName')!r}, not an upload"
    bucket = record["s3"]["bucket"]["name"]
    if bucket != UPLOAD_BUCKET:
        return f"it names the bucket {bucket!r}"
    key = record["s3"]["object"]["key"]
    if unquote_plus(key) != UPLOAD_KEY:
        return f"its key {key!r} names another object"
    if key != quote_plus(UPLOAD_KEY, safe="/"):
        return f"its key {key!r} is not encoded the way S3 encodes keys"
    return ""


@exercise(
    "2.2",
    title="A third event source",
    task=(
        "Teach `orders` a third event source: S3. When S3 tells it that an object was "
        "uploaded, its answer must contain the object's key as the uploader named it. The "
        "SQS batch and the API Gateway request of section 2 must keep working. Deploy with "
        '`sb.update_function_code("orders", lambda_handler)`. The check invokes `orders` '
        f"with an SQS batch, an API Gateway request and an upload of `{ORDER_KEY}`."
    ),
    hints=(
        "An S3 notification has Records too. Which field of a record tells S3 from SQS?",
        "S3 sends keys URL-encoded (a space arrives as +). Decode with urllib.parse "
        "before you answer.",
    ),
    setup=lambda sb: _ensure(sb, "orders", ORDERS),
)
def _third_source(sb: Sandbox, window: Window) -> str:
    probes = {
        "the SQS batch": sb.generate_event("sqs", body={"order": 7, "item": "ink"}, count=2),
        "the API Gateway request": sb.generate_event(
            "apigateway-rest", method="POST", path="/orders", body={"order": 8}
        ),
        "the S3 upload": sb.generate_event("s3-put", bucket="orders-inbox", key=ORDER_KEY),
    }
    for what, event in probes.items():
        result = sb.invoke("orders", event)
        if result.function_error:
            error = result.payload.get("errorType") if isinstance(result.payload, dict) else ""
            raise NotYet(f"{what} made `orders` fail with {error}.")
        answer = result.payload
        if what == "the API Gateway request" and not (
            isinstance(answer, dict) and str(answer.get("statusCode", "")).startswith("2")
        ):
            raise NotYet(f"`orders` answered {what} without a 2xx statusCode.")
        if what == "the S3 upload" and ORDER_KEY not in json.dumps(answer):
            shown = json.dumps(answer)[:120]
            raise NotYet(f"`orders` answered {what} with {shown}: no key as uploaded.")
    return "One function, three event sources: the event's shape says who called."


@exercise(
    "2.3",
    title="A batch for later",
    task=(
        "Save a test event named `five-orders` on `orders`: an SQS batch of five messages, "
        'each body an order such as {"order": 1}. The check reads it back from the store '
        "and validates it."
    ),
    hints=(
        "Section 4 saves test events. The SQS generator can make a batch of several "
        "messages in one call.",
        "Each SQS body is a string. Is yours JSON with an order in it?",
    ),
    setup=lambda sb: _ensure(sb, "orders", ORDERS),
)
def _batch_for_later(sb: Sandbox, window: Window) -> str:
    try:
        saved = sb.get_test_event("orders", "five-orders")
    except sb.exceptions.ResourceNotFoundException:
        names = sb.list_test_events("orders")
        raise NotYet(f"`orders` has no test event named five-orders (it has {names}).") from None
    problems = events.validate("sqs", saved)
    if problems:
        raise NotYet(f"five-orders is not an SQS batch: {problems[0]}.")
    records = saved["Records"]
    if len(records) != 5:
        raise NotYet(f"five-orders holds {len(records)} message(s).")
    for n, record in enumerate(records):
        try:
            body = json.loads(record["body"])
        except ValueError:
            raise NotYet(f"the body of message {n} is not JSON: {record['body'][:40]!r}.") from None
        if not isinstance(body, dict) or "order" not in body:
            raise NotYet(f"the body of message {n} has no order: {record['body'][:40]!r}.")
    return "Saved in the store: it survives a kernel restart, and goes with the function."
