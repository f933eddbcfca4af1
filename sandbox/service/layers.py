"""Layers: publish, read, list, delete, share (spec §6).

Why it is shaped this way: a layer version is immutable and numbered like a function
version, but it has a life of its own across accounts — a publisher shares one version
with a resource-based policy, consumers reference it from their functions, and deleting
or revoking it stops *new* references without breaking the functions that already run it.
So a function keeps, in its own configuration, which artifact each of its layers was
(:class:`~sandbox.core.models.LayerReference`), and only creating or updating a function
asks :meth:`LayerService.resolve` whether a version may be referenced.

One :class:`LayerService` acts as one account in one region, like a boto3 client.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence

from sandbox.core.arns import layer_version_arn
from sandbox.core.clock import Clock, iso8601
from sandbox.core.layers import (
    LayerList,
    LayerPolicyStatement,
    LayerSummary,
    LayerVersion,
    LayerVersionList,
    grants,
    parse_layer_name,
    parse_layer_version_arn,
    policy_document,
)
from sandbox.core.models import LayerReference
from sandbox.core.validation import RUNTIMES
from sandbox.errors import (
    AccessDeniedException,
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
    validation_error,
)
from sandbox.service.paging import page_size, paginate
from sandbox.store.artifacts import ArtifactStore
from sandbox.store.db import Database
from sandbox.store.layers import AccountRows, LayerRows
from sandbox.store.packaging import CodePackage, package_code

__all__ = ["LayerService"]

_MAX_LAYERS = 5  # spec §6/§10
_NOT_FOUND = "The resource you requested does not exist."
_ARCHITECTURES = ("x86_64", "arm64")
_STATEMENT_ID = re.compile(r"^[a-zA-Z0-9-_]{1,100}$")
_PRINCIPAL = re.compile(r"^(\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root)$")
_ORGANIZATION = re.compile(r"^o-[a-z0-9]{10,32}$")
_CONTENT_USAGE = (
    "give Content={'ZipFile': <zip bytes>}, zip bytes, or a path to a .zip file or to a "
    "directory (its contents become /opt: put Python packages under python/)"
)


class LayerService:
    """Layer operations acting as ``account_id`` in ``region``.

    Args:
        db, artifacts, clock: the sandbox's store and platform clock.
        account_id, region: who is calling.
        new_id: makes policy RevisionIds (a seam for deterministic tests).
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

    # publishing ---------------------------------------------------------------------------
    def publish_layer_version(
        self,
        layer_name: str,
        content: object,
        *,
        description: str = "",
        compatible_runtimes: Sequence[str] = (),
        compatible_architectures: Sequence[str] = (),
        license_info: str | None = None,
    ) -> LayerVersion:
        """PublishLayerVersion: every call makes a new version, even of identical content."""
        region, account, name = self._own(layer_name, "PublishLayerVersion")
        _validate_metadata(description, compatible_runtimes, compatible_architectures, license_info)
        package = _package(content)
        sha_hex = self._artifacts.put(package.zip_bytes)
        with self._db.transaction() as conn:
            rows = LayerRows(account, region)
            number = rows.take_version_number(conn, name)
            version = LayerVersion(
                region=region,
                account_id=account,
                layer_name=name,
                version=number,
                code_sha256=package.code_sha256,
                code_sha256_hex=sha_hex,
                code_size=package.code_size,
                unzipped_size=package.unzipped_size,
                created_date=iso8601(self._clock.time()),
                description=description,
                compatible_runtimes=tuple(compatible_runtimes),
                compatible_architectures=tuple(compatible_architectures),
                license_info=license_info,
            )
            rows.insert_version(conn, name, number, version.to_record())
        return self._located(version)

    # reading --------------------------------------------------------------------------------
    def get_layer_version(self, layer_name: str, version_number: int) -> LayerVersion:
        """GetLayerVersion: the owner, or an account the version's policy grants."""
        region, account, name = parse_layer_name(
            layer_name, region=self.region, account_id=self.account_id
        )
        return self._get(region, account, name, version_number)

    def get_layer_version_by_arn(self, arn: str) -> LayerVersion:
        """GetLayerVersionByArn: the same as :meth:`get_layer_version`, by version ARN."""
        region, account, name, number = parse_layer_version_arn(arn)
        return self._get(region, account, name, number)

    def _get(self, region: str, account: str, name: str, number: int) -> LayerVersion:
        _check_number(number)
        with self._db.read() as conn:
            doc = LayerRows(account, region).version(conn, name, number)
            if doc is None:
                raise ResourceNotFoundException(_NOT_FOUND)
            version = LayerVersion.from_record(region, account, name, doc)
            if account != self.account_id:
                self._check_granted(conn, version.layer_version_arn, account, region, name, number)
        return self._located(version)

    def list_layers(
        self,
        *,
        compatible_runtime: str | None = None,
        compatible_architecture: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> LayerList:
        """ListLayers: this account's layers, each with its latest version that matches
        the filters (layers with no matching version are left out)."""
        _check_filters(compatible_runtime, compatible_architecture)
        limit = _max_items(max_items)
        rows = LayerRows(self.account_id, self.region)
        summaries: list[LayerSummary] = []
        with self._db.read() as conn:
            for name in rows.names(conn):
                for doc in rows.versions(conn, name):
                    version = LayerVersion.from_record(self.region, self.account_id, name, doc)
                    if _matches(version, compatible_runtime, compatible_architecture):
                        summaries.append(LayerSummary(name, version.layer_arn, version))
                        break
        page, next_marker = paginate(summaries, marker, limit)
        return LayerList(tuple(page), next_marker)

    def list_layer_versions(
        self,
        layer_name: str,
        *,
        compatible_runtime: str | None = None,
        compatible_architecture: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> LayerVersionList:
        """ListLayerVersions: a layer's live versions, newest first. Only the owner may
        list (a layer version policy grants ``GetLayerVersion`` and nothing else)."""
        region, account, name = self._own(layer_name, "ListLayerVersions", resource_is_layer=True)
        _check_filters(compatible_runtime, compatible_architecture)
        limit = _max_items(max_items)
        with self._db.read() as conn:
            docs = LayerRows(account, region).versions(conn, name)
        versions = [
            v
            for v in (LayerVersion.from_record(region, account, name, d) for d in docs)
            if _matches(v, compatible_runtime, compatible_architecture)
        ]
        page, next_marker = paginate(versions, marker, limit)
        return LayerVersionList(tuple(page), next_marker)

    # deleting -------------------------------------------------------------------------------
    def delete_layer_version(self, layer_name: str, version_number: int) -> None:
        """DeleteLayerVersion: idempotent. Functions already using the version keep it;
        nobody can fetch it or newly reference it. Its number is never handed out again."""
        region, account, name = self._own(layer_name, "DeleteLayerVersion", version_number)
        _check_number(version_number)
        with self._db.transaction() as conn:
            LayerRows(account, region).delete_version(conn, name, version_number)

    # sharing --------------------------------------------------------------------------------
    def add_layer_version_permission(
        self,
        layer_name: str,
        version_number: int,
        statement_id: str,
        action: str,
        principal: str,
        *,
        organization_id: str | None = None,
        revision_id: str | None = None,
    ) -> dict[str, str]:
        """AddLayerVersionPermission: let an account (or ``*``, optionally only within an
        organisation) reference this version. Returns ``Statement`` and ``RevisionId``."""
        region, account, name = self._own(layer_name, "AddLayerVersionPermission", version_number)
        _check_number(version_number)
        _check_statement_id(statement_id)
        if action != "lambda:GetLayerVersion":
            raise validation_error(
                action,
                "action",
                "Member must satisfy regular expression pattern: lambda:GetLayerVersion",
            )
        if not _PRINCIPAL.match(principal):
            raise validation_error(
                principal,
                "principal",
                "Member must satisfy regular expression pattern: "
                r"\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root",
            )
        if organization_id is not None and not _ORGANIZATION.match(organization_id):
            raise validation_error(
                organization_id,
                "organizationId",
                "Member must satisfy regular expression pattern: o-[a-z]{10,32}",
            )
        arn = layer_version_arn(region, account, name, version_number)
        statement = LayerPolicyStatement(statement_id, principal, arn, organization_id)
        with self._db.transaction() as conn:
            rows = LayerRows(account, region)
            if rows.version(conn, name, version_number) is None:
                raise ResourceNotFoundException(f"Layer version {arn} does not exist.")
            records, current = rows.policy(conn, name, version_number)
            _check_policy_revision(current, revision_id)
            if any(r.get("Sid") == statement_id for r in records):
                raise ResourceConflictException(
                    f"The statement id ({statement_id}) provided already exists. Please "
                    "provide a new statement id, or remove the existing statement."
                )
            revision = self._new_id()
            rows.put_policy(conn, name, version_number, [*records, statement.to_record()], revision)
        return {
            "Statement": json.dumps(statement.to_aws(), separators=(",", ":")),
            "RevisionId": revision,
        }

    def get_layer_version_policy(self, layer_name: str, version_number: int) -> dict[str, str]:
        """GetLayerVersionPolicy: ``Policy`` (the JSON document) and ``RevisionId``."""
        region, account, name = self._own(layer_name, "GetLayerVersionPolicy", version_number)
        _check_number(version_number)
        with self._db.read() as conn:
            rows = LayerRows(account, region)
            if rows.version(conn, name, version_number) is None:
                raise ResourceNotFoundException(_NOT_FOUND)
            records, revision = rows.policy(conn, name, version_number)
        if not records:
            raise ResourceNotFoundException("No policy is associated with the given resource.")
        statements = [LayerPolicyStatement.from_record(r) for r in records]
        return {"Policy": policy_document(statements), "RevisionId": revision or ""}

    def remove_layer_version_permission(
        self,
        layer_name: str,
        version_number: int,
        statement_id: str,
        *,
        revision_id: str | None = None,
    ) -> None:
        """RemoveLayerVersionPermission: functions that already use the version keep it."""
        region, account, name = self._own(
            layer_name, "RemoveLayerVersionPermission", version_number
        )
        _check_number(version_number)
        _check_statement_id(statement_id)
        with self._db.transaction() as conn:
            rows = LayerRows(account, region)
            if rows.version(conn, name, version_number) is None:
                raise ResourceNotFoundException(_NOT_FOUND)
            records, current = rows.policy(conn, name, version_number)
            _check_policy_revision(current, revision_id)
            kept = [r for r in records if r.get("Sid") != statement_id]
            if len(kept) == len(records):
                raise ResourceNotFoundException(
                    f"Statement {statement_id} is not found in resource policy."
                )
            rows.put_policy(conn, name, version_number, kept, self._new_id() if kept else None)

    # what functions use ---------------------------------------------------------------------
    def resolve(self, arns: Sequence[str]) -> tuple[LayerReference, ...]:
        """Check a function's ``Layers`` (spec §6) and say which artifact each one is.

        In AWS's order: at most five, version ARNs only, one version per layer, the
        function's region, a version that exists, and (for another account's layer) a
        policy that grants this account.

        Raises:
            InvalidParameterValueException, ValidationException, AccessDeniedException.
        """
        if len(arns) > _MAX_LAYERS:
            raise InvalidParameterValueException("Cannot reference more than 5 layers.")
        parsed = [parse_layer_version_arn_for_function(arn, arns) for arn in arns]
        seen: dict[str, str] = {}
        for arn in arns:
            layer = arn.rsplit(":", 1)[0]
            if layer in seen:
                raise InvalidParameterValueException(
                    "Two different versions of the same layer are not allowed to be referenced "
                    f"in the same function. {seen[layer]} and {arn} are versions of the same "
                    "layer."
                )
            seen[layer] = arn
        out: list[LayerReference] = []
        with self._db.read() as conn:
            for arn, (region, account, name, number) in zip(arns, parsed, strict=True):
                if region != self.region:
                    raise InvalidParameterValueException(
                        "Layers are not in the same region as the function. Layers are "
                        f"expected to be in region {self.region}."
                    )
                doc = LayerRows(account, region).version(conn, name, number)
                if doc is None:
                    raise InvalidParameterValueException(f"Layer version {arn} does not exist.")
                if account != self.account_id:
                    self._check_granted(conn, arn, account, region, name, number)
                version = LayerVersion.from_record(region, account, name, doc)
                out.append(
                    LayerReference(
                        version.layer_version_arn,
                        version.code_size,
                        version.code_sha256_hex,
                        version.unzipped_size,
                    )
                )
        return tuple(out)

    def set_organization(self, organization_id: str | None) -> None:
        """Record which AWS Organizations organisation this account belongs to."""
        if organization_id is not None and not _ORGANIZATION.match(organization_id):
            raise InvalidParameterValueException(
                f"Organization id {organization_id!r} is not of the form o-[a-z0-9]{{10,32}}."
            )
        with self._db.transaction() as conn:
            AccountRows.put(conn, self.account_id, organization_id)

    # helpers --------------------------------------------------------------------------------
    def _own(
        self,
        layer_name: str,
        operation: str,
        version_number: int | None = None,
        *,
        resource_is_layer: bool = False,
    ) -> tuple[str, str, str]:
        """A layer the caller owns; another account's answers AccessDenied, as on AWS."""
        region, account, name = parse_layer_name(
            layer_name, region=self.region, account_id=self.account_id
        )
        if account != self.account_id:
            resource = (
                layer_version_arn(region, account, name, version_number)
                if version_number is not None and not resource_is_layer
                else f"arn:aws:lambda:{region}:{account}:layer:{name}"
            )
            raise AccessDeniedException(
                f"User: arn:aws:iam::{self.account_id}:root is not authorized to perform: "
                f"lambda:{operation} on resource: {resource}"
            )
        return region, account, name

    def _check_granted(
        self,
        conn: sqlite3.Connection,
        arn: str,
        account: str,
        region: str,
        name: str,
        number: int,
    ) -> None:
        records, _ = LayerRows(account, region).policy(conn, name, number)
        statements = [LayerPolicyStatement.from_record(r) for r in records]
        organization = AccountRows.organization(conn, self.account_id)
        if not grants(statements, self.account_id, organization):
            raise AccessDeniedException(
                f"User: arn:aws:iam::{self.account_id}:root is not authorized to perform: "
                f"lambda:GetLayerVersion on resource: {arn} because no resource-based policy "
                "allows the lambda:GetLayerVersion action"
            )

    def _located(self, version: LayerVersion) -> LayerVersion:
        location = self._artifacts.path(version.code_sha256_hex).as_uri()
        return dataclasses.replace(version, location=location)


def parse_layer_version_arn_for_function(
    arn: str, arns: Sequence[str]
) -> tuple[str, str, str, int]:
    """A function's layer ARN, with AWS's message for the whole list when one is not a
    version ARN."""
    try:
        return parse_layer_version_arn(arn)
    except Exception as exc:
        raise validation_error(
            "[" + ", ".join(arns) + "]",
            "layers",
            "Member must satisfy constraint: [Member must have length less than or equal to "
            "140, Member must have length greater than or equal to 1, Member must satisfy "
            r"regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:"
            "layer:[a-zA-Z0-9-_]+:[0-9]+, Member must not be null]",
        ) from exc


def _package(content: object) -> CodePackage:
    """Layer content: a zip (bytes, ``{"ZipFile": ...}``, a path) or a directory."""
    if isinstance(content, str) and "\n" in content:
        raise InvalidParameterValueException(
            f"Layer content cannot be source text: {_CONTENT_USAGE}."
        )
    if callable(content) and not isinstance(content, str | bytes | Mapping):
        raise InvalidParameterValueException(
            f"Layer content cannot be a function object: {_CONTENT_USAGE}."
        )
    try:
        return package_code(content, operation="PublishLayerVersion")
    except InvalidParameterValueException as exc:
        if isinstance(content, str) and "does not exist" in exc.message:
            raise InvalidParameterValueException(
                f"Layer content path does not exist: '{content}'. To give content, "
                f"{_CONTENT_USAGE}."
            ) from exc
        raise


def _validate_metadata(
    description: str,
    runtimes: Sequence[str],
    architectures: Sequence[str],
    license_info: str | None,
) -> None:
    if len(description) > 256:
        raise validation_error(
            description, "description", "Member must have length less than or equal to 256"
        )
    if len(runtimes) > 15:
        raise validation_error(
            list(runtimes),
            "compatibleRuntimes",
            "Member must have length less than or equal to 15",
        )
    for runtime in runtimes:
        if runtime not in RUNTIMES:
            raise validation_error(
                list(runtimes),
                "compatibleRuntimes",
                "Member must satisfy constraint: [Member must satisfy enum value set: "
                f"[{', '.join(RUNTIMES)}]]",
            )
    if len(architectures) > 2:
        raise validation_error(
            list(architectures),
            "compatibleArchitectures",
            "Member must have length less than or equal to 2",
        )
    for arch in architectures:
        if arch not in _ARCHITECTURES:
            raise validation_error(
                list(architectures),
                "compatibleArchitectures",
                "Member must satisfy constraint: [Member must satisfy enum value set: "
                "[x86_64, arm64]]",
            )
    if license_info is not None and len(license_info) > 512:
        raise validation_error(
            license_info, "licenseInfo", "Member must have length less than or equal to 512"
        )


def _check_filters(runtime: str | None, architecture: str | None) -> None:
    if runtime is not None and runtime not in RUNTIMES:
        raise validation_error(
            runtime,
            "compatibleRuntime",
            f"Member must satisfy enum value set: [{', '.join(RUNTIMES)}]",
        )
    if architecture is not None and architecture not in _ARCHITECTURES:
        raise validation_error(
            architecture,
            "compatibleArchitecture",
            "Member must satisfy enum value set: [x86_64, arm64]",
        )


def _matches(version: LayerVersion, runtime: str | None, architecture: str | None) -> bool:
    return (runtime is None or runtime in version.compatible_runtimes) and (
        architecture is None or architecture in version.compatible_architectures
    )


def _max_items(max_items: int | None) -> int:
    if max_items is not None and max_items > 50:
        raise validation_error(
            max_items, "maxItems", "Member must have value less than or equal to 50"
        )
    return page_size(max_items, 50)


def _check_number(number: int) -> None:
    if number < 1:
        raise InvalidParameterValueException("Layer Version Cannot be less than 1")


def _check_statement_id(statement_id: str) -> None:
    if not _STATEMENT_ID.match(statement_id):
        raise validation_error(
            statement_id,
            "statementId",
            "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)",
        )


def _check_policy_revision(current: str | None, expected: str | None) -> None:
    if expected is not None and expected != current:
        raise PreconditionFailedException(
            "The Revision Id provided does not match the latest Revision Id. Call the "
            "GetLayerPolicy API to retrieve the latest Revision Id"
        )
