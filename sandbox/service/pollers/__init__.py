"""Event source mapping pollers: the Lambda-side readers of queues and streams (spec §8).

:mod:`.runner` keeps one poller per enabled mapping and moves the mappings' states on;
:mod:`.sqs` reads queues, :mod:`.streams` reads Kinesis and DynamoDB streams. All of them
invoke the function synchronously, through the normal invoke path, with a batch.
"""
