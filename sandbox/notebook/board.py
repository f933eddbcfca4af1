"""The pipeline board: live counts for an application of several functions, queues and triggers.

Why it exists: the timeline and the concurrency plot show *environments* and *requests in
flight*. An application made of a queue, a trigger, two functions and destinations also
needs its plumbing in numbers: how deep each queue is, how many batches the event source
mapping formed, what the asynchronous queue did with each event (retried, succeeded,
failed, delivered where), and which version actually ran (a canary's split). The board is
that table, kept up to date while a load runs in another thread or cell.

It is a thin view like the plots: a bus subscriber that appends and flags, and one
renderer thread that recomputes :func:`pipeline_stats` at most ``hz`` times a second and
pushes HTML into a ``widgets.HTML``. Queue depths are not telemetry, so the renderer also
reads them (``GetQueueAttributes``) on every frame and at least twice a second, and keeps
them as a history that :class:`QueueDepthFigure` draws (the ``queue_plot`` image).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import ipywidgets as widgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from sandbox.core.telemetry import RecordKind, TelemetryRecord
from sandbox.notebook.live import BusFeed

__all__ = [
    "FunctionStats",
    "PipelineBoard",
    "PipelineStats",
    "QueueDepth",
    "QueueDepthFigure",
    "pipeline_stats",
]

MAX_SAMPLES = 2000  # queue-depth samples kept per board (older ones are dropped)


@dataclass
class FunctionStats:
    """One function's numbers, as CloudWatch and the async queue would count them."""

    invocations: int = 0
    errors: int = 0
    cold_starts: int = 0
    throttles: int = 0
    peak: int = 0  # the highest number of requests in flight at once
    versions: Counter[str] = field(default_factory=Counter)  # executed version -> count
    queued: int = 0  # asynchronous events accepted (202)
    retries: int = 0  # the async queue sent an event back (a throttle or an error)
    succeeded: int = 0
    failed: int = 0  # retries exhausted, too old, or refused outright
    delivered: Counter[str] = field(default_factory=Counter)  # destination name -> records
    batches: int = 0  # event source mapping batches handed to the function
    batch_records: int = 0


@dataclass(frozen=True)
class QueueDepth:
    """An SQS queue as ``GetQueueAttributes`` sees it."""

    visible: int  # ApproximateNumberOfMessages
    in_flight: int  # ApproximateNumberOfMessagesNotVisible
    peak: int  # the most visible messages seen on any frame so far


@dataclass
class PipelineStats:
    functions: dict[str, FunctionStats] = field(default_factory=dict)
    queues: dict[str, QueueDepth] = field(default_factory=dict)

    def text(self) -> str:
        """A plain-text table: what a notebook prints, and what tests read."""
        head = (
            f"{'function':<12}{'invoc.':>7}{'errors':>7}{'cold':>6}{'thrott.':>8}{'peak':>6}"
            f"  {'versions':<18}{'async q/retry/ok/fail':>22}  {'batches':>8}  delivered"
        )
        lines = [head]
        for name, s in self.functions.items():
            versions = " ".join(f"{v}:{n}" for v, n in sorted(s.versions.items())) or "-"
            queue = f"{s.queued}/{s.retries}/{s.succeeded}/{s.failed}" if s.queued else "-"
            batches = f"{s.batches}({s.batch_records})" if s.batches else "-"
            delivered = " ".join(f"{d}:{n}" for d, n in sorted(s.delivered.items())) or "-"
            lines.append(
                f"{name:<12}{s.invocations:>7}{s.errors:>7}{s.cold_starts:>6}{s.throttles:>8}"
                f"{s.peak:>6}  {versions:<18}{queue:>22}  {batches:>8}  {delivered}"
            )
        for name, q in self.queues.items():
            lines.append(
                f"queue {name}: {q.visible} visible, {q.in_flight} in flight, peak {q.peak}"
            )
        return "\n".join(lines)

    def html(self) -> str:
        """The same numbers as an HTML table (the widget's value)."""
        cols = (
            "function",
            "invocations",
            "errors",
            "cold starts",
            "throttles",
            "peak in flight",
            "executed versions",
            "async queued / retries / ok / failed",
            "ESM batches (records)",
            "delivered to",
        )
        rows = []
        for name, s in self.functions.items():
            cells = (
                name,
                s.invocations,
                s.errors,
                s.cold_starts,
                s.throttles,
                s.peak,
                " ".join(
                    f"{'v' if v.isdigit() else ''}{v}: {n}" for v, n in sorted(s.versions.items())
                )
                or "-",
                f"{s.queued} / {s.retries} / {s.succeeded} / {s.failed}" if s.queued else "-",
                f"{s.batches} ({s.batch_records})" if s.batches else "-",
                ", ".join(f"{d}: {n}" for d, n in sorted(s.delivered.items())) or "-",
            )
            rows.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
        table = (
            "<table style='font-size:small'><tr>"
            + "".join(f"<th>{escape(c)}</th>" for c in cols)
            + "</tr>"
            + "".join(rows)
            + "</table>"
        )
        queues = " &nbsp; ".join(
            f"<b>{escape(n)}</b>: {q.visible} visible, {q.in_flight} in flight (peak {q.peak})"
            for n, q in self.queues.items()
        )
        return table + (f"<div style='font-size:small'>queues: {queues}</div>" if queues else "")


def _destination_name(arn: object) -> str:
    """``arn:aws:sqs:...:charged`` -> ``charged``; a function's ARN -> its name."""
    text = str(arn or "?")
    if ":function:" in text:
        return text.split(":function:")[1].split(":")[0]
    return text.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def pipeline_stats(
    records: Iterable[TelemetryRecord],
    functions: Sequence[str] | None = None,
    queues: dict[str, QueueDepth] | None = None,
) -> PipelineStats:
    """Count ``records`` per function (only ``functions``, in that order, when given)."""
    stats = PipelineStats(queues=dict(queues or {}))
    for name in functions or ():
        stats.functions[name] = FunctionStats()
    spans: dict[str, list[tuple[float, float]]] = {}
    for r in records:
        if not r.function_name or (functions and r.function_name not in stats.functions):
            continue
        s = stats.functions.setdefault(r.function_name, FunctionStats())
        status = r.detail.get("status")
        if r.kind == RecordKind.INVOCATION and status != "queued":
            s.invocations += 1
            s.errors += status != "success"
            s.cold_starts += bool(r.detail.get("cold"))
            s.versions[r.version or str(r.detail.get("executed_version") or "$LATEST")] += 1
            spans.setdefault(r.function_name, []).append((r.time, r.end or r.time))
        elif r.kind == RecordKind.THROTTLE:
            s.throttles += 1
        elif r.kind == RecordKind.ASYNC:
            if status == "queued":
                s.queued += 1
            elif status == "retry":
                s.retries += 1
            elif status == "succeeded":
                s.succeeded += 1
            elif status in ("failed", "dropped"):
                s.failed += 1
            elif status == "delivered":
                s.delivered[_destination_name(r.detail.get("destination"))] += 1
        elif r.kind == RecordKind.POLL and status == "batch":
            s.batches += 1
            size = r.detail.get("size")
            s.batch_records += size if isinstance(size, int) else 0
    for name, pairs in spans.items():
        stats.functions[name].peak = _peak(pairs)
    return stats


def _peak(spans: list[tuple[float, float]]) -> int:
    """The most spans open at once (an end sorts before a start at the same instant)."""
    level = peak = 0
    for _, delta in sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans]):
        level += delta
        peak = max(peak, level)
    return peak


class QueueDepthFigure(Figure):
    """Visible messages per queue over time (seconds of platform time since the first
    sample), one step line per queue. Its own Agg canvas: safe in a renderer thread."""

    def __init__(
        self, queues: Sequence[str], *, width: float = 10.0, height: float = 2.5, dpi: float = 100
    ) -> None:
        super().__init__(figsize=(width, height), dpi=dpi)
        FigureCanvasAgg(self)
        self.ax = ax = self.add_subplot(1, 1, 1)
        self.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.2)
        ax.set_title("Queue depth (ApproximateNumberOfMessages)", fontsize="small")
        ax.set_xlabel("seconds")
        ax.grid(alpha=0.3)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        self.queue_lines: dict[str, Line2D] = {}
        for name in queues:
            (self.queue_lines[name],) = ax.plot([], [], drawstyle="steps-post", label=name)
        if queues:
            ax.legend(loc="upper left", fontsize="x-small")

    def update_samples(self, samples: Sequence[tuple[float, Mapping[str, int]]]) -> None:
        """Show ``samples`` (all of them): ``(platform time, {queue: visible messages})``."""
        t0 = samples[0][0] if samples else 0.0
        top = 1
        for name, line in self.queue_lines.items():
            points = [(t - t0, depths[name]) for t, depths in samples if name in depths]
            line.set_data([p[0] for p in points], [p[1] for p in points])
            top = max([top, *(p[1] for p in points)])
        t_max = samples[-1][0] - t0 if samples else 1.0
        self.ax.set_xlim(0.0, max(t_max, 1e-3) * 1.02)
        self.ax.set_ylim(-0.05 * top, top * 1.15 + 0.5)

    def to_png(self) -> bytes:
        out = io.BytesIO()
        self.canvas.print_png(out)  # type: ignore[attr-defined]
        return out.getvalue()


class PipelineBoard(widgets.VBox):  # type: ignore[misc]
    """Live :class:`PipelineStats` of ``functions`` (all when ``None``) and SQS ``queues``."""

    def __init__(
        self,
        sb: Any,
        functions: Sequence[str] | None = None,
        queues: Collection[str] = (),
        *,
        hz: float = 5.0,
    ) -> None:
        self.sb = sb
        self.functions = list(functions) if functions else None
        self.queues = list(queues)
        self.frames = 0
        self._peaks: dict[str, int] = {}
        self.samples: list[tuple[float, dict[str, int]]] = []  # (platform time, depths)
        self.depth_figure = QueueDepthFigure(self.queues)
        # the depth history as a picture, for a tab of the dashboard (None without queues)
        self.queue_plot = widgets.Image(format="png") if self.queues else None
        # queue depths change without telemetry: redraw at least twice a second
        self._feed = BusFeed(
            sb.telemetry, self._wants, self._render, hz=hz, name="PipelineBoard", every=0.5
        )
        self.period = self._feed.period
        self.html = widgets.HTML()
        self.stats = PipelineStats()
        self._render()  # a first frame at once (headless runs keep it in the widget state)
        super().__init__([self.html])
        self._feed.start()

    def _wants(self, record: TelemetryRecord) -> bool:
        return record.kind != RecordKind.LOG and (
            self.functions is None or record.function_name in self.functions
        )

    def _depths(self) -> dict[str, QueueDepth]:
        depths = {}
        for name in self.queues:
            try:
                url = self.sb.sqs.get_queue_url(name)["QueueUrl"]
                got = self.sb.sqs.get_queue_attributes(url, attribute_names=["All"])["Attributes"]
            except Exception:  # a queue deleted meanwhile is left out, not an error
                continue
            visible = int(got.get("ApproximateNumberOfMessages", 0))
            self._peaks[name] = max(self._peaks.get(name, 0), visible)
            in_flight = int(got.get("ApproximateNumberOfMessagesNotVisible", 0))
            depths[name] = QueueDepth(visible, in_flight, self._peaks[name])
        return depths

    def _render(self) -> None:
        depths = self._depths()
        self.stats = pipeline_stats(self._feed.records(), self.functions, depths)
        self.html.value = self.stats.html()
        if self.queue_plot is not None:
            visible = {name: d.visible for name, d in depths.items()}
            now = self.sb.clock.time()
            if len(self.samples) >= 2 and self.samples[-1][1] == self.samples[-2][1] == visible:
                self.samples[-1] = (now, visible)  # unchanged: the line only reaches "now"
            else:
                self.samples.append((now, visible))
                del self.samples[:-MAX_SAMPLES]
            self.depth_figure.update_samples(self.samples)
            self.queue_plot.value = self.depth_figure.to_png()
        self.frames += 1

    def refresh(self) -> PipelineStats:
        """Recompute now (from the calling thread) and return the numbers."""
        self._render()
        return self.stats

    def text(self) -> str:
        """The current numbers as a plain-text table (recomputed now)."""
        return self.refresh().text()

    @property
    def running(self) -> bool:
        return self._feed.running

    def close(self) -> None:
        """Unsubscribe from the bus and stop the renderer thread."""
        feed = getattr(self, "_feed", None)  # absent if __init__ failed half-way
        if feed is not None:
            feed.stop()
        try:
            self.html.close()
            if self.queue_plot is not None:
                self.queue_plot.close()
        except Exception:
            pass
        super().close()
