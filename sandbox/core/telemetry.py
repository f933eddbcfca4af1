"""Telemetry records: one shape for every observable thing the sandbox does.

Every environment state change, every lifecycle phase (INIT, INVOKE, SHUTDOWN ...) and
every invocation is a :class:`TelemetryRecord` on one bus; plots, widgets, logs, metrics
and explanations read only these (ARCHITECTURE.md, "Observability").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Phase", "RecordKind", "TelemetryRecord"]


class RecordKind(StrEnum):
    ENV_STATE = "env.state"  # an environment changed state (instant)
    PHASE = "phase"  # a lifecycle phase of an environment (span: start..end)
    INVOCATION = "invocation"  # one request's outcome (span)
    LOG = "log"  # a log line (instant)
    THROTTLE = "throttle"  # a request refused by a concurrency or rate limit (instant)
    ASYNC = "async"  # an asynchronous event queued, retried, handled or delivered (instant)
    TRIGGER = "trigger"  # a service (topic, bucket, rule, schedule, URL) invoked a function
    POLL = "poll"  # an event source mapping polled, formed a batch, or settled its records


class Phase(StrEnum):
    """Lifecycle phases, as the Telemetry API names them (spec §1.1, §2.3)."""

    INIT = "init"
    EXTENSION_INIT = "extension-init"
    RUNTIME_INIT = "runtime-init"
    FUNCTION_INIT = "function-init"
    INVOKE = "invoke"
    POST_INVOKE = "post-runtime-extensions"  # extensions still busy after the response
    IDLE = "idle"
    SHUTDOWN = "shutdown"


@dataclass(frozen=True, slots=True)
class TelemetryRecord:
    """One record. ``time`` is platform time (the sandbox clock, epoch seconds); spans
    also carry ``end`` and their real ``duration_ms``.

    ``detail`` holds kind-specific values: for invocations ``status`` (success, error,
    timeout, failure), ``error_type``, ``cold``, ``executed_version``,
    ``invocation_type``; for state changes ``state`` and ``reason``.
    """

    seq: int
    kind: RecordKind
    time: float
    function_name: str = ""
    version: str = ""
    env_id: str = ""
    request_id: str = ""
    phase: str = ""
    init_type: str = ""
    end: float | None = None
    duration_ms: float | None = None
    account_id: str = ""
    detail: Mapping[str, object] = field(default_factory=dict)

    def as_row(self) -> dict[str, object]:
        """A flat dict (one table row): the fixed fields, then ``detail``'s."""
        row: dict[str, object] = {
            "seq": self.seq,
            "kind": str(self.kind),
            "time": self.time,
            "end": self.end,
            "duration_ms": self.duration_ms,
            "function_name": self.function_name,
            "version": self.version,
            "env_id": self.env_id,
            "request_id": self.request_id,
            "phase": self.phase,
            "init_type": self.init_type,
            "account_id": self.account_id,
        }
        row.update(self.detail)
        return row
