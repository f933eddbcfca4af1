"""DynamoDB update expressions: ``SET`` and ``REMOVE`` of top-level attributes.

Why it exists: ``update_item`` is how most code changes one attribute of an item (a status,
a counter), and every such change becomes a ``MODIFY`` stream record. The subset here is
what those updates use: ``SET a = :v``, ``SET a = b``, ``SET n = n + :one`` (``+`` and ``-``
on numbers), ``SET a = if_not_exists(a, :v)``, ``SET l = list_append(l, :more)`` and
``REMOVE a``, with ``#name`` aliases. It checks what DynamoDB checks, with its messages:
syntax, reserved words used as names (the 573 words of "Reserved words in DynamoDB"),
aliases and values that are undefined or unused, overlapping paths, and updates of key
attributes. ``ADD``, ``DELETE`` and nested paths (``a.b``, ``a[0]``) are refused with a
message saying so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

from sandbox.resources.stream_errors import DynamoDBValidationException
from sandbox.resources.table_values import AttributeValue, Item, normalise_number

__all__ = ["RESERVED_WORDS", "Update", "apply_update", "parse_update"]

# "Reserved words in DynamoDB" (DynamoDB Developer Guide), as AWS lists them
_WORDS = (
    "ABORT ABSOLUTE ACTION ADD AFTER AGENT AGGREGATE ALL ALLOCATE ALTER ANALYZE AND ANY ARCHIVE "
    "ARE ARRAY AS ASC ASCII ASENSITIVE ASSERTION ASYMMETRIC AT ATOMIC ATTACH ATTRIBUTE AUTH "
    "AUTHORIZATION AUTHORIZE AUTO AVG BACK BACKUP BASE BATCH BEFORE BEGIN BETWEEN BIGINT BINARY "
    "BIT BLOB BLOCK BOOLEAN BOTH BREADTH BUCKET BULK BY BYTE CALL CALLED CALLING CAPACITY "
    "CASCADE CASCADED CASE CAST CATALOG CHAR CHARACTER CHECK CLASS CLOB CLOSE CLUSTER CLUSTERED "
    "CLUSTERING CLUSTERS COALESCE COLLATE COLLATION COLLECTION COLUMN COLUMNS COMBINE COMMENT "
    "COMMIT COMPACT COMPILE COMPRESS CONDITION CONFLICT CONNECT CONNECTION CONSISTENCY "
    "CONSISTENT CONSTRAINT CONSTRAINTS CONSTRUCTOR CONSUMED CONTINUE CONVERT COPY CORRESPONDING "
    "COUNT COUNTER CREATE CROSS CUBE CURRENT CURSOR CYCLE DATA DATABASE DATE DATETIME DAY "
    "DEALLOCATE DEC DECIMAL DECLARE DEFAULT DEFERRABLE DEFERRED DEFINE DEFINED DEFINITION "
    "DELETE DELIMITED DEPTH DEREF DESC DESCRIBE DESCRIPTOR DETACH DETERMINISTIC DIAGNOSTICS "
    "DIRECTORIES DISABLE DISCONNECT DISTINCT DISTRIBUTE DO DOMAIN DOUBLE DROP DUMP DURATION "
    "DYNAMIC EACH ELEMENT ELSE ELSEIF EMPTY ENABLE END EQUAL EQUALS ERROR ESCAPE ESCAPED EVAL "
    "EVALUATE EXCEEDED EXCEPT EXCEPTION EXCEPTIONS EXCLUSIVE EXEC EXECUTE EXISTS EXIT EXPLAIN "
    "EXPLODE EXPORT EXPRESSION EXTENDED EXTERNAL EXTRACT FAIL FALSE FAMILY FETCH FIELDS FILE "
    "FILTER FILTERING FINAL FINISH FIRST FIXED FLATTERN FLOAT FOR FORCE FOREIGN FORMAT FORWARD "
    "FOUND FREE FROM FULL FUNCTION FUNCTIONS GENERAL GENERATE GET GLOB GLOBAL GO GOTO GRANT "
    "GREATER GROUP GROUPING HANDLER HASH HAVE HAVING HEAP HIDDEN HOLD HOUR IDENTIFIED IDENTITY "
    "IF IGNORE IMMEDIATE IMPORT IN INCLUDING INCLUSIVE INCREMENT INCREMENTAL INDEX INDEXED "
    "INDEXES INDICATOR INFINITE INITIALLY INLINE INNER INNTER INOUT INPUT INSENSITIVE INSERT "
    "INSTEAD INT INTEGER INTERSECT INTERVAL INTO INVALIDATE IS ISOLATION ITEM ITEMS ITERATE "
    "JOIN KEY KEYS LAG LANGUAGE LARGE LAST LATERAL LEAD LEADING LEAVE LEFT LENGTH LESS LEVEL "
    "LIKE LIMIT LIMITED LINES LIST LOAD LOCAL LOCALTIME LOCALTIMESTAMP LOCATION LOCATOR LOCK "
    "LOCKS LOG LOGED LONG LOOP LOWER MAP MATCH MATERIALIZED MAX MAXLEN MEMBER MERGE METHOD "
    "METRICS MIN MINUS MINUTE MISSING MOD MODE MODIFIES MODIFY MODULE MONTH MULTI MULTISET NAME "
    "NAMES NATIONAL NATURAL NCHAR NCLOB NEW NEXT NO NONE NOT NULL NULLIF NUMBER NUMERIC OBJECT "
    "OF OFFLINE OFFSET OLD ON ONLINE ONLY OPAQUE OPEN OPERATOR OPTION OR ORDER ORDINALITY OTHER "
    "OTHERS OUT OUTER OUTPUT OVER OVERLAPS OVERRIDE OWNER PAD PARALLEL PARAMETER PARAMETERS "
    "PARTIAL PARTITION PARTITIONED PARTITIONS PATH PERCENT PERCENTILE PERMISSION PERMISSIONS "
    "PIPE PIPELINED PLAN POOL POSITION PRECISION PREPARE PRESERVE PRIMARY PRIOR PRIVATE "
    "PRIVILEGES PROCEDURE PROCESSED PROJECT PROJECTION PROPERTY PROVISIONING PUBLIC PUT QUERY "
    "QUIT QUORUM RAISE RANDOM RANGE RANK RAW READ READS REAL REBUILD RECORD RECURSIVE REDUCE "
    "REF REFERENCE REFERENCES REFERENCING REGEXP REGION REINDEX RELATIVE RELEASE REMAINDER "
    "RENAME REPEAT REPLACE REQUEST RESET RESIGNAL RESOURCE RESPONSE RESTORE RESTRICT RESULT "
    "RETURN RETURNING RETURNS REVERSE REVOKE RIGHT ROLE ROLES ROLLBACK ROLLUP ROUTINE ROW ROWS "
    "RULE RULES SAMPLE SATISFIES SAVE SAVEPOINT SCAN SCHEMA SCOPE SCROLL SEARCH SECOND SECTION "
    "SEGMENT SEGMENTS SELECT SELF SEMI SENSITIVE SEPARATE SEQUENCE SERIALIZABLE SESSION SET "
    "SETS SHARD SHARE SHARED SHORT SHOW SIGNAL SIMILAR SIZE SKEWED SMALLINT SNAPSHOT SOME "
    "SOURCE SPACE SPACES SPARSE SPECIFIC SPECIFICTYPE SPLIT SQL SQLCODE SQLERROR SQLEXCEPTION "
    "SQLSTATE SQLWARNING START STATE STATIC STATUS STORAGE STORE STORED STREAM STRING STRUCT "
    "STYLE SUB SUBMULTISET SUBPARTITION SUBSTRING SUBTYPE SUM SUPER SYMMETRIC SYNONYM SYSTEM "
    "TABLE TABLESAMPLE TEMP TEMPORARY TERMINATED TEXT THAN THEN THROUGHPUT TIME TIMESTAMP "
    "TIMEZONE TINYINT TO TOKEN TOTAL TOUCH TRAILING TRANSACTION TRANSFORM TRANSLATE TRANSLATION "
    "TREAT TRIGGER TRIM TRUE TRUNCATE TTL TUPLE TYPE UNDER UNDO UNION UNIQUE UNIT UNKNOWN "
    "UNLOGGED UNNEST UNPROCESSED UNSIGNED UNTIL UPDATE UPPER URL USAGE USE USER USERS USING "
    "UUID VACUUM VALUE VALUED VALUES VARCHAR VARIABLE VARIANCE VARINT VARYING VIEW VIEWS "
    "VIRTUAL VOID WAIT WHEN WHENEVER WHERE WHILE WINDOW WITH WITHIN WITHOUT WORK WRAPPED WRITE "
    "YEAR ZONE"
)
RESERVED_WORDS = frozenset(_WORDS.split())

_TOKEN = re.compile(
    r"\s*(?:(?P<alias>#[A-Za-z0-9_]+)|(?P<value>:[A-Za-z0-9_]+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<number>\d+)|(?P<op>[=+\-,()\.\[\]]))"
)
_CLAUSES = ("SET", "REMOVE", "ADD", "DELETE")
_CONDITION_FUNCTIONS = (
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
    "size",
)
_WRONG_TYPE = "An operand in the update expression has an incorrect data type"
_ARITHMETIC = Context(prec=80)  # exact for any two 38-digit numbers
_MISSING = "The provided expression refers to an attribute that does not exist in the item"

Operand = tuple[Any, ...]
"""("value", ":v") | ("path", name) | ("if_not_exists", name, operand) |
("list_append", operand, operand) | ("+" or "-", operand, operand)."""


def _invalid(message: str) -> DynamoDBValidationException:
    return DynamoDBValidationException(message)


@dataclass(frozen=True, slots=True)
class Update:
    """A parsed update: attributes set (with their value expressions) and removed."""

    sets: tuple[tuple[str, Operand], ...]
    removes: tuple[str, ...]

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.sets) + self.removes


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # alias | value | name | number | op | eof | bad
    text: str
    start: int
    end: int


def _tokens(expression: str) -> list[_Token]:
    out = []
    at = 0
    while at < len(expression):
        if expression[at:].strip() == "":
            break
        m = _TOKEN.match(expression, at)
        if m is None or m.lastgroup is None:
            stripped = len(expression) - len(expression[at:].lstrip())
            out.append(_Token("bad", expression[stripped], stripped, stripped + 1))
            break
        kind = m.lastgroup
        out.append(_Token(kind, m.group(kind), m.start(kind), m.end(kind)))
        at = m.end()
    out.append(_Token("eof", "<EOF>", len(expression), len(expression)))
    return out


class _Parser:
    def __init__(self, expression: str, names: Mapping[str, str]) -> None:
        self.text = expression
        self.tokens = _tokens(expression)
        self.at = 0
        self.names = names
        self.used_names: set[str] = set()
        self.used_values: list[str] = []

    # tokens
    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def syntax_error(self) -> DynamoDBValidationException:
        i = self.at
        start = self.tokens[i - 1].start if i > 0 else self.tokens[i].start
        end = self.tokens[min(i + 1, len(self.tokens) - 1)].end
        near = self.text[start:end].strip()
        return _invalid(
            f'Invalid UpdateExpression: Syntax error; token: "{self.token.text}", near: "{near}"'
        )

    def expect(self, text: str) -> None:
        if self.token.kind != "op" or self.token.text != text:
            raise self.syntax_error()
        self.at += 1

    def is_clause(self) -> bool:
        return self.token.kind == "name" and self.token.text.upper() in _CLAUSES

    # grammar
    def parse(self) -> Update:
        if self.token.kind == "eof":
            raise _invalid("Invalid UpdateExpression: The expression can not be empty;")
        sets: list[tuple[str, Operand]] = []
        removes: list[str] = []
        seen: set[str] = set()
        while self.token.kind != "eof":
            if not self.is_clause():
                raise self.syntax_error()
            clause = self.token.text.upper()
            if clause in seen:
                raise _invalid(
                    f'Invalid UpdateExpression: The "{clause}" section can only be used once in '
                    "an update expression;"
                )
            seen.add(clause)
            if clause in ("ADD", "DELETE"):
                raise _invalid(
                    f"The sandbox's DynamoDB supports SET and REMOVE in an UpdateExpression; "
                    f"{clause} is not supported (for a counter, use SET n = n + :one)"
                )
            self.at += 1
            while True:
                if clause == "SET":
                    name = self.path()
                    self.expect("=")
                    sets.append((name, self.value()))
                else:
                    removes.append(self.path())
                if self.token.kind == "op" and self.token.text == ",":
                    self.at += 1
                    continue
                if self.token.kind != "eof" and not self.is_clause():
                    raise self.syntax_error()
                break
        return Update(tuple(sets), tuple(removes))

    def path(self) -> str:
        token = self.token
        if token.kind == "alias":
            self.used_names.add(token.text)
            if token.text not in self.names:
                raise _invalid(
                    "Invalid UpdateExpression: An expression attribute name used in the "
                    f"document path is not defined; attribute name: {token.text}"
                )
            name = self.names[token.text]
        elif token.kind == "name":
            if token.text.upper() in RESERVED_WORDS:
                raise _invalid(
                    "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved "
                    f"keyword: {token.text}"
                )
            name = token.text
        else:
            raise self.syntax_error()
        self.at += 1
        if self.token.kind == "op" and self.token.text in (".", "["):
            raise _invalid(
                "The sandbox's DynamoDB updates top-level attributes only; nested paths "
                f"(a.b, a[0]) are not supported: {self.text}"
            )
        return name

    def value(self) -> Operand:
        left = self.operand()
        if self.token.kind == "op" and self.token.text in ("+", "-"):
            sign = self.token.text
            self.at += 1
            return (sign, left, self.operand())
        return left

    def operand(self) -> Operand:
        token = self.token
        if token.kind == "value":
            self.used_values.append(token.text)
            self.at += 1
            return ("value", token.text)
        nxt = self.tokens[self.at + 1]
        if token.kind == "name" and nxt.kind == "op" and nxt.text == "(":
            return self.function()
        return ("path", self.path())

    def function(self) -> Operand:
        name = self.token.text
        if name in _CONDITION_FUNCTIONS:
            raise _invalid(
                "Invalid UpdateExpression: The function is not allowed in an update expression; "
                f"function: {name}"
            )
        if name not in ("if_not_exists", "list_append"):
            raise _invalid(f"Invalid UpdateExpression: Invalid function name; function: {name}")
        self.at += 2
        if name == "if_not_exists":
            path = self.path()
            self.expect(",")
            fallback = self.value()
            self.expect(")")
            return ("if_not_exists", path, fallback)
        first = self.value()
        self.expect(",")
        second = self.value()
        self.expect(")")
        return ("list_append", first, second)


def parse_update(
    expression: str,
    names: Mapping[str, str] | None,
    values: Mapping[str, AttributeValue] | None,
    key_names: tuple[str, ...],
) -> Update:
    """Parse and check an UpdateExpression against its aliases and values.

    Raises:
        DynamoDBValidationException: with DynamoDB's message for the first problem found.
    """
    parser = _Parser(expression, names or {})
    update = parser.parse()
    for value in parser.used_values:
        if value not in (values or {}):
            raise _invalid(
                "Invalid UpdateExpression: An expression attribute value used in expression is "
                f"not defined; attribute value: {value}"
            )
    unused_names = [n for n in (names or {}) if n not in parser.used_names]
    if unused_names:
        raise _invalid(
            "Value provided in ExpressionAttributeNames unused in expressions: keys: "
            f"{{{', '.join(unused_names)}}}"
        )
    unused_values = [v for v in (values or {}) if v not in parser.used_values]
    if unused_values:
        raise _invalid(
            "Value provided in ExpressionAttributeValues unused in expressions: keys: "
            f"{{{', '.join(unused_values)}}}"
        )
    seen: dict[str, str] = {}
    for target in update.targets:
        if target in seen:
            raise _invalid(
                "Invalid UpdateExpression: Two document paths overlap with each other; must "
                "remove or rewrite one of these paths; path one: "
                f"[{target}], path two: [{target}]"
            )
        seen[target] = target
        if target in key_names:
            raise _invalid(
                f"One or more parameter values were invalid: Cannot update attribute {target}. "
                "This attribute is part of the key"
            )
    return update


def apply_update(update: Update, old: Item | None, values: Mapping[str, AttributeValue]) -> Item:
    """The item after the update; every operand reads the item as it was before."""
    before = old or {}

    def evaluate(operand: Operand) -> AttributeValue:
        kind = operand[0]
        if kind == "value":
            return dict(values[operand[1]])
        if kind == "path":
            if operand[1] not in before:
                raise _invalid(_MISSING)
            return before[operand[1]]
        if kind == "if_not_exists":
            return before[operand[1]] if operand[1] in before else evaluate(operand[2])
        left, right = evaluate(operand[1]), evaluate(operand[2])
        if kind == "list_append":
            if "L" not in left or "L" not in right:
                raise _invalid(_WRONG_TYPE)
            return {"L": [*left["L"], *right["L"]]}
        if "N" not in left or "N" not in right:
            raise _invalid(_WRONG_TYPE)
        a, b = Decimal(left["N"]), Decimal(right["N"])
        result = _ARITHMETIC.add(a, b) if kind == "+" else _ARITHMETIC.subtract(a, b)
        return {"N": normalise_number(str(result))}

    results = {name: evaluate(operand) for name, operand in update.sets}
    after = dict(before)
    after.update(results)
    for name in update.removes:
        after.pop(name, None)
    return after
