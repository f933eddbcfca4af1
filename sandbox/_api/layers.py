"""The layer operations of :class:`~sandbox.Sandbox` (spec §6), as boto3 names them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sandbox.core.layers import LayerList, LayerVersion, LayerVersionList

if TYPE_CHECKING:
    from sandbox.service.functions import FunctionService

__all__ = ["LayersAPI"]


class LayersAPI:
    """PublishLayerVersion ... RemoveLayerVersionPermission.

    A layer is a zip extracted under ``/opt`` of every function that references one of its
    versions; Python packages go under ``python/`` in it. Layers are private to the
    account that publishes them until a version is shared with
    :meth:`add_layer_version_permission`; act as another account with
    :meth:`~sandbox.Sandbox.for_account`.
    """

    _functions: FunctionService

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
        """PublishLayerVersion: a new, immutable, numbered version — every call, even with
        the same content; numbers are never reused.

        Args:
            layer_name: ``[a-zA-Z0-9-_]+``, or this account's layer ARN.
            content: boto3's ``{"ZipFile": bytes}``, zip ``bytes``, or a path to a ``.zip``
                or to a directory (zipped as it is: ``python/mylib/...`` becomes
                ``/opt/python/mylib/...``).
            compatible_runtimes, compatible_architectures, license_info: metadata that
                :meth:`list_layers` can filter on (Lambda does not enforce them).

        Returns:
            The version; ``layer_version_arn`` is what functions reference.
        """
        return self._functions.layer_service.publish_layer_version(
            layer_name,
            content,
            description=description,
            compatible_runtimes=compatible_runtimes,
            compatible_architectures=compatible_architectures,
            license_info=license_info,
        )

    def get_layer_version(self, layer_name: str, version_number: int) -> LayerVersion:
        """GetLayerVersion, by layer name (or layer ARN, for a shared layer) and number."""
        return self._functions.layer_service.get_layer_version(layer_name, version_number)

    def get_layer_version_by_arn(self, arn: str) -> LayerVersion:
        """GetLayerVersionByArn, by layer version ARN."""
        return self._functions.layer_service.get_layer_version_by_arn(arn)

    def list_layers(
        self,
        *,
        compatible_runtime: str | None = None,
        compatible_architecture: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> LayerList:
        """ListLayers: each of this account's layers with its latest matching version."""
        return self._functions.layer_service.list_layers(
            compatible_runtime=compatible_runtime,
            compatible_architecture=compatible_architecture,
            marker=marker,
            max_items=max_items,
        )

    def list_layer_versions(
        self,
        layer_name: str,
        *,
        compatible_runtime: str | None = None,
        compatible_architecture: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> LayerVersionList:
        """ListLayerVersions: a layer's versions, newest first."""
        return self._functions.layer_service.list_layer_versions(
            layer_name,
            compatible_runtime=compatible_runtime,
            compatible_architecture=compatible_architecture,
            marker=marker,
            max_items=max_items,
        )

    def delete_layer_version(self, layer_name: str, version_number: int) -> None:
        """DeleteLayerVersion (idempotent). Functions already using it keep working."""
        self._functions.layer_service.delete_layer_version(layer_name, version_number)

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
        """AddLayerVersionPermission: share a version with an account id, ``*`` (everyone),
        or ``*`` within ``organization_id``. ``action`` must be ``lambda:GetLayerVersion``.

        Returns:
            ``{"Statement": <JSON>, "RevisionId": ...}``.
        """
        return self._functions.layer_service.add_layer_version_permission(
            layer_name,
            version_number,
            statement_id,
            action,
            principal,
            organization_id=organization_id,
            revision_id=revision_id,
        )

    def get_layer_version_policy(self, layer_name: str, version_number: int) -> dict[str, str]:
        """GetLayerVersionPolicy: ``{"Policy": <JSON document>, "RevisionId": ...}``."""
        return self._functions.layer_service.get_layer_version_policy(layer_name, version_number)

    def remove_layer_version_permission(
        self,
        layer_name: str,
        version_number: int,
        statement_id: str,
        *,
        revision_id: str | None = None,
    ) -> None:
        """RemoveLayerVersionPermission. Functions that already use the version keep it."""
        self._functions.layer_service.remove_layer_version_permission(
            layer_name, version_number, statement_id, revision_id=revision_id
        )
