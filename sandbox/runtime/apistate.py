"""What the API server keeps and hands out: registered extensions and a custom runtime's
replies (the records the driver reads), and each extension's mutable state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

__all__ = ["ExtensionInfo", "ExtensionState", "RuntimeReply"]


@dataclass(frozen=True, slots=True)
class ExtensionInfo:
    """A registered extension.

    Attributes:
        name: ``Lambda-Extension-Name`` (the executable's file name for external ones).
        identifier: The ``Lambda-Extension-Identifier`` handed out at registration.
        events: Event types it registered for (``INVOKE``, ``SHUTDOWN``).
        internal: True for an internal extension (a name the driver did not expect).
    """

    name: str
    identifier: str
    events: tuple[str, ...]
    internal: bool


@dataclass(frozen=True, slots=True)
class RuntimeReply:
    """What a custom runtime posted.

    Attributes:
        kind: ``"response"``, ``"error"``, ``"init_error"`` or ``"too_large"`` (a response
            over :data:`RESPONSE_LIMIT`; ``body`` is then the platform's error payload).
        request_id: The invocation's request id (``""`` for ``init_error``).
        body: The posted body, raw.
        error_type: ``Lambda-Runtime-Function-Error-Type`` (else the body's ``errorType``)
            for errors; ``Function.ResponseSizeTooLarge`` for ``too_large``; else None.
        xray_error_cause: ``Lambda-Runtime-Function-XRay-Error-Cause``, when posted.
    """

    kind: str
    request_id: str
    body: bytes
    error_type: str | None
    xray_error_cause: str | None = None


class ExtensionState:
    """Mutable state of one registered extension, guarded by the server's condition."""

    __slots__ = (
        *("delivered", "errored", "events", "identifier", "internal"),
        *("name", "nexted", "pending"),
    )

    def __init__(self, name: str, events: tuple[str, ...], internal: bool) -> None:
        self.name, self.events, self.internal = name, events, internal
        self.identifier = str(uuid.uuid4())
        self.pending: bytes | None = None  # an event waiting to be picked up by next
        self.delivered = False  # an event was handed out and next was not called again yet
        self.nexted = False  # called next at least once (extension init done)
        self.errored: str | None = None  # "init" / "exit" once an error was posted

    def info(self) -> ExtensionInfo:
        return ExtensionInfo(self.name, self.identifier, self.events, self.internal)
