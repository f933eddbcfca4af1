"""The local function URL endpoint: plain HTTP requests against real function processes.

A request becomes AWS's payload format 2.0 event, the function runs synchronously, and its
result becomes the HTTP answer as on AWS ("Invoking Lambda function URLs"); auth types,
CORS, throttles, failures and the server's lifetime."""

from __future__ import annotations

import base64
import http.client
import json
import urllib.parse
from collections.abc import Iterator, Sequence

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.core.telemetry import RecordKind
from sandbox.events import validate
from sandbox.http.function_urls import BODY_LIMIT, function_response

pytestmark = pytest.mark.timeout(60)

SIGNED = (
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250105/us-east-1/lambda/aws4_request, "
    "SignedHeaders=host, Signature=00",
)
HANDLER = """\
import base64, time

def lambda_handler(event, context):
    path = event["rawPath"]
    if path == "/plain":
        return {"plain": True}
    if path == "/string":
        return "Hello, world!"
    if path == "/custom":
        return {
            "statusCode": 201,
            "headers": {"X-Custom": "yes", "Access-Control-Allow-Origin": "https://evil.example"},
            "cookies": ["a=1; Max-Age=60", "b=2"],
            "body": "created",
        }
    if path == "/binary":
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "image/png"},
            "body": base64.b64encode(bytes(range(256))).decode(),
            "isBase64Encoded": True,
        }
    if path == "/malformed":
        return {"statusCode": "teapot"}
    if path == "/fail":
        raise RuntimeError("boom")
    if path == "/slow":
        time.sleep(10)
    return event
"""

Answer = tuple[int, list[tuple[str, str]], bytes]


def call(
    base: str,
    method: str = "GET",
    path: str = "/",
    body: bytes | None = None,
    headers: Sequence[tuple[str, str]] = (SIGNED,),
    host: str | None = None,
) -> Answer:
    """One request with http.client (repeated headers kept, nothing added but Host)."""
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        target = parts.path.rstrip("/") + path if host is None else path
        conn.putrequest(method, target, skip_host=host is not None, skip_accept_encoding=True)
        if host is not None:
            conn.putheader("Host", host)
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, [(k.lower(), v) for k, v in response.getheaders()], response.read()
    finally:
        conn.close()


def header(answer: Answer, name: str) -> list[str]:
    return [v for k, v in answer[1] if k == name]


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def sb(clock: FakeClock) -> Iterator[Sandbox]:
    sandbox = Sandbox.ephemeral(clock=clock)
    try:
        sandbox.create_function("web", HANDLER)
        sandbox.create_function_url_config("web", "AWS_IAM")
        yield sandbox
    finally:
        sandbox.close()


@pytest.fixture(scope="module")
def base(sb: Sandbox) -> str:
    return sb.function_url_endpoint("web")


# the event --------------------------------------------------------------------------------
@pytest.mark.process
def test_request_becomes_the_v2_event(sb: Sandbox, base: str, clock: FakeClock) -> None:
    status, _, data = call(
        base,
        path="/echo/it?x=1&x=2&name=J%C3%BCrgen&flag",
        headers=[
            SIGNED,
            ("X-Multi", "a"),
            ("X-Multi", "b"),
            ("Cookie", "c1=v1; c2=v2"),
            ("User-Agent", "pytest/1"),
        ],
    )
    assert status == 200
    event = json.loads(data)
    assert validate("function-url", event) == []
    config = sb.get_function_url_config("web")
    url_id = str(config["FunctionUrl"]).split("//")[1].split(".")[0]
    domain = f"{url_id}.lambda-url.us-east-1.on.aws"
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/echo/it"
    assert event["rawQueryString"] == "x=1&x=2&name=J%C3%BCrgen&flag"
    assert event["queryStringParameters"] == {"x": "1,2", "name": "Jürgen", "flag": ""}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    headers = event["headers"]
    assert headers["x-multi"] == "a,b"
    assert headers["host"] == domain
    assert headers["user-agent"] == "pytest/1"
    assert "cookie" not in headers
    assert "body" not in event and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["apiId"] == context["domainPrefix"] == url_id
    assert context["domainName"] == domain
    assert context["routeKey"] == context["stage"] == "$default"
    assert context["http"] == {
        "method": "GET",
        "path": "/echo/it",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "pytest/1",
    }
    assert context["timeEpoch"] == int(clock.time() * 1000)
    assert context["authorizer"]["iam"]["accessKey"] == "AKIDEXAMPLE"
    assert context["accountId"] == "123456789012"


@pytest.mark.process
def test_text_bodies_stay_text_binary_ones_are_base64(base: str) -> None:
    text = b'{"item": "book"}'
    _, _, data = call(base, "POST", "/echo", text, [SIGNED, ("Content-Type", "application/json")])
    event = json.loads(data)
    assert event["body"] == '{"item": "book"}' and event["isBase64Encoded"] is False
    assert event["headers"]["content-length"] == str(len(text))
    blob = bytes(range(256))
    for content_type in ("application/octet-stream", "application/x-www-form-urlencoded"):
        _, _, data = call(base, "PUT", "/echo", blob, [SIGNED, ("Content-Type", content_type)])
        event = json.loads(data)
        assert event["isBase64Encoded"] is True
        assert base64.b64decode(event["body"]) == blob


# the answer -------------------------------------------------------------------------------
@pytest.mark.process
def test_json_without_status_code_is_a_200_json_body(base: str) -> None:
    status, headers, data = call(base, path="/plain")
    assert (status, data) == (200, b'{"plain": true}')
    assert ("content-type", "application/json") in headers
    assert call(base, path="/string")[2] == b'"Hello, world!"'


@pytest.mark.process
def test_a_response_object_is_used_as_given(base: str) -> None:
    answer = call(base, path="/custom")
    assert answer[0] == 201 and answer[2] == b"created"
    assert header(answer, "x-custom") == ["yes"]
    assert header(answer, "set-cookie") == ["a=1; Max-Age=60", "b=2"]
    assert header(answer, "content-type") == ["application/json"]  # the default
    assert header(answer, "access-control-allow-origin") == ["https://evil.example"]
    binary = call(base, path="/binary")
    assert binary[0] == 200 and binary[2] == bytes(range(256))
    assert header(binary, "content-type") == ["image/png"]


@pytest.mark.process
def test_failures_are_502(base: str) -> None:
    for path in ("/fail", "/malformed"):
        status, _, data = call(base, path=path)
        assert (status, data) == (502, b"Internal Server Error")


@pytest.mark.process
def test_function_timeout_is_respected(sb: Sandbox) -> None:
    sb.create_function("slow", HANDLER, timeout=1)
    sb.create_function_url_config("slow", "AWS_IAM")
    status, _, data = call(sb.function_url_endpoint("slow"), path="/slow")
    assert (status, data) == (502, b"Internal Server Error")


@pytest.mark.process
def test_throttle_is_429(sb: Sandbox) -> None:
    sb.create_function("closed", HANDLER)
    sb.create_function_url_config("closed", "AWS_IAM")
    sb.put_function_concurrency("closed", 0)  # "Deactivating function URLs"
    answer = call(sb.function_url_endpoint("closed"), path="/plain")
    assert answer[0] == 429
    assert json.loads(answer[2]) == {"Message": "Rate Exceeded."}
    assert header(answer, "x-amzn-errortype") == ["TooManyRequestsException"]


@pytest.mark.process
def test_alias_url_runs_the_alias_version(sb: Sandbox) -> None:
    sb.create_function("versioned", "def lambda_handler(e, c):\n    return 'v1'\n")
    sb.publish_version("versioned")
    sb.create_alias("versioned", "live", "1")
    sb.update_function_code("versioned", "def lambda_handler(e, c):\n    return 'v2'\n")
    sb.create_function_url_config("versioned", "AWS_IAM")
    sb.create_function_url_config("versioned", "AWS_IAM", qualifier="live")
    assert call(sb.function_url_endpoint("versioned", "live"))[2] == b'"v1"'
    assert call(sb.function_url_endpoint("versioned"))[2] == b'"v2"'


@pytest.mark.process
def test_one_trigger_record_per_request(sb: Sandbox, base: str) -> None:
    answer = call(base, "DELETE", "/plain")
    request_id = header(answer, "x-amzn-requestid")[0]
    records = sb.telemetry.records(kind=RecordKind.TRIGGER, request_id=request_id)
    assert len(records) == 1
    assert records[0].function_name == "web"
    assert records[0].detail == {
        "source": "function-url",
        "url_id": base.rstrip("/").rsplit("/", 1)[1],
        "qualifier": None,
        "method": "DELETE",
        "path": "/plain",
        "status": 200,
    }
    assert sb.telemetry.records(kind=RecordKind.INVOCATION, request_id=request_id)


JSON = ("content-type", "application/json")
BROKEN = (502, [JSON], b"Internal Server Error")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"statusCode": "204"}', (204, [JSON], b"")),
        (b'{"statusCode": 200, "body": {"a": 1}}', (200, [JSON], b'{"a": 1}')),
        (
            b'{"statusCode": 200, "headers": {"X-N": 5, "Content-Length": "99"}, "body": ""}',
            (200, [("x-n", "5"), JSON], b""),
        ),
        (b'{"statusCode": 200, "body": "!!", "isBase64Encoded": true}', BROKEN),
        (b'{"statusCode": 700}', BROKEN),
        (b'{"statusCode": true}', BROKEN),
        (b'{"statusCode": 200, "headers": ["x"]}', BROKEN),
        (b"null", (200, [JSON], b"null")),
        (b"[1, 2]", (200, [JSON], b"[1, 2]")),
        (b'{"body": "x"}', (200, [JSON], b'{"body": "x"}')),  # no statusCode: all of it
    ],
)
def test_function_response_rules(
    raw: bytes, expected: tuple[int, list[tuple[str, str]], bytes]
) -> None:
    assert function_response(raw) == expected


@pytest.mark.process
def test_connections_are_kept_alive(base: str) -> None:
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        for _ in range(2):
            conn.request("GET", parts.path + "plain", headers=dict([SIGNED]))
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b'{"plain": true}')
    finally:
        conn.close()


# routing and limits -----------------------------------------------------------------------
@pytest.mark.process
def test_host_header_routing(sb: Sandbox, base: str) -> None:
    url_id = base.rstrip("/").rsplit("/", 1)[1]
    port = urllib.parse.urlsplit(base).port
    host = f"{url_id}.lambda-url.us-east-1.localhost:{port}"
    status, _, data = call(base, path="/by/host?a=1", host=host)
    assert status == 200
    assert json.loads(data)["rawPath"] == "/by/host"


def test_unknown_url_id_is_404(sb: Sandbox, base: str) -> None:
    root = base.rstrip("/").rsplit("/", 1)[0]
    assert call(root + "/" + "z" * 32 + "/")[0] == 404


def test_request_bodies_are_bounded(base: str) -> None:
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:  # the headers only: the answer comes before any of the body is read
        conn.putrequest("POST", parts.path + "big")
        conn.putheader(*SIGNED)
        conn.putheader("Content-Length", str(BODY_LIMIT + 1))
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413
        assert b"Request must be smaller than 6291456 bytes" in response.read()
    finally:
        conn.close()


# auth -------------------------------------------------------------------------------------
def test_aws_iam_needs_a_signed_request(sb: Sandbox, base: str) -> None:
    before = len(sb.telemetry.records(kind=RecordKind.INVOCATION))
    answer = call(base, path="/plain", headers=[("Authorization", "Bearer token")])
    assert answer[0] == 403 and answer[2] == b'{"Message":"Forbidden"}'
    assert header(answer, "x-amzn-errortype") == ["AccessDeniedException"]
    assert call(base, path="/plain", headers=[])[0] == 403
    assert len(sb.telemetry.records(kind=RecordKind.INVOCATION)) == before


def test_none_without_a_public_policy_is_forbidden(sb: Sandbox) -> None:
    sb.create_function("private", HANDLER)
    sb.create_function_url_config("private", "NONE")
    answer = call(sb.function_url_endpoint("private"), headers=[])
    assert (answer[0], answer[2]) == (403, b'{"Message":"Forbidden"}')


def public(sb: Sandbox, name: str, *, qualifier: str | None = None, auth: str = "NONE") -> None:
    sb.add_permission(
        name,
        "FunctionURLAllowPublicAccess",
        "lambda:InvokeFunctionUrl",
        "*",
        qualifier=qualifier,
        function_url_auth_type=auth,
    )


@pytest.mark.process
def test_none_with_a_public_policy_is_open(sb: Sandbox) -> None:
    sb.create_function("public", HANDLER)
    sb.create_function_url_config("public", "NONE")
    public(sb, "public")
    status, _, data = call(sb.function_url_endpoint("public"), path="/echo", headers=[])
    assert status == 200
    event = json.loads(data)
    assert event["requestContext"]["accountId"] == "anonymous"
    assert "authorizer" not in event["requestContext"]
    sb.remove_permission("public", "FunctionURLAllowPublicAccess")
    assert call(sb.function_url_endpoint("public"), headers=[])[0] == 403


def test_the_policy_must_grant_the_url_to_everyone_for_none(sb: Sandbox) -> None:
    sb.create_function("half", HANDLER)
    sb.publish_version("half")
    sb.create_alias("half", "live", "1")
    sb.create_function_url_config("half", "NONE")
    sb.create_function_url_config("half", "NONE", qualifier="live")
    public(sb, "half", auth="AWS_IAM")  # the wrong auth type
    sb.add_permission("half", "account", "lambda:InvokeFunctionUrl", "210987654321")
    sb.add_permission("half", "invoke", "lambda:InvokeFunction", "*")  # not the URL action
    assert call(sb.function_url_endpoint("half"), headers=[])[0] == 403
    public(sb, "half", qualifier="live")  # the alias's own policy opens the alias's URL only
    assert call(sb.function_url_endpoint("half"), headers=[])[0] == 403


@pytest.mark.process
def test_an_alias_url_follows_the_alias_policy(sb: Sandbox) -> None:
    sb.create_function("aliased", HANDLER)
    sb.publish_version("aliased")
    sb.create_alias("aliased", "live", "1")
    sb.create_function_url_config("aliased", "NONE", qualifier="live")
    public(sb, "aliased", qualifier="live")
    assert call(sb.function_url_endpoint("aliased", "live"), path="/plain", headers=[])[0] == 200


# CORS -------------------------------------------------------------------------------------
CORS = {
    "AllowOrigins": ["https://shop.example"],
    "AllowMethods": ["GET", "POST"],
    "AllowHeaders": ["x-custom"],
    "ExposeHeaders": ["x-custom"],
    "AllowCredentials": True,
    "MaxAge": 300,
}


@pytest.fixture(scope="module")
def cors_base(sb: Sandbox) -> str:
    sb.create_function("cors", HANDLER)
    sb.create_function_url_config("cors", "AWS_IAM", cors=CORS)
    return sb.function_url_endpoint("cors")


def test_preflight_is_answered_without_invoking(sb: Sandbox, cors_base: str) -> None:
    preflight = [
        ("Origin", "https://shop.example"),
        ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "x-custom"),
    ]
    answer = call(cors_base, "OPTIONS", "/plain", headers=preflight)  # unsigned, as browsers
    assert answer[0] == 200 and answer[2] == b""
    assert header(answer, "access-control-allow-origin") == ["https://shop.example"]
    assert header(answer, "access-control-allow-methods") == ["GET, POST"]
    assert header(answer, "access-control-allow-headers") == ["x-custom"]
    assert header(answer, "access-control-max-age") == ["300"]
    assert header(answer, "access-control-allow-credentials") == ["true"]
    stranger_headers = [("Origin", "https://evil.example"), *preflight[1:]]
    stranger = call(cors_base, "OPTIONS", "/", headers=stranger_headers)
    assert stranger[0] == 200
    assert not [k for k, _ in stranger[1] if k.startswith("access-control-")]
    assert sb.telemetry.records(kind=RecordKind.INVOCATION, function_name="cors") == []


@pytest.mark.process
def test_cors_headers_on_answers_win_over_the_function(cors_base: str) -> None:
    answer = call(cors_base, path="/custom", headers=[SIGNED, ("Origin", "https://shop.example")])
    assert answer[0] == 201
    assert header(answer, "access-control-allow-origin") == ["https://shop.example"]
    assert header(answer, "access-control-expose-headers") == ["x-custom"]
    assert header(answer, "access-control-allow-credentials") == ["true"]
    plain = call(cors_base, path="/plain")  # no Origin: no CORS headers
    assert not [k for k, _ in plain[1] if k.startswith("access-control-")]


# lifetime ---------------------------------------------------------------------------------
def test_the_server_stops_when_the_sandbox_closes(clock: FakeClock) -> None:
    sandbox = Sandbox.ephemeral(clock=clock)
    try:
        sandbox.create_function("web", HANDLER)
        sandbox.create_function_url_config("web", "AWS_IAM")
        base = sandbox.function_url_endpoint("web")
        other = sandbox.for_account("210987654321")
        other.create_function("web", HANDLER)
        other.create_function_url_config("web", "AWS_IAM")
        other_base = other.function_url_endpoint("web")
        assert other_base != base  # one server for every account: same port, another url-id
        assert urllib.parse.urlsplit(other_base).port == urllib.parse.urlsplit(base).port
        assert call(base.replace(base.rsplit("/", 2)[1], "0" * 32))[0] == 404  # it answers
    finally:
        sandbox.close()
    with pytest.raises(ConnectionRefusedError):
        call(base)
