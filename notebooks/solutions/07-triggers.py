"""Lab 7's exercises: solutions, plausible wrong answers, and what a check must never show."""

_SEND_PARCELS = (
    'url = sb.sqs.get_queue_url("parcels")["QueueUrl"]\n'
    "for body in PARCELS:\n"
    "    sb.sqs.send_message(url, body)\n"
    'queue = f"arn:aws:sqs:us-east-1:{sb.account_id}:parcels"\n'
)
_BUCKET = (
    'sb.s3.put_bucket_notification_configuration("photos", {"LambdaFunctionConfigurations": [{\n'
    '    "Id": "thumbnails",\n'
    '    "LambdaFunctionArn": f"arn:aws:lambda:us-east-1:{sb.account_id}:function:thumb",\n'
    '    "Events": ["s3:ObjectCreated:*"],\n'
    "}]})\n"
    'sb.s3.put_object("photos", "cat.jpg", b"meow")\n'
)
_TICKETS = (
    'url = sb.sqs.get_queue_url("tickets")["QueueUrl"]\n'
    'queue = f"arn:aws:sqs:us-east-1:{sb.account_id}:tickets"\n'
)
_SEND_TICKETS = "for body in TICKETS:\n    sb.sqs.send_message(url, body)\n"

SOLUTIONS = {
    "7.1": {
        "solution": _SEND_PARCELS + 'sb.create_event_source_mapping("box", queue, batch_size=5)\n',
        "wrong": [
            # the default batch size for SQS is 10
            _SEND_PARCELS + 'sb.create_event_source_mapping("box", queue)\n',
            # six per batch
            _SEND_PARCELS + 'sb.create_event_source_mapping("box", queue, batch_size=6)\n',
            # the messages, but no mapping: nobody polls the queue
            _SEND_PARCELS,
        ],
        "secrets": ["batch_size=5"],
    },
    "7.2": {
        "solution": (
            "sb.add_permission(\n"
            '    "thumb", "from-photos", "lambda:InvokeFunction", "s3.amazonaws.com",\n'
            '    source_arn="arn:aws:s3:::photos",\n'
            ")\n" + _BUCKET
        ),
        "wrong": [
            # the notification without a permission: S3 cannot validate the destination
            _BUCKET,
            # any bucket (and any account) may now invoke thumb
            'sb.add_permission("thumb", "from-s3", "lambda:InvokeFunction", "s3.amazonaws.com")\n'
            + _BUCKET,
            # the permission, but the bucket was never told about the function
            "sb.add_permission(\n"
            '    "thumb", "from-photos", "lambda:InvokeFunction", "s3.amazonaws.com",\n'
            '    source_arn="arn:aws:s3:::photos",\n'
            ")\n"
            'sb.s3.put_object("photos", "cat.jpg", b"meow")\n',
        ],
        "secrets": ['source_arn="arn:aws:s3:::photos"'],
    },
    "7.3": {
        "solution": (
            _TICKETS
            + "import json\n"
            + 'pattern = json.dumps({"body": {"priority": ["high"]}})\n'
            + 'filters = {"Filters": [{"Pattern": pattern}]}\n'
            + 'sb.create_event_source_mapping("triage", queue, filter_criteria=filters)\n'
            + _SEND_TICKETS
        ),
        "wrong": [
            # no filter: every ticket invokes the function
            _TICKETS + 'sb.create_event_source_mapping("triage", queue)\n' + _SEND_TICKETS,
            # the pattern misses the body: nothing matches
            _TICKETS
            + "import json\n"
            + 'pattern = json.dumps({"priority": ["high"]})\n'
            + 'filters = {"Filters": [{"Pattern": pattern}]}\n'
            + 'sb.create_event_source_mapping("triage", queue, filter_criteria=filters)\n'
            + _SEND_TICKETS,
        ],
        "secrets": ['{"body": {"priority": ["high"]}}'],
    },
}
