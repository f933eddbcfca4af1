"""Lab 1, your first function: three exercises on what surrounds a handler.

Why these three: a handler that never starts (a wrong handler setting), a timeout that
decides which requests may finish, and the context object that tells a handler which
request it is serving. Each check reads the attempt's invocation records and the log lines
the function wrote, joined by request id, so it judges what Lambda did, not what the
student's variables say.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.core.telemetry import RecordKind
from sandbox.lab import NotYet, Window, exercise
from sandbox.lab import ensure_function as _ensure

if TYPE_CHECKING:
    from sandbox import Sandbox
    from sandbox.core.telemetry import TelemetryRecord

COUNTER = """import os

calls = 0


def lambda_handler(event, context):
    global calls
    calls += 1
    return {"greeting": f"hello {event.get('name', 'world')}", "calls": calls}
"""
SLOWPOKE = """import time


def lambda_handler(event, context):
    seconds = float(event.get("sleep", 0))
    print(f"sleeping {seconds}")
    time.sleep(seconds)
    return {"slept": seconds}
"""
TRACER = """def lambda_handler(event, context):
    print("request ?")
    return "ok"
"""
# Lines Lambda itself writes to a function's log (spec §1.1); a handler's own lines are the rest.
PLATFORM_LINES = ("START ", "END ", "REPORT ", "INIT_", "EXTENSION", "TELEMETRY", "[ERROR]")


def _outcomes(runs: list[TelemetryRecord]) -> str:
    """``"2 failed with Runtime.HandlerNotFound, 1 succeeded"``: what the runs ended in."""
    counts: dict[str, int] = {}
    for record in runs:
        status = str(record.detail.get("status"))
        error = record.detail.get("error_type")
        key = f"failed with {error}" if error else ("succeeded" if status == "success" else status)
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{n} {what}" for what, n in counts.items())


def _printed(window: Window, function_name: str) -> dict[str, list[str]]:
    """The lines the handler itself printed in this attempt, per request id."""
    lines: dict[str, list[str]] = {}
    for record in window.records(RecordKind.LOG, function_name):
        line = str(record.detail.get("line", ""))
        if record.request_id and not line.startswith(PLATFORM_LINES):
            lines.setdefault(record.request_id, []).append(line)
    return lines


@exercise(
    "1.1",
    title="Fix the handler",
    task=(
        "`typo` fails on every invoke, before your code even runs. Find out why, fix it, "
        "then invoke `typo`: the check looks for a successful invocation of `typo` in this "
        "attempt."
    ),
    hints=(
        "Read the error type in the payload or the log. The handler setting is FILE.FUNCTION; "
        'compare it with the code (sb.get_function_configuration("typo").handler).',
        "The code is fine: change the setting. update_function_configuration takes handler=.",
    ),
    setup=lambda sb: _ensure(sb, "typo", COUNTER, handler="lambda_function.lambda_handlr"),
)
def _fix_the_handler(sb: Sandbox, window: Window) -> str:
    runs = window.invocations("typo")
    if not runs:
        raise NotYet("`typo` did not run in this attempt.")
    if not any(r.detail.get("status") == "success" for r in runs):
        raise NotYet(f"`typo` ran {len(runs)} time(s) in this attempt: {_outcomes(runs)}.")
    return "The runtime found the handler, so INIT finished and the request reached your code."


@exercise(
    "1.2",
    title="Draw the line",
    task=(
        '`slowpoke` sleeps for `event["sleep"]` seconds. Configure it so that a request '
        'with {"sleep": 0.5} succeeds and a request with {"sleep": 1.5} times out, then '
        "invoke it with both events. The check matches each request with the sleep it "
        "logged."
    ),
    hints=(
        "What ends a request that runs too long is a setting of the function, in whole seconds.",
        "Change it with update_function_configuration, then invoke twice, once per event.",
    ),
    setup=lambda sb: _ensure(sb, "slowpoke", SLOWPOKE),
)
def _draw_the_line(sb: Sandbox, window: Window) -> str:
    slept = {
        request_id: float(line.split()[1])
        for request_id, lines in _printed(window, "slowpoke").items()
        for line in lines
        if line.startswith("sleeping ")
    }
    outcome: dict[float, set[str]] = {}
    for record in window.invocations("slowpoke"):
        seconds = slept.get(record.request_id)
        if seconds is not None:
            outcome.setdefault(seconds, set()).add(str(record.detail.get("status")))
    short, long = outcome.get(0.5), outcome.get(1.5)
    seen = "; ".join(
        f"the {s:g} s request: {', '.join(sorted(statuses))}"
        for s, statuses in sorted(outcome.items())
    )
    if short is None or long is None:
        missing = " and ".join(f"{s:g} s" for s, o in ((0.5, short), (1.5, long)) if o is None)
        raise NotYet(
            f"no request sleeping {missing} in this attempt" + (f" ({seen})." if seen else ".")
        )
    if short != {"success"} or long != {"timeout"}:
        raise NotYet(f"in this attempt, {seen}.")
    return (
        "The timeout is a promise to your callers: no request runs longer. The one that hit "
        "it also cost its environment, which Lambda reset."
    )


@exercise(
    "1.3",
    title="Whose request is it?",
    task=(
        "Make `tracer` print one line `request <id>` per invocation, where `<id>` is the "
        "request id Lambda gave that invocation. Deploy your handler with "
        '`sb.update_function_code("tracer", lambda_handler)` and invoke `tracer` at least '
        "twice. The check compares what each invocation printed with its request id."
    ),
    hints=(
        "The event is what the caller sent; information about the invocation itself is in "
        "the handler's second argument.",
        "Print dir(context) from the handler once: one attribute ends in _request_id. The "
        "function's handler setting stays lambda_function.lambda_handler, so keep that name.",
    ),
    setup=lambda sb: _ensure(sb, "tracer", TRACER),
)
def _whose_request(sb: Sandbox, window: Window) -> str:
    runs = window.invocations("tracer")
    printed = _printed(window, "tracer")
    if not runs:
        raise NotYet("`tracer` did not run in this attempt.")
    failed = [r for r in runs if r.detail.get("status") != "success"]
    if failed:
        raise NotYet(f"`tracer` ran {len(runs)} time(s) in this attempt: {_outcomes(runs)}.")
    right = [r for r in runs if any(r.request_id in line for line in printed.get(r.request_id, []))]
    if len(right) < len(runs):
        wrong = next(r for r in runs if r not in right)
        lines = printed.get(wrong.request_id, [])
        shown = repr(lines[0][:80]) if lines else "nothing"
        raise NotYet(
            f"`tracer` ran {len(runs)} time(s); {len(runs) - len(right)} printed a line "
            f"without its own request id (one printed {shown})."
        )
    if len(runs) < 2:
        raise NotYet("`tracer` ran once in this attempt: one id proves little. Invoke it again.")
    return (
        "Each invocation has its own id, in the START, END and REPORT lines too: search a "
        "log for it to find everything one request did."
    )
