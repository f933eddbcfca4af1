"""max_address_space_mb (sandbox.runtime.limits): each environment process runs under an
``RLIMIT_AS`` ceiling, so an allocation beyond it fails at once inside the handler, whatever
the function's ``MemorySize``; without the setting no ceiling is added."""

from __future__ import annotations

import pytest

from sandbox import Sandbox

pytestmark = [pytest.mark.process, pytest.mark.timeout(60)]


def limit(event, context):  # type: ignore[no-untyped-def]
    import resource

    return list(resource.getrlimit(resource.RLIMIT_AS))


def allocate(event, context):  # type: ignore[no-untyped-def]
    return len(bytearray(event["mb"] * 1024 * 1024))


@pytest.mark.parametrize("start_method", ["zygote", "spawn"])
def test_environments_run_under_the_ceiling(start_method: str) -> None:
    with Sandbox.ephemeral(max_address_space_mb=512, start_method=start_method) as sb:
        sb.create_function("limit", limit)
        sb.create_function("allocate", allocate, memory_size=3008)
        assert sb.invoke("limit").payload == [512 << 20, 512 << 20]
        assert sb.invoke("allocate", {"mb": 64}).payload == 64 << 20
        over = sb.invoke("allocate", {"mb": 1024})
        assert over.function_error == "Unhandled"
        assert over.payload["errorType"] == "MemoryError"  # type: ignore[index]
        # the environment is still usable: the failed allocation never happened
        assert sb.invoke("allocate", {"mb": 8}).payload == 8 << 20


def test_no_ceiling_by_default() -> None:
    import resource

    ours = list(resource.getrlimit(resource.RLIMIT_AS))
    with Sandbox.ephemeral() as sb:
        sb.create_function("limit", limit)
        assert sb.invoke("limit").payload == ours
