"""Migration 8: streams (Kinesis-like) and tables with streams (DynamoDB-like).

One set of stream tables serves both kinds, because an event source mapping reads a Kinesis
shard and a DynamoDB table stream's shard the same way (spec section 8.4). Records are one
row each, keyed (stream id, shard number, sequence number) in a table WITHOUT ROWID, so that
reading a shard from a position is an index range scan and 10,000s of records stay cheap.
Sequence numbers are fixed-width decimal text per kind (56 digits for Kinesis, 22 for
DynamoDB), so text order is numeric order. No ';' inside comments: the runner splits on it.
"""

SQL = """
CREATE TABLE streams (
    id INTEGER PRIMARY KEY,
    arn TEXT NOT NULL UNIQUE,              -- the stream ARN an event source mapping names
    kind TEXT NOT NULL,                    -- kinesis, or dynamodb (a table's stream)
    account TEXT NOT NULL, region TEXT NOT NULL,
    name TEXT NOT NULL,                    -- the Kinesis stream name, or the table name
    label TEXT,                            -- DynamoDB: the stream label (its creation time)
    view_type TEXT,                        -- DynamoDB: StreamViewType
    retention_hours INTEGER NOT NULL DEFAULT 24,
    created REAL NOT NULL,                 -- platform time
    disabled REAL                          -- DynamoDB: when the table stopped writing to it
);
CREATE INDEX streams_name ON streams (account, region, kind, name);
CREATE TABLE stream_shards (
    stream INTEGER NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,               -- Kinesis: the index in the shard id
    shard_id TEXT NOT NULL,
    parent_shard_id TEXT,
    starting_hash TEXT,                    -- Kinesis: the hash key range, decimal
    ending_hash TEXT,
    starting_sequence TEXT NOT NULL,
    ending_sequence TEXT,                  -- set when the shard is closed
    last_sequence TEXT NOT NULL,           -- the highest sequence number given out so far
    PRIMARY KEY (stream, number)
);
CREATE TABLE stream_records (
    stream INTEGER NOT NULL,
    shard INTEGER NOT NULL,
    sequence TEXT NOT NULL,
    arrival REAL NOT NULL,                 -- platform time the record was written
    partition_key TEXT,                    -- Kinesis only
    data BLOB NOT NULL,                    -- Kinesis: the data, DynamoDB: the stream record JSON
    size INTEGER NOT NULL,                 -- bytes (Kinesis: data and key, DynamoDB: SizeBytes)
    PRIMARY KEY (stream, shard, sequence),
    FOREIGN KEY (stream, shard) REFERENCES stream_shards (stream, number) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE ddb_tables (
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
    description TEXT NOT NULL,             -- JSON: KeySchema, AttributeDefinitions, billing, id
    stream_arn TEXT,                       -- LatestStreamArn, kept after the stream is disabled
    stream_enabled INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE ddb_items (
    account TEXT NOT NULL, region TEXT NOT NULL, table_name TEXT NOT NULL,
    item_key TEXT NOT NULL,                -- JSON: the key values, numbers normalised
    item TEXT NOT NULL,                    -- JSON: the item (AttributeValues, binary in base64)
    size INTEGER NOT NULL,                 -- bytes, by DynamoDB's item-size rules
    PRIMARY KEY (account, region, table_name, item_key),
    FOREIGN KEY (account, region, table_name) REFERENCES ddb_tables ON DELETE CASCADE
) WITHOUT ROWID
"""
