"""External extensions of one execution environment, on the sandbox's side.

Why it exists: an environment whose ``/opt/extensions/`` holds executables (from layers,
or baked into an image) has more than a runtime in it. Each extension is its own process,
started before the runtime, that registers with the Extensions API, is told about every
invocation (metadata only) and about the environment's SHUTDOWN, and keeps the environment
busy until it is back in ``event/next`` (spec §1.1, §2.2). :class:`ExtensionHost` owns what
that takes for one environment — its :class:`~sandbox.runtime.apiserver.ApiServer`, the
listener for the extensions' output, their pids — and gives
:class:`~sandbox.service.environments.ExecutionEnvironment` one call per lifecycle step.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.core.clock import Clock
from sandbox.core.models import FunctionConfiguration
from sandbox.runtime.apiserver import ApiServer, RuntimeReply

__all__ = [
    "HIDDEN_FROM_EXTENSIONS",
    "INTERNAL_SHUTDOWN_BUDGET_MS",
    "MAX_EXTENSIONS",
    "ExtensionHost",
    "custom_bootstrap",
    "extension_names",
]

MAX_EXTENSIONS = 10  # spec §2.2 / §10
# Variables Lambda does not give extensions (AWS Lambda Extensions API documentation).
HIDDEN_FROM_EXTENSIONS = frozenset(
    {
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_XRAY_CONTEXT_MISSING",
        "AWS_XRAY_DAEMON_ADDRESS",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
        "_AWS_XRAY_DAEMON_ADDRESS",
        "_AWS_XRAY_DAEMON_PORT",
        "_HANDLER",
    }
)
SHUTDOWN_BUDGET_MS = 2000  # spec §1.1: with at least one external extension
INTERNAL_SHUTDOWN_BUDGET_MS = 500  # spec §1.1: with an internal extension only
RUNTIME_SHARE = 0.3  # of the budget, for the runtime (the emulator's split, spec §1.1)

LineSink = Callable[[str, str], None]  # (extension name, line)


def extension_names(opt: Path | None) -> list[str]:
    """The external extensions of an ``/opt`` tree: its ``extensions/`` executables, by name."""
    if opt is None:
        return []
    folder = opt / "extensions"
    if not folder.is_dir():
        return []
    return sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.is_file() and os.access(entry, os.X_OK) and not entry.name.startswith(".")
    )


def custom_bootstrap(
    config: FunctionConfiguration, code: Path, opt: Path | None, task_root: str, opt_view: str
) -> str | None:
    """A ``provided.*`` function's ``bootstrap``, as the environment sees it: the
    function's own, else a layer's (spec §2.1). ``None`` for other runtimes; a path that
    does not exist when there is none (the exec then fails, as on Lambda)."""
    if not config.runtime.startswith("provided"):
        return None
    if (code / "bootstrap").is_file():
        return f"{task_root}/bootstrap"
    if opt is not None and (opt / "bootstrap").is_file():
        return f"{opt_view}/bootstrap"
    return f"{task_root}/bootstrap"


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie, dead but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


class _OutputListener:
    """Accepts one loopback connection per extension (first line: its name) and hands
    every line after it to ``sink``. One thread; closed with its environment."""

    def __init__(self, sink: LineSink) -> None:
        self._sink = sink
        self._server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._server.getsockname()[1]}"
        self._closed = False
        self._thread = threading.Thread(
            target=self._serve, daemon=True, name="lambda-sandbox-extension-logs"
        )
        self._thread.start()

    def _serve(self) -> None:
        import selectors

        selector = selectors.DefaultSelector()
        selector.register(self._server, selectors.EVENT_READ, None)
        buffers: dict[socket.socket, bytes] = {}
        names: dict[socket.socket, str] = {}
        while not self._closed:
            for key, _ in selector.select(timeout=0.2):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if key.data is None:
                    with contextlib.suppress(OSError):
                        conn, _ = sock.accept()
                        selector.register(conn, selectors.EVENT_READ, "conn")
                        buffers[conn] = b""
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                buf = buffers.get(sock, b"") + data
                *complete, rest = buf.split(b"\n")
                for raw in complete:
                    text = raw.decode("utf-8", "backslashreplace")
                    if sock not in names:
                        names[sock] = text
                    else:
                        self._deliver(names[sock], text)
                buffers[sock] = rest
                if not data:
                    if rest and sock in names:
                        self._deliver(names[sock], rest.decode("utf-8", "backslashreplace"))
                    selector.unregister(sock)
                    sock.close()
                    buffers.pop(sock, None)
                    names.pop(sock, None)
        for key in list(selector.get_map().values()):
            with contextlib.suppress(OSError):
                key.fileobj.close()  # type: ignore[union-attr]
        selector.close()

    def _deliver(self, name: str, line: str) -> None:
        with contextlib.suppress(Exception):
            self._sink(name, line)

    def close(self) -> None:
        self._closed = True
        self._thread.join(2.0)


class ExtensionHost:
    """The extensions of one execution environment.

    Args:
        names: the executables of ``/opt/extensions`` (see :func:`extension_names`).
        function_name, version, handler, account_id: what ``register`` answers.
        clock: platform time, for the Telemetry API's timestamps.
        on_line: receives every line an extension prints (name, line).
        on_event: receives the Extensions/Telemetry API's events (register, next, ...).
    """

    def __init__(
        self,
        names: list[str],
        *,
        function_name: str,
        version: str,
        handler: str,
        account_id: str,
        clock: Clock,
        on_line: LineSink,
        on_event: Callable[[str, dict[str, object]], None] | None = None,
    ) -> None:
        self.names = names
        self.api = ApiServer(
            function_name=function_name,
            function_version=version,
            handler=handler,
            account_id=account_id,
            clock=clock,
            on_event=on_event,
        )
        self.api.expect_extensions(names)
        self._listener = _OutputListener(on_line)
        self.pids: dict[str, int] = {}
        self.post_invoke_ms = 0.0
        self._busy_until_idle = False
        self.init_error: RuntimeReply | None = None  # a custom runtime's init/error
        self._exit_errors_seen = 0

    # INIT -------------------------------------------------------------------------------
    def spec(self, opt: str, environment: dict[str, str]) -> dict[str, Any]:
        """What the environment's first process needs to start the extensions."""
        return {
            "extensions": [f"{opt}/extensions/{name}" for name in self.names],
            "extension_environment": {
                k: v for k, v in environment.items() if k not in HIDDEN_FROM_EXTENSIONS
            },
            "extension_log": self._listener.address,
        }

    def started(self, pids: dict[str, int], seconds_left: float) -> dict[str, Any] | None:
        """Extension init: wait until every extension has registered. ``None`` when they
        have; otherwise the error that fails INIT (spec §2.2: fail fast)."""
        self.pids = pids
        deadline = time.monotonic() + seconds_left
        while time.monotonic() < deadline:
            failure = self._init_failure()
            if failure is not None:
                return failure
            if self.api.wait_registered(min(0.02, max(0.0, deadline - time.monotonic()))):
                return self._init_failure()
        return self._init_failure() or _error(
            "Extension.InitError", "Extension init timed out before every extension registered"
        )

    def ready(self, seconds_left: float) -> dict[str, Any] | None:
        """After runtime and function init: INIT ends when every extension is in
        ``event/next`` too. ``None``, or the error that fails INIT."""
        deadline = time.monotonic() + seconds_left
        while time.monotonic() < deadline:
            failure = self._init_failure()
            if failure is not None:
                return failure
            if self.api.wait_extensions_ready(min(0.02, max(0.0, deadline - time.monotonic()))):
                self.api.close_registration()
                return None
        return _error("Extension.InitError", "INIT timed out waiting for the extensions")

    def _init_failure(self) -> dict[str, Any] | None:
        registered = {info.name for info in self.api.registered()}
        for name, kind, detail in self.api.errors():
            if kind == "init":
                error_type = str(detail.get("errorType") or "Extension.InitError")
                return _error(error_type, f"Extension {name} reported an init error")
        if len(registered) > MAX_EXTENSIONS or len(self.names) > MAX_EXTENSIONS:
            return _error(
                "Extension.TooManyExtensions",
                f"{max(len(registered), len(self.names))} extensions; at most "
                f"{MAX_EXTENSIONS} may register",
            )
        for name, pid in self.pids.items():
            if not _alive(pid):
                what = "before registering" if name not in registered else "during init"
                return _error("Extension.Crash", f"Extension {name} exited {what}")
        return None

    # INVOKE -----------------------------------------------------------------------------
    def invoke(self, request_id: str, deadline_ms: int, arn: str, trace: str) -> None:
        """Tell the extensions registered for INVOKE about this invocation."""
        self.api.dispatch_invoke(
            request_id, deadline_ms=deadline_ms, invoked_function_arn=arn, trace_id=trace
        )
        self._busy_until_idle = True

    def mark_invoked(self) -> None:
        """The invocation was dispatched (with the event, to a custom runtime)."""
        self._busy_until_idle = bool(self.names)

    @property
    def post_invoke_pending(self) -> bool:
        return self._busy_until_idle

    def after_response(self, seconds_left: float) -> bool:
        """Wait until every extension is back in ``event/next`` (their post-invoke work);
        False if the invocation's deadline passed first or one crashed."""
        t0 = time.perf_counter()
        deadline = time.monotonic() + max(0.0, seconds_left)
        ok = False
        while time.monotonic() < deadline:
            if self.api.wait_extensions_idle(min(0.02, max(0.0, deadline - time.monotonic()))):
                ok = True
                break
            if any(not _alive(pid) for pid in self.pids.values()):
                break
        self.post_invoke_ms = (time.perf_counter() - t0) * 1000
        self._busy_until_idle = False
        return ok

    def exit_errors(self) -> list[tuple[str, str]]:
        """``(extension, error type)`` of the ``exit/error`` calls not reported yet."""
        found = [
            (name, str(detail.get("errorType") or "Extension.ExitError"))
            for name, kind, detail in self.api.errors()
            if kind == "exit"
        ]
        new, self._exit_errors_seen = found[self._exit_errors_seen :], len(found)
        return new

    def crashed(self) -> list[str]:
        """Extensions whose process has ended."""
        return [name for name, pid in self.pids.items() if not _alive(pid)]

    # SHUTDOWN ---------------------------------------------------------------------------
    def shutdown(self, reason: str, budget_ms: float) -> list[str]:
        """Send SHUTDOWN to the extensions registered for it and give them until the end
        of ``budget_ms`` to exit; returns the names of those that outstayed it."""
        deadline_ms = time.time_ns() // 1_000_000 + int(budget_ms)
        with contextlib.suppress(Exception):
            self.api.flush(min(0.5, budget_ms / 1000))
        self.api.dispatch_shutdown(reason, deadline_ms)
        end = time.monotonic() + budget_ms / 1000
        while time.monotonic() < end:
            if not any(_alive(pid) for pid in self.pids.values()):
                return []
            time.sleep(0.005)
        return [name for name, pid in self.pids.items() if _alive(pid)]

    # telemetry --------------------------------------------------------------------------
    def publish(self, type_: str, record: object) -> None:
        """A record for the Telemetry API's subscribers (nothing when there are none)."""
        self.api.publish(type_, record)

    def flush(self, timeout: float) -> None:
        """Deliver buffered telemetry now (the environment is about to be frozen)."""
        with contextlib.suppress(Exception):
            self.api.flush(timeout)

    @property
    def address(self) -> str:
        return self.api.address

    def close(self) -> None:
        self.api.close()
        self._listener.close()


def _error(error_type: str, message: str) -> dict[str, Any]:
    return {"errorType": error_type, "errorMessage": message}
