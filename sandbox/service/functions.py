"""The control plane of functions, versions and aliases (the Qualifier concept).

Every operation mirrors one Lambda API operation (spec §5), validates in AWS's order with
AWS's messages, and runs in one store transaction: it commits whole or not at all.
Listeners hear about every change so the data plane can retire environments of code that
changed (spec §1.1: SHUTDOWN on code or configuration update).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox.core.arns import (
    LATEST,
    FunctionRef,
    QualifierKind,
    alias_arn,
    function_arn,
    parse_function_name,
    qualifier_kind,
    validate_alias_name,
)
from sandbox.core.clock import Clock, iso8601
from sandbox.core.models import (
    AliasConfiguration,
    AliasList,
    FunctionCodeLocation,
    FunctionConfiguration,
    FunctionList,
    GetFunctionResult,
    LayerReference,
    LoggingConfig,
    VersionList,
)
from sandbox.core.validation import (
    validate_architectures,
    validate_description,
    validate_environment,
    validate_ephemeral_storage,
    validate_function_name_for_create,
    validate_handler,
    validate_memory_size,
    validate_role,
    validate_routing_weights,
    validate_runtime,
    validate_timeout,
)
from sandbox.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
    validation_error,
)
from sandbox.store.artifacts import ArtifactStore
from sandbox.store.db import Database
from sandbox.store.functions import FunctionRows
from sandbox.store.packaging import CodePackage, package_code

__all__ = ["FunctionChange", "FunctionService", "ResolvedFunction"]

DEFAULT_RUNTIME = "python3.13"
DEFAULT_HANDLER = "lambda_function.lambda_handler"
_LAYER_VERSION_ARN = re.compile(
    r"^arn:[a-zA-Z0-9-]+:lambda:(?P<region>[a-zA-Z0-9-]+):(?P<account>\d{12}):"
    r"layer:(?P<name>[a-zA-Z0-9-_]+):(?P<version>[0-9]+)$"
)
_REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. Call the "
    "GetFunction/GetAlias API to retrieve the latest Revision Id"
)


@dataclass(frozen=True, slots=True)
class FunctionChange:
    """What changed, for listeners: ``kind`` is ``created``, ``code``, ``configuration``,
    ``published``, ``alias``, ``deleted`` or ``version-deleted``."""

    kind: str
    account_id: str
    region: str
    function_name: str
    version: str | None = None


@dataclass(frozen=True, slots=True)
class ResolvedFunction:
    """An invocation target before weighted routing.

    ``ref`` is what the caller wrote (its qualifier, if any, kept verbatim); ``config`` is
    the primary version's configuration; ``alias`` is set when the qualifier named one.
    """

    ref: FunctionRef
    config: FunctionConfiguration
    alias: AliasConfiguration | None = None


def _variables(environment: Mapping[str, object] | None) -> dict[str, str] | None:
    """Accept boto3's ``{"Variables": {...}}`` or a plain mapping of variables."""
    if environment is None:
        return None
    raw = environment.get("Variables", environment)
    if not isinstance(raw, Mapping):
        raise InvalidParameterValueException("Environment.Variables must be a map of strings.")
    validate_environment(raw)
    return {str(k): str(v) for k, v in raw.items()}


def _size(value: int | Mapping[str, object] | None, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, Mapping):
        size = value.get("Size")
        if not isinstance(size, int):
            raise validation_error(size, "ephemeralStorage.size", "Member must not be null")
        return size
    return int(value)


class FunctionService:
    """Functions, versions and aliases of one account in one region.

    Args:
        db: the embedded store.
        artifacts: where code zips live, content-addressed.
        clock: platform time for ``LastModified``.
        account_id, region: the scope every name is resolved in.
        new_id: makes RevisionIds (a seam for deterministic tests).
    """

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        clock: Clock,
        *,
        account_id: str,
        region: str,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._db = db
        self._artifacts = artifacts
        self._clock = clock
        self.account_id = account_id
        self.region = region
        self._new_id = new_id
        self._rows = FunctionRows((account_id, region))
        self._listeners: list[Callable[[FunctionChange], None]] = []
        # resolve() results, valid while the store is unchanged (the invoke hot path)
        self._resolved: dict[tuple[str, str | None], ResolvedFunction] = {}
        self._resolved_stamp: tuple[int, int] = (-1, -1)

    # plumbing ---------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[FunctionChange], None]) -> None:
        """Call ``listener`` after every committed change."""
        self._listeners.append(listener)

    def _emit(self, kind: str, ref: FunctionRef, version: str | None = None) -> None:
        change = FunctionChange(kind, ref.account_id, ref.region, ref.name, version)
        for listener in list(self._listeners):
            listener(change)

    def _ref(
        self,
        function_name: str,
        qualifier: str | None = None,
        *,
        namespaced: bool = True,
        create: bool = False,
    ) -> FunctionRef:
        return parse_function_name(
            function_name,
            region=self.region,
            account_id=self.account_id,
            qualifier=qualifier,
            namespaced=namespaced,
            long_names_are_missing=not create,
        )

    def _rows_for(self, ref: FunctionRef) -> FunctionRows:
        if ref.account_id == self.account_id:
            return self._rows
        return FunctionRows((ref.account_id, ref.region))

    def _latest(self, conn: sqlite3.Connection, ref: FunctionRef) -> FunctionConfiguration:
        doc = self._rows_for(ref).latest(conn, ref.name)
        if doc is None:
            raise ResourceNotFoundException(f"Function not found: {ref.unqualified_arn}")
        return FunctionConfiguration.from_aws(doc)

    def _now(self) -> str:
        return iso8601(self._clock.time())

    def _store_code(self, package: CodePackage) -> None:
        self._artifacts.put(package.zip_bytes)

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
        """CreateFunction. See :meth:`sandbox.Sandbox.create_function`."""
        ref = self._ref(function_name, namespaced=False, create=True)
        validate_function_name_for_create(function_name, ref.name)
        if ref.qualifier is not None:
            raise InvalidParameterValueException(
                "Qualifier is not supported for the CreateFunction operation."
            )
        if package_type != "Zip":
            raise InvalidParameterValueException(
                f"PackageType {package_type} is not supported by this release of the sandbox; "
                "use PackageType Zip."
            )
        package = package_code(code)
        runtime = runtime or DEFAULT_RUNTIME
        handler = handler or package.default_handler or DEFAULT_HANDLER
        role = role or f"arn:aws:iam::{ref.account_id}:role/lambda-sandbox-role"
        validate_runtime(runtime)
        validate_handler(handler)
        validate_role(role)
        validate_description(description)
        validate_timeout(timeout)
        validate_memory_size(memory_size)
        archs = tuple(architectures)
        validate_architectures(archs)
        storage = _size(ephemeral_storage, 512)
        validate_ephemeral_storage(storage)
        variables = _variables(environment) or {}
        layer_refs = self._layers(layers)
        log_cfg = self._logging(logging_config, ref.name, LoggingConfig())
        config = FunctionConfiguration(
            function_name=ref.name,
            function_arn=ref.unqualified_arn,
            runtime=runtime,
            role=role,
            handler=handler,
            code_sha256=package.code_sha256,
            code_size=package.code_size,
            last_modified=self._now(),
            revision_id=self._new_id(),
            description=description,
            timeout=timeout,
            memory_size=memory_size,
            environment=variables,
            layers=layer_refs,
            architectures=archs,
            ephemeral_storage=storage,
            tracing_mode=(tracing_config or {}).get("Mode", "PassThrough"),
            dead_letter_target_arn=(dead_letter_config or {}).get("TargetArn") or None,
            logging_config=log_cfg,
        )
        self._store_code(package)
        with self._db.transaction() as conn:
            rows = self._rows_for(ref)
            if rows.latest(conn, ref.name) is not None:
                raise ResourceConflictException(f"Function already exist: {ref.name}")
            rows.insert(conn, ref.name, config.to_aws(), dict(tags or {}), self._clock.time())
            if publish:
                config = self._publish(conn, ref, config, None)
        self._emit("created", ref)
        if publish:
            self._emit("published", ref, config.version)
        return config

    def _layers(self, layers: Sequence[str]) -> tuple[LayerReference, ...]:
        """spec §6: version ARNs, at most five, one version per layer, same region."""
        if len(layers) > 5:
            raise InvalidParameterValueException("Cannot reference more than 5 layers.")
        seen: dict[str, str] = {}
        out: list[LayerReference] = []
        for arn in layers:
            match = _LAYER_VERSION_ARN.match(arn)
            if not match:
                raise validation_error(
                    "[" + ", ".join(layers) + "]",
                    "layers",
                    "Member must satisfy constraint: [Member must have length less than or "
                    "equal to 140, Member must have length greater than or equal to 1, Member "
                    "must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:"
                    r"[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+, Member must not be null]",
                )
            layer = arn.rsplit(":", 1)[0]
            if layer in seen:
                raise InvalidParameterValueException(
                    "Two different versions of the same layer are not allowed to be referenced "
                    f"in the same function. {seen[layer]} and {arn} are versions of the same "
                    "layer."
                )
            seen[layer] = arn
            if match["region"] != self.region:
                raise InvalidParameterValueException(
                    f"Layers are not in the same region as the function. Layers are expected "
                    f"to be in region {self.region}."
                )
            out.append(LayerReference(arn))
        return tuple(out)

    def _logging(
        self, logging_config: Mapping[str, str] | None, name: str, current: LoggingConfig
    ) -> LoggingConfig:
        cfg = dict(logging_config or {})
        log_format = cfg.get("LogFormat", current.log_format)
        if log_format not in ("Text", "JSON"):
            raise validation_error(
                log_format,
                "loggingConfig.logFormat",
                "Member must satisfy enum value set: [JSON, Text]",
            )
        return LoggingConfig(
            log_format=log_format,
            log_group=cfg.get("LogGroup") or current.log_group or f"/aws/lambda/{name}",
            application_log_level=cfg.get("ApplicationLogLevel", current.application_log_level),
            system_log_level=cfg.get("SystemLogLevel", current.system_log_level),
        )

    def get_function_configuration(
        self, function_name: str, qualifier: str | None = None
    ) -> FunctionConfiguration:
        """GetFunctionConfiguration: ``$LATEST``, a version, or the version an alias names."""
        return self.resolve(function_name, qualifier).config

    def get_function(self, function_name: str, qualifier: str | None = None) -> GetFunctionResult:
        """GetFunction: configuration, a ``file://`` location of the code, and tags."""
        resolved = self.resolve(function_name, qualifier)
        with self._db.read() as conn:
            tags = self._rows_for(resolved.ref).tags(conn, resolved.ref.name)
        location = self._artifacts.path(resolved.config.code_sha256_hex).as_uri()
        return GetFunctionResult(
            configuration=resolved.config,
            code=FunctionCodeLocation(repository_type="S3", location=location),
            tags=tags,
        )

    def resolve(self, function_name: str, qualifier: str | None = None) -> ResolvedFunction:
        """Find the configuration a name and qualifier denote (before weighted routing).

        Raises:
            ResourceNotFoundException: "Function not found: <arn>" for a missing function,
                version or alias, including ``$latest`` in the wrong case (spec §3).
        """
        stamp = self._db.stamp()
        if stamp != self._resolved_stamp:
            self._resolved = {}
            self._resolved_stamp = stamp
        key = (function_name, qualifier)
        hit = self._resolved.get(key)
        if hit is None:
            hit = self._resolved[key] = self._resolve(function_name, qualifier)
        return hit

    def _resolve(self, function_name: str, qualifier: str | None) -> ResolvedFunction:
        ref = self._ref(function_name, qualifier)
        with self._db.read() as conn:
            latest = self._latest(conn, ref)
            if ref.qualifier is None:
                return ResolvedFunction(ref, latest)
            kind = qualifier_kind(ref.qualifier)
            rows = self._rows_for(ref)
            if kind is QualifierKind.LATEST:
                return ResolvedFunction(ref, latest)
            if kind is QualifierKind.VERSION:
                doc = rows.version(conn, ref.name, int(ref.qualifier))
                if doc is None:
                    raise ResourceNotFoundException(f"Function not found: {ref.arn}")
                return ResolvedFunction(ref, FunctionConfiguration.from_aws(doc))
            alias_doc = rows.alias(conn, ref.name, ref.qualifier)
            if alias_doc is None:
                raise ResourceNotFoundException(f"Function not found: {ref.arn}")
            alias = AliasConfiguration.from_aws(alias_doc)
            config = self._version_config(conn, rows, ref, alias.function_version, latest)
            return ResolvedFunction(ref, config, alias)

    def version_configuration(self, function_name: str, version: str) -> FunctionConfiguration:
        """The configuration of one version (``$LATEST`` or a number) of a function."""
        return self.resolve(function_name, version).config

    def _version_config(
        self,
        conn: sqlite3.Connection,
        rows: FunctionRows,
        ref: FunctionRef,
        version: str,
        latest: FunctionConfiguration,
    ) -> FunctionConfiguration:
        if version == LATEST:
            return latest
        doc = rows.version(conn, ref.name, int(version))
        if doc is None:
            raise ResourceNotFoundException(
                f"Function not found: {function_arn(ref.region, ref.account_id, ref.name, version)}"
            )
        return FunctionConfiguration.from_aws(doc)

    def list_functions(
        self,
        *,
        function_version: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> FunctionList:
        """ListFunctions: ``$LATEST`` of every function (or every version with
        ``function_version="ALL"``), 50 per page unless ``max_items`` says otherwise."""
        if function_version not in (None, "ALL"):
            raise validation_error(
                function_version, "functionVersion", "Member must satisfy enum value set: [ALL]"
            )
        limit = self._page_size(max_items, 50)
        with self._db.read() as conn:
            items: list[FunctionConfiguration] = []
            for name in self._rows.names(conn):
                doc = self._rows.latest(conn, name)
                if doc is None:
                    continue
                latest = FunctionConfiguration.from_aws(doc)
                if function_version == "ALL":
                    items.append(
                        dataclasses.replace(latest, function_arn=latest.function_arn + ":" + LATEST)
                    )
                    items.extend(
                        FunctionConfiguration.from_aws(v) for v in self._rows.versions(conn, name)
                    )
                else:
                    items.append(latest)
        page, next_marker = self._paginate(items, marker, limit)
        return FunctionList(tuple(page), next_marker)

    @staticmethod
    def _page_size(max_items: int | None, default: int) -> int:
        if max_items is None:
            return default
        if max_items < 1:
            raise validation_error(
                max_items, "maxItems", "Member must have value greater than or equal to 1"
            )
        if max_items > 10000:
            raise validation_error(
                max_items, "maxItems", "Member must have value less than or equal to 10000"
            )
        return max_items

    @staticmethod
    def _paginate(
        items: Sequence[FunctionConfiguration], marker: str | None, limit: int
    ) -> tuple[Sequence[FunctionConfiguration], str | None]:
        start = 0
        if marker:
            try:
                start = int(json.loads(base64.urlsafe_b64decode(marker.encode()))["offset"])
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidParameterValueException(f"Invalid marker: {marker}") from exc
        page = items[start : start + limit]
        more = start + limit < len(items)
        token = base64.urlsafe_b64encode(json.dumps({"offset": start + limit}).encode()).decode()
        return page, token if more else None

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
        """UpdateFunctionCode: new code for ``$LATEST`` (the handler setting is kept)."""
        ref = self._ref(function_name, namespaced=False)
        self._only_latest(ref, "UpdateFunctionCode")
        source = zip_file if zip_file is not None else code
        if source is None:
            raise InvalidParameterValueException(
                "Please provide a source for function code: ZipFile, a path, source text or "
                "a callable."
            )
        package = package_code(source, operation="UpdateFunctionCode")
        archs = tuple(architectures) if architectures is not None else None
        if archs is not None:
            validate_architectures(archs)
        if not dry_run:
            self._store_code(package)
        with self._db.transaction() as conn:
            latest = self._latest(conn, ref)
            self._check_revision(latest.revision_id, revision_id)
            updated = dataclasses.replace(
                latest,
                code_sha256=package.code_sha256,
                code_size=package.code_size,
                architectures=archs or latest.architectures,
                last_modified=self._now(),
                revision_id=self._new_id(),
            )
            if dry_run:
                return updated
            self._rows_for(ref).update_latest(conn, ref.name, updated.to_aws())
            if publish:
                updated = self._publish(conn, ref, updated, None)
        self._emit("code", ref, LATEST)
        if publish:
            self._emit("published", ref, updated.version)
        return updated

    def update_function_configuration(
        self,
        function_name: str,
        *,
        role: str | None = None,
        handler: str | None = None,
        description: str | None = None,
        timeout: int | None = None,
        memory_size: int | None = None,
        environment: Mapping[str, object] | None = None,
        runtime: str | None = None,
        layers: Sequence[str] | None = None,
        ephemeral_storage: int | Mapping[str, object] | None = None,
        tracing_config: Mapping[str, str] | None = None,
        dead_letter_config: Mapping[str, str] | None = None,
        logging_config: Mapping[str, str] | None = None,
        revision_id: str | None = None,
    ) -> FunctionConfiguration:
        """UpdateFunctionConfiguration: change only the settings given; ``environment``
        and ``layers`` replace the whole previous value."""
        ref = self._ref(function_name, namespaced=False)
        self._only_latest(ref, "UpdateFunctionConfiguration")
        changes: dict[str, object] = {}
        if role is not None:
            validate_role(role)
            changes["role"] = role
        if handler is not None:
            validate_handler(handler)
            changes["handler"] = handler
        if description is not None:
            validate_description(description)
            changes["description"] = description
        if timeout is not None:
            validate_timeout(timeout)
            changes["timeout"] = timeout
        if memory_size is not None:
            validate_memory_size(memory_size)
            changes["memory_size"] = memory_size
        if environment is not None:
            changes["environment"] = _variables(environment) or {}
        if runtime is not None:
            validate_runtime(runtime)
            changes["runtime"] = runtime
        if layers is not None:
            changes["layers"] = self._layers(layers)
        if ephemeral_storage is not None:
            size = _size(ephemeral_storage, 512)
            validate_ephemeral_storage(size)
            changes["ephemeral_storage"] = size
        if tracing_config is not None:
            changes["tracing_mode"] = tracing_config.get("Mode", "PassThrough")
        if dead_letter_config is not None:
            changes["dead_letter_target_arn"] = dead_letter_config.get("TargetArn") or None
        with self._db.transaction() as conn:
            latest = self._latest(conn, ref)
            self._check_revision(latest.revision_id, revision_id)
            if logging_config is not None:
                changes["logging_config"] = self._logging(
                    logging_config, ref.name, latest.logging_config
                )
            updated = dataclasses.replace(
                latest,
                **changes,  # type: ignore[arg-type]
                last_modified=self._now(),
                revision_id=self._new_id(),
            )
            self._rows_for(ref).update_latest(conn, ref.name, updated.to_aws())
        self._emit("configuration", ref, LATEST)
        return updated

    @staticmethod
    def _only_latest(ref: FunctionRef, operation: str) -> None:
        if ref.qualifier is not None:
            raise InvalidParameterValueException(
                f"Qualifier is not supported for the {operation} operation. "
                "Only $LATEST can be changed."
            )

    @staticmethod
    def _unqualified(ref: FunctionRef, operation: str) -> None:
        if ref.qualifier is not None:
            raise InvalidParameterValueException(
                f"Qualifier is not supported for the {operation} operation: pass the "
                "function's name or unqualified ARN."
            )

    @staticmethod
    def _check_revision(current: str, expected: str | None) -> None:
        if expected is not None and expected != current:
            raise PreconditionFailedException(_REVISION_MISMATCH)

    def delete_function(self, function_name: str, qualifier: str | None = None) -> None:
        """DeleteFunction: the whole function (all versions and aliases), or one version.

        Raises:
            InvalidParameterValueException: ``$LATEST`` alone cannot be deleted.
            ResourceConflictException: an alias still references the version.
        """
        ref = self._ref(function_name, qualifier)
        with self._db.transaction() as conn:
            self._latest(conn, ref)
            rows = self._rows_for(ref)
            if ref.qualifier is None:
                rows.delete(conn, ref.name)
            else:
                kind = qualifier_kind(ref.qualifier)
                if kind is QualifierKind.LATEST:
                    # spec §5
                    raise InvalidParameterValueException(
                        "$LATEST version cannot be deleted without deleting the function."
                    )
                if kind is QualifierKind.ALIAS:
                    raise InvalidParameterValueException(
                        "Deletion of aliases is not currently supported."
                    )
                if rows.version(conn, ref.name, int(ref.qualifier)) is None:
                    raise ResourceNotFoundException(f"Function not found: {ref.arn}")
                users = [
                    a.name
                    for a in map(AliasConfiguration.from_aws, rows.aliases(conn, ref.name))
                    if ref.qualifier == a.function_version
                    or ref.qualifier in a.additional_version_weights
                ]
                if users:
                    # spec §5: a referenced version cannot be deleted.
                    raise ResourceConflictException(
                        "Unable to delete version because the following aliases reference it: "
                        f"[{', '.join(users)}]"
                    )
                rows.delete_version(conn, ref.name, int(ref.qualifier))
        if ref.qualifier is None:
            self._emit("deleted", ref)
        else:
            self._emit("version-deleted", ref, ref.qualifier)

    # versions ---------------------------------------------------------------------------
    def publish_version(
        self,
        function_name: str,
        *,
        code_sha256: str | None = None,
        description: str | None = None,
        revision_id: str | None = None,
    ) -> FunctionConfiguration:
        """PublishVersion: snapshot ``$LATEST`` as the next numbered version (spec §5)."""
        ref = self._ref(function_name, namespaced=False)
        self._only_latest(ref, "PublishVersion")
        if description is not None:
            validate_description(description)
        with self._db.transaction() as conn:
            latest = self._latest(conn, ref)
            if code_sha256 is not None and code_sha256 != latest.code_sha256:
                raise InvalidParameterValueException(
                    f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in $LATEST "
                    f"({latest.code_sha256}). Please try again with the CodeSHA256 in $LATEST."
                )
            self._check_revision(latest.revision_id, revision_id)
            before = self._last_version(conn, ref)
            published = self._publish(conn, ref, latest, description)
        if before is None or published.version != before.version:
            self._emit("published", ref, published.version)
        return published

    def _last_version(
        self, conn: sqlite3.Connection, ref: FunctionRef
    ) -> FunctionConfiguration | None:
        versions = self._rows_for(ref).versions(conn, ref.name)
        return FunctionConfiguration.from_aws(versions[-1]) if versions else None

    @staticmethod
    def _fingerprint(config: FunctionConfiguration) -> str:
        return hashlib.sha256(repr(config.publishable_fingerprint()).encode()).hexdigest()

    def _publish(
        self,
        conn: sqlite3.Connection,
        ref: FunctionRef,
        latest: FunctionConfiguration,
        description: str | None,
    ) -> FunctionConfiguration:
        rows = self._rows_for(ref)
        fingerprint = self._fingerprint(latest)
        versions = rows.versions(conn, ref.name)
        if versions and versions[-1].get("X-Sandbox-Source") == fingerprint:
            # spec §5: nothing changed since the last publish -> that version, unchanged.
            return FunctionConfiguration.from_aws(versions[-1])
        number = rows.take_version_number(conn, ref.name)
        version = dataclasses.replace(
            latest,
            version=str(number),
            function_arn=function_arn(ref.region, ref.account_id, ref.name, str(number)),
            description=latest.description if description is None else description,
            revision_id=self._new_id(),
            last_modified=self._now(),
        )
        doc = version.to_aws()
        doc["X-Sandbox-Source"] = fingerprint
        rows.insert_version(conn, ref.name, number, doc)
        return version

    def list_versions_by_function(
        self, function_name: str, *, marker: str | None = None, max_items: int | None = None
    ) -> VersionList:
        """ListVersionsByFunction: ``$LATEST`` (ARN ending ``:$LATEST``) then each version."""
        ref = self._ref(function_name)
        self._unqualified(ref, "ListVersionsByFunction")
        limit = self._page_size(max_items, 50)
        with self._db.read() as conn:
            latest = self._latest(conn, ref)
            items = [
                dataclasses.replace(latest, function_arn=latest.unqualified_arn + ":" + LATEST)
            ]
            items.extend(
                FunctionConfiguration.from_aws(v)
                for v in self._rows_for(ref).versions(conn, ref.name)
            )
        page, next_marker = self._paginate(items, marker, limit)
        return VersionList(tuple(page), next_marker)

    # aliases ----------------------------------------------------------------------------
    def _weights(self, routing_config: Mapping[str, object] | None) -> dict[str, float] | None:
        if routing_config is None:
            return None
        raw = routing_config.get("AdditionalVersionWeights", {})
        if not isinstance(raw, Mapping):
            raise InvalidParameterValueException("AdditionalVersionWeights must be a map.")
        return {str(k): v for k, v in raw.items()}

    def _check_alias_target(
        self,
        conn: sqlite3.Connection,
        ref: FunctionRef,
        version: str,
        weights: Mapping[str, float],
        latest: FunctionConfiguration,
    ) -> None:
        if version != LATEST and not version.isdigit():
            raise validation_error(
                version,
                "functionVersion",
                r"Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)",
            )
        validate_routing_weights(version, weights)
        rows = self._rows_for(ref)
        for v in (version, *weights):
            self._version_config(conn, rows, ref, v, latest)

    def create_alias(
        self,
        function_name: str,
        name: str,
        function_version: str,
        *,
        description: str = "",
        routing_config: Mapping[str, object] | None = None,
    ) -> AliasConfiguration:
        """CreateAlias: a name for one version, optionally with weighted routing."""
        ref = self._ref(function_name, namespaced=False)
        self._unqualified(ref, "CreateAlias")
        validate_alias_name(name)
        validate_description(description)
        weights = self._weights(routing_config) or {}
        with self._db.transaction() as conn:
            latest = self._latest(conn, ref)
            self._check_alias_target(conn, ref, function_version, weights, latest)
            arn = alias_arn(ref.region, ref.account_id, ref.name, name)
            rows = self._rows_for(ref)
            if rows.alias(conn, ref.name, name) is not None:
                raise ResourceConflictException(f"Alias already exists: {arn}")
            alias = AliasConfiguration(
                alias_arn=arn,
                name=name,
                function_version=function_version,
                revision_id=self._new_id(),
                description=description,
                additional_version_weights=weights,
            )
            rows.put_alias(conn, ref.name, name, alias.to_aws())
        self._emit("alias", ref)
        return alias

    def get_alias(self, function_name: str, name: str) -> AliasConfiguration:
        """GetAlias. A missing alias: 404 "Cannot find alias arn: <arn>" (spec §5)."""
        ref = self._ref(function_name, namespaced=False)
        self._unqualified(ref, "GetAlias")
        validate_alias_name(name)
        with self._db.read() as conn:
            self._latest(conn, ref)
            doc = self._rows_for(ref).alias(conn, ref.name, name)
        if doc is None:
            raise ResourceNotFoundException(
                f"Cannot find alias arn: {alias_arn(ref.region, ref.account_id, ref.name, name)}"
            )
        return AliasConfiguration.from_aws(doc)

    def list_aliases(
        self,
        function_name: str,
        *,
        function_version: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> AliasList:
        """ListAliases, optionally only those pointing at ``function_version``."""
        ref = self._ref(function_name, namespaced=False)
        self._unqualified(ref, "ListAliases")
        limit = self._page_size(max_items, 50)
        with self._db.read() as conn:
            self._latest(conn, ref)
            aliases = [
                AliasConfiguration.from_aws(d) for d in self._rows_for(ref).aliases(conn, ref.name)
            ]
        if function_version is not None:
            aliases = [
                a
                for a in aliases
                if a.function_version == function_version
                or function_version in a.additional_version_weights
            ]
        start = 0
        if marker:
            names = [a.name for a in aliases]
            start = names.index(marker) if marker in names else len(aliases)
        page = aliases[start : start + limit]
        next_marker = aliases[start + limit].name if start + limit < len(aliases) else None
        return AliasList(tuple(page), next_marker)

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
        """UpdateAlias: move it, re-describe it, or change its routing
        (``{"AdditionalVersionWeights": {}}`` clears routing)."""
        ref = self._ref(function_name, namespaced=False)
        self._unqualified(ref, "UpdateAlias")
        validate_alias_name(name)
        if description is not None:
            validate_description(description)
        weights = self._weights(routing_config)
        with self._db.transaction() as conn:
            latest = self._latest(conn, ref)
            rows = self._rows_for(ref)
            arn = alias_arn(ref.region, ref.account_id, ref.name, name)
            doc = rows.alias(conn, ref.name, name)
            if doc is None:
                raise ResourceNotFoundException(f"Alias not found: {arn}")
            current = AliasConfiguration.from_aws(doc)
            self._check_revision(current.revision_id, revision_id)
            version = function_version or current.function_version
            new_weights = current.additional_version_weights if weights is None else weights
            self._check_alias_target(conn, ref, version, new_weights, latest)
            alias = dataclasses.replace(
                current,
                function_version=version,
                description=current.description if description is None else description,
                additional_version_weights=dict(new_weights),
                revision_id=self._new_id(),
            )
            rows.put_alias(conn, ref.name, name, alias.to_aws())
        self._emit("alias", ref)
        return alias

    def delete_alias(self, function_name: str, name: str) -> None:
        """DeleteAlias: idempotent, as on AWS (spec §5)."""
        ref = self._ref(function_name, namespaced=False)
        self._unqualified(ref, "DeleteAlias")
        validate_alias_name(name)
        with self._db.transaction() as conn:
            self._latest(conn, ref)
            self._rows_for(ref).delete_alias(conn, ref.name, name)
        self._emit("alias", ref)

    # code -------------------------------------------------------------------------------
    def code_path(self, config: FunctionConfiguration) -> Path:
        """The extracted, read-only directory of a version's code (shared by its
        environments)."""
        return self._artifacts.extracted(config.code_sha256_hex)
