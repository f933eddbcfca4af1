"""Lab 6's exercises: solutions, plausible wrong answers, and what a check must never show."""

SOLUTIONS = {
    "6.1": {
        "solution": (
            'queue = f"arn:aws:sqs:us-east-1:{sb.account_id}:flaky-failures"\n'
            "sb.put_function_event_invoke_config(\n"
            '    "flaky",\n'
            "    maximum_retry_attempts=0,\n"
            '    destination_config={"OnFailure": {"Destination": queue}},\n'
            ")\n"
            'sb.invoke("flaky", {"job": 1}, invocation_type="Event")\n'
        ),
        "wrong": [
            # the default retries: the record comes, but minutes later
            'queue = f"arn:aws:sqs:us-east-1:{sb.account_id}:flaky-failures"\n'
            "sb.put_function_event_invoke_config(\n"
            '    "flaky", destination_config={"OnFailure": {"Destination": queue}}\n'
            ")\n"
            'sb.invoke("flaky", {"job": 1}, invocation_type="Event")\n',
            # the destination for the other condition
            'queue = f"arn:aws:sqs:us-east-1:{sb.account_id}:flaky-failures"\n'
            "sb.put_function_event_invoke_config(\n"
            '    "flaky",\n'
            "    maximum_retry_attempts=0,\n"
            '    destination_config={"OnSuccess": {"Destination": queue}},\n'
            ")\n"
            'sb.invoke("flaky", {"job": 1}, invocation_type="Event")\n',
            # a synchronous invoke never goes through the asynchronous queue
            'queue = f"arn:aws:sqs:us-east-1:{sb.account_id}:flaky-failures"\n'
            "sb.put_function_event_invoke_config(\n"
            '    "flaky",\n'
            "    maximum_retry_attempts=0,\n"
            '    destination_config={"OnFailure": {"Destination": queue}},\n'
            ")\n"
            'sb.invoke("flaky", {"job": 1})\n',
        ],
        "secrets": ["maximum_retry_attempts=0", '"OnFailure": {"Destination"'],
    },
    "6.2": {
        "solution": (
            'topic = f"arn:aws:sns:us-east-1:{sb.account_id}:labels"\n'
            "sb.put_function_event_invoke_config(\n"
            '    "label", destination_config={"OnSuccess": {"Destination": topic}}\n'
            ")\n"
            'sb.invoke("label", {"order": 7}, invocation_type="Event")\n'
        ),
        "wrong": [
            # a synchronous invoke: the caller gets the answer, no destination is used
            'topic = f"arn:aws:sns:us-east-1:{sb.account_id}:labels"\n'
            "sb.put_function_event_invoke_config(\n"
            '    "label", destination_config={"OnSuccess": {"Destination": topic}}\n'
            ")\n"
            'sb.invoke("label", {"order": 7})\n',
            # the failure destination: a success goes nowhere
            'topic = f"arn:aws:sns:us-east-1:{sb.account_id}:labels"\n'
            "sb.put_function_event_invoke_config(\n"
            '    "label", destination_config={"OnFailure": {"Destination": topic}}\n'
            ")\n"
            'sb.invoke("label", {"order": 7}, invocation_type="Event")\n',
        ],
        "secrets": ['"OnSuccess": {"Destination": topic}', 'invocation_type="Event"'],
    },
    "6.3": {
        "solution": (
            'dlq = f"arn:aws:sqs:us-east-1:{sb.account_id}:resize-dlq"\n'
            'sb.update_function_configuration("resize", dead_letter_config={"TargetArn": dlq})\n'
            'sb.put_function_event_invoke_config("resize", maximum_retry_attempts=0)\n'
            'sb.invoke("resize", {"image": "cat.png"}, invocation_type="Event")\n'
        ),
        "wrong": [
            # an on-failure destination: the queue gets a record, not the event
            'dlq = f"arn:aws:sqs:us-east-1:{sb.account_id}:resize-dlq"\n'
            "sb.put_function_event_invoke_config(\n"
            '    "resize",\n'
            "    maximum_retry_attempts=0,\n"
            '    destination_config={"OnFailure": {"Destination": dlq}},\n'
            ")\n"
            'sb.invoke("resize", {"image": "cat.png"}, invocation_type="Event")\n',
            # the dead-letter queue, but Lambda still retries for minutes
            'dlq = f"arn:aws:sqs:us-east-1:{sb.account_id}:resize-dlq"\n'
            'sb.update_function_configuration("resize", dead_letter_config={"TargetArn": dlq})\n'
            'sb.invoke("resize", {"image": "cat.png"}, invocation_type="Event")\n',
        ],
        "secrets": ["dead_letter_config=", '{"TargetArn"'],
    },
}
