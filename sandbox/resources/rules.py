"""EventBridge rules and their targets: route a bus's events, or fire on a schedule.

Why it exists: a rule is how EventBridge invokes Lambda (spec §8.1) — an event pattern
(:mod:`sandbox.core.patterns`) picks events off a bus, or a ``rate(...)``/``cron(...)``
schedule (:mod:`sandbox.core.schedules`) fires on the sandbox clock, and each target gets
the event (or its ``Input``/``InputPath``) as an asynchronous invocation — provided the
function's policy lets ``events.amazonaws.com`` invoke it for that rule ARN. These are the
rule calls of boto3's ``events`` client, mixed into
:class:`~sandbox.resources.buses.EventBridgeClient`.

Not yet: targets other than Lambda functions, InputTransformer, retry policies and
dead-letter queues of targets, managed rules.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.core.clock import Clock
from sandbox.core.patterns import PatternError, matches, parse_pattern
from sandbox.core.schedules import parse_schedule
from sandbox.resources.errors import (
    InvalidEventPatternException,
    LimitExceededException,
    ResourceNotFoundException,
    ValidationException,
)
from sandbox.service.triggers import (
    Delivery,
    TriggerDispatcher,
    check_input_path,
    is_function_arn,
    rule_deliveries,
)
from sandbox.store import trigger_rows
from sandbox.store.db import Database
from sandbox.store.resource_rows import BusRow
from sandbox.store.trigger_rows import RuleRow

__all__ = ["RulesMixin", "route_event"]

# EventBridge API reference: RuleName, TargetId and the limits of PutRule and PutTargets
_NAME_PATTERN = r"[\.\-_A-Za-z0-9]+"
_NAME = re.compile(_NAME_PATTERN)
_STATES = ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
_MAX_TARGETS = 5  # EventBridge quotas: targets per rule


class RulesMixin:
    """PutRule, DescribeRule, ListRules, DeleteRule, EnableRule, DisableRule, PutTargets,
    RemoveTargets, ListTargetsByRule and TestEventPattern."""

    _db: Database
    _clock: Clock
    _triggers: TriggerDispatcher | None
    account_id: str
    region: str

    def _bus(self, conn: sqlite3.Connection, name_or_arn: str) -> BusRow:
        raise NotImplementedError  # EventBridgeClient's

    # rules --------------------------------------------------------------------------------
    def put_rule(
        self,
        name: str,
        event_pattern: str | None = None,
        schedule_expression: str | None = None,
        state: str = "ENABLED",
        description: str | None = None,
        event_bus_name: str = "default",
        role_arn: str | None = None,
    ) -> dict[str, str]:
        """Create or update a rule (its targets stay). A rule needs an event pattern
        (JSON text) or a schedule (``rate(5 minutes)``, ``cron(0 12 * * ? *)``; the default
        bus only). The rule ARN is ``arn:aws:events:REGION:ACCOUNT:rule/NAME``, with
        ``rule/BUS/NAME`` on a custom bus.

        Raises:
            ValidationException: a bad name, state or schedule, or neither pattern nor
                schedule.
            InvalidEventPatternException: the pattern is not a valid event pattern.
            ResourceNotFoundException: no such bus.
        """
        _check_name(name, "name")
        if state not in _STATES:
            raise _model_error(
                state, "state", f"Member must satisfy enum value set: [{', '.join(_STATES)}]"
            )
        if description is not None and len(description) > 512:
            raise _model_error(
                description, "description", "Member must have length less than or equal to 512"
            )
        if event_pattern is None and schedule_expression is None:
            raise ValidationException(
                "Parameter(s) EventPattern or ScheduleExpression must be specified."
            )
        if event_pattern is not None:
            _check_pattern(event_pattern, "eventPattern")
        if schedule_expression is not None:
            _check_schedule(schedule_expression)
        enabled = state != "DISABLED"
        with self._db.transaction() as conn:
            bus = self._bus(conn, event_bus_name)
            if schedule_expression is not None and bus.ref.name != "default":
                raise ValidationException(
                    "ScheduleExpression is supported only on the default event bus."
                )
            now = self._clock.time()
            old = trigger_rows.get_rule(conn, bus.ref.account, bus.ref.region, bus.ref.name, name)
            same_schedule = (
                old is not None and old.schedule == schedule_expression and old.enabled == enabled
            )
            rule = RuleRow(
                bus.ref.account,
                bus.ref.region,
                bus.ref.name,
                name,
                event_pattern,
                schedule_expression,
                state,
                description,
                role_arn,
                old.anchor if old is not None and same_schedule else now,
                old.last_fired if old is not None and same_schedule else None,
                old.created if old is not None else now,
            )
            trigger_rows.put_rule(conn, rule)
        if schedule_expression is not None or (old is not None and old.schedule is not None):
            self._schedules_changed()
        return {"RuleArn": rule.arn}

    def describe_rule(self, name: str, event_bus_name: str = "default") -> dict[str, Any]:
        """The rule: ``Name``, ``Arn``, ``EventPattern``/``ScheduleExpression``, ``State``,
        ``Description``, ``EventBusName``, ``CreatedBy``.

        Raises:
            ResourceNotFoundException: no such rule (or bus).
        """
        _check_name(name, "name")
        with self._db.read() as conn:
            rule = self._rule(conn, name, event_bus_name)
        shape = _describe(rule)
        shape["CreatedBy"] = rule.account
        return shape

    def list_rules(
        self,
        name_prefix: str | None = None,
        event_bus_name: str = "default",
        next_token: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """The bus's rules by name (``Limit`` a page, then ``NextToken``)."""
        if name_prefix is not None:
            _check_name(name_prefix, "namePrefix")
        size = _limit(limit)
        after = _token_name(next_token) if next_token is not None else ""
        with self._db.read() as conn:
            bus = self._bus(conn, event_bus_name)
            rules = trigger_rows.list_rules(
                conn, bus.ref.account, bus.ref.region, bus.ref.name, name_prefix or ""
            )
        rules = [r for r in rules if r.name > after]
        answer: dict[str, Any] = {"Rules": [_describe(r) for r in rules[:size]]}
        if len(rules) > size:
            answer["NextToken"] = _token(rules[size - 1].name)
        return answer

    def delete_rule(self, name: str, event_bus_name: str = "default", force: bool = False) -> None:
        """Delete a rule that has no targets left (deleting a missing rule is not an error).

        Raises:
            ValidationException: the rule still has targets.
        """
        del force  # for managed rules, which the sandbox does not have
        _check_name(name, "name")
        with self._db.transaction() as conn:
            bus = self._bus(conn, event_bus_name)
            rule = trigger_rows.get_rule(conn, bus.ref.account, bus.ref.region, bus.ref.name, name)
            if rule is None:
                return
            if trigger_rows.targets(conn, rule):
                raise ValidationException("Rule can't be deleted since it has targets.")
            trigger_rows.delete_rule(conn, rule)
        if rule.schedule is not None:
            self._schedules_changed()

    def enable_rule(self, name: str, event_bus_name: str = "default") -> None:
        """Enable a rule (a schedule counts its rate from now)."""
        self._set_state(name, event_bus_name, "ENABLED")

    def disable_rule(self, name: str, event_bus_name: str = "default") -> None:
        """Disable a rule: it matches nothing and its schedule stops."""
        self._set_state(name, event_bus_name, "DISABLED")

    def test_event_pattern(self, event_pattern: str, event: str) -> dict[str, bool]:
        """Whether the pattern matches the event (both JSON text): ``{"Result": bool}``.

        Raises:
            InvalidEventPatternException: the pattern is not valid.
            ValidationException: the event is not a JSON object.
        """
        pattern = _check_pattern(event_pattern, "eventPattern")
        try:
            parsed = json.loads(event)
        except (TypeError, ValueError):
            parsed = None
        if not isinstance(parsed, dict):
            raise ValidationException("Parameter Event is not valid.")
        return {"Result": matches(pattern, parsed)}

    # targets ------------------------------------------------------------------------------
    def put_targets(
        self, rule: str, targets: Sequence[Mapping[str, Any]], event_bus_name: str = "default"
    ) -> dict[str, Any]:
        """Add targets to a rule or replace those with the same ``Id``. A target is
        ``{"Id", "Arn" (a function ARN), "Input"? (JSON text), "InputPath"? (JSONPath)}``.
        Targets that are not Lambda functions come back in ``FailedEntries``.

        Raises:
            ValidationException: no targets or over 100, a bad Id, Input or InputPath.
            ResourceNotFoundException: no such rule (or bus).
            LimitExceededException: the rule would have more than 5 targets.
        """
        given = _check_targets(targets)
        failed = [
            {
                "TargetId": str(t["Id"]),
                "ErrorCode": "ValidationException",
                "ErrorMessage": f"The sandbox delivers rule targets to Lambda functions only, "
                f"not to {t['Arn']}.",
            }
            for t in given
            if not is_function_arn(str(t["Arn"]))
        ]
        accepted = [t for t in given if is_function_arn(str(t["Arn"]))]
        with self._db.transaction() as conn:
            found = self._rule(conn, rule, event_bus_name)
            existing = {str(t["Id"]) for t in trigger_rows.targets(conn, found)}
            if len(existing | {str(t["Id"]) for t in accepted}) > _MAX_TARGETS:
                raise LimitExceededException(
                    "The requested resource exceeds the maximum number allowed."
                )
            trigger_rows.put_targets(conn, found, accepted, self._clock.time())
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    def remove_targets(
        self,
        rule: str,
        ids: Sequence[str],
        event_bus_name: str = "default",
        force: bool = False,
    ) -> dict[str, Any]:
        """Remove targets by Id (Ids the rule does not have are ignored).

        Raises:
            ValidationException: no Ids or over 100.
            ResourceNotFoundException: no such rule (or bus).
        """
        del force
        ids = list(ids)
        _check_count(ids, "ids")
        for target_id in ids:
            _check_name(target_id, "ids.member", 64)
        with self._db.transaction() as conn:
            found = self._rule(conn, rule, event_bus_name)
            trigger_rows.remove_targets(conn, found, ids)
        return {"FailedEntryCount": 0, "FailedEntries": []}

    def list_targets_by_rule(
        self,
        rule: str,
        event_bus_name: str = "default",
        next_token: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """The rule's targets as given, in the order added.

        Raises:
            ResourceNotFoundException: no such rule (or bus).
        """
        size = _limit(limit)
        start = int(_token_name(next_token)) if next_token is not None else 0
        with self._db.read() as conn:
            found = trigger_rows.targets(conn, self._rule(conn, rule, event_bus_name))
        answer: dict[str, Any] = {"Targets": found[start : start + size]}
        if len(found) > start + size:
            answer["NextToken"] = _token(str(start + size))
        return answer

    # helpers ------------------------------------------------------------------------------
    def _rule(self, conn: sqlite3.Connection, name: str, event_bus_name: str) -> RuleRow:
        _check_name(name, "rule")
        bus = self._bus(conn, event_bus_name)
        found = trigger_rows.get_rule(conn, bus.ref.account, bus.ref.region, bus.ref.name, name)
        if found is None:
            raise ResourceNotFoundException(
                f"Rule {name} does not exist on EventBus {bus.ref.name}."
            )
        return found

    def _set_state(self, name: str, event_bus_name: str, state: str) -> None:
        _check_name(name, "name")
        with self._db.transaction() as conn:
            rule = self._rule(conn, name, event_bus_name)
            if rule.enabled == (state == "ENABLED"):
                return
            trigger_rows.set_rule_state(conn, rule, state, self._clock.time())
        if rule.schedule is not None:
            self._schedules_changed()

    def _schedules_changed(self) -> None:
        if self._triggers is not None:
            self._triggers.schedules.sync()


def route_event(
    conn: sqlite3.Connection, account: str, region: str, bus: str, event: Mapping[str, Any]
) -> list[Delivery]:
    """The pushes an event put on a bus makes: every target of every enabled rule of the
    bus whose pattern matches it."""
    deliveries: list[Delivery] = []
    for rule in trigger_rows.rules_of_bus(conn, account, region, bus):
        try:
            pattern = parse_pattern(str(rule.event_pattern), max_length=1 << 30)
        except PatternError:  # stored patterns were validated
            continue
        if matches(pattern, event):
            targets = trigger_rows.targets(conn, rule)
            deliveries.extend(rule_deliveries(rule, targets, event, "eventbridge"))
    return deliveries


def _describe(rule: RuleRow) -> dict[str, Any]:
    shape: dict[str, Any] = {"Name": rule.name, "Arn": rule.arn}
    if rule.event_pattern is not None:
        shape["EventPattern"] = rule.event_pattern
    if rule.schedule is not None:
        shape["ScheduleExpression"] = rule.schedule
    shape["State"] = rule.state
    if rule.description is not None:
        shape["Description"] = rule.description
    if rule.role_arn is not None:
        shape["RoleArn"] = rule.role_arn
    shape["EventBusName"] = rule.bus
    return shape


def _model_error(value: object, member: str, constraint: str) -> ValidationException:
    return ValidationException(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {constraint}"
    )


def _check_name(name: str, member: str, longest: int = 64) -> None:
    if not isinstance(name, str) or not 1 <= len(name) <= longest:
        raise _model_error(name, member, f"Member must have length less than or equal to {longest}")
    if not _NAME.fullmatch(name):
        raise _model_error(
            name, member, f"Member must satisfy regular expression pattern: {_NAME_PATTERN}"
        )


def _check_pattern(text: str, member: str) -> dict[str, Any]:
    if isinstance(text, str) and len(text) > 4096:
        raise _model_error(text, member, "Member must have length less than or equal to 4096")
    try:
        return parse_pattern(text)
    except PatternError as exc:  # PutRule API reference, InvalidEventPatternException
        raise InvalidEventPatternException(
            f"Event pattern is not valid. Reason: {exc.reason}"
        ) from exc


def _check_schedule(expression: str) -> None:
    try:
        parse_schedule(expression)
    except ValueError as exc:
        raise ValidationException("Parameter ScheduleExpression is not valid.") from exc


def _check_count(items: Sequence[object], member: str) -> None:
    if not 1 <= len(items) <= 100:
        bound = "greater than or equal to 1" if not items else "less than or equal to 100"
        raise ValidationException(
            f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
            f"Member must have length {bound}"
        )


def _check_targets(targets: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    given = [dict(t) for t in targets]
    _check_count(given, "targets")
    for target in given:
        target_id = target.get("Id")
        _check_name(str(target_id) if target_id is not None else "", "targets.member.id", 64)
        arn = target.get("Arn")
        if not isinstance(arn, str) or not 1 <= len(arn) <= 1600:
            raise _model_error(arn, "targets.member.arn", "Member must not be null")
        chosen = [k for k in ("Input", "InputPath", "InputTransformer") if target.get(k)]
        if len(chosen) > 1:
            raise ValidationException(
                "Only one of Input, InputPath, or InputTransformer must be provided."
            )
        if target.get("InputTransformer"):
            raise ValidationException("InputTransformer is not supported by the sandbox yet.")
        if target.get("Input") is not None:
            try:
                json.loads(str(target["Input"]))
            except ValueError as exc:
                raise ValidationException("Parameter Input is not valid JSON.") from exc
        if target.get("InputPath") is not None:
            try:
                check_input_path(str(target["InputPath"]))
            except ValueError as exc:
                raise ValidationException("Parameter InputPath is not valid.") from exc
    ids = [str(t["Id"]) for t in given]
    if len(set(ids)) != len(ids):
        raise ValidationException("The Ids of the targets must be unique.")
    return given


def _limit(limit: int | None) -> int:
    if limit is None:
        return 100
    if not 1 <= limit <= 100:
        bound = "greater than or equal to 1" if limit < 1 else "less than or equal to 100"
        raise _model_error(limit, "limit", f"Member must have value {bound}")
    return limit


def _token(value: str) -> str:
    return base64.urlsafe_b64encode(f"after:{value}".encode()).decode()


def _token_name(token: str) -> str:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        text = ""
    if not text.startswith("after:"):
        raise ValidationException("The nextToken provided is invalid.")
    return text[len("after:") :]
