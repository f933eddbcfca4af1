"""The command line of ``%lambda``: its argparse parser (one subcommand per operation, each
with ``--help``) and tab completion of subcommands, function names and qualifiers."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

from IPython.core.error import UsageError

from sandbox import errors
from sandbox._sandbox import Sandbox

__all__ = [
    "CELL_COMMANDS",
    "COMMANDS",
    "FOLLOW_SECONDS",
    "PARSER",
    "HelpShown",
    "all_pages",
    "build_parser",
    "complete",
]

FOLLOW_SECONDS = 60.0
"""How long ``logs --follow`` runs at most unless ``--seconds`` says otherwise."""

# --- argument parsing ------------------------------------------------------------------


class HelpShown(Exception):
    """``--help`` printed its text; the magic returns quietly."""


class _Parser(argparse.ArgumentParser):
    """argparse that never exits the kernel: errors become ``UsageError``s."""

    commands: tuple[str, ...] = ()

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage().strip()}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            print(message, end="")
        raise HelpShown


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _weight(text: str) -> tuple[str, float]:
    version, value = _key_value(text)
    try:
        return version, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected VERSION=WEIGHT, got {text!r}") from None


def build_parser() -> _Parser:
    """The ``%lambda`` command line: one subparser per subcommand."""
    parser = _Parser(prog="%lambda", description="Drive the local Lambda sandbox.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, description=help_)

    p = add("create", "%%lambda create NAME: deploy the cell as lambda_function.py.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--memory", type=int, metavar="MB", help="memory size (default 128)")
    p.add_argument("--timeout", type=int, metavar="S", help="timeout in seconds (default 3)")
    p.add_argument("--env", type=_key_value, action="append", metavar="K=V", default=[])
    p.add_argument("--layer", action="append", metavar="ARN", default=[])
    p.add_argument("--runtime", metavar="R", help="default python3.13")
    p.add_argument(
        "--handler",
        metavar="H",
        help="default lambda_function.lambda_handler (or the one handler the cell defines)",
    )
    p.add_argument("--description", metavar="D")
    p.add_argument("--publish", action="store_true", help="also publish version 1")

    p = add("update", "%%lambda update NAME: the cell becomes $LATEST's new code.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--publish", action="store_true", help="also publish a version")

    p = add("invoke", "Invoke NAME[:QUALIFIER] (a %%lambda invoke cell is the payload).")
    p.add_argument("target", metavar="NAME[:QUALIFIER]")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--payload", metavar="JSON", help="the event as JSON text")
    source.add_argument(
        "--event", metavar="VAR", help="a dict or JSON str variable (or a saved test event)"
    )
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--async", dest="asynchronous", action="store_true", help="Event (202)")
    kind.add_argument("--dry-run", action="store_true", help="DryRun (204): validate only")
    p.add_argument("--tail", action="store_true", help="LogType Tail: show the log tail")

    p = add("publish", "Publish $LATEST as the next version.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--description", metavar="D")

    p = add("alias", "Create or move alias ALIAS to VERSION (optionally weighted).")
    p.add_argument("name", metavar="NAME")
    p.add_argument("alias", metavar="ALIAS")
    p.add_argument("version", metavar="VERSION")
    p.add_argument(
        "--weight",
        type=_weight,
        metavar="V=W",
        help="send fraction W (0..1) of requests to version V; without it the alias "
        "routes everything to VERSION",
    )
    p.add_argument("--description", metavar="D")

    p = add("concurrency", "Show, set (N) or --delete a function's reserved concurrency.")
    p.add_argument("name", metavar="NAME")
    how = p.add_mutually_exclusive_group()
    how.add_argument("count", metavar="N", type=int, nargs="?")
    how.add_argument("--delete", action="store_true")

    p = add("provisioned", "Show, set (N) or --delete provisioned concurrency of a qualifier.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("qualifier", metavar="QUALIFIER")
    how = p.add_mutually_exclusive_group()
    how.add_argument("count", metavar="N", type=int, nargs="?")
    how.add_argument("--delete", action="store_true")
    p.add_argument("--wait", action="store_true", help="wait until READY (at most 30 s)")

    p = add("logs", "The last log lines of a function (--follow: new lines as they come).")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--lines", type=int, default=20, metavar="N", help="default 20")
    p.add_argument("--follow", action="store_true", help="print new lines until interrupted")
    p.add_argument(
        "--seconds",
        type=float,
        default=FOLLOW_SECONDS,
        metavar="S",
        help=f"stop following after S seconds (default {FOLLOW_SECONDS:g})",
    )

    p = add(
        "layer",
        "Publish a version of layer NAME: %%lambda layer NAME puts the cell in the layer as "
        "--file (default python/NAME.py, importable as NAME); --from PATH publishes a "
        "directory or .zip instead. --delete N deletes version N.",
    )
    p.add_argument("name", metavar="NAME")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--file", metavar="PATH_IN_LAYER", help="default python/NAME.py")
    what.add_argument("--from", dest="source", metavar="PATH", help="a directory or .zip")
    what.add_argument("--delete", type=int, metavar="N", help="delete version N")
    p.add_argument("--description", metavar="D")
    p.add_argument(
        "--runtime",
        action="append",
        metavar="R",
        default=[],
        help="a compatible runtime (repeatable)",
    )

    p = add("layers", "The layers (or the versions of layer NAME), as a table.")
    p.add_argument("name", metavar="NAME", nargs="?")

    add("ls", "The functions, as a table.")

    p = add("versions", "A function's versions and the aliases pointing at them.")
    p.add_argument("name", metavar="NAME")

    p = add("async", "The asynchronous queue's events (of NAME), as a table.")
    p.add_argument("name", metavar="NAME", nargs="?")
    p.add_argument("--last", type=int, metavar="N", help="only the last N events")

    p = add(
        "destinations",
        "Show or change how NAME[:QUALIFIER] handles asynchronous events: retries, maximum "
        "age, on-success and on-failure destinations ('' removes one).",
    )
    p.add_argument("target", metavar="NAME[:QUALIFIER]")
    p.add_argument("--retries", type=int, metavar="N", help="MaximumRetryAttempts, 0 to 2")
    p.add_argument("--max-age", type=int, metavar="S", help="MaximumEventAgeInSeconds")
    p.add_argument("--on-success", metavar="ARN", help="OnSuccess destination")
    p.add_argument("--on-failure", metavar="ARN", help="OnFailure destination")
    p.add_argument("--delete", action="store_true", help="delete the settings")

    p = add(
        "mappings",
        "The event source mappings (of NAME) as a table; with --source, create one.",
    )
    p.add_argument("name", metavar="NAME[:QUALIFIER]", nargs="?")
    p.add_argument("--source", metavar="ARN", help="a queue or stream ARN: create a mapping")
    p.add_argument("--batch-size", type=int, metavar="N")
    p.add_argument("--window", type=int, metavar="S", help="MaximumBatchingWindowInSeconds")
    p.add_argument("--starting-position", metavar="POS", help="streams: TRIM_HORIZON, LATEST")
    p.add_argument("--delete", metavar="UUID", help="delete a mapping")

    p = add(
        "queue",
        "A local SQS queue: --create it, --send messages (a %%lambda queue cell: one per "
        "line), --receive N to peek; shows its depth.",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--create", action="store_true", help="create the queue first")
    p.add_argument("--send", action="append", metavar="BODY", help="send a message")
    p.add_argument("--receive", type=int, metavar="N", help="receive up to N (<= 10)")

    p = add("explain", "Why a request was a cold, warm or provisioned start, or throttled.")
    p.add_argument("request_id", metavar="REQUEST_ID")

    p = add("timeline", "The lifecycle timeline (a matplotlib figure).")
    p.add_argument("name", metavar="NAME", nargs="?")

    p = add(
        "dashboard",
        "The live dashboard widget: one function (invoke panel, timeline, concurrency), or "
        "several with --queues (an application: a live board of counts and queue depths).",
    )
    p.add_argument("name", metavar="NAME", nargs="*")
    p.add_argument("--queues", nargs="+", default=[], metavar="QUEUE", help="SQS queues to watch")
    p.add_argument("--by", choices=["function", "version"], default="function")

    p = add(
        "reset",
        "Start over: an ephemeral sandbox is replaced by a fresh one; on a store kept on "
        "disk every function is deleted. Needs --yes.",
    )
    p.add_argument("--yes", action="store_true", help="really do it")

    p = add("use", "Show or choose the sandbox the magics drive.")
    which = p.add_mutually_exclusive_group()
    which.add_argument("var", metavar="VAR", nargs="?", help="a Sandbox in the user namespace")
    which.add_argument("--home", metavar="PATH", help="a sandbox whose store is PATH")
    which.add_argument("--ephemeral", action="store_true", help="a throwaway sandbox")
    which.add_argument("--default", action="store_true", help="the default store")
    parser.commands = tuple(sub.choices)
    return parser


PARSER = build_parser()
COMMANDS: tuple[str, ...] = PARSER.commands
CELL_COMMANDS = ("create", "update", "invoke", "layer", "queue")


def all_pages(fetch: Callable[[str | None], Any], field: str) -> list[Any]:
    """Every item of a paginated list operation (``next_marker`` -> ``marker``)."""
    items: list[Any] = []
    marker: str | None = None
    while True:
        page = fetch(marker)
        items += getattr(page, field)
        marker = page.next_marker
        if not marker:
            return items


# --- completion ------------------------------------------------------------------------

_NAME_POSITIONS = {"create", "update", "invoke", "publish", "alias", "concurrency"}
_NAME_POSITIONS |= {"provisioned", "logs", "versions", "timeline", "dashboard"}


def _qualifiers(sb: Sandbox, name: str) -> list[str]:
    versions = all_pages(lambda m: sb.list_versions_by_function(name, marker=m), "versions")
    aliases = all_pages(lambda m: sb.list_aliases(name, marker=m), "aliases")
    return [v.version for v in versions] + [a.name for a in aliases]


def complete(sb: Sandbox, line: str) -> list[str]:
    """Completions of the last word of ``line`` (a ``%lambda`` line up to the cursor):
    subcommands, function names, and ``NAME:QUALIFIER`` / ``QUALIFIER`` from the function's
    versions and aliases. Whole words are returned."""
    words = line.split()
    if line[-1:].isspace() or not words:
        words.append("")
    if words[0].lstrip("%") != "lambda":
        return []
    args, word = words[1:-1], words[-1]
    try:
        if not args:
            found = list(COMMANDS)
        elif word.startswith("-"):
            return []
        else:
            positional = [a for a in args[1:] if not a.startswith("-")]
            found = _complete_argument(sb, args[0], positional, word)
    except errors.SandboxError:
        return []
    return sorted(w for w in found if w.startswith(word))


def _complete_argument(sb: Sandbox, command: str, positional: list[str], word: str) -> list[str]:
    if not positional and command in _NAME_POSITIONS:
        name, colon, _ = word.partition(":")
        if colon and command == "invoke":
            return [f"{name}:{q}" for q in _qualifiers(sb, name)]
        functions = all_pages(lambda m: sb.list_functions(marker=m), "functions")
        return [f.function_name for f in functions]
    if not positional and command in ("layer", "layers"):
        layers = all_pages(lambda m: sb.list_layers(marker=m), "layers")
        return [layer.layer_name for layer in layers]
    if positional and (
        (command == "provisioned" and len(positional) == 1)
        or (command == "alias" and len(positional) == 2)
    ):
        return _qualifiers(sb, positional[0])
    return []
