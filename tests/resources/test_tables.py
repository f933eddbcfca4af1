"""DynamoDB stand-in: tables, items and the stream records their changes make — with
DynamoDB's rules and messages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from sandbox import FakeClock, Sandbox, events
from sandbox.resources.stream_errors import DynamoDBValidationException, TableInUse, TableNotFound
from sandbox.resources.tables import DynamoDBClient
from sandbox.store import stream_rows
from tests.botocore_shapes import conforms

KEY = [{"AttributeName": "id", "KeyType": "HASH"}]
DEFS = [{"AttributeName": "id", "AttributeType": "S"}]
ONE = {"id": {"S": "1"}}


@pytest.fixture
def ddb(sb: Sandbox) -> DynamoDBClient:
    return sb.dynamodb


def _create(
    ddb: DynamoDBClient, view: str | None = "NEW_AND_OLD_IMAGES", name: str = "Orders"
) -> dict[str, Any]:
    spec = {"StreamEnabled": True, "StreamViewType": view} if view else None
    return dict(ddb.create_table(name, KEY, DEFS, stream_specification=spec)["TableDescription"])


def _events(ddb: DynamoDBClient, table: str = "Orders") -> list[tuple[str, dict[str, Any]]]:
    return [(r["eventName"], r["dynamodb"]) for r in ddb.stream_records(table)]


def _exact(message: str) -> str:
    """A ``match=`` pattern for exactly this message."""
    return f"^{re.escape(message)}$"


def _invalid(message: str) -> Any:
    return pytest.raises(DynamoDBValidationException, match=f"^{re.escape(message)}$")


# tables ---------------------------------------------------------------------------------------
def test_create_describe_list_delete(ddb: DynamoDBClient, clock: FakeClock) -> None:
    created = _create(ddb)
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2025-01-05T08:00:00.000"
    assert created["TableStatus"] == "CREATING"
    assert created["LatestStreamArn"] == arn
    assert created["LatestStreamLabel"] == "2025-01-05T08:00:00.000"
    assert created["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert created["TableArn"] == "arn:aws:dynamodb:us-east-1:123456789012:table/Orders"
    assert created["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ddb.put_item("Orders", {"id": {"S": "1"}, "n": {"N": "10"}})
    table = ddb.describe_table("Orders")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert (table["ItemCount"], table["TableSizeBytes"]) == (1, 2 + 1 + 1 + 2)  # id "1", n 10
    assert table["CreationDateTime"] == datetime(2025, 1, 5, 8, tzinfo=UTC)
    assert ddb.describe_table(table["TableArn"]) == {"Table": table}  # by ARN
    with pytest.raises(TableInUse, match=_exact("Table already exists: Orders")) as caught:
        _create(ddb)
    assert caught.value.code == "ResourceInUseException"
    for name in ("Zeta", "Alpha"):
        _create(ddb, None, name)
    assert ddb.list_tables() == {"TableNames": ["Alpha", "Orders", "Zeta"]}
    assert ddb.list_tables(limit=1) == {"TableNames": ["Alpha"], "LastEvaluatedTableName": "Alpha"}
    assert ddb.list_tables(exclusive_start_table_name="Alpha")["TableNames"] == ["Orders", "Zeta"]
    deleted = ddb.delete_table("Orders")["TableDescription"]
    assert deleted["TableStatus"] == "DELETING"
    with pytest.raises(
        TableNotFound, match=_exact("Requested resource not found: Table: Orders not found")
    ):
        ddb.describe_table("Orders")
    with pytest.raises(TableNotFound, match=_exact("Requested resource not found")):
        ddb.get_item("Orders", ONE)


def test_create_table_rules(ddb: DynamoDBClient) -> None:
    pattern = (
        "1 validation error detected: Value 'a;b' at 'tableName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
    )
    with _invalid(pattern):
        ddb.create_table("a;b", KEY, DEFS)
    with _invalid("TableName must be at least 3 characters long and at most 255 characters long"):
        ddb.create_table("ab", KEY, DEFS)
    both = [
        {"AttributeName": "id", "AttributeType": "S"},
        {"AttributeName": "at", "AttributeType": "N"},
    ]
    with _invalid("Invalid KeySchema: The first KeySchemaElement is not a HASH key type"):
        ddb.create_table("T1x", [{"AttributeName": "id", "KeyType": "RANGE"}], DEFS)
    with _invalid("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"):
        ddb.create_table("T1x", [KEY[0], {"AttributeName": "at", "KeyType": "HASH"}], both)
    with _invalid(
        "Both the Hash Key and the Range Key element in the KeySchema have the same name"
    ):
        ddb.create_table("T1x", [KEY[0], {"AttributeName": "id", "KeyType": "RANGE"}], DEFS)
    with _invalid(
        "One or more parameter values were invalid: Some index key attributes are not defined in "
        "AttributeDefinitions. Keys: [id], AttributeDefinitions: [at]"
    ):
        ddb.create_table("T1x", KEY, [both[1]])
    with _invalid(
        "One or more parameter values were invalid: Number of attributes in KeySchema does not "
        "exactly match number of attributes defined in AttributeDefinitions"
    ):
        ddb.create_table("T1x", KEY, both)
    with _invalid("Attribute Name is duplicated: id"):
        ddb.create_table("T1x", KEY, [*DEFS, *DEFS])
    with _invalid(
        "1 validation error detected: Value 'SS' at 'attributeDefinitions.1.member.attributeType' "
        "failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
    ):
        ddb.create_table("T1x", KEY, [{"AttributeName": "id", "AttributeType": "SS"}])
    with _invalid(
        "One or more parameter values were invalid: Neither ReadCapacityUnits nor "
        "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
    ):
        ddb.create_table(
            "T1x",
            KEY,
            DEFS,
            provisioned_throughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        )
    with _invalid(
        "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits "
        "must both be specified when BillingMode is PROVISIONED"
    ):
        ddb.create_table("T1x", KEY, DEFS, billing_mode="PROVISIONED")
    with _invalid(
        "One or more parameter values were invalid: Table is being created with a stream "
        "enabled, UpdateViewType is required"
    ):
        ddb.create_table("T1x", KEY, DEFS, stream_specification={"StreamEnabled": True})
    with _invalid(
        "One or more parameter values were invalid: Table is being created with a stream "
        "disabled, UpdateViewType should not be specified"
    ):
        ddb.create_table(
            "T1x",
            KEY,
            DEFS,
            stream_specification={"StreamEnabled": False, "StreamViewType": "KEYS_ONLY"},
        )
    with _invalid(
        "1 validation error detected: Value 'ALL' at 'streamSpecification.streamViewType' failed "
        "to satisfy constraint: Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, "
        "NEW_AND_OLD_IMAGES, KEYS_ONLY]"
    ):
        ddb.create_table(
            "T1x", KEY, DEFS, stream_specification={"StreamEnabled": True, "StreamViewType": "ALL"}
        )
    assert ddb.list_tables() == {"TableNames": []}  # nothing half-made
    made = ddb.create_table(
        "T1x",
        KEY,
        DEFS,
        billing_mode="PROVISIONED",
        provisioned_throughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 2},
    )["TableDescription"]
    assert made["ProvisionedThroughput"] == {
        "NumberOfDecreasesToday": 0,
        "ReadCapacityUnits": 5,
        "WriteCapacityUnits": 2,
    }
    assert made["BillingModeSummary"] == {"BillingMode": "PROVISIONED"}
    assert "StreamSpecification" not in made and "LatestStreamArn" not in made


# streams --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("view", "images"),
    [
        ("KEYS_ONLY", [set(), set(), set()]),
        ("NEW_IMAGE", [{"NewImage"}, {"NewImage"}, set()]),
        ("OLD_IMAGE", [set(), {"OldImage"}, {"OldImage"}]),
        ("NEW_AND_OLD_IMAGES", [{"NewImage"}, {"NewImage", "OldImage"}, {"OldImage"}]),
    ],
)
def test_stream_records_per_view_type(
    ddb: DynamoDBClient, view: str, images: list[set[str]]
) -> None:
    _create(ddb, view)
    ddb.put_item("Orders", {"id": {"S": "1"}, "status": {"S": "PLACED"}})
    ddb.update_item("Orders", ONE, "SET #s = :s", {"#s": "status"}, {":s": {"S": "SHIPPED"}})
    ddb.delete_item("Orders", ONE)
    found = _events(ddb)
    assert [name for name, _ in found] == ["INSERT", "MODIFY", "REMOVE"]
    for (_, record), wanted in zip(found, images, strict=True):
        assert record["Keys"] == {"id": {"S": "1"}}
        assert record["StreamViewType"] == view
        assert {"NewImage", "OldImage"} & set(record) == wanted
    if "NewImage" in found[1][1]:
        assert found[1][1]["NewImage"]["status"] == {"S": "SHIPPED"}
    if "OldImage" in found[1][1]:
        assert found[1][1]["OldImage"]["status"] == {"S": "PLACED"}
    numbers = [record["SequenceNumber"] for _, record in found]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    assert all(re.fullmatch(r"\d{22}", n) for n in numbers)


def test_writes_that_change_nothing_make_no_record(ddb: DynamoDBClient) -> None:
    _create(ddb)
    item = {"id": {"S": "1"}, "n": {"N": "5"}, "tags": {"SS": ["a", "b"]}}
    ddb.put_item("Orders", item)
    ddb.put_item("Orders", {"id": {"S": "1"}, "n": {"N": "5.00"}, "tags": {"SS": ["b", "a"]}})
    ddb.update_item("Orders", ONE, "SET n = :n", expression_attribute_values={":n": {"N": "5"}})
    ddb.update_item("Orders", ONE, "REMOVE gone")
    ddb.delete_item("Orders", {"id": {"S": "2"}})
    assert [name for name, _ in _events(ddb)] == ["INSERT"]
    ddb.put_item("Orders", {**item, "n": {"N": "6"}})
    assert [name for name, _ in _events(ddb)] == ["INSERT", "MODIFY"]


def test_size_bytes_agree_with_the_event_catalogue(ddb: DynamoDBClient) -> None:
    _create(ddb)
    old = {"orderId": "1234", "total": Decimal("12.5"), "items": ["book"], "gift": False}
    new = {**old, "status": "SHIPPED", "tags": {"a", "b"}, "blob": b"\x01\x02"}
    ddb.put_item("Orders", {"id": {"S": "1"}, **events.to_attribute_value(old)["M"]})
    as_sent = {**events.to_attribute_value(new)["M"], "blob": {"B": b"\x01\x02"}}  # boto3: bytes
    ddb.put_item("Orders", {"id": {"S": "1"}, **as_sent})
    _, modify = _events(ddb)[1]
    generated = events.generate("dynamodb-modify", keys={"id": "1"}, new_image=new, old_image=old)[
        "Records"
    ][0]["dynamodb"]
    assert modify["NewImage"] == generated["NewImage"]
    assert modify["SizeBytes"] == generated["SizeBytes"]


def test_tables_without_streams_write_none(ddb: DynamoDBClient) -> None:
    _create(ddb, None)
    ddb.put_item("Orders", ONE)
    assert ddb.stream_records("Orders") == []
    assert "LatestStreamArn" not in ddb.describe_table("Orders")["Table"]


def test_enable_and_disable_a_stream(sb: Sandbox, ddb: DynamoDBClient, clock: FakeClock) -> None:
    _create(ddb, None)
    with _invalid(
        "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
        "GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates, MultiAccountReplicaReady, "
        "ReplicaTransitRoleArn, MultiRegionConsistency, DeletionProtectionEnabled, "
        "OnDemandThroughput, WarmThroughput or TableClass is required"
    ):
        ddb.update_table("Orders")
    with _invalid("Table has no stream to disable: TableName: Orders"):
        ddb.update_table("Orders", {"StreamEnabled": False})
    with _invalid(
        "One or more parameter values were invalid: If stream is being enabled then "
        "UpdateViewType is required"
    ):
        ddb.update_table("Orders", {"StreamEnabled": True})
    updated = ddb.update_table("Orders", {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    first = updated["TableDescription"]["LatestStreamArn"]
    assert updated["TableDescription"]["TableStatus"] == "UPDATING"
    with _invalid("Table already has an enabled stream: TableName: Orders"):
        ddb.update_table("Orders", {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    ddb.put_item("Orders", ONE)
    with _invalid(
        "One or more parameter values were invalid: If stream is being disabled, then "
        "UpdateViewType must not be specified"
    ):
        ddb.update_table("Orders", {"StreamEnabled": False, "StreamViewType": "KEYS_ONLY"})
    ddb.update_table("Orders", {"StreamEnabled": False})
    table = ddb.describe_table("Orders")["Table"]
    assert "StreamSpecification" not in table and table["LatestStreamArn"] == first
    ddb.put_item("Orders", {"id": {"S": "2"}})  # no stream: no record
    assert [name for name, _ in _events(ddb)] == ["INSERT"]  # the old stream is still readable
    # enabled again at the same instant: a new stream, its label one millisecond later
    again = ddb.update_table("Orders", {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    second = again["TableDescription"]["LatestStreamArn"]
    assert first.endswith("/stream/2025-01-05T08:00:00.000")
    assert second.endswith("/stream/2025-01-05T08:00:00.001")
    assert ddb.stream_records("Orders") == []
    db = sb._shared.db
    with db.read() as conn:
        assert stream_rows.stream_exists(conn, first) and stream_rows.stream_exists(conn, second)
    clock.advance(24 * 3600)
    ddb.update_table("Orders", {"StreamEnabled": False})  # a table call purges expired streams
    with db.read() as conn:
        assert not stream_rows.stream_exists(conn, first)
        assert stream_rows.stream_exists(conn, second)


def test_deleting_a_table_keeps_its_stream_for_a_day(
    sb: Sandbox, ddb: DynamoDBClient, clock: FakeClock
) -> None:
    arn = _create(ddb)["LatestStreamArn"]
    ddb.put_item("Orders", ONE)
    ddb.delete_table("Orders")
    db = sb._shared.db
    with db.read() as conn:
        assert stream_rows.stream_exists(conn, arn)
        (shard,) = stream_rows.shards(conn, arn)
        found = stream_rows.read(conn, arn, shard.shard_id, after=None, limit=10, now=clock.time())
    assert [r.payload["eventName"] for r in found] == ["INSERT"]
    clock.advance(24 * 3600)
    _create(ddb, "KEYS_ONLY")  # same name, new stream
    with db.read() as conn:
        assert not stream_rows.stream_exists(conn, arn)


def test_stream_records_are_kept_24_hours(ddb: DynamoDBClient, clock: FakeClock) -> None:
    _create(ddb)
    ddb.put_item("Orders", ONE)
    clock.advance(23 * 3600)
    ddb.put_item("Orders", {"id": {"S": "2"}})
    clock.advance(3600)
    assert [r["Keys"]["id"]["S"] for _, r in _events(ddb)] == ["2"]
    record = ddb.stream_records("Orders")[0]
    assert record["eventSourceARN"] == ddb.describe_table("Orders")["Table"]["LatestStreamArn"]
    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1736064000 + 23 * 3600


# boto3 likeness -------------------------------------------------------------------------------
def test_exceptions_are_reachable_like_boto3(ddb: DynamoDBClient) -> None:
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.describe_table("missing")
    assert ddb.exceptions.ResourceNotFoundException is TableNotFound
    assert issubclass(ddb.exceptions.ValidationException, ddb.exceptions.ClientError)
    assert TableNotFound("m").service == "dynamodb"


def test_answers_fit_botocores_model(ddb: DynamoDBClient) -> None:
    botocore_session = pytest.importorskip("botocore.session")
    model = botocore_session.get_session().get_service_model("dynamodb")
    item = {"id": {"S": "1"}, "b": {"B": b"x"}, "bs": {"BS": [b"y"]}, "m": {"M": {"n": {"N": "1"}}}}
    answers = {
        "CreateTable": ddb.create_table("Orders", KEY, DEFS),
        "UpdateTable": ddb.update_table(
            "Orders", {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
        ),
        "PutItem": (ddb.put_item("Orders", item), ddb.put_item("Orders", item, "ALL_OLD"))[1],
        "GetItem": ddb.get_item("Orders", ONE),
        "UpdateItem": ddb.update_item("Orders", ONE, "REMOVE m", return_values="ALL_NEW"),
        "Scan": ddb.scan("Orders", limit=1),
        "DescribeTable": ddb.describe_table("Orders"),
        "ListTables": ddb.list_tables(),
        "DeleteItem": ddb.delete_item("Orders", ONE, "ALL_OLD"),
        "DeleteTable": ddb.delete_table("Orders"),
    }
    for operation, answer in answers.items():
        shape = model.operation_model(operation).output_shape
        assert conforms(shape, answer) == [], operation
        assert answer, operation
