"""Same-page merging (sandbox.runtime.memorymerge): when the zygote opts in, and that its
environments inherit the opt-in."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest

from sandbox import Sandbox
from sandbox.runtime import memorymerge


def _run_file(tmp_path: Path, value: str) -> Path:
    path = tmp_path / "run"
    path.write_text(value + "\n")
    return path


@pytest.mark.parametrize(
    ("setting", "scanner", "expected"),
    [
        (None, "1", True),  # auto: the host runs the scanner
        (None, "0", False),
        ("auto", "2", False),  # 2 = unmerge everything: not running
        ("on", "0", True),
        ("1", "0", True),
        ("off", "1", False),
        ("no", "1", False),
    ],
)
def test_the_setting_and_the_scanner_decide(
    tmp_path: Path, setting: str | None, scanner: str, expected: bool
) -> None:
    environ = {} if setting is None else {memorymerge.ENV: setting}
    assert memorymerge.wanted(environ, _run_file(tmp_path, scanner)) is expected


def test_no_scanner_file_means_not_running(tmp_path: Path) -> None:
    assert not memorymerge.ksm_running(tmp_path / "missing")


def test_opt_in_asks_the_kernel_only_when_wanted() -> None:
    calls: list[tuple[int, int]] = []

    def prctl(option: int, value: int) -> bool:
        calls.append((option, value))
        return True

    assert not memorymerge.opt_in(prctl, {memorymerge.ENV: "off"})
    assert calls == []
    assert memorymerge.opt_in(prctl, {memorymerge.ENV: "on"})
    assert calls == [(memorymerge.PR_SET_MEMORY_MERGE, 1)]
    assert not memorymerge.opt_in(lambda o, v: False, {memorymerge.ENV: "on"})  # Linux < 6.4


def _merge_any(pid: int) -> bool | None:
    """``ksm_merge_any`` of a process (Linux ≥ 6.6 shows it), None when not shown."""
    try:
        text = Path(f"/proc/{pid}/ksm_stat").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("ksm_merge_any:"):
            return line.split(":")[1].strip() == "yes"
    return None


@pytest.mark.process
@pytest.mark.parametrize("setting", ["on", "off"])
def test_environments_inherit_the_zygotes_choice(
    setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if _merge_any(os.getpid()) is None:
        pytest.skip(f"this kernel ({platform.release()}) does not show ksm_merge_any")
    monkeypatch.setenv(memorymerge.ENV, setting)
    with Sandbox.ephemeral() as sb:  # a new sandbox starts its own zygote
        sb.create_function("pid", "import os\ndef lambda_handler(e, c):\n    return os.getpid()\n")
        assert sb.invoke("pid").status_code == 200
        zygote = sb._shared.engine().launcher.zygote_pid
        runtimes = [e.process.pid for e in sb._shared.engine().envs.environments() if e.process]
        assert zygote and runtimes
        assert _merge_any(zygote) is (setting == "on")
        assert all(_merge_any(pid) is (setting == "on") for pid in runtimes)
