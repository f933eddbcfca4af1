"""Function URL configs (CreateFunctionUrlConfig, Get, Update, Delete, List): AWS's
response shapes, validation rules and messages, one URL per function and per alias."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.errors import (
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from tests.conftest import HANDLER_SOURCE

pytestmark = pytest.mark.timeout(60)

ARN = "arn:aws:lambda:us-east-1:123456789012:function"
URL = re.compile(r"^https://[a-z0-9]{32}\.lambda-url\.us-east-1\.on\.aws/$")
MISSING = "The resource you requested does not exist."
PATTERN = r"Member must satisfy regular expression pattern: ((?!^\d+$)^[0-9a-zA-Z-_]+$)"
CORS = {
    "AllowOrigins": ["https://example.com"],
    "AllowMethods": ["GET", "POST"],
    "AllowHeaders": ["x-custom"],
    "ExposeHeaders": ["x-request"],
    "AllowCredentials": True,
    "MaxAge": 300,
}


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture
def fn(sb: Sandbox) -> str:
    sb.create_function("orders", HANDLER_SOURCE)
    return "orders"


@pytest.fixture
def alias(sb: Sandbox, fn: str) -> str:
    sb.publish_version(fn)
    sb.create_alias(fn, "live", "1")
    return "live"


# create and get ---------------------------------------------------------------------------
def test_create_shape(sb: Sandbox, fn: str, clock: FakeClock) -> None:
    created = sb.create_function_url_config(fn, "NONE")
    assert list(created) == ["FunctionUrl", "FunctionArn", "AuthType", "CreationTime", "InvokeMode"]
    assert URL.match(str(created["FunctionUrl"]))
    assert created["FunctionArn"] == f"{ARN}:orders"
    assert created["AuthType"] == "NONE"
    assert created["CreationTime"] == stamp(clock.time())
    assert created["InvokeMode"] == "BUFFERED"


def test_get_adds_last_modified_and_echoes_cors(sb: Sandbox, fn: str, clock: FakeClock) -> None:
    created = sb.create_function_url_config(fn, "AWS_IAM", cors=CORS)
    assert created["Cors"] == CORS
    got = sb.get_function_url_config(fn)
    assert got == {**created, "LastModifiedTime": stamp(clock.time())}
    assert sb.get_function_url_config(f"{ARN}:orders") == got  # every name form
    assert sb.get_function_url_config("123456789012:function:orders") == got


def test_each_creation_gets_a_new_url(sb: Sandbox, fn: str) -> None:
    first = sb.create_function_url_config(fn, "NONE")["FunctionUrl"]
    sb.delete_function_url_config(fn)
    second = sb.create_function_url_config(fn, "NONE")["FunctionUrl"]
    assert URL.match(str(second)) and second != first


def test_response_stream_is_accepted(sb: Sandbox, fn: str) -> None:
    created = sb.create_function_url_config(fn, "NONE", invoke_mode="RESPONSE_STREAM")
    assert created["InvokeMode"] == "RESPONSE_STREAM"


def test_one_url_per_function(sb: Sandbox, fn: str) -> None:
    sb.create_function_url_config(fn, "NONE")
    message = (
        f"Failed to create function url config for [functionArn = {ARN}:orders]. "
        "Error message:  FunctionUrlConfig exists for this Lambda function"
    )
    with pytest.raises(ResourceConflictException) as info:
        sb.create_function_url_config(fn, "AWS_IAM")
    assert info.value.message == message
    assert sb.get_function_url_config(fn)["AuthType"] == "NONE"


def test_alias_has_its_own_url(sb: Sandbox, fn: str, alias: str) -> None:
    own = sb.create_function_url_config(fn, "NONE")
    aliased = sb.create_function_url_config(fn, "AWS_IAM", qualifier=alias)
    assert aliased["FunctionArn"] == f"{ARN}:orders:live"
    assert aliased["FunctionUrl"] != own["FunctionUrl"]
    assert sb.get_function_url_config("orders:live") == sb.get_function_url_config(fn, alias)
    with pytest.raises(ResourceConflictException, match=r"functionArn = .*:orders:live\]"):
        sb.create_function_url_config("orders:live", "NONE")


@pytest.mark.parametrize("qualifier", ["1", "$LATEST", "a b"])
def test_qualifier_is_an_alias_name_only(sb: Sandbox, fn: str, qualifier: str) -> None:
    sb.publish_version(fn)
    message = (
        f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed to "
        f"satisfy constraint: {PATTERN}"
    )
    for call in (
        lambda: sb.create_function_url_config(fn, "NONE", qualifier=qualifier),
        lambda: sb.get_function_url_config(fn, qualifier),
        lambda: sb.delete_function_url_config(fn, qualifier),
    ):
        with pytest.raises(ValidationException) as info:
            call()
        assert info.value.message == message
    assert sb.list_function_url_configs(fn) == {"FunctionUrlConfigs": []}


def test_qualifier_in_the_name_is_checked_too(sb: Sandbox, fn: str) -> None:
    sb.publish_version(fn)
    with pytest.raises(ValidationException, match=re.escape(PATTERN)):
        sb.create_function_url_config("orders:1", "NONE")


def test_missing_function_and_alias(sb: Sandbox, fn: str) -> None:
    with pytest.raises(ResourceNotFoundException) as info:
        sb.create_function_url_config("nope", "NONE")
    assert info.value.message == f"Function not found: {ARN}:nope"
    with pytest.raises(ResourceNotFoundException) as info:
        sb.create_function_url_config(fn, "NONE", qualifier="ghost")
    assert info.value.message == f"Function not found: {ARN}:orders:ghost"
    with pytest.raises(ResourceNotFoundException, match=f"Function not found: {ARN}:nope"):
        sb.get_function_url_config("nope")


def test_missing_config(sb: Sandbox, fn: str, alias: str) -> None:
    sb.create_function_url_config(fn, "NONE")
    for call in (
        lambda: sb.get_function_url_config(fn, alias),
        lambda: sb.update_function_url_config(fn, alias, auth_type="NONE"),
        lambda: sb.delete_function_url_config(fn, alias),
    ):
        with pytest.raises(ResourceNotFoundException) as info:
            call()
        assert info.value.message == MISSING


@pytest.mark.parametrize(
    ("auth_type", "message"),
    [
        (
            "PUBLIC",
            "1 validation error detected: Value 'PUBLIC' at 'authType' failed to satisfy "
            "constraint: Member must satisfy enum value set: [NONE, AWS_IAM]",
        ),
        (
            None,
            "1 validation error detected: Value null at 'authType' failed to satisfy "
            "constraint: Member must not be null",
        ),
    ],
)
def test_auth_type(sb: Sandbox, fn: str, auth_type: str, message: str) -> None:
    with pytest.raises(ValidationException) as info:
        sb.create_function_url_config(fn, auth_type)
    assert info.value.message == message
    with pytest.raises(ResourceNotFoundException):
        sb.get_function_url_config(fn)  # nothing half-written


def test_invoke_mode(sb: Sandbox, fn: str) -> None:
    with pytest.raises(ValidationException) as info:
        sb.create_function_url_config(fn, "NONE", invoke_mode="STREAM")
    assert info.value.message == (
        "1 validation error detected: Value 'STREAM' at 'invokeMode' failed to satisfy "
        "constraint: Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]"
    )


@pytest.mark.parametrize(
    ("cors", "error", "message"),
    [
        (
            {"MaxAge": 86401},
            ValidationException,
            "Value '86401' at 'cors.maxAge' failed to satisfy constraint: Member must have "
            "value less than or equal to 86400",
        ),
        (
            {"MaxAge": -1},
            ValidationException,
            "at 'cors.maxAge' failed to satisfy constraint: Member must have value greater "
            "than or equal to 0",
        ),
        (
            {"AllowMethods": ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"]},
            ValidationException,
            "at 'cors.allowMethods' failed to satisfy constraint: Member must have length "
            "less than or equal to 6",
        ),
        (
            {"AllowMethods": ["OPTIONS"]},
            ValidationException,
            "at 'cors.allowMethods' failed to satisfy constraint: Member must satisfy "
            "constraint: [Member must have length less than or equal to 6]",
        ),
        (
            {"AllowOrigins": [""]},
            ValidationException,
            "at 'cors.allowOrigins' failed to satisfy constraint: Member must satisfy "
            "constraint: [Member must have length less than or equal to 253, Member must "
            "have length greater than or equal to 1]",
        ),
        (
            {"AllowOrigin": ["*"]},
            InvalidParameterValueException,
            'Unknown parameter in Cors: "AllowOrigin", must be one of: AllowCredentials, '
            "AllowHeaders, AllowMethods, AllowOrigins, ExposeHeaders, MaxAge",
        ),
        (
            {"AllowCredentials": "yes"},
            InvalidParameterValueException,
            "Invalid type for parameter Cors.AllowCredentials",
        ),
        (
            {"AllowHeaders": "x-custom"},
            InvalidParameterValueException,
            "Invalid type for parameter Cors.AllowHeaders",
        ),
    ],
)
def test_cors_rules(
    sb: Sandbox, fn: str, cors: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        sb.create_function_url_config(fn, "NONE", cors=cors)
    assert sb.list_function_url_configs(fn)["FunctionUrlConfigs"] == []


# update -----------------------------------------------------------------------------------
def test_update_changes_only_what_is_given(sb: Sandbox, fn: str, clock: FakeClock) -> None:
    created = sb.create_function_url_config(fn, "NONE", cors=CORS)
    clock.advance(30)
    updated = sb.update_function_url_config(fn, auth_type="AWS_IAM")
    assert updated["AuthType"] == "AWS_IAM"
    assert updated["Cors"] == CORS
    assert updated["FunctionUrl"] == created["FunctionUrl"]
    assert updated["CreationTime"] == created["CreationTime"]
    assert updated["LastModifiedTime"] == stamp(clock.time())
    assert sb.get_function_url_config(fn) == updated


def test_update_replaces_cors_whole_and_empty_removes(sb: Sandbox, fn: str) -> None:
    sb.create_function_url_config(fn, "NONE", cors=CORS)
    replaced = sb.update_function_url_config(fn, cors={"AllowOrigins": ["*"]})
    assert replaced["Cors"] == {"AllowOrigins": ["*"]}
    removed = sb.update_function_url_config(fn, cors={}, invoke_mode="RESPONSE_STREAM")
    assert "Cors" not in removed
    assert removed["InvokeMode"] == "RESPONSE_STREAM"


def test_update_validates_before_writing(sb: Sandbox, fn: str) -> None:
    before = sb.create_function_url_config(fn, "NONE", cors=CORS)
    with pytest.raises(ValidationException):
        sb.update_function_url_config(fn, auth_type="AWS_IAM", cors={"MaxAge": 10**6})
    after = sb.get_function_url_config(fn)
    assert after["AuthType"] == "NONE" and after["Cors"] == before["Cors"]


# delete and list --------------------------------------------------------------------------
def test_delete_is_per_qualifier(sb: Sandbox, fn: str, alias: str) -> None:
    sb.create_function_url_config(fn, "NONE")
    sb.create_function_url_config(fn, "NONE", qualifier=alias)
    sb.delete_function_url_config(fn)
    with pytest.raises(ResourceNotFoundException, match=MISSING):
        sb.get_function_url_config(fn)
    assert sb.get_function_url_config(fn, alias)["FunctionArn"] == f"{ARN}:orders:live"
    with pytest.raises(ResourceNotFoundException, match=MISSING):
        sb.delete_function_url_config(fn)


def test_list_pages(sb: Sandbox, fn: str, alias: str) -> None:
    sb.create_alias(fn, "beta", "1")
    for qualifier in (None, "beta", alias):
        sb.create_function_url_config(fn, "NONE", qualifier=qualifier)
    everything = sb.list_function_url_configs(fn)
    arns = [c["FunctionArn"] for c in everything["FunctionUrlConfigs"]]  # type: ignore[attr-defined]
    assert arns == [f"{ARN}:orders", f"{ARN}:orders:beta", f"{ARN}:orders:live"]
    assert "NextMarker" not in everything
    seen: list[object] = []
    marker = None
    while True:
        page = sb.list_function_url_configs(fn, marker=marker, max_items=2)
        seen.extend(page["FunctionUrlConfigs"])  # type: ignore[arg-type]
        marker = page.get("NextMarker")  # type: ignore[assignment]
        if marker is None:
            break
    assert seen == everything["FunctionUrlConfigs"]
    for config in seen:
        assert "LastModifiedTime" in config  # type: ignore[operator]


def test_list_rules(sb: Sandbox, fn: str) -> None:
    with pytest.raises(ValidationException, match="less than or equal to 50"):
        sb.list_function_url_configs(fn, max_items=51)
    with pytest.raises(ValidationException, match="greater than or equal to 1"):
        sb.list_function_url_configs(fn, max_items=0)
    with pytest.raises(InvalidParameterValueException, match="Qualifier is not supported"):
        sb.list_function_url_configs("orders:live")
    with pytest.raises(ResourceNotFoundException, match=f"Function not found: {ARN}:nope"):
        sb.list_function_url_configs("nope")


# lifetimes --------------------------------------------------------------------------------
def test_url_goes_with_its_function(sb: Sandbox, fn: str, alias: str) -> None:
    sb.create_function_url_config(fn, "NONE")
    sb.create_function_url_config(fn, "NONE", qualifier=alias)
    sb.delete_function(fn)
    sb.create_function(fn, HANDLER_SOURCE)
    assert sb.list_function_url_configs(fn) == {"FunctionUrlConfigs": []}


def test_url_outlives_its_alias(sb: Sandbox, fn: str, alias: str) -> None:
    created = sb.create_function_url_config(fn, "NONE", qualifier=alias)
    sb.delete_alias(fn, alias)
    assert sb.get_function_url_config(fn, alias)["FunctionUrl"] == created["FunctionUrl"]


def test_updating_the_alias_keeps_its_url(sb: Sandbox, fn: str, alias: str) -> None:
    created = sb.create_function_url_config(fn, "NONE", qualifier=alias)
    sb.update_alias(fn, alias, function_version="1", description="moved")
    assert sb.get_function_url_config(fn, alias) == {
        **created,
        "LastModifiedTime": created["CreationTime"],
    }


def test_urls_belong_to_their_account(sb: Sandbox, fn: str) -> None:
    sb.create_function_url_config(fn, "NONE")
    other = sb.for_account("210987654321")
    other.create_function(fn, HANDLER_SOURCE)
    with pytest.raises(ResourceNotFoundException, match=MISSING):
        other.get_function_url_config(fn)


def test_urls_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    with Sandbox(tmp_path / "home", clock=clock) as sb:
        sb.create_function("orders", HANDLER_SOURCE)
        created = sb.create_function_url_config("orders", "AWS_IAM", cors=CORS)
    with Sandbox(tmp_path / "home", clock=clock) as again:
        got = again.get_function_url_config("orders")
    assert {k: v for k, v in got.items() if k != "LastModifiedTime"} == created
