"""The concurrency control plane (spec §4): reserved concurrency, provisioned concurrency
configs and GetAccountSettings, rule by rule and message by message.

What these settings do at invoke time is in ``test_admission.py``. Putting a provisioned
concurrency config starts its environments, so those tests carry the process marker.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox import Sandbox
from sandbox.errors import (
    InvalidParameterValueException,
    ProvisionedConcurrencyConfigNotFoundException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from tests.conftest import HANDLER_SOURCE

pytestmark = pytest.mark.timeout(60)

ARN = "arn:aws:lambda:us-east-1:123456789012:function"
V2 = "def lambda_handler(event, context):\n    return 2\n"

FUNCTIONS_ONLY = (
    "This operation is permitted on Lambda functions only. Aliases and versions do not "
    "support this operation. Please specify either a function name or an unqualified "
    "function ARN."
)
UNPUBLISHED = "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
ALIAS_OR_VERSION = "The function resource provided must be an alias or a published version."
NO_CONFIG = "No Provisioned Concurrency Config found for this function"
PC_OVER_RESERVED = (
    "Requested Provisioned Concurrency should not be greater than the "
    "reservedConcurrentExecution for function"
)


def _minimum(value: int) -> str:
    return (
        "Specified ReservedConcurrentExecutions for function decreases account's "
        f"UnreservedConcurrentExecution below its minimum value of [{value}]."
    )


def _two_versions(sb: Sandbox, name: str = "fn") -> None:
    """``name`` with versions 1 and 2 published."""
    sb.create_function(name, HANDLER_SOURCE, publish=True)
    sb.update_function_code(name, V2)
    sb.publish_version(name)


# -- reserved concurrency ---------------------------------------------------------------
def test_put_get_delete_function_concurrency(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE)
    assert sb.get_function_concurrency("fn").to_aws() == {}  # spec §4: no field when unset
    assert sb.get_function_concurrency("fn").reserved_concurrent_executions is None
    assert "Concurrency" not in sb.get_function("fn").to_aws()
    put = sb.put_function_concurrency("fn", 5)
    assert put.to_aws() == {"ReservedConcurrentExecutions": 5}
    assert sb.get_function_concurrency("fn").to_aws() == {"ReservedConcurrentExecutions": 5}
    assert sb.get_function_concurrency(f"{ARN}:fn").reserved_concurrent_executions == 5
    assert sb.get_function("fn").to_aws()["Concurrency"] == {"ReservedConcurrentExecutions": 5}
    sb.put_function_concurrency("fn", 0)  # 0 is allowed: it throttles everything
    assert sb.get_function_concurrency("fn").to_aws() == {"ReservedConcurrentExecutions": 0}
    assert sb.get_function("fn").to_aws()["Concurrency"] == {"ReservedConcurrentExecutions": 0}
    assert sb.delete_function_concurrency("fn") is None
    assert sb.get_function_concurrency("fn").to_aws() == {}
    assert "Concurrency" not in sb.get_function("fn").to_aws()
    sb.delete_function_concurrency("fn")  # nothing reserved: still fine


@pytest.mark.parametrize("qualified", ["fn:1", "fn:live", "fn:$LATEST", f"{ARN}:fn:live"])
def test_function_concurrency_refuses_qualified_names(sb: Sandbox, qualified: str) -> None:
    sb.create_function("fn", HANDLER_SOURCE, publish=True)
    sb.create_alias("fn", "live", "1")
    for call in (
        lambda: sb.put_function_concurrency(qualified, 1),
        lambda: sb.get_function_concurrency(qualified),
        lambda: sb.delete_function_concurrency(qualified),
    ):
        with pytest.raises(InvalidParameterValueException, match=re.escape(FUNCTIONS_ONLY)) as e:
            call()
        assert e.value.status_code == 400
    assert sb.get_function_concurrency("fn").to_aws() == {}


def test_function_concurrency_of_a_missing_function(sb: Sandbox) -> None:
    for call in (
        lambda: sb.put_function_concurrency("nope", 1),
        lambda: sb.get_function_concurrency("nope"),
        lambda: sb.delete_function_concurrency("nope"),
    ):
        with pytest.raises(
            ResourceNotFoundException, match=re.escape(f"Function not found: {ARN}:nope")
        ):
            call()


def test_negative_reserved_concurrency_is_a_validation_error(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE)
    with pytest.raises(
        ValidationException,
        match=re.escape(
            "1 validation error detected: Value '-1' at 'reservedConcurrentExecutions' failed "
            "to satisfy constraint: Member must have value greater than or equal to 0"
        ),
    ) as e:
        sb.put_function_concurrency("fn", -1)
    assert (e.value.code, e.value.status_code) == ("ValidationException", 400)


def test_unreserved_minimum_of_the_default_quota(sb: Sandbox) -> None:
    sb.create_function("a", HANDLER_SOURCE)
    sb.create_function("b", HANDLER_SOURCE)
    with pytest.raises(InvalidParameterValueException, match=re.escape(_minimum(100))):
        sb.put_function_concurrency("a", 901)
    sb.put_function_concurrency("a", 900)  # exactly 100 left
    sb.put_function_concurrency("a", 900)  # re-putting replaces its own reservation
    with pytest.raises(InvalidParameterValueException, match=re.escape(_minimum(100))):
        sb.put_function_concurrency("b", 1)  # reservations add up across functions
    sb.put_function_concurrency("a", 500)
    sb.put_function_concurrency("b", 400)
    with pytest.raises(InvalidParameterValueException, match=re.escape(_minimum(100))):
        sb.put_function_concurrency("b", 401)
    assert sb.get_function_concurrency("b").reserved_concurrent_executions == 400


def test_unreserved_minimum_scales_with_a_classroom_quota() -> None:
    with Sandbox.ephemeral(concurrency_limit=10) as sb:
        sb.create_function("fn", HANDLER_SOURCE)
        with pytest.raises(InvalidParameterValueException, match=re.escape(_minimum(1))):
            sb.put_function_concurrency("fn", 10)
        assert sb.put_function_concurrency("fn", 9).reserved_concurrent_executions == 9
        settings = sb.get_account_settings().to_aws()
        assert settings["AccountLimit"]["ConcurrentExecutions"] == 10  # type: ignore[index]
        assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 1  # type: ignore[index]


# -- account settings ---------------------------------------------------------------------
def test_get_account_settings(sb: Sandbox) -> None:
    empty = sb.get_account_settings().to_aws()
    assert empty == {
        "AccountLimit": {
            "TotalCodeSize": 80_530_636_800,
            "CodeSizeUnzipped": 262_144_000,
            "CodeSizeZipped": 52_428_800,
            "ConcurrentExecutions": 1000,
            "UnreservedConcurrentExecutions": 1000,
        },
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0},
    }
    sb.create_function("a", HANDLER_SOURCE, publish=True)  # $LATEST and version 1
    sb.update_function_code("a", V2 * 3)  # $LATEST now differs from version 1
    sb.create_function("b", V2)
    sb.put_function_concurrency("a", 300)
    sb.put_function_concurrency("b", 0)
    expected_size = (
        sb.get_function_configuration("a").code_size
        + sb.get_function_configuration("a", "1").code_size
        + sb.get_function_configuration("b").code_size
    )
    assert (
        sb.get_function_configuration("a").code_size
        != sb.get_function_configuration("a", "1").code_size
    )
    settings = sb.get_account_settings().to_aws()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000  # type: ignore[index]
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 700  # type: ignore[index]
    assert settings["AccountLimit"]["TotalCodeSize"] == 80_530_636_800  # type: ignore[index]
    assert settings["AccountUsage"] == {"TotalCodeSize": expected_size, "FunctionCount": 2}
    sb.delete_function_concurrency("a")
    sb.delete_function("b")
    settings = sb.get_account_settings().to_aws()
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 1000  # type: ignore[index]
    assert settings["AccountUsage"]["FunctionCount"] == 1  # type: ignore[index]


# -- provisioned concurrency: where it may be put -------------------------------------------
def test_provisioned_concurrency_is_refused_on_latest(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE, publish=True)
    sb.create_alias("fn", "dev", "$LATEST")
    for qualifier in ("$LATEST", "dev"):  # an alias pointing at $LATEST too
        with pytest.raises(InvalidParameterValueException, match=re.escape(UNPUBLISHED)):
            sb.put_provisioned_concurrency_config("fn", qualifier, 1)
        with pytest.raises(InvalidParameterValueException, match=re.escape(ALIAS_OR_VERSION)):
            sb.get_provisioned_concurrency_config("fn", qualifier)
        with pytest.raises(InvalidParameterValueException, match=re.escape(ALIAS_OR_VERSION)):
            sb.delete_provisioned_concurrency_config("fn", qualifier)
    assert sb.list_provisioned_concurrency_configs("fn").to_aws() == {
        "ProvisionedConcurrencyConfigs": []
    }


def test_provisioned_concurrency_count_must_be_at_least_one(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE, publish=True)
    with pytest.raises(
        ValidationException,
        match=re.escape(
            "1 validation error detected: Value '0' at 'provisionedConcurrentExecutions' failed "
            "to satisfy constraint: Member must have value greater than or equal to 1"
        ),
    ):
        sb.put_provisioned_concurrency_config("fn", "1", 0)


def test_provisioned_concurrency_of_missing_targets(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE, publish=True)
    with pytest.raises(ResourceNotFoundException):
        sb.put_provisioned_concurrency_config("fn", "7", 1)
    with pytest.raises(ResourceNotFoundException):
        sb.put_provisioned_concurrency_config("fn", "nope", 1)
    with pytest.raises(ResourceNotFoundException):
        sb.put_provisioned_concurrency_config("missing", "1", 1)


def test_missing_provisioned_config(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE, publish=True)
    sb.create_alias("fn", "live", "1")
    for qualifier in ("1", "live"):
        with pytest.raises(
            ProvisionedConcurrencyConfigNotFoundException, match=re.escape(NO_CONFIG)
        ) as e:
            sb.get_provisioned_concurrency_config("fn", qualifier)
        assert e.value.status_code == 404
        assert e.value.code == "ProvisionedConcurrencyConfigNotFoundException"
        with pytest.raises(
            ProvisionedConcurrencyConfigNotFoundException, match=re.escape(NO_CONFIG)
        ):
            sb.delete_provisioned_concurrency_config("fn", qualifier)


def test_provisioned_concurrency_is_refused_on_a_weighted_alias(sb: Sandbox) -> None:
    _two_versions(sb)
    sb.create_alias("fn", "canary", "1", routing_config={"AdditionalVersionWeights": {"2": 0.1}})
    with pytest.raises(
        InvalidParameterValueException,
        match=re.escape("Alias with weights can not be used with Provisioned Concurrency"),
    ):
        sb.put_provisioned_concurrency_config("fn", "canary", 1)


def test_weighted_alias_is_refused(sb: Sandbox) -> None:
    """The refusal itself."""
    _two_versions(sb)
    sb.create_alias("fn", "canary", "1", routing_config={"AdditionalVersionWeights": {"2": 0.1}})
    with pytest.raises(InvalidParameterValueException) as e:
        sb.put_provisioned_concurrency_config("fn", "canary", 1)
    assert e.value.status_code == 400
    assert sb.list_provisioned_concurrency_configs("fn").provisioned_concurrency_configs == ()


# -- provisioned concurrency: configs (these start environments) -----------------------------
@pytest.mark.process
def test_put_get_list_delete_provisioned_config(sb: Sandbox) -> None:
    _two_versions(sb)
    sb.create_alias("fn", "live", "2")
    put = sb.put_provisioned_concurrency_config("fn", "live", 1)
    answer = put.to_aws()
    assert "FunctionArn" not in answer
    assert answer["RequestedProvisionedConcurrentExecutions"] == 1
    assert answer["Status"] in ("IN_PROGRESS", "READY")
    sb.put_provisioned_concurrency_config("fn", "1", 1)
    assert sb.wait_for_provisioned_concurrency("fn", "live").status == "READY"
    ready = sb.wait_for_provisioned_concurrency("fn", "1").to_aws()
    assert ready["Status"] == "READY"
    assert ready["AllocatedProvisionedConcurrentExecutions"] == 1
    assert ready["AvailableProvisionedConcurrentExecutions"] == 1
    listed = sb.list_provisioned_concurrency_configs("fn").to_aws()["ProvisionedConcurrencyConfigs"]
    assert sorted(c["FunctionArn"] for c in listed) == [f"{ARN}:fn:1", f"{ARN}:fn:live"]  # type: ignore[index]
    assert all(c["Status"] == "READY" for c in listed)  # type: ignore[index]
    sb.delete_provisioned_concurrency_config("fn", "1")
    with pytest.raises(ProvisionedConcurrencyConfigNotFoundException, match=re.escape(NO_CONFIG)):
        sb.get_provisioned_concurrency_config("fn", "1")
    listed = sb.list_provisioned_concurrency_configs("fn").to_aws()["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"] for c in listed] == [f"{ARN}:fn:live"]  # type: ignore[index]


@pytest.mark.process
def test_one_provisioned_config_per_version(sb: Sandbox) -> None:
    _two_versions(sb)
    sb.create_alias("fn", "one", "1")
    sb.create_alias("fn", "two", "2")
    sb.put_provisioned_concurrency_config("fn", "1", 1)
    with pytest.raises(
        ResourceConflictException,
        match=re.escape(
            "Alias can't be used for Provisioned Concurrency configuration on an already "
            "Provisioned version"
        ),
    ) as e:
        sb.put_provisioned_concurrency_config("fn", "one", 1)
    assert (e.value.code, e.value.status_code) == ("ResourceConflictException", 409)
    sb.put_provisioned_concurrency_config("fn", "two", 1)
    with pytest.raises(
        ResourceConflictException,
        match=re.escape("Version is pointed by a Provisioned Concurrency alias"),
    ) as e:
        sb.put_provisioned_concurrency_config("fn", "2", 1)
    assert e.value.status_code == 409
    quals = {
        c.function_arn
        for c in sb.list_provisioned_concurrency_configs("fn").provisioned_concurrency_configs
    }
    assert quals == {f"{ARN}:fn:1", f"{ARN}:fn:two"}


@pytest.mark.process
def test_provisioned_concurrency_against_reserved(sb: Sandbox) -> None:
    _two_versions(sb)
    sb.create_alias("fn", "live", "2")
    sb.put_function_concurrency("fn", 2)
    with pytest.raises(InvalidParameterValueException, match=re.escape(PC_OVER_RESERVED)):
        sb.put_provisioned_concurrency_config("fn", "1", 3)
    sb.put_provisioned_concurrency_config("fn", "1", 1)
    with pytest.raises(InvalidParameterValueException, match=re.escape(PC_OVER_RESERVED)):
        sb.put_provisioned_concurrency_config("fn", "live", 2)  # 1 + 2 > 2: the sum counts
    sb.put_provisioned_concurrency_config("fn", "live", 1)  # sum == reserved is allowed
    sb.put_provisioned_concurrency_config("fn", "live", 1)  # re-putting replaces its own
    # lowering the reservation below the provisioned total (AWS's spacing, leading space)
    message = (
        " ReservedConcurrentExecutions  1 should not be lower than function's total "
        "provisioned concurrency [2]."
    )
    with pytest.raises(InvalidParameterValueException, match=re.escape(message)) as e:
        sb.put_function_concurrency("fn", 1)
    assert e.value.message == message
    assert sb.get_function_concurrency("fn").reserved_concurrent_executions == 2
    sb.put_function_concurrency("fn", 5)
    sb.wait_for_provisioned_concurrency("fn", "1")
    sb.wait_for_provisioned_concurrency("fn", "live")


@pytest.mark.process
def test_provisioned_concurrency_must_fit_in_the_unreserved_pool() -> None:
    with Sandbox.ephemeral(concurrency_limit=10) as sb:
        sb.create_function("fn", HANDLER_SOURCE, publish=True)
        with pytest.raises(InvalidParameterValueException):
            sb.put_provisioned_concurrency_config("fn", "1", 10)  # 1 must stay unreserved
        assert sb.list_provisioned_concurrency_configs("fn").provisioned_concurrency_configs == ()


@pytest.mark.process
def test_reopened_store_keeps_reserved_and_provisioned(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Sandbox(home) as first:
        first.create_function("fn", HANDLER_SOURCE, publish=True)
        first.create_alias("fn", "live", "1")
        first.put_function_concurrency("fn", 3)
        first.put_provisioned_concurrency_config("fn", "live", 2)
        assert first.wait_for_provisioned_concurrency("fn", "live").status == "READY"
    with Sandbox(home) as again:
        assert again.get_function_concurrency("fn").to_aws() == {"ReservedConcurrentExecutions": 3}
        config = again.get_provisioned_concurrency_config("fn", "live")
        assert config.requested_provisioned_concurrent_executions == 2
        listed = again.list_provisioned_concurrency_configs("fn").provisioned_concurrency_configs
        assert [c.function_arn for c in listed] == [f"{ARN}:fn:live"]
        settings = again.get_account_settings().to_aws()
        assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 997  # type: ignore[index]
        assert again.invoke("fn").status_code == 200  # the runtime starts
        ready = again.wait_for_provisioned_concurrency("fn", "live", timeout=20)
        assert (ready.status, ready.allocated_provisioned_concurrent_executions) == ("READY", 2)
        provisioned = [
            e for e in again.environments() if e["init_type"] == "provisioned-concurrency"
        ]
        assert len(provisioned) == 2 and all(e["version"] == "1" for e in provisioned)
        served = again.invoke("fn:live")
        assert again.explain(served.request_id).outcome == "provisioned"


@pytest.mark.process
def test_deleting_an_alias_removes_its_provisioned_config(sb: Sandbox) -> None:
    sb.create_function("fn", "def lambda_handler(e, c):\n    return 1\n", publish=True)
    sb.create_alias("fn", "live", "1")
    sb.put_provisioned_concurrency_config("fn", "live", 1)
    assert sb.wait_for_provisioned_concurrency("fn", "live").status == "READY"
    sb.delete_alias("fn", "live")
    assert sb.list_provisioned_concurrency_configs("fn").provisioned_concurrency_configs == ()
    assert [e for e in sb.environments() if e["init_type"] == "provisioned-concurrency"] == []
