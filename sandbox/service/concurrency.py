"""The concurrency control plane: reserved and provisioned concurrency, account settings.

``PutFunctionConcurrency`` / ``Get`` / ``Delete`` (function-level), the four provisioned
concurrency operations (per alias or published version) and ``GetAccountSettings``, with
every rule and message of spec §4. What the settings *do* at invoke time is admission's
job (:mod:`~sandbox.service.admission`) and the provisioned environments are kept by
:mod:`~sandbox.service.provisioned`; both hear about changes through the change events.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.core.arns import LATEST, QualifierKind, function_arn, qualifier_kind
from sandbox.core.concurrency import AccountLimits
from sandbox.core.models import AliasConfiguration, FunctionConfiguration
from sandbox.errors import (
    InvalidParameterValueException,
    ProvisionedConcurrencyConfigNotFoundException,
    ResourceConflictException,
    ResourceNotFoundException,
    validation_error,
)
from sandbox.service.scope import FunctionScope

__all__ = [
    "AccountSettings",
    "ConcurrencyMixin",
    "FunctionConcurrency",
    "ProvisionedConcurrencyConfig",
    "ProvisionedConcurrencyConfigList",
]

JsonDict = dict[str, object]
# live state of a provisioned config: (allocated environments, status, status reason)
ProvisionedProbe = Callable[[str, str, str], "tuple[int, str, str | None] | None"]


@dataclass(frozen=True, slots=True)
class FunctionConcurrency:
    """The answer of Put/GetFunctionConcurrency (``None``: no reservation)."""

    reserved_concurrent_executions: int | None

    def to_aws(self) -> JsonDict:
        if self.reserved_concurrent_executions is None:
            return {}
        return {"ReservedConcurrentExecutions": self.reserved_concurrent_executions}


@dataclass(frozen=True, slots=True)
class ProvisionedConcurrencyConfig:
    """A provisioned concurrency config and where its allocation stands."""

    requested_provisioned_concurrent_executions: int
    available_provisioned_concurrent_executions: int
    allocated_provisioned_concurrent_executions: int
    status: str
    last_modified: str
    status_reason: str | None = None
    function_arn: str | None = None

    def to_aws(self) -> JsonDict:
        out: JsonDict = {}
        if self.function_arn:
            out["FunctionArn"] = self.function_arn
        out.update(
            RequestedProvisionedConcurrentExecutions=self.requested_provisioned_concurrent_executions,
            AvailableProvisionedConcurrentExecutions=self.available_provisioned_concurrent_executions,
            AllocatedProvisionedConcurrentExecutions=self.allocated_provisioned_concurrent_executions,
            Status=self.status,
            LastModified=self.last_modified,
        )
        if self.status_reason:
            out["StatusReason"] = self.status_reason
        return out


@dataclass(frozen=True, slots=True)
class ProvisionedConcurrencyConfigList:
    provisioned_concurrency_configs: tuple[ProvisionedConcurrencyConfig, ...]
    next_marker: str | None = None

    def to_aws(self) -> JsonDict:
        out: JsonDict = {
            "ProvisionedConcurrencyConfigs": [
                c.to_aws() for c in self.provisioned_concurrency_configs
            ]
        }
        if self.next_marker:
            out["NextMarker"] = self.next_marker
        return out


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """GetAccountSettings: the account's limits and usage (spec §4, §10)."""

    concurrent_executions: int
    unreserved_concurrent_executions: int
    total_code_size_used: int
    function_count: int
    total_code_size: int = 80_530_636_800
    code_size_unzipped: int = 262_144_000
    code_size_zipped: int = 52_428_800

    def to_aws(self) -> JsonDict:
        return {
            "AccountLimit": {
                "TotalCodeSize": self.total_code_size,
                "CodeSizeUnzipped": self.code_size_unzipped,
                "CodeSizeZipped": self.code_size_zipped,
                "ConcurrentExecutions": self.concurrent_executions,
                "UnreservedConcurrentExecutions": self.unreserved_concurrent_executions,
            },
            "AccountUsage": {
                "TotalCodeSize": self.total_code_size_used,
                "FunctionCount": self.function_count,
            },
        }


_FUNCTIONS_ONLY = (
    "This operation is permitted on Lambda functions only. Aliases and versions do not "
    "support this operation. Please specify either a function name or an unqualified "
    "function ARN."
)
_UNPUBLISHED = "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
_ALIAS_OR_VERSION = "The function resource provided must be an alias or a published version."
_NO_CONFIG = "No Provisioned Concurrency Config found for this function"


class ConcurrencyMixin(FunctionScope):
    """The concurrency operations of :class:`~sandbox.service.functions.FunctionService`."""

    limits: AccountLimits = AccountLimits()
    provisioned_probe: ProvisionedProbe | None = None

    # reserved concurrency ---------------------------------------------------------------
    def put_function_concurrency(
        self, function_name: str, reserved_concurrent_executions: int
    ) -> FunctionConcurrency:
        """PutFunctionConcurrency: reserve (and cap) the function's concurrency."""
        ref = self._ref(function_name, namespaced=False)
        if ref.qualifier is not None:
            raise InvalidParameterValueException(_FUNCTIONS_ONLY)
        value = reserved_concurrent_executions
        if value < 0:
            raise validation_error(
                value,
                "reservedConcurrentExecutions",
                "Member must have value greater than or equal to 0",
            )
        with self._db.transaction() as conn:
            self._latest(conn, ref)
            rows = self._rows_for(ref)
            others = {n: r for n, r in rows.all_reserved(conn).items() if n != ref.name}
            minimum = self.limits.unreserved_minimum
            if self.limits.concurrent_executions - sum(others.values()) - value < minimum:
                # spec §4: the unreserved pool keeps its minimum
                raise InvalidParameterValueException(
                    "Specified ReservedConcurrentExecutions for function decreases account's "
                    f"UnreservedConcurrentExecution below its minimum value of [{minimum}]."
                )
            provisioned = sum(n for _, _, n, _ in rows.provisioned(conn, ref.name))
            if value < provisioned:
                raise InvalidParameterValueException(
                    f" ReservedConcurrentExecutions  {value} should not be lower than "
                    f"function's total provisioned concurrency [{provisioned}]."
                )
            rows.set_reserved(conn, ref.name, value)
        self._emit("concurrency", ref)
        return FunctionConcurrency(value)

    def get_function_concurrency(self, function_name: str) -> FunctionConcurrency:
        """GetFunctionConcurrency (no field when nothing is reserved)."""
        ref = self._ref(function_name, namespaced=False)
        if ref.qualifier is not None:
            raise InvalidParameterValueException(_FUNCTIONS_ONLY)
        with self._db.read() as conn:
            self._latest(conn, ref)
            return FunctionConcurrency(self._rows_for(ref).reserved(conn, ref.name))

    def delete_function_concurrency(self, function_name: str) -> None:
        """DeleteFunctionConcurrency: back to the unreserved pool."""
        ref = self._ref(function_name, namespaced=False)
        if ref.qualifier is not None:
            raise InvalidParameterValueException(_FUNCTIONS_ONLY)
        with self._db.transaction() as conn:
            self._latest(conn, ref)
            rows = self._rows_for(ref)
            if rows.provisioned(conn, ref.name):
                # the provisioned concurrency must then fit in the unreserved pool
                self._check_unreserved_fit(conn, ref.name, 0, dropping_reservation=True)
            rows.set_reserved(conn, ref.name, None)
        self._emit("concurrency", ref)

    # provisioned concurrency ------------------------------------------------------------
    def _provisioned_target(
        self, conn: sqlite3.Connection, function_name: str, qualifier: str | None, *, put: bool
    ) -> tuple[str, str, FunctionConfiguration, AliasConfiguration | None]:
        """(function, qualifier, version config, alias) of a provisioned config's target."""
        if qualifier is None or qualifier == LATEST:
            raise InvalidParameterValueException(_UNPUBLISHED if put else _ALIAS_OR_VERSION)
        ref = self._ref(function_name, qualifier, namespaced=False)
        latest = self._latest(conn, ref)
        rows = self._rows_for(ref)
        assert ref.qualifier is not None
        if qualifier_kind(ref.qualifier) is QualifierKind.VERSION:
            config = self._version_config(conn, rows, ref, ref.qualifier, latest)
            return ref.name, ref.qualifier, config, None
        doc = rows.alias(conn, ref.name, ref.qualifier)
        if doc is None:
            raise ResourceNotFoundException(f"Function not found: {ref.arn}")
        alias = AliasConfiguration.from_aws(doc)
        if alias.function_version == LATEST:
            raise InvalidParameterValueException(_UNPUBLISHED if put else _ALIAS_OR_VERSION)
        config = self._version_config(conn, rows, ref, alias.function_version, latest)
        return ref.name, ref.qualifier, config, alias

    def _check_unreserved_fit(
        self, conn: sqlite3.Connection, name: str, extra: int, *, dropping_reservation: bool = False
    ) -> None:
        rows = self._rows
        reserved = rows.all_reserved(conn)
        if dropping_reservation:
            reserved.pop(name, None)
        carved = sum(n for fn, _, n, _ in rows.provisioned(conn) if fn not in reserved)
        free = self.limits.concurrent_executions - sum(reserved.values())
        if carved + extra > free - self.limits.unreserved_minimum:
            # spec §4: provisioned concurrency must fit in the unreserved pool
            raise InvalidParameterValueException(
                "Requested Provisioned Concurrency exceeds the account's unreserved "
                f"concurrency: {free - self.limits.unreserved_minimum - carved} can still be "
                f"provisioned while keeping the minimum of {self.limits.unreserved_minimum} "
                "unreserved."
            )

    def put_provisioned_concurrency_config(
        self, function_name: str, qualifier: str, provisioned_concurrent_executions: int
    ) -> ProvisionedConcurrencyConfig:
        """PutProvisionedConcurrencyConfig: keep environments initialised for an alias or a
        published version. Answers at once with ``IN_PROGRESS``; the environments start in
        the background and the status becomes ``READY`` when all have finished INIT."""
        count = provisioned_concurrent_executions
        if count < 1:
            raise validation_error(
                count,
                "provisionedConcurrentExecutions",
                "Member must have value greater than or equal to 1",
            )
        with self._db.transaction() as conn:
            name, qualifier, _, alias = self._provisioned_target(
                conn, function_name, qualifier, put=True
            )
            if alias is not None and alias.additional_version_weights:
                raise InvalidParameterValueException(
                    "Alias with weights can not be used with Provisioned Concurrency"
                )
            rows = self._rows
            existing = {q: n for _, q, n, _ in rows.provisioned(conn, name)}
            aliases = {
                a.name: a for a in map(AliasConfiguration.from_aws, rows.aliases(conn, name))
            }
            if alias is not None and alias.function_version in existing:
                raise ResourceConflictException(
                    "Alias can't be used for Provisioned Concurrency configuration on an "
                    "already Provisioned version"
                )
            if alias is None and any(
                q in aliases and aliases[q].function_version == qualifier for q in existing
            ):
                raise ResourceConflictException(
                    "Version is pointed by a Provisioned Concurrency alias"
                )
            others = sum(n for q, n in existing.items() if q != qualifier)
            reserved = rows.reserved(conn, name)
            if reserved is not None:
                if others + count > reserved:
                    raise InvalidParameterValueException(
                        "Requested Provisioned Concurrency should not be greater than the "
                        "reservedConcurrentExecution for function"
                    )
            else:
                self._check_unreserved_fit(conn, name, count - existing.get(qualifier, 0))
            modified = self._now()
            rows.put_provisioned(conn, name, qualifier, count, modified)
        self._emit("provisioned", self._ref(name, namespaced=False), qualifier)
        return self._config_view(name, qualifier, count, modified, with_arn=False)

    def _config_view(
        self, name: str, qualifier: str, requested: int, modified: str, *, with_arn: bool
    ) -> ProvisionedConcurrencyConfig:
        probe = self.provisioned_probe
        live = probe(self.account_id, name, qualifier) if probe is not None else None
        allocated, status, reason = live if live is not None else (0, "IN_PROGRESS", None)
        arn = function_arn(self.region, self.account_id, name, qualifier) if with_arn else None
        return ProvisionedConcurrencyConfig(
            requested, allocated, allocated, status, modified, reason, arn
        )

    def get_provisioned_concurrency_config(
        self, function_name: str, qualifier: str
    ) -> ProvisionedConcurrencyConfig:
        """GetProvisionedConcurrencyConfig."""
        with self._db.read() as conn:
            name, qualifier, _, _ = self._provisioned_target(
                conn, function_name, qualifier, put=False
            )
            found = [r for r in self._rows.provisioned(conn, name) if r[1] == qualifier]
        if not found:
            raise ProvisionedConcurrencyConfigNotFoundException(_NO_CONFIG)
        _, _, requested, modified = found[0]
        return self._config_view(name, qualifier, requested, modified, with_arn=False)

    def delete_provisioned_concurrency_config(self, function_name: str, qualifier: str) -> None:
        """DeleteProvisionedConcurrencyConfig: its environments shut down."""
        with self._db.transaction() as conn:
            name, qualifier, _, _ = self._provisioned_target(
                conn, function_name, qualifier, put=False
            )
            if not any(r[1] == qualifier for r in self._rows.provisioned(conn, name)):
                raise ProvisionedConcurrencyConfigNotFoundException(_NO_CONFIG)
            self._rows.delete_provisioned(conn, name, qualifier)
        self._emit("provisioned", self._ref(name, namespaced=False), qualifier)

    def list_provisioned_concurrency_configs(
        self, function_name: str, *, marker: str | None = None, max_items: int | None = None
    ) -> ProvisionedConcurrencyConfigList:
        """ListProvisionedConcurrencyConfigs of a function (50 per page)."""
        ref = self._ref(function_name, namespaced=False)
        self._unqualified(ref, "ListProvisionedConcurrencyConfigs")
        limit = self._page_size(max_items, 50)
        with self._db.read() as conn:
            self._latest(conn, ref)
            rows = self._rows_for(ref).provisioned(conn, ref.name)
        configs = [self._config_view(n, q, r, m, with_arn=True) for n, q, r, m in rows]
        page, next_marker = self._paginate(configs, marker, limit)
        return ProvisionedConcurrencyConfigList(tuple(page), next_marker)

    # account ----------------------------------------------------------------------------
    def get_account_settings(self) -> AccountSettings:
        """GetAccountSettings: limits (the quota and what is unreserved) and usage."""
        with self._db.read() as conn:
            reserved = sum(self._rows.all_reserved(conn).values())
            names = self._rows.names(conn)
            total = 0
            for name in names:
                latest = self._rows.latest(conn, name)
                size = latest.get("CodeSize") if latest else 0
                total += size if isinstance(size, int) else 0
                for version in self._rows.versions(conn, name):
                    size = version.get("CodeSize")
                    total += size if isinstance(size, int) else 0
        quota = self.limits.concurrent_executions
        return AccountSettings(quota, quota - reserved, total, len(names))
