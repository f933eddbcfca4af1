"""The ``Sandbox`` facade: one object a notebook holds, whose methods are Lambda's API.

Method names and parameters are the Lambda operations in snake_case (``create_function``,
``publish_version``, ``invoke`` ...), so what a student writes here maps one-to-one onto
boto3. The facade owns the store and (from the execution-environment issue on) the
runtime; the logic lives in ``sandbox.service``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import stat
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING

from sandbox import errors
from sandbox.core.clock import Clock, RealClock, ScaledClock
from sandbox.core.concurrency import AccountLimits
from sandbox.core.invocation import InvokeResult
from sandbox.core.lifecycle import DEFAULT_KEEP_ALIVE
from sandbox.core.models import (
    AliasConfiguration,
    AliasList,
    FunctionConfiguration,
    FunctionList,
    GetFunctionResult,
    VersionList,
)
from sandbox.service.functions import FunctionService
from sandbox.service.scheduler import Scheduler
from sandbox.service.telemetry import TelemetryBus
from sandbox.store.artifacts import ArtifactStore
from sandbox.store.db import Database

if TYPE_CHECKING:  # the runtime is imported on the first invocation, not with the package
    from sandbox.service.engine import Engine
    from sandbox.service.invoke import AsyncInvoker, InvokeService

__all__ = ["DEFAULT_ACCOUNT_ID", "DEFAULT_REGION", "Sandbox", "default_home"]

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
_ACCOUNT_RE = r"^\d{12}$"


def default_home() -> Path:
    """``$LAMBDA_SANDBOX_HOME``, else ``~/.lambda-sandbox``."""
    env = os.environ.get("LAMBDA_SANDBOX_HOME")
    return Path(env).expanduser() if env else Path.home() / ".lambda-sandbox"


def _rmtree(path: Path) -> None:
    """Remove a tree that holds read-only artifacts."""

    def make_writable(func: object, p: str, _exc: object) -> None:
        parent = os.path.dirname(p)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        if os.path.isdir(p) and not os.path.islink(p):
            os.chmod(p, stat.S_IRWXU)
            shutil.rmtree(p, onerror=make_writable)
        else:
            os.unlink(p)

    shutil.rmtree(path, onerror=make_writable)


class _Shared:
    """What every account view of one sandbox shares: the store, the clock, the telemetry
    bus, the settings, and the engine that runs functions (started on first use)."""

    def __init__(
        self,
        home: Path,
        clock: Clock,
        *,
        ephemeral: bool,
        region: str,
        limits: AccountLimits,
        keep_alive: float,
        start_method: str | None,
        isolation: str | None,
    ) -> None:
        self.home = home
        self.clock = clock
        self.ephemeral = ephemeral
        self.region = region
        self.limits = limits
        self.db = Database(home / "lambda.db")
        self.artifacts = ArtifactStore(home)
        self.bus = TelemetryBus(clock)
        self.scheduler = Scheduler(clock)
        self.keep_alive = keep_alive
        self._start_method = start_method
        self._isolation_mode = isolation
        self._engine: Engine | None = None
        self.async_invoker: AsyncInvoker | None = None
        self.services: list[FunctionService] = []
        self.closed = False
        self.lock = threading.RLock()

    @property
    def started(self) -> bool:
        return self._engine is not None

    def engine(self) -> Engine:
        """The engine that runs functions, started on first use."""
        with self.lock:
            if self.closed:
                raise errors.SandboxClosedError("the sandbox is closed")
            if self._engine is None:
                from sandbox.service.engine import Engine

                self._engine = Engine(
                    db=self.db,
                    artifacts=self.artifacts,
                    bus=self.bus,
                    clock=self.clock,
                    scheduler=self.scheduler,
                    home=self.home,
                    region=self.region,
                    limits=self.limits,
                    keep_alive=self.keep_alive,
                    start_method=self._start_method,
                    isolation=self._isolation_mode,
                )
                for service in self.services:
                    self._attach(service)
                self._engine.start_provisioned()
            return self._engine

    def _attach(self, service: FunctionService) -> None:
        assert self._engine is not None
        service.subscribe(self._engine.on_change)
        service.provisioned_probe = self._engine.provisioned.probe

    def register(self, service: FunctionService) -> None:
        with self.lock:
            service.limits = self.limits
            self.services.append(service)
            if self._engine is not None:
                self._attach(service)

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        if self.async_invoker is not None:
            self.async_invoker.close()
        if self._engine is not None:
            self._engine.close()
        self.scheduler.close()
        self.db.close()
        if self.ephemeral:
            _rmtree(self.home)


_OPEN: weakref.WeakSet[Sandbox] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """At interpreter exit, stop every sandbox still open (no child outlives its owner)."""
    for sandbox in list(_OPEN):
        with contextlib.suppress(Exception):
            sandbox.close()


class Sandbox:
    """A local AWS Lambda: functions, versions, aliases and (soon) their execution.

    Args:
        home: where the embedded store lives; defaults to ``$LAMBDA_SANDBOX_HOME`` or
            ``~/.lambda-sandbox``, so state survives a kernel restart.
        account_id: the 12-digit account this handle acts as (default ``123456789012``).
        region: the region (default ``us-east-1``).
        time_scale: run platform delays (retry backoff, keep-alive ...) this many times
            faster than real time.
        clock: an explicit :class:`~sandbox.core.clock.Clock` (tests pass a ``FakeClock``).
        keep_alive: seconds (platform time) an idle environment lives (default 600).
        start_method: ``"zygote"`` (fork from a pre-warmed process, default where fork
            exists) or ``"spawn"``.
        isolation: ``"namespaces"`` (code at /var/task, private /tmp), ``"paths"``, or
            ``None``/``"auto"`` to use namespaces where the machine allows them.
        concurrency_limit: the account's concurrency quota (1,000 on AWS; 10 makes a
            classroom's limits easy to reach). 10 % of it (AWS: 100 of 1,000) must stay
            unreserved.
        scaling_rate, scaling_period: a function adds at most ``scaling_rate`` new
            environments per ``scaling_period`` seconds of platform time (AWS: 1,000 per 10).
        request_rate_factor: requests per second allowed per unit of concurrency (AWS: 10);
            0 turns the request-rate limit off.

    Example:
        >>> from sandbox import Sandbox
        >>> with Sandbox.ephemeral() as sb:
        ...     source = "def lambda_handler(event, context):\\n    return 1\\n"
        ...     sb.create_function("hello", source).version
        '$LATEST'
    """

    exceptions: ModuleType = errors
    """The exception classes, as boto3's ``client.exceptions``."""

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        account_id: str = DEFAULT_ACCOUNT_ID,
        region: str = DEFAULT_REGION,
        time_scale: float | None = None,
        clock: Clock | None = None,
        keep_alive: float = DEFAULT_KEEP_ALIVE,
        start_method: str | None = None,
        isolation: str | None = None,
        concurrency_limit: int = 1000,
        scaling_rate: int = 1000,
        scaling_period: float = 10.0,
        request_rate_factor: int = 10,
        _ephemeral: bool = False,
        _shared: _Shared | None = None,
    ) -> None:
        import re

        if not re.match(_ACCOUNT_RE, account_id):
            raise errors.InvalidParameterValueException(
                f"Account id {account_id!r} is not 12 digits."
            )
        if not re.fullmatch(r"[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d", region):
            raise errors.InvalidParameterValueException(f"Region {region!r} is not a region name.")
        if _shared is None:
            if clock is None:
                clock = ScaledClock(time_scale) if time_scale else RealClock()
            path = Path(home).expanduser() if home is not None else default_home()
            try:
                limits = AccountLimits(
                    concurrency_limit, scaling_rate, scaling_period, request_rate_factor
                )
            except ValueError as exc:
                raise errors.InvalidParameterValueException(str(exc)) from exc
            _shared = _Shared(
                path,
                clock,
                ephemeral=_ephemeral,
                region=region,
                limits=limits,
                keep_alive=keep_alive,
                start_method=start_method,
                isolation=isolation,
            )
            self._owner = True
        else:
            self._owner = False
        self._shared = _shared
        self.account_id = account_id
        self.region = region
        self._functions = FunctionService(
            _shared.db, _shared.artifacts, _shared.clock, account_id=account_id, region=region
        )
        _shared.register(self._functions)
        self._invoker: InvokeService | None = None
        _OPEN.add(self)

    # lifecycle --------------------------------------------------------------------------
    @classmethod
    def ephemeral(cls, **kwargs: object) -> Sandbox:
        """A throwaway sandbox in a temporary directory, removed on :meth:`close`."""
        home = tempfile.mkdtemp(prefix="lambda-sandbox-")
        return cls(home, _ephemeral=True, **kwargs)  # type: ignore[arg-type]

    def _invoke_service(self) -> InvokeService:
        if self._invoker is None:
            from sandbox.service.invoke import AsyncInvoker, InvokeService

            shared = self._shared
            engine = shared.engine()
            self._invoker = InvokeService(self._functions, engine, shared.bus, shared.clock)
            with shared.lock:
                if shared.async_invoker is None:
                    shared.async_invoker = AsyncInvoker(self._invoker, shared.bus)
            self._invoker.async_invoker = shared.async_invoker
        return self._invoker

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
        """Wait until every queued asynchronous invocation has run (end a lab with it)."""
        invoker = self._shared.async_invoker
        return True if invoker is None else invoker.drain(timeout)

    @property
    def isolation(self) -> str:
        """``"namespaces"`` (functions see /var/task, /opt and a private /tmp, in their own
        user, mount and PID namespaces) or ``"paths"`` (per-environment directories)."""
        return self._shared.engine().envs.deps.isolation.mode

    @property
    def telemetry(self) -> TelemetryBus:
        """The telemetry bus: every environment state change, phase, invocation and log."""
        return self._shared.bus

    def environments(self) -> list[dict[str, object]]:
        """The live execution environments, one row each."""
        shared = self._shared
        if not shared.started or shared.closed:
            return []
        return [
            {
                "env_id": e.env_id,
                "function_name": e.config.function_name,
                "version": e.config.version,
                "state": str(e.state),
                "pid": e.pid,
                "init_type": e.init_type,
                "invocations": e.invocations,
                "log_stream": e.stream,
            }
            for e in shared.engine().envs.environments()
        ]

    def for_account(self, account_id: str) -> Sandbox:
        """A handle on the same store acting as another account (layer sharing, ...).
        Closing it does not close this sandbox."""
        return Sandbox(account_id=account_id, region=self.region, _shared=self._shared)

    @property
    def home(self) -> Path:
        return self._shared.home

    @property
    def clock(self) -> Clock:
        return self._shared.clock

    @property
    def closed(self) -> bool:
        return self._shared.closed

    def close(self) -> None:
        """Stop everything this sandbox started and release the store. Idempotent."""
        if self._owner:
            self._shared.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Sandbox {self.account_id} {self.region} home={str(self.home)!r} {state}>"

    # functions --------------------------------------------------------------------------
    def create_function(
        self,
        function_name: str,
        code: object,
        *,
        runtime: str | None = None,
        role: str | None = None,
        handler: str | None = None,
        description: str = "",
        timeout: int = 3,
        memory_size: int = 128,
        publish: bool = False,
        environment: Mapping[str, object] | None = None,
        layers: Sequence[str] = (),
        package_type: str = "Zip",
        architectures: Sequence[str] = ("x86_64",),
        ephemeral_storage: int | Mapping[str, object] | None = None,
        tracing_config: Mapping[str, str] | None = None,
        dead_letter_config: Mapping[str, str] | None = None,
        logging_config: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> FunctionConfiguration:
        """CreateFunction.

        Args:
            function_name: a name (``[a-zA-Z0-9-_]``, at most 64 characters) or an ARN.
            code: the deployment package: boto3's ``{"ZipFile": bytes}``, zip ``bytes``, a
                ``pathlib.Path`` to a directory or ``.zip``, module source text (becomes
                ``lambda_function.py``), or a Python function defined in a notebook.
            runtime: default ``python3.13``. ``handler``: default derived from ``code``
                (``lambda_function.<function name>``) or ``lambda_function.lambda_handler``.
            role: default ``arn:aws:iam::<account>:role/lambda-sandbox-role``.
            environment: boto3's ``{"Variables": {...}}`` or a plain mapping.
            ephemeral_storage: ``{"Size": MB}`` or MB.
            publish: also publish version 1.

        Returns:
            The new ``$LATEST`` configuration (or version 1's, with ``publish=True``).
        """
        return self._functions.create_function(
            function_name,
            code,
            runtime=runtime,
            role=role,
            handler=handler,
            description=description,
            timeout=timeout,
            memory_size=memory_size,
            publish=publish,
            environment=environment,
            layers=layers,
            package_type=package_type,
            architectures=architectures,
            ephemeral_storage=ephemeral_storage,
            tracing_config=tracing_config,
            dead_letter_config=dead_letter_config,
            logging_config=logging_config,
            tags=tags,
        )

    def get_function(self, function_name: str, qualifier: str | None = None) -> GetFunctionResult:
        """GetFunction: configuration, code location and tags."""
        return self._functions.get_function(function_name, qualifier)

    def get_function_configuration(
        self, function_name: str, qualifier: str | None = None
    ) -> FunctionConfiguration:
        """GetFunctionConfiguration of ``$LATEST``, a version, or an alias's version."""
        return self._functions.get_function_configuration(function_name, qualifier)

    def list_functions(
        self,
        *,
        function_version: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> FunctionList:
        """ListFunctions, a page at a time (``next_marker`` -> ``marker``)."""
        return self._functions.list_functions(
            function_version=function_version, marker=marker, max_items=max_items
        )

    def update_function_code(
        self,
        function_name: str,
        code: object = None,
        *,
        zip_file: bytes | None = None,
        publish: bool = False,
        dry_run: bool = False,
        revision_id: str | None = None,
        architectures: Sequence[str] | None = None,
    ) -> FunctionConfiguration:
        """UpdateFunctionCode of ``$LATEST``; ``code`` takes what ``create_function`` does."""
        return self._functions.update_function_code(
            function_name,
            code,
            zip_file=zip_file,
            publish=publish,
            dry_run=dry_run,
            revision_id=revision_id,
            architectures=architectures,
        )

    def update_function_configuration(
        self, function_name: str, **settings: object
    ) -> FunctionConfiguration:
        """UpdateFunctionConfiguration of ``$LATEST``: ``role``, ``handler``,
        ``description``, ``timeout``, ``memory_size``, ``environment``, ``runtime``,
        ``layers``, ``ephemeral_storage``, ``tracing_config``, ``dead_letter_config``,
        ``logging_config``, ``revision_id``."""
        return self._functions.update_function_configuration(function_name, **settings)  # type: ignore[arg-type]

    def delete_function(self, function_name: str, qualifier: str | None = None) -> None:
        """DeleteFunction: the whole function, or one numbered version."""
        self._functions.delete_function(function_name, qualifier)

    # versions and aliases ---------------------------------------------------------------
    def publish_version(
        self,
        function_name: str,
        *,
        code_sha256: str | None = None,
        description: str | None = None,
        revision_id: str | None = None,
    ) -> FunctionConfiguration:
        """PublishVersion: freeze ``$LATEST`` as the next numbered version."""
        return self._functions.publish_version(
            function_name, code_sha256=code_sha256, description=description, revision_id=revision_id
        )

    def list_versions_by_function(
        self, function_name: str, *, marker: str | None = None, max_items: int | None = None
    ) -> VersionList:
        """ListVersionsByFunction, ``$LATEST`` first."""
        return self._functions.list_versions_by_function(
            function_name, marker=marker, max_items=max_items
        )

    def create_alias(
        self,
        function_name: str,
        name: str,
        function_version: str,
        *,
        description: str = "",
        routing_config: Mapping[str, object] | None = None,
    ) -> AliasConfiguration:
        """CreateAlias; ``routing_config={"AdditionalVersionWeights": {"2": 0.1}}``."""
        return self._functions.create_alias(
            function_name,
            name,
            function_version,
            description=description,
            routing_config=routing_config,
        )

    def get_alias(self, function_name: str, name: str) -> AliasConfiguration:
        """GetAlias."""
        return self._functions.get_alias(function_name, name)

    def list_aliases(
        self,
        function_name: str,
        *,
        function_version: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> AliasList:
        """ListAliases."""
        return self._functions.list_aliases(
            function_name, function_version=function_version, marker=marker, max_items=max_items
        )

    def update_alias(
        self,
        function_name: str,
        name: str,
        *,
        function_version: str | None = None,
        description: str | None = None,
        routing_config: Mapping[str, object] | None = None,
        revision_id: str | None = None,
    ) -> AliasConfiguration:
        """UpdateAlias: move it, or change its routing (``{"AdditionalVersionWeights": {}}``
        clears it)."""
        return self._functions.update_alias(
            function_name,
            name,
            function_version=function_version,
            description=description,
            routing_config=routing_config,
            revision_id=revision_id,
        )

    def delete_alias(self, function_name: str, name: str) -> None:
        """DeleteAlias (idempotent)."""
        self._functions.delete_alias(function_name, name)
