"""Solutions of lab 0 (the tour), with plausible wrong answers. Not shipped to students."""

SOLUTIONS = {
    "0.1": {
        "solution": (
            'sb.update_function_configuration("hello", memory_size=512)\n'
            'sb.invoke("hello", {"name": "cold"})\n'
            'sb.invoke("hello", {"name": "warm"})\n'
        ),
        "wrong": [
            # hello is warm already: both requests are warm
            'sb.invoke("hello", {"name": "one"})\nsb.invoke("hello", {"name": "two"})\n',
            # a new environment, but never reused
            'sb.update_function_configuration("hello", memory_size=512)\n'
            'sb.invoke("hello", {"name": "cold"})\n',
        ],
        "secrets": ["update_function_configuration(", "memory_size="],
    },
    "0.2": {
        "solution": (
            'sb.update_alias("hello", "live", function_version="2",\n'
            '                routing_config={"AdditionalVersionWeights": {}})\n'
        ),
        "wrong": [
            # more canary, still a canary
            'sb.update_alias("hello", "live",\n'
            '                routing_config={"AdditionalVersionWeights": {"2": 0.5}})\n',
            # refused: version 2 is still in the routing configuration
            'sb.update_alias("hello", "live", function_version="2")\n',
            # flipped: version 1 keeps a share
            'sb.update_alias("hello", "live", function_version="2",\n'
            '                routing_config={"AdditionalVersionWeights": {"1": 0.2}})\n',
        ],
        "secrets": ['"AdditionalVersionWeights": {}', 'function_version="2",\n'],
    },
}
