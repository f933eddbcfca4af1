"""Events from :class:`~sandbox.Sandbox`: service events built in the sandbox's account,
region and clock, and saved test events per function, like the Lambda console's
shareable test events (spec §9).

The ``%lambda invoke --event NAME`` magic and the ``EventBuilder`` widget's template
picker are meant to read these (``list_test_events`` / ``get_test_event``).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from sandbox.errors import ResourceNotFoundException, validation_error
from sandbox.events import check_payload, generate
from sandbox.store.test_events import TestEventRows

if TYPE_CHECKING:
    from sandbox._sandbox import _Shared
    from sandbox.core.arns import FunctionRef
    from sandbox.service.functions import FunctionService

__all__ = ["EventsAPI"]

# the console's rule for test event names: 1-25 letters, digits, '-' and '_'
_EVENT_NAME = re.compile(r"[a-zA-Z0-9_-]{1,25}")


class EventsAPI:
    """``generate_event`` and the saved test events of a function."""

    _functions: FunctionService
    _shared: _Shared
    account_id: str
    region: str

    def generate_event(self, kind: str, **fields: Any) -> dict[str, Any]:
        """A service event of ``kind`` (``sandbox.events.kinds()``) with ARNs in this
        sandbox's account and region and timestamps from its clock.

        Example:
            >>> event = sb.generate_event("sqs", body={"order": 1}, count=2)  # doctest: +SKIP
        """
        return generate(
            kind, account_id=self.account_id, region=self.region, clock=self._shared.clock, **fields
        )

    def save_test_event(self, function_name: str, name: str, event: object) -> None:
        """Save ``event`` under ``name`` for the function, replacing any event of that name.

        Raises:
            ValidationException: the name is not 1-25 letters, digits, ``-`` or ``_``.
            ResourceNotFoundException: the function does not exist.
            InvalidRequestContentException: the event is not JSON.
            RequestTooLargeException: the event is over the 6 MB payload limit.
        """
        self._check_name(name)
        body = check_payload(event).decode() or "{}"  # an empty payload reaches the handler as {}
        ref = self._function_ref(function_name)
        with self._shared.db.transaction() as conn:
            self._rows(ref).put(conn, ref.name, name, body, self._shared.clock.time())

    def list_test_events(self, function_name: str) -> list[str]:
        """The names of the function's saved test events, sorted."""
        ref = self._function_ref(function_name)
        with self._shared.db.read() as conn:
            return self._rows(ref).names(conn, ref.name)

    def get_test_event(self, function_name: str, name: str) -> Any:
        """The saved event, decoded from JSON (a fresh copy each call).

        Raises:
            ResourceNotFoundException: no such function or no such test event.
        """
        ref = self._function_ref(function_name)
        with self._shared.db.read() as conn:
            body = self._rows(ref).get(conn, ref.name, name)
        if body is None:
            raise self._missing(ref, name)
        return json.loads(body)

    def delete_test_event(self, function_name: str, name: str) -> None:
        """Delete a saved test event.

        Raises:
            ResourceNotFoundException: no such function or no such test event.
        """
        ref = self._function_ref(function_name)
        with self._shared.db.transaction() as conn:
            deleted = self._rows(ref).delete(conn, ref.name, name)
        if not deleted:
            raise self._missing(ref, name)

    # helpers ----------------------------------------------------------------------------
    def _function_ref(self, function_name: str) -> FunctionRef:
        return self._functions.resolve(function_name).ref

    @staticmethod
    def _rows(ref: FunctionRef) -> TestEventRows:
        return TestEventRows((ref.account_id, ref.region))

    @staticmethod
    def _check_name(name: str) -> None:
        if not isinstance(name, str) or not _EVENT_NAME.fullmatch(name):
            raise validation_error(
                name, "name", "Member must satisfy regular expression pattern: [a-zA-Z0-9_-]{1,25}"
            )

    @staticmethod
    def _missing(ref: FunctionRef, name: str) -> ResourceNotFoundException:
        arn = f"arn:aws:lambda:{ref.region}:{ref.account_id}:function:{ref.name}"
        return ResourceNotFoundException(f"Test event not found: {name} (function {arn})")
