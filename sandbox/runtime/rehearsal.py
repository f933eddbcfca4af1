"""The zygote's rehearsal of the runtime, before it freezes its heap.

Why it exists: every page an environment writes after the fork becomes its own copy
(docs/performance.md, "Environments held at once"). So the zygote makes the runtime's
standard streams and logging handlers and runs function init and a few invocations of a
stand-in handler itself: environments inherit the objects made, the caches filled and the
bytecode quickened (Python 3.11 writes into code objects as it warms up) instead of each
writing its own. Standard library only; runs once, in the zygote.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from sandbox.runtime import bootstrap as rt

__all__ = ["rehearse"]

_REHEARSAL = """
import logging
def handler(event, context):
    print("rehearsal", event, context.get_remaining_time_in_millis())
    logging.getLogger().warning("rehearsal %s", context.aws_request_id)
    return {"statusCode": 200, "body": event}
def fails(event, context):
    raise ValueError("rehearsal")
"""


def rehearse(rounds: int = 12) -> None:
    """In the zygote, before it freezes its heap: make the runtime's standard streams and
    logging handlers, and run function init and a few invocations of a stand-in handler
    on throwaway descriptors. Every environment then inherits that work done — objects
    made, caches filled, bytecode quickened (3.11 writes into code objects as it warms
    up) — instead of writing its own copies of the pages involved (docs/performance.md).
    Leaves the zygote as it found it, but for the preset streams and handlers (the text
    one installed on the root logger) and warm caches."""
    import linecache
    import shutil
    import socket
    import tempfile

    streams = rt._new_streams()
    for is_json in (False, True):
        preset = logging.StreamHandler(streams[0])
        preset.setFormatter(rt.LambdaJsonFormatter() if is_json else rt.LambdaTextFormatter())
        rt._PRESET_HANDLERS[is_json] = preset
    saved_streams = sys.stdout, sys.stderr, sys.stdin
    saved_path, saved_flag = list(sys.path), sys.dont_write_bytecode
    saved_trace = os.environ.get("_X_AMZN_TRACE_ID")
    saved_fds = os.dup(1), os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    left, right = socket.socketpair()
    task = tempfile.mkdtemp(prefix="lambda-sandbox-rehearsal-")
    source = os.path.join(task, "lambda_sandbox_rehearsal.py")
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        sys.stdout, sys.stderr, sys.stdin = streams
        sys.dont_write_bytecode = True
        rt._install_logging("JSON")
        rt._install_logging("Text")
        with open(source, "w") as f:
            f.write(_REHEARSAL)
        sys.path.insert(0, task)
        handler, _ = rt._load_handler("lambda_sandbox_rehearsal.handler")
        failing, _ = rt._load_handler("lambda_sandbox_rehearsal.fails")
        rt._load_handler("lambda_sandbox_rehearsal.missing")
        rt._load_handler("lambda_sandbox_rehearsal_missing.handler")
        if handler is None or failing is None:
            return
        arn = "arn:aws:lambda:us-east-1:000000000000:function:rehearsal"
        for i in range(rounds):
            deadline = time.time_ns() // 1_000_000 + 60_000
            left.sendall(rt.encode_invoke(f"rehearsal-{i}", arn, deadline, "", None, b'{"n":1}'))
            header, body = rt.read_message(right.fileno())
            rt._invoke(right.fileno(), header, body, failing if i == rounds - 1 else handler)
            (size,) = rt._LEN.unpack(rt._read_exact(left.fileno(), 4))
            rt._read_exact(left.fileno(), size)
        for stream in streams[:2]:
            stream.flush()
        rt._PRESET_STREAMS = streams
    finally:
        os.dup2(saved_fds[0], 1)
        os.dup2(saved_fds[1], 2)
        for fd in (*saved_fds, null):
            os.close(fd)
        left.close()
        right.close()
        sys.stdout, sys.stderr, sys.stdin = saved_streams
        sys.path[:] = saved_path
        sys.dont_write_bytecode = saved_flag
        sys.modules.pop("lambda_sandbox_rehearsal", None)
        sys.path_importer_cache.pop(task, None)
        linecache.cache.pop(source, None)
        shutil.rmtree(task, ignore_errors=True)
        if saved_trace is None:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        else:
            os.environ["_X_AMZN_TRACE_ID"] = saved_trace
        rt._inherited_peak.clear()
        rt._request_id = ""
