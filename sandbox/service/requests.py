"""An invocation as an execution environment sees it: the request, the invocation in
flight, and what it produced before it becomes an ``InvokeResult``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["EnvironmentRequest", "InFlight", "LogSink", "RawResult"]

LogSink = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class EnvironmentRequest:
    """One invocation as the environment receives it."""

    request_id: str
    payload: bytes
    invoked_arn: str
    client_context: dict[str, object] | None = None
    sink: LogSink | None = None
    qualifier: str | None = None
    invocation_type: str = "RequestResponse"
    spillover: bool = False  # its qualifier's provisioned environments were all busy


@dataclass(slots=True)
class InFlight:
    """An invocation handed to an environment's process and not finished yet."""

    request: EnvironmentRequest
    lines: list[str]
    log: LogSink
    t0: float
    start: float
    init_ms: float | None
    cold: bool
    timeout_s: float


@dataclass(frozen=True, slots=True)
class RawResult:
    """What an invocation produced, before it becomes an ``InvokeResult``."""

    body: bytes
    function_error: str | None
    lines: tuple[str, ...]
    status: str  # success | error | timeout | failure (Telemetry API names)
    error_type: str | None
    duration_ms: float
    cold: bool
    reset: bool
