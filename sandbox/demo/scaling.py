"""The demo's Concurrency step: cold then warm, a burst, reserved concurrency throttling,
provisioned concurrency and its spillover — on one function, so one picture shows it all.

The step returns its phases (label, start, end in platform time) so the pictures can mark
them: what to look at is the point of a picture.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sandbox import Sandbox
from sandbox.demo.app import CHECKOUT, say, table
from sandbox.demo.building import title
from sandbox.errors import LambdaError, TooManyRequestsException

__all__ = ["NAME", "Phase", "step_concurrency"]

NAME = "order-checkout"


@dataclass(frozen=True, slots=True)
class Phase:
    """One part of the step, in platform time (``sb.clock``), for the pictures' marks.

    Attributes:
        label: what it did and what to see, two short lines.
        limit: the limit in force meanwhile, ``("reserved", 3)``, if any.
    """

    label: str
    start: float
    end: float
    limit: tuple[str, int] | None = None


def _causes(sb: Sandbox, results: list[object]) -> Counter[str]:
    """What ``sb.explain`` says about each request: cold, warm, provisioned, throttled."""
    causes: Counter[str] = Counter()
    for r in results:
        request_id = getattr(r, "request_id", None) or ""
        causes[sb.explain(request_id).outcome if request_id else "unknown"] += 1
    return causes


_SAID = {"cold-start": "cold", "warm-start": "warm", "provisioned": "provisioned, no cold start"}


def _count(causes: Counter[str]) -> str:
    return ", ".join(f"{n} {_SAID.get(outcome, outcome)}" for outcome, n in sorted(causes.items()))


def step_concurrency(sb: Sandbox) -> list[Phase]:
    """Run the four phases and print what each shows, with ``sb.explain``'s sentences."""
    title(5, "Concurrency", "one environment serves one request at a time.")
    sb.create_function(NAME, CHECKOUT, description="reserves stock for 0.3 s")
    return [_one_at_a_time(sb), _burst(sb), _reserved(sb), _provisioned(sb)]


def _one_at_a_time(sb: Sandbox) -> Phase:
    """The first request waits for INIT; the next one finds the environment idle."""
    start = sb.clock.time()
    cold = sb.invoke(NAME, {})
    warm = sb.invoke(NAME, {})
    init = next((line for line in cold.logs if "Init Duration" in line), "")
    init_ms = init.split("Init Duration: ")[-1].split(" ms")[0] if init else "?"
    say(f"request 1: {sb.explain(cold.request_id)} (Init Duration {init_ms} ms)")
    say(f"request 2: {sb.explain(warm.request_id)}")
    return Phase("one at a time:\ncold, then warm", start, sb.clock.time())


def _burst(sb: Sandbox) -> Phase:
    """Requests at the same moment cannot share an environment: each busy one adds one."""
    start = sb.clock.time()
    causes = _causes(sb, list(sb.invoke_many(NAME, [{}] * 6, concurrency=6)))
    envs = [e for e in sb.environments() if e["function_name"] == NAME]
    say(f"a burst of 6 at once needs 6 environments ({_count(causes)}):")
    print(
        table(
            [(e["env_id"], e["version"], e["init_type"], e["invocations"]) for e in envs],
            ["Environment", "Version", "InitType", "Invocations"],
        )
    )
    label = f"burst of 6:\n{causes['cold-start']} new environments"
    return Phase(label, start, sb.clock.time())


def _reserved(sb: Sandbox) -> Phase:
    """Reserved concurrency caps the function: the requests beyond it get a 429."""
    sb.put_function_concurrency(NAME, 3)
    start = sb.clock.time()
    capped = sb.invoke_many(NAME, [{}] * 6, concurrency=6)
    throttled = [r for r in capped if isinstance(r, TooManyRequestsException)]
    ran = len(capped) - len(throttled)
    say(
        f"put_function_concurrency(ReservedConcurrentExecutions=3), a burst of 6: "
        f"{ran} ran, {len(throttled)} throttled (429)"
    )
    if throttled:
        say(f"why? {sb.explain(throttled[0].request_id or '')}")
    end = sb.clock.time()
    sb.delete_function_concurrency(NAME)
    label = f"reserved = 3:\n{ran} ran, {len(throttled)} throttled"
    return Phase(label, start, end, ("reserved", 3))


def _provisioned(sb: Sandbox) -> Phase:
    """Provisioned environments run INIT before any request; beyond them, requests spill
    over to on-demand environments, with cold starts."""
    try:  # provisioned environments initialise known code: a version or an alias
        sb.put_provisioned_concurrency_config(NAME, "$LATEST", 2)
    except LambdaError as exc:
        say(f"provisioned concurrency on $LATEST? {exc.code}: {exc.message}")
    sb.create_alias(NAME, "live", sb.publish_version(NAME).version)
    start = sb.clock.time()
    sb.put_provisioned_concurrency_config(NAME, "live", 2)
    config = sb.wait_for_provisioned_concurrency(NAME, "live")
    say(
        f"put_provisioned_concurrency_config(live, 2): {config.status} with "
        f"{config.allocated_provisioned_concurrent_executions} environments initialised "
        "before any request"
    )
    spill = sb.invoke_many(NAME, [{}] * 4, qualifier="live", concurrency=4)
    served = [r for r in spill if not isinstance(r, LambdaError)]
    warm = [r for r in served if sb.explain(r.request_id).outcome == "provisioned"]
    spilled = [r for r in served if r not in warm]
    say(f"a burst of 4 on live: {len(warm)} provisioned, {len(spilled)} spilled over")
    if warm:
        has_init = any("Init Duration" in line for line in warm[0].logs)
        say(f"why? {sb.explain(warm[0].request_id)}")
        say(f"(its REPORT line has {'an' if has_init else 'no'} Init Duration)")
    if spilled:
        say(f"and: {sb.explain(spilled[0].request_id)}")
    label = f"provisioned = 2 on live:\n{len(warm)} provisioned, {len(spilled)} spill over"
    return Phase(label, start, sb.clock.time(), ("provisioned", 2))
