""" "Why did this happen?" for one request, read from the telemetry bus.

Every invocation record carries whether it was a cold start and its machine-readable cause
(:data:`~sandbox.core.lifecycle.COLD_CAUSES`); every throttle record names the limit that
struck and its value. :func:`explain` turns them into one :class:`Explanation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.core.lifecycle import COLD_CAUSES
from sandbox.core.telemetry import RecordKind, TelemetryRecord
from sandbox.service.telemetry import TelemetryBus

__all__ = ["Explanation", "explain"]


@dataclass(frozen=True, slots=True)
class Explanation:
    """What happened to a request and why.

    Attributes:
        request_id: the request.
        outcome: ``throttled``, ``cold-start``, ``warm-start``, ``provisioned`` or
            ``unknown``.
        cause: a machine-readable cause (a key of ``COLD_CAUSES``, a throttle limit such as
            ``reserved`` or ``account``, or ``warm``).
        sentence: the same, for people.
        details: the numbers behind it (limit values, environment, version ...).
    """

    request_id: str
    outcome: str
    cause: str
    sentence: str
    details: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.sentence

    def _repr_markdown_(self) -> str:
        return f"**{self.outcome}** (`{self.cause}`): {self.sentence}"


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _throttle(request_id: str, record: TelemetryRecord) -> Explanation:
    d = record.detail
    limit, value = str(d.get("limit")), d.get("limit_value")
    reason = d.get("reason")
    if limit == "reserved" and value == 0:
        text = "the function's reserved concurrency is 0, which throttles every request"
    elif limit == "reserved" and isinstance(value, int) and _int(d.get("provisioned")) >= value:
        text = (
            f"the function's reserved concurrency ({value}) is all taken by its provisioned "
            f"concurrency ({d.get('provisioned')}), which leaves nothing for on-demand requests"
        )
    elif limit == "reserved":
        text = (
            f"the function's reserved concurrency ({value}) was fully in use "
            f"({d.get('in_flight')} requests in flight)"
        )
    elif limit == "account":
        text = (
            f"the account's unreserved concurrency was fully in use (quota {value}, less "
            "what other functions reserve or provision)"
        )
    elif limit == "scaling-rate":
        text = f"the function may add at most {value} new environments per scaling period"
    elif limit == "request-rate":
        text = f"more than {value} requests arrived in one second"
    elif limit == "max-environments":
        text = (
            f"the sandbox holds at most {value} execution environments (max_environments) "
            "and every one was busy, so there was no room to start another"
        )
    else:
        text = f"the {limit} limit ({value}) was reached"
    return Explanation(
        request_id,
        "throttled",
        limit,
        f"Throttled with TooManyRequestsException ({reason}): {text}.",
        {
            "reason": reason,
            "limit": limit,
            "limit_value": value,
            "function_name": record.function_name,
            "qualifier": d.get("qualifier"),
        },
    )


_CONDITIONS = {
    "Success": "it succeeded",
    "RetriesExhausted": "every attempt failed and no retry was left",
    "EventAgeExceeded": "it grew older than its maximum event age before it could succeed",
    "ZeroReservedConcurrency": "the function's reserved concurrency is 0, so it never ran",
    "Dropped": "it could not be run any more",
}


def _asynchronous(request_id: str, records: list[TelemetryRecord]) -> Explanation:
    """The story of an asynchronous event: its attempts, retries and deliveries."""
    steps: list[str] = []
    retries = 0
    outcome, cause = "async-pending", "queued"
    details: dict[str, object] = {"function_name": records[0].function_name}
    t0 = records[0].time
    for r in records:
        d = r.detail
        status = d.get("status")
        at = f"+{r.time - t0:.0f} s"
        if status == "retry":
            retries += 1
            due = d.get("due")
            wait = f"{float(due) - r.time:.0f} s" if isinstance(due, (int, float)) else "later"
            steps.append(f"{at}: {d.get('reason')}, tried again after {wait}")
        elif status in ("succeeded", "failed", "dropped"):
            cause = str(d.get("condition"))
            outcome = {"succeeded": "async-success", "failed": "async-failure"}.get(
                str(status), "async-dropped"
            )
            why = _CONDITIONS.get(cause, cause)
            extra = f" ({d.get('reason')})" if d.get("reason") else ""
            steps.append(
                f"{at}: handled as {cause} after {d.get('attempts')} invocation(s): {why}{extra}"
            )
            details.update(attempts=d.get("attempts"), age=d.get("age"), condition=cause)
        elif status in ("delivered", "delivery-failed"):
            verb = "sent to" if status == "delivered" else "could not be delivered to"
            steps.append(f"{at}: the record was {verb} {d.get('target')} {d.get('destination')}")
    details["retries_scheduled"] = retries
    if outcome == "async-pending":
        steps.append("still in the queue")
    return Explanation(
        request_id,
        outcome,
        cause,
        "Asynchronous event, queued (202); " + "; ".join(steps) + ".",
        details,
    )


def _reclaims(records: list[TelemetryRecord]) -> str:
    """Idle environments shut down to make room for this request (max_environments)."""
    gone = [
        r
        for r in records
        if r.kind is RecordKind.ENV_STATE and r.detail.get("state") == "reclaimed"
    ]
    if not gone:
        return ""
    which = ", ".join(
        f"{r.env_id} of {r.function_name} (idle {r.detail.get('idle_s')} s)" for r in gone
    )
    cap = gone[0].detail.get("max_environments")
    return (
        f" To make room, the sandbox (max_environments {cap}) reclaimed the longest-idle "
        f"environment(s): {which}."
    )


def explain(bus: TelemetryBus, request_id: str) -> Explanation:
    """Why the request ran cold or warm, or why it was throttled; for an asynchronous
    event, what became of it."""
    records = bus.records(request_id=request_id)
    queue_records = [r for r in records if r.kind is RecordKind.ASYNC]
    if queue_records:
        return _asynchronous(request_id, queue_records)
    for record in records:
        if record.kind is RecordKind.THROTTLE:
            return _throttle(request_id, record)
    for record in records:
        if record.kind is not RecordKind.INVOCATION or record.detail.get("status") == "queued":
            continue
        d = record.detail
        details: dict[str, object] = {
            "function_name": record.function_name,
            "version": record.version,
            "env_id": record.env_id,
            "init_type": record.init_type,
            "spillover": d.get("spillover", False),
            "status": d.get("status"),
        }
        if d.get("cold"):
            cause = str(d.get("cold_reason") or "no-idle-environment")
            text = COLD_CAUSES.get(cause, cause)
            return Explanation(
                request_id,
                "cold-start",
                cause,
                f"Cold start in environment {record.env_id}: {text}.{_reclaims(records)}",
                details,
            )
        if record.init_type == "provisioned-concurrency":
            return Explanation(
                request_id,
                "provisioned",
                "provisioned",
                f"Served by provisioned environment {record.env_id}, initialised ahead of "
                "time: no cold start.",
                details,
            )
        spill = " (its provisioned environments were all busy)" if d.get("spillover") else ""
        return Explanation(
            request_id,
            "warm-start",
            "warm",
            f"Warm start: idle environment {record.env_id} was reused{spill}.",
            details,
        )
    return Explanation(
        request_id,
        "unknown",
        "unknown",
        "No record of this request (unknown id, or older than the ring).",
    )
