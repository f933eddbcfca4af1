"""The route table against botocore's model, and every operation of the model answered:
served by the sandbox, or a 501 that names it."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator

import botocore.session
import pytest

from sandbox import Sandbox
from sandbox.http.lambda_api import routes, snake
from sandbox.http.lambda_ops import ADAPTERS
from sandbox.http.server import EndpointServer
from tests.http.test_lambda_api_helpers import serving

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def server(sb: Sandbox) -> Iterator[EndpointServer]:
    with serving(sb) as endpoint:
        yield endpoint


def test_route_table_is_botocores_model() -> None:
    """The table was generated from botocore's model (tools/gen_lambda_routes.py); an
    installed botocore may be newer and know more operations (they answer 404
    UnknownOperationException until the table is regenerated), never fewer or other."""
    model = botocore.session.get_session().get_service_model("lambda")
    table = {r.op: r for r in routes()}
    assert set(table) <= set(model.operation_names)
    assert len(table) >= 85
    for name in table:
        http_ = model.operation_model(name).http
        route = table[name]
        path = http_["requestUri"].partition("?")[0]
        assert (route.method, "/" + "/".join(route.segments)) == (http_["method"], path), name
        assert route.status == http_.get("responseCode", 200), name


def test_unimplemented_operations_answer_501_by_name(server: EndpointServer, sb: Sandbox) -> None:
    missing = [
        r for r in routes() if r.op not in ADAPTERS and not callable(getattr(sb, snake(r.op), None))
    ]
    assert {"InvokeWithResponseStream"} <= {r.op for r in missing}
    assert not {"TagResource", "UntagResource", "ListTags"} & {r.op for r in missing}
    for route in missing:
        path = "/" + "/".join(re.sub(r"\{.*\}", "x", s) for s in route.segments)
        query = "&".join(f"{k}={v}" for k, v in route.query_literals)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request(route.method, path + ("?" + query if query else ""), body=b"")
        answer = conn.getresponse()
        body = json.loads(answer.read())
        conn.close()
        assert answer.status == 501, route.op
        assert answer.getheader("x-amzn-errortype") == "NotImplementedException"
        assert body["Message"] == f"The sandbox does not implement the Lambda operation {route.op}"
