"""Build service events: a template's shape, the caller's meaningful fields, and the derived
fields computed the way AWS computes them (spec §9).

``generate("sqs", body={"id": 1}, count=3)`` copies the SQS template's record three times,
puts the body in as a string (SQS bodies are always strings), and fills what SQS itself
would: message ids, ``md5OfBody``, ``md5OfMessageAttributes``, timestamps from the clock,
and ARNs in the sandbox's account and region. Pass ``seed=`` to make the ids repeatable;
with a ``FakeClock`` as well, the whole event is.
"""

from __future__ import annotations

import copy
import inspect
import json
import random
from collections.abc import Callable
from typing import Any

from sandbox.core.clock import Clock, RealClock
from sandbox.events import _http, _services
from sandbox.events._derive import Context, Event
from sandbox.events._services import (
    decode_awslogs,
    encode_awslogs,
    md5_of_message_attributes,
    to_attribute_value,
)
from sandbox.events.catalogue import CATALOGUE, template_text

__all__ = [
    "decode_awslogs",
    "describe",
    "encode_awslogs",
    "generate",
    "kinds",
    "md5_of_message_attributes",
    "template",
    "to_attribute_value",
]


def kinds() -> list[str]:
    """Every template kind, in catalogue order."""
    return list(CATALOGUE)


def describe(kind: str) -> dict[str, object]:
    """What a kind is: service, description, invocation style, AWS source, and the fields
    :func:`generate` accepts for it."""
    entry = _entry(kind)
    return {
        "kind": entry.kind,
        "service": entry.service,
        "description": entry.description,
        "invocation": entry.invocation,
        "source": entry.source,
        "file": entry.file,
        "fields": _field_names(kind),
    }


def template(kind: str) -> Event:
    """The template of ``kind`` as stored, a fresh copy each call."""
    _entry(kind)
    loaded = json.loads(template_text(kind))
    assert isinstance(loaded, dict)
    return loaded


def generate(
    kind: str,
    *,
    account_id: str = "123456789012",
    region: str = "us-east-1",
    clock: Clock | None = None,
    seed: int | None = None,
    **fields: Any,
) -> Event:
    """A service event of ``kind`` with ``fields`` filled in and derived fields computed.

    Args:
        kind: one of :func:`kinds`, e.g. ``"sqs"``, ``"s3-put"``, ``"apigateway-rest"``.
        account_id, region: where the ARNs point.
        clock: where timestamps come from (the current time when omitted).
        seed: makes message ids, request ids and the like repeatable.
        **fields: the meaningful fields of the kind (``describe(kind)["fields"]``).

    Raises:
        ValueError: an unknown kind.
        TypeError: a field the kind does not have.

    Example:
        >>> event = generate("sqs", body={"id": 1}, count=2)
        >>> [r["body"] for r in event["Records"]]
        ['{"id": 1}', '{"id": 1}']
    """
    _entry(kind)
    unknown = sorted(set(fields) - set(_field_names(kind)))
    if unknown:
        raise TypeError(
            f"generate({kind!r}) has no field {', '.join(map(repr, unknown))}; "
            f"its fields are: {', '.join(_field_names(kind))}"
        )
    ctx = Context(account_id, region, (clock or RealClock()).time(), random.Random(seed))
    event = _BUILDERS[kind](template(kind), ctx, **fields)
    return copy.deepcopy(event)


def _entry(kind: str) -> Any:
    try:
        return CATALOGUE[kind]
    except KeyError:
        raise ValueError(
            f"unknown event kind {kind!r}; the kinds are: {', '.join(CATALOGUE)}"
        ) from None


def _field_names(kind: str) -> list[str]:
    params = list(inspect.signature(_BUILDERS[kind]).parameters.values())[2:]
    return [p.name for p in params]


_BUILDERS: dict[str, Callable[..., Event]] = {**_services.BUILDERS, **_http.BUILDERS}
