"""What every handler of the sandbox's HTTP endpoint (``lambda-sandbox serve``) shares:
a parsed :class:`Request`, a :class:`Response`, and the handler signature.

The endpoint speaks several AWS protocols on one port — Lambda's REST-JSON API, SQS's
JSON protocol (``X-Amz-Target: AmazonSQS.*``), SNS's query protocol (form-encoded
``Action=...``) — and asks each protocol's handler in turn; a handler answers ``None``
for a request that is not its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox._sandbox import Sandbox

__all__ = ["Handler", "Request", "Response"]


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
