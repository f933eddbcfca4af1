"""Migration 9: push triggers, and the permission they need.

A push source (an S3 bucket, an SNS topic, an EventBridge rule) invokes a function only if
the function's resource-based policy lets that service do so (spec §8.1), so the policy's
statements live here, per qualifier, and go with the function. Event-bus rules and their
targets route events (and schedules) to functions, and a bucket keeps its notification
configuration. SNS ``lambda`` subscriptions need no table: they are rows of
``sns_subscriptions`` (migration 6), their FilterPolicy one of its attributes.

A policy row also goes when its version or alias is deleted: the migration runner splits
scripts on semicolons, which a trigger body needs, so those two cleanup triggers are made
by :func:`sandbox.store.trigger_rows.put_policy` (IF NOT EXISTS) with the first policy.
"""

SQL = """
CREATE TABLE function_policies (
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
    qualifier TEXT NOT NULL,           -- empty for the function itself, else a version or alias
    statements TEXT NOT NULL,          -- JSON: the policy's statements (AWS shape), in order
    revision TEXT NOT NULL,            -- the policy's RevisionId
    PRIMARY KEY (account, region, name, qualifier),
    FOREIGN KEY (account, region, name) REFERENCES functions ON DELETE CASCADE
);
CREATE TABLE event_rules (
    account TEXT NOT NULL, region TEXT NOT NULL,
    bus TEXT NOT NULL,                 -- the event bus name: default or a custom bus
    name TEXT NOT NULL,
    event_pattern TEXT,                -- JSON text as given
    schedule TEXT,                     -- rate(...) or cron(...), default bus only
    state TEXT NOT NULL,               -- ENABLED or DISABLED
    description TEXT,
    role_arn TEXT,
    anchor REAL NOT NULL,              -- platform time a rate schedule counts from
    last_fired REAL,                   -- the last scheduled firing claimed (its due time)
    created REAL NOT NULL,
    PRIMARY KEY (account, region, bus, name)
);
CREATE INDEX event_rules_scheduled ON event_rules (schedule, state);
CREATE TABLE rule_targets (
    account TEXT NOT NULL, region TEXT NOT NULL, bus TEXT NOT NULL, rule TEXT NOT NULL,
    id TEXT NOT NULL,                  -- the target's Id, unique within its rule
    target TEXT NOT NULL,              -- JSON: the target as given (Id, Arn, Input, InputPath)
    added REAL NOT NULL,
    PRIMARY KEY (account, region, bus, rule, id),
    FOREIGN KEY (account, region, bus, rule) REFERENCES event_rules ON DELETE CASCADE
);
CREATE TABLE bucket_notifications (
    bucket TEXT PRIMARY KEY REFERENCES s3_buckets (name) ON DELETE CASCADE,
    configuration TEXT NOT NULL        -- JSON: the NotificationConfiguration in effect
)
"""
