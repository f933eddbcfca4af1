"""Lab 4's exercises: reserved concurrency as a cap, provisioned concurrency against cold
starts, and the unreserved minimum of the account.

Why these three: they are the three settings a student will reach for first in production,
and each has a rule the lab shows once (a cap throttles, provisioned environments must be
READY, 10 % stays unreserved). The checks read the throttle records, the invocation records
(``init_type`` says which kind of environment served a request) and the account settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox import Sandbox
from sandbox.core.concurrency import unreserved_minimum
from sandbox.lab import NotYet, Window, exercise
from sandbox.lab import ensure_function as _ensure

SLOW = """import time


def lambda_handler(event, context):
    time.sleep(0.3)  # pretend to call a database
    return "ok"
"""
QUICK = """def lambda_handler(event, context):
    return {"paid": True}
"""
RESERVED = "ReservedFunctionConcurrentInvocationLimitExceeded"


def _setup_burst(sb: Sandbox) -> Mapping[str, object]:
    _ensure(sb, "burst", SLOW)
    return {}


@exercise(
    "4.1",
    title="Throttle exactly five",
    task=(
        "Set reserved concurrency on `burst` so that a burst of 15 simultaneous requests "
        "has exactly 5 throttled requests. Then send that burst in the same cell: "
        '`sb.invoke_many("burst", [{}] * 15, concurrency=15)`.'
    ),
    hints=(
        "Reserved concurrency is a cap: a request that finds the cap reached gets a 429 "
        "and never runs.",
        "Fifteen arrive together. How many of them may be in flight if five must be refused?",
    ),
    setup=_setup_burst,
)
def _throttle_five(sb: Sandbox, window: Window) -> str:
    ran = len(window.invocations("burst"))
    throttles = window.throttles("burst")
    if ran + len(throttles) == 0:
        raise NotYet("no request reached `burst` in this attempt: send the burst in the cell.")
    if ran + len(throttles) != 15:
        raise NotYet(
            f"this attempt sent {ran + len(throttles)} requests to `burst` "
            f"({ran} ran, {len(throttles)} throttled); the task is one burst of 15."
        )
    other = [r for r in throttles if r.detail.get("reason") != RESERVED]
    if other:
        raise NotYet(
            f"{len(other)} request(s) were throttled by another limit "
            f"({other[0].detail.get('reason')}), not by `burst`'s reserved concurrency."
        )
    if len(throttles) != 5:
        raise NotYet(f"the burst of 15 had {len(throttles)} throttled request(s) and {ran} ran.")
    return (
        "Reserved concurrency capped `burst`: the requests above the cap got "
        "TooManyRequestsException (Reason ReservedFunctionConcurrentInvocationLimitExceeded)."
    )


def _setup_checkout(sb: Sandbox) -> Mapping[str, object]:
    _ensure(sb, "checkout", QUICK)
    try:
        sb.get_alias("checkout", "live")
    except sb.exceptions.ResourceNotFoundException:
        version = sb.publish_version("checkout")
        sb.create_alias("checkout", "live", version.version)
    return {}


@exercise(
    "4.2",
    title="No cold starts for live",
    task=(
        "Configure `checkout` so that requests to its alias `live` never wait for INIT. "
        "Then, in the same cell, invoke the alias five times, one after the other: "
        '`sb.invoke("checkout", qualifier="live")`. None of the five may be a cold start, '
        "including the first."
    ),
    hints=(
        "A cold start is INIT on the request's path. Which setting runs INIT before any "
        "request arrives?",
        "That setting belongs to a version or an alias, and its environments are usable "
        "only once its status is READY.",
    ),
    setup=_setup_checkout,
)
def _no_cold_starts(sb: Sandbox, window: Window) -> str:
    calls = [r for r in window.invocations("checkout") if r.detail.get("qualifier") == "live"]
    if len(calls) < 5:
        raise NotYet(f"`checkout:live` ran {len(calls)} time(s) in this attempt, not five.")
    cold = sum(1 for r in calls if r.detail.get("cold"))
    on_demand = sum(1 for r in calls if r.init_type != "provisioned-concurrency")
    if cold or on_demand:
        raise NotYet(
            f"of {len(calls)} requests to `checkout:live`, {cold} waited for INIT (cold "
            f"start) and {on_demand} ran in on-demand environments."
        )
    return (
        "Every request ran in an environment initialised ahead of time "
        "(AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency): no Init Duration."
    )


def _setup_critical(sb: Sandbox) -> Mapping[str, object]:
    _ensure(sb, "critical", QUICK)
    return {}


@exercise(
    "4.3",
    title="Reserve all you may",
    task=(
        "`critical` must be able to run as many requests at once as the account allows, "
        "whatever the other functions do. Reserve for it the largest concurrency the "
        "account accepts (other functions may already reserve some)."
    ),
    hints=(
        "get_account_settings() shows the quota and what is still unreserved.",
        "AWS never lets reservations take the whole quota: 100 of 1,000 stay unreserved, "
        "and the sandbox keeps the same share of a smaller quota. Too much is an "
        "InvalidParameterValueException that names the minimum.",
    ),
    setup=_setup_critical,
)
def _reserve_the_most(sb: Sandbox, window: Window) -> str:
    reserved = sb.get_function_concurrency("critical").reserved_concurrent_executions
    if not reserved:
        raise NotYet("`critical` has no reserved concurrency.")
    limits: Any = sb.get_account_settings().to_aws()["AccountLimit"]
    unreserved = int(limits["UnreservedConcurrentExecutions"])
    if unreserved > unreserved_minimum(int(limits["ConcurrentExecutions"])):
        raise NotYet(
            f"`critical` reserves {reserved}, and the account could still reserve more: "
            f"{unreserved} is unreserved."
        )
    return (
        "The unreserved pool is at its minimum: every other function now shares only that, "
        "and `critical` is guaranteed (and capped at) its reservation."
    )
