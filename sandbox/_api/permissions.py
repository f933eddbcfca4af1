"""From :class:`~sandbox.Sandbox`: a function's resource-based policy, the permission push
triggers need (spec §8.1): ``add_permission``, ``get_policy``, ``remove_permission``.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sandbox.service.permissions import PermissionService

if TYPE_CHECKING:
    from sandbox._sandbox import _Shared

__all__ = ["PermissionsAPI"]


class PermissionsAPI:
    """``add_permission``, ``get_policy`` and ``remove_permission``, named as boto3's."""

    _shared: _Shared
    account_id: str
    region: str

    @cached_property
    def _permissions(self) -> PermissionService:
        return PermissionService(self._shared.db, account_id=self.account_id, region=self.region)

    def add_permission(
        self,
        function_name: str,
        statement_id: str,
        action: str,
        principal: str,
        *,
        source_arn: str | None = None,
        source_account: str | None = None,
        event_source_token: str | None = None,
        qualifier: str | None = None,
        revision_id: str | None = None,
        principal_org_id: str | None = None,
        function_url_auth_type: str | None = None,
    ) -> dict[str, str]:
        """Let a service or an account invoke the function (or the version or alias
        ``qualifier`` names): add a statement to its resource-based policy.

        Args:
            statement_id: the statement's ``Sid``, unique in the policy.
            action: ``lambda:InvokeFunction`` (what triggers need), ``lambda:*`` ...
            principal: a service (``s3.amazonaws.com``, ``sns.amazonaws.com``,
                ``events.amazonaws.com``), an account id, an IAM ARN or ``*``.
            source_arn: only on behalf of this resource (wildcards allowed: ``ArnLike``).
            source_account: only on behalf of resources of this account.

        Returns:
            ``{"Statement": <the statement, JSON text>}``.

        Example:
            >>> sb.add_permission(  # doctest: +SKIP
            ...     "thumbnails", "s3-invoke", "lambda:InvokeFunction", "s3.amazonaws.com",
            ...     source_arn="arn:aws:s3:::photos", source_account=sb.account_id,
            ... )
        """
        return self._permissions.add_permission(
            function_name,
            statement_id,
            action,
            principal,
            source_arn=source_arn,
            source_account=source_account,
            event_source_token=event_source_token,
            qualifier=qualifier,
            revision_id=revision_id,
            principal_org_id=principal_org_id,
            function_url_auth_type=function_url_auth_type,
        )

    def get_policy(self, function_name: str, qualifier: str | None = None) -> dict[str, str]:
        """The function's (or version's, or alias's) resource-based policy:
        ``{"Policy": <the document, JSON text>, "RevisionId"}``."""
        return self._permissions.get_policy(function_name, qualifier)

    def remove_permission(
        self,
        function_name: str,
        statement_id: str,
        qualifier: str | None = None,
        revision_id: str | None = None,
    ) -> None:
        """Remove one statement from the function's (or version's, or alias's) policy."""
        self._permissions.remove_permission(function_name, statement_id, qualifier, revision_id)
