"""The Lambda control plane's records, as immutable values.

A published version never changes (spec §5), so every record here is a frozen dataclass
changed only through :func:`dataclasses.replace`. Attribute names are boto3's keys in
snake_case; ``to_aws()`` gives the exact JSON shape of the Lambda API (what boto3 returns
and what the store and the HTTP endpoint keep), ``from_aws()`` reads it back.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from sandbox.core.arns import LATEST

__all__ = [
    "AliasConfiguration",
    "AliasList",
    "FunctionCodeLocation",
    "FunctionConfiguration",
    "FunctionList",
    "FunctionState",
    "GetFunctionResult",
    "LastUpdateStatus",
    "LayerReference",
    "LoggingConfig",
    "VersionList",
]

JsonDict = dict[str, object]


class FunctionState(StrEnum):
    """``State`` of a function version (spec §1.1)."""

    PENDING = "Pending"
    ACTIVE = "Active"
    INACTIVE = "Inactive"
    FAILED = "Failed"


class LastUpdateStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"


@dataclass(frozen=True, slots=True)
class LayerReference:
    """One entry of a function's ``Layers``: a layer *version* ARN and its code size.

    The function keeps which artifact the version was (``code_sha256_hex``) and its
    unzipped size, so it goes on running after the layer version is deleted (spec §6:
    Lambda keeps a copy while a function references it)."""

    arn: str
    code_size: int = 0
    code_sha256_hex: str = ""
    unzipped_size: int = 0

    def to_aws(self) -> JsonDict:
        return {"Arn": self.arn, "CodeSize": self.code_size}

    def to_record(self) -> JsonDict:
        out = self.to_aws()
        out["X-Sandbox-Sha256"] = self.code_sha256_hex
        out["X-Sandbox-UnzippedSize"] = self.unzipped_size
        return out


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    """``LoggingConfig``: log format and levels, and the log group (spec §1.4)."""

    log_format: str = "Text"
    log_group: str = ""
    application_log_level: str | None = None
    system_log_level: str | None = None

    def to_aws(self) -> JsonDict:
        out: JsonDict = {"LogFormat": self.log_format, "LogGroup": self.log_group}
        if self.application_log_level:
            out["ApplicationLogLevel"] = self.application_log_level
        if self.system_log_level:
            out["SystemLogLevel"] = self.system_log_level
        return out


def _str(d: Mapping[str, object], key: str, default: str = "") -> str:
    value = d.get(key, default)
    return value if isinstance(value, str) else default


def _int(d: Mapping[str, object], key: str, default: int = 0) -> int:
    value = d.get(key, default)
    return value if isinstance(value, int) else default


def _map(d: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = d.get(key)
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, slots=True)
class FunctionConfiguration:
    """A function version's configuration: ``$LATEST`` or an immutable numbered version.

    Version-specific (frozen on publish, spec §5): code, runtime, handler, memory, timeout,
    role, environment, layers, dead-letter config, tracing, ephemeral storage,
    architectures, logging config.
    """

    function_name: str
    function_arn: str
    runtime: str
    role: str
    handler: str
    code_sha256: str
    code_size: int
    last_modified: str
    revision_id: str
    version: str = LATEST
    description: str = ""
    timeout: int = 3
    memory_size: int = 128
    environment: Mapping[str, str] = field(default_factory=dict)
    layers: tuple[LayerReference, ...] = ()
    package_type: str = "Zip"
    architectures: tuple[str, ...] = ("x86_64",)
    ephemeral_storage: int = 512
    tracing_mode: str = "PassThrough"
    dead_letter_target_arn: str | None = None
    logging_config: LoggingConfig = field(default_factory=LoggingConfig)
    image_uri: str | None = None
    image_config: Mapping[str, object] = field(default_factory=dict)
    image: Mapping[str, object] = field(default_factory=dict)
    unzipped_size: int = 0
    state: FunctionState = FunctionState.ACTIVE
    state_reason: str | None = None
    state_reason_code: str | None = None
    last_update_status: LastUpdateStatus = LastUpdateStatus.SUCCESSFUL

    @property
    def code_sha256_hex(self) -> str:
        """The artifact id in the store: the SHA-256 of the zip, in hex."""
        return base64.b64decode(self.code_sha256).hex()

    @property
    def unqualified_arn(self) -> str:
        parts = self.function_arn.split(":")
        return ":".join(parts[:7])

    def publishable_fingerprint(self) -> tuple[object, ...]:
        """What must change for ``PublishVersion`` to create a new version (spec §5):
        code and every version-specific setting, including the description."""
        return (
            self.code_sha256,
            self.runtime,
            self.role,
            self.handler,
            self.description,
            self.timeout,
            self.memory_size,
            tuple(sorted(self.environment.items())),
            tuple(layer.arn for layer in self.layers),
            self.package_type,
            self.architectures,
            self.ephemeral_storage,
            self.tracing_mode,
            self.dead_letter_target_arn,
            self.logging_config,
            self.image_uri,
            tuple(sorted((k, repr(v)) for k, v in self.image_config.items())),
            self.image.get("Digest"),
        )

    def to_aws(self) -> JsonDict:
        """The ``FunctionConfiguration`` JSON of the Lambda API."""
        out: JsonDict = {
            "FunctionName": self.function_name,
            "FunctionArn": self.function_arn,
            "Role": self.role,
            "CodeSize": self.code_size,
            "Description": self.description,
            "Timeout": self.timeout,
            "MemorySize": self.memory_size,
            "LastModified": self.last_modified,
            "CodeSha256": self.code_sha256,
            "Version": self.version,
            "TracingConfig": {"Mode": self.tracing_mode},
            "RevisionId": self.revision_id,
            "State": str(self.state),
            "LastUpdateStatus": str(self.last_update_status),
            "PackageType": self.package_type,
            "Architectures": list(self.architectures),
            "EphemeralStorage": {"Size": self.ephemeral_storage},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": self.logging_config.to_aws(),
        }
        if self.package_type == "Zip":
            out["Runtime"] = self.runtime
            out["Handler"] = self.handler
        if self.environment:
            out["Environment"] = {"Variables": dict(self.environment)}
        if self.layers:
            out["Layers"] = [layer.to_aws() for layer in self.layers]
        if self.dead_letter_target_arn:
            out["DeadLetterConfig"] = {"TargetArn": self.dead_letter_target_arn}
        if self.image_config:
            out["ImageConfigResponse"] = {"ImageConfig": dict(self.image_config)}
        if self.state_reason:
            out["StateReason"] = self.state_reason
        if self.state_reason_code:
            out["StateReasonCode"] = self.state_reason_code
        return out

    def to_record(self) -> JsonDict:
        """What the store keeps: :meth:`to_aws` plus the sandbox's own bookkeeping
        (``X-Sandbox-*`` members, never shown through the API)."""
        out = self.to_aws()
        if self.layers:
            out["Layers"] = [layer.to_record() for layer in self.layers]
        if self.image_uri:
            out["X-Sandbox-ImageUri"] = self.image_uri
        if self.image:
            out["X-Sandbox-Image"] = dict(self.image)
        if self.package_type != "Zip":
            out["X-Sandbox-Runtime"] = self.runtime
            out["X-Sandbox-Handler"] = self.handler
        out["X-Sandbox-UnzippedSize"] = self.unzipped_size
        return out

    @classmethod
    def from_aws(cls, d: Mapping[str, object]) -> FunctionConfiguration:
        """Read back what :meth:`to_aws` wrote."""
        env = _map(_map(d, "Environment"), "Variables")
        layers_raw = d.get("Layers")
        layers = tuple(
            LayerReference(
                _str(item, "Arn"),
                _int(item, "CodeSize"),
                _str(item, "X-Sandbox-Sha256"),
                _int(item, "X-Sandbox-UnzippedSize"),
            )
            for item in (layers_raw if isinstance(layers_raw, list) else [])
            if isinstance(item, Mapping)
        )
        logging = _map(d, "LoggingConfig")
        archs = d.get("Architectures")
        dlq = _map(d, "DeadLetterConfig")
        return cls(
            function_name=_str(d, "FunctionName"),
            function_arn=_str(d, "FunctionArn"),
            runtime=_str(d, "Runtime") or _str(d, "X-Sandbox-Runtime"),
            role=_str(d, "Role"),
            handler=_str(d, "Handler") or _str(d, "X-Sandbox-Handler"),
            code_sha256=_str(d, "CodeSha256"),
            code_size=_int(d, "CodeSize"),
            last_modified=_str(d, "LastModified"),
            revision_id=_str(d, "RevisionId"),
            version=_str(d, "Version", LATEST),
            description=_str(d, "Description"),
            timeout=_int(d, "Timeout", 3),
            memory_size=_int(d, "MemorySize", 128),
            environment={str(k): str(v) for k, v in env.items()},
            layers=layers,
            package_type=_str(d, "PackageType", "Zip"),
            architectures=tuple(str(a) for a in archs) if isinstance(archs, list) else ("x86_64",),
            ephemeral_storage=_int(_map(d, "EphemeralStorage"), "Size", 512),
            tracing_mode=_str(_map(d, "TracingConfig"), "Mode", "PassThrough"),
            dead_letter_target_arn=_str(dlq, "TargetArn") or None,
            logging_config=LoggingConfig(
                log_format=_str(logging, "LogFormat", "Text"),
                log_group=_str(logging, "LogGroup"),
                application_log_level=_str(logging, "ApplicationLogLevel") or None,
                system_log_level=_str(logging, "SystemLogLevel") or None,
            ),
            image_uri=_str(d, "X-Sandbox-ImageUri") or None,
            image_config=dict(_map(_map(d, "ImageConfigResponse"), "ImageConfig")),
            image=dict(_map(d, "X-Sandbox-Image")),
            unzipped_size=_int(d, "X-Sandbox-UnzippedSize"),
            state=FunctionState(_str(d, "State", "Active")),
            state_reason=_str(d, "StateReason") or None,
            state_reason_code=_str(d, "StateReasonCode") or None,
            last_update_status=LastUpdateStatus(_str(d, "LastUpdateStatus", "Successful")),
        )


@dataclass(frozen=True, slots=True)
class AliasConfiguration:
    """An alias: a name pointing at one version, optionally with one weighted extra
    version (spec §5)."""

    alias_arn: str
    name: str
    function_version: str
    revision_id: str
    description: str = ""
    additional_version_weights: Mapping[str, float] = field(default_factory=dict)

    def to_aws(self) -> JsonDict:
        out: JsonDict = {
            "AliasArn": self.alias_arn,
            "Name": self.name,
            "FunctionVersion": self.function_version,
            "Description": self.description,
            "RevisionId": self.revision_id,
        }
        if self.additional_version_weights:
            out["RoutingConfig"] = {
                "AdditionalVersionWeights": dict(self.additional_version_weights)
            }
        return out

    @classmethod
    def from_aws(cls, d: Mapping[str, object]) -> AliasConfiguration:
        weights = _map(_map(d, "RoutingConfig"), "AdditionalVersionWeights")
        return cls(
            alias_arn=_str(d, "AliasArn"),
            name=_str(d, "Name"),
            function_version=_str(d, "FunctionVersion"),
            revision_id=_str(d, "RevisionId"),
            description=_str(d, "Description"),
            additional_version_weights={
                str(k): float(v) for k, v in weights.items() if isinstance(v, int | float)
            },
        )


@dataclass(frozen=True, slots=True)
class FunctionCodeLocation:
    """``Code`` of GetFunction. ``location`` is a local ``file://`` URL to the zip."""

    repository_type: str
    location: str | None = None
    image_uri: str | None = None
    resolved_image_uri: str | None = None

    def to_aws(self) -> JsonDict:
        out: JsonDict = {"RepositoryType": self.repository_type}
        if self.location:
            out["Location"] = self.location
        if self.image_uri:
            out["ImageUri"] = self.image_uri
        if self.resolved_image_uri:
            out["ResolvedImageUri"] = self.resolved_image_uri
        return out


@dataclass(frozen=True, slots=True)
class GetFunctionResult:
    """The answer of GetFunction: configuration, code location, tags, concurrency."""

    configuration: FunctionConfiguration
    code: FunctionCodeLocation
    tags: Mapping[str, str] = field(default_factory=dict)
    reserved_concurrent_executions: int | None = None

    def to_aws(self) -> JsonDict:
        out: JsonDict = {"Configuration": self.configuration.to_aws(), "Code": self.code.to_aws()}
        if self.tags:
            out["Tags"] = dict(self.tags)
        if self.reserved_concurrent_executions is not None:
            out["Concurrency"] = {
                "ReservedConcurrentExecutions": self.reserved_concurrent_executions
            }
        return out


@dataclass(frozen=True, slots=True)
class FunctionList:
    """A page of ListFunctions; pass ``next_marker`` back as ``marker`` for the next."""

    functions: tuple[FunctionConfiguration, ...]
    next_marker: str | None = None

    def to_aws(self) -> JsonDict:
        out: JsonDict = {"Functions": [f.to_aws() for f in self.functions]}
        if self.next_marker:
            out["NextMarker"] = self.next_marker
        return out


@dataclass(frozen=True, slots=True)
class VersionList:
    """A page of ListVersionsByFunction (``$LATEST`` first, then versions ascending)."""

    versions: tuple[FunctionConfiguration, ...]
    next_marker: str | None = None

    def to_aws(self) -> JsonDict:
        out: JsonDict = {"Versions": [f.to_aws() for f in self.versions]}
        if self.next_marker:
            out["NextMarker"] = self.next_marker
        return out


@dataclass(frozen=True, slots=True)
class AliasList:
    """A page of ListAliases."""

    aliases: tuple[AliasConfiguration, ...]
    next_marker: str | None = None

    def to_aws(self) -> JsonDict:
        out: JsonDict = {"Aliases": [a.to_aws() for a in self.aliases]}
        if self.next_marker:
            out["NextMarker"] = self.next_marker
        return out
