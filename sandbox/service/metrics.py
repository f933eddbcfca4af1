"""CloudWatch-style Lambda metrics, derived from the telemetry bus (spec §4).

Nothing is counted twice: invocation and throttle records are the only inputs, so the
metrics agree with the timeline and the explanations by construction.

* ``concurrency_series`` — ConcurrentExecutions as a step function of time (+1 when an
  invocation starts, -1 when it ends), optionally for one function or version.
* ``metric_rows`` — one row per function (or version, or qualifier) and period:
  Invocations, Errors, Throttles, Duration percentiles, ConcurrentExecutions (peak),
  ProvisionedConcurrencyInvocations, ProvisionedConcurrencySpilloverInvocations,
  ProvisionedConcurrencyUtilization (peak busy provisioned environments / provisioned),
  UnreservedConcurrentExecutions (peak of functions without reserved concurrency);
  per function also the asynchronous ones: AsyncEventsReceived, AsyncEventsDropped (events
  handled without a successful invocation), AsyncEventAgeMax (platform seconds from
  acceptance to the end of handling), DestinationDeliveryFailures, DeadLetterErrors.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable

from sandbox.core.telemetry import RecordKind, TelemetryRecord
from sandbox.service.telemetry import TelemetryBus

__all__ = ["concurrency_series", "metric_rows"]

Row = dict[str, object]


def _invocations(bus: TelemetryBus) -> list[TelemetryRecord]:
    return [
        r
        for r in bus.records(kind=RecordKind.INVOCATION)
        if r.end is not None and r.detail.get("status") != "queued"
    ]


def concurrency_series(
    bus: TelemetryBus,
    *,
    function_name: str | None = None,
    version: str | None = None,
    where: Callable[[TelemetryRecord], bool] | None = None,
) -> list[tuple[float, int]]:
    """(time, requests in flight from that time on), one point per change."""
    events: list[tuple[float, int]] = []
    for r in _invocations(bus):
        if function_name is not None and r.function_name != function_name:
            continue
        if version is not None and r.version != version:
            continue
        if where is not None and not where(r):
            continue
        assert r.end is not None
        events.append((r.time, 1))
        events.append((r.end, -1))
    events.sort(key=lambda e: (e[0], e[1]))  # ends before starts at the same instant
    series: list[tuple[float, int]] = []
    level = 0
    for t, delta in events:
        level += delta
        if series and series[-1][0] == t:
            series[-1] = (t, level)
        else:
            series.append((t, level))
    return series


def _peak(records: Iterable[TelemetryRecord]) -> int:
    events = sorted(
        [(r.time, 1) for r in records] + [(r.end or r.time, -1) for r in records],
        key=lambda e: (e[0], e[1]),
    )
    level = peak = 0
    for _, delta in events:
        level += delta
        peak = max(peak, level)
    return peak


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def metric_rows(
    bus: TelemetryBus,
    *,
    by: str = "function",
    period: float | None = None,
    function_name: str | None = None,
    provisioned: Callable[[str, str], int] | None = None,
    reserved: Callable[[str], int | None] | None = None,
) -> list[Row]:
    """Metrics grouped ``by`` ``"function"``, ``"version"`` or ``"qualifier"``, per
    ``period`` seconds of platform time (one row per group when ``period`` is None).

    ``provisioned(function, qualifier)`` gives the provisioned concurrency of a qualifier
    (for utilisation); ``reserved(function)`` tells which functions are unreserved.
    """
    if by not in ("function", "version", "qualifier"):
        raise ValueError("by must be 'function', 'version' or 'qualifier'")

    def group(r: TelemetryRecord) -> tuple[str, str]:
        if by == "version":
            return r.function_name, r.version
        if by == "qualifier":
            return r.function_name, str(r.detail.get("qualifier") or "$LATEST")
        return r.function_name, ""

    def bucket(t: float) -> float:
        return 0.0 if period is None else math.floor(t / period) * period

    invocations: defaultdict[tuple[str, str, float], list[TelemetryRecord]] = defaultdict(list)
    throttles: defaultdict[tuple[str, str, float], int] = defaultdict(int)
    asynchronous: defaultdict[tuple[str, str, float], list[TelemetryRecord]] = defaultdict(list)
    if by == "function":
        for r in bus.records(kind=RecordKind.ASYNC):
            if function_name is None or r.function_name == function_name:
                asynchronous[(r.function_name, "", bucket(r.time))].append(r)
    for r in _invocations(bus):
        if function_name is None or r.function_name == function_name:
            invocations[(*group(r), bucket(r.time))].append(r)
    for r in bus.records(kind=RecordKind.THROTTLE):
        if function_name is None or r.function_name == function_name:
            key = (
                r.function_name,
                str(r.detail.get("qualifier") or "$LATEST") if by == "qualifier" else "",
                bucket(r.time),
            )
            throttles[key] += 1
    unreserved = [
        r
        for recs in invocations.values()
        for r in recs
        if reserved is None or reserved(r.function_name) is None
    ]
    rows: list[Row] = []
    for key in sorted(set(invocations) | set(throttles) | set(asynchronous)):
        fn, sub, start = key
        recs = invocations.get(key, [])
        durations = [r.duration_ms for r in recs if r.duration_ms is not None]
        pc = [r for r in recs if r.init_type == "provisioned-concurrency"]
        row: Row = {"function_name": fn}
        if by != "function":
            row[by] = sub
        if period is not None:
            row["period_start"] = start
        row.update(
            Invocations=len(recs),
            Errors=sum(1 for r in recs if r.detail.get("status") != "success"),
            Throttles=throttles.get(key, 0),
            DurationP50=_percentile(durations, 50),
            DurationP90=_percentile(durations, 90),
            DurationP99=_percentile(durations, 99),
            DurationMax=max(durations) if durations else None,
            ConcurrentExecutions=_peak(recs),
            ColdStarts=sum(1 for r in recs if r.detail.get("cold")),
            ProvisionedConcurrencyInvocations=len(pc),
            ProvisionedConcurrencySpilloverInvocations=sum(
                1 for r in recs if r.detail.get("spillover")
            ),
        )
        if by == "qualifier" and provisioned is not None and provisioned(fn, sub):
            row["ProvisionedConcurrencyUtilization"] = _peak(pc) / provisioned(fn, sub)
        if period is not None:
            in_bucket = [r for r in unreserved if bucket(r.time) == start]
            row["UnreservedConcurrentExecutions"] = _peak(in_bucket)
        else:
            row["UnreservedConcurrentExecutions"] = _peak(unreserved)
        if by == "function":
            row.update(_async_metrics(asynchronous.get(key, [])))
        rows.append(row)
    return rows


def _async_metrics(records: list[TelemetryRecord]) -> Row:
    def count(status: str, target: str | None = None) -> int:
        return sum(
            1
            for r in records
            if r.detail.get("status") == status
            and (target is None or (r.detail.get("target") == "DeadLetter") == (target == "dlq"))
        )

    ages = [float(a) for r in records if isinstance(a := r.detail.get("age"), (int, float))]
    return {
        "AsyncEventsReceived": count("queued"),
        "AsyncEventsDropped": count("failed") + count("dropped"),
        "AsyncEventAgeMax": max(ages) if ages else None,
        "DestinationDeliveryFailures": count("delivery-failed", "destination"),
        "DeadLetterErrors": count("delivery-failed", "dlq"),
    }
