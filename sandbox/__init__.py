"""lambda-sandbox: AWS Lambda's model, run locally, faithfully and visibly.

>>> from sandbox import Sandbox
>>> sb = Sandbox.ephemeral()

``%load_ext sandbox`` in a notebook registers the ``%lambda`` magics (imported lazily, so
``import sandbox`` loads no IPython, ipywidgets or matplotlib).
"""

from __future__ import annotations

from typing import Any

from sandbox import errors
from sandbox._sandbox import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, Sandbox, default_home
from sandbox.core.arns import LATEST
from sandbox.core.clock import Clock, FakeClock, RealClock, ScaledClock
from sandbox.core.layers import LayerList, LayerSummary, LayerVersion, LayerVersionList
from sandbox.core.models import (
    AliasConfiguration,
    AliasList,
    FunctionConfiguration,
    FunctionList,
    GetFunctionResult,
    VersionList,
)
from sandbox.errors import LambdaError, SandboxError

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_REGION",
    "LATEST",
    "AliasConfiguration",
    "AliasList",
    "Clock",
    "FakeClock",
    "FunctionConfiguration",
    "FunctionList",
    "GetFunctionResult",
    "LambdaError",
    "LayerList",
    "LayerSummary",
    "LayerVersion",
    "LayerVersionList",
    "RealClock",
    "Sandbox",
    "SandboxError",
    "ScaledClock",
    "VersionList",
    "__version__",
    "default_home",
    "errors",
    "load_ipython_extension",
    "unload_ipython_extension",
]

__version__ = "0.1.0"


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext sandbox``: register the ``%lambda`` magics."""
    from sandbox.notebook.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext sandbox``: remove what :func:`load_ipython_extension` registered."""
    from sandbox.notebook.magics import unload_ipython_extension as unload

    unload(ipython)
