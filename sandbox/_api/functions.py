"""The function, version and alias operations of :class:`~sandbox.Sandbox` (spec §5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sandbox.core.models import (
    AliasConfiguration,
    AliasList,
    FunctionConfiguration,
    FunctionList,
    GetFunctionResult,
    VersionList,
)

if TYPE_CHECKING:
    from sandbox._sandbox import _Shared
    from sandbox.service.functions import FunctionService
    from sandbox.service.invoke import InvokeService

__all__ = ["FunctionsAPI"]


class FunctionsAPI:
    """CreateFunction ... DeleteAlias: Lambda's control plane, in snake_case."""

    _functions: FunctionService
    _shared: _Shared

    def _invoke_service(self) -> InvokeService:  # provided by Sandbox
        raise NotImplementedError

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
            layers: up to five layer *version* ARNs, extracted in order under ``/opt``.
            package_type: ``"Zip"`` (default) or ``"Image"``: then ``code`` is
                ``{"ImageUri": path}`` (or a path) naming a local image — a directory with
                a ``Dockerfile`` (``FROM public.ecr.aws/lambda/python:3.x``), an OCI image
                layout, or a plain directory — and ``runtime``, ``handler`` and ``layers``
                are refused, as on AWS.
            image_config: an image function's ``{"Command": [...], "EntryPoint": [...],
                "WorkingDirectory": ...}`` overriding the image's CMD, ENTRYPOINT, WORKDIR.
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
            image_config=image_config,
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
        image_uri: str | None = None,
    ) -> FunctionConfiguration:
        """UpdateFunctionCode of ``$LATEST``; ``code`` takes what ``create_function`` does
        (an image function: ``image_uri``, resolved and snapshotted again)."""
        return self._functions.update_function_code(
            function_name,
            code,
            zip_file=zip_file,
            publish=publish,
            dry_run=dry_run,
            revision_id=revision_id,
            architectures=architectures,
            image_uri=image_uri,
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

    # tags ---------------------------------------------------------------------------------
    def tag_resource(self, resource: str, tags: Mapping[str, str]) -> None:
        """Add or overwrite tags of a function (``resource``: its unqualified ARN)."""
        self._functions.tag_resource(resource, tags)

    def untag_resource(self, resource: str, tag_keys: Sequence[str]) -> None:
        """Remove tags of a function by key."""
        self._functions.untag_resource(resource, tag_keys)

    def list_tags(self, resource: str) -> dict[str, dict[str, str]]:
        """A function's tags: ``{"Tags": {...}}``, as boto3's ``list_tags``."""
        return self._functions.list_tags(resource)
