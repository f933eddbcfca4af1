"""EventBridge stand-in: the default bus, custom buses, PutEvents — with EventBridge's words."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.resources import EventBridgeClient
from sandbox.resources.errors import (
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ValidationException,
)
from sandbox.store import resources

BUSES = "arn:aws:events:us-east-1:123456789012:event-bus"
ENTRY = {"Source": "shop", "DetailType": "Order Placed", "Detail": '{"id": 7}'}


@pytest.fixture
def events(sb: Sandbox) -> EventBridgeClient:
    return sb.eventbridge


# buses ----------------------------------------------------------------------------------------
def test_every_account_has_a_default_bus(events: EventBridgeClient) -> None:
    assert events.describe_event_bus() == {"Name": "default", "Arn": f"{BUSES}/default"}
    assert events.describe_event_bus(f"{BUSES}/default")["Name"] == "default"
    assert events.list_event_buses() == {
        "EventBuses": [{"Name": "default", "Arn": f"{BUSES}/default"}]
    }


def test_create_describe_and_list_custom_buses(events: EventBridgeClient, clock: FakeClock) -> None:
    assert events.create_event_bus("orders") == {"EventBusArn": f"{BUSES}/orders"}
    assert events.create_event_bus("audit", description="who did what") == {
        "EventBusArn": f"{BUSES}/audit",
        "Description": "who did what",
    }
    created = datetime.fromtimestamp(clock.time(), UTC)
    assert events.describe_event_bus("audit") == {
        "Name": "audit",
        "Arn": f"{BUSES}/audit",
        "Description": "who did what",
        "CreationTime": created,
        "LastModifiedTime": created,
    }
    names = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    assert names == ["audit", "default", "orders"]
    assert [b["Name"] for b in events.list_event_buses("or")["EventBuses"]] == ["orders"]


def test_a_bus_name_is_taken_once(events: EventBridgeClient) -> None:
    events.create_event_bus("orders")
    with pytest.raises(
        ResourceAlreadyExistsException, match=r"^Event bus orders already exists\.$"
    ):
        events.create_event_bus("orders")
    with pytest.raises(
        ResourceAlreadyExistsException, match=r"^Event bus default already exists\.$"
    ):
        events.create_event_bus("default")


def test_bus_name_rules(events: EventBridgeClient) -> None:
    message = (
        "1 validation error detected: Value 'a b' at 'name' failed to satisfy constraint: "
        r"Member must satisfy regular expression pattern: [/\.\-_A-Za-z0-9]+"
    )
    with pytest.raises(ValidationException, match=f"^{re.escape(message)}$") as caught:
        events.create_event_bus("a b")
    assert (caught.value.code, caught.value.status_code) == ("ValidationException", 400)
    with pytest.raises(ValidationException, match="length less than or equal to 256"):
        events.create_event_bus("a" * 257)
    with pytest.raises(ValidationException, match="reserved for partner event sources"):
        events.create_event_bus("aws.partner/acme.com/1/events")


def test_a_missing_bus(events: EventBridgeClient) -> None:
    with pytest.raises(ResourceNotFoundException, match=r"^Event bus nope does not exist\.$"):
        events.describe_event_bus("nope")
    with pytest.raises(ResourceNotFoundException, match=r"^Event bus nope does not exist\.$"):
        events.describe_event_bus(f"{BUSES}/nope")
    with pytest.raises(ResourceNotFoundException, match=r"^Event bus nope does not exist\.$"):
        events.received("nope")


def test_delete_event_bus(events: EventBridgeClient) -> None:
    events.create_event_bus("orders")
    events.put_events([ENTRY | {"EventBusName": "orders"}])
    events.delete_event_bus("orders")
    events.delete_event_bus("orders")  # a missing bus is no error, as on EventBridge
    with pytest.raises(ResourceNotFoundException):
        events.describe_event_bus("orders")
    events.create_event_bus("orders")
    assert events.received("orders") == []  # what it received went with it
    with pytest.raises(ValidationException, match=r"^Cannot delete event bus default\.$"):
        events.delete_event_bus("default")


# events ---------------------------------------------------------------------------------------
def test_put_events_records_the_full_envelope(events: EventBridgeClient) -> None:
    answer = events.put_events([ENTRY | {"Resources": ["arn:aws:s3:::bucket"]}])
    [entry] = answer["Entries"]
    assert answer == {"FailedEntryCount": 0, "Entries": [{"EventId": entry["EventId"]}]}
    assert events.received() == [
        {
            "version": "0",
            "id": entry["EventId"],
            "detail-type": "Order Placed",
            "source": "shop",
            "account": "123456789012",
            "time": "2025-01-05T08:00:00Z",
            "region": "us-east-1",
            "resources": ["arn:aws:s3:::bucket"],
            "detail": {"id": 7},
        }
    ]


def test_put_events_time_and_bus_by_name_or_arn(events: EventBridgeClient) -> None:
    events.create_event_bus("orders")
    moment = datetime(2024, 2, 29, 12, 30, 15, 999_000, tzinfo=UTC)
    events.put_events(
        [
            ENTRY | {"EventBusName": "orders", "Time": moment},
            ENTRY | {"EventBusName": f"{BUSES}/orders", "Time": 1_700_000_000},
        ]
    )
    times = [e["time"] for e in events.received("orders")]
    assert times == ["2024-02-29T12:30:15Z", "2023-11-14T22:13:20Z"]
    assert events.received() == []


@pytest.mark.parametrize(
    ("entry", "code", "message"),
    [
        ({}, "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required"),
        ({"Source": "s"}, "InvalidArgument", "Parameter DetailType is not valid. Reason: Deta"),
        (
            {"Source": "s", "DetailType": "d"},
            "InvalidArgument",
            "Parameter Detail is not valid. Reason: Detail is a required argument.",
        ),
        (ENTRY | {"Detail": "{oops"}, "MalformedDetail", "Detail is malformed."),
        (ENTRY | {"Detail": "[1, 2]"}, "MalformedDetail", "Detail is malformed."),
        (ENTRY | {"Source": "aws.s3"}, "NotAuthorizedForSourceException", "Not authorized"),
    ],
)
def test_a_bad_entry_fails_alone(
    events: EventBridgeClient, entry: dict[str, str], code: str, message: str
) -> None:
    answer = events.put_events([ENTRY, entry])
    assert answer["FailedEntryCount"] == 1
    good, bad = answer["Entries"]
    assert "EventId" in good
    assert bad["ErrorCode"] == code
    assert bad["ErrorMessage"].startswith(message)
    assert len(events.received()) == 1


def test_an_event_for_a_missing_bus_gets_an_id_and_goes_nowhere(
    events: EventBridgeClient,
) -> None:
    answer = events.put_events([ENTRY | {"EventBusName": "nowhere"}])
    assert answer["FailedEntryCount"] == 0 and "EventId" in answer["Entries"][0]
    events.create_event_bus("nowhere")
    assert events.received("nowhere") == []


def test_put_events_takes_one_to_ten_entries_under_256_kib(events: EventBridgeClient) -> None:
    with pytest.raises(ValidationException, match="length greater than or equal to 1"):
        events.put_events([])
    with pytest.raises(ValidationException, match="length less than or equal to 10"):
        events.put_events([ENTRY] * 11)
    big = ENTRY | {"Detail": '{"x": "' + "y" * 262_144 + '"}'}
    message = "Total size of the entries in the request is over the limit."
    with pytest.raises(ValidationException, match=f"^{message}$"):
        events.put_events([big])
    assert events.received() == []


def test_received_keeps_the_last_thousand(sb: Sandbox, events: EventBridgeClient) -> None:
    bus = f"{BUSES}/default"
    with sb._shared.db.transaction() as conn:
        for i in range(1_003):
            event = {"id": f"e{i}", "detail": {}}
            assert resources.put_event(conn, bus, event, now=sb.clock.time()) == f"e{i}"
    kept = [e["id"] for e in events.received()]
    assert kept == [f"e{i}" for i in range(3, 1_003)]


def test_buses_and_events_survive_reopening(tmp_path: Path) -> None:
    with Sandbox(tmp_path, clock=FakeClock()) as sb:
        sb.eventbridge.create_event_bus("orders")
        sb.eventbridge.put_events([ENTRY | {"EventBusName": "orders"}, ENTRY])
    with Sandbox(tmp_path, clock=FakeClock()) as sb:
        assert [e["source"] for e in sb.eventbridge.received("orders")] == ["shop"]
        assert len(sb.eventbridge.received()) == 1
        assert "CreationTime" in sb.eventbridge.describe_event_bus("orders")
