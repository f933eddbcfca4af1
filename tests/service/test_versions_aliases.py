"""Versions and aliases (the Qualifier concept, spec §5), rule by rule."""

from __future__ import annotations

import re

import pytest

from sandbox import Sandbox
from sandbox.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from sandbox.store.functions import FunctionRows
from tests.conftest import HANDLER_SOURCE

ARN = "arn:aws:lambda:us-east-1:123456789012:function"
V2 = "def lambda_handler(event, context):\n    return 2\n"


def test_publish_numbers_from_one_and_freezes_config(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE, timeout=4)
    v1 = sb.publish_version("fn", description="first")
    assert (v1.version, v1.function_arn, v1.description) == ("1", f"{ARN}:fn:1", "first")
    sb.update_function_configuration("fn", timeout=8)
    v2 = sb.publish_version("fn")
    assert v2.version == "2" and v2.timeout == 8
    assert sb.get_function_configuration("fn", "1").timeout == 4  # version 1 is immutable
    assert sb.get_function_configuration("fn:2").timeout == 8


def test_unchanged_publish_returns_the_latest_version(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE)
    v1 = sb.publish_version("fn", description="one")
    same = sb.publish_version("fn", description="ignored")
    assert same == v1  # same version, same RevisionId, description ignored
    sb.update_function_configuration("fn", description="config-only change")
    assert sb.publish_version("fn").version == "2"


def test_version_numbers_are_never_reused(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE)
    sb.publish_version("fn")
    sb.update_function_code("fn", V2)
    sb.publish_version("fn")
    sb.delete_function("fn", "2")
    sb.delete_function("fn", "1")
    sb.update_function_configuration("fn", timeout=9)
    assert sb.publish_version("fn").version == "3"


def test_publish_preconditions(sb: Sandbox) -> None:
    cfg = sb.create_function("fn", HANDLER_SOURCE)
    with pytest.raises(
        InvalidParameterValueException,
        match=re.escape(
            f"CodeSHA256 (abc) is different from current CodeSHA256 in $LATEST "
            f"({cfg.code_sha256}). Please try again with the CodeSHA256 in $LATEST."
        ),
    ):
        sb.publish_version("fn", code_sha256="abc")
    with pytest.raises(
        PreconditionFailedException, match="The Revision Id provided does not match"
    ):
        sb.publish_version("fn", revision_id="old")
    assert (
        sb.publish_version("fn", code_sha256=cfg.code_sha256, revision_id=cfg.revision_id).version
        == "1"
    )
    with pytest.raises(
        ResourceNotFoundException, match=re.escape(f"Function not found: {ARN}:nope")
    ):
        sb.publish_version("nope")


def test_publish_is_all_or_nothing(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    sb.create_function("fn", HANDLER_SOURCE)

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk failed in the middle of a publish")

    monkeypatch.setattr(FunctionRows, "insert_version", crash)
    with pytest.raises(OSError, match="disk failed"):
        sb.publish_version("fn")
    monkeypatch.undo()
    assert [v.version for v in sb.list_versions_by_function("fn").versions] == ["$LATEST"]
    assert sb.publish_version("fn").version == "1"  # the number taken in the failed publish is back


def test_list_versions(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE, publish=True)
    for t in range(2, 5):
        sb.update_function_configuration("fn", timeout=t)
        sb.publish_version("fn")
    listing = sb.list_versions_by_function("fn")
    assert [v.version for v in listing.versions] == ["$LATEST", "1", "2", "3", "4"]
    assert listing.versions[0].function_arn == f"{ARN}:fn:$LATEST"
    page = sb.list_versions_by_function("fn", max_items=2)
    assert [v.version for v in page.versions] == ["$LATEST", "1"] and page.next_marker
    rest = sb.list_versions_by_function("fn", marker=page.next_marker)
    assert [v.version for v in rest.versions] == ["2", "3", "4"] and rest.next_marker is None


def test_delete_version_referenced_by_an_alias(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE, publish=True)
    sb.update_function_code("fn", V2)
    sb.publish_version("fn")
    sb.create_alias("fn", "live", "1")
    sb.create_alias("fn", "canary", "2")
    with pytest.raises(
        ResourceConflictException,
        match=re.escape(
            "Unable to delete version because the following aliases reference it: [live]"
        ),
    ):
        sb.delete_function("fn", "1")
    sb.update_alias("fn", "live", routing_config={"AdditionalVersionWeights": {"2": 0.5}})
    with pytest.raises(ResourceConflictException, match=re.escape("reference it: [canary, live]")):
        sb.delete_function("fn", "2")
    with pytest.raises(
        ResourceNotFoundException, match=re.escape(f"Function not found: {ARN}:fn:7")
    ):
        sb.delete_function("fn", "7")


def test_alias_lifecycle(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE, publish=True)
    alias = sb.create_alias("fn", "live", "1", description="prod traffic")
    assert alias.alias_arn == f"{ARN}:fn:live"
    assert alias.to_aws() == {
        "AliasArn": f"{ARN}:fn:live",
        "Name": "live",
        "FunctionVersion": "1",
        "Description": "prod traffic",
        "RevisionId": alias.revision_id,
    }
    assert sb.get_alias("fn", "live") == alias
    resolved = sb.get_function_configuration("fn:live")
    assert resolved.version == "1"
    sb.update_function_code("fn", V2)
    sb.publish_version("fn")
    moved = sb.update_alias("fn", "live", function_version="2")
    assert moved.function_version == "2" and moved.revision_id != alias.revision_id
    assert moved.description == "prod traffic"
    with pytest.raises(PreconditionFailedException):
        sb.update_alias("fn", "live", function_version="1", revision_id=alias.revision_id)
    assert [a.name for a in sb.list_aliases("fn").aliases] == ["live"]
    assert sb.list_aliases("fn", function_version="1").aliases == ()
    sb.delete_alias("fn", "live")
    sb.delete_alias("fn", "live")  # idempotent, as on AWS
    with pytest.raises(
        ResourceNotFoundException, match=re.escape(f"Cannot find alias arn: {ARN}:fn:live")
    ):
        sb.get_alias("fn", "live")
    with pytest.raises(
        ResourceNotFoundException, match=re.escape(f"Alias not found: {ARN}:fn:live")
    ):
        sb.update_alias("fn", "live", function_version="1")


def test_alias_errors(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE, publish=True)
    sb.create_alias("fn", "live", "1")
    with pytest.raises(
        ResourceConflictException, match=re.escape(f"Alias already exists: {ARN}:fn:live")
    ):
        sb.create_alias("fn", "live", "1")
    with pytest.raises(
        ResourceNotFoundException, match=re.escape(f"Function not found: {ARN}:fn:9")
    ):
        sb.create_alias("fn", "next", "9")
    with pytest.raises(
        ValidationException, match=r"Value '12' at 'name' failed to satisfy constraint"
    ):
        sb.create_alias("fn", "12", "1")
    with pytest.raises(ValidationException, match=r"at 'functionVersion'"):
        sb.create_alias("fn", "bad", "live")
    with pytest.raises(
        ResourceNotFoundException, match=re.escape(f"Function not found: {ARN}:ghost")
    ):
        sb.create_alias("ghost", "live", "1")
    assert sb.create_alias("fn", "dev", "$LATEST").function_version == "$LATEST"


@pytest.mark.parametrize(
    ("primary", "weights", "error", "message"),
    [
        (
            "1",
            {"2": 0.1, "3": 0.1},
            InvalidParameterValueException,
            "Number of items in AdditionalVersionWeights cannot be greater than 1",
        ),
        (
            "1",
            {"1": 0.5},
            InvalidParameterValueException,
            "Invalid function version 1. Function version 1 is already included in routing "
            "configuration.",
        ),
        (
            "$LATEST",
            {"2": 0.5},
            InvalidParameterValueException,
            "$LATEST is not supported for an alias pointing to more than 1 version",
        ),
        (
            "1",
            {"$LATEST": 0.5},
            ValidationException,
            "at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys",
        ),
        (
            "1",
            {"2": 1.5},
            ValidationException,
            "at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value "
            "must satisfy constraint: [Member must have value less than or equal to 1.0",
        ),
        ("1", {"2": -0.1}, ValidationException, "Map value must satisfy constraint"),
        ("1", {"9": 0.5}, ResourceNotFoundException, f"Function not found: {ARN}:fn:9"),
    ],
)
def test_routing_rules(
    sb: Sandbox, primary: str, weights: dict[str, float], error: type[Exception], message: str
) -> None:
    sb.create_function("fn", HANDLER_SOURCE, publish=True)
    for t in (5, 6):
        sb.update_function_configuration("fn", timeout=t)
        sb.publish_version("fn")
    with pytest.raises(error, match=re.escape(message)):
        sb.create_alias("fn", "w", primary, routing_config={"AdditionalVersionWeights": weights})


def test_routing_update_and_clear(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE, publish=True)
    sb.update_function_code("fn", V2)
    sb.publish_version("fn")
    alias = sb.create_alias(
        "fn", "live", "1", routing_config={"AdditionalVersionWeights": {"2": 0.2}}
    )
    assert alias.to_aws()["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.2}}
    kept = sb.update_alias("fn", "live", description="still routed")
    assert kept.additional_version_weights == {"2": 0.2}
    cleared = sb.update_alias("fn", "live", routing_config={"AdditionalVersionWeights": {}})
    assert cleared.additional_version_weights == {}
    assert "RoutingConfig" not in cleared.to_aws()


def test_list_aliases_paginates(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE, publish=True)
    for name in ("a1", "a2", "a3", "a4", "a5"):
        sb.create_alias("fn", name, "1")
    page = sb.list_aliases("fn", max_items=2)
    names = [a.name for a in page.aliases]
    while page.next_marker:
        page = sb.list_aliases("fn", marker=page.next_marker, max_items=2)
        names += [a.name for a in page.aliases]
    assert names == ["a1", "a2", "a3", "a4", "a5"]
    with pytest.raises(InvalidParameterValueException, match="Invalid marker"):
        sb.list_aliases("fn", marker="not-a-marker")
