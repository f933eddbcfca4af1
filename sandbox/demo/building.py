"""The demo's first steps build the order pipeline: Event, Layer, Extension, Qualifier.

Each step prints a title naming its concept, what it did, and what to notice, and hands
the next step what it built (the event, the layer's ARN).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from sandbox import Sandbox, events
from sandbox.demo.app import (
    INTAKE,
    INTAKE_WITH_LAYER,
    PRICING,
    audit_layer_zip,
    order_lib_zip,
    say,
    show_logs,
    table,
)
from sandbox.errors import LambdaError

__all__ = ["ORDERS", "step_event", "step_extension", "step_layer", "step_qualifier", "title"]

ORDERS = [
    {"order": 1, "qty": 2, "price": 4.5, "email": "ada@example.com"},
    {"order": 2, "qty": 1, "price": 12.0, "email": "alan@example.com"},
    {"order": 3, "qty": 3, "price": 2.0},
]


def title(number: int, concept: str, lesson: str) -> None:
    print(f"\n{number}. {concept}: {lesson}")


def step_event(sb: Sandbox) -> dict[str, Any]:
    """An SQS event as Lambda's poller would build it, validated, sent to a function."""
    title(1, "Event", "each service invokes your function with a JSON document of its own shape.")
    event = sb.generate_event("sqs", bodies=ORDERS, queue_name="orders")
    record = event["Records"][0]
    say(f"sb.generate_event('sqs', bodies=<3 orders>): {len(event['Records'])} records")
    say(f"a record has: {', '.join(record)}")
    say(f"events.validate('sqs', event): {events.validate('sqs', event) or 'no problems'}")
    handmade = {"Records": [{"body": json.dumps(ORDERS[0])}]}
    problems = events.validate("sqs", handmade)
    more = len(problems) - 1
    say(f"a hand-written {{'Records': [{{'body': ...}}]}}: {problems[0]} and {more} more")
    sb.create_function("order-intake", INTAKE, description="reads a batch of orders")
    result = sb.invoke("order-intake", event)
    say(f"order-intake read the batch: {result.payload}")
    return event


def step_layer(sb: Sandbox, event: dict[str, Any]) -> str:
    """Move shared code into a layer: one zip, extracted under /opt for every user."""
    title(2, "Layer", "shared code ships once, as a zip extracted under /opt of each function.")
    layer = sb.publish_layer_version(
        "order-lib", {"ZipFile": order_lib_zip()}, description="parse and price orders"
    )
    say(f"published {layer.layer_version_arn} (python/orderlib.py)")
    sb.update_function_code("order-intake", INTAKE_WITH_LAYER)
    sb.update_function_configuration("order-intake", layers=[layer.layer_version_arn])
    payload = sb.invoke("order-intake", event).payload
    if isinstance(payload, dict):
        say(f"order-intake now imports orderlib from {payload.pop('orderlib')}: {payload}")
    say("order-pricing (step 4) uses the same layer version: one copy, two functions")
    return layer.layer_version_arn


def _log_lines(sb: Sandbox, name: str) -> list[str]:
    return [
        str(r.detail.get("line", "")) for r in sb.telemetry.records(kind="log", function_name=name)
    ]


def _phases(sb: Sandbox, request_id: str) -> dict[str, float]:
    """Milliseconds of order-intake's extension init and of the request's phases."""
    return {
        r.phase: r.duration_ms or 0.0
        for r in sb.telemetry.records(kind="phase", function_name="order-intake")
        if r.request_id == request_id or r.phase == "extension-init"
    }


def step_extension(sb: Sandbox, event: dict[str, Any], lib: str) -> None:
    """An external extension: started before the runtime, told about every invoke, allowed
    to work after the response (the environment stays busy meanwhile)."""
    title(3, "Extension", "a process beside your function, started first, told of each invoke.")
    audit = sb.publish_layer_version(
        "order-audit", {"ZipFile": audit_layer_zip()}, description="an audit extension"
    )
    say(f"published {audit.layer_version_arn} (extensions/order-audit, executable)")
    sb.update_function_configuration(
        "order-intake",
        layers=[lib, audit.layer_version_arn],
        environment={"Variables": {"AUDIT_SECONDS": "0.2"}},
    )
    started = len(_log_lines(sb, "order-intake"))
    answered = time.perf_counter()
    result = sb.invoke("order-intake", event)
    answered = time.perf_counter() - answered
    # the extension writes after the response, then asks for the next event: that ends
    # the post-runtime-extensions phase (its log line may be read a moment later)
    audited = f"[order-audit] audited {result.request_id}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (
        "post-runtime-extensions" in _phases(sb, result.request_id)
        and audited in _log_lines(sb, "order-intake")
    ):
        time.sleep(0.02)
    phases = _phases(sb, result.request_id)
    say("the log stream of the new environment, in order:")
    lines = _log_lines(sb, "order-intake")[started:]
    show_logs(lines, keep=("INIT_START", "EXTENSION", "[order-audit]", "START", "END"))
    say(
        f"extension init took {phases.get('extension-init', 0.0):.0f} ms, before the runtime "
        f"started. The caller had its answer after {answered * 1000:.0f} ms; the environment "
        f"stayed busy {phases.get('post-runtime-extensions', 0.0):.0f} ms more while "
        "order-audit wrote (PostRuntimeExtensionsDuration)."
    )


def _bar(count: int, total: int, width: int = 40) -> str:
    return "#" * max(1, round(width * count / total)) if count else ""


def step_qualifier(sb: Sandbox, lib: str) -> None:
    """Versions are immutable snapshots; an alias names one and can route a share of the
    traffic to a second (a canary). ``ExecutedVersion`` says which one ran."""
    title(4, "Qualifier", "immutable versions, an alias in front, 10 % of traffic to a canary.")
    name = "order-pricing"
    sb.create_function(name, PRICING.format(discount=0.0), layers=[lib])
    v1 = sb.publish_version(name, description="list price")
    again = sb.publish_version(name)
    sb.update_function_code(name, PRICING.format(discount=0.1))
    v2 = sb.publish_version(name, description="10 % off (the canary)")
    print(
        table(
            [
                (v.version, v.code_sha256[:12] + "...", v.description)
                for v in sb.list_versions_by_function(name).versions
            ],
            ["Version", "CodeSha256", "Description"],
        )
    )
    say(f"publishing unchanged code again returned version {again.version}, not a new one")
    weights = {"AdditionalVersionWeights": {v2.version: 0.1}}
    sb.create_alias(name, "live", v1.version, routing_config=weights)
    say(f"alias live -> version {v1.version}, AdditionalVersionWeights {{'{v2.version}': 0.1}}")
    payload = {"orders": ORDERS}
    results = sb.invoke_many(f"{name}:live", [payload] * 200, concurrency=4)
    ran = Counter(str(r.executed_version) for r in results if not isinstance(r, LambdaError))
    say("200 invocations of order-pricing:live, by ExecutedVersion:")
    for version in sorted(ran, key=int):
        print(f"   version {version} | {_bar(ran[version], 200):<40} {ran[version]}")
    sb.update_alias(
        name, "live", function_version=v2.version, routing_config={"AdditionalVersionWeights": {}}
    )
    after = sb.invoke_many(f"{name}:live", [payload] * 20, concurrency=4)
    moved = Counter(r.executed_version for r in after if not isinstance(r, LambdaError))
    say(
        f"the canary looks fine: update_alias(live -> {v2.version}, no weights); the next 20 "
        f"ran version {', '.join(f'{v}: {n}' for v, n in sorted(moved.items()))}"
    )
    try:  # what an alias points to stays: AWS refuses, with its error code and message
        sb.delete_function(name, v2.version)
    except LambdaError as exc:
        say(f"delete_function(Qualifier={v2.version}): {exc.code}: {exc.message}")
