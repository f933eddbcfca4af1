"""Lambda's platform log lines, formatted exactly as CloudWatch shows them (spec §1.4).

Pure functions: the data plane calls them with measured numbers and appends the lines to
the invocation's log and the environment's log stream.
"""

from __future__ import annotations

import math
import time

__all__ = [
    "end_line",
    "init_report_line",
    "init_start_line",
    "log_stream_name",
    "report_line",
    "start_line",
    "timeout_line",
]

RUNTIME_VERSION = "python:3.13.v16"
RUNTIME_VERSION_ARN = (
    "arn:aws:lambda:{region}::runtime:"
    "2d9ab1f0c5a3d9dbb6f49f4ec1e0bb0e6f2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f"
)


def log_stream_name(epoch: float, version: str, env_hex: str) -> str:
    """``YYYY/MM/DD/[<executed version>]<32 hex>``: one stream per environment."""
    return time.strftime("%Y/%m/%d/", time.gmtime(epoch)) + f"[{version}]{env_hex}"


def init_start_line(region: str, runtime: str = "python3.13") -> str:
    version = (
        "python:" + runtime.removeprefix("python") + ".v16"
        if runtime.startswith("python")
        else runtime
    )
    arn = RUNTIME_VERSION_ARN.format(region=region)
    return f"INIT_START Runtime Version: {version}\tRuntime Version ARN: {arn}"


def init_report_line(duration_ms: float, phase: str, status: str, error_type: str | None) -> str:
    """``INIT_REPORT Init Duration: 1882.55 ms\\tPhase: init\\tStatus: error\\tError Type: ...``"""
    line = f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: {phase}\tStatus: {status}"
    return line + (f"\tError Type: {error_type}" if error_type else "")


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report_line(
    request_id: str,
    duration_ms: float,
    memory_size: int,
    max_memory_used: int,
    init_duration_ms: float | None = None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    """The REPORT line; ``Init Duration`` only on a cold start, ``Status`` on failures."""
    billed = max(1, math.ceil(duration_ms))
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {billed} ms\tMemory Size: {memory_size} MB\t"
        f"Max Memory Used: {max_memory_used} MB\t"
    )
    if init_duration_ms is not None:
        line += f"Init Duration: {init_duration_ms:.2f} ms\t"
    if status:
        line += f"Status: {status}\t"
        if error_type:
            line += f"Error Type: {error_type}\t"
    return line


def timeout_line(iso_timestamp: str, request_id: str, timeout_s: float) -> str:
    """``2025-01-05T08:00:03.000Z <id> Task timed out after 3.00 seconds``"""
    return f"{iso_timestamp} {request_id} Task timed out after {timeout_s:.2f} seconds"
