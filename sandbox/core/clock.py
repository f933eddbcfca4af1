"""The sandbox's one source of platform time.

Every platform delay — keep-alive expiry, retry backoff, event age, batching windows,
schedules — reads a :class:`Clock`, never the wall clock directly (STYLE.md, "Time"). A
:class:`ScaledClock` compresses platform time so a lab can show a 2-minute retry backoff in
two seconds; :class:`FakeClock` (public in :mod:`sandbox.testing`) lets tests jump instead
of sleeping. Handler execution and function timeouts always run in real time.

The clock only *tells* time and converts platform delays into real waiting time; waiting
itself (condition variables, timers) is the service layer's job.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "RealClock", "ScaledClock", "iso8601", "iso8601_ms"]


@runtime_checkable
class Clock(Protocol):
    """Platform time. ``time()`` is epoch seconds on the sandbox's timeline."""

    def time(self) -> float:
        """Seconds since the epoch, on the sandbox's (possibly scaled) timeline."""
        ...

    def real_delay(self, platform_seconds: float) -> float:
        """How many real seconds to wait so that ``platform_seconds`` pass on this clock;
        ``float('inf')`` when only an explicit advance moves time (fake clocks)."""
        ...


class RealClock:
    """Wall-clock time: platform delays last as long as on AWS."""

    time_scale = 1.0

    def time(self) -> float:
        return time.time()

    def real_delay(self, platform_seconds: float) -> float:
        return max(0.0, platform_seconds)

    def __repr__(self) -> str:
        return "RealClock()"


class ScaledClock:
    """Platform time runs ``time_scale`` times faster than real time.

    With ``time_scale=60`` a one-minute retry backoff takes one real second, and
    timestamps move a minute per second from the moment the clock was made.
    """

    def __init__(self, time_scale: float, *, start: float | None = None) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = float(time_scale)
        self._real0 = time.monotonic()
        self._epoch0 = time.time() if start is None else start

    def time(self) -> float:
        return self._epoch0 + (time.monotonic() - self._real0) * self.time_scale

    def real_delay(self, platform_seconds: float) -> float:
        return max(0.0, platform_seconds) / self.time_scale

    def __repr__(self) -> str:
        return f"ScaledClock(time_scale={self.time_scale})"


class FakeClock:
    """A clock that moves only when told to: ``advance(seconds)`` or ``set(epoch)``.

    Waiters in the service layer use :meth:`wait_for_change` so that an advance wakes them
    at once; no test ever sleeps through a backoff.
    """

    time_scale = float("inf")

    def __init__(self, start: float = 1_736_064_000.0) -> None:  # 2025-01-05T08:00:00Z
        self._now = float(start)
        self._changed = threading.Condition()

    def time(self) -> float:
        with self._changed:
            return self._now

    def real_delay(self, platform_seconds: float) -> float:
        return 0.0 if platform_seconds <= 0 else float("inf")

    def advance(self, seconds: float) -> float:
        """Move time forward and wake every waiter; returns the new time."""
        if seconds < 0:
            raise ValueError("a FakeClock never goes backwards")
        with self._changed:
            self._now += seconds
            self._changed.notify_all()
            return self._now

    def set(self, epoch: float) -> None:
        with self._changed:
            if epoch < self._now:
                raise ValueError("a FakeClock never goes backwards")
            self._now = epoch
            self._changed.notify_all()

    def wait_for_change(self, timeout: float) -> None:
        """Block until the next advance, or ``timeout`` real seconds."""
        with self._changed:
            self._changed.wait(timeout)

    def __repr__(self) -> str:
        return f"FakeClock({self._now!r})"


def iso8601(epoch: float) -> str:
    """``2025-01-05T08:00:00.000+0000``: the LastModified format of the Lambda API."""
    dt = datetime.fromtimestamp(epoch, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def iso8601_ms(epoch: float) -> str:
    """``2025-01-05T08:00:00.000Z``: the timestamp format of event records."""
    dt = datetime.fromtimestamp(epoch, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
