"""The control plane of function URLs, and the rules the local endpoint applies per request.

A function URL is a dedicated HTTPS endpoint for a function or one of its aliases, shaped
``https://<url-id>.lambda-url.<region>.on.aws/`` (Lambda developer guide, "Creating and
managing Lambda function URLs"). This module keeps the five operations of the Lambda API
(``CreateFunctionUrlConfig``, ``Get``, ``Update``, ``Delete``, ``ListFunctionUrlConfigs``)
with AWS's validation order and messages, and the two questions the local endpoint
(:mod:`sandbox.http.function_urls`) asks for every request: *which URL is this url-id*
(:func:`find_url`) and *may this request use it* (:func:`authorize`).

Rules followed, each from the API reference or the guide:

* ``Qualifier`` is an alias name only: a version number or ``$LATEST`` fails the API
  model's pattern (a ``ValidationException``); without one the URL invokes ``$LATEST``.
* One URL per function and one per alias; a second is a ``ResourceConflictException``.
* A new URL gets a new random url-id ("Creating a new function URL will result in a
  different URL address"); the URL goes with its function but outlives its alias.
* ``AuthType NONE`` still needs the function's resource-based policy to grant
  ``lambda:InvokeFunctionUrl`` to ``*`` with ``lambda:FunctionUrlAuthType`` ``NONE``
  ("Security and auth model for Lambda function URLs"); ``AWS_IAM`` needs a SigV4
  signed request.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sandbox.core.arns import FunctionRef, function_arn, parse_function_name
from sandbox.core.clock import Clock
from sandbox.errors import (
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
    validation_error,
)
from sandbox.service.paging import page_size, paginate
from sandbox.service.permissions import PermissionService
from sandbox.store.db import Database
from sandbox.store.functions import FunctionRows

__all__ = [
    "AUTH_TYPES",
    "INVOKE_MODES",
    "FunctionUrl",
    "FunctionUrlService",
    "authorize",
    "find_url",
    "iam_caller",
]

AUTH_TYPES = ("NONE", "AWS_IAM")
INVOKE_MODES = ("BUFFERED", "RESPONSE_STREAM")
QUALIFIER_PATTERN = r"((?!^\d+$)^[0-9a-zA-Z-_]+$)"  # API reference: "The alias name."
_QUALIFIER = re.compile(QUALIFIER_PATTERN)
_URL_ID_ALPHABET = string.ascii_lowercase + string.digits
_URL_ID_LENGTH = 32
_NOT_FOUND = "The resource you requested does not exist."
_CORS_KEYS = (
    "AllowCredentials",
    "AllowHeaders",
    "AllowMethods",
    "AllowOrigins",
    "ExposeHeaders",
    "MaxAge",
)
# API reference, type Cors: (member, most items, shortest item, longest item)
_CORS_LISTS = {
    "AllowHeaders": ("cors.allowHeaders", 100, 0, 1024),
    "AllowMethods": ("cors.allowMethods", 6, 0, 6),
    "AllowOrigins": ("cors.allowOrigins", 100, 1, 253),
    "ExposeHeaders": ("cors.exposeHeaders", 100, 0, 1024),
}
_MAX_AGE = 86_400
_SIGV4 = "AWS4-HMAC-SHA256"
_URL_ACTIONS = frozenset({"lambda:InvokeFunctionUrl", "lambda:*", "*"})
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")


def _new_url_id() -> str:
    return "".join(secrets.choice(_URL_ID_ALPHABET) for _ in range(_URL_ID_LENGTH))


def _timestamp(epoch: float) -> str:
    """``2025-01-05T08:00:00.123456Z``: how the function URL operations write times."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class FunctionUrl:
    """One function URL as stored. ``qualifier`` is the alias it invokes, or None for the
    function itself (``$LATEST``); ``cors`` holds the settings in AWS's shape."""

    url_id: str
    account_id: str
    region: str
    function_name: str
    qualifier: str | None
    auth_type: str
    cors: Mapping[str, object] | None
    invoke_mode: str
    creation_time: float
    last_modified_time: float

    @property
    def function_arn(self) -> str:
        return function_arn(self.region, self.account_id, self.function_name, self.qualifier)

    @property
    def domain_name(self) -> str:
        """``<url-id>.lambda-url.<region>.on.aws``: AWS's host name for this URL."""
        return f"{self.url_id}.lambda-url.{self.region}.on.aws"

    @property
    def function_url(self) -> str:
        """The URL as AWS writes it: ``https://<url-id>.lambda-url.<region>.on.aws/``."""
        return f"https://{self.domain_name}/"

    def to_aws(self, *, last_modified: bool = True) -> dict[str, object]:
        """The operations' response shape (Create's has no ``LastModifiedTime``)."""
        out: dict[str, object] = {
            "FunctionUrl": self.function_url,
            "FunctionArn": self.function_arn,
            "AuthType": self.auth_type,
        }
        if self.cors is not None:
            out["Cors"] = json.loads(json.dumps(self.cors))  # a copy the caller may change
        out["CreationTime"] = _timestamp(self.creation_time)
        if last_modified:
            out["LastModifiedTime"] = _timestamp(self.last_modified_time)
        out["InvokeMode"] = self.invoke_mode
        return out


# validation -------------------------------------------------------------------------------
def _check_qualifier(qualifier: str) -> None:
    """CreateFunctionUrlConfig and the others take an alias name only (API reference)."""
    if len(qualifier) > 128:
        raise validation_error(
            qualifier, "qualifier", "Member must have length less than or equal to 128"
        )
    if not _QUALIFIER.search(qualifier):
        raise validation_error(
            qualifier,
            "qualifier",
            f"Member must satisfy regular expression pattern: {QUALIFIER_PATTERN}",
        )


def _check_enum(value: object, member: str, allowed: Sequence[str]) -> str:
    if value is None:
        raise ValidationException(
            f"1 validation error detected: Value null at '{member}' failed to satisfy "
            "constraint: Member must not be null"
        )
    if value not in allowed:
        raise validation_error(
            value, member, f"Member must satisfy enum value set: [{', '.join(allowed)}]"
        )
    return str(value)


def _cors_list(key: str, value: object) -> list[str]:
    member, most, shortest, longest = _CORS_LISTS[key]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidParameterValueException(
            f"Invalid type for parameter Cors.{key}, value: {value!r}, type: "
            f"{type(value)}, valid types: <class 'list'>, <class 'tuple'> of strings"
        )
    items = [str(v) for v in value]
    if len(items) > most:
        raise validation_error(
            items, member, f"Member must have length less than or equal to {most}"
        )
    if any(len(v) > longest or len(v) < shortest for v in items):
        rules = [f"Member must have length less than or equal to {longest}"]
        if shortest:
            rules.append(f"Member must have length greater than or equal to {shortest}")
        raise validation_error(
            items, member, f"Member must satisfy constraint: [{', '.join(rules)}]"
        )
    return items


def cors_settings(cors: Mapping[str, object] | None) -> dict[str, object] | None:
    """Check ``Cors`` against the API model (type ``Cors``) and return what was given, in
    AWS's shape. ``{}`` means no CORS settings at all (so Update can remove them)."""
    if cors is None:
        return None
    if not isinstance(cors, Mapping):
        raise InvalidParameterValueException(
            f"Invalid type for parameter Cors, value: {cors!r}, type: {type(cors)}, "
            "valid types: <class 'dict'>"
        )
    out: dict[str, object] = {}
    for key, value in cors.items():
        if key not in _CORS_KEYS:
            raise InvalidParameterValueException(
                f'Unknown parameter in Cors: "{key}", must be one of: {", ".join(_CORS_KEYS)}'
            )
        if key == "AllowCredentials":
            if not isinstance(value, bool):
                raise InvalidParameterValueException(
                    f"Invalid type for parameter Cors.AllowCredentials, value: {value!r}, "
                    f"type: {type(value)}, valid types: <class 'bool'>"
                )
            out[key] = value
        elif key == "MaxAge":
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidParameterValueException(
                    f"Invalid type for parameter Cors.MaxAge, value: {value!r}, "
                    f"type: {type(value)}, valid types: <class 'int'>"
                )
            if value < 0:
                raise validation_error(
                    value, "cors.maxAge", "Member must have value greater than or equal to 0"
                )
            if value > _MAX_AGE:
                raise validation_error(
                    value,
                    "cors.maxAge",
                    f"Member must have value less than or equal to {_MAX_AGE}",
                )
            out[key] = value
        else:
            out[key] = _cors_list(key, value)
    return {k: out[k] for k in _CORS_KEYS if k in out} or None


# the store --------------------------------------------------------------------------------
_COLUMNS = (
    "url_id, account, region, name, alias, auth_type, cors, invoke_mode, created, last_modified"
)


def _from_row(row: Sequence[object]) -> FunctionUrl:
    url_id, account, region, name, alias, auth, cors, mode, created, modified = row
    return FunctionUrl(
        str(url_id),
        str(account),
        str(region),
        str(name),
        str(alias) or None,
        str(auth),
        json.loads(str(cors)) if cors is not None else None,
        str(mode),
        float(str(created)),
        float(str(modified)),
    )


def _select(conn: sqlite3.Connection, where: str, params: tuple[object, ...]) -> list[FunctionUrl]:
    sql = f"SELECT {_COLUMNS} FROM function_urls WHERE {where} ORDER BY alias, created"
    return [_from_row(row) for row in conn.execute(sql, params).fetchall()]


def _write(conn: sqlite3.Connection, url: FunctionUrl) -> None:
    conn.execute(
        f"INSERT OR REPLACE INTO function_urls ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            url.url_id,
            url.account_id,
            url.region,
            url.function_name,
            url.qualifier or "",
            url.auth_type,
            json.dumps(url.cors) if url.cors is not None else None,
            url.invoke_mode,
            url.creation_time,
            url.last_modified_time,
        ),
    )


def find_url(db: Database, url_id: str) -> FunctionUrl | None:
    """The URL with this url-id, in any account (what the local endpoint routes by)."""
    with db.read() as conn:
        found = _select(conn, "url_id=?", (url_id,))
    return found[0] if found else None


# the control plane ------------------------------------------------------------------------
class FunctionUrlService:
    """Function URLs of the functions of one account in one region.

    Args:
        db: the embedded store.
        clock: platform time for ``CreationTime`` and ``LastModifiedTime``.
        account_id, region: the scope names are resolved in.
        new_id: makes url-ids (a seam for deterministic tests).
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        account_id: str,
        region: str,
        new_id: Callable[[], str] = _new_url_id,
    ) -> None:
        self._db = db
        self._clock = clock
        self.account_id = account_id
        self.region = region
        self._new_id = new_id

    def create_function_url_config(
        self,
        function_name: str,
        auth_type: str,
        qualifier: str | None = None,
        cors: Mapping[str, object] | None = None,
        invoke_mode: str | None = "BUFFERED",
    ) -> FunctionUrl:
        """CreateFunctionUrlConfig: a new URL (with a new url-id) for the function or one
        of its aliases."""
        ref = self._ref(function_name, qualifier)
        auth = _check_enum(auth_type, "authType", AUTH_TYPES)
        mode = _check_enum(
            "BUFFERED" if invoke_mode is None else invoke_mode, "invokeMode", INVOKE_MODES
        )
        settings = cors_settings(cors)
        now = self._clock.time()
        with self._db.transaction() as conn:
            rows = self._function(conn, ref)
            if ref.qualifier is not None and rows.alias(conn, ref.name, ref.qualifier) is None:
                raise ResourceNotFoundException(f"Function not found: {ref.arn}")
            if self._stored(conn, ref):
                raise ResourceConflictException(
                    f"Failed to create function url config for [functionArn = {ref.arn}]. "
                    "Error message:  FunctionUrlConfig exists for this Lambda function"
                )
            url_id = self._new_id()
            while conn.execute("SELECT 1 FROM function_urls WHERE url_id=?", (url_id,)).fetchone():
                url_id = self._new_id()
            url = FunctionUrl(
                url_id,
                ref.account_id,
                ref.region,
                ref.name,
                ref.qualifier,
                auth,
                settings,
                mode,
                now,
                now,
            )
            _write(conn, url)
        return url

    def get_function_url_config(
        self, function_name: str, qualifier: str | None = None
    ) -> FunctionUrl:
        """GetFunctionUrlConfig."""
        ref = self._ref(function_name, qualifier)
        with self._db.read() as conn:
            self._function(conn, ref)
            found = self._stored(conn, ref)
        if found is None:
            raise ResourceNotFoundException(_NOT_FOUND)
        return found

    def update_function_url_config(
        self,
        function_name: str,
        qualifier: str | None = None,
        *,
        auth_type: str | None = None,
        cors: Mapping[str, object] | None = None,
        invoke_mode: str | None = None,
    ) -> FunctionUrl:
        """UpdateFunctionUrlConfig: change the settings given; ``Cors`` is replaced whole
        (``{}`` removes it). The url-id never changes."""
        ref = self._ref(function_name, qualifier)
        auth = None if auth_type is None else _check_enum(auth_type, "authType", AUTH_TYPES)
        mode = None if invoke_mode is None else _check_enum(invoke_mode, "invokeMode", INVOKE_MODES)
        settings = cors_settings(cors)
        with self._db.transaction() as conn:
            self._function(conn, ref)
            current = self._stored(conn, ref)
            if current is None:
                raise ResourceNotFoundException(_NOT_FOUND)
            url = replace(
                current,
                auth_type=auth or current.auth_type,
                cors=current.cors if cors is None else settings,
                invoke_mode=mode or current.invoke_mode,
                last_modified_time=self._clock.time(),
            )
            _write(conn, url)
        return url

    def delete_function_url_config(self, function_name: str, qualifier: str | None = None) -> None:
        """DeleteFunctionUrlConfig: only the URL of the qualifier given (the function's own
        without one); its url-id is never used again. The resource-based policy stays."""
        ref = self._ref(function_name, qualifier)
        with self._db.transaction() as conn:
            self._function(conn, ref)
            cursor = conn.execute(
                "DELETE FROM function_urls WHERE account=? AND region=? AND name=? AND alias=?",
                (ref.account_id, ref.region, ref.name, ref.qualifier or ""),
            )
            if not cursor.rowcount:
                raise ResourceNotFoundException(_NOT_FOUND)

    def list_function_url_configs(
        self, function_name: str, *, marker: str | None = None, max_items: int | None = None
    ) -> tuple[list[FunctionUrl], str | None]:
        """ListFunctionUrlConfigs: the function's URLs (its own and its aliases'), at most
        50 a page; the next page's marker."""
        ref = self._ref(function_name, None)
        if ref.qualifier is not None:
            raise InvalidParameterValueException(
                "Qualifier is not supported for the ListFunctionUrlConfigs operation: pass "
                "the function's name or unqualified ARN."
            )
        if max_items is not None and max_items > 50:
            raise validation_error(
                max_items, "maxItems", "Member must have value less than or equal to 50"
            )
        limit = page_size(max_items, 50)
        with self._db.read() as conn:
            self._function(conn, ref)
            urls = _select(
                conn, "account=? AND region=? AND name=?", (ref.account_id, ref.region, ref.name)
            )
        page, next_marker = paginate(urls, marker, limit)
        return list(page), next_marker

    # helpers ------------------------------------------------------------------------------
    def _ref(self, function_name: str, qualifier: str | None) -> FunctionRef:
        if qualifier is not None:
            _check_qualifier(qualifier)
        ref = parse_function_name(
            function_name,
            region=self.region,
            account_id=self.account_id,
            qualifier=qualifier,
            namespaced=False,
        )
        if ref.qualifier is not None and qualifier is None:
            _check_qualifier(ref.qualifier)  # my-fn:prod names the alias too
        return ref

    @staticmethod
    def _function(conn: sqlite3.Connection, ref: FunctionRef) -> FunctionRows:
        rows = FunctionRows((ref.account_id, ref.region))
        if rows.latest(conn, ref.name) is None:
            raise ResourceNotFoundException(f"Function not found: {ref.unqualified_arn}")
        return rows

    @staticmethod
    def _stored(conn: sqlite3.Connection, ref: FunctionRef) -> FunctionUrl | None:
        found = _select(
            conn,
            "account=? AND region=? AND name=? AND alias=?",
            (ref.account_id, ref.region, ref.name, ref.qualifier or ""),
        )
        return found[0] if found else None


# per request ------------------------------------------------------------------------------
def authorize(db: Database, url: FunctionUrl, authorization: str | None) -> bool:
    """May a request with this ``Authorization`` header invoke ``url``?

    ``AWS_IAM``: the request must be SigV4-signed. The signature is **not** verified (the
    sandbox has no credentials to check it against; the endpoint listens on loopback only).
    ``NONE``: the function's resource-based policy must allow ``lambda:InvokeFunctionUrl``
    for ``*`` with ``lambda:FunctionUrlAuthType`` ``NONE`` (urls-auth).
    """
    if url.auth_type == "AWS_IAM":
        return iam_caller(authorization) is not None
    return _policy_allows_public(db, url)


def iam_caller(authorization: str | None) -> str | None:
    """The access key id of a SigV4 ``Authorization`` header (``""`` when it names none),
    or None when the header is missing or not SigV4."""
    if not authorization or not authorization.startswith(_SIGV4):
        return None
    match = _CREDENTIAL.search(authorization)
    return match.group(1) if match else ""


def _policy_allows_public(db: Database, url: FunctionUrl) -> bool:
    """Whether the resource-based policy of the URL's target (the function's own, or the
    alias's) lets anyone call ``lambda:InvokeFunctionUrl`` on it with auth type NONE."""
    policies = PermissionService(db, account_id=url.account_id, region=url.region)
    try:
        document = policies.get_policy(url.function_name, url.qualifier)["Policy"]
    except ResourceNotFoundException:  # no policy (or the alias is gone): nobody may
        return False
    statements = json.loads(document).get("Statement", [])
    return any(_grants_public_url(s) for s in statements if isinstance(s, Mapping))


def _grants_public_url(statement: Mapping[str, object]) -> bool:
    """One statement allowing ``*`` the URL action, its conditions (if any) only asking
    for ``lambda:FunctionUrlAuthType`` NONE (urls-auth, "Using the NONE auth type")."""
    actions = statement.get("Action")
    if statement.get("Effect") != "Allow" or not any(
        a in _URL_ACTIONS for a in (actions if isinstance(actions, list) else [actions])
    ):
        return False
    principal = statement.get("Principal")
    if principal != "*" and not (isinstance(principal, Mapping) and principal.get("AWS") == "*"):
        return False
    conditions = statement.get("Condition") or {}
    if not isinstance(conditions, Mapping):
        return False
    for operator, tests in conditions.items():
        if not isinstance(tests, Mapping):
            return False
        for key, expected in tests.items():
            if (operator, key, expected) != ("StringEquals", "lambda:FunctionUrlAuthType", "NONE"):
                return False
    return True
