"""DynamoDB's attribute values: checked, normalised, measured, and keyed, as DynamoDB does.

Why it exists: what DynamoDB accepts in an item (and how it stores it) decides what a
table's stream carries, so the rules live in one place that :mod:`sandbox.resources.tables`
and :mod:`sandbox.resources.table_expressions` share. Values travel in two forms: boto3's
(``{"B": b"..."}``) at the client's edge, and the wire form (binary as base64 text, numbers
normalised, sets sorted) in the store and in stream records, which is also what a Lambda
event carries. Numbers are normalised as DynamoDB stores them (``"0015.50"`` reads back as
``"15.5"``), so two writes of equal values compare equal and a rewrite of an unchanged item
emits no stream record.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from sandbox.resources.stream_errors import DynamoDBValidationException

__all__ = [
    "MAX_ITEM_BYTES",
    "KeySchema",
    "check_item",
    "check_value",
    "item_size",
    "key_string",
    "normalise_number",
    "stream_size",
    "to_boto",
    "to_boto_item",
]

MAX_ITEM_BYTES = 400 * 1024  # "Item sizes and formats": 400 KB, names and values
_TYPES = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_WIDE = Context(prec=200, Emax=999_999, Emin=-999_999)

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]


def _invalid(message: str) -> DynamoDBValidationException:
    return DynamoDBValidationException(message)


# numbers --------------------------------------------------------------------------------------
def normalise_number(text: object) -> str:
    """A number as DynamoDB stores it: no exponent, no leading or trailing zeros, at most
    38 significant digits, magnitude between 1E-130 and 9.99...E+125.

    >>> normalise_number("-0015.500e1")
    '-155'
    """
    if not isinstance(text, str) or not text:
        raise _invalid("The parameter cannot be converted to a numeric value")
    if not _NUMBER.fullmatch(text):
        raise _invalid(f"The parameter cannot be converted to a numeric value: {text}")
    try:
        value = Decimal(text).normalize(_WIDE)
    except InvalidOperation as exc:
        raise _invalid(f"The parameter cannot be converted to a numeric value: {text}") from exc
    if value.is_zero():
        return "0"
    if len(value.as_tuple().digits) > 38:
        raise _invalid("Attempting to store more than 38 significant digits in a Number")
    if value.adjusted() > 125:
        raise _invalid(
            "Number overflow. Attempting to store a number with magnitude larger than "
            "supported range"
        )
    if value.adjusted() < -130:
        raise _invalid(
            "Number underflow. Attempting to store a number with magnitude smaller than "
            "supported range"
        )
    return format(value, "f")


# checking and normalising ---------------------------------------------------------------------
def _binary(value: object, path: str) -> str:
    """A binary value as boto3 sends it (bytes, or text as UTF-8) in base64."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, str):
        return base64.b64encode(value.encode()).decode()
    raise _type_error(path, value, "<class 'bytes'>, <class 'bytearray'>, file-like object")


def _type_error(path: str, value: object, valid: str) -> DynamoDBValidationException:
    """What boto3 says before sending a value of the wrong Python type."""
    return _invalid(
        f"Invalid type for parameter {path}, value: {value!r}, type: {type(value)}, "
        f"valid types: {valid}"
    )


def check_value(value: object, path: str) -> AttributeValue:
    """One AttributeValue from boto3, checked by DynamoDB's rules, in wire form.

    ``path`` names it in boto3's words (``Item.total``) for the type errors boto3 itself
    would raise.
    """
    if not isinstance(value, Mapping):
        raise _type_error(path, value, "<class 'dict'>")
    if not value:
        raise _invalid(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )
    for tag in value:
        if tag not in _TYPES:
            raise _invalid(
                f'Unknown parameter in {path}: "{tag}", must be one of: S, N, B, SS, NS, BS, '
                "M, L, NULL, BOOL"
            )
    if len(value) > 1:
        raise _invalid(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one "
            "of the supported datatypes"
        )
    ((tag, raw),) = value.items()
    where = f"{path}.{tag}"
    if tag == "S":
        if not isinstance(raw, str):
            raise _type_error(where, raw, "<class 'str'>")
        return {"S": raw}
    if tag == "N":
        if not isinstance(raw, str):
            raise _type_error(where, raw, "<class 'str'>")
        return {"N": normalise_number(raw)}
    if tag == "B":
        return {"B": _binary(raw, where)}
    if tag == "BOOL":
        if not isinstance(raw, bool):
            raise _type_error(where, raw, "<class 'bool'>")
        return {"BOOL": raw}
    if tag == "NULL":
        if not isinstance(raw, bool):
            raise _type_error(where, raw, "<class 'bool'>")
        if not raw:
            raise _invalid(
                "One or more parameter values were invalid: Null attribute value types must "
                "have the value of true"
            )
        return {"NULL": True}
    if tag == "L":
        if not isinstance(raw, list | tuple):
            raise _type_error(where, raw, "<class 'list'>, <class 'tuple'>")
        return {"L": [check_value(v, f"{where}[{i}]") for i, v in enumerate(raw)]}
    if tag == "M":
        if not isinstance(raw, Mapping):
            raise _type_error(where, raw, "<class 'dict'>")
        return {"M": {str(k): check_value(v, f"{where}.{k}") for k, v in raw.items()}}
    return _check_set(tag, raw, where)


def _check_set(tag: str, raw: object, where: str) -> AttributeValue:
    """SS, NS and BS: not empty, no duplicates; stored sorted (a set has no order)."""
    if not isinstance(raw, list | tuple | set | frozenset):
        raise _type_error(where, raw, "<class 'list'>, <class 'tuple'>")
    members = list(raw)
    if tag == "SS":
        if not members:
            raise _invalid(
                "One or more parameter values were invalid: An string set  may not be empty"
            )
        for i, m in enumerate(members):
            if not isinstance(m, str):
                raise _type_error(f"{where}[{i}]", m, "<class 'str'>")
        if len(set(members)) < len(members):
            raise _invalid(
                "One or more parameter values were invalid: Input collection "
                f"[{', '.join(members)}] contains duplicates."
            )
        return {"SS": sorted(members)}
    if tag == "NS":
        if not members:
            raise _invalid(
                "One or more parameter values were invalid: An number set  may not be empty"
            )
        numbers = [normalise_number(m) for m in members]
        if len(set(numbers)) < len(numbers):
            raise _invalid("Input collection contains duplicates")
        return {"NS": sorted(numbers, key=Decimal)}
    if not members:
        raise _invalid("One or more parameter values were invalid: Binary sets should not be empty")
    encoded = [_binary(m, f"{where}[{i}]") for i, m in enumerate(members)]
    if len(set(encoded)) < len(encoded):
        raise _invalid(
            "One or more parameter values were invalid: Input collection "
            f"[{', '.join(encoded)}]of type BS contains duplicates."
        )
    return {"BS": sorted(encoded, key=base64.b64decode)}


def check_item(item: object, path: str = "Item") -> Item:
    """A whole item (or key) from boto3 in wire form."""
    if not isinstance(item, Mapping):
        raise _type_error(path, item, "<class 'dict'>")
    return {str(name): check_value(value, f"{path}.{name}") for name, value in item.items()}


# boto3's form ---------------------------------------------------------------------------------
def to_boto(value: AttributeValue) -> AttributeValue:
    """A stored value as boto3 returns it: binary as bytes."""
    ((tag, raw),) = value.items()
    if tag == "B":
        return {"B": base64.b64decode(raw)}
    if tag == "BS":
        return {"BS": [base64.b64decode(v) for v in raw]}
    if tag == "L":
        return {"L": [to_boto(v) for v in raw]}
    if tag == "M":
        return {"M": {k: to_boto(v) for k, v in raw.items()}}
    return {tag: list(raw) if isinstance(raw, list) else raw}


def to_boto_item(item: Mapping[str, AttributeValue]) -> Item:
    return {name: to_boto(value) for name, value in item.items()}


# sizes ----------------------------------------------------------------------------------------
def _value_size(value: AttributeValue) -> int:
    """Bytes of one value ("Item sizes and formats"): strings and binary by length,
    numbers one byte per two significant digits plus one, BOOL and NULL one byte, lists and
    maps three bytes plus one per element."""
    ((tag, raw),) = value.items()
    if tag == "S":
        return len(raw.encode())
    if tag == "B":
        return len(base64.b64decode(raw))
    if tag == "N":
        return (len(raw.strip("-").replace(".", "").lstrip("0")) + 1) // 2 + 1
    if tag in ("BOOL", "NULL"):
        return 1
    if tag in ("SS", "NS", "BS"):
        return sum(_value_size({tag[0]: m}) for m in raw)
    if tag == "L":
        return 3 + sum(1 + _value_size(v) for v in raw)
    return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in raw.items())


def item_size(item: Mapping[str, AttributeValue] | None) -> int:
    """An item's size: each attribute's name and value."""
    if not item:
        return 0
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def stream_size(*parts: Mapping[str, AttributeValue] | None) -> int:
    """A stream record's ``SizeBytes``: the keys and images it carries (the rule of the
    event catalogue's builder, so generated and real records agree)."""
    return sum(item_size(part) for part in parts)


# keys -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class KeySchema:
    """A table's primary key: the partition (HASH) key and the optional sort (RANGE) key,
    each with its type (S, N or B)."""

    hash_name: str
    hash_type: str
    range_name: str | None = None
    range_type: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.hash_name,) if self.range_name is None else (self.hash_name, self.range_name)

    def _pairs(self) -> list[tuple[str, str]]:
        pairs = [(self.hash_name, self.hash_type)]
        if self.range_name is not None and self.range_type is not None:
            pairs.append((self.range_name, self.range_type))
        return pairs

    def of_item(self, item: Item) -> Item:
        """The key of an item being written, with PutItem's rules and messages."""
        for name, kind in self._pairs():
            if name not in item:
                raise _invalid(
                    f"One or more parameter values were invalid: Missing the key {name} in the item"
                )
            self._check_key_value(name, kind, item[name])
        return {name: item[name] for name in self.names}

    def of_key(self, key: Item) -> Item:
        """A ``Key`` parameter: exactly the key attributes, of the right types."""
        if set(key) != set(self.names):
            raise _invalid("The provided key element does not match the schema")
        for name, kind in self._pairs():
            if set(key[name]) != {kind}:
                raise _invalid("The provided key element does not match the schema")
            self._check_key_value(name, kind, key[name])
        return {name: key[name] for name in self.names}

    def _check_key_value(self, name: str, kind: str, value: AttributeValue) -> None:
        actual = next(iter(value))
        if actual != kind:
            raise _invalid(
                "One or more parameter values were invalid: Type mismatch for key "
                f"{name} expected: {kind} actual: {actual}"
            )
        if kind in ("S", "B") and value[kind] == "":
            what = "string" if kind == "S" else "binary"
            raise _invalid(
                "One or more parameter values are not valid. The AttributeValue for a key "
                f"attribute cannot contain an empty {what} value. Key: {name}"
            )
        size = _value_size(value)
        if name == self.hash_name and size > 2048:
            raise _invalid(
                "One or more parameter values were invalid: Size of hashkey has exceeded the "
                "maximum size limit of2048 bytes"
            )
        if name == self.range_name and size > 1024:
            raise _invalid(
                "One or more parameter values were invalid: Aggregated size of all range keys "
                "has exceeded the size limit of 1024 bytes"
            )


def key_string(key: Mapping[str, AttributeValue], schema: KeySchema) -> str:
    """The stored form of a key: its values in key-schema order, as JSON (numbers are
    normalised, so ``1`` and ``1.0`` are the same key)."""
    return json.dumps([key[name] for name in schema.names], separators=(",", ":"))
