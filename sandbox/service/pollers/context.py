"""What every poller needs: the store, the clock, the bus, a way to invoke, a way to wait."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.core.clock import Clock
from sandbox.core.mappings import EventSourceMapping
from sandbox.core.telemetry import RecordKind
from sandbox.service.telemetry import TelemetryBus
from sandbox.store.db import Database

if TYPE_CHECKING:
    from sandbox.service.invoke import InvokeService

__all__ = ["PollerContext"]

MAX_REAL_WAIT = 0.05  # a poller re-checks the clock at least this often (fake clocks move)


@dataclass
class PollerContext:
    db: Database
    clock: Clock
    bus: TelemetryBus
    invoker_for: Callable[[str, str], InvokeService]

    def wait(self, platform_seconds: float, stop: threading.Event) -> bool:
        """Wait up to ``platform_seconds`` of platform time (at most a short real pause, so
        a caller re-checks the clock); True if ``stop`` was set."""
        real = min(MAX_REAL_WAIT, self.clock.real_delay(max(platform_seconds, 0.0)))
        return stop.wait(real)

    def emit(self, mapping: EventSourceMapping, request_id: str = "", **detail: Any) -> None:
        """A POLL record about ``mapping``."""
        self.bus.emit(
            RecordKind.POLL,
            function_name=mapping.function_arn.split(":")[6],
            request_id=request_id,
            account_id=mapping.account_id,
            detail={"mapping": mapping.uuid, "source": mapping.event_source_arn, **detail},
        )
