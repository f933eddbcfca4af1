"""Invoke through the endpoint with unmodified boto3: real function processes.

The invoke answer is the endpoint's most header-heavy shape (``X-Amz-Executed-Version``,
``X-Amz-Function-Error``, ``X-Amz-Log-Result``, the status code per invocation type), and
throttles must surface as 429 with AWS's ``Reason``."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox import Sandbox
from sandbox.http.server import EndpointServer
from tests.http.test_lambda_api_helpers import client, create, error_of, serving, zipped

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]
ARN = "arn:aws:lambda:us-east-1:123456789012:function"
HANDLER = """\
import json

def lambda_handler(event, context):
    print("seen", json.dumps(event))
    if event.get("fail"):
        raise ValueError("boom")
    custom = context.client_context.custom if context.client_context else None
    return {"echo": event, "custom": custom, "version": context.function_version}
"""


@pytest.fixture
def server(sb: Sandbox) -> Iterator[EndpointServer]:
    with serving(sb) as endpoint:
        yield endpoint


@pytest.fixture
def lam(server: EndpointServer) -> Any:
    return client(server.url)


def test_request_response_with_tail_and_client_context(lam: Any) -> None:
    create(lam, "fn", HANDLER)
    context = base64.b64encode(json.dumps({"custom": {"user": "ada"}}).encode()).decode()
    answer = lam.invoke(
        FunctionName="fn", Payload=b'{"n": 1}', LogType="Tail", ClientContext=context
    )
    assert answer["StatusCode"] == 200
    assert answer["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in answer
    body = json.loads(answer["Payload"].read())
    assert body == {"echo": {"n": 1}, "custom": {"user": "ada"}, "version": "$LATEST"}
    log = base64.b64decode(answer["LogResult"]).decode()
    assert 'seen {"n": 1}' in log and "REPORT RequestId:" in log
    assert answer["ResponseMetadata"]["RequestId"] in log


def test_function_error_event_and_dry_run(lam: Any, sb: Sandbox) -> None:
    create(lam, "fn", HANDLER)
    failed = lam.invoke(FunctionName="fn", Payload=json.dumps({"fail": True}))
    assert failed["StatusCode"] == 200 and failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "boom"
    queued = lam.invoke(FunctionName="fn", InvocationType="Event", Payload=b"{}")
    assert queued["StatusCode"] == 202 and queued["Payload"].read() == b""
    dry = lam.invoke(FunctionName="fn", InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    assert sb.drain(20)
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName="fn", Payload=b"{not json")
    assert error_of(exc)[0] == "InvalidRequestContentException"


def test_version_and_alias_qualifiers(lam: Any) -> None:
    create(lam, "fn", HANDLER)
    lam.publish_version(FunctionName="fn")
    lam.create_alias(FunctionName="fn", Name="live", FunctionVersion="1")
    answer = lam.invoke(FunctionName="fn", Qualifier="live", Payload=b"{}")
    assert answer["ExecutedVersion"] == "1"
    assert json.loads(answer["Payload"].read())["version"] == "1"
    answer = lam.invoke(FunctionName=f"{ARN}:fn:1", Payload=b"{}")
    assert answer["ExecutedVersion"] == "1"


def test_weighted_alias_routing(lam: Any) -> None:
    create(lam, "fn", HANDLER)
    lam.publish_version(FunctionName="fn")
    lam.update_function_configuration(FunctionName="fn", Description="second")
    lam.publish_version(FunctionName="fn")
    lam.create_alias(
        FunctionName="fn",
        Name="canary",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    ran = [
        lam.invoke(FunctionName="fn", Qualifier="canary", Payload=b"{}")["ExecutedVersion"]
        for _ in range(40)
    ]
    assert set(ran) == {"1", "2"}  # each side has a 2**-40 chance of never running


def test_throttle_is_429_with_reason(lam: Any, sb: Sandbox) -> None:
    create(lam, "fn", HANDLER)
    sb.put_function_concurrency("fn", 0)
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName="fn", Payload=b"{}")
    assert error_of(exc) == ("TooManyRequestsException", "Rate Exceeded.", 429)
    assert exc.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert exc.value.response["Error"]["Code"] == "TooManyRequestsException"


def test_payload_over_six_mb_is_413(lam: Any) -> None:
    create(lam, "fn", HANDLER)
    payload = json.dumps({"x": "a" * 6_291_456}).encode()
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName="fn", Payload=payload)
    code, _message, status = error_of(exc)
    assert (code, status) == ("RequestEntityTooLargeException", 413)


def test_async_invoke_reaches_its_destination(lam: Any, sb: Sandbox) -> None:
    create(lam, "fn", HANDLER)
    url = sb.sqs.create_queue("done")["QueueUrl"]
    arn = sb.sqs.get_queue_attributes(url, ["QueueArn"])["Attributes"]["QueueArn"]
    lam.put_function_event_invoke_config(
        FunctionName="fn", DestinationConfig={"OnSuccess": {"Destination": arn}}
    )
    queued = lam.invoke(FunctionName="fn", InvocationType="Event", Payload=b'{"job": 7}')
    request_id = queued["ResponseMetadata"]["RequestId"]
    assert sb.drain(30)
    (message,) = sb.sqs.receive_message(url)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"]["echo"] == {"job": 7}


def test_provisioned_concurrency(lam: Any, sb: Sandbox) -> None:
    create(lam, "fn", HANDLER)
    lam.publish_version(FunctionName="fn")
    put = lam.put_provisioned_concurrency_config(
        FunctionName="fn", Qualifier="1", ProvisionedConcurrentExecutions=1
    )
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert put["RequestedProvisionedConcurrentExecutions"] == 1
    sb.wait_for_provisioned_concurrency("fn", "1", timeout=60)
    got = lam.get_provisioned_concurrency_config(FunctionName="fn", Qualifier="1")
    assert got["Status"] == "READY"
    listed = lam.list_provisioned_concurrency_configs(FunctionName="fn")
    assert [c["FunctionArn"] for c in listed["ProvisionedConcurrencyConfigs"]] == [f"{ARN}:fn:1"]
    lam.delete_provisioned_concurrency_config(FunctionName="fn", Qualifier="1")
    with pytest.raises(ClientError) as exc:
        lam.get_provisioned_concurrency_config(FunctionName="fn", Qualifier="1")
    assert error_of(exc)[0] == "ProvisionedConcurrencyConfigNotFoundException"


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_aws_cli(server: EndpointServer, tmp_path: Path) -> None:
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="x",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )

    def aws(*args: str) -> subprocess.CompletedProcess[str]:
        command = ["aws", "--endpoint-url", server.url, "lambda", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    create(client(server.url), "hello", HANDLER)
    listed = aws("list-functions", "--query", "Functions[].FunctionName", "--output", "text")
    assert listed.returncode == 0 and listed.stdout.split() == ["hello"]
    out = tmp_path / "out.json"
    version = subprocess.run(["aws", "--version"], capture_output=True, text=True, timeout=60)
    binary = (
        []
        if "aws-cli/1." in version.stdout + version.stderr
        else [
            "--cli-binary-format",
            "raw-in-base64-out",
        ]
    )
    invoked = aws("invoke", "--function-name", "hello", *binary, "--payload", '{"a": 1}', str(out))
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout) == {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
    assert json.loads(out.read_text())["echo"] == {"a": 1}
    missing = aws("get-function", "--function-name", "nope")
    assert missing.returncode == 255
    assert "ResourceNotFoundException" in missing.stderr and "Function not found" in missing.stderr


def test_invoke_async_and_concurrent_clients(server: EndpointServer, sb: Sandbox) -> None:
    lam = client(server.url)
    create(lam, "fn", HANDLER)
    legacy = lam.invoke_async(FunctionName="fn", InvokeArgs=b'{"old": true}')
    assert legacy["Status"] == 202
    assert sb.drain(30)
    (event,) = sb.async_events("fn")
    assert event["outcome"] == "Success"

    def one(n: int) -> object:
        own = client(server.url)  # boto3 clients are not shared across threads
        return json.loads(
            own.invoke(FunctionName="fn", Payload=json.dumps({"n": n}))["Payload"].read()
        )

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(16)))
    assert [a["echo"]["n"] for a in answers] == list(range(16))  # type: ignore[index]


def test_versions_by_qualifier_delete_and_list_all(lam: Any) -> None:
    create(lam, "fn", HANDLER)
    published = lam.update_function_code(FunctionName="fn", ZipFile=zipped(HANDLER), Publish=True)
    assert published["Version"] == "1"
    everything = lam.list_functions(FunctionVersion="ALL")["Functions"]
    assert sorted(f["Version"] for f in everything) == ["$LATEST", "1"]
    lam.delete_function(FunctionName="fn", Qualifier="1")
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="fn")["Versions"]] == [
        "$LATEST"
    ]
