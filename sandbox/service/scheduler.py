"""Timers on the sandbox clock: "call this when platform time reaches t".

Keep-alive expiry now, retry backoff and schedules later: every platform delay is a timer
here, so a :class:`~sandbox.core.clock.ScaledClock` compresses them all and a
:class:`~sandbox.core.clock.FakeClock` fires them exactly when a test advances it.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable

from sandbox.core.clock import Clock, FakeClock

__all__ = ["Scheduler", "Timer"]

log = logging.getLogger("sandbox.scheduler")


class Timer:
    """A handle on a scheduled call; :meth:`cancel` it if it is no longer wanted."""

    __slots__ = ("callback", "cancelled", "due")

    def __init__(self, due: float, callback: Callable[[], None]) -> None:
        self.due = due
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    """One thread that runs callbacks when the clock reaches their due time."""

    def __init__(self, clock: Clock, *, max_real_wait: float = 0.5) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, Timer]] = []
        self._counter = itertools.count()
        self._cv = threading.Condition()
        self._closed = False
        self._max_real_wait = max_real_wait
        self._thread = threading.Thread(
            target=self._loop, name="lambda-sandbox-scheduler", daemon=True
        )
        self._thread.start()
        if isinstance(clock, FakeClock):
            threading.Thread(
                target=self._watch_fake_clock,
                args=(clock,),
                daemon=True,
                name="lambda-sandbox-clock-watch",
            ).start()

    def call_at(self, due: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(due, callback)
        with self._cv:
            heapq.heappush(self._heap, (due, next(self._counter), timer))
            self._cv.notify()
        return timer

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` after ``delay`` seconds of platform time."""
        return self.call_at(self._clock.time() + delay, callback)

    def poke(self) -> None:
        """Re-check due timers now (after a fake clock moved)."""
        with self._cv:
            self._cv.notify()

    def _watch_fake_clock(self, clock: FakeClock) -> None:
        while not self._closed:
            clock.wait_for_change(0.5)
            self.poke()

    def _loop(self) -> None:
        while True:
            with self._cv:
                while True:
                    if self._closed:
                        return
                    while self._heap and self._heap[0][2].cancelled:
                        heapq.heappop(self._heap)
                    now = self._clock.time()
                    if self._heap and self._heap[0][0] <= now:
                        _, _, timer = heapq.heappop(self._heap)
                        break
                    wait = self._max_real_wait
                    if self._heap:
                        wait = min(wait, self._clock.real_delay(self._heap[0][0] - now))
                    self._cv.wait(wait)
            try:
                timer.callback()
            except Exception:
                log.exception("scheduled callback %r failed", timer.callback)

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(2.0)
