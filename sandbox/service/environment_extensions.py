"""The steps of an execution environment that concern its extensions and a custom runtime.

A mixin of :class:`~sandbox.service.environments.ExecutionEnvironment`, kept apart so
the environment's own lifecycle reads on its own: Extension init (spec §1.1), the
extensions' work after the response (PostRuntimeExtensionsDuration), their output and API
events on the telemetry bus, and a ``provided.*`` runtime driven through the Runtime API
(its INIT ends at its first ``invocation/next``; each invocation is one event handed over
and one response or error posted back). The endpoint itself is
:class:`~sandbox.service.extensions.ExtensionHost`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.core.invocation import RESPONSE_LIMIT
from sandbox.core.telemetry import Phase, RecordKind
from sandbox.runtime.process import EnvironmentProcess, InitOutcome, InvokeOutcome, process_rss_mb
from sandbox.service.extensions import RUNTIME_SHARE, SHUTDOWN_BUDGET_MS, ExtensionHost

if TYPE_CHECKING:
    from sandbox.core.models import FunctionConfiguration
    from sandbox.service.environments import RuntimeDeps
    from sandbox.service.requests import EnvironmentRequest

__all__ = ["ExtensionSteps"]

LogSink = Callable[[str], None]


class ExtensionSteps:
    """Extension and custom-runtime steps (see the module docstring)."""

    deps: RuntimeDeps
    config: FunctionConfiguration
    process: EnvironmentProcess | None
    extensions: ExtensionHost | None
    _request: EnvironmentRequest | None
    _invoke_deadline: float
    init_type: str

    if TYPE_CHECKING:  # provided by ExecutionEnvironment and the other mixin

        def _emit(self, kind: RecordKind, **fields: Any) -> None: ...

        def _log(self, line: str, request_id: str = "", sink: LogSink | None = None) -> None: ...

        def _reset(self, reason: str) -> None: ...

    def _publish_init(
        self, host: ExtensionHost, phase: str, ok: bool, init_ms: float, lines: list[str]
    ) -> None:
        """INIT's Telemetry API records, and what the function printed during INIT (given
        at INIT's end: subscribers subscribe during it)."""
        init = {"initializationType": self.init_type, "phase": phase}
        status = "success" if ok else "error"
        host.publish(
            "platform.initStart",
            {**init, "runtimeVersion": self.config.runtime, "runtimeVersionArn": ""},
        )
        for line in lines:
            host.publish("function", line)
        host.publish("platform.initRuntimeDone", {**init, "status": status})
        host.publish(
            "platform.initReport",
            {**init, "status": status, "metrics": {"durationMs": round(init_ms, 3)}},
        )

    def _publish_report(
        self,
        host: ExtensionHost,
        request_id: str,
        status: str,
        error_type: str | None,
        duration_ms: float,
        produced_bytes: int,
        max_memory_mb: int,
        init_ms: float | None,
    ) -> None:
        """An invocation's ``platform.runtimeDone`` and ``platform.report`` records."""
        outcome: dict[str, object] = {"requestId": request_id, "status": status}
        if error_type:
            outcome["errorType"] = error_type
        metrics: dict[str, object] = {
            "durationMs": round(duration_ms, 3),
            "producedBytes": produced_bytes,
        }
        host.publish("platform.runtimeDone", {**outcome, "metrics": metrics})
        report: dict[str, object] = {
            "durationMs": round(duration_ms, 3),
            "billedDurationMs": max(1, int(-(-duration_ms // 1))),
            "memorySizeMB": self.config.memory_size,
            "maxMemoryUsedMB": max_memory_mb,
        }
        if init_ms is not None:
            report["initDurationMs"] = round(init_ms, 3)
        host.publish("platform.report", {**outcome, "metrics": report})

    def _extension_init(
        self, start: float, request_id: str
    ) -> Callable[[dict[str, int], float], dict[str, Any] | None]:
        """Extension init: the extensions are started; wait until they have registered."""

        def started(pids: dict[str, int], seconds_left: float) -> dict[str, Any] | None:
            assert self.extensions is not None
            t0 = time.perf_counter()
            failure = self.extensions.started(pids, seconds_left)
            self._emit(
                RecordKind.PHASE,
                time=start,
                end=self.deps.clock.time(),
                duration_ms=(time.perf_counter() - t0) * 1000,
                phase=str(Phase.EXTENSION_INIT),
                request_id=request_id,
                detail={"extensions": sorted(pids), "error": failure},
            )
            return failure

        return started

    def _extension_line(self, name: str, line: str) -> None:
        """A line an extension printed: into the log stream, and to Telemetry API
        subscribers as an ``extension`` record."""
        request = self._request
        self._log(line, request.request_id if request is not None else "")
        host = self.extensions
        if host is not None:
            host.publish("extension", line)

    def _extension_event(self, event: str, detail: dict[str, object]) -> None:
        """An Extensions/Telemetry API event (register, next, subscribe ...), on the bus."""
        self._emit(
            RecordKind.PHASE,
            time=self.deps.clock.time(),
            end=self.deps.clock.time(),
            duration_ms=0.0,
            phase="extension",
            request_id=self._request.request_id if self._request is not None else "",
            detail={"event": event, **detail},
        )

    @property
    def post_invoke_pending(self) -> bool:
        """Whether extensions still work on the last invocation (the environment stays
        busy until they are all back in ``event/next``)."""
        return self.extensions is not None and self.extensions.post_invoke_pending

    def finish_post_invoke(self) -> None:
        """Wait for the extensions' post-invoke work (PostRuntimeExtensionsDuration); the
        function timeout covers it: past the deadline the environment is reset."""
        host = self.extensions
        if host is None or not host.post_invoke_pending:
            return
        start = self.deps.clock.time()
        ok = host.after_response(self._invoke_deadline - time.monotonic())
        request_id = self._request.request_id if self._request is not None else ""
        self._emit(
            RecordKind.PHASE,
            time=start,
            end=self.deps.clock.time(),
            duration_ms=host.post_invoke_ms,
            phase=str(Phase.POST_INVOKE),
            request_id=request_id,
            detail={"ok": ok},
        )
        exit_errors = host.exit_errors()
        for name, error_type in exit_errors:
            self._log(f"Extension {name} reported an exit error: {error_type}", request_id)
        if exit_errors and ok:  # spec §2.2: the extension gives up; the environment resets
            self._shutdown_extensions("failure")
            self._reset("failure")
        if not ok:
            crashed = host.crashed()
            why = f"extension {', '.join(crashed)} crashed" if crashed else "timeout"
            self._shutdown_extensions("failure" if crashed else "timeout")
            self._log(
                f"RequestId: {request_id} Error: extensions did not finish "
                f"({why}); the environment is reset",
                request_id,
            )
            self._reset("timeout" if not crashed else "failure")

    @property
    def custom_runtime(self) -> bool:
        """Whether the function's runtime is its own ``bootstrap`` (``provided.*``)."""
        return self.config.runtime.startswith("provided")

    def _custom_init(self, outcome: InitOutcome, seconds_left: float) -> InitOutcome:
        """Runtime and function init of a custom runtime end at its first
        ``invocation/next``; an ``init/error`` or an exit fails INIT."""
        host, process = self.extensions, self.process
        assert host is not None and process is not None
        lines: list[str] = list(outcome.lines)
        t0 = time.perf_counter()

        def parked(wait_s: float) -> str | None:
            reply = host.api.wait_runtime_reply(0)
            if reply is not None and reply.kind == "init_error":
                host.init_error = reply
                return "init_error"
            return "next" if host.api.wait_runtime_next(wait_s) else None

        kind, found = process.watch(max(0.001, seconds_left), lines.append, parked)
        init_ms = outcome.init_ms + (time.perf_counter() - t0) * 1000
        if kind == "done" and found == "next":
            return InitOutcome(True, init_ms, lines=lines, runtime_ms=init_ms)
        if kind == "timeout":
            process.kill()
            return InitOutcome(False, init_ms, timed_out=True, lines=lines)
        error: dict[str, Any] | None = None
        if found == "init_error" and host.init_error is not None:
            with contextlib.suppress(ValueError):
                error = json.loads(host.init_error.body or b"{}")
            error = dict(error or {})
            error["errorType"] = host.init_error.error_type or error.get(
                "errorType", "Runtime.Unknown"
            )
        exit_info = process.wait_exit(1.0)
        process.kill()
        return InitOutcome(False, init_ms, error=error, lines=lines, exit=exit_info)

    def _custom_invoke(self, remaining: float, log: LogSink, host: ExtensionHost) -> InvokeOutcome:
        """One invocation through the Runtime API: the event went to the runtime's
        ``invocation/next``; wait for its ``response`` or ``error``."""
        process = self.process
        assert process is not None
        t0 = time.perf_counter()
        kind, reply = process.watch(
            max(0.001, remaining), log, lambda wait_s: host.api.wait_runtime_reply(wait_s)
        )
        elapsed = (time.perf_counter() - t0) * 1000
        if kind == "done" and reply is not None:
            rss = process_rss_mb(process.runtime_pid)
            if reply.kind == "response":
                return InvokeOutcome("ok", reply.body, elapsed, rss)
            if reply.kind == "too_large":  # the runtime client exits after a 413
                return InvokeOutcome("ok", b" " * (RESPONSE_LIMIT + 1), elapsed, rss)
            body = reply.body
            with contextlib.suppress(ValueError):
                parsed = json.loads(body or b"{}")
                if isinstance(parsed, dict) and reply.error_type:
                    parsed.setdefault("errorType", reply.error_type)
                    body = json.dumps(parsed).encode()
            return InvokeOutcome("error", body, elapsed, rss)
        if kind == "timeout":
            rss = process_rss_mb(process.runtime_pid)
            self._shutdown_extensions("timeout")
            process.kill()
            return InvokeOutcome("timeout", duration_ms=elapsed, max_rss_mb=rss)
        exit_info = process.wait_exit(2.0)
        self._shutdown_extensions("failure")
        process.kill()
        return InvokeOutcome("crash", duration_ms=elapsed, exit=exit_info)

    def _shutdown_extensions(self, reason: str) -> None:
        """Before a reset (spec §1.1): SHUTDOWN with reason ``timeout`` or ``failure`` to the
        extensions still running, within the shutdown budget."""
        host = self.extensions
        if host is not None:
            for name in host.shutdown(reason, SHUTDOWN_BUDGET_MS * (1 - RUNTIME_SHARE)):
                self._log(f"Extension {name} did not exit within its SHUTDOWN budget")

    def _close_extensions(self) -> None:
        host, self.extensions = self.extensions, None
        if host is not None:
            host.close()
