"""The control plane of functions (and, through mixins, their versions and aliases).

Every operation mirrors one Lambda API operation (spec §5), validates in AWS's order with
AWS's messages, and runs in one store transaction: it commits whole or not at all.
Listeners hear about every change so the data plane can retire environments of code that
changed (spec §1.1: SHUTDOWN on code or configuration update).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

from sandbox.core.arns import (
    LATEST,
    QualifierKind,
    qualifier_kind,
)
from sandbox.core.models import (
    AliasConfiguration,
    FunctionCodeLocation,
    FunctionConfiguration,
    FunctionList,
    GetFunctionResult,
    LayerReference,
    LoggingConfig,
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
    validate_runtime,
    validate_timeout,
)
from sandbox.errors import (
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
    validation_error,
)
from sandbox.service.aliases import AliasesMixin
from sandbox.service.code import (
    IMAGE_CONFIG_ON_ZIP,
    check_unzipped,
    code_for_create,
    code_for_update,
)
from sandbox.service.concurrency import ConcurrencyMixin
from sandbox.service.eventconfig import EventConfigMixin
from sandbox.service.images import IMAGE_REFUSES_ZIP_SETTINGS, image_config_of, resolve_handler
from sandbox.service.mappings import MappingsMixin
from sandbox.service.scope import FunctionChange, FunctionScope, ResolvedFunction
from sandbox.service.tags import TagsMixin
from sandbox.service.versions import VersionsMixin
from sandbox.store.artifacts import ZipReader

__all__ = ["FunctionChange", "FunctionService", "ResolvedFunction"]


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


class FunctionService(
    VersionsMixin,
    AliasesMixin,
    ConcurrencyMixin,
    EventConfigMixin,
    MappingsMixin,
    TagsMixin,
    FunctionScope,
):
    """Functions, versions, aliases and concurrency settings of one account in one region
    (see :class:`~sandbox.service.scope.FunctionScope` for the arguments and the account's
    :attr:`layer_service`)."""

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
        image_config: Mapping[str, object] | None = None,
    ) -> FunctionConfiguration:
        """CreateFunction. See :meth:`sandbox.Sandbox.create_function`."""
        ref = self._ref(function_name, namespaced=False, create=True)
        validate_function_name_for_create(function_name, ref.name)
        if ref.qualifier is not None:
            raise InvalidParameterValueException(
                "Qualifier is not supported for the CreateFunction operation."
            )
        code_fields = code_for_create(package_type, code, runtime, handler, layers, image_config)
        role = role or f"arn:aws:iam::{ref.account_id}:role/lambda-sandbox-role"
        validate_role(role)
        validate_description(description)
        validate_timeout(timeout)
        validate_memory_size(memory_size)
        archs = tuple(architectures)
        validate_architectures(archs)
        storage = _size(ephemeral_storage, 512)
        validate_ephemeral_storage(storage)
        variables = _variables(environment) or {}
        layer_refs = self._layers(layers, code_fields.unzipped_size)
        log_cfg = self._logging(logging_config, ref.name, LoggingConfig())
        config = FunctionConfiguration(
            function_name=ref.name,
            function_arn=ref.unqualified_arn,
            role=role,
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
            package_type=package_type,
            **code_fields.settings(),
        )
        self._artifacts.put(code_fields.zip_bytes)
        with self._db.transaction() as conn:
            rows = self._rows_for(ref)
            if rows.latest(conn, ref.name) is not None:
                raise ResourceConflictException(f"Function already exist: {ref.name}")
            rows.insert(conn, ref.name, config.to_record(), dict(tags or {}), self._clock.time())
            if publish:
                config = self._publish(conn, ref, config, None)
        self._emit("created", ref)
        if publish:
            self._emit("published", ref, config.version)
        return config

    def _layers(self, layers: Sequence[str], function_unzipped: int) -> tuple[LayerReference, ...]:
        """spec §6: the layers a function may reference, and the 250 MB quota on the
        function and its layers unzipped together."""
        refs = self.layer_service.resolve(layers)
        check_unzipped(function_unzipped, refs)
        return refs

    def _unzipped(self, config: FunctionConfiguration) -> int:
        """The function's own unzipped size (read from its zip for records made before
        the store kept it)."""
        if config.unzipped_size:
            return config.unzipped_size
        with ZipReader(self._artifacts.path(config.code_sha256_hex)) as reader:
            return reader.declared_size

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
            rows = self._rows_for(resolved.ref)
            tags = rows.tags(conn, resolved.ref.name)
            reserved = rows.reserved(conn, resolved.ref.name)
        config = resolved.config
        if config.package_type == "Image":
            code = FunctionCodeLocation(
                repository_type="ECR",
                image_uri=config.image_uri,
                resolved_image_uri=str(config.image.get("ResolvedImageUri") or "") or None,
            )
        else:
            location = self._artifacts.path(config.code_sha256_hex).as_uri()
            code = FunctionCodeLocation(repository_type="S3", location=location)
        return GetFunctionResult(
            configuration=config,
            code=code,
            tags=tags,
            reserved_concurrent_executions=reserved,
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
        image_uri: str | None = None,
    ) -> FunctionConfiguration:
        """UpdateFunctionCode: new code for ``$LATEST`` (the handler setting is kept); an
        image function takes ``image_uri`` (or ``code``) and resolves it again."""
        ref = self._ref(function_name, namespaced=False)
        self._only_latest(ref, "UpdateFunctionCode")
        with self._db.read() as conn:
            current = self._latest(conn, ref)
        new = code_for_update(current, code, zip_file, image_uri)
        archs = tuple(architectures) if architectures is not None else None
        if archs is not None:
            validate_architectures(archs)
        if not dry_run:
            self._artifacts.put(new.zip_bytes)
        settings = new.settings()
        if current.package_type == "Zip":
            del settings["runtime"], settings["handler"]  # the handler setting is kept
        with self._db.transaction() as conn:
            latest = self._latest(conn, ref)
            self._check_revision(latest.revision_id, revision_id)
            check_unzipped(new.unzipped_size, latest.layers)
            updated = dataclasses.replace(
                latest,
                **settings,
                architectures=archs or latest.architectures,
                last_modified=self._now(),
                revision_id=self._new_id(),
            )
            if dry_run:
                return updated
            self._rows_for(ref).update_latest(conn, ref.name, updated.to_record())
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
        image_config: Mapping[str, object] | None = None,
    ) -> FunctionConfiguration:
        """UpdateFunctionConfiguration: change only the settings given; ``environment``,
        ``layers`` and ``image_config`` replace the whole previous value."""
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
        if layers is not None or runtime is not None or handler is not None:
            with self._db.read() as conn:
                if self._latest(conn, ref).package_type == "Image":
                    raise InvalidParameterValueException(IMAGE_REFUSES_ZIP_SETTINGS)
        new_layers = self.layer_service.resolve(layers) if layers is not None else None
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
            if latest.package_type == "Image":
                if runtime is not None or handler is not None or layers is not None:
                    raise InvalidParameterValueException(IMAGE_REFUSES_ZIP_SETTINGS)
                if image_config is not None:
                    new_image_config = image_config_of(image_config)
                    changes["image_config"] = new_image_config
                    changes["handler"] = resolve_handler(latest.image, new_image_config)
            elif image_config is not None:
                raise InvalidParameterValueException(IMAGE_CONFIG_ON_ZIP)
            if new_layers is not None:
                check_unzipped(self._unzipped(latest), new_layers)
                changes["layers"] = new_layers
            updated = dataclasses.replace(
                latest,
                **changes,  # type: ignore[arg-type]
                last_modified=self._now(),
                revision_id=self._new_id(),
            )
            self._rows_for(ref).update_latest(conn, ref.name, updated.to_record())
        self._emit("configuration", ref, LATEST)
        return updated

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
                rows.delete_provisioned(conn, ref.name, ref.qualifier)
                rows.delete_event_config(conn, ref.name, ref.qualifier)
        if ref.qualifier is None:
            self._emit("deleted", ref)
        else:
            self._emit("version-deleted", ref, ref.qualifier)

    def code_path(self, config: FunctionConfiguration) -> Path:
        """The extracted, read-only directory of a version's code (shared by its
        environments)."""
        return self._artifacts.extracted(config.code_sha256_hex)
