"""The Python runtime inside an execution environment (the child side of the process).

This module is what AWS's ``awslambdaric`` bootstrap is on Lambda: it initialises the
runtime (environment variables, working directory, ``sys.path``, log capture), imports the
handler module (function init), then loops: receive an invocation, call
``handler(event, context)``, send the result back. Errors are reported with the runtime's
own ``errorType`` values (spec §1.1, §3).

It is preloaded in the zygote, so a cold start costs a ``fork`` and this module's
:func:`run`, never a Python start-up. It imports only the standard library and must stay
single-threaded until the handler starts threads of its own (namespaces need that).

Wire protocol with the parent (``sandbox.runtime.process``) over a stream socket: each
message is a 4-byte big-endian length, a JSON header line, ``\\n``, then an opaque body.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import resource
import struct
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

__all__ = ["LambdaContext", "read_message", "run", "write_message"]

_LEN = struct.Struct("!I")
LOG_SENTINEL = b"\x00\x01LAMBDA-SANDBOX-END\x01\x00\n"


# -- framing ------------------------------------------------------------------------------
def write_message(fd: int, header: dict[str, Any], body: bytes = b"") -> None:
    """Send one framed message (header JSON + body) on ``fd``."""
    head = json.dumps(header, separators=(",", ":")).encode()
    data = _LEN.pack(len(head) + 1 + len(body)) + head + b"\n" + body
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, n: int) -> bytes:
    chunks: list[bytes] = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError("the other end of the environment channel closed")
        chunks.append(chunk)
        n -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_message(fd: int) -> tuple[dict[str, Any], bytes]:
    """Receive one framed message from ``fd``."""
    (size,) = _LEN.unpack(_read_exact(fd, 4))
    data = _read_exact(fd, size)
    cut = data.index(b"\n")
    if data[:2] == b"I\x1f":  # the invoke fast path (see encode_invoke)
        rid, arn, deadline, trace, ctx = data[2:cut].decode().split("\x1f")
        header: dict[str, Any] = {
            "op": "invoke",
            "id": rid,
            "arn": arn,
            "deadline_ms": int(deadline),
            "trace": trace,
            "client_context": json.loads(ctx) if ctx else None,
        }
    else:
        header = json.loads(data[:cut])
    return header, data[cut + 1 :]


def encode_invoke(
    request_id: str, arn: str, deadline_ms: int, trace: str, client_context: object, body: bytes
) -> bytes:
    """The framed invoke message, in the compact form :func:`read_message` parses: the hot
    path of every invocation avoids JSON for its header."""
    ctx = json.dumps(client_context) if client_context else ""
    head = "\x1f".join(("I", request_id, arn, str(deadline_ms), trace, ctx)).encode()
    return _LEN.pack(len(head) + 1 + len(body)) + head + b"\n" + body


def _write_result(fd: int, status: str, duration_ns: int, max_rss_kb: int, body: bytes) -> None:
    head = f"R\x1f{status}\x1f{duration_ns}\x1f{max_rss_kb}".encode()
    data = memoryview(_LEN.pack(len(head) + 1 + len(body)) + head + b"\n" + body)
    while data:
        data = data[os.write(fd, data) :]


# -- the context object (spec §1.3, awslambdaric LambdaContext) ---------------------------
class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity_id: str | None = None, pool_id: str | None = None) -> None:
        self.cognito_identity_id = identity_id
        self.cognito_identity_pool_id = pool_id

    def __repr__(self) -> str:
        return (
            f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


class Client:
    __slots__ = (
        "app_package_name",
        "app_title",
        "app_version_code",
        "app_version_name",
        "installation_id",
    )

    def __init__(self, client: dict[str, Any]) -> None:
        self.installation_id = client.get("installation_id")
        self.app_title = client.get("app_title")
        self.app_version_name = client.get("app_version_name")
        self.app_version_code = client.get("app_version_code")
        self.app_package_name = client.get("app_package_name")


class ClientContext:
    __slots__ = ("client", "custom", "env")

    def __init__(self, data: dict[str, Any]) -> None:
        client = data.get("client")
        self.client = Client(client) if isinstance(client, dict) else None
        self.custom = data.get("custom")
        self.env = data.get("env")


class LambdaContext:
    """The ``context`` argument of a Python handler, as AWS's runtime builds it."""

    def __init__(
        self,
        request_id: str,
        invoked_function_arn: str,
        deadline_ms: int,
        client_context: dict[str, Any] | None = None,
        identity: dict[str, Any] | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")  # a str
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.identity = CognitoIdentity(
            (identity or {}).get("cognitoIdentityId"), (identity or {}).get("cognitoIdentityPoolId")
        )
        self.client_context = ClientContext(client_context) if client_context else None
        self.tenant_id = tenant_id
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - time.time_ns() // 1_000_000)

    def log(self, msg: str) -> None:
        sys.stdout.write(str(msg))
        sys.stdout.flush()

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},identity={self.identity},"
            f"tenant_id={self.tenant_id}])"
        )


# -- logging, as the Python runtime sets it up (spec §1.4) --------------------------------
_request_id = ""


class LambdaTextFormatter(logging.Formatter):
    """``[LEVEL]\t<ISO time>Z\t<request id>\t<message>``: the Python runtime's text format."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        ms = int(record.msecs)
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return f"[{record.levelname}]\t{ts}.{ms:03d}Z\t{_request_id}\t{text}"


class LambdaJsonFormatter(logging.Formatter):
    """``LoggingConfig.LogFormat = JSON``: one JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        doc = {
            "timestamp": f"{ts}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": _request_id,
        }
        return json.dumps(doc)


def _install_logging(log_format: str) -> None:
    # the formatter classes are defined at import, in the zygote: a class created after the
    # fork would cost every environment its own copy. The handlers too are made there, by
    # rehearsal.rehearse(), and the text one installed: a runtime only checks (or swaps) them.
    root = logging.getLogger()
    handler = _PRESET_HANDLERS.get(log_format == "JSON")
    if handler is None or handler.stream is not sys.stdout:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(
            LambdaJsonFormatter() if log_format == "JSON" else LambdaTextFormatter()
        )
    if root.handlers != [handler]:
        for h in list(root.handlers):
            root.removeHandler(h)
        root.addHandler(handler)
    level = (
        os.environ.get("AWS_LAMBDA_LOG_LEVEL", "WARNING")
        if log_format == "JSON"
        else logging.WARNING
    )
    if level not in (root.level, logging.getLevelName(root.level)):
        root.setLevel(level)


# -- errors in AWS's shape ---------------------------------------------------------------
_RUNTIME_FILES = {__file__.removesuffix("c")}


def _stack(tb: Any) -> list[str]:
    """The traceback without the runtime's own leading frames, as awslambdaric trims it."""
    frames = traceback.extract_tb(tb)
    while frames and frames[0].filename in _RUNTIME_FILES:
        frames.pop(0)
    return traceback.format_list(frames)


def _error(
    exc: BaseException,
    error_type: str | None = None,
    message: str | None = None,
    with_stack: bool = True,
) -> dict[str, Any]:
    return {
        "errorMessage": str(exc) if message is None else message,
        "errorType": error_type or type(exc).__name__,
        "requestId": _request_id,
        "stackTrace": _stack(exc.__traceback__) if with_stack else [],
    }


def _log_error(err: dict[str, Any]) -> None:
    lines = [f"[ERROR] {err['errorType']}: {err['errorMessage']}"]
    if err.get("stackTrace"):
        lines.append("Traceback (most recent call last):")
        lines.extend(frame.rstrip("\n") for frame in err["stackTrace"])
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def _load_handler(handler: str) -> tuple[Callable[..., Any] | None, dict[str, Any] | None]:
    """Function init: import the handler's module (awslambdaric ``_get_handler``)."""
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as exc:
        return None, _error(
            exc, "Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}", with_stack=False
        )
    modname = modname.replace("/", ".")
    if modname.split(".")[0] in sys.builtin_module_names:
        return None, {
            "errorMessage": f"Cannot use built-in module {modname} as a handler module",
            "errorType": "Runtime.BuiltInModuleConflict",
            "requestId": "",
            "stackTrace": [],
        }
    try:
        module = importlib.import_module(modname)
    except ImportError as exc:
        return None, _error(
            exc,
            "Runtime.ImportModuleError",
            f"Unable to import module '{modname}': {exc}",
            with_stack=False,
        )
    except SyntaxError as exc:
        error = _error(
            exc,
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{modname}': {exc}",
            with_stack=False,
        )
        # awslambdaric's format for the offending line
        error["stackTrace"] = [
            f'  File "{exc.filename}" Line {exc.lineno}\n    {(exc.text or "").strip()}\n'
        ]
        return None, error
    except Exception as exc:  # any error raised by the module's top-level code
        return None, _error(exc)
    fn = getattr(module, fname, None)
    if fn is None:
        return None, {
            "errorMessage": f"Handler '{fname}' missing on module '{modname}'",
            "errorType": "Runtime.HandlerNotFound",
            "requestId": "",
            "stackTrace": [],
        }
    return fn, None


def _new_streams() -> tuple[io.TextIOWrapper, io.TextIOWrapper, io.TextIOWrapper]:
    """The runtime's standard streams: line-buffered UTF-8 text over descriptors 1 and 2."""
    out, err = (
        io.TextIOWrapper(
            io.FileIO(fd, "w", closefd=False),
            line_buffering=True,
            encoding="utf-8",
            errors="backslashreplace",
        )
        for fd in (1, 2)
    )
    return out, err, io.TextIOWrapper(io.BytesIO())


_PRESET_STREAMS: tuple[io.TextIOWrapper, io.TextIOWrapper, io.TextIOWrapper] | None = None
# text (False) and JSON (True) handlers over the preset standard output
_PRESET_HANDLERS: dict[bool, logging.StreamHandler[Any]] = {}


def _prepare(spec: dict[str, Any], log_fd: int) -> None:
    """Runtime init: what the Lambda runtime sets up before importing user code."""
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    if log_fd > 2:
        os.close(log_fd)
    global _PRESET_STREAMS
    # made in the zygote when it rehearsed (they write to descriptors 1 and 2, whatever
    # those are): a runtime shares them instead of building its own
    streams, _PRESET_STREAMS = _PRESET_STREAMS or _new_streams(), None
    sys.stdout, sys.stderr, sys.stdin = streams
    sys.dont_write_bytecode = True  # the task root is read-only, as /var/task is
    import tempfile

    tempfile.tempdir = None  # forget the zygote's choice: TMPDIR is the environment's own
    if not spec.get("wrapped"):  # a wrapper's exports are the runtime's environment
        os.environ.clear()
        os.environ.update(spec["environment"])
    time.tzset()  # TZ=:UTC, as on Lambda
    os.chdir(spec.get("cwd") or spec["task_root"])
    sys.path[:0] = spec["python_path"]
    sys.argv = ["/var/runtime/bootstrap.py"]
    _install_logging(spec.get("log_format", "Text"))


def _vm_hwm_kb() -> int | None:
    """``VmHWM`` (the peak of this process's own memory) from ``/proc/self/status``."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _ru_maxrss_kb() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS


# ``ru_maxrss`` survives ``exec`` (not ``fork``): a runtime spawned by ``exec`` would report
# the peak of the (large) process that started it. Then, and only then, since it is slower,
# read VmHWM instead. Decided once per process: a zygote's forks start afresh.
_inherited_peak: dict[int, bool] = {}


def _max_rss_kb() -> int:
    """Peak resident memory of this runtime, in KiB."""
    pid = os.getpid()
    inherited = _inherited_peak.get(pid)
    if inherited is None:
        inherited = _inherited_peak[pid] = (_vm_hwm_kb() or 0) + 1024 < _ru_maxrss_kb()
    if inherited:
        hwm = _vm_hwm_kb()
        if hwm is not None:
            return hwm
    return _ru_maxrss_kb()


def _host_pid() -> int:
    """This process's pid as the sandbox sees it (differs inside a PID namespace)."""
    try:
        return int(os.readlink("/proc/self"))
    except (OSError, ValueError):
        return os.getpid()


def _extension_logs(spec: dict[str, Any], extensions: list[str]) -> dict[str, int]:
    if not extensions:
        return {}
    from sandbox.runtime.extensions import connect_logs

    return connect_logs(spec.get("extension_log"), [os.path.basename(p) for p in extensions])


def run(
    ctrl_fd: int,
    log_fd: int,
    spec: dict[str, Any],
    start_fds: tuple[int, int] | None = None,
) -> None:
    """The environment's main loop. Never returns: the process exits at the end.

    ``start_fds`` (from the zygote, in the namespaces view): where to report the pids of
    the namespace's PID 1 and of the runtime, and PID 1's input (see
    :func:`sandbox.runtime.isolation.split`)."""
    init_start = time.perf_counter_ns()
    extensions = spec.get("extensions") or []
    if spec.get("mounts"):
        from sandbox.runtime.isolation import mount_view, split, supervise, unshare

        unshare(pid_namespace=True)  # before any thread exists
        # both return in the runtime, PID 2 of its own namespace
        if start_fds is not None:
            split((ctrl_fd, log_fd), *start_fds)
        else:
            supervise((ctrl_fd, log_fd))
        log_fds = _extension_logs(spec, extensions)  # before the view hides the store
        mount_view(spec["mounts"])
    else:
        log_fds = _extension_logs(spec, extensions)
    if extensions:
        # Extension init (spec §1.1): every external extension starts, in parallel, before
        # the runtime; the sandbox says "go" once they have all registered
        from sandbox.runtime.extensions import start_extensions

        pids = start_extensions(extensions, spec["extension_environment"], log_fds, log_fd)
        os.write(log_fd, LOG_SENTINEL)  # the parent reads the log stream up to here
        write_message(ctrl_fd, {"op": "extensions", "pids": pids})
        try:
            go, _ = read_message(ctrl_fd)
        except EOFError:
            os._exit(0)
        if go.get("op") != "go":
            os._exit(0)
        init_start = time.perf_counter_ns()  # runtime init starts now
    if spec.get("custom_runtime"):
        from sandbox.runtime.handoff import exec_custom_runtime

        exec_custom_runtime(ctrl_fd, log_fd, spec)
    wrapper = spec.get("exec_wrapper")
    if wrapper and not spec.get("wrapped"):
        from sandbox.runtime.handoff import exec_wrapper

        exec_wrapper(wrapper, ctrl_fd, log_fd, spec)
    _prepare(spec, log_fd)
    runtime_done = time.perf_counter_ns()  # runtime init ends, function init begins
    handler, init_error = _load_handler(spec["handler"])
    init_ns = time.perf_counter_ns() - init_start
    phases = {
        "runtime_ns": runtime_done - init_start,
        "function_ns": init_ns - runtime_done + init_start,
    }
    if init_error is not None:
        _log_error(init_error)
        sys.stdout.flush()
        os.write(1, LOG_SENTINEL)
        write_message(
            ctrl_fd,
            {
                "op": "init_error",
                "init_ns": init_ns,
                **phases,
                "error": init_error,
                "max_rss_kb": _max_rss_kb(),
            },
        )
        os._exit(0)
    os.write(1, LOG_SENTINEL)
    write_message(
        ctrl_fd,
        {
            "op": "ready",
            "pid": _host_pid(),
            "init_ns": init_ns,
            **phases,
            "max_rss_kb": _max_rss_kb(),
        },
    )
    while True:
        try:
            header, body = read_message(ctrl_fd)
        except EOFError:
            os._exit(0)
        if header.get("op") != "invoke":
            os._exit(0)
        _invoke(ctrl_fd, header, body, handler)  # type: ignore[arg-type]


def _invoke(ctrl_fd: int, header: dict[str, Any], body: bytes, handler: Callable[..., Any]) -> None:
    """One invocation: call the handler, send the result back on ``ctrl_fd``."""
    global _request_id
    dumps = json.dumps
    _request_id = header["id"]
    os.environ["_X_AMZN_TRACE_ID"] = header.get("trace", "")
    context = LambdaContext(
        _request_id,
        header["arn"],
        header["deadline_ms"],
        header.get("client_context"),
        header.get("identity"),
    )
    start = time.perf_counter_ns()
    status = "ok"
    try:
        event = json.loads(body) if body else {}
        result = handler(event, context)
        try:
            out = result if isinstance(result, bytes) else dumps(result).encode()
        except (TypeError, ValueError) as exc:
            status = "error"
            err = _error(
                exc,
                "Runtime.MarshalError",
                f"Unable to marshal response: {exc}",
                with_stack=False,
            )
            _log_error(err)
            out = dumps(err).encode()
    except Exception as exc:
        status = "error"
        err = _error(exc)
        _log_error(err)
        out = dumps(err).encode()
    duration_ns = time.perf_counter_ns() - start
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(1, LOG_SENTINEL)
    _write_result(ctrl_fd, status, duration_ns, _max_rss_kb(), out)
    _request_id = ""
