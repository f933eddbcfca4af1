"""EventBridge schedule expressions: ``rate(...)`` and AWS's six-field ``cron(...)``.

Why it exists: a scheduled rule fires a function on the sandbox clock, so the sandbox must
say when the next firing is due. The grammar and meaning follow the EventBridge user guide
("Schedule expressions for rules"): times are UTC; ``rate(value unit)`` with a positive
whole value and ``minute``/``hour``/``day`` singular exactly when the value is 1; ``cron``
with six fields — minutes, hours, day-of-month, month, day-of-week, year — where exactly one
of day-of-month and day-of-week is ``?``. Fields take ``,`` ``-`` ``*`` ``/``; months
``JAN``-``DEC``; days of the week ``1``-``7`` or ``SUN``-``SAT`` (1 is Sunday);
day-of-month also ``L`` (last day), ``nW`` (nearest weekday) and ``LW``; day-of-week also
``L`` (Saturday), ``nL`` (last such day of the month) and ``n#k`` (the k-th such day).

A rate counts from an anchor (when the rule was created or its schedule last changed):
firings are due at ``anchor + k * period`` for k >= 1.
"""

from __future__ import annotations

import calendar
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

__all__ = ["CronSchedule", "RateSchedule", "Schedule", "parse_schedule"]

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\(([^()]*)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {name: i + 1 for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
_SEARCH_YEARS = 8  # a cron that matches no day in this many years is treated as never due


@dataclass(frozen=True, slots=True)
class RateSchedule:
    """``rate(value unit)``: every ``seconds`` from the anchor."""

    expression: str
    seconds: int

    def next_after(self, moment: float, anchor: float) -> float | None:
        """The first firing strictly after ``moment``."""
        if moment < anchor:
            return anchor + self.seconds
        periods = math.floor((moment - anchor) / self.seconds) + 1
        return anchor + periods * self.seconds


DayTest = Callable[[date], bool]


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """``cron(minutes hours day-of-month month day-of-week year)``, in UTC."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day: DayTest

    def next_after(self, moment: float, anchor: float = 0.0) -> float | None:
        """The first firing strictly after ``moment`` (None: the schedule has ended)."""
        del anchor  # a cron does not count from its rule's creation
        start = datetime.fromtimestamp(moment, UTC).replace(second=0, microsecond=0)
        start += timedelta(minutes=1)
        minutes, hours = sorted(self.minutes), sorted(self.hours)
        day = start.date()
        for _ in range(366 * _SEARCH_YEARS):
            if day.year > max(self.years):
                return None
            if day.year in self.years and day.month in self.months and self.day(day):
                for hour in hours:
                    for minute in minutes:
                        found = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if found >= start:
                            return found.timestamp()
            day += timedelta(days=1)
        return None


Schedule = RateSchedule | CronSchedule


def parse_schedule(expression: str) -> Schedule:
    """Parse ``rate(...)`` or ``cron(...)``.

    Raises:
        ValueError: not a valid expression (EventBridge: "Parameter ScheduleExpression is
            not valid.").
    """
    if not isinstance(expression, str):
        raise ValueError("a schedule expression is text")
    rate = _RATE.fullmatch(expression)
    if rate:
        value, unit = int(rate[1]), rate[2]
        if value < 1 or (value == 1) != (not unit.endswith("s")):
            raise ValueError("rate: a positive value, the unit singular exactly for 1")
        return RateSchedule(expression, value * _UNIT_SECONDS[unit.rstrip("s")])
    cron = _CRON.fullmatch(expression)
    if cron is None:
        raise ValueError("neither rate(...) nor cron(...)")
    fields = cron[1].split()
    if len(fields) != 6:
        raise ValueError("cron takes six fields")
    minute, hour, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ValueError("exactly one of day-of-month and day-of-week must be ?")
    day = (
        _day_of_week_test(day_of_week) if day_of_month == "?" else _day_of_month_test(day_of_month)
    )
    return CronSchedule(
        expression,
        _values(minute, 0, 59),
        _values(hour, 0, 23),
        _values(month, 1, 12, _MONTHS),
        _values(year, 1970, 2199),
        day,
    )


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """The values a field of ``,``-separated ``*``, ``n``, ``n-m``, each with ``/step``."""
    found: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = _number(step_text, 1, high - low + 1) if step_text else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first_text, _, last_text = base.partition("-")
            first = _number(first_text, low, high, names)
            last = _number(last_text, low, high, names)
            if last < first:
                raise ValueError(f"range {base} runs backwards")
        else:
            first = _number(base, low, high, names)
            last = high if step_text else first
        found.update(range(first, last + 1, step))
    return frozenset(found)


def _number(text: str, low: int, high: int, names: dict[str, int] | None = None) -> int:
    if names is not None and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a number")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{value} is outside {low}-{high}")
    return value


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _weekday(day: date) -> int:
    """AWS's day of the week: 1 is Sunday, 7 is Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _nearest_weekday(day: date, wanted: int) -> int:
    """The weekday nearest the ``wanted`` day of ``day``'s month, without leaving it."""
    last = _last_day(day)
    target = date(day.year, day.month, min(wanted, last))
    if target.weekday() == 5:  # Saturday: the Friday before, or the Monday after the 1st
        return target.day - 1 if target.day > 1 else target.day + 2
    if target.weekday() == 6:  # Sunday: the Monday after, or the Friday before the last
        return target.day + 1 if target.day < last else target.day - 2
    return target.day


def _day_of_month_test(field: str) -> DayTest:
    tests: list[DayTest] = []
    for part in field.split(","):
        if part == "L":
            tests.append(_is_last_day)
        elif part == "LW":
            tests.append(_is_last_weekday)
        elif part.endswith("W"):
            tests.append(functools.partial(_is_nearest_weekday, _number(part[:-1], 1, 31)))
        else:
            tests.append(functools.partial(_day_in, _values(part, 1, 31)))
    return functools.partial(_any, tuple(tests))


def _day_of_week_test(field: str) -> DayTest:
    tests: list[DayTest] = []
    for part in field.split(","):
        if part == "L":
            tests.append(functools.partial(_weekday_in, frozenset({7})))
        elif part.endswith("L"):
            tests.append(functools.partial(_is_last_of_month, _number(part[:-1], 1, 7, _DAYS)))
        elif "#" in part:
            weekday_text, _, nth_text = part.partition("#")
            weekday = _number(weekday_text, 1, 7, _DAYS)
            tests.append(functools.partial(_is_nth, weekday, _number(nth_text, 1, 5)))
        else:
            tests.append(functools.partial(_weekday_in, _values(part, 1, 7, _DAYS)))
    return functools.partial(_any, tuple(tests))


def _any(tests: tuple[DayTest, ...], day: date) -> bool:
    return any(test(day) for test in tests)


def _is_last_day(day: date) -> bool:
    return day.day == _last_day(day)


def _is_last_weekday(day: date) -> bool:
    return day.day == _nearest_weekday(day, _last_day(day))


def _is_nearest_weekday(wanted: int, day: date) -> bool:
    return day.day == _nearest_weekday(day, wanted)


def _day_in(values: frozenset[int], day: date) -> bool:
    return day.day in values


def _weekday_in(values: frozenset[int], day: date) -> bool:
    return _weekday(day) in values


def _is_last_of_month(weekday: int, day: date) -> bool:
    """``nL``: the last such weekday of the month."""
    return _weekday(day) == weekday and day.day + 7 > _last_day(day)


def _is_nth(weekday: int, nth: int, day: date) -> bool:
    """``n#k``: the k-th such weekday of the month."""
    return _weekday(day) == weekday and (day.day - 1) // 7 + 1 == nth
