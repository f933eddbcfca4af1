"""Lab 9's exercises: solutions, plausible wrong answers, and what a check must never show."""

SOLUTIONS = {
    "9.1": {
        "solution": 'sb.update_alias("charge", "live", function_version="1", routing_config={})\n',
        "wrong": [
            # a smaller canary is still a canary
            'sb.update_alias("charge", "live", routing_config='
            '{"AdditionalVersionWeights": {"2": 0.05}})\n',
            # 100 % to the broken version
            'sb.update_alias("charge", "live", function_version="2", routing_config={})\n',
            # the primary version alone: the routing configuration still sends 20 % to 2
            'sb.update_alias("charge", "live", function_version="1")\n',
            # clients call charge:live, and it is gone
            'sb.delete_alias("charge", "live")\n',
        ],
        "secrets": ["routing_config={}", 'function_version="1", routing'],
    },
    "9.2": {
        "solution": (
            "for order in SALE:\n"
            '    sb.invoke("charge", order, qualifier="live", invocation_type="Event")\n'
        ),
        "wrong": [
            # synchronous: throttles are the caller's problem, answers go back to the caller
            'results = sb.invoke_many("charge", SALE, qualifier="live", concurrency=8)\n',
            # asynchronous, but unqualified: live's destinations do not apply to $LATEST
            'for order in SALE:\n    sb.invoke("charge", order, invocation_type="Event")\n',
            # half the sale
            "for order in SALE[:4]:\n"
            '    sb.invoke("charge", order, qualifier="live", invocation_type="Event")\n',
        ],
        "secrets": ['invocation_type="Event"', "InvocationType"],
    },
    "9.3": {
        "solution": (
            'sb.put_function_concurrency("charge", 6)\n'
            'sb.put_provisioned_concurrency_config("charge", "live", 6)\n'
            'sb.wait_for_provisioned_concurrency("charge", "live")\n'
        ),
        "wrong": [
            # room for the spike, but every extra request is a cold start
            'sb.put_function_concurrency("charge", 6)\n',
            # provisioned concurrency may not exceed the reserved concurrency
            'sb.put_provisioned_concurrency_config("charge", "live", 6)\n'
            'sb.wait_for_provisioned_concurrency("charge", "live")\n',
            # provisioned environments for version 1, but the spike calls live
            'sb.put_function_concurrency("charge", 12)\n'
            'sb.put_provisioned_concurrency_config("charge", "1", 6)\n'
            'sb.wait_for_provisioned_concurrency("charge", "1")\n',
        ],
        "secrets": ["put_provisioned_concurrency_config(", 'put_function_concurrency("charge", 6'],
    },
}
