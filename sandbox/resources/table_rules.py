"""The rules of the DynamoDB stand-in that need no store: CreateTable's and UpdateTable's
checks, expression attribute maps, and the shape of a stream record.

Kept apart from :mod:`sandbox.resources.tables` (the client) so that the client reads as
the calls it answers; every function here is pure and raises DynamoDB's own messages.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.resources.stream_errors import DynamoDBValidationException, validation_message
from sandbox.resources.table_values import Item, KeySchema, check_value, stream_size
from sandbox.store.table_rows import TableRow

__all__ = [
    "RETURN_VALUES",
    "TABLE_ARN",
    "VIEW_TYPES",
    "check_create",
    "check_expression_maps",
    "check_stream_spec",
    "enum_problems",
    "invalid",
    "problem",
    "raise_problems",
    "schema_of",
    "stream_record",
    "table_name_problems",
]

VIEW_TYPES = ("NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY")
TABLE_NAME = re.compile(r"[a-zA-Z0-9_.-]+")
TABLE_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:dynamodb:([a-z0-9-]+):(\d{12}):table/([^/]+)$")
RETURN_VALUES = ("ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW")


def invalid(message: str) -> DynamoDBValidationException:
    return DynamoDBValidationException(message)


def problem(value: object, member: str, constraint: str) -> str:
    shown = "null" if value is None else f"'{value}'"
    return f"Value {shown} at '{member}' failed to satisfy constraint: {constraint}"


def enum_problems(value: object, member: str, choices: Sequence[str]) -> list[str]:
    if value is None or value in choices:
        return []
    return [problem(value, member, f"Member must satisfy enum value set: [{', '.join(choices)}]")]


def raise_problems(problems: list[str]) -> None:
    if problems:
        raise invalid(validation_message(problems))


# rules ----------------------------------------------------------------------------------------
def schema_of(table: TableRow) -> KeySchema:
    types = {
        a["AttributeName"]: a["AttributeType"] for a in table.description["AttributeDefinitions"]
    }
    names = [k["AttributeName"] for k in table.description["KeySchema"]]
    if len(names) == 1:
        return KeySchema(names[0], types[names[0]])
    return KeySchema(names[0], types[names[0]], names[1], types[names[1]])


def table_name_problems(name: object) -> list[str]:
    if name is None:
        return [problem(None, "tableName", "Member must not be null")]
    text = str(name)
    if TABLE_ARN.match(text):
        return []
    problems = []
    if not TABLE_NAME.fullmatch(text):
        problems.append(
            problem(
                text, "tableName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
            )
        )
    if len(text) < 3:
        problems.append(
            problem(text, "tableName", "Member must have length greater than or equal to 3")
        )
    if len(text) > 1024:
        problems.append(
            problem(text, "tableName", "Member must have length less than or equal to 1024")
        )
    return problems


def check_create(
    name: str,
    key_schema: Sequence[Mapping[str, str]],
    definitions: Sequence[Mapping[str, str]],
    billing_mode: str,
    throughput: Mapping[str, int] | None,
) -> dict[str, Any]:
    """CreateTable's rules, in the order DynamoDB reports them; returns the description
    stored (KeySchema, AttributeDefinitions, BillingMode, ProvisionedThroughput)."""
    problems = []
    if name is None or not TABLE_NAME.fullmatch(str(name)):
        problems.append(
            problem(name, "tableName", "Member must not be null")
            if name is None
            else problem(
                name, "tableName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
            )
        )
    if len(key_schema) > 2:
        shown = "[" + ", ".join(str(dict(k)) for k in key_schema) + "]"
        problems.append(
            problem(shown, "keySchema", "Member must have length less than or equal to 2")
        )
    if not key_schema:
        problems.append(
            problem("[]", "keySchema", "Member must have length greater than or equal to 1")
        )
    for i, element in enumerate(key_schema, start=1):
        problems += enum_problems(
            element.get("KeyType"), f"keySchema.{i}.member.keyType", ("HASH", "RANGE")
        )
    for i, definition in enumerate(definitions, start=1):
        problems += enum_problems(
            definition.get("AttributeType"),
            f"attributeDefinitions.{i}.member.attributeType",
            ("B", "N", "S"),
        )
    problems += enum_problems(billing_mode, "billingMode", ("PROVISIONED", "PAY_PER_REQUEST"))
    raise_problems(problems)
    if not 3 <= len(name) <= 255:
        raise invalid(
            "TableName must be at least 3 characters long and at most 255 characters long"
        )
    defined: dict[str, str] = {}
    for definition in definitions:
        if definition["AttributeName"] in defined:
            raise invalid(f"Attribute Name is duplicated: {definition['AttributeName']}")
        defined[definition["AttributeName"]] = definition["AttributeType"]
    keys = [(k["AttributeName"], k["KeyType"]) for k in key_schema]
    if keys[0][1] != "HASH":
        raise invalid("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    if len(keys) == 2:
        if keys[1][0] == keys[0][0]:
            raise invalid(
                "Both the Hash Key and the Range Key element in the KeySchema have the same name"
            )
        if keys[1][1] != "RANGE":
            raise invalid("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
    missing = [n for n, _ in keys if n not in defined]
    if missing:
        raise invalid(
            "One or more parameter values were invalid: Some index key attributes are not "
            f"defined in AttributeDefinitions. Keys: [{', '.join(n for n, _ in keys)}], "
            f"AttributeDefinitions: [{', '.join(defined)}]"
        )
    if len(defined) != len(keys):
        raise invalid(
            "One or more parameter values were invalid: Number of attributes in KeySchema does "
            "not exactly match number of attributes defined in AttributeDefinitions"
        )
    if billing_mode == "PAY_PER_REQUEST" and throughput is not None:
        raise invalid(
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor "
            "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
        )
    if billing_mode == "PROVISIONED" and (
        throughput is None or not {"ReadCapacityUnits", "WriteCapacityUnits"} <= set(throughput)
    ):
        raise invalid(
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits "
            "must both be specified when BillingMode is PROVISIONED"
        )
    capacity = {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    if throughput is not None:
        capacity = {k: int(throughput[k]) for k in capacity}
    return {
        "KeySchema": [{"AttributeName": n, "KeyType": t} for n, t in keys],
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": t} for n, t in defined.items()
        ],
        "BillingMode": billing_mode,
        "ProvisionedThroughput": capacity,
    }


def check_stream_spec(spec: Mapping[str, Any] | None, *, creating: bool) -> tuple[bool, str | None]:
    """(enabled, view type) of a StreamSpecification, with CreateTable's or UpdateTable's
    messages (an enabled stream needs a view type, a disabled one must not have one)."""
    if spec is None:
        return False, None
    problems = []
    if spec.get("StreamEnabled") is None:
        problems.append(
            problem(None, "streamSpecification.streamEnabled", "Member must not be null")
        )
    problems += enum_problems(
        spec.get("StreamViewType"), "streamSpecification.streamViewType", VIEW_TYPES
    )
    raise_problems(problems)
    enabled, view = bool(spec["StreamEnabled"]), spec.get("StreamViewType")
    prefix = "One or more parameter values were invalid: "
    if enabled and view is None:
        if creating:
            raise invalid(
                f"{prefix}Table is being created with a stream enabled, UpdateViewType is required"
            )
        raise invalid(f"{prefix}If stream is being enabled then UpdateViewType is required")
    if not enabled and view is not None:
        if creating:
            raise invalid(
                f"{prefix}Table is being created with a stream disabled, UpdateViewType should "
                "not be specified"
            )
        raise invalid(
            f"{prefix}If stream is being disabled, then UpdateViewType must not be specified"
        )
    return enabled, view


def check_expression_maps(
    expression: str | None,
    names: Mapping[str, str] | None,
    values: Mapping[str, Any] | None,
) -> tuple[dict[str, str], dict[str, Any]]:
    """ExpressionAttributeNames and ExpressionAttributeValues: only with an expression,
    not empty, keys ``#...`` and ``:...``; values checked as attribute values."""
    for label, given in (
        ("ExpressionAttributeNames", names),
        ("ExpressionAttributeValues", values),
    ):
        if given is None:
            continue
        if expression is None:
            raise invalid(
                f"{label} can only be specified when using expressions: UpdateExpression is null"
            )
        if not given:
            raise invalid(f"{label} must not be empty")
        mark = "#" if label == "ExpressionAttributeNames" else ":"
        for key in given:
            if not str(key).startswith(mark) or len(str(key)) < 2:
                raise invalid(f'{label} contains invalid key: Syntax error; key: "{key}"')
    checked = {
        str(k): check_value(v, f"ExpressionAttributeValues.{k}") for k, v in (values or {}).items()
    }
    return {str(k): str(v) for k, v in (names or {}).items()}, checked


def stream_record(
    event_name: str,
    keys: Item,
    old: Item | None,
    new: Item | None,
    view: str,
    now: float,
    region: str,
) -> dict[str, Any]:
    """A DynamoDB stream record (spec section 9), its images chosen by the view type;
    ``SequenceNumber`` is filled in when the record is appended."""
    record: dict[str, Any] = {"ApproximateCreationDateTime": int(now), "Keys": keys}
    if new is not None and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        record["NewImage"] = new
    if old is not None and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        record["OldImage"] = old
    record["SequenceNumber"] = ""
    record["SizeBytes"] = stream_size(keys, record.get("NewImage"), record.get("OldImage"))
    record["StreamViewType"] = view
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": record,
    }
