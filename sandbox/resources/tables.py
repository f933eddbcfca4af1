"""A local Amazon DynamoDB, enough to produce table streams: tables, items and their changes.

Why it exists: a DynamoDB stream is the other classic source of a stream event source
mapping (spec section 8.4), and what arrives in the function depends on what was written
and on the stream's view type. So the writes here (``put_item``, ``update_item``,
``delete_item``) follow DynamoDB's rules and messages, and each write that changes an item
of a table with a stream appends a stream record (``INSERT``, ``MODIFY`` or ``REMOVE``) to
the table's stream in :mod:`sandbox.store.stream_rows`, where a mapping's poller reads it.

Rules kept: a write that changes nothing (the same item put again, a delete of a missing
item) writes no stream record (DynamoDB Developer Guide, "Change data capture for DynamoDB
Streams"); records are kept 24 hours; disabling a stream, or deleting its table, keeps the
old stream readable for 24 hours, and enabling again makes a new stream with a new label.
Each table stream has one shard (DynamoDB opens new shards every few hours; a single shard
keeps a table's changes in one ordered sequence here).

Not here: queries and indexes, condition expressions, ``ADD``/``DELETE`` updates and nested
paths, batch and transaction calls, TTL, global tables, the ``dynamodbstreams`` client
(``stream_records`` is a sandbox-only look at a table's stream).
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from sandbox.resources.client import ResourceClient
from sandbox.resources.stream_errors import (
    DynamoDBExceptions,
    TableInUse,
    TableNotFound,
)
from sandbox.resources.table_expressions import apply_update, parse_update
from sandbox.resources.table_rules import (
    RETURN_VALUES,
    TABLE_ARN,
    check_create,
    check_expression_maps,
    check_stream_spec,
    enum_problems,
    invalid,
    problem,
    raise_problems,
    schema_of,
    stream_record,
    table_name_problems,
)
from sandbox.resources.table_values import (
    MAX_ITEM_BYTES,
    Item,
    check_item,
    item_size,
    key_string,
    to_boto_item,
)
from sandbox.store import stream_rows, table_rows
from sandbox.store.table_rows import TableRow

__all__ = ["DynamoDBClient"]


class DynamoDBClient(ResourceClient):
    """Amazon DynamoDB for one account and region: boto3's ``dynamodb`` client in
    snake_case, items in DynamoDB JSON (``{"id": {"S": "1"}, "n": {"N": "5"}}``).

    A table is named by its name or ARN. ``create_table`` answers ``CREATING`` as DynamoDB
    does, but the table is usable at once (``describe_table`` says ``ACTIVE``).

    Example:
        >>> sb.dynamodb.create_table(  # doctest: +SKIP
        ...     "Orders", [{"AttributeName": "id", "KeyType": "HASH"}],
        ...     [{"AttributeName": "id", "AttributeType": "S"}],
        ...     stream_specification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        >>> sb.dynamodb.put_item("Orders", {"id": {"S": "1"}})  # doctest: +SKIP
        {}
    """

    exceptions: ClassVar[type[DynamoDBExceptions]] = DynamoDBExceptions
    """The exception classes, as boto3's ``client.exceptions``."""

    # tables ---------------------------------------------------------------------------------
    def create_table(
        self,
        table_name: str,
        key_schema: Sequence[Mapping[str, str]],
        attribute_definitions: Sequence[Mapping[str, str]],
        billing_mode: str = "PAY_PER_REQUEST",
        stream_specification: Mapping[str, Any] | None = None,
        provisioned_throughput: Mapping[str, int] | None = None,
    ) -> dict[str, Any]:
        """Create a table, with a stream when ``stream_specification`` enables one
        (``{"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}``).

        Raises:
            DynamoDBValidationException: a bad name, key schema, billing or stream setting.
            TableInUse: a table of that name exists.
        """
        description = check_create(
            table_name, key_schema, attribute_definitions, billing_mode, provisioned_throughput
        )
        enable, view = check_stream_spec(stream_specification, creating=True)
        description["TableId"] = str(uuid.uuid4())
        now = self._clock.time()
        with self._db.transaction() as conn:
            stream_rows.purge_expired(conn, now)
            if table_rows.get_table(conn, self.account_id, self.region, table_name):
                raise TableInUse(f"Table already exists: {table_name}")
            table_rows.create_table(
                conn, self.account_id, self.region, table_name, description, now
            )
            table = self._table(conn, table_name)
            if enable:
                self._enable_stream(conn, table, view, now)
                table = self._table(conn, table_name)
            answer = self._description(conn, table, "CREATING")
        return {"TableDescription": answer}

    def describe_table(self, table_name: str) -> dict[str, Any]:
        """The table, with ``ItemCount``, ``TableSizeBytes`` and its latest stream."""
        with self._db.read() as conn:
            table = self._table(conn, table_name, describe=True)
            return {"Table": self._description(conn, table, "ACTIVE")}

    def list_tables(
        self, exclusive_start_table_name: str | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        """Table names in order, up to ``limit`` (1-100, default 100) after
        ``exclusive_start_table_name``; ``LastEvaluatedTableName`` when more follow."""
        if limit is not None and not 1 <= limit <= 100:
            bound = "greater than or equal to 1" if limit < 1 else "less than or equal to 100"
            raise_problems([problem(limit, "limit", f"Member must have value {bound}")])
        with self._db.read() as conn:
            names = table_rows.list_tables(conn, self.account_id, self.region)
        if exclusive_start_table_name is not None:
            names = [n for n in names if n > exclusive_start_table_name]
        page = names[: limit or 100]
        answer: dict[str, Any] = {"TableNames": page}
        if len(page) < len(names):
            answer["LastEvaluatedTableName"] = page[-1]
        return answer

    def delete_table(self, table_name: str) -> dict[str, Any]:
        """Delete a table and its items; its stream stays readable for 24 hours."""
        now = self._clock.time()
        with self._db.transaction() as conn:
            table = self._table(conn, table_name, describe=True)
            answer = self._description(conn, table, "DELETING")
            if table.stream_enabled and table.stream_arn:
                self._disable_stream(conn, table, now)
            table_rows.delete_table(conn, table)
            stream_rows.purge_expired(conn, now)
        return {"TableDescription": answer}

    def update_table(
        self, table_name: str, stream_specification: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Enable or disable the table's stream (the one setting the sandbox changes).
        A stream's view type cannot change in place: disable it, then enable it again."""
        if stream_specification is None:
            raise invalid(
                "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
                "GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates, "
                "MultiAccountReplicaReady, ReplicaTransitRoleArn, MultiRegionConsistency, "
                "DeletionProtectionEnabled, OnDemandThroughput, WarmThroughput or TableClass "
                "is required"
            )
        enable, view = check_stream_spec(stream_specification, creating=False)
        now = self._clock.time()
        with self._db.transaction() as conn:
            table = self._table(conn, table_name, describe=True)
            if enable and table.stream_enabled:
                raise invalid(f"Table already has an enabled stream: TableName: {table.name}")
            if not enable and not table.stream_enabled:
                raise invalid(f"Table has no stream to disable: TableName: {table.name}")
            if enable:
                self._enable_stream(conn, table, view, now)
            else:
                self._disable_stream(conn, table, now)
            stream_rows.purge_expired(conn, now)
            return {
                "TableDescription": self._description(
                    conn, self._table(conn, table_name), "UPDATING"
                )
            }

    # items ----------------------------------------------------------------------------------
    def put_item(
        self, table_name: str, item: Mapping[str, Any], return_values: str | None = None
    ) -> dict[str, Any]:
        """Write an item whole (replacing any item with its key).

        Returns:
            ``{}``, or ``{"Attributes": <old item>}`` with ``return_values="ALL_OLD"``.
        """
        raise_problems(
            table_name_problems(table_name)
            + enum_problems(return_values, "returnValues", RETURN_VALUES)
        )
        if return_values not in (None, "NONE", "ALL_OLD"):
            raise invalid("ReturnValues can only be ALL_OLD or NONE")
        new = check_item(item)
        size = item_size(new)
        if size > MAX_ITEM_BYTES:
            raise invalid("Item size has exceeded the maximum allowed size")
        with self._db.transaction(traffic=True) as conn:
            table = self._table(conn, table_name)
            keys = schema_of(table).of_item(new)
            old = self._write(conn, table, keys, new, size)
        return {"Attributes": to_boto_item(old)} if old and return_values == "ALL_OLD" else {}

    def get_item(
        self, table_name: str, key: Mapping[str, Any], consistent_read: bool | None = None
    ) -> dict[str, Any]:
        """``{"Item": ...}``, or ``{}`` when there is no item with that key (every read is
        consistent here)."""
        raise_problems(table_name_problems(table_name))
        wanted = check_item(key, "Key")
        with self._db.read() as conn:
            table = self._table(conn, table_name)
            schema = schema_of(table)
            found = table_rows.get_item(conn, table, key_string(schema.of_key(wanted), schema))
        return {"Item": to_boto_item(found)} if found is not None else {}

    def delete_item(
        self, table_name: str, key: Mapping[str, Any], return_values: str | None = None
    ) -> dict[str, Any]:
        """Delete the item with that key (deleting a missing item is not an error, and
        writes no stream record)."""
        raise_problems(
            table_name_problems(table_name)
            + enum_problems(return_values, "returnValues", RETURN_VALUES)
        )
        if return_values not in (None, "NONE", "ALL_OLD"):
            raise invalid("ReturnValues can only be ALL_OLD or NONE")
        wanted = check_item(key, "Key")
        with self._db.transaction(traffic=True) as conn:
            table = self._table(conn, table_name)
            keys = schema_of(table).of_key(wanted)
            old = self._write(conn, table, keys, None, 0)
        return {"Attributes": to_boto_item(old)} if old and return_values == "ALL_OLD" else {}

    def update_item(
        self,
        table_name: str,
        key: Mapping[str, Any],
        update_expression: str | None = None,
        expression_attribute_names: Mapping[str, str] | None = None,
        expression_attribute_values: Mapping[str, Any] | None = None,
        return_values: str | None = None,
    ) -> dict[str, Any]:
        """Change attributes of an item, creating it if there is none:
        ``update_expression="SET #s = :s REMOVE tmp"`` with ``#name`` aliases and
        ``:value`` values (SET and REMOVE of top-level attributes; see
        :mod:`sandbox.resources.table_expressions`).

        Returns:
            ``{}``, or ``{"Attributes": ...}`` for ``return_values`` ``ALL_OLD``,
            ``UPDATED_OLD``, ``ALL_NEW`` or ``UPDATED_NEW``.
        """
        raise_problems(
            table_name_problems(table_name)
            + enum_problems(return_values, "returnValues", RETURN_VALUES)
        )
        wanted = check_item(key, "Key")
        names, values = check_expression_maps(
            update_expression, expression_attribute_names, expression_attribute_values
        )
        with self._db.transaction(traffic=True) as conn:
            table = self._table(conn, table_name)
            schema = schema_of(table)
            keys = schema.of_key(wanted)
            update = None
            if update_expression is not None:
                update = parse_update(update_expression, names, values, schema.names)
            old = table_rows.get_item(conn, table, key_string(keys, schema))
            new = apply_update(update, old, values) if update else dict(old or {})
            new.update(keys)
            size = item_size(new)
            if size > MAX_ITEM_BYTES:
                raise invalid("Item size to update has exceeded the maximum allowed size")
            self._write(conn, table, keys, new, size)
        changed = update.targets if update else ()
        chosen = {
            "ALL_OLD": old or {},
            "ALL_NEW": new,
            "UPDATED_OLD": {n: v for n, v in (old or {}).items() if n in changed},
            "UPDATED_NEW": {n: v for n, v in new.items() if n in changed},
        }.get(return_values or "NONE")
        return {"Attributes": to_boto_item(chosen)} if chosen else {}

    def scan(
        self,
        table_name: str,
        limit: int | None = None,
        exclusive_start_key: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Every item in key order, a page of ``limit`` at a time (``LastEvaluatedKey``
        when the page is full; pass it as ``exclusive_start_key``)."""
        problems = table_name_problems(table_name)
        if limit is not None and limit < 1:
            problems.append(
                problem(limit, "limit", "Member must have value greater than or equal to 1")
            )
        raise_problems(problems)
        start = (
            check_item(exclusive_start_key, "ExclusiveStartKey") if exclusive_start_key else None
        )
        with self._db.read() as conn:
            table = self._table(conn, table_name)
            schema = schema_of(table)
            after = key_string(schema.of_key(start), schema) if start else None
            page = table_rows.scan(conn, table, after, limit)
        answer: dict[str, Any] = {
            "Items": [to_boto_item(item) for _, item in page],
            "Count": len(page),
            "ScannedCount": len(page),
        }
        if limit is not None and len(page) == limit:
            last = page[-1][1]
            answer["LastEvaluatedKey"] = to_boto_item({n: last[n] for n in schema.names})
        return answer

    # sandbox-only ---------------------------------------------------------------------------
    def stream_records(self, table_name: str) -> list[dict[str, Any]]:
        """Sandbox-only: the records of the table's latest stream still retained, oldest
        first, each as a Lambda event record (with ``eventSourceARN``); ``[]`` without a
        stream. On AWS you would read them with the ``dynamodbstreams`` client."""
        now = self._clock.time()
        with self._db.read() as conn:
            table = self._table(conn, table_name)
            arn = table.stream_arn
            if arn is None:
                return []
            out = []
            for shard in stream_rows.shards(conn, arn):
                found = stream_rows.read(
                    conn, arn, shard.shard_id, after=None, limit=10**9, now=now
                )
                out += [
                    stream_rows.lambda_record(r, stream_arn=arn, region=self.region) for r in found
                ]
        return out

    # helpers --------------------------------------------------------------------------------
    def _table(
        self, conn: sqlite3.Connection, table_name: str, *, describe: bool = False
    ) -> TableRow:
        """The table named (by name or ARN); a missing one is "Requested resource not
        found" (``: Table: NAME not found`` from the table calls)."""
        raise_problems(table_name_problems(table_name))
        account, region, name = self.account_id, self.region, table_name
        if m := TABLE_ARN.match(table_name):
            region, account, name = m.group(1), m.group(2), m.group(3)
        found = None
        if (account, region) == (self.account_id, self.region):
            found = table_rows.get_table(conn, account, region, name)
        if found is None:
            detail = f": Table: {name} not found" if describe else ""
            raise TableNotFound(f"Requested resource not found{detail}")
        return found

    def _write(
        self,
        conn: sqlite3.Connection,
        table: TableRow,
        keys: Item,
        new: Item | None,
        size: int,
    ) -> Item | None:
        """Store (or, with ``new`` None, delete) an item and append its stream record when
        it changed; returns the item as it was."""
        schema = schema_of(table)
        stored_key = key_string(keys, schema)
        old = table_rows.get_item(conn, table, stored_key)
        if new is None:
            table_rows.delete_item(conn, table, stored_key)
        else:
            table_rows.put_item(conn, table, stored_key, new, size)
        if old == new or not table.stream_enabled or table.stream_arn is None:
            return old
        stream = stream_rows.get_stream(conn, table.stream_arn)
        assert stream is not None and stream.view_type is not None
        now = self._clock.time()
        name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        record = stream_record(name, keys, old, new, stream.view_type, now, self.region)
        size_bytes = record["dynamodb"]["SizeBytes"]
        stream_rows.append(conn, stream, [(0, None, record, size_bytes)], now)
        return old

    def _enable_stream(
        self, conn: sqlite3.Connection, table: TableRow, view: str | None, now: float
    ) -> None:
        """A new stream, labelled with its creation time to the millisecond (later than any
        earlier stream of a table of that name, so labels never repeat)."""
        earlier = [
            s.created
            for s in stream_rows.list_streams(conn, self.account_id, self.region, "dynamodb")
            if s.name == table.name
        ]
        ms = max([int(now * 1000), *(round(t * 1000) + 1 for t in earlier)])
        created = ms / 1000
        moment = datetime.fromtimestamp(created, UTC)
        label = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}"
        arn = stream_rows.table_stream_arn(self.account_id, self.region, table.name, label)
        suffix = hashlib.md5(arn.encode()).hexdigest()[:8]
        stream_rows.create_stream(
            conn,
            arn=arn,
            kind="dynamodb",
            account=self.account_id,
            region=self.region,
            name=table.name,
            shards=[(f"shardId-{ms:020d}-{suffix}", None, None)],
            now=created,
            label=label,
            view_type=view,
        )
        table_rows.set_stream(conn, table, arn, True)

    def _disable_stream(self, conn: sqlite3.Connection, table: TableRow, now: float) -> None:
        assert table.stream_arn is not None
        stream = stream_rows.get_stream(conn, table.stream_arn)
        if stream is not None:
            stream_rows.disable_stream(conn, stream.id, now)
        table_rows.set_stream(conn, table, table.stream_arn, False)

    def _description(
        self, conn: sqlite3.Connection, table: TableRow, status: str
    ) -> dict[str, Any]:
        """DescribeTable's ``Table`` (and the ``TableDescription`` of the other calls)."""
        d = table.description
        count, size = table_rows.count_items(conn, table)
        created = datetime.fromtimestamp(table.created, UTC)
        answer: dict[str, Any] = {
            "AttributeDefinitions": d["AttributeDefinitions"],
            "TableName": table.name,
            "KeySchema": d["KeySchema"],
            "TableStatus": status,
            "CreationDateTime": created,
            "ProvisionedThroughput": {"NumberOfDecreasesToday": 0, **d["ProvisionedThroughput"]},
            "TableSizeBytes": size,
            "ItemCount": count,
            "TableArn": f"arn:aws:dynamodb:{table.region}:{table.account}:table/{table.name}",
            "TableId": d["TableId"],
            "BillingModeSummary": {"BillingMode": d["BillingMode"]},
        }
        if d["BillingMode"] == "PAY_PER_REQUEST":
            answer["BillingModeSummary"]["LastUpdateToPayPerRequestDateTime"] = created
        if table.stream_arn is not None:
            stream = stream_rows.get_stream(conn, table.stream_arn)
            if table.stream_enabled and stream is not None:
                answer["StreamSpecification"] = {
                    "StreamEnabled": True,
                    "StreamViewType": stream.view_type,
                }
            answer["LatestStreamLabel"] = table.stream_arn.rsplit("/", 1)[-1]
            answer["LatestStreamArn"] = table.stream_arn
        answer["DeletionProtectionEnabled"] = False
        return answer

    def __repr__(self) -> str:
        return f"<DynamoDBClient {self.account_id} {self.region}>"
