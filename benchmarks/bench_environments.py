"""How many execution environments this machine holds, and what each one costs.

Run: ``python benchmarks/bench_environments.py [--count N] [--isolation paths]``.
Starts N environments at once (a burst of N requests to a handler that holds its
environment for a moment), then measures, once they are all idle and frozen: the time to
start them, and memory per environment — USS (memory only that environment uses) and PSS
(its fair share of memory shared with the zygote) summed over its processes (the runtime,
its children, and the PID 1 of its namespace, if it has one).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import Sandbox
from sandbox.runtime import memorymerge

HOLD = """
import time
def lambda_handler(event, context):
    time.sleep(event["hold"])
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--isolation", default=None)
    parser.add_argument("--sample", type=int, default=200, help="environments measured")
    parser.add_argument(
        "--settle", type=float, default=120, help="seconds to wait for same-page merging"
    )
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 4 descriptors per environment
    n = args.count
    with Sandbox.ephemeral(
        isolation=args.isolation,
        concurrency_limit=max(1000, n + 100),
        request_rate_factor=0,
        scaling_rate=max(1000, n),
    ) as sb:
        sb.create_function("hold", HOLD, timeout=300)
        sb.invoke("hold", {"hold": 0})  # the zygote is warm
        hold = max(2.0, n / 400)  # long enough for the last cold start to overlap the first
        start = time.perf_counter()
        results = sb.invoke_many("hold", [{"hold": hold}] * n, concurrency=n)
        elapsed = time.perf_counter() - start - hold
        failed = [r for r in results if getattr(r, "function_error", "throttled")]
        envs = sb._shared.engine().envs.environments()
        print(
            f"isolation {sb.isolation}: {len(envs)} environments, {len(failed)} failed; "
            f"started in {elapsed:.2f} s ({elapsed / n * 1000:.2f} ms each)"
        )
        time.sleep(1.0)  # let them settle, frozen
        if memorymerge.ksm_running():
            _wait_for_merging(envs[: args.sample], args.settle)
        uss, pss, procs = [], [], []
        # an environment's PID 1 is the zygote's child, not the runtime's: count it too
        by_namespace: dict[str, list[psutil.Process]] = {}
        zygote = sb._shared.engine().launcher.zygote_pid
        for child in psutil.Process(zygote).children() if zygote else []:
            with contextlib.suppress(OSError):
                by_namespace.setdefault(os.readlink(f"/proc/{child.pid}/ns/pid"), []).append(child)
        with contextlib.suppress(OSError):
            by_namespace.pop(os.readlink(f"/proc/{zygote}/ns/pid"), None)  # paths view
        for env in envs[: args.sample]:
            assert env.process is not None
            outer = psutil.Process(env.process.pid)
            tree = [outer, *outer.children(recursive=True)]
            with contextlib.suppress(OSError):
                namespace = os.readlink(f"/proc/{outer.pid}/ns/pid")
                tree += [p for p in by_namespace.get(namespace, []) if p not in tree]
            info = [p.memory_full_info() for p in tree]
            uss.append(sum(i.uss for i in info) / 2**20)
            pss.append(sum(i.pss for i in info) / 2**20)
            procs.append(len(tree))
        print(
            f"per idle environment ({len(uss)} measured, {statistics.mean(procs):.0f} "
            f"processes each): USS median {statistics.median(uss):.2f} MiB, "
            f"PSS median {statistics.median(pss):.2f} MiB"
        )
        total = psutil.virtual_memory()
        print(f"machine: {total.used / 2**30:.1f} GiB used of {total.total / 2**30:.1f} GiB")
        kernel = _meminfo("PageTables", "KernelStack", "Slab")
        print("kernel: " + ", ".join(f"{k} {v / 2**20:.0f} MiB" for k, v in kernel.items()))
        if memorymerge.ksm_running():
            profit = int(_ksm("general_profit")) / 2**20
            print(f"same-page merging saves {profit:.0f} MiB net of its own bookkeeping")
        close_start = time.perf_counter()
    print(f"closing {len(envs)} environments took {time.perf_counter() - close_start:.2f} s")


def _meminfo(*names: str) -> dict[str, int]:
    """Fields of /proc/meminfo, in bytes."""
    found = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in names:
            found[key] = int(value.split()[0]) * 1024
    return found


def _ksm(name: str) -> str:
    return (memorymerge.KSM_RUN.parent / name).read_text().strip()


def _ksmd_cpu() -> float:
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "ksmd":
            times = process.cpu_times()
            return float(times.user + times.system)
    return 0.0


def _wait_for_merging(envs: list, settle: float) -> None:  # type: ignore[type-arg]
    """With the kernel's same-page scanner on (sandbox.runtime.memorymerge), wait until
    it has scanned everything twice since the environments started (a page is merged on
    the scan after the one that first sees it), or ``settle`` seconds; print how long that
    took, the median USS on the way, and the scanner's CPU time."""
    print(
        f"same-page merging: ksm run=1, pages_to_scan={_ksm('pages_to_scan')}, "
        f"sleep_millisecs={_ksm('sleep_millisecs')}"
    )
    start, cpu, scans = time.perf_counter(), _ksmd_cpu(), int(_ksm("full_scans"))
    while time.perf_counter() - start < settle:
        if int(_ksm("full_scans")) >= scans + 2:
            break
        sample = [psutil.Process(e.process.pid).memory_full_info().uss / 2**20 for e in envs]
        print(
            f"  after {time.perf_counter() - start:5.1f} s: USS median "
            f"{statistics.median(sample):.2f} MiB, {int(_ksm('full_scans')) - scans} full scans"
        )
        time.sleep(2.0)
    print(
        f"merging took {time.perf_counter() - start:.1f} s, ksmd used "
        f"{_ksmd_cpu() - cpu:.1f} s of CPU"
    )


if __name__ == "__main__":
    main()
