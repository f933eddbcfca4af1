"""What every event builder shares: the context derived fields come from (account, region,
time, a seeded random source) and the conversions of caller values into event text."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.core.clock import iso8601_ms

Event = dict[str, Any]
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class Context:
    """Where one event's derived fields come from."""

    account: str
    region: str
    now: float
    rng: random.Random

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hex(self, n: int, *, upper: bool = False) -> str:
        text = f"{self.rng.getrandbits(4 * n):0{n}x}"
        return text.upper() if upper else text

    def b64(self, nbytes: int) -> str:
        return base64.b64encode(self.rng.randbytes(nbytes)).decode()

    @property
    def ms(self) -> int:
        return int(self.now * 1000)

    def iso_ms(self) -> str:  # 2025-01-05T08:00:00.000Z (SNS, S3, SES)
        return iso8601_ms(self.now)

    def iso_s(self) -> str:  # 2025-01-05T08:00:00Z (EventBridge)
        return datetime.fromtimestamp(self.now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def clf(self) -> str:  # 05/Jan/2025:08:00:00 +0000 (API Gateway requestTime)
        dt = datetime.fromtimestamp(self.now, UTC)
        return f"{dt.day:02d}/{_MONTHS[dt.month - 1]}/{dt.year}:{dt:%H:%M:%S} +0000"

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"


def as_text(value: object) -> str:
    """A message body: strings as they are, anything else as JSON text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode()
    return json.dumps(value)


def as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return as_text(value).encode()


def md5_hex(data: str | bytes) -> str:
    return hashlib.md5(data.encode() if isinstance(data, str) else data).hexdigest()


def per_record(
    single: object, many: Sequence[object] | None, count: int | None, default: object
) -> list[object]:
    """The per-record values: ``many`` if given, else ``single`` (or the template's value)
    repeated ``count`` times."""
    if many is not None:
        return list(many)
    n = 1 if count is None else int(count)
    if n < 1:
        raise ValueError("count must be at least 1")
    return [default if single is None else single] * n
