"""One poller per enabled event source mapping, and the mappings' states moving on.

The control plane (:mod:`sandbox.service.mappings`) only writes what the user asked for:
a mapping ``Creating``, ``Updating`` or ``Deleting``. The runner's thread reconciles the
store with the pollers it runs — on every ``mapping`` change, when the sandbox opens, and
once a second — and writes the next state: ``Enabled`` once the poller runs, ``Disabled``
once it stopped, gone once a deleted mapping's poller stopped. So a mapping survives a
kernel restart: an ``Enabled`` one is polling again as soon as the sandbox opens.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Protocol

from sandbox.core.mappings import EventSourceMapping, SourceKind, State
from sandbox.errors import SandboxClosedError
from sandbox.service.pollers.context import PollerContext
from sandbox.store import mapping_rows

__all__ = ["MappingRunner", "Poller"]

log = logging.getLogger("sandbox.pollers")


class Poller(Protocol):
    mapping: EventSourceMapping

    def start(self) -> None: ...

    def stop(self) -> None: ...


def _make(mapping: EventSourceMapping, ctx: PollerContext) -> Poller:
    if mapping.kind is SourceKind.SQS:
        from sandbox.service.pollers.sqs import SqsPoller

        sqs: Poller = SqsPoller(mapping, ctx)
        return sqs
    from sandbox.service.pollers.streams import StreamPoller

    stream: Poller = StreamPoller(mapping, ctx)
    return stream


class MappingRunner:
    """Runs the pollers of every account's mappings in one sandbox."""

    def __init__(self, ctx: PollerContext) -> None:
        self.ctx = ctx
        self._pollers: dict[str, Poller] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._loop, name="lambda-sandbox-mappings", daemon=True
        )
        self._thread.start()

    def poke(self) -> None:
        """Reconcile soon (a mapping changed)."""
        self._wake.set()

    def running(self) -> dict[str, EventSourceMapping]:
        with self._lock:
            return {u: p.mapping for u, p in self._pollers.items()}

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.reconcile()
            except SandboxClosedError:
                return
            except Exception:
                log.exception("reconciling event source mappings failed")
            self._wake.wait(1.0)

    def reconcile(self) -> None:
        with self._lock:
            with self.ctx.db.read() as conn:
                rows = mapping_rows.list_mappings(conn)
            seen: set[str] = set()
            for uuid, account, region, text in rows:
                if self._stop.is_set():
                    return
                seen.add(uuid)
                self._settle(EventSourceMapping.from_stored(uuid, account, region, text), text)
            for uuid in set(self._pollers) - seen:  # gone from the store (a reset)
                self._pollers.pop(uuid).stop()

    def _settle(self, mapping: EventSourceMapping, read: str) -> None:
        """Bring ``mapping`` (as stored: ``read``) to its resting state."""
        uuid = mapping.uuid
        poller = self._pollers.get(uuid)
        if mapping.state is State.DELETING:
            if poller is not None:
                self._pollers.pop(uuid).stop()
            with self.ctx.db.transaction() as conn:
                mapping_rows.delete_mapping(conn, uuid)
            self.ctx.emit(mapping, status="deleted")
            return
        changed = poller is not None and _config(poller.mapping) != _config(mapping)
        if poller is not None and (changed or not mapping.polling):
            self._pollers.pop(uuid).stop()
            poller = None
        if mapping.polling and poller is None:
            poller = _make(_settled(mapping, State.ENABLED), self.ctx)
            self._pollers[uuid] = poller
            poller.start()
        if mapping.state in (State.CREATING, State.UPDATING, State.ENABLING, State.DISABLING):
            final = _settled(mapping, State.ENABLED if mapping.polling else State.DISABLED)
            if not self._write(final, read):  # changed meanwhile: the next pass settles it
                self._wake.set()
                return
            if poller is not None:
                poller.mapping = final
            self.ctx.emit(final, status=str(final.state).lower())

    def _write(self, mapping: EventSourceMapping, read: str) -> bool:
        """Store the settled ``mapping`` unless its row changed since it was ``read`` (an
        update or a delete arriving mid-pass must not be overwritten); True if stored."""
        with self.ctx.db.transaction() as conn:
            current = mapping_rows.get_mapping(conn, mapping.uuid)
            if current is None or current[3] != read:
                return False
            mapping_rows.put_mapping(
                conn,
                mapping.uuid,
                mapping.account_id,
                mapping.region,
                mapping.function_arn.split(":")[6],
                mapping.event_source_arn,
                mapping.stored(),
                mapping.last_modified,
            )
        return True

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(5.0)
        with self._lock:
            pollers, self._pollers = list(self._pollers.values()), {}
        for poller in pollers:
            poller.stop()


def _settled(mapping: EventSourceMapping, state: State) -> EventSourceMapping:
    return replace(mapping, state=state)


def _config(mapping: EventSourceMapping) -> EventSourceMapping:
    """What a poller works from: the mapping without its state and bookkeeping."""
    return replace(
        mapping,
        state=State.ENABLED,
        state_transition_reason="",
        last_modified=0.0,
        last_processing_result="",
        wanted_enabled=True,
    )
