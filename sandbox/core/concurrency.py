"""Concurrency accounting: the account quota, reserved and provisioned pools, rate limits.

Pure rules (spec §4), with time passed in so they can be tested on a fake clock:

* Concurrency is the number of requests in flight. The account has a quota (1,000 by
  default); functions with *reserved* concurrency draw from their own pool, every other
  function shares the *unreserved* pool, which must keep a minimum (100 on AWS).
* *Provisioned* concurrency is carved out of the pool the function draws from: a
  function with reserved 10 and 4 provisioned has 6 left for on-demand requests; an
  unreserved function's provisioned environments shrink the unreserved pool.
* A function scales by at most ``scaling_rate`` new environments per ``scaling_period``
  (1,000 per 10 s on AWS since Nov 2023), refilled continuously.
* Requests per second are limited to 10 × the concurrency quota for the account
  (10 × reserved for a function with reserved concurrency).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AWS_UNRESERVED_MINIMUM",
    "AccountLimits",
    "Reason",
    "TokenBucket",
    "unreserved_minimum",
]

_EPSILON = 1e-6
AWS_UNRESERVED_MINIMUM = 100  # spec §4: >= 100 must stay unreserved (of a 1,000 quota)


class Reason:
    """``TooManyRequestsException.Reason`` values (spec §3)."""

    ACCOUNT = "ConcurrentInvocationLimitExceeded"
    RESERVED = "ReservedFunctionConcurrentInvocationLimitExceeded"
    FUNCTION_RATE = "FunctionInvocationRateLimitExceeded"
    RESERVED_RATE = "ReservedFunctionInvocationRateLimitExceeded"


def unreserved_minimum(quota: int) -> int:
    """The part of the account quota that reserved concurrency may not take.

    AWS keeps 100 unreserved, with the default quota of 1,000 (10 %). A classroom quota
    smaller than 1,000 keeps the same 10 % (at least 1): a quota of 10 keeps 1.
    """
    if quota >= 1000:
        return AWS_UNRESERVED_MINIMUM
    return max(1, quota // 10)


@dataclass(frozen=True, slots=True)
class AccountLimits:
    """The concurrency settings of an account in a region.

    Attributes:
        concurrent_executions: the quota (``ConcurrentExecutions``).
        scaling_rate: new environments a function may add per ``scaling_period``.
        scaling_period: seconds of platform time over which ``scaling_rate`` refills.
        request_rate_factor: requests per second per unit of concurrency (10 on AWS);
            ``0`` turns the request-rate limit off.
    """

    concurrent_executions: int = 1000
    scaling_rate: int = 1000
    scaling_period: float = 10.0
    request_rate_factor: int = 10

    def __post_init__(self) -> None:
        if self.concurrent_executions < 1:
            raise ValueError("the concurrency quota must be at least 1")
        if self.scaling_rate < 1 or self.scaling_period <= 0:
            raise ValueError("the scaling rate must be positive")
        if self.request_rate_factor < 0:
            raise ValueError("the request rate factor cannot be negative")

    @property
    def unreserved_minimum(self) -> int:
        return unreserved_minimum(self.concurrent_executions)


class TokenBucket:
    """A bucket of ``capacity`` tokens refilled at ``rate`` per second of platform time,
    continuously and never above capacity (spec §4: the scaling rate "refills
    continuously, not accumulated")."""

    __slots__ = ("capacity", "last", "rate", "tokens")

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = float(capacity)
        self.rate = float(rate)
        self.tokens = float(capacity)
        self.last = now

    def _refill(self, now: float) -> None:
        if now > self.last:
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
            self.last = now

    def take(self, now: float, n: float = 1.0) -> bool:
        """Take ``n`` tokens if there are that many; whether it could."""
        self._refill(now)
        if self.tokens >= n - _EPSILON:  # epoch-sized floats lose the last digits
            self.tokens = max(0.0, self.tokens - n)
            return True
        return False

    def available(self, now: float) -> float:
        self._refill(now)
        return self.tokens

    def seconds_until(self, now: float, n: float = 1.0) -> float:
        """Platform seconds until ``n`` tokens are there."""
        self._refill(now)
        missing = n - self.tokens
        return 0.0 if missing <= 0 else missing / self.rate
