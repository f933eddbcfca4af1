"""Redraw benchmarks for the live plots (issue 5, "Live").

Run: ``python benchmarks/bench_redraw.py [--segments N] [--burst N] [--repeat R]``.

1. A lifecycle timeline of ``--segments`` synthetic INVOKE spans over 100 environments:
   time of ``update(records)`` + draw, and of a full PNG frame (draw + PIL encode), on Agg.
2. The live renderer during a burst of ``--burst`` async invocations
   (``sb.invoke(..., invocation_type="Event")`` then ``sb.drain()``): frames per second
   pushed into the ``widgets.Image`` of a ``LifecycleTimeline`` and a ``ConcurrencyPlot``.
Results go to docs/performance.md by hand, with the command.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import matplotlib

matplotlib.use("Agg")

from sandbox import Sandbox
from sandbox.core.telemetry import RecordKind, TelemetryRecord
from sandbox.notebook.plots import timeline_figure
from sandbox.notebook.widgets import ConcurrencyPlot, LifecycleTimeline

HANDLER = "import time\ndef lambda_handler(event, context):\n    time.sleep(0.05)\n"


def synthetic(segments: int, lanes: int = 100) -> list[TelemetryRecord]:
    """``segments`` invocation spans spread over ``lanes`` environments, 1 in 50 cold."""
    records: list[TelemetryRecord] = []
    per_lane = segments // lanes
    seq = 0
    for lane in range(lanes):
        env = f"env{lane:04d}{'0' * 8}"
        seq += 1
        records.append(
            TelemetryRecord(
                seq, RecordKind.PHASE, 0.0, "fn", "$LATEST", env, phase="init",
                init_type="on-demand", end=0.2, detail={"status": "success"},
            )
        )  # fmt: skip
        for i in range(per_lane):
            seq += 1
            start = 0.2 + i * 0.1 + lane * 0.001
            records.append(
                TelemetryRecord(
                    seq, RecordKind.INVOCATION, start, "fn", "$LATEST", env, f"req{seq:08d}",
                    "invoke", "on-demand", start + 0.07,
                    detail={"status": "error" if i % 97 == 0 else "success", "cold": i == 0},
                )
            )  # fmt: skip
    return records


def bench_timeline(segments: int, repeat: int) -> None:
    records = synthetic(segments)
    started = time.perf_counter()
    fig = timeline_figure(records[: len(records) // 2])
    build = (time.perf_counter() - started) * 1000
    fig.canvas.draw()
    redraw, frame = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        fig.update(records)
        fig.canvas.draw()
        redraw.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        png = fig.to_png()
        frame.append((time.perf_counter() - t) * 1000)
    print(f"timeline, {fig.invoke_count} INVOKE spans on {len(fig.lanes)} lanes (Agg, 10 in wide):")
    print(f"  build (half the records)        {build:7.1f} ms")
    print(f"  update(records) + draw, median  {statistics.median(redraw):7.1f} ms")
    print(f"  draw + PNG encode, median       {statistics.median(frame):7.1f} ms ({len(png)} B)")


def bench_live(burst: int) -> None:
    with Sandbox.ephemeral() as sb:
        sb.create_function("fn", HANDLER)
        sb.invoke("fn")  # warm the engine
        timeline, concurrency = LifecycleTimeline(sb, "fn"), ConcurrencyPlot(sb, "fn")
        frames0 = (timeline.frames, concurrency.frames)
        started = time.perf_counter()
        for _ in range(burst):
            sb.invoke("fn", {}, invocation_type="Event")
        sb.drain()
        elapsed = time.perf_counter() - started
        frames = (timeline.frames - frames0[0], concurrency.frames - frames0[1])
        spans = timeline.figure.invoke_count
        last_ms = (timeline.last_render_ms, concurrency.last_render_ms)
        timeline.close()
        concurrency.close()
    print(f"live renderer, burst of {burst} async invokes ({elapsed:.2f} s until drained):")
    for name, n, ms in zip(("LifecycleTimeline", "ConcurrencyPlot"), frames, last_ms, strict=True):
        print(f"  {name:18} {n / elapsed:5.1f} frames/s  ({n} frames, last frame {ms:.0f} ms)")
    print(f"  ({spans} INVOKE spans on the timeline at the end)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=10_000)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print("command: python benchmarks/bench_redraw.py " + " ".join(sys.argv[1:]))
    bench_timeline(args.segments, args.repeat)
    bench_live(args.burst)


if __name__ == "__main__":
    main()
