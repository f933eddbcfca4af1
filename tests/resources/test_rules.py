"""EventBridge rules and targets: the rule API with EventBridge's answers and errors, and
put_events routing matched events to Lambda targets — denied without a permission,
invoked asynchronously (end to end, with real function processes) with one."""

from __future__ import annotations

import json

import pytest

from sandbox import Sandbox
from sandbox.resources.errors import (
    InvalidEventPatternException,
    LimitExceededException,
    ResourceNotFoundException,
    ValidationException,
)

ACCOUNT = "123456789012"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function"
RULES = f"arn:aws:events:us-east-1:{ACCOUNT}:rule"
SHOP = json.dumps({"source": ["shop"], "detail": {"total": [{"numeric": [">", 10]}]}})
ECHO = "def lambda_handler(event, context):\n    return event\n"


def order(total: int, source: str = "shop", bus: str | None = None) -> dict[str, str]:
    entry = {"Source": source, "DetailType": "Order", "Detail": json.dumps({"total": total})}
    if bus is not None:
        entry["EventBusName"] = bus
    return entry


def triggers(sb: Sandbox) -> list[dict[str, object]]:
    return sb.telemetry.rows(kind="trigger")


# the rule API ---------------------------------------------------------------------------------
def test_put_rule_arns_and_describe(sb: Sandbox) -> None:
    events = sb.eventbridge
    assert events.put_rule("orders", event_pattern=SHOP) == {"RuleArn": f"{RULES}/orders"}
    events.create_event_bus("shop-bus")
    custom = events.put_rule("big", event_pattern=SHOP, event_bus_name="shop-bus")
    assert custom == {"RuleArn": f"{RULES}/shop-bus/big"}
    assert events.describe_rule("orders") == {
        "Name": "orders",
        "Arn": f"{RULES}/orders",
        "EventPattern": SHOP,
        "State": "ENABLED",
        "EventBusName": "default",
        "CreatedBy": ACCOUNT,
    }
    bus_arn = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/shop-bus"
    described = events.describe_rule("big", event_bus_name=bus_arn)
    assert (described["EventBusName"], described["Arn"]) == ("shop-bus", f"{RULES}/shop-bus/big")


def test_put_rule_updates_and_keeps_targets(sb: Sandbox) -> None:
    events = sb.eventbridge
    events.put_rule("orders", event_pattern=SHOP)
    events.put_targets("orders", [{"Id": "t1", "Arn": f"{FN}:fn"}])
    events.put_rule("orders", event_pattern=SHOP, description="big orders", state="DISABLED")
    described = events.describe_rule("orders")
    assert (described["State"], described["Description"]) == ("DISABLED", "big orders")
    assert events.list_targets_by_rule("orders") == {"Targets": [{"Id": "t1", "Arn": f"{FN}:fn"}]}


def test_list_rules_prefix_and_pages(sb: Sandbox) -> None:
    events = sb.eventbridge
    for name in ("b-rule", "a-rule", "a-other", "c"):
        events.put_rule(name, event_pattern=SHOP)
    names = [r["Name"] for r in events.list_rules()["Rules"]]
    assert names == ["a-other", "a-rule", "b-rule", "c"]
    assert [r["Name"] for r in events.list_rules(name_prefix="a-")["Rules"]] == [
        "a-other",
        "a-rule",
    ]
    page = events.list_rules(limit=3)
    assert [r["Name"] for r in page["Rules"]] == ["a-other", "a-rule", "b-rule"]
    rest = events.list_rules(limit=3, next_token=page["NextToken"])
    assert [r["Name"] for r in rest["Rules"]] == ["c"] and "NextToken" not in rest
    assert events.list_rules()["Rules"][0] == {
        "Name": "a-other",
        "Arn": f"{RULES}/a-other",
        "EventPattern": SHOP,
        "State": "ENABLED",
        "EventBusName": "default",
    }


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"name": "bad name"},
            ValidationException,
            "1 validation error detected: Value 'bad name' at 'name' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
        ),
        (
            {"name": "x" * 65},
            ValidationException,
            f"1 validation error detected: Value '{'x' * 65}' at 'name' failed to satisfy "
            "constraint: Member must have length less than or equal to 64",
        ),
        (
            {"state": "ON"},
            ValidationException,
            "1 validation error detected: Value 'ON' at 'state' failed to satisfy constraint: "
            "Member must satisfy enum value set: [ENABLED, DISABLED, "
            "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]",
        ),
        (
            {"event_pattern": None},
            ValidationException,
            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
        ),
        (
            {"event_pattern": '{"source": "shop"}'},
            InvalidEventPatternException,
            "Event pattern is not valid. Reason: Match value must be an array or an object, "
            "not a string (at source)",
        ),
        (
            {"event_pattern": "{not json"},
            InvalidEventPatternException,
            "Event pattern is not valid. Reason: Pattern is not valid JSON",
        ),
        (
            {"event_pattern": json.dumps({"k": ["x" * 4100]})},
            ValidationException,
            "at 'eventPattern' failed to satisfy constraint: Member must have length less "
            "than or equal to 4096",
        ),
        (
            {"event_pattern": None, "schedule_expression": "rate(1 minutes)"},
            ValidationException,
            "Parameter ScheduleExpression is not valid.",
        ),
        (
            {"event_bus_name": "nope"},
            ResourceNotFoundException,
            "Event bus nope does not exist.",
        ),
    ],
)
def test_put_rule_errors(
    sb: Sandbox, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    call: dict[str, object] = {"name": "r", "event_pattern": SHOP, **kwargs}
    with pytest.raises(error) as info:
        sb.eventbridge.put_rule(**call)  # type: ignore[arg-type]
    assert message in str(info.value)
    assert sb.eventbridge.list_rules()["Rules"] == []


def test_schedules_only_on_the_default_bus(sb: Sandbox) -> None:
    sb.eventbridge.create_event_bus("custom")
    with pytest.raises(
        ValidationException, match=r"^ScheduleExpression is supported only on the default event bus"
    ):
        sb.eventbridge.put_rule(
            "tick", schedule_expression="rate(5 minutes)", event_bus_name="custom"
        )


def test_missing_rules(sb: Sandbox) -> None:
    events = sb.eventbridge
    message = "^Rule nope does not exist on EventBus default.$"
    with pytest.raises(ResourceNotFoundException, match=message):
        events.describe_rule("nope")
    with pytest.raises(ResourceNotFoundException, match=message):
        events.enable_rule("nope")
    with pytest.raises(ResourceNotFoundException, match=message):
        events.put_targets("nope", [{"Id": "t", "Arn": f"{FN}:fn"}])
    with pytest.raises(ResourceNotFoundException, match=message):
        events.list_targets_by_rule("nope")
    with pytest.raises(ResourceNotFoundException, match=message):
        events.remove_targets("nope", ["t"])
    events.delete_rule("nope")  # deleting a missing rule is not an error


def test_delete_rule_needs_no_targets(sb: Sandbox) -> None:
    events = sb.eventbridge
    events.put_rule("orders", event_pattern=SHOP)
    events.put_targets("orders", [{"Id": "t1", "Arn": f"{FN}:fn"}])
    with pytest.raises(
        ValidationException, match=r"^Rule can't be deleted since it has targets\.$"
    ):
        events.delete_rule("orders")
    assert events.remove_targets("orders", ["t1", "unknown"]) == {
        "FailedEntryCount": 0,
        "FailedEntries": [],
    }
    events.delete_rule("orders")
    assert events.list_rules()["Rules"] == []


def test_enable_and_disable(sb: Sandbox) -> None:
    events = sb.eventbridge
    events.put_rule("orders", event_pattern=SHOP)
    events.disable_rule("orders")
    assert events.describe_rule("orders")["State"] == "DISABLED"
    events.enable_rule("orders")
    assert events.describe_rule("orders")["State"] == "ENABLED"


def test_put_targets_answers_and_rules(sb: Sandbox) -> None:
    events = sb.eventbridge
    events.put_rule("orders", event_pattern=SHOP)
    answer = events.put_targets(
        "orders",
        [
            {"Id": "fn", "Arn": f"{FN}:fn", "Input": '{"fixed": true}'},
            {"Id": "queue", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"},
        ],
    )
    assert answer["FailedEntryCount"] == 1
    (failed,) = answer["FailedEntries"]
    assert (failed["TargetId"], failed["ErrorCode"]) == ("queue", "ValidationException")
    assert "Lambda functions only" in failed["ErrorMessage"]
    events.put_targets("orders", [{"Id": "path", "Arn": f"{FN}:other", "InputPath": "$.detail"}])
    events.put_targets("orders", [{"Id": "fn", "Arn": f"{FN}:fn:prod"}])  # replaced by Id
    assert events.list_targets_by_rule("orders")["Targets"] == [
        {"Id": "fn", "Arn": f"{FN}:fn:prod"},
        {"Id": "path", "Arn": f"{FN}:other", "InputPath": "$.detail"},
    ]
    page = events.list_targets_by_rule("orders", limit=1)
    assert [t["Id"] for t in page["Targets"]] == ["fn"]
    rest = events.list_targets_by_rule("orders", limit=1, next_token=page["NextToken"])
    assert [t["Id"] for t in rest["Targets"]] == ["path"]


@pytest.mark.parametrize(
    ("targets", "error", "message"),
    [
        ([], ValidationException, "Member must have length greater than or equal to 1"),
        (
            [{"Id": "t", "Arn": f"{FN}:fn", "Input": "{", "InputPath": "$"}],
            ValidationException,
            "Only one of Input, InputPath, or InputTransformer must be provided.",
        ),
        (
            [{"Id": "t", "Arn": f"{FN}:fn", "Input": "{not json"}],
            ValidationException,
            "Parameter Input is not valid JSON.",
        ),
        (
            [{"Id": "t", "Arn": f"{FN}:fn", "InputPath": "detail.id"}],
            ValidationException,
            "Parameter InputPath is not valid.",
        ),
        (
            [{"Id": "bad id", "Arn": f"{FN}:fn"}],
            ValidationException,
            "at 'targets.member.id' failed to satisfy constraint",
        ),
        (
            [{"Id": f"t{i}", "Arn": f"{FN}:fn"} for i in range(6)],
            LimitExceededException,
            "The requested resource exceeds the maximum number allowed.",
        ),
    ],
)
def test_put_targets_errors(
    sb: Sandbox, targets: list[dict[str, str]], error: type[Exception], message: str
) -> None:
    sb.eventbridge.put_rule("orders", event_pattern=SHOP)
    with pytest.raises(error) as info:
        sb.eventbridge.put_targets("orders", targets)
    assert message in str(info.value)
    assert sb.eventbridge.list_targets_by_rule("orders")["Targets"] == []


def test_test_event_pattern(sb: Sandbox) -> None:
    event = json.dumps({"source": "shop", "detail": {"total": 25}})
    assert sb.eventbridge.test_event_pattern(SHOP, event) == {"Result": True}
    small = json.dumps({"source": "shop", "detail": {"total": 5}})
    assert sb.eventbridge.test_event_pattern(SHOP, small) == {"Result": False}
    with pytest.raises(InvalidEventPatternException, match=r"^Event pattern is not valid"):
        sb.eventbridge.test_event_pattern("[]", event)


# routing --------------------------------------------------------------------------------------
def test_matching_events_without_permission_are_denied(sb: Sandbox) -> None:
    sb.create_function("fn", ECHO)
    events = sb.eventbridge
    events.put_rule("orders", event_pattern=SHOP)
    events.put_targets("orders", [{"Id": "t1", "Arn": f"{FN}:fn"}])
    put = events.put_events([order(25), order(5), order(25, source="other")])
    assert put["FailedEntryCount"] == 0
    (record,) = triggers(sb)  # only the matching event is routed
    assert record["status"] == "denied"
    assert record["trigger"] == "eventbridge"
    assert record["principal"] == "events.amazonaws.com"
    assert record["source_arn"] == f"{RULES}/orders"
    assert record["function_arn"] == f"{FN}:fn"
    assert record["event_id"] == put["Entries"][0]["EventId"]
    assert record["request_id"] == ""
    assert "add_permission for events.amazonaws.com" in str(record["reason"])
    assert sb.async_events() == []  # nothing was invoked


def test_disabled_rules_and_other_buses_route_nothing(sb: Sandbox) -> None:
    sb.create_function("fn", ECHO)
    events = sb.eventbridge
    events.create_event_bus("shop-bus")
    events.put_rule("orders", event_pattern=SHOP, event_bus_name="shop-bus")
    events.put_targets("orders", [{"Id": "t1", "Arn": f"{FN}:fn"}], event_bus_name="shop-bus")
    events.put_events([order(25)])  # the default bus has no rule
    assert triggers(sb) == []
    events.disable_rule("orders", event_bus_name="shop-bus")
    events.put_events([order(25, bus="shop-bus")])
    assert triggers(sb) == []
    events.enable_rule("orders", event_bus_name="shop-bus")
    events.put_events([order(25, bus="shop-bus")])
    assert [r["source_arn"] for r in triggers(sb)] == [f"{RULES}/shop-bus/orders"]


def test_deleting_a_bus_deletes_its_rules(sb: Sandbox) -> None:
    events = sb.eventbridge
    events.create_event_bus("shop-bus")
    events.put_rule("orders", event_pattern=SHOP, event_bus_name="shop-bus")
    events.put_targets("orders", [{"Id": "t1", "Arn": f"{FN}:fn"}], event_bus_name="shop-bus")
    events.delete_event_bus("shop-bus")
    events.create_event_bus("shop-bus")
    assert events.list_rules(event_bus_name="shop-bus")["Rules"] == []


def test_missing_function_is_a_failed_delivery(sb: Sandbox) -> None:
    events = sb.eventbridge
    events.put_rule("orders", event_pattern=SHOP)
    events.put_targets("orders", [{"Id": "t1", "Arn": f"{FN}:gone"}])
    events.put_events([order(25)])
    (record,) = triggers(sb)
    assert record["status"] == "failed"
    assert record["reason"] == f"Function not found: {FN}:gone"


@pytest.mark.process
@pytest.mark.timeout(90)
def test_matched_events_invoke_targets_asynchronously(sb: Sandbox) -> None:
    sb.create_function("fn", ECHO)
    url = sb.sqs.create_queue("seen")["QueueUrl"]
    sb.put_function_event_invoke_config(
        "fn",
        destination_config={"OnSuccess": {"Destination": f"arn:aws:sqs:us-east-1:{ACCOUNT}:seen"}},
    )
    sb.add_permission(
        "fn",
        "events",
        "lambda:InvokeFunction",
        "events.amazonaws.com",
        source_arn=f"{RULES}/*",
        source_account=ACCOUNT,
    )
    events = sb.eventbridge
    events.put_rule("orders", event_pattern=SHOP)
    events.put_targets(
        "orders",
        [
            {"Id": "whole", "Arn": f"{FN}:fn"},
            {"Id": "fixed", "Arn": f"{FN}:fn", "Input": '{"fixed": [1, 2]}'},
            {"Id": "detail", "Arn": f"{FN}:fn", "InputPath": "$.detail"},
        ],
    )
    put = events.put_events([order(25)])
    records = triggers(sb)
    assert [r["status"] for r in records] == ["invoked"] * 3
    request_ids = {str(r["request_id"]) for r in records}
    assert request_ids == {e["request_id"] for e in sb.async_events("fn")}
    assert sb.drain(60)
    got = sb.sqs.receive_message(url, max_number_of_messages=10)["Messages"]
    payloads = {
        json.loads(m["Body"])["requestContext"]["requestId"]: json.loads(m["Body"])[
            "requestPayload"
        ]
        for m in got
    }
    by_target = {str(r["target_id"]): payloads[str(r["request_id"])] for r in records}
    (envelope,) = sb.eventbridge.received()
    assert by_target["whole"] == envelope
    assert envelope["id"] == put["Entries"][0]["EventId"]
    assert envelope["source"] == "shop" and envelope["detail"] == {"total": 25}
    assert by_target["fixed"] == {"fixed": [1, 2]}
    assert by_target["detail"] == {"total": 25}


def test_more_model_checks(sb: Sandbox) -> None:
    events = sb.eventbridge
    with pytest.raises(ValidationException, match="at 'description' failed to satisfy"):
        events.put_rule("r", event_pattern=SHOP, description="x" * 513)
    events.put_rule("r", event_pattern=SHOP)
    with pytest.raises(ValidationException, match="at 'limit' failed to satisfy"):
        events.list_rules(limit=0)
    with pytest.raises(ValidationException, match="The nextToken provided is invalid"):
        events.list_rules(next_token="bogus")
    with pytest.raises(ValidationException, match="Member must have length greater than or equal"):
        events.remove_targets("r", [])
    with pytest.raises(ValidationException, match="The Ids of the targets must be unique"):
        events.put_targets("r", [{"Id": "t", "Arn": f"{FN}:a"}, {"Id": "t", "Arn": f"{FN}:b"}])
    with pytest.raises(ValidationException, match=r"^Parameter Event is not valid\.$"):
        events.test_event_pattern(SHOP, "[1, 2]")
    events.enable_rule("r")  # enabling an enabled rule changes nothing
    assert events.describe_rule("r")["State"] == "ENABLED"
