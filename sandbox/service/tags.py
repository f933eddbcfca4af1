"""Tags of functions: ``TagResource``, ``UntagResource``, ``ListTags`` (spec §3, §10).

A function's tags live with its ``$LATEST`` row (``CreateFunction(Tags=...)`` sets the
first ones); they belong to the function, not to a version or an alias, so the resource is
always an unqualified function ARN. Limits as AWS's tagging rules: 50 tags per resource,
keys of 1-128 characters not starting with ``aws:``, values of at most 256 characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from sandbox.core.arns import FunctionRef
from sandbox.errors import InvalidParameterValueException
from sandbox.service.scope import FunctionScope

__all__ = ["TagsMixin"]

MAX_TAGS = 50
_FUNCTION_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9_-]+$")


class TagsMixin(FunctionScope):
    def tag_resource(self, resource: str, tags: Mapping[str, str]) -> None:
        """TagResource: add or overwrite tags of a function."""
        _check(tags)
        ref = self._tagged(resource)
        with self._db.transaction() as conn:
            self._latest(conn, ref)
            rows = self._rows_for(ref)
            merged = {**rows.tags(conn, ref.name), **tags}
            if len(merged) > MAX_TAGS:
                raise InvalidParameterValueException(
                    f"A resource can have at most {MAX_TAGS} tags: this would make {len(merged)}."
                )
            rows.set_tags(conn, ref.name, merged)

    def untag_resource(self, resource: str, tag_keys: Iterable[str]) -> None:
        """UntagResource: remove tags (keys that are not there are ignored, as on AWS)."""
        keys = set(tag_keys)
        ref = self._tagged(resource)
        with self._db.transaction() as conn:
            self._latest(conn, ref)
            rows = self._rows_for(ref)
            rows.set_tags(
                conn,
                ref.name,
                {k: v for k, v in rows.tags(conn, ref.name).items() if k not in keys},
            )

    def list_tags(self, resource: str) -> dict[str, dict[str, str]]:
        """ListTags: ``{"Tags": {...}}``."""
        ref = self._tagged(resource)
        with self._db.read() as conn:
            self._latest(conn, ref)
            return {"Tags": self._rows_for(ref).tags(conn, ref.name)}

    def _tagged(self, resource: str) -> FunctionRef:
        if not _FUNCTION_ARN.match(resource):
            raise InvalidParameterValueException(
                f"{resource} is not an unqualified function ARN: tags belong to functions "
                "(arn:aws:lambda:REGION:ACCOUNT:function:NAME), not to versions or aliases."
            )
        return self._ref(resource, namespaced=False)


def _check(tags: Mapping[str, str]) -> None:
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise InvalidParameterValueException(
                f"Tag key {key!r} must be 1 to 128 characters long."
            )
        if key.lower().startswith("aws:"):
            raise InvalidParameterValueException(
                f"Tag key {key!r} uses the reserved prefix 'aws:'."
            )
        if not isinstance(value, str) or len(value) > 256:
            raise InvalidParameterValueException(
                f"The value of tag {key!r} must be a string of at most 256 characters."
            )
