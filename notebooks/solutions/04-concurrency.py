"""Lab 4's exercises: solutions, plausible wrong answers, and what a check must never show."""

SOLUTIONS = {
    "4.1": {
        "solution": (
            'sb.put_function_concurrency("burst", 10)\n'
            'results = sb.invoke_many("burst", [{}] * 15, concurrency=15)\n'
        ),
        "wrong": [
            # the cap is the number refused, not the number allowed
            'sb.put_function_concurrency("burst", 5)\n'
            'results = sb.invoke_many("burst", [{}] * 15, concurrency=15)\n',
            # configured, but no burst sent
            'sb.put_function_concurrency("burst", 10)\n',
            # the burst sent one request at a time: nothing overlaps, nothing is throttled
            'sb.put_function_concurrency("burst", 10)\n'
            'results = sb.invoke_many("burst", [{}] * 15, concurrency=1)\n',
        ],
        "secrets": ['put_function_concurrency("burst", 10', 'burst", 10)'],
    },
    "4.2": {
        "solution": (
            'sb.put_provisioned_concurrency_config("checkout", "live", 1)\n'
            'sb.wait_for_provisioned_concurrency("checkout", "live")\n'
            "for _ in range(5):\n"
            '    sb.invoke("checkout", qualifier="live")\n'
        ),
        "wrong": [
            # a warm-up request is itself a cold start
            'for _ in range(5):\n    sb.invoke("checkout", qualifier="live")\n',
            # reserved concurrency caps; it initialises nothing
            'sb.put_function_concurrency("checkout", 5)\n'
            "for _ in range(5):\n"
            '    sb.invoke("checkout", qualifier="live")\n',
            # provisioned concurrency on $LATEST is refused
            'sb.put_provisioned_concurrency_config("checkout", "$LATEST", 1)\n'
            "for _ in range(5):\n"
            '    sb.invoke("checkout", qualifier="live")\n',
            # provisioned for the alias, but the requests go to $LATEST
            'sb.put_provisioned_concurrency_config("checkout", "live", 1)\n'
            'sb.wait_for_provisioned_concurrency("checkout", "live")\n'
            "for _ in range(5):\n"
            '    sb.invoke("checkout")\n',
        ],
        "secrets": ["put_provisioned_concurrency_config(", "wait_for_provisioned_concurrency("],
    },
    "4.3": {
        "solution": (
            'limits = sb.get_account_settings().to_aws()["AccountLimit"]\n'
            'mine = sb.get_function_concurrency("critical").reserved_concurrent_executions or 0\n'
            'minimum = max(1, limits["ConcurrentExecutions"] // 10)  # AWS: 100 of 1,000\n'
            'most = limits["UnreservedConcurrentExecutions"] + mine - minimum\n'
            'sb.put_function_concurrency("critical", most)\n'
        ),
        "wrong": [
            # the whole quota: the unreserved minimum must stay
            'limits = sb.get_account_settings().to_aws()["AccountLimit"]\n'
            'sb.put_function_concurrency("critical", limits["ConcurrentExecutions"])\n',
            # everything still unreserved: the same mistake
            'limits = sb.get_account_settings().to_aws()["AccountLimit"]\n'
            'sb.put_function_concurrency("critical", limits["UnreservedConcurrentExecutions"])\n',
            # a reservation, but not the largest
            'sb.put_function_concurrency("critical", 1)\n',
        ],
        "secrets": ["// 10", 'UnreservedConcurrentExecutions"] + '],
    },
}
