"""Provisioned concurrency: environments initialised ahead of time (spec §4).

For each config (a function's alias or published version, and a count) this keeps that many
environments of the version the qualifier names, started with
``AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency`` and initialised before any
request comes: ``IN_PROGRESS`` while they start, ``READY`` when all have finished INIT,
``FAILED`` if INIT fails. When the alias moves to another version the environments are
re-created for it. Admission serves a request from them while one is free; otherwise the
request spills over to an on-demand environment.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from sandbox.core.models import FunctionConfiguration
from sandbox.core.telemetry import RecordKind
from sandbox.service.environments import ExecutionEnvironment
from sandbox.service.pool import EnvironmentManager, VersionPool
from sandbox.store.db import Database
from sandbox.store.functions import FunctionRows

__all__ = ["ProvisionedConcurrency", "ProvisionedState", "provisioned_targets"]

log = logging.getLogger("sandbox.provisioned")
FULL_REASON = (  # the sandbox's own limit (sandbox.service.capacity): no AWS wording
    "The sandbox holds its maximum number of execution environments (max_environments) "
    "and none of them is an idle on-demand environment it could reclaim."
)
Key = tuple[str, str, str]  # account, function, qualifier


@dataclass(slots=True)
class ProvisionedState:
    """Where one provisioned concurrency config stands."""

    requested: int
    version: str
    allocated: int = 0
    status: str = "IN_PROGRESS"
    reason: str | None = None
    pool: VersionPool | None = None
    generation: int = 0
    envs: list[ExecutionEnvironment] = field(default_factory=list)


class ProvisionedConcurrency:
    """The provisioned environments of every config of a sandbox."""

    def __init__(self, envs: EnvironmentManager) -> None:
        self._envs = envs
        self._lock = threading.Lock()
        self._states: dict[Key, ProvisionedState] = {}
        self._threads: list[threading.Thread] = []
        self._closed = False

    def close(self, timeout: float = 10.0) -> None:
        """Stop allocating and wait for the environments being initialised (so nothing
        starts after the sandbox closed)."""
        with self._lock:
            self._closed = True
            threads, self._threads = self._threads, []
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def ready(self, account_id: str, function_name: str, qualifier: str) -> int:
        """Initialised environments of the config (what admission may hand out)."""
        with self._lock:
            state = self._states.get((account_id, function_name, qualifier))
            return state.allocated if state is not None else 0

    def state(self, account_id: str, function_name: str, qualifier: str) -> ProvisionedState | None:
        with self._lock:
            return self._states.get((account_id, function_name, qualifier))

    def apply(
        self, account_id: str, qualifier: str, requested: int, config: FunctionConfiguration
    ) -> ProvisionedState:
        """Make the config have ``requested`` environments of ``config``'s version
        (started in the background). A change of version or count starts over."""
        key = (account_id, config.function_name, qualifier)
        with self._lock:
            current = self._states.get(key)
            unchanged = current is not None and (current.version, current.requested) == (
                config.version,
                requested,
            )
            if unchanged and current is not None:
                return current
        if current is not None and current.pool is not None:
            # a new version or count: the old environments go, new ones start from zero
            self._envs.retire(current.pool, "provisioned-concurrency-changed")
        state = ProvisionedState(requested, config.version)
        state.generation = (current.generation + 1) if current is not None else 1
        state.pool = self._envs.pool(config, account_id, provisioned=qualifier)
        with self._lock:
            self._states[key] = state
        thread = threading.Thread(
            target=self._allocate,
            args=(key, state, config),
            daemon=True,
            name=f"lambda-sandbox-provision-{config.function_name}",
        )
        with self._lock:
            if self._closed:
                return state
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return state

    def _allocate(self, key: Key, state: ProvisionedState, config: FunctionConfiguration) -> None:
        pool = state.pool
        assert pool is not None
        for _ in range(state.requested):
            with self._lock:
                if self._states.get(key) is not state or self._closed:
                    return  # replaced or removed meanwhile, or the sandbox is closing
            env = self._envs.new_environment(config, key[0], init_type="provisioned-concurrency")
            if env is None:  # max_environments reached and every environment busy
                with self._lock:
                    if self._states.get(key) is state:
                        state.status, state.reason = "FAILED", FULL_REASON
                self._record(key, state)
                return
            try:
                ok = env.start(for_invocation=False)
            except Exception as exc:
                log.exception("provisioned environment failed to start")
                ok, error = False, str(exc)
            else:
                error = "Function failed to initialize."
            if not ok:
                env.shutdown("init failed")
                with self._lock:
                    if self._states.get(key) is state:
                        state.status, state.reason = "FAILED", error
                self._record(key, state)
                return
            with self._lock:
                current = self._states.get(key) is state
            if not current or not self._envs.add_provisioned(pool, env):
                env.shutdown("provisioned-concurrency-changed")
                return
            with self._lock:
                state.allocated += 1
                state.envs.append(env)
                if state.allocated == state.requested:
                    state.status = "READY"
            if state.status == "READY":
                self._record(key, state)

    def _record(self, key: Key, state: ProvisionedState) -> None:
        self._envs.deps.bus.emit(
            RecordKind.ENV_STATE,
            account_id=key[0],
            function_name=key[1],
            version=state.version,
            detail={
                "state": "provisioned",
                "reason": f"provisioned concurrency {state.status}",
                "provisioned": key[2],
                "status": state.status,
                "status_reason": state.reason,
                "allocated": state.allocated,
                "requested": state.requested,
            },
        )

    def remove(self, account_id: str, function_name: str, qualifier: str) -> None:
        """The config is gone: its environments shut down."""
        with self._lock:
            state = self._states.pop((account_id, function_name, qualifier), None)
        if state is not None and state.pool is not None:
            self._envs.retire(state.pool, "provisioned-concurrency-removed")

    def sync(
        self,
        account_id: str,
        function_name: str,
        targets: list[tuple[str, int, FunctionConfiguration]],
    ) -> None:
        """Make the function's provisioned environments match ``targets`` (qualifier,
        count, version): new or changed configs are (re)allocated — an alias that moved
        gets environments of its new version — and configs that are gone are removed."""
        wanted = {qualifier for qualifier, _, _ in targets}
        with self._lock:
            stale = [
                k
                for k in self._states
                if k[:2] == (account_id, function_name) and k[2] not in wanted
            ]
        for key in stale:
            self.remove(*key)
        for qualifier, requested, config in targets:
            self.apply(account_id, qualifier, requested, config)

    def probe(
        self, account_id: str, function_name: str, qualifier: str
    ) -> tuple[int, str, str | None] | None:
        """(allocated, status, reason) of a config, for the control plane's answers."""
        with self._lock:
            state = self._states.get((account_id, function_name, qualifier))
            return None if state is None else (state.allocated, state.status, state.reason)


def provisioned_targets(
    db: Database, account_id: str, region: str, function_name: str
) -> list[tuple[str, int, FunctionConfiguration]]:
    """The stored provisioned configs of a function with the version each one names now
    (an alias is followed to its version)."""
    rows = FunctionRows((account_id, region))
    out: list[tuple[str, int, FunctionConfiguration]] = []
    with db.read() as conn:
        for _, qualifier, requested, _ in rows.provisioned(conn, function_name):
            version = qualifier
            if not qualifier.isdigit():
                alias = rows.alias(conn, function_name, qualifier)
                if alias is None:
                    continue
                version = str(alias.get("FunctionVersion", ""))
            doc = rows.version(conn, function_name, int(version)) if version.isdigit() else None
            if doc is not None:
                out.append((qualifier, requested, FunctionConfiguration.from_aws(doc)))
    return out
