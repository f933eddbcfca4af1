"""ARNs, function names and qualifiers: parsing, formatting and resolution rules.

Lambda accepts a function in four spellings (name, ``name:qualifier``, partial ARN
``123456789012:function:name``, full ARN) plus an optional separate ``Qualifier``; each
mistake has its own AWS error (spec §3, §5). These are pure functions so they can be tested
table by table and round-tripped by property tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sandbox.errors import (
    InvalidParameterValueException,
    ResourceNotFoundException,
    ValidationException,
    validation_error,
)

__all__ = [
    "FUNCTION_NAME_PATTERN",
    "LATEST",
    "NAMESPACED_FUNCTION_NAME_PATTERN",
    "FunctionRef",
    "QualifierKind",
    "alias_arn",
    "function_arn",
    "layer_arn",
    "layer_version_arn",
    "parse_function_name",
    "qualifier_kind",
    "validate_alias_name",
    "validate_qualifier",
]

LATEST = "$LATEST"

# botocore Lambda model, shapes FunctionName and NamespacedFunctionName (spec §3).
FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)
NAMESPACED_FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
_QUALIFIER_PATTERN = r"(|[a-zA-Z0-9$_-]+)"
_ALIAS_PATTERN = r"(?!^[0-9]+$)([a-zA-Z0-9-_]+)"

_FULL_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d):"
    r"(?P<account>\d{12}):function:(?P<name>[a-zA-Z0-9-_.]+)(:(?P<qualifier>[a-zA-Z0-9$_.-]+))?$"
)
_PARTIAL_ARN = re.compile(
    r"^((?P<region>[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d):)?(?P<account>\d{12}):function:"
    r"(?P<name>[a-zA-Z0-9-_.]+)(:(?P<qualifier>[a-zA-Z0-9$_.-]+))?$"
)
_PLAIN = re.compile(r"^(?P<name>[a-zA-Z0-9-_.]+)(:(?P<qualifier>[a-zA-Z0-9$_.-]+))?$")
_MAX_NAME = 64  # spec §10: function name <= 64 characters


class QualifierKind(StrEnum):
    """What a qualifier names: the unpublished version, a numbered version, or an alias."""

    LATEST = "latest"
    VERSION = "version"
    ALIAS = "alias"


@dataclass(frozen=True, slots=True)
class FunctionRef:
    """A parsed function reference: where it lives, its name, and the qualifier if any.

    ``written`` keeps what the caller wrote, so that ``invoked_function_arn`` can be
    exactly the caller's spelling (spec §1.3).
    """

    account_id: str
    region: str
    name: str
    qualifier: str | None = None

    @property
    def unqualified_arn(self) -> str:
        return function_arn(self.region, self.account_id, self.name)

    @property
    def arn(self) -> str:
        """The ARN with the qualifier, when there is one."""
        return function_arn(self.region, self.account_id, self.name, self.qualifier)


def function_arn(region: str, account_id: str, name: str, qualifier: str | None = None) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`` (spec §5)."""
    arn = f"arn:aws:lambda:{region}:{account_id}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def alias_arn(region: str, account_id: str, name: str, alias: str) -> str:
    return function_arn(region, account_id, name, alias)


def layer_arn(region: str, account_id: str, layer_name: str) -> str:
    """``arn:aws:lambda:<region>:<account>:layer:<name>`` (spec §6)."""
    return f"arn:aws:lambda:{region}:{account_id}:layer:{layer_name}"


def layer_version_arn(region: str, account_id: str, layer_name: str, version: int) -> str:
    return f"{layer_arn(region, account_id, layer_name)}:{version}"


def qualifier_kind(qualifier: str) -> QualifierKind:
    """Classify a qualifier. ``$LATEST`` is case-sensitive: ``$latest`` is an alias name
    that will not be found (spec §3)."""
    if qualifier == LATEST:
        return QualifierKind.LATEST
    if qualifier.isdigit():
        return QualifierKind.VERSION
    return QualifierKind.ALIAS


def validate_qualifier(qualifier: str) -> None:
    """Check a ``Qualifier`` parameter against the API model (1-128, ``[a-zA-Z0-9$_-]``)."""
    if len(qualifier) > 128:
        raise validation_error(
            qualifier, "qualifier", "Member must have length less than or equal to 128"
        )
    if not re.fullmatch(_QUALIFIER_PATTERN, qualifier):
        raise validation_error(
            qualifier,
            "qualifier",
            f"Member must satisfy regular expression pattern: {_QUALIFIER_PATTERN}",
        )


def validate_alias_name(name: str, member: str = "name") -> None:
    """An alias name is 1-128 characters of ``[a-zA-Z0-9-_]`` and not all digits (spec §5)."""
    if len(name) > 128:
        raise validation_error(name, member, "Member must have length less than or equal to 128")
    if not name or not re.fullmatch(_ALIAS_PATTERN, name):
        raise validation_error(
            name, member, f"Member must satisfy regular expression pattern: {_ALIAS_PATTERN}"
        )


def _pattern_error(value: str, pattern: str) -> ValidationException:
    return validation_error(
        value, "functionName", f"Member must satisfy regular expression pattern: {pattern}"
    )


def parse_function_name(
    function_name: str,
    *,
    region: str,
    account_id: str,
    qualifier: str | None = None,
    namespaced: bool = True,
    long_names_are_missing: bool = True,
) -> FunctionRef:
    """Resolve every FunctionName spelling to a :class:`FunctionRef` (spec §3).

    Args:
        function_name: ``my-fn``, ``my-fn:prod``, ``123456789012:function:my-fn[:q]`` or a
            full ARN.
        region: the sandbox's region; a full ARN from another region is refused.
        account_id: the caller's account, used when the spelling has none.
        qualifier: a separate ``Qualifier`` parameter; it must agree with one derived from
            the name.
        namespaced: operations modelled with ``NamespacedFunctionName`` (GetFunction,
            Invoke, DeleteFunction, ListVersionsByFunction) report that pattern.

    Raises:
        ValidationException: a malformed name or qualifier.
        InvalidParameterValueException: the name's qualifier contradicts ``qualifier``.
        ResourceNotFoundException: a name longer than 64 characters (unless
            ``long_names_are_missing`` is False: CreateFunction reports its own error), or
            another region.
    """
    pattern = NAMESPACED_FUNCTION_NAME_PATTERN if namespaced else FUNCTION_NAME_PATTERN
    limit = 256 if namespaced else 140
    if not function_name:
        raise validation_error(
            function_name, "functionName", "Member must have length greater than or equal to 1"
        )
    if len(function_name) > limit:
        raise validation_error(
            function_name, "functionName", f"Member must have length less than or equal to {limit}"
        )
    if qualifier is not None:
        validate_qualifier(qualifier)

    ref_region, ref_account = region, account_id
    match = _FULL_ARN.match(function_name)
    if match:
        ref_region, ref_account = match["region"], match["account"]
    else:
        match = _PARTIAL_ARN.match(function_name) or _PLAIN.match(function_name)
        if match and "account" in match.groupdict():
            ref_account = match["account"]
            ref_region = match["region"] or region
    if not match or ("." in match["name"] and not namespaced):
        raise _pattern_error(function_name, pattern)

    name, derived = match["name"], match["qualifier"]
    if derived is not None and qualifier is not None and derived != qualifier:
        # spec §3: a name with a qualifier and a different Qualifier parameter.
        raise InvalidParameterValueException(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    if ref_region != region:
        # spec §3: ARNs from another region are not reachable.
        raise ResourceNotFoundException(
            f"Functions from '{ref_region}' are not reachable in this region ('{region}')"
        )
    ref = FunctionRef(ref_account, ref_region, name, derived if derived is not None else qualifier)
    if len(name) > _MAX_NAME and long_names_are_missing:
        # spec §3: an over-long name is "not found", not a validation error.
        raise ResourceNotFoundException(f"Function not found: {ref.arn}")
    return ref
