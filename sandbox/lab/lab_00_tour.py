"""Lab 0, the tour: two short exercises on what the tour showed first.

Why these two: a new user leaves the tour with two ideas worth checking by doing, not by
reading. An environment is reused until something retires it (0.1), and an alias is how a
rollout ends without callers changing anything (0.2). Both checks read the sandbox: the
invocation records of the attempt, and the alias as the store holds it.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from sandbox.lab import NotYet, Window, exercise

if TYPE_CHECKING:
    from sandbox import Sandbox

# The tour's function, before and after its canary (cells 4 and 11 of 00-tour.ipynb).
HELLO = """import time


def lambda_handler(event, context):
    time.sleep(event.get("sleep", 0))  # pretend to do some work
    return {"hello": event.get("name", "world")}
"""
HELLO_CANARY = """import time


def lambda_handler(event, context):
    time.sleep(event.get("sleep", 0))
    if "Records" in event:  # a batch of messages from an SQS queue
        return {"hello": [record["body"] for record in event["Records"]]}
    return {"hello": event.get("name", "world"), "version": context.function_version}
"""


def _ensure_hello(sb: Sandbox) -> None:
    try:
        sb.get_function("hello")
    except sb.exceptions.ResourceNotFoundException:
        sb.create_function("hello", HELLO, memory_size=256)


def _warm_hello(sb: Sandbox) -> dict[str, object]:
    """``hello`` exists and has a warm environment, as at the end of the tour."""
    _ensure_hello(sb)
    with contextlib.suppress(sb.exceptions.TooManyRequestsException):  # a cap left on hello
        sb.invoke("hello", {"name": "setup"})
    return {}


@exercise(
    "0.1",
    title="Cold, then warm",
    task=(
        "Make `hello` start a new execution environment and then reuse it. The check looks "
        "at this attempt's invocations of `hello` for a cold start followed by a warm start "
        "in the same environment. Careful: `hello` already has warm environments from the "
        "tour, so a plain invoke now is warm."
    ),
    hints=(
        "Lambda keeps an environment while it is useful. What makes it stop using the ones "
        "`hello` has now?",
        "Lambda never serves new code or a new configuration from an old environment. Change "
        "one of `hello`'s settings (its memory, say), then invoke it more than once.",
    ),
    setup=_warm_hello,
)
def _cold_then_warm(sb: Sandbox, window: Window) -> str:
    runs = window.invocations("hello")
    cold_envs: set[str] = set()
    for record in runs:
        if record.detail.get("cold"):
            cold_envs.add(record.env_id)
        elif record.env_id in cold_envs:
            return (
                "The first request paid for INIT; the next one found the environment ready. "
                "That is why a warm start has no Init Duration."
            )
    if not runs:
        raise NotYet("`hello` did not run in this attempt.")
    if not cold_envs:
        raise NotYet(
            f"`hello` ran {len(runs)} time(s) in this attempt, all warm: every request found "
            "an environment waiting."
        )
    raise NotYet(
        f"`hello` ran {len(runs)} time(s) in this attempt and started {len(cold_envs)} new "
        "environment(s), but no environment served a second request."
    )


def _published(sb: Sandbox) -> list[str]:
    versions = sb.list_versions_by_function("hello").versions
    return [v.version for v in versions if v.version != "$LATEST"]


def _canary(sb: Sandbox) -> dict[str, object]:
    """``hello`` has versions 1 and 2 and the alias ``live`` sends 20 % to version 2."""
    _ensure_hello(sb)
    try:
        sb.get_alias("hello", "live")
        return {}
    except sb.exceptions.ResourceNotFoundException:
        pass
    if not _published(sb):
        sb.publish_version("hello", description="first release")
    if len(_published(sb)) < 2:
        sb.update_function_code("hello", HELLO_CANARY)
        sb.publish_version("hello", description="canary")
    sb.create_alias("hello", "live", "1", routing_config={"AdditionalVersionWeights": {"2": 0.2}})
    return {}


@exercise(
    "0.2",
    title="Finish the rollout",
    task=(
        "The canary is healthy. Send all of the alias `live`'s traffic to version 2 of "
        "`hello`, with no weighted share left for any other version. Callers keep invoking "
        "`hello:live`. (Exercise cells take `%lambda` lines too, but here the `sb` methods "
        "say exactly what changes.)"
    ),
    hints=(
        "An alias has a primary version and, for a canary, weights for other versions. "
        'Look at it with sb.get_alias("hello", "live").',
        "Move the primary version and empty the routing configuration in the same "
        "update_alias call: one version cannot be both the primary and a weighted one.",
    ),
    setup=_canary,
)
def _finish_rollout(sb: Sandbox, window: Window) -> str:
    alias = sb.get_alias("hello", "live")
    weights = {v: w for v, w in alias.additional_version_weights.items() if w}
    shares = ", ".join(f"{w:.0%} to version {v}" for v, w in sorted(weights.items()))
    if alias.function_version != "2" or weights:
        seen = f"`live` points at version {alias.function_version}"
        raise NotYet(seen + (f" and sends {shares}." if shares else "."))
    return "Every request to hello:live now runs version 2, and no caller had to change."
