"""Function resource-based policies: AddPermission, GetPolicy, RemovePermission, and the
check every push trigger makes before it invokes.

Why it exists: on AWS an S3 bucket, an SNS topic or an EventBridge rule may invoke a
function only when the function's policy allows that service, usually only from that one
source ARN and account (spec §8.1). Forgetting ``add_permission`` is the classic reason a
trigger "does nothing", so the sandbox keeps the policy as AWS does and every push trigger
asks :meth:`PermissionService.allowed` first.

A policy belongs to one qualifier: the function itself (which is what ``$LATEST`` and the
unqualified ARN are invoked under), a version, or an alias. It goes with the function, the
version or the alias. Statements have AWS's shape; ``Statement`` and ``Policy`` are JSON
text, as Lambda returns them.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.core.arns import (
    LATEST,
    FunctionRef,
    QualifierKind,
    parse_function_name,
    qualifier_kind,
)
from sandbox.errors import (
    InvalidParameterValueException,
    LambdaError,
    PolicyLengthExceededException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
    validation_error,
)
from sandbox.store import trigger_rows as rows
from sandbox.store.db import Database
from sandbox.store.functions import FunctionRows

__all__ = ["INVOKE_ACTIONS", "PermissionService", "arn_like"]

# botocore Lambda model, AddPermission / RemovePermission members
_STATEMENT_ID = re.compile(r"([a-zA-Z0-9-_]+)")
_REMOVE_STATEMENT_ID = re.compile(r"([a-zA-Z0-9-_.]+)")
_ACTION = re.compile(r"(lambda:[*]|lambda:[a-zA-Z]+|[*])")
_PRINCIPAL = re.compile(r"[^\s]+")
_SOURCE_ARN = re.compile(
    r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)"
)
_SOURCE_ACCOUNT = re.compile(r"\d{12}")
_EVENT_SOURCE_TOKEN = re.compile(r"[a-zA-Z0-9._\-]+")
_PRINCIPAL_ORG_ID = re.compile(r"o-[a-z0-9]{10,32}")
_AUTH_TYPES = ("NONE", "AWS_IAM")
_SERVICE_PRINCIPAL = re.compile(r"[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?")
_IAM_ARN = re.compile(r"arn:aws[a-zA-Z-]*:iam::\d{12}:.+")
_POLICY_LIMIT = 20_480  # spec §10: function resource policy 20 KB

INVOKE_ACTIONS = frozenset({"lambda:InvokeFunction", "lambda:*", "*"})
"""The statement actions that let a push source invoke a function."""

_NO_POLICY = "No policy is associated with the given resource."
_REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API "
    "to retrieve the latest Revision Id"
)


class PermissionService:
    """Function policies, acting as ``account_id`` in ``region`` (like a boto3 client).

    Args:
        db: the embedded store.
        account_id, region: the caller.
        new_id: makes RevisionIds (a seam for deterministic tests).
    """

    def __init__(
        self,
        db: Database,
        *,
        account_id: str,
        region: str,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._db = db
        self.account_id = account_id
        self.region = region
        self._new_id = new_id

    # the API ------------------------------------------------------------------------------
    def add_permission(
        self,
        function_name: str,
        statement_id: str,
        action: str,
        principal: str,
        *,
        source_arn: str | None = None,
        source_account: str | None = None,
        event_source_token: str | None = None,
        qualifier: str | None = None,
        revision_id: str | None = None,
        principal_org_id: str | None = None,
        function_url_auth_type: str | None = None,
    ) -> dict[str, str]:
        """AddPermission: add a statement to the policy of the function (or of the version
        or alias ``qualifier`` names). Returns ``{"Statement": <the statement as JSON>}``.

        Raises:
            ValidationException: a parameter breaks the API model.
            InvalidParameterValueException: ``$LATEST`` as the qualifier, or a principal
                that is neither a service, an account, an IAM ARN nor ``*``.
            ResourceNotFoundException: no such function, version or alias.
            ResourceConflictException: the statement id is taken.
            PreconditionFailedException: ``revision_id`` is not the policy's.
            PolicyLengthExceededException: the policy would exceed 20 KB.
        """
        _check_statement_id(statement_id, _STATEMENT_ID)
        _check(action, "action", _ACTION)
        _check(principal, "principal", _PRINCIPAL)
        _check(source_arn, "sourceArn", _SOURCE_ARN)
        if source_account is not None and len(source_account) > 12:
            raise validation_error(
                source_account, "sourceAccount", "Member must have length less than or equal to 12"
            )
        _check(source_account, "sourceAccount", _SOURCE_ACCOUNT)
        _check(event_source_token, "eventSourceToken", _EVENT_SOURCE_TOKEN)
        _check(principal_org_id, "principalOrgID", _PRINCIPAL_ORG_ID)
        if function_url_auth_type is not None and function_url_auth_type not in _AUTH_TYPES:
            raise validation_error(
                function_url_auth_type,
                "functionUrlAuthType",
                "Member must satisfy enum value set: [NONE, AWS_IAM]",
            )
        ref = parse_function_name(
            function_name,
            region=self.region,
            account_id=self.account_id,
            qualifier=qualifier,
            namespaced=False,
        )
        if ref.qualifier == LATEST:
            raise InvalidParameterValueException(
                "We currently do not support adding policies for $LATEST."
            )
        statement = _statement(
            statement_id,
            action,
            _principal(principal),
            ref.arn,
            source_arn=source_arn,
            source_account=source_account,
            event_source_token=event_source_token,
            principal_org_id=principal_org_id,
            function_url_auth_type=function_url_auth_type,
        )
        key = ref.qualifier or ""
        with self._db.transaction() as conn:
            self._check_target(conn, ref.account_id, ref.region, ref.name, key, ref.arn)
            statements, current = rows.policy(conn, ref.account_id, ref.region, ref.name, key)
            if revision_id is not None and revision_id != current:
                raise PreconditionFailedException(_REVISION_MISMATCH)
            if any(s.get("Sid") == statement_id for s in statements):
                raise ResourceConflictException(
                    f"The statement id ({statement_id}) provided already exists. Please "
                    "provide a new statement id, or remove the existing statement."
                )
            statements.append(statement)
            size = len(_document(statements).encode())
            if size > _POLICY_LIMIT:
                raise PolicyLengthExceededException(
                    f"The final policy size ({size}) is bigger than the limit ({_POLICY_LIMIT})."
                )
            rows.put_policy(
                conn, ref.account_id, ref.region, ref.name, key, statements, self._new_id()
            )
        return {"Statement": _json(statement)}

    def get_policy(self, function_name: str, qualifier: str | None = None) -> dict[str, str]:
        """GetPolicy: ``{"Policy": <the policy document as JSON>, "RevisionId"}``.

        Raises:
            ResourceNotFoundException: no such function, version or alias, or it has no
                policy.
        """
        ref = self._ref(function_name, qualifier)
        key = _key(ref.qualifier)
        with self._db.read() as conn:
            self._check_target(conn, ref.account_id, ref.region, ref.name, key, ref.arn)
            statements, revision = rows.policy(conn, ref.account_id, ref.region, ref.name, key)
        if not statements or revision is None:
            raise ResourceNotFoundException(_NO_POLICY)
        return {"Policy": _document(statements), "RevisionId": revision}

    def remove_permission(
        self,
        function_name: str,
        statement_id: str,
        qualifier: str | None = None,
        revision_id: str | None = None,
    ) -> None:
        """RemovePermission: remove one statement (the last one takes the policy with it).

        Raises:
            ResourceNotFoundException: no such function, version or alias; no policy; or no
                statement with that id.
            PreconditionFailedException: ``revision_id`` is not the policy's.
        """
        _check_statement_id(statement_id, _REMOVE_STATEMENT_ID)
        ref = self._ref(function_name, qualifier)
        key = _key(ref.qualifier)
        with self._db.transaction() as conn:
            self._check_target(conn, ref.account_id, ref.region, ref.name, key, ref.arn)
            statements, current = rows.policy(conn, ref.account_id, ref.region, ref.name, key)
            if not statements:
                raise ResourceNotFoundException(_NO_POLICY)
            if revision_id is not None and revision_id != current:
                raise PreconditionFailedException(_REVISION_MISMATCH)
            kept = [s for s in statements if s.get("Sid") != statement_id]
            if len(kept) == len(statements):
                raise ResourceNotFoundException(
                    f"Statement {statement_id} is not found in resource policy."
                )
            rows.put_policy(conn, ref.account_id, ref.region, ref.name, key, kept, self._new_id())

    # the check of push triggers -------------------------------------------------------------
    def allowed(
        self,
        function_arn: str,
        principal_service: str,
        source_arn: str | None,
        source_account: str | None,
        *,
        conn: sqlite3.Connection | None = None,
    ) -> bool:
        """Whether ``principal_service`` (``s3.amazonaws.com`` ...) may invoke the function
        (``function_arn``, qualified or not) on behalf of ``source_arn`` owned by
        ``source_account``, by the policy of that qualifier. ``conn``: read inside a
        transaction the caller holds."""
        try:
            reason = self.denial(
                function_arn, principal_service, source_arn, source_account, conn=conn
            )
        except LambdaError:  # no such function (or not one of this region)
            return False
        return reason is None

    def denial(
        self,
        function_arn: str,
        principal_service: str,
        source_arn: str | None,
        source_account: str | None,
        *,
        conn: sqlite3.Connection | None = None,
    ) -> str | None:
        """Why the invocation :meth:`allowed` asks about is refused, or None if it is not.

        Raises:
            ResourceNotFoundException: no such function.
            ValidationException: not a function ARN.
        """
        ref = parse_function_name(
            function_arn, region=self.region, account_id=self.account_id, namespaced=False
        )
        key = _key(ref.qualifier)
        if conn is None:
            with self._db.read() as snapshot:
                statements = _statements(snapshot, ref, key)
        else:
            statements = _statements(conn, ref, key)
        if any(grants(s, principal_service, source_arn, source_account) for s in statements):
            return None
        whose = f"{ref.arn}" if ref.qualifier and ref.qualifier != LATEST else ref.unqualified_arn
        if not statements:
            return f"{whose} has no resource-based policy: add_permission for {principal_service}"
        return (
            f"the resource-based policy of {whose} does not allow {principal_service} to invoke "
            f"it from {source_arn or 'this source'}"
        )

    # helpers ------------------------------------------------------------------------------
    def _ref(self, function_name: str, qualifier: str | None) -> FunctionRef:
        return parse_function_name(
            function_name,
            region=self.region,
            account_id=self.account_id,
            qualifier=qualifier,
            namespaced=False,
        )

    @staticmethod
    def _check_target(
        conn: sqlite3.Connection, account: str, region: str, name: str, key: str, arn: str
    ) -> None:
        """The function, and the version or alias ``key`` names, must exist."""
        functions = FunctionRows((account, region))
        missing = ResourceNotFoundException(f"Function not found: {arn}")
        if functions.latest(conn, name) is None:
            raise missing
        if not key:
            return
        kind = qualifier_kind(key)
        if kind is QualifierKind.VERSION and functions.version(conn, name, int(key)) is None:
            raise missing
        if kind is QualifierKind.ALIAS and functions.alias(conn, name, key) is None:
            raise missing


def _statements(conn: sqlite3.Connection, ref: FunctionRef, key: str) -> list[dict[str, Any]]:
    if FunctionRows((ref.account_id, ref.region)).latest(conn, ref.name) is None:
        raise ResourceNotFoundException(f"Function not found: {ref.unqualified_arn}")
    statements, _ = rows.policy(conn, ref.account_id, ref.region, ref.name, key)
    return statements


def grants(
    statement: Mapping[str, Any],
    principal_service: str,
    source_arn: str | None,
    source_account: str | None,
) -> bool:
    """Whether one statement lets a service invoke the function from a source: Allow, an
    invoke action, the service (or ``*``) as principal, and every condition met."""
    if statement.get("Effect") != "Allow" or statement.get("Action") not in INVOKE_ACTIONS:
        return False
    principal = statement.get("Principal")
    if principal != "*" and not (
        isinstance(principal, Mapping) and principal.get("Service") == principal_service
    ):
        return False
    conditions = statement.get("Condition") or {}
    for operator, tests in conditions.items():
        for key, expected in dict(tests).items():
            if (operator, key) == ("ArnLike", "AWS:SourceArn"):
                if source_arn is None or not arn_like(str(expected), source_arn):
                    return False
            elif (operator, key) == ("StringEquals", "AWS:SourceAccount"):
                if source_account != expected:
                    return False
            else:  # an organisation, an event source token, a URL auth type: not a push source
                return False
    return True


def arn_like(pattern: str, arn: str) -> bool:
    """IAM's ``ArnLike``: each of the six colon-separated parts is matched on its own, case
    sensitively, ``*`` matching any run of characters and ``?`` any one (IAM User Guide,
    "Amazon Resource Name (ARN) condition operators")."""
    wanted = pattern.split(":", 5)
    given = arn.split(":", 5)
    if len(wanted) != len(given):
        return False
    return all(_glob(w).fullmatch(g) is not None for w, g in zip(wanted, given, strict=True))


def _glob(pattern: str) -> re.Pattern[str]:
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL)


def _key(qualifier: str | None) -> str:
    """The policy a qualifier uses: ``$LATEST`` runs under the function's own."""
    return "" if qualifier in (None, LATEST) else str(qualifier)


def _principal(principal: str) -> object:
    """The statement's Principal, as Lambda writes it."""
    if principal == "*":
        return "*"
    if _SOURCE_ACCOUNT.fullmatch(principal):
        return {"AWS": f"arn:aws:iam::{principal}:root"}
    if _IAM_ARN.fullmatch(principal):
        return {"AWS": principal}
    if _SERVICE_PRINCIPAL.fullmatch(principal):
        return {"Service": principal}
    raise InvalidParameterValueException(
        "The provided principal was invalid. Please check the principal and try again."
    )


def _statement(
    sid: str,
    action: str,
    principal: object,
    resource: str,
    *,
    source_arn: str | None,
    source_account: str | None,
    event_source_token: str | None,
    principal_org_id: str | None,
    function_url_auth_type: str | None,
) -> dict[str, Any]:
    """One statement, members in Lambda's order (AddPermission reference example)."""
    equals: dict[str, str] = {}
    if source_account is not None:
        equals["AWS:SourceAccount"] = source_account
    if principal_org_id is not None:
        equals["aws:PrincipalOrgID"] = principal_org_id
    if event_source_token is not None:
        equals["lambda:EventSourceToken"] = event_source_token
    if function_url_auth_type is not None:
        equals["lambda:FunctionUrlAuthType"] = function_url_auth_type
    condition: dict[str, Any] = {}
    if equals:
        condition["StringEquals"] = equals
    if source_arn is not None:
        condition["ArnLike"] = {"AWS:SourceArn": source_arn}
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": action,
        "Resource": resource,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _document(statements: list[dict[str, Any]]) -> str:
    return _json({"Version": "2012-10-17", "Id": "default", "Statement": statements})


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _check(value: str | None, member: str, pattern: re.Pattern[str]) -> None:
    if value is not None and not pattern.fullmatch(value):
        raise validation_error(
            value, member, f"Member must satisfy regular expression pattern: {pattern.pattern}"
        )


def _check_statement_id(statement_id: str, pattern: re.Pattern[str]) -> None:
    if not 1 <= len(statement_id) <= 100:
        bound = "greater than or equal to 1" if not statement_id else "less than or equal to 100"
        raise validation_error(statement_id, "statementId", f"Member must have length {bound}")
    _check(statement_id, "statementId", pattern)
