"""The data plane: ``Invoke`` (spec §3).

The flow of ARCHITECTURE.md: resolve the name and qualifier, draw the executed version of
a weighted alias, check the payload, then (DryRun) answer 204, (Event) queue it and answer
202, or (RequestResponse) check out an environment, run the invocation and answer 200
with the function's payload or its error.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sandbox.core.clock import Clock
from sandbox.core.invocation import (
    InvocationType,
    InvokeResult,
    encode_payload,
    log_tail,
    parse_client_context,
)
from sandbox.core.models import FunctionConfiguration
from sandbox.core.routing import choose_version
from sandbox.core.validation import EXECUTABLE_RUNTIMES
from sandbox.errors import InvalidRuntimeException, LambdaError, validation_error
from sandbox.service.burst import Burst
from sandbox.service.engine import Engine
from sandbox.service.functions import FunctionService, ResolvedFunction
from sandbox.service.requests import EnvironmentRequest, RawResult
from sandbox.service.telemetry import TelemetryBus

if TYPE_CHECKING:
    from sandbox.service.asyncqueue import AsyncQueue

__all__ = ["InvokeService"]

LogSink = Callable[[str], None]


class InvokeService:
    """Runs invocations for one account (the functions service's scope)."""

    def __init__(
        self,
        functions: FunctionService,
        engine: Engine,
        bus: TelemetryBus,
        clock: Clock,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.functions = functions
        self.engine = engine
        self.envs = engine.envs
        self.admission = engine.admission
        self.bus = bus
        self.clock = clock
        self.rng = rng or random.Random()
        self.async_invoker: AsyncQueue | None = None

    def invoke(
        self,
        function_name: str,
        payload: object = None,
        *,
        qualifier: str | None = None,
        invocation_type: str = "RequestResponse",
        log_type: str = "None",
        client_context: str | None = None,
        on_log: LogSink | None = None,
    ) -> InvokeResult:
        """Invoke. See :meth:`sandbox.Sandbox.invoke`."""
        try:
            itype = InvocationType(invocation_type)
        except ValueError:
            raise validation_error(
                invocation_type,
                "invocationType",
                "Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
            ) from None
        if log_type not in ("None", "Tail"):
            raise validation_error(
                log_type, "logType", "Member must satisfy enum value set: [None, Tail]"
            )
        resolved = self.functions.resolve(function_name, qualifier)
        body = encode_payload(payload, itype)
        self._check_runtime(resolved.config)
        context = (
            parse_client_context(client_context)
            if itype is InvocationType.REQUEST_RESPONSE
            else None
        )
        request_id = str(uuid.uuid4())
        if itype is InvocationType.DRY_RUN:
            return InvokeResult(status_code=204, request_id=request_id)
        if itype is InvocationType.EVENT:
            self._async().submit(resolved, body, request_id)
            return InvokeResult(status_code=202, request_id=request_id)
        return self.run(
            resolved, body, request_id, log_type=log_type, client_context=context, on_log=on_log
        )

    def executed_config(self, resolved: ResolvedFunction) -> FunctionConfiguration:
        """Weighted routing (spec §5): a fresh draw per invocation."""
        alias = resolved.alias
        if alias is None or not alias.additional_version_weights:
            return resolved.config
        version = choose_version(
            alias.function_version, alias.additional_version_weights, self.rng.random
        )
        if version == resolved.config.version:
            return resolved.config
        config = self.functions.version_configuration(resolved.ref.unqualified_arn, version)
        self._check_runtime(config)  # the weighted version may run another runtime
        return config

    def run(
        self,
        resolved: ResolvedFunction,
        body: bytes,
        request_id: str,
        *,
        log_type: str = "None",
        client_context: dict[str, object] | None = None,
        on_log: LogSink | None = None,
        invocation_type: str = "RequestResponse",
    ) -> InvokeResult:
        """Run one invocation synchronously in an environment."""
        config = self.executed_config(resolved)
        ref = resolved.ref
        # admission first (spec §4): a lease, or TooManyRequestsException
        lease = self.admission.admit(
            ref.account_id,
            ref.name,
            qualifier=ref.qualifier,
            request_id=request_id,
            invocation_type=invocation_type,
        )
        try:
            request = EnvironmentRequest(
                request_id,
                body,
                ref.arn,
                client_context,
                on_log,
                ref.qualifier,
                invocation_type,
                lease.spillover,
            )
            with self.envs.checkout(
                config,
                ref.account_id,
                provisioned=lease.provisioned,
                spillover=lease.spillover,
                request_id=request_id,
                qualifier=ref.qualifier,
            ) as checkout:
                raw = checkout.env.invoke(request, cold=checkout.cold, reason=checkout.reason)
        finally:
            self.admission.release(lease)
        return _result(raw, request_id, config.version, log_type)

    def invoke_many(
        self,
        function_name: str,
        payloads: Iterable[object],
        *,
        qualifier: str | None = None,
        concurrency: int = 10,
        log_type: str = "None",
    ) -> list[InvokeResult | LambdaError]:
        """Run many synchronous invocations with ``concurrency`` of them in flight at once,
        driven by this one thread (a poll loop over the environments' descriptors)."""
        if concurrency < 1:
            raise validation_error(
                concurrency, "concurrency", "Member must have value greater than or equal to 1"
            )
        resolved = self.functions.resolve(function_name, qualifier)
        self._check_runtime(resolved.config)
        bodies = [encode_payload(p, InvocationType.REQUEST_RESPONSE) for p in payloads]
        burst = Burst(
            self.engine,
            resolved,
            bodies,
            concurrency=concurrency,
            choose=self.executed_config,
            make_result=lambda raw, rid, version: _result(raw, rid, version, log_type),
        )
        return burst.run()

    @staticmethod
    def _check_runtime(config: FunctionConfiguration) -> None:
        if config.runtime not in EXECUTABLE_RUNTIMES:
            raise InvalidRuntimeException(
                f"The runtime {config.runtime} is not available in lambda-sandbox: "
                "it runs Python runtimes (python3.9 and later) on this machine's interpreter."
            )

    def _async(self) -> AsyncQueue:
        if self.async_invoker is None:
            raise RuntimeError("asynchronous invocation is not available")
        return self.async_invoker


def _result(raw: RawResult, request_id: str, version: str, log_type: str) -> InvokeResult:
    payload: object = None
    if raw.body and raw.body != b"null":
        try:
            payload = json.loads(raw.body)
        except ValueError:
            payload = raw.body
    return InvokeResult(
        status_code=200,
        request_id=request_id,
        payload=payload,
        raw_payload=raw.body,
        function_error=raw.function_error,
        executed_version=version,
        log_result=log_tail(raw.lines) if log_type == "Tail" else None,
        logs=raw.lines,
    )
