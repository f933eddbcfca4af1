"""Chains (issue: triggers): a record a Lambda destination delivers to a topic, an event
bus or a bucket triggers what any message there would — S3 → function → topic → function,
and a destination bus's rule."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest

from sandbox import Sandbox

pytestmark = [pytest.mark.process, pytest.mark.timeout(90)]

ACCOUNT = "123456789012"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function"
SHOW = "import json\ndef lambda_handler(event, context):\n    print(json.dumps(event))\n"
SIZE = (
    "def lambda_handler(event, context):\n"
    "    record = event['Records'][0]['s3']\n"
    "    return {'key': record['object']['key'], 'size': record['object']['size']}\n"
)


def wait_for(predicate: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        pause.wait(0.02)


def events_of(sb: Sandbox, function: str) -> list[dict[str, object]]:
    out = []
    for row in sb.telemetry.rows(kind="log", function_name=function):
        line = str(row["line"])
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_s3_to_function_to_topic_to_function(sb: Sandbox) -> None:
    sb.s3.create_bucket("uploads")
    topic = sb.sns.create_topic("sized")["TopicArn"]
    sb.create_function("measure", SIZE)
    sb.create_function("announce", SHOW)
    sb.add_permission(
        "measure",
        "s3",
        "lambda:InvokeFunction",
        "s3.amazonaws.com",
        source_arn="arn:aws:s3:::uploads",
    )
    sb.add_permission(
        "announce", "sns", "lambda:InvokeFunction", "sns.amazonaws.com", source_arn=topic
    )
    sb.s3.put_bucket_notification_configuration(
        "uploads",
        {
            "LambdaFunctionConfigurations": [
                {
                    "Id": "on-upload",
                    "LambdaFunctionArn": f"{FN}:measure",
                    "Events": ["s3:ObjectCreated:*"],
                }
            ]
        },
    )
    sb.put_function_event_invoke_config(
        "measure", destination_config={"OnSuccess": {"Destination": topic}}
    )
    sb.sns.subscribe(topic, "lambda", f"{FN}:announce")
    sb.s3.put_object("uploads", "cat.jpg", b"x" * 2048)
    wait_for(lambda: events_of(sb, "announce"))
    (event,) = events_of(sb, "announce")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    assert message["requestContext"]["condition"] == "Success"
    assert message["responsePayload"] == {"key": "cat.jpg", "size": 2048}
    assert message["requestContext"]["functionArn"] == f"{FN}:measure:$LATEST"
    triggers = [r["trigger"] for r in sb.telemetry.rows(kind="trigger")]
    assert triggers == ["s3", "sns"]


def test_destination_bus_rule_invokes_a_function(sb: Sandbox) -> None:
    sb.create_function("worker", "def lambda_handler(event, context):\n    return 7\n")
    sb.create_function("audit", SHOW)
    rule = sb.eventbridge.put_rule(
        "results",
        event_pattern=json.dumps(
            {"source": ["lambda"], "detail-type": ["Lambda Function Invocation Result - Success"]}
        ),
    )["RuleArn"]
    sb.eventbridge.put_targets("results", [{"Id": "audit", "Arn": f"{FN}:audit"}])
    sb.add_permission(
        "audit", "events", "lambda:InvokeFunction", "events.amazonaws.com", source_arn=rule
    )
    bus = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"
    sb.put_function_event_invoke_config(
        "worker", destination_config={"OnSuccess": {"Destination": bus}}
    )
    sb.invoke("worker", {}, invocation_type="Event")
    wait_for(lambda: events_of(sb, "audit"))
    (event,) = events_of(sb, "audit")
    assert event["detail-type"] == "Lambda Function Invocation Result - Success"
    assert event["detail"]["responsePayload"] == 7
