"""Lifecycle timelines and concurrency plots, drawn from telemetry records (matplotlib).

Both figures are plain :class:`matplotlib.figure.Figure` subclasses on an Agg canvas (no
pyplot, no global state, safe in threads and headless runs) whose artists are built once:
:meth:`TimelineFigure.update` and :meth:`ConcurrencyFigure.update` only move vertices
(``set_verts`` / ``set_data``), so a live view redraws 10,000 spans in tens of ms
(``benchmarks/bench_redraw.py``). :meth:`~_LiveFigure.to_png` encodes the canvas through
PIL (``compress_level=1``) rather than ``savefig``, which would draw a second time.

Time is in seconds of platform time relative to the first record shown.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sandbox.core.telemetry import RecordKind, TelemetryRecord

__all__ = [
    "ConcurrencyFigure",
    "TimelineFigure",
    "concurrency_figure",
    "concurrency_limits",
    "decimate_steps",
    "timeline_figure",
]

STATUS_COLORS = {
    "success": "#2ca02c",
    "error": "#d62728",
    "timeout": "#ff7f0e",
    "failure": "#9467bd",
}
INIT_COLOR = "#9ecae1"
PROVISIONED_INIT_COLOR = "#c6dbef"
RUNTIME_INIT_COLOR = "#6baed6"  # INIT's sub-phases, drawn over the INIT span
FUNCTION_INIT_COLOR = "#2171b5"
EXTENSION_INIT_COLOR = "#9e9ac8"  # external extensions starting, before the runtime
POST_INVOKE_COLOR = "#6a51a3"  # extensions still at work after the response
SHUTDOWN_COLOR = "#969696"
THROTTLE_COLOR = "#d62728"
LIMIT_STYLES = {
    "reserved": ("#d62728", "--"),
    "provisioned": ("#1f77b4", ":"),
    "account": ("#7f7f7f", "-."),
}
# the asynchronous queue's lane: events queued, retries scheduled, failures, deliveries
ASYNC_MARKERS = {
    "queued": ("o", "#7f7f7f", "event queued"),
    "retry": (">", "#ff7f0e", "retry scheduled"),
    "failed": ("X", "#d62728", "event failed"),
    "dropped": ("X", "#000000", "event dropped"),
    "delivered": ("D", "#1f77b4", "record delivered"),
    "delivery-failed": ("d", "#000000", "delivery failed"),
}
# the timeline's legend labels of its spans, in the order _update lists them (legend="used")
_DRAWN = ("INIT", "runtime init", "function init", "extension init",
          "extensions after response", "cold start", "SHUTDOWN", "throttle")  # fmt: skip
LANE_HALF_HEIGHT = 0.35
MAX_LANE_LABELS = 24


def _end(r: TelemetryRecord) -> float:
    return r.end if r.end is not None else r.time


def _is_invocation(r: TelemetryRecord) -> bool:
    return r.kind == RecordKind.INVOCATION and r.detail.get("status") != "queued"


def _boxes(y: np.ndarray, start: np.ndarray, end: np.ndarray, half: float) -> np.ndarray:
    """Rectangles as an (n, 4, 2) vertex array for ``PolyCollection.set_verts``."""
    n = len(y)
    verts = np.empty((n, 4, 2))
    verts[:, 0, 0] = verts[:, 1, 0] = start
    verts[:, 2, 0] = verts[:, 3, 0] = np.maximum(end, start)
    verts[:, 0, 1] = verts[:, 3, 1] = y - half
    verts[:, 1, 1] = verts[:, 2, 1] = y + half
    return verts


class _LiveFigure(Figure):
    """A figure on its own Agg canvas, updated in place and encoded to PNG."""

    def __init__(self, *, width: float, height: float, dpi: float) -> None:
        super().__init__(figsize=(width, height), dpi=dpi, layout=None)
        FigureCanvasAgg(self)
        self.lock = threading.RLock()  # update() and drawing never interleave

    def _repr_png_(self) -> bytes:
        """Shown as a picture when it is a cell's value (with or without the inline backend)."""
        return self.to_png()

    def to_png(self) -> bytes:
        """Draw and encode the canvas (PIL, ``compress_level=1``)."""
        from PIL import Image

        with self.lock:
            canvas = self.canvas
            assert isinstance(canvas, FigureCanvasAgg)
            canvas.draw()  # type: ignore[no-untyped-call]
            buffer = np.asarray(canvas.buffer_rgba())  # type: ignore[no-untyped-call]
            out = io.BytesIO()
            Image.fromarray(buffer).save(out, format="PNG", compress_level=1)
        return out.getvalue()


# -- timeline -----------------------------------------------------------------------------
class TimelineFigure(_LiveFigure):
    """Swim lanes, one per execution environment: INIT, INVOKE and SHUTDOWN spans (idle is
    the gap between them), cold invocations outlined, throttles on their own lane.

    Attributes (for tests and curious students):
        lanes: the environment ids, top to bottom.
        init, invoke, cold, shutdown: one ``PolyCollection`` each.
        throttles: a ``Line2D`` of markers on the last lane (when any were throttled).
        labels: the short request-id labels (only when at most ``label_limit`` spans).

    ``legend="used"`` lists only what is drawn (one row for a report instead of three);
    ``"all"`` lists everything, so a live view's legend does not jump as spans arrive.
    """

    def __init__(
        self,
        records: Iterable[TelemetryRecord] = (),
        *,
        width: float = 10.0,
        height: float | None = None,
        dpi: float = 100.0,
        label_limit: int = 30,
        title: str | None = None,
        legend: str = "all",
    ) -> None:
        if legend not in ("all", "used"):
            raise ValueError("legend must be 'all' or 'used'")
        super().__init__(width=width, height=height or 4.0, dpi=dpi)
        self.legend_mode = legend
        self._legend_used: frozenset[str] | None = None
        self._fixed_height = height is not None
        self.label_limit = label_limit
        self.lanes: list[str] = []
        self._ticks: tuple[list[int], list[str]] = ([], [])
        self.t0: float | None = None
        self.ax = ax = self.add_subplot(1, 1, 1)
        ax.set_xlabel("seconds")
        if title:
            ax.set_title(title, loc="right", fontsize="small")
        ax.grid(axis="x", alpha=0.3)
        kw: dict[str, Any] = {"linewidths": 0}
        self.init = PolyCollection([], facecolors=INIT_COLOR, label="INIT", **kw)
        # the sub-phases of INIT (spec §1.1), thinner, over the INIT span
        self.runtime_init = PolyCollection([], facecolors=RUNTIME_INIT_COLOR, **kw)
        self.function_init = PolyCollection([], facecolors=FUNCTION_INIT_COLOR, **kw)
        self.extension_init = PolyCollection([], facecolors=EXTENSION_INIT_COLOR, **kw)
        self.post_invoke = PolyCollection([], facecolors=POST_INVOKE_COLOR, **kw)
        self.invoke = PolyCollection([], facecolors=STATUS_COLORS["success"], **kw)
        self.shutdown = PolyCollection([], facecolors=SHUTDOWN_COLOR, label="SHUTDOWN", **kw)
        self.cold = PolyCollection(
            [], facecolors="none", edgecolors="black", linewidths=1.5, label="cold start"
        )
        for collection in (
            self.init,
            self.runtime_init,
            self.function_init,
            self.extension_init,
            self.post_invoke,
            self.invoke,
            self.shutdown,
            self.cold,
        ):
            ax.add_collection(collection)
        (self.throttles,) = ax.plot(
            [], [], linestyle="none", marker="x", color=THROTTLE_COLOR, markersize=7
        )
        self.async_marks: dict[str, Line2D] = {}
        for status, (marker, color, _) in ASYNC_MARKERS.items():
            (self.async_marks[status],) = ax.plot(
                [], [], linestyle="none", marker=marker, color=color, markersize=6
            )
        # a retry's wait: from when it was scheduled to when it is due
        (self.retry_waits,) = ax.plot([], [], linestyle=":", color="#ff7f0e", linewidth=1)
        self.labels: list[Any] = []
        self._legend_rows = 0
        self._set_legend(with_async=False)
        self.update(records)

    def _set_legend(self, *, with_async: bool, used: Collection[str] | None = None) -> None:
        handles = [
            Patch(facecolor=INIT_COLOR, label="INIT"),
            Patch(facecolor=RUNTIME_INIT_COLOR, label="runtime init"),
            Patch(facecolor=FUNCTION_INIT_COLOR, label="function init"),
            Patch(facecolor=EXTENSION_INIT_COLOR, label="extension init"),
            Patch(facecolor=POST_INVOKE_COLOR, label="extensions after response"),
            *(Patch(facecolor=c, label=f"INVOKE {s}") for s, c in STATUS_COLORS.items()),
            Patch(facecolor="none", edgecolor="black", label="cold start"),
            Patch(facecolor=SHUTDOWN_COLOR, label="SHUTDOWN"),
            Line2D([], [], linestyle="none", marker="x", color=THROTTLE_COLOR, label="throttle"),
        ]
        if with_async:  # the async queue's markers, once there is an async queue to show
            handles += [
                Line2D([], [], linestyle="none", marker=m, color=c, label=label)
                for m, c, label in ASYNC_MARKERS.values()
            ]
        if used is not None:  # legend="used": only what is drawn
            handles = [h for h in handles if h.get_label() in used]
        self.ax.legend(
            handles=handles,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.01),
            borderaxespad=0.0,
            fontsize="x-small",
            ncols=6,
            framealpha=0.8,
        )
        self._legend_rows = -(-len(handles) // 6)

    @property
    def invoke_count(self) -> int:
        return len(self.invoke.get_paths())

    @property
    def cold_count(self) -> int:
        return len(self.cold.get_paths())

    def update(self, records: Iterable[TelemetryRecord]) -> Any:  # type: ignore[override]
        """Show ``records`` (all of them, not a delta): the artists stay, their vertices move.
        (A mapping is matplotlib's ``Artist.update(props)``.)"""
        if isinstance(records, Mapping):
            return super().update(dict(records))
        recs = [r for r in records if r.kind != RecordKind.LOG]
        with self.lock:
            self._update(recs)
        return None

    def _update(self, recs: list[TelemetryRecord]) -> None:
        lane_of: dict[str, int] = {}
        lane_label: dict[str, str] = {}
        for r in recs:
            if r.env_id and r.env_id not in lane_of and r.kind != RecordKind.THROTTLE:
                lane_of[r.env_id] = len(lane_of)
            if r.env_id and r.env_id not in lane_label and r.function_name:
                init = "provisioned" if r.init_type == "provisioned-concurrency" else r.init_type
                lane_label[r.env_id] = (
                    f"{r.function_name}:{r.version or '$LATEST'}\n{init} {r.env_id[:8]}"
                )
        self.lanes = list(lane_of)
        self.t0 = t0 = min((r.time for r in recs), default=0.0)

        def spans(
            selected: Sequence[TelemetryRecord], half: float = LANE_HALF_HEIGHT
        ) -> np.ndarray:
            y = np.fromiter((lane_of[r.env_id] for r in selected), float, len(selected))
            s = np.fromiter((r.time - t0 for r in selected), float, len(selected))
            e = np.fromiter((_end(r) - t0 for r in selected), float, len(selected))
            return _boxes(y, s, e, half)

        on_lane = [r for r in recs if r.env_id in lane_of]
        inits = [r for r in on_lane if r.kind == RecordKind.PHASE and r.phase == "init"]
        shutdowns = [r for r in on_lane if r.kind == RecordKind.PHASE and r.phase == "shutdown"]
        runtime_inits = [
            r for r in on_lane if r.kind == RecordKind.PHASE and r.phase == "runtime-init"
        ]
        function_inits = [
            r for r in on_lane if r.kind == RecordKind.PHASE and r.phase == "function-init"
        ]
        extension_inits = [
            r for r in on_lane if r.kind == RecordKind.PHASE and r.phase == "extension-init"
        ]
        post_invokes = [
            r
            for r in on_lane
            if r.kind == RecordKind.PHASE and r.phase == "post-runtime-extensions"
        ]
        invokes = [r for r in on_lane if _is_invocation(r)]
        colds = [r for r in invokes if r.detail.get("cold")]
        throttles = [r for r in recs if r.kind == RecordKind.THROTTLE]

        self.init.set_verts(spans(inits))  # type: ignore[arg-type]
        self.init.set_facecolor(
            [
                PROVISIONED_INIT_COLOR if r.init_type == "provisioned-concurrency" else INIT_COLOR
                for r in inits
            ]
            or INIT_COLOR
        )
        self.runtime_init.set_verts(spans(runtime_inits, LANE_HALF_HEIGHT / 2))  # type: ignore[arg-type]
        self.function_init.set_verts(spans(function_inits, LANE_HALF_HEIGHT / 2))  # type: ignore[arg-type]
        self.extension_init.set_verts(spans(extension_inits, LANE_HALF_HEIGHT / 2))  # type: ignore[arg-type]
        self.post_invoke.set_verts(spans(post_invokes))  # type: ignore[arg-type]
        self.shutdown.set_verts(spans(shutdowns))  # type: ignore[arg-type]
        self.invoke.set_verts(spans(invokes))  # type: ignore[arg-type]
        self.invoke.set_facecolor(
            [STATUS_COLORS.get(str(r.detail.get("status")), "#7f7f7f") for r in invokes]
            or STATUS_COLORS["success"]
        )
        self.cold.set_verts(spans(colds))  # type: ignore[arg-type]
        big = len(invokes) > 2000
        for collection in (self.init, self.invoke, self.shutdown, self.cold):
            collection.set_antialiased(not big)

        throttle_lane = len(self.lanes)
        self.throttles.set_data([r.time - t0 for r in throttles], [throttle_lane] * len(throttles))
        queue_events = [r for r in recs if r.kind == RecordKind.ASYNC]
        if self.legend_mode == "used":
            shown = (inits, runtime_inits, function_inits, extension_inits, post_invokes, colds)
            drawn = zip(_DRAWN, (*shown, shutdowns, throttles), strict=True)
            statuses = {str(r.detail.get("status")) for r in invokes + queue_events}
            used = frozenset({label for label, drew in drawn if drew}).union(
                {f"INVOKE {s}" for s in statuses},
                {ASYNC_MARKERS[s][2] for s in statuses if s in ASYNC_MARKERS},
            )
            if used != self._legend_used:
                self._legend_used = used
                self._set_legend(with_async=bool(queue_events), used=used)
        elif queue_events and self._legend_rows < 3:
            self._set_legend(with_async=True)
        async_lane = throttle_lane + (1 if throttles else 0)
        for status, line in self.async_marks.items():
            xs = [r.time - t0 for r in queue_events if r.detail.get("status") == status]
            line.set_data(xs, [async_lane] * len(xs))
        wait_x: list[float] = []
        for r in queue_events:
            due = r.detail.get("due")
            if r.detail.get("status") == "retry" and isinstance(due, (int, float)):
                wait_x += [r.time - t0, float(due) - t0, float("nan")]
        self.retry_waits.set_data(wait_x, [async_lane] * len(wait_x))

        for text in self.labels:
            text.remove()
        self.labels = []
        if len(invokes) <= self.label_limit:
            for r in invokes:
                self.labels.append(
                    self.ax.text(
                        (r.time + _end(r)) / 2 - t0,
                        lane_of[r.env_id],
                        r.request_id[:8],
                        ha="center",
                        va="center",
                        fontsize=7,
                        clip_on=True,
                    )
                )

        ax = self.ax
        # tick labels are the costliest artists: label at most MAX_LANE_LABELS lanes
        step = -(-len(self.lanes) // MAX_LANE_LABELS) if self.lanes else 1
        ticks = list(range(0, len(self.lanes), step))
        names = [lane_label.get(self.lanes[i], self.lanes[i][:8]) for i in ticks]
        if step > 1:
            names = [n.replace("\n", " ") for n in names]
        if throttles:
            ticks.append(throttle_lane)
            names.append("throttles")
        if queue_events:
            ticks.append(async_lane)
            names.append("async queue")
        if (ticks, names) != self._ticks:
            ax.set_yticks(ticks, names, fontsize=7 if step == 1 else 5)
            self._ticks = (ticks, names)
        rows = max(len(self.lanes) + (1 if throttles else 0) + (1 if queue_events else 0), 1)
        ax.set_ylim(rows - 0.5, -0.5)
        t_max = max((_end(r) - t0 for r in recs), default=1.0)
        if wait_x:
            t_max = max(t_max, max(x for x in wait_x if x == x))
        ax.set_xlim(0.0, max(t_max, 1e-3) * 1.02)
        if not self._fixed_height:
            height = min(max(2.5, 1.2 + 0.45 * rows + 0.18 * (self._legend_rows - 2)), 12.0)
            if abs(self.get_figheight() - height) > 1e-6:
                self.set_figheight(height)
        inches = self.get_figheight()
        legend = 0.18 * self._legend_rows + 0.05
        self.subplots_adjust(left=0.17, right=0.98, top=1 - legend / inches, bottom=0.5 / inches)


def timeline_figure(
    records: Iterable[TelemetryRecord],
    *,
    width: float = 10.0,
    height: float | None = None,
    dpi: float = 100.0,
    label_limit: int = 30,
    title: str | None = None,
    legend: str = "all",
) -> TimelineFigure:
    """A lifecycle timeline (swim lanes per environment) of telemetry ``records``
    (``legend="used"``: only the entries the records draw)."""
    return TimelineFigure(records, width=width, height=height, dpi=dpi,
                          label_limit=label_limit, title=title, legend=legend)  # fmt: skip


# -- concurrency --------------------------------------------------------------------------
def decimate_steps(x: np.ndarray, y: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """At most 4 points per pixel column (first, max, min, last) of a step series sorted by
    ``x``; series already that short come back unchanged."""
    if len(x) <= 4 * columns or len(x) < 2 or x[-1] <= x[0]:
        return x, y
    column = ((x - x[0]) / (x[-1] - x[0]) * (columns - 1)).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
    ends = np.r_[starts[1:], len(x)] - 1
    highs = np.maximum.reduceat(y, starts)
    lows = np.minimum.reduceat(y, starts)
    xs = np.column_stack([x[starts], x[starts], x[starts], x[ends]]).ravel()
    ys = np.column_stack([y[starts], highs, lows, y[ends]]).ravel()
    return xs, ys


def _steps(spans: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """(times, level from that time on) of overlapping spans; ends sort before starts at
    the same instant, one point per distinct time (as ``sandbox.service.metrics``)."""
    if not spans:
        return np.empty(0), np.empty(0)
    arr = np.asarray(spans, float)
    times = np.concatenate([arr[:, 0], arr[:, 1]])
    deltas = np.concatenate([np.ones(len(arr)), -np.ones(len(arr))])
    order = np.lexsort((deltas, times))
    times, levels = times[order], np.cumsum(deltas[order])
    keep = np.r_[times[1:] != times[:-1], True]  # the last level at each instant
    return times[keep], levels[keep]


class ConcurrencyFigure(_LiveFigure):
    """Concurrent executions over time, one step line per function (or version), with
    horizontal limit lines and throttle markers.

    Attributes:
        series_lines: ``{group: Line2D}`` (group is ``"fn"``, or ``"fn:version"`` with
            ``by="version"``).
        limit_lines: ``{name: Line2D}`` for the limits drawn.
        throttles: a ``Line2D`` of markers at the concurrency in flight when refused.
    """

    def __init__(
        self,
        records: Iterable[TelemetryRecord] = (),
        *,
        by: str = "function",
        limits: Mapping[str, int | None] | None = None,
        width: float = 10.0,
        height: float = 3.5,
        dpi: float = 100.0,
        title: str | None = None,
    ) -> None:
        if by not in ("function", "version"):
            raise ValueError("by must be 'function' or 'version'")
        super().__init__(width=width, height=height, dpi=dpi)
        self.by = by
        self.t0: float | None = None
        self.ax = ax = self.add_subplot(1, 1, 1)
        self.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.15)
        ax.set_xlabel("seconds")
        ax.set_ylabel("concurrent executions")
        ax.set_title(title or "Concurrency")
        ax.grid(alpha=0.3)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        self.series_lines: dict[str, Line2D] = {}
        self.limit_lines: dict[str, Line2D] = {}
        self.limits: dict[str, int] = {}
        (self.throttles,) = ax.plot(
            [],
            [],
            linestyle="none",
            marker="x",
            color=THROTTLE_COLOR,
            markersize=7,
            label="throttle",
            zorder=5,
        )
        self.set_limits(limits or {})
        self.update(records)

    def set_limits(self, limits: Mapping[str, int | None]) -> None:
        """Horizontal lines: ``{"reserved": 3, "provisioned": 2, "account": 10}``."""
        with self.lock:
            self.limits = {k: int(v) for k, v in limits.items() if v is not None}
            for name, value in self.limits.items():
                line = self.limit_lines.get(name)
                if line is None:
                    color, style = LIMIT_STYLES.get(name, ("black", "--"))
                    line = self.ax.axhline(value, color=color, linestyle=style, linewidth=1.2)
                    self.limit_lines[name] = line
                line.set_ydata([value, value])
                line.set_label(f"{name} limit ({value})")
            for name in [n for n in self.limit_lines if n not in self.limits]:
                self.limit_lines.pop(name).remove()

    def _group(self, r: TelemetryRecord) -> str:
        if self.by == "version":
            return f"{r.function_name}:{r.version or '$LATEST'}"
        return r.function_name

    def series(self, group: str) -> tuple[np.ndarray, np.ndarray]:
        """The undecimated (relative time, level) series of one group, as last shown."""
        return self._series.get(group, (np.empty(0), np.empty(0)))

    def update(self, records: Iterable[TelemetryRecord]) -> Any:  # type: ignore[override]
        """Show ``records`` (all of them): lines are reused, new groups get a new line.
        (A mapping is matplotlib's ``Artist.update(props)``.)"""
        if isinstance(records, Mapping):
            return super().update(dict(records))
        recs = [r for r in records if r.kind in (RecordKind.INVOCATION, RecordKind.THROTTLE)]
        with self.lock:
            self._update(recs)
        return None

    def _update(self, recs: list[TelemetryRecord]) -> None:
        invocations = [r for r in recs if _is_invocation(r)]
        throttles = [r for r in recs if r.kind == RecordKind.THROTTLE]
        self.t0 = t0 = min((r.time for r in recs), default=0.0)
        groups: dict[str, list[tuple[float, float]]] = {}
        for r in invocations:
            groups.setdefault(self._group(r), []).append((r.time - t0, _end(r) - t0))
        columns = max(int(self.get_figwidth() * self.dpi), 100)
        self._series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        peak = 0.0
        t_max = max((_end(r) - t0 for r in recs), default=1.0)
        for group in sorted(groups):
            x, y = _steps(groups[group])
            self._series[group] = (x, y)
            if len(y):
                peak = max(peak, float(y.max()))
            # start at zero and hold the last level to the right edge
            x = np.r_[0.0, x, t_max]
            y = np.r_[0.0, y, y[-1] if len(y) else 0.0]
            x, y = decimate_steps(x, y, columns)
            line = self.series_lines.get(group)
            if line is None:
                (line,) = self.ax.plot([], [], drawstyle="steps-post", linewidth=1.5, label=group)
                self.series_lines[group] = line
            line.set_data(x, y)
        for group in [g for g in self.series_lines if g not in groups]:
            self.series_lines[group].set_data([], [])
        self.throttles.set_data(
            [r.time - t0 for r in throttles],
            [float(r.detail.get("in_flight") or 0) for r in throttles],  # type: ignore[arg-type]
        )
        near = [v for k, v in self.limits.items() if k != "account"]
        top = max([peak, 1.0, *near])
        account = self.limits.get("account")
        if account is not None:
            on_scale = account <= 2 * top + 2  # a quota of 1,000 would flatten a burst of 3
            if on_scale:
                top = max(top, account)
            self.limit_lines["account"].set_label(
                f"account limit ({account})" + ("" if on_scale else ", off scale")
            )
        self.ax.set_ylim(-0.05 * top, top * 1.15 + 0.5)
        self.ax.set_xlim(0.0, max(t_max, 1e-3) * 1.02)
        handles = [h for h in self.series_lines.values() if len(np.asarray(h.get_xdata()))]
        handles += list(self.limit_lines.values())
        if throttles:
            handles.append(self.throttles)
        if handles:
            self.ax.legend(handles=handles, loc="upper right", fontsize="x-small")


def concurrency_figure(
    records: Iterable[TelemetryRecord],
    *,
    by: str = "function",
    limits: Mapping[str, int | None] | None = None,
    width: float = 10.0,
    height: float = 3.5,
    dpi: float = 100.0,
    title: str | None = None,
) -> ConcurrencyFigure:
    """A step plot of concurrent executions per function (``by="version"``: per version),
    with lines at ``limits`` (``reserved``, ``provisioned``, ``account``)."""
    return ConcurrencyFigure(
        records, by=by, limits=limits, width=width, height=height, dpi=dpi, title=title
    )


def concurrency_limits(sb: Any, function_name: str | None = None) -> dict[str, int | None]:
    """The limit lines worth drawing for ``function_name`` (or the account): its reserved
    concurrency, its provisioned concurrency (all qualifiers), and the account quota."""
    limits: dict[str, int | None] = {}
    if function_name is not None:
        limits["reserved"] = sb.get_function_concurrency(
            function_name
        ).reserved_concurrent_executions
        configs = sb.list_provisioned_concurrency_configs(function_name)
        provisioned = sum(
            c.requested_provisioned_concurrent_executions
            for c in configs.provisioned_concurrency_configs
        )
        limits["provisioned"] = provisioned or None
    limits["account"] = sb.get_account_settings().concurrent_executions
    return limits
