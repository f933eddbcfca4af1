"""A local Amazon EventBridge: event buses that take events, keep what they received, and
route them by rule to functions.

Why it exists: a Lambda destination can be an event bus, where the invocation record
arrives as an event's ``detail`` with ``source: "lambda"``; and a bus's rules are how
EventBridge triggers functions (:mod:`sandbox.resources.rules`). Every account and region
has a bus named ``default``; custom buses are created by name. What a bus received (its
last 1,000 events, full envelopes) can be read back with the sandbox-only :meth:`received`.

Not yet: archives, replays, partner event sources and resource policies; events that a
Lambda destination puts on a bus are recorded but not routed by its rules.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, ClassVar

from sandbox.resources import errors
from sandbox.resources.client import ResourceClient
from sandbox.resources.errors import (
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ValidationException,
)
from sandbox.resources.rules import RulesMixin, route_event
from sandbox.service.triggers import Delivery
from sandbox.store import resource_admin as admin
from sandbox.store import resources, trigger_rows
from sandbox.store.resource_rows import BusRow, ResourceRef, get_bus, parse_arn

__all__ = ["EventBridgeClient"]

# EventBridge API reference: CreateEventBus Name, and EventBusNameOrArn elsewhere
_NAME_PATTERN = r"[/\.\-_A-Za-z0-9]+"
_NAME = re.compile(_NAME_PATTERN)
_MAX_REQUEST_BYTES = 262_144  # PutEvents: "The total entry size must be less than 256KB"


class EventBridgeClient(RulesMixin, ResourceClient):
    """Amazon EventBridge for one account and region: boto3's ``events`` client in
    snake_case. A bus is named by its name or its ARN wherever a call takes one.

    ``triggers`` delivers what rules match (and schedules fire) to functions; without one
    (a client made on its own) events are recorded and routed nowhere.

    Example:
        >>> sb.eventbridge.put_events(  # doctest: +SKIP
        ...     [{"Source": "shop", "DetailType": "Order", "Detail": '{"id": 1}'}]
        ... )["FailedEntryCount"]
        0
    """

    exceptions: ClassVar[ModuleType] = errors
    """The exception classes, as boto3's ``client.exceptions``."""

    # buses ----------------------------------------------------------------------------------
    def create_event_bus(self, name: str, description: str | None = None) -> dict[str, str]:
        """Create a custom event bus.

        Raises:
            ValidationException: a bad name (names starting with ``aws.`` belong to partner
                event sources, which the sandbox does not have).
            ResourceAlreadyExistsException: the bus exists (``default`` always does).
        """
        _check_name(name, "name", 256)
        if name.startswith("aws."):
            raise ValidationException(
                f"Event bus name {name} is reserved for partner event sources, which the "
                "sandbox does not have."
            )
        ref = ResourceRef("events", self.account_id, self.region, name)
        with self._db.transaction() as conn:
            if get_bus(conn, ref) is not None:
                raise ResourceAlreadyExistsException(f"Event bus {name} already exists.")
            admin.create_bus(conn, ref, description, self._clock.time())
        answer = {"EventBusArn": ref.arn}
        if description is not None:
            answer["Description"] = description
        return answer

    def describe_event_bus(self, name: str = "default") -> dict[str, Any]:
        """The bus's ``Name`` and ``Arn`` (and for a custom bus its ``Description``,
        ``CreationTime`` and ``LastModifiedTime``).

        Raises:
            ResourceNotFoundException: no such bus.
        """
        with self._db.read() as conn:
            bus = self._bus(conn, name)
        return _describe(bus)

    def list_event_buses(self, name_prefix: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """The account's buses in this region, ``default`` included, by name."""
        with self._db.read() as conn:
            buses = admin.list_buses(conn, self.account_id, self.region)
        prefix = name_prefix or ""
        return {"EventBuses": [_describe(b) for b in buses if b.ref.name.startswith(prefix)]}

    def delete_event_bus(self, name: str) -> None:
        """Delete a custom bus, what it received, and its rules. Deleting a bus that does
        not exist is not an error, as on EventBridge.

        Raises:
            ValidationException: the ``default`` bus cannot be deleted.
        """
        _check_name(name, "name", 256)
        if name == "default":
            raise ValidationException("Cannot delete event bus default.")
        ref = ResourceRef("events", self.account_id, self.region, name)
        with self._db.transaction() as conn:
            admin.delete_bus(conn, ref)
            trigger_rows.delete_rules_of_bus(conn, *ref.key)

    # events ---------------------------------------------------------------------------------
    def put_events(self, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Put 1-10 events, each ``{"Source", "DetailType", "Detail" (a JSON object as
        text), "EventBusName"? (name or ARN, default ``default``), "Resources"?, "Time"?}``.

        Each entry succeeds or fails on its own (``ErrorCode``/``ErrorMessage`` in its
        place of ``Entries``). An entry for a bus that does not exist gets an ``EventId``
        and goes nowhere, as EventBridge does today (aws/aws-cli issue #9186). Once the
        events are stored, every enabled rule of their bus whose pattern matches sends the
        event to its targets (asynchronous invocations).

        Raises:
            ValidationException: no entries or more than 10, or entries over 256 KiB.
        """
        entries = list(entries)
        if not 1 <= len(entries) <= 10:
            bound = "greater than or equal to 1" if not entries else "less than or equal to 10"
            raise ValidationException(
                "1 validation error detected: Value at 'entries' failed to satisfy "
                f"constraint: Member must have length {bound}"
            )
        if sum(_entry_size(e) for e in entries) > _MAX_REQUEST_BYTES:
            raise ValidationException("Total size of the entries in the request is over the limit.")
        results: list[dict[str, str]] = []
        routed: list[Delivery] = []
        with self._db.transaction() as conn:
            now = self._clock.time()
            for entry in entries:
                results.append(self._put(conn, entry, now, routed))
        if self._triggers is not None:
            self._triggers.deliver_all(routed)
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}

    def received(self, event_bus_name: str = "default") -> list[dict[str, Any]]:
        """Sandbox extra (EventBridge has no such call): the full event envelopes the bus
        received, oldest first, at most the last 1,000.

        Raises:
            ResourceNotFoundException: no such bus.
        """
        with self._db.read() as conn:
            bus = self._bus(conn, event_bus_name)
            return admin.received_events(conn, bus.ref)

    # helpers --------------------------------------------------------------------------------
    def _put(
        self,
        conn: sqlite3.Connection,
        entry: Mapping[str, Any],
        now: float,
        routed: list[Delivery],
    ) -> dict[str, str]:
        """One PutEvents entry: its EventId, or its error (PutEvents API reference); the
        pushes its bus's rules make go on ``routed``."""
        for member in ("Source", "DetailType", "Detail"):
            if not entry.get(member):
                return _failed(
                    "InvalidArgument",
                    f"Parameter {member} is not valid. Reason: {member} is a required argument.",
                )
        try:
            detail = json.loads(str(entry["Detail"]))
        except ValueError:
            detail = None
        if not isinstance(detail, dict):
            return _failed("MalformedDetail", "Detail is malformed.")
        source = str(entry["Source"])
        if source.startswith("aws."):  # AWS service sources are AWS's alone
            return _failed("NotAuthorizedForSourceException", "Not authorized for the source.")
        ref = self._ref(str(entry.get("EventBusName") or "default"))
        event: dict[str, object] = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": str(entry["DetailType"]),
            "source": source,
            "account": self.account_id,
            "time": _event_time(entry.get("Time"), now),
            "region": self.region,
            "resources": [str(r) for r in entry.get("Resources") or []],
            "detail": detail,
        }
        if ref is not None and get_bus(conn, ref) is not None:
            resources.put_event(conn, ref.arn, event, now=now)
            routed.extend(route_event(conn, *ref.key, event))
        return {"EventId": str(event["id"])}

    def _ref(self, name_or_arn: str) -> ResourceRef | None:
        if name_or_arn.startswith("arn:"):
            ref = parse_arn(name_or_arn)
            return ref if ref is not None and ref.service == "events" else None
        if not _NAME.fullmatch(name_or_arn):
            return None
        return ResourceRef("events", self.account_id, self.region, name_or_arn)

    def _bus(self, conn: sqlite3.Connection, name_or_arn: str) -> BusRow:
        _check_name(name_or_arn, "name", 1600)
        ref = self._ref(name_or_arn)
        bus = None if ref is None else get_bus(conn, ref)
        if bus is None:
            name = ref.name if ref is not None else name_or_arn
            raise ResourceNotFoundException(f"Event bus {name} does not exist.")
        return bus

    def __repr__(self) -> str:
        return f"<EventBridgeClient {self.account_id} {self.region}>"


def _check_name(name: str, member: str, longest: int) -> None:
    if not isinstance(name, str) or not 1 <= len(name) <= longest:
        raise ValidationException(
            f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy "
            f"constraint: Member must have length less than or equal to {longest}"
        )
    if not name.startswith("arn:") and not _NAME.fullmatch(name):
        raise ValidationException(
            f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {_NAME_PATTERN}"
        )


def _failed(code: str, message: str) -> dict[str, str]:
    return {"ErrorCode": code, "ErrorMessage": message}


def _describe(bus: BusRow) -> dict[str, Any]:
    shape: dict[str, Any] = {"Name": bus.ref.name, "Arn": bus.ref.arn}
    if bus.description is not None:
        shape["Description"] = bus.description
    if bus.created is not None and bus.last_modified is not None:
        shape["CreationTime"] = datetime.fromtimestamp(bus.created, UTC)
        shape["LastModifiedTime"] = datetime.fromtimestamp(bus.last_modified, UTC)
    return shape


def _event_time(given: object, now: float) -> str:
    """The envelope's ``time``: whole seconds, UTC, ``Z`` (the entry's Time, else now)."""
    if isinstance(given, datetime):
        moment = given if given.tzinfo else given.replace(tzinfo=UTC)
    elif isinstance(given, int | float):
        moment = datetime.fromtimestamp(given, UTC)
    else:
        moment = datetime.fromtimestamp(now, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry_size(entry: Mapping[str, Any]) -> int:
    """An entry's size as the PutEvents documentation counts it ("Calculating PutEvents
    event entry size"): 14 bytes for a Time, plus the UTF-8 bytes of Source, DetailType,
    Detail and each Resource."""
    size = 14 if entry.get("Time") is not None else 0
    for member in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(member) or "").encode())
    size += sum(len(str(r).encode()) for r in entry.get("Resources") or [])
    return size
