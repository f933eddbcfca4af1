"""The ``%lambda`` magics through a real IPython ``InteractiveShell`` (globalipapp), driving
an ephemeral sandbox: every subcommand, its ``--help``, one-line errors, completion."""

from __future__ import annotations

import os
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.completer import provisionalcompleter
from IPython.core.error import UsageError

from sandbox import Sandbox
from sandbox.core.invocation import InvokeResult
from sandbox.notebook.magics import (
    COMMANDS,
    SANDBOX_VAR,
    LambdaMagics,
    Table,
    complete,
    unload_ipython_extension,
)
from tests.conftest import ipython_shell

ROOT = Path(__file__).resolve().parents[2]
SOURCE = """\
def lambda_handler(event, context):
    print("got", event)
    return {"event": event}
"""


@pytest.fixture(scope="module")
def shell() -> Any:
    ip = ipython_shell()
    ip.run_line_magic("load_ext", "sandbox")
    return ip


@pytest.fixture(scope="module")
def magics(shell: Any) -> LambdaMagics:
    found = shell.magics_manager.registry["LambdaMagics"]
    assert isinstance(found, LambdaMagics)
    return found


@pytest.fixture(scope="module")
def module_sb(magics: LambdaMagics) -> Iterator[Sandbox]:
    sandbox = Sandbox.ephemeral()
    magics.use(sandbox)
    try:
        yield sandbox
    finally:
        magics.close()
        sandbox.close()


@pytest.fixture
def sb(module_sb: Sandbox, magics: LambdaMagics) -> Sandbox:
    magics.use(module_sb)  # a test that switched sandboxes does not leak into the next
    return module_sb


@pytest.fixture
def fn(shell: Any, sb: Sandbox, request: pytest.FixtureRequest) -> str:
    """A fresh function per test, created through the cell magic."""
    name = request.node.name.removeprefix("test_").replace("[", "-").strip("]")[:60]
    shell.run_cell_magic("lambda", f"create {name} --memory 256 --env STAGE=dev", SOURCE)
    return name


def lam(shell: Any, line: str) -> Any:
    return shell.run_line_magic("lambda", line)


def run_cell(shell: Any, code: str) -> Any:
    result = shell.run_cell(code)
    return result


# --- create / update ---------------------------------------------------------------------


def test_create_from_a_cell(shell: Any, sb: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    cell = "def handler(event, context):\n    return 1\n"
    shell.run_cell_magic(
        "lambda",
        "create made --memory 512 --timeout 7 --env STAGE=dev --description 'a test'",
        cell,
    )
    out = capsys.readouterr().out
    assert out.strip() == "Created made ($LATEST): python3.13, lambda_function.handler, 512 MB, 7 s"
    config = sb.get_function_configuration("made")
    assert (config.memory_size, config.timeout, config.description) == (512, 7, "a test")
    assert dict(config.environment) == {"STAGE": "dev"}


def test_create_needs_a_cell(shell: Any, sb: Sandbox) -> None:
    with pytest.raises(UsageError, match=r"create needs the function's code"):
        lam(shell, "create nocode")


def test_bad_env_is_a_usage_error(shell: Any, sb: Sandbox) -> None:
    with pytest.raises(UsageError, match=r"expected KEY=VALUE"):
        shell.run_cell_magic("lambda", "create badenv --env NOEQUALS", SOURCE)


@pytest.mark.process
def test_update_replaces_the_code(shell: Any, fn: str, capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_cell_magic("lambda", f"update {fn}", "def lambda_handler(e, c):\n    return 2\n")
    assert capsys.readouterr().out.startswith(f"Updated {fn} ($LATEST)")
    assert lam(shell, f"invoke {fn}").payload == 2


# --- invoke --------------------------------------------------------------------------------


@pytest.mark.process
def test_invoke_payload_keeps_braces_and_dollars(shell: Any, fn: str) -> None:
    shell.user_ns["x"] = "EXPANDED"
    result = run_cell(shell, f"""r = %lambda invoke {fn}:$LATEST --payload '{{"q": "$x {{x}}"}}'""")
    assert result.error_in_exec is None
    r = shell.user_ns["r"]
    assert isinstance(r, InvokeResult)
    assert (r.status_code, r.executed_version) == (200, "$LATEST")
    assert r.payload == {"event": {"q": "$x {x}"}}


@pytest.mark.process
def test_invoke_result_displays_status_payload_and_report(shell: Any, fn: str) -> None:
    result = lam(shell, f"invoke {fn} --payload '{{\"a\": 1}}'")
    data, _ = shell.display_formatter.format(result)
    text = data["text/plain"]
    assert text.startswith(
        f"StatusCode 200 · ExecutedVersion $LATEST · RequestId {result.request_id}"
    )
    assert '"a": 1' in text
    assert text.splitlines()[-1].startswith(f"REPORT RequestId: {result.request_id}")
    # a terminal shell formats text only; a kernel also asks the HTML formatter
    rich = shell.display_formatter.formatters["text/html"].lookup(result)(result)
    assert rich.startswith("<div><b") and "REPORT RequestId" in rich


@pytest.mark.process
def test_invoke_tail_shows_the_log(shell: Any, fn: str) -> None:
    result = lam(shell, f"invoke {fn} --tail")
    assert result.log_result is not None
    text = shell.display_formatter.format(result)[0]["text/plain"]
    assert "--- log tail ---" in text
    assert "got {}" in text and f"START RequestId: {result.request_id}" in text


@pytest.mark.process
def test_invoke_event_from_a_variable(shell: Any, fn: str) -> None:
    shell.user_ns["evt"] = {"from": "dict"}
    assert lam(shell, f"invoke {fn} --event evt").payload == {"event": {"from": "dict"}}
    shell.user_ns["evt_json"] = '{"from": "json"}'
    assert lam(shell, f"invoke {fn} --event evt_json").payload == {"event": {"from": "json"}}


@pytest.mark.process
def test_invoke_event_falls_back_to_a_saved_test_event(
    shell: Any, sb: Sandbox, fn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if hasattr(sb, "save_test_event"):  # the Events issue's saved test events
        sb.save_test_event(fn, "ping", {"saved": True})
    else:
        saved = {(fn, "ping"): {"saved": True}}
        monkeypatch.setattr(
            Sandbox, "get_test_event", lambda self, name, event: saved[(name, event)], raising=False
        )
    shell.user_ns.pop("ping", None)
    assert lam(shell, f"invoke {fn}:$LATEST --event ping").payload == {"event": {"saved": True}}
    shell.user_ns["ping"] = {"variable": "wins"}
    assert lam(shell, f"invoke {fn} --event ping").payload == {"event": {"variable": "wins"}}


def test_invoke_event_unknown(
    shell: Any, sb: Sandbox, fn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell.user_ns["number"] = 3
    with pytest.raises(UsageError, match=r"--event number: expected a dict or a JSON str"):
        lam(shell, f"invoke {fn} --event number")
    if hasattr(sb, "get_test_event"):
        with pytest.raises(
            UsageError, match=r"^--event nothing: no variable 'nothing', and ResourceNotFound"
        ):
            lam(shell, f"invoke {fn} --event nothing")
    monkeypatch.setattr(Sandbox, "get_test_event", None, raising=False)  # before the Events issue
    with pytest.raises(UsageError, match=r"^--event nothing: no variable 'nothing' in the"):
        lam(shell, f"invoke {fn} --event nothing")


@pytest.mark.process
def test_invoke_cell_body_is_the_payload(shell: Any, fn: str) -> None:
    result = shell.run_cell_magic("lambda", f"invoke {fn}", '{"from": "cell"}\n')
    assert result.payload == {"event": {"from": "cell"}}


@pytest.mark.process
def test_invoke_async_and_dry_run(shell: Any, sb: Sandbox, fn: str) -> None:
    queued = lam(shell, f"invoke {fn} --async --payload '{{}}'")
    assert queued.status_code == 202
    assert "queued (Event)" in shell.display_formatter.format(queued)[0]["text/plain"]
    dry = lam(shell, f"invoke {fn} --dry-run")
    assert dry.status_code == 204
    assert "DryRun" in shell.display_formatter.format(dry)[0]["text/plain"]
    assert sb.drain(10)


def test_async_and_dry_run_exclude_each_other(shell: Any, fn: str) -> None:
    with pytest.raises(UsageError, match=r"not allowed with argument"):
        lam(shell, f"invoke {fn} --async --dry-run")


# --- errors: one line ------------------------------------------------------------------------


def test_unknown_function_is_one_line(
    shell: Any, sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cell(shell, "%lambda invoke nosuchfunction")
    assert isinstance(result.error_in_exec, UsageError)
    captured = capsys.readouterr()
    shown = (captured.out + captured.err).strip()
    assert shown == (
        "UsageError: ResourceNotFoundException: Function not found: "
        "arn:aws:lambda:us-east-1:123456789012:function:nosuchfunction"
    )
    assert "Traceback" not in shown


@pytest.mark.process
def test_bad_json_is_one_line(shell: Any, fn: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cell(shell, f"%lambda invoke {fn} --payload '{{bad'")
    assert isinstance(result.error_in_exec, UsageError)
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("UsageError: InvalidRequestContentException: Could not parse")


def test_usage_errors_never_exit(shell: Any, sb: Sandbox) -> None:
    with pytest.raises(UsageError, match=r"%lambda invoke: the following arguments are required"):
        lam(shell, "invoke")
    with pytest.raises(UsageError, match=r"invalid choice: 'frobnicate'"):
        lam(shell, "frobnicate")
    with pytest.raises(UsageError, match=r"No closing quotation"):
        lam(shell, "invoke f --payload '{")
    with pytest.raises(UsageError, match=r"%%lambda ls takes no cell body"):
        shell.run_cell_magic("lambda", "ls", "x = 1")


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_every_subcommand_has_help(
    shell: Any, sb: Sandbox, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert lam(shell, f"{command} --help") is None
    out = capsys.readouterr().out
    assert out.startswith(f"usage: %lambda {command}".rstrip())
    if not command:
        assert all(name in out for name in COMMANDS)


# --- versions, aliases, concurrency --------------------------------------------------------


def test_publish_alias_and_versions(
    shell: Any, sb: Sandbox, fn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lam(shell, f"publish {fn} --description first")
    lam(shell, f"alias {fn} live 1")
    shell.run_cell_magic("lambda", f"update {fn}", "def lambda_handler(e, c):\n    return 2\n")
    lam(shell, f"publish {fn}")
    lam(shell, f"alias {fn} live 1 --weight 2=0.25")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Published {fn} version 1"
    assert out[1] == f"Created alias {fn}:live -> version 1"
    assert out[3] == f"Published {fn} version 2"
    assert out[4] == f"Updated alias {fn}:live -> version 1, 0.25 to version 2"

    table = lam(shell, f"versions {fn}")
    assert isinstance(table, Table)
    assert [row[:3] for row in table.rows] == [
        ("$LATEST", "", ""),
        ("1", "live", "first"),
        ("2", "live (0.25)", ""),
    ]
    assert repr(table).splitlines()[0].split() == [
        "Version",
        "Aliases",
        "Description",
        "CodeSha256",
        "LastModified",
    ]
    assert "<td>live (0.25)</td>" in table._repr_html_()

    lam(shell, f"alias {fn} live 2")  # without --weight the routing is cleared
    alias = sb.get_alias(fn, "live")
    assert (alias.function_version, dict(alias.additional_version_weights)) == ("2", {})


def test_ls_is_a_table(shell: Any, sb: Sandbox, fn: str) -> None:
    table = lam(shell, "ls")
    assert isinstance(table, Table)
    row = next(r for r in table.rows if r[0] == fn)
    assert row[1:5] == ("python3.13", "lambda_function.lambda_handler", 256, 3)
    assert f"<td>{fn}</td>" in table._repr_html_()


def test_a_layer_from_a_cell_shared_by_two_functions(
    shell: Any, sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_cell_magic("lambda", "layer greetings --description 'shared'", "WORD = 'hi'\n")
    out = capsys.readouterr().out
    arn = f"arn:aws:lambda:us-east-1:{sb.account_id}:layer:greetings:1"
    assert out.startswith(f"Published {arn} (")
    user = "import greetings\ndef lambda_handler(e, c):\n    return greetings.WORD + e['n']\n"
    for name in ("greeter-a", "greeter-b"):
        shell.run_cell_magic("lambda", f"create {name} --layer {arn}", user)
        assert sb.invoke(name, {"n": name[-1]}).payload == f"hi{name[-1]}"
    (tmp_path / "python").mkdir()
    (tmp_path / "python" / "greetings.py").write_text("WORD = 'hello'\n")
    lam(shell, f"layer greetings --from {tmp_path} --runtime python3.13")
    table = lam(shell, "layers greetings")
    assert [row[0] for row in table.rows] == [arn[:-1] + "2", arn]
    assert table.rows[0][3] == "python3.13"
    assert [row[0] for row in lam(shell, "layers").rows if "greetings" in row[0]] == [
        arn[:-1] + "2"
    ]
    lam(shell, "layer greetings --delete 1")
    assert sb.invoke("greeter-a", {"n": "!"}).payload == "hi!"  # still runs
    with pytest.raises(UsageError, match="layer needs content"):
        lam(shell, "layer greetings")
    assert "greetings" in complete(sb, "%lambda layers gr")


def test_reserved_concurrency(
    shell: Any, sb: Sandbox, fn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lam(shell, f"concurrency {fn}")
    lam(shell, f"concurrency {fn} 3")
    lam(shell, f"concurrency {fn}")
    lam(shell, f"concurrency {fn} --delete")
    assert capsys.readouterr().out.splitlines() == [
        f"{fn}: no reserved concurrency (it uses the unreserved pool)",
        f"{fn}: reserved concurrency 3",
        f"{fn}: reserved concurrency 3",
        f"{fn}: no reserved concurrency (it uses the unreserved pool)",
    ]
    assert sb.get_function_concurrency(fn).reserved_concurrent_executions is None


@pytest.mark.process
def test_provisioned_concurrency(
    shell: Any, sb: Sandbox, fn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lam(shell, f"publish {fn}")
    lam(shell, f"provisioned {fn} 1 1 --wait")
    lam(shell, f"provisioned {fn} 1")
    lam(shell, f"provisioned {fn} 1 --delete")
    out = capsys.readouterr().out.splitlines()
    ready = f"{fn}:1: provisioned concurrency READY: requested 1, allocated 1, available 1"
    assert out[1:] == [ready, ready, f"{fn}:1: provisioned concurrency deleted"]
    with pytest.raises(UsageError, match=r"^ProvisionedConcurrencyConfigNotFoundException: "):
        lam(shell, f"provisioned {fn} 1")


# --- observing ------------------------------------------------------------------------------


@pytest.mark.process
def test_explain_and_logs(shell: Any, fn: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = lam(shell, f"invoke {fn} --payload '{{\"n\": 1}}'")
    explanation = lam(shell, f"explain {result.request_id}")
    assert (explanation.request_id, explanation.outcome) == (result.request_id, "cold-start")
    capsys.readouterr()
    lam(shell, f"logs {fn} --lines 3")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0] == "got {'n': 1}"
    assert lines[-1].startswith(f"REPORT RequestId: {result.request_id}")
    with pytest.raises(UsageError, match=r"^ResourceNotFoundException: "):
        lam(shell, "logs nosuchfunction")


@pytest.mark.process
def test_logs_follow_prints_new_lines_and_stops(
    shell: Any, sb: Sandbox, fn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def later() -> None:
        time.sleep(0.2)
        sb.invoke(fn, {"followed": True})

    thread = threading.Thread(target=later)
    thread.start()
    started = time.monotonic()
    lam(shell, f"logs {fn} --lines 0 --follow --seconds 1.5")
    thread.join()
    assert time.monotonic() - started < 5
    out = capsys.readouterr().out
    assert "got {'followed': True}" in out
    assert "REPORT RequestId" in out


def test_timeline_and_dashboard_use_what_exists(
    shell: Any, sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Sandbox, "plot_timeline", lambda self, *a: ("figure", a), raising=False)
    assert lam(shell, "timeline") == ("figure", ())
    assert lam(shell, "timeline f") == ("figure", ("f",))
    monkeypatch.setattr(Sandbox, "plot_timeline", None, raising=False)
    with pytest.raises(UsageError, match=r"timeline arrives with the notebook widgets"):
        lam(shell, "timeline")

    fake = types.ModuleType("sandbox.notebook.widgets")
    fake.Dashboard = lambda sandbox, name=None, **kw: ("dashboard", sandbox, name, kw)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sandbox.notebook.widgets", fake)
    assert lam(shell, "dashboard") == ("dashboard", sb, None, {"by": "function"})
    assert lam(shell, "dashboard f --by version") == ("dashboard", sb, "f", {"by": "version"})
    application = {"functions": ["f", "g"], "queues": ["q"], "by": "function", "invoke": False}
    assert lam(shell, "dashboard f g --queues q") == ("dashboard", sb, None, application)
    monkeypatch.setitem(sys.modules, "sandbox.notebook.widgets", None)
    with pytest.raises(UsageError, match=r"dashboard arrives with the notebook widgets"):
        lam(shell, "dashboard")


# --- which sandbox ----------------------------------------------------------------------------


def test_use_switches_and_reset_is_explicit(
    shell: Any, magics: LambdaMagics, sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    lam(shell, "use --ephemeral")
    first = shell.user_ns[SANDBOX_VAR]
    assert first is magics.sandbox and first is not sb
    shell.run_cell_magic("lambda", "create doomed", SOURCE)
    with pytest.raises(UsageError, match=r"reset would close the ephemeral sandbox .* --yes"):
        lam(shell, "reset")
    assert not first.closed
    lam(shell, "reset --yes")
    assert first.closed
    second = shell.user_ns[SANDBOX_VAR]
    assert second is not first and not second.closed and len(lam(shell, "ls")) == 0

    shell.user_ns["mine"] = sb
    lam(shell, "use mine")  # a sandbox the notebook holds: reset empties it, never closes it
    assert second.closed and magics.sandbox is sb
    with pytest.raises(UsageError, match=r"not a Sandbox"):
        lam(shell, "use SOURCE_NOT_THERE")
    assert "Using <Sandbox" in capsys.readouterr().out


def test_reset_of_a_kept_store_deletes_functions(
    shell: Any, magics: LambdaMagics, tmp_path: Any
) -> None:
    lam(shell, f"use --home {tmp_path / 'store'}")
    shell.run_cell_magic("lambda", "create keep1", SOURCE)
    shell.run_cell_magic("lambda", "create keep2", SOURCE)
    with pytest.raises(
        UsageError, match=r"reset would delete 2 function\(s\) from .*: keep1, keep2"
    ):
        lam(shell, "reset")
    kept = magics.sandbox
    kept.sqs.create_queue("jobs")
    source = "arn:aws:sqs:us-east-1:123456789012:jobs"
    mapping = kept.create_event_source_mapping("keep1", source)
    lam(shell, "reset --yes")
    assert len(lam(shell, "ls")) == 0
    # a function's mappings outlive it on AWS; a reset takes them too
    kept.wait_for_event_source_mapping_deleted(mapping.uuid)
    assert not kept.closed
    magics.close()  # opened by the magics: closed by them
    assert kept.closed


# --- completion -------------------------------------------------------------------------------


def test_completion_of_commands_names_and_qualifiers(shell: Any, sb: Sandbox, fn: str) -> None:
    lam(shell, f"publish {fn}")
    lam(shell, f"alias {fn} live 1")
    assert complete(sb, "lambda inv") == ["invoke"]
    assert fn in complete(sb, "lambda invoke ")
    assert complete(sb, f"lambda invoke {fn[:-1]}") == [fn]
    assert complete(sb, f"lambda invoke {fn}:") == [f"{fn}:$LATEST", f"{fn}:1", f"{fn}:live"]
    assert complete(sb, f"lambda provisioned {fn} l") == ["live"]
    assert complete(sb, f"lambda alias {fn} live ") == ["$LATEST", "1", "live"]
    assert complete(sb, "lambda invoke nosuch:") == []
    assert complete(sb, "lambda invoke --pay") == []

    # through IPython's completer: ':' and '$' split words, so the hook cuts its answers
    def texts(line: str) -> list[str]:
        with provisionalcompleter():
            return [c.text for c in shell.Completer.completions(line, len(line))]

    assert "live" in texts(f"%lambda invoke {fn}:li")
    assert fn in texts(f"%lambda versions {fn[:-2]}")
    assert "explain" in texts("%lambda expl")


def test_unload_closes_what_the_magics_opened(
    shell: Any, magics: LambdaMagics, sb: Sandbox
) -> None:
    lam(shell, "use --ephemeral")
    opened = magics.sandbox
    unload_ipython_extension(shell)
    assert opened.closed and not sb.closed


# --- end to end in a kernel -------------------------------------------------------------------


@pytest.mark.notebook
@pytest.mark.process
@pytest.mark.timeout(120)
def test_in_a_kernel_output_is_rich_and_errors_stop_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through nbclient: the invoke result is HTML, and a ``%lambda`` error fails the cell
    (CI notices) with one line and no traceback from inside the sandbox."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from jupyter_client.kernelspec import KernelSpecManager

    if "python3" not in KernelSpecManager().find_kernel_specs():
        pytest.skip("no python3 kernelspec (tests/test_notebooks.py installs one)")
    monkeypatch.setenv("LAMBDA_SANDBOX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    cells = [
        "%load_ext sandbox\n%lambda use --ephemeral",
        f"%%lambda create hello\n{SOURCE}",
        "r = %lambda invoke hello --payload '{\"n\": 1}'\nr",
        "%lambda invoke nosuchfunction",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="ResourceNotFoundException"):
        client.execute()
    result = nb.cells[2].outputs[0]
    assert result["output_type"] == "execute_result"
    assert "StatusCode 200" in result["data"]["text/html"]
    assert '"n": 1' in result["data"]["text/plain"]
    # IPython shows a UsageError as one stderr line, and the reply's status is "error"
    shown = [(o["output_type"], o.get("name"), o.get("text")) for o in nb.cells[3].outputs]
    assert shown == [
        (
            "stream",
            "stderr",
            "UsageError: ResourceNotFoundException: Function not found: "
            "arn:aws:lambda:us-east-1:123456789012:function:nosuchfunction\n",
        )
    ]
