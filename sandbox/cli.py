"""The ``lambda-sandbox`` command: ``demo`` shows what the sandbox does, end to end.

Each subcommand is a thin shell over :class:`sandbox.Sandbox`; errors are one line with the
AWS error code, never a traceback.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Sequence

from sandbox import Sandbox, __version__
from sandbox.core.routing import choose_version
from sandbox.errors import LambdaError, SandboxError

__all__ = ["main"]

_V1 = """
def lambda_handler(event, context):
    return {"message": "hello from v1", "event": event}
"""
_V2 = """
def lambda_handler(event, context):
    return {"message": "hello from v2", "event": event}
"""


def _table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    cells = [list(map(str, header))] + [list(map(str, r)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _demo(sb: Sandbox, out: argparse.Namespace) -> int:
    name = "demo-hello"
    print(
        f"lambda-sandbox {__version__}: store at {sb.home} (account {sb.account_id}, {sb.region})\n"
    )
    try:
        sb.delete_function(name)
    except sb.exceptions.ResourceNotFoundException:
        pass

    print("1. Qualifier: create a function, publish immutable versions, point an alias.")
    sb.create_function(name, _V1, description="the demo function")
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
    alias = sb.get_alias(name, "live")
    print(
        f"\n   alias {alias.name} -> version {alias.function_version}, "
        f"{alias.additional_version_weights} of traffic to the canary"
    )
    rng = random.Random(out.seed)
    draws = Counter(
        choose_version(alias.function_version, alias.additional_version_weights, rng.random)
        for _ in range(1000)
    )
    print(
        "   1,000 routing draws: "
        + ", ".join(f"version {v}: {n}" for v, n in sorted(draws.items()))
    )

    print("\n2. Errors look like AWS's:")
    for attempt in (
        lambda: sb.delete_function(name, v1.version),
        lambda: sb.get_function(f"{name}:$latest"),
        lambda: sb.create_function(name, _V1),
    ):
        try:
            attempt()
        except LambdaError as exc:
            print(f"   {exc.code}: {exc.message}")
    print(
        "\nNext: execution environments, concurrency, layers, extensions, destinations and "
        "triggers arrive issue by issue; see docs/index.md."
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lambda-sandbox", description=__doc__)
    parser.add_argument("--version", action="version", version=f"lambda-sandbox {__version__}")
    parser.add_argument(
        "--home", help="the store directory (default $LAMBDA_SANDBOX_HOME or ~/.lambda-sandbox)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a guided tour of what the sandbox does")
    demo.add_argument("--seed", type=int, default=7, help="seed of the routing draws")
    demo.add_argument("--ephemeral", action="store_true", help="use a throwaway store")
    args = parser.parse_args(argv)
    try:
        sb = Sandbox.ephemeral() if getattr(args, "ephemeral", False) else Sandbox(args.home)
        with sb:
            return _demo(sb, args)
    except SandboxError as exc:
        print(f"lambda-sandbox: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
