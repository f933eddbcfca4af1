"""What every local service client holds: the store, the clock, the account and region it
acts for, and — for the services that push to functions — the trigger dispatcher."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.core.clock import Clock
from sandbox.store.db import Database

if TYPE_CHECKING:
    from sandbox.service.triggers import TriggerDispatcher

__all__ = ["ResourceClient"]


class ResourceClient:
    """The base of ``sb.sqs``, ``sb.sns``, ``sb.eventbridge``, ``sb.s3``, ``sb.kinesis`` and
    ``sb.dynamodb``. Without ``triggers`` (a client made on its own) nothing is pushed to
    functions."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        account_id: str,
        region: str,
        *,
        triggers: TriggerDispatcher | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self.account_id = account_id
        self.region = region
        self._triggers = triggers
