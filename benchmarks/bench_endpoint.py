"""HTTP endpoint benchmark: boto3 ``invoke`` round trips through ``Sandbox.serve()``.

Run: ``python benchmarks/bench_endpoint.py [--n N]``. A no-op handler, an unmodified boto3
client on one kept-alive connection; each sample is the wall time of ``client.invoke``
(botocore's serialise/sign/parse included), next to the in-process ``Sandbox.invoke`` and
a ``GetAccountSettings`` (no function run) so the endpoint's own share is visible.
Results go to docs/performance.md by hand, with the command.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3
from botocore.config import Config

from sandbox import Sandbox

NOOP = "def lambda_handler(event, context):\n    return None\n"


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def measure(label: str, n: int, call: Callable[[], object]) -> None:
    for _ in range(50):
        call()
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        lat.append(time.perf_counter() - t)
    print(f"{label} ({n}): p50 {pct(lat, 50) * 1e3:.3f} ms, p99 {pct(lat, 99) * 1e3:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    with Sandbox.ephemeral() as sb:
        sb.create_function("noop", NOOP)
        server = sb.serve(port=0)
        client = boto3.client(
            "lambda",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(retries={"total_max_attempts": 1}),
        )
        measure("Sandbox.invoke, in process", args.n, lambda: sb.invoke("noop"))
        measure(
            "boto3 invoke via the endpoint",
            args.n,
            lambda: client.invoke(FunctionName="noop", Payload=b"{}")["Payload"].read(),
        )
        measure("boto3 get_account_settings via the endpoint", args.n, client.get_account_settings)
        server.close()


if __name__ == "__main__":
    main()
