"""The parent side of an execution environment process.

:class:`EnvironmentProcess` owns one environment's process: it starts it through a
:class:`Launcher` (the zygote, or ``multiprocess`` spawn where ``fork`` is unavailable),
speaks the framed protocol of :mod:`sandbox.runtime.bootstrap` over a control socket,
reads the environment's stdout/stderr from a log socket and routes each line live,
enforces deadlines and the memory limit, freezes the process group between invocations
(``SIGSTOP``: background threads do not run while idle, as on Lambda) and stops it with
escalation (``SIGTERM``, grace, ``SIGKILL``).

Nothing here knows about functions or AWS payloads: it reports what the process did
(``ok``, ``error``, ``timeout``, ``crash``, ``oom``) and the service layer turns that into
Lambda's answers.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sandbox.runtime.bootstrap import encode_invoke
from sandbox.runtime.logreader import LogReader, LogSink

__all__ = [
    "ChildHandle",
    "EnvironmentProcess",
    "ExitInfo",
    "InitOutcome",
    "InvokeOutcome",
    "Launcher",
    "process_rss_mb",
]

_LEN = struct.Struct("!I")
_SIGNAL_NAMES = {  # Go's syscall.Signal strings, as Lambda prints them (spec §1.1)
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGILL: "illegal instruction",
    signal.SIGINT: "interrupt",
    signal.SIGHUP: "hangup",
    signal.SIGPIPE: "broken pipe",
    signal.SIGQUIT: "quit",
    signal.SIGUSR1: "user defined signal 1",
    signal.SIGUSR2: "user defined signal 2",
    signal.SIGALRM: "alarm clock",
}
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ExitInfo:
    """How a process ended: an exit code or a signal."""

    code: int | None = None
    signal: int | None = None

    @classmethod
    def from_wait_status(cls, status: int) -> ExitInfo:
        if os.WIFSIGNALED(status):
            return cls(signal=os.WTERMSIG(status))
        return cls(code=os.waitstatus_to_exitcode(status))

    def describe(self) -> str:
        """``Runtime exited without providing a reason`` / ``... with error: exit status N``
        / ``... with error: signal: killed`` (spec §1.1)."""
        if self.signal is not None:
            name = _SIGNAL_NAMES.get(signal.Signals(self.signal), f"signal {self.signal}")
            return f"Runtime exited with error: signal: {name}"
        if self.code:
            return f"Runtime exited with error: exit status {self.code}"
        return "Runtime exited without providing a reason"


class ChildHandle(Protocol):
    pid: int
    sentinel: int  # a descriptor that becomes readable when the process has ended

    def wait_exit(self, timeout: float) -> ExitInfo | None:
        """Block until the process has ended (or ``timeout``); how it ended."""
        ...

    def close(self) -> None:
        """Release the sentinel."""
        ...


class Launcher(Protocol):
    """Starts environment processes; the zygote or a spawn fallback."""

    method: str

    def launch(
        self, spec: dict[str, Any], ctrl: socket.socket, log: socket.socket
    ) -> ChildHandle: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class InitOutcome:
    ok: bool
    init_ms: float
    error: dict[str, Any] | None = None
    max_rss_mb: int = 0
    runtime_ms: float = 0.0  # runtime init, inside the environment
    function_ms: float = 0.0  # function init: importing the handler's module
    timed_out: bool = False
    exit: ExitInfo | None = None
    lines: list[str] = field(default_factory=list)


@dataclass(slots=True)
class InvokeOutcome:
    """What an invocation did. ``status``: ok, error, timeout, crash or oom."""

    status: str
    body: bytes = b""
    duration_ms: float = 0.0
    max_rss_mb: int = 0
    exit: ExitInfo | None = None
    lines: list[str] = field(default_factory=list)


class EnvironmentProcess:
    """One environment's process, driven synchronously by the thread that holds it."""

    def __init__(self, launcher: Launcher, spec: dict[str, Any]) -> None:
        self._launcher = launcher
        self._spec = spec
        ctrl_parent, ctrl_child = socket.socketpair()
        log_parent, log_child = socket.socketpair()
        self._ctrl = ctrl_parent
        self._log = log_parent
        self._ctrl_fd = ctrl_parent.fileno()
        self._ctrl_buf = b""
        self._frozen = False
        self._started = self._deadline = self._next_memory_check = 0.0
        self._memory_limit_mb: int | None = None
        log_parent.shutdown(socket.SHUT_WR)
        # the control socket stays blocking (read only after poll() says so, written whole);
        # the log socket is drained opportunistically, so it must never block
        os.set_blocking(log_parent.fileno(), False)
        self._reader = LogReader(log_parent.fileno())
        self._poll = select.poll()
        self._poll.register(self._ctrl_fd, select.POLLIN)
        self._poll.register(log_parent.fileno(), select.POLLIN)
        try:
            self._child = launcher.launch(spec, ctrl_child, log_child)
        finally:
            ctrl_child.close()
            log_child.close()
        self.pid = self._child.pid
        self.runtime_pid = self.pid  # the runtime itself (a descendant, in a PID namespace)
        # called with "timeout" or "failure" before a failed invocation kills the process
        # (the environment's extensions get their SHUTDOWN event then)
        self.before_reset: Callable[[str], None] | None = None
        self._sentinel = self._child.sentinel
        self._poll.register(self._sentinel, select.POLLIN)
        self.exit_info: ExitInfo | None = None
        # one waiter at a time: the launcher hands each exit status out once
        self._exit_lock = threading.Lock()
        self._closed = False

    # messages ---------------------------------------------------------------------------
    def _send(self, header: dict[str, Any], body: bytes = b"") -> None:
        if header.get("op") == "invoke":
            frame = encode_invoke(
                header["id"],
                header["arn"],
                header["deadline_ms"],
                header.get("trace", ""),
                header.get("client_context"),
                body,
            )
        else:
            head = json.dumps(header, separators=(",", ":")).encode()
            frame = _LEN.pack(len(head) + 1 + len(body)) + head + b"\n" + body
        data = memoryview(frame)
        while data:
            data = data[os.write(self._ctrl_fd, data) :]

    def _take_message(self) -> tuple[dict[str, Any], bytes] | None:
        buf = self._ctrl_buf
        if len(buf) < 4:
            return None
        (size,) = _LEN.unpack_from(buf)
        if len(buf) < 4 + size:
            return None
        data, self._ctrl_buf = buf[4 : 4 + size], buf[4 + size :]
        cut = data.index(b"\n")
        if data[:2] == b"R\x1f":  # the result fast path (bootstrap._write_result)
            _, status, duration_ns, rss_kb = data[:cut].split(b"\x1f")
            return {
                "op": "result",
                "status": status.decode(),
                "duration_ns": int(duration_ns),
                "max_rss_kb": int(rss_kb),
            }, data[cut + 1 :]
        return json.loads(data[:cut]), data[cut + 1 :]

    def _read_ctrl(self) -> bool:
        try:
            data = os.read(self._ctrl_fd, 1 << 20)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            return False
        self._ctrl_buf += data
        return True

    # waiting: one step at a time, so a single thread can drive many processes --------
    def _handle(self, fd: int) -> tuple[str, dict[str, Any] | None, bytes] | None:
        """Process one readable descriptor; the phase's end when it has come."""
        if fd == self._ctrl_fd:
            alive = self._read_ctrl()
            message = self._take_message()
            if message is not None:
                if not self._reader.ended:
                    self._finish_logs(deadline=time.monotonic() + 0.5)
                return "message", message[0], message[1]
            if not alive:
                self._finish_logs(deadline=time.monotonic() + 0.5)
                return "crash", None, b""
        elif fd == self._sentinel:
            # the process ended; a descendant may still hold the sockets open, so this,
            # not end-of-file, is the sure sign (a last answer may already be buffered)
            if select.select([self._ctrl_fd], [], [], 0)[0]:
                self._read_ctrl()
            message = self._take_message()
            if message is not None:
                return "message", message[0], message[1]
            self._finish_logs(deadline=time.monotonic() + 0.2)
            return "crash", None, b""
        else:
            self._reader.pump()
        return None

    def _check(self, now: float) -> tuple[str, dict[str, Any] | None, bytes] | None:
        """Deadline and memory limit of the phase in progress."""
        if now >= self._deadline:
            return "timeout", None, b""
        if self._memory_limit_mb is not None and now >= self._next_memory_check:
            if process_rss_mb(self.runtime_pid) > self._memory_limit_mb:
                return "oom", None, b""
            self._next_memory_check = now + 0.05
        return None

    def next_wakeup(self) -> float:
        """When (``time.monotonic()``) :meth:`check` has something to look at."""
        if self._memory_limit_mb is None:
            return self._deadline
        return min(self._deadline, self._next_memory_check)

    def _begin_phase(
        self, timeout_s: float, sink: LogSink | None, memory_limit_mb: int | None
    ) -> None:
        now = time.monotonic()
        self._started = now
        self._deadline = now + timeout_s
        self._memory_limit_mb = memory_limit_mb
        self._next_memory_check = now + 0.05
        self._reader.begin(sink)

    def _wait(self) -> tuple[str, dict[str, Any] | None, bytes]:
        """Block until the phase in progress ends (message, timeout, crash or oom)."""
        message = self._take_message()
        if message is not None:
            return "message", message[0], message[1]
        poll = self._poll.poll
        while True:
            now = time.monotonic()
            ended = self._check(now)
            if ended is not None:
                return ended
            for fd, _ev in poll(max(0, int((self.next_wakeup() - now) * 1000) + 1)):
                ended = self._handle(fd)
                if ended is not None:
                    return ended

    @property
    def fds(self) -> tuple[int, int, int]:
        """The descriptors to watch while an invocation runs (control, log, exit)."""
        return self._ctrl_fd, self._reader.fd, self._sentinel

    def _finish_logs(self, deadline: float) -> None:
        """Read the log stream up to the phase's sentinel (or EOF, or the deadline)."""
        reader = self._reader
        fd = reader.fd
        if not reader.ended:
            reader.pump()  # usually all there: the runtime writes the sentinel first
        while not reader.ended and time.monotonic() < deadline:
            ready = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]
            if not ready or not reader.pump():
                break

    # lifecycle --------------------------------------------------------------------------
    def wait_init(
        self,
        timeout_s: float,
        sink: LogSink | None = None,
        *,
        extensions_started: Callable[[dict[str, int], float], dict[str, Any] | None] | None = None,
    ) -> InitOutcome:
        """Wait for runtime and function init to finish (or fail, or run out of time).

        With external extensions the environment first reports their pids;
        ``extensions_started(pids, seconds_left)`` waits for Extension init and returns
        ``None`` to let the runtime start, or the error that fails INIT."""
        self._begin_phase(timeout_s, sink, None)
        kind, header, _ = self._wait()
        earlier: list[str] = []
        if kind == "message" and header is not None and header.get("op") == "extensions":
            earlier = list(self._reader.lines)
            pids = {str(k): int(v) for k, v in header.get("pids", {}).items()}
            left = max(0.0, self._deadline - time.monotonic())
            failure = extensions_started(pids, left) if extensions_started else None
            if failure is not None:
                self.kill()
                return InitOutcome(
                    False, (time.monotonic() - self._started) * 1000, error=failure, lines=earlier
                )
            if time.monotonic() >= self._deadline:
                self.kill()
                return InitOutcome(False, timeout_s * 1000, timed_out=True, lines=earlier)
            self._reader.begin(sink)
            self._send({"op": "go"})
            kind, header, _ = self._wait()
        lines = earlier + list(self._reader.lines)
        if kind == "message" and header is not None:
            init_ms = header.get("init_ns", 0) / 1e6
            rss = int(header.get("max_rss_kb", 0)) // 1024
            runtime_ms = header.get("runtime_ns", 0) / 1e6
            function_ms = header.get("function_ns", 0) / 1e6
            if header.get("op") == "exec":  # a custom runtime: its Runtime API calls say more
                self.runtime_pid = int(header.get("pid", self.pid))
                return InitOutcome(True, (time.monotonic() - self._started) * 1000, lines=lines)
            if header.get("op") == "ready":
                self.runtime_pid = int(header.get("pid", self.pid))
                return InitOutcome(
                    True,
                    init_ms,
                    lines=lines,
                    max_rss_mb=rss,
                    runtime_ms=runtime_ms,
                    function_ms=function_ms,
                )
            return InitOutcome(
                False,
                init_ms,
                error=header.get("error"),
                lines=lines,
                exit=self.wait_exit(1.0),
                max_rss_mb=rss,
                runtime_ms=runtime_ms,
                function_ms=function_ms,
            )
        if kind == "timeout":
            self.kill()
            return InitOutcome(False, timeout_s * 1000, timed_out=True, lines=lines)
        return InitOutcome(False, 0.0, exit=self.wait_exit(2.0), lines=lines)

    def watch(
        self, timeout_s: float, sink: LogSink | None, done: Callable[[float], T | None]
    ) -> tuple[str, T | None]:
        """Drive a runtime that speaks the Runtime API instead of this module's protocol:
        route its output to ``sink`` until ``done(wait_s)`` (which may block up to
        ``wait_s``) returns something — ``("done", it)`` — or the deadline passes
        (``"timeout"``), or the process ends (``"crash"``)."""
        self._begin_phase(timeout_s, sink, None)
        self.thaw()
        reader = self._reader
        while True:
            found = done(0.0)
            if found is not None:
                return "done", found
            now = time.monotonic()
            if now >= self._deadline:
                return "timeout", None
            ready = select.select([reader.fd, self._sentinel], [], [], 0)[0]
            if reader.fd in ready:
                reader.pump()
            if self._sentinel in ready:
                found = done(0.05)  # a last reply may be on its way
                reader.pump()
                return ("done", found) if found is not None else ("crash", None)
            found = done(min(0.01, max(0.0, self._deadline - time.monotonic())))
            if found is not None:
                reader.pump()
                return "done", found

    def begin_invoke(
        self,
        header: dict[str, Any],
        payload: bytes,
        timeout_s: float,
        *,
        sink: LogSink | None = None,
        memory_limit_mb: int | None = None,
    ) -> InvokeOutcome | None:
        """Thaw the environment and hand it one invocation; then drive it with
        :meth:`handle` and :meth:`check` (or :meth:`finish_invoke`). Returns an outcome at
        once only if the process is already gone."""
        self._begin_phase(timeout_s, sink, memory_limit_mb)
        self.thaw()
        try:
            self._send({"op": "invoke", **header}, payload)
        except OSError:
            self._finish_logs(time.monotonic() + 0.2)
            return self._outcome(("crash", None, b""))
        return None

    def handle(self, fd: int) -> InvokeOutcome | None:
        """``fd`` (one of :attr:`fds`) is readable: the outcome if the invocation ended."""
        ended = self._handle(fd)
        return None if ended is None else self._outcome(ended)

    def check(self, now: float) -> InvokeOutcome | None:
        """Enforce the deadline and the memory limit; the outcome if either struck."""
        ended = self._check(now)
        return None if ended is None else self._outcome(ended)

    def finish_invoke(self) -> InvokeOutcome:
        """Block until the invocation started by :meth:`begin_invoke` ends."""
        return self._outcome(self._wait())

    def invoke(
        self,
        header: dict[str, Any],
        payload: bytes,
        timeout_s: float,
        *,
        sink: LogSink | None = None,
        memory_limit_mb: int | None = None,
    ) -> InvokeOutcome:
        """Run one invocation, blocking; thaws before (freezing after is the owner's call:
        :meth:`freeze` when the environment goes idle)."""
        early = self.begin_invoke(
            header, payload, timeout_s, sink=sink, memory_limit_mb=memory_limit_mb
        )
        return early if early is not None else self.finish_invoke()

    def _outcome(self, ended: tuple[str, dict[str, Any] | None, bytes]) -> InvokeOutcome:
        kind, reply, body = ended
        lines = list(self._reader.lines)
        memory_limit_mb = self._memory_limit_mb
        if kind == "message" and reply is not None:
            max_rss = int(reply.get("max_rss_kb", 0)) // 1024
            outcome = InvokeOutcome(
                reply["status"], body, reply["duration_ns"] / 1e6, max_rss, lines=lines
            )
            if memory_limit_mb is not None and max_rss > memory_limit_mb:
                # Lambda would have killed it while it was over the limit (spec §1.1)
                self.kill()
                outcome.status, outcome.exit = "oom", ExitInfo(signal=signal.SIGKILL)
            return outcome
        elapsed = (time.monotonic() - self._started) * 1000
        if kind == "timeout":
            rss = process_rss_mb(self.runtime_pid)
            self._before_reset("timeout")
            self.kill()
            return InvokeOutcome("timeout", duration_ms=elapsed, max_rss_mb=rss, lines=lines)
        if kind == "oom":
            rss = process_rss_mb(self.runtime_pid)
            self._before_reset("failure")
            self.kill()
            return InvokeOutcome(
                "oom",
                duration_ms=elapsed,
                max_rss_mb=rss,
                lines=lines,
                exit=ExitInfo(signal=signal.SIGKILL),
            )
        exit_info = self.wait_exit(2.0)
        self._before_reset("failure")
        self.kill()
        return InvokeOutcome("crash", duration_ms=elapsed, exit=exit_info, lines=lines)

    def _before_reset(self, reason: str) -> None:
        if self.before_reset is not None:
            with contextlib.suppress(Exception):
                self.before_reset(reason)

    def freeze(self) -> None:
        """Stop every process of the environment (Lambda freezes an idle environment)."""
        if not self._frozen and self.exit_info is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGSTOP)
            self._frozen = True

    def thaw(self) -> None:
        if self._frozen:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGCONT)
            self._frozen = False

    def alive(self) -> bool:
        """Whether the process is still running (its exit sentinel has not fired)."""
        if self.exit_info is not None or self._closed:
            return False
        return not select.select([self._sentinel], [], [], 0)[0]

    @property
    def frozen(self) -> bool:
        return self._frozen

    def wait_exit(self, timeout: float) -> ExitInfo | None:
        """The exit status, waiting up to ``timeout`` seconds. Several threads may ask (an
        invocation that saw the runtime die, and a shutdown): the first one to get the
        status from the launcher keeps it for the others."""
        if self.exit_info is None and self._exit_lock.acquire(timeout=max(timeout, 0.0)):
            try:
                if self.exit_info is None:
                    self.exit_info = self._child.wait_exit(timeout)
            finally:
                self._exit_lock.release()
        return self.exit_info

    def kill(self) -> None:
        """SIGKILL the whole process group (the handler's own children too)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        self._frozen = False
        self.wait_exit(5.0)
        self._close_sockets()

    def shutdown(self, budget_ms: float) -> ExitInfo | None:
        """SIGTERM, up to ``budget_ms`` to exit, then SIGKILL (spec §1.1 SHUTDOWN)."""
        if self.exit_info is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGTERM)
                os.killpg(self.pid, signal.SIGCONT)
            self._frozen = False
            if budget_ms > 0:
                self.wait_exit(budget_ms / 1000)
        self.kill()
        return self.exit_info

    def _close_sockets(self) -> None:
        if not self._closed:
            self._closed = True
            for fd in (self._ctrl_fd, self._reader.fd, self._sentinel):
                with contextlib.suppress(Exception):
                    self._poll.unregister(fd)
            self._ctrl.close()
            self._log.close()
            self._child.close()


def process_rss_mb(pid: int) -> int:
    """Resident memory of a process, in MiB (``/proc`` read; 0 when unknown)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") // (1 << 20)
    except (OSError, ValueError, IndexError):
        if sys.platform == "darwin":
            with contextlib.suppress(Exception):
                import psutil

                return int(psutil.Process(pid).memory_info().rss // (1 << 20))
        return 0
