"""Handing the environment over to another program: a custom runtime's ``bootstrap``, or
an ``AWS_LAMBDA_EXEC_WRAPPER`` script that starts the Python runtime afresh.

Both replace the environment's first process (``execve``) once Extension init is over;
the custom runtime then speaks the Runtime API, and the wrapped Python runtime continues
the same environment with :func:`resume` (spec §2.1, §2.2). Standard library only: this
runs in a forked environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

from sandbox.runtime.bootstrap import LOG_SENTINEL, _host_pid, run, write_message

__all__ = ["exec_custom_runtime", "exec_wrapper", "resume"]


def exec_custom_runtime(ctrl_fd: int, log_fd: int, spec: dict[str, Any]) -> None:
    """An OS-only runtime (``provided.al2023``): its ``bootstrap`` executable replaces this
    process and drives the Runtime API itself (spec §2.1). Never returns."""
    path = spec["custom_runtime"]
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    with contextlib.suppress(OSError):
        os.chdir(spec.get("cwd") or spec["task_root"])
    os.write(log_fd, LOG_SENTINEL)  # the parent reads the log stream up to here
    write_message(ctrl_fd, {"op": "exec", "pid": _host_pid()})
    os.close(ctrl_fd)
    os.close(log_fd)
    try:
        os.execve(path, [path], spec["environment"])
    except OSError as exc:
        os.write(2, f"exec {path}: {exc.strerror}\n".encode())
    os._exit(127)  # what a shell answers for a command it cannot run


def exec_wrapper(wrapper: str, ctrl_fd: int, log_fd: int, spec: dict[str, Any]) -> None:
    """``AWS_LAMBDA_EXEC_WRAPPER`` (spec §2.2, internal extensions): run the wrapper with
    the runtime's command line appended; it is expected to ``exec "$@"``, perhaps changed.
    The runtime is then a fresh interpreter (slower to start, and ``sitecustomize`` and
    ``PYTHON*`` variables the wrapper sets apply), which continues this environment from
    its spec (read from standard input). Never returns."""
    resumed = {k: v for k, v in spec.items() if k not in ("mounts", "extensions")}
    resumed["wrapped"] = True
    reader, writer = os.pipe()
    data = json.dumps(resumed).encode()
    os.set_blocking(writer, False)
    try:
        os.write(writer, data)  # specs are small: the pipe's buffer holds them
    finally:
        os.close(writer)
    os.dup2(reader, 0)
    os.close(reader)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    for fd in (ctrl_fd, log_fd):
        os.set_inheritable(fd, True)
    import_path = [p for p in sys.path if p]
    code = (
        "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
        "from sandbox.runtime.handoff import resume; resume(int(sys.argv[2]), int(sys.argv[3]))"
    )
    argv = [wrapper, sys.executable, "-c", code, json.dumps(import_path), str(ctrl_fd), str(log_fd)]
    with contextlib.suppress(OSError):
        os.chdir(spec.get("cwd") or spec["task_root"])
    try:
        os.execve(wrapper, argv, spec["environment"])
    except OSError as exc:
        os.write(2, f"exec {wrapper}: {exc.strerror}\n".encode())
    os._exit(127)  # as Lambda reports a missing wrapper: "exit status 127"


def resume(ctrl_fd: int, log_fd: int) -> None:
    """The runtime started by a wrapper script: continue the environment whose spec is on
    standard input. Never returns."""
    spec = json.loads(sys.stdin.buffer.read())
    code = 1
    try:
        run(ctrl_fd, log_fd, spec)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
