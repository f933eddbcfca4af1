"""Lab 8's exercises: publish a version, run a canary, roll it back.

The checks read what Lambda would let you read: the published versions and the alias
(``ListVersionsByFunction``, ``GetAlias``), and the version each request of your attempt
actually executed (the telemetry's invocation records, Lambda's ``ExecutedVersion``). A
weighted alias is a random draw per request, so the canary check asks for a share of
version 2 that any honest 20 % canary of 100 requests reaches, not an exact count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sandbox.lab import NotYet, Window, exercise

if TYPE_CHECKING:
    from sandbox import Sandbox
    from sandbox.core.models import AliasConfiguration, FunctionConfiguration

FUNCTION = "checkout"
ALIAS = "live"

# The lab's two releases: version 2 charges more and breaks on orders with a coupon.
V1 = """def lambda_handler(event, context):
    total = 10 * event.get("items", 1)
    return {"total": total, "version": context.function_version}
"""
V2 = """def lambda_handler(event, context):
    total = 12 * event.get("items", 1)
    if "coupon" in event:
        total -= event["discount"]  # bug: a coupon order carries no "discount"
    return {"total": total, "version": context.function_version}
"""


def _published(sb: Sandbox) -> dict[str, FunctionConfiguration]:
    """The numbered versions of the function, by number (every page)."""
    found: dict[str, FunctionConfiguration] = {}
    marker: str | None = None
    while True:
        page = sb.list_versions_by_function(FUNCTION, marker=marker)
        found.update({v.version: v for v in page.versions if v.version.isdigit()})
        marker = page.next_marker
        if not marker:
            return found


def _ensure_versions(sb: Sandbox) -> None:
    """``checkout`` with versions 1 and 2, as the lab's first sections leave it."""
    try:
        sb.get_function(FUNCTION)
    except sb.exceptions.ResourceNotFoundException:
        sb.create_function(FUNCTION, V1)
    versions = _published(sb)
    if "1" not in versions:
        sb.update_function_code(FUNCTION, V1)
        sb.publish_version(FUNCTION)
    if "2" not in versions:
        sb.update_function_code(FUNCTION, V2)
        sb.publish_version(FUNCTION)


def _alias(sb: Sandbox) -> AliasConfiguration | None:
    try:
        return sb.get_alias(FUNCTION, ALIAS)
    except sb.exceptions.ResourceNotFoundException:
        return None


def _shares(alias: AliasConfiguration) -> dict[str, float]:
    """The share of requests the alias sends to each version (primary: what is left)."""
    weights = {str(k): float(v) for k, v in alias.additional_version_weights.items()}
    shares = {alias.function_version: 1.0 - sum(weights.values())}
    shares.update(weights)
    return {version: share for version, share in shares.items() if share > 0}


def _describe(shares: Mapping[str, float]) -> str:
    parts = [f"{share * 100:.0f} % to version {version}" for version, share in shares.items()]
    return " and ".join(parts)


def _through_alias(window: Window) -> Counter[str]:
    """The executed version of each request of this attempt made through ``checkout:live``."""
    return Counter(
        r.version or "$LATEST"
        for r in window.invocations(FUNCTION)
        if r.detail.get("qualifier") == ALIAS
    )


def _seen(counts: Counter[str]) -> str:
    runs = ", ".join(f"{n} ran version {v}" for v, n in sorted(counts.items()))
    return f"Of the {sum(counts.values())} requests through {FUNCTION}:{ALIAS}, {runs}"


# -- 8.1 ---------------------------------------------------------------------------------
def _setup_versions(sb: Sandbox) -> dict[str, object]:
    _ensure_versions(sb)
    return {}


@exercise(
    "8.1",
    title="Freeze a new configuration",
    task=(
        "Publish a new version of `checkout` that runs the same code as version 2 but has a "
        "**10-second timeout**. Versions 1 and 2 must stay as they are."
    ),
    hints=(
        "A published version is a snapshot of `$LATEST`, code *and* configuration, taken at "
        "the moment you publish. Nothing can change a version afterwards.",
        "Publishing when nothing changed since the last version hands you that version back. "
        "Change the configuration of `$LATEST` first (only `$LATEST` can be changed), then "
        "publish.",
    ),
    setup=_setup_versions,
)
def _freeze_configuration(sb: Sandbox, window: Window) -> str | None:
    versions = _published(sb)
    if "2" not in versions:
        raise NotYet(f"`{FUNCTION}` has no version 2 any more.")
    code = versions["2"].code_sha256
    tenfold = [v for v in versions.values() if v.timeout == 10]
    frozen = [v for v in tenfold if v.code_sha256 == code and v.version not in ("1", "2")]
    if frozen:
        number = frozen[-1].version
        return (
            f"Version {number} froze `$LATEST`'s code and its 10-second timeout; version 2 "
            "keeps its own timeout for ever. Configuration is part of a version."
        )
    seen = ", ".join(f"{n} ({v.timeout} s)" for n, v in sorted(versions.items(), key=_number))
    latest = sb.get_function_configuration(FUNCTION)
    message = (
        f"The published versions and their timeouts are: {seen}; `$LATEST` has {latest.timeout} s."
    )
    if tenfold:
        message += f" Version {tenfold[-1].version} has 10 s, but not version 2's code."
    raise NotYet(message)


def _number(item: tuple[str, object]) -> int:
    return int(item[0])


# -- 8.2 ---------------------------------------------------------------------------------
def _setup_alias(sb: Sandbox) -> dict[str, object]:
    _ensure_versions(sb)
    if _alias(sb) is None:
        sb.create_alias(FUNCTION, ALIAS, "1")
    return {}


@exercise(
    "8.2",
    title="A 20 % canary",
    task=(
        "Make the alias `live` of `checkout` send **about 20 %** of its requests to version 2 "
        "and the rest to version 1. Then send 100 requests to `checkout:live` with "
        "`sb.invoke_many`."
    ),
    hints=(
        "An alias has one primary version and may send a fraction of its traffic to one "
        "more version: its `RoutingConfig`, with `AdditionalVersionWeights`.",
        "A weight is a fraction between 0.0 and 1.0 of the requests, given to the extra "
        "version; the primary version gets the rest. Send the requests after the change, "
        "with `qualifier=` or the name `checkout:live`.",
    ),
    setup=_setup_alias,
    wait=0.5,
)
def _canary(sb: Sandbox, window: Window) -> str | None:
    alias = _alias(sb)
    if alias is None:
        raise NotYet(f"`{FUNCTION}` has no alias `{ALIAS}`.")
    shares = _shares(alias)
    if set(shares) != {"1", "2"} or not 0.15 <= shares["2"] <= 0.25:
        raise NotYet(f"`{ALIAS}` sends {_describe(shares)}.")
    counts = _through_alias(window)
    total = sum(counts.values())
    if total < 50:
        raise NotYet(
            f"this attempt sent {total} request(s) through `{FUNCTION}:{ALIAS}`; "
            "a canary needs traffic to be judged."
        )
    if set(counts) != {"1", "2"} or counts["2"] >= counts["1"]:
        raise NotYet(_seen(counts) + ".")
    return (
        f"{_seen(counts)}: each request is a fresh random draw, so the share is close to "
        "the weight, not equal to it. Only `ExecutedVersion` tells you which version ran."
    )


# -- 8.3 ---------------------------------------------------------------------------------
def _setup_canary(sb: Sandbox) -> dict[str, object]:
    """A canary of version 2 on ``live``, unless ``live`` already sends version 2 traffic."""
    _ensure_versions(sb)
    alias = _alias(sb)
    canary = {"AdditionalVersionWeights": {"2": 0.2}}
    if alias is None:
        sb.create_alias(FUNCTION, ALIAS, "1", routing_config=canary)
    elif "2" not in _shares(alias):
        sb.update_alias(FUNCTION, ALIAS, function_version="1", routing_config=canary)
    return {}


@exercise(
    "8.3",
    title="Roll back",
    task=(
        "Version 2 fails for orders with a coupon, and `live` sends part of its traffic to it "
        "(the set-up starts that canary if `live` sends nothing to version 2). Roll back: "
        "`live` must serve **only version 1**, without deleting anything. Then send 50 "
        "requests to `checkout:live`."
    ),
    hints=(
        "Rolling back on Lambda is not a redeploy: the alias is a pointer, and you move it. "
        "Look at everything the alias says with `sb.get_alias(...).to_aws()`.",
        "`update_alias` changes only what you pass it: a `RoutingConfig` you do not replace "
        "stays in force, whatever `FunctionVersion` says.",
    ),
    setup=_setup_canary,
    wait=0.5,
)
def _roll_back(sb: Sandbox, window: Window) -> str | None:
    alias = _alias(sb)
    if alias is None:
        raise NotYet(f"`{FUNCTION}` has no alias `{ALIAS}` any more.")
    shares = _shares(alias)
    if set(shares) != {"1"}:
        raise NotYet(f"`{ALIAS}` sends {_describe(shares)}.")
    counts = _through_alias(window)
    total = sum(counts.values())
    if total < 20:
        raise NotYet(f"this attempt sent {total} request(s) through `{FUNCTION}:{ALIAS}`.")
    if set(counts) != {"1"}:
        raise NotYet(_seen(counts) + ": the rollback must come before the requests.")
    return (
        f"All {total} requests ran version 1. A rollback moves a pointer: nothing was "
        "redeployed, and version 2 is still there to fix or delete later."
    )
