"""Concurrency settings from :class:`~sandbox.Sandbox`: reserved and provisioned concurrency
and the account's limits (spec §4). boto3: ``put_function_concurrency`` ..."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.service.concurrency import (
    AccountSettings,
    FunctionConcurrency,
    ProvisionedConcurrencyConfig,
    ProvisionedConcurrencyConfigList,
)

if TYPE_CHECKING:
    from sandbox._sandbox import _Shared
    from sandbox.service.functions import FunctionService

__all__ = ["ConcurrencyAPI"]


class ConcurrencyAPI:
    """Reserved concurrency, provisioned concurrency, account settings."""

    _functions: FunctionService
    _shared: _Shared

    def put_function_concurrency(
        self, function_name: str, reserved_concurrent_executions: int
    ) -> FunctionConcurrency:
        """PutFunctionConcurrency: reserve concurrency for the function — a guarantee and a
        cap; ``0`` throttles every request. 10 % of the account quota (AWS: 100 of 1,000)
        must stay unreserved."""
        return self._functions.put_function_concurrency(
            function_name, reserved_concurrent_executions
        )

    def get_function_concurrency(self, function_name: str) -> FunctionConcurrency:
        """GetFunctionConcurrency (``reserved_concurrent_executions`` is None when unset)."""
        return self._functions.get_function_concurrency(function_name)

    def delete_function_concurrency(self, function_name: str) -> None:
        """DeleteFunctionConcurrency: the function goes back to the unreserved pool."""
        self._functions.delete_function_concurrency(function_name)

    def put_provisioned_concurrency_config(
        self, function_name: str, qualifier: str, provisioned_concurrent_executions: int
    ) -> ProvisionedConcurrencyConfig:
        """PutProvisionedConcurrencyConfig: keep ``provisioned_concurrent_executions``
        environments of an alias or published version initialised ahead of time
        (``AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency``). The answer says
        ``IN_PROGRESS``; the status becomes ``READY`` once they have all finished INIT."""
        self._shared.engine()  # provisioned environments need the runtime
        return self._functions.put_provisioned_concurrency_config(
            function_name, qualifier, provisioned_concurrent_executions
        )

    def get_provisioned_concurrency_config(
        self, function_name: str, qualifier: str
    ) -> ProvisionedConcurrencyConfig:
        """GetProvisionedConcurrencyConfig: requested, allocated and available, status."""
        return self._functions.get_provisioned_concurrency_config(function_name, qualifier)

    def delete_provisioned_concurrency_config(self, function_name: str, qualifier: str) -> None:
        """DeleteProvisionedConcurrencyConfig: its environments shut down."""
        self._functions.delete_provisioned_concurrency_config(function_name, qualifier)

    def list_provisioned_concurrency_configs(
        self, function_name: str, *, marker: str | None = None, max_items: int | None = None
    ) -> ProvisionedConcurrencyConfigList:
        """ListProvisionedConcurrencyConfigs of a function."""
        return self._functions.list_provisioned_concurrency_configs(
            function_name, marker=marker, max_items=max_items
        )

    def get_account_settings(self) -> AccountSettings:
        """GetAccountSettings: the concurrency quota, what is unreserved, and code usage."""
        return self._functions.get_account_settings()

    def wait_for_provisioned_concurrency(
        self, function_name: str, qualifier: str, timeout: float = 30.0
    ) -> ProvisionedConcurrencyConfig:
        """Wait (real seconds) until the config is ``READY`` (or ``FAILED``), like boto3's
        waiter ``published_version_active``/polling ``get_provisioned_concurrency_config``."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            config = self.get_provisioned_concurrency_config(function_name, qualifier)
            if config.status != "IN_PROGRESS" or time.monotonic() >= deadline:
                return config
            time.sleep(0.01)
