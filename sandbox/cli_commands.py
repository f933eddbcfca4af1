"""The store commands of ``lambda-sandbox``: ``invoke``, ``ls``, ``logs`` and ``reset``.

Each is a thin shell over one :class:`sandbox.Sandbox` opened on the store (``--home``):
it parses the arguments, makes the API calls a notebook would make, and prints. Errors
are raised as they come (AWS-shaped) and turned into one line by :func:`sandbox.cli.main`.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox import Sandbox

__all__ = ["UsageError", "add_parsers", "cmd_invoke", "cmd_logs", "cmd_ls", "cmd_reset", "table"]


class UsageError(Exception):
    """A mistake on the command line that no AWS API call made: exit code 2."""


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    """Rows as aligned text columns under a dashed header."""
    cells = [list(map(str, header))] + [list(map(str, r)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _home_option(parser: argparse.ArgumentParser) -> None:
    # also accepted after the command; SUPPRESS keeps a top-level --home when not given here
    parser.add_argument("--home", default=argparse.SUPPRESS, help="the store directory")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``invoke``, ``ls``, ``logs`` and ``reset``."""
    inv = sub.add_parser(
        "invoke",
        help="invoke a function and print its response",
        description="Invoke NAME[:QUALIFIER] as boto3's invoke does. The response payload "
        "goes to stdout as JSON; --tail prints the last 4 KB of the log to stderr. Exit "
        "code 1 when the function failed (FunctionError).",
    )
    inv.add_argument("function", metavar="NAME[:QUALIFIER]", help="name, name:qualifier or ARN")
    given = inv.add_mutually_exclusive_group()
    given.add_argument("--payload", help="the event, as JSON text (default: {})")
    given.add_argument("--payload-file", metavar="PATH", help="read the event from a file")
    inv.add_argument(
        "--type",
        dest="invocation_type",
        default="RequestResponse",
        choices=("RequestResponse", "Event", "DryRun"),
        help="the invocation type (default RequestResponse)",
    )
    inv.add_argument("--tail", action="store_true", help="also print the log tail (LogType Tail)")
    inv.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="with --type Event: wait this long for the queued event to be handled (default 30)",
    )
    _home_option(inv)
    ls = sub.add_parser(
        "ls",
        help="list the functions of the store",
        description="One row per function: runtime, memory, timeout, last modified, and how "
        "many published versions and aliases it has.",
    )
    _home_option(ls)
    logs = sub.add_parser(
        "logs",
        help="show what the store keeps of a function's logs",
        description="Log lines live in the memory of the process that ran the function (the "
        "telemetry bus); the store does not keep them. This command says so and shows the "
        "asynchronous invocations the store does keep. For log lines, use "
        "`lambda-sandbox invoke NAME --tail`.",
    )
    logs.add_argument("function", metavar="NAME", help="the function's name")
    logs.add_argument(
        "--lines", type=int, default=20, metavar="N", help="show at most N records (default 20)"
    )
    _home_option(logs)
    reset = sub.add_parser(
        "reset",
        help="delete every function, layer, mapping, queue, topic, bus and bucket of the store",
        description="Empty the store of the default account and region: event source "
        "mappings, functions (with their versions, aliases and configs), layer versions, "
        "queues, topics, custom event buses and buckets. Refuses without --yes.",
    )
    reset.add_argument("--yes", action="store_true", help="really delete everything")
    _home_option(reset)


def _payload(args: argparse.Namespace) -> str | bytes | None:
    if args.payload_file is not None:
        try:
            return Path(args.payload_file).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read --payload-file: {exc.strerror}: {exc.filename}") from exc
    payload: str | None = args.payload
    return payload


def cmd_invoke(sb: Sandbox, args: argparse.Namespace) -> int:
    """Invoke and print: payload on stdout, log tail and FunctionError on stderr."""
    result = sb.invoke(
        args.function,
        _payload(args),
        invocation_type=args.invocation_type,
        log_type="Tail" if args.tail else "None",
    )
    if result.status_code == 202:
        print(f"StatusCode 202: event {result.request_id} accepted", file=sys.stderr)
        # a one-shot process: the queued event runs while this sandbox is open
        if not sb.drain(max(args.wait, 0.0)):
            print(
                "the event is still queued in the store (a retry may be waiting); it runs "
                "when a sandbox is next open on this store",
                file=sys.stderr,
            )
        return 0
    if result.status_code == 204:
        print("StatusCode 204: DryRun, the request is valid", file=sys.stderr)
        return 0
    print(result.raw_payload.decode("utf-8", errors="replace"))
    if args.tail and result.log_result:
        tail = base64.b64decode(result.log_result).decode("utf-8", errors="replace")
        print(tail.rstrip("\n"), file=sys.stderr)
    if result.function_error:
        print(f"FunctionError: {result.function_error}", file=sys.stderr)
        return 1
    return 0


def _pages(list_call: Callable[..., Any], member: str, attribute: str) -> list[Any]:
    """``attribute`` of every item of every page of a List* call (``marker`` paging)."""
    found: list[Any] = []
    marker: str | None = None
    while True:
        page = list_call(marker=marker)
        found.extend(getattr(item, attribute) for item in getattr(page, member))
        if not page.next_marker:
            return found
        marker = page.next_marker


def _every_function(sb: Sandbox) -> list[str]:
    return [str(name) for name in _pages(sb.list_functions, "functions", "function_name")]


def cmd_ls(sb: Sandbox, args: argparse.Namespace) -> int:
    """The functions of the store as a table."""
    rows = []
    for name in _every_function(sb):
        cfg = sb.get_function_configuration(name)
        versions = [
            v for v in sb.list_versions_by_function(name).versions if v.version != "$LATEST"
        ]
        aliases = sb.list_aliases(name).aliases
        rows.append(
            (
                name,
                cfg.runtime or cfg.package_type,
                cfg.memory_size,
                cfg.timeout,
                cfg.last_modified,
                len(versions),
                len(aliases),
            )
        )
    if not rows:
        print(f"no functions in {sb.home} ({sb.account_id}, {sb.region})")
        return 0
    header = ["Name", "Runtime", "Memory", "Timeout", "LastModified", "Versions", "Aliases"]
    print(table(rows, header))
    return 0


def cmd_logs(sb: Sandbox, args: argparse.Namespace) -> int:
    """Say where log lines are (not in the store), and show what the store does keep."""
    if args.lines < 0:
        raise UsageError("--lines must be 0 or more")
    name = sb.get_function_configuration(args.function).function_name  # exists?
    print(
        f"No log lines are stored for {name}: a function's logs live in the memory of the "
        "process that ran it (sb.telemetry in a notebook, result.logs of an invoke), and this "
        "process ran nothing.\n"
        f"To see logs, invoke it here: lambda-sandbox invoke {name} --tail"
    )
    rows = sb._shared.db.query(
        "SELECT request_id, received, qualifier, state, attempts, outcome, last_response "
        "FROM async_events WHERE account=? AND region=? AND name=? "
        "ORDER BY received DESC LIMIT ?",
        (sb.account_id, sb.region, name, args.lines),
    )
    if not rows:
        return 0
    print(f"\nAsynchronous invocations the store keeps (newest first, at most {args.lines}):")
    shown = []
    for request_id, received, qualifier, state, attempts, outcome, last in rows:
        error = json.loads(str(last)).get("functionError") if last else None
        shown.append(
            (
                request_id,
                _iso(float(str(received))),
                qualifier or "$LATEST",
                state,
                attempts,
                outcome or "-",
                error or "-",
            )
        )
    header = ["RequestId", "Received", "Qualifier", "State", "Attempts", "Outcome", "Error"]
    print(table(shown, header))
    return 0


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cmd_reset(sb: Sandbox, args: argparse.Namespace) -> int:
    """Delete everything of the default account and region, through the API."""
    if not args.yes:
        raise UsageError(
            f"reset deletes every function, layer, queue, topic, bus and bucket in {sb.home}; "
            "run `lambda-sandbox reset --yes` to do it"
        )
    counts = dict.fromkeys(
        ("mappings", "functions", "layer versions", "queues", "topics", "buses", "buckets"), 0
    )
    # mappings first (a deleted function's mapping would keep polling); pages are read
    # whole before deleting, so a marker never points past what was deleted
    for uuid in _pages(sb.list_event_source_mappings, "event_source_mappings", "uuid"):
        sb.delete_event_source_mapping(uuid)
        counts["mappings"] += 1
    for name in _every_function(sb):
        sb.delete_function(name)
        counts["functions"] += 1
    for layer in _pages(sb.list_layers, "layers", "layer_name"):
        versions = _pages(
            lambda marker, layer=layer: sb.list_layer_versions(layer, marker=marker),
            "layer_versions",
            "version",
        )
        for version in versions:
            sb.delete_layer_version(layer, version)
            counts["layer versions"] += 1
    for url in sb.sqs.list_queues().get("QueueUrls", []):
        sb.sqs.delete_queue(url)
        counts["queues"] += 1
    for topic in sb.sns.list_topics()["Topics"]:
        sb.sns.delete_topic(topic["TopicArn"])
        counts["topics"] += 1
    for bus in sb.eventbridge.list_event_buses()["EventBuses"]:
        if bus["Name"] != "default":  # the default bus always exists
            sb.eventbridge.delete_event_bus(bus["Name"])
            counts["buses"] += 1
    for bucket in sb.s3.list_buckets()["Buckets"]:
        _empty_bucket(sb, bucket["Name"])
        sb.s3.delete_bucket(bucket["Name"])
        counts["buckets"] += 1
    done = ", ".join(f"{n} {what}" for what, n in counts.items())
    print(f"reset {sb.home} ({sb.account_id}, {sb.region}): deleted {done}")
    return 0


def _empty_bucket(sb: Sandbox, bucket: str) -> None:
    while keys := [o["Key"] for o in sb.s3.list_objects_v2(bucket).get("Contents", [])]:
        for key in keys:
            sb.s3.delete_object(bucket, key)
