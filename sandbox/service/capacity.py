"""Capacity: at most ``max_environments`` execution environments held by one sandbox.

Why: every environment is a process on a machine a whole class may share, and idle
environments otherwise live for their keep-alive (600 s) however many functions a student
has created. Before a new environment starts, this module makes room for it: if the
sandbox already holds its maximum, the environments idle the longest are shut down
(``reclaimed``) first — AWS, too, may shut an idle environment down at any time (spec
§1.1) — and when every environment is busy the request is throttled, as when an account
has no concurrency left (spec §4: ``TooManyRequestsException``,
``ConcurrentInvocationLimitExceeded``), so a sync caller gets a 429, the async queue
retries with backoff and a poller backs off. A busy environment is never touched, and
neither is a provisioned one (it belongs to its config).

Each reclaim is a telemetry record (``env.state``, state ``reclaimed``) under the
request that needed the room, which :func:`sandbox.service.explain.explain` reads.
Rule: :func:`sandbox.core.hostlimits.choose_reclaim`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sandbox.core.hostlimits import choose_reclaim
from sandbox.core.lifecycle import EnvironmentState
from sandbox.core.telemetry import RecordKind
from sandbox.service.telemetry import TelemetryBus

if TYPE_CHECKING:
    from sandbox.service.environments import ExecutionEnvironment
    from sandbox.service.pool import VersionPool

__all__ = ["LIMIT", "EnvironmentCapacity", "Refuse"]

LIMIT = "max-environments"  # the throttle's ``limit`` in telemetry and explanations
_GONE = (EnvironmentState.SHUTTING_DOWN, EnvironmentState.STOPPED)
_ATTEMPTS = 8  # a victim taken for a warm start meanwhile: choose again, a few times
# (account, function, request id, qualifier, cap) -> raises TooManyRequestsException
Refuse = Callable[[str, str, str, str | None, int], None]
Held = tuple["VersionPool", "ExecutionEnvironment"]  # an environment and its pool


class EnvironmentCapacity:
    """Keeps the environments of one sandbox at or under ``cap`` (see module docstring)."""

    def __init__(self, cap: int, bus: TelemetryBus, refuse: Refuse) -> None:
        self.cap = cap
        self._bus = bus
        self._refuse = refuse
        self._live: weakref.WeakSet[ExecutionEnvironment] = weakref.WeakSet()
        self._leaving: weakref.WeakSet[ExecutionEnvironment] = weakref.WeakSet()
        self._pending = 0  # slots granted to environments not constructed yet
        self._lock = threading.Lock()

    def held(self) -> int:
        """Environments held now: started and not shutting down, or about to start."""
        with self._lock:
            return self._held()

    def _held(self) -> int:
        live = sum(1 for e in self._live if e.state not in _GONE and e not in self._leaving)
        return live + self._pending

    def make_room(
        self,
        pools: Callable[[], Iterable[VersionPool]],
        *,
        account_id: str,
        function_name: str,
        request_id: str = "",
        qualifier: str | None = None,
        throttle: bool = True,
    ) -> bool:
        """Reserve a slot for one new environment, reclaiming idle ones if need be.

        Pair a ``True`` answer with :meth:`adopt` (the environment now exists) or
        :meth:`cancel`. When every environment is busy: ``TooManyRequestsException`` if
        ``throttle``, else ``False`` (provisioned allocation, which has no request)."""
        victims: list[Held] = []
        with self._lock:
            for _ in range(_ATTEMPTS):
                chosen = choose_reclaim(self._held(), self.cap, _idle(pools()))
                if chosen is None:
                    break
                taken = [pair for pair in chosen if _take(*pair)]
                victims.extend(taken)
                self._leaving.update(env for _, env in taken)
                if len(taken) == len(chosen):
                    self._pending += 1
                    break
            else:
                chosen = None
            held = self._held()
        for pool, env in victims:
            self._reclaim(pool, env, held, account_id, function_name, request_id)
        if chosen is not None:
            return True
        if throttle:
            self._refuse(account_id, function_name, request_id, qualifier, self.cap)
        return False

    def adopt(self, env: ExecutionEnvironment) -> None:
        """The environment a slot was reserved for exists: count it for its lifetime."""
        with self._lock:
            self._pending -= 1
            self._live.add(env)

    def cancel(self) -> None:
        """The environment a slot was reserved for was never made."""
        with self._lock:
            self._pending -= 1

    def _reclaim(
        self,
        pool: VersionPool,
        env: ExecutionEnvironment,
        held: int,
        account_id: str,
        function_name: str,
        request_id: str,
    ) -> None:
        now = env.deps.clock.time()
        self._bus.emit(
            RecordKind.ENV_STATE,
            env_id=env.env_id,
            function_name=env.config.function_name,
            version=env.config.version,
            init_type=env.init_type,
            account_id=env.account_id,
            request_id=request_id,
            detail={
                "state": "reclaimed",
                "reason": LIMIT,
                "max_environments": self.cap,
                "held": held,
                "idle_s": round(max(0.0, now - env.idle_since), 3),
                "for_function": function_name,
                "for_account": account_id,
            },
        )
        try:
            env.shutdown("reclaimed")
        finally:
            with self._lock:
                self._leaving.discard(env)


def _idle(
    pools: Iterable[VersionPool],
) -> list[tuple[float, tuple[VersionPool, ExecutionEnvironment]]]:
    """The reclaimable environments: idle, on demand (provisioned ones stay)."""
    out: list[tuple[float, tuple[VersionPool, ExecutionEnvironment]]] = []
    for pool in pools:
        if pool.provisioned:
            continue
        with pool.lock:
            out.extend((env.idle_since, (pool, env)) for env in pool.idle)
    return out


def _take(pool: VersionPool, env: ExecutionEnvironment) -> bool:
    """Remove a victim from its pool's idle list (False if a request took it meanwhile)."""
    with pool.lock:
        if env not in pool.idle:
            return False
        pool.idle.remove(env)
        pool.lost_to = "reclaimed"
        return True
