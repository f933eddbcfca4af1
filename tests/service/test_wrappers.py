"""Internal extensions (spec §2.2): ``AWS_LAMBDA_EXEC_WRAPPER`` wrapper scripts, and Python
code that starts in-process with the runtime (``sitecustomize`` on a path the wrapper sets)."""

from __future__ import annotations

import pytest
from zips import unix_zip

from sandbox import Sandbox

WRAPPER = """#!/bin/sh
# a wrapper gets the runtime's command line and must exec it (here: changed)
interpreter="$1"
shift
export WRAPPED_BY="$0"
export PYTHONPATH="${LAMBDA_SANDBOX_OPT:-/opt}/hooks${PYTHONPATH:+:$PYTHONPATH}"
exec "$interpreter" -X utf8 -W ignore::DeprecationWarning "$@"
"""
HOOK = """
import json, os, urllib.request

request = urllib.request.Request(
    f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2020-01-01/extension/register",
    data=json.dumps({"events": []}).encode(),
    headers={"Lambda-Extension-Name": "pyhook"},
    method="POST",
)
with urllib.request.urlopen(request) as reply:
    os.environ["HOOK_ID"] = reply.headers["Lambda-Extension-Identifier"]
"""
HANDLER = """
import os, sys

def lambda_handler(event, context):
    return {
        "wrapped_by": os.environ.get("WRAPPED_BY"),
        "utf8_mode": sys.flags.utf8_mode,
        "warnings": sys.warnoptions,
        "hook": bool(os.environ.get("HOOK_ID")),
    }
"""


def layer() -> bytes:
    return unix_zip({"wrapper": WRAPPER, "hooks/sitecustomize.py": HOOK}, ("wrapper",))


@pytest.fixture
def sb() -> Sandbox:
    sandbox = Sandbox.ephemeral()
    yield sandbox  # type: ignore[misc]
    sandbox.close()


def test_a_wrapper_changes_the_runtime_s_arguments_and_loads_a_hook(sb: Sandbox) -> None:
    arn = sb.publish_layer_version("wrapper", layer()).layer_version_arn
    sb.create_function(
        "wrapped",
        HANDLER,
        layers=[arn],
        environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrapper"}},
    )
    result = sb.invoke("wrapped", {})
    assert result.function_error is None, (result.payload, result.logs)
    payload = result.payload
    assert payload["wrapped_by"].endswith("/wrapper")
    assert payload["utf8_mode"] == 1
    assert payload["warnings"] == ["ignore::DeprecationWarning"]
    assert payload["hook"] is True  # the internal extension registered from in-process code
    events = [
        r.detail
        for r in sb.telemetry.records(kind="phase", function_name="wrapped")
        if r.phase == "extension" and r.detail.get("event") == "register"
    ]
    assert events and events[0]["name"] == "pyhook" and events[0]["internal"] is True
    assert sb.invoke("wrapped", {}).payload == payload  # warm: the same runtime


def test_a_missing_wrapper_is_exit_status_127(sb: Sandbox) -> None:
    sb.create_function(
        "nowrapper",
        HANDLER,
        environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/missing"}},
    )
    result = sb.invoke("nowrapper", {})
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "Runtime.ExitError"
    assert "exit status 127" in result.payload["errorMessage"]
