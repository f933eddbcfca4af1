"""Pages of the list operations: ``MaxItems`` and the opaque ``Marker``/``NextMarker``."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import TypeVar

from sandbox.errors import InvalidParameterValueException, validation_error

__all__ = ["page_size", "paginate"]

T = TypeVar("T")


def page_size(max_items: int | None, default: int) -> int:
    """``MaxItems`` checked (1 to 10,000), or ``default``."""
    if max_items is None:
        return default
    if max_items < 1:
        raise validation_error(
            max_items, "maxItems", "Member must have value greater than or equal to 1"
        )
    if max_items > 10000:
        raise validation_error(
            max_items, "maxItems", "Member must have value less than or equal to 10000"
        )
    return max_items


def paginate(items: Sequence[T], marker: str | None, limit: int) -> tuple[Sequence[T], str | None]:
    """One page of ``items`` from an opaque ``marker``; the marker of the next page."""
    start = 0
    if marker:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(marker.encode()))["offset"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidParameterValueException(f"Invalid marker: {marker}") from exc
    page = items[start : start + limit]
    more = start + limit < len(items)
    token = base64.urlsafe_b64encode(json.dumps({"offset": start + limit}).encode()).decode()
    return page, token if more else None
