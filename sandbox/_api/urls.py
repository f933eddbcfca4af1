"""From :class:`~sandbox.Sandbox`:
function URLs: create/get/update/delete/list_function_url_config(s) and the local
endpoint that serves them (:meth:`FunctionUrlAPI.function_url_endpoint`).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sandbox import errors
from sandbox.service.urls import FunctionUrlService

if TYPE_CHECKING:
    from sandbox._sandbox import _Shared
    from sandbox.http.function_urls import FunctionUrlServer

__all__ = ["FunctionUrlAPI"]

# one loopback server per sandbox (shared by its account views), closed with it
_SERVERS: weakref.WeakKeyDictionary[_Shared, FunctionUrlServer] = weakref.WeakKeyDictionary()


class FunctionUrlAPI:
    """``*_function_url_config(s)`` as in boto3 (AWS's response dicts), and where each URL
    is served on this machine."""

    _shared: _Shared
    account_id: str
    region: str

    def _url_service(self) -> FunctionUrlService:
        shared = self._shared
        return FunctionUrlService(
            shared.db, shared.clock, account_id=self.account_id, region=self.region
        )

    def _url_server(self) -> FunctionUrlServer:
        """The sandbox's function URL server, started on first use."""
        shared = self._shared
        with shared.lock:
            if shared.closed:
                raise errors.SandboxClosedError("the sandbox is closed")
            server = _SERVERS.get(shared)
            if server is None:
                from sandbox.http.function_urls import FunctionUrlServer

                server = FunctionUrlServer(shared.db, shared.clock, shared.bus, shared.invoker_for)
                _SERVERS[shared] = server
                shared.closers.append(server.close)
            return server

    def create_function_url_config(
        self,
        function_name: str,
        auth_type: str,
        qualifier: str | None = None,
        cors: Mapping[str, object] | None = None,
        invoke_mode: str = "BUFFERED",
    ) -> dict[str, object]:
        """Give a function (or one of its aliases) an HTTP endpoint.

        Args:
            function_name: the function's name or ARN (``my-fn:prod`` names the alias).
            auth_type: ``"NONE"`` (public, once the function's resource-based policy
                allows ``lambda:InvokeFunctionUrl`` for ``*``) or ``"AWS_IAM"`` (requests
                must be SigV4-signed).
            qualifier: an alias name; a version number or ``$LATEST`` is refused.
            cors: ``{"AllowOrigins": [...], "AllowMethods": [...], "AllowHeaders": [...],
                "ExposeHeaders": [...], "AllowCredentials": bool, "MaxAge": seconds}``.
            invoke_mode: ``"BUFFERED"`` or ``"RESPONSE_STREAM"`` (accepted; the sandbox
                serves both buffered).

        Returns:
            AWS's response: ``FunctionUrl`` (``https://<url-id>.lambda-url.<region>.on.aws/``),
            ``FunctionArn``, ``AuthType``, ``Cors`` (when set), ``CreationTime``,
            ``InvokeMode``. The URL is served locally at once: see
            :meth:`function_url_endpoint`.
        """
        url = self._url_service().create_function_url_config(
            function_name, auth_type, qualifier, cors, invoke_mode
        )
        self._url_server()
        return url.to_aws(last_modified=False)

    def get_function_url_config(
        self, function_name: str, qualifier: str | None = None
    ) -> dict[str, object]:
        """AWS's GetFunctionUrlConfig response (``LastModifiedTime`` included)."""
        return self._url_service().get_function_url_config(function_name, qualifier).to_aws()

    def update_function_url_config(
        self,
        function_name: str,
        qualifier: str | None = None,
        *,
        auth_type: str | None = None,
        cors: Mapping[str, object] | None = None,
        invoke_mode: str | None = None,
    ) -> dict[str, object]:
        """Change the settings given; ``cors`` replaces the CORS settings whole (``{}``
        removes them). The URL itself never changes."""
        url = self._url_service().update_function_url_config(
            function_name, qualifier, auth_type=auth_type, cors=cors, invoke_mode=invoke_mode
        )
        return url.to_aws()

    def delete_function_url_config(self, function_name: str, qualifier: str | None = None) -> None:
        """Delete the URL of the function (or of the alias given); a new one would have a
        different address. The resource-based policy is left as it is, as on AWS."""
        self._url_service().delete_function_url_config(function_name, qualifier)

    def list_function_url_configs(
        self, function_name: str, marker: str | None = None, max_items: int | None = None
    ) -> dict[str, object]:
        """AWS's ListFunctionUrlConfigs response: ``FunctionUrlConfigs`` (the function's
        own URL and its aliases', at most 50 a page) and ``NextMarker`` when there is more."""
        urls, next_marker = self._url_service().list_function_url_configs(
            function_name, marker=marker, max_items=max_items
        )
        out: dict[str, object] = {"FunctionUrlConfigs": [u.to_aws() for u in urls]}
        if next_marker:
            out["NextMarker"] = next_marker
        return out

    def function_url_endpoint(self, function_name: str, qualifier: str | None = None) -> str:
        """Where this sandbox serves a function URL: ``http://127.0.0.1:<port>/<url-id>/``
        (a sandbox extra). ``FunctionUrl`` keeps AWS's ``https://...on.aws/`` form; this
        is the local address that answers it. Requests may also name the URL by the
        ``Host`` header ``<url-id>.lambda-url.<region>.localhost``.

        Example:
            >>> import urllib.request
            >>> from sandbox import Sandbox
            >>> with Sandbox.ephemeral() as sb:
            ...     _ = sb.create_function("hi", "def lambda_handler(e, c):\\n    return 'hi'\\n")
            ...     _ = sb.create_function_url_config("hi", "AWS_IAM")
            ...     request = urllib.request.Request(sb.function_url_endpoint("hi"))
            ...     request.add_header("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
            ...     urllib.request.urlopen(request).read()
            b'"hi"'
        """
        url = self._url_service().get_function_url_config(function_name, qualifier)
        return self._url_server().endpoint(url.url_id)
