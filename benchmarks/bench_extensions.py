"""Extension benchmark: warm invoke overhead with one external extension registered for
INVOKE, against the same function without it.

Run: ``python benchmarks/bench_extensions.py [--warm N]``.
Target (issue "Extensions"): ≤ 1 ms p50 over the no-extension path.

The extension is the smallest faithful one: a Python script that registers for INVOKE
and loops on ``event/next`` with one keep-alive ``http.client`` connection, doing nothing
with the events. Two figures per function, both warm: the **response** (``sb.invoke``
returning) and the **cycle** (until the environment is idle again, which with an
extension means the extension is back in ``event/next``: Lambda's invoke phase; without
one the environment is idle before ``sb.invoke`` returns).
"""

from __future__ import annotations

import argparse
import io
import sys
import threading
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import Sandbox

NOOP = "def lambda_handler(event, context):\n    return None\n"
EXTENSION = f"""#!{sys.executable}
import http.client, json, os
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
conn = http.client.HTTPConnection(host, int(port))
conn.request("POST", "/2020-01-01/extension/register", json.dumps({{"events": ["INVOKE"]}}),
             {{"Lambda-Extension-Name": "noop"}})
reply = conn.getresponse()
identifier = reply.getheader("Lambda-Extension-Identifier")
reply.read()
while True:
    conn.request("GET", "/2020-01-01/extension/event/next",
                 headers={{"Lambda-Extension-Identifier": identifier}})
    conn.getresponse().read()
"""


def layer() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("extensions/noop")
        info.create_system = 3
        info.external_attr = 0o100755 << 16
        archive.writestr(info, EXTENSION)
    return buffer.getvalue()


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def measure(sb: Sandbox, name: str, n: int) -> tuple[list[float], list[float]]:
    idle = threading.Event()

    def on_record(record: object) -> None:
        # the extensions' post-invoke work is over (a warm start leaves no state record)
        if getattr(record, "phase", "") == "post-runtime-extensions":
            idle.set()

    unsubscribe = sb.telemetry.subscribe(on_record)
    response: list[float] = []
    cycle: list[float] = []
    try:
        for i in range(n + 50):
            idle.clear()
            t = time.perf_counter()
            result = sb.invoke(name)
            answered = time.perf_counter() - t
            if name != "plain" and not idle.wait(5):  # plain: idle before invoke returns
                raise RuntimeError("the environment did not become idle")
            done = time.perf_counter() - t
            assert result.function_error is None
            if i >= 50:  # warm-up
                response.append(answered)
                cycle.append(done)
    finally:
        unsubscribe()
    return response, cycle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=2000, help="warm invokes per function")
    args = parser.parse_args()
    with Sandbox.ephemeral(request_rate_factor=0) as sb:
        arn = sb.publish_layer_version("noop-extension", layer()).layer_version_arn
        sb.create_function("plain", NOOP)
        sb.create_function("extended", NOOP, layers=[arn])
        print(f"isolation: {sb.isolation}")
        figures = {}
        for name in ("plain", "extended"):
            response, cycle = measure(sb, name, args.warm)
            figures[name] = (pct(response, 50), pct(cycle, 50))
            print(
                f"{name:9s} warm ({args.warm}): response p50 {pct(response, 50) * 1e6:.0f} us, "
                f"p99 {pct(response, 99) * 1e6:.0f} us; cycle p50 {pct(cycle, 50) * 1e6:.0f} us, "
                f"p99 {pct(cycle, 99) * 1e6:.0f} us"
            )
        envs = [e for e in sb.environments() if e["function_name"] == "extended"]
        print(f"environments of 'extended': {len(envs)} (1 means every invoke was warm)")
        for i, label in enumerate(("response", "cycle")):
            delta = (figures["extended"][i] - figures["plain"][i]) * 1e3
            print(f"overhead of one extension, {label} p50: {delta:+.3f} ms (target: <= 1 ms)")


if __name__ == "__main__":
    main()
