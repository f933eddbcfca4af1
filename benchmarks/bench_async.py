"""Throughput of the asynchronous path: events accepted per second (``invoke`` with
``invocation_type="Event"``, each one committed to the store before its 202) and events
handled per second (run by the queue's workers and marked done, with a record delivered
to an on-success queue).

Run: ``python benchmarks/bench_async.py [--events N] [--isolation paths]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import Sandbox

HANDLER = "def lambda_handler(event, context):\n    return event['i']\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--isolation", default=None)
    parser.add_argument("--destination", action="store_true", help="records to a queue")
    args = parser.parse_args()
    with Sandbox.ephemeral(isolation=args.isolation, request_rate_factor=0) as sb:
        sb.create_function("fn", HANDLER)
        if args.destination:
            sb.sqs.create_queue("done")
            sb.put_function_event_invoke_config(
                "fn",
                destination_config={
                    "OnSuccess": {"Destination": f"arn:aws:sqs:us-east-1:{sb.account_id}:done"}
                },
            )
        sb.invoke("fn", {"i": -1})  # the zygote is warm
        accept: list[float] = []
        start = time.perf_counter()
        for i in range(args.events):
            t = time.perf_counter()
            sb.invoke("fn", {"i": i}, invocation_type="Event")
            accept.append(time.perf_counter() - t)
        accepted = time.perf_counter() - start
        assert sb.drain(600)
        handled = time.perf_counter() - start
        outcomes = {e["outcome"] for e in sb.async_events("fn")}
        assert outcomes == {"Success"}, outcomes
        accept.sort()
        print(
            f"isolation {sb.isolation}, {args.events} events"
            f"{' with an on-success queue' if args.destination else ''}: "
            f"accepted {args.events / accepted:,.0f}/s "
            f"(p50 {statistics.median(accept) * 1e3:.2f} ms, "
            f"p99 {accept[int(len(accept) * 0.99)] * 1e3:.2f} ms); "
            f"all handled after {handled:.2f} s: {args.events / handled:,.0f}/s end to end"
        )


if __name__ == "__main__":
    main()
