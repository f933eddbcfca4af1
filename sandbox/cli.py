"""The ``lambda-sandbox`` command: ``demo`` shows what the sandbox does, end to end
(:mod:`sandbox.demo`); ``invoke``, ``ls``, ``logs`` and ``reset`` work on the store
(:mod:`sandbox.cli_commands`); ``lab`` and ``serve`` start JupyterLab and the AWS endpoint
(:mod:`sandbox.cli_tools`); ``generate-event`` prints service events.

Each subcommand is a thin shell over :class:`sandbox.Sandbox`; errors are one line with the
AWS error code, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sandbox import Sandbox, __version__, cli_commands, cli_tools
from sandbox.cli_commands import UsageError
from sandbox.cli_commands import table as _table
from sandbox.errors import LambdaError, SandboxError
from sandbox.resources.errors import ServiceError

__all__ = ["main"]

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
    demo = sub.add_parser("demo", help="take a small application through the seven concepts")
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
            from sandbox.demo import run_demo

            # next to the store; an ephemeral store is deleted at exit, so the working directory
            return run_demo(sb, pictures=Path.cwd() if args.ephemeral else sb.home)
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
