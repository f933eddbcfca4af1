"""Placement: which execution environment serves an invocation.

One pool per function version (and per ``$LATEST`` revision), plus one per provisioned
concurrency config: an idle environment is reused (warm start), otherwise a new one is
started (cold start) — one environment serves one request at a time, so concurrent
requests make new environments (spec §1.1, §4). Idle on-demand environments expire after a
keep-alive measured on the sandbox clock; code or configuration changes retire the
environments of what changed; closing the sandbox shuts every environment down.

Admission (concurrency limits) is a separate, earlier step (:mod:`~sandbox.service.admission`);
placement only asks it for a scaling-rate token before starting a new environment. Every
cold start carries its cause (:data:`COLD_CAUSES`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sandbox.core.arns import LATEST
from sandbox.core.lifecycle import COLD_CAUSES, DEFAULT_KEEP_ALIVE, EnvironmentState
from sandbox.core.models import FunctionConfiguration
from sandbox.errors import SandboxClosedError
from sandbox.service.capacity import EnvironmentCapacity
from sandbox.service.environments import ExecutionEnvironment, RuntimeDeps
from sandbox.service.functions import FunctionChange
from sandbox.service.scheduler import Scheduler

__all__ = ["COLD_CAUSES", "Checkout", "EnvironmentManager", "VersionPool"]

PoolKey = tuple[str, str, str, str, str]  # account, function, version, revision, provisioned
ScalingGate = Callable[[str, str, str, str | None], None]  # account, fn, request, qualifier


@dataclass(slots=True)
class Checkout:
    """An environment handed to one invocation; ``cold`` if it had to (re)initialise, and
    ``reason`` one of :data:`COLD_CAUSES` (``"warm"`` otherwise)."""

    env: ExecutionEnvironment
    cold: bool
    reason: str
    pool: VersionPool | None = None


class VersionPool:
    """The environments of one function version (or of one provisioned config)."""

    def __init__(self, key: PoolKey, config: FunctionConfiguration) -> None:
        self.key = key
        self.config = config
        self.idle: list[ExecutionEnvironment] = []  # LIFO: the most recently used first
        self.busy: set[ExecutionEnvironment] = set()
        self.retired = False
        self.started = 0  # environments ever started in this pool
        self.expired = 0  # environments shut down by keep-alive expiry
        self.lost_to = ""  # why its last idle environment went: keep-alive-expired, reclaimed
        self.lock = threading.Lock()

    @property
    def provisioned(self) -> str:
        """The provisioned-concurrency qualifier this pool belongs to ("" if on-demand)."""
        return self.key[4]

    @property
    def size(self) -> int:
        return len(self.idle) + len(self.busy)


class EnvironmentManager:
    """Every environment of a sandbox, by version; checkout, checkin, expiry, retirement."""

    def __init__(
        self,
        deps: RuntimeDeps,
        scheduler: Scheduler,
        *,
        keep_alive: float = DEFAULT_KEEP_ALIVE,
        scaling_gate: ScalingGate | None = None,
        capacity: EnvironmentCapacity | None = None,
    ) -> None:
        self.deps = deps
        self.capacity = capacity  # max_environments, when the sandbox has one
        self.scheduler = scheduler
        self.keep_alive = keep_alive
        self.scaling_gate = scaling_gate
        self._pools: dict[PoolKey, VersionPool] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._expiry: dict[ExecutionEnvironment, object] = {}
        self._replaced: set[tuple[str, str, str]] = set()  # retired by a code/config change
        self._served: set[tuple[str, str]] = set()  # functions that have had environments

    @staticmethod
    def key(config: FunctionConfiguration, account_id: str, provisioned: str = "") -> PoolKey:
        revision = config.revision_id if config.version == LATEST else ""
        return (account_id, config.function_name, config.version, revision, provisioned)

    def pool(
        self, config: FunctionConfiguration, account_id: str, provisioned: str = ""
    ) -> VersionPool:
        key = self.key(config, account_id, provisioned)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                if self._closed:
                    raise SandboxClosedError("the sandbox is closed")
                pool = self._pools[key] = VersionPool(key, config)
            return pool

    def pools(self) -> list[VersionPool]:
        with self._lock:
            return list(self._pools.values())

    # checkout -----------------------------------------------------------------------------
    @contextmanager
    def checkout(
        self,
        config: FunctionConfiguration,
        account_id: str,
        *,
        provisioned: str | None = None,
        spillover: bool = False,
        request_id: str = "",
        qualifier: str | None = None,
    ) -> Iterator[Checkout]:
        """An environment for one invocation, returned to its pool afterwards."""
        checkout = self.acquire(
            config,
            account_id,
            provisioned=provisioned,
            spillover=spillover,
            request_id=request_id,
            qualifier=qualifier,
        )
        try:
            yield checkout
        except BaseException:  # e.g. KeyboardInterrupt while waiting for the answer
            checkout.env.abort("invocation abandoned")
            raise
        finally:
            self.release(checkout)

    def acquire(
        self,
        config: FunctionConfiguration,
        account_id: str,
        *,
        provisioned: str | None = None,
        spillover: bool = False,
        request_id: str = "",
        qualifier: str | None = None,
    ) -> Checkout:
        """Take an idle environment of ``config``'s version — from the provisioned pool of
        ``provisioned`` first, if given — or cold-start a new on-demand one. Every
        :meth:`acquire` must be paired with :meth:`release`."""
        if provisioned:
            checkout = self._take_idle(self.pool(config, account_id, provisioned))
            if checkout is not None:
                return checkout
        pool = self.pool(config, account_id)
        checkout = self._take_idle(pool)
        if checkout is not None:
            return checkout
        return self._cold_start(pool, account_id, spillover, request_id, qualifier)

    def _take_idle(self, pool: VersionPool) -> Checkout | None:
        with pool.lock:
            env = pool.idle.pop() if pool.idle else None
            if env is None:
                return None
            pool.busy.add(env)
        env.check_alive()
        cold = env.process is None
        if env.state is EnvironmentState.RESETTING:
            reason = "reset"
        elif env.state is EnvironmentState.FAILED:
            reason = "init-failed"
        else:
            reason = "warm"
        env.begin()
        return Checkout(env, cold, reason, pool)

    def _cold_reason(self, pool: VersionPool, spillover: bool) -> str:
        account, name, version = pool.key[:3]
        if spillover:
            return "provisioned-spillover"
        if pool.started == 0:
            if (account, name, version) in self._replaced:
                return "new-code-or-configuration"
            if (account, name) in self._served:
                return "new-version"
            return "first-request"
        if pool.busy:
            return "all-busy"
        return pool.lost_to or "no-idle-environment"

    def _cold_start(
        self,
        pool: VersionPool,
        account_id: str,
        spillover: bool,
        request_id: str,
        qualifier: str | None,
    ) -> Checkout:
        if self.scaling_gate is not None:
            self.scaling_gate(account_id, pool.config.function_name, request_id, qualifier)
        env = self.new_environment(
            pool.config, account_id, request_id=request_id, qualifier=qualifier
        )
        assert env is not None  # (a request is throttled rather than refused quietly)
        with pool.lock:
            reason = self._cold_reason(pool, spillover)
            pool.started += 1
            pool.busy.add(env)
        self._served.add((account_id, pool.config.function_name))
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
        if env.post_invoke_pending:
            # the caller has its answer; the environment stays busy until its extensions
            # are back in event/next (spec §1.1), then comes back here
            def after() -> None:
                env.finish_post_invoke()
                self._checkin(pool, env)

            threading.Thread(target=after, daemon=True, name="lambda-sandbox-post-invoke").start()
            return
        env.release()
        with pool.lock:
            pool.busy.discard(env)
            retire = pool.retired or self._closed
            if not retire:
                pool.idle.append(env)
        if retire:
            env.shutdown("update" if not self._closed else "close")
            return
        if not pool.provisioned:  # provisioned environments stay until their config goes
            self._schedule_expiry(pool, env)

    def new_environment(
        self,
        config: FunctionConfiguration,
        account_id: str,
        *,
        init_type: str = "on-demand",
        request_id: str = "",
        qualifier: str | None = None,
    ) -> ExecutionEnvironment | None:
        """A new (not yet started) environment, within ``max_environments``: idle ones
        are reclaimed to make room; when all are busy a request is throttled
        (``TooManyRequestsException``) and provisioned allocation gets ``None``."""
        capacity = self.capacity
        if capacity is not None and not capacity.make_room(
            self.pools,
            account_id=account_id,
            function_name=config.function_name,
            request_id=request_id,
            qualifier=qualifier,
            throttle=init_type == "on-demand",
        ):
            return None
        try:
            env = ExecutionEnvironment(
                self.deps, config, account_id=account_id, init_type=init_type
            )
        except BaseException:
            if capacity is not None:
                capacity.cancel()
            raise
        if capacity is not None:
            capacity.adopt(env)
        return env

    # provisioned environments -------------------------------------------------------------
    def add_provisioned(self, pool: VersionPool, env: ExecutionEnvironment) -> bool:
        """An initialised provisioned environment joins its pool (False if the pool was
        retired meanwhile: the caller shuts it down)."""
        with pool.lock:
            if pool.retired or self._closed:
                return False
            pool.started += 1
            pool.idle.append(env)
        self._served.add((pool.key[0], pool.key[1]))
        return True

    def retire(self, pool: VersionPool, reason: str) -> None:
        """Shut a pool's idle environments down now and its busy ones when they return."""
        self._retire(pool, reason)

    # expiry --------------------------------------------------------------------------------
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
                pool.expired += 1
                pool.lost_to = "keep-alive-expired"
                expired = True
        if expired:
            env.shutdown("spindown")  # spec §1.1: keep-alive expired
        else:
            self._schedule_expiry(pool, env)

    # changes ---------------------------------------------------------------------------
    def on_change(self, change: FunctionChange) -> None:
        """Retire environments whose code or configuration is no longer current."""
        for pool in self.pools():
            account, name, version, _, provisioned = pool.key
            if account != change.account_id or name != change.function_name:
                continue
            if change.kind in ("code", "configuration") and version == LATEST and not provisioned:
                self._replaced.add((account, name, version))
                self._retire(pool, "update")
            elif (
                change.kind == "version-deleted" and version == change.version
            ) or change.kind == "deleted":
                self._retire(pool, "delete")

    def _retire(self, pool: VersionPool, reason: str) -> None:
        with pool.lock:
            pool.retired = True
            idle, pool.idle = pool.idle, []
        with self._lock:
            if self._pools.get(pool.key) is pool:
                del self._pools[pool.key]
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
        """Shut every environment down (busy ones end as a runtime exit)."""
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
        for pool in pools:
            with pool.lock:
                pool.retired = True
                idle, pool.idle = pool.idle, []
                busy = list(pool.busy)
            for env in idle + busy:
                env.shutdown("close")
                if on_env is not None:
                    on_env(env)
