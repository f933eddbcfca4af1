"""External extensions, on the environment's side: start every executable of
``/opt/extensions`` as its own process, in parallel, before the runtime initialises.

On Lambda an external extension is a separate process in the execution environment,
started during the Extension-init phase, before runtime and function init; it shares the
environment's CPU, memory, ``/tmp`` and network, and it talks to the Extensions API at
``AWS_LAMBDA_RUNTIME_API`` (spec §2.2). Here the environment's first process starts them
(so they live in its namespaces and its process group, and are frozen and killed with it)
and tells the sandbox their host pids, so the sandbox can see one crash.

Each extension's stdout and stderr are a TCP connection to the sandbox (loopback: the
environment shares the machine's network), opened before the filesystem view hides the
store, whose first line names the extension: its output reaches the log stream and the
Telemetry API as ``extension`` records, apart from the function's. Only the standard
library: this runs in a forked runtime before anything else.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping, Sequence

__all__ = ["connect_logs", "start_extensions"]


def connect_logs(address: str | None, names: Sequence[str]) -> dict[str, int]:
    """One connection to the sandbox's extension-log listener per extension (its first
    line is the name); an empty dict when there is no listener or it cannot be reached."""
    if not address:
        return {}
    host, _, port = address.rpartition(":")
    fds: dict[str, int] = {}
    for name in names:
        try:
            sock = socket.create_connection((host, int(port)), timeout=5)
        except OSError:
            break
        sock.settimeout(None)
        sock.sendall(name.encode("utf-8", "replace") + b"\n")
        fds[name] = sock.detach()
    return fds


def start_extensions(
    paths: Sequence[str],
    environment: Mapping[str, str],
    log_fds: Mapping[str, int],
    fallback_fd: int,
) -> dict[str, int]:
    """Fork and exec every extension at once; return ``{name: host pid}``.

    An extension whose file cannot be executed exits 127 at once (as a shell would), which
    the sandbox reports as ``Extension.LaunchError``/``Extension.Crash``.
    """
    pids: dict[str, int] = {}
    env = dict(environment)
    for path in paths:
        name = os.path.basename(path)
        out_fd = log_fds.get(name, fallback_fd)
        report_r, report_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the extension process
            try:
                os.close(report_r)
                with contextlib.suppress(OSError):
                    os.write(report_w, os.readlink("/proc/self").encode())
                os.close(report_w)
                os.dup2(out_fd, 1)
                os.dup2(out_fd, 2)
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                os.closerange(3, 65536)
                os.execve(path, [path], env)
            except BaseException:
                pass
            os._exit(127)
        os.close(report_w)
        raw = b""
        with contextlib.suppress(OSError):
            while chunk := os.read(report_r, 32):
                raw += chunk
        os.close(report_r)
        pids[name] = int(raw) if raw.isdigit() else pid
    for fd in set(log_fds.values()):
        with contextlib.suppress(OSError):
            os.close(fd)
    return pids
