"""How an asynchronous event ends (spec §7): its record, its deliveries, its outcome row.

A mixin of :class:`~sandbox.service.asyncqueue.AsyncQueue`: :meth:`AsyncOutcomes._finish`
builds the invocation record, delivers it (and the dead letter) and marks the event
handled, all in one transaction, then tells the telemetry bus.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.core.asyncinvoke import (
    AttemptResponse,
    Condition,
    EventInvokeConfig,
    dlq_error_message,
    invocation_record,
)
from sandbox.core.clock import Clock
from sandbox.core.telemetry import RecordKind
from sandbox.errors import ResourceNotFoundException
from sandbox.service.destinations import Delivery, deliver_dead_letter, deliver_record
from sandbox.service.scope import ResolvedFunction
from sandbox.service.telemetry import TelemetryBus
from sandbox.store.db import Database

if TYPE_CHECKING:
    from sandbox.service.invoke import InvokeService

__all__ = ["AsyncOutcomes", "QueuedEvent"]


@dataclass(slots=True)
class QueuedEvent:
    """An event as a worker holds it while it runs."""

    request_id: str
    account: str
    region: str
    name: str
    qualifier: str | None
    payload: bytes
    received: float
    attempts: int
    throttles: int
    last_response: AttemptResponse | None

    @property
    def function_arn(self) -> str:
        return (
            f"arn:aws:lambda:{self.region}:{self.account}:function:{self.name}:"
            f"{self.qualifier or '$LATEST'}"
        )


class AsyncOutcomes:
    """Writing and finishing events; the queue provides the attributes and ``_wake``."""

    _db: Database
    _bus: TelemetryBus
    _clock: Clock
    _owner: str
    _invoker_for: Callable[[str, str], InvokeService]

    # set by the sandbox: the pushes a delivered record makes in turn (a topic's lambda
    # subscriptions, a bus's rules, a bucket's notifications), computed in the delivery's
    # transaction, and how to send them once it committed
    push_hook: Callable[[sqlite3.Connection, Delivery, float], list[Any]] | None = None
    push_send: Callable[[list[Any]], object] | None = None

    def _insert(
        self,
        conn: sqlite3.Connection,
        account: str,
        region: str,
        name: str,
        qualifier: str | None,
        payload: bytes,
        origin: str,
        request_id: str | None = None,
    ) -> str:
        request_id = request_id or str(uuid.uuid4())
        now = self._clock.time()
        conn.execute(
            "INSERT INTO async_events (request_id, account, region, name, qualifier, payload, "
            "received, due, state, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?)",
            (request_id, account, region, name, qualifier, payload, now, now, origin),
        )
        return request_id

    def _emit_queued(self, account: str, name: str, request_id: str, origin: str) -> None:
        self._bus.emit(
            RecordKind.ASYNC,
            function_name=name,
            request_id=request_id,
            account_id=account,
            detail={"status": "queued", "origin": origin},
        )

    def _wake(self) -> None:
        raise NotImplementedError

    def _drop(self, event: QueuedEvent, reason: str) -> None:
        self._complete(event, "Dropped", {"reason": reason}, [], [])

    def _fail(
        self,
        event: QueuedEvent,
        condition: Condition,
        config: EventInvokeConfig,
        resolved: ResolvedFunction,
    ) -> None:
        self._finish(event, condition, config, resolved)

    def _finish(
        self,
        event: QueuedEvent,
        condition: Condition,
        config: EventInvokeConfig,
        resolved: ResolvedFunction,
    ) -> None:
        """Deliver the record (and the dead letter) and mark the event handled, at once."""
        now = self._clock.time()
        response = (
            event.last_response if condition is not Condition.ZERO_RESERVED_CONCURRENCY else None
        )
        record = invocation_record(
            request_id=event.request_id,
            function_arn=event.function_arn,
            condition=condition,
            approximate_invoke_count=event.attempts,
            request_payload=_decode(event.payload),
            timestamp=now,
            response=response,
        )
        success = condition is Condition.SUCCESS
        destination = config.on_success if success else config.on_failure
        dead_letter = None if success else self._dead_letter_target(event, resolved, response)
        queued: list[tuple[str, str, str]] = []

        def enqueue(
            conn: sqlite3.Connection,
            account: str,
            region: str,
            name: str,
            qualifier: str | None,
            payload: bytes,
            origin: str,
        ) -> str:
            new_id = self._insert(conn, account, region, name, qualifier, payload, origin)
            queued.append((account, name, new_id))
            return new_id

        def deliver(conn: sqlite3.Connection) -> list[Delivery]:
            out: list[Delivery] = []
            if destination:
                out.append(
                    deliver_record(
                        conn,
                        "OnSuccess" if success else "OnFailure",
                        destination,
                        record,
                        function_arn=event.function_arn,
                        function_name=event.name,
                        account_id=event.account,
                        region=event.region,
                        now=now,
                        origin=f"destination of {event.request_id}",
                        enqueue=enqueue,
                    )
                )
            if dead_letter:
                out.append(
                    deliver_dead_letter(
                        conn,
                        dead_letter,
                        event.payload,
                        request_id=event.request_id,
                        error_code="200" if response is not None else "429",
                        error_message=dlq_error_message(response, _no_response(condition)),
                        now=now,
                    )
                )
            return out

        self._complete(event, str(condition), {}, queued, deliver)

    def _complete(
        self,
        event: QueuedEvent,
        outcome: str,
        detail: dict[str, object],
        queued: list[tuple[str, str, str]],
        deliver: Callable[[sqlite3.Connection], list[Delivery]] | list[Delivery],
    ) -> None:
        now = self._clock.time()
        with self._db.transaction(traffic=True) as conn:
            mine = conn.execute(
                "SELECT 1 FROM async_events WHERE request_id=? AND owner=? AND state='running'",
                (event.request_id, self._owner),
            ).fetchone()
            if mine is None:  # the sandbox closed and gave the event back meanwhile
                return
            deliveries = deliver(conn) if callable(deliver) else deliver
            pushes: list[Any] = []
            hook = self.push_hook
            if hook is not None:
                for delivery in deliveries:
                    if delivery.ok and delivery.sent:
                        pushes.extend(hook(conn, delivery, now))
            detail = {**detail, "deliveries": [d.as_dict() for d in deliveries]}
            conn.execute(
                "UPDATE async_events SET state='done', owner=NULL, outcome=?, detail=?, "
                "finished=?, attempts=?, last_response=? WHERE request_id=?",
                (
                    outcome,
                    json.dumps(detail),
                    now,
                    event.attempts,
                    None if event.last_response is None else event.last_response.to_json(),
                    event.request_id,
                ),
            )
        status = {"Success": "succeeded", "Dropped": "dropped"}.get(outcome, "failed")
        self._bus.emit(
            RecordKind.ASYNC,
            function_name=event.name,
            request_id=event.request_id,
            account_id=event.account,
            detail={
                "status": status,
                "condition": outcome,
                "attempts": event.attempts,
                "age": now - event.received,
                **({"reason": detail["reason"]} if "reason" in detail else {}),
            },
        )
        for delivery in deliveries:
            self._bus.emit(
                RecordKind.ASYNC,
                function_name=event.name,
                request_id=event.request_id,
                account_id=event.account,
                detail={
                    "status": "delivered" if delivery.ok else "delivery-failed",
                    **delivery.as_dict(),
                },
            )
        for account, name, new_id in queued:
            self._emit_queued(account, name, new_id, f"destination of {event.request_id}")
        if pushes and self.push_send is not None:
            self.push_send(pushes)
        if queued:
            self._wake()

    def _dead_letter_target(
        self, event: QueuedEvent, resolved: ResolvedFunction, response: AttemptResponse | None
    ) -> str | None:
        """The dead-letter queue of the version that ran (it is version configuration)."""
        config = resolved.config
        if response is not None and response.executed_version != config.version:
            try:
                config = self._invoker_for(
                    event.account, event.region
                ).functions.version_configuration(event.name, response.executed_version)
            except ResourceNotFoundException:
                pass
        return config.dead_letter_target_arn


def _decode(payload: bytes) -> object:
    if not payload:
        return {}
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode(errors="replace")


def _no_response(condition: Condition) -> str:
    if condition is Condition.ZERO_RESERVED_CONCURRENCY:
        return "The function's reserved concurrency is 0: the event was not processed."
    return "The event was throttled until it exceeded its maximum age."
