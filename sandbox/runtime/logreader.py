"""The parent's reader of an environment's output: lines, up to each phase's end marker.

The runtime writes :data:`~sandbox.runtime.bootstrap.LOG_SENTINEL` when a phase (INIT, an
invocation) ends, so the parent knows it has every line of that phase before it answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from sandbox.runtime.bootstrap import LOG_SENTINEL

__all__ = ["LogReader", "LogSink"]

LogSink = Callable[[str], None]


class LogReader:
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
