"""A bounded load test: 1,000 concurrent synchronous invocations over four functions with
mixed reserved, provisioned and account limits (issue "Concurrency", acceptance).

From the telemetry: busy environments never exceed any limit at any instant; every request
ran exactly once or was throttled; nothing hangs; no process is left behind.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

import pytest

from sandbox import Sandbox
from sandbox.errors import TooManyRequestsException
from sandbox.service.metrics import concurrency_series

pytestmark = [pytest.mark.process, pytest.mark.slow, pytest.mark.timeout(300)]

HANDLER = """
import os, time
def lambda_handler(event, context):
    print("RAN", context.aws_request_id)
    time.sleep(event["hold"])
    return {"rid": context.aws_request_id, "pid": int(os.readlink("/proc/self"))}
"""
QUOTA = 300
RESERVED = {"a": 60, "b": 40}
PROVISIONED_B = 20  # on alias b:live, carved out of b's reservation
PER_FUNCTION = 250
HOLD = 3.0  # seconds each request holds its environment: all 1,000 overlap, even on a
# busy machine (at 1.5 s a slow burst let two late requests into capacity freed by early ones)


def _peak(series: list[tuple[float, int]]) -> int:
    return max((level for _, level in series), default=0)


def test_thousand_concurrent_invocations_respect_every_limit() -> None:
    with Sandbox.ephemeral(concurrency_limit=QUOTA) as sb:
        for name in "abcd":
            sb.create_function(name, HANDLER, timeout=30, publish=True)
        for name, reserved in RESERVED.items():
            sb.put_function_concurrency(name, reserved)
        sb.create_alias("b", "live", "1")
        sb.put_provisioned_concurrency_config("b", "live", PROVISIONED_B)
        assert sb.wait_for_provisioned_concurrency("b", "live", timeout=60).status == "READY"

        targets = {"a": "a", "b": "b:live", "c": "c", "d": "d"}
        results: dict[str, list[object]] = {}

        def burst(name: str) -> None:
            results[name] = list(
                sb.invoke_many(
                    targets[name], [{"hold": HOLD}] * PER_FUNCTION, concurrency=PER_FUNCTION
                )
            )

        threads = [threading.Thread(target=burst, args=(n,)) for n in "abcd"]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(240)
        assert not any(t.is_alive() for t in threads), "a burst hung"
        elapsed = time.monotonic() - started

        # every request ran exactly once or was throttled
        ran: Counter[str] = Counter()
        for record in sb.telemetry.records(kind="log"):
            line = str(record.detail.get("line", ""))
            if line.startswith("RAN "):
                ran[line.split()[1]] += 1
        counts = {}
        for name in "abcd":
            assert len(results[name]) == PER_FUNCTION
            ok = [r for r in results[name] if not isinstance(r, TooManyRequestsException)]
            throttled = [r for r in results[name] if isinstance(r, TooManyRequestsException)]
            assert len(ok) + len(throttled) == PER_FUNCTION
            for r in ok:
                assert r.function_error is None, r.payload  # type: ignore[union-attr]
                assert r.payload["rid"] == r.request_id  # type: ignore[union-attr,index]
                assert ran[r.request_id] == 1  # type: ignore[union-attr]
            counts[name] = (len(ok), len(throttled))
        assert sum(ran.values()) == sum(ok for ok, _ in counts.values())  # nothing ran twice

        # the limits held at every instant (from the invocation records)
        peaks = {n: _peak(concurrency_series(sb.telemetry, function_name=n)) for n in "abcd"}
        assert peaks["a"] <= RESERVED["a"]
        assert peaks["b"] <= RESERVED["b"]
        unreserved_pool = QUOTA - sum(RESERVED.values())
        unreserved = _peak(
            concurrency_series(sb.telemetry, where=lambda r: r.function_name in "cd")
        )
        assert unreserved <= unreserved_pool
        assert _peak(concurrency_series(sb.telemetry)) <= QUOTA
        provisioned = _peak(
            concurrency_series(
                sb.telemetry, where=lambda r: r.init_type == "provisioned-concurrency"
            )
        )
        assert provisioned <= PROVISIONED_B
        # ... and were reached: the burst was large enough to hit every one of them
        assert counts["a"][0] == RESERVED["a"] and counts["b"][0] == RESERVED["b"]
        assert counts["c"][0] + counts["d"][0] == unreserved_pool
        throttle_reasons = Counter(r["reason"] for r in sb.telemetry.rows(kind="throttle"))
        assert throttle_reasons["ReservedFunctionConcurrentInvocationLimitExceeded"] == (
            counts["a"][1] + counts["b"][1]
        )
        assert (
            throttle_reasons["ConcurrentInvocationLimitExceeded"] == counts["c"][1] + counts["d"][1]
        )
        print(
            f"\n1,000 requests in {elapsed:.1f} s: ran/throttled {counts}; peaks {peaks}, "
            f"unreserved {unreserved}, provisioned {provisioned}"
        )

        pids = [int(str(e["pid"])) for e in sb.environments() if e["pid"]]
        zygote = sb._shared.engine().launcher.zygote_pid
        assert len(pids) >= QUOTA
    # no process left behind
    deadline = time.monotonic() + 10
    alive = [p for p in [*pids, zygote] if p and _alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if _alive(p)]
    assert alive == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False
