"""Delivering invocation records and dead letters to their targets (spec §7).

Every target is in the sandbox's own store — a local queue, topic, event bus or bucket
(:mod:`sandbox.store.resources`), or another function's async queue — so a delivery is a
write in the *same transaction* that marks the event handled: an event is never both
handled and undelivered, nor delivered twice by one attempt. A missing target is a
delivery failure, counted (``DestinationDeliveryFailures``, ``DeadLetterErrors``) and
recorded, as on AWS; the event still counts as handled.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.core.asyncinvoke import (
    DestinationKind,
    destination_kind,
    eventbridge_event,
    s3_record_key,
    shrink_for_sns,
)
from sandbox.store import resources
from sandbox.store.functions import FunctionRows

__all__ = ["Delivery", "Enqueue", "deliver_dead_letter", "deliver_record"]

# (conn, account, region, name, qualifier, payload, origin) -> the new event's request id
Enqueue = Callable[[sqlite3.Connection, str, str, str, str | None, bytes, str], str]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery: ``target`` is ``OnSuccess``, ``OnFailure`` or ``DeadLetter``."""

    target: str
    destination: str
    ok: bool
    error: str | None = None
    message_id: str | None = None  # the message, event, object key or new request id
    # what the target received, for the pushes it makes in turn (a topic's message, a bus's
    # event, a bucket's object): see AsyncOutcomes.pushes
    sent: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "target": self.target,
            "destination": self.destination,
            "ok": self.ok,
        }
        if self.error:
            out["error"] = self.error
        if self.message_id:
            out["message_id"] = self.message_id
        return out


def deliver_record(
    conn: sqlite3.Connection,
    target: str,
    arn: str,
    record: Mapping[str, object],
    *,
    function_arn: str,
    function_name: str,
    account_id: str,
    region: str,
    now: float,
    origin: str,
    enqueue: Enqueue,
) -> Delivery:
    """Send an invocation record to an ``OnSuccess``/``OnFailure`` destination."""
    conn.execute("SAVEPOINT delivery")
    try:
        message_id, sent = _send_record(
            conn,
            arn,
            record,
            function_arn=function_arn,
            function_name=function_name,
            account_id=account_id,
            region=region,
            now=now,
            origin=origin,
            enqueue=enqueue,
        )
    except (resources.DeliveryError, _Missing) as exc:
        conn.execute("ROLLBACK TO delivery")
        conn.execute("RELEASE delivery")
        return Delivery(target, arn, False, str(exc))
    conn.execute("RELEASE delivery")
    return Delivery(target, arn, True, message_id=message_id, sent=sent)


class _Missing(Exception):
    pass


def _send_record(
    conn: sqlite3.Connection,
    arn: str,
    record: Mapping[str, object],
    *,
    function_arn: str,
    function_name: str,
    account_id: str,
    region: str,
    now: float,
    origin: str,
    enqueue: Enqueue,
) -> tuple[str, dict[str, Any]]:
    kind = destination_kind(arn)
    body = json.dumps(record)
    if kind is DestinationKind.QUEUE:
        return resources.send_message(conn, arn, body, now=now), {}
    if kind is DestinationKind.TOPIC:
        message = json.dumps(shrink_for_sns(dict(record)))
        return resources.publish(conn, arn, message, now=now), {"message": message}
    if kind is DestinationKind.EVENT_BUS:
        event = eventbridge_event(
            record,
            event_id=str(uuid.uuid4()),
            account_id=account_id,
            region=region,
            bus_arn=arn,
            function_arn=function_arn,
            timestamp=now,
        )
        return resources.put_event(conn, arn, event, now=now), {"event": event}
    if kind is DestinationKind.BUCKET:
        bucket = arn.rsplit(":", 1)[-1]
        key = s3_record_key(function_name, now, str(uuid.uuid4()))
        etag = resources.put_object(conn, bucket, key, body.encode(), now=now)
        return key, {"bucket": bucket, "key": key, "size": len(body.encode()), "etag": etag}
    # another function: the record becomes its asynchronous event
    parts = arn.split(":")
    target_region, target_account, name = parts[3], parts[4], parts[6]
    qualifier = parts[7] if len(parts) > 7 else None
    if FunctionRows((target_account, target_region)).latest(conn, name) is None:
        raise _Missing(f"Function not found: {arn}")
    return enqueue(conn, target_account, target_region, name, qualifier, body.encode(), origin), {}


def deliver_dead_letter(
    conn: sqlite3.Connection,
    arn: str,
    payload: bytes,
    *,
    request_id: str,
    error_code: str,
    error_message: str,
    now: float,
) -> Delivery:
    """Send the original event, unchanged, to a dead-letter queue or topic, with AWS's
    ``RequestID``, ``ErrorCode`` and ``ErrorMessage`` message attributes."""
    attributes = {
        "RequestID": {"DataType": "String", "StringValue": request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": error_code},
        "ErrorMessage": {"DataType": "String", "StringValue": error_message},
    }
    body = payload.decode(errors="replace")
    conn.execute("SAVEPOINT dead_letter")
    try:
        kind = destination_kind(arn)
        sent: dict[str, Any] = {}
        if kind is DestinationKind.QUEUE:
            message_id = resources.send_message(
                conn, arn, body, message_attributes=attributes, now=now
            )
        elif kind is DestinationKind.TOPIC:
            message_id = resources.publish(conn, arn, body, message_attributes=attributes, now=now)
            sent = {"message": body, "attributes": attributes}
        else:  # the configuration rules allow only queues and topics
            raise _Missing(f"{arn} is not a queue or a topic")
    except (resources.DeliveryError, _Missing) as exc:
        conn.execute("ROLLBACK TO dead_letter")
        conn.execute("RELEASE dead_letter")
        return Delivery("DeadLetter", arn, False, str(exc))
    conn.execute("RELEASE dead_letter")
    return Delivery("DeadLetter", arn, True, message_id=message_id, sent=sent)
