"""How an execution environment turns what its process did into Lambda's answer.

A mixin of :class:`~sandbox.service.environments.ExecutionEnvironment`: the payload, the
``FunctionError``, the END and REPORT lines, the invocation record and whether the
environment must be reset, for every outcome — success, a function error, a response over
6 MB, a timeout, running out of memory, a crash (spec §1.1, §3) — and for an INIT that
failed inside the invocation.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sandbox.core.clock import iso8601_ms
from sandbox.core.invocation import (
    RESPONSE_LIMIT,
    exit_error,
    oversized_response_error,
    timeout_error,
)
from sandbox.core.logformat import end_line, report_line, timeout_line
from sandbox.runtime.process import InitOutcome, InvokeOutcome
from sandbox.service.requests import InFlight, RawResult

if TYPE_CHECKING:
    from sandbox.core.models import FunctionConfiguration
    from sandbox.service.extensions import ExtensionHost

__all__ = ["AnswerSteps"]

LogSink = Callable[[str], None]


class AnswerSteps:
    """Outcomes into answers (see the module docstring)."""

    config: FunctionConfiguration
    extensions: ExtensionHost | None
    invocations: int
    _last_rss_mb: int

    if TYPE_CHECKING:  # provided by ExecutionEnvironment and the other mixin

        def _invocation_record(
            self,
            start: float,
            duration_ms: float,
            request_id: str,
            status: str,
            error_type: str | None,
            cold: bool,
        ) -> None: ...

        def _reset(self, reason: str) -> None: ...

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
        ) -> None: ...

    def _finish(
        self,
        out: InvokeOutcome,
        rid: str,
        lines: list[str],
        log: LogSink,
        duration_ms: float,
        init_ms: float | None,
        cold: bool,
        start: float,
        timeout_s: float,
    ) -> RawResult:
        cfg = self.config
        status, error_type, reset, report_status = "success", None, False, None
        body = out.body
        function_error: str | None = None
        if out.max_rss_mb:
            self._last_rss_mb = out.max_rss_mb
        max_mem = max(out.max_rss_mb, self._last_rss_mb, 1)
        if out.status == "ok" and len(body) > RESPONSE_LIMIT:
            body = json.dumps(oversized_response_error()).encode()
            status, error_type, function_error = (
                "error",
                "Function.ResponseSizeTooLarge",
                "Unhandled",
            )
        elif out.status == "error":
            function_error, status = "Unhandled", "error"
            with contextlib.suppress(ValueError, AttributeError):
                error_type = json.loads(body).get("errorType")
        elif out.status == "timeout":
            reset, status, report_status = True, "timeout", "timeout"
            error_type = "Sandbox.Timedout"  # for telemetry; the REPORT line has none
            log(timeout_line(iso8601_ms(time.time_ns() / 1e9), rid, timeout_s))
            body = json.dumps(timeout_error(rid, timeout_s)).encode()
            function_error = "Unhandled"
        elif out.status == "oom":
            reset, status, error_type, report_status = True, "error", "Runtime.OutOfMemory", "error"
            max_mem = max(cfg.memory_size, out.max_rss_mb)
            desc = out.exit.describe() if out.exit else "Runtime exited with error: signal: killed"
            body = json.dumps(exit_error(rid, desc, "Runtime.OutOfMemory")).encode()
            function_error = "Unhandled"
        elif out.status == "crash":
            reset, status, error_type, report_status = True, "error", "Runtime.ExitError", "error"
            desc = out.exit.describe() if out.exit else "Runtime exited without providing a reason"
            log(f"RequestId: {rid} Error: {desc}")
            log("Runtime.ExitError")
            body = json.dumps(exit_error(rid, desc)).encode()
            function_error = "Unhandled"
        log(end_line(rid))
        log(
            report_line(
                rid,
                duration_ms,
                cfg.memory_size,
                max_mem,
                init_ms,
                report_status,
                None if report_status == "timeout" else error_type,
            )
        )
        self._invocation_record(start, duration_ms, rid, status, error_type, cold)
        if self.extensions is not None:
            self._publish_report(
                self.extensions, rid, status, error_type, duration_ms, len(body), max_mem, init_ms
            )
        if reset:
            self._reset(status)
        return RawResult(
            body, function_error, tuple(lines), status, error_type, duration_ms, cold, reset
        )

    def _init_failure(
        self, outcome: InitOutcome, rid: str, lines: list[str], flight: InFlight, log: LogSink
    ) -> RawResult:
        cold = flight.cold
        error: dict[str, object] = dict(outcome.error or {})
        status, report_type = "error", None
        if outcome.timed_out:
            # the retried INIT ran out of the function's time: an ordinary timeout answer
            error = dict(timeout_error(rid, float(self.config.timeout)))
            status = "timeout"
        else:
            if not error:
                desc = (
                    outcome.exit.describe()
                    if outcome.exit
                    else ("Runtime exited without providing a reason")
                )
                error = dict(exit_error(rid, desc))
            error.setdefault("requestId", "")  # spec §1.1: the init error keeps requestId ""
            report_type = str(error.get("errorType", "Runtime.Unknown"))
        duration_ms = (time.perf_counter() - flight.t0) * 1000
        memory = max(outcome.max_rss_mb, self._last_rss_mb, 1)
        log(end_line(rid))
        log(
            report_line(
                rid, duration_ms, self.config.memory_size, memory, None, status, report_type
            )
        )
        self.invocations += 1
        error_type = str(error.get("errorType", "Runtime.Unknown"))
        self._invocation_record(flight.start, duration_ms, rid, status, error_type, cold)
        return RawResult(
            json.dumps(error).encode(),
            "Unhandled",
            tuple(lines),
            status,
            error_type,
            duration_ms,
            cold,
            False,
        )
