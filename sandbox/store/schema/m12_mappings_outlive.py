"""Migration 12: an event source mapping outlives its function, as on AWS.

DeleteFunction leaves the function's mappings in place (spec §5: observed still
``Enabled``); they fail to invoke until a function of that name exists again. Migration 10
tied a mapping to its function with ``ON DELETE CASCADE``; SQLite cannot drop a foreign key,
so both tables are rebuilt. The checkpoints are copied into their new table first: dropping
the old mappings table with foreign keys on would delete them by cascade.
"""

SQL = """
CREATE TABLE esm_new (
    uuid TEXT PRIMARY KEY,
    account TEXT NOT NULL, region TEXT NOT NULL,
    function_name TEXT NOT NULL,       -- the function's name: it may not exist (any more)
    source_arn TEXT NOT NULL,
    config TEXT NOT NULL,              -- JSON: EventSourceMapping.stored()
    created REAL NOT NULL
);
INSERT INTO esm_new (uuid, account, region, function_name, source_arn, config, created)
    SELECT uuid, account, region, function_name, source_arn, config, created
    FROM event_source_mappings;
CREATE TABLE esm_checkpoints_new (
    uuid TEXT NOT NULL,
    shard_id TEXT NOT NULL,
    sequence_number TEXT,
    state TEXT,
    PRIMARY KEY (uuid, shard_id),
    FOREIGN KEY (uuid) REFERENCES esm_new ON DELETE CASCADE
);
INSERT INTO esm_checkpoints_new (uuid, shard_id, sequence_number, state)
    SELECT uuid, shard_id, sequence_number, state FROM esm_checkpoints;
DROP TABLE esm_checkpoints;
DROP TABLE event_source_mappings;
ALTER TABLE esm_new RENAME TO event_source_mappings;
ALTER TABLE esm_checkpoints_new RENAME TO esm_checkpoints;
CREATE INDEX event_source_mappings_function
    ON event_source_mappings (account, region, function_name);
CREATE INDEX event_source_mappings_source ON event_source_mappings (source_arn)
"""
