"""Invoking functions from :class:`~sandbox.Sandbox`: one request, a burst, the async queue."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sandbox import errors
from sandbox.core.invocation import InvokeResult

if TYPE_CHECKING:
    from sandbox._sandbox import _Shared
    from sandbox.service.functions import FunctionService
    from sandbox.service.invoke import InvokeService

__all__ = ["InvokeAPI"]


class InvokeAPI:
    """Invoke, bursts of invocations, and waiting for queued events."""

    _functions: FunctionService
    _shared: _Shared

    def _invoke_service(self) -> InvokeService:  # provided by Sandbox
        raise NotImplementedError

    def invoke(
        self,
        function_name: str,
        payload: object = None,
        *,
        qualifier: str | None = None,
        invocation_type: str = "RequestResponse",
        log_type: str = "None",
        client_context: str | None = None,
        on_log: Callable[[str], None] | None = None,
    ) -> InvokeResult:
        """Invoke a function, as boto3's ``invoke``.

        Args:
            function_name: name, ``name:qualifier``, partial or full ARN.
            payload: the event: a JSON-serialisable object, or JSON ``str``/``bytes``;
                ``None`` sends an empty body (the handler gets ``{}``).
            qualifier: ``$LATEST``, a version number or an alias.
            invocation_type: ``RequestResponse`` (200, waits), ``Event`` (202, queued) or
                ``DryRun`` (204, validates only).
            log_type: ``"Tail"`` puts the base64 last 4 KB of the log in ``log_result``.
            client_context: base64 JSON passed to ``context.client_context`` (sync only).
            on_log: called with each log line as it is produced (follow a handler live).

        Returns:
            An :class:`~sandbox.core.invocation.InvokeResult`. A failing function is a
            result with ``function_error="Unhandled"``, not an exception.
        """
        return self._invoke_service().invoke(
            function_name,
            payload,
            qualifier=qualifier,
            invocation_type=invocation_type,
            log_type=log_type,
            client_context=client_context,
            on_log=on_log,
        )

    def invoke_many(
        self,
        function_name: str,
        payloads: Iterable[object],
        *,
        qualifier: str | None = None,
        concurrency: int = 10,
        log_type: str = "None",
    ) -> list[InvokeResult | errors.LambdaError]:
        """A burst: one synchronous invocation per payload, ``concurrency`` at a time.

        Each invocation behaves exactly as :meth:`invoke` (an environment serves one request
        at a time, so up to ``concurrency`` environments run side by side); the burst is
        driven from this thread, which makes it the fastest way to send many requests.
        Results come back in the order of ``payloads``.
        """
        return self._invoke_service().invoke_many(
            function_name,
            payloads,
            qualifier=qualifier,
            concurrency=concurrency,
            log_type=log_type,
        )

    def drain(self, timeout: float | None = 60.0) -> bool:
        """Wait until every asynchronous event is handled — succeeded, or failed and sent
        to its failure destinations — and return True; False if ``timeout`` real seconds
        passed first (an event waiting for a one-minute retry keeps it waiting: use
        ``time_scale``)."""
        invoker = self._shared.async_invoker
        return True if invoker is None else invoker.drain(timeout)
