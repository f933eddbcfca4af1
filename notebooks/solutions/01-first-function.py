"""Solutions of lab 1 (your first function), with plausible wrong answers."""

SOLUTIONS = {
    "1.1": {
        "solution": (
            'sb.update_function_configuration("typo", handler="lambda_function.lambda_handler")\n'
            'print(sb.invoke("typo", {"name": "Ada"}).payload)\n'
        ),
        "wrong": [
            # invoking again changes nothing
            'sb.invoke("typo", {"name": "Ada"})\n',
            # the handler setting needs the file too
            'sb.update_function_configuration("typo", handler="lambda_handler")\n'
            'sb.invoke("typo", {"name": "Ada"})\n',
            # fixed, but never invoked
            'sb.update_function_configuration("typo", handler="lambda_function.lambda_handler")\n',
        ],
        "secrets": ['handler="lambda_function.lambda_handler"'],
    },
    "1.2": {
        "solution": (
            'sb.update_function_configuration("slowpoke", timeout=1)\n'
            'print(sb.invoke("slowpoke", {"sleep": 0.5}).payload)\n'
            'print(sb.invoke("slowpoke", {"sleep": 1.5}).payload)\n'
        ),
        "wrong": [
            # the default timeout (3 s) lets both finish
            'sb.invoke("slowpoke", {"sleep": 0.5})\nsb.invoke("slowpoke", {"sleep": 1.5})\n',
            # 2 s is still longer than 1.5 s
            'sb.update_function_configuration("slowpoke", timeout=2)\n'
            'sb.invoke("slowpoke", {"sleep": 0.5})\nsb.invoke("slowpoke", {"sleep": 1.5})\n',
            # right setting, only one of the two requests
            'sb.update_function_configuration("slowpoke", timeout=1)\n'
            'sb.invoke("slowpoke", {"sleep": 1.5})\n',
        ],
        "secrets": ["timeout=1"],
    },
    "1.3": {
        "solution": (
            "def lambda_handler(event, context):\n"
            '    print("request", context.aws_request_id)\n'
            '    return "ok"\n'
            "\n"
            'sb.update_function_code("tracer", lambda_handler)\n'
            'sb.invoke("tracer", {})\n'
            'sb.invoke("tracer", {})\n'
        ),
        "wrong": [
            # the stub as it is
            'sb.invoke("tracer", {})\nsb.invoke("tracer", {})\n',
            # an id the handler made up is not Lambda's
            "def lambda_handler(event, context):\n"
            "    import uuid\n"
            '    print("request", uuid.uuid4())\n'
            "\n"
            'sb.update_function_code("tracer", lambda_handler)\n'
            'sb.invoke("tracer", {})\nsb.invoke("tracer", {})\n',
            # the handler setting still says lambda_handler
            "def tracer(event, context):\n"
            '    print("request", context.aws_request_id)\n'
            "\n"
            'sb.update_function_code("tracer", tracer)\n'
            'sb.invoke("tracer", {})\nsb.invoke("tracer", {})\n',
            # right handler, one invocation
            "def lambda_handler(event, context):\n"
            '    print("request", context.aws_request_id)\n'
            "\n"
            'sb.update_function_code("tracer", lambda_handler)\n'
            'sb.invoke("tracer", {})\n',
        ],
        "secrets": ["aws_request_id"],
    },
}
