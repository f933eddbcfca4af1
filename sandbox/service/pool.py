"""Placement: which execution environment serves an invocation.

One pool per function version (and per ``$LATEST`` revision): an idle environment is
reused (warm start), otherwise a new one is started (cold start) — one environment serves
one request at a time, so concurrent requests make new environments (spec §1.1, §4).
Idle environments expire after a keep-alive measured on the sandbox clock; code or
configuration changes retire the environments of what changed; closing the sandbox shuts
every environment down. Admission (concurrency limits) is a separate, earlier step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sandbox.core.arns import LATEST
from sandbox.core.lifecycle import DEFAULT_KEEP_ALIVE, EnvironmentState
from sandbox.core.models import FunctionConfiguration
from sandbox.service.environments import ExecutionEnvironment, RuntimeDeps
from sandbox.service.functions import FunctionChange
from sandbox.service.scheduler import Scheduler

__all__ = ["Checkout", "EnvironmentManager", "VersionPool"]

PoolKey = tuple[str, str, str, str]  # account, function, version, revision id


@dataclass(slots=True)
class Checkout:
    """An environment handed to one invocation; ``cold`` if it had to (re)initialise."""

    env: ExecutionEnvironment
    cold: bool
    reason: str
    pool: VersionPool | None = None


class VersionPool:
    """The environments of one function version."""

    def __init__(self, key: PoolKey, config: FunctionConfiguration) -> None:
        self.key = key
        self.config = config
        self.idle: list[ExecutionEnvironment] = []  # LIFO: the most recently used first
        self.busy: set[ExecutionEnvironment] = set()
        self.retired = False
        self.started = 0  # environments ever started in this pool
        self.lock = threading.Lock()

    @property
    def size(self) -> int:
        return len(self.idle) + len(self.busy)


class EnvironmentManager:
    """Every environment of a sandbox, by version; checkout, checkin, expiry, retirement."""

    def __init__(
        self, deps: RuntimeDeps, scheduler: Scheduler, *, keep_alive: float = DEFAULT_KEEP_ALIVE
    ) -> None:
        self.deps = deps
        self.scheduler = scheduler
        self.keep_alive = keep_alive
        self._pools: dict[PoolKey, VersionPool] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._expiry: dict[ExecutionEnvironment, object] = {}

    @staticmethod
    def key(config: FunctionConfiguration, account_id: str) -> PoolKey:
        revision = config.revision_id if config.version == LATEST else ""
        return (account_id, config.function_name, config.version, revision)

    def pool(self, config: FunctionConfiguration, account_id: str) -> VersionPool:
        key = self.key(config, account_id)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                if self._closed:
                    from sandbox.errors import SandboxClosedError

                    raise SandboxClosedError("the sandbox is closed")
                pool = self._pools[key] = VersionPool(key, config)
            return pool

    def pools(self) -> list[VersionPool]:
        with self._lock:
            return list(self._pools.values())

    @contextmanager
    def checkout(self, config: FunctionConfiguration, account_id: str) -> Iterator[Checkout]:
        """An environment for one invocation, returned to its pool afterwards."""
        checkout = self.acquire(config, account_id)
        try:
            yield checkout
        except BaseException:  # e.g. KeyboardInterrupt while waiting for the answer
            checkout.env.abort("invocation abandoned")
            raise
        finally:
            self.release(checkout)

    def acquire(self, config: FunctionConfiguration, account_id: str) -> Checkout:
        """Take an idle environment of ``config``'s version, or cold-start a new one.
        Every :meth:`acquire` must be paired with :meth:`release`."""
        pool = self.pool(config, account_id)
        with pool.lock:
            env = pool.idle.pop() if pool.idle else None
            if env is not None:
                pool.busy.add(env)
        if env is not None:
            cold = env.process is None
            if env.state is EnvironmentState.RESETTING:
                reason = "reset"
            elif env.state is EnvironmentState.FAILED:
                reason = "init-failed"
            else:
                reason = "warm"
            env.begin()
            return Checkout(env, cold, reason, pool)
        env = ExecutionEnvironment(self.deps, pool.config, account_id=pool.key[0])
        with pool.lock:
            if pool.started == 0:
                reason = "first-request"
            elif pool.busy:
                reason = "all-busy"
            else:
                reason = "no-idle-environment"
            pool.started += 1
            pool.busy.add(env)
        try:
            if not env.start(for_invocation=True):
                env.begin()  # FAILED -> BUSY: the invocation retries INIT (suppressed init)
        except BaseException:
            with pool.lock:
                pool.busy.discard(env)
            env.shutdown("launch failed")
            raise
        return Checkout(env, True, reason, pool)

    def release(self, checkout: Checkout) -> None:
        """Give the environment back (idle and frozen), or retire it if it is outdated."""
        assert checkout.pool is not None
        self._checkin(checkout.pool, checkout.env)

    def _checkin(self, pool: VersionPool, env: ExecutionEnvironment) -> None:
        env.release()
        with pool.lock:
            pool.busy.discard(env)
            retire = pool.retired or self._closed
            if not retire:
                pool.idle.append(env)
        if retire:
            env.shutdown("update" if not self._closed else "close")
            return
        self._schedule_expiry(pool, env)

    def _schedule_expiry(self, pool: VersionPool, env: ExecutionEnvironment) -> None:
        with self._lock:
            if env in self._expiry:
                return  # the pending timer re-checks idle_since when it fires
            self._expiry[env] = self.scheduler.call_at(
                env.idle_since + self.keep_alive, lambda: self._expire(pool, env)
            )

    def _expire(self, pool: VersionPool, env: ExecutionEnvironment) -> None:
        with self._lock:
            self._expiry.pop(env, None)
        with pool.lock:
            if env not in pool.idle:
                return
            due = env.idle_since + self.keep_alive
            if self.deps.clock.time() < due:
                expired = False
            else:
                pool.idle.remove(env)
                expired = True
        if expired:
            env.shutdown("spindown")  # spec §1.1: keep-alive expired
        else:
            self._schedule_expiry(pool, env)

    def on_change(self, change: FunctionChange) -> None:
        """Retire environments whose code or configuration is no longer current."""
        for pool in self.pools():
            account, name, version, _ = pool.key
            if account != change.account_id or name != change.function_name:
                continue
            if change.kind in ("code", "configuration") and version != LATEST:
                continue
            if change.kind == "version-deleted" and version != change.version:
                continue
            if change.kind in ("created", "published", "alias"):
                continue
            self._retire(pool, "update" if change.kind in ("code", "configuration") else "delete")

    def _retire(self, pool: VersionPool, reason: str) -> None:
        with pool.lock:
            pool.retired = True
            idle, pool.idle = pool.idle, []
        with self._lock:
            self._pools.pop(pool.key, None)
        for env in idle:
            env.shutdown(reason)

    def environments(self) -> list[ExecutionEnvironment]:
        out: list[ExecutionEnvironment] = []
        for pool in self.pools():
            with pool.lock:
                out.extend(pool.idle)
                out.extend(pool.busy)
        return out

    def close(self, on_env: Callable[[ExecutionEnvironment], None] | None = None) -> None:
        """Shut every environment down (busy ones when their invocation returns)."""
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
        for pool in pools:
            with pool.lock:
                pool.retired = True
                idle, pool.idle = pool.idle, []
                busy = list(pool.busy)
            for env in idle + busy:  # a busy one's invocation ends as a runtime exit
                env.shutdown("close")
                if on_env is not None:
                    on_env(env)
