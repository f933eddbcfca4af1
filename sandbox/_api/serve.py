"""``Sandbox.serve()``: the AWS endpoint of a notebook's sandbox, in the background."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox._sandbox import Sandbox, _Shared
    from sandbox.http.server import EndpointServer

__all__ = ["ServeAPI"]


class ServeAPI:
    """Serve this sandbox to boto3 and the AWS CLI from a background thread."""

    _shared: _Shared

    def serve(
        self, host: str = "127.0.0.1", port: int = 5055, token: str | None = None
    ) -> EndpointServer:
        """Start the endpoint (``lambda-sandbox serve`` without a terminal): the same
        functions, queues and clock as this notebook. Point a client at ``.url``::

            boto3.client("lambda", endpoint_url=server.url, region_name="us-east-1",
                         aws_access_key_id="x", aws_secret_access_key="x")

        ``port=0`` picks a free port. Any ``host`` other than loopback requires a
        ``token`` (clients send it as their access key id). The server stops with
        ``server.close()`` or when the sandbox closes.
        """
        from sandbox.http.server import serve

        sandbox: Sandbox = self  # type: ignore[assignment]
        server = serve(sandbox, host=host, port=port, token=token)
        self._shared.closers.append(server.close)
        return server.start()
