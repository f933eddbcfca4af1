"""How long ``import sandbox`` takes in a fresh interpreter (median of N runs).

Run: ``python benchmarks/bench_import.py [runs]``. Also prints ``-X importtime``'s top
entries so a regression can be traced to a module.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def once() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sandbox"], check=True)
    return time.perf_counter() - start


def baseline() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def main(runs: int = 20) -> None:
    with_pkg = sorted(once() for _ in range(runs))
    bare = sorted(baseline() for _ in range(runs))
    extra = statistics.median(with_pkg) - statistics.median(bare)
    print(
        f"python -c 'import sandbox': median {statistics.median(with_pkg) * 1000:.1f} ms, "
        f"bare interpreter {statistics.median(bare) * 1000:.1f} ms, "
        f"import cost {extra * 1000:.1f} ms ({runs} runs)"
    )
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import sandbox"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr.splitlines()
    rows = []
    for line in out[1:]:
        parts = line.split("|")
        if len(parts) == 3:
            rows.append((int(parts[1]), parts[2].rstrip()))
    print("largest cumulative imports (us):")
    for cumulative, name in sorted(rows, reverse=True)[:8]:
        print(f"  {cumulative:>8}  {name}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
