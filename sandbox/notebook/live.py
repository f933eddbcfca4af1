"""What every live view shares: the records it wants, fed by the bus, and one renderer thread.

Why it exists: a live plot or board must never slow down an invocation. So the bus's
subscriber only appends the record and raises a flag (on the invoking thread), and one
thread per view redraws, at most ``hz`` times a second, when something arrived: bursts of
records coalesce into one frame (notes/jupyter-recipes §6). The timeline, the concurrency
plot, the versions histogram and the pipeline board differ only in what they draw.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.core.telemetry import TelemetryRecord
    from sandbox.service.telemetry import TelemetryBus

__all__ = ["BusFeed"]

log = logging.getLogger(__name__)


class BusFeed:
    """The records of ``bus`` that ``wants`` accepts, from those kept now on; ``render`` is
    called on a thread of its own after new ones arrive (or every ``every`` seconds as
    well, for views that also show what the bus does not carry, such as queue depths).

    Call :meth:`start` after the view drew its first frame; :meth:`stop` before closing it.
    """

    def __init__(
        self,
        bus: TelemetryBus,
        wants: Callable[[TelemetryRecord], bool],
        render: Callable[[], None],
        *,
        hz: float,
        name: str,
        every: float | None = None,
    ) -> None:
        if not 0 < hz <= 10:
            raise ValueError("hz must be in (0, 10]")
        self.period = 1.0 / hz
        self._bus = bus
        self._wants = wants
        self._render = render
        self._every = every
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._records = [r for r in bus.records() if wants(r)]
        self._unsubscribe: Callable[[], None] | None = None
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{name}", daemon=True)

    def start(self) -> None:
        """Subscribe to the bus and start the renderer thread."""
        self._unsubscribe = self._bus.subscribe(self._on_record)
        self._thread.start()

    def records(self) -> list[TelemetryRecord]:
        """A snapshot of the records kept, oldest first."""
        with self._lock:
            return list(self._records)

    def _on_record(self, record: TelemetryRecord) -> None:
        # called on the invoking thread: append and flag, nothing more
        if self._wants(record):
            with self._lock:
                self._records.append(record)
            self._dirty.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._dirty.wait(timeout=self._every if self._every is not None else 0.5)
            if self._stop.is_set():
                break
            if not self._dirty.is_set() and self._every is None:
                continue
            self._dirty.clear()  # records arriving while we draw set it again
            started = time.monotonic()
            try:
                self._render()
            except Exception:
                log.exception("%s: rendering failed", self._thread.name)
            # coalesce: at most one frame per period
            self._stop.wait(max(0.0, self.period - (time.monotonic() - started)))

    def refresh(self) -> None:
        """Redraw on the next tick (e.g. after a change the bus does not carry)."""
        self._dirty.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Unsubscribe and stop the renderer thread (it finishes the frame it draws)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._stop.set()
        self._dirty.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
