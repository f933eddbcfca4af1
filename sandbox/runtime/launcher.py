"""Launchers start environment processes: through the zygote, or by spawning.

:class:`ZygoteLauncher` starts the zygote once (a fresh interpreter, from a
long-lived launcher thread so that ``PR_SET_PDEATHSIG`` is tied to a thread that never
ends), then asks it to fork each environment, passing the environment's sockets over
``SCM_RIGHTS``. :class:`SpawnLauncher` is the fallback where ``fork`` is unavailable:
each environment is its own fresh interpreter (~70 ms instead of ~1 ms).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from sandbox.runtime.process import ExitInfo

__all__ = ["SpawnLauncher", "ZygoteLauncher", "default_launcher", "fork_available"]

_LEN = struct.Struct("!I")
PRELOAD = [
    "sandbox.runtime.bootstrap",
    "sandbox.runtime.isolation",
    "json",
    "logging",
    "traceback",
    "importlib",
    "dill",
]


def _import_path() -> list[str]:
    """This interpreter's ``sys.path`` for a child, with ``""`` (the current directory)
    made absolute: the child must import the same ``sandbox`` as the caller."""
    return [p or os.getcwd() for p in sys.path]


def fork_available() -> bool:
    return hasattr(os, "fork") and sys.platform != "win32"


class _LaunchThread:
    """One long-lived thread that starts helper processes (see module docstring)."""

    _instance: _LaunchThread | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        thread = threading.Thread(target=self._loop, name="lambda-sandbox-launcher", daemon=True)
        thread.start()

    @classmethod
    def get(cls) -> _LaunchThread:
        with cls._guard:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _loop(self) -> None:
        while True:
            job, future = self._jobs.get()
            try:
                future.set_result(job())
            except BaseException as exc:
                future.set_exception(exc)

    def run(self, job: Callable[[], Any]) -> Any:
        future: Future[Any] = Future()
        self._jobs.put((job, future))
        return future.result()


class _ZygoteChild:
    def __init__(self, pid: int, launcher: ZygoteLauncher, sentinel: int) -> None:
        self.pid = pid
        self._launcher = launcher
        self.sentinel = sentinel  # readable (EOF) once the process has ended

    def wait_exit(self, timeout: float) -> ExitInfo | None:
        return self._launcher.wait_exit(self.pid, timeout)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.sentinel)


class ZygoteLauncher:
    """Forks environments from a pre-warmed zygote process."""

    method = "zygote"

    def __init__(self, preload: list[str] | None = None) -> None:
        self._preload = preload or PRELOAD
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._seq = 0
        self._pending: dict[int, Future[int]] = {}
        self._exits: dict[int, ExitInfo] = {}
        self._exit_cv = threading.Condition()
        self._sock: socket.socket | None = None
        self._process: Any = None
        self._closed = False
        self._zygote_dead = False
        self._sentinels: dict[int, int] = {}  # pid -> write end, closed when the pid exits
        self._children: set[int] = set()  # environments of the current zygote
        self.zygote_pid: int | None = None

    def _start(self) -> socket.socket:
        parent, child = socket.socketpair()
        # A plain interpreter rather than a multiprocess spawn child: spawn would re-import
        # the user's __main__ (a script without a main guard would start itself again).
        code = (
            "import json, socket, sys; sys.path[:0] = json.loads(sys.argv[2]); "
            "from sandbox.runtime.zygote import zygote_main; "
            "zygote_main(socket.socket(fileno=int(sys.argv[1])), json.loads(sys.argv[3]))"
        )
        argv = [
            sys.executable,
            "-c",
            code,
            str(child.fileno()),
            json.dumps(_import_path()),
            json.dumps(self._preload),
        ]

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                argv, pass_fds=[child.fileno()], stdin=subprocess.DEVNULL, start_new_session=True
            )

        self._process = _LaunchThread.get().run(start)
        child.close()
        header = self._read(parent)
        if header is None or header.get("op") != "ready":
            raise RuntimeError("the lambda-sandbox zygote failed to start")
        self.zygote_pid = int(header["pid"])
        threading.Thread(
            target=self._reader, args=(parent,), name="lambda-sandbox-zygote-reader", daemon=True
        ).start()
        return parent

    @staticmethod
    def _read(sock: socket.socket) -> dict[str, Any] | None:
        def exact(n: int) -> bytes | None:
            data = b""
            while len(data) < n:
                chunk = sock.recv(n - len(data))
                if not chunk:
                    return None
                data += chunk
            return data

        raw = exact(4)
        if raw is None:
            return None
        data = exact(_LEN.unpack(raw)[0])
        return None if data is None else json.loads(data)

    def _reader(self, sock: socket.socket) -> None:
        while True:
            try:
                header = self._read(sock)
            except OSError:
                header = None
            if header is None:
                break
            if header["op"] == "forked":
                future = self._pending.pop(header["seq"], None)
                if future is not None:
                    future.set_result(int(header["pid"]))
            elif header["op"] == "exit":
                pid = int(header["pid"])
                with self._exit_cv:
                    self._exits[pid] = ExitInfo.from_wait_status(header["status"])
                    self._children.discard(pid)
                    self._exit_cv.notify_all()
                    writer = self._sentinels.pop(pid, None)
                if writer is not None:
                    os.close(writer)
        # the zygote is gone: nothing will be forked or reaped any more
        for future in list(self._pending.values()):
            if not future.done():
                future.set_exception(RuntimeError("the lambda-sandbox zygote exited"))
        with self._exit_cv:
            self._zygote_dead = True
            for pid in self._children:  # they died with it (parent-death signal)
                self._exits.setdefault(pid, ExitInfo(signal=9))
            self._children = set()
            self._exit_cv.notify_all()
            writers, self._sentinels = list(self._sentinels.values()), {}
        for writer in writers:  # the zygote is gone, and its environments with it
            with contextlib.suppress(OSError):
                os.close(writer)

    def launch(self, spec: dict[str, Any], ctrl: socket.socket, log: socket.socket) -> _ZygoteChild:
        try:
            return self._launch(spec, ctrl, log)
        except (OSError, RuntimeError):
            if self._closed:
                raise
            # the zygote died under us (killed by a handler?): once more, with a new one
            with self._exit_cv:
                self._zygote_dead = True
            return self._launch(spec, ctrl, log)

    def _launch(
        self, spec: dict[str, Any], ctrl: socket.socket, log: socket.socket
    ) -> _ZygoteChild:
        with self._lock:
            if self._closed:
                raise RuntimeError("the launcher is closed")
            if self._sock is not None and self._zygote_dead:
                # the zygote was killed (a handler can signal it): start a new one
                with contextlib.suppress(OSError):
                    self._sock.close()
                self._sock = None
            if self._sock is None:
                self._zygote_dead = False
                self._sock = self._start()
            sock = self._sock
            self._seq += 1
            seq = self._seq
            future: Future[int] = Future()
            self._pending[seq] = future
        # ns: the zygote is to adopt the runtime and its PID 1 (isolation.split)
        head = json.dumps({"op": "fork", "seq": seq, "ns": bool(spec.get("mounts"))}).encode()
        body = json.dumps(spec).encode()
        frame = _LEN.pack(len(head) + 1 + len(body)) + head + b"\n" + body
        with self._send_lock:
            sent = socket.send_fds(sock, [frame[:4]], [ctrl.fileno(), log.fileno()])
            if sent != 4:
                raise RuntimeError("short write to the zygote")
            sock.sendall(frame[4:])
        pid = future.result(timeout=30)
        reader, writer = os.pipe()
        with self._exit_cv:
            if pid in self._exits or self._zygote_dead:
                os.close(writer)  # already gone
            else:
                self._sentinels[pid] = writer
                self._children.add(pid)
        return _ZygoteChild(pid, self, reader)

    def wait_exit(self, pid: int, timeout: float) -> ExitInfo | None:
        with self._exit_cv:
            self._exit_cv.wait_for(lambda: pid in self._exits or self._zygote_dead, timeout)
            return self._exits.pop(pid, None)

    def close(self) -> None:
        """Stop the zygote; environments still alive die with it (parent-death signal)."""
        with self._lock:
            if self._closed and self._sock is None:
                return
            self._closed = True
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._process is not None:
            try:
                self._process.wait(2.0)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(2.0)


def _spawn_main(ctrl_fd: int, log_fd: int) -> None:
    """Entry point of a spawned (not forked) environment: the spec comes on stdin."""
    from sandbox.runtime.zygote import run_environment

    spec_bytes = sys.stdin.buffer.read()
    run_environment(os.getppid(), ctrl_fd, log_fd, spec_bytes)


def _exit_sentinel(process: subprocess.Popen[bytes]) -> int:
    """A descriptor that becomes readable when ``process`` ends: a pidfd on Linux, else a
    pipe a waiting thread closes."""
    with contextlib.suppress(AttributeError, OSError):
        return os.pidfd_open(process.pid)
    reader, writer = os.pipe()

    def wait() -> None:
        process.wait()
        os.close(writer)

    threading.Thread(target=wait, daemon=True, name="lambda-sandbox-exit-watch").start()
    return reader


class _SpawnChild:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        self.pid = process.pid
        self.sentinel = _exit_sentinel(process)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.sentinel)

    def wait_exit(self, timeout: float) -> ExitInfo | None:
        try:
            code = self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return ExitInfo(signal=-code) if code < 0 else ExitInfo(code=code)


class SpawnLauncher:
    """One fresh interpreter per environment: the fallback where ``fork`` is missing (or
    when asked for). Like the zygote, a plain ``python -c``: a ``multiprocess`` spawn
    child would import the caller's ``__main__`` (all of pytest, or a script without a
    main guard run twice) into every environment."""

    method = "spawn"
    zygote_pid: int | None = None  # there is none

    def launch(self, spec: dict[str, Any], ctrl: socket.socket, log: socket.socket) -> _SpawnChild:
        code = (
            "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
            "from sandbox.runtime.launcher import _spawn_main; "
            "_spawn_main(int(sys.argv[2]), int(sys.argv[3]))"
        )
        argv = [
            sys.executable,
            "-c",
            code,
            json.dumps(_import_path()),
            str(ctrl.fileno()),
            str(log.fileno()),
        ]

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                argv,
                pass_fds=[ctrl.fileno(), log.fileno()],
                stdin=subprocess.PIPE,
                process_group=0,  # own group, same session: orphaned-group rules still apply
            )

        process: subprocess.Popen[bytes] = _LaunchThread.get().run(start)
        assert process.stdin is not None
        process.stdin.write(json.dumps(spec).encode())
        process.stdin.close()
        return _SpawnChild(process)

    def close(self) -> None:
        pass


def default_launcher(method: str | None = None) -> ZygoteLauncher | SpawnLauncher:
    """``"zygote"`` where ``fork`` exists, else ``"spawn"``; ``$LAMBDA_SANDBOX_START_METHOD``
    or ``method`` can force either."""
    chosen = (
        method
        or os.environ.get("LAMBDA_SANDBOX_START_METHOD")
        or ("zygote" if fork_available() else "spawn")
    )
    if chosen == "spawn":
        return SpawnLauncher()
    if chosen != "zygote":
        raise ValueError(f"unknown start method {chosen!r} (zygote or spawn)")
    return ZygoteLauncher()
