"""One platform timeline per store, across sessions.

Everything the store keeps is stamped with platform time: when an async event is due,
when a queue message becomes visible again, when a function was last modified. With a
scaled clock, platform time runs ahead of the wall clock; a new session that started its
clock from the wall clock again would find those stamps hours in its future (a retry due
"in two hours", messages invisible until then). So the store records the timeline — where
platform time was at a real moment, and how fast it ran — and a new session's clock
starts where that timeline has got to by now, at the new session's own speed. The
timeline keeps running while no session is open, at the speed of the last one, as AWS's
time does while your kernel is down.

A clock the caller passes (a ``FakeClock`` in tests) is used as it is.
"""

from __future__ import annotations

import json
import time

from sandbox.core.clock import Clock, RealClock, ScaledClock
from sandbox.store.db import Database

__all__ = ["continue_timeline"]

_KEY = "timeline"


def continue_timeline(db: Database, time_scale: float | None) -> Clock:
    """The clock of a new session on ``db``: real time, or ``time_scale`` times faster,
    never behind the platform time an earlier session reached."""
    scale = float(time_scale) if time_scale else 1.0
    now = time.time()  # the wall clock: what anchors the platform timeline between sessions
    start = now
    rows = db.query("SELECT value FROM meta WHERE key=?", (_KEY,))
    if rows:
        try:
            doc = json.loads(str(rows[0][0]))
            reached = float(doc["platform"]) + (now - float(doc["real"])) * float(doc["scale"])
            start = max(now, reached)
        except (ValueError, KeyError, TypeError):
            pass  # an unreadable anchor: start again from the wall clock
    clock: Clock = RealClock() if scale == 1.0 and start == now else ScaledClock(scale, start=start)
    with db.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            (_KEY, json.dumps({"real": now, "platform": start, "scale": scale})),
        )
    return clock
