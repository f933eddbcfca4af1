"""The ``Sandbox`` facade: one object a notebook holds, whose methods are Lambda's API.

Method names and parameters are the Lambda operations in snake_case (``create_function``,
``publish_version``, ``invoke`` ...), so what a student writes here maps one-to-one onto
boto3. The facade owns the store and (from the execution-environment issue on) the
runtime; the logic lives in ``sandbox.service``.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import threading
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType, TracebackType

from sandbox import errors
from sandbox.core.clock import Clock, RealClock, ScaledClock
from sandbox.core.models import (
    AliasConfiguration,
    AliasList,
    FunctionConfiguration,
    FunctionList,
    GetFunctionResult,
    VersionList,
)
from sandbox.service.functions import FunctionService
from sandbox.store.artifacts import ArtifactStore
from sandbox.store.db import Database

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
    """What every account view of one sandbox shares: the store, the clock, the home."""

    def __init__(self, home: Path, clock: Clock, *, ephemeral: bool) -> None:
        self.home = home
        self.clock = clock
        self.ephemeral = ephemeral
        self.db = Database(home / "lambda.db")
        self.artifacts = ArtifactStore(home)
        self.closed = False
        self.lock = threading.Lock()

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
            self.db.close()
            if self.ephemeral:
                _rmtree(self.home)


_OPEN: weakref.WeakSet[Sandbox] = weakref.WeakSet()


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
            _shared = _Shared(path, clock, ephemeral=_ephemeral)
            self._owner = True
        else:
            self._owner = False
        self._shared = _shared
        self.account_id = account_id
        self.region = region
        self._functions = FunctionService(
            _shared.db, _shared.artifacts, _shared.clock, account_id=account_id, region=region
        )
        _OPEN.add(self)

    # lifecycle --------------------------------------------------------------------------
    @classmethod
    def ephemeral(cls, **kwargs: object) -> Sandbox:
        """A throwaway sandbox in a temporary directory, removed on :meth:`close`."""
        home = tempfile.mkdtemp(prefix="lambda-sandbox-")
        return cls(home, _ephemeral=True, **kwargs)  # type: ignore[arg-type]

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
            function_name, code, runtime=runtime, role=role, handler=handler,
            description=description, timeout=timeout, memory_size=memory_size,
            publish=publish, environment=environment, layers=layers,
            package_type=package_type, architectures=architectures,
            ephemeral_storage=ephemeral_storage, tracing_config=tracing_config,
            dead_letter_config=dead_letter_config, logging_config=logging_config, tags=tags,
        )  # fmt: skip

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
            function_name, code, zip_file=zip_file, publish=publish, dry_run=dry_run,
            revision_id=revision_id, architectures=architectures,
        )  # fmt: skip

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
            function_name, name, function_version=function_version, description=description,
            routing_config=routing_config, revision_id=revision_id,
        )  # fmt: skip

    def delete_alias(self, function_name: str, name: str) -> None:
        """DeleteAlias (idempotent)."""
        self._functions.delete_alias(function_name, name)
