"""The endpoint's server: binding and tokens, bounded bodies, malformed requests, the
order of protocol handlers, and its lifetime with the sandbox."""

from __future__ import annotations

import http.client
import json
import socket
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox import Sandbox
from sandbox.http.protocol import Request, Response
from sandbox.http.server import EndpointServer, serve
from tests.http.test_lambda_api_helpers import client, create, error_of, serving

pytestmark = pytest.mark.timeout(60)


def raw(
    server: EndpointServer,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_non_loopback_bind_requires_a_token(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="give a token"):
        serve(sb, host="0.0.0.0", port=0)
    with serve(sb, host="0.0.0.0", port=0, token="s3cret") as server:
        assert server.token == "s3cret"


def test_token_checked_on_every_request(sb: Sandbox) -> None:
    server = sb.serve(port=0, token="s3cret")
    try:
        create(client(server.url, key="s3cret"), "fn")
        with pytest.raises(ClientError) as exc:
            client(server.url, key="wrong").list_functions()
        assert error_of(exc) == (
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            403,
        )
        status, _, _ = raw(server, "GET", "/2015-03-31/functions/")
        assert status == 403
        status, _, body = raw(
            server, "GET", "/2015-03-31/functions/", headers={"x-sandbox-token": "s3cret"}
        )
        assert status == 200 and json.loads(body)["Functions"][0]["FunctionName"] == "fn"
    finally:
        server.close()


def test_bodies_are_bounded(sb: Sandbox) -> None:
    with serving(sb) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.putrequest("POST", "/2015-03-31/functions/fn/invocations")
        conn.putheader("Content-Length", str(64 * 1024 * 1024))
        conn.endheaders()  # the body is never sent: the answer must not wait for it
        response = conn.getresponse()
        assert response.status == 413
        assert response.getheader("x-amzn-errortype") == "RequestEntityTooLargeException"
        assert response.getheader("Connection") == "close"
        conn.close()
        status, _headers, _ = raw(
            server, "POST", "/2015-03-31/functions", headers={"Transfer-Encoding": "chunked"}
        )
        assert status == 411


def test_malformed_requests_get_400s(sb: Sandbox) -> None:
    with serving(sb) as server:
        status, headers, body = raw(server, "POST", "/2015-03-31/functions", b"{nope")
        assert status == 400
        assert headers["x-amzn-errortype"] == "InvalidRequestContentException"
        assert json.loads(body)["Type"] == "User"
        status, _, _ = raw(server, "POST", "/2015-03-31/functions", b"[1, 2]")
        assert status == 400
        status, headers, body = raw(server, "GET", "/nowhere")
        assert status == 404 and headers["x-amzn-errortype"] == "UnknownOperationException"
        assert json.loads(body)["Message"] == "No Lambda operation matches GET /nowhere"
        status, _, _ = raw(server, "PATCH", "/2015-03-31/functions")
        assert status == 405
        status, headers, _ = raw(server, "GET", "/2018-10-31/layers/x/versions/notanumber")
        assert status == 400 and headers["x-amzn-errortype"] == "ValidationException"
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"\x00\xffGARBAGE\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.")
        assert raw(server, "GET", "/2015-03-31/functions/")[0] == 200  # still serving


def test_protocol_handlers_come_first(sb: Sandbox) -> None:
    seen: list[Request] = []

    def mine(_sb: Sandbox, request: Request) -> Response | None:
        seen.append(request)
        return Response(200, b"<ok/>") if request.path == "/queue" else None

    with serving(sb) as server:
        server._handlers = [SimpleNamespace(handle=mine)]  # type: ignore[list-item]
        signed = (
            "AWS4-HMAC-SHA256 Credential=210987654321/20250105/eu-west-1/sqs/aws4_request, "
            "SignedHeaders=host, Signature=00"
        )
        assert raw(server, "POST", "/queue?x=1&x=2", b"a", {"Authorization": signed})[2] == (
            b"<ok/>"
        )
        assert raw(server, "GET", "/2015-03-31/functions/")[0] == 200  # fell through
    first = seen[0]
    assert (first.account_id, first.region) == ("210987654321", "eu-west-1")
    assert first.query == {"x": ["1", "2"]} and first.body == b"a"
    assert first.headers["authorization"] == signed
    assert seen[1].account_id == sb.account_id


def test_closing_the_sandbox_stops_the_server(clock: Any) -> None:
    sb = Sandbox.ephemeral(clock=clock)
    server = sb.serve(port=0)
    port = server.port
    assert raw(server, "GET", "/2015-03-31/functions/")[0] == 200
    sb.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
