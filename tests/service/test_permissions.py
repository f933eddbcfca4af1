"""Function resource-based policies: AddPermission, GetPolicy, RemovePermission with AWS's
shapes and messages, per qualifier, and the check push triggers make (spec §8.1)."""

from __future__ import annotations

import json

import pytest

from sandbox import Sandbox
from sandbox.errors import (
    InvalidParameterValueException,
    PolicyLengthExceededException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from sandbox.service.permissions import arn_like

ACCOUNT = "123456789012"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn"
SOURCE = "def lambda_handler(event, context):\n    return 1\n"
INVOKE = "lambda:InvokeFunction"


@pytest.fixture
def fn(sb: Sandbox) -> str:
    sb.create_function("fn", SOURCE)
    return "fn"


def statements(sb: Sandbox, qualifier: str | None = None) -> list[dict[str, object]]:
    document = json.loads(sb.get_policy("fn", qualifier)["Policy"])
    assert (document["Version"], document["Id"]) == ("2012-10-17", "default")
    return list(document["Statement"])


def test_add_permission_returns_the_statement_in_aws_shape(sb: Sandbox, fn: str) -> None:
    answer = sb.add_permission(
        fn,
        "s3invoke",
        INVOKE,
        "s3.amazonaws.com",
        source_arn="arn:aws:s3:::photos",
        source_account=ACCOUNT,
    )
    assert set(answer) == {"Statement"}
    # the exact text Lambda returns (AddPermission reference example), members in its order
    assert answer["Statement"] == (
        '{"Sid":"s3invoke","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},'
        f'"Action":"lambda:InvokeFunction","Resource":"{FN}",'
        f'"Condition":{{"StringEquals":{{"AWS:SourceAccount":"{ACCOUNT}"}},'
        '"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::photos"}}}'
    )
    policy = sb.get_policy(fn)
    assert set(policy) == {"Policy", "RevisionId"}
    assert policy["Policy"] == (
        '{"Version":"2012-10-17","Id":"default","Statement":[' + answer["Statement"] + "]}"
    )


@pytest.mark.parametrize(
    ("principal", "shown"),
    [
        ("sns.amazonaws.com", {"Service": "sns.amazonaws.com"}),
        ("210987654321", {"AWS": "arn:aws:iam::210987654321:root"}),
        ("arn:aws:iam::210987654321:role/app", {"AWS": "arn:aws:iam::210987654321:role/app"}),
        ("*", "*"),
    ],
)
def test_principals(sb: Sandbox, fn: str, principal: str, shown: object) -> None:
    statement = json.loads(sb.add_permission(fn, "p", INVOKE, principal)["Statement"])
    assert statement["Principal"] == shown
    assert "Condition" not in statement


def test_other_conditions(sb: Sandbox, fn: str) -> None:
    statement = json.loads(
        sb.add_permission(
            fn,
            "url",
            "lambda:InvokeFunctionUrl",
            "*",
            principal_org_id="o-a1b2c3d4e5",
            function_url_auth_type="NONE",
        )["Statement"]
    )
    assert statement["Action"] == "lambda:InvokeFunctionUrl"
    assert statement["Condition"] == {
        "StringEquals": {
            "aws:PrincipalOrgID": "o-a1b2c3d4e5",
            "lambda:FunctionUrlAuthType": "NONE",
        }
    }
    token = json.loads(
        sb.add_permission(
            fn,
            "alexa",
            INVOKE,
            "alexa-appkit.amazon.com.amazonaws.com",
            event_source_token="amzn1.ask.skill.1",
        )["Statement"]
    )
    assert token["Condition"] == {"StringEquals": {"lambda:EventSourceToken": "amzn1.ask.skill.1"}}


def test_statements_accumulate_and_revision_changes(sb: Sandbox, fn: str) -> None:
    sb.add_permission(fn, "one", INVOKE, "s3.amazonaws.com")
    first = sb.get_policy(fn)["RevisionId"]
    sb.add_permission(fn, "two", "lambda:*", ACCOUNT)
    second = sb.get_policy(fn)["RevisionId"]
    assert first != second
    assert [s["Sid"] for s in statements(sb)] == ["one", "two"]


def test_duplicate_statement_id(sb: Sandbox, fn: str) -> None:
    sb.add_permission(fn, "dup", INVOKE, "s3.amazonaws.com")
    with pytest.raises(ResourceConflictException) as info:
        sb.add_permission(fn, "dup", INVOKE, "sns.amazonaws.com")
    assert info.value.message == (
        "The statement id (dup) provided already exists. Please provide a new statement id, "
        "or remove the existing statement."
    )
    assert info.value.status_code == 409
    assert [s["Principal"] for s in statements(sb)] == [{"Service": "s3.amazonaws.com"}]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"statement_id": "has space"},
            "1 validation error detected: Value 'has space' at 'statementId' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)",
        ),
        (
            {"statement_id": "x" * 101},
            f"1 validation error detected: Value '{'x' * 101}' at 'statementId' failed to "
            "satisfy constraint: Member must have length less than or equal to 100",
        ),
        (
            {"statement_id": ""},
            "1 validation error detected: Value '' at 'statementId' failed to satisfy "
            "constraint: Member must have length greater than or equal to 1",
        ),
        (
            {"action": "s3:GetObject"},
            "1 validation error detected: Value 's3:GetObject' at 'action' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "(lambda:[*]|lambda:[a-zA-Z]+|[*])",
        ),
        (
            {"source_account": "1234"},
            "1 validation error detected: Value '1234' at 'sourceAccount' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: \\d{12}",
        ),
        (
            {"source_arn": "not-an-arn"},
            "1 validation error detected: Value 'not-an-arn' at 'sourceArn' failed to satisfy",
        ),
        (
            {"principal_org_id": "org"},
            "1 validation error detected: Value 'org' at 'principalOrgID' failed to satisfy",
        ),
        (
            {"function_url_auth_type": "OPEN"},
            "1 validation error detected: Value 'OPEN' at 'functionUrlAuthType' failed to "
            "satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]",
        ),
    ],
)
def test_api_model_validation(sb: Sandbox, fn: str, kwargs: dict[str, str], message: str) -> None:
    call: dict[str, str] = {
        "statement_id": "ok",
        "action": INVOKE,
        "principal": "s3.amazonaws.com",
        **kwargs,
    }
    with pytest.raises(ValidationException) as info:
        sb.add_permission(fn, **call)  # type: ignore[arg-type]
    assert info.value.message.startswith(message)
    with pytest.raises(ResourceNotFoundException):
        sb.get_policy(fn)  # nothing was written


def test_invalid_principal(sb: Sandbox, fn: str) -> None:
    with pytest.raises(
        InvalidParameterValueException,
        match=(r"^The provided principal was invalid. Please check the principal and try again.$"),
    ):
        sb.add_permission(fn, "p", INVOKE, "my-friend")


def test_latest_qualifier_is_refused(sb: Sandbox, fn: str) -> None:
    message = r"^We currently do not support adding policies for \$LATEST.$"
    with pytest.raises(InvalidParameterValueException, match=message):
        sb.add_permission(fn, "p", INVOKE, "s3.amazonaws.com", qualifier="$LATEST")
    with pytest.raises(InvalidParameterValueException, match=message):
        sb.add_permission(f"{fn}:$LATEST", "p", INVOKE, "s3.amazonaws.com")


def test_missing_function_version_and_alias(sb: Sandbox, fn: str) -> None:
    with pytest.raises(ResourceNotFoundException, match=f"^Function not found: {FN}x$"):
        sb.add_permission("fnx", "p", INVOKE, "s3.amazonaws.com")
    with pytest.raises(ResourceNotFoundException, match=f"^Function not found: {FN}:7$"):
        sb.add_permission(fn, "p", INVOKE, "s3.amazonaws.com", qualifier="7")
    with pytest.raises(ResourceNotFoundException, match=f"^Function not found: {FN}:prod$"):
        sb.get_policy(fn, "prod")
    with pytest.raises(ResourceNotFoundException, match=f"^Function not found: {FN}x$"):
        sb.remove_permission("fnx", "p")


def test_policies_are_per_qualifier(sb: Sandbox, fn: str) -> None:
    sb.publish_version(fn)
    sb.create_alias(fn, "prod", "1")
    alias = json.loads(
        sb.add_permission(f"{fn}:prod", "a", INVOKE, "sns.amazonaws.com")["Statement"]
    )
    assert alias["Resource"] == f"{FN}:prod"
    version = json.loads(
        sb.add_permission(fn, "v", INVOKE, "sns.amazonaws.com", qualifier="1")["Statement"]
    )
    assert version["Resource"] == f"{FN}:1"
    with pytest.raises(
        ResourceNotFoundException, match=r"^No policy is associated with the given resource\.$"
    ):
        sb.get_policy(fn)
    with pytest.raises(ResourceNotFoundException, match=r"^No policy is associated"):
        sb.get_policy(fn, "$LATEST")  # $LATEST runs under the function's own policy
    assert [s["Sid"] for s in statements(sb, "prod")] == ["a"]
    assert [s["Sid"] for s in statements(sb, "1")] == ["v"]


def test_remove_permission(sb: Sandbox, fn: str) -> None:
    with pytest.raises(
        ResourceNotFoundException, match=r"^No policy is associated with the given resource\.$"
    ):
        sb.remove_permission(fn, "nope")
    sb.add_permission(fn, "one", INVOKE, "s3.amazonaws.com")
    sb.add_permission(fn, "two", INVOKE, "sns.amazonaws.com")
    with pytest.raises(
        ResourceNotFoundException, match=r"^Statement three is not found in resource policy\.$"
    ):
        sb.remove_permission(fn, "three")
    sb.remove_permission(fn, "one")
    assert [s["Sid"] for s in statements(sb)] == ["two"]
    sb.remove_permission(fn, "two")
    with pytest.raises(ResourceNotFoundException, match=r"^No policy is associated"):
        sb.get_policy(fn)


def test_revision_id_preconditions(sb: Sandbox, fn: str) -> None:
    sb.add_permission(fn, "one", INVOKE, "s3.amazonaws.com")
    revision = sb.get_policy(fn)["RevisionId"]
    message = (
        "^The Revision Id provided does not match the latest Revision Id. Call the GetPolicy "
        "API to retrieve the latest Revision Id$"
    )
    with pytest.raises(PreconditionFailedException, match=message):
        sb.add_permission(fn, "two", INVOKE, "s3.amazonaws.com", revision_id="stale")
    with pytest.raises(PreconditionFailedException, match=message):
        sb.remove_permission(fn, "one", revision_id="stale")
    sb.add_permission(fn, "two", INVOKE, "s3.amazonaws.com", revision_id=revision)
    sb.remove_permission(fn, "one", revision_id=sb.get_policy(fn)["RevisionId"])
    assert [s["Sid"] for s in statements(sb)] == ["two"]


def test_policy_size_limit(sb: Sandbox, fn: str) -> None:
    arn = "arn:aws:s3:::" + "b" * 60
    count = 0
    refused: PolicyLengthExceededException | None = None
    for count in range(200):  # until the policy is full
        try:
            sb.add_permission(fn, f"statement-{count}", INVOKE, "s3.amazonaws.com", source_arn=arn)
        except PolicyLengthExceededException as exc:
            refused = exc
            break
    assert refused is not None
    info = pytest.ExceptionInfo.from_exception(refused)
    assert info.value.message.startswith("The final policy size (")
    assert info.value.message.endswith(") is bigger than the limit (20480).")
    kept = sb.get_policy(fn)["Policy"]
    assert len(kept) <= 20_480
    assert len(json.loads(kept)["Statement"]) == count  # the refused one was not written


def test_policies_go_with_function_version_and_alias(sb: Sandbox, fn: str) -> None:
    sb.publish_version(fn)
    sb.publish_version(fn, description="second")  # unchanged code: still version 1
    sb.update_function_configuration(fn, description="changed")
    sb.publish_version(fn)
    sb.create_alias(fn, "prod", "1")
    sb.add_permission(fn, "f", INVOKE, "s3.amazonaws.com")
    sb.add_permission(fn, "a", INVOKE, "s3.amazonaws.com", qualifier="prod")
    sb.add_permission(fn, "v", INVOKE, "s3.amazonaws.com", qualifier="2")
    sb.update_alias(fn, "prod", description="moved on")  # an update keeps the policy
    assert [s["Sid"] for s in statements(sb, "prod")] == ["a"]
    sb.delete_alias(fn, "prod")
    sb.create_alias(fn, "prod", "1")
    with pytest.raises(ResourceNotFoundException, match=r"^No policy is associated"):
        sb.get_policy(fn, "prod")  # a new alias of the same name starts without one
    sb.delete_function(fn, "2")
    assert sb.get_policy(fn)["Policy"]  # the function's own stays
    sb.delete_function(fn)
    sb.create_function("fn", SOURCE)
    with pytest.raises(ResourceNotFoundException, match=r"^No policy is associated"):
        sb.get_policy(fn)
    (count,) = sb._shared.db.query("SELECT count(*) FROM function_policies")[0]
    assert count == 0


# the check push triggers make -------------------------------------------------------------
def test_allowed_follows_principal_source_and_account(sb: Sandbox, fn: str) -> None:
    check = sb._permissions.allowed
    assert not check(FN, "s3.amazonaws.com", "arn:aws:s3:::photos", ACCOUNT)
    sb.add_permission(
        fn,
        "s3",
        INVOKE,
        "s3.amazonaws.com",
        source_arn="arn:aws:s3:::photos-*",
        source_account=ACCOUNT,
    )
    assert check(FN, "s3.amazonaws.com", "arn:aws:s3:::photos-raw", ACCOUNT)
    assert check(f"{FN}:$LATEST", "s3.amazonaws.com", "arn:aws:s3:::photos-raw", ACCOUNT)
    assert not check(FN, "s3.amazonaws.com", "arn:aws:s3:::videos", ACCOUNT)
    assert not check(FN, "s3.amazonaws.com", "arn:aws:s3:::photos-raw", "210987654321")
    assert not check(FN, "s3.amazonaws.com", None, ACCOUNT)
    assert not check(FN, "sns.amazonaws.com", "arn:aws:s3:::photos-raw", ACCOUNT)
    reason = sb._permissions.denial(FN, "sns.amazonaws.com", "arn:aws:sns:us-east-1:1:t", None)
    assert reason is not None and "does not allow sns.amazonaws.com" in reason


def test_allowed_needs_an_invoke_action_and_no_foreign_condition(sb: Sandbox, fn: str) -> None:
    check = sb._permissions.allowed
    sb.add_permission(fn, "url", "lambda:InvokeFunctionUrl", "*")
    sb.add_permission(fn, "org", INVOKE, "*", principal_org_id="o-a1b2c3d4e5")
    assert not check(FN, "events.amazonaws.com", "arn:aws:events:us-east-1:1:rule/r", ACCOUNT)
    sb.add_permission(fn, "any", "lambda:*", "*")
    assert check(FN, "events.amazonaws.com", "arn:aws:events:us-east-1:1:rule/r", ACCOUNT)


def test_allowed_uses_the_invoked_qualifiers_policy(sb: Sandbox, fn: str) -> None:
    sb.publish_version(fn)
    sb.create_alias(fn, "prod", "1")
    sb.add_permission(fn, "a", INVOKE, "sns.amazonaws.com", qualifier="prod")
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:t"
    assert sb._permissions.allowed(f"{FN}:prod", "sns.amazonaws.com", topic, ACCOUNT)
    assert not sb._permissions.allowed(FN, "sns.amazonaws.com", topic, ACCOUNT)
    assert not sb._permissions.allowed(f"{FN}:1", "sns.amazonaws.com", topic, ACCOUNT)
    assert not sb._permissions.allowed(f"{FN}x", "sns.amazonaws.com", topic, ACCOUNT)
    with pytest.raises(ResourceNotFoundException, match=f"^Function not found: {FN}x$"):
        sb._permissions.denial(f"{FN}x", "sns.amazonaws.com", topic, ACCOUNT)


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        ("arn:aws:s3:::photos", "arn:aws:s3:::photos", True),
        ("arn:aws:s3:::photos", "arn:aws:s3:::Photos", False),
        ("arn:aws:s3:::*", "arn:aws:s3:::anything", True),
        ("arn:aws:s3:::photo?", "arn:aws:s3:::photos", True),
        ("arn:aws:s3:::photo?", "arn:aws:s3:::photo", False),
        (
            "arn:aws:events:*:123456789012:rule/*",
            "arn:aws:events:eu-west-1:123456789012:rule/r",
            True,
        ),
        (
            "arn:aws:events:*:123456789012:rule/*",
            "arn:aws:events:eu-west-1:210987654321:rule/r",
            False,
        ),
        (
            "arn:aws:sns:us-east-1:123456789012:t:*",
            "arn:aws:sns:us-east-1:123456789012:t:sub",
            True,
        ),
        ("arn:aws:sns:*", "arn:aws:sns:us-east-1:123456789012:t", False),
    ],
)
def test_arn_like(pattern: str, arn: str, expected: bool) -> None:
    assert arn_like(pattern, arn) is expected
