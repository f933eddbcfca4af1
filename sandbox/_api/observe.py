"""What a :class:`~sandbox.Sandbox` lets you see: telemetry, environments, explanations, metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.service.explain import Explanation, explain
from sandbox.service.metrics import concurrency_series, metric_rows
from sandbox.service.telemetry import TelemetryBus

if TYPE_CHECKING:
    from sandbox._sandbox import _Shared
    from sandbox.service.functions import FunctionService
    from sandbox.service.invoke import InvokeService

__all__ = ["ObserveAPI"]


class ObserveAPI:
    """The views on what happened, all read from the telemetry bus."""

    _functions: FunctionService
    _shared: _Shared

    def _invoke_service(self) -> InvokeService:  # provided by Sandbox
        raise NotImplementedError

    @property
    def isolation(self) -> str:
        """``"namespaces"`` (functions see /var/task, /opt and a private /tmp, in their own
        user, mount and PID namespaces) or ``"paths"`` (per-environment directories)."""
        return self._shared.engine().envs.deps.isolation.mode

    @property
    def telemetry(self) -> TelemetryBus:
        """The telemetry bus: every environment state change, phase, invocation and log."""
        return self._shared.bus

    def environments(self) -> list[dict[str, object]]:
        """The live execution environments, one row each."""
        shared = self._shared
        if not shared.started or shared.closed:
            return []
        return [
            {
                "env_id": e.env_id,
                "function_name": e.config.function_name,
                "version": e.config.version,
                "state": str(e.state),
                "pid": e.pid,
                "init_type": e.init_type,
                "invocations": e.invocations,
                "log_stream": e.stream,
            }
            for e in shared.engine().envs.environments()
        ]

    def explain(self, request_id: str) -> Explanation:
        """Why a request was a cold start, a warm start, served by provisioned concurrency,
        or throttled — a machine-readable ``cause`` and a sentence.

        >>> sb.explain(result.request_id).sentence  # doctest: +SKIP
        'Cold start in environment 5f3a...: every environment of this version was busy ...'
        """
        return explain(self._shared.bus, request_id)

    def concurrency(
        self, function_name: str | None = None, *, version: str | None = None
    ) -> list[tuple[float, int]]:
        """ConcurrentExecutions over time: ``(time, requests in flight)`` at every change
        (platform time, from the telemetry)."""
        return concurrency_series(self._shared.bus, function_name=function_name, version=version)

    def metrics(
        self,
        function_name: str | None = None,
        *,
        by: str = "function",
        period: float | None = None,
        as_frame: bool = False,
    ) -> list[dict[str, object]] | Any:
        """Lambda's CloudWatch metrics, computed from the telemetry: Invocations, Errors,
        Throttles, Duration percentiles, ConcurrentExecutions, cold starts, provisioned
        concurrency invocations, spillover and utilisation, UnreservedConcurrentExecutions.

        Args:
            by: one row per ``"function"``, ``"version"`` or ``"qualifier"`` (alias).
            period: seconds of platform time per row (None: one row per group).
            as_frame: a pandas DataFrame (needs pandas installed).
        """
        functions = self._functions
        shared = self._shared

        def provisioned(fn: str, qualifier: str) -> int:
            sizes = shared.engine().sizes(functions.account_id) if shared.started else None
            return 0 if sizes is None else sizes.provisioned.get(fn, {}).get(qualifier, 0)

        def reserved(fn: str) -> int | None:
            sizes = shared.engine().sizes(functions.account_id) if shared.started else None
            return None if sizes is None else sizes.reserved.get(fn)

        rows = metric_rows(
            shared.bus,
            by=by,
            period=period,
            function_name=function_name,
            provisioned=provisioned,
            reserved=reserved,
        )
        if not as_frame:
            return rows
        try:
            import pandas
        except ImportError as exc:
            raise ImportError("as_frame=True needs pandas: pip install pandas") from exc
        return pandas.DataFrame(rows)
