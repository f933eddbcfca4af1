"""Layer benchmark: a cold start with three layers against one without.

Run: ``python benchmarks/bench_layers.py [--cold N]``.
Target (issue "Layers"): a cold start with three layers stays within 2 ms of one without.
Both functions run the same no-op handler; the layered one has three layers of 20 small
files each (one holds a Python package the handler does *not* import, so what is measured
is the cost of the layers being there: the merged /opt, its mount, sys.path). Cold starts
of the two alternate, so drift of the machine hits both alike. The one-time cost of merging
the three layers into a shared /opt is reported apart.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import Sandbox

NOOP = "def lambda_handler(event, context):\n    return None\n"


def layer_zip(i: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for j in range(20):
            archive.writestr(f"python/pkg{i}/mod{j}.py", f"VALUE = {j}\n" * 50)
        archive.writestr(f"python/pkg{i}/__init__.py", "")
        archive.writestr(f"bin/tool{i}", "#!/bin/sh\necho hi\n")
        archive.writestr("lib/shared.txt", f"layer {i}\n")  # a conflict: the last one wins
    return buffer.getvalue()


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def cold_once(sb: Sandbox, name: str, i: int) -> float:
    sb.update_function_configuration(name, description=f"run {i}")  # retires the env
    t = time.perf_counter()
    result = sb.invoke(name)
    elapsed = time.perf_counter() - t
    assert "Init Duration" in result.logs[-1]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=200, help="cold starts of each function")
    args = parser.parse_args()
    with Sandbox.ephemeral(request_rate_factor=0) as sb:
        arns = [
            sb.publish_layer_version(f"layer{i}", layer_zip(i)).layer_version_arn for i in range(3)
        ]
        sb.create_function("plain", NOOP)
        sb.create_function("layered", NOOP, layers=arns)
        sb.invoke("plain")  # starts the engine
        t = time.perf_counter()
        sb.invoke("layered")  # extracts and merges the three layers once
        first = time.perf_counter() - t
        print(f"isolation: {sb.isolation}")
        print(f"first cold start with three layers (extract + merge once): {first * 1e3:.1f} ms")
        plain: list[float] = []
        layered: list[float] = []
        for i in range(args.cold):
            plain.append(cold_once(sb, "plain", i))
            layered.append(cold_once(sb, "layered", i))
        for label, samples in (("no layers", plain), ("three layers", layered)):
            print(
                f"cold start, {label} ({args.cold}): p50 {pct(samples, 50) * 1e3:.2f} ms, "
                f"p90 {pct(samples, 90) * 1e3:.2f} ms"
            )
        delta = (pct(layered, 50) - pct(plain, 50)) * 1e3
        print(f"difference of the medians: {delta:+.2f} ms (target: within 2 ms)")


if __name__ == "__main__":
    main()
