"""Aliases: names for versions, with weighted routing to one extra version (spec §5)."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Mapping

from sandbox.core.arns import LATEST, FunctionRef, alias_arn, validate_alias_name
from sandbox.core.models import AliasConfiguration, AliasList, FunctionConfiguration
from sandbox.core.validation import validate_description, validate_routing_weights
from sandbox.errors import (
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
    validation_error,
)
from sandbox.service.scope import FunctionScope

__all__ = ["AliasesMixin"]


class AliasesMixin(FunctionScope):
    """The alias operations of :class:`~sandbox.service.functions.FunctionService`."""

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
        page, next_marker = self._paginate(aliases, marker, limit)
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
            rows = self._rows_for(ref)
            rows.delete_alias(conn, ref.name, name)
            rows.delete_provisioned(conn, ref.name, name)  # its provisioned config goes too
            rows.delete_event_config(conn, ref.name, name)  # and its async settings
        self._emit("alias", ref)

    # code -------------------------------------------------------------------------------
