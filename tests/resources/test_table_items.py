"""DynamoDB stand-in: items, keys and update expressions, by DynamoDB's rules and with its
messages (the tables and their streams are in ``test_tables.py``)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sandbox import Sandbox
from sandbox.resources.stream_errors import DynamoDBValidationException
from sandbox.resources.tables import DynamoDBClient

KEY = [{"AttributeName": "id", "KeyType": "HASH"}]
DEFS = [{"AttributeName": "id", "AttributeType": "S"}]
ONE = {"id": {"S": "1"}}


@pytest.fixture
def ddb(sb: Sandbox) -> DynamoDBClient:
    sb.dynamodb.create_table("Orders", KEY, DEFS)
    return sb.dynamodb


def _invalid(message: str) -> Any:
    return pytest.raises(DynamoDBValidationException, match=f"^{re.escape(message)}$")


# items ----------------------------------------------------------------------------------------
def test_put_and_get_normalise_as_dynamodb_stores(ddb: DynamoDBClient) -> None:
    item = {
        "id": {"S": "1"},
        "n": {"N": "-0015.500e1"},
        "big": {"N": "12345678901234567890123456789012345678"},
        "bin": {"B": b"\x00\x01"},
        "tags": {"SS": ["b", "a"]},
        "nums": {"NS": ["10", "9.0", "-1"]},
        "m": {"M": {"x": {"L": [{"BOOL": True}, {"NULL": True}, {"S": ""}]}}},
    }
    assert ddb.put_item("Orders", item) == {}
    got = ddb.get_item("Orders", ONE)["Item"]
    assert got["n"] == {"N": "-155"}
    assert got["big"] == {"N": "12345678901234567890123456789012345678"}
    assert got["bin"] == {"B": b"\x00\x01"}
    assert got["tags"] == {"SS": ["a", "b"]}
    assert got["nums"] == {"NS": ["-1", "9", "10"]}
    assert got["m"] == item["m"]
    assert ddb.get_item("Orders", {"id": {"S": "2"}}) == {}
    replaced = ddb.put_item("Orders", {"id": {"S": "1"}, "v": {"N": "1"}}, return_values="ALL_OLD")
    assert replaced["Attributes"]["n"] == {"N": "-155"}
    assert ddb.get_item("Orders", ONE)["Item"] == {"id": {"S": "1"}, "v": {"N": "1"}}
    with _invalid("ReturnValues can only be ALL_OLD or NONE"):
        ddb.put_item("Orders", ONE, return_values="ALL_NEW")
    with _invalid(
        "1 validation error detected: Value 'SOME' at 'returnValues' failed to satisfy constraint: "
        "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
    ):
        ddb.put_item("Orders", ONE, return_values="SOME")
    deleted = ddb.delete_item("Orders", ONE, return_values="ALL_OLD")
    assert deleted == {"Attributes": {"id": {"S": "1"}, "v": {"N": "1"}}}
    assert ddb.delete_item("Orders", ONE) == {}  # a missing item: no error


def test_key_rules(ddb: DynamoDBClient) -> None:
    with _invalid("One or more parameter values were invalid: Missing the key id in the item"):
        ddb.put_item("Orders", {"other": {"S": "1"}})
    with _invalid(
        "One or more parameter values were invalid: Type mismatch for key id expected: S actual: N"
    ):
        ddb.put_item("Orders", {"id": {"N": "1"}})
    with _invalid(
        "One or more parameter values are not valid. The AttributeValue for a key attribute "
        "cannot contain an empty string value. Key: id"
    ):
        ddb.put_item("Orders", {"id": {"S": ""}})
    with _invalid(
        "One or more parameter values were invalid: Size of hashkey has exceeded the maximum "
        "size limit of2048 bytes"
    ):
        ddb.put_item("Orders", {"id": {"S": "x" * 2049}})
    for key in ({"id": {"N": "1"}}, {"id": {"S": "1"}, "x": {"S": "1"}}, {"other": {"S": "1"}}):
        with _invalid("The provided key element does not match the schema"):
            ddb.get_item("Orders", key)
    ddb.put_item("Orders", {"id": {"S": "1"}, "empty": {"S": ""}})  # empty non-key strings are fine


def test_value_rules(ddb: DynamoDBClient) -> None:
    cases = {
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes": {},
        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of "
        "the supported datatypes": {"S": "a", "N": "1"},
        "One or more parameter values were invalid: Null attribute value types must have the "
        "value of true": {"NULL": False},
        "One or more parameter values were invalid: An string set  may not be empty": {"SS": []},
        "One or more parameter values were invalid: Input collection [a, a] contains duplicates.": {
            "SS": ["a", "a"]
        },
        "Input collection contains duplicates": {"NS": ["1", "1.0"]},
        "The parameter cannot be converted to a numeric value: b": {"N": "b"},
        "The parameter cannot be converted to a numeric value": {"N": ""},
        "Attempting to store more than 38 significant digits in a Number": {"N": "1" * 39},
        "Number overflow. Attempting to store a number with magnitude larger than supported "
        "range": {"N": "1e126"},
        "Number underflow. Attempting to store a number with magnitude smaller than supported "
        "range": {"N": "1e-131"},
        "Invalid type for parameter Item.v.N, value: 5, type: <class 'int'>, valid types: "
        "<class 'str'>": {"N": 5},
    }
    for message, value in cases.items():
        with _invalid(message):
            ddb.put_item("Orders", {"id": {"S": "1"}, "v": value})
    with _invalid("Item size has exceeded the maximum allowed size"):
        ddb.put_item("Orders", {"id": {"S": "1"}, "v": {"S": "x" * 400 * 1024}})
    assert ddb.scan("Orders")["Count"] == 0


def test_composite_keys_and_scan_pages(ddb: DynamoDBClient) -> None:
    ddb.create_table(
        "Events",
        [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
        [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "N"},
        ],
    )
    for at in ("3", "1", "2.0"):
        ddb.put_item("Events", {"pk": {"S": "a"}, "at": {"N": at}})
    assert ddb.get_item("Events", {"pk": {"S": "a"}, "at": {"N": "2"}})["Item"]["at"] == {"N": "2"}
    everything = ddb.scan("Events")
    assert everything["Count"] == everything["ScannedCount"] == 3
    first = ddb.scan("Events", limit=2)
    assert first["Count"] == 2
    rest = ddb.scan("Events", exclusive_start_key=first["LastEvaluatedKey"])
    assert rest["Count"] == 1 and "LastEvaluatedKey" not in rest
    seen = [i["at"]["N"] for i in first["Items"] + rest["Items"]]
    assert sorted(seen) == ["1", "2", "3"]


# update_item ----------------------------------------------------------------------------------
def test_update_item_set_and_remove(ddb: DynamoDBClient) -> None:
    created = ddb.update_item(
        "Orders",
        ONE,
        "SET #s = :s, n = :zero, l = :l, tmp = :t",
        {"#s": "status"},
        {":s": {"S": "NEW"}, ":zero": {"N": "0"}, ":l": {"L": [{"S": "a"}]}, ":t": {"BOOL": True}},
        return_values="ALL_NEW",
    )
    assert created["Attributes"] == {
        "id": {"S": "1"},
        "status": {"S": "NEW"},
        "n": {"N": "0"},
        "l": {"L": [{"S": "a"}]},
        "tmp": {"BOOL": True},
    }
    changed = ddb.update_item(
        "Orders",
        ONE,
        "SET n = n + :one, l = list_append(l, :more), c = if_not_exists(c, :one) REMOVE tmp",
        expression_attribute_values={":one": {"N": "1"}, ":more": {"L": [{"S": "b"}]}},
        return_values="UPDATED_NEW",
    )
    assert changed["Attributes"] == {
        "n": {"N": "1"},
        "l": {"L": [{"S": "a"}, {"S": "b"}]},
        "c": {"N": "1"},
    }
    old = ddb.update_item(
        "Orders",
        ONE,
        "SET c = if_not_exists(c, :ten), n = n - :ten",
        expression_attribute_values={":ten": {"N": "10"}},
        return_values="UPDATED_OLD",
    )
    assert old["Attributes"] == {"c": {"N": "1"}, "n": {"N": "1"}}
    assert ddb.get_item("Orders", ONE)["Item"]["n"] == {"N": "-9"}
    assert "tmp" not in ddb.get_item("Orders", ONE)["Item"]
    # without an expression, an update makes sure the item exists
    assert ddb.update_item("Orders", {"id": {"S": "2"}}) == {}
    assert ddb.get_item("Orders", {"id": {"S": "2"}}) == {"Item": {"id": {"S": "2"}}}


def test_update_expression_rules(ddb: DynamoDBClient) -> None:
    ddb.put_item("Orders", {"id": {"S": "1"}, "s": {"S": "x"}})

    def update(expression: str | None, names: Any = None, values: Any = None) -> None:
        ddb.update_item("Orders", ONE, expression, names, values)

    v = {":v": {"S": "a"}}
    cases = [
        (
            "SET status = :v",
            None,
            v,
            "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: "
            "status",
        ),
        (
            "SET a = :w",
            None,
            v,
            "Invalid UpdateExpression: An expression attribute value used in expression is not "
            "defined; attribute value: :w",
        ),
        (
            "SET #a = :v",
            {"#b": "a"},
            v,
            "Invalid UpdateExpression: An expression attribute name used in the document path is "
            "not defined; attribute name: #a",
        ),
        (
            "SET a = :v",
            None,
            {**v, ":x": {"S": "b"}},
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}",
        ),
        (
            "SET a = :v",
            {"#n": "a"},
            v,
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#n}",
        ),
        (
            "SET a = :v REMOVE a",
            None,
            v,
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or "
            "rewrite one of these paths; path one: [a], path two: [a]",
        ),
        (
            "SET id = :v",
            None,
            v,
            "One or more parameter values were invalid: Cannot update attribute id. This "
            "attribute is part of the key",
        ),
        (
            "SET a = :v,",
            None,
            v,
            'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: ","',
        ),
        (
            "SET #a = :v and #b = :v",
            {"#a": "a", "#b": "b"},
            v,
            'Invalid UpdateExpression: Syntax error; token: "and", near: ":v and #b"',
        ),
        (
            "SET a = :v SET b = :v",
            None,
            v,
            'Invalid UpdateExpression: The "SET" section can only be used once in an update '
            "expression;",
        ),
        (
            "SET a = s + :v",
            None,
            v,
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "SET a = gone",
            None,
            None,
            "The provided expression refers to an attribute that does not exist in the item",
        ),
        (
            "SET a = size(s)",
            None,
            None,
            "Invalid UpdateExpression: The function is not allowed in an update expression; "
            "function: size",
        ),
        (
            "SET a = nope(s)",
            None,
            None,
            "Invalid UpdateExpression: Invalid function name; function: nope",
        ),
        ("", None, None, "Invalid UpdateExpression: The expression can not be empty;"),
        (
            None,
            None,
            v,
            "ExpressionAttributeValues can only be specified when using expressions: "
            "UpdateExpression is null",
        ),
        ("SET a = :v", None, {}, "ExpressionAttributeValues must not be empty"),
        (
            "SET a = :v",
            None,
            {"v": {"S": "a"}},
            'ExpressionAttributeValues contains invalid key: Syntax error; key: "v"',
        ),
    ]
    for expression, names, values, message in cases:
        with _invalid(message):
            update(expression, names, values)
    with pytest.raises(DynamoDBValidationException, match="ADD is not supported"):
        update("ADD n :v", None, {":v": {"N": "1"}})
    with pytest.raises(DynamoDBValidationException, match="top-level attributes only"):
        update("SET a.b = :v", None, v)
    assert ddb.get_item("Orders", ONE)["Item"] == {"id": {"S": "1"}, "s": {"S": "x"}}
