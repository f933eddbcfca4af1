"""What the inside of an execution environment is told: Lambda's environment variables
(spec §1.2) and the X-Ray trace header of each invocation."""

from __future__ import annotations

import os
import secrets
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.core.models import FunctionConfiguration

if TYPE_CHECKING:
    from sandbox.service.environments import RuntimeDeps

__all__ = ["aws_environment", "python_path", "trace_id", "view_path", "working_directory"]


def aws_environment(
    config: FunctionConfiguration,
    deps: RuntimeDeps,
    *,
    init_type: str,
    stream: str,
    task_root: str,
    tmp: str,
    opt: str = "/opt",
) -> dict[str, str]:
    """spec §1.2: what Lambda sets, then the user's variables. ``opt`` is where the
    layers are (``/opt``, or the fallback path without namespaces)."""
    key = "ASIA" + secrets.token_hex(8).upper()
    env = {
        "_HANDLER": config.handler,
        "AWS_REGION": deps.region,
        "AWS_DEFAULT_REGION": deps.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": config.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": config.version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": init_type,
        "AWS_LAMBDA_LOG_GROUP_NAME": config.logging_config.log_group
        or f"/aws/lambda/{config.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_ACCESS_KEY": key,
        "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
        "AWS_SESSION_TOKEN": secrets.token_urlsafe(60),
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PWD": task_root,
        "SHLVL": "0",
        # spec §6: a layer's bin/ and lib/ are found through these
        "PATH": f"/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:{opt}/bin",
        "LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:"
        f"{task_root}:{task_root}/lib:{opt}/lib",
        "PYTHONPATH": "/var/runtime",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "_AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129",
        "_AWS_XRAY_DAEMON_PORT": "2000",
        "AWS_LAMBDA_LOG_FORMAT": config.logging_config.log_format,
        "TMPDIR": tmp,
    }
    if opt != "/opt":
        # no namespaces: the layers are elsewhere, and this says where (docs/fidelity.md)
        env["LAMBDA_SANDBOX_OPT"] = opt
    if config.logging_config.log_format == "JSON" and config.logging_config.application_log_level:
        env["AWS_LAMBDA_LOG_LEVEL"] = config.logging_config.application_log_level
    # so `python` in a subprocess finds this interpreter (and its virtual environment)
    env["PATH"] += ":" + str(Path(sys.executable).parent)
    image_env = config.image.get("Environment")
    if isinstance(image_env, dict):
        # an image's ENV, under what Lambda sets and the function's own variables
        env.update({str(k): str(v) for k, v in image_env.items() if k not in env})
    env.update(config.environment)
    return env


def working_directory(config: FunctionConfiguration, task_root: str, opt: str) -> str:
    """The directory the runtime starts in: the task root, or an image's WORKDIR (its
    ``/var/task`` and ``/opt`` prefixes mapped to where those are for this environment)."""
    if config.package_type != "Image":
        return task_root
    workdir = str(config.image_config.get("WorkingDirectory") or "") or str(
        config.image.get("WorkingDirectory") or "/var/task"
    )
    return view_path(workdir, task_root, opt, default=task_root)


def view_path(path: str, task_root: str, opt: str, default: str | None = None) -> str:
    """Where a ``/var/task/...`` or ``/opt/...`` path is for this environment (the same
    path with namespaces; under the fallback directories without)."""
    for prefix, real in (("/var/task", task_root), ("/opt", opt)):
        if path == prefix or path.startswith(prefix + "/"):
            return real + path[len(prefix) :]
    return path if default is None else default


def python_path(runtime: str, task_root: str, opt: str) -> list[str]:
    """spec §6: what goes on ``sys.path`` before the runtime's own entries, in AWS's order —
    the task root, then the layers' ``python/lib/python3.x/site-packages`` and ``python``
    (``3.x`` is the function's runtime version)."""
    version = runtime.removeprefix("python") if runtime.startswith("python") else None
    paths = [task_root]
    if version:
        paths.append(f"{opt}/python/lib/python{version}/site-packages")
    paths.append(f"{opt}/python")
    return paths


def trace_id() -> str:
    """An X-Ray trace header for ``_X_AMZN_TRACE_ID`` (a new one per invocation)."""
    epoch = time.time_ns() // 1_000_000_000
    rand = os.urandom(20).hex()
    return f"Root=1-{epoch:08x}-{rand[:24]};Parent={rand[24:]};Sampled=0;Lineage=1:8a1b2c3d:0"
