"""Lab 5's exercises: solutions, plausible wrong answers, and what a check must never show."""

_AUDITOR = '''
AUDITOR = SHEBANG + """
import json, os, urllib.request

API = os.environ["AWS_LAMBDA_RUNTIME_API"]


def call(path, body=None, headers=None):
    url = f"http://{API}/2020-01-01/extension/{path}"
    return urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers or {}))


events = json.dumps({"events": EVENTS}).encode()
with call("register", events, {"Lambda-Extension-Name": "auditor"}) as reply:
    me = {"Lambda-Extension-Identifier": reply.headers["Lambda-Extension-Identifier"]}
while True:
    with call("event/next", headers=me) as reply:
        event = json.load(reply)
    print("[auditor]", event["eventType"], flush=True)
    if event["eventType"] == "SHUTDOWN":
        break
"""
'''


def _auditor(events: str, path: str) -> str:
    return (
        _AUDITOR.replace("EVENTS", events)
        + f'layer = sb.publish_layer_version("auditor", layer_zip({{"{path}": AUDITOR}}))\n'
        + 'sb.update_function_configuration("audited", layers=[layer.layer_version_arn])\n'
        + 'print(sb.invoke("audited", {}).payload)\n'
    )


SOLUTIONS = {
    "5.1": {
        "solution": _auditor('["INVOKE", "SHUTDOWN"]', "extensions/auditor"),
        "wrong": [
            # registered for INVOKE only: no chance to flush at the end
            _auditor('["INVOKE"]', "extensions/auditor"),
            # not under extensions/: Lambda never starts it
            _auditor('["INVOKE", "SHUTDOWN"]', "auditor"),
        ],
        "secrets": ['{"events": ["INVOKE", "SHUTDOWN"]}', '"extensions/auditor"'],
    },
    "5.2": {
        "solution": (
            "import time\n"
            'sb.invoke("relay", {"n": 1})\n'
            "for _ in range(100):  # at most 5 s\n"
            '    states = [e["state"] for e in sb.environments() if e["function_name"] == "relay"]'
            "\n"
            '    if all(state == "idle" for state in states):\n'
            "        break\n"
            "    time.sleep(0.05)\n"
            'sb.invoke("relay", {"n": 2})\n'
        ),
        "wrong": [
            # back to back: the first environment is still busy with the extension
            'sb.invoke("relay", {"n": 1})\nsb.invoke("relay", {"n": 2})\n',
            # both at once: two environments
            'sb.invoke_many("relay", [{"n": 1}, {"n": 2}], concurrency=2)\n',
            # no extension work, but the configuration is not the lab's any more
            'quiet = {"Variables": {"FLUSH_SECONDS": "0"}}\n'
            'sb.update_function_configuration("relay", environment=quiet)\n'
            'sb.invoke("relay", {"n": 1})\nsb.invoke("relay", {"n": 2})\n',
        ],
        "secrets": ['state == "idle"', "time.sleep("],
    },
}
