"""The store's later migrations, one module per feature (each holds one ``SQL`` script).

They are appended to :data:`sandbox.store.db._MIGRATIONS` in the order below, after the
six written inline; a released migration never changes, a new one is a new module.
"""

from sandbox.store.schema import (
    m07_queues,
    m08_streams,
    m09_triggers,
    m10_mappings,
    m11_urls,
    m12_mappings_outlive,
)

FEATURE_MIGRATIONS: tuple[str, ...] = (
    m07_queues.SQL,  # 7: queue redrive, FIFO and batches
    m08_streams.SQL,  # 8: streams (Kinesis-like) and tables with streams (DynamoDB-like)
    m09_triggers.SQL,  # 9: function permissions, event-bus rules, bucket notifications
    m10_mappings.SQL,  # 10: event source mappings and their checkpoints
    m11_urls.SQL,  # 11: function URLs
    m12_mappings_outlive.SQL,  # 12: a mapping outlives its function
)

__all__ = ["FEATURE_MIGRATIONS"]
