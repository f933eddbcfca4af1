"""The asynchronous invocation queue (spec §7): durable, retried, delivered.

``invoke(..., invocation_type="Event")`` stores the event in the embedded store and
answers 202 only after the write committed. A dispatcher thread hands due events to a
few workers, which run them through the normal synchronous path (admission, an
environment, the handler). Then, for each attempt:

* success → done; the record goes to the ``OnSuccess`` destination;
* a function error → retried after ~1 min, then ~2 min, up to ``MaximumRetryAttempts``
  (default 2), then ``RetriesExhausted``;
* a throttle or a system error → back in the queue with a backoff of 1 s doubling to
  5 min; it uses up no retry;
* older than ``MaximumEventAgeInSeconds`` (default 6 h) → ``EventAgeExceeded``;
* reserved concurrency 0 → ``ZeroReservedConcurrency`` at once, no invocation;
* a failure goes to the ``OnFailure`` destination and to the version's dead-letter queue
  (both, when both are set); a deleted function drops the event with its reason.

Every event ends in exactly one of those, in the same transaction as its deliveries. All
delays are platform time on the sandbox clock (``time_scale`` compresses them; a
``FakeClock`` fires them when a test advances it). After a kernel restart the events that
were queued, waiting for a retry, or running in the process that died, carry on — so a
handler may run more than once (at-least-once, as on AWS), but every event is handled
once. Everything is on the telemetry bus as ``async`` records.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.core.asyncinvoke import (
    AttemptResponse,
    Condition,
    failure_backoff,
    retry_delay,
)
from sandbox.core.clock import Clock
from sandbox.core.invocation import InvokeResult
from sandbox.core.telemetry import RecordKind
from sandbox.errors import (
    InvalidRuntimeException,
    LambdaError,
    ResourceNotFoundException,
    SandboxClosedError,
    SandboxError,
    TooManyRequestsException,
)
from sandbox.service.asyncoutcomes import AsyncOutcomes, QueuedEvent
from sandbox.service.scheduler import Scheduler, Timer
from sandbox.service.scope import ResolvedFunction
from sandbox.service.telemetry import TelemetryBus
from sandbox.store.db import Database

if TYPE_CHECKING:  # without an import cycle
    from sandbox.service.invoke import InvokeService

__all__ = ["AsyncQueue"]

log = logging.getLogger("sandbox.async")

InvokerFor = Callable[[str, str], "InvokeService"]
_LIVE_OWNERS: set[str] = set()  # queues open in this process


class AsyncQueue(AsyncOutcomes):
    """The queue of ``Event`` invocations of one sandbox home (every account).

    Args:
        db: the embedded store, where the events live.
        bus: where ``async`` records go.
        clock: platform time.
        scheduler: wakes the dispatcher when the next retry is due (fake clocks too).
        invoker_for: the invoke service of an (account, region).
        workers: events run at once.
    """

    def __init__(
        self,
        db: Database,
        bus: TelemetryBus,
        clock: Clock,
        scheduler: Scheduler,
        invoker_for: InvokerFor,
        *,
        workers: int = 16,
    ) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock
        self._scheduler = scheduler
        self._invoker_for = invoker_for
        self._workers = workers
        self._owner = f"{os.getpid()}:{uuid.uuid4().hex[:12]}"
        _LIVE_OWNERS.add(self._owner)
        self._cv = threading.Condition()
        self._wake_flag = False
        self._in_flight = 0
        self._closed = False
        self._timer: Timer | None = None
        self._work: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.recovered = self._recover()
        self._threads = [
            threading.Thread(target=self._dispatch, name="lambda-sandbox-async", daemon=True)
        ] + [
            threading.Thread(target=self._run_worker, name=f"lambda-sandbox-async-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    # producing ----------------------------------------------------------------------------
    def submit(self, resolved: ResolvedFunction, body: bytes, request_id: str) -> None:
        """Store an event (committed before this returns, so before the 202)."""
        ref = resolved.ref
        with self._db.transaction(traffic=True) as conn:
            self._insert(
                conn,
                ref.account_id,
                ref.region,
                ref.name,
                ref.qualifier,
                body,
                "invoke",
                request_id,
            )
        self._emit_queued(ref.account_id, ref.name, request_id, "invoke")
        self._wake()

    # waiting ------------------------------------------------------------------------------
    def pending(self) -> int:
        """Events not yet handled (queued, waiting for a retry, or running)."""
        rows = self._db.query("SELECT COUNT(*) FROM async_events WHERE state != 'done'")
        count: Any = rows[0][0]
        return int(count)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every event is handled; False when ``timeout`` (real seconds) passed
        first — events waiting for a retry keep ``drain`` waiting until they are due."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.pending():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            with self._cv:
                self._cv.wait(0.05 if remaining is None else min(remaining, 0.05))
        return True

    # the dispatcher -----------------------------------------------------------------------
    def _wake(self) -> None:
        with self._cv:
            self._wake_flag = True
            self._cv.notify_all()

    def _dispatch(self) -> None:
        while True:
            with self._cv:
                if self._closed:
                    return
                free = self._workers - self._in_flight
                self._wake_flag = False
            claimed = self._claim(free) if free > 0 else []
            if claimed:
                with self._cv:
                    self._in_flight += len(claimed)
                for request_id in claimed:
                    self._work.put(request_id)
                continue
            wait = self._next_wait() if free > 0 else 0.5
            with self._cv:
                if not self._wake_flag and not self._closed:
                    self._cv.wait(wait)

    def _claim(self, limit: int) -> list[str]:
        try:
            now = self._clock.time()
            due = self._db.query(
                "SELECT request_id FROM async_events WHERE state='queued' AND due<=? "
                "ORDER BY due LIMIT ?",
                (now, limit),
            )
            if not due:
                return []
            claimed: list[str] = []
            with self._db.transaction(traffic=True) as conn:
                for (request_id,) in due:
                    cursor = conn.execute(
                        "UPDATE async_events SET state='running', owner=? "
                        "WHERE request_id=? AND state='queued'",
                        (self._owner, request_id),
                    )
                    if cursor.rowcount:
                        claimed.append(str(request_id))
            return claimed
        except SandboxClosedError:
            return []

    def _next_wait(self) -> float:
        """Real seconds until the next queued event is due (at most 0.5: other processes
        sharing the home may add events)."""
        try:
            rows = self._db.query("SELECT MIN(due) FROM async_events WHERE state='queued'")
        except SandboxClosedError:
            return 0.5
        next_due = rows[0][0] if rows else None
        if next_due is None:
            return 0.5
        due = float(next_due)  # type: ignore[arg-type]
        if self._timer is None or self._timer.cancelled or self._timer.due > due:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._scheduler.call_at(due, self._wake)
        return min(0.5, max(0.0, self._clock.real_delay(due - self._clock.time())))

    # the workers --------------------------------------------------------------------------
    def _run_worker(self) -> None:
        while True:
            request_id = self._work.get()
            if request_id is None:
                return
            try:
                self._process(request_id)
            except SandboxClosedError:
                pass
            except Exception:
                log.exception("asynchronous event %s: unexpected failure", request_id)
                self._requeue_after_crash(request_id)
            finally:
                with self._cv:
                    self._in_flight -= 1
                    self._wake_flag = True
                    self._cv.notify_all()

    def _load(self, request_id: str) -> QueuedEvent | None:
        rows = self._db.query(
            "SELECT account, region, name, qualifier, payload, received, attempts, throttles, "
            "last_response FROM async_events WHERE request_id=? AND owner=?",
            (request_id, self._owner),
        )
        if not rows:
            return None
        row: tuple[Any, ...] = rows[0]
        a, r, n, q, p, rec, att, thr, last = row
        return QueuedEvent(
            request_id,
            str(a),
            str(r),
            str(n),
            None if q is None else str(q),
            bytes(p),
            float(rec),
            int(att),
            int(thr),
            None if last is None else AttemptResponse.from_json(str(last)),
        )

    def _process(self, request_id: str) -> None:
        event = self._load(request_id)
        if event is None:
            return
        service = self._invoker_for(event.account, event.region)
        functions = service.functions
        try:
            resolved = functions.resolve(event.name, event.qualifier)
        except ResourceNotFoundException as exc:
            self._drop(event, f"the function is gone: {exc.message}")
            return
        config = functions.event_invoke_config(event.name, event.qualifier)
        now = self._clock.time()
        expiry = event.received + config.maximum_age
        if now >= expiry:
            self._fail(event, Condition.EVENT_AGE_EXCEEDED, config, resolved)
            return
        reserved = functions.get_function_concurrency(event.name).reserved_concurrent_executions
        if reserved == 0:
            self._fail(event, Condition.ZERO_RESERVED_CONCURRENCY, config, resolved)
            return
        try:
            result = service.run(resolved, event.payload, request_id, invocation_type="Event")
        except TooManyRequestsException as exc:
            self._back_off(event, expiry, f"throttled ({exc.reason})")
            return
        except SandboxClosedError:
            raise
        except InvalidRuntimeException as exc:  # the sandbox cannot run it: no retry helps
            self._drop(event, f"{exc.code}: {exc.message}")
            return
        except LambdaError as exc:
            if exc.status_code < 500:
                self._drop(event, f"{exc.code}: {exc.message}")
                return
            self._back_off(event, expiry, f"system error ({exc.code})")
            return
        except SandboxError as exc:
            self._back_off(event, expiry, f"system error ({exc})")
            return
        if self._closed:  # the sandbox is closing: this answer may be the shutdown's
            return
        event.attempts += 1
        event.throttles = 0
        event.last_response = _response(result)
        if result.function_error is None:
            self._finish(event, Condition.SUCCESS, config, resolved)
        elif event.attempts <= config.retries:
            now = self._clock.time()
            self._requeue(
                event,
                now,
                min(now + retry_delay(event.attempts), expiry),
                f"function error ({event.attempts} of {config.retries + 1} attempts made)",
            )
        else:
            self._fail(event, Condition.RETRIES_EXHAUSTED, config, resolved)

    # outcomes -----------------------------------------------------------------------------
    def _back_off(self, event: QueuedEvent, expiry: float, reason: str) -> None:
        event.throttles += 1
        now = self._clock.time()
        self._requeue(event, now, min(now + failure_backoff(event.throttles), expiry), reason)

    def _requeue(self, event: QueuedEvent, now: float, due: float, reason: str) -> None:
        """Back in the queue until ``due``; the record is dated ``now``, when the delay was
        chosen (on a scaled clock the store's write takes platform seconds)."""
        with self._db.transaction(traffic=True) as conn:
            conn.execute(
                "UPDATE async_events SET state='queued', owner=NULL, due=?, attempts=?, "
                "throttles=?, last_response=? WHERE request_id=? AND owner=?",
                (
                    due,
                    event.attempts,
                    event.throttles,
                    None if event.last_response is None else event.last_response.to_json(),
                    event.request_id,
                    self._owner,
                ),
            )
        self._bus.emit(
            RecordKind.ASYNC,
            time=now,
            function_name=event.name,
            request_id=event.request_id,
            account_id=event.account,
            detail={
                "status": "retry",
                "due": due,
                "reason": reason,
                "attempts": event.attempts,
            },
        )
        self._wake()

    def _requeue_after_crash(self, request_id: str) -> None:
        try:
            with self._db.transaction(traffic=True) as conn:
                conn.execute(
                    "UPDATE async_events SET state='queued', owner=NULL, due=?, "
                    "throttles=throttles+1 WHERE request_id=? AND owner=?",
                    (self._clock.time() + 1.0, request_id, self._owner),
                )
        except SandboxClosedError:
            pass

    # restart and shutdown -----------------------------------------------------------------
    def _recover(self) -> int:
        """Take back events left running by a process that is gone (platform time goes on
        across sessions: :mod:`sandbox.store.timeline`). Returns how many are pending."""
        with self._db.transaction(traffic=True) as conn:
            for (owner,) in conn.execute(
                "SELECT DISTINCT owner FROM async_events WHERE state='running'"
            ).fetchall():
                if not _owner_alive(str(owner)):
                    conn.execute(
                        "UPDATE async_events SET state='queued', owner=NULL WHERE owner=? "
                        "AND state='running'",
                        (owner,),
                    )
            (pending,) = conn.execute(
                "SELECT COUNT(*) FROM async_events WHERE state!='done'"
            ).fetchone()
        return int(pending)

    def stop(self) -> None:
        """Stop taking events (the first half of :meth:`close`, before the engine stops)."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if self._timer is not None:
            self._timer.cancel()

    def close(self) -> None:
        """Stop; events still running go back to the queue for the next session."""
        if self._owner not in _LIVE_OWNERS:
            return
        self.stop()
        for _ in range(self._workers):
            self._work.put(None)
        deadline = time.monotonic() + 5.0
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        try:
            with self._db.transaction(traffic=True) as conn:
                conn.execute(
                    "UPDATE async_events SET state='queued', owner=NULL WHERE owner=? "
                    "AND state='running'",
                    (self._owner,),
                )
        except SandboxClosedError:
            pass
        _LIVE_OWNERS.discard(self._owner)


def _owner_alive(owner: str) -> bool:
    if owner in _LIVE_OWNERS:
        return True
    pid_text = owner.split(":", 1)[0]
    if not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _response(result: InvokeResult) -> AttemptResponse:
    payload = result.payload
    if isinstance(payload, bytes):
        payload = payload.decode(errors="replace")
    return AttemptResponse(result.executed_version or "$LATEST", result.function_error, payload)
