"""Chains: a record a Lambda destination delivers to a topic, an event bus or a bucket
makes the pushes any other message there would make — the topic's ``lambda``
subscriptions, the bus's matching rules, the bucket's notifications. So
S3 → function → (on success) topic → function runs end to end, as on AWS.

The async queue (a lower layer) cannot know these resources; the sandbox gives it
:func:`pushes_of` as its hook, called in the delivery's own transaction.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sandbox.resources.notifications import bucket_deliveries
from sandbox.resources.rules import route_event
from sandbox.resources.topic_lambda import lambda_deliveries
from sandbox.service.destinations import Delivery
from sandbox.store.resource_rows import get_bucket, parse_arn

__all__ = ["pushes_of"]


def pushes_of(conn: sqlite3.Connection, delivery: Delivery, now: float) -> list[Any]:
    """The pushes (``sandbox.service.triggers.Delivery``) a delivered record makes."""
    ref = parse_arn(delivery.destination)
    sent = delivery.sent
    if ref is None:
        return []
    if ref.service == "sns" and delivery.message_id:
        return list(
            lambda_deliveries(
                conn,
                ref,
                delivery.message_id,
                str(sent["message"]),
                None,
                sent.get("attributes"),
                now,
            )
        )
    if ref.service == "events":
        return list(route_event(conn, ref.account, ref.region, ref.name, sent["event"]))
    if ref.service == "s3":
        bucket = get_bucket(conn, str(sent["bucket"]))
        return list(
            bucket_deliveries(
                conn,
                str(sent["bucket"]),
                str(sent["key"]),
                "ObjectCreated:Put",
                now=now,
                requester=bucket.account if bucket is not None else "",
                size=int(sent["size"]),
                etag=str(sent["etag"]),
            )
        )
    return []
