"""Migration 7: queue redrive, FIFO queues and the calls that move messages between queues.

A message moved to a dead-letter queue remembers where it came from, a receive remembers
when it happened (ChangeMessageVisibility may not push a message past 12 hours from its
receive), and a FIFO queue remembers each deduplication id for five minutes, also after
the message itself is deleted, so the ids live in a table of their own. Two indexes keep a
receive cheap in a deep queue: one in send order (an index's rows end with the rowid, here
``seq``), one by send time, for retention, and one by receipt handle, for deletes.
"""

SQL = """
ALTER TABLE sqs_messages ADD COLUMN dead_letter_source TEXT;
ALTER TABLE sqs_messages ADD COLUMN received REAL;
CREATE INDEX sqs_messages_group ON sqs_messages (account, region, queue, group_id, seq);
CREATE INDEX sqs_messages_order ON sqs_messages (account, region, queue);
CREATE INDEX sqs_messages_sent ON sqs_messages (account, region, queue, sent);
CREATE INDEX sqs_messages_handle ON sqs_messages (account, region, queue, receipt_handle);
CREATE TABLE sqs_deduplication (
    account TEXT NOT NULL, region TEXT NOT NULL, queue TEXT NOT NULL,
    scope TEXT NOT NULL,               -- empty for the whole queue, else the MessageGroupId
    deduplication_id TEXT NOT NULL,
    message_id TEXT NOT NULL,          -- the first message sent with this id
    sequence_number TEXT NOT NULL,
    expires REAL NOT NULL,             -- platform time: sent + the 5-minute interval
    PRIMARY KEY (account, region, queue, scope, deduplication_id),
    FOREIGN KEY (account, region, queue) REFERENCES sqs_queues ON DELETE CASCADE
)
"""
