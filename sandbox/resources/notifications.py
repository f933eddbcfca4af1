"""S3 event notifications to Lambda: a bucket's notification configuration, and the
events its objects' writes and deletes send.

Why it exists: "a function runs when a file lands in a bucket" is the first trigger most
students meet. As on S3 (User Guide, "Amazon S3 Event Notifications"): a bucket holds one
``NotificationConfiguration`` whose ``LambdaFunctionConfigurations`` name a function, the
event types (``s3:ObjectCreated:*``, ``s3:ObjectRemoved:Delete`` ...) and an optional key
prefix/suffix filter; S3 checks when the configuration is put that each function lets
``s3.amazonaws.com`` invoke it for this bucket; then every matching write or delete
invokes the function asynchronously with the S3 event of spec §9, one record per event.

Not yet: queue, topic and EventBridge destinations, versioned buckets, and the event
types of operations the sandbox's S3 does not have (copy, multipart, restore, tagging).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote_plus

from sandbox.core.clock import Clock, iso8601_ms
from sandbox.resources.errors import InvalidArgument
from sandbox.service.permissions import PermissionService
from sandbox.service.triggers import Delivery, TriggerDispatcher, is_function_arn
from sandbox.store import trigger_rows
from sandbox.store.db import Database
from sandbox.store.resource_rows import BucketRow, get_bucket

__all__ = ["EVENT_TYPES", "NotificationsMixin", "bucket_deliveries", "object_exists"]

# S3 User Guide, "Event notification types and destinations"
EVENT_TYPES = frozenset(
    {
        "s3:TestEvent",
        "s3:ObjectCreated:*",
        "s3:ObjectCreated:Put",
        "s3:ObjectCreated:Post",
        "s3:ObjectCreated:Copy",
        "s3:ObjectCreated:CompleteMultipartUpload",
        "s3:ObjectRemoved:*",
        "s3:ObjectRemoved:Delete",
        "s3:ObjectRemoved:DeleteMarkerCreated",
        "s3:ObjectRestore:*",
        "s3:ObjectRestore:Post",
        "s3:ObjectRestore:Completed",
        "s3:ObjectRestore:Delete",
        "s3:ReducedRedundancyLostObject",
        "s3:Replication:*",
        "s3:Replication:OperationFailedReplication",
        "s3:Replication:OperationMissedThreshold",
        "s3:Replication:OperationReplicatedAfterThreshold",
        "s3:Replication:OperationNotTracked",
        "s3:LifecycleExpiration:*",
        "s3:LifecycleExpiration:Delete",
        "s3:LifecycleExpiration:DeleteMarkerCreated",
        "s3:LifecycleTransition",
        "s3:IntelligentTiering",
        "s3:ObjectTagging:*",
        "s3:ObjectTagging:Put",
        "s3:ObjectTagging:Delete",
        "s3:ObjectAcl:Put",
    }
)
_UNSUPPORTED = ("TopicConfigurations", "QueueConfigurations", "EventBridgeConfiguration")
_UNABLE = "Unable to validate the following destination configurations"
_SEQUENCE = itertools.count()


class NotificationsMixin:
    """PutBucketNotificationConfiguration and GetBucketNotificationConfiguration."""

    _db: Database
    _clock: Clock
    _triggers: TriggerDispatcher | None
    account_id: str
    region: str

    def _bucket(self, conn: sqlite3.Connection, bucket: str) -> BucketRow:
        raise NotImplementedError  # S3Client's

    def put_bucket_notification_configuration(
        self,
        bucket: str,
        notification_configuration: Mapping[str, Any],
        skip_destination_validation: bool = False,
    ) -> None:
        """Replace the bucket's notification configuration (``{}`` removes it).

        ``{"LambdaFunctionConfigurations": [{"Id"?, "LambdaFunctionArn", "Events":
        ["s3:ObjectCreated:*", ...], "Filter"?: {"Key": {"FilterRules": [{"Name":
        "prefix", "Value": "photos/"}]}}}]}``. An ``Id`` is made up when none is given.

        Raises:
            NoSuchBucket, AccessDenied: no such bucket, or another account's.
            InvalidArgument: an unknown event type, a bad filter, overlapping
                configurations, or (unless ``skip_destination_validation``) a function that
                does not exist or does not let ``s3.amazonaws.com`` invoke it for this
                bucket: "Unable to validate the following destination configurations".
        """
        configurations = _check_configuration(notification_configuration)
        with self._db.transaction() as conn:
            found = self._bucket(conn, bucket)
            if not skip_destination_validation:
                self._validate_destinations(conn, found, configurations)
            stored = {"LambdaFunctionConfigurations": configurations} if configurations else {}
            trigger_rows.put_bucket_notification(conn, bucket, stored)

    def get_bucket_notification_configuration(self, bucket: str) -> dict[str, Any]:
        """The bucket's notification configuration (empty lists are left out, as S3 does).

        Raises:
            NoSuchBucket, AccessDenied: no such bucket, or another account's.
        """
        with self._db.read() as conn:
            self._bucket(conn, bucket)
            return trigger_rows.bucket_notification(conn, bucket)

    def _validate_destinations(
        self,
        conn: sqlite3.Connection,
        bucket: BucketRow,
        configurations: Sequence[Mapping[str, Any]],
    ) -> None:
        """S3 tests each destination when the configuration is put: the function must exist
        in the bucket's region and allow s3.amazonaws.com for this bucket and owner."""
        for configuration in configurations:
            arn = str(configuration["LambdaFunctionArn"])
            region = arn.split(":")[3]
            if region != bucket.region:
                raise InvalidArgument(_UNABLE)
            permissions = PermissionService(self._db, account_id=bucket.account, region=region)
            if not permissions.allowed(
                arn, "s3.amazonaws.com", f"arn:aws:s3:::{bucket.name}", bucket.account, conn=conn
            ):
                raise InvalidArgument(_UNABLE)


def _check_configuration(given: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Lambda configurations in S3's stored shape, or InvalidArgument."""
    if not isinstance(given, Mapping):
        raise InvalidArgument("The XML you provided was not well-formed")
    for key in given:
        if key in _UNSUPPORTED and given[key]:
            raise InvalidArgument(
                f"{key} are not supported by the sandbox yet: it notifies Lambda functions "
                "only (LambdaFunctionConfigurations)."
            )
        if key not in (*_UNSUPPORTED, "LambdaFunctionConfigurations"):
            raise InvalidArgument(f"Unknown parameter in NotificationConfiguration: {key}")
    configurations: list[dict[str, Any]] = []
    for raw in given.get("LambdaFunctionConfigurations") or []:
        arn = raw.get("LambdaFunctionArn")
        if not isinstance(arn, str) or not is_function_arn(arn):
            raise InvalidArgument(_UNABLE)
        events = raw.get("Events")
        if not isinstance(events, list | tuple) or not events:
            raise InvalidArgument(
                "Missing required parameter in LambdaFunctionConfiguration: Events"
            )
        for event in events:
            if event not in EVENT_TYPES:
                raise InvalidArgument("The event is not supported for notifications")
        shaped: dict[str, Any] = {
            "Id": str(raw.get("Id") or _new_id()),
            "LambdaFunctionArn": arn,
            "Events": list(dict.fromkeys(events)),
        }
        rules = _filter_rules(raw.get("Filter"))
        if rules:
            shaped["Filter"] = {"Key": {"FilterRules": rules}}
        configurations.append(shaped)
    ids = [c["Id"] for c in configurations]
    if len(set(ids)) != len(ids):
        raise InvalidArgument("Configuration is ambiguously defined. Cannot have overlapping id")
    for first, second in itertools.combinations(configurations, 2):
        if _overlap(first, second):
            raise InvalidArgument(
                "Configurations overlap. Configurations on the same bucket cannot share a "
                "common event type."
            )
    return configurations


def _filter_rules(given: object) -> list[dict[str, str]]:
    if not given:
        return []
    key = given.get("Key") if isinstance(given, Mapping) else None
    rules = key.get("FilterRules") if isinstance(key, Mapping) else None
    if not isinstance(rules, list | tuple):
        raise InvalidArgument("The XML you provided was not well-formed")
    shaped: dict[str, str] = {}
    for rule in rules:
        name = str(rule.get("Name", "")).lower() if isinstance(rule, Mapping) else ""
        if name not in ("prefix", "suffix"):
            raise InvalidArgument("filter rule name must be either prefix or suffix")
        if name.capitalize() in shaped:
            raise InvalidArgument(f"Cannot specify more than one {name} rule in a filter.")
        shaped[name.capitalize()] = str(rule.get("Value", ""))
    return [{"Name": n, "Value": v} for n, v in shaped.items()]


def _rule_value(configuration: Mapping[str, Any], name: str) -> str:
    rules = configuration.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    return next((str(r["Value"]) for r in rules if r["Name"] == name), "")


def _overlap(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """Two configurations overlap when some event type and some key could match both."""
    shared = any(_covers(a, b) or _covers(b, a) for a in first["Events"] for b in second["Events"])
    if not shared:
        return False
    p1, p2 = _rule_value(first, "Prefix"), _rule_value(second, "Prefix")
    s1, s2 = _rule_value(first, "Suffix"), _rule_value(second, "Suffix")
    prefixes = p1.startswith(p2) or p2.startswith(p1)
    suffixes = s1.endswith(s2) or s2.endswith(s1)
    return prefixes and suffixes


def _covers(pattern: str, event: str) -> bool:
    """``s3:ObjectCreated:*`` covers ``s3:ObjectCreated:Put``, and every type itself."""
    if pattern == event:
        return True
    return pattern.endswith(":*") and event.startswith(pattern[:-1])


def _new_id() -> str:
    """S3 names an unnamed configuration with a random base64 string."""
    return base64.b64encode(uuid.uuid4().hex.encode()).decode().rstrip("=")


# delivery -----------------------------------------------------------------------------------
def object_exists(conn: sqlite3.Connection, bucket: str, key: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM s3_objects WHERE bucket=? AND object_key=?", (bucket, key)
    ).fetchone()
    return row is not None


def bucket_deliveries(
    conn: sqlite3.Connection,
    bucket: str,
    key: str,
    event_name: str,
    *,
    now: float,
    requester: str,
    size: int | None = None,
    etag: str | None = None,
) -> list[Delivery]:
    """The pushes an object event makes: one per configuration whose event types and key
    filter match. ``event_name`` is S3's (``ObjectCreated:Put``, ``ObjectRemoved:Delete``);
    ``etag`` as S3 returns it (in quotes); ``size`` and ``etag`` only for writes."""
    found = get_bucket(conn, bucket)
    configurations = trigger_rows.bucket_notification(conn, bucket).get(
        "LambdaFunctionConfigurations", []
    )
    if found is None or not configurations:
        return []
    deliveries = []
    for configuration in configurations:
        if not any(_covers(e, f"s3:{event_name}") for e in configuration["Events"]):
            continue
        prefix, suffix = _rule_value(configuration, "Prefix"), _rule_value(configuration, "Suffix")
        if not (key.startswith(prefix) and key.endswith(suffix)):
            continue
        record = _record(found, key, event_name, configuration["Id"], now, requester, size, etag)
        deliveries.append(
            Delivery(
                str(configuration["LambdaFunctionArn"]),
                json.dumps({"Records": [record]}).encode(),
                "s3.amazonaws.com",
                f"arn:aws:s3:::{bucket}",
                found.account,
                "s3",
                {"configuration_id": configuration["Id"], "event_name": event_name, "key": key},
            )
        )
    return deliveries


def _record(
    bucket: BucketRow,
    key: str,
    event_name: str,
    configuration_id: str,
    now: float,
    requester: str,
    size: int | None,
    etag: str | None,
) -> dict[str, Any]:
    """One S3 event record (spec §9): the key URL-encoded with spaces as ``+``; writes
    carry ``size`` and ``eTag``; ``sequencer`` grows with every event."""
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/")}
    if size is not None:
        obj["size"] = size
    if etag is not None:
        obj["eTag"] = etag.strip('"')
    obj["sequencer"] = f"{int(now * 1_000_000):016X}"[-16:] + f"{next(_SEQUENCE) % 256:02X}"
    request = uuid.uuid4()
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": bucket.region,
        "eventTime": iso8601_ms(now),
        "eventName": event_name,
        "userIdentity": {"principalId": f"AWS:{requester}"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {
            "x-amz-request-id": request.hex[:16].upper(),
            "x-amz-id-2": base64.b64encode(hashlib.sha384(request.bytes).digest()).decode(),
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket.name,
                "ownerIdentity": {"principalId": _owner_id(bucket.account)},
                "arn": f"arn:aws:s3:::{bucket.name}",
            },
            "object": obj,
        },
    }


def _owner_id(account: str) -> str:
    """A stand-in for the bucket owner's principal id in events (S3 shows an opaque id)."""
    return "A" + hashlib.sha256(f"owner:{account}".encode()).hexdigest()[:13].upper()
