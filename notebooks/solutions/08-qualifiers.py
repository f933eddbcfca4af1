"""Lab 8 (qualifiers): solutions, plausible wrong answers, and what a verdict must not show."""

V1_AGAIN = (
    "sb.update_function_code(\n"
    '    "checkout", "def lambda_handler(event, context):\\n    return {\'total\': 10}\\n"\n'
    ")\n"
)

SOLUTIONS = {
    "8.1": {
        "solution": (
            'sb.update_function_configuration("checkout", timeout=10)\n'
            'print(sb.publish_version("checkout").version)\n'
        ),
        "wrong": [
            # publishing unchanged $LATEST hands back version 2
            'sb.publish_version("checkout", description="timeout 10 s")\n',
            # $LATEST changed, but nothing was published
            'sb.update_function_configuration("checkout", timeout=10)\n',
            # a published version cannot be changed
            'sb.update_function_configuration("checkout:2", timeout=10)\n'
            'sb.publish_version("checkout")\n',
            # a 10-second version, but with other code
            V1_AGAIN + 'sb.update_function_configuration("checkout", timeout=10)\n'
            'sb.publish_version("checkout")\n',
        ],
        "secrets": ['update_function_configuration("checkout", timeout=10)'],
    },
    "8.2": {
        "solution": (
            'sb.update_alias("checkout", "live", function_version="1",\n'
            '                routing_config={"AdditionalVersionWeights": {"2": 0.2}})\n'
            'sb.invoke_many("checkout", [{}] * 100, qualifier="live")\n'
        ),
        "wrong": [
            # the weight is the extra version's share: this sends 80 % to version 2
            'sb.update_alias("checkout", "live", function_version="1",\n'
            '                routing_config={"AdditionalVersionWeights": {"2": 0.8}})\n'
            'sb.invoke_many("checkout", [{}] * 100, qualifier="live")\n',
            # a percentage instead of a fraction: AWS refuses it
            'sb.update_alias("checkout", "live",\n'
            '                routing_config={"AdditionalVersionWeights": {"2": 20}})\n'
            'sb.invoke_many("checkout", [{}] * 100, qualifier="live")\n',
            # the right routing, but the requests went to $LATEST
            'sb.update_alias("checkout", "live", function_version="1",\n'
            '                routing_config={"AdditionalVersionWeights": {"2": 0.2}})\n'
            'sb.invoke_many("checkout", [{}] * 100)\n',
            # the requests were sent before the routing changed
            'sb.invoke_many("checkout", [{}] * 100, qualifier="live")\n'
            'sb.update_alias("checkout", "live", function_version="1",\n'
            '                routing_config={"AdditionalVersionWeights": {"2": 0.2}})\n',
            # everything to version 2 at once: a release, not a canary
            'sb.update_alias("checkout", "live", function_version="2")\n'
            'sb.invoke_many("checkout", [{}] * 100, qualifier="live")\n',
        ],
        "secrets": ['{"2": 0.2}', "{'2': 0.2}"],
    },
    "8.3": {
        "solution": (
            'sb.update_alias("checkout", "live", function_version="1",\n'
            '                routing_config={"AdditionalVersionWeights": {}})\n'
            'sb.invoke_many("checkout", [{}] * 50, qualifier="live")\n'
        ),
        "wrong": [
            # moving FunctionVersion keeps the routing: version 2 still gets its share
            'sb.update_alias("checkout", "live", function_version="1")\n'
            'sb.invoke_many("checkout", [{}] * 50, qualifier="live")\n',
            # an alias references version 2: AWS refuses to delete it
            'sb.delete_function("checkout", "2")\n'
            'sb.invoke_many("checkout", [{}] * 50, qualifier="live")\n',
            # redeploying $LATEST does not touch the alias
            V1_AGAIN + 'sb.invoke_many("checkout", [{}] * 50, qualifier="live")\n',
            # the requests went out before the rollback
            'sb.invoke_many("checkout", [{}] * 50, qualifier="live")\n'
            'sb.update_alias("checkout", "live", function_version="1",\n'
            '                routing_config={"AdditionalVersionWeights": {}})\n',
        ],
        "secrets": ['"AdditionalVersionWeights": {}', "'AdditionalVersionWeights': {}"],
    },
}
