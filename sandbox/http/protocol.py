"""What every handler of the sandbox's HTTP endpoint (``lambda-sandbox serve``) shares:
a parsed :class:`Request`, a :class:`Response`, and the handler signature.

The endpoint speaks several AWS protocols on one port — Lambda's REST-JSON API, SQS's
JSON protocol (``X-Amz-Target: AmazonSQS.*``), SNS's query protocol (form-encoded
``Action=...``) — and asks each protocol's handler in turn; a handler answers ``None``
for a request that is not its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    from sandbox._sandbox import Sandbox

__all__ = ["Handler", "Request", "Response", "access_key", "build_request"]

_SCOPE = re.compile(
    r"Credential=(?P<akid>[^/,\s]+)/\d{8}/(?P<region>[^/,\s]+)/[^/,\s]+/aws4_request"
)
_ACCOUNT = re.compile(r"^\d{12}$")


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request. ``headers`` has lower-case names; ``query`` keeps repeated
    parameters; ``account_id`` and ``region`` come from the SigV4 ``Authorization``
    header's credential scope when present (else the sandbox's defaults)."""

    method: str
    path: str  # percent-decoded, without the query string
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    account_id: str
    region: str


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["Sandbox", Request], "Response | None"]


def access_key(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(access key id, region) of a SigV4 ``Authorization`` header's credential scope."""
    scope = _SCOPE.search(headers.get("authorization", ""))
    return (scope["akid"], scope["region"]) if scope else (None, None)


def build_request(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    account_id: str,
    region: str,
) -> Request:
    """A :class:`Request` from an HTTP request: ``target`` is the request line's path and
    query; the account is a twelve-digit access key id (else ``account_id``), the region
    the credential scope's (else ``region``)."""
    split = urlsplit(target)
    lowered = {k.lower(): v for k, v in headers.items()}
    akid, scoped_region = access_key(lowered)
    return Request(
        method=method,
        path=unquote(split.path, errors="replace"),
        query=parse_qs(split.query, keep_blank_values=True),
        headers=lowered,
        body=body,
        account_id=akid if akid and _ACCOUNT.match(akid) else account_id,
        region=scoped_region or region,
    )
