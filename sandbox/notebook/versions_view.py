"""Which version each request really ran: a histogram of executed versions, static or live.

Why it exists: an alias with weighted routing (a canary) *says* "10 % to version 2", but
Lambda makes a fresh random draw for every invocation (spec §5), so what runs is a sample
of that split, noisy at low traffic. The number that tells the truth is the executed
version of each invocation (``X-Amz-Executed-Version``, the ``ExecutedVersion`` metric
dimension). This view counts it from the telemetry bus, one bar per version, with a tick at
what the alias's weights predict for the same number of requests, so you watch the bars
approach the weights while a burst runs.

:class:`VersionsFigure` is a matplotlib figure on its own Agg canvas (like the figures of
:mod:`sandbox.notebook.plots`); :class:`VersionsHistogram` is the live widget, fed by the
bus and redrawn by one renderer thread, exactly as the other live plots
(``docs/notebook.md``, "How the plots stay live"). A histogram is a handful of bars, so an
update simply redraws the axes instead of moving vertices.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from matplotlib.ticker import MaxNLocator

from sandbox.core.telemetry import RecordKind, TelemetryRecord
from sandbox.notebook.plots import _LiveFigure
from sandbox.notebook.widgets import _LivePlot

__all__ = [
    "VersionsFigure",
    "VersionsHistogram",
    "alias_shares",
    "executed_versions",
    "versions_figure",
]

log = logging.getLogger("sandbox.notebook")
LATEST = "$LATEST"
# one colour per version number, stable while versions come and go (matplotlib's tab10)
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def _ran(record: TelemetryRecord) -> bool:
    """A finished invocation (a queued asynchronous event has not run any version yet)."""
    return record.kind == RecordKind.INVOCATION and record.detail.get("status") != "queued"


def _selected(
    records: Iterable[TelemetryRecord], function_name: str | None, qualifier: str | None
) -> list[TelemetryRecord]:
    return [
        r
        for r in records
        if _ran(r)
        and (function_name is None or r.function_name == function_name)
        and (qualifier is None or r.detail.get("qualifier") == qualifier)
    ]


def _version_key(version: str) -> tuple[int, int]:
    """``$LATEST`` first, then numbered versions in numeric order."""
    return (0, 0) if not version.isdigit() else (1, int(version))


def executed_versions(
    records: Iterable[TelemetryRecord],
    function_name: str | None = None,
    *,
    qualifier: str | None = None,
    last: int | None = None,
) -> Counter[str]:
    """How many finished invocations ran each version.

    Args:
        records: telemetry records (``sb.telemetry.records()``, or a lab's window).
        function_name: count only this function's invocations.
        qualifier: count only requests made through this qualifier (an alias name such as
            ``"live"``, a version number, ``"$LATEST"``), as the caller named it.
        last: count only the most recent ``last`` matching invocations.
    """
    chosen = _selected(records, function_name, qualifier)
    if last is not None:
        chosen = chosen[-last:] if last > 0 else []
    return Counter(r.version or LATEST for r in chosen)


def alias_shares(alias: Any) -> dict[str, float]:
    """The share of requests an alias sends to each version: its primary version gets
    what ``AdditionalVersionWeights`` leaves (``{"1": 0.9, "2": 0.1}``)."""
    weights = {str(k): float(v) for k, v in dict(alias.additional_version_weights).items()}
    shares = {str(alias.function_version): 1.0 - sum(weights.values())}
    shares.update(weights)
    return shares


class VersionsFigure(_LiveFigure):
    """Bars of executed versions, each labelled with its count and share, and a tick per
    version at ``share × requests`` when ``shares`` (an alias's routing) are known.

    Attributes:
        counts: the counts shown, ``{version: invocations}``.
        shares: the expected shares the ticks are drawn from (empty: no ticks).
    """

    def __init__(
        self,
        records: Iterable[TelemetryRecord] = (),
        *,
        function_name: str | None = None,
        qualifier: str | None = None,
        last: int | None = None,
        shares: Mapping[str, float] | None = None,
        width: float = 6.0,
        height: float = 3.2,
        dpi: float = 100.0,
        title: str | None = None,
    ) -> None:
        super().__init__(width=width, height=height, dpi=dpi)
        self.function_name = function_name
        self.qualifier = qualifier
        self.last = last
        self.title = title
        self.counts: Counter[str] = Counter()
        self.shares: dict[str, float] = dict(shares or {})
        self.ax = self.add_subplot(1, 1, 1)
        self.subplots_adjust(left=0.12, right=0.97, top=0.86, bottom=0.16)
        self.update(records)

    @property
    def total(self) -> int:
        """The number of invocations counted."""
        return sum(self.counts.values())

    def set_shares(self, shares: Mapping[str, float] | None) -> None:
        """The expected share per version (``alias_shares(sb.get_alias(...))``); drawn on
        the next ``update``."""
        with self.lock:
            self.shares = dict(shares or {})

    def update(self, records: Iterable[TelemetryRecord]) -> Any:  # type: ignore[override]
        """Count ``records`` (all of them) and redraw. (A mapping is matplotlib's
        ``Artist.update(props)``.)"""
        if isinstance(records, Mapping):
            return super().update(dict(records))
        counts = executed_versions(
            records, self.function_name, qualifier=self.qualifier, last=self.last
        )
        with self.lock:
            self.counts = counts
            self._draw_bars()
        return None

    def _heading(self) -> str:
        if self.title:
            return self.title
        name = self.function_name or "all functions"
        if self.qualifier:
            name = f"{name}:{self.qualifier}"
        window = f"last {self.total} requests" if self.last else f"{self.total} requests"
        return f"Executed versions of {name} ({window})"

    def _draw_bars(self) -> None:
        ax = self.ax
        ax.cla()
        versions = sorted(set(self.counts) | set(self.shares), key=_version_key)
        total = self.total
        heights = [self.counts.get(v, 0) for v in versions]
        colors = [PALETTE[int(v) % len(PALETTE)] if v.isdigit() else "#7f7f7f" for v in versions]
        positions = list(range(len(versions)))
        ax.bar(positions, heights, color=colors, width=0.6)
        for x, count in zip(positions, heights, strict=True):
            share = f" ({100 * count / total:.0f} %)" if total else ""
            ax.annotate(
                f"{count}{share}",
                (x, count),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize="small",
            )
        ticks = [(x, self.shares[v] * total) for x, v in enumerate(versions) if v in self.shares]
        if ticks and total:
            for x, expected in ticks:
                ax.hlines(expected, x - 0.4, x + 0.4, colors="black", linestyles="--", lw=1.2)
            ax.plot([], [], color="black", linestyle="--", label="alias weights × requests")
            ax.legend(loc="upper right", fontsize="x-small")
        ax.set_xticks(positions, [v if v == LATEST else f"version {v}" for v in versions])
        top = max([*heights, *(e for _, e in ticks), 1.0])
        ax.set_ylim(0, top * 1.2 + 0.5)
        ax.set_xlim(-0.6, max(len(versions), 1) - 0.4)
        ax.set_ylabel("invocations")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(self._heading(), fontsize="medium")
        ax.grid(axis="y", alpha=0.3)


def versions_figure(
    records: Iterable[TelemetryRecord],
    function_name: str | None = None,
    *,
    qualifier: str | None = None,
    last: int | None = None,
    shares: Mapping[str, float] | None = None,
    width: float = 6.0,
    height: float = 3.2,
    dpi: float = 100.0,
    title: str | None = None,
) -> VersionsFigure:
    """A histogram of the executed versions in ``records`` (see :func:`executed_versions`
    for the filters); ``shares`` adds a tick per version at ``share × requests``."""
    return VersionsFigure(
        records,
        function_name=function_name,
        qualifier=qualifier,
        last=last,
        shares=shares,
        width=width,
        height=height,
        dpi=dpi,
        title=title,
    )


class VersionsHistogram(_LivePlot):
    """Live bars of the versions a function's requests executed, redrawn while they run.

    ``VersionsHistogram(sb, "checkout", "live")`` counts the requests made through the
    alias ``live`` and, on every frame, reads the alias's routing again, so the ticks follow
    ``update_alias`` during a rollout. ``last=100`` counts only the latest 100 requests
    (a moving window: the bars shift when the routing changes); ``from_now=True`` ignores
    the requests made before the view was created.
    """

    figure: VersionsFigure  # type: ignore[assignment]  # _LivePlot knows the two others

    def __init__(
        self,
        sb: Any,
        function_name: str,
        qualifier: str | None = None,
        *,
        last: int | None = None,
        from_now: bool = False,
        hz: float = 10.0,
        width: float = 6.0,
        height: float = 3.2,
    ) -> None:
        self.qualifier = qualifier
        newest = sb.telemetry.records()[-1:] if from_now else []
        self.since_seq = newest[0].seq if newest else 0
        self.figure = VersionsFigure(
            function_name=function_name,
            qualifier=qualifier,
            last=last,
            shares=self._read_shares(sb, function_name),
            width=width,
            height=height,
        )
        super().__init__(sb, function_name, hz=hz)

    def _read_shares(self, sb: Any, function_name: str) -> dict[str, float]:
        """The alias's routing now; empty when the qualifier is not an alias (or the
        alias is gone, or the sandbox closed: the bars still show what ran)."""
        if not self.qualifier or self.qualifier.isdigit() or self.qualifier == LATEST:
            return {}
        try:
            return alias_shares(sb.get_alias(function_name, self.qualifier))
        except Exception:
            log.debug("VersionsHistogram: no alias %s:%s", function_name, self.qualifier)
            return {}

    def _wants(self, record: TelemetryRecord) -> bool:
        return (
            _ran(record)
            and record.function_name == self.function_name
            and record.seq > self.since_seq
        )

    def _update_figure(self, records: list[TelemetryRecord]) -> None:
        self.figure.set_shares(self._read_shares(self.sb, str(self.function_name)))
        self.figure.update(records)

    @property
    def counts(self) -> Counter[str]:
        """The counts of the last frame, ``{version: invocations}``."""
        return Counter(self.figure.counts)
