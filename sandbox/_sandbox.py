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
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING

from sandbox import errors
from sandbox._api.asyncinvoke import AsyncAPI
from sandbox._api.concurrency import ConcurrencyAPI
from sandbox._api.events import EventsAPI
from sandbox._api.functions import FunctionsAPI
from sandbox._api.invoke import InvokeAPI
from sandbox._api.layers import LayersAPI
from sandbox._api.mappings import MappingsAPI
from sandbox._api.observe import ObserveAPI
from sandbox._api.permissions import PermissionsAPI
from sandbox._api.plots import PlotsAPI
from sandbox._api.resources import ResourcesAPI
from sandbox._api.serve import ServeAPI
from sandbox._api.streams import StreamsAPI
from sandbox._api.urls import FunctionUrlAPI
from sandbox.core.clock import Clock
from sandbox.core.concurrency import AccountLimits
from sandbox.core.hostlimits import HostLimits, setting
from sandbox.core.lifecycle import DEFAULT_KEEP_ALIVE
from sandbox.service.functions import FunctionService
from sandbox.service.scheduler import Scheduler
from sandbox.service.scope import FunctionChange
from sandbox.service.telemetry import TelemetryBus
from sandbox.service.triggers import resume_schedules
from sandbox.store.artifacts import ArtifactStore
from sandbox.store.db import Database
from sandbox.store.timeline import continue_timeline

if TYPE_CHECKING:  # the runtime is imported on the first invocation, not with the package
    from sandbox.service.asyncqueue import AsyncQueue
    from sandbox.service.engine import Engine
    from sandbox.service.invoke import InvokeService
    from sandbox.service.pollers.runner import MappingRunner

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
        clock: Clock | None,
        *,
        time_scale: float | None,
        ephemeral: bool,
        region: str,
        limits: AccountLimits,
        keep_alive: float,
        start_method: str | None,
        isolation: str | None,
        host_limits: HostLimits,
    ) -> None:
        self.home = home
        self.host_limits = host_limits
        self.ephemeral = ephemeral
        self.region = region
        self.limits = limits
        self.db = Database(home / "lambda.db")
        self.clock = clock if clock is not None else continue_timeline(self.db, time_scale)
        self.artifacts = ArtifactStore(home)
        self.bus = TelemetryBus(self.clock)
        self.scheduler = Scheduler(self.clock)
        self.keep_alive = keep_alive
        self._start_method = start_method
        self._isolation_mode = isolation
        self._engine: Engine | None = None
        self.async_invoker: AsyncQueue | None = None
        self.mappings: MappingRunner | None = None
        self._invokers: dict[tuple[str, str], InvokeService] = {}
        self.services: list[FunctionService] = []
        self.closers: list[Callable[[], None]] = []  # run first by close(): function URLs
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
                    host_limits=self.host_limits,
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
            service.subscribe(self._on_change)
            if self._engine is not None:
                self._attach(service)

    def invoker_for(self, account_id: str, region: str) -> InvokeService:
        """The invoke service acting for an account (the async queue runs every account's
        events)."""
        from sandbox.service.invoke import InvokeService

        with self.lock:
            found = self._invokers.get((account_id, region))
            if found is None:
                functions = next(
                    (s for s in self.services if (s.account_id, s.region) == (account_id, region)),
                    None,
                )
                if functions is None:
                    functions = FunctionService(
                        self.db, self.artifacts, self.clock, account_id=account_id, region=region
                    )
                    self.register(functions)
                found = InvokeService(functions, self.engine(), self.bus, self.clock)
                found.async_invoker = self.async_queue()
                self._invokers[(account_id, region)] = found
            return found

    def async_queue(self) -> AsyncQueue:
        """The queue of asynchronous invocations, started on first use."""
        with self.lock:
            if self.closed:
                raise errors.SandboxClosedError("the sandbox is closed")
            if self.async_invoker is None:
                from sandbox.resources.chain import pushes_of
                from sandbox.service.asyncqueue import AsyncQueue
                from sandbox.service.triggers import dispatcher_for

                self.async_invoker = AsyncQueue(
                    self.db, self.bus, self.clock, self.scheduler, self.invoker_for
                )
                # records delivered to a topic, bus or bucket trigger what they would
                self.async_invoker.push_hook = pushes_of
                self.async_invoker.push_send = dispatcher_for(self).deliver_all
            return self.async_invoker

    def _on_change(self, change: FunctionChange) -> None:
        # a mapping changed, or a function (and so its mappings) was deleted
        if change.kind == "mapping" or (change.kind == "deleted" and self.mappings is not None):
            self.mapping_runner().poke()

    def mapping_runner(self) -> MappingRunner:
        """The pollers of the event source mappings, started on first use."""
        with self.lock:
            if self.closed:
                raise errors.SandboxClosedError("the sandbox is closed")
            if self.mappings is None:
                from sandbox.service.pollers.context import PollerContext
                from sandbox.service.pollers.runner import MappingRunner

                context = PollerContext(self.db, self.clock, self.bus, self.invoker_for)
                self.mappings = MappingRunner(context)
            return self.mappings

    def resume_async(self) -> None:
        """After a restart: carry on with the events a previous session left pending."""
        rows = self.db.query("SELECT 1 FROM async_events WHERE state != 'done' LIMIT 1")
        if rows:
            self.async_queue()
        if self.db.query("SELECT 1 FROM event_source_mappings LIMIT 1"):
            self.mapping_runner()  # mappings poll again after a restart

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for closer in self.closers:  # servers that start invocations stop taking requests
            with contextlib.suppress(Exception):
                closer()
        if self.mappings is not None:
            self.mappings.close()
        if self.async_invoker is not None:
            self.async_invoker.stop()  # no new attempts; running ones end with the engine
        if self._engine is not None:
            self._engine.close()
        if self.async_invoker is not None:
            self.async_invoker.close()
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


class Sandbox(
    FunctionsAPI,
    LayersAPI,
    InvokeAPI,
    AsyncAPI,
    ConcurrencyAPI,
    ObserveAPI,
    PlotsAPI,
    EventsAPI,
    ResourcesAPI,
    PermissionsAPI,
    MappingsAPI,
    FunctionUrlAPI,
    StreamsAPI,
    ServeAPI,
):
    """A local AWS Lambda: functions, versions, aliases, layers and their execution.

    Args:
        home: where the embedded store lives; defaults to ``$LAMBDA_SANDBOX_HOME`` or
            ``~/.lambda-sandbox``, so state survives a kernel restart.
        account_id: the 12-digit account this handle acts as (default ``123456789012``).
            The store holds any number of accounts; :meth:`for_account` acts as another.
        organization_id: the AWS Organizations id (``o-...``) the account belongs to, for
            layers shared with an organisation.
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
            unreserved. Default ``$LAMBDA_SANDBOX_CONCURRENCY_LIMIT``, else 1,000.
        max_environments: at most this many execution environments at once (idle ones
            of every function included); beyond it the longest-idle one is reclaimed, and
            a request that finds every one busy is throttled. Default
            ``$LAMBDA_SANDBOX_MAX_ENVIRONMENTS``, else no limit (docs/instructor.md).
        max_address_space_mb: a virtual-memory ceiling (``RLIMIT_AS``) on each
            environment process, in MiB, at least 256. Default
            ``$LAMBDA_SANDBOX_MAX_ADDRESS_SPACE_MB``, else none.
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
        organization_id: str | None = None,
        time_scale: float | None = None,
        clock: Clock | None = None,
        keep_alive: float = DEFAULT_KEEP_ALIVE,
        start_method: str | None = None,
        isolation: str | None = None,
        concurrency_limit: int | None = None,
        max_environments: int | None = None,
        max_address_space_mb: int | None = None,
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
            if time_scale is not None and time_scale <= 0:
                raise errors.InvalidParameterValueException("time_scale must be positive.")
            # absolute: artifacts are located by file:// URIs, and children change directory
            path = (Path(home).expanduser() if home is not None else default_home()).absolute()
            try:
                quota = setting(
                    "concurrency_limit", concurrency_limit, os.environ, default=1000, minimum=1
                )
                assert quota is not None
                limits = AccountLimits(quota, scaling_rate, scaling_period, request_rate_factor)
                host_limits = HostLimits.resolve(
                    os.environ,
                    max_environments=max_environments,
                    max_address_space_mb=max_address_space_mb,
                )
            except ValueError as exc:
                raise errors.InvalidParameterValueException(str(exc)) from exc
            _shared = _Shared(
                path,
                clock,
                time_scale=time_scale,
                ephemeral=_ephemeral,
                region=region,
                limits=limits,
                keep_alive=keep_alive,
                start_method=start_method,
                isolation=isolation,
                host_limits=host_limits,
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
        if self._owner:
            _shared.resume_async()
            resume_schedules(_shared)  # scheduled EventBridge rules fire again
        if organization_id is not None:
            self._functions.layer_service.set_organization(organization_id)

    # lifecycle --------------------------------------------------------------------------
    @classmethod
    def ephemeral(cls, **kwargs: object) -> Sandbox:
        """A throwaway sandbox in a temporary directory, removed on :meth:`close`."""
        home = tempfile.mkdtemp(prefix="lambda-sandbox-")
        return cls(home, _ephemeral=True, **kwargs)  # type: ignore[arg-type]

    def _invoke_service(self) -> InvokeService:
        if self._invoker is None:
            from sandbox.service.invoke import InvokeService

            shared = self._shared
            engine = shared.engine()
            self._invoker = InvokeService(self._functions, engine, shared.bus, shared.clock)
            self._invoker.async_invoker = shared.async_queue()
        return self._invoker

    def for_account(self, account_id: str, *, organization_id: str | None = None) -> Sandbox:
        """A handle on the same store acting as another account (layer sharing, ...),
        optionally recording the organisation it belongs to. Closing it does not close
        this sandbox.

        Example:
            >>> with Sandbox.ephemeral() as sb:
            ...     other = sb.for_account("210987654321")
            ...     other.account_id
            '210987654321'
        """
        return Sandbox(
            account_id=account_id,
            region=self.region,
            organization_id=organization_id,
            _shared=self._shared,
        )

    @property
    def home(self) -> Path:
        return self._shared.home

    @property
    def host_limits(self) -> HostLimits:
        """What this sandbox may hold on its machine (``max_environments`` ...)."""
        return self._shared.host_limits

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
