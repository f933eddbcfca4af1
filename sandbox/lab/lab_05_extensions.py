"""Lab 5's exercises: an external extension that registers for INVOKE and SHUTDOWN, and the
environment an extension keeps busy after the response.

Why these two: writing the register / ``event/next`` loop once is the whole protocol, and
the post-invoke phase is the cost of an extension that students meet later as "why does my
function need more environments than requests in flight?". The checks read the Extensions
API calls the sandbox puts on the bus (``phase`` records named ``extension``, with the
``register`` and ``next`` events), the invocation records and the function's configuration.
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Mapping
from typing import Any

from sandbox import Sandbox
from sandbox.core.telemetry import RecordKind, TelemetryRecord
from sandbox.lab import NotYet, Window, ensure_function, exercise

SHEBANG = f"#!{sys.executable}\n"
PLAIN = """def lambda_handler(event, context):
    return {"ok": True}
"""
# An extension that works FLUSH_SECONDS after every INVOKE (it "ships metrics").
FLUSHER = (
    SHEBANG
    + """
import json, os, time, urllib.request

API = os.environ["AWS_LAMBDA_RUNTIME_API"]


def call(path, body=None, headers=None):
    url = f"http://{API}/2020-01-01/extension/{path}"
    return urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers or {}))


events = json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode()
with call("register", events, {"Lambda-Extension-Name": "flusher"}) as reply:
    me = {"Lambda-Extension-Identifier": reply.headers["Lambda-Extension-Identifier"]}
while True:
    with call("event/next", headers=me) as reply:
        event = json.load(reply)
    if event["eventType"] == "SHUTDOWN":
        break
    time.sleep(float(os.environ.get("FLUSH_SECONDS", "0")))
"""
)
FLUSH_SECONDS = "0.3"


def layer_zip(files: Mapping[str, str]) -> bytes:
    """A zip whose files (name -> text) are all executable (an extension must be)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3  # Unix, so that the mode below is kept
            info.external_attr = 0o100755 << 16  # -rwxr-xr-x
            archive.writestr(info, text)
    return buffer.getvalue()


def _ensure(sb: Sandbox, name: str, **config: object) -> None:
    ensure_function(sb, name, PLAIN, **config)


def _extension_calls(sb: Sandbox, function_name: str, env_id: str) -> list[TelemetryRecord]:
    """Every Extensions API call made in one environment (its whole life, not only the
    attempt: an environment that registered in an earlier cell still counts)."""
    return [
        r
        for r in sb.telemetry.records(kind=RecordKind.PHASE, function_name=function_name)
        if r.env_id == env_id and r.phase == "extension"
    ]


def _setup_audited(sb: Sandbox) -> Mapping[str, object]:
    _ensure(sb, "audited")
    return {"layer_zip": layer_zip, "SHEBANG": SHEBANG}


@exercise(
    "5.1",
    title="An extension of your own",
    task=(
        "Write an external extension named `auditor` that registers for the INVOKE and "
        "SHUTDOWN events and then waits for events in a loop. Ship it in a layer, give the "
        "layer to the function `audited`, and invoke `audited` once. `layer_zip` and "
        "`SHEBANG` (from this lab) are there to help."
    ),
    hints=(
        "Lambda starts every executable file in /opt/extensions, and a layer is extracted "
        "under /opt. The Lambda-Extension-Name header must be the file's name.",
        "The body of POST /2020-01-01/extension/register lists the events; after that the "
        "extension calls GET /2020-01-01/extension/event/next again and again.",
    ),
    setup=_setup_audited,
    wait=3.0,
)
def _auditor(sb: Sandbox, window: Window) -> str:
    calls = window.invocations("audited")
    if not calls:
        raise NotYet("`audited` was not invoked in this attempt.")
    last = calls[-1]
    if last.detail.get("status") != "success":
        raise NotYet(
            f"`audited`'s request ended with {last.detail.get('status')} "
            f"({last.detail.get('error_type')})."
        )
    api = _extension_calls(sb, "audited", last.env_id)
    registered = [r.detail for r in api if r.detail.get("event") == "register"]
    external = [d for d in registered if not d.get("internal")]
    if not external:
        raise NotYet(
            "the environment that served `audited` started no external extension: nothing "
            "called /extension/register during its INIT."
        )
    names = sorted(str(d.get("name")) for d in external)
    mine = [d for d in external if d.get("name") == "auditor"]
    if not mine:
        raise NotYet(f"the extension(s) registered in that environment: {names}; no `auditor`.")
    events = sorted(str(e) for e in mine[0].get("events", []))  # type: ignore[attr-defined]
    if events != ["INVOKE", "SHUTDOWN"]:
        raise NotYet(f"`auditor` registered for {events}.")
    back = [
        r
        for r in api
        if r.detail.get("event") == "next"
        and r.detail.get("name") == "auditor"
        and r.request_id == last.request_id
    ]
    if not back:
        raise NotYet(
            "`auditor` registered, but after the request it never called event/next again "
            "(did it get the INVOKE event and loop?)."
        )
    return (
        "`auditor` started in extension init, got the INVOKE event (the request's "
        "metadata, not its body) and is back in event/next; SHUTDOWN will come when the "
        "environment retires."
    )


def _setup_relay(sb: Sandbox) -> Mapping[str, object]:
    if not sb.list_layer_versions("flusher").layer_versions:
        sb.publish_layer_version("flusher", layer_zip({"extensions/flusher": FLUSHER}))
    layer = sb.list_layer_versions("flusher").layer_versions[-1].layer_version_arn
    environment = {"Variables": {"FLUSH_SECONDS": FLUSH_SECONDS}}
    _ensure(sb, "relay", layers=[layer], environment=environment)
    if not _relay_as_given(sb):  # an earlier attempt changed it: give it back
        sb.update_function_configuration("relay", layers=[layer], environment=environment)
    return {}


def _relay_as_given(sb: Sandbox) -> bool:
    config: Any = sb.get_function_configuration("relay").to_aws()
    variables = config.get("Environment", {}).get("Variables", {})
    return bool(config.get("Layers")) and variables.get("FLUSH_SECONDS") == FLUSH_SECONDS


@exercise(
    "5.2",
    title="One environment, two requests",
    task=(
        "The function `relay` has an extension that keeps working for 0.3 s after every "
        "response. Invoke `relay` twice in one cell so that both requests run in the same "
        "execution environment. Do not change `relay`'s configuration."
    ),
    hints=(
        "After the response the environment is still busy until every extension is back "
        "in event/next. A request that arrives meanwhile needs another environment.",
        "sb.environments() shows each environment's state: wait for the right one before "
        "the second request.",
    ),
    setup=_setup_relay,
)
def _one_environment(sb: Sandbox, window: Window) -> str:
    if not _relay_as_given(sb):
        raise NotYet("`relay`'s configuration is not the one the lab gave it (layer, variables).")
    calls = window.invocations("relay")
    if len(calls) < 2:
        raise NotYet(f"`relay` ran {len(calls)} time(s) in this attempt, not twice.")
    envs = {r.env_id for r in calls}
    if len(envs) > 1:
        raise NotYet(f"`relay`'s {len(calls)} requests ran in {len(envs)} environments.")
    post = [
        r for r in window.records(RecordKind.PHASE, "relay") if r.phase == "post-runtime-extensions"
    ]
    busy = max((r.duration_ms or 0.0) for r in post) if post else 0.0
    return (
        f"Both requests ran in one environment. After each answer it stayed busy for about "
        f"{busy:.0f} ms (the post-runtime-extensions phase, PostRuntimeExtensionsDuration)."
    )
