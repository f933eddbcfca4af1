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
from typing import Any, Protocol

from sandbox.runtime.bootstrap import LOG_SENTINEL

__all__ = [
    "ChildHandle",
    "EnvironmentProcess",
    "ExitInfo",
    "InitOutcome",
    "InvokeOutcome",
    "Launcher",
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
LogSink = Callable[[str], None]


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

    def wait_exit(self, timeout: float) -> ExitInfo | None:
        """Block until the process has ended (or ``timeout``); how it ended."""
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


class _LogReader:
    """Splits the environment's output into lines, up to each phase's end sentinel."""

    __slots__ = ("buf", "ended", "fd", "lines", "sink")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b""
        self.lines: list[str] = []
        self.sink: LogSink | None = None
        self.ended = False

    def begin(self, sink: LogSink | None) -> None:
        self.lines = []
        self.sink = sink
        self.ended = False

    def _emit(self, raw: bytes) -> None:
        line = raw.decode("utf-8", "backslashreplace")
        self.lines.append(line)
        if self.sink is not None:
            try:
                self.sink(line)
            except Exception:
                self.sink = None

    def pump(self) -> bool:
        """Read what is there; returns False at end of file."""
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return True
        except OSError:
            data = b""
        if not data:
            if self.buf:
                self._emit(self.buf)
                self.buf = b""
            return False
        buf = self.buf + data
        while True:
            cut = buf.find(LOG_SENTINEL)
            nl = buf.find(b"\n")
            if cut != -1 and (nl == -1 or cut <= nl):
                if cut:
                    self._emit(buf[:cut])
                buf = buf[cut + len(LOG_SENTINEL) :]
                self.ended = True
                continue
            if nl == -1:
                break
            self._emit(buf[:nl])
            buf = buf[nl + 1 :]
        self.buf = buf
        return True


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
        self._lock = threading.Lock()
        log_parent.shutdown(socket.SHUT_WR)
        os.set_blocking(self._ctrl_fd, False)
        os.set_blocking(log_parent.fileno(), False)
        self._reader = _LogReader(log_parent.fileno())
        self._poll = select.poll()
        self._poll.register(self._ctrl_fd, select.POLLIN)
        self._poll.register(log_parent.fileno(), select.POLLIN)
        try:
            self._child = launcher.launch(spec, ctrl_child, log_child)
        finally:
            ctrl_child.close()
            log_child.close()
        self.pid = self._child.pid
        self.exit_info: ExitInfo | None = None
        self._closed = False

    # messages ---------------------------------------------------------------------------
    def _send(self, header: dict[str, Any], body: bytes = b"") -> None:
        head = json.dumps(header, separators=(",", ":")).encode()
        data = memoryview(_LEN.pack(len(head) + 1 + len(body)) + head + b"\n" + body)
        os.set_blocking(self._ctrl_fd, True)
        try:
            while data:
                data = data[os.write(self._ctrl_fd, data) :]
        finally:
            os.set_blocking(self._ctrl_fd, False)

    def _take_message(self) -> tuple[dict[str, Any], bytes] | None:
        buf = self._ctrl_buf
        if len(buf) < 4:
            return None
        (size,) = _LEN.unpack_from(buf)
        if len(buf) < 4 + size:
            return None
        data, self._ctrl_buf = buf[4 : 4 + size], buf[4 + size :]
        cut = data.index(b"\n")
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

    def _wait(
        self, deadline: float, sink: LogSink | None, memory_limit_mb: int | None
    ) -> tuple[str, dict[str, Any] | None, bytes]:
        """Wait for the next control message, routing log lines meanwhile.

        Returns ``("message", header, body)``, ``("timeout", None, b"")``,
        ``("crash", None, b"")`` or ``("oom", None, b"")``.
        """
        reader = self._reader
        reader.begin(sink)
        poll = self._poll.poll
        ctrl_fd = self._ctrl_fd
        next_memory_check = time.monotonic() + 0.05
        while True:
            message = self._take_message()
            if message is not None:
                if not reader.ended:
                    self._finish_logs(deadline=time.monotonic() + 0.5)
                return "message", message[0], message[1]
            now = time.monotonic()
            if now >= deadline:
                return "timeout", None, b""
            wait_s = deadline - now
            if memory_limit_mb is not None:
                if now >= next_memory_check:
                    if _rss_mb(self.pid) > memory_limit_mb:
                        return "oom", None, b""
                    next_memory_check = now + 0.05
                wait_s = min(wait_s, max(0.0, next_memory_check - now))
            for fd, _ev in poll(max(0, int(wait_s * 1000) + 1)):
                if fd == ctrl_fd:
                    if not self._read_ctrl() and self._take_message() is None:
                        self._finish_logs(deadline=time.monotonic() + 0.5)
                        return "crash", None, b""
                else:
                    reader.pump()

    def _finish_logs(self, deadline: float) -> None:
        """Read the log stream up to the phase's sentinel (or EOF, or the deadline)."""
        reader = self._reader
        fd = reader.fd
        while not reader.ended and time.monotonic() < deadline:
            ready = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]
            if not ready or not reader.pump():
                break

    # lifecycle --------------------------------------------------------------------------
    def wait_init(self, timeout_s: float, sink: LogSink | None = None) -> InitOutcome:
        """Wait for runtime and function init to finish (or fail, or run out of time)."""
        kind, header, _ = self._wait(time.monotonic() + timeout_s, sink, None)
        lines = list(self._reader.lines)
        if kind == "message" and header is not None:
            init_ms = header.get("init_ns", 0) / 1e6
            if header.get("op") == "ready":
                return InitOutcome(True, init_ms, lines=lines)
            return InitOutcome(
                False, init_ms, error=header.get("error"), lines=lines, exit=self.wait_exit(1.0)
            )
        if kind == "timeout":
            self.kill()
            return InitOutcome(False, timeout_s * 1000, timed_out=True, lines=lines)
        return InitOutcome(False, 0.0, exit=self.wait_exit(2.0), lines=lines)

    def invoke(
        self,
        header: dict[str, Any],
        payload: bytes,
        timeout_s: float,
        *,
        sink: LogSink | None = None,
        memory_limit_mb: int | None = None,
    ) -> InvokeOutcome:
        """Run one invocation; thaws before and freezes after."""
        start = time.monotonic()
        deadline = start + timeout_s
        self.thaw()
        try:
            self._send({"op": "invoke", **header}, payload)
        except OSError:
            self._finish_logs(time.monotonic() + 0.2)
            return InvokeOutcome("crash", exit=self.wait_exit(2.0), lines=list(self._reader.lines))
        kind, reply, body = self._wait(deadline, sink, memory_limit_mb)
        lines = list(self._reader.lines)
        if kind == "message" and reply is not None:
            self.freeze()
            max_rss = int(reply.get("max_rss_kb", 0)) // 1024
            outcome = InvokeOutcome(
                reply["status"], body, reply["duration_ns"] / 1e6, max_rss, lines=lines
            )
            if memory_limit_mb is not None and max_rss > memory_limit_mb:
                # Lambda would have killed it while it was over the limit (spec §1.1)
                self.kill()
                outcome.status, outcome.exit = "oom", ExitInfo(signal=signal.SIGKILL)
            return outcome
        elapsed = (time.monotonic() - start) * 1000
        if kind == "timeout":
            self.kill()
            return InvokeOutcome("timeout", duration_ms=elapsed, lines=lines)
        if kind == "oom":
            rss = _rss_mb(self.pid)
            self.kill()
            return InvokeOutcome(
                "oom",
                duration_ms=elapsed,
                max_rss_mb=rss,
                lines=lines,
                exit=ExitInfo(signal=signal.SIGKILL),
            )
        exit_info = self.wait_exit(2.0)
        self.kill()
        return InvokeOutcome("crash", duration_ms=elapsed, exit=exit_info, lines=lines)

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

    @property
    def frozen(self) -> bool:
        return self._frozen

    def wait_exit(self, timeout: float) -> ExitInfo | None:
        if self.exit_info is None:
            self.exit_info = self._child.wait_exit(timeout)
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
            with contextlib.suppress(Exception):
                self._poll.unregister(self._ctrl_fd)
                self._poll.unregister(self._reader.fd)
            self._ctrl.close()
            self._log.close()


def _rss_mb(pid: int) -> int:
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
