"""Push triggers: a service invokes a function asynchronously, if the function lets it.

Why it exists: S3 notifications, SNS subscriptions, EventBridge rules and schedules all end
the same way on AWS (spec §7, §8.1): the service calls ``Invoke`` with
``InvocationType=Event``, as its service principal, on behalf of its resource — and Lambda
refuses unless the function's resource-based policy allows exactly that. The
:class:`TriggerDispatcher` is that last step for every push source in the sandbox: it asks
:class:`~sandbox.service.permissions.PermissionService`, invokes through the real async
path (the durable queue, its retries and destinations), and records a ``trigger``
telemetry record either way — ``invoked`` with the request id, ``denied`` or ``failed`` with
the reason — so "my trigger does nothing" has an answer.

The :class:`ScheduleRunner` fires scheduled EventBridge rules on the sandbox clock (a
``FakeClock`` fires them when a test advances it) and re-arms them when a sandbox opens.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sandbox.core.arns import parse_function_name
from sandbox.core.clock import Clock
from sandbox.core.schedules import Schedule, parse_schedule
from sandbox.core.telemetry import RecordKind
from sandbox.errors import SandboxClosedError, SandboxError
from sandbox.service.permissions import PermissionService
from sandbox.service.scheduler import Scheduler, Timer
from sandbox.service.telemetry import TelemetryBus
from sandbox.store import trigger_rows
from sandbox.store.db import Database
from sandbox.store.trigger_rows import RuleRow

if TYPE_CHECKING:  # the runtime is imported on the first invocation, not with the package
    from sandbox.service.invoke import InvokeService

__all__ = [
    "Delivery",
    "ScheduleRunner",
    "TriggerDispatcher",
    "check_input_path",
    "dispatcher_for",
    "resume_schedules",
    "scheduled_event",
    "target_payload",
]

log = logging.getLogger("sandbox.triggers")

InvokerFor = Callable[[str, str], "InvokeService"]
_FUNCTION_ARN = re.compile(r"arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:.+")
_CATCH_UP = 3600.0  # a schedule more than an hour behind skips ahead instead of catching up


class SharedParts(Protocol):
    """What the dispatcher needs of a sandbox's shared state."""

    db: Database
    bus: TelemetryBus
    clock: Clock
    scheduler: Scheduler

    def invoker_for(self, account_id: str, region: str) -> InvokeService: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """One push: ``payload`` (JSON bytes) to ``function_arn``, by ``principal`` (the
    service, e.g. ``s3.amazonaws.com``) on behalf of ``source_arn`` in ``source_account``.
    ``trigger`` names the kind of source (``s3``, ``sns``, ``eventbridge``, ``schedule``);
    ``detail`` adds what the telemetry record should say about it (a rule's target id ...).
    """

    function_arn: str
    payload: bytes
    principal: str
    source_arn: str
    source_account: str
    trigger: str
    detail: Mapping[str, object] = field(default_factory=dict)


class TriggerDispatcher:
    """Delivers pushes to functions: permission check, ``Event`` invoke, telemetry.

    One per sandbox home (every account): get it with :func:`dispatcher_for`.
    """

    def __init__(self, shared: SharedParts) -> None:
        self._db = shared.db
        self._bus = shared.bus
        # weakly: the dispatcher is kept per shared state and must not keep it alive
        self._invoker_for = weakref.WeakMethod(shared.invoker_for)
        self.schedules = ScheduleRunner(shared, self)

    def deliver(self, delivery: Delivery) -> str | None:
        """Invoke the function asynchronously if its policy allows the service; the request
        id, or None when the delivery was denied or failed (recorded either way)."""
        try:
            ref = parse_function_name(
                delivery.function_arn,
                region=_region_of(delivery.function_arn),
                account_id=delivery.source_account,
                namespaced=False,
            )
            permissions = PermissionService(self._db, account_id=ref.account_id, region=ref.region)
            reason = permissions.denial(
                delivery.function_arn,
                delivery.principal,
                delivery.source_arn,
                delivery.source_account,
            )
        except SandboxError as exc:
            self._record(delivery, "failed", reason=str(exc))
            return None
        if reason is not None:
            self._record(delivery, "denied", reason=reason)
            return None
        try:
            invoker_for = self._invoker_for()
            if invoker_for is None:
                raise SandboxClosedError("the sandbox is closed")
            invoker = invoker_for(ref.account_id, ref.region)
            result = invoker.invoke(
                delivery.function_arn, delivery.payload, invocation_type="Event"
            )
        except SandboxError as exc:  # the function went away, the payload is too big ...
            self._record(delivery, "failed", reason=str(exc))
            return None
        self._record(delivery, "invoked", request_id=result.request_id)
        return result.request_id

    def deliver_all(self, deliveries: Sequence[Delivery]) -> list[str | None]:
        return [self.deliver(d) for d in deliveries]

    def _record(
        self, delivery: Delivery, status: str, *, request_id: str = "", reason: str | None = None
    ) -> None:
        parts = delivery.function_arn.split(":")
        detail: dict[str, object] = {
            "status": status,
            "trigger": delivery.trigger,
            "source_arn": delivery.source_arn,
            "principal": delivery.principal,
            "function_arn": delivery.function_arn,
            **delivery.detail,
        }
        if reason is not None:
            detail["reason"] = reason
        self._bus.emit(
            RecordKind.TRIGGER,
            function_name=parts[6] if len(parts) > 6 else delivery.function_arn,
            version=parts[7] if len(parts) > 7 else "",
            request_id=request_id,
            account_id=parts[4] if len(parts) > 4 else "",
            detail=detail,
        )


def _region_of(function_arn: str) -> str:
    parts = function_arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "us-east-1"


def is_function_arn(arn: str) -> bool:
    return bool(_FUNCTION_ARN.fullmatch(arn))


_DISPATCHERS: weakref.WeakKeyDictionary[object, TriggerDispatcher] = weakref.WeakKeyDictionary()
_DISPATCHERS_LOCK = threading.Lock()


def dispatcher_for(shared: SharedParts) -> TriggerDispatcher:
    """The dispatcher of a sandbox's shared state, made on first use."""
    with _DISPATCHERS_LOCK:
        found = _DISPATCHERS.get(shared)
        if found is None:
            found = _DISPATCHERS[shared] = TriggerDispatcher(shared)
        return found


def resume_schedules(shared: SharedParts) -> None:
    """At open: arm the timers of the store's enabled scheduled rules (firings missed while
    no sandbox was open are not made up)."""
    rows = shared.db.query(
        "SELECT 1 FROM event_rules WHERE schedule IS NOT NULL AND state != 'DISABLED' LIMIT 1"
    )
    if rows:
        dispatcher_for(shared).schedules.sync()


# targets ----------------------------------------------------------------------------------
_PATH_STEP = re.compile(r"\.([A-Za-z0-9_$@-]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def check_input_path(path: str) -> list[str | int]:
    """The steps of an ``InputPath`` (a JSONPath: ``$``, ``$.detail.id``, ``$.items[0]``,
    ``$['detail-type']``).

    Raises:
        ValueError: not such a path.
    """
    if not path.startswith("$"):
        raise ValueError("a JSONPath starts with $")
    steps: list[str | int] = []
    position = 1
    while position < len(path):
        match = _PATH_STEP.match(path, position)
        if match is None:
            raise ValueError(f"unexpected {path[position:]!r}")
        name, index, quoted, double = match.groups()
        steps.append(int(index) if index is not None else (name or quoted or double or ""))
        position = match.end()
    return steps


def target_payload(target: Mapping[str, Any], event: Mapping[str, Any]) -> bytes:
    """What an EventBridge target receives: its constant ``Input`` (JSON text), the part of
    the event its ``InputPath`` selects (null when nothing is there), or the whole event."""
    if target.get("Input") is not None:
        return str(target["Input"]).encode()
    if target.get("InputPath") is not None:
        value: Any = event
        for step in check_input_path(str(target["InputPath"])):
            indexed = isinstance(step, int) and isinstance(value, list) and step < len(value)
            named = isinstance(step, str) and isinstance(value, Mapping) and step in value
            if indexed or named:
                value = value[step]
            else:
                value = None
                break
        return json.dumps(value).encode()
    return json.dumps(event).encode()


def scheduled_event(rule: RuleRow, due: float) -> dict[str, object]:
    """The "Scheduled Event" envelope of spec §9 for a firing due at ``due``."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.account,
        "time": datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": rule.region,
        "resources": [rule.arn],
        "detail": {},
    }


def rule_deliveries(
    rule: RuleRow, targets: Sequence[Mapping[str, Any]], event: Mapping[str, Any], trigger: str
) -> list[Delivery]:
    """The pushes one matched (or fired) rule makes: one per Lambda target."""
    return [
        Delivery(
            str(target["Arn"]),
            target_payload(target, event),
            "events.amazonaws.com",
            rule.arn,
            rule.account,
            trigger,
            {"rule": rule.name, "target_id": str(target["Id"]), "event_id": event.get("id")},
        )
        for target in targets
        if is_function_arn(str(target["Arn"]))
    ]


# schedules --------------------------------------------------------------------------------
RuleKey = tuple[str, str, str, str]


@dataclass(slots=True)
class _Armed:
    timer: Timer
    schedule: str
    anchor: float
    due: float


class ScheduleRunner:
    """Timers of the enabled scheduled rules of one sandbox home (every account).

    :meth:`sync` after any rule change (and at open) arms what is new, re-arms what
    changed and cancels what went. A firing is claimed in the store first, so two
    processes sharing a home deliver it once.
    """

    def __init__(self, shared: SharedParts, dispatcher: TriggerDispatcher) -> None:
        self._db = shared.db
        self._clock = shared.clock
        self._scheduler = shared.scheduler
        self._dispatcher = dispatcher
        self._armed: dict[RuleKey, _Armed] = {}
        self._lock = threading.RLock()

    def sync(self) -> None:
        """Bring the timers in line with the store's enabled scheduled rules."""
        with self._db.read() as conn:
            rules = trigger_rows.scheduled_rules(conn)
        with self._lock:
            wanted = {_key(r): r for r in rules}
            for key in list(self._armed):
                armed = self._armed[key]
                rule = wanted.get(key)
                if rule is None or (rule.schedule, rule.anchor) != (armed.schedule, armed.anchor):
                    armed.timer.cancel()
                    del self._armed[key]
            for key, rule in wanted.items():
                if key not in self._armed:
                    start = max(self._clock.time(), rule.last_fired or rule.anchor)
                    self._arm(rule, start)

    def next_due(self, account: str, region: str, bus: str, name: str) -> float | None:
        """When the rule fires next (platform time), or None if it is not armed."""
        with self._lock:
            armed = self._armed.get((account, region, bus, name))
            return None if armed is None else armed.due

    def _arm(self, rule: RuleRow, after: float) -> None:
        schedule = _parsed(rule)
        due = None if schedule is None else schedule.next_after(after, rule.anchor)
        if due is None or schedule is None:
            return
        key = _key(rule)
        timer = self._scheduler.call_at(due, lambda: self._fire(key, due))
        self._armed[key] = _Armed(timer, str(rule.schedule), rule.anchor, due)

    def _fire(self, key: RuleKey, due: float) -> None:
        with self._lock:
            armed = self._armed.get(key)
            if armed is None or armed.due != due:
                return  # cancelled or re-armed meanwhile
        try:
            with self._db.transaction() as conn:
                rule = trigger_rows.get_rule(conn, *key)
                live = rule is not None and rule.enabled and rule.schedule == armed.schedule
                claimed = live and rule is not None and trigger_rows.claim_firing(conn, rule, due)
                targets = trigger_rows.targets(conn, rule) if claimed and rule else []
        except SandboxError:  # the sandbox is closing
            return
        if rule is None or not live:
            with self._lock:
                if self._armed.get(key) is armed:
                    del self._armed[key]
            return
        if claimed:
            event = scheduled_event(rule, due)
            self._dispatcher.deliver_all(rule_deliveries(rule, targets, event, "schedule"))
        with self._lock:
            if self._armed.get(key) is not armed:
                return
            now = self._clock.time()
            self._arm(rule, due if due > now - _CATCH_UP else now)


def _key(rule: RuleRow) -> RuleKey:
    return rule.account, rule.region, rule.bus, rule.name


def _parsed(rule: RuleRow) -> Schedule | None:
    try:
        return parse_schedule(str(rule.schedule))
    except ValueError:  # stored rules were validated; a bad one is skipped, never raised
        log.warning("rule %s has an invalid schedule %r", rule.arn, rule.schedule)
        return None
