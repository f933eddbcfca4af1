"""Records in the embedded store: JSON documents in the AWS shape, one per row."""

from __future__ import annotations

import json

__all__ = ["dump", "load"]


def dump(doc: object) -> str:
    """A document as stored: compact JSON with sorted keys."""
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def load(text: object) -> dict[str, object]:
    """A stored document back (an object, or the store is corrupt)."""
    loaded = json.loads(str(text))
    if not isinstance(loaded, dict):
        raise ValueError("corrupt record in the sandbox store")
    return loaded
