"""Telemetry API and Logs API subscriptions of one execution environment, and their delivery.

An extension subscribes with ``PUT /2022-07-01/telemetry`` (or the older
``PUT /2020-08-15/logs``); from then on the platform batches the records it asked for and
POSTs them as JSON arrays to a local HTTP listener of the extension, or writes them as
newline-delimited JSON to a TCP port (spec §2.3). :func:`parse_subscription` validates a
subscription body the way the Telemetry API does; :class:`TelemetryDelivery` keeps one
buffer and one delivery thread per subscriber.

Buffering follows the subscription: a batch leaves when the buffer holds ``maxItems``
records or ``maxBytes`` bytes, or ``timeoutMs`` after its first record, or at once when
the driver calls :meth:`TelemetryDelivery.flush`. A subscriber that does not keep up (its
buffer reaches ten times its limits) or whose listener fails loses records; the next batch
that gets through starts with a ``platform.logsDropped`` record counting them.

Logs API subscribers receive the same record types as Telemetry API subscribers (the
sandbox does not translate ``platform.runtimeDone`` and friends into the Logs API's
``platform.end``/``platform.fault``); only the subscription record differs
(``platform.logsSubscription``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sandbox.core.clock import RealClock, iso8601_ms

__all__ = [
    "DROPPED_REASON",
    "Subscription",
    "SubscriptionError",
    "TelemetryDelivery",
    "parse_subscription",
]

TELEMETRY_SCHEMAS = ("2022-07-01", "2022-12-13")  # spec §2.3
LOGS_SCHEMAS = ("2020-08-15", "2021-03-18")  # spec §2.3
RECORD_TYPES = ("platform", "function", "extension")
# (min, max, default) per buffering field, spec §2.3.
BUFFERING = {
    "maxItems": (1_000, 10_000, 10_000),
    "maxBytes": (262_144, 1_048_576, 262_144),
    "timeoutMs": (25, 30_000, 1_000),
}
SANDBOX_HOSTS = ("sandbox.localdomain", "sandbox")  # listeners live in the environment
DROPPED_REASON = (
    "Some logs were dropped because the downstream consumer is slower than the logs production rate"
)
CAP_FACTOR = 10  # a buffer holds at most 10 x maxItems records / 10 x maxBytes bytes
DELIVERY_TIMEOUT = 5.0  # seconds a listener may take to accept one batch

EventHook = Callable[[str, dict[str, object]], None]


class SubscriptionError(Exception):
    """A subscription request the Telemetry/Logs API rejects (HTTP 400)."""

    def __init__(self, message: str, error_type: str = "ValidationError") -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type


@dataclass(frozen=True, slots=True)
class Subscription:
    """One extension's validated subscription.

    Attributes:
        extension: Name of the subscribing extension.
        api: ``"telemetry"`` or ``"logs"``.
        schema_version: The ``schemaVersion`` the extension asked for.
        types: Record categories: ``platform``, ``function``, ``extension``.
        max_items: ``buffering.maxItems``.
        max_bytes: ``buffering.maxBytes``.
        timeout_ms: ``buffering.timeoutMs``.
        protocol: ``"HTTP"`` or ``"TCP"``.
        uri: The destination URI as given (HTTP only).
        port: Local port the records go to (on 127.0.0.1).
        path: Request path for HTTP delivery.
    """

    extension: str
    api: str
    schema_version: str
    types: tuple[str, ...]
    max_items: int
    max_bytes: int
    timeout_ms: int
    protocol: str
    uri: str | None
    port: int
    path: str

    def as_dict(self) -> dict[str, object]:
        """The subscription as the extension sent it (normalised, defaults filled in)."""
        destination: dict[str, object] = {"protocol": self.protocol}
        if self.protocol == "HTTP":
            destination["URI"] = self.uri
        else:
            destination["port"] = self.port
        return {
            "extension": self.extension,
            "api": self.api,
            "schemaVersion": self.schema_version,
            "types": list(self.types),
            "buffering": {
                "maxItems": self.max_items,
                "maxBytes": self.max_bytes,
                "timeoutMs": self.timeout_ms,
            },
            "destination": destination,
        }


def _int_in_range(buffering: dict[str, object], key: str) -> int:
    low, high, default = BUFFERING[key]
    value = buffering.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SubscriptionError(f"buffering.{key} must be an integer")
    if not low <= value <= high:
        raise SubscriptionError(f"buffering.{key} must be between {low} and {high}, got {value}")
    return value


def parse_subscription(extension: str, api: str, body: object) -> Subscription:
    """Validate a ``PUT /telemetry`` (``api="telemetry"``) or ``PUT /logs`` body.

    Raises:
        SubscriptionError: The body breaks a rule of spec §2.3; the message names it.
    """
    if not isinstance(body, dict):
        raise SubscriptionError("request body must be a JSON object")
    schemas = TELEMETRY_SCHEMAS if api == "telemetry" else LOGS_SCHEMAS
    schema = body.get("schemaVersion", schemas[0])
    if schema not in schemas:
        raise SubscriptionError(f"schemaVersion must be one of {', '.join(schemas)}")
    types = body.get("types")
    if not isinstance(types, list) or not types or not all(t in RECORD_TYPES for t in types):
        raise SubscriptionError(f"types must be a non-empty list of {', '.join(RECORD_TYPES)}")
    buffering = body.get("buffering", {})
    if not isinstance(buffering, dict):
        raise SubscriptionError("buffering must be an object")
    destination = body.get("destination")
    if not isinstance(destination, dict):
        raise SubscriptionError("destination is required")
    protocol = destination.get("protocol")
    uri: str | None = None
    path = "/"
    if protocol == "HTTP":
        raw = destination.get("URI")
        parts = urlsplit(raw) if isinstance(raw, str) else None
        try:
            port = parts.port if parts is not None else None
        except ValueError:
            port = None
        if parts is None or parts.scheme != "http" or parts.hostname not in SANDBOX_HOSTS:
            raise SubscriptionError(
                "destination.URI must be http://sandbox.localdomain:PORT/path "
                "(the listener runs inside the execution environment)"
            )
        uri, port = raw, port or 80
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
    elif protocol == "TCP":
        port = destination.get("port")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise SubscriptionError("destination.port must be a TCP port number")
    else:
        raise SubscriptionError('destination.protocol must be "HTTP" or "TCP"')
    return Subscription(
        extension=extension,
        api=api,
        schema_version=str(schema),
        types=tuple(dict.fromkeys(types)),
        max_items=_int_in_range(buffering, "maxItems"),
        max_bytes=_int_in_range(buffering, "maxBytes"),
        timeout_ms=_int_in_range(buffering, "timeoutMs"),
        protocol=protocol,
        uri=uri,
        port=port,
        path=path,
    )


def _category(record_type: str) -> str:
    return "platform" if record_type.startswith("platform.") else record_type


class _Subscriber:
    """Buffer, counters and connection of one subscription; state guarded by the owner's lock."""

    def __init__(self, sub: Subscription) -> None:
        self.sub = sub
        self.items: deque[bytes] = deque()
        self.nbytes = 0
        self.first_at = 0.0  # monotonic time of the oldest buffered record
        self.dropped_records = 0
        self.dropped_bytes = 0
        self.inflight = False
        self.conn: http.client.HTTPConnection | None = None
        self.sock: socket.socket | None = None
        self.thread: threading.Thread | None = None
        self.target: tuple[str, int] | None = None  # where conn/sock are connected

    def due(self, now: float, flushing: bool) -> bool:
        sub = self.sub
        return bool(self.items) and (
            flushing
            or len(self.items) >= sub.max_items
            or self.nbytes >= sub.max_bytes
            or now >= self.first_at + sub.timeout_ms / 1000
        )

    def abort(self) -> None:
        """Unblock a delivery in progress (called from :meth:`TelemetryDelivery.close`)."""
        conn, sock = self.conn, self.sock
        for raw in (conn.sock if conn is not None else None, sock):
            if isinstance(raw, socket.socket):
                with contextlib.suppress(OSError):
                    raw.shutdown(socket.SHUT_RDWR)
        for closable in (conn, sock):
            if closable is not None:
                with contextlib.suppress(Exception):
                    closable.close()

    def send(self, batch: list[bytes], timeout: float) -> bool:
        """Deliver one batch; retry once on a fresh connection if a kept-alive one was stale."""
        target = (self.sub.protocol, self.sub.port)
        if target != self.target:  # first batch, or the extension re-subscribed elsewhere
            self.abort()
            self.conn, self.sock, self.target = None, None, target
        for attempt in (0, 1):
            fresh = (self.conn if self.sub.protocol == "HTTP" else self.sock) is None
            try:
                if self.sub.protocol == "HTTP":
                    return self._send_http(batch, timeout)
                return self._send_tcp(batch, timeout)
            except (OSError, http.client.HTTPException) as exc:
                self.abort()
                self.conn = self.sock = None
                stale = isinstance(exc, ConnectionError | http.client.RemoteDisconnected)
                if not stale or fresh or attempt:  # only a reused connection gets a retry
                    return False
        return False

    def _send_http(self, batch: list[bytes], timeout: float) -> bool:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.sub.port, timeout=timeout)
        body = b"[" + b",".join(batch) + b"]"
        headers = {"Host": urlsplit(self.sub.uri or "").netloc, "Content-Type": "application/json"}
        self.conn.request("POST", self.sub.path, body, headers)
        response = self.conn.getresponse()
        response.read()
        if response.will_close:
            self.conn.close()
            self.conn = None
        return response.status < 400

    def _send_tcp(self, batch: list[bytes], timeout: float) -> bool:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.sub.port), timeout=timeout)
        self.sock.sendall(b"\n".join(batch) + b"\n")
        return True


class TelemetryDelivery:
    """Buffers records per subscriber and delivers them on one thread per subscriber.

    Thread-safe. Delivery failures are counted as dropped records, never raised.

    Args:
        on_event: Optional hook called (outside the lock, exceptions swallowed) with
            ``("delivery", {name, records, bytes})`` and ``("dropped", {name,
            droppedRecords, droppedBytes})``.
        delivery_timeout: Seconds a listener may take to accept one batch.
        now_iso: Platform time as ``2025-01-05T08:00:00.000Z``, for ``platform.logsDropped``.
    """

    def __init__(
        self,
        *,
        on_event: EventHook | None = None,
        delivery_timeout: float = DELIVERY_TIMEOUT,
        now_iso: Callable[[], str] | None = None,
    ) -> None:
        clock = RealClock()
        self._now_iso = now_iso or (lambda: iso8601_ms(clock.time()))
        self._cond = threading.Condition()
        self._subs: dict[str, _Subscriber] = {}
        self._on_event = on_event
        self._timeout = delivery_timeout
        self._flushing = 0
        self._closed = False

    def subscribe(self, sub: Subscription) -> None:
        """Add or replace the subscription of ``sub.extension``.

        Raises:
            SubscriptionError: The extension already uses the other API.
        """
        with self._cond:
            if self._closed:
                return
            current = self._subs.get(sub.extension)
            if current is not None:
                if current.sub.api != sub.api:
                    raise SubscriptionError(
                        "An extension can subscribe to either the Telemetry API or the Logs "
                        "API, not both",
                        "ValidationError",
                    )
                current.sub = sub  # re-subscribing replaces the settings, keeps the buffer
                self._cond.notify_all()
                return
            subscriber = _Subscriber(sub)
            self._subs[sub.extension] = subscriber
            thread = threading.Thread(
                target=self._run,
                args=(subscriber,),
                name=f"telemetry-delivery-{sub.extension}",
                daemon=True,
            )
            subscriber.thread = thread
        thread.start()

    @property
    def active(self) -> bool:
        """Whether anyone subscribed (a lock-free hint that lets publishers skip work)."""
        return bool(self._subs)

    def subscriptions(self) -> list[Subscription]:
        """Current subscriptions, in subscription order."""
        with self._cond:
            return [s.sub for s in self._subs.values()]

    def publish(self, record_type: str, record: object, time_iso: str) -> None:
        """Buffer ``{"time", "type", "record"}`` for every subscriber of its category."""
        category = _category(record_type)
        item: bytes | None = None
        dropped: list[dict[str, object]] = []
        with self._cond:
            for subscriber in self._subs.values():
                sub = subscriber.sub
                if category not in sub.types:
                    continue
                if item is None:
                    entry = {"time": time_iso, "type": record_type, "record": record}
                    item = json.dumps(entry, separators=(",", ":"), default=str).encode()
                size = len(item)
                if (
                    len(subscriber.items) >= CAP_FACTOR * sub.max_items
                    or subscriber.nbytes + size > CAP_FACTOR * sub.max_bytes
                ):
                    if not subscriber.dropped_records:
                        dropped.append({"name": sub.extension, "reason": "buffer full"})
                    subscriber.dropped_records += 1
                    subscriber.dropped_bytes += size
                    continue
                if not subscriber.items:
                    subscriber.first_at = time.monotonic()
                    self._cond.notify_all()
                subscriber.items.append(item)
                subscriber.nbytes += size
                if len(subscriber.items) == sub.max_items or (
                    subscriber.nbytes >= sub.max_bytes and subscriber.nbytes - size < sub.max_bytes
                ):
                    self._cond.notify_all()
        for details in dropped:
            self._emit("dropped", details)

    def flush(self, timeout: float) -> None:
        """Deliver everything buffered now; return when done or after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                while not self._closed:
                    if all(not s.items and not s.inflight for s in self._subs.values()):
                        return
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return
                    self._cond.wait(remaining)
            finally:
                self._flushing -= 1

    def close(self) -> None:
        """Stop every delivery thread (pending records are discarded). Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            subscribers = list(self._subs.values())
            self._cond.notify_all()
        for subscriber in subscribers:
            subscriber.abort()
        me = threading.current_thread()
        for subscriber in subscribers:
            if subscriber.thread is not None and subscriber.thread is not me:
                subscriber.thread.join(1.0)

    def _emit(self, kind: str, details: dict[str, object]) -> None:
        if self._on_event is not None:
            with contextlib.suppress(Exception):
                self._on_event(kind, details)

    def _take_batch(self, subscriber: _Subscriber) -> tuple[list[bytes], int]:
        sub, size = subscriber.sub, 0
        batch: list[bytes] = []
        while subscriber.items and len(batch) < sub.max_items:
            item = subscriber.items[0]
            if batch and size + len(item) > sub.max_bytes:
                break
            batch.append(subscriber.items.popleft())
            size += len(item)
        subscriber.nbytes -= size
        if subscriber.items:
            subscriber.first_at = time.monotonic()
        return batch, size

    def _run(self, subscriber: _Subscriber) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    now = time.monotonic()
                    if subscriber.due(now, self._flushing > 0):
                        break
                    wait = None
                    if subscriber.items:
                        wait = subscriber.first_at + subscriber.sub.timeout_ms / 1000 - now
                    self._cond.wait(wait)
                if self._closed:
                    return
                batch, size = self._take_batch(subscriber)
                dropped = (subscriber.dropped_records, subscriber.dropped_bytes)
                subscriber.inflight = True
            payload = batch
            if dropped[0]:
                record = {
                    "reason": DROPPED_REASON,
                    "droppedRecords": dropped[0],
                    "droppedBytes": dropped[1],
                }
                stamp = self._now_iso()
                entry = {"time": stamp, "type": "platform.logsDropped", "record": record}
                payload = [json.dumps(entry, separators=(",", ":")).encode(), *batch]
            ok = subscriber.send(payload, self._timeout)
            name = subscriber.sub.extension
            with self._cond:
                subscriber.inflight = False
                if ok:
                    subscriber.dropped_records -= dropped[0]
                    subscriber.dropped_bytes -= dropped[1]
                else:
                    subscriber.dropped_records += len(batch)
                    subscriber.dropped_bytes += size
                self._cond.notify_all()
            if ok:
                self._emit("delivery", {"name": name, "records": len(batch), "bytes": size})
                if dropped[0]:
                    self._emit(
                        "dropped",
                        {"name": name, "droppedRecords": dropped[0], "droppedBytes": dropped[1]},
                    )
            else:
                self._emit("dropped", {"name": name, "reason": "delivery failed"})
