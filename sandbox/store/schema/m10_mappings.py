"""Migration 10: event source mappings, their stream checkpoints and window state."""

SQL = """
CREATE TABLE event_source_mappings (
    uuid TEXT PRIMARY KEY,
    account TEXT NOT NULL, region TEXT NOT NULL,
    function_name TEXT NOT NULL,       -- the function (its qualifier is in the config)
    source_arn TEXT NOT NULL,
    config TEXT NOT NULL,              -- JSON: EventSourceMapping.stored()
    created REAL NOT NULL,
    FOREIGN KEY (account, region, function_name) REFERENCES functions (account, region, name)
        ON DELETE CASCADE
);
CREATE INDEX event_source_mappings_function
    ON event_source_mappings (account, region, function_name);
CREATE INDEX event_source_mappings_source ON event_source_mappings (source_arn);
CREATE TABLE esm_checkpoints (
    uuid TEXT NOT NULL,
    shard_id TEXT NOT NULL,            -- a stream shard (and lane, with a parallelization factor)
    sequence_number TEXT,              -- the last record handled (NULL: none yet)
    state TEXT,                        -- JSON: a tumbling window's state and bounds
    PRIMARY KEY (uuid, shard_id),
    FOREIGN KEY (uuid) REFERENCES event_source_mappings ON DELETE CASCADE
)
"""
