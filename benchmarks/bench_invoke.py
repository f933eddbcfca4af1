"""Invoke benchmarks: warm overhead, cold start, and throughput at concurrency 1/8/32.

Run: ``python benchmarks/bench_invoke.py [--warm N] [--cold N] [--seconds S]``.
A no-op handler through the public in-process API (``Sandbox.invoke``): what is measured
is the sandbox's own overhead. Results go to docs/performance.md by hand, with the command.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import Sandbox

NOOP = "def lambda_handler(event, context):\n    return None\n"


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def warm(sb: Sandbox, n: int) -> None:
    sb.invoke("noop")
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        sb.invoke("noop")
        lat.append(time.perf_counter() - t)
    print(
        f"warm invoke ({n}): p50 {pct(lat, 50) * 1e6:.0f} us, p99 {pct(lat, 99) * 1e6:.0f} us, "
        f"mean {statistics.fmean(lat) * 1e6:.0f} us"
    )


def cold(sb: Sandbox, n: int) -> None:
    lat = []
    for i in range(n):
        sb.update_function_configuration("cold", description=f"run {i}")  # retires the env
        t = time.perf_counter()
        result = sb.invoke("cold")
        lat.append(time.perf_counter() - t)
        assert "Init Duration" in result.logs[-1]
    print(
        f"cold start to first result ({n}): p50 {pct(lat, 50) * 1e3:.2f} ms, "
        f"p99 {pct(lat, 99) * 1e3:.2f} ms"
    )


def throughput(sb: Sandbox, concurrency: int, seconds: float) -> None:
    stop = time.perf_counter() + seconds
    counts = [0] * concurrency
    barrier = threading.Barrier(concurrency)

    def worker(i: int) -> None:
        barrier.wait()
        while time.perf_counter() < stop:
            sb.invoke("noop")
            counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    envs = sum(1 for e in sb.environments() if e["function_name"] == "noop")
    print(
        f"throughput at concurrency {concurrency}: {sum(counts) / elapsed:,.0f} invokes/s "
        f"({envs} environments)"
    )


def burst(sb: Sandbox, concurrency: int, seconds: float) -> None:
    batch = [None] * 2000
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        results = sb.invoke_many("noop", batch, concurrency=concurrency)
        assert all(r.function_error is None for r in results)
        done += len(results)
    elapsed = time.perf_counter() - start
    envs = sum(1 for e in sb.environments() if e["function_name"] == "noop")
    print(
        f"burst (invoke_many) at concurrency {concurrency}: {done / elapsed:,.0f} invokes/s "
        f"({envs} environments)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warm", type=int, default=5000)
    parser.add_argument("--cold", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--isolation", default=None)
    args = parser.parse_args()
    # request_rate_factor=0: AWS's limit of 10 x the quota requests per second (10,000/s)
    # would throttle the bursts; what is measured here is the sandbox's own overhead
    with Sandbox.ephemeral(isolation=args.isolation, request_rate_factor=0) as sb:
        sb.create_function("noop", NOOP)
        sb.create_function("cold", NOOP)
        sb.invoke("cold")
        print(f"isolation: {sb.isolation}")
        warm(sb, args.warm)
        cold(sb, args.cold)
        for c in (1, 8, 32):
            throughput(sb, c, args.seconds)
        for c in (1, 8, 32):
            burst(sb, c, args.seconds)


if __name__ == "__main__":
    main()
