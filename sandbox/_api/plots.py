"""Pictures of what happened: lifecycle timelines and concurrency plots (matplotlib).

matplotlib is imported inside the methods, so ``import sandbox`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox._sandbox import _Shared
    from sandbox.notebook.plots import ConcurrencyFigure, TimelineFigure

__all__ = ["PlotsAPI"]


class PlotsAPI:
    """``plot_timeline`` and ``plot_concurrency``: figures built from the telemetry bus."""

    _shared: _Shared

    def plot_timeline(
        self, function_name: str | None = None, *, last: float | None = None
    ) -> TimelineFigure:
        """Swim lanes, one per execution environment: INIT, INVOKE (cold starts outlined,
        errors and timeouts coloured), SHUTDOWN, idle as the gaps, throttles on their own
        lane. ``last``: only the final ``last`` seconds of platform time.

        >>> sb.plot_timeline("fn").savefig("timeline.png")  # doctest: +SKIP
        """
        from sandbox.notebook.plots import timeline_figure

        records = self._shared.bus.records(function_name=function_name)
        records = [r for r in records if r.kind != "log"]
        if last is not None and records:
            horizon = max(r.end if r.end is not None else r.time for r in records) - last
            records = [r for r in records if (r.end if r.end is not None else r.time) >= horizon]
        return timeline_figure(records)

    def plot_concurrency(
        self, function_name: str | None = None, *, by: str = "function"
    ) -> ConcurrencyFigure:
        """Concurrent executions over time per function (``by="version"``: per version),
        with the reserved, provisioned and account limits and the throttles."""
        from sandbox.notebook.plots import concurrency_figure, concurrency_limits

        records = self._shared.bus.records(function_name=function_name)
        return concurrency_figure(records, by=by, limits=concurrency_limits(self, function_name))
