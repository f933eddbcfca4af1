"""Admission: a concurrency lease is taken before an environment is chosen.

The split LocalStack makes between its counting and assignment services: this module only
counts — requests in flight per account, per function, per provisioned qualifier — and
says yes (a :class:`Lease`) or no (``TooManyRequestsException`` with AWS's ``Reason``,
recorded on the telemetry bus with the limit that struck and its value). Placement, which
environment serves the request, happens afterwards in :mod:`sandbox.service.pool`.
Rules: :mod:`sandbox.core.concurrency` (spec §4).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.core.clock import Clock
from sandbox.core.concurrency import AccountLimits, Reason, TokenBucket
from sandbox.core.telemetry import RecordKind
from sandbox.errors import TooManyRequestsException
from sandbox.service.telemetry import TelemetryBus

__all__ = ["Admission", "Lease", "PoolSizes"]

FnKey = tuple[str, str]  # account, function
PcKey = tuple[str, str, str]  # account, function, provisioned qualifier


@dataclass(slots=True)
class Lease:
    """Permission for one request to run. ``provisioned`` names the provisioned
    concurrency config whose environment may serve it; ``spillover`` is True when the
    request's qualifier has one but all its environments were busy."""

    account_id: str
    function_name: str
    reserved: bool
    provisioned: str | None = None
    spillover: bool = False
    released: bool = False


@dataclass(frozen=True, slots=True)
class PoolSizes:
    """What admission needs to know about an account's settings (from the store)."""

    reserved: dict[str, int]  # function -> reserved concurrency
    provisioned: dict[str, dict[str, int]]  # function -> qualifier -> requested


class Admission:
    """Counts requests in flight and admits or throttles them (one per sandbox)."""

    def __init__(
        self,
        limits: AccountLimits,
        clock: Clock,
        bus: TelemetryBus,
        *,
        sizes: Callable[[str], PoolSizes],
        provisioned_ready: Callable[[str, str, str], int],
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._bus = bus
        self._sizes = sizes
        self._ready = provisioned_ready
        self._lock = threading.RLock()
        self._on_demand: defaultdict[FnKey, int] = defaultdict(int)
        self._unreserved: defaultdict[str, int] = defaultdict(int)
        self._provisioned: defaultdict[PcKey, int] = defaultdict(int)
        self._total: defaultdict[str, int] = defaultdict(int)
        self._request_rate: dict[FnKey, TokenBucket] = {}
        self._scaling: dict[FnKey, TokenBucket] = {}

    # the numbers -------------------------------------------------------------------------
    def in_flight(self, account_id: str, function_name: str | None = None) -> int:
        """Requests running now, in the account or for one function."""
        with self._lock:
            if function_name is None:
                return self._total[account_id]
            key = (account_id, function_name)
            return self._on_demand[key] + sum(
                n for (a, f, _), n in self._provisioned.items() if (a, f) == key
            )

    def unreserved_capacity(self, account_id: str) -> int:
        """The account's unreserved pool for on-demand requests: the quota less every
        reservation and the provisioned concurrency of unreserved functions."""
        return self._unreserved_capacity(self._sizes(account_id))

    def _unreserved_capacity(self, sizes: PoolSizes) -> int:
        reserved = sum(sizes.reserved.values())
        carved = sum(
            sum(per_q.values())
            for fn, per_q in sizes.provisioned.items()
            if fn not in sizes.reserved
        )
        return self.limits.concurrent_executions - reserved - carved

    # admission --------------------------------------------------------------------------
    def admit(
        self,
        account_id: str,
        function_name: str,
        *,
        qualifier: str | None,
        request_id: str,
        invocation_type: str = "RequestResponse",
        sizes: PoolSizes | None = None,
    ) -> Lease:
        """A lease for one request, or ``TooManyRequestsException`` (spec §3, §4).

        ``sizes``: the account's reserved and provisioned concurrency when the caller holds
        a recent copy (a burst refreshes its copy every few milliseconds)."""
        if sizes is None:
            sizes = self._sizes(account_id)
        reserved = sizes.reserved.get(function_name)
        provisioned_here = sizes.provisioned.get(function_name, {})
        key = (account_id, function_name)
        now = self._clock.time()
        with self._lock:
            self._check_rate(key, reserved, now, request_id, qualifier, invocation_type)
            if reserved == 0:
                # spec §4: reserved concurrency 0 throttles everything
                self._throttle(
                    Reason.RESERVED, "reserved", 0, key, request_id, qualifier, invocation_type
                )
            if qualifier is not None and qualifier in provisioned_here:
                pc_key = (account_id, function_name, qualifier)
                if self._provisioned[pc_key] < self._ready(*pc_key):
                    self._provisioned[pc_key] += 1
                    self._total[account_id] += 1
                    return Lease(account_id, function_name, reserved is not None, qualifier)
            spillover = qualifier is not None and qualifier in provisioned_here
            if reserved is not None:
                capacity = reserved - sum(provisioned_here.values())
                if self._on_demand[key] >= capacity:
                    self._throttle(
                        Reason.RESERVED,
                        "reserved",
                        reserved,
                        key,
                        request_id,
                        qualifier,
                        invocation_type,
                    )
            else:
                capacity = self._unreserved_capacity(sizes)
                if self._unreserved[account_id] >= capacity:
                    self._throttle(
                        Reason.ACCOUNT,
                        "account",
                        self.limits.concurrent_executions,
                        key,
                        request_id,
                        qualifier,
                        invocation_type,
                    )
                self._unreserved[account_id] += 1
            self._on_demand[key] += 1
            self._total[account_id] += 1
            return Lease(account_id, function_name, reserved is not None, None, spillover)

    def release(self, lease: Lease) -> None:
        """The request is over (idempotent)."""
        with self._lock:
            if lease.released:
                return
            lease.released = True
            key = (lease.account_id, lease.function_name)
            if lease.provisioned is not None:
                self._provisioned[(*key, lease.provisioned)] -= 1
            else:
                self._on_demand[key] -= 1
                if not lease.reserved:
                    self._unreserved[lease.account_id] -= 1
            self._total[lease.account_id] -= 1

    def _check_rate(
        self,
        key: FnKey,
        reserved: int | None,
        now: float,
        request_id: str,
        qualifier: str | None,
        invocation_type: str,
    ) -> None:
        factor = self.limits.request_rate_factor
        if not factor:
            return
        # spec §4: 10 x the concurrency quota requests per second (10 x reserved)
        per_second = factor * (reserved if reserved else self.limits.concurrent_executions)
        bucket_key = key if reserved else (key[0], "")
        bucket = self._request_rate.get(bucket_key)
        if bucket is None or bucket.capacity != per_second:
            bucket = self._request_rate[bucket_key] = TokenBucket(per_second, per_second, now)
        if not bucket.take(now):
            reason = Reason.RESERVED_RATE if reserved else Reason.FUNCTION_RATE
            self._throttle(
                reason,
                "request-rate",
                per_second,
                key,
                request_id,
                qualifier,
                invocation_type,
                retry_after=bucket.seconds_until(now),
            )

    def take_scaling_token(
        self,
        account_id: str,
        function_name: str,
        *,
        request_id: str,
        qualifier: str | None,
        invocation_type: str,
    ) -> None:
        """Placement is about to start a new environment: the function's scaling rate
        (spec §4: +1,000 environments per 10 s) must allow it."""
        key = (account_id, function_name)
        now = self._clock.time()
        limits = self.limits
        with self._lock:
            bucket = self._scaling.get(key)
            if bucket is None:
                bucket = self._scaling[key] = TokenBucket(
                    limits.scaling_rate, limits.scaling_rate / limits.scaling_period, now
                )
            if not bucket.take(now):
                self._throttle(
                    Reason.ACCOUNT,
                    "scaling-rate",
                    limits.scaling_rate,
                    key,
                    request_id,
                    qualifier,
                    invocation_type,
                    retry_after=bucket.seconds_until(now),
                )

    def refuse_capacity(
        self,
        account_id: str,
        function_name: str,
        request_id: str,
        qualifier: str | None,
        cap: int,
    ) -> None:
        """Throttle a request that needs a new environment when the sandbox holds
        ``max_environments`` busy ones (:mod:`sandbox.service.capacity`): to the caller the
        machine is out of concurrency, as an account can be (spec §4)."""
        with self._lock:
            self._throttle(
                Reason.ACCOUNT,
                "max-environments",
                cap,
                (account_id, function_name),
                request_id,
                qualifier,
                "RequestResponse",
            )

    def _throttle(
        self,
        reason: str,
        limit: str,
        value: int,
        key: FnKey,
        request_id: str,
        qualifier: str | None,
        invocation_type: str,
        retry_after: float | None = None,
    ) -> None:
        on_provisioned = sum(n for (a, f, _), n in self._provisioned.items() if (a, f) == key)
        in_flight = self._on_demand[key] + on_provisioned
        provisioned = sum(self._sizes(key[0]).provisioned.get(key[1], {}).values())
        self._bus.emit(
            RecordKind.THROTTLE,
            account_id=key[0],
            function_name=key[1],
            request_id=request_id,
            detail={
                "reason": reason,
                "limit": limit,
                "limit_value": value,
                "in_flight": in_flight,
                "provisioned": provisioned,
                "qualifier": qualifier,
                "invocation_type": invocation_type,
            },
        )
        raise TooManyRequestsException(
            "Rate Exceeded.",
            reason=reason,
            retry_after_seconds=None if retry_after is None else max(1, round(retry_after)),
            request_id=request_id,
        )
