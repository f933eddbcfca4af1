"""``lambda-sandbox invoke``, ``ls``, ``logs`` and ``reset`` on a store in ``tmp_path``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import Sandbox
from sandbox.cli import main
from sandbox.store.packaging import build_zip

SOURCE = """
def lambda_handler(event, context):
    print("got", event)
    if event.get("fail"):
        raise ValueError("bad input")
    return {"echo": event, "version": context.function_version}
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A store holding ``echo`` (version 1, alias ``live``) and ``other``."""
    with Sandbox(tmp_path) as sb:
        sb.create_function("echo", SOURCE, memory_size=256, timeout=5)
        sb.publish_version("echo")
        sb.create_alias("echo", "live", "1")
        sb.create_function("other", SOURCE)
    return tmp_path


def cli(home: Path, *args: str) -> int:
    return main(["--home", str(home), *args])


@pytest.mark.process
@pytest.mark.timeout(60)
def test_invoke_prints_the_payload_and_the_tail(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(home, "invoke", "echo:live", "--payload", '{"a": 1}', "--tail") == 0
    out = capsys.readouterr()
    assert json.loads(out.out) == {"echo": {"a": 1}, "version": "1"}
    assert "START RequestId: " in out.err and " Version: 1" in out.err
    assert "got {'a': 1}" in out.err
    assert "REPORT RequestId: " in out.err
    payload = home / "event.json"
    payload.write_text('{"b": 2}')
    assert main(["invoke", "echo", "--payload-file", str(payload), "--home", str(home)]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out) == {"echo": {"b": 2}, "version": "$LATEST"}
    assert out.err == ""  # no --tail, no log


@pytest.mark.process
@pytest.mark.timeout(60)
def test_invoke_function_error_exits_1(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(home, "invoke", "echo", "--payload", '{"fail": true}') == 1
    out = capsys.readouterr()
    body = json.loads(out.out)
    assert (body["errorType"], body["errorMessage"]) == ("ValueError", "bad input")
    assert out.err.strip() == "FunctionError: Unhandled"


@pytest.mark.process
@pytest.mark.timeout(60)
def test_invoke_event_and_dry_run(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(home, "invoke", "echo", "--type", "DryRun") == 0
    out = capsys.readouterr()
    assert (out.out, out.err.strip()) == ("", "StatusCode 204: DryRun, the request is valid")
    assert cli(home, "invoke", "echo", "--type", "Event", "--payload", '{"n": 1}') == 0
    out = capsys.readouterr()
    assert out.out == "" and "StatusCode 202: event " in out.err
    assert "still queued" not in out.err  # handled before the command returned
    assert cli(home, "logs", "echo") == 0  # the store keeps the async record
    logs = capsys.readouterr().out
    assert "No log lines are stored for echo" in logs
    assert "lambda-sandbox invoke echo --tail" in logs
    record = [line for line in logs.splitlines() if "Success" in line]
    assert len(record) == 1 and "$LATEST" in record[0] and "done" in record[0]


def test_invoke_errors_are_one_line(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(home, "invoke", "nope") == 1
    err = capsys.readouterr().err
    assert err == (
        "lambda-sandbox: ResourceNotFoundException: Function not found: "
        "arn:aws:lambda:us-east-1:123456789012:function:nope\n"
    )
    assert cli(home, "invoke", "echo", "--payload", "{not json") == 1
    err = capsys.readouterr().err
    assert err.startswith("lambda-sandbox: InvalidRequestContentException: Could not parse ")
    assert err.count("\n") == 1
    assert cli(home, "invoke", "echo", "--payload-file", str(home / "missing.json")) == 2
    err = capsys.readouterr().err
    assert err.startswith("lambda-sandbox: cannot read --payload-file: No such file")
    with pytest.raises(SystemExit) as exc:  # argparse: both payload options
        cli(home, "invoke", "echo", "--payload", "{}", "--payload-file", "x")
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        cli(home, "invoke", "echo", "--type", "Sync")
    assert "invalid choice: 'Sync'" in capsys.readouterr().err


def test_ls_is_a_table(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(home, "ls") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "Name", "Runtime", "Memory", "Timeout", "LastModified", "Versions", "Aliases",
    ]  # fmt: skip
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(rows) == {"echo", "other"}
    _, runtime, memory, timeout, modified, versions, aliases = rows["echo"]
    assert (runtime, memory, timeout, versions, aliases) == ("python3.13", "256", "5", "1", "1")
    assert modified.startswith("20") and "T" in modified
    assert rows["other"][2:4] == ["128", "3"] and rows["other"][5:] == ["0", "0"]


def test_ls_of_an_empty_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(tmp_path, "ls") == 0
    assert capsys.readouterr().out == f"no functions in {tmp_path} (123456789012, us-east-1)\n"


def test_logs_says_what_is_not_stored(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(home, "logs", "other", "--lines", "5") == 0
    out = capsys.readouterr().out
    assert out.startswith("No log lines are stored for other: ")
    assert "Asynchronous invocations" not in out  # none were made: nothing invented
    assert cli(home, "logs", "nope") == 1
    assert "ResourceNotFoundException: Function not found: " in capsys.readouterr().err
    assert cli(home, "logs", "other", "--lines", "-1") == 2
    assert capsys.readouterr().err == "lambda-sandbox: --lines must be 0 or more\n"


def test_reset_refuses_without_yes(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(home, "reset") == 2
    err = capsys.readouterr().err
    assert "run `lambda-sandbox reset --yes`" in err and err.count("\n") == 1
    with Sandbox(home) as sb:
        assert len(sb.list_functions().functions) == 2  # nothing deleted


def test_reset_deletes_everything(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Sandbox(home) as sb:
        layer = sb.publish_layer_version("kit", build_zip({"python/kit.py": b"X = 1\n"}))
        sb.publish_layer_version("kit", build_zip({"python/kit.py": b"X = 2\n"}))
        sb.sqs.create_queue("jobs")
        sb.create_event_source_mapping(
            "echo", f"arn:aws:sqs:{sb.region}:{sb.account_id}:jobs", enabled=False
        )
        sb.sns.create_topic("news")
        sb.eventbridge.create_event_bus("orders")
        sb.s3.create_bucket("photos")
        sb.s3.put_object("photos", "cat.jpg", b"meow")
        assert layer.version == 1
    assert cli(home, "reset", "--yes") == 0
    assert capsys.readouterr().out == (
        f"reset {home} (123456789012, us-east-1): deleted 1 mappings, 2 functions, "
        "2 layer versions, 1 queues, 1 topics, 1 buses, 1 buckets\n"
    )
    with Sandbox(home) as sb:
        assert sb.list_functions().functions == ()
        assert sb.list_layers().layers == ()
        assert sb.list_event_source_mappings().event_source_mappings == ()
        assert sb.sqs.list_queues() == {}
        assert sb.sns.list_topics() == {"Topics": []}
        assert [b["Name"] for b in sb.eventbridge.list_event_buses()["EventBuses"]] == ["default"]
        assert sb.s3.list_buckets()["Buckets"] == []
        sb.create_function("echo", SOURCE)  # the names are free again
    assert cli(home, "reset", "--yes") == 0
    assert "deleted 0 mappings, 1 functions, 0 layer versions" in capsys.readouterr().out


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    top = capsys.readouterr().out
    commands = ["demo", "invoke", "ls", "logs", "reset", "generate-event", "lab", "serve"]
    for command in commands:
        assert f"\n    {command}" in top
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0
        assert f"usage: lambda-sandbox {command}" in capsys.readouterr().out


def test_an_unusable_store_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert cli(blocker / "store", "ls") == 1
    err = capsys.readouterr().err
    assert err.startswith("lambda-sandbox: ") and err.count("\n") == 1
    assert str(blocker / "store") in err


@pytest.mark.timeout(60)
def test_console_errors_carry_no_traceback(home: Path) -> None:
    for args, code in (
        (["invoke", "nope"], 1),
        (["reset"], 2),
        (["logs", "echo", "--lines", "-2"], 2),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "sandbox.cli", "--home", str(home), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == code, result.stderr
        assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
