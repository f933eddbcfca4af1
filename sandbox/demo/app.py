"""The demo's application: a small order pipeline, its code, and a clean slate for it.

One application ties the seven concepts together, so each step of the demo builds on the
last instead of showing a toy in isolation: orders arrive as SQS messages (Event,
Trigger), shared code and an audit extension ship as layers (Layer, Extension), prices
roll out as versions behind an alias (Qualifier), checkout shows how Lambda scales
(Concurrency) and notifications report where they went (Destination).

The function and layer sources are plain strings: what a student would put in a zip.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Sequence

from sandbox import Sandbox
from sandbox.cli_commands import table as _table
from sandbox.store.packaging import build_zip

__all__ = [
    "CHECKOUT",
    "FUNCTIONS",
    "INTAKE",
    "INTAKE_WITH_LAYER",
    "NOTIFY",
    "PRICING",
    "audit_layer_zip",
    "empty_queue",
    "order_lib_zip",
    "queue_arn",
    "reset",
    "say",
    "show_logs",
    "table",
]

# every function the demo creates; a second run deletes them first (with what hangs off
# them: versions, aliases, provisioned concurrency, event invoke configs, mappings)
FUNCTIONS = ("order-intake", "order-pricing", "order-checkout", "order-notify")

# 1. Event: reads an SQS batch by itself
INTAKE = """
import json

def lambda_handler(event, context):
    orders = [json.loads(record["body"]) for record in event["Records"]]
    return {"orders": len(orders), "items": sum(o["qty"] for o in orders)}
"""

# 2. Layer: the same function with its parsing and pricing moved into the shared orderlib
INTAKE_WITH_LAYER = """
import orderlib

def lambda_handler(event, context):
    orders = orderlib.parse(event)
    return {"orders": len(orders), "total": orderlib.total(orders), "orderlib": orderlib.__file__}
"""

_ORDERLIB = """
\"\"\"Shared by every function of the order pipeline (a layer, extracted under /opt).\"\"\"
import json

def parse(event):
    return [json.loads(record["body"]) for record in event["Records"]]

def total(orders, discount=0.0):
    return round(sum(o["qty"] * o["price"] for o in orders) * (1 - discount), 2)
"""

# 4. Qualifier: version 1 charges the list price; version 2 (the canary) gives 10 % off
PRICING = """
import orderlib

DISCOUNT = {discount}

def lambda_handler(event, context):
    return {{"total": orderlib.total(event["orders"], DISCOUNT)}}
"""

# 5. Concurrency: checkout holds its environment for a while, so a burst needs many
CHECKOUT = """
import os, time

def lambda_handler(event, context):
    time.sleep(event.get("seconds", 0.3))  # reserving stock
    return os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"]
"""

# 6. Destination: an order without an email address cannot be confirmed
NOTIFY = """
def lambda_handler(event, context):
    if "email" not in event:
        raise ValueError(f"order {event['order']} has no email address")
    return {"sent_to": event["email"]}
"""

# 3. Extension: an external extension is an executable in a layer's extensions/ folder. It
# registers with the Extensions API, then waits on event/next; after each response it
# keeps its environment busy for AUDIT_SECONDS, writing the audit record (the work after
# the response, AWS's PostRuntimeExtensionsDuration).
_AUDIT = """
import json, os, time, urllib.request

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
NAME = os.path.basename(__file__)


def call(path, body=None, headers=None):
    url = f"http://{API}/2020-01-01/extension/{path}"
    return urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers or {}))


events = json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode()
with call("register", events, {"Lambda-Extension-Name": NAME}) as reply:
    me = {"Lambda-Extension-Identifier": reply.headers["Lambda-Extension-Identifier"]}
print(f"[{NAME}] registered", flush=True)
while True:
    with call("event/next", headers=me) as reply:
        event = json.load(reply)
    if event["eventType"] == "SHUTDOWN":
        break
    time.sleep(float(os.environ.get("AUDIT_SECONDS", "0")))
    print(f"[{NAME}] audited {event['requestId']}", flush=True)
"""


def order_lib_zip() -> bytes:
    """The ``order-lib`` layer: ``python/orderlib.py`` lands in ``/opt/python``, which is
    on every Python function's ``sys.path``."""
    return build_zip({"python/orderlib.py": _ORDERLIB.encode()})


def audit_layer_zip() -> bytes:
    """The ``order-audit`` layer: one executable, ``extensions/order-audit``. It runs on
    the interpreter running the demo (AWS's samples say ``#!/usr/bin/env python3``)."""
    script = f"#!{sys.executable}\n{_AUDIT}"
    name = "extensions/order-audit"
    return build_zip({name: script.encode()}, executable=[name])


def queue_arn(sb: Sandbox, name: str) -> str:
    return f"arn:aws:sqs:{sb.region}:{sb.account_id}:{name}"


def empty_queue(sb: Sandbox, name: str) -> str:
    """A queue of the demo, emptied of an earlier run's messages (PurgeQueue allows one
    purge a minute, so a second demo within a minute reads and deletes instead)."""
    url = str(sb.sqs.create_queue(name)["QueueUrl"])
    while got := sb.sqs.receive_message(url, max_number_of_messages=10).get("Messages"):
        for message in got:
            sb.sqs.delete_message(url, message["ReceiptHandle"])
    return url


def reset(sb: Sandbox) -> None:
    """Delete what an earlier demo left in the store, so every run starts the same way.

    Event source mappings outlive their function on AWS, so they go first; layer versions
    stay (publishing again makes the next version number, as on AWS)."""
    for name in FUNCTIONS:
        for mapping in sb.list_event_source_mappings(function_name=name).event_source_mappings:
            sb.delete_event_source_mapping(mapping.uuid)
        try:
            sb.delete_function(name)
        except sb.exceptions.ResourceNotFoundException:
            pass


def say(text: str) -> None:
    """Print a line of a step's report, indented, wrapped at 100 columns (an explanation
    sentence runs to 200 characters, and a wrapped terminal line loses the indent)."""
    print(textwrap.fill(text, 100, initial_indent="   ", subsequent_indent="     "))


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    """Aligned columns under a dashed header, indented like the rest of a step's report."""
    return textwrap.indent(_table(rows, header), "   ")


def show_logs(logs: Sequence[str], *, keep: Sequence[str] = ()) -> None:
    """Print log lines indented; with ``keep``, only the lines starting with one of them,
    up to their first tab (``INIT_START``'s runtime ARN says nothing here)."""
    for line in logs:
        if not keep:
            print("   | " + line.replace("\t", "  ").rstrip())
        elif line.startswith(tuple(keep)):
            print("   | " + line.split("\t")[0].rstrip())
