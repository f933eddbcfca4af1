"""The telemetry bus: every observable event of the sandbox, in order, in one place.

Records go into a bounded ring (so a long lab does not grow without limit) and to
subscribers. A subscriber that raises is detached and logged, never allowed to break an
invocation (trio's instruments). Plots, widgets, logs, metrics and explanations read only
this bus.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Mapping

from sandbox.core.clock import Clock
from sandbox.core.telemetry import RecordKind, TelemetryRecord

__all__ = ["Subscriber", "TelemetryBus"]

log = logging.getLogger("sandbox.telemetry")
Subscriber = Callable[[TelemetryRecord], None]


class TelemetryBus:
    """A bounded, thread-safe ring of :class:`TelemetryRecord` with subscribers."""

    def __init__(self, clock: Clock, capacity: int = 200_000) -> None:
        self._clock = clock
        self._ring: collections.deque[TelemetryRecord] = collections.deque(maxlen=capacity)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []

    def emit(
        self,
        kind: RecordKind,
        *,
        time: float | None = None,
        detail: Mapping[str, object] | None = None,
        **fields: object,
    ) -> TelemetryRecord:
        """Record something now (or at ``time``) and tell every subscriber."""
        # no lock: count() and deque.append() are atomic, and seq gives the order
        record = TelemetryRecord(
            next(self._seq),
            kind,
            self._clock.time() if time is None else time,
            detail=detail if detail is not None else {},
            **fields,  # type: ignore[arg-type]
        )
        self._ring.append(record)
        for subscriber in self._subscribers:
            try:
                subscriber(record)
            except Exception:
                log.exception("telemetry subscriber %r raised; detaching it", subscriber)
                self.unsubscribe(subscriber)
        return record

    def emit_log(
        self,
        line: str,
        stream: str,
        function_name: str,
        version: str,
        env_id: str,
        request_id: str,
        account_id: str,
    ) -> None:
        """:meth:`emit` of one log line (``detail`` ``line`` and ``stream``), on the hot path
        of every invocation."""
        record = TelemetryRecord(
            next(self._seq),
            RecordKind.LOG,
            self._clock.time(),
            function_name,
            version,
            env_id,
            request_id,
            "",
            "",
            None,
            None,
            account_id,
            {"line": line, "stream": stream},
        )
        self._ring.append(record)
        for subscriber in self._subscribers:
            try:
                subscriber(record)
            except Exception:
                log.exception("telemetry subscriber %r raised; detaching it", subscriber)
                self.unsubscribe(subscriber)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with every new record; returns an unsubscribe function."""
        with self._lock:
            self._subscribers = [*self._subscribers, subscriber]
        return lambda: self.unsubscribe(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers = [s for s in self._subscribers if s is not subscriber]

    def records(
        self,
        *,
        kind: RecordKind | str | None = None,
        function_name: str | None = None,
        request_id: str | None = None,
        env_id: str | None = None,
        since_seq: int = 0,
    ) -> list[TelemetryRecord]:
        """The records kept, oldest first, filtered."""
        with self._lock:
            snapshot: Iterable[TelemetryRecord] = list(self._ring)
        return [
            r
            for r in snapshot
            if r.seq > since_seq
            and (kind is None or r.kind == kind)
            and (function_name is None or r.function_name == function_name)
            and (request_id is None or r.request_id == request_id)
            and (env_id is None or r.env_id == env_id)
        ]

    def rows(self, **filters: object) -> list[dict[str, object]]:
        """:meth:`records` as flat dicts, one per row (a table for people and pandas)."""
        return [r.as_row() for r in self.records(**filters)]  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._ring)
