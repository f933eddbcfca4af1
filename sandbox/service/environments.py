"""Execution environments as the service sees them: lifecycle, logs and telemetry.

An :class:`ExecutionEnvironment` is one function instance (spec §1.1): it runs INIT
(runtime init, then function init) when it starts, serves one invocation at a time, is
frozen while idle, is *reset* after a timeout or crash (a new process, same ``/tmp`` and
log stream), retries a failed INIT inside the next invocation ("suppressed init") and is
shut down on keep-alive expiry, on code or configuration change, and when the sandbox
closes. Every step is a record on the telemetry bus and a line in its log stream.

The process itself is :class:`sandbox.runtime.process.EnvironmentProcess`; this module
turns what the process did into Lambda's answers (payloads, log lines, REPORT).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.core.clock import Clock
from sandbox.core.lifecycle import EnvironmentState, check_transition
from sandbox.core.logformat import (
    init_report_line,
    init_start_line,
    log_stream_name,
    start_line,
)
from sandbox.core.models import FunctionConfiguration
from sandbox.core.telemetry import Phase, RecordKind
from sandbox.runtime.isolation import Isolation
from sandbox.runtime.process import (
    EnvironmentProcess,
    InitOutcome,
    InvokeOutcome,
    Launcher,
)
from sandbox.service.environment_answers import AnswerSteps
from sandbox.service.environment_extensions import ExtensionSteps
from sandbox.service.envspec import (
    aws_environment,
    python_path,
    trace_id,
    view_path,
    working_directory,
)
from sandbox.service.extensions import (
    INTERNAL_SHUTDOWN_BUDGET_MS,
    RUNTIME_SHARE,
    SHUTDOWN_BUDGET_MS,
    ExtensionHost,
    custom_bootstrap,
    extension_names,
)
from sandbox.service.requests import EnvironmentRequest, InFlight, RawResult
from sandbox.service.telemetry import TelemetryBus

__all__ = ["ExecutionEnvironment", "RuntimeDeps"]

INIT_LIMIT_S = 10.0  # spec §1.1: 10 s for on-demand INIT
TELEMETRY_FLUSH_S = 1.0  # at most this long to hand buffered telemetry over before a freeze
LogSink = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class RuntimeDeps:
    """What every environment needs from the sandbox."""

    launcher: Launcher
    bus: TelemetryBus
    clock: Clock
    envs_dir: Path
    region: str
    code_path: Callable[[FunctionConfiguration], Path]
    isolation: Isolation
    opt_path: Callable[[FunctionConfiguration], Path | None] = lambda _config: None
    address_space_mb: int | None = None  # RLIMIT_AS of each process (max_address_space_mb)


class ExecutionEnvironment(AnswerSteps, ExtensionSteps):
    """One function instance (an execution environment) of one function version."""

    def __init__(
        self,
        deps: RuntimeDeps,
        config: FunctionConfiguration,
        *,
        account_id: str,
        init_type: str = "on-demand",
    ) -> None:
        self.deps = deps
        self.account_id = account_id
        self.config = config
        self.init_type = init_type
        self.env_hex = secrets.token_hex(16)
        self.env_id = self.env_hex[:12]
        self.stream = log_stream_name(deps.clock.time(), config.version, self.env_hex)
        self.state = EnvironmentState.STARTING
        self.process: EnvironmentProcess | None = None
        self.dir = deps.envs_dir / self.env_hex
        self.tmp = self.dir / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.idle_since = deps.clock.time()
        self.invocations = 0
        self._pending_init_ms: float | None = None  # reported in the first REPORT
        self._reinit_phase = "init"
        self._busy_recorded = False
        self._flight: InFlight | None = None
        self._request: EnvironmentRequest | None = None
        self._cold_reason = ""
        self._last_rss_mb = 0
        self._lock = threading.Lock()
        self.extensions: ExtensionHost | None = None  # its external extensions, if any
        self._invoke_deadline = 0.0
        self._emit_state(EnvironmentState.STARTING, "created")

    # telemetry --------------------------------------------------------------------------
    def _emit(self, kind: RecordKind, **fields: Any) -> None:
        """A telemetry record about this environment (its identity filled in)."""
        self.deps.bus.emit(
            kind,
            env_id=self.env_id,
            function_name=self.config.function_name,
            version=self.config.version,
            init_type=self.init_type,
            account_id=self.account_id,
            **fields,
        )

    def _emit_state(self, state: EnvironmentState, reason: str) -> None:
        self._emit(RecordKind.ENV_STATE, detail={"state": str(state), "reason": reason})

    def _set_state(self, state: EnvironmentState, reason: str, *, record: bool = True) -> None:
        check_transition(self.state, state)
        self.state = state
        if record:
            self._emit_state(state, reason)

    def _span(
        self, phase: Phase, start: float, duration_ms: float, request_id: str = "", **detail: object
    ) -> None:
        self._emit(
            RecordKind.PHASE,
            time=start,
            end=self.deps.clock.time(),
            duration_ms=duration_ms,
            phase=str(phase),
            request_id=request_id,
            detail=detail,
        )

    def _invocation_record(
        self,
        start: float,
        duration_ms: float,
        request_id: str,
        status: str,
        error_type: str | None,
        cold: bool,
    ) -> None:
        """One record per invocation: the environment's INVOKE phase (its BUSY period) and the
        request's outcome."""
        request = self._request
        self._emit(
            RecordKind.INVOCATION,
            time=start,
            end=self.deps.clock.time(),
            duration_ms=duration_ms,
            phase=str(Phase.INVOKE),
            request_id=request_id,
            detail={
                "status": status,
                "error_type": error_type,
                "cold": cold,
                "cold_reason": self._cold_reason if cold else None,
                "qualifier": request.qualifier if request else None,
                "invocation_type": request.invocation_type if request else "RequestResponse",
                "spillover": request.spillover if request else False,
            },
        )

    def _log(self, line: str, request_id: str = "", sink: LogSink | None = None) -> None:
        cfg = self.config
        self.deps.bus.emit_log(
            line,
            self.stream,
            cfg.function_name,
            cfg.version,
            self.env_id,
            request_id,
            self.account_id,
        )
        if sink is not None:
            with contextlib.suppress(Exception):
                sink(line)

    # INIT -------------------------------------------------------------------------------
    def _spec(self) -> dict[str, Any]:
        code = self.deps.code_path(self.config)
        opt = self.deps.opt_path(self.config)
        mounts = self.deps.isolation.mounts(code, self.tmp, opt)
        task_root = mounts.task_root
        environment = aws_environment(
            self.config,
            self.deps,
            init_type=self.init_type,
            stream=self.stream,
            task_root=task_root,
            tmp=mounts.tmp,
            opt=mounts.opt,
        )
        extension_fields: dict[str, Any] = {}
        self._close_extensions()
        names = extension_names(opt)
        custom = custom_bootstrap(self.config, code, opt, task_root, mounts.opt)
        if custom is not None:
            extension_fields["custom_runtime"] = custom
        wrapper = self.config.environment.get("AWS_LAMBDA_EXEC_WRAPPER")
        wrapped = bool(wrapper) and custom is None  # (not for OS-only runtimes, spec §2.2)
        if wrapped:
            extension_fields["exec_wrapper"] = view_path(str(wrapper), task_root, mounts.opt)
        if names or custom is not None or wrapped:
            # spec §2.2: every executable of /opt/extensions is an external extension; a
            # custom runtime, and a wrapped runtime's internal extensions, speak the
            # Runtime/Extensions API at the same address
            cfg = self.config
            self.extensions = ExtensionHost(
                names,
                function_name=cfg.function_name,
                version=cfg.version,
                handler=cfg.handler,
                account_id=self.account_id,
                clock=self.deps.clock,
                on_line=self._extension_line,
                on_event=self._extension_event,
            )
            environment["AWS_LAMBDA_RUNTIME_API"] = self.extensions.address
            extension_fields.update(self.extensions.spec(mounts.opt, environment))
        return {
            **extension_fields,
            "environment": environment,
            "task_root": task_root,
            "cwd": working_directory(self.config, task_root, mounts.opt),
            "python_path": python_path(self.config.runtime, task_root, mounts.opt),
            "handler": self.config.handler,
            "log_format": self.config.logging_config.log_format,
            "mounts": mounts.bind,
            "address_space_mb": self.deps.address_space_mb,
        }

    def _run_init(
        self, phase: str, limit_s: float, request_id: str = "", sink: LogSink | None = None
    ) -> InitOutcome:
        """Start a process and run runtime + function init in it.

        ``sink`` receives every log line (and must record it); by default lines go to the
        environment's log stream."""
        emit = sink or (lambda line: self._log(line, request_id))
        start = self.deps.clock.time()
        t0 = time.perf_counter()
        emit(init_start_line(self.deps.region, self.config.runtime))
        self.process = EnvironmentProcess(self.deps.launcher, self._spec())
        host = self.extensions
        if host is not None:
            self.process.before_reset = self._shutdown_extensions
        outcome = self.process.wait_init(
            limit_s,
            sink=None,
            extensions_started=self._extension_init(start, request_id) if host else None,
        )
        if outcome.ok and host is not None and self.custom_runtime:
            outcome = self._custom_init(outcome, limit_s - (time.perf_counter() - t0))
        if outcome.ok and host is not None:
            failure = host.ready(max(0.0, limit_s - (time.perf_counter() - t0)))
            if failure is not None:
                self.process.kill()
                outcome = InitOutcome(False, outcome.init_ms, error=failure, lines=outcome.lines)
        if host is not None:
            # INIT includes Extension init: REPORT's Init Duration is all of it
            outcome.init_ms = max(outcome.init_ms, (time.perf_counter() - t0) * 1000)
            # subscribers arrive during INIT: they get INIT's records (and output) now
            self._publish_init(host, phase, outcome.ok, outcome.init_ms, outcome.lines)
        for line in outcome.lines:
            emit(line)
        real_ms = (time.perf_counter() - t0) * 1000
        self._sub_phases(outcome, start, real_ms, request_id)
        if outcome.ok:
            self._last_rss_mb = outcome.max_rss_mb
            self._span(Phase.INIT, start, real_ms, request_id, status="success", phase_name=phase)
            return outcome
        error_type = "Runtime.Unknown"
        if outcome.timed_out:
            status, error_type = "timeout", "Sandbox.Timedout"
        elif outcome.error:
            status, error_type = "error", str(outcome.error.get("errorType", "Runtime.Unknown"))
        else:
            status, error_type = "error", "Runtime.ExitError"
        emit(init_report_line(real_ms, phase, status, error_type))
        self._span(
            Phase.INIT,
            start,
            real_ms,
            request_id,
            status=status,
            error_type=error_type,
            phase_name=phase,
        )
        if self.process is not None:
            self.process.kill()
            self.process = None
        return outcome

    def _sub_phases(
        self, outcome: InitOutcome, start: float, real_ms: float, request_id: str
    ) -> None:
        """Runtime init and function init, the two sub-phases of INIT measured inside the
        environment (spec §1.1); they end INIT, after the process launch, and are placed on
        the sandbox clock in proportion to the INIT span."""
        if real_ms <= 0 or not (outcome.runtime_ms or outcome.function_ms):
            return
        end = self.deps.clock.time()
        per_ms = (end - start) / real_ms
        function_start = end - outcome.function_ms * per_ms
        runtime_start = function_start - outcome.runtime_ms * per_ms
        for phase, begin, finish, ms in (
            (Phase.RUNTIME_INIT, runtime_start, function_start, outcome.runtime_ms),
            (Phase.FUNCTION_INIT, function_start, end, outcome.function_ms),
        ):
            self._emit(
                RecordKind.PHASE,
                time=max(start, begin),
                end=finish,
                duration_ms=ms,
                phase=str(phase),
                request_id=request_id,
                detail={},
            )

    def start(self, *, for_invocation: bool) -> bool:
        """Cold start: INIT now. Returns whether INIT succeeded.

        ``for_invocation``: the environment goes straight to BUSY for the request that
        caused the cold start (and its REPORT shows ``Init Duration``).
        """
        outcome = self._run_init("init", self.init_limit_s)
        if outcome.ok:
            # a provisioned environment initialised ahead of time: its first request is warm
            self._pending_init_ms = outcome.init_ms if for_invocation else None
            self._set_state(
                EnvironmentState.BUSY if for_invocation else EnvironmentState.IDLE, "init complete"
            )
            self._busy_recorded = for_invocation
            if not for_invocation:
                self._freeze_idle()
            return True
        self._set_state(EnvironmentState.FAILED, "init failed")
        return False

    @property
    def init_limit_s(self) -> float:
        """spec §1.1: 10 s on demand; max(130 s, timeout) for provisioned concurrency."""
        if self.init_type == "provisioned-concurrency":
            return max(130.0, float(self.config.timeout))
        return INIT_LIMIT_S

    def _freeze_idle(self) -> None:
        if self.process is not None:
            if self.extensions is not None:
                self.extensions.flush(TELEMETRY_FLUSH_S)
            self.process.freeze()

    # INVOKE -----------------------------------------------------------------------------
    def begin(self) -> None:
        """Claim an idle (or failed/reset) environment for one invocation."""
        # A failed INIT is retried inside the invocation ("suppressed init", phase invoke);
        # a reset environment runs a fresh INIT before the invocation (phase init).
        self._reinit_phase = "invoke" if self.state is EnvironmentState.FAILED else "init"
        # a warm start makes no record (the invocation's own record is this BUSY period);
        # leaving FAILED or RESETTING does, and then so does the return to IDLE
        self._busy_recorded = self.state is not EnvironmentState.IDLE
        self._set_state(EnvironmentState.BUSY, "invocation", record=self._busy_recorded)

    def invoke(self, request: EnvironmentRequest, *, cold: bool, reason: str = "") -> RawResult:
        """Run one invocation in this (BUSY) environment; ``reason`` explains a cold start."""
        flight = self.begin_invoke(request, cold=cold, reason=reason)
        if isinstance(flight, RawResult):
            return flight
        assert self.process is not None
        return self.complete_invoke(flight, self.process.finish_invoke())

    def begin_invoke(
        self, request: EnvironmentRequest, *, cold: bool, reason: str = ""
    ) -> InFlight | RawResult:
        """Start an invocation: START line, INIT again if the environment needs it, then hand
        the event to the process. A :class:`RawResult` when it ended already (INIT failed);
        otherwise an :class:`InFlight` to pass to :meth:`complete_invoke` with the process's
        outcome."""
        self._request = request
        self._cold_reason = reason
        cfg = self.config
        rid = request.request_id
        sink = request.sink
        lines: list[str] = []

        def log(line: str) -> None:
            lines.append(line)
            self._log(line, rid, sink)

        flight = InFlight(
            request,
            lines,
            log,
            time.perf_counter(),
            self.deps.clock.time(),
            self._pending_init_ms,
            cold,
            float(cfg.timeout),
        )
        self._pending_init_ms = None
        log(start_line(rid, cfg.version))
        if self.process is None:
            phase = self._reinit_phase
            # spec §1.1: a failed INIT is retried inside the invocation, bounded by the
            # function timeout; a reset environment re-runs a normal INIT first.
            limit = flight.timeout_s if phase == "invoke" else self.init_limit_s
            outcome = self._run_init(phase, limit, rid, sink=log)
            if not outcome.ok or self.process is None:
                return self._init_failure(outcome, rid, lines, flight, log)
            if phase == "init":
                flight.init_ms = outcome.init_ms
        remaining = flight.timeout_s - (time.perf_counter() - flight.t0)
        deadline_ms = time.time_ns() // 1_000_000 + int(remaining * 1000)
        trace = trace_id()
        header = {
            "id": rid,
            "arn": request.invoked_arn,
            "deadline_ms": deadline_ms,
            "trace": trace,
            "client_context": request.client_context,
        }
        self._flight = flight
        self._invoke_deadline = time.monotonic() + max(0.001, remaining)
        output = log  # what the runtime prints
        host = self.extensions
        if host is not None:
            host.publish("platform.start", {"requestId": rid, "version": cfg.version})
            if self.custom_runtime:
                host.api.dispatch_invoke(
                    rid,
                    deadline_ms=deadline_ms,
                    invoked_function_arn=request.invoked_arn,
                    trace_id=trace,
                    event=request.payload,
                    client_context=(
                        json.dumps(request.client_context) if request.client_context else None
                    ),
                )
                host.mark_invoked()
                return self.complete_invoke(flight, self._custom_invoke(remaining, log, host))
            host.invoke(rid, deadline_ms, request.invoked_arn, trace)

            def output(line: str) -> None:
                log(line)
                host.publish("function", line)

        early = self.process.begin_invoke(
            header,
            request.payload,
            max(0.001, remaining),
            sink=output,
            memory_limit_mb=cfg.memory_size,
        )
        if early is not None:
            return self.complete_invoke(flight, early)
        return flight

    def complete_invoke(self, flight: InFlight, outcome: InvokeOutcome) -> RawResult:
        """Turn the process's outcome into Lambda's answer, log lines and telemetry."""
        self._flight = None
        self.invocations += 1
        duration_ms = (
            outcome.duration_ms
            if outcome.status in ("ok", "error")
            else (time.perf_counter() - flight.t0) * 1000
        )
        return self._finish(
            outcome,
            flight.request.request_id,
            flight.lines,
            flight.log,
            duration_ms,
            flight.init_ms,
            flight.cold,
            flight.start,
            flight.timeout_s,
        )

    def abort(self, reason: str) -> None:
        """The invocation in progress was abandoned (the caller was interrupted): the runtime
        is killed so its late answer can never reach another request."""
        flight, self._flight = self._flight, None
        if self.process is not None:
            self.process.kill()
            self.process = None
        if flight is not None:
            duration_ms = (time.perf_counter() - flight.t0) * 1000
            self._invocation_record(
                flight.start,
                duration_ms,
                flight.request.request_id,
                "failure",
                "Sandbox.Interrupted",
                flight.cold,
            )
        if self.state is EnvironmentState.BUSY:
            self._set_state(EnvironmentState.RESETTING, reason)

    def check_alive(self) -> None:
        """An idle environment whose runtime died meanwhile (its zygote was killed, say) is
        reset: the next invocation runs INIT again instead of failing."""
        if self.process is not None and not self.process.alive():
            self.process.kill()
            self.process = None
            self._set_state(EnvironmentState.RESETTING, "runtime died while idle")

    def _stopping(self) -> bool:
        return self.state in (EnvironmentState.SHUTTING_DOWN, EnvironmentState.STOPPED)

    def _reset(self, reason: str) -> None:
        """spec §1.1: after a timeout or crash the runtime is replaced; /tmp survives."""
        if self.process is not None:
            self.process.kill()
            self.process = None
        self._close_extensions()  # they start again with the next INIT
        if self._stopping():
            return
        self._set_state(EnvironmentState.RESETTING, f"reset after {reason}")

    def release(self) -> None:
        """The invocation is over: back to idle and frozen (or failed, awaiting re-init)."""
        self.idle_since = self.deps.clock.time()
        if self._stopping():
            return
        if self.state is EnvironmentState.BUSY:
            if self.process is None:
                self._set_state(EnvironmentState.FAILED, "init failed")
                return
            self._set_state(
                EnvironmentState.IDLE, "invocation complete", record=self._busy_recorded
            )
            self._busy_recorded = False
            if self.extensions is not None:  # subscribers get the invocation's telemetry
                self.extensions.flush(TELEMETRY_FLUSH_S)  # before the freeze
            self.process.freeze()  # spec §1.1: an idle environment is frozen
        elif self.state is EnvironmentState.RESETTING:
            return  # stays resetting until the next invocation re-initialises it

    # SHUTDOWN ---------------------------------------------------------------------------
    def shutdown(self, reason: str) -> None:
        """Stop the environment (``spindown``, ``update``, ``close`` ...); idempotent."""
        with self._lock:
            if self._stopping():
                return
            self._set_state(EnvironmentState.SHUTTING_DOWN, reason)
        start = self.deps.clock.time()
        t0 = time.perf_counter()
        host = self.extensions
        # (a background step may reset the environment meanwhile: work on what is here now)
        process, self.process = self.process, None
        if process is not None:
            budget = 0.0  # spec §1.1: 0 ms without extensions
            if host is not None and host.names and process.alive():
                # 2,000 ms with external extensions: SHUTDOWN to them (reason spindown),
                # then the runtime gets what is left (docs/fidelity.md: the order)
                process.thaw()
                outstayed = host.shutdown("spindown", SHUTDOWN_BUDGET_MS * (1 - RUNTIME_SHARE))
                for name in outstayed:
                    self._log(f"Extension {name} did not exit within its SHUTDOWN budget")
                budget = max(0.0, SHUTDOWN_BUDGET_MS - (time.perf_counter() - t0) * 1000)
            elif host is not None and host.api.registered():
                budget = INTERNAL_SHUTDOWN_BUDGET_MS  # 500 ms with an internal extension
            process.shutdown(budget_ms=budget)
        self._close_extensions()
        self._span(Phase.SHUTDOWN, start, (time.perf_counter() - t0) * 1000, reason=reason)
        self._set_state(EnvironmentState.STOPPED, reason)
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def pid(self) -> int | None:
        """The runtime's process id (as the sandbox's host sees it)."""
        return self.process.runtime_pid if self.process is not None else None
