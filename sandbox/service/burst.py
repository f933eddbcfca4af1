"""A burst: many synchronous invocations driven by one thread.

Threads calling ``invoke`` side by side spend most of their time handing the interpreter
lock to one another; a burst instead keeps ``concurrency`` invocations in flight and
multiplexes their environments' descriptors with one ``poll`` loop. Each invocation is
still exactly an ``invoke``: one environment per request in flight, scale-out when all are
busy, the same logs, results and telemetry. An environment that finishes one request of
the burst takes the next one at once, without going back to its pool in between (it
would be frozen and thawed for nothing).
"""

from __future__ import annotations

import functools
import select
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox.core.invocation import InvokeResult
from sandbox.core.models import FunctionConfiguration
from sandbox.errors import LambdaError, TooManyRequestsException
from sandbox.runtime.process import EnvironmentProcess, InvokeOutcome
from sandbox.service.functions import ResolvedFunction
from sandbox.service.requests import EnvironmentRequest, InFlight, RawResult

if TYPE_CHECKING:
    from sandbox.service.engine import Engine
from sandbox.service.admission import Lease
from sandbox.service.pool import Checkout

__all__ = ["Burst"]

Chooser = Callable[[ResolvedFunction], FunctionConfiguration]  # weighted routing
ResultMaker = Callable[[RawResult, str, str], InvokeResult]  # raw, request id, version
_CHECK_EVERY = 0.01  # seconds between deadline / memory checks of the invocations in flight


@dataclass(slots=True)
class _Slot:
    index: int
    checkout: Checkout
    flight: InFlight
    config: FunctionConfiguration
    process: EnvironmentProcess
    lease: Lease


class Burst:
    """One burst of invocations of one function (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        resolved: ResolvedFunction,
        bodies: list[bytes],
        *,
        concurrency: int,
        choose: Chooser,
        make_result: ResultMaker,
    ) -> None:
        self._envs = engine.envs
        self._admission = engine.admission
        # reserved and provisioned concurrency, read again at every periodic check: the
        # store's change check would cost more than a request's own admission
        self._read_sizes = functools.partial(engine.sizes, resolved.ref.account_id)
        self._sizes = self._read_sizes()
        self._resolved = resolved
        self._bodies = bodies
        self._concurrency = concurrency
        self._choose = choose
        self._make_result = make_result
        self._results: list[InvokeResult | LambdaError | None] = [None] * len(bodies)
        self._next = 0
        self._slots: dict[int, _Slot] = {}  # by descriptor (three per slot)
        self._active: set[int] = set()  # indexes in flight
        self._poller = select.poll()

    def run(self) -> list[InvokeResult | LambdaError]:
        """The results in the order of the payloads; a throttled request's place holds its
        ``TooManyRequestsException``."""
        try:
            next_check = time.monotonic() + _CHECK_EVERY
            while self._next < len(self._bodies) or self._active:
                while self._next < len(self._bodies) and len(self._active) < self._concurrency:
                    self._start(self._take(), None)
                if not self._active:
                    continue
                for fd, _event in self._poller.poll(int(_CHECK_EVERY * 1000)):
                    slot = self._slots.get(fd)
                    if slot is not None and slot.index in self._active:
                        outcome = slot.process.handle(fd)
                        if outcome is not None:
                            self._finish(slot, outcome)
                now = time.monotonic()
                if now >= next_check:
                    self._sizes = self._read_sizes()
                    for slot in list({s.index: s for s in self._slots.values()}.values()):
                        if slot.index in self._active:
                            outcome = slot.process.check(now)
                            if outcome is not None:
                                self._finish(slot, outcome)
                    next_check = now + _CHECK_EVERY
        finally:
            for slot in {s.index: s for s in self._slots.values()}.values():
                if slot.index in self._active:  # interrupted: never hand a busy runtime back
                    slot.checkout.env.abort("invocation abandoned")
                    self._envs.release(slot.checkout)
                    self._admission.release(slot.lease)
        return [r for r in self._results if r is not None]

    def _take(self) -> int:
        index, self._next = self._next, self._next + 1
        return index

    def _start(
        self, index: int, reuse: Checkout | None, reuse_process: EnvironmentProcess | None = None
    ) -> None:
        """Send request ``index`` to ``reuse`` (an environment that just finished one, its
        descriptors still registered as ``reuse_process``'s) or to one from the pool — after
        admission, which may throttle it."""
        config = self._choose(self._resolved)
        ref = self._resolved.ref
        request_id = str(uuid.uuid4())
        try:
            lease = self._admission.admit(
                ref.account_id,
                ref.name,
                qualifier=ref.qualifier,
                request_id=request_id,
                sizes=self._sizes,
            )
        except TooManyRequestsException as exc:
            self._results[index] = exc
            if reuse is not None:
                self._detach(reuse_process)
                self._envs.release(reuse)
            return
        wanted_pool = lease.provisioned or ""
        if reuse is not None and (
            reuse.env.config.version != config.version
            or reuse.pool is None
            or reuse.pool.retired
            or reuse.pool.provisioned != wanted_pool
            or reuse.env.process is None
        ):
            self._detach(reuse_process)
            self._envs.release(reuse)
            reuse, reuse_process = None, None
        request = EnvironmentRequest(
            request_id,
            self._bodies[index],
            ref.arn,
            None,
            None,
            ref.qualifier,
            "RequestResponse",
            lease.spillover,
        )
        try:
            checkout = reuse or self._envs.acquire(
                config,
                ref.account_id,
                provisioned=lease.provisioned,
                spillover=lease.spillover,
                request_id=request_id,
                qualifier=ref.qualifier,
            )
        except TooManyRequestsException as exc:  # the scaling rate refused a new environment
            self._admission.release(lease)
            self._results[index] = exc
            return
        except BaseException:
            self._admission.release(lease)
            raise
        try:
            if reuse is not None:
                flight = checkout.env.begin_invoke(request, cold=False, reason="warm")
            else:
                flight = checkout.env.begin_invoke(
                    request, cold=checkout.cold, reason=checkout.reason
                )
        except BaseException:
            self._detach(reuse_process)
            checkout.env.abort("invocation abandoned")
            self._envs.release(checkout)
            self._admission.release(lease)
            raise
        if isinstance(flight, RawResult):  # ended at once (INIT failed)
            self._detach(reuse_process)
            self._results[index] = self._make_result(flight, request.request_id, config.version)
            self._envs.release(checkout)
            self._admission.release(lease)
            return
        process = checkout.env.process
        assert process is not None
        if process is not reuse_process:
            self._detach(reuse_process)
        slot = _Slot(index, checkout, flight, config, process, lease)
        self._active.add(index)
        for fd in process.fds:  # a reused environment's descriptors stay registered
            if fd not in self._slots:
                self._poller.register(fd, select.POLLIN)
            self._slots[fd] = slot

    def _detach(self, process: EnvironmentProcess | None) -> None:
        """Stop polling ``process``'s descriptors."""
        if process is None:
            return
        for fd in process.fds:
            if self._slots.pop(fd, None) is not None:
                self._poller.unregister(fd)

    def _finish(self, slot: _Slot, outcome: InvokeOutcome) -> None:
        self._active.discard(slot.index)
        raw = slot.checkout.env.complete_invoke(slot.flight, outcome)
        self._admission.release(slot.lease)
        self._results[slot.index] = self._make_result(
            raw, slot.flight.request.request_id, slot.config.version
        )
        env = slot.checkout.env
        if raw.reset or self._next >= len(self._bodies) or env.post_invoke_pending:
            # (an environment whose extensions still work stays busy: back to the pool)
            self._detach(slot.process)
            self._envs.release(slot.checkout)
        else:
            self._start(self._take(), slot.checkout, slot.process)
