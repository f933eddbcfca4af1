"""Qualifier resolution: every FunctionName spelling and each of its AWS errors (spec §3)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.core.arns import (
    FunctionRef,
    QualifierKind,
    function_arn,
    parse_function_name,
    qualifier_kind,
    validate_alias_name,
    validate_qualifier,
)
from sandbox.errors import (
    InvalidParameterValueException,
    ResourceNotFoundException,
    ValidationException,
)

R, A = "us-east-1", "123456789012"
ARN = f"arn:aws:lambda:{R}:{A}:function"


@pytest.mark.parametrize(
    ("written", "qualifier", "expected"),
    [
        ("my-fn", None, FunctionRef(A, R, "my-fn")),
        ("my-fn", "prod", FunctionRef(A, R, "my-fn", "prod")),
        ("my-fn:prod", None, FunctionRef(A, R, "my-fn", "prod")),
        ("my-fn:3", "3", FunctionRef(A, R, "my-fn", "3")),
        ("my-fn:$LATEST", None, FunctionRef(A, R, "my-fn", "$LATEST")),
        ("my_fn-2", None, FunctionRef(A, R, "my_fn-2")),
        (f"{A}:function:my-fn", None, FunctionRef(A, R, "my-fn")),
        (f"{A}:function:my-fn:7", None, FunctionRef(A, R, "my-fn", "7")),
        ("210987654321:function:my-fn", None, FunctionRef("210987654321", R, "my-fn")),
        (f"{ARN}:my-fn", None, FunctionRef(A, R, "my-fn")),
        (f"{ARN}:my-fn:live", None, FunctionRef(A, R, "my-fn", "live")),
        (f"{ARN}:my-fn", "live", FunctionRef(A, R, "my-fn", "live")),
        (f"arn:aws:lambda:{R}:210987654321:function:x", None, FunctionRef("210987654321", R, "x")),
    ],
)
def test_every_spelling_resolves(
    written: str, qualifier: str | None, expected: FunctionRef
) -> None:
    assert parse_function_name(written, region=R, account_id=A, qualifier=qualifier) == expected


@pytest.mark.parametrize(
    ("written", "qualifier", "error", "message"),
    [
        (
            "my-fn:prod",
            "live",
            InvalidParameterValueException,
            "The derived qualifier from the function name does not match the specified qualifier.",
        ),
        (
            f"{ARN}:my-fn:1",
            "2",
            InvalidParameterValueException,
            "The derived qualifier from the function name does not match the specified qualifier.",
        ),
        (
            "arn:aws:lambda:us-west-1:123456789012:function:my-fn",
            None,
            ResourceNotFoundException,
            "Functions from 'us-west-1' are not reachable in this region ('us-east-1')",
        ),
        (
            "f" * 65,
            None,
            ResourceNotFoundException,
            f"Function not found: {ARN}:{'f' * 65}",
        ),
        (
            "my fn",
            None,
            ValidationException,
            "1 validation error detected: Value 'my fn' at 'functionName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: ",
        ),
        (
            "my-fn:a:b",
            None,
            ValidationException,
            "Value 'my-fn:a:b' at 'functionName' failed to satisfy constraint",
        ),
        (
            "",
            None,
            ValidationException,
            "Value '' at 'functionName' failed to satisfy constraint: Member must have length "
            "greater than or equal to 1",
        ),
        (
            "my-fn",
            "bad qualifier",
            ValidationException,
            "Value 'bad qualifier' at 'qualifier' failed to satisfy constraint: Member must "
            "satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)",
        ),
        (
            "my-fn",
            "q" * 129,
            ValidationException,
            "at 'qualifier' failed to satisfy constraint: Member must have length less than or "
            "equal to 128",
        ),
    ],
)
def test_each_mistake_has_its_aws_error(
    written: str, qualifier: str | None, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        parse_function_name(written, region=R, account_id=A, qualifier=qualifier)


@pytest.mark.parametrize(
    ("qualifier", "kind"),
    [
        ("$LATEST", QualifierKind.LATEST),
        ("$latest", QualifierKind.ALIAS),  # case-sensitive: $latest is looked up as an alias (404)
        ("1", QualifierKind.VERSION),
        ("42", QualifierKind.VERSION),
        ("live", QualifierKind.ALIAS),
        ("v1", QualifierKind.ALIAS),
    ],
)
def test_qualifier_kind(qualifier: str, kind: QualifierKind) -> None:
    assert qualifier_kind(qualifier) is kind


def test_alias_names() -> None:
    validate_alias_name("live")
    validate_alias_name("a" * 128)
    with pytest.raises(ValidationException, match=r"Value '123' at 'name'.*\(\?!\^\[0-9\]\+\$\)"):
        validate_alias_name("123")
    with pytest.raises(
        ValidationException, match="Member must have length less than or equal to 128"
    ):
        validate_alias_name("a" * 129)
    validate_qualifier("$LATEST")


names = st.from_regex(r"[a-zA-Z0-9_-]{1,64}", fullmatch=True)
qualifiers = st.one_of(
    st.none(),
    st.just("$LATEST"),
    st.integers(1, 10**6).map(str),
    st.from_regex(r"[a-zA-Z_-][a-zA-Z0-9_-]{0,40}", fullmatch=True),
)
accounts = st.from_regex(r"[0-9]{12}", fullmatch=True)


@given(names, qualifiers, accounts)
def test_arn_round_trip(name: str, qualifier: str | None, account: str) -> None:
    arn = function_arn(R, account, name, qualifier)
    ref = parse_function_name(arn, region=R, account_id=A)
    assert ref == FunctionRef(account, R, name, qualifier)
    assert ref.arn == arn
    assert parse_function_name(
        ref.arn, region=R, account_id=account
    ).unqualified_arn == function_arn(R, account, name)


@given(names, qualifiers)
def test_short_and_long_spellings_agree(name: str, qualifier: str | None) -> None:
    short = name if qualifier is None else f"{name}:{qualifier}"
    partial = f"{A}:function:{short}"
    full = f"{ARN}:{short}"
    refs = {parse_function_name(s, region=R, account_id=A) for s in (short, partial, full)}
    assert len(refs) == 1
