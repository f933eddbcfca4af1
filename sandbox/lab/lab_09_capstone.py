"""Lab 9's exercises: the order pipeline, repaired and hardened.

Why these three: each is a decision an operator of the capstone's application takes under
pressure, and each needs two concepts at once. Stopping a canary is a qualifier change
checked by what actually ran; losing no order needs an asynchronous invocation *and* the
destinations of the right qualifier; absorbing a synchronous spike needs reserved and
provisioned concurrency to agree. The checks read the alias, the destination queues and
the invocation and throttle records; two of them send a small probe of their own.

The set-up recreates the part of the application a check needs (``charge``, its versions,
its alias ``live`` and the two result queues) when the notebook's earlier cells did not:
the same code as the notebook's, without the pipeline in front of it.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping

from sandbox import Sandbox
from sandbox.lab import NotYet, Window, exercise

ORDERLIB = '''"""Shared by every function of the shop: /opt/python/orderlib.py."""


def total(order):
    return round(sum(item["price"] * item["qty"] for item in order["items"]), 2)
'''
CHARGE_V1 = """import time

import orderlib


def lambda_handler(event, context):
    time.sleep(0.1)  # the payment provider
    if not event.get("card"):
        raise ValueError(f"order {event['id']} has no card")
    return {"order": event["id"], "charged": orderlib.total(event)}
"""
# version 2 reads a new field that older shops never send: the canary's bug
CHARGE_V2 = CHARGE_V1.replace(
    'return {"order"',
    'discount = event["coupon"]["percent"]  # new in version 2\n    return {"order"',
)
SALE = [
    {"id": f"sale-{n}", "card": "4242", "items": [{"price": 10.0 * n, "qty": 1}]}
    for n in range(1, 9)
]
SALE[4] = {"id": "sale-5", "items": [{"price": 50.0, "qty": 1}]}  # no card: always fails
SALE_IDS = {str(order["id"]) for order in SALE}
RESULT_QUEUES = ("charged", "charge-failed")
CANARY = {"AdditionalVersionWeights": {"2": 0.2}}


def _layer_zip(files: Mapping[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _queue_arn(sb: Sandbox, name: str) -> str:
    return f"arn:aws:sqs:{sb.region}:{sb.account_id}:{name}"


def _ensure_charge(sb: Sandbox, *, canary: bool, concurrency: bool = False) -> None:
    """``charge`` as the notebook builds it: versions 1 and 2, alias ``live`` (a canary of
    version 2, or version 1 alone), destinations to the two queues, no retries."""
    for name in RESULT_QUEUES:
        try:
            sb.sqs.get_queue_url(name)
        except Exception:
            sb.sqs.create_queue(name)
    try:
        sb.get_function("charge")
    except sb.exceptions.ResourceNotFoundException:
        layers = sb.list_layer_versions("orderlib").layer_versions
        lib = (
            layers[0]
            if layers
            else sb.publish_layer_version("orderlib", _layer_zip({"python/orderlib.py": ORDERLIB}))
        )
        sb.create_function("charge", CHARGE_V1, layers=[lib.layer_version_arn])
        sb.publish_version("charge")
        sb.update_function_code("charge", CHARGE_V2)
        sb.publish_version("charge")
        sb.create_alias("charge", "live", "1", routing_config=CANARY if canary else None)
        if concurrency:
            sb.put_function_concurrency("charge", 4)
            sb.put_provisioned_concurrency_config("charge", "live", 2)
            sb.wait_for_provisioned_concurrency("charge", "live")
    try:
        sb.get_function_event_invoke_config("charge", "live")
    except sb.exceptions.ResourceNotFoundException:
        sb.put_function_event_invoke_config(
            "charge",
            "live",
            maximum_retry_attempts=0,
            destination_config={
                "OnSuccess": {"Destination": _queue_arn(sb, "charged")},
                "OnFailure": {"Destination": _queue_arn(sb, "charge-failed")},
            },
        )


def _setup_canary(sb: Sandbox) -> Mapping[str, object]:
    _ensure_charge(sb, canary=True)
    return {}


def _probe(order_id: str) -> dict[str, object]:
    return {"id": order_id, "card": "4242", "items": [{"price": 1.0, "qty": 1}]}


@exercise(
    "9.1",
    title="Stop the canary",
    task=(
        "Version 2 of `charge` fails most orders. Route the alias `live` back to version 1 "
        "for every request, so that no request to `charge:live` runs version 2. Keep the "
        "alias: clients call `charge:live`."
    ),
    hints=(
        "An alias has a primary version and, for a canary, a routing configuration that "
        "sends a share of the requests to another version.",
        "update_alias can change both at once. Removing the extra version's share is part of "
        "the change, not only the primary version.",
    ),
    setup=_setup_canary,
)
def _stop_the_canary(sb: Sandbox, window: Window) -> str:
    try:
        alias = sb.get_alias("charge", "live")
    except sb.exceptions.ResourceNotFoundException:
        raise NotYet(
            "`charge` has no alias `live` any more: clients calling it get a 404."
        ) from None
    weights = alias.additional_version_weights
    shares = {str(v): float(w) for v, w in weights.items() if float(w) > 0}
    primary = alias.function_version
    if primary != "1" or shares:
        split = ", ".join(f"{w:.0%} to version {v}" for v, w in shares.items())
        raise NotYet(
            f"`live` points at version {primary}" + (f" and sends {split}." if split else ".")
        )
    versions = []
    for n in range(4):  # the probe: what really runs behind the alias
        versions.append(
            sb.invoke("charge", _probe(f"probe-{n}"), qualifier="live").executed_version
        )
    if set(versions) != {"1"}:
        raise NotYet(f"a probe of 4 requests to `charge:live` ran versions {versions}.")
    return (
        "`live` sends every request to version 1 (a probe of 4 requests ran version 1 only). "
        "Clients never changed what they call: that is what the alias is for."
    )


def _setup_sale(sb: Sandbox) -> Mapping[str, object]:
    _ensure_charge(sb, canary=True)
    return {"SALE": [dict(order) for order in SALE]}


def _results(sb: Sandbox, queue: str) -> list[dict[str, object]]:
    """Every invocation record in ``queue``, read without consuming it: received with a long
    visibility timeout (so each message is seen once), then made visible again."""
    url = sb.sqs.get_queue_url(queue)["QueueUrl"]
    seen: dict[str, dict[str, object]] = {}
    handles: list[str] = []
    try:
        while True:
            got = sb.sqs.receive_message(
                url, max_number_of_messages=10, visibility_timeout=43_200
            ).get("Messages", [])
            fresh = [m for m in got if m["MessageId"] not in seen]
            handles += [m["ReceiptHandle"] for m in got]
            if not fresh:
                break
            for message in fresh:
                try:
                    seen[message["MessageId"]] = json.loads(message["Body"])
                except ValueError:
                    seen[message["MessageId"]] = {}
    finally:
        for handle in handles:  # give every message back, as it was
            try:
                sb.sqs.change_message_visibility(url, handle, 0)
            except Exception:
                pass
    return list(seen.values())


@exercise(
    "9.2",
    title="Lose no order",
    task=(
        "A flash sale: the 8 orders in `SALE` must all be charged by `charge:live`, now, and "
        "not one may be lost. Send them so that every order of the sale ends up as a record "
        "in the queue `charged` or in the queue `charge-failed` (one sale order has no card: "
        "it must fail, visibly). `charge` keeps its reserved concurrency."
    ),
    hints=(
        "A synchronous caller gets a 429 for a throttled request, and the answer of a "
        "successful one: neither becomes a record in a queue.",
        "Destinations receive the records of asynchronous invocations, and only those of the "
        "qualifier whose event invoke configuration names them.",
    ),
    setup=_setup_sale,
    wait=4.0,
)
def _lose_no_order(sb: Sandbox, window: Window) -> str:
    queued = {
        r.request_id
        for r in window.records("async", "charge")
        if r.detail.get("status") == "queued"
    }
    found: dict[str, set[str]] = {queue: set() for queue in RESULT_QUEUES}
    for queue in RESULT_QUEUES:
        for record in _results(sb, queue):
            context = record.get("requestContext")
            payload = record.get("requestPayload")
            if not isinstance(context, dict) or not isinstance(payload, dict):
                continue
            if context.get("requestId") in queued and payload.get("id") in SALE_IDS:
                found[queue].add(str(payload["id"]))
    landed = found["charged"] | found["charge-failed"]
    if landed != SALE_IDS:
        ran = sum(1 for r in window.invocations("charge") if r.detail.get("status") != "queued")
        throttled = len(window.throttles("charge"))
        raise NotYet(
            f"{len(landed)} of the 8 sale orders reached `charged` or `charge-failed`. In this "
            f"attempt `charge` ran {ran} time(s) and refused {throttled} request(s)."
        )
    return (
        f"All 8 orders are accounted for: {len(found['charged'])} in `charged`, "
        f"{len(found['charge-failed'])} in `charge-failed`. Lambda's asynchronous queue "
        "retried every throttle, and the destinations recorded every outcome."
    )


def _setup_spike(sb: Sandbox) -> Mapping[str, object]:
    _ensure_charge(sb, canary=False, concurrency=True)
    return {}


@exercise(
    "9.3",
    title="Absorb the spike",
    task=(
        "The checkout page calls `charge:live` synchronously, and tonight it will send 6 "
        "requests at once. Configure `charge` so that such a spike has no throttled request "
        "and every request runs in an environment Lambda initialised for `live` ahead of "
        "time (no cold start). The check sends the spike itself."
    ),
    hints=(
        "Two settings decide this spike: how many requests `charge` may run at once, and "
        "how many environments of `live` are initialised before any request comes.",
        "One of those settings can never be larger than the other, and the second one is "
        "usable only once its status is READY. A weighted alias cannot have it at all.",
    ),
    setup=_setup_spike,
)
def _absorb_the_spike(sb: Sandbox, window: Window) -> str:
    results = sb.invoke_many(
        "charge", [_probe(f"spike-{n}") for n in range(6)], qualifier="live", concurrency=6
    )
    throttled = [r for r in results if isinstance(r, sb.exceptions.TooManyRequestsException)]
    failed = [r for r in results if isinstance(r, Exception) and r not in throttled]
    if failed:
        raise NotYet(f"the spike's requests failed: {failed[0]}")
    served = [r for r in results if not isinstance(r, Exception)]
    cold = [r for r in served if sb.explain(r.request_id).outcome != "provisioned"]
    if throttled or cold:
        raise NotYet(
            f"Of a spike of 6 requests to `charge:live`, {len(throttled)} were throttled and "
            f"{len(cold)} ran without a provisioned environment."
        )
    return (
        "6 at once, none throttled, none cold: reserved concurrency left room for the spike "
        "and provisioned concurrency had the environments initialised before it came."
    )
