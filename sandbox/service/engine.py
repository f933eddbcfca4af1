"""The data plane of one sandbox, assembled: launcher, environments, admission, provisioned
concurrency.

Created on the first invocation (starting processes is not something ``import sandbox``
or ``Sandbox()`` should do), shared by every account handle of the sandbox, and closed
with it. It listens to control-plane changes: code and configuration updates retire
environments, provisioned-concurrency and alias changes re-shape the provisioned pools,
and reserved concurrency changes reach admission through the store.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sandbox.core.clock import Clock
from sandbox.core.concurrency import AccountLimits
from sandbox.core.hostlimits import HostLimits
from sandbox.core.models import FunctionConfiguration
from sandbox.runtime.isolation import Isolation
from sandbox.runtime.launcher import default_launcher
from sandbox.service.admission import Admission, PoolSizes
from sandbox.service.capacity import EnvironmentCapacity
from sandbox.service.environments import RuntimeDeps
from sandbox.service.functions import FunctionChange
from sandbox.service.pool import EnvironmentManager
from sandbox.service.provisioned import ProvisionedConcurrency, provisioned_targets
from sandbox.service.scheduler import Scheduler
from sandbox.service.telemetry import TelemetryBus
from sandbox.store.artifacts import ArtifactStore
from sandbox.store.db import Database
from sandbox.store.functions import FunctionRows

__all__ = ["Engine"]


class Engine:
    """Everything that runs functions, for one sandbox (one region, any account)."""

    def __init__(
        self,
        *,
        db: Database,
        artifacts: ArtifactStore,
        bus: TelemetryBus,
        clock: Clock,
        scheduler: Scheduler,
        home: Path,
        region: str,
        limits: AccountLimits,
        keep_alive: float,
        start_method: str | None,
        isolation: str | None,
        host_limits: HostLimits | None = None,
    ) -> None:
        host = host_limits or HostLimits()
        self.host_limits = host
        self._db = db
        self._artifacts = artifacts
        self.region = region
        self.limits = limits
        self.launcher = default_launcher(start_method)
        envs_dir = home / "environments"
        envs_dir.mkdir(parents=True, exist_ok=True)
        deps = RuntimeDeps(
            launcher=self.launcher,
            bus=bus,
            clock=clock,
            envs_dir=envs_dir,
            region=region,
            code_path=self._code_path,
            isolation=Isolation(isolation),
            opt_path=self._opt_path,
            address_space_mb=host.max_address_space_mb,
        )
        self.admission = Admission(
            limits, clock, bus, sizes=self.sizes, provisioned_ready=self._provisioned_ready
        )
        capacity = None
        if host.max_environments is not None:
            capacity = EnvironmentCapacity(
                host.max_environments, bus, self.admission.refuse_capacity
            )
        self.envs = EnvironmentManager(
            deps,
            scheduler,
            keep_alive=keep_alive,
            scaling_gate=self._scaling_gate,
            capacity=capacity,
        )
        self.provisioned = ProvisionedConcurrency(self.envs)
        self._sizes: dict[str, PoolSizes] = {}
        self._sizes_stamp: tuple[int, int] = (-1, -1)
        self._lock = threading.Lock()

    def _code_path(self, config: FunctionConfiguration) -> Path:
        """The version's ``/var/task``: its zip's extraction, or its image's ``var/task``."""
        tree = self._artifacts.extracted(config.code_sha256_hex)
        if config.package_type == "Image":
            return _image_part(tree, "var/task", self._artifacts.root)
        return tree

    def _opt_path(self, config: FunctionConfiguration) -> Path | None:
        """The version's ``/opt``: its layers merged in order (once, then shared), or its
        image's ``opt``."""
        if config.package_type == "Image":
            opt = self._artifacts.extracted(config.code_sha256_hex) / "opt"
            return opt if opt.is_dir() else None
        return self._artifacts.layered(
            [layer.code_sha256_hex for layer in config.layers if layer.code_sha256_hex]
        )

    def _provisioned_ready(self, account_id: str, function_name: str, qualifier: str) -> int:
        return self.provisioned.ready(account_id, function_name, qualifier)

    def _scaling_gate(
        self, account_id: str, function_name: str, request_id: str, qualifier: str | None
    ) -> None:
        self.admission.take_scaling_token(
            account_id,
            function_name,
            request_id=request_id,
            qualifier=qualifier,
            invocation_type="RequestResponse",
        )

    def sizes(self, account_id: str) -> PoolSizes:
        """Reserved and provisioned concurrency of an account, from the store (cached until
        the store changes)."""
        stamp = self._db.stamp()
        with self._lock:
            if stamp != self._sizes_stamp:
                self._sizes, self._sizes_stamp = {}, stamp
            cached = self._sizes.get(account_id)
        if cached is not None:
            return cached
        rows = FunctionRows((account_id, self.region))
        with self._db.read() as conn:
            reserved = rows.all_reserved(conn)
            provisioned: dict[str, dict[str, int]] = {}
            for name, qualifier, requested, _ in rows.provisioned(conn):
                provisioned.setdefault(name, {})[qualifier] = requested
        sizes = PoolSizes(reserved, provisioned)
        with self._lock:
            self._sizes[account_id] = sizes
        return sizes

    def on_change(self, change: FunctionChange) -> None:
        """Keep the environments in step with the control plane."""
        self.envs.on_change(change)
        if change.kind in ("provisioned", "alias", "deleted", "version-deleted"):
            self.sync_provisioned(change.account_id, change.function_name)

    def sync_provisioned(self, account_id: str, function_name: str) -> None:
        targets = provisioned_targets(self._db, account_id, self.region, function_name)
        self.provisioned.sync(account_id, function_name, targets)

    def start_provisioned(self) -> None:
        """Allocate the provisioned environments of every stored config (a sandbox reopened
        after a kernel restart gets them back)."""
        with self._db.read() as conn:
            found = conn.execute(
                "SELECT DISTINCT account, name FROM provisioned WHERE region=?", (self.region,)
            ).fetchall()
        for account_id, name in found:
            self.sync_provisioned(str(account_id), str(name))

    def close(self) -> None:
        self.provisioned.close()
        self.envs.close()
        self.launcher.close()


def _image_part(tree: Path, part: str, root: Path) -> Path:
    """A directory of an extracted image (an empty one when the image has nothing there)."""
    found = tree / part
    if found.is_dir():
        return found
    empty = root / "empty"
    empty.mkdir(exist_ok=True)
    return empty
