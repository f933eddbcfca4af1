"""The ``lambda-sandbox`` command: ``demo`` shows what the sandbox does, end to end; ``invoke``,
``ls``, ``logs`` and ``reset`` work on the store (:mod:`sandbox.cli_commands`); ``lab`` and
``serve`` start JupyterLab and the AWS endpoint (:mod:`sandbox.cli_tools`);
``generate-event`` prints service events.

Each subcommand is a thin shell over :class:`sandbox.Sandbox`; errors are one line with the
AWS error code, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from sandbox import Sandbox, __version__, cli_commands, cli_tools
from sandbox.cli_commands import UsageError
from sandbox.cli_commands import table as _table
from sandbox.errors import LambdaError, SandboxError, TooManyRequestsException
from sandbox.resources.errors import ServiceError
from sandbox.store.packaging import build_zip

__all__ = ["main"]

_V1 = """
import os
invocations = 0  # module state lives as long as the execution environment

def lambda_handler(event, context):
    global invocations
    invocations += 1
    print(f"hello {event.get('name', 'world')} from pid {os.getpid()}")
    return {"version": context.function_version, "invocations_here": invocations}
"""
_V2 = _V1.replace("hello", "bonjour")
_BROKEN = """
import time

def lambda_handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    raise ValueError("something went wrong")
"""
_TEXTKIT = """
def shout(text):
    return text.upper() + "!"
"""
_USES_LAYER = """
import textkit

def lambda_handler(event, context):
    return {"shout": textkit.shout(event["text"]), "from": textkit.__file__}
"""


def _show(logs: Sequence[str]) -> None:
    for line in logs:
        print("   | " + line.replace("\t", "  "))


def _save_pictures(sb: Sandbox, folder: Path) -> None:
    """Write the demo's lifecycle timeline and concurrency plot into ``folder``.

    matplotlib is imported only here (by ``sb.plot_*``); without it the demo still runs
    and says why there are no pictures."""
    try:
        figures = {
            "demo-timeline.png": sb.plot_timeline(),
            "demo-concurrency.png": sb.plot_concurrency(),
        }
    except ImportError as exc:
        print(f"(no pictures: {exc.name or exc} is not installed)")
        return
    print("The same run as pictures (sb.plot_timeline() and sb.plot_concurrency()):")
    for filename, figure in figures.items():
        path = folder / filename
        path.write_bytes(figure.to_png())
        print(f"   {path}")


_PACKER = """
def lambda_handler(event, context):
    return len(event["Records"])
"""


def _demo(sb: Sandbox, out: argparse.Namespace) -> int:
    name, broken, layered = "demo-hello", "demo-broken", "demo-layered"
    print(
        f"lambda-sandbox {__version__}: store at {sb.home} (account {sb.account_id}, {sb.region})\n"
    )
    for old in (name, broken, layered, "demo-packer"):
        try:
            sb.delete_function(old)
        except sb.exceptions.ResourceNotFoundException:
            pass

    print("1. A function runs in its own process: the first call is a cold start (INIT),")
    print("   the second reuses the warm environment and its module state.")
    sb.create_function(name, _V1, description="the demo function")
    for label in ("cold", "warm"):
        result = sb.invoke(name, {"name": "student"})
        print(f"   {label}: {result.payload}")
        _show(result.logs)

    print("\n2. Qualifier: publish immutable versions, point an alias, route 10 % to a canary.")
    v1 = sb.publish_version(name, description="first release")
    again = sb.publish_version(name)
    print(
        f"   published version {v1.version}; publishing again without changes returns "
        f"version {again.version} (AWS does not duplicate versions)"
    )
    sb.update_function_code(name, _V2)
    v2 = sb.publish_version(name, description="canary")
    sb.create_alias(
        name, "live", v1.version, routing_config={"AdditionalVersionWeights": {v2.version: 0.1}}
    )
    versions = sb.list_versions_by_function(name).versions
    print(
        _table(
            [
                (v.version, v.code_sha256[:12] + "...", v.description, v.function_arn)
                for v in versions
            ],
            ["Version", "CodeSha256", "Description", "FunctionArn"],
        )
    )
    results = sb.invoke_many(f"{name}:live", [{"name": "canary"}] * 300, concurrency=4)
    executed = Counter(r.executed_version for r in results if not isinstance(r, LambdaError))
    print(
        f"   300 invocations of {name}:live ran: "
        + ", ".join(f"version {v}: {n}" for v, n in sorted(executed.items()))
    )

    print("\n3. Concurrency: a burst of 8 parallel requests needs 8 execution environments.")
    sb.invoke_many(name, [{"name": str(i)} for i in range(8)], concurrency=8)
    envs = [
        e for e in sb.environments() if e["function_name"] == name and e["version"] == "$LATEST"
    ]
    print(
        _table(
            [(e["env_id"], e["version"], e["state"], e["invocations"]) for e in envs],
            ["Environment", "Version", "State", "Invocations"],
        )
    )
    sb.put_function_concurrency(name, 3)
    burst = sb.invoke_many(name, [{"name": "x"}] * 6, concurrency=6)
    throttled = [r for r in burst if isinstance(r, LambdaError)]
    print(
        f"   with reserved concurrency 3, a burst of 6: {6 - len(throttled)} ran, "
        f"{len(throttled)} throttled"
    )
    if throttled and isinstance(throttled[0], TooManyRequestsException):
        print(f"   why? {sb.explain(throttled[0].request_id or '')}")
    sb.delete_function_concurrency(name)

    print("\n4. Layer: shared code is a zip extracted under /opt of every function using it.")
    layer = sb.publish_layer_version(
        "demo-textkit",
        {"ZipFile": build_zip({"python/textkit.py": _TEXTKIT.encode()})},
        description="a helper shared by functions",
    )
    sb.create_function(layered, _USES_LAYER, layers=[layer.layer_version_arn])
    shared = sb.invoke(layered, {"text": "layers are shared"}).payload
    print(f"   published {layer.layer_version_arn}")
    if isinstance(shared, dict):
        print(f"   {layered} imports textkit from {shared['from']}: {shared['shout']}")
    sb.delete_layer_version("demo-textkit", layer.version)
    still = sb.invoke(layered, {"text": "still running"}).payload
    print(
        f"   after delete_layer_version, {layered} still runs ({still['shout']}); "
        "new functions cannot reference the deleted version"
        if isinstance(still, dict)
        else f"   {layered} failed: {still}"
    )

    print("\n5. Failures are results shaped exactly like Lambda's:")
    sb.create_function(broken, _BROKEN, timeout=1)
    error = sb.invoke(broken)
    payload = error.payload if isinstance(error.payload, dict) else {}
    print(f"   {error.function_error}: {payload['errorType']}: {payload['errorMessage']}")
    timeout = sb.invoke(broken, {"sleep": 2})
    payload = timeout.payload if isinstance(timeout.payload, dict) else {}
    print(f"   {timeout.function_error}: {payload['errorMessage']}")
    _show(timeout.logs[-2:])

    print("\n6. Mistakes get AWS's error codes and messages:")
    for attempt in (
        lambda: sb.delete_function(name, v1.version),
        lambda: sb.get_function(f"{name}:$latest"),
        lambda: sb.create_function(name, _V1),
        lambda: sb.invoke(name, "{not json"),
    ):
        try:
            attempt()
        except LambdaError as exc:
            print(f"   {exc.code}: {exc.message}")
    _demo_destinations(sb, name, broken)
    _demo_trigger(sb)
    print(f"\nThe telemetry bus recorded {len(sb.telemetry):,} events (sb.telemetry.rows()).")
    # next to the store; an ephemeral store is deleted at exit, so the working directory
    _save_pictures(sb, Path.cwd() if getattr(out, "ephemeral", False) else sb.home)
    print(
        "Next: the labs in notebooks/ and the pages in docs/index.md. "
        "In a notebook: %load_ext sandbox (docs/notebook.md)."
    )
    return 0


def _empty_queue(sb: Sandbox, name: str) -> str:
    """A queue of the demo, emptied of an earlier run's messages (PurgeQueue allows one
    purge a minute, so a second demo within a minute reads and deletes instead)."""
    url = str(sb.sqs.create_queue(name)["QueueUrl"])
    while got := sb.sqs.receive_message(url, max_number_of_messages=10).get("Messages"):
        for message in got:
            sb.sqs.delete_message(url, message["ReceiptHandle"])
    return url


def _demo_destinations(sb: Sandbox, ok: str, failing: str) -> None:
    print("\n7. Destination: an asynchronous invoke answers 202 at once; where its result goes")
    print("   is the destination's business (a failure here, with retries turned off).")
    queue = _empty_queue(sb, "demo-results")
    arn = f"arn:aws:sqs:{sb.region}:{sb.account_id}:demo-results"
    for fn in (ok, failing):
        sb.put_function_event_invoke_config(
            fn,
            maximum_retry_attempts=0,
            destination_config={
                "OnSuccess": {"Destination": arn},
                "OnFailure": {"Destination": arn},
            },
        )
        result = sb.invoke(fn, {"name": "async"}, invocation_type="Event")
        print(f"   invoke {fn} (Event): {result.status_code}")
    sb.drain(30)
    got = sb.sqs.receive_message(queue, max_number_of_messages=10).get("Messages", [])
    for message in got:
        record = json.loads(message["Body"])
        context = record["requestContext"]
        print(
            f"   record in demo-results: {context['functionArn'].split(':')[-2]} "
            f"{context['condition']} after {context['approximateInvokeCount']} invocation(s)"
        )


def _demo_trigger(sb: Sandbox) -> None:
    print("\n8. Trigger: an event source mapping reads a queue and invokes with batches.")
    sb.create_function("demo-packer", _PACKER)
    queue = _empty_queue(sb, "demo-orders")
    for n in range(25):
        sb.sqs.send_message(queue, json.dumps({"order": n}))
    mapping = sb.create_event_source_mapping(
        "demo-packer", f"arn:aws:sqs:{sb.region}:{sb.account_id}:demo-orders", batch_size=10
    )
    deadline = time.monotonic() + 30
    sizes: list[int] = []
    while sum(sizes) < 25 and time.monotonic() < deadline:
        time.sleep(0.05)
        sizes = [
            int(str(r["succeeded"]))
            for r in sb.telemetry.rows(kind="poll")
            if r["status"] == "settled" and r.get("mapping") == mapping.uuid
        ]
    print(f"   25 messages, {len(sizes)} batches of {sizes} (BatchSize 10); the queue is empty")
    sb.delete_event_source_mapping(mapping.uuid)


# ``sam local generate-event SERVICE EVENT`` names -> template kinds (sandbox.events)
_SAM_EVENTS = {
    ("sqs", "receive-message"): "sqs",
    ("sns", "notification"): "sns",
    ("s3", "put"): "s3-put",
    ("s3", "delete"): "s3-delete",
    ("eventbridge", "custom"): "eventbridge",
    ("cloudwatch", "scheduled-event"): "scheduled",
    ("cloudwatch", "logs"): "cloudwatch-logs",
    ("apigateway", "aws-proxy"): "apigateway-rest",
    ("apigateway", "http-api-proxy"): "apigateway-http",
    ("lambda", "function-url"): "function-url",
    ("alb", "request"): "alb",
    ("kinesis", "get-records"): "kinesis",
    ("dynamodb", "update"): "dynamodb-modify",
    ("ses", "email-receiving"): "ses",
    ("cognito", "pre-signup"): "cognito-pre-signup",
    ("cloudformation", "create-request"): "cloudformation-create",
    ("cloudformation", "update-request"): "cloudformation-create",
    ("cloudformation", "delete-request"): "cloudformation-create",
}


def _generate_event(service: str, rest: Sequence[str]) -> int:
    """``generate-event SERVICE [EVENT] [--field value ...]``: print a service event."""
    import json
    from typing import Any

    from sandbox import events

    event = rest[0] if rest and not rest[0].startswith("--") else None
    pairs = list(rest[1:] if event else rest)
    kind = _SAM_EVENTS.get((service, event or "")) or (
        service if event is None else f"{service}-{event}"
    )
    fields: dict[str, Any] = {}
    if service == "cloudformation" and event in ("update-request", "delete-request"):
        fields["request_type"] = event.split("-")[0].capitalize()
    while pairs:
        flag = pairs.pop(0)
        if not flag.startswith("--"):
            print(f"lambda-sandbox: expected --field value, got {flag!r}", file=sys.stderr)
            return 2
        name = flag[2:]
        value: object = True  # a flag without a value (--fifo)
        if pairs and not pairs[0].startswith("--"):
            text = pairs.pop(0)
            if flag == "--field":  # --field name=value
                name, equals, text = text.partition("=")
                if not equals or not name:
                    print(f"lambda-sandbox: expected --field name=value, got {name!r}",
                          file=sys.stderr)  # fmt: skip
                    return 2
            try:
                value = json.loads(text)  # --count 3, --query '{"a": "1"}'
            except ValueError:
                value = text
        elif flag == "--field":
            print("lambda-sandbox: expected --field name=value", file=sys.stderr)
            return 2
        fields[name.replace("-", "_")] = value
    try:
        print(json.dumps(events.generate(kind, **fields), indent=2))
    except (ValueError, TypeError) as exc:
        print(f"lambda-sandbox: {exc}", file=sys.stderr)
        return 2
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lambda-sandbox",
        description="A local AWS Lambda for learning: functions run in real processes, "
        "state lives in a store directory (--home).",
    )
    parser.add_argument("--version", action="version", version=f"lambda-sandbox {__version__}")
    parser.add_argument(
        "--home", help="the store directory (default $LAMBDA_SANDBOX_HOME or ~/.lambda-sandbox)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser("demo", help="run a guided tour of what the sandbox does")
    demo.add_argument("--ephemeral", action="store_true", help="use a throwaway store")
    cli_commands.add_parsers(sub)
    gen = sub.add_parser(
        "generate-event",
        help="print a sample service event, like `sam local generate-event`",
        description="SERVICE EVENT as in SAM (`s3 put`, `sqs receive-message`) or a template "
        "kind (`sqs`, `dynamodb-insert`); `--name value` or `--field name=value` fill the "
        "event (JSON values are decoded). --list shows every kind.",
    )
    gen.add_argument("--list", action="store_true", help="list the event kinds and exit")
    gen.add_argument("service", nargs="?", help="a service (s3, sqs ...) or a template kind")
    gen.add_argument("rest", nargs=argparse.REMAINDER, help="[EVENT] [--field value ...]")
    cli_tools.add_parsers(sub)
    return parser


def _list_kinds() -> int:
    from sandbox import events

    rows = [
        (kind, str(info["service"]), str(info["invocation"]), str(info["description"]))
        for kind in events.kinds()
        for info in [events.describe(kind)]
    ]
    print(_table(rows, ["Kind", "Service", "Invocation", "Description"]))
    return 0


def _fail(message: str, code: int) -> int:
    print(f"lambda-sandbox: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except UsageError as exc:
        return _fail(str(exc), 2)
    except cli_tools.NotAvailable as exc:
        return _fail(str(exc), 2)
    except (LambdaError, ServiceError) as exc:  # AWS-shaped: Code: message
        return _fail(f"{exc.code}: {exc}", 1)
    except SandboxError as exc:
        return _fail(str(exc), 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:  # `lambda-sandbox ... | head`: the reader left, as the docs say
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a store the user may not write, a full disk ...
        where = f": {exc.filename}" if exc.filename else ""
        return _fail(f"{exc.strerror or exc}{where}", 1)


def _run(args: argparse.Namespace) -> int:
    command = args.command
    if command == "generate-event":
        if args.list:
            return _list_kinds()
        if args.service is None:
            raise UsageError("generate-event needs a SERVICE or kind (--list shows them)")
        return _generate_event(args.service, args.rest)
    if command == "lab":
        return cli_tools.cmd_lab(args)
    if command == "serve":
        cli_tools.check_serve_args(args)
    sb = Sandbox.ephemeral() if getattr(args, "ephemeral", False) else Sandbox(args.home)
    with sb:
        if command == "demo":
            return _demo(sb, args)
        if command == "serve":
            return cli_tools.cmd_serve(sb, args)
        run = {
            "invoke": cli_commands.cmd_invoke,
            "ls": cli_commands.cmd_ls,
            "logs": cli_commands.cmd_logs,
            "reset": cli_commands.cmd_reset,
        }[command]
        return run(sb, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
