"""Fuzzing the endpoint's HTTP layer with hypothesis: random methods, paths (some under
Lambda's real prefixes), headers and bodies, sent over a raw socket.

Each request must get a well-formed HTTP answer within the socket timeout (no crash, no
hang), never a 500 (an unhandled error), and must leave the store exactly as it was
(a malformed request writes nothing)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox import FakeClock, Sandbox
from sandbox.http.server import EndpointServer

pytestmark = pytest.mark.timeout(300)

PREFIXES = [
    "/2015-03-31/functions",
    "/2015-03-31/functions/keep/invocations",
    "/2015-03-31/functions/keep/aliases",
    "/2017-10-31/functions/keep/concurrency",
    "/2018-10-31/layers",
    "/2018-10-31/layers?find=LayerVersion",
    "/2016-08-19/account-settings",
    "/2015-03-31/event-source-mappings",
    "/2021-10-31/functions/keep/url",
    "/",
    "",
]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW", "get", ""]
TOKEN = st.text(alphabet=st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=20)


def _path() -> st.SearchStrategy[str]:
    segment = st.text(
        alphabet=st.characters(codec="ascii", exclude_characters=" \r\n"), max_size=12
    )
    return st.builds(
        lambda prefix, rest: prefix + "".join("/" + s for s in rest),
        st.sampled_from(PREFIXES),
        st.lists(segment, max_size=3),
    )


def _body() -> st.SearchStrategy[bytes]:
    junk_json = st.sampled_from(
        [b"{", b"[]", b"null", b'{"FunctionName": 7}', b'{"Code": "x"}', b'{"MaxItems": "a"}']
    )
    return st.one_of(st.binary(max_size=200), junk_json)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    method = draw(st.sampled_from(METHODS))
    path = draw(_path())
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/9.9", "", "JUNK"]))
    body = draw(_body())
    headers = draw(st.lists(st.tuples(TOKEN, TOKEN), max_size=4))
    length = draw(
        st.one_of(st.just(str(len(body))), st.sampled_from(["-1", "abc", "99999999999", "0"]))
    )
    lines = [f"{method} {path} {version}".strip()]
    lines += [f"{k}: {v}" for k, v in headers]
    if draw(st.booleans()):
        lines.append("Authorization: AWS4-HMAC-SHA256 Credential=" + draw(TOKEN))
    lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _snapshot(sb: Sandbox) -> list[str]:
    with sb._shared.db.read() as conn:
        return list(conn.iterdump())


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, EndpointServer]]:
    sb = Sandbox.ephemeral(clock=FakeClock())
    sb.create_function("keep", "def lambda_handler(e, c):\n    return e\n")
    server = sb.serve(port=0)
    try:
        yield sb, server
    finally:
        sb.close()


def _exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.settimeout(5)
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)  # a short body must not leave the server waiting
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=requests())
def test_malformed_requests_answer_and_change_nothing(
    served: tuple[Sandbox, EndpointServer], data: bytes
) -> None:
    sb, server = served
    before = _snapshot(sb)
    answer = _exchange(server.port, data)
    assert answer.startswith(b"HTTP/1.1 "), answer[:80]
    status = int(answer[9:12])
    assert 200 <= status < 600 and status != 500, answer[:300]
    assert _snapshot(sb) == before
    assert sb.get_function_configuration("keep").function_name == "keep"
